//! The simulated customer phone of demo mode (clearly labelled): Scan (the till's QR, or
//! the QR shown for one payment), Show my QR (the personal QR the cashier scans), Approve,
//! Decline. It drives the in-process simulator through the root, exactly as a customer's app
//! would drive Vipps.

use iced::widget::{Space, column, container, qr_code, text};
use iced::{Center, Element, Fill, Length};

use crate::cli::demo::DemoError;
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, strong};

/// What the phone shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    /// Home screen: the customer can scan the till's QR.
    Home,
    /// Scanned: the app waits for the shop's payment request.
    Waiting,
    /// A payment request is in the app.
    Request { reference: String, amount: i64 },
    /// The customer answered; waiting for the shop to finish.
    Answered { approved: bool },
    /// A shop asks the customer to log in and join its programme.
    Login(LoginRequest),
}

/// A login request as the app shows it (loyalty: "Join the customer club").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub auth_req_id: String,
    /// The code the till shows too.
    pub code: String,
    pub heading: String,
    pub text: String,
}

/// An operation the phone asks the root to perform on the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Scan,
    /// Scan the QR the till shows for one payment (its content).
    ScanPaymentQr(String),
    /// Show the customer's personal QR; in demo mode the root "scans" it into the till.
    ShowMyQr,
    Approve(String),
    Decline(String),
    /// Approve or deny a login request (by `auth_req_id`).
    ApproveLogin(String),
    DenyLogin(String),
    /// Demo control: stop (`false`) or start (`true`) the demo's relay.
    SetRelay(bool),
}

pub struct Phone {
    screen: Screen,
    busy: bool,
    error: Option<String>,
    /// The till shows a QR for one payment (its reference, its content): Scan reads that one.
    payment_qr: Option<(String, String)>,
    /// A request the app shows once the customer has scanned the payment's QR.
    pending: Option<(String, i64)>,
    /// The personal QR on the phone's screen (the cashier scans it).
    my_qr: Option<qr_code::Data>,
    /// The demo's relay can be stopped and started from here.
    relay_switch: bool,
    /// The demo's relay was stopped from here.
    relay_stopped: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    Scan,
    ShowMyQr,
    Approve,
    Decline,
    /// Demo control: stop or start the relay.
    ToggleRelay,
    /// A login request reached the app (the root read it from the simulator).
    LoginArrived(LoginRequest),
    /// The root finished an operation.
    Done(Op, Result<(), DemoError>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Perform(Op),
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("screen", &self.screen)
            .field("busy", &self.busy)
            .field("payment_qr", &self.payment_qr.is_some())
            .field("my_qr", &self.my_qr.is_some())
            .finish()
    }
}

impl Default for Phone {
    fn default() -> Self {
        Phone::new()
    }
}

impl Phone {
    pub fn new() -> Phone {
        Phone {
            screen: Screen::Home,
            busy: false,
            error: None,
            payment_qr: None,
            pending: None,
            my_qr: None,
            relay_switch: false,
            relay_stopped: false,
        }
    }

    /// Offers the demo control that stops and starts the relay.
    pub fn with_relay_switch(mut self) -> Phone {
        self.relay_switch = true;
        self
    }

    /// The till shows a QR for one payment (engine: `OneTimeQr`): the customer scans that.
    pub fn payment_qr_shown(&mut self, reference: String, content: String) {
        self.payment_qr = Some((reference, content));
        self.pending = None;
        self.screen = Screen::Home;
    }

    /// The shop sent a payment request (engine: `PaymentRequested`). A payment-specific QR's
    /// request reaches the app only once the customer has scanned it.
    pub fn payment_requested(&mut self, reference: String, amount: i64) {
        self.my_qr = None;
        self.error = None;
        match &self.payment_qr {
            Some((shown, _)) if *shown == reference => self.pending = Some((reference, amount)),
            _ => {
                // Pushed to the customer (not the QR on the till's screen).
                self.payment_qr = None;
                self.screen = Screen::Request { reference, amount };
            }
        }
    }

    /// The personal QR to show (the root fetched it from the simulator).
    pub fn show_my_qr(&mut self, content: &str) {
        self.my_qr = qr_code::Data::new(content).ok();
    }

    /// The sale ended (completed, cancelled, failed): back to the home screen.
    pub fn reset(&mut self) {
        self.screen = Screen::Home;
        self.busy = false;
        self.payment_qr = None;
        self.pending = None;
        self.my_qr = None;
    }

