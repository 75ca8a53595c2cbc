//! A bearer-token server for [`crate::Registry`]'s token mode
//! ([`crate::RegistryOptions::token`]).
//!
//! CNCF Distribution's `auth.token` sends clients to a token server (the
//! `realm`) and accepts the JWTs it signs: ES256, the signing key's
//! certificate in the header's `x5c`, trusted because that certificate is the
//! registry's `rootcertbundle`. [`TokenServer`] is such a server on a
//! loopback port (one request per connection, the crate's small HTTP server):
//!
//! - `GET /token?service=…&scope=…` with HTTP basic credentials equal to the
//!   `(user, password)` it was started with answers
//!   `{"token", "access_token", "expires_in": 300, "issued_at"}`, a JWT granting
//!   exactly what the `scope` parameters asked for (`repository:NAME:pull,push`,
//!   `registry:catalog:*`; several parameters and space-separated scopes);
//! - wrong or missing credentials answer 401, anything else 404.
//!
//! The key is a throwaway P-256 key made at start; its self-signed certificate
//! ([`TokenServer::cert_pem`]) is what the registry trusts. Every token issued
//! is recorded ([`TokenServer::issued`]), so a test can look for it where it
//! must not be.

use std::net::TcpListener as StdTcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SigningKey as _};
use sha2::{Digest as _, Sha256};

use crate::http::{Request, Response, Server};

/// The `service` the registry is configured with and tokens are issued for
/// (the `aud` claim).
pub const SERVICE: &str = "oc-mirror-tests-registry";

/// The `issuer` the registry trusts (the `iss` claim).
pub const ISSUER: &str = "oc-mirror-tests-token-server";

/// How long an issued token is valid, in seconds (`expires_in`).
pub const EXPIRES_IN: u64 = 300;

/// One token the server issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The JWT as sent (in both `token` and `access_token`).
    pub token: String,
    /// The scopes asked for, as sent (decoded), in order.
    pub scopes: Vec<String>,
}

/// What the handler shares with the test.
struct State {
    user: String,
    password: String,
    key: KeyPair,
    /// Standard base64 of the certificate's DER (the header's `x5c[0]`).
    x5c: String,
    issued: Mutex<Vec<IssuedToken>>,
    refused: AtomicU64,
    counter: AtomicU64,
}

/// A running token server; stops when dropped.
pub struct TokenServer {
    server: Server,
    cert_pem: String,
    state: Arc<State>,
}

impl std::fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer")
            .field("url", &self.server.url())
            .field("user", &self.state.user)
            .finish_non_exhaustive()
    }
}

impl TokenServer {
    /// Starts a token server accepting `user` and `password` on a free
    /// `127.0.0.1` port, with a fresh signing key. Must be called within a
    /// tokio runtime.
    pub fn start(user: &str, password: &str) -> anyhow::Result<TokenServer> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .context("generating the token signing key")?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "oc-mirror-tests token signer");
        params.distinguished_name = name;
        let cert = params
            .self_signed(&key)
            .context("self-signing the token certificate")?;
        let state = Arc::new(State {
            user: user.to_string(),
            password: password.to_string(),
            key,
            x5c: STANDARD.encode(cert.der().as_ref()),
            issued: Mutex::new(Vec::new()),
            refused: AtomicU64::new(0),
            counter: AtomicU64::new(0),
        });
        let listener = StdTcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .context("handing the token server's socket to tokio")?;
        let handler_state = state.clone();
        let server = Server::start(listener, move |request| handle(&handler_state, request))?;
        Ok(TokenServer {
            server,
            cert_pem: cert.pem(),
            state,
        })
    }

    /// The `realm`: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("{}/token", self.server.url())
    }

    /// PEM of the certificate of the signing key (the registry's
    /// `rootcertbundle`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The `(user, password)` it accepts.
    pub fn credentials(&self) -> (String, String) {
        (self.state.user.clone(), self.state.password.clone())
    }

    /// Every token issued so far, in order.
    pub fn issued(&self) -> Vec<IssuedToken> {
        self.state
            .issued
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// How many token requests were refused (401) so far.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::Relaxed)
    }

    /// A token for `scopes` (e.g. `repository:a/b:pull,push`), issued and
    /// recorded as if asked over HTTP.
    pub fn issue(&self, scopes: &[&str]) -> anyhow::Result<String> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        issue(&self.state, &scopes)
    }
}

