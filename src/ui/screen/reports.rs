//! Reports and the drawer: X report (the day so far), Z report (closes the day; a manager),
//! opening the drawer without a sale (a manager). The report is shown as the text it is
//! journalled with.

use iced::widget::{Space, column, container, row, rule, scrollable, text, text_input};
use iced::{Element, Fill, Length};

use crate::core::money::parse_minor;
use crate::core::report::{Report, ReportLine};
use crate::store::day::CashMovementKind;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, heading};

#[derive(Debug, Default)]
pub struct Reports {
    shown: Option<Report>,
    error: Option<String>,
    note: Option<String>,
    busy: bool,
    /// Cash in or out of the drawer: the amount typed (kroner) and the reason.
    amount: String,
    reason: String,
    /// The till is in training mode (the switch shows the way out).
    training: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    X,
    Z,
    OpenDrawer,
    Amount(String),
    Reason(String),
    Cash(CashMovementKind),
    Count,
    /// Print the report shown.
    Print,
    /// Switch training mode on or off (a manager).
    Training,
}

/// What the root must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    TakeX,
    TakeZ,
    OpenDrawer,
    /// The float, a pay-in or a pay-out of `amount` minor units.
    Cash {
        kind: CashMovementKind,
        amount: i64,
        reason: Option<String>,
    },
    /// The cash counted in the drawer.
    Count(i64),
    /// Print this report on the receipt printer.
    Print(Box<Report>),
    /// Switch training mode on (true) or off.
    SetTraining(bool),
}

impl Reports {
    pub fn new(training: bool) -> Reports {
        Reports {
            training,
            ..Reports::default()
        }
    }

