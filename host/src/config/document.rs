//! The ImageSetConfiguration: what the user asks us to mirror, or to delete.
//!
//! This module turns a YAML file into typed values and refuses anything that
//! oc-mirror would not accept, so that a typo never silently changes what gets
//! mirrored. One set of Rust types covers both API versions:
//!
//! * `mirror.openshift.io/v1alpha2` — the legacy oc-mirror v1 format;
//! * `mirror.openshift.io/v2alpha1` — the oc-mirror v2 format, which is also
//!   the only one that has a `DeleteImageSetConfiguration`.
//!
//! Fields that exist in only one of the two versions are present in the types,
//! and [`parse_str`] rejects them when the document declares the other version,
//! with a hint that names the version that has them.
//!
//! Loading happens in four steps, each with its own kind of error:
//!
//! 1. the YAML is read into a loose `Shape` (keys and lists only), which is
//!    enough to read `apiVersion` and `kind` and to see which keys are present;
//! 2. fields that do not belong to the declared version are refused;
//! 3. the text is deserialized into the typed structs, with unknown fields
//!    denied everywhere; serde_norway reports line and field path for these;
//! 4. the values are validated (image references, regular expressions,
//!    versions, duplicates). The line for these errors comes from
//!    `find_line`, which walks the YAML text by key path.
//!
//! Every error displays as ``isc.yaml:7: `mirror.additionalImages[0].name`: message``,
//! followed by a `hint:` line when we know how to fix it.

// `ConfigError` is over clippy's size limit for an `Err`; it is built at most
// once per load, and flat variants are easier for callers to match on.
#![allow(clippy::result_large_err)]

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Size of one archive file, in GiB, when `archiveSize` is not set.
///
/// oc-mirror (v1 and v2) cuts its archives at 500 GiB by default; we use the
/// same number so that users moving over get archives of the same size.
pub const DEFAULT_ARCHIVE_SIZE_GIB: u64 = 500;

/// Bytes in one GiB, the unit of `archiveSize`.
const GIB: u64 = 1024 * 1024 * 1024;

/// Architectures a release payload exists for; `multi` is the manifest list
/// that holds all of them.
const ARCHITECTURES: [&str; 5] = ["amd64", "arm64", "ppc64le", "s390x", "multi"];

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// The `apiVersion` of a configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum ApiVersion {
    /// `mirror.openshift.io/v1alpha2`, read by oc-mirror v1.
    #[serde(rename = "mirror.openshift.io/v1alpha2")]
    V1Alpha2,
    /// `mirror.openshift.io/v2alpha1`, read by oc-mirror v2.
    #[serde(rename = "mirror.openshift.io/v2alpha1")]
    V2Alpha1,
}

impl ApiVersion {
    /// Every version we read, in the order they appeared.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V1Alpha2, ApiVersion::V2Alpha1];

    /// The string written in `apiVersion`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1Alpha2 => "mirror.openshift.io/v1alpha2",
            ApiVersion::V2Alpha1 => "mirror.openshift.io/v2alpha1",
        }
    }

    fn from_str(s: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `kind: ImageSetConfiguration` — what to mirror.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSetConfiguration {
    /// The declared API version; decides which optional fields are allowed.
    pub api_version: ApiVersion,
    /// Always `ImageSetConfiguration`.
    pub kind: String,
    /// Largest size of one archive file, in GiB; see [`Self::archive_size_bytes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_size: Option<u64>,
    /// Where the metadata of earlier runs is kept.
    ///
    /// oc-mirror v2 dropped this block, but we keep metadata in both modes (it
    /// is what makes differential imagesets work), so it is accepted with
    /// either API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_config: Option<StorageConfig>,
    /// The content to mirror.
    pub mirror: Mirror,
    /// Third-party plugins (content sources and publishers), an extension of
    /// this implementation, accepted with either API version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginSpec>,
}

/// One third-party plugin: where it is, what it may do, its settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSpec {
    /// A `.wasm` component on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A CNCF wasm OCI artifact, `docker://REGISTRY/REPO:TAG` (or `@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Refuse the plugin unless its bytes have this `sha256:` digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Handed to the plugin as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// What the user allows: `registry`, `http:<host>`. The plugin gets what
    /// it declared and is granted here; nothing when this is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
}

impl ImageSetConfiguration {
    /// The archive size limit in bytes (`archiveSize` GiB, or
    /// [`DEFAULT_ARCHIVE_SIZE_GIB`] when unset).
    pub fn archive_size_bytes(&self) -> u64 {
        self.archive_size
            .unwrap_or(DEFAULT_ARCHIVE_SIZE_GIB)
            .saturating_mul(GIB)
    }

    /// The `blockedImages` patterns, compiled.
    ///
    /// A pattern is unanchored, as in oc-mirror: `alpine` blocks every
    /// reference that contains `alpine`. [`parse_str`] refuses a pattern that
    /// does not compile, so for a loaded configuration this returns one regex
    /// per entry; in a configuration built in code, a broken pattern is left
    /// out.
    pub fn blocked_patterns(&self) -> Vec<Regex> {
        self.mirror
            .blocked_images
            .iter()
            .filter_map(|b| Regex::new(&b.name).ok())
            .collect()
    }
}

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

/// `mirror` (and, with fewer fields, `delete`): the content sections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Mirror {
    /// OpenShift release payloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Operator catalogs and the packages to take from them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<Operator>,
    /// Plain images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_images: Vec<AdditionalImage>,
    /// Regular expressions; an image whose reference matches is never mirrored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_images: Vec<BlockedImage>,
    /// Helm charts and the images they use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm: Option<Helm>,
    /// Declared by oc-mirror but never implemented there; kept for compatibility.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Sample>,
}

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

/// One entry of `mirror.operators`: a catalog and what to take from it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operator {
    /// Catalog image reference, or `oci:///path` for a local OCI layout.
    pub catalog: String,
    /// Every bundle instead of channel heads only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub full: bool,
    /// Packages to take; none means the whole catalog.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Repository path of the catalog in the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_catalog: Option<String>,
    /// Tag of the catalog in the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tag: Option<String>,
    /// v1alpha2 only (deprecated there): the old form of `targetCatalog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Do not add the packages these depend on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_dependencies: bool,
    /// v1alpha2 only (deprecated there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_ref: Option<String>,
    /// v2alpha1 only: a CatalogSource file used as the template for ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_catalog_source_template: Option<String>,
    /// v2alpha1 only: keep only these platforms of the catalog's images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformSpec>,
}

/// One entry of `operators[].packages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Package {
    /// Package name in the catalog.
    pub name: String,
    /// Channels to take; none means the default channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<PackageChannel>,
    /// Lowest bundle version, across channels (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest bundle version, across channels (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// v1alpha2 only: lowest bundle by name, for unversioned bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bundle: Option<String>,
    /// Channel to make the default when the catalog's default is filtered out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_channel: Option<String>,
}

/// One entry of `packages[].channels`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageChannel {
    /// Channel name.
    pub name: String,
    /// Lowest bundle version in this channel (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest bundle version in this channel (semver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// v1alpha2 only: lowest bundle by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bundle: Option<String>,
}

/// One entry of `mirror.additionalImages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdditionalImage {
    /// Image reference; no tag means `latest`.
    pub name: String,
    /// v2alpha1 only: repository path to use in the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_repo: Option<String>,
    /// v2alpha1 only: tag to use in the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tag: Option<String>,
    /// v2alpha1 only: keep only these platforms of a multi-arch image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformSpec>,
}

/// One entry of `mirror.blockedImages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockedImage {
    /// Unanchored regular expression matched against image references.
    pub name: String,
}

/// One entry of `mirror.samples`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sample {
    /// Sample name.
    pub name: String,
}

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

/// `kind: DeleteImageSetConfiguration` (v2alpha1 only) — what to delete.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteImageSetConfiguration {
    /// Always [`ApiVersion::V2Alpha1`].
    pub api_version: ApiVersion,
    /// Always `DeleteImageSetConfiguration`.
    pub kind: String,
    /// The content to delete.
    pub delete: DeleteSpec,
}

/// `delete`: the same sections as `mirror`, without `blockedImages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DeleteSpec {
    /// Release payloads to delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Operator catalogs and packages to delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<Operator>,
    /// Plain images to delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_images: Vec<AdditionalImage>,
    /// Helm charts whose images to delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm: Option<Helm>,
    /// Kept for compatibility, as in `mirror`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Sample>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// A parsed configuration file: either kind of document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigDocument {
    /// `kind: ImageSetConfiguration`.
    Mirror(ImageSetConfiguration),
    /// `kind: DeleteImageSetConfiguration`.
    Delete(DeleteImageSetConfiguration),
}

/// The `kind`s we read.
const KIND_MIRROR: &str = "ImageSetConfiguration";
const KIND_DELETE: &str = "DeleteImageSetConfiguration";

/// Reads, parses and validates a configuration file of either kind.
pub fn load_file(path: &Path) -> Result<ConfigDocument, ConfigError> {
    let text = read_text(path)?;
    parse_str(&text, &path.display().to_string())
}

/// Reads an `ImageSetConfiguration`, refusing a `DeleteImageSetConfiguration`.
pub fn load_mirror_config(path: &Path) -> Result<ImageSetConfiguration, ConfigError> {
    let origin = path.display().to_string();
    let text = read_text(path)?;
    match parse_str(&text, &origin)? {
        ConfigDocument::Mirror(config) => Ok(config),
        ConfigDocument::Delete(_) => Err(ConfigError::Invalid {
            line: find_line(&text, "kind"),
            origin,
            field: "kind".into(),
            message: format!("expected `{KIND_MIRROR}`, found `{KIND_DELETE}`"),
            hint: Some(
                "a delete configuration is used by `oc-mirror delete`; \
                 mirroring needs `kind: ImageSetConfiguration`"
                    .into(),
            ),
        }),
    }
}

