//! Content source for `mirror.platform` of the ImageSetConfiguration: OpenShift
//! (and OKD) releases.
//!
//! For each architecture and channel it asks the update service (Cincinnati)
//! for the channel's graph, chooses releases as oc-mirror does (heads, ranges,
//! shortest upgrade paths, whole channels; see [`select`]), adds the upgrade
//! path between channels when several are listed, and reads each payload's
//! `image-references` through the host to list its component images (see
//! [`payload`]). `platform.release` names one payload directly, bypassing the
//! graph.
//!
//! Its state is the head mirrored last per architecture and channel, so that a
//! later heads-only run mirrors everything from the old head to the new one.
//!
//! The config is the `platform` section as the host serializes it, plus two
//! keys only the host sets: `updateUrl` and `okdUpdateUrl` (the public
//! services, or `UPDATE_URL_OVERRIDE`).

pub mod graph;
pub mod payload;
pub mod select;
pub mod signature;

use std::collections::BTreeMap;

use oc_mirror_plugin_sdk::semver::Version;
use oc_mirror_plugin_sdk::{
    ContentSource, Error, ImageBuild, ImageKind, ImageToMirror, Layer, Platform, PlatformSpec,
    PluginInfo, Resolution, TarballLayer, log,
};
use serde::{Deserialize, Serialize};

use graph::Graph;
use payload::Release;
use select::{ChannelSpec, Choice};

/// The ImageSetConfiguration key this plugin serves, under `mirror:`.
const CONFIG_KEY: &str = "platform";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    #[serde(default)]
    channels: Vec<ChannelConfig>,
    #[serde(default)]
    graph: bool,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    platforms: Vec<PlatformSpec>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    kube_virt_container: bool,
    /// Set by the host (the public service, or `UPDATE_URL_OVERRIDE`).
    update_url: String,
    /// Set by the host.
    okd_update_url: String,
    /// Set by the host: the signature store's base URL (ending in `/`).
    signature_url: String,
    /// Set by the host when `OCP_SIGNATURE_VERIFICATION_PK` names a key
    /// file: its armored text, trusted instead of Red Hat's release key.
    #[serde(default)]
    signature_key: Option<String>,
    /// Set by the host: the graph-data image's base (`--graph-base-image`).
    graph_base_image: String,
    /// Set by `oc-mirror list releases`: answer a question about the update
    /// graph (in a `listing.txt` attachment) instead of resolving images.
    #[serde(default)]
    list: Option<ListQuery>,
    /// Set by `oc-mirror plan`: say which releases the channels choose (a
    /// `plan.json` attachment) from the update graph alone, reading no
    /// payload and no signature.
    #[serde(default)]
    plan: bool,
    /// With `plan`: also read the payloads, to list every image.
    #[serde(default)]
    plan_images: bool,
}

/// What `oc-mirror list releases` asks.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    /// The channel to read; `stable-<version>` when absent.
    #[serde(default)]
    channel: Option<String>,
    /// `major.minor`, e.g. `4.16`.
    #[serde(default)]
    version: Option<String>,
    /// List the channels the graph names instead of the versions.
    #[serde(default)]
    channels: bool,
    /// Cincinnati architecture (`amd64`…).
    #[serde(default)]
    arch: Option<String>,
    #[serde(default)]
    okd: bool,
}

/// Answers a [`ListQuery`]: one channel or version per line, sorted.
fn listing(config: &Config, query: &ListQuery) -> Result<String, Error> {
    let channel = match (&query.channel, &query.version) {
        (Some(c), _) => c.clone(),
        (None, Some(v)) => format!("stable-{v}"),
        (None, None) => {
            return Err(Error::InvalidConfig(
                "name a channel (`--channel stable-4.16`) or a version (`--version 4.16`)".into(),
            ));
        }
    };
    let arch = graph_arch(query.arch.as_deref().unwrap_or("amd64"))?;
    let url = if query.okd {
        &config.okd_update_url
    } else {
        &config.update_url
    };
    let graph = graph::fetch(url, &channel, arch)?;
    let mut lines: Vec<String> = if query.channels {
        let mut all: Vec<String> = graph
            .nodes
            .iter()
            .flat_map(|n| n.channels.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    } else {
        graph.nodes.iter().map(|n| n.version.to_string()).collect()
    };
    if lines.is_empty() {
        return Err(Error::NotFound(format!(
            "channel `{channel}` ({arch}) has no releases\nhint: check the channel's name (e.g. `stable-4.16`)"
        )));
    }
    lines.push(String::new());
    Ok(lines.join("\n"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChannelConfig {
    name: String,
    #[serde(rename = "type", default)]
    channel_type: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    shortest_path: bool,
    #[serde(default)]
    full: bool,
}

impl ChannelConfig {
    fn is_okd(&self) -> bool {
        self.channel_type.as_deref() == Some("okd")
    }
}

/// What the plugin remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// `arch/channel` → the head mirrored, for heads-only channels.
    #[serde(default)]
    heads: BTreeMap<String, String>,
}

/// The architecture as release tags write it, from the one Cincinnati uses.
fn tag_arch(arch: &str) -> Result<&'static str, Error> {
    Ok(match arch {
        "amd64" | "x86_64" => "x86_64",
        "arm64" | "aarch64" => "aarch64",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "multi" => "multi",
        other => {
            return Err(Error::InvalidConfig(format!(
                "architecture `{other}` is not one of amd64, arm64, ppc64le, s390x, multi"
            )));
        }
    })
}

/// The architecture as Cincinnati writes it.
fn graph_arch(arch: &str) -> Result<&'static str, Error> {
    Ok(match tag_arch(arch)? {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        _ => "multi",
    })
}

fn parse_version(
    text: &Option<String>,
    field: &str,
    channel: &str,
) -> Result<Option<Version>, Error> {
    text.as_deref()
        .map(|t| {
            Version::parse(t).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "channel `{channel}`: {field} `{t}` is not a version (e.g. 4.16.3)"
                ))
            })
        })
        .transpose()
}

