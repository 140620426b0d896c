//! A shop's day through the engine: cash with change and rounding, split cash + Vipps, a
//! declined Vipps part with the cash kept and then given back, refusals, cashiers, returns,
//! and X/Z reports whose totals match the sales made (øre exact).

use crate::engine_support::*;
use kasse::core::money::Currency;
use kasse::core::report::ReportKind;
use kasse::core::sale::SaleState;
use kasse::core::tender::TenderKind;
use kasse::engine::{Command, EngineEvent, MessageId};
use kasse::store::StoreError;
use kasse::store::day::{CashMovementKind, TenderPurpose};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cash_sale_gives_change_and_rounds_to_whole_kroner() {
    let mut till = TestTill::start().await;

    // 129.49 in cash: due 129.00 (rounded down 49 øre), 200.00 handed over, 71.00 back.
    let sale_id = till.pay(one_item(12_949)).await;
    till.send(tender(TenderKind::Cash, 20_000));
    let taken = till
        .wait_for("tender taken", |e| {
            matches!(e, EngineEvent::TenderTaken { .. })
        })
        .await;
    assert_eq!(
        taken,
        EngineEvent::TenderTaken {
            sale_id,
            tender: TenderKind::Cash,
            amount: 12_900,
            change: 7_100,
            rounding: -49,
            remaining: 0,
        }
    );
    let paid = till
        .wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    let EngineEvent::Paid {
        change, rounding, ..
    } = paid
    else {
        unreachable!()
    };
    assert_eq!((change, rounding), (7_100, -49));
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    let store = till.env.store();
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    assert_eq!(sale.state, SaleState::Completed);
    assert_eq!(sale.total, 12_949);
    let tenders = store.tenders_of_sale(sale_id).unwrap();
    assert_eq!(tenders.len(), 1);
    assert_eq!(
        (
            tenders[0].kind,
            tenders[0].amount,
            tenders[0].tendered,
            tenders[0].change,
            tenders[0].rounding
        ),
        (TenderKind::Cash, 12_900, 20_000, 7_100, -49)
    );
    // Signed like every concluded sale, and journalled with the cash payment code.
    let signed = store.signed_sale(sale_id).unwrap().expect("signed");
    assert_eq!(signed.amount_in, 12_949);
    let code: i64 = store
        .conn()
        .query_row(
            "SELECT payment_code FROM journal WHERE kind = 'sale_completed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(code, 12001);
    // No Vipps payment was made.
    assert!(till.env.ledger_all().await.is_empty());
    // The drawer opened for the cash, and should now hold the cash taken.
    assert_eq!(store.expected_cash().unwrap(), 12_900);
    kasse::store::Store::open(&till.env.config.database_path().unwrap())
        .unwrap()
        .verify_journal()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_cash_then_vipps_pays_the_rest() {
    let mut till = TestTill::start().await;

    let sale_id = till.pay(basket()).await;
    till.send(tender(TenderKind::Cash, 10_000));
    till.wait_for("rest for Vipps", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { amount: 2_900, .. })
    })
    .await;
    let reference = till.customer_scans_and_approves().await;

    let p = till.env.ledger(&reference).await;
    assert_eq!(p.amount.value, 2_900);
    assert_eq!(p.aggregate.captured_amount.value, 2_900);
    // The receipt lines add up to the whole sale: not sent for a part payment.
    assert!(p.receipt.is_none());

    let store = till.env.store();
    assert_eq!(
        store.get_sale(sale_id).unwrap().unwrap().state,
        SaleState::Completed
    );
    let parts: Vec<_> = store
        .tenders_of_sale(sale_id)
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.amount))
        .collect();
    assert_eq!(
        parts,
        vec![(TenderKind::Cash, 10_000), (TenderKind::Vipps, 2_900)]
    );
    let x = store.take_x_report("demo1", Currency::Nok, None).unwrap();
    assert_eq!((x.sales.count, x.sales.amount), (1, 12_900));
    let by: Vec<_> = x.by_tender.iter().map(|t| (t.tender, t.amount)).collect();
    assert_eq!(
        by,
        vec![(TenderKind::Cash, 10_000), (TenderKind::Vipps, 2_900)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_vipps_part_keeps_the_cash_and_cancelling_gives_it_back() {
    let env = Env::start().await;
    let store = env.store();
    store
        .record_cash_movement(CashMovementKind::Float, 50_000, None, None)
        .unwrap();
    let mut till = TestTill::on(env).await;

    let sale_id = till.pay(basket()).await;
    till.send(tender(TenderKind::Cash, 5_000));
    till.wait_for("rest for Vipps", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { amount: 7_900, .. })
    })
    .await;
    let reference = till.scan().await;
    till.env.demo.phone.decline(&reference).await.unwrap();
    till.wait_for("declined", |e| matches!(e, EngineEvent::Declined { .. }))
        .await;
    // The cash part is kept while the sale is open.
    assert_eq!(store.expected_cash().unwrap(), 55_000);
    // A Z report now would close a day with a half-paid sale: refused.
    let refused = store
        .take_z_report("demo1", Currency::Nok, None)
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::Refused(m) if m.contains("in progress")),
        "{refused}"
    );

    till.send(Command::Cancel);
    let given = till
        .wait_for("given back", |e| matches!(e, EngineEvent::GivenBack { .. }))
        .await;
    assert_eq!(
        given,
        EngineEvent::GivenBack {
            sale_id,
            parts: vec![(TenderKind::Cash, 5_000)]
        }
    );
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    let rows: Vec<_> = store
        .tenders_of_sale(sale_id)
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.amount, t.purpose))
        .collect();
    assert_eq!(
        rows,
        vec![
            (TenderKind::Cash, 5_000, TenderPurpose::Payment),
            (TenderKind::Cash, -5_000, TenderPurpose::GivenBack)
        ]
    );
    assert_eq!(store.expected_cash().unwrap(), 50_000);
    let x = store.take_x_report("demo1", Currency::Nok, None).unwrap();
    assert_eq!(x.sales.count, 0);
    assert_eq!((x.given_back.count, x.given_back.amount), (1, 5_000));
    assert_eq!(x.opening_float, 50_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tenders_are_refused_and_record_nothing() {
    let mut till = TestTill::start().await;

    // No sale: nothing to pay.
    till.send(tender(TenderKind::Cash, 1_000));
    till.wait_for("not now", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::NotNow,
                ..
            }
        )
    })
    .await;

    let sale_id = till.pay(basket()).await;
    for bad in [
        tender(TenderKind::Card, 13_000),
        tender(TenderKind::Card, 0),
        tender(TenderKind::GiftCard, -5),
        tender(TenderKind::Cash, 1_000_000_000),
        tender(TenderKind::Vipps, 100),
    ] {
        till.send(bad.clone());
        till.wait_for("refused", |e| {
            matches!(
                e,
                EngineEvent::Problem {
                    message_id: MessageId::TenderRefused,
                    ..
                }
            )
        })
        .await;
    }
    let store = till.env.store();
    assert!(store.tenders_of_sale(sale_id).unwrap().is_empty());
    // A card for exactly the total with the terminal's reference completes the sale.
    till.send(Command::Tender {
        tender: TenderKind::Card,
        amount: 12_900,
        reference: Some(" T-0042 ".into()),
    });
    till.wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    let t = store.tenders_of_sale(sale_id).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].reference.as_deref(), Some("T-0042"));
    assert_eq!(store.expected_cash().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_cashiers_a_return_and_x_and_z_reports() {
    let env = Env::start().await;
    let store = env.store();
    let kari = store
        .add_cashier("Kari", kasse::core::cashier::Role::Cashier, "1234", None)
        .unwrap();
    let boss = store
        .add_cashier("Mona", kasse::core::cashier::Role::Manager, "9876", None)
        .unwrap();
    // A cashier may not put in the float or take a Z report; a manager may.
    assert!(matches!(
        store.record_cash_movement(CashMovementKind::Float, 100_000, None, Some(kari.id)),
        Err(StoreError::Refused(_))
    ));
    store
        .record_cash_movement(CashMovementKind::Float, 100_000, None, Some(boss.id))
        .unwrap();
    store.log_in(kari.id, "1234").unwrap();

    let mut till = TestTill::on(env).await;
    till.send(Command::SetCashier {
        cashier_id: Some(kari.id),
    });

    // Sale 1: cash 150.00 for 129.00.
    let s1 = till.pay(basket()).await;
    till.send(tender(TenderKind::Cash, 15_000));
    till.wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    // Sale 2: all Vipps.
    let s2 = till.pay(basket()).await;
    till.customer_scans_and_approves().await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    // Return 15.00 (one bread) of sale 2 to Vipps.
    till.send(Command::Refund {
        sale_id: s2,
        amount: 1_500,
    });
    till.wait_for("refunded", |e| matches!(e, EngineEvent::RefundDone { .. }))
        .await;
    // A pay-out with its reason, a drawer opening without a sale.
    store
        .record_cash_movement(CashMovementKind::PayOut, 2_000, Some("milk"), Some(boss.id))
        .unwrap();
    store
        .record_drawer_opening(kasse::store::day::DrawerReason::NoSale, None, Some(boss.id))
        .unwrap();

    let x = store
        .take_x_report("demo1", Currency::Nok, Some(kari.id))
        .unwrap();
    assert_eq!(x.kind, ReportKind::X);
    assert_eq!((x.sales.count, x.sales.amount), (2, 25_800));
    let by: Vec<_> = x
        .by_tender
        .iter()
        .map(|t| (t.tender, t.count, t.amount))
        .collect();
    assert_eq!(
        by,
        vec![
            (TenderKind::Cash, 1, 12_900),
            (TenderKind::Vipps, 1, 12_900)
        ]
    );
    // VAT by rate: per sale 99.00 at 25 % (79.20 + 19.80) and 30.00 at 15 % (26.09 + 3.91).
    let vat: Vec<_> = x
        .by_vat
        .iter()
        .map(|v| (v.rate_bp, v.basis, v.vat))
        .collect();
    assert_eq!(vat, vec![(2500, 15_840, 3_960), (1500, 5_218, 782)]);
    assert_eq!((x.returns.count, x.returns.amount), (1, 1_500));
    assert_eq!(x.opening_float, 100_000);
    assert_eq!((x.pay_outs.count, x.pay_outs.amount), (1, 2_000));
    assert_eq!(x.expected_cash, 100_000 + 12_900 - 2_000);
    assert_eq!(x.drawer_openings_without_sale, 1);
    assert_eq!(x.by_cashier.len(), 1);
    assert_eq!(x.by_cashier[0].name, "Kari");
    assert_eq!(x.by_cashier[0].sales.count, 2);
    assert_eq!(x.grand_total_net, 25_800 - 1_500);
    assert_eq!(x.taken_by.as_deref(), Some("Kari"));
    let sale = store.get_sale(s1).unwrap().unwrap();
    assert_eq!(sale.state, SaleState::Completed);
    // The receipt names the cashier and shows the cash handed over and the change.
    let origin = kasse::print::source::Origin {
        till_id: "demo1".into(),
        shop: kasse::core::receipt_doc::ShopInfo::default(),
    };
    let data = kasse::print::source::receipt_data(&store, &origin, s1, None).unwrap();
    assert_eq!(data.cashier.as_deref(), Some("Kari"));
    assert_eq!(data.tenders.len(), 1);
    assert_eq!(
        (
            data.tenders[0].kind,
            data.tenders[0].tendered,
            data.tenders[0].change
        ),
        (TenderKind::Cash, Some(15_000), Some(2_100))
    );

    // The cashier may not close the day; the manager counts the cash and does.
    assert!(matches!(
        store.take_z_report("demo1", Currency::Nok, Some(kari.id)),
        Err(StoreError::Refused(_))
    ));
    let count = store.record_cash_count(110_800, Some(boss.id)).unwrap();
    assert_eq!(count.difference, 110_800 - 110_900);
    let z = store
        .take_z_report("demo1", Currency::Nok, Some(boss.id))
        .unwrap();
    assert_eq!(z.z_nr, Some(1));
    assert_eq!(z.sales, x.sales);
    assert_eq!(z.cash_difference, Some(-100));
    assert_eq!(store.z_report(1).unwrap().unwrap(), z);
    // Once per day.
    let again = store
        .take_z_report("demo1", Currency::Nok, Some(boss.id))
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Refused(m) if m.contains("already")),
        "{again}"
    );
    // The next period starts empty, with the grand totals carried.
    let next = store.take_x_report("demo1", Currency::Nok, None).unwrap();
    assert_eq!(next.period, 2);
    assert_eq!(next.sales.count, 0);
    assert_eq!(next.expected_cash, 0);
    assert_eq!(next.grand_total_sales, 25_800);
    assert_eq!(next.grand_total_returns, 1_500);
    // Both reports are in the journal whole.
    let z_json: String = store
        .conn()
        .query_row(
            "SELECT payload FROM journal WHERE kind = 'z_report' AND event_code = 13009",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let journalled: kasse::core::report::Report = serde_json::from_str(&z_json).unwrap();
    assert_eq!(journalled, z);
    store.verify_journal().unwrap();
}

