//! The root of the till window: shared state, engine link, routing.

use std::path::{Path, PathBuf};

use iced::keyboard;
use iced::widget::{Space, button, container, operation, qr_code, text};
use iced::{Center, Color, Element, Fill, Length, Subscription, Task, Theme};
use time::UtcOffset;
use tokio::sync::broadcast;

mod admin_actions;
mod boot;
mod customer_display;
mod day;
mod events;
mod view;

pub use boot::{Boot, demo_catalog, start};
use boot::{calling_code, country_of};

use super::Error;
use super::RunOptions;
use super::i18n::{Arg, I18n};
use super::screen::KeyPress;
use super::screen::admin::{self, Admin, CatalogueError, SaveError};
use super::screen::history::{self, History};
use super::screen::login::{self, Login};
use super::screen::pay::{self, Outcome, Pay, Step};
use super::screen::phone::{self, Op, Phone};
use super::screen::receipt::{self, Receipt};
use super::screen::reports::{self, Reports};
use super::screen::sale::{self, Sale};
use super::theme::{self, size};
use super::widget::Ctx;
use crate::cli::demo::{DemoEnvironment, DemoError, DemoPhone, RelaySwitch};
use crate::clock::Clock;
use crate::config::pin::{AdminPin, PinError, PinStore};
use crate::config::{Config, ConfigError, VippsEnvironment};
use crate::core::basket::Basket;
use crate::core::catalog::{Catalog, CatalogError, Item};
use crate::core::catalog_csv;
use crate::core::money::{Currency, Locale};
use crate::core::vat::Country;
use crate::engine::connection::{self, Check};
use crate::engine::{
    Command, Engine, EngineEvent, EngineHandle, EngineOptions, RelayStatus, VippsStatus,
};
use crate::store::{CsvImportError, WindowStore, WindowStoreError};

/// The demo catalogue shown when the till runs in demo mode.
pub const DEMO_CATALOG_CSV: &str = include_str!("../../assets/demo-catalog.csv");

/// How many sales the history screen asks for.
const HISTORY_LIMIT: u32 = 200;

/// What a PIN is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinUse {
    /// Unlocking the admin screen.
    Admin,
    /// Refunding `amount` of sale `sale_id`.
    Refund { sale_id: i64, amount: i64 },
}

/// The top-level tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Sale,
    History,
    Reports,
    Admin,
}

#[derive(Debug)]
enum Screen {
    Login(Login),
    Sale,
    Pay(Pay),
    Receipt(Receipt),
    History,
    Reports(Box<Reports>),
    Admin,
}

/// What the status bar shows.
#[derive(Debug, Clone, Default)]
struct Status {
    till_name: String,
    environment: String,
    relay: Option<RelayStatus>,
    vipps: Option<VippsStatus>,
    ready: bool,
    /// Since when the relay is not connected (unix ms, the window's clock).
    relay_down_since_ms: Option<i64>,
}

