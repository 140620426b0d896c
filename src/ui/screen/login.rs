//! Log-in: the till starts here when it has cashiers. Choose your name, type your PIN (keypad
//! or keyboard), Enter. Switching cashier is Lock, then your name and PIN.

use iced::keyboard::key::Named;
use iced::widget::{button, column, container, row, text};
use iced::{Center, Element, Fill, Length};

use super::KeyPress;
use crate::core::cashier::Cashier;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, heading, keypad};

#[derive(Debug, Default)]
pub struct Login {
    cashiers: Vec<Cashier>,
    chosen: Option<i64>,
    pin: String,
    error: Option<String>,
    busy: bool,
    /// Demo mode: say which PIN the demo cashier has.
    demo_hint: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    Choose(i64),
    Digit(char),
    Backspace,
    Clear,
    Submit,
}

/// What the root must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Check the PIN and log the cashier in.
    LogIn {
        cashier_id: i64,
        pin: String,
    },
}

/// The PIN of the demo cashier (demo mode only).
pub const DEMO_PIN: &str = "1234";

impl Login {
    pub fn new(cashiers: Vec<Cashier>, demo_hint: bool) -> Login {
        let cashiers: Vec<Cashier> = cashiers.into_iter().filter(|c| c.active).collect();
        // One cashier: nothing to choose.
        let chosen = (cashiers.len() == 1).then(|| cashiers[0].id);
        Login {
            cashiers,
            chosen,
            demo_hint,
            ..Login::default()
        }
    }

    /// The log-in was refused: say why, clear the PIN.
    pub fn refused(&mut self, why: String) {
        self.error = Some(why);
        self.pin.clear();
        self.busy = false;
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Choose(id) => {
                self.chosen = Some(id);
                self.pin.clear();
                self.error = None;
            }
            Message::Digit(d) => {
                if d.is_ascii_digit() && self.pin.len() < 12 {
                    self.pin.push(d);
                }
            }
            Message::Backspace => {
                self.pin.pop();
            }
            Message::Clear => self.pin.clear(),
            Message::Submit => {
                if let Some(cashier_id) = self.chosen
                    && !self.pin.is_empty()
                    && !self.busy
                {
                    self.busy = true;
                    return Action::LogIn {
                        cashier_id,
                        pin: std::mem::take(&mut self.pin),
                    };
                }
            }
        }
        Action::None
    }

    /// Digits type the PIN, Backspace deletes, Enter logs in.
    pub fn key(&mut self, press: &KeyPress) -> Action {
        match press.named() {
            Some(Named::Enter) => self.update(Message::Submit),
            Some(Named::Backspace) => self.update(Message::Backspace),
            Some(Named::Escape) => self.update(Message::Clear),
            _ => match press.character().filter(char::is_ascii_digit) {
                Some(c) => self.update(Message::Digit(c)),
                None => Action::None,
            },
        }
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let names = column(self.cashiers.iter().map(|c| {
            button(text(c.name.clone()).size(size::BODY).font(theme::BOLD))
                .padding([14, 20])
                .width(Length::Fixed(320.0))
                .style(if self.chosen == Some(c.id) {
                    theme::selected_button
                } else {
                    theme::plain_button
                })
                .on_press(Message::Choose(c.id))
                .into()
        }))
        .spacing(8);
        let mut pin = column![
            heading(ctx.t("login-pin")),
            container(
                text("•".repeat(self.pin.len()))
                    .size(size::HEADING + 4.0)
                    .font(theme::BOLD)
            )
            .padding(12)
            .width(Length::Fixed(296.0))
            .style(theme::qr_frame),
            keypad(Message::Digit, Message::Backspace, Message::Clear),
            big_button(ctx.t("login-submit"), theme::go_button)
                .width(Length::Fixed(296.0))
                .on_press_maybe(
                    (self.chosen.is_some() && !self.pin.is_empty() && !self.busy)
                        .then_some(Message::Submit)
                ),
        ]
        .spacing(12)
        .align_x(Center);
        if let Some(error) = &self.error {
            pin = pin.push(
                container(text(error.clone()).size(size::BODY).font(theme::BOLD))
                    .padding(12)
                    .width(Length::Fixed(296.0))
                    .style(theme::banner(theme::STOP, iced::Color::WHITE)),
            );
        }
        if self.demo_hint {
            pin = pin.push(text(ctx.t("login-demo-hint")).size(size::SMALL));
        }
        row![
            column![heading(ctx.t("login-who")), names]
                .spacing(16)
                .width(Fill),
            pin,
        ]
        .spacing(48)
        .padding(48)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cashier::Role;

    fn cashier(id: i64, name: &str) -> Cashier {
        Cashier {
            id,
            name: name.into(),
            role: Role::Cashier,
            active: true,
        }
    }

    #[test]
    fn choose_type_and_submit() {
        let mut login = Login::new(vec![cashier(1, "Kari"), cashier(2, "Ola")], false);
        assert_eq!(login.update(Message::Submit), Action::None);
        login.update(Message::Choose(2));
        for d in "12a34".chars() {
            login.update(Message::Digit(d));
        }
        assert_eq!(
            login.update(Message::Submit),
            Action::LogIn {
                cashier_id: 2,
                pin: "1234".into()
            }
        );
        // One request at a time; a refusal lets the cashier try again.
        login.update(Message::Digit('1'));
        assert_eq!(login.update(Message::Submit), Action::None);
        login.refused("wrong PIN".into());
        login.update(Message::Digit('9'));
        assert!(matches!(
            login.update(Message::Submit),
            Action::LogIn { .. }
        ));
    }

    #[test]
    fn a_single_cashier_is_chosen_already() {
        let mut login = Login::new(vec![cashier(7, "Kari")], true);
        login.update(Message::Digit('5'));
        assert!(matches!(
            login.update(Message::Submit),
            Action::LogIn { cashier_id: 7, .. }
        ));
    }
}
