-- kasse-relay schema on PostgreSQL: the SQLite layout (migrations/relay/) in PostgreSQL types,
-- plus the till presence that lets several relay instances share one database.
-- Times are unix milliseconds (UTC).

-- A store is one Vipps sales unit (MSN); its webhook registration feeds every till.
CREATE TABLE stores (
    msn           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Webhook registrations of a store; during a rotation several are live at once.
CREATE TABLE store_secrets (
    msn           TEXT NOT NULL REFERENCES stores(msn) ON DELETE CASCADE,
    webhook_id    TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (msn, webhook_id)
);

-- A till of a store. Only the SHA-256 of its bearer token is kept. Filing an event for a till
-- locks its row, so one till's events get increasing ids in commit order.
CREATE TABLE tills (
    pk             BIGSERIAL PRIMARY KEY,
    msn            TEXT NOT NULL REFERENCES stores(msn),
    till_id        TEXT NOT NULL,
    merchant_qr_id TEXT NOT NULL,
    token_hash     BYTEA NOT NULL UNIQUE,
    created_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT
);
CREATE UNIQUE INDEX tills_active_id ON tills(msn, till_id) WHERE revoked_at_ms IS NULL;
CREATE UNIQUE INDEX tills_active_qr ON tills(msn, merchant_qr_id) WHERE revoked_at_ms IS NULL;

-- Every authenticated webhook, as received, with what became of it. A routed event's delivery
-- sequence number is `id`.
CREATE TABLE events (
    id                  BIGSERIAL PRIMARY KEY,
    msn                 TEXT NOT NULL,
    webhook_id          TEXT,
    received_at_ms      BIGINT NOT NULL,
    -- checked_in | payment | other | malformed
    kind                TEXT NOT NULL,
    -- routed | unrouted | refused | expired | rejected
    status              TEXT NOT NULL,
    -- the sender was answered 2xx; only those take part in de-duplication
    accepted            BOOLEAN NOT NULL,
    dedupe_key          TEXT NOT NULL,
    route_key           TEXT,
    reason              TEXT,
    body                BYTEA NOT NULL,
    till_pk             BIGINT REFERENCES tills(pk),
    actionable_until_ms BIGINT,
    acked_at_ms         BIGINT,
    -- set when an operator replayed it: the event filed for it
    replayed_as         BIGINT
);
CREATE UNIQUE INDEX events_dedupe ON events(msn, dedupe_key) WHERE accepted;
CREATE INDEX events_till ON events(till_pk, id) WHERE till_pk IS NOT NULL;
CREATE INDEX events_status ON events(status, received_at_ms);
CREATE INDEX events_unacked ON events(received_at_ms) WHERE status = 'routed' AND acked_at_ms IS NULL;

-- When a relay instance last had a connection from the till. An instance refreshes it for its
-- connected tills every heartbeat, so a check-in filed by any instance knows whether the till
-- can act on it.
CREATE TABLE till_presence (
    till_pk      BIGINT PRIMARY KEY REFERENCES tills(pk) ON DELETE CASCADE,
    last_seen_ms BIGINT NOT NULL
);
