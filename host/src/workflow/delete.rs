//! Delete and prune: take out of the mirror what is no longer wanted, one
//! way, and never an image that content the mirror keeps still needs.
//!
//! # Delete, in two phases (as oc-mirror v2)
//! 1. **Generate** (`oc-mirror delete --generate -c delete-isc.yaml
//!    --workspace file://WS docker://REG/PREFIX`), on the connected side: the
//!    content sources run on the `delete:` sections to find what they name;
//!    the workspace's metadata says which of those images its sequences
//!    brought to the mirror, and where. Each is judged ([`judge`]) and listed
//!    in `WS/working-dir/delete/delete-images.yaml` (a `DeleteImageList`),
//!    with the delete's own record: a document of the metadata chain
//!    ([`Metadata::deleted`]) recorded in the workspace at once, so that the
//!    next imageset carries again whatever a configuration asks for again.
//! 2. **Execute** (`oc-mirror delete --delete-yaml-file FILE docker://REG/PREFIX`),
//!    on the disconnected side, from the file alone: checks the file belongs
//!    to the workspace the mirror was fed from, judges every image again
//!    against the mirror's own record, deletes manifests (the tag's digest,
//!    then the platform manifests nothing kept shares), and records the
//!    delete in the mirror, last. Blobs are the registry's garbage
//!    collector's work. Run again, it finishes what an interrupted run left
//!    and reports what was already gone.
//!
//! # Prune
//! A sequence lists the images earlier ones brought that its configuration no
//! longer selects ([`Metadata::unselected`]); `--prune` on publish and on
//! mirror to mirror deletes them by the same rules ([`prune`]).
//!
//! # What is never deleted
//! An image the latest configuration still selects; a manifest a kept image
//! in the same repository still needs (a release component shared with a
//! release that stays, a child of an index that stays) — its tag alone goes
//! where the registry allows; a tag that was pushed again since it was
//! recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::Context;
use crate::backend::{Backend, LocalBackend};
use crate::config::{DeleteImageSetConfiguration, ImageSetConfiguration, Mirror};
use crate::digest::Digest;
use crate::metadata::{ImageRecord, Metadata, Sequence};
use crate::reference::{MirrorTarget, Reference, at_digest, recorded_destination};
use crate::registry::{DeleteOutcome, RegistryClient};
use crate::workspace::Workspace;

/// `apiVersion` of the delete list, as oc-mirror v2 writes it.
pub const DELETE_LIST_API_VERSION: &str = "mirror.openshift.io/v2alpha1";
/// `kind` of the delete list.
pub const DELETE_LIST_KIND: &str = "DeleteImageList";
/// Where generate writes, below `working-dir`.
const DELETE_DIR: &str = "delete";

/// `delete-images.yaml`: oc-mirror v2's `DeleteImageList` (`items[]` with
/// `imageName`, `imageReference`, `type`), plus what this implementation
/// adds: each item's digest, the images kept and why, and the delete's
/// record in the metadata chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteList {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub items: Vec<DeleteItem>,
    /// Images the configuration names that stay, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptItem>,
    /// The workspace UUID this delete belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The delete's document of the metadata chain (canonical JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

/// One image to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteItem {
    /// Where it came from.
    pub image_name: String,
    /// Where it is: `docker://REG/PREFIX/path:tag`.
    pub image_reference: String,
    /// oc-mirror v2's image type (`ocpRelease`, `operatorCatalog`, `generic`…).
    #[serde(rename = "type")]
    pub image_type: String,
    /// The manifest digest the tag held when it was mirrored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Its manifests that images which stay still need: never deleted (when
    /// the top one is among them, only the tag goes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_manifests: Vec<Digest>,
}

/// An image the configuration names that is not deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptItem {
    pub image_reference: String,
    pub reason: String,
}

/// What becomes of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its manifests go.
    Delete,
    /// Its manifest is shared with `with`, which stays: only the tag goes.
    TagOnly { with: String },
    /// It stays.
    Keep { reason: String },
}

/// What becomes of one image, and which of its manifests images that stay
/// still need (never deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub shared: BTreeSet<Digest>,
}

impl Judgement {
    /// Protects `more` of the image's manifests too (what the generating side
    /// knew to be shared): when its own manifest is among them, only the tag
    /// may go.
    fn protect(&mut self, image: &ImageRecord, more: &[Digest]) {
        self.shared.extend(more.iter().cloned());
        if self.verdict == Verdict::Delete && self.shared.contains(&image.digest) {
            self.verdict = Verdict::TagOnly {
                with: "an image that stays".into(),
            };
        }
    }
}

