//! Content source for `mirror.additionalImages` of the ImageSetConfiguration: each
//! listed image is mirrored as it is (all its platforms, or only those listed),
//! under its own path or the `targetRepo` / `targetTag` given.
//!
//! It only restates the configuration as images: it never calls a registry (the
//! host resolves tags and copies), asks for no capability, and keeps no state.
//!
//! The config is the JSON array the host's `config::AdditionalImage` serializes:
//! `[{"name": "...", "targetRepo": "...", "targetTag": "...", "platforms":
//! [{"os": "linux", "architecture": "arm64", "variant": "v8"}]}]`, every key but
//! `name` optional.

use oc_mirror_plugin_sdk::reference::{check_repository_path, check_tag};
use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageReference, ImageToMirror, Platform, PluginInfo,
    Resolution,
};
use serde::Deserialize;

/// The ImageSetConfiguration key this plugin serves, under `mirror:`.
const CONFIG_KEY: &str = "additionalImages";

/// One entry of `mirror.additionalImages`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdditionalImage {
    /// The image reference; no tag means `latest`.
    name: String,
    /// Repository path to use in the mirror instead of the source's.
    #[serde(default)]
    target_repo: Option<String>,
    /// Tag to use in the mirror instead of the source's.
    #[serde(default)]
    target_tag: Option<String>,
    /// Platforms to keep from an index; empty keeps all.
    #[serde(default)]
    platforms: Vec<PlatformSpec>,
}

/// An OS/architecture pair, as in an OCI image index.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlatformSpec {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// The plugin.
pub struct AdditionalImages;

impl ContentSource for AdditionalImages {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "additional-images".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: CONFIG_KEY.into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        Ok(Resolution {
            images: images(config)?,
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(AdditionalImages);

/// The images of the configuration, in its order.
fn images(config: serde_json::Value) -> Result<Vec<ImageToMirror>, Error> {
    let entries: Vec<serde_json::Value> = match config {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(entries) => entries,
        other => {
            return Err(Error::InvalidConfig(format!(
                "{CONFIG_KEY} must be a list of images, not {}",
                kind_of(&other)
            )));
        }
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| image(i, entry))
        .collect()
}

/// One entry, checked; errors name it as `additionalImages[i]`.
fn image(index: usize, entry: serde_json::Value) -> Result<ImageToMirror, Error> {
    let at = format!("{CONFIG_KEY}[{index}]");
    let invalid =
        |field: &str, reason: String| Error::InvalidConfig(format!("{at}{field}: {reason}"));
    let entry: AdditionalImage =
        serde_json::from_value(entry).map_err(|e| invalid("", e.to_string()))?;
    let source = ImageReference::parse(&entry.name).map_err(|e| match e {
        Error::InvalidConfig(reason) => invalid(".name", reason),
        other => other,
    })?;
    if let Some(repo) = &entry.target_repo {
        check_repository_path(repo).map_err(|r| {
            invalid(
                ".targetRepo",
                format!("`{repo}` is not a valid repository path: {r}"),
            )
        })?;
    }
    if let Some(tag) = &entry.target_tag {
        check_tag(tag).map_err(|r| invalid(".targetTag", r))?;
    }
    let destination_hint = match (&entry.target_repo, &entry.target_tag) {
        (None, None) => None,
        (Some(repo), None) => Some(repo.clone()),
        (Some(repo), Some(tag)) => Some(format!("{repo}:{tag}")),
        // Only the tag changes: the source path stays.
        (None, Some(tag)) => Some(format!("{}:{tag}", source.repository)),
    };
    let platforms = entry
        .platforms
        .into_iter()
        .map(|p| Platform {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
        })
        .collect();
    Ok(ImageToMirror {
        source: entry.name,
        destination_hint,
        kind: ImageKind::Generic,
        platforms,
    })
}

/// What a JSON value is, for messages.
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_entry_becomes_an_image() {
        let images = images(json!([
            {"name": "registry.redhat.io/ubi9/ubi:latest"},
            {"name": "quay.io/example/tool:1.0", "targetRepo": "tools/tool",
             "platforms": [{"os": "linux", "architecture": "arm64", "variant": "v8"}]},
            {"name": "quay.io/example/app:1.0", "targetRepo": "apps/app", "targetTag": "stable"},
            {"name": "nginx", "targetTag": "mine"},
        ]))
        .unwrap();
        let hints: Vec<Option<&str>> = images
            .iter()
            .map(|i| i.destination_hint.as_deref())
            .collect();
        assert_eq!(
            hints,
            [
                None,
                Some("tools/tool"),
                Some("apps/app:stable"),
                Some("library/nginx:mine")
            ]
        );
        assert_eq!(images[0].source, "registry.redhat.io/ubi9/ubi:latest");
        assert!(images.iter().all(|i| i.kind == ImageKind::Generic));
        assert_eq!(
            images[1].platforms,
            [Platform {
                os: "linux".into(),
                architecture: "arm64".into(),
                variant: Some("v8".into())
            }]
        );
        assert!(images[0].platforms.is_empty());
    }

    #[test]
    fn invalid_entries_name_their_index() {
        let message = |config| match images(config) {
            Err(Error::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            message(json!([{"name": "a/b"}, {"nme": "x"}])).starts_with("additionalImages[1]: ")
        );
        assert!(message(json!([{"name": "Bad/Ref"}])).starts_with("additionalImages[0].name: "));
        assert!(
            message(json!([{"name": "a/b", "targetRepo": "Up"}]))
                .starts_with("additionalImages[0].targetRepo: ")
        );
        assert!(
            message(json!([{"name": "a/b", "targetTag": ":x"}]))
                .starts_with("additionalImages[0].targetTag: ")
        );
        assert!(message(json!({"name": "a/b"})).contains("must be a list"));
        assert!(images(serde_json::Value::Null).unwrap().is_empty());
    }

    #[test]
    fn through_the_wit_glue_state_is_empty() {
        let r = oc_mirror_plugin_sdk::__private::resolve::<AdditionalImages>(
            r#"[{"name":"quay.io/a/b:1"}]"#.into(),
            oc_mirror_plugin_sdk::__private::Context {
                state: String::new(),
            },
        )
        .unwrap();
        assert_eq!(r.images.len(), 1);
        assert_eq!(r.state, "");
    }
}
