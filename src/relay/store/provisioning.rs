//! Provisioning and operator queries on the relay database (synchronous; the
//! CLI and demo mode call these, also while a server runs on the same file).

use super::sqlite::{ingest_one, open_connection};
use super::{CheckInGate, NewEvent, RelayStoreError, ReplayOutcome, check_replayable};
use crate::relay::classify::{StoredKind, classify};
use crate::relay::wire::is_valid_till_id;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Prefix of till tokens, so they are recognisable in a config file or a leak scan.
const TOKEN_PREFIX: &str = "kasse_till_";

/// A new random till token: the prefix and 256 random bits, base64url.
pub fn generate_till_token(rng: &mut dyn RngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a till token: its SHA-256.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A newly added till. `token` is shown once and never stored.
#[derive(Clone)]
pub struct NewTill {
    pub msn: String,
    pub till_id: String,
    pub merchant_qr_id: String,
    pub token: String,
}

impl std::fmt::Debug for NewTill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTill")
            .field("msn", &self.msn)
            .field("till_id", &self.till_id)
            .field("merchant_qr_id", &self.merchant_qr_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub msn: String,
    pub name: String,
    /// Ids of the webhook registrations whose secrets are stored.
    pub webhook_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillInfo {
    pub msn: String,
    pub till_id: String,
    pub merchant_qr_id: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// Routed, not yet acknowledged.
    pub pending: u64,
    pub last_acked_seq: Option<u64>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub msn: Option<String>,
    /// `routed`, `unrouted`, `refused`, `expired`, `rejected`.
    pub status: Option<String>,
    pub limit: usize,
}

/// One filed event as operators see it (no body: it holds customer tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub id: i64,
    pub msn: String,
    pub received_at_ms: i64,
    pub kind: String,
    pub status: String,
    pub route_key: Option<String>,
    pub reason: Option<String>,
    pub till_id: Option<String>,
    pub acked_at_ms: Option<i64>,
}

/// The relay database opened for provisioning and operator queries.
pub struct RelayDb {
    conn: Connection,
}

pub(super) fn now_ms() -> i64 {
    crate::clock::Clock::system().now_ms()
}

pub(super) fn check_msn(msn: &str) -> Result<(), RelayStoreError> {
    if msn.is_empty() || msn.len() > 32 || !msn.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RelayStoreError::InvalidMsn(msn.to_string()));
    }
    Ok(())
}

pub(super) fn check_partner_id(id: &str) -> Result<(), RelayStoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(RelayStoreError::InvalidPartnerId(id.to_string()));
    }
    Ok(())
}

/// A new store: a valid MSN and a name.
pub(super) fn check_new_store(msn: &str, name: &str) -> Result<(), RelayStoreError> {
    check_msn(msn)?;
    check_filled(name, "store name")
}

/// A new partner: a valid id and a name.
pub(super) fn check_new_partner(id: &str, name: &str) -> Result<(), RelayStoreError> {
    check_partner_id(id)?;
    check_filled(name, "partner name")
}

/// A webhook registration's id and secret, both given.
pub(super) fn check_webhook_secret(webhook_id: &str, secret: &str) -> Result<(), RelayStoreError> {
    check_filled(webhook_id, "webhook id")?;
    if secret.is_empty() {
        return Err(RelayStoreError::Empty("webhook secret"));
    }
    Ok(())
}

fn check_filled(text: &str, what: &'static str) -> Result<(), RelayStoreError> {
    if text.trim().is_empty() {
        return Err(RelayStoreError::Empty(what));
    }
    Ok(())
}

pub(super) fn check_qr(qr: &str) -> Result<(), RelayStoreError> {
    if qr.is_empty() || qr.chars().count() > 128 || qr.chars().any(char::is_control) {
        return Err(RelayStoreError::InvalidMerchantQrId(qr.to_string()));
    }
    Ok(())
}

impl RelayDb {
    /// Open (creating and migrating on first use) the database at `path`.
    pub fn open(path: &Path) -> Result<RelayDb, RelayStoreError> {
        // Provisioning is rare; FULL keeps every change durable.
        let conn = open_connection(path, super::Synchronous::Full)?;
        Ok(RelayDb { conn })
    }

    /// Add a store (sales unit). Fails if the MSN exists.
    pub fn add_store(&self, msn: &str, name: &str) -> Result<(), RelayStoreError> {
        check_new_store(msn, name)?;
        let inserted = self.conn.execute(
            "INSERT INTO stores (msn, name, created_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (msn) DO NOTHING",
            params![msn, name, now_ms()],
        )?;
        if inserted == 0 {
            return Err(RelayStoreError::StoreExists(msn.to_string()));
        }
        Ok(())
    }

