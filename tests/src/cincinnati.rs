//! A local Cincinnati (OpenShift Update Service) for release tests.
//!
//! oc-mirror learns which releases a channel holds, and how to get from one
//! version to another, by asking the update service for a channel's graph;
//! it then fetches each payload's signature from the mirror.openshift.com
//! layout. Tests cannot reach the real `api.openshift.com`, and need graphs
//! they can reason about and faults they can switch on, so
//! [`CincinnatiServer`] is a small in-process HTTP/1.1 server (one request per
//! connection, `Connection: close`) on a free loopback port serving:
//!
//! - `GET /api/upgrades_info/v1/graph?channel=C&arch=A[&id=…][&version=…]`,
//!   also at `/api/upgrades_info/graph` and the OKD-style `/graph`: the
//!   Cincinnati JSON of a [`GraphSpec`] for that channel and arch (default
//!   `amd64`), edges as node **indices**, nodes in a fixed but **unsorted**
//!   order, `conditionalEdges` by version; errors as the real service writes
//!   them (`400 missing_params` without a channel, `406 invalid_content_type`
//!   for an unsupported `Accept`); an unknown channel is an empty graph.
//! - `GET /api/upgrades_info/graph-data`: a gzip'd tar of a small
//!   cincinnati-graph-data tree generated from the spec (`./version`,
//!   `./channels/<c>.yaml`, `./blocked-edges/…`, `./raw/metadata.json`,
//!   `./LICENSE`).
//! - `GET /pub/openshift-v4/signatures/openshift/release/sha256=<hex>/signature-<N>`
//!   (and the OSUS metadata-helper's `/api/upgrades_info/signatures/…`): the
//!   bytes a test stored with [`CincinnatiServer::add_signature`], else 404.
//!
//! [`ServerMode`] switches graph answers to an error at run time,
//! [`CincinnatiServer::stop`] makes connections fail (refused), and
//! [`CincinnatiServer::requests`] says what clients asked for.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::json;

use crate::fixture::{TarEntry, gzip, tar_bytes};
use crate::http::{Request, Response, Server};
use crate::release::PushedReleaseWorld;
use crate::signing::ReleaseSigner;

/// The versioned graph endpoint (what oc-mirror's `UPDATE_URL_OVERRIDE` names).
/// Environment variables oc-mirror reads for releases (the update service,
/// the signature store, the trusted key), in [`CincinnatiServer::release_env`]'s
/// order.
pub const RELEASE_ENV: [&str; 3] = [
    "UPDATE_URL_OVERRIDE",
    "OCP_SIGNATURE_URL",
    "OCP_SIGNATURE_VERIFICATION_PK",
];

pub const GRAPH_PATH: &str = "/api/upgrades_info/v1/graph";
/// The graph endpoint versioned by content type.
pub const UNVERSIONED_GRAPH_PATH: &str = "/api/upgrades_info/graph";
/// The OKD-style graph endpoint.
pub const OKD_GRAPH_PATH: &str = "/graph";
/// The graph-data tarball.
pub const GRAPH_DATA_PATH: &str = "/api/upgrades_info/graph-data";
/// Signatures in the mirror.openshift.com layout (`OCP_SIGNATURE_URL`).
pub const SIGNATURES_PATH: &str = "/pub/openshift-v4/signatures/openshift/release/";
/// Signatures in the OSUS metadata-helper layout.
pub const OSUS_SIGNATURES_PATH: &str = "/api/upgrades_info/signatures/";
/// The Cincinnati v1 media type.
pub const CINCINNATI_JSON: &str = "application/vnd.redhat.cincinnati.v1+json";
/// Node metadata: comma-separated channels.
pub const CHANNELS_KEY: &str = "io.openshift.upgrades.graph.release.channels";
/// Node metadata: the payload digest.
pub const MANIFESTREF_KEY: &str = "io.openshift.upgrades.graph.release.manifestref";

