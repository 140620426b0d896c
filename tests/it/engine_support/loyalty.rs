//! Loyalty fixtures shared by the engine tests: the programme on, a member price for coffee,
//! and the demo customer a member (or not).

use std::time::Duration;

use kasse::core::Basket;
use kasse::core::catalog::Item;
use kasse::core::money::Currency;
use kasse::core::vat::VatRate;
use kasse::sim::DEFAULT_CUSTOMER_PHONE;
use kasse::store::Store;
use kasse::store::loyalty::{LoyaltySettings, Member, NewMember};
use kasse::vipps::PhoneNumber;

use super::Env;

/// Coffee at 45.00 (member price 39.00 once [`set_up`] ran).
pub fn coffee() -> Item {
    let mut item = Item::new("sku-coffee", "Coffee", 4_500, VatRate::NO_STANDARD);
    item.category = Some("drinks".into());
    item
}

/// 2 × coffee: 90.00, or 78.00 at the member price.
pub fn two_coffees() -> Basket {
    let mut b = Basket::new(Currency::Nok);
    let l = b.add_item(&coffee()).unwrap();
    b.set_quantity(l, 2).unwrap();
    b
}

/// Loyalty on ("Kaffeklubben"), a member price for coffee, and (with `member`) the demo
/// customer a member named Kari.
pub fn set_up(env: &Env, member: bool) {
    let store = env.store();
    store
        .set_loyalty_settings(&LoyaltySettings {
            enabled: true,
            programme: "Kaffeklubben".into(),
            consent_text: "Member prices for members.".into(),
        })
        .unwrap();
    store.save_item(&coffee()).unwrap();
    store.set_member_price("sku-coffee", Some(3_900)).unwrap();
    if member {
        enrol(&store, DEFAULT_CUSTOMER_PHONE, "sub-demo", "Kari");
    }
}

/// `msisdn` as a member named `given_name` Nordmann, stored as an approved invitation leaves
/// them (no consents).
pub fn enrol(store: &Store, msisdn: &str, sub: &str, given_name: &str) -> Member {
    let number = PhoneNumber::parse(msisdn).unwrap();
    let e = store.start_enrolment(&number, "ABCDE", None).unwrap();
    store.enrolment_pending(e.id, "req", 5, i64::MAX).unwrap();
    store
        .approve_enrolment(
            e.id,
            &NewMember {
                sub: sub.into(),
                msisdn: number,
                given_name: Some(given_name.into()),
                family_name: Some("Nordmann".into()),
                consents: vec![],
            },
        )
        .unwrap()
}

/// A simulator whose logins want a poll every second (Vipps: 5 s), so tests stay short.
pub async fn quick_logins() -> Env {
    let mut sim = kasse::sim::SimConfig::for_tests();
    sim.login.interval = Duration::from_secs(1);
    Env::start_with(sim, Duration::from_secs(120)).await
}
