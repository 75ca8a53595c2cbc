//! `mirror.additionalImages` and `mirror.blockedImages`: single images to
//! mirror, and patterns for images never to mirror.
//!
//! Both are lists of image names, checked here: additional images must be
//! valid, distinct references (with valid target names), blocked patterns
//! must be non-empty regular expressions.

use std::collections::HashMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::check::{Check, Checker, check_repository_path, regex_reason};
use super::document::ImageSetConfiguration;
use super::platform::PlatformSpec;

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

impl ImageSetConfiguration {
    /// The `blockedImages` patterns, compiled.
    ///
    /// A pattern is unanchored, as in oc-mirror: `alpine` blocks every
    /// reference that contains `alpine`. [`parse_str`](super::parse_str)
    /// refuses a pattern that does not compile, so for a loaded configuration
    /// this returns one regex per entry; in a configuration built in code, a
    /// broken pattern is left out.
    pub fn blocked_patterns(&self) -> Vec<Regex> {
        self.mirror
            .blocked_images
            .iter()
            .filter_map(|b| Regex::new(&b.name).ok())
            .collect()
    }
}

impl Checker<'_> {
    pub(super) fn additional_images(&self, images: &[AdditionalImage], prefix: &str) -> Check {
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

    pub(super) fn blocked_images(&self, blocked_images: &[BlockedImage], prefix: &str) -> Check {
        for (i, blocked) in blocked_images.iter().enumerate() {
            let field = format!("{prefix}[{i}].name");
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
}

#[cfg(test)]
mod tests {
    use crate::config::check::check_image_reference;
    use crate::config::testing::*;

    #[test]
    fn blocked_patterns_compile_unanchored() {
        let patterns = mirror(V1_FULL).blocked_patterns();
        assert_eq!(patterns.len(), 2);
        assert!(patterns[0].is_match("docker.io/library/busybox:1.36"));
        assert!(patterns[1].is_match("untrusted.example.org/x/y:1"));
        assert!(!patterns[1].is_match("quay.io/untrusted.example.org/"));
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
}
