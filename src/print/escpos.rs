//! A small ESC/POS encoder for the commands Kasse uses, and a decoder that turns such a
//! stream back into lines of text and flags (tests, the fake printer, diagnostics).
//!
//! Text goes out in code page 865 (PC865 Nordic, `ESC t 5`): æ ø å Æ Ø Å are `91 9B 86 92 9D
//! 8F`. Commands: `ESC @` init, `ESC t n` code page, `ESC E n` bold, `GS ! n` size,
//! `ESC a n` alignment, `GS h/w/H` + `GS k 73` CODE128, `GS ( k` QR (model 2, size,
//! error correction M, store, print), `ESC d n` feed, `GS V 66 n` feed and partial cut,
//! `ESC p m t1 t2` drawer kick. The encoder does no I/O.

use crate::core::receipt_doc::{Align, Block, Document, Size};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const LF: u8 = 0x0A;

/// `ESC t 5`: PC865 Nordic.
pub const CODE_PAGE_PC865: u8 = 5;

/// Paper width in characters of font A: 32 (58 mm), 42 or 48 (80 mm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub columns: usize,
    /// Feed and cut after the document.
    pub cut: bool,
    /// Kick the drawer when the document asks for it.
    pub drawer_kick: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            columns: 48,
            cut: true,
            drawer_kick: true,
        }
    }
}

/// The PC865 byte of `c`, or `None` when the page has no such character.
pub fn pc865(c: char) -> Option<u8> {
    if c.is_ascii() && !c.is_ascii_control() {
        return Some(c as u8);
    }
    let b = match c {
        'Ç' => 0x80,
        'ü' => 0x81,
        'é' => 0x82,
        'â' => 0x83,
        'ä' => 0x84,
        'à' => 0x85,
        'å' => 0x86,
        'ç' => 0x87,
        'ê' => 0x88,
        'ë' => 0x89,
        'è' => 0x8A,
        'ï' => 0x8B,
        'î' => 0x8C,
        'ì' => 0x8D,
        'Ä' => 0x8E,
        'Å' => 0x8F,
        'É' => 0x90,
        'æ' => 0x91,
        'Æ' => 0x92,
        'ô' => 0x93,
        'ö' => 0x94,
        'ò' => 0x95,
        'û' => 0x96,
        'ù' => 0x97,
        'ÿ' => 0x98,
        'Ö' => 0x99,
        'Ü' => 0x9A,
        'ø' => 0x9B,
        '£' => 0x9C,
        'Ø' => 0x9D,
        'á' => 0xA0,
        'í' => 0xA1,
        'ó' => 0xA2,
        'ú' => 0xA3,
        'ñ' => 0xA4,
        'Ñ' => 0xA5,
        '¤' => 0xAF,
        'ß' => 0xE1,
        'µ' => 0xE6,
        '°' => 0xF8,
        '·' => 0xFA,
        '\u{a0}' => 0xFF,
        _ => return None,
    };
    Some(b)
}

/// The character of PC865 byte `b` (the inverse of [`pc865`]; `?` for bytes it never writes).
pub fn pc865_char(b: u8) -> char {
    if (0x20..0x7F).contains(&b) {
        return b as char;
    }
    NORDIC_AND_LATIN
        .iter()
        .copied()
        .find(|c| pc865(*c) == Some(b))
        .unwrap_or('?')
}

const NORDIC_AND_LATIN: &[char] = &[
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', 'É', 'æ', 'Æ',
    'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', 'ø', '£', 'Ø', 'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', '¤', 'ß',
    'µ', '°', '·', '\u{a0}',
];

/// `text` in PC865; characters the page lacks become a close ASCII form (`€` as `EUR`,
/// dashes and quotes) or `?`.
pub fn encode_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match pc865(c) {
            Some(b) => out.push(b),
            None => match c {
                '€' => out.extend_from_slice(b"EUR"),
                '–' | '—' | '−' => out.push(b'-'),
                '‘' | '’' => out.push(b'\''),
                '“' | '”' | '«' | '»' => out.push(b'"'),
                '\u{202f}' => out.push(0xFF),
                _ => out.push(b'?'),
            },
        }
    }
    out
}