/// One release in a [`GraphSpec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// Plain semver, e.g. `4.14.2`.
    pub version: String,
    /// Digest pull spec, e.g. `127.0.0.1:5000/ns/ocp-release@sha256:…`.
    pub payload: String,
    /// Cincinnati arch: `amd64`, `arm64`, `ppc64le`, `s390x` or `multi`.
    pub arch: String,
    /// Channels holding this node, e.g. `stable-4.15`.
    pub channels: Vec<String>,
    /// More metadata (e.g. `url`); channels and manifestref are added.
    pub metadata: BTreeMap<String, String>,
}

/// How a conditional-update risk matches clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchingRule {
    /// `{"type":"Always"}`.
    Always,
    /// `{"type":"PromQL","promql":{"promql":…}}`.
    PromQl(String),
}

/// A known risk of some updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    /// Where the risk is described.
    pub url: String,
    /// CamelCase name.
    pub name: String,
    /// Human-readable text.
    pub message: String,
    /// When it applies.
    pub matching_rules: Vec<MatchingRule>,
}

/// A group of conditional edges sharing risks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionalEdge {
    /// `(from, to)` versions.
    pub edges: Vec<(String, String)>,
    /// The risks.
    pub risks: Vec<Risk>,
}

/// An update graph: nodes of every arch and channel, and edges by version.
/// An edge or conditional edge applies in every (channel, arch) graph that
/// holds both of its versions.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GraphSpec {
    /// The nodes.
    pub nodes: Vec<GraphNode>,
    /// Unconditional updates `(from, to)`.
    pub edges: Vec<(String, String)>,
    /// Conditional updates.
    pub conditional_edges: Vec<ConditionalEdge>,
}

fn pair(from: &str, to: &str) -> (String, String) {
    (from.to_string(), to.to_string())
}

/// The channels of a standard release version (see
/// [`GraphSpec::for_release_world`]); other versions: `fast-X.Y`, `stable-X.Y`.
fn standard_channels(version: &str) -> Vec<String> {
    let channels: &[&str] = match version {
        "4.14.1" => &["fast-4.14", "stable-4.14", "fast-4.15"],
        "4.14.2" | "4.14.3" => &["fast-4.14", "stable-4.14", "fast-4.15", "stable-4.15"],
        "4.15.0" | "4.15.1" => &["fast-4.15", "stable-4.15"],
        _ => {
            let minor = minor_of(version);
            return vec![format!("fast-{minor}"), format!("stable-{minor}")];
        }
    };
    channels.iter().map(|c| c.to_string()).collect()
}

/// `4.14` of `4.14.2`.
fn minor_of(version: &str) -> &str {
    let core = version.split(['-', '+']).next().unwrap_or(version);
    core.rsplit_once('.').map_or(core, |(minor, _)| minor)
}

/// A made-up errata URL for a version.
fn errata_url(version: &str) -> String {
    let number: u64 = version
        .split(['.', '-', '+'])
        .take(3)
        .filter_map(|p| p.parse::<u64>().ok())
        .fold(0, |acc, n| acc * 100 + n);
    format!(
        "https://access.redhat.com/errata/RHBA-2024:{}",
        number % 100_000
    )
}

