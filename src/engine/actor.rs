//! The engine task: set-up, the idle loop, and everything that arrives (commands, relay
//! deliveries, timers). The sale flow itself is in `flow.rs`, recovery in `recovery.rs`.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::api::{Command, EngineEvent, MessageId, RelayStatus, VippsStatus};
use super::db::{self, Db, DbError};
use super::link::{LinkEvent, LinkMsg, RelayLink};
use super::pacing::RateLimiter;
use super::sales_unit::SalesUnit;
use super::{EngineOptions, crash};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;
use crate::store::attempts as es;
use crate::vipps;

/// One step of handling a relay delivery, run inside the transaction that stores it.
type Step<'a> = dyn FnMut(&Store<&rusqlite::Connection>) -> Result<Option<Input>, DbError> + 'a;

/// Longest a relaxed-committed delivery waits for a durable commit before one is forced.
const DEFERRED_ACK_MAX: Duration = Duration::from_millis(50);

/// How long a new engine waits for another one on the same database to stop.
const ENGINE_LOCK_WAIT: Duration = Duration::from_secs(2);

/// How long a check-in token must still be valid to be used for a payment request.
pub(super) const TOKEN_MARGIN_MS: i64 = 30_000;

/// Something the engine has to react to.
#[derive(Debug)]
pub(super) enum Input {
    Command(Command),
    /// A check-in for this till, already stored.
    CheckIn(es::CheckinRow),
    /// A payment event, already stored (first delivery only).
    Payment {
        reference: String,
        name: vipps::models::PaymentEventName,
    },
    /// The deadline given to [`Till::next_input`] passed.
    Deadline,
    /// The command channel closed or `Shutdown` was received.
    Closed,
}

/// The engine's state. Owned by one task.
pub struct Till {
    pub(super) config: Config,
    pub(super) db: Db,
    pub(super) vipps: Option<vipps::Client>,
    pub(super) events: broadcast::Sender<EngineEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    pub(super) link: Option<RelayLink>,
    /// Commands that wait for the till to be idle (refunds during a sale).
    pub(super) queued: VecDeque<Command>,
    pub(super) limiter: RateLimiter,
    pub(super) clock: Clock,
    options: EngineOptions,
    pub(super) qr_content: Option<String>,
    pub(super) install_id: String,
    ready: bool,
    setup_retry_at: Option<Instant>,
    pub(super) reconcile_at: Option<Instant>,
    vipps_status: Option<VippsStatus>,
    pub(super) stopping: bool,
    /// The sale in progress, if any (check-ins received meanwhile belong to it).
    pub(super) current_sale: Option<i64>,
    /// Relay deliveries stored with a relaxed commit, acknowledged once a durable commit
    /// follows (with when they were stored).
    deferred_acks: Vec<(u64, Instant)>,
    /// The flow waits for a customer: a check-in is acted on at once.
    pub(super) awaiting_customer: bool,
    /// Since when the configured relay has been unreachable (`None` while connected, or
    /// when no relay is used).
    pub(super) relay_down_since: Option<Instant>,
    /// The sale in progress already switched to a one-time QR by itself (until Retry).
    pub(super) auto_one_time_qr_used: bool,
    /// The payment the flow waits on: its AUTHORIZED event is acted on at once.
    pub(super) active_reference: Option<String>,
    /// When this engine started (attempts older than this were made by an earlier run, whose
    /// requests can no longer be in flight).
    pub(super) started_at_ms: i64,
    /// Signs each concluded sale and refund (loaded at start-up, see `signing.rs`).
    pub(super) signer: Option<std::sync::Arc<crate::compliance::Signer>>,
    /// The cashier logged in ([`Command::SetCashier`]): recorded with every sale and tender.
    pub(super) cashier: Option<i64>,
    /// Loyalty: customer-token exchanges running beside the flow, and whom they found.
    pub(super) recognition: super::identify::Recognition,
    /// Loyalty: invitations whose Vipps calls run beside the flow.
    pub(super) invitations: super::invite::Invitations,
}

