//! `kasse config`: where the configuration comes from and what is missing.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, print_line};
use crate::config::Config;

/// `kasse config`: where the configuration comes from and what is missing.
pub fn run(config_path: Option<PathBuf>) -> anyhow::Result<i32> {
    let path = config_path.clone().or_else(Config::default_path);
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kasse: {e}");
            return Ok(exit::USAGE);
        }
    };
    let valid = config.validate();
    print_line(&json!({
        "type": "config",
        "path": path.map(|p| p.display().to_string()),
        "exists": config.source.as_ref().is_some_and(|p| p.exists()),
        "configured": config.is_configured(),
        "valid": valid.is_ok(),
        "problem": valid.err().map(|e| e.to_string()),
        "warnings": config.warnings,
        "database": config.database_path().map(|p| p.display().to_string()),
        "till_id": config.till.id,
        "merchant_qr_id": config.merchant_qr_id(),
        "environment": config.vipps.environment,
    }));
    Ok(if config.is_configured() {
        0
    } else {
        exit::FAILED
    })
}
