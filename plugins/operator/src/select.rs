//! Which packages, channels and bundles of a catalog to mirror.
//!
//! A pure function of the catalog model and the `operators[]` entry of the
//! ImageSetConfiguration, following oc-mirror v2 (its `catalog-filter`
//! library): channel heads by default, the range walk along the replaces
//! chain for `minVersion`/`maxVersion`, whole channels for `full`, the whole
//! catalog untouched for `full` without packages, and v2's errors. A
//! `v1alpha2` configuration keeps v1's meaning where v1 differed: the
//! packages and APIs kept bundles require are added unless
//! `skipDependencies`, and a default channel that was filtered out is
//! replaced by a surviving one. For `v2alpha1`, which resolves nothing, every
//! requirement no kept bundle provides becomes a warning.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::Deserialize;

use crate::fbc::{Catalog, Channel, Gvk, Package};
use crate::version::{self, Bounds, Range, Version};

/// The ImageSetConfiguration's apiVersion, which decides the v1 or v2 meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `mirror.openshift.io/v1alpha2`.
    V1alpha2,
    /// `mirror.openshift.io/v2alpha1`.
    V2alpha1,
}

/// One `mirror.operators[]` entry, as the host serializes it (fields this
/// module does not use are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    /// The catalog image.
    pub catalog: String,
    /// Every bundle of the kept channels (or of the catalog).
    #[serde(default)]
    pub full: bool,
    /// Packages to keep; none means all.
    #[serde(default)]
    pub packages: Vec<PackageFilter>,
    /// v1alpha2: do not add dependencies.
    #[serde(default)]
    pub skip_dependencies: bool,
}

/// `operators[].packages[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageFilter {
    /// Package name.
    pub name: String,
    /// Channels to keep; none means all of them.
    #[serde(default)]
    pub channels: Vec<ChannelFilter>,
    /// Lowest version, in every kept channel.
    #[serde(default)]
    pub min_version: Option<String>,
    /// Highest version, in every kept channel.
    #[serde(default)]
    pub max_version: Option<String>,
    /// v1alpha2: lowest bundle by name; the chain from the head down to it.
    #[serde(default)]
    pub min_bundle: Option<String>,
    /// The default channel of the filtered package.
    #[serde(default)]
    pub default_channel: Option<String>,
}

/// `operators[].packages[].channels[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelFilter {
    /// Channel name.
    pub name: String,
    /// Lowest version in this channel.
    #[serde(default)]
    pub min_version: Option<String>,
    /// Highest version in this channel.
    #[serde(default)]
    pub max_version: Option<String>,
    /// v1alpha2: lowest bundle by name; the chain from the head down to it.
    #[serde(default)]
    pub min_bundle: Option<String>,
}

/// Why a bundle is kept; a bundle kept for several reasons shows the first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The head of a kept channel.
    Head,
    /// In the requested version range.
    InRange,
    /// Out of the range but on the replaces chain between bundles in it, kept
    /// so that the channel stays connected.
    ConnectsChain,
    /// Every entry of a channel (`full`).
    Full,
    /// Required by a kept bundle (v1alpha2), or on the replaces chain from
    /// such a bundle to its channel head.
    Dependency {
        /// The bundle that needs it.
        required_by: String,
    },
    /// Mirrored by an earlier sequence and still in the catalog: kept so that
    /// a cluster running it is offered the upgrade to what is new.
    Earlier,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Head => f.write_str("channel head"),
            Reason::InRange => f.write_str("in the version range"),
            Reason::ConnectsChain => f.write_str("connects the upgrade chain"),
            Reason::Full => f.write_str("full channel"),
            Reason::Dependency { required_by } => write!(f, "dependency of {required_by}"),
            Reason::Earlier => f.write_str("kept from an earlier sequence"),
        }
    }
}

/// What is kept of one package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeptPackage {
    /// The default channel of the filtered package.
    pub default_channel: Option<String>,
    /// Kept channels and, for each, the names of its kept entries.
    pub channels: BTreeMap<String, BTreeSet<String>>,
    /// Kept bundles (those the catalog has) and why.
    pub bundles: BTreeMap<String, Reason>,
}

/// The result of selection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// `full: true` without packages: the catalog is kept whole and is not
    /// rebuilt; `packages` then lists everything.
    pub whole_catalog: bool,
    /// Kept packages by name.
    pub packages: BTreeMap<String, KeptPackage>,
    /// Things the user should know (out-of-range bundles kept to connect a
    /// chain, requirements nothing kept provides).
    pub warnings: Vec<String>,
}

/// A configuration the catalog cannot satisfy, naming catalog, package and
/// channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Where an error or warning is: catalog, package and channel.
struct At<'a> {
    catalog: &'a str,
    package: &'a str,
    channel: Option<&'a str>,
}

impl At<'_> {
    fn error(&self, message: impl fmt::Display) -> Error {
        Error(self.say(message))
    }

    fn say(&self, message: impl fmt::Display) -> String {
        match self.channel {
            Some(channel) => format!(
                "catalog {}: package {:?} channel {:?}: {message}",
                self.catalog, self.package, channel
            ),
            None => format!(
                "catalog {}: package {:?}: {message}",
                self.catalog, self.package
            ),
        }
    }
}

/// Chooses what to keep of `catalog` for `operator`.
pub fn select(catalog: &Catalog, operator: &Operator, api: ApiVersion) -> Result<Selection, Error> {
    let cat = operator.catalog.as_str();
    let mut selection = Selection::default();

    if operator.full && operator.packages.is_empty() {
        selection.whole_catalog = true;
        for (name, package) in &catalog.packages {
            let kept = KeptPackage {
                default_channel: package.default_channel.clone(),
                channels: package
                    .channels
                    .iter()
                    .map(|(c, ch)| {
                        (
                            c.clone(),
                            ch.entries.iter().map(|e| e.name.clone()).collect(),
                        )
                    })
                    .collect(),
                bundles: package
                    .bundles
                    .keys()
                    .map(|b| (b.clone(), Reason::Full))
                    .collect(),
            };
            selection.packages.insert(name.clone(), kept);
        }
        return Ok(selection);
    }

    // The packages to filter, each with its (possibly empty) filter.
    let mut wanted: Vec<(&Package, Option<&PackageFilter>)> = Vec::new();
    if operator.packages.is_empty() {
        wanted.extend(catalog.packages.values().map(|p| (p, None)));
    } else {
        let mut seen = BTreeSet::new();
        for filter in &operator.packages {
            let at = At {
                catalog: cat,
                package: &filter.name,
                channel: None,
            };
            if !seen.insert(filter.name.as_str()) {
                return Err(at.error("listed twice"));
            }
            let package = catalog
                .packages
                .get(&filter.name)
                .ok_or_else(|| at.error("not found in the catalog"))?;
            wanted.push((package, Some(filter)));
        }
    }

    for (package, filter) in wanted {
        let kept = select_package(cat, package, filter, operator.full, api, &mut selection)?;
        selection.packages.insert(package.name.clone(), kept);
    }

    match api {
        ApiVersion::V1alpha2 if !operator.skip_dependencies => {
            let pinned: BTreeSet<&str> = operator
                .packages
                .iter()
                .filter(|f| f.default_channel.is_some())
                .map(|f| f.name.as_str())
                .collect();
            add_dependencies(cat, catalog, &pinned, &mut selection)
        }
        _ => warn_unmet(cat, catalog, &mut selection),
    }
    Ok(selection)
}