impl Till {
    pub(super) fn new(
        config: Config,
        store: Store,
        events: broadcast::Sender<EngineEvent>,
        commands: mpsc::UnboundedReceiver<Command>,
        options: EngineOptions,
    ) -> Self {
        Self {
            config,
            // Every timestamp the engine writes comes from its own (injected) clock.
            db: Db::new(store.with_clock(options.clock.clone())),
            vipps: None,
            events,
            commands,
            link: None,
            queued: VecDeque::new(),
            limiter: RateLimiter::default(),
            clock: options.clock.clone(),
            options,
            qr_content: None,
            install_id: String::new(),
            ready: false,
            setup_retry_at: None,
            reconcile_at: None,
            vipps_status: None,
            stopping: false,
            current_sale: None,
            deferred_acks: Vec::new(),
            awaiting_customer: false,
            relay_down_since: None,
            auto_one_time_qr_used: false,
            active_reference: None,
            started_at_ms: 0,
            signer: None,
            cashier: None,
            recognition: super::identify::Recognition::default(),
            invitations: super::invite::Invitations::default(),
        }
    }

    pub(super) fn emit(&self, event: EngineEvent) {
        tracing::debug!(kind = event.kind(), "engine event");
        // No subscriber is fine (the window may not be listening yet).
        let _ = self.events.send(event);
    }

    pub(super) fn problem(&self, message_id: MessageId, detail: Option<String>, retrying: bool) {
        self.emit(EngineEvent::Problem {
            message_id,
            detail,
            retrying,
        });
    }