impl GraphSpec {
    /// The graph of [`crate::ReleaseWorld::standard`] (releases of `world`
    /// missing from it are left out, with their edges):
    ///
    /// | node (amd64) | channels |
    /// |---|---|
    /// | 4.14.1 | fast-4.14, stable-4.14, fast-4.15 |
    /// | 4.14.2, 4.14.3 | fast-4.14, stable-4.14, fast-4.15, stable-4.15 |
    /// | 4.15.0, 4.15.1 | fast-4.15, stable-4.15 |
    ///
    /// Arch `multi` has the one node 4.15.1 (the manifest list), in
    /// fast-4.15 and stable-4.15, and so no edges. Any other release of the
    /// world gets channels `fast-X.Y`, `stable-X.Y` and no edges.
    ///
    /// Edges: 4.14.1→4.14.2, 4.14.2→4.14.3, 4.14.1→4.14.3, 4.14.3→4.15.0,
    /// 4.14.2→4.15.0, 4.15.0→4.15.1. Conditional edges: 4.15.0→4.15.1 (risk
    /// `ExampleRisk`, `Always`; the same update is also an unconditional edge)
    /// and 4.14.3→4.15.1 (risk `ConditionalOnlyRisk`, PromQL; conditional
    /// only, so a client that ignores conditional edges, as oc-mirror does,
    /// never takes it).
    ///
    /// Shortest unconditional paths: stable-4.14 4.14.1→4.14.3 is direct;
    /// stable-4.15 4.14.2→4.15.1 and 4.14.3→4.15.1 both go through 4.15.0
    /// (2 hops); fast-4.15 4.14.1→4.15.1 takes 3 hops, through 4.14.3 or
    /// 4.14.2 (a tie: oc-mirror visits neighbours in descending semver, so it
    /// takes 4.14.1→4.14.3→4.15.0→4.15.1). Full ranges: stable-4.14 holds 3
    /// releases, stable-4.15 4 (4.14.2–4.15.1), fast-4.15 all 5.
    pub fn for_release_world(world: &PushedReleaseWorld) -> GraphSpec {
        let nodes = world
            .releases
            .iter()
            .map(|release| {
                let channels = if release.is_multi() {
                    let minor = minor_of(&release.version);
                    vec![format!("fast-{minor}"), format!("stable-{minor}")]
                } else {
                    standard_channels(&release.version)
                };
                GraphNode {
                    version: release.version.clone(),
                    payload: release.digest_reference(),
                    arch: release.cincinnati_arch(),
                    channels,
                    metadata: BTreeMap::from([("url".to_string(), errata_url(&release.version))]),
                }
            })
            .collect();
        GraphSpec {
            nodes,
            edges: vec![
                pair("4.14.1", "4.14.2"),
                pair("4.14.2", "4.14.3"),
                pair("4.14.1", "4.14.3"),
                pair("4.14.3", "4.15.0"),
                pair("4.14.2", "4.15.0"),
                pair("4.15.0", "4.15.1"),
            ],
            conditional_edges: vec![
                ConditionalEdge {
                    edges: vec![pair("4.15.0", "4.15.1")],
                    risks: vec![Risk {
                        url: "https://issues.redhat.com/browse/OCPBUGS-1".to_string(),
                        name: "ExampleRisk".to_string(),
                        message: "An example risk that applies to every cluster.".to_string(),
                        matching_rules: vec![MatchingRule::Always],
                    }],
                },
                ConditionalEdge {
                    edges: vec![pair("4.14.3", "4.15.1")],
                    risks: vec![Risk {
                        url: "https://issues.redhat.com/browse/OCPBUGS-2".to_string(),
                        name: "ConditionalOnlyRisk".to_string(),
                        message: "Clusters with the example capability may fail to update."
                            .to_string(),
                        matching_rules: vec![MatchingRule::PromQl(
                            "max(cluster_version_capability{name=\"Example\"})".to_string(),
                        )],
                    }],
                },
            ],
        }
    }

