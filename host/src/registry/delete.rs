//! Deleting manifests: `DELETE /v2/<name>/manifests/<reference>`.
//!
//! oci-client has no DELETE, so this speaks HTTP itself with `reqwest`, set up
//! as the registry's oci-client is: the same HTTPS or plain-HTTP decision
//! (`Host::https`), certificate checks, extra CAs, timeouts and user agent,
//! credentials from the same auth files, and the same [`RetryPolicy`](super::retry::RetryPolicy) for
//! connection errors, 408, 429 and 5xx.
//!
//! **Authentication.** The DELETE is sent with whatever this client last used
//! for the repository (nothing at first); a 401 names the scheme. `Basic`: the
//! credentials are sent as they are. `Bearer`: a token is asked of the realm for
//! the scope the challenge names, or `repository:<name>:delete` when it names
//! none (Distribution's token servers grant deletion only to that action or to
//! `*`), with the credentials as basic auth when there are any. The token is
//! kept per repository for the life of the client and fetched again when the
//! registry answers 401 to it. Secrets go only into `Authorization` headers:
//! never into logs or errors.
//!
//! **What CNCF Distribution 2.8 (Debian's `docker-registry` 2.8.2) answers**,
//! checked by the tests below:
//!
//! | request | `storage.delete.enabled: true` | delete disabled (the default) |
//! |---|---|---|
//! | digest that exists | 202, and every tag pointing at it is gone | 405 `UNSUPPORTED` |
//! | digest already deleted / unknown repository | 404 `MANIFEST_UNKNOWN` | 405 `UNSUPPORTED` |
//! | tag (existing or not) | 400 `DIGEST_INVALID` | 405 `UNSUPPORTED` |
//!
//! 400 and 405 are what the OCI distribution spec allows a registry that does
//! not delete (manifests, or tags) to answer, so both become
//! [`RegistryError::DeleteRefused`]; 404 is [`DeleteOutcome::NotFound`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use oci_client::Reference;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use tracing::{debug, warn};

use super::auth::Credentials;
use super::{
    CERTS_D, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Host, RegistryClient, RegistryError,
    USER_AGENT, read_certificates,
};

/// What a DELETE of a manifest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// 202/200/204: gone now.
    Deleted,
    /// 404 (MANIFEST_UNKNOWN, NAME_UNKNOWN, …): it was not there (already deleted).
    NotFound,
}

/// How long a registry's error message may be in [`RegistryError::DeleteRefused`].
const MAX_DETAIL: usize = 200;
/// What a DELETE is said to be doing in errors.
const OPERATION: &str = "deleting";

/// Per-registry state of deletions, kept on its [`Host`].
#[derive(Default)]
pub(super) struct Deletion {
    /// Made on the first deletion from the registry.
    http: Mutex<Option<reqwest::Client>>,
    /// What to send, by repository, learnt from the registry's last challenge.
    authorization: Mutex<HashMap<String, Authorization>>,
}

