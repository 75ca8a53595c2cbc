//! `oc-mirror plan -c isc.yaml [--workspace file://DIR]`: what a
//! configuration selects, and why, before anything is downloaded.
//!
//! The content sources run exactly as in a mirror run (same plugins, same
//! configuration, same `blockedImages`), asked to explain instead of build
//! ([`crate::sources::Sources::plan`]): per operator catalog, the packages,
//! channels and bundles kept and why; per release channel, the versions
//! chosen from the update graph (the payloads are read only to list their
//! images). With a workspace, the plugins continue from its last state, so
//! a bundle kept from an earlier sequence shows as such, and the images
//! earlier sequences brought that the configuration no longer selects are
//! listed (what `--prune` would delete). Nothing is written, not even a
//! workspace.

use std::path::Path;

use anyhow::Context as _;
use tracing::warn;

use super::Context;
use crate::backend::{Backend, LocalBackend};
use crate::config::ImageSetConfiguration;
use crate::plugin::PluginHost;
use crate::sources::{SectionPlan, Sources};

/// What `plan` found, section by section.
#[derive(Debug, serde::Serialize)]
pub struct PlanReport {
    pub sections: Vec<SectionPlan>,
    /// With a workspace: the destinations (`path:tag`) of the images earlier
    /// sequences brought that this configuration no longer selects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unselected: Vec<String>,
}

/// Runs the plan: `workspace` (a mirror-to-mirror workspace or a
/// mirror-to-disk directory) supplies the plugins' last state; `images`
/// lists every image, reading release payloads.
pub async fn plan(
    ctx: &Context,
    isc: &ImageSetConfiguration,
    workspace: Option<&Path>,
    images: bool,
) -> anyhow::Result<PlanReport> {
    let host = std::sync::Arc::new(PluginHost::new(ctx.settings.plugins.clone())?);
    let source = ctx.source_client();
    let configured = crate::plugin::configured::load(&host, Some(&source), &isc.plugins).await?;
    let sources = Sources::load(
        host,
        Some(source),
        ctx.settings.release.clone(),
        configured
            .into_iter()
            .filter(crate::plugin::configured::Configured::is_content_source)
            .collect(),
    )
    .await?;
    let history = match workspace {
        Some(dir) => {
            LocalBackend::new(crate::workspace::metadata_dir(dir))
                .history()
                .await?
        }
        None => None,
    };
    let states = match workspace {
        Some(dir) => last_states(dir, history.as_ref())?,
        None => Default::default(),
    };
    let sections = sources.plan(isc, &states, images).await?;
    let unselected = history
        .map(|h| unselected(&h.held(h.latest().sequence), &sections, images))
        .unwrap_or_default();
    Ok(PlanReport {
        sections,
        unselected,
    })
}

/// The held images the plan no longer selects. An image is judged by its
/// source against its section's images where the plan lists them all;
/// images built or assembled by the host (catalogs, the graph image, chart
/// artifacts) and releases without `--images` only by whether their section
/// is still configured.
fn unselected(
    held: &std::collections::BTreeMap<String, crate::metadata::ImageRecord>,
    sections: &[SectionPlan],
    images: bool,
) -> Vec<String> {
    let listed: std::collections::HashSet<String> = sections
        .iter()
        .flat_map(|s| &s.images)
        .map(|i| crate::reference::parse(i).map_or_else(|_| i.clone(), |r| r.whole()))
        .collect();
    held.values()
        .filter(|r| {
            let Some(section) = sections.iter().find(|s| s.key == r.origin) else {
                return true;
            };
            use crate::copy::ImageKind;
            let built = matches!(
                ImageKind::from_name(&r.kind),
                ImageKind::OperatorCatalog | ImageKind::GraphImage
            ) || r.source.starts_with(crate::image_build::ARTIFACT_SOURCE);
            let complete = images || section.key != "platform";
            !built && complete && !listed.contains(&r.source)
        })
        .map(|r| r.destination.clone())
        .collect()
}

/// The plugins' state after the workspace's last run: mirror to mirror
/// keeps it in `working-dir/plugin-state.json`, mirror to disk in the
/// latest sequence's metadata.
fn last_states(
    dir: &Path,
    history: Option<&crate::metadata::History>,
) -> anyhow::Result<std::collections::BTreeMap<String, serde_json::Value>> {
    let working = dir.join("working-dir");
    let file = working.join(super::mirror::PLUGIN_STATE_FILE);
    if file.exists() {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        return Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            warn!("{} is unreadable and is ignored: {e}", file.display());
            Default::default()
        }));
    }
    Ok(history
        .map(|h| h.latest().plugin_state.clone())
        .unwrap_or_default())
}
