//! An oc-mirror content source, written by a third party with nothing but
//! `oc-mirror-plugin-sdk`: it reads Kubernetes manifests over HTTP and mirrors every
//! container image they name.
//!
//! Config (the `config:` of its entry under `plugins:` in the ImageSetConfiguration):
//! `{"urls": ["https://raw.githubusercontent.com/org/repo/v1.2.3/deploy/app.yaml", …]}`.
//!
//! For each URL it GETs the document through the host (`http` import), parses it as
//! YAML (any number of `---`-separated documents), and collects the `image` of every
//! entry of every `containers`, `initContainers` and `ephemeralContainers` list,
//! wherever it sits: Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
//! CronJobs, `kind: List`, and custom resources that embed a pod template. Images are
//! normalised (`nginx` → `docker.io/library/nginx:latest`), de-duplicated and
//! returned sorted, as `generic` images that keep their path and all platforms.
//!
//! An `image` that is not a valid reference (a template placeholder, say) fails the
//! run, naming the URL, the document and the field: a mirror that silently lacks an
//! image is found out only on the disconnected side.
//!
//! # Capabilities
//!
//! The host gives a plugin what it *declared* in `info().capabilities` and the user
//! *granted* in `grants:`. `info()` is called without the config, so a plugin cannot
//! declare the hosts its configuration names: it declares `http:*`, and gets exactly
//! the `http:HOST[:PORT]` the user grants. The user grants the host of every URL in
//! `urls`; a URL on a host not granted is refused by the host (`denied`, with a hint
//! naming the grant), and so is a redirect off the granted hosts.

use std::collections::BTreeSet;
use std::io::Read;

use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageKind, ImageReference, ImageToMirror, PluginInfo, Resolution, http,
    log,
};
use serde::Deserialize;
use serde_norway::Value;

/// The key the plugin reports in `info()` (third-party plugins get their settings
/// from their `plugins:` entry's `config:`).
const CONFIG_KEY: &str = "k8sManifestImages";

/// What it asks for: HTTP to the hosts the user grants (its URLs' hosts).
const CAPABILITY: &str = "http:*";

/// Largest manifest file read (a plugin instance has a memory limit).
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Keys whose value is a list of containers, each with an `image`.
const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// The plugin's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// `http://` or `https://` URLs of YAML manifests.
    urls: Vec<String>,
}

/// The plugin.
pub struct K8sManifestImages;

impl ContentSource for K8sManifestImages {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "k8s-manifest-images".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: CONFIG_KEY.into(),
            capabilities: vec![CAPABILITY.into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let urls = parse_config(config)?;
        let mut all = BTreeSet::new();
        for url in &urls {
            let found = images_at(url, http_get)?;
            log::info(&format!("{url}: {} image(s)", found.len()));
            all.extend(found);
        }
        Ok(Resolution {
            images: to_mirror(all),
            ..Resolution::default()
        })
    }
}

oc_mirror_plugin_sdk::export_content_source!(K8sManifestImages);

/// The URLs of the config; `null` (no `config:`) is an error, as is an empty list
/// or a URL that is not `http://` or `https://` with a host.
fn parse_config(config: serde_json::Value) -> Result<Vec<String>, Error> {
    if config.is_null() {
        return Err(Error::InvalidConfig(
            "no configuration: give `config: {urls: [URL, …]}`".into(),
        ));
    }
    let config: Config = oc_mirror_plugin_sdk::config(config)?;
    if config.urls.is_empty() {
        return Err(Error::InvalidConfig(
            "`urls` is empty: list the manifests to read".into(),
        ));
    }
    for url in &config.urls {
        url_host(url).map_err(Error::InvalidConfig)?;
    }
    Ok(config.urls)
}

/// `host` or `host:port` of an `http://` or `https://` URL, lowercase: what the
/// user grants as `http:HOST[:PORT]`.
fn url_host(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(host.to_ascii_lowercase())
}

/// Every image named by the manifests at `url`, read with `get` (the host's
/// `http` import in the component, a fake in the tests).
fn images_at(
    url: &str,
    get: impl FnOnce(&str) -> Result<String, Error>,
) -> Result<BTreeSet<String>, Error> {
    let text = get(url)?;
    images_in_manifests(&text).map_err(|e| Error::Other(format!("{url}: {e}")))
}

/// GET `url` through the host; the body of a successful response, as text. A
/// denial names the URL (the host adds which grant is missing).
fn http_get(url: &str) -> Result<String, Error> {
    let response = http::get(
        url,
        &[("Accept", "application/yaml, text/yaml, text/plain, */*")],
    )
    .map_err(|e| match e {
        Error::Denied(m) => Error::Denied(format!("cannot GET {url} ({m})")),
        Error::Upstream(m) => Error::Upstream(format!("GET {url}: {m}")),
        other => other,
    })?;
    body_text(url, response.status, response.body)
}

/// The body of a response to `GET url`, as text: a non-2xx status, a body above
/// [`MAX_MANIFEST_BYTES`] or one that is not UTF-8 is an `upstream` error.
fn body_text(url: &str, status: u16, body: impl Read) -> Result<String, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Upstream(format!("GET {url}: HTTP {status}")));
    }
    let mut bytes = Vec::new();
    body.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Upstream(format!("GET {url}: {e}")))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(Error::Upstream(format!(
            "{url} is larger than {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|_| Error::Upstream(format!("{url} is not UTF-8 text")))
}

/// Every image named by the containers of `text` (YAML, one or more documents),
/// normalised, de-duplicated and sorted. The error names the document (1-based)
/// and the field.
fn images_in_manifests(text: &str) -> Result<BTreeSet<String>, String> {
    let mut images = BTreeSet::new();
    for (i, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let n = i + 1;
        let mut value = Value::deserialize(document)
            .map_err(|e| format!("document {n}: not valid YAML: {e}"))?;
        value
            .apply_merge()
            .map_err(|e| format!("document {n}: {e}"))?;
        let mut found = Vec::new();
        walk(&value, "", &mut found);
        for (path, image) in found {
            let Value::String(text) = image else {
                return Err(format!("document {n}, `{path}`: not a string"));
            };
            let reference = ImageReference::parse(text.trim()).map_err(|e| {
                let reason = match e {
                    Error::InvalidConfig(m) => m,
                    other => format!("{other:?}"),
                };
                format!("document {n}, `{path}`: {reason}")
            })?;
            images.insert(reference.to_string());
        }
    }
    Ok(images)
}

/// Collects `(field path, image value)` for every `image` of an entry of a
/// container list anywhere in `value`.
fn walk<'a>(value: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                let Value::String(key) = key else {
                    walk(child, path, out);
                    continue;
                };
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if CONTAINER_LISTS.contains(&key.as_str())
                    && let Value::Sequence(items) = child
                {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(image) = item.get("image") {
                            out.push((format!("{child_path}[{i}].image"), image));
                        }
                    }
                }
                walk(child, &child_path, out);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, out),
        _ => {}
    }
}

/// The images as the host wants them: generic, own path, every platform.
fn to_mirror(images: BTreeSet<String>) -> Vec<ImageToMirror> {
    images
        .into_iter()
        .map(|source| ImageToMirror {
            source,
            destination_hint: None,
            kind: ImageKind::Generic,
            platforms: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
