//! Webhook request authentication exactly as Vipps MobilePay does it (BRIEF §6.3).
//!
//! The signature covers the raw body bytes (through their SHA-256), the path and
//! query of the registered URL, the `x-ms-date` header and the URL authority
//! (`host[:port]`, port only when non-default). The HMAC key is the UTF-8 bytes
//! of the registration secret exactly as Vipps returned it (never base64-decoded).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The fixed part of the `Authorization` header before the signature.
pub const AUTHORIZATION_PREFIX: &str =
    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";

/// The three headers a signed delivery carries (besides `Host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-ms-date`, an HTTP-date in GMT.
    pub date: String,
    /// `x-ms-content-sha256`, base64 of SHA-256 of the raw body.
    pub content_sha256: String,
    /// `Authorization`, `HMAC-SHA256 SignedHeaders=...&Signature=...`.
    pub authorization: String,
}

/// Why a delivery failed authentication. Each names what a sender got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("Authorization header is not an HMAC-SHA256 Vipps signature")]
    MalformedAuthorization,
    #[error("x-ms-content-sha256 does not match the body")]
    ContentHashMismatch,
    #[error("signature does not match")]
    SignatureMismatch,
}

/// Base64 of SHA-256 over the exact bytes.
pub fn content_hash(body: &[u8]) -> String {
    BASE64.encode(Sha256::digest(body))
}

/// `"POST\n" + path_and_query + "\n" + date + ";" + host + ";" + content_hash`.
pub fn string_to_sign(path_and_query: &str, date: &str, host: &str, content_hash: &str) -> String {
    format!("POST\n{path_and_query}\n{date};{host};{content_hash}")
}

/// Base64 HMAC-SHA256 of `message` keyed by the secret's UTF-8 bytes.
pub fn signature(secret: &str, message: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The authority Vipps signs for a URL: lower-case host, plus `:port` only when
/// the port is not the scheme's default (like JS `URL.host`).
pub fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Path plus `?query` of a URL, as Vipps signs it.
pub fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_string(),
    }
}

/// Sign a delivery of `body` to `url` at `date` (an HTTP-date) with `secret`.
pub fn sign(secret: &str, url: &url::Url, date: &str, body: &[u8]) -> SignedHeaders {
    let hash = content_hash(body);
    let message = string_to_sign(&path_and_query(url), date, &authority(url), &hash);
    SignedHeaders {
        date: date.to_string(),
        authorization: format!("{AUTHORIZATION_PREFIX}{}", signature(secret, &message)),
        content_sha256: hash,
    }
}

