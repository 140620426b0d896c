//! Catalogue, sales, payment attempts, refunds and history against a real
//! SQLite database.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kasse::core::basket::{Basket, BasketError, Discount};
use kasse::core::catalog::{Item, Unit};
use kasse::core::money::Currency;
use kasse::core::sale::SaleState;
use kasse::core::vat::VatRate;
use kasse::store::{NewAttempt, PaymentAmounts, RefundState, Store, StoreError, kind};

/// 2026-03-02 10:00:00 UTC.
const T0: i64 = 1_772_445_600_000;

fn store_at(clock: &Arc<AtomicI64>) -> Store {
    let c = clock.clone();
    Store::open_in_memory()
        .unwrap()
        .with_clock(Arc::new(move || c.load(Ordering::SeqCst)))
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
    let clock = Arc::new(AtomicI64::new(T0));
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
    let clock = Arc::new(AtomicI64::new(T0));
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

#[test]
fn payment_attempt_lifecycle_with_intents_and_refunds() {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = store_at(&clock);
    let (sale_id, basket) = frozen_sale(&store);
    let total = basket.totals().total;

    let a = store
        .create_attempt(&NewAttempt {
            sale_id,
            reference: "till1-abc-1-1",
            flow: "customer_token",
            create_key: "till1-abc-1-1-create",
        })
        .unwrap();
    assert_eq!(
        (a.attempt, a.amount, a.state),
        (1, total, SaleState::PaymentRequested)
    );
    assert_eq!(a.currency, Currency::Nok);
    assert_eq!(
        store.get_sale(sale_id).unwrap().unwrap().state,
        SaleState::PaymentRequested
    );
    // A second attempt while one is in flight is refused.
    assert!(matches!(
        store.create_attempt(&NewAttempt {
            sale_id,
            reference: "till1-abc-1-2",
            flow: "customer_token",
            create_key: "k2",
        }),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.unfinished_attempts().unwrap().len(), 1);

    clock.store(T0 + 10_000, Ordering::SeqCst);
    store
        .set_attempt_state(a.id, SaleState::Authorized, None)
        .unwrap();
    store
        .set_attempt_amounts(
            a.id,
            PaymentAmounts {
                authorized: total,
                ..Default::default()
            },
            Some("psp-1"),
        )
        .unwrap();
    let a = store
        .record_capture_intent(a.id, "till1-abc-1-1-capture-1", total)
        .unwrap();
    assert_eq!(a.state, SaleState::Capturing);
    assert_eq!(a.capture_key.as_deref(), Some("till1-abc-1-1-capture-1"));
    // Same intent again: no-op; a different one: conflict.
    store
        .record_capture_intent(a.id, "till1-abc-1-1-capture-1", total)
        .unwrap();
    assert!(matches!(
        store.record_capture_intent(a.id, "other", total),
        Err(StoreError::Conflict(_))
    ));
    store
        .set_attempt_amounts(
            a.id,
            PaymentAmounts {
                authorized: total,
                captured: total,
                ..Default::default()
            },
            None,
        )
        .unwrap();
    let a = store
        .set_attempt_state(a.id, SaleState::Completed, None)
        .unwrap();
    assert_eq!(a.psp_reference.as_deref(), Some("psp-1"));
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    assert_eq!(sale.state, SaleState::Completed);
    assert_eq!(sale.completed_ms, Some(T0 + 10_000));
    assert!(store.unfinished_attempts().unwrap().is_empty());
    assert_eq!(
        store
            .attempt_by_reference("till1-abc-1-1")
            .unwrap()
            .unwrap()
            .id,
        a.id
    );

    // Refunds: never more than captured minus refunds not failed.
    let r1 = store
        .create_refund(a.id, 1000, "till1-abc-1-1-refund-1")
        .unwrap();
    assert_eq!((r1.seq, r1.state), (1, RefundState::Requested));
    assert!(matches!(
        store.create_refund(a.id, total - 999, "till1-abc-1-1-refund-2"),
        Err(StoreError::RefundTooLarge { available, .. }) if available == total - 1000
    ));
    store
        .set_refund_state(r1.id, RefundState::Failed, Some("6150"))
        .unwrap();
    let r2 = store
        .create_refund(a.id, total, "till1-abc-1-1-refund-2")
        .unwrap();
    assert_eq!(r2.seq, 2);
    store
        .set_refund_state(r2.id, RefundState::Done, None)
        .unwrap();
    assert!(matches!(
        store.set_refund_state(r2.id, RefundState::Failed, None),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_refund(a.id, 1, "till1-abc-1-1-refund-3"),
        Err(StoreError::RefundTooLarge { available: 0, .. })
    ));
    let refunds = store.refunds_for_sale(sale_id).unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[0].last_error.as_deref(), Some("6150"));

    let kinds = journal_kinds(&store);
    for expected in [
        kind::SALE_FROZEN,
        kind::PAYMENT_REQUESTED,
        kind::PAYMENT_AUTHORIZED,
        kind::CAPTURE_REQUESTED,
        kind::PAYMENT_CAPTURED,
        kind::REFUND_REQUESTED,
        kind::REFUND_FAILED,
        kind::REFUND_DONE,
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} in {kinds:?}"
        );
    }
    store.verify_journal().unwrap();
}

