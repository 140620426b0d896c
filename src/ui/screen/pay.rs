//! Pay: the till's QR, the amount, live progress, cancel, phone-number fallback,
//! and a clear way forward when the payment does not go through.

use iced::keyboard::key::Named;
use iced::widget::{Space, button, column, container, qr_code, row, text};
use iced::{Center, Element, Fill, FillPortion, Length};

use super::KeyPress;
use crate::core::tender::TenderKind;
use crate::engine::{Command, MessageId, PersonalQr};
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, keypad, strong};

/// How far the payment has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The QR is shown; no customer yet.
    WaitingForScan,
    /// A customer checked in; the request is being sent.
    CheckedIn,
    /// The request is in the customer's app.
    RequestSent,
    /// The customer approved.
    Approved,
    /// The money is captured.
    Captured,
}

/// Why the payment stopped, with the way forward the screen offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Declined,
    Expired,
    /// The scan was too old; `customer` (masked) is whom the loyalty exchange identified.
    TokenExpired {
        customer: Option<String>,
    },
    PushNotAllowed,
    Cancelled {
        money_released: bool,
    },
    Failed {
        message_id: MessageId,
        detail: Option<String>,
    },
}

/// A problem the engine reported while it keeps going (or needs attention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message_id: MessageId,
    pub detail: Option<String>,
    pub retrying: bool,
}

/// Countries offered for the phone-number fallback (calling code, example).
pub const CALLING_CODES: [&str; 4] = ["47", "45", "358", "46"];

#[derive(Debug, Clone, Default)]
struct PhoneEntry {
    calling_code: String,
    number: String,
}

impl PhoneEntry {
    /// MSISDN as Vipps wants it: digits, country code first, 10 to 15 long.
    fn msisdn(&self) -> Option<String> {
        let national = self.number.trim_start_matches('0');
        let full = format!("{}{}", self.calling_code, national);
        (10..=15).contains(&full.len()).then_some(full)
    }
}

/// A payment-specific QR on the screen instead of the till's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTime {
    /// The payment the QR is for.
    pub reference: String,
    /// When the request expires (unix ms).
    pub expires_at_ms: i64,
    /// Shown because the relay is unreachable.
    pub relay_down: bool,
}

/// A part of the payment being typed in (whole kroner on the keypad, or the exact amount).
#[derive(Debug, Clone)]
struct TenderEntry {
    kind: TenderKind,
    /// Minor units.
    amount: i64,
}

#[derive(Debug)]
pub struct Pay {
    sale_id: i64,
    amount: i64,
    step: Step,
    reference: Option<String>,
    outcome: Option<Outcome>,
    problem: Option<Problem>,
    cancelling: bool,
    phone: Option<PhoneEntry>,
    default_calling_code: &'static str,
    tender: Option<TenderEntry>,
    /// Parts paid at the till so far (cash, card).
    parts: Vec<(TenderKind, i64)>,
    /// Change to hand back for the last cash part.
    change: Option<i64>,
    /// The QR shown is for this payment only.
    one_time: Option<OneTime>,
    /// The window's clock (unix ms), for the one-time QR's time left.
    now_ms: i64,
    /// What a barcode scanner typed while no field has focus (a customer's personal QR).
    scanned: String,
}

#[derive(Debug, Clone)]
pub enum Message {
    Cancel,
    Retry,
    BackToBasket,
    OpenPhone,
    /// Push the request to the customer the scan identified (the cashier confirmed it with them).
    SendToScannedCustomer,
    /// Show a payment-specific QR instead of the till's own.
    ShowOneTimeQr,
    ClosePhone,
    CallingCode(&'static str),
    Digit(char),
    Backspace,
    ClearPhone,
    SendToPhone,
    /// Take a part of the payment at the till (cash or card).
    OpenTender(TenderKind),
    CloseTender,
    /// The part is exactly what is left.
    TenderExact,
    TakeTender,
}

/// What the root must do.
#[derive(Debug, Clone)]
pub enum Action {
    None,
    Send(Command),
}

impl Pay {
    pub fn new(sale_id: i64, amount: i64, default_calling_code: &'static str) -> Pay {
        Pay {
            sale_id,
            amount,
            step: Step::WaitingForScan,
            reference: None,
            outcome: None,
            problem: None,
            cancelling: false,
            phone: None,
            default_calling_code,
            tender: None,
            parts: Vec::new(),
            change: None,
            one_time: None,
            now_ms: 0,
            scanned: String::new(),
        }
    }

