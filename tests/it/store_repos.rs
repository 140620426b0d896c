//! Catalogue, sales, payment attempts, refunds and history against a real
//! SQLite database.

use kasse::clock::ManualClock;

use kasse::core::basket::{Basket, BasketError, Discount};
use kasse::core::catalog::{Item, Unit};
use kasse::core::money::Currency;
use kasse::core::payment::{AttemptStatus, CustomerKind, Decision, Intent, OpKind, OpStatus};
use kasse::core::sale::SaleState;
use kasse::core::vat::VatRate;
use kasse::store::attempts::{self as pay, AttemptRow};
use kasse::store::{Store, StoreError, kind};

/// 2026-03-02 10:00:00 UTC.
const T0: i64 = 1_772_445_600_000;

fn store_at(clock: &ManualClock) -> Store {
    Store::open_in_memory().unwrap().with_clock(clock.clock())
}

fn items() -> Vec<Item> {
    vec![
        Item::new("kaffe", "Kaffe", 3500, VatRate::NO_FOOD)
            .with_barcode("7038010000737")
            .with_category("Drikke"),
        Item::new("pose", "Bærepose", 300, VatRate::NO_STANDARD)
            .with_barcode("2000000000015")
            .with_barcode("2000000000022"),
        Item::new("epler", "Epler", 3990, VatRate::NO_FOOD).with_unit(Unit::Kg),
    ]
}

fn journal_kinds(store: &Store) -> Vec<String> {
    store
        .journal_since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn catalogue_crud_and_bulk_replace_is_all_or_nothing() {
    let clock = ManualClock::at_ms(T0);
    let store = store_at(&clock);
    store.replace_catalog(&items()).unwrap();
    assert_eq!(store.list_items().unwrap(), items());
    let catalog = store.load_catalog().unwrap();
    assert_eq!(catalog.by_barcode("2000000000022").unwrap().id, "pose");

    // Update keeps the position, a new item goes last.
    let dearer =
        Item::new("kaffe", "Kaffe stor", 4200, VatRate::NO_FOOD).with_barcode("7038010000737");
    store.save_item(&dearer).unwrap();
    store
        .save_item(&Item::new("te", "Te", 2500, VatRate::NO_FOOD))
        .unwrap();
    let ids: Vec<String> = store
        .list_items()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["kaffe", "pose", "epler", "te"]);
    assert_eq!(store.get_item("kaffe").unwrap().unwrap(), dearer);
    assert_eq!(store.get_item("nope").unwrap(), None);

    // A barcode owned by another item is a conflict and changes nothing.
    let thief = Item::new("te", "Te", 2500, VatRate::NO_FOOD).with_barcode("2000000000015");
    assert!(matches!(
        store.save_item(&thief),
        Err(StoreError::Conflict(_))
    ));
    assert!(store.get_item("te").unwrap().unwrap().barcodes.is_empty());

    store.delete_item("te").unwrap();
    assert!(matches!(
        store.delete_item("te"),
        Err(StoreError::NotFound(_))
    ));

    // A bad import (duplicate barcode in the new set) leaves the old catalogue intact.
    let before = store.list_items().unwrap();
    let mut bad = items();
    bad.push(Item::new("x", "X", 100, VatRate::ZERO).with_barcode("7038010000737"));
    assert!(matches!(
        store.replace_catalog(&bad),
        Err(StoreError::Catalog(_))
    ));
    let mut negative = items();
    negative[1].unit_price = -5;
    assert!(store.replace_catalog(&negative).is_err());
    assert_eq!(store.list_items().unwrap(), before);

    store.replace_catalog(&items()[..1]).unwrap();
    assert_eq!(store.list_items().unwrap().len(), 1);
    let kinds = journal_kinds(&store);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some(kind::CATALOG_REPLACED)
    );
    assert!(kinds.contains(&kind::CATALOG_ITEM_DELETED.to_string()));
    store.verify_journal().unwrap();
}

