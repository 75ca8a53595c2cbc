//! Create: mirror to disk (`oc-mirror -c isc.yaml file://DIR`).
//!
//! [`create`] runs the steps below, one function each.
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use tracing::info;

use super::error::{FailedImage, ImageFailures};
use super::{Context, load_plugins};
use crate::backend::{Backend, LocalBackend, RegistryBackend};
use crate::config::ImageSetConfiguration;
use crate::copy::{CopyEngine, ResolvedImage};
use crate::digest::Digest;
use crate::imageset::{self, Entry, ImagesetWriter, LayoutRef, WriteOptions, WrittenPart};
use crate::manifest::Descriptor;
use crate::metadata::{self, AttachmentRecord, BlobRecord, History, Metadata};
use crate::plugin::v0_2::Attachment;
use crate::reference::{MirrorTarget, Reference, recorded_destination};
use crate::registry::RegistryClient;
use crate::settings::BackendSettings;
use crate::timestamp;
use crate::workspace::Workspace;

/// Placeholder registry for destinations while the mirror is unknown: only
/// the `path:tag` part of a destination is recorded.
pub(super) const UNKNOWN_MIRROR: &str = "mirror.invalid";
/// Room reserved for the metadata's list of part names, per entry (a part
/// name plus JSON punctuation is under 40 bytes).
const PART_NAME_RESERVE: u64 = 48;

/// What `create` did.
pub struct CreateReport {
    pub metadata: Metadata,
    /// Where the parts are.
    pub dir: PathBuf,
    pub parts: Vec<WrittenPart>,
    /// Layers carried because no earlier sequence shipped them.
    pub new_layers: usize,
    pub new_layer_bytes: u64,
    /// Layers left out because an earlier sequence shipped them.
    pub reused_layers: usize,
    /// Where the metadata is recorded, for messages.
    pub backend: String,
}

/// The backend the settings name.
fn open_backend(ctx: &Context, ws: &Workspace) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match &ctx.settings.backend {
        BackendSettings::Workspace => Box::new(LocalBackend::new(ws.metadata_dir())),
        BackendSettings::Local(path) => Box::new(LocalBackend::new(path)),
        BackendSettings::Registry { image_url, client } => Box::new(RegistryBackend::parse(
            Arc::new(RegistryClient::new(client.clone())),
            image_url,
        )?),
    })
}

/// Runs the create workflow: writes the next imageset of the workspace in `dir`.
pub async fn create(
    ctx: &Context,
    isc: &ImageSetConfiguration,
    dir: &Path,
) -> anyhow::Result<CreateReport> {
    let ws = Workspace::open(dir)?;
    let backend = open_backend(ctx, &ws)?;
    let source = ctx.source_client();
    let engine = ctx.engine(&ws, Some(source.clone()), source.clone())?;
    let host = ctx.plugin_host(&ws)?;
    // Configured publishers are loaded (and so checked) but run only where
    // cluster resources are written: on publish.
    let (sources, _publishers) = load_plugins(ctx, host, source, &isc.plugins).await?;

    // Step 1.
    let history = backend.history().await?;
    let mut meta = next_sequence(ctx, isc, &ws, backend.as_ref(), history.as_ref()).await?;
    // Step 2.
    let (images, attachments) =
        resolve_images(&sources, isc, &ws, &engine, history.as_ref(), &mut meta).await?;
    // Step 3.
    let since = meta.since.unwrap_or(0);
    let shipped = history
        .as_ref()
        .map(|h| h.available_blobs(since))
        .unwrap_or_default();
    let held = history.as_ref().map(|h| h.held(since)).unwrap_or_default();
    let carried = choose_blobs(&images, &shipped);
    crate::space::check(&space_needed(&ws, dir, &carried)?)?;
    // Step 4.
    engine
        .prefetch(carried.blobs.values().cloned().collect())
        .await?;
    // Step 5.
    // The records of what it covers, and of what it no longer selects.
    let unknown = MirrorTarget {
        registry: UNKNOWN_MIRROR.to_string(),
        namespace: None,
    };
    meta.images = images
        .iter()
        .map(|i| super::image_record(i, &unknown))
        .collect();
    meta.unselected = metadata::unselected(&held, &meta.images);
    let parts = write_parts(ctx, &ws, dir, &images, &carried, &attachments, &mut meta).await?;
    // Step 6: only now is the sequence real.
    backend.record(&meta).await?;
    Ok(CreateReport {
        metadata: meta,
        dir: dir.to_path_buf(),
        parts,
        new_layers: carried.new_layers,
        new_layer_bytes: carried.new_layer_bytes,
        reused_layers: carried.reused.len(),
        backend: backend.describe(),
    })
}

