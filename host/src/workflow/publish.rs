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
//! 5. Record the sequence in the mirror (and in the local workspace), last.
//!
//! # Invariants
//! - One way: nothing here contacts anything but the mirror.
//! - Nothing half-done: a sequence is recorded only when all its images are in.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use tracing::{info, warn};

use crate::backend::{Backend, LocalBackend, RegistryBackend};
use crate::copy::{
    Concurrency, CopyEngine, CopyReport, ImageJob, ManifestCopy, Reporter, ResolvedImage,
};
use crate::imageset::{self, ImagesetReader};
use crate::manifest;
use crate::metadata::{self, Metadata};
use crate::reference::{MirrorTarget, Reference};
use crate::registry::RegistryClient;
use crate::workspace::{BlobCache, Workspace};

/// What publish was asked to do.
pub struct PublishOptions {
    pub dir: PathBuf,
    pub target: MirrorTarget,
    pub skip_metadata_check: bool,
    pub concurrency: Concurrency,
    /// Set by a first Ctrl-C: start no new image.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
}

/// One sequence's outcome.
pub enum SequenceOutcome {
    AlreadyPublished(u64),
    Published {
        metadata: Box<Metadata>,
        report: CopyReport,
    },
}

/// The metadata record kept in the mirror.
pub fn mirror_backend(
    client: Arc<RegistryClient>,
    target: &MirrorTarget,
) -> anyhow::Result<RegistryBackend> {
    let repo = match &target.namespace {
        Some(ns) => format!("{ns}/{}", super::MIRROR_METADATA_REPOSITORY),
        None => super::MIRROR_METADATA_REPOSITORY.to_string(),
    };
    Ok(RegistryBackend::new(
        client,
        Reference::with_tag(
            target.registry.clone(),
            repo,
            super::MIRROR_METADATA_TAG.to_string(),
        ),
    )?)
}

/// Where a recorded `path:tag` destination lands in this mirror.
fn destination(target: &MirrorTarget, relative: &str) -> anyhow::Result<Reference> {
    let (path, tag) = relative
        .rsplit_once(':')
        .with_context(|| format!("metadata destination `{relative}` has no tag"))?;
    let repository = match &target.namespace {
        Some(ns) => format!("{ns}/{path}"),
        None => path.to_string(),
    };
    Ok(Reference::with_tag(
        target.registry.clone(),
        repository,
        tag.to_string(),
    ))
}

/// Runs publish for every sequence in the directory the mirror lacks.
pub async fn publish(
    ws: &Workspace,
    dest: Arc<RegistryClient>,
    reporter: Arc<dyn Reporter>,
    options: &PublishOptions,
) -> anyhow::Result<Vec<SequenceOutcome>> {
    let dir = &options.dir;
    let sequences =
        super::sequences_in(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    if sequences.is_empty() {
        bail!(
            "`{}` holds no imageset (no `mirror_seq<N>_000000.tar`)\nhint: copy the imageset parts into that directory",
            dir.display()
        );
    }
    let backend = mirror_backend(dest.clone(), &options.target)?;
    let local = LocalBackend::new(ws.working_dir().join("metadata"));
    let mut outcomes = Vec::new();
    for seq in sequences {
        let bytes = imageset::read_metadata(dir, u32::try_from(seq).unwrap_or(u32::MAX))?;
        let meta = Metadata::from_slice(&bytes)
            .with_context(|| format!("metadata of `{}`", imageset::part_name(seq as u32, 0)))?;
        let history = backend.history().await?;
        if let Some(h) = &history
            && h.get(meta.sequence)
                .is_some_and(|m| m.digest() == meta.digest())
        {
            info!(
                "sequence {seq} is already published to {}; nothing to do",
                options.target
            );
            outcomes.push(SequenceOutcome::AlreadyPublished(seq));
            continue;
        }
        let checked = match &history {
            Some(h) if h.uuid() != meta.uuid => Err(metadata::MetadataError::UuidMismatch {
                expected: h.uuid().to_string(),
                found: meta.uuid.clone(),
            }),
            _ => metadata::check_successor(history.as_ref(), &meta),
        };
        match (checked, options.skip_metadata_check) {
            (Ok(()), _) => {}
            (Err(e), true) => {
                warn!("--skip-metadata-check: publishing sequence {seq} anyway ({e})")
            }
            (Err(e), false) => {
                let held = history.as_ref().map(|h| h.latest().sequence).unwrap_or(0);
                let owner = history
                    .as_ref()
                    .map(|h| format!(" of workspace UUID `{}`", h.uuid()))
                    .unwrap_or_default();
                return Err(anyhow::Error::new(e).context(format!(
                    "imageset `{}` (sequence {seq} of workspace UUID `{}`) cannot be published to {}: the mirror last received sequence {held}{owner}\nhint: publish the missing sequences first, or override with `--skip-metadata-check`",
                    imageset::part_name(seq as u32, 0),
                    meta.uuid,
                    options.target
                )));
            }
        }
        let report = publish_one(ws, dest.clone(), reporter.clone(), options, &meta).await?;
        if report.failures().next().is_some() {
            return Ok({
                outcomes.push(SequenceOutcome::Published {
                    metadata: Box::new(meta),
                    report,
                });
                outcomes
            });
        }
        if options.skip_metadata_check
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
        outcomes.push(SequenceOutcome::Published {
            metadata: Box::new(meta),
            report,
        });
    }
    Ok(outcomes)
}

/// Steps 3 and 4 for one sequence.
async fn publish_one(
    ws: &Workspace,
    dest: Arc<RegistryClient>,
    reporter: Arc<dyn Reporter>,
    options: &PublishOptions,
    meta: &Metadata,
) -> anyhow::Result<CopyReport> {
    let seq = u32::try_from(meta.sequence).context("sequence number too large")?;
    let reader = ImagesetReader::open(&options.dir, seq)?;
    if let Some(missing) = meta.parts.iter().find(|p| !reader.parts().contains(p)) {
        bail!(
            "imageset part `{missing}` is missing from `{}` ({} of {} parts found)\nhint: copy every `mirror_seq{seq}_*.tar` part into the same directory",
            options.dir.display(),
            reader.parts().len(),
            meta.parts.len()
        );
    }
    // Step 3: every blob into the cache, verified.
    let cache = ws.blob_cache()?;
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

    // Step 4: images from their manifests.
    let cache = ws.blob_cache()?;
    let mut resolved = Vec::new();
    for rec in &meta.images {
        let source = crate::reference::parse(&rec.source)?;
        let job = ImageJob {
            source,
            destination: destination(&options.target, &rec.destination)?,
            platforms: Vec::new(),
            origin: "imageset",
            kind: crate::copy::plan::kind_from_name(&rec.kind),
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
    let engine = CopyEngine::new(None, dest, ws.blob_cache()?, options.concurrency, reporter)
        .with_stop(options.stop.clone());
    // The elapsed time reported covers reading the archive too.
    Ok(engine.copy_resolved(resolved, started).await)
}

/// A manifest the imageset carried, from the cache.
fn read_manifest(cache: &BlobCache, digest: &str) -> anyhow::Result<ManifestCopy> {
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
        digest: digest.to_string(),
        blobs,
    })
}

/// `DIR` of `--from file://DIR`.
pub fn from_dir(value: &str) -> anyhow::Result<PathBuf> {
    match value.strip_prefix("file://") {
        Some(p) if !p.is_empty() => Ok(Path::new(p).to_path_buf()),
        _ => bail!("`--from {value}` must be a `file://` path"),
    }
}
