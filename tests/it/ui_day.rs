//! The day in the window: cash with change, split cash + Vipps (and, once cashiers exist, log
//! in, X and Z), through the real program, engine and demo simulator.

#![cfg(feature = "gui")]

use crate::ui_common::{self, Harness, TillProgram};
use kasse::core::tender::TenderKind;
use kasse::ui::i18n::Arg;
use kasse::ui::screen::sale::tile_id;

const KAFFE: i64 = 3500;
const KANELBOLLE: i64 = 3900;
const TERMOKOPP: i64 = 19900;

fn pay_label<P: TillProgram>(h: &Harness<P>, total: i64) -> String {
    h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(total)))])
}

fn ready<P: TillProgram>(h: &mut Harness<P>) -> bool {
    h.has_text(&h.t("status-relay-connected"))
}

fn store<P: TillProgram>(h: &Harness<P>) -> kasse::store::Store {
    kasse::store::Store::open(&h.database).unwrap()
}

/// Reads `read` until `done` holds (the window writes from its own tasks), or panics after
/// 20 s with the last value.
fn poll<T: std::fmt::Debug>(
    what: &str,
    mut read: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let value = read();
        if done(&value) {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {value:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Pay for `total` (already in the basket) and open the cash keypad.
fn pay_and_open_cash<P: TillProgram>(h: &mut Harness<P>, total: i64) {
    h.click(&pay_label(h, total));
    h.wait_for_text(&h.t("pay-scan-hint"));
    h.click(&h.t("pay-cash"));
    h.wait_for_text(&h.t("pay-tender-exact"));
}

/// The simulated customer scans the till's QR and approves.
fn customer_approves<P: TillProgram>(h: &mut Harness<P>) {
    h.click(&h.t("phone-scan"));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
}

#[test]
fn cash_sale_shows_the_change_large_and_records_the_tender() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    h.click_id(&tile_id("kopp"));
    pay_and_open_cash(&mut h, TERMOKOPP);
    // 200 kroner handed over, typed on the keyboard, Enter takes it.
    h.scan("200");
    let change = h.t_args("pay-change", &[("amount", Arg::Str(&h.money(100)))]);
    h.wait_for_text(&change);
    h.wait_for_text(&h.t("receipt-new-sale"));
    assert!(h.has_text(&h.t("tender-cash")));

    let store = store(&h);
    let sale_id: i64 = store
        .conn()
        .query_row("SELECT max(id) FROM sale", [], |r| r.get(0))
        .unwrap();
    let t = store.tenders_of_sale(sale_id).unwrap();
    assert_eq!(
        (t[0].kind, t[0].amount, t[0].tendered, t[0].change),
        (TenderKind::Cash, TERMOKOPP, 20_000, 100)
    );
    let ledger = h.runtime.block_on(h.phone.control().payments()).unwrap();
    assert!(ledger.is_empty(), "no Vipps payment for a cash sale");
    // The receipt printed by itself (the demo prints to a file): the original, once.
    poll(
        "the receipt printed",
        || -> i64 {
            store
                .conn()
                .query_row(
                    "SELECT count(*) FROM receipt_print
                     WHERE sale_id = ?1 AND kind = 'sales' AND status = 'printed'",
                    [sale_id],
                    |r| r.get(0),
                )
                .unwrap()
        },
        |printed| *printed == 1,
    );
}

#[test]
fn split_cash_and_vipps_from_the_pay_screen() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kanelbolle"));
    let total = KAFFE + KANELBOLLE;
    pay_and_open_cash(&mut h, total);
    h.scan("50");
    let part = h.t_args(
        "pay-part-paid",
        &[
            ("tender", Arg::Str(&h.t("tender-cash"))),
            ("amount", Arg::Str(&h.money(5_000))),
        ],
    );
    h.wait_for_text(&part);
    // Vipps is asked for the rest only.
    assert!(h.has_text(&h.money(total - 5_000)));
    customer_approves(&mut h);
    h.wait_for_text(&h.t("receipt-new-sale"));
    assert!(h.has_text(&h.t("tender-cash")));

    let ledger = h.runtime.block_on(h.phone.control().payments()).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].amount.value, total - 5_000);
    assert_eq!(ledger[0].aggregate.captured_amount.value, total - 5_000);
    let store = store(&h);
    let x = store
        .period_report(
            kasse::core::report::ReportKind::X,
            "demo",
            kasse::core::money::Currency::Nok,
            None,
        )
        .unwrap();
    let by: Vec<_> = x.by_tender.iter().map(|t| (t.tender, t.amount)).collect();
    assert_eq!(
        by,
        vec![
            (TenderKind::Cash, 5_000),
            (TenderKind::Vipps, total - 5_000)
        ]
    );
}