    /// Training mode was switched (a note to show) or the switch was refused.
    pub fn training_set(&mut self, result: Result<(bool, String), String>) {
        if let Ok((on, _)) = &result {
            self.training = *on;
        }
        self.drawer(result.map(|(_, note)| note));
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Amount(a) => {
                self.amount = a;
                return Action::None;
            }
            Message::Reason(r) => {
                self.reason = r;
                return Action::None;
            }
            _ => {}
        }
        if self.busy {
            return Action::None;
        }
        self.error = None;
        self.note = None;
        let amount = parse_minor(self.amount.trim()).ok().filter(|a| *a >= 0);
        let action = match message {
            Message::X => Action::TakeX,
            Message::Z => Action::TakeZ,
            Message::OpenDrawer => Action::OpenDrawer,
            Message::Cash(kind) => match amount {
                Some(amount) => Action::Cash {
                    kind,
                    amount,
                    reason: Some(self.reason.trim().to_string()).filter(|r| !r.is_empty()),
                },
                None => Action::None,
            },
            Message::Count => amount.map_or(Action::None, Action::Count),
            Message::Print => match &self.shown {
                Some(report) => Action::Print(Box::new(report.clone())),
                None => Action::None,
            },
            Message::Training => Action::SetTraining(!self.training),
            Message::Amount(_) | Message::Reason(_) => Action::None,
        };
        if action == Action::None {
            self.error = Some(String::new());
        } else {
            self.busy = true;
        }
        action
    }

    /// A cash movement or count was recorded (a note to show) or refused.
    pub fn cash_recorded(&mut self, result: Result<String, String>) {
        if result.is_ok() {
            self.amount.clear();
            self.reason.clear();
        }
        self.drawer(result);
    }

    /// A report was taken or refused (why).
    pub fn report(&mut self, result: Result<Report, String>) {
        self.busy = false;
        match result {
            Ok(report) => self.shown = Some(report),
            Err(why) => self.error = Some(why),
        }
    }

    /// The drawer opened (a note to show) or was refused.
    pub fn drawer(&mut self, result: Result<String, String>) {
        self.busy = false;
        match result {
            Ok(note) => self.note = Some(note),
            Err(why) => self.error = Some(why),
        }
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let enabled = |m: Message| (!self.busy).then_some(m);
        let mut actions = column![
            heading(ctx.t("reports-title")),
            row![
                big_button(ctx.t("reports-x"), theme::primary_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::X)),
                big_button(ctx.t("reports-z"), theme::stop_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::Z)),
            ]
            .spacing(8),
            text(ctx.t("reports-z-hint")).size(size::SMALL),
            Space::new().height(Length::Fixed(12.0)),
            big_button(ctx.t("reports-open-drawer"), theme::plain_button)
                .width(Fill)
                .on_press_maybe(enabled(Message::OpenDrawer)),
            Space::new().height(Length::Fixed(12.0)),
            text_input(&ctx.t("reports-amount"), &self.amount)
                .on_input(Message::Amount)
                .size(size::BODY)
                .padding(10),
            text_input(&ctx.t("reports-reason"), &self.reason)
                .on_input(Message::Reason)
                .size(size::BODY)
                .padding(10),
            row![
                big_button(ctx.t("reports-float"), theme::plain_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::Cash(CashMovementKind::Float))),
                big_button(ctx.t("reports-count"), theme::plain_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::Count)),
            ]
            .spacing(8),
            row![
                big_button(ctx.t("reports-pay-in"), theme::plain_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::Cash(CashMovementKind::PayIn))),
                big_button(ctx.t("reports-pay-out"), theme::plain_button)
                    .width(Fill)
                    .on_press_maybe(enabled(Message::Cash(CashMovementKind::PayOut))),
            ]
            .spacing(8),
        ]
        .spacing(12)
        .width(Length::Fixed(360.0));
        if let Some(error) = self.error.as_ref().map(|e| {
            if e.is_empty() {
                ctx.t("reports-bad-amount")
            } else {
                e.clone()
            }
        }) {
            actions = actions.push(
                container(text(error).size(size::BODY).font(theme::BOLD))
                    .padding(12)
                    .width(Fill)
                    .style(theme::banner(theme::STOP, iced::Color::WHITE)),
            );
        }
        if let Some(note) = &self.note {
            actions = actions.push(
                container(text(note.clone()).size(size::BODY).font(theme::BOLD))
                    .padding(12)
                    .width(Fill)
                    .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }
        let training = big_button(
            ctx.t(if self.training {
                "reports-training-off"
            } else {
                "reports-training-on"
            }),
            theme::plain_button,
        )
        .width(Length::Fixed(320.0))
        .on_press_maybe(enabled(Message::Training));
        let mut below = row![].spacing(12).align_y(iced::Alignment::Center);
        let paper: Element<'a, Message> = match &self.shown {
            Some(report) => {
                below = below.push(
                    big_button(ctx.t("reports-print"), theme::plain_button)
                        .width(Length::Fixed(320.0))
                        .on_press_maybe(enabled(Message::Print)),
                );
                scrollable(
                    container(report_lines(report.lines(ctx.i18n.locale())))
                        .padding(24)
                        .style(theme::panel),
                )
                .height(Fill)
                .into()
            }
            None => container(text(ctx.t("reports-none")).size(size::BODY))
                .padding(24)
                .height(Fill)
                .style(theme::panel)
                .into(),
        };
        let below = below.push(training).push(
            text(ctx.t("reports-training-hint"))
                .size(size::SMALL)
                .width(Fill),
        );
        let paper = column![paper, below].spacing(12);
        row![actions, container(paper).width(Fill).height(Fill)]
            .spacing(32)
            .padding(24)
            .height(Fill)
            .into()
    }
}

/// The report's lines as rows: label left, figure right, rules as rules.
fn report_lines<'a, M: 'a>(lines: Vec<ReportLine>) -> Element<'a, M> {
    column(lines.into_iter().map(|line| {
        match line {
            ReportLine::Rule => rule::horizontal(1).into(),
            ReportLine::Title(t) => text(t).size(size::BODY).font(theme::BOLD).into(),
            ReportLine::Text(t) => text(t).size(size::SMALL).into(),
            ReportLine::Pair(left, right) => row![
                text(left).size(size::SMALL).width(Fill),
                text(right).size(size::SMALL),
            ]
            .into(),
        }
    }))
    .spacing(2)
    .width(Length::Fixed(560.0))
    .into()
}
