//! [`ImagesetError`]: everything that can go wrong writing or reading an imageset.
//!
//! Reading errors name the part file and, where it helps, the entry path and
//! the byte offset of its tar header, so that a user can tell a damaged copy
//! (copy that part again) from a foreign file (this is not an imageset). Each
//! message ends with a `hint:` line when the user can act on it.

use std::io;
use std::path::PathBuf;

use super::MAX_PARTS;
use crate::metadata::Sequence;

/// An error returned by the blob callback of [`super::ImagesetReader::read`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What to do when the filesystem is full (ENOSPC).
fn full_disk_hint(e: &io::Error) -> &'static str {
    if e.raw_os_error() == Some(28) {
        "\nhint: the disk is full: free space there (or write the imageset to a bigger filesystem) and run the same command again; nothing half-written is kept under a part's name"
    } else {
        ""
    }
}

/// Hint for damage that a fresh copy of the part fixes.
const COPY_AGAIN: &str =
    "hint: the file is damaged or incomplete; copy it again from the connected side";
/// Hint for content our writer never produces.
const FOREIGN: &str = "hint: this file was not written by oc-mirror; create the imageset again";

/// An imageset that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ImagesetError {
    /// The filesystem refused an operation.
    #[error("failed to {action} `{path}`: {source}{}", full_disk_hint(source))]
    Io {
        /// What was being done, e.g. `read` or `rename`.
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// The directory holds no part of the sequence.
    #[error(
        "`{dir}` holds no part of imageset sequence {sequence} (looked for `mirror_seq{sequence}_000000.tar`)\nhint: pass the directory that holds the `mirror_seq{sequence}_*.tar` files, and check the sequence number"
    )]
    NoParts { dir: PathBuf, sequence: Sequence },

    /// A part between the first and the last is absent.
    #[error(
        "imageset sequence {sequence} in `{dir}` has no part `{part}`\nhint: copy every `mirror_seq{sequence}_*.tar` part into the same directory"
    )]
    MissingPart {
        dir: PathBuf,
        sequence: Sequence,
        part: String,
    },

    /// A part ends in the middle of a header, of an entry's data, or before its
    /// end-of-archive marker; or an entry's header claims more bytes than the
    /// part has left (found from the header, before reading any of them).
    #[error("`{part}` is cut short at byte {offset}, {}\n{COPY_AGAIN}", truncated_where(.path, .size_bytes))]
    Truncated {
        part: String,
        /// The entry whose data was cut, or `None` if the cut is in a header or
        /// in the end-of-archive marker.
        path: Option<String>,
        /// The size the entry's header claims, when `path` is known.
        size_bytes: Option<u64>,
        offset: u64,
    },

    /// A tar header is damaged (checksum, magic, numbers) or in a format we
    /// never write (GNU).
    #[error("`{part}` has a bad tar header at byte {offset}: {reason}\n{COPY_AGAIN}")]
    BadHeader {
        part: String,
        offset: u64,
        reason: String,
    },

    /// An entry is not a regular file: link, device, directory, pax or GNU
    /// extension header.
    #[error(
        "`{part}` holds `{path}` at byte {offset}, a {kind}, but an imageset holds only regular files\n{FOREIGN}"
    )]
    UnsupportedEntry {
        part: String,
        offset: u64,
        path: String,
        kind: String,
    },

    /// An entry's path is absolute, climbs out with `..`, or is not one of the
    /// shapes an imageset holds.
    #[error("`{part}` holds `{path}` at byte {offset}, which {reason}\n{FOREIGN}")]
    UnexpectedPath {
        part: String,
        offset: u64,
        path: String,
        reason: String,
    },

    /// A head entry is out of place (part 0 must start with `oci-layout`,
    /// `index.json`, `oc-mirror/metadata.json`, and nothing else may hold them).
    #[error("`{part}` holds `{path}` where {expected}\n{FOREIGN}")]
    Misplaced {
        part: String,
        path: String,
        /// What belongs there, e.g. "`index.json` belongs".
        expected: String,
    },

    /// Part 0 ends before all of its head entries.
    #[error("`{part}` ends without `{missing}`, which every imageset starts with\n{FOREIGN}")]
    MissingHead { part: String, missing: &'static str },

    /// The same path appears twice in the imageset.
    #[error("`{part}` holds `{path}`, which an earlier entry already held\n{FOREIGN}")]
    DuplicateEntry { part: String, path: String },

    /// A head entry is larger than [`super::MAX_HEAD_ENTRY_BYTES`].
    #[error(
        "`{part}` holds `{path}` of {size_bytes} bytes, more than the {limit_bytes} bytes allowed for it\n{FOREIGN}"
    )]
    EntryTooLarge {
        part: String,
        path: String,
        size_bytes: u64,
        limit_bytes: u64,
    },

    /// `index.json` or `oc-mirror/metadata.json` is not JSON, or is JSON
    /// nested or numerous beyond anything oc-mirror writes (a parse of it
    /// would take unbounded stack or many times its size in memory).
    #[error("`{part}` holds an `{path}` that {reason}\n{FOREIGN}")]
    BadJson {
        part: String,
        path: &'static str,
        reason: String,
    },

    /// The `oci-layout` file is not `{"imageLayoutVersion":"1.0.0"}`.
    #[error("`{part}` holds an `oci-layout` that {reason}\n{FOREIGN}")]
    BadLayout { part: String, reason: String },

    /// A blob's bytes do not hash to the digest its name promises.
    #[error(
        "blob `{path}` in `{part}` does not match its digest: expected `{expected}`, got `{actual}`\nhint: the part is damaged; copy it again from the connected side, or create the imageset again"
    )]
    DigestMismatch {
        part: String,
        path: String,
        expected: String,
        actual: String,
    },

    /// The caller's blob callback failed.
    #[error("failed to handle `{path}` from `{part}`: {source}")]
    Consumer {
        part: String,
        path: String,
        source: BoxError,
    },

    /// The writer was given an entry it cannot write.
    #[error("cannot write `{path}` into an imageset: {reason}")]
    InvalidEntry { path: String, reason: String },

    /// The writer was not given one of the head entries.
    #[error("an imageset needs an entry `{path}`, but none was given")]
    MissingEntry { path: &'static str },

    /// A cached blob is not the size it was declared with.
    #[error(
        "blob `{path}` in the cache (`{file}`) is {actual_bytes} bytes, but {expected_bytes} were expected: the cache changed while the imageset was written\nhint: run the command again"
    )]
    SourceChanged {
        path: String,
        file: PathBuf,
        expected_bytes: u64,
        actual_bytes: u64,
    },

    /// A blob handed to the writer does not hash to its digest.
    #[error(
        "blob `{path}` read from {from} does not match its digest: got `{actual}`\nhint: remove it from the workspace cache so that the next run fetches it again"
    )]
    SourceDigestMismatch {
        path: String,
        /// Where it was read from: a backticked file or "memory".
        from: String,
        actual: String,
    },

    /// The metadata given to [`super::ImagesetWriter::set_metadata`] is larger
    /// than the size the plan was made with.
    #[error(
        "the metadata is {actual_bytes} bytes, more than the {reserved_bytes} bytes the parts were planned with\nhint: plan again with a larger size for the `oc-mirror/metadata.json` entry"
    )]
    MetadataOverReserve {
        reserved_bytes: u64,
        actual_bytes: u64,
    },

    /// The plan needs more parts than six-digit names allow.
    #[error(
        "the imageset would need {parts} parts, more than the {MAX_PARTS} that six-digit part names allow\nhint: raise `archiveSize`"
    )]
    TooManyParts { parts: usize },

    /// The mtime does not fit the 11 octal digits of a ustar header.
    #[error(
        "mtime {mtime} does not fit a tar header (the largest is 8589934591, in the year 2242)\nhint: check `SOURCE_DATE_EPOCH`"
    )]
    MtimeOutOfRange { mtime: u64 },
}

fn truncated_where(path: &Option<String>, size_bytes: &Option<u64>) -> String {
    match (path, size_bytes) {
        (Some(path), Some(size)) => {
            format!("inside `{path}`, whose header claims {size} bytes")
        }
        (Some(path), None) => format!("inside `{path}`"),
        (None, _) => "inside a tar header or before the end-of-archive marker".to_owned(),
    }
}
