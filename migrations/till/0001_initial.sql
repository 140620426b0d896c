-- Kasse till database, schema version 1.
-- Times are unix epoch milliseconds (UTC). Amounts are minor units (øre, cents).
-- VAT rates are basis points (2500 = 25 %).

-- Marks the file as a Kasse till database ('KAST').
PRAGMA application_id = 1262572372;

-- Facts about this database file.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
-- A random id minted when the database is created: payment references built
-- from it never collide with those of an earlier database of the same till.
INSERT INTO meta (key, value) VALUES ('install_id', lower(hex(randomblob(6))));

CREATE TABLE catalog_item (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    vat_bp     INTEGER NOT NULL CHECK (vat_bp BETWEEN 0 AND 10000),
    category   TEXT,
    unit       TEXT NOT NULL DEFAULT 'PCS' CHECK (unit IN ('PCS', 'KG')),
    position   INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE catalog_barcode (
    barcode  TEXT PRIMARY KEY NOT NULL,
    item_id  TEXT NOT NULL REFERENCES catalog_item (id) ON DELETE CASCADE,
    position INTEGER NOT NULL
) STRICT;
CREATE INDEX catalog_barcode_item ON catalog_barcode (item_id);

-- A sale is a frozen basket. Its lines are a snapshot: they do not reference
-- the catalogue, which may change later.
CREATE TABLE sale (
    id            INTEGER PRIMARY KEY,
    currency      TEXT NOT NULL CHECK (currency IN ('NOK', 'DKK', 'EUR')),
    state         TEXT NOT NULL,
    total         INTEGER NOT NULL CHECK (total >= 0),
    excluding_tax INTEGER NOT NULL,
    tax           INTEGER NOT NULL,
    discount      INTEGER NOT NULL,
    basket_json   TEXT NOT NULL,
    receipt_json  TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    completed_ms  INTEGER,
    CHECK (excluding_tax + tax = total)
) STRICT;
CREATE INDEX sale_created ON sale (created_ms);

CREATE TABLE sale_line (
    sale_id       INTEGER NOT NULL REFERENCES sale (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    item_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    unit          TEXT NOT NULL CHECK (unit IN ('PCS', 'KG')),
    unit_price    INTEGER NOT NULL,
    vat_bp        INTEGER NOT NULL,
    discount      INTEGER NOT NULL CHECK (discount >= 0),
    total         INTEGER NOT NULL CHECK (total >= 0),
    excluding_tax INTEGER NOT NULL,
    tax           INTEGER NOT NULL,
    PRIMARY KEY (sale_id, position),
    CHECK (excluding_tax + tax = total)
) STRICT;

-- One payment request at Vipps. A retry of the same sale is a new attempt
-- with a new reference; a retried call reuses the stored idempotency key.
CREATE TABLE payment_attempt (
    id                INTEGER PRIMARY KEY,
    sale_id           INTEGER NOT NULL REFERENCES sale (id),
    attempt           INTEGER NOT NULL CHECK (attempt > 0),
    reference         TEXT NOT NULL UNIQUE,
    state             TEXT NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL CHECK (currency IN ('NOK', 'DKK', 'EUR')),
    flow              TEXT NOT NULL,
    create_key        TEXT NOT NULL UNIQUE,
    capture_key       TEXT UNIQUE,
    capture_amount    INTEGER,
    cancel_key        TEXT UNIQUE,
    authorized_amount INTEGER NOT NULL DEFAULT 0,
    captured_amount   INTEGER NOT NULL DEFAULT 0,
    cancelled_amount  INTEGER NOT NULL DEFAULT 0,
    refunded_amount   INTEGER NOT NULL DEFAULT 0,
    psp_reference     TEXT,
    last_error        TEXT,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    UNIQUE (sale_id, attempt)
) STRICT;
CREATE INDEX payment_attempt_state ON payment_attempt (state);

CREATE TABLE refund (
    id              INTEGER PRIMARY KEY,
    attempt_id      INTEGER NOT NULL REFERENCES payment_attempt (id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL CHECK (state IN ('requested', 'done', 'failed')),
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (attempt_id, seq)
) STRICT;

-- Append-only, hash-chained journal of business events. Each row's hash
-- covers the previous row's hash; journal_head names the last row and moves in
-- the same transaction as each insert, so deleting rows from the end shows.
CREATE TABLE journal (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;

CREATE TABLE journal_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
INSERT INTO journal_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- First line of defence; verify_journal() still catches tampering done with
-- these triggers dropped.
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;

CREATE TRIGGER journal_append_in_order BEFORE INSERT ON journal
WHEN NEW.seq IS NOT (SELECT seq + 1 FROM journal_head WHERE id = 1)
  OR NEW.prev_hash IS NOT (SELECT hash FROM journal_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'journal rows must extend the head');
END;

CREATE TRIGGER journal_head_forward BEFORE UPDATE ON journal_head
WHEN NEW.seq IS NOT OLD.seq + 1
  OR NEW.hash IS NOT (SELECT hash FROM journal WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'the journal head only moves to the newest row');
END;

CREATE TRIGGER journal_head_no_delete BEFORE DELETE ON journal_head
BEGIN
    SELECT RAISE(ABORT, 'the journal head cannot be deleted');
END;
