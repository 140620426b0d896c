//! The one record of payments (`migrations/till/0004_one_payment_model.sql`): payment
//! attempts, operation intents and results (refunds are operations), check-ins, received
//! payment events and the engine's small settings in `meta`.
//!
//! Functions take a `&Connection` so they run inside the caller's transaction (a
//! `rusqlite::Transaction` derefs to one): an intent, its journal entry and any cursor move
//! commit together. Statuses are the enums of [`crate::core::payment`]; they convert to and
//! from SQL here and nowhere else.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::core::payment::{
    AttemptStatus, CustomerKind, Decision, Intent, OpKind, OpStatus, Stored,
};

/// SQL text conversion for the payment model's enums.
macro_rules! sql_text {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$t>::parse(text).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {text:?}", stringify!($t)).into())
                })
            }
        }
    )+};
}
sql_text!(AttemptStatus, Decision, OpKind, OpStatus, CustomerKind);

/// Errors of the engine's repository.
pub type Result<T> = std::result::Result<T, rusqlite::Error>;

/// `meta` key of the last stored relay sequence number.
pub const META_RELAY_CURSOR: &str = "relay_cursor";
/// `meta` key of the last known QR content.
pub const META_QR_CONTENT: &str = "qr_content";

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
        r.get(0)
    })
    .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Moves the relay cursor forward (never back).
pub fn set_relay_cursor(conn: &Connection, seq: u64) -> Result<()> {
    let current = relay_cursor(conn)?.unwrap_or(0);
    if seq > current {
        meta_set(conn, META_RELAY_CURSOR, &seq.to_string())?;
    }
    Ok(())
}

pub fn relay_cursor(conn: &Connection) -> Result<Option<u64>> {
    Ok(meta_get(conn, META_RELAY_CURSOR)?.and_then(|s| s.parse().ok()))
}

// ---------------------------------------------------------------------------------------------
// Check-ins

/// A stored check-in.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckinRow {
    pub id: i64,
    pub customer_token: String,
    pub merchant_qr_id: String,
    pub received_at_ms: i64,
    pub relay_received_at_ns: Option<i64>,
    pub expires_at_ms: i64,
    pub sale_id: Option<i64>,
    pub used_by_attempt: Option<i64>,
    pub discarded: bool,
}

impl std::fmt::Debug for CheckinRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The customer token is a credential: never printed.
        f.debug_struct("CheckinRow")
            .field("id", &self.id)
            .field("merchant_qr_id", &self.merchant_qr_id)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("sale_id", &self.sale_id)
            .field("used_by_attempt", &self.used_by_attempt)
            .field("discarded", &self.discarded)
            .finish()
    }
}

const CHECKIN_COLS: &str = "id, customer_token, merchant_qr_id, received_at_ms, \
    relay_received_at_ns, expires_at_ms, sale_id, used_by_attempt, discarded";

fn checkin_from_row(r: &Row<'_>) -> Result<CheckinRow> {
    Ok(CheckinRow {
        id: r.get(0)?,
        customer_token: r.get(1)?,
        merchant_qr_id: r.get(2)?,
        received_at_ms: r.get(3)?,
        relay_received_at_ns: r.get(4)?,
        expires_at_ms: r.get(5)?,
        sale_id: r.get(6)?,
        used_by_attempt: r.get(7)?,
        discarded: r.get::<_, i64>(8)? != 0,
    })
}

/// A check-in to store.
pub struct NewCheckin<'a> {
    pub relay_seq: Option<u64>,
    pub customer_token: &'a str,
    pub merchant_qr_id: &'a str,
    pub initiated_at: Option<&'a str>,
    pub received_at_ms: i64,
    pub relay_received_at_ns: Option<i64>,
    pub expires_at_ms: i64,
    pub sale_id: Option<i64>,
}

/// Stores a check-in; `None` when the same one was stored before (a redelivery).
pub fn insert_checkin(conn: &Connection, c: &NewCheckin<'_>) -> Result<Option<CheckinRow>> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO checkin (relay_seq, customer_token, merchant_qr_id,
             initiated_at, received_at_ms, relay_received_at_ns, expires_at_ms, sale_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            c.relay_seq.map(|s| s as i64),
            c.customer_token,
            c.merchant_qr_id,
            c.initiated_at,
            c.received_at_ms,
            c.relay_received_at_ns,
            c.expires_at_ms,
            c.sale_id
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let id = conn.last_insert_rowid();
    checkin(conn, id)
}

