//! Signed transactions and the public keys that signed them (migration 5).
//!
//! One row per concluded transaction, in chain order per register (`nr` 1, 2, 3, ...). The
//! rows are written only by [`Store::insert_signed_transaction`], in the same transaction as
//! the journal row that records the same facts (`journal_seq`). Triggers refuse updates,
//! deletes and rows out of order. The cryptography is in `crate::compliance`; this module only
//! stores and reads.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, StoreError};

/// A public key that signed transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub key_version: String,
    /// `NO-RSA-SHA1` or `DK-RSA-SHA512`.
    pub scheme: String,
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// Kasse's test key (demo, training, tests): never valid for a declared till.
    pub test_key: bool,
    /// Denmark: the certificate given with the key (PEM).
    pub certificate_pem: Option<String>,
    pub first_used_ms: i64,
}

/// One concluded, signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    pub register_id: String,
    /// Receipt number: consecutive per register from 1.
    pub nr: i64,
    pub trans_id: String,
    /// 11001 (sale) or 11006 (return).
    pub trans_type: u16,
    pub sale_id: i64,
    /// The refund operation, for a return.
    pub refund_op_id: Option<i64>,
    pub emp_id: String,
    /// `YYYY-MM-DD`, local time.
    pub trans_date: String,
    /// `hh:mm:ss`, local time.
    pub trans_time: String,
    /// Minor units, VAT included (negative for a return).
    pub amount_in: i64,
    /// Minor units, VAT excluded (negative for a return).
    pub amount_ex: i64,
    pub currency: String,
    pub company_ident: String,
    pub key_version: String,
    /// Base64.
    pub signature: String,
    /// The journal row recording it.
    pub journal_seq: i64,
    pub signed_ms: i64,
    /// The return paid back at the till (cash, card, ...), for a return not through Vipps.
    pub return_id: Option<i64>,
}

const COLUMNS: &str = "register_id, nr, trans_id, trans_type, sale_id, refund_op_id, emp_id, \
     trans_date, trans_time, amount_in, amount_ex, currency, company_ident, key_version, \
     signature, journal_seq, signed_ms, return_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SignedTransaction> {
    Ok(SignedTransaction {
        register_id: r.get(0)?,
        nr: r.get(1)?,
        trans_id: r.get(2)?,
        trans_type: r.get(3)?,
        sale_id: r.get(4)?,
        refund_op_id: r.get(5)?,
        emp_id: r.get(6)?,
        trans_date: r.get(7)?,
        trans_time: r.get(8)?,
        amount_in: r.get(9)?,
        amount_ex: r.get(10)?,
        currency: r.get(11)?,
        company_ident: r.get(12)?,
        key_version: r.get(13)?,
        signature: r.get(14)?,
        journal_seq: r.get(15)?,
        signed_ms: r.get(16)?,
        return_id: r.get(17)?,
    })
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        key_version: r.get(0)?,
        scheme: r.get(1)?,
        public_key_pem: r.get(2)?,
        test_key: r.get(3)?,
        certificate_pem: r.get(4)?,
        first_used_ms: r.get(5)?,
    })
}

