-- A shop's whole day: cashiers, the tenders that paid each sale, cash in and out of the
-- drawer, drawer openings, voids, returns and the numbered Z reports that close each period.
--
-- Reporting periods: period N is everything recorded after Z report N-1 and up to Z report N.
-- Each reportable row takes the open period's number inside its own write transaction
-- (`SELECT COALESCE(MAX(nr), 0) + 1 FROM z_report`), and SQLite serialises writers, so a row
-- belongs to exactly one Z whatever the clocks say. X and Z read one period by index.

CREATE TABLE cashier (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    role            TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash        TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX cashier_name ON cashier (name) WHERE active = 1;

-- Who sold, and in which period the sale concluded (NULL while it is not concluded).
ALTER TABLE sale ADD COLUMN cashier_id INTEGER REFERENCES cashier (id);
ALTER TABLE sale ADD COLUMN period INTEGER;
CREATE INDEX sale_period ON sale (period) WHERE period IS NOT NULL;

-- Article groups (SAF-T PredefinedBasicID-04): every article belongs to one; a sale line keeps
-- the group it was sold in.
ALTER TABLE catalog_item ADD COLUMN article_group TEXT NOT NULL DEFAULT '04003'
    CHECK (length(article_group) = 5);
ALTER TABLE sale_line ADD COLUMN article_group TEXT NOT NULL DEFAULT '04003';

-- One part of a sale's payment, or money given back (negative amount: a cancelled part
-- payment, a return). Vipps parts are recorded when captured or refunded.
CREATE TABLE sale_tender (
    id         INTEGER PRIMARY KEY,
    sale_id    INTEGER NOT NULL REFERENCES sale (id),
    return_id  INTEGER REFERENCES sale_return (id),
    kind       TEXT NOT NULL CHECK (kind IN ('vipps', 'cash', 'card', 'gift_card', 'credit_note')),
    amount     INTEGER NOT NULL CHECK (amount <> 0),
    -- payment: towards the sale; given_back: a part paid back when the sale was cancelled;
    -- return: money paid back for returned goods.
    purpose    TEXT NOT NULL DEFAULT 'payment' CHECK (purpose IN ('payment', 'given_back', 'return')),
    tendered   INTEGER NOT NULL DEFAULT 0,
    change     INTEGER NOT NULL DEFAULT 0 CHECK (change >= 0),
    rounding   INTEGER NOT NULL DEFAULT 0,
    reference  TEXT,
    cashier_id INTEGER REFERENCES cashier (id),
    period     INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX sale_tender_sale ON sale_tender (sale_id);
CREATE INDEX sale_tender_period ON sale_tender (period);

-- A return of lines of an earlier sale (or, by a manager, without a receipt: sale_id NULL).
CREATE TABLE sale_return (
    id          INTEGER PRIMARY KEY,
    sale_id     INTEGER REFERENCES sale (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    excluding_tax INTEGER NOT NULL,
    lines_json  TEXT NOT NULL,
    tender      TEXT NOT NULL CHECK (tender IN ('vipps', 'cash', 'card', 'gift_card', 'credit_note')),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    refund_op_id INTEGER REFERENCES payment_operation (id),
    cashier_id  INTEGER REFERENCES cashier (id),
    period      INTEGER,
    at_ms       INTEGER NOT NULL
) STRICT;
CREATE INDEX sale_return_sale ON sale_return (sale_id);
CREATE INDEX sale_return_period ON sale_return (period) WHERE period IS NOT NULL;

-- Cash that is not a sale: the opening float, pay-ins and pay-outs with their reason, and the
-- count at the end of the day (amount = counted, expected = what the till computed).
CREATE TABLE cash_movement (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('float', 'pay_in', 'pay_out', 'count')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    expected   INTEGER,
    reason     TEXT,
    cashier_id INTEGER REFERENCES cashier (id),
    period     INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL,
    CHECK ((kind = 'count') = (expected IS NOT NULL))
) STRICT;
CREATE INDEX cash_movement_period ON cash_movement (period);

-- Every opening of the cash drawer; sale_id NULL is an opening without a sale.
CREATE TABLE drawer_opening (
    id         INTEGER PRIMARY KEY,
    sale_id    INTEGER REFERENCES sale (id),
    reason     TEXT NOT NULL CHECK (reason IN ('sale', 'return', 'no_sale', 'float', 'pay_in', 'pay_out', 'count')),
    cashier_id INTEGER REFERENCES cashier (id),
    period     INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX drawer_opening_period ON drawer_opening (period);

-- Voided lines and voided sales before payment, and discounts given, for the reports.
CREATE TABLE correction (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('line_void', 'sale_void', 'discount')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    sale_id    INTEGER REFERENCES sale (id),
    cashier_id INTEGER REFERENCES cashier (id),
    period     INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX correction_period ON correction (period);

-- Z reports, numbered 1, 2, 3, ... per till; each closes period nr and carries the whole report
-- (as journalled) and the grand totals since installation.
CREATE TABLE z_report (
    nr            INTEGER PRIMARY KEY CHECK (nr > 0),
    day           TEXT NOT NULL,
    at_ms         INTEGER NOT NULL,
    cashier_id    INTEGER REFERENCES cashier (id),
    journal_seq   INTEGER NOT NULL,
    grand_sales   INTEGER NOT NULL,
    grand_returns INTEGER NOT NULL,
    report_json   TEXT NOT NULL
) STRICT;

CREATE TRIGGER z_report_in_order BEFORE INSERT ON z_report
WHEN NEW.nr IS NOT (SELECT COALESCE(MAX(nr), 0) + 1 FROM z_report)
BEGIN
    SELECT RAISE(ABORT, 'Z reports are numbered consecutively');
END;

CREATE TRIGGER z_report_no_update BEFORE UPDATE ON z_report
BEGIN
    SELECT RAISE(ABORT, 'Z reports are append-only');
END;

CREATE TRIGGER z_report_no_delete BEFORE DELETE ON z_report
BEGIN
    SELECT RAISE(ABORT, 'Z reports are append-only');
END;

-- Sales concluded before this schema belong to the first period, paid by Vipps; refunds made
-- then are money given back to Vipps in that period.
UPDATE sale SET period = 1 WHERE state = 'completed';
INSERT INTO sale_tender (sale_id, kind, amount, tendered, reference, period, at_ms)
SELECT sale_id, 'vipps', captured_amount, captured_amount, reference, 1, updated_at_ms
FROM payment_attempt WHERE captured_amount > 0;
INSERT INTO sale_tender (sale_id, kind, amount, purpose, reference, period, at_ms)
SELECT a.sale_id, 'vipps', -o.amount, 'return', a.reference, 1, COALESCE(o.finished_at_ms, o.created_at_ms)
FROM payment_operation o JOIN payment_attempt a ON a.id = o.attempt_id
WHERE o.kind = 'refund' AND o.status = 'succeeded';

-- Returns paid back at the till (cash, card, gift card, credit note) are signed like returns
-- to Vipps: a signed return names its refund operation (Vipps) or its sale_return row. The
-- table is rebuilt for the new column and check, rows and chain unchanged.
DROP TRIGGER signed_transaction_in_order;
DROP TRIGGER signed_transaction_no_update;
DROP TRIGGER signed_transaction_no_delete;
DROP INDEX signed_transaction_sale;
DROP INDEX signed_transaction_refund;
DROP INDEX signed_transaction_date;
ALTER TABLE signed_transaction RENAME TO signed_transaction_v5;
CREATE TABLE signed_transaction (
    id            INTEGER PRIMARY KEY,
    register_id   TEXT NOT NULL,
    nr            INTEGER NOT NULL CHECK (nr > 0),
    trans_id      TEXT NOT NULL,
    trans_type    INTEGER NOT NULL CHECK (trans_type IN (11001, 11006)),
    sale_id       INTEGER NOT NULL REFERENCES sale (id),
    refund_op_id  INTEGER REFERENCES payment_operation (id),
    emp_id        TEXT NOT NULL,
    trans_date    TEXT NOT NULL,
    trans_time    TEXT NOT NULL,
    amount_in     INTEGER NOT NULL,
    amount_ex     INTEGER NOT NULL,
    currency      TEXT NOT NULL CHECK (currency IN ('NOK', 'DKK', 'EUR')),
    company_ident TEXT NOT NULL,
    key_version   TEXT NOT NULL REFERENCES signing_key (key_version),
    signature     TEXT NOT NULL,
    journal_seq   INTEGER NOT NULL UNIQUE REFERENCES journal (seq),
    signed_ms     INTEGER NOT NULL,
    return_id     INTEGER REFERENCES sale_return (id),
    UNIQUE (register_id, nr),
    CHECK ((trans_type = 11006) = (refund_op_id IS NOT NULL OR return_id IS NOT NULL)),
    CHECK (refund_op_id IS NULL OR return_id IS NULL)
) STRICT;
INSERT INTO signed_transaction (id, register_id, nr, trans_id, trans_type, sale_id, refund_op_id,
    emp_id, trans_date, trans_time, amount_in, amount_ex, currency, company_ident, key_version,
    signature, journal_seq, signed_ms)
SELECT id, register_id, nr, trans_id, trans_type, sale_id, refund_op_id, emp_id, trans_date,
    trans_time, amount_in, amount_ex, currency, company_ident, key_version, signature,
    journal_seq, signed_ms
FROM signed_transaction_v5;
DROP TABLE signed_transaction_v5;
CREATE UNIQUE INDEX signed_transaction_sale ON signed_transaction (sale_id)
    WHERE trans_type = 11001;
CREATE UNIQUE INDEX signed_transaction_refund ON signed_transaction (refund_op_id)
    WHERE refund_op_id IS NOT NULL;
CREATE UNIQUE INDEX signed_transaction_return ON signed_transaction (return_id)
    WHERE return_id IS NOT NULL;
CREATE INDEX signed_transaction_date ON signed_transaction (register_id, trans_date);

CREATE TRIGGER signed_transaction_in_order BEFORE INSERT ON signed_transaction
WHEN NEW.nr IS NOT (SELECT COALESCE(MAX(nr), 0) + 1 FROM signed_transaction
                    WHERE register_id = NEW.register_id)
BEGIN
    SELECT RAISE(ABORT, 'signed transactions extend their register''s chain in order');
END;

CREATE TRIGGER signed_transaction_no_update BEFORE UPDATE ON signed_transaction
BEGIN
    SELECT RAISE(ABORT, 'signed transactions are append-only');
END;

CREATE TRIGGER signed_transaction_no_delete BEFORE DELETE ON signed_transaction
BEGIN
    SELECT RAISE(ABORT, 'signed transactions are append-only');
END;
