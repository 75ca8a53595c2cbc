//! Compiled components, kept on disk so that a warm start does not compile.
//!
//! A compiled component is only valid for the engine that made it, so the
//! cache key is the component's sha256 *and* the engine's compatibility hash.
//! Loading a compiled component is `unsafe` in wasmtime (the bytes are run as
//! machine code): only files this module wrote, in a directory the host owns,
//! are ever loaded, and a file that fails to load is compiled anew.
//!
//! Also here: reading the plugin API version the SDK records in a custom
//! section, which may sit in a core module nested inside the component.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::Path;

use wasmtime::component::Component;
use wasmtime::{Engine, Result};

use super::API_SECTION;

/// Compiles `bytes`, or loads the compiled form from `cache_dir`.
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    digest: &crate::digest::Digest,
    cache_dir: Option<&Path>,
) -> Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, bytes);
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let file = dir.join(format!("{}-{:016x}.cwasm", digest.hex(), h.finish()));
    if file.exists() {
        // Read into memory rather than map the file: a mapped file changed
        // under a running plugin (a user cleaning the cache) would crash us.
        let loaded = std::fs::read(&file)
            .map_err(wasmtime::Error::from)
            .and_then(|bytes| {
                // SAFETY: the file was written by `precompile_component` below, into
                // the host's own cache directory, under a name that binds it to this
                // component's digest and this engine's compatibility hash.
                unsafe { Component::deserialize(engine, &bytes) }
            });
        match loaded {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::debug!(file = %file.display(), error = %e, "compiled plugin unusable; compiling again")
            }
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    // SAFETY: `compiled` was produced just now by this engine from `bytes`.
    // (Compiling once and loading the result halves a cold start.)
    let component = unsafe { Component::deserialize(engine, &compiled) }?;
    // A cache that cannot be written only costs time.
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let tmp = file.with_extension("cwasm.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&compiled)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &file)
    };
    if let Err(e) = write() {
        tracing::debug!(dir = %dir.display(), error = %e, "cannot cache the compiled plugin");
    }
    Ok(component)
}

/// The plugin API version recorded in the `oc-mirror:plugin-api` custom
/// section, searched through nested modules and components.
pub fn api_version(bytes: &[u8]) -> Option<String> {
    let data = super::section::find_custom_section(bytes, API_SECTION)?;
    String::from_utf8(data.to_vec())
        .ok()
        .map(|s| s.trim_end_matches('\0').trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with one custom section, wrapped in a component's core-module section.
    fn component_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let mut custom = vec![name.len() as u8];
        custom.extend_from_slice(name.as_bytes());
        custom.extend_from_slice(data);
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.push(0);
        module.push(custom.len() as u8);
        module.extend(custom);
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.push(1);
        component.push(module.len() as u8);
        component.extend(module);
        component
    }

    #[test]
    fn finds_the_version_in_a_nested_module() {
        assert_eq!(
            api_version(&component_with_section(API_SECTION, b"0.1.0")).as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            api_version(&component_with_section("other", b"0.1.0")),
            None
        );
    }

    #[test]
    fn garbage_is_not_a_plugin() {
        for bad in [
            &b""[..],
            b"\0asm",
            b"not wasm at all",
            b"\0asm\x0d\0\x01\0\x01\xff\xff\xff\xff\x0f",
        ] {
            assert_eq!(api_version(bad), None);
        }
    }
}