/// A `minVersion`/`maxVersion` pair checked and parsed.
fn bounds(at: &At, min: &Option<String>, max: &Option<String>) -> Result<Bounds, Error> {
    let parse = |text: &Option<String>, key: &str| -> Result<Option<Version>, Error> {
        match text {
            None => Ok(None),
            Some(t) => version::parse(t)
                .map(Some)
                .ok_or_else(|| at.error(format!("{key} {t:?} is not a semantic version"))),
        }
    };
    let b = Bounds {
        min: parse(min, "minVersion")?,
        max: parse(max, "maxVersion")?,
    };
    if let (Some(lo), Some(hi)) = (&b.min, &b.max)
        && version::cmp(lo, hi) == std::cmp::Ordering::Greater
    {
        return Err(at.error(format!(
            "minVersion {} is above maxVersion {}",
            min.as_deref().unwrap_or_default(),
            max.as_deref().unwrap_or_default()
        )));
    }
    Ok(b)
}

fn select_package(
    cat: &str,
    package: &Package,
    filter: Option<&PackageFilter>,
    full: bool,
    api: ApiVersion,
    selection: &mut Selection,
) -> Result<KeptPackage, Error> {
    let at = At {
        catalog: cat,
        package: &package.name,
        channel: None,
    };
    let empty = PackageFilter::default();
    let filter = filter.unwrap_or(&empty);
    let package_bounds = bounds(&at, &filter.min_version, &filter.max_version)?;
    let versions: BTreeMap<&str, Option<Version>> = package
        .bundles
        .values()
        .map(|b| {
            (
                b.name.as_str(),
                b.version.as_deref().and_then(version::parse),
            )
        })
        .collect();

    if filter.min_bundle.is_some() && !package_bounds.is_empty() {
        return Err(at.error("minBundle cannot be mixed with minVersion or maxVersion"));
    }

    // The channels to filter, with their bounds and (v1alpha2) lowest bundle.
    let mut channels: Vec<(&Channel, Bounds, Option<MinBundle>)> = Vec::new();
    let package_min = |channel: &Channel| {
        filter
            .min_bundle
            .as_deref()
            .map(|name| MinBundle {
                name: name.to_string(),
                required: false,
            })
            .filter(|_| !channel.entries.is_empty())
    };
    if filter.channels.is_empty() {
        for channel in package.channels.values() {
            channels.push((channel, package_bounds.clone(), package_min(channel)));
        }
    } else {
        let mut seen = BTreeSet::new();
        for cf in &filter.channels {
            let at = At {
                channel: Some(&cf.name),
                ..at
            };
            if !seen.insert(cf.name.as_str()) {
                return Err(at.error("listed twice"));
            }
            let channel = package
                .channels
                .get(&cf.name)
                .ok_or_else(|| at.error("not found in the package"))?;
            let own = bounds(&at, &cf.min_version, &cf.max_version)?;
            if !own.is_empty() && !package_bounds.is_empty() {
                return Err(at.error(
                    "a version range on the package cannot be mixed with one on its channels",
                ));
            }
            let b = if own.is_empty() {
                package_bounds.clone()
            } else {
                own
            };
            let min = match &cf.min_bundle {
                Some(_) if !b.is_empty() => {
                    return Err(at.error("minBundle cannot be mixed with minVersion or maxVersion"));
                }
                Some(name) => Some(MinBundle {
                    name: name.clone(),
                    required: true,
                }),
                None => package_min(channel),
            };
            channels.push((channel, b, min));
        }
    }

    let wanted_default = filter
        .default_channel
        .clone()
        .or_else(|| package.default_channel.clone());
    let mut kept = KeptPackage::default();
    for (channel, b, min) in channels {
        let at = At {
            channel: Some(&channel.name),
            ..at
        };
        if full && !b.is_empty() {
            return Err(at.error("full: true cannot be mixed with a version range"));
        }
        let graph = Graph::new(channel).map_err(|e| at.error(e))?;
        let from_min = match &min {
            Some(m) if graph.is_entry(&m.name) => Some(graph.down_to(&m.name)),
            Some(m) if m.required => {
                return Err(at.error(format!(
                    "minBundle {:?} is not an entry of the channel",
                    m.name
                )));
            }
            _ => None,
        };
        let entries: Vec<(String, Reason)> = if let Some(from_min) = from_min {
            from_min
        } else if full {
            channel
                .entries
                .iter()
                .map(|e| (e.name.clone(), Reason::Full))
                .collect()
        } else if b.is_empty() {
            vec![(graph.head.clone(), Reason::Head)]
        } else if let (Some(lo), Some(hi)) = (&b.min, &b.max)
            && version::cmp(lo, hi) == std::cmp::Ordering::Equal
        {
            // minVersion == maxVersion: exactly that bundle (OCPBUGS-61497).
            channel
                .entries
                .iter()
                .filter(|e| {
                    versions
                        .get(e.name.as_str())
                        .and_then(Option::as_ref)
                        .is_some_and(|v| version::cmp(v, lo) == std::cmp::Ordering::Equal)
                })
                .take(1)
                .map(|e| (e.name.clone(), Reason::InRange))
                .collect()
        } else {
            graph.range_walk(&b, &versions, &mut |name, v| {
                selection.warnings.push(at.say(match v {
                    Some(v) => format!(
                        "including bundle {name:?} with version {v}: it falls outside the range {:?} but is needed to keep the bundles in it connected",
                        b.describe()
                    ),
                    None => format!(
                        "including bundle {name:?}: it is unversioned but is needed to keep the bundles in the range {:?} connected",
                        b.describe()
                    ),
                }));
            })
        };
        if entries.is_empty() {
            if wanted_default.as_deref() == Some(channel.name.as_str()) {
                return Err(at.error(format!(
                    "the version range {:?} leaves the default channel empty",
                    b.describe()
                )));
            }
            continue;
        }
        let names = kept.channels.entry(channel.name.clone()).or_default();
        for (name, reason) in entries {
            if graph.is_entry(&name) {
                names.insert(name.clone());
            }
            if package.bundles.contains_key(&name) {
                keep(&mut kept.bundles, name, reason);
            }
        }
    }

    kept.default_channel = match (&filter.default_channel, &package.default_channel) {
        (Some(wanted), _) => {
            if !kept.channels.contains_key(wanted) {
                return Err(at.error(format!(
                    "the default channel override {wanted:?} is not among the kept channels"
                )));
            }
            Some(wanted.clone())
        }
        (None, Some(default)) if kept.channels.contains_key(default) => Some(default.clone()),
        (None, Some(default)) => match api {
            ApiVersion::V2alpha1 => {
                return Err(at.error(format!(
                    "the default channel {default:?} was filtered out, a new default channel must be configured for this package"
                )));
            }
            ApiVersion::V1alpha2 => surviving_default(package, &kept),
        },
        (None, None) => None,
    };
    Ok(kept)
}

/// v1alpha2's `minBundle`: the lowest bundle, by name, of a channel whose
/// bundles are kept up to its head.
struct MinBundle {
    name: String,
    /// Named on the channel (it must be there), not inherited from the package.
    required: bool,
}