#[test]
fn retry_after_decline_is_a_new_attempt_and_cancel_keeps_its_key() {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = store_at(&clock);
    let (sale_id, _) = frozen_sale(&store);
    let first = store
        .create_attempt(&NewAttempt {
            sale_id,
            reference: "till1-abc-2-1",
            flow: "customer_token",
            create_key: "till1-abc-2-1-create",
        })
        .unwrap();
    store
        .set_attempt_state(first.id, SaleState::Declined, Some("customer declined"))
        .unwrap();
    // Retry: the engine moves the sale back to AwaitingCheckIn.
    store
        .set_sale_state(sale_id, SaleState::AwaitingCheckIn)
        .unwrap();
    // Reusing the old reference is refused.
    assert!(matches!(
        store.create_attempt(&NewAttempt {
            sale_id,
            reference: "till1-abc-2-1",
            flow: "phone",
            create_key: "x",
        }),
        Err(StoreError::Conflict(_))
    ));
    let second = store
        .create_attempt(&NewAttempt {
            sale_id,
            reference: "till1-abc-2-2",
            flow: "phone",
            create_key: "till1-abc-2-2-create",
        })
        .unwrap();
    assert_eq!(second.attempt, 2);
    let cancelling = store
        .record_cancel_intent(second.id, "till1-abc-2-2-cancel-1")
        .unwrap();
    assert_eq!(cancelling.state, SaleState::Cancelling);
    store
        .record_cancel_intent(second.id, "till1-abc-2-2-cancel-1")
        .unwrap();
    store
        .set_attempt_state(second.id, SaleState::Cancelled, None)
        .unwrap();
    let attempts = store.attempts_for_sale(sale_id).unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].last_error.as_deref(), Some("customer declined"));
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().attempts, 2);
    store.verify_journal().unwrap();
}

#[test]
fn history_lists_todays_sales_with_status() {
    let clock = Arc::new(AtomicI64::new(T0 - 24 * 3_600_000));
    let store = store_at(&clock);
    let (yesterday, _) = frozen_sale(&store);
    clock.store(T0, Ordering::SeqCst);
    let (first, _) = frozen_sale(&store);
    clock.store(T0 + 60_000, Ordering::SeqCst);
    let (second, basket) = frozen_sale(&store);
    store
        .create_attempt(&NewAttempt {
            sale_id: second,
            reference: "till1-abc-9-1",
            flow: "customer_token",
            create_key: "k-9-1",
        })
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
    clock.store(T0 + 14 * 3_600_000, Ordering::SeqCst);
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
