//! The imageset reader: streams an imageset's parts back, checking every blob.
//!
//! This is the first step of the publish workflow, on the disconnected side.
//! The archive arrived on removable media and may be damaged, incomplete or
//! not ours at all, so nothing in it is trusted: every header's checksum, every
//! path and every blob's digest is checked, and every size is treated as a
//! claim that the bytes must bear out.
//!
//! # Steps
//! 1. [`ImagesetReader::open`] lists `mirror_seq<N>_*.tar` in the directory and
//!    checks that the part indices run 000000, 000001, … without a gap.
//! 2. [`ImagesetReader::read`] walks the parts in order. Part 0 must start with
//!    `oci-layout`, `index.json` and `oc-mirror/metadata.json`, read whole (at
//!    most [`MAX_HEAD_ENTRY_BYTES`] each) and returned, `index.json` and the
//!    metadata checked to be JSON within [`MAX_JSON_DEPTH`] and
//!    [`MAX_JSON_ITEMS`]; every other entry must be a blob, handed to the
//!    caller's callback as a [`Read`] over exactly its bytes, hashed as they
//!    pass.
//! 3. [`read_metadata`] reads only the head of part 0, for a quick look before
//!    committing to the whole archive.
//!
//! # Invariants
//! - Verified: a blob whose bytes do not hash to its name fails with
//!   [`ImagesetError::DigestMismatch`]; the [`Read`] handed to the callback
//!   reports the mismatch as an error at its end instead of a clean EOF, so a
//!   consumer that reads to the end sees it before it commits anything.
//! - Bounded: blobs stream through fixed buffers; only the head entries are
//!   held whole, capped in size, and the JSON ones capped in depth and in
//!   values, so that parsing them costs neither unbounded stack nor many times
//!   their size in memory; what grows is one short record per blob. A size a
//!   header claims is checked against what the part has left before any of it
//!   is read or allocated.
//! - Never panics and never misreads: a cut part, a bad checksum, a foreign
//!   entry type or path is an error naming the part (and offset or path).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

use super::error::BoxError;
use super::layout::{
    EntryPath, HEAD_PATHS, INDEX_JSON_PATH, METADATA_PATH, OCI_LAYOUT_PATH, classify,
};
use super::tar::{self, BLOCK, Header, Parsed};
use super::writer::read_some;
use super::{ImagesetError, MAX_HEAD_ENTRY_BYTES, parse_part_name, part_name};
use crate::metadata::Sequence;

/// Buffer in front of each part file: large reads from the callback pass
/// through it, small ones (headers, a callback reading 8 KiB at a time) are
/// served from it.
const READ_BUFFER: usize = 256 << 10;
/// Piece in which the reader drains what a callback left unread.
const DRAIN_CHUNK: usize = 256 << 10;

/// Deepest nesting of arrays and objects accepted in `index.json` and
/// `oc-mirror/metadata.json`. What oc-mirror writes nests under 10 levels
/// (plugin state included, in practice); serde_json gives up at 128 on its
/// own, this refuses first, naming the file.
pub(crate) const MAX_JSON_DEPTH: usize = 100;

/// Most JSON values, object keys counted, accepted in `index.json` and
/// `oc-mirror/metadata.json`.
///
/// The byte cap alone does not bound what parsing costs: `[0,0,…]` is two
/// bytes a value in JSON but 32 bytes a `serde_json::Value` in memory, so a
/// 64 MiB metadata parsed into its `config` took over a gigabyte. A sequence
/// with 100,000 blobs (five values each) and 10,000 images (about thirty
/// each) holds under a million.
pub(crate) const MAX_JSON_ITEMS: u64 = 2_000_000;

/// A blob the reader handed to the callback and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    /// `sha256:<hex>`, from the entry's name.
    pub digest: Digest,
    /// Its length in bytes.
    pub size_bytes: u64,
    /// The index of the part that held it.
    pub part: usize,
}

/// What [`ImagesetReader::read`] returns besides what it streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagesetContents {
    /// The `oci-layout` file (checked to declare version 1.0.0).
    pub oci_layout: Bytes,
    /// The layout's `index.json`, unparsed.
    pub index_json: Bytes,
    /// `oc-mirror/metadata.json`, unparsed.
    pub metadata: Bytes,
    /// Every blob, in archive order.
    pub blobs: Vec<BlobRecord>,
}

/// An imageset found in a directory, every part present.
#[derive(Debug, Clone)]
pub struct ImagesetReader {
    dir: PathBuf,
    sequence: Sequence,
    parts: Vec<String>,
}

