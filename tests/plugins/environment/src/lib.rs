//! Fixture: `resolve` looks at its environment (variables, arguments, working
//! directory). The sandbox gives it none: anything it sees is an error naming it;
//! nothing seen is `Ok` with no images.

use oc_mirror_plugin_sdk::{ContentSource, Error, PluginInfo, Resolution};

struct Environment;

impl ContentSource for Environment {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "environment".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "environment".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        _config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        // Names only: a value could be a secret, and this text reaches the test log.
        let names: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        if !names.is_empty() {
            return Err(Error::Other(format!(
                "the plugin sees environment variables: {}",
                names.join(", ")
            )));
        }
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if !args.is_empty() {
            return Err(Error::Other(format!("the plugin sees arguments: {args:?}")));
        }
        Ok(Resolution::default())
    }
}

oc_mirror_plugin_sdk::export_content_source!(Environment);
