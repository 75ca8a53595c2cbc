//! Which releases of a channel to mirror, as oc-mirror decides it.
//!
//! - No `minVersion`, no `maxVersion`, not `full`: the channel's head only; on
//!   a later run, every release from the head mirrored last time up to the new
//!   one (the plugin's state remembers the head), so the mirror keeps an
//!   upgrade path.
//! - A range: every release in it, or with `shortestPath` only the releases on
//!   the shortest chain of updates from its lowest to its highest.
//! - `full`: the whole channel (a missing bound is the channel's oldest or newest).

use oc_mirror_plugin_sdk::Error;
use oc_mirror_plugin_sdk::semver::Version;

use crate::graph::{Graph, Node};

/// One `platform.channels[]` entry, its versions parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub min: Option<Version>,
    pub max: Option<Version>,
    pub shortest_path: bool,
    pub full: bool,
}

impl ChannelSpec {
    /// Only the channel's head is wanted.
    pub fn heads_only(&self) -> bool {
        !self.full && self.min.is_none() && self.max.is_none()
    }
}

/// What was chosen in one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The releases, oldest first.
    pub releases: Vec<Node>,
    /// The lowest and highest version the choice spans.
    pub min: Version,
    pub max: Version,
}

/// Chooses the releases of `spec` in its channel's `graph`. `previous_head` is
/// the head mirrored by the last run (heads-only channels); `label` names the
/// channel and architecture in errors.
pub fn choose(
    graph: &Graph,
    spec: &ChannelSpec,
    previous_head: Option<&Version>,
    label: &str,
) -> Result<Choice, Error> {
    let (Some(oldest), Some(newest)) = (graph.oldest(), graph.newest()) else {
        return Err(Error::NotFound(format!(
            "channel {label} has no releases\nhint: check the channel's name (e.g. `stable-4.16`) and the architecture"
        )));
    };
    let max = spec.max.clone().unwrap_or_else(|| newest.version.clone());
    let min = match (&spec.min, previous_head) {
        (Some(min), _) => min.clone(),
        (None, Some(head)) if spec.heads_only() && head <= &max && graph.find(head).is_some() => {
            head.clone()
        }
        (None, _) if spec.heads_only() => max.clone(),
        (None, _) => oldest.version.clone(),
    };
    if min > max {
        return Err(Error::InvalidConfig(format!(
            "channel {label}: minVersion {min} is above maxVersion {max}"
        )));
    }
    let releases: Vec<Node> = if spec.shortest_path && min != max {
        let at = |v: &Version| {
            graph.find(v).ok_or_else(|| {
                Error::NotFound(format!(
                    "{v} is not a release of channel {label}, so no upgrade path can start or end there\nhint: pick versions the channel lists (`oc-mirror list releases --channel`)"
                ))
            })
        };
        let (from, to) = (at(&min)?, at(&max)?);
        let path = graph.shortest_path(from, to).ok_or_else(|| {
            Error::NotFound(format!(
                "channel {label} has no upgrade path from {min} to {max}"
            ))
        })?;
        path.into_iter().map(|i| graph.nodes[i].clone()).collect()
    } else {
        graph.in_range(&min, &max).into_iter().cloned().collect()
    };
    if releases.is_empty() {
        return Err(Error::NotFound(format!(
            "channel {label} has no release between {min} and {max}"
        )));
    }
    Ok(Choice { releases, min, max })
}

/// The channel `prefix-major.minor` of the same kind as `channel` for another
/// minor (`stable-4.14` → `stable-4.15`), or `None` if `channel` is not named so.
pub fn sibling_channel(channel: &str, minor: u64) -> Option<String> {
    let (prefix, version) = channel.rsplit_once('-')?;
    let (major, _) = version.split_once('.')?;
    major.parse::<u64>().ok()?;
    Some(format!("{prefix}-{major}.{minor}"))
}

