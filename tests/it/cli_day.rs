//! The day headless: `kasse cashier`, `kasse pay --cash/--card` (alone and split with Vipps),
//! `kasse drawer`, `kasse report x|z`, on real processes against the simulator.

use crate::engine_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_kasse");

fn kasse(config: &std::path::Path, args: &[&str], pin: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("--config").arg(config).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("KASSE_") {
            cmd.env_remove(k);
        }
    }
    if let Some(pin) = pin {
        cmd.env("KASSE_CASHIER_PIN", pin);
    }
    cmd.output().unwrap()
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_headless_from_float_to_z() {
    let mut env = Env::start().await;
    // A file printer: the drawer's pulse and the receipts land in it.
    let printer = env.demo.dir.join("printer.escpos");
    env.config.printer.connection =
        kasse::print::connection::PrinterConnection::File(printer.clone());
    let config = env.write_config();

    let out = kasse(
        &config,
        &["cashier", "add", "--name", "Mona", "--role", "manager"],
        Some("4321"),
    );
    ok(&out);
    let mona = json_lines(&out)[0]["id"].as_i64().unwrap();
    let out = kasse(&config, &["cashier", "add", "--name", "Kari"], Some("1234"));
    ok(&out);
    let kari = json_lines(&out)[0]["id"].as_i64().unwrap();
    let out = kasse(&config, &["cashier", "list"], None);
    ok(&out);
    let names: Vec<_> = json_lines(&out)
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Kari", "Mona"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("argon2"));

    // The float needs a manager; a wrong PIN is refused.
    let m = mona.to_string();
    let k = kari.to_string();
    let out = kasse(
        &config,
        &["drawer", "float", "50000", "--cashier", &k],
        Some("1234"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("manager"));
    let out = kasse(
        &config,
        &["drawer", "float", "50000", "--cashier", &m],
        Some("0000"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong PIN"));
    let out = kasse(
        &config,
        &["drawer", "float", "50000", "--cashier", &m],
        Some("4321"),
    );
    ok(&out);
    assert_eq!(json_lines(&out)[0]["expected_cash"], 50_000);

    // A cash sale with change (no Vipps at all), then a split cash + Vipps sale.
    let run = env
        .run_till(
            &["pay", "--amount", "12900", "--cash", "20000"],
            None,
            Customer::Approve,
        )
        .await;
    assert!(run.status.success(), "{:#?}", run.lines);
    let outcome = run.lines.last().unwrap();
    assert_eq!(outcome["outcome"], "completed");
    assert_eq!(outcome["change"], 7_100);
    assert!(!run.has("payment_requested"));

    let run = env
        .run_till(
            &["pay", "--amount", "12900", "--cash", "10000"],
            None,
            Customer::Approve,
        )
        .await;
    assert!(run.status.success(), "{:#?}", run.lines);
    let outcome = run.lines.last().unwrap();
    assert_eq!(outcome["outcome"], "completed");
    assert_eq!(outcome["captured"], 2_900);
    let qr = run.lines.iter().find(|l| l["type"] == "qr").unwrap();
    assert_eq!(qr["amount"], 2_900);

    // A card over what is left is refused and nothing stays taken.
    let run = env
        .run_till(
            &["pay", "--amount", "5000", "--card", "6000"],
            None,
            Customer::Approve,
        )
        .await;
    assert_eq!(run.status.code(), Some(1), "{:#?}", run.lines);
    assert!(
        run.lines
            .iter()
            .any(|l| l["type"] == "problem" && l["message_id"] == "tender-refused")
    );

    let out = kasse(&config, &["report", "x", "--json"], None);
    ok(&out);
    let x = &json_lines(&out)[0];
    assert_eq!(x["kind"], "x");
    assert_eq!(x["sales"]["count"], 2);
    assert_eq!(x["sales"]["amount"], 25_800);
    assert_eq!(x["expected_cash"], 50_000 + 12_900 + 10_000);
    assert_eq!(x["by_tender"][0]["tender"], "cash");
    assert_eq!(x["by_tender"][0]["amount"], 22_900);
    assert_eq!(x["by_tender"][1]["tender"], "vipps");
    assert_eq!(x["by_tender"][1]["amount"], 2_900);

    // A manager opens the drawer without a sale: recorded, and the pulse goes to the printer.
    let out = kasse(&config, &["drawer", "open", "--cashier", &m], Some("4321"));
    ok(&out);
    assert_eq!(json_lines(&out)[0]["kicked"], true);
    let bytes = std::fs::read(&printer).unwrap();
    assert!(
        bytes.windows(5).any(|w| w == [0x1b, b'p', 0, 25, 250]),
        "a drawer-kick pulse was sent"
    );
    // Training mode headless: on (a manager's PIN), the Z waits, off again.
    let out = kasse(&config, &["training", "on", "--cashier", &m], Some("4321"));
    ok(&out);
    assert_eq!(json_lines(&out)[0]["training"], true);
    assert_eq!(json_lines(&out)[0]["changed"], true);
    let out = kasse(&config, &["training", "status"], None);
    ok(&out);
    assert_eq!(json_lines(&out)[0]["training"], true);
    let out = kasse(&config, &["report", "z"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("training mode"));
    let out = kasse(&config, &["training", "off"], None);
    ok(&out);
    assert_eq!(json_lines(&out)[0]["training"], false);
    let out = kasse(&config, &["drawer", "count", "72900"], None);
    ok(&out);
    assert_eq!(json_lines(&out)[0]["difference"], 0);
    let out = kasse(
        &config,
        &["report", "z", "--cashier", &m, "--print"],
        Some("4321"),
    );
    ok(&out);
    // The Z report went to the printer too.
    let printed = std::fs::read(&printer).unwrap();
    assert!(
        printed.windows(11).any(|w| w == b"Z-rapport 1"),
        "the Z report was printed"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Z-rapport 1"), "{text}");
    assert!(text.contains("Grand total salg"), "{text}");
    let out = kasse(&config, &["report", "z"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already"));
    let out = kasse(&config, &["report", "show", "1", "--json"], None);
    ok(&out);
    assert_eq!(json_lines(&out)[0]["z_nr"], 1);
    assert_eq!(json_lines(&out)[0]["cash_difference"], 0);
}