#[test]
fn lock_log_in_again_and_close_the_day_with_x_and_z() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    // A cash sale to report.
    h.click_id(&tile_id("kaffe"));
    pay_and_open_cash(&mut h, KAFFE);
    h.click(&h.t("pay-tender-exact"));
    h.click(&h.t("pay-tender-take"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    h.named_key(iced::keyboard::key::Named::Enter);
    h.wait_for_text(&h.t("sale-basket-empty"));

    // Lock: back at the log-in; a wrong PIN is refused, the right one opens the till.
    let lock = h.t_args("login-lock-as", &[("name", Arg::Str("Demo"))]);
    h.click(&lock);
    h.wait_for_text(&h.t("login-who"));
    h.scan("9999");
    h.wait_until("refused", |h| {
        h.has_text("wrong PIN (4 more tries before a lock-out)")
    });
    h.scan(kasse::ui::screen::login::DEMO_PIN);
    h.wait_for_text(&lock);

    // X, then Z (the demo cashier is a manager), then a second Z is refused.
    h.click(&h.t("tab-reports"));
    h.wait_for_text(&h.t("reports-none"));
    h.click(&h.t("reports-x"));
    // The report speaks the store's language (bokmål in the demo).
    h.wait_for_text("X-rapport");
    assert!(h.has_text("Salg (1)"));
    assert!(h.has_text(&h.money(KAFFE)));
    h.click(&h.t("reports-open-drawer"));
    h.wait_for_text(&h.t("reports-drawer-opened"));
    h.click(&h.t("reports-z"));
    h.wait_for_text("Z-rapport 1");
    // The demo prints to a file: the report goes to the receipt printer.
    h.click(&h.t("reports-print"));
    h.wait_for_text(&h.t("reports-printed"));
    let store = store(&h);
    let z = store.z_report(1).unwrap().expect("Z 1 stored");
    h.click(&h.t("reports-z"));
    let refused = format!(
        "the Z report for {} was already taken (Z 1); the next one closes tomorrow",
        z.date
    );
    h.wait_for_text(&refused);
    assert_eq!((z.sales.count, z.sales.amount), (1, KAFFE));
    assert_eq!(z.drawer_openings_without_sale, 1);
    assert_eq!(z.taken_by.as_deref(), Some("Demo"));
    let logins: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM journal WHERE event_code = 13003",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logins, 2, "both log-ins journalled");
}

#[test]
fn voided_lines_and_baskets_are_recorded_for_the_reports() {
    let mut h = ui_common::demo();
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kopp"));
    // '-' on the last line (one Termokopp) removes it: a voided line.
    h.global_key(iced::keyboard::Key::Character("-".into()), Some("-"));
    h.wait_for_text(&pay_label(&h, KAFFE));
    h.click(&h.t("sale-clear"));
    h.wait_for_text(&h.t("sale-basket-empty"));
    let store = store(&h);
    let x = poll(
        "the voids recorded",
        || {
            store
                .period_report(
                    kasse::core::report::ReportKind::X,
                    "demo",
                    kasse::core::money::Currency::Nok,
                    None,
                )
                .unwrap()
        },
        |x| x.voided_sales.count == 1,
    );
    assert_eq!(
        (x.voided_lines.count, x.voided_lines.amount),
        (1, TERMOKOPP)
    );
    assert_eq!((x.voided_sales.count, x.voided_sales.amount), (1, KAFFE));
}

#[test]
fn a_scanned_receipt_number_opens_the_sale_and_one_line_goes_back_to_vipps() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    h.click_id(&tile_id("kaffe"));
    h.click_id(&tile_id("kanelbolle"));
    h.click(&pay_label(&h, KAFFE + KANELBOLLE));
    h.wait_for_text(&h.t("pay-scan-hint"));
    customer_approves(&mut h);
    h.wait_for_text(&h.t("receipt-new-sale"));
    h.named_key(iced::keyboard::key::Named::Enter);
    h.wait_for_text(&h.t("sale-basket-empty"));

    // History, then the receipt's barcode (receipt number 1) read by the scanner.
    h.click(&h.t("tab-history"));
    h.scan("1");
    h.wait_for_text(&h.t("history-return-title"));
    // One Kaffe (the first line) back.
    h.click("+");
    h.click(&h.t("history-return"));
    let done = h.t_args(
        "history-return-done",
        &[("amount", Arg::Str(&h.money(KAFFE)))],
    );
    h.wait_for_text(&done);
    let ledger = h.runtime.block_on(h.phone.control().payments()).unwrap();
    assert_eq!(ledger[0].aggregate.refunded_amount.value, KAFFE);
    let store = store(&h);
    let signed_returns: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM signed_transaction WHERE trans_type = 11006",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(signed_returns, 1);

    // The receipt printed by itself after the sale; "print again" gives the one copy (KOPI),
    // and a second copy is refused with a message.
    h.click(&h.t("history-print"));
    poll(
        "the original and its copy printed",
        || -> Vec<String> {
            store
                .conn()
                .prepare("SELECT kind FROM receipt_print WHERE status = 'printed' ORDER BY id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        },
        |kinds| kinds == &["sales", "copy"],
    );
    h.click(&h.t("history-print"));
    h.wait_until("second copy refused", |h| {
        h.has_text(
            &h.t_args(
                "print-failed",
                &[(
                    "error",
                    Arg::Str(
                        &kasse::print::PrintError::CopyAlreadyIssued {
                            sale_id: 1,
                            refund_op_id: None,
                        }
                        .to_string(),
                    ),
                )],
            ),
        )
    });
}

#[test]
fn float_and_count_from_the_reports_tab() {
    let mut h = ui_common::demo();
    h.click(&h.t("tab-reports"));
    h.wait_for_text(&h.t("reports-none"));
    // No amount yet: refused with a hint, nothing recorded.
    h.click(&h.t("reports-float"));
    h.wait_for_text(&h.t("reports-bad-amount"));
    h.click(&h.t("reports-amount"));
    h.typewrite("500");
    h.click(&h.t("reports-float"));
    h.wait_for_text(&h.t("reports-cash-recorded"));
    h.click(&h.t("reports-amount"));
    h.typewrite("490");
    h.click(&h.t("reports-count"));
    let counted = h.t_args(
        "reports-counted",
        &[("difference", Arg::Str(&h.money(-1_000)))],
    );
    h.wait_for_text(&counted);
    let store = store(&h);
    let x = store
        .period_report(
            kasse::core::report::ReportKind::X,
            "demo",
            kasse::core::money::Currency::Nok,
            None,
        )
        .unwrap();
    assert_eq!(x.opening_float, 50_000);
    assert_eq!(x.counted_cash, Some(49_000));
    assert_eq!(x.cash_difference, Some(-1_000));
}

#[test]
fn admin_adds_a_cashier_who_can_then_log_in() {
    let mut h = ui_common::demo();
    h.set_admin_pin("4321");
    h.click(&h.t("admin-section-cashiers"));
    h.wait_for_text(&h.t("admin-cashier-add-title"));
    h.click(&h.t("admin-cashier-name"));
    h.typewrite("Kari Nordmann");
    h.click(&h.t("admin-cashier-pin"));
    h.typewrite("12"); // too short: refused, nothing stored
    h.click(&h.t("admin-cashier-add"));
    h.wait_for_text("the PIN must be 4 to 8 digits");
    h.click(&h.t("admin-cashier-pin"));
    h.typewrite("5678");
    h.click(&h.t("admin-cashier-add"));
    h.wait_for_text(&h.t("admin-cashier-role-cashier"));
    assert!(h.has_text("Kari Nordmann"));
    // The new cashier logs in after a lock.
    h.click(&h.t("tab-sale"));
    h.click(&h.t_args("login-lock-as", &[("name", Arg::Str("Demo"))]));
    h.wait_for_text(&h.t("login-who"));
    h.click("Kari Nordmann");
    h.scan("5678");
    h.wait_for_text(&h.t_args("login-lock-as", &[("name", Arg::Str("Kari Nordmann"))]));
    let names: Vec<String> = store(&h)
        .cashiers()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Demo", "Kari Nordmann"]);
}

#[test]
fn admin_prints_a_test_page_on_the_printer_as_typed() {
    use kasse::ui::screen::admin::{self, Field};
    let mut h = ui_common::demo();
    h.set_admin_pin("4321");
    let printer = h.database.with_file_name("test-page.escpos");
    // Replace what the demo set with a file of our own.
    h.send(kasse::ui::app::Message::Admin(admin::Message::Field(
        Field::Printer,
        format!("file:{}", printer.display()),
    )));
    h.click(&h.t("admin-print-test-page"));
    h.wait_for_text(&h.t("admin-test-page-printed"));
    let bytes = std::fs::read(&printer).unwrap();
    // Æ Ø Å in the Nordic code page, and the cut.
    assert!(
        bytes
            .windows(5)
            .any(|w| w == [0x92, b' ', 0x9D, b' ', 0x8F])
    );
    // A printer that cannot be reached is said plainly.
    h.send(kasse::ui::app::Message::Admin(admin::Message::Field(
        Field::Printer,
        "nonsense".into(),
    )));
    h.click(&h.t("admin-print-test-page"));
    let why = "nonsense"
        .parse::<kasse::print::connection::PrinterConnection>()
        .unwrap_err();
    h.wait_for_text(&format!(
        "invalid configuration value printer.connection: {why}"
    ));
}

#[test]
fn a_gift_card_pays_part_and_cash_the_rest() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    h.click_id(&tile_id("kopp"));
    pay_and_open_cash(&mut h, TERMOKOPP);
    h.click(&h.t("tender-gift-card"));
    h.scan("100");
    h.wait_for_text(&h.t_args(
        "pay-part-paid",
        &[
            ("tender", Arg::Str(&h.t("tender-gift-card"))),
            ("amount", Arg::Str(&h.money(10_000))),
        ],
    ));
    h.click(&h.t("pay-cash"));
    h.click(&h.t("pay-tender-exact"));
    h.click(&h.t("pay-tender-take"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let store = store(&h);
    let sale_id: i64 = store
        .conn()
        .query_row("SELECT max(id) FROM sale", [], |r| r.get(0))
        .unwrap();
    let parts: Vec<_> = store
        .tenders_of_sale(sale_id)
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.amount))
        .collect();
    assert_eq!(
        parts,
        vec![
            (TenderKind::GiftCard, 10_000),
            (TenderKind::Cash, TERMOKOPP - 10_000)
        ]
    );
}

#[test]
fn a_manager_trains_on_the_till_and_the_sale_prints_a_training_receipt() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", ready);
    h.click(&h.t("tab-reports"));
    h.click(&h.t("reports-training-on"));
    h.wait_for_text(&h.t("reports-training-now-on"));
    assert!(h.has_text(&h.t("training-banner")));
    assert!(h.has_text(&h.t("reports-training-off")));

    h.click(&h.t("tab-sale"));
    h.click_id(&tile_id("kopp"));
    pay_and_open_cash(&mut h, TERMOKOPP);
    h.scan("199");
    h.wait_for_text(&h.t("receipt-new-sale"));
    let store = store(&h);
    let (sale_id, training, nr): (i64, bool, Option<i64>) = store
        .conn()
        .query_row(
            "SELECT id, training, training_nr FROM sale ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(training);
    assert_eq!(nr, Some(1));
    assert!(store.signed_sale(sale_id).unwrap().is_none());
    // The receipt printed by itself is a training receipt, never a sales receipt.
    let printed = poll(
        "the training receipt printed",
        || -> Vec<String> {
            let mut stmt = store
                .conn()
                .prepare("SELECT kind FROM receipt_print WHERE sale_id = ?1 AND status = 'printed'")
                .unwrap();
            stmt.query_map([sale_id], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        },
        |kinds| !kinds.is_empty(),
    );
    assert_eq!(printed, vec!["training".to_string()]);

    h.click(&h.t("receipt-new-sale"));
    h.click(&h.t("tab-reports"));
    h.click(&h.t("reports-training-off"));
    h.wait_for_text(&h.t("reports-training-now-off"));
    assert!(!h.has_text(&h.t("training-banner")));
    assert!(store.training_mode().unwrap().is_none());
}
