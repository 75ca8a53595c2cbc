//! Settings: flags, configuration and environment, resolved once.
//!
//! `cli/` holds the flags as the user typed them; this module holds what a
//! workflow runs with: one credential store, every registry client's
//! configuration (the metadata backend's included, with the same retries),
//! the plugin host's limits, concurrency, the backend, the release endpoints
//! and the reproducible epoch. [`Environment`] is the only reader of
//! environment variables in the program: everything else is given its values.

use crate::copy::Concurrency;
use crate::plugin::PluginHostConfig;
use crate::registry::RegistryConfig;
use crate::registry::auth;
use std::ffi::OsString;
use std::path::PathBuf;

/// Every environment variable oc-mirror reads, read once. Empty values count
/// as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `HOME`, `PATH`: where
    /// credentials and credential helpers are.
    pub auth: auth::Environment,
    /// `UPDATE_URL_OVERRIDE`: another update service (for OCP and OKD).
    pub update_url_override: Option<String>,
    /// `OCP_SIGNATURE_URL`: another release signature store.
    pub signature_url: Option<String>,
    /// `OCP_SIGNATURE_VERIFICATION_PK`: a file of armored keys to trust
    /// instead of Red Hat's release key.
    pub signature_key_file: Option<PathBuf>,
    /// `SOURCE_DATE_EPOCH`: the time written into reproducible outputs.
    pub source_date_epoch: Option<u64>,
    /// `OC_MIRROR_CACHE`, else `XDG_CACHE_HOME/oc-mirror`, else
    /// `HOME/.cache/oc-mirror`: the per-user cache.
    pub cache_dir: Option<PathBuf>,
    /// `OC_MIRROR_CRASH_AT`: a testing aid for the reliability suite (see
    /// `crashpoint.rs`), never set by users.
    pub crash_at: Option<u64>,
}

impl Environment {
    /// Reads the variables of this process (and arms its crash point, if a
    /// test set one).
    pub fn from_process() -> Environment {
        let env = Environment::from_vars(|name| std::env::var_os(name));
        crate::crashpoint::arm(env.crash_at);
        env
    }

    /// Reads the variables through `var` (tests pass their own).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Environment {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| {
            var(name)
                .map(|v| v.to_string_lossy().trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let path = |name: &str| var(name).map(PathBuf::from);
        Environment {
            auth: auth::Environment {
                registry_auth_file: path("REGISTRY_AUTH_FILE"),
                xdg_runtime_dir: path("XDG_RUNTIME_DIR"),
                home: path("HOME"),
                helper_path: var("PATH"),
            },
            update_url_override: text("UPDATE_URL_OVERRIDE"),
            signature_url: text("OCP_SIGNATURE_URL"),
            signature_key_file: text("OCP_SIGNATURE_VERIFICATION_PK").map(PathBuf::from),
            source_date_epoch: text("SOURCE_DATE_EPOCH").and_then(|v| v.parse().ok()),
            cache_dir: path("OC_MIRROR_CACHE")
                .or_else(|| path("XDG_CACHE_HOME").map(|d| d.join("oc-mirror")))
                .or_else(|| path("HOME").map(|d| d.join(".cache/oc-mirror"))),
            crash_at: text("OC_MIRROR_CRASH_AT").and_then(|v| crate::crashpoint::parse(&v)),
        }
    }

    /// Where compiled plugins are kept for this user.
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join("plugins-v1"))
    }
}

/// What the release plugin (`mirror.platform`) needs from the host: where
/// the update service and the signature store are, which key signs
/// releases, and the graph image's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSettings {
    /// The OpenShift update service's graph endpoint.
    pub update_url: String,
    /// OKD's (`UPDATE_URL_OVERRIDE` moves both, as oc-mirror v1 did).
    pub okd_update_url: String,
    /// The signature store's base URL, ending in `/`.
    pub signature_url: String,
    /// The armored public key(s) to trust instead of Red Hat's release key.
    pub signature_key: Option<String>,
    /// The base of the graph-data image (`--graph-base-image`).
    pub graph_base_image: String,
}

impl ReleaseSettings {
    pub const OCP_UPDATE_URL: &str = "https://api.openshift.com/api/upgrades_info/v1/graph";
    pub const OKD_UPDATE_URL: &str = "https://origin-release.ci.openshift.org/graph";
    pub const SIGNATURE_URL: &str =
        "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/";
    pub const GRAPH_BASE_IMAGE: &str = "registry.access.redhat.com/ubi9/ubi:latest";

