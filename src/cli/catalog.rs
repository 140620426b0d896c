//! `kasse catalog import FILE` and `kasse catalog export [FILE]`: the catalogue as CSV (the
//! format of `core::catalog_csv`, the same the admin screen imports), without a window.
//!
//! Import replaces the whole catalogue or nothing: every problem is printed as a JSON line
//! `{"type":"csv_problem","line":...,"message":...}` and the exit code is 1. On success one
//! line `{"type":"catalog_imported","items":N}` and exit 0. VAT rates are checked against the
//! till's country (from `till.currency`). Export writes the CSV to FILE, or to stdout without
//! one.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::{exit, open_store, print_line};
use crate::config::Config;
use crate::core::catalog_csv;
use crate::core::vat::Country;
use crate::store::CsvImportError;

/// `kasse catalog`
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub action: CatalogAction,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CatalogAction {
    /// Replace the catalogue with a CSV file: every row or none.
    Import {
        /// The CSV file (`id;name;price;vat[;barcodes;category;unit]`).
        file: PathBuf,
    },
    /// Write the catalogue as CSV.
    Export {
        /// Where to write it (standard output without one).
        file: Option<PathBuf>,
    },
}

/// Runs `kasse catalog ...`; returns the exit code.
pub fn run(config_path: Option<PathBuf>, args: CatalogArgs) -> anyhow::Result<i32> {
    // The catalogue needs the database and the currency, not a complete Vipps set-up.
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kasse: {e}");
            return Ok(exit::USAGE);
        }
    };
    match args.action {
        CatalogAction::Import { file } => import(&config, &file),
        CatalogAction::Export { file } => export(&config, file.as_deref()),
    }
}

fn import(config: &Config, file: &Path) -> anyhow::Result<i32> {
    let store = open_store(config)?;
    let country = Country::of_currency(config.till.currency);
    match store.import_csv_file(file, Some(country)) {
        Ok(catalog) => {
            print_line(&json!({
                "type": "catalog_imported",
                "file": file.display().to_string(),
                "items": catalog.len(),
            }));
            Ok(exit::COMPLETED)
        }
        Err(CsvImportError::Problems(problems)) => {
            for problem in &problems {
                print_line(&json!({
                    "type": "csv_problem",
                    "line": problem.line(),
                    "message": problem.to_string(),
                }));
            }
            eprintln!(
                "kasse: {}: {} problem(s), nothing imported",
                file.display(),
                problems.len()
            );
            Ok(exit::FAILED)
        }
        Err(CsvImportError::Unreadable { path, source }) => {
            eprintln!("kasse: cannot read {}: {source}", path.display());
            Ok(exit::USAGE)
        }
        Err(other) => Err(other.into()),
    }
}

fn export(config: &Config, file: Option<&Path>) -> anyhow::Result<i32> {
    let store = open_store(config)?;
    let catalog = store.load_catalog()?;
    let text = catalog_csv::write(&catalog).context("writing the CSV")?;
    match file {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            print_line(&json!({
                "type": "catalog_exported",
                "file": path.display().to_string(),
                "items": catalog.len(),
            }));
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(exit::COMPLETED)
}
