//! Signed transactions: every completed sale and refund is signed as it concludes, the chain
//! runs per register from "0", and each signature verifies independently of Kasse's own code
//! (`openssl dgst -verify` over a text this test builds itself). `kasse journal verify` names
//! the first row that was edited in a copy of the database.

use std::path::Path;
use std::process::Command as Process;

use crate::engine_support::*;
use kasse::compliance::verify::{self, Verdict};
use kasse::compliance::{Signer, sign_sale};
use kasse::config::Config;
use kasse::core::basket::Basket;
use kasse::core::catalog::Item;
use kasse::core::money::Currency;
use kasse::core::vat::VatRate;
use kasse::engine::{Command, Engine, EngineEvent, MessageId};
use kasse::store::{SignedTransaction, Store, kind};
use rusqlite::Connection;

/// The signed amount format, written out here rather than taken from Kasse.
fn money(minor: i64) -> String {
    format!(
        "{}{}.{:02}",
        if minor < 0 { "-" } else { "" },
        minor.abs() / 100,
        minor.abs() % 100
    )
}

fn signed_rows(store: &Store) -> Vec<SignedTransaction> {
    let mut rows = Vec::new();
    store
        .for_each_signed_transaction(|t| -> Result<(), kasse::store::StoreError> {
            rows.push(t);
            Ok(())
        })
        .unwrap();
    rows
}

/// `openssl` on this machine, or `None` (skipped with a line outside CI; CI requires it).
fn openssl() -> Option<&'static str> {
    let ok = Process::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("openssl");
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "openssl is required under CI (.ci/run installs it)");
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped the openssl check: openssl is not installed"
    );
    None
}

/// Verifies `signature_b64` over `text` with `openssl dgst -<digest> -verify`.
fn openssl_verifies(digest: &str, public_pem: &str, text: &str, signature_b64: &str) -> bool {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("public.pem");
    let data = dir.path().join("text");
    let sig = dir.path().join("sig");
    std::fs::write(&key, public_pem).unwrap();
    std::fs::write(&data, text.as_bytes()).unwrap();
    std::fs::write(
        &sig,
        base64::engine::general_purpose::STANDARD
            .decode(signature_b64)
            .unwrap(),
    )
    .unwrap();
    let out = Process::new("openssl")
        .arg("dgst")
        .arg(format!("-{digest}"))
        .arg("-verify")
        .arg(&key)
        .arg("-signature")
        .arg(&sig)
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && stdout.contains("Verified OK")
}

/// A consistent copy of a live database (WAL included).
fn copy_db(from: &Path, to: &Path) {
    let conn = Connection::open(from).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
        .unwrap();
}

