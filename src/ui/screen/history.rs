//! History: today's sales with their status; open one; refund all or part of
//! it behind the admin PIN.

use iced::widget::{Space, button, column, container, row, scrollable, text, text_input};
use iced::{Center, Element, Fill, FillPortion, Length};
use time::{OffsetDateTime, UtcOffset};

use super::KeyPress;
use crate::core::money::parse_minor;
use crate::engine::{MessageId, SaleSummary};
use crate::store::returns::{ReturnLine, ReturnableLine};
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};

use super::pay::engine_message_key;

/// Id of the refund amount field.
pub const AMOUNT_ID: &str = "refund-amount";
/// Id of the PIN field.
pub const PIN_ID: &str = "refund-pin";

#[derive(Debug, Clone, PartialEq, Eq)]
enum RefundState {
    Editing,
    Pending,
    Done(i64),
    Failed(MessageId, Option<String>),
    WrongPin,
    BadAmount,
}

#[derive(Debug, Clone)]
struct RefundForm {
    amount: String,
    pin: String,
    state: RefundState,
}

/// Lines of the open sale picked for a return.
#[derive(Debug, Clone)]
struct ReturnForm {
    sale_id: i64,
    lines: Vec<ReturnableLine>,
    /// Quantity to return per line position.
    picked: Vec<(i64, i64)>,
    state: RefundState,
}

#[derive(Debug, Default)]
pub struct History {
    sales: Vec<SaleSummary>,
    loaded: bool,
    selected: Option<i64>,
    refund: Option<RefundForm>,
    returning: Option<ReturnForm>,
    /// Digits a barcode scanner typed (a receipt number), until Enter.
    scan: String,
}

