//! `kasse receipt SALE_ID --print | --pdf OUT`: issue a sale's receipt (the original first,
//! then the one copy marked KOPI; a second copy is refused) to the configured printer or as a
//! PDF. `kasse qr-sticker --pdf OUT`: the till's QR as a sticker to put on the counter.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use serde_json::json;

use super::{exit, load_config, open_store, print_line};
use crate::core::receipt_doc::Words;
use crate::print::pdf::{Paper, Sticker, StickerSize};
use crate::print::{Destination, PrintError, Request};
use crate::store::attempts::{META_QR_CONTENT, meta_get};

/// The page of a receipt PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PaperArg {
    /// A4, the receipt in a centred column.
    A4,
    /// As wide as the receipt paper (`printer.paper_width_mm`).
    Receipt,
}

/// `kasse receipt`
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["print", "pdf"])))]
pub struct ReceiptArgs {
    /// The sale (its id from `kasse pay` output or the history).
    pub sale_id: i64,
    /// Print on the configured receipt printer (`printer.connection`).
    #[arg(long)]
    pub print: bool,
    /// Write a PDF to this file.
    #[arg(long, value_name = "OUT")]
    pub pdf: Option<PathBuf>,
    /// The PDF's page.
    #[arg(long, value_enum, default_value = "receipt")]
    pub paper: PaperArg,
    /// The return receipt of this refund (its operation id) instead of the sale's receipt.
    #[arg(long, value_name = "REFUND_ID", conflicts_with_all = ["provisional", "training"])]
    pub refund: Option<i64>,
    /// A provisional receipt ("Foreløpig kvittering", not a receipt for a purchase).
    #[arg(long, conflicts_with = "training")]
    pub provisional: bool,
    /// A training receipt (not a receipt for a purchase).
    #[arg(long)]
    pub training: bool,
}

/// `kasse receipt`: prints one JSON line for the document issued. Exit 0 when it came out;
/// 1 when the printer failed (the receipt stays queued: run the same command to print it
/// again) or a second copy was asked for.
pub async fn run(config_path: Option<PathBuf>, args: ReceiptArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let settings = config.print_settings();
    let store = Mutex::new(open_store(&config)?);
    let request = match (args.refund, args.provisional, args.training) {
        (Some(refund_op_id), _, _) => Request::Return { refund_op_id },
        (None, true, _) => Request::Provisional,
        (None, _, true) => Request::Training,
        _ => Request::Receipt,
    };
    let destination = match &args.pdf {
        Some(path) => Destination::Pdf {
            paper: match args.paper {
                PaperArg::A4 => Paper::A4,
                PaperArg::Receipt => Paper::Receipt {
                    width_mm: config.printer.paper_width_mm,
                },
            },
            path: path.clone(),
        },
        None => Destination::Printer,
    };
    match crate::print::issue(&store, &settings, args.sale_id, request, &destination).await {
        Ok(issued) => {
            let mut line = json!({
                "type": "receipt",
                "sale_id": issued.job.sale_id,
                "document": issued.job.kind.as_str(),
                "target": issued.job.target.as_str(),
                "receipt_print_id": issued.job.id,
                "bytes": issued.bytes.len(),
            });
            match &destination {
                Destination::Pdf { path, .. } => line["path"] = json!(path),
                Destination::Printer => {
                    line["printer"] = json!(settings.connection.to_string());
                }
            }
            print_line(&line);
            Ok(exit::COMPLETED)
        }
        Err(e) => {
            eprintln!("kasse: {e}");
            if matches!(e, PrintError::Printer(_) | PrintError::Write { .. }) {
                eprintln!(
                    "kasse: the receipt stays queued; run the same command to print it again"
                );
            }
            print_line(&json!({
                "type": "receipt_failed",
                "sale_id": args.sale_id,
                "error": e.to_string(),
            }));
            Ok(match e {
                PrintError::NoSale(_) | PrintError::NoRefund { .. } => exit::USAGE,
                _ => exit::FAILED,
            })
        }
    }
}

/// The sticker's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StickerSizeArg {
    A6,
    A5,
}

