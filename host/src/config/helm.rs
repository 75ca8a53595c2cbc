//! `mirror.helm`: Helm charts, from remote repositories or local files, whose
//! images are mirrored.
//!
//! Only types: a chart entry is checked by serde (and, for `platforms`, by
//! the version rules in `versions.rs`), not by rules of its own.

use serde::{Deserialize, Serialize};

use super::platform::PlatformSpec;

/// `mirror.helm`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Helm {
    /// Remote chart repositories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<HelmRepository>,
    /// Chart archives or directories on this machine.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<LocalChart>,
}

/// One entry of `helm.repositories`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmRepository {
    /// Repository name.
    pub name: String,
    /// Repository URL (where `index.yaml` lives).
    pub url: String,
    /// Charts to take; none means every non-library chart in the index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<Chart>,
}

/// One entry of `repositories[].charts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Chart {
    /// Chart name.
    pub name: String,
    /// Chart version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra JSONPath expressions where the chart's templates put images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_paths: Vec<String>,
    /// v2alpha1 only: keep only these platforms of the chart's images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformSpec>,
}

/// One entry of `helm.local`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalChart {
    /// Chart name.
    pub name: String,
    /// Path of the chart archive or directory.
    pub path: String,
    /// Extra JSONPath expressions where the chart's templates put images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_paths: Vec<String>,
    /// v2alpha1 only: keep only these platforms of the chart's images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformSpec>,
}
