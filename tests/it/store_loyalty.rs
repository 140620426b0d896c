//! Loyalty storage: settings, the enrolment state machine with its member written in the same
//! transaction, consents, erasure, and member prices.

use kasse::core::loyalty::{EnrolmentFailure, EnrolmentState};
use kasse::core::{Item, VatRate};
use kasse::store::loyalty::{LoyaltySettings, MemberConsent, NewMember};
use kasse::store::{Store, StoreError};
use kasse::vipps::PhoneNumber;

fn number(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

fn new_member(sub: &str, msisdn: &str, consents: Vec<MemberConsent>) -> NewMember {
    NewMember {
        sub: sub.into(),
        msisdn: number(msisdn),
        given_name: Some("Kari".into()),
        family_name: Some("Nordmann".into()),
        consents,
    }
}

fn consent(id: &str, accepted: bool) -> MemberConsent {
    MemberConsent {
        id: id.into(),
        accepted,
        required: false,
        text: format!("Offers by {id}"),
        time_of_consent: "2026-11-30T12:00:00.000Z".into(),
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn loyalty_is_off_until_named_and_turned_on() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(
        store.loyalty_settings().unwrap(),
        LoyaltySettings::default()
    );
    assert!(!store.loyalty_settings().unwrap().enabled);
    let unnamed = LoyaltySettings {
        enabled: true,
        programme: " ".into(),
        consent_text: String::new(),
    };
    assert!(matches!(
        store.set_loyalty_settings(&unnamed),
        Err(StoreError::Refused(_))
    ));
    assert!(
        !store.loyalty_settings().unwrap().enabled,
        "nothing was saved"
    );
    let on = LoyaltySettings {
        enabled: true,
        programme: "Kaffeklubben".into(),
        consent_text: "Join and get member prices.".into(),
    };
    store.set_loyalty_settings(&on).unwrap();
    assert_eq!(store.loyalty_settings().unwrap(), on);
}

#[test]
fn an_enrolment_moves_through_its_states_and_stores_the_member_at_approval() {
    let store = Store::open_in_memory().unwrap();
    let e = store
        .start_enrolment(&number("4798765432"), "ABC-123", None)
        .unwrap();
    assert_eq!(e.state, EnrolmentState::Started);
    assert!(!format!("{e:?}").contains("4798765432"));
    assert!(format!("{e:?}").contains("•••••••• 32"), "{e:?}");
    // One open invitation per number.
    assert!(matches!(
        store.start_enrolment(&number("4798765432"), "ABC-124", None),
        Err(StoreError::Conflict(_))
    ));
    // STARTED cannot be approved: the login was never confirmed.
    assert!(matches!(
        store.approve_enrolment(e.id, &new_member("sub-1", "4798765432", vec![])),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        count(&store, "member"),
        0,
        "the refused approval left no member"
    );

    store
        .enrolment_pending(e.id, "req-1", 5, 1_000_000)
        .unwrap();
    store.enrolment_interval(e.id, 10).unwrap();
    let pending = store.enrolment(e.id).unwrap().unwrap();
    assert_eq!(pending.state, EnrolmentState::Pending);
    assert_eq!(pending.interval_s, Some(10));
    assert_eq!(store.open_enrolments().unwrap().len(), 1);

    let member = store
        .approve_enrolment(
            e.id,
            &new_member(
                "sub-1",
                "4798765432",
                vec![consent("sms", true), consent("email", false)],
            ),
        )
        .unwrap();
    assert_eq!(member.sub, "sub-1");
    assert_eq!(member.consents.len(), 2);
    assert!(!format!("{member:?}").contains("Kari"));
    let done = store.enrolment(e.id).unwrap().unwrap();
    assert_eq!(done.state, EnrolmentState::Approved);
    assert_eq!(done.member_id, Some(member.id));
    assert!(store.open_enrolments().unwrap().is_empty());
    assert!(matches!(
        store.end_enrolment(e.id, EnrolmentFailure::Declined),
        Err(StoreError::Conflict(_))
    ));

    // Found by sub and by number.
    assert_eq!(store.member_by_sub("sub-1").unwrap().unwrap().id, member.id);
    assert_eq!(
        store
            .member_by_msisdn(&number("4798765432"))
            .unwrap()
            .unwrap()
            .id,
        member.id
    );

    // The same person again with a new number and no consents this time (Vipps sends them
    // once): one member, the new number, the consents kept.
    let again = store
        .start_enrolment(&number("4791111111"), "XYZ-789", None)
        .unwrap();
    store
        .enrolment_pending(again.id, "req-2", 5, 1_000_000)
        .unwrap();
    let same = store
        .approve_enrolment(again.id, &new_member("sub-1", "4791111111", vec![]))
        .unwrap();
    assert_eq!(same.id, member.id);
    assert_eq!(same.msisdn, number("4791111111"));
    assert_eq!(same.consents.len(), 2);
    assert_eq!(count(&store, "member"), 1);
}

#[test]
fn declined_and_failed_enrolments_free_the_number_and_erasure_removes_personal_data() {
    let store = Store::open_in_memory().unwrap();
    let e = store
        .start_enrolment(&number("4798765432"), "ABCDE", None)
        .unwrap();
    store
        .end_enrolment(e.id, EnrolmentFailure::Interrupted)
        .unwrap();
    assert_eq!(
        store.enrolment(e.id).unwrap().unwrap().state,
        EnrolmentState::Failed
    );
    let e2 = store
        .start_enrolment(&number("4798765432"), "ABCDF", None)
        .unwrap();
    store.enrolment_pending(e2.id, "req-2", 5, 1).unwrap();
    store
        .end_enrolment(e2.id, EnrolmentFailure::Declined)
        .unwrap();
    let declined = store.enrolment(e2.id).unwrap().unwrap();
    assert_eq!(declined.state, EnrolmentState::Declined);
    assert_eq!(declined.failure, Some(EnrolmentFailure::Declined));

    let e3 = store
        .start_enrolment(&number("4798765432"), "ABCDG", None)
        .unwrap();
    store.enrolment_pending(e3.id, "req-3", 5, 1).unwrap();
    let member = store
        .approve_enrolment(
            e3.id,
            &new_member("sub-9", "4798765432", vec![consent("sms", true)]),
        )
        .unwrap();
    let export = store.export_member(member.id).unwrap();
    assert_eq!(export["msisdn"], "4798765432");
    assert_eq!(export["consents"][0]["id"], "sms");
    assert_eq!(store.members(Some("Kari")).unwrap().len(), 1);
    assert_eq!(store.members(Some("nobody")).unwrap().len(), 0);

    store.erase_member(member.id).unwrap();
    assert_eq!(count(&store, "member"), 0);
    assert_eq!(count(&store, "member_consent"), 0);
    assert_eq!(
        count(&store, "enrolment"),
        0,
        "every enrolment of the number is gone"
    );
    assert!(matches!(
        store.erase_member(member.id),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn member_prices_need_a_catalogue_item_and_valid_values() {
    let store = Store::open_in_memory().unwrap();
    let mut coffee = Item::new("coffee", "Coffee", 4500, VatRate::NO_STANDARD);
    coffee.category = Some("drinks".into());
    store.save_item(&coffee).unwrap();
    assert!(matches!(
        store.set_member_price("no-such-item", Some(100)),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.set_member_price("coffee", Some(-1)),
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        store.set_member_category_discount("drinks", Some(0)),
        Err(StoreError::Refused(_))
    ));
    store.set_member_price("coffee", Some(3900)).unwrap();
    store
        .set_member_category_discount("drinks", Some(1000))
        .unwrap();
    let prices = store.member_prices().unwrap();
    assert_eq!(prices.items["coffee"], 3900);
    assert_eq!(prices.categories["drinks"], 1000);
    store.set_member_price("coffee", None).unwrap();
    assert!(store.member_prices().unwrap().items.is_empty());
    // Deleting the item drops its member price.
    store.set_member_price("coffee", Some(3900)).unwrap();
    store.delete_item("coffee").unwrap();
    assert!(store.member_prices().unwrap().items.is_empty());
}

#[test]
fn replacing_the_catalogue_keeps_the_member_prices_of_items_that_stay() {
    let store = Store::open_in_memory().unwrap();
    let coffee = Item::new("coffee", "Coffee", 4500, VatRate::NO_STANDARD);
    let bun = Item::new("bun", "Bun", 3000, VatRate::NO_FOOD);
    store
        .replace_catalog(&[coffee.clone(), bun.clone()])
        .unwrap();
    store.set_member_price("coffee", Some(3900)).unwrap();
    store.set_member_price("bun", Some(2500)).unwrap();

    // An edit from Admin stores the whole catalogue again: the coffee's new price, the bun gone,
    // a tea added.
    let mut dearer = coffee.clone();
    dearer.unit_price = 4900;
    let tea = Item::new("tea", "Tea", 3500, VatRate::NO_STANDARD);
    store.replace_catalog(&[tea, dearer]).unwrap();

    let prices = store.member_prices().unwrap();
    assert_eq!(prices.items.get("coffee"), Some(&3900), "kept");
    assert_eq!(prices.items.get("bun"), None, "went with its item");
    let catalog = store.load_catalog().unwrap();
    let ids: Vec<&str> = catalog.items().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["tea", "coffee"], "in the new order");
    assert_eq!(catalog.by_id("coffee").unwrap().unit_price, 4900);
}

#[test]
fn member_prices_are_saved_with_the_item_and_category_discounts_as_a_whole() {
    let store = Store::open_in_memory().unwrap();
    let mut coffee = Item::new("coffee", "Coffee", 4500, VatRate::NO_STANDARD);
    coffee.category = Some("drinks".into());
    store
        .replace_catalog(std::slice::from_ref(&coffee))
        .unwrap();

    // A member price that cannot be stored leaves the catalogue edit undone as well.
    let mut renamed = coffee.clone();
    renamed.name = "Filter coffee".into();
    assert!(
        store
            .replace_catalog_with_member_price(std::slice::from_ref(&renamed), "coffee", Some(-5))
            .is_err()
    );
    assert_eq!(store.load_catalog().unwrap().items()[0].name, "Coffee");

    store
        .replace_catalog_with_member_price(std::slice::from_ref(&renamed), "coffee", Some(3900))
        .unwrap();
    assert_eq!(store.member_prices().unwrap().items["coffee"], 3900);
    store
        .replace_catalog_with_member_price(&[renamed], "coffee", None)
        .unwrap();
    assert!(store.member_prices().unwrap().items.is_empty());

    store
        .set_member_category_discounts(&[("drinks".into(), Some(1000)), ("food".into(), Some(500))])
        .unwrap();
    assert!(
        store
            .set_member_category_discounts(&[("drinks".into(), None), ("cakes".into(), Some(0))])
            .is_err()
    );
    assert_eq!(
        store.member_prices().unwrap().categories.len(),
        2,
        "untouched"
    );
    store
        .set_member_category_discounts(&[("drinks".into(), None), ("food".into(), Some(750))])
        .unwrap();
    let categories = store.member_prices().unwrap().categories;
    assert_eq!(
        categories.into_iter().collect::<Vec<_>>(),
        [("food".to_string(), 750)]
    );
}
