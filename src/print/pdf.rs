//! Receipts (and the till's QR sticker) as PDF, with `pdf-writer`.
//!
//! The text font is Inter (SIL Open Font License, `assets/fonts/`), embedded whole as a
//! TrueType font with WinAnsiEncoding, so æ ø å render and `pdftotext` reads them back. Bold
//! is drawn by also stroking the outline; sizes follow the ESC/POS ones (double = twice the
//! width and height of the amounts). Barcodes (CODE128, via `barcoders`) and QR codes (via
//! `qrcode`) are drawn as filled rectangles.

use pdf_writer::types::{FontFlags, TextRenderingMode};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::PrintError;
use crate::core::logo::MonoImage;
use crate::core::receipt_doc::{Align, Block, Document, Size};

/// Inter Regular (OFL-1.1, see `assets/fonts/Inter-OFL.txt`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/Inter-Regular.ttf");
const FONT_NAME: Name<'static> = Name(b"F1");
const MM: f32 = 72.0 / 25.4;

/// The page a receipt is laid out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// A4 portrait, the receipt in a centred column (several pages when long).
    A4,
    /// A strip as wide as receipt paper (58 or 80 mm), as long as the receipt.
    Receipt { width_mm: u16 },
}

/// The QR sticker's page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickerSize {
    A6,
    A5,
}

impl StickerSize {
    fn points(self) -> (f32, f32) {
        match self {
            StickerSize::A6 => (105.0 * MM, 148.0 * MM),
            StickerSize::A5 => (148.0 * MM, 210.0 * MM),
        }
    }
}

/// Glyph advances of the embedded font for WinAnsi codes 32..=255 (1/1000 em).
struct Metrics {
    widths: Vec<f32>,
    ascent: f32,
    descent: f32,
    cap_height: f32,
    bbox: Rect,
}

fn metrics() -> Result<Metrics, PrintError> {
    let face = ttf_parser::Face::parse(FONT, 0)
        .map_err(|e| PrintError::Pdf(format!("the embedded font: {e}")))?;
    let scale = 1000.0 / f32::from(face.units_per_em());
    let widths = (32u8..=255)
        .map(|code| {
            let advance = win_ansi_char(code)
                .and_then(|c| face.glyph_index(c))
                .and_then(|g| face.glyph_hor_advance(g))
                .unwrap_or(0);
            f32::from(advance) * scale
        })
        .collect();
    let b = face.global_bounding_box();
    Ok(Metrics {
        widths,
        ascent: f32::from(face.ascender()) * scale,
        descent: f32::from(face.descender()) * scale,
        cap_height: f32::from(face.capital_height().unwrap_or(700)) * scale,
        bbox: Rect::new(
            f32::from(b.x_min) * scale,
            f32::from(b.y_min) * scale,
            f32::from(b.x_max) * scale,
            f32::from(b.y_max) * scale,
        ),
    })
}

/// WinAnsiEncoding's character for `code`.
fn win_ansi_char(code: u8) -> Option<char> {
    match code {
        0x20..=0x7E | 0xA0..=0xFF => Some(char::from(code)),
        0x80 => Some('€'),
        0x85 => Some('…'),
        0x91 => Some('‘'),
        0x92 => Some('’'),
        0x93 => Some('“'),
        0x94 => Some('”'),
        0x95 => Some('•'),
        0x96 => Some('–'),
        0x97 => Some('—'),
        _ => None,
    }
}

/// `text` in WinAnsiEncoding; characters it lacks become `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7E | 0xA0..=0xFF => c as u8,
            _ => (0x80u8..=0x9F)
                .find(|b| win_ansi_char(*b) == Some(c))
                .unwrap_or(b'?'),
        })
        .collect()
}

/// Draws pages: text in the embedded font, rules, rectangles.
struct Canvas {
    metrics: Metrics,
    pages: Vec<Content>,
    page_size: (f32, f32),
    /// Images drawn (the logo), as `/Im<index>` on every page.
    images: Vec<MonoImage>,
}

