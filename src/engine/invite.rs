//! Inviting a customer to the loyalty programme from the till ([`Command::InviteMember`]),
//! beside the sale.
//!
//! The engine owns the store, so it writes every step of the enrolment itself (see
//! [`super::loyalty`]) and runs only the Vipps calls in spawned tasks: the login start, and each
//! poll after its wait. Their answers come back through a channel that
//! [`Till::next_input`](super::actor::Till) reads, so a sale never waits for a login, and a
//! login never waits for a sale. Open enrolments are resumed when the engine starts.

use std::time::Duration;

use tokio::sync::mpsc;

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::db::DbError;
use super::loyalty::{self, EnrolOutcome, Next, PollAnswer};
use crate::core::loyalty::masked_number;
use crate::vipps::{LoginApi, LoginAuth, LoginError, LoginStarted, PhoneNumber};

/// Tries to register a login with the relay (0.5, 1, 2, 4 s apart).
const REGISTER_ATTEMPTS: u32 = 5;

fn db_error(e: loyalty::EnrolError) -> DbError {
    DbError::Store(e.0)
}

/// A Vipps answer for an enrolment.
#[derive(Debug)]
pub(super) enum LoginMsg {
    Started {
        id: i64,
        result: Result<LoginStarted, LoginError>,
    },
    Polled {
        id: i64,
        answer: PollAnswer,
    },
}

/// The engine's side of invitations.
pub(super) struct Invitations {
    tx: mpsc::UnboundedSender<LoginMsg>,
    pub(super) rx: mpsc::UnboundedReceiver<LoginMsg>,
    /// Retryable poll failures in a row, per enrolment.
    transient: std::collections::HashMap<i64, u32>,
    /// The running Vipps calls: aborted when the engine stops, so a stopped engine never takes
    /// a login's one token exchange away from the next one.
    tasks: Vec<tokio::task::AbortHandle>,
    /// Per open enrolment: wakes its waiting poll at once (the login's ping came).
    wakers: std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Notify>>,
    /// Which enrolment follows which login (`auth_req_id`), for the ping.
    logins: std::collections::HashMap<String, i64>,
}

impl Invitations {
    fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(tokio::spawn(task).abort_handle());
    }
}

/// Never prints an `auth_req_id`.
impl std::fmt::Debug for Invitations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitations")
            .field("transient", &self.transient)
            .field("tasks", &self.tasks.len())
            .field("followed_logins", &self.logins.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Invitations {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Default for Invitations {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx,
            transient: Default::default(),
            tasks: Vec::new(),
            wakers: Default::default(),
            logins: Default::default(),
        }
    }
}

impl Till {
    fn login_api(&self) -> Option<LoginApi> {
        self.vipps
            .clone()
            .map(|c| LoginApi::new(c, LoginAuth::ClientSecretBasic))
    }

