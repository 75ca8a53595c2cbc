//! The metadata: the record of every synchronisation of one workspace.
//!
//! The connected side and the disconnected side never talk to each other; the
//! metadata is the only contract between them. Each run that creates (or
//! mirrors) an imageset records one [`Metadata`] document: which workspace it
//! comes from (the UUID), its place in the chain (the sequence and a digest of
//! the previous document), the configuration it was made from, every image it
//! covers and the blobs those images need, and the blobs its archive actually
//! carries. Publish reads the same document out of the archive and checks it
//! against the mirror's own history before pushing anything; the next create
//! reads the history to ship only blobs no earlier sequence shipped.
//!
//! # Format (version 1)
//!
//! One JSON document per sequence, stored as its *canonical bytes*
//! ([`Metadata::to_canonical_bytes`]): pretty-printed with two-space indentation
//! and a final newline, object members in the order the fields are declared
//! below (keys inside `config` and `pluginState` sorted), `images` sorted by
//! destination then source, `blobs` sorted by digest, and the digest lists
//! inside each image sorted and without duplicates. `parts` keeps its order
//! (the order of the archive files). The digest of a document
//! ([`Metadata::digest`]) is the `sha256:` of these bytes, so two runs that
//! record the same thing produce byte-identical files, wherever they run.
//!
//! ```json
//! {
//!   "formatVersion": 1,
//!   "uuid": "360a43c2-8a14-4b5d-906b-07491459f25f",
//!   "sequence": 2,
//!   "parent": { "sequence": 1, "digest": "sha256:…" },
//!   "created": 0,
//!   "config": { "apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration", "mirror": { … } },
//!   "images": [
//!     { "source": "quay.io/example/app:1.0", "destination": "example/app:1.0",
//!       "digest": "sha256:…", "mediaType": "application/vnd.oci.image.index.v1+json",
//!       "origin": "additionalImages", "manifests": ["sha256:…"], "blobs": ["sha256:…"] }
//!   ],
//!   "blobs": [ { "digest": "sha256:…", "size": 1234 } ],
//!   "parts": ["mirror_seq2_000000.tar"],
//!   "since": 1,
//!   "pluginState": { "operators": { … } }
//! }
//! ```
//!
//! Members are camelCase; unknown members are refused (a misspelt or foreign
//! field is an error, not silently dropped), and a document whose
//! `formatVersion` is newer than [`FORMAT_VERSION`] is refused before anything
//! else is read, so that an old oc-mirror never misreads a newer chain.
//!
//! # The chain
//!
//! A [`History`] is the ordered list of the documents one place holds for one
//! UUID. Each document names its parent (the previous sequence and the digest
//! of its canonical bytes), so a history that was edited, reordered or mixed
//! with another workspace's is detected ([`History::verify_chain`]). `since` is
//! the sequence an imageset's blob selection was computed against: normally the
//! previous one, lower when an imageset is re-created against an earlier
//! sequence (to replace a lost archive), absent for a full imageset. A place
//! may therefore hold a history with a gap (a mirror that never received the
//! lost sequence), but only where a later document's `since` says the gap does
//! not matter; see [`check_successor`].

use std::collections::{BTreeMap, HashSet};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use crate::digest::Digest;

/// Version of the metadata format written by this oc-mirror. A document with a
/// higher version is refused ([`MetadataError::UnsupportedVersion`]).
pub const FORMAT_VERSION: u32 = 2;

/// The number of an imageset in its workspace's chain: 1 for the first (full)
/// one, then 2, 3… The one type for it everywhere: metadata, backends,
/// imageset part names.
pub type Sequence = u64;

/// A metadata document or history that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The document was written by a newer oc-mirror.
    #[error(
        "metadata format version {found} is newer than this oc-mirror understands (up to {supported})\nhint: use the oc-mirror release that created it, or a newer one"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    /// Not JSON, a missing or unknown field, a value of the wrong type.
    #[error(
        "metadata is not valid: {reason}\nhint: it was damaged, or not written by oc-mirror; copy it again, or create it again on the connected side"
    )]
    Parse { reason: String },
    /// The document parses but contradicts itself (sequence 0, a parent on
    /// sequence 1, a malformed digest…).
    #[error("metadata of sequence {sequence} is not valid: {reason}")]
    Invalid { sequence: Sequence, reason: String },
    /// A parent digest does not match the digest of the previous document.
    #[error(
        "metadata chain is broken at sequence {sequence}: it names a parent with digest `{found}`, but the recorded parent has `{expected}`\nhint: the history was altered, or this imageset was created from a different history of the same workspace"
    )]
    ChainBroken {
        sequence: Sequence,
        expected: String,
        found: String,
    },
    /// The document belongs to another workspace's chain.
    #[error(
        "metadata belongs to workspace `{found}`, but this history belongs to workspace `{expected}`\nhint: a mirror is fed from one workspace only; use the workspace that created the earlier imagesets, or start a new mirror (or metadata storage) for the other one"
    )]
    UuidMismatch { expected: String, found: String },
    /// The sequence is not the next one (already recorded, or one is missing).
    #[error("{}", out_of_order(*expected, *found))]
    SequenceOutOfOrder { expected: Sequence, found: Sequence },
    /// The sequence was computed against a sequence this history does not hold.
    #[error(
        "sequence {sequence} was created against sequence {since}, which this history does not hold\nhint: re-create the imageset against a sequence this history holds (its latest, or an earlier one)"
    )]
    BaseMissing { sequence: Sequence, since: Sequence },
    /// A history without any document.
    #[error("metadata history is empty")]
    EmptyHistory,
}