/// What goes into the `Authorization` header of a DELETE.
#[derive(Clone)]
enum Authorization {
    /// The repository's credentials, as basic auth.
    Basic,
    /// A token from the registry's token server.
    Bearer(String),
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// How one request went.
enum Step<T> {
    Done(T),
    /// 401: authenticate (again) with this challenge, if any.
    Challenged(Option<Challenge>),
    /// 401 from a token server, or 403: the credentials do not allow this.
    Denied,
    /// 400 or 405 to the DELETE.
    Refused {
        status: u16,
        detail: String,
    },
    /// Worth trying again (connection error, 408, 429, 5xx).
    Transient(String),
    Fail(String),
}

impl RegistryClient {
    /// Deletes the manifest `r` names (`repo@sha256:…`, or `repo:tag` where the
    /// registry supports deleting tags).
    ///
    /// A registry that does not allow it (400 or 405: deletion disabled, or
    /// tags not deletable, as on CNCF Distribution) gives
    /// [`RegistryError::DeleteRefused`]; 401 or 403 after authenticating gives
    /// [`RegistryError::Unauthorized`]. Local OCI layouts are read-only.
    pub async fn delete_manifest(&self, r: &Reference) -> Result<DeleteOutcome, RegistryError> {
        if self.config.layouts.get(r.registry()).is_some() {
            return Err(RegistryError::Failed {
                operation: OPERATION,
                reference: r.whole(),
                attempts: 0,
                elapsed: Duration::ZERO,
                cause: "deleting from a local OCI layout is not supported".to_string(),
            });
        }
        let started = Instant::now();
        let host = self.host(r.registry()).await?;
        let http = self.deletion_client(&host, r.registry())?;
        let url = manifest_url(&host, r);
        let credentials = self
            .config
            .auth
            .lookup(r.registry(), r.repository())
            .await?;
        let policy = self.config.retry;
        let failed = |attempts: u32, cause: String| RegistryError::Failed {
            operation: OPERATION,
            reference: r.whole(),
            attempts,
            elapsed: started.elapsed(),
            cause,
        };
        let unauthorized = || RegistryError::Unauthorized {
            operation: OPERATION,
            reference: r.whole(),
            registry: r.registry().to_string(),
        };
        let mut reauthenticated = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let authorization = host.deletion.authorization(r.repository());
            let step = send_delete(&http, &url, authorization.as_ref(), credentials.as_ref()).await;
            let cause = match step {
                Step::Done(outcome) => {
                    debug!(reference = %r.whole(), ?outcome, "manifest delete");
                    return Ok(outcome);
                }
                Step::Refused { status, detail } => {
                    return Err(RegistryError::DeleteRefused {
                        registry: r.registry().to_string(),
                        reference: r.whole(),
                        status,
                        detail,
                    });
                }
                Step::Denied => return Err(unauthorized()),
                Step::Fail(cause) => return Err(failed(attempt, cause)),
                Step::Challenged(_) if reauthenticated => return Err(unauthorized()),
                Step::Challenged(None) => return Err(unauthorized()),
                Step::Challenged(Some(challenge)) => {
                    match self
                        .authorize(&http, &host, r, &challenge, credentials.as_ref())
                        .await
                    {
                        Step::Done(()) => {
                            reauthenticated = true;
                            continue;
                        }
                        Step::Transient(cause) => cause,
                        Step::Fail(cause) => return Err(failed(attempt, cause)),
                        _ => return Err(unauthorized()),
                    }
                }
                Step::Transient(cause) => cause,
            };
            if attempt > policy.retries {
                return Err(failed(attempt, cause));
            }
            let delay = policy.delay(attempt);
            warn!(
                "{OPERATION} `{}`: {cause} ({} tries remaining, next in {delay:.1?})",
                r.whole(),
                policy.retries + 1 - attempt
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The registry's HTTP client for deletions, made on first use with the
    /// configuration its oci-client has.
    fn deletion_client(
        &self,
        host: &Host,
        registry: &str,
    ) -> Result<reqwest::Client, RegistryError> {
        let mut slot = host
            .deletion
            .http
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let mut dirs: Vec<PathBuf> = self.config.cert_dirs.clone();
        dirs.extend(CERTS_D.iter().map(|d| Path::new(d).join(registry)));
        let mut certificates = Vec::new();
        for dir in dirs {
            for certificate in read_certificates(&dir)? {
                let certificate =
                    reqwest::Certificate::from_pem(&certificate.data).map_err(|e| {
                        RegistryError::Certificates {
                            path: dir.clone(),
                            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                        }
                    })?;
                certificates.push(certificate);
            }
        }
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(!self.config.tls_verify)
            .tls_certs_merge(certificates)
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
            .read_timeout(DEFAULT_READ_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| RegistryError::Failed {
                operation: OPERATION,
                reference: registry.to_string(),
                attempts: 0,
                elapsed: Duration::ZERO,
                cause: format!("cannot set up the HTTP client: {}", error_chain(&e)),
            })?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Answers a challenge: records what to send for the repository from now on.
    async fn authorize(
        &self,
        http: &reqwest::Client,
        host: &Host,
        r: &Reference,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
    ) -> Step<()> {
        let authorization = match challenge {
            Challenge::Basic if credentials.is_none() => return Step::Denied,
            Challenge::Basic => Authorization::Basic,
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = token_scope(scope.as_deref(), r.repository());
                match fetch_token(
                    http,
                    &manifest_url(host, r),
                    realm,
                    service.as_deref(),
                    &scope,
                    credentials,
                )
                .await
                {
                    Step::Done(token) => Authorization::Bearer(token),
                    Step::Transient(cause) => return Step::Transient(cause),
                    Step::Fail(cause) => return Step::Fail(cause),
                    _ => return Step::Denied,
                }
            }
        };
        host.deletion.remember(r.repository(), authorization);
        Step::Done(())
    }
}

impl Deletion {
    fn authorization(&self, repository: &str) -> Option<Authorization> {
        self.authorization
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(repository)
            .cloned()
    }

    fn remember(&self, repository: &str, authorization: Authorization) {
        self.authorization
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(repository.to_string(), authorization);
    }
}

/// `<scheme>://<registry>/v2/<name>/manifests/<digest, else tag>`, as oci-client
/// builds it.
fn manifest_url(host: &Host, r: &Reference) -> String {
    format!(
        "{scheme}://{registry}/v2/{repository}/manifests/{reference}{ns}",
        scheme = if host.https { "https" } else { "http" },
        registry = r.resolve_registry(),
        repository = r.repository(),
        reference = r.digest().or(r.tag()).unwrap_or("latest"),
        ns = r
            .namespace()
            .map(|ns| format!("?ns={ns}"))
            .unwrap_or_default(),
    )
}

/// One DELETE, sorted by its answer.
async fn send_delete(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&Authorization>,
    credentials: Option<&Credentials>,
) -> Step<DeleteOutcome> {
    let mut request = http.delete(url);
    request = match (authorization, credentials) {
        (Some(Authorization::Bearer(token)), _) => request.bearer_auth(token),
        (Some(Authorization::Basic), Some(c)) => request.basic_auth(&c.username, Some(c.secret())),
        _ => request,
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Step::Transient(error_chain(&e)),
    };
    let status = response.status();
    match status.as_u16() {
        200 | 202 | 204 => Step::Done(DeleteOutcome::Deleted),
        404 => Step::Done(DeleteOutcome::NotFound),
        401 => Step::Challenged(challenge_of(&response)),
        403 => Step::Denied,
        400 | 405 => Step::Refused {
            status: status.as_u16(),
            detail: detail_of(response).await,
        },
        code => {
            let detail = detail_of(response).await;
            let cause = if detail.is_empty() {
                format!("HTTP {code} ({url})")
            } else {
                format!("HTTP {code}: {detail} ({url})")
            };
            if transient(status) {
                Step::Transient(cause)
            } else {
                Step::Fail(cause)
            }
        }
    }
}

/// Asks a token server for a token for `scope`. Only statuses go into errors:
/// a token server's answer may hold a token.
async fn fetch_token(
    http: &reqwest::Client,
    base: &str,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    credentials: Option<&Credentials>,
) -> Step<String> {
    // A realm is absolute by the spec; a relative one is taken as the registry's.
    let url = reqwest::Url::parse(base).and_then(|base| base.join(realm));
    let mut url = match url {
        Ok(url) if matches!(url.scheme(), "https" | "http") => url,
        _ => return Step::Fail(format!("the registry named a bad token realm `{realm}`")),
    };
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = service {
            query.append_pair("service", service);
        }
        query.append_pair("scope", scope);
    }
    let mut request = http.get(url.clone());
    if let Some(c) = credentials {
        request = request.basic_auth(&c.username, Some(c.secret()));
    }
    let where_ = format!("token from {}", url.origin().ascii_serialization());
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Step::Transient(format!("{where_}: {}", error_chain(&e.without_url()))),
    };
    let status = response.status();
    match status.as_u16() {
        200 => {}
        401 | 403 => return Step::Denied,
        code if transient(status) => return Step::Transient(format!("{where_}: HTTP {code}")),
        code => return Step::Fail(format!("{where_}: HTTP {code}")),
    }
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return Step::Transient(format!("{where_}: {}", error_chain(&e.without_url()))),
    };
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token: Option<String>,
        access_token: Option<String>,
    }
    match serde_json::from_slice::<TokenAnswer>(&body) {
        Ok(TokenAnswer {
            token: Some(token), ..
        }) if !token.is_empty() => Step::Done(token),
        Ok(TokenAnswer {
            access_token: Some(token),
            ..
        }) if !token.is_empty() => Step::Done(token),
        _ => Step::Fail(format!("{where_}: the answer holds no token")),
    }
}

