//! Signing a transaction as it concludes, inside the caller's transaction: the next receipt
//! number of the register, the signed text over the previous signature, the journal row
//! (`sale_signed` / `return_signed`) and the `signed_transaction` row. Either all of it
//! commits with the sale or refund it concludes, or none of it does.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::ComplianceError;
use super::signing::Signer;
use crate::core::journal_code::TransactionCode;
use crate::core::signature_text::{
    self, DanishText, FIRST_PREVIOUS_SIGNATURE, NorwegianText, Scheme, TextError,
};
use crate::store::{SignedTransaction, SigningKeyRecord, Store, kind};

/// Employee recorded with a transaction no cashier is known for (signed in Denmark).
pub const NO_CASHIER: &str = "0";

/// The exact text signed for `t`, chained to `previous_signature`.
pub fn signed_text(
    scheme: Scheme,
    previous_signature: &str,
    t: &SignedTransaction,
) -> Result<String, TextError> {
    let nr = t.nr.to_string();
    match scheme {
        Scheme::NoRsaSha1 => NorwegianText {
            previous_signature,
            trans_date: &t.trans_date,
            trans_time: &t.trans_time,
            nr: &nr,
            amount_in: t.amount_in,
            amount_ex: t.amount_ex,
        }
        .text(),
        Scheme::DkRsaSha512 => {
            let trans_type = t.trans_type.to_string();
            DanishText {
                previous_signature,
                nr: &nr,
                trans_id: &t.trans_id,
                trans_type: &trans_type,
                trans_date: &t.trans_date,
                trans_time: &t.trans_time,
                emp_id: &t.emp_id,
                amount_in: t.amount_in,
                amount_ex: t.amount_ex,
                register_id: &t.register_id,
                company_ident: &t.company_ident,
            }
            .text()
        }
    }
}

/// The journal payload recording `t` (everything needed to re-create its signed text, given
/// the previous signature of the register).
pub fn journal_payload(t: &SignedTransaction, scheme: Scheme, test_key: bool) -> serde_json::Value {
    let mut p = json!({
        "register_id": t.register_id,
        "nr": t.nr,
        "trans_id": t.trans_id,
        "trans_type": t.trans_type,
        "sale_id": t.sale_id,
        "emp_id": t.emp_id,
        "trans_date": t.trans_date,
        "trans_time": t.trans_time,
        "amount_in": t.amount_in,
        "amount_ex": t.amount_ex,
        "currency": t.currency,
        "company_ident": t.company_ident,
        "scheme": scheme.as_str(),
        "key_version": t.key_version,
        "test_key": test_key,
        "signature": t.signature,
    });
    if let (Some(op), Some(map)) = (t.refund_op_id, p.as_object_mut()) {
        map.insert("refund_op_id".into(), json!(op));
    }
    if let (Some(id), Some(map)) = (t.return_id, p.as_object_mut()) {
        map.insert("return_id".into(), json!(id));
    }
    p
}

/// What is being concluded.
struct Conclusion {
    trans_type: TransactionCode,
    sale_id: i64,
    refund_op_id: Option<i64>,
    return_id: Option<i64>,
    amount_in: i64,
    amount_ex: i64,
    currency: String,
}

/// How a completed sale concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concluded {
    /// A real sale: signed, with its receipt number.
    Signed(Box<SignedTransaction>),
    /// A training sale: numbered from the training series, not signed.
    Training { nr: i64 },
}

/// Concludes the completed sale `sale_id`: a real sale is signed ([`sign_sale`]), a training
/// sale takes the next number of the training series. Concluding twice returns the first
/// result.
pub fn conclude_sale(
    c: &Store<&Connection>,
    signer: &Signer,
    sale_id: i64,
    now_ms: i64,
) -> Result<Concluded, ComplianceError> {
    if crate::store::training::is_training_sale(c, sale_id)? {
        let nr = c.number_training_sale(sale_id)?;
        return Ok(Concluded::Training { nr });
    }
    sign_sale(c, signer, sale_id, now_ms).map(|t| Concluded::Signed(Box::new(t)))
}

/// Signs the completed sale `sale_id` at `now_ms` (its total and split as stored). Signing a
/// sale twice returns the first signature. A training sale is refused: it is never signed.
pub fn sign_sale(
    c: &Store<&Connection>,
    signer: &Signer,
    sale_id: i64,
    now_ms: i64,
) -> Result<SignedTransaction, ComplianceError> {
    let store = c;
    if let Some(done) = store.signed_sale(sale_id)? {
        return Ok(done);
    }
    if crate::store::training::is_training_sale(c, sale_id)? {
        return Err(ComplianceError::Store(crate::store::StoreError::Conflict(
            format!("sale {sale_id} is a training sale: it is numbered, never signed"),
        )));
    }
    let (total, excluding, currency) = sale_amounts(c, sale_id)?;
    sign(
        store,
        signer,
        Conclusion {
            trans_type: TransactionCode::CASH_SALE,
            sale_id,
            refund_op_id: None,
            return_id: None,
            amount_in: total,
            amount_ex: excluding,
            currency,
        },
        now_ms,
    )
}

