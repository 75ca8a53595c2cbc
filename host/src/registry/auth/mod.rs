//! Registry credentials: finding and reading the auth files and credential
//! helpers that `podman login`, `docker login` and OpenShift pull secrets leave
//! behind.
//!
//! oc-mirror never asks for a password itself; it reuses whatever the user is
//! already logged in with, looking in the places containers/image (and so
//! oc-mirror v2) looks. `$DOCKER_CONFIG` and `$XDG_CONFIG_HOME` are not
//! consulted. This module owns that search so every registry client in the
//! program authenticates the same way, and so that secrets stay behind one
//! type ([`Credentials`]) whose `Debug` and `Display` never show them.
//!
//! The rules, in short:
//!
//! * Files: `--authfile`, else `$REGISTRY_AUTH_FILE`, else every existing
//!   default location (see [`AuthStore::discover`]).
//! * Keys inside `auths` may be a host, a host with a repository path, or an
//!   old URL form; the most specific key that covers the repository wins, and
//!   the first file with an answer wins.
//! * `credHelpers` and `credsStore` delegate to external
//!   `docker-credential-<name>` programs, which are run without a shell and
//!   with a time limit.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tracing::debug;

/// How long a credential helper may take before it is killed.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// Credential helpers are executables named with this prefix.
const HELPER_PREFIX: &str = "docker-credential-";
/// The user name helpers (and auth files) use to mark an identity token.
const TOKEN_USERNAME: &str = "<token>";
/// Canonical name for Docker Hub; its aliases are folded into it.
const DOCKER_HUB: &str = "docker.io";
/// The server URL `docker login` stores Docker Hub credentials under.
const DOCKER_HUB_SERVER_URL: &str = "https://index.docker.io/v1/";
/// What helpers print when they hold nothing for a server.
const HELPER_NOT_FOUND_TEXT: &str = "credentials not found";
/// Longest helper error output kept in an [`AuthError`].
const MAX_HELPER_MESSAGE: usize = 1000;

/// Decoder for the `auth` field: standard alphabet, padding optional (some
/// tools write it without).
const AUTH_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the secret in [`Credentials`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A password (or an access token used in its place).
    Password,
    /// An OAuth2 identity (refresh) token, as written by `docker login` for
    /// some registries or returned by a helper with user name `<token>`.
    IdentityToken,
}

/// A username and secret for one registry; Debug and Display never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name; `<token>` when an identity token came without one.
    pub username: String,
    secret: Secret,
    /// Whether the secret is a password or an identity token.
    pub kind: CredentialKind,
}

impl Credentials {
    /// Builds credentials from parts, e.g. for credentials given on the
    /// command line rather than found in a file.
    pub fn new(
        username: impl Into<String>,
        secret: impl Into<String>,
        kind: CredentialKind,
    ) -> Credentials {
        Credentials {
            username: username.into(),
            secret: Secret(secret.into()),
            kind,
        }
    }

    /// The password or identity token. Never log or display it.
    pub fn secret(&self) -> &str {
        &self.secret.0
    }

    /// The credentials in the form `oci-client` takes.
    ///
    /// Both kinds become HTTP Basic credentials: `oci-client` sends them to
    /// the registry's token endpoint, which is what registries that accept
    /// tokens as passwords expect. It has no OAuth2 refresh-token exchange,
    /// and an identity token is not an access token that could be sent as
    /// `Bearer`, so callers that implement that exchange should look at
    /// [`Credentials::kind`] and [`Credentials::secret`] instead.
    pub fn to_registry_auth(&self) -> RegistryAuth {
        RegistryAuth::Basic(self.username.clone(), self.secret.0.clone())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            CredentialKind::Password => "password",
            CredentialKind::IdentityToken => "identity token",
        };
        write!(f, "user `{}` with a {what}", self.username)
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The file given to `--authfile` does not exist.
    #[error(
        "authentication file `{}` does not exist\nhint: check the path given to `--authfile`",
        path.display()
    )]
    ExplicitAuthFileMissing {
        /// The path given.
        path: PathBuf,
    },
    /// The file named by `REGISTRY_AUTH_FILE` does not exist.
    #[error(
        "authentication file `{}` named by `REGISTRY_AUTH_FILE` does not exist\nhint: fix or unset the `REGISTRY_AUTH_FILE` environment variable, or pass `--authfile`",
        path.display()
    )]
    EnvAuthFileMissing {
        /// The path from the environment.
        path: PathBuf,
    },
    /// An auth file exists but could not be read.
    #[error("cannot read authentication file `{}`: {source}", path.display())]
    ReadFailed {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// An auth file is not valid JSON or not shaped like an auth file.
    #[error(
        "authentication file `{}` is malformed at line {line}, column {column}: {problem}\nhint: fix the file, or log in again to rewrite it",
        path.display()
    )]
    MalformedAuthFile {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong, with any quoted values from the file removed.
        problem: String,
    },
    /// An `auths` entry could not be turned into credentials.
    #[error(
        "entry `{key}` in authentication file `{}` is invalid: {problem}\nhint: log in to the registry again, or fix or remove the entry",
        path.display()
    )]
    InvalidAuthEntry {
        /// The file.
        path: PathBuf,
        /// The entry's key as written in the file.
        key: String,
        /// What is wrong (never the value itself).
        problem: &'static str,
    },
    /// `credHelpers` or `credsStore` names something that is not a plain
    /// program name.
    #[error(
        "credential helper name `{helper}` in `{}` is not valid: it may only contain letters, digits, `.`, `_` and `-`\nhint: fix `credHelpers` or `credsStore` in that file",
        path.display()
    )]
    InvalidHelperName {
        /// The name as written.
        helper: String,
        /// The auth file naming it.
        path: PathBuf,
    },
    /// The helper's executable is not on the helper search path.
    #[error(
        "credential helper `{HELPER_PREFIX}{helper}` named in `{}` was not found on `PATH`\nhint: install `{HELPER_PREFIX}{helper}`, or remove `{helper}` from `credHelpers`/`credsStore` in that file",
        path.display()
    )]
    HelperNotFound {
        /// The helper name (without the `docker-credential-` prefix).
        helper: String,
        /// The auth file naming it.
        path: PathBuf,
    },
    /// The helper could not be started or its output could not be read.
    #[error("cannot run credential helper `{}`: {source}", program.display())]
    HelperSpawnFailed {
        /// The executable.
        program: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The helper exited unsuccessfully for a reason other than "not found".
    #[error(
        "credential helper `{HELPER_PREFIX}{helper}` failed for `{server}` ({status}): {message}"
    )]
    HelperFailed {
        /// The helper name.
        helper: String,
        /// The server URL it was asked about.
        server: String,
        /// Its exit status.
        status: String,
        /// Its trimmed error output.
        message: String,
    },
    /// The helper did not finish in time and was killed.
    #[error(
        "credential helper `{HELPER_PREFIX}{helper}` did not answer for `{server}` within {} s\nhint: unlock the credential store, or check that the helper does not wait for input",
        timeout.as_secs()
    )]
    HelperTimedOut {
        /// The helper name.
        helper: String,
        /// The server URL it was asked about.
        server: String,
        /// The limit that was exceeded.
        timeout: Duration,
    },
    /// The helper succeeded but did not print the expected JSON.
    #[error(
        "credential helper `{HELPER_PREFIX}{helper}` answered for `{server}` with output that is not the expected JSON"
    )]
    HelperOutputInvalid {
        /// The helper name.
        helper: String,
        /// The server URL it was asked about.
        server: String,
    },
}