/// The plugin.
pub struct Releases;

impl ContentSource for Releases {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "release".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: CONFIG_KEY.into(),
            // The update service is wherever the host's configuration says
            // (UPDATE_URL_OVERRIDE): the host grants exactly those hosts.
            capabilities: vec!["registry".into(), "http:*".into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let config: Config = oc_mirror_plugin_sdk::config(config)?;
        if let Some(query) = &config.list {
            return Ok(Resolution {
                attachments: vec![oc_mirror_plugin_sdk::Attachment {
                    name: "listing.txt".into(),
                    media_type: "text/plain".into(),
                    data: listing(&config, query)?.into_bytes(),
                }],
                ..Resolution::default()
            });
        }
        let previous: State = state
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default();
        let platforms: Vec<Platform> = config
            .platforms
            .iter()
            .map(PlatformSpec::to_platform)
            .collect();
        let mut arches: Vec<&'static str> = Vec::new();
        if !platforms.is_empty() {
            arches.push("multi");
        }
        for a in &config.architectures {
            let a = graph_arch(a)?;
            if !arches.contains(&a) {
                arches.push(a);
            }
        }
        if arches.is_empty() {
            arches.push("amd64");
        }

        let mut releases: BTreeMap<String, Release> = BTreeMap::new();
        let mut state = State::default();
        let mut chosen_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &arch in &arches {
            for (release, why) in channel_releases(&config, arch, &previous, &mut state)? {
                let reasons = chosen_by.entry(release.payload.clone()).or_default();
                if !reasons.contains(&why) {
                    reasons.push(why);
                }
                releases.entry(release.payload.clone()).or_insert(release);
            }
        }
        if config.plan {
            return plan(&config, &releases, &chosen_by, &platforms);
        }
        if let Some(reference) = &config.release {
            let release = explicit_release(reference, &arches)?;
            releases.entry(release.payload.clone()).or_insert(release);
        }
        if releases.is_empty() {
            return Err(Error::InvalidConfig(
                "`platform` names no channel and no release: nothing to mirror".into(),
            ));
        }

        let keys = config
            .signature_key
            .as_deref()
            .unwrap_or(signature::RED_HAT_RELEASE_KEY);
        let mut images: Vec<ImageToMirror> = Vec::new();
        let mut attachments = Vec::new();
        let mut ordered: Vec<&Release> = releases.values().collect();
        ordered.sort_by(|a, b| {
            oc_mirror_plugin_sdk::semver::compare(&a.version, &b.version).then(a.arch.cmp(&b.arch))
        });
        for release in ordered {
            let digest = payload_digest(&release.payload)?;
            attachments.extend(signature::fetch_verified(
                keys,
                &config.signature_url,
                &digest,
                &release.tag(),
            )?);
            let filter = if release.arch == "multi" {
                platforms.as_slice()
            } else {
                &[]
            };
            let found = payload::images_of(release, config.kube_virt_container, filter)?;
            log::info(&format!(
                "release {}: {} component images",
                release.tag(),
                found.len() - 1
            ));
            images.extend(found);
        }
        let mut builds = Vec::new();
        if config.graph {
            builds.push(graph_image(&config)?);
        }
        let state = serde_json::to_value(&state).map_err(|e| Error::Other(e.to_string()))?;
        Ok(Resolution {
            images,
            builds,
            attachments,
            state: Some(state),
            ..Resolution::default()
        })
    }
}