/// Parses and validates configuration text. `origin` names the text in
/// errors, usually the file path.
pub fn parse_str(text: &str, origin: &str) -> Result<ConfigDocument, ConfigError> {
    // A byte-order mark is legal YAML but would hide the first key from the
    // line finder; it is on line 1, so removing it moves no line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let check = Checker { origin, text };

    // Step 1: the loose shape, which also finds plain YAML syntax errors.
    let shape = read_shape(text, origin)?;
    let (version, kind) = check.version_and_kind(&shape)?;

    // Steps 2 to 4, per kind.
    match kind {
        Kind::Mirror => {
            check.section_placement(&shape, "mirror", "delete", KIND_DELETE)?;
            check.version_fields(&shape, "mirror", version, false)?;
            let config: ImageSetConfiguration =
                serde_norway::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
            check.mirror_config(&config)?;
            Ok(ConfigDocument::Mirror(config))
        }
        Kind::Delete => {
            check.section_placement(&shape, "delete", "mirror", KIND_MIRROR)?;
            check.version_fields(&shape, "delete", version, true)?;
            let config: DeleteImageSetConfiguration =
                serde_norway::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
            check.delete_config(&config)?;
            Ok(ConfigDocument::Delete(config))
        }
    }
}

/// Reads a file as UTF-8, naming the line of the first bad byte if it is not.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = e.as_bytes().get(..offset).unwrap_or_default();
        ConfigError::NotUtf8 {
            origin: path.display().to_string(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
            offset,
        }
    })
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a configuration could not be loaded.
///
/// Every variant but [`ConfigError::Read`] displays as
/// ``origin:line: `field.path`: message``, then `hint: …` on its own line when
/// there is one. `Read` keeps the I/O error as its `source`, so print the
/// error chain to see the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The file is not UTF-8 text.
    #[error("{origin}:{line}: the file is not valid UTF-8 (bad byte at offset {offset})")]
    NotUtf8 {
        /// The file.
        origin: String,
        /// Line of the first bad byte (1-based).
        line: usize,
        /// Byte offset of the first bad byte.
        offset: usize,
    },

    /// The file holds no YAML document at all.
    #[error(
        "{origin}: the file is empty\nhint: start it with `apiVersion: {}` and `kind: {KIND_MIRROR}`",
        ApiVersion::V2Alpha1
    )]
    Empty {
        /// The file.
        origin: String,
    },

    /// The document is a list or a scalar instead of a mapping.
    #[error("{origin}:{line}: expected a mapping with `apiVersion` and `kind`, found {found}")]
    NotAMapping {
        /// The file.
        origin: String,
        /// Line where the document starts.
        line: usize,
        /// What was found instead, e.g. `a list`.
        found: &'static str,
    },

    /// The file holds more than one YAML document (`---`).
    #[error(
        "{}: the file holds more than one YAML document\nhint: put each configuration in a file of its own",
        at(origin, *line, None)
    )]
    MultipleDocuments {
        /// The file.
        origin: String,
        /// Line of the `---` that starts the second document, if found.
        line: Option<usize>,
    },

    /// serde_norway refused the YAML: bad syntax, an unknown or missing
    /// field, or a value of the wrong type.
    #[error("{}: {message}{}", at(origin, *line, path.as_deref()), hint_line(hint))]
    Syntax {
        /// The file.
        origin: String,
        /// Line of the problem (1-based), when serde_norway knows it.
        line: Option<usize>,
        /// Column of the problem (1-based), when serde_norway knows it.
        column: Option<usize>,
        /// Field path like `mirror.additionalImages[0].nme`, when there is one.
        path: Option<String>,
        /// What serde_norway said, without its own location.
        message: String,
        /// How to fix it, when we can tell.
        hint: Option<String>,
    },

    /// The YAML is well formed but a value breaks a rule.
    #[error("{}: {message}{}", at(origin, *line, Some(field)), hint_line(hint))]
    Invalid {
        /// The file.
        origin: String,
        /// Line of the field, or `None` when the line finder was not sure.
        line: Option<usize>,
        /// Field path like `mirror.platform.channels[1].minVersion`.
        field: String,
        /// What is wrong.
        message: String,
        /// How to fix it, when we can tell.
        hint: Option<String>,
    },
}

