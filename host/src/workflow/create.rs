//! Create: mirror to disk (`oc-mirror -c isc.yaml file://DIR`).
//!
//! # Steps
//! 1. Read the history of this workspace from its backend: the next sequence
//!    is the latest plus one (or 1), built against the latest (or `--since`).
//! 2. Ask the content sources for images and resolve their manifests.
//! 3. Choose what the archive carries: every manifest and config of the set,
//!    and only the layers that no sequence it builds on shipped.
//! 4. Download those into the workspace cache (verified, resumable).
//! 5. Write `DIR/mirror_seq<N>_<NNNNNN>.tar`, split at `archiveSize`.
//! 6. Record the sequence's metadata, last, when everything it names exists.
//!
//! # Invariants
//! - Deterministic: same sources, config, UUID and `SOURCE_DATE_EPOCH` give
//!   byte-identical parts (entries sorted by digest, fixed owners and modes).
//! - The metadata is recorded only after the parts are in place.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use bytes::Bytes;
use tracing::info;

use crate::backend::Backend;
use crate::config::ImageSetConfiguration;
use crate::copy::{CopyEngine, ResolvedImage};
use crate::imageset::{self, Entry, ImagesetWriter, LayoutRef, WriteOptions, WrittenPart};
use crate::manifest::Descriptor;
use crate::metadata::AttachmentRecord;
use crate::metadata::{BlobRecord, ImageRecord, Metadata};
use crate::reference::{MirrorTarget, Reference};
use crate::timestamp;
use crate::workspace::Workspace;

/// Placeholder registry for destinations while the mirror is unknown: only
/// the `path:tag` part of a destination is recorded.
const UNKNOWN_MIRROR: &str = "mirror.invalid";
/// Room reserved for the metadata's list of part names, per entry (a part
/// name plus JSON punctuation is under 40 bytes).
const PART_NAME_RESERVE: u64 = 48;

/// What `create` was asked to do.
pub struct CreateOptions {
    /// Where the parts go (the `file://` directory).
    pub dir: PathBuf,
    /// Largest part in bytes (`archiveSize` GiB).
    pub max_part_bytes: u64,
    /// Build against this sequence instead of the latest (to replace a lost imageset).
    pub since: Option<u64>,
    /// Build against the newest sequence recorded before this time (seconds;
    /// oc-mirror's `--since DATE`); a full imageset when there is none.
    pub since_time: Option<u64>,
}

/// What `create` did.
pub struct CreateReport {
    pub metadata: Metadata,
    pub parts: Vec<WrittenPart>,
    /// Layers carried because no earlier sequence shipped them.
    pub new_layers: usize,
    pub new_layer_bytes: u64,
    /// Layers left out because an earlier sequence shipped them.
    pub reused_layers: usize,
}

/// The destination of an image as recorded: `path:tag` under the mirror prefix.
fn relative_destination(r: &Reference) -> String {
    format!(
        "{}:{}",
        r.repository(),
        r.tag().unwrap_or(crate::reference::DEFAULT_TAG)
    )
}

