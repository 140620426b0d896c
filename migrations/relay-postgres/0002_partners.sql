-- Partners (a POS vendor hosting many merchants): one webhook registration made with partner
-- keys, without MSN, feeds all the partner's stores through one URL
-- (/v1/webhooks/vipps/partner/<partner_id>); events are routed by the body's msn.
CREATE TABLE partners (
    partner_id    TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE partner_secrets (
    partner_id    TEXT NOT NULL REFERENCES partners(partner_id) ON DELETE CASCADE,
    webhook_id    TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (partner_id, webhook_id)
);

-- The partner whose registration may deliver this store's events (NULL: none).
ALTER TABLE stores ADD COLUMN partner_id TEXT REFERENCES partners(partner_id);
