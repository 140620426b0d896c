//! The till window end to end, headless: the real iced program with the real
//! engine, the in-process simulator and relay of demo mode, driven by clicks,
//! typing and the keys a barcode scanner sends. Outcomes are checked on the
//! screen and in the simulator's ledger.

#![cfg(feature = "gui")]

use crate::ui_common;
use crate::ui_common::{Harness, TillProgram};
use iced::keyboard::key::Named;
use kasse::ui::i18n::Arg;
use kasse::ui::screen::sale::{self, tile_id};
use kasse::ui::screen::{admin, history};

/// Demo catalogue: Kaffe 35,00 (15 %), Kanelbolle 39,00 (15 %), Termokopp
/// 199,00 (25 %); barcodes from `assets/demo-catalog.csv`.
const KAFFE: i64 = 3500;
const KANELBOLLE: i64 = 3900;
const TERMOKOPP: i64 = 19900;
const KAFFE_BARCODE: &str = "2000000000015";
const TERMOKOPP_BARCODE: &str = "2000000000145";

fn pay_label<P: TillProgram>(h: &Harness<P>, total: i64) -> String {
    h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(total)))])
}

#[test]
fn items_added_by_click_show_in_basket_with_total_and_vat() {
    let mut h = ui_common::demo();
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kopp"));
    let total = 2 * KAFFE + TERMOKOPP;
    assert!(h.has_text(&h.money(total)), "total {}", h.money(total));
    assert!(h.has_text(&pay_label(&h, total)));
    // VAT per rate: 25 % of the cup and 15 % of the coffee, each on its own line.
    let vat_25 = h.t_args(
        "sale-vat-line",
        &[
            ("rate", Arg::Str("25 %")),
            ("base", Arg::Str(&h.money(15920))),
        ],
    );
    assert!(h.has_text(&vat_25), "{vat_25}");
    assert!(h.has_text(&h.money(3980)), "25 % VAT of 199,00");
    let app = h.into_app();
    assert_eq!(app.basket().totals().total, total);
    assert_eq!(app.basket().lines().len(), 2);
}

#[test]
fn scanner_adds_items_through_the_global_listener_and_the_search_field() {
    let mut h = ui_common::demo();
    // A scanner typing while no field has focus: digits then Enter.
    h.scan(KAFFE_BARCODE);
    // A scanner typing into the focused search field.
    h.click_id(sale::SEARCH_ID);
    h.typewrite(TERMOKOPP_BARCODE);
    h.enter_in_field();
    // An unknown code is reported and adds nothing.
    h.scan("123456");
    let unknown = h.t_args("sale-unknown-barcode", &[("code", Arg::Str("123456"))]);
    assert!(h.has_text(&unknown), "{unknown}");
    let app = h.into_app();
    let names: Vec<&str> = app
        .basket()
        .lines()
        .iter()
        .map(|l| l.item.name.as_str())
        .collect();
    assert_eq!(names, ["Kaffe", "Termokopp"]);
    assert_eq!(app.basket().totals().total, KAFFE + TERMOKOPP);
}

#[test]
fn two_items_paid_through_the_demo_phone_end_on_the_receipt() {
    let mut h = ui_common::demo();
    h.wait_until("the till's QR", h_ready);
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kanelbolle"));
    let total = KAFFE + KANELBOLLE;
    h.click(&pay_label(&h, total));

    // Pay screen: the QR, the amount, the first step.
    h.wait_for_text(&h.t("pay-scan-hint"));
    assert!(h.has_text(&h.money(total)));
    assert!(h.has_text(&h.t("pay-step-waiting")));

    // The simulated customer scans, gets the request, approves.
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    assert!(h.has_text(&h.t("pay-step-request-sent")));
    h.click(&h.t("phone-approve"));

    // Receipt with the Vipps reference.
    h.wait_for_text(&h.t("receipt-new-sale"));
    let paid = h.t_args("receipt-paid", &[("amount", Arg::Str(&h.money(total)))]);
    assert!(h.has_text(&paid), "{paid}");

    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1, "one payment at Vipps");
    let payment = &ledger[0];
    assert_eq!(payment.amount.value, total);
    assert_eq!(payment.aggregate.captured_amount.value, total);
    assert_eq!(payment.counts.captures, 1);
    let reference = h.t_args(
        "receipt-reference",
        &[("reference", Arg::Str(&payment.reference))],
    );
    assert!(h.has_text(&reference), "{reference}");

    // Enter starts the next sale with an empty basket.
    h.named_key(Named::Enter);
    h.wait_for_text(&h.t("sale-basket-empty"));
    let app = h.into_app();
    assert!(app.basket().is_empty());
}