    pub(super) fn storage_failed(&self, e: &DbError) {
        tracing::error!(error = %e, "storage failed");
        self.problem(MessageId::StorageFailed, Some(e.to_string()), false);
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Reports Vipps reachability when it changes.
    pub(super) fn set_vipps_status(&mut self, status: VippsStatus) {
        if self.vipps_status.as_ref() != Some(&status) {
            self.vipps_status = Some(status.clone());
            self.emit(EngineEvent::VippsStatus { status });
        }
    }

    /// Runs until shut down.
    pub(super) async fn run(mut self) {
        if let Err(e) = self.lock_engine().await {
            self.storage_failed(&e);
            return;
        }
        if let Err(e) = self.init_local() {
            self.storage_failed(&e);
            return;
        }
        if !self.load_signer() {
            return;
        }
        self.setup().await;
        self.connect_relay();
        self.reconcile_all().await;
        self.resume_enrolments();
        self.announce_held_checkin();
        while !self.stopping {
            if let Some(cmd) = self.queued.pop_front() {
                self.idle_command(cmd).await;
                continue;
            }
            let deadline = [self.setup_retry_at, self.reconcile_at]
                .into_iter()
                .flatten()
                .min();
            match self.next_input(deadline).await {
                Input::Command(cmd) => self.idle_command(cmd).await,
                Input::CheckIn(row) => self.emit(EngineEvent::CustomerWaiting {
                    expires_at_ms: row.expires_at_ms,
                }),
                Input::Payment { reference, .. } => {
                    // An event for an older attempt (e.g. one left to reconciliation).
                    if let Ok(Some(a)) = self
                        .db
                        .read(|c| Ok(es::attempt_by_reference(c, &reference)?))
                        && !a.resolved
                    {
                        self.reconcile_at = Some(Instant::now());
                    }
                }
                Input::Deadline => {
                    let now = Instant::now();
                    if self.setup_retry_at.is_some_and(|t| t <= now) {
                        self.setup_retry_at = None;
                        self.setup().await;
                    }
                    if self.reconcile_at.is_some_and(|t| t <= now) {
                        self.reconcile_at = None;
                        self.reconcile_all().await;
                    }
                }
                Input::Closed => break,
            }
        }
        // An orderly stop is journalled (13002); a killed process is seen by the next start.
        let now = self.now_ms();
        if let Err(e) = self.db.tx(|c| {
            db::journal(
                c,
                db::jk::ENGINE_STOPPED,
                serde_json::json!({ "at_ms": now, "ran_ms": now - self.started_at_ms }),
            )
        }) {
            tracing::warn!(error = %e, "the stop could not be journalled");
        }
        tracing::info!("engine stopped");
    }

    /// One engine per database. Waits a little for an engine that is shutting down (a restart).
    async fn lock_engine(&mut self) -> Result<(), DbError> {
        let give_up = Instant::now() + ENGINE_LOCK_WAIT;
        loop {
            match self.db.lock_engine() {
                Err(DbError::InUse(_)) if Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    /// Local state that needs no network: install id, last known QR.
    fn init_local(&mut self) -> Result<(), DbError> {
        let now = self.now_ms();
        self.started_at_ms = now;
        self.install_id = self.db.install_id()?;
        self.db.tx(|c| {
            db::journal(
                c,
                db::jk::ENGINE_STARTED,
                serde_json::json!({ "at_ms": now, "version": env!("CARGO_PKG_VERSION") }),
            )
        })?;
        self.qr_content = self
            .db
            .read(|c| Ok(es::meta_get(c, es::META_QR_CONTENT)?))?;
        Ok(())
    }

    /// Vipps client, token, and this till's QR. Failures are reported and retried later.
    pub(super) async fn setup(&mut self) {
        if let Err(e) = self.config.validate() {
            self.problem(MessageId::ConfigInvalid, Some(e.to_string()), false);
            return;
        }
        if self.vipps.is_none() {
            let settings = vipps::VippsConfig::from_settings(
                &self.config.vipps,
                self.config.engine.http_timeout(),
            );
            match vipps::Client::with_clock(settings, self.clock.clone()) {
                Ok(c) => self.vipps = Some(c),
                Err(e) => {
                    self.problem(MessageId::ConfigInvalid, Some(e.to_string()), false);
                    return;
                }
            }
        }
        let Some(client) = self.vipps.clone() else {
            return;
        };
        let qr_id = self.config.merchant_qr_id();
        let name = self.config.till.name.clone();
        let beacon = !self.config.till.mobilepay_beacon_id.is_empty();
        let result = async {
            client.access_token().await?;
            if beacon {
                client.qr_put_mobilepay_beacon(&qr_id, &name).await?;
            } else {
                client.qr_put(&qr_id, &name).await?;
            }
            client
                .qr_get(&qr_id, vipps::models::QrImageFormat::default())
                .await
        }
        .await;
        match result {
            Ok(qr) => {
                self.set_vipps_status(VippsStatus::Reachable);
                let content = qr.qr_content.unwrap_or_default();
                if content.is_empty() {
                    self.problem(
                        MessageId::QrSetupFailed,
                        Some("Vipps returned no qrContent".into()),
                        false,
                    );
                    return;
                }
                let now = self.now_ms();
                let c2 = content.clone();
                let changed = self.qr_content.as_deref() != Some(content.as_str());
                if let Err(e) = self.db.tx(|c| {
                    es::meta_set(c, es::META_QR_CONTENT, &c2)?;
                    if changed {
                        db::journal(
                            c,
                            db::jk::QR_READY,
                            serde_json::json!({ "merchant_qr_id": qr_id, "at_ms": now }),
                        )?;
                    }
                    Ok(())
                }) {
                    self.storage_failed(&e);
                }
                self.qr_content = Some(content.clone());
                self.ready = true;
                let environment = self.config.vipps.environment.label();
                self.emit(EngineEvent::Ready {
                    qr_content: content,
                    till_name: self.config.till.name.clone(),
                    environment,
                });
            }
            Err(e) => {
                let retrying = e.is_retryable();
                let id = if beacon && e.status() == Some(409) {
                    MessageId::BeaconConflict
                } else if matches!(e.status(), Some(401 | 403)) {
                    MessageId::VippsCredentials
                } else if retrying {
                    MessageId::VippsUnreachable
                } else {
                    MessageId::QrSetupFailed
                };
                if retrying {
                    self.set_vipps_status(VippsStatus::Unreachable {
                        detail: e.to_string(),
                    });
                }
                self.problem(id, Some(e.to_string()), true);
                let wait = if retrying {
                    self.config.engine.retry_max()
                } else {
                    Duration::from_secs(60)
                };
                self.setup_retry_at = Some(Instant::now() + wait);
            }
        }
    }

    fn connect_relay(&mut self) {
        if self.options.without_relay {
            self.emit(EngineEvent::RelayStatus {
                status: RelayStatus::NotUsed,
            });
            return;
        }
        if self.config.relay.url.is_empty() {
            self.emit(EngineEvent::RelayStatus {
                status: RelayStatus::NotConfigured,
            });
            return;
        }
        let cursor = match self.db.read(|c| Ok(es::relay_cursor(c)?)) {
            Ok(c) => c.unwrap_or(0),
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        match RelayLink::connect(
            &self.config.relay.url,
            self.config.relay.till_token.expose(),
            cursor,
        ) {
            Ok(link) => self.link = Some(link),
            Err(e) => {
                self.emit(EngineEvent::RelayStatus {
                    status: RelayStatus::Reconnecting {
                        attempt: 0,
                        last_error: Some(e),
                    },
                });
            }
        }
    }

    fn announce_held_checkin(&mut self) {
        let now = self.now_ms();
        if let Ok(Some(row)) = self
            .db
            .read(|c| Ok(es::held_checkin(c, now + TOKEN_MARGIN_MS)?))
        {
            self.emit(EngineEvent::CustomerWaiting {
                expires_at_ms: row.expires_at_ms,
            });
        }
    }

    /// Waits for the next command, stored relay event, or the deadline. Relay deliveries are
    /// stored (and the cursor moved in the same transaction) before they are acknowledged.
    pub(super) async fn next_input(&mut self, deadline: Option<Instant>) -> Input {
        loop {
            if self.stopping {
                return Input::Closed;
            }
            self.flush_acks();
            let sync_at = self
                .deferred_acks
                .first()
                .map(|(_, at)| *at + DEFERRED_ACK_MAX);
            let msg = tokio::select! {
                biased;
                _ = sleep_until_opt(sync_at) => {
                    self.force_durable();
                    continue;
                }
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Shutdown) | None => {
                        self.stopping = true;
                        return Input::Closed;
                    }
                    Some(cmd) => return Input::Command(cmd),
                },
                Some(answer) = self.recognition.rx.recv() => {
                    self.on_exchanged(answer);
                    continue;
                }
                Some(msg) = self.invitations.rx.recv() => {
                    self.on_login(msg);
                    continue;
                }
                msg = recv_link(&mut self.link) => msg,
                _ = sleep_until_opt(deadline) => return Input::Deadline,
            };
            let was_down = self.relay_down_since.is_some();
            match msg {
                None => {
                    // The relay client ended; it reconnects by itself, so this is final.
                    self.link = None;
                    self.relay_down_since.get_or_insert_with(Instant::now);
                    self.emit(EngineEvent::RelayStatus {
                        status: RelayStatus::Reconnecting {
                            attempt: 0,
                            last_error: Some("relay client stopped".into()),
                        },
                    });
                }
                Some(LinkMsg::Status(status)) => {
                    self.relay_down_since = match status {
                        RelayStatus::Reconnecting { .. } => {
                            Some(self.relay_down_since.unwrap_or_else(Instant::now))
                        }
                        _ => None,
                    };
                    self.emit(EngineEvent::RelayStatus { status });
                }
                Some(LinkMsg::Delivery {
                    seq,
                    event,
                    relay_received_at_ns,
                }) => {
                    if let Some(input) = self.store_delivery(seq, event, relay_received_at_ns) {
                        if let Input::CheckIn(row) = &input {
                            self.start_exchange(row.id, &row.customer_token);
                        }
                        return input;
                    }
                }
            }
            // A sale waiting for its customer re-checks whether a one-time QR should replace
            // the till's own (the relay went down, or came back).
            if self.awaiting_customer && was_down != self.relay_down_since.is_some() {
                return Input::Deadline;
            }
        }
    }

    /// Acknowledges deferred deliveries once everything stored is on disk.
    pub(super) fn flush_acks(&mut self) {
        if self.deferred_acks.is_empty() || !self.db.is_durable() {
            return;
        }
        for (seq, _) in self.deferred_acks.drain(..) {
            if let Some(link) = &self.link {
                link.ack(seq);
            }
        }
    }

    /// No durable commit followed a relaxed one in time: make one (rewrite the cursor).
    fn force_durable(&mut self) {
        let r = self.db.tx(|c| {
            let cursor = es::relay_cursor(c)?.unwrap_or(0);
            es::meta_set(c, es::META_RELAY_CURSOR, &cursor.to_string())?;
            Ok(())
        });
        match r {
            Ok(()) => self.flush_acks(),
            Err(e) => self.storage_failed(&e),
        }
    }

    /// Whether the flow acts on this delivery at once (then it is stored with a relaxed commit
    /// and the flow's next, durable commit covers it).
    fn acted_on_at_once(&self, event: &LinkEvent) -> bool {
        match event {
            LinkEvent::CheckedIn(_) => self.awaiting_customer,
            LinkEvent::Payment(ev) => {
                self.active_reference.as_deref() == Some(ev.reference.as_str())
                    && ev.name == vipps::models::PaymentEventName::Authorized
            }
            LinkEvent::LoginPing(_) => false,
        }
    }

    /// Stores one relay delivery, then acknowledges it. Returns what the flow should see.
    fn store_delivery(
        &mut self,
        seq: u64,
        event: LinkEvent,
        relay_received_at_ns: Option<i64>,
    ) -> Option<Input> {
        let now = self.now_ms();
        let our_qr = self.config.merchant_qr_id();
        let validity = self.config.engine.checkin_validity().as_millis() as i64;
        let sale_id = self.current_sale;
        let relaxed = self.acted_on_at_once(&event);
        let db = &mut self.db;
        let mut commit = |f: &mut Step<'_>| {
            if relaxed {
                db.tx_relaxed(|c| f(c))
            } else {
                db.tx(|c| f(c))
            }
        };
        let result = match &event {
            LinkEvent::CheckedIn(ev) => commit(&mut |c| {
                    es::set_relay_cursor(c, seq)?;
                    if ev.merchant_qr_id != our_qr {
                        db::journal(
                            c,
                            db::jk::CHECKIN_IGNORED,
                            serde_json::json!({ "merchant_qr_id": ev.merchant_qr_id, "relay_seq": seq }),
                        )?;
                        return Ok(None);
                    }
                    // Valid 15 minutes from the scan; never longer than from our receipt.
                    let scanned_ms = ev
                        .initiated_at_parsed()
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                        .unwrap_or(now)
                        .min(now);
                    let row = es::insert_checkin(
                        c,
                        &es::NewCheckin {
                            relay_seq: Some(seq),
                            customer_token: ev.customer_token.expose(),
                            merchant_qr_id: &ev.merchant_qr_id,
                            initiated_at: Some(&ev.initiated_at),
                            received_at_ms: now,
                            relay_received_at_ns,
                            expires_at_ms: scanned_ms + validity,
                            sale_id,
                        },
                    )?;
                    if let Some(row) = &row {
                        db::journal(
                            c,
                            db::jk::CHECKIN_RECEIVED,
                            serde_json::json!({
                                "checkin_id": row.id,
                                "merchant_qr_id": ev.merchant_qr_id,
                                "initiated_at": ev.initiated_at,
                                "sale_id": sale_id,
                                "relay_seq": seq,
                            }),
                        )?;
                    }
                    Ok(row.map(Input::CheckIn))
                })
                .inspect(|_| crash::point("checkin_stored")),
            LinkEvent::Payment(ev) => commit(&mut |c| {
                    es::set_relay_cursor(c, seq)?;
                    let name = serde_json::to_value(ev.name)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| "UNKNOWN".into());
                    let new = es::insert_payment_event(
                        c,
                        &es::NewPaymentEvent {
                            relay_seq: Some(seq),
                            reference: &ev.reference,
                            name: &name,
                            psp_reference: &ev.psp_reference,
                            amount: ev.amount.value,
                            success: ev.success,
                            timestamp: &ev.timestamp,
                            relay_received_at_ns,
                            received_at_ms: now,
                        },
                    )?;
                    if es::reopen_if_not_created(c, &ev.reference, now)? {
                        db::journal(
                            c,
                            db::jk::PAYMENT_REOPENED,
                            serde_json::json!({ "reference": ev.reference, "name": name,
                                                "decision": "cancel" }),
                        )?;
                    }
                    if new {
                        db::journal(
                            c,
                            db::jk::VIPPS_EVENT,
                            serde_json::json!({
                                "reference": ev.reference,
                                "name": name,
                                "amount": ev.amount.value,
                                "success": ev.success,
                                "relay_seq": seq,
                            }),
                        )?;
                    }
                    Ok(new.then(|| Input::Payment {
                        reference: ev.reference.clone(),
                        name: ev.name,
                    }))
                })
                .inspect(|_| crash::point("payment_event_stored")),
            // Loyalty is not journalled: only the cursor moves. The enrolment itself is
            // followed from its own rows, so a ping lost in a crash costs only the wait for
            // the next poll.
            LinkEvent::LoginPing(_) => commit(&mut |c| {
                es::set_relay_cursor(c, seq)?;
                Ok(None)
            }),
        };
        if let (Ok(_), LinkEvent::LoginPing(ping)) = (&result, &event) {
            self.login_pinged(&ping.auth_req_id);
        }
        match result {
            Ok(input) => {
                if relaxed {
                    self.deferred_acks.push((seq, Instant::now()));
                } else if let Some(link) = &self.link {
                    link.ack(seq);
                }
                input
            }
            Err(e) => {
                // Not acknowledged: the relay delivers it again after a reconnect.
                self.storage_failed(&e);
                None
            }
        }
    }

    /// Commands while no sale is in progress.
    async fn idle_command(&mut self, cmd: Command) {
        match cmd {
            Command::InviteMember { phone_number } => self.invite_member(phone_number),
            Command::IdentifyCustomer { phone_number } => self.identify_customer(&phone_number),
            Command::ForgetCustomer => self.forget_customer(),
            Command::DiscardWaitingScan => self.discard_waiting_scan(),
            Command::Pay { basket } => self.run_sale(basket).await,
            Command::Refund { sale_id, amount } => self.refund(sale_id, amount).await,
            Command::Return { sale_id, lines, to } => self.take_return(sale_id, lines, to).await,
            Command::ListSales { limit } => self.answer_history(limit),
            Command::ReloadConfig => self.reload_config().await,
            Command::NewSale | Command::BackToBasket => self.emit(EngineEvent::Idle),
            Command::SetCashier { cashier_id } => self.set_cashier(cashier_id),
            Command::SendToPhone { .. }
            | Command::SendToPersonalQr { .. }
            | Command::SendToScannedCustomer
            | Command::ShowOneTimeQr
            | Command::Tender { .. }
            | Command::Cancel
            | Command::Retry => self.problem(MessageId::NotNow, None, false),
            Command::Shutdown => self.stopping = true,
        }
    }

    /// Commands that arrive while a sale is in progress and are not about it.
    pub(super) fn busy_command(&mut self, cmd: Command) {
        match cmd {
            Command::InviteMember { phone_number } => self.invite_member(phone_number),
            Command::IdentifyCustomer { phone_number } => self.identify_customer(&phone_number),
            Command::ForgetCustomer => self.forget_customer(),
            Command::Refund { .. } | Command::Return { .. } | Command::ReloadConfig => {
                self.queued.push_back(cmd)
            }
            Command::ListSales { limit } => self.answer_history(limit),
            Command::SetCashier { cashier_id } => self.set_cashier(cashier_id),
            Command::Shutdown => self.stopping = true,
            // Busy with recovery or a refund, not a sale: the sale starts right after.
            Command::Pay { .. } if self.current_sale.is_none() => self.queued.push_back(cmd),
            Command::Pay { .. } => self.problem(MessageId::Busy, None, false),
            _ => self.problem(MessageId::NotNow, None, false),
        }
    }

    pub(super) fn answer_history(&mut self, limit: u32) {
        match self.db.read(|c| db::list_sales(c, limit)) {
            Ok(sales) => self.emit(EngineEvent::History { sales }),
            Err(e) => self.storage_failed(&e),
        }
    }

    /// Open payments and refunds are read and finished where they were made: a reload that
    /// changes the sales unit, credentials or Vipps environment waits until none is open (read
    /// elsewhere they would 404 and be closed as never created while money stays reserved).
    /// Says so and returns false while any is open.
    fn reload_may_change_vipps(&mut self) -> bool {
        let open = match self.db.read(|c| Ok(es::attempts_needing_reconcile(c)?)) {
            Ok(open) => open,
            Err(e) => {
                self.storage_failed(&e);
                return false;
            }
        };
        // Those made at another sales unit wait for it anyway (a reload back to it finishes them).
        let current = SalesUnit::of_config(&self.config);
        let open: Vec<_> = open
            .into_iter()
            .filter(|a| {
                current
                    .as_ref()
                    .is_none_or(|c| SalesUnit::other_than(a, c).is_none())
            })
            .collect();
        if open.is_empty() {
            return true;
        }
        tracing::warn!(
            open = open.len(),
            "configuration reload refused: payments still open at the current sales unit"
        );
        self.problem(
            MessageId::Busy,
            Some(format!(
                "{} payment(s) are still open at the current Vipps sales unit; the new Vipps \
                 settings can be loaded once they are finished (the running configuration is kept)",
                open.len()
            )),
            false,
        );
        false
    }

    async fn reload_config(&mut self) {
        let Some(path) = self.config.source.clone() else {
            self.problem(
                MessageId::NotNow,
                Some("configuration was not loaded from a file".into()),
                false,
            );
            return;
        };
        match Config::load(Some(&path)) {
            Ok(config) => {
                if config.vipps != self.config.vipps && !self.reload_may_change_vipps() {
                    return;
                }
                if !self.signer_for(&config) {
                    return;
                }
                let relay_changed = config.relay != self.config.relay;
                let vipps_changed = config.vipps != self.config.vipps;
                self.config = config;
                self.vipps = None;
                self.setup().await;
                if vipps_changed {
                    // Payments left open at the sales unit now configured can be finished.
                    self.reconcile_at = Some(Instant::now());
                }
                if relay_changed {
                    self.link = None;
                    self.connect_relay();
                }
            }
            Err(e) => self.problem(MessageId::ConfigInvalid, Some(e.to_string()), false),
        }
    }
}

async fn recv_link(link: &mut Option<RelayLink>) -> Option<LinkMsg> {
    match link {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