impl ImagesetReader {
    /// Finds the parts of sequence `sequence` in `dir`.
    ///
    /// Fails with [`ImagesetError::NoParts`] if there is none and with
    /// [`ImagesetError::MissingPart`], naming the first missing one, if the
    /// indices do not run from 000000 without a gap. Nothing is read yet. The
    /// reader cannot tell a missing *last* part: compare [`parts`](Self::parts)
    /// with the part names recorded in the metadata.
    pub fn open(
        dir: impl AsRef<Path>,
        sequence: Sequence,
    ) -> Result<ImagesetReader, ImagesetError> {
        let dir = dir.as_ref();
        let listing = fs::read_dir(dir).map_err(|source| ImagesetError::Io {
            action: "list",
            path: dir.to_path_buf(),
            source,
        })?;
        let mut indices = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|source| ImagesetError::Io {
                action: "list",
                path: dir.to_path_buf(),
                source,
            })?;
            if let Some(index) = entry
                .file_name()
                .to_str()
                .and_then(|name| parse_part_name(name, sequence))
            {
                indices.push(index);
            }
        }
        if indices.is_empty() {
            return Err(ImagesetError::NoParts {
                dir: dir.to_path_buf(),
                sequence,
            });
        }
        indices.sort_unstable();
        if let Some(missing) = indices
            .iter()
            .enumerate()
            .find_map(|(i, &n)| (i != n).then_some(i))
        {
            return Err(ImagesetError::MissingPart {
                dir: dir.to_path_buf(),
                sequence,
                part: part_name(sequence, missing),
            });
        }
        Ok(ImagesetReader {
            dir: dir.to_path_buf(),
            sequence,
            parts: indices.iter().map(|&i| part_name(sequence, i)).collect(),
        })
    }

    /// The part file names, in order.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Reads every part in order, handing each blob to `on_blob`.
    ///
    /// `on_blob(digest, size, reader)` gets the blob's `sha256:<hex>`, its size
    /// in bytes and a [`Read`] over exactly its bytes. The callback may read
    /// all, some or none of them; the reader hashes what it reads, drains the
    /// rest, and fails with [`ImagesetError::DigestMismatch`] if the blob does
    /// not match its digest. A callback that reads to the end gets an
    /// [`io::ErrorKind::InvalidData`] error instead of EOF on a mismatch, and
    /// an [`io::ErrorKind::UnexpectedEof`] error if the part is cut short. An
    /// error the callback returns stops the read as
    /// [`ImagesetError::Consumer`].
    ///
    /// The callback sees each blob's bytes before the blob is verified; one
    /// that stores blobs must not treat one as good until it has read it to a
    /// clean EOF.
    pub fn read<F>(&self, mut on_blob: F) -> Result<ImagesetContents, ImagesetError>
    where
        F: FnMut(&Digest, u64, &mut dyn Read) -> Result<(), BoxError>,
    {
        let mut head = None;
        let mut blobs = Vec::new();
        let mut seen = HashSet::new();
        let mut scratch = vec![0u8; DRAIN_CHUNK];
        for (n, name) in self.parts.iter().enumerate() {
            let mut part = PartReader::open(&self.dir, name)?;
            if n == 0 {
                head = Some(read_head(&mut part)?);
            }
            while let Some((header, offset)) = part.next_entry()? {
                let digest = match classify(&header.path) {
                    Ok(EntryPath::Blob(digest)) => digest,
                    Ok(EntryPath::Head(_)) => {
                        return Err(ImagesetError::Misplaced {
                            part: part.name.clone(),
                            expected: format!(
                                "only blobs belong (`{}` belongs at the start of part 0)",
                                header.path
                            ),
                            path: header.path,
                        });
                    }
                    Err(reason) => return Err(part.unexpected_path(offset, header.path, reason)),
                };
                if seen.contains(&digest) {
                    return Err(ImagesetError::DuplicateEntry {
                        part: part.name.clone(),
                        path: header.path,
                    });
                }
                part.stream_blob(&header, &digest, &mut on_blob, &mut scratch)?;
                seen.insert(digest.clone());
                blobs.push(BlobRecord {
                    digest,
                    size_bytes: header.size,
                    part: n,
                });
            }
        }
        let [oci_layout, index_json, metadata] = head.ok_or_else(|| ImagesetError::NoParts {
            dir: self.dir.clone(),
            sequence: self.sequence,
        })?;
        Ok(ImagesetContents {
            oci_layout,
            index_json,
            metadata,
            blobs,
        })
    }
}

/// Reads `oc-mirror/metadata.json` of sequence `sequence` in `dir`, touching
/// only the first three entries of part 0.
///
/// It does not check that the other parts are present; [`ImagesetReader::open`]
/// does.
pub fn read_metadata(dir: impl AsRef<Path>, sequence: Sequence) -> Result<Bytes, ImagesetError> {
    let dir = dir.as_ref();
    let name = part_name(sequence, 0);
    let mut part = match PartReader::open(dir, &name) {
        Err(ImagesetError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            // Say whether nothing is there or only part 0 is missing.
            ImagesetReader::open(dir, sequence)?;
            return Err(ImagesetError::MissingPart {
                dir: dir.to_path_buf(),
                sequence,
                part: name,
            });
        }
        other => other?,
    };
    let [_, _, metadata] = read_head(&mut part)?;
    Ok(metadata)
}

/// Reads the three head entries at the start of part 0 and checks `oci-layout`.
fn read_head(part: &mut PartReader) -> Result<[Bytes; 3], ImagesetError> {
    let mut head: [Bytes; 3] = Default::default();
    for (slot, &expected) in head.iter_mut().zip(HEAD_PATHS.iter()) {
        let Some((header, offset)) = part.next_entry()? else {
            return Err(ImagesetError::MissingHead {
                part: part.name.clone(),
                missing: expected,
            });
        };
        if let Err(reason) = classify(&header.path) {
            return Err(part.unexpected_path(offset, header.path, reason));
        }
        if header.path != expected {
            return Err(ImagesetError::Misplaced {
                part: part.name.clone(),
                path: header.path,
                expected: format!("`{expected}` belongs"),
            });
        }
        *slot = part.read_small(&header)?;
    }
    check_oci_layout(&head[0]).map_err(|reason| ImagesetError::BadLayout {
        part: part.name.clone(),
        reason,
    })?;
    for (bytes, path) in [(&head[1], INDEX_JSON_PATH), (&head[2], METADATA_PATH)] {
        check_json(bytes).map_err(|reason| ImagesetError::BadJson {
            part: part.name.clone(),
            path,
            reason,
        })?;
    }
    Ok(head)
}