/// v1: a default channel filtered out is replaced by a surviving channel —
/// the one whose newest kept bundle is newest (ties: by name).
fn surviving_default(package: &Package, kept: &KeptPackage) -> Option<String> {
    let newest = |entries: &BTreeSet<String>| {
        entries
            .iter()
            .filter_map(|e| package.bundles.get(e)?.version.as_deref())
            .filter_map(version::parse)
            .max_by(version::cmp)
    };
    let mut best: Option<(&String, Option<Version>)> = None;
    for (name, entries) in &kept.channels {
        let v = newest(entries);
        let better = match &best {
            None => true,
            Some((_, bv)) => match (&v, bv) {
                (Some(a), Some(b)) => version::cmp(a, b) == std::cmp::Ordering::Greater,
                (Some(_), None) => true,
                _ => false,
            },
        };
        if better {
            best = Some((name, v));
        }
    }
    best.map(|(name, _)| name.clone())
}

fn keep(bundles: &mut BTreeMap<String, Reason>, name: String, reason: Reason) {
    match bundles.get_mut(&name) {
        Some(old) if *old <= reason => {}
        Some(old) => *old = reason,
        None => {
            bundles.insert(name, reason);
        }
    }
}

/// The upgrade graph of a channel, checked as catalog-filter checks it.
struct Graph<'a> {
    channel: &'a Channel,
    index: BTreeMap<&'a str, usize>,
    head: String,
}

impl<'a> Graph<'a> {
    fn new(channel: &'a Channel) -> Result<Graph<'a>, String> {
        if channel.entries.is_empty() {
            return Err("the channel has no entries".into());
        }
        let mut index = BTreeMap::new();
        let mut incoming: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (i, e) in channel.entries.iter().enumerate() {
            if index.insert(e.name.as_str(), i).is_some() {
                return Err(format!("duplicate channel entry {:?}", e.name));
            }
            for target in e.replaces.iter().chain(&e.skips) {
                if *target == e.name {
                    return Err(format!(
                        "invalid channel entry {:?}: it replaces or skips itself",
                        e.name
                    ));
                }
                incoming.entry(target).or_default().insert(&e.name);
            }
        }
        let heads: Vec<&str> = channel
            .entries
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| !incoming.contains_key(n))
            .collect();
        let head = match heads.as_slice() {
            [] => return Err("no channel heads found".into()),
            [one] => one.to_string(),
            many => {
                let mut names = many.to_vec();
                names.sort();
                return Err(format!("multiple channel heads found: {names:?}"));
            }
        };
        // Topological walk from the head: edges left over mean a cycle.
        let mut queue = VecDeque::from([head.as_str()]);
        while let Some(cur) = queue.pop_front() {
            let Some(&i) = index.get(cur) else { continue };
            let e = &channel.entries[i];
            for target in e.replaces.iter().chain(&e.skips) {
                if let Some(sources) = incoming.get_mut(target.as_str()) {
                    sources.remove(cur);
                    if sources.is_empty() {
                        incoming.remove(target.as_str());
                        queue.push_back(target);
                    }
                }
            }
        }
        if !incoming.is_empty() {
            return Err("detected a cycle in the upgrade graph of the channel".into());
        }
        Ok(Graph {
            channel,
            index,
            head,
        })
    }

    fn is_entry(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn entry(&self, name: &str) -> Option<&'a crate::fbc::Entry> {
        self.index.get(name).map(|&i| &self.channel.entries[i])
    }

    /// The replaces chain from the head (names, ending where an entry replaces
    /// nothing or a bundle outside the channel).
    fn chain(&self) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut cur = self.entry(&self.head).map(|e| e.name.as_str());
        while let Some(name) = cur {
            out.push(name);
            cur = self
                .entry(name)
                .and_then(|e| e.replaces.as_deref())
                .and_then(|r| self.entry(r))
                .map(|e| e.name.as_str());
        }
        out
    }

    /// v1alpha2's `minBundle`: from the head down to `name` along the
    /// replaces chain (what the chain skips on the way stays out), or, for an
    /// entry off the chain, the shortest path of upgrade edges to it.
    fn down_to(&self, name: &str) -> Vec<(String, Reason)> {
        let chain = self.chain();
        let path: Vec<&str> = match chain.iter().position(|n| *n == name) {
            Some(i) => chain[..=i].to_vec(),
            None => self
                .path_to(&[self.head.as_str()], name)
                .unwrap_or_else(|| vec![self.head.as_str(), name]),
        };
        path.into_iter()
            .map(|n| (n.to_string(), Reason::InRange))
            .collect()
    }

    /// What to add so that `old` (entries not kept) joins `kept` as one
    /// upgrade graph with a single head: along the replaces chain, every node
    /// from the highest to the lowest that reaches a member (itself, or by
    /// skipping it) is kept, the old ones as [`Reason::Earlier`], the ones in
    /// between as [`Reason::ConnectsChain`]. An old entry off the chain is
    /// reached by the shortest path of upgrade edges from what is kept.
    fn connect(&self, kept: &BTreeSet<String>, old: &[&str]) -> Vec<(String, Reason)> {
        let chain = self.chain();
        // The first chain node that reaches `name`.
        let position = |name: &str| {
            chain.iter().position(|&c| {
                c == name
                    || self
                        .entry(c)
                        .is_some_and(|e| e.skips.iter().any(|s| s == name))
            })
        };
        let members = kept.iter().map(String::as_str).chain(old.iter().copied());
        let positions: Vec<usize> = members.filter_map(position).collect();
        let mut out: Vec<(String, Reason)> = old
            .iter()
            .map(|n| (n.to_string(), Reason::Earlier))
            .collect();
        let mut have: BTreeSet<String> = kept.iter().cloned().collect();
        have.extend(old.iter().map(|n| n.to_string()));
        if let (Some(&top), Some(&bottom)) = (positions.iter().min(), positions.iter().max()) {
            for &node in &chain[top..=bottom] {
                if have.insert(node.to_string()) {
                    out.push((node.to_string(), Reason::ConnectsChain));
                }
            }
        }
        // Off the chain: the shortest path of upgrade edges from what is
        // kept (or, failing that, from the head).
        for &name in old.iter().filter(|n| position(n).is_none()) {
            let starts: Vec<&str> = have.iter().map(String::as_str).collect();
            let path = self
                .path_to(&starts, name)
                .or_else(|| self.path_to(&[self.head.as_str()], name));
            for node in path.unwrap_or_default() {
                if have.insert(node.to_string()) {
                    out.push((node.to_string(), Reason::ConnectsChain));
                }
            }
        }
        out
    }

    /// The entries on the shortest path of upgrade edges (replaces, skips)
    /// from any of `starts` to `target`, both ends included.
    fn path_to(&self, starts: &[&str], target: &str) -> Option<Vec<&'a str>> {
        let mut from: BTreeMap<&'a str, Option<&'a str>> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for s in starts {
            if let Some(e) = self.entry(s)
                && from.insert(&e.name, None).is_none()
            {
                queue.push_back(e.name.as_str());
            }
        }
        while let Some(cur) = queue.pop_front() {
            if cur == target {
                let mut path = vec![cur];
                let mut at = cur;
                while let Some(Some(prev)) = from.get(at) {
                    path.push(prev);
                    at = prev;
                }
                path.reverse();
                return Some(path);
            }
            let Some(e) = self.entry(cur) else { continue };
            for next in e.replaces.iter().chain(&e.skips) {
                if let Some(n) = self.entry(next)
                    && !from.contains_key(n.name.as_str())
                {
                    from.insert(&n.name, Some(cur));
                    queue.push_back(&n.name);
                }
            }
        }
        None
    }

    /// catalog-filter's `filterByVersionRange`: count, for each node of the
    /// replaces chain, the in-range bundles at or below it (each counted
    /// once, its own skips included); the new head is the lowest node with
    /// the highest count, the tail the first node with none; keep the chain
    /// from head to tail and the in-range bundles its nodes skip.
    fn range_walk(
        &self,
        b: &Bounds,
        versions: &BTreeMap<&str, Option<Version>>,
        warn: &mut dyn FnMut(&str, Option<&Version>),
    ) -> Vec<(String, Reason)> {
        let version_of = |n: &str| versions.get(n).and_then(Option::as_ref);
        let in_range = |n: &str| version_of(n).is_some_and(|v| b.contains(v));
        let chain = self.chain();
        let mut counts = vec![0usize; chain.len()];
        let mut seen = BTreeSet::new();
        for i in (0..chain.len()).rev() {
            let mut count = counts.get(i + 1).copied().unwrap_or(0);
            let e = self.entry(chain[i]).expect("chain nodes are entries");
            for name in std::iter::once(&e.name).chain(&e.skips) {
                if in_range(name) && seen.insert(name.as_str()) {
                    count += 1;
                }
            }
            counts[i] = count;
        }
        let mut head = None;
        let mut tail = chain.len();
        let mut max = None;
        for (i, &count) in counts.iter().enumerate() {
            if max.is_none_or(|m| count >= m) {
                head = Some(i);
                max = Some(count);
            }
            if count == 0 {
                tail = i;
                break;
            }
        }
        let mut out = Vec::new();
        let Some(head) = head else { return out };
        for &name in &chain[head..tail.max(head)] {
            if in_range(name) {
                out.push((name.to_string(), Reason::InRange));
            } else {
                warn(name, version_of(name));
                out.push((name.to_string(), Reason::ConnectsChain));
            }
            let e = self.entry(name).expect("chain nodes are entries");
            for skip in &e.skips {
                if in_range(skip) {
                    out.push((skip.clone(), Reason::InRange));
                }
            }
        }
        out
    }
}

