//! `kasse journal verify`: the journal's hash chain, then every register's signature chain,
//! stopping at the first break with the row, what was expected there and what was found.
//!
//! The signature chain is read from the journal rows `sale_signed` / `return_signed` (whose
//! contents the hash chain has just vouched for): receipt numbers run 1, 2, 3, ... per
//! register, each signed text starts with the previous signature (`0` for the first), and each
//! signature verifies with its key version's public key (the one stored with the journal, or
//! the one given with `--public-key`, e.g. the declared key). The `signed_transaction` table
//! must mirror those rows exactly, and each signed sale must still carry the amounts it was
//! signed with.

use std::collections::BTreeMap;

use rsa::PublicKey;
use rusqlite::{OptionalExtension, params};

use super::ComplianceError;
use super::conclude::signed_text;
use super::signing::{self, fingerprint, parse_public_key};
use crate::core::signature_text::{self, FIRST_PREVIOUS_SIGNATURE, Scheme};
use crate::store::{JournalError, JournalReport, SignedTransaction, Store, kind};

/// Where the chain breaks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The row, e.g. `journal row 17` or `signed transaction 4 of register kasse1 (journal row 17)`.
    pub row: String,
    pub expected: String,
    pub found: String,
    /// What the break means.
    pub detail: String,
}

/// A key that signed transactions in this journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySummary {
    pub key_version: String,
    pub scheme: String,
    pub test_key: bool,
    /// SHA-256 of the public key (DER), hex: compare with the declared key's.
    pub fingerprint: String,
}

/// One register's signature chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSummary {
    pub register_id: String,
    pub transactions: i64,
    pub last_signature: String,
}

/// An intact journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub journal: JournalReport,
    pub registers: Vec<RegisterSummary>,
    pub keys: Vec<KeySummary>,
    /// Signatures were checked with a key given from outside the journal.
    pub external_key: Option<String>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact(VerifyReport),
    Broken(Break),
}

