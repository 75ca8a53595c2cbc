//! `mirror.operators`: operator catalogs and the packages to take from them.
//!
//! The catalog, package and channel types, and their checks: references,
//! target names, duplicates, and version ranges that must not be set on a
//! package and its channels at once.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::check::{Check, Checker, check_repository_path};
use super::document::is_false;
use super::platform::PlatformSpec;

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

impl Checker<'_> {
    pub(super) fn operators(&self, operators: &[Operator], prefix: &str) -> Check {
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
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

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
}
