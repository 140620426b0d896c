//! The customer display's window: opened and closed from Admin or the demo banner (or at start
//! with `[customer_display] open = true`), placed where the configuration says, and fed only
//! what [`customer::CustomerDisplay`] lists.

use super::*;
use crate::ui::screen::customer::{self, CustomerDisplay, Phase};
use iced::window;

/// The till's main window as it opens.
pub(super) fn main_window_settings() -> window::Settings {
    window::Settings {
        size: iced::Size::new(1280.0, 800.0),
        ..window::Settings::default()
    }
}

impl App {
    /// Opens the customer display, or closes it when it is open.
    pub(super) fn toggle_customer_display(&mut self) -> Task<Message> {
        match self.customer_window.take() {
            Some(id) => window::close(id),
            None => self.open_customer_display(),
        }
    }

    pub(super) fn open_customer_display(&mut self) -> Task<Message> {
        let placement = &self.config.customer_display;
        let position = match (placement.x, placement.y) {
            (Some(x), Some(y)) => window::Position::Specific(iced::Point::new(x as f32, y as f32)),
            _ => window::Position::Default,
        };
        let (id, opened) = window::open(window::Settings {
            size: iced::Size::new(1024.0, 768.0),
            position,
            ..window::Settings::default()
        });
        self.customer_window = Some(id);
        let opened = opened.discard();
        if placement.fullscreen {
            opened.chain(window::set_mode(id, window::Mode::Fullscreen))
        } else {
            opened
        }
    }

    /// A window closed: the main one ends the program, the customer display is just gone.
    pub(super) fn window_closed(&mut self, id: window::Id) -> Task<Message> {
        if self.customer_window == Some(id) {
            self.customer_window = None;
            return Task::none();
        }
        if self.main_window == Some(id) {
            return iced::exit();
        }
        Task::none()
    }

    /// Whether the customer display is open.
    pub fn customer_display_open(&self) -> bool {
        self.customer_window.is_some()
    }

    /// What the customer may see now.
    pub fn customer_display(&self) -> CustomerDisplay<'_> {
        let phase = match &self.screen {
            Screen::Sale if self.basket.lines().is_empty() => Phase::Welcome,
            Screen::Sale => Phase::Basket,
            Screen::Pay(pay) => match pay.outcome() {
                Some(_) => Phase::NotPaid,
                None => Phase::Pay {
                    amount: pay.amount(),
                    step: pay.step(),
                    qr: self.qr.as_ref(),
                },
            },
            Screen::Receipt(receipt) => Phase::ThankYou {
                total: receipt.total(),
                change: receipt.change(),
            },
            Screen::Login(_) | Screen::History | Screen::Reports(_) | Screen::Admin => {
                Phase::Welcome
            }
        };
        let shop_name = match self.config.shop.name.trim() {
            "" => self.status.till_name.as_str(),
            name => name,
        };
        CustomerDisplay {
            shop_name,
            basket: &self.basket,
            phase,
        }
    }

    /// The window `id`: the customer display, or the till.
    pub fn view_window(&self, id: window::Id) -> Element<'_, Message> {
        if self.customer_window == Some(id) {
            customer::view(self.customer_display(), self.ctx())
        } else {
            self.view()
        }
    }

    pub fn title_window(&self, id: window::Id) -> String {
        if self.customer_window == Some(id) {
            format!("Kasse — {}", self.i18n.t("customer-window-title"))
        } else {
            self.title()
        }
    }
}
