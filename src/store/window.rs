//! [`WindowStore`]: the till's database for the window, which keeps it beside the engine.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::catalog::CsvImportError;
use super::{Store, StoreError};
use crate::clock::Clock;
use crate::core::catalog::Catalog;
use crate::core::vat::Country;

/// Why the window's store could not read or write. `Clone` (sources shared) so a result can
/// travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WindowStoreError {
    #[error(transparent)]
    Store(Arc<StoreError>),
    #[error("the store task stopped before it finished")]
    Task,
}

impl From<StoreError> for WindowStoreError {
    fn from(e: StoreError) -> Self {
        WindowStoreError::Store(Arc::new(e))
    }
}

/// The window's own connection to the till's database (SQLite in WAL mode with a busy timeout,
/// so the engine keeps writing on its connection meanwhile): the catalogue, cashiers, the day's
/// reports and drawer, returns, loyalty members and printing, each run on a blocking thread by
/// an async function the window starts as a task.
#[derive(Debug, Clone)]
pub struct WindowStore(Arc<Mutex<Store>>);

impl WindowStore {
    /// Opens (creating it and its folder if needed) the database at `path`; every timestamp
    /// it writes comes from `clock`.
    pub async fn open(path: PathBuf, clock: Clock) -> Result<WindowStore, WindowStoreError> {
        let store = tokio::task::spawn_blocking(move || {
            Store::open_creating(&path).map(|s| s.with_clock(clock))
        })
        .await
        .map_err(|_| WindowStoreError::Task)??;
        Ok(WindowStore(Arc::new(Mutex::new(store))))
    }

    async fn with<T: Send + 'static, E: From<WindowStoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let store = store.lock().map_err(|_| WindowStoreError::Task)?;
            f(&store)
        })
        .await
        .map_err(|_| E::from(WindowStoreError::Task))?
    }

    /// Runs `f` on the store on a blocking thread (the window's other reads and writes: the
    /// cashiers, the day's reports, the drawer).
    pub async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, WindowStoreError> {
        self.with(move |store| Ok(f(store)?)).await
    }

    /// The store itself, for work that holds it only between awaits (printing).
    pub fn shared(&self) -> Arc<Mutex<Store>> {
        self.0.clone()
    }

    /// The stored catalogue.
    pub async fn load(self) -> Result<Catalog, WindowStoreError> {
        self.with(|store| Ok(store.load_catalog()?)).await
    }

    /// Replaces the whole catalogue (one transaction: all of it or none) and returns it.
    pub async fn replace(self, catalog: Catalog) -> Result<Catalog, WindowStoreError> {
        self.with(move |store| {
            store.replace_catalog(catalog.items())?;
            Ok(catalog)
        })
        .await
    }

    /// Replaces the catalogue and sets one item's member price (or none), in one transaction.
    pub async fn replace_with_member_price(
        self,
        catalog: Catalog,
        item_id: String,
        member_price: Option<i64>,
    ) -> Result<Catalog, WindowStoreError> {
        self.with(move |store| {
            store.replace_catalog_with_member_price(catalog.items(), &item_id, member_price)?;
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

impl From<WindowStoreError> for CsvImportError {
    fn from(e: WindowStoreError) -> Self {
        match e {
            WindowStoreError::Store(e) => CsvImportError::Stored(e),
            WindowStoreError::Task => CsvImportError::Task,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::Item;
    use crate::core::vat::VatRate;

    #[tokio::test]
    async fn the_shared_catalogue_stores_and_imports_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new").join("kasse.db");
        let store = WindowStore::open(db.clone(), Clock::system())
            .await
            .unwrap();
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
