//! Catalogue import from CSV: all rows or nothing.
//!
//! The first line names the columns (any order, case-insensitive):
//! `id`, `name`, `price` (VAT included, `29,90` or `29.90`), `vat` (percent:
//! `25`, `15`, `25,5`), and optionally `barcodes` (separated by `|` or spaces),
//! `category`, `unit` (`pcs` or `kg`; a `kg` price is per kilogram) and `group` (the SAF-T
//! article group, `04001` to `04021` or `04999`; empty: `04003` sale of goods).
//! The delimiter is `;` when the header contains one (spreadsheets in Nordic
//! locales write `;` because `,` is their decimal mark), otherwise `,`.
//! Fields may be quoted with `"`; a doubled `""` is a quote inside, and a quoted field may
//! span lines. Reading and writing go through the `csv` crate, so whatever [`write`] produces
//! (names with quotes, delimiters or line breaks) [`parse`] reads back.
//!
//! Every row is checked and every problem reported with its line number; the
//! import succeeds only if all rows are valid and ids and barcodes are unique,
//! so a shop never ends up with half a catalogue.

use super::catalog::{Catalog, CatalogError, Item, Unit};
use super::money::parse_minor;
use super::vat::{Country, VatRate};

/// What is wrong with a CSV file or one of its rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvProblem {
    #[error("the file is empty")]
    Empty,
    #[error("the header has no {0:?} column")]
    MissingColumn(&'static str),
    #[error("line {line}: {field} is empty")]
    EmptyField { line: usize, field: &'static str },
    #[error("line {line}: {value:?} is not a price")]
    BadPrice { line: usize, value: String },
    #[error("line {line}: {value:?} is not a VAT rate used in this country")]
    BadVat { line: usize, value: String },
    #[error("line {line}: {value:?} is not a unit (pcs or kg)")]
    BadUnit { line: usize, value: String },
    #[error("line {line}: a quoted field is not closed")]
    UnclosedQuote { line: usize },
    #[error("line {line}: id {id:?} is used again (first on line {first})")]
    DuplicateId {
        line: usize,
        id: String,
        first: usize,
    },
    #[error("line {line}: barcode {barcode:?} is used again (first on line {first})")]
    DuplicateBarcode {
        line: usize,
        barcode: String,
        first: usize,
    },
    #[error("line {line}: {source}")]
    Invalid { line: usize, source: CatalogError },
    #[error("line {line}: {message}")]
    Malformed { line: usize, message: String },
}

impl CsvProblem {
    /// The 1-based line the problem is on (0 for whole-file problems).
    pub fn line(&self) -> usize {
        match self {
            CsvProblem::Empty | CsvProblem::MissingColumn(_) => 0,
            CsvProblem::EmptyField { line, .. }
            | CsvProblem::BadPrice { line, .. }
            | CsvProblem::BadVat { line, .. }
            | CsvProblem::BadUnit { line, .. }
            | CsvProblem::UnclosedQuote { line }
            | CsvProblem::DuplicateId { line, .. }
            | CsvProblem::DuplicateBarcode { line, .. }
            | CsvProblem::Invalid { line, .. }
            | CsvProblem::Malformed { line, .. } => *line,
        }
    }
}

/// Parses a whole CSV catalogue. VAT rates are checked against `country`
/// when given. Returns every problem found, in line order.
pub fn parse(text: &str, country: Option<Country>) -> Result<Catalog, Vec<CsvProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(first_line) = text.lines().find(|line| !line.trim().is_empty()) else {
        return Err(vec![CsvProblem::Empty]);
    };
    let delimiter = if first_line.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for result in reader.records() {
        match result {
            Ok(record) => {
                let line = record.position().map_or(0, |p| line_at(text, p.byte()));
                let fields: Vec<String> = record.iter().map(str::to_owned).collect();
                if fields.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                rows.push((line, fields));
            }
            Err(error) => problems.push(CsvProblem::Malformed {
                line: error.position().map_or(0, |p| line_at(text, p.byte())),
                message: error.to_string(),
            }),
        }
    }
    // The reader takes an unclosed quote's field to the end of the file: that last record is
    // reported, not read.
    if let Some(line) = unclosed_quote(text, delimiter)
        && rows.last().is_some_and(|(start, _)| *start <= line)
    {
        rows.pop();
        problems.push(CsvProblem::UnclosedQuote { line });
    }
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        if problems.is_empty() {
            problems.push(CsvProblem::Empty);
        }
        return Err(problems);
    };
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let required = |name: &'static str| column(name).ok_or(CsvProblem::MissingColumn(name));
    let columns = (|| {
        Ok::<_, CsvProblem>(Columns {
            id: required("id")?,
            name: required("name")?,
            price: required("price")?,
            vat: required("vat")?,
            barcodes: column("barcodes").or_else(|| column("barcode")),
            category: column("category"),
            unit: column("unit"),
            group: column("group"),
        })
    })()
    .map_err(|p| vec![p])?;

    let mut items = Vec::new();
    for (line, fields) in rows {
        match row(&columns, &fields, line, country) {
            Ok(item) => items.push((line, item)),
            Err(problem) => problems.push(problem),
        }
    }
    problems.extend(duplicates(&items));
    if !problems.is_empty() {
        problems.sort_by_key(CsvProblem::line);
        return Err(problems);
    }
    let items: Vec<Item> = items.into_iter().map(|(_, item)| item).collect();
    // Every rule Catalog::new checks was checked above with line numbers;
    // anything left is reported against the file as a whole.
    Catalog::new(items).map_err(|source| vec![CsvProblem::Invalid { line: 0, source }])
}

