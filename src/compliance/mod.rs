//! Cash-register compliance (Norway's kassasystemforskrifta, Denmark's digital registration
//! systems): signing each concluded transaction, verifying the journal's hash chain and the
//! signature chain, and exporting the journal (JSON lines, and SAF-T Cash Register XML). `docs/compliance.md` says what is covered.
//!
//! Depends on `core` (codes, signed text) and `store` (journal, signed transactions); the
//! engine calls [`sign_sale`] and [`sign_return`] inside the transaction that concludes a sale
//! or a refund; the commands `kasse journal` and `kasse signing` (in `crate::cli`) call the rest.

mod conclude;
pub mod export;
pub mod saft;
pub mod signing;
pub mod verify;

pub use conclude::{
    Concluded, NO_CASHIER, conclude_sale, journal_payload, sign_return, sign_sale,
    sign_till_return, signed_text,
};
pub use signing::{Signer, SigningError};

use crate::core::signature_text::TextError;
use crate::store::StoreError;

/// Failures of signing, verifying or exporting.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error("the signed text cannot be built: {0}")]
    Text(#[from] TextError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sale {0} does not exist")]
    NoSale(i64),
    #[error("no signing key is loaded: the till cannot conclude a sale")]
    NoSigner,
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Saft(#[from] saft::SaftError),
}

impl From<rusqlite::Error> for ComplianceError {
    fn from(e: rusqlite::Error) -> Self {
        ComplianceError::Store(StoreError::Sqlite(e))
    }
}

impl From<serde_json::Error> for ComplianceError {
    fn from(e: serde_json::Error) -> Self {
        ComplianceError::Store(StoreError::Json(e))
    }
}
