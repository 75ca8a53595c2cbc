//! `oc-mirror plan -c isc.yaml [--workspace file://DIR]`: what a
//! configuration selects, and why, before anything is downloaded.
//!
//! The content sources run exactly as in a mirror run (same plugins, same
//! configuration, same `blockedImages`), asked to explain instead of build
//! ([`crate::sources::Sources::plan`]): per operator catalog, the packages,
//! channels and bundles kept and why; per release channel, the versions
//! chosen from the update graph (the payloads are read only to list their
//! images). With a workspace, the plugins continue from its last state, so
//! a bundle kept from an earlier sequence shows as such. Nothing is
//! written, not even a workspace.

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
    let states = match workspace {
        Some(dir) => last_states(dir).await?,
        None => Default::default(),
    };
    Ok(PlanReport {
        sections: sources.plan(isc, &states, images).await?,
    })
}

/// The plugins' state after the workspace's last run: mirror to mirror
/// keeps it in `working-dir/plugin-state.json`, mirror to disk in the
/// latest sequence's metadata.
async fn last_states(
    dir: &Path,
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
    let backend = LocalBackend::new(crate::workspace::metadata_dir(dir));
    Ok(backend
        .history()
        .await?
        .map(|h| h.latest().plugin_state.clone())
        .unwrap_or_default())
}
