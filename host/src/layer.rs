//! Layers the host makes: a gzip'd tar written into a temporary file and
//! hashed as it is written, reproducibly.
//!
//! Two builders need image layers made here: the host's own image builds
//! (an archive downloaded for the graph-data image, re-laid below a
//! directory) and content sources that write a layer's files through the
//! host (`images.layer-writer`, the filtered operator catalog). Both must be
//! deterministic, so that the same files always give the same layer digest
//! and a rerun is a no-op in the mirror: every entry has root owners, time
//! 0, mode 0755 (directories) or 0644 (files) and no user or group names;
//! gzip has no name and time 0. Nothing is held in memory: the tar streams
//! into gzip and the gzip into a temporary file, with the uncompressed
//! (`diff_id`) and compressed (digest) hashes taken on the way.

use std::io::{self, Read};

use crate::digest::Digest;
use crate::manifest::HashingWriter;
use crate::workspace::BlobCache;

/// A finished layer in the blob cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Of the compressed blob.
    pub digest: Digest,
    pub size: u64,
    /// Of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// What the config's history says made it.
    pub created_by: String,
}

type Gz = flate2::write::GzEncoder<HashingWriter<std::fs::File>>;

/// A layer being written.
pub struct LayerBuilder {
    tar: tar::Builder<HashingWriter<Gz>>,
    /// Bytes of file contents written so far.
    pub content_bytes: u64,
}

impl LayerBuilder {
    /// An empty layer, written into a new temporary file.
    pub fn new() -> io::Result<LayerBuilder> {
        let gz = flate2::GzBuilder::new().mtime(0).write(
            HashingWriter::new(tempfile::tempfile()?),
            flate2::Compression::default(),
        );
        Ok(LayerBuilder {
            tar: tar::Builder::new(HashingWriter::new(gz)),
            content_bytes: 0,
        })
    }

    /// Adds a directory entry (`path` relative, without a trailing `/`).
    pub fn directory(&mut self, path: &str) -> io::Result<()> {
        let mut header = header(tar::EntryType::Directory, 0o755, 0);
        self.tar
            .append_data(&mut header, format!("{path}/"), io::empty())
    }

    /// Adds a regular file of `size` bytes read from `contents`.
    pub fn file(&mut self, path: &str, size: u64, contents: &mut dyn Read) -> io::Result<()> {
        let mut header = header(tar::EntryType::Regular, 0o644, size);
        self.tar
            .append_data(&mut header, path, contents.take(size))?;
        self.content_bytes += size;
        Ok(())
    }

    /// Ends the tar and the gzip stream and stores the blob in `cache`.
    pub fn finish(self, cache: &BlobCache, created_by: String) -> io::Result<Layer> {
        use std::io::Seek;
        let (gz, diff_id, _) = self.tar.into_inner()?.finish();
        let (mut file, digest, size) = gz.finish()?.finish();
        file.rewind()?;
        cache.store(&digest, size, &mut file)?;
        Ok(Layer {
            digest,
            size,
            diff_id,
            created_by,
        })
    }
}

/// A tar header with the fixed owners, time and mode of every entry.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header
}
