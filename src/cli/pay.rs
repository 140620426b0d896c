//! `kasse pay`: one sale without a window.
//!
//! It prints one JSON object per line to stdout: every [`EngineEvent`] (with its
//! `"type"`), a `{"type":"qr","content":...}` line when the till waits for a scan, and a final
//! `{"type":"outcome",...}` line. Exit codes: 0 completed (captured == total), 1 failed or
//! unsettled, 2 bad configuration or arguments, 3 declined, 4 expired, 5 cancelled,
//! 6 customer token expired, 7 push payments not allowed for this sales unit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{exit, load_config, open_store, print_line, wait_closed};
use crate::core::basket::Basket;
use crate::core::catalog::Item;
use crate::core::money::Currency;
use crate::core::vat::VatRate;
use crate::engine::{Command, Engine, EngineEvent, EngineOptions, MessageId, RelayStatus};

/// What the simulated customer does in `--demo` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoCustomer {
    Approve,
    Decline,
    Ignore,
}

/// `kasse pay`
#[derive(Debug, Clone, clap::Args)]
pub struct PayArgs {
    /// Total in minor units (øre, cents): 12900 is 129.00.
    #[arg(long)]
    pub amount: i64,
    /// Name of the single line when no --line is given.
    #[arg(long)]
    pub description: Option<String>,
    /// A basket line "NAME;QTY;UNIT_PRICE;VAT_BP" (unit price incl. VAT in minor units, VAT in
    /// basis points: 2500 = 25 %). Repeatable; the lines must add up to --amount.
    #[arg(long = "line", value_name = "NAME;QTY;UNIT_PRICE;VAT_BP")]
    pub lines: Vec<String>,
    /// Push the payment request to this phone number instead of waiting for a scan.
    #[arg(long, conflicts_with = "personal_qr")]
    pub phone: Option<String>,
    /// Push the payment request to the customer whose personal QR (from their Vipps or
    /// MobilePay app) was scanned: its text, as the scanner types it. Needs no relay. With
    /// --demo and no URL, the simulated customer's app shows theirs.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "phone",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub personal_qr: Option<String>,
    /// Show a payment-specific QR (printed as a `one_time_qr` line) instead of waiting for a
    /// scan of the till's own QR. Needs no relay.
    #[arg(long, conflicts_with_all = ["phone", "personal_qr"])]
    pub one_time_qr: bool,
    /// Run against an in-process simulator and relay; the simulated customer acts by itself.
    #[arg(long)]
    pub demo: bool,
    /// What the simulated customer does (with --demo).
    #[arg(long, value_enum, default_value = "approve")]
    pub customer: DemoCustomer,
    /// Loyalty in the demo (with --demo): the customer scans first and is a `member` (member
    /// price), is invited and approves (`invite`, member price), or declines (`decline`, normal
    /// price). Every line gets a member price of 10 % off. See docs/loyalty.md.
    #[arg(
        long,
        value_enum,
        requires = "demo",
        conflicts_with_all = ["phone", "personal_qr", "one_time_qr"]
    )]
    pub loyalty: Option<super::loyalty_demo::DemoLoyalty>,
    /// Cash handed over, minor units (may exceed what is left: the change is printed). Cash
    /// settles the rest rounded to the cash step (whole kroner in Norway, 50 øre in Denmark).
    #[arg(long, value_name = "MINOR")]
    pub cash: Option<i64>,
    /// Paid on a card terminal that is not integrated (the cashier saw it approved).
    #[arg(long, value_name = "MINOR")]
    pub card: Option<i64>,
    /// The card terminal's reference for --card.
    #[arg(long, value_name = "TEXT", requires = "card")]
    pub card_ref: Option<String>,
    /// Paid by gift card.
    #[arg(long, value_name = "MINOR")]
    pub gift_card: Option<i64>,
    /// Paid by a credit note from an earlier return.
    #[arg(long, value_name = "MINOR")]
    pub credit_note: Option<i64>,
    /// The cashier selling (their id, see `kasse cashier list`); the PIN comes from
    /// KASSE_CASHIER_PIN. Without it the sale records no cashier.
    #[arg(long, value_name = "ID")]
    pub cashier: Option<i64>,
    /// Give up (cancel the payment) after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
    /// After a completed sale, print its receipt on the configured printer.
    #[arg(long)]
    pub print_receipt: bool,
    /// After a completed sale, write its receipt as a PDF to this file (with --print-receipt
    /// too, the PDF is the one copy).
    #[arg(long, value_name = "OUT")]
    pub receipt_pdf: Option<PathBuf>,
}

