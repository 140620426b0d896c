//! Admin (behind the PIN): Vipps environment and credentials, till and relay,
//! "Test connection", catalogue editing and CSV import, VAT rates, language.

use iced::widget::{
    Space, button, column, container, pick_list, row, scrollable, text, text_input,
};
use iced::{Center, Element, Fill, FillPortion, Length};

mod cashiers;
mod catalogue;
mod connection;
mod members;
mod settings;

pub use cashiers::{Action as CashierAction, CashierForm, Message as CashierMessage};
pub use catalogue::csv_problem_text;
use catalogue::{catalogue, language};
use connection::connection;
pub use members::{
    Action as MembersAction, LoyaltyLoaded, MemberRow, MembersPanel, Message as MembersMessage,
    category_percent_id,
};
use settings::check_label;
pub use settings::{Environment, Field, Settings, field_id};

use crate::config::{Config, ConfigError, VippsEnvironment};
use crate::core::catalog::{Catalog, CatalogError, Item, Unit};
use crate::core::catalog_csv::CsvProblem;
use crate::core::loyalty::MemberPrices;
use crate::core::money::{Locale, MoneyError, parse_minor};
use crate::core::vat::{Country, VatRate};
use crate::engine::connection::{Check, Report};
use crate::store::{CsvImportError, WindowStoreError};
use crate::ui::i18n::{self, Arg};
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, strong};
use crate::vipps::InvalidEnvironment;

pub const PIN_ID: &str = "admin-pin";
pub const PIN_REPEAT_ID: &str = "admin-pin-repeat";
/// Id of the CSV file path field.
pub const CSV_PATH_ID: &str = "admin-csv-path";

/// Why the settings were not saved.
#[derive(Debug, Clone)]
pub enum SaveError {
    /// No configuration file path is known (no platform configuration folder).
    NoConfigPath,
    Config(ConfigError),
}

impl From<ConfigError> for SaveError {
    fn from(e: ConfigError) -> Self {
        SaveError::Config(e)
    }
}

/// Why a catalogue change was refused or not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Invalid(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] WindowStoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Connection,
    Catalogue,
    Cashiers,
    Loyalty,
    Language,
}

/// The item editor's fields.
#[derive(Debug, Clone, Default)]
struct ItemForm {
    original_id: Option<String>,
    id: String,
    name: String,
    price: String,
    vat: Option<VatRate>,
    barcodes: String,
    category: String,
    by_weight: bool,
    /// The member price as typed; empty: none.
    member_price: String,
    error: Option<String>,
}

#[derive(Debug)]
struct Unlocked {
    section: Section,
    settings: Settings,
    save_result: Option<Result<(), SaveError>>,
    checks: Option<Report>,
    testing: bool,
    item: Option<ItemForm>,
    csv_path: String,
    csv_result: Option<Result<usize, CsvImportError>>,
    catalogue_error: Option<String>,
    /// Member prices as stored (read when the catalogue opens, and after each change).
    member_prices: MemberPrices,
    cashiers: CashierForm,
    members: MembersPanel,
    /// The last test page: printed, or why not.
    test_print: Option<Result<(), String>>,
}

#[derive(Debug)]
enum State {
    /// No PIN yet: set one first.
    SetPin {
        pin: String,
        repeat: String,
        error: Option<String>,
    },
    Locked {
        pin: String,
        wrong: bool,
    },
    Unlocked(Box<Unlocked>),
}

#[derive(Debug)]
pub struct Admin {
    state: State,
}

#[derive(Debug, Clone)]
pub enum Message {
    Pin(String),
    PinRepeat(String),
    SubmitPin,
    Lock,
    Section(SectionChoice),
    Environment(Environment),
    Field(Field, String),
    /// Pay shows a QR for every payment (on) or the till's own QR (off).
    OneTimeQrAlways(bool),
    CustomerDisplayOpen(bool),
    CustomerDisplayFullscreen(bool),
    Save,
    TestConnection,
    EditItem(Option<String>),
    ItemField(ItemField, String),
    ItemVat(VatRate),
    ItemByWeight(bool),
    SaveItem,
    DeleteItem(String),
    CloseItem,
    CsvPath(String),
    ImportCsv,
    Language(Locale),
    Cashier(CashierMessage),
    Members(MembersMessage),
    /// Print a test page on the printer as typed (before saving).
    PrintTestPage,
    /// Open or close the customer display.
    CustomerDisplay,
}

