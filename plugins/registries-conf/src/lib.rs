//! Publisher of mirror configuration for container runtimes other than OpenShift's
//! CRI-O-with-IDMS: it serves every image of the ImageSetConfiguration, whatever
//! content source named it (catalogs and graph images included: there is no
//! CatalogSource to reach them otherwise).
//!
//! It returns files; it never reads or writes one, and has no network. The files:
//!
//! - **`registries.conf`**, containers-registries.conf(5) version 2 (Podman, CRI-O,
//!   Buildah, Skopeo), usable as a drop-in under `/etc/containers/registries.conf.d/`:
//!   one `[[registry]]` per source scope, `prefix` and `location` the source, then
//!   one `[[registry.mirror]]` per mirror location. When every image behind a mirror
//!   was named only by digest, that mirror gets `pull-from-mirror = "digest-only"`
//!   (its tags are `sha256-…`, not the source's); otherwise the default (`all`).
//!
//!   ```toml
//!   [[registry]]
//!   prefix = "quay.io/org"
//!   location = "quay.io/org"
//!
//!   [[registry.mirror]]
//!   location = "mirror.local/prefix/org"
//!   ```
//!
//! - **`certs.d/<source-host>/hosts.toml`** for containerd (its
//!   `config_path` registry host configuration), one per source registry host:
//!
//!   ```toml
//!   server = "https://quay.io"
//!
//!   [host."https://mirror.local/v2/prefix"]
//!     capabilities = ["pull", "resolve"]
//!     override_path = true
//!   ```
//!
//!   `server` is the source (`https://registry-1.docker.io` for `docker.io`, which is
//!   where containerd itself sends Docker Hub pulls). A mirror without a path prefix
//!   is `[host."https://<mirror-host>"]` (containerd appends `/v2/<repository>`);
//!   with a prefix, the host URL carries the API root, `https://<mirror-host>/v2/<prefix>`,
//!   and `override_path = true` (containerd then appends only `/<repository>`).
//!   `resolve` (tag lookups) is left out when every image behind the mirror was named
//!   only by digest. containerd cannot rename repositories, so images whose mirror
//!   path is not the source path under a prefix (`targetRepo`, release components)
//!   are listed in a comment instead of a host.
//!
//! Scopes are those of the cluster-resources publisher, the SDK's
//! [`oc_mirror_plugin_sdk::scope`]: namespace scope
//! (`quay.io/org` → `mirror.local/prefix/org`) when the mirror kept the source
//! path, repository scope otherwise, or always with `maxNestedPaths` above 0;
//! Docker Hub under any of its names is `docker.io`.
//! Everything is sorted and de-duplicated: the same set of images gives the same
//! bytes.
//!
//! Config (JSON, optional): `{"maxNestedPaths": 0}`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use oc_mirror_plugin_sdk::reference::registry_api_host;
use oc_mirror_plugin_sdk::scope::mirror_scope;
use oc_mirror_plugin_sdk::{Error, ImageReference, OutputFile, PluginInfo, Publisher, Results};
use serde::Deserialize;

/// The containers-registries.conf(5) file.
pub const REGISTRIES_CONF: &str = "registries.conf";

/// The publisher's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    /// `--max-nested-paths`; above 0 forces repository scope ([`mirror_scope`]).
    #[serde(default)]
    max_nested_paths: u64,
}

/// The plugin.
pub struct RegistriesConf;

impl Publisher for RegistriesConf {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "registries-conf".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: String::new(),
            capabilities: Vec::new(),
        }
    }

    fn publish(config: serde_json::Value, results: Results) -> Result<Vec<OutputFile>, Error> {
        let images = results.images;
        let config: Config = if config.is_null() {
            Config::default()
        } else {
            oc_mirror_plugin_sdk::config(config)?
        };
        let mut images_parsed = Vec::with_capacity(images.len());
        for (i, image) in images.iter().enumerate() {
            let parse = |text: &str| {
                ImageReference::parse(text)
                    .map_err(|e| Error::Other(format!("mirrored image {i}: {e}")))
            };
            images_parsed.push((parse(&image.source)?, parse(&image.destination)?));
        }
        Ok(render(&images_parsed, config.max_nested_paths))
    }
}

