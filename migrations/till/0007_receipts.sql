-- Receipts issued per sale: the print queue and the copy rule (kassasystemforskrifta § 2-8).
--
-- One row per document issued or being issued, to a printer or as a PDF. kind is the
-- document (see src/core/receipt_doc.rs): the original of a sale ('sales') or of a refund
-- ('return') is issued once; after it came out, at most one 'copy' (marked KOPI) may follow.
-- A row is 'printing' while it is being sent, 'printed' once the printer took the whole
-- document; a failed attempt leaves it 'failed' with the error (the queue), and "print again"
-- re-sends the same row, so an original that never came out is reprinted as the original,
-- not as a copy. A row 'printing' for long was cut short by a crash and counts as failed. Provisional and training
-- documents may be issued any number of times.
-- journal_seq names the journal row (13012 / 13013 / 13014 / 13015 / 13017) written when
-- the document came out.

CREATE TABLE receipt_print (
    id            INTEGER PRIMARY KEY,
    sale_id       INTEGER NOT NULL REFERENCES sale (id),
    -- The refund a return receipt (or its copy) is for; NULL for the sale itself.
    refund_op_id  INTEGER REFERENCES payment_operation (id),
    kind          TEXT NOT NULL
                      CHECK (kind IN ('sales', 'copy', 'return', 'provisional', 'training')),
    target        TEXT NOT NULL CHECK (target IN ('printer', 'pdf')),
    status        TEXT NOT NULL CHECK (status IN ('printing', 'printed', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    TEXT,
    journal_seq   INTEGER UNIQUE REFERENCES journal (seq),
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    printed_ms    INTEGER,
    CHECK ((status = 'printed') = (printed_ms IS NOT NULL)),
    CHECK ((kind = 'return') <= (refund_op_id IS NOT NULL))
) STRICT;

-- One original and one copy per receipt (a sale's, or a refund's).
CREATE UNIQUE INDEX receipt_print_one_original
    ON receipt_print (sale_id, coalesce(refund_op_id, 0)) WHERE kind IN ('sales', 'return');
CREATE UNIQUE INDEX receipt_print_one_copy
    ON receipt_print (sale_id, coalesce(refund_op_id, 0)) WHERE kind = 'copy';
CREATE INDEX receipt_print_pending ON receipt_print (status) WHERE status <> 'printed';

-- A document that came out stays out.
CREATE TRIGGER receipt_print_printed_is_final BEFORE UPDATE ON receipt_print
WHEN OLD.status = 'printed'
BEGIN
    SELECT RAISE(ABORT, 'a printed receipt cannot change');
END;

CREATE TRIGGER receipt_print_no_delete BEFORE DELETE ON receipt_print
BEGIN
    SELECT RAISE(ABORT, 'the receipt print record is kept');
END;
