//! Test helpers for the imageset modules: entries, hand-made tar bytes, a reader
//! that collects what it streams.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::reader::ImagesetContents;
use super::tar::{self, BLOCK};
use super::{
    BLOBS_PREFIX, Entry, INDEX_JSON_PATH, ImagesetError, ImagesetReader, METADATA_PATH, OCI_LAYOUT,
    OCI_LAYOUT_PATH, WriteOptions, index_json,
};
use crate::metadata::Sequence;

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The archive path of a blob holding `data`.
pub(crate) fn blob_path(data: &[u8]) -> String {
    format!("{BLOBS_PREFIX}{}", sha256_hex(data))
}

/// A blob entry in memory.
pub(crate) fn blob(data: &[u8]) -> Entry {
    Entry::bytes(blob_path(data), Bytes::copy_from_slice(data))
}

/// Deterministic, incompressible-looking bytes (xorshift), distinct per seed.
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The three head entries, with an empty index and the given metadata.
pub(crate) fn head(metadata: &[u8]) -> Vec<Entry> {
    vec![
        Entry::bytes(OCI_LAYOUT_PATH, Bytes::from_static(OCI_LAYOUT)),
        Entry::bytes(INDEX_JSON_PATH, index_json(&[])),
        Entry::bytes(METADATA_PATH, Bytes::copy_from_slice(metadata)),
    ]
}

pub(crate) fn options(sequence: Sequence, max_part_bytes: u64) -> WriteOptions {
    WriteOptions {
        sequence,
        max_part_bytes,
        mtime: 1_700_000_000,
    }
}

/// A blob's `sha256:<hex>` and its bytes.
pub(crate) type DigestAndData = (String, Vec<u8>);

/// Reads an imageset whole, collecting every blob's digest and bytes.
pub(crate) fn read_all(
    dir: &Path,
    sequence: Sequence,
) -> Result<(ImagesetContents, Vec<DigestAndData>), ImagesetError> {
    let reader = ImagesetReader::open(dir, sequence)?;
    let mut blobs = Vec::new();
    let contents = reader.read(|digest, size, r| {
        let mut data = Vec::new();
        r.read_to_end(&mut data)?;
        assert_eq!(data.len() as u64, size);
        blobs.push((digest.to_string(), data));
        Ok(())
    })?;
    Ok((contents, blobs))
}

/// A well-formed header for `path` of `size` bytes.
pub(crate) fn header(path: &str, size: u64) -> [u8; BLOCK] {
    tar::encode_header(path, size, 0).expect("test header")
}

/// An entry as raw tar bytes: `header`, `data`, padding.
pub(crate) fn raw_entry(header: [u8; BLOCK], data: &[u8]) -> Vec<u8> {
    let mut out = header.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len() + tar::padding(data.len() as u64), 0);
    out
}

/// The three head entries of part 0 as raw tar bytes.
pub(crate) fn raw_head() -> Vec<u8> {
    let mut out = Vec::new();
    for e in head(b"{}") {
        let super::EntrySource::Bytes(b) = &e.source else {
            unreachable!()
        };
        out.extend(raw_entry(header(&e.path, b.len() as u64), b));
    }
    out
}

/// Closes raw tar bytes with the end-of-archive marker.
pub(crate) fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.resize(tar.len() + 2 * BLOCK, 0);
    tar
}

/// Asserts that `err`'s message contains every one of `needles`.
#[track_caller]
pub(crate) fn assert_message(err: &ImagesetError, needles: &[&str]) {
    let text = err.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
}

/// Reads and discards every blob (as a publisher that reads to the end would).
pub(crate) fn drain(reader: &mut dyn Read) -> std::io::Result<u64> {
    std::io::copy(reader, &mut std::io::sink())
}
