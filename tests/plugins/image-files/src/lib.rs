//! Fixture: a content source that reads its image list out of another image, through
//! the host's `registry.open-file`, as a release or catalog plugin does. Config:
//! `{"image": REF, "file": PATH?, "directory": PATH?}`. Every non-empty line of
//! `file`, and of every file under `directory` (walked with the SDK's tar reader), is
//! an image to mirror. It also returns, as its state, the entries it walked, so a
//! test can check what the directory held.

use std::io::Read;

use oc_mirror_plugin_sdk::directory::EntryKind;
use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageToMirror, PluginInfo, Resolution, registry,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    image: String,
    file: Option<String>,
    directory: Option<String>,
}

struct ImageFiles;

fn images_in(text: &str, out: &mut Vec<ImageToMirror>) {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push(ImageToMirror {
            source: line.to_string(),
            destination_hint: None,
            kind: ImageKind::Generic,
            platforms: Vec::new(),
        });
    }
}

impl ContentSource for ImageFiles {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "image-files".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "imageFiles".into(),
            capabilities: vec!["registry".into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut images = Vec::new();
        let mut walked = Vec::new();
        if let Some(path) = &config.file {
            let mut text = String::new();
            registry::open_file(&config.image, path)?
                .read_to_string(&mut text)
                .map_err(|e| Error::Other(format!("reading `{path}`: {e}")))?;
            images_in(&text, &mut images);
        }
        if let Some(path) = &config.directory {
            let mut dir = registry::open_directory(&config.image, path)?;
            while let Some(mut entry) = dir.next_entry()? {
                walked.push(entry.path.clone());
                if entry.kind == EntryKind::File {
                    let bytes = entry.read_all()?;
                    images_in(&String::from_utf8_lossy(&bytes), &mut images);
                }
            }
        }
        Ok(Resolution {
            images,
            state: Some(serde_json::json!({ "walked": walked })),
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(ImageFiles);
