//! Catalogue repository: items with their barcodes, in a stable order; CSV import from a
//! file; [`CatalogStore`] for async drivers (the window).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    pub fn replace_catalog(&self, items: &[Item]) -> Result<(), StoreError> {
        let catalog = Catalog::new(items.to_vec())?;
        self.atomic(|| {
            let now = self.now_ms();
            self.conn().execute("DELETE FROM catalog_barcode", [])?;
            self.conn().execute("DELETE FROM catalog_item", [])?;
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

/// Why the catalogue could not be read or stored. `Clone` (sources shared) so a result can
/// travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogStoreError {
    #[error(transparent)]
    Store(Arc<StoreError>),
    #[error("the catalogue task stopped before it finished")]
    Task,
}

impl From<StoreError> for CatalogStoreError {
    fn from(e: StoreError) -> Self {
        CatalogStoreError::Store(Arc::new(e))
    }
}

/// The catalogue in a till's database for a driver that keeps it beside the engine (the
/// window): its own connection (SQLite in WAL mode with a busy timeout, so the engine keeps
/// writing on its connection meanwhile), used on a blocking thread by async functions the
/// driver starts as tasks.
#[derive(Debug, Clone)]
pub struct CatalogStore(Arc<Mutex<Store>>);

impl CatalogStore {
    /// Opens (creating it and its folder if needed) the database at `path`.
    pub async fn open(path: PathBuf) -> Result<CatalogStore, CatalogStoreError> {
        let store = tokio::task::spawn_blocking(move || Store::open_creating(&path))
            .await
            .map_err(|_| CatalogStoreError::Task)??;
        Ok(CatalogStore(Arc::new(Mutex::new(store))))
    }

    async fn with<T: Send + 'static, E: From<CatalogStoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let store = store.lock().map_err(|_| CatalogStoreError::Task)?;
            f(&store)
        })
        .await
        .map_err(|_| E::from(CatalogStoreError::Task))?
    }

    /// Runs `f` on the store on a blocking thread (the window's other reads and writes: the
    /// cashiers, the day's reports, the drawer).
    pub async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, CatalogStoreError> {
        self.with(move |store| Ok(f(store)?)).await
    }

    /// The store itself, for work that holds it only between awaits (printing).
    pub fn shared(&self) -> Arc<Mutex<Store>> {
        self.0.clone()
    }

    /// The stored catalogue.
    pub async fn load(self) -> Result<Catalog, CatalogStoreError> {
        self.with(|store| Ok(store.load_catalog()?)).await
    }

    /// Replaces the whole catalogue (one transaction: all of it or none) and returns it.
    pub async fn replace(self, catalog: Catalog) -> Result<Catalog, CatalogStoreError> {
        self.with(move |store| {
            store.replace_catalog(catalog.items())?;
            Ok(catalog)
        })
        .await
    }

    /// Reads a CSV file and replaces the catalogue with it: every row or none.
    pub async fn import_csv(
        self,
        path: PathBuf,
        country: Option<Country>,
    ) -> Result<Catalog, CsvImportError> {
        self.with(move |store| store.import_csv_file(&path, country))
            .await
    }
}

impl From<CatalogStoreError> for CsvImportError {
    fn from(e: CatalogStoreError) -> Self {
        match e {
            CatalogStoreError::Store(e) => CsvImportError::Stored(e),
            CatalogStoreError::Task => CsvImportError::Task,
        }
    }
}

#[cfg(test)]
mod shared_tests {
    use super::*;

    #[tokio::test]
    async fn the_shared_catalogue_stores_and_imports_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new").join("kasse.db");
        let store = CatalogStore::open(db.clone()).await.unwrap();
        let catalog = Catalog::new(vec![Item::new("a", "A", 1000, VatRate::NO_STANDARD)]).unwrap();
        store.clone().replace(catalog.clone()).await.unwrap();
        assert_eq!(store.clone().load().await.unwrap(), catalog);

        let csv = dir.path().join("items.csv");
        std::fs::write(&csv, "id;name;price;vat\nb;B;10;25\nc;C;ti;25\n").unwrap();
        match store
            .clone()
            .import_csv(csv.clone(), Some(Country::No))
            .await
        {
            Err(CsvImportError::Problems(problems)) => assert_eq!(problems.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store.clone().load().await.unwrap(),
            catalog,
            "nothing imported"
        );

        std::fs::write(&csv, "id;name;price;vat\nb;B;10;25\nc;C;12,50;25\n").unwrap();
        let imported = store
            .clone()
            .import_csv(csv, Some(Country::No))
            .await
            .unwrap();
        assert_eq!(imported.len(), 2);
        // Another connection (the engine's) sees it.
        assert_eq!(Store::open(&db).unwrap().load_catalog().unwrap(), imported);

        let missing = store
            .import_csv(dir.path().join("nope.csv"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(missing, CsvImportError::Unreadable { .. }),
            "{missing}"
        );
    }
}
