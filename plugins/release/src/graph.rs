//! The Cincinnati update graph: fetching it, reading it, walking it.
//!
//! The OpenShift Update Service answers `GET …/graph?channel=C&arch=A` with the
//! releases of a channel (`nodes`) and the updates between them (`edges`, as
//! pairs of node *indices*), plus updates that are only recommended under
//! conditions (`conditionalEdges`, by version). Nodes come in no particular
//! order: everything here sorts by semantic version itself, so the same graph
//! always gives the same choices.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::Read;

use oc_mirror_plugin_sdk::semver::Version;
use oc_mirror_plugin_sdk::{Error, http};
use serde::Deserialize;

/// Node metadata key listing the channels a release is in.
const CHANNELS_KEY: &str = "io.openshift.upgrades.graph.release.channels";
/// Sent as the `id` query parameter. oc-mirror sends a random cluster id; a
/// fixed one tells the service nothing about who is asking.
const CLIENT_ID: &str = "00000000-0000-0000-0000-000000000000";
/// Largest graph accepted (the real ones are a few MB).
const MAX_GRAPH_BYTES: u64 = 64 << 20;

/// One release of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub version: Version,
    /// The payload's pull spec, by digest.
    pub payload: String,
    /// The channels it is in (from its metadata).
    pub channels: Vec<String>,
}

/// An update that is only recommended when a risk does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionalEdge {
    pub from: Version,
    pub to: Version,
    /// The names of the risks.
    pub risks: Vec<String>,
}

/// A channel's graph, nodes sorted by version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Unconditional updates, as indices into `nodes`.
    pub edges: BTreeSet<(usize, usize)>,
    pub conditional: Vec<ConditionalEdge>,
}

#[derive(Deserialize)]
struct RawGraph {
    #[serde(default)]
    nodes: Vec<RawNode>,
    #[serde(default)]
    edges: Vec<(usize, usize)>,
    #[serde(default, rename = "conditionalEdges")]
    conditional_edges: Vec<RawConditional>,
}

#[derive(Deserialize)]
struct RawNode {
    version: String,
    payload: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
struct RawConditional {
    #[serde(default)]
    edges: Vec<RawVersionEdge>,
    #[serde(default)]
    risks: Vec<RawRisk>,
}

#[derive(Deserialize)]
struct RawVersionEdge {
    from: String,
    to: String,
}

#[derive(Deserialize)]
struct RawRisk {
    #[serde(default)]
    name: String,
}

/// The error body of the update service: `{"kind": …, "value": …}`.
#[derive(Deserialize)]
struct ServiceError {
    kind: String,
    #[serde(default)]
    value: String,
}

impl Graph {
    /// Reads a graph document; `source` names it in errors.
    pub fn parse(bytes: &[u8], source: &str) -> Result<Graph, Error> {
        let raw: RawGraph = serde_json::from_slice(bytes).map_err(|e| {
            Error::Upstream(format!("{source} did not answer with an update graph: {e}"))
        })?;
        let mut nodes = Vec::with_capacity(raw.nodes.len());
        for n in &raw.nodes {
            let version = Version::parse(&n.version).ok_or_else(|| {
                Error::Upstream(format!("{source}: `{}` is not a version", n.version))
            })?;
            let channels = n
                .metadata
                .get(CHANNELS_KEY)
                .map(|c| {
                    c.split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            nodes.push(Node {
                version,
                payload: n.payload.clone(),
                channels,
            });
        }
        // Sort, remembering where each original index went.
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| nodes[a].version.cmp(&nodes[b].version));
        let mut position = vec![0; nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut edges = BTreeSet::new();
        for &(from, to) in &raw.edges {
            if from >= nodes.len() || to >= nodes.len() {
                return Err(Error::Upstream(format!(
                    "{source}: edge [{from}, {to}] points past the {} nodes",
                    nodes.len()
                )));
            }
            edges.insert((position[from], position[to]));
        }
        let sorted: Vec<Node> = order.iter().map(|&i| nodes[i].clone()).collect();
        let mut conditional = Vec::new();
        for group in &raw.conditional_edges {
            let risks: Vec<String> = group.risks.iter().map(|r| r.name.clone()).collect();
            for e in &group.edges {
                if let (Some(from), Some(to)) = (Version::parse(&e.from), Version::parse(&e.to)) {
                    conditional.push(ConditionalEdge {
                        from,
                        to,
                        risks: risks.clone(),
                    });
                }
            }
        }
        Ok(Graph {
            nodes: sorted,
            edges,
            conditional,
        })
    }

    /// The index of `version`, if it is a node.
    pub fn find(&self, version: &Version) -> Option<usize> {
        self.nodes.binary_search_by(|n| n.version.cmp(version)).ok()
    }

    /// The newest release.
    pub fn newest(&self) -> Option<&Node> {
        self.nodes.last()
    }

    /// The oldest release.
    pub fn oldest(&self) -> Option<&Node> {
        self.nodes.first()
    }

    /// Every release with `min ≤ version ≤ max`, oldest first.
    pub fn in_range(&self, min: &Version, max: &Version) -> Vec<&Node> {
        self.nodes
            .iter()
            .filter(|n| &n.version >= min && &n.version <= max)
            .collect()
    }

    /// The shortest chain of updates from `from` to `to` (both included), by
    /// breadth-first search over the unconditional edges. Among paths of the
    /// same length the one through newer releases wins, as oc-mirror does
    /// (each node's updates are tried newest first). `None` when there is none.
    pub fn shortest_path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut next: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(a, b) in &self.edges {
            next.entry(a).or_default().push(b);
        }
        for targets in next.values_mut() {
            // Indices follow version order: newest first is highest index first.
            targets.sort_unstable_by(|a, b| b.cmp(a));
        }
        let mut previous: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut path = vec![to];
                let mut at = to;
                while let Some(&p) = previous.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            for &n in next.get(&node).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(n) {
                    previous.insert(n, node);
                    queue.push_back(n);
                }
            }
        }
        None
    }

