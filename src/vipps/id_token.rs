//! Validating a login's `id_token` (BRIEF §10.5): a JWS signed RS256 with a key published at
//! the discovery document's `jwks_uri`, chosen by the token's `kid`. Checked: the signature,
//! `iss` (the discovery issuer), `aud` (our client id), `exp` (not passed, with a minute's
//! leeway for clock skew), and by the caller that `sub` is userinfo's. Nothing here logs a
//! token or a claim.

use std::fmt;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

/// Clock skew allowed on `exp`, in seconds.
pub const EXP_LEEWAY_S: i64 = 60;

/// Why an id_token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the token answer has no id_token")]
    Missing,
    #[error("the discovery document names no jwks_uri")]
    NoJwksUri,
    #[error("the id_token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the id_token is signed with {0:?}, not RS256")]
    Algorithm(String),
    #[error("no RS256 key at jwks_uri has the id_token's kid")]
    UnknownKey,
    #[error("the id_token's signature does not verify")]
    BadSignature,
    #[error("the id_token's issuer is not the discovery document's")]
    Issuer,
    #[error("the id_token is for another client")]
    Audience,
    #[error("the id_token has expired")]
    Expired,
    #[error("the id_token's sub is not userinfo's")]
    Subject,
}

/// One key of a JWKS (RFC 7517); only RSA keys are usable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub key_use: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
}

/// The document at `jwks_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The RSA signing key with this `kid` (or the only RSA key when the token names none).
    fn key(&self, kid: Option<&str>) -> Option<rsa::PublicKey> {
        let usable = |k: &&Jwk| {
            k.kty == "RSA"
                && k.key_use.as_deref().is_none_or(|u| u == "sig")
                && k.alg.as_deref().is_none_or(|a| a == "RS256")
        };
        let jwk = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(usable)
                .find(|k| k.kid.as_deref() == Some(kid))?,
            None => {
                let mut rsa = self.keys.iter().filter(usable);
                let only = rsa.next()?;
                if rsa.next().is_some() {
                    return None;
                }
                only
            }
        };
        let n = b64(jwk.n.as_deref()?).ok()?;
        let e = b64(jwk.e.as_deref()?).ok()?;
        rsa::PublicKey::new(
            rsa::BoxedUint::from_be_slice_vartime(&n),
            rsa::BoxedUint::from_be_slice_vartime(&e),
        )
        .ok()
    }

    /// Whether a key with this `kid` is listed (else the key set may have rotated).
    pub fn has(&self, kid: Option<&str>) -> bool {
        self.key(kid).is_some()
    }
}

/// The claims Kasse checks. `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub sub: String,
    pub iss: String,
    pub exp: i64,
    pub msn: Option<String>,
}

impl fmt::Debug for IdClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdClaims")
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

fn b64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The `kid` a token's header names (to pick or refresh the key set), without checking anything.
pub fn kid_of(token: &str) -> Result<Option<String>, IdTokenError> {
    let header = token
        .split('.')
        .next()
        .ok_or(IdTokenError::Malformed("no header"))?;
    let header: Header = serde_json::from_slice(
        &b64(header).map_err(|_| IdTokenError::Malformed("header is not base64url"))?,
    )
    .map_err(|_| IdTokenError::Malformed("header is not JSON"))?;
    Ok(header.kid)
}