/// Judges each of `targets` against what stays: `held` (every image the
/// mirror may hold, by destination, see [`crate::metadata::History::held`])
/// less the targets that go, and `selected` (what the latest configuration
/// selects, with its sequence: those targets stay).
pub fn judge(
    targets: &[ImageRecord],
    held: &BTreeMap<String, ImageRecord>,
    selected: Option<(Sequence, &[&ImageRecord])>,
) -> Vec<Judgement> {
    let verdicts: Vec<Verdict> = targets
        .iter()
        .map(|t| match selected {
            Some((seq, images)) if images.iter().any(|i| i.destination == t.destination) => {
                Verdict::Keep {
                    reason: format!(
                        "the configuration of sequence {seq} still selects it\nhint: remove it from the ImageSetConfiguration and mirror a new sequence first"
                    ),
                }
            }
            _ => Verdict::Delete,
        })
        .collect();
    let going: HashSet<&str> = targets
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| !matches!(v, Verdict::Keep { .. }))
        .map(|(t, _)| t.destination.as_str())
        .collect();
    let kept = kept_manifests(held, &going);
    targets
        .iter()
        .zip(verdicts)
        .map(|(t, verdict)| {
            let repo = repository_of(&t.destination);
            let shared = t
                .manifests
                .iter()
                .chain(std::iter::once(&t.digest))
                .filter(|m| kept.contains_key(&(repo, *m)))
                .cloned()
                .collect();
            let verdict = match (verdict, kept.get(&(repo, &t.digest))) {
                (Verdict::Delete, Some(with)) => Verdict::TagOnly {
                    with: with.to_string(),
                },
                (verdict, _) => verdict,
            };
            Judgement { verdict, shared }
        })
        .collect()
}

/// Every manifest an image that stays needs, by (repository, digest), with
/// the destination of one image that needs it.
fn kept_manifests<'a>(
    held: &'a BTreeMap<String, ImageRecord>,
    going: &HashSet<&str>,
) -> HashMap<(&'a str, &'a Digest), &'a str> {
    let mut kept = HashMap::new();
    for (dest, image) in held {
        if going.contains(dest.as_str()) {
            continue;
        }
        for m in image.manifests.iter().chain(std::iter::once(&image.digest)) {
            kept.entry((repository_of(dest), m))
                .or_insert(dest.as_str());
        }
    }
    kept
}

/// `path` of a recorded `path:tag`.
fn repository_of(destination: &str) -> &str {
    destination
        .rsplit_once(':')
        .map_or(destination, |(path, _)| path)
}

/// oc-mirror v2's name for the type of an image.
fn v2_type(image: &ImageRecord) -> &'static str {
    match (image.kind.as_str(), image.origin.as_str()) {
        ("release-payload", _) => "ocpRelease",
        ("release-component", _) => "ocpReleaseContent",
        ("graph-image", _) => "cincinnatiGraph",
        ("operator-catalog", _) => "operatorCatalog",
        ("operator-image", _) => "operatorRelatedImage",
        (_, "helm") => "helmImage",
        _ => "generic",
    }
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Its manifests were deleted.
    Deleted,
    /// Only its tag was deleted (its manifest stays for another image).
    Untagged,
    /// Nothing was there any more.
    AlreadyGone,
    /// `--dry-run`: it would be deleted (or untagged).
    WouldDelete,
    /// It stays, for this reason.
    Kept(String),
}

/// What a delete or a prune did, image by image (`docker://…` reference,
/// outcome).
#[derive(Debug, Default)]
pub struct RemovalReport {
    pub images: Vec<(String, Removal)>,
    /// Manifests deleted, platform manifests and signatures included.
    pub manifests_deleted: usize,
}

impl RemovalReport {
    pub fn count(&self, f: impl Fn(&Removal) -> bool) -> usize {
        self.images.iter().filter(|(_, r)| f(r)).count()
    }

    /// Adds what another delete did (publish prunes sequence after sequence).
    pub fn absorb(&mut self, other: RemovalReport) {
        self.images.extend(other.images);
        self.manifests_deleted += other.manifests_deleted;
    }
}

