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

use std::borrow::Borrow;
use std::future::Future;

use rusqlite::Connection;
use std::time::Duration;

use crate::clock::Clock;
use crate::core::loyalty::{EnrolmentFailure, EnrolmentState};
use crate::store::loyalty::{Enrolment, Member, MemberConsent, NewMember};
use crate::store::{Store, StoreError};
use crate::vipps::{
    BindingMessage, ENROL_SCOPE, LoginApi, LoginError, LoginStarted, PhoneNumber, StartLogin,
    UserInfo,
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
pub struct EnrolError(#[from] pub StoreError);

/// Starts an invitation: records it (STARTED), starts the login at Vipps with a fresh binding
/// code, and records the result (PENDING, or FAILED with its reason). Returns the enrolment as
/// stored; show its `binding_message` large to the customer while it is PENDING.
pub async fn invite<C: Borrow<Connection>>(
    store: &Store<C>,
    api: &LoginApi,
    clock: &Clock,
    msisdn: &PhoneNumber,
    sale_id: Option<i64>,
) -> Result<Enrolment, EnrolError> {
    let (enrolment, request) = begin(store, msisdn, sale_id)?;
    super::crash::point("enrolment_started");
    let result = start_login(api, &request).await;
    let stored = record_start(store, clock, enrolment.id, result)?;
    if stored.state == EnrolmentState::Pending {
        super::crash::point("enrolment_pending");
    }
    Ok(stored)
}

/// Record an invitation (STARTED) and the login request to send for it. (The crash points of
/// these steps are the caller's, after its commit.)
pub fn begin<C: Borrow<Connection>>(
    store: &Store<C>,
    msisdn: &PhoneNumber,
    sale_id: Option<i64>,
) -> Result<(Enrolment, StartLogin), EnrolError> {
    let code = BindingMessage::random();
    let enrolment = store.start_enrolment(msisdn, code.as_str(), sale_id)?;
    let request = StartLogin {
        msisdn: msisdn.clone(),
        scope: ENROL_SCOPE.to_string(),
        binding_message: Some(code),
        requested_expiry: None,
    };
    Ok((enrolment, request))
}

/// Start the login at Vipps, asking first whether the number is a Vipps MobilePay user at all
/// (BRIEF §10.3): a number without one ends as `invalid_user` without a login being started.
/// When user-exists itself fails (it is optional, and unconfirmed in the test environment),
/// the login is started anyway; its own `invalid_user` still ends it.
pub async fn start_login(api: &LoginApi, request: &StartLogin) -> Result<LoginStarted, LoginError> {
    match api.user_exists(&request.msisdn).await {
        Ok(false) => return Err(LoginError::InvalidUser),
        Ok(true) => {}
        Err(error) => {
            tracing::debug!(%error, "user-exists failed; starting the login anyway");
        }
    }
    api.start(request).await
}

/// Record what Vipps answered to the start: PENDING, or FAILED with its reason.
pub fn record_start<C: Borrow<Connection>>(
    store: &Store<C>,
    clock: &Clock,
    id: i64,
    result: Result<LoginStarted, LoginError>,
) -> Result<Enrolment, EnrolError> {
    match result {
        Ok(started) => {
            let expires_ms = clock.now_ms()
                + i64::try_from(started.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX);
            store.enrolment_pending(
                id,
                &started.auth_req_id,
                started.interval.max(1),
                expires_ms,
            )?;
        }
        Err(e) => {
            let failure = start_failure(&e);
            tracing::info!(
                enrolment = id,
                reason = failure.as_str(),
                "invitation refused"
            );
            store.end_enrolment(id, failure)?;
        }
    }
    Ok(store
        .enrolment(id)?
        .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))?)
}

fn start_failure(e: &LoginError) -> EnrolmentFailure {
    match e {
        LoginError::InvalidUser => EnrolmentFailure::InvalidUser,
        LoginError::OldApp => EnrolmentFailure::OldApp,
        LoginError::TooManyLogins { .. } => EnrolmentFailure::AlreadyInProgress,
        _ => EnrolmentFailure::Vipps,
    }
}

/// The answer of one poll: the member's userinfo (its id_token validated), a token that was
/// taken but whose userinfo could not be read (the login is used up), a token whose id_token
/// did not validate, or the token endpoint's error.
#[derive(Debug)]
pub enum PollAnswer {
    Info(Box<UserInfo>),
    TokenUsedUp,
    Unverified(LoginError),
    Failed(LoginError),
}

/// One poll of a login: the token, then at once userinfo, then the id_token's validation
/// (signature from `jwks_uri`, issuer, audience, expiry, and the same `sub` as userinfo).
pub async fn poll_once(api: &LoginApi, auth_req_id: &str) -> PollAnswer {
    match api.token(auth_req_id).await {
        Ok(tokens) => {
            super::crash::point("enrolment_token");
            let info = match api.userinfo(&tokens).await {
                Ok(info) => info,
                Err(error) => {
                    tracing::warn!(%error, "userinfo failed");
                    return PollAnswer::TokenUsedUp;
                }
            };
            match api.validate_id_token(&tokens, &info.sub).await {
                Ok(_) => PollAnswer::Info(Box::new(info)),
                Err(error) => {
                    tracing::warn!(%error, "the login's id_token did not validate; no member stored");
                    PollAnswer::Unverified(error)
                }
            }
        }
        Err(e) => PollAnswer::Failed(e),
    }
}

/// What to do next with an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Poll its login (`auth_req_id`) after this wait.
    Poll { wait: Duration, auth_req_id: String },
    /// It has ended.
    Done(EnrolOutcome),
}

