//! The till schema: `migrations/till/`, loaded the way every database's migrations are (see
//! `crate::migrations`), applied in order inside one transaction.
//!
//! To change the schema, add the next file (`0010_<what>.sql`) and append it
//! here. Never edit a file that has been released.

use rusqlite_migration::Migrations;

use crate::migrations::{self, MigrationList};

/// Every migration, in order. Index + 1 is the schema version it produces.
pub const MIGRATIONS: MigrationList = &[
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
    (
        "0006_till_day.sql",
        include_str!("../../migrations/till/0006_till_day.sql"),
    ),
    (
        "0007_receipts.sql",
        include_str!("../../migrations/till/0007_receipts.sql"),
    ),
    (
        "0008_training.sql",
        include_str!("../../migrations/till/0008_training.sql"),
    ),
    (
        "0009_loyalty.sql",
        include_str!("../../migrations/till/0009_loyalty.sql"),
    ),
    (
        "0010_member_sales.sql",
        include_str!("../../migrations/till/0010_member_sales.sql"),
    ),
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = migrations::version(MIGRATIONS);

pub(crate) fn migrations() -> Migrations<'static> {
    migrations::migrations(MIGRATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_registered_in_order() {
        crate::migrations::check_registered(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/till"),
            MIGRATIONS,
        );
    }
}