    /// A payment-specific QR replaced the till's own (engine: `OneTimeQr`).
    pub fn show_one_time(&mut self, one_time: OneTime, now_ms: i64) {
        self.one_time = Some(one_time);
        self.now_ms = now_ms;
    }

    /// The till's own QR is back.
    pub fn static_qr(&mut self) {
        self.one_time = None;
    }

    /// The one-time QR on screen, if any.
    pub fn one_time(&self) -> Option<&OneTime> {
        self.one_time.as_ref()
    }

    /// The window's clock moved (once a second while something counts down).
    pub fn tick(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// The engine recorded a part paid at the till; `remaining` is left for Vipps.
    pub fn tender_taken(&mut self, kind: TenderKind, amount: i64, change: i64, remaining: i64) {
        self.parts.push((kind, amount));
        self.change = (change > 0).then_some(change);
        self.amount = remaining;
        self.tender = None;
    }

    /// Parts paid at the till so far.
    pub fn parts(&self) -> &[(TenderKind, i64)] {
        &self.parts
    }

    /// Change to hand back, if the last cash part gave any.
    pub fn change(&self) -> Option<i64> {
        self.change
    }

    pub fn sale_id(&self) -> i64 {
        self.sale_id
    }

    pub fn amount(&self) -> i64 {
        self.amount
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The engine stored the sale: its id and the amount it will ask for.
    pub fn set_sale(&mut self, sale_id: i64, amount: i64) {
        self.sale_id = sale_id;
        self.amount = amount;
    }

    /// A new attempt started (after Retry or a phone-number request).
    pub fn restart(&mut self, amount: i64) {
        self.amount = amount;
        self.step = Step::WaitingForScan;
        self.reference = None;
        self.outcome = None;
        self.problem = None;
        self.cancelling = false;
    }

    /// The engine moved the payment forward.
    pub fn advance(&mut self, step: Step, reference: Option<String>) {
        if step > self.step || self.outcome.is_some() {
            self.step = step;
        }
        if step == Step::RequestSent {
            // A new request (e.g. to a phone number) clears an earlier stop.
            self.outcome = None;
            self.phone = None;
        }
        if reference.is_some() {
            self.reference = reference;
        }
        self.problem = None;
    }

    /// The payment stopped.
    pub fn finish(&mut self, outcome: Outcome) {
        self.cancelling = false;
        self.outcome = Some(outcome);
    }

    /// A problem to show while the payment is still open.
    pub fn problem(&mut self, problem: Problem) {
        if problem.message_id == MessageId::TooLateToCancel {
            self.cancelling = false;
        }
        self.problem = Some(problem);
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Cancel => {
                if self.outcome.is_some() {
                    return Action::Send(Command::BackToBasket);
                }
                if self.cancelling || self.step >= Step::Captured {
                    return Action::None;
                }
                self.cancelling = true;
                return Action::Send(Command::Cancel);
            }
            Message::Retry => {
                return Action::Send(Command::Retry);
            }
            Message::BackToBasket => return Action::Send(Command::BackToBasket),
            Message::ShowOneTimeQr => return Action::Send(Command::ShowOneTimeQr),
            Message::SendToScannedCustomer => {
                return Action::Send(Command::SendToScannedCustomer);
            }
            Message::OpenPhone => {
                self.phone = Some(PhoneEntry {
                    calling_code: self.default_calling_code.to_owned(),
                    number: String::new(),
                });
            }
            Message::ClosePhone => self.phone = None,
            Message::CallingCode(code) => {
                if let Some(phone) = &mut self.phone {
                    phone.calling_code = code.to_owned();
                }
            }
            Message::OpenTender(kind) => {
                self.phone = None;
                // Switching the means keeps what was typed.
                let amount = self.tender.as_ref().map_or(0, |t| t.amount);
                self.tender = Some(TenderEntry { kind, amount });
            }
            Message::CloseTender => self.tender = None,
            Message::TenderExact => {
                if let Some(t) = &mut self.tender {
                    t.amount = self.amount;
                }
            }
            Message::TakeTender => {
                if let Some(t) = &self.tender
                    && t.amount > 0
                {
                    return Action::Send(Command::Tender {
                        tender: t.kind,
                        amount: t.amount,
                        reference: None,
                    });
                }
            }
            Message::Digit(d) if self.tender.is_some() => {
                if let Some(t) = &mut self.tender
                    && let Some(v) = d.to_digit(10)
                    && t.amount < 10_000_000
                {
                    // Whole kroner on the keypad: 2, 0, 0 is 200.00.
                    t.amount = (t.amount / 100 * 10 + i64::from(v)) * 100;
                }
            }
            Message::Backspace if self.tender.is_some() => {
                if let Some(t) = &mut self.tender {
                    t.amount = t.amount / 100 / 10 * 100;
                }
            }
            Message::ClearPhone if self.tender.is_some() => {
                if let Some(t) = &mut self.tender {
                    t.amount = 0;
                }
            }
            Message::Digit(d) => {
                if let Some(phone) = &mut self.phone
                    && d.is_ascii_digit()
                    && phone.number.len() < 12
                {
                    phone.number.push(d);
                }
            }
            Message::Backspace => {
                if let Some(phone) = &mut self.phone {
                    phone.number.pop();
                }
            }
            Message::ClearPhone => {
                if let Some(phone) = &mut self.phone {
                    phone.number.clear();
                }
            }
            Message::SendToPhone => {
                if let Some(phone_number) = self.phone.as_ref().and_then(PhoneEntry::msisdn) {
                    return Action::Send(Command::SendToPhone { phone_number });
                }
            }
        }
        Action::None
    }

    /// Escape cancels; with the keypad open, digits, Backspace and Enter edit and send. A
    /// personal QR a barcode scanner types (its URL, then Enter) pays with it while the till
    /// waits for the customer.
    pub fn key(&mut self, press: &KeyPress) -> Action {
        if let Some(action) = self.scanner_key(press) {
            return action;
        }
        if self.tender.is_some() {
            match press.named() {
                Some(Named::Enter) => return self.update(Message::TakeTender),
                Some(Named::Escape) => return self.update(Message::CloseTender),
                Some(Named::Backspace) => return self.update(Message::Backspace),
                _ => {
                    if let Some(c) = press.character().filter(char::is_ascii_digit) {
                        return self.update(Message::Digit(c));
                    }
                }
            }
            return Action::None;
        }
        if self.phone.is_some() {
            match press.named() {
                Some(Named::Enter) => return self.update(Message::SendToPhone),
                Some(Named::Escape) => return self.update(Message::ClosePhone),
                Some(Named::Backspace) => return self.update(Message::Backspace),
                _ => {
                    if let Some(c) = press.character().filter(char::is_ascii_digit) {
                        return self.update(Message::Digit(c));
                    }
                }
            }
            return Action::None;
        }
        match press.named() {
            Some(Named::Escape) => self.update(Message::Cancel),
            Some(Named::F8) if self.step < Step::Approved || self.outcome.is_some() => {
                self.update(Message::OpenPhone)
            }
            Some(Named::F5) if self.outcome.is_some() => {
                if matches!(self.outcome, Some(Outcome::PushNotAllowed)) {
                    Action::None
                } else {
                    self.update(Message::Retry)
                }
            }
            _ => Action::None,
        }
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>, qr: Option<&'a qr_code::Data>) -> Element<'a, Message> {
        let amount = column![
            text(ctx.t("pay-to-pay")).size(size::HEADING),
            text(ctx.money(self.amount))
                .size(size::AMOUNT)
                .font(theme::BOLD),
        ]
        .align_x(Center)
        .spacing(4);

        // A one-time QR leaves room below it for its time left.
        let qr_size = if self.one_time.is_some() {
            330.0
        } else {
            380.0
        };
        let qr_block: Element<'a, Message> = match qr {
            Some(data) => column![
                container(qr_code(data).total_size(qr_size).style(|_| qr_code::Style {
                    cell: iced::Color::BLACK,
                    background: iced::Color::WHITE,
                }))
                .id("qr")
                .padding(24)
                .style(theme::qr_frame),
                self.qr_hint(ctx),
            ]
            .align_x(Center)
            .spacing(12)
            .into(),
            None => container(body(ctx.t("pay-qr-missing")))
                .padding(24)
                .width(Length::Fixed(428.0))
                .height(Length::Fixed(428.0))
                .center(Length::Fixed(428.0))
                .style(theme::panel)
                .into(),
        };

        let left = column![amount, qr_block]
            .spacing(20)
            .align_x(Center)
            .width(FillPortion(3));

        let right = match (&self.phone, &self.tender) {
            (Some(phone), _) => self.phone_panel(ctx, phone),
            (None, Some(tender)) => self.tender_panel(ctx, tender),
            (None, None) => self.progress_panel(ctx),
        };

        row![left, container(right).width(FillPortion(2)).height(Fill)]
            .spacing(24)
            .padding(24)
            .height(Fill)
            .into()
    }

    /// The customer's personal QR was scanned: while the till waits for the customer (or after
    /// a payment stopped), the request goes to them; not while one is in their app.
    pub fn personal_qr_scanned(&mut self, content: PersonalQr) -> Action {
        if !content.looks_valid() {
            return Action::None;
        }
        let waiting = self.step == Step::WaitingForScan || self.outcome.is_some();
        if !waiting {
            self.problem = Some(Problem {
                message_id: MessageId::Busy,
                detail: None,
                retrying: false,
            });
            return Action::None;
        }
        Action::Send(Command::SendToPersonalQr { content })
    }

    /// Collects what a scanner types outside the keypads; `None` leaves the key to the rest.
    fn scanner_key(&mut self, press: &KeyPress) -> Option<Action> {
        if self.tender.is_some() || self.phone.is_some() {
            return None;
        }
        match press.named() {
            Some(Named::Enter) if !self.scanned.is_empty() => {
                let content = PersonalQr(std::mem::take(&mut self.scanned));
                Some(self.personal_qr_scanned(content))
            }
            Some(Named::Escape) if !self.scanned.is_empty() => {
                self.scanned.clear();
                Some(Action::None)
            }
            _ => {
                if press.modifiers.control() || press.modifiers.alt() || press.modifiers.logo() {
                    return None;
                }
                let c = press.character().filter(|c| !c.is_control())?;
                // A scan starts with a letter (`https://...`); single digits stay keypad keys.
                if self.scanned.is_empty() && !c.is_ascii_alphabetic() {
                    return None;
                }
                if self.scanned.chars().count() < 255 {
                    self.scanned.push(c);
                }
                Some(Action::None)
            }
        }
    }

    /// What the QR is: the till's own, or one for this payment with its time left.
    fn qr_hint<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let Some(one_time) = &self.one_time else {
            return strong(ctx.t("pay-scan-hint")).into();
        };
        let left_secs = ((one_time.expires_at_ms - self.now_ms) / 1000).max(0);
        let left = format!("{}:{:02}", left_secs / 60, left_secs % 60);
        column![
            strong(ctx.t("pay-one-time-hint")).align_x(Center),
            body(ctx.t_args("pay-one-time-expires", &[("time", Arg::Str(&left))])),
        ]
        .align_x(Center)
        .spacing(4)
        .into()
    }