    /// Adds another channel's graph to this one (same releases merged by version).
    pub fn merge(&mut self, other: &Graph) {
        let mut by_version: BTreeMap<Version, Node> = BTreeMap::new();
        let mut edges: BTreeSet<(Version, Version)> = BTreeSet::new();
        for g in [&*self, other] {
            for n in &g.nodes {
                let entry = by_version
                    .entry(n.version.clone())
                    .or_insert_with(|| n.clone());
                for c in &n.channels {
                    if !entry.channels.contains(c) {
                        entry.channels.push(c.clone());
                    }
                }
            }
            for &(a, b) in &g.edges {
                edges.insert((g.nodes[a].version.clone(), g.nodes[b].version.clone()));
            }
        }
        let nodes: Vec<Node> = by_version.into_values().collect();
        let index: HashMap<&Version, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (&n.version, i))
            .collect();
        self.edges = edges
            .iter()
            .filter_map(|(a, b)| Some((*index.get(a)?, *index.get(b)?)))
            .collect();
        let mut conditional = std::mem::take(&mut self.conditional);
        for c in &other.conditional {
            if !conditional.contains(c) {
                conditional.push(c.clone());
            }
        }
        self.conditional = conditional;
        self.nodes = nodes;
    }
}

/// Fetches the graph of `channel` for `arch` from the update service at `url`.
pub fn fetch(url: &str, channel: &str, arch: &str) -> Result<Graph, Error> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{separator}channel={channel}&arch={arch}&id={CLIENT_ID}");
    let response = http::get(&full, &[("Accept", "application/json")]).map_err(|e| match e {
        Error::Upstream(m) => Error::Upstream(format!(
            "the update service at {url} cannot be reached: {m}\nhint: check the network, or point UPDATE_URL_OVERRIDE at an update service you can reach"
        )),
        other => other,
    })?;
    let status = response.status;
    let mut body = Vec::new();
    response
        .body
        .take(MAX_GRAPH_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::Upstream(format!("reading the graph from {url}: {e}")))?;
    if body.len() as u64 > MAX_GRAPH_BYTES {
        return Err(Error::Upstream(format!(
            "the update graph from {url} is larger than {MAX_GRAPH_BYTES} bytes"
        )));
    }
    if status != 200 {
        let detail = match serde_json::from_slice::<ServiceError>(&body) {
            Ok(e) => format!("{}: {}", e.kind, e.value),
            Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        };
        return Err(Error::Upstream(format!(
            "the update service at {url} answered {status} for channel `{channel}` ({arch}): {detail}"
        )));
    }
    Graph::parse(&body, &format!("the update service at {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// Nodes deliberately out of order; edges by index into this order.
    const SAMPLE: &str = r#"{
        "version": 1,
        "nodes": [
            {"version": "4.14.3", "payload": "q/r@sha256:3", "metadata": {"io.openshift.upgrades.graph.release.channels": "stable-4.14,stable-4.15"}},
            {"version": "4.14.1", "payload": "q/r@sha256:1", "metadata": {"io.openshift.upgrades.graph.release.channels": "stable-4.14"}},
            {"version": "4.15.0", "payload": "q/r@sha256:5", "metadata": {"io.openshift.upgrades.graph.release.channels": "stable-4.15"}},
            {"version": "4.14.2", "payload": "q/r@sha256:2", "metadata": {"io.openshift.upgrades.graph.release.channels": "stable-4.14,stable-4.15"}},
            {"version": "4.15.1", "payload": "q/r@sha256:6", "metadata": {}}
        ],
        "edges": [[1, 3], [3, 0], [1, 0], [0, 2], [3, 2]],
        "conditionalEdges": [{"edges": [{"from": "4.15.0", "to": "4.15.1"}],
            "risks": [{"url": "u", "name": "SomeRisk", "message": "m", "matchingRules": [{"type": "Always"}]}]}]
    }"#;

    #[test]
    fn nodes_are_sorted_and_edges_follow_them() {
        let g = Graph::parse(SAMPLE.as_bytes(), "test").unwrap();
        let versions: Vec<String> = g.nodes.iter().map(|n| n.version.to_string()).collect();
        assert_eq!(versions, ["4.14.1", "4.14.2", "4.14.3", "4.15.0", "4.15.1"]);
        let e: Vec<(String, String)> = g
            .edges
            .iter()
            .map(|&(a, b)| {
                (
                    g.nodes[a].version.to_string(),
                    g.nodes[b].version.to_string(),
                )
            })
            .collect();
        assert!(e.contains(&("4.14.1".into(), "4.14.2".into())));
        assert!(e.contains(&("4.14.2".into(), "4.15.0".into())));
        assert_eq!(e.len(), 5);
        assert_eq!(g.conditional.len(), 1);
        assert_eq!(g.conditional[0].risks, ["SomeRisk"]);
        assert_eq!(g.nodes[1].channels, ["stable-4.14", "stable-4.15"]);
    }

    #[test]
    fn shortest_path_prefers_fewer_hops_then_newer_releases() {
        let g = Graph::parse(SAMPLE.as_bytes(), "test").unwrap();
        let at = |s: &str| g.find(&v(s)).unwrap();
        let path = g.shortest_path(at("4.14.1"), at("4.15.0")).unwrap();
        let names: Vec<String> = path
            .iter()
            .map(|&i| g.nodes[i].version.to_string())
            .collect();
        // Two hops either way (via 4.14.2 or 4.14.3): the newer one is taken.
        assert_eq!(names, ["4.14.1", "4.14.3", "4.15.0"]);
        assert_eq!(
            g.shortest_path(at("4.15.0"), at("4.15.1")),
            None,
            "conditional edges are not taken"
        );
        assert_eq!(
            g.shortest_path(at("4.14.2"), at("4.14.2")),
            Some(vec![at("4.14.2")])
        );
    }

    #[test]
    fn bad_graphs_are_refused_clearly() {
        let e = Graph::parse(br#"{"nodes":[],"edges":[[0,1]]}"#, "svc").unwrap_err();
        assert!(matches!(e, Error::Upstream(m) if m.contains("points past")));
        let e = Graph::parse(b"<html>", "svc").unwrap_err();
        assert!(matches!(e, Error::Upstream(m) if m.contains("svc did not answer")));
    }

    #[test]
    fn merged_graphs_keep_every_edge() {
        let a = Graph::parse(
            br#"{"nodes":[{"version":"4.14.1","payload":"a"},{"version":"4.14.2","payload":"b"}],"edges":[[0,1]]}"#,
            "a",
        )
        .unwrap();
        let mut b = Graph::parse(
            br#"{"nodes":[{"version":"4.15.0","payload":"c"},{"version":"4.14.2","payload":"b"}],"edges":[[1,0]]}"#,
            "b",
        )
        .unwrap();
        b.merge(&a);
        let at = |s: &str| b.find(&v(s)).unwrap();
        assert_eq!(b.nodes.len(), 3);
        assert_eq!(
            b.shortest_path(at("4.14.1"), at("4.15.0")).unwrap().len(),
            3
        );
    }
}