/// Verifies `store`'s journal. `external` replaces the stored public keys for every signature.
pub fn verify(store: &Store, external: Option<&PublicKey>) -> Result<Verdict, ComplianceError> {
    let journal = match store.verify_journal() {
        Ok(report) => report,
        Err(JournalError::Store(e)) => return Err(e.into()),
        Err(e) => return Ok(Verdict::Broken(journal_break(e))),
    };
    let keys = stored_keys(store)?;
    let mut chains: BTreeMap<String, RegisterSummary> = BTreeMap::new();
    let mut stmt = store
        .conn()
        .prepare("SELECT seq, kind, payload FROM journal WHERE kind IN (?1, ?2) ORDER BY seq")?;
    let mut rows = stmt.query(params![kind::SALE_SIGNED, kind::RETURN_SIGNED])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let journal_kind: String = row.get(1)?;
        let payload: String = row.get(2)?;
        let parsed = match parse_payload(seq, &payload) {
            Ok(p) => p,
            Err(b) => return Ok(Verdict::Broken(b)),
        };
        let t = &parsed.transaction;
        let at = format!(
            "signed transaction {} of register {} (journal row {seq})",
            t.nr, t.register_id
        );
        let chain = chains
            .entry(t.register_id.clone())
            .or_insert_with(|| RegisterSummary {
                register_id: t.register_id.clone(),
                transactions: 0,
                last_signature: FIRST_PREVIOUS_SIGNATURE.to_string(),
            });
        if t.nr != chain.transactions + 1 {
            return Ok(Verdict::Broken(Break {
                row: at,
                expected: format!("receipt number {}", chain.transactions + 1),
                found: format!("receipt number {}", t.nr),
                detail: "receipt numbers of a register run without gaps: a signed transaction \
                         is missing or out of order"
                    .into(),
            }));
        }
        let is_return = journal_kind == kind::RETURN_SIGNED;
        if is_return != (t.refund_op_id.is_some() || t.return_id.is_some()) {
            return Ok(Verdict::Broken(Break {
                row: at,
                expected: format!("a {journal_kind} row"),
                found: format!(
                    "refund operation {:?}, return {:?}",
                    t.refund_op_id, t.return_id
                ),
                detail: "the journal row's kind and contents disagree".into(),
            }));
        }
        let Some(key) = keys.get(&t.key_version) else {
            return Ok(Verdict::Broken(Break {
                row: at,
                expected: format!("the public key of key version {}", t.key_version),
                found: "no such key in signing_key".into(),
                detail: "the key that signed this transaction is not recorded".into(),
            }));
        };
        if key.scheme != parsed.scheme || key.test_key != parsed.test_key {
            return Ok(Verdict::Broken(Break {
                row: at,
                expected: format!(
                    "scheme {} test_key {} (as stored for {})",
                    key.scheme.as_str(),
                    key.test_key,
                    t.key_version
                ),
                found: format!(
                    "scheme {} test_key {}",
                    parsed.scheme.as_str(),
                    parsed.test_key
                ),
                detail: "the journal row and the stored key disagree".into(),
            }));
        }
        let text = signed_text(parsed.scheme, &chain.last_signature, t)?;
        let public = external.unwrap_or(&key.public);
        if let Err(why) = signing::verify(parsed.scheme, public, &text, &t.signature) {
            return Ok(Verdict::Broken(Break {
                row: at,
                expected: format!("a {} signature of \"{text}\"", parsed.scheme),
                found: t.signature.clone(),
                detail: why,
            }));
        }
        let mut mirrored = t.clone();
        mirrored.journal_seq = seq;
        let stored = store.signed_transaction(&t.register_id, t.nr)?;
        if let Some(stored) = &stored {
            // When it was signed is not journalled separately (the row has its own time).
            mirrored.signed_ms = stored.signed_ms;
        }
        match stored {
            Some(stored) if stored == mirrored => {}
            Some(stored) => {
                let (field, expected, found) = first_difference(&mirrored, &stored);
                return Ok(Verdict::Broken(Break {
                    row: format!("signed_transaction {} of register {}", t.nr, t.register_id),
                    expected: format!("{field} = {expected} (as journalled in row {seq})"),
                    found: format!("{field} = {found}"),
                    detail: "the signed_transaction table was edited".into(),
                }));
            }
            None => {
                return Ok(Verdict::Broken(Break {
                    row: format!("signed_transaction {} of register {}", t.nr, t.register_id),
                    expected: format!("the row journalled in row {seq}"),
                    found: "no row".into(),
                    detail: "a signed transaction was deleted from the table".into(),
                }));
            }
        }
        if let Some(b) = check_amounts(store, t)? {
            return Ok(Verdict::Broken(b));
        }
        chain.transactions += 1;
        chain.last_signature = t.signature.clone();
    }
    drop(rows);
    drop(stmt);
    for (register, count) in store.signed_transaction_counts()? {
        let journalled = chains.get(&register).map_or(0, |c| c.transactions);
        if count != journalled {
            return Ok(Verdict::Broken(Break {
                row: format!("signed_transaction of register {register}"),
                expected: format!("{journalled} rows (as journalled)"),
                found: format!("{count} rows"),
                detail: "the table holds signed transactions the journal does not".into(),
            }));
        }
    }
    Ok(Verdict::Intact(VerifyReport {
        journal,
        registers: chains.into_values().collect(),
        keys: keys
            .into_iter()
            .map(|(version, k)| KeySummary {
                key_version: version,
                scheme: k.scheme.as_str().to_string(),
                test_key: k.test_key,
                fingerprint: k.fingerprint,
            })
            .collect(),
        external_key: external.map(|k| fingerprint(k).unwrap_or_default()),
    }))
}

struct StoredKey {
    scheme: Scheme,
    test_key: bool,
    public: PublicKey,
    fingerprint: String,
}