    /// Every release of `world` in the one channel `channel`, with an edge
    /// from each version to the next (per arch, ascending semver); for the
    /// benchmark set.
    pub fn linear(world: &PushedReleaseWorld, channel: &str) -> GraphSpec {
        let mut by_arch: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let nodes = world
            .releases
            .iter()
            .map(|release| {
                by_arch
                    .entry(release.cincinnati_arch())
                    .or_default()
                    .push(release.version.clone());
                GraphNode {
                    version: release.version.clone(),
                    payload: release.digest_reference(),
                    arch: release.cincinnati_arch(),
                    channels: vec![channel.to_string()],
                    metadata: BTreeMap::from([("url".to_string(), errata_url(&release.version))]),
                }
            })
            .collect();
        let mut edges = Vec::new();
        for versions in by_arch.values_mut() {
            versions.sort_by(|a, b| compare_versions(a, b));
            for step in versions.windows(2) {
                let edge = pair(&step[0], &step[1]);
                if !edges.contains(&edge) {
                    edges.push(edge);
                }
            }
        }
        GraphSpec {
            nodes,
            edges,
            conditional_edges: Vec::new(),
        }
    }

    /// The node for `version` and Cincinnati `arch`.
    pub fn node(&self, version: &str, arch: &str) -> Option<&GraphNode> {
        self.nodes
            .iter()
            .find(|n| n.version == version && n.arch == arch)
    }

    /// Every channel any node is in.
    pub fn channels(&self) -> BTreeSet<String> {
        self.nodes
            .iter()
            .flat_map(|n| n.channels.iter().cloned())
            .collect()
    }

    /// The nodes of `channel` for `arch`, in ascending semver.
    pub fn channel_nodes(&self, channel: &str, arch: &str) -> Vec<&GraphNode> {
        let mut nodes: Vec<&GraphNode> = self
            .nodes
            .iter()
            .filter(|n| n.arch == arch && n.channels.iter().any(|c| c == channel))
            .collect();
        nodes.sort_by(|a, b| compare_versions(&a.version, &b.version));
        nodes
    }

    /// The versions of `channel` for `arch`, ascending.
    pub fn versions(&self, channel: &str, arch: &str) -> Vec<String> {
        self.channel_nodes(channel, arch)
            .into_iter()
            .map(|n| n.version.clone())
            .collect()
    }