/// `kasse pay --print-receipt --receipt-pdf OUT`: the completed sale's receipt, one JSON line
/// per document. A printer fault is reported and leaves the receipt queued; the sale stays
/// completed (its money has moved).
pub(crate) async fn after_sale(
    config: &crate::config::Config,
    sale_id: i64,
    print: bool,
    pdf: Option<PathBuf>,
) {
    let mut destinations = Vec::new();
    if print {
        destinations.push(Destination::Printer);
    }
    if let Some(path) = pdf {
        destinations.push(Destination::Pdf {
            paper: Paper::Receipt {
                width_mm: config.printer.paper_width_mm,
            },
            path,
        });
    }
    if destinations.is_empty() {
        return;
    }
    let store = match open_store(config) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            eprintln!("kasse: receipt: {e:#}");
            return;
        }
    };
    let settings = config.print_settings();
    for to in destinations {
        let line =
            match crate::print::issue(&store, &settings, sale_id, Request::Receipt, &to).await {
                Ok(issued) => json!({
                    "type": "receipt",
                    "sale_id": sale_id,
                    "document": issued.job.kind.as_str(),
                    "target": issued.job.target.as_str(),
                    "path": match &to {
                        Destination::Pdf { path, .. } => json!(path),
                        Destination::Printer => json!(null),
                    },
                }),
                Err(e) => {
                    eprintln!("kasse: receipt: {e}");
                    json!({"type": "receipt_failed", "sale_id": sale_id, "error": e.to_string()})
                }
            };
        print_line(&line);
    }
}

/// `kasse qr-sticker`
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).multiple(true).args(["print", "pdf"])))]
pub struct StickerArgs {
    /// Write the sticker PDF to this file.
    #[arg(long, value_name = "OUT")]
    pub pdf: Option<PathBuf>,
    /// Print the sticker on the configured receipt printer.
    #[arg(long)]
    pub print: bool,
    /// Page size.
    #[arg(long, value_enum, default_value = "a6")]
    pub size: StickerSizeArg,
}

/// `kasse qr-sticker`: the till's merchant callback QR (its `qrContent`, as the till last
/// received it from Vipps; asked from Vipps when the till has none yet) with the shop's and
/// the till's name and "Scan to pay with Vipps / MobilePay" in the shop's language.
pub async fn sticker(config_path: Option<PathBuf>, args: StickerArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let stored = meta_get(store.conn(), META_QR_CONTENT)?.filter(|c| !c.is_empty());
    drop(store);
    let content = match stored {
        Some(c) => c,
        None if config.is_configured() => fetch_qr_content(&config).await?,
        None => {
            eprintln!(
                "kasse: this till has no QR yet and Vipps is not configured: start the till \
                 once with a configuration so it fetches its QR"
            );
            return Ok(exit::USAGE);
        }
    };
    let settings = config.print_settings();
    let words = Words::of(settings.language);
    if let Some(path) = &args.pdf {
        let bytes = crate::print::pdf::sticker(
            &Sticker {
                qr_content: &content,
                shop_name: &settings.origin.shop.name,
                till_name: &config.till.name,
                scan_to_pay: words.scan_to_pay,
            },
            match args.size {
                StickerSizeArg::A6 => StickerSize::A6,
                StickerSizeArg::A5 => StickerSize::A5,
            },
        )?;
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        print_line(&json!({
            "type": "qr_sticker",
            "path": path,
            "merchant_qr_id": config.merchant_qr_id(),
            "bytes": bytes.len(),
        }));
    }
    if args.print {
        let bytes = crate::print::escpos::sticker(
            &settings.origin.shop.name,
            &config.till.name,
            &content,
            words.scan_to_pay,
            &settings.escpos,
        );
        if let Err(e) =
            crate::print::connection::send(&settings.connection, &bytes, settings.timeouts).await
        {
            eprintln!("kasse: {e}");
            return Ok(exit::FAILED);
        }
        print_line(&json!({
            "type": "qr_sticker",
            "printer": settings.connection.to_string(),
            "merchant_qr_id": config.merchant_qr_id(),
        }));
    }
    Ok(exit::COMPLETED)
}

async fn fetch_qr_content(config: &crate::config::Config) -> anyhow::Result<String> {
    let client = crate::vipps::Client::from_settings(&config.vipps, config.engine.http_timeout())?;
    if !config.till.mobilepay_beacon_id.is_empty() {
        // The till answers to a printed MobilePay sticker: making a Vipps QR with the beacon's
        // id would stop the sticker from mapping (409).
        anyhow::bail!(
            "this till uses the printed MobilePay sticker (till.mobilepay_beacon_id); it has no QR sticker of its own to print"
        );
    }
    let qr_id = config.merchant_qr_id();
    client.qr_put(&qr_id, &config.till.name).await?;
    let qr = client
        .qr_get(&qr_id, crate::vipps::models::QrImageFormat::default())
        .await?;
    qr.qr_content
        .filter(|c| !c.is_empty())
        .context("Vipps returned no qrContent for the till's QR")
}
