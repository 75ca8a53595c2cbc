//! Auth files: where they are, how they are read, and how their `auths`
//! entries become [`Credentials`].
//!
//! podman's `auth.json`, docker's `config.json` and the legacy `.dockercfg`
//! share one entry format. Files are parsed when the store is built, so a
//! malformed file is reported before any network traffic; entries are
//! decoded only when a lookup reaches them. Neither kind of error ever
//! repeats a value from the file, which may be a secret.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use tracing::debug;

use super::credentials::{CredentialKind, Credentials, Secret, TOKEN_USERNAME};
use super::keys::normalize_key;
use super::{AuthError, Environment};

/// Decoder for the `auth` field: standard alphabet, padding optional (some
/// tools write it without).
const AUTH_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The two on-disk layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileFormat {
    /// `{"auths": {...}, "credHelpers": {...}, "credsStore": "..."}`.
    Modern,
    /// `~/.dockercfg`: the `auths` map alone, at top level.
    Legacy,
}

/// Serde view of a modern auth file. Unknown keys (docker's `psFormat`,
/// `HttpHeaders`, ...) are ignored.
#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: Option<BTreeMap<String, Option<RawEntry>>>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

/// Serde view of one `auths` entry. Deliberately not `Debug`.
#[derive(Deserialize, Default)]
struct RawEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// One `auths` entry, with its secrets wrapped and still undecoded: a bad
/// entry only fails lookups that reach it.
#[derive(Debug)]
pub(super) struct AuthEntry {
    /// The key as written in the file (safe to show).
    pub(super) key: String,
    /// The key normalised by [`normalize_key`].
    normalized: String,
    auth: Option<Secret>,
    identity_token: Option<Secret>,
    username: Option<String>,
    password: Option<Secret>,
}

/// One parsed auth file.
#[derive(Debug)]
pub(super) struct AuthFile {
    pub(super) path: PathBuf,
    entries: Vec<AuthEntry>,
    /// `(normalised host, helper name)` pairs from `credHelpers`.
    cred_helpers: Vec<(String, String)>,
    pub(super) creds_store: Option<String>,
}

/// The default files, in search order, with their formats.
pub(super) fn default_locations(env: &Environment) -> Vec<(PathBuf, FileFormat)> {
    let mut paths = Vec::new();
    if let Some(runtime) = &env.xdg_runtime_dir {
        paths.push((runtime.join("containers/auth.json"), FileFormat::Modern));
    }
    if let Some(home) = &env.home {
        paths.push((
            home.join(".config/containers/auth.json"),
            FileFormat::Modern,
        ));
        paths.push((home.join(".docker/config.json"), FileFormat::Modern));
        paths.push((home.join(".dockercfg"), FileFormat::Legacy));
    }
    paths
}

