//! Signed webhook delivery, like Vipps does it (BRIEF §6.3, §6.4).
//!
//! Each (registration, payment) pair has its own FIFO queue worked by one
//! task: an event is retried with backoff until it gets a 2xx (or runs out of
//! attempts), and later events for that payment wait behind it. Check-ins are
//! delivered once, synchronously, because the customer is waiting in the app.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::task::AbortHandle;

use super::clock::{SimClock, unix_nanos};
use super::config::Backoff;
use super::faults::WebhookFate;
use super::state::Registration;
use super::sync::lock;
use crate::vipps::webhook::{http_date, sign};

/// The `User-Agent` Vipps' webhook sender uses.
pub const USER_AGENT: &str = "Vipps MobilePay/1.0 Webhooks/1.0";

/// One event on its way to one registration.
#[derive(Debug, Clone)]
pub struct Job {
    pub registration: Registration,
    pub event: String,
    pub reference: Option<String>,
    pub body: Arc<Vec<u8>>,
    pub fate: WebhookFate,
}

/// One delivery attempt, as listed by `GET /sim/v1/webhook-deliveries`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub registration_id: String,
    pub url: String,
    pub event: String,
    pub reference: Option<String>,
    /// 1 for the first attempt of an event.
    pub attempt: u32,
    /// `delivered`, `failed`, `dropped` (fault) or `gaveUp`.
    pub outcome: &'static str,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// True for the extra copy of a duplicated delivery.
    pub duplicate: bool,
    pub at_unix_nanos: u64,
}

/// Result of a single attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Any 2xx.
    Delivered(u16),
    /// Non-2xx answer.
    Rejected(u16),
    /// No answer (connection error or timeout).
    NoAnswer(String),
}