pub fn checkin(conn: &Connection, id: i64) -> Result<Option<CheckinRow>> {
    conn.query_row(
        &format!("SELECT {CHECKIN_COLS} FROM checkin WHERE id = ?1"),
        params![id],
        checkin_from_row,
    )
    .optional()
}

/// The newest unused check-in still valid at `valid_at_ms`, held for `sale_id` or for
/// no sale (received while idle).
pub fn usable_checkin(
    conn: &Connection,
    sale_id: i64,
    valid_at_ms: i64,
) -> Result<Option<CheckinRow>> {
    conn.query_row(
        &format!(
            "SELECT {CHECKIN_COLS} FROM checkin
             WHERE used_by_attempt IS NULL AND discarded = 0 AND expires_at_ms > ?1
               AND (sale_id IS NULL OR sale_id = ?2)
             ORDER BY id DESC LIMIT 1"
        ),
        params![valid_at_ms, sale_id],
        checkin_from_row,
    )
    .optional()
}

/// The newest check-in held while idle (for "customer waiting" at start).
pub fn held_checkin(conn: &Connection, valid_at_ms: i64) -> Result<Option<CheckinRow>> {
    conn.query_row(
        &format!(
            "SELECT {CHECKIN_COLS} FROM checkin
             WHERE used_by_attempt IS NULL AND discarded = 0 AND expires_at_ms > ?1
               AND sale_id IS NULL
             ORDER BY id DESC LIMIT 1"
        ),
        params![valid_at_ms],
        checkin_from_row,
    )
    .optional()
}

pub fn mark_checkin_used(conn: &Connection, id: i64, attempt_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE checkin SET used_by_attempt = ?2 WHERE id = ?1",
        params![id, attempt_id],
    )?;
    Ok(())
}

pub fn discard_checkin(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE checkin SET discarded = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// Discards every unused check-in that belonged to `sale_id` or was held when it started
/// (they were this sale's customer, not the next one's).
pub fn discard_checkins_of_sale(conn: &Connection, sale_id: i64) -> Result<usize> {
    conn.execute(
        "UPDATE checkin SET discarded = 1
         WHERE used_by_attempt IS NULL AND discarded = 0 AND sale_id = ?1",
        params![sale_id],
    )
}

/// The sale a stored check-in belongs to, if any.
pub fn checkin_sale(conn: &Connection, checkin_id: i64) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT sale_id FROM checkin WHERE id = ?1",
        [checkin_id],
        |r| r.get(0),
    )
    .optional()
    .map(Option::flatten)
}

/// Discards every held check-in (no sale yet, unused): the cashier says the customer who
/// scanned is not the one at the till. Returns how many.
pub fn discard_held_checkins(conn: &Connection) -> Result<usize> {
    conn.execute(
        "UPDATE checkin SET discarded = 1
         WHERE sale_id IS NULL AND used_by_attempt IS NULL AND discarded = 0",
        [],
    )
}

/// Gives every held check-in (no sale yet) to `sale_id`.
pub fn assign_held_checkins(conn: &Connection, sale_id: i64) -> Result<usize> {
    conn.execute(
        "UPDATE checkin SET sale_id = ?1
         WHERE sale_id IS NULL AND used_by_attempt IS NULL AND discarded = 0",
        params![sale_id],
    )
}

// ---------------------------------------------------------------------------------------------
// Attempts

/// A stored payment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub sale_id: i64,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub customer_kind: CustomerKind,
    pub checkin_id: Option<i64>,
    pub phone_masked: Option<String>,
    pub status: AttemptStatus,
    pub decision: Option<Decision>,
    pub vipps_state: Option<String>,
    pub authorized_amount: i64,
    pub captured_amount: i64,
    pub cancelled_amount: i64,
    pub refunded_amount: i64,
    pub money_released: bool,
    pub resolved: bool,
    pub needs_admin: bool,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Merchant serial number the payment was created at; `None` for attempts stored before
    /// it was recorded (assume the current one).
    pub vipps_msn: Option<String>,
    /// Vipps base URL (environment) the payment was created at; `None` as for `vipps_msn`.
    pub vipps_base_url: Option<String>,
}