    /// The Cincinnati JSON the server sends for `channel` and `arch`: nodes
    /// in ascending semver reordered by a fixed permutation (odd positions
    /// descending, then even ascending: never sorted for two or more nodes),
    /// edges as `[from_index, to_index]` in spec order, conditional edges
    /// (groups left with no edge dropped).
    pub fn graph(&self, channel: &str, arch: &str) -> serde_json::Value {
        let sorted = self.channel_nodes(channel, arch);
        let order: Vec<usize> = (0..sorted.len())
            .filter(|i| i % 2 == 1)
            .rev()
            .chain((0..sorted.len()).filter(|i| i % 2 == 0))
            .collect();
        let nodes: Vec<&GraphNode> = order.iter().map(|&i| sorted[i]).collect();
        let index: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.version.as_str(), i))
            .collect();
        let node_json: Vec<serde_json::Value> = nodes
            .iter()
            .map(|n| {
                let mut metadata = n.metadata.clone();
                metadata.insert(CHANNELS_KEY.to_string(), sorted_channels(&n.channels));
                if let Some((_, digest)) = n.payload.split_once('@') {
                    metadata.insert(MANIFESTREF_KEY.to_string(), digest.to_string());
                }
                json!({"version": n.version, "payload": n.payload, "metadata": metadata})
            })
            .collect();
        let edges: Vec<[usize; 2]> = self
            .edges
            .iter()
            .filter_map(|(from, to)| Some([*index.get(from.as_str())?, *index.get(to.as_str())?]))
            .collect();
        let conditional: Vec<serde_json::Value> = self
            .conditional_edges
            .iter()
            .filter_map(|group| {
                let edges: Vec<serde_json::Value> = group
                    .edges
                    .iter()
                    .filter(|(from, to)| {
                        index.contains_key(from.as_str()) && index.contains_key(to.as_str())
                    })
                    .map(|(from, to)| json!({"from": from, "to": to}))
                    .collect();
                if edges.is_empty() {
                    return None;
                }
                let risks: Vec<serde_json::Value> = group.risks.iter().map(risk_json).collect();
                Some(json!({"edges": edges, "risks": risks}))
            })
            .collect();
        json!({
            "version": 1,
            "nodes": node_json,
            "edges": edges,
            "conditionalEdges": conditional,
        })
    }

    /// The graph-data tree as tar entries (`./`-relative, directories first):
    /// `./LICENSE`, `./blocked-edges/<to>-<risk>.yaml` per conditional edge
    /// target and risk, `./channels/<c>.yaml` (versions of every arch,
    /// ascending), `./raw/metadata.json` (each version's `url`), `./version`
    /// (`1.1.0`).
    pub fn graph_data_entries(&self) -> anyhow::Result<Vec<TarEntry>> {
        let dir = |path: &str| TarEntry::Dir {
            path: path.to_string(),
        };
        let mut entries = vec![dir("./"), TarEntry::file("./LICENSE", GRAPH_DATA_LICENSE)];
        entries.push(dir("./blocked-edges"));
        let mut blocked: BTreeMap<String, String> = BTreeMap::new();
        for group in &self.conditional_edges {
            for risk in &group.risks {
                let mut by_target: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for (from, to) in &group.edges {
                    by_target.entry(to).or_default().push(from);
                }
                for (to, froms) in by_target {
                    let from: Vec<String> = froms.iter().map(|f| f.replace('.', "[.]")).collect();
                    let from = if from.len() == 1 {
                        from[0].clone()
                    } else {
                        format!("({})", from.join("|"))
                    };
                    blocked.insert(
                        format!("./blocked-edges/{to}-{}.yaml", risk.name),
                        blocked_edge_yaml(to, &from, risk),
                    );
                }
            }
        }
        entries.extend(
            blocked
                .into_iter()
                .map(|(path, yaml)| TarEntry::file(&path, yaml)),
        );
        entries.push(dir("./channels"));
        for channel in self.channels() {
            let mut versions: Vec<&str> = self
                .nodes
                .iter()
                .filter(|n| n.channels.contains(&channel))
                .map(|n| n.version.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            versions.sort_by(|a, b| compare_versions(a, b));
            let mut yaml = format!("name: {channel}\nversions:\n");
            for version in versions {
                yaml.push_str(&format!("- {version}\n"));
            }
            entries.push(TarEntry::file(&format!("./channels/{channel}.yaml"), yaml));
        }
        entries.push(dir("./raw"));
        let raw: BTreeMap<&str, BTreeMap<&str, &str>> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let url = n.metadata.get("url")?;
                Some((n.version.as_str(), BTreeMap::from([("url", url.as_str())])))
            })
            .collect();
        entries.push(TarEntry::file(
            "./raw/metadata.json",
            serde_json::to_string_pretty(&raw)? + "\n",
        ));
        entries.push(TarEntry::file("./version", "1.1.0\n"));
        Ok(entries)
    }

    /// The graph-data tarball (gzip'd tar of [`GraphSpec::graph_data_entries`]).
    pub fn graph_data(&self) -> anyhow::Result<Vec<u8>> {
        gzip(&tar_bytes(&self.graph_data_entries()?)?)
    }
}

fn risk_json(risk: &Risk) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = risk
        .matching_rules
        .iter()
        .map(|rule| match rule {
            MatchingRule::Always => json!({"type": "Always"}),
            MatchingRule::PromQl(query) => {
                json!({"type": "PromQL", "promql": {"promql": query}})
            }
        })
        .collect();
    json!({
        "url": risk.url,
        "name": risk.name,
        "message": risk.message,
        "matchingRules": rules,
    })
}