/// `oc-mirror plan`: the releases chosen, from the graph alone, each with
/// what chose it; with `planImages`, every image of their payloads too.
fn plan(
    config: &Config,
    releases: &BTreeMap<String, Release>,
    chosen_by: &BTreeMap<String, Vec<String>>,
    platforms: &[Platform],
) -> Result<Resolution, Error> {
    let mut ordered: Vec<&Release> = releases.values().collect();
    ordered.sort_by(|a, b| {
        oc_mirror_plugin_sdk::semver::compare(&a.version, &b.version).then(a.arch.cmp(&b.arch))
    });
    let mut images = Vec::new();
    if config.plan_images {
        for release in &ordered {
            let filter = if release.arch == "multi" {
                platforms
            } else {
                &[]
            };
            images.extend(payload::images_of(
                release,
                config.kube_virt_container,
                filter,
            )?);
        }
    }
    let listed: Vec<serde_json::Value> = ordered
        .iter()
        .map(|r| {
            serde_json::json!({
                "version": r.version,
                "arch": r.arch,
                "payload": r.payload,
                "chosenBy": chosen_by.get(&r.payload).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let plan = serde_json::json!({
        "releases": listed,
        "release": config.release,
        "graphImage": config.graph.then_some(GRAPH_IMAGE),
    });
    Ok(Resolution {
        images,
        attachments: vec![oc_mirror_plugin_sdk::Attachment {
            name: "plan.json".into(),
            media_type: "application/vnd.oc-mirror.plan+json".into(),
            data: serde_json::to_vec(&plan).map_err(|e| Error::Other(e.to_string()))?,
        }],
        ..Resolution::default()
    })
}

/// The releases the channels choose for one architecture, with the upgrade
/// path between channels when several OpenShift channels are listed; each
/// with what chose it (`channel stable-4.16`, `upgrade path …`).
fn channel_releases(
    config: &Config,
    arch: &str,
    previous: &State,
    state: &mut State,
) -> Result<Vec<(Release, String)>, Error> {
    let tag = tag_arch(arch)?;
    let mut chosen: Vec<(Release, String)> = Vec::new();
    let mut ocp: Vec<(ChannelConfig, Graph, Choice)> = Vec::new();
    let add = |chosen: &mut Vec<(Release, String)>, nodes: &[graph::Node], why: &str| {
        for n in nodes {
            chosen.push((
                Release {
                    version: n.version.to_string(),
                    arch: tag.to_string(),
                    payload: n.payload.clone(),
                },
                why.to_string(),
            ));
        }
    };
    for channel in &config.channels {
        let url = if channel.is_okd() {
            &config.okd_update_url
        } else {
            &config.update_url
        };
        let graph = graph::fetch(url, &channel.name, arch)?;
        let label = format!("`{}` ({arch})", channel.name);
        report_conditional(&graph, &label);
        let spec = ChannelSpec {
            name: channel.name.clone(),
            min: parse_version(&channel.min_version, "minVersion", &channel.name)?,
            max: parse_version(&channel.max_version, "maxVersion", &channel.name)?,
            shortest_path: channel.shortest_path,
            full: channel.full,
        };
        let key = format!("{arch}/{}", channel.name);
        let previous_head = previous.heads.get(&key).and_then(|v| Version::parse(v));
        let choice = select::choose(&graph, &spec, previous_head.as_ref(), &label)?;
        if spec.heads_only() {
            state.heads.insert(key, choice.max.to_string());
        }
        add(
            &mut chosen,
            &choice.releases,
            &format!("channel {} ({arch})", channel.name),
        );
        if !channel.is_okd() {
            ocp.push((channel.clone(), graph, choice));
        }
    }
    if ocp.len() >= 2
        && let Some(path) = cross_channel_path(config, arch, &ocp)?
    {
        add(
            &mut chosen,
            &path,
            &format!("upgrade path between channels ({arch})"),
        );
    }
    Ok(chosen)
}

/// The upgrade path from the lowest release chosen in any channel to the
/// highest, over the listed channels and those of the minors between them
/// (`stable-4.14` … `stable-4.16` reads `stable-4.15` too). A missing path is
/// a warning, as in oc-mirror: each channel's own choice still stands.
fn cross_channel_path(
    config: &Config,
    arch: &str,
    ocp: &[(ChannelConfig, Graph, Choice)],
) -> Result<Option<Vec<graph::Node>>, Error> {
    let Some(first) = ocp.iter().min_by(|a, b| a.2.min.cmp(&b.2.min)) else {
        return Ok(None);
    };
    let Some(last) = ocp.iter().max_by(|a, b| a.2.max.cmp(&b.2.max)) else {
        return Ok(None);
    };
    if first.0.name == last.0.name {
        return Ok(None);
    }
    let mut merged = Graph::default();
    for (_, g, _) in ocp {
        merged.merge(g);
    }
    if let (Some((fa, fi)), Some((la, li))) = (
        select::channel_minor(&first.0.name),
        select::channel_minor(&last.0.name),
    ) && fa == la
    {
        for minor in fi + 1..li {
            let Some(name) = select::sibling_channel(&last.0.name, minor) else {
                continue;
            };
            if ocp.iter().any(|(c, _, _)| c.name == name) {
                continue;
            }
            match graph::fetch(&config.update_url, &name, arch) {
                Ok(g) => merged.merge(&g),
                Err(e) => log::warn(&format!(
                    "reading channel `{name}` for the upgrade path: {e:?}"
                )),
            }
        }
    }
    let (from, to) = (&first.2.min, &last.2.max);
    let path = match (merged.find(from), merged.find(to)) {
        (Some(a), Some(b)) => merged.shortest_path(a, b),
        _ => None,
    };
    match path {
        Some(path) => Ok(Some(
            path.into_iter().map(|i| merged.nodes[i].clone()).collect(),
        )),
        None => {
            log::warn(&format!(
                "no upgrade path from {from} (`{}`) to {to} (`{}`) for {arch}: each channel's releases are mirrored, but not a path between them",
                first.0.name, last.0.name
            ));
            Ok(None)
        }
    }
}

/// Tells about updates that are only conditionally recommended: they are not
/// followed when computing upgrade paths (as in oc-mirror).
fn report_conditional(graph: &Graph, label: &str) {
    if graph.conditional.is_empty() {
        return;
    }
    let mut risks: Vec<&str> = graph
        .conditional
        .iter()
        .flat_map(|c| c.risks.iter().map(String::as_str))
        .collect();
    risks.sort_unstable();
    risks.dedup();
    log::info(&format!(
        "channel {label}: {} conditional updates (risks: {}) are not used for upgrade paths",
        graph.conditional.len(),
        risks.join(", ")
    ));
}

/// Where the graph-data image goes in the mirror (as oc-mirror v2).
pub const GRAPH_IMAGE: &str = "openshift/graph-image:latest";
/// Where the graph data sits inside it (what the OpenShift Update Service reads).
pub const GRAPH_DATA_DIR: &str = "/var/lib/cincinnati-graph-data";

/// The graph-data image: the base image plus one layer holding the update
/// service's graph-data archive, downloaded from the same origin as the graph
/// (so `UPDATE_URL_OVERRIDE` moves it too), built by the host.
fn graph_image(config: &Config) -> Result<ImageBuild, Error> {
    let origin = origin_of(&config.update_url).ok_or_else(|| {
        Error::InvalidConfig(format!(
            "the update service URL `{}` has no scheme and host",
            config.update_url
        ))
    })?;
    Ok(ImageBuild {
        destination: GRAPH_IMAGE.into(),
        base: config.graph_base_image.clone(),
        layers: vec![Layer::Tarball(TarballLayer {
            url: format!("{origin}/api/upgrades_info/graph-data"),
            directory: GRAPH_DATA_DIR.into(),
        })],
        cmd: vec![
            "/bin/bash".into(),
            "-c".into(),
            format!("exec cp -rp {GRAPH_DATA_DIR}/* /var/lib/cincinnati/graph-data"),
        ],
        labels: Vec::new(),
        kind: ImageKind::GraphImage,
    })
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!scheme.is_empty() && !authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// The digest of a payload: from its reference, or asked of the registry
/// when it is named by tag.
fn payload_digest(payload: &str) -> Result<String, Error> {
    match payload.rsplit_once('@') {
        Some((_, digest)) => Ok(digest.to_string()),
        None => Ok(oc_mirror_plugin_sdk::registry::get_manifest(payload)?.digest),
    }
}

/// `platform.release`: one payload named directly. Its version comes from its
/// `release-metadata`; its architecture from that metadata (`multi`), else
/// from a `<version>-<arch>` tag, else the configured architecture.
fn explicit_release(reference: &str, arches: &[&str]) -> Result<Release, Error> {
    let meta = payload::metadata(reference)?;
    let tagged_arch = reference
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/') && !reference.contains('@'))
        .and_then(|(_, t)| t.strip_prefix(&format!("{}-", meta.version)))
        .and_then(|a| tag_arch(a).ok());
    let arch = if meta
        .metadata
        .get("release.openshift.io/architecture")
        .map(String::as_str)
        == Some("multi")
    {
        "multi"
    } else if let Some(a) = tagged_arch {
        a
    } else {
        tag_arch(arches.first().copied().unwrap_or("amd64"))?
    };
    Ok(Release {
        version: meta.version,
        arch: arch.to_string(),
        payload: reference.to_string(),
    })
}

oc_mirror_plugin_sdk::export_content_source!(Releases);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_data_comes_from_the_update_services_origin() {
        assert_eq!(
            origin_of("https://api.openshift.com/api/upgrades_info/v1/graph").as_deref(),
            Some("https://api.openshift.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/graph?x=1").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("no-scheme/graph"), None);
    }
}