#[test]
fn wrong_pins_lock_a_cashier_out() {
    let store = kasse::store::Store::open_in_memory().unwrap();
    let c = store
        .add_cashier("Ola", kasse::core::cashier::Role::Cashier, "2468", None)
        .unwrap();
    for n in 1..=4 {
        let e = store.log_in(c.id, "0000").unwrap_err();
        assert!(e.to_string().contains("wrong PIN"), "{n}: {e}");
    }
    let e = store.log_in(c.id, "0000").unwrap_err();
    assert!(e.to_string().contains("locked"), "{e}");
    // Even the right PIN waits for the lock-out to pass.
    let e = store.log_in(c.id, "2468").unwrap_err();
    assert!(e.to_string().contains("locked"), "{e}");
    assert!(store.log_in(999, "2468").is_err());
    store.disable_cashier(c.id, None).unwrap();
    let listed = store.cashiers().unwrap();
    assert!(!listed[0].active);
    // The PIN is never stored in clear, nor journalled.
    let hash: String = store
        .conn()
        .query_row("SELECT pin_hash FROM cashier", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2"));
    let journal: String = store
        .conn()
        .query_row("SELECT group_concat(payload) FROM journal", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!journal.contains("2468") && !journal.contains("0000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_of_lines_go_back_to_their_tender_and_are_signed() {
    let mut till = TestTill::start().await;
    let store = till.env.store();

    // A cash sale and a Vipps sale of the same basket (T-shirt 99.00, 2 × bread 15.00).
    let cash_sale = till.pay(basket()).await;
    till.send(tender(TenderKind::Cash, 12_900));
    till.wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    let vipps_sale = till.pay(basket()).await;
    let reference = till.customer_scans_and_approves().await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    let ret = |sale_id: i64, position: i64, quantity: i64| Command::Return {
        sale_id,
        lines: vec![kasse::store::returns::ReturnLine { position, quantity }],
        to: None,
    };
    // One bread back in cash, out of the drawer.
    till.send(ret(cash_sale, 1, 1));
    let done = till
        .wait_for("return done", |e| {
            matches!(
                e,
                EngineEvent::ReturnDone { .. } | EngineEvent::ReturnFailed { .. }
            )
        })
        .await;
    let EngineEvent::ReturnDone {
        return_id,
        amount: 1_500,
        tender: TenderKind::Cash,
        ..
    } = done
    else {
        panic!("{done:?}")
    };
    assert_eq!(store.expected_cash().unwrap(), 12_900 - 1_500);
    let signed = store
        .signed_till_return(return_id)
        .unwrap()
        .expect("signed");
    assert_eq!(signed.amount_in, -1_500);
    // Half of the line's 26.09 excluding VAT, rounded half away; the second bread gets 13.04.
    assert_eq!(signed.amount_ex, -1_305);
    assert_eq!(signed.trans_type, 11006);
    // Two more breads than are left: refused, nothing recorded.
    till.send(ret(cash_sale, 1, 2));
    let refused = till
        .wait_for("refused", |e| matches!(e, EngineEvent::ReturnFailed { .. }))
        .await;
    let EngineEvent::ReturnFailed {
        message_id: MessageId::ReturnRefused,
        detail: Some(why),
        ..
    } = refused
    else {
        panic!("{refused:?}")
    };
    assert!(why.contains("1 already returned"), "{why}");
    // The last bread takes what is left of the line: the two returns add up to it.
    till.send(ret(cash_sale, 1, 1));
    till.wait_for("second return", |e| {
        matches!(e, EngineEvent::ReturnDone { amount: 1_500, .. })
    })
    .await;

    // The T-shirt of the Vipps sale goes back to Vipps by a refund.
    till.send(ret(vipps_sale, 0, 1));
    till.wait_for("vipps return", |e| {
        matches!(
            e,
            EngineEvent::ReturnDone {
                amount: 9_900,
                tender: TenderKind::Vipps,
                ..
            }
        )
    })
    .await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.aggregate.refunded_amount.value, 9_900);
    let state: String = store
        .conn()
        .query_row(
            "SELECT state FROM sale_return WHERE sale_id = ?1",
            [vipps_sale],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "done");

    let x = store.take_x_report("demo1", Currency::Nok, None).unwrap();
    assert_eq!(
        (x.returns.count, x.returns.amount),
        (3, 1_500 + 1_500 + 9_900)
    );
    let by: Vec<_> = x
        .returns_by_tender
        .iter()
        .map(|t| (t.tender, t.amount))
        .collect();
    assert_eq!(
        by,
        vec![(TenderKind::Cash, 3_000), (TenderKind::Vipps, 9_900)]
    );
    assert_eq!(store.sale_of_receipt(1).unwrap(), Some(cash_sale));
    store.verify_journal().unwrap();
    // The signature chain holds across sales and returns.
    let verdict = kasse::compliance::verify::verify(&store, None).unwrap();
    let kasse::compliance::verify::Verdict::Intact(report) = verdict else {
        panic!("{verdict:?}")
    };
    // Two sales and three returns, one chain.
    assert_eq!(report.registers[0].transactions, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_vipps_part_in_the_app_gives_the_cash_back() {
    let mut till = TestTill::start().await;
    let sale_id = till.pay(basket()).await;
    till.send(tender(TenderKind::Cash, 5_000));
    till.wait_for("rest for Vipps", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { amount: 7_900, .. })
    })
    .await;
    assert!(till.env.demo.phone.scan().await.unwrap());
    till.requested().await;
    // The request is in the customer's app; the cashier cancels the sale.
    till.send(Command::Cancel);
    let given = till
        .wait_for("given back", |e| matches!(e, EngineEvent::GivenBack { .. }))
        .await;
    assert_eq!(
        given,
        EngineEvent::GivenBack {
            sale_id,
            parts: vec![(TenderKind::Cash, 5_000)]
        }
    );
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    let store = till.env.store();
    assert_eq!(store.expected_cash().unwrap(), 0);
    assert_ledger_settled(&till.env.ledger_all().await);
    // Nothing holds the day open.
    store.take_z_report("demo1", Currency::Nok, None).unwrap();
}