/// The till window's state.
pub struct App {
    i18n: I18n,
    config: Config,
    config_path: Option<PathBuf>,
    currency: Currency,
    country: Country,
    catalog: Catalog,
    window_store: WindowStore,
    basket: Basket,
    screen: Screen,
    sale: Sale,
    history: History,
    admin: Admin,
    engine: EngineHandle,
    status: Status,
    qr: Option<qr_code::Data>,
    qr_content: Option<String>,
    /// The till's own QR (or its MobilePay sticker), to come back after a one-time QR.
    till_qr_content: Option<String>,
    customer_waiting_until: Option<i64>,
    /// Loyalty: the customer who scanned, as the sale screen shows them.
    loyalty: Option<sale::Loyalty>,
    /// Loyalty is on (Admin): the sale screen offers "Find member".
    loyalty_on: bool,
    now_ms: i64,
    clock: Clock,
    pin: AdminPin,
    demo: Option<DemoEnvironment>,
    /// The demo's relay, which the demo phone's controls stop and start.
    demo_relay: Option<RelaySwitch>,
    phone: Option<Phone>,
    utc_offset: UtcOffset,
    /// A problem to show in the status area (engine stopped, a save failed).
    notice: Option<String>,
    /// Who is logged in (none: the till has no cashiers, or it is locked).
    cashier: Option<crate::core::cashier::Cashier>,
    /// The last key or click (for the idle lock).
    last_input_ms: i64,
    /// Training mode: a banner says so on every screen.
    training: bool,
    /// The till's window and the customer display's, once opened.
    main_window: Option<iced::window::Id>,
    customer_window: Option<iced::window::Id>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("screen", &self.screen)
            .field("basket_lines", &self.basket.lines().len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Sale(sale::Message),
    Pay(pay::Message),
    Receipt(receipt::Message),
    History(history::Message),
    Admin(admin::Message),
    Phone(phone::Message),
    /// The demo customer's personal QR, fetched to show on the phone and scan into the till.
    DemoPersonalQr(Result<String, DemoError>),
    Tab(Tab),
    Engine(EngineEvent),
    EngineStopped,
    Key(KeyPress),
    Tick,
    ConfigSaved(Result<(), ConfigError>),
    ConnectionTested(connection::Report),
    /// A CSV file was imported into the catalogue (or not).
    CsvImported(Result<Catalog, CsvImportError>),
    /// The catalogue was stored (or not): the new one.
    CatalogueStored(Result<Catalog, WindowStoreError>),
    /// Whether loyalty is on, as stored (the sale screen's "Find member").
    LoyaltyChecked(Result<bool, WindowStoreError>),
    /// The member prices as stored, for Admin's catalogue.
    MemberPricesLoaded(Result<crate::core::loyalty::MemberPrices, WindowStoreError>),
    LanguageSaved(Result<(), ConfigError>),
    /// A PIN was checked for `PinUse`.
    PinChecked(PinUse, Result<bool, PinError>),
    /// A new PIN was stored (or not).
    PinSet(Result<(), PinError>),
    DismissNotice,
    Login(login::Message),
    Reports(reports::Message),
    LoggedIn(Result<crate::core::cashier::Cashier, Error>),
    CashiersLoaded(Result<Vec<crate::core::cashier::Cashier>, Error>),
    ReportTaken(Result<Box<crate::core::report::Report>, Error>),
    /// Training mode was switched to the given state (or refused).
    TrainingSet(Result<bool, Error>),
    /// Open the customer display, or close it.
    ToggleCustomerDisplay,
    /// A window was closed (the till's ends the program).
    WindowClosed(iced::window::Id),
    ReportsNote(Result<String, Error>),
    /// Lock the till (back to the log-in).
    Lock,
    /// A void, or other record the window wrote, was stored (or not).
    Recorded(Result<(), Error>),
    /// The cashiers for Admin, after a load, an add or a disable.
    AdminCashiers(Result<Vec<crate::core::cashier::Cashier>, Error>),
    /// A cashier was added or disabled (or not: why); the list follows.
    AdminCashierSaved(Result<(), Error>),
    /// Loyalty settings and members for Admin.
    AdminMembers(Result<admin::LoyaltyLoaded, Error>),
    /// A loyalty save, export or erasure: what to tell, or why not.
    AdminMembersDone(Result<String, Error>),
    /// Admin's test page printed, or did not (why).
    TestPagePrinted(Result<(), Error>),
    /// A receipt printed (its sale), or did not (why).
    Printed(Result<i64, Error>),
    /// A float, pay-in, pay-out or count was recorded (a note), or refused.
    CashRecorded(Result<Option<i64>, Error>),
    /// The lines of a sale opened in History (for a return).
    SaleLines(
        i64,
        Result<Vec<crate::store::returns::ReturnableLine>, Error>,
    ),
    /// The sale a scanned receipt number belongs to.
    ReceiptFound(Result<Option<i64>, Error>),
}

impl App {
    /// Builds the root and the task that listens to the engine.
    pub fn new(boot: Boot) -> (App, Task<Message>) {
        let locale = boot.config.till.language;
        let currency = boot.config.till.currency;
        let country = country_of(currency);
        let mut demo = boot.demo;
        let demo_relay = demo.as_mut().and_then(RelaySwitch::take_from);
        let screen = if boot.cashiers.iter().any(|c| c.active) {
            Screen::Login(Login::new(boot.cashiers, demo.is_some()))
        } else {
            Screen::Sale
        };
        let app = App {
            i18n: I18n::new(locale),
            currency,
            country,
            catalog: boot.catalog,
            window_store: boot.window_store,
            basket: Basket::new(currency),
            screen,
            sale: Sale::new(),
            history: History::new(),
            admin: Admin::new(boot.pin.is_set()),
            engine: boot.engine,
            status: Status {
                till_name: boot.config.till.name.clone(),
                ..Status::default()
            },
            qr: None,
            qr_content: None,
            till_qr_content: None,
            customer_waiting_until: None,
            loyalty: None,
            loyalty_on: false,
            now_ms: boot.clock.now_ms(),
            pin: boot.pin,
            phone: demo.as_ref().map(|_| {
                let phone = Phone::new();
                if demo_relay.is_some() {
                    phone.with_relay_switch()
                } else {
                    phone
                }
            }),
            demo,
            demo_relay,
            utc_offset: boot.utc_offset,
            config: boot.config,
            config_path: boot.config_path,
            notice: None,
            cashier: None,
            last_input_ms: boot.clock.now_ms(),
            training: boot.training,
            clock: boot.clock,
            main_window: None,
            customer_window: None,
        };
        let mut app = app;
        let (main, opened) = iced::window::open(customer_display::main_window_settings());
        app.main_window = Some(main);
        let mut tasks = vec![
            opened.discard(),
            listen(boot.events),
            operation::focus(sale::SEARCH_ID),
            app.check_loyalty(),
        ];
        if app.config.customer_display.open {
            tasks.push(app.open_customer_display());
        }
        (app, Task::batch(tasks))
    }

