//! A small scenario builder for the script most engine tests share: a till that sells a basket
//! (Pay → the customer scans, or gets a push → approves → completed). The steps are there one
//! by one too, for tests that do something in between.

use kasse::core::basket::Basket;
use kasse::core::receipt::Receipt;
use kasse::engine::{Command, EngineEvent, EngineHandle, EngineOptions};
use tokio::sync::broadcast;

use super::{Env, is_ready, requested, start_sale, wait_for};

/// An engine on an [`Env`]'s database, started and ready, with its events.
pub struct TestTill {
    pub env: Env,
    pub engine: EngineHandle,
    pub rx: broadcast::Receiver<EngineEvent>,
}

/// A sale the customer paid.
#[derive(Debug, Clone)]
pub struct Paid {
    pub sale_id: i64,
    pub reference: String,
    pub receipt: Receipt,
}

impl TestTill {
    /// The demo's simulator and relay with test timings, and a ready engine.
    pub async fn start() -> TestTill {
        Self::on(Env::start().await).await
    }

    /// A ready engine on `env`.
    pub async fn on(env: Env) -> TestTill {
        Self::on_with(env, EngineOptions::default()).await
    }

    /// A ready engine on `env`, started with `options` (crash points, clocks).
    pub async fn on_with(env: Env, options: EngineOptions) -> TestTill {
        let (engine, mut rx) = env.engine_with(options);
        wait_for(&mut rx, "ready", is_ready).await;
        TestTill { env, engine, rx }
    }

    /// Waits until the till is connected to its relay.
    pub async fn relay_connected(&mut self) {
        self.wait_for("relay connected", |e| {
            matches!(
                e,
                EngineEvent::RelayStatus {
                    status: kasse::engine::RelayStatus::Connected
                }
            )
        })
        .await;
    }

    /// The customer scans before Pay; returns once the till shows them waiting.
    pub async fn customer_scans_ahead(&mut self) {
        assert!(self.env.demo.phone.scan().await.unwrap());
        self.wait_for("customer waiting", |e| {
            matches!(e, EngineEvent::CustomerWaiting { .. })
        })
        .await;
    }

    /// Pay and sell `basket` whole: the customer scans the till's QR and approves.
    pub async fn sell(&mut self, basket: Basket) -> Paid {
        let sale_id = self.pay(basket).await;
        let reference = self.scan().await;
        let receipt = self.approve(&reference).await;
        Paid {
            sale_id,
            reference,
            receipt,
        }
    }

    /// The customer scans the till's QR and approves; returns the reference once the sale
    /// completed.
    pub async fn customer_scans_and_approves(&mut self) -> String {
        let reference = self.scan().await;
        self.approve(&reference).await;
        reference
    }

    /// Pay on the standard [`basket`](super::basket) and push the request to the test phone
    /// (without waiting for Vipps to take it).
    pub async fn send_to_phone(&mut self) {
        self.pay(super::basket()).await;
        self.send(Command::SendToPhone {
            phone_number: "4791234567".into(),
        });
    }

    /// [`Self::send_to_phone`], then the reference of the payment request.
    pub async fn pay_by_phone(&mut self) -> String {
        self.send_to_phone().await;
        self.requested().await
    }

    /// Presses Pay; returns the sale id once the till waits for the customer.
    pub async fn pay(&mut self, basket: Basket) -> i64 {
        start_sale(&self.engine, &mut self.rx, basket).await
    }

    /// The customer scans the till's QR; returns the reference of the payment request.
    pub async fn scan(&mut self) -> String {
        assert!(
            self.env.demo.phone.scan().await.unwrap(),
            "the check-in reached the till"
        );
        requested(&mut self.rx).await
    }

    /// The reference of the next payment request.
    pub async fn requested(&mut self) -> String {
        requested(&mut self.rx).await
    }

    /// The cashier pushes the request to `phone_number`; returns its reference.
    pub async fn push_to(&mut self, phone_number: &str) -> String {
        self.send(Command::SendToPhone {
            phone_number: phone_number.into(),
        });
        requested(&mut self.rx).await
    }

    /// The customer approves `reference` in the app; returns the receipt once the sale
    /// completed.
    pub async fn approve(&mut self, reference: &str) -> Receipt {
        self.env.demo.phone.approve(reference).await.unwrap();
        match self
            .wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
            .await
        {
            EngineEvent::Completed { receipt, .. } => receipt,
            _ => unreachable!(),
        }
    }

    /// What Vipps (the simulator) captured on `reference`, minor units.
    pub async fn captured(&self, reference: &str) -> i64 {
        self.env
            .ledger(reference)
            .await
            .aggregate
            .captured_amount
            .value
    }

    /// Vipps (the simulator) misbehaves as `faults` say from now on.
    pub async fn set_faults(&self, faults: &kasse::sim::Faults) {
        self.env
            .demo
            .phone
            .control()
            .set_faults(faults)
            .await
            .unwrap();
    }

    /// Moves only Vipps' (the simulator's) clock forward.
    pub async fn advance_vipps_clock(&self, by: std::time::Duration) {
        self.env
            .demo
            .phone
            .control()
            .advance_clock(by)
            .await
            .unwrap();
    }

    pub fn send(&self, command: Command) {
        self.engine.send(command).unwrap();
    }

    /// The first event matching `pred` (others skipped), or a panic after the deadline.
    pub async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&EngineEvent) -> bool,
    ) -> EngineEvent {
        wait_for(&mut self.rx, what, pred).await
    }

    /// Stops the engine and waits until it has.
    pub async fn shutdown(self) -> Env {
        self.send(Command::Shutdown);
        let _ = tokio::time::timeout(super::WAIT, self.engine.closed()).await;
        self.env
    }
}
