-- Training mode (cash-register rules: 13023 / 13024, "Treningskvittering").
--
-- A manager switches the till into training mode and out again; the switch is journalled and
-- its state kept in meta ('training_mode'). A sale frozen while the till is in training mode is
-- a training sale for good: it moves no real money (Vipps is refused against production), is
-- not signed and not a cash transaction of the SAF-T export, takes its number from its own
-- series (training_nr, 1, 2, 3, ... per till), and is counted apart in X and Z (never in the
-- sales, tender or VAT totals, nor in the grand totals).
ALTER TABLE sale ADD COLUMN training INTEGER NOT NULL DEFAULT 0 CHECK (training IN (0, 1));
ALTER TABLE sale ADD COLUMN training_nr INTEGER
    CHECK (training_nr IS NULL OR (training = 1 AND training_nr > 0));
CREATE UNIQUE INDEX sale_training_nr ON sale (training_nr) WHERE training_nr IS NOT NULL;
CREATE INDEX sale_training ON sale (period) WHERE training = 1;
