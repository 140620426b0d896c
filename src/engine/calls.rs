//! Vipps calls with retries, pacing and the engine staying responsive while it waits.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::actor::{Input, Till};
use super::api::{Command, EngineEvent, MessageId, VippsStatus};
use super::pacing::{Backoff, CallClass};
use crate::core::payment::OpKind;
use crate::store::attempts as es;
use crate::vipps::{self, VippsError, models::Payment};

/// How a money-moving call ended.
#[derive(Debug)]
pub(super) enum CallOutcome<T> {
    /// Vipps answered with success.
    Done(T),
    /// Vipps answered with a final error (4xx): the key must not be reused.
    Rejected(VippsError),
    /// No definite answer within the budget (network, 5xx, 429, timeout, unreadable answer):
    /// Vipps may or may not have acted. The intent stays open for reconciliation.
    Unknown(VippsError),
    /// The cashier cancelled while the call was being retried; whether Vipps acted is unknown.
    Interrupted,
}

/// Whether a cashier's cancel may interrupt a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interrupt {
    /// Cancel, BackToBasket and NewSale interrupt (before anything was authorized).
    ByCancel,
    /// Nothing interrupts (capture, cancel, refund in flight); cancel gets `TooLateToCancel`.
    Never,
}

/// Outcome of [`Till::pause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Paused {
    Elapsed,
    CancelRequested,
    Stopping,
}

impl Till {
    /// The Vipps client (set up at start; `None` only with an invalid configuration).
    pub(super) fn client(&self) -> Result<vipps::Client, VippsError> {
        self.vipps
            .clone()
            .ok_or_else(|| VippsError::Config("the Vipps configuration is incomplete".into()))
    }

    /// Waits until `until`, storing relay deliveries and answering commands meanwhile.
    pub(super) async fn pause(&mut self, until: Instant, interrupt: Interrupt) -> Paused {
        loop {
            match self.next_input(Some(until)).await {
                Input::Deadline => return Paused::Elapsed,
                Input::Closed => return Paused::Stopping,
                Input::Command(Command::Cancel | Command::BackToBasket | Command::NewSale) => {
                    match interrupt {
                        Interrupt::ByCancel => return Paused::CancelRequested,
                        Interrupt::Never => self.problem(MessageId::TooLateToCancel, None, false),
                    }
                }
                Input::Command(cmd) => self.busy_command(cmd),
                Input::CheckIn(_) | Input::Payment { .. } => {}
            }
        }
    }

