//! What the plugin remembers between sequences: per catalog, the bundles it
//! kept, so that the next sequence's catalog still holds them (see
//! [`crate::select::keep_earlier`]).
//!
//! A catalog mirrored whole records nothing: nothing of it is filtered out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::CatalogConfig;
use crate::select::Selection;

/// The plugin's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// By [`key`].
    #[serde(default)]
    pub catalogs: BTreeMap<String, CatalogState>,
}

/// What was kept of one catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogState {
    /// The source catalog's digest when it was read.
    #[serde(default)]
    pub digest: String,
    /// Package → the bundles kept.
    #[serde(default)]
    pub packages: BTreeMap<String, BTreeSet<String>>,
}

/// A catalog's key: its reference as configured, and where it goes when a
/// target is set (the same catalog may be listed twice, to two places).
pub fn key(entry: &CatalogConfig) -> String {
    let path = entry
        .target_catalog
        .as_deref()
        .or(entry.target_name.as_deref());
    match (path, entry.target_tag.as_deref()) {
        (None, None) => entry.filter.catalog.clone(),
        (path, tag) => format!(
            "{} -> {}:{}",
            entry.filter.catalog,
            path.unwrap_or("-"),
            tag.unwrap_or("-")
        ),
    }
}

impl State {
    /// Records what `selection` keeps of the catalog `key` (read at `digest`).
    pub fn record(&mut self, key: String, digest: &str, selection: &Selection) {
        if selection.whole_catalog {
            return;
        }
        let packages = selection
            .packages
            .iter()
            .map(|(p, kept)| (p.clone(), kept.bundles.keys().cloned().collect()))
            .collect();
        self.catalogs.insert(
            key,
            CatalogState {
                digest: digest.to_string(),
                packages,
            },
        );
    }
}
