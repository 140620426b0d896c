//! The catalogue: items the till sells, looked up by id (SKU) or barcode.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::vat::VatRate;

/// How an item is counted. `Kg` quantities are kept in thousandths (grams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Unit {
    /// Pieces (Vipps `PCS`).
    #[default]
    Pcs,
    /// Kilograms, sold by weight (Vipps `KG`).
    Kg,
}

impl Unit {
    /// Vipps `quantityUnit` value.
    pub fn code(self) -> &'static str {
        match self {
            Unit::Pcs => "PCS",
            Unit::Kg => "KG",
        }
    }
}

impl std::str::FromStr for Unit {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PCS" | "" => Ok(Unit::Pcs),
            "KG" => Ok(Unit::Kg),
            _ => Err(CatalogError::UnknownUnit(s.to_string())),
        }
    }
}

/// Longest id, name, barcode or category we accept (characters).
pub const MAX_TEXT_LEN: usize = 200;

/// One thing the shop sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The SKU; also the Vipps receipt line `id`.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// Price per unit (per piece, or per kg for `Unit::Kg`), VAT included, minor units.
    pub unit_price: i64,
    pub vat: VatRate,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub unit: Unit,
    /// SAF-T article group (`PredefinedBasicID-04`, e.g. `04006` food); none means
    /// [`article_group::DEFAULT`](super::article_group::DEFAULT), sale of goods.
    #[serde(default)]
    pub article_group: Option<String>,
}