/// Public alias for the section tabs (keeps `Section` private to the form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionChoice {
    Connection,
    Catalogue,
    Cashiers,
    Loyalty,
    Language,
}

/// Widget id of an item editor field (`admin-item-member-price`, ...).
pub fn item_field_id(field: ItemField) -> &'static str {
    match field {
        ItemField::Id => "admin-item-id",
        ItemField::Name => "admin-item-name",
        ItemField::Price => "admin-item-price",
        ItemField::Barcodes => "admin-item-barcodes",
        ItemField::Category => "admin-item-category",
        ItemField::MemberPrice => "admin-item-member-price",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemField {
    Id,
    Name,
    Price,
    Barcodes,
    Category,
    MemberPrice,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    /// Check this PIN; unlock on success.
    Unlock(String),
    /// Store a new PIN (with its repetition).
    SetPin(String, String),
    /// Write the configuration and reload the engine.
    Save(Settings),
    TestConnection(Settings),
    /// Replace or add an item (`original_id`: the item being edited) with its member price.
    SaveItem {
        original_id: Option<String>,
        item: Item,
        member_price: Option<i64>,
    },
    /// Read the member prices (the catalogue opened).
    LoadMemberPrices,
    DeleteItem(String),
    ImportCsv(String),
    Language(Locale),
    Focus(&'static str),
    /// Read the cashiers (the Cashiers section opened).
    LoadCashiers,
    /// Add or disable a cashier.
    Cashier(CashierAction),
    /// Loyalty: read the settings and members (matching a search).
    LoadMembers(String),
    /// Loyalty: save the settings, export or erase a member.
    Members(MembersAction),
    /// Print a test page with these (unsaved) settings.
    PrintTestPage(Settings),
    /// Open the customer display, or close it.
    ToggleCustomerDisplay,
}

impl Admin {
    /// A locked admin screen; `pin_set` says whether a PIN exists yet.
    pub fn new(pin_set: bool) -> Admin {
        Admin {
            state: if pin_set {
                State::Locked {
                    pin: String::new(),
                    wrong: false,
                }
            } else {
                State::SetPin {
                    pin: String::new(),
                    repeat: String::new(),
                    error: None,
                }
            },
        }
    }

    pub fn is_unlocked(&self) -> bool {
        matches!(self.state, State::Unlocked(_))
    }

    /// The root accepted the PIN.
    pub fn unlock(&mut self, config: &Config) {
        self.state = State::Unlocked(Box::new(Unlocked {
            section: Section::Connection,
            settings: Settings::from_config(config),
            save_result: None,
            checks: None,
            testing: false,
            item: None,
            csv_path: String::new(),
            csv_result: None,
            catalogue_error: None,
            member_prices: MemberPrices::default(),
            cashiers: CashierForm::default(),
            members: MembersPanel::default(),
            test_print: None,
        }));
    }

    /// The test page printed (or not: why).
    pub fn test_page_printed(&mut self, result: Result<(), String>) {
        if let State::Unlocked(form) = &mut self.state {
            form.test_print = Some(result);
        }
    }

    /// The cashiers as stored, for the Cashiers section.
    pub fn cashiers_loaded(&mut self, list: Vec<crate::core::cashier::Cashier>) {
        if let State::Unlocked(form) = &mut self.state {
            form.cashiers.set_list(list);
        }
    }

    /// The loyalty settings and members as stored, for the Loyalty section.
    pub fn members_loaded(&mut self, loaded: LoyaltyLoaded) {
        if let State::Unlocked(form) = &mut self.state {
            form.member_prices = loaded.prices.clone();
            form.members.set_loaded(loaded);
        }
    }

    /// A loyalty save, export or erasure went through (what to tell) or not (why).
    pub fn members_done(&mut self, result: Result<String, String>) {
        if let State::Unlocked(form) = &mut self.state {
            form.members.done(result);
        }
    }

    /// A cashier was added or disabled (or not: why).
    pub fn cashier_saved(&mut self, result: Result<(), String>) {
        if let State::Unlocked(form) = &mut self.state {
            form.cashiers.saved(result);
        }
    }

    /// The root refused the PIN.
    pub fn wrong_pin(&mut self) {
        if let State::Locked { pin, wrong } = &mut self.state {
            pin.clear();
            *wrong = true;
        }
    }

    /// The root could not set the PIN.
    pub fn pin_not_set(&mut self, error: String) {
        if let State::SetPin {
            error: slot,
            pin,
            repeat,
        } = &mut self.state
        {
            pin.clear();
            repeat.clear();
            *slot = Some(error);
        }
    }

    pub fn saved(&mut self, result: Result<(), SaveError>) {
        if let State::Unlocked(form) = &mut self.state {
            form.save_result = Some(result);
        }
    }

    pub fn connection_tested(&mut self, checks: Report) {
        if let State::Unlocked(form) = &mut self.state {
            form.testing = false;
            form.checks = Some(checks);
        }
    }

    pub fn csv_imported(&mut self, result: Result<usize, CsvImportError>) {
        if let State::Unlocked(form) = &mut self.state {
            form.csv_result = Some(result);
        }
    }

    /// The member prices as stored now.
    pub fn member_prices_loaded(&mut self, prices: MemberPrices) {
        if let State::Unlocked(form) = &mut self.state {
            form.member_prices = prices;
        }
    }

    /// The root applied (or refused) an item change.
    pub fn catalogue_changed(&mut self, result: Result<(), CatalogueError>) {
        if let State::Unlocked(form) = &mut self.state {
            match result {
                Ok(()) => {
                    form.item = None;
                    form.catalogue_error = None;
                }
                Err(error) => match &mut form.item {
                    Some(item) => item.error = Some(error.to_string()),
                    None => form.catalogue_error = Some(error.to_string()),
                },
            }
        }
    }

    pub fn update(&mut self, message: Message, catalog: &Catalog, country: Country) -> Action {
        match &mut self.state {
            State::SetPin { pin, repeat, error } => match message {
                Message::Pin(value) => {
                    *pin = digits(&value);
                    *error = None;
                }
                Message::PinRepeat(value) => {
                    *repeat = digits(&value);
                    *error = None;
                }
                Message::SubmitPin => return Action::SetPin(pin.clone(), repeat.clone()),
                _ => {}
            },
            State::Locked { pin, wrong } => match message {
                Message::Pin(value) => {
                    *pin = digits(&value);
                    *wrong = false;
                }
                Message::SubmitPin => return Action::Unlock(std::mem::take(pin)),
                _ => {}
            },
            State::Unlocked(form) => {
                if matches!(message, Message::Lock) {
                    self.lock();
                    return Action::None;
                }
                return update_unlocked(form, message, catalog, country);
            }
        }
        Action::None
    }

    /// Locks the screen again (leaving admin).
    pub fn lock(&mut self) {
        if self.is_unlocked() {
            self.state = State::Locked {
                pin: String::new(),
                wrong: false,
            };
        }
    }

    pub fn view<'a>(
        &'a self,
        ctx: Ctx<'a>,
        catalog: &'a Catalog,
        country: Country,
        demo: bool,
        config_path: Option<&'a str>,
    ) -> Element<'a, Message> {
        match &self.state {
            State::SetPin { pin, repeat, error } => {
                let mut col = column![
                    heading(ctx.t("admin-set-pin-title")),
                    body(ctx.t("admin-set-pin-hint")),
                    pin_input(ctx.t("admin-pin-placeholder"), pin, PIN_ID, Message::Pin),
                    pin_input(
                        ctx.t("admin-pin-repeat"),
                        repeat,
                        PIN_REPEAT_ID,
                        Message::PinRepeat
                    ),
                    big_button(ctx.t("admin-set-pin"), theme::primary_button)
                        .width(Fill)
                        .on_press(Message::SubmitPin),
                ]
                .spacing(12)
                .max_width(480);
                if let Some(error) = error {
                    col = col.push(
                        text(error.clone())
                            .size(size::BODY)
                            .font(theme::BOLD)
                            .color(theme::STOP),
                    );
                }
                container(col).center(Fill).into()
            }
            State::Locked { pin, wrong } => {
                let mut col = column![
                    heading(ctx.t("admin-locked-title")),
                    pin_input(ctx.t("admin-pin-placeholder"), pin, PIN_ID, Message::Pin),
                    big_button(ctx.t("admin-unlock"), theme::primary_button)
                        .width(Fill)
                        .on_press(Message::SubmitPin),
                ]
                .spacing(12)
                .max_width(480);
                if *wrong {
                    col = col.push(
                        text(ctx.t("admin-pin-wrong"))
                            .size(size::BODY)
                            .font(theme::BOLD)
                            .color(theme::STOP),
                    );
                }
                container(col).center(Fill).into()
            }
            State::Unlocked(form) => view_unlocked(ctx, form, catalog, country, demo, config_path),
        }
    }
}