fn out_of_order(expected: Sequence, found: Sequence) -> String {
    if found < expected {
        format!(
            "sequence {found} is out of order: it is already recorded (the next one is {expected})\nhint: this imageset was already published; create a new one"
        )
    } else {
        format!(
            "sequence {found} is out of order: sequence {expected} comes first\nhint: publish sequence {expected} first, or re-create this imageset against the latest sequence recorded here ({})",
            expected.saturating_sub(1)
        )
    }
}

/// Where a document's parent is: the previous sequence and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parent {
    /// The parent's sequence: always this document's sequence minus one.
    pub sequence: Sequence,
    /// `sha256:<hex>` of the parent's canonical bytes ([`Metadata::digest`]).
    pub digest: Digest,
}

/// One image covered by a sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRecord {
    /// The source reference as resolved (e.g. `quay.io/example/app:1.0`).
    pub source: String,
    /// Where the image goes, as `path:tag` relative to the mirror prefix
    /// (e.g. `example/app:1.0`), so the same record fits any mirror.
    pub destination: String,
    /// `sha256:` digest of the top-level manifest (or index), which the mirror
    /// keeps unchanged.
    pub digest: Digest,
    /// Media type of the top-level manifest.
    pub media_type: String,
    /// The configuration section the image comes from (`additionalImages`,
    /// `platform`, `operators`, `helm`, or a plugin's key).
    pub origin: String,
    /// What the image is for (`release-payload`, `release-component`,
    /// `graph-image`, `generic`…): decides its cluster resources. Absent
    /// (format 1) reads as `generic`.
    #[serde(default = "generic_kind")]
    pub kind: String,
    /// Every manifest digest of the image: the top-level one and, for an
    /// index, each platform manifest kept. Sorted, without duplicates.
    pub manifests: Vec<Digest>,
    /// Every blob digest (configs and layers) the image needs, whether or not
    /// this sequence ships it. Sorted, without duplicates.
    pub blobs: Vec<Digest>,
}

fn generic_kind() -> String {
    "generic".into()
}

/// A blob shipped in a sequence's archive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlobRecord {
    /// `sha256:<hex>` of the blob.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
}

/// The record of one synchronisation (one sequence). See the module
/// documentation for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The workspace UUID, fixed for a whole chain of imagesets.
    pub uuid: String,
    /// 1 for the first (full) imageset, then 2, 3…
    pub sequence: Sequence,
    /// The previous sequence and its digest; `None` exactly for sequence 1.
    pub parent: Option<Parent>,
    /// Seconds since 1970 from `SOURCE_DATE_EPOCH`, or 0
    /// ([`crate::timestamp::reproducible`]): never the wall clock, so that the
    /// same inputs give the same bytes.
    pub created: u64,
    /// The ImageSetConfiguration of this sequence, as JSON (with credentials
    /// never in it: configurations hold none).
    #[serde(serialize_with = "sorted_value")]
    pub config: serde_json::Value,
    /// The images this sequence covers, sorted by destination then source.
    pub images: Vec<ImageRecord>,
    /// The blobs shipped in this sequence's archive: only those no sequence it
    /// builds on shipped. Sorted by digest. Empty for mirror to mirror.
    pub blobs: Vec<BlobRecord>,
    /// The archive's part files (`mirror_seq<N>_<000000>.tar`…), in order;
    /// empty for mirror to mirror.
    pub parts: Vec<String>,
    /// The sequence this one's blob selection was computed against: normally
    /// `sequence - 1`, lower when re-created against an earlier sequence,
    /// `None` for a full imageset (sequence 1, or a full re-creation).
    pub since: Option<Sequence>,
    /// Each plugin's own state, by plugin name, handed back to it next time.
    #[serde(serialize_with = "sorted_map")]
    pub plugin_state: BTreeMap<String, serde_json::Value>,
    /// Files the content sources attached for the publishers (release
    /// signatures…), sorted by name. Their bytes travel as blobs of the
    /// archive. Absent in format 1.
    #[serde(default)]
    pub attachments: Vec<AttachmentRecord>,
    /// Files the content sources place where the sequence is published
    /// (e.g. `helm/charts/<chart>-<version>.tgz`), each a blob of one of its
    /// artifacts, sorted by path. Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
    /// Images earlier sequences brought to the mirror that this sequence's
    /// configuration no longer selects: what `--prune` deletes where the
    /// sequence lands. Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unselected: Vec<ImageRecord>,
    /// The images a delete takes out of the mirror. A delete is a document of
    /// its own in the chain (its `config` a `DeleteImageSetConfiguration`, no
    /// images, blobs or parts), recorded by `oc-mirror delete --generate`
    /// and again in the mirror when the delete is carried out. Absent in
    /// every other document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<ImageRecord>,
}