fn h_ready<P: TillProgram>(h: &mut Harness<P>) -> bool {
    h.has_text(&h.t("status-relay-connected"))
}

#[test]
fn cancel_with_escape_returns_to_the_same_basket_and_takes_no_money() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kopp"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));

    h.named_key(Named::Escape);
    h.wait_for_text(&h.t("pay-cancelled-title"));
    h.click(&h.t("pay-back-to-basket"));
    h.wait_for_text(&pay_label(&h, TERMOKOPP));

    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert!(
        ledger
            .iter()
            .all(|p| p.aggregate.captured_amount.value == 0),
        "nothing captured: {ledger:#?}"
    );
    let app = h.into_app();
    assert_eq!(app.basket().totals().total, TERMOKOPP);
}

#[test]
fn admin_refuses_a_wrong_pin_and_opens_with_the_right_one() {
    let mut h = ui_common::demo();
    // First use: choose the PIN.
    h.set_admin_pin("4321");

    // Leave and come back: locked.
    h.click(&h.t("tab-sale"));
    h.click(&h.t("tab-admin"));
    h.wait_for_text(&h.t("admin-locked-title"));
    h.click_id(admin::PIN_ID);
    h.typewrite("1111");
    h.click(&h.t("admin-unlock"));
    assert!(h.has_text(&h.t("admin-pin-wrong")));
    assert!(
        !h.has_text(&h.t("admin-test-connection")),
        "settings stay hidden"
    );

    h.click_id(admin::PIN_ID);
    h.typewrite("4321");
    h.click(&h.t("admin-unlock"));
    h.wait_for_text(&h.t("admin-test-connection"));
}

#[test]
fn refund_needs_the_admin_pin_and_moves_the_money_back() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    // Choose the PIN first.
    h.set_admin_pin("2468");
    h.click(&h.t("tab-sale"));

    // A completed sale.
    h.click_id(&tile_id("kopp"));
    h.click(&pay_label(&h, TERMOKOPP));
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    h.click(&h.t("receipt-new-sale"));

    // History: open the sale, refund part of it.
    h.click(&h.t("tab-history"));
    h.wait_for_text(&h.t("sale-state-completed"));
    h.click(&h.t("sale-state-completed"));
    h.click(&h.t("history-refund"));
    h.click_id(history::AMOUNT_ID);
    h.typewrite("50,00");
    h.click_id(history::PIN_ID);
    h.typewrite("1357");
    h.click(&h.t("history-refund-confirm"));
    assert!(h.has_text(&h.t("admin-pin-wrong")), "wrong PIN refused");
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(
        ledger[0].aggregate.refunded_amount.value, 0,
        "nothing refunded"
    );

    h.click_id(history::PIN_ID);
    h.typewrite("2468");
    h.click(&h.t("history-refund-confirm"));
    let done = h.t_args(
        "history-refund-done",
        &[("amount", Arg::Str(&h.money(5000)))],
    );
    h.wait_for_text(&done);
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger[0].aggregate.captured_amount.value, TERMOKOPP);
    assert_eq!(ledger[0].aggregate.refunded_amount.value, 5000);
    assert_eq!(ledger[0].counts.refunds, 1);
}

