//! The imageset writer: packs an OCI layout into `mirror_seq<N>_<NNNNNN>.tar` parts.
//!
//! This is the last step of the create workflow. The caller (the create
//! command) knows which blobs this sequence ships and where they sit in the
//! workspace cache; the writer plans how they split into parts, then streams
//! them into the tar files, checking each against its digest on the way.
//!
//! # Steps
//! 1. [`ImagesetWriter::new`] validates the entries (paths, sizes, the three
//!    head entries present) and plans the parts with [`plan_parts`].
//! 2. The caller may read [`ImagesetWriter::plan`] to record part names and
//!    the entry-to-part assignment in the metadata, then hand the final
//!    metadata to [`ImagesetWriter::set_metadata`] (see "Planning before the
//!    metadata exists" below).
//! 3. [`ImagesetWriter::write`] writes each part to `<name>.partial`, hashing
//!    the tar bytes and each blob as they stream, and fsyncs it. Once every part
//!    is complete, it removes any earlier parts of the same sequence (part 0
//!    first), renames the new parts into place (part 0 last) and fsyncs the
//!    directory. On an error it removes its `.partial` files.
//!
//! # Planning before the metadata exists
//! The metadata is written into part 0, and the caller may want it to say which
//! part holds which blob; but how many blobs fit beside it in part 0 depends on
//! its size. So for `oc-mirror/metadata.json` alone, the entry's `size` is an
//! upper bound (a reservation), not an exact length: the plan counts that
//! size, and the metadata bytes finally written may be shorter. A caller that
//! records the plan in the metadata declares a generous size, reads the plan,
//! builds the metadata and calls [`ImagesetWriter::set_metadata`]; if it turns
//! out larger than declared, that fails with
//! [`ImagesetError::MetadataOverReserve`] and the caller plans again with a
//! larger size. The plan records part *names* and assignments; part byte sizes
//! and hashes are known only after writing ([`WrittenPart`]) and so cannot be
//! in the metadata. (A caller that does not record the plan simply declares
//! the metadata's exact size.)
//!
//! # Invariants
//! - Deterministic: same entries, maximum and mtime → byte-identical parts.
//! - Verified: a blob that does not hash to its name, or a cache file whose
//!   length is not the declared size, fails the write before anything is
//!   renamed into place.
//! - Streaming: file sources move in [`COPY_CHUNK`] pieces through one buffer.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::metadata::Sequence;
use tracing::debug;

use super::layout::{EntryPath, HEAD_PATHS, METADATA_PATH, classify};
use super::tar::{self, BLOCK_BYTES, END_OF_ARCHIVE_BYTES, EncodeError, MAX_OCTAL_11};
use super::{ImagesetError, MAX_HEAD_ENTRY_BYTES, MAX_PARTS, parse_part_name, part_name};
use crate::manifest::HashingWriter;

/// Piece in which a cached blob is read and written: large enough that the
/// per-call overhead vanishes next to disk throughput, small enough to be
/// irrelevant for memory.
const COPY_CHUNK: usize = 1 << 20;
/// Buffer in front of each part file. Headers and padding (a few hundred bytes
/// each) gather here; [`COPY_CHUNK`]-sized writes pass straight through.
const WRITE_BUFFER: usize = 64 << 10;
/// Suffix of a part while it is being written.
const PARTIAL_SUFFIX: &str = ".partial";
/// Enough zeros for the largest padding and for the end-of-archive marker.
const ZEROS: [u8; END_OF_ARCHIVE_BYTES as usize] = [0; END_OF_ARCHIVE_BYTES as usize];

/// One file to put into the imageset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path in the archive: `oci-layout`, `index.json`,
    /// `oc-mirror/metadata.json` or `blobs/sha256/<64 lowercase hex>`.
    pub path: String,
    /// Its length in bytes; for `oc-mirror/metadata.json`, an upper bound (see
    /// the module doc).
    pub size: u64,
    /// Where its bytes come from.
    pub source: EntrySource,
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntrySource {
    /// Bytes in memory: the head entries, and small blobs such as manifests.
    Bytes(Bytes),
    /// A file, typically a blob in the workspace cache. It is opened when its
    /// part is written and streamed, never read whole.
    File(PathBuf),
}

