//! Fixture: a content source that behaves. It calls nothing and returns one image,
//! `quay.io/example/well-behaved:1.0`, so the tests can check that a host which just
//! stopped a hostile plugin still runs the others.

use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageToMirror, PluginInfo, Resolution,
};

struct WellBehaved;

impl ContentSource for WellBehaved {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "well-behaved".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "wellBehaved".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        _config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        Ok(Resolution {
            images: vec![ImageToMirror {
                source: "quay.io/example/well-behaved:1.0".into(),
                destination_hint: None,
                kind: ImageKind::Generic,
                platforms: Vec::new(),
            }],
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(WellBehaved);
