//! The payment engine's tables (`migrations/till/*_engine.sql`): attempts, operation intents,
//! check-ins, received payment events and small settings.
//!
//! Functions take a `&Connection` so they run inside the caller's transaction (a
//! `rusqlite::Transaction` derefs to one): an intent, its journal entry and any cursor move
//! commit together.

use rusqlite::{Connection, OptionalExtension, Row, params};

/// Errors of the engine's repository.
pub type Result<T> = std::result::Result<T, rusqlite::Error>;

/// `engine_meta` key of the last stored relay sequence number.
pub const META_RELAY_CURSOR: &str = "relay_cursor";
/// `engine_meta` key of the last known QR content.
pub const META_QR_CONTENT: &str = "qr_content";

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM engine_meta WHERE key = ?1",
        params![key],
        |r| r.get(0),
    )
    .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO engine_meta (key, value) VALUES (?1, ?2)
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
        "INSERT OR IGNORE INTO engine_checkins (relay_seq, customer_token, merchant_qr_id,
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
        &format!("SELECT {CHECKIN_COLS} FROM engine_checkins WHERE id = ?1"),
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
            "SELECT {CHECKIN_COLS} FROM engine_checkins
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
            "SELECT {CHECKIN_COLS} FROM engine_checkins
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
        "UPDATE engine_checkins SET used_by_attempt = ?2 WHERE id = ?1",
        params![id, attempt_id],
    )?;
    Ok(())
}

pub fn discard_checkin(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE engine_checkins SET discarded = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// Discards every unused check-in that belonged to `sale_id` or was held when it started
/// (they were this sale's customer, not the next one's).
pub fn discard_checkins_of_sale(conn: &Connection, sale_id: i64) -> Result<usize> {
    conn.execute(
        "UPDATE engine_checkins SET discarded = 1
         WHERE used_by_attempt IS NULL AND discarded = 0 AND sale_id = ?1",
        params![sale_id],
    )
}

/// Gives every held check-in (no sale yet) to `sale_id`.
pub fn assign_held_checkins(conn: &Connection, sale_id: i64) -> Result<usize> {
    conn.execute(
        "UPDATE engine_checkins SET sale_id = ?1
         WHERE sale_id IS NULL AND used_by_attempt IS NULL AND discarded = 0",
        params![sale_id],
    )
}

// ---------------------------------------------------------------------------------------------
// Attempts

/// Status texts of `engine_attempts.status`.
pub mod status {
    pub const CREATING: &str = "creating";
    pub const REQUESTED: &str = "requested";
    pub const AUTHORIZED: &str = "authorized";
    pub const CAPTURING: &str = "capturing";
    pub const CANCELLING: &str = "cancelling";
    pub const COMPLETED: &str = "completed";
    pub const DECLINED: &str = "declined";
    pub const EXPIRED: &str = "expired";
    pub const CANCELLED: &str = "cancelled";
    pub const REJECTED: &str = "rejected";
    pub const NOT_CREATED: &str = "not_created";
    pub const NEEDS_ADMIN: &str = "needs_admin";
}

/// A stored payment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub sale_id: i64,
    /// The mirrored `payment_attempt` row.
    pub store_attempt_id: Option<i64>,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub customer_kind: String,
    pub checkin_id: Option<i64>,
    pub phone_masked: Option<String>,
    pub status: String,
    pub decision: Option<String>,
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

const ATTEMPT_COLS: &str = "id, sale_id, store_attempt_id, reference, amount, currency, customer_kind, checkin_id, \
    phone_masked, status, decision, vipps_state, authorized_amount, captured_amount, \
    cancelled_amount, refunded_amount, money_released, resolved, needs_admin, last_error, \
    created_at_ms, updated_at_ms, vipps_msn, vipps_base_url";

fn attempt_from_row(r: &Row<'_>) -> Result<AttemptRow> {
    Ok(AttemptRow {
        id: r.get(0)?,
        sale_id: r.get(1)?,
        store_attempt_id: r.get(2)?,
        reference: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        amount: r.get(4)?,
        currency: r.get(5)?,
        customer_kind: r.get(6)?,
        checkin_id: r.get(7)?,
        phone_masked: r.get(8)?,
        status: r.get(9)?,
        decision: r.get(10)?,
        vipps_state: r.get(11)?,
        authorized_amount: r.get(12)?,
        captured_amount: r.get(13)?,
        cancelled_amount: r.get(14)?,
        refunded_amount: r.get(15)?,
        money_released: r.get::<_, i64>(16)? != 0,
        resolved: r.get::<_, i64>(17)? != 0,
        needs_admin: r.get::<_, i64>(18)? != 0,
        last_error: r.get(19)?,
        created_at_ms: r.get(20)?,
        updated_at_ms: r.get(21)?,
        vipps_msn: r.get(22)?,
        vipps_base_url: r.get(23)?,
    })
}

/// Inserts an attempt and gives it the reference `make_reference(id)`.
#[allow(clippy::too_many_arguments)]
pub fn insert_attempt(
    conn: &Connection,
    sale_id: i64,
    amount: i64,
    currency: &str,
    customer_kind: &str,
    checkin_id: Option<i64>,
    phone_masked: Option<&str>,
    now_ms: i64,
    make_reference: impl FnOnce(i64) -> std::result::Result<String, String>,
) -> Result<AttemptRow> {
    conn.execute(
        "INSERT INTO engine_attempts (sale_id, amount, currency, customer_kind, checkin_id,
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
        "UPDATE engine_attempts SET reference = ?2 WHERE id = ?1",
        params![id, reference],
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
        "UPDATE engine_attempts SET vipps_msn = ?2, vipps_base_url = ?3 WHERE id = ?1",
        params![attempt_id, msn, base_url],
    )?;
    Ok(())
}

pub fn attempt(conn: &Connection, id: i64) -> Result<Option<AttemptRow>> {
    conn.query_row(
        &format!("SELECT {ATTEMPT_COLS} FROM engine_attempts WHERE id = ?1"),
        params![id],
        attempt_from_row,
    )
    .optional()
}

pub fn attempt_by_reference(conn: &Connection, reference: &str) -> Result<Option<AttemptRow>> {
    conn.query_row(
        &format!("SELECT {ATTEMPT_COLS} FROM engine_attempts WHERE reference = ?1"),
        params![reference],
        attempt_from_row,
    )
    .optional()
}

/// Attempts of one sale, oldest first.
pub fn attempts_of_sale(conn: &Connection, sale_id: i64) -> Result<Vec<AttemptRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ATTEMPT_COLS} FROM engine_attempts WHERE sale_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![sale_id], attempt_from_row)?;
    rows.collect()
}