/// Checks that `bytes` are one JSON value nesting at most [`MAX_JSON_DEPTH`]
/// arrays and objects and holding at most [`MAX_JSON_ITEMS`] values (keys
/// counted), without building it: nothing is allocated but serde_json's
/// scratch for an escaped string. The error reads after "that".
fn check_json(bytes: &[u8]) -> Result<(), String> {
    let mut budget = JsonBudget::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let outcome = JsonNode {
        budget: &mut budget,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    outcome.map_err(|e| match budget.exceeded {
        Some(JsonLimit::Depth) => format!(
            "nests arrays and objects more than {MAX_JSON_DEPTH} deep (line {}, column {})",
            e.line(),
            e.column()
        ),
        Some(JsonLimit::Items) => format!(
            "holds more than {MAX_JSON_ITEMS} JSON values (line {}, column {})",
            e.line(),
            e.column()
        ),
        None => format!("is not JSON ({e})"),
    })
}

/// What [`check_json`] has counted, and which limit stopped it.
#[derive(Default)]
struct JsonBudget {
    items: u64,
    exceeded: Option<JsonLimit>,
}

#[derive(Clone, Copy)]
enum JsonLimit {
    Depth,
    Items,
}

impl JsonBudget {
    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        self.items += 1;
        if self.items > MAX_JSON_ITEMS {
            return Err(self.exceed(JsonLimit::Items));
        }
        Ok(())
    }

    fn exceed<E: de::Error>(&mut self, limit: JsonLimit) -> E {
        self.exceeded = Some(limit);
        E::custom("over the limit")
    }
}

/// A JSON value at nesting `depth`, visited and counted, never stored.
struct JsonNode<'a> {
    budget: &'a mut JsonBudget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for JsonNode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.budget.count()?;
        deserializer.deserialize_any(self)
    }
}

impl JsonNode<'_> {
    /// The depth of this array's or object's members.
    fn enter<E: de::Error>(&mut self) -> Result<usize, E> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(self.budget.exceed(JsonLimit::Depth));
        }
        Ok(self.depth + 1)
    }
}

impl<'de> Visitor<'de> for JsonNode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.enter()?;
        while seq
            .next_element_seed(JsonNode {
                budget: &mut *self.budget,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let depth = self.enter()?;
        while map.next_key_seed(JsonKey(&mut *self.budget))?.is_some() {
            map.next_value_seed(JsonNode {
                budget: &mut *self.budget,
                depth,
            })?;
        }
        Ok(())
    }
}

/// An object key: counted, its string skipped.
struct JsonKey<'a>(&'a mut JsonBudget);

impl<'de> DeserializeSeed<'de> for JsonKey<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.count()?;
        <IgnoredAny as serde::Deserialize>::deserialize(deserializer).map(|_| ())
    }
}

/// Checks that `oci-layout` is a JSON object declaring version 1.0.0.
fn check_oci_layout(bytes: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("is not JSON ({e})"))?;
    match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some("1.0.0") => Ok(()),
        Some(other) => Err(format!("declares version `{other}`, not `1.0.0`")),
        None => Err(format!(
            "has no `imageLayoutVersion` (in `{OCI_LAYOUT_PATH}`)"
        )),
    }
}

/// One part file being read, with the offset of the next unread byte.
struct PartReader {
    name: String,
    path: PathBuf,
    input: BufReader<File>,
    offset: u64,
    /// The file's length when opened: what a header's size is checked against.
    len: u64,
}

impl PartReader {
    fn open(dir: &Path, name: &str) -> Result<PartReader, ImagesetError> {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|source| ImagesetError::Io {
            action: "open",
            path: path.clone(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| ImagesetError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?
            .len();
        Ok(PartReader {
            name: name.to_owned(),
            input: BufReader::with_capacity(READ_BUFFER, file),
            path,
            offset: 0,
            len,
        })
    }

    fn io_error(&self, source: io::Error) -> ImagesetError {
        ImagesetError::Io {
            action: "read",
            path: self.path.clone(),
            source,
        }
    }

    /// The part ends here: inside `entry`'s data (or padding), or, when
    /// `None`, inside a header or the end-of-archive marker.
    fn truncated(&self, entry: Option<&Header>) -> ImagesetError {
        ImagesetError::Truncated {
            part: self.name.clone(),
            path: entry.map(|h| h.path.clone()),
            size_bytes: entry.map(|h| h.size),
            offset: self.offset,
        }
    }

    fn unexpected_path(&self, offset: u64, path: String, reason: String) -> ImagesetError {
        ImagesetError::UnexpectedPath {
            part: self.name.clone(),
            offset,
            path: tar::shown(&path),
            reason,
        }
    }

    /// Refuses an entry (its header just read) whose data and padding would
    /// run past the end of the part, before reading or allocating any of it:
    /// the error is the one reading would end in, at the part's last byte.
    fn check_fits(&self, header: &Header) -> Result<(), ImagesetError> {
        let fits = header
            .size
            .checked_next_multiple_of(tar::BLOCK_BYTES)
            .and_then(|padded| self.offset.checked_add(padded))
            .is_some_and(|end| end <= self.len);
        if fits {
            return Ok(());
        }
        Err(ImagesetError::Truncated {
            part: self.name.clone(),
            path: Some(header.path.clone()),
            size_bytes: Some(header.size),
            offset: self.len.max(self.offset),
        })
    }

    /// Fills `buf` as far as the file allows; returns how much was read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, ImagesetError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = read_some(&mut self.input, &mut buf[filled..]).map_err(|e| self.io_error(e))?;
            if n == 0 {
                break;
            }
            filled += n;
            self.offset += n as u64;
        }
        Ok(filled)
    }