    /// Whether the till runs in demo mode.
    pub fn is_demo(&self) -> bool {
        self.demo.is_some()
    }

    /// The QR content the Pay screen renders (the engine's `qrContent`).
    pub fn qr_content(&self) -> Option<&str> {
        self.qr_content.as_deref()
    }

    pub fn basket(&self) -> &Basket {
        &self.basket
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The simulated customer (demo mode).
    pub fn demo_phone(&self) -> Option<&DemoPhone> {
        self.demo.as_ref().map(|d| &d.phone)
    }

    pub fn title(&self) -> String {
        let environment = self.environment_label();
        format!("Kasse — {} — {}", self.status.till_name, environment)
    }

    pub fn theme(&self) -> Theme {
        theme::theme()
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let keys = keyboard::listen().filter_map(|event| match event {
            keyboard::Event::KeyPressed {
                key,
                modifiers,
                text,
                ..
            } => Some(Message::Key(KeyPress {
                key,
                text: text.map(|t| t.to_string()),
                modifiers,
            })),
            _ => None,
        });
        let counting_down = matches!(&self.screen, Screen::Pay(pay) if pay.one_time().is_some());
        let tick = if self.customer_waiting_until.is_some()
            || counting_down
            || self.status.relay_down_since_ms.is_some()
            || (self.cashier.is_some() && self.config.till.lock_after_secs > 0)
        {
            iced::time::every(std::time::Duration::from_secs(1)).map(|_| Message::Tick)
        } else {
            Subscription::none()
        };
        let closed = iced::window::close_events().map(Message::WindowClosed);
        Subscription::batch([keys, tick, closed])
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            i18n: &self.i18n,
            currency: self.currency,
        }
    }

    fn send(&mut self, command: Command) {
        if self.engine.send(command).is_err() {
            self.notice = Some(self.i18n.t("status-engine-stopped"));
        }
    }

    /// Pay shows a QR for each payment: by configuration, or because the relay has been down
    /// longer than the grace period (check-ins cannot arrive).
    fn one_time_qr_mode(&self) -> bool {
        if self.config.till.pay_qr == crate::config::PayQr::OneTime {
            return true;
        }
        let grace = self.config.engine.one_time_qr_after();
        match (self.status.relay_down_since_ms, grace) {
            (Some(since), Some(grace)) => {
                self.now_ms - since >= i64::try_from(grace.as_millis()).unwrap_or(i64::MAX)
            }
            _ => false,
        }
    }