/// Answers one request.
fn handle(state: &State, request: &Request) -> Response {
    if request.path != "/token" || !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::text(404, "not found\n");
    }
    if !authorized(state, request.header("authorization").as_deref()) {
        state.refused.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::text(401, "unauthorized\n");
        response.headers.push((
            "WWW-Authenticate".to_string(),
            "Basic realm=\"oc-mirror-tests-token\"".to_string(),
        ));
        return response;
    }
    let params = query_pairs(&request.query);
    if params.iter().any(|(k, v)| k == "service" && v != SERVICE) {
        return Response::text(400, "unknown service\n");
    }
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_ascii_whitespace().map(str::to_string))
        .collect();
    match issue(state, &scopes) {
        Ok(token) => {
            let body = serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": EXPIRES_IN,
                "issued_at": oc_mirror::timestamp::rfc3339(now()),
            });
            Response::new(200, "application/json", body.to_string().into_bytes())
        }
        Err(e) => Response::text(500, &format!("{e:#}\n")),
    }
}

/// Whether `header` is `Basic base64(user:password)` with the right pair.
fn authorized(state: &State, header: Option<&str>) -> bool {
    let Some((scheme, value)) = header.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = STANDARD.decode(value.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    text.split_once(':')
        .is_some_and(|(u, p)| u == state.user && p == state.password)
}

/// Signs and records a token granting `scopes`.
fn issue(state: &State, scopes: &[String]) -> anyhow::Result<String> {
    let now = now();
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let jti = hex::encode(
        &Sha256::digest(format!("{}:{n}:{nanos}:{}", state.x5c, std::process::id()))[..16],
    );
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [state.x5c],
    });
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": state.user,
        "aud": SERVICE,
        "exp": now + EXPIRES_IN,
        "nbf": now.saturating_sub(1),
        "iat": now,
        "jti": jti,
        "access": access(scopes),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = state
        .key
        .sign(signing_input.as_bytes())
        .context("signing the token")?;
    let signature = der_signature_to_raw(&der)?;
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    if let Ok(mut issued) = state.issued.lock() {
        issued.push(IssuedToken {
            token: token.clone(),
            scopes: scopes.to_vec(),
        });
    }
    Ok(token)
}

/// The `access` claim granting every one of `scopes`
/// (`TYPE[(CLASS)]:NAME:ACTION,ACTION`; the name may hold colons, e.g. a
/// port). Malformed scopes grant nothing.
fn access(scopes: &[String]) -> Vec<serde_json::Value> {
    scopes
        .iter()
        .filter_map(|scope| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            let kind = kind.split('(').next().unwrap_or(kind);
            let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            (!kind.is_empty() && !name.is_empty())
                .then(|| serde_json::json!({ "type": kind, "name": name, "actions": actions }))
        })
        .collect()
}

/// An ECDSA signature as DER (`SEQUENCE { INTEGER r, INTEGER s }`, as ring
/// makes it) turned into JWS's raw `r || s`, 32 bytes each for P-256.
pub fn der_signature_to_raw(der: &[u8]) -> anyhow::Result<[u8; 64]> {
    fn length(bytes: &[u8], at: &mut usize) -> anyhow::Result<usize> {
        let first = *bytes.get(*at).context("truncated DER length")?;
        *at += 1;
        if first < 0x80 {
            return Ok(first as usize);
        }
        let count = (first & 0x7f) as usize;
        anyhow::ensure!(count > 0 && count <= 2, "unexpected DER length form");
        let mut len = 0usize;
        for _ in 0..count {
            len = (len << 8) | *bytes.get(*at).context("truncated DER length")? as usize;
            *at += 1;
        }
        Ok(len)
    }
    fn integer<'a>(bytes: &'a [u8], at: &mut usize) -> anyhow::Result<&'a [u8]> {
        anyhow::ensure!(bytes.get(*at) == Some(&0x02), "expected a DER INTEGER");
        *at += 1;
        let len = length(bytes, at)?;
        let value = bytes.get(*at..*at + len).context("truncated DER INTEGER")?;
        *at += len;
        Ok(value)
    }
    let mut at = 0;
    anyhow::ensure!(der.first() == Some(&0x30), "expected a DER SEQUENCE");
    at += 1;
    let len = length(der, &mut at)?;
    anyhow::ensure!(at + len == der.len(), "trailing bytes after the signature");
    let r = integer(der, &mut at)?;
    let s = integer(der, &mut at)?;
    let mut raw = [0u8; 64];
    let (r_out, s_out) = raw.split_at_mut(32);
    for (value, out) in [(r, r_out), (s, s_out)] {
        let value = strip_leading_zeros(value);
        anyhow::ensure!(
            value.len() <= 32,
            "signature component longer than 32 bytes"
        );
        out[32 - value.len()..].copy_from_slice(value);
    }
    Ok(raw)
}

