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
//!
//! The files:
//!
//! * this one: [`AuthStore`], its search order and the public API;
//! * `files.rs`: finding, reading and decoding auth files (`auth.json`,
//!   docker's `config.json`, the legacy `.dockercfg`);
//! * `keys.rs`: how registries and `auths` keys are compared (URL forms,
//!   Docker Hub aliases, repository-scoped keys);
//! * `helpers.rs`: running `docker-credential-*` helpers for `credHelpers`
//!   and `credsStore`, with their time limit and cache;
//! * `credentials.rs`: [`Credentials`], the one type that holds a secret.

mod credentials;
mod files;
mod helpers;
mod keys;
#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tracing::debug;

pub use credentials::{CredentialKind, Credentials};
use files::{AuthFile, FileFormat, default_locations};
use helpers::{HELPER_PREFIX, HELPER_TIMEOUT};
use keys::{candidate_keys, canonical_host};

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

/// The environment variables and paths discovery reads, handed in (by
/// [`crate::settings::Environment`], the one reader of the environment), so
/// tests never mutate the process env.
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

    /// `registry` is `host[:port]` as in a reference (e.g. `quay.io`, `127.0.0.1:5000`, `docker.io`), `repository` its path.
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
}

#[cfg(test)]
mod tests {
    use oci_client::secrets::RegistryAuth;

    use super::*;
    use crate::registry::auth::test_support::*;

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

    /// The empty store never has credentials.
    #[tokio::test]
    async fn empty_store_is_anonymous() {
        let store = AuthStore::empty();
        assert!(store.sources().is_empty());
        assert_eq!(user(&store, "quay.io", "a").await, None);
    }
}
