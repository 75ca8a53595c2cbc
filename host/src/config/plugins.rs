//! `plugins`: third-party content sources and publishers (an extension of
//! this implementation, accepted with either API version).
//!
//! Each entry names one wasm component, on disk or in a registry, with the
//! digest it must have and the capabilities the user grants it; the checks
//! here refuse entries that are ambiguous or grant something unknown.

use serde::{Deserialize, Serialize};

use super::check::{Check, Checker};

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

impl Checker<'_> {
    pub(super) fn plugins(&self, plugins: &[PluginSpec], prefix: &str) -> Check {
        for (i, p) in plugins.iter().enumerate() {
            self.plugin(p, &format!("{prefix}[{i}]"))?;
        }
        Ok(())
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
        if let Some(Err(e)) = p.digest.as_deref().map(crate::digest::Digest::parse) {
            return Err(self.invalid(&format!("{field}.digest"), e.to_string()));
        }
        // The plugin host's grammar: one definition of a capability.
        for (j, g) in p.grants.iter().enumerate() {
            if let Err(e) = crate::plugin::Capability::parse(g, false) {
                return Err(self.invalid_hint(
                    &format!("{field}.grants[{j}]"),
                    e.to_string(),
                    "grant `registry` or `http:HOST[:PORT]`",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::rejects;

    fn with_grants(grants: &str) -> String {
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nplugins:\n  - path: /opt/p.wasm\n    grants: {grants}\nmirror: {{}}\n"
        )
    }

    #[test]
    fn a_misspelt_or_wildcard_grant_is_named() {
        let shown = rejects(
            &with_grants("[registry, regsitry]"),
            "plugins[0].grants[1]",
            Some(5),
        );
        assert!(shown.contains("`regsitry` is not a capability"), "{shown}");
        assert!(shown.contains("http:HOST[:PORT]"), "{shown}");
        let shown = rejects(
            &with_grants("[\"http:*\"]"),
            "plugins[0].grants[0]",
            Some(5),
        );
        assert!(shown.contains("a grant names its hosts"), "{shown}");
        super::super::testing::parse(&with_grants("[registry, \"http:example.com:8443\"]"))
            .expect("valid grants");
    }
}