/// Keeps, in each kept channel, the bundles earlier sequences mirrored
/// (`earlier`: package → bundle names) that the channel still lists, joined
/// to what is kept along the replaces chain: after the head moved from 1.1.1
/// to 1.2.0, the catalog holds both and 1.2.0 upgrades 1.1.1. Packages the
/// configuration no longer selects, and channels it no longer keeps, are
/// not brought back.
pub fn keep_earlier(
    catalog: &Catalog,
    selection: &mut Selection,
    earlier: &BTreeMap<String, BTreeSet<String>>,
) {
    if selection.whole_catalog {
        return;
    }
    for (package_name, names) in earlier {
        let (Some(package), Some(kept)) = (
            catalog.packages.get(package_name),
            selection.packages.get_mut(package_name),
        ) else {
            continue;
        };
        for (channel_name, entries) in kept.channels.iter_mut() {
            let Some(graph) = package
                .channels
                .get(channel_name)
                .and_then(|c| Graph::new(c).ok())
            else {
                continue;
            };
            let old: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| graph.is_entry(n) && !entries.contains(*n))
                .collect();
            if old.is_empty() {
                continue;
            }
            for (name, reason) in graph.connect(entries, &old) {
                entries.insert(name.clone());
                if package.bundles.contains_key(&name) {
                    keep(&mut kept.bundles, name, reason);
                }
            }
        }
    }
}

/// The head of a whole channel (the entry nothing replaces or skips), or why
/// it has none.
pub fn channel_head(channel: &Channel) -> Result<String, String> {
    Graph::new(channel).map(|g| g.head)
}

/// The head of a channel as filtered: the kept entry no other kept entry
/// replaces or skips (the first by name when the entries do not say).
pub fn filtered_head(channel: &Channel, kept: &BTreeSet<String>) -> Option<String> {
    let mut targets = BTreeSet::new();
    for e in channel.entries.iter().filter(|e| kept.contains(&e.name)) {
        targets.extend(e.replaces.iter().chain(&e.skips).map(String::as_str));
    }
    kept.iter().find(|n| !targets.contains(n.as_str())).cloned()
}

/// A requirement of a kept bundle.
enum Need<'a> {
    Package(&'a str, &'a str),
    Gvk(&'a Gvk),
}

impl fmt::Display for Need<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Package(p, "") => write!(f, "package {p:?}"),
            Need::Package(p, r) => write!(f, "package {p:?} ({r})"),
            Need::Gvk(g) => write!(f, "API {g}"),
        }
    }
}

fn needs(bundle: &crate::fbc::Bundle) -> Vec<Need<'_>> {
    let packages = bundle
        .requires_packages
        .iter()
        .map(|r| Need::Package(&r.package, &r.range));
    packages
        .chain(bundle.requires_gvks.iter().map(Need::Gvk))
        .collect()
}

/// Whether bundle `name` of `package` satisfies `need`.
fn satisfies(catalog: &Catalog, package: &str, name: &str, need: &Need) -> bool {
    let Some(bundle) = catalog
        .packages
        .get(package)
        .and_then(|p| p.bundles.get(name))
    else {
        return false;
    };
    match need {
        Need::Package(p, range) => {
            *p == package
                && match Range::parse(range) {
                    Some(r) => bundle
                        .version
                        .as_deref()
                        .and_then(version::parse)
                        .is_some_and(|v| r.contains(&v)),
                    None => false,
                }
        }
        Need::Gvk(g) => bundle.provides.contains(g),
    }
}

fn met(catalog: &Catalog, selection: &Selection, need: &Need) -> bool {
    selection
        .packages
        .iter()
        .any(|(p, kept)| kept.bundles.keys().any(|b| satisfies(catalog, p, b, need)))
}

/// Every kept (package, bundle), in order.
fn kept_bundles(selection: &Selection) -> Vec<(String, String)> {
    selection
        .packages
        .iter()
        .flat_map(|(p, k)| k.bundles.keys().map(move |b| (p.clone(), b.clone())))
        .collect()
}

/// v2alpha1: warn about what no kept bundle provides.
fn warn_unmet(cat: &str, catalog: &Catalog, selection: &mut Selection) {
    let mut warnings = Vec::new();
    for (p, b) in kept_bundles(selection) {
        let bundle = &catalog.packages[&p].bundles[&b];
        for need in needs(bundle) {
            if !met(catalog, selection, &need) {
                warnings.push(format!(
                    "catalog {cat}: package {p:?}: bundle {b:?} requires {need}, which no kept bundle provides (list it in the ImageSetConfiguration)"
                ));
            }
        }
    }
    selection.warnings.extend(warnings);
}

