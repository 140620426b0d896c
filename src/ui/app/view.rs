//! The window's frame: the status bar (environment, till, relay and Vipps, the cashier, the
//! tabs), the demo banner, the notice, and the active screen.

use super::*;
use iced::widget::{column, row};

impl App {
    pub(super) fn environment_label(&self) -> String {
        if self.demo.is_some() {
            return self.i18n.t("env-demo");
        }
        match self.config.vipps.environment {
            VippsEnvironment::Production => self.i18n.t("env-production"),
            VippsEnvironment::Test => self.i18n.t("env-test"),
            VippsEnvironment::Custom(_) => self.i18n.t("env-simulator"),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let ctx = self.ctx();
        let main: Element<'_, Message> = match &self.screen {
            Screen::Login(login) => login.view(ctx).map(Message::Login),
            Screen::Reports(reports) => reports.view(ctx).map(Message::Reports),
            Screen::Sale => self
                .sale
                .view(
                    ctx,
                    &self.catalog,
                    &self.basket,
                    self.customer_waiting(),
                    self.loyalty.as_ref(),
                    self.loyalty_on,
                )
                .map(Message::Sale),
            Screen::Pay(pay) => pay.view(ctx, self.qr.as_ref()).map(Message::Pay),
            Screen::Receipt(receipt) => receipt.view(ctx).map(Message::Receipt),
            Screen::History => self
                .history
                .view(ctx, self.now_ms, self.utc_offset)
                .map(Message::History),
            Screen::Admin => self
                .admin
                .view(
                    ctx,
                    &self.catalog,
                    self.country,
                    self.demo.is_some(),
                    self.config_path.as_deref().and_then(Path::to_str),
                )
                .map(Message::Admin),
        };
        let body: Element<'_, Message> = match &self.phone {
            Some(phone) => row![
                container(main).width(Fill).height(Fill),
                container(phone.view(ctx).map(Message::Phone)).padding(12),
            ]
            .height(Fill)
            .into(),
            None => main,
        };
        let mut page = column![self.status_bar()];
        if self.demo.is_some() {
            page = page.push(
                container(
                    row![
                        text(self.i18n.t("demo-banner"))
                            .size(size::SMALL)
                            .font(theme::BOLD)
                            .width(Fill),
                        button(text(self.i18n.t("customer-display-toggle")).size(size::SMALL))
                            .style(theme::plain_button)
                            .on_press(Message::ToggleCustomerDisplay),
                    ]
                    .spacing(12)
                    .align_y(Center),
                )
                .padding([6, 16])
                .width(Fill)
                .style(theme::banner(theme::DEMO_PURPLE, Color::WHITE)),
            );
        }
        if self.training {
            page = page.push(
                container(
                    text(self.i18n.t("training-banner"))
                        .size(size::SMALL)
                        .font(theme::BOLD),
                )
                .padding([6, 16])
                .width(Fill)
                .style(theme::banner(theme::TEST_YELLOW, theme::INK)),
            );
        }
        if let Some(notice) = &self.notice {
            page = page.push(
                container(
                    row![
                        text(notice.clone())
                            .size(size::BODY)
                            .font(theme::BOLD)
                            .width(Fill),
                        button(text("✕").size(size::BODY))
                            .style(theme::plain_button)
                            .on_press(Message::DismissNotice),
                    ]
                    .align_y(Center),
                )
                .padding([6, 16])
                .width(Fill)
                .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }
        page.push(body).height(Fill).into()
    }

    fn status_bar(&self) -> Element<'_, Message> {
        let i18n = &self.i18n;
        let (env_label, env_bg, env_fg) = if self.demo.is_some() {
            (i18n.t("env-demo"), theme::DEMO_PURPLE, Color::WHITE)
        } else {
            match self.config.vipps.environment {
                VippsEnvironment::Production => {
                    (i18n.t("env-production"), theme::STOP, Color::WHITE)
                }
                VippsEnvironment::Test => (i18n.t("env-test"), theme::TEST_YELLOW, theme::INK),
                VippsEnvironment::Custom(_) => {
                    (i18n.t("env-simulator"), theme::DEMO_PURPLE, Color::WHITE)
                }
            }
        };
        // The badge's first word ("DEMO", "TEST", "PRODUCTION"): the tabs and the cashier need
        // the width; the rest ("no real money") is in the demo banner and in Admin.
        let env_label = env_label
            .split(" · ")
            .next()
            .unwrap_or_default()
            .to_string();
        let env = container(text(env_label).size(size::BODY).font(theme::BOLD))
            .padding([8, 14])
            .style(theme::banner(env_bg, env_fg));

