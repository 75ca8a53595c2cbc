//! Getting a plugin's bytes: a `.wasm` file, or a CNCF wasm OCI artifact
//! (config `application/vnd.wasm.config.v0+json`, one `application/wasm`
//! layer) pulled through the host's registry client.

use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;

use crate::registry::RegistryClient;

/// Media type of the one layer of a CNCF wasm OCI artifact.
const WASM_LAYER: &str = "application/wasm";
/// Largest plugin accepted: components are small (the first-party ones are
/// ~200 KiB); anything this big is not a plugin.
const MAX_PLUGIN_BYTES: u64 = 64 << 20;

/// The component bytes of a file or of a wasm OCI artifact.
pub async fn plugin_bytes(what: &str, client: &RegistryClient) -> anyhow::Result<Bytes> {
    let Some(reference) = what.strip_prefix("docker://") else {
        let path = Path::new(what);
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read plugin `{what}`"))?;
        if meta.len() > MAX_PLUGIN_BYTES {
            bail!(
                "`{what}` is {} bytes, larger than any plugin should be ({MAX_PLUGIN_BYTES})",
                meta.len()
            );
        }
        return Ok(Bytes::from(
            std::fs::read(path).with_context(|| format!("cannot read plugin `{what}`"))?,
        ));
    };
    let r = crate::reference::parse(reference)?;
    let manifest = client
        .get_manifest(&crate::reference::pull_reference(&r))
        .await?;
    let parsed = crate::manifest::parse(&manifest.bytes, &manifest.media_type)?;
    let crate::manifest::Parsed::Image { layers, .. } = parsed else {
        bail!("`{what}` is an index, not a wasm artifact");
    };
    let layer = layers
        .iter()
        .find(|l| l.media_type == WASM_LAYER)
        .with_context(|| {
            format!("`{what}` has no `{WASM_LAYER}` layer: it is not a wasm OCI artifact")
        })?;
    if layer.size > MAX_PLUGIN_BYTES {
        bail!(
            "the wasm layer of `{what}` is {} bytes, larger than any plugin should be",
            layer.size
        );
    }
    Ok(client.get_blob_bytes(&r, &layer.digest, layer.size).await?)
}