#[derive(Debug, Clone)]
pub enum Message {
    Refresh,
    Open(i64),
    Close,
    StartRefund,
    RefundAll,
    Amount(String),
    Pin(String),
    Confirm,
    CancelRefund,
    /// One more (or less) of a line to return.
    ReturnMore(i64),
    ReturnLess(i64),
    ConfirmReturn,
    /// Print the open sale's receipt: the original if it never came out, else the one copy.
    Print,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Ask the engine for the sales list.
    Refresh,
    /// Check the PIN and, if right, ask the engine to refund.
    Refund {
        sale_id: i64,
        amount: i64,
        pin: String,
    },
    Focus(&'static str),
    /// Load the open sale's lines (for a return).
    LoadLines(i64),
    /// Return these lines (to the sale's tender).
    Return {
        sale_id: i64,
        lines: Vec<ReturnLine>,
    },
    /// Find the sale with this receipt number (a scanned receipt barcode).
    FindReceipt(i64),
    /// Print the sale's receipt (again).
    Print(i64),
}

/// What can still be refunded of a sale.
pub fn refundable(sale: &SaleSummary) -> i64 {
    (sale.captured - sale.refunded).max(0)
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// The engine's answer to `ListSales`.
    pub fn set_sales(&mut self, sales: Vec<SaleSummary>) {
        self.sales = sales;
        self.loaded = true;
    }

    pub fn sales(&self) -> &[SaleSummary] {
        &self.sales
    }

    /// The root refused the PIN.
    pub fn wrong_pin(&mut self) {
        if let Some(form) = &mut self.refund {
            form.state = RefundState::WrongPin;
            form.pin.clear();
        }
    }

    /// The root sent the refund to the engine.
    pub fn refund_sent(&mut self) {
        if let Some(form) = &mut self.refund {
            form.state = RefundState::Pending;
            form.pin.clear();
        }
    }

    /// The open sale's lines arrived.
    pub fn set_lines(&mut self, sale_id: i64, lines: Vec<ReturnableLine>) {
        if self.selected == Some(sale_id) {
            self.returning = Some(ReturnForm {
                sale_id,
                lines,
                picked: Vec::new(),
                state: RefundState::Editing,
            });
        }
    }

    /// A scanned receipt number found its sale (or not).
    pub fn receipt_found(&mut self, sale_id: Option<i64>) -> Action {
        match sale_id {
            Some(id) => self.update(Message::Open(id)),
            None => Action::None,
        }
    }

    /// Digits then Enter (a barcode scanner reading a receipt) open that sale.
    pub fn key(&mut self, press: &KeyPress) -> Action {
        use iced::keyboard::key::Named;
        match press.named() {
            Some(Named::Enter) => match std::mem::take(&mut self.scan).parse() {
                Ok(nr) => Action::FindReceipt(nr),
                Err(_) => Action::None,
            },
            _ => {
                if let Some(c) = press.character().filter(char::is_ascii_digit)
                    && self.scan.len() < 18
                {
                    self.scan.push(c);
                }
                Action::None
            }
        }
    }

    /// The engine answered a refund.
    pub fn refund_result(
        &mut self,
        sale_id: i64,
        result: Result<i64, (MessageId, Option<String>)>,
    ) {
        if self.selected != Some(sale_id) {
            return;
        }
        if let Some(form) = &mut self.returning
            && form.state == RefundState::Pending
        {
            form.state = match &result {
                Ok(amount) => RefundState::Done(*amount),
                Err((id, detail)) => RefundState::Failed(*id, detail.clone()),
            };
            return;
        }
        if let Some(form) = &mut self.refund {
            form.state = match result {
                Ok(amount) => RefundState::Done(amount),
                Err((id, detail)) => RefundState::Failed(id, detail),
            };
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Refresh => return Action::Refresh,
            Message::Open(sale_id) => {
                self.selected = Some(sale_id);
                self.refund = None;
                self.returning = None;
                return Action::LoadLines(sale_id);
            }
            Message::Close => {
                self.selected = None;
                self.refund = None;
                self.returning = None;
            }
            Message::ReturnMore(position) | Message::ReturnLess(position) => {
                let more = matches!(message, Message::ReturnMore(_));
                if let Some(form) = &mut self.returning {
                    let left = form
                        .lines
                        .iter()
                        .find(|l| l.position == position)
                        .map_or(0, |l| l.sold - l.returned);
                    let picked = form.picked.iter().position(|(p, _)| *p == position);
                    let now = picked.map_or(0, |i| form.picked[i].1);
                    let next = if more {
                        (now + 1).min(left)
                    } else {
                        (now - 1).max(0)
                    };
                    match picked {
                        Some(i) => form.picked[i].1 = next,
                        None => form.picked.push((position, next)),
                    }
                    form.picked.retain(|(_, q)| *q > 0);
                    form.state = RefundState::Editing;
                }
            }
            Message::Print => {
                if let Some(sale_id) = self.selected {
                    return Action::Print(sale_id);
                }
            }
            Message::ConfirmReturn => {
                if let Some(form) = &mut self.returning
                    && !form.picked.is_empty()
                    && form.state != RefundState::Pending
                {
                    form.state = RefundState::Pending;
                    return Action::Return {
                        sale_id: form.sale_id,
                        lines: form
                            .picked
                            .iter()
                            .map(|(position, quantity)| ReturnLine {
                                position: *position,
                                quantity: *quantity,
                            })
                            .collect(),
                    };
                }
            }
            Message::StartRefund => {
                self.refund = Some(RefundForm {
                    amount: String::new(),
                    pin: String::new(),
                    state: RefundState::Editing,
                });
                return Action::Focus(AMOUNT_ID);
            }
            Message::RefundAll => {
                let all = self.selected_sale().map(refundable).unwrap_or(0);
                if let Some(form) = &mut self.refund {
                    form.amount = plain_amount(all);
                    form.state = RefundState::Editing;
                }
                return Action::Focus(PIN_ID);
            }
            Message::Amount(amount) => {
                if let Some(form) = &mut self.refund {
                    form.amount = amount;
                    form.state = RefundState::Editing;
                }
            }
            Message::Pin(pin) => {
                if let Some(form) = &mut self.refund {
                    form.pin = pin.chars().filter(char::is_ascii_digit).take(8).collect();
                    if form.state == RefundState::WrongPin {
                        form.state = RefundState::Editing;
                    }
                }
            }
            Message::Confirm => {
                let Some(sale_id) = self.selected else {
                    return Action::None;
                };
                let left = self.selected_sale().map(refundable).unwrap_or(0);
                let Some(form) = &mut self.refund else {
                    return Action::None;
                };
                if form.state == RefundState::Pending {
                    return Action::None;
                }
                match parse_minor(&form.amount) {
                    Ok(amount) if amount > 0 && amount <= left => {
                        return Action::Refund {
                            sale_id,
                            amount,
                            pin: form.pin.clone(),
                        };
                    }
                    _ => form.state = RefundState::BadAmount,
                }
            }
            Message::CancelRefund => self.refund = None,
        }
        Action::None
    }

    fn selected_sale(&self) -> Option<&SaleSummary> {
        let id = self.selected?;
        self.sales.iter().find(|s| s.sale_id == id)
    }

    pub fn view<'a>(
        &'a self,
        ctx: Ctx<'a>,
        now_ms: i64,
        offset: UtcOffset,
    ) -> Element<'a, Message> {
        let today = local(now_ms, offset).date();
        let todays: Vec<&SaleSummary> = self
            .sales
            .iter()
            .filter(|s| local(s.created_at_ms, offset).date() == today)
            .collect();