/// How to delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    pub dry_run: bool,
    /// Also delete the cosign signature tag (`sha256-<hex>.sig`) of each image.
    pub signatures: bool,
}

/// Deletes `targets` from the mirror, each by its verdict. A registry that
/// refuses to delete stops the run with its message; nothing after it is
/// tried.
pub async fn remove(
    client: &RegistryClient,
    target: &MirrorTarget,
    targets: &[ImageRecord],
    judged: &[Judgement],
    options: RemoveOptions,
) -> anyhow::Result<RemovalReport> {
    let mut report = RemovalReport::default();
    for (image, Judgement { verdict, shared }) in targets.iter().zip(judged) {
        let tagged = target.place_recorded(&image.destination)?;
        let outcome = match verdict {
            Verdict::Keep { reason } => Removal::Kept(reason.clone()),
            Verdict::TagOnly { .. } if options.dry_run => Removal::WouldDelete,
            Verdict::TagOnly { with } => match client.delete_manifest(&tagged).await {
                Ok(DeleteOutcome::Deleted) => {
                    report.manifests_deleted += 1;
                    Removal::Untagged
                }
                Ok(DeleteOutcome::NotFound) => Removal::AlreadyGone,
                Err(e) if e.is_delete_refused() => Removal::Kept(format!(
                    "its manifest is shared with `{with}`, which stays, and {} cannot delete a tag alone",
                    target.registry
                )),
                Err(e) => return Err(e.into()),
            },
            Verdict::Delete => {
                let current = client.manifest_digest(&tagged).await?;
                match current {
                    Some(now) if now != image.digest => Removal::Kept(format!(
                        "the tag now holds {now}, not the {} it was mirrored with: it was pushed again since",
                        image.digest
                    )),
                    _ if options.dry_run => Removal::WouldDelete,
                    _ => {
                        let by_digest = |d: &Digest| at_digest(&tagged, d);
                        let top = client.delete_manifest(&by_digest(&image.digest)).await?;
                        let mut deleted = usize::from(top == DeleteOutcome::Deleted);
                        for child in image.manifests.iter().filter(|m| **m != image.digest) {
                            if shared.contains(child) {
                                continue;
                            }
                            if client.delete_manifest(&by_digest(child)).await?
                                == DeleteOutcome::Deleted
                            {
                                deleted += 1;
                            }
                        }
                        if options.signatures {
                            deleted += delete_signature(client, &tagged, &image.digest).await?;
                        }
                        report.manifests_deleted += deleted;
                        if current.is_none() && top == DeleteOutcome::NotFound {
                            Removal::AlreadyGone
                        } else {
                            Removal::Deleted
                        }
                    }
                }
            }
        };
        info!("{}: {}", tagged.whole(), describe(&outcome));
        report
            .images
            .push((format!("docker://{}", tagged.whole()), outcome));
    }
    Ok(report)
}

/// Deletes the cosign signature of `digest` (tag `sha256-<hex>.sig`), if any.
async fn delete_signature(
    client: &RegistryClient,
    image: &Reference,
    digest: &Digest,
) -> anyhow::Result<usize> {
    let tag = Reference::with_tag(
        image.registry().to_string(),
        image.repository().to_string(),
        format!("sha256-{}.sig", digest.hex()),
    );
    let Some(sig) = client.manifest_digest(&tag).await? else {
        return Ok(0);
    };
    Ok(usize::from(
        client.delete_manifest(&at_digest(image, &sig)).await? == DeleteOutcome::Deleted,
    ))
}

/// A short description of an outcome, for logs and summaries.
pub fn describe(r: &Removal) -> String {
    match r {
        Removal::Deleted => "deleted".into(),
        Removal::Untagged => "tag deleted (its manifest stays for another image)".into(),
        Removal::AlreadyGone => "already gone".into(),
        Removal::WouldDelete => "would be deleted".into(),
        Removal::Kept(reason) => format!("kept: {reason}"),
    }
}

/// Prunes what a sequence no longer selects: `unselected` (see
/// [`Metadata::unselected`]) from the mirror, by the rules of [`judge`],
/// where `held` is everything the mirror may hold once the sequence is in.
pub async fn prune(
    client: &RegistryClient,
    target: &MirrorTarget,
    meta: &Metadata,
    held: &BTreeMap<String, ImageRecord>,
) -> anyhow::Result<RemovalReport> {
    let selected: Vec<&ImageRecord> = meta.images.iter().collect();
    let judged = judge(&meta.unselected, held, Some((meta.sequence, &selected)));
    remove(
        client,
        target,
        &meta.unselected,
        &judged,
        RemoveOptions::default(),
    )
    .await
}