fn frozen_sale(store: &Store) -> (i64, Basket) {
    store.replace_catalog(&items()).unwrap();
    let catalog = store.load_catalog().unwrap();
    let mut basket = Basket::new(Currency::Nok);
    let kaffe = basket.add_by_barcode(&catalog, "7038010000737").unwrap();
    basket.set_quantity(kaffe, 2).unwrap();
    basket.add_by_id(&catalog, "pose").unwrap();
    basket
        .add_weighed(catalog.by_id("epler").unwrap(), 350)
        .unwrap();
    basket
        .set_line_discount(kaffe, Discount::Percent(1000))
        .unwrap();
    basket.set_basket_discount(Discount::Amount(97)).unwrap();
    let sale_id = store.freeze_sale(&basket).unwrap();
    (sale_id, basket)
}

#[test]
fn freezing_a_basket_stores_sale_lines_and_receipt() {
    let clock = ManualClock::at_ms(T0);
    let store = store_at(&clock);
    let (sale_id, basket) = frozen_sale(&store);
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    let totals = basket.totals();
    assert_eq!(sale.state, SaleState::AwaitingCheckIn);
    assert_eq!(
        (sale.total, sale.tax, sale.excluding_tax, sale.discount),
        (
            totals.total,
            totals.tax,
            totals.excluding_tax,
            totals.discount
        )
    );
    assert_eq!(sale.basket, basket);
    assert_eq!(sale.receipt.lines.len(), 3);
    assert_eq!(sale.receipt.lines[2].quantity, "0.350");
    assert_eq!(sale.created_ms, T0);
    let (line_sum, line_count): (i64, i64) = store
        .conn()
        .query_row(
            "SELECT sum(total), count(*) FROM sale_line WHERE sale_id = ?1",
            [sale_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((line_sum, line_count), (sale.total, 3));
    let frozen = store.journal_since(0, 100).unwrap();
    let entry = frozen.iter().find(|e| e.kind == kind::SALE_FROZEN).unwrap();
    assert_eq!(entry.payload["sale_id"], sale_id);
    assert_eq!(entry.payload["receipt"]["total"], sale.total);

    // Empty and below-minimum baskets are refused.
    assert!(matches!(
        store.freeze_sale(&Basket::new(Currency::Nok)),
        Err(StoreError::Basket(BasketError::Empty))
    ));

    // Back to basket, edit, freeze again into the same sale.
    assert!(matches!(
        store.refreeze_sale(sale_id, &basket),
        Err(StoreError::Conflict(_))
    ));
    store.set_sale_state(sale_id, SaleState::Open).unwrap();
    let mut smaller = basket.clone();
    let first = smaller.lines()[0].id;
    smaller.remove(first).unwrap();
    store.refreeze_sale(sale_id, &smaller).unwrap();
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    assert_eq!(sale.state, SaleState::AwaitingCheckIn);
    assert_eq!(sale.total, smaller.totals().total);
    assert_eq!(sale.receipt.lines.len(), 2);
    store.verify_journal().unwrap();
}

/// A new attempt on `sale_id` with the reference `<prefix>-<id>` and its create intent.
fn attempt_with_create(
    conn: &rusqlite::Connection,
    sale_id: i64,
    total: i64,
    kind: CustomerKind,
) -> (AttemptRow, i64) {
    let a = pay::insert_attempt(conn, sale_id, total, "NOK", kind, None, None, T0, |id| {
        Ok(format!("till1-abc-{sale_id}-{id}"))
    })
    .unwrap();
    let key = format!("{}-create", a.reference);
    let op = pay::insert_operation(conn, a.id, OpKind::Create, 1, &key, total, T0).unwrap();
    (a, op.id)
}

#[test]
fn payment_attempt_lifecycle_with_intents_and_refunds() {
    let clock = ManualClock::at_ms(T0);
    let store = store_at(&clock);
    let (sale_id, basket) = frozen_sale(&store);
    let total = basket.totals().total;
    let c = store.conn();

    let (a, create) = attempt_with_create(c, sale_id, total, CustomerKind::Token);
    assert_eq!(
        (a.amount, a.status, a.decision),
        (total, AttemptStatus::Creating, None)
    );
    assert_eq!(a.currency, "NOK");
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().attempts, 1);
    // A reference and an idempotency key are never used twice.
    // (In a transaction, as the engine does: the refused insert leaves nothing behind.)
    let tx = c.unchecked_transaction().unwrap();
    assert!(
        pay::insert_attempt(
            &tx,
            sale_id,
            total,
            "NOK",
            CustomerKind::Token,
            None,
            None,
            T0,
            |_| { Ok(a.reference.clone()) }
        )
        .is_err()
    );
    drop(tx);
    let key = format!("{}-create", a.reference);
    assert!(pay::insert_operation(c, a.id, OpKind::Create, 2, &key, total, T0).is_err());
    assert_eq!(pay::attempts_needing_reconcile(c).unwrap().len(), 1);
    // Statuses are checked by the database too.
    assert!(
        c.execute(
            "UPDATE payment_attempt SET status = 'capture' WHERE id = ?1",
            [a.id]
        )
        .is_err()
    );

    clock.set_ms(T0 + 10_000);
    pay::finish_operation(c, create, OpStatus::Succeeded, Some(201), None, None, T0).unwrap();
    pay::set_attempt_status(c, a.id, AttemptStatus::Authorized, T0).unwrap();
    pay::set_decision(c, a.id, Decision::Capture, T0).unwrap();
    let seq = pay::next_op_seq(c, a.id, OpKind::Capture).unwrap();
    assert_eq!(seq, 1);
    let capture_key = format!("{}-capture-1", a.reference);
    let capture =
        pay::insert_operation(c, a.id, OpKind::Capture, seq, &capture_key, total, T0).unwrap();
    let open = pay::open_operation(c, a.id, OpKind::Capture)
        .unwrap()
        .unwrap();
    assert_eq!(open.idempotency_key, capture_key);
    let facts = pay::stored_facts(c, &pay::attempt(c, a.id).unwrap().unwrap()).unwrap();
    assert_eq!(
        (facts.decision, facts.create, facts.capture),
        (Some(Decision::Capture), Intent::Succeeded, Intent::Unsent)
    );
    pay::mark_sent(c, capture.id, T0).unwrap();
    let facts = pay::stored_facts(c, &pay::attempt(c, a.id).unwrap().unwrap()).unwrap();
    assert_eq!(facts.capture, Intent::Open);
    pay::finish_operation(
        c,
        capture.id,
        OpStatus::Succeeded,
        Some(200),
        None,
        None,
        T0,
    )
    .unwrap();
    pay::record_vipps_view(
        c,
        a.id,
        "AUTHORIZED",
        pay::Amounts {
            authorized: total,
            captured: total,
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    pay::set_attempt_status(c, a.id, AttemptStatus::Completed, T0).unwrap();
    assert!(pay::attempts_needing_reconcile(c).unwrap().is_empty());
    let done = pay::attempt_by_reference(c, &a.reference).unwrap().unwrap();
    assert_eq!(
        (done.id, done.resolved, done.captured_amount),
        (a.id, true, total)
    );

    // Refunds: money promised back counts refunds still open; a rejected one does not.
    let r1 = pay::insert_operation(c, a.id, OpKind::Refund, 1, "r-1", 1000, T0).unwrap();
    assert_eq!(pay::refunds_committed(c, a.id).unwrap(), 1000);
    // An open refund makes the attempt need reconciliation again.
    assert_eq!(pay::attempts_needing_reconcile(c).unwrap().len(), 1);
    pay::finish_operation(
        c,
        r1.id,
        OpStatus::Rejected,
        Some(400),
        Some(6150),
        Some("6150"),
        T0,
    )
    .unwrap();
    assert_eq!(pay::refunds_committed(c, a.id).unwrap(), 0);
    assert_eq!(pay::next_op_seq(c, a.id, OpKind::Refund).unwrap(), 2);
    let r2 = pay::insert_operation(c, a.id, OpKind::Refund, 2, "r-2", total, T0).unwrap();
    pay::finish_operation(c, r2.id, OpStatus::Succeeded, Some(200), None, None, T0).unwrap();
    assert_eq!(pay::refunds_committed(c, a.id).unwrap(), total);
    let ops = pay::operations_of_attempt(c, a.id).unwrap();
    let refunds: Vec<_> = ops.iter().filter(|o| o.kind == OpKind::Refund).collect();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[0].detail.as_deref(), Some("6150"));
    assert_eq!(refunds[0].error_code, Some(6150));
    // The history shows the refunded amount.
    let today = store.sales_today(time::UtcOffset::UTC).unwrap();
    assert_eq!(today[0].reference.as_deref(), Some(a.reference.as_str()));
    store.verify_journal().unwrap();
}

#[test]
fn retry_after_decline_is_a_new_attempt_and_settling_closes_open_intents() {
    let clock = ManualClock::at_ms(T0);
    let store = store_at(&clock);
    let (sale_id, total) = {
        let (id, basket) = frozen_sale(&store);
        (id, basket.totals().total)
    };
    let c = store.conn();
    let (first, first_create) = attempt_with_create(c, sale_id, total, CustomerKind::Token);
    pay::finish_operation(
        c,
        first_create,
        OpStatus::Succeeded,
        Some(201),
        None,
        None,
        T0,
    )
    .unwrap();
    pay::set_attempt_status(c, first.id, AttemptStatus::Declined, T0).unwrap();
    pay::set_last_error(c, first.id, "customer declined", T0).unwrap();
    let (second, create) = attempt_with_create(c, sale_id, total, CustomerKind::Phone);
    assert_ne!(first.reference, second.reference);
    // The create body is kept for a re-send while the outcome is open, then forgotten.
    pay::set_request_body(c, create, r#"{"reference":"x"}"#).unwrap();
    assert_eq!(
        pay::request_body(c, create).unwrap().as_deref(),
        Some(r#"{"reference":"x"}"#)
    );
    pay::set_decision(c, second.id, Decision::Cancel, T0).unwrap();
    let cancel = pay::insert_operation(c, second.id, OpKind::Cancel, 1, "c-1", total, T0).unwrap();
    assert_eq!(
        pay::open_operation(c, second.id, OpKind::Cancel)
            .unwrap()
            .map(|o| o.id),
        Some(cancel.id)
    );
    pay::set_attempt_status(c, second.id, AttemptStatus::Cancelled, T0).unwrap();
    assert_eq!(pay::abandon_open_operations(c, second.id, T0).unwrap(), 2);
    pay::clear_request_bodies(c, second.id).unwrap();
    assert_eq!(pay::request_body(c, create).unwrap(), None);
    assert!(
        pay::operations_of_attempt(c, second.id)
            .unwrap()
            .iter()
            .all(|o| o.status == OpStatus::Abandoned)
    );
    let attempts = pay::attempts_of_sale(c, sale_id).unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].last_error.as_deref(), Some("customer declined"));
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().attempts, 2);
    assert!(pay::attempts_needing_reconcile(c).unwrap().is_empty());
    store.verify_journal().unwrap();
}

#[test]
fn history_lists_todays_sales_with_status() {
    let clock = ManualClock::at_ms(T0 - 24 * 3_600_000);
    let store = store_at(&clock);
    let (yesterday, _) = frozen_sale(&store);
    clock.set_ms(T0);
    let (first, _) = frozen_sale(&store);
    clock.set_ms(T0 + 60_000);
    let (second, basket) = frozen_sale(&store);
    pay::insert_attempt(
        store.conn(),
        second,
        basket.totals().total,
        "NOK",
        CustomerKind::Token,
        None,
        None,
        T0,
        |_| Ok("till1-abc-9-1".into()),
    )
    .unwrap();
    store
        .set_sale_state(second, SaleState::PaymentRequested)
        .unwrap();
    let today = store.sales_today(time::UtcOffset::UTC).unwrap();
    let ids: Vec<i64> = today.iter().map(|s| s.id).collect();
    assert_eq!(ids, [second, first], "newest first, yesterday excluded");
    assert_eq!(today[0].state, SaleState::PaymentRequested);
    assert_eq!(today[0].reference.as_deref(), Some("till1-abc-9-1"));
    assert_eq!(today[0].total, basket.totals().total);
    assert_eq!(today[1].state, SaleState::AwaitingCheckIn);
    assert_eq!(today[1].reference, None);
    // At midnight UTC nothing is sold "today" in UTC yet, but at UTC-10 it is
    // still 14:00 on the day both sales were made.
    clock.set_ms(T0 + 14 * 3_600_000);
    assert!(store.sales_today(time::UtcOffset::UTC).unwrap().is_empty());
    let hawaii = time::UtcOffset::from_hms(-10, 0, 0).unwrap();
    let ids: Vec<i64> = store
        .sales_today(hawaii)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [second, first]);
    let all = store.sales_between(0, i64::MAX).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].id, yesterday);
}
