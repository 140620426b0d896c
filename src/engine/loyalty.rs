//! Enrolling a customer as a member through a merchant-initiated Vipps login (BRIEF §10.0
//! steps 5-7), driven as its own persisted state machine (`enrolment` rows, see
//! [`EnrolmentState`]).
//!
//! Every step is written before the next Vipps call: STARTED before the login is started,
//! PENDING with the `auth_req_id` once Vipps accepted it, and APPROVED together with the member
//! (one transaction) once userinfo was read. Loyalty moves no money, so no step here touches a
//! payment; a sale goes on whatever happens to its enrolment.
//!
//! After a crash, [`recover`] finishes every open enrolment: a STARTED one (the login may or
//! may not have reached Vipps, and without its `auth_req_id` it cannot be followed) becomes
//! FAILED `interrupted`; a PENDING one is polled on. A login whose token was taken but whose
//! member was not stored before the crash cannot be read again (a login is exchanged once), so
//! its poll answers `invalid_grant` and it too becomes FAILED `interrupted`: invite again.

use std::future::Future;
use std::time::Duration;

use super::Clock;
use crate::core::loyalty::{EnrolmentFailure, EnrolmentState};
use crate::store::loyalty::{Enrolment, Member, MemberConsent, NewMember};
use crate::store::{Store, StoreError};
use crate::vipps::{
    BindingMessage, ENROL_SCOPE, LoginApi, LoginError, PhoneNumber, StartLogin, UserInfo,
};

/// How much longer to wait between polls after a `slow_down` (CIBA: at least 5 s).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Transport or 5xx failures in a row after which an enrolment is given up.
const MAX_TRANSIENT_FAILURES: u32 = 5;

/// How an enrolment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolOutcome {
    /// The customer is a member now (new, or a returning one under the same `sub`).
    Member(Box<Member>),
    /// No membership; the reason is stored with the enrolment.
    NotEnrolled(EnrolmentFailure),
}

/// Storage failed: nothing more was sent to Vipps.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct EnrolError(#[from] StoreError);

/// Starts an invitation: records it (STARTED), starts the login at Vipps with a fresh binding
/// code, and records the result (PENDING, or FAILED with its reason). Returns the enrolment as
/// stored; show its `binding_message` large to the customer while it is PENDING.
pub async fn invite(
    store: &Store,
    api: &LoginApi,
    clock: &Clock,
    msisdn: &PhoneNumber,
    sale_id: Option<i64>,
) -> Result<Enrolment, EnrolError> {
    let code = BindingMessage::random();
    let enrolment = store.start_enrolment(msisdn, code.as_str(), sale_id)?;
    super::crash::point("enrolment_started");
    let request = StartLogin {
        msisdn: msisdn.clone(),
        scope: ENROL_SCOPE.to_string(),
        binding_message: Some(code),
        requested_expiry: None,
    };
    match api.start(&request).await {
        Ok(started) => {
            let expires_ms = clock.now_ms()
                + i64::try_from(started.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX);
            store.enrolment_pending(
                enrolment.id,
                &started.auth_req_id,
                started.interval.max(1),
                expires_ms,
            )?;
            super::crash::point("enrolment_pending");
        }
        Err(e) => {
            let failure = start_failure(&e);
            tracing::info!(
                enrolment = enrolment.id,
                reason = failure.as_str(),
                "invitation refused"
            );
            store.end_enrolment(enrolment.id, failure)?;
        }
    }
    Ok(store
        .enrolment(enrolment.id)?
        .ok_or_else(|| StoreError::NotFound(format!("enrolment {}", enrolment.id)))?)
}

fn start_failure(e: &LoginError) -> EnrolmentFailure {
    match e {
        LoginError::InvalidUser => EnrolmentFailure::InvalidUser,
        LoginError::OldApp => EnrolmentFailure::OldApp,
        LoginError::TooManyLogins { .. } => EnrolmentFailure::AlreadyInProgress,
        _ => EnrolmentFailure::Vipps,
    }
}

