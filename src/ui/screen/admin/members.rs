//! Admin → Loyalty: the programme (on/off, name, consent text) and its members: search, see
//! consents, export one member's data (JSON), erase one. Numbers show only their last two
//! digits.

use iced::widget::{button, checkbox, column, row, scrollable, text, text_input};
use iced::{Center, Element, Fill};

use crate::core::loyalty::{MemberPrices, masked_number};
use crate::core::money::parse_minor;
use crate::store::loyalty::{LoyaltySettings, Member};
use crate::ui::i18n::Arg;
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

/// What the Loyalty section shows, as read from the store.
#[derive(Debug, Clone)]
pub struct LoyaltyLoaded {
    pub settings: LoyaltySettings,
    pub members: Vec<MemberRow>,
    /// The catalogue's categories.
    pub categories: Vec<String>,
    pub prices: MemberPrices,
}

/// The loyalty panel's state.
#[derive(Debug, Clone, Default)]
pub struct MembersPanel {
    settings: LoyaltySettings,
    list: Vec<MemberRow>,
    search: String,
    /// Each catalogue category with its member discount as typed (percent; empty: none).
    categories: Vec<(String, String)>,
    /// The category whose typed discount is not a percentage from 0,01 to 100.
    invalid_percent: Option<String>,
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
    Search(String),
    Export(i64),
    Erase(i64),
    /// A category's member discount as typed (percent).
    CategoryPercent(String, String),
    /// Save the programme and the category discounts.
    Save,
}

/// Widget id of a category's member discount field.
pub fn category_percent_id(category: &str) -> String {
    format!("admin-member-discount-{category}")
}

/// What the root must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Save the programme and set (Some, basis points) or clear (None) each category's member
    /// discount: all or none.
    Save {
        settings: LoyaltySettings,
        discounts: Vec<(String, Option<u32>)>,
    },
    /// Read the members again (matching the search).
    Load(String),
    Export(i64),
    Erase(i64),
}

impl MembersPanel {
    /// The settings and members as stored now, with the catalogue's categories and their
    /// member discounts.
    pub fn set_loaded(&mut self, loaded: LoyaltyLoaded) {
        let LoyaltyLoaded {
            settings,
            members,
            categories,
            prices,
        } = loaded;
        self.settings = settings;
        self.list = members;
        self.categories = categories
            .into_iter()
            .map(|c| {
                let typed = prices
                    .categories
                    .get(&c)
                    .map(|bp| percent_text(*bp))
                    .unwrap_or_default();
                (c, typed)
            })
            .collect();
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
            Message::Search(query) => {
                self.search = query;
                return Action::Load(self.search.clone());
            }
            Message::Export(id) => return Action::Export(id),
            Message::CategoryPercent(category, typed) => {
                if let Some(slot) = self.categories.iter_mut().find(|(c, _)| *c == category) {
                    slot.1 = typed;
                }
                self.note = None;
                self.invalid_percent = None;
            }
            Message::Save => {
                let mut discounts = Vec::new();
                for (category, typed) in &self.categories {
                    match parse_percent(typed) {
                        Ok(bp) => discounts.push((category.clone(), bp)),
                        Err(()) => {
                            self.invalid_percent = Some(category.clone());
                            return Action::None;
                        }
                    }
                }
                return Action::Save {
                    settings: self.settings.clone(),
                    discounts,
                };
            }
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
        ]
        .spacing(10);
        let mut settings = settings;
        if !self.categories.is_empty() {
            settings = settings.push(heading(ctx.t("admin-member-discounts-title")));
            settings = settings.push(text(ctx.t("admin-member-discounts-hint")).size(size::SMALL));
            for (category, typed) in &self.categories {
                let name = category.clone();
                settings = settings.push(
                    row![
                        body(category.clone()).width(Fill),
                        text_input("–", typed)
                            .id(category_percent_id(category))
                            .on_input(move |v| Message::CategoryPercent(name.clone(), v))
                            .size(size::BODY)
                            .padding(8)
                            .width(100),
                        body("%"),
                    ]
                    .spacing(8)
                    .align_y(Center),
                );
            }
        }
        // Save and what became of it stay in view below the fields, however far they scroll.
        let mut left = column![
            scrollable(settings.padding(iced::Padding::ZERO.right(16))).height(Fill),
            big_button(ctx.t("admin-loyalty-save"), theme::go_button)
                .width(Fill)
                .on_press(Message::Save),
        ]
        .spacing(10);
        if let Some(category) = &self.invalid_percent {
            left = left.push(
                strong(ctx.t_args(
                    "admin-member-discount-invalid",
                    &[("category", Arg::Str(category))],
                ))
                .color(theme::STOP),
            );
        }
        match &self.note {
            Some(Ok(note)) => left = left.push(body(note.clone())),
            Some(Err(why)) => left = left.push(strong(why.clone()).color(theme::STOP)),
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
        row![left.width(Fill), list.width(Fill)].spacing(32).into()
    }
}