        let header = row![
            heading(ctx.t("history-title")).width(Fill),
            button(text(ctx.t("history-refresh")).size(size::BODY))
                .padding([10, 14])
                .style(theme::plain_button)
                .on_press(Message::Refresh),
        ]
        .align_y(Center);

        let list: Element<'a, Message> = if !self.loaded {
            body(ctx.t("history-loading")).into()
        } else if todays.is_empty() {
            body(ctx.t("history-empty")).into()
        } else {
            scrollable(
                column(todays.into_iter().map(|sale| {
                    let selected = self.selected == Some(sale.sale_id);
                    let time = local(sale.created_at_ms, offset);
                    button(
                        row![
                            text(format!("{:02}:{:02}", time.hour(), time.minute()))
                                .size(size::BODY)
                                .width(Length::Fixed(70.0)),
                            text(format!("#{}", sale.sale_id))
                                .size(size::BODY)
                                .width(Length::Fixed(70.0)),
                            text(state_text(ctx, sale)).size(size::BODY).width(Fill),
                            text(ctx.money(sale.total))
                                .size(size::BODY)
                                .font(theme::BOLD),
                        ]
                        .spacing(8)
                        .align_y(Center),
                    )
                    .padding([12, 14])
                    .width(Fill)
                    .style(if selected {
                        theme::selected_button
                    } else {
                        theme::plain_button
                    })
                    .on_press(Message::Open(sale.sale_id))
                    .into()
                }))
                .spacing(6),
            )
            .height(Fill)
            .into()
        };

        let left = column![header, list].spacing(12).width(FillPortion(3));
        let right: Element<'a, Message> = match self.selected_sale() {
            Some(sale) => self.detail(ctx, sale),
            None => body(ctx.t("history-pick")).into(),
        };
        row![
            left,
            container(right)
                .padding(16)
                .width(FillPortion(2))
                .height(Fill)
                .style(theme::panel)
        ]
        .spacing(16)
        .padding(16)
        .height(Fill)
        .into()
    }

    fn detail<'a>(&'a self, ctx: Ctx<'a>, sale: &'a SaleSummary) -> Element<'a, Message> {
        let amount_row = |label: String, minor: i64| {
            row![body(label).width(Fill), strong(ctx.money(minor))].spacing(8)
        };
        let mut col = column![
            heading(ctx.t_args("history-sale", &[("sale", Arg::Int(sale.sale_id))])),
            body(state_text(ctx, sale)),
            amount_row(ctx.t("sale-total"), sale.total),
            amount_row(ctx.t("history-captured"), sale.captured),
            amount_row(ctx.t("history-refunded"), sale.refunded),
        ]
        .spacing(10);
        if let Some(reference) = &sale.reference {
            col = col.push(
                text(ctx.t_args("pay-reference", &[("reference", Arg::Str(reference))]))
                    .size(size::SMALL),
            );
        }
        let left = refundable(sale);
        match &self.refund {
            None => {
                if let Some(form) = &self.returning {
                    col = col.push(return_panel(ctx, form));
                }
                col = col.push(Space::new().height(Fill));
                if left > 0 {
                    col = col.push(
                        big_button(ctx.t("history-refund"), theme::stop_button)
                            .width(Fill)
                            .on_press(Message::StartRefund),
                    );
                } else {
                    col = col.push(body(ctx.t("history-nothing-to-refund")));
                }
                if sale.state == "completed" {
                    col = col.push(
                        big_button(ctx.t("history-print"), theme::plain_button)
                            .width(Fill)
                            .on_press(Message::Print),
                    );
                }
                col = col.push(
                    big_button(ctx.t("common-close"), theme::plain_button)
                        .width(Fill)
                        .on_press(Message::Close),
                );
            }
            Some(form) => {
                let pending = form.state == RefundState::Pending;
                col = col.push(strong(ctx.t_args(
                    "history-refund-max",
                    &[("amount", Arg::Str(&ctx.money(left)))],
                )));
                col = col.push(
                    row![
                        text_input(&ctx.t("history-refund-amount"), &form.amount)
                            .id(AMOUNT_ID)
                            .on_input(Message::Amount)
                            .size(size::BODY)
                            .padding(12)
                            .style(theme::input),
                        button(text(ctx.t("history-refund-all")).size(size::BODY))
                            .padding([12, 14])
                            .style(theme::plain_button)
                            .on_press(Message::RefundAll),
                    ]
                    .spacing(8)
                    .align_y(Center),
                );
                col = col.push(
                    text_input(&ctx.t("admin-pin-placeholder"), &form.pin)
                        .id(PIN_ID)
                        .secure(true)
                        .on_input(Message::Pin)
                        .on_submit(Message::Confirm)
                        .size(size::BODY)
                        .padding(12)
                        .style(theme::input),
                );
                let status = match &form.state {
                    RefundState::Editing => None,
                    RefundState::Pending => Some((ctx.t("history-refund-pending"), theme::INK)),
                    RefundState::Done(amount) => Some((
                        ctx.t_args(
                            "history-refund-done",
                            &[("amount", Arg::Str(&ctx.money(*amount)))],
                        ),
                        theme::GO,
                    )),
                    RefundState::Failed(id, detail) => {
                        let mut message = ctx.t(&engine_message_key(*id));
                        if let Some(detail) = detail {
                            message.push_str(&format!(" ({detail})"));
                        }
                        Some((message, theme::STOP))
                    }
                    RefundState::WrongPin => Some((ctx.t("admin-pin-wrong"), theme::STOP)),
                    RefundState::BadAmount => {
                        Some((ctx.t("history-refund-bad-amount"), theme::STOP))
                    }
                };
                if let Some((message, color)) = status {
                    col = col.push(
                        text(message)
                            .size(size::BODY)
                            .font(theme::BOLD)
                            .color(color),
                    );
                }
                col = col.push(Space::new().height(Fill));
                col = col.push(
                    big_button(ctx.t("history-refund-confirm"), theme::stop_button)
                        .width(Fill)
                        .on_press_maybe((!pending).then_some(Message::Confirm)),
                );
                col = col.push(
                    big_button(ctx.t("common-close"), theme::plain_button)
                        .width(Fill)
                        .on_press(Message::CancelRefund),
                );
            }
        }
        col.height(Fill).into()
    }
}

