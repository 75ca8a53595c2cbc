//! Fixture: `resolve` GETs `{"url": "…"}` from the config, on a granted host that
//! answers with a redirect to a host that is not granted: the host must refuse to
//! follow it, and the other host is never contacted.
//! Whatever it gets back, it returns the body's first line as an image name.

use std::io::Read;

use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageToMirror, PluginInfo, Resolution, http,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    url: String,
}

struct HttpRedirect;

impl ContentSource for HttpRedirect {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "http-redirect".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "httpRedirect".into(),
            capabilities: vec!["http:127.0.0.1".into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let config: Config = oc_mirror_plugin_sdk::config(config)?;
        // A denial comes back as `Error::Denied`: passed on as it is.
        let mut response = http::get(&config.url, &[])?;
        let mut body = String::new();
        response
            .body
            .read_to_string(&mut body)
            .map_err(|e| Error::Other(format!("reading {} failed: {e}", config.url)))?;
        Ok(Resolution {
            images: vec![ImageToMirror {
                source: body.lines().next().unwrap_or_default().to_string(),
                destination_hint: None,
                kind: ImageKind::Generic,
                platforms: Vec::new(),
            }],
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(HttpRedirect);