impl Entry {
    /// An entry whose bytes are in memory; its size is their length.
    pub fn bytes(path: impl Into<String>, bytes: impl Into<Bytes>) -> Entry {
        let bytes = bytes.into();
        Entry {
            path: path.into(),
            size: bytes.len() as u64,
            source: EntrySource::Bytes(bytes),
        }
    }

    /// An entry streamed from `file`, which must be `size` bytes long when it
    /// is written.
    pub fn file(path: impl Into<String>, size: u64, file: impl Into<PathBuf>) -> Entry {
        Entry {
            path: path.into(),
            size,
            source: EntrySource::File(file.into()),
        }
    }
}

/// How to write an imageset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The sequence number, `N` in `mirror_seq<N>_<NNNNNN>.tar`.
    pub sequence: Sequence,
    /// Largest part, in bytes of tar file (`archiveSize` GiB in the config).
    /// Only a part with a single larger entry, or with the head entries alone,
    /// exceeds it.
    pub max_part_bytes: u64,
    /// Modification time of every entry, in seconds since the epoch: the
    /// caller passes `SOURCE_DATE_EPOCH`, or 0.
    pub mtime: u64,
}

/// A part as planned, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPart {
    /// Its file name, `mirror_seq<N>_<NNNNNN>.tar`.
    pub name: String,
    /// Indices into the writer's entries, in archive order.
    pub entries: Vec<usize>,
    /// Its size from the declared entry sizes: exact, except for part 0 when
    /// the metadata turns out shorter than declared (then an upper bound).
    pub size_bytes: u64,
}

/// A part as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPart {
    /// Its file name, `mirror_seq<N>_<NNNNNN>.tar`.
    pub name: String,
    /// Its exact size.
    pub size_bytes: u64,
    /// The SHA-256 of the whole tar file, 64 lowercase hex digits.
    pub sha256: String,
}

/// Bytes `size` data bytes take in a part: header plus padded data. Sizes too
/// large for `u64` count as `u64::MAX`, which only ever exceeds a maximum.
fn entry_bytes(size: u64) -> u64 {
    tar::entry_bytes(size).unwrap_or(u64::MAX)
}

