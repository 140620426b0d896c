//! Reading the shop's logo (`[shop] logo`, a PNG file) into the black-and-white bitmap the
//! receipt prints: any PNG colour type and depth, transparency laid on white paper.

use std::io::Cursor;
use std::path::Path;

use crate::core::logo::MonoImage;

/// Dots per line of the receipt printer for `columns` characters (12 dots a character in the
/// usual 12 × 24 font: 384 dots for 32 columns, 576 for 48).
pub fn max_width(columns: u16) -> u32 {
    u32::from(columns.clamp(16, 80)) * 12
}

/// The logo at `path`, at most `max_width` dots wide. The error says what is wrong with it.
pub fn load(path: &Path, max_width: u32) -> Result<MonoImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode(&bytes, max_width).map_err(|e| format!("{}: {e}", path.display()))
}

/// A PNG file's bytes as the logo.
pub fn decode(bytes: &[u8], max_width: u32) -> Result<MonoImage, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a PNG image the till can read ({e})"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("the PNG image is too large")?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("the PNG image is damaged ({e})"))?;
    let (width, height) = (info.width, info.height);
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("an indexed PNG was not expanded".into()),
    };
    let mut gray = Vec::with_capacity(width as usize * height as usize);
    for row in buf.chunks(info.line_size).take(height as usize) {
        for px in row.chunks(channels).take(width as usize) {
            let (luma, alpha) = match *px {
                [g] => (f32::from(g), 255.0),
                [g, a] => (f32::from(g), f32::from(a)),
                [r, g, b] => (luma(r, g, b), 255.0),
                [r, g, b, a] => (luma(r, g, b), f32::from(a)),
                _ => (255.0, 0.0),
            };
            // Over white paper.
            let a = alpha / 255.0;
            gray.push((luma * a + 255.0 * (1.0 - a)).round() as u8);
        }
    }
    MonoImage::from_gray(width, height, &gray, max_width)
}

fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn rgba_with_transparency_prints_black_where_opaque_dark_and_white_elsewhere() {
        // 2 × 1: an opaque black dot, then a fully transparent black dot (white paper).
        let bytes = png(2, 1, png::ColorType::Rgba, &[0, 0, 0, 255, 0, 0, 0, 0]);
        let img = decode(&bytes, 384).unwrap();
        assert_eq!((img.width(), img.height()), (2, 1));
        assert!(img.is_black(0, 0));
        assert!(!img.is_black(1, 0));
    }

    #[test]
    fn a_wide_grey_logo_is_scaled_to_the_paper() {
        let bytes = png(1000, 100, png::ColorType::Grayscale, &vec![0; 100_000]);
        let img = decode(&bytes, max_width(32)).unwrap();
        assert_eq!((img.width(), img.height()), (384, 38));
        assert!(img.bits().iter().all(|b| *b == 0xFF));
    }

    #[test]
    fn a_file_that_is_not_a_png_gets_a_clear_error() {
        let err = decode(b"GIF89a...", 384).unwrap_err();
        assert!(err.contains("not a PNG"), "{err}");
    }
}