/// The scope to ask a token for: the challenge's when it grants deleting from
/// the repository (action `delete`, or `*` as older Distribution and some token
/// servers use), else `repository:<name>:delete`.
fn token_scope(challenged: Option<&str>, repository: &str) -> String {
    let grants_delete = |scope: &str| {
        scope
            .strip_prefix("repository:")
            .and_then(|rest| rest.rsplit_once(':'))
            .is_some_and(|(name, actions)| {
                name == repository && actions.split(',').any(|a| a == "delete" || a == "*")
            })
    };
    match challenged {
        Some(scope) if scope.split_ascii_whitespace().any(grants_delete) => scope.to_string(),
        _ => format!("repository:{repository}:delete"),
    }
}

fn transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500..=599)
}

/// The challenge of a 401: Bearer when one is offered, else Basic.
fn challenge_of(response: &reqwest::Response) -> Option<Challenge> {
    let challenges: Vec<Challenge> = response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(parse_challenge)
        .collect();
    challenges
        .iter()
        .find(|c| matches!(c, Challenge::Bearer { .. }))
        .or(challenges.first())
        .cloned()
}

/// Parses `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope").filter(|s| !s.is_empty()),
    })
}

/// `key=value, key="quoted, value"` pairs (RFC 7235 auth-params).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .next_if(|c| *c == ',' || c.is_ascii_whitespace())
            .is_some()
        {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            return params;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| *c != ',') {
                    value.push(c);
                }
                value = value.trim_end().to_string();
            }
        }
        let key = key.trim();
        if !key.is_empty() {
            params.push((key.to_string(), value));
        }
    }
}