fn digits(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_digit)
        .take(crate::config::pin::MAX_LEN)
        .collect()
}

fn pin_input<'a>(
    placeholder: String,
    value: &'a str,
    id: &'static str,
    on_input: fn(String) -> Message,
) -> Element<'a, Message> {
    text_input(&placeholder, value)
        .id(id)
        .secure(true)
        .on_input(on_input)
        .on_submit(Message::SubmitPin)
        .size(size::HEADING)
        .padding(14)
        .style(theme::input)
        .into()
}

fn update_unlocked(
    form: &mut Unlocked,
    message: Message,
    catalog: &Catalog,
    country: Country,
) -> Action {
    match message {
        Message::Lock => return Action::None,
        Message::Section(choice) => {
            form.section = match choice {
                SectionChoice::Connection => Section::Connection,
                SectionChoice::Catalogue => Section::Catalogue,
                SectionChoice::Cashiers => Section::Cashiers,
                SectionChoice::Loyalty => Section::Loyalty,
                SectionChoice::Language => Section::Language,
            };
            if form.section == Section::Cashiers {
                return Action::LoadCashiers;
            }
            if form.section == Section::Loyalty {
                return Action::LoadMembers(String::new());
            }
            if form.section == Section::Catalogue {
                return Action::LoadMemberPrices;
            }
        }
        Message::CustomerDisplay => return Action::ToggleCustomerDisplay,
        Message::PrintTestPage => {
            form.test_print = None;
            return Action::PrintTestPage(form.settings.clone());
        }
        Message::Members(message) => {
            return match form.members.update(message) {
                MembersAction::None => Action::None,
                MembersAction::Load(search) => Action::LoadMembers(search),
                action => Action::Members(action),
            };
        }
        Message::Cashier(message) => {
            return match form.cashiers.update(message) {
                CashierAction::None => Action::None,
                action => Action::Cashier(action),
            };
        }
        Message::Environment(environment) => {
            form.settings.environment = environment;
            form.save_result = None;
        }
        Message::Field(field, value) => {
            let s = &mut form.settings;
            let slot = match field {
                Field::SimulatorUrl => &mut s.simulator_url,
                Field::ClientId => &mut s.client_id,
                Field::ClientSecret => &mut s.client_secret,
                Field::SubscriptionKey => &mut s.subscription_key,
                Field::Msn => &mut s.msn,
                Field::TillId => &mut s.till_id,
                Field::TillName => &mut s.till_name,
                Field::MerchantQrId => &mut s.merchant_qr_id,
                Field::MobilePayBeaconId => &mut s.mobilepay_beacon_id,
                Field::Currency => &mut s.currency,
                Field::RelayUrl => &mut s.relay_url,
                Field::RelayToken => &mut s.relay_token,
                Field::ShopName => &mut s.shop_name,
                Field::ShopOrgNr => &mut s.shop_org_nr,
                Field::ShopAddress => &mut s.shop_address,
                Field::ShopLogo => &mut s.shop_logo,
                Field::CustomerDisplayAt => &mut s.customer_display_at,
                Field::Printer => &mut s.printer,
            };
            *slot = value;
            form.save_result = None;
        }
        Message::OneTimeQrAlways(on) => {
            form.settings.one_time_qr_always = on;
            form.save_result = None;
        }
        Message::CustomerDisplayOpen(on) => {
            form.settings.customer_display_open = on;
            form.save_result = None;
        }
        Message::CustomerDisplayFullscreen(on) => {
            form.settings.customer_display_fullscreen = on;
            form.save_result = None;
        }
        Message::Save => return Action::Save(form.settings.clone()),
        Message::TestConnection => {
            if form.testing {
                return Action::None;
            }
            form.testing = true;
            form.checks = None;
            return Action::TestConnection(form.settings.clone());
        }
        Message::EditItem(id) => {
            let item = id.as_deref().and_then(|id| catalog.by_id(id));
            form.item = Some(match item {
                Some(item) => ItemForm {
                    original_id: Some(item.id.clone()),
                    id: item.id.clone(),
                    name: item.name.clone(),
                    price: format_minor(item.unit_price),
                    vat: Some(item.vat),
                    barcodes: item.barcodes.join(" "),
                    category: item.category.clone().unwrap_or_default(),
                    by_weight: item.unit == Unit::Kg,
                    member_price: form
                        .member_prices
                        .items
                        .get(&item.id)
                        .map(|p| format_minor(*p))
                        .unwrap_or_default(),
                    error: None,
                },
                None => ItemForm {
                    vat: country.vat_rates().first().copied(),
                    ..ItemForm::default()
                },
            });
        }
        Message::ItemField(field, value) => {
            if let Some(item) = &mut form.item {
                let slot = match field {
                    ItemField::Id => &mut item.id,
                    ItemField::Name => &mut item.name,
                    ItemField::Price => &mut item.price,
                    ItemField::Barcodes => &mut item.barcodes,
                    ItemField::Category => &mut item.category,
                    ItemField::MemberPrice => &mut item.member_price,
                };
                *slot = value;
                item.error = None;
            }
        }
        Message::ItemVat(rate) => {
            if let Some(item) = &mut form.item {
                item.vat = Some(rate);
            }
        }
        Message::ItemByWeight(by_weight) => {
            if let Some(item) = &mut form.item {
                item.by_weight = by_weight;
            }
        }
        Message::SaveItem => {
            if let Some(editor) = &mut form.item {
                match build_item(editor) {
                    Ok((item, member_price)) => {
                        return Action::SaveItem {
                            original_id: editor.original_id.clone(),
                            item,
                            member_price,
                        };
                    }
                    Err(error) => editor.error = Some(error),
                }
            }
        }
        Message::DeleteItem(id) => return Action::DeleteItem(id),
        Message::CloseItem => form.item = None,
        Message::CsvPath(path) => {
            form.csv_path = path;
            form.csv_result = None;
        }
        Message::ImportCsv => {
            let path = form.csv_path.trim().to_owned();
            if !path.is_empty() {
                return Action::ImportCsv(path);
            }
        }
        Message::Language(locale) => return Action::Language(locale),
        Message::Pin(_) | Message::PinRepeat(_) | Message::SubmitPin => {}
    }
    Action::None
}

