//! The window's part of the shop's day: log-in, lock (by hand and when idle), X and Z reports,
//! opening the drawer. The store work runs on the window's own connection (a blocking
//! thread); the engine is told who works the till.

use iced::Task;

use super::{App, Error, Message, Screen};
use crate::core::cashier::Cashier;
use crate::core::report::Report;
use crate::engine::Command;
use crate::store::day::DrawerReason;
use crate::ui::screen::admin;
use crate::ui::screen::login::{self, Login};
use crate::ui::screen::reports;

/// The result of store or printer work for the window: the value, or why not.
pub type Shown<T> = Result<T, Error>;

impl App {
    /// The log-in screen with the current cashiers.
    pub(super) fn login_screen(&self, cashiers: Vec<Cashier>) -> Screen {
        Screen::Login(Login::new(cashiers, self.demo.is_some()))
    }

    pub(super) fn login_message(&mut self, message: login::Message) -> Task<Message> {
        let Screen::Login(login) = &mut self.screen else {
            return Task::none();
        };
        let action = login.update(message);
        self.login_action(action)
    }

    pub(super) fn login_action(&mut self, action: login::Action) -> Task<Message> {
        match action {
            login::Action::None => Task::none(),
            login::Action::LogIn { cashier_id, pin } => Task::perform(
                self.window_store
                    .clone()
                    .run(move |s| s.log_in(cashier_id, &pin)),
                |r| Message::LoggedIn(r.map_err(Error::from)),
            ),
        }
    }

    pub(super) fn logged_in(&mut self, result: Shown<Cashier>) -> Task<Message> {
        match result {
            Ok(cashier) => {
                tracing::info!(cashier_id = cashier.id, "cashier logged in");
                self.send(Command::SetCashier {
                    cashier_id: Some(cashier.id),
                });
                self.cashier = Some(cashier);
                self.last_input_ms = self.clock.now_ms();
                self.screen = Screen::Sale;
                iced::widget::operation::focus(crate::ui::screen::sale::SEARCH_ID)
            }
            Err(why) => {
                if let Screen::Login(login) = &mut self.screen {
                    login.refused(why.to_string());
                }
                Task::none()
            }
        }
    }

    /// Back to the log-in (the Lock button, or idle): only between sales.
    pub(super) fn lock(&mut self, idle: bool) -> Task<Message> {
        if matches!(self.screen, Screen::Pay(_) | Screen::Receipt(_)) {
            return Task::none();
        }
        let Some(cashier) = self.cashier.take() else {
            return Task::none();
        };
        self.send(Command::SetCashier { cashier_id: None });
        self.admin.lock();
        self.screen = Screen::Login(Login::new(Vec::new(), false));
        Task::perform(
            self.window_store.clone().run(move |s| {
                s.log_out(cashier.id, idle)?;
                s.cashiers()
            }),
            |r| Message::CashiersLoaded(r.map_err(Error::from)),
        )
    }

    pub(super) fn cashiers_loaded(&mut self, result: Shown<Vec<Cashier>>) {
        match result {
            Ok(cashiers) => {
                if matches!(self.screen, Screen::Login(_)) {
                    self.screen = self.login_screen(cashiers);
                }
            }
            Err(why) => self.notice = Some(why.to_string()),
        }
    }