/// v1alpha2: add, for each requirement of a kept bundle, the newest bundle
/// of the catalog that meets it and its replaces chain up to its channel
/// head; then the requirements of what was added, until none is left.
///
/// As v1's `addAllDependencies`, the newest provider is added even when an
/// older kept bundle already meets the requirement: a package pulled in by a
/// range keeps its newest bundle in its default channel too, and so keeps
/// that default channel.
/// `pinned` are the packages whose default channel the configuration sets.
fn add_dependencies(
    cat: &str,
    catalog: &Catalog,
    pinned: &BTreeSet<&str>,
    selection: &mut Selection,
) {
    let mut queue: VecDeque<(String, String)> = kept_bundles(selection).into();
    let mut done = BTreeSet::new();
    while let Some((p, b)) = queue.pop_front() {
        if !done.insert((p.clone(), b.clone())) {
            continue;
        }
        let bundle = &catalog.packages[&p].bundles[&b];
        for need in needs(bundle) {
            let Some((dp, db)) = newest_provider(catalog, &need) else {
                selection.warnings.push(format!(
                    "catalog {cat}: package {p:?}: bundle {b:?} requires {need}, which no bundle of the catalog provides"
                ));
                continue;
            };
            let pin = pinned.contains(dp.as_str());
            for added in add_with_chain(catalog, selection, &dp, &db, &b, pin) {
                queue.push_back((dp.clone(), added));
            }
        }
    }
}

/// The newest bundle that meets `need` (ties: in its package's default
/// channel, then by package and name).
fn newest_provider(catalog: &Catalog, need: &Need) -> Option<(String, String)> {
    let mut best: Option<(Option<Version>, bool, &str, &str)> = None;
    for (p, package) in &catalog.packages {
        for b in package.bundles.keys() {
            if !satisfies(catalog, p, b, need) {
                continue;
            }
            let v = package.bundles[b]
                .version
                .as_deref()
                .and_then(version::parse);
            let in_default = package
                .default_channel
                .as_ref()
                .and_then(|d| package.channels.get(d))
                .is_some_and(|c| c.entries.iter().any(|e| &e.name == b));
            let better = match &best {
                None => true,
                Some((bv, bd, _, _)) => match (&v, bv) {
                    (Some(a), Some(c)) => match version::cmp(a, c) {
                        std::cmp::Ordering::Greater => true,
                        std::cmp::Ordering::Equal => in_default && !bd,
                        std::cmp::Ordering::Less => false,
                    },
                    (Some(_), None) => true,
                    _ => false,
                },
            };
            if better {
                best = Some((v, in_default, p, b));
            }
        }
    }
    best.map(|(_, _, p, b)| (p.to_string(), b.to_string()))
}