/// Signs the completed refund operation `op_id` of sale `sale_id` (`amount` minor units) as a
/// return: negative amounts, the VAT-exclusive part in proportion to the sale's own split.
/// Signing a refund twice returns the first signature.
pub fn sign_return(
    c: &Store<&Connection>,
    signer: &Signer,
    sale_id: i64,
    op_id: i64,
    amount: i64,
    now_ms: i64,
) -> Result<SignedTransaction, ComplianceError> {
    let store = c;
    if let Some(done) = store.signed_return(op_id)? {
        return Ok(done);
    }
    let (total, excluding, currency) = sale_amounts(c, sale_id)?;
    let amount_in = -amount.abs();
    sign(
        store,
        signer,
        Conclusion {
            trans_type: TransactionCode::RETURN_PAYMENT,
            sale_id,
            refund_op_id: Some(op_id),
            return_id: None,
            amount_in,
            amount_ex: signature_text::proportional_excluding(amount_in, total, excluding),
            currency,
        },
        now_ms,
    )
}

/// Signs the return `return_id` of sale `sale_id` paid back at the till (cash, card, ...):
/// `amount` and `amount_ex` as computed from the returned lines, negative in the signature.
/// Signing a return twice returns the first signature.
pub fn sign_till_return(
    c: &Store<&Connection>,
    signer: &Signer,
    sale_id: i64,
    return_id: i64,
    amount: i64,
    amount_ex: i64,
    now_ms: i64,
) -> Result<SignedTransaction, ComplianceError> {
    let store = c;
    if let Some(done) = store.signed_till_return(return_id)? {
        return Ok(done);
    }
    let (_, _, currency) = sale_amounts(c, sale_id)?;
    sign(
        store,
        signer,
        Conclusion {
            trans_type: TransactionCode::RETURN_PAYMENT,
            sale_id,
            refund_op_id: None,
            return_id: Some(return_id),
            amount_in: -amount.abs(),
            amount_ex: -amount_ex.abs(),
            currency,
        },
        now_ms,
    )
}

/// Who concluded it: the cashier of the return (at the till) or of the sale, else
/// [`NO_CASHIER`].
fn employee(c: &Connection, what: &Conclusion) -> Result<String, ComplianceError> {
    let id: Option<i64> = match what.return_id {
        Some(r) => c
            .query_row(
                "SELECT cashier_id FROM sale_return WHERE id = ?1",
                [r],
                |row| row.get(0),
            )
            .optional()?
            .flatten(),
        None => None,
    };
    let id = match id {
        Some(id) => Some(id),
        None => c
            .query_row(
                "SELECT cashier_id FROM sale WHERE id = ?1",
                [what.sale_id],
                |row| row.get(0),
            )
            .optional()?
            .flatten(),
    };
    Ok(id.map_or_else(|| NO_CASHIER.to_string(), |id| id.to_string()))
}

fn sale_amounts(c: &Connection, sale_id: i64) -> Result<(i64, i64, String), ComplianceError> {
    c.query_row(
        "SELECT total, excluding_tax, currency FROM sale WHERE id = ?1",
        params![sale_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or(ComplianceError::NoSale(sale_id))
}

fn sign(
    store: &Store<&Connection>,
    signer: &Signer,
    what: Conclusion,
    now_ms: i64,
) -> Result<SignedTransaction, ComplianceError> {
    store.register_signing_key(&SigningKeyRecord {
        key_version: signer.key_version().to_string(),
        scheme: signer.scheme().as_str().to_string(),
        public_key_pem: signer.public_key_pem().to_string(),
        test_key: signer.is_test_key(),
        certificate_pem: signer.certificate_pem().map(str::to_string),
        first_used_ms: now_ms,
    })?;
    let register = signer.register_id();
    let previous = store.last_signed_transaction(register)?;
    let (nr, previous_signature) = match &previous {
        Some(p) => (p.nr + 1, p.signature.as_str()),
        None => (1, FIRST_PREVIOUS_SIGNATURE),
    };
    let stamp = signature_text::local_stamp(now_ms)?;
    let mut t = SignedTransaction {
        register_id: register.to_string(),
        nr,
        trans_id: nr.to_string(),
        trans_type: what.trans_type.0,
        sale_id: what.sale_id,
        refund_op_id: what.refund_op_id,
        emp_id: employee(store.conn(), &what)?,
        trans_date: stamp.date,
        trans_time: stamp.time,
        amount_in: what.amount_in,
        amount_ex: what.amount_ex,
        currency: what.currency,
        company_ident: signer.company_ident().to_string(),
        key_version: signer.key_version().to_string(),
        signature: String::new(),
        journal_seq: 0,
        signed_ms: now_ms,
        return_id: what.return_id,
    };
    let text = signed_text(signer.scheme(), previous_signature, &t)?;
    t.signature = signer.sign(&text)?;
    let journal_kind = if what.refund_op_id.is_some() || what.return_id.is_some() {
        kind::RETURN_SIGNED
    } else {
        kind::SALE_SIGNED
    };
    let entry = store.append_journal(
        journal_kind,
        &journal_payload(&t, signer.scheme(), signer.is_test_key()),
    )?;
    t.journal_seq = entry.seq;
    store.insert_signed_transaction(&t)?;
    Ok(t)
}
