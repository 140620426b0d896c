//! The SAF-T Cash Register export (Norway: `urn:StandardAuditFile-Taxation-CashRegister:NO`;
//! Denmark: the same tree tightened, `...:DK`), written as it is read: constant memory whatever
//! the period.
//!
//! The file holds the header (period, currency, software), the company with its VAT codes,
//! period, employees, articles and `basics` (every code used, with its predefined code), and
//! one location with a `cashregister` per register: every journal row with an event code as an
//! `event`, then every signed sale and return as a `cashtransaction` in chain order (lines,
//! VAT, payments, signature, key version). Taking an export is journalled afterwards
//! (`journal_exported`, event 13020, with `"format": "saft"`).
//!
//! Reading runs in one read transaction, so the file is a consistent snapshot while the till
//! keeps selling.

mod basics;
pub mod generate;
mod master;
mod report;
mod transactions;
mod xml;

use std::collections::BTreeMap;
use std::io::{self, Write};

use rusqlite::Connection;
use serde_json::json;
use time::Date;

use self::basics::Basic;
use self::xml::Xml;
use super::ComplianceError;
use super::export::{Bound, range_ms};
use crate::core::journal_code::TransactionCode;
use crate::core::money::Currency;
use crate::core::signature_text::{Scheme, local_stamp};
use crate::core::tender::TenderKind;
use crate::store::{Store, StoreError, kind};

pub use self::basics::vat_code;
pub use self::master::employees;
pub use self::xml::amount;

/// Software named in the header.
pub const SOFTWARE: &str = "Kasse";
/// Who makes the software (the supplier who declares a build names itself in its build).
pub const SOFTWARE_COMPANY: &str = "Kasse developers";
/// `auditfileVersion`.
pub const AUDITFILE_VERSION: &str = "1.0";

/// Whose schema the file follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Skatteetaten's Norwegian SAF-T Cash Register 1.00.
    #[value(name = "no")]
    Norway,
    /// UFST's Danish SAF-T Cash Register 1.0.3.
    #[value(name = "dk")]
    Denmark,
}

impl Dialect {
    /// The dialect of a signing scheme.
    pub fn of_scheme(scheme: Scheme) -> Dialect {
        match scheme {
            Scheme::NoRsaSha1 => Dialect::Norway,
            Scheme::DkRsaSha512 => Dialect::Denmark,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Dialect::Norway => "urn:StandardAuditFile-Taxation-CashRegister:NO",
            Dialect::Denmark => "urn:StandardAuditFile-Taxation-CashRegister:DK",
        }
    }

    /// ISO country code.
    pub fn country(self) -> &'static str {
        match self {
            Dialect::Norway => "NO",
            Dialect::Denmark => "DK",
        }
    }
}

/// Why an export cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SaftError {
    #[error(
        "the export names the business by its organisation (CVR) number: set signing.company_ident"
    )]
    CompanyIdentMissing,
    #[error("the export needs the business's name")]
    CompanyNameMissing,
    #[error(
        "the Danish export requires the business's street address (street, number, postal code, city)"
    )]
    AddressMissing,
    #[error("the Danish schema takes amounts in DKK or EUR, not {0}")]
    Currency(&'static str),
    #[error("the period ends ({to}) before it starts ({from})")]
    Period { from: Date, to: Date },
    #[error("writing the file failed: {0}")]
    Write(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SaftError {
    fn from(e: rusqlite::Error) -> Self {
        SaftError::Store(StoreError::Sqlite(e))
    }
}

/// A street address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    pub number: String,
    pub postal_code: String,
    pub city: String,
}

impl Address {
    /// The address as the shop typed it in Admin (one line per line): the street line with
    /// its house number last ("Storgata 1B"), and a line of postal code and city ("0155 Oslo",
    /// "DK-2100 København Ø"). `None` when it does not have that shape.
    pub fn from_lines(text: &str) -> Option<Address> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let (postal_code, city) = lines.iter().rev().find_map(|line| {
            let (code, city) = line.split_once(char::is_whitespace)?;
            let digits = code.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-');
            (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
                .then(|| (digits.to_string(), city.trim().to_string()))
                .filter(|(_, city)| !city.is_empty())
        })?;
        let (street, number) = lines.iter().find_map(|line| {
            let (street, number) = line.rsplit_once(char::is_whitespace)?;
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| (street.trim().to_string(), number.to_string()))
        })?;
        Some(Address {
            street,
            number,
            postal_code,
            city,
        })
    }
}