    fn customer_waiting(&self) -> bool {
        self.customer_waiting_until
            .is_some_and(|until| until > self.now_ms)
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        if !matches!(
            message,
            Message::Tick
                | Message::Engine(_)
                | Message::EngineStopped
                | Message::LoggedIn(_)
                | Message::CashiersLoaded(_)
                | Message::ReportTaken(_)
                | Message::TrainingSet(_)
                | Message::WindowClosed(_)
                | Message::ReportsNote(_)
                | Message::Recorded(_)
                | Message::SaleLines(..)
                | Message::CashRecorded(_)
                | Message::Printed(_)
                | Message::TestPagePrinted(_)
                | Message::AdminCashiers(_)
                | Message::AdminCashierSaved(_)
                | Message::AdminMembers(_)
                | Message::MemberPricesLoaded(_)
                | Message::LoyaltyChecked(_)
                | Message::AdminMembersDone(_)
                | Message::ReceiptFound(_)
        ) {
            self.last_input_ms = self.clock.now_ms();
        }
        match message {
            Message::Sale(message) => {
                let action = self.sale.update(message, &self.catalog, &mut self.basket);
                return self.sale_action(action);
            }
            Message::Pay(message) => {
                if let Screen::Pay(pay) = &mut self.screen {
                    let action = pay.update(message);
                    self.pay_action(action);
                }
            }
            Message::Receipt(message) => {
                if let Screen::Receipt(receipt) = &mut self.screen {
                    let action = receipt.update(message);
                    return self.receipt_action(action);
                }
            }
            Message::History(message) => {
                let action = self.history.update(message);
                return self.history_action(action);
            }
            Message::Admin(message) => {
                let action = self.admin.update(message, &self.catalog, self.country);
                return self.admin_action(action);
            }
            Message::Phone(message) => {
                if let Some(phone) = &mut self.phone
                    && let phone::Action::Perform(op) = phone.update(message)
                {
                    return self.phone_op(op);
                }
            }
            Message::Tab(tab) => return self.open_tab(tab),
            Message::Engine(event) => return self.engine_event(event),
            Message::EngineStopped => {
                self.notice = Some(self.i18n.t("status-engine-stopped"));
            }
            Message::Key(press) => return self.key(press),
            Message::DemoPersonalQr(result) => return self.demo_personal_qr(result),
            Message::Tick => {
                self.now_ms = self.clock.now_ms();
                if let Screen::Pay(pay) = &mut self.screen {
                    pay.tick(self.now_ms);
                }
                if !self.customer_waiting() {
                    self.customer_waiting_until = None;
                }
                return self.lock_if_idle(self.now_ms);
            }
            Message::Login(message) => return self.login_message(message),
            Message::LoggedIn(result) => return self.logged_in(result),
            Message::CashiersLoaded(result) => self.cashiers_loaded(result),
            Message::Reports(message) => return self.reports_message(message),
            Message::ReportTaken(result) => self.report_taken(result),
            Message::TrainingSet(result) => self.training_set(result),
            Message::ToggleCustomerDisplay => return self.toggle_customer_display(),
            Message::WindowClosed(id) => return self.window_closed(id),
            Message::ReportsNote(result) => self.reports_note(result),
            Message::CashRecorded(result) => self.cash_recorded(result),
            Message::Printed(result) => self.printed(result),
            Message::TestPagePrinted(result) => {
                self.admin
                    .test_page_printed(result.map_err(|e| e.to_string()));
            }
            Message::AdminCashiers(result) => match result {
                Ok(list) => self.admin.cashiers_loaded(list),
                Err(why) => self.admin.cashier_saved(Err(why.to_string())),
            },
            Message::AdminMembers(result) => match result {
                Ok(loaded) => self.admin.members_loaded(loaded),
                Err(why) => self.admin.members_done(Err(why.to_string())),
            },
            Message::AdminMembersDone(result) => {
                let ok = result.is_ok();
                self.admin.members_done(result.map_err(|e| e.to_string()));
                if ok {
                    return Task::batch([
                        self.load_admin_members(String::new()),
                        self.check_loyalty(),
                    ]);
                }
            }
            Message::LoyaltyChecked(result) => match result {
                Ok(on) => self.loyalty_on = on,
                Err(error) => tracing::warn!(%error, "the loyalty settings could not be read"),
            },
            Message::AdminCashierSaved(result) => {
                let ok = result.is_ok();
                self.admin.cashier_saved(result.map_err(|e| e.to_string()));
                if ok {
                    return self.load_admin_cashiers();
                }
            }
            Message::Lock => return self.lock(false),
            Message::Recorded(result) => {
                if let Err(why) = result {
                    self.notice = Some(why.to_string());
                }
            }
            Message::SaleLines(sale_id, result) => match result {
                Ok(lines) => self.history.set_lines(sale_id, lines),
                Err(why) => self.notice = Some(why.to_string()),
            },
            Message::ReceiptFound(result) => match result {
                Ok(found) => {
                    if found.is_none() {
                        self.notice = Some(self.i18n.t("history-receipt-unknown"));
                    }
                    let action = self.history.receipt_found(found);
                    return self.history_action(action);
                }
                Err(why) => self.notice = Some(why.to_string()),
            },
            Message::ConfigSaved(result) => {
                // A configured till picks the file up at once. The demo keeps
                // its simulator until Kasse restarts (the admin screen says so).
                if result.is_ok() && self.demo.is_none() {
                    self.send(Command::ReloadConfig);
                }
                self.admin.saved(result.map_err(SaveError::from));
            }
            Message::ConnectionTested(checks) => self.admin.connection_tested(checks),
            Message::CsvImported(result) => {
                let result = result.map(|catalog| {
                    let count = catalog.len();
                    self.catalog = catalog;
                    count
                });
                self.admin.csv_imported(result);
            }
            Message::CatalogueStored(result) => {
                let stored = result.is_ok();
                let result = result.map(|catalog| self.catalog = catalog);
                self.admin
                    .catalogue_changed(result.map_err(CatalogueError::from));
                if stored {
                    // A deleted item took its member price with it.
                    return self.load_member_prices();
                }
            }
            Message::MemberPricesLoaded(result) => match result {
                Ok(prices) => self.admin.member_prices_loaded(prices),
                Err(error) => self
                    .admin
                    .catalogue_changed(Err(CatalogueError::from(error))),
            },
            Message::LanguageSaved(result) => {
                if let Err(error) = result {
                    self.notice = Some(self.i18n.t_args(
                        "status-settings-not-saved",
                        &[("error", Arg::Str(&error.to_string()))],
                    ));
                }
            }
            Message::PinChecked(PinUse::Admin, result) => {
                if matches!(result, Ok(true)) {
                    self.admin.unlock(&self.config);
                } else {
                    if let Err(error) = result {
                        tracing::error!(%error, "the admin PIN could not be checked");
                    }
                    tracing::warn!("admin unlock refused: wrong PIN");
                    self.admin.wrong_pin();
                }
            }
            Message::PinChecked(PinUse::Refund { sale_id, amount }, result) => {
                if matches!(result, Ok(true)) {
                    self.send(Command::Refund { sale_id, amount });
                    self.history.refund_sent();
                } else {
                    if let Err(error) = result {
                        tracing::error!(%error, "the admin PIN could not be checked");
                    }
                    tracing::warn!(sale_id, "refund refused: wrong admin PIN");
                    self.history.wrong_pin();
                }
            }
            Message::PinSet(result) => match result {
                Ok(()) => self.admin.unlock(&self.config),
                Err(error) => {
                    let message = match error {
                        PinError::Format => self.i18n.t("admin-pin-format"),
                        PinError::Mismatch => self.i18n.t("admin-pin-mismatch"),
                        other => other.to_string(),
                    };
                    self.admin.pin_not_set(message);
                }
            },
            Message::DismissNotice => self.notice = None,
        }
        Task::none()
    }

