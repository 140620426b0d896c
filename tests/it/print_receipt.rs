//! Receipts on paper and as PDF: a fake network printer (a TCP listener on 127.0.0.1 that
//! records the bytes), the ESC/POS stream decoded back to lines and flags, the printer going
//! away mid-receipt, the copy rule (one copy, marked KOPI, a second refused), return
//! receipts, PDFs read back with `pdftotext`, the headless `kasse receipt` and `kasse
//! qr-sticker` (its QR decoded with `zbarimg`).

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Mutex;
use std::time::Duration;

use kasse::compliance::{Signer, sign_return, sign_sale};
use kasse::config::{Config, PrinterConnection};
use kasse::core::basket::Basket;
use kasse::core::catalog::Item;
use kasse::core::money::{Currency, Locale, format_minor};
use kasse::core::receipt_doc::{self, DocKind, TenderLine};
use kasse::core::sale::SaleState;
use kasse::core::tender::TenderKind;
use kasse::core::vat::VatRate;
use kasse::print::escpos::{self, Decoded};
use kasse::print::pdf::Paper;
use kasse::print::{Destination, PrintError, PrinterError, Request, queue, source};
use kasse::store::Store;
use rusqlite::params;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 2026-06-01 10:00:00 UTC: 12:00:00 in Norway.
const NOW_MS: i64 = 1_780_308_000_000;
const DEADLINE: Duration = Duration::from_secs(20);

/// A till with its configuration file, database and one completed, signed Vipps sale.
struct Till {
    dir: tempfile::TempDir,
    config: Config,
    config_path: PathBuf,
    store: Mutex<Store>,
    sale_id: i64,
    reference: String,
    total: i64,
}

impl Till {
    fn new(connection: PrinterConnection) -> Till {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kasse.db");
        let mut config = Config::default();
        config.till.id = "till1".into();
        config.till.name = "Disk 1".into();
        config.store.database = db.to_string_lossy().into_owned();
        config.shop.name = "Blåbær & Ørret AS".into();
        config.shop.org_nr = "999999999".into();
        config.shop.address = "Storgata 1\n0155 Oslo".into();
        config.shop.footer = "Takk for handelen!".into();
        config.printer.connection = connection;
        config.printer.columns = 42;
        let config_path = dir.path().join("kasse.toml");
        config.save(&config_path).unwrap();

        let mut store = Store::open(&db).unwrap();
        let signer = Signer::for_till(&config, Some(&db)).unwrap();
        let mut basket = Basket::new(Currency::Nok);
        let l = basket
            .add_item(&Item::new(
                "sku-1",
                "Sokker blå",
                5_000,
                VatRate::NO_STANDARD,
            ))
            .unwrap();
        basket.set_quantity(l, 2).unwrap();
        basket
            .add_item(&Item::new("sku-2", "Grovbrød", 3_990, VatRate::NO_FOOD))
            .unwrap();
        let total = basket.check_payable().unwrap();
        let clock = store.clock();
        let tx = store.conn_mut().transaction().unwrap();
        let s = Store::on(&tx, clock);
        let sale_id = s.freeze_sale(&basket).unwrap();
        let reference = format!("till1-abc-{sale_id}");
        tx.execute(
            "INSERT INTO payment_attempt (sale_id, reference, amount, currency, customer_kind,
                 status, captured_amount, resolved, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, 'NOK', 'token', 'completed', ?3, 1, ?4, ?4)",
            params![sale_id, reference, total, NOW_MS],
        )
        .unwrap();
        s.set_sale_state(sale_id, SaleState::Completed).unwrap();
        sign_sale(&s, &signer, sale_id, NOW_MS).unwrap();
        tx.commit().unwrap();
        Till {
            dir,
            config,
            config_path,
            store: Mutex::new(store),
            sale_id,
            reference,
            total,
        }
    }

    /// A completed refund of `amount`, signed as a return; its operation id.
    fn refund(&self, amount: i64) -> i64 {
        let db = PathBuf::from(&self.config.store.database);
        let signer = Signer::for_till(&self.config, Some(&db)).unwrap();
        let mut store = self.store.lock().unwrap();
        let clock = store.clock();
        let tx = store.conn_mut().transaction().unwrap();
        let attempt: i64 = tx
            .query_row(
                "SELECT id FROM payment_attempt WHERE sale_id = ?1",
                [self.sale_id],
                |r| r.get(0),
            )
            .unwrap();
        tx.execute(
            "INSERT INTO payment_operation (attempt_id, kind, seq, idempotency_key, amount,
                 status, created_at_ms, finished_at_ms)
             VALUES (?1, 'refund', 1, ?2, ?3, 'succeeded', ?4, ?4)",
            params![
                attempt,
                format!("{}-refund-1", self.reference),
                amount,
                NOW_MS
            ],
        )
        .unwrap();
        let op = tx.last_insert_rowid();
        sign_return(
            &Store::on(&tx, clock),
            &signer,
            self.sale_id,
            op,
            amount,
            NOW_MS + 60_000,
        )
        .unwrap();
        tx.commit().unwrap();
        op
    }

    async fn issue(&self, request: Request, to: &Destination) -> Result<Vec<u8>, PrintError> {
        let settings = self.config.print_settings();
        kasse::print::issue(&self.store, &settings, self.sale_id, request, to)
            .await
            .map(|i| i.bytes)
    }

    fn journal_codes(&self) -> Vec<i64> {
        let store = self.store.lock().unwrap();
        let mut stmt = store
            .conn()
            .prepare(
                "SELECT event_code FROM journal WHERE kind LIKE '%receipt_issued' ORDER BY seq",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// What the fake printer does with a connection. It answers the paper status query (`DLE EOT
/// 4`) with "paper present", except when out of paper.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Read everything until the till closes its side.
    Accept,
    /// Answer the status query with "paper end" and read what follows.
    PaperOut,
    /// Read at least this many bytes, then drop the connection with a reset.
    DropAfter(usize),
}

/// A network printer on 127.0.0.1: accepts one connection and hands back what it read.
async fn fake_printer(
    behaviour: Behaviour,
) -> (PrinterConnection, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() == n && buf[..n].starts_with(&[0x10, 0x04, 0x04]) {
                let status = if behaviour == Behaviour::PaperOut {
                    0x72
                } else {
                    0x12
                };
                stream.write_all(&[status]).await.unwrap();
            }
            if let Behaviour::DropAfter(limit) = behaviour
                && got.len() >= limit
            {
                stream.set_zero_linger().unwrap();
                break;
            }
        }
        got
    });
    (
        PrinterConnection::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        task,
    )
}