oc_mirror_plugin_sdk::export_publisher!(RegistriesConf);

/// Whether any image behind a mirror may be pulled by tag.
type ByTag = bool;

/// Every file, for `(source, destination)` pairs.
fn render(images: &[(ImageReference, ImageReference)], max_nested_paths: u64) -> Vec<OutputFile> {
    // registries.conf: source scope → mirror scope → by tag?
    let mut scopes: BTreeMap<String, BTreeMap<String, ByTag>> = BTreeMap::new();
    // containerd: source host → mirror host URL → by tag?; and what it cannot express.
    let mut hosts: BTreeMap<String, BTreeMap<String, ByTag>> = BTreeMap::new();
    let mut renamed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (source, destination) in images {
        let by_tag = source.tag.is_some();
        let scope = mirror_scope(source, destination, max_nested_paths);
        let (source, destination) = (source.normalized(), destination.normalized());
        let (src_registry, dst_registry) = (&source.registry, &destination.registry);
        *scopes
            .entry(scope.source)
            .or_default()
            .entry(scope.mirror)
            .or_default() |= by_tag;
        match scope.kept_path_prefix.as_deref() {
            Some(prefix) => {
                let url = match prefix {
                    "" => format!("https://{dst_registry}"),
                    prefix => format!("https://{dst_registry}/v2/{prefix}"),
                };
                *hosts
                    .entry(src_registry.clone())
                    .or_default()
                    .entry(url)
                    .or_default() |= by_tag;
            }
            None => {
                hosts.entry(src_registry.clone()).or_default();
                renamed
                    .entry(src_registry.clone())
                    .or_default()
                    .insert(format!("{} -> {}", source.name(), destination.name()));
            }
        }
    }
    if scopes.is_empty() {
        return Vec::new();
    }
    let mut files = vec![OutputFile {
        path: REGISTRIES_CONF.into(),
        contents: registries_conf(&scopes),
    }];
    for (host, mirrors) in &hosts {
        files.push(OutputFile {
            path: format!("certs.d/{host}/hosts.toml"),
            contents: hosts_toml(host, mirrors, renamed.get(host)),
        });
    }
    files
}

/// `registries.conf` text.
fn registries_conf(scopes: &BTreeMap<String, BTreeMap<String, ByTag>>) -> String {
    let mut out = String::from(
        "# Generated by oc-mirror: pull these sources from the mirror.\n# containers-registries.conf(5), version 2.\n",
    );
    for (source, mirrors) in scopes {
        let source = toml_string(source);
        let _ = write!(
            out,
            "\n[[registry]]\nprefix = {source}\nlocation = {source}\n"
        );
        for (mirror, by_tag) in mirrors {
            let _ = write!(
                out,
                "\n[[registry.mirror]]\nlocation = {}\n",
                toml_string(mirror)
            );
            if !by_tag {
                out.push_str("pull-from-mirror = \"digest-only\"\n");
            }
        }
    }
    out
}

