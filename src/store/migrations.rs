//! The till schema: numbered plain SQL files in `migrations/till/`, applied in
//! order inside one transaction; the version is SQLite's `user_version`.
//!
//! To change the schema, add the next file (`0002_<what>.sql`) and append it
//! here. Never edit a file that has been released.

use rusqlite_migration::{M, Migrations};

/// Every migration, in order. Index + 1 is the schema version it produces.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial.sql",
        include_str!("../../migrations/till/0001_initial.sql"),
    ),
    (
        "0002_engine.sql",
        include_str!("../../migrations/till/0002_engine.sql"),
    ),
    (
        "0003_attempt_sales_unit.sql",
        include_str!("../../migrations/till/0003_attempt_sales_unit.sql"),
    ),
    (
        "0004_one_payment_model.sql",
        include_str!("../../migrations/till/0004_one_payment_model.sql"),
    ),
    (
        "0005_journal_codes_signatures.sql",
        include_str!("../../migrations/till/0005_journal_codes_signatures.sql"),
    ),
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|(_, sql)| M::up(sql)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_registered_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/till");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let registered: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, registered);
        for (index, name) in registered.iter().enumerate() {
            assert!(
                name.starts_with(&format!("{:04}_", index + 1)),
                "{name} should be number {}",
                index + 1
            );
        }
        migrations().validate().unwrap();
    }
}