    /// Sends a create, capture, cancel or refund: paced by Vipps' per-reference limit of that
    /// API (counting the calls a stopped process made), each call stored as it is sent,
    /// retried with the same key on retryable errors until `budget` is spent.
    pub(super) async fn call_modify<T, F, Fut>(
        &mut self,
        reference: &str,
        api: OpKind,
        budget: Duration,
        interrupt: Interrupt,
        call: F,
    ) -> CallOutcome<T>
    where
        F: Fn(vipps::Client) -> Fut,
        Fut: Future<Output = Result<T, VippsError>>,
    {
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return CallOutcome::Rejected(e),
        };
        let start = Instant::now();
        let mut backoff = Backoff::new(
            self.config.engine.retry_initial(),
            self.config.engine.retry_max(),
        );
        let mut last_error: Option<VippsError> = None;
        let class = CallClass::Modify(api);
        self.seed_limiter(reference);
        loop {
            let now = Instant::now();
            let allowed = self.limiter.next_allowed(reference, class, now);
            if allowed > now {
                if allowed.duration_since(start) > budget {
                    tracing::warn!(reference, %api, "rate limit window full beyond the retry budget; left for reconciliation");
                    return CallOutcome::Unknown(last_error.unwrap_or_else(rate_limited));
                }
                self.note_rate_limited(reference, allowed);
                match self.pause(allowed, interrupt).await {
                    Paused::Elapsed => {}
                    Paused::CancelRequested | Paused::Stopping => return CallOutcome::Interrupted,
                }
            }
            self.limiter.record(reference, class, Instant::now());
            let sent_ms = self.now_ms();
            if let Err(e) = self
                .db
                .tx_relaxed(|c| Ok(es::record_call(c, reference, api, sent_ms)?))
            {
                // The call itself is safe to send (its intent is stored); only pacing across a
                // restart would miss it.
                tracing::warn!(reference, error = %e, "could not store the call for pacing");
            }
            match call(client.clone()).await {
                Ok(v) => {
                    self.set_vipps_status(VippsStatus::Reachable);
                    return CallOutcome::Done(v);
                }
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next_delay(e.retry_after());
                    if start.elapsed() + delay > budget {
                        tracing::warn!(reference, %api, error = %e, "Vipps call failed; retry budget spent, left for reconciliation with the same key");
                        self.note_failure(reference, &e, Instant::now() + delay);
                        return CallOutcome::Unknown(e);
                    }
                    tracing::warn!(reference, %api, error = %e, retry_in_ms = delay.as_millis() as u64, "Vipps call failed; retrying with the same key");
                    self.note_failure(reference, &e, Instant::now() + delay);
                    last_error = Some(e);
                    match self.pause(Instant::now() + delay, interrupt).await {
                        Paused::Elapsed => {}
                        Paused::CancelRequested | Paused::Stopping => {
                            return CallOutcome::Interrupted;
                        }
                    }
                }
                // A success answer we could not read: Vipps may have acted.
                Err(e @ VippsError::Decode { .. }) => return CallOutcome::Unknown(e),
                Err(e) => return CallOutcome::Rejected(e),
            }
        }
    }

    /// One GET payment, paced by the per-reference read limit (waits for the window if needed).
    pub(super) async fn read_payment(&mut self, reference: &str) -> Result<Payment, VippsError> {
        let client = self.client()?;
        let now = Instant::now();
        let allowed = self.limiter.next_allowed(reference, CallClass::Read, now);
        if allowed > now {
            tokio::time::sleep_until(allowed).await;
        }
        self.limiter
            .record(reference, CallClass::Read, Instant::now());
        match client.get_payment(reference).await {
            Ok(p) => {
                self.set_vipps_status(VippsStatus::Reachable);
                Ok(p)
            }
            Err(e) => {
                if e.is_retryable() {
                    self.note_unreachable(&e);
                }
                Err(e)
            }
        }
    }

    /// GET payment, retried on retryable errors until `budget` is spent.
    pub(super) async fn read_payment_retrying(
        &mut self,
        reference: &str,
        budget: Duration,
        interrupt: Interrupt,
    ) -> Result<Payment, VippsError> {
        let start = Instant::now();
        let mut backoff = Backoff::new(
            self.config.engine.retry_initial(),
            self.config.engine.retry_max(),
        );
        loop {
            match self.read_payment(reference).await {
                Ok(p) => return Ok(p),
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next_delay(e.retry_after());
                    if start.elapsed() + delay > budget {
                        return Err(e);
                    }
                    if self.pause(Instant::now() + delay, interrupt).await != Paused::Elapsed {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Loads the money calls stored for `reference` into the rate-limit window (once per
    /// process and reference): a stopped process's calls still count.
    fn seed_limiter(&mut self, reference: &str) {
        if self.limiter.is_seeded(reference) {
            return;
        }
        let now_ms = self.now_ms();
        let window_ms = super::pacing::WINDOW.as_millis() as i64;
        match self
            .db
            .read(|c| Ok(es::calls_since(c, reference, now_ms - window_ms)?))
        {
            Ok(calls) => {
                let past = calls.into_iter().map(|(api, at_ms)| {
                    (api, Duration::from_millis((now_ms - at_ms).max(0) as u64))
                });
                self.limiter.seed(reference, past, Instant::now());
            }
            Err(e) => {
                tracing::warn!(reference, error = %e, "could not read stored calls for pacing")
            }
        }
    }

    /// Says why a retryable call failed: Vipps rate-limiting this payment (429), or Vipps
    /// unreachable.
    fn note_failure(&mut self, reference: &str, e: &VippsError, retry_at: Instant) {
        if e.status() == Some(429) {
            self.note_rate_limited(reference, retry_at);
        } else {
            self.note_unreachable(e);
        }
    }

    /// "Vipps is rate-limiting this payment, retrying at HH:MM:SS" (local wall-clock time).
    fn note_rate_limited(&mut self, reference: &str, retry_at: Instant) {
        let wait = retry_at.saturating_duration_since(Instant::now());
        let at = time::OffsetDateTime::from(self.clock.now() + wait);
        let at = time::UtcOffset::current_local_offset()
            .map(|o| at.to_offset(o))
            .unwrap_or(at);
        let hms = format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second());
        self.emit(EngineEvent::Problem {
            message_id: MessageId::RateLimited,
            detail: Some(format!(
                "Vipps is rate-limiting payment {reference}, retrying at {hms}"
            )),
            retrying: true,
        });
    }

    pub(super) fn note_unreachable(&mut self, e: &VippsError) {
        self.set_vipps_status(VippsStatus::Unreachable {
            detail: e.to_string(),
        });
        self.emit(EngineEvent::Problem {
            message_id: MessageId::VippsUnreachable,
            detail: Some(e.to_string()),
            retrying: true,
        });
    }
}

fn rate_limited() -> VippsError {
    VippsError::Api {
        status: 429,
        code: None,
        title: "rate limit window exhausted locally".into(),
        detail: None,
        retry_after: None,
        params: Vec::new(),
        trace_id: None,
    }
}

/// True for "no such payment" (404, or Vipps code 5090 "reference not found").
pub(super) fn is_not_found(e: &VippsError) -> bool {
    matches!(e.status(), Some(404)) || e.code() == Some(5090)
}