fn stored_keys(store: &Store) -> Result<BTreeMap<String, StoredKey>, ComplianceError> {
    let mut keys = BTreeMap::new();
    for k in store.signing_keys()? {
        let scheme = Scheme::parse(&k.scheme).ok_or_else(|| {
            ComplianceError::Store(crate::store::StoreError::Invalid(format!(
                "signing key {} has an unknown scheme {}",
                k.key_version, k.scheme
            )))
        })?;
        let public = parse_public_key(&k.public_key_pem)?;
        let fingerprint = fingerprint(&public)?;
        keys.insert(
            k.key_version,
            StoredKey {
                scheme,
                test_key: k.test_key,
                public,
                fingerprint,
            },
        );
    }
    Ok(keys)
}

struct Parsed {
    transaction: SignedTransaction,
    scheme: Scheme,
    test_key: bool,
}

fn parse_payload(seq: i64, payload: &str) -> Result<Parsed, Break> {
    let bad = |what: &str| Break {
        row: format!("journal row {seq}"),
        expected: "a complete signed-transaction record".into(),
        found: format!("{what} missing or invalid"),
        detail: "the journal row cannot be read as a signed transaction".into(),
    };
    let v: serde_json::Value = serde_json::from_str(payload).map_err(|_| bad("JSON"))?;
    let s = |k: &str| -> Result<String, Break> {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(k))
    };
    let i =
        |k: &str| -> Result<i64, Break> { v.get(k).and_then(|x| x.as_i64()).ok_or_else(|| bad(k)) };
    let scheme = Scheme::parse(&s("scheme")?).ok_or_else(|| bad("scheme"))?;
    let trans_type = u16::try_from(i("trans_type")?).map_err(|_| bad("trans_type"))?;
    Ok(Parsed {
        transaction: SignedTransaction {
            register_id: s("register_id")?,
            nr: i("nr")?,
            trans_id: s("trans_id")?,
            trans_type,
            sale_id: i("sale_id")?,
            refund_op_id: v.get("refund_op_id").and_then(|x| x.as_i64()),
            return_id: v.get("return_id").and_then(|x| x.as_i64()),
            emp_id: s("emp_id")?,
            trans_date: s("trans_date")?,
            trans_time: s("trans_time")?,
            amount_in: i("amount_in")?,
            amount_ex: i("amount_ex")?,
            currency: s("currency")?,
            company_ident: s("company_ident")?,
            key_version: s("key_version")?,
            signature: s("signature")?,
            journal_seq: seq,
            signed_ms: 0,
        },
        scheme,
        test_key: v
            .get("test_key")
            .and_then(|x| x.as_bool())
            .ok_or_else(|| bad("test_key"))?,
    })
}

/// The first field where the journalled and the stored transaction differ (`signed_ms` is
/// not journalled and not compared).
fn first_difference(
    journalled: &SignedTransaction,
    stored: &SignedTransaction,
) -> (&'static str, String, String) {
    macro_rules! diff {
        ($($f:ident),*) => {$(
            if journalled.$f != stored.$f {
                return (stringify!($f), format!("{:?}", journalled.$f), format!("{:?}", stored.$f));
            }
        )*};
    }
    diff!(
        trans_id,
        trans_type,
        sale_id,
        refund_op_id,
        emp_id,
        trans_date,
        trans_time,
        amount_in,
        amount_ex,
        currency,
        company_ident,
        key_version,
        signature,
        journal_seq
    );
    ("signed_ms", String::new(), String::new())
}