fn strip_leading_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// The `key=value` pairs of a query string, percent- and `+`-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(
            query_pairs(
                "service=s&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=registry:catalog:*+x:y:z"
            ),
            vec![
                ("service".to_string(), "s".to_string()),
                ("scope".to_string(), "repository:a/b:pull,push".to_string()),
                ("scope".to_string(), "registry:catalog:* x:y:z".to_string()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn access_grants_what_was_asked() {
        let granted = access(&[
            "repository:a/b:pull,push".to_string(),
            "registry:catalog:*".to_string(),
            "repository(plugin):c:pull".to_string(),
            "nonsense".to_string(),
        ]);
        assert_eq!(
            serde_json::Value::from(granted),
            serde_json::json!([
                {"type": "repository", "name": "a/b", "actions": ["pull", "push"]},
                {"type": "registry", "name": "catalog", "actions": ["*"]},
                {"type": "repository", "name": "c", "actions": ["pull"]},
            ])
        );
    }

    #[test]
    fn der_signatures_become_raw() {
        // r with a leading zero (high bit set), s short.
        let mut der = vec![0x30, 0, 0x02, 33, 0];
        der.extend([0x80; 32]);
        der.extend([0x02, 2, 0x01, 0x02]);
        der[1] = (der.len() - 2) as u8;
        let raw = der_signature_to_raw(&der).unwrap();
        assert_eq!(&raw[..32], &[0x80; 32]);
        assert_eq!(&raw[32..62], &[0; 30]);
        assert_eq!(&raw[62..], &[1, 2]);
    }

    /// The real registry in token mode: refuses anonymous and basic
    /// requests, names the realm, accepts the tokens issued for the right
    /// scope and only for it; the token server refuses wrong credentials.
    #[tokio::test]
    async fn a_token_registry_accepts_what_the_server_issues() {
        let creds = ("tok-user".to_string(), "tok-pass".to_string());
        let registry = crate::Registry::start(crate::RegistryOptions {
            token: Some(creds.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let catalog = format!("{}/v2/_catalog", registry.url());
        let anonymous = http.get(&catalog).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let challenge = anonymous.headers()["www-authenticate"].to_str().unwrap();
        let server = registry.token_server().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains(&server.realm()), "{challenge}");
        assert!(
            challenge.contains("scope=\"registry:catalog:*\""),
            "{challenge}"
        );

        let ask = |user: &str, password: &str, scope: &str| {
            http.get(server.realm())
                .query(&[("service", SERVICE), ("scope", scope)])
                .basic_auth(user, Some(password))
                .send()
        };
        let wrong = ask(&creds.0, "nope", "registry:catalog:*").await.unwrap();
        assert_eq!(wrong.status().as_u16(), 401);
        assert_eq!(server.refused(), 1);
        assert!(server.issued().is_empty());

        let answer: serde_json::Value = ask(&creds.0, &creds.1, "registry:catalog:*")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["token"].as_str().unwrap().to_string();
        assert_eq!(answer["access_token"], answer["token"]);
        assert_eq!(answer["expires_in"], EXPIRES_IN);
        assert_eq!(registry.issued_tokens(), vec![token.clone()]);
        let listed = http.get(&catalog).bearer_auth(&token).send().await.unwrap();
        assert_eq!(listed.status().as_u16(), 200, "{}", registry.log_tail(5));

        // A token for pulling one repository does not list the catalog,
        // and does reach the repository (unknown: 404, not 401).
        let pull = server.issue(&["repository:a/b:pull"]).unwrap();
        let refused = http.get(&catalog).bearer_auth(&pull).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 401);
        let tags = format!("{}/v2/a/b/tags/list", registry.url());
        let unknown = http.get(&tags).bearer_auth(&pull).send().await.unwrap();
        assert_eq!(unknown.status().as_u16(), 404);
        assert_eq!(registry.issued_tokens().len(), 2);
    }
}