/// Check `token`'s signature against `jwks` and its `iss`, `aud` and `exp` (at `now_s`, unix
/// seconds). The caller compares the returned `sub` with userinfo's.
pub fn validate(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    client_id: &str,
    now_s: i64,
) -> Result<IdClaims, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed("not three parts"));
    };
    let header: Header = serde_json::from_slice(
        &b64(header_b64).map_err(|_| IdTokenError::Malformed("header is not base64url"))?,
    )
    .map_err(|_| IdTokenError::Malformed("header is not JSON"))?;
    // Never `none`, never a symmetric algorithm keyed with a public key.
    if header.alg != "RS256" {
        return Err(IdTokenError::Algorithm(header.alg));
    }
    let key = jwks
        .key(header.kid.as_deref())
        .ok_or(IdTokenError::UnknownKey)?;
    let signature =
        b64(signature_b64).map_err(|_| IdTokenError::Malformed("signature is not base64url"))?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    key.pkcs1v15_verify::<sha2::Sha256>(signing_input.as_bytes(), &signature)
        .map_err(|_| IdTokenError::BadSignature)?;

    let claims: Value = serde_json::from_slice(
        &b64(claims_b64).map_err(|_| IdTokenError::Malformed("claims are not base64url"))?,
    )
    .map_err(|_| IdTokenError::Malformed("claims are not JSON"))?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let iss = text("iss").ok_or(IdTokenError::Issuer)?;
    if iss != issuer {
        return Err(IdTokenError::Issuer);
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !for_us {
        return Err(IdTokenError::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::Expired)?;
    if exp + EXP_LEEWAY_S <= now_s {
        return Err(IdTokenError::Expired);
    }
    let sub = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::Subject)?;
    Ok(IdClaims {
        sub,
        iss,
        exp,
        msn: text("msn"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    fn enc(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn key() -> rsa::PrivateKey {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        rsa::PrivateKey::from_pkcs1_pem(include_str!("../sim/keys/login-signing.pem")).unwrap()
    }

    fn jwks(key: &rsa::PrivateKey, kid: &str) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "RSA".into(),
                kid: Some(kid.into()),
                alg: Some("RS256".into()),
                key_use: Some("sig".into()),
                n: Some(enc(&key.n_bytes())),
                e: Some(enc(&key.e_bytes())),
            }],
        }
    }

    fn signed(key: &rsa::PrivateKey, kid: &str, claims: Value) -> String {
        let header = enc(serde_json::json!({"alg": "RS256", "kid": kid})
            .to_string()
            .as_bytes());
        let input = format!("{header}.{}", enc(claims.to_string().as_bytes()));
        let sig = key.pkcs1v15_sign::<sha2::Sha256>(input.as_bytes()).unwrap();
        format!("{input}.{}", enc(&sig))
    }

    #[test]
    fn issuer_audience_expiry_and_key_are_each_checked() {
        let key = key();
        let keys = jwks(&key, "k1");
        let claims = |aud: Value, exp: i64| serde_json::json!({"iss": "https://x/", "aud": aud, "sub": "s-1", "exp": exp, "msn": "1"});
        let now = 1_000_000;
        let ok = signed(&key, "k1", claims("client".into(), now + 10));
        let c = validate(&ok, &keys, "https://x/", "client", now).unwrap();
        assert_eq!((c.sub.as_str(), c.msn.as_deref()), ("s-1", Some("1")));
        assert!(!format!("{c:?}").contains("s-1"), "Debug hides the sub");
        // An audience list naming us is fine; expiry has a minute's leeway.
        let list = signed(
            &key,
            "k1",
            claims(serde_json::json!(["a", "client"]), now - 30),
        );
        assert!(validate(&list, &keys, "https://x/", "client", now).is_ok());
        assert_eq!(
            validate(&ok, &keys, "https://y/", "client", now),
            Err(IdTokenError::Issuer)
        );
        assert_eq!(
            validate(&ok, &keys, "https://x/", "other", now),
            Err(IdTokenError::Audience)
        );
        let old = signed(&key, "k1", claims("client".into(), now - EXP_LEEWAY_S));
        assert_eq!(
            validate(&old, &keys, "https://x/", "client", now),
            Err(IdTokenError::Expired)
        );
        let other_kid = signed(&key, "k2", claims("client".into(), now + 10));
        assert_eq!(
            validate(&other_kid, &keys, "https://x/", "client", now),
            Err(IdTokenError::UnknownKey)
        );
        assert_eq!(kid_of(&other_kid).unwrap().as_deref(), Some("k2"));
        // One byte of the claims changed: the signature no longer fits.
        let mut parts: Vec<String> = ok.split('.').map(str::to_string).collect();
        parts[1] = enc(claims("client".into(), now + 99).to_string().as_bytes());
        assert_eq!(
            validate(&parts.join("."), &keys, "https://x/", "client", now),
            Err(IdTokenError::BadSignature)
        );
    }

    #[test]
    fn unsigned_and_malformed_tokens_are_refused_before_any_key_is_used() {
        let jwks = Jwks::default();
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let none = format!(
            "{}.{}.",
            enc(r#"{"alg":"none"}"#),
            enc(r#"{"sub":"s","iss":"i","aud":"c","exp":9999999999}"#)
        );
        assert_eq!(
            validate(&none, &jwks, "i", "c", 0),
            Err(IdTokenError::Algorithm("none".into()))
        );
        let hs = format!("{}.{}.sig", enc(r#"{"alg":"HS256"}"#), enc("{}"));
        assert_eq!(
            validate(&hs, &jwks, "i", "c", 0),
            Err(IdTokenError::Algorithm("HS256".into()))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.x.y"] {
            assert!(matches!(
                validate(bad, &jwks, "i", "c", 0),
                Err(IdTokenError::Malformed(_))
            ));
        }
        let rs = format!("{}.{}.sig", enc(r#"{"alg":"RS256","kid":"k"}"#), enc("{}"));
        assert_eq!(
            validate(&rs, &jwks, "i", "c", 0),
            Err(IdTokenError::UnknownKey)
        );
    }
}