/// Splits `entries` into parts of at most `max_part_bytes` bytes of tar each.
///
/// Pure and deterministic. Part 0 starts with `oci-layout`, `index.json` and
/// `oc-mirror/metadata.json`, in that order, wherever the caller put them in
/// `entries`; the other entries follow in the order given. A part's size counts
/// a 512-byte header per entry, data rounded up to 512 bytes and the 1 KiB
/// end-of-archive marker. An entry that would push the current part past
/// `max_part_bytes` starts a new part; an entry larger than the maximum on its
/// own gets a part to itself, and the three head entries stay in part 0 even
/// if they alone exceed it. Files are never split. Returns the indices into
/// `entries` of each part, in order; no entries give no parts.
pub fn plan_parts(entries: &[Entry], max_part_bytes: u64) -> Vec<Vec<usize>> {
    let head: Vec<usize> = HEAD_PATHS
        .iter()
        .filter_map(|&h| entries.iter().position(|e| e.path == h))
        .collect();
    let mut parts = Vec::new();
    let mut current_bytes = head.iter().fold(END_OF_ARCHIVE_BYTES, |acc, &i| {
        acc.saturating_add(entry_bytes(entries[i].size))
    });
    let mut current = head.clone();
    for (i, entry) in entries.iter().enumerate() {
        if head.contains(&i) {
            continue;
        }
        let bytes = entry_bytes(entry.size);
        if !current.is_empty() && current_bytes.saturating_add(bytes) > max_part_bytes {
            parts.push(std::mem::take(&mut current));
            current_bytes = END_OF_ARCHIVE_BYTES;
        }
        current.push(i);
        current_bytes = current_bytes.saturating_add(bytes);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Writes an imageset in one go: [`ImagesetWriter::new`] then
/// [`ImagesetWriter::write`], for callers that do not record the plan.
#[cfg(test)]
pub fn write_imageset(
    dir: impl Into<PathBuf>,
    options: WriteOptions,
    entries: Vec<Entry>,
) -> Result<Vec<WrittenPart>, ImagesetError> {
    ImagesetWriter::new(dir, options, entries)?.write()
}

/// An imageset planned and ready to be written into a directory.
#[derive(Debug)]
pub struct ImagesetWriter {
    dir: PathBuf,
    options: WriteOptions,
    entries: Vec<Entry>,
    plan: Vec<PlannedPart>,
}

impl ImagesetWriter {
    /// Validates `entries` and plans the parts of sequence `options.sequence`
    /// in `dir` (created when written if missing). Nothing is written yet.
    ///
    /// Refused: a path that is not one of the four shapes an imageset holds, a
    /// path given twice, a missing head entry, a head entry not given as bytes
    /// or larger than [`MAX_HEAD_ENTRY_BYTES`], bytes whose length is not the
    /// declared size (for the metadata: above it), an mtime a tar header cannot
    /// hold, and a plan of more than [`MAX_PARTS`] parts. File sources are not
    /// opened until [`write`](Self::write).
    pub fn new(
        dir: impl Into<PathBuf>,
        options: WriteOptions,
        entries: Vec<Entry>,
    ) -> Result<ImagesetWriter, ImagesetError> {
        if options.mtime > MAX_OCTAL_11 {
            return Err(ImagesetError::MtimeOutOfRange {
                mtime: options.mtime,
            });
        }
        let mut seen = HashSet::new();
        for entry in &entries {
            validate(entry)?;
            if !seen.insert(entry.path.as_str()) {
                return Err(invalid(entry, "it is listed twice".to_owned()));
            }
        }
        if let Some(&missing) = HEAD_PATHS.iter().find(|&&h| !seen.contains(h)) {
            return Err(ImagesetError::MissingEntry { path: missing });
        }
        let indices = plan_parts(&entries, options.max_part_bytes);
        if indices.len() > MAX_PARTS {
            return Err(ImagesetError::TooManyParts {
                parts: indices.len(),
            });
        }
        let plan = indices
            .into_iter()
            .enumerate()
            .map(|(n, part)| PlannedPart {
                name: part_name(options.sequence, n),
                size_bytes: part.iter().fold(END_OF_ARCHIVE_BYTES, |acc, &i| {
                    acc.saturating_add(entry_bytes(entries[i].size))
                }),
                entries: part,
            })
            .collect();
        Ok(ImagesetWriter {
            dir: dir.into(),
            options,
            entries,
            plan,
        })
    }

    /// The planned parts, in order. Part 0 holds the head entries first.
    pub fn plan(&self) -> &[PlannedPart] {
        &self.plan
    }

    /// Replaces the metadata's bytes, keeping the plan. `metadata` may be
    /// shorter than the size the metadata entry was declared with, not longer.
    pub fn set_metadata(&mut self, metadata: Bytes) -> Result<(), ImagesetError> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.path == METADATA_PATH)
            .ok_or(ImagesetError::MissingEntry {
                path: METADATA_PATH,
            })?;
        if metadata.len() as u64 > entry.size {
            return Err(ImagesetError::MetadataOverReserve {
                reserved_bytes: entry.size,
                actual_bytes: metadata.len() as u64,
            });
        }
        entry.source = EntrySource::Bytes(metadata);
        Ok(())
    }

    /// Writes every part, then renames them into place; returns them in order.
    ///
    /// Earlier parts of the same sequence in the directory are removed, so a
    /// reader never mixes two writes. On an error, the `.partial` files are
    /// removed and no part of this write is visible under its final name
    /// (unless the error struck while renaming; then part 0 is missing, so the
    /// set cannot be read as complete).
    pub fn write(self) -> Result<Vec<WrittenPart>, ImagesetError> {
        let partials: Vec<PathBuf> = self
            .plan
            .iter()
            .map(|p| self.dir.join(format!("{}{PARTIAL_SUFFIX}", p.name)))
            .collect();
        let result = self.write_all(&partials);
        if result.is_err() {
            for partial in &partials {
                // Best effort: most of them were never created.
                let _ = fs::remove_file(partial);
            }
        }
        result
    }

    fn write_all(&self, partials: &[PathBuf]) -> Result<Vec<WrittenPart>, ImagesetError> {
        fs::create_dir_all(&self.dir).map_err(io_error("create directory", &self.dir))?;
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut written = Vec::with_capacity(self.plan.len());
        for (part, partial) in self.plan.iter().zip(partials) {
            let done = self.write_part(part, partial, &mut buf)?;
            debug!(part = %done.name, size_bytes = done.size_bytes, "imageset part written");
            written.push(done);
        }
        self.put_in_place(partials)?;
        Ok(written)
    }

    /// Writes one part to `partial` and fsyncs it.
    fn write_part(
        &self,
        part: &PlannedPart,
        partial: &Path,
        buf: &mut [u8],
    ) -> Result<WrittenPart, ImagesetError> {
        let write_err = io_error("write", partial);
        let file = File::create(partial).map_err(io_error("create", partial))?;
        let mut out = HashingWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file));
        for &i in &part.entries {
            let entry = &self.entries[i];
            let data_len = match &entry.source {
                EntrySource::Bytes(b) => b.len() as u64,
                EntrySource::File(_) => entry.size,
            };
            let header = tar::encode_header(&entry.path, data_len, self.options.mtime).map_err(
                |e| match e {
                    EncodeError::Name => {
                        invalid(entry, "its name does not fit a tar header".into())
                    }
                    EncodeError::Mtime => ImagesetError::MtimeOutOfRange {
                        mtime: self.options.mtime,
                    },
                },
            )?;
            out.write_all(&header).map_err(&write_err)?;
            let blob = match classify(&entry.path) {
                Ok(EntryPath::Blob(digest)) => Some(digest),
                _ => None,
            };
            match &entry.source {
                EntrySource::Bytes(bytes) => {
                    if let Some(expected) = &blob {
                        check_digest(entry, expected, Digest::of(bytes), "memory".to_owned())?;
                    }
                    out.write_all(bytes).map_err(&write_err)?;
                }
                EntrySource::File(file) => {
                    copy_file(entry, file, blob.as_ref(), &mut out, buf).map_err(|e| match e {
                        CopyError::Source(e) => e,
                        CopyError::Write(e) => write_err(e),
                    })?;
                }
            }
            out.write_all(&ZEROS[..tar::padding(data_len)])
                .map_err(&write_err)?;
        }
        out.write_all(&ZEROS).map_err(&write_err)?;
        let (inner, digest, bytes) = out.finish();
        let file = inner.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(io_error("sync", partial))?;
        debug_assert_eq!(bytes % BLOCK_BYTES, 0);
        Ok(WrittenPart {
            name: part.name.clone(),
            size_bytes: bytes,
            sha256: digest.hex().to_string(),
        })
    }

    /// Removes earlier parts of this sequence (part 0 first), renames the new
    /// ones into place (part 0 last) and fsyncs the directory, so that at no
    /// moment does the directory hold a part 0 beside parts of another write.
    fn put_in_place(&self, partials: &[PathBuf]) -> Result<(), ImagesetError> {
        let mut old: Vec<usize> = fs::read_dir(&self.dir)
            .map_err(io_error("list", &self.dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_part_name(e.file_name().to_str()?, self.options.sequence))
            .collect();
        old.sort_unstable();
        for index in old {
            let path = self.dir.join(part_name(self.options.sequence, index));
            crate::crashpoint::hit("remove an earlier part");
            fs::remove_file(&path).map_err(io_error("remove earlier part", &path))?;
        }
        for (part, partial) in self.plan.iter().zip(partials).rev() {
            let path = self.dir.join(&part.name);
            crate::crashpoint::hit(&part.name);
            fs::rename(partial, &path).map_err(io_error("rename into place", &path))?;
        }
        sync_dir(&self.dir);
        Ok(())
    }
}

