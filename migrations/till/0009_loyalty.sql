-- Loyalty through the till's QR: members enrolled by a merchant-initiated Vipps login, their
-- consents, each enrolment as its own small state machine, and member prices.
--
-- Personal data (number, names, consents) lives only in member, member_consent and enrolment,
-- never in the journal or a sale, so erasing a member deletes it and keeps the sales. The
-- programme settings are in meta ('loyalty', JSON); loyalty is off until an admin turns it on.

-- One member per Vipps `sub` (stable per sales unit). The msisdn only finds a member.
CREATE TABLE member (
    id           INTEGER PRIMARY KEY,
    sub          TEXT NOT NULL UNIQUE CHECK (length(sub) BETWEEN 1 AND 200),
    msisdn       TEXT NOT NULL CHECK (length(msisdn) BETWEEN 10 AND 15 AND msisdn NOT GLOB '*[^0-9]*'),
    given_name   TEXT,
    family_name  TEXT,
    enrolled_ms  INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX member_msisdn ON member (msisdn);

-- The consents a member gave, as Vipps reported them at enrolment (timeOfConsent kept verbatim).
CREATE TABLE member_consent (
    member_id        INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    consent_id       TEXT NOT NULL,
    accepted         INTEGER NOT NULL CHECK (accepted IN (0, 1)),
    required         INTEGER NOT NULL CHECK (required IN (0, 1)),
    text             TEXT NOT NULL,
    time_of_consent  TEXT NOT NULL,
    recorded_ms      INTEGER NOT NULL,
    PRIMARY KEY (member_id, consent_id)
) STRICT;

-- An invitation to join: STARTED (written before the login is started at Vipps) -> PENDING
-- (auth_req_id known) -> APPROVED (member stored in the same transaction) | DECLINED | EXPIRED
-- | FAILED. At most one open (STARTED or PENDING) enrolment per number.
CREATE TABLE enrolment (
    id               INTEGER PRIMARY KEY,
    state            TEXT NOT NULL
        CHECK (state IN ('STARTED', 'PENDING', 'APPROVED', 'DECLINED', 'EXPIRED', 'FAILED')),
    msisdn           TEXT NOT NULL,
    binding_message  TEXT NOT NULL,
    auth_req_id      TEXT,
    interval_s       INTEGER CHECK (interval_s IS NULL OR interval_s > 0),
    expires_ms       INTEGER,
    sale_id          INTEGER REFERENCES sale (id) ON DELETE SET NULL,
    member_id        INTEGER REFERENCES member (id) ON DELETE CASCADE,
    failure          TEXT,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    CHECK (state <> 'PENDING'
           OR (auth_req_id IS NOT NULL AND interval_s IS NOT NULL AND expires_ms IS NOT NULL)),
    CHECK (state <> 'APPROVED' OR member_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX enrolment_open ON enrolment (msisdn) WHERE state IN ('STARTED', 'PENDING');
CREATE UNIQUE INDEX enrolment_auth_req ON enrolment (auth_req_id) WHERE auth_req_id IS NOT NULL;

-- A member price per catalogue item (minor units), and a member discount per category
-- (basis points). An item's own member price wins over its category's percentage.
CREATE TABLE member_price (
    item_id     TEXT PRIMARY KEY NOT NULL REFERENCES catalog_item (id) ON DELETE CASCADE,
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0)
) STRICT;
CREATE TABLE member_category_discount (
    category    TEXT PRIMARY KEY NOT NULL CHECK (length(category) > 0),
    percent_bp  INTEGER NOT NULL CHECK (percent_bp BETWEEN 1 AND 10000)
) STRICT;
