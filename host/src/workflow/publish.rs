//! Publish: disk to mirror (`oc-mirror --from file://DIR docker://REGISTRY/PREFIX`).
//!
//! # Steps, for each sequence found in `DIR`, in order
//! 1. Read its metadata from part 0; a sequence the mirror already has (same
//!    digest) is skipped, and says so.
//! 2. Check it belongs here: the mirror's UUID, and that it was built against
//!    the sequence the mirror holds (`--skip-metadata-check` overrides).
//! 3. Check every part named in the metadata is present, then read them all,
//!    verifying every blob against its digest, into the workspace cache. A
//!    truncated or altered archive stops here, before anything is pushed.
//! 4. Rebuild each image from its manifests (in the archive) and push it with
//!    the copy engine: blobs from the cache, or already in the mirror (a diff
//!    imageset leaves out what earlier sequences brought), manifests last.
//! 5. Write `mapping.txt` and the cluster resources (the publishers, first-
//!    party and those the imageset's configuration names) for every image of
//!    the sequences in `DIR` that the mirror now holds.
//! 6. With `--prune`, delete what earlier sequences brought and this one's
//!    configuration no longer selects ([`super::delete::prune`]); without it,
//!    the report lists them.
//! 7. Record the sequence in the mirror (and in the local workspace), last.
//!
//! When every sequence is already published, steps 3, 4 and 6 are skipped
//! and step 5 regenerates the outputs: a run stopped between steps 5 and 6,
//! or outputs lost since, are made whole by running publish again.
//!
//! # Invariants
//! - One way: nothing here contacts anything but the mirror.
//! - Nothing half-done: a sequence is recorded only when all its images are
//!   in and its cluster resources are written.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use tracing::{info, warn};

use super::error::{FailedImage, ImageFailures};
use super::{Context, Outputs, mapping_text};
use crate::backend::{Backend, LocalBackend, RegistryBackend};
use crate::config::PluginSpec;
use crate::copy::{CopyReport, ImageJob, ManifestCopy, ResolvedImage};
use crate::digest::Digest;
use crate::imageset::{self, ImagesetReader};
use crate::manifest;
use crate::metadata::{self, Metadata, Sequence};
use crate::plugin::v0_2::Attachment;
use crate::publishers::Publishers;
use crate::reference::{MirrorTarget, Reference};
use crate::registry::RegistryClient;
use crate::workspace::{BlobCache, Workspace};

/// One sequence's outcome.
pub enum SequenceOutcome {
    AlreadyPublished(Sequence),
    Published {
        metadata: Box<Metadata>,
        report: CopyReport,
    },
}

/// What publish did.
pub struct PublishReport {
    pub target: MirrorTarget,
    pub sequences: Vec<SequenceOutcome>,
    pub outputs: Outputs,
    /// The images that could not be published (the run then exits non-zero).
    pub failures: Option<ImageFailures>,
    /// Images earlier sequences brought that the published sequences'
    /// configurations no longer select (kept without `--prune`).
    pub unselected: Vec<metadata::ImageRecord>,
    /// What `--prune` did with them.
    pub pruned: Option<super::delete::RemovalReport>,
}

/// The metadata record kept in the mirror.
pub fn mirror_backend(
    client: Arc<RegistryClient>,
    target: &MirrorTarget,
) -> anyhow::Result<RegistryBackend> {
    Ok(RegistryBackend::new(
        client,
        Reference::with_tag(
            target.registry.clone(),
            target.repository(super::MIRROR_METADATA_REPOSITORY),
            super::MIRROR_METADATA_TAG.to_string(),
        ),
    )?)
}

/// A sequence of `DIR` that the mirror holds (or will once recorded).
struct InMirror {
    meta: Metadata,
    attachments: Vec<Attachment>,
}

