//! The till's screens. Each owns its local state and `Message`, and its
//! `update` returns an `Action` the root carries out.

pub mod admin;
pub mod customer;
pub mod history;
pub mod login;
pub mod pay;
pub mod phone;
pub mod receipt;
pub mod reports;
pub mod sale;

/// A key press the root forwards to the active screen (from the global
/// keyboard listener: only keys no widget took, e.g. a barcode scanner
/// typing while no text field has focus).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPress {
    pub key: iced::keyboard::Key,
    pub text: Option<String>,
    pub modifiers: iced::keyboard::Modifiers,
}

impl KeyPress {
    /// A named key (Enter, Escape, F12, ...).
    pub fn named(&self) -> Option<iced::keyboard::key::Named> {
        match &self.key {
            iced::keyboard::Key::Named(named) => Some(*named),
            _ => None,
        }
    }

    /// The single character typed, if the key typed exactly one.
    pub fn character(&self) -> Option<char> {
        let text = match (&self.text, &self.key) {
            (Some(text), _) => text.as_str(),
            (None, iced::keyboard::Key::Character(c)) => c.as_str(),
            _ => return None,
        };
        let mut chars = text.chars();
        let c = chars.next()?;
        chars.next().is_none().then_some(c)
    }
}