/// Builds an ESC/POS byte stream command by command.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `ESC @` then `ESC t 5` (PC865).
    pub fn init(&mut self) -> &mut Self {
        self.out
            .extend_from_slice(&[ESC, b'@', ESC, b't', CODE_PAGE_PC865]);
        self
    }

    /// `ESC E n`.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.out.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    /// `GS ! n`: width and height multipliers 1..=8.
    pub fn size(&mut self, width: u8, height: u8) -> &mut Self {
        let w = width.clamp(1, 8) - 1;
        let h = height.clamp(1, 8) - 1;
        self.out.extend_from_slice(&[GS, b'!', (w << 4) | h]);
        self
    }

    /// `ESC a n`.
    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        self.out.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// Text in PC865 (no line feed).
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out.extend(encode_text(text));
        self
    }

    /// Text and a line feed.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.text(text);
        self.out.push(LF);
        self
    }

    /// `ESC d n`: print and feed `n` lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.out.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// A CODE128 barcode (code set B) with its text printed below:
    /// `GS h 80`, `GS w 2`, `GS H 2`, `GS k 73 n {B data`. Data longer than 253 bytes is cut.
    pub fn code128(&mut self, data: &str) -> &mut Self {
        let mut bytes: Vec<u8> = data.bytes().filter(|b| (0x20..0x7F).contains(b)).collect();
        bytes.truncate(253);
        self.out
            .extend_from_slice(&[GS, b'h', 80, GS, b'w', 2, GS, b'H', 2]);
        self.out
            .extend_from_slice(&[GS, b'k', 73, (bytes.len() + 2) as u8, b'{', b'B']);
        self.out.extend(bytes);
        self
    }

    /// A QR code (model 2, module size 6, error correction M) of `data` (at most 7089 bytes).
    /// `GS v 0`: a raster bit image, 8 dots per byte, 1 = black (the logo).
    pub fn raster(&mut self, image: &crate::core::logo::MonoImage) -> &mut Self {
        let x = image.row_bytes() as u16;
        let y = image.height() as u16;
        self.out.extend_from_slice(&[GS, b'v', b'0', 0]);
        self.out.extend_from_slice(&x.to_le_bytes());
        self.out.extend_from_slice(&y.to_le_bytes());
        self.out.extend_from_slice(image.bits());
        self
    }

    pub fn qr(&mut self, data: &str) -> &mut Self {
        let bytes = &data.as_bytes()[..data.len().min(7089)];
        let fun = |out: &mut Vec<u8>, body: &[u8]| {
            let len = body.len() as u16;
            out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8]);
            out.extend_from_slice(body);
        };
        fun(&mut self.out, &[49, 65, 50, 0]); // model 2
        fun(&mut self.out, &[49, 67, 6]); // module size
        fun(&mut self.out, &[49, 69, 49]); // error correction M
        let mut store = vec![49, 80, 48];
        store.extend_from_slice(bytes);
        fun(&mut self.out, &store);
        fun(&mut self.out, &[49, 81, 48]); // print
        self
    }

    /// `GS V 66 n`: feed `n` dots' worth and cut, leaving a bridge (partial cut).
    pub fn partial_cut(&mut self) -> &mut Self {
        self.out.extend_from_slice(&[GS, b'V', 66, 3]);
        self
    }

    /// `ESC p 0 25 250`: a pulse on drawer pin 2 (50 ms on, 500 ms off).
    pub fn drawer_kick(&mut self) -> &mut Self {
        self.out.extend_from_slice(&[ESC, b'p', 0, 25, 250]);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Cuts `text` to at most `width` characters.
fn fit(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// Splits `text` into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let body = text.trim_start_matches(' ');
    // Leading spaces (an indented detail line) stay on the first line.
    let mut current = " ".repeat(text.len() - body.len());
    for word in body.split(' ') {
        let word_len = word.chars().count();
        let cur_len = current.chars().count();
        let indent_only = current.trim().is_empty();
        if !indent_only && cur_len + 1 + word_len > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.trim().is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        while current.chars().count() > width {
            let head: String = current.chars().take(width).collect();
            let tail: String = current.chars().skip(width).collect();
            lines.push(head);
            current = tail;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// `left` and `right` on one line of `width` characters (the left part is cut to fit).
pub fn two_columns(left: &str, right: &str, width: usize) -> String {
    let right_len = right.chars().count();
    let room = width.saturating_sub(right_len + 1);
    let left = fit(left, room);
    let pad = width.saturating_sub(left.chars().count() + right_len);
    format!("{left}{}{right}", " ".repeat(pad.max(1)))
}

/// The document as ESC/POS bytes for a printer `options.columns` characters wide.
pub fn encode(doc: &Document, options: &Options) -> Vec<u8> {
    encode_blocks(&doc.blocks, doc.open_drawer, options)
}

/// The till's QR sticker for the receipt printer: shop, till, the QR and the scan line.
pub fn sticker(
    shop: &str,
    till: &str,
    qr_content: &str,
    scan_line: &str,
    options: &Options,
) -> Vec<u8> {
    let centred = |text: &str, bold: bool| Block::Text {
        text: text.to_string(),
        align: Align::Center,
        bold,
    };
    let blocks = [
        centred(shop, true),
        centred(till, false),
        Block::Feed,
        Block::Qr(qr_content.to_string()),
        centred(scan_line, true),
    ];
    encode_blocks(&blocks, false, options)
}

/// The ESC/POS bytes of `blocks` (a receipt's, or any other document's such as a report).
pub fn encode_blocks(blocks: &[Block], open_drawer: bool, options: &Options) -> Vec<u8> {
    let cols = options.columns.max(16);
    let mut e = Encoder::new();
    e.init();
    for block in blocks {
        match block {
            Block::Heading(text) | Block::Notice(text) => {
                let (w, h) = Size::Double.scale();
                e.align(Align::Center).bold(true).size(w, h);
                for line in wrap(text, cols / usize::from(w)) {
                    e.line(&line);
                }
                e.size(1, 1).bold(false).align(Align::Left);
            }
            Block::Text { text, align, bold } => {
                e.align(*align).bold(*bold);
                for line in wrap(text, cols) {
                    e.line(&line);
                }
                e.bold(false).align(Align::Left);
            }
            Block::Columns { left, right, bold } => {
                e.bold(*bold)
                    .line(&two_columns(left, right, cols))
                    .bold(false);
            }
            Block::Rule => {
                e.line(&"-".repeat(cols));
            }
            Block::Total {
                label,
                amount,
                size,
            } => {
                let (w, h) = size.scale();
                e.bold(true).size(w, h);
                e.line(&two_columns(label, amount, cols / usize::from(w)));
                e.size(1, 1).bold(false);
            }
            Block::Barcode(data) => {
                e.align(Align::Center)
                    .code128(data)
                    .line("")
                    .align(Align::Left);
            }
            Block::Qr(data) => {
                e.align(Align::Center).qr(data).line("").align(Align::Left);
            }
            Block::Logo(image) => {
                e.align(Align::Center).raster(image).align(Align::Left);
            }
            Block::Feed => {
                e.line("");
            }
        }
    }
    if options.cut {
        e.feed(3).partial_cut();
    }
    if open_drawer && options.drawer_kick {
        e.drawer_kick();
    }
    e.finish()
}

/// A printed line as the decoder saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedLine {
    pub text: String,
    pub bold: bool,
    /// Width and height multipliers in force at the line feed.
    pub width: u8,
    pub height: u8,
    pub align: Align,
}

/// One thing the printer was told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Line(DecodedLine),
    Init,
    CodePage(u8),
    Barcode {
        symbology: u8,
        data: String,
    },
    Qr(String),
    Feed(u8),
    Cut {
        partial: bool,
    },
    DrawerKick {
        pin: u8,
    },
    /// `DLE EOT n`.
    StatusQuery(u8),
    /// `GS v 0`: a raster image of `row_bytes × 8` dots by `height`, its black dots counted.
    Image {
        row_bytes: usize,
        height: usize,
        black: u32,
    },
}

/// A byte stream the decoder does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown ESC/POS command {0:02X?} at byte {1}")]
    Unknown(Vec<u8>, usize),
    #[error("the stream ends inside a command at byte {0}")]
    Truncated(usize),
}

/// The stream as a list of lines and commands, in order.
pub fn decode(bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut text = String::new();
    let (mut bold, mut width, mut height, mut align) = (false, 1u8, 1u8, Align::Left);
    let mut code_page = 0u8;
    let mut qr_data: Option<String> = None;
    let need = |i: usize, n: usize| {
        if i + n <= bytes.len() {
            Ok(())
        } else {
            Err(DecodeError::Truncated(i))
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            LF => {
                out.push(Decoded::Line(DecodedLine {
                    text: std::mem::take(&mut text),
                    bold,
                    width,
                    height,
                    align,
                }));
                i += 1;
            }
            ESC => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'@' => {
                        (bold, width, height, align) = (false, 1, 1, Align::Left);
                        out.push(Decoded::Init);
                        i += 2;
                    }
                    b't' => {
                        need(i, 3)?;
                        code_page = bytes[i + 2];
                        out.push(Decoded::CodePage(code_page));
                        i += 3;
                    }
                    b'E' => {
                        need(i, 3)?;
                        bold = bytes[i + 2] & 1 == 1;
                        i += 3;
                    }
                    b'a' => {
                        need(i, 3)?;
                        align = match bytes[i + 2] {
                            1 | b'1' => Align::Center,
                            2 | b'2' => Align::Right,
                            _ => Align::Left,
                        };
                        i += 3;
                    }
                    b'd' => {
                        need(i, 3)?;
                        out.push(Decoded::Feed(bytes[i + 2]));
                        i += 3;
                    }
                    b'p' => {
                        need(i, 5)?;
                        out.push(Decoded::DrawerKick {
                            pin: if bytes[i + 2] & 1 == 1 { 5 } else { 2 },
                        });
                        i += 5;
                    }
                    _ => return Err(DecodeError::Unknown(bytes[i..i + 2].to_vec(), i)),
                }
            }
            GS => {
                need(i, 2)?;
                match bytes[i + 1] {
                    b'!' => {
                        need(i, 3)?;
                        width = (bytes[i + 2] >> 4) + 1;
                        height = (bytes[i + 2] & 0x0F) + 1;
                        i += 3;
                    }
                    b'h' | b'w' | b'H' => {
                        need(i, 3)?;
                        i += 3;
                    }
                    b'k' => {
                        need(i, 4)?;
                        let m = bytes[i + 2];
                        if m < 65 {
                            return Err(DecodeError::Unknown(bytes[i..i + 3].to_vec(), i));
                        }
                        let n = usize::from(bytes[i + 3]);
                        need(i, 4 + n)?;
                        let raw = &bytes[i + 4..i + 4 + n];
                        let data = if m == 73 && raw.len() >= 2 && raw[0] == b'{' {
                            &raw[2..]
                        } else {
                            raw
                        };
                        out.push(Decoded::Barcode {
                            symbology: m,
                            data: String::from_utf8_lossy(data).into_owned(),
                        });
                        i += 4 + n;
                    }
                    b'(' => {
                        need(i, 5)?;
                        if bytes[i + 2] != b'k' {
                            return Err(DecodeError::Unknown(bytes[i..i + 3].to_vec(), i));
                        }
                        let len = usize::from(bytes[i + 3]) | (usize::from(bytes[i + 4]) << 8);
                        need(i, 5 + len)?;
                        let body = &bytes[i + 5..i + 5 + len];
                        match body {
                            [49, 80, 48, data @ ..] => {
                                qr_data = Some(String::from_utf8_lossy(data).into_owned());
                            }
                            [49, 81, 48] => {
                                if let Some(d) = qr_data.take() {
                                    out.push(Decoded::Qr(d));
                                }
                            }
                            _ => {}
                        }
                        i += 5 + len;
                    }
                    b'v' => {
                        need(i, 8)?;
                        if bytes[i + 2] != b'0' {
                            return Err(DecodeError::Unknown(bytes[i..i + 3].to_vec(), i));
                        }
                        let row_bytes =
                            usize::from(u16::from_le_bytes([bytes[i + 4], bytes[i + 5]]));
                        let height = usize::from(u16::from_le_bytes([bytes[i + 6], bytes[i + 7]]));
                        let len = row_bytes * height;
                        need(i, 8 + len)?;
                        let black = bytes[i + 8..i + 8 + len]
                            .iter()
                            .map(|b| b.count_ones())
                            .sum();
                        out.push(Decoded::Image {
                            row_bytes,
                            height,
                            black,
                        });
                        i += 8 + len;
                    }
                    b'V' => {
                        need(i, 3)?;
                        let m = bytes[i + 2];
                        let (partial, len) = match m {
                            0 | 48 => (false, 3),
                            1 | 49 => (true, 3),
                            65 => (false, 4),
                            66 => (true, 4),
                            _ => return Err(DecodeError::Unknown(bytes[i..i + 3].to_vec(), i)),
                        };
                        need(i, len)?;
                        out.push(Decoded::Cut { partial });
                        i += len;
                    }
                    _ => return Err(DecodeError::Unknown(bytes[i..i + 2].to_vec(), i)),
                }
            }
            // DLE EOT n: a status query (answered by the printer, prints nothing).
            0x10 => {
                need(i, 3)?;
                if bytes[i + 1] != 0x04 {
                    return Err(DecodeError::Unknown(bytes[i..i + 2].to_vec(), i));
                }
                out.push(Decoded::StatusQuery(bytes[i + 2]));
                i += 3;
            }
            0x00..=0x1F | 0x7F => return Err(DecodeError::Unknown(vec![b], i)),
            _ => {
                text.push(if code_page == CODE_PAGE_PC865 {
                    pc865_char(b)
                } else if b.is_ascii() {
                    b as char
                } else {
                    '?'
                });
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Decoded::Line(DecodedLine {
            text,
            bold,
            width,
            height,
            align,
        }));
    }
    Ok(out)
}