/// Writes a catalogue in the format [`parse`] reads (`;`-separated, `,` decimals, fields quoted
/// when they hold a delimiter, a quote or a line break). Writing to memory does not fail in
/// practice; the error is the `csv` crate's.
pub fn write(catalog: &Catalog) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record([
        "id", "name", "price", "vat", "barcodes", "category", "unit", "group",
    ])?;
    for item in catalog.items() {
        writer.write_record([
            item.id.as_str(),
            item.name.as_str(),
            &decimal(item.unit_price),
            &percent(item.vat),
            &item.barcodes.join("|"),
            item.category.as_deref().unwrap_or_default(),
            match item.unit {
                Unit::Pcs => "pcs",
                Unit::Kg => "kg",
            },
            item.article_group.as_deref().unwrap_or_default(),
        ])?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    // Every field was a `&str`: the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The 1-based line of the record the reader says starts at `byte`. (The reader's own line
/// count skips blank lines and counts CRLF oddly; its byte offset may point at the line breaks
/// before the record.)
fn line_at(text: &str, byte: u64) -> usize {
    let start = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
    let rest = &text.as_bytes()[start..];
    let skipped = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    1 + text.as_bytes()[..start + skipped]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// The line of a quote that opens a field and is never closed, if any (the `csv` crate reads
/// such a field to the end of the file without complaint). A quote is special only at the
/// start of a field; inside a quoted field `""` is a quote.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<usize> {
    let delimiter = char::from(delimiter);
    let mut line = 1;
    let mut opened_at = None;
    let mut field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (opened_at, c) {
            (Some(_), '"') if chars.peek() == Some(&'"') => {
                chars.next();
            }
            (Some(_), '"') => {
                opened_at = None;
                field_start = false;
            }
            (None, '"') if field_start => opened_at = Some(line),
            (_, '\n') => {
                line += 1;
                field_start = opened_at.is_none();
            }
            (None, c) if c == delimiter => field_start = true,
            (None, _) => field_start = false,
            (Some(_), _) => {}
        }
    }
    opened_at
}

struct Columns {
    id: usize,
    name: usize,
    price: usize,
    vat: usize,
    barcodes: Option<usize>,
    category: Option<usize>,
    unit: Option<usize>,
    group: Option<usize>,
}

fn row(
    columns: &Columns,
    fields: &[String],
    line: usize,
    country: Option<Country>,
) -> Result<Item, CsvProblem> {
    let get = |index: usize| fields.get(index).map(|s| s.trim()).unwrap_or("");
    let required = |index: usize, field: &'static str| {
        let value = get(index);
        if value.is_empty() {
            Err(CsvProblem::EmptyField { line, field })
        } else {
            Ok(value)
        }
    };
    let id = required(columns.id, "id")?;
    let name = required(columns.name, "name")?;
    let price_text = required(columns.price, "price")?;
    let price = parse_minor(price_text)
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| CsvProblem::BadPrice {
            line,
            value: price_text.to_owned(),
        })?;
    let vat_text = required(columns.vat, "vat")?;
    let vat = parse_vat(vat_text, country).ok_or_else(|| CsvProblem::BadVat {
        line,
        value: vat_text.to_owned(),
    })?;
    let unit = match columns.unit.map(get).unwrap_or("") {
        "" => Unit::Pcs,
        other => other.parse().map_err(|_| CsvProblem::BadUnit {
            line,
            value: other.to_owned(),
        })?,
    };
    let mut item = Item::new(id, name, price, vat).with_unit(unit);
    if let Some(index) = columns.barcodes {
        item.barcodes = get(index)
            .split(['|', ' '])
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(index) = columns.category {
        let category = get(index);
        if !category.is_empty() {
            item.category = Some(category.to_owned());
        }
    }
    if let Some(index) = columns.group {
        let group = get(index);
        if !group.is_empty() {
            item.article_group = Some(group.to_owned());
        }
    }
    item.validate()
        .map_err(|source| CsvProblem::Invalid { line, source })?;
    Ok(item)
}