impl ConfigError {
    /// The line the error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } | ConfigError::Empty { .. } => None,
            ConfigError::NotUtf8 { line, .. } | ConfigError::NotAMapping { line, .. } => {
                Some(*line)
            }
            ConfigError::MultipleDocuments { line, .. }
            | ConfigError::Syntax { line, .. }
            | ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// The field path the error points at, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Syntax { path, .. } => path.as_deref(),
            ConfigError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// `origin:line` plus `` : `field` `` — the front of most error messages.
fn at(origin: &str, line: Option<usize>, field: Option<&str>) -> String {
    let mut out = match line {
        Some(line) => format!("{origin}:{line}"),
        None => format!("{origin} (line unknown)"),
    };
    if let Some(field) = field {
        out.push_str(&format!(": `{field}`"));
    }
    out
}

fn hint_line(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\nhint: {h}"))
        .unwrap_or_default()
}

/// Turns a serde_norway error into [`ConfigError::Syntax`].
///
/// serde_norway keeps the field path private and only shows it in its
/// `Display` text, as `path: message at line L column C`; we take that text
/// apart. The `serde_norway_message_format` test pins the format.
fn syntax_error(origin: &str, text: &str, err: &serde_norway::Error) -> ConfigError {
    static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r" at (?:line \d+ column \d+|position \d+)").expect("constant regex")
    });
    // Paths are made of field names, list indices and `?` for odd keys.
    static PATH_PREFIX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)^([A-Za-z0-9_?\[\].]+): (.*)$").expect("constant regex"));
    static FIELD_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:unknown|missing|duplicate) field `([^`]*)`").expect("constant regex")
    });

    let full = err.to_string();
    let full = LOCATION.replace_all(&full, "");
    let (mut path, message) = match PATH_PREFIX.captures(&full) {
        Some(c) if &c[1] != "." => (Some(c[1].to_string()), c[2].to_string()),
        _ => (None, full.to_string()),
    };

    // For field-level messages the field itself is the most precise path.
    let field = FIELD_NAME.captures(&message).map(|c| c[1].to_string());
    if let Some(field) = &field {
        path = Some(match path {
            Some(parent) => format!("{parent}.{field}"),
            None => field.clone(),
        });
    }

    let mut line = err.location().map(|l| l.line());
    let column = err.location().map(|l| l.column());
    // serde_norway puts a duplicate at the start of its mapping; the line
    // finder returns the last occurrence of a key, which is the duplicate.
    if message.starts_with("duplicate field")
        && let Some(found) = path.as_deref().and_then(|p| find_line(text, p))
    {
        line = Some(found);
    }

    // libyaml's message for a tab in the indentation does not say "tab".
    let indented_with_tab = line
        .and_then(|l| text.lines().nth(l.saturating_sub(1)))
        .is_some_and(|l| l[..l.len() - l.trim_start().len()].contains('\t'));
    let hint =
        indented_with_tab.then(|| "indent with spaces: YAML does not allow tabs there".to_string());

    ConfigError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        path,
        message,
        hint,
    }
}

// ---------------------------------------------------------------------------
// Step 1: the loose shape of the document
// ---------------------------------------------------------------------------

/// A YAML document reduced to its keys and lists.
///
/// Unlike `serde_norway::Value` it tolerates duplicate keys, so that a
/// duplicate is reported by the typed pass, which knows its field path.
#[derive(Debug)]
enum Shape {
    Map(Vec<(String, Shape)>),
    List(Vec<Shape>),
    Text(String),
    Null,
    Other,
}

impl Shape {
    fn get(&self, key: &str) -> Option<&Shape> {
        match self {
            // The last occurrence wins, as it would in a map.
            Shape::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Shape::Map(_) => "a mapping",
            Shape::List(_) => "a list",
            Shape::Text(_) => "a string",
            Shape::Null => "nothing",
            Shape::Other => "a scalar",
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape::Text(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        Shape::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shape::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Shape>()? {
            let value = map.next_value::<Shape>()?;
            // Keys that are not strings can match no field; the typed pass
            // reports them.
            if let Shape::Text(key) = key {
                entries.push((key, value));
            }
        }
        Ok(Shape::Map(entries))
    }

    // serde_norway hands custom tags (`!foo value`) over as enums.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant::<IgnoredAny>()?;
        Ok(Shape::Other)
    }
}

/// Reads the one YAML document in `text` as a [`Shape`].
fn read_shape(text: &str, origin: &str) -> Result<Shape, ConfigError> {
    let mut documents = serde_norway::Deserializer::from_str(text);
    let Some(first) = documents.next() else {
        return Err(ConfigError::Empty {
            origin: origin.into(),
        });
    };
    let shape = Shape::deserialize(first).map_err(|e| syntax_error(origin, text, &e))?;
    // Only ask for one more document: after a parse error the iterator
    // would go on returning the same error.
    if documents.next().is_some() {
        return Err(ConfigError::MultipleDocuments {
            origin: origin.into(),
            line: second_document_line(text),
        });
    }
    match shape {
        Shape::Map(_) => Ok(shape),
        Shape::Null => Err(ConfigError::Empty {
            origin: origin.into(),
        }),
        other => Err(ConfigError::NotAMapping {
            origin: origin.into(),
            line: yaml_lines(text).first().map_or(1, |l| l.number),
            found: other.describe(),
        }),
    }
}

/// The line of the `---` that ends the first document, if there is one.
fn second_document_line(text: &str) -> Option<usize> {
    let mut seen_content = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line == "---" || line.starts_with("--- ") {
            if seen_content {
                return Some(index + 1);
            }
        } else if !line.trim_start().is_empty() && !line.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Steps 2 and 4: checks
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Kind {
    Mirror,
    Delete,
}

/// The checks that run after parsing; knows the text so that every error
/// can name its line.
struct Checker<'a> {
    origin: &'a str,
    text: &'a str,
}

type Check = Result<(), ConfigError>;

impl Checker<'_> {
    fn error(&self, field: &str, message: String, hint: Option<&str>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            line: find_line(self.text, field),
            field: field.to_string(),
            message,
            hint: hint.map(str::to_string),
        }
    }

    fn invalid(&self, field: &str, message: String) -> ConfigError {
        self.error(field, message, None)
    }

    fn invalid_hint(&self, field: &str, message: String, hint: &str) -> ConfigError {
        self.error(field, message, Some(hint))
    }

    /// Reads `apiVersion` and `kind` before anything else, so that the rest
    /// of the checks know which rules apply.
    fn version_and_kind(&self, shape: &Shape) -> Result<(ApiVersion, Kind), ConfigError> {
        let versions = || {
            ApiVersion::ALL
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let version = match shape.get("apiVersion") {
            None => {
                return Err(self.missing_top_level(
                    "apiVersion",
                    format!("missing field, expected one of {}", versions()),
                ));
            }
            Some(Shape::Text(s)) => ApiVersion::from_str(s).ok_or_else(|| {
                self.invalid(
                    "apiVersion",
                    format!("unknown version `{s}`, expected one of {}", versions()),
                )
            })?,
            Some(other) => {
                return Err(self.invalid(
                    "apiVersion",
                    format!(
                        "expected a string, one of {}, found {}",
                        versions(),
                        other.describe()
                    ),
                ));
            }
        };

        let kinds = format!("`{KIND_MIRROR}` or `{KIND_DELETE}`");
        let kind = match shape.get("kind") {
            None => {
                return Err(
                    self.missing_top_level("kind", format!("missing field, expected {kinds}"))
                );
            }
            Some(Shape::Text(s)) if s == KIND_MIRROR => Kind::Mirror,
            Some(Shape::Text(s)) if s == KIND_DELETE => Kind::Delete,
            Some(Shape::Text(s)) => {
                return Err(self.invalid("kind", format!("unknown kind `{s}`, expected {kinds}")));
            }
            Some(other) => {
                return Err(self.invalid(
                    "kind",
                    format!("expected a string, {kinds}, found {}", other.describe()),
                ));
            }
        };

        if matches!(kind, Kind::Delete) && version != ApiVersion::V2Alpha1 {
            return Err(self.invalid_hint(
                "apiVersion",
                format!("`{KIND_DELETE}` exists only in `{}`", ApiVersion::V2Alpha1),
                &format!("set `apiVersion: {}`", ApiVersion::V2Alpha1),
            ));
        }
        Ok((version, kind))
    }

    /// A missing top-level field: point at the start of the document, as
    /// serde_norway does for a missing `mirror`.
    fn missing_top_level(&self, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            line: yaml_lines(self.text).first().map(|l| l.number),
            field: field.to_string(),
            message,
            hint: None,
        }
    }

    /// `mirror` belongs in an ImageSetConfiguration and `delete` in a
    /// DeleteImageSetConfiguration; say so rather than "unknown field".
    fn section_placement(&self, shape: &Shape, own: &str, other: &str, other_kind: &str) -> Check {
        if shape.get(other).is_some() {
            return Err(self.invalid_hint(
                other,
                format!("`{other}` belongs in a `{other_kind}`"),
                &format!("use a separate file with `kind: {other_kind}`, or rename the section to `{own}`"),
            ));
        }
        Ok(())
    }

    /// Refuses fields that the declared API version does not have.
    fn version_fields(
        &self,
        shape: &Shape,
        section: &str,
        version: ApiVersion,
        delete: bool,
    ) -> Check {
        let Some(root) = shape.get(section) else {
            return Ok(());
        };
        // Report the violation nearest the top of the file.
        let mut found: Vec<(Option<usize>, String, &VersionRule)> = Vec::new();
        for rule in VERSION_RULES.iter().filter(|r| r.only_in != version) {
            let mut paths = Vec::new();
            find_keys(root, rule.pattern, section.to_string(), &mut paths);
            for path in paths {
                found.push((find_line(self.text, &path), path, rule));
            }
        }
        found.sort_by_key(|(line, _, _)| line.unwrap_or(usize::MAX));
        let Some((_, path, rule)) = found.into_iter().next() else {
            return Ok(());
        };
        let key = rule.pattern.last().copied().unwrap_or_default();
        let message = format!("`{key}` exists only in `apiVersion: {}`", rule.only_in);
        let hint = match (delete, rule.only_in) {
            (true, _) => format!(
                "remove it: `{KIND_DELETE}` is read as `{}`",
                ApiVersion::V2Alpha1
            ),
            (false, ApiVersion::V2Alpha1) => format!(
                "set `apiVersion: {}` to use it (oc-mirror v2 format)",
                ApiVersion::V2Alpha1
            ),
            (false, ApiVersion::V1Alpha2) => format!(
                "{}, or set `apiVersion: {}`",
                rule.v2_replacement,
                ApiVersion::V1Alpha2
            ),
        };
        Err(self.invalid_hint(&path, message, &hint))
    }

    fn mirror_config(&self, config: &ImageSetConfiguration) -> Check {
        if config.archive_size == Some(0) {
            return Err(self.invalid("archiveSize", "must be at least 1 (the unit is GiB)".into()));
        }
        if let Some(storage) = &config.storage_config {
            self.storage(storage)?;
        }
        for (i, p) in config.plugins.iter().enumerate() {
            self.plugin(p, &format!("plugins[{i}]"))?;
        }
        let m = &config.mirror;
        if let Some(platform) = &m.platform {
            self.platform(platform, "mirror.platform")?;
        }
        self.operators(&m.operators, "mirror.operators")?;
        self.additional_images(&m.additional_images, "mirror.additionalImages")?;
        for (i, blocked) in m.blocked_images.iter().enumerate() {
            let field = format!("mirror.blockedImages[{i}].name");
            if blocked.name.is_empty() {
                return Err(self.invalid(
                    &field,
                    "must not be empty: an empty pattern would block every image".into(),
                ));
            }
            if let Err(e) = Regex::new(&blocked.name) {
                return Err(self.invalid(
                    &field,
                    format!(
                        "`{}` is not a valid regular expression: {}",
                        blocked.name,
                        regex_reason(&e)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn delete_config(&self, config: &DeleteImageSetConfiguration) -> Check {
        let d = &config.delete;
        if let Some(platform) = &d.platform {
            self.platform(platform, "delete.platform")?;
        }
        self.operators(&d.operators, "delete.operators")?;
        self.additional_images(&d.additional_images, "delete.additionalImages")
    }

    fn plugin(&self, p: &PluginSpec, field: &str) -> Check {
        match (&p.path, &p.image) {
            (None, None) | (Some(_), Some(_)) => {
                return Err(self.invalid_hint(field, "needs exactly one of `path` and `image`".into(), "give the `.wasm` file as `path`, or a wasm OCI artifact as `image: docker://REGISTRY/REPO:TAG`"));
            }
            (None, Some(image)) if !image.starts_with("docker://") => {
                return Err(self.invalid(
                    &format!("{field}.image"),
                    format!("`{image}` must start with `docker://`"),
                ));
            }
            _ => {}
        }
        if let Some(d) = &p.digest
            && !(d.len() == 71
                && d.starts_with("sha256:")
                && d[7..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(self.invalid(
                &format!("{field}.digest"),
                format!("`{d}` is not a `sha256:` digest (64 lowercase hex)"),
            ));
        }
        for (j, g) in p.grants.iter().enumerate() {
            let ok = g == "registry"
                || g.strip_prefix("http:")
                    .is_some_and(|h| !h.is_empty() && h != "*" && !h.contains('/'));
            if !ok {
                return Err(self.invalid_hint(
                    &format!("{field}.grants[{j}]"),
                    format!("`{g}` is not a capability"),
                    "grant `registry` or `http:HOST[:PORT]`",
                ));
            }
        }
        Ok(())
    }

    fn storage(&self, storage: &StorageConfig) -> Check {
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

    fn platform(&self, platform: &Platform, prefix: &str) -> Check {
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

    fn operators(&self, operators: &[Operator], prefix: &str) -> Check {
        let mut seen = HashMap::new();
        for (i, op) in operators.iter().enumerate() {
            let at = format!("{prefix}[{i}]");
            if op.catalog.is_empty() {
                return Err(self.invalid(&format!("{at}.catalog"), "must not be empty".into()));
            }
            // `oci:` catalogs are paths on this machine, not references.
            if !op.catalog.starts_with("oci:") {
                self.image_reference(&op.catalog, &format!("{at}.catalog"))?;
            }
            if let Some(target) = &op.target_catalog
                && let Err(reason) = check_repository_path(target)
            {
                return Err(self.invalid(
                    &format!("{at}.targetCatalog"),
                    format!("`{target}` is not a valid repository path: {reason}"),
                ));
            }
            if let Some(tag) = &op.target_tag {
                self.tag(tag, &format!("{at}.targetTag"))?;
            }
            // The same catalog twice is fine when it lands in two places.
            let key = (
                op.catalog.as_str(),
                op.target_catalog.as_deref(),
                op.target_tag.as_deref(),
            );
            if let Some(first) = seen.insert(key, i) {
                return Err(self.invalid(
                    &format!("{at}.catalog"),
                    format!(
                        "duplicate catalog `{}`, already listed at `{prefix}[{first}]`",
                        op.catalog
                    ),
                ));
            }
            self.packages(&op.packages, &format!("{at}.packages"))?;
        }
        Ok(())
    }

    fn packages(&self, packages: &[Package], prefix: &str) -> Check {
        let mut seen = HashMap::new();
        for (i, package) in packages.iter().enumerate() {
            let at = format!("{prefix}[{i}]");
            if package.name.is_empty() {
                return Err(self.invalid(&format!("{at}.name"), "must not be empty".into()));
            }
            if let Some(first) = seen.insert(package.name.as_str(), i) {
                return Err(self.invalid(
                    &format!("{at}.name"),
                    format!(
                        "duplicate package `{}` in this catalog, already listed at `{prefix}[{first}]`",
                        package.name
                    ),
                ));
            }
            self.version_range(&package.min_version, &package.max_version, &at)?;
            let package_range = package.min_version.is_some() || package.max_version.is_some();

            let mut channels = HashMap::new();
            for (j, channel) in package.channels.iter().enumerate() {
                let ch = format!("{at}.channels[{j}]");
                if channel.name.is_empty() {
                    return Err(self.invalid(&format!("{ch}.name"), "must not be empty".into()));
                }
                if let Some(first) = channels.insert(channel.name.as_str(), j) {
                    return Err(self.invalid(
                        &format!("{ch}.name"),
                        format!(
                            "duplicate channel `{}` in package `{}`, already listed at `{at}.channels[{first}]`",
                            channel.name, package.name
                        ),
                    ));
                }
                self.version_range(&channel.min_version, &channel.max_version, &ch)?;
                if package_range {
                    let key = if channel.min_version.is_some() {
                        "minVersion"
                    } else if channel.max_version.is_some() {
                        "maxVersion"
                    } else {
                        continue;
                    };
                    return Err(self.invalid_hint(
                        &format!("{ch}.{key}"),
                        "cannot be combined with a package-level `minVersion` or `maxVersion`"
                            .into(),
                        "set the version range on the package or on its channels, not both",
                    ));
                }
            }
        }
        Ok(())
    }

    fn additional_images(&self, images: &[AdditionalImage], prefix: &str) -> Check {
        let mut seen = HashMap::new();
        for (i, image) in images.iter().enumerate() {
            let at = format!("{prefix}[{i}]");
            self.image_reference(&image.name, &format!("{at}.name"))?;
            if let Some(first) = seen.insert(image.name.as_str(), i) {
                return Err(self.invalid(
                    &format!("{at}.name"),
                    format!(
                        "duplicate image `{}`, already listed at `{prefix}[{first}]`",
                        image.name
                    ),
                ));
            }
            if let Some(repo) = &image.target_repo
                && let Err(reason) = check_repository_path(repo)
            {
                return Err(self.invalid(
                    &format!("{at}.targetRepo"),
                    format!("`{repo}` is not a valid repository path: {reason}"),
                ));
            }
            if let Some(tag) = &image.target_tag {
                self.tag(tag, &format!("{at}.targetTag"))?;
            }
        }
        Ok(())
    }

    fn image_reference(&self, reference: &str, field: &str) -> Check {
        if reference.is_empty() {
            return Err(self.invalid(field, "must not be empty".into()));
        }
        check_image_reference(reference).map_err(|reason| {
            self.invalid(
                field,
                format!("`{reference}` is not a valid image reference: {reason}"),
            )
        })
    }

    fn tag(&self, tag: &str, field: &str) -> Check {
        if TAG.is_match(tag) {
            return Ok(());
        }
        Err(self.invalid(
            field,
            format!(
                "`{tag}` is not a valid tag: use up to 128 letters, digits, `_`, `.` and `-`, \
                 not starting with `.` or `-`"
            ),
        ))
    }

    /// `minVersion` and `maxVersion` under `at`: both semver, min ≤ max.
    fn version_range(&self, min: &Option<String>, max: &Option<String>, at: &str) -> Check {
        let low = self.semver(min, &format!("{at}.minVersion"))?;
        let high = self.semver(max, &format!("{at}.maxVersion"))?;
        if let (Some(low), Some(high), Some(min), Some(max)) = (low, high, min, max)
            && low.cmp_precedence(&high) == Ordering::Greater
        {
            return Err(self.invalid(
                &format!("{at}.maxVersion"),
                format!("`{max}` is lower than `minVersion` `{min}`"),
            ));
        }
        Ok(())
    }

    fn semver<'v>(
        &self,
        value: &'v Option<String>,
        field: &str,
    ) -> Result<Option<Semver<'v>>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        parse_semver(value).map(Some).map_err(|reason| {
            self.invalid_hint(
                field,
                format!("`{value}` is not a semantic version: {reason}"),
                "write all three numbers, e.g. `4.18.0`",
            )
        })
    }
}

