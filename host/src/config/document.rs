//! The two kinds of document and their top-level fields, and the entry points
//! that read them.
//!
//! A file is an `ImageSetConfiguration` (what to mirror) or, in v2alpha1, a
//! `DeleteImageSetConfiguration` (what to delete). This file holds those two
//! types, the `mirror`/`delete` blocks that gather the sections, and
//! [`parse_str`], which runs the four loading steps (see the module docs of
//! [`crate::config`]) and the checks that concern the whole document
//! (`apiVersion`, `kind`, which block belongs to which kind). Each section's
//! own types and checks live in the file named after it.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::check::{Check, Checker};
use super::error::{ConfigError, syntax_error};
use super::helm::Helm;
use super::images::{AdditionalImage, BlockedImage};
use super::line_finder::{find_line, yaml_lines};
use super::operators::Operator;
use super::platform::Platform;
use super::plugins::PluginSpec;
use super::shape::{Shape, read_shape};
use super::storage::StorageConfig;

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

/// One entry of `mirror.samples`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sample {
    /// Sample name.
    pub name: String,
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

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

/// A parsed configuration file: either kind of document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigDocument {
    /// `kind: ImageSetConfiguration`.
    Mirror(ImageSetConfiguration),
    /// `kind: DeleteImageSetConfiguration`.
    Delete(DeleteImageSetConfiguration),
}

/// The `kind`s we read.
pub(super) const KIND_MIRROR: &str = "ImageSetConfiguration";
pub(super) const KIND_DELETE: &str = "DeleteImageSetConfiguration";

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

#[derive(Debug, Clone, Copy)]
enum Kind {
    Mirror,
    Delete,
}

impl Checker<'_> {
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

    fn mirror_config(&self, config: &ImageSetConfiguration) -> Check {
        self.archive_size(config.archive_size)?;
        if let Some(storage) = &config.storage_config {
            self.storage(storage)?;
        }
        self.plugins(&config.plugins, "plugins")?;
        let m = &config.mirror;
        if let Some(platform) = &m.platform {
            self.platform(platform, "mirror.platform")?;
        }
        self.operators(&m.operators, "mirror.operators")?;
        self.additional_images(&m.additional_images, "mirror.additionalImages")?;
        self.blocked_images(&m.blocked_images, "mirror.blockedImages")
    }

    fn delete_config(&self, config: &DeleteImageSetConfiguration) -> Check {
        let d = &config.delete;
        if let Some(platform) = &d.platform {
            self.platform(platform, "delete.platform")?;
        }
        self.operators(&d.operators, "delete.operators")?;
        self.additional_images(&d.additional_images, "delete.additionalImages")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::archive::GIB;
    use crate::config::platform::ChannelType;
    use crate::config::testing::*;

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

    #[test]
    fn delete_documents_are_validated_too() {
        let text = V2_DELETE.replace("minVersion: 4.19.2", "minVersion: 4.19.3");
        rejects(&text, "delete.platform.channels[0].maxVersion", Some(8));
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
}