async fn received(task: tokio::task::JoinHandle<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the fake printer got its bytes in time")
        .unwrap()
}

/// The printed lines, runs of spaces (column padding) squeezed to one.
fn text_of(decoded: &[Decoded]) -> String {
    escpos::lines(decoded)
        .iter()
        .map(|l| {
            let indent = if l.text.starts_with("  ") { "  " } else { "" };
            let words: Vec<&str> = l.text.split_whitespace().collect();
            format!("{indent}{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn receipt_reaches_a_network_printer_in_pc865_and_is_cut() {
    let (printer, got) = fake_printer(Behaviour::Accept).await;
    let till = Till::new(printer.clone());
    let sent = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap();
    let bytes = received(got).await;
    // The paper status query, then the receipt.
    assert_eq!(bytes[..3], [0x10, 0x04, 0x04]);
    assert_eq!(bytes[3..], sent);
    // The shop name in PC865: "Bl" å "b" æ "r & " Ø "rret".
    let name: Vec<u8> = [
        b"Bl".as_slice(),
        &[0x86],
        b"b",
        &[0x91],
        b"r & ",
        &[0x9D],
        b"rret AS",
    ]
    .concat();
    assert!(bytes.windows(name.len()).any(|w| w == name.as_slice()));
    assert!(sent.starts_with(&[0x1B, 0x40, 0x1B, 0x74, 5]));

    let decoded = escpos::decode(&bytes).unwrap();
    let text = text_of(&decoded);
    let total = format_minor(till.total, Currency::Nok, Locale::Nb).replace('\u{a0}', " ");
    for want in [
        "Blåbær & Ørret AS",
        "Org.nr 999 999 999 MVA",
        "Salgskvittering",
        "Dato",
        "2026-06-01 12:00:00",
        "Kvittering nr",
        "Sokker blå",
        "Grovbrød",
        "Vipps MobilePay",
        &format!("Ref. {}", till.reference),
        "Takk for handelen!",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("KOPI"), "{text}");
    let lines = escpos::lines(&decoded);
    let total_line = lines.iter().find(|l| l.text.starts_with("Totalt")).unwrap();
    assert!(total_line.bold && total_line.height == 2);
    assert!(total_line.text.replace('\u{a0}', " ").ends_with(&total));
    assert!(
        lines
            .iter()
            .all(|l| l.text.chars().count() * usize::from(l.width) <= 42)
    );
    assert!(decoded.contains(&Decoded::Barcode {
        symbology: 73,
        data: "1".into()
    }));
    assert!(decoded.contains(&Decoded::Cut { partial: true }));
    // Vipps only: the drawer stays shut.
    assert!(
        !decoded
            .iter()
            .any(|d| matches!(d, Decoded::DrawerKick { .. }))
    );
    assert_eq!(till.journal_codes(), [13012]);
    let payload: String = till
        .store
        .lock()
        .unwrap()
        .conn()
        .query_row(
            "SELECT payload FROM journal WHERE kind = 'sales_receipt_issued'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["receipt_nr"], 1);
    assert_eq!(payload["sale_id"], till.sale_id);
    assert_eq!(payload["target"], "printer");
}

#[tokio::test]
async fn a_cash_receipt_kicks_the_drawer_after_the_cut() {
    let (printer, got) = fake_printer(Behaviour::Accept).await;
    let till = Till::new(printer.clone());
    let settings = till.config.print_settings();
    let mut data = {
        let store = till.store.lock().unwrap();
        source::receipt_data(&store, &settings.origin, till.sale_id, None).unwrap()
    };
    data.cashier = Some("Kari".into());
    data.tenders = vec![TenderLine {
        kind: TenderKind::Cash,
        amount: data.total,
        reference: None,
        tendered: Some(20_000),
        change: Some(20_000 - data.total),
    }];
    let doc = receipt_doc::build(&data, DocKind::Sales, Locale::Nb);
    let bytes = escpos::encode(&doc, &settings.escpos);
    kasse::print::connection::send(&printer, &bytes, settings.timeouts)
        .await
        .unwrap();
    let decoded = escpos::decode(&received(got).await).unwrap();
    let text = text_of(&decoded);
    assert!(
        text.contains("Kasserer: Kari") && text.contains("Tilbake"),
        "{text}"
    );
    let n = decoded.len();
    assert_eq!(decoded[n - 2], Decoded::Cut { partial: true });
    assert_eq!(decoded[n - 1], Decoded::DrawerKick { pin: 2 });
}

#[tokio::test]
async fn printer_lost_mid_receipt_keeps_it_queued_and_the_copy_rule_holds() {
    let (dropping, got) = fake_printer(Behaviour::DropAfter(64)).await;
    let mut till = Till::new(dropping);
    let err = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrintError::Printer(PrinterError::Lost { .. })),
        "{err}"
    );
    assert!(received(got).await.len() >= 64);
    {
        let store = till.store.lock().unwrap();
        let pending = queue::pending(&*store).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].job.kind, DocKind::Sales);
        assert!(
            pending[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("went away")
        );
    }
    assert!(till.journal_codes().is_empty());

    // A printer that is off: refused, still queued, still the original.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    till.config.printer.connection = PrinterConnection::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    let err = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrintError::Printer(PrinterError::Refused { .. })),
        "{err}"
    );

    // Out of paper: the printer says so when asked, nothing is printed, still queued.
    let (empty, got) = fake_printer(Behaviour::PaperOut).await;
    till.config.printer.connection = empty;
    let err = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PrintError::Printer(PrinterError::PaperOut { .. })),
        "{err}"
    );
    assert_eq!(received(got).await, [0x10, 0x04, 0x04]);

    // Print again: the original comes out, not a copy.
    let (good, got) = fake_printer(Behaviour::Accept).await;
    till.config.printer.connection = good;
    till.issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap();
    let text = text_of(&escpos::decode(&received(got).await).unwrap());
    assert!(
        text.contains("Salgskvittering") && !text.contains("KOPI"),
        "{text}"
    );

    // The next one is the copy, marked KOPI (double size).
    let (good, got) = fake_printer(Behaviour::Accept).await;
    till.config.printer.connection = good;
    till.issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap();
    let decoded = escpos::decode(&received(got).await).unwrap();
    let kopi: Vec<_> = escpos::lines(&decoded)
        .into_iter()
        .filter(|l| l.text == "KOPI")
        .collect();
    assert_eq!(kopi.len(), 2, "{decoded:?}");
    assert!(kopi.iter().all(|l| l.bold && l.width == 2 && l.height == 2));

    // A second copy is refused, to the printer and as a PDF.
    let err = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap_err();
    assert!(matches!(err, PrintError::CopyAlreadyIssued { .. }), "{err}");
    let pdf = Destination::Pdf {
        paper: Paper::A4,
        path: till.dir.path().join("third.pdf"),
    };
    let err = till.issue(Request::Receipt, &pdf).await.unwrap_err();
    assert!(err.to_string().contains("only one copy"), "{err}");
    assert!(!till.dir.path().join("third.pdf").exists());
    assert_eq!(till.journal_codes(), [13012, 13014]);
    let store = till.store.lock().unwrap();
    assert!(queue::pending(&*store).unwrap().is_empty());
    store.verify_journal().unwrap();
}