/// Follows a PENDING enrolment to its end: waits `interval` (through `sleep`) before each poll,
/// adds [`SLOW_DOWN_STEP`] on every `slow_down` (and stores the new interval), reads userinfo on
/// approval and stores the member with the enrolment. Gives up at its `expires_ms`.
pub async fn follow<S, F>(
    store: &Store,
    api: &LoginApi,
    clock: &Clock,
    id: i64,
    mut sleep: S,
) -> Result<EnrolOutcome, EnrolError>
where
    S: FnMut(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut transient = 0;
    loop {
        let e = store
            .enrolment(id)?
            .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))?;
        match e.state {
            EnrolmentState::Pending => {}
            EnrolmentState::Approved => {
                let member_id = e.member_id.unwrap_or_default();
                return match store.member(member_id)? {
                    Some(m) => Ok(EnrolOutcome::Member(Box::new(m))),
                    None => Err(StoreError::NotFound(format!("member {member_id}")).into()),
                };
            }
            EnrolmentState::Started => {
                // Not ours to follow: `invite` or `recover` settles it.
                return Err(
                    StoreError::Conflict(format!("enrolment {id} was never started")).into(),
                );
            }
            _ => {
                return Ok(EnrolOutcome::NotEnrolled(
                    e.failure.unwrap_or(EnrolmentFailure::Vipps),
                ));
            }
        }
        let (Some(auth_req_id), Some(interval_s), Some(expires_ms)) =
            (e.auth_req_id.as_deref(), e.interval_s, e.expires_ms)
        else {
            return Err(StoreError::Invalid(format!(
                "enrolment {id} is pending without its login"
            ))
            .into());
        };
        if clock.now_ms() >= expires_ms {
            return end(store, id, EnrolmentFailure::Expired);
        }
        sleep(Duration::from_secs(interval_s)).await;
        match api.token(auth_req_id).await {
            Ok(tokens) => {
                super::crash::point("enrolment_token");
                return match api.userinfo(&tokens).await {
                    Ok(info) => approve(store, id, &e.msisdn, info),
                    // The token is used up: the login cannot be read again.
                    Err(err) => {
                        tracing::warn!(enrolment = id, error = %err, "userinfo failed");
                        end(store, id, EnrolmentFailure::Interrupted)
                    }
                };
            }
            Err(LoginError::AuthorizationPending) => transient = 0,
            Err(LoginError::SlowDown) => {
                let longer = Duration::from_secs(interval_s) + SLOW_DOWN_STEP;
                store.enrolment_interval(id, longer.as_secs())?;
            }
            Err(LoginError::AccessDenied) => return end(store, id, EnrolmentFailure::Declined),
            Err(LoginError::ExpiredToken) => return end(store, id, EnrolmentFailure::Expired),
            Err(LoginError::InvalidGrant) => return end(store, id, EnrolmentFailure::Interrupted),
            Err(err) if err.is_retryable() && transient + 1 < MAX_TRANSIENT_FAILURES => {
                transient += 1;
                tracing::debug!(enrolment = id, error = %err, "login poll failed; trying again");
            }
            Err(err) => {
                tracing::warn!(enrolment = id, error = %err, "login poll failed");
                return end(store, id, EnrolmentFailure::Vipps);
            }
        }
    }
}

fn end(store: &Store, id: i64, failure: EnrolmentFailure) -> Result<EnrolOutcome, EnrolError> {
    store.end_enrolment(id, failure)?;
    Ok(EnrolOutcome::NotEnrolled(failure))
}

/// Store the member from userinfo. The number is the one Vipps reports (it may have changed
/// since the invitation); the invited one when userinfo has none.
fn approve(
    store: &Store,
    id: i64,
    invited: &PhoneNumber,
    info: UserInfo,
) -> Result<EnrolOutcome, EnrolError> {
    let msisdn = info
        .phone_number
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .unwrap_or_else(|| invited.clone());
    let consents = info
        .delegated_consents
        .map(|d| {
            d.consents
                .into_iter()
                .map(|c| MemberConsent {
                    id: c.id,
                    accepted: c.accepted,
                    required: c.required,
                    text: c.text_displayed_to_user,
                    time_of_consent: d.time_of_consent.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let new = NewMember {
        sub: info.sub,
        msisdn,
        given_name: info.given_name,
        family_name: info.family_name,
        consents,
    };
    let member = store.approve_enrolment(id, &new)?;
    super::crash::point("enrolment_approved");
    Ok(EnrolOutcome::Member(Box::new(member)))
}

/// Finish every open enrolment after a start (see the module docs). Returns each one's id and
/// outcome.
pub async fn recover<S, F>(
    store: &Store,
    api: &LoginApi,
    clock: &Clock,
    mut sleep: S,
) -> Result<Vec<(i64, EnrolOutcome)>, EnrolError>
where
    S: FnMut(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut out = Vec::new();
    for e in store.open_enrolments()? {
        let outcome = match e.state {
            EnrolmentState::Started => end(store, e.id, EnrolmentFailure::Interrupted)?,
            _ => follow(store, api, clock, e.id, &mut sleep).await?,
        };
        out.push((e.id, outcome));
    }
    Ok(out)
}