fn duplicates(items: &[(usize, Item)]) -> Vec<CsvProblem> {
    use std::collections::HashMap;
    let mut problems = Vec::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut barcodes: HashMap<&str, usize> = HashMap::new();
    for (line, item) in items {
        if let Some(first) = ids.insert(&item.id, *line) {
            problems.push(CsvProblem::DuplicateId {
                line: *line,
                id: item.id.clone(),
                first,
            });
        }
        for barcode in &item.barcodes {
            if let Some(first) = barcodes.insert(barcode, *line) {
                problems.push(CsvProblem::DuplicateBarcode {
                    line: *line,
                    barcode: barcode.clone(),
                    first,
                });
            }
        }
    }
    problems
}

/// `25` / `25 %` / `25,5` / `25.5%` → basis points, checked against the country.
pub fn parse_vat(text: &str, country: Option<Country>) -> Option<VatRate> {
    let cleaned = text.trim().trim_end_matches('%').trim();
    // A VAT percent has at most two decimals, the same shape as money.
    let basis_points = u32::try_from(parse_minor(cleaned).ok()?).ok()?;
    match country {
        Some(country) => VatRate::for_country(country, basis_points).ok(),
        None => VatRate::new(basis_points).ok(),
    }
}

fn percent(rate: VatRate) -> String {
    let bp = rate.basis_points();
    if bp.is_multiple_of(100) {
        (bp / 100).to_string()
    } else {
        decimal(i64::from(bp)).trim_end_matches('0').to_owned()
    }
}

