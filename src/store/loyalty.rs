//! Loyalty storage: the programme settings, members with their consents, enrolments (each its
//! own persisted state machine, see [`EnrolmentState`]) and member prices.
//!
//! Personal data stays in these tables only: nothing here writes the journal (it is
//! append-only and signed, so it could never be erased), and [`Store::erase_member`] deletes a
//! member with every enrolment of that number while the sales stay.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::attempts::{meta_get, meta_set};
use super::{Store, StoreError};
use crate::core::loyalty::{EnrolmentFailure, EnrolmentState, MemberPrices, masked_number};
use crate::vipps::PhoneNumber;

/// The `meta` key of the programme settings.
const META_KEY: &str = "loyalty";

/// The loyalty programme as an admin configured it. Off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoyaltySettings {
    pub enabled: bool,
    /// The programme's name ("Invite to <programme>").
    pub programme: String,
    /// The consent text the store configured at Vipps (shown to the cashier before inviting).
    pub consent_text: String,
}

/// One consent a member gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberConsent {
    pub id: String,
    pub accepted: bool,
    pub required: bool,
    pub text: String,
    /// As Vipps reported it (ISO-8601 UTC).
    pub time_of_consent: String,
}

/// A member. `Debug` shows no personal data.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub id: i64,
    pub sub: String,
    pub msisdn: PhoneNumber,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub enrolled_ms: i64,
    pub updated_ms: i64,
    pub consents: Vec<MemberConsent>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("msisdn", &masked_number(self.msisdn.expose()))
            .finish_non_exhaustive()
    }
}

/// What an approved login tells about the new (or returning) member.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMember {
    pub sub: String,
    pub msisdn: PhoneNumber,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Empty when Vipps did not send them again (consents are shown only the first time).
    pub consents: Vec<MemberConsent>,
}

/// One enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub id: i64,
    pub state: EnrolmentState,
    pub msisdn: PhoneNumber,
    pub binding_message: String,
    pub auth_req_id: Option<String>,
    pub interval_s: Option<u64>,
    pub expires_ms: Option<i64>,
    pub sale_id: Option<i64>,
    pub member_id: Option<i64>,
    pub failure: Option<EnrolmentFailure>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("msisdn", &masked_number(self.msisdn.expose()))
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

fn phone(text: String) -> rusqlite::Result<PhoneNumber> {
    PhoneNumber::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn invalid(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what}").into(),
    )
}

const ENROLMENT_COLUMNS: &str = "id, state, msisdn, binding_message, auth_req_id, interval_s, \
     expires_ms, sale_id, member_id, failure, created_ms, updated_ms";

fn enrolment_row(r: &Row<'_>) -> rusqlite::Result<Enrolment> {
    let state: String = r.get(1)?;
    let failure: Option<String> = r.get(9)?;
    Ok(Enrolment {
        id: r.get(0)?,
        state: EnrolmentState::parse(&state).ok_or_else(|| invalid("enrolment state"))?,
        msisdn: phone(r.get(2)?)?,
        binding_message: r.get(3)?,
        auth_req_id: r.get(4)?,
        interval_s: r.get::<_, Option<i64>>(5)?.map(|s| s.max(1) as u64),
        expires_ms: r.get(6)?,
        sale_id: r.get(7)?,
        member_id: r.get(8)?,
        failure: match failure {
            None => None,
            Some(f) => Some(EnrolmentFailure::parse(&f).ok_or_else(|| invalid("failure"))?),
        },
        created_ms: r.get(10)?,
        updated_ms: r.get(11)?,
    })
}