    /// Add a partner (a POS vendor whose one registration, made with partner keys, feeds
    /// all its stores). Fails if the id exists.
    pub fn add_partner(&self, partner_id: &str, name: &str) -> Result<(), RelayStoreError> {
        check_new_partner(partner_id, name)?;
        let inserted = self.conn.execute(
            "INSERT INTO partners (partner_id, name, created_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (partner_id) DO NOTHING",
            params![partner_id, name, now_ms()],
        )?;
        if inserted == 0 {
            return Err(RelayStoreError::PartnerExists(partner_id.to_string()));
        }
        Ok(())
    }

    /// Store (or replace) the secret of one of a partner's webhook registrations.
    pub fn add_partner_secret(
        &self,
        partner_id: &str,
        webhook_id: &str,
        secret: &str,
    ) -> Result<(), RelayStoreError> {
        self.require_partner(partner_id)?;
        check_webhook_secret(webhook_id, secret)?;
        self.conn.execute(
            "INSERT INTO partner_secrets (partner_id, webhook_id, secret, created_at_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (partner_id, webhook_id) DO UPDATE SET secret = excluded.secret",
            params![partner_id, webhook_id, secret, now_ms()],
        )?;
        Ok(())
    }

    /// Let the partner's registration deliver this store's events (`None`: no partner).
    pub fn set_store_partner(
        &self,
        msn: &str,
        partner_id: Option<&str>,
    ) -> Result<(), RelayStoreError> {
        self.require_store(msn)?;
        if let Some(p) = partner_id {
            self.require_partner(p)?;
        }
        self.conn.execute(
            "UPDATE stores SET partner_id = ?2 WHERE msn = ?1",
            params![msn, partner_id],
        )?;
        Ok(())
    }