/// `4500` as `45,00` (how prices are typed in the editor).
fn format_minor(minor: i64) -> String {
    format!("{},{:02}", minor / 100, minor % 100)
}

/// The item and its member price as typed (a member price is at most the price).
fn build_item(form: &ItemForm) -> Result<(Item, Option<i64>), String> {
    let price = parse_minor(&form.price)
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| "price".to_owned())?;
    let vat = form.vat.ok_or_else(|| "vat".to_owned())?;
    let mut item = Item::new(form.id.trim(), form.name.trim(), price, vat);
    item.barcodes = form
        .barcodes
        .split([' ', '|', ','])
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect();
    let category = form.category.trim();
    if !category.is_empty() {
        item.category = Some(category.to_owned());
    }
    if form.by_weight {
        item.unit = Unit::Kg;
    }
    item.validate().map_err(|e| e.to_string())?;
    let member_price = match form.member_price.trim() {
        "" => None,
        typed => Some(
            parse_minor(typed)
                .ok()
                .filter(|p| (0..=price).contains(p))
                .ok_or_else(|| "member price".to_owned())?,
        ),
    };
    Ok((item, member_price))
}

fn view_unlocked<'a>(
    ctx: Ctx<'a>,
    form: &'a Unlocked,
    catalog: &'a Catalog,
    country: Country,
    demo: bool,
    config_path: Option<&'a str>,
) -> Element<'a, Message> {
    let tab = |label: String, choice: SectionChoice, section: Section| {
        button(text(label).size(size::BODY).font(theme::BOLD))
            .padding([10, 18])
            .style(if form.section == section {
                theme::selected_button
            } else {
                theme::plain_button
            })
            .on_press(Message::Section(choice))
    };
    let tabs = row![
        tab(
            ctx.t("admin-section-connection"),
            SectionChoice::Connection,
            Section::Connection
        ),
        tab(
            ctx.t("admin-section-catalogue"),
            SectionChoice::Catalogue,
            Section::Catalogue
        ),
        tab(
            ctx.t("admin-section-cashiers"),
            SectionChoice::Cashiers,
            Section::Cashiers
        ),
        tab(
            ctx.t("admin-section-loyalty"),
            SectionChoice::Loyalty,
            Section::Loyalty
        ),
        tab(
            ctx.t("admin-section-language"),
            SectionChoice::Language,
            Section::Language
        ),
        Space::new().width(Fill),
        button(text(ctx.t("admin-lock")).size(size::BODY))
            .padding([10, 18])
            .style(theme::plain_button)
            .on_press(Message::Lock),
    ]
    .spacing(8);
    let body: Element<'a, Message> = match form.section {
        Section::Connection => connection(ctx, form, demo, config_path),
        Section::Catalogue => catalogue(ctx, form, catalog, country),
        Section::Cashiers => form.cashiers.view(ctx).map(Message::Cashier),
        Section::Loyalty => form.members.view(ctx).map(Message::Members),
        Section::Language => language(ctx, country),
    };
    column![tabs, body]
        .spacing(16)
        .padding(16)
        .height(Fill)
        .into()
}