impl Canvas {
    fn new(page_size: (f32, f32)) -> Result<Self, PrintError> {
        Ok(Self {
            metrics: metrics()?,
            pages: vec![Content::new()],
            page_size,
            images: Vec::new(),
        })
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
    }

    /// Width of `text` at `size` points, `scale_x` times as wide.
    fn width(&self, text: &str, size: f32, scale_x: f32) -> f32 {
        win_ansi(text)
            .iter()
            .map(|b| {
                self.metrics
                    .widths
                    .get(usize::from(b.saturating_sub(32)))
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum::<f32>()
            * size
            / 1000.0
            * scale_x
    }

    /// Text with its baseline at `y`, starting at `x`.
    fn text(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool, scale: (f32, f32)) {
        let bytes = win_ansi(text);
        let c = self.page();
        c.begin_text();
        if bold {
            c.set_text_rendering_mode(TextRenderingMode::FillStroke);
            c.set_line_width(size * 0.045);
        }
        c.set_font(FONT_NAME, size);
        c.set_text_matrix([scale.0, 0.0, 0.0, scale.1, x, y]);
        c.show(Str(&bytes));
        if bold {
            c.set_text_rendering_mode(TextRenderingMode::Fill);
        }
        c.end_text();
    }

    /// `image` drawn `w × h` points with its bottom-left corner at (`x`, `y`).
    fn image(&mut self, image: &MonoImage, x: f32, y: f32, w: f32, h: f32) {
        let name = format!("Im{}", self.images.len());
        self.images.push(image.clone());
        self.page()
            .save_state()
            .transform([w, 0.0, 0.0, h, x, y])
            .x_object(Name(name.as_bytes()))
            .restore_state();
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.page().rect(x, y, w, h).fill_nonzero();
    }

    fn line(&mut self, x1: f32, y: f32, x2: f32) {
        self.page()
            .set_line_width(0.5)
            .move_to(x1, y)
            .line_to(x2, y)
            .stroke();
    }

    /// A QR code of `data`, `side` points square, top-left corner at (`x`, `top`).
    fn qr(&mut self, data: &str, x: f32, top: f32, side: f32) -> Result<(), PrintError> {
        let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
            .map_err(|e| PrintError::Pdf(format!("QR code: {e}")))?;
        let n = code.width();
        let module = side / n as f32;
        for (i, color) in code.to_colors().iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (col, row) = (i % n, i / n);
                self.rect(
                    x + col as f32 * module,
                    top - (row + 1) as f32 * module,
                    module,
                    module,
                );
            }
        }
        Ok(())
    }

    /// A CODE128 barcode of `data`, centred in `[x, x + width]`, bars from `top` down `height`.
    /// Returns false when the data cannot be encoded.
    fn code128(&mut self, data: &str, x: f32, width: f32, top: f32, height: f32) -> bool {
        let Ok(code) = barcoders::sym::code128::Code128::new(format!("Ɓ{data}")) else {
            return false;
        };
        let modules = code.encode();
        // Quiet zones of ten modules each side.
        let module = (width / (modules.len() + 20) as f32).min(1.2);
        let start = x + (width - module * modules.len() as f32) / 2.0;
        for (i, m) in modules.iter().enumerate() {
            if *m == 1 {
                self.rect(start + i as f32 * module, top - height, module, height);
            }
        }
        true
    }

