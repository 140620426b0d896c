//! Cashiers: who works the till, and what each may do.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a cashier may do. A manager may do everything a cashier may, and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sells, takes payment, returns within the day with a receipt, takes X reports.
    Cashier,
    /// Also: returns beyond the day or without a receipt, price changes, opening the drawer
    /// without a sale, pay-ins and pay-outs, the float and the count, Z reports, admin.
    Manager,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Cashier, Role::Manager];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// True when this role may do `what`.
    pub fn may(self, what: Privilege) -> bool {
        match what {
            Privilege::Sell | Privilege::ReturnWithReceipt | Privilege::XReport => true,
            Privilege::ReturnWithoutReceipt
            | Privilege::ReturnAfterTheDay
            | Privilege::OpenDrawer
            | Privilege::CashMovement
            | Privilege::ZReport
            | Privilege::TrainingMode
            | Privilege::Admin => self == Role::Manager,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something only some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    Sell,
    ReturnWithReceipt,
    ReturnWithoutReceipt,
    ReturnAfterTheDay,
    /// Open the drawer without a sale.
    OpenDrawer,
    /// The opening float, pay-ins, pay-outs and the cash count.
    CashMovement,
    XReport,
    ZReport,
    /// Switch the till into training mode and out of it.
    TrainingMode,
    /// Catalogue, prices, cashiers, settings.
    Admin,
}

/// A cashier as the till knows them (never the PIN or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cashier {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

/// Wrong PINs in a row before a cashier is locked out.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lock-out lasts.
pub const LOCKOUT_MS: i64 = 5 * 60 * 1000;

/// A cashier's name: 1 to 60 characters after trimming, no control characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 60 {
        return Err(format!("a cashier's name has 1 to 60 characters (got {n})"));
    }
    if name.chars().any(char::is_control) {
        return Err("a cashier's name cannot contain control characters".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_may_more_than_cashiers() {
        assert!(Role::Cashier.may(Privilege::Sell));
        assert!(Role::Cashier.may(Privilege::XReport));
        assert!(!Role::Cashier.may(Privilege::ZReport));
        assert!(!Role::Cashier.may(Privilege::OpenDrawer));
        assert!(!Role::Cashier.may(Privilege::ReturnWithoutReceipt));
        assert!(Role::Manager.may(Privilege::ZReport));
        assert!(Role::Manager.may(Privilege::TrainingMode));
        assert!(!Role::Cashier.may(Privilege::TrainingMode));
        assert!(Role::Manager.may(Privilege::Admin));
        assert_eq!(Role::parse("manager"), Some(Role::Manager));
        assert_eq!(Role::parse("boss"), None);
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  Kari "), Ok("Kari".into()));
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(61)).is_err());
        assert!(check_name("a\nb").is_err());
    }
}
