//! Mirror to mirror (`oc-mirror -c isc.yaml --workspace file://DIR docker://MIRROR`):
//! sources to the mirror in one step, through the workspace's blob cache.
//!
//! # Steps
//! 1. Load the plugins and ask the content sources for images, continuing
//!    from the plugins' state of the last successful run.
//! 2. Build the images the plugins asked for (the graph-data image, filtered
//!    catalogs), before anything is copied: a build that fails stops the run
//!    while it costs nothing. A dry run builds them too (into the workspace
//!    cache only), so its mapping lists them.
//! 3. Resolve and copy every image (or, with `--dry-run`, only resolve).
//! 4. Write `mapping.txt` and the cluster resources for what is in the mirror.
//! 5. Record the plugins' state and the run's metadata (what it mirrored, and
//!    what earlier runs mirrored that the configuration no longer selects),
//!    last, and only when every image is in, so that a failed run is retried
//!    from the same place; with `--prune`, delete the no longer selected
//!    images from the mirror ([`super::delete::prune`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use tracing::{info, warn};

use super::error::{FailedImage, ImageFailures};
use super::{Context, Outputs, load_plugins, mapping_line, mapping_text};
use crate::backend::{Backend, LocalBackend};
use crate::config::ImageSetConfiguration;
use crate::copy::CopyReport;
use crate::metadata::{History, ImageRecord, Metadata};
use crate::publishers::Publishers;
use crate::reference::MirrorTarget;
use crate::sources::{Blocked, Planned};
use crate::workspace::Workspace;

/// Where mirror to mirror keeps the plugins' state between runs (below
/// `working-dir`); imagesets carry it in their metadata instead.
pub(super) const PLUGIN_STATE_FILE: &str = "plugin-state.json";

/// What a mirror-to-mirror run did.
pub struct MirrorReport {
    pub copy: CopyReport,
    /// Images earlier runs mirrored that the configuration no longer selects.
    pub unselected: Vec<crate::metadata::ImageRecord>,
    /// What `--prune` did with them.
    pub pruned: Option<super::delete::RemovalReport>,
    pub outputs: Outputs,
    pub blocked: Vec<Blocked>,
    /// The images that could not be mirrored (the run then exits non-zero).
    pub failures: Option<ImageFailures>,
}

/// What a dry run found.
pub struct DryRunReport {
    pub images: usize,
    /// Bytes of every blob of every image.
    pub bytes: u64,
    /// Images not (fully) in the workspace cache, as mapping lines.
    pub missing: Vec<String>,
    pub mapping: PathBuf,
    pub missing_file: PathBuf,
    /// The images that cannot be resolved (the run then exits non-zero).
    pub failures: Option<ImageFailures>,
}

/// How a mirror-to-mirror run ended.
pub enum MirrorOutcome {
    Mirrored(MirrorReport),
    DryRun(DryRunReport),
}

/// Runs mirror to mirror.
pub async fn mirror_to_mirror(
    ctx: &Context,
    isc: &ImageSetConfiguration,
    workspace: &Path,
    target: &MirrorTarget,
) -> anyhow::Result<MirrorOutcome> {
    let ws = Workspace::open(workspace)?;
    info!(
        "workspace {} (uuid {})",
        ws.working_dir().display(),
        ws.uuid()
    );
    let (source, destination) = (ctx.source_client(), ctx.destination_client());
    // Step 1.
    let host = ctx.plugin_host(&ws)?;
    let (sources, configured_publishers) =
        load_plugins(ctx, host.clone(), source.clone(), &isc.plugins).await?;
    let states = match ws.read_file(PLUGIN_STATE_FILE)? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            warn!("{PLUGIN_STATE_FILE} is unreadable and is ignored: {e}");
            Default::default()
        }),
        None => Default::default(),
    };
    let Planned {
        plan,
        blocked,
        states,
        attachments,
        builds,
        artifacts,
        files,
        uses,
    } = sources.build_plan(isc, target, &states).await?;
    for b in &blocked {
        info!(
            "skipping `{}`: blocked by `blockedImages` pattern `{}`",
            b.image, b.pattern
        );
    }
    if plan.images.is_empty() && builds.is_empty() && artifacts.is_empty() {
        bail!("no images to copy: the configuration lists none (or all are blocked)");
    }
    let engine = ctx.engine(&ws, Some(source), destination)?;
    // Step 2 (a dry run too: what it would mirror includes what is built).
    let started = Instant::now();
    let mut built = sources
        .build_images(&builds, &ws.blob_cache()?, target)
        .await?;
    built.extend(sources.assemble(&artifacts, target)?);
    if ctx.settings.dry_run {
        return Ok(MirrorOutcome::DryRun(
            dry_run(&ws, &engine, &plan, built, &uses).await?,
        ));
    }
    let mapping = mapping_text(
        plan.images
            .iter()
            .map(|j| (&j.source, &j.destination))
            .chain(built.iter().map(|b| (&b.job.source, &b.job.destination))),
    );
    // Step 3.
    let mut resolved = engine.resolve_all(&plan).await;
    resolved.extend(built.into_iter().map(Ok));
    let records: Vec<ImageRecord> = resolved
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|i| super::image_record(i, target))
        .collect();
    let copy = engine.copy_resolved(resolved, started).await;
    // Step 4.
    let mapping = ws.write_file("mapping.txt", mapping.as_bytes())?;
    let cluster_resources = Publishers::load(host, configured_publishers)?
        .publish(
            &ws,
            target,
            crate::publishers::mirrored_from_outcomes(&copy.images),
            &attachments,
            ctx.settings.annotation_time(),
        )
        .await?;
    let placed = super::place_files(&ws, &files)?;
    let failed = FailedImage::from_outcomes(&copy.images, &uses);
    let failures = (!failed.is_empty()).then(|| ImageFailures {
        headline: format!(
            "{} of {} images could not be mirrored",
            failed.len(),
            copy.images.len()
        ),
        failed,
        hint: Some(
            "fix the cause and run the same command again; what was copied is kept and not fetched again".into(),
        ),
    });
    // Step 5.
    let (mut unselected, mut pruned) = (Vec::new(), None);
    if failures.is_none() {
        let history = record_run(ctx, &ws, isc, records, states.clone()).await?;
        let states = serde_json::to_vec_pretty(&states).context("recording the plugins' state")?;
        ws.write_file(PLUGIN_STATE_FILE, &states)?;
        let meta = history.latest();
        if ctx.settings.prune && !meta.unselected.is_empty() {
            let held = history.held(meta.sequence);
            let client = ctx.destination_client();
            pruned = Some(super::delete::prune(&client, target, meta, &held).await?);
        }
        unselected = meta.unselected.clone();
    }
    Ok(MirrorOutcome::Mirrored(MirrorReport {
        copy,
        unselected,
        pruned,
        outputs: Outputs {
            mapping: Some(mapping),
            cluster_resources,
            files: placed,
        },
        blocked,
        failures,
    }))
}

