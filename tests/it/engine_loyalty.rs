//! Enrolment as its own persisted state machine, against the simulator over loopback: approved,
//! declined, expired, slow_down honoured, refused starts, and recovery after a crash at each
//! step. Waiting goes through an injected sleep that moves the simulator's clock, so nothing
//! sleeps for real and the waits are checked exactly.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use kasse::clock::Clock;
use kasse::core::loyalty::{EnrolmentFailure, EnrolmentState};
use kasse::engine::loyalty::{self, EnrolOutcome, SLOW_DOWN_STEP};
use kasse::sim::{self, SimConfig, SimHandle};
use kasse::store::Store;
use kasse::vipps::{Client, Environment, LoginApi, LoginAuth, PhoneNumber, VippsConfig};

const USER: &str = "4798765432";

struct World {
    sim: SimHandle,
    api: LoginApi,
    clock: Clock,
    dir: tempfile::TempDir,
}

impl World {
    async fn start(config: SimConfig) -> World {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim::spawn(config, listener);
        let vipps = VippsConfig::new(
            Environment::Custom(sim.base_url.clone()),
            sim::TEST_CLIENT_ID,
            sim::TEST_CLIENT_SECRET,
            sim::TEST_SUBSCRIPTION_KEY,
            sim::TEST_MSN,
        );
        let api = LoginApi::new(Client::new(vipps).unwrap(), LoginAuth::ClientSecretBasic);
        let sim_clock = sim.clock().clone();
        let clock = Clock::new(move || sim_clock.now());
        World {
            sim,
            api,
            clock,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The till's database (reopened after a "crash": nothing in memory survives).
    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("till.db")).unwrap()
    }

    /// Invites `msisdn` (the login started at the simulator).
    async fn invite(
        &self,
        store: &Store,
        msisdn: &PhoneNumber,
    ) -> kasse::store::loyalty::Enrolment {
        loyalty::invite(store, &self.api, &self.clock, msisdn, None)
            .await
            .unwrap()
    }

    /// Follows enrolment `id` to its end, the customer doing `act` at the n-th wait; the
    /// outcome and every wait.
    async fn follow(
        &self,
        store: &Store,
        id: i64,
        act: Option<(usize, Action)>,
    ) -> (EnrolOutcome, Vec<Duration>) {
        let waits = Rc::new(RefCell::new(Vec::new()));
        let outcome = loyalty::follow(
            store,
            &self.api,
            &self.clock,
            id,
            self.sleeper(waits.clone(), act),
        )
        .await
        .unwrap();
        let waits = waits.borrow().clone();
        (outcome, waits)
    }

