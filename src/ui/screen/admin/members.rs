//! Admin → Loyalty: the programme (on/off, name, consent text) and its members: search, see
//! consents, export one member's data (JSON), erase one. Numbers show only their last two
//! digits.

use iced::widget::{button, checkbox, column, row, text, text_input};
use iced::{Center, Element, Fill};

use crate::core::loyalty::masked_number;
use crate::store::loyalty::{LoyaltySettings, Member};
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};

/// One member as the list shows them (no full number kept in the window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub masked_number: String,
    /// Ids of the accepted consents.
    pub accepted: Vec<String>,
}

impl From<&Member> for MemberRow {
    fn from(m: &Member) -> Self {
        let name = [m.given_name.as_deref(), m.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        MemberRow {
            id: m.id,
            name,
            masked_number: masked_number(m.msisdn.expose()),
            accepted: m
                .consents
                .iter()
                .filter(|c| c.accepted)
                .map(|c| c.id.clone())
                .collect(),
        }
    }
}

/// The loyalty panel's state.
#[derive(Debug, Clone, Default)]
pub struct MembersPanel {
    settings: LoyaltySettings,
    list: Vec<MemberRow>,
    search: String,
    /// A member whose erasure waits for a second tap.
    confirm_erase: Option<i64>,
    /// The last result to tell (saved, exported to ..., refused because ...).
    note: Option<Result<String, String>>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Enabled(bool),
    Programme(String),
    ConsentText(String),
    SaveSettings,
    Search(String),
    Export(i64),
    Erase(i64),
}

/// What the root must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    SaveSettings(LoyaltySettings),
    /// Read the members again (matching the search).
    Load(String),
    Export(i64),
    Erase(i64),
}

impl MembersPanel {
    /// The settings and members as stored now.
    pub fn set_loaded(&mut self, settings: LoyaltySettings, list: Vec<MemberRow>) {
        self.settings = settings;
        self.list = list;
    }

    /// The outcome of a save, export or erasure.
    pub fn done(&mut self, result: Result<String, String>) {
        self.confirm_erase = None;
        self.note = Some(result);
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Enabled(on) => self.settings.enabled = on,
            Message::Programme(name) => self.settings.programme = name,
            Message::ConsentText(t) => self.settings.consent_text = t,
            Message::SaveSettings => return Action::SaveSettings(self.settings.clone()),
            Message::Search(query) => {
                self.search = query;
                return Action::Load(self.search.clone());
            }
            Message::Export(id) => return Action::Export(id),
            Message::Erase(id) => {
                if self.confirm_erase == Some(id) {
                    return Action::Erase(id);
                }
                self.confirm_erase = Some(id);
            }
        }
        Action::None
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let settings = column![
            heading(ctx.t("admin-loyalty-title")),
            checkbox(self.settings.enabled)
                .label(ctx.t("admin-loyalty-enabled"))
                .on_toggle(Message::Enabled),
            text_input(&ctx.t("admin-loyalty-programme"), &self.settings.programme)
                .on_input(Message::Programme)
                .size(size::BODY)
                .padding(10),
            text_input(&ctx.t("admin-loyalty-consent"), &self.settings.consent_text)
                .on_input(Message::ConsentText)
                .size(size::BODY)
                .padding(10),
            big_button(ctx.t("admin-loyalty-save"), theme::go_button)
                .width(Fill)
                .on_press(Message::SaveSettings),
        ]
        .spacing(10);
        let mut settings = settings;
        match &self.note {
            Some(Ok(note)) => settings = settings.push(body(note.clone())),
            Some(Err(why)) => settings = settings.push(strong(why.clone()).color(theme::STOP)),
            None => {}
        }
        let mut list = column![
            heading(ctx.t("admin-members-title")),
            text_input(&ctx.t("admin-members-search"), &self.search)
                .on_input(Message::Search)
                .size(size::BODY)
                .padding(10),
        ]
        .spacing(8);
        if self.list.is_empty() {
            list = list.push(body(ctx.t("admin-members-none")));
        }
        for m in &self.list {
            let consents = if m.accepted.is_empty() {
                "–".to_string()
            } else {
                m.accepted.join(", ")
            };
            let erase_label = if self.confirm_erase == Some(m.id) {
                ctx.t("admin-member-erase-confirm")
            } else {
                ctx.t("admin-member-erase")
            };
            list = list.push(
                row![
                    strong(m.name.clone()).width(Fill),
                    body(m.masked_number.clone()),
                    body(consents),
                    button(text(ctx.t("admin-member-export")).size(size::BODY))
                        .padding([8, 12])
                        .style(theme::plain_button)
                        .on_press(Message::Export(m.id)),
                    button(text(erase_label).size(size::BODY))
                        .padding([8, 12])
                        .style(theme::stop_button)
                        .on_press(Message::Erase(m.id)),
                ]
                .spacing(12)
                .align_y(Center),
            );
        }
        row![settings.width(Fill), list.width(Fill)]
            .spacing(32)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erasure_needs_a_second_tap_on_the_same_member() {
        let mut panel = MembersPanel::default();
        assert_eq!(panel.update(Message::Erase(7)), Action::None);
        assert_eq!(
            panel.update(Message::Erase(8)),
            Action::None,
            "another member"
        );
        assert_eq!(panel.update(Message::Erase(8)), Action::Erase(8));
        panel.done(Ok("erased".into()));
        assert_eq!(panel.update(Message::Erase(8)), Action::None, "asks again");
    }

    #[test]
    fn settings_are_edited_then_saved_whole() {
        let mut panel = MembersPanel::default();
        panel.update(Message::Enabled(true));
        panel.update(Message::Programme("Kaffeklubben".into()));
        assert_eq!(
            panel.update(Message::SaveSettings),
            Action::SaveSettings(LoyaltySettings {
                enabled: true,
                programme: "Kaffeklubben".into(),
                consent_text: String::new(),
            })
        );
        assert_eq!(
            panel.update(Message::Search("Kari".into())),
            Action::Load("Kari".into())
        );
    }
}