    /// [`Command::InviteMember`]: start a login for the given number, or for the customer
    /// recognised at the last scan.
    pub(super) fn invite_member(&mut self, phone_number: Option<String>) {
        if !self.loyalty_on() {
            self.problem(MessageId::LoyaltyOff, None, false);
            return;
        }
        let msisdn = match phone_number {
            Some(text) => match PhoneNumber::parse_at(&text, self.country().calling_code()) {
                Ok(p) => p,
                Err(e) => {
                    self.problem(MessageId::InvalidPhone, Some(e.to_string()), false);
                    return;
                }
            },
            None => match self.recognition.last_msisdn.clone() {
                Some(p) => p,
                None => {
                    self.problem(MessageId::NoCustomerToInvite, None, false);
                    return;
                }
            },
        };
        let Some(api) = self.login_api() else {
            self.problem(MessageId::ConfigInvalid, None, false);
            return;
        };
        let sale_id = self.current_sale;
        let begun = self
            .db
            .tx(|c| loyalty::begin(c, &msisdn, sale_id).map_err(db_error));
        let (enrolment, request) = match begun {
            Ok(b) => {
                super::crash::point("enrolment_started");
                b
            }
            Err(DbError::Store(crate::store::StoreError::Conflict(_))) => {
                self.problem(MessageId::InviteOpen, None, false);
                return;
            }
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        let tx = self.invitations.tx.clone();
        let id = enrolment.id;
        self.invitations.spawn(async move {
            let result = loyalty::start_login(&api, &request).await;
            let _ = tx.send(LoginMsg::Started { id, result });
        });
    }

    /// A Vipps answer for an enrolment: record it, then poll again, or tell how it ended.
    pub(super) fn on_login(&mut self, msg: LoginMsg) {
        let clock = self.clock.clone();
        let (id, step) = match msg {
            LoginMsg::Started { id, result } => {
                let stored = self
                    .db
                    .tx(|c| loyalty::record_start(c, &clock, id, result).map_err(db_error));
                match stored {
                    Ok(e) if e.state == crate::core::loyalty::EnrolmentState::Pending => {
                        super::crash::point("enrolment_pending");
                        if let Some(auth_req_id) = &e.auth_req_id {
                            self.register_login(auth_req_id.clone());
                        }
                        self.emit(EngineEvent::InvitePending {
                            enrolment_id: id,
                            binding_message: e.binding_message.clone(),
                            expires_at_ms: e.expires_ms.unwrap_or_default(),
                        });
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.storage_failed(&e);
                        return;
                    }
                }
                (id, self.next_step(id))
            }
            LoginMsg::Polled { id, answer } => {
                let mut transient = self.invitations.transient.remove(&id).unwrap_or(0);
                let step = self.db.tx(|c| {
                    loyalty::record_poll(c, &clock, id, answer, &mut transient).map_err(db_error)
                });
                self.invitations.transient.insert(id, transient);
                (id, step)
            }
        };
        match step {
            Ok(Next::Poll { wait, auth_req_id }) => self.schedule_poll(id, wait, auth_req_id),
            Ok(Next::Done(outcome)) => {
                if matches!(outcome, EnrolOutcome::Member(_)) {
                    super::crash::point("enrolment_approved");
                }
                self.invitations.transient.remove(&id);
                self.invitations.wakers.remove(&id);
                self.invitations.logins.retain(|_, e| *e != id);
                self.tell_outcome(id, outcome);
            }
            Err(e) => self.storage_failed(&e),
        }
    }

    fn next_step(&mut self, id: i64) -> Result<Next, DbError> {
        let clock = self.clock.clone();
        self.db
            .tx(|c| loyalty::next(c, &clock, id).map_err(db_error))
    }

    /// Poll the login after `wait`, or at once when its ping comes first ([`Self::login_pinged`]).
    fn schedule_poll(&mut self, id: i64, wait: Duration, auth_req_id: String) {
        let Some(api) = self.login_api() else {
            return;
        };
        let tx = self.invitations.tx.clone();
        let wake = self.invitations.wakers.entry(id).or_default().clone();
        self.invitations.logins.insert(auth_req_id.clone(), id);
        self.invitations.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {
                    tracing::debug!(enrolment = id, "login ping: polling now");
                }
            }
            let answer = loyalty::poll_once(&api, &auth_req_id).await;
            let _ = tx.send(LoginMsg::Polled { id, answer });
        });
    }

    /// Tell the relay that this till follows the login, so its ping comes here (BRIEF §10.6).
    /// Best effort: without the ping the login is polled at its interval all the same.
    fn register_login(&mut self, auth_req_id: String) {
        let Some(registrar) = self.link.as_ref().and_then(|l| l.registrar()) else {
            return;
        };
        self.invitations.spawn(async move {
            // A few tries while the relay is unreachable or busy; the login lives minutes.
            let mut delay = Duration::from_millis(500);
            for attempt in 1..=REGISTER_ATTEMPTS {
                match registrar.register(&auth_req_id).await {
                    Ok(refiled) => {
                        tracing::debug!(refiled, "login registered with the relay");
                        return;
                    }
                    Err(error) if attempt < REGISTER_ATTEMPTS && error.is_retryable() => {
                        tracing::debug!(%error, attempt, "registering the login failed; trying again");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    Err(error) => {
                        tracing::warn!(
                            %error,
                            "registering the login with the relay failed; polling at the interval"
                        );
                        return;
                    }
                }
            }
        });
    }

    /// The customer acted on a login (its ping came through the relay): poll it at once. A
    /// poll already under way is followed at once by another; a ping for a login this till
    /// no longer follows is ignored.
    pub(super) fn login_pinged(&mut self, auth_req_id: &str) {
        let Some(id) = self.invitations.logins.get(auth_req_id).copied() else {
            tracing::debug!("login ping for no open enrolment here; ignored");
            return;
        };
        if let Some(wake) = self.invitations.wakers.get(&id) {
            wake.notify_one();
        }
    }

    fn tell_outcome(&mut self, id: i64, outcome: EnrolOutcome) {
        match outcome {
            EnrolOutcome::Member(m) => {
                self.emit(EngineEvent::MemberEnrolled {
                    enrolment_id: id,
                    first_name: m.given_name.clone(),
                    masked_number: masked_number(m.msisdn.expose()),
                });
                // The customer at the till is a member now, and just acted at the till: their
                // prices apply to the next Pay for a check-in validity from now, even when the
                // scan's token runs out meanwhile (the payment then asks for a new scan).
                if let Some(identified) = &mut self.recognition.identified
                    && self.recognition.last_msisdn.as_ref() == Some(&m.msisdn)
                {
                    identified.member_id = Some(m.id);
                    identified.via = super::identify::Via::Till {
                        at_ms: self.clock.now_ms(),
                    };
                }
            }
            EnrolOutcome::NotEnrolled(reason) => self.emit(EngineEvent::InviteEnded {
                enrolment_id: id,
                reason,
            }),
        }
    }

    /// After a start: follow every open enrolment again (a STARTED one ends as interrupted).
    pub(super) fn resume_enrolments(&mut self) {
        let open = match self.db.read(|c| Ok(c.open_enrolments()?)) {
            Ok(open) => open,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        for e in open {
            match self.next_step(e.id) {
                Ok(Next::Poll { auth_req_id, .. }) => {
                    // Vipps counts from the last poll, which may have been just before the
                    // stop: wait a full interval.
                    let wait = Duration::from_secs(e.interval_s.unwrap_or(5));
                    self.schedule_poll(e.id, wait, auth_req_id);
                }
                Ok(Next::Done(outcome)) => self.tell_outcome(e.id, outcome),
                Err(err) => self.storage_failed(&err),
            }
        }
    }
}