fn consents_of(c: &Connection, member_id: i64) -> Result<Vec<MemberConsent>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT consent_id, accepted, required, text, time_of_consent FROM member_consent
         WHERE member_id = ?1 ORDER BY consent_id",
    )?;
    let rows = stmt.query_map([member_id], |r| {
        Ok(MemberConsent {
            id: r.get(0)?,
            accepted: r.get(1)?,
            required: r.get(2)?,
            text: r.get(3)?,
            time_of_consent: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn member_where(
    c: &Connection,
    clause: &str,
    arg: &dyn rusqlite::ToSql,
) -> Result<Option<Member>, StoreError> {
    let sql = format!(
        "SELECT id, sub, msisdn, given_name, family_name, enrolled_ms, updated_ms FROM member
         WHERE {clause} ORDER BY updated_ms DESC, id DESC LIMIT 1"
    );
    let found = c
        .query_row(&sql, [arg], |r| {
            Ok(Member {
                id: r.get(0)?,
                sub: r.get(1)?,
                msisdn: phone(r.get(2)?)?,
                given_name: r.get(3)?,
                family_name: r.get(4)?,
                enrolled_ms: r.get(5)?,
                updated_ms: r.get(6)?,
                consents: Vec::new(),
            })
        })
        .optional()?;
    match found {
        None => Ok(None),
        Some(mut m) => {
            m.consents = consents_of(c, m.id)?;
            Ok(Some(m))
        }
    }
}

impl<C: Borrow<Connection>> Store<C> {
    /// The programme settings (off when never set).
    pub fn loyalty_settings(&self) -> Result<LoyaltySettings, StoreError> {
        match meta_get(self.conn(), META_KEY)? {
            None => Ok(LoyaltySettings::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                StoreError::Invalid(format!("the stored loyalty settings are unreadable: {e}"))
            }),
        }
    }

    /// Save the programme settings. Turning it on needs a programme name.
    pub fn set_loyalty_settings(&self, settings: &LoyaltySettings) -> Result<(), StoreError> {
        if settings.enabled && settings.programme.trim().is_empty() {
            return Err(StoreError::Refused(
                "give the loyalty programme a name before turning it on".into(),
            ));
        }
        meta_set(self.conn(), META_KEY, &serde_json::to_string(settings)?)?;
        Ok(())
    }

    /// The member with this `sub`.
    pub fn member_by_sub(&self, sub: &str) -> Result<Option<Member>, StoreError> {
        member_where(self.conn(), "sub = ?1", &sub)
    }

    /// The member last seen with this number.
    pub fn member_by_msisdn(&self, msisdn: &PhoneNumber) -> Result<Option<Member>, StoreError> {
        member_where(self.conn(), "msisdn = ?1", &msisdn.expose())
    }

    pub fn member(&self, id: i64) -> Result<Option<Member>, StoreError> {
        member_where(self.conn(), "id = ?1", &id)
    }

    /// Members, newest first; `search` matches a name or the end of the number.
    pub fn members(&self, search: Option<&str>) -> Result<Vec<Member>, StoreError> {
        let pattern = search.map(|s| format!("%{}%", s.trim()));
        let mut stmt = self.conn().prepare(
            "SELECT id FROM member
             WHERE ?1 IS NULL OR given_name LIKE ?1 OR family_name LIKE ?1
                OR msisdn LIKE ?1
             ORDER BY enrolled_ms DESC, id DESC",
        )?;
        let ids: Vec<i64> = stmt
            .query_map([&pattern], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(m) = self.member(id)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// One member's data as JSON (the data-access export).
    pub fn export_member(&self, id: i64) -> Result<serde_json::Value, StoreError> {
        let member = self
            .member(id)?
            .ok_or_else(|| StoreError::NotFound(format!("member {id}")))?;
        Ok(serde_json::json!({
            "sub": member.sub,
            "msisdn": member.msisdn.expose(),
            "given_name": member.given_name,
            "family_name": member.family_name,
            "enrolled_ms": member.enrolled_ms,
            "updated_ms": member.updated_ms,
            "consents": member.consents,
            "points": self.member_points(id)?,
            "sales": self.member_sales(id)?,
        }))
    }

    /// Record that `member_id` made sale `sale_id`, and what the member prices saved on it
    /// (`None`: leave the saving as it is). Recording the same sale again changes nothing else.
    pub fn record_member_sale(
        &self,
        sale_id: i64,
        member_id: i64,
        saving: Option<i64>,
    ) -> Result<(), StoreError> {
        self.atomic(|| {
            self.conn().execute(
                "INSERT INTO member_sale (sale_id, member_id) VALUES (?1, ?2)
                 ON CONFLICT (sale_id) DO NOTHING",
                params![sale_id, member_id],
            )?;
            if let Some(saving) = saving {
                self.conn().execute(
                    "UPDATE sale SET member_saving = ?2 WHERE id = ?1",
                    params![sale_id, saving.max(0)],
                )?;
            }
            Ok(())
        })
    }

    /// A member's points: one per whole currency unit of their completed sales (training sales
    /// left out), less what was paid back for them. Counted from the sales, never stored.
    pub fn member_points(&self, member_id: i64) -> Result<i64, StoreError> {
        let net: i64 = self.conn().query_row(
            "SELECT
               coalesce((SELECT sum(s.total) FROM member_sale ms JOIN sale s ON s.id = ms.sale_id
                         WHERE ms.member_id = ?1 AND s.state = 'completed' AND s.training = 0), 0)
             - coalesce((SELECT sum(r.amount) FROM member_sale ms
                         JOIN sale_return r ON r.sale_id = ms.sale_id
                         WHERE ms.member_id = ?1 AND r.state = 'done'), 0)
             - coalesce((SELECT sum(abs(o.amount)) FROM member_sale ms
                         JOIN payment_attempt a ON a.sale_id = ms.sale_id
                         JOIN payment_operation o ON o.attempt_id = a.id
                         WHERE ms.member_id = ?1 AND o.kind = 'refund' AND o.status = 'succeeded'
                           AND NOT EXISTS (SELECT 1 FROM sale_return r
                                           WHERE r.refund_op_id = o.id)), 0)",
            [member_id],
            |r| r.get(0),
        )?;
        Ok(net.max(0) / 100)
    }

    /// A member's sales (for their data export): id, state, total and member saving.
    fn member_sales(&self, member_id: i64) -> Result<Vec<serde_json::Value>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT s.id, s.state, s.total, s.currency, s.member_saving, s.created_ms
             FROM member_sale ms JOIN sale s ON s.id = ms.sale_id
             WHERE ms.member_id = ?1 ORDER BY s.id",
        )?;
        let rows = stmt.query_map([member_id], |r| {
            Ok(serde_json::json!({
                "sale_id": r.get::<_, i64>(0)?,
                "state": r.get::<_, String>(1)?,
                "total": r.get::<_, i64>(2)?,
                "currency": r.get::<_, String>(3)?,
                "member_saving": r.get::<_, i64>(4)?,
                "created_ms": r.get::<_, i64>(5)?,
            }))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Write one member's data ([`Self::export_member`]) as pretty JSON to `path`, a file only
    /// its owner can read.
    pub fn export_member_to(&self, id: i64, path: &std::path::Path) -> Result<(), StoreError> {
        use std::io::Write;
        let data = serde_json::to_vec_pretty(&self.export_member(id)?)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(path).and_then(|mut f| {
            // An older file keeps its mode on open: narrow it before writing.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(&data)
        });
        written.map_err(|e| StoreError::Refused(format!("cannot write {}: {e}", path.display())))
    }

    /// Erase a member: the row, its consents and every enrolment of its number. Sales stay.
    pub fn erase_member(&self, id: i64) -> Result<(), StoreError> {
        self.atomic(|| {
            let member = self
                .member(id)?
                .ok_or_else(|| StoreError::NotFound(format!("member {id}")))?;
            self.conn().execute(
                "DELETE FROM enrolment WHERE msisdn = ?1 OR member_id = ?2",
                params![member.msisdn.expose(), id],
            )?;
            self.conn()
                .execute("DELETE FROM member WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Record an invitation before the login is started at Vipps (state STARTED). Refused
    /// while another enrolment of the number is open.
    pub fn start_enrolment(
        &self,
        msisdn: &PhoneNumber,
        binding_message: &str,
        sale_id: Option<i64>,
    ) -> Result<Enrolment, StoreError> {
        let now = self.now_ms();
        self.conn()
            .execute(
                "INSERT INTO enrolment (state, msisdn, binding_message, sale_id, created_ms,
                                        updated_ms)
                 VALUES ('STARTED', ?1, ?2, ?3, ?4, ?4)",
                params![msisdn.expose(), binding_message, sale_id, now],
            )
            .map_err(|e| {
                StoreError::from_constraint(e, || {
                    "an invitation for this number is already open".into()
                })
            })?;
        let id = self.conn().last_insert_rowid();
        self.enrolment(id)?
            .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))
    }

    pub fn enrolment(&self, id: i64) -> Result<Option<Enrolment>, StoreError> {
        let sql = format!("SELECT {ENROLMENT_COLUMNS} FROM enrolment WHERE id = ?1");
        Ok(self
            .conn()
            .query_row(&sql, [id], enrolment_row)
            .optional()?)
    }

    /// Every STARTED or PENDING enrolment, oldest first (for recovery).
    pub fn open_enrolments(&self) -> Result<Vec<Enrolment>, StoreError> {
        let sql = format!(
            "SELECT {ENROLMENT_COLUMNS} FROM enrolment WHERE state IN ('STARTED', 'PENDING')
             ORDER BY id"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([], enrolment_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn move_enrolment(
        &self,
        id: i64,
        next: EnrolmentState,
        set: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let current = self
            .enrolment(id)?
            .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))?;
        if !current.state.can_move_to(next) {
            return Err(StoreError::Conflict(format!(
                "enrolment {id} is {}, it cannot become {}",
                current.state.as_str(),
                next.as_str()
            )));
        }
        let sql = format!(
            "UPDATE enrolment SET state = ?1, updated_ms = ?2{set} WHERE id = ?3 AND state = ?4"
        );
        let now = self.now_ms();
        let (next_text, current_text) = (next.as_str(), current.state.as_str());
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&next_text, &now, &id, &current_text];
        all.extend_from_slice(args);
        let changed = self.conn().execute(&sql, rusqlite::params_from_iter(all))?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "enrolment {id} changed meanwhile"
            )))
        }
    }

    /// STARTED → PENDING: Vipps accepted the login.
    pub fn enrolment_pending(
        &self,
        id: i64,
        auth_req_id: &str,
        interval_s: u64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let interval = i64::try_from(interval_s.max(1)).unwrap_or(i64::MAX);
        self.move_enrolment(
            id,
            EnrolmentState::Pending,
            ", auth_req_id = ?5, interval_s = ?6, expires_ms = ?7",
            &[&auth_req_id, &interval, &expires_ms],
        )
    }

    /// A slow_down while PENDING: the new poll interval.
    pub fn enrolment_interval(&self, id: i64, interval_s: u64) -> Result<(), StoreError> {
        let interval = i64::try_from(interval_s.max(1)).unwrap_or(i64::MAX);
        let now = self.now_ms();
        self.conn().execute(
            "UPDATE enrolment SET interval_s = ?1, updated_ms = ?2
             WHERE id = ?3 AND state = 'PENDING'",
            params![interval, now, id],
        )?;
        Ok(())
    }

    /// PENDING → DECLINED | EXPIRED | FAILED, or STARTED → FAILED.
    pub fn end_enrolment(&self, id: i64, failure: EnrolmentFailure) -> Result<(), StoreError> {
        self.move_enrolment(id, failure.state(), ", failure = ?5", &[&failure.as_str()])
    }

    /// PENDING → APPROVED with the member stored, in one transaction: the member (found by
    /// `sub`, else created) gets the current number and names; consents Vipps sent replace
    /// the stored ones. Returns the member.
    pub fn approve_enrolment(&self, id: i64, new: &NewMember) -> Result<Member, StoreError> {
        self.atomic(|| {
            let now = self.now_ms();
            let c = self.conn();
            let member_id = match self.member_by_sub(&new.sub)? {
                Some(existing) => {
                    c.execute(
                        "UPDATE member SET msisdn = ?1,
                             given_name = coalesce(?2, given_name),
                             family_name = coalesce(?3, family_name), updated_ms = ?4
                         WHERE id = ?5",
                        params![
                            new.msisdn.expose(),
                            new.given_name,
                            new.family_name,
                            now,
                            existing.id
                        ],
                    )?;
                    existing.id
                }
                None => {
                    c.execute(
                        "INSERT INTO member (sub, msisdn, given_name, family_name, enrolled_ms,
                                             updated_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        params![
                            new.sub,
                            new.msisdn.expose(),
                            new.given_name,
                            new.family_name,
                            now
                        ],
                    )
                    .map_err(|e| StoreError::from_constraint(e, || "member".into()))?;
                    c.last_insert_rowid()
                }
            };
            if !new.consents.is_empty() {
                c.execute(
                    "DELETE FROM member_consent WHERE member_id = ?1",
                    [member_id],
                )?;
                for consent in &new.consents {
                    c.execute(
                        "INSERT INTO member_consent (member_id, consent_id, accepted, required,
                                                     text, time_of_consent, recorded_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            member_id,
                            consent.id,
                            consent.accepted,
                            consent.required,
                            consent.text,
                            consent.time_of_consent,
                            now
                        ],
                    )?;
                }
            }
            self.move_enrolment(
                id,
                EnrolmentState::Approved,
                ", member_id = ?5",
                &[&member_id],
            )?;
            self.member(member_id)?
                .ok_or_else(|| StoreError::NotFound(format!("member {member_id}")))
        })
    }

    /// Member prices: per item and per category.
    pub fn member_prices(&self) -> Result<MemberPrices, StoreError> {
        let c = self.conn();
        let mut prices = MemberPrices::default();
        let mut stmt = c.prepare("SELECT item_id, unit_price FROM member_price")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (item, price) = row?;
            prices.items.insert(item, price);
        }
        let mut stmt = c.prepare("SELECT category, percent_bp FROM member_category_discount")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
            let (category, bp) = row?;
            prices.categories.insert(category, bp);
        }
        Ok(prices)
    }

    /// Set (Some) or clear (None) an item's member price. The item must be in the catalogue.
    pub fn set_member_price(&self, item_id: &str, price: Option<i64>) -> Result<(), StoreError> {
        match price {
            Some(p) if p < 0 => Err(StoreError::Refused(format!(
                "a member price cannot be negative ({p})"
            ))),
            Some(p) => {
                self.conn()
                    .execute(
                        "INSERT INTO member_price (item_id, unit_price) VALUES (?1, ?2)
                         ON CONFLICT(item_id) DO UPDATE SET unit_price = excluded.unit_price",
                        params![item_id, p],
                    )
                    .map_err(|e| {
                        StoreError::from_constraint(e, || {
                            format!("no catalogue item {item_id:?} for a member price")
                        })
                    })?;
                Ok(())
            }
            None => {
                self.conn()
                    .execute("DELETE FROM member_price WHERE item_id = ?1", [item_id])?;
                Ok(())
            }
        }
    }

    /// Store the catalogue (as [`Store::replace_catalog`]) and one item's member price (Some) or
    /// none (None), in one transaction: an Admin item edit.
    pub fn replace_catalog_with_member_price(
        &self,
        items: &[crate::core::catalog::Item],
        item_id: &str,
        member_price: Option<i64>,
    ) -> Result<(), StoreError> {
        self.atomic(|| {
            self.replace_catalog(items)?;
            self.set_member_price(item_id, member_price)
        })
    }

    /// Set or clear several categories' member discounts in one transaction: all or none.
    pub fn set_member_category_discounts(
        &self,
        discounts: &[(String, Option<u32>)],
    ) -> Result<(), StoreError> {
        self.atomic(|| {
            for (category, percent_bp) in discounts {
                self.set_member_category_discount(category, *percent_bp)?;
            }
            Ok(())
        })
    }

    /// Set (Some, 1..=10000 basis points) or clear (None) a category's member discount.
    pub fn set_member_category_discount(
        &self,
        category: &str,
        percent_bp: Option<u32>,
    ) -> Result<(), StoreError> {
        match percent_bp {
            Some(bp) if !(1..=10_000).contains(&bp) || category.trim().is_empty() => {
                Err(StoreError::Refused(format!(
                    "a category member discount is 0.01 % to 100 % of a named category, got {bp} bp"
                )))
            }
            Some(bp) => {
                self.conn().execute(
                    "INSERT INTO member_category_discount (category, percent_bp) VALUES (?1, ?2)
                     ON CONFLICT(category) DO UPDATE SET percent_bp = excluded.percent_bp",
                    params![category, bp],
                )?;
                Ok(())
            }
            None => {
                self.conn().execute(
                    "DELETE FROM member_category_discount WHERE category = ?1",
                    [category],
                )?;
                Ok(())
            }
        }
    }
}
