//! Fixture: a third-party publisher. It writes `images.txt`, one
//! `DESTINATION DIGEST` line per image in the mirror (sorted), headed by the
//! `title` of its configuration, so the tests can check that a configured
//! publisher runs on every workflow that writes cluster resources.

use oc_mirror_plugin_sdk::{Error, OutputFile, PluginInfo, Publisher, Results};

struct ImageList;

impl Publisher for ImageList {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "image-list".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: String::new(),
            capabilities: Vec::new(),
        }
    }

    fn publish(config: serde_json::Value, results: Results) -> Result<Vec<OutputFile>, Error> {
        let title = config
            .get("title")
            .and_then(|t| t.as_str())
            .ok_or_else(|| Error::InvalidConfig("`title` is required".into()))?;
        let mut lines: Vec<String> = results
            .images
            .iter()
            .map(|i| format!("{} {}", i.destination, i.digest))
            .collect();
        lines.sort();
        let mut contents = format!("# {title} ({})\n", results.mirror);
        for l in lines {
            contents.push_str(&l);
            contents.push('\n');
        }
        Ok(vec![OutputFile {
            path: "images.txt".into(),
            contents,
        }])
    }
}

oc_mirror_plugin_sdk::export_publisher!(ImageList);
