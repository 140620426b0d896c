//! `kasse invite --phone NUMBER`: invite a customer to the loyalty programme without a window
//! (a Vipps login pushed to their app). Prints the engine's events as JSON lines; exit 0 when
//! the customer became a member, 3 when they declined, 4 when the invitation expired.

use std::path::PathBuf;
use std::time::Duration;

use super::one_shot::OneShot;
use super::{exit, load_config};
use crate::core::loyalty::EnrolmentFailure;
use crate::engine::{Command, EngineEvent, MessageId};

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
    let engine = OneShot::open(config)?;
    engine.send(Command::InviteMember {
        phone_number: Some(args.phone.clone()),
    })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let code = engine
        .finish(Some(deadline), |event| match event {
            EngineEvent::MemberEnrolled { .. } => Some(exit::COMPLETED),
            EngineEvent::InviteEnded { reason, .. } => Some(match reason {
                EnrolmentFailure::Declined => exit::DECLINED,
                EnrolmentFailure::Expired => exit::EXPIRED,
                _ => exit::FAILED,
            }),
            EngineEvent::Problem {
                message_id:
                    MessageId::LoyaltyOff | MessageId::InvalidPhone | MessageId::ConfigInvalid,
                ..
            } => Some(exit::USAGE),
            EngineEvent::Problem {
                message_id: MessageId::InviteOpen | MessageId::StorageFailed,
                ..
            } => Some(exit::FAILED),
            _ => None,
        })
        .await;
    Ok(code)
}
