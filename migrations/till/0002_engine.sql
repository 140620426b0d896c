-- Payment engine state. Every Vipps call that can move money has its intent row
-- (engine_operations, status 'intended') committed before the call and its result
-- written after it; references and idempotency keys derive from these rows' ids.

-- The shared tables (sale, payment_attempt, refund, journal) are written too: each attempt
-- and refund is mirrored there for the history and the window.

-- Small settings: relay_cursor (last relay sequence number stored), qr_content (last known
-- QR text).
CREATE TABLE engine_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Check-ins (user.checked-in.v1) received through the relay. A check-in received while
-- no sale is in progress is held for the next sale until it expires (15 minutes);
-- one received during a sale belongs to that sale.
CREATE TABLE engine_checkins (
    id                   INTEGER PRIMARY KEY,
    relay_seq            INTEGER,
    customer_token       TEXT NOT NULL,
    merchant_qr_id       TEXT NOT NULL,
    initiated_at         TEXT,
    received_at_ms       INTEGER NOT NULL,
    relay_received_at_ns INTEGER,
    expires_at_ms        INTEGER NOT NULL,
    sale_id              INTEGER,          -- the sale in progress when it arrived, if any
    used_by_attempt      INTEGER,          -- the attempt that sent a payment request with it
    discarded            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (merchant_qr_id, customer_token)
);

-- One row per payment request sent (or about to be sent) to Vipps.
CREATE TABLE engine_attempts (
    id                INTEGER PRIMARY KEY,
    sale_id           INTEGER NOT NULL REFERENCES sale (id),
    store_attempt_id  INTEGER REFERENCES payment_attempt (id),   -- the mirrored row
    reference         TEXT UNIQUE,          -- <till_id>-<install_id>-<id>, set in the inserting transaction
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    customer_kind     TEXT NOT NULL CHECK (customer_kind IN ('token', 'phone')),
    checkin_id        INTEGER REFERENCES engine_checkins(id),
    phone_masked      TEXT,
    -- creating | requested | authorized | capturing | cancelling | completed | declined
    -- | expired | cancelled | rejected | not_created | needs_admin
    status            TEXT NOT NULL,
    -- What to do with money the customer reserves: 'capture' or 'cancel'. NULL = not decided
    -- (recovery then cancels: never capture what was not decided).
    decision          TEXT CHECK (decision IN ('capture', 'cancel')),
    vipps_state       TEXT,
    authorized_amount INTEGER NOT NULL DEFAULT 0,
    captured_amount   INTEGER NOT NULL DEFAULT 0,
    cancelled_amount  INTEGER NOT NULL DEFAULT 0,
    refunded_amount   INTEGER NOT NULL DEFAULT 0,
    money_released    INTEGER NOT NULL DEFAULT 0,
    resolved          INTEGER NOT NULL DEFAULT 0,   -- 1: nothing more will happen at Vipps (refunds aside)
    needs_admin       INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX engine_attempts_sale ON engine_attempts(sale_id);
CREATE INDEX engine_attempts_unresolved ON engine_attempts(resolved) WHERE resolved = 0;

-- Intent and result of every create, capture, cancel and refund call.
CREATE TABLE engine_operations (
    id              INTEGER PRIMARY KEY,
    attempt_id      INTEGER NOT NULL REFERENCES engine_attempts(id),
    kind            TEXT NOT NULL CHECK (kind IN ('create', 'capture', 'cancel', 'refund')),
    seq             INTEGER NOT NULL,      -- the n of <reference>-<kind>-<n>
    idempotency_key TEXT NOT NULL UNIQUE,
    amount          INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('intended', 'succeeded', 'rejected', 'abandoned')),
    store_refund_id INTEGER REFERENCES refund (id),               -- refunds: the mirrored row
    http_status     INTEGER,
    error_code      INTEGER,
    detail          TEXT,
    created_at_ms   INTEGER NOT NULL,
    finished_at_ms  INTEGER,
    UNIQUE (attempt_id, kind, seq)
);
CREATE INDEX engine_operations_open ON engine_operations(status) WHERE status = 'intended';

-- ePayment webhook events received through the relay (deduplicated).
CREATE TABLE engine_payment_events (
    id                   INTEGER PRIMARY KEY,
    relay_seq            INTEGER,
    reference            TEXT NOT NULL,
    name                 TEXT NOT NULL,
    psp_reference        TEXT NOT NULL,
    amount               INTEGER NOT NULL,
    success              INTEGER NOT NULL,
    timestamp            TEXT NOT NULL,
    relay_received_at_ns INTEGER,
    received_at_ms       INTEGER NOT NULL,
    UNIQUE (reference, name, psp_reference)
);
CREATE INDEX engine_payment_events_reference ON engine_payment_events(reference);