    /// A sleep that moves the simulator's clock and records each wait; `act` runs at the
    /// n-th wait (the customer acting in the app meanwhile).
    fn sleeper(
        &self,
        waits: Rc<RefCell<Vec<Duration>>>,
        act: Option<(usize, Action)>,
    ) -> impl FnMut(Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        let clock = self.sim.clock().clone();
        let control = self.sim.control();
        move |d| {
            waits.borrow_mut().push(d);
            let n = waits.borrow().len();
            let clock = clock.clone();
            let control = control.clone();
            let act = act.filter(|(at, _)| *at == n).map(|(_, a)| a);
            Box::pin(async move {
                clock.advance(d);
                if let Some(action) = act {
                    let login = control.logins().await.unwrap().pop().unwrap();
                    match action {
                        Action::Approve => {
                            control
                                .approve_login(&login.auth_req_id, "Kari", Some(&["sms"]))
                                .await
                                .unwrap();
                        }
                        Action::Deny => {
                            control.deny_login(&login.auth_req_id).await.unwrap();
                        }
                    }
                }
            })
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Approve,
    Deny,
}

fn number() -> PhoneNumber {
    PhoneNumber::parse(USER).unwrap()
}

#[tokio::test]
async fn loyalty_an_approved_invitation_stores_the_member_with_consents() {
    let w = World::start(SimConfig::for_tests()).await;
    let store = w.store();
    let e = w.invite(&store, &number()).await;
    assert_eq!(e.state, EnrolmentState::Pending);
    assert_eq!(e.interval_s, Some(5));
    // The code the till shows is the one the app shows.
    let app = w.sim.control().logins().await.unwrap();
    assert_eq!(
        app[0].binding_message.as_deref(),
        Some(e.binding_message.as_str())
    );
    assert_eq!(app[0].msisdn, USER);

    let (outcome, waits) = w.follow(&store, e.id, Some((2, Action::Approve))).await;
    let EnrolOutcome::Member(member) = outcome else {
        panic!("expected a member, got {outcome:?}");
    };
    assert_eq!(member.sub, sim::sub_of(sim::TEST_MSN, USER));
    assert_eq!(member.given_name.as_deref(), Some("Kari"));
    assert_eq!(member.msisdn, number());
    let sms = member.consents.iter().find(|c| c.id == "sms").unwrap();
    assert!(sms.accepted && sms.time_of_consent.ends_with('Z'));
    assert_eq!(
        waits,
        vec![Duration::from_secs(5); 2],
        "polled at the interval"
    );
    let stored = store.enrolment(e.id).unwrap().unwrap();
    assert_eq!(stored.state, EnrolmentState::Approved);
    assert_eq!(stored.member_id, Some(member.id));
    assert_eq!(
        store.member_by_msisdn(&number()).unwrap().unwrap().id,
        member.id
    );
}

/// The id_token is validated on approval (RS256 with the key at `jwks_uri`, issuer,
/// audience, and the same `sub` as userinfo): one that fails ends the enrolment FAILED
/// `unverified` and stores no member.
#[tokio::test]
async fn loyalty_an_id_token_that_does_not_validate_stores_no_member() {
    use kasse::sim::{Faults, IdTokenFault};
    let w = World::start(SimConfig::for_tests()).await;
    let store = w.store();
    let control = w.sim.control();
    for (n, fault) in [
        IdTokenFault::WrongKey,
        IdTokenFault::Tampered,
        IdTokenFault::WrongAudience,
        IdTokenFault::Unsigned,
    ]
    .into_iter()
    .enumerate()
    {
        control
            .set_faults(&Faults {
                id_token: Some(fault),
                ..Faults::default()
            })
            .await
            .unwrap();
        let msisdn = PhoneNumber::parse(&format!("479000000{n}")).unwrap();
        let e = w.invite(&store, &msisdn).await;
        let (outcome, _) = w.follow(&store, e.id, Some((1, Action::Approve))).await;
        assert_eq!(
            outcome,
            EnrolOutcome::NotEnrolled(EnrolmentFailure::Unverified),
            "{fault:?}"
        );
        let row = store.enrolment(e.id).unwrap().unwrap();
        assert_eq!(row.state, EnrolmentState::Failed, "{fault:?}");
        assert_eq!(row.failure, Some(EnrolmentFailure::Unverified), "{fault:?}");
        assert_eq!(row.member_id, None, "{fault:?}");
        assert_eq!(store.member_by_msisdn(&msisdn).unwrap(), None, "{fault:?}");
    }
    assert!(store.members(None).unwrap().is_empty());

    // The same login with a sound id_token enrols (the key set is served at jwks_uri).
    control.set_faults(&Faults::default()).await.unwrap();
    let e = w.invite(&store, &number()).await;
    let (outcome, _) = w.follow(&store, e.id, Some((1, Action::Approve))).await;
    assert!(matches!(outcome, EnrolOutcome::Member(_)), "{outcome:?}");
}

#[tokio::test]
async fn loyalty_declined_and_expired_invitations_make_no_member() {
    let w = World::start(SimConfig::for_tests()).await;
    let store = w.store();
    let e = w.invite(&store, &number()).await;
    let (outcome, _) = w.follow(&store, e.id, Some((1, Action::Deny))).await;
    assert_eq!(
        outcome,
        EnrolOutcome::NotEnrolled(EnrolmentFailure::Declined)
    );
    assert_eq!(
        store.enrolment(e.id).unwrap().unwrap().state,
        EnrolmentState::Declined
    );

    // Nobody answers: polled every 5 s until Vipps' 600 s are up, then EXPIRED.
    let e = w.invite(&store, &number()).await;
    let (outcome, waits) = w.follow(&store, e.id, None).await;
    assert_eq!(
        outcome,
        EnrolOutcome::NotEnrolled(EnrolmentFailure::Expired)
    );
    let total: Duration = waits.iter().sum();
    assert!(
        (Duration::from_secs(600)..=Duration::from_secs(605)).contains(&total),
        "{total:?}"
    );
    assert!(waits.iter().all(|d| *d == Duration::from_secs(5)));
    assert_eq!(store.member_by_msisdn(&number()).unwrap(), None);
}

#[tokio::test]
async fn loyalty_slow_down_is_honoured() {
    let w = World::start(SimConfig::for_tests()).await;
    let store = w.store();
    let e = w.invite(&store, &number()).await;
    // The first two waits are cut short (as a till restarted mid-wait would poll early):
    // Vipps answers pending, then slow_down. From then on the till waits 5 s longer, and
    // Vipps is satisfied: no second slow_down.
    let waits = Rc::new(RefCell::new(Vec::new()));
    let mut early = 2;
    let mut inner = w.sleeper(waits.clone(), Some((4, Action::Approve)));
    let outcome = loyalty::follow(&store, &w.api, &w.clock, e.id, move |d| {
        if early > 0 {
            early -= 1;
            return inner(Duration::ZERO);
        }
        inner(d)
    })
    .await
    .unwrap();
    assert!(matches!(outcome, EnrolOutcome::Member(_)), "{outcome:?}");
    let waits = waits.borrow().clone();
    assert_eq!(waits[..2], [Duration::ZERO; 2]);
    assert!(waits.len() >= 4, "{waits:?}");
    assert!(
        waits[2..]
            .iter()
            .all(|d| *d == Duration::from_secs(5) + SLOW_DOWN_STEP),
        "{waits:?}"
    );
    let log = w.sim.control().log().await.unwrap();
    let polls = log
        .iter()
        .filter(|c| c.path.ends_with("/oauth2/token"))
        .map(|c| c.status)
        .collect::<Vec<_>>();
    // pending, slow_down, pending (10 s later: accepted), then the approved login.
    assert_eq!(polls, [400, 400, 400, 200]);
    assert_eq!(waits.len(), 4);
    assert_eq!(store.enrolment(e.id).unwrap().unwrap().interval_s, Some(10));
}

#[tokio::test]
async fn loyalty_refused_starts_end_at_once_with_their_reason() {
    let mut config = SimConfig::for_tests();
    config.unknown_phone_numbers = vec!["4711111111".into()];
    config.login.old_app_numbers = vec!["4722222222".into()];
    let w = World::start(config).await;
    let store = w.store();
    for (n, reason) in [
        ("4711111111", EnrolmentFailure::InvalidUser),
        ("4722222222", EnrolmentFailure::OldApp),
    ] {
        let e = loyalty::invite(
            &store,
            &w.api,
            &w.clock,
            &PhoneNumber::parse(n).unwrap(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(e.state, EnrolmentState::Failed);
        assert_eq!(e.failure, Some(reason));
    }
    // A login already pending at Vipps for the customer (e.g. from another till): 429.
    let first = w.invite(&store, &number()).await;
    store
        .end_enrolment(first.id, EnrolmentFailure::Interrupted)
        .unwrap();
    let again = w.invite(&store, &number()).await;
    assert_eq!(again.failure, Some(EnrolmentFailure::AlreadyInProgress));
}

#[tokio::test]
async fn loyalty_recovery_after_a_crash_at_each_step_leaves_no_half_enrolled_member() {
    let w = World::start(SimConfig::for_tests()).await;
    // Crash right after STARTED was written: the login cannot be followed → FAILED.
    let started = w
        .store()
        .start_enrolment(&number(), "CRA-SH1", None)
        .unwrap();
    // Crash after PENDING (the process dies while waiting): the customer approves meanwhile.
    let other = PhoneNumber::parse("4791111111").unwrap();
    let pending = {
        let store = w.store();
        w.invite(&store, &other).await
    };
    let login = w.sim.control().logins().await.unwrap().pop().unwrap();
    w.sim
        .control()
        .approve_login(&login.auth_req_id, "Ola", None)
        .await
        .unwrap();

    let store = w.store();
    let waits = Rc::new(RefCell::new(Vec::new()));
    let outcomes = loyalty::recover(&store, &w.api, &w.clock, w.sleeper(waits, None))
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(
        outcomes[0],
        (
            started.id,
            EnrolOutcome::NotEnrolled(EnrolmentFailure::Interrupted)
        )
    );
    assert!(matches!(outcomes[1], (id, EnrolOutcome::Member(_)) if id == pending.id));
    assert!(store.open_enrolments().unwrap().is_empty());
    assert_eq!(store.member_by_msisdn(&number()).unwrap(), None);
    assert!(store.member_by_msisdn(&other).unwrap().is_some());

    // Crash after the token was taken but before the member was stored: Vipps hands a login
    // out once, so recovery ends it as interrupted (invite again), never half a member.
    let third = PhoneNumber::parse("4792222222").unwrap();
    let e = w.invite(&store, &third).await;
    let id = e.auth_req_id.clone().unwrap();
    w.sim
        .control()
        .approve_login(&id, "Per", None)
        .await
        .unwrap();
    w.sim.clock().advance(Duration::from_secs(5));
    w.api.token(&id).await.unwrap();
    drop(store);
    let store = w.store();
    let waits = Rc::new(RefCell::new(Vec::new()));
    let outcomes = loyalty::recover(&store, &w.api, &w.clock, w.sleeper(waits, None))
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![(
            e.id,
            EnrolOutcome::NotEnrolled(EnrolmentFailure::Interrupted)
        )]
    );
    assert_eq!(store.member_by_msisdn(&third).unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// The whole till: recognition at the scan, beside the payment.

mod till {
    use crate::engine_support::loyalty::{quick_logins, set_up, two_coffees};
    use crate::engine_support::*;
    use kasse::engine::{Command, EngineEvent};
    use kasse::sim::{DEFAULT_CUSTOMER_PHONE, Faults};
    use kasse::store::loyalty::LoyaltySettings;
    use kasse::vipps::PhoneNumber;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_member_who_scans_before_pay_gets_the_member_price_captured_exactly() {
        let env = Env::start().await;
        set_up(&env, true);
        let mut till = TestTill::on(env).await;
        assert!(till.env.demo.phone.scan().await.unwrap());
        let recognised = till
            .wait_for("member recognised", |e| {
                matches!(e, EngineEvent::MemberRecognised { .. })
            })
            .await;
        let EngineEvent::MemberRecognised {
            first_name,
            masked_number,
            points,
        } = recognised
        else {
            unreachable!()
        };
        assert_eq!(first_name.as_deref(), Some("Kari"));
        assert_eq!(points, 0, "no sales yet");
        assert!(masked_number.ends_with(" 78"), "{masked_number}");
        assert!(!masked_number.contains("4712"));

        till.send(Command::Pay {
            basket: two_coffees(),
        });
        // 2 × 45.00 at the member price of 39.00.
        till.wait_for("member prices", |e| {
            matches!(e, EngineEvent::MemberPrices { saving: 1_200, .. })
        })
        .await;
        let reference = till.requested().await;
        till.env.demo.phone.approve(&reference).await.unwrap();
        let done = till
            .wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
            .await;
        let EngineEvent::Completed { receipt, .. } = done else {
            unreachable!()
        };
        assert_eq!(receipt.total, 7_800);
        let p = till.env.ledger(&reference).await;
        assert_eq!(p.amount.value, 7_800);
        assert_eq!(p.aggregate.captured_amount.value, 7_800);

        // The saving is the sale's own and printed on its receipt; the sale is the member's.
        let store = till.env.store();
        let sale_id = sale_of(&store, &reference);
        assert_eq!(
            store.get_sale(sale_id).unwrap().unwrap().member_saving,
            1_200
        );
        let origin = kasse::print::Origin {
            till_id: "till1".into(),
            shop: kasse::core::receipt_doc::ShopInfo::default(),
        };
        let data = kasse::print::source::receipt_data(&store, &origin, sale_id, None).unwrap();
        assert_eq!((data.member_saving, data.total), (1_200, 7_800));
        let member = store.members(None).unwrap().remove(0);
        assert_eq!(store.member_points(member.id).unwrap(), 78, "kr 78,00 paid");

        // Next sale: recognised at the scan with the points of the first.
        assert!(till.env.demo.phone.scan().await.unwrap());
        till.wait_for("recognised with points", |e| {
            matches!(e, EngineEvent::MemberRecognised { points: 78, .. })
        })
        .await;
        till.shutdown().await;

        // The member's export lists the sale and the points; erasure drops the link only.
        let export = store.export_member(member.id).unwrap();
        assert_eq!(export["points"], 78);
        assert_eq!(export["sales"][0]["sale_id"], sale_id);
        assert_eq!(export["sales"][0]["member_saving"], 1_200);
        store.erase_member(member.id).unwrap();
        let links: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM member_sale", [], |r| r.get(0))
            .unwrap();
        assert_eq!(links, 0);
        let sale = store.get_sale(sale_id).unwrap().unwrap();
        assert_eq!(
            (sale.total, sale.member_saving),
            (7_800, 1_200),
            "the sale stays"
        );
    }

    /// The sale a Vipps reference paid.
    fn sale_of(store: &kasse::store::Store, reference: &str) -> i64 {
        store
            .conn()
            .query_row(
                "SELECT sale_id FROM payment_attempt WHERE reference = ?1",
                [reference],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_failing_exchange_never_stops_the_payment() {
        let env = Env::start().await;
        set_up(&env, true);
        let mut till = TestTill::on(env).await;
        // Every QR API call fails from now on (the till's QR is already set up).
        let mut faults = Faults::default();
        faults.error_rate.insert(kasse::sim::EndpointClass::Qr, 1.0);
        till.set_faults(&faults).await;

        till.pay(two_coffees()).await;
        let reference = till.scan().await;
        till.approve(&reference).await;
        // Full price: the member was not known at Pay; the exchange was tried and failed.
        let p = till.env.ledger(&reference).await;
        assert_eq!(p.aggregate.captured_amount.value, 9_000);
        eventually("the exchange was tried", || async {
            till.env
                .log()
                .await
                .iter()
                .any(|c| c.path == "/qr/v1/exchange/customer" && c.status == 500)
        })
        .await;
        till.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_hanging_exchange_does_not_hold_the_payment_back() {
        let env = Env::start().await;
        set_up(&env, true);
        let mut till = TestTill::on(env).await;
        // From now on every QR API call (only the exchange, the QR is set up) hangs 8 s.
        let mut faults = Faults::default();
        faults.hold.insert(
            kasse::sim::EndpointClass::Qr,
            kasse::sim::Hold {
                ms: 8_000,
                count: None,
            },
        );
        till.set_faults(&faults).await;
        till.pay(two_coffees()).await;
        let reference = till.scan().await;
        till.approve(&reference).await;
        // The sale is paid while the exchange is still held (the log lists a call once it is
        // answered).
        assert_eq!(till.captured(&reference).await, 9_000);
        assert!(
            !till
                .env
                .log()
                .await
                .iter()
                .any(|c| c.path == "/qr/v1/exchange/customer"),
            "the exchange has not answered yet"
        );
        // It was asked all the same, and answers once its hold ends.
        eventually("the held exchange answered", || async {
            till.env
                .log()
                .await
                .iter()
                .any(|c| c.path == "/qr/v1/exchange/customer" && c.held_ms == 8_000)
        })
        .await;
        till.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_off_means_no_exchange_and_full_prices() {
        let env = Env::start().await;
        set_up(&env, true);
        env.store()
            .set_loyalty_settings(&LoyaltySettings::default())
            .unwrap();
        let mut till = TestTill::on(env).await;
        assert!(till.env.demo.phone.scan().await.unwrap());
        till.send(Command::Pay {
            basket: two_coffees(),
        });
        let reference = till.requested().await;
        till.approve(&reference).await;
        assert_eq!(till.captured(&reference).await, 9_000);
        assert!(
            !till
                .env
                .log()
                .await
                .iter()
                .any(|c| c.path.starts_with("/qr/v1/exchange")),
            "no exchange while loyalty is off"
        );
        till.shutdown().await;
    }

    async fn pending_code(rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> String {
        match wait_for(rx, "invite pending", |e| {
            matches!(e, EngineEvent::InvitePending { .. })
        })
        .await
        {
            EngineEvent::InvitePending {
                binding_message, ..
            } => binding_message,
            _ => unreachable!(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_invite_approve_then_member_price_on_the_same_sale() {
        let env = quick_logins().await;
        set_up(&env, false);
        let mut till = TestTill::on(env).await;
        assert!(till.env.demo.phone.scan().await.unwrap());
        till.wait_for( "not a member", |e| {
            matches!(e, EngineEvent::NotAMember { masked_number, programme } if masked_number.ends_with(" 78") && programme == "Kaffeklubben")
        })
        .await;
        till.send(Command::InviteMember { phone_number: None });
        let code = pending_code(&mut till.rx).await;
        let control = till.env.demo.phone.control();
        let login = control.logins().await.unwrap().pop().unwrap();
        assert_eq!(login.binding_message.as_deref(), Some(code.as_str()));
        assert_eq!(login.msisdn, DEFAULT_CUSTOMER_PHONE);
        control
            .approve_login(&login.auth_req_id, "Kari", None)
            .await
            .unwrap();
        till.wait_for(
            "member enrolled",
            |e| matches!(e, EngineEvent::MemberEnrolled { first_name: Some(n), .. } if n == "Kari"),
        )
        .await;

        // Now Pay: the scan's customer is a member, so the member price applies.
        till.send(Command::Pay {
            basket: two_coffees(),
        });
        till.wait_for("member prices", |e| {
            matches!(e, EngineEvent::MemberPrices { saving: 1_200, .. })
        })
        .await;
        let reference = till.requested().await;
        till.approve(&reference).await;
        assert_eq!(till.captured(&reference).await, 7_800);
        let member = till
            .env
            .store()
            .member_by_msisdn(&PhoneNumber::parse(DEFAULT_CUSTOMER_PHONE).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            member.sub,
            kasse::sim::sub_of(kasse::sim::TEST_MSN, DEFAULT_CUSTOMER_PHONE)
        );
        assert!(!member.consents.is_empty());
        till.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_declined_invite_is_told_and_the_sale_goes_on() {
        let env = quick_logins().await;
        set_up(&env, false);
        let mut till = TestTill::on(env).await;
        till.pay(two_coffees()).await;
        // The cashier invites a typed number while the sale waits for its customer.
        till.send(Command::InviteMember {
            phone_number: Some("+47 987 65 432".into()),
        });
        pending_code(&mut till.rx).await;
        let control = till.env.demo.phone.control();
        let login = control.logins().await.unwrap().pop().unwrap();
        assert_eq!(login.msisdn, "4798765432");
        control.deny_login(&login.auth_req_id).await.unwrap();
        till.wait_for("invite ended", |e| {
            matches!(
                e,
                EngineEvent::InviteEnded {
                    reason: kasse::core::loyalty::EnrolmentFailure::Declined,
                    ..
                }
            )
        })
        .await;
        let reference = till.scan().await;
        till.approve(&reference).await;
        assert_eq!(till.captured(&reference).await, 9_000);
        till.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_an_invitation_survives_a_restart_of_the_engine() {
        let env = quick_logins().await;
        set_up(&env, false);
        let mut till = TestTill::on(env).await;
        till.send(Command::InviteMember {
            phone_number: Some("4798765432".into()),
        });
        pending_code(&mut till.rx).await;
        let env = till.shutdown().await;

        // The customer approves while the till is down; the next engine finishes the enrolment.
        let control = env.demo.phone.control();
        let login = control.logins().await.unwrap().pop().unwrap();
        control
            .approve_login(&login.auth_req_id, "Ola", None)
            .await
            .unwrap();
        let (engine, mut rx) = env.engine();
        wait_for(
            &mut rx,
            "member enrolled",
            |e| matches!(e, EngineEvent::MemberEnrolled { first_name: Some(n), .. } if n == "Ola"),
        )
        .await;
        assert!(env.store().open_enrolments().unwrap().is_empty());
        engine.send(Command::Shutdown).unwrap();
    }

    /// `kasse invite --phone N` as a separate process, aborted at `crash_at`.
    async fn invite_process(env: &Env, crash_at: Option<&str>) -> std::process::ExitStatus {
        let config = env.write_config();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kasse"));
        cmd.args(["invite", "--phone", "4798765432", "--config"])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (k, _) in std::env::vars() {
            if k.starts_with("KASSE_") {
                cmd.env_remove(k);
            }
        }
        if let Some(step) = crash_at {
            cmd.env("KASSE_CRASH_AT", step);
        }
        tokio::time::timeout(std::time::Duration::from_secs(60), cmd.status())
            .await
            .expect("kasse invite ends")
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_till_killed_while_the_invitation_waits_enrols_the_member_on_restart() {
        let env = quick_logins().await;
        set_up(&env, false);
        let status = invite_process(&env, Some("enrolment_pending")).await;
        assert!(!status.success(), "the process aborted at the crash point");
        let open = env.store().open_enrolments().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].state, kasse::core::loyalty::EnrolmentState::Pending);

        // The customer approves while the till is down; the next start finishes the enrolment.
        let control = env.demo.phone.control();
        let login = control.logins().await.unwrap().pop().unwrap();
        control
            .approve_login(&login.auth_req_id, "Ola", None)
            .await
            .unwrap();
        let (engine, mut rx) = env.engine();
        wait_for(
            &mut rx,
            "member enrolled",
            |e| matches!(e, EngineEvent::MemberEnrolled { first_name: Some(n), .. } if n == "Ola"),
        )
        .await;
        assert!(env.store().open_enrolments().unwrap().is_empty());
        assert_eq!(env.store().members(None).unwrap().len(), 1);
        engine.send(Command::Shutdown).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_till_killed_before_the_login_started_ends_it_as_interrupted() {
        let env = quick_logins().await;
        set_up(&env, false);
        let status = invite_process(&env, Some("enrolment_started")).await;
        assert!(!status.success());
        assert!(
            env.demo.phone.control().logins().await.unwrap().is_empty(),
            "Vipps was never asked"
        );
        let (engine, mut rx) = env.engine();
        wait_for(&mut rx, "invite ended", |e| {
            matches!(
                e,
                EngineEvent::InviteEnded {
                    reason: kasse::core::loyalty::EnrolmentFailure::Interrupted,
                    ..
                }
            )
        })
        .await;
        assert!(env.store().open_enrolments().unwrap().is_empty());
        assert!(env.store().members(None).unwrap().is_empty());
        engine.send(Command::Shutdown).unwrap();
        engine.closed().await;

        // Without a crash the same command enrols (the customer approves in the app).
        let control = env.demo.phone.control().clone();
        let approve = tokio::spawn(async move {
            loop {
                if let Some(l) = control
                    .logins()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|l| l.state == "PENDING")
                {
                    control
                        .approve_login(&l.auth_req_id, "Ola", None)
                        .await
                        .unwrap();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        });
        let status = invite_process(&env, None).await;
        approve.await.unwrap();
        assert!(status.success(), "{status:?}");
        assert_eq!(env.store().members(None).unwrap().len(), 1);
    }

    /// The login ping through the real relay: the simulator posts it to the relay, which
    /// routes it to the till that registered the login; the engine polls at once. Polling at
    /// the interval (300 s here) cannot be what finishes it within the deadline.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_the_login_ping_through_the_relay_finishes_the_enrolment_at_once() {
        let mut sim = kasse::sim::SimConfig::for_tests();
        sim.login.interval = std::time::Duration::from_secs(300);
        let env = Env::start_with(sim, std::time::Duration::from_secs(120)).await;
        set_up(&env, false);
        let mut till = TestTill::on(env).await;
        till.send(Command::InviteMember {
            phone_number: Some("4798765432".into()),
        });
        pending_code(&mut till.rx).await;
        let control = till.env.demo.phone.control();
        let login = control.logins().await.unwrap().pop().unwrap();
        control
            .approve_login(&login.auth_req_id, "Kari", None)
            .await
            .unwrap();
        till.wait_for(
            "member enrolled through the ping",
            |e| matches!(e, EngineEvent::MemberEnrolled { first_name: Some(n), .. } if n == "Kari"),
        )
        .await;
        let store = till.env.store();
        let member = store
            .member_by_msisdn(&PhoneNumber::parse("4798765432").unwrap())
            .unwrap()
            .expect("member stored");
        assert_eq!(member.given_name.as_deref(), Some("Kari"));
        assert!(store.open_enrolments().unwrap().is_empty());
        // One token call, the one the ping asked for, and it took the login.
        let polls: Vec<u16> = till
            .env
            .log()
            .await
            .iter()
            .filter(|c| c.path.ends_with("/oauth2/token"))
            .map(|c| c.status)
            .collect();
        assert_eq!(polls, [200]);
        till.shutdown().await;
    }

    /// user-exists before inviting: a number without a Vipps user ends the enrolment as
    /// `invalid_user` and no login is started.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loyalty_a_number_without_a_vipps_user_is_not_sent_a_login() {
        let mut sim = kasse::sim::SimConfig::for_tests();
        sim.unknown_phone_numbers = vec!["4711111111".into()];
        let env = Env::start_with(sim, std::time::Duration::from_secs(120)).await;
        set_up(&env, false);
        let mut till = TestTill::on(env).await;
        till.send(Command::InviteMember {
            phone_number: Some("4711111111".into()),
        });
        let ended = till
            .wait_for("invite ended", |e| {
                matches!(e, EngineEvent::InviteEnded { .. })
            })
            .await;
        let EngineEvent::InviteEnded {
            reason,
            enrolment_id,
        } = ended
        else {
            unreachable!()
        };
        assert_eq!(reason, kasse::core::loyalty::EnrolmentFailure::InvalidUser);
        let log = till.env.log().await;
        assert_eq!(
            log.iter()
                .filter(|c| c.path.ends_with("/user-exists"))
                .map(|c| c.status)
                .collect::<Vec<_>>(),
            [200]
        );
        assert!(
            !log.iter()
                .any(|c| c.path.ends_with("/backchannel/authentication")),
            "no login started"
        );
        assert!(
            till.env
                .demo
                .phone
                .control()
                .logins()
                .await
                .unwrap()
                .is_empty()
        );
        // Persisted like any other ending.
        let store = till.env.store();
        assert!(store.open_enrolments().unwrap().is_empty());
        let ended = store
            .enrolment(enrolment_id)
            .unwrap()
            .expect("enrolment row");
        assert_eq!(ended.state, kasse::core::loyalty::EnrolmentState::Failed);
        assert_eq!(
            ended.failure,
            Some(kasse::core::loyalty::EnrolmentFailure::InvalidUser)
        );
        till.shutdown().await;
    }
}