/// A file placed where a sequence is published (see [`Metadata::files`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileRecord {
    /// Relative to the working directory.
    pub path: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: Digest,
    pub size: u64,
}

/// A file a content source attached (see [`Metadata::attachments`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachmentRecord {
    /// The plugin's name for it, e.g. `signatures/sha256-<hex>-1`.
    pub name: String,
    pub media_type: String,
    /// `sha256:<hex>` of its bytes (a blob of the archive).
    pub digest: Digest,
    pub size: u64,
}

/// The `kind` of a delete configuration, which a delete document records.
pub const DELETE_KIND: &str = "DeleteImageSetConfiguration";

/// Sorts a list of image records as the canonical form wants them: by
/// destination then source, digest lists sorted, duplicates removed.
fn normalize_images(images: &mut Vec<ImageRecord>) {
    for image in images.iter_mut() {
        image.manifests.sort();
        image.manifests.dedup();
        image.blobs.sort();
        image.blobs.dedup();
    }
    images.sort_by(|a, b| {
        (&a.destination, &a.source)
            .cmp(&(&b.destination, &b.source))
            .then_with(|| a.cmp(b))
    });
    images.dedup();
}

/// Only the version, read first so that a newer document is refused as such
/// rather than for the fields this version does not know.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionProbe {
    format_version: Option<u32>,
}

impl Metadata {
    /// A first (full) sequence for `uuid`, with nothing in it yet.
    pub fn first(uuid: impl Into<String>, config: serde_json::Value, created: u64) -> Metadata {
        Metadata {
            format_version: FORMAT_VERSION,
            uuid: uuid.into(),
            sequence: 1,
            parent: None,
            created,
            config,
            images: Vec::new(),
            blobs: Vec::new(),
            parts: Vec::new(),
            since: None,
            plugin_state: BTreeMap::new(),
            attachments: Vec::new(),
            files: Vec::new(),
            unselected: Vec::new(),
            deleted: Vec::new(),
        }
    }

    /// Whether this document records a delete rather than an imageset.
    pub fn is_delete(&self) -> bool {
        self.config.get("kind").and_then(|k| k.as_str()) == Some(DELETE_KIND)
    }

    /// Parses and checks one document: version first, then the fields
    /// (unknown ones refused), then [`Metadata::validate`].
    pub fn from_slice(bytes: &[u8]) -> Result<Metadata, MetadataError> {
        let parse = |e: serde_json::Error| MetadataError::Parse {
            reason: e.to_string(),
        };
        let probe: VersionProbe = serde_json::from_slice(bytes).map_err(parse)?;
        match probe.format_version {
            Some(v) if v > FORMAT_VERSION => {
                return Err(MetadataError::UnsupportedVersion {
                    found: v,
                    supported: FORMAT_VERSION,
                });
            }
            Some(_) => {}
            None => {
                return Err(MetadataError::Parse {
                    reason: "missing field `formatVersion`".into(),
                });
            }
        }
        let m: Metadata = serde_json::from_slice(bytes).map_err(parse)?;
        m.validate()?;
        Ok(m)
    }

    /// Puts the document in canonical order: images by destination then
    /// source, blobs by digest (duplicates removed), each image's digest lists
    /// sorted and without duplicates. `parts` keeps its order.
    pub fn normalize(&mut self) {
        for list in [&mut self.images, &mut self.unselected, &mut self.deleted] {
            normalize_images(list);
        }
        self.blobs.sort();
        self.blobs.dedup();
        self.attachments.sort();
        self.attachments.dedup();
    }

    /// The canonical bytes: what is stored and what [`Metadata::digest`]
    /// hashes. Deterministic: the same content gives the same bytes.
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        let mut m = self.clone();
        m.normalize();
        // Serializing plain data into memory cannot fail: every map key is a
        // string and no Serialize impl here returns an error.
        let mut out = serde_json::to_vec_pretty(&m).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// `sha256:<hex>` of the canonical bytes: what a child's [`Parent::digest`]
    /// must hold.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.to_canonical_bytes())
    }

    /// Checks what a single document can say about itself: the version,
    /// sequence and parent agree, `since` is earlier, part names are well
    /// formed. (Digests are [`Digest`]s, checked when the document is parsed.)
    pub fn validate(&self) -> Result<(), MetadataError> {
        let sequence = self.sequence;
        let invalid = |reason: String| MetadataError::Invalid { sequence, reason };
        if self.format_version > FORMAT_VERSION {
            return Err(MetadataError::UnsupportedVersion {
                found: self.format_version,
                supported: FORMAT_VERSION,
            });
        }
        if self.format_version == 0 {
            return Err(invalid("`formatVersion` 0 does not exist".into()));
        }
        if self.uuid.trim().is_empty() {
            return Err(invalid("`uuid` is empty".into()));
        }
        if sequence == 0 {
            return Err(invalid("sequences start at 1".into()));
        }
        // The next sequence is this one plus one: it must exist.
        if sequence == Sequence::MAX {
            return Err(invalid(format!(
                "sequence {sequence} is too large: no sequence could follow it"
            )));
        }
        match (&self.parent, sequence) {
            (None, 1) => {}
            (Some(_), 1) => return Err(invalid("sequence 1 has no parent".into())),
            (None, _) => return Err(invalid("`parent` is missing".into())),
            (Some(p), s) => {
                if p.sequence != s - 1 {
                    return Err(invalid(format!(
                        "`parent.sequence` is {}, not {}",
                        p.sequence,
                        s - 1
                    )));
                }
            }
        }
        if let Some(since) = self.since
            && (since == 0 || since >= sequence)
        {
            return Err(invalid(format!(
                "`since` is {since}: it must name an earlier sequence (1 to {})",
                sequence - 1
            )));
        }
        for part in &self.parts {
            if part.is_empty() || part == "." || part == ".." || part.contains(['/', '\\', '\0']) {
                return Err(invalid(format!("part `{part}` is not a plain file name")));
            }
        }
        Ok(())
    }
}