#[tokio::test]
async fn return_provisional_and_training_documents() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.escpos");
    let till = Till::new(PrinterConnection::File(file.clone()));
    let op = till.refund(5_000);
    let printed = |bytes: &[u8]| text_of(&escpos::decode(bytes).unwrap());

    let ret = printed(
        &till
            .issue(Request::Return { refund_op_id: op }, &Destination::Printer)
            .await
            .unwrap(),
    );
    for want in [
        "Returkvittering",
        "Kvittering nr 2",
        "Retur av kvittering nr 1",
        "Totalt kr -50,00",
        "Vipps MobilePay kr -50,00",
    ] {
        assert!(ret.contains(want), "missing {want:?} in\n{ret}");
    }
    let copy = printed(
        &till
            .issue(Request::Return { refund_op_id: op }, &Destination::Printer)
            .await
            .unwrap(),
    );
    assert!(
        copy.contains("Returkvittering") && copy.contains("KOPI"),
        "{copy}"
    );
    let provisional = till
        .issue(Request::Provisional, &Destination::Printer)
        .await
        .unwrap();
    let decoded = escpos::decode(&provisional).unwrap();
    let lines = escpos::lines(&decoded);
    assert!(lines.iter().any(|l| l.text.starts_with("Foreløpig")));
    // The notice is double size; every amount is normal size.
    let notice = lines
        .iter()
        .find(|l| l.text.contains("KVITTERING"))
        .unwrap();
    assert_eq!((notice.width, notice.height), (2, 2));
    assert!(
        lines
            .iter()
            .filter(|l| l.text.contains("kr\u{a0}"))
            .all(|l| (l.width, l.height) == (1, 1))
    );
    let training = printed(
        &till
            .issue(Request::Training, &Destination::Printer)
            .await
            .unwrap(),
    );
    assert!(training.contains("Treningskvittering"), "{training}");
    assert_eq!(till.journal_codes(), [13013, 13014, 13015, 13017]);
    // The file printer appended all four.
    let all = std::fs::read(&file).unwrap();
    let cuts = escpos::decode(&all)
        .unwrap()
        .into_iter()
        .filter(|d| matches!(d, Decoded::Cut { .. }))
        .count();
    assert_eq!(cuts, 4);
}