impl AuthFile {
    /// Reads and parses `path`; `Ok(None)` if it does not exist.
    pub(super) fn load(path: &Path, format: FileFormat) -> Result<Option<AuthFile>, AuthError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(AuthError::ReadFailed {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        AuthFile::parse(path, &bytes, format).map(Some)
    }

    /// Parses file contents. An empty (or blank) file counts as an empty
    /// config, as docker treats it.
    fn parse(path: &Path, bytes: &[u8], format: FileFormat) -> Result<AuthFile, AuthError> {
        let mut file = AuthFile {
            path: path.to_owned(),
            entries: Vec::new(),
            cred_helpers: Vec::new(),
            creds_store: None,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            debug!(file = %path.display(), "auth file is empty");
            return Ok(file);
        }
        // Deserialising straight into typed structs keeps serde's line and
        // column for both syntax errors and wrongly shaped values.
        let malformed = |err: serde_json::Error| malformed_file(path, &err);
        let (auths, helpers, store) = match format {
            FileFormat::Legacy => (
                serde_json::from_slice::<BTreeMap<String, Option<RawEntry>>>(bytes)
                    .map_err(malformed)?,
                BTreeMap::new(),
                None,
            ),
            FileFormat::Modern => {
                let raw: RawConfig = serde_json::from_slice(bytes).map_err(malformed)?;
                if raw.auths.is_none() && raw.cred_helpers.is_none() && raw.creds_store.is_none() {
                    debug!(file = %path.display(), "auth file has no `auths`, `credHelpers` or `credsStore`");
                }
                (
                    raw.auths.unwrap_or_default(),
                    raw.cred_helpers.unwrap_or_default(),
                    raw.creds_store,
                )
            }
        };
        file.entries = auths
            .into_iter()
            .map(|(key, raw)| AuthEntry::new(key, raw.unwrap_or_default()))
            .collect();
        file.cred_helpers = helpers
            .into_iter()
            .map(|(key, helper)| (normalize_key(&key), helper))
            .collect();
        file.creds_store = store.filter(|name| !name.is_empty());
        Ok(file)
    }

    /// The `credHelpers` helper for `host`, if any.
    pub(super) fn helper_for(&self, host: &str) -> Option<&str> {
        self.cred_helpers
            .iter()
            .find(|(key, _)| key == host)
            .map(|(_, helper)| helper.as_str())
    }

    /// The entry for the first (most specific) candidate key that has one.
    /// If several keys normalise to the same candidate, the one written
    /// exactly as the candidate wins, then the first in key order.
    pub(super) fn find_entry(&self, candidates: &[String]) -> Option<&AuthEntry> {
        candidates.iter().find_map(|candidate| {
            let mut matching = self
                .entries
                .iter()
                .filter(|entry| entry.normalized == *candidate);
            let first = matching.next()?;
            if first.key == *candidate {
                return Some(first);
            }
            matching
                .find(|entry| entry.key == *candidate)
                .or(Some(first))
        })
    }
}

/// Turns a serde error into [`AuthError::MalformedAuthFile`], keeping its
/// position but none of the file's values.
fn malformed_file(path: &Path, err: &serde_json::Error) -> AuthError {
    let (line, column) = (err.line(), err.column());
    let text = err.to_string();
    let suffix = format!(" at line {line} column {column}");
    let problem = text.strip_suffix(&suffix).unwrap_or(&text);
    AuthError::MalformedAuthFile {
        path: path.to_owned(),
        line,
        column,
        problem: redact_quoted(problem),
    }
}

/// Replaces every `"…"` and `` `…` `` span with a placeholder: serde quotes
/// the offending value (which may be a secret) in type errors.
pub(super) fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for ch in text.chars() {
        match open {
            Some(quote) if ch == quote => {
                out.push('…');
                out.push(ch);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(ch);
                if ch == '"' || ch == '`' {
                    open = Some(ch);
                }
            }
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out
}

impl AuthEntry {
    fn new(key: String, raw: RawEntry) -> AuthEntry {
        // Empty strings are written by some tools in place of absent fields.
        let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        AuthEntry {
            normalized: normalize_key(&key),
            key,
            auth: present(raw.auth).map(Secret),
            identity_token: present(raw.identitytoken).map(Secret),
            username: present(raw.username),
            password: present(raw.password).map(Secret),
        }
    }

    /// Decodes the entry; `Ok(None)` for an entry with no credentials (`{}`).
    pub(super) fn credentials(&self, path: &Path) -> Result<Option<Credentials>, AuthError> {
        let invalid = |problem| AuthError::InvalidAuthEntry {
            path: path.to_owned(),
            key: self.key.clone(),
            problem,
        };
        // `auth` (base64 of `user:password`) wins over separate fields.
        let (username, password) = match &self.auth {
            Some(auth) => {
                let bytes = AUTH_BASE64
                    .decode(auth.0.trim())
                    .map_err(|_| invalid("`auth` is not valid base64"))?;
                let text =
                    String::from_utf8(bytes).map_err(|_| invalid("decoded `auth` is not UTF-8"))?;
                let (user, pass) = text.split_once(':').ok_or_else(|| {
                    invalid("decoded `auth` has no `:` between the user name and the password")
                })?;
                // docker pads some passwords with NULs; containers/image trims them.
                (user.to_owned(), pass.trim_matches('\0').to_owned())
            }
            None => (
                self.username.clone().unwrap_or_default(),
                self.password
                    .as_ref()
                    .map(|p| p.0.clone())
                    .unwrap_or_default(),
            ),
        };
        if let Some(token) = &self.identity_token {
            let username = if username.is_empty() {
                TOKEN_USERNAME.to_owned()
            } else {
                username
            };
            return Ok(Some(Credentials {
                username,
                secret: token.clone(),
                kind: CredentialKind::IdentityToken,
            }));
        }
        match (username.is_empty(), password.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(Credentials {
                username,
                secret: Secret(password),
                kind: CredentialKind::Password,
            })),
            (true, false) => Err(invalid("the user name is empty")),
            (false, true) => Err(invalid("the password is empty")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::auth::test_support::*;
    use crate::registry::auth::{AuthError, AuthStore};

    /// Two keys for one registry: the one written as the plain host wins.
    #[tokio::test]
    async fn exact_key_beats_url_form_of_the_same_registry() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[("https://quay.io", "url", "p"), ("quay.io", "exact", "p")]),
        );
        assert_eq!(
            user(&sb.store(), "quay.io", "a").await.as_deref(),
            Some("exact")
        );
    }

    /// `identitytoken` gives an identity token; `username`/`password` fields work too.
    #[tokio::test]
    async fn identity_token_and_separate_fields() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &serde_json::json!({ "auths": {
                "token.example.com": { "identitytoken": "refresh-me" },
                "named.example.com": { "auth": b64("bob:ignored"), "identitytoken": "tok2" },
                "fields.example.com": { "username": "carol", "password": "pw" },
            }})
            .to_string(),
        );
        let store = sb.store();
        let tok = store
            .lookup("token.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        assert_eq!(tok.kind, CredentialKind::IdentityToken);
        assert_eq!(tok.username, TOKEN_USERNAME);
        assert_eq!(tok.secret(), "refresh-me");
        let named = store
            .lookup("named.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        assert_eq!(named.kind, CredentialKind::IdentityToken);
        assert_eq!((named.username.as_str(), named.secret()), ("bob", "tok2"));
        let fields = store
            .lookup("fields.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        assert_eq!(fields.kind, CredentialKind::Password);
        assert_eq!((fields.username.as_str(), fields.secret()), ("carol", "pw"));
    }

    /// `{}` (and an empty `auth`) mean "no credentials here", so later files are tried.
    #[tokio::test]
    async fn empty_entry_means_no_credentials_in_that_file() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            r#"{"auths": {"localhost:5001": {}, "quay.io/ns": {}, "quay.io": {"auth": ""}}}"#,
        );
        sb.write(
            "home/.docker/config.json",
            &auths(&[("quay.io", "later", "p")]),
        );
        let store = sb.store();
        assert_eq!(user(&store, "localhost:5001", "a").await, None);
        // An empty entry does not stop the search in later files.
        assert_eq!(
            user(&store, "quay.io", "ns/repo").await.as_deref(),
            Some("later")
        );
    }