/// The basket described by `kasse pay` arguments.
pub fn basket_from_args(args: &PayArgs, currency: Currency) -> anyhow::Result<Basket> {
    let mut basket = Basket::new(currency);
    if args.lines.is_empty() {
        let name = args.description.clone().unwrap_or_else(|| "Sale".into());
        let vat = match currency {
            Currency::Nok => VatRate::NO_STANDARD,
            Currency::Dkk => VatRate::DK_STANDARD,
            Currency::Eur => VatRate::FI_STANDARD,
        };
        let item = Item::new("sale", name, args.amount, vat);
        basket.add_item(&item).context("the amount")?;
    } else {
        for (i, line) in args.lines.iter().enumerate() {
            let parts: Vec<&str> = line.split(';').collect();
            let [name, qty, price, vat] = parts[..] else {
                anyhow::bail!("--line {line:?}: expected NAME;QTY;UNIT_PRICE;VAT_BP");
            };
            let qty: i64 = qty
                .trim()
                .parse()
                .with_context(|| format!("--line {line:?}: QTY"))?;
            let price: i64 = price
                .trim()
                .parse()
                .with_context(|| format!("--line {line:?}: UNIT_PRICE"))?;
            let vat: u32 = vat
                .trim()
                .parse()
                .with_context(|| format!("--line {line:?}: VAT_BP"))?;
            let vat = VatRate::new(vat).with_context(|| format!("--line {line:?}"))?;
            let item = Item::new(format!("line-{}", i + 1), name.trim(), price, vat);
            let id = basket
                .add_item(&item)
                .with_context(|| format!("--line {line:?}"))?;
            basket
                .set_quantity(id, qty)
                .with_context(|| format!("--line {line:?}"))?;
        }
    }
    let total = basket.check_payable().context("the basket")?;
    anyhow::ensure!(
        total == args.amount,
        "the lines add up to {total} but --amount is {}",
        args.amount
    );
    Ok(basket)
}