/// Runs the create workflow.
pub async fn create(
    sources: &crate::sources::Sources,
    isc: &ImageSetConfiguration,
    ws: &Workspace,
    engine: &CopyEngine,
    backend: &dyn Backend,
    options: &CreateOptions,
) -> anyhow::Result<CreateReport> {
    let history = backend.history().await?;
    let created = timestamp::reproducible();
    let config = serde_json::to_value(isc).context("cannot record the configuration")?;
    let mut meta = match &history {
        Some(h) => h.successor(config, created),
        None => Metadata::first(ws.uuid(), config, created),
    };
    if let (Some(t), Some(h)) = (options.since_time, &history) {
        let mut known = h
            .sequences()
            .iter()
            .map(|m| (m.sequence, backend.recorded_at(m.sequence)))
            .peekable();
        if known.peek().is_some_and(|(_, at)| at.is_none()) {
            bail!(
                "`--since` needs to know when each sequence was recorded, which {} does not keep\nhint: use `--since-sequence N`",
                backend.describe()
            );
        }
        match known
            .filter(|(_, at)| at.is_some_and(|at| at < t))
            .map(|(n, _)| n)
            .max()
        {
            Some(n) => meta.since = Some(n),
            None => meta.since = None,
        }
        info!(
            "--since {}: building against {}",
            timestamp::rfc3339(t),
            meta.since
                .map(|n| format!("sequence {n}"))
                .unwrap_or_else(|| "nothing (a full imageset)".into())
        );
    }
    if let Some(since) = options.since {
        let held = history.as_ref().is_some_and(|h| h.get(since).is_some());
        if !held {
            bail!(
                "`--since-sequence {since}`: {} holds no such sequence",
                backend.describe()
            );
        }
        meta.since = Some(since);
    }
    info!(
        "creating sequence {} of workspace {} ({})",
        meta.sequence,
        meta.uuid,
        backend.describe()
    );

    let target = MirrorTarget {
        registry: UNKNOWN_MIRROR.to_string(),
        namespace: None,
    };
    // Plugins continue from the state of the sequence this one builds on.
    let states = match (&history, meta.since) {
        (Some(h), Some(since)) => h
            .get(since)
            .map(|m| m.plugin_state.clone())
            .unwrap_or_default(),
        _ => Default::default(),
    };
    let crate::sources::Planned {
        plan,
        blocked,
        states,
        attachments,
        builds,
    } = sources.build_plan(isc, &target, &states).await?;
    meta.plugin_state = states;
    let built = sources
        .build_images(&builds, &ws.blob_cache()?, &target)
        .await?;
    for b in &blocked {
        info!(
            "skipping `{}`: blocked by `blockedImages` pattern `{}`",
            b.image, b.pattern
        );
    }
    if plan.images.is_empty() {
        bail!("no images to mirror: the configuration lists none (or all are blocked)");
    }
    let mut images: Vec<ResolvedImage> = built;
    let mut failures = Vec::new();
    for r in engine.resolve_all(&plan).await {
        match r {
            Ok(i) => images.push(i),
            Err((job, e)) => failures.push(format!("  {}: {e}", job.source.whole())),
        }
    }
    if !failures.is_empty() {
        return Err(crate::cli::Failure {
            message: format!(
                "{} of {} images cannot be resolved; no imageset was written:\n{}",
                failures.len(),
                plan.images.len(),
                failures.join("\n")
            ),
            code: crate::cli::EXIT_ADDITIONAL_IMAGES,
        }
        .into());
    }

    // Step 3: what the archive carries.
    let shipped = history
        .as_ref()
        .map(|h| h.shipped_blobs(meta.since.unwrap_or(0)))
        .unwrap_or_default();
    let mut manifests: BTreeMap<String, Bytes> = BTreeMap::new();
    let mut blobs: BTreeMap<String, (Reference, Descriptor)> = BTreeMap::new();
    let (mut new_layers, mut new_layer_bytes, mut reused) =
        (0usize, 0u64, std::collections::BTreeSet::new());
    for image in &images {
        for m in &image.manifests {
            manifests.insert(m.digest.clone(), m.bytes.clone());
            for (i, blob) in m.blobs.iter().enumerate() {
                let is_config = i == 0;
                if !is_config && shipped.contains(&blob.digest) {
                    reused.insert(blob.digest.clone());
                    continue;
                }
                if !blobs.contains_key(&blob.digest) && !is_config {
                    new_layers += 1;
                    new_layer_bytes += blob.size;
                }
                blobs
                    .entry(blob.digest.clone())
                    .or_insert_with(|| (image.job.source.clone(), blob.clone()));
            }
        }
    }
    // Step 4: fetch them.
    engine.prefetch(blobs.values().cloned().collect()).await?;

    // Step 5: entries, sorted by digest after the three head entries.
    meta.images = images
        .iter()
        .map(|i| ImageRecord {
            source: i.job.source.whole(),
            destination: relative_destination(&i.job.destination),
            digest: i.digest().to_string(),
            media_type: i
                .manifests
                .last()
                .map(|m| m.media_type.clone())
                .unwrap_or_default(),
            origin: i.job.origin.to_string(),
            kind: crate::copy::plan::kind_name(i.job.kind).to_string(),
            manifests: i.manifests.iter().map(|m| m.digest.clone()).collect(),
            blobs: i.blobs().into_iter().map(|b| b.digest).collect(),
        })
        .collect();
    meta.blobs = blobs
        .iter()
        .map(|(d, (_, desc))| BlobRecord {
            digest: d.clone(),
            size: desc.size,
        })
        .collect();
    // Attachments travel as blobs of their own, every time (they are small).
    let mut attachment_entries = Vec::new();
    for a in &attachments {
        let digest = crate::manifest::sha256_digest(&a.data);
        meta.attachments.push(AttachmentRecord {
            name: a.name.clone(),
            media_type: a.media_type.clone(),
            digest: digest.clone(),
            size: a.data.len() as u64,
        });
        if !blobs.contains_key(&digest) && !meta.blobs.iter().any(|b| b.digest == digest) {
            meta.blobs.push(BlobRecord {
                digest: digest.clone(),
                size: a.data.len() as u64,
            });
            let path = format!("{}{}", imageset::BLOBS_PREFIX, &digest[7..]);
            attachment_entries.push(Entry::bytes(path, Bytes::from(a.data.clone())));
        }
    }
    meta.normalize();

    let refs: Vec<LayoutRef> = images
        .iter()
        .filter_map(|i| {
            let top = i.manifests.last()?;
            Some(LayoutRef {
                media_type: top.media_type.clone(),
                digest: top.digest.clone(),
                size: top.bytes.len() as u64,
                ref_name: relative_destination(&i.job.destination),
            })
        })
        .collect();
    let mut contents: BTreeMap<String, Entry> = BTreeMap::new();
    for (digest, bytes) in &manifests {
        let path = format!("{}{}", imageset::BLOBS_PREFIX, &digest[7..]);
        contents.insert(path.clone(), Entry::bytes(path, bytes.clone()));
    }
    for (digest, (_, desc)) in &blobs {
        let path = format!("{}{}", imageset::BLOBS_PREFIX, &digest[7..]);
        contents.entry(path.clone()).or_insert_with(|| {
            Entry::file(path, desc.size, ws.blob_path(digest).unwrap_or_default())
        });
    }
    for e in attachment_entries {
        contents.entry(e.path.clone()).or_insert(e);
    }
    let reserve =
        meta.to_canonical_bytes().len() as u64 + PART_NAME_RESERVE * (contents.len() as u64 + 1);
    let mut entries = vec![
        Entry::bytes(
            imageset::OCI_LAYOUT_PATH,
            Bytes::from_static(imageset::OCI_LAYOUT),
        ),
        Entry::bytes(imageset::INDEX_JSON_PATH, imageset::index_json(&refs)),
        Entry {
            path: imageset::METADATA_PATH.to_string(),
            size: reserve,
            source: imageset::EntrySource::Bytes(Bytes::from(vec![b' '; reserve as usize])),
        },
    ];
    entries.extend(contents.into_values());

    let sequence = u32::try_from(meta.sequence).context("sequence number too large")?;
    let mut writer = ImagesetWriter::new(
        options.dir.clone(),
        WriteOptions {
            sequence,
            max_part_bytes: options.max_part_bytes,
            mtime: created,
        },
        entries,
    )?;
    meta.parts = writer.plan().iter().map(|p| p.name.clone()).collect();
    writer.set_metadata(Bytes::from(meta.to_canonical_bytes()))?;
    let parts = tokio::task::spawn_blocking(move || writer.write())
        .await
        .context("the archive writer stopped")??;

    // Step 6: only now is the sequence real.
    backend.record(&meta).await?;
    Ok(CreateReport {
        metadata: meta,
        parts,
        new_layers,
        new_layer_bytes,
        reused_layers: reused.len(),
    })
}