/// The business the file is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Company {
    /// Organisation number (Norway) or CVR number (Denmark).
    pub ident: String,
    pub name: String,
    /// Required in Denmark.
    pub address: Option<Address>,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaftOptions {
    pub dialect: Dialect,
    /// First day (local time), included.
    pub from: Date,
    /// Last day, included whole.
    pub to: Date,
    pub company: Company,
    pub currency: Currency,
    /// This till's register id: its journal's events are listed under it.
    pub register_id: String,
    /// Shown as the register's description.
    pub register_desc: String,
    /// When the file is made (Unix ms).
    pub now_ms: i64,
    /// Where the file goes, for the journal row.
    pub destination: String,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaftSummary {
    pub transactions: u64,
    pub events: u64,
    pub registers: usize,
    /// Sum of `transAmntIn` (minor units).
    pub amount_in: i64,
    /// Sum of `transAmntEx`.
    pub amount_ex: i64,
    pub bytes: u64,
}

/// The file name Skatteetaten's example uses: `SAF-T Cash Register_<org nr>_<YYYYMMDDhhmmss>_1_1.xml`
/// (file 1 of 1), local time.
pub fn file_name(company_ident: &str, now_ms: i64) -> String {
    let stamp = local_stamp(now_ms).unwrap_or_else(|_| crate::core::signature_text::LocalStamp {
        date: "1970-01-01".into(),
        time: "00:00:00".into(),
    });
    let digits: String = format!("{}{}", stamp.date, stamp.time)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let ident: String = company_ident
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("SAF-T Cash Register_{ident}_{digits}_1_1.xml")
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the export of `options` to `out`, then journals it. Returns what was written and
/// the output.
pub fn export<W: Write>(
    store: &Store,
    options: &SaftOptions,
    out: W,
) -> Result<(SaftSummary, W), ComplianceError> {
    let company = &options.company;
    if company.ident.trim().is_empty() {
        return Err(SaftError::CompanyIdentMissing.into());
    }
    if company.name.trim().is_empty() {
        return Err(SaftError::CompanyNameMissing.into());
    }
    if options.dialect == Dialect::Denmark && company.address.is_none() {
        return Err(SaftError::AddressMissing.into());
    }
    if options.dialect == Dialect::Denmark && options.currency == Currency::Nok {
        return Err(SaftError::Currency(options.currency.code()).into());
    }
    if options.to < options.from {
        return Err(SaftError::Period {
            from: options.from,
            to: options.to,
        }
        .into());
    }
    let c = store.conn();
    // A read snapshot; dropped (rolled back, nothing was written) before journalling.
    let snapshot = if c.is_autocommit() {
        Some(c.unchecked_transaction().map_err(SaftError::from)?)
    } else {
        None
    };
    let (summary, out) = write_document(&Store::on(c, store.clock()), options, out)?;
    drop(snapshot);
    store.append_journal(
        kind::JOURNAL_EXPORTED,
        &json!({
            "format": "saft",
            "country": options.dialect.country(),
            "from": options.from.to_string(),
            "to": options.to.to_string(),
            "registers": summary.registers,
            "transactions": summary.transactions,
            "events": summary.events,
            "amount_in": summary.amount_in,
            "bytes": summary.bytes,
            "destination": options.destination,
        }),
    )?;
    Ok((summary, out))
}

fn write_document<W: Write>(
    c: &Store<&Connection>,
    o: &SaftOptions,
    out: W,
) -> Result<(SaftSummary, W), SaftError> {
    let (from_ms, to_ms) = range_ms(Some(Bound::Day(o.from)), Some(Bound::Day(o.to)));
    let mut m = master::read(c, from_ms, to_ms)?;
    // The journal's events belong to this till; a database read without its configuration
    // (no till id) gives them to its one register.
    let events_register = match o.register_id.as_str() {
        "" if m.registers.len() == 1 => m.registers.first().cloned(),
        "" => None,
        id => Some(id.to_string()),
    };
    if let Some(r) = &events_register {
        m.registers.insert(r.clone());
    }
    if m.has_returns {
        m.categories.insert(None);
    }
    let first_ms = master::first_journal_ms(c)?.unwrap_or(from_ms);
    let event_kinds = master::event_kinds(c, from_ms, to_ms)?;
    let test_key: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM signing_key WHERE test_key = 1)",
        [],
        |r| r.get(0),
    )?;

    let mut x = Xml::new(Counting {
        inner: out,
        bytes: 0,
    })?;
    x.open_with(
        "auditfile",
        &[
            ("xmlns", o.dialect.namespace()),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ],
    )?;
    write_header(&mut x, o, test_key)?;
    x.open("company")?;
    write_company(&mut x, o)?;
    write_vat_codes(&mut x, o, &m.vat_rates, first_ms)?;
    write_period(&mut x, o)?;
    x.open("employees")?;
    for e in master::employees(c, first_ms)? {
        x.open("employee")?;
        x.text("empID", &e.id)?;
        let stamp = stamp(e.since_ms);
        x.text("dateOfEntry", &stamp.date)?;
        x.text("timeOfEntry", &stamp.time)?;
        x.text("firstName", &e.first_name)?;
        x.text("surName", &e.surname)?;
        x.close("employee")?;
    }
    x.close("employees")?;
    x.open("articles")?;
    for a in m.articles.values() {
        x.open("article")?;
        x.text("artID", &a.id)?;
        x.text("dateOfEntry", &stamp(a.since_ms).date)?;
        x.text("artGroupID", &a.group)?;
        x.text("artDesc", nonempty(xml::clip(&a.desc, 999), &a.id))?;
        x.close("article")?;
    }
    x.close("articles")?;
    let mut all = basics::fixed();
    all.extend(
        m.categories
            .iter()
            .map(|c| basics::article_group(c.as_deref())),
    );
    if m.has_sales {
        all.push(basics::transaction(TransactionCode::CASH_SALE));
    }
    if m.has_returns {
        all.push(basics::transaction(TransactionCode::RETURN_PAYMENT));
    }
    if m.has_sales || m.has_returns {
        // Every means of payment the till has taken or paid back with (Vipps always).
        let mut stmt = c.prepare(
            "SELECT kind FROM sale_tender UNION SELECT tender FROM sale_return ORDER BY 1",
        )?;
        let mut kinds = vec![TenderKind::Vipps];
        for kind in stmt.query_map([], |r| r.get::<_, String>(0))? {
            if let Some(k) = TenderKind::parse(&kind?)
                && !kinds.contains(&k)
            {
                kinds.push(k);
            }
        }
        all.extend(kinds.into_iter().map(basics::payment));
    }
    all.extend(event_kinds.iter().filter_map(|k| basics::event(k)));
    write_basics(&mut x, all)?;

    x.open("location")?;
    x.text("name", xml::clip(&o.company.name, 100))?;
    write_address(&mut x, o, "streetAddress")?;
    let certificates = certificates(c, o.dialect)?;
    let cx = transactions::Context {
        dialect: o.dialect,
        currency: o.currency.code(),
        certificates: &certificates,
    };
    let mut summary = SaftSummary {
        registers: m.registers.len(),
        ..SaftSummary::default()
    };
    for register in &m.registers {
        x.open("cashregister")?;
        x.text("registerID", xml::clip(register, 100))?;
        let ours = events_register.as_ref() == Some(register);
        let desc = if ours && !o.register_desc.is_empty() {
            o.register_desc.clone()
        } else {
            format!("Register {register}")
        };
        x.text("regDesc", nonempty(xml::clip(&desc, 999), register))?;
        if ours {
            summary.events += write_events(&mut x, c, register, from_ms, to_ms, &o.company)?;
        }
        c.for_each_signed_transaction_between(register, from_ms, to_ms, |t| {
            let w = transactions::write(&mut x, c, &cx, &t)?;
            summary.transactions += 1;
            summary.amount_in += w.amount_in;
            summary.amount_ex += w.amount_ex;
            Ok::<(), SaftError>(())
        })?;
        x.close("cashregister")?;
    }
    x.close("location")?;
    x.close("company")?;
    x.close("auditfile")?;
    let counting = x.finish()?;
    summary.bytes = counting.bytes;
    Ok((summary, counting.inner))
}

