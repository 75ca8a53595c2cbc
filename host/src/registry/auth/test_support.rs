//! The sandbox and fixtures that the tests of every auth file share: a fake
//! home directory with auth files and helper scripts, and a scripted helper.

use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tempfile::TempDir;

use super::helpers::HELPER_PREFIX;
use super::{AuthStore, Environment};

/// A fake HOME, XDG_RUNTIME_DIR and helper directory under one temp dir.
pub(super) struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    pub(super) fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(super) fn env(&self) -> Environment {
        Environment {
            registry_auth_file: None,
            xdg_runtime_dir: Some(self.path("run")),
            home: Some(self.path("home")),
            helper_path: Some(self.path("bin").into_os_string()),
        }
    }

    /// Writes `contents` at `rel`, creating parent directories.
    pub(super) fn write(&self, rel: &str, contents: &str) -> PathBuf {
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
    pub(super) fn helper(&self, name: &str, script: &str) {
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

    pub(super) fn store(&self) -> AuthStore {
        AuthStore::discover(None, &self.env()).expect("discover")
    }
}

pub(super) fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// An auth file with one `auth` entry per `(key, user, password)`.
pub(super) fn auths(entries: &[(&str, &str, &str)]) -> String {
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

pub(super) async fn user(store: &AuthStore, registry: &str, repo: &str) -> Option<String> {
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
pub(super) const TEST_HELPER: &str = r#"#!/bin/sh
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
