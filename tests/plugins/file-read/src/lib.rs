//! Fixture: `resolve` reads `/etc/passwd` and would return its first line as an
//! image name. No directory is preopened, so the read must fail; the failure comes
//! back as `Error::Other` naming the path.

use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageToMirror, PluginInfo, Resolution,
};

/// The file a plugin must not see.
const PATH: &str = "/etc/passwd";

struct FileRead;

impl ContentSource for FileRead {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "file-read".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "fileRead".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        _config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let text = std::fs::read_to_string(PATH)
            .map_err(|e| Error::Other(format!("reading {PATH} failed: {e}")))?;
        let first = text.lines().next().unwrap_or_default().to_string();
        Ok(Resolution {
            images: vec![ImageToMirror {
                source: first,
                destination_hint: None,
                kind: ImageKind::Generic,
                platforms: Vec::new(),
            }],
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(FileRead);
