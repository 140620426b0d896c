//! One layout for every database's schema: numbered plain SQL files in `migrations/<database>/`
//! (`0001_<what>.sql`, `0002_<what>.sql`, ...), embedded with `include_str!` in a list beside
//! the code that opens the database, applied in order by `rusqlite_migration` with SQLite's
//! `user_version` as the schema version (list index + 1).
//!
//! The till (`store::migrations`, `migrations/till/`) and the relay (`relay::store`,
//! `migrations/relay/`) both load theirs this way. To change a schema, add the next file and
//! append it to its list; never edit a file that has been released. Each list has a test
//! ([`check_registered`]) that every file is registered, in order, and validates.

use rusqlite_migration::{M, Migrations};

/// A database's migrations: file name and SQL, in order.
pub type MigrationList = &'static [(&'static str, &'static str)];

/// The schema version a list produces (its length).
pub const fn version(list: MigrationList) -> i64 {
    list.len() as i64
}

/// The list as `rusqlite_migration` migrations.
pub fn migrations(list: MigrationList) -> Migrations<'static> {
    Migrations::new(list.iter().map(|(_, sql)| M::up(sql)).collect())
}

/// Test helper: the `.sql` files in `dir` are exactly the list's, numbered `0001_`, `0002_`,
/// ... in list order, and the migrations validate on a fresh database.
#[cfg(test)]
pub fn check_registered(dir: &str, list: MigrationList) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let registered: Vec<&str> = list.iter().map(|(name, _)| *name).collect();
    assert_eq!(files, registered, "{dir}");
    for (index, name) in registered.iter().enumerate() {
        assert!(
            name.starts_with(&format!("{:04}_", index + 1)),
            "{dir}/{name} should be number {}",
            index + 1
        );
    }
    migrations(list).validate().unwrap();
}
