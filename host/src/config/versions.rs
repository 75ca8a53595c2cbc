//! Step 2 of loading: fields that exist in only one API version.
//!
//! v1alpha2 and v2alpha1 share one set of Rust types, so serde alone would
//! accept a v2-only field in a v1 document (and the other way round). The
//! rules here name those fields by path; a document that uses one is refused
//! with a hint naming the version that has it, or what to write instead.

use super::check::{Check, Checker};
use super::document::{ApiVersion, KIND_DELETE};
use super::line_finder::find_line;
use super::shape::Shape;

impl Checker<'_> {
    /// Refuses fields that the declared API version does not have.
    pub(super) fn version_fields(
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

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

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
}
