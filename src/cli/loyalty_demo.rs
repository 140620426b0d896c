//! `kasse pay --demo --loyalty ...`: loyalty turned on in the demo's database with a member
//! price of 10 % off every line, and (for `member`) the simulated customer already a member.

use crate::core::basket::Basket;
use crate::sim::{ControlClient, DEFAULT_CUSTOMER_PHONE};
use crate::store::Store;
use crate::store::loyalty::{LoyaltySettings, NewMember};
use crate::vipps::PhoneNumber;

/// What the simulated customer does about loyalty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoLoyalty {
    /// Already a member: recognised at the scan, pays the member price.
    Member,
    /// Not a member: invited at the scan, approves the login, pays the member price.
    Invite,
    /// Not a member: invited at the scan, declines; pays the normal price.
    Decline,
}

/// The demo programme's name.
pub const PROGRAMME: &str = "Demo club";

/// Turn loyalty on, give every basket line a member price (10 % off, rounded down to whole
/// minor units) and, for [`DemoLoyalty::Member`], enrol the demo customer (under the `sub` the
/// simulator gives them).
pub fn prepare(store: &Store, basket: &Basket, mode: DemoLoyalty, msn: &str) -> anyhow::Result<()> {
    store.set_loyalty_settings(&LoyaltySettings {
        enabled: true,
        programme: PROGRAMME.into(),
        consent_text: "Member prices and offers for members.".into(),
    })?;
    for line in basket.lines() {
        store.save_item(&line.item)?;
        store.set_member_price(&line.item.id, Some(line.item.unit_price * 9 / 10))?;
    }
    if mode == DemoLoyalty::Member {
        let number = PhoneNumber::parse(DEFAULT_CUSTOMER_PHONE)?;
        let sub = crate::sim::sub_of(msn, DEFAULT_CUSTOMER_PHONE);
        if store.member_by_sub(&sub)?.is_none() {
            let e = store.start_enrolment(&number, "DEMO-01", None)?;
            store.enrolment_pending(e.id, "demo", 5, i64::MAX)?;
            store.approve_enrolment(
                e.id,
                &NewMember {
                    sub,
                    msisdn: number,
                    given_name: Some("Kari".into()),
                    family_name: Some("Nordmann".into()),
                    consents: Vec::new(),
                },
            )?;
        }
    }
    Ok(())
}

/// The simulated customer answers the pending login in their app.
pub async fn answer_login(control: &ControlClient, mode: DemoLoyalty) -> anyhow::Result<()> {
    let login = control
        .logins()
        .await?
        .into_iter()
        .rev()
        .find(|l| l.state == "PENDING")
        .ok_or_else(|| anyhow::anyhow!("no login is waiting in the demo customer's app"))?;
    match mode {
        DemoLoyalty::Decline => {
            control.deny_login(&login.auth_req_id).await?;
        }
        _ => {
            control
                .approve_login(&login.auth_req_id, "Kari", None)
                .await?;
        }
    }
    Ok(())
}