fn blocked_edge_yaml(to: &str, from: &str, risk: &Risk) -> String {
    let mut yaml = format!(
        "to: {to}\nfrom: {from}\nurl: {}\nname: {}\nmessage: {}\nmatchingRules:\n",
        risk.url,
        risk.name,
        serde_json::to_string(&risk.message).unwrap_or_default(),
    );
    for rule in &risk.matching_rules {
        match rule {
            MatchingRule::Always => yaml.push_str("- type: Always\n"),
            MatchingRule::PromQl(query) => yaml.push_str(&format!(
                "- type: PromQL\n  promql:\n    promql: {}\n",
                serde_json::to_string(query).unwrap_or_default()
            )),
        }
    }
    yaml
}

const GRAPH_DATA_LICENSE: &str = "Synthetic update-graph data generated by the oc-mirror tests.\n\
Licensed under the Apache License, Version 2.0.\n";

/// Channels sorted as the real metadata lists them: by minor, then name.
fn sorted_channels(channels: &[String]) -> String {
    let key = |c: &String| {
        let (kind, minor) = c.rsplit_once('-').unwrap_or((c.as_str(), ""));
        let mut parts = minor
            .split('.')
            .map(|p| p.parse::<u64>().unwrap_or(u64::MAX));
        (
            parts.next().unwrap_or(u64::MAX),
            parts.next().unwrap_or(u64::MAX),
            kind.to_string(),
            c.clone(),
        )
    };
    let mut sorted: Vec<&String> = channels
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    sorted.sort_by_key(|c| key(c));
    sorted
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Semver order (`4.9.1 < 4.10.0`, `4.15.0-rc.1 < 4.15.0`; build metadata
/// after `+` ignored).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (&str, Option<&str>) {
        let v = v.split('+').next().unwrap_or(v);
        match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (v, None),
        }
    }
    fn identifiers(a: &str, b: &str) -> Ordering {
        let mut left = a.split('.');
        let mut right = b.split('.');
        loop {
            match (left.next(), right.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
            }
        }
    }
    let ((core_a, pre_a), (core_b, pre_b)) = (split(a), split(b));
    identifiers(core_a, core_b).then_with(|| match (pre_a, pre_b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => identifiers(x, y),
    })
}

/// How graph requests are answered.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ServerMode {
    /// Serve the graph.
    #[default]
    Normal,
    /// Answer every graph request with `status` and
    /// `{"kind": kind, "value": value}` (e.g. 500 `failed_upstream_fetch`).
    Error {
        /// HTTP status.
        status: u16,
        /// Error kind.
        kind: String,
        /// Error text.
        value: String,
    },
    /// Answer every graph request with exactly this (e.g. malformed JSON).
    Raw {
        /// HTTP status.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// Body bytes.
        body: Vec<u8>,
    },
}

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CincinnatiRequest {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The raw query string (without `?`).
    pub query: String,
    /// Decoded query parameters (the last value of a repeated key).
    pub params: BTreeMap<String, String>,
    /// The `Accept` header, if sent.
    pub accept: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// The status answered.
    pub status: u16,
}

impl CincinnatiRequest {
    /// Whether this was a graph request (any of the three graph paths).
    pub fn is_graph(&self) -> bool {
        is_graph_path(&self.path)
    }
}

fn is_graph_path(path: &str) -> bool {
    matches!(path, GRAPH_PATH | UNVERSIONED_GRAPH_PATH | OKD_GRAPH_PATH)
}

#[derive(Debug)]
struct State {
    graph: GraphSpec,
    graph_data: Vec<u8>,
    mode: ServerMode,
    /// `(hex digest, N)` → bytes.
    signatures: BTreeMap<(String, u32), Vec<u8>>,
    requests: Vec<CincinnatiRequest>,
}

