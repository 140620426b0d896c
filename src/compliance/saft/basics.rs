//! The codes an export explains in `basics`, and the VAT codes in `vatCodeDetails`: each of
//! Kasse's own codes with the predefined code (Skatteetaten's code lists) it stands for.
//!
//! - Article groups (`04`): the predefined group each item carries (`04003` sale of goods,
//!   `04006` food, ...), its own code too. A text that is not a predefined group (from data
//!   written before items had groups) becomes a group of its own, standing for "04999 Other".
//! - Line types (`05`): `SAL` (sale line), `RET` (return line). Discounts (`08`): `DSC`.
//! - Transactions (`11`) and payments (`12`): the predefined code is Kasse's own code too
//!   (`11001`, `12011`), as the documentation recommends.
//! - Events (`13`): Kasse's journal kinds (`engine_started`, `sale_frozen`, ...), each mapped
//!   by `core::journal_code` to its event code.

use sha2::Digest as _;

use crate::core::article_group;
use crate::core::journal_code::{self, TransactionCode};
use crate::core::tender::TenderKind;

use super::Dialect;

/// Longest identifier (`IdentificationString35`; Denmark allows 36).
pub const MAX_ID: usize = 35;

/// `basicType` values used (code list BasicType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BasicType {
    ArticleGroup,
    LineType,
    Discount,
    Transaction,
    Payment,
    Event,
}

impl BasicType {
    pub fn code(self) -> &'static str {
        match self {
            Self::ArticleGroup => "04",
            Self::LineType => "05",
            Self::Discount => "08",
            Self::Transaction => "11",
            Self::Payment => "12",
            Self::Event => "13",
        }
    }
}

/// One `basic` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basic {
    pub basic_type: BasicType,
    pub id: String,
    pub predefined: Option<String>,
    pub desc: String,
}

/// A line that sells.
pub const LINE_SALE: &str = "SAL";
/// A line that takes back.
pub const LINE_RETURN: &str = "RET";
/// A discount on a line (basket discounts are spread over the lines).
pub const DISCOUNT: &str = "DSC";
/// Article group of items without a category.
pub const NO_CATEGORY: &str = "OTHER";
/// Predefined article group for every group (04999 "Other").
pub const PREDEFINED_GROUP: &str = "04999";

/// Line types and the discount code, listed in every export.
pub fn fixed() -> Vec<Basic> {
    let basic = |basic_type, id: &str, desc: &str| Basic {
        basic_type,
        id: id.into(),
        predefined: None,
        desc: desc.into(),
    };
    vec![
        basic(BasicType::LineType, LINE_SALE, "Sale line"),
        basic(BasicType::LineType, LINE_RETURN, "Return line"),
        basic(BasicType::Discount, DISCOUNT, "Discount on the line"),
    ]
}

/// A transaction code (`transType`).
pub fn transaction(code: TransactionCode) -> Basic {
    Basic {
        basic_type: BasicType::Transaction,
        id: code.to_string(),
        predefined: Some(code.to_string()),
        desc: journal_code::description(code.0)
            .unwrap_or("Transaction")
            .into(),
    }
}

/// The means of payment of a tender (`paymentType`): the one place a tender kind becomes a
/// payment code.
pub fn payment(kind: TenderKind) -> Basic {
    let desc = match kind {
        TenderKind::Vipps => "Vipps MobilePay (mobile phone app)",
        TenderKind::Cash => "Cash",
        TenderKind::Card => "Card (terminal not integrated)",
        TenderKind::GiftCard => "Gift card",
        TenderKind::CreditNote => "Credit note",
    };
    Basic {
        basic_type: BasicType::Payment,
        id: kind.saft_code().into(),
        predefined: Some(kind.saft_code().into()),
        desc: desc.into(),
    }
}

/// A journal kind as an event type, `None` for a kind without an event code (the rows that
/// conclude a transaction, exported as `cashtransaction`).
pub fn event(kind: &str) -> Option<Basic> {
    let code = journal_code::codes_of(kind)?.event?;
    let official = journal_code::description(code.0).unwrap_or("Other");
    let mut words = kind.replace('_', " ");
    if let Some(first) = words.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    Some(Basic {
        basic_type: BasicType::Event,
        id: id(kind),
        predefined: Some(code.to_string()),
        desc: format!("{words} ({official})"),
    })
}

/// The article group (`artGroupID`) of an item's group.
pub fn group_id(category: Option<&str>) -> String {
    match category.map(str::trim) {
        Some(c) if article_group::description(c).is_some() => c.into(),
        None | Some("") => NO_CATEGORY.into(),
        Some(c) if is_reserved(c) => id(&format!("G-{c}")),
        Some(c) => id(c),
    }
}