/// Only the printed lines of a decoded stream.
pub fn lines(decoded: &[Decoded]) -> Vec<&DecodedLine> {
    decoded
        .iter()
        .filter_map(|d| match d {
            Decoded::Line(l) => Some(l),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Locale;
    use crate::core::receipt_doc::{DocKind, build, tests::sample};

    #[test]
    fn nordic_letters_use_pc865_bytes() {
        assert_eq!(
            encode_text("æøåÆØÅ"),
            vec![0x91, 0x9B, 0x86, 0x92, 0x9D, 0x8F]
        );
        assert_eq!(encode_text("kr\u{a0}5 €"), b"kr\xFF5 EUR".to_vec());
        assert_eq!(encode_text("Ω"), b"?".to_vec());
        for c in NORDIC_AND_LATIN {
            assert_eq!(pc865_char(pc865(*c).unwrap()), *c);
        }
    }

    #[test]
    fn commands_have_their_exact_bytes() {
        let mut e = Encoder::new();
        e.init()
            .bold(true)
            .size(2, 2)
            .align(Align::Center)
            .partial_cut()
            .drawer_kick();
        assert_eq!(
            e.finish(),
            vec![
                0x1B, 0x40, 0x1B, 0x74, 5, // init, PC865
                0x1B, 0x45, 1, // bold
                0x1D, 0x21, 0x11, // double width and height
                0x1B, 0x61, 1, // centre
                0x1D, 0x56, 66, 3, // partial cut
                0x1B, 0x70, 0, 25, 250, // drawer pin 2
            ]
        );
        let mut e = Encoder::new();
        e.code128("42");
        assert_eq!(e.finish()[9..], [0x1D, 0x6B, 73, 4, b'{', b'B', b'4', b'2']);
    }

    #[test]
    fn a_receipt_decodes_back_to_its_lines_and_flags() {
        let doc = build(&sample(), DocKind::Provisional, Locale::Nb);
        for columns in [32, 42, 48] {
            let bytes = encode(
                &doc,
                &Options {
                    columns,
                    ..Options::default()
                },
            );
            let decoded = decode(&bytes).unwrap();
            assert_eq!(decoded[0], Decoded::Init);
            assert_eq!(decoded[1], Decoded::CodePage(CODE_PAGE_PC865));
            let lines = lines(&decoded);
            for l in &lines {
                assert!(
                    l.text.chars().count() * usize::from(l.width) <= columns,
                    "{columns}: {l:?}"
                );
            }
            let heading = lines
                .iter()
                .find(|l| l.text.starts_with("Foreløpig"))
                .unwrap();
            assert!(heading.bold && heading.width == 2 && heading.height == 2);
            let notice: Vec<_> = lines
                .iter()
                .filter(|l| l.width == 2 && l.height == 2 && l.text.contains("KJØP"))
                .collect();
            assert!(!notice.is_empty(), "{lines:?}");
            let total = lines.iter().find(|l| l.text.starts_with("Totalt")).unwrap();
            assert_eq!((total.width, total.height), (1, 1));
            assert!(total.text.ends_with("kr\u{a0}129,90"), "{total:?}");
            assert_eq!(total.text.chars().count(), columns);
            assert_eq!(
                decoded.last(),
                Some(&Decoded::Cut { partial: true }),
                "no drawer kick without cash"
            );
        }
    }

    #[test]
    fn sales_receipt_has_a_tall_total_barcode_qr_and_the_decoder_rejects_garbage() {
        let mut doc = build(&sample(), DocKind::Sales, Locale::Nb);
        doc.blocks.push(Block::Qr("https://qr.example/abc".into()));
        doc.open_drawer = true;
        let decoded = decode(&encode(&doc, &Options::default())).unwrap();
        let total = lines(&decoded)
            .into_iter()
            .find(|l| l.text.starts_with("Totalt"))
            .cloned()
            .unwrap();
        assert!(total.bold && total.height == 2 && total.width == 1);
        assert!(decoded.contains(&Decoded::Barcode {
            symbology: 73,
            data: "42".into()
        }));
        assert!(decoded.contains(&Decoded::Qr("https://qr.example/abc".into())));
        assert_eq!(decoded.last(), Some(&Decoded::DrawerKick { pin: 2 }));
        assert!(matches!(
            decode(&[0x1B, 0x99]),
            Err(DecodeError::Unknown(..))
        ));
        assert_eq!(decode(&[0x1D, 0x21]), Err(DecodeError::Truncated(0)));
    }

    #[test]
    fn wrapping_and_columns() {
        assert_eq!(
            wrap("IKKJE KVITTERING FOR KJØP", 16),
            ["IKKJE KVITTERING", "FOR KJØP"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("  2 x kr 5", 16), ["  2 x kr 5"]);
        assert_eq!(two_columns("Bread", "10,00", 16), "Bread      10,00");
        assert_eq!(
            two_columns("A very long name", "10,00", 16),
            "A very lon 10,00"
        );
    }
}