/// Attempts that still need Vipps: unresolved ones, and resolved ones with an open refund.
pub fn attempts_needing_reconcile(conn: &Connection) -> Result<Vec<AttemptRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ATTEMPT_COLS} FROM engine_attempts a
         WHERE a.resolved = 0
            OR EXISTS (SELECT 1 FROM engine_operations o
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
        "UPDATE engine_attempts SET resolved = 0, decision = 'cancel', updated_at_ms = ?2
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
        "UPDATE engine_attempts SET vipps_state = ?2, authorized_amount = ?3,
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

pub fn set_attempt_status(
    conn: &Connection,
    attempt_id: i64,
    status: &str,
    resolved: bool,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE engine_attempts SET status = ?2, resolved = ?3, updated_at_ms = ?4 WHERE id = ?1",
        params![attempt_id, status, resolved as i64, now_ms],
    )?;
    Ok(())
}

pub fn set_decision(conn: &Connection, attempt_id: i64, decision: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE engine_attempts SET decision = ?2, updated_at_ms = ?3 WHERE id = ?1",
        params![attempt_id, decision, now_ms],
    )?;
    Ok(())
}

pub fn set_money_released(conn: &Connection, attempt_id: i64, released: bool) -> Result<()> {
    conn.execute(
        "UPDATE engine_attempts SET money_released = ?2 WHERE id = ?1",
        params![attempt_id, released as i64],
    )?;
    Ok(())
}

