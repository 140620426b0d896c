//! Provisioning and operator queries on either database, for the CLI: [`RelayDb`] on SQLite,
//! the same operations on PostgreSQL (run on a runtime of their own, so the CLI stays
//! synchronous).

use super::postgres::{PgOptions, connect_pool, replay_on};
use super::provisioning::{
    check_new_partner, check_new_store, check_qr, check_webhook_secret, now_ms,
};
use super::{
    EventFilter, EventSummary, NewTill, RelayDatabase, RelayDb, RelayStoreError, ReplayOutcome,
    StoreInfo, TillInfo, generate_till_token, token_hash,
};
use crate::relay::wire::is_valid_till_id;
use deadpool_postgres::Pool;
use std::time::Duration;

/// The relay database opened for provisioning.
pub enum RelayAdmin {
    Sqlite(RelayDb),
    Postgres(PgAdmin),
}

/// PostgreSQL provisioning: a small pool and a runtime to drive it.
pub struct PgAdmin {
    runtime: tokio::runtime::Runtime,
    pool: Pool,
}

impl RelayAdmin {
    /// Open (create and migrate) the database named by `--db`.
    pub fn open(db: &RelayDatabase) -> Result<RelayAdmin, RelayStoreError> {
        match db {
            RelayDatabase::Sqlite(path) => Ok(RelayAdmin::Sqlite(RelayDb::open(path)?)),
            RelayDatabase::Postgres(url) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| RelayStoreError::Task(e.to_string()))?;
                let opts = PgOptions {
                    max_connections: 2,
                    ..PgOptions::default()
                };
                let pool = runtime.block_on(connect_pool(url, &opts))?;
                Ok(RelayAdmin::Postgres(PgAdmin { runtime, pool }))
            }
        }
    }

    pub fn add_store(&self, msn: &str, name: &str) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.add_store(msn, name),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                check_new_store(msn, name)?;
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "INSERT INTO stores (msn, name, created_at_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (msn) DO NOTHING",
                        &[&msn, &name, &now_ms()],
                    )
                    .await?;
                if n == 0 {
                    return Err(RelayStoreError::StoreExists(msn.to_string()));
                }
                Ok(())
            }),
        }
    }

    pub fn add_secret(
        &self,
        msn: &str,
        webhook_id: &str,
        secret: &str,
    ) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.add_secret(msn, webhook_id, secret),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                check_webhook_secret(webhook_id, secret)?;
                let client = pool.get().await?;
                require_store(&client, msn).await?;
                client
                    .execute(
                        "INSERT INTO store_secrets (msn, webhook_id, secret, created_at_ms)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (msn, webhook_id) DO UPDATE SET secret = excluded.secret",
                        &[&msn, &webhook_id, &secret, &now_ms()],
                    )
                    .await?;
                Ok(())
            }),
        }
    }

    pub fn add_partner(&self, partner_id: &str, name: &str) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.add_partner(partner_id, name),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                check_new_partner(partner_id, name)?;
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "INSERT INTO partners (partner_id, name, created_at_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (partner_id) DO NOTHING",
                        &[&partner_id, &name, &now_ms()],
                    )
                    .await?;
                if n == 0 {
                    return Err(RelayStoreError::PartnerExists(partner_id.to_string()));
                }
                Ok(())
            }),
        }
    }

    pub fn add_partner_secret(
        &self,
        partner_id: &str,
        webhook_id: &str,
        secret: &str,
    ) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.add_partner_secret(partner_id, webhook_id, secret),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                check_webhook_secret(webhook_id, secret)?;
                let client = pool.get().await?;
                require_partner(&client, partner_id).await?;
                client
                    .execute(
                        "INSERT INTO partner_secrets (partner_id, webhook_id, secret, created_at_ms)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (partner_id, webhook_id) DO UPDATE SET secret = excluded.secret",
                        &[&partner_id, &webhook_id, &secret, &now_ms()],
                    )
                    .await?;
                Ok(())
            }),
        }
    }

    pub fn set_store_partner(
        &self,
        msn: &str,
        partner_id: Option<&str>,
    ) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.set_store_partner(msn, partner_id),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let client = pool.get().await?;
                require_store(&client, msn).await?;
                if let Some(p) = partner_id {
                    require_partner(&client, p).await?;
                }
                client
                    .execute(
                        "UPDATE stores SET partner_id = $2 WHERE msn = $1",
                        &[&msn, &partner_id],
                    )
                    .await?;
                Ok(())
            }),
        }
    }

    pub fn remove_secret(&self, msn: &str, webhook_id: &str) -> Result<bool, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.remove_secret(msn, webhook_id),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "DELETE FROM store_secrets WHERE msn = $1 AND webhook_id = $2",
                        &[&msn, &webhook_id],
                    )
                    .await?;
                Ok(n > 0)
            }),
        }
    }

    pub fn add_till(
        &self,
        msn: &str,
        till_id: &str,
        merchant_qr_id: &str,
    ) -> Result<NewTill, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.add_till(msn, till_id, merchant_qr_id),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                if !is_valid_till_id(till_id) {
                    return Err(RelayStoreError::InvalidTillId(till_id.to_string()));
                }
                check_qr(merchant_qr_id)?;
                let client = pool.get().await?;
                require_store(&client, msn).await?;
                if client
                    .query_opt(
                        "SELECT 1 FROM tills
                         WHERE msn = $1 AND till_id = $2 AND revoked_at_ms IS NULL",
                        &[&msn, &till_id],
                    )
                    .await?
                    .is_some()
                {
                    return Err(RelayStoreError::TillExists {
                        msn: msn.to_string(),
                        till_id: till_id.to_string(),
                    });
                }
                if let Some(other) = client
                    .query_opt(
                        "SELECT till_id FROM tills
                         WHERE msn = $1 AND merchant_qr_id = $2 AND revoked_at_ms IS NULL",
                        &[&msn, &merchant_qr_id],
                    )
                    .await?
                {
                    return Err(RelayStoreError::QrInUse {
                        msn: msn.to_string(),
                        merchant_qr_id: merchant_qr_id.to_string(),
                        till_id: other.get(0),
                    });
                }
                let token = generate_till_token(&mut rand::rng());
                client
                    .execute(
                        "INSERT INTO tills (msn, till_id, merchant_qr_id, token_hash, created_at_ms)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[
                            &msn,
                            &till_id,
                            &merchant_qr_id,
                            &&token_hash(&token)[..],
                            &now_ms(),
                        ],
                    )
                    .await?;
                Ok(NewTill {
                    msn: msn.to_string(),
                    till_id: till_id.to_string(),
                    merchant_qr_id: merchant_qr_id.to_string(),
                    token,
                })
            }),
        }
    }

    pub fn revoke_till(&self, msn: &str, till_id: &str) -> Result<(), RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.revoke_till(msn, till_id),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE tills SET revoked_at_ms = $3
                         WHERE msn = $1 AND till_id = $2 AND revoked_at_ms IS NULL",
                        &[&msn, &till_id, &now_ms()],
                    )
                    .await?;
                if n == 0 {
                    return Err(RelayStoreError::UnknownTill {
                        msn: msn.to_string(),
                        till_id: till_id.to_string(),
                    });
                }
                Ok(())
            }),
        }
    }

    pub fn list_stores(&self) -> Result<Vec<StoreInfo>, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.list_stores(),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT s.msn, s.name,
                                coalesce(string_agg(k.webhook_id, ' ' ORDER BY k.webhook_id), '')
                         FROM stores s LEFT JOIN store_secrets k ON k.msn = s.msn
                         GROUP BY s.msn, s.name ORDER BY s.msn",
                        &[],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| StoreInfo {
                        msn: r.get(0),
                        name: r.get(1),
                        webhook_ids: r
                            .get::<_, String>(2)
                            .split_whitespace()
                            .map(str::to_string)
                            .collect(),
                    })
                    .collect())
            }),
        }
    }

    pub fn list_tills(&self, msn: Option<&str>) -> Result<Vec<TillInfo>, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.list_tills(msn),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT t.msn, t.till_id, t.merchant_qr_id, t.created_at_ms, t.revoked_at_ms,
                                (SELECT count(*) FROM events e WHERE e.till_pk = t.pk
                                   AND e.status = 'routed' AND e.acked_at_ms IS NULL),
                                (SELECT max(e.id) FROM events e
                                  WHERE e.till_pk = t.pk AND e.acked_at_ms IS NOT NULL)
                         FROM tills t WHERE ($1::text IS NULL OR t.msn = $1)
                         ORDER BY t.msn, t.till_id, t.pk",
                        &[&msn],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| TillInfo {
                        msn: r.get(0),
                        till_id: r.get(1),
                        merchant_qr_id: r.get(2),
                        created_at_ms: r.get(3),
                        revoked_at_ms: r.get(4),
                        pending: r.get::<_, i64>(5).max(0).unsigned_abs(),
                        last_acked_seq: r.get::<_, Option<i64>>(6).map(i64::unsigned_abs),
                    })
                    .collect())
            }),
        }
    }

    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventSummary>, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.events(filter),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                let limit = i64::try_from(filter.limit.max(1)).unwrap_or(i64::MAX);
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT e.id, e.msn, e.received_at_ms, e.kind, e.status, e.route_key,
                                e.reason, t.till_id, e.acked_at_ms
                         FROM events e LEFT JOIN tills t ON t.pk = e.till_pk
                         WHERE ($1::text IS NULL OR e.msn = $1)
                           AND ($2::text IS NULL OR e.status = $2)
                         ORDER BY e.id DESC LIMIT $3",
                        &[&filter.msn, &filter.status, &limit],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| EventSummary {
                        id: r.get(0),
                        msn: r.get(1),
                        received_at_ms: r.get(2),
                        kind: r.get(3),
                        status: r.get(4),
                        route_key: r.get(5),
                        reason: r.get(6),
                        till_id: r.get(7),
                        acked_at_ms: r.get(8),
                    })
                    .collect())
            }),
        }
    }

    /// See [`RelayDb::replay`]. On PostgreSQL the new event's NOTIFY wakes its till on
    /// whichever instance it is connected to, at once.
    pub fn replay(&self, id: i64, checkin_ttl: Duration) -> Result<ReplayOutcome, RelayStoreError> {
        match self {
            RelayAdmin::Sqlite(db) => db.replay(id, now_ms(), checkin_ttl),
            RelayAdmin::Postgres(pg) => pg.run(|pool| async move {
                replay_on(&pool, "admin", id, now_ms(), checkin_ttl).await
            }),
        }
    }
}

impl PgAdmin {
    fn run<'a, T, F, Fut>(&'a self, f: F) -> Result<T, RelayStoreError>
    where
        F: FnOnce(Pool) -> Fut,
        Fut: std::future::Future<Output = Result<T, RelayStoreError>> + 'a,
    {
        self.runtime.block_on(f(self.pool.clone()))
    }
}

async fn require_store(
    client: &deadpool_postgres::Client,
    msn: &str,
) -> Result<(), RelayStoreError> {
    match client
        .query_opt("SELECT 1 FROM stores WHERE msn = $1", &[&msn])
        .await?
    {
        Some(_) => Ok(()),
        None => Err(RelayStoreError::UnknownStore(msn.to_string())),
    }
}

async fn require_partner(
    client: &deadpool_postgres::Client,
    partner_id: &str,
) -> Result<(), RelayStoreError> {
    match client
        .query_opt(
            "SELECT 1 FROM partners WHERE partner_id = $1",
            &[&partner_id],
        )
        .await?
    {
        Some(_) => Ok(()),
        None => Err(RelayStoreError::UnknownPartner(partner_id.to_string())),
    }
}
