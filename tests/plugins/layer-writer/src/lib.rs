//! Fixture: a content source that writes image layers through the host
//! (`images.layer-writer`, contract 0.3.0). Its configuration says what to do:
//!
//! - `{"mode": "write", "base": REF}`: a layer with `files/hello.txt`
//!   (`hello`) and a whiteout `.wh.old`, and a build of it on `base`
//!   (labels `fixture=layer-writer`, `Cmd ["hello"]`) to `built/hello:1`;
//! - `{"mode": "escape"}`: tries to write `../escape` and returns the host's
//!   answer;
//! - `{"mode": "foreign"}`: names in a build a layer id it never wrote.

use std::io::Write;

use oc_mirror_plugin_sdk::images::LayerWriter;
use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageBuild, ImageKind, Layer, PluginInfo, Resolution,
};

struct Writer;

fn build(base: &str, layer: String) -> ImageBuild {
    ImageBuild {
        destination: "built/hello:1".into(),
        base: base.into(),
        layers: vec![Layer::Written(layer)],
        cmd: vec!["hello".into()],
        labels: vec![("fixture".into(), "layer-writer".into())],
        kind: ImageKind::Generic,
    }
}

impl ContentSource for Writer {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "layer-writer".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "layerWriter".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let mode = config["mode"].as_str().unwrap_or_default();
        let base = config["base"].as_str().unwrap_or("example.com/base:1");
        let layer = match mode {
            "write" => {
                let mut layer = LayerWriter::new();
                layer.add_directory("files")?;
                let mut file = layer.add_file("files/hello.txt")?;
                file.write_all(b"hello")
                    .map_err(|e| Error::Other(e.to_string()))?;
                file.close()?;
                layer.add_file(".wh.old")?.close()?;
                layer.finish()?
            }
            "escape" => {
                let mut layer = LayerWriter::new();
                layer.add_file("../escape")?.close()?;
                layer.finish()?
            }
            "foreign" => format!("sha256:{}", "0".repeat(64)),
            other => return Err(Error::InvalidConfig(format!("unknown mode `{other}`"))),
        };
        Ok(Resolution {
            builds: vec![build(base, layer)],
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(Writer);