/// Verify a received delivery.
///
/// `path_and_query` and `host` must be those of the URL Vipps called (behind a
/// reverse proxy: rebuilt from the public URL, not taken from the `Host` header).
/// `date`, `content_sha256` and `authorization` are the raw header values
/// (`None` when absent). Comparisons are constant-time.
pub fn verify(
    secret: &str,
    path_and_query: &str,
    host: &str,
    date: Option<&str>,
    content_sha256: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let date = date.ok_or(VerifyError::MissingHeader("x-ms-date"))?;
    let claimed_hash = content_sha256.ok_or(VerifyError::MissingHeader("x-ms-content-sha256"))?;
    let authorization = authorization.ok_or(VerifyError::MissingHeader("authorization"))?;
    let claimed_signature = authorization
        .strip_prefix(AUTHORIZATION_PREFIX)
        .ok_or(VerifyError::MalformedAuthorization)?;

    let actual_hash = content_hash(body);
    if !bool::from(actual_hash.as_bytes().ct_eq(claimed_hash.as_bytes())) {
        return Err(VerifyError::ContentHashMismatch);
    }
    let message = string_to_sign(path_and_query, date, host, &actual_hash);
    let expected = signature(secret, &message);
    if bool::from(expected.as_bytes().ct_eq(claimed_signature.as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}

/// [`verify`] for a received request as a whole: takes `x-ms-date`,
/// `x-ms-content-sha256` and `Authorization` from `headers` (names are
/// case-insensitive) and the path, query and authority from the URL the
/// webhook was registered with (not from the `Host` header, which a proxy may
/// rewrite).
pub fn verify_headers(
    secret: &str,
    registered_url: &url::Url,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verify(
        secret,
        &path_and_query(registered_url),
        &authority(registered_url),
        get("x-ms-date"),
        get("x-ms-content-sha256"),
        get("authorization"),
        body,
    )
}

/// The current time as an HTTP-date (`Thu, 30 Mar 2023 08:38:32 GMT`).
pub fn http_date(at: std::time::SystemTime) -> String {
    httpdate::fmt_http_date(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        secret: String,
        url: String,
        path_and_query: String,
        host: String,
        x_ms_date: String,
        body: String,
        x_ms_content_sha256: String,
        string_to_sign: String,
        signature: String,
        authorization: String,
    }

    /// The official example from the Webhooks API docs (request authentication), value for
    /// value: HMAC signing is checked whether or not the reference files are present.
    fn official() -> Vector {
        let s = |v: &str| v.to_string();
        Vector {
            name: s("official"),
            secret: s(
                "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==",
            ),
            url: s("https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63"),
            path_and_query: s("/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63"),
            host: s("webhook.site"),
            x_ms_date: s("Thu, 30 Mar 2023 08:38:32 GMT"),
            body: s(
                r#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#,
            ),
            x_ms_content_sha256: s("lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="),
            string_to_sign: s(
                "POST\n/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63\nThu, 30 Mar 2023 08:38:32 GMT;webhook.site;lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=",
            ),
            signature: s("agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="),
            authorization: s(
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=",
            ),
        }
    }

    /// The official vector, then the derived ones from the reference file when it is present
    /// (skipped with a printed line outside CI when it is not).
    fn vectors() -> Vec<Vector> {
        #[derive(serde::Deserialize)]
        struct File {
            vectors: Vec<Vector>,
        }
        let mut all = vec![official()];
        let Some(path) = crate::reference::for_test(
            "vipps-openapi/hmac-test-vectors.json",
            "derived HMAC vectors",
        ) else {
            return all;
        };
        let text = std::fs::read_to_string(&path).expect("HMAC vectors readable");
        let file: File = serde_json::from_str(&text).expect("vector file parses");
        assert!(
            file.vectors.len() >= 3,
            "expected the official and derived vectors"
        );
        let from_file = file.vectors.iter().find(|v| v.name == "official");
        assert_eq!(
            from_file.map(|v| (&v.signature, &v.authorization)),
            Some((&all[0].signature, &all[0].authorization)),
            "the file's official vector matches the constants"
        );
        all.extend(file.vectors.into_iter().filter(|v| v.name != "official"));
        all
    }

    #[test]
    fn every_official_vector_signs_and_verifies() {
        for v in vectors() {
            let url = url::Url::parse(&v.url).unwrap();
            assert_eq!(path_and_query(&url), v.path_and_query, "{}", v.name);
            assert_eq!(authority(&url), v.host, "{}", v.name);
            assert_eq!(
                content_hash(v.body.as_bytes()),
                v.x_ms_content_sha256,
                "{}",
                v.name
            );
            let s = string_to_sign(
                &v.path_and_query,
                &v.x_ms_date,
                &v.host,
                &v.x_ms_content_sha256,
            );
            assert_eq!(s, v.string_to_sign, "{}", v.name);
            assert_eq!(signature(&v.secret, &s), v.signature, "{}", v.name);
            let signed = sign(&v.secret, &url, &v.x_ms_date, v.body.as_bytes());
            assert_eq!(signed.authorization, v.authorization, "{}", v.name);
            assert_eq!(
                verify(
                    &v.secret,
                    &v.path_and_query,
                    &v.host,
                    Some(&v.x_ms_date),
                    Some(&v.x_ms_content_sha256),
                    Some(&v.authorization),
                    v.body.as_bytes(),
                ),
                Ok(()),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn tampering_is_detected() {
        use VerifyError as E;
        for v in vectors() {
            let mut tampered = v.body.clone().into_bytes();
            tampered[1] ^= 1;
            let (s, p, h) = (
                v.secret.as_str(),
                v.path_and_query.as_str(),
                v.host.as_str(),
            );
            let (b, a) = (v.body.as_bytes(), Some(v.authorization.as_str()));
            // (secret, path and query, host, body, authorization, expected)
            let cases = [
                (s, p, h, &tampered[..], a, E::ContentHashMismatch),
                ("wrong", p, h, b, a, E::SignatureMismatch),
                (s, "/other", h, b, a, E::SignatureMismatch),
                (s, p, "evil.example", b, a, E::SignatureMismatch),
                (s, p, h, b, None, E::MissingHeader("authorization")),
                (
                    s,
                    p,
                    h,
                    b,
                    Some(v.signature.as_str()),
                    E::MalformedAuthorization,
                ),
            ];
            for (secret, path, host, body, auth, expected) in cases {
                let date = Some(v.x_ms_date.as_str());
                let hash = Some(v.x_ms_content_sha256.as_str());
                assert_eq!(
                    verify(secret, path, host, date, hash, auth, body),
                    Err(expected),
                    "{}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn verify_headers_reads_a_header_map() {
        for v in vectors() {
            let url = url::Url::parse(&v.url).unwrap();
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("X-MS-Date", v.x_ms_date.parse().unwrap());
            headers.insert(
                "x-ms-content-sha256",
                v.x_ms_content_sha256.parse().unwrap(),
            );
            headers.insert("Authorization", v.authorization.parse().unwrap());
            assert_eq!(
                verify_headers(&v.secret, &url, &headers, v.body.as_bytes()),
                Ok(()),
                "{}",
                v.name
            );
            headers.remove("x-ms-date");
            assert_eq!(
                verify_headers(&v.secret, &url, &headers, v.body.as_bytes()),
                Err(VerifyError::MissingHeader("x-ms-date"))
            );
        }
    }

    #[test]
    fn base64_decoding_the_secret_would_be_wrong() {
        let v = &vectors()[0];
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&v.secret)
            .unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&decoded).unwrap();
        mac.update(v.string_to_sign.as_bytes());
        let wrong = BASE64.encode(mac.finalize().into_bytes());
        assert_ne!(wrong, v.signature);
    }
}