fn labelled<'a>(label: String, field: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    column![
        text(label).size(size::SMALL).font(theme::BOLD),
        field.into()
    ]
    .spacing(4)
    .into()
}

fn field_input<'a>(value: &'a str, field: Field, secure: bool) -> Element<'a, Message> {
    text_input("", value)
        .id(field_id(field))
        .secure(secure)
        .on_input(move |v| Message::Field(field, v))
        .size(size::BODY)
        .padding(10)
        .style(theme::input)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_and_write_the_typed_configuration_with_its_one_parser() {
        let mut config = Config::default();
        config.vipps.environment = VippsEnvironment::Production;
        config.vipps.client_secret = "s3cret-value".into();
        config.till.currency = crate::core::money::Currency::Dkk;
        let settings = Settings::from_config(&config);
        assert_eq!(settings.environment, Environment::Production);
        assert_eq!(settings.currency, "DKK");
        assert!(!format!("{settings:?}").contains("s3cret-value"));
        assert_eq!(settings.apply(&config).unwrap(), config);

        // A simulator URL, and "prod" typed there, read as the configuration file reads them.
        let mut form = settings.clone();
        form.environment = Environment::Simulator;
        form.simulator_url = " http://127.0.0.1:4567 ".into();
        let applied = form.apply(&config).unwrap();
        assert_eq!(applied.vipps.environment.label(), "127.0.0.1");
        assert_eq!(
            Settings::from_config(&applied).environment,
            Environment::Simulator
        );
        form.simulator_url = "prod".into();
        assert_eq!(
            form.apply(&config).unwrap().vipps.environment,
            VippsEnvironment::Production
        );

        form.simulator_url = "not a url".into();
        let err = form.apply(&config).unwrap_err();
        assert!(err.to_string().contains("vipps.environment"), "{err}");
        let mut form = settings;
        form.currency = "sek".into();
        let err = form.apply(&config).unwrap_err();
        assert!(err.to_string().contains("till.currency"), "{err}");
        form.currency = " nok ".into();
        assert_eq!(
            form.apply(&config).unwrap().till.currency,
            crate::core::money::Currency::Nok
        );
    }

    #[test]
    fn the_item_editor_shows_and_saves_the_member_price() {
        let catalog = crate::ui::app::demo_catalog();
        let mut admin = Admin::new(true);
        admin.unlock(&Config::default());
        let mut prices = MemberPrices::default();
        prices.items.insert("kaffe".into(), 3000);
        admin.member_prices_loaded(prices);
        let country = Country::No;
        admin.update(Message::EditItem(Some("kaffe".into())), &catalog, country);
        let State::Unlocked(form) = &admin.state else {
            unreachable!()
        };
        assert_eq!(form.item.as_ref().unwrap().member_price, "30,00");

        let mut save = |typed: &str| {
            admin.update(
                Message::ItemField(ItemField::MemberPrice, typed.into()),
                &catalog,
                country,
            );
            admin.update(Message::SaveItem, &catalog, country)
        };
        match save("29,50") {
            Action::SaveItem {
                item, member_price, ..
            } => {
                assert_eq!(item.id, "kaffe");
                assert_eq!(member_price, Some(2950));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            save(" "),
            Action::SaveItem {
                member_price: None,
                ..
            }
        ));
        // Above the price (35,00) or not a price: refused in the editor.
        assert_eq!(save("35,01"), Action::None);
        assert_eq!(save("tretti"), Action::None);
        let State::Unlocked(form) = &admin.state else {
            unreachable!()
        };
        assert_eq!(
            form.item.as_ref().unwrap().error.as_deref(),
            Some("member price")
        );
    }

    #[test]
    fn the_customer_display_opens_where_admin_says() {
        let config = Config::default();
        let mut form = Settings::from_config(&config);
        assert_eq!(form.customer_display_at, "");
        form.customer_display_open = true;
        form.customer_display_fullscreen = true;
        form.customer_display_at = " 1920, 0 ".into();
        let applied = form.apply(&config).unwrap();
        assert!(applied.customer_display.open && applied.customer_display.fullscreen);
        assert_eq!(
            (applied.customer_display.x, applied.customer_display.y),
            (Some(1920), Some(0))
        );
        assert_eq!(
            Settings::from_config(&applied).customer_display_at,
            "1920,0"
        );
        form.customer_display_at = "left".into();
        let err = form.apply(&config).unwrap_err().to_string();
        assert!(err.contains("customer_display.x"), "{err}");
    }

    #[test]
    fn a_mobilepay_sticker_and_one_time_qrs_are_till_settings() {
        let mut config = Config::default();
        config.till.id = "till1".into();
        let mut form = Settings::from_config(&config);
        assert!(!form.one_time_qr_always);
        form.mobilepay_beacon_id = " 200000000000123 ".into();
        form.one_time_qr_always = true;
        let applied = form.apply(&config).unwrap();
        assert_eq!(applied.till.mobilepay_beacon_id, "200000000000123");
        assert_eq!(applied.merchant_qr_id(), "200000000000123");
        assert_eq!(applied.till.pay_qr, crate::config::PayQr::OneTime);
        assert_eq!(Settings::from_config(&applied), form_trimmed(form));
        // A beacon id Kasse cannot send is named by its key.
        let mut bad = Settings::from_config(&applied);
        bad.mobilepay_beacon_id = "has space".into();
        let err = bad.apply(&config).unwrap().validate().unwrap_err();
        assert!(
            err.to_string().contains("till.mobilepay_beacon_id"),
            "{err}"
        );
    }

    fn form_trimmed(mut form: Settings) -> Settings {
        form.mobilepay_beacon_id = form.mobilepay_beacon_id.trim().to_owned();
        form
    }
}