const ATTEMPT_COLS: &str = "id, sale_id, reference, amount, currency, customer_kind, checkin_id, \
    phone_masked, status, decision, vipps_state, authorized_amount, captured_amount, \
    cancelled_amount, refunded_amount, money_released, resolved, needs_admin, last_error, \
    created_at_ms, updated_at_ms, vipps_msn, vipps_base_url";

fn attempt_from_row(r: &Row<'_>) -> Result<AttemptRow> {
    Ok(AttemptRow {
        id: r.get(0)?,
        sale_id: r.get(1)?,
        reference: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        amount: r.get(3)?,
        currency: r.get(4)?,
        customer_kind: r.get(5)?,
        checkin_id: r.get(6)?,
        phone_masked: r.get(7)?,
        status: r.get(8)?,
        decision: r.get(9)?,
        vipps_state: r.get(10)?,
        authorized_amount: r.get(11)?,
        captured_amount: r.get(12)?,
        cancelled_amount: r.get(13)?,
        refunded_amount: r.get(14)?,
        money_released: r.get::<_, i64>(15)? != 0,
        resolved: r.get::<_, i64>(16)? != 0,
        needs_admin: r.get::<_, i64>(17)? != 0,
        last_error: r.get(18)?,
        created_at_ms: r.get(19)?,
        updated_at_ms: r.get(20)?,
        vipps_msn: r.get(21)?,
        vipps_base_url: r.get(22)?,
    })
}

/// Inserts an attempt and gives it the reference `make_reference(id)`.
#[allow(clippy::too_many_arguments)]
pub fn insert_attempt(
    conn: &Connection,
    sale_id: i64,
    amount: i64,
    currency: &str,
    customer_kind: CustomerKind,
    checkin_id: Option<i64>,
    phone_masked: Option<&str>,
    now_ms: i64,
    make_reference: impl FnOnce(i64) -> std::result::Result<String, String>,
) -> Result<AttemptRow> {
    conn.execute(
        "INSERT INTO payment_attempt (sale_id, amount, currency, customer_kind, checkin_id,
             phone_masked, status, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'creating', ?7, ?7)",
        params![
            sale_id,
            amount,
            currency,
            customer_kind,
            checkin_id,
            phone_masked,
            now_ms
        ],
    )?;
    let id = conn.last_insert_rowid();
    let reference = make_reference(id)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(e))))?;
    conn.execute(
        "UPDATE payment_attempt SET reference = ?2 WHERE id = ?1",
        params![id, reference],
    )?;
    conn.execute(
        "UPDATE sale SET attempts = attempts + 1 WHERE id = ?1",
        params![sale_id],
    )?;
    attempt(conn, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// Records the Vipps sales unit (merchant serial number and base URL) an attempt is created at,
/// in the transaction that inserts it: the payment is only found there.
pub fn set_attempt_sales_unit(
    conn: &Connection,
    attempt_id: i64,
    msn: &str,
    base_url: &str,
) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET vipps_msn = ?2, vipps_base_url = ?3 WHERE id = ?1",
        params![attempt_id, msn, base_url],
    )?;
    Ok(())
}

pub fn attempt(conn: &Connection, id: i64) -> Result<Option<AttemptRow>> {
    conn.query_row(
        &format!("SELECT {ATTEMPT_COLS} FROM payment_attempt WHERE id = ?1"),
        params![id],
        attempt_from_row,
    )
    .optional()
}

pub fn attempt_by_reference(conn: &Connection, reference: &str) -> Result<Option<AttemptRow>> {
    conn.query_row(
        &format!("SELECT {ATTEMPT_COLS} FROM payment_attempt WHERE reference = ?1"),
        params![reference],
        attempt_from_row,
    )
    .optional()
}

/// Attempts of one sale, oldest first.
pub fn attempts_of_sale(conn: &Connection, sale_id: i64) -> Result<Vec<AttemptRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ATTEMPT_COLS} FROM payment_attempt WHERE sale_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![sale_id], attempt_from_row)?;
    rows.collect()
}