    fn progress_panel<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let steps = [
            (Step::WaitingForScan, "pay-step-waiting"),
            (Step::RequestSent, "pay-step-request-sent"),
            (Step::Approved, "pay-step-approved"),
            (Step::Captured, "pay-step-captured"),
        ];
        let failed = self.outcome.is_some();
        let mut list = column![heading(ctx.t("pay-progress"))].spacing(8);
        // Once the payment stopped, the message and the ways forward matter,
        // not the steps: leave them out so everything fits a small screen.
        let steps: &[(Step, &str)] = if failed { &[] } else { &steps };
        for (index, (step, id)) in steps.iter().enumerate() {
            let next = steps.get(index + 1).map(|(s, _)| *s);
            let done = next.is_some_and(|next| self.step >= next) || self.step == Step::Captured;
            let current = !done && self.step >= *step && !failed;
            let mark = if done {
                "✓"
            } else if current {
                "●"
            } else {
                "○"
            };
            let label = if *step == Step::WaitingForScan && self.step == Step::CheckedIn {
                ctx.t("pay-step-checked-in")
            } else {
                ctx.t(id)
            };
            let font = if current { theme::BOLD } else { theme::FONT };
            let color = if done || current {
                theme::INK
            } else {
                theme::RULE
            };
            list = list.push(
                row![
                    text(mark)
                        .size(size::HEADING)
                        .width(Length::Fixed(36.0))
                        .color(color),
                    text(label).size(size::BODY + 2.0).font(font).color(color),
                ]
                .align_y(Center)
                .spacing(8),
            );
        }
        if let Some(reference) = &self.reference {
            list = list.push(
                text(ctx.t_args("pay-reference", &[("reference", Arg::Str(reference))]))
                    .size(size::SMALL),
            );
        }