/// A field that only one API version has.
struct VersionRule {
    /// Key path under `mirror`/`delete`; `*` stands for every list item.
    pattern: &'static [&'static str],
    /// The version that has the field.
    only_in: ApiVersion,
    /// For v1-only fields: what to write instead in v2alpha1.
    v2_replacement: &'static str,
}

const fn v2_only(pattern: &'static [&'static str]) -> VersionRule {
    VersionRule {
        pattern,
        only_in: ApiVersion::V2Alpha1,
        v2_replacement: "",
    }
}

const fn v1_only(pattern: &'static [&'static str], v2_replacement: &'static str) -> VersionRule {
    VersionRule {
        pattern,
        only_in: ApiVersion::V1Alpha2,
        v2_replacement,
    }
}

static VERSION_RULES: [VersionRule; 14] = [
    v2_only(&["additionalImages", "*", "targetRepo"]),
    v2_only(&["additionalImages", "*", "targetTag"]),
    v2_only(&["additionalImages", "*", "platforms"]),
    v2_only(&["platform", "release"]),
    v2_only(&["platform", "kubeVirtContainer"]),
    v2_only(&["platform", "platforms"]),
    v2_only(&["operators", "*", "targetCatalogSourceTemplate"]),
    v2_only(&["operators", "*", "platforms"]),
    v2_only(&["helm", "repositories", "*", "charts", "*", "platforms"]),
    v2_only(&["helm", "local", "*", "platforms"]),
    v1_only(
        &["operators", "*", "packages", "*", "minBundle"],
        "select bundles with `minVersion` instead",
    ),
    v1_only(
        &[
            "operators",
            "*",
            "packages",
            "*",
            "channels",
            "*",
            "minBundle",
        ],
        "select bundles with `minVersion` instead",
    ),
    v1_only(
        &["operators", "*", "targetName"],
        "use `targetCatalog` instead",
    ),
    v1_only(&["operators", "*", "originalRef"], "remove it"),
];

/// Collects the concrete path (like `mirror.operators[1].platforms`) of every
/// key in `shape` that matches `pattern`.
fn find_keys(shape: &Shape, pattern: &[&str], prefix: String, out: &mut Vec<String>) {
    match pattern.split_first() {
        None => out.push(prefix),
        Some((&"*", rest)) => {
            if let Shape::List(items) = shape {
                for (i, item) in items.iter().enumerate() {
                    find_keys(item, rest, format!("{prefix}[{i}]"), out);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(child) = shape.get(key) {
                find_keys(child, rest, format!("{prefix}.{key}"), out);
            }
        }
    }
}

fn backticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-line reason from a regex error (its `Display` draws a caret
/// diagram over several lines).
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or_default())
        .to_string()
}

// ---------------------------------------------------------------------------
// Grammars: image references, tags, semantic versions
// ---------------------------------------------------------------------------

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (OCI distribution spec).
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$").expect("constant regex"));

/// One path component of a repository name (distribution reference grammar).
static PATH_COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("constant regex")
});

/// A registry host: DNS name, or IPv6 in brackets, with an optional port.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$",
    )
    .expect("constant regex")
});

static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$").expect("constant regex"));

/// Longest repository name (registry included) that registries accept.
const MAX_NAME_LEN: usize = 255;

/// Checks `[registry/]path[:tag][@sha256:digest]`; returns why it is not one.
///
/// The registry is optional, as in `docker pull ubuntu`: the first
/// component counts as a registry when it has a `.` or `:`, is `localhost`,
/// or has capitals, which is how the container tools decide.
fn check_image_reference(reference: &str) -> Result<(), String> {
    if reference.contains("://") {
        return Err("remove the transport prefix (such as `docker://`)".into());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest
        && !DIGEST.is_match(digest)
    {
        return Err(format!(
            "digest `{digest}` is not `sha256:` followed by 64 lowercase hex digits"
        ));
    }
    // A tag is a `:` after the last `/`; an earlier `:` is a registry port.
    let last_component = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_component..].rfind(':') {
        Some(colon) => {
            let colon = last_component + colon;
            (&rest[..colon], Some(&rest[colon + 1..]))
        }
        None => (rest, None),
    };
    if let Some(tag) = tag
        && !TAG.is_match(tag)
    {
        return Err(format!(
            "tag `{tag}` must be up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the name is longer than {MAX_NAME_LEN} characters"));
    }
    let path = match name.split_once('/') {
        Some((first, path))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            if !DOMAIN.is_match(first) {
                return Err(format!("`{first}` is not a valid registry host"));
            }
            path
        }
        _ => name,
    };
    check_repository_path(path)
}

