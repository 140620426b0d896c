//! The SAF-T Cash Register export: completed Vipps sales and a refund made by the engine
//! against the simulator are exported by `kasse saft export`, the file validates against
//! Skatteetaten's XSD (and UFST's Danish one) with `xmllint`, its content matches the store to
//! the øre, and its signatures verify in export order from the public key alone (the `rsa`
//! crate directly, not Kasse's signing code). Skatteetaten's own example validates with the
//! same helper, as a check of the validator set-up.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use base64::Engine as _;
use quick_xml::events::Event;
use rsa::pkcs8::DecodePublicKey;

use crate::engine_support::*;
use kasse::compliance::Signer;
use kasse::compliance::saft::{self, Address, Company, Dialect, SaftOptions, generate};
use kasse::config::Config;
use kasse::core::money::Currency;
use kasse::engine::{Command, EngineEvent};
use kasse::store::{SignedTransaction, Store, StoreError, kind};

const NO_XSD: &str = "cash-register-rules/no/Norwegian_SAF-T_Cash_Register_Schema_v_1.00.xsd";
const NO_EXAMPLE: &str = "cash-register-rules/no/example-saft-cash-register.xml";
const DK_XSD: &str = "cash-register-rules/dk/Danish_SAF-T_Cash_Register_v1.0.3.xsd";
const DK_DSIG: &str = "cash-register-rules/dk/xmldsig-core-schema.xsd";

/// `xmllint` on this machine, or `None` (skipped with a line outside CI; CI requires it).
fn xmllint(test: &str) -> Option<&'static str> {
    let ok = Process::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("xmllint");
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{test}: xmllint is required under CI (.ci/run installs libxml2-utils)"
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: xmllint is not installed (Debian: libxml2-utils)"
    );
    None
}

/// Validates `xml` against `xsd` without the network; the error output when it does not.
fn validate(xml: &Path, xsd: &Path) -> Result<(), String> {
    let out = Process::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(xml)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The Danish schema beside its xmldsig import, in `dir`, importing it locally.
fn danish_schema(dir: &Path, xsd: &Path, dsig: &Path) -> PathBuf {
    let text = std::fs::read_to_string(xsd).unwrap();
    let remote = "schemaLocation=\"http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd\"";
    assert!(
        text.contains(remote),
        "the Danish XSD no longer imports {remote}"
    );
    let local = text.replace(remote, "schemaLocation=\"xmldsig-core-schema.xsd\"");
    let path = dir.join("Danish_SAF-T_Cash_Register.xsd");
    std::fs::write(&path, local).unwrap();
    std::fs::copy(dsig, dir.join("xmldsig-core-schema.xsd")).unwrap();
    path
}

/// The reference files and xmllint a validation needs, or `None` to skip.
fn schemas(test: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let no = kasse::reference::for_test(NO_XSD, test)?;
    let dk = kasse::reference::for_test(DK_XSD, test)?;
    let dsig = kasse::reference::for_test(DK_DSIG, test)?;
    xmllint(test)?;
    Some((no, dk, dsig))
}

/// Every element's text with its parent (`cashtransaction/nr`, ...), in document order.
fn texts(xml: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                stack.push(e.name().as_ref().to_string());
                text.clear();
            }
            Event::End(_) => {
                if !text.trim().is_empty() {
                    let from = stack.len().saturating_sub(2);
                    out.push((stack[from..].join("/"), std::mem::take(&mut text)));
                }
                text.clear();
                stack.pop();
            }
            Event::Text(t) => text.push_str(t.as_ref()),
            Event::GeneralRef(r) => text.push_str(match r.as_ref() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                other => panic!("entity {other}"),
            }),
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn all<'a>(texts: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    texts
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
        .collect()
}

/// `12.50` / `-0.05` as minor units, parsed here rather than by Kasse.
fn minor(text: &str) -> i64 {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap();
    assert_eq!(fraction.len(), 2, "{text}");
    sign * (whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap())
}

