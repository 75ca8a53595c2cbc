//! `oc-mirror plan`: what a configuration keeps of each catalog, and why,
//! from the same selection a real run makes (nothing is built or copied).
//!
//! The plan is a `plan.json` attachment: per catalog, its digest and place
//! in the mirror, whether it is rebuilt, each kept package with its default
//! channel, each kept channel with its head and bundles (name, version, why
//! kept: the channel head, in the version range, connecting the upgrade
//! chain, a full channel, a dependency, kept from an earlier sequence), the
//! images, and the warnings.

use std::collections::BTreeMap;

use oc_mirror_plugin_sdk::{Attachment, Error};
use serde::Serialize;

use crate::CatalogConfig;
use crate::catalog_image::CatalogImage;
use crate::fbc::Catalog;
use crate::select::{self, Selection};
use crate::version;

/// The media type of the plan attachment.
pub const MEDIA_TYPE: &str = "application/vnd.oc-mirror.plan+json";

/// The plan of every catalog of the configuration.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub catalogs: Vec<CatalogPlan>,
}

/// What is kept of one catalog.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPlan {
    /// As configured.
    pub catalog: String,
    /// The source catalog's digest.
    pub digest: String,
    /// Its place in the mirror, relative to the prefix.
    pub destination: String,
    /// Rebuilt with the filtered FBC (false: mirrored whole).
    pub rebuilt: bool,
    pub packages: Vec<PackagePlan>,
    /// Every bundle and related image, sorted.
    pub images: Vec<String>,
    pub warnings: Vec<String>,
}

/// A kept package.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackagePlan {
    pub name: String,
    pub default_channel: Option<String>,
    pub channels: Vec<ChannelPlan>,
}

/// A kept channel.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPlan {
    pub name: String,
    /// Its head once filtered.
    pub head: Option<String>,
    /// Newest first.
    pub bundles: Vec<BundlePlan>,
}

/// A kept bundle.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundlePlan {
    pub name: String,
    pub version: Option<String>,
    /// Why it is kept, in words.
    pub reason: String,
}

impl CatalogPlan {
    /// The plan of one catalog.
    pub fn new(
        entry: &CatalogConfig,
        image: &CatalogImage,
        destination: &str,
        catalog: &Catalog,
        selection: &Selection,
        images: &BTreeMap<String, Vec<String>>,
    ) -> CatalogPlan {
        let mut packages = Vec::new();
        for (name, kept) in &selection.packages {
            let Some(package) = catalog.packages.get(name) else {
                continue;
            };
            let mut channels = Vec::new();
            for (channel_name, entries) in &kept.channels {
                let head = package
                    .channels
                    .get(channel_name)
                    .and_then(|c| select::filtered_head(c, entries));
                let mut bundles: Vec<BundlePlan> = entries
                    .iter()
                    .filter_map(|b| {
                        let reason = kept.bundles.get(b)?;
                        Some(BundlePlan {
                            name: b.clone(),
                            version: package.bundles.get(b).and_then(|x| x.version.clone()),
                            reason: reason.to_string(),
                        })
                    })
                    .collect();
                bundles.sort_by(newest_first);
                channels.push(ChannelPlan {
                    name: channel_name.clone(),
                    head,
                    bundles,
                });
            }
            packages.push(PackagePlan {
                name: name.clone(),
                default_channel: kept.default_channel.clone(),
                channels,
            });
        }
        CatalogPlan {
            catalog: entry.filter.catalog.clone(),
            digest: image.digest.clone(),
            destination: destination.to_string(),
            rebuilt: !selection.whole_catalog,
            packages,
            images: images.keys().cloned().collect(),
            warnings: selection.warnings.clone(),
        }
    }
}

/// Newest version first; unversioned last; then by name.
fn newest_first(a: &BundlePlan, b: &BundlePlan) -> std::cmp::Ordering {
    let v = |p: &BundlePlan| p.version.as_deref().and_then(version::parse);
    match (v(a), v(b)) {
        (Some(x), Some(y)) => version::cmp(&y, &x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
    .then_with(|| a.name.cmp(&b.name))
}

impl Plan {
    /// Adds a catalog's plan.
    pub fn add(&mut self, catalog: CatalogPlan) {
        self.catalogs.push(catalog);
    }

    /// The plan as the `plan.json` attachment.
    pub fn attachment(&self) -> Result<Attachment, Error> {
        Ok(Attachment {
            name: "plan.json".into(),
            media_type: MEDIA_TYPE.into(),
            data: serde_json::to_vec(self).map_err(|e| Error::Other(e.to_string()))?,
        })
    }
}