    fn key(&mut self, press: KeyPress) -> Task<Message> {
        use keyboard::key::Named;
        // Locked: only the log-in takes keys.
        if let Screen::Login(login) = &mut self.screen {
            let action = login.key(&press);
            return self.login_action(action);
        }
        // Keys that work on every screen: the tabs and moving between fields.
        match press.named() {
            Some(Named::F2) => return self.open_tab(Tab::Sale),
            Some(Named::F3) => return self.open_tab(Tab::History),
            Some(Named::F4) => return self.open_tab(Tab::Admin),
            Some(Named::F6) => return self.open_tab(Tab::Reports),
            Some(Named::Tab) if press.modifiers.shift() => return operation::focus_previous(),
            Some(Named::Tab) => return operation::focus_next(),
            _ => {}
        }
        match &mut self.screen {
            Screen::Sale => {
                let action = self.sale.key(&press, &self.catalog, &mut self.basket);
                self.sale_action(action)
            }
            Screen::Pay(pay) => {
                let action = pay.key(&press);
                self.pay_action(action);
                Task::none()
            }
            Screen::Receipt(receipt) => {
                let action = receipt.key(&press);
                self.receipt_action(action)
            }
            Screen::Login(_) => Task::none(),
            Screen::History if press.named() != Some(keyboard::key::Named::Escape) => {
                let action = self.history.key(&press);
                self.history_action(action)
            }
            Screen::History | Screen::Admin | Screen::Reports(_) => {
                if press.named() == Some(keyboard::key::Named::Escape) {
                    self.open_tab(Tab::Sale)
                } else {
                    Task::none()
                }
            }
        }
    }