/// Records a successful run in the workspace's metadata: the images it
/// mirrored, and those earlier runs mirrored that it no longer selects.
/// Returns the history with it.
async fn record_run(
    ctx: &Context,
    ws: &Workspace,
    isc: &ImageSetConfiguration,
    images: Vec<ImageRecord>,
    states: std::collections::BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<History> {
    let backend = LocalBackend::new(ws.metadata_dir());
    let history = backend.history().await?;
    let config = serde_json::to_value(isc).context("cannot record the configuration")?;
    let created = ctx.settings.reproducible_time();
    let mut meta = match &history {
        Some(h) => h.successor(config, created),
        None => Metadata::first(ws.uuid(), config, created),
    };
    meta.images = images;
    meta.plugin_state = states;
    if let Some(h) = &history {
        meta.unselected = crate::metadata::unselected(&h.held(h.latest().sequence), &meta.images);
    }
    meta.normalize();
    backend.record(&meta).await?;
    Ok(match history {
        Some(mut h) => {
            h.push(meta)?;
            h
        }
        None => History::new(vec![meta])?,
    })
}

/// `--dry-run`: resolve every image, write `dry-run/mapping.txt` and
/// `dry-run/missing.txt` (images not fully in the workspace cache), copy nothing.
async fn dry_run(
    ws: &Workspace,
    engine: &crate::copy::CopyEngine,
    plan: &crate::copy::CopyPlan,
    built: Vec<crate::copy::ResolvedImage>,
    uses: &crate::sources::Uses,
) -> anyhow::Result<DryRunReport> {
    let mut resolved = engine.resolve_all(plan).await;
    resolved.extend(built.into_iter().map(Ok));
    let line = |job: &crate::copy::ImageJob| mapping_line(&job.source, &job.destination);
    let mut missing = Vec::new();
    let mut bytes = 0u64;
    let mut failed = Vec::new();
    for r in &resolved {
        match r {
            Ok(image) => {
                bytes += image.blobs().iter().map(|b| b.size).sum::<u64>();
                if !engine.fully_cached(image) {
                    missing.push(line(&image.job));
                }
            }
            Err((job, e)) => {
                warn!("cannot resolve `{}`: {e}", job.source.whole());
                missing.push(line(job));
                failed.push(FailedImage::new(
                    &job.source,
                    job.origin,
                    job.kind,
                    e.to_string(),
                    uses,
                ));
            }
        }
    }
    missing.sort();
    let mapping = ws.write_file(
        "dry-run/mapping.txt",
        mapping_text(resolved.iter().map(|r| match r {
            Ok(image) => (&image.job.source, &image.job.destination),
            Err((job, _)) => (&job.source, &job.destination),
        }))
        .as_bytes(),
    )?;
    let missing_text = if missing.is_empty() {
        String::new()
    } else {
        missing.join("\n") + "\n"
    };
    let missing_file = ws.write_file("dry-run/missing.txt", missing_text.as_bytes())?;
    let failures = (!failed.is_empty()).then(|| ImageFailures {
        headline: format!(
            "{} of {} images cannot be mirrored",
            failed.len(),
            resolved.len()
        ),
        failed,
        hint: None,
    });
    Ok(DryRunReport {
        images: resolved.len(),
        bytes,
        missing,
        mapping,
        missing_file,
        failures,
    })
}
