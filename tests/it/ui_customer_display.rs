//! The customer display follows the sale: opened from the demo banner's button (the message it
//! sends), it welcomes, shows the basket as the scanner adds to it, the amount and the QR with
//! "Scan to pay" on Pay, "Approve in the app" once the customer scanned, and "Thank you" when
//! the money is captured. It never shows the cashier's name. Through the real program, engine
//! and demo simulator; `iced_test` shows the window opened last, here the customer display.

#![cfg(feature = "gui")]

use crate::ui_common;
use kasse::ui::Message;

/// Kaffe from the demo catalogue: its barcode and price.
const KAFFE: (&str, i64) = ("2000000000015", 3500);

#[test]
fn the_customer_display_follows_the_sale_from_welcome_to_thank_you() {
    let mut h = ui_common::demo();
    h.wait_until("the relay", |h| h.has_text(&h.t("status-relay-connected")));
    h.click(&h.t("customer-display-toggle"));
    // From here the emulator shows the customer display.
    h.wait_for_text(&h.t("customer-welcome"));
    assert!(!h.has_text(&h.t("customer-display-toggle")));
    assert!(
        !h.has_text("Demo"),
        "the cashier's name is not for the customer"
    );

    h.scan(KAFFE.0);
    h.scan(KAFFE.0);
    h.wait_for_text(&h.money(2 * KAFFE.1));
    assert!(h.has_text("Kaffe"));
    assert!(h.has_text(&h.t("customer-total")));

    h.named_key(iced::keyboard::key::Named::F12);
    h.wait_for_text(&h.t("customer-scan"));
    assert!(h.has_text(&h.t("customer-to-pay")));
    // `KASSE_DOCS_SHOTS=docs cargo test ...` refreshes the README's picture.
    if let Ok(dir) = std::env::var("KASSE_DOCS_SHOTS") {
        h.save_screenshot(&format!("{dir}/customer-display.png"));
    }

    let phone = h.phone.clone();
    assert!(h.runtime.block_on(phone.scan()).unwrap());
    h.wait_for_text(&h.t("customer-approve"));
    let reference = h
        .runtime
        .block_on(async {
            let deadline = std::time::Instant::now() + ui_common::DEADLINE;
            loop {
                let payments = phone.control().payments().await.unwrap();
                if let Some(p) = payments.first() {
                    return Some(p.reference.clone());
                }
                if std::time::Instant::now() > deadline {
                    return None;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .expect("the payment was created");
    h.runtime.block_on(phone.approve(&reference)).unwrap();
    h.wait_for_text(&h.t("customer-thanks"));
    assert!(h.has_text(&h.money(2 * KAFFE.1)));

    // Closing it from the till's side (the same message) leaves the till running.
    h.send(Message::ToggleCustomerDisplay);
    let app = h.into_app();
    assert!(!app.customer_display_open());
}
