//! Training mode through the engine: a manager switches it on (13023) and off (13024); the
//! sales made meanwhile are numbered from their own series, never signed, print a training
//! receipt, and X/Z count them apart from the takings (grand totals and expected cash too).
//! Z, returns and cash movements are refused while it is on.

use crate::engine_support::*;
use kasse::core::cashier::Role;
use kasse::core::money::Currency;
use kasse::core::receipt_doc::DocKind;
use kasse::core::tender::TenderKind;
use kasse::engine::EngineEvent;
use kasse::print::queue::{self, Request, Target};
use kasse::store::StoreError;
use kasse::store::day::CashMovementKind;
use kasse::store::returns::ReturnLine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_sales_are_numbered_apart_unsigned_and_out_of_the_takings() {
    let env = Env::start().await;
    let store = env.store();
    let boss = store
        .add_cashier("Manager", Role::Manager, "9876", None)
        .unwrap();
    let clerk = store
        .add_cashier("Clerk", Role::Cashier, "1234", None)
        .unwrap();
    store
        .record_cash_movement(CashMovementKind::Float, 50_000, None, Some(boss.id))
        .unwrap();
    let mut till = TestTill::on(env).await;

    // A real cash sale first.
    let real = till.pay(one_item(10_000)).await;
    till.send(tender(TenderKind::Cash, 10_000));
    till.wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    // Only a manager switches training mode on; switching twice changes nothing.
    assert!(matches!(
        store.set_training_mode(true, Some(clerk.id)),
        Err(StoreError::Refused(_))
    ));
    assert!(store.set_training_mode(true, Some(boss.id)).unwrap());
    assert!(!store.set_training_mode(true, Some(boss.id)).unwrap());
    assert!(store.training_mode().unwrap().is_some());

    // Two training sales: cash, then Vipps against the simulator (no real money there).
    let t1 = till.pay(one_item(4_000)).await;
    till.send(tender(TenderKind::Cash, 5_000));
    till.wait_for("paid", |e| matches!(e, EngineEvent::Paid { .. }))
        .await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    let t2 = till.pay(one_item(2_500)).await;
    till.customer_scans_and_approves().await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    // Refused while training: Z, cash movements, returns (of a real or a training sale).
    for refused in [
        store
            .take_z_report("demo1", Currency::Nok, Some(boss.id))
            .map(|_| ()),
        store.record_cash_movement(CashMovementKind::PayIn, 1_000, None, Some(boss.id)),
        store.record_cash_count(60_000, Some(boss.id)).map(|_| ()),
    ] {
        match refused {
            Err(StoreError::Refused(why)) => assert!(why.contains("training mode"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let line = store.returnable_lines(real).unwrap()[0].position;
    let one = [ReturnLine {
        position: line,
        quantity: 1,
    }];
    assert!(matches!(
        store.begin_return(real, &one, Some(TenderKind::Cash), Some(boss.id)),
        Err(StoreError::Refused(_))
    ));

    // An X report in training mode shows the training sales apart.
    let x = store
        .take_x_report("demo1", Currency::Nok, Some(boss.id))
        .unwrap();
    assert_eq!((x.sales.count, x.sales.amount), (1, 10_000));
    assert_eq!(
        (x.training_sales.count, x.training_sales.amount),
        (2, 6_500)
    );
    let by: Vec<_> = x.by_tender.iter().map(|t| (t.tender, t.amount)).collect();
    assert_eq!(by, vec![(TenderKind::Cash, 10_000)]);
    let vat_basis: i64 = x.by_vat.iter().map(|v| v.basis + v.vat).sum();
    assert_eq!(vat_basis, 10_000);
    // The float and the real sale's cash; the training cash is practice money.
    assert_eq!(x.expected_cash, 60_000);
    assert_eq!(store.expected_cash().unwrap(), 60_000);

    assert!(store.set_training_mode(false, Some(boss.id)).unwrap());
    assert!(store.training_mode().unwrap().is_none());

    // Numbers: the real sale is signed (nr 1); the training sales take T-series 1 and 2 and
    // are never signed.
    assert_eq!(store.signed_sale(real).unwrap().unwrap().nr, 1);
    for (sale, nr) in [(t1, 1), (t2, 2)] {
        let s = store.get_sale(sale).unwrap().unwrap();
        assert!(s.training);
        assert_eq!(s.training_nr, Some(nr));
        assert!(store.signed_sale(sale).unwrap().is_none());
    }
    // A training sale cannot be returned, even after training mode ended.
    let t_line = store.returnable_lines(t1).unwrap()[0].position;
    match store.begin_return(
        t1,
        &[ReturnLine {
            position: t_line,
            quantity: 1,
        }],
        Some(TenderKind::Cash),
        Some(boss.id),
    ) {
        Err(StoreError::Refused(why)) => assert!(why.contains("training sale"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A training sale's receipt is a training receipt, as often as asked.
    for _ in 0..2 {
        let job = queue::plan(&store, t1, Request::Receipt, Target::Pdf).unwrap();
        assert_eq!(job.kind, DocKind::Training);
    }
    assert_eq!(
        queue::plan(&store, real, Request::Receipt, Target::Pdf)
            .unwrap()
            .kind,
        DocKind::Sales
    );

    // The Z after training: takings and grand totals without the training sales.
    let z = store
        .take_z_report("demo1", Currency::Nok, Some(boss.id))
        .unwrap();
    assert_eq!((z.sales.count, z.sales.amount), (1, 10_000));
    assert_eq!(
        (z.training_sales.count, z.training_sales.amount),
        (2, 6_500)
    );
    assert_eq!(z.grand_total_sales, 10_000);

    // The journal: on, off, each training sale concluded with its number; still verifies.
    let rows = store.journal_since(0, 10_000).unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "training_mode_on").count(),
        1
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "training_mode_off").count(),
        1
    );
    let concluded: Vec<i64> = rows
        .iter()
        .filter(|r| r.kind == "training_sale_concluded")
        .map(|r| r.payload["training_nr"].as_i64().unwrap())
        .collect();
    assert_eq!(concluded, vec![1, 2]);
    let codes: Vec<u16> = rows
        .iter()
        .filter(|r| r.kind.starts_with("training_mode"))
        .filter_map(|r| r.codes.and_then(|c| c.event))
        .map(|c| c.0)
        .collect();
    assert_eq!(codes, vec![13023, 13024]);
    store.verify_journal().unwrap();
}