/// The documents one place holds for one UUID, in sequence order, checked
/// ([`History::verify_chain`]) when made. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    sequences: Vec<Metadata>,
    /// `digests[i]` is `sequences[i].digest()`, computed once.
    digests: Vec<Digest>,
}

impl History {
    /// Orders the documents by sequence and checks the chain.
    pub fn new(mut sequences: Vec<Metadata>) -> Result<History, MetadataError> {
        sequences.sort_by_key(|m| m.sequence);
        let digests = sequences.iter().map(Metadata::digest).collect();
        let history = History { sequences, digests };
        history.verify_chain()?;
        Ok(history)
    }

    /// The workspace UUID every document carries.
    pub fn uuid(&self) -> &str {
        self.sequences.first().map_or("", |m| m.uuid.as_str())
    }

    /// Every document, in sequence order.
    pub fn sequences(&self) -> &[Metadata] {
        &self.sequences
    }

    /// The document of sequence `n`, if held here.
    pub fn get(&self, n: Sequence) -> Option<&Metadata> {
        self.index_of(n).map(|i| &self.sequences[i])
    }

    /// The digest of sequence `n`'s document, if held here.
    pub fn digest_of(&self, n: Sequence) -> Option<&Digest> {
        self.index_of(n).map(|i| &self.digests[i])
    }

    fn index_of(&self, n: Sequence) -> Option<usize> {
        self.sequences.binary_search_by_key(&n, |m| m.sequence).ok()
    }

    /// The last document recorded.
    pub fn latest(&self) -> &Metadata {
        // `History::new` refuses an empty list, and nothing removes documents.
        &self.sequences[self.sequences.len() - 1]
    }

    /// The digest of the last document: the parent digest of the next one.
    pub fn latest_digest(&self) -> &Digest {
        &self.digests[self.digests.len() - 1]
    }

    /// The sequence the next document must have.
    pub fn next_sequence(&self) -> Sequence {
        self.latest().sequence + 1
    }

    /// A next document with the chain fields filled in (UUID, sequence,
    /// parent, `since` = the latest) and the rest empty, for the caller to fill.
    pub fn successor(&self, config: serde_json::Value, created: u64) -> Metadata {
        let latest = self.latest();
        Metadata {
            sequence: latest.sequence + 1,
            parent: Some(Parent {
                sequence: latest.sequence,
                digest: self.latest_digest().clone(),
            }),
            since: Some(latest.sequence),
            ..Metadata::first(latest.uuid.clone(), config, created)
        }
    }

    /// Every blob shipped by sequence `up_to` and the sequences it builds on.
    ///
    /// The walk starts at the latest sequence held here that is at most
    /// `up_to` and follows `since` from document to document. For an ordinary
    /// chain (each `since` the previous sequence) that is every blob shipped by
    /// the sequences `1..=up_to`; past a re-created sequence it leaves out what
    /// only the replaced (lost) sequences shipped, which a mirror fed by the
    /// re-created imageset does not have.
    pub fn shipped_blobs(&self, up_to: Sequence) -> HashSet<Digest> {
        let mut out = HashSet::new();
        let start = self.sequences.partition_point(|m| m.sequence <= up_to);
        let mut next = start.checked_sub(1);
        while let Some(i) = next {
            let m = &self.sequences[i];
            out.extend(m.blobs.iter().map(|b| b.digest.clone()));
            next = m.since.and_then(|s| self.index_of(s));
        }
        out
    }

    /// The documents a mirror fed up to sequence `up_to` has received, oldest
    /// first: the latest held here at most `up_to`, then, following `since`,
    /// the ones it builds on (see [`History::shipped_blobs`]).
    fn chain_to(&self, up_to: Sequence) -> Vec<&Metadata> {
        let mut out = Vec::new();
        let start = self.sequences.partition_point(|m| m.sequence <= up_to);
        let mut next = start.checked_sub(1);
        while let Some(i) = next {
            let m = &self.sequences[i];
            out.push(m);
            next = m.since.and_then(|s| self.index_of(s));
        }
        out.reverse();
        out
    }