    /// The next regular file's header and its offset, or `None` at the
    /// end-of-archive marker.
    fn next_entry(&mut self) -> Result<Option<(Header, u64)>, ImagesetError> {
        let start = self.offset;
        let mut block = [0u8; BLOCK];
        if self.fill(&mut block)? < BLOCK {
            return Err(self.truncated(None));
        }
        if block.iter().all(|&b| b == 0) {
            if self.fill(&mut block)? < BLOCK {
                return Err(self.truncated(None));
            }
            if block.iter().any(|&b| b != 0) {
                return Err(ImagesetError::BadHeader {
                    part: self.name.clone(),
                    offset: start,
                    reason: "a zero block is followed by data, not by a second zero block"
                        .to_owned(),
                });
            }
            return Ok(None);
        }
        match tar::parse_header(&block) {
            Ok(Parsed::File(header)) => Ok(Some((header, start))),
            Ok(Parsed::Other { path, kind }) => Err(ImagesetError::UnsupportedEntry {
                part: self.name.clone(),
                offset: start,
                path: tar::shown(&path),
                kind,
            }),
            Err(reason) => Err(ImagesetError::BadHeader {
                part: self.name.clone(),
                offset: start,
                reason,
            }),
        }
    }

    /// Skips the zeros that pad `header`'s data to a block.
    fn skip_padding(&mut self, header: &Header) -> Result<(), ImagesetError> {
        let mut pad = [0u8; BLOCK];
        let want = tar::padding(header.size);
        if self.fill(&mut pad[..want])? < want {
            return Err(self.truncated(Some(header)));
        }
        Ok(())
    }

    /// Reads a head entry whole, refusing one above [`MAX_HEAD_ENTRY_BYTES`].
    fn read_small(&mut self, header: &Header) -> Result<Bytes, ImagesetError> {
        if header.size > MAX_HEAD_ENTRY_BYTES {
            return Err(ImagesetError::EntryTooLarge {
                part: self.name.clone(),
                path: header.path.clone(),
                size_bytes: header.size,
                limit_bytes: MAX_HEAD_ENTRY_BYTES,
            });
        }
        self.check_fits(header)?;
        // At most MAX_HEAD_ENTRY_BYTES, so it fits a usize.
        let mut data = vec![0u8; header.size as usize];
        if self.fill(&mut data)? < data.len() {
            return Err(self.truncated(Some(header)));
        }
        self.skip_padding(header)?;
        Ok(Bytes::from(data))
    }

    /// Hands a blob's bytes to `on_blob`, then drains and verifies them.
    fn stream_blob<F>(
        &mut self,
        header: &Header,
        digest: &Digest,
        on_blob: &mut F,
        scratch: &mut [u8],
    ) -> Result<(), ImagesetError>
    where
        F: FnMut(&Digest, u64, &mut dyn Read) -> Result<(), BoxError>,
    {
        self.check_fits(header)?;
        let mut blob = BlobReader {
            part: self,
            remaining: header.size,
            hasher: Sha256::new(),
            expected: digest,
            actual: None,
            cut: false,
            failure: None,
        };
        let outcome = on_blob(digest, header.size, &mut blob);
        if outcome.is_ok() {
            // Whatever the callback left unread; errors land in the flags below.
            while matches!(blob.read(scratch), Ok(n) if n > 0) {}
        }
        let BlobReader {
            remaining,
            hasher,
            actual,
            cut,
            failure,
            ..
        } = blob;
        if cut {
            return Err(self.truncated(Some(header)));
        }
        if let Some(source) = failure {
            return Err(self.io_error(source));
        }
        let actual = match (actual, remaining) {
            (Some(actual), _) => Some(actual),
            (None, 0) => Some(Digest::from_hasher(hasher)),
            (None, _) => None,
        };
        if let Some(actual) = actual
            && actual != *digest
        {
            return Err(ImagesetError::DigestMismatch {
                part: self.name.clone(),
                path: header.path.clone(),
                expected: digest.to_string(),
                actual: actual.into_string(),
            });
        }
        outcome.map_err(|source| ImagesetError::Consumer {
            part: self.name.clone(),
            path: header.path.clone(),
            source,
        })?;
        self.skip_padding(header)
    }
}

