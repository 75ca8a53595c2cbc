//! Fixture: `resolve` never returns. The host's epoch deadline must stop it.

use oc_mirror_plugin_sdk::{ContentSource, Error, PluginInfo, Resolution};

struct EndlessLoop;

impl ContentSource for EndlessLoop {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "endless-loop".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "endlessLoop".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        _config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let mut n: u64 = 0;
        loop {
            // Opaque to the optimiser, so the loop stays a loop.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

oc_mirror_plugin_sdk::export_content_source!(EndlessLoop);