impl<C: Borrow<Connection>> Store<C> {
    /// Records the public key of `key.key_version` the first time it signs. The same version
    /// with another key or scheme is a conflict: a key version names one key for ever.
    pub fn register_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        if let Some(known) = self.signing_key(&key.key_version)? {
            if known.public_key_pem.trim() != key.public_key_pem.trim()
                || known.scheme != key.scheme
                || known.test_key != key.test_key
            {
                return Err(StoreError::Conflict(format!(
                    "key version {} already names another signing key in this journal; give the \
                     new key a new key_version",
                    key.key_version
                )));
            }
            return Ok(());
        }
        self.conn().execute(
            "INSERT INTO signing_key (key_version, scheme, public_key_pem, test_key,
                                      certificate_pem, first_used_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key.key_version,
                key.scheme,
                key.public_key_pem,
                key.test_key,
                key.certificate_pem,
                key.first_used_ms
            ],
        )?;
        Ok(())
    }

    /// The stored public key of `key_version`.
    pub fn signing_key(&self, key_version: &str) -> Result<Option<SigningKeyRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT key_version, scheme, public_key_pem, test_key, certificate_pem,
                        first_used_ms
                 FROM signing_key WHERE key_version = ?1",
                params![key_version],
                key_from_row,
            )
            .optional()?)
    }

    /// Every stored public key, oldest first.
    pub fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT key_version, scheme, public_key_pem, test_key, certificate_pem, first_used_ms
             FROM signing_key ORDER BY first_used_ms, key_version",
        )?;
        let rows = stmt.query_map([], key_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest signed transaction of `register_id` (the head of its chain).
    pub fn last_signed_transaction(
        &self,
        register_id: &str,
    ) -> Result<Option<SignedTransaction>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM signed_transaction WHERE register_id = ?1
                     ORDER BY nr DESC LIMIT 1"
                ),
                params![register_id],
                from_row,
            )
            .optional()?)
    }

    /// The signed sale `sale_id`, if it was signed.
    pub fn signed_sale(&self, sale_id: i64) -> Result<Option<SignedTransaction>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM signed_transaction
                     WHERE sale_id = ?1 AND trans_type = 11001"
                ),
                params![sale_id],
                from_row,
            )
            .optional()?)
    }

    /// The sale whose receipt number (its signed sale's `nr`) is `nr`.
    pub fn sale_of_receipt(&self, nr: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT sale_id FROM signed_transaction WHERE nr = ?1 AND trans_type = 11001",
                params![nr],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The signed return paid back at the till as `return_id`, if it was signed.
    pub fn signed_till_return(
        &self,
        return_id: i64,
    ) -> Result<Option<SignedTransaction>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM signed_transaction WHERE return_id = ?1"),
                params![return_id],
                from_row,
            )
            .optional()?)
    }

    /// The signed return of refund operation `op_id`, if it was signed.
    pub fn signed_return(&self, op_id: i64) -> Result<Option<SignedTransaction>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM signed_transaction WHERE refund_op_id = ?1"),
                params![op_id],
                from_row,
            )
            .optional()?)
    }

    /// The signed transaction `nr` of `register_id`.
    pub fn signed_transaction(
        &self,
        register_id: &str,
        nr: i64,
    ) -> Result<Option<SignedTransaction>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM signed_transaction WHERE register_id = ?1 AND nr = ?2"
                ),
                params![register_id, nr],
                from_row,
            )
            .optional()?)
    }

    /// Appends a signed transaction (it must extend its register's chain).
    pub fn insert_signed_transaction(&self, t: &SignedTransaction) -> Result<(), StoreError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO signed_transaction ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                             ?16, ?17, ?18)"
                ),
                params![
                    t.register_id,
                    t.nr,
                    t.trans_id,
                    t.trans_type,
                    t.sale_id,
                    t.refund_op_id,
                    t.emp_id,
                    t.trans_date,
                    t.trans_time,
                    t.amount_in,
                    t.amount_ex,
                    t.currency,
                    t.company_ident,
                    t.key_version,
                    t.signature,
                    t.journal_seq,
                    t.signed_ms,
                    t.return_id
                ],
            )
            .map_err(|e| {
                StoreError::from_constraint(e, || {
                    format!("signed transaction {} of register {}", t.nr, t.register_id)
                })
            })?;
        Ok(())
    }

    /// Calls `f` with every signed transaction, per register in chain order (register ids
    /// sorted), one row at a time: what an export lists per cash register, with each
    /// transaction's `signature` and `key_version`.
    pub fn for_each_signed_transaction<E: From<StoreError>>(
        &self,
        f: impl FnMut(SignedTransaction) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_signed(
            &format!("SELECT {COLUMNS} FROM signed_transaction ORDER BY register_id, nr"),
            [],
            f,
        )
    }

    /// Calls `f` with the signed transactions of `register_id` signed in `[from_ms, to_ms)`,
    /// in chain order, one row at a time (the SAF-T export).
    pub fn for_each_signed_transaction_between<E: From<StoreError>>(
        &self,
        register_id: &str,
        from_ms: i64,
        to_ms: i64,
        f: impl FnMut(SignedTransaction) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_signed(
            &format!(
                "SELECT {COLUMNS} FROM signed_transaction
                 WHERE register_id = ?1 AND signed_ms >= ?2 AND signed_ms < ?3 ORDER BY nr"
            ),
            params![register_id, from_ms, to_ms],
            f,
        )
    }

    fn each_signed<E: From<StoreError>>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut f: impl FnMut(SignedTransaction) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stmt = self.conn().prepare(sql).map_err(|e| E::from(e.into()))?;
        let mut rows = stmt.query(params).map_err(|e| E::from(e.into()))?;
        while let Some(r) = rows.next().map_err(|e| E::from(e.into()))? {
            f(from_row(r).map_err(|e| E::from(e.into()))?)?;
        }
        Ok(())
    }

    /// How many signed transactions each register has.
    pub fn signed_transaction_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT register_id, count(*) FROM signed_transaction
             GROUP BY register_id ORDER BY register_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