    fn require_partner(&self, partner_id: &str) -> Result<(), RelayStoreError> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM partners WHERE partner_id = ?1",
                [partner_id],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(_) => Ok(()),
            None => Err(RelayStoreError::UnknownPartner(partner_id.to_string())),
        }
    }

    fn require_store(&self, msn: &str) -> Result<(), RelayStoreError> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM stores WHERE msn = ?1", [msn], |r| r.get(0))
            .optional()?;
        match found {
            Some(_) => Ok(()),
            None => Err(RelayStoreError::UnknownStore(msn.to_string())),
        }
    }

    /// Store (or replace) the secret of one webhook registration. Several may
    /// coexist during a rotation; deliveries signed with any are accepted.
    pub fn add_secret(
        &self,
        msn: &str,
        webhook_id: &str,
        secret: &str,
    ) -> Result<(), RelayStoreError> {
        self.require_store(msn)?;
        check_webhook_secret(webhook_id, secret)?;
        self.conn.execute(
            "INSERT INTO store_secrets (msn, webhook_id, secret, created_at_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (msn, webhook_id) DO UPDATE SET secret = excluded.secret",
            params![msn, webhook_id, secret, now_ms()],
        )?;
        Ok(())
    }

    /// Forget a registration's secret (after deleting it at Vipps). Returns
    /// whether it existed.
    pub fn remove_secret(&self, msn: &str, webhook_id: &str) -> Result<bool, RelayStoreError> {
        let n = self.conn.execute(
            "DELETE FROM store_secrets WHERE msn = ?1 AND webhook_id = ?2",
            params![msn, webhook_id],
        )?;
        Ok(n > 0)
    }

    /// Add a till with a fresh token (returned once; only its hash is stored).
    pub fn add_till(
        &self,
        msn: &str,
        till_id: &str,
        merchant_qr_id: &str,
    ) -> Result<NewTill, RelayStoreError> {
        self.add_till_with_rng(msn, till_id, merchant_qr_id, &mut rand::rng())
    }

    /// [`RelayDb::add_till`] with the randomness supplied.
    pub fn add_till_with_rng(
        &self,
        msn: &str,
        till_id: &str,
        merchant_qr_id: &str,
        rng: &mut dyn RngCore,
    ) -> Result<NewTill, RelayStoreError> {
        self.require_store(msn)?;
        if !is_valid_till_id(till_id) {
            return Err(RelayStoreError::InvalidTillId(till_id.to_string()));
        }
        check_qr(merchant_qr_id)?;
        let active = |sql: &str, key: &str| -> Result<Option<String>, rusqlite::Error> {
            self.conn
                .query_row(sql, params![msn, key], |r| r.get(0))
                .optional()
        };
        if active(
            "SELECT till_id FROM tills WHERE msn = ?1 AND till_id = ?2 AND revoked_at_ms IS NULL",
            till_id,
        )?
        .is_some()
        {
            return Err(RelayStoreError::TillExists {
                msn: msn.to_string(),
                till_id: till_id.to_string(),
            });
        }
        if let Some(other) = active(
            "SELECT till_id FROM tills WHERE msn = ?1 AND merchant_qr_id = ?2 AND revoked_at_ms IS NULL",
            merchant_qr_id,
        )? {
            return Err(RelayStoreError::QrInUse {
                msn: msn.to_string(),
                merchant_qr_id: merchant_qr_id.to_string(),
                till_id: other,
            });
        }
        let token = generate_till_token(rng);
        self.conn.execute(
            "INSERT INTO tills (msn, till_id, merchant_qr_id, token_hash, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                msn,
                till_id,
                merchant_qr_id,
                &token_hash(&token)[..],
                now_ms()
            ],
        )?;
        Ok(NewTill {
            msn: msn.to_string(),
            till_id: till_id.to_string(),
            merchant_qr_id: merchant_qr_id.to_string(),
            token,
        })
    }

    /// Revoke a till's token. Its events stay; new ones for it become unrouted.
    pub fn revoke_till(&self, msn: &str, till_id: &str) -> Result<(), RelayStoreError> {
        let n = self.conn.execute(
            "UPDATE tills SET revoked_at_ms = ?3
             WHERE msn = ?1 AND till_id = ?2 AND revoked_at_ms IS NULL",
            params![msn, till_id, now_ms()],
        )?;
        if n == 0 {
            return Err(RelayStoreError::UnknownTill {
                msn: msn.to_string(),
                till_id: till_id.to_string(),
            });
        }
        Ok(())
    }

    pub fn list_stores(&self) -> Result<Vec<StoreInfo>, RelayStoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.msn, s.name, COALESCE(group_concat(k.webhook_id, ' '), '')
             FROM stores s LEFT JOIN store_secrets k ON k.msn = s.msn
             GROUP BY s.msn ORDER BY s.msn",
        )?;
        let rows = stmt.query_map([], |r| {
            let ids: String = r.get(2)?;
            Ok(StoreInfo {
                msn: r.get(0)?,
                name: r.get(1)?,
                webhook_ids: ids.split_whitespace().map(str::to_string).collect(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tills, active and revoked, optionally of one store.
    pub fn list_tills(&self, msn: Option<&str>) -> Result<Vec<TillInfo>, RelayStoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT t.msn, t.till_id, t.merchant_qr_id, t.created_at_ms, t.revoked_at_ms,
                    (SELECT count(*) FROM events e
                      WHERE e.till_pk = t.pk AND e.status = 'routed' AND e.acked_at_ms IS NULL),
                    (SELECT max(e.id) FROM events e
                      WHERE e.till_pk = t.pk AND e.acked_at_ms IS NOT NULL)
             FROM tills t WHERE (?1 IS NULL OR t.msn = ?1)
             ORDER BY t.msn, t.till_id, t.pk",
        )?;
        let rows = stmt.query_map([msn], |r| {
            Ok(TillInfo {
                msn: r.get(0)?,
                till_id: r.get(1)?,
                merchant_qr_id: r.get(2)?,
                created_at_ms: r.get(3)?,
                revoked_at_ms: r.get(4)?,
                pending: r.get::<_, i64>(5)?.max(0).unsigned_abs(),
                last_acked_seq: r.get::<_, Option<i64>>(6)?.map(i64::unsigned_abs),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Filed events, newest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventSummary>, RelayStoreError> {
        let limit = i64::try_from(filter.limit.max(1)).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.msn, e.received_at_ms, e.kind, e.status, e.route_key, e.reason,
                    t.till_id, e.acked_at_ms
             FROM events e LEFT JOIN tills t ON t.pk = e.till_pk
             WHERE (?1 IS NULL OR e.msn = ?1) AND (?2 IS NULL OR e.status = ?2)
             ORDER BY e.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![filter.msn, filter.status, limit], |r| {
            Ok(EventSummary {
                id: r.get(0)?,
                msn: r.get(1)?,
                received_at_ms: r.get(2)?,
                kind: r.get(3)?,
                status: r.get(4)?,
                route_key: r.get(5)?,
                reason: r.get(6)?,
                till_id: r.get(7)?,
                acked_at_ms: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Re-classify a kept (rejected, unrouted or refused) event and file it again as a new
    /// event with a new id, so its till's cursor sees it; the old row points at the new one.
    ///
    /// A server running on the same file has no wake-up from this process: a connected till's
    /// stream reads it at its next heartbeat, a long-poll at its next poll.
    pub fn replay(
        &self,
        id: i64,
        now_ms: i64,
        checkin_ttl: std::time::Duration,
    ) -> Result<ReplayOutcome, RelayStoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        type Kept = (String, Option<String>, i64, String, Vec<u8>, Option<i64>);
        let kept: Option<Kept> = tx
            .query_row(
                "SELECT msn, webhook_id, received_at_ms, status, body, replayed_as
                 FROM events WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((msn, webhook_id, received_at_ms, status, body, replayed_as)) = kept else {
            return Err(RelayStoreError::UnknownEvent(id));
        };
        check_replayable(id, &status, replayed_as)?;
        let classified = classify(&body, received_at_ms, checkin_ttl);
        if classified.kind == StoredKind::Malformed {
            return Ok(ReplayOutcome::StillRejected {
                reason: classified.reason,
            });
        }
        // The kept row gives its place in de-duplication to the new one.
        tx.execute("UPDATE events SET accepted = 0 WHERE id = ?1", [id])?;
        let event = NewEvent {
            hold: super::Hold::for_store(&msn, &classified),
            msn,
            webhook_id,
            // A check-in is judged by whether its token still lives now.
            received_at_ms: if classified.kind == StoredKind::CheckedIn {
                now_ms
            } else {
                received_at_ms
            },
            body: body.into(),
            classified,
        };
        let gate: CheckInGate = std::sync::Arc::new(|_| true);
        let (outcome, _) = ingest_one(&tx, &event, &gate)?;
        if outcome.duplicate {
            // Dropping the transaction rolls it back: the kept row stays as it was.
            return Ok(ReplayOutcome::Duplicate {
                event_id: outcome.event_id,
            });
        }
        tx.execute(
            "UPDATE events SET replayed_as = ?2 WHERE id = ?1",
            params![id, outcome.event_id],
        )?;
        tx.commit()?;
        Ok(ReplayOutcome::Filed(outcome))
    }

    /// The raw body of one event (operators replaying or inspecting it).
    pub fn event_body(&self, id: i64) -> Result<Option<Vec<u8>>, RelayStoreError> {
        Ok(self
            .conn
            .query_row("SELECT body FROM events WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, RelayDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = RelayDb::open(&dir.path().join("relay.db")).unwrap();
        (dir, db)
    }

    #[test]
    fn provisioning_round_trip() {
        let (_dir, db) = db();
        db.add_store("123456", "Shop").unwrap();
        assert!(matches!(
            db.add_store("123456", "Again"),
            Err(RelayStoreError::StoreExists(_))
        ));
        db.add_secret("123456", "wh-1", "s1").unwrap();
        db.add_secret("123456", "wh-2", "s2").unwrap();
        assert!(matches!(
            db.add_secret("999", "wh", "s"),
            Err(RelayStoreError::UnknownStore(_))
        ));
        let t = db.add_till("123456", "t1", "qr-1").unwrap();
        assert!(t.token.starts_with(TOKEN_PREFIX));
        assert_eq!(t.token.len(), TOKEN_PREFIX.len() + 43);
        assert!(matches!(
            db.add_till("123456", "t1", "qr-2"),
            Err(RelayStoreError::TillExists { .. })
        ));
        assert!(matches!(
            db.add_till("123456", "t2", "qr-1"),
            Err(RelayStoreError::QrInUse { .. })
        ));
        assert!(matches!(
            db.add_till("123456", "T-1", "qr-9"),
            Err(RelayStoreError::InvalidTillId(_))
        ));
        let stores = db.list_stores().unwrap();
        assert_eq!(stores[0].webhook_ids, vec!["wh-1", "wh-2"]);
        db.revoke_till("123456", "t1").unwrap();
        assert!(db.revoke_till("123456", "t1").is_err());
        // After a revoke the id and the QR can be given to a new till.
        let t2 = db.add_till("123456", "t1", "qr-1").unwrap();
        assert_ne!(t2.token, t.token);
        let tills = db.list_tills(Some("123456")).unwrap();
        assert_eq!(tills.len(), 2);
        assert_eq!(
            tills.iter().filter(|t| t.revoked_at_ms.is_none()).count(),
            1
        );
        // Only the hash is stored.
        let stored: Vec<u8> = db
            .conn
            .query_row(
                "SELECT token_hash FROM tills WHERE revoked_at_ms IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, token_hash(&t2.token).to_vec());
    }
}