    pub fn update(&mut self, message: Message) -> Action {
        if self.busy && !matches!(message, Message::Done(..)) {
            return Action::None;
        }
        let op = match (&message, &self.screen) {
            (Message::Scan, _) => match &self.payment_qr {
                Some((_, content)) => Op::ScanPaymentQr(content.clone()),
                None => Op::Scan,
            },
            (Message::ShowMyQr, _) => Op::ShowMyQr,
            (Message::ToggleRelay, _) if self.relay_switch => Op::SetRelay(self.relay_stopped),
            (Message::LoginArrived(request), _) => {
                self.screen = Screen::Login(request.clone());
                return Action::None;
            }
            (Message::Approve, Screen::Login(r)) => Op::ApproveLogin(r.auth_req_id.clone()),
            (Message::Decline, Screen::Login(r)) => Op::DenyLogin(r.auth_req_id.clone()),
            (Message::Approve, Screen::Request { reference, .. }) => Op::Approve(reference.clone()),
            (Message::Decline, Screen::Request { reference, .. }) => Op::Decline(reference.clone()),
            (Message::Done(op, result), _) => {
                self.busy = false;
                match result {
                    Ok(()) => {
                        self.error = None;
                        match op {
                            Op::Scan => {
                                if !matches!(self.screen, Screen::Request { .. }) {
                                    self.screen = Screen::Waiting;
                                }
                            }
                            Op::ScanPaymentQr(_) => {
                                self.payment_qr = None;
                                self.screen = match self.pending.take() {
                                    Some((reference, amount)) => {
                                        Screen::Request { reference, amount }
                                    }
                                    None => Screen::Waiting,
                                };
                            }
                            Op::ShowMyQr => {}
                            Op::SetRelay(running) => self.relay_stopped = !running,
                            Op::Approve(_) => self.screen = Screen::Answered { approved: true },
                            Op::Decline(_) => self.screen = Screen::Answered { approved: false },
                            Op::ApproveLogin(_) | Op::DenyLogin(_) => self.screen = Screen::Home,
                        }
                    }
                    Err(error) => self.error = Some(error.to_string()),
                }
                return Action::None;
            }
            _ => return Action::None,
        };
        self.busy = true;
        self.error = None;
        Action::Perform(op)
    }