/// A running local Cincinnati; stops when dropped.
pub struct CincinnatiServer {
    server: Server,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl CincinnatiServer {
    /// Starts serving `graph` on a free `127.0.0.1` port.
    pub async fn start(graph: GraphSpec) -> anyhow::Result<CincinnatiServer> {
        let graph_data = graph.graph_data()?;
        let listener = Server::bind().await?;
        let state = Arc::new(Mutex::new(State {
            graph,
            graph_data,
            mode: ServerMode::Normal,
            signatures: BTreeMap::new(),
            requests: Vec::new(),
        }));
        let server = Server::start(listener, handler(state.clone()))?;
        Ok(CincinnatiServer { server, state })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `…/api/upgrades_info/v1/graph` (for `UPDATE_URL_OVERRIDE`).
    pub fn graph_url(&self) -> String {
        format!("{}{GRAPH_PATH}", self.url())
    }

    /// `…/graph` (OKD style).
    pub fn okd_graph_url(&self) -> String {
        format!("{}{OKD_GRAPH_PATH}", self.url())
    }

    /// `…/api/upgrades_info/graph-data`.
    pub fn graph_data_url(&self) -> String {
        format!("{}{GRAPH_DATA_PATH}", self.url())
    }

    /// `…/pub/openshift-v4/signatures/openshift/release/` (with the trailing
    /// slash; for `OCP_SIGNATURE_URL`).
    pub fn signature_base_url(&self) -> String {
        format!("{}{SIGNATURES_PATH}", self.url())
    }

    /// `…/sha256=<hex>/signature-<n>` for `digest` (`sha256:<hex>` or hex).
    pub fn signature_url(&self, digest: &str, n: u32) -> String {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        format!("{}sha256={hex}/signature-{n}", self.signature_base_url())
    }

    /// Switches how graph requests are answered.
    pub fn set_mode(&self, mode: ServerMode) {
        lock(&self.state).mode = mode;
    }

    /// The current mode.
    pub fn mode(&self) -> ServerMode {
        lock(&self.state).mode.clone()
    }

    /// Serves another graph (and its graph-data) from now on.
    pub fn set_graph(&self, graph: GraphSpec) -> anyhow::Result<()> {
        let graph_data = graph.graph_data()?;
        let mut state = lock(&self.state);
        state.graph = graph;
        state.graph_data = graph_data;
        Ok(())
    }

    /// The graph being served.
    pub fn graph(&self) -> GraphSpec {
        lock(&self.state).graph.clone()
    }

    /// Serves `bytes` as `signature-<n>` of `digest` (`sha256:<hex>` or hex).
    pub fn add_signature(&self, digest: &str, n: u32, bytes: Vec<u8>) {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest).to_string();
        lock(&self.state).signatures.insert((hex, n), bytes);
    }

    /// Serves a good `signature-1` by `signer` for every release of `world`.
    pub fn sign_releases(&self, signer: &ReleaseSigner, world: &PushedReleaseWorld) {
        for r in &world.releases {
            self.add_signature(
                &r.digest,
                1,
                signer.sign_release(&r.digest, &r.tag_reference()),
            );
        }
    }

    /// The environment ([`RELEASE_ENV`]) pointing oc-mirror at this update
    /// service and signature store, trusting the public key in the file `key`.
    pub fn release_env(&self, key: &std::path::Path) -> [(&'static str, String); 3] {
        [
            (RELEASE_ENV[0], self.graph_url()),
            (RELEASE_ENV[1], self.signature_base_url()),
            (RELEASE_ENV[2], key.display().to_string()),
        ]
    }

    /// Stops serving every signature of `digest`.
    pub fn remove_signatures(&self, digest: &str) {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        lock(&self.state).signatures.retain(|(h, _), _| h != hex);
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<CincinnatiRequest> {
        lock(&self.state).requests.clone()
    }

    /// The graph requests answered so far.
    pub fn graph_requests(&self) -> Vec<CincinnatiRequest> {
        self.requests()
            .into_iter()
            .filter(CincinnatiRequest::is_graph)
            .collect()
    }

    /// Forgets the requests answered so far.
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// Stops listening: from now on connections are refused. Returns once the
    /// port is closed.
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }

    /// Listens again on the same port (after [`CincinnatiServer::stop`]).
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        self.server.resume(handler(self.state.clone())).await
    }

    /// Whether it is listening.
    pub fn is_running(&self) -> bool {
        self.server.is_running()
    }
}

/// What the server answers requests with: [`handle`] on `state`.
fn handler(state: Arc<Mutex<State>>) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    move |request| handle(&state, request)
}