        let (relay_text, relay_ok) = match &self.status.relay {
            None => (i18n.t("status-relay-connecting"), None),
            Some(RelayStatus::Connected) => (i18n.t("status-relay-connected"), Some(true)),
            Some(RelayStatus::Reconnecting { attempt, .. }) => (
                i18n.t_args(
                    "status-relay-reconnecting",
                    &[("attempt", Arg::Int(i64::from(*attempt)))],
                ),
                Some(false),
            ),
            Some(RelayStatus::NotConfigured | RelayStatus::NotUsed) => {
                (i18n.t("status-relay-not-configured"), Some(false))
            }
        };
        let (vipps_text, vipps_ok) = match &self.status.vipps {
            None => (i18n.t("status-vipps-unknown"), None),
            Some(VippsStatus::Reachable) => (i18n.t("status-vipps-reachable"), Some(true)),
            Some(VippsStatus::Unreachable { .. }) => {
                (i18n.t("status-vipps-unreachable"), Some(false))
            }
        };
        let indicator = |label: String, ok: Option<bool>| {
            let (mark, color) = match ok {
                Some(true) => ("✓", theme::GO),
                Some(false) => ("✗", theme::STOP),
                None => ("…", theme::INK),
            };
            row![
                text(mark).size(size::BODY).font(theme::BOLD).color(color),
                text(label).size(size::SMALL),
            ]
            .spacing(4)
            .align_y(Center)
        };

        let mut indicators = column![
            indicator(relay_text, relay_ok),
            indicator(vipps_text, vipps_ok)
        ];
        // Pay shows a QR for each payment (relay down, or configured): a third line, so the
        // tabs keep their width.
        if self.one_time_qr_mode() {
            indicators = indicators.push(
                row![
                    text("●").size(size::SMALL).color(theme::AMBER),
                    text(i18n.t("status-one-time-qr"))
                        .size(size::SMALL)
                        .font(theme::BOLD),
                ]
                .spacing(4)
                .align_y(Center),
            );
        }

        let in_sale = matches!(
            self.screen,
            Screen::Pay(_) | Screen::Receipt(_) | Screen::Login(_)
        );
        let current = match self.screen {
            Screen::Sale | Screen::Pay(_) | Screen::Receipt(_) | Screen::Login(_) => Tab::Sale,
            Screen::History => Tab::History,
            Screen::Reports(_) => Tab::Reports,
            Screen::Admin => Tab::Admin,
        };
        let tab = |label: String, tab: Tab| {
            button(text(label).size(size::BODY).font(theme::BOLD))
                .padding([10, 18])
                .style(if current == tab {
                    theme::selected_button
                } else {
                    theme::plain_button
                })
                .on_press_maybe((!in_sale).then_some(Message::Tab(tab)))
        };

        let mut bar = row![
            env,
            text(self.status.till_name.clone())
                .size(size::BODY)
                .font(theme::BOLD),
            // Stacked: the tabs and the cashier need the width.
            indicators.spacing(2),
        ]
        .spacing(16)
        .align_y(Center);
        if self.customer_waiting() {
            bar = bar.push(
                container(
                    text(i18n.t("status-customer-waiting"))
                        .size(size::SMALL)
                        .font(theme::BOLD),
                )
                .padding([6, 10])
                .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }
        bar = bar.push(Space::new().width(Fill));
        if let Some(cashier) = &self.cashier {
            bar = bar.push(
                button(
                    text(i18n.t_args("login-lock-as", &[("name", Arg::Str(&cashier.name))]))
                        .size(size::BODY),
                )
                .padding([10, 14])
                .style(theme::plain_button)
                .on_press_maybe((!in_sale).then_some(Message::Lock)),
            );
        }
        bar = bar
            .push(tab(i18n.t("tab-sale"), Tab::Sale))
            .push(tab(i18n.t("tab-history"), Tab::History))
            .push(tab(i18n.t("tab-reports"), Tab::Reports))
            .push(tab(i18n.t("tab-admin"), Tab::Admin));
        container(bar)
            .padding([8, 16])
            .width(Fill)
            .height(Length::Shrink)
            .style(theme::panel)
            .into()
    }
}