/// Keeps bundle `name` of `package` and the replaces chain from its channel's
/// head down to it (its package's default channel if it is there, else the
/// first channel by name that has it); returns the bundles newly kept. The
/// package's own default channel becomes (again) its default once it is
/// kept, unless the configuration `pinned` another.
fn add_with_chain(
    catalog: &Catalog,
    selection: &mut Selection,
    package: &str,
    name: &str,
    required_by: &str,
    pinned: bool,
) -> Vec<String> {
    let source = &catalog.packages[package];
    let has = |c: &Channel| c.entries.iter().any(|e| e.name == name);
    let channel = source
        .default_channel
        .as_ref()
        .and_then(|d| source.channels.get(d))
        .filter(|c| has(c))
        .or_else(|| source.channels.values().find(|c| has(c)));
    let mut names = vec![name.to_string()];
    if let Some(channel) = channel
        && let Ok(graph) = Graph::new(channel)
    {
        let chain = graph.chain();
        match chain.iter().position(|n| *n == name) {
            Some(i) => names = chain[..=i].iter().map(|n| n.to_string()).collect(),
            None => names.push(graph.head.clone()),
        }
    }
    let kept = selection.packages.entry(package.to_string()).or_default();
    let mut added = Vec::new();
    for n in &names {
        if !kept.bundles.contains_key(n) {
            added.push(n.clone());
        }
        keep(
            &mut kept.bundles,
            n.clone(),
            Reason::Dependency {
                required_by: required_by.to_string(),
            },
        );
    }
    if let Some(channel) = channel {
        kept.channels
            .entry(channel.name.clone())
            .or_default()
            .extend(names);
    }
    let default_kept = kept
        .default_channel
        .as_ref()
        .is_some_and(|d| kept.channels.contains_key(d));
    let own_default = source
        .default_channel
        .clone()
        .filter(|d| kept.channels.contains_key(d));
    if !pinned && own_default.is_some() {
        kept.default_channel = own_default;
    } else if !default_kept {
        kept.default_channel = own_default.or_else(|| surviving_default(source, kept));
    }
    added
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fbc::Format;
    use serde_json::json;

    fn bundle(package: &str, version: &str, extra: serde_json::Value) -> serde_json::Value {
        let name = format!("{package}.v{version}");
        let mut properties = vec![
            json!({"type": "olm.package", "value": {"packageName": package, "version": version}}),
        ];
        if let serde_json::Value::Array(more) = extra {
            properties.extend(more);
        }
        json!({
            "schema": "olm.bundle", "name": name, "package": package,
            "image": format!("example.com/{package}-bundle:v{version}"),
            "properties": properties,
            "relatedImages": [{"name": "op", "image": format!("example.com/{package}:v{version}")}],
        })
    }

    /// A small catalog of three packages: `one` (channels `stable` and
    /// `fast`, with a skipped bundle and a pre-release on the chain), `two`
    /// and `three` (which `one.v2.0.0` needs).
    pub(crate) fn test_catalog_text() -> String {
        let thing = json!({"group": "example.com", "version": "v1", "kind": "Thing"});
        let docs = vec![
            json!({"schema": "olm.package", "name": "one", "defaultChannel": "stable"}),
            json!({"schema": "olm.channel", "package": "one", "name": "stable", "entries": [
                {"name": "one.v1.0.0"},
                {"name": "one.v1.1.0", "replaces": "one.v1.0.0"},
                {"name": "one.v1.1.5"},
                {"name": "one.v1.2.0", "replaces": "one.v1.1.0", "skips": ["one.v1.1.5"]},
                {"name": "one.v1.3.0-rc.1", "replaces": "one.v1.2.0"},
                {"name": "one.v1.3.0", "replaces": "one.v1.3.0-rc.1", "skipRange": "<1.3.0"},
            ]}),
            json!({"schema": "olm.channel", "package": "one", "name": "fast", "entries": [
                {"name": "one.v1.3.0"},
                {"name": "one.v2.0.0", "replaces": "one.v1.3.0"},
            ]}),
            bundle("one", "1.0.0", json!([])),
            bundle("one", "1.1.0", json!([])),
            bundle("one", "1.1.5", json!([])),
            bundle("one", "1.2.0", json!([])),
            bundle("one", "1.3.0-rc.1", json!([])),
            bundle("one", "1.3.0", json!([])),
            bundle(
                "one",
                "2.0.0",
                json!([
                    {"type": "olm.package.required", "value": {"packageName": "two", "versionRange": ">=1.0.0 <1.2.0"}},
                    {"type": "olm.gvk.required", "value": thing},
                ]),
            ),
            json!({"schema": "olm.deprecations", "package": "one", "entries": [
                {"reference": {"schema": "olm.bundle", "name": "one.v1.0.0"}, "message": "old"},
                {"reference": {"schema": "olm.channel", "name": "fast"}, "message": "use stable"},
                {"reference": {"schema": "olm.package"}, "message": "the whole package"},
            ]}),
            json!({"schema": "olm.package", "name": "two", "defaultChannel": "stable"}),
            json!({"schema": "olm.channel", "package": "two", "name": "stable", "entries": [
                {"name": "two.v1.0.0"},
                {"name": "two.v1.1.0", "replaces": "two.v1.0.0"},
                {"name": "two.v1.2.0", "replaces": "two.v1.1.0"},
            ]}),
            bundle("two", "1.0.0", json!([])),
            bundle("two", "1.1.0", json!([])),
            bundle("two", "1.2.0", json!([])),
            json!({"schema": "olm.package", "name": "three", "defaultChannel": "alpha"}),
            json!({"schema": "olm.channel", "package": "three", "name": "alpha", "entries": [
                {"name": "three.v0.1.0"},
                {"name": "three.v0.2.0", "replaces": "three.v0.1.0"},
            ]}),
            bundle(
                "three",
                "0.1.0",
                json!([{"type": "olm.gvk", "value": thing}]),
            ),
            bundle(
                "three",
                "0.2.0",
                json!([{"type": "olm.gvk", "value": thing}]),
            ),
            json!({"schema": "example.other", "package": "two", "data": 1}),
            json!({"schema": "example.global", "data": 2}),
        ];
        docs.iter()
            .map(|d| serde_json::to_string_pretty(d).unwrap() + "\n")
            .collect()
    }

    pub(crate) fn test_catalog() -> Catalog {
        let mut catalog = Catalog::new();
        catalog
            .add_file("catalog.json", test_catalog_text().as_bytes(), Format::Json)
            .unwrap();
        catalog
    }

    fn op(packages: serde_json::Value) -> Operator {
        serde_json::from_value(json!({"catalog": "example.com/index:v1", "packages": packages}))
            .unwrap()
    }

    fn run(operator: &Operator, api: ApiVersion) -> Result<Selection, Error> {
        select(&test_catalog(), operator, api)
    }

    fn ok(operator: &Operator) -> Selection {
        run(operator, ApiVersion::V2alpha1).unwrap()
    }

    fn bundles(s: &Selection, package: &str) -> Vec<(String, Reason)> {
        s.packages[package]
            .bundles
            .iter()
            .map(|(b, r)| (b.clone(), r.clone()))
            .collect()
    }

    fn names(s: &Selection, package: &str) -> Vec<String> {
        s.packages[package].bundles.keys().cloned().collect()
    }

    fn err(operator: &Operator, api: ApiVersion) -> String {
        run(operator, api).unwrap_err().0
    }

    #[test]
    fn no_packages_keeps_the_head_of_every_channel() {
        let s = ok(&op(json!([])));
        assert!(!s.whole_catalog);
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.3.0".to_string(), Reason::Head),
                ("one.v2.0.0".to_string(), Reason::Head)
            ]
        );
        assert_eq!(names(&s, "two"), ["two.v1.2.0"]);
        assert_eq!(names(&s, "three"), ["three.v0.2.0"]);
        let one = &s.packages["one"];
        assert_eq!(one.default_channel.as_deref(), Some("stable"));
        assert_eq!(
            one.channels["stable"],
            BTreeSet::from(["one.v1.3.0".to_string()])
        );
        assert_eq!(
            one.channels["fast"],
            BTreeSet::from(["one.v2.0.0".to_string()])
        );
        // one.v2.0.0 needs two <1.2.0, which the head of two is not.
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(
            s.warnings[0]
                .contains("bundle \"one.v2.0.0\" requires package \"two\" (>=1.0.0 <1.2.0)")
        );
    }

    #[test]
    fn a_package_without_channels_keeps_each_channel_head() {
        let s = ok(&op(json!([{"name": "one"}])));
        assert_eq!(names(&s, "one"), ["one.v1.3.0", "one.v2.0.0"]);
        assert_eq!(s.packages.len(), 1);
    }

    #[test]
    fn listed_channels_keep_their_heads_and_drop_the_others() {
        let s = ok(&op(
            json!([{"name": "one", "channels": [{"name": "stable"}]}]),
        ));
        assert_eq!(names(&s, "one"), ["one.v1.3.0"]);
        assert_eq!(
            s.packages["one"].channels.keys().collect::<Vec<_>>(),
            ["stable"]
        );
    }

    #[test]
    fn default_channel_rules() {
        let fast = op(json!([{"name": "one", "channels": [{"name": "fast"}]}]));
        let e = err(&fast, ApiVersion::V2alpha1);
        assert_eq!(
            e,
            "catalog example.com/index:v1: package \"one\": the default channel \"stable\" was filtered out, a new default channel must be configured for this package"
        );
        // v1: the surviving channel becomes the default.
        let s = run(&fast, ApiVersion::V1alpha2).unwrap();
        assert_eq!(s.packages["one"].default_channel.as_deref(), Some("fast"));
        // The override.
        let s = ok(&op(
            json!([{"name": "one", "defaultChannel": "fast", "channels": [{"name": "fast"}]}]),
        ));
        assert_eq!(s.packages["one"].default_channel.as_deref(), Some("fast"));
        let e = err(
            &op(
                json!([{"name": "one", "defaultChannel": "stable", "channels": [{"name": "fast"}]}]),
            ),
            ApiVersion::V2alpha1,
        );
        assert!(e.contains("package \"one\": the default channel override \"stable\" is not among the kept channels"), "{e}");
    }

    #[test]
    fn a_range_walks_the_replaces_chain() {
        let s = ok(&op(
            json!([{"name": "one", "minVersion": "1.1.0", "maxVersion": "1.2.0"}]),
        ));
        // 1.2.0 is the lowest node with every in-range bundle below it; the
        // skipped 1.1.5 is in range; `fast` has nothing in range and goes.
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.1.0".to_string(), Reason::InRange),
                ("one.v1.1.5".to_string(), Reason::InRange),
                ("one.v1.2.0".to_string(), Reason::InRange),
            ]
        );
        assert_eq!(
            s.packages["one"].channels.keys().collect::<Vec<_>>(),
            ["stable"]
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn out_of_range_bundles_connect_the_chain_with_a_warning() {
        let s = ok(&op(json!([{"name": "one", "channels": [
            {"name": "stable", "minVersion": "1.2.0", "maxVersion": "1.3.0"}
        ]}])));
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.2.0".to_string(), Reason::InRange),
                ("one.v1.3.0".to_string(), Reason::InRange),
                ("one.v1.3.0-rc.1".to_string(), Reason::ConnectsChain),
            ]
        );
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].starts_with("catalog example.com/index:v1: package \"one\" channel \"stable\": including bundle \"one.v1.3.0-rc.1\" with version 1.3.0-rc.1: it falls outside the range \">=1.2.0 <=1.3.0\""), "{}", s.warnings[0]);
        // Only minVersion: up to the head.
        let s = ok(&op(
            json!([{"name": "one", "channels": [{"name": "stable", "minVersion": "1.3.0"}]}]),
        ));
        assert_eq!(names(&s, "one"), ["one.v1.3.0"]);
        // Only maxVersion: the head moves down.
        let s = ok(&op(
            json!([{"name": "one", "channels": [{"name": "stable", "maxVersion": "1.1.0"}]}]),
        ));
        assert_eq!(names(&s, "one"), ["one.v1.0.0", "one.v1.1.0"]);
    }

    #[test]
    fn a_prerelease_matches_only_a_range_that_names_one() {
        let s = ok(&op(json!([{"name": "one", "channels": [
            {"name": "stable", "minVersion": "1.3.0-0", "maxVersion": "1.3.0"}
        ]}])));
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.3.0".to_string(), Reason::InRange),
                ("one.v1.3.0-rc.1".to_string(), Reason::InRange),
            ]
        );
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn equal_bounds_keep_exactly_that_bundle() {
        let s = ok(&op(json!([{"name": "one", "channels": [
            {"name": "stable", "minVersion": "1.1.0", "maxVersion": "1.1.0"}
        ]}])));
        assert_eq!(
            bundles(&s, "one"),
            [("one.v1.1.0".to_string(), Reason::InRange)]
        );
        // Build metadata is ignored.
        let s = ok(&op(json!([{"name": "one", "channels": [
            {"name": "stable", "minVersion": "1.3.0-rc.1+b.1", "maxVersion": "1.3.0-rc.1"}
        ]}])));
        assert_eq!(names(&s, "one"), ["one.v1.3.0-rc.1"]);
    }

    #[test]
    fn full_keeps_every_entry_of_the_kept_channels() {
        let mut o =
            op(json!([{"name": "one", "defaultChannel": "fast", "channels": [{"name": "fast"}]}]));
        o.full = true;
        let s = ok(&o);
        assert!(!s.whole_catalog);
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.3.0".to_string(), Reason::Full),
                ("one.v2.0.0".to_string(), Reason::Full)
            ]
        );
        // Without packages: the whole catalog, not rebuilt.
        let mut o = op(json!([]));
        o.full = true;
        let s = ok(&o);
        assert!(s.whole_catalog);
        assert_eq!(s.packages["one"].bundles.len(), 7);
        assert_eq!(s.packages["two"].bundles.len(), 3);
    }

    #[test]
    fn configuration_errors_name_catalog_package_and_channel() {
        let at = "catalog example.com/index:v1: package \"one\"";
        let mut full = op(json!([{"name": "one", "minVersion": "1.0.0"}]));
        full.full = true;
        assert_eq!(
            err(&full, ApiVersion::V2alpha1),
            format!("{at} channel \"fast\": full: true cannot be mixed with a version range")
        );
        let cases = [
            (
                json!([{"name": "one", "minVersion": "1.0.0", "channels": [{"name": "stable", "maxVersion": "2.0.0"}]}]),
                format!(
                    "{at} channel \"stable\": a version range on the package cannot be mixed with one on its channels"
                ),
            ),
            (
                json!([{"name": "one"}, {"name": "one"}]),
                format!("{at}: listed twice"),
            ),
            (
                json!([{"name": "one", "channels": [{"name": "stable"}, {"name": "stable"}]}]),
                format!("{at} channel \"stable\": listed twice"),
            ),
            (
                json!([{"name": "one", "minVersion": "latest"}]),
                format!("{at}: minVersion \"latest\" is not a semantic version"),
            ),
            (
                json!([{"name": "one", "channels": [{"name": "stable", "maxVersion": "x"}]}]),
                format!("{at} channel \"stable\": maxVersion \"x\" is not a semantic version"),
            ),
            (
                json!([{"name": "one", "minVersion": "2.0.0", "maxVersion": "1.0.0"}]),
                format!("{at}: minVersion 2.0.0 is above maxVersion 1.0.0"),
            ),
            (
                json!([{"name": "nine"}]),
                "catalog example.com/index:v1: package \"nine\": not found in the catalog"
                    .to_string(),
            ),
            (
                json!([{"name": "one", "channels": [{"name": "beta"}]}]),
                format!("{at} channel \"beta\": not found in the package"),
            ),
            (
                json!([{"name": "one", "minVersion": "3.0.0"}]),
                format!(
                    "{at} channel \"stable\": the version range \">=3.0.0\" leaves the default channel empty"
                ),
            ),
        ];
        for (packages, want) in cases {
            assert_eq!(err(&op(packages), ApiVersion::V2alpha1), want);
        }
    }

    #[test]
    fn v1alpha2_adds_dependencies() {
        let o =
            op(json!([{"name": "one", "defaultChannel": "fast", "channels": [{"name": "fast"}]}]));
        let s = run(&o, ApiVersion::V1alpha2).unwrap();
        let dep = Reason::Dependency {
            required_by: "one.v2.0.0".into(),
        };
        // The newest two in range is 1.1.0, kept with the chain up to its head.
        assert_eq!(
            bundles(&s, "two"),
            [
                ("two.v1.1.0".to_string(), dep.clone()),
                ("two.v1.2.0".to_string(), dep.clone())
            ]
        );
        assert_eq!(s.packages["two"].default_channel.as_deref(), Some("stable"));
        assert_eq!(s.packages["two"].channels["stable"].len(), 2);
        // The API comes from the newest bundle that provides it.
        assert_eq!(bundles(&s, "three"), [("three.v0.2.0".to_string(), dep)]);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        let mut skip = o.clone();
        skip.skip_dependencies = true;
        let s = run(&skip, ApiVersion::V1alpha2).unwrap();
        assert_eq!(s.packages.keys().collect::<Vec<_>>(), ["one"]);

        // v2alpha1 resolves nothing and says what is missing.
        let s = run(&o, ApiVersion::V2alpha1).unwrap();
        assert_eq!(s.packages.keys().collect::<Vec<_>>(), ["one"]);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(
            s.warnings[1].contains("bundle \"one.v2.0.0\" requires API example.com/v1, Kind=Thing")
        );
    }

    #[test]
    fn v1alpha2_adds_the_newest_provider_even_when_a_kept_bundle_meets_the_need() {
        // `lib`'s newest bundle is in both channels; the default one has only
        // it. `app` needs an old `lib` (only in `beta`) and an API every `lib`
        // bundle provides.
        let api = json!({"group": "lib.example.com", "version": "v1", "kind": "Lib"});
        let docs = [
            json!({"schema": "olm.package", "name": "lib", "defaultChannel": "ga"}),
            json!({"schema": "olm.channel", "package": "lib", "name": "beta", "entries": [
                {"name": "lib.v0.9.0"},
                {"name": "lib.v1.0.0", "replaces": "lib.v0.9.0"},
            ]}),
            json!({"schema": "olm.channel", "package": "lib", "name": "ga", "entries": [
                {"name": "lib.v1.0.0"},
            ]}),
            bundle("lib", "0.9.0", json!([{"type": "olm.gvk", "value": api}])),
            bundle("lib", "1.0.0", json!([{"type": "olm.gvk", "value": api}])),
            json!({"schema": "olm.package", "name": "app", "defaultChannel": "stable"}),
            json!({"schema": "olm.channel", "package": "app", "name": "stable", "entries": [
                {"name": "app.v3.0.0"},
            ]}),
            bundle(
                "app",
                "3.0.0",
                json!([
                    {"type": "olm.package.required", "value": {"packageName": "lib", "versionRange": "<1.0.0"}},
                    {"type": "olm.gvk.required", "value": api},
                ]),
            ),
        ];
        let text: String = docs.iter().map(|d| d.to_string() + "\n").collect();
        let mut catalog = Catalog::new();
        catalog
            .add_file("c.json", text.as_bytes(), Format::Json)
            .unwrap();
        let s = select(
            &catalog,
            &op(json!([{"name": "app"}])),
            ApiVersion::V1alpha2,
        )
        .unwrap();
        let lib = &s.packages["lib"];
        // The range brings the `beta` chain; the API its newest provider, in
        // the default channel, which stays the default.
        assert_eq!(lib.channels.keys().collect::<Vec<_>>(), ["beta", "ga"]);
        assert_eq!(lib.channels["beta"].len(), 2);
        assert_eq!(lib.default_channel.as_deref(), Some("ga"));
        assert_eq!(lib.bundles.len(), 2);
        // A default channel the configuration sets is left alone.
        let pinned = op(json!([
            {"name": "app"},
            {"name": "lib", "defaultChannel": "beta", "channels": [{"name": "beta", "minVersion": "0.9.0", "maxVersion": "0.9.0"}]},
        ]));
        let s = select(&catalog, &pinned, ApiVersion::V1alpha2).unwrap();
        assert_eq!(s.packages["lib"].default_channel.as_deref(), Some("beta"));
        assert_eq!(
            s.packages["lib"].channels.keys().collect::<Vec<_>>(),
            ["beta", "ga"]
        );
    }

    #[test]
    fn broken_channels_are_errors() {
        let channel = |entries: serde_json::Value| {
            let mut catalog = Catalog::new();
            let text = format!(
                "{}\n{}",
                json!({"schema": "olm.package", "name": "p", "defaultChannel": "c"}),
                json!({"schema": "olm.channel", "package": "p", "name": "c", "entries": entries})
            );
            catalog
                .add_file("x.json", text.as_bytes(), Format::Json)
                .unwrap();
            select(&catalog, &op(json!([])), ApiVersion::V2alpha1)
                .unwrap_err()
                .0
        };
        assert!(
            channel(json!([{"name": "a"}, {"name": "b"}]))
                .ends_with("multiple channel heads found: [\"a\", \"b\"]")
        );
        assert!(channel(json!([{"name": "h", "replaces": "a"}, {"name": "a", "replaces": "b"}, {"name": "b", "replaces": "a"}])).ends_with("detected a cycle in the upgrade graph of the channel"));
        assert!(
            channel(json!([{"name": "a", "replaces": "b"}, {"name": "b", "replaces": "a"}]))
                .ends_with("no channel heads found")
        );
        assert!(
            channel(json!([])).contains("package \"p\" channel \"c\": the channel has no entries")
        );
    }

    fn earlier(package: &str, names: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        BTreeMap::from([(
            package.to_string(),
            names.iter().map(|n| n.to_string()).collect(),
        )])
    }

    #[test]
    fn earlier_bundles_stay_joined_to_the_new_head() {
        let catalog = test_catalog();
        // Heads only: the stable head is 1.3.0; 1.1.0 was mirrored before.
        let mut s = select(
            &catalog,
            &op(json!([{"name": "one", "channels": [{"name": "stable"}]}])),
            ApiVersion::V2alpha1,
        )
        .unwrap();
        keep_earlier(
            &catalog,
            &mut s,
            &earlier("one", &["one.v1.1.0", "one.v9.9.9"]),
        );
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.1.0".into(), Reason::Earlier),
                ("one.v1.2.0".into(), Reason::ConnectsChain),
                ("one.v1.3.0".into(), Reason::Head),
                ("one.v1.3.0-rc.1".into(), Reason::ConnectsChain),
            ],
            "the chain from the new head down to the old bundle; a bundle the catalog lost stays out"
        );
        let stable = &catalog.packages["one"].channels["stable"];
        assert_eq!(
            filtered_head(stable, &s.packages["one"].channels["stable"]).as_deref(),
            Some("one.v1.3.0")
        );
        // Kept below an old bundle that a chain node skips: that node joins
        // them, and is the head.
        let mut s = select(
            &catalog,
            &op(json!([{"name": "one", "channels": [{"name": "stable", "maxVersion": "1.1.0"}]}])),
            ApiVersion::V2alpha1,
        )
        .unwrap();
        keep_earlier(&catalog, &mut s, &earlier("one", &["one.v1.1.5"]));
        assert_eq!(
            bundles(&s, "one"),
            [
                ("one.v1.0.0".into(), Reason::InRange),
                ("one.v1.1.0".into(), Reason::InRange),
                ("one.v1.1.5".into(), Reason::Earlier),
                ("one.v1.2.0".into(), Reason::ConnectsChain),
            ]
        );
        assert_eq!(
            filtered_head(stable, &s.packages["one"].channels["stable"]).as_deref(),
            Some("one.v1.2.0")
        );
        // Packages and channels no longer selected are not brought back.
        let mut s = ok(&op(json!([{"name": "two"}])));
        keep_earlier(&catalog, &mut s, &earlier("one", &["one.v1.1.0"]));
        assert!(!s.packages.contains_key("one"));
        let mut s = ok(&op(
            json!([{"name": "one", "defaultChannel": "fast", "channels": [{"name": "fast"}]}]),
        ));
        keep_earlier(&catalog, &mut s, &earlier("one", &["one.v1.1.0"]));
        assert_eq!(bundles(&s, "one"), [("one.v2.0.0".into(), Reason::Head)]);
    }

    #[test]
    fn min_bundle_keeps_the_chain_from_the_head_down_to_it() {
        let v1 = |o: &Operator| run(o, ApiVersion::V1alpha2);
        let s = v1(&op(
            json!([{"name": "one", "channels": [{"name": "stable", "minBundle": "one.v1.1.0"}]}]),
        ))
        .unwrap();
        assert_eq!(
            s.packages["one"].channels["stable"],
            ["one.v1.1.0", "one.v1.2.0", "one.v1.3.0", "one.v1.3.0-rc.1"]
                .iter()
                .map(|n| n.to_string())
                .collect::<BTreeSet<_>>()
        );
        // On the package: in each channel that has it; the others keep their head.
        let s = v1(&op(json!([{"name": "one", "minBundle": "one.v1.3.0"}]))).unwrap();
        assert_eq!(s.packages["one"].channels["stable"].len(), 1);
        assert!(s.packages["one"].channels["fast"].contains("one.v1.3.0"));
        assert!(s.packages["one"].channels["fast"].contains("one.v2.0.0"));
        // A channel's minBundle must be one of its entries; no ranges beside it.
        let e = v1(&op(
            json!([{"name": "one", "channels": [{"name": "fast", "minBundle": "one.v1.1.0"}]}]),
        ))
        .unwrap_err();
        assert_eq!(
            e.0,
            "catalog example.com/index:v1: package \"one\" channel \"fast\": minBundle \"one.v1.1.0\" is not an entry of the channel"
        );
        let e = v1(&op(
            json!([{"name": "one", "minBundle": "one.v1.1.0", "minVersion": "1.0.0"}]),
        ))
        .unwrap_err();
        assert!(e.0.ends_with("minBundle cannot be mixed with minVersion or maxVersion"));
    }
}
