//! Admin → Connection: Vipps, the till, the relay, the shop and the receipt printer, with
//! Test connection, Print test page and Save.

use super::*;
use iced::widget::{column, row};

pub(super) fn connection<'a>(
    ctx: Ctx<'a>,
    form: &'a Unlocked,
    demo: bool,
    config_path: Option<&'a str>,
) -> Element<'a, Message> {
    let s = &form.settings;
    let env_choice = |label: String, environment: Environment| {
        button(text(label).size(size::BODY).font(theme::BOLD))
            .padding([10, 18])
            .style(if s.environment == environment {
                theme::selected_button
            } else {
                theme::plain_button
            })
            .on_press(Message::Environment(environment))
    };
    let environments = row(Environment::ALL.iter().map(|env| {
        let label = match env {
            Environment::Test => ctx.t("admin-env-test"),
            Environment::Production => ctx.t("admin-env-production"),
            Environment::Simulator => ctx.t("admin-env-simulator"),
        };
        env_choice(label, *env).into()
    }))
    .spacing(8);

    let mut vipps = column![heading(ctx.t("admin-vipps")), environments,].spacing(10);
    if s.environment == Environment::Production {
        vipps = vipps.push(
            container(
                text(ctx.t("admin-env-production-warning"))
                    .size(size::BODY)
                    .font(theme::BOLD),
            )
            .padding(10)
            .width(Fill)
            .style(theme::banner(theme::STOP, iced::Color::WHITE)),
        );
    }
    if s.environment == Environment::Simulator {
        vipps = vipps.push(labelled(
            ctx.t("admin-simulator-url"),
            field_input(&s.simulator_url, Field::SimulatorUrl, false),
        ));
    }
    vipps = vipps
        .push(labelled(
            ctx.t("admin-client-id"),
            field_input(&s.client_id, Field::ClientId, false),
        ))
        .push(labelled(
            ctx.t("admin-client-secret"),
            field_input(&s.client_secret, Field::ClientSecret, true),
        ))
        .push(labelled(
            ctx.t("admin-subscription-key"),
            field_input(&s.subscription_key, Field::SubscriptionKey, true),
        ))
        .push(labelled(
            ctx.t("admin-msn"),
            field_input(&s.msn, Field::Msn, false),
        ));

    let till = column![
        heading(ctx.t("admin-till")),
        labelled(
            ctx.t("admin-till-id"),
            field_input(&s.till_id, Field::TillId, false)
        ),
        labelled(
            ctx.t("admin-till-name"),
            field_input(&s.till_name, Field::TillName, false)
        ),
        labelled(
            ctx.t("admin-merchant-qr-id"),
            field_input(&s.merchant_qr_id, Field::MerchantQrId, false)
        ),
        labelled(
            ctx.t("admin-mobilepay-beacon-id"),
            field_input(&s.mobilepay_beacon_id, Field::MobilePayBeaconId, false)
        ),
        text(ctx.t("admin-mobilepay-beacon-hint")).size(size::SMALL),
        iced::widget::checkbox(s.one_time_qr_always)
            .label(ctx.t("admin-one-time-qr-always"))
            .on_toggle(Message::OneTimeQrAlways)
            .size(28)
            .text_size(size::BODY),
        labelled(
            ctx.t("admin-currency"),
            field_input(&s.currency, Field::Currency, false)
        ),
        heading(ctx.t("admin-relay")),
        labelled(
            ctx.t("admin-relay-url"),
            field_input(&s.relay_url, Field::RelayUrl, false)
        ),
        labelled(
            ctx.t("admin-relay-token"),
            field_input(&s.relay_token, Field::RelayToken, true)
        ),
        heading(ctx.t("admin-receipts")),
        labelled(
            ctx.t("admin-shop-name"),
            field_input(&s.shop_name, Field::ShopName, false)
        ),
        labelled(
            ctx.t("admin-shop-org-nr"),
            field_input(&s.shop_org_nr, Field::ShopOrgNr, false)
        ),
        labelled(
            ctx.t("admin-shop-address"),
            field_input(&s.shop_address, Field::ShopAddress, false)
        ),
        labelled(
            ctx.t("admin-shop-logo"),
            field_input(&s.shop_logo, Field::ShopLogo, false)
        ),
        labelled(
            ctx.t("admin-printer"),
            field_input(&s.printer, Field::Printer, false)
        ),
    ]
    .spacing(10);

    let mut actions = column![
        big_button(ctx.t("admin-test-connection"), theme::primary_button)
            .width(Fill)
            .on_press_maybe((!form.testing).then_some(Message::TestConnection)),
        big_button(ctx.t("admin-print-test-page"), theme::plain_button)
            .width(Fill)
            .on_press(Message::PrintTestPage),
        big_button(ctx.t("customer-display-toggle"), theme::plain_button)
            .width(Fill)
            .on_press(Message::CustomerDisplay),
        iced::widget::checkbox(s.customer_display_open)
            .label(ctx.t("admin-customer-display-open"))
            .on_toggle(Message::CustomerDisplayOpen)
            .size(28)
            .text_size(size::BODY),
        iced::widget::checkbox(s.customer_display_fullscreen)
            .label(ctx.t("admin-customer-display-fullscreen"))
            .on_toggle(Message::CustomerDisplayFullscreen)
            .size(28)
            .text_size(size::BODY),
        labelled(
            ctx.t("admin-customer-display-at"),
            field_input(&s.customer_display_at, Field::CustomerDisplayAt, false)
        ),
    ]
    .spacing(10);
    if let Some(result) = &form.test_print {
        actions = actions.push(match result {
            Ok(()) => strong(ctx.t("admin-test-page-printed")).color(theme::GO),
            Err(why) => strong(why.clone()).color(theme::STOP),
        });
    }
    if form.testing {
        actions = actions.push(body(ctx.t("admin-testing")));
    }
    if let Some(checks) = &form.checks {
        for (check, result) in checks {
            let (mark, color, detail) = match result {
                Ok(()) => ("✓", theme::GO, String::new()),
                Err(error) => ("✗", theme::STOP, error.to_string()),
            };
            actions = actions.push(
                row![
                    text(mark)
                        .size(size::HEADING)
                        .font(theme::BOLD)
                        .color(color)
                        .width(Length::Fixed(32.0)),
                    column![
                        strong(ctx.t(check_label(*check))),
                        text(detail).size(size::SMALL).color(color)
                    ],
                ]
                .spacing(8)
                .align_y(Center),
            );
        }
    }
    actions = actions.push(Space::new().height(Length::Fixed(12.0)));
    actions = actions.push(
        big_button(ctx.t("admin-save"), theme::go_button)
            .width(Fill)
            .on_press(Message::Save),
    );
    if demo {
        actions = actions.push(
            text(ctx.t_args(
                "admin-demo-save-hint",
                &[("path", Arg::Str(config_path.unwrap_or("kasse.toml")))],
            ))
            .size(size::SMALL),
        );
    }
    match &form.save_result {
        Some(Ok(())) => {
            actions = actions.push(
                text(ctx.t(if demo {
                    "admin-saved-demo"
                } else {
                    "admin-saved"
                }))
                .size(size::BODY)
                .font(theme::BOLD)
                .color(theme::GO),
            );
        }
        Some(Err(error)) => {
            let error = match error {
                SaveError::NoConfigPath => ctx.t("admin-no-config-path"),
                SaveError::Config(error) => error.to_string(),
            };
            actions = actions.push(
                text(ctx.t_args("admin-save-failed", &[("error", Arg::Str(&error))]))
                    .size(size::BODY)
                    .font(theme::BOLD)
                    .color(theme::STOP),
            );
        }
        None => {}
    }

    scrollable(
        row![
            vipps.width(FillPortion(1)),
            till.width(FillPortion(1)),
            actions.width(FillPortion(1)),
        ]
        .spacing(24),
    )
    .height(Fill)
    .into()
}