    /// Undecodable entries fail with the file and key, never the value.
    #[tokio::test]
    async fn bad_auth_values_name_the_file_and_key_but_not_the_value() {
        let sb = Sandbox::new();
        let path = sb.write(
            "run/containers/auth.json",
            &serde_json::json!({ "auths": {
                "bad64.example.com": { "auth": "!!SECRETVALUE!!" },
                "nocolon.example.com": { "auth": b64("justonesecret") },
                "nopass.example.com": { "auth": b64("user:") },
                "fine.example.com": { "auth": b64("u:p") },
            }})
            .to_string(),
        );
        let store = sb.store();
        // A bad entry only fails lookups that reach it.
        assert_eq!(
            user(&store, "fine.example.com", "a").await.as_deref(),
            Some("u")
        );

        let err = store
            .lookup("bad64.example.com", "a")
            .await
            .expect_err("bad base64");
        let msg = err.to_string();
        assert!(matches!(err, AuthError::InvalidAuthEntry { .. }));
        assert!(
            msg.contains("`bad64.example.com`") && msg.contains("base64"),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!msg.contains("SECRETVALUE") && !format!("{err:?}").contains("SECRETVALUE"));

        let err = store
            .lookup("nocolon.example.com", "a")
            .await
            .expect_err("no colon");
        let msg = err.to_string();
        assert!(
            msg.contains("`nocolon.example.com`") && msg.contains("`:`"),
            "{msg}"
        );
        assert!(!msg.contains("justonesecret") && !msg.contains(&b64("justonesecret")));

        let err = store
            .lookup("nopass.example.com", "a")
            .await
            .expect_err("no password");
        assert!(err.to_string().contains("password is empty"), "{err}");
    }

    /// A JSON syntax error is reported with its position, once.
    #[test]
    fn malformed_json_reports_path_line_and_column() {
        let sb = Sandbox::new();
        let path = sb.write(
            "run/containers/auth.json",
            "{\n  \"auths\": {\n    \"quay.io\": {\"auth\": \"abc\",}\n  }\n}\n",
        );
        let err = AuthStore::discover(None, &sb.env()).expect_err("malformed");
        match &err {
            AuthError::MalformedAuthFile { line, column, .. } => {
                assert_eq!(*line, 3);
                assert!(*column > 0);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("line 3"),
            "{msg}"
        );
        assert!(
            !msg.contains("at line 3 column"),
            "location repeated: {msg}"
        );
    }

    /// serde quotes wrongly typed values in its messages; those are redacted.
    #[test]
    fn type_errors_do_not_echo_values() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            r#"{"auths": {"quay.io": "c2VjcmV0LXZhbHVl"}}"#,
        );
        let err = AuthStore::discover(None, &sb.env()).expect_err("wrong type");
        let msg = err.to_string();
        assert!(
            matches!(err, AuthError::MalformedAuthFile { line: 1, .. }),
            "{msg}"
        );
        assert!(!msg.contains("c2VjcmV0LXZhbHVl"), "{msg}");
    }

    /// A blank file is accepted as an empty configuration, as docker does.
    #[test]
    fn empty_file_is_an_empty_config() {
        let sb = Sandbox::new();
        sb.write("home/.docker/config.json", "  \n");
        assert_eq!(sb.store().sources().len(), 1);
    }
}
