//! Loyalty in the till window: the cashier finds a member by the number the customer says
//! ("Find member" on the sale screen), the member is shown, and the sale gets the member price;
//! clearing the basket forgets the customer.

#![cfg(feature = "gui")]

use crate::ui_common;
use crate::ui_common::{Harness, TillProgram};
use kasse::store::Store;
use kasse::store::loyalty::LoyaltySettings;
use kasse::ui::i18n::Arg;
use kasse::ui::screen::sale::{MEMBER_PHONE_ID, tile_id};

const KAFFE: i64 = 3500;
const KAFFE_MEMBER: i64 = 3000;

/// Loyalty on with a member price for Kaffe, and the demo customer (…78) a member, Kari.
fn set_up<P: TillProgram>(h: &mut Harness<P>) {
    let store = Store::open(&h.database).unwrap();
    store
        .set_loyalty_settings(&LoyaltySettings {
            enabled: true,
            programme: "Kaffeklubben".into(),
            consent_text: "Medlemspriser for medlemmer.".into(),
        })
        .unwrap();
    store.set_member_price("kaffe", Some(KAFFE_MEMBER)).unwrap();
    crate::engine_support::loyalty::enrol(
        &store,
        kasse::sim::DEFAULT_CUSTOMER_PHONE,
        "sub-1",
        "Kari",
    );
    drop(store);
    // The sale tab reads the settings again: "Find member" appears.
    h.click(&h.t("tab-sale"));
    h.wait_for_text(&h.t("loyalty-find"));
}

/// Opens the field, types the number as the customer says it, and presses Find.
fn find_member<P: TillProgram>(h: &mut Harness<P>, number: &str) {
    h.click(&h.t("loyalty-find"));
    h.click_id(MEMBER_PHONE_ID);
    h.typewrite(number);
    h.click(&h.t("loyalty-find-submit"));
}

fn kari_shown<P: TillProgram>(h: &Harness<P>) -> String {
    h.t_args(
        "loyalty-member",
        &[
            ("name", Arg::Str("Kari")),
            ("number", Arg::Str("•••••••• 78")),
        ],
    )
}

#[test]
fn member_lookup_a_typed_number_shows_the_member_and_the_sale_pays_the_member_price() {
    let mut h = ui_common::demo();
    set_up(&mut h);
    h.wait_until("relay connected", |h| {
        h.has_text(&h.t("status-relay-connected"))
    });

    h.click_id(&tile_id("kaffe"));
    // The field takes only what a number can hold, and shows beside the basket's tools.
    h.click(&h.t("loyalty-find"));
    h.click_id(MEMBER_PHONE_ID);
    h.typewrite("123 45 678x");
    assert!(h.is_visible("123 45 678"));
    assert!(h.is_visible(&h.t("loyalty-find-submit")));
    h.save_screenshot("/tmp/kasse-member-lookup-field.png");
    h.click(&h.t("loyalty-find-submit"));
    let member = kari_shown(&h);
    h.wait_for_text(&member);
    assert!(h.has_text(&h.t_args("loyalty-points", &[("points", Arg::Int(0))])));
    assert!(!h.has_text("12345678"), "the number is never shown in full");
    assert!(h.is_visible(&member));
    assert!(h.is_visible(&h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(KAFFE)))])));
    h.save_screenshot("/tmp/kasse-member-lookup.png");

    // Pay: the member price applies; the customer scans the till's QR and approves.
    h.click(&h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(KAFFE)))]));
    assert!(h.runtime.block_on(h.phone.scan()).unwrap());
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let paid = h.t_args(
        "receipt-paid",
        &[("amount", Arg::Str(&h.money(KAFFE_MEMBER)))],
    );
    assert!(h.has_text(&paid), "{paid}");
    let control = h.phone.control().clone();
    let ledger = h.runtime.block_on(control.payments()).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE_MEMBER);
    let store = Store::open(&h.database).unwrap();
    let kari = store.members(None).unwrap().remove(0);
    assert_eq!(store.member_points(kari.id).unwrap(), 30);
}

#[test]
fn member_lookup_clearing_the_basket_forgets_the_customer() {
    let mut h = ui_common::demo();
    set_up(&mut h);
    h.click_id(&tile_id("kaffe"));
    find_member(&mut h, "+47 12345678");
    let member = kari_shown(&h);
    h.wait_for_text(&member);
    h.click(&h.t("sale-clear"));
    h.wait_until("the member gone", |h| !h.has_text(&member));

    // The next customer's Kaffe is at full price: they pay by the till's QR, not a member
    // (the demo phone is Kari's, so the scan's exchange finds her after Pay; the price
    // stays as frozen at Pay).
    h.wait_until("relay connected", |h| {
        h.has_text(&h.t("status-relay-connected"))
    });
    h.click_id(&tile_id("kaffe"));
    h.click(&h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(KAFFE)))]));
    assert!(h.runtime.block_on(h.phone.scan()).unwrap());
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let control = h.phone.control().clone();
    let ledger = h.runtime.block_on(control.payments()).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE);
}