/// `(major, minor)` of a channel named `prefix-major.minor`.
pub fn channel_minor(channel: &str) -> Option<(u64, u64)> {
    let (_, version) = channel.rsplit_once('-')?;
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn graph() -> Graph {
        Graph::parse(
            br#"{"nodes":[
                {"version":"4.14.1","payload":"p1"},{"version":"4.14.2","payload":"p2"},
                {"version":"4.14.3","payload":"p3"},{"version":"4.15.0","payload":"p4"},
                {"version":"4.15.1","payload":"p5"}],
              "edges":[[0,1],[1,2],[0,2],[2,3],[1,3],[3,4]]}"#,
            "test",
        )
        .unwrap()
    }

    fn spec(min: Option<&str>, max: Option<&str>, shortest: bool, full: bool) -> ChannelSpec {
        ChannelSpec {
            name: "stable-4.15".into(),
            min: min.map(v),
            max: max.map(v),
            shortest_path: shortest,
            full,
        }
    }

    fn versions(c: &Choice) -> Vec<String> {
        c.releases.iter().map(|n| n.version.to_string()).collect()
    }

    #[test]
    fn heads_only_takes_the_newest_then_continues_from_it() {
        let g = graph();
        let s = spec(None, None, false, false);
        assert_eq!(versions(&choose(&g, &s, None, "c").unwrap()), ["4.15.1"]);
        let later = choose(&g, &s, Some(&v("4.14.2")), "c").unwrap();
        assert_eq!(versions(&later), ["4.14.2", "4.14.3", "4.15.0", "4.15.1"]);
        let s = spec(None, None, true, false);
        let later = choose(&g, &s, Some(&v("4.14.2")), "c").unwrap();
        assert_eq!(versions(&later), ["4.14.2", "4.15.0", "4.15.1"]);
        // A head the channel no longer lists is forgotten.
        let s = spec(None, None, false, false);
        assert_eq!(
            versions(&choose(&g, &s, Some(&v("4.13.9")), "c").unwrap()),
            ["4.15.1"]
        );
    }

    #[test]
    fn ranges_full_and_shortest_paths() {
        let g = graph();
        let all = choose(
            &g,
            &spec(Some("4.14.2"), Some("4.15.0"), false, false),
            None,
            "c",
        )
        .unwrap();
        assert_eq!(versions(&all), ["4.14.2", "4.14.3", "4.15.0"]);
        let full = choose(&g, &spec(None, None, false, true), None, "c").unwrap();
        assert_eq!(full.releases.len(), 5);
        let only_min = choose(&g, &spec(Some("4.15.0"), None, false, false), None, "c").unwrap();
        assert_eq!(versions(&only_min), ["4.15.0", "4.15.1"]);
        let path = choose(
            &g,
            &spec(Some("4.14.1"), Some("4.15.1"), true, false),
            None,
            "c",
        )
        .unwrap();
        assert_eq!(versions(&path), ["4.14.1", "4.14.3", "4.15.0", "4.15.1"]);
    }

    #[test]
    fn impossible_choices_say_why() {
        let g = graph();
        let e = choose(
            &g,
            &spec(Some("4.15.1"), Some("4.14.1"), false, false),
            None,
            "c",
        );
        assert!(matches!(e, Err(Error::InvalidConfig(m)) if m.contains("above")));
        let e = choose(
            &g,
            &spec(Some("4.14.0"), Some("4.15.1"), true, false),
            None,
            "c",
        );
        assert!(matches!(e, Err(Error::NotFound(m)) if m.contains("4.14.0 is not a release")));
        let e = choose(
            &g,
            &spec(Some("4.15.1"), Some("4.14.9"), false, false),
            None,
            "c",
        );
        assert!(e.is_err());
        let e = choose(
            &Graph::default(),
            &spec(None, None, false, false),
            None,
            "nope",
        );
        assert!(matches!(e, Err(Error::NotFound(m)) if m.contains("no releases")));
        let back = choose(
            &g,
            &spec(Some("4.15.1"), Some("4.15.1"), true, false),
            None,
            "c",
        )
        .unwrap();
        assert_eq!(versions(&back), ["4.15.1"]);
    }

    #[test]
    fn sibling_channels() {
        assert_eq!(
            sibling_channel("stable-4.14", 15).as_deref(),
            Some("stable-4.15")
        );
        assert_eq!(sibling_channel("eus-4.14", 16).as_deref(), Some("eus-4.16"));
        assert_eq!(sibling_channel("okd", 1), None);
        assert_eq!(channel_minor("fast-4.15"), Some((4, 15)));
    }
}
