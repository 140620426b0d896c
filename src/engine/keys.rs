//! Payment references and idempotency keys, derived from stored ids only.
//!
//! A reference is `<till_id>-<install_id>-<attempt_id>`: the till id routes relay events, the
//! install id (random, stored once per database) keeps references unique across installs that
//! reuse a till id, and the attempt id is the stored row id, so a new attempt gets a new
//! reference and nothing depends on the clock. Keys append the operation and a stored counter:
//! `<reference>-create`, `<reference>-capture-1`, `<reference>-cancel-2`, `<reference>-refund-3`.
//! A retry of one call reuses its key; a call rejected with a 4xx gets the next counter.

/// Longest reference we send (Vipps' saved spec: 8..=50).
pub const MAX_REFERENCE_LEN: usize = 50;
/// Longest idempotency key Vipps accepts.
pub const MAX_KEY_LEN: usize = 50;
/// Longest install id (the store mints 12 hex characters).
pub const INSTALL_ID_MAX: usize = 12;

pub use crate::core::payment::OpKind;

/// A reference or key that would break Vipps' rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("reference {0:?} is not 8..=50 characters of a-z, 0-9 and '-'")]
    Reference(String),
    #[error("idempotency key {0:?} is longer than 50 characters")]
    Key(String),
    #[error("install id {0:?} is not 1 to {INSTALL_ID_MAX} characters of a-z and 0-9")]
    InstallId(String),
}

/// `^[a-z0-9-]{8,50}$`
pub fn is_valid_reference(r: &str) -> bool {
    (8..=MAX_REFERENCE_LEN).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The reference of attempt `attempt_id` on this till.
pub fn reference(till_id: &str, install_id: &str, attempt_id: i64) -> Result<String, KeyError> {
    if !(1..=INSTALL_ID_MAX).contains(&install_id.len())
        || !install_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(KeyError::InstallId(install_id.to_string()));
    }
    let r = format!("{till_id}-{install_id}-{attempt_id}");
    if is_valid_reference(&r) && crate::config::is_valid_till_id(till_id) && attempt_id > 0 {
        Ok(r)
    } else {
        Err(KeyError::Reference(r))
    }
}

/// The idempotency key of an operation: `<reference>-create` or `<reference>-<op>-<n>`.
pub fn idempotency_key(reference: &str, op: OpKind, n: u32) -> Result<String, KeyError> {
    let k = match op {
        OpKind::Create => format!("{reference}-create"),
        _ => format!("{reference}-{}-{n}", op.as_str()),
    };
    if k.len() <= MAX_KEY_LEN {
        Ok(k)
    } else {
        Err(KeyError::Key(k))
    }
}

/// The till id a reference belongs to (the part before the first '-').
pub fn till_of(reference: &str) -> Option<&str> {
    reference.split_once('-').map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_reference_and_keys_fit() {
        // The longest till id, a 12-character install id, 99 999 999 attempts and up to
        // 99 retries of one operation still fit Vipps' 50 characters.
        let till = "abcdefghijklmnop";
        let r = reference(till, "0123456789ab", 99_999_999).unwrap();
        assert!(is_valid_reference(&r));
        assert_eq!(till_of(&r), Some(till));
        for op in [
            OpKind::Create,
            OpKind::Capture,
            OpKind::Cancel,
            OpKind::Refund,
        ] {
            let k = idempotency_key(&r, op, 99).unwrap();
            assert!(k.len() <= MAX_KEY_LEN, "{k}");
        }
        assert_eq!(
            idempotency_key("till1-aaaaaaaaaa-7", OpKind::Capture, 1).unwrap(),
            "till1-aaaaaaaaaa-7-capture-1"
        );
        assert_eq!(
            idempotency_key("till1-aaaaaaaaaa-7", OpKind::Create, 1).unwrap(),
            "till1-aaaaaaaaaa-7-create"
        );
    }

    #[test]
    fn bad_inputs_are_rejected() {
        assert!(reference("Till", "aaaaaaaaaa", 1).is_err());
        assert!(reference("till-1", "aaaaaaaaaa", 1).is_err());
        assert!(reference("till1", "", 1).is_err());
        assert!(reference("till1", "0123456789abc", 1).is_err());
        assert!(reference("till1", "ABC", 1).is_err());
        assert!(reference("till1", "aaaaaaaaaa", 0).is_err());
        let long = format!("{}-aaaaaaaaaa-{}", "a".repeat(16), "9".repeat(22));
        assert!(idempotency_key(&long, OpKind::Refund, 1).is_err());
    }
}