/// `kasse pay`: one sale, progress as JSON lines. Returns the exit code.
pub async fn run(config_path: Option<PathBuf>, args: PayArgs) -> anyhow::Result<i32> {
    if args.personal_qr.as_deref() == Some("") && !args.demo {
        eprintln!("kasse: --personal-qr needs the scanned URL (without it only with --demo)");
        return Ok(exit::USAGE);
    }
    let demo = if args.demo {
        Some(super::demo::start().await.context("starting the demo")?)
    } else {
        None
    };
    let config = match &demo {
        Some(d) => d.config.clone(),
        None => match load_config(config_path.as_deref()) {
            Ok(c) => c,
            Err(code) => return Ok(code),
        },
    };
    let basket = match basket_from_args(&args, config.till.currency) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kasse: {e:#}");
            return Ok(exit::USAGE);
        }
    };
    let store = open_store(&config)?;
    let cashier = match super::cashier::log_in_from_env(&store, args.cashier) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kasse: {e:#}");
            return Ok(exit::USAGE);
        }
    };
    if let Some(mode) = args.loyalty {
        super::loyalty_demo::prepare(&store, &basket, mode, &config.vipps.msn)
            .context("setting up loyalty for the demo")?;
    }
    let tenders = tenders_from_args(&args);
    let print_config = config.clone();
    let (handle, mut events) = Engine::start_with(config, store, EngineOptions::default());
    if cashier.is_some() {
        handle.send(Command::SetCashier {
            cashier_id: cashier,
        })?;
    }
    // With --loyalty the customer scans first and Pay follows once loyalty has had its say.
    let mut pay_later = None;
    if args.loyalty.is_some() {
        pay_later = Some(basket);
    } else {
        handle.send(Command::Pay { basket })?;
    }
    // Parts taken at the till go first; Vipps pays what they leave, once all are recorded.
    let mut tenders_sent = tenders.is_empty();
    let mut tenders_pending = 0usize;

    let phone = demo.as_ref().map(|d| d.phone.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut cancel_sent = false;
    // The demo customer scans once the till waits for a scan and the relay link is up (the
    // relay refuses check-ins for a till that is not connected).
    let mut awaiting_scan = false;
    let mut relay_up = false;
    let mut scanned = false;
    let mut one_time_qr: Option<String> = None;
    let mut captured: i64 = 0;
    let mut outcome: Option<(i32, serde_json::Value)> = None;
    let mut sale_total: i64 = args.amount;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while outcome.is_none() {
        let event = tokio::select! {
            e = events.recv() => match e {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "fell behind the engine's events");
                    continue;
                }
                Err(RecvError::Closed) => {
                    outcome = Some((exit::FAILED, json!({"outcome": "engine_stopped"})));
                    break;
                }
            },
            _ = &mut ctrl_c, if !cancel_sent => {
                cancel_sent = true;
                let _ = handle.send(Command::Cancel);
                continue;
            }
            _ = tokio::time::sleep_until(deadline), if !cancel_sent => {
                cancel_sent = true;
                let _ = handle.send(Command::Cancel);
                continue;
            }
        };
        print_line(&serde_json::to_value(&event).unwrap_or_default());
        match &event {
            EngineEvent::AwaitingCheckIn {
                sale_id,
                amount,
                qr_content,
            } => {
                sale_total = *amount;
                if !tenders_sent {
                    tenders_sent = true;
                    tenders_pending = tenders.len();
                    for t in &tenders {
                        handle.send(t.clone())?;
                    }
                    continue;
                }
                if tenders_pending > 0 {
                    continue;
                }
                print_line(
                    &json!({"type": "qr", "content": qr_content, "sale_id": sale_id, "amount": amount}),
                );
                if let Some(p) = &args.phone {
                    handle.send(Command::SendToPhone {
                        phone_number: p.clone(),
                    })?;
                } else if let Some(q) = &args.personal_qr {
                    let content = match (q.is_empty(), &phone) {
                        (false, _) => q.clone(),
                        (true, Some(phone)) => phone
                            .personal_qr()
                            .await
                            .context("the demo customer's personal QR")?,
                        // Refused before the sale started (see the top of `run`).
                        (true, None) => anyhow::bail!("--personal-qr needs the scanned URL"),
                    };
                    handle.send(Command::SendToPersonalQr {
                        content: crate::engine::PersonalQr(content),
                    })?;
                } else if args.one_time_qr {
                    handle.send(Command::ShowOneTimeQr)?;
                } else {
                    awaiting_scan = true;
                }
            }
            EngineEvent::RelayStatus { status } => {
                relay_up = matches!(status, RelayStatus::Connected);
            }
            EngineEvent::OneTimeQr { qr_content, .. } => {
                // The demo customer points the phone at the screen before answering.
                one_time_qr = Some(qr_content.clone());
            }
            EngineEvent::PaymentRequested { reference, .. } => {
                if let Some(phone) = phone.clone() {
                    let reference = reference.clone();
                    let choice = args.customer;
                    let scan_first = one_time_qr.take();
                    tokio::spawn(async move {
                        if let Some(content) = scan_first
                            && choice != DemoCustomer::Ignore
                            && let Err(e) = phone.scan_payment_qr(&content).await
                        {
                            tracing::warn!(error = %e, "demo customer could not scan the payment QR");
                        }
                        let r = match choice {
                            DemoCustomer::Approve => phone.approve(&reference).await,
                            DemoCustomer::Decline => phone.decline(&reference).await,
                            DemoCustomer::Ignore => Ok(()),
                        };
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "demo customer could not answer");
                        }
                    });
                }
            }
            EngineEvent::MemberRecognised { .. }
            | EngineEvent::MemberEnrolled { .. }
            | EngineEvent::InviteEnded { .. } => {
                if let Some(basket) = pay_later.take() {
                    handle.send(Command::Pay { basket })?;
                }
            }
            EngineEvent::NotAMember { .. } => match args.loyalty {
                Some(super::loyalty_demo::DemoLoyalty::Member) | None => {
                    if let Some(basket) = pay_later.take() {
                        handle.send(Command::Pay { basket })?;
                    }
                }
                Some(_) => handle.send(Command::InviteMember { phone_number: None })?,
            },
            EngineEvent::InvitePending { .. } => {
                if let (Some(phone), Some(mode)) = (phone.clone(), args.loyalty) {
                    tokio::spawn(async move {
                        if let Err(e) =
                            super::loyalty_demo::answer_login(phone.control(), mode).await
                        {
                            tracing::warn!(error = %e, "demo customer could not answer the login");
                        }
                    });
                }
            }
            EngineEvent::Captured { amount, .. } => captured += amount,
            EngineEvent::TenderTaken { .. } => tenders_pending = tenders_pending.saturating_sub(1),
            EngineEvent::Paid {
                sale_id,
                change,
                rounding,
                receipt,
            } => {
                outcome = Some((
                    exit::COMPLETED,
                    json!({"outcome": "completed", "sale_id": sale_id, "reference": null,
                           "total": receipt.total, "captured": 0, "change": change,
                           "rounding": rounding}),
                ));
            }
            EngineEvent::Completed {
                sale_id, reference, ..
            } => {
                let code = if captured == sale_total {
                    exit::COMPLETED
                } else {
                    exit::FAILED
                };
                outcome = Some((
                    code,
                    json!({"outcome": "completed", "sale_id": sale_id, "reference": reference,
                           "total": sale_total, "captured": captured}),
                ));
            }
            EngineEvent::Declined { sale_id, reference } => {
                outcome = Some((
                    exit::DECLINED,
                    json!({"outcome": "declined", "sale_id": sale_id, "reference": reference}),
                ));
            }
            EngineEvent::Expired { sale_id, reference } => {
                outcome = Some((
                    exit::EXPIRED,
                    json!({"outcome": "expired", "sale_id": sale_id, "reference": reference}),
                ));
            }
            EngineEvent::Cancelled {
                sale_id,
                reference,
                money_released,
            } => {
                outcome = Some((
                    exit::CANCELLED,
                    json!({"outcome": "cancelled", "sale_id": sale_id, "reference": reference,
                           "money_released": money_released}),
                ));
            }
            EngineEvent::TokenExpired { sale_id, .. } => {
                outcome = Some((
                    exit::TOKEN_EXPIRED,
                    json!({"outcome": "token_expired", "sale_id": sale_id}),
                ));
            }
            EngineEvent::PushNotAllowed { sale_id } => {
                outcome = Some((
                    exit::PUSH_NOT_ALLOWED,
                    json!({"outcome": "push_not_allowed", "sale_id": sale_id}),
                ));
            }
            EngineEvent::Problem {
                message_id,
                retrying: false,
                detail,
            } if is_fatal(*message_id) => {
                outcome = Some((
                    if *message_id == MessageId::ConfigInvalid {
                        exit::USAGE
                    } else {
                        exit::FAILED
                    },
                    json!({"outcome": "failed", "message_id": message_id, "detail": detail}),
                ));
            }
            EngineEvent::Problem {
                message_id: MessageId::CapturePending | MessageId::CancelPending,
                detail,
                ..
            } => {
                outcome = Some((
                    exit::FAILED,
                    json!({"outcome": "unsettled", "detail": detail}),
                ));
            }
            EngineEvent::Idle => {
                outcome = Some((exit::FAILED, json!({"outcome": "abandoned"})));
            }
            _ => {}
        }
        if (awaiting_scan || pay_later.is_some())
            && relay_up
            && !scanned
            && let Some(phone) = phone.clone()
        {
            scanned = true;
            tokio::spawn(async move {
                match phone.scan().await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("the demo customer's app could not reach the till"),
                    Err(e) => tracing::warn!(error = %e, "demo customer could not scan"),
                }
            });
        }
    }
    let (code, mut line) = outcome.unwrap_or((exit::FAILED, json!({})));
    line["type"] = json!("outcome");
    line["exit_code"] = json!(code);
    print_line(&line);
    // Leave the sale (nothing is in flight once an outcome is known) and stop.
    let _ = handle.send(Command::BackToBasket);
    let _ = handle.send(Command::Shutdown);
    wait_closed(&handle).await;
    if code == exit::COMPLETED
        && let Some(sale_id) = line["sale_id"].as_i64()
    {
        super::receipt::after_sale(&print_config, sale_id, args.print_receipt, args.receipt_pdf)
            .await;
    }
    if let Some(d) = demo {
        d.shutdown().await;
    }
    Ok(code)
}

fn is_fatal(id: MessageId) -> bool {
    matches!(
        id,
        MessageId::ConfigInvalid
            | MessageId::StorageFailed
            | MessageId::InvalidAmount
            | MessageId::CaptureMismatch
            | MessageId::AmountMismatch
            | MessageId::OutcomeUnknown
            | MessageId::VippsCredentials
            | MessageId::InvalidPhone
            | MessageId::PaymentRejected
            | MessageId::TenderRefused
            | MessageId::TrainingNoVipps
    )
}

/// The parts to take at the till, in the order given to the engine: cash last (it may give
/// change, so it settles what the others leave).
fn tenders_from_args(args: &PayArgs) -> Vec<Command> {
    use crate::core::tender::TenderKind;
    let mut out = Vec::new();
    let mut add = |tender: TenderKind, amount: Option<i64>, reference: Option<String>| {
        if let Some(amount) = amount {
            out.push(Command::Tender {
                tender,
                amount,
                reference,
            });
        }
    };
    add(TenderKind::Card, args.card, args.card_ref.clone());
    add(TenderKind::GiftCard, args.gift_card, None);
    add(TenderKind::CreditNote, args.credit_note, None);
    add(TenderKind::Cash, args.cash, None);
    out
}