fn nonempty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}

fn stamp(ms: i64) -> crate::core::signature_text::LocalStamp {
    local_stamp(ms).unwrap_or_else(|_| crate::core::signature_text::LocalStamp {
        date: "1970-01-01".into(),
        time: "00:00:00".into(),
    })
}

fn write_header<W: Write>(x: &mut Xml<W>, o: &SaftOptions, test_key: bool) -> io::Result<()> {
    let now = stamp(o.now_ms);
    x.open("header")?;
    x.text("fiscalYear", &o.from.year().to_string())?;
    x.text("startDate", &o.from.to_string())?;
    x.text("endDate", &o.to.to_string())?;
    x.text("curCode", o.currency.code())?;
    x.text("dateCreated", &now.date)?;
    x.text("timeCreated", &now.time)?;
    x.text("softwareDesc", SOFTWARE)?;
    x.text("softwareVersion", env!("CARGO_PKG_VERSION"))?;
    x.text("softwareCompanyName", SOFTWARE_COMPANY)?;
    x.text("auditfileVersion", AUDITFILE_VERSION)?;
    x.text(
        "headerComment",
        &format!(
            "SAF-T Cash Register export of register {} from {} to {}{}",
            o.register_id,
            o.from,
            o.to,
            if test_key {
                ". Signed with Kasse's TEST key: demo or training data, not a declared system"
            } else {
                ""
            }
        ),
    )?;
    x.close("header")
}