/// Step 1: the sequence this imageset will be, and the one it builds on
/// (the latest, `--since-sequence N`, or the newest before `--since DATE`).
async fn next_sequence(
    ctx: &Context,
    isc: &ImageSetConfiguration,
    ws: &Workspace,
    backend: &dyn Backend,
    history: Option<&History>,
) -> anyhow::Result<Metadata> {
    let created = ctx.settings.reproducible_time();
    let config = serde_json::to_value(isc).context("cannot record the configuration")?;
    let mut meta = match history {
        Some(h) => h.successor(config, created),
        None => Metadata::first(ws.uuid(), config, created),
    };
    if let (Some(t), Some(h)) = (ctx.settings.since_time, history) {
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
        meta.since = known
            .filter(|(_, at)| at.is_some_and(|at| at < t))
            .map(|(n, _)| n)
            .max();
        info!(
            "--since {}: building against {}",
            timestamp::rfc3339(t),
            meta.since
                .map(|n| format!("sequence {n}"))
                .unwrap_or_else(|| "nothing (a full imageset)".into())
        );
    }
    if let Some(since) = ctx.settings.since_sequence {
        if history.is_none_or(|h| h.get(since).is_none()) {
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
    Ok(meta)
}

/// Step 2: the images the content sources ask for (and those they want
/// built), resolved; the plugins continue from the state of the sequence
/// this one builds on, and their new state goes into `meta`.
async fn resolve_images(
    sources: &crate::sources::Sources,
    isc: &ImageSetConfiguration,
    ws: &Workspace,
    engine: &CopyEngine,
    history: Option<&History>,
    meta: &mut Metadata,
) -> anyhow::Result<(Vec<ResolvedImage>, Vec<Attachment>)> {
    let target = MirrorTarget {
        registry: UNKNOWN_MIRROR.to_string(),
        namespace: None,
    };
    let states = match (history, meta.since) {
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
        artifacts,
        files,
        uses,
    } = sources.build_plan(isc, &target, &states).await?;
    meta.plugin_state = states;
    meta.files = files;
    let mut images = sources
        .build_images(&builds, &ws.blob_cache()?, &target)
        .await?;
    images.extend(sources.assemble(&artifacts, &target)?);
    for b in &blocked {
        info!(
            "skipping `{}`: blocked by `blockedImages` pattern `{}`",
            b.image, b.pattern
        );
    }
    if plan.images.is_empty() && images.is_empty() {
        bail!("no images to mirror: the configuration lists none (or all are blocked)");
    }
    let mut failed = Vec::new();
    for r in engine.resolve_all(&plan).await {
        match r {
            Ok(i) => images.push(i),
            Err((job, e)) => failed.push(FailedImage::new(
                &job.source,
                job.origin,
                job.kind,
                e.to_string(),
                &uses,
            )),
        }
    }
    if !failed.is_empty() {
        return Err(ImageFailures {
            headline: format!(
                "{} of {} images cannot be resolved; no imageset was written",
                failed.len(),
                plan.images.len()
            ),
            failed,
            hint: None,
        }
        .into());
    }
    Ok((images, attachments))
}

/// What the archive carries besides manifests.
struct Carried {
    /// Every manifest of the set, by digest.
    manifests: BTreeMap<Digest, Bytes>,
    /// Configs, and the layers no earlier sequence shipped, by digest, with
    /// an image to fetch each from.
    blobs: BTreeMap<Digest, (Reference, Descriptor)>,
    new_layers: usize,
    new_layer_bytes: u64,
    /// Layers left out because they were shipped before.
    reused: BTreeSet<Digest>,
}

/// Step 3: every manifest and config of the set, and only the layers that no
/// sequence it builds on shipped.
fn choose_blobs(images: &[ResolvedImage], shipped: &std::collections::HashSet<Digest>) -> Carried {
    let mut c = Carried {
        manifests: BTreeMap::new(),
        blobs: BTreeMap::new(),
        new_layers: 0,
        new_layer_bytes: 0,
        reused: BTreeSet::new(),
    };
    for image in images {
        for m in &image.manifests {
            c.manifests.insert(m.digest.clone(), m.bytes.clone());
            for (i, blob) in m.blobs.iter().enumerate() {
                let is_config = i == 0;
                if !is_config && shipped.contains(&blob.digest) {
                    c.reused.insert(blob.digest.clone());
                    continue;
                }
                if !c.blobs.contains_key(&blob.digest) && !is_config {
                    c.new_layers += 1;
                    c.new_layer_bytes += blob.size;
                }
                c.blobs
                    .entry(blob.digest.clone())
                    .or_insert_with(|| (image.job.source.clone(), blob.clone()));
            }
        }
    }
    c
}

/// What steps 4 and 5 will write: the blobs not yet in the cache, and the
/// parts (every carried blob and manifest, with a tar header and padding
/// each, and 64 KiB for the head entries).
fn space_needed(
    ws: &Workspace,
    dir: &Path,
    carried: &Carried,
) -> anyhow::Result<Vec<crate::space::Need>> {
    let cache = ws.blob_cache()?;
    let mut to_cache = 0;
    for (_, blob) in carried.blobs.values() {
        if cache.size(&blob.digest)?.is_none() {
            to_cache += blob.size.saturating_sub(cache.partial_len(&blob.digest));
        }
    }
    let entries = (carried.blobs.len() + carried.manifests.len()) as u64;
    let archive = carried.blobs.values().map(|(_, b)| b.size).sum::<u64>()
        + carried
            .manifests
            .values()
            .map(|m| m.len() as u64)
            .sum::<u64>()
        + entries * 1024
        + (64 << 10);
    Ok(vec![
        crate::space::Need {
            path: ws.working_dir(),
            bytes: to_cache,
            what: "the blob cache",
        },
        crate::space::Need {
            path: dir.to_path_buf(),
            bytes: archive,
            what: "the imageset parts",
        },
    ])
}

/// Step 5: `DIR/mirror_seq<N>_<NNNNNN>.tar`,
/// split at the part size, entries sorted by digest after the three head
/// entries; the metadata (written last, into the room reserved for it) names
/// the parts.
async fn write_parts(
    ctx: &Context,
    ws: &Workspace,
    dir: &Path,
    images: &[ResolvedImage],
    carried: &Carried,
    attachments: &[Attachment],
    meta: &mut Metadata,
) -> anyhow::Result<Vec<WrittenPart>> {
    meta.blobs = carried
        .blobs
        .iter()
        .map(|(d, (_, desc))| BlobRecord {
            digest: d.clone(),
            size: desc.size,
        })
        .collect();
    // Attachments travel as blobs of their own, every time (they are small).
    let mut attachment_entries = Vec::new();
    for a in attachments {
        let digest = Digest::of(&a.data);
        meta.attachments.push(AttachmentRecord {
            name: a.name.clone(),
            media_type: a.media_type.clone(),
            digest: digest.clone(),
            size: a.data.len() as u64,
        });
        if !carried.blobs.contains_key(&digest) && !meta.blobs.iter().any(|b| b.digest == digest) {
            meta.blobs.push(BlobRecord {
                digest: digest.clone(),
                size: a.data.len() as u64,
            });
            let path = imageset::blob_entry_path(&digest);
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
                ref_name: recorded_destination(&i.job.destination),
            })
        })
        .collect();
    let mut contents: BTreeMap<String, Entry> = BTreeMap::new();
    for (digest, bytes) in &carried.manifests {
        let path = imageset::blob_entry_path(digest);
        contents.insert(path.clone(), Entry::bytes(path, bytes.clone()));
    }
    for (digest, (_, desc)) in &carried.blobs {
        let path = imageset::blob_entry_path(digest);
        contents
            .entry(path.clone())
            .or_insert_with(|| Entry::file(path, desc.size, ws.blob_path(digest)));
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

    let mut writer = ImagesetWriter::new(
        dir.to_path_buf(),
        WriteOptions {
            sequence: meta.sequence,
            max_part_bytes: ctx.settings.max_part_bytes,
            mtime: ctx.settings.reproducible_time(),
        },
        entries,
    )?;
    meta.parts = writer.plan().iter().map(|p| p.name.clone()).collect();
    writer.set_metadata(Bytes::from(meta.to_canonical_bytes()))?;
    Ok(tokio::task::spawn_blocking(move || writer.write())
        .await
        .context("the archive writer stopped")??)
}