/// Attempts that still need Vipps: unresolved ones, and resolved ones with an open refund.
pub fn attempts_needing_reconcile(conn: &Connection) -> Result<Vec<AttemptRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ATTEMPT_COLS} FROM payment_attempt a
         WHERE a.resolved = 0
            OR EXISTS (SELECT 1 FROM payment_operation o
                       WHERE o.attempt_id = a.id AND o.status = 'intended')
         ORDER BY a.id"
    ))?;
    let rows = stmt.query_map([], attempt_from_row)?;
    rows.collect()
}

/// Vipps sent an event for `reference`, so the payment exists there. If the till had closed it
/// as never created (a 404 read while the create was still on its way, or a create answered
/// 4xx while an earlier try of it was still being processed), reopen it with a cancel decision
/// so reconciliation releases whatever the customer reserves. True when an attempt was reopened.
pub fn reopen_if_not_created(conn: &Connection, reference: &str, now_ms: i64) -> Result<bool> {
    let n = conn.execute(
        "UPDATE payment_attempt SET resolved = 0, decision = 'cancel', status = 'cancelling',
             updated_at_ms = ?2
         WHERE reference = ?1 AND resolved = 1 AND status IN ('not_created', 'rejected')",
        params![reference, now_ms],
    )?;
    Ok(n > 0)
}

/// What Vipps last said about an attempt's money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
    pub refunded: i64,
}

pub fn record_vipps_view(
    conn: &Connection,
    attempt_id: i64,
    vipps_state: &str,
    a: Amounts,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET vipps_state = ?2, authorized_amount = ?3,
             captured_amount = ?4, cancelled_amount = ?5, refunded_amount = ?6, updated_at_ms = ?7
         WHERE id = ?1",
        params![
            attempt_id,
            vipps_state,
            a.authorized,
            a.captured,
            a.cancelled,
            a.refunded,
            now_ms
        ],
    )?;
    Ok(())
}

/// Records a status; `resolved` follows it (a settled status needs nothing more from Vipps).
pub fn set_attempt_status(
    conn: &Connection,
    attempt_id: i64,
    status: AttemptStatus,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET status = ?2, resolved = ?3, updated_at_ms = ?4 WHERE id = ?1",
        params![attempt_id, status, status.is_settled() as i64, now_ms],
    )?;
    Ok(())
}

pub fn set_decision(
    conn: &Connection,
    attempt_id: i64,
    decision: Decision,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET decision = ?2, updated_at_ms = ?3 WHERE id = ?1",
        params![attempt_id, decision, now_ms],
    )?;
    Ok(())
}

pub fn set_money_released(conn: &Connection, attempt_id: i64, released: bool) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET money_released = ?2 WHERE id = ?1",
        params![attempt_id, released as i64],
    )?;
    Ok(())
}

pub fn flag_needs_admin(conn: &Connection, attempt_id: i64, why: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET needs_admin = 1, last_error = ?2, updated_at_ms = ?3
         WHERE id = ?1",
        params![attempt_id, why, now_ms],
    )?;
    Ok(())
}

