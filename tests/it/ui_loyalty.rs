//! Loyalty in the till window, end to end with the demo's simulator and relay: the customer
//! scans before Pay, is not a member, is invited (the binding code shown large), approves on
//! the simulated phone (which shows the consent text and the same code), is shown as a member, and pays the member price.

#![cfg(feature = "gui")]

use crate::ui_common;
use crate::ui_common::{Harness, TillProgram};
use kasse::store::Store;
use kasse::store::loyalty::LoyaltySettings;
use kasse::ui::i18n::Arg;
use kasse::ui::screen::sale::tile_id;

const KAFFE: i64 = 3500;
const KAFFE_MEMBER: i64 = 3000;

fn relay_connected<P: TillProgram>(h: &mut Harness<P>) -> bool {
    h.has_text(&h.t("status-relay-connected"))
}

#[test]
fn loyalty_invite_approve_member_shown_then_member_price_paid() {
    let mut h = ui_common::demo();
    // What Admin would configure: the programme on, a member price for Kaffe.
    let store = Store::open(&h.database).unwrap();
    store
        .set_loyalty_settings(&LoyaltySettings {
            enabled: true,
            programme: "Kaffeklubben".into(),
            consent_text: "Medlemspriser for medlemmer.".into(),
        })
        .unwrap();
    store.set_member_price("kaffe", Some(KAFFE_MEMBER)).unwrap();
    drop(store);
    h.wait_until("relay connected", relay_connected);

    // The customer scans before Pay: not a member yet.
    assert!(h.runtime.block_on(h.phone.scan()).unwrap());
    let not_member = h.t_args("loyalty-not-member", &[("number", Arg::Str("•••••••• 78"))]);
    h.wait_for_text(&not_member);
    h.click(&h.t_args("loyalty-invite", &[("programme", Arg::Str("Kaffeklubben"))]));

    // The login is in the customer's app, with the code the till shows.
    let control = h.phone.control().clone();
    h.wait_until("the login in the app", |h| {
        !h.runtime.block_on(control.logins()).unwrap().is_empty()
    });
    let login = h.runtime.block_on(control.logins()).unwrap().remove(0);
    let code = login.binding_message.clone().expect("a binding code");
    h.wait_for_text(&code);
    assert!(h.has_text(&h.t("loyalty-code")));
    // The simulated phone shows the request: the consent text, the same code, Approve.
    h.wait_for_text(&login.consent_text);
    assert!(h.has_text(&h.t("phone-login-code")));
    h.click(&h.t("phone-approve"));
    let member = h.t_args(
        "loyalty-member",
        &[
            ("name", Arg::Str("Kari")),
            ("number", Arg::Str("•••••••• 78")),
        ],
    );
    h.wait_for_text(&member);

    // Pay: the member price applies before the payment is created.
    h.click_id(&tile_id("kaffe"));
    h.click(&h.t_args("sale-pay", &[("amount", Arg::Str(&h.money(KAFFE)))]));
    h.wait_for_text(&h.t("phone-approve"));
    h.click(&h.t("phone-approve"));
    h.wait_for_text(&h.t("receipt-new-sale"));
    let paid = h.t_args(
        "receipt-paid",
        &[("amount", Arg::Str(&h.money(KAFFE_MEMBER)))],
    );
    assert!(h.has_text(&paid), "{paid}");
    let ledger = h.runtime.block_on(control.payments()).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, KAFFE_MEMBER);
    let stored = Store::open(&h.database).unwrap().members(None).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].given_name.as_deref(), Some("Kari"));
}

#[test]
fn loyalty_admin_turns_it_on_exports_and_deletes_a_member() {
    let mut h = ui_common::demo();
    // A member, as an approved invitation leaves them.
    let store = Store::open(&h.database).unwrap();
    let member = crate::engine_support::loyalty::enrol(&store, "4798765432", "sub-1", "Ola");
    drop(store);

    h.set_admin_pin("4321");
    h.click(&h.t("admin-section-loyalty"));
    h.wait_for_text("Ola Nordmann");
    assert!(h.has_text("•••••••• 32"));
    assert!(!h.has_text("4798765432"));

    // Turn the programme on with a name.
    h.click(&h.t("admin-loyalty-enabled"));
    h.click(&h.t("admin-loyalty-programme"));
    h.typewrite("Kaffeklubben");
    h.click(&h.t("admin-loyalty-save"));
    h.wait_for_text(&h.t("admin-loyalty-saved"));
    let settings = Store::open(&h.database)
        .unwrap()
        .loyalty_settings()
        .unwrap();
    assert!(settings.enabled);
    assert_eq!(settings.programme, "Kaffeklubben");

    // Export: a JSON file with the member's data beside the database.
    h.click(&h.t("admin-member-export"));
    let path = h
        .database
        .parent()
        .unwrap()
        .join(format!("member-{}.json", member.id));
    h.wait_until("the export", |_| path.exists());
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(data["msisdn"], "4798765432");
    assert_eq!(data["given_name"], "Ola");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by the user only");
    }

    // Delete needs a second tap.
    h.click(&h.t("admin-member-erase"));
    h.click(&h.t("admin-member-erase-confirm"));
    h.wait_for_text(&h.t("admin-member-erased"));
    assert!(
        Store::open(&h.database)
            .unwrap()
            .members(None)
            .unwrap()
            .is_empty()
    );
    h.wait_for_text(&h.t("admin-members-none"));
}

#[test]
fn loyalty_admin_sets_an_items_member_price_and_a_category_discount() {
    let mut h = ui_common::demo();
    h.set_admin_pin("4321");

    // Catalogue: Kaffe (the first item) gets a member price in the item editor.
    h.click(&h.t("admin-section-catalogue"));
    h.click(&h.t("admin-item-edit"));
    h.click_id(kasse::ui::screen::admin::item_field_id(
        kasse::ui::screen::admin::ItemField::MemberPrice,
    ));
    h.typewrite("30,00");
    h.click(&h.t("admin-save"));
    let member_price = h.t_args(
        "admin-item-member-price-short",
        &[("price", Arg::Str(&h.money(KAFFE_MEMBER)))],
    );
    h.wait_until("the member price in the list", |h| {
        h.has_text(&format!(
            "kaffe · {} · 15 % · {member_price}",
            h.money(KAFFE)
        ))
    });
    let store = Store::open(&h.database).unwrap();
    assert_eq!(
        store.member_prices().unwrap().items.get("kaffe"),
        Some(&KAFFE_MEMBER)
    );

    // Loyalty: 10 % off everything in Bakst for members.
    h.click(&h.t("admin-section-loyalty"));
    h.wait_for_text(&h.t("admin-member-discounts-title"));
    h.click_id(&kasse::ui::screen::admin::category_percent_id("Bakst"));
    h.typewrite("10");
    h.click(&h.t("admin-loyalty-save"));
    h.wait_for_text(&h.t("admin-loyalty-saved"));
    let prices = store.member_prices().unwrap();
    assert_eq!(prices.categories.get("Bakst"), Some(&1000));
    assert_eq!(prices.categories.len(), 1, "the others left empty");

    // A percentage that is none is refused by name, and nothing changes.
    h.click_id(&kasse::ui::screen::admin::category_percent_id("Mat"));
    h.typewrite("150");
    h.click(&h.t("admin-loyalty-save"));
    h.wait_for_text(&h.t_args(
        "admin-member-discount-invalid",
        &[("category", Arg::Str("Mat"))],
    ));
    assert_eq!(store.member_prices().unwrap().categories.len(), 1);
}