    /// Every image that may be in a mirror fed up to sequence `up_to`, by
    /// destination (`path:tag`): what the sequences brought, less what deletes
    /// took out. Images a later configuration no longer selects stay in (a
    /// publish without `--prune` leaves them), so that nothing a mirror may
    /// still hold is taken for gone: this is the set deletes protect.
    pub fn held(&self, up_to: Sequence) -> BTreeMap<String, ImageRecord> {
        let mut held = BTreeMap::new();
        for m in self.chain_to(up_to) {
            for image in &m.images {
                held.insert(image.destination.clone(), image.clone());
            }
            for gone in &m.deleted {
                if held
                    .get(&gone.destination)
                    .is_some_and(|h| h.digest == gone.digest)
                {
                    held.remove(&gone.destination);
                }
            }
        }
        held
    }

    /// The images surely in a mirror fed up to sequence `up_to`: those the
    /// latest imageset's configuration selects, less what deletes took out
    /// since. (An image only an earlier configuration selected may have been
    /// pruned.)
    pub fn surely_held(&self, up_to: Sequence) -> Vec<&ImageRecord> {
        let mut out: Vec<&ImageRecord> = Vec::new();
        for m in self.chain_to(up_to) {
            if m.is_delete() {
                out.retain(|i| {
                    !m.deleted
                        .iter()
                        .any(|d| d.destination == i.destination && d.digest == i.digest)
                });
            } else {
                out = m.images.iter().collect();
            }
        }
        out
    }

    /// What the latest configuration selects, as deletes must respect it:
    /// the sequence of the latest imageset (not a delete), and the images
    /// surely held after the latest document ([`History::surely_held`]).
    pub fn selection(&self) -> (Sequence, Vec<&ImageRecord>) {
        let sequence = self
            .sequences
            .iter()
            .rev()
            .find(|m| !m.is_delete())
            .map_or(0, |m| m.sequence);
        (sequence, self.surely_held(self.latest().sequence))
    }

    /// The blobs a mirror fed up to sequence `up_to` surely still has: those
    /// shipped ([`History::shipped_blobs`]) that an image surely held needs.
    /// A blob only deleted or no-longer-selected images needed may have been
    /// removed by the registry's garbage collector, so the next imageset
    /// carries it again when its configuration asks for it.
    pub fn available_blobs(&self, up_to: Sequence) -> HashSet<Digest> {
        let shipped = self.shipped_blobs(up_to);
        let needed: HashSet<&Digest> = self
            .surely_held(up_to)
            .into_iter()
            .flat_map(|i| i.manifests.iter().chain(&i.blobs))
            .collect();
        shipped.into_iter().filter(|d| needed.contains(d)).collect()
    }

    /// Checks every document against the ones before it: one UUID; the first
    /// is sequence 1 or a full imageset; each next one is the previous
    /// sequence plus one whose parent digest matches the previous document's
    /// digest — or, where a sequence is missing, one whose `since` names a
    /// sequence held here (or none: a full imageset).
    pub fn verify_chain(&self) -> Result<(), MetadataError> {
        if self.sequences.is_empty() {
            return Err(MetadataError::EmptyHistory);
        }
        for (i, m) in self.sequences.iter().enumerate() {
            check_after(&self.sequences[..i], &self.digests[..i], m)?;
        }
        Ok(())
    }

    /// Whether `m` may be recorded after this history: see [`check_successor`].
    pub fn check_next(&self, m: &Metadata) -> Result<(), MetadataError> {
        check_after(&self.sequences, &self.digests, m)
    }

    /// Appends `m` after checking it ([`History::check_next`]).
    pub fn push(&mut self, m: Metadata) -> Result<(), MetadataError> {
        self.check_next(&m)?;
        self.digests.push(m.digest());
        self.sequences.push(m);
        Ok(())
    }
}

/// The images of `held` (see [`History::held`]) that `selected` no longer
/// names (by destination): what a sequence selecting `selected` leaves
/// unselected.
pub fn unselected(
    held: &BTreeMap<String, ImageRecord>,
    selected: &[ImageRecord],
) -> Vec<ImageRecord> {
    let now: HashSet<&str> = selected.iter().map(|i| i.destination.as_str()).collect();
    held.values()
        .filter(|i| !now.contains(i.destination.as_str()))
        .cloned()
        .collect()
}

/// Whether `m` may be recorded where `history` is held (`None`: nothing yet).
///
/// - With nothing recorded: sequence 1, or a full imageset (no `since`) of any
///   sequence (a re-created full imageset for an empty mirror).
/// - After sequence L: the same UUID, and either sequence L+1 whose parent
///   digest is L's digest, or a later sequence whose `since` is held here (or
///   absent), which fills the gap; its `since`, if any, must be held here.
///
/// A sequence already recorded, or one that leaves a gap it does not explain,
/// is [`MetadataError::SequenceOutOfOrder`].
pub fn check_successor(history: Option<&History>, m: &Metadata) -> Result<(), MetadataError> {
    match history {
        Some(h) => h.check_next(m),
        None => check_after(&[], &[], m),
    }
}

