//! Small building blocks shared by the screens.

use iced::widget::{Button, Text, button, column, container, row, text};
use iced::{Center, Element, Fill, Length};

use super::i18n::I18n;
use super::theme::{self, size};
use crate::core::money::{Currency, format_minor};

/// What every view needs to render text and money.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub i18n: &'a I18n,
    pub currency: Currency,
}

impl Ctx<'_> {
    /// Translates a message.
    pub fn t(&self, id: &str) -> String {
        self.i18n.t(id)
    }

    /// Translates a message with arguments.
    pub fn t_args(&self, id: &str, args: &[(&str, super::i18n::Arg<'_>)]) -> String {
        self.i18n.t_args(id, args)
    }

    /// Formats minor units in the till's currency for the active language.
    pub fn money(&self, minor: i64) -> String {
        format_minor(minor, self.currency, self.i18n.locale())
    }
}

/// Text in the default size.
pub fn body<'a>(content: impl text::IntoFragment<'a>) -> Text<'a> {
    text(content).size(size::BODY)
}

/// Bold text.
pub fn strong<'a>(content: impl text::IntoFragment<'a>) -> Text<'a> {
    text(content).size(size::BODY).font(theme::BOLD)
}

/// A heading.
pub fn heading<'a>(content: impl text::IntoFragment<'a>) -> Text<'a> {
    text(content).size(size::HEADING).font(theme::BOLD)
}

/// A big, centred touch button with a text label.
pub fn big_button<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    style: fn(&iced::Theme, button::Status) -> button::Style,
) -> Button<'a, M> {
    button(
        text(label)
            .size(size::BODY)
            .font(theme::BOLD)
            .align_x(Center)
            .align_y(Center)
            .width(Fill),
    )
    .padding([14, 20])
    .height(Length::Fixed(size::TOUCH))
    .style(style)
}

/// A square touch button (quantity, keypad).
pub fn square_button<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    style: fn(&iced::Theme, button::Status) -> button::Style,
) -> Button<'a, M> {
    button(
        text(label)
            .size(size::HEADING)
            .font(theme::BOLD)
            .align_x(Center)
            .align_y(Center)
            .width(Fill)
            .height(Fill),
    )
    .width(Length::Fixed(size::TOUCH))
    .height(Length::Fixed(size::TOUCH))
    .style(style)
}

/// A numeric keypad: digits, backspace and clear.
pub fn keypad<'a, M: Clone + 'a>(
    on_digit: impl Fn(char) -> M + 'a,
    on_backspace: M,
    on_clear: M,
) -> Element<'a, M> {
    let key = |label: &'static str, message: M| {
        square_button(label, theme::plain_button)
            .width(Length::Fixed(80.0))
            .on_press(message)
    };
    let digit_row =
        |digits: [char; 3]| row(digits.map(|d| key(digit_label(d), on_digit(d)).into())).spacing(8);
    column![
        digit_row(['1', '2', '3']),
        digit_row(['4', '5', '6']),
        digit_row(['7', '8', '9']),
        row![
            key("C", on_clear),
            key("0", on_digit('0')),
            key("⌫", on_backspace),
        ]
        .spacing(8),
    ]
    .spacing(8)
    .into()
}

fn digit_label(d: char) -> &'static str {
    match d {
        '0' => "0",
        '1' => "1",
        '2' => "2",
        '3' => "3",
        '4' => "4",
        '5' => "5",
        '6' => "6",
        '7' => "7",
        '8' => "8",
        _ => "9",
    }
}

/// A boxed panel.
pub fn panel<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    container(content).padding(16).style(theme::panel).into()
}

/// A full-width coloured banner with one line of bold text.
pub fn banner<'a, M: 'a>(
    label: impl text::IntoFragment<'a>,
    background: iced::Color,
    foreground: iced::Color,
) -> Element<'a, M> {
    container(text(label).size(size::BODY).font(theme::BOLD))
        .padding([8, 16])
        .width(Fill)
        .style(theme::banner(background, foreground))
        .into()
}