/// Checks one entry on its own (duplicates and head presence are checked by
/// the caller).
fn validate(entry: &Entry) -> Result<(), ImagesetError> {
    let kind =
        classify(&entry.path).map_err(|reason| invalid(entry, format!("its path {reason}")))?;
    if tar::encode_header(&entry.path, 0, 0).is_err() {
        return Err(invalid(
            entry,
            "its name does not fit a tar header".to_owned(),
        ));
    }
    if tar::entry_bytes(entry.size).is_none() {
        return Err(invalid(
            entry,
            format!("its size {} is too large", entry.size),
        ));
    }
    match (kind, &entry.source) {
        (EntryPath::Head(_), EntrySource::File(_)) => Err(invalid(
            entry,
            "it must be given as bytes, not as a file".to_owned(),
        )),
        (EntryPath::Head(_), _) if entry.size > MAX_HEAD_ENTRY_BYTES => Err(invalid(
            entry,
            format!(
                "it is {} bytes, more than the {MAX_HEAD_ENTRY_BYTES} bytes a reader accepts",
                entry.size
            ),
        )),
        (EntryPath::Head(_), EntrySource::Bytes(b))
            if entry.path == METADATA_PATH && b.len() as u64 > entry.size =>
        {
            Err(ImagesetError::MetadataOverReserve {
                reserved_bytes: entry.size,
                actual_bytes: b.len() as u64,
            })
        }
        (_, EntrySource::Bytes(b))
            if entry.path != METADATA_PATH && b.len() as u64 != entry.size =>
        {
            Err(invalid(
                entry,
                format!("it is {} bytes, but its size says {}", b.len(), entry.size),
            ))
        }
        _ => Ok(()),
    }
}