fn write_company<W: Write>(x: &mut Xml<W>, o: &SaftOptions) -> io::Result<()> {
    let ident = o.company.ident.trim();
    x.text("companyIdent", xml::clip(ident, 35))?;
    x.text("companyName", xml::clip(o.company.name.trim(), 100))?;
    x.text("taxRegistrationCountry", o.dialect.country())?;
    let tax_ident = match o.dialect {
        Dialect::Norway => format!("{ident}MVA"),
        Dialect::Denmark => format!("DK{ident}"),
    };
    x.text("taxRegIdent", xml::clip(&tax_ident, 50))?;
    write_address(x, o, "streetAddress")
}

fn write_address<W: Write>(x: &mut Xml<W>, o: &SaftOptions, element: &str) -> io::Result<()> {
    let Some(a) = &o.company.address else {
        return Ok(());
    };
    x.open(element)?;
    x.text_opt("streetname", Some(xml::clip(&a.street, 100)))?;
    x.text_opt("number", Some(xml::clip(&a.number, 20)))?;
    x.text_opt("city", Some(xml::clip(&a.city, 50)))?;
    x.text_opt("postalCode", Some(xml::clip(&a.postal_code, 20)))?;
    x.text("country", o.dialect.country())?;
    x.close(element)
}

fn write_vat_codes<W: Write>(
    x: &mut Xml<W>,
    o: &SaftOptions,
    rates: &std::collections::BTreeSet<u32>,
    first_ms: i64,
) -> io::Result<()> {
    x.open("vatCodeDetails")?;
    let since = stamp(first_ms).date;
    for &bp in rates.iter().rev() {
        let Some(code) = basics::vat_code(o.dialect, bp) else {
            continue;
        };
        x.open("vatCodeDetail")?;
        x.text("vatCode", &code.code)?;
        x.text("dateOfEntry", &since)?;
        x.text("vatDesc", &code.desc)?;
        x.text("standardVatCode", code.standard)?;
        x.close("vatCodeDetail")?;
    }
    x.close("vatCodeDetails")
}