fn check_after(prev: &[Metadata], digests: &[Digest], m: &Metadata) -> Result<(), MetadataError> {
    m.validate()?;
    let held = |s: Sequence| prev.binary_search_by_key(&s, |p| p.sequence).is_ok();
    let (Some(latest), Some(latest_digest)) = (prev.last(), digests.last()) else {
        if m.sequence == 1 || m.since.is_none() {
            return Ok(());
        }
        return Err(MetadataError::SequenceOutOfOrder {
            expected: 1,
            found: m.sequence,
        });
    };
    if m.uuid != latest.uuid {
        return Err(MetadataError::UuidMismatch {
            expected: latest.uuid.clone(),
            found: m.uuid.clone(),
        });
    }
    let expected = latest.sequence + 1;
    if m.sequence < expected {
        return Err(MetadataError::SequenceOutOfOrder {
            expected,
            found: m.sequence,
        });
    }
    if m.sequence == expected {
        // `validate` guarantees a parent for every sequence above 1.
        let found = m.parent.as_ref().map_or("", |p| p.digest.as_str());
        if found != latest_digest {
            return Err(MetadataError::ChainBroken {
                sequence: m.sequence,
                expected: latest_digest.to_string(),
                found: found.to_string(),
            });
        }
        if let Some(since) = m.since
            && !held(since)
        {
            return Err(MetadataError::BaseMissing {
                sequence: m.sequence,
                since,
            });
        }
        return Ok(());
    }
    match m.since {
        None => Ok(()),
        Some(since) if held(since) => Ok(()),
        Some(_) => Err(MetadataError::SequenceOutOfOrder {
            expected,
            found: m.sequence,
        }),
    }
}

/// A JSON value serialized with the keys of every object sorted, whatever
/// order the value holds them in (serde_json may preserve insertion order).
struct Sorted<'a>(&'a serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value;
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    out.serialize_entry(k, &Sorted(v))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&Sorted(v))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

fn sorted_value<S: Serializer>(v: &serde_json::Value, s: S) -> Result<S::Ok, S::Error> {
    Sorted(v).serialize(s)
}