/// An article group's `basic`.
pub fn article_group(category: Option<&str>) -> Basic {
    let known = category
        .map(str::trim)
        .and_then(|c| article_group::description(c).map(|d| (c, d)));
    let desc = match (known, category.map(str::trim)) {
        (Some((_, d)), _) => d.trim().to_string(),
        (None, None | Some("")) => "Items without a category".to_string(),
        (None, Some(c)) => c.to_string(),
    };
    Basic {
        basic_type: BasicType::ArticleGroup,
        id: group_id(category),
        predefined: Some(known.map_or(PREDEFINED_GROUP, |(c, _)| c).into()),
        desc,
    }
}

/// Ids other basics use, which a category must not take.
fn is_reserved(text: &str) -> bool {
    [LINE_SALE, LINE_RETURN, DISCOUNT, NO_CATEGORY].contains(&text)
        || journal_code::codes_of(text).is_some()
        || (text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()))
}

/// `text` as an identifier of at most [`MAX_ID`] characters: itself when it fits, else its
/// first characters and a short hash (stable, distinct for distinct texts).
pub fn id(text: &str) -> String {
    if !text.is_empty() && text.chars().count() <= MAX_ID {
        return text.to_string();
    }
    let hash = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    let head: String = text.chars().take(MAX_ID - 9).collect();
    format!("{head}~{}", &hash[..8])
}

/// One `vatCodeDetail` and the `vatCode` lines refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatCode {
    /// Kasse's own code: the rate in percent (`25`, `15`, `12`, `0`).
    pub code: String,
    /// The standard tax code it maps to.
    pub standard: &'static str,
    pub desc: String,
}

/// The VAT code of a rate (basis points) of an output sale.
///
/// Norway (Standard_Tax_Codes): 25 % is 3, 15 % is 31, 12 % is 33, 0 % is 5 (zero rate). No
/// Danish code list is published with the schema; Denmark uses the same numbers (25 % = 3,
/// 0 % = 5) until one is. `None` for a rate the country does not have.
pub fn vat_code(dialect: Dialect, basis_points: u32) -> Option<VatCode> {
    let standard = match (dialect, basis_points) {
        (_, 2500) => "3",
        (Dialect::Norway, 1500) => "31",
        (Dialect::Norway, 1200) => "33",
        (_, 0) => "5",
        _ => return None,
    };
    let percent = if basis_points.is_multiple_of(100) {
        (basis_points / 100).to_string()
    } else {
        format!("{}.{:02}", basis_points / 100, basis_points % 100)
    };
    let desc = match standard {
        "5" => "Zero rate (exempt)".to_string(),
        _ => format!("Output VAT {percent} %"),
    };
    Some(VatCode {
        code: percent,
        standard,
        desc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vipps_pays_with_mobile_app_code() {
        let b = payment(TenderKind::Vipps);
        assert_eq!(
            (b.basic_type.code(), b.id.as_str(), b.predefined.as_deref()),
            ("12", "12011", Some("12011"))
        );
        for kind in TenderKind::ALL {
            assert_eq!(payment(kind).id, kind.saft_code());
        }
    }

    #[test]
    fn journal_kinds_are_event_types_with_their_codes() {
        let start = event("engine_started").unwrap();
        assert_eq!(start.id, "engine_started");
        assert_eq!(start.predefined.as_deref(), Some("13001"));
        assert_eq!(start.desc, "Engine started (POS application start)");
        assert_eq!(
            event("journal_exported").unwrap().predefined.as_deref(),
            Some("13020")
        );
        // Concluding rows are cash transactions, not events.
        assert_eq!(event("sale_signed"), None);
        assert_eq!(event("no such kind"), None);
        for (kind, _) in journal_code::TABLE {
            assert!(kind.len() <= MAX_ID, "{kind}");
        }
    }

    #[test]
    fn groups_and_ids_fit_and_never_collide_with_other_basics() {
        assert_eq!(group_id(None), "OTHER");
        assert_eq!(group_id(Some("  ")), "OTHER");
        assert_eq!(group_id(Some("Drinks")), "Drinks");
        assert_eq!(group_id(Some("SAL")), "G-SAL");
        assert_eq!(group_id(Some("item_added")), "G-item_added");
        assert_eq!(group_id(Some("11001")), "G-11001");
        let long = "x".repeat(80);
        let a = id(&long);
        let b = id(&format!("{long}y"));
        assert_eq!(a.chars().count(), MAX_ID);
        assert_ne!(a, b);
        assert_eq!(id("Blåbær"), "Blåbær");
    }

    #[test]
    fn vat_codes_map_to_standard_codes() {
        let code = |d, bp| vat_code(d, bp).map(|v| (v.code, v.standard));
        assert_eq!(code(Dialect::Norway, 2500), Some(("25".into(), "3")));
        assert_eq!(code(Dialect::Norway, 1500), Some(("15".into(), "31")));
        assert_eq!(code(Dialect::Norway, 1200), Some(("12".into(), "33")));
        assert_eq!(code(Dialect::Norway, 0), Some(("0".into(), "5")));
        assert_eq!(code(Dialect::Denmark, 2500), Some(("25".into(), "3")));
        assert_eq!(code(Dialect::Denmark, 1500), None);
        assert_eq!(code(Dialect::Norway, 2550), None);
    }
}