/// Where a stored enrolment stands: its next poll, or its end (expiring it when its time is up).
pub fn next<C: Borrow<Connection>>(
    store: &Store<C>,
    clock: &Clock,
    id: i64,
) -> Result<Next, EnrolError> {
    let e = store
        .enrolment(id)?
        .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))?;
    match e.state {
        EnrolmentState::Pending => {}
        EnrolmentState::Approved => {
            let member_id = e.member_id.unwrap_or_default();
            return match store.member(member_id)? {
                Some(m) => Ok(Next::Done(EnrolOutcome::Member(Box::new(m)))),
                None => Err(StoreError::NotFound(format!("member {member_id}")).into()),
            };
        }
        EnrolmentState::Started => {
            // Without its auth_req_id the login cannot be followed.
            return end(store, id, EnrolmentFailure::Interrupted).map(Next::Done);
        }
        _ => {
            return Ok(Next::Done(EnrolOutcome::NotEnrolled(
                e.failure.unwrap_or(EnrolmentFailure::Vipps),
            )));
        }
    }
    let (Some(auth_req_id), Some(interval_s), Some(expires_ms)) =
        (e.auth_req_id, e.interval_s, e.expires_ms)
    else {
        return Err(
            StoreError::Invalid(format!("enrolment {id} is pending without its login")).into(),
        );
    };
    if clock.now_ms() >= expires_ms {
        return end(store, id, EnrolmentFailure::Expired).map(Next::Done);
    }
    Ok(Next::Poll {
        wait: Duration::from_secs(interval_s),
        auth_req_id,
    })
}

/// Record one poll's answer. `transient` counts retryable failures in a row (reset on an
/// answer). Returns the enrolment's next step.
pub fn record_poll<C: Borrow<Connection>>(
    store: &Store<C>,
    clock: &Clock,
    id: i64,
    answer: PollAnswer,
    transient: &mut u32,
) -> Result<Next, EnrolError> {
    let invited = store
        .enrolment(id)?
        .ok_or_else(|| StoreError::NotFound(format!("enrolment {id}")))?;
    match answer {
        PollAnswer::Info(info) => {
            return approve(store, id, &invited.msisdn, *info).map(Next::Done);
        }
        PollAnswer::TokenUsedUp => {
            return end(store, id, EnrolmentFailure::Interrupted).map(Next::Done);
        }
        // The login is used up either way; only a refused id_token says "unverified".
        PollAnswer::Unverified(LoginError::IdToken(_)) => {
            return end(store, id, EnrolmentFailure::Unverified).map(Next::Done);
        }
        PollAnswer::Unverified(_) => {
            return end(store, id, EnrolmentFailure::Vipps).map(Next::Done);
        }
        PollAnswer::Failed(LoginError::AuthorizationPending) => *transient = 0,
        PollAnswer::Failed(LoginError::SlowDown) => {
            *transient = 0;
            let current = Duration::from_secs(invited.interval_s.unwrap_or(5));
            store.enrolment_interval(id, (current + SLOW_DOWN_STEP).as_secs())?;
        }
        PollAnswer::Failed(LoginError::AccessDenied) => {
            return end(store, id, EnrolmentFailure::Declined).map(Next::Done);
        }
        PollAnswer::Failed(LoginError::ExpiredToken) => {
            return end(store, id, EnrolmentFailure::Expired).map(Next::Done);
        }
        PollAnswer::Failed(LoginError::InvalidGrant) => {
            return end(store, id, EnrolmentFailure::Interrupted).map(Next::Done);
        }
        PollAnswer::Failed(err)
            if err.is_retryable() && *transient + 1 < MAX_TRANSIENT_FAILURES =>
        {
            *transient += 1;
            tracing::debug!(enrolment = id, error = %err, "login poll failed; trying again");
        }
        PollAnswer::Failed(err) => {
            tracing::warn!(enrolment = id, error = %err, "login poll failed");
            return end(store, id, EnrolmentFailure::Vipps).map(Next::Done);
        }
    }
    next(store, clock, id)
}

/// Follows a PENDING enrolment to its end: waits `interval` (through `sleep`) before each poll,
/// adds [`SLOW_DOWN_STEP`] on every `slow_down` (and stores the new interval), reads userinfo on
/// approval and stores the member with the enrolment. Gives up at its `expires_ms`.
pub async fn follow<C: Borrow<Connection>, S, F>(
    store: &Store<C>,
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
    let mut step = next(store, clock, id)?;
    loop {
        match step {
            Next::Done(outcome) => return Ok(outcome),
            Next::Poll { wait, auth_req_id } => {
                sleep(wait).await;
                let answer = poll_once(api, &auth_req_id).await;
                step = record_poll(store, clock, id, answer, &mut transient)?;
            }
        }
    }
}

fn end<C: Borrow<Connection>>(
    store: &Store<C>,
    id: i64,
    failure: EnrolmentFailure,
) -> Result<EnrolOutcome, EnrolError> {
    store.end_enrolment(id, failure)?;
    Ok(EnrolOutcome::NotEnrolled(failure))
}

/// Store the member from userinfo. The number is the one Vipps reports (it may have changed
/// since the invitation); the invited one when userinfo has none.
fn approve<C: Borrow<Connection>>(
    store: &Store<C>,
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
    Ok(EnrolOutcome::Member(Box::new(member)))
}

/// Finish every open enrolment after a start (see the module docs). Returns each one's id and
/// outcome.
pub async fn recover<C: Borrow<Connection>, S, F>(
    store: &Store<C>,
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
        let outcome = follow(store, api, clock, e.id, &mut sleep).await?;
        out.push((e.id, outcome));
    }
    Ok(out)
}