        let mut panel = column![list].spacing(12);
        for (kind, amount) in &self.parts {
            panel = panel.push(strong(ctx.t_args(
                "pay-part-paid",
                &[
                    ("tender", Arg::Str(&ctx.t(&tender_key(*kind)))),
                    ("amount", Arg::Str(&ctx.money(*amount))),
                ],
            )));
        }
        if let Some(change) = self.change {
            panel = panel.push(
                container(
                    text(ctx.t_args("pay-change", &[("amount", Arg::Str(&ctx.money(change)))]))
                        .size(size::AMOUNT)
                        .font(theme::BOLD),
                )
                .id("pay-change")
                .padding(12)
                .width(Fill)
                .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }

        // Why the till shows a one-time QR: stays as long as the QR does.
        if self.one_time.as_ref().is_some_and(|o| o.relay_down) && self.outcome.is_none() {
            panel = panel.push(
                container(text(ctx.t("pay-one-time-relay-down")).size(size::BODY))
                    .padding(12)
                    .width(Fill)
                    .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }
        if let Some(problem) = &self.problem {
            let mut message = ctx.t(&engine_message_key(problem.message_id));
            if problem.retrying {
                message.push(' ');
                message.push_str(&ctx.t("pay-retrying"));
            }
            panel = panel.push(
                container(text(message).size(size::BODY).font(theme::BOLD))
                    .padding(12)
                    .width(Fill)
                    .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }

        match &self.outcome {
            None => {
                if self.cancelling {
                    panel = panel.push(strong(ctx.t("pay-cancelling")));
                }
                let can_cancel = !self.cancelling && self.step < Step::Captured;
                panel = panel.push(Space::new().height(Fill));
                if self.step < Step::Approved {
                    panel = panel.push(
                        big_button(ctx.t("pay-send-to-phone"), theme::primary_button)
                            .width(Fill)
                            .on_press(Message::OpenPhone),
                    );
                }
                if self.step == Step::WaitingForScan {
                    panel = panel.push(
                        big_button(ctx.t("pay-one-time-qr"), theme::plain_button)
                            .width(Fill)
                            .on_press(Message::ShowOneTimeQr),
                    );
                    panel = panel.push(
                        row![
                            big_button(ctx.t("pay-cash"), theme::go_button)
                                .width(Fill)
                                .on_press(Message::OpenTender(TenderKind::Cash)),
                            big_button(ctx.t("pay-card"), theme::plain_button)
                                .width(Fill)
                                .on_press(Message::OpenTender(TenderKind::Card)),
                        ]
                        .spacing(8),
                    );
                }
                panel = panel.push(
                    big_button(ctx.t("pay-cancel"), theme::stop_button)
                        .width(Fill)
                        .on_press_maybe(can_cancel.then_some(Message::Cancel)),
                );
            }
            Some(outcome) => {
                let (title, next) = outcome_text(outcome);
                let mut message = ctx.t(next);
                if let Outcome::Failed { message_id, detail } = outcome {
                    message = ctx.t(&engine_message_key(*message_id));
                    if let Some(detail) = detail {
                        message.push_str(&format!(" ({detail})"));
                    }
                }
                let (background, foreground) = match outcome {
                    Outcome::Cancelled { .. } => (theme::PANEL, theme::INK),
                    _ => (theme::STOP, iced::Color::WHITE),
                };
                panel = panel.push(
                    container(
                        column![
                            text(ctx.t(title)).size(size::HEADING).font(theme::BOLD),
                            text(message).size(size::BODY),
                        ]
                        .spacing(8),
                    )
                    .padding(16)
                    .width(Fill)
                    .style(theme::banner(background, foreground)),
                );
                panel = panel.push(Space::new().height(Fill));
                let retry_allowed = !matches!(outcome, Outcome::PushNotAllowed);
                if retry_allowed {
                    panel = panel.push(
                        big_button(ctx.t("pay-retry"), theme::go_button)
                            .width(Fill)
                            .on_press(Message::Retry),
                    );
                }
                if let Outcome::TokenExpired {
                    customer: Some(number),
                } = outcome
                {
                    panel = panel.push(
                        big_button(
                            ctx.t_args("pay-send-to-scanned", &[("number", Arg::Str(number))]),
                            theme::primary_button,
                        )
                        .width(Fill)
                        .on_press(Message::SendToScannedCustomer),
                    );
                }
                panel = panel.push(
                    big_button(ctx.t("pay-send-to-phone"), theme::primary_button)
                        .width(Fill)
                        .on_press(Message::OpenPhone),
                );
                panel = panel.push(
                    big_button(ctx.t("pay-back-to-basket"), theme::plain_button)
                        .width(Fill)
                        .on_press(Message::BackToBasket),
                );
            }
        }
        container(panel.height(Fill))
            .padding(16)
            .height(Fill)
            .style(theme::panel)
            .into()
    }

    fn tender_panel<'a>(&'a self, ctx: Ctx<'a>, t: &'a TenderEntry) -> Element<'a, Message> {
        let display = container(
            text(ctx.money(t.amount))
                .size(size::AMOUNT)
                .font(theme::BOLD),
        )
        .id("tender-amount")
        .padding(12)
        .width(Fill)
        .style(theme::qr_frame);
        // Any means of payment at the till: the one chosen is highlighted.
        let kinds = row([
            TenderKind::Cash,
            TenderKind::Card,
            TenderKind::GiftCard,
            TenderKind::CreditNote,
        ]
        .map(|kind| {
            button(text(ctx.t(&tender_key(kind))).size(size::SMALL))
                .padding([8, 10])
                .style(if kind == t.kind {
                    theme::selected_button
                } else {
                    theme::plain_button
                })
                .on_press(Message::OpenTender(kind))
                .into()
        }))
        .spacing(6);
        column![
            kinds,
            heading(ctx.t(&tender_key(t.kind))),
            text(ctx.t_args(
                "pay-tender-left",
                &[("amount", Arg::Str(&ctx.money(self.amount)))]
            ))
            .size(size::BODY),
            display,
            keypad(Message::Digit, Message::Backspace, Message::ClearPhone),
            row![
                big_button(ctx.t("pay-tender-exact"), theme::plain_button)
                    .width(Fill)
                    .on_press(Message::TenderExact),
                big_button(ctx.t("pay-tender-take"), theme::go_button)
                    .width(Fill)
                    .on_press_maybe((t.amount > 0).then_some(Message::TakeTender)),
            ]
            .spacing(8),
            big_button(ctx.t("common-close"), theme::plain_button)
                .width(Fill)
                .on_press(Message::CloseTender),
        ]
        .spacing(12)
        .into()
    }