    fn open_tab(&mut self, tab: Tab) -> Task<Message> {
        if matches!(
            self.screen,
            Screen::Pay(_) | Screen::Receipt(_) | Screen::Login(_)
        ) {
            // A sale in progress stays on screen until it is finished.
            return Task::none();
        }
        if !matches!(tab, Tab::Admin) {
            self.admin.lock();
        }
        match tab {
            Tab::Sale => {
                self.screen = Screen::Sale;
                Task::batch([operation::focus(sale::SEARCH_ID), self.check_loyalty()])
            }
            Tab::History => {
                self.screen = Screen::History;
                self.send(Command::ListSales {
                    limit: HISTORY_LIMIT,
                });
                Task::none()
            }
            Tab::Admin => {
                self.screen = Screen::Admin;
                operation::focus(admin::PIN_ID)
            }
            Tab::Reports => {
                self.screen = self.reports_screen();
                Task::none()
            }
        }
    }

    fn sale_action(&mut self, action: sale::Action) -> Task<Message> {
        match action {
            sale::Action::None => Task::none(),
            sale::Action::Focus(id) => operation::focus(id),
            sale::Action::Voided { whole_sale, amount } => self.record_void(whole_sale, amount),
            sale::Action::Pay => {
                self.start_payment();
                Task::none()
            }
            sale::Action::Invite => {
                self.send(Command::InviteMember { phone_number: None });
                Task::none()
            }
            sale::Action::DiscardWaitingScan => {
                self.send(Command::DiscardWaitingScan);
                Task::none()
            }
            sale::Action::FindMember(phone_number) => {
                // The engine answers with the member (or not a member) for the banner.
                self.send(Command::IdentifyCustomer { phone_number });
                operation::focus(sale::SEARCH_ID)
            }
            sale::Action::Cleared { amount } => {
                // The next customer: nobody identified carries over to their sale.
                if self.loyalty_on || self.loyalty.is_some() {
                    self.loyalty = None;
                    self.send(Command::ForgetCustomer);
                }
                if amount > 0 {
                    self.record_void(true, amount)
                } else {
                    Task::none()
                }
            }
            sale::Action::PayWithPersonalQr(content) => {
                // The engine takes the commands in order: the sale first, then its customer.
                self.start_payment();
                self.send(Command::SendToPersonalQr { content });
                Task::none()
            }
        }
    }

    fn start_payment(&mut self) {
        let amount = self.basket.totals().total;
        self.screen = Screen::Pay(Pay::new(0, amount, calling_code(self.country)));
        self.send(Command::Pay {
            basket: self.basket.clone(),
        });
    }

    fn pay_action(&mut self, action: pay::Action) {
        if let pay::Action::Send(command) = action {
            let back = matches!(command, Command::BackToBasket);
            self.send(command);
            if back {
                self.screen = Screen::Sale;
                if let Some(phone) = &mut self.phone {
                    phone.reset();
                }
            }
        }
    }

    fn receipt_action(&mut self, action: receipt::Action) -> Task<Message> {
        match action {
            receipt::Action::None => Task::none(),
            receipt::Action::NewSale => {
                self.send(Command::NewSale);
                self.basket = Basket::new(self.currency);
                self.sale = Sale::new();
                self.screen = Screen::Sale;
                if let Some(phone) = &mut self.phone {
                    phone.reset();
                }
                operation::focus(sale::SEARCH_ID)
            }
        }
    }

