//! Catalogue repository: items with their barcodes, in a stable order; CSV import from a
//! file.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::journal::kind;
use super::{Store, StoreError};
use crate::core::catalog::{Catalog, Item, Unit};
use crate::core::catalog_csv::{self, CsvProblem};
use crate::core::vat::{Country, VatRate};

fn unit_text(unit: Unit) -> &'static str {
    unit.code()
}

impl<C: Borrow<Connection>> Store<C> {
    /// Every item, in catalogue order.
    pub fn list_items(&self) -> Result<Vec<Item>, StoreError> {
        let mut barcodes: HashMap<String, Vec<String>> = HashMap::new();
        {
            let mut stmt = self.conn().prepare_cached(
                "SELECT item_id, barcode FROM catalog_barcode ORDER BY item_id, position",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            for row in rows {
                let (item, barcode) = row?;
                barcodes.entry(item).or_default().push(barcode);
            }
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, name, unit_price, vat_bp, category, unit, article_group
             FROM catalog_item ORDER BY position, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, name, unit_price, vat_bp, category, unit, group) = row?;
            let vat = u32::try_from(vat_bp)
                .ok()
                .and_then(|bp| VatRate::new(bp).ok())
                .ok_or_else(|| {
                    StoreError::Invalid(format!("item {id:?} has unknown VAT rate {vat_bp}"))
                })?;
            let unit = unit.parse::<Unit>()?;
            items.push(Item {
                barcodes: barcodes.remove(&id).unwrap_or_default(),
                id,
                name,
                unit_price,
                vat,
                category,
                unit,
                article_group: (group != crate::core::article_group::DEFAULT).then_some(group),
            });
        }
        Ok(items)
    }

    /// The catalogue, validated.
    pub fn load_catalog(&self) -> Result<Catalog, StoreError> {
        Ok(Catalog::new(self.list_items()?)?)
    }

    pub fn get_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        // Small catalogues: reuse the full read to keep one mapping.
        let exists: Option<i64> = self
            .conn()
            .query_row("SELECT 1 FROM catalog_item WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        Ok(self.list_items()?.into_iter().find(|item| item.id == id))
    }

    /// Create or update one item (matched by id). A barcode already used by
    /// another item is a `Conflict`.
    pub fn save_item(&self, item: &Item) -> Result<(), StoreError> {
        item.validate()?;
        self.atomic(|| {
            let now = self.now_ms();
            let position: i64 = self.conn().query_row(
                "SELECT coalesce(
                    (SELECT position FROM catalog_item WHERE id = ?1),
                    (SELECT coalesce(max(position), 0) + 1 FROM catalog_item))",
                [&item.id],
                |r| r.get(0),
            )?;
            self.insert_item(item, position, now)?;
            self.append_journal(kind::CATALOG_ITEM_SAVED, &json!({ "item": item }))?;
            Ok(())
        })
    }

    pub fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        self.atomic(|| {
            let n = self
                .conn()
                .execute("DELETE FROM catalog_item WHERE id = ?1", [id])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("item {id:?}")));
            }
            self.append_journal(kind::CATALOG_ITEM_DELETED, &json!({ "id": id }))?;
            Ok(())
        })
    }

    /// Replace the whole catalogue in one transaction: after an error
    /// (invalid item, duplicate id or barcode) the old catalogue is intact.
    /// Items that stay are updated in place, so what hangs on them (member prices) stays too;
    /// only items left out are deleted.
    pub fn replace_catalog(&self, items: &[Item]) -> Result<(), StoreError> {
        let catalog = Catalog::new(items.to_vec())?;
        self.atomic(|| {
            let now = self.now_ms();
            self.conn().execute("DELETE FROM catalog_barcode", [])?;
            let kept: Vec<&str> = catalog.items().iter().map(|i| i.id.as_str()).collect();
            let mut ids = self.conn().prepare("SELECT id FROM catalog_item")?;
            let stored: Vec<String> = ids.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            drop(ids);
            for id in stored.iter().filter(|id| !kept.contains(&id.as_str())) {
                self.conn()
                    .execute("DELETE FROM catalog_item WHERE id = ?1", [id])?;
            }
            for (position, item) in catalog.items().iter().enumerate() {
                let position = i64::try_from(position + 1).unwrap_or(i64::MAX);
                self.insert_item(item, position, now)?;
            }
            self.append_journal(kind::CATALOG_REPLACED, &json!({ "items": catalog.len() }))?;
            Ok(())
        })
    }

    fn insert_item(&self, item: &Item, position: i64, now: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO catalog_item (id, name, unit_price, vat_bp, category, unit, position,
                                           updated_ms, article_group)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                    unit_price = excluded.unit_price, vat_bp = excluded.vat_bp,
                    category = excluded.category, unit = excluded.unit,
                    position = excluded.position,
                    updated_ms = excluded.updated_ms, article_group = excluded.article_group",
                params![
                    item.id,
                    item.name,
                    item.unit_price,
                    item.vat.basis_points(),
                    item.category,
                    unit_text(item.unit),
                    position,
                    now,
                    item.group()
                ],
            )
            .map_err(|e| StoreError::from_constraint(e, || format!("item {:?}", item.id)))?;
        self.conn()
            .execute("DELETE FROM catalog_barcode WHERE item_id = ?1", [&item.id])?;
        for (index, barcode) in item.barcodes.iter().enumerate() {
            let index = i64::try_from(index).unwrap_or(i64::MAX);
            self.conn()
                .execute(
                    "INSERT INTO catalog_barcode (barcode, item_id, position) VALUES (?1, ?2, ?3)",
                    params![barcode, item.id, index],
                )
                .map_err(|e| {
                    StoreError::from_constraint(e, || {
                        format!(
                            "barcode {barcode:?} of item {:?} is already in use",
                            item.id
                        )
                    })
                })?;
        }
        Ok(())
    }
}

/// Why a CSV catalogue was not imported. `Clone` (sources shared) so a result can travel in a
/// UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CsvImportError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    /// The file's problems, in line order: nothing was imported.
    #[error("{} problem(s) in the file, nothing imported: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Problems(Vec<CsvProblem>),
    #[error("the catalogue could not be stored: {0}")]
    Stored(Arc<StoreError>),
    #[error("the catalogue task stopped before it finished")]
    Task,
}

/// Reads a CSV catalogue file (see [`crate::core::catalog_csv`]); VAT rates are checked against
/// `country`.
pub fn read_csv_file(path: &Path, country: Option<Country>) -> Result<Catalog, CsvImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| CsvImportError::Unreadable {
        path: path.to_path_buf(),
        source: Arc::new(source),
    })?;
    catalog_csv::parse(&text, country).map_err(CsvImportError::Problems)
}

impl Store {
    /// Imports a CSV catalogue file: every row or none (the old catalogue stays on any problem).
    pub fn import_csv_file(
        &self,
        path: &Path,
        country: Option<Country>,
    ) -> Result<Catalog, CsvImportError> {
        let catalog = read_csv_file(path, country)?;
        self.replace_catalog(catalog.items())
            .map_err(|e| CsvImportError::Stored(Arc::new(e)))?;
        Ok(catalog)
    }
}