#[test]
fn a_customer_who_scans_before_pay_is_shown_waiting_and_gets_the_request_at_pay() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kaffe"));
    // The customer scans while the cashier is still ringing up.
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("sale-customer-waiting"));
    assert!(h.has_text(&h.t("status-customer-waiting")));
    h.click(&pay_label(&h, KAFFE));
    // No second scan: the held check-in is used at once.
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE);
}

#[test]
fn a_waiting_customer_who_walked_away_is_dismissed_and_pay_waits_for_a_new_scan() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("sale-customer-waiting"));
    h.click(&h.t("sale-not-this-customer"));
    h.wait_until("the banner gone", |h| {
        !h.has_text(&h.t("sale-customer-waiting"))
    });
    assert!(!h.has_text(&h.t("status-customer-waiting")));
    h.click_id(&tile_id("kaffe"));
    h.click(&pay_label(&h, KAFFE));
    // Pay shows the till's QR and waits: the walked-away scan is not used.
    h.wait_for_text(&h.t("pay-cancel"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert!(
        ledger.is_empty(),
        "no request went to the walked-away customer"
    );
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE);
}

#[test]
fn a_declined_payment_says_so_and_try_again_completes_the_same_sale() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kanelbolle"));
    h.click(&pay_label(&h, KANELBOLLE));
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-decline"));
    h.click(&h.t("phone-decline"));
    // "Declined" is also what the phone says: wait for the till's own words.
    h.wait_for_text(&h.t("pay-declined-next"));
    assert!(h.has_text(&h.t("pay-declined-title")));

    h.click(&h.t("pay-retry"));
    h.wait_for_text(&h.t("pay-step-waiting"));
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));

    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 2, "a new attempt gets a new reference");
    let captured: i64 = ledger
        .iter()
        .map(|p| p.aggregate.captured_amount.value)
        .sum();
    assert_eq!(captured, KANELBOLLE, "only the second attempt is captured");
}

#[test]
fn send_to_phone_number_pushes_the_request_without_a_scan() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kaffe"));
    h.click(&pay_label(&h, KAFFE));
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("pay-send-to-phone"));
    for digit in ["9", "1", "2", "3", "4", "5", "6", "7"] {
        h.click(digit);
    }
    assert!(h.has_text("+47 91234567"));
    h.click(&h.t("pay-phone-send"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].customer_phone.as_deref(), Some("4791234567"));
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE);
}

#[test]
fn csv_import_is_all_or_nothing_and_the_sale_grid_uses_the_stored_catalogue() {
    let mut h = ui_common::demo();
    let dir = tempfile::tempdir().expect("temporary directory");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id;name;price;vat;barcodes\nost;Ost;89,90;15;7000000000001\nvin;Vin;ti kroner;25;\n",
    )
    .expect("write csv");

    h.click(&h.t("tab-admin"));
    h.click_id(admin::PIN_ID);
    h.typewrite("9876");
    h.click_id(admin::PIN_REPEAT_ID);
    h.typewrite("9876");
    h.click(&h.t("admin-set-pin"));
    h.click(&h.t("admin-section-catalogue"));

    h.click_id(admin::CSV_PATH_ID);
    h.typewrite(&bad.to_string_lossy());
    h.click(&h.t("admin-csv-import"));
    let failed = h.t_args("admin-csv-failed", &[("count", Arg::Int(1))]);
    h.wait_for_text(&failed);
    let bad_price = h.t_args(
        "csv-bad-price",
        &[("line", Arg::Int(3)), ("value", Arg::Str("ti kroner"))],
    );
    assert!(h.has_text(&bad_price), "{bad_price}");
    let store = kasse::store::Store::open(&h.database).expect("store");
    assert!(
        store
            .load_catalog()
            .expect("catalogue")
            .by_id("ost")
            .is_none(),
        "nothing imported"
    );

    // The admin fixes the file and imports it again.
    std::fs::write(
        &bad,
        "id;name;price;vat;barcodes;category\nost;Ost;89,90;15;7000000000001;Meieri\nmelk;Melk;24,50;15;7000000000002;Meieri\n",
    )
    .expect("write csv");
    h.click(&h.t("admin-csv-import"));
    let done = h.t_args("admin-csv-done", &[("count", Arg::Int(2))]);
    h.wait_for_text(&done);
    let stored = store.load_catalog().expect("catalogue");
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored.by_barcode("7000000000002").map(|i| i.unit_price),
        Some(2450)
    );

    h.click(&h.t("tab-sale"));
    h.scan("7000000000002");
    let app = h.into_app();
    assert_eq!(app.catalog().len(), 2);
    assert_eq!(app.basket().totals().total, 2450);
}