    /// The finished PDF.
    fn finish(self, title: &str) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let font = Ref::new(3);
        let descriptor = Ref::new(4);
        let font_file = Ref::new(5);
        let info = Ref::new(6);
        let first_page = 7;
        let page_ids: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("Kasse"));

        {
            let mut dict = pdf.indirect(font).dict();
            dict.pair(Name(b"Type"), Name(b"Font"));
            dict.pair(Name(b"Subtype"), Name(b"TrueType"));
            dict.pair(Name(b"BaseFont"), Name(b"Inter-Regular"));
            dict.pair(Name(b"FirstChar"), 32);
            dict.pair(Name(b"LastChar"), 255);
            dict.insert(Name(b"Widths"))
                .array()
                .items(self.metrics.widths.iter().copied());
            dict.pair(Name(b"Encoding"), Name(b"WinAnsiEncoding"));
            dict.pair(Name(b"FontDescriptor"), descriptor);
            dict.finish();
        }
        pdf.font_descriptor(descriptor)
            .name(Name(b"Inter-Regular"))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(self.metrics.bbox)
            .italic_angle(0.0)
            .ascent(self.metrics.ascent)
            .descent(self.metrics.descent)
            .cap_height(self.metrics.cap_height)
            .stem_v(80.0)
            .font_file2(font_file);
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(FONT, 6);
        pdf.stream(font_file, &compressed)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), FONT.len() as i32);

        // 1 bit per dot, rows padded to bytes as the PDF wants; 1 is black (Decode [1 0]).
        let first_image = first_page + 2 * self.pages.len() as i32;
        let image_ids: Vec<Ref> = (0..self.images.len())
            .map(|i| Ref::new(first_image + i as i32))
            .collect();
        for (image, id) in self.images.iter().zip(&image_ids) {
            let data = miniz_oxide::deflate::compress_to_vec_zlib(image.bits(), 6);
            let mut x = pdf.image_xobject(*id, &data);
            x.filter(Filter::FlateDecode);
            x.width(image.width() as i32);
            x.height(image.height() as i32);
            x.color_space().device_gray();
            x.bits_per_component(1);
            x.decode([1.0, 0.0]);
        }
        let image_names: Vec<String> = (0..image_ids.len()).map(|i| format!("Im{i}")).collect();

        let (w, h) = self.page_size;
        for (i, content) in self.pages.into_iter().enumerate() {
            let page_id = page_ids[i];
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, w, h))
                .parent(tree)
                .contents(content_id);
            {
                let mut resources = page.resources();
                resources.fonts().pair(FONT_NAME, font);
                if !image_ids.is_empty() {
                    let mut objects = resources.x_objects();
                    for (name, id) in image_names.iter().zip(&image_ids) {
                        objects.pair(Name(name.as_bytes()), *id);
                    }
                }
            }
            page.finish();
            let data = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
            pdf.stream(content_id, &data).filter(Filter::FlateDecode);
        }
        pdf.finish()
    }
}