fn signed_rows(store: &Store) -> Vec<SignedTransaction> {
    let mut rows = Vec::new();
    store
        .for_each_signed_transaction(|t| -> Result<(), StoreError> {
            rows.push(t);
            Ok(())
        })
        .unwrap();
    rows
}

async fn complete_sale(
    engine: &kasse::engine::EngineHandle,
    rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    env: &Env,
) -> i64 {
    let reference = pay_by_phone(engine, rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    let done = wait_for(rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let EngineEvent::Completed { sale_id, .. } = done else {
        unreachable!()
    };
    wait_for(rx, "idle", |e| matches!(e, EngineEvent::Idle)).await;
    sale_id
}

#[test]
fn skatteetatens_example_validates_with_the_same_helper() {
    let test = "skatteetatens_example_validates_with_the_same_helper";
    let Some((no, _, _)) = schemas(test) else {
        return;
    };
    let Some(example) = kasse::reference::for_test(NO_EXAMPLE, test) else {
        return;
    };
    validate(&example, &no).unwrap();
    // And the helper does reject: the example without its mandatory header.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.xml");
    let text = std::fs::read_to_string(&example).unwrap();
    std::fs::write(&broken, text.replace("<fiscalYear>2020</fiscalYear>", "")).unwrap();
    let err = validate(&broken, &no).unwrap_err();
    assert!(
        err.contains("fiscalYear") || err.contains("startDate"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saft_export_of_vipps_sales_validates_matches_the_store_and_verifies() {
    let test = "saft_export_of_vipps_sales_validates_matches_the_store_and_verifies";
    let Some((no_xsd, _, _)) = schemas(test) else {
        return;
    };
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    wait_for(&mut rx, "ready", is_ready).await;
    let first = complete_sale(&engine, &mut rx, &env).await;
    complete_sale(&engine, &mut rx, &env).await;
    engine
        .send(Command::Refund {
            sale_id: first,
            amount: 5_000,
        })
        .unwrap();
    wait_for(&mut rx, "refund", |e| {
        matches!(e, EngineEvent::RefundDone { amount: 5_000, .. })
    })
    .await;
    complete_sale(&engine, &mut rx, &env).await;
    engine.send(Command::Shutdown).unwrap();
    engine.closed().await;

    let rows = signed_rows(&env.store());
    assert_eq!(rows.len(), 4);
    let from = rows[0].trans_date.clone();
    let to = rows[3].trans_date.clone();
    let config = env.write_config();
    let dir = tempfile::tempdir().unwrap();
    let export = |country: &str, extra: &[&str]| {
        let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
            .arg("--config")
            .arg(&config)
            .args(["saft", "export", "--from", &from, "--to", &to, "--out"])
            .arg(dir.path())
            .args(["--country", country, "--company-ident", "999999999"])
            .args(["--company-name", "Kafé & Co <AS>"])
            .args(extra)
            .env_remove("KASSE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        PathBuf::from(line["file"].as_str().unwrap())
    };

    // Norway.
    let file = export("no", &[]);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("SAF-T Cash Register_999999999_") && name.ends_with("_1_1.xml"),
        "{name}"
    );
    if let Err(e) = validate(&file, &no_xsd) {
        panic!("{} does not validate:\n{e}", file.display());
    }
    let xml = std::fs::read_to_string(&file).unwrap();
    let t = texts(&xml);
    assert_eq!(all(&t, "company/companyName"), ["Kafé & Co <AS>"]);
    assert_eq!(all(&t, "cashtransaction/nr"), ["1", "2", "3", "4"]);
    assert_eq!(
        all(&t, "cashtransaction/transType"),
        ["11001", "11001", "11006", "11001"]
    );
    let amounts: Vec<i64> = all(&t, "cashtransaction/transAmntIn")
        .into_iter()
        .map(minor)
        .collect();
    assert_eq!(amounts, [12_900, 12_900, -5_000, 12_900]);
    assert_eq!(amounts.iter().sum::<i64>(), 33_700);
    let excluding: i64 = all(&t, "cashtransaction/transAmntEx")
        .into_iter()
        .map(minor)
        .sum();
    assert_eq!(excluding, rows.iter().map(|r| r.amount_ex).sum::<i64>());
    let paid: Vec<i64> = all(&t, "payment/paidAmnt").into_iter().map(minor).collect();
    assert_eq!(paid, [12_900, 12_900, -5_000, 12_900]);
    assert!(all(&t, "payment/paymentType").iter().all(|p| *p == "12011"));
    let signatures = all(&t, "cashtransaction/signature");
    assert_eq!(signatures[0], rows[0].signature);
    assert_eq!(signatures.len(), 4);
    // Lines add up to each sale: 99.00 at 25 % and 2 x 15.00 at 15 %.
    assert_eq!(
        all(&t, "ctLine/lineAmntIn")[..2]
            .iter()
            .map(|a| minor(a))
            .sum::<i64>(),
        12_900
    );
    assert!(all(&t, "basic/basicID").contains(&"12011"));
    assert!(all(&t, "event/eventType").contains(&"engine_started"));

    // The signatures verify in export order from the stored public key alone.
    let pem = env.store().signing_keys().unwrap()[0]
        .public_key_pem
        .clone();
    let key = rsa::PublicKey::from_public_key_pem(&pem).unwrap();
    let (dates, times, nrs) = (
        all(&t, "cashtransaction/transDate"),
        all(&t, "cashtransaction/transTime"),
        all(&t, "cashtransaction/nr"),
    );
    let ex = all(&t, "cashtransaction/transAmntEx");
    let amount_in = all(&t, "cashtransaction/transAmntIn");
    let mut previous = "0";
    for i in 0..4 {
        let text = format!(
            "{previous};{};{};{};{};{}",
            dates[i], times[i], nrs[i], amount_in[i], ex[i]
        );
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signatures[i])
            .unwrap();
        key.pkcs1v15_verify::<sha1::Sha1>(text.as_bytes(), &sig)
            .unwrap_or_else(|_| panic!("signature {} does not verify over {text:?}", i + 1));
        previous = signatures[i];
    }

    // Taking the export is journalled (13020).
    let journal = env.store().journal_since(0, 100_000).unwrap();
    let exported: Vec<_> = journal
        .iter()
        .filter(|e| e.kind == kind::JOURNAL_EXPORTED && e.payload["format"] == "saft")
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].codes.unwrap().event.unwrap().0, 13020);
    assert_eq!(exported[0].payload["transactions"], 4);

    // Denmark takes DKK or EUR: a Norwegian store's export is refused, and nothing written.
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .arg("--config")
        .arg(&config)
        .args(["saft", "export", "--from", &from, "--to", &to, "--out"])
        .arg(dir.path().join("dk.xml"))
        .args(["--country", "dk", "--company-ident", "12345678"])
        .args(["--street", "Strøget", "--street-number", "1"])
        .args(["--postal-code", "1160", "--city", "København"])
        .env_remove("KASSE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DKK or EUR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("dk.xml").exists());
}

#[test]
fn a_danish_store_exports_a_file_the_danish_schema_accepts() {
    let test = "a_danish_store_exports_a_file_the_danish_schema_accepts";
    let Some((_, dk_xsd, dsig)) = schemas(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kasse.db");
    let mut config = Config::default();
    config.till.id = "dk1".into();
    config.till.currency = Currency::Dkk;
    config.signing.country = "DK".into();
    config.signing.company_ident = "12345678".into();
    let signer = Signer::for_till(&config, Some(&db)).unwrap();
    // 2026-06-01 10:00 in Copenhagen (summer time).
    let start = 1_780_300_800_000;
    let filled = generate::fill(&db, &signer, 55, start, |_| {}).unwrap();
    // The day closes with an X and a Z report (exported as eventReports).
    let end = filled.last_ms + 60_000;
    let store = Store::open(&db)
        .unwrap()
        .with_clock(kasse::clock::ManualClock::at_ms(end).clock());
    store.take_x_report("dk1", Currency::Dkk, None).unwrap();
    let z = store.take_z_report("dk1", Currency::Dkk, None).unwrap();
    assert_eq!(z.sales.count, 55);
    let file = dir.path().join("dk.xml");
    let options = SaftOptions {
        dialect: Dialect::Denmark,
        from: time::macros::date!(2026 - 06 - 01),
        to: time::macros::date!(2026 - 06 - 01),
        company: Company {
            ident: "12345678".into(),
            name: "Café Ørsted ApS".into(),
            address: Some(Address {
                street: "Nørregade".into(),
                number: "7".into(),
                postal_code: "1165".into(),
                city: "København K".into(),
            }),
        },
        currency: Currency::Dkk,
        register_id: "dk1".into(),
        register_desc: "Kasse 1".into(),
        now_ms: start + 86_400_000,
        destination: file.display().to_string(),
    };
    let out = std::fs::File::create(&file).unwrap();
    let (summary, _) = saft::export(&store, &options, out).unwrap();
    assert_eq!(summary.transactions, 56, "55 sales and one return");
    let dk = danish_schema(dir.path(), &dk_xsd, &dsig);
    if let Err(e) = validate(&file, &dk) {
        panic!("{} does not validate:\n{e}", file.display());
    }
    let xml = std::fs::read_to_string(&file).unwrap();
    let t = texts(&xml);
    assert_eq!(all(&t, "cashtransaction/certificateData").len(), 56);
    assert!(all(&t, "cashtransaction/certificateData")[0].contains("BEGIN PUBLIC KEY"));
    assert_eq!(all(&t, "header/curCode"), ["DKK"]);
    assert_eq!(all(&t, "eventReport/reportType"), ["X report", "Z report"]);
    let totals: Vec<i64> = all(&t, "reportTotalCashSales/totalCashSaleAmnt")
        .iter()
        .map(|a| minor(a))
        .collect();
    assert_eq!(totals, [z.sales.amount, z.sales.amount]);
    // Denmark requires the payments per employee: the generated sales had no cashier ("0").
    assert_eq!(all(&t, "reportEmpPayment/empID"), ["0", "0"]);
    let by_emp: Vec<i64> = all(&t, "reportEmpPayment/paymentAmnt")
        .iter()
        .map(|a| minor(a))
        .collect();
    assert_eq!(by_emp, [z.sales.amount, z.sales.amount]);
}

/// Cash, card and split sales and a return paid back in cash export with their own payment
/// codes and article groups, and the file still validates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saft_export_of_cash_split_and_till_returns_validates() {
    let test = "saft_export_of_cash_split_and_till_returns_validates";
    let Some((no_xsd, _, _)) = schemas(test) else {
        return;
    };
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    wait_for(&mut rx, "ready", is_ready).await;
    let tender = |kind, amount| Command::Tender {
        tender: kind,
        amount,
        reference: None,
    };
    use kasse::core::tender::TenderKind;
    // A cash sale, then 100.00 cash + the rest by Vipps.
    engine.send(Command::Pay { basket: basket() }).unwrap();
    let EngineEvent::AwaitingCheckIn {
        sale_id: cash_sale, ..
    } = wait_for(&mut rx, "waiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await
    else {
        unreachable!()
    };
    engine.send(tender(TenderKind::Cash, 20_000)).unwrap();
    wait_for(&mut rx, "idle", |e| matches!(e, EngineEvent::Idle)).await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "waiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine.send(tender(TenderKind::Cash, 10_000)).unwrap();
    wait_for(&mut rx, "rest", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { amount: 2_900, .. })
    })
    .await;
    customer_scans_and_approves(&env, &mut rx).await;
    wait_for(&mut rx, "idle", |e| matches!(e, EngineEvent::Idle)).await;
    // One bread of the cash sale back in cash.
    engine
        .send(Command::Return {
            sale_id: cash_sale,
            lines: vec![kasse::store::returns::ReturnLine {
                position: 1,
                quantity: 1,
            }],
            to: None,
        })
        .unwrap();
    wait_for(&mut rx, "returned", |e| {
        matches!(e, EngineEvent::ReturnDone { .. })
    })
    .await;
    // A training sale in cash: journalled, counted apart, never a signed cash transaction.
    assert!(env.store().set_training_mode(true, None).unwrap());
    engine
        .send(Command::Pay {
            basket: one_item(4_000),
        })
        .unwrap();
    wait_for(&mut rx, "training sale", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine.send(tender(TenderKind::Cash, 4_000)).unwrap();
    wait_for(&mut rx, "idle", |e| matches!(e, EngineEvent::Idle)).await;
    assert!(env.store().set_training_mode(false, None).unwrap());
    engine.send(Command::Shutdown).unwrap();
    engine.closed().await;

    // The day closes: X, then Z; both are journalled whole and exported as eventReports.
    let store = env.store();
    store.take_x_report("demo1", Currency::Nok, None).unwrap();
    let z = store.take_z_report("demo1", Currency::Nok, None).unwrap();
    let rows = signed_rows(&env.store());
    assert_eq!(rows.len(), 3);
    assert!(rows[2].return_id.is_some());
    let day = rows[0].trans_date.clone();
    let config = env.write_config();
    let dir = tempfile::tempdir().unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .arg("--config")
        .arg(&config)
        .args(["saft", "export", "--from", &day, "--to", &day, "--out"])
        .arg(dir.path())
        .args(["--company-ident", "999999999"])
        .env_remove("KASSE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let file = PathBuf::from(line["file"].as_str().unwrap());
    if let Err(e) = validate(&file, &no_xsd) {
        panic!("{} does not validate:\n{e}", file.display());
    }
    let xml = std::fs::read_to_string(&file).unwrap();
    let t = texts(&xml);
    let types = all(&t, "payment/paymentType");
    assert_eq!(types, ["12001", "12001", "12011", "12001"], "{types:?}");
    let amounts: Vec<i64> = all(&t, "payment/paidAmnt")
        .iter()
        .map(|a| minor(a))
        .collect();
    assert_eq!(amounts, [12_900, 10_000, 2_900, -1_500]);
    // Lines carry the items' predefined article groups (the test basket's items are not in
    // the catalogue: sale of goods).
    assert!(all(&t, "ctLine/artGroupID").iter().all(|g| *g == "04003"));
    assert!(xml.contains("<predefinedBasicID>04003</predefinedBasicID>"));
    assert_eq!(all(&t, "eventReport/reportType"), ["X report", "Z report"]);
    assert_eq!(all(&t, "eventReport/reportID")[1], "Z1");
    let totals: Vec<i64> = all(&t, "reportTotalCashSales/totalCashSaleAmnt")
        .iter()
        .map(|a| minor(a))
        .collect();
    assert_eq!(totals, [z.sales.amount, z.sales.amount]);
    assert_eq!(z.sales.amount, 2 * 12_900);
    let paid: Vec<i64> = all(&t, "reportPayment/paymentAmnt")
        .iter()
        .map(|a| minor(a))
        .collect();
    // X and Z: cash 129.00 + 100.00, Vipps 29.00.
    assert_eq!(paid, [22_900, 2_900, 22_900, 2_900]);
    assert_eq!(
        all(&t, "eventReport/reportGrandTotalSalesNet")[1],
        "243.00",
        "258.00 sold, 15.00 returned"
    );
    // The training sale: in the reports' training figures, in the events, not a transaction.
    assert_eq!(all(&t, "eventReport/reportTrainingNum"), ["1", "1"]);
    assert_eq!(
        all(&t, "eventReport/reportTrainingAmnt"),
        ["40.00", "40.00"]
    );
    assert_eq!(all(&t, "cashtransaction/nr").len(), 3);
    for kind in [
        "training_mode_on",
        "training_mode_off",
        "training_sale_concluded",
    ] {
        assert!(
            xml.contains(&format!("<eventType>{kind}</eventType>")),
            "{kind}"
        );
    }
}