/// The [`Read`] a blob callback gets: exactly the blob's bytes, hashed as they
/// pass, with an error instead of EOF when they do not match the digest.
struct BlobReader<'a> {
    part: &'a mut PartReader,
    remaining: u64,
    hasher: Sha256,
    expected: &'a Digest,
    /// Set once every byte has passed.
    actual: Option<Digest>,
    /// The part ended before the blob did.
    cut: bool,
    /// The part file could not be read.
    failure: Option<io::Error>,
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cut {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{}` ends inside this blob", self.part.name),
            ));
        }
        if let Some(e) = &self.failure {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        if self.remaining == 0 {
            let actual = self
                .actual
                .get_or_insert_with(|| Digest::from_hasher(std::mem::take(&mut self.hasher)));
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob does not match its digest `{}` (got `{actual}`)",
                        self.expected
                    ),
                ));
            }
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        match read_some(&mut self.part.input, &mut buf[..want]) {
            Ok(0) => {
                self.cut = true;
                self.read(buf)
            }
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.remaining -= n as u64;
                self.part.offset += n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.failure = Some(e);
                Err(copy)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::imageset::tar::fix_checksum;
    use crate::imageset::testutil::{
        assert_message, blob, blob_path, drain, end, head, header, options, pattern, raw_entry,
        raw_head, read_all, sha256_hex,
    };
    use crate::imageset::{
        BLOBS_PREFIX, Entry, EntrySource, INDEX_JSON_PATH, METADATA_PATH, WrittenPart,
        write_imageset,
    };

    /// Writes sequence 1 into `dir`: the head, `n` blobs of assorted sizes (some
    /// from files), parts of at most `max` bytes. Returns the blobs' data in order.
    fn write_sample(dir: &Path, n: u64, max: u64) -> (Vec<Vec<u8>>, Vec<WrittenPart>) {
        let sources = dir.join("cache");
        fs::create_dir_all(&sources).unwrap();
        let mut entries = head(b"{\"sequence\":1}");
        let mut data = Vec::new();
        for i in 0..n {
            let d = pattern(i, (i as usize * 977) % 9000);
            if i % 2 == 0 {
                let file = sources.join(format!("{i}"));
                fs::write(&file, &d).unwrap();
                entries.push(Entry::file(blob_path(&d), d.len() as u64, file));
            } else {
                entries.push(blob(&d));
            }
            data.push(d);
        }
        let out = dir.join("imageset");
        let parts = write_imageset(out, options(1, max), entries).unwrap();
        (data, parts)
    }

    fn part_path(dir: &Path, index: usize) -> PathBuf {
        dir.join("imageset").join(part_name(1, index))
    }

    #[test]
    fn round_trip_across_parts() {
        let dir = tempfile::tempdir().unwrap();
        let (data, parts) = write_sample(dir.path(), 30, 20_000);
        assert!(parts.len() >= 5, "{} parts", parts.len());
        let (contents, blobs) = read_all(&dir.path().join("imageset"), 1).unwrap();
        assert_eq!(contents.oci_layout, crate::imageset::OCI_LAYOUT);
        assert_eq!(contents.metadata, b"{\"sequence\":1}".as_slice());
        let index: serde_json::Value = serde_json::from_slice(&contents.index_json).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        let expected: Vec<(String, Vec<u8>)> = data
            .iter()
            .map(|d| (format!("sha256:{}", sha256_hex(d)), d.clone()))
            .collect();
        assert_eq!(blobs, expected);
        assert_eq!(contents.blobs.len(), 30);
        assert_eq!(contents.blobs.last().unwrap().part, parts.len() - 1);
        assert!(contents.blobs.windows(2).all(|w| w[0].part <= w[1].part));
        let reader = ImagesetReader::open(dir.path().join("imageset"), 1).unwrap();
        assert_eq!(reader.parts().len(), parts.len());
    }

    #[test]
    fn a_callback_may_read_part_or_none_of_a_blob() {
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = write_sample(dir.path(), 10, 20_000);
        let reader = ImagesetReader::open(dir.path().join("imageset"), 1).unwrap();
        let mut calls = 0;
        let contents = reader
            .read(|_, _, r| {
                calls += 1;
                if calls % 2 == 0 {
                    let mut first = [0u8; 3];
                    let _ = r.read(&mut first)?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(calls, 10);
        assert_eq!(contents.blobs.len(), data.len());
    }

    #[test]
    fn read_metadata_reads_only_part_zero() {
        let dir = tempfile::tempdir().unwrap();
        let (_, parts) = write_sample(dir.path(), 30, 20_000);
        let out = dir.path().join("imageset");
        fs::remove_file(out.join(&parts[2].name)).unwrap();
        assert_eq!(
            read_metadata(&out, 1).unwrap(),
            b"{\"sequence\":1}".as_slice()
        );
        let err = ImagesetReader::open(&out, 1).unwrap_err();
        assert_message(
            &err,
            &[
                "has no part `mirror_seq1_000002.tar`",
                "hint: copy every `mirror_seq1_*.tar` part",
            ],
        );
        fs::remove_file(out.join(&parts[0].name)).unwrap();
        let err = read_metadata(&out, 1).unwrap_err();
        assert_message(&err, &["has no part `mirror_seq1_000000.tar`"]);
        let err = read_metadata(&out, 7).unwrap_err();
        assert!(
            matches!(err, ImagesetError::NoParts { sequence: 7, .. }),
            "{err}"
        );
        assert_message(&err, &["no part of imageset sequence 7", "hint:"]);
        let err = ImagesetReader::open(dir.path().join("nowhere"), 1).unwrap_err();
        assert_message(&err, &["failed to list"]);
    }

    #[test]
    fn a_truncated_part_is_named_wherever_the_cut_is() {
        let dir = tempfile::tempdir().unwrap();
        let (_, parts) = write_sample(dir.path(), 30, 20_000);
        let last = parts.len() - 1;
        let path = part_path(dir.path(), last);
        let full = fs::read(&path).unwrap();
        let (_, blobs) = read_all(&dir.path().join("imageset"), 1).unwrap();
        let first_in_last = {
            let h: &[u8; BLOCK] = full[..BLOCK].try_into().unwrap();
            let Ok(tar::Parsed::File(h)) = tar::parse_header(h) else {
                panic!("first header")
            };
            h
        };
        assert!(
            first_in_last.size > 600,
            "the test wants a blob over one block"
        );
        let data_end = BLOCK as u64 + first_in_last.size;
        let padded_end = data_end + tar::padding(first_in_last.size) as u64;
        let body_end = full.len() as u64 - 1024;
        let cases: Vec<(u64, Option<&str>)> = vec![
            (0, None),                             // empty file
            (100, None),                           // inside the first header
            (512, Some(&first_in_last.path)),      // right after the header
            (700, Some(&first_in_last.path)),      // inside the data
            (data_end, Some(&first_in_last.path)), // inside the padding
            (padded_end, None),                    // at an entry boundary
            (padded_end + 511, None),              // inside the next header
            (body_end, None),                      // end-of-archive marker missing
            (body_end + 512, None),                // half the marker
        ];
        for (cut, truncated_path) in cases {
            fs::write(&path, &full[..cut as usize]).unwrap();
            let mut seen = 0usize;
            let reader = ImagesetReader::open(dir.path().join("imageset"), 1).unwrap();
            let err = reader
                .read(|_, _, r| {
                    seen += 1;
                    drain(r)?;
                    Ok(())
                })
                .unwrap_err();
            match &err {
                ImagesetError::Truncated {
                    part, path, offset, ..
                } => {
                    assert_eq!(part, &parts[last].name);
                    assert_eq!(path.as_deref(), truncated_path, "cut at {cut}");
                    assert_eq!(*offset, cut, "cut at {cut}");
                }
                other => panic!("cut at {cut}: {other}"),
            }
            assert_message(&err, &["is cut short", "hint: "]);
            assert!(seen <= blobs.len());
        }
    }

    #[test]
    fn a_flipped_byte_is_a_digest_mismatch_naming_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let (data, parts) = write_sample(dir.path(), 10, 20_000);
        let path = part_path(dir.path(), 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes[BLOCK + 100] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let target = {
            let h: &[u8; BLOCK] = bytes[..BLOCK].try_into().unwrap();
            let Ok(tar::Parsed::File(h)) = tar::parse_header(h) else {
                panic!("header")
            };
            h.path
        };
        assert!(data.iter().any(|d| blob_path(d) == target));
        let reader = ImagesetReader::open(dir.path().join("imageset"), 1).unwrap();

        // A callback that reads to the end hears of it at the end.
        let mut end_error = None;
        let err = reader
            .read(|_, _, r| {
                if let Err(e) = drain(r) {
                    end_error = Some(e.kind());
                    return Err(e.into());
                }
                Ok(())
            })
            .unwrap_err();
        assert_eq!(end_error, Some(io::ErrorKind::InvalidData));
        let ImagesetError::DigestMismatch {
            part,
            path,
            expected,
            actual,
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(part, &parts[1].name);
        assert_eq!(path, &target);
        assert_eq!(
            expected,
            &format!("sha256:{}", &target[BLOBS_PREFIX.len()..])
        );
        assert_ne!(actual, expected);
        assert_message(&err, &[&target, "does not match its digest"]);

        // A callback that reads nothing: the reader drains and still checks.
        let err = reader.read(|_, _, _| Ok(())).unwrap_err();
        assert!(matches!(err, ImagesetError::DigestMismatch { .. }), "{err}");
    }

    #[test]
    fn a_callback_error_stops_the_read() {
        let dir = tempfile::tempdir().unwrap();
        write_sample(dir.path(), 4, 1 << 20);
        let reader = ImagesetReader::open(dir.path().join("imageset"), 1).unwrap();
        let err = reader
            .read(|_, _, _| Err("registry said no".into()))
            .unwrap_err();
        assert!(matches!(err, ImagesetError::Consumer { .. }));
        assert_message(
            &err,
            &["failed to handle `blobs/sha256/", "registry said no"],
        );
    }

    /// Writes part 0 of sequence 1 from raw bytes and reads it.
    fn read_raw(tar: Vec<u8>) -> ImagesetError {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(part_name(1, 0)), tar).unwrap();
        read_all(dir.path(), 1).unwrap_err()
    }

    fn raw_with(extra_header: [u8; BLOCK], data: &[u8]) -> Vec<u8> {
        let mut tar = raw_head();
        tar.extend(raw_entry(extra_header, data));
        end(tar)
    }

    #[test]
    fn hostile_paths_and_types_are_refused() {
        let head_len = raw_head().len() as u64;
        for (path, needle) in [
            ("../../etc/passwd", "climbs out"),
            ("blobs/sha256/../../../x", "climbs out"),
            ("/etc/passwd", "absolute path"),
            ("blobs/sha256/abc", "64 lowercase hex"),
            ("etc/passwd", "is none of"),
        ] {
            let err = read_raw(raw_with(header(path, 3), b"abc"));
            assert!(
                matches!(err, ImagesetError::UnexpectedPath { offset, .. } if offset == head_len),
                "{err}"
            );
            assert_message(
                &err,
                &[
                    &format!("`{path}`"),
                    needle,
                    "mirror_seq1_000000.tar",
                    "hint:",
                ],
            );
        }
        for (flag, kind) in [
            (b'2', "symbolic link"),
            (b'1', "hard link"),
            (b'3', "character device"),
            (b'5', "directory"),
            (b'x', "pax extended header"),
            (b'L', "GNU long name header"),
        ] {
            let mut h = header(&blob_path(b"abc"), 3);
            h[156] = flag;
            h[157..168].copy_from_slice(b"/etc/shadow");
            fix_checksum(&mut h);
            let err = read_raw(raw_with(h, b"abc"));
            assert!(
                matches!(err, ImagesetError::UnsupportedEntry { .. }),
                "{err}"
            );
            assert_message(&err, &[kind, "only regular files"]);
        }
        // The prefix field is honoured, so it cannot smuggle a path past the check.
        let mut h = header(&blob_path(b"abc"), 3);
        h[345..347].copy_from_slice(b"..");
        fix_checksum(&mut h);
        assert_message(&read_raw(raw_with(h, b"abc")), &["`../blobs/sha256/"]);
    }

    #[test]
    fn damaged_headers_name_part_and_offset() {
        let head_len = raw_head().len() as u64;
        let mut h = header(&blob_path(b"abc"), 3);
        h[10] ^= 0x40;
        let err = read_raw(raw_with(h, b"abc"));
        assert!(matches!(err, ImagesetError::BadHeader { offset, .. } if offset == head_len));
        assert_message(
            &err,
            &[
                "`mirror_seq1_000000.tar`",
                &format!("byte {head_len}"),
                "checksum",
            ],
        );

        let mut gnu = header(&blob_path(b"abc"), 3);
        gnu[257..265].copy_from_slice(b"ustar  \0");
        fix_checksum(&mut gnu);
        assert_message(&read_raw(raw_with(gnu, b"abc")), &["GNU tar header"]);

        // A lone zero block followed by data.
        let mut tar = raw_head();
        tar.extend([0u8; BLOCK]);
        tar.extend(raw_entry(header(&blob_path(b"abc"), 3), b"abc"));
        assert_message(&read_raw(end(tar)), &["zero block is followed by data"]);
    }

    #[test]
    fn the_head_must_come_first_once_and_small() {
        // A blob before the head.
        let mut tar = raw_entry(header(&blob_path(b"abc"), 3), b"abc");
        tar.extend(raw_head());
        let err = read_raw(end(tar));
        assert!(matches!(err, ImagesetError::Misplaced { .. }), "{err}");
        assert_message(&err, &["`oci-layout` belongs"]);

        // The head again later.
        let mut tar = raw_head();
        tar.extend(raw_entry(header(INDEX_JSON_PATH, 2), b"{}"));
        assert_message(&read_raw(end(tar)), &["only blobs belong"]);

        // A blob twice.
        let mut tar = raw_head();
        tar.extend(raw_entry(header(&blob_path(b"abc"), 3), b"abc"));
        tar.extend(raw_entry(header(&blob_path(b"abc"), 3), b"abc"));
        let err = read_raw(end(tar));
        assert!(matches!(err, ImagesetError::DuplicateEntry { .. }), "{err}");

        // A part 0 that ends early.
        let tar: Vec<u8> = raw_head().into_iter().take(2048).collect();
        let err = read_raw(end(tar));
        assert!(
            matches!(
                err,
                ImagesetError::MissingHead {
                    missing: METADATA_PATH,
                    ..
                }
            ),
            "{err}"
        );

        // An index claiming a huge size: refused before any allocation.
        let mut tar = raw_head()[..1024].to_vec();
        tar.extend(header(INDEX_JSON_PATH, 1 << 40));
        let err = read_raw(end(tar));
        assert!(
            matches!(err, ImagesetError::EntryTooLarge { size_bytes, .. } if size_bytes == 1 << 40),
            "{err}"
        );

        // A wrong oci-layout.
        let mut tar = raw_entry(header("oci-layout", 2), b"{}");
        tar.extend(raw_head().split_off(1024));
        assert_message(&read_raw(end(tar)), &["has no `imageLayoutVersion`"]);

        // A blob claiming more bytes than the part has.
        let mut tar = raw_head();
        tar.extend(header(&blob_path(b"abc"), u64::MAX >> 2));
        tar.extend(b"abc");
        let err = read_raw(tar);
        assert!(
            matches!(err, ImagesetError::Truncated { path: Some(_), .. }),
            "{err}"
        );
    }

    /// Part 0 with `metadata` as its `oc-mirror/metadata.json`.
    fn raw_with_metadata(metadata: &[u8]) -> Vec<u8> {
        let mut tar = raw_head()[..2048].to_vec();
        tar.extend(raw_entry(
            header(METADATA_PATH, metadata.len() as u64),
            metadata,
        ));
        end(tar)
    }

    #[test]
    fn json_is_checked_for_depth_and_size_without_building_it() {
        assert_eq!(check_json(b"{}"), Ok(()));
        assert_eq!(
            check_json(br#" {"a":[1,-2,3.5,"s\u00e9",true,null,{}]} "#),
            Ok(())
        );
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(check_json(nested(MAX_JSON_DEPTH).as_bytes()), Ok(()));
        let err = check_json(nested(MAX_JSON_DEPTH + 1).as_bytes()).unwrap_err();
        assert!(
            err.starts_with("nests arrays and objects more than 100 deep"),
            "{err}"
        );
        assert!(err.ends_with("(line 1, column 102)"), "{err}");
        let objects = format!(
            "{}1{}",
            r#"{"a":"#.repeat(MAX_JSON_DEPTH + 1),
            "}".repeat(101)
        );
        assert!(
            check_json(objects.as_bytes())
                .unwrap_err()
                .starts_with("nests")
        );
        // Far deeper than any stack would take if it were followed: refused
        // at the limit, unclosed or not.
        for deep in ["[".repeat(1_000_000), "{\"a\":".repeat(1_000_000)] {
            assert!(
                check_json(deep.as_bytes())
                    .unwrap_err()
                    .starts_with("nests")
            );
        }
        // Values, keys counted: an array of N zeros is N + 1 values, an
        // object of N members 2N + 1.
        let zeros = |n: u64| format!("[{}0]", "0,".repeat(n as usize - 1));
        assert_eq!(check_json(zeros(MAX_JSON_ITEMS - 1).as_bytes()), Ok(()));
        let err = check_json(zeros(MAX_JSON_ITEMS).as_bytes()).unwrap_err();
        assert!(
            err.starts_with("holds more than 2000000 JSON values"),
            "{err}"
        );
        let members = |n: u64| {
            let body: Vec<String> = (0..n).map(|i| format!("\"{i}\":0")).collect();
            format!("{{{}}}", body.join(","))
        };
        assert_eq!(
            check_json(members((MAX_JSON_ITEMS - 1) / 2).as_bytes()),
            Ok(())
        );
        assert!(
            check_json(members(MAX_JSON_ITEMS / 2).as_bytes())
                .unwrap_err()
                .starts_with("holds more than")
        );
        for bad in [&b""[..], b"{", b"{} {}", b"[1,]", b"\xff", b"{\"a\" 1}"] {
            let err = check_json(bad).unwrap_err();
            assert!(err.starts_with("is not JSON ("), "{bad:?}: {err}");
        }
    }

    #[test]
    fn head_json_beyond_reason_is_refused_naming_the_file() {
        let mut deep = br#"{"formatVersion":1,"config":"#.to_vec();
        deep.resize(deep.len() + 100_000, b'[');
        let err = read_raw(raw_with_metadata(&deep));
        assert!(
            matches!(
                err,
                ImagesetError::BadJson {
                    path: METADATA_PATH,
                    ..
                }
            ),
            "{err}"
        );
        assert_message(
            &err,
            &[
                "`mirror_seq1_000000.tar` holds an `oc-mirror/metadata.json` that nests",
                "hint: this file was not written by oc-mirror",
            ],
        );

        let mut zeros = br#"{"formatVersion":1,"config":[0"#.to_vec();
        for _ in 0..MAX_JSON_ITEMS {
            zeros.extend_from_slice(b",0");
        }
        zeros.extend_from_slice(b"]}");
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(part_name(1, 0)), raw_with_metadata(&zeros)).unwrap();
        let err = read_metadata(dir.path(), 1).unwrap_err();
        assert_message(
            &err,
            &["`oc-mirror/metadata.json` that holds more than 2000000"],
        );

        let err = read_raw(raw_with_metadata(b"not json"));
        assert_message(&err, &["that is not JSON (expected"]);

        let mut tar = raw_head()[..1024].to_vec();
        tar.extend(raw_entry(header(INDEX_JSON_PATH, 7), b"[[[[[[["));
        tar.extend(raw_head().split_off(2048));
        let err = read_raw(end(tar));
        assert!(
            matches!(
                err,
                ImagesetError::BadJson {
                    path: INDEX_JSON_PATH,
                    ..
                }
            ),
            "{err}"
        );
    }

    /// A size a header claims beyond the end of the part is refused from the
    /// header: the callback never sees the entry, nothing is allocated for it.
    #[test]
    fn sizes_beyond_the_part_are_refused_from_the_header() {
        let head_len = raw_head().len() as u64;
        for size in [tar::MAX_OCTAL_11, 1 << 62, u64::MAX >> 2, 4] {
            let mut tar = raw_head();
            tar.extend(header(&blob_path(b"abc"), size));
            tar.extend(b"abc");
            let len = tar.len() as u64;
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join(part_name(1, 0)), tar).unwrap();
            let reader = ImagesetReader::open(dir.path(), 1).unwrap();
            let mut calls = 0;
            let err = reader
                .read(|_, _, _| {
                    calls += 1;
                    Ok(())
                })
                .unwrap_err();
            assert_eq!(calls, 0, "size {size}");
            let ImagesetError::Truncated {
                path,
                size_bytes,
                offset,
                ..
            } = &err
            else {
                panic!("size {size}: {err}")
            };
            assert_eq!(path.as_deref(), Some(blob_path(b"abc").as_str()));
            assert_eq!(*size_bytes, Some(size));
            assert_eq!(*offset, len);
            assert_message(
                &err,
                &[
                    &format!("cut short at byte {len}, inside `blobs/sha256/"),
                    &format!("whose header claims {size} bytes"),
                    "hint:",
                ],
            );
            assert!(len > head_len);
        }

        // A head entry under the cap but beyond the part: not allocated.
        let mut tar = raw_head()[..2048].to_vec();
        tar.extend(header(METADATA_PATH, MAX_HEAD_ENTRY_BYTES));
        tar.extend(b"{}");
        let err = read_raw(tar);
        assert!(
            matches!(err, ImagesetError::Truncated { size_bytes: Some(s), .. } if s == MAX_HEAD_ENTRY_BYTES),
            "{err}"
        );
    }

    #[test]
    fn control_characters_in_hostile_names_are_escaped() {
        let name = "evil\nhint: run rm -rf\u{1b}[2J";
        let err = read_raw(raw_with(header(name, 3), b"abc"));
        let text = err.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains("\nhint: run"),
            "{text}"
        );
        assert_message(&err, &["`evil\\nhint: run rm -rf\\u{1b}[2J`", "is none of"]);

        let mut h = header(name, 0);
        h[156] = b'2';
        fix_checksum(&mut h);
        let text = read_raw(raw_with(h, b"")).to_string();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("symbolic link"), "{text}");
    }

    /// A 300 MiB cached blob goes through the writer and the reader in fixed
    /// buffers (nothing here holds it whole), and the timings are printed.
    #[test]
    fn a_300_mib_blob_streams_through() {
        const SIZE: u64 = 300 << 20;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        let mut hasher = Sha256::new();
        {
            use std::io::Write;
            let mut out = io::BufWriter::new(File::create(&file).unwrap());
            for i in 0..(SIZE >> 20) {
                let chunk = pattern(i, 1 << 20);
                hasher.update(&chunk);
                out.write_all(&chunk).unwrap();
            }
            out.flush().unwrap();
        }
        let path = format!("{BLOBS_PREFIX}{}", hex::encode(hasher.finalize()));
        let mut entries = head(b"{}");
        entries.push(Entry {
            path: path.clone(),
            size: SIZE,
            source: EntrySource::File(file),
        });
        let out = dir.path().join("imageset");
        let started = Instant::now();
        let parts = write_imageset(&out, options(1, 1 << 30), entries).unwrap();
        let wrote = started.elapsed();
        assert_eq!(parts.len(), 1);
        let started = Instant::now();
        let reader = ImagesetReader::open(&out, 1).unwrap();
        let contents = reader
            .read(|digest, size, r| {
                assert_eq!(*digest, format!("sha256:{}", &path[BLOBS_PREFIX.len()..]));
                assert_eq!(drain(r)?, size);
                Ok(())
            })
            .unwrap();
        let read = started.elapsed();
        assert_eq!(contents.blobs[0].size_bytes, SIZE);
        let mib_s = |d: std::time::Duration| 300.0 / d.as_secs_f64();
        println!(
            "300 MiB blob: write {wrote:.2?} ({:.0} MiB/s), read and verify {read:.2?} ({:.0} MiB/s)",
            mib_s(wrote),
            mib_s(read)
        );
    }
}