/// One containerd `hosts.toml`.
fn hosts_toml(
    host: &str,
    mirrors: &BTreeMap<String, ByTag>,
    renamed: Option<&BTreeSet<String>>,
) -> String {
    let server = format!("https://{}", registry_api_host(host));
    let mut out = format!(
        "# Generated by oc-mirror: pull {host} images from the mirror.\nserver = {}\n",
        toml_string(&server)
    );
    for (url, by_tag) in mirrors {
        let capabilities = if *by_tag {
            r#"["pull", "resolve"]"#
        } else {
            r#"["pull"]"#
        };
        let _ = write!(
            out,
            "\n[host.{}]\n  capabilities = {capabilities}\n",
            toml_string(url)
        );
        if url.contains("/v2/") {
            out.push_str("  override_path = true\n");
        }
    }
    if let Some(renamed) = renamed {
        out.push_str("\n# Renamed in the mirror, so not reachable through a containerd mirror:\n");
        for line in renamed {
            let _ = writeln!(out, "#   {line}");
        }
    }
    out
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use oc_mirror_plugin_sdk::ImageKind;
    use serde_json::json;

    use oc_mirror_plugin_sdk::MirroredImage;

    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn image(source: &str, destination: &str) -> MirroredImage {
        MirroredImage {
            source: source.into(),
            destination: destination.into(),
            digest: D1.into(),
            kind: ImageKind::Generic,
        }
    }

    fn images() -> Vec<MirroredImage> {
        vec![
            image("quay.io/org/app:1.0", "mirror.local/prefix/org/app:1.0"),
            image("quay.io/org/other:2", "mirror.local/prefix/org/other:2"),
            image(
                &format!("quay.io/org2/x@{D1}"),
                "mirror.local/prefix/org2/x:sha256-1111",
            ),
            image(
                "quay.io/example/tool:1.0",
                "mirror.local/prefix/tools/tool:1.0",
            ),
            image("nginx:1.25", "mirror.local/library/nginx:1.25"),
            image("localhost:5000/app:1", "mirror.local:5000/app:1"),
        ]
    }

    fn publish(images: Vec<MirroredImage>, config: serde_json::Value) -> Vec<OutputFile> {
        let results = Results {
            mirror: "mirror.local/prefix".into(),
            images,
            attachments: Vec::new(),
        };
        RegistriesConf::publish(config, results).expect("publishes")
    }

    #[test]
    fn exact_output() {
        let files = publish(images(), serde_json::Value::Null);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "registries.conf",
                "certs.d/docker.io/hosts.toml",
                "certs.d/localhost:5000/hosts.toml",
                "certs.d/quay.io/hosts.toml"
            ]
        );
        assert_eq!(
            files[0].contents,
            r#"# Generated by oc-mirror: pull these sources from the mirror.
# containers-registries.conf(5), version 2.

[[registry]]
prefix = "docker.io/library"
location = "docker.io/library"

[[registry.mirror]]
location = "mirror.local/library"

[[registry]]
prefix = "localhost:5000"
location = "localhost:5000"

[[registry.mirror]]
location = "mirror.local:5000"

[[registry]]
prefix = "quay.io/example/tool"
location = "quay.io/example/tool"

[[registry.mirror]]
location = "mirror.local/prefix/tools/tool"

[[registry]]
prefix = "quay.io/org"
location = "quay.io/org"

[[registry.mirror]]
location = "mirror.local/prefix/org"

[[registry]]
prefix = "quay.io/org2"
location = "quay.io/org2"

[[registry.mirror]]
location = "mirror.local/prefix/org2"
pull-from-mirror = "digest-only"
"#
        );
        assert_eq!(
            files[1].contents,
            r#"# Generated by oc-mirror: pull docker.io images from the mirror.
server = "https://registry-1.docker.io"

[host."https://mirror.local"]
  capabilities = ["pull", "resolve"]
"#
        );
        assert_eq!(
            files[3].contents,
            r#"# Generated by oc-mirror: pull quay.io images from the mirror.
server = "https://quay.io"

[host."https://mirror.local/v2/prefix"]
  capabilities = ["pull", "resolve"]
  override_path = true

# Renamed in the mirror, so not reachable through a containerd mirror:
#   quay.io/example/tool -> mirror.local/prefix/tools/tool
"#
        );
    }

    #[test]
    fn order_independent_and_repository_scope_on_request() {
        let a = publish(images(), json!({}));
        let mut reversed = images();
        reversed.reverse();
        reversed.extend(images());
        assert_eq!(publish(reversed, json!({})), a);
        let forced = publish(images(), json!({"maxNestedPaths": 2}));
        assert!(forced[0].contents.contains("prefix = \"quay.io/org/app\""));
        assert!(publish(Vec::new(), serde_json::Value::Null).is_empty());
        assert!(matches!(
            RegistriesConf::publish(
                json!({"bogus": 1}),
                Results {
                    mirror: "m".into(),
                    images: Vec::new(),
                    attachments: Vec::new()
                }
            ),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string("a\"b\\c\u{1}"), r#""a\"b\\c\u0001""#);
    }
}