/// One laid-out item of a receipt.
enum Item<'a> {
    Text {
        text: String,
        align: Align,
        bold: bool,
        scale: (f32, f32),
    },
    Columns {
        left: &'a str,
        right: &'a str,
        bold: bool,
        scale: (f32, f32),
    },
    Rule,
    Barcode(&'a str),
    Qr(&'a str),
    Logo(&'a MonoImage),
    Gap,
}

/// The document as a PDF on `paper`.
pub fn render(doc: &Document, paper: Paper) -> Result<Vec<u8>, PrintError> {
    let (page_w, column_w, base) = match paper {
        Paper::A4 => (210.0 * MM, 90.0 * MM, 10.0),
        Paper::Receipt { width_mm } => {
            let w = f32::from(width_mm.clamp(40, 120)) * MM;
            (w, w - 8.0 * MM, if width_mm < 70 { 7.5 } else { 9.0 })
        }
    };
    let left = (page_w - column_w) / 2.0;
    let measure = Canvas::new((page_w, 100.0))?;
    let items = layout(doc, &measure, column_w, base);
    let heights: Vec<f32> = items.iter().map(|i| height(i, base, column_w)).collect();
    let margin = 10.0 * MM;
    let page_h = match paper {
        Paper::A4 => 297.0 * MM,
        Paper::Receipt { .. } => heights.iter().sum::<f32>() + 2.0 * margin,
    };
    let mut canvas = Canvas {
        page_size: (page_w, page_h),
        ..measure
    };
    let mut y = page_h - margin;
    for (item, h) in items.iter().zip(heights) {
        if y - h < margin {
            canvas.new_page();
            y = page_h - margin;
        }
        draw(&mut canvas, item, left, column_w, y, h, base)?;
        y -= h;
    }
    Ok(canvas.finish(match doc.kind {
        crate::core::receipt_doc::DocKind::Copy => "Kvittering (KOPI)",
        _ => "Kvittering",
    }))
}

fn layout<'a>(doc: &'a Document, canvas: &Canvas, width: f32, base: f32) -> Vec<Item<'a>> {
    let mut items = Vec::new();
    for block in &doc.blocks {
        match block {
            Block::Heading(text) | Block::Notice(text) => {
                for line in wrap(canvas, text, base, 2.0, width) {
                    items.push(Item::Text {
                        text: line,
                        align: Align::Center,
                        bold: true,
                        scale: (2.0, 2.0),
                    });
                }
            }
            Block::Text { text, align, bold } => {
                for line in wrap(canvas, text, base, 1.0, width) {
                    items.push(Item::Text {
                        text: line,
                        align: *align,
                        bold: *bold,
                        scale: (1.0, 1.0),
                    });
                }
            }
            Block::Columns { left, right, bold } => items.push(Item::Columns {
                left,
                right,
                bold: *bold,
                scale: (1.0, 1.0),
            }),
            Block::Total {
                label,
                amount,
                size,
            } => {
                // On paper a tall total is double height only; on a page that reads as
                // squeezed, so it is drawn 1.5 times larger in both directions.
                let scale = match size {
                    Size::Normal => (1.0, 1.0),
                    Size::Tall => (1.5, 1.5),
                    Size::Double => (2.0, 2.0),
                };
                items.push(Item::Columns {
                    left: label,
                    right: amount,
                    bold: true,
                    scale,
                });
            }
            Block::Rule => items.push(Item::Rule),
            Block::Barcode(data) => items.push(Item::Barcode(data)),
            Block::Qr(data) => items.push(Item::Qr(data)),
            Block::Logo(image) => items.push(Item::Logo(image)),
            Block::Feed => items.push(Item::Gap),
        }
    }
    items
}

fn wrap(canvas: &Canvas, text: &str, size: f32, scale: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let body = text.trim_start_matches(' ');
    // Leading spaces (an indented detail line) stay on the first line.
    let mut current = " ".repeat(text.len() - body.len());
    for word in body.split(' ') {
        let candidate = if current.trim().is_empty() {
            format!("{current}{word}")
        } else {
            format!("{current} {word}")
        };
        if !current.trim().is_empty() && canvas.width(&candidate, size, scale) > width {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        } else {
            current = candidate;
        }
    }
    lines.push(current);
    lines
}

fn height(item: &Item<'_>, base: f32, width: f32) -> f32 {
    let line = base * 1.35;
    match item {
        Item::Text { scale, .. } | Item::Columns { scale, .. } => line * scale.1,
        Item::Rule => line * 0.6,
        Item::Barcode(_) => base * 6.0,
        Item::Qr(_) => width.min(base * 14.0) + line,
        Item::Logo(image) => logo_size(image, width).1 + line * 0.6,
        Item::Gap => line * 0.6,
    }
}

fn draw(
    c: &mut Canvas,
    item: &Item<'_>,
    left: f32,
    width: f32,
    top: f32,
    h: f32,
    base: f32,
) -> Result<(), PrintError> {
    let baseline = top - h + base * 0.35 * (h / (base * 1.35)).min(2.0);
    match item {
        Item::Text {
            text,
            align,
            bold,
            scale,
        } => {
            let w = c.width(text, base, scale.0);
            let x = match align {
                Align::Left => left,
                Align::Center => left + (width - w) / 2.0,
                Align::Right => left + width - w,
            };
            c.text(x, baseline, text, base, *bold, *scale);
        }
        Item::Columns {
            left: l,
            right: r,
            bold,
            scale,
        } => {
            let rw = c.width(r, base, scale.0);
            let mut text = l.to_string();
            while !text.is_empty() && c.width(&text, base, scale.0) + rw + base > width {
                text.pop();
            }
            c.text(left, baseline, &text, base, *bold, *scale);
            c.text(left + width - rw, baseline, r, base, *bold, *scale);
        }
        Item::Rule => c.line(left, top - h / 2.0, left + width),
        Item::Barcode(data) => {
            let bars = base * 4.0;
            if c.code128(data, left, width, top - base * 0.3, bars) {
                let w = c.width(data, base, 1.0);
                c.text(
                    left + (width - w) / 2.0,
                    top - bars - base * 1.3,
                    data,
                    base,
                    false,
                    (1.0, 1.0),
                );
            }
        }
        Item::Qr(data) => {
            let side = width.min(base * 14.0);
            c.qr(data, left + (width - side) / 2.0, top, side)?;
        }
        Item::Logo(image) => {
            let (w, h) = logo_size(image, width);
            c.image(image, left + (width - w) / 2.0, top - h, w, h);
        }
        Item::Gap => {}
    }
    Ok(())
}