    fn history_action(&mut self, action: history::Action) -> Task<Message> {
        match action {
            history::Action::None => Task::none(),
            history::Action::Focus(id) => operation::focus(id),
            history::Action::Refresh => {
                self.send(Command::ListSales {
                    limit: HISTORY_LIMIT,
                });
                Task::none()
            }
            history::Action::Refund {
                sale_id,
                amount,
                pin,
            } => Task::perform(self.pin.clone().verify(pin), move |result| {
                Message::PinChecked(PinUse::Refund { sale_id, amount }, result)
            }),
            history::Action::LoadLines(sale_id) => Task::perform(
                self.window_store
                    .clone()
                    .run(move |s| s.returnable_lines(sale_id)),
                move |r| Message::SaleLines(sale_id, r.map_err(Error::from)),
            ),
            history::Action::Return { sale_id, lines } => {
                self.send(Command::Return {
                    sale_id,
                    lines,
                    to: None,
                });
                Task::none()
            }
            history::Action::Print(sale_id) => self.print_receipt(sale_id),
            history::Action::FindReceipt(nr) => Task::perform(
                self.window_store
                    .clone()
                    .run(move |s| s.sale_of_receipt(nr)),
                |r| Message::ReceiptFound(r.map_err(Error::from)),
            ),
        }
    }

    /// The demo phone shows its personal QR and the till "scans" it, as a barcode scanner would
    /// type it: on the sale screen it pays the basket, on Pay it goes to the waiting sale.
    fn demo_personal_qr(&mut self, result: Result<String, DemoError>) -> Task<Message> {
        let done = result.as_ref().map(|_| ()).map_err(Clone::clone);
        if let Some(phone) = &mut self.phone {
            phone.update(phone::Message::Done(Op::ShowMyQr, done));
            if let Ok(content) = &result {
                phone.show_my_qr(content);
            }
        }
        let Ok(content) = result else {
            return Task::none();
        };
        let content = crate::engine::PersonalQr(content);
        match &mut self.screen {
            Screen::Sale => {
                let action = self.sale.personal_qr_scanned(content, &self.basket);
                self.sale_action(action)
            }
            Screen::Pay(pay) => {
                let action = pay.personal_qr_scanned(content);
                self.pay_action(action);
                Task::none()
            }
            _ => Task::none(),
        }
    }

    fn phone_op(&self, op: Op) -> Task<Message> {
        let Some(phone) = self.demo_phone().cloned() else {
            return Task::none();
        };
        if let Op::SetRelay(running) = op {
            let Some(relay) = self.demo_relay.clone() else {
                return Task::none();
            };
            return Task::perform(
                async move { relay.set_running(running).await },
                move |result| Message::Phone(phone::Message::Done(Op::SetRelay(running), result)),
            );
        }
        if op == Op::ShowMyQr {
            return Task::perform(
                async move { phone.personal_qr().await },
                Message::DemoPersonalQr,
            );
        }
        let done = op.clone();
        Task::perform(
            async move {
                match &op {
                    Op::Scan => match phone.scan().await {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(DemoError::NotDelivered),
                        Err(e) => Err(e),
                    },
                    Op::ScanPaymentQr(content) => phone.scan_payment_qr(content).await,
                    Op::ShowMyQr | Op::SetRelay(_) => Ok(()),
                    Op::Approve(reference) => phone.approve(reference).await,
                    Op::Decline(reference) => phone.decline(reference).await,
                    Op::ApproveLogin(id) => phone
                        .control()
                        .approve_login(id, "Kari", None)
                        .await
                        .map(|_| ())
                        .map_err(DemoError::from),
                    Op::DenyLogin(id) => phone
                        .control()
                        .deny_login(id)
                        .await
                        .map(|_| ())
                        .map_err(DemoError::from),
                }
            },
            move |result| Message::Phone(phone::Message::Done(done.clone(), result)),
        )
    }
}

/// The engine's events as a task that feeds the window for as long as the
/// engine runs.
fn listen(receiver: broadcast::Receiver<EngineEvent>) -> Task<Message> {
    let stream = futures_util::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((Message::Engine(event), Some(receiver))),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::error!(missed, "the window fell behind the engine's events");
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Some((Message::EngineStopped, None));
                }
            }
        }
    });
    Task::run(stream, |message| message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalogue_parses_with_several_categories_and_rates() {
        let catalog = catalog_csv::parse(DEMO_CATALOG_CSV, Some(Country::No)).unwrap();
        assert!(catalog.len() >= 12);
        assert!(catalog.categories().len() >= 3);
        let rates: std::collections::BTreeSet<u32> = catalog
            .items()
            .iter()
            .map(|i| i.vat.basis_points())
            .collect();
        assert!(rates.len() >= 3, "{rates:?}");
    }
}