/// Checks a repository path like `my-org/redhat-operator-index`.
fn check_repository_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository path is empty".into());
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err("the path has an empty component (`//` or a `/` at either end)".into());
        }
        if !PATH_COMPONENT.is_match(component) {
            return Err(format!(
                "path component `{component}` must be lowercase letters and digits, \
                 separated by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

/// A parsed semantic version; only what ordering needs.
#[derive(Debug)]
struct Semver<'a> {
    core: [u64; 3],
    pre: Vec<&'a str>,
}

/// Parses `MAJOR.MINOR.PATCH[-pre][+build]` (semver.org 2.0.0).
fn parse_semver<'a>(text: &'a str) -> Result<Semver<'a>, String> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = numbers.as_slice() else {
        return Err(format!(
            "expected MAJOR.MINOR.PATCH, found {} number(s)",
            numbers.len()
        ));
    };
    let mut parsed = [0u64; 3];
    for (slot, number) in parsed.iter_mut().zip([major, minor, patch]) {
        if !is_numeric(number) {
            return Err(format!("`{number}` is not a number"));
        }
        if number.len() > 1 && number.starts_with('0') {
            return Err(format!("`{number}` has a leading zero"));
        }
        *slot = number
            .parse()
            .map_err(|_| format!("`{number}` is too large"))?;
    }
    let identifiers = |part: &'a str, what: &str| -> Result<Vec<&'a str>, String> {
        part.split('.')
            .map(|id| {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    Err(format!(
                        "{what} `{part}` must be dot-separated letters, digits and `-`"
                    ))
                } else {
                    Ok(id)
                }
            })
            .collect()
    };
    let pre = match pre {
        Some(pre) => identifiers(pre, "pre-release")?,
        None => Vec::new(),
    };
    if let Some(id) = pre
        .iter()
        .find(|id| is_numeric(id) && id.len() > 1 && id.starts_with('0'))
    {
        return Err(format!("pre-release identifier `{id}` has a leading zero"));
    }
    if let Some(build) = build {
        identifiers(build, "build metadata")?;
    }
    Ok(Semver { core: parsed, pre })
}

fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Semver<'_> {
    /// Semver precedence: the numbers, then a pre-release sorts before the
    /// release, then pre-release identifiers one by one.
    fn cmp_precedence(&self, other: &Semver<'_>) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let order = match (is_numeric(a), is_numeric(b)) {
                            // No leading zeros, so length then text is numeric order.
                            (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
                            (true, false) => Ordering::Less,
                            (false, true) => Ordering::Greater,
                            (false, false) => a.cmp(b),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------
// The line finder
// ---------------------------------------------------------------------------

/// One line of YAML that carries content (not blank, not only a comment).
#[derive(Debug, Clone, Copy)]
struct YamlLine<'a> {
    /// 1-based line number.
    number: usize,
    /// Columns of leading spaces (or, for a list item's content, where the
    /// content starts after the `- `).
    indent: usize,
    /// The content, without indentation or trailing spaces.
    text: &'a str,
}

fn yaml_lines(text: &str) -> Vec<YamlLine<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let content = raw.trim_start_matches(' ');
            let indent = raw.len() - content.len();
            let content = content.trim_end();
            let skip = content.is_empty()
                || content.starts_with('#')
                || content == "---"
                || content == "..."
                || content.starts_with('%');
            (!skip).then_some(YamlLine {
                number: index + 1,
                indent,
                text: content,
            })
        })
        .collect()
}

/// One step of a field path: a mapping key or a list index.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `mirror.operators[0].packages[2].name` into steps.
fn parse_field_path(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        steps.push(Step::Key(key));
        while let Some(rest) = indices.strip_prefix('[') {
            let (number, after) = rest.split_once(']')?;
            steps.push(Step::Index(number.parse().ok()?));
            indices = after;
        }
        if !indices.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// Finds the line of the field at `path` (like `mirror.operators[1].catalog`)
/// by walking the YAML text.
///
/// It understands block mappings, block lists (indented or not under their
/// key), `- key: value` list items, comments, and flow collections that fit
/// on one line. Anything else — a flow collection over several lines, an
/// alias, a JSON-style document — gives `None` rather than a guess. Where a
/// key occurs twice in one mapping, the last occurrence is returned. Inside a
/// one-line flow collection it returns that line without checking that the
/// rest of the path exists: callers only ask for paths that do.
fn find_line(text: &str, path: &str) -> Option<usize> {
    let steps = parse_field_path(path)?;
    locate(&yaml_lines(text), &steps)
}

/// Finds `steps` inside `block`, the lines of one YAML node.
fn locate(block: &[YamlLine<'_>], steps: &[Step<'_>]) -> Option<usize> {
    let (step, rest) = steps.split_first()?;
    let indent = block.first()?.indent;
    match step {
        Step::Key(key) => {
            // Keys of this mapping sit at its indentation; list items at the
            // same indentation belong to the previous key.
            let (index, value) = block
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == indent && list_item(l.text).is_none())
                .filter_map(|(i, l)| key_value(l.text, key).map(|v| (i, v)))
                .next_back()?;
            let line = block[index];
            if rest.is_empty() {
                return Some(line.number);
            }
            let value = skip_node_properties(value);
            if !value.is_empty() {
                return one_line_flow(value).then_some(line.number);
            }
            let end = block[index + 1..]
                .iter()
                .position(|l| {
                    !(l.indent > line.indent
                        || (l.indent == line.indent && list_item(l.text).is_some()))
                })
                .map_or(block.len(), |p| index + 1 + p);
            locate(&block[index + 1..end], rest)
        }
        Step::Index(n) => {
            let items: Vec<usize> = block
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == indent && list_item(l.text).is_some())
                .map(|(i, _)| i)
                .collect();
            // The node must be a list: its first line is an item.
            if items.first() != Some(&0) {
                return None;
            }
            let start = *items.get(*n)?;
            let end = items.get(n + 1).copied().unwrap_or(block.len());
            let head = block[start];
            if rest.is_empty() {
                return Some(head.number);
            }
            let content = list_item(head.text)?;
            let content = skip_node_properties(content);
            if content.is_empty() {
                return locate(&block[start + 1..end], rest);
            }
            if content.starts_with(['{', '[']) {
                return one_line_flow(content).then_some(head.number);
            }
            // `- key: value`: the item's mapping starts right after the dash.
            let mut item = Vec::with_capacity(end - start);
            item.push(YamlLine {
                number: head.number,
                indent: head.indent + (head.text.len() - content.len()),
                text: content,
            });
            item.extend_from_slice(&block[start + 1..end]);
            locate(&item, rest)
        }
    }
}

/// For `- content` returns `content` (empty for a bare `-`).
fn list_item(text: &str) -> Option<&str> {
    if text == "-" {
        return Some("");
    }
    text.strip_prefix("- ")
        .map(|rest| rest.trim_start_matches(' '))
}

/// For `key: value` (the key plain or quoted) returns `value`, without a
/// trailing comment.
fn key_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let after = text
        .strip_prefix(key)
        .or_else(|| text.strip_prefix('"')?.strip_prefix(key)?.strip_prefix('"'))
        .or_else(|| {
            text.strip_prefix('\'')?
                .strip_prefix(key)?
                .strip_prefix('\'')
        })?;
    let value = after.trim_start_matches(' ').strip_prefix(':')?;
    if !value.is_empty() && !value.starts_with([' ', '\t']) {
        return None;
    }
    let value = value.trim();
    // ` #` starts a comment; a `#` inside quotes is rare enough in these
    // values that a wrong cut only costs a `None` later.
    let value = match value.find(" #") {
        Some(i) => value[..i].trim_end(),
        None if value.starts_with('#') => "",
        None => value,
    };
    Some(value)
}

/// Drops leading anchors (`&name`) and tags (`!tag`) from a value.
fn skip_node_properties(mut value: &str) -> &str {
    while value.starts_with(['&', '!']) {
        value = value
            .split_once(' ')
            .map_or("", |(_, rest)| rest.trim_start());
    }
    value
}