    /// Idle for longer than the configured time: lock.
    pub(super) fn lock_if_idle(&mut self, now_ms: i64) -> Task<Message> {
        let after = i64::try_from(self.config.till.lock_after_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        if after > 0 && self.cashier.is_some() && now_ms - self.last_input_ms >= after {
            tracing::info!("locked after being idle");
            return self.lock(true);
        }
        Task::none()
    }

    pub(super) fn reports_message(&mut self, message: reports::Message) -> Task<Message> {
        let Screen::Reports(screen) = &mut self.screen else {
            return Task::none();
        };
        let by = self.cashier.as_ref().map(|c| c.id);
        let till = self.config.till.id.clone();
        let currency = self.config.till.currency;
        let store = self.window_store.clone();
        match screen.update(message) {
            reports::Action::None => Task::none(),
            reports::Action::TakeX => Task::perform(
                store.run(move |s| s.take_x_report(&till, currency, by)),
                |r| Message::ReportTaken(r.map(Box::new).map_err(Error::from)),
            ),
            reports::Action::TakeZ => Task::perform(
                store.run(move |s| s.take_z_report(&till, currency, by)),
                |r| Message::ReportTaken(r.map(Box::new).map_err(Error::from)),
            ),
            reports::Action::Print(report) => {
                let settings = self.config.print_settings();
                let printed = self.i18n.t("reports-printed");
                Task::perform(
                    async move {
                        crate::print::print_report(&settings, &report)
                            .await
                            .map(|()| printed)
                            .map_err(Error::from)
                    },
                    Message::ReportsNote,
                )
            }
            reports::Action::SetTraining(on) => {
                Task::perform(store.run(move |s| s.set_training_mode(on, by)), move |r| {
                    Message::TrainingSet(r.map(|_| on).map_err(Error::from))
                })
            }
            reports::Action::Cash {
                kind,
                amount,
                reason,
            } => Task::perform(
                store.run(move |s| s.record_cash_movement(kind, amount, reason.as_deref(), by)),
                |r| Message::CashRecorded(r.map(|()| None).map_err(Error::from)),
            ),
            reports::Action::Count(counted) => {
                Task::perform(store.run(move |s| s.record_cash_count(counted, by)), |r| {
                    Message::CashRecorded(r.map(|c| Some(c.difference)).map_err(Error::from))
                })
            }
            reports::Action::OpenDrawer => {
                let opened = self.i18n.t("reports-drawer-opened");
                let by_hand = self.i18n.t("reports-drawer-by-hand");
                let settings = self.config.print_settings();
                Task::perform(
                    async move {
                        store
                            .run(move |s| s.record_drawer_opening(DrawerReason::NoSale, None, by))
                            .await
                            .map_err(Error::from)?;
                        // Recorded first; then the pulse through the receipt printer.
                        match crate::print::open_drawer(&settings).await {
                            Ok(()) => Ok(opened),
                            Err(crate::print::PrintError::Printer(
                                crate::print::connection::PrinterError::NotConfigured,
                            )) => Ok(by_hand),
                            Err(e) => Err(Error::from(e)),
                        }
                    },
                    Message::ReportsNote,
                )
            }
        }
    }

    pub(super) fn report_taken(&mut self, result: Shown<Box<Report>>) {
        if let Screen::Reports(screen) = &mut self.screen {
            screen.report(result.map(|r| *r).map_err(|e| e.to_string()));
        }
    }

    /// A movement (no difference) or a count (its difference to the expected cash) was
    /// recorded, or refused.
    pub(super) fn cash_recorded(&mut self, result: Shown<Option<i64>>) {
        let result = result.map(|difference| match difference {
            None => self.i18n.t("reports-cash-recorded"),
            Some(d) => self.i18n.t_args(
                "reports-counted",
                &[(
                    "difference",
                    crate::ui::i18n::Arg::Str(&crate::core::money::format_minor(
                        d,
                        self.config.till.currency,
                        self.i18n.locale(),
                    )),
                )],
            ),
        });
        if let Screen::Reports(screen) = &mut self.screen {
            screen.cash_recorded(result.map_err(|e| e.to_string()));
        }
    }

    /// A note for the Reports screen (the drawer opened, a report printed) or a refusal.
    pub(super) fn reports_note(&mut self, result: Shown<String>) {
        if let Screen::Reports(screen) = &mut self.screen {
            screen.drawer(result.map_err(|e| e.to_string()));
        }
    }

    /// A line or the basket voided before payment, recorded for the X/Z reports.
    pub(super) fn record_void(&mut self, whole_sale: bool, amount: i64) -> Task<Message> {
        let by = self.cashier.as_ref().map(|c| c.id);
        Task::perform(
            self.window_store
                .clone()
                .run(move |s| s.record_void(whole_sale, amount, None, by)),
            |r| Message::Recorded(r.map_err(Error::from)),
        )
    }

    /// Prints the receipt of a sale that just completed (the original; a cash sale's receipt
    /// also opens the drawer). A printer fault keeps it queued and says so; the sale stands.
    pub(super) fn print_receipt(&mut self, sale_id: i64) -> Task<Message> {
        let settings = self.config.print_settings();
        if settings.connection == crate::print::connection::PrinterConnection::None {
            return Task::none();
        }
        let store = self.window_store.shared();
        Task::perform(
            async move {
                crate::print::issue(
                    &store,
                    &settings,
                    sale_id,
                    crate::print::queue::Request::Receipt,
                    &crate::print::Destination::Printer,
                )
                .await
                .map(|_| sale_id)
                .map_err(Error::from)
            },
            Message::Printed,
        )
    }

    pub(super) fn printed(&mut self, result: Shown<i64>) {
        if let Err(why) = result {
            tracing::warn!(error = %why, "the receipt did not print");
            self.notice = Some(self.i18n.t_args(
                "print-failed",
                &[("error", crate::ui::i18n::Arg::Str(&why.to_string()))],
            ));
        }
    }

    pub(super) fn load_admin_cashiers(&mut self) -> Task<Message> {
        Task::perform(self.window_store.clone().run(|s| s.cashiers()), |r| {
            Message::AdminCashiers(r.map_err(Error::from))
        })
    }

    /// Reads the loyalty settings and the members matching `search` for Admin.
    pub(super) fn load_admin_members(&mut self, search: String) -> Task<Message> {
        // The window holds the catalogue it shows: its categories need no read.
        let categories: Vec<String> = self
            .catalog
            .categories()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let read = self.window_store.clone().run(move |s| {
            let query = search.trim().to_string();
            let members = s.members((!query.is_empty()).then_some(query.as_str()))?;
            Ok(admin::LoyaltyLoaded {
                settings: s.loyalty_settings()?,
                members: members.iter().map(admin::MemberRow::from).collect(),
                categories,
                prices: s.member_prices()?,
            })
        });
        Task::perform(read, |r| Message::AdminMembers(r.map_err(Error::from)))
    }

    /// Saves the loyalty settings, exports a member's data (a JSON file beside the database,
    /// readable by the user only) or erases a member, from Admin.
    pub(super) fn admin_members(&mut self, action: admin::MembersAction) -> Task<Message> {
        let store = self.window_store.clone();
        let done = |r: Result<String, crate::store::WindowStoreError>| {
            Message::AdminMembersDone(r.map_err(Error::from))
        };
        match action {
            admin::MembersAction::None | admin::MembersAction::Load(_) => Task::none(),
            admin::MembersAction::Save {
                settings,
                discounts,
            } => {
                let saved = self.i18n.t("admin-loyalty-saved");
                Task::perform(
                    store.run(move |s| {
                        s.atomic(|| {
                            s.set_loyalty_settings(&settings)?;
                            s.set_member_category_discounts(&discounts)
                        })
                        .map(|()| saved)
                    }),
                    done,
                )
            }
            admin::MembersAction::Export(id) => {
                let dir = self
                    .config
                    .database_path()
                    .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or_else(std::env::temp_dir);
                let path = dir.join(format!("member-{id}.json"));
                let note = self.i18n.t_args(
                    "admin-member-exported",
                    &[(
                        "path",
                        crate::ui::i18n::Arg::Str(&path.display().to_string()),
                    )],
                );
                Task::perform(
                    store.run(move |s| s.export_member_to(id, &path).map(|()| note)),
                    done,
                )
            }
            admin::MembersAction::Erase(id) => {
                let erased = self.i18n.t("admin-member-erased");
                Task::perform(
                    store.run(move |s| s.erase_member(id).map(|()| erased)),
                    done,
                )
            }
        }
    }

    /// Adds or disables a cashier from Admin (behind the admin PIN), as the cashier logged in.
    pub(super) fn admin_cashier(&mut self, action: admin::CashierAction) -> Task<Message> {
        let by = self.cashier.as_ref().map(|c| c.id);
        let store = self.window_store.clone();
        let done = |r: Result<(), crate::store::WindowStoreError>| {
            Message::AdminCashierSaved(r.map_err(Error::from))
        };
        match action {
            admin::CashierAction::None => Task::none(),
            admin::CashierAction::Add { name, role, pin } => Task::perform(
                store.run(move |s| s.add_cashier(&name, role, &pin, by).map(|_| ())),
                done,
            ),
            admin::CashierAction::Disable(id) => {
                if by == Some(id) {
                    self.admin
                        .cashier_saved(Err(self.i18n.t("admin-cashier-not-yourself")));
                    return Task::none();
                }
                Task::perform(store.run(move |s| s.disable_cashier(id, by)), done)
            }
        }
    }

    pub(super) fn reports_screen(&self) -> Screen {
        Screen::Reports(Box::new(reports::Reports::new(self.training)))
    }

    /// Training mode was switched by the manager (or refused).
    pub(super) fn training_set(&mut self, result: Shown<bool>) {
        if let Ok(on) = result {
            self.training = on;
        }
        let note = |on: bool| {
            self.i18n.t(if on {
                "reports-training-now-on"
            } else {
                "reports-training-now-off"
            })
        };
        let result = result.map(|on| (on, note(on)));
        if let Screen::Reports(screen) = &mut self.screen {
            screen.training_set(result.map_err(|e| e.to_string()));
        }
    }
}
