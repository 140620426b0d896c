//! The shop's logo as receipt printers print it: one bit per dot, black or white, no wider than
//! the paper. Built from 8-bit grey samples (the PNG is read in `print::logo`): scaled down to
//! fit by averaging, then dithered (Floyd–Steinberg) so greys and anti-aliased edges keep
//! their look on a printer that only makes black dots.

/// A black-and-white bitmap: rows top to bottom, 8 dots per byte, the leftmost dot in the
/// high bit, 1 = black; each row padded to whole bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonoImage {
    width: u32,
    height: u32,
    bits: Vec<u8>,
}

/// The largest logo kept: taller ones are refused rather than printed as a long strip.
pub const MAX_HEIGHT: u32 = 400;

impl MonoImage {
    /// `gray` holds `width × height` samples (0 black … 255 white), row by row. Wider than
    /// `max_width` dots, the image is scaled down to it (keeping its proportions).
    pub fn from_gray(
        width: u32,
        height: u32,
        gray: &[u8],
        max_width: u32,
    ) -> Result<MonoImage, String> {
        if width == 0 || height == 0 {
            return Err("the logo is empty".into());
        }
        if gray.len() != (width as usize) * (height as usize) {
            return Err(format!(
                "the logo's samples ({}) do not fill {width} × {height}",
                gray.len()
            ));
        }
        let (w, h) = if width > max_width.max(8) {
            let w = max_width.max(8);
            let h = ((u64::from(height) * u64::from(w)) / u64::from(width)).max(1) as u32;
            (w, h)
        } else {
            (width, height)
        };
        if h > MAX_HEIGHT {
            return Err(format!(
                "the logo is {h} dots tall once it fits the paper; at most {MAX_HEIGHT} are printed"
            ));
        }
        let scaled = scale(width, height, gray, w, h);
        Ok(dither(w, h, scaled))
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        (self.width as usize).div_ceil(8)
    }

    /// The packed rows (see the type's description).
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Whether the dot at (`x`, `y`) is black.
    pub fn is_black(&self, x: u32, y: u32) -> bool {
        let byte = self.bits[y as usize * self.row_bytes() + x as usize / 8];
        byte & (0x80 >> (x % 8)) != 0
    }
}

/// Box-average scaling from `width × height` to `w × h` (never up).
fn scale(width: u32, height: u32, gray: &[u8], w: u32, h: u32) -> Vec<f32> {
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        let y0 = (u64::from(y) * u64::from(height) / u64::from(h)) as u32;
        let y1 = ((u64::from(y + 1) * u64::from(height) / u64::from(h)) as u32).max(y0 + 1);
        for x in 0..w {
            let x0 = (u64::from(x) * u64::from(width) / u64::from(w)) as u32;
            let x1 = ((u64::from(x + 1) * u64::from(width) / u64::from(w)) as u32).max(x0 + 1);
            let mut sum = 0u64;
            for sy in y0..y1.min(height) {
                let row = &gray[(sy * width) as usize..][..width as usize];
                sum += row[x0 as usize..x1.min(width) as usize]
                    .iter()
                    .map(|v| u64::from(*v))
                    .sum::<u64>();
            }
            let n = u64::from((y1.min(height) - y0) * (x1.min(width) - x0));
            out.push(sum as f32 / n as f32);
        }
    }
    out
}

/// Floyd–Steinberg error diffusion to one bit per dot.
fn dither(w: u32, h: u32, mut level: Vec<f32>) -> MonoImage {
    let (wu, hu) = (w as usize, h as usize);
    let row_bytes = wu.div_ceil(8);
    let mut bits = vec![0u8; row_bytes * hu];
    for y in 0..hu {
        for x in 0..wu {
            let old = level[y * wu + x];
            let black = old < 128.0;
            if black {
                bits[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
            let error = old - if black { 0.0 } else { 255.0 };
            let mut spread = |dx: isize, dy: usize, share: f32| {
                let nx = x as isize + dx;
                if nx >= 0 && (nx as usize) < wu && y + dy < hu {
                    level[(y + dy) * wu + nx as usize] += error * share;
                }
            };
            spread(1, 0, 7.0 / 16.0);
            spread(-1, 1, 3.0 / 16.0);
            spread(0, 1, 5.0 / 16.0);
            spread(1, 1, 1.0 / 16.0);
        }
    }
    MonoImage {
        width: w,
        height: h,
        bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_and_white_stay_as_they_are_and_rows_are_padded() {
        // 10 × 2: left half black, right half white.
        let gray: Vec<u8> = (0..20).map(|i| if i % 10 < 5 { 0 } else { 255 }).collect();
        let img = MonoImage::from_gray(10, 2, &gray, 384).unwrap();
        assert_eq!((img.width(), img.height(), img.row_bytes()), (10, 2, 2));
        assert_eq!(img.bits(), &[0b1111_1000, 0, 0b1111_1000, 0]);
        assert!(img.is_black(4, 1) && !img.is_black(5, 1));
    }

    #[test]
    fn a_wide_logo_is_scaled_to_the_paper_and_grey_is_dithered_to_about_half_the_dots() {
        let gray = vec![128u8; 800 * 100];
        let img = MonoImage::from_gray(800, 100, &gray, 400).unwrap();
        assert_eq!((img.width(), img.height()), (400, 50));
        let black: u32 = img.bits().iter().map(|b| b.count_ones()).sum();
        let share = f64::from(black) / f64::from(400 * 50);
        assert!((0.45..0.55).contains(&share), "{share}");
    }

    #[test]
    fn empty_short_or_too_tall_logos_are_refused() {
        assert!(MonoImage::from_gray(0, 0, &[], 384).is_err());
        assert!(MonoImage::from_gray(4, 4, &[0; 15], 384).is_err());
        assert!(MonoImage::from_gray(10, 1000, &vec![0; 10_000], 384).is_err());
    }
}
