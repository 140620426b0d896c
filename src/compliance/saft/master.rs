//! The master data an export lists before the registers: employees, articles with their
//! groups, the VAT rates used and the registers. Read in one pass over the period's lines
//! (their number of distinct values is the catalogue's size, not the number of sales).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, params};

use super::basics;
use crate::compliance::NO_CASHIER;
use crate::store::StoreError;

/// One `employee`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub id: String,
    pub first_name: String,
    pub surname: String,
    /// When the employee was first known (Unix ms).
    pub since_ms: i64,
}

/// Everyone an export's events and transactions name (`empID` must refer to one of them):
/// Kasse's one till user `"0"` until cashiers exist, and any other `emp_id` the signed
/// transactions carry. `first_ms` dates the till user.
pub fn employees(c: &Connection, first_ms: i64) -> Result<Vec<Employee>, StoreError> {
    let mut ids = BTreeMap::new();
    ids.insert(NO_CASHIER.to_string(), first_ms);
    let mut stmt = c.prepare(
        "SELECT emp_id, MIN(signed_ms) FROM signed_transaction GROUP BY emp_id ORDER BY emp_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let since: i64 = r.get(1)?;
        ids.entry(id).or_insert(since);
    }
    Ok(ids
        .into_iter()
        .map(|(id, since_ms)| {
            // A cashier's name as entered: its first word, and the rest (or the id).
            let name: Option<String> = id.parse::<i64>().ok().and_then(|n| {
                c.query_row("SELECT name FROM cashier WHERE id = ?1", [n], |r| r.get(0))
                    .ok()
            });
            let (first_name, surname) = match (id == NO_CASHIER, name) {
                (true, _) => ("Kasse".to_string(), "Till user".to_string()),
                (false, Some(name)) => match name.split_once(' ') {
                    Some((first, rest)) => (first.to_string(), rest.to_string()),
                    None => (name, format!("cashier {id}")),
                },
                (false, None) => ("Employee".to_string(), id.clone()),
            };
            Employee {
                id,
                first_name,
                surname,
                since_ms,
            }
        })
        .collect())
}

/// One `article`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// `artID` (the SKU, shortened when longer than 35 characters).
    pub id: String,
    /// `artGroupID`.
    pub group: String,
    pub desc: String,
    pub since_ms: i64,
}

/// What the period uses, for the master files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterData {
    /// By `artID`.
    pub articles: BTreeMap<String, Article>,
    /// Categories (`None`: no category) of the articles and of the sold lines.
    pub categories: BTreeSet<Option<String>>,
    /// VAT rates (basis points) of the catalogue and of the sold lines.
    pub vat_rates: BTreeSet<u32>,
    /// Registers with signed transactions in the period.
    pub registers: BTreeSet<String>,
    /// Whether a return is in the period (its transaction code is then listed).
    pub has_returns: bool,
    pub has_sales: bool,
}

/// The article group a sold line had when it was sold.
pub const LINE_CATEGORY: &str = "l.article_group";

/// Reads the catalogue and the period `[from_ms, to_ms)`'s signed transactions.
pub fn read(c: &Connection, from_ms: i64, to_ms: i64) -> Result<MasterData, StoreError> {
    let mut m = MasterData::default();
    let mut stmt =
        c.prepare("SELECT id, name, article_group, vat_bp, updated_ms FROM catalog_item")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let sku: String = r.get(0)?;
        let category: Option<String> = r.get(2)?;
        m.vat_rates.insert(r.get(3)?);
        m.articles.insert(
            basics::id(&sku),
            Article {
                id: basics::id(&sku),
                group: basics::group_id(category.as_deref()),
                desc: r.get(1)?,
                since_ms: r.get(4)?,
            },
        );
        m.categories.insert(category);
    }
    let mut stmt = c.prepare(&format!(
        "SELECT l.item_id, l.name, {LINE_CATEGORY}, l.vat_bp, MIN(t.signed_ms)
         FROM signed_transaction t
         JOIN sale_line l ON l.sale_id = t.sale_id
         JOIN sale s ON s.id = t.sale_id
         WHERE t.signed_ms >= ?1 AND t.signed_ms < ?2
         GROUP BY l.item_id, 3, l.vat_bp"
    ))?;
    let mut rows = stmt.query(params![from_ms, to_ms])?;
    while let Some(r) = rows.next()? {
        let sku: String = r.get(0)?;
        let category: Option<String> = r.get(2)?;
        m.vat_rates.insert(r.get(3)?);
        let since: i64 = r.get(4)?;
        m.articles
            .entry(basics::id(&sku))
            .or_insert_with(|| Article {
                id: basics::id(&sku),
                group: basics::group_id(category.as_deref()),
                desc: r.get(1).unwrap_or_default(),
                since_ms: since,
            });
        m.categories.insert(category);
    }
    let mut stmt = c.prepare(
        "SELECT register_id, MAX(trans_type = 11001), MAX(trans_type = 11006)
         FROM signed_transaction WHERE signed_ms >= ?1 AND signed_ms < ?2
         GROUP BY register_id",
    )?;
    let mut rows = stmt.query(params![from_ms, to_ms])?;
    while let Some(r) = rows.next()? {
        m.registers.insert(r.get(0)?);
        m.has_sales |= r.get::<_, bool>(1)?;
        m.has_returns |= r.get::<_, bool>(2)?;
    }
    Ok(m)
}

/// The time of the first journal row (`None`: an empty journal).
pub fn first_journal_ms(c: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT MIN(at_ms) FROM journal", [], |r| r.get(0))?)
}

/// The distinct journal kinds with an event code in `[from_ms, to_ms)`.
pub fn event_kinds(c: &Connection, from_ms: i64, to_ms: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT DISTINCT kind FROM journal
         WHERE at_ms >= ?1 AND at_ms < ?2 AND event_code IS NOT NULL ORDER BY kind",
    )?;
    let kinds = stmt.query_map(params![from_ms, to_ms], |r| r.get(0))?;
    Ok(kinds.collect::<Result<_, _>>()?)
}
