//! `kasse journal export`: the journal as JSON lines, one row per line, oldest first, written
//! as it is read (constant memory whatever the period). Each line:
//!
//! ```json
//! {"seq":12,"at":"2026-03-01T10:15:02.117Z","kind":"payment_captured",
//!  "event_code":null,"transaction_code":11001,"payment_code":12011,
//!  "codes":"Cash sale / Mobile phone apps","payload":{...},"hash":"9f2c..."}
//! ```
//!
//! Taking the export is journalled afterwards (`journal_exported`, event 13020).

use std::io::Write;

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ComplianceError;
use crate::core::journal_code::description;
use crate::core::signature_text::local_midnight_ms;
use crate::store::{JournalEntry, Store, kind};

/// A bound of the exported period as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A local (Norwegian/Danish) calendar day, `YYYY-MM-DD`.
    Day(time::Date),
    /// An instant, RFC 3339.
    Instant(i64),
}

/// A `--from`/`--to` value that is neither a date nor an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-03-01T10:00:00+01:00)")]
pub struct BoundError(pub String);

impl std::str::FromStr for Bound {
    type Err = BoundError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let day = time::macros::format_description!("[year]-[month]-[day]");
        if let Ok(d) = time::Date::parse(s, &day) {
            return Ok(Bound::Day(d));
        }
        OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Bound::Instant((t.unix_timestamp_nanos() / 1_000_000) as i64))
            .map_err(|_| BoundError(s.to_string()))
    }
}

/// The half-open range `[from, to)` in Unix ms: a `--from` day starts at its local midnight, a
/// `--to` day is included whole (up to the next local midnight); instants are taken as given.
pub fn range_ms(from: Option<Bound>, to: Option<Bound>) -> (i64, i64) {
    let from = match from {
        None => i64::MIN,
        Some(Bound::Day(d)) => local_midnight_ms(d),
        Some(Bound::Instant(ms)) => ms,
    };
    let to = match to {
        None => i64::MAX,
        Some(Bound::Day(d)) => d.next_day().map(local_midnight_ms).unwrap_or(i64::MAX),
        Some(Bound::Instant(ms)) => ms,
    };
    (from, to)
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub rows: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
}

/// One journal row as its JSON line (without the newline).
pub fn line(entry: &JournalEntry) -> serde_json::Value {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(entry.at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok());
    let codes = entry.codes;
    let event = codes.and_then(|c| c.event).map(|c| c.0);
    let transaction = codes.and_then(|c| c.transaction).map(|c| c.0);
    let payment = codes.and_then(|c| c.payment).map(|c| c.0);
    let text: Vec<&str> = [event, transaction, payment]
        .into_iter()
        .flatten()
        .filter_map(description)
        .collect();
    json!({
        "seq": entry.seq,
        "at": at,
        "kind": entry.kind,
        "event_code": event,
        "transaction_code": transaction,
        "payment_code": payment,
        "codes": text.join(" / "),
        "payload": entry.payload,
        "hash": entry.hash,
    })
}

/// Writes the rows of `[from_ms, to_ms)` to `out` as JSON lines, then journals the export
/// (`journal_exported`, with the range and the rows written).
pub fn export(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
    destination: &str,
    out: &mut dyn Write,
) -> Result<ExportSummary, ComplianceError> {
    let mut summary = ExportSummary {
        rows: 0,
        first_seq: None,
        last_seq: None,
    };
    store.journal_between(from_ms, to_ms, |entry| -> Result<(), ComplianceError> {
        serde_json::to_writer(&mut *out, &line(&entry))?;
        out.write_all(b"\n")?;
        summary.rows += 1;
        summary.first_seq.get_or_insert(entry.seq);
        summary.last_seq = Some(entry.seq);
        Ok(())
    })?;
    out.flush()?;
    store.append_journal(
        kind::JOURNAL_EXPORTED,
        &json!({
            "from_ms": (from_ms != i64::MIN).then_some(from_ms),
            "to_ms": (to_ms != i64::MAX).then_some(to_ms),
            "rows": summary.rows,
            "first_seq": summary.first_seq,
            "last_seq": summary.last_seq,
            "destination": destination,
        }),
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn bounds_parse_dates_and_instants() {
        assert_eq!(
            "2026-03-01".parse::<Bound>().unwrap(),
            Bound::Day(time::macros::date!(2026 - 03 - 01))
        );
        let t = datetime!(2026-03-01 10:00 +01:00);
        assert_eq!(
            "2026-03-01T10:00:00+01:00".parse::<Bound>().unwrap(),
            Bound::Instant((t.unix_timestamp_nanos() / 1_000_000) as i64)
        );
        assert!("yesterday".parse::<Bound>().is_err());
        assert!("2026-13-01".parse::<Bound>().is_err());
    }

    #[test]
    fn a_to_day_is_included_whole() {
        let d = time::macros::date!(2026 - 01 - 15);
        let (from, to) = range_ms(Some(Bound::Day(d)), Some(Bound::Day(d)));
        let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
        assert_eq!(from, ms(datetime!(2026-01-14 23:00 UTC)));
        assert_eq!(to, ms(datetime!(2026-01-15 23:00 UTC)));
        assert_eq!(range_ms(None, None), (i64::MIN, i64::MAX));
    }

    #[test]
    fn export_streams_rows_in_range_and_journals_itself() {
        let clock = crate::clock::ManualClock::at_ms(1_000);
        let store = Store::open_in_memory().unwrap().with_clock(clock.clock());
        for at in [1_000, 2_000, 3_000] {
            clock.set_ms(at);
            store
                .append_journal(kind::ITEM_ADDED, &json!({ "at": at }))
                .unwrap();
        }
        let mut out = Vec::new();
        let summary = export(&store, 2_000, 3_000, "test", &mut out).unwrap();
        assert_eq!(summary.rows, 1);
        assert_eq!(summary.first_seq, Some(2));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["seq"], 2);
        assert_eq!(lines[0]["kind"], "item_added");
        assert_eq!(lines[0]["event_code"], 13999);
        assert_eq!(lines[0]["codes"], "Other");
        assert_eq!(lines[0]["at"], "1970-01-01T00:00:02Z");
        assert_eq!(lines[0]["payload"], json!({ "at": 2000 }));
        let last = store.journal_since(3, 10).unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].kind, kind::JOURNAL_EXPORTED);
        assert_eq!(last[0].codes.unwrap().event.unwrap().0, 13020);
        assert_eq!(last[0].payload["rows"], 1);
        store.verify_journal().unwrap();
    }
}
