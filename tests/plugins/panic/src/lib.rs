//! Fixture: `resolve` panics (with `panic = "abort"`, a wasm trap). The host must
//! report a crash of this plugin, not crash itself.

use oc_mirror_plugin_sdk::{ContentSource, Error, PluginInfo, Resolution};

struct Panic;

impl ContentSource for Panic {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "panic".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "panic".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        panic!("fixture panic (config {config})");
    }
}

oc_mirror_plugin_sdk::export_content_source!(Panic);