pub fn set_last_error(conn: &Connection, attempt_id: i64, error: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE payment_attempt SET last_error = ?2, updated_at_ms = ?3 WHERE id = ?1",
        params![attempt_id, error, now_ms],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A stored operation (intent plus, once known, result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRow {
    pub id: i64,
    pub attempt_id: i64,
    pub kind: OpKind,
    pub seq: u32,
    pub idempotency_key: String,
    pub amount: i64,
    pub status: OpStatus,
    pub http_status: Option<u16>,
    pub error_code: Option<u32>,
    pub detail: Option<String>,
    pub created_at_ms: i64,
}

const OP_COLS: &str = "id, attempt_id, kind, seq, idempotency_key, amount, status, http_status, \
    error_code, detail, created_at_ms";

fn op_from_row(r: &Row<'_>) -> Result<OperationRow> {
    Ok(OperationRow {
        id: r.get(0)?,
        attempt_id: r.get(1)?,
        kind: r.get(2)?,
        seq: r.get(3)?,
        idempotency_key: r.get(4)?,
        amount: r.get(5)?,
        status: r.get(6)?,
        http_status: r.get(7)?,
        error_code: r.get(8)?,
        detail: r.get(9)?,
        created_at_ms: r.get(10)?,
    })
}

/// The next counter for `kind` on an attempt (1 for the first).
pub fn next_op_seq(conn: &Connection, attempt_id: i64, kind: OpKind) -> Result<u32> {
    let max: Option<u32> = conn.query_row(
        "SELECT MAX(seq) FROM payment_operation WHERE attempt_id = ?1 AND kind = ?2",
        params![attempt_id, kind],
        |r| r.get(0),
    )?;
    Ok(max.unwrap_or(0) + 1)
}

pub fn insert_operation(
    conn: &Connection,
    attempt_id: i64,
    kind: OpKind,
    seq: u32,
    idempotency_key: &str,
    amount: i64,
    now_ms: i64,
) -> Result<OperationRow> {
    conn.execute(
        "INSERT INTO payment_operation (attempt_id, kind, seq, idempotency_key, amount, status,
             created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'intended', ?6)",
        params![attempt_id, kind, seq, idempotency_key, amount, now_ms],
    )?;
    let id = conn.last_insert_rowid();
    conn.query_row(
        &format!("SELECT {OP_COLS} FROM payment_operation WHERE id = ?1"),
        params![id],
        op_from_row,
    )
}

pub fn finish_operation(
    conn: &Connection,
    op_id: i64,
    status: OpStatus,
    http_status: Option<u16>,
    error_code: Option<u32>,
    detail: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE payment_operation SET status = ?2, http_status = ?3, error_code = ?4,
             detail = ?5, finished_at_ms = ?6
         WHERE id = ?1",
        params![op_id, status, http_status, error_code, detail, now_ms],
    )?;
    Ok(())
}

/// Operations of an attempt, oldest first.
pub fn operations_of_attempt(conn: &Connection, attempt_id: i64) -> Result<Vec<OperationRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {OP_COLS} FROM payment_operation WHERE attempt_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![attempt_id], op_from_row)?;
    rows.collect()
}

/// The open (intended, no result) operation of `kind` on an attempt, if any.
pub fn open_operation(
    conn: &Connection,
    attempt_id: i64,
    kind: OpKind,
) -> Result<Option<OperationRow>> {
    conn.query_row(
        &format!(
            "SELECT {OP_COLS} FROM payment_operation
             WHERE attempt_id = ?1 AND kind = ?2 AND status = 'intended'
             ORDER BY id DESC LIMIT 1"
        ),
        params![attempt_id, kind],
        op_from_row,
    )
    .optional()
}

/// Closes every open intent of an attempt as abandoned: the attempt is settled, so no answer
/// to them can matter any more (an operation never stays `intended` after its payment ends).
/// Refunds are left alone (they live on after the payment). Returns how many were closed.
pub fn abandon_open_operations(conn: &Connection, attempt_id: i64, now_ms: i64) -> Result<usize> {
    conn.execute(
        "UPDATE payment_operation SET status = 'abandoned', finished_at_ms = ?2,
             detail = coalesce(detail, 'closed when the payment was settled')
         WHERE attempt_id = ?1 AND status = 'intended' AND kind != 'refund'",
        params![attempt_id, now_ms],
    )
}

/// Stores the exact body of a create request beside its intent, so recovery can re-send it
/// with the same key and body.
pub fn set_request_body(conn: &Connection, op_id: i64, body: &str) -> Result<()> {
    conn.execute(
        "UPDATE payment_operation SET request_body = ?2 WHERE id = ?1",
        params![op_id, body],
    )?;
    Ok(())
}

/// The stored body of a create request, while its attempt is not settled.
pub fn request_body(conn: &Connection, op_id: i64) -> Result<Option<String>> {
    conn.query_row(
        "SELECT request_body FROM payment_operation WHERE id = ?1",
        params![op_id],
        |r| r.get(0),
    )
    .optional()
    .map(Option::flatten)
}

/// Forgets the create bodies of an attempt (they hold the customer's token or phone number).
pub fn clear_request_bodies(conn: &Connection, attempt_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE payment_operation SET request_body = NULL
         WHERE attempt_id = ?1 AND request_body IS NOT NULL",
        params![attempt_id],
    )?;
    Ok(())
}