/// What generate did.
pub struct GenerateReport {
    /// `delete-images.yaml` and the configuration beside it.
    pub file: PathBuf,
    pub config_file: PathBuf,
    pub list: DeleteList,
    /// Images the configuration names that this workspace never brought to
    /// the mirror (or that an earlier delete took out).
    pub absent: Vec<String>,
    /// The delete's sequence in the chain (none when nothing is deleted).
    pub sequence: Option<Sequence>,
}

/// Phase 1: the delete list of what `config` names, from the workspace's
/// metadata; recorded in the workspace's chain.
pub async fn generate(
    ctx: &Context,
    config: &DeleteImageSetConfiguration,
    workspace: &Path,
    target: &MirrorTarget,
    delete_id: Option<&str>,
) -> anyhow::Result<GenerateReport> {
    let backend = LocalBackend::new(crate::workspace::metadata_dir(workspace));
    let Some(history) = backend.history().await? else {
        bail!(
            "`{}` has no metadata: no imageset was created and nothing was mirrored from this workspace\nhint: give the `--workspace` that created the imagesets (or mirrored) what is to be deleted",
            workspace.display()
        );
    };
    let ws = Workspace::open(workspace)?;
    let named = named_images(ctx, config, &ws).await?;
    let held = history.held(history.latest().sequence);
    let (targets, absent) = match_held(&named, &held);
    let (selected_seq, selected) = history.selection();
    let judged = judge(&targets, &held, Some((selected_seq, &selected)));

    let reference = |i: &ImageRecord| -> anyhow::Result<String> {
        Ok(format!(
            "docker://{}",
            target.place_recorded(&i.destination)?.whole()
        ))
    };
    let mut list = DeleteList {
        api_version: DELETE_LIST_API_VERSION.into(),
        kind: DELETE_LIST_KIND.into(),
        items: Vec::new(),
        kept: Vec::new(),
        workspace: Some(history.uuid().to_string()),
        record: None,
    };
    let mut deleted = Vec::new();
    for (image, Judgement { verdict, shared }) in targets.iter().zip(judged) {
        match verdict {
            Verdict::Keep { reason } => list.kept.push(KeptItem {
                image_reference: reference(image)?,
                reason,
            }),
            Verdict::Delete | Verdict::TagOnly { .. } => {
                list.items.push(DeleteItem {
                    image_name: image.source.clone(),
                    image_reference: reference(image)?,
                    image_type: v2_type(image).into(),
                    digest: Some(image.digest.clone()),
                    shared_manifests: shared.into_iter().collect(),
                });
                deleted.push(image.clone());
            }
        }
    }
    list.items
        .sort_by(|a, b| a.image_reference.cmp(&b.image_reference));

    let mut record = None;
    if !deleted.is_empty() {
        let mut r = history.successor(
            serde_json::to_value(config).context("cannot record the delete configuration")?,
            ctx.settings.reproducible_time(),
        );
        r.deleted = deleted;
        r.normalize();
        list.record = Some(String::from_utf8_lossy(&r.to_canonical_bytes()).into_owned());
        record = Some(r);
    }
    // The list first: a recorded delete always has its file.
    let (file, config_file) = write_list(&ws, &list, config, delete_id)?;
    if let Some(r) = &record {
        backend.record(r).await?;
        info!(
            "delete recorded as sequence {} of workspace {}",
            r.sequence,
            history.uuid()
        );
    }
    let sequence = record.map(|r| r.sequence);
    Ok(GenerateReport {
        file,
        config_file,
        list,
        absent,
        sequence,
    })
}

/// Writes `delete/delete-images[-ID].yaml` and
/// `delete/delete-imageset-config[-ID].yaml`.
fn write_list(
    ws: &Workspace,
    list: &DeleteList,
    config: &DeleteImageSetConfiguration,
    delete_id: Option<&str>,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let suffix = delete_id.map(|id| format!("-{id}")).unwrap_or_default();
    let yaml = serde_norway::to_string(list).context("cannot write the delete list")?;
    let file = ws.write_file(
        &format!("{DELETE_DIR}/delete-images{suffix}.yaml"),
        yaml.as_bytes(),
    )?;
    let config_yaml =
        serde_norway::to_string(config).context("cannot write the delete configuration")?;
    let config_file = ws.write_file(
        &format!("{DELETE_DIR}/delete-imageset-config{suffix}.yaml"),
        config_yaml.as_bytes(),
    )?;
    Ok((file, config_file))
}