/// Whether `value` is a flow collection (`{…}` or `[…]`) closed on this line.
fn one_line_flow(value: &str) -> bool {
    if !value.starts_with(['{', '[']) {
        return false;
    }
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return value[i + 1..].trim().is_empty();
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The v1alpha2 example: every v1 section, including v1-only fields.
    const V1_FULL: &str = r#"# A v1 configuration that uses every section.
apiVersion: mirror.openshift.io/v1alpha2
kind: ImageSetConfiguration
archiveSize: 8
storageConfig:
  local:
    path: /var/lib/oc-mirror/metadata
mirror:
  platform:
    architectures:
      - amd64
      - arm64
    graph: true
    channels:
      - name: stable-4.16
      - name: fast-4.17
        type: ocp
        minVersion: 4.17.2
        maxVersion: 4.17.9
        shortestPath: true
      - name: eus-4.14
        full: true
  operators:
    - catalog: registry.example.com/olm/main-index:v4.17
      full: false
      skipDependencies: true
      targetCatalog: mirrored/main-index
      targetTag: v4.17-trimmed
      packages:
        - name: logging-operator
          defaultChannel: stable-6.1
          channels:
            - name: stable-6.1
              minVersion: 6.1.0
              maxVersion: 6.1.4
        - name: compliance-operator
          minVersion: 1.6.0
        - name: legacy-thing
          minBundle: legacy-thing.v0.3.0
          channels:
            - name: alpha
              minBundle: legacy-thing.v0.3.1
    - catalog: oci:///srv/catalogs/internal
      targetName: internal-index
      originalRef: registry.example.com/olm/internal-index:v1
      packages:
        - name: dns-helper
  additionalImages:
    - name: registry.example.com/base/toolbox:1.4
    - name: quay.io/team/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  blockedImages:
    - name: busybox
    - name: ^untrusted\.example\.org/
  helm:
    local:
      - name: dashboards
        path: /charts/dashboards-2.1.0.tgz
    repositories:
      - name: charts-example
        url: https://charts.example.com/stable
        charts:
          - name: exporter
            version: 3.2.1
            imagePaths:
              - "{.spec.template.spec.initContainers[*].image}"
"#;

    /// The v2alpha1 example: every v2 section, including v2-only fields.
    const V2_FULL: &str = r#"apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
archiveSize: 2
mirror:
  platform:
    graph: true
    kubeVirtContainer: true
    platforms:
      - {os: linux, architecture: amd64}
      - os: linux
        architecture: arm64
        variant: v8
    channels:
    - name: stable-4.19
      minVersion: 4.19.2
      maxVersion: 4.19.2
    - name: candidate-4.20
      minVersion: 4.20.0-rc.1
      shortestPath: true
    - name: 4-scos-stable
      type: okd
  operators:
    - catalog: registry.example.com/olm/main-index:v4.19
      targetCatalog: disconnected/main-index
      targetTag: stable
      targetCatalogSourceTemplate: /etc/oc-mirror/catalogsource.yaml
      platforms: [{os: linux, architecture: amd64}]
      packages:
        - name: load-balancer-operator
        - name: logging-operator
          defaultChannel: stable-6.2
          channels:
            - name: stable-6.2
              minVersion: 6.2.0
        - name: api-gateway
          minVersion: 2.14.0
          maxVersion: 2.15.1
    - catalog: registry.example.com/olm/partner-index:v4.19
      full: true
      packages:
        - name: gpu-operator
  additionalImages:
    - name: registry.example.com/base/minimal:9
    - name: quay.io/team/service:v2.0
      targetRepo: apps/service
      targetTag: pinned
      platforms:
        - os: linux
          architecture: amd64
  blockedImages:
    - name: ".*-debug$"
  helm:
    repositories:
      - name: signing
        url: https://charts.example.org/signing
        charts:
          - name: policy-controller
            version: 0.9.0
            platforms: [{os: linux, architecture: arm64}]
    local:
      - name: in-house
        path: /charts/in-house
"#;

    const V2_DELETE: &str = r#"apiVersion: mirror.openshift.io/v2alpha1
kind: DeleteImageSetConfiguration
delete:
  platform:
    channels:
      - name: stable-4.19
        minVersion: 4.19.2
        maxVersion: 4.19.2
  operators:
    - catalog: registry.example.com/olm/main-index:v4.19
      packages:
        - name: load-balancer-operator
  additionalImages:
    - name: registry.example.com/base/minimal@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
"#;

    fn parse(text: &str) -> Result<ConfigDocument, ConfigError> {
        parse_str(text, "isc.yaml")
    }

    fn mirror(text: &str) -> ImageSetConfiguration {
        match parse(text) {
            Ok(ConfigDocument::Mirror(config)) => config,
            other => panic!("expected an ImageSetConfiguration, got {other:?}"),
        }
    }

    /// Parses `text`, expects an error, and checks its field path and line.
    #[track_caller]
    fn rejects(text: &str, field: &str, line: Option<usize>) -> String {
        let err = match parse(text) {
            Ok(doc) => panic!("expected an error at `{field}`, parsed {doc:?}"),
            Err(err) => err,
        };
        let shown = err.to_string();
        assert_eq!(err.field(), Some(field), "wrong field in: {shown}");
        assert_eq!(err.line(), line, "wrong line in: {shown}");
        shown
    }

    /// A v2 document with `body` (indented under `mirror:`) as its content.
    fn v2(body: &str) -> String {
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{body}"
        )
    }

    fn v1(body: &str) -> String {
        format!(
            "apiVersion: mirror.openshift.io/v1alpha2\nkind: ImageSetConfiguration\nmirror:\n{body}"
        )
    }

    // --- the full examples -------------------------------------------------

    #[test]
    fn v1_example_parses() {
        let config = mirror(V1_FULL);
        assert_eq!(config.api_version, ApiVersion::V1Alpha2);
        assert_eq!(config.archive_size_bytes(), 8 * GIB);
        let storage = config
            .storage_config
            .as_ref()
            .and_then(|s| s.local.as_ref());
        assert_eq!(
            storage.map(|l| l.path.as_str()),
            Some("/var/lib/oc-mirror/metadata")
        );

        let platform = config.mirror.platform.as_ref().expect("platform");
        assert_eq!(platform.architectures, ["amd64", "arm64"]);
        assert_eq!(platform.channels.len(), 3);
        assert_eq!(platform.channels[1].min_version.as_deref(), Some("4.17.2"));
        assert!(platform.channels[1].shortest_path);
        assert!(platform.channels[2].full);

        let ops = &config.mirror.operators;
        assert_eq!(
            ops[0].packages[2].min_bundle.as_deref(),
            Some("legacy-thing.v0.3.0")
        );
        assert_eq!(ops[1].target_name.as_deref(), Some("internal-index"));
        assert_eq!(config.mirror.blocked_images.len(), 2);
        let helm = config.mirror.helm.as_ref().expect("helm");
        assert_eq!(helm.repositories[0].charts[0].image_paths.len(), 1);
        assert_eq!(helm.local[0].path, "/charts/dashboards-2.1.0.tgz");
    }

    #[test]
    fn v2_example_parses() {
        let config = mirror(V2_FULL);
        assert_eq!(config.api_version, ApiVersion::V2Alpha1);
        assert_eq!(config.archive_size_bytes(), 2 * GIB);
        let platform = config.mirror.platform.as_ref().expect("platform");
        assert!(platform.kube_virt_container);
        assert_eq!(platform.platforms[1].variant.as_deref(), Some("v8"));
        assert_eq!(platform.channels[2].channel_type, ChannelType::Okd);
        assert_eq!(platform.channels[0].channel_type, ChannelType::Ocp);
        let image = &config.mirror.additional_images[1];
        assert_eq!(image.target_repo.as_deref(), Some("apps/service"));
        assert_eq!(image.platforms[0].architecture, "amd64");
        assert_eq!(config.mirror.operators[0].platforms.len(), 1);
        assert!(config.mirror.operators[1].full);
    }

    #[test]
    fn v2_delete_example_parses() {
        match parse(V2_DELETE) {
            Ok(ConfigDocument::Delete(config)) => {
                assert_eq!(
                    config.delete.operators[0].packages[0].name,
                    "load-balancer-operator"
                );
                assert_eq!(config.delete.additional_images.len(), 1);
            }
            other => panic!("expected a delete configuration, got {other:?}"),
        }
    }

    #[test]
    fn both_documents_in_one_file_are_refused() {
        let text = format!("{V2_FULL}---\n{V2_DELETE}");
        let err = parse(&text).expect_err("two documents");
        assert!(
            matches!(err, ConfigError::MultipleDocuments { .. }),
            "{err}"
        );
        assert_eq!(err.line(), Some(V2_FULL.lines().count() + 1));
        // A leading `---` is just the start of the one document.
        assert!(parse(&format!("---\n{V2_FULL}")).is_ok());
    }

    #[test]
    fn round_trip_gives_equal_values() {
        for text in [V1_FULL, V2_FULL, V2_DELETE] {
            let parsed = parse(text).expect("example parses");
            let yaml = match &parsed {
                ConfigDocument::Mirror(c) => serde_norway::to_string(c),
                ConfigDocument::Delete(c) => serde_norway::to_string(c),
            }
            .expect("serializes");
            let again = parse(&yaml).unwrap_or_else(|e| panic!("{e}\n---\n{yaml}"));
            assert_eq!(parsed, again);
            // Defaults are not written out.
            assert!(
                !yaml.contains("false") && !yaml.contains("[]") && !yaml.contains("null"),
                "{yaml}"
            );
        }
    }

    #[test]
    fn archive_size_defaults_to_500_gib() {
        let config = mirror(&v2("  additionalImages:\n    - name: busybox\n"));
        assert_eq!(config.archive_size_bytes(), 500 * GIB);
    }

    #[test]
    fn blocked_patterns_compile_unanchored() {
        let patterns = mirror(V1_FULL).blocked_patterns();
        assert_eq!(patterns.len(), 2);
        assert!(patterns[0].is_match("docker.io/library/busybox:1.36"));
        assert!(patterns[1].is_match("untrusted.example.org/x/y:1"));
        assert!(!patterns[1].is_match("quay.io/untrusted.example.org/"));
    }

    // --- serde_norway errors: line and field path ---------------------------

    #[test]
    fn serde_norway_message_format() {
        // `syntax_error` takes this text apart; fail here first if it changes.
        let err = serde_norway::from_str::<ImageSetConfiguration>(&v2(
            "  additionalImages:\n    - nme: x\n",
        ))
        .expect_err("unknown field");
        let text = err.to_string();
        assert!(
            text.starts_with("mirror.additionalImages[0]: unknown field `nme`, expected one of")
                && text.ends_with(" at line 5 column 7"),
            "{text}"
        );
    }

    #[test]
    fn unknown_field_in_list_item() {
        let text = v2("  additionalImages:\n    - name: busybox\n    - nme: alpine\n");
        let shown = rejects(&text, "mirror.additionalImages[1].nme", Some(6));
        assert!(shown.starts_with(
            "isc.yaml:6: `mirror.additionalImages[1].nme`: unknown field `nme`, expected one of `name`, `targetRepo`"
        ), "{shown}");
    }

    #[test]
    fn unknown_top_level_field() {
        let text = v2("  helm: {}\nmirorr: {}\n");
        rejects(&text, "mirorr", Some(5));
    }

    #[test]
    fn missing_field_and_wrong_type() {
        let text = v2("  operators:\n    - full: true\n");
        rejects(&text, "mirror.operators[0].catalog", Some(5));
        let text = v2("  platform:\n    graph: maybe\n");
        let shown = rejects(&text, "mirror.platform.graph", Some(5));
        assert!(shown.contains("expected a boolean"), "{shown}");
        let text = v2("  platform:\n    channels:\n      - name: a\n        type: rhel\n");
        let shown = rejects(&text, "mirror.platform.channels[0].type", Some(7));
        assert!(shown.contains("expected `ocp` or `okd`"), "{shown}");
        let missing = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n";
        rejects(missing, "mirror", Some(1));
    }

    #[test]
    fn duplicate_key_points_at_the_duplicate() {
        let text = v2("  platform:\n    graph: true\n    channels: []\n    graph: false\n");
        let shown = rejects(&text, "mirror.platform.graph", Some(7));
        assert!(shown.contains("duplicate field `graph`"), "{shown}");
    }

    #[test]
    fn tab_indentation_gets_a_hint() {
        let text = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n\tadditionalImages: []\n";
        let err = parse(text).expect_err("tab");
        let shown = err.to_string();
        assert_eq!(err.line(), Some(4), "{shown}");
        assert!(shown.contains("hint: indent with spaces"), "{shown}");
    }

    // --- apiVersion and kind -------------------------------------------------

    #[test]
    fn api_version_and_kind_are_checked_first() {
        let shown = rejects(
            "kind: ImageSetConfiguration\nmirror: {}\n",
            "apiVersion",
            Some(1),
        );
        assert!(
            shown.contains("`mirror.openshift.io/v1alpha2`, `mirror.openshift.io/v2alpha1`"),
            "{shown}"
        );
        let shown = rejects(
            "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha1\nmirror: {}\n",
            "apiVersion",
            Some(2),
        );
        assert!(
            shown.contains("unknown version `mirror.openshift.io/v1alpha1`"),
            "{shown}"
        );
        rejects(
            "apiVersion: 2\nkind: ImageSetConfiguration\n",
            "apiVersion",
            Some(1),
        );
        rejects(
            "apiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n",
            "kind",
            Some(1),
        );
        let shown = rejects(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSet\nmirror: {}\n",
            "kind",
            Some(2),
        );
        assert!(
            shown.contains("`ImageSetConfiguration` or `DeleteImageSetConfiguration`"),
            "{shown}"
        );
    }

    #[test]
    fn delete_requires_v2alpha1() {
        let text = V2_DELETE.replace("v2alpha1", "v1alpha2");
        let shown = rejects(&text, "apiVersion", Some(1));
        assert!(
            shown.contains("hint: set `apiVersion: mirror.openshift.io/v2alpha1`"),
            "{shown}"
        );
    }

    #[test]
    fn sections_must_match_the_kind() {
        let text = format!("{V2_FULL}delete: {{}}\n");
        rejects(&text, "delete", Some(V2_FULL.lines().count() + 1));
        let text = format!("{V2_DELETE}mirror: {{}}\n");
        rejects(&text, "mirror", Some(V2_DELETE.lines().count() + 1));
    }

    #[test]
    fn load_mirror_config_refuses_a_delete_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("delete.yaml");
        std::fs::write(&path, V2_DELETE).expect("write");
        let err = load_mirror_config(&path).expect_err("delete document");
        assert_eq!(err.field(), Some("kind"));
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("oc-mirror delete"), "{err}");
        assert!(matches!(load_file(&path), Ok(ConfigDocument::Delete(_))));

        let path = dir.path().join("isc.yaml");
        std::fs::write(&path, V2_FULL).expect("write");
        assert!(load_mirror_config(&path).is_ok());
    }

    // --- fields of the other version ----------------------------------------

    #[test]
    fn v1alpha2_refuses_v2_only_fields() {
        let cases = [
            (
                "  additionalImages:\n    - name: a\n      targetRepo: b\n",
                "mirror.additionalImages[0].targetRepo",
                6,
            ),
            (
                "  additionalImages:\n    - name: a\n    - name: b\n      targetTag: c\n",
                "mirror.additionalImages[1].targetTag",
                7,
            ),
            (
                "  additionalImages:\n    - name: a\n      platforms: []\n",
                "mirror.additionalImages[0].platforms",
                6,
            ),
            (
                "  platform:\n    release: quay.io/a/b:1\n",
                "mirror.platform.release",
                5,
            ),
            (
                "  platform:\n    kubeVirtContainer: false\n",
                "mirror.platform.kubeVirtContainer",
                5,
            ),
            (
                "  platform:\n    platforms: []\n",
                "mirror.platform.platforms",
                5,
            ),
            (
                "  operators:\n    - catalog: a/b:1\n      targetCatalogSourceTemplate: /t.yaml\n",
                "mirror.operators[0].targetCatalogSourceTemplate",
                6,
            ),
            (
                "  operators:\n    - catalog: a/b:1\n      platforms: []\n",
                "mirror.operators[0].platforms",
                6,
            ),
            (
                "  helm:\n    local:\n      - name: a\n        path: /a\n        platforms: []\n",
                "mirror.helm.local[0].platforms",
                8,
            ),
            (
                "  helm:\n    repositories:\n      - name: a\n        url: https://x\n        charts:\n          - name: c\n            platforms: []\n",
                "mirror.helm.repositories[0].charts[0].platforms",
                10,
            ),
        ];
        for (body, field, line) in cases {
            let shown = rejects(&v1(body), field, Some(line));
            assert!(shown.ends_with("hint: set `apiVersion: mirror.openshift.io/v2alpha1` to use it (oc-mirror v2 format)"), "{shown}");
            // The same document is fine as v2alpha1.
            assert!(parse(&v2(body)).is_ok(), "{body}");
        }
    }

    #[test]
    fn v2alpha1_refuses_v1_only_fields() {
        let cases = [
            (
                "  operators:\n    - catalog: a/b:1\n      packages:\n        - name: p\n          minBundle: p.v1\n",
                "mirror.operators[0].packages[0].minBundle",
                8,
            ),
            (
                "  operators:\n    - catalog: a/b:1\n      packages:\n        - name: p\n          channels:\n            - name: c\n              minBundle: p.v1\n",
                "mirror.operators[0].packages[0].channels[0].minBundle",
                10,
            ),
            (
                "  operators:\n    - catalog: a/b:1\n      targetName: x\n",
                "mirror.operators[0].targetName",
                6,
            ),
            (
                "  operators:\n    - catalog: a/b:1\n      originalRef: a/b:0\n",
                "mirror.operators[0].originalRef",
                6,
            ),
        ];
        for (body, field, line) in cases {
            let shown = rejects(&v2(body), field, Some(line));
            assert!(
                shown.contains("or set `apiVersion: mirror.openshift.io/v1alpha2`"),
                "{shown}"
            );
            assert!(parse(&v1(body)).is_ok(), "{body}");
        }
        let text = V2_DELETE.replace(
            "      packages:\n",
            "      targetName: x\n      packages:\n",
        );
        let shown = rejects(&text, "delete.operators[0].targetName", Some(11));
        assert!(shown.contains("hint: remove it"), "{shown}");
    }

    #[test]
    fn the_first_version_violation_in_the_file_is_reported() {
        let body = "  operators:\n    - catalog: a/b:1\n      platforms: []\n  platform:\n    release: a/b:1\n";
        rejects(&v1(body), "mirror.operators[0].platforms", Some(6));
    }

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

    // --- validation ------------------------------------------------------------

    #[test]
    fn archive_size_must_be_positive() {
        let text = v2("  additionalImages:\n    - name: a\n")
            .replace("mirror:", "archiveSize: 0\nmirror:");
        let shown = rejects(&text, "archiveSize", Some(3));
        assert_eq!(
            shown,
            "isc.yaml:3: `archiveSize`: must be at least 1 (the unit is GiB)"
        );
        let text = v2("  additionalImages: []\n").replace("mirror:", "archiveSize: -4\nmirror:");
        rejects(&text, "archiveSize", Some(3));
    }

    #[test]
    fn additional_image_names_are_references() {
        let bad = [
            ("\"\"", "must not be empty"),
            ("quay.io/Team/app:1", "path component `Team`"),
            ("quay.io/team/app:-1", "tag `-1`"),
            ("quay.io/team/app@sha256:abc", "digest `sha256:abc`"),
            ("docker://quay.io/team/app", "transport prefix"),
            ("quay.io//app", "empty component"),
            ("bad_host.io/app", "registry host"),
        ];
        for (name, reason) in bad {
            let body = format!("  additionalImages:\n    - name: busybox\n    - name: {name}\n");
            let shown = rejects(&v2(&body), "mirror.additionalImages[1].name", Some(6));
            assert!(shown.contains(reason), "{shown}");
        }
        for name in [
            "busybox",
            "library/busybox:1.36",
            "localhost:5000/a/b",
            "registry.example.com:8443/a/b-c__d.e:v1.0_rc",
            "[::1]:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Registry.Example.com/app:latest",
        ] {
            assert_eq!(check_image_reference(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn duplicate_additional_images() {
        let body = "  additionalImages:\n    - name: a/b:1\n    - name: c/d:1\n    - name: a/b:1\n";
        let shown = rejects(&v2(body), "mirror.additionalImages[2].name", Some(7));
        assert!(
            shown.contains("already listed at `mirror.additionalImages[0]`"),
            "{shown}"
        );
    }

    #[test]
    fn target_repo_and_target_tag_grammar() {
        let body = "  additionalImages:\n    - name: a/b:1\n      targetRepo: Apps/b\n";
        rejects(&v2(body), "mirror.additionalImages[0].targetRepo", Some(6));
        let body = "  additionalImages:\n    - name: a/b:1\n      targetRepo: apps/b\n      targetTag: .hidden\n";
        rejects(&v2(body), "mirror.additionalImages[0].targetTag", Some(7));
    }

    #[test]
    fn blocked_images_must_compile() {
        let body = "  blockedImages:\n    - name: ok\n    - name: \"broken(\"\n";
        let shown = rejects(&v2(body), "mirror.blockedImages[1].name", Some(6));
        assert_eq!(
            shown,
            "isc.yaml:6: `mirror.blockedImages[1].name`: `broken(` is not a valid regular expression: unclosed group"
        );
        rejects(
            &v2("  blockedImages:\n    - name: ''\n"),
            "mirror.blockedImages[0].name",
            Some(5),
        );
    }

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

    #[test]
    fn semver_grammar_and_order() {
        for good in [
            "0.0.0",
            "4.18.1",
            "1.2.3-rc.1",
            "1.2.3+build.5",
            "1.2.3-0.a-b+x",
        ] {
            assert!(parse_semver(good).is_ok(), "{good}");
        }
        for bad in [
            "4.18",
            "v4.18.1",
            "4.18.01",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3+",
            "a.b.c",
            "1.2.3.4",
            "99999999999999999999.0.0",
        ] {
            assert!(parse_semver(bad).is_err(), "{bad}");
        }
        let order = |a: &str, b: &str| {
            parse_semver(a)
                .expect(a)
                .cmp_precedence(&parse_semver(b).expect(b))
        };
        // The example order from semver.org.
        let sorted = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        ];
        for pair in sorted.windows(2) {
            assert_eq!(order(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(order("1.0.0+a", "1.0.0+b"), Ordering::Equal);
    }

    #[test]
    fn operator_checks() {
        let op = |extra: &str| {
            v2(&format!(
                "  operators:\n    - catalog: quay.io/olm/index:v1\n      packages:\n        - name: one\n{extra}"
            ))
        };
        // Duplicate catalog (same catalog, target catalog and tag).
        let body = "  operators:\n    - catalog: a/b:1\n    - catalog: a/b:1\n      targetTag: other\n    - catalog: a/b:1\n";
        let shown = rejects(&v2(body), "mirror.operators[2].catalog", Some(8));
        assert!(
            shown.contains("already listed at `mirror.operators[0]`"),
            "{shown}"
        );
        // Duplicate package in a catalog.
        rejects(
            &op("        - name: two\n        - name: one\n"),
            "mirror.operators[0].packages[2].name",
            Some(9),
        );
        // Duplicate channel in a package.
        let extra = "          channels:\n            - name: c\n            - name: c\n";
        rejects(
            &op(extra),
            "mirror.operators[0].packages[0].channels[1].name",
            Some(10),
        );
        // Package-level and channel-level ranges together.
        let extra = "          minVersion: 1.0.0\n          channels:\n            - name: c\n              maxVersion: 2.0.0\n";
        let shown = rejects(
            &op(extra),
            "mirror.operators[0].packages[0].channels[0].maxVersion",
            Some(11),
        );
        assert!(
            shown.contains("hint: set the version range on the package or on its channels"),
            "{shown}"
        );
        // Package version not semver.
        rejects(
            &op("          minVersion: latest\n"),
            "mirror.operators[0].packages[0].minVersion",
            Some(8),
        );
        // Target catalog grammar.
        let body = "  operators:\n    - catalog: a/b:1\n      targetCatalog: My/Index\n";
        let shown = rejects(&v2(body), "mirror.operators[0].targetCatalog", Some(6));
        assert!(shown.contains("path component `My`"), "{shown}");
        // Catalog reference; `oci:` catalogs are local paths.
        rejects(
            &v2("  operators:\n    - catalog: A b\n"),
            "mirror.operators[0].catalog",
            Some(5),
        );
        assert!(parse(&v2("  operators:\n    - catalog: oci:///srv/Catalog\n")).is_ok());
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

    #[test]
    fn delete_documents_are_validated_too() {
        let text = V2_DELETE.replace("minVersion: 4.19.2", "minVersion: 4.19.3");
        rejects(&text, "delete.platform.channels[0].maxVersion", Some(8));
    }

    // --- inputs that must not panic --------------------------------------------

    #[test]
    fn document_shape_errors() {
        assert!(matches!(parse(""), Err(ConfigError::Empty { .. })));
        assert!(matches!(
            parse("# only a comment\n"),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(parse("~\n"), Err(ConfigError::Empty { .. })));
        let err = parse("\n- apiVersion: x\n- kind: y\n").expect_err("list");
        assert_eq!(
            err.to_string(),
            "isc.yaml:2: expected a mapping with `apiVersion` and `kind`, found a list"
        );
        assert!(matches!(
            parse("just text"),
            Err(ConfigError::NotAMapping { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let mut inputs: Vec<String> = [
            "", " ", "\t", "\u{feff}", "{", "[", "}", ":", "- -", "? ", "&a", "*a", "!!binary x",
            "a: b: c", "\"unterminated", "key: 'x", "\u{0}", "%YAML 1.2\n---\n", "---\n---\n",
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: [1, 2]\n",
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: !custom {a: 1}\n",
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n    - name: &x a\n    - name: *x\n",
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n? [a]\n: b\nmirror: {}\n",
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\narchiveSize: 18446744073709551615\nmirror: {}\n",
            "a: &a [*a]\n",
            "a: &a ['x','x','x','x','x','x','x','x','x']\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        inputs.push("[".repeat(10_000));
        inputs.push("a:\n".repeat(1000) + &" ".repeat(3000));
        inputs.push(format!("{}x", "- ".repeat(5000)));
        // Every prefix of the examples, and the examples with tabs for spaces.
        for example in [V1_FULL, V2_FULL, V2_DELETE] {
            for (i, _) in example.char_indices().step_by(7) {
                inputs.push(example[..i].to_string());
            }
            inputs.push(example.replace("  ", "\t"));
        }
        // Deterministic noise made of YAML's special characters.
        let alphabet: Vec<char> = " \n\t-:?[]{},#&*!|>'\"%@`abcé0.".chars().collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            let mut s = String::new();
            for _ in 0..(seed % 60) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            inputs.push(s);
        }
        for input in &inputs {
            let _ = parse(input);
            for path in [
                "mirror",
                "mirror.operators[0].packages[1].name",
                "a[0][1]",
                "",
                ".",
                "[",
                "a[x]",
            ] {
                let _ = find_line(input, path);
            }
        }
    }

    #[test]
    fn files_that_are_not_utf8_or_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("latin1.yaml");
        std::fs::write(
            &path,
            b"apiVersion: mirror.openshift.io/v2alpha1\nkind: Image\xe9Set\n",
        )
        .expect("write");
        let err = load_file(&path).expect_err("not UTF-8");
        assert_eq!(err.line(), Some(2));
        assert!(
            err.to_string()
                .ends_with(":2: the file is not valid UTF-8 (bad byte at offset 52)"),
            "{err}"
        );

        let err = load_file(&dir.path().join("absent.yaml")).expect_err("missing");
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(std::error::Error::source(&err).is_some());
    }

    // --- the line finder -------------------------------------------------------

    #[test]
    fn line_finder_walks_nested_lists() {
        let text = "\
# comment
mirror:
  operators:
    - catalog: a   # first
      packages:
        - name: p
        - name: q
          channels:

            - name: c1
            - name: c2
    - catalog: b
      packages:
      - name: r
        channels:
        -   name: c3
            minVersion: 1.0.0
    -
      catalog: c
  \"quoted\": 1
";
        let cases = [
            ("mirror", Some(2)),
            ("mirror.operators", Some(3)),
            ("mirror.operators[0]", Some(4)),
            ("mirror.operators[0].catalog", Some(4)),
            ("mirror.operators[0].packages[1].name", Some(7)),
            ("mirror.operators[0].packages[1].channels[1].name", Some(11)),
            ("mirror.operators[1].catalog", Some(12)),
            ("mirror.operators[1].packages[0].name", Some(14)),
            (
                "mirror.operators[1].packages[0].channels[0].minVersion",
                Some(17),
            ),
            ("mirror.operators[2].catalog", Some(19)),
            ("mirror.quoted", Some(20)),
            ("mirror.operators[3]", None),
            ("mirror.operators[0].packages[0].channels", None),
            ("mirror.nothing", None),
            ("operators", None),
        ];
        for (path, line) in cases {
            assert_eq!(find_line(text, path), line, "{path}");
        }
    }

    #[test]
    fn line_finder_flow_collections() {
        let text = "a:\n  list: [x, {y: 1}]\n  open: [x,\n    y]\n  map: {k: v}\n  scalar: text\n";
        assert_eq!(find_line(text, "a.list[1].y"), Some(2));
        assert_eq!(find_line(text, "a.map.k"), Some(5));
        // Not sure where `y` is: say so.
        assert_eq!(find_line(text, "a.open[1]"), None);
        assert_eq!(find_line(text, "a.scalar.x"), None);
        assert_eq!(find_line(text, "a.open"), Some(3));
    }
}
