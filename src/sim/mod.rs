//! `kasse-sim`: a faithful local Vipps MobilePay for demos, tests and training.
//!
//! It serves the Vipps paths at its root (a client's base URL is just
//! `http://127.0.0.1:PORT`): the access token API, QR merchant callback, the
//! ePayment API with the test force-approve endpoint, and the Webhooks API
//! with signed, retried, per-payment ordered delivery. A control API under
//! `/sim/v1/` plays the customer (scan, approve, decline), exposes the ledger
//! and the call log, moves the clock and injects faults. See
//! `docs/simulator.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = kasse::sim::spawn(kasse::sim::SimConfig::for_tests(), listener);
//! println!("Vipps is at {}", sim.base_url);
//! # Ok(()) }
//! ```

mod app;
mod auth;
pub mod client;
pub mod clock;
pub mod config;
mod control;
mod delivery;
mod epayment;
mod exchange;
pub mod faults;
mod login;
mod logins;
mod middleware;
mod problem;
mod qr;
mod render;
mod state;
mod sync;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post, put};
use tokio::task::AbortHandle;

pub use client::{ControlClient, ControlError, ScanOutcome, SimLogin};
pub use clock::SimClock;
pub use config::PartnerKeys;
pub use config::{
    AutoCustomer, Backoff, Currency, DEFAULT_CUSTOMER_PHONE, RateLimits, SimConfig, TEST_CLIENT_ID,
    TEST_CLIENT_SECRET, TEST_MSN, TEST_SUBSCRIPTION_KEY,
};
pub use config::{ConsentConfig, ConsentSpec, LoginClientAuth, LoginConfig};
pub use control::CANT_CONNECT;
pub use delivery::USER_AGENT as WEBHOOK_USER_AGENT;
pub use faults::{EndpointClass, Faults, Hold, IdTokenFault};
pub use login::{SIGNING_KID, sub_of};
pub use logins::LOGIN_PING_EVENT;

use app::{App, Inner};
use delivery::Deliverer;
use faults::FaultState;