/// `tool` answers `-v` (poppler, zbar), or `None`: skipped with a printed line outside CI,
/// a failure under CI (`.ci/run` installs poppler-utils and zbar-tools).
fn tool(name: &str, test: &str) -> Option<&'static str> {
    let found = Process::new(name)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    if found {
        return Some(Box::leak(name.to_string().into_boxed_str()));
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{test}: {name} is required under CI (.ci/run installs it)"
    );
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped {test}: {name} is not installed");
    None
}

fn pdftotext(pdf: &Path) -> String {
    let out = Process::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace('\u{a0}', " ")
}

#[tokio::test]
async fn receipt_pdfs_read_back_with_pdftotext() {
    let Some(_) = tool("pdftotext", "receipt_pdfs_read_back_with_pdftotext") else {
        return;
    };
    let till = Till::new(PrinterConnection::None);
    let original = till.dir.path().join("original.pdf");
    let copy = till.dir.path().join("copy.pdf");
    till.issue(
        Request::Receipt,
        &Destination::Pdf {
            paper: Paper::Receipt { width_mm: 80 },
            path: original.clone(),
        },
    )
    .await
    .unwrap();
    till.issue(
        Request::Receipt,
        &Destination::Pdf {
            paper: Paper::A4,
            path: copy.clone(),
        },
    )
    .await
    .unwrap();
    let text = pdftotext(&original);
    for want in [
        "Blåbær & Ørret AS",
        "Org.nr 999 999 999 MVA",
        "Salgskvittering",
        "Sokker blå",
        "Grovbrød",
        "Totalt",
        "kr 139,90",
        "MVA 25 % grunnlag",
        "Vipps MobilePay",
        &till.reference,
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("KOPI"));
    // The receipt number's barcode scans (for returns).
    let test = "receipt_pdfs_read_back_with_pdftotext";
    if let (Some(_), Some(_)) = (tool("pdftoppm", test), tool("zbarimg", test)) {
        let png = till.dir.path().join("original");
        let status = Process::new("pdftoppm")
            .args(["-png", "-r", "200", "-singlefile"])
            .arg(&original)
            .arg(&png)
            .status()
            .unwrap();
        assert!(status.success());
        let out = Process::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(png.with_extension("png"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "1");
    }
    let text = pdftotext(&copy);
    assert!(
        text.contains("KOPI") && text.contains("Salgskvittering"),
        "{text}"
    );
    assert_eq!(till.journal_codes(), [13012, 13014]);
}

fn kasse(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_kasse"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("KASSE_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kasse_receipt_prints_then_gives_one_pdf_copy_and_refuses_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.escpos");
    let till = Till::new(PrinterConnection::File(file.clone()));
    drop(till.store.lock().unwrap());
    let sale = till.sale_id.to_string();
    let (code, out, err) = kasse(&till.config_path, &["receipt", &sale, "--print"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"document\":\"sales\""), "{out}");
    let text = text_of(&escpos::decode(&std::fs::read(&file).unwrap()).unwrap());
    assert!(text.contains("Salgskvittering"), "{text}");

    let pdf = dir.path().join("copy.pdf");
    let (code, out, err) = kasse(
        &till.config_path,
        &[
            "receipt",
            &sale,
            "--pdf",
            pdf.to_str().unwrap(),
            "--paper",
            "a4",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"document\":\"copy\""), "{out}");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));

    let (code, _, err) = kasse(&till.config_path, &["receipt", &sale, "--print"]);
    assert_eq!(code, 1);
    assert!(err.contains("only one copy"), "{err}");
    let (code, _, err) = kasse(&till.config_path, &["receipt", "999", "--print"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = kasse(&till.config_path, &["receipt", &sale]);
    assert_eq!(code, 2, "--print or --pdf is required");
}

#[test]
fn qr_sticker_decodes_to_the_tills_qr_content() {
    let test = "qr_sticker_decodes_to_the_tills_qr_content";
    let (Some(_), Some(_)) = (tool("pdftoppm", test), tool("zbarimg", test)) else {
        return;
    };
    let till = Till::new(PrinterConnection::None);
    let content = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
    {
        let store = till.store.lock().unwrap();
        kasse::store::attempts::meta_set(
            store.conn(),
            kasse::store::attempts::META_QR_CONTENT,
            content,
        )
        .unwrap();
    }
    // On the receipt printer too.
    let (printer, got) = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (printer, task) = rt.block_on(fake_printer(Behaviour::Accept));
        (printer, (rt, task))
    };
    let mut config = till.config.clone();
    config.printer.connection = printer;
    config.save(&till.config_path).unwrap();
    let (code, out, err) = kasse(&till.config_path, &["qr-sticker", "--print"]);
    assert_eq!(code, 0, "{out}{err}");
    let (rt, task) = got;
    let decoded = escpos::decode(&rt.block_on(received(task))).unwrap();
    assert!(
        decoded.contains(&Decoded::Qr(content.into())),
        "{decoded:?}"
    );
    assert!(text_of(&decoded).contains("Skann for å betale"));
    for size in ["a6", "a5"] {
        let pdf = till.dir.path().join(format!("sticker-{size}.pdf"));
        let (code, out, err) = kasse(
            &till.config_path,
            &["qr-sticker", "--pdf", pdf.to_str().unwrap(), "--size", size],
        );
        assert_eq!(code, 0, "{out}{err}");
        let png = till.dir.path().join(format!("sticker-{size}"));
        let status = Process::new("pdftoppm")
            .args(["-png", "-r", "100", "-singlefile"])
            .arg(&pdf)
            .arg(&png)
            .status()
            .unwrap();
        assert!(status.success());
        let out = Process::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(png.with_extension("png"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), content);
        if tool("pdftotext", test).is_some() {
            let text = pdftotext(&pdf);
            assert!(
                text.contains("Skann for å betale med Vipps / MobilePay")
                    && text.contains("Blåbær & Ørret AS")
                    && text.contains("Disk 1"),
                "{text}"
            );
        }
    }
}