fn invalid(entry: &Entry, reason: String) -> ImagesetError {
    ImagesetError::InvalidEntry {
        path: entry.path.clone(),
        reason,
    }
}

fn io_error(action: &'static str, path: &Path) -> impl Fn(io::Error) -> ImagesetError {
    let path = path.to_path_buf();
    move |source| ImagesetError::Io {
        action,
        path: path.clone(),
        source,
    }
}

/// Compares a blob's hash with the digest its path promises.
fn check_digest(
    entry: &Entry,
    expected: &Digest,
    actual: Digest,
    from: String,
) -> Result<(), ImagesetError> {
    if actual == *expected {
        Ok(())
    } else {
        Err(ImagesetError::SourceDigestMismatch {
            path: entry.path.clone(),
            from,
            actual: actual.into_string(),
        })
    }
}

/// Why streaming a file source stopped: the source (its own error), or the
/// part being written (an I/O error the caller names).
enum CopyError {
    Source(ImagesetError),
    Write(io::Error),
}

/// Streams `file` into `out`, checking that it is exactly `entry.size` bytes
/// and, for a blob, that it hashes to `blob`.
fn copy_file(
    entry: &Entry,
    file: &Path,
    blob: Option<&Digest>,
    out: &mut impl Write,
    buf: &mut [u8],
) -> Result<(), CopyError> {
    let src = |e| CopyError::Source(e);
    let read_err = |action| {
        let f = io_error(action, file);
        move |e| CopyError::Source(f(e))
    };
    let changed = |actual_bytes| {
        CopyError::Source(ImagesetError::SourceChanged {
            path: entry.path.clone(),
            file: file.to_path_buf(),
            expected_bytes: entry.size,
            actual_bytes,
        })
    };
    let mut source = File::open(file).map_err(read_err("open"))?;
    let len = source.metadata().map_err(read_err("stat"))?.len();
    if len != entry.size {
        return Err(changed(len));
    }
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    while done < entry.size {
        let want = buf
            .len()
            .min(usize::try_from(entry.size - done).unwrap_or(usize::MAX));
        let n = read_some(&mut source, &mut buf[..want]).map_err(read_err("read"))?;
        if n == 0 {
            return Err(changed(done));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        done += n as u64;
    }
    if read_some(&mut source, &mut buf[..1]).map_err(read_err("read"))? != 0 {
        let now = source.metadata().map_err(read_err("stat"))?.len();
        return Err(changed(now.max(done + 1)));
    }
    if let Some(expected) = blob {
        check_digest(
            entry,
            expected,
            Digest::from_hasher(hasher),
            format!("`{}`", file.display()),
        )
        .map_err(src)?;
    }
    Ok(())
}

/// `read`, retried when a signal interrupts it.
pub(crate) fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Makes the renames durable. Failure only weakens durability after a power
/// cut (each part is already fsynced), and some filesystems refuse to fsync a
/// directory, so it is logged rather than returned.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        debug!(dir = %dir.display(), error = %e, "could not fsync the imageset directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imageset::testutil::{
        assert_message, blob, blob_path, head, options, pattern, read_all, sha256_hex,
    };
    use crate::imageset::{
        BLOBS_PREFIX, INDEX_JSON_PATH, ImagesetReader, OCI_LAYOUT, OCI_LAYOUT_PATH,
    };

    /// Bytes of a part holding entries of these data sizes.
    fn part_bytes(sizes: &[u64]) -> u64 {
        sizes.iter().map(|&s| entry_bytes(s)).sum::<u64>() + END_OF_ARCHIVE_BYTES
    }

    fn sized(path_seed: u64, size: u64) -> Entry {
        Entry {
            path: format!("{BLOBS_PREFIX}{:064x}", path_seed),
            size,
            source: EntrySource::Bytes(Bytes::new()),
        }
    }

    #[test]
    fn plan_puts_the_head_first_wherever_it_was_given() {
        let mut entries = head(b"{}");
        entries.rotate_left(1); // index.json, metadata, oci-layout
        entries.insert(1, sized(1, 10));
        entries.push(sized(2, 10));
        // [index.json, blob1, metadata, oci-layout, blob2]
        assert_eq!(plan_parts(&entries, u64::MAX), vec![vec![3, 0, 2, 1, 4]]);
        assert_eq!(plan_parts(&[], 1 << 20), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn plan_fits_exactly_and_splits_one_byte_over() {
        let mut entries = head(b"{}");
        entries.extend([sized(1, 1000), sized(2, 512), sized(3, 1)]);
        let head_sizes = [OCI_LAYOUT.len() as u64, entries[1].size, 2];
        let exact = part_bytes(&[head_sizes[0], head_sizes[1], head_sizes[2], 1000, 512]);
        assert_eq!(
            plan_parts(&entries, exact),
            vec![vec![0, 1, 2, 3, 4], vec![5]]
        );
        assert_eq!(
            plan_parts(&entries, exact - 1),
            vec![vec![0, 1, 2, 3], vec![4, 5]]
        );
        // Everything fits: one part.
        assert_eq!(plan_parts(&entries, exact + 1024).len(), 1);
    }

    #[test]
    fn plan_gives_an_oversized_entry_a_part_of_its_own() {
        let mut entries = head(b"{}");
        entries.extend([
            sized(1, 100),
            sized(2, 10_000),
            sized(3, 100),
            sized(4, 100),
        ]);
        let max = 8192;
        assert_eq!(
            plan_parts(&entries, max),
            vec![vec![0, 1, 2, 3], vec![4], vec![5, 6]]
        );
        // The head stays together even when it alone exceeds the maximum.
        assert_eq!(
            plan_parts(&entries, 1),
            vec![vec![0, 1, 2], vec![3], vec![4], vec![5], vec![6]]
        );
        // Sizes that overflow a tar count as "too big", never wrap around.
        entries.push(sized(5, u64::MAX));
        assert_eq!(plan_parts(&entries, u64::MAX - 1).len(), 2);
    }

    #[test]
    fn the_writer_follows_its_plan_and_names_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = head(b"{\"m\":1}");
        entries.extend((0..6).map(|i| blob(&pattern(i, 3000))));
        let writer = ImagesetWriter::new(dir.path(), options(2, 8192), entries).unwrap();
        let planned: Vec<(String, u64)> = writer
            .plan()
            .iter()
            .map(|p| (p.name.clone(), p.size_bytes))
            .collect();
        assert!(planned.len() > 2, "{planned:?}");
        let written = writer.write().unwrap();
        for ((name, size), part) in planned.iter().zip(&written) {
            assert_eq!(name, &part.name);
            assert_eq!(*size, part.size_bytes);
            assert!(*size <= 8192);
            let on_disk = fs::read(dir.path().join(name)).unwrap();
            assert_eq!(on_disk.len() as u64, part.size_bytes);
            assert_eq!(sha256_hex(&on_disk), part.sha256);
        }
        assert_eq!(written[0].name, "mirror_seq2_000000.tar");
        assert_eq!(written[1].name, "mirror_seq2_000001.tar");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), written.len(), "no leftovers: {names:?}");
    }

    #[test]
    fn writes_are_byte_identical() {
        let src = tempfile::tempdir().unwrap();
        let big = pattern(7, 2_500_000);
        let big_file = src.path().join("big");
        fs::write(&big_file, &big).unwrap();
        let entries = || {
            let mut e = head(b"{\"sequence\":1}");
            e.push(Entry::file(blob_path(&big), big.len() as u64, &big_file));
            e.extend((0..20).map(|i| blob(&pattern(i, 100 * i as usize))));
            e
        };
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pa = write_imageset(a.path(), options(1, 1 << 20), entries()).unwrap();
        let pb = write_imageset(b.path(), options(1, 1 << 20), entries()).unwrap();
        assert!(pa.len() >= 3);
        assert_eq!(pa, pb);
        for p in &pa {
            assert_eq!(
                fs::read(a.path().join(&p.name)).unwrap(),
                fs::read(b.path().join(&p.name)).unwrap()
            );
        }
        let mut later = options(1, 1 << 20);
        later.mtime += 1;
        let c = tempfile::tempdir().unwrap();
        let pc = write_imageset(c.path(), later, entries()).unwrap();
        assert_ne!(pa[0].sha256, pc[0].sha256, "the mtime is in the headers");
    }

    #[test]
    fn gnu_tar_lists_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = head(b"{}");
        entries.push(blob(b"hello"));
        let parts = write_imageset(dir.path(), options(1, u64::MAX), entries).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(dir.path().join(&parts[0].name))
            .output()
            .unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
        let listing = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("-rw-r--r-- 0/0"), "{listing}");
        assert!(lines[0].ends_with(" oci-layout"), "{listing}");
        assert!(lines[3].ends_with(&blob_path(b"hello")), "{listing}");
    }

    #[test]
    fn metadata_may_be_set_after_planning_within_its_reservation() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = head(b"");
        entries[2].size = 4096; // reserved
        entries.extend((0..8).map(|i| blob(&pattern(i, 1500))));
        let mut writer = ImagesetWriter::new(dir.path(), options(3, 9000), entries).unwrap();
        let plan = writer.plan().to_vec();
        let too_big = Bytes::from(vec![b' '; 4097]);
        let err = writer.set_metadata(too_big).unwrap_err();
        assert!(matches!(
            err,
            ImagesetError::MetadataOverReserve {
                reserved_bytes: 4096,
                actual_bytes: 4097
            }
        ));
        let metadata = format!(
            "{{\"parts\":{:?}}}",
            plan.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
        writer.set_metadata(Bytes::from(metadata.clone())).unwrap();
        assert_eq!(writer.plan(), plan.as_slice());
        let written = writer.write().unwrap();
        assert_eq!(written.len(), plan.len());
        assert!(written[0].size_bytes < plan[0].size_bytes);
        for (w, p) in written.iter().zip(&plan).skip(1) {
            assert_eq!(w.size_bytes, p.size_bytes);
        }
        let (contents, blobs) = read_all(dir.path(), 3).unwrap();
        assert_eq!(contents.metadata, metadata.as_bytes());
        assert_eq!(blobs.len(), 8);
        // Where the plan put each blob is where the reader found it.
        for (n, part) in plan.iter().enumerate() {
            for &i in &part.entries[if n == 0 { 3 } else { 0 }..] {
                let path = &writer_entries_path(i);
                let digest = format!("sha256:{}", &path[BLOBS_PREFIX.len()..]);
                let record = contents.blobs.iter().find(|b| b.digest == digest).unwrap();
                assert_eq!(record.part, n);
            }
        }
    }

    /// The path of entry `i` in `metadata_may_be_set_after_planning…`.
    fn writer_entries_path(i: usize) -> String {
        blob_path(&pattern(i as u64 - 3, 1500))
    }

    #[test]
    fn bad_entries_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let try_with = |extra: Vec<Entry>, drop_head: Option<usize>| {
            let mut entries = head(b"{}");
            if let Some(i) = drop_head {
                entries.remove(i);
            }
            entries.extend(extra);
            ImagesetWriter::new(&out, options(1, 1 << 20), entries).unwrap_err()
        };
        let hex = "a".repeat(64);
        let cases: Vec<(Vec<Entry>, Option<usize>, &[&str])> = vec![
            (vec![blob(b"x"), blob(b"x")], None, &["listed twice"]),
            (
                vec![Entry::bytes("../x", "x")],
                None,
                &["`../x`", "climbs out"],
            ),
            (vec![Entry::bytes("/etc/passwd", "x")], None, &["absolute"]),
            (
                vec![Entry::bytes("blobs/sha256/ABC", "x")],
                None,
                &["64 lowercase hex"],
            ),
            (
                vec![Entry::bytes("manifest.json", "x")],
                None,
                &["is none of"],
            ),
            (
                vec![Entry {
                    path: format!("{BLOBS_PREFIX}{hex}"),
                    size: 2,
                    source: EntrySource::Bytes(Bytes::from_static(b"x")),
                }],
                None,
                &["1 bytes, but its size says 2"],
            ),
            (vec![], Some(1), &["`index.json`", "none was given"]),
            (vec![], Some(0), &["`oci-layout`"]),
        ];
        for (extra, drop_head, needles) in cases {
            assert_message(&try_with(extra, drop_head), needles);
        }
        let mut file_head = head(b"{}");
        file_head[1] = Entry::file(INDEX_JSON_PATH, 10, "/nonexistent");
        let err = ImagesetWriter::new(&out, options(1, 1 << 20), file_head).unwrap_err();
        assert_message(&err, &["must be given as bytes"]);
        let mut opts = options(1, 1 << 20);
        opts.mtime = MAX_OCTAL_11 + 1;
        let err = ImagesetWriter::new(&out, opts, head(b"{}")).unwrap_err();
        assert_message(&err, &["SOURCE_DATE_EPOCH"]);
        assert!(!out.exists());
    }

    #[test]
    fn a_cache_file_that_changed_fails_the_write_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(1, 5000);
        let file = dir.path().join("cached");
        fs::write(&file, &data).unwrap();
        let out = dir.path().join("out");
        let write = |size: u64, content: &[u8]| {
            fs::write(&file, content).unwrap();
            let mut entries = head(b"{}");
            entries.push(blob(b"first part"));
            entries.push(Entry::file(blob_path(&data), size, &file));
            write_imageset(&out, options(1, 4096), entries).unwrap_err()
        };
        let shorter = write(5000, &data[..4000]);
        assert!(matches!(
            shorter,
            ImagesetError::SourceChanged {
                expected_bytes: 5000,
                actual_bytes: 4000,
                ..
            }
        ));
        assert_message(&shorter, &["changed while the imageset was written"]);
        let mut corrupt = data.clone();
        corrupt[4999] ^= 0x20;
        let err = write(5000, &corrupt);
        assert_message(
            &err,
            &[&blob_path(&data), "does not match its digest", "cached`"],
        );
        // Nothing visible, nothing partial.
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
        let err = write(5000, &[data.as_slice(), b"more"].concat());
        assert!(matches!(
            err,
            ImagesetError::SourceChanged {
                actual_bytes: 5004,
                ..
            }
        ));
        let err = write_imageset(
            &out,
            options(1, 4096),
            [
                head(b"{}"),
                vec![Entry::file(blob_path(&data), 5000, dir.path().join("gone"))],
            ]
            .concat(),
        )
        .unwrap_err();
        assert_message(&err, &["failed to open", "gone"]);
    }

    #[test]
    fn a_rewrite_replaces_every_earlier_part_of_the_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let mut many = head(b"{\"run\":1}");
        many.extend((0..10).map(|i| blob(&pattern(i, 3000))));
        let first = write_imageset(dir.path(), options(4, 8192), many).unwrap();
        assert!(first.len() >= 4);
        fs::write(
            dir.path().join("mirror_seq5_000000.tar"),
            b"another sequence",
        )
        .unwrap();
        let mut few = head(b"{\"run\":2}");
        few.push(blob(b"only"));
        let second = write_imageset(dir.path(), options(4, 8192), few).unwrap();
        assert_eq!(second.len(), 1);
        let reader = ImagesetReader::open(dir.path(), 4).unwrap();
        assert_eq!(reader.parts(), ["mirror_seq4_000000.tar"]);
        let (contents, blobs) = read_all(dir.path(), 4).unwrap();
        assert_eq!(contents.metadata, b"{\"run\":2}".as_slice());
        assert_eq!(blobs.len(), 1);
        assert!(dir.path().join("mirror_seq5_000000.tar").exists());
        assert!(
            !dir.path().join(OCI_LAYOUT_PATH).exists(),
            "nothing but parts is written"
        );
    }
}
