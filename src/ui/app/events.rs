//! The engine's events as the window shows them: the pay screen's progress, the receipt, the
//! history's refunds and returns, the relay and Vipps indicators.

use super::*;

impl App {
    pub(super) fn engine_event(&mut self, event: EngineEvent) -> Task<Message> {
        tracing::debug!(kind = event.kind(), "engine event");
        match event {
            EngineEvent::Ready {
                qr_content,
                till_name,
                environment,
            } => {
                // The QR's content is printed on the counter anyway: not a secret.
                tracing::info!(%qr_content, %environment, "till ready: QR received");
                self.till_qr_content = Some(qr_content.clone());
                self.set_qr(qr_content);
                self.status.till_name = till_name;
                self.status.environment = environment;
                self.status.ready = true;
            }
            EngineEvent::OneTimeQr {
                sale_id,
                reference,
                qr_content,
                expires_at_ms,
                relay_down,
            } => {
                // Shown instead of the till's own QR for this payment; the next
                // AwaitingCheckIn (next sale, Retry) brings the till's QR back.
                tracing::info!(sale_id, relay_down, "pay screen: showing a one-time QR");
                self.now_ms = self.clock.now_ms();
                if let Screen::Pay(pay) = &mut self.screen {
                    let one_time = pay::OneTime {
                        reference: reference.clone(),
                        expires_at_ms,
                        relay_down,
                    };
                    pay.show_one_time(one_time, self.now_ms);
                }
                if let Some(phone) = &mut self.phone {
                    phone.payment_qr_shown(reference.clone(), qr_content.clone());
                }
                self.set_qr(qr_content);
            }
            EngineEvent::RelayStatus { status } => {
                // Only a lost link counts (as in the engine): no relay at all is not "down".
                let down = matches!(status, RelayStatus::Reconnecting { .. });
                let now = self.clock.now_ms();
                self.status.relay_down_since_ms = match (down, self.status.relay_down_since_ms) {
                    (false, _) => None,
                    (true, since) => Some(since.unwrap_or(now)),
                };
                self.status.relay = Some(status);
            }
            EngineEvent::VippsStatus { status } => self.status.vipps = Some(status),
            EngineEvent::CustomerWaiting { expires_at_ms } => {
                self.now_ms = self.clock.now_ms();
                self.customer_waiting_until = Some(expires_at_ms);
            }
            EngineEvent::WaitingScanDiscarded { .. } => {
                self.customer_waiting_until = None;
                self.loyalty = None;
                // The demo's customer walked away: their phone starts over.
                if let Some(phone) = &mut self.phone {
                    phone.reset();
                }
            }
            EngineEvent::AwaitingCheckIn {
                sale_id,
                amount,
                qr_content,
            } => {
                tracing::info!(
                    sale_id,
                    amount,
                    "pay screen: waiting for the customer to scan"
                );
                if let Some(content) = qr_content {
                    self.till_qr_content = Some(content.clone());
                    self.set_qr(content);
                    if let Screen::Pay(pay) = &mut self.screen {
                        pay.static_qr();
                    }
                }
                match &mut self.screen {
                    Screen::Pay(pay) if pay.sale_id() == sale_id || pay.sale_id() == 0 => {
                        // The same sale (the engine confirming Pay, or a retry):
                        // keep what the cashier opened meanwhile (the keypad).
                        if pay.outcome().is_some() {
                            pay.restart(amount);
                        }
                        pay.set_sale(sale_id, amount);
                    }
                    _ => {
                        self.screen =
                            Screen::Pay(Pay::new(sale_id, amount, calling_code(self.country)));
                    }
                }
            }
            EngineEvent::CheckedIn { .. } => {
                self.customer_waiting_until = None;
                if let Screen::Pay(pay) = &mut self.screen {
                    pay.advance(Step::CheckedIn, None);
                }
            }
            EngineEvent::PaymentRequested {
                reference, amount, ..
            } => {
                self.customer_waiting_until = None;
                // A request that is not the one-time QR's (a phone number, a personal QR after
                // it expired): the till's own QR again.
                let stale_one_time = matches!(&self.screen,
                    Screen::Pay(pay) if pay.one_time().is_some_and(|o| o.reference != reference));
                if stale_one_time {
                    if let Screen::Pay(pay) = &mut self.screen {
                        pay.static_qr();
                    }
                    if let Some(content) = self.till_qr_content.clone() {
                        self.set_qr(content);
                    }
                }
                if let Screen::Pay(pay) = &mut self.screen {
                    if pay.outcome().is_some() {
                        pay.restart(amount);
                    }
                    pay.advance(Step::RequestSent, Some(reference.clone()));
                }
                if let Some(phone) = &mut self.phone {
                    phone.payment_requested(reference, amount);
                }
            }
            EngineEvent::Authorized { reference, .. } => {
                if let Screen::Pay(pay) = &mut self.screen {
                    pay.advance(Step::Approved, Some(reference));
                }
            }
            EngineEvent::Captured { reference, .. } => {
                if let Screen::Pay(pay) = &mut self.screen {
                    pay.advance(Step::Captured, Some(reference));
                }
            }
            EngineEvent::Completed {
                sale_id,
                reference,
                receipt,
            } => {
                self.loyalty = None;
                let (parts, change) = match &self.screen {
                    Screen::Pay(pay) => (pay.parts().to_vec(), pay.change()),
                    _ => (Vec::new(), None),
                };
                self.screen = Screen::Receipt(
                    Receipt::new(sale_id, reference, receipt).with_payment(parts, change, 0),
                );
                if let Some(phone) = &mut self.phone {
                    phone.reset();
                }
                return self.print_receipt(sale_id);
            }
            EngineEvent::Paid {
                sale_id,
                receipt,
                change,
                rounding,
            } => {
                self.loyalty = None;
                let parts = match &self.screen {
                    Screen::Pay(pay) => pay.parts().to_vec(),
                    _ => Vec::new(),
                };
                self.screen =
                    Screen::Receipt(Receipt::new(sale_id, String::new(), receipt).with_payment(
                        parts,
                        Some(change),
                        rounding,
                    ));
                return self.print_receipt(sale_id);
            }
            EngineEvent::TenderTaken {
                tender,
                amount,
                change,
                remaining,
                ..
            } => {
                if let Screen::Pay(pay) = &mut self.screen {
                    pay.tender_taken(tender, amount, change, remaining);
                }
            }
            EngineEvent::GivenBack { parts, .. } => {
                let given: Vec<String> = parts
                    .iter()
                    .map(|(kind, amount)| {
                        format!(
                            "{} {}",
                            self.i18n.t(&pay::tender_key(*kind)),
                            crate::core::money::format_minor(
                                *amount,
                                self.config.till.currency,
                                self.config.till.language
                            )
                        )
                    })
                    .collect();
                self.notice = Some(self.i18n.t_args(
                    "pay-given-back",
                    &[("parts", crate::ui::i18n::Arg::Str(&given.join(", ")))],
                ));
            }
            EngineEvent::Declined { .. } => self.finish_payment(Outcome::Declined),
            EngineEvent::Expired { .. } => self.finish_payment(Outcome::Expired),
            EngineEvent::TokenExpired { customer, .. } => {
                self.finish_payment(Outcome::TokenExpired { customer })
            }
            EngineEvent::PushNotAllowed { .. } => self.finish_payment(Outcome::PushNotAllowed),
            EngineEvent::Cancelled { money_released, .. } => {
                // A cancelled sale forgets its customer (the engine did too).
                self.loyalty = None;
                self.finish_payment(Outcome::Cancelled { money_released })
            }
            EngineEvent::Problem {
                message_id,
                detail,
                retrying,
            } => match &mut self.screen {
                Screen::Pay(pay) => {
                    let stops = !retrying && pay.step() < Step::Captured && is_final(message_id);
                    if stops {
                        pay.finish(Outcome::Failed { message_id, detail });
                    } else {
                        pay.problem(pay::Problem {
                            message_id,
                            detail,
                            retrying,
                        });
                    }
                }
                _ => {
                    let mut message = self.i18n.t(&pay::engine_message_key(message_id));
                    if let Some(detail) = detail {
                        message.push_str(&format!(" ({detail})"));
                    }
                    self.notice = Some(message);
                }
            },
            EngineEvent::Idle => {}
            EngineEvent::RefundDone {
                sale_id, amount, ..
            } => {
                self.history.refund_result(sale_id, Ok(amount));
                self.send(Command::ListSales {
                    limit: HISTORY_LIMIT,
                });
            }
            EngineEvent::RefundFailed {
                sale_id,
                message_id,
                detail,
                ..
            } => {
                self.history
                    .refund_result(sale_id, Err((message_id, detail)));
                self.send(Command::ListSales {
                    limit: HISTORY_LIMIT,
                });
            }
            EngineEvent::ReturnDone {
                sale_id, amount, ..
            } => {
                self.history.refund_result(sale_id, Ok(amount));
                self.send(Command::ListSales {
                    limit: HISTORY_LIMIT,
                });
            }
            EngineEvent::ReturnFailed {
                sale_id,
                message_id,
                detail,
            } => {
                self.history
                    .refund_result(sale_id, Err((message_id, detail)));
            }
            EngineEvent::History { sales } => self.history.set_sales(sales),
            EngineEvent::MemberRecognised {
                first_name,
                masked_number,
                points,
            } => {
                self.loyalty_on = true;
                self.loyalty = Some(sale::Loyalty::Member {
                    first_name,
                    masked_number,
                    points: Some(points),
                });
            }
            EngineEvent::MemberEnrolled {
                first_name,
                masked_number,
                ..
            } => {
                self.loyalty = Some(sale::Loyalty::Member {
                    first_name,
                    masked_number,
                    points: None,
                });
            }
            EngineEvent::NotAMember {
                masked_number,
                programme,
            } => {
                self.loyalty_on = true;
                self.loyalty = Some(sale::Loyalty::NotMember {
                    masked_number,
                    programme,
                });
            }
            EngineEvent::InvitePending {
                binding_message, ..
            } => {
                self.loyalty = Some(sale::Loyalty::Inviting {
                    code: binding_message,
                });
                // Demo mode: the login request reaches the simulated phone.
                if self.phone.is_some()
                    && let Some(demo) = &self.demo
                {
                    let control = demo.phone.control().clone();
                    return Task::perform(async move { control.logins().await }, |logins| {
                        match logins
                            .ok()
                            .and_then(|l| l.into_iter().rev().find(|l| l.state == "PENDING"))
                        {
                            Some(l) => {
                                Message::Phone(phone::Message::LoginArrived(phone::LoginRequest {
                                    auth_req_id: l.auth_req_id,
                                    code: l.binding_message.unwrap_or_default(),
                                    heading: l.consent_heading,
                                    text: l.consent_text,
                                }))
                            }
                            None => Message::Tick,
                        }
                    });
                }
            }
            EngineEvent::InviteEnded { reason, .. } => {
                self.loyalty = Some(sale::Loyalty::NotJoined { reason });
            }
            EngineEvent::MemberPrices { .. } => {}
            EngineEvent::Recovered {
                settled,
                unresolved,
                ..
            } => {
                if unresolved > 0 {
                    self.notice = Some(self.i18n.t_args(
                        "status-recovered-unresolved",
                        &[
                            ("settled", Arg::Int(i64::from(settled))),
                            ("unresolved", Arg::Int(i64::from(unresolved))),
                        ],
                    ));
                }
            }
        }
        Task::none()
    }

    pub(super) fn set_qr(&mut self, content: String) {
        match qr_code::Data::new(content.as_bytes()) {
            Ok(data) => {
                self.qr = Some(data);
                self.qr_content = Some(content);
            }
            Err(error) => {
                tracing::error!(%error, "the till's QR content cannot be drawn");
                self.qr = None;
                self.qr_content = None;
            }
        }
    }

    pub(super) fn finish_payment(&mut self, outcome: Outcome) {
        if let Screen::Pay(pay) = &mut self.screen {
            pay.finish(outcome);
        }
        if let Some(phone) = &mut self.phone {
            phone.reset();
        }
    }
}

/// Whether a problem ends the payment attempt (otherwise it is shown while
/// the engine carries on).
fn is_final(id: crate::engine::MessageId) -> bool {
    use crate::engine::MessageId as M;
    matches!(
        id,
        M::PaymentRejected
            | M::InvalidAmount
            | M::InvalidPhone
            | M::ConfigInvalid
            | M::StorageFailed
            | M::Busy
    )
}