/// A 200 × 60 PNG: white, with a black bar 100 dots wide in the middle rows.
fn logo_png(path: &Path) {
    let mut data = vec![255u8; 200 * 60];
    for y in 20..40 {
        for x in 50..150 {
            data[y * 200 + x] = 0;
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 200, 60);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
}

#[tokio::test]
async fn the_shops_logo_prints_as_a_raster_image_and_in_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.escpos");
    let mut till = Till::new(PrinterConnection::File(file.clone()));
    let logo = till.dir.path().join("logo.png");
    logo_png(&logo);
    till.config.shop.logo = logo.to_string_lossy().into_owned();
    assert_eq!(till.config.print_settings().shop_with_logo().1, None);

    let bytes = till
        .issue(Request::Receipt, &Destination::Printer)
        .await
        .unwrap();
    let decoded = escpos::decode(&bytes).unwrap();
    // The logo comes first, centred, at its own size (25 bytes = 200 dots wide, 60 rows),
    // with exactly the bar's dots black; the receipt's text follows unchanged.
    let image = decoded
        .iter()
        .position(|d| matches!(d, Decoded::Image { .. }))
        .expect("a raster image");
    assert_eq!(
        decoded[image],
        Decoded::Image {
            row_bytes: 25,
            height: 60,
            black: 100 * 20,
        }
    );
    let first_line = decoded
        .iter()
        .position(|d| matches!(d, Decoded::Line(_)))
        .unwrap();
    assert!(image < first_line);
    assert!(text_of(&decoded).contains("Salgskvittering"));

    // The PDF carries it as a 1-bit image.
    let pdf = till.dir.path().join("copy.pdf");
    till.issue(
        Request::Receipt,
        &Destination::Pdf {
            paper: Paper::Receipt { width_mm: 80 },
            path: pdf.clone(),
        },
    )
    .await
    .unwrap();
    let raw = std::fs::read(&pdf).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains("/Subtype /Image"), "no image in the PDF");
    assert!(raw.contains("/BitsPerComponent 1"));
    assert!(raw.contains("/Im0"));
    if tool(
        "pdftotext",
        "the_shops_logo_prints_as_a_raster_image_and_in_the_pdf",
    )
    .is_some()
    {
        assert!(pdftotext(&pdf).contains("KOPI"));
    }

    // A logo that is not a PNG: the receipt prints without it, the test page says why.
    std::fs::write(&logo, b"not an image").unwrap();
    let settings = till.config.print_settings();
    let (shop, problem) = settings.shop_with_logo();
    assert!(shop.logo.is_none());
    let problem = problem.expect("the problem is kept");
    assert!(problem.contains("not a PNG"), "{problem}");
    match kasse::print::print_test_page(&settings).await {
        Err(PrintError::Logo(why)) => assert_eq!(why, problem),
        other => panic!("expected the logo's problem, got {other:?}"),
    }
    // The page itself came out (the file printer appended it after the receipt).
    let all = escpos::decode(&std::fs::read(&file).unwrap()).unwrap();
    assert!(text_of(&all).contains("Test page / Testside"));
}
