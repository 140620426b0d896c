//! The customer-facing display: an optional second window on a screen that faces the customer.
//! It follows the sale: a welcome while the till is idle, the basket as it is built with its
//! total, on Pay the amount and the till's QR large with "Scan to pay", the payment's progress,
//! and "Thank you". It shows nothing only the cashier may see (who is logged in, errors and
//! their details, references, reports, admin): the root gives it only what is listed here.

use iced::widget::{Space, column, container, qr_code, row, scrollable, text};
use iced::{Center, Element, Fill, Length};

use crate::core::basket::Basket;
use crate::ui::screen::pay::Step;
use crate::ui::theme::{self, size};
use crate::ui::widget::Ctx;

/// Where the sale is, as the customer may see it.
#[derive(Debug, Clone, Copy)]
pub enum Phase<'a> {
    /// Nothing in the basket (or the till is locked, or on a back-office screen).
    Welcome,
    /// The cashier is adding items.
    Basket,
    /// Pay was pressed: `amount` is left to pay; the till's QR, if it has one.
    Pay {
        amount: i64,
        step: Step,
        qr: Option<&'a qr_code::Data>,
    },
    /// The payment did not go through (declined, expired, cancelled).
    NotPaid,
    /// Paid: the total, and the change handed back for cash.
    ThankYou { total: i64, change: Option<i64> },
}

/// What the customer display shows.
#[derive(Debug, Clone, Copy)]
pub struct CustomerDisplay<'a> {
    pub shop_name: &'a str,
    pub basket: &'a Basket,
    pub phase: Phase<'a>,
}

/// The customer display's whole window.
pub fn view<'a, M: 'a>(display: CustomerDisplay<'a>, ctx: Ctx<'a>) -> Element<'a, M> {
    let title = text(display.shop_name.to_string())
        .size(size::HEADING)
        .font(theme::BOLD);
    let side: Element<'a, M> = match display.phase {
        Phase::Welcome => centred(column![
            text(ctx.t("customer-welcome"))
                .size(size::AMOUNT)
                .font(theme::BOLD),
        ]),
        Phase::Basket => total_block(ctx, ctx.t("customer-total"), display.basket.total().minor),
        Phase::Pay { amount, step, qr } => {
            let progress = match step {
                Step::WaitingForScan => ctx.t("customer-scan"),
                Step::CheckedIn | Step::RequestSent => ctx.t("customer-approve"),
                Step::Approved | Step::Captured => ctx.t("customer-processing"),
            };
            let mut block = column![
                text(ctx.t("customer-to-pay")).size(size::HEADING),
                text(ctx.money(amount)).size(size::AMOUNT).font(theme::BOLD),
            ]
            .align_x(Center)
            .spacing(12);
            if let (Step::WaitingForScan, Some(data)) = (step, qr) {
                block = block.push(
                    container(qr_code(data).total_size(420.0).style(|_| qr_code::Style {
                        cell: iced::Color::BLACK,
                        background: iced::Color::WHITE,
                    }))
                    .padding(24)
                    .style(theme::qr_frame),
                );
            }
            block = block.push(text(progress).size(size::HEADING).font(theme::BOLD));
            centred(block)
        }
        Phase::NotPaid => centred(column![
            text(ctx.t("customer-not-paid"))
                .size(size::HEADING)
                .font(theme::BOLD),
        ]),
        Phase::ThankYou { total, change } => {
            let mut block = column![
                text(ctx.t("customer-thanks"))
                    .size(size::AMOUNT)
                    .font(theme::BOLD),
                text(ctx.t("customer-paid")).size(size::HEADING),
                text(ctx.money(total)).size(size::HEADING).font(theme::BOLD),
            ]
            .align_x(Center)
            .spacing(12);
            if let Some(change) = change.filter(|c| *c > 0) {
                block = block.push(
                    text(ctx.t_args(
                        "customer-change",
                        &[("amount", crate::ui::i18n::Arg::Str(&ctx.money(change)))],
                    ))
                    .size(size::HEADING),
                );
            }
            centred(block)
        }
    };
    let with_lines = !matches!(display.phase, Phase::Welcome);
    let body: Element<'a, M> = if with_lines {
        row![
            container(basket_lines(display.basket, ctx))
                .width(Length::FillPortion(3))
                .height(Fill),
            container(side).width(Length::FillPortion(2)).height(Fill),
        ]
        .spacing(32)
        .into()
    } else {
        side
    };
    container(column![title, body].spacing(24))
        .padding(32)
        .width(Fill)
        .height(Fill)
        .into()
}

fn centred<'a, M: 'a>(content: iced::widget::Column<'a, M>) -> Element<'a, M> {
    container(content.align_x(Center))
        .center_x(Fill)
        .center_y(Fill)
        .into()
}

fn total_block<'a, M: 'a>(ctx: Ctx<'a>, label: String, total: i64) -> Element<'a, M> {
    centred(column![
        text(label).size(size::HEADING),
        text(ctx.money(total)).size(size::AMOUNT).font(theme::BOLD),
    ])
}

/// The basket's lines: name, quantity, line total (after discounts), and the total.
fn basket_lines<'a, M: 'a>(basket: &'a Basket, ctx: Ctx<'a>) -> Element<'a, M> {
    let lines = column(basket.lines().iter().map(|line| {
        row![
            text(line.item.name.clone()).size(size::BODY).width(Fill),
            text(line.quantity_text()).size(size::BODY),
            Space::new().width(Length::Fixed(24.0)),
            text(ctx.money(line.amounts.total))
                .size(size::BODY)
                .font(theme::BOLD),
        ]
        .into()
    }))
    .spacing(8);
    let discount = basket.totals().discount;
    let mut sums = column![].spacing(4);
    if discount > 0 {
        sums = sums.push(row![
            text(ctx.t("customer-discount"))
                .size(size::BODY)
                .width(Fill),
            text(ctx.money(-discount)).size(size::BODY),
        ]);
    }
    sums = sums.push(row![
        text(ctx.t("customer-total"))
            .size(size::HEADING)
            .font(theme::BOLD)
            .width(Fill),
        text(ctx.money(basket.total().minor))
            .size(size::HEADING)
            .font(theme::BOLD),
    ]);
    container(column![scrollable(lines).height(Fill), sums].spacing(16))
        .padding(24)
        .height(Fill)
        .style(theme::panel)
        .into()
}