/// What the content sources name for the `delete:` sections: per image its
/// source (none for images built or assembled) and its recorded destination
/// (`path:tag`, or `path` for a build tagged by its digest).
async fn named_images(
    ctx: &Context,
    config: &DeleteImageSetConfiguration,
    ws: &Workspace,
) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let d = &config.delete;
    let isc = ImageSetConfiguration {
        api_version: config.api_version,
        kind: "ImageSetConfiguration".into(),
        archive_size: None,
        storage_config: None,
        mirror: Mirror {
            platform: d.platform.clone(),
            operators: d.operators.clone(),
            additional_images: d.additional_images.clone(),
            blocked_images: Vec::new(),
            helm: d.helm.clone(),
            samples: d.samples.clone(),
        },
        plugins: Vec::new(),
    };
    let host = ctx.plugin_host(ws)?;
    let source = ctx.source_client();
    let sources =
        crate::sources::Sources::load(host, Some(source), ctx.settings.release.clone(), Vec::new())
            .await?;
    let target = MirrorTarget {
        registry: super::create::UNKNOWN_MIRROR.to_string(),
        namespace: None,
    };
    let planned = sources
        .build_plan(&isc, &target, &Default::default())
        .await?;
    let mut named: Vec<(Option<String>, String)> = planned
        .plan
        .images
        .iter()
        .map(|j| (Some(j.source.whole()), recorded_destination(&j.destination)))
        .collect();
    named.extend(
        planned
            .builds
            .iter()
            .map(|(_, b)| (None, b.destination.clone())),
    );
    named.extend(
        planned
            .artifacts
            .iter()
            .map(|(_, a)| (None, a.destination.clone())),
    );
    Ok(named)
}

/// The held images `named` names, and the names that match nothing held.
fn match_held(
    named: &[(Option<String>, String)],
    held: &BTreeMap<String, ImageRecord>,
) -> (Vec<ImageRecord>, Vec<String>) {
    let mut found: BTreeMap<String, ImageRecord> = BTreeMap::new();
    let mut absent = Vec::new();
    for (source, dest) in named {
        let tagged = dest.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
        let hits: Vec<&ImageRecord> = held
            .values()
            .filter(|h| {
                if tagged {
                    h.destination == *dest && source.as_ref().is_none_or(|s| *s == h.source)
                } else {
                    repository_of(&h.destination) == dest
                }
            })
            .collect();
        if hits.is_empty() {
            absent.push(source.clone().unwrap_or_else(|| dest.clone()));
        }
        for h in hits {
            found.insert(h.destination.clone(), h.clone());
        }
    }
    absent.sort();
    absent.dedup();
    (found.into_values().collect(), absent)
}

/// What execute did.
pub struct ExecuteReport {
    pub target: MirrorTarget,
    pub removal: RemovalReport,
    /// The delete's sequence, when recorded in the mirror (now or before).
    pub recorded: Option<Sequence>,
    /// Whether the mirror had recorded it before this run (a rerun).
    pub resumed: bool,
    /// Blobs removed from the workspace cache (`--force-cache-delete`).
    pub cache_blobs_removed: usize,
    pub dry_run: bool,
}

