//! The Vipps sales unit a payment lives at: merchant serial number (MSN) and Vipps base URL
//! (environment). A payment can only be read, captured, cancelled or refunded at the sales unit
//! it was created at; read elsewhere it is "not found" although the customer's money may be
//! reserved. Every attempt stores its sales unit, and recovery leaves alone an attempt made at
//! another one than the configured.

use crate::config::Config;
use crate::store::attempts::AttemptRow;

/// A Vipps sales unit as stored on an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesUnit {
    pub msn: String,
    /// Normalised base URL without user name or password (never a secret).
    pub base_url: String,
}

impl SalesUnit {
    /// The sales unit `config` talks to; `None` when its Vipps environment is invalid.
    pub fn of_config(config: &Config) -> Option<SalesUnit> {
        let url = config.vipps.environment.base_url();
        Some(SalesUnit {
            msn: config.vipps.msn.clone(),
            base_url: display_url(&url),
        })
    }

    /// The sales unit `attempt` was created at when it differs from `current`. An attempt
    /// stored before sales units were recorded (no value) is assumed to be at `current`.
    pub fn other_than(attempt: &AttemptRow, current: &SalesUnit) -> Option<SalesUnit> {
        let msn = attempt
            .vipps_msn
            .clone()
            .unwrap_or_else(|| current.msn.clone());
        let base_url = attempt
            .vipps_base_url
            .as_deref()
            .map(normalise)
            .unwrap_or_else(|| current.base_url.clone());
        let stored = SalesUnit { msn, base_url };
        (stored != *current).then_some(stored)
    }
}

impl std::fmt::Display for SalesUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MSN {} at {}", self.msn, self.base_url)
    }
}

/// A URL without credentials, in `url`'s normal form (so `http://h:1` equals `http://h:1/`).
fn display_url(url: &url::Url) -> String {
    let mut url = url.clone();
    // Only fails for URLs that cannot have credentials: nothing to remove then.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

fn normalise(stored: &str) -> String {
    url::Url::parse(stored)
        .map(|u| display_url(&u))
        .unwrap_or_else(|_| stored.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(msn: &str, url: &str) -> SalesUnit {
        SalesUnit {
            msn: msn.into(),
            base_url: url.into(),
        }
    }

    fn attempt(msn: Option<&str>, url: Option<&str>) -> AttemptRow {
        AttemptRow {
            id: 1,
            sale_id: 1,
            reference: "t-1".into(),
            amount: 100,
            currency: "NOK".into(),
            customer_kind: crate::core::payment::CustomerKind::Phone,
            checkin_id: None,
            phone_masked: None,
            status: crate::core::payment::AttemptStatus::Requested,
            decision: None,
            vipps_state: None,
            authorized_amount: 0,
            captured_amount: 0,
            cancelled_amount: 0,
            refunded_amount: 0,
            money_released: false,
            resolved: false,
            needs_admin: false,
            last_error: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            vipps_msn: msn.map(str::to_string),
            vipps_base_url: url.map(str::to_string),
        }
    }

    #[test]
    fn unknown_sales_unit_is_assumed_current() {
        let current = unit("123456", "http://127.0.0.1:1/");
        assert_eq!(SalesUnit::other_than(&attempt(None, None), &current), None);
        assert_eq!(
            SalesUnit::other_than(
                &attempt(Some("123456"), Some("http://127.0.0.1:1")),
                &current
            ),
            None
        );
    }

    #[test]
    fn another_msn_or_environment_is_reported() {
        let current = unit("123456", "http://127.0.0.1:1/");
        assert_eq!(
            SalesUnit::other_than(&attempt(Some("654321"), None), &current),
            Some(unit("654321", "http://127.0.0.1:1/"))
        );
        assert_eq!(
            SalesUnit::other_than(
                &attempt(Some("123456"), Some("https://apitest.vipps.no/")),
                &current
            ),
            Some(unit("123456", "https://apitest.vipps.no/"))
        );
    }

    #[test]
    fn credentials_in_a_url_are_never_kept() {
        let url = url::Url::parse("http://user:secret@127.0.0.1:9/").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:9/");
    }
}
