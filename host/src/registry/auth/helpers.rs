//! Credential helpers: the `docker-credential-<name>` programs that
//! `credHelpers` (per registry) and `credsStore` (for the rest) delegate to.
//!
//! A helper is an external program that may be missing, hang, or fail, and
//! whose output may hold a secret. So it is looked for only in absolute `PATH`
//! directories (a checkout cannot plant one), run without a shell, killed
//! after a time limit, and its error output is kept short and not repeated
//! when it looks like an answer. Answers are cached per helper and server for
//! the life of the store.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tracing::debug;

use super::credentials::{CredentialKind, Credentials, Secret, TOKEN_USERNAME};
use super::keys::DOCKER_HUB;
use super::{AuthError, AuthStore};

/// How long a credential helper may take before it is killed.
pub(super) const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// Credential helpers are executables named with this prefix.
pub(super) const HELPER_PREFIX: &str = "docker-credential-";
/// The server URL `docker login` stores Docker Hub credentials under.
const DOCKER_HUB_SERVER_URL: &str = "https://index.docker.io/v1/";
/// What helpers print when they hold nothing for a server.
const HELPER_NOT_FOUND_TEXT: &str = "credentials not found";
/// Longest helper error output kept in an [`AuthError`].
const MAX_HELPER_MESSAGE: usize = 1000;

impl AuthStore {
    /// Asks helper `name` (configured in `config`) for `host`'s credentials,
    /// answering from the cache when it can.
    pub(super) async fn ask_helper(
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
    use std::fs;

    use super::*;
    use crate::registry::auth::test_support::*;

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
}
