//! Access-token cache: one token shared by every clone of the client,
//! refreshed shortly before it expires, by one caller at a time.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::VippsError;
use super::mask::Secret;
use super::models::AccessTokenResponse;

/// Refresh at most this long before expiry…
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// …and at most this fraction (1/10) of the token's lifetime, so short-lived
/// tokens are still used for most of their life.
const REFRESH_MARGIN_DIVISOR: u32 = 10;

/// A bearer token and when to stop using it. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    token: Secret,
    /// When Vipps says it expires (the earlier of `expires_on` and fetch time + `expires_in`).
    pub expires_at: SystemTime,
    /// When this client fetches a new one.
    pub refresh_at: SystemTime,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at)
            .field("refresh_at", &self.refresh_at)
            .finish()
    }
}

impl AccessToken {
    /// Build from the token endpoint's answer, fetched at `fetched_at` (local clock).
    ///
    /// The expiry is the earlier of `expires_on` (server clock) and
    /// `fetched_at + expires_in` (local clock), so a skewed local clock cannot
    /// make the client use a token past its end.
    pub fn from_response(
        response: &AccessTokenResponse,
        fetched_at: SystemTime,
    ) -> Result<Self, VippsError> {
        if !response.token_type.eq_ignore_ascii_case("bearer") {
            return Err(VippsError::Decode {
                status: 200,
                message: format!("token_type is {:?}, expected Bearer", response.token_type),
            });
        }
        if response.access_token.is_empty() {
            return Err(VippsError::Decode {
                status: 200,
                message: "access_token is empty".into(),
            });
        }
        let by_lifetime = u64::try_from(response.expires_in)
            .ok()
            .filter(|s| *s > 0)
            .map(|s| fetched_at + Duration::from_secs(s));
        let by_server = response
            .expires_on
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let expires_at = match (by_lifetime, by_server) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => {
                return Err(VippsError::Decode {
                    status: 200,
                    message: "token answer has neither a positive expires_in nor expires_on".into(),
                });
            }
        };
        let lifetime = expires_at
            .duration_since(fetched_at)
            .unwrap_or(Duration::ZERO);
        let margin = (lifetime / REFRESH_MARGIN_DIVISOR).min(MAX_REFRESH_MARGIN);
        Ok(Self {
            token: response.access_token.clone(),
            expires_at,
            refresh_at: expires_at - margin,
        })
    }

    /// True while the token may still be used without refreshing.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        now < self.refresh_at
    }

    /// `Bearer <token>`, for the `Authorization` header.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }

    /// The raw token (e.g. for a caller that must hand it on). Never log it.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }
}

/// Shared cache: a tokio mutex held across the fetch, so concurrent callers
/// wait for the one refresh in flight instead of each fetching a token.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenCache {
    slot: Arc<tokio::sync::Mutex<Option<AccessToken>>>,
}

impl TokenCache {
    /// Return the cached token if fresh, otherwise run `fetch` (once, under the lock).
    pub(crate) async fn get_or_refresh<F, Fut>(
        &self,
        now: impl Fn() -> SystemTime,
        fetch: F,
    ) -> Result<AccessToken, VippsError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<AccessToken, VippsError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref()
            && token.is_fresh(now())
        {
            return Ok(token.clone());
        }
        let token = fetch().await?;
        *slot = Some(token.clone());
        Ok(token)
    }

    /// Forget `used` (after a 401), unless another caller already replaced it.
    pub(crate) async fn invalidate(&self, used: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref() == Some(used) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(expires_in: i64, expires_on: Option<i64>) -> AccessTokenResponse {
        serde_json::from_value(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": expires_in.to_string(),
            "expires_on": expires_on.map(|e| e.to_string()),
            "access_token": "eyJ-secret"
        }))
        .unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn one_hour_test_token_refreshes_five_minutes_early() {
        let t =
            AccessToken::from_response(&response(3600, Some(10_003_600)), at(10_000_000)).unwrap();
        assert_eq!(t.expires_at, at(10_003_600));
        assert_eq!(t.refresh_at, at(10_003_300));
        assert!(t.is_fresh(at(10_003_299)));
        assert!(!t.is_fresh(at(10_003_300)));
        assert!(!format!("{t:?}").contains("eyJ-secret"));
        assert_eq!(t.bearer(), "Bearer eyJ-secret");
    }

    #[test]
    fn short_token_refreshes_at_nine_tenths() {
        let t = AccessToken::from_response(&response(60, None), at(100)).unwrap();
        assert_eq!(t.expires_at, at(160));
        assert_eq!(t.refresh_at, at(154));
    }

    #[test]
    fn earlier_of_server_and_local_expiry_wins() {
        // Local clock runs 10 minutes behind the server: expires_on comes sooner.
        let t = AccessToken::from_response(&response(3600, Some(4200)), at(1200)).unwrap();
        assert_eq!(t.expires_at, at(4200));
        // Local clock ahead: fetch time + lifetime comes sooner.
        let t = AccessToken::from_response(&response(3600, Some(9000)), at(1200)).unwrap();
        assert_eq!(t.expires_at, at(4800));
    }

    #[test]
    fn unusable_answers_are_decode_errors() {
        assert!(AccessToken::from_response(&response(0, None), at(1)).is_err());
        let mut r = response(3600, None);
        r.token_type = "MAC".into();
        assert!(AccessToken::from_response(&r, at(1)).is_err());
        let mut r = response(3600, None);
        r.access_token = Secret::new("");
        assert!(AccessToken::from_response(&r, at(1)).is_err());
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache = TokenCache::default();
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_refresh(
                        || at(100),
                        || async move {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            AccessToken::from_response(&response(3600, None), at(100))
                        },
                    )
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_token_is_refetched_and_invalidate_is_targeted() {
        let cache = TokenCache::default();
        let fetch = |n: u64| {
            move || async move { AccessToken::from_response(&response(3600, None), at(n)) }
        };
        let first = cache.get_or_refresh(|| at(0), fetch(0)).await.unwrap();
        let again = cache
            .get_or_refresh(|| at(3299), fetch(3299))
            .await
            .unwrap();
        assert_eq!(first, again);
        let second = cache
            .get_or_refresh(|| at(3300), fetch(3300))
            .await
            .unwrap();
        assert_ne!(first, second);
        // Invalidating the old token leaves the new one.
        cache.invalidate(&first).await;
        let still = cache
            .get_or_refresh(|| at(3301), fetch(9999))
            .await
            .unwrap();
        assert_eq!(still, second);
        cache.invalidate(&second).await;
        let third = cache
            .get_or_refresh(|| at(3302), fetch(3302))
            .await
            .unwrap();
        assert_ne!(third, second);
    }
}
