//! The export of a generated store: structure, totals and the journal row it leaves.

use super::*;
use crate::compliance::saft::generate;
use crate::config::Config;
use time::macros::date;

fn options(dialect: Dialect) -> SaftOptions {
    SaftOptions {
        dialect,
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 02),
        company: Company {
            ident: "999999999".into(),
            name: "Kafé & Kiosk <AS>".into(),
            address: Some(Address {
                street: "Storgata".into(),
                number: "1".into(),
                postal_code: "0155".into(),
                city: "Oslo".into(),
            }),
        },
        currency: Currency::Nok,
        register_id: "t1".into(),
        register_desc: "Till 1".into(),
        now_ms: 1_772_500_000_000,
        destination: "memory".into(),
    }
}

/// 10:00 local time on 2026-03-02 (UTC+1).
const START_MS: i64 = 1_772_442_000_000;

fn generated(sales: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kasse.db");
    let mut config = Config::default();
    config.till.id = "t1".into();
    let signer = Signer::for_till(&config, Some(&db)).unwrap();
    let filled = generate::fill(&db, &signer, sales, START_MS, |_| {}).unwrap();
    assert_eq!(filled.sales, sales);
    let store = Store::open(&db).unwrap();
    (dir, store)
}

use crate::compliance::Signer;

#[test]
fn export_lists_every_signed_transaction_with_exact_totals_and_journals_itself() {
    let (_dir, store) = generated(60);
    let (summary, out) = export(&store, &options(Dialect::Norway), Vec::new()).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(summary.transactions, 61, "60 sales and one return");
    assert_eq!(text.matches("<cashtransaction>").count(), 61);
    assert_eq!(summary.bytes, text.len() as u64);
    assert_eq!(summary.registers, 1);

    let mut amount_in = 0;
    store
        .for_each_signed_transaction(|t| -> Result<(), StoreError> {
            amount_in += t.amount_in;
            Ok(())
        })
        .unwrap();
    assert_eq!(summary.amount_in, amount_in);

    assert!(text.contains("<auditfile xmlns=\"urn:StandardAuditFile-Taxation-CashRegister:NO\""));
    assert!(text.contains("<companyName>Kafé &amp; Kiosk &lt;AS&gt;</companyName>"));
    assert!(text.contains("<taxRegIdent>999999999MVA</taxRegIdent>"));
    assert!(
        text.contains("Signed with Kasse&apos;s TEST key"),
        "the test key is marked"
    );
    assert!(text.contains("<artDesc>T-skjorte &lt;logo&gt;</artDesc>"));
    assert!(text.contains("<transType>11006</transType>"));
    assert!(text.contains("<paymentType>12011</paymentType>"));
    assert!(text.contains("<basicID>12011</basicID>"));
    assert!(text.contains("<standardVatCode>31</standardVatCode>"));
    assert!(text.contains("<eventType>sale_frozen</eventType>"));
    assert!(text.contains("<basicID>sale_frozen</basicID>"));
    assert!(!text.contains("<eventType>sale_signed</eventType>"));

    let last = store.journal_since(0, 100_000).unwrap();
    let last = last.last().unwrap();
    assert_eq!(last.kind, kind::JOURNAL_EXPORTED);
    assert_eq!(last.codes.unwrap().event.unwrap().0, 13020);
    assert_eq!(last.payload["format"], "saft");
    assert_eq!(last.payload["transactions"], 61);
    store.verify_journal().unwrap();
}

#[test]
fn an_empty_period_and_missing_facts() {
    let (_dir, store) = generated(2);
    let mut o = options(Dialect::Norway);
    o.from = date!(2025 - 01 - 01);
    o.to = date!(2025 - 01 - 01);
    let (summary, out) = export(&store, &o, Vec::new()).unwrap();
    assert_eq!((summary.transactions, summary.events), (0, 0));
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("<registerID>t1</registerID>")
    );

    let mut o = options(Dialect::Denmark);
    o.company.address = None;
    assert!(matches!(
        export(&store, &o, Vec::new()),
        Err(ComplianceError::Saft(SaftError::AddressMissing))
    ));
    let mut o = options(Dialect::Norway);
    o.company.ident = " ".into();
    assert!(matches!(
        export(&store, &o, Vec::new()),
        Err(ComplianceError::Saft(SaftError::CompanyIdentMissing))
    ));
    let mut o = options(Dialect::Norway);
    o.to = date!(2026 - 03 - 01);
    assert!(matches!(
        export(&store, &o, Vec::new()),
        Err(ComplianceError::Saft(SaftError::Period { .. }))
    ));
}

#[test]
fn file_name_follows_the_example() {
    // 2026-03-03 01:06:40 UTC is 02:06:40 in Oslo.
    assert_eq!(
        file_name("999 999 999", 1_772_500_000_000),
        "SAF-T Cash Register_999999999_20260303020640_1_1.xml"
    );
}

#[test]
fn without_a_till_id_the_events_go_to_the_one_register() {
    let (_dir, store) = generated(3);
    let mut o = options(Dialect::Norway);
    o.register_id = String::new();
    let (summary, out) = export(&store, &o, Vec::new()).unwrap();
    assert_eq!(summary.registers, 1);
    assert_eq!(summary.transactions, 3);
    assert!(summary.events > 0);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("<cashregister>").count(), 1);
    assert!(text.contains("<registerID>t1</registerID>"));
}

#[test]
fn the_shops_address_lines_become_the_export_address() {
    assert_eq!(
        Address::from_lines("Storgata 1B\n0155 Oslo\n"),
        Some(Address {
            street: "Storgata".into(),
            number: "1B".into(),
            postal_code: "0155".into(),
            city: "Oslo".into(),
        })
    );
    assert_eq!(
        Address::from_lines("  Nørre Allé 12 \n\nDK-2200 København N"),
        Some(Address {
            street: "Nørre Allé".into(),
            number: "12".into(),
            postal_code: "2200".into(),
            city: "København N".into(),
        })
    );
    // No house number, or no postal code: not an address the schema can take.
    assert_eq!(Address::from_lines("Torget\n0155 Oslo"), None);
    assert_eq!(Address::from_lines("Storgata 1"), None);
    assert_eq!(Address::from_lines(""), None);
}