impl Item {
    /// A piece item without barcodes or category.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        unit_price: i64,
        vat: VatRate,
    ) -> Item {
        Item {
            id: id.into(),
            name: name.into(),
            barcodes: Vec::new(),
            unit_price,
            vat,
            category: None,
            unit: Unit::Pcs,
            article_group: None,
        }
    }

    /// The item's article group code (the default when none was set).
    pub fn group(&self) -> &str {
        self.article_group
            .as_deref()
            .unwrap_or(super::article_group::DEFAULT)
    }

    pub fn with_barcode(mut self, barcode: impl Into<String>) -> Item {
        self.barcodes.push(barcode.into());
        self
    }

    pub fn with_category(mut self, category: impl Into<String>) -> Item {
        self.category = Some(category.into());
        self
    }

    pub fn with_unit(mut self, unit: Unit) -> Item {
        self.unit = unit;
        self
    }

    /// Check the fields a till relies on.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let text = |field: &'static str, value: &str| {
            if value.trim().is_empty() {
                Err(CatalogError::Empty {
                    id: self.id.clone(),
                    field,
                })
            } else if value.chars().count() > MAX_TEXT_LEN {
                Err(CatalogError::TooLong {
                    id: self.id.clone(),
                    field,
                })
            } else {
                Ok(())
            }
        };
        text("id", &self.id)?;
        text("name", &self.name)?;
        for barcode in &self.barcodes {
            text("barcode", barcode)?;
        }
        if let Some(category) = &self.category {
            text("category", category)?;
        }
        if let Some(group) = &self.article_group {
            super::article_group::check(group).map_err(|message| CatalogError::BadGroup {
                id: self.id.clone(),
                message,
            })?;
        }
        if self.unit_price < 0 {
            return Err(CatalogError::NegativePrice {
                id: self.id.clone(),
                price: self.unit_price,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("item {id:?}: {field} is empty")]
    Empty { id: String, field: &'static str },
    #[error("item {id:?}: {field} is longer than {MAX_TEXT_LEN} characters")]
    TooLong { id: String, field: &'static str },
    #[error("item {id:?}: {message}")]
    BadGroup { id: String, message: String },
    #[error("item {id:?}: negative price {price}")]
    NegativePrice { id: String, price: i64 },
    #[error("duplicate item id {0:?}")]
    DuplicateId(String),
    #[error("barcode {barcode:?} is on both {first:?} and {second:?}")]
    DuplicateBarcode {
        barcode: String,
        first: String,
        second: String,
    },
    #[error("unknown unit {0:?} (expected PCS or KG)")]
    UnknownUnit(String),
}

/// A validated set of items with unique ids and barcodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    items: Vec<Item>,
    by_id: HashMap<String, usize>,
    by_barcode: HashMap<String, usize>,
}

impl Catalog {
    /// Build a catalogue; every item is validated, ids and barcodes must be unique.
    pub fn new(items: Vec<Item>) -> Result<Catalog, CatalogError> {
        let mut by_id = HashMap::with_capacity(items.len());
        let mut by_barcode = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            item.validate()?;
            if by_id.insert(item.id.clone(), index).is_some() {
                return Err(CatalogError::DuplicateId(item.id.clone()));
            }
            for barcode in &item.barcodes {
                if let Some(first) = by_barcode.insert(barcode.clone(), index) {
                    return Err(CatalogError::DuplicateBarcode {
                        barcode: barcode.clone(),
                        first: items[first].id.clone(),
                        second: item.id.clone(),
                    });
                }
            }
        }
        Ok(Catalog {
            items,
            by_id,
            by_barcode,
        })
    }

    /// Items in the order given.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn by_id(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    /// Exact barcode match (surrounding whitespace from a scanner is ignored).
    pub fn by_barcode(&self, barcode: &str) -> Option<&Item> {
        self.by_barcode.get(barcode.trim()).map(|&i| &self.items[i])
    }

    /// Items whose name, id or a barcode contains `query` (case-insensitive),
    /// in catalogue order. An empty query matches everything.
    pub fn search(&self, query: &str) -> Vec<&Item> {
        let query = query.trim().to_lowercase();
        self.items
            .iter()
            .filter(|item| {
                query.is_empty()
                    || item.name.to_lowercase().contains(&query)
                    || item.id.to_lowercase().contains(&query)
                    || item.barcodes.iter().any(|b| b.contains(&query))
            })
            .collect()
    }

    /// Distinct categories, sorted.
    pub fn categories(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|item| item.category.as_deref())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Items in `category`, in catalogue order.
    pub fn in_category(&self, category: &str) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|item| item.category.as_deref() == Some(category))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Catalog {
        Catalog::new(vec![
            Item::new("kaffe", "Kaffe", 3500, VatRate::NO_FOOD)
                .with_barcode("7038010000737")
                .with_category("Drikke"),
            Item::new("bolle", "Skolebolle", 2900, VatRate::NO_FOOD).with_category("Bakst"),
            Item::new("pose", "Bærepose", 300, VatRate::NO_STANDARD)
                .with_barcode("2000000000015")
                .with_barcode("2000000000022"),
            Item::new("epler", "Epler", 3990, VatRate::NO_FOOD).with_unit(Unit::Kg),
        ])
        .unwrap()
    }

    #[test]
    fn looks_up_by_id_barcode_and_text() {
        let c = sample();
        assert_eq!(c.len(), 4);
        assert_eq!(c.by_id("bolle").unwrap().name, "Skolebolle");
        assert!(c.by_id("BOLLE").is_none());
        assert_eq!(c.by_barcode(" 2000000000022\n").unwrap().id, "pose");
        assert!(c.by_barcode("999").is_none());
        let names = |v: Vec<&Item>| v.into_iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(names(c.search("BOLLE")), ["bolle"]);
        assert_eq!(names(c.search("bær")), ["pose"]);
        assert_eq!(names(c.search("70380")), ["kaffe"]);
        assert_eq!(c.search("").len(), 4);
        assert_eq!(c.categories(), ["Bakst", "Drikke"]);
        assert_eq!(names(c.in_category("Drikke")), ["kaffe"]);
    }

    #[test]
    fn rejects_bad_items() {
        let ok = Item::new("a", "A", 100, VatRate::NO_STANDARD);
        assert_eq!(
            Catalog::new(vec![ok.clone(), ok.clone()]),
            Err(CatalogError::DuplicateId("a".into()))
        );
        let b1 = ok.clone().with_barcode("1");
        let b2 = Item::new("b", "B", 1, VatRate::ZERO).with_barcode("1");
        assert!(matches!(
            Catalog::new(vec![b1, b2]),
            Err(CatalogError::DuplicateBarcode { .. })
        ));
        let negative = Item::new("n", "N", -1, VatRate::ZERO);
        assert!(matches!(
            Catalog::new(vec![negative]),
            Err(CatalogError::NegativePrice { price: -1, .. })
        ));
        let unnamed = Item::new("x", " ", 1, VatRate::ZERO);
        assert!(matches!(
            unnamed.validate(),
            Err(CatalogError::Empty { field: "name", .. })
        ));
        let long = Item::new("x".repeat(MAX_TEXT_LEN + 1), "X", 1, VatRate::ZERO);
        assert!(matches!(
            long.validate(),
            Err(CatalogError::TooLong { field: "id", .. })
        ));
    }

    #[test]
    fn item_serde_defaults_and_rejects_unknown_rate() {
        let item: Item =
            serde_json::from_str(r#"{"id":"a","name":"A","unit_price":1000,"vat":2500}"#).unwrap();
        assert_eq!(item.unit, Unit::Pcs);
        assert!(item.barcodes.is_empty());
        assert!(
            serde_json::from_str::<Item>(r#"{"id":"a","name":"A","unit_price":1000,"vat":2400}"#)
                .is_err()
        );
        assert_eq!("kg".parse::<Unit>(), Ok(Unit::Kg));
        assert!("litre".parse::<Unit>().is_err());
    }
}
