//! Third-party plugins named under `plugins:` in the ImageSetConfiguration:
//! fetched (a `.wasm` file, or a wasm OCI artifact through the registry the
//! workflow reads), checked against their digest pin, loaded, and given what
//! they declared and the user granted.

use std::sync::Arc;

use super::{Grants, Plugin, PluginError, PluginHost, World};
use crate::config::PluginSpec;
use crate::registry::RegistryClient;

/// A configured plugin, loaded and ready.
pub struct Configured {
    /// The plugin's own name (its state and its output folder are named after it).
    pub name: String,
    pub plugin: Plugin,
    /// What it declared and the user granted.
    pub grants: Grants,
    /// Its `config:`, as JSON text.
    pub config: Option<String>,
}

/// Loads every plugin `specs` names, in order. `registry` is where `image:`
/// plugins are pulled from (`None`: only `path:` plugins can be loaded).
pub async fn load(
    host: &PluginHost,
    registry: Option<&Arc<RegistryClient>>,
    specs: &[PluginSpec],
) -> Result<Vec<Configured>, PluginError> {
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let location = spec
            .path
            .clone()
            .or_else(|| spec.image.clone())
            .unwrap_or_default();
        let refuse = |reason: String| PluginError::Load {
            plugin: location.clone(),
            reason,
        };
        let bytes = match registry {
            Some(client) => super::fetch::plugin_bytes(&location, client).await,
            None => Err(anyhow::anyhow!("no registry access in this workflow")),
        }
        .map_err(|e| refuse(format!("{e:#}")))?;
        if let Some(pin) = &spec.digest {
            let actual = crate::digest::Digest::of(&bytes);
            if &actual != pin {
                return Err(refuse(format!(
                    "its digest is `{actual}`, but `plugins[{i}].digest` pins `{pin}`"
                )));
            }
        }
        let plugin = host.load(&bytes, &location)?;
        let info = host.info(&plugin).await?;
        let granted = Grants::parse(&spec.grants).map_err(|e| {
            refuse(format!(
                "`plugins[{i}].grants`: {e}\nhint: grant `registry` or `http:HOST[:PORT]`"
            ))
        })?;
        let grants = Grants::parse_declared(&info.capabilities)
            .map_err(|e| refuse(format!("it declares {e}")))?
            .intersect(&granted);
        out.push(Configured {
            name: info.name,
            plugin,
            grants,
            config: spec.config.as_ref().map(|c| c.to_string()),
        });
    }
    Ok(out)
}

impl Configured {
    /// Whether it is a content source (else a publisher).
    pub fn is_content_source(&self) -> bool {
        self.plugin.world == World::ContentSource
    }
}