pub fn flag_needs_admin(conn: &Connection, attempt_id: i64, why: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE engine_attempts SET needs_admin = 1, last_error = ?2, updated_at_ms = ?3
         WHERE id = ?1",
        params![attempt_id, why, now_ms],
    )?;
    Ok(())
}

pub fn set_last_error(conn: &Connection, attempt_id: i64, error: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE engine_attempts SET last_error = ?2, updated_at_ms = ?3 WHERE id = ?1",
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
    pub kind: String,
    pub seq: u32,
    pub idempotency_key: String,
    pub amount: i64,
    pub status: String,
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
pub fn next_op_seq(conn: &Connection, attempt_id: i64, kind: &str) -> Result<u32> {
    let max: Option<u32> = conn.query_row(
        "SELECT MAX(seq) FROM engine_operations WHERE attempt_id = ?1 AND kind = ?2",
        params![attempt_id, kind],
        |r| r.get(0),
    )?;
    Ok(max.unwrap_or(0) + 1)
}

pub fn insert_operation(
    conn: &Connection,
    attempt_id: i64,
    kind: &str,
    seq: u32,
    idempotency_key: &str,
    amount: i64,
    now_ms: i64,
) -> Result<OperationRow> {
    conn.execute(
        "INSERT INTO engine_operations (attempt_id, kind, seq, idempotency_key, amount, status,
             created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'intended', ?6)",
        params![attempt_id, kind, seq, idempotency_key, amount, now_ms],
    )?;
    let id = conn.last_insert_rowid();
    conn.query_row(
        &format!("SELECT {OP_COLS} FROM engine_operations WHERE id = ?1"),
        params![id],
        op_from_row,
    )
}

pub fn finish_operation(
    conn: &Connection,
    op_id: i64,
    status: &str,
    http_status: Option<u16>,
    error_code: Option<u32>,
    detail: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE engine_operations SET status = ?2, http_status = ?3, error_code = ?4,
             detail = ?5, finished_at_ms = ?6
         WHERE id = ?1",
        params![op_id, status, http_status, error_code, detail, now_ms],
    )?;
    Ok(())
}

/// Operations of an attempt, oldest first.
pub fn operations_of_attempt(conn: &Connection, attempt_id: i64) -> Result<Vec<OperationRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {OP_COLS} FROM engine_operations WHERE attempt_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![attempt_id], op_from_row)?;
    rows.collect()
}

/// The open (intended, no result) operation of `kind` on an attempt, if any.
pub fn open_operation(
    conn: &Connection,
    attempt_id: i64,
    kind: &str,
) -> Result<Option<OperationRow>> {
    conn.query_row(
        &format!(
            "SELECT {OP_COLS} FROM engine_operations
             WHERE attempt_id = ?1 AND kind = ?2 AND status = 'intended'
             ORDER BY id DESC LIMIT 1"
        ),
        params![attempt_id, kind],
        op_from_row,
    )
    .optional()
}

/// Sum of refund amounts that succeeded or are still intended (money promised back).
pub fn refunds_committed(conn: &Connection, attempt_id: i64) -> Result<i64> {
    conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM engine_operations
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
        "INSERT OR IGNORE INTO engine_payment_events (relay_seq, reference, name, psp_reference,
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
        "SELECT MIN(relay_received_at_ns) FROM engine_payment_events
         WHERE reference = ?1 AND name = ?2",
        params![reference, name],
        |r| r.get(0),
    )
}

// ---------------------------------------------------------------------------------------------
// Mirror into the shared tables (`payment_attempt`, `refund`) read by the history and the window.
// The engine's own rows above are the source of truth; these follow them in the same
// transaction. The sale's state is moved separately (core state machine).

/// The shared `payment_attempt.state` text for an engine status.
fn mirror_state(status_text: &str) -> &'static str {
    match status_text {
        status::CREATING | status::REQUESTED => "payment_requested",
        status::AUTHORIZED => "authorized",
        status::CAPTURING => "capturing",
        status::CANCELLING => "cancelling",
        status::COMPLETED => "completed",
        status::DECLINED => "declined",
        status::EXPIRED => "expired",
        status::CANCELLED => "cancelled",
        _ => "failed",
    }
}

