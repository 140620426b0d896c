-- kasse-relay schema. Times are unix milliseconds (UTC).

-- A store is one Vipps sales unit (MSN); its webhook registration feeds every till.
CREATE TABLE stores (
    msn           TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;

-- Webhook registrations of a store. During a rotation several are live at once;
-- a delivery signed with any of them is accepted.
CREATE TABLE store_secrets (
    msn           TEXT NOT NULL REFERENCES stores(msn) ON DELETE CASCADE,
    webhook_id    TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (msn, webhook_id)
) STRICT;

-- A till of a store. Only the SHA-256 of its bearer token is kept.
CREATE TABLE tills (
    pk             INTEGER PRIMARY KEY,
    msn            TEXT NOT NULL REFERENCES stores(msn),
    till_id        TEXT NOT NULL,
    merchant_qr_id TEXT NOT NULL,
    token_hash     BLOB NOT NULL UNIQUE,
    created_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
) STRICT;
CREATE UNIQUE INDEX tills_active_id ON tills(msn, till_id) WHERE revoked_at_ms IS NULL;
CREATE UNIQUE INDEX tills_active_qr ON tills(msn, merchant_qr_id) WHERE revoked_at_ms IS NULL;

-- Every authenticated webhook, as received (raw bytes), with what became of it.
-- A routed event is delivered to `till_pk`; its delivery sequence number is `id`
-- (one writer assigns ids in commit order, so a cursor never skips an event).
CREATE TABLE events (
    id                  INTEGER PRIMARY KEY,
    msn                 TEXT NOT NULL,
    webhook_id          TEXT,
    received_at_ms      INTEGER NOT NULL,
    -- checked_in | payment | other | malformed
    kind                TEXT NOT NULL,
    -- routed | unrouted | refused | expired | rejected
    status              TEXT NOT NULL,
    -- 1 when the sender was answered 2xx; only those take part in de-duplication
    accepted            INTEGER NOT NULL,
    dedupe_key          TEXT NOT NULL,
    route_key           TEXT,
    reason              TEXT,
    body                BLOB NOT NULL,
    till_pk             INTEGER REFERENCES tills(pk),
    actionable_until_ms INTEGER,
    acked_at_ms         INTEGER
) STRICT;
CREATE UNIQUE INDEX events_dedupe ON events(msn, dedupe_key) WHERE accepted = 1;
CREATE INDEX events_till ON events(till_pk, id) WHERE till_pk IS NOT NULL;
CREATE INDEX events_status ON events(status, received_at_ms);
CREATE INDEX events_unacked ON events(received_at_ms) WHERE status = 'routed' AND acked_at_ms IS NULL;