/// A signed sale still carries its signed amounts; a signed return its refund's amount (or
/// the return's, for one paid back at the till).
fn check_amounts(store: &Store, t: &SignedTransaction) -> Result<Option<Break>, ComplianceError> {
    let money = signature_text::amount;
    if let Some(id) = t.return_id {
        let amounts: Option<(i64, i64)> = store
            .conn()
            .query_row(
                "SELECT amount, excluding_tax FROM sale_return WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        return Ok(match amounts {
            Some((a, ex)) if -a == t.amount_in && -ex == t.amount_ex => None,
            found => Some(Break {
                row: format!("return {id}"),
                expected: format!(
                    "return of {} (signed as receipt {})",
                    money(-t.amount_in),
                    t.nr
                ),
                found: found.map_or("no return".into(), |(a, _)| {
                    format!("return of {}", money(a))
                }),
                detail: "the return was edited after it was signed".into(),
            }),
        });
    }
    match t.refund_op_id {
        None => {
            let sale: Option<(i64, i64)> = store
                .conn()
                .query_row(
                    "SELECT total, excluding_tax FROM sale WHERE id = ?1",
                    params![t.sale_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match sale {
                Some((total, excluding)) if total == t.amount_in && excluding == t.amount_ex => {
                    Ok(None)
                }
                found => Ok(Some(Break {
                    row: format!("sale {}", t.sale_id),
                    expected: format!(
                        "total {} excluding VAT {} (signed as receipt {})",
                        money(t.amount_in),
                        money(t.amount_ex),
                        t.nr
                    ),
                    found: found.map_or("no sale".into(), |(total, excluding)| {
                        format!("total {} excluding VAT {}", money(total), money(excluding))
                    }),
                    detail: "the sale was edited after it was signed".into(),
                })),
            }
        }
        Some(op) => {
            let amount: Option<i64> = store
                .conn()
                .query_row(
                    "SELECT amount FROM payment_operation WHERE id = ?1 AND kind = 'refund'",
                    params![op],
                    |r| r.get(0),
                )
                .optional()?;
            match amount {
                Some(a) if -a == t.amount_in => Ok(None),
                found => Ok(Some(Break {
                    row: format!("refund operation {op}"),
                    expected: format!(
                        "refund of {} (signed as receipt {})",
                        money(-t.amount_in),
                        t.nr
                    ),
                    found: found.map_or("no refund".into(), |a| format!("refund of {}", money(a))),
                    detail: "the refund was edited after it was signed".into(),
                })),
            }
        }
    }
}

/// The hash chain's break as a [`Break`].
fn journal_break(e: JournalError) -> Break {
    let detail = e.to_string();
    let (row, expected, found) = match e {
        JournalError::Edited {
            seq,
            expected,
            found,
        } => (
            format!("journal row {seq}"),
            format!("hash {expected}"),
            format!("hash {found}"),
        ),
        JournalError::CodeMismatch {
            seq,
            expected,
            found,
            ..
        } => (
            format!("journal row {seq}"),
            format!("codes {expected}"),
            format!("codes {found}"),
        ),
        JournalError::FormatDowngrade {
            seq,
            previous,
            found,
        } => (
            format!("journal row {seq}"),
            format!("hash format {previous} or later"),
            format!("hash format {found}"),
        ),
        JournalError::Gap { expected, found } => (
            format!("journal row {expected}"),
            format!("row {expected}"),
            format!("row {found}"),
        ),
        JournalError::BrokenLink { seq, previous } => (
            format!("journal row {seq}"),
            format!("prev_hash = the hash of row {previous}"),
            "another prev_hash".into(),
        ),
        JournalError::Truncated { last, head } => (
            format!("journal row {}", last + 1),
            format!("rows up to {head} (the head)"),
            format!("rows up to {last}"),
        ),
        JournalError::BeyondHead { last, head } => (
            format!("journal row {}", head + 1),
            format!("no row after {head} (the head)"),
            format!("rows up to {last}"),
        ),
        JournalError::HeadMismatch { seq } => (
            "journal head".into(),
            format!("the hash of row {seq}"),
            "another hash".into(),
        ),
        JournalError::HeadMissing => ("journal head".into(), "one head row".into(), "none".into()),
        JournalError::AnchorMismatch { seq } => (
            format!("journal row {seq}"),
            "the anchored hash".into(),
            "another hash".into(),
        ),
        JournalError::Malformed { seq, detail } => (
            format!("journal row {seq}"),
            "a well-formed row".into(),
            detail,
        ),
        JournalError::Store(e) => ("journal".into(), "a readable journal".into(), e.to_string()),
    };
    Break {
        row,
        expected,
        found,
        detail,
    }
}