    fn phone_panel<'a>(&'a self, ctx: Ctx<'a>, phone: &'a PhoneEntry) -> Element<'a, Message> {
        let codes = row(CALLING_CODES.iter().map(|code| {
            button(text(format!("+{code}")).size(size::BODY).font(theme::BOLD))
                .padding([10, 14])
                .style(if phone.calling_code == *code {
                    theme::selected_button
                } else {
                    theme::plain_button
                })
                .on_press(Message::CallingCode(code))
                .into()
        }))
        .spacing(8);
        let display = container(
            text(format!("+{} {}", phone.calling_code, phone.number))
                .size(size::HEADING + 4.0)
                .font(theme::BOLD),
        )
        .padding(12)
        .width(Fill)
        .style(theme::qr_frame);
        let valid = phone.msisdn().is_some();
        column![
            heading(ctx.t("pay-phone-title")),
            text(ctx.t("pay-phone-hint")).size(size::SMALL),
            codes,
            display,
            keypad(Message::Digit, Message::Backspace, Message::ClearPhone),
            big_button(ctx.t("pay-phone-send"), theme::go_button)
                .width(Fill)
                .on_press_maybe(valid.then_some(Message::SendToPhone)),
            big_button(ctx.t("common-close"), theme::plain_button)
                .width(Fill)
                .on_press(Message::ClosePhone),
        ]
        .spacing(12)
        .into()
    }
}

