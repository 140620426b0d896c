-- Cash-register compliance: every journal row carries its SAF-T codes, and every concluded
-- transaction is signed in a chain per register.
--
-- Journal codes (see src/core/journal_code.rs, the one table they come from):
--   event_code    PredefinedBasicID-13 (events)
--   trans_code    PredefinedBasicID-11 (transactions)
--   payment_code  PredefinedBasicID-12 (payment means; Vipps MobilePay is 12011)
-- hash_version says what a row's hash covers: 1 = seq, time, kind, payload (rows written
-- before this migration; their codes were filled in here from the kind and are checked
-- against the table by the verifier); 2 = the same and the three codes.

ALTER TABLE journal ADD COLUMN event_code INTEGER
    CHECK (event_code IS NULL OR event_code BETWEEN 13001 AND 13999);
ALTER TABLE journal ADD COLUMN trans_code INTEGER
    CHECK (trans_code IS NULL OR trans_code BETWEEN 11001 AND 11999);
ALTER TABLE journal ADD COLUMN payment_code INTEGER
    CHECK (payment_code IS NULL OR payment_code BETWEEN 12001 AND 12999);
ALTER TABLE journal ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1
    CHECK (hash_version IN (1, 2));

-- The one place rows are ever updated: codes for the rows written before codes existed,
-- with the append-only trigger lifted for this statement only.
DROP TRIGGER journal_no_update;
UPDATE journal SET
    event_code = CASE
        WHEN kind = 'engine_started' THEN 13001
        WHEN kind IN ('basket_cleared', 'sale_abandoned') THEN 13028
        WHEN kind IN ('catalog_replaced', 'catalog_item_saved', 'catalog_item_deleted') THEN 13021
        WHEN kind IN ('till_qr_ready', 'item_added', 'item_removed', 'quantity_changed',
                      'discount_set', 'sale_frozen', 'sale_reopened', 'sale_state',
                      'checkin_received', 'checkin_ignored', 'vipps_event',
                      'payment_requested', 'payment_created', 'payment_create_unknown',
                      'payment_not_created', 'payment_reopened', 'payment_authorized',
                      'payment_declined', 'payment_expired', 'payment_failed', 'payment_state',
                      'payment_amounts', 'capture_requested', 'capture_result',
                      'capture_verified', 'cancel_requested', 'cancel_result',
                      'payment_cancelled', 'refund_requested', 'refund_result',
                      'refund_failed', 'admin_flagged') THEN 13999
    END,
    trans_code = CASE kind
        WHEN 'payment_captured' THEN 11001
        WHEN 'refund_done' THEN 11006
    END,
    payment_code = CASE
        WHEN kind IN ('checkin_received', 'checkin_ignored', 'vipps_event',
                      'payment_requested', 'payment_created', 'payment_create_unknown',
                      'payment_not_created', 'payment_reopened', 'payment_authorized',
                      'payment_declined', 'payment_expired', 'payment_failed', 'payment_state',
                      'payment_amounts', 'capture_requested', 'capture_result',
                      'capture_verified', 'cancel_requested', 'cancel_result',
                      'payment_cancelled', 'refund_requested', 'refund_result',
                      'refund_failed', 'admin_flagged', 'payment_captured', 'refund_done')
            THEN 12011
    END;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;

-- From now on every row is written in format 2 and carries a code.
CREATE TRIGGER journal_new_rows_coded BEFORE INSERT ON journal
WHEN NEW.hash_version IS NOT 2
  OR (NEW.event_code IS NULL AND NEW.trans_code IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'journal rows are written in format 2 with their code');
END;

-- The head follows every insert by itself: no statement in Kasse's code updates a journal
-- table (journal_head_forward still allows only a move to the newest row).
CREATE TRIGGER journal_move_head AFTER INSERT ON journal
BEGIN
    UPDATE journal_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;

-- The keys that signed transactions: the public half (the private key never enters the
-- database), whether it is Kasse's test key, and for Denmark the certificate given with it.
CREATE TABLE signing_key (
    key_version     TEXT PRIMARY KEY NOT NULL,
    scheme          TEXT NOT NULL CHECK (scheme IN ('NO-RSA-SHA1', 'DK-RSA-SHA512')),
    public_key_pem  TEXT NOT NULL,
    test_key        INTEGER NOT NULL CHECK (test_key IN (0, 1)),
    certificate_pem TEXT,
    first_used_ms   INTEGER NOT NULL
) STRICT;

-- One row per concluded transaction (a completed sale, a completed refund as a return), in
-- chain order per register: nr runs 1, 2, 3, ... per register_id and each signature covers
-- the one before (see src/core/signature_text.rs for the signed text). The same facts are in
-- the journal row journal_seq (kind sale_signed or return_signed), whose hash covers them.
-- Amounts are minor units, negative for a return.
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
    UNIQUE (register_id, nr),
    CHECK ((trans_type = 11006) = (refund_op_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX signed_transaction_sale ON signed_transaction (sale_id)
    WHERE refund_op_id IS NULL;
CREATE UNIQUE INDEX signed_transaction_refund ON signed_transaction (refund_op_id)
    WHERE refund_op_id IS NOT NULL;
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

CREATE TRIGGER signing_key_no_update BEFORE UPDATE ON signing_key
BEGIN
    SELECT RAISE(ABORT, 'signing keys are append-only');
END;

CREATE TRIGGER signing_key_no_delete BEFORE DELETE ON signing_key
BEGIN
    SELECT RAISE(ABORT, 'signing keys are append-only');
END;
