-- One payment model. The engine's tables become the only record of payments: the copies in
-- the first schema's payment_attempt and refund tables go, engine_meta folds into meta, and
-- the engine's tables are rebuilt STRICT with their statuses checked. Every row is carried
-- over with its id, so references and idempotency keys stay as they were.
--
--   payment_attempt    one payment request at Vipps (one reference)
--   payment_operation  intent and result of every create, capture, cancel and refund call
--   checkin            customer tokens from user.checked-in.v1, held for a sale
--   payment_event      ePayment webhooks received through the relay (deduplicated)
--   vipps_call         money calls as sent, for Vipps' per-API rate limits across restarts

INSERT OR REPLACE INTO meta (key, value) SELECT key, value FROM engine_meta;
DROP TABLE engine_meta;

CREATE TABLE checkin (
    id                   INTEGER PRIMARY KEY,
    relay_seq            INTEGER,
    customer_token       TEXT NOT NULL,
    merchant_qr_id       TEXT NOT NULL,
    initiated_at         TEXT,
    received_at_ms       INTEGER NOT NULL,
    relay_received_at_ns INTEGER,
    expires_at_ms        INTEGER NOT NULL,
    sale_id              INTEGER REFERENCES sale (id),  -- the sale it belongs to, if any
    used_by_attempt      INTEGER,                       -- the attempt that used its token
    discarded            INTEGER NOT NULL DEFAULT 0 CHECK (discarded IN (0, 1)),
    UNIQUE (merchant_qr_id, customer_token)
) STRICT;
INSERT INTO checkin
SELECT id, relay_seq, customer_token, merchant_qr_id, initiated_at, received_at_ms,
       relay_received_at_ns, expires_at_ms, sale_id, used_by_attempt, discarded
FROM engine_checkins;

CREATE TABLE payment_attempt_v4 (
    id                INTEGER PRIMARY KEY,
    sale_id           INTEGER NOT NULL REFERENCES sale (id),
    -- <till_id>-<install_id>-<id>, set in the inserting transaction.
    reference         TEXT UNIQUE,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL CHECK (currency IN ('NOK', 'DKK', 'EUR')),
    customer_kind     TEXT NOT NULL CHECK (customer_kind IN ('token', 'phone',
                          'personal_qr', 'one_time_qr')),
    checkin_id        INTEGER REFERENCES checkin (id),
    phone_masked      TEXT,
    status            TEXT NOT NULL CHECK (status IN ('creating', 'requested', 'authorized',
                          'capturing', 'cancelling', 'completed', 'declined', 'expired',
                          'cancelled', 'rejected', 'not_created', 'needs_admin')),
    -- What to do with money the customer reserves. NULL = not decided (released).
    decision          TEXT CHECK (decision IN ('capture', 'cancel')),
    vipps_state       TEXT,
    authorized_amount INTEGER NOT NULL DEFAULT 0,
    captured_amount   INTEGER NOT NULL DEFAULT 0,
    cancelled_amount  INTEGER NOT NULL DEFAULT 0,
    refunded_amount   INTEGER NOT NULL DEFAULT 0,
    money_released    INTEGER NOT NULL DEFAULT 0 CHECK (money_released IN (0, 1)),
    -- 1: nothing more will happen at Vipps (refunds aside).
    resolved          INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
    needs_admin       INTEGER NOT NULL DEFAULT 0 CHECK (needs_admin IN (0, 1)),
    last_error        TEXT,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    -- The Vipps sales unit it was made at (NULL: made before this was recorded).
    vipps_msn         TEXT,
    vipps_base_url    TEXT
) STRICT;
INSERT INTO payment_attempt_v4
SELECT id, sale_id, reference, amount, currency, customer_kind, checkin_id, phone_masked,
       status, decision, vipps_state, authorized_amount, captured_amount, cancelled_amount,
       refunded_amount, money_released, resolved, needs_admin, last_error, created_at_ms,
       updated_at_ms, vipps_msn, vipps_base_url
FROM engine_attempts;

CREATE TABLE payment_operation (
    id              INTEGER PRIMARY KEY,
    attempt_id      INTEGER NOT NULL REFERENCES payment_attempt_v4 (id),
    kind            TEXT NOT NULL CHECK (kind IN ('create', 'capture', 'cancel', 'refund')),
    seq             INTEGER NOT NULL CHECK (seq > 0),  -- the n of <reference>-<kind>-<n>
    idempotency_key TEXT NOT NULL UNIQUE,
    amount          INTEGER NOT NULL,
    status          TEXT NOT NULL
                        CHECK (status IN ('intended', 'succeeded', 'rejected', 'abandoned')),
    http_status     INTEGER,
    error_code      INTEGER,
    detail          TEXT,
    -- A create's request body while its outcome is open, so it can be re-sent with the same
    -- key and body; cleared once the attempt is settled.
    request_body    TEXT,
    created_at_ms   INTEGER NOT NULL,
    -- When its request was first about to leave the till (NULL: certainly never sent).
    sent_at_ms      INTEGER,
    finished_at_ms  INTEGER,
    UNIQUE (attempt_id, kind, seq)
) STRICT;
INSERT INTO payment_operation
SELECT id, attempt_id, kind, seq, idempotency_key, amount, status, http_status, error_code,
       detail, NULL, created_at_ms,
       -- Earlier builds did not record it: assume every intent may have been sent.
       created_at_ms, finished_at_ms
FROM engine_operations;

CREATE TABLE payment_event (
    id                   INTEGER PRIMARY KEY,
    relay_seq            INTEGER,
    reference            TEXT NOT NULL,
    name                 TEXT NOT NULL,
    psp_reference        TEXT NOT NULL,
    amount               INTEGER NOT NULL,
    success              INTEGER NOT NULL CHECK (success IN (0, 1)),
    timestamp            TEXT NOT NULL,
    relay_received_at_ns INTEGER,
    received_at_ms       INTEGER NOT NULL,
    UNIQUE (reference, name, psp_reference)
) STRICT;
INSERT INTO payment_event
SELECT id, relay_seq, reference, name, psp_reference, amount, success, timestamp,
       relay_received_at_ns, received_at_ms
FROM engine_payment_events;

-- Every create, capture, cancel and refund request as it is sent (retries with the same key
-- included): Vipps limits each API per reference and minute, and a restarted till must not
-- forget the calls a stopped process made. Rows older than an hour are pruned.
CREATE TABLE vipps_call (
    id        INTEGER PRIMARY KEY,
    reference TEXT NOT NULL,
    api       TEXT NOT NULL CHECK (api IN ('create', 'capture', 'cancel', 'refund')),
    at_ms     INTEGER NOT NULL
) STRICT;
CREATE INDEX vipps_call_reference ON vipps_call (reference, at_ms);

-- Children before parents.
DROP TABLE engine_payment_events;
DROP TABLE engine_operations;
DROP TABLE engine_attempts;
DROP TABLE engine_checkins;
DROP TABLE refund;
DROP TABLE payment_attempt;
ALTER TABLE payment_attempt_v4 RENAME TO payment_attempt;

CREATE INDEX payment_attempt_sale ON payment_attempt (sale_id);
CREATE INDEX payment_attempt_unresolved ON payment_attempt (resolved) WHERE resolved = 0;
CREATE INDEX payment_operation_open ON payment_operation (status) WHERE status = 'intended';
CREATE INDEX payment_event_reference ON payment_event (reference);