/// The translation key of a tender's name: `tender-<kind>`.
pub fn tender_key(kind: TenderKind) -> String {
    format!("tender-{}", kind.as_str().replace('_', "-"))
}

/// The translation key of an engine message id: `engine-<kebab-case id>`.
pub fn engine_message_key(id: MessageId) -> String {
    match serde_json::to_value(id) {
        Ok(serde_json::Value::String(name)) => format!("engine-{name}"),
        _ => "engine-unknown".to_owned(),
    }
}

fn outcome_text(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Declined => ("pay-declined-title", "pay-declined-next"),
        Outcome::Expired => ("pay-expired-title", "pay-expired-next"),
        Outcome::TokenExpired { .. } => ("pay-token-expired-title", "pay-token-expired-next"),
        Outcome::PushNotAllowed => ("pay-push-not-allowed-title", "pay-push-not-allowed-next"),
        Outcome::Cancelled {
            money_released: true,
        } => ("pay-cancelled-title", "pay-cancelled-released"),
        Outcome::Cancelled {
            money_released: false,
        } => ("pay-cancelled-title", "pay-cancelled-next"),
        Outcome::Failed { .. } => ("pay-failed-title", "pay-failed-next"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_number_needs_country_code_and_enough_digits() {
        let mut pay = Pay::new(1, 10000, "47");
        pay.update(Message::OpenPhone);
        for d in "9123456".chars() {
            pay.update(Message::Digit(d));
        }
        assert!(matches!(pay.update(Message::SendToPhone), Action::None));
        pay.update(Message::Digit('7'));
        match pay.update(Message::SendToPhone) {
            Action::Send(Command::SendToPhone { phone_number }) => {
                assert_eq!(phone_number, "4791234567")
            }
            other => panic!("{other:?}"),
        }
        pay.update(Message::CallingCode("358"));
        pay.update(Message::ClearPhone);
        for d in "0401234567".chars() {
            pay.update(Message::Digit(d));
        }
        match pay.update(Message::SendToPhone) {
            Action::Send(Command::SendToPhone { phone_number }) => {
                assert_eq!(phone_number, "358401234567")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn escape_cancels_once_and_not_after_capture() {
        let mut pay = Pay::new(1, 10000, "47");
        let esc = KeyPress {
            key: iced::keyboard::Key::Named(Named::Escape),
            text: None,
            modifiers: Default::default(),
        };
        assert!(matches!(pay.key(&esc), Action::Send(Command::Cancel)));
        assert!(matches!(pay.key(&esc), Action::None));
        let mut captured = Pay::new(2, 10000, "47");
        captured.advance(Step::Captured, Some("t1-x".into()));
        assert!(matches!(captured.key(&esc), Action::None));
    }

    #[test]
    fn f8_opens_the_keypad_and_f5_retries_only_after_a_stop() {
        let key = |named| KeyPress {
            key: iced::keyboard::Key::Named(named),
            text: None,
            modifiers: Default::default(),
        };
        let mut pay = Pay::new(1, 10000, "47");
        assert!(matches!(pay.key(&key(Named::F5)), Action::None));
        assert!(matches!(pay.key(&key(Named::F8)), Action::None));
        assert!(pay.phone.is_some());
        pay.update(Message::ClosePhone);
        pay.finish(Outcome::Declined);
        assert!(matches!(
            pay.key(&key(Named::F5)),
            Action::Send(Command::Retry)
        ));
        pay.finish(Outcome::PushNotAllowed);
        assert!(matches!(pay.key(&key(Named::F5)), Action::None));
    }

    #[test]
    fn every_message_id_has_a_translation_key() {
        assert_eq!(
            engine_message_key(MessageId::VippsUnreachable),
            "engine-vipps-unreachable"
        );
    }
}