#[test]
fn admin_saves_the_settings_with_secrets_apart_and_the_demo_keeps_running() {
    let mut h = ui_common::demo();
    h.click(&h.t("tab-admin"));
    h.click_id(admin::PIN_ID);
    h.typewrite("5555");
    h.click_id(admin::PIN_REPEAT_ID);
    h.typewrite("5555");
    h.click(&h.t("admin-set-pin"));
    h.click(&h.t("admin-save"));
    h.wait_for_text(&h.t("admin-saved-demo"));

    let main = std::fs::read_to_string(&h.config_path).expect("kasse.toml written");
    let saved = kasse::config::Config::load(Some(&h.config_path)).expect("reads back");
    assert_eq!(saved.till.id, "demo1");
    assert!(saved.is_configured(), "everything a till needs was saved");
    assert!(
        !main.contains(saved.vipps.client_secret.expose()),
        "the client secret is kept out of kasse.toml"
    );
    // The demo's own engine was not switched to the saved file.
    assert!(h.has_text(&h.t("demo-banner")));
}

#[test]
fn test_connection_ticks_token_qr_and_relay_of_the_demo() {
    let mut h = ui_common::demo();
    h.click(&h.t("tab-admin"));
    h.click_id(admin::PIN_ID);
    h.typewrite("1234");
    h.click_id(admin::PIN_REPEAT_ID);
    h.typewrite("1234");
    h.click(&h.t("admin-set-pin"));
    // The click waits for the checks (they are the task it started).
    h.click(&h.t("admin-test-connection"));
    for check in ["admin-check-token", "admin-check-qr", "admin-check-relay"] {
        assert!(h.has_text(&h.t(check)), "{check}");
    }
    assert!(!h.has_text("✗"), "every check passed");

    // A relay that does not answer gets a cross and the reason.
    h.send(kasse::ui::Message::Admin(admin::Message::Field(
        admin::Field::RelayUrl,
        "http://127.0.0.1:9/".into(),
    )));
    h.click(&h.t("admin-test-connection"));
    assert!(h.has_text("✗"), "the relay check failed");
}

/// The customer shows the personal QR from their app; the scanner types it into the search
/// field: the basket is paid with it (no scan of the till's QR), and the receipt follows.
#[test]
fn a_scanned_personal_qr_pays_the_basket() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kopp"));
    h.click_id(sale::SEARCH_ID);
    h.typewrite(&format!(
        "https://qr.vipps.no/28/2/01/031/{}?v=1",
        kasse::sim::DEFAULT_CUSTOMER_PHONE
    ));
    h.enter_in_field();
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(ledger[0].aggregate.captured_amount.value, TERMOKOPP);
    assert_eq!(
        ledger[0].customer_phone.as_deref(),
        Some(kasse::sim::DEFAULT_CUSTOMER_PHONE)
    );
}

/// The cashier chooses a QR for this payment: it replaces the till's QR and the sale completes
/// when the customer approves it.
#[test]
fn a_one_time_qr_on_request_pays_the_basket() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kopp"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("pay-one-time-qr"));
    h.wait_until("the one-time payment", |h| {
        !h.runtime
            .block_on(h.phone.control().payments())
            .expect("ledger")
            .is_empty()
    });
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger[0].user_flow, "QR");
    h.wait_for_text(&h.t("pay-one-time-hint"));
    assert!(
        !h.has_text(&h.t("pay-one-time-relay-down")),
        "chosen, not forced"
    );
    // The customer points the phone at the screen; only then does the request show.
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger[0].aggregate.captured_amount.value, TERMOKOPP);
    assert_eq!(
        ledger[0].customer_phone.as_deref(),
        Some(kasse::sim::DEFAULT_CUSTOMER_PHONE)
    );
}