    /// Defaults, then the environment, then the graph base image given.
    pub fn resolve(env: &Environment, graph_base_image: &str) -> anyhow::Result<ReleaseSettings> {
        let (update_url, okd_update_url) = match &env.update_url_override {
            Some(url) => (url.clone(), url.clone()),
            None => (Self::OCP_UPDATE_URL.into(), Self::OKD_UPDATE_URL.into()),
        };
        let mut signature_url = env
            .signature_url
            .clone()
            .unwrap_or(Self::SIGNATURE_URL.into());
        if !signature_url.ends_with('/') {
            signature_url.push('/');
        }
        let signature_key = match &env.signature_key_file {
            None => None,
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!(
                    "OCP_SIGNATURE_VERIFICATION_PK names `{}`, which cannot be read: {e}\nhint: point it at an ASCII-armored OpenPGP public key file, or unset it to trust Red Hat's release key",
                    path.display()
                )
            })?),
        };
        Ok(ReleaseSettings {
            update_url,
            okd_update_url,
            signature_url,
            signature_key,
            graph_base_image: graph_base_image.to_string(),
        })
    }

    /// `http:host[:port]` of every endpoint, for the release plugin's grants
    /// (the graph-data tarball is on the update service's host).
    pub fn http_capabilities(&self) -> Vec<String> {
        let mut out = Vec::new();
        for url in [&self.update_url, &self.okd_update_url, &self.signature_url] {
            if let Ok(u) = reqwest::Url::parse(url)
                && let Some(host) = u.host_str()
            {
                let grant = match u.port() {
                    Some(p) => format!("http:{host}:{p}"),
                    None => format!("http:{host}"),
                };
                if !out.contains(&grant) {
                    out.push(grant);
                }
            }
        }
        out
    }

    /// The `platform` section with these settings added.
    pub fn apply(&self, mut section: serde_json::Value) -> serde_json::Value {
        if let Some(object) = section.as_object_mut() {
            object.insert("updateUrl".into(), self.update_url.clone().into());
            object.insert("okdUpdateUrl".into(), self.okd_update_url.clone().into());
            object.insert("signatureUrl".into(), self.signature_url.clone().into());
            object.insert(
                "graphBaseImage".into(),
                self.graph_base_image.clone().into(),
            );
            if let Some(key) = &self.signature_key {
                object.insert("signatureKey".into(), key.clone().into());
            }
        }
        section
    }
}

/// Where the metadata history of mirror to disk is kept.
#[derive(Debug, Clone)]
pub enum BackendSettings {
    /// `working-dir/metadata` of the workspace (the default).
    Workspace,
    /// `storageConfig.local.path`.
    Local(PathBuf),
    /// `storageConfig.registry.imageURL`, through a client of its own
    /// (`skipTLS`, the destination's CAs, the run's credentials and retries).
    Registry {
        image_url: String,
        client: RegistryConfig,
    },
}

/// Everything a workflow runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Source registries.
    pub source: RegistryConfig,
    /// The mirror.
    pub destination: RegistryConfig,
    pub concurrency: Concurrency,
    /// Longest one image's copy may take (`--image-timeout`).
    pub image_timeout: std::time::Duration,
    /// The plugin runtime's limits; with no `cache_dir`, compiled plugins are
    /// kept in the workspace.
    pub plugins: PluginHostConfig,
    pub release: ReleaseSettings,
    pub backend: BackendSettings,
    /// `SOURCE_DATE_EPOCH`: archives and metadata use it (else 0); cluster
    /// resources' `createdAt` use it (else the clock).
    pub epoch: Option<u64>,
    /// Plan only (`--dry-run`).
    pub dry_run: bool,
    /// Publish and mirror to mirror: delete from the mirror what earlier
    /// sequences brought and the configuration no longer selects.
    pub prune: bool,
    /// Publish even when the imageset does not follow what the mirror holds.
    pub skip_metadata_check: bool,
    /// Mirror to disk: build against this sequence (`--since-sequence`).
    pub since_sequence: Option<crate::metadata::Sequence>,
    /// Mirror to disk: build against the newest sequence recorded before
    /// this time (`--since`, seconds).
    pub since_time: Option<u64>,
    /// Largest imageset part in bytes.
    pub max_part_bytes: u64,
}

impl Settings {
    /// Seconds for reproducible outputs: `SOURCE_DATE_EPOCH` or 0.
    pub fn reproducible_time(&self) -> u64 {
        self.epoch.unwrap_or(0)
    }

    /// Seconds for annotations: `SOURCE_DATE_EPOCH`, else now.
    pub fn annotation_time(&self) -> u64 {
        self.epoch.unwrap_or_else(crate::timestamp::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        let map: std::collections::HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Environment::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn variables_are_read_once_and_empty_means_unset() {
        let e = env(&[
            ("HOME", "/home/u"),
            ("XDG_CACHE_HOME", ""),
            ("SOURCE_DATE_EPOCH", " 1700000000 "),
            ("UPDATE_URL_OVERRIDE", "http://127.0.0.1:1/graph"),
        ]);
        assert_eq!(e.auth.home, Some(PathBuf::from("/home/u")));
        assert_eq!(e.source_date_epoch, Some(1_700_000_000));
        assert_eq!(
            e.plugin_cache_dir(),
            Some(PathBuf::from("/home/u/.cache/oc-mirror/plugins-v1"))
        );
        let e2 = env(&[("OC_MIRROR_CACHE", "/c"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(e2.plugin_cache_dir(), Some(PathBuf::from("/c/plugins-v1")));
        assert_eq!(env(&[]).plugin_cache_dir(), None);

        let r = ReleaseSettings::resolve(&e, "base:1").unwrap();
        assert_eq!(r.update_url, "http://127.0.0.1:1/graph");
        assert_eq!(r.okd_update_url, "http://127.0.0.1:1/graph");
        assert_eq!(r.signature_url, ReleaseSettings::SIGNATURE_URL);
        assert_eq!(
            r.http_capabilities(),
            ["http:127.0.0.1:1", "http:mirror.openshift.com"]
        );
    }

    #[test]
    fn an_unreadable_signature_key_is_a_clear_error() {
        let e = env(&[("OCP_SIGNATURE_VERIFICATION_PK", "/nonexistent/key.asc")]);
        let err = ReleaseSettings::resolve(&e, "b").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/key.asc"), "{err}");
        assert!(err.contains("hint:"), "{err}");
    }
}