/// Runs `kasse journal verify` on `db`; exit code and standard output.
fn kasse_verify(db: &Path, extra: &[&str]) -> (i32, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .args(["journal", "verify", "--database"])
        .arg(db)
        .args(extra)
        .env_remove("KASSE_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Edits a copy of `db` with the protective triggers dropped, then verifies it.
fn verify_edited(db: &Path, sql: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    copy_db(db, &copy);
    let conn = Connection::open(&copy).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_no_update; DROP TRIGGER signed_transaction_no_update;
         DROP TRIGGER signed_transaction_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    kasse_verify(&copy, &[])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_and_refunds_are_signed_in_one_chain_that_verifies_independently() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    wait_for(&mut rx, "ready", is_ready).await;
    let first = complete_sale(&engine, &mut rx, &env).await;
    let second = complete_sale(&engine, &mut rx, &env).await;
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
    let third = complete_sale(&engine, &mut rx, &env).await;
    engine.send(Command::Shutdown).unwrap();
    engine.closed().await;

    let store = env.store();
    let rows = signed_rows(&store);
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let expected = [
        (first, 11001, 12_900),
        (second, 11001, 12_900),
        (first, 11006, -5_000),
        (third, 11001, 12_900),
    ];
    for (i, (t, (sale, trans_type, amount_in))) in rows.iter().zip(expected).enumerate() {
        assert_eq!(t.register_id, "demo1");
        assert_eq!(t.nr, i as i64 + 1);
        assert_eq!(
            (t.sale_id, t.trans_type, t.amount_in),
            (sale, trans_type, amount_in)
        );
        assert!(t.key_version.starts_with("TEST-"), "{}", t.key_version);
        assert_eq!(t.trans_date.len(), 10);
        assert_eq!(t.trans_time.len(), 8);
    }
    // The basket: 99.00 at 25 % and 2 x 15.00 at 15 %. Ex VAT: 79.20 + 26.09 = 105.29.
    assert_eq!(rows[0].amount_ex, 10_529);
    // A refund of 50.00 of 129.00, split like the sale: 50.00 * 105.29 / 129.00 = 40.81.
    assert_eq!(rows[2].amount_ex, -4_081);
    assert!(rows[2].refund_op_id.is_some());

    // The key is stored (public half only), marked as the test key.
    let keys = store.signing_keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].test_key);
    assert_eq!(keys[0].scheme, "NO-RSA-SHA1");
    assert!(
        keys[0]
            .public_key_pem
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let file = std::fs::read_to_string(
        env.config
            .database_path()
            .unwrap()
            .parent()
            .unwrap()
            .join("kasse-test-signing-key.pem"),
    )
    .unwrap();
    assert!(file.starts_with("# Kasse TEST signing key"));

    // Independently: the text built here, chained from "0", verified by openssl.
    let tool = openssl();
    let mut previous = "0".to_string();
    for t in &rows {
        let text = format!(
            "{previous};{};{};{};{};{}",
            t.trans_date,
            t.trans_time,
            t.nr,
            money(t.amount_in),
            money(t.amount_ex)
        );
        assert!(text.starts_with(&format!("{previous};")));
        if tool.is_some() {
            assert!(
                openssl_verifies("sha1", &keys[0].public_key_pem, &text, &t.signature),
                "openssl does not verify {text:?}"
            );
        }
        previous = t.signature.clone();
    }

    // The journal records each signature with its codes, and the concluding rows are coded.
    let journal = store.journal_since(0, 10_000).unwrap();
    let signed: Vec<_> = journal
        .iter()
        .filter(|e| e.kind == kind::SALE_SIGNED || e.kind == kind::RETURN_SIGNED)
        .collect();
    assert_eq!(signed.len(), 4);
    assert_eq!(signed[2].kind, kind::RETURN_SIGNED);
    assert_eq!(signed[2].codes.unwrap().transaction.unwrap().0, 11006);
    assert_eq!(signed[0].payload["test_key"], true);
    assert_eq!(signed[0].payload["signature"], rows[0].signature.as_str());
    let captured = journal
        .iter()
        .find(|e| e.kind == kind::PAYMENT_CAPTURED)
        .unwrap();
    let codes = captured.codes.unwrap();
    assert_eq!(
        (codes.transaction.unwrap().0, codes.payment.unwrap().0),
        (11001, 12011)
    );
    assert!(journal.iter().all(|e| e.codes.is_some()));

    match verify::verify(&store, None).unwrap() {
        Verdict::Intact(r) => {
            assert_eq!(r.registers.len(), 1);
            assert_eq!(r.registers[0].transactions, 4);
            assert_eq!(r.registers[0].last_signature, rows[3].signature);
        }
        Verdict::Broken(b) => panic!("{b:?}"),
    }

    // `kasse journal verify` on the database, then on edited copies.
    let db = env.config.database_path().unwrap();
    let (code, out) = kasse_verify(&db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("register demo1: 4 signed transactions"),
        "{out}"
    );
    assert!(out.contains("TEST KEY"), "{out}");

    let seq = signed[1].seq;
    let (code, out) = verify_edited(
        &db,
        &format!(
            "UPDATE journal SET payload = replace(payload, '\"amount_in\":12900', '\"amount_in\":1290') WHERE seq = {seq}"
        ),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("BROKEN at journal row {seq}\n")),
        "{out}"
    );
    assert!(
        out.contains("expected: hash ") && out.contains("found:    hash "),
        "{out}"
    );

    let (code, out) = verify_edited(
        &db,
        "UPDATE signed_transaction SET amount_in = 1290 WHERE nr = 2",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at signed_transaction 2 of register demo1"),
        "{out}"
    );
    assert!(
        out.contains("amount_in = 12900") && out.contains("amount_in = 1290\n"),
        "{out}"
    );

    let (code, out) = verify_edited(
        &db,
        &format!("UPDATE sale SET total = 100, excluding_tax = 80, tax = 20 WHERE id = {second}"),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("BROKEN at sale {second}")), "{out}");

    let (code, out) = verify_edited(&db, "DELETE FROM signed_transaction WHERE nr = 4");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at signed_transaction 4 of register demo1"),
        "{out}"
    );

    // Checked against another public key (say the declared one), the first signature fails.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    let other_key = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
    let pem = rsa::pkcs8::EncodePublicKey::to_public_key_pem(
        &other_key.to_public_key(),
        rsa::pkcs8::LineEnding::LF,
    )
    .unwrap();
    std::fs::write(&other, pem).unwrap();
    let (code, out) = kasse_verify(&db, &["--public-key", other.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at signed transaction 1 of register demo1"),
        "{out}"
    );
    std::fs::write(&other, &keys[0].public_key_pem).unwrap();
    let (code, out) = kasse_verify(&db, &["--public-key", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("signatures checked with the given public key"),
        "{out}"
    );
}

fn shop_basket(currency: Currency, rate: VatRate) -> Basket {
    let mut b = Basket::new(currency);
    b.add_item(&Item::new("kaffe", "Kaffe", 4_500, rate))
        .unwrap();
    b
}

/// Signs three sales of a fresh store with `config`'s signer; returns the store's rows and
/// the signer's public key.
fn sign_three(config: &Config, basket: &Basket) -> (Vec<SignedTransaction>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let mut store = Store::open(&path).unwrap();
    let signer = Signer::for_till(config, Some(&path)).unwrap();
    let clock = store.clock();
    for i in 0..3 {
        let tx = store.conn_mut().transaction().unwrap();
        let s = Store::on(&tx, clock.clone());
        let sale = s.freeze_sale(basket).unwrap();
        // 2024-06-01 10:00:00 UTC, a second apart: 12:00:0i in Norway (summer time).
        sign_sale(&s, &signer, sale, 1_717_236_000_000 + i * 1_000).unwrap();
        tx.commit().unwrap();
    }
    // Signing the same sale again changes nothing.
    let again = sign_sale(
        &Store::on(store.conn(), clock),
        &signer,
        1,
        1_717_300_000_000,
    )
    .unwrap();
    assert_eq!(again.nr, 1);
    let rows = signed_rows(&store);
    assert!(matches!(
        verify::verify(&store, None).unwrap(),
        Verdict::Intact(_)
    ));
    (
        rows,
        signer.public_key_pem().to_string(),
        signer.key_version().to_string(),
    )
}

#[test]
fn norwegian_text_and_rsa_sha1() {
    let mut config = Config::default();
    config.till.id = "kasse7".into();
    let (rows, public, _) = sign_three(&config, &shop_basket(Currency::Nok, VatRate::NO_STANDARD));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0].trans_date.as_str(), rows[0].trans_time.as_str()),
        ("2024-06-01", "12:00:00")
    );
    assert_eq!(rows[2].trans_time, "12:00:02");
    assert_eq!((rows[0].amount_in, rows[0].amount_ex), (4_500, 3_600));
    let tool = openssl();
    let mut previous = "0".to_string();
    for t in &rows {
        let text = format!(
            "{previous};2024-06-01;{};{};45.00;36.00",
            t.trans_time, t.nr
        );
        if tool.is_some() {
            assert!(
                openssl_verifies("sha1", &public, &text, &t.signature),
                "{text}"
            );
            // And not as SHA-512: the digest is part of what is checked.
            assert!(!openssl_verifies("sha512", &public, &text, &t.signature));
        }
        previous = t.signature.clone();
    }
}