/// The logo's size in points: as printed at 8 dots per millimetre, narrowed to `width`.
fn logo_size(image: &MonoImage, width: f32) -> (f32, f32) {
    let dot = MM / 8.0;
    let (w, h) = (image.width() as f32 * dot, image.height() as f32 * dot);
    if w > width {
        (width, h * width / w)
    } else {
        (w, h)
    }
}

/// What the QR sticker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticker<'a> {
    pub qr_content: &'a str,
    pub shop_name: &'a str,
    pub till_name: &'a str,
    /// "Scan to pay with Vipps / MobilePay" in the shop's language.
    pub scan_to_pay: &'a str,
}

/// The till's QR sticker: the QR as large as the page allows, the shop and till names and the
/// scan line.
pub fn sticker(s: &Sticker<'_>, size: StickerSize) -> Result<Vec<u8>, PrintError> {
    let (w, h) = size.points();
    let mut c = Canvas::new((w, h))?;
    let margin = 10.0 * MM;
    let base = w / 26.0;
    let mut y = h - margin - base;
    let centre = |c: &Canvas, text: &str, size: f32| (w - c.width(text, size, 1.0)) / 2.0;
    let title = base * 1.5;
    for (text, size, bold) in [(s.shop_name, title, true), (s.till_name, base, false)] {
        if !text.is_empty() {
            let x = centre(&c, text, size).max(margin);
            c.text(x, y - size * 0.4, text, size, bold, (1.0, 1.0));
            y -= size * 1.6;
        }
    }
    let side = (w - 2.0 * margin).min(y - margin - base * 3.0);
    c.qr(s.qr_content, (w - side) / 2.0, y, side)?;
    y -= side + base * 2.0;
    let lines = wrap(&c, s.scan_to_pay, base, 1.0, w - 2.0 * margin);
    for line in lines {
        let x = centre(&c, &line, base).max(margin);
        c.text(x, y, &line, base, true, (1.0, 1.0));
        y -= base * 1.4;
    }
    Ok(c.finish("QR"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Locale;
    use crate::core::receipt_doc::{DocKind, build, tests::sample};

    #[test]
    fn win_ansi_has_the_nordic_letters() {
        assert_eq!(win_ansi("æøåÆØÅ€–Ω"), b"\xE6\xF8\xE5\xC6\xD8\xC5\x80\x96?");
        for code in 32u8..=255 {
            if let Some(c) = win_ansi_char(code) {
                assert_eq!(win_ansi(&c.to_string()), vec![code]);
            }
        }
    }

    #[test]
    fn pdfs_are_well_formed_with_an_embedded_font() {
        let doc = build(&sample(), DocKind::Sales, Locale::Nb);
        for paper in [Paper::A4, Paper::Receipt { width_mm: 80 }] {
            let bytes = render(&doc, paper).unwrap();
            assert!(bytes.starts_with(b"%PDF-"));
            assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("/FontFile2") && text.contains("/WinAnsiEncoding"));
        }
        let m = metrics().unwrap();
        assert!(m.widths[usize::from(b'W' - 32)] > m.widths[usize::from(b'i' - 32)]);
        assert!(m.widths[usize::from(0xF8u8 - 32)] > 0.0, "ø has a glyph");
    }
}
