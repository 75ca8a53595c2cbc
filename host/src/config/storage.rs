//! `storageConfig`: where the metadata of earlier runs is kept.
//!
//! Exactly one backend, a local directory or an image in a registry; both
//! API versions accept the block (see
//! [`ImageSetConfiguration::storage_config`](super::ImageSetConfiguration::storage_config)).

use serde::{Deserialize, Serialize};

use super::check::{Check, Checker};
use super::document::is_false;

/// `storageConfig`: the metadata backend. Exactly one of the two must be set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageConfig {
    /// Keep metadata in a local directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalStorage>,
    /// Keep metadata as an image in a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryStorage>,
}

/// `storageConfig.local`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalStorage {
    /// Directory that holds the metadata.
    pub path: String,
}

/// `storageConfig.registry`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryStorage {
    /// Image reference the metadata is stored as (`:latest` if untagged).
    #[serde(rename = "imageURL")]
    pub image_url: String,
    /// Talk to that registry without TLS verification.
    #[serde(rename = "skipTLS", default, skip_serializing_if = "is_false")]
    pub skip_tls: bool,
}

impl Checker<'_> {
    pub(super) fn storage(&self, storage: &StorageConfig) -> Check {
        match (&storage.local, &storage.registry) {
            (Some(_), Some(_)) => Err(self.invalid_hint(
                "storageConfig",
                "sets both `local` and `registry`".into(),
                "keep exactly one metadata backend",
            )),
            (None, None) => Err(self.invalid_hint(
                "storageConfig",
                "sets neither `local` nor `registry`".into(),
                "add `local: {path: …}` or `registry: {imageURL: …}`, or remove `storageConfig`",
            )),
            (Some(local), None) if local.path.is_empty() => {
                Err(self.invalid("storageConfig.local.path", "must not be empty".into()))
            }
            (Some(_), None) => Ok(()),
            (None, Some(registry)) => {
                self.image_reference(&registry.image_url, "storageConfig.registry.imageURL")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn storage_config_is_accepted_in_both_versions() {
        for make in [v1, v2] {
            let text = make("  additionalImages:\n    - name: a\n")
                .replace("mirror:\n", "storageConfig:\n  registry:\n    imageURL: localhost:5000/meta:latest\n    skipTLS: true\nmirror:\n");
            let config = mirror(&text);
            let registry = config
                .storage_config
                .and_then(|s| s.registry)
                .expect("registry");
            assert!(registry.skip_tls);
        }
    }

    #[test]
    fn storage_config_checks() {
        let with = |storage: &str| {
            v1("  additionalImages: []\n")
                .replace("mirror:", &format!("storageConfig:\n{storage}mirror:"))
        };
        let shown = rejects(
            &with("  local:\n    path: /a\n  registry:\n    imageURL: a/b\n"),
            "storageConfig",
            Some(3),
        );
        assert!(shown.contains("sets both"), "{shown}");
        rejects(&with("  {}\n"), "storageConfig", Some(3));
        rejects(
            &with("  registry:\n    imageURL: a/B\n"),
            "storageConfig.registry.imageURL",
            Some(5),
        );
        rejects(
            &with("  local:\n    path: ''\n"),
            "storageConfig.local.path",
            Some(5),
        );
    }
}