/// The environment variables and paths discovery reads, so tests never mutate the process env.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `$REGISTRY_AUTH_FILE`.
    pub registry_auth_file: Option<PathBuf>,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$PATH`, used to find `docker-credential-*` programs.
    pub helper_path: Option<OsString>,
}

impl Environment {
    /// Reads the variables from this process; empty values count as unset.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        Environment {
            registry_auth_file: var("REGISTRY_AUTH_FILE").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            helper_path: var("PATH"),
        }
    }
}

/// The two on-disk layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileFormat {
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
struct AuthEntry {
    /// The key as written in the file (safe to show).
    key: String,
    /// The key normalised by [`normalize_key`].
    normalized: String,
    auth: Option<Secret>,
    identity_token: Option<Secret>,
    username: Option<String>,
    password: Option<Secret>,
}

/// One parsed auth file.
#[derive(Debug)]
struct AuthFile {
    path: PathBuf,
    entries: Vec<AuthEntry>,
    /// `(normalised host, helper name)` pairs from `credHelpers`.
    cred_helpers: Vec<(String, String)>,
    creds_store: Option<String>,
}

/// Credentials from auth files and credential helpers, in search order.
pub struct AuthStore {
    files: Vec<AuthFile>,
    helper_path: Option<OsString>,
    helper_timeout: Duration,
    /// Helper answers by `(helper, server URL)`, so a mirror run asks each
    /// helper once per registry rather than once per image. Errors are not
    /// cached.
    helper_cache: Mutex<HashMap<(String, String), Option<Credentials>>>,
}

impl fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Entries print redacted secrets; the cache is summarised by size only.
        let cached = self
            .helper_cache
            .lock()
            .map(|cache| cache.len())
            .unwrap_or_default();
        f.debug_struct("AuthStore")
            .field("files", &self.files)
            .field("helper_path", &self.helper_path)
            .field("helper_timeout", &self.helper_timeout)
            .field("cached_helper_answers", &cached)
            .finish()
    }
}

impl Default for AuthStore {
    fn default() -> AuthStore {
        AuthStore::empty()
    }
}

impl AuthStore {
    /// Search order: explicit `--authfile` (must exist, else error), else `$REGISTRY_AUTH_FILE` (must exist),
    /// else every existing file of: `$XDG_RUNTIME_DIR/containers/auth.json`, `$HOME/.config/containers/auth.json`,
    /// `$HOME/.docker/config.json`, `$HOME/.dockercfg` (legacy format: top-level map without "auths").
    ///
    /// An explicit or environment file replaces the defaults rather than
    /// being added to them. Files are read and parsed here, so a malformed
    /// file is reported before any network traffic; individual entries are
    /// decoded only when a lookup reaches them.
    pub fn discover(explicit: Option<&Path>, env: &Environment) -> Result<AuthStore, AuthError> {
        let mut files = Vec::new();
        // A file the user named must exist: silently falling back to other
        // credentials (or none) would turn a typo into confusing 401s later.
        if let Some(path) = explicit {
            let file = AuthFile::load(path, FileFormat::Modern)?.ok_or_else(|| {
                AuthError::ExplicitAuthFileMissing {
                    path: path.to_owned(),
                }
            })?;
            files.push(file);
        } else if let Some(path) = &env.registry_auth_file {
            let file = AuthFile::load(path, FileFormat::Modern)?
                .ok_or_else(|| AuthError::EnvAuthFileMissing { path: path.clone() })?;
            files.push(file);
        } else {
            // Default locations are optional; each one present is a source.
            // Read errors other than "not found" (e.g. permissions) still
            // fail, again so that a broken file is not mistaken for no login.
            for (path, format) in default_locations(env) {
                if let Some(file) = AuthFile::load(&path, format)? {
                    files.push(file);
                }
            }
        }
        // Helpers are found on the search path at lookup time, so a store
        // whose files name no helpers never touches `PATH`.
        let store = AuthStore {
            files,
            helper_path: env.helper_path.clone(),
            ..AuthStore::empty()
        };
        debug!(sources = ?store.sources(), "registry credential sources");
        Ok(store)
    }

    /// A store with no files: every lookup is anonymous.
    pub fn empty() -> AuthStore {
        AuthStore {
            files: Vec::new(),
            helper_path: None,
            helper_timeout: HELPER_TIMEOUT,
            helper_cache: Mutex::new(HashMap::new()),
        }
    }

    /// `registry` is host[:port] as in a reference (e.g. `quay.io`, `127.0.0.1:5000`, `docker.io`), `repository` its path.
    ///
    /// Returns `Ok(None)` when no source has credentials, meaning the caller
    /// should try anonymous access. Within each file, in search order:
    /// a `credHelpers` entry for the host is asked first; otherwise the most
    /// specific `auths` entry covering the repository is used; if that gives
    /// nothing (no entry, or `{}` as `docker login` writes next to a store),
    /// `credsStore` is asked. The first file with an answer wins.
    pub async fn lookup(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Credentials>, AuthError> {
        let host = canonical_host(registry);
        // Keys to try in each file, most specific first.
        let candidates = candidate_keys(&host, repository);
        for file in &self.files {
            if let Some(helper) = file.helper_for(&host) {
                debug!(file = %file.path.display(), registry = %host, helper, "asking credential helper from `credHelpers`");
                if let Some(found) = self.ask_helper(helper, &host, &file.path).await? {
                    return Ok(Some(found));
                }
                // A helper that knows nothing about the host hides this
                // file's `auths` for it, as in containers/image.
                continue;
            }
            if let Some(entry) = file.find_entry(&candidates) {
                if let Some(found) = entry.credentials(&file.path)? {
                    debug!(file = %file.path.display(), key = %entry.key, "using credentials from auth file entry");
                    return Ok(Some(found));
                }
                debug!(file = %file.path.display(), key = %entry.key, "auth file entry holds no credentials");
            }
            if let Some(store) = &file.creds_store {
                debug!(file = %file.path.display(), registry = %host, helper = %store, "asking credential helper from `credsStore`");
                if let Some(found) = self.ask_helper(store, &host, &file.path).await? {
                    return Ok(Some(found));
                }
            }
        }
        debug!(registry = %host, repository, "no credentials found; using anonymous access");
        Ok(None)
    }

    /// Where credentials came from, for `--log-level debug` (paths only, never secrets).
    pub fn sources(&self) -> Vec<PathBuf> {
        self.files.iter().map(|file| file.path.clone()).collect()
    }

    /// Asks helper `name` (configured in `config`) for `host`'s credentials,
    /// answering from the cache when it can.
    async fn ask_helper(
        &self,
        name: &str,
        host: &str,
        config: &Path,
    ) -> Result<Option<Credentials>, AuthError> {
        if !is_valid_helper_name(name) {
            return Err(AuthError::InvalidHelperName {
                helper: name.to_owned(),
                path: config.to_owned(),
            });
        }
        let server = helper_server_url(host);
        let cache_key = (name.to_owned(), server.clone());
        if let Some(answer) = self.cached(&cache_key) {
            return Ok(answer);
        }
        let program = find_helper(name, self.helper_path.as_ref()).ok_or_else(|| {
            AuthError::HelperNotFound {
                helper: name.to_owned(),
                path: config.to_owned(),
            }
        })?;
        let answer = run_helper(&program, name, &server, self.helper_timeout).await?;
        debug!(helper = name, server = %server, found = answer.is_some(), "credential helper answered");
        if let Ok(mut cache) = self.helper_cache.lock() {
            cache.insert(cache_key, answer.clone());
        }
        Ok(answer)
    }

    /// A cached helper answer, if any.
    fn cached(&self, key: &(String, String)) -> Option<Option<Credentials>> {
        self.helper_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(key).cloned())
    }
}

/// The default files, in search order, with their formats.
fn default_locations(env: &Environment) -> Vec<(PathBuf, FileFormat)> {
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
    fn load(path: &Path, format: FileFormat) -> Result<Option<AuthFile>, AuthError> {
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
    fn helper_for(&self, host: &str) -> Option<&str> {
        self.cred_helpers
            .iter()
            .find(|(key, _)| key == host)
            .map(|(_, helper)| helper.as_str())
    }

    /// The entry for the first (most specific) candidate key that has one.
    /// If several keys normalise to the same candidate, the one written
    /// exactly as the candidate wins, then the first in key order.
    fn find_entry(&self, candidates: &[String]) -> Option<&AuthEntry> {
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
fn redact_quoted(text: &str) -> String {
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
    fn credentials(&self, path: &Path) -> Result<Option<Credentials>, AuthError> {
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

/// Normalises an `auths`/`credHelpers` key: drops an `http(s)://` scheme,
/// trailing `/`, and an API suffix `/v1` or `/v2` (only on URL forms, or
/// directly after the host, so a repository named `v2` keeps its key), and
/// folds Docker Hub's host aliases.
fn normalize_key(raw: &str) -> String {
    let trimmed = raw.trim();
    let (had_scheme, rest) = strip_scheme(trimmed);
    let mut rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if had_scheme || path == "v1" || path == "v2" {
        for suffix in ["/v1", "/v2"] {
            if let Some(stripped) = rest.strip_suffix(suffix) {
                rest = stripped.trim_end_matches('/');
                break;
            }
        }
    }
    let (_, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = canonical_host(host);
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// Strips a case-insensitive `http://` or `https://`, saying whether one was there.
fn strip_scheme(text: &str) -> (bool, &str) {
    for scheme in ["https://", "http://"] {
        if let Some(prefix) = text.get(..scheme.len())
            && prefix.eq_ignore_ascii_case(scheme)
        {
            return (true, &text[scheme.len()..]);
        }
    }
    (false, text)
}

/// The comparable form of a registry host: no scheme or slashes, lower
/// case, Docker Hub aliases folded into `docker.io`.
fn canonical_host(registry: &str) -> String {
    let (_, rest) = strip_scheme(registry.trim());
    let host = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        _ => host,
    }
}

/// Keys to try for a repository, most specific first:
/// `host/a/b/c`, `host/a/b`, `host/a`, `host`.
fn candidate_keys(host: &str, repository: &str) -> Vec<String> {
    let repository = repository.trim_matches('/');
    let mut name = if repository.is_empty() {
        host.to_owned()
    } else if host == DOCKER_HUB && !repository.contains('/') {
        // Docker Hub's official images live under `library/`.
        format!("{host}/library/{repository}")
    } else {
        format!("{host}/{repository}")
    };
    let mut keys = Vec::new();
    loop {
        keys.push(name.clone());
        match name.rfind('/') {
            Some(slash) => name.truncate(slash),
            None => break,
        }
    }
    keys
}

/// The server URL a helper is asked about: the host, except Docker Hub,
/// which `docker login` stores under its old index URL.
fn helper_server_url(host: &str) -> String {
    if host == DOCKER_HUB {
        DOCKER_HUB_SERVER_URL.to_owned()
    } else {
        host.to_owned()
    }
}

/// Helper names become part of an executable name, so they must not
/// contain path separators or anything else unusual.
fn is_valid_helper_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Finds `docker-credential-<name>` on `search_path`. Relative directories
/// (including the empty entry, meaning the current directory) are skipped
/// so a checkout cannot plant a helper.
fn find_helper(name: &str, search_path: Option<&OsString>) -> Option<PathBuf> {
    let file_name = format!("{HELPER_PREFIX}{name}");
    std::env::split_paths(search_path?)
        .filter(|dir| dir.is_absolute())
        .flat_map(|dir| executable_names(&file_name).map(move |candidate| dir.join(candidate)))
        .find(|candidate| is_executable(candidate))
}

/// File names to try for a program.
#[cfg(not(windows))]
fn executable_names(file_name: &str) -> impl Iterator<Item = String> {
    std::iter::once(file_name.to_owned())
}

/// File names to try for a program.
#[cfg(windows)]
fn executable_names(file_name: &str) -> impl Iterator<Item = String> {
    [format!("{file_name}.exe"), file_name.to_owned()].into_iter()
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What a helper prints on success. Deliberately not `Debug`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `<program> get` with `server` on stdin, directly (no shell), and
/// kills it if it takes longer than `timeout`.
async fn run_helper(
    program: &Path,
    name: &str,
    server: &str,
    timeout: Duration,
) -> Result<Option<Credentials>, AuthError> {
    let spawn_failed = |source| AuthError::HelperSpawnFailed {
        program: program.to_owned(),
        source,
    };
    let mut child = tokio::process::Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_failed)?;
    let stdin = child.stdin.take();
    let exchange = async move {
        if let Some(mut stdin) = stdin {
            // A helper may exit without reading stdin; its exit status and
            // output tell what happened, so a broken pipe here is not fatal.
            if let Err(err) = stdin.write_all(server.as_bytes()).await {
                debug!(helper = name, error = %err, "could not write server URL to credential helper");
            }
            drop(stdin);
        }
        child.wait_with_output().await
    };
    // On timeout the future (and with it the child) is dropped, which kills it.
    let output = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result.map_err(spawn_failed)?,
        Err(_) => {
            return Err(AuthError::HelperTimedOut {
                helper: name.to_owned(),
                server: server.to_owned(),
                timeout,
            });
        }
    };
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if contains_not_found(&stdout) || contains_not_found(&stderr) {
            return Ok(None);
        }
        return Err(AuthError::HelperFailed {
            helper: name.to_owned(),
            server: server.to_owned(),
            status: output.status.to_string(),
            message: helper_message(&stderr, &stdout),
        });
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&output.stdout).map_err(|_| AuthError::HelperOutputInvalid {
            helper: name.to_owned(),
            server: server.to_owned(),
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    let kind = if answer.username == TOKEN_USERNAME {
        CredentialKind::IdentityToken
    } else {
        CredentialKind::Password
    };
    Ok(Some(Credentials {
        username: answer.username,
        secret: Secret(answer.secret),
        kind,
    }))
}

/// Whether helper output is the protocol's "credentials not found" answer.
fn contains_not_found(output: &str) -> bool {
    output.to_ascii_lowercase().contains(HELPER_NOT_FOUND_TEXT)
}

/// The error text to report for a failed helper: stderr, else stdout
/// unless it looks like a JSON answer (which could hold a secret), trimmed
/// and capped in length.
fn helper_message(stderr: &str, stdout: &str) -> String {
    let stderr = stderr.trim();
    let stdout = stdout.trim();
    let text = if !stderr.is_empty() {
        stderr
    } else if !stdout.is_empty() && !stdout.starts_with('{') {
        stdout
    } else {
        return "no error output".to_owned();
    };
    match text.char_indices().nth(MAX_HELPER_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use std::fs;
    use tempfile::TempDir;

    /// A fake HOME, XDG_RUNTIME_DIR and helper directory under one temp dir.
    struct Sandbox {
        dir: TempDir,
    }

    impl Sandbox {
        fn new() -> Sandbox {
            Sandbox {
                dir: tempfile::tempdir().expect("temp dir"),
            }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        fn env(&self) -> Environment {
            Environment {
                registry_auth_file: None,
                xdg_runtime_dir: Some(self.path("run")),
                home: Some(self.path("home")),
                helper_path: Some(self.path("bin").into_os_string()),
            }
        }

        /// Writes `contents` at `rel`, creating parent directories.
        fn write(&self, rel: &str, contents: &str) -> PathBuf {
            let path = self.path(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, contents).expect("write");
            path
        }

        /// Installs an executable `bin/docker-credential-<name>` script.
        ///
        /// The script is written to a side file and copied into place by
        /// `cp`, so no write descriptor for the executable ever exists in
        /// this (multi-threaded) test process; otherwise a concurrent fork
        /// could inherit it and make exec fail with "text file busy".
        fn helper(&self, name: &str, script: &str) {
            let source = self.write(&format!("scripts/{name}.sh"), script);
            let target = self.path(&format!("bin/{HELPER_PREFIX}{name}"));
            fs::create_dir_all(self.path("bin")).expect("mkdir bin");
            let status = std::process::Command::new("cp")
                .arg(&source)
                .arg(&target)
                .status()
                .expect("cp");
            assert!(status.success());
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).expect("chmod");
        }

        fn store(&self) -> AuthStore {
            AuthStore::discover(None, &self.env()).expect("discover")
        }
    }

    fn b64(text: &str) -> String {
        STANDARD.encode(text)
    }

    /// An auth file with one `auth` entry per `(key, user, password)`.
    fn auths(entries: &[(&str, &str, &str)]) -> String {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(key, user, pass)| {
                (
                    (*key).to_owned(),
                    serde_json::json!({ "auth": b64(&format!("{user}:{pass}")) }),
                )
            })
            .collect();
        serde_json::json!({ "auths": map }).to_string()
    }

    async fn user(store: &AuthStore, registry: &str, repo: &str) -> Option<String> {
        store
            .lookup(registry, repo)
            .await
            .expect("lookup")
            .map(|c| c.username)
    }

    /// The helper used by most helper tests: answers by server URL.
    /// It insists on the `get` verb, reads the server URL from stdin as the
    /// protocol requires, and covers the answers a real helper can give:
    /// credentials, an identity token, a failure on stderr, output that is
    /// not JSON, and the protocol's "not found" text with a non-zero exit.
    const TEST_HELPER: &str = r#"#!/bin/sh
[ "$1" = get ] || { echo "unexpected verb $1" >&2; exit 3; }
server=$(cat)
case "$server" in
  helper.example.com)
    printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$server" ;;
  token.example.com)
    printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-secret"}' "$server" ;;
  https://index.docker.io/v1/)
    printf '{"ServerURL":"%s","Username":"hub-user","Secret":"hub-secret"}' "$server" ;;
  broken.example.com)
    echo "the keyring is locked" >&2; exit 2 ;;
  garbage.example.com)
    echo "not json at all" ;;
  *)
    echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;

    /// All four default files are read in order, and each registry is answered
    /// by the first file that has an entry for it (legacy `.dockercfg` included).
    #[tokio::test]
    async fn search_order_first_file_with_a_match_wins() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[("quay.io", "xdg", "p1")]),
        );
        sb.write(
            "home/.config/containers/auth.json",
            &auths(&[("quay.io", "config", "p2"), ("ghcr.io", "config", "p2")]),
        );
        sb.write(
            "home/.docker/config.json",
            &auths(&[("ghcr.io", "docker", "p3"), ("gcr.io", "docker", "p3")]),
        );
        sb.write(
            "home/.dockercfg",
            &serde_json::json!({ "legacy.example.com": { "auth": b64("legacy:p4"), "email": "a@b" } })
                .to_string(),
        );
        let store = sb.store();
        assert_eq!(
            store.sources(),
            vec![
                sb.path("run/containers/auth.json"),
                sb.path("home/.config/containers/auth.json"),
                sb.path("home/.docker/config.json"),
                sb.path("home/.dockercfg"),
            ]
        );
        assert_eq!(user(&store, "quay.io", "a/b").await.as_deref(), Some("xdg"));
        assert_eq!(
            user(&store, "ghcr.io", "a/b").await.as_deref(),
            Some("config")
        );
        assert_eq!(
            user(&store, "gcr.io", "a/b").await.as_deref(),
            Some("docker")
        );
        assert_eq!(
            user(&store, "legacy.example.com", "a").await.as_deref(),
            Some("legacy")
        );
        assert_eq!(user(&store, "other.example.com", "a").await, None);
    }

    /// Absent default files are simply not sources; no HOME is not an error.
    #[tokio::test]
    async fn missing_default_files_are_skipped() {
        let sb = Sandbox::new();
        sb.write("home/.docker/config.json", &auths(&[("quay.io", "u", "p")]));
        let store = sb.store();
        assert_eq!(store.sources(), vec![sb.path("home/.docker/config.json")]);
        let creds = store.lookup("quay.io", "ns/repo").await.expect("lookup");
        let creds = creds.expect("credentials");
        assert_eq!(creds.secret(), "p");
        assert_eq!(creds.kind, CredentialKind::Password);
        assert_eq!(
            creds.to_registry_auth(),
            RegistryAuth::Basic("u".into(), "p".into())
        );
        // No HOME and no XDG_RUNTIME_DIR: nothing to read, not an error.
        let none = AuthStore::discover(None, &Environment::default()).expect("discover");
        assert!(none.sources().is_empty());
        assert_eq!(user(&none, "quay.io", "x").await, None);
    }

    /// `--authfile` beats `REGISTRY_AUTH_FILE` and the defaults, and is the only source.
    #[tokio::test]
    async fn explicit_authfile_replaces_everything_else() {
        let sb = Sandbox::new();
        let explicit = sb.write("explicit.json", &auths(&[("quay.io", "explicit", "p")]));
        let from_env = sb.write("env.json", &auths(&[("quay.io", "env", "p")]));
        sb.write(
            "run/containers/auth.json",
            &auths(&[("ghcr.io", "xdg", "p")]),
        );
        let env = Environment {
            registry_auth_file: Some(from_env),
            ..sb.env()
        };
        let store = AuthStore::discover(Some(&explicit), &env).expect("discover");
        assert_eq!(store.sources(), vec![explicit]);
        assert_eq!(
            user(&store, "quay.io", "r").await.as_deref(),
            Some("explicit")
        );
        // Defaults are not consulted when a file was named.
        assert_eq!(user(&store, "ghcr.io", "r").await, None);
    }

    /// A missing `--authfile` is an error even when default files exist.
    #[test]
    fn explicit_authfile_missing_is_an_error() {
        let sb = Sandbox::new();
        sb.write("run/containers/auth.json", &auths(&[("quay.io", "u", "p")]));
        let missing = sb.path("nope.json");
        let err = AuthStore::discover(Some(&missing), &sb.env()).expect_err("must fail");
        assert!(matches!(err, AuthError::ExplicitAuthFileMissing { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{}`", missing.display())), "{msg}");
        assert!(
            msg.contains("hint: check the path given to `--authfile`"),
            "{msg}"
        );
    }

    /// `REGISTRY_AUTH_FILE` replaces the default locations.
    #[tokio::test]
    async fn registry_auth_file_is_used_instead_of_defaults() {
        let sb = Sandbox::new();
        let from_env = sb.write("env.json", &auths(&[("quay.io", "env", "p")]));
        sb.write(
            "run/containers/auth.json",
            &auths(&[("quay.io", "xdg", "p")]),
        );
        let env = Environment {
            registry_auth_file: Some(from_env.clone()),
            ..sb.env()
        };
        let store = AuthStore::discover(None, &env).expect("discover");
        assert_eq!(store.sources(), vec![from_env]);
        assert_eq!(user(&store, "quay.io", "r").await.as_deref(), Some("env"));
    }

    /// A `REGISTRY_AUTH_FILE` that points nowhere is an error, not a silent fallback.
    #[test]
    fn registry_auth_file_missing_is_an_error() {
        let sb = Sandbox::new();
        let env = Environment {
            registry_auth_file: Some(sb.path("gone.json")),
            ..sb.env()
        };
        let err = AuthStore::discover(None, &env).expect_err("must fail");
        assert!(matches!(err, AuthError::EnvAuthFileMissing { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("REGISTRY_AUTH_FILE") && msg.contains("gone.json"),
            "{msg}"
        );
        assert!(msg.contains("\nhint: "), "{msg}");
    }

    /// Path-scoped keys: `host/ns/repo` over `host/ns` over `host`, by path segment.
    #[tokio::test]
    async fn most_specific_key_wins() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[
                ("quay.io", "host", "p"),
                ("quay.io/ns", "namespace", "p"),
                ("quay.io/ns/repo", "repo", "p"),
                ("quay.io/ns/repo-other", "other", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "quay.io", "ns/repo").await.as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(&store, "quay.io", "ns/repo/sub").await.as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(&store, "quay.io", "ns/another").await.as_deref(),
            Some("namespace")
        );
        // A key is a path prefix, not a string prefix.
        assert_eq!(
            user(&store, "quay.io", "ns/rep").await.as_deref(),
            Some("namespace")
        );
        assert_eq!(
            user(&store, "quay.io", "nsx/repo").await.as_deref(),
            Some("host")
        );
        assert_eq!(user(&store, "quay.io", "").await.as_deref(), Some("host"));
    }

    /// `docker.io`, `index.docker.io`, `registry-1.docker.io` and the v1 URL are one registry.
    #[tokio::test]
    async fn docker_hub_aliases() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[("https://index.docker.io/v1/", "hub", "p")]),
        );
        sb.write(
            "home/.docker/config.json",
            &auths(&[
                ("registry-1.docker.io", "reg1", "p"),
                ("index.docker.io/myorg", "org", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "docker.io", "library/busybox")
                .await
                .as_deref(),
            Some("hub")
        );
        assert_eq!(
            user(&store, "index.docker.io", "busybox").await.as_deref(),
            Some("hub")
        );
        assert_eq!(
            user(&store, "registry-1.docker.io", "x/y").await.as_deref(),
            Some("hub")
        );

        // With only the second file, `registry-1.docker.io` serves docker.io
        // and a path-scoped alias key still scopes.
        let sb2 = Sandbox::new();
        sb2.write(
            "home/.docker/config.json",
            &auths(&[
                ("registry-1.docker.io", "reg1", "p"),
                ("index.docker.io/myorg", "org", "p"),
            ]),
        );
        let store = sb2.store();
        assert_eq!(
            user(&store, "docker.io", "library/busybox")
                .await
                .as_deref(),
            Some("reg1")
        );
        assert_eq!(
            user(&store, "docker.io", "myorg/app").await.as_deref(),
            Some("org")
        );
        // Other registries are not Docker Hub.
        assert_eq!(user(&store, "quay.io", "myorg/app").await, None);
    }

    /// Scheme, trailing slash and API-version suffixes are dropped from keys.
    #[tokio::test]
    async fn url_form_keys_are_normalised() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[
                ("http://127.0.0.1:5000", "local", "p"),
                ("https://registry.example.com/v2/", "v2", "p"),
                ("HTTPS://Upper.Example.com/", "upper", "p"),
                ("plain.example.com/", "plain", "p"),
                ("repo.example.com/ns/v2", "repo-named-v2", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "127.0.0.1:5000", "a/b").await.as_deref(),
            Some("local")
        );
        assert_eq!(
            user(&store, "registry.example.com", "a").await.as_deref(),
            Some("v2")
        );
        assert_eq!(
            user(&store, "upper.example.com", "a").await.as_deref(),
            Some("upper")
        );
        assert_eq!(
            user(&store, "plain.example.com", "a").await.as_deref(),
            Some("plain")
        );
        // Without a scheme, a trailing `v2` deeper in the path is a repository.
        assert_eq!(
            user(&store, "repo.example.com", "ns/v2").await.as_deref(),
            Some("repo-named-v2")
        );
        assert_eq!(user(&store, "repo.example.com", "ns/other").await, None);
        // 127.0.0.1 on another port is another registry.
        assert_eq!(user(&store, "127.0.0.1:5001", "a").await, None);
    }

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

    /// `credHelpers` win over `auths` for their host, including for tokens.
    #[tokio::test]
    async fn cred_helpers_take_precedence_over_auths() {
        let sb = Sandbox::new();
        sb.helper("test", TEST_HELPER);
        sb.write(
            "run/containers/auth.json",
            &serde_json::json!({
                "auths": { "helper.example.com": { "auth": b64("file-user:p") } },
                "credHelpers": { "helper.example.com": "test", "token.example.com": "test",
                                 "missing.example.com": "test" },
            })
            .to_string(),
        );
        sb.write(
            "home/.docker/config.json",
            &auths(&[("missing.example.com", "later", "p")]),
        );
        let store = sb.store();
        // The file's own `auths` entry for the host is ignored in favour of
        // the helper.
        let creds = store
            .lookup("helper.example.com", "a/b")
            .await
            .expect("lookup")
            .expect("creds");
        assert_eq!(
            (creds.username.as_str(), creds.secret()),
            ("helper-user", "helper-secret")
        );
        assert_eq!(creds.kind, CredentialKind::Password);

        let tok = store
            .lookup("token.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        assert_eq!(tok.kind, CredentialKind::IdentityToken);
        assert_eq!(tok.secret(), "refresh-secret");

        // The helper's "not found" hides this file; the next file answers.
        assert_eq!(
            user(&store, "missing.example.com", "a").await.as_deref(),
            Some("later")
        );
    }

    /// `credsStore` answers for hosts with no usable `auths` entry in its file.
    #[tokio::test]
    async fn creds_store_is_the_fallback() {
        let sb = Sandbox::new();
        sb.helper("test", TEST_HELPER);
        sb.write(
            "home/.docker/config.json",
            &serde_json::json!({
                "auths": {
                    "https://index.docker.io/v1/": {},
                    "quay.io": { "auth": b64("file-user:p") },
                },
                "credsStore": "test",
            })
            .to_string(),
        );
        let store = sb.store();
        // A `{}` entry (as docker writes next to a store) defers to the store,
        // which is asked with Docker Hub's server URL.
        assert_eq!(
            user(&store, "docker.io", "library/alpine").await.as_deref(),
            Some("hub-user")
        );
        // No entry at all: the store too.
        assert_eq!(
            user(&store, "helper.example.com", "a").await.as_deref(),
            Some("helper-user")
        );
        // An entry with credentials is used without asking the store.
        assert_eq!(
            user(&store, "quay.io", "a").await.as_deref(),
            Some("file-user")
        );
        // The store's "not found" means anonymous.
        assert_eq!(user(&store, "unknown.example.com", "a").await, None);
    }

    /// A failing helper is an error carrying its stderr; bad output is an error too.
    #[tokio::test]
    async fn helper_failure_reports_its_stderr() {
        let sb = Sandbox::new();
        sb.helper("test", TEST_HELPER);
        sb.write(
            "run/containers/auth.json",
            r#"{"credHelpers": {"broken.example.com": "test", "garbage.example.com": "test"}}"#,
        );
        let store = sb.store();
        let err = store
            .lookup("broken.example.com", "a")
            .await
            .expect_err("fails");
        let msg = err.to_string();
        assert!(matches!(err, AuthError::HelperFailed { .. }));
        assert!(msg.contains("`docker-credential-test`"), "{msg}");
        assert!(msg.contains("the keyring is locked"), "{msg}");

        let err = store
            .lookup("garbage.example.com", "a")
            .await
            .expect_err("bad output");
        assert!(
            matches!(err, AuthError::HelperOutputInvalid { .. }),
            "{err}"
        );
    }

    /// A helper that is not installed names the program and the file to fix.
    #[tokio::test]
    async fn missing_helper_binary_has_a_hint() {
        let sb = Sandbox::new();
        let path = sb.write(
            "run/containers/auth.json",
            r#"{"credHelpers": {"quay.io": "nosuch"}}"#,
        );
        let err = sb
            .store()
            .lookup("quay.io", "a")
            .await
            .expect_err("missing helper");
        let msg = err.to_string();
        assert!(matches!(err, AuthError::HelperNotFound { .. }));
        assert!(msg.contains("`docker-credential-nosuch`"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("hint: install `docker-credential-nosuch`"),
            "{msg}"
        );
    }

    /// Helper names are program-name suffixes, never paths.
    #[tokio::test]
    async fn helper_names_cannot_be_paths() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            r#"{"credsStore": "../../bin/sh"}"#,
        );
        let err = sb
            .store()
            .lookup("quay.io", "a")
            .await
            .expect_err("bad name");
        assert!(matches!(err, AuthError::InvalidHelperName { .. }), "{err}");
    }

    /// A hung helper is killed instead of stalling the mirror.
    #[tokio::test]
    async fn slow_helper_is_killed_after_the_timeout() {
        let sb = Sandbox::new();
        sb.helper("slow", "#!/bin/sh\nexec sleep 10\n");
        sb.write("run/containers/auth.json", r#"{"credsStore": "slow"}"#);
        let mut store = sb.store();
        store.helper_timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let err = store.lookup("quay.io", "a").await.expect_err("timeout");
        assert!(matches!(err, AuthError::HelperTimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// Each helper is run once per server, however many repositories are looked up.
    #[tokio::test]
    async fn helper_answers_are_cached() {
        let sb = Sandbox::new();
        let counter = sb.path("calls");
        sb.helper(
            "count",
            &format!(
                "#!/bin/sh\necho x >> '{}'\ncat >/dev/null\nprintf '{{\"Username\":\"u\",\"Secret\":\"s\"}}'\n",
                counter.display()
            ),
        );
        sb.write("run/containers/auth.json", r#"{"credsStore": "count"}"#);
        let store = sb.store();
        for repo in ["a", "b", "c"] {
            assert_eq!(user(&store, "quay.io", repo).await.as_deref(), Some("u"));
        }
        let calls = fs::read_to_string(&counter).expect("counter");
        assert_eq!(calls.lines().count(), 1);
    }

    /// No Debug or Display output of store, credentials or oci-client auth holds a secret.
    #[tokio::test]
    async fn debug_output_never_shows_secrets() {
        let sb = Sandbox::new();
        sb.helper("test", TEST_HELPER);
        sb.write(
            "run/containers/auth.json",
            &serde_json::json!({
                "auths": {
                    "quay.io": { "auth": b64("alice:file-password") },
                    "token.example.com": { "identitytoken": "identity-secret" },
                    "fields.example.com": { "username": "carol", "password": "field-password" },
                },
                "credHelpers": { "helper.example.com": "test" },
            })
            .to_string(),
        );
        let store = sb.store();
        let creds = store
            .lookup("quay.io", "a")
            .await
            .expect("lookup")
            .expect("creds");
        let helper = store
            .lookup("helper.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        let texts = [
            format!("{store:?}"),
            format!("{creds:?}"),
            format!("{creds}"),
            format!("{helper:?}"),
            format!("{helper}"),
            format!("{:?}", creds.to_registry_auth()),
        ];
        for text in &texts {
            for secret in [
                "file-password",
                b64("alice:file-password").as_str(),
                "identity-secret",
                "field-password",
                "helper-secret",
            ] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
        }
        assert!(texts[1].contains("alice") && texts[1].contains("<redacted>"));
        assert!(texts[0].contains("quay.io"));
    }

    /// Unit checks for the key and candidate helpers.
    #[test]
    fn key_normalisation() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("http://Host:5000"), "host:5000");
        assert_eq!(normalize_key("host/v2/"), "host");
        assert_eq!(normalize_key("host/ns/v2"), "host/ns/v2");
        assert_eq!(normalize_key("https://host/ns/"), "host/ns");
        assert_eq!(
            candidate_keys("quay.io", "/a/b/"),
            vec!["quay.io/a/b", "quay.io/a", "quay.io"]
        );
        assert_eq!(
            candidate_keys("docker.io", "alpine"),
            vec!["docker.io/library/alpine", "docker.io/library", "docker.io"]
        );
        assert_eq!(
            redact_quoted(r#"invalid type: string "abc", expected `x`"#),
            "invalid type: string \"…\", expected `…`"
        );
    }

    /// The empty store never has credentials.
    #[tokio::test]
    async fn empty_store_is_anonymous() {
        let store = AuthStore::empty();
        assert!(store.sources().is_empty());
        assert_eq!(user(&store, "quay.io", "a").await, None);
    }
}