#[test]
fn danish_text_and_rsa_sha512() {
    let mut config = Config::default();
    config.till.id = "kasse7".into();
    config.till.currency = kasse::config::Currency::Dkk;
    config.signing.company_ident = "12345678".into();
    let (rows, public, _) = sign_three(&config, &shop_basket(Currency::Dkk, VatRate::DK_STANDARD));
    let tool = openssl();
    let mut previous = "0".to_string();
    for t in &rows {
        // prevSig;nr;transID;transType;transDate;transTime;empID;transAmntIn;transAmntEx;registerID;companyIdent
        let text = format!(
            "{previous};{nr};{nr};11001;2024-06-01;{};0;45.00;36.00;kasse7;12345678",
            t.trans_time,
            nr = t.nr
        );
        if tool.is_some() {
            assert!(
                openssl_verifies("sha512", &public, &text, &t.signature),
                "{text}"
            );
        }
        previous = t.signature.clone();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_vipps_settings_refuse_the_test_key_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.till.id = "kasse1".into();
    config.vipps.environment = kasse::config::VippsEnvironment::Production;
    config.store.database = dir.path().join("kasse.db").to_string_lossy().into_owned();
    let store = Store::open(&config.database_path().unwrap()).unwrap();
    let (engine, mut rx) = Engine::start(config, store);
    let e = wait_for(&mut rx, "refusal", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::ConfigInvalid,
                ..
            }
        )
    })
    .await;
    let EngineEvent::Problem { detail, .. } = e else {
        unreachable!()
    };
    assert!(detail.unwrap_or_default().contains("TEST signing key"));
    engine.closed().await;
}

