//! Receipt: what was sold, the VAT, the Vipps reference, and "New sale".

use iced::keyboard::key::Named;
use iced::widget::{Space, column, container, row, rule, scrollable, text};
use iced::{Center, Element, Fill, Length};

use super::KeyPress;
use crate::core::receipt::Receipt as SaleReceipt;
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};

#[derive(Debug)]
pub struct Receipt {
    sale_id: i64,
    reference: String,
    receipt: SaleReceipt,
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
        }
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
                text(ctx.t_args(
                    "receipt-reference",
                    &[("reference", Arg::Str(&self.reference))]
                ))
                .size(size::BODY),
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

        let actions = column![
            banner,
            Space::new().height(Fill),
            big_button(ctx.t("receipt-new-sale"), theme::go_button)
                .width(Length::Fixed(360.0))
                .height(Length::Fixed(size::TOUCH + 16.0))
                .on_press(Message::NewSale),
        ]
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