/// Runs publish for every sequence in `dir` the mirror lacks.
pub async fn publish(
    ctx: &Context,
    dir: &Path,
    target: &MirrorTarget,
) -> anyhow::Result<PublishReport> {
    let sequences =
        imageset::sequences_in(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    if sequences.is_empty() {
        bail!(
            "`{}` holds no imageset (no `mirror_seq<N>_000000.tar`)\nhint: copy the imageset parts into that directory",
            dir.display()
        );
    }
    let ws = Workspace::open(dir)?;
    let dest = ctx.destination_client();
    let backend = mirror_backend(dest.clone(), target)?;
    let local = LocalBackend::new(ws.metadata_dir());
    let mut report = PublishReport {
        target: target.clone(),
        sequences: Vec::new(),
        outputs: Outputs::default(),
        failures: None,
        unselected: Vec::new(),
        pruned: None,
    };
    let mut in_mirror: Vec<InMirror> = Vec::new();
    let mut publishers = None;
    for seq in sequences {
        // Step 1.
        let bytes = imageset::read_metadata(dir, seq)?;
        let meta = Metadata::from_slice(&bytes)
            .with_context(|| format!("metadata of `{}`", imageset::part_name(seq, 0)))?;
        let history = backend.history().await?;
        if let Some(h) = &history
            && h.get(meta.sequence)
                .is_some_and(|m| m.digest() == meta.digest())
        {
            info!("sequence {seq} is already published to {target}; nothing to do");
            let attachments = match attachments_of(&ws, dir, &meta).await {
                Ok(a) => a,
                Err(e) => {
                    warn!(
                        "the attachments of sequence {seq} cannot be read, so its cluster resources may be incomplete: {e:#}"
                    );
                    Vec::new()
                }
            };
            in_mirror.push(InMirror { meta, attachments });
            report
                .sequences
                .push(SequenceOutcome::AlreadyPublished(seq));
            continue;
        }
        // Step 2.
        check_follows(
            history.as_ref(),
            &meta,
            ctx.settings.skip_metadata_check,
            target,
        )?;
        // Steps 3 and 4.
        let copy = publish_one(ctx, &ws, dest.clone(), dir, target, &meta).await?;
        // What needs each image is known where the imageset was made.
        let failed = FailedImage::from_outcomes(&copy.images, &Default::default());
        if !failed.is_empty() {
            report.failures = Some(ImageFailures {
                headline: format!(
                    "{} images could not be published; the sequence is not recorded in the mirror",
                    failed.len()
                ),
                failed,
                hint: Some("fix the cause and publish again; what is in the mirror is kept".into()),
            });
            report.sequences.push(SequenceOutcome::Published {
                metadata: Box::new(meta),
                report: copy,
            });
            return Ok(report);
        }
        // Step 5, before the sequence is recorded.
        let attachments = super::attachments_of(&ws, &meta)?;
        in_mirror.push(InMirror {
            meta: meta.clone(),
            attachments,
        });
        if publishers.is_none() {
            publishers = Some(load_publishers(ctx, &ws, &dest, &in_mirror).await?);
        }
        if let Some(p) = &publishers {
            report.outputs = write_outputs(ctx, &ws, p, target, &in_mirror).await?;
        }
        // Step 6.
        if !meta.unselected.is_empty() {
            if ctx.settings.prune {
                // What the mirror may hold once this sequence is in.
                let mut held = history
                    .as_ref()
                    .map(|h| h.held(h.latest().sequence))
                    .unwrap_or_default();
                held.extend(
                    meta.images
                        .iter()
                        .map(|i| (i.destination.clone(), i.clone())),
                );
                let pruned = super::delete::prune(&dest, target, &meta, &held).await?;
                report
                    .pruned
                    .get_or_insert_with(Default::default)
                    .absorb(pruned);
            }
            report.unselected.extend(meta.unselected.iter().cloned());
        }
        // Step 7.
        if ctx.settings.skip_metadata_check
            && metadata::check_successor(history.as_ref(), &meta).is_err()
        {
            warn!(
                "sequence {seq} was published without being recorded in the mirror (its metadata does not follow what the mirror holds)"
            );
        } else {
            backend.record(&meta).await?;
        }
        if let Err(e) = local.record(&meta).await {
            warn!("sequence {seq} is in the mirror but not recorded in the workspace: {e}");
        }
        report.sequences.push(SequenceOutcome::Published {
            metadata: Box::new(meta),
            report: copy,
        });
    }
    if publishers.is_none() {
        // Every sequence was already published: regenerate the outputs.
        let p = load_publishers(ctx, &ws, &dest, &in_mirror).await?;
        report.outputs = write_outputs(ctx, &ws, &p, target, &in_mirror).await?;
    }
    Ok(report)
}

/// Step 2: the imageset belongs to this mirror: same UUID, and built
/// against the sequence the mirror holds (`--skip-metadata-check` warns instead).
fn check_follows(
    history: Option<&metadata::History>,
    meta: &Metadata,
    skip: bool,
    target: &MirrorTarget,
) -> anyhow::Result<()> {
    let seq = meta.sequence;
    let checked = match history {
        Some(h) if h.uuid() != meta.uuid => Err(metadata::MetadataError::UuidMismatch {
            expected: h.uuid().to_string(),
            found: meta.uuid.clone(),
        }),
        _ => metadata::check_successor(history, meta),
    };
    match (checked, skip) {
        (Ok(()), _) => Ok(()),
        (Err(e), true) => {
            warn!("--skip-metadata-check: publishing sequence {seq} anyway ({e})");
            Ok(())
        }
        (Err(e), false) => {
            let held = history.map(|h| h.latest().sequence).unwrap_or(0);
            let owner = history
                .map(|h| format!(" of workspace UUID `{}`", h.uuid()))
                .unwrap_or_default();
            Err(anyhow::Error::new(e).context(format!(
                "imageset `{}` (sequence {seq} of workspace UUID `{}`) cannot be published to {target}: the mirror last received sequence {held}{owner}\nhint: publish the missing sequences first (a delete generated in between is carried out with `oc-mirror delete --delete-yaml-file`), or override with `--skip-metadata-check`",
                imageset::part_name(seq, 0),
                meta.uuid,
            )))
        }
    }
}

/// The publishers: the embedded ones, and the third-party publishers the
/// configuration of the newest sequence names (its `plugins:`; an `image:`
/// plugin is pulled from the mirror, the only registry this side reaches).
async fn load_publishers(
    ctx: &Context,
    ws: &Workspace,
    dest: &Arc<RegistryClient>,
    in_mirror: &[InMirror],
) -> anyhow::Result<Publishers> {
    let specs: Vec<PluginSpec> = match in_mirror.last().and_then(|s| s.meta.config.get("plugins")) {
        Some(v) => serde_json::from_value(v.clone())
            .context("the imageset's configuration has a `plugins:` this oc-mirror cannot read")?,
        None => Vec::new(),
    };
    let host = ctx.plugin_host(ws)?;
    // One by one: a content source of the connected side need not exist here
    // (it has nothing to do on publish), so a plugin that cannot be loaded is
    // passed over, and said so.
    let mut configured = Vec::new();
    for spec in &specs {
        match crate::plugin::configured::load(&host, Some(dest), std::slice::from_ref(spec)).await {
            Ok(mut loaded) => configured.append(&mut loaded),
            Err(e) => warn!(
                "a plugin the imageset's configuration names is not run on publish: {e}\nhint: if it is a publisher, make it available here (a `path:` on this machine, or an `image:` in the mirror) and publish again"
            ),
        }
    }
    Ok(Publishers::load(host, configured)?)
}

/// Step 5: `mapping.txt` and the cluster resources for every image of the
/// sequences in the mirror (a later sequence's copy of an attachment wins).
async fn write_outputs(
    ctx: &Context,
    ws: &Workspace,
    publishers: &Publishers,
    target: &MirrorTarget,
    in_mirror: &[InMirror],
) -> anyhow::Result<Outputs> {
    let mut pairs = Vec::new();
    let mut images = Vec::new();
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in in_mirror {
        for rec in &s.meta.images {
            let destination = target.place_recorded(&rec.destination)?;
            if seen.insert((rec.source.clone(), destination.whole())) {
                images.push(crate::publishers::mirrored_from_record(rec, &destination));
            }
            pairs.push((crate::reference::parse(&rec.source)?, destination));
        }
        for a in &s.attachments {
            attachments.retain(|b| b.name != a.name);
            attachments.push(a.clone());
        }
    }
    let mapping = ws.write_file(
        "mapping.txt",
        mapping_text(pairs.iter().map(|(s, d)| (s, d))).as_bytes(),
    )?;
    let files = super::place_files(ws, in_mirror.iter().flat_map(|s| &s.meta.files))?;
    let cluster_resources = publishers
        .publish(
            ws,
            target,
            images,
            &attachments,
            ctx.settings.annotation_time(),
        )
        .await?;
    Ok(Outputs {
        mapping: Some(mapping),
        cluster_resources,
        files,
    })
}

/// The attachments of a sequence already published: from the workspace
/// cache, or, when they are not there, read (and verified) out of its parts.
async fn attachments_of(
    ws: &Workspace,
    dir: &Path,
    meta: &Metadata,
) -> anyhow::Result<Vec<Attachment>> {
    if let Ok(a) = super::attachments_of(ws, meta) {
        return Ok(a);
    }
    let reader = ImagesetReader::open(dir, meta.sequence)?;
    let cache = ws.blob_cache()?;
    tokio::task::spawn_blocking(move || {
        reader.read(|digest, size, r| cache.store(digest, size, r).map_err(Into::into))
    })
    .await
    .context("the archive reader stopped")??;
    super::attachments_of(ws, meta)
}

/// Steps 3 and 4 for one sequence.
async fn publish_one(
    ctx: &Context,
    ws: &Workspace,
    dest: Arc<RegistryClient>,
    dir: &Path,
    target: &MirrorTarget,
    meta: &Metadata,
) -> anyhow::Result<CopyReport> {
    let seq = meta.sequence;
    let reader = ImagesetReader::open(dir, seq)?;
    if let Some(missing) = meta.parts.iter().find(|p| !reader.parts().contains(p)) {
        bail!(
            "imageset part `{missing}` is missing from `{}` ({} of {} parts found)\nhint: copy every `mirror_seq{seq}_*.tar` part into the same directory",
            dir.display(),
            reader.parts().len(),
            meta.parts.len()
        );
    }
    // Step 3: every blob into the cache, verified.
    let cache = ws.blob_cache()?;
    let mut to_cache = 0;
    for blob in &meta.blobs {
        if cache.size(&blob.digest)?.is_none() {
            to_cache += blob.size;
        }
    }
    crate::space::check(&[crate::space::Need {
        path: ws.working_dir(),
        bytes: to_cache,
        what: "the blobs of the imageset",
    }])?;
    let started = Instant::now();
    let contents = tokio::task::spawn_blocking(move || {
        reader.read(|digest, size, r| cache.store(digest, size, r).map_err(Into::into))
    })
    .await
    .context("the archive reader stopped")??;
    info!(
        "read {} blobs of sequence {seq} in {:.1?}",
        contents.blobs.len(),
        started.elapsed()
    );

    // The parts must hold everything the metadata says they carry: a
    // well-formed archive short of a blob stops here, before any push.
    let cache = ws.blob_cache()?;
    let mut missing = std::collections::BTreeSet::new();
    let listed = meta.blobs.iter().map(|b| &b.digest).chain(
        meta.images
            .iter()
            .flat_map(|r| r.manifests.iter().chain(std::iter::once(&r.digest))),
    );
    for digest in listed {
        if cache.size(digest)?.is_none() {
            missing.insert(digest.to_string());
        }
    }
    if let Some(first) = missing.first() {
        let parts = match meta.parts.as_slice() {
            [] => String::new(),
            [one] => format!("`{one}`"),
            [first, .., last] => format!("`{first}` to `{last}`"),
        };
        bail!(
            "the parts of sequence {seq} ({parts}) lack {} blob(s) that its metadata lists (first: {first})\nhint: the parts were altered or come from different runs; copy every part of sequence {seq} again, or create the imageset again",
            missing.len()
        );
    }

    // Step 4: images from their manifests.
    let mut resolved = Vec::new();
    for rec in &meta.images {
        let job = ImageJob {
            source: crate::reference::parse(&rec.source)?,
            destination: target.place_recorded(&rec.destination)?,
            platforms: Vec::new(),
            origin: crate::copy::Origin::from_name(&rec.origin),
            kind: crate::copy::ImageKind::from_name(&rec.kind),
        };
        let mut manifests = Vec::new();
        // Platform manifests first, the top-level one last.
        for digest in rec
            .manifests
            .iter()
            .filter(|d| *d != &rec.digest)
            .chain(std::iter::once(&rec.digest))
        {
            manifests.push(read_manifest(&cache, digest)?);
        }
        resolved.push(Ok(ResolvedImage { job, manifests }));
    }
    let engine = ctx.engine(ws, None, dest)?;
    // The elapsed time reported covers reading the archive too.
    Ok(engine.copy_resolved(resolved, started).await)
}

/// A manifest the imageset carried, from the cache.
fn read_manifest(cache: &BlobCache, digest: &Digest) -> anyhow::Result<ManifestCopy> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut cache
            .open(digest)
            .with_context(|| format!("manifest {digest} is not in the imageset"))?,
        &mut bytes,
    )?;
    let media_type = manifest::media_type_of(&bytes, None)?;
    let blobs = manifest::parse(&bytes, &media_type)?
        .blobs()
        .into_iter()
        .cloned()
        .collect();
    Ok(ManifestCopy {
        bytes: bytes.into(),
        media_type,
        digest: digest.clone(),
        blobs,
    })
}
