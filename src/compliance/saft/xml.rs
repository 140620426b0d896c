//! A thin layer over `quick_xml`'s [`Writer`]: elements with text, nesting, and the SAF-T value
//! formats (amounts with two decimals from minor units, dates, flags). Every text goes through
//! `quick_xml`, which escapes it; nothing is concatenated into markup here.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::core::signature_text;

/// An XML document being streamed to `W`.
pub struct Xml<W: Write> {
    writer: Writer<W>,
}

impl<W: Write> Xml<W> {
    /// Starts a UTF-8 document (tab-indented, one element per line).
    pub fn new(out: W) -> io::Result<Self> {
        let mut writer = Writer::new_with_indent(out, b'\t', 1);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(Self { writer })
    }

    /// Opens `<name attr="value" ...>`.
    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            start.push_attribute((*key, *value));
        }
        self.writer.write_event(Event::Start(start))
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> io::Result<()> {
        self.writer.write_event(Event::Start(BytesStart::new(name)))
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> io::Result<()> {
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.open(name)?;
        self.writer.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    /// `<name>text</name>` when there is a text.
    pub fn text_opt(&mut self, name: &str, text: Option<&str>) -> io::Result<()> {
        match text {
            Some(t) if !t.is_empty() => self.text(name, t),
            _ => Ok(()),
        }
    }

    /// `<name>12.50</name>` from minor units.
    pub fn amount(&mut self, name: &str, minor: i64) -> io::Result<()> {
        self.text(name, &amount(minor))
    }

    /// `<name>true|false</name>`.
    pub fn flag(&mut self, name: &str, value: bool) -> io::Result<()> {
        self.text(name, if value { "true" } else { "false" })
    }

    /// Flushes and hands back the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.writer.into_inner();
        out.flush()?;
        Ok(out)
    }
}

/// Minor units as a SAF-T amount: two decimals, `.` separator, `-` when negative (integer
/// arithmetic; the same format as the signed text).
pub fn amount(minor: i64) -> String {
    signature_text::amount(minor)
}

/// A VAT rate in basis points as `vatPerc`: `25.00`, `25.50`, `0.00`.
pub fn percent(basis_points: u32) -> String {
    format!("{}.{:02}", basis_points / 100, basis_points % 100)
}

/// At most `max` characters of `text` (SAF-T lengths count characters).
pub fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_amounts_have_two_decimals() {
        let mut x = Xml::new(Vec::new()).unwrap();
        x.open_with("a", &[("k", "\"q\" & <r>")]).unwrap();
        x.text("b", "Fish & <chips> 'n' \"peas\"").unwrap();
        x.amount("c", -5).unwrap();
        x.amount("d", 123_456).unwrap();
        x.flag("e", false).unwrap();
        x.close("a").unwrap();
        let text = String::from_utf8(x.finish().unwrap()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(
            text.contains("k=\"&quot;q&quot; &amp; &lt;r&gt;\""),
            "{text}"
        );
        assert!(
            text.contains("<b>Fish &amp; &lt;chips&gt; &apos;n&apos; &quot;peas&quot;</b>"),
            "{text}"
        );
        assert!(text.contains("<c>-0.05</c>") && text.contains("<d>1234.56</d>"));
        assert!(text.contains("<e>false</e>"));
    }

    #[test]
    fn percent_and_clip() {
        assert_eq!(percent(2500), "25.00");
        assert_eq!(percent(2550), "25.50");
        assert_eq!(percent(0), "0.00");
        assert_eq!(clip("blåbær", 3), "blå");
        assert_eq!(clip("ab", 5), "ab");
    }
}
