//! Imagesets: the tar files a user carries across the air gap.
//!
//! The create workflow ends here and the publish workflow starts here (see the
//! data flow in `DESIGN.md`): the copy engine fills the workspace cache, the
//! [`ImagesetWriter`] packs the new blobs into `mirror_seq<N>_<NNNNNN>.tar`
//! parts, the user moves those files to the disconnected side, and the
//! [`ImagesetReader`] hands every blob to the publisher, checked against its
//! digest on the way.
//!
//! # Format
//! An imageset of sequence `N` is one or more plain (uncompressed) POSIX ustar
//! files named as oc-mirror v1 names them, `mirror_seq<N>_000000.tar`,
//! `mirror_seq<N>_000001.tar`, … Together they hold one OCI image layout, so
//! that skopeo, crane or oras can read it once the parts are untarred into one
//! directory:
//!
//! ```text
//! oci-layout                 {"imageLayoutVersion":"1.0.0"}   part 0, entry 0
//! index.json                 the OCI index of the manifests    part 0, entry 1
//! oc-mirror/metadata.json    the sequence's metadata           part 0, entry 2
//! blobs/sha256/<hex>         configs, layers and manifests     any part, in the caller's order
//! ```
//!
//! Nothing else is written or accepted: no directories, links, devices, pax or
//! GNU extension headers. Every entry is a regular file with mode 0644, owner
//! 0:0, empty owner names and the caller's mtime (`SOURCE_DATE_EPOCH` or 0).
//! A file is never split across parts; a new part starts when the next entry
//! would push the current one past the maximum size, so only a part holding a
//! single oversized entry (or the three head entries) can exceed it.
//!
//! # Steps
//! 1. The caller lists the entries ([`Entry`]) and builds an [`ImagesetWriter`],
//!    which validates them and plans the parts ([`plan_parts`]).
//! 2. The caller reads [`ImagesetWriter::plan`] (part names and which entry goes
//!    where), records it in the metadata, and hands the final metadata bytes to
//!    [`ImagesetWriter::set_metadata`].
//! 3. [`ImagesetWriter::write`] streams every part to `<name>.partial`, fsyncs,
//!    and only when all are complete renames them into place.
//! 4. Across the gap, [`read_metadata`] reads only the head of part 0, and
//!    [`ImagesetReader::read`] streams every blob of every part to a callback.
//!
//! All I/O here is blocking `std` I/O, so that a blob can be handed to a
//! callback as a plain [`std::io::Read`]; async callers run the writer and the
//! reader under `tokio::task::spawn_blocking`.
//!
//! # Invariants
//! - **Deterministic.** The same entries, maximum and mtime give byte-identical
//!   parts: headers are written by hand, every field fixed.
//! - **Verified.** The writer hashes every blob as it packs it, so a corrupt
//!   cache entry never crosses the gap; the reader hashes every blob as the
//!   callback reads it and fails on a mismatch, a bad header or a cut part.
//! - **Streaming.** Blobs move in 1 MiB chunks; only the small head entries
//!   (capped at [`MAX_HEAD_ENTRY_BYTES`]) are ever held whole in memory.
//! - **Nothing half-done.** Parts appear under their final names only once all
//!   of them are complete on disk; part 0 appears last.

mod error;
mod layout;
mod reader;
mod tar;
#[cfg(test)]
mod testutil;
mod writer;

pub use crate::metadata::Sequence;
pub use error::ImagesetError;
#[cfg(test)]
pub(crate) use layout::BLOBS_PREFIX;
pub use layout::{
    INDEX_JSON_PATH, LayoutRef, METADATA_PATH, OCI_LAYOUT, OCI_LAYOUT_PATH, blob_entry_path,
    index_json,
};
pub use reader::{ImagesetReader, read_metadata};
#[cfg(test)]
pub(crate) use writer::write_imageset;
pub use writer::{Entry, EntrySource, ImagesetWriter, WriteOptions, WrittenPart};

/// Largest `oci-layout`, `index.json` or `oc-mirror/metadata.json` accepted.
///
/// These are read whole into memory, so a hostile archive must not choose
/// their size. 64 MiB is far above real needs: an index entry is about 250
/// bytes and a blob digest in the metadata about 75, so even a sequence with
/// 100,000 blobs and 10,000 tags stays under 15 MiB.
pub const MAX_HEAD_ENTRY_BYTES: u64 = 64 << 20;

/// The name of part `index` of sequence `sequence`: `mirror_seq<N>_<NNNNNN>.tar`,
/// the index zero-padded to six digits, as oc-mirror v1 names them.
pub fn part_name(sequence: Sequence, index: usize) -> String {
    format!("mirror_seq{sequence}_{index:06}.tar")
}

/// The sequence and index a part's file name stands for (exactly
/// `mirror_seq<N>_` + six digits + `.tar`), else `None`.
pub fn parse_any_part_name(file_name: &str) -> Option<(Sequence, usize)> {
    let rest = file_name.strip_prefix("mirror_seq")?;
    let (n, rest) = rest.split_once('_')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = rest.strip_suffix(".tar")?;
    if digits.len() != PART_INDEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((n.parse().ok()?, digits.parse().ok()?))
}

/// The index of `file_name` if it is a part of sequence `sequence`, else `None`.
pub(crate) fn parse_part_name(file_name: &str, sequence: Sequence) -> Option<usize> {
    parse_any_part_name(file_name)
        .filter(|(n, _)| *n == sequence && file_name.starts_with(&format!("mirror_seq{sequence}_")))
        .map(|(_, i)| i)
}

/// Sequence numbers whose part 0 (`mirror_seq<N>_000000.tar`) is in `dir`, ascending.
pub fn sequences_in(dir: &std::path::Path) -> std::io::Result<Vec<Sequence>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some((n, 0)) = name.to_str().and_then(parse_any_part_name) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Digits in a part index: oc-mirror v1 formats it with `%06d`.
const PART_INDEX_DIGITS: usize = 6;

/// Most parts one imageset can have, so that every index fits in six digits.
pub const MAX_PARTS: usize = 1_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_round_trip() {
        assert_eq!(part_name(2, 0), "mirror_seq2_000000.tar");
        assert_eq!(part_name(17, 42), "mirror_seq17_000042.tar");
        assert_eq!(parse_part_name("mirror_seq2_000001.tar", 2), Some(1));
        assert_eq!(parse_part_name("mirror_seq2_000001.tar", 22), None);
        assert_eq!(parse_part_name("mirror_seq22_000001.tar", 2), None);
        assert_eq!(parse_part_name("mirror_seq2_000001.tar.partial", 2), None);
        assert_eq!(parse_part_name("mirror_seq2_0000001.tar", 2), None);
        assert_eq!(parse_part_name("mirror_seq2_00000a.tar", 2), None);
        assert_eq!(parse_part_name("mirror_seq2_+00001.tar", 2), None);
        assert_eq!(parse_part_name("mirror_seq02_000001.tar", 2), None);
        assert_eq!(parse_any_part_name("mirror_seq7_000003.tar"), Some((7, 3)));
        assert_eq!(parse_any_part_name("mirror_seq_000003.tar"), None);
        assert_eq!(parse_any_part_name("mirror_seq7.json"), None);
    }
}