fn sorted_map<S: Serializer>(
    m: &BTreeMap<String, serde_json::Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut out = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        out.serialize_entry(k, &Sorted(v))?;
    }
    out.end()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A fuzz regression (`fuzz/regressions/metadata/sequence_max.json`): a
    /// document of sequence `u64::MAX` passed `validate`, and its successor's
    /// sequence (`History::successor`, `next_sequence`) overflowed.
    #[test]
    fn the_largest_sequence_is_refused() {
        let document = |sequence: Sequence| {
            format!(
                r#"{{"formatVersion":1,"uuid":"u","sequence":{sequence},"parent":{{"sequence":{},"digest":"{}"}},"created":0,"config":null,"images":[],"blobs":[],"parts":[],"since":null,"pluginState":{{}}}}"#,
                sequence - 1,
                d(0),
            )
        };
        let err = Metadata::from_slice(document(Sequence::MAX).as_bytes()).unwrap_err();
        assert!(
            matches!(&err, MetadataError::Invalid { sequence: Sequence::MAX, reason } if reason.contains("too large")),
            "{err}"
        );
        let below = Metadata::from_slice(document(Sequence::MAX - 1).as_bytes()).unwrap();
        let history = History::new(vec![below]).unwrap();
        assert_eq!(history.next_sequence(), Sequence::MAX);
        assert_eq!(history.successor(json!(null), 0).sequence, Sequence::MAX);
    }

    pub(crate) fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", hex::encode([n; 32]))).unwrap()
    }

    fn sample(uuid: &str) -> Metadata {
        let mut m = Metadata::first(
            uuid,
            json!({"kind": "ImageSetConfiguration", "apiVersion": "mirror.openshift.io/v2alpha1"}),
            0,
        );
        m.images = vec![
            ImageRecord {
                source: "quay.io/b/app:1".into(),
                destination: "b/app:1".into(),
                digest: d(1),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                origin: "additionalImages".into(),
                kind: "generic".into(),
                manifests: vec![d(1)],
                blobs: vec![d(3), d(2), d(3)],
            },
            ImageRecord {
                source: "quay.io/a/app:1".into(),
                destination: "a/app:1".into(),
                digest: d(4),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                origin: "additionalImages".into(),
                kind: "generic".into(),
                manifests: vec![d(4)],
                blobs: vec![d(5)],
            },
        ];
        m.blobs = vec![
            BlobRecord {
                digest: d(5),
                size: 5,
            },
            BlobRecord {
                digest: d(2),
                size: 2,
            },
        ];
        m.parts = vec![
            "mirror_seq1_000001.tar".into(),
            "mirror_seq1_000000.tar".into(),
        ];
        m.plugin_state
            .insert("operators".into(), json!({"z": 1, "a": [{"y": 2, "b": 3}]}));
        m
    }

    fn chain(n: u64) -> History {
        let mut h = History::new(vec![sample("u-1")]).unwrap();
        for s in 2..=n {
            let mut next = h.successor(json!({}), 0);
            next.blobs = vec![BlobRecord {
                digest: d(s as u8 * 10),
                size: s,
            }];
            h.push(next).unwrap();
        }
        h
    }

    #[test]
    fn canonical_bytes_are_stable_and_ordered() {
        let m = sample("u-1");
        let a = m.to_canonical_bytes();
        assert_eq!(a, m.to_canonical_bytes());
        // Parsing and writing again gives the same bytes.
        let back = Metadata::from_slice(&a).unwrap();
        assert_eq!(back.to_canonical_bytes(), a);
        let text = String::from_utf8(a).unwrap();
        assert!(text.ends_with("}\n"));
        // Field order is the declaration order.
        let keys = [
            "\"formatVersion\"",
            "\"uuid\"",
            "\"sequence\"",
            "\"parent\"",
            "\"created\"",
            "\"config\"",
            "\"images\"",
            "\"blobs\"",
            "\"parts\"",
            "\"since\"",
            "\"pluginState\"",
        ];
        let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        // Images by destination, blobs by digest, parts in their own order,
        // keys inside JSON values sorted.
        assert!(text.find("a/app:1").unwrap() < text.find("b/app:1").unwrap());
        let shipped = &text[text.find("\n  \"blobs\"").unwrap()..];
        assert!(shipped.find(d(2).as_str()).unwrap() < shipped.find(d(5).as_str()).unwrap());
        assert!(text.find("000001.tar").unwrap() < text.find("000000.tar").unwrap());
        assert!(text.find("\"apiVersion\"").unwrap() < text.find("\"kind\"").unwrap());
        assert!(text.find("\"b\": 3").unwrap() < text.find("\"y\": 2").unwrap());
        // Input order does not matter.
        let mut shuffled = m.clone();
        shuffled.images.reverse();
        shuffled.blobs.reverse();
        assert_eq!(shuffled.digest(), m.digest());
        assert_eq!(m.digest(), Digest::of(&m.to_canonical_bytes()));
    }

    #[test]
    fn chain_verifies_and_detects_a_broken_link() {
        let h = chain(3);
        assert_eq!(h.latest().sequence, 3);
        assert_eq!(h.next_sequence(), 4);
        assert_eq!(h.uuid(), "u-1");
        h.verify_chain().unwrap();
        assert_eq!(
            h.get(3).unwrap().parent.as_ref().unwrap().digest,
            h.get(2).unwrap().digest()
        );

        // Edit sequence 2 after the fact: sequence 3 no longer matches.
        let mut docs = h.sequences().to_vec();
        docs[1].created = 42;
        let err = History::new(docs).unwrap_err();
        assert!(
            matches!(err, MetadataError::ChainBroken { sequence: 3, .. }),
            "{err}"
        );

        // A missing sequence that nothing explains.
        let mut docs = h.sequences().to_vec();
        docs.remove(1);
        assert_eq!(
            History::new(docs).unwrap_err(),
            MetadataError::SequenceOutOfOrder {
                expected: 2,
                found: 3
            }
        );

        // Another workspace.
        let mut other = h.successor(json!({}), 0);
        other.uuid = "u-2".into();
        let err = h.check_next(&other).unwrap_err();
        assert!(matches!(err, MetadataError::UuidMismatch { .. }), "{err}");

        // Already recorded / skipping one.
        let mut again = h.get(3).unwrap().clone();
        assert!(matches!(
            h.check_next(&again),
            Err(MetadataError::SequenceOutOfOrder {
                expected: 4,
                found: 3
            })
        ));
        again.sequence = 5;
        again.parent = Some(Parent {
            sequence: 4,
            digest: d(9),
        });
        again.since = Some(4);
        let err = h.check_next(&again).unwrap_err();
        assert!(
            err.to_string().contains("hint: publish sequence 4 first"),
            "{err}"
        );
        assert!(check_successor(None, &again).is_err());
        assert!(check_successor(None, h.get(1).unwrap()).is_ok());
    }

    #[test]
    fn a_recreated_sequence_may_fill_a_gap() {
        // Workspace: 1, 2, 3 (lost), 4 re-created against 2.
        let mut ws = chain(3);
        let mut four = ws.successor(json!({}), 0);
        four.since = Some(2);
        four.blobs = vec![BlobRecord {
            digest: d(40),
            size: 4,
        }];
        ws.push(four.clone()).unwrap();
        // The mirror holds 1 and 2 and accepts 4.
        let mut mirror = History::new(ws.sequences()[..2].to_vec()).unwrap();
        mirror.push(four.clone()).unwrap();
        History::new(mirror.sequences().to_vec()).unwrap();
        // What the next imageset may leave out: 4 and what it builds on.
        let expected: HashSet<Digest> = [d(40), d(20), d(2), d(5)].into_iter().collect();
        assert_eq!(ws.shipped_blobs(4), expected);
        assert_eq!(mirror.shipped_blobs(4), expected);
        // 4 made against 3 cannot go to a mirror at 2.
        let mut mirror2 = History::new(ws.sequences()[..2].to_vec()).unwrap();
        four.since = Some(3);
        assert!(matches!(
            mirror2.push(four),
            Err(MetadataError::SequenceOutOfOrder {
                expected: 3,
                found: 4
            })
        ));
    }

    #[test]
    fn shipped_blobs_collects_up_to_a_sequence() {
        let h = chain(3);
        let one: HashSet<Digest> = [d(2), d(5)].into_iter().collect();
        assert_eq!(h.shipped_blobs(1), one);
        let mut two = one.clone();
        two.insert(d(20));
        assert_eq!(h.shipped_blobs(2), two);
        let mut three = two.clone();
        three.insert(d(30));
        assert_eq!(h.shipped_blobs(3), three);
        assert_eq!(h.shipped_blobs(99), three);
        assert!(h.shipped_blobs(0).is_empty());
    }

    #[test]
    fn format_1_documents_still_read() {
        // Written before `kind` and `attachments` existed.
        let m = sample("u-1");
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_canonical_bytes()).unwrap();
        v["formatVersion"] = json!(1);
        v.as_object_mut().unwrap().remove("attachments");
        for image in v["images"].as_array_mut().unwrap() {
            image.as_object_mut().unwrap().remove("kind");
        }
        let old = Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).expect("format 1 reads");
        assert!(old.attachments.is_empty());
        assert!(old.images.iter().all(|i| i.kind == "generic"));
    }

    #[test]
    fn newer_version_and_unknown_fields_are_refused() {
        let m = sample("u-1");
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_canonical_bytes()).unwrap();
        v["formatVersion"] = json!(FORMAT_VERSION + 1);
        v["somethingNew"] = json!(true);
        let err = Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(
            err,
            MetadataError::UnsupportedVersion {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION
            }
        );
        assert!(err.to_string().contains("hint:"));

        v["formatVersion"] = json!(FORMAT_VERSION);
        let err = Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            matches!(&err, MetadataError::Parse { reason } if reason.contains("somethingNew")),
            "{err}"
        );

        let mut v: serde_json::Value = serde_json::from_slice(&m.to_canonical_bytes()).unwrap();
        v["images"][0]["extra"] = json!(1);
        assert!(Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).is_err());
    }

    #[test]
    fn inconsistent_documents_are_refused() {
        let good = sample("u-1");
        type Change = Box<dyn Fn(&mut Metadata)>;
        let cases: Vec<(&str, Change)> = vec![
            ("sequence 0", Box::new(|m| m.sequence = 0)),
            (
                "parent on 1",
                Box::new(|m| {
                    m.parent = Some(Parent {
                        sequence: 0,
                        digest: d(1),
                    })
                }),
            ),
            ("no parent on 2", Box::new(|m| m.sequence = 2)),
            ("since not earlier", Box::new(|m| m.since = Some(1))),
            ("bad part", Box::new(|m| m.parts[0] = "../x.tar".into())),
            ("empty uuid", Box::new(|m| m.uuid = String::new())),
        ];
        for (what, change) in cases {
            let mut m = good.clone();
            change(&mut m);
            assert!(
                matches!(m.validate(), Err(MetadataError::Invalid { .. })),
                "{what}"
            );
            assert!(
                Metadata::from_slice(&m.to_canonical_bytes()).is_err(),
                "{what}"
            );
        }
    }

    #[test]
    fn bad_digests_are_refused_when_parsed() {
        let m = sample("u-1");
        let paths: [&[&str]; 5] = [
            &["blobs", "0", "digest"],
            &["images", "0", "digest"],
            &["images", "0", "manifests", "0"],
            &["images", "1", "blobs", "0"],
            &["attachments", "0", "digest"],
        ];
        for path in paths {
            let mut v: serde_json::Value = serde_json::from_slice(&m.to_canonical_bytes()).unwrap();
            if path[0] == "attachments" {
                v["attachments"] =
                    json!([{"name": "a", "mediaType": "t", "digest": d(1), "size": 1}]);
            }
            let mut at = &mut v;
            for p in path {
                at = match p.parse::<usize>() {
                    Ok(i) => &mut at[i],
                    Err(_) => &mut at[*p],
                };
            }
            *at = json!("sha256:ABC");
            let err = Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert!(
                matches!(&err, MetadataError::Parse { reason } if reason.contains("`sha256:ABC` is not a valid digest")),
                "{path:?}: {err}"
            );
        }
        let mut child = History::new(vec![m]).unwrap().successor(json!({}), 0);
        child.parts = vec!["p.tar".into()];
        let mut v: serde_json::Value = serde_json::from_slice(&child.to_canonical_bytes()).unwrap();
        v["parent"]["digest"] = json!("md5:x");
        let err = Metadata::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("`md5:x`"), "{err}");
    }
}