/// A running simulator. Dropping it (or [`SimHandle::shutdown`]) stops it.
pub struct SimHandle {
    /// Where the simulated Vipps listens, e.g. `http://127.0.0.1:41234/`.
    pub base_url: url::Url,
    /// The bound address.
    pub addr: SocketAddr,
    clock: SimClock,
    deliverer: Deliverer,
    tasks: Mutex<Vec<AbortHandle>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl SimHandle {
    /// The simulator's clock (advance it to expire tokens and payments).
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// A client for the control API of this simulator.
    pub fn control(&self) -> ControlClient {
        ControlClient::new(self.base_url.clone())
    }

    /// Stop serving and stop every background task (webhook retries included).
    /// Open keep-alive connections are closed once their request is answered,
    /// so clients see the simulator go away.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        for task in sync::lock(&self.tasks).drain(..) {
            task.abort();
        }
        self.deliverer.shutdown();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/accesstoken/get", post(auth::token))
        // QR API, merchant callback
        .route("/qr/v1/merchant-callback", get(qr::list))
        .route(
            "/qr/v1/merchant-callback/{id}",
            put(qr::put).get(qr::get).delete(qr::delete),
        )
        .route(
            "/qr/v1/merchant-callback/mobilepay/{id}",
            put(qr::put_beacon),
        )
        .route("/qr/v1/exchange", post(exchange::personal_qr))
        .route("/qr/v1/exchange/customer", post(exchange::customer))
        .route("/qr-images/{file}", get(qr::image))
        // Login API (merchant-initiated login)
        .route(login::DISCOVERY_PATH, get(login::discovery))
        .route(login::JWKS_PATH, get(login::jwks))
        .route(login::USER_EXISTS_PATH, post(login::user_exists))
        .route(login::BACKCHANNEL_PATH, post(login::backchannel))
        .route(login::TOKEN_PATH, post(login::token))
        .route(login::USERINFO_PATH, get(login::userinfo))
        .route("/vipps-userinfo-api/userinfo/", get(login::userinfo))
        // ePayment API
        .route("/epayment/v1/payments", post(epayment::create))
        .route("/epayment/v1/payments/{reference}", get(epayment::get))
        .route(
            "/epayment/v1/payments/{reference}/events",
            get(epayment::events),
        )
        .route(
            "/epayment/v1/payments/{reference}/capture",
            post(epayment::capture),
        )
        .route(
            "/epayment/v1/payments/{reference}/refund",
            post(epayment::refund),
        )
        .route(
            "/epayment/v1/payments/{reference}/cancel",
            post(epayment::cancel),
        )
        .route(
            "/epayment/v1/test/payments/{reference}/approve",
            post(epayment::force_approve),
        )
        // Webhooks API
        .route(
            "/webhooks/v1/webhooks",
            post(webhooks::register).get(webhooks::list),
        )
        .route(
            "/webhooks/v1/webhooks/{id}",
            axum::routing::delete(webhooks::delete),
        )
        // Control API
        .route("/sim/v1/merchant-callback/{id}/scan", post(control::scan))
        .route("/sim/v1/scan", post(control::scan_content))
        .route("/sim/v1/payment-qr/scan", post(control::scan_payment_qr))
        .route(
            "/sim/v1/customers/{phone}/personal-qr",
            post(control::personal_qr),
        )
        .route("/sim/v1/payments", get(control::payments))
        .route("/sim/v1/payments/{reference}", get(control::payment))
        .route("/sim/v1/payments/{reference}/open", post(control::open))
        .route(
            "/sim/v1/payments/{reference}/approve",
            post(control::approve),
        )
        .route(
            "/sim/v1/payments/{reference}/decline",
            post(control::decline),
        )
        .route("/sim/v1/logins", get(login::control_list))
        .route(
            "/sim/v1/logins/{auth_req_id}/approve",
            post(login::control_approve),
        )
        .route(
            "/sim/v1/logins/{auth_req_id}/deny",
            post(login::control_deny),
        )
        .route("/sim/v1/log", get(control::log))
        .route("/sim/v1/webhook-deliveries", get(control::deliveries))
        .route(
            "/sim/v1/faults",
            get(control::get_faults).post(control::set_faults),
        )
        .route("/sim/v1/clock", get(control::clock))
        .route("/sim/v1/clock/advance", post(control::advance_clock))
        .route(
            "/sim/v1/auto-customer",
            get(control::get_auto_customer).post(control::set_auto_customer),
        )
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::vipps_api,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(middleware::MAX_BODY))
        .with_state(app)
}

/// Start the simulator on `listener`, on the caller's tokio runtime.
///
/// # Panics
/// If the listener has no local address (a bound `TcpListener` always has one).
pub fn spawn(config: SimConfig, listener: tokio::net::TcpListener) -> SimHandle {
    // Start-up invariant: a bound listener knows its address.
    let addr = listener
        .local_addr()
        .expect("a bound TcpListener has a local address");
    let base_url = config.public_base_url.clone().unwrap_or_else(|| {
        url::Url::parse(&format!("http://{addr}/")).expect("a socket address forms a URL")
    });
    let clock = config.clock.clone();
    let deliverer = Deliverer::new(
        clock.clone(),
        config.webhook_timeout,
        config.webhook_backoff,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = App(Arc::new(Inner {
        faults: Arc::new(Mutex::new(FaultState::new(config.faults.clone()))),
        auto_customer: Mutex::new(config.auto_customer),
        base_url: base_url.clone(),
        state: Mutex::new(state::State::default()),
        calls: Mutex::new(Vec::new()),
        deliverer: deliverer.clone(),
        stopped: stopped.clone(),
        config,
    }));

    let mut stopped = stopped;
    tokio::spawn({
        let router = router(app.clone());
        async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        }
    });
    let sweeper = tokio::spawn({
        let app = app.clone();
        async move {
            let mut tick = tokio::time::interval(app.config.sweep_interval);
            loop {
                tick.tick().await;
                let mut state = app.state();
                app.settle(&mut state);
            }
        }
    });
    tracing::info!(%base_url, msn = %app.config.msn, "kasse-sim listening");
    SimHandle {
        base_url,
        addr,
        clock,
        deliverer,
        tasks: Mutex::new(vec![sweeper.abort_handle()]),
        stop,
    }
}