fn local(ms: i64, offset: UtcOffset) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

/// `12,50` for 1250 minor units: what the amount field shows.
fn plain_amount(minor: i64) -> String {
    format!("{},{:02}", minor / 100, minor % 100)
}

fn state_text(ctx: Ctx<'_>, sale: &SaleSummary) -> String {
    let key = format!("sale-state-{}", sale.state.replace('_', "-").to_lowercase());
    let mut label = if ctx.i18n.has(&key) {
        ctx.t(&key)
    } else {
        sale.state.clone()
    };
    if sale.refunded > 0 {
        label.push_str(" · ");
        label.push_str(&ctx.t_args(
            "history-refunded-amount",
            &[("amount", Arg::Str(&ctx.money(sale.refunded)))],
        ));
    }
    label
}

/// The open sale's lines with a stepper each, and "Return" for the lines picked.
fn return_panel<'a>(ctx: Ctx<'a>, form: &'a ReturnForm) -> Element<'a, Message> {
    let picked = |position: i64| {
        form.picked
            .iter()
            .find(|(p, _)| *p == position)
            .map_or(0, |(_, q)| *q)
    };
    let mut col = column![strong(ctx.t("history-return-title"))].spacing(6);
    for line in &form.lines {
        let left = line.sold - line.returned;
        let n = picked(line.position);
        let step = |label: &'static str, message: Message, enabled: bool| {
            button(text(label).size(size::BODY).font(theme::BOLD))
                .padding([6, 12])
                .style(theme::plain_button)
                .on_press_maybe(enabled.then_some(message))
        };
        col = col.push(
            row![
                column![
                    body(line.name.clone()),
                    text(ctx.t_args(
                        "history-return-line",
                        &[
                            ("sold", Arg::Int(line.sold)),
                            ("returned", Arg::Int(line.returned)),
                        ],
                    ))
                    .size(size::SMALL),
                ]
                .width(Fill),
                step("−", Message::ReturnLess(line.position), n > 0),
                strong(n.to_string()),
                step("+", Message::ReturnMore(line.position), n < left),
            ]
            .spacing(8)
            .align_y(Center),
        );
    }
    let status = match &form.state {
        RefundState::Pending => Some(ctx.t("history-refund-pending")),
        RefundState::Done(amount) => Some(ctx.t_args(
            "history-return-done",
            &[("amount", Arg::Str(&ctx.money(*amount)))],
        )),
        RefundState::Failed(id, detail) => {
            let mut m = ctx.t(&engine_message_key(*id));
            if let Some(d) = detail {
                m.push_str(&format!(" ({d})"));
            }
            Some(m)
        }
        _ => None,
    };
    if let Some(status) = status {
        col = col.push(strong(status));
    }
    col = col.push(
        big_button(ctx.t("history-return"), theme::stop_button)
            .width(Fill)
            .on_press_maybe(
                (!form.picked.is_empty() && form.state != RefundState::Pending)
                    .then_some(Message::ConfirmReturn),
            ),
    );
    col.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(id: i64, captured: i64, refunded: i64) -> SaleSummary {
        SaleSummary {
            sale_id: id,
            state: "completed".into(),
            total: captured,
            currency: "NOK".into(),
            reference: Some(format!("t1-{id}")),
            captured,
            refunded,
            created_at_ms: 0,
        }
    }

    #[test]
    fn refund_amount_is_checked_before_the_pin_goes_anywhere() {
        let mut history = History::new();
        history.set_sales(vec![sale(7, 10000, 2500)]);
        history.update(Message::Open(7));
        history.update(Message::StartRefund);
        history.update(Message::Amount("80,00".into()));
        history.update(Message::Pin("1234".into()));
        assert_eq!(
            history.update(Message::Confirm),
            Action::None,
            "more than refundable"
        );
        history.update(Message::RefundAll);
        assert_eq!(
            history.update(Message::Confirm),
            Action::Refund {
                sale_id: 7,
                amount: 7500,
                pin: "1234".into()
            }
        );
        history.refund_sent();
        assert_eq!(history.update(Message::Confirm), Action::None, "pending");
    }
}