    /// Approve and Decline at the bottom of the phone (a payment request or a login request).
    fn answer_buttons<'a>(
        &self,
        ctx: Ctx<'a>,
        screen: iced::widget::Column<'a, Message>,
    ) -> iced::widget::Column<'a, Message> {
        screen
            .push(Space::new().height(Fill))
            .push(
                big_button(ctx.t("phone-approve"), theme::go_button)
                    .width(Fill)
                    .on_press_maybe((!self.busy).then_some(Message::Approve)),
            )
            .push(
                big_button(ctx.t("phone-decline"), theme::stop_button)
                    .width(Fill)
                    .on_press_maybe((!self.busy).then_some(Message::Decline)),
            )
    }

    pub fn view<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let mut screen = column![
            text(ctx.t("phone-label"))
                .size(size::SMALL)
                .font(theme::BOLD)
                .color(theme::DEMO_PURPLE),
            strong(ctx.t("phone-app-name")),
        ]
        .spacing(10)
        .align_x(Center);

        match &self.screen {
            Screen::Home => {
                screen = screen.push(text(ctx.t("phone-home-hint")).size(size::SMALL));
                if let Some(data) = &self.my_qr {
                    screen = screen.push(
                        container(qr_code(data).total_size(150.0).style(|_| qr_code::Style {
                            cell: iced::Color::BLACK,
                            background: iced::Color::WHITE,
                        }))
                        .padding(8)
                        .style(theme::qr_frame),
                    );
                    screen = screen.push(text(ctx.t("phone-my-qr-hint")).size(size::SMALL));
                }
                screen = screen.push(Space::new().height(Fill));
                screen = screen.push(
                    big_button(ctx.t("phone-scan"), theme::primary_button)
                        .width(Fill)
                        .on_press_maybe((!self.busy).then_some(Message::Scan)),
                );
                screen = screen.push(
                    big_button(ctx.t("phone-show-my-qr"), theme::plain_button)
                        .width(Fill)
                        .on_press_maybe((!self.busy).then_some(Message::ShowMyQr)),
                );
            }
            Screen::Waiting => {
                screen = screen.push(text(ctx.t("phone-waiting")).size(size::BODY));
                screen = screen.push(Space::new().height(Fill));
                screen = screen.push(
                    big_button(ctx.t("phone-scan-again"), theme::plain_button)
                        .width(Fill)
                        .on_press_maybe((!self.busy).then_some(Message::Scan)),
                );
            }
            Screen::Request { amount, .. } => {
                screen = screen.push(text(ctx.t("phone-request")).size(size::BODY));
                screen = screen.push(
                    text(ctx.money(*amount))
                        .size(size::HEADING + 4.0)
                        .font(theme::BOLD),
                );
                screen = self.answer_buttons(ctx, screen);
            }
            Screen::Login(request) => {
                screen = screen.push(strong(request.heading.as_str()));
                screen = screen.push(text(request.text.as_str()).size(size::SMALL));
                screen = screen.push(text(ctx.t("phone-login-code")).size(size::SMALL));
                screen = screen.push(
                    text(request.code.as_str())
                        .size(size::HEADING + 4.0)
                        .font(theme::BOLD),
                );
                screen = self.answer_buttons(ctx, screen);
            }
            Screen::Answered { approved } => {
                let id = if *approved {
                    "phone-approved"
                } else {
                    "phone-declined"
                };
                screen = screen.push(text(ctx.t(id)).size(size::BODY).font(theme::BOLD));
                screen = screen.push(Space::new().height(Fill));
            }
        }
        if self.relay_switch {
            let label = if self.relay_stopped {
                "phone-start-relay"
            } else {
                "phone-stop-relay"
            };
            screen = screen.push(
                iced::widget::button(text(ctx.t(label)).size(size::SMALL))
                    .style(theme::plain_button)
                    .width(Fill)
                    .on_press_maybe((!self.busy).then_some(Message::ToggleRelay)),
            );
        }
        if let Some(error) = &self.error {
            screen = screen.push(
                text(ctx.t_args("phone-error", &[("error", Arg::Str(error))]))
                    .size(size::SMALL)
                    .color(theme::STOP),
            );
        }
        container(screen.height(Fill))
            .padding([24, 16])
            .width(Length::Fixed(260.0))
            .height(Fill)
            .style(theme::phone)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approve_needs_a_request_and_one_tap_at_a_time() {
        let mut phone = Phone::new();
        assert_eq!(phone.update(Message::Approve), Action::None);
        assert_eq!(phone.update(Message::Scan), Action::Perform(Op::Scan));
        assert_eq!(phone.update(Message::Scan), Action::None, "busy");
        phone.update(Message::Done(Op::Scan, Ok(())));
        phone.payment_requested("t1-abc".into(), 7000);
        assert_eq!(
            phone.update(Message::Approve),
            Action::Perform(Op::Approve("t1-abc".into()))
        );
        phone.update(Message::Done(
            Op::Approve("t1-abc".into()),
            Err(DemoError::NotDelivered),
        ));
        assert_eq!(
            phone.update(Message::Decline),
            Action::Perform(Op::Decline("t1-abc".into()))
        );
    }

    #[test]
    fn a_login_request_is_approved_or_denied_by_its_id() {
        let mut phone = Phone::new();
        let request = LoginRequest {
            auth_req_id: "req-1".into(),
            code: "ABC-123".into(),
            heading: "Join".into(),
            text: "Share your name".into(),
        };
        assert_eq!(
            phone.update(Message::LoginArrived(request.clone())),
            Action::None
        );
        assert_eq!(
            phone.update(Message::Approve),
            Action::Perform(Op::ApproveLogin("req-1".into()))
        );
        phone.update(Message::Done(Op::ApproveLogin("req-1".into()), Ok(())));
        assert_eq!(phone.update(Message::Approve), Action::None, "back home");
        phone.update(Message::LoginArrived(request));
        assert_eq!(
            phone.update(Message::Decline),
            Action::Perform(Op::DenyLogin("req-1".into()))
        );
    }

    #[test]
    fn a_payment_qr_request_shows_only_after_the_scan() {
        let mut phone = Phone::new();
        phone.payment_qr_shown("t1-otq".into(), "https://landing.example/x".into());
        phone.payment_requested("t1-otq".into(), 7000);
        assert_eq!(
            phone.update(Message::Approve),
            Action::None,
            "not scanned yet"
        );
        let scan = Op::ScanPaymentQr("https://landing.example/x".into());
        assert_eq!(phone.update(Message::Scan), Action::Perform(scan.clone()));
        phone.update(Message::Done(scan, Ok(())));
        assert_eq!(
            phone.update(Message::Approve),
            Action::Perform(Op::Approve("t1-otq".into()))
        );
    }
}