#[test]
fn public_key_command_prints_the_key_and_marks_the_test_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.till.id = "kasse1".into();
    config.store.database = dir.path().join("kasse.db").to_string_lossy().into_owned();
    let path = dir.path().join("kasse.toml");
    config.save(&path).unwrap();
    let run = |config: &Path| {
        Process::new(env!("CARGO_BIN_EXE_kasse"))
            .args(["signing", "public-key", "--config"])
            .arg(config)
            .output()
            .unwrap()
    };
    let out = run(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("-----BEGIN PUBLIC KEY-----"), "{stdout}");
    assert!(!stdout.contains("PRIVATE") && !stderr.contains("PRIVATE"));
    assert!(
        stderr.contains("TEST KEY") && stderr.contains("key version TEST-"),
        "{stderr}"
    );

    // A supplier key readable by others is refused with a clear message.
    let key = dir.path().join("supplier.pem");
    let text = std::fs::read_to_string(dir.path().join("kasse-test-signing-key.pem")).unwrap();
    let pem: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&key, pem).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    config.signing.key_file = key.to_string_lossy().into_owned();
    config.signing.key_version = "supplier-2026-1".into();
    config.save(&path).unwrap();
    let out = run(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("key version supplier-2026-1"), "{stderr}");
    assert!(!stderr.contains("TEST KEY"), "{stderr}");
}

#[test]
fn journal_export_writes_json_lines_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("till.db");
    {
        let store = Store::open(&db).unwrap();
        store
            .append_journal(
                kasse::engine::db::jk::ENGINE_STARTED,
                &serde_json::json!({}),
            )
            .unwrap();
    }
    let out_file = dir.path().join("journal.jsonl");
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .args([
            "journal",
            "export",
            "--from",
            "2000-01-01",
            "--to",
            "2999-12-31",
            "--database",
        ])
        .arg(&db)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event_code"], 13001);
    assert_eq!(lines[0]["codes"], "POS application start");
    // The export itself is journalled, and the journal still verifies.
    let (code, out) = kasse_verify(&db, &[]);
    assert_eq!(code, 0, "{out}");
    let store = Store::open(&db).unwrap();
    let rows = store.journal_since(0, 10).unwrap();
    assert_eq!(rows.last().unwrap().kind, kind::JOURNAL_EXPORTED);
    // Out of range: nothing.
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .args(["journal", "export", "--to", "2000-01-01", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .args(["journal", "export", "--from", "last tuesday", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Bytes the journal holds (row contents as SQLite stores them, without page overhead).
fn journal_bytes(store: &Store) -> (i64, i64) {
    store
        .conn()
        .query_row(
            "SELECT count(*), coalesce(sum(length(CAST(kind AS BLOB)) + length(CAST(payload AS BLOB))
                    + length(prev_hash) + length(hash) + 6 * 8), 0)
             FROM journal",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn file_bytes(store: &Store) -> i64 {
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    store
        .conn()
        .query_row(
            "SELECT (page_count - freelist_count) * page_size
             FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// The journal's size per sale, measured over sales run through the engine: printed (it goes
/// into docs/compliance.md) and bounded so a bloated journal fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_bytes_per_sale() {
    const SALES: i64 = 25;
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    wait_for(&mut rx, "ready", is_ready).await;
    let (rows0, bytes0, file0) = {
        let store = env.store();
        let (r, b) = journal_bytes(&store);
        (r, b, file_bytes(&store))
    };
    for _ in 0..SALES {
        complete_sale(&engine, &mut rx, &env).await;
    }
    engine.send(Command::Shutdown).unwrap();
    engine.closed().await;
    let store = env.store();
    let (rows1, bytes1) = journal_bytes(&store);
    let file1 = file_bytes(&store);
    let signed: i64 = store
        .conn()
        .query_row(
            "SELECT sum(length(register_id) + length(trans_id) + length(emp_id) + 10 + 8
                    + length(currency) + length(company_ident) + length(key_version)
                    + length(signature) + 8 * 9) FROM signed_transaction",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let per_sale_rows = (rows1 - rows0) as f64 / SALES as f64;
    let per_sale = (bytes1 - bytes0) / SALES;
    let per_sale_file = (file1 - file0) / SALES;
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "journal per sale: {per_sale_rows:.1} rows, {per_sale} bytes of row content; \
         signed_transaction {} bytes; whole database file {per_sale_file} bytes per sale \
         (a year at 500 sales a day: {:.0} MB)",
        signed / SALES,
        (per_sale_file * 500 * 365) as f64 / 1e6
    );
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT kind, count(*), sum(length(CAST(payload AS BLOB)) + length(kind) + 128 + 48)
             FROM journal WHERE seq > ?1 GROUP BY kind ORDER BY 3 DESC",
        )
        .unwrap();
    let by_kind: Vec<(String, i64, i64)> = stmt
        .query_map([rows0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, count, bytes) in by_kind {
        let _ = writeln!(
            std::io::stderr(),
            "  {kind:<22} {:>5.1} rows {:>6} bytes per sale",
            count as f64 / SALES as f64,
            bytes / SALES
        );
    }
    assert!(
        per_sale > 1_000 && per_sale < 16_000,
        "{per_sale} bytes per sale"
    );
    assert!(
        per_sale_file < 40_000,
        "{per_sale_file} file bytes per sale"
    );
}
