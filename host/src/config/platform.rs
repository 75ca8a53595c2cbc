//! `mirror.platform`: the OpenShift release payloads to mirror.
//!
//! Its types (channels, architectures, and the v2alpha1 `platforms` that
//! other sections reuse as [`PlatformSpec`]) and the checks on them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::check::{Check, Checker, backticked};
use super::document::is_false;

/// Architectures a release payload exists for; `multi` is the manifest list
/// that holds all of them.
const ARCHITECTURES: [&str; 5] = ["amd64", "arm64", "ppc64le", "s390x", "multi"];

/// `mirror.platform`: which release payloads to mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Platform {
    /// Update channels to take releases from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ReleaseChannel>,
    /// Also build the Cincinnati graph-data image.
    #[serde(skip_serializing_if = "is_false")]
    pub graph: bool,
    /// Payload architectures (deprecated in v2alpha1 in favour of `platforms`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// v2alpha1 only: take the `multi` payload, keeping only these platforms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformSpec>,
    /// v2alpha1 only: one explicit release image, bypassing the update graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// v2alpha1 only: also mirror the RHCOS KubeVirt container images.
    #[serde(skip_serializing_if = "is_false")]
    pub kube_virt_container: bool,
}

/// One entry of `platform.channels`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseChannel {
    /// Channel name, e.g. `stable-4.18`.
    pub name: String,
    /// OCP or OKD (written `type` in the YAML).
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "ChannelType::is_default"
    )]
    pub channel_type: ChannelType,
    /// Lowest release to mirror (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest release to mirror (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// Only the releases on the shortest upgrade path from min to max.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shortest_path: bool,
    /// Every release in the channel.
    #[serde(default, skip_serializing_if = "is_false")]
    pub full: bool,
}

/// Which distribution a release channel belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    /// OpenShift Container Platform (the default).
    #[default]
    Ocp,
    /// OKD, the community distribution.
    Okd,
}

impl ChannelType {
    fn is_default(&self) -> bool {
        *self == ChannelType::default()
    }
}

/// An OS/architecture pair (v2alpha1), as in an OCI image index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformSpec {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8` for `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Checker<'_> {
    pub(super) fn platform(&self, platform: &Platform, prefix: &str) -> Check {
        if !platform.platforms.is_empty() && !platform.architectures.is_empty() {
            return Err(self.invalid_hint(
                &format!("{prefix}.platforms"),
                "cannot be combined with `architectures`".into(),
                "keep `platforms` (it replaces the deprecated `architectures`) or `architectures`, not both",
            ));
        }
        for (i, arch) in platform.architectures.iter().enumerate() {
            if !ARCHITECTURES.contains(&arch.as_str()) {
                return Err(self.invalid(
                    &format!("{prefix}.architectures[{i}]"),
                    format!(
                        "unknown architecture `{arch}`, expected one of {}",
                        backticked(&ARCHITECTURES)
                    ),
                ));
            }
        }
        if let Some(release) = &platform.release {
            self.image_reference(release, &format!("{prefix}.release"))?;
        }
        let mut seen = HashMap::new();
        for (i, channel) in platform.channels.iter().enumerate() {
            let at = format!("{prefix}.channels[{i}]");
            if channel.name.is_empty() {
                return Err(self.invalid(&format!("{at}.name"), "must not be empty".into()));
            }
            if let Some(first) = seen.insert(channel.name.as_str(), i) {
                return Err(self.invalid(
                    &format!("{at}.name"),
                    format!(
                        "duplicate release channel `{}`, already listed at `{prefix}.channels[{first}]`",
                        channel.name
                    ),
                ));
            }
            self.version_range(&channel.min_version, &channel.max_version, &at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn platforms_and_architectures_are_exclusive() {
        let body = "  platform:\n    architectures: [amd64]\n    platforms:\n      - {os: linux, architecture: amd64}\n";
        let shown = rejects(&v2(body), "mirror.platform.platforms", Some(6));
        assert!(shown.contains("hint: keep `platforms`"), "{shown}");
    }

    #[test]
    fn architectures_are_known() {
        let body = "  platform:\n    architectures: [amd64, x86_64]\n";
        let shown = rejects(&v2(body), "mirror.platform.architectures[1]", Some(5));
        assert!(
            shown.contains("unknown architecture `x86_64`, expected one of `amd64`"),
            "{shown}"
        );
        let body = "  platform:\n    architectures:\n    - amd64\n    - i386\n";
        rejects(&v1(body), "mirror.platform.architectures[1]", Some(7));
    }

    #[test]
    fn release_channel_versions() {
        let body =
            "  platform:\n    channels:\n      - name: stable-4.18\n        minVersion: 4.18\n";
        // An unquoted `4.18` is a YAML number, so serde_norway refuses it first.
        rejects(&v2(body), "mirror.platform.channels[0].minVersion", Some(7));
        let body =
            "  platform:\n    channels:\n      - name: stable-4.18\n        minVersion: '4.18'\n";
        let shown = rejects(&v2(body), "mirror.platform.channels[0].minVersion", Some(7));
        assert!(shown.contains("hint: write all three numbers"), "{shown}");
        let body = "  platform:\n    channels:\n      - name: a\n      - name: b\n        minVersion: 4.18.10\n        maxVersion: 4.18.9\n";
        let shown = rejects(&v2(body), "mirror.platform.channels[1].maxVersion", Some(9));
        assert!(
            shown.contains("`4.18.9` is lower than `minVersion` `4.18.10`"),
            "{shown}"
        );
        let body = "  platform:\n    channels:\n    - name: a\n    - name: b\n    - name: a\n";
        rejects(&v2(body), "mirror.platform.channels[2].name", Some(8));
    }
}