/// Inserts or updates the shared `payment_attempt` row of an attempt.
pub fn mirror_attempt(conn: &Connection, attempt_id: i64, now_ms: i64) -> Result<()> {
    let a = attempt(conn, attempt_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let ops = operations_of_attempt(conn, attempt_id)?;
    let create_key = ops
        .iter()
        .find(|o| o.kind == "create")
        .map(|o| o.idempotency_key.clone())
        .unwrap_or_else(|| format!("{}-create", a.reference));
    let capture = ops.iter().rev().find(|o| o.kind == "capture");
    let cancel = ops.iter().find(|o| o.kind == "cancel");
    let state = mirror_state(&a.status);
    let id = match a.store_attempt_id {
        Some(id) => id,
        None => {
            let number: i64 = conn.query_row(
                "SELECT count(*) + 1 FROM payment_attempt WHERE sale_id = ?1",
                params![a.sale_id],
                |r| r.get(0),
            )?;
            let flow = if a.customer_kind == "token" {
                "customer_token"
            } else {
                "phone"
            };
            conn.execute(
                "INSERT INTO payment_attempt (sale_id, attempt, reference, state, amount, currency,
                     flow, create_key, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                params![
                    a.sale_id,
                    number,
                    a.reference,
                    state,
                    a.amount,
                    a.currency,
                    flow,
                    create_key,
                    now_ms
                ],
            )?;
            let id = conn.last_insert_rowid();
            conn.execute(
                "UPDATE engine_attempts SET store_attempt_id = ?2 WHERE id = ?1",
                params![attempt_id, id],
            )?;
            conn.execute(
                "UPDATE sale SET attempts = ?2 WHERE id = ?1",
                params![a.sale_id, number],
            )?;
            id
        }
    };
    conn.execute(
        "UPDATE payment_attempt SET state = ?2, capture_key = ?3, capture_amount = ?4,
             cancel_key = ?5, authorized_amount = ?6, captured_amount = ?7,
             cancelled_amount = ?8, refunded_amount = ?9, last_error = ?10, updated_ms = ?11
         WHERE id = ?1",
        params![
            id,
            state,
            capture.map(|o| o.idempotency_key.clone()),
            capture.map(|o| o.amount),
            cancel.map(|o| o.idempotency_key.clone()),
            a.authorized_amount,
            a.captured_amount,
            a.cancelled_amount,
            a.refunded_amount,
            a.last_error,
            now_ms
        ],
    )?;
    Ok(())
}

/// Inserts or updates the shared `refund` row of a refund operation.
pub fn mirror_refund(conn: &Connection, op_id: i64, now_ms: i64) -> Result<()> {
    let (attempt_id, seq, key, amount, op_status, store_refund_id, detail): (
        i64,
        i64,
        String,
        i64,
        String,
        Option<i64>,
        Option<String>,
    ) = conn.query_row(
        "SELECT attempt_id, seq, idempotency_key, amount, status, store_refund_id, detail
         FROM engine_operations WHERE id = ?1 AND kind = 'refund'",
        params![op_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )?;
    let state = match op_status.as_str() {
        "succeeded" => "done",
        "intended" => "requested",
        _ => "failed",
    };
    match store_refund_id {
        Some(id) => {
            conn.execute(
                "UPDATE refund SET state = ?2, last_error = ?3, updated_ms = ?4 WHERE id = ?1",
                params![id, state, detail, now_ms],
            )?;
        }
        None => {
            mirror_attempt(conn, attempt_id, now_ms)?;
            let store_attempt: i64 = conn.query_row(
                "SELECT store_attempt_id FROM engine_attempts WHERE id = ?1",
                params![attempt_id],
                |r| r.get(0),
            )?;
            conn.execute(
                "INSERT INTO refund (attempt_id, seq, amount, idempotency_key, state, last_error,
                     created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![store_attempt, seq, amount, key, state, detail, now_ms],
            )?;
            let id = conn.last_insert_rowid();
            conn.execute(
                "UPDATE engine_operations SET store_refund_id = ?2 WHERE id = ?1",
                params![op_id, id],
            )?;
        }
    }
    Ok(())
}
