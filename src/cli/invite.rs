//! `kasse invite --phone NUMBER`: invite a customer to the loyalty programme without a window
//! (a Vipps login pushed to their app). Prints the engine's events as JSON lines; exit 0 when
//! the customer became a member, 3 when they declined, 4 when the invitation expired.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::{exit, load_config, open_store, print_line, wait_closed};
use crate::core::loyalty::EnrolmentFailure;
use crate::engine::{Command, Engine, EngineEvent, EngineOptions, MessageId};

/// `kasse invite`
#[derive(Debug, Clone, clap::Args)]
pub struct InviteArgs {
    /// The customer's number (country code first; `+47 987 65 432` is fine).
    #[arg(long)]
    pub phone: String,
    /// Give up waiting after this many seconds (the invitation itself ends at Vipps' expiry).
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
}

/// `kasse invite`: one invitation, followed to its end.
pub async fn run(config_path: Option<PathBuf>, args: InviteArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let options = EngineOptions {
        without_relay: true,
        ..EngineOptions::default()
    };
    let (handle, mut events) = Engine::start_with(config, store, options);
    handle.send(Command::InviteMember {
        phone_number: Some(args.phone.clone()),
    })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let code = loop {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => break exit::FAILED,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) => break exit::FAILED,
            Ok(Ok(e)) => e,
        };
        print_line(&serde_json::to_value(&event).unwrap_or_default());
        match event {
            EngineEvent::MemberEnrolled { .. } => break exit::COMPLETED,
            EngineEvent::InviteEnded { reason, .. } => {
                break match reason {
                    EnrolmentFailure::Declined => exit::DECLINED,
                    EnrolmentFailure::Expired => exit::EXPIRED,
                    _ => exit::FAILED,
                };
            }
            EngineEvent::Problem {
                message_id:
                    MessageId::LoyaltyOff | MessageId::InvalidPhone | MessageId::ConfigInvalid,
                ..
            } => break exit::USAGE,
            EngineEvent::Problem {
                message_id: MessageId::InviteOpen | MessageId::StorageFailed,
                ..
            } => break exit::FAILED,
            _ => {}
        }
    };
    let _ = handle.send(Command::Shutdown);
    wait_closed(&handle).await;
    Ok(code)
}
