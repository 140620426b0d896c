//! Receipt: what was sold, the VAT, the Vipps reference, and "New sale".

use iced::keyboard::key::Named;
use iced::widget::{Space, column, container, row, rule, scrollable, text};
use iced::{Center, Element, Fill, Length};

use super::KeyPress;
use crate::core::receipt::Receipt as SaleReceipt;
use crate::core::tender::TenderKind;
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};

#[derive(Debug)]
pub struct Receipt {
    sale_id: i64,
    reference: String,
    receipt: SaleReceipt,
    /// Parts paid at the till (cash, card), and the change of the last cash part.
    parts: Vec<(TenderKind, i64)>,
    change: Option<i64>,
    rounding: i64,
}

#[derive(Debug, Clone)]
pub enum Message {
    NewSale,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    NewSale,
}

impl Receipt {
    pub fn new(sale_id: i64, reference: String, receipt: SaleReceipt) -> Receipt {
        Receipt {
            sale_id,
            reference,
            receipt,
            parts: Vec::new(),
            change: None,
            rounding: 0,
        }
    }

    /// The parts paid at the till, the change handed back and the cash rounding.
    pub fn with_payment(
        mut self,
        parts: Vec<(TenderKind, i64)>,
        change: Option<i64>,
        rounding: i64,
    ) -> Receipt {
        self.parts = parts;
        self.change = change.filter(|c| *c > 0);
        self.rounding = rounding;
        self
    }

    pub fn change(&self) -> Option<i64> {
        self.change
    }

    pub fn reference(&self) -> &str {
        &self.reference
    }

    pub fn total(&self) -> i64 {
        self.receipt.total
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::NewSale => Action::NewSale,
        }
    }

    /// Enter starts the next sale.
    pub fn key(&mut self, press: &KeyPress) -> Action {
        match press.named() {
            Some(Named::Enter) => Action::NewSale,
            _ => Action::None,
        }
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let money = |minor: i64| ctx.money(minor);
        let lines = column(self.receipt.lines.iter().map(|line| {
            let mut name = column![strong(&line.name)];
            let mut detail = format!("{} × {}", line.quantity, money(line.unit_price));
            if line.discount > 0 {
                detail.push_str("  ");
                detail.push_str(&ctx.t_args(
                    "sale-line-discount",
                    &[("amount", Arg::Str(&money(line.discount)))],
                ));
            }
            name = name.push(text(detail).size(size::SMALL));
            row![name.width(Fill), body(money(line.total))]
                .align_y(Center)
                .into()
        }))
        .spacing(8);

        let mut totals = column![rule::horizontal(2)].spacing(6);
        if self.receipt.discount > 0 {
            totals = totals.push(row![
                body(ctx.t("sale-discount")).width(Fill),
                body(format!("−{}", money(self.receipt.discount)))
            ]);
        }
        for rate in &self.receipt.by_rate {
            totals = totals.push(row![
                text(ctx.t_args(
                    "sale-vat-line",
                    &[
                        ("rate", Arg::Str(&rate.rate.to_string())),
                        ("base", Arg::Str(&money(rate.excluding_tax))),
                    ],
                ))
                .size(size::SMALL)
                .width(Fill),
                text(money(rate.tax)).size(size::SMALL),
            ]);
        }
        totals = totals.push(
            row![
                text(ctx.t("sale-total"))
                    .size(size::HEADING)
                    .font(theme::BOLD)
                    .width(Fill),
                text(money(self.receipt.total))
                    .size(size::HEADING + 8.0)
                    .font(theme::BOLD),
            ]
            .align_y(Center),
        );

        let paper = container(
            column![
                heading(ctx.t("receipt-title")),
                text(ctx.t_args("receipt-sale", &[("sale", Arg::Int(self.sale_id))]))
                    .size(size::SMALL),
                scrollable(lines).height(Length::Shrink),
                totals,
                self.payment_lines(ctx),
            ]
            .spacing(12),
        )
        .padding(24)
        .width(Length::Fixed(560.0))
        .style(theme::panel);

        let banner = container(
            text(ctx.t_args(
                "receipt-paid",
                &[("amount", Arg::Str(&money(self.receipt.total)))],
            ))
            .size(size::HEADING + 4.0)
            .font(theme::BOLD),
        )
        .padding([14, 24])
        .style(theme::banner(theme::GO, iced::Color::WHITE));

        let mut actions = column![banner];
        if let Some(change) = self.change {
            actions = actions.push(
                container(
                    text(ctx.t_args("pay-change", &[("amount", Arg::Str(&money(change)))]))
                        .size(size::AMOUNT)
                        .font(theme::BOLD),
                )
                .padding([14, 24])
                .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }
        let actions = actions
            .extend([
                Space::new().height(Fill).into(),
                big_button(ctx.t("receipt-new-sale"), theme::go_button)
                    .width(Length::Fixed(360.0))
                    .height(Length::Fixed(size::TOUCH + 16.0))
                    .on_press(Message::NewSale)
                    .into(),
            ])
            .spacing(16)
            .width(Fill)
            .align_x(Center);

        row![paper, actions]
            .spacing(32)
            .padding(24)
            .height(Fill)
            .into()
    }
}

impl Receipt {
    /// How it was paid: each part at the till, the cash rounding, the Vipps reference.
    fn payment_lines<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let mut lines = column![].spacing(4);
        for (kind, amount) in &self.parts {
            lines = lines.push(row![
                body(ctx.t(&super::pay::tender_key(*kind))).width(Fill),
                body(ctx.money(*amount)),
            ]);
        }
        if self.rounding != 0 {
            lines = lines.push(row![
                text(ctx.t("receipt-rounding"))
                    .size(size::SMALL)
                    .width(Fill),
                text(ctx.money(self.rounding)).size(size::SMALL),
            ]);
        }
        if !self.reference.is_empty() {
            lines = lines.push(
                text(ctx.t_args(
                    "receipt-reference",
                    &[("reference", Arg::Str(&self.reference))],
                ))
                .size(size::BODY),
            );
        }
        lines.into()
    }
}
