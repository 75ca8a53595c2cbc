//! Fixture: a content source that writes image layers through the host
//! (`images.layer-writer`, contract 0.3.0). Its configuration says what to do:
//!
//! - `{"mode": "write", "base": REF}`: a layer with `files/hello.txt`
//!   (`hello`) and a whiteout `.wh.old`, and a build of it on `base`
//!   (labels `fixture=layer-writer`, `Cmd ["hello"]`) to `built/hello:1`;
//! - `{"mode": "escape"}`: tries to write `../escape` and returns the host's
//!   answer;
//! - `{"mode": "foreign"}`: names in a build a layer id it never wrote;
//! - `{"mode": "artifact", "file": PATH}`: an artifact `charts/hello:1.0`
//!   of a JSON config and a `hello` layer, the layer to be placed at PATH;
//! - `{"mode": "foreign-blob"}`: an artifact naming a blob it never wrote.

use std::io::Write;

use oc_mirror_plugin_sdk::images::{BlobWriter, LayerWriter};
use oc_mirror_plugin_sdk::{
    Artifact, ArtifactBlob, ContentSource, Error, ImageBuild, ImageKind, Layer, PluginInfo,
    Resolution,
};

fn blob(media_type: &str, bytes: &[u8]) -> Result<ArtifactBlob, Error> {
    let mut w = BlobWriter::new();
    w.write_all_bytes(bytes)?;
    Ok(ArtifactBlob {
        media_type: media_type.into(),
        blob: w.finish()?,
        annotations: Vec::new(),
    })
}

fn artifact(file: &str, foreign: bool) -> Result<Resolution, Error> {
    let config = blob(
        "application/vnd.example.config.v1+json",
        b"{\"name\":\"hello\"}",
    )?;
    let mut layer = blob("application/vnd.example.content.v1.tar+gzip", b"hello")?;
    if foreign {
        layer.blob = format!("sha256:{}", "1".repeat(64));
    }
    Ok(Resolution {
        artifacts: vec![Artifact {
            destination: "charts/hello:1.0".into(),
            files: vec![(file.into(), layer.blob.clone())],
            config,
            layers: vec![layer],
            annotations: vec![("org.opencontainers.image.title".into(), "hello".into())],
            kind: ImageKind::Generic,
        }],
        ..Resolution::default()
    })
}

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
            "artifact" => {
                return artifact(config["file"].as_str().unwrap_or("hello.tgz"), false);
            }
            "foreign-blob" => return artifact("hello.tgz", true),
            other => return Err(Error::InvalidConfig(format!("unknown mode `{other}`"))),
        };
        Ok(Resolution {
            builds: vec![build(base, layer)],
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(Writer);