/// The registry's error codes and messages (`CODE: message; …`) from an error
/// body, else its first characters; short either way.
async fn detail_of(response: reqwest::Response) -> String {
    let Ok(body) = response.bytes().await else {
        return String::new();
    };
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let text = match serde_json::from_slice::<Envelope>(&body) {
        Ok(envelope) if !envelope.errors.is_empty() => envelope
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::from_utf8_lossy(&body).trim().to_string(),
    };
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DETAIL)
        .collect();
    text.trim().to_string()
}

/// An error and its causes on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let t = e.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        source = e.source();
    }
    text
}

/// The end of [`RegistryError::DeleteRefused`]'s message: the registry's
/// detail, then what to change.
pub(super) fn refusal_tail(reference: &str, status: u16, detail: &str) -> String {
    let mut tail = String::new();
    if !detail.is_empty() {
        tail.push_str(": ");
        tail.push_str(detail);
    }
    let by_tag = !reference.contains('@');
    if by_tag && status == 400 {
        tail.push_str(
            "\nhint: this registry does not delete tags (CNCF Distribution answers 400 DIGEST_INVALID): \
             delete the digest the tag points to, which removes its tags too",
        );
    } else {
        tail.push_str(
            "\nhint: CNCF Distribution (docker-registry) deletes only with `storage.delete.enabled: true` \
             (env REGISTRY_STORAGE_DELETE_ENABLED=true);\
             \n      Quay needs a robot or user with write or admin on the repository, and deletes tags rather than digests;\
             \n      Harbor needs the project's delete permission (project admin or maintainer)",
        );
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryConfig;
    use crate::registry::auth::{AuthStore, Environment};
    use crate::registry::retry::RetryPolicy;
    use crate::registry::test_registry::{FakeRegistry, quote, start};
    use bytes::Bytes;
    use std::sync::Arc;

    /// [`USER`] / [`PASSWORD`] as a bcrypt htpasswd line (cost 4), made once
    /// with Python's `crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))`:
    /// the host crate has no bcrypt implementation, and the registry only checks it.
    const HTPASSWD: &str = "tester:$2b$04$eWUhGhy6SeABxtZEns9/NulzVCjAdZz2tf1DjFWg622EuGwS6nQp2\n";
    const USER: &str = "tester";
    const PASSWORD: &str = "delete-test-password";

    fn client(auth: AuthStore) -> RegistryClient {
        client_with_retries(auth, 1)
    }

    /// A client for plain-HTTP test registries, with quick retries.
    fn client_with_retries(auth: AuthStore, retries: u32) -> RegistryClient {
        RegistryClient::new(RegistryConfig {
            tls_verify: false,
            cert_dirs: vec![],
            retry: RetryPolicy {
                retries,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
            },
            auth: Arc::new(auth),
            layouts: Default::default(),
        })
    }

    /// A store with `USER`/`PASSWORD` for `registry`, from an auth file in `dir`.
    fn store_with_credentials(dir: &Path, registry: &str) -> AuthStore {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        let path = dir.join("auth.json");
        std::fs::write(
            &path,
            serde_json::json!({ "auths": { registry: { "auth": auth } } }).to_string(),
        )
        .unwrap();
        AuthStore::discover(Some(&path), &Environment::default()).unwrap()
    }

    fn reference(text: &str) -> Reference {
        text.parse().unwrap()
    }

    /// Pushes a one-layer image to `repo:tag` (and `repo:tag-2`, the same
    /// manifest); returns its digest.
    async fn push_image(client: &RegistryClient, host: &str, repo: &str, tag: &str) -> String {
        let r = reference(&format!("{host}/{repo}:{tag}"));
        let layer = Bytes::from_static(b"layer of the delete test");
        let config = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
        let layer_digest = client.push_blob_bytes(&r, &layer).await.unwrap();
        let config_digest = client.push_blob_bytes(&r, &config).await.unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": config_digest.as_str(), "size": config.len() },
            "layers": [ { "mediaType": "application/vnd.oci.image.layer.v1.tar",
                          "digest": layer_digest.as_str(), "size": layer.len() } ],
        });
        let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
        for t in [tag.to_string(), format!("{tag}-2")] {
            let r = reference(&format!("{host}/{repo}:{t}"));
            client
                .put_manifest(&r, &bytes, "application/vnd.oci.image.manifest.v1+json")
                .await
                .unwrap();
        }
        crate::digest::Digest::of(&bytes).into_string()
    }

    #[tokio::test]
    async fn delete_by_digest_removes_manifest_and_tags() {
        let registry = start(true, "").await;
        let client = client(AuthStore::empty());
        let host = &registry.host;
        let digest = push_image(&client, host, "a/b", "v1").await;
        let by_digest = reference(&format!("{host}/a/b@{digest}"));
        assert_eq!(
            client.delete_manifest(&by_digest).await.unwrap(),
            DeleteOutcome::Deleted
        );
        // Gone by digest, and both tags that pointed at it are gone too.
        assert!(client.manifest_digest(&by_digest).await.unwrap().is_none());
        for tag in ["v1", "v1-2"] {
            let r = reference(&format!("{host}/a/b:{tag}"));
            let err = client.get_manifest(&r).await.unwrap_err();
            assert!(err.is_not_found(), "{err}");
        }
        assert!(
            client
                .list_tags(&reference(&format!("{host}/a/b:v1")))
                .await
                .unwrap()
                .is_empty()
        );
        // Again: it is not there any more; nor in a repository never pushed.
        assert_eq!(
            client.delete_manifest(&by_digest).await.unwrap(),
            DeleteOutcome::NotFound
        );
        let elsewhere = reference(&format!("{host}/never/pushed@{digest}"));
        assert_eq!(
            client.delete_manifest(&elsewhere).await.unwrap(),
            DeleteOutcome::NotFound
        );
    }

    #[tokio::test]
    async fn registry_without_delete_refuses_with_405() {
        let registry = start(false, "").await;
        let client = client(AuthStore::empty());
        let host = &registry.host;
        let digest = push_image(&client, host, "a/b", "v1").await;
        for text in [format!("{host}/a/b@{digest}"), format!("{host}/a/b:v1")] {
            let err = client.delete_manifest(&reference(&text)).await.unwrap_err();
            assert!(err.is_delete_refused(), "{err}");
            let RegistryError::DeleteRefused { status, detail, .. } = &err else {
                unreachable!()
            };
            assert_eq!(*status, 405);
            assert!(detail.contains("UNSUPPORTED"), "{detail}");
            let message = err.to_string();
            assert!(message.contains("storage.delete.enabled"), "{message}");
            assert!(message.contains("\nhint:"), "{message}");
        }
        // Nothing was deleted.
        let r = reference(&format!("{host}/a/b@{digest}"));
        assert!(client.manifest_digest(&r).await.unwrap().is_some());
    }

    /// Distribution 2.8 cannot delete tags: it answers 400 DIGEST_INVALID
    /// (whether or not the tag exists), and the tag stays.
    #[tokio::test]
    async fn delete_by_tag_is_refused_by_distribution() {
        let registry = start(true, "").await;
        let client = client(AuthStore::empty());
        let host = &registry.host;
        let digest = push_image(&client, host, "a/b", "v1").await;
        for tag in ["v1", "absent"] {
            let err = client
                .delete_manifest(&reference(&format!("{host}/a/b:{tag}")))
                .await
                .unwrap_err();
            let RegistryError::DeleteRefused { status, detail, .. } = &err else {
                panic!("{err}")
            };
            assert_eq!(*status, 400);
            assert!(detail.contains("DIGEST_INVALID"), "{detail}");
            assert!(err.to_string().contains("delete the digest"), "{err}");
        }
        let r = reference(&format!("{host}/a/b:v1"));
        assert_eq!(
            client.manifest_digest(&r).await.unwrap().unwrap().as_str(),
            digest
        );
    }

    #[tokio::test]
    async fn basic_auth_deletes_with_credentials_only() {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, HTPASSWD).unwrap();
        let registry = start(
            true,
            &format!(
                "auth:\n  htpasswd:\n    realm: oc-mirror-delete-test\n    path: {}\n",
                quote(&htpasswd)
            ),
        )
        .await;
        let host = &registry.host;
        let authed = client(store_with_credentials(dir.path(), host));
        let digest = push_image(&authed, host, "a/b", "v1").await;
        let r = reference(&format!("{host}/a/b@{digest}"));

        let anonymous = client(AuthStore::empty());
        let err = anonymous.delete_manifest(&r).await.unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::Unauthorized {
                    operation: "deleting",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.to_string().contains(PASSWORD));

        assert_eq!(
            authed.delete_manifest(&r).await.unwrap(),
            DeleteOutcome::Deleted
        );
        // The second time the client sends the credentials at once.
        assert_eq!(
            authed.delete_manifest(&r).await.unwrap(),
            DeleteOutcome::NotFound
        );
    }

    #[tokio::test]
    async fn local_layouts_are_not_deleted_from() {
        let dir = tempfile::tempdir().unwrap();
        let mut layouts = crate::registry::layout::Layouts::default();
        let image = layouts.add(dir.path());
        let client = RegistryClient::new(RegistryConfig {
            tls_verify: true,
            cert_dirs: vec![],
            retry: RetryPolicy::default(),
            auth: Arc::new(AuthStore::empty()),
            layouts,
        });
        let r = reference(&image);
        let err = client.delete_manifest(&r).await.unwrap_err();
        assert!(err.to_string().contains("local OCI layout"), "{err}");
    }

    /// Bearer: the token is asked for with the delete scope and the
    /// credentials, kept for the next deletion, and fetched again on 401.
    #[tokio::test]
    async fn bearer_tokens_are_fetched_with_delete_scope_and_kept() {
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        let tokens = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let issued = tokens.clone();
        let fake = FakeRegistry::start(move |req, host| {
            let challenge = || {
                (
                    401,
                    vec![(
                        "WWW-Authenticate".to_string(),
                        format!(
                            r#"Bearer realm="http://{host}/token",service="fake",scope="repository:a/b:pull""#
                        ),
                    )],
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                        .to_string(),
                )
            };
            match (req.method.as_str(), req.path.as_str()) {
                ("GET", path) if path.starts_with("/token?") => {
                    assert_eq!(
                        path,
                        "/token?service=fake&scope=repository%3Aa%2Fb%3Adelete"
                    );
                    if req.authorization.as_deref() != Some(basic.as_str()) {
                        return (401, vec![], String::new());
                    }
                    let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    // The second token comes as `access_token` (OAuth2 style).
                    let body = if n == 1 {
                        format!(r#"{{"token":"token-{n}"}}"#)
                    } else {
                        format!(r#"{{"access_token":"token-{n}"}}"#)
                    };
                    (200, vec![], body)
                }
                ("DELETE", _) => {
                    let current = format!(
                        "Bearer token-{}",
                        issued.load(std::sync::atomic::Ordering::SeqCst)
                    );
                    if req.authorization.as_deref() == Some(current.as_str()) {
                        (202, vec![], String::new())
                    } else {
                        challenge()
                    }
                }
                _ => (500, vec![], String::new()),
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let authed = client(store_with_credentials(dir.path(), &fake.host));
        let r = reference(&format!("{}/a/b@sha256:{}", fake.host, "1".repeat(64)));
        assert_eq!(
            authed.delete_manifest(&r).await.unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 1);
        // The token is kept: the next deletion sends it at once.
        assert_eq!(
            authed.delete_manifest(&r).await.unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 1);
        let seen = fake.seen();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(seen[3].authorization.as_deref(), Some("Bearer token-1"));
        // An expired token (the server moved on): a new one, then success.
        tokens.store(5, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            authed.delete_manifest(&r).await.unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 6);

        // Without credentials the token server says no: not authorized, and
        // no secret anywhere in the message.
        let anonymous = client(AuthStore::empty());
        let err = anonymous.delete_manifest(&r).await.unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::Unauthorized {
                    operation: "deleting",
                    ..
                }
            ),
            "{err}"
        );
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains(PASSWORD) && !text.contains("token-"),
            "{text}"
        );
    }

    /// 503 and 429 are retried per the policy; 403 is not authorized; 404 is
    /// NotFound whatever its code; other statuses fail with the registry's words.
    #[tokio::test]
    async fn transient_errors_are_retried_and_others_sorted() {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = calls.clone();
        let fake = FakeRegistry::start(move |req, _| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let error = |code: &str| format!(r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#);
            match req.path.rsplit('/').next().unwrap_or_default() {
                "flaky" if n == 0 => (503, vec![], String::new()),
                "flaky" if n == 1 => (429, vec![], error("TOOMANYREQUESTS")),
                "flaky" => (202, vec![], String::new()),
                "forbidden" => (403, vec![], error("DENIED")),
                "gone" => (404, vec![], error("NAME_UNKNOWN")),
                "teapot" => (418, vec![], error("TEAPOT")),
                _ => (503, vec![], String::new()),
            }
        });
        let host = &fake.host;
        let client = client_with_retries(AuthStore::empty(), 2);
        let del = |tag: &str| {
            let r = reference(&format!("{host}/a/b:{tag}"));
            let client = &client;
            async move { client.delete_manifest(&r).await }
        };
        assert_eq!(del("flaky").await.unwrap(), DeleteOutcome::Deleted);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(del("gone").await.unwrap(), DeleteOutcome::NotFound);
        let err = del("forbidden").await.unwrap_err();
        assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
        let err = del("teapot").await.unwrap_err();
        assert!(
            matches!(err, RegistryError::Failed { attempts: 1, .. })
                && err.to_string().contains("HTTP 418: TEAPOT: m"),
            "{err}"
        );
        let before = calls.load(std::sync::atomic::Ordering::SeqCst);
        let err = del("down").await.unwrap_err();
        assert!(
            matches!(err, RegistryError::Failed { attempts: 3, .. }),
            "{err}"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst) - before, 3);
    }

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,delete",error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull,delete".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=https://q.example/v2/auth, service=q.example"),
            Some(Challenge::Bearer {
                realm: "https://q.example/v2/auth".into(),
                service: Some("q.example".into()),
                scope: None,
            })
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn token_scopes_ask_for_deletion() {
        assert_eq!(token_scope(None, "a/b"), "repository:a/b:delete");
        assert_eq!(
            token_scope(Some("repository:a/b:delete"), "a/b"),
            "repository:a/b:delete"
        );
        assert_eq!(
            token_scope(Some("repository:a/b:*"), "a/b"),
            "repository:a/b:*"
        );
        assert_eq!(
            token_scope(Some("repository:a/b:pull,delete"), "a/b"),
            "repository:a/b:pull,delete"
        );
        // A challenge that does not grant deletion of this repository.
        assert_eq!(
            token_scope(Some("repository:a/b:pull"), "a/b"),
            "repository:a/b:delete"
        );
        assert_eq!(
            token_scope(Some("repository:c:delete"), "a/b"),
            "repository:a/b:delete"
        );
    }

    #[test]
    fn refusal_messages_say_what_to_change() {
        let err = RegistryError::DeleteRefused {
            registry: "r.example".into(),
            reference: "r.example/a@sha256:00".into(),
            status: 405,
            detail: "UNSUPPORTED: The operation is unsupported.".into(),
        };
        let text = err.to_string();
        assert!(text.starts_with(
            "r.example does not allow deleting `r.example/a@sha256:00` (405): UNSUPPORTED"
        ));
        for needle in [
            "storage.delete.enabled: true",
            "REGISTRY_STORAGE_DELETE_ENABLED",
            "Quay",
            "Harbor",
        ] {
            assert!(text.contains(needle), "{text}");
        }
    }
}