struct Shared {
    http: reqwest::Client,
    clock: SimClock,
    backoff: Backoff,
    queues: Mutex<HashMap<(String, String), VecDeque<Job>>>,
    deleted: Mutex<HashSet<String>>,
    log: Mutex<Vec<DeliveryRecord>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

/// The delivery engine.
#[derive(Clone)]
pub struct Deliverer(Arc<Shared>);

impl Deliverer {
    pub fn new(clock: SimClock, timeout: Duration, backoff: Backoff) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self(Arc::new(Shared {
            http,
            clock,
            backoff,
            queues: Mutex::new(HashMap::new()),
            deleted: Mutex::new(HashSet::new()),
            log: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    /// Every attempt so far.
    pub fn log(&self) -> Vec<DeliveryRecord> {
        lock(&self.0.log).clone()
    }

    /// Stop delivering to a deleted registration.
    pub fn forget(&self, registration_id: &str) {
        lock(&self.0.deleted).insert(registration_id.to_string());
    }

    /// Stop every worker.
    pub fn shutdown(&self) {
        for task in lock(&self.0.tasks).drain(..) {
            task.abort();
        }
    }

    /// Queue an event behind earlier ones for the same registration and payment.
    /// Must be called from within a tokio runtime.
    pub fn enqueue(&self, job: Job) {
        let key = (
            job.registration.id.clone(),
            job.reference.clone().unwrap_or_default(),
        );
        let mut queues = lock(&self.0.queues);
        if let Some(queue) = queues.get_mut(&key) {
            queue.push_back(job);
            return;
        }
        queues.insert(key.clone(), VecDeque::from([job]));
        drop(queues);
        let me = self.clone();
        let handle = tokio::spawn(async move { me.work(key).await });
        let mut tasks = lock(&self.0.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle.abort_handle());
    }

    async fn work(&self, key: (String, String)) {
        loop {
            let job = {
                let mut queues = lock(&self.0.queues);
                match queues.get(&key).and_then(|q| q.front().cloned()) {
                    Some(job) => job,
                    None => {
                        queues.remove(&key);
                        return;
                    }
                }
            };
            self.deliver_with_retries(&job).await;
            if let Some(queue) = lock(&self.0.queues).get_mut(&key) {
                queue.pop_front();
            }
        }
    }

    fn is_deleted(&self, id: &str) -> bool {
        lock(&self.0.deleted).contains(id)
    }

    async fn deliver_with_retries(&self, job: &Job) {
        if !job.fate.delay.is_zero() {
            tokio::time::sleep(job.fate.delay).await;
        }
        if job.fate.drop {
            self.record(job, 1, "dropped", None, None, false);
            return;
        }
        let mut attempt = 1;
        loop {
            if self.is_deleted(&job.registration.id) {
                return;
            }
            match self.attempt(job, attempt, false).await {
                Attempt::Delivered(_) => break,
                Attempt::Rejected(_) | Attempt::NoAnswer(_) => {
                    if attempt >= self.0.backoff.max_attempts {
                        self.record(job, attempt, "gaveUp", None, None, false);
                        return;
                    }
                    tokio::time::sleep(self.0.backoff.delay_after(attempt)).await;
                    attempt += 1;
                }
            }
        }
        if job.fate.duplicate {
            let _ = self.attempt(job, attempt + 1, true).await;
        }
    }

    /// Deliver once, now (check-ins). Honours drop/duplicate/delay faults.
    pub async fn deliver_once(&self, job: &Job) -> Attempt {
        if !job.fate.delay.is_zero() {
            tokio::time::sleep(job.fate.delay).await;
        }
        if job.fate.drop {
            self.record(job, 1, "dropped", None, None, false);
            return Attempt::NoAnswer("dropped by fault injection".to_string());
        }
        let first = self.attempt(job, 1, false).await;
        if job.fate.duplicate && matches!(first, Attempt::Delivered(_)) {
            let _ = self.attempt(job, 2, true).await;
        }
        first
    }

    /// One signed POST.
    async fn attempt(&self, job: &Job, attempt: u32, duplicate: bool) -> Attempt {
        let url = &job.registration.url;
        let date = http_date(self.0.clock.now());
        let signed = sign(&job.registration.secret, url, &date, &job.body);
        let result = self
            .0
            .http
            .post(url.clone())
            .header("content-type", "application/json; charset=utf-8")
            .header("x-ms-date", &signed.date)
            .header("x-ms-content-sha256", &signed.content_sha256)
            .header("authorization", &signed.authorization)
            .header("x-vipps-authorization", &signed.authorization)
            .header("webhook-id", &job.registration.id)
            .header("user-agent", USER_AGENT)
            .body(job.body.as_ref().clone())
            .send()
            .await;
        let outcome = match result {
            Ok(response) if response.status().is_success() => {
                Attempt::Delivered(response.status().as_u16())
            }
            Ok(response) => Attempt::Rejected(response.status().as_u16()),
            Err(e) if e.is_timeout() => Attempt::NoAnswer("timed out".to_string()),
            Err(e) => Attempt::NoAnswer(format!("no answer: {e}")),
        };
        match &outcome {
            Attempt::Delivered(s) => {
                self.record(job, attempt, "delivered", Some(*s), None, duplicate)
            }
            Attempt::Rejected(s) => self.record(job, attempt, "failed", Some(*s), None, duplicate),
            Attempt::NoAnswer(e) => {
                self.record(job, attempt, "failed", None, Some(e.clone()), duplicate)
            }
        }
        tracing::debug!(
            event = %job.event,
            registration = %job.registration.id,
            attempt,
            ?outcome,
            "webhook delivery"
        );
        outcome
    }

    fn record(
        &self,
        job: &Job,
        attempt: u32,
        outcome: &'static str,
        status: Option<u16>,
        error: Option<String>,
        duplicate: bool,
    ) {
        lock(&self.0.log).push(DeliveryRecord {
            registration_id: job.registration.id.clone(),
            url: job.registration.url.to_string(),
            event: job.event.clone(),
            reference: job.reference.clone(),
            attempt,
            outcome,
            status,
            error,
            duplicate,
            at_unix_nanos: unix_nanos(self.0.clock.base().now()),
        });
    }
}
