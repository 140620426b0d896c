//! The simulated logins' records (the Login API's part of the simulator state): each
//! merchant-initiated login with its state, and the access tokens userinfo accepts. The
//! handlers that move them live in `login`.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The login ping webhook event (§10.6).
pub const LOGIN_PING_EVENT: &str = "login.merchant-initiated.ping.v1";

/// Where a login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoginState {
    Pending,
    Approved,
    Denied,
    Expired,
    Exchanged,
}

/// What the customer granted when approving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub given_name: String,
    pub family_name: String,
    /// Ids of the accepted consents.
    pub accepted: Vec<String>,
}

/// One merchant-initiated login.
#[derive(Debug, Clone)]
pub struct Login {
    pub auth_req_id: String,
    pub msn: String,
    pub msisdn: String,
    pub scope: Vec<String>,
    pub binding_message: Option<String>,
    pub state: LoginState,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    /// Current minimum time between polls (grows by a slow_down).
    pub interval: Duration,
    pub last_poll: Option<SystemTime>,
    pub grant: Option<Grant>,
    /// A ping went out for it: the poll that answers a ping is never too soon (BRIEF §10.0
    /// step 6: on the ping, call the token endpoint once).
    pub pinged: bool,
}

impl Login {
    /// Expire a login whose time is up (pending or approved but never exchanged).
    pub(super) fn settle(&mut self, now: SystemTime) {
        if matches!(self.state, LoginState::Pending | LoginState::Approved)
            && now >= self.expires_at
        {
            self.state = LoginState::Expired;
        }
    }
}

/// An access token from the token endpoint, for userinfo.
#[derive(Debug, Clone)]
pub struct LoginAccess {
    pub msn: String,
    pub msisdn: String,
    pub scope: Vec<String>,
    pub grant: Grant,
    pub expires_at: SystemTime,
    /// Whether this login gave the consents for the first time.
    pub first_consent: bool,
}

/// The Login API's part of the simulator state.
#[derive(Debug, Default)]
pub struct LoginStore {
    pub logins: std::collections::HashMap<String, Login>,
    pub access: std::collections::HashMap<String, LoginAccess>,
    /// (MSN, msisdn) of users who have consented at least once.
    pub consented: std::collections::HashSet<(String, String)>,
}