/// `12,5` (percent) as basis points; empty: none.
fn parse_percent(typed: &str) -> Result<Option<u32>, ()> {
    let typed = typed.trim().trim_end_matches('%').trim();
    if typed.is_empty() {
        return Ok(None);
    }
    parse_minor(typed)
        .ok()
        .and_then(|bp| u32::try_from(bp).ok())
        .filter(|bp| (1..=10_000).contains(bp))
        .map(Some)
        .ok_or(())
}

/// Basis points as a percentage is typed: `1000` → `10`, `1250` → `12,5`.
fn percent_text(bp: u32) -> String {
    let (whole, rest) = (bp / 100, bp % 100);
    match rest {
        0 => whole.to_string(),
        r if r % 10 == 0 => format!("{whole},{}", r / 10),
        r => format!("{whole},{r:02}"),
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
    fn category_discounts_are_typed_as_percentages_and_saved_as_basis_points() {
        let mut panel = MembersPanel::default();
        let mut prices = MemberPrices::default();
        prices.categories.insert("Bakst".into(), 1250);
        panel.set_loaded(LoyaltyLoaded {
            settings: LoyaltySettings::default(),
            members: Vec::new(),
            categories: vec!["Bakst".into(), "Drikke".into(), "Mat".into()],
            prices,
        });
        assert_eq!(panel.categories[0].1, "12,5", "shown as stored");
        panel.update(Message::CategoryPercent("Drikke".into(), "10 %".into()));
        panel.update(Message::CategoryPercent("Bakst".into(), String::new()));
        assert_eq!(
            panel.update(Message::Save),
            Action::Save {
                settings: LoyaltySettings::default(),
                discounts: vec![
                    ("Bakst".into(), None),
                    ("Drikke".into(), Some(1000)),
                    ("Mat".into(), None),
                ]
            }
        );
        panel.update(Message::CategoryPercent("Mat".into(), "101".into()));
        assert_eq!(panel.update(Message::Save), Action::None);
        assert_eq!(panel.invalid_percent.as_deref(), Some("Mat"));
        assert_eq!(percent_text(5), "0,05");
        assert_eq!(parse_percent("0,05"), Ok(Some(5)));
        assert_eq!(parse_percent("0"), Err(()));
    }

    #[test]
    fn settings_are_edited_then_saved_whole() {
        let mut panel = MembersPanel::default();
        panel.update(Message::Enabled(true));
        panel.update(Message::Programme("Kaffeklubben".into()));
        assert_eq!(
            panel.update(Message::Save),
            Action::Save {
                settings: LoyaltySettings {
                    enabled: true,
                    programme: "Kaffeklubben".into(),
                    consent_text: String::new(),
                },
                discounts: Vec::new(),
            }
        );
        assert_eq!(
            panel.update(Message::Search("Kari".into())),
            Action::Load("Kari".into())
        );
    }
}
