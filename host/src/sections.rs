//! What a first-party plugin's section of `mirror:` becomes before the
//! plugin reads it: the section as written, plus what only the host can add.
//! A plugin reads no files and no environment, so the host puts in the
//! configuration's API version (v1alpha2 and v2alpha1 select operators
//! differently), the contents of files the section names (a CatalogSource
//! template, a local chart), and the references it serves local OCI layouts
//! by (see [`crate::registry::layout`]).
//!
//! (The release plugin's section gets its endpoints from
//! [`crate::settings::ReleaseSettings::apply`].)

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::config::ImageSetConfiguration;

/// Largest local chart handed to the helm plugin.
const MAX_LOCAL_CHART: u64 = 64 << 20;

/// The `operators` section: each `targetCatalogSourceTemplate` file's text as
/// `catalogSourceTemplate`, and, for a catalog in a local OCI layout, its
/// reference as `localReference`.
pub fn operators(config: &ImageSetConfiguration, section: &Value) -> Result<Value, String> {
    let mut operators = section.clone();
    if let Some(list) = operators.as_array_mut() {
        for (i, entry) in list.iter_mut().enumerate() {
            if let Some(dir) = entry
                .get("catalog")
                .and_then(|c| c.as_str())
                .and_then(crate::registry::layout::local_path)
            {
                let (_, reference) = crate::registry::layout::reference_for(Path::new(dir));
                entry["localReference"] = reference.into();
            }
            let Some(path) = entry
                .get("targetCatalogSourceTemplate")
                .and_then(|p| p.as_str())
                .map(str::to_string)
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "`mirror.operators[{i}].targetCatalogSourceTemplate`: `{path}` cannot be read: {e}"
                )
            })?;
            entry["catalogSourceTemplate"] = text.into();
        }
    }
    Ok(json!({
        "apiVersion": config.api_version.as_str(),
        "operators": operators,
    }))
}

/// The `helm` section: each local chart's archive (a `.tgz` as it is, a
/// directory as a tar of its files, in path order with fixed owners and
/// times) as base64 in `archive`.
pub fn helm(config: &ImageSetConfiguration, section: &Value) -> Result<Value, String> {
    let mut helm = section.clone();
    if let Some(list) = helm.get_mut("local").and_then(Value::as_array_mut) {
        for (i, entry) in list.iter_mut().enumerate() {
            let Some(path) = entry
                .get("path")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                continue;
            };
            let at = |e: String| format!("`mirror.helm.local[{i}].path`: `{path}` {e}");
            let bytes = local_chart(Path::new(&path)).map_err(at)?;
            entry["archive"] = base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into();
        }
    }
    if let Some(object) = helm.as_object_mut() {
        object.insert("apiVersion".into(), config.api_version.as_str().into());
    }
    Ok(helm)
}

/// A local chart's bytes: a file as it is, a directory as a tar.
fn local_chart(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if meta.is_file() {
        if meta.len() > MAX_LOCAL_CHART {
            return Err(format!("is larger than {MAX_LOCAL_CHART} bytes"));
        }
        return std::fs::read(path).map_err(|e| format!("cannot be read: {e}"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart".into());
    let mut files = Vec::new();
    collect(path, "", &mut files).map_err(|e| format!("cannot be read: {e}"))?;
    files.sort();
    let mut tar = tar::Builder::new(Vec::new());
    let mut total = 0u64;
    for rel in files {
        let data = std::fs::read(path.join(&rel)).map_err(|e| format!("cannot be read: {e}"))?;
        total += data.len() as u64;
        if total > MAX_LOCAL_CHART {
            return Err(format!("holds more than {MAX_LOCAL_CHART} bytes"));
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        tar.append_data(&mut h, format!("{name}/{rel}"), data.as_slice())
            .map_err(|e| format!("cannot be packed: {e}"))?;
    }
    let mut out = tar
        .into_inner()
        .map_err(|e| format!("cannot be packed: {e}"))?;
    out.flush().ok();
    Ok(out)
}

/// Every regular file below `dir` (symbolic links are not followed), as
/// paths relative to the chart.
fn collect(root: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}