/// After Pay, the scanner reads the customer's personal QR (typed into the window with no field
/// focused): the request goes to that customer and the sale completes.
#[test]
fn a_personal_qr_scanned_after_pay_pays_the_sale() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kaffe"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    let code = h
        .runtime
        .block_on(h.phone.personal_qr())
        .expect("the customer's personal QR");
    h.scan(&code);
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].user_flow, "PUSH_MESSAGE");
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE);
}

/// The demo phone's "Show my QR" shows the customer's personal QR and, in demo mode, scans it
/// into the till: on the sale screen it pays the basket.
#[test]
fn show_my_qr_on_the_demo_phone_pays_the_basket() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kopp"));
    h.click(&h.t("phone-show-my-qr"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, TERMOKOPP);
    assert_eq!(
        ledger[0].customer_phone.as_deref(),
        Some(kasse::sim::DEFAULT_CUSTOMER_PHONE)
    );
}

/// The relay link drops while Pay waits for a scan (the demo phone's control stops the demo's
/// relay): after the grace period the window says so (status bar, a note under the QR) and
/// shows a QR for this payment, which the customer scans and pays; when the relay is back, the
/// status bar clears and the next Pay shows the till's own QR.
#[test]
fn the_relay_dropping_switches_pay_to_a_one_time_qr_and_back() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kopp"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    assert!(!h.has_text(&h.t("status-one-time-qr")));
    h.click(&h.t("phone-stop-relay"));
    h.wait_for_text(&h.t("phone-start-relay"));
    h.wait_for_text(&h.t("pay-one-time-hint"));
    assert!(h.has_text(&h.t("pay-one-time-relay-down")));
    h.wait_for_text(&h.t("status-one-time-qr"));
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].user_flow, "QR");
    assert_eq!(ledger[0].aggregate.captured_amount.value, TERMOKOPP);

    h.click(&h.t("phone-start-relay"));
    h.wait_until("the relay is back", h_ready);
    h.wait_until("the status bar clears", |h| {
        !h.has_text(&h.t("status-one-time-qr"))
    });
    h.click(&h.t("receipt-new-sale"));
    h.click_id(&tile_id("kaffe"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    assert!(!h.has_text(&h.t("pay-one-time-hint")));
}

/// A one-time QR nobody scanned expires; the cashier then sends the request to the customer's
/// phone number: the till's own QR is back on Pay and the phone shows the request at once.
#[test]
fn after_an_expired_one_time_qr_a_phone_number_request_shows_the_tills_qr() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", h_ready);
    h.click_id(&tile_id("kaffe"));
    h.named_key(Named::F12);
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("pay-one-time-qr"));
    h.wait_for_text(&h.t("pay-one-time-hint"));
    h.runtime
        .block_on(
            h.phone
                .control()
                .advance_clock(std::time::Duration::from_secs(601)),
        )
        .expect("clock");
    h.wait_for_text(&h.t("pay-expired-title"));
    h.named_key(Named::F8);
    h.scan("12345678");
    h.wait_for_text(&h.t("phone-approve"));
    assert!(h.has_text(&h.t("pay-scan-hint")));
    assert!(!h.has_text(&h.t("pay-one-time-hint")));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-title"));
    let ledger = h
        .runtime
        .block_on(h.phone.control().payments())
        .expect("ledger");
    assert_eq!(ledger.len(), 2);
    assert_eq!(
        (ledger[0].state.as_str(), ledger[1].state.as_str()),
        ("EXPIRED", "AUTHORIZED")
    );
    assert_eq!(ledger[1].aggregate.captured_amount.value, KAFFE);
}
