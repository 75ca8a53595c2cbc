//! Fixture: `resolve` allocates (and touches) memory without bound. The host's
//! memory limit must stop it.

use oc_mirror_plugin_sdk::{ContentSource, Error, PluginInfo, Resolution};

struct MemoryBomb;

impl ContentSource for MemoryBomb {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "memory-bomb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "memoryBomb".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        _config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // 1 MiB at a time, every page written, kept alive.
            hoard.push(std::hint::black_box(vec![0xa5; 1 << 20]));
            std::hint::black_box(&hoard);
        }
    }
}

oc_mirror_plugin_sdk::export_content_source!(MemoryBomb);