/// Phase 2: deletes what `file` lists from the mirror at `target`.
pub async fn execute(
    ctx: &Context,
    file: &Path,
    target: &MirrorTarget,
    options: RemoveOptions,
    cache_workspace: Option<&Path>,
) -> anyhow::Result<ExecuteReport> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the delete list `{}`", file.display()))?;
    let list: DeleteList = serde_norway::from_str(&text)
        .with_context(|| format!("`{}` is not a delete list", file.display()))?;
    if list.kind != DELETE_LIST_KIND {
        bail!(
            "`{}` has kind `{}`, not `{DELETE_LIST_KIND}`\nhint: give the file `oc-mirror delete --generate` wrote (`working-dir/delete/delete-images.yaml`)",
            file.display(),
            list.kind
        );
    }
    let record = match &list.record {
        Some(r) => Some(
            Metadata::from_slice(r.as_bytes())
                .with_context(|| format!("the record in `{}`", file.display()))?,
        ),
        None => None,
    };
    if let (Some(r), Some(uuid)) = (&record, &list.workspace)
        && (&r.uuid != uuid || !r.is_delete())
    {
        bail!(
            "`{}` is inconsistent: its record is not a delete of workspace `{uuid}`",
            file.display()
        );
    }
    let targets = targets_of(&list, record.as_ref(), target)?;

    let client = ctx.destination_client();
    let backend = super::publish::mirror_backend(client.clone(), target)?;
    let history = backend.history().await?;
    let mut resumed = false;
    if let (Some(h), Some(r)) = (&history, &record) {
        if h.uuid() != r.uuid {
            bail!(
                "the delete list belongs to workspace `{}`, but {target} is fed from workspace `{}`: nothing was deleted\nhint: use the delete list generated from the workspace that feeds this mirror",
                r.uuid,
                h.uuid()
            );
        }
        resumed = h.get(r.sequence).is_some_and(|m| m.digest() == r.digest());
        if !resumed {
            crate::metadata::check_successor(Some(h), r).with_context(|| {
                format!(
                    "the delete (sequence {}) does not follow what {target} holds (sequence {})\nhint: publish the imagesets created before the delete was generated first",
                    r.sequence,
                    h.latest().sequence
                )
            })?;
        }
    } else if history.is_none() {
        warn!(
            "{target} keeps no record of what it holds (it was mirrored to, not published to): the delete list is followed as generated"
        );
    }

    // Judged again against the mirror's own record (the images being
    // deleted need not be in it), and what the generating side knew to be
    // shared protected too: all of it, when the mirror keeps no record.
    let held = history
        .as_ref()
        .map(|h| h.held(h.latest().sequence))
        .unwrap_or_default();
    let selection = history.as_ref().filter(|_| !resumed).map(|h| h.selection());
    let mut judged = judge(
        &targets,
        &held,
        selection
            .as_ref()
            .map(|(seq, images)| (*seq, images.as_slice())),
    );
    for ((item, image), j) in list.items.iter().zip(&targets).zip(&mut judged) {
        j.protect(image, &item.shared_manifests);
    }
    let removal = remove(&client, target, &targets, &judged, options).await?;

    let mut recorded = None;
    if let Some(r) = &record {
        if resumed {
            recorded = Some(r.sequence);
        } else if history.is_some() && !options.dry_run {
            backend.record(r).await?;
            recorded = Some(r.sequence);
        }
    }
    let mut cache_blobs_removed = 0;
    if let Some(dir) = cache_workspace
        && !options.dry_run
    {
        cache_blobs_removed = remove_from_cache(dir, &targets, &removal, &held)?;
    }
    Ok(ExecuteReport {
        target: target.clone(),
        removal,
        recorded,
        resumed,
        cache_blobs_removed,
        dry_run: options.dry_run,
    })
}

/// The images a delete list names, as records: from its record where it has
/// one (digests of every manifest and blob), else from the items.
fn targets_of(
    list: &DeleteList,
    record: Option<&Metadata>,
    target: &MirrorTarget,
) -> anyhow::Result<Vec<ImageRecord>> {
    let prefix = format!("docker://{}/", target.prefix());
    let mut out = Vec::new();
    for item in &list.items {
        let Some(relative) = item.image_reference.strip_prefix(&prefix) else {
            bail!(
                "`{}` in the delete list is not under {target}: nothing was deleted\nhint: give the destination the delete list was generated for",
                item.image_reference
            );
        };
        let from_record = record.and_then(|r| r.deleted.iter().find(|d| d.destination == relative));
        match (from_record, &item.digest) {
            (Some(r), _) => out.push(r.clone()),
            (None, Some(digest)) => out.push(ImageRecord {
                source: item.image_name.clone(),
                destination: relative.to_string(),
                digest: digest.clone(),
                media_type: String::new(),
                origin: String::new(),
                kind: String::new(),
                manifests: vec![digest.clone()],
                blobs: Vec::new(),
            }),
            (None, None) => bail!(
                "`{}` in the delete list has no digest: this oc-mirror deletes only what it can check\nhint: generate the delete list with this oc-mirror (`oc-mirror delete --generate`)",
                item.image_reference
            ),
        }
    }
    Ok(out)
}