/// The latest operation of `kind` on an attempt, as the decision sees it.
fn last_intent(conn: &Connection, attempt_id: i64, kind: OpKind) -> Result<Intent> {
    let last: Option<(OpStatus, Option<i64>)> = conn
        .query_row(
            "SELECT status, sent_at_ms FROM payment_operation WHERE attempt_id = ?1 AND kind = ?2
             ORDER BY id DESC LIMIT 1",
            params![attempt_id, kind],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match last {
        None => Intent::None,
        Some((status, sent)) => Intent::of(Some(status), sent.is_some()),
    })
}

/// Marks an intent as about to be sent: from here on its request may reach Vipps, even if
/// this process dies.
pub fn mark_sent(conn: &Connection, op_id: i64, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE payment_operation SET sent_at_ms = coalesce(sent_at_ms, ?2) WHERE id = ?1",
        params![op_id, now_ms],
    )?;
    Ok(())
}

/// What the decision function needs to know of an attempt ([`crate::core::payment::decide`]).
pub fn stored_facts(conn: &Connection, a: &AttemptRow) -> Result<Stored> {
    Ok(Stored {
        amount: a.amount,
        decision: a.decision,
        create: last_intent(conn, a.id, OpKind::Create)?,
        capture: last_intent(conn, a.id, OpKind::Capture)?,
    })
}

/// Records a create, capture, cancel or refund request about to be sent.
pub fn record_call(conn: &Connection, reference: &str, api: OpKind, now_ms: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO vipps_call (reference, api, at_ms) VALUES (?1, ?2, ?3)",
        params![reference, api, now_ms],
    )?;
    Ok(())
}

/// Forgets calls older than an hour (pacing only looks one minute back). Run with
/// reconciliation, not on every call.
pub fn prune_calls(conn: &Connection, now_ms: i64) -> Result<usize> {
    conn.execute(
        "DELETE FROM vipps_call WHERE at_ms < ?1",
        params![now_ms - 3_600_000],
    )
}

/// Money calls sent for `reference` at or after `since_ms`: (API, sent at).
pub fn calls_since(
    conn: &Connection,
    reference: &str,
    since_ms: i64,
) -> Result<Vec<(OpKind, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT api, at_ms FROM vipps_call WHERE reference = ?1 AND at_ms >= ?2 ORDER BY at_ms",
    )?;
    let rows = stmt.query_map(params![reference, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Sum of refund amounts that succeeded or are still intended (money promised back).
pub fn refunds_committed(conn: &Connection, attempt_id: i64) -> Result<i64> {
    conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM payment_operation
         WHERE attempt_id = ?1 AND kind = 'refund' AND status IN ('intended', 'succeeded')",
        params![attempt_id],
        |r| r.get(0),
    )
}

// ---------------------------------------------------------------------------------------------
// Payment events

/// A payment event to store.
pub struct NewPaymentEvent<'a> {
    pub relay_seq: Option<u64>,
    pub reference: &'a str,
    pub name: &'a str,
    pub psp_reference: &'a str,
    pub amount: i64,
    pub success: bool,
    pub timestamp: &'a str,
    pub relay_received_at_ns: Option<i64>,
    pub received_at_ms: i64,
}

/// Stores an event; false when it was stored before (Vipps and the relay deliver at least once).
pub fn insert_payment_event(conn: &Connection, e: &NewPaymentEvent<'_>) -> Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO payment_event (relay_seq, reference, name, psp_reference,
             amount, success, timestamp, relay_received_at_ns, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.relay_seq.map(|s| s as i64),
            e.reference,
            e.name,
            e.psp_reference,
            e.amount,
            e.success as i64,
            e.timestamp,
            e.relay_received_at_ns,
            e.received_at_ms
        ],
    )?;
    Ok(n > 0)
}

/// When the relay received the first `name` event of `reference` (unix ns), for benches.
pub fn event_relay_received_ns(
    conn: &Connection,
    reference: &str,
    name: &str,
) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT MIN(relay_received_at_ns) FROM payment_event
         WHERE reference = ?1 AND name = ?2",
        params![reference, name],
        |r| r.get(0),
    )
}
