//! Admin → Cashiers: who may log in to the till, with which role; add one (name, role, PIN)
//! or disable one. The PIN is hashed by the store and never shown again.

use iced::widget::{button, checkbox, column, row, text, text_input};
use iced::{Center, Element, Fill};

use crate::core::cashier::{Cashier, Role};
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};

/// The cashiers panel's state.
#[derive(Debug, Clone, Default)]
pub struct CashierForm {
    list: Vec<Cashier>,
    name: String,
    pin: String,
    manager: bool,
    /// The last refusal (a name taken, a PIN too short, ...).
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Name(String),
    Pin(String),
    Manager(bool),
    Add,
    Disable(i64),
}

/// What the root must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Add {
        name: String,
        role: Role,
        pin: String,
    },
    Disable(i64),
}

impl CashierForm {
    /// The cashiers as stored now (after a load, an add or a disable).
    pub fn set_list(&mut self, list: Vec<Cashier>) {
        self.list = list;
    }

    /// An add or disable went through (the form clears) or was refused (why).
    pub fn saved(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.name.clear();
                self.pin.clear();
                self.manager = false;
                self.error = None;
            }
            Err(why) => {
                self.pin.clear();
                self.error = Some(why);
            }
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Name(name) => self.name = name,
            Message::Pin(pin) => {
                self.pin = pin.chars().filter(char::is_ascii_digit).take(8).collect();
            }
            Message::Manager(on) => self.manager = on,
            Message::Add => {
                return Action::Add {
                    name: self.name.trim().to_string(),
                    role: if self.manager {
                        Role::Manager
                    } else {
                        Role::Cashier
                    },
                    pin: self.pin.clone(),
                };
            }
            Message::Disable(id) => return Action::Disable(id),
        }
        Action::None
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let mut list = column![heading(ctx.t("admin-cashiers-title"))].spacing(8);
        if self.list.is_empty() {
            list = list.push(body(ctx.t("admin-cashiers-none")));
        }
        for c in &self.list {
            let role = ctx.t(match c.role {
                Role::Cashier => "admin-cashier-role-cashier",
                Role::Manager => "admin-cashier-role-manager",
            });
            let mut line = row![strong(c.name.clone()).width(Fill), body(role),]
                .spacing(12)
                .align_y(Center);
            line = if c.active {
                line.push(
                    button(text(ctx.t("admin-cashier-disable")).size(size::BODY))
                        .padding([8, 12])
                        .style(theme::plain_button)
                        .on_press(Message::Disable(c.id)),
                )
            } else {
                line.push(body(ctx.t("admin-cashier-disabled")))
            };
            list = list.push(line);
        }
        let mut add = column![
            strong(ctx.t("admin-cashier-add-title")),
            text_input(&ctx.t("admin-cashier-name"), &self.name)
                .on_input(Message::Name)
                .size(size::BODY)
                .padding(10),
            text_input(&ctx.t("admin-cashier-pin"), &self.pin)
                .on_input(Message::Pin)
                .secure(true)
                .size(size::BODY)
                .padding(10),
            checkbox(self.manager)
                .label(ctx.t("admin-cashier-manager"))
                .on_toggle(Message::Manager),
            big_button(ctx.t("admin-cashier-add"), theme::go_button)
                .width(Fill)
                .on_press_maybe(
                    (!self.name.trim().is_empty() && !self.pin.is_empty()).then_some(Message::Add)
                ),
        ]
        .spacing(10);
        if let Some(error) = &self.error {
            add = add.push(strong(error.clone()).color(theme::STOP));
        }
        row![list.width(Fill), add.width(Fill)].spacing(32).into()
    }
}