/// `--force-cache-delete`: the blobs of the deleted images that nothing
/// kept needs, out of the workspace cache.
fn remove_from_cache(
    dir: &Path,
    targets: &[ImageRecord],
    removal: &RemovalReport,
    held: &BTreeMap<String, ImageRecord>,
) -> anyhow::Result<usize> {
    let ws = Workspace::open(dir)?;
    let cache = ws.blob_cache()?;
    let gone: HashSet<&str> = targets
        .iter()
        .zip(&removal.images)
        .filter(|(_, (_, r))| matches!(r, Removal::Deleted | Removal::AlreadyGone))
        .map(|(t, _)| t.destination.as_str())
        .collect();
    let needed: HashSet<&Digest> = held
        .iter()
        .filter(|(d, _)| !gone.contains(d.as_str()))
        .flat_map(|(_, i)| i.manifests.iter().chain(&i.blobs))
        .collect();
    let mut removed = 0;
    for t in targets
        .iter()
        .filter(|t| gone.contains(t.destination.as_str()))
    {
        for d in t.manifests.iter().chain(&t.blobs) {
            if !needed.contains(d) && cache.remove(d)? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::d;

    fn image(dest: &str, digest: u8, children: &[u8]) -> ImageRecord {
        ImageRecord {
            source: format!("src.example/{dest}"),
            destination: dest.into(),
            digest: d(digest),
            media_type: String::new(),
            origin: "platform".into(),
            kind: "release-component".into(),
            manifests: std::iter::once(digest)
                .chain(children.iter().copied())
                .map(d)
                .collect(),
            blobs: Vec::new(),
        }
    }

    fn held(images: &[ImageRecord]) -> BTreeMap<String, ImageRecord> {
        images
            .iter()
            .map(|i| (i.destination.clone(), i.clone()))
            .collect()
    }

    #[test]
    fn shared_manifests_and_selected_images_stay() {
        let old_etcd = image("openshift/release:4.18.1-etcd", 1, &[]);
        let new_etcd = image("openshift/release:4.18.2-etcd", 1, &[]);
        let old_only = image("openshift/release:4.18.1-cli", 2, &[]);
        let app = image("app:1", 3, &[4]);
        let held = held(&[
            old_etcd.clone(),
            new_etcd.clone(),
            old_only.clone(),
            app.clone(),
        ]);
        let selected = [&new_etcd, &app];
        let child = image("app:sha256-child", 4, &[]);
        let v: Vec<Verdict> = judge(
            &[old_etcd, old_only, app.clone(), child],
            &held,
            Some((3, &selected)),
        )
        .into_iter()
        .map(|j| j.verdict)
        .collect();
        assert_eq!(
            v[0],
            Verdict::TagOnly {
                with: "openshift/release:4.18.2-etcd".into()
            }
        );
        assert_eq!(v[1], Verdict::Delete);
        assert!(matches!(&v[2], Verdict::Keep { reason } if reason.contains("sequence 3")));
        // A child of an index that stays.
        assert_eq!(
            v[3],
            Verdict::TagOnly {
                with: "app:1".into()
            }
        );
    }

    #[test]
    fn two_images_going_together_do_not_protect_each_other() {
        let a = image("r:a", 1, &[]);
        let b = image("r:b", 1, &[]);
        let v = judge(&[a.clone(), b.clone()], &held(&[a, b]), None);
        assert!(
            v.iter()
                .all(|j| j.verdict == Verdict::Delete && j.shared.is_empty())
        );
    }

    #[test]
    fn delete_list_reads_oc_mirror_v2_files() {
        let text = "apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageList\nitems:\n  - imageName: quay.io/a/b@sha256:c32a883a6ca7b2e7a58b9dd99a5e8d056bdbbc9d79d8486b2e4c7e07c3dc4512\n    imageReference: docker://localhost:5000/m/openshift/release:4.15.12-x86_64-agent\n    type: ocpReleaseContent\n";
        let list: DeleteList = serde_norway::from_str(text).unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].image_type, "ocpReleaseContent");
        let target = MirrorTarget::parse("docker://localhost:5000/m").unwrap();
        // Without a digest the item cannot be checked, and is refused.
        let err = targets_of(&list, None, &target).unwrap_err().to_string();
        assert!(err.contains("no digest"), "{err}");
        let other = MirrorTarget::parse("docker://localhost:5000/other").unwrap();
        let err = targets_of(&list, None, &other).unwrap_err().to_string();
        assert!(err.contains("not under"), "{err}");
    }
}