fn write_period<W: Write>(x: &mut Xml<W>, o: &SaftOptions) -> io::Result<()> {
    x.open("periods")?;
    x.open("period")?;
    x.text("periodNumber", "1")?;
    x.text("periodDesc", "Exported period")?;
    x.text("startDatePeriod", &o.from.to_string())?;
    x.text("startTimePeriod", "00:00:00")?;
    x.text("endDatePeriod", &o.to.to_string())?;
    x.text("endTimePeriod", "23:59:59")?;
    x.close("period")?;
    x.close("periods")
}

fn write_basics<W: Write>(x: &mut Xml<W>, mut all: Vec<Basic>) -> io::Result<()> {
    all.sort_by(|a, b| (a.basic_type, &a.id).cmp(&(b.basic_type, &b.id)));
    all.dedup_by(|a, b| a.id == b.id);
    x.open("basics")?;
    for b in &all {
        x.open("basic")?;
        x.text("basicType", b.basic_type.code())?;
        x.text("basicID", &b.id)?;
        x.text_opt("predefinedBasicID", b.predefined.as_deref())?;
        x.text("basicDesc", nonempty(xml::clip(&b.desc, 999), &b.id))?;
        x.close("basic")?;
    }
    x.close("basics")
}

/// Denmark's `certificateData` per key version: the certificate given with the key, else its
/// public key (PEM).
fn certificates(c: &Connection, dialect: Dialect) -> Result<BTreeMap<String, String>, SaftError> {
    let mut out = BTreeMap::new();
    if dialect != Dialect::Denmark {
        return Ok(out);
    }
    let mut stmt =
        c.prepare("SELECT key_version, certificate_pem, public_key_pem FROM signing_key")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let version: String = r.get(0)?;
        let certificate: Option<String> = r.get(1)?;
        let public: String = r.get(2)?;
        out.insert(version, certificate.unwrap_or(public));
    }
    Ok(out)
}

/// Writes every journal row with an event code in the range as an `event`; returns how many.
/// One query gives each row with the `transID` of the signed sale its payload names.
fn write_events<W: Write>(
    x: &mut Xml<W>,
    c: &Connection,
    register: &str,
    from_ms: i64,
    to_ms: i64,
    company: &Company,
) -> Result<u64, SaftError> {
    let mut stmt = c.prepare(
        "SELECT j.seq, j.at_ms, j.kind, j.payload, t.trans_id
         FROM journal j
         LEFT JOIN signed_transaction t
           ON t.sale_id = json_extract(j.payload, '$.sale_id')
          AND t.refund_op_id IS NULL AND t.register_id = ?3
         WHERE j.at_ms >= ?1 AND j.at_ms < ?2 AND j.event_code IS NOT NULL
         ORDER BY j.seq",
    )?;
    let mut rows = stmt.query(rusqlite::params![from_ms, to_ms, register])?;
    let mut count = 0;
    let mut text = String::new();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let at = stamp(r.get(1)?);
        let kind: String = r.get(2)?;
        let payload: String = r.get(3)?;
        let trans_id: Option<String> = r.get(4)?;
        x.open("event")?;
        x.text("eventID", &seq.to_string())?;
        x.text("eventType", &basics::id(&kind))?;
        x.text_opt("transID", trans_id.as_deref())?;
        x.text("empID", super::NO_CASHIER)?;
        x.text("eventDate", &at.date)?;
        x.text("eventTime", &at.time)?;
        text.clear();
        text.push_str(&kind);
        text.push_str(": ");
        text.push_str(&payload);
        x.text("eventText", xml::clip(&text, 9999))?;
        // X and Z reports are journalled whole: exported as the report too.
        if kind == crate::store::kind::X_REPORT || kind == crate::store::kind::Z_REPORT {
            match serde_json::from_str::<crate::core::report::Report>(&payload) {
                Ok(report) => report::write(x, &report, seq, company)?,
                Err(e) => tracing::warn!(seq, error = %e, "a report row that does not read back"),
            }
        }
        x.close("event")?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests;