/// A Cincinnati-style JSON error (`{"kind":…,"value":…}`).
fn error_response(status: u16, kind: &str, value: &str) -> Response {
    let body = json!({"kind": kind, "value": value})
        .to_string()
        .into_bytes();
    Response::new(status, "application/json", body)
}

/// Answers `request` and records it.
fn handle(state: &Mutex<State>, request: &Request) -> Response {
    let params = parse_query(&request.query);
    let accept = request.header("accept");
    let mut state = lock(state);
    let response = route(
        &state,
        &request.method,
        &request.path,
        &params,
        accept.as_deref(),
    );
    state.requests.push(CincinnatiRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        params,
        accept,
        user_agent: request.header("user-agent"),
        status: response.status,
    });
    response
}

fn route(
    state: &State,
    method: &str,
    path: &str,
    params: &BTreeMap<String, String>,
    accept: Option<&str>,
) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::text(405, "method not allowed\n");
    }
    if is_graph_path(path) {
        return graph_response(state, params, accept);
    }
    if path == GRAPH_DATA_PATH {
        return Response::new(200, "application/gzip", state.graph_data.clone());
    }
    let signature = path
        .strip_prefix(SIGNATURES_PATH)
        .or_else(|| path.strip_prefix(OSUS_SIGNATURES_PATH));
    if let Some(rest) = signature
        && let Some((algo, file)) = rest.split_once('/')
        && let Some(hex) = algo.strip_prefix("sha256=")
        && let Some(n) = file.strip_prefix("signature-")
        && let Ok(n) = n.parse::<u32>()
        && let Some(bytes) = state.signatures.get(&(hex.to_string(), n))
    {
        return Response::new(200, "application/octet-stream", bytes.clone());
    }
    Response::text(404, "not found\n")
}

fn graph_response(
    state: &State,
    params: &BTreeMap<String, String>,
    accept: Option<&str>,
) -> Response {
    match &state.mode {
        ServerMode::Normal => {}
        ServerMode::Error {
            status,
            kind,
            value,
        } => return error_response(*status, kind, value),
        ServerMode::Raw {
            status,
            content_type,
            body,
        } => return Response::new(*status, content_type, body.clone()),
    }
    let Some(content_type) = negotiate(accept) else {
        return error_response(
            406,
            "invalid_content_type",
            &format!(
                "invalid Content-Type requested ({}), supported: application/json, {CINCINNATI_JSON}",
                accept.unwrap_or_default()
            ),
        );
    };
    let Some(channel) = params.get("channel").filter(|c| !c.is_empty()) else {
        return error_response(
            400,
            "missing_params",
            "mandatory client parameters missing: channel",
        );
    };
    let arch = params
        .get("arch")
        .filter(|a| !a.is_empty())
        .map_or("amd64", String::as_str);
    let body = state.graph.graph(channel, arch).to_string().into_bytes();
    Response::new(200, content_type, body)
}

/// The response type for `accept`, or `None` when nothing acceptable is
/// offered (406). Missing or empty: `application/json`.
fn negotiate(accept: Option<&str>) -> Option<&'static str> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some("application/json");
    };
    let ranges: Vec<String> = accept
        .split(',')
        .map(|r| {
            r.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let has = |t: &str| ranges.iter().any(|r| r == t);
    if has("application/json") || has("*/*") || has("application/*") {
        Some("application/json")
    } else if has(CINCINNATI_JSON) {
        Some(CINCINNATI_JSON)
    } else {
        None
    }
}

/// `a=1&b=x%2By` → `{a: 1, b: x+y}` (`+` is a space).
fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