/// Minor units as `12,50` (no grouping, comma decimal mark).
fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_semicolon_file_with_quotes_and_optional_columns() {
        let csv = "id;name;price;vat;barcodes;category\n\
                   kaffe;\"Kaffe; stor\";35,00;15;7040000000011|7040000000012;Drikke\n\
                   bolle;Bolle;25;15;;\n";
        let catalog = parse(csv, Some(Country::No)).unwrap();
        let kaffe = catalog.by_barcode("7040000000012").unwrap();
        assert_eq!(kaffe.name, "Kaffe; stor");
        assert_eq!(kaffe.unit_price, 3500);
        assert_eq!(kaffe.vat.basis_points(), 1500);
        assert_eq!(catalog.by_id("bolle").unwrap().unit_price, 2500);
        assert_eq!(catalog.by_id("bolle").unwrap().category, None);
    }

    #[test]
    fn reads_comma_file_with_decimal_points() {
        let csv = "name,id,vat,price,unit\nEpler,epler,15,39.90,kg\n";
        let catalog = parse(csv, None).unwrap();
        let item = catalog.by_id("epler").unwrap();
        assert_eq!(item.unit_price, 3990);
        assert_eq!(item.unit, Unit::Kg);
    }

    #[test]
    fn reports_every_bad_row_and_imports_nothing() {
        let csv = "id;name;price;vat;barcodes\n\
                   a;A;10;25;111\n\
                   b;B;ti kroner;25;\n\
                   c;C;10;17;\n\
                   a;A again;10;25;\n\
                   d;;10;25;111\n\
                   e;E;10;25;\"222\n";
        let problems = parse(csv, Some(Country::No)).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(CsvProblem::line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{problems:#?}");
        assert!(matches!(problems[0], CsvProblem::BadPrice { .. }));
        assert!(matches!(problems[1], CsvProblem::BadVat { .. }));
        assert!(matches!(
            problems[2],
            CsvProblem::DuplicateId { first: 2, .. }
        ));
        assert!(matches!(
            problems[3],
            CsvProblem::EmptyField { field: "name", .. }
        ));
        assert!(matches!(problems[4], CsvProblem::UnclosedQuote { .. }));
    }

    #[test]
    fn duplicate_barcode_names_both_lines() {
        let csv = "id;name;price;vat;barcodes\na;A;10;25;111\nb;B;10;25;111\n";
        let problems = parse(csv, None).unwrap_err();
        assert_eq!(
            problems,
            vec![CsvProblem::DuplicateBarcode {
                line: 3,
                barcode: "111".into(),
                first: 2
            }]
        );
    }

    #[test]
    fn missing_required_column_is_reported() {
        let problems = parse("id;name;vat\na;A;25\n", None).unwrap_err();
        assert_eq!(problems, vec![CsvProblem::MissingColumn("price")]);
        assert_eq!(parse("\n\n", None).unwrap_err(), vec![CsvProblem::Empty]);
    }

    #[test]
    fn vat_rate_must_exist_in_the_country() {
        assert_eq!(
            parse_vat("25,5 %", Some(Country::Fi)).map(|r| r.basis_points()),
            Some(2550)
        );
        assert_eq!(parse_vat("25,5", Some(Country::No)), None);
        assert_eq!(
            parse_vat("12", Some(Country::No)).map(|r| r.basis_points()),
            Some(1200)
        );
    }

    #[test]
    fn demo_catalogue_parses_with_several_categories_and_rates() {
        let csv = include_str!("../../assets/demo-catalog.csv");
        let catalog = parse(csv, Some(Country::No)).unwrap();
        assert!(catalog.len() >= 12);
        assert!(catalog.categories().len() >= 3);
        let rates: std::collections::BTreeSet<u32> = catalog
            .items()
            .iter()
            .map(|i| i.vat.basis_points())
            .collect();
        assert_eq!(rates.len(), 3, "{rates:?}");
        let groups: std::collections::BTreeSet<&str> =
            catalog.items().iter().map(|i| i.group()).collect();
        assert!(groups.len() >= 4, "{groups:?}");
        assert_eq!(catalog.by_id("kaffe").unwrap().group(), "04012");
    }

    #[test]
    fn article_groups_are_read_checked_and_written() {
        let csv = "id;name;price;vat;group\nbolle;Bolle;20;15;04006\nkopp;Kopp;99;25;\n";
        let catalog = parse(csv, Some(Country::No)).unwrap();
        assert_eq!(catalog.by_id("bolle").unwrap().group(), "04006");
        assert_eq!(catalog.by_id("kopp").unwrap().group(), "04003");
        let again = parse(&write(&catalog).unwrap(), Some(Country::No)).unwrap();
        assert_eq!(again, catalog);
        let bad = parse(
            "id;name;price;vat;group\nx;X;1;25;4006\n",
            Some(Country::No),
        );
        let problems = bad.unwrap_err();
        assert!(
            problems[0].to_string().contains("article group"),
            "{problems:?}"
        );
    }

    #[test]
    fn names_with_line_breaks_quotes_and_delimiters_round_trip() {
        let mut lines = Item::new("a", "Brød \"grovt\"\nskivet; 750 g", 4250, VatRate::NO_FOOD);
        lines.category = Some("Bakeri, fersk".into());
        let plain = Item::new("b", "Reker", 19900, VatRate::NO_FOOD).with_unit(Unit::Kg);
        let catalog = Catalog::new(vec![lines, plain]).unwrap();
        let text = write(&catalog).unwrap();
        let again = parse(&text, Some(Country::No)).unwrap();
        assert_eq!(again, catalog, "{text}");
        assert_eq!(
            again.by_id("a").unwrap().name,
            "Brød \"grovt\"\nskivet; 750 g"
        );
    }

    #[test]
    fn a_quoted_field_may_span_lines_and_line_numbers_follow_the_file() {
        let csv = "id;name;price;vat\na;\"Two\nlines\";10;25\n\nb;B;ti;25\n";
        let problems = parse(csv, None).unwrap_err();
        assert_eq!(
            problems,
            vec![CsvProblem::BadPrice {
                line: 5,
                value: "ti".into()
            }]
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        let csv = "id;name;price;vat\r\n\r\na;A;10;25\r\nb;B;ti;25\r\n";
        let problems = parse(csv, None).unwrap_err();
        assert_eq!(
            problems.iter().map(CsvProblem::line).collect::<Vec<_>>(),
            vec![4]
        );
    }

    #[test]
    fn write_then_parse_round_trips() {
        let csv = "id;name;price;vat;barcodes;category;unit\n\
                   a;\"Brød \"\"grovt\"\"\";42,50;15;1|2;Bakeri;pcs\n\
                   b;Reker;199,00;15;;Fisk;kg\n";
        let catalog = parse(csv, Some(Country::No)).unwrap();
        let again = parse(&write(&catalog).unwrap(), Some(Country::No)).unwrap();
        assert_eq!(catalog, again);
    }
}
