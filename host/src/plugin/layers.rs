//! The host side of `images` (contract 0.3.0): an image's config for a
//! plugin to read, layers a plugin writes for the images it asks the host
//! to build (the filtered operator catalog), and raw blobs it writes for the
//! artifacts it asks the host to assemble (a Helm chart).
//!
//! A plugin cannot write files, so it hands the host a layer's directories
//! and files, the files in chunks. Each file is spooled to a temporary file
//! until it ends (a tar entry needs its size first), then appended to a
//! [`LayerBuilder`], which makes the layer deterministic; `finish` stores the
//! blob in the workspace's blob cache and returns its digest as the layer's
//! id. The layers a call finished come back with its resolution, and only
//! an id of this call's layers is accepted in a build.
//!
//! What one call may write is bounded ([`MAX_WRITTEN`], [`MAX_ENTRIES`],
//! [`MAX_LAYERS`], [`MAX_BLOBS`]): a plugin must not fill the disk.

use std::collections::BTreeSet;
use std::io::{Seek, Write};

use wasmtime::component::Resource;

use super::bindings::types::Error;
use super::bindings::v0_3::images;
use super::host::PluginState;
use crate::layer::{Layer, LayerBuilder};

/// File contents one call may write, over all its layers.
pub const MAX_WRITTEN: u64 = 8 << 30;
/// Entries (files and directories) one call may write.
pub const MAX_ENTRIES: u64 = 1 << 20;
/// Layers one call may write.
pub const MAX_LAYERS: usize = 64;
/// Blobs one call may write (a Helm repository's every chart version is two
/// each: its metadata and its archive).
pub const MAX_BLOBS: usize = 1 << 16;
/// Largest image config handed to a plugin.
const MAX_CONFIG: u64 = 4 << 20;
/// Largest blob a plugin opens.
const MAX_BLOB: u64 = 1 << 30;

/// A layer being written by a plugin.
pub struct LayerWriter {
    builder: Option<LayerBuilder>,
    /// The file being written: its path and its bytes so far.
    open: Option<(String, std::fs::File)>,
    /// Every path added, and which are directories.
    paths: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

/// A raw blob being written by a plugin, hashed as it is spooled to disk.
pub struct BlobWriter {
    out: Option<crate::manifest::HashingWriter<std::fs::File>>,
}

/// A blob a plugin finished, in the blob cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBlob {
    pub digest: crate::digest::Digest,
    pub size: u64,
}

/// What a plugin's layers and blobs have used of the call's budget, and
/// those it finished.
#[derive(Default)]
pub struct Written {
    pub layers: Vec<Layer>,
    pub blobs: Vec<WrittenBlob>,
    bytes: u64,
    entries: u64,
}

/// Checks a path a plugin gives: relative, segments of printable
/// characters, none empty, `.` or `..`.
fn check_path(path: &str) -> Result<(), Error> {
    let ok = !path.is_empty()
        && path.len() <= 4096
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.len() <= 255
                && !seg.chars().any(|c| c.is_control())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "`{path}` is not a relative path of non-empty segments without `.` or `..`"
        )))
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Other(format!("{what}: {e}"))
}

impl LayerWriter {
    /// Ends the file being written, appending it to the layer.
    fn close_file(&mut self) -> Result<(), Error> {
        let Some((path, mut file)) = self.open.take() else {
            return Ok(());
        };
        let builder = self.builder.as_mut().ok_or_else(finished)?;
        let size = file
            .stream_position()
            .map_err(|e| io_error("writing a layer", e))?;
        file.rewind().map_err(|e| io_error("writing a layer", e))?;
        builder
            .file(&path, size, &mut file)
            .map_err(|e| io_error(&format!("adding `{path}` to a layer"), e))
    }

    /// Checks that `path` is new and its parent was added.
    fn check_new(&self, path: &str) -> Result<(), Error> {
        check_path(path)?;
        if self.paths.contains(path) {
            return Err(Error::InvalidConfig(format!(
                "`{path}` was already added to this layer"
            )));
        }
        if let Some((parent, _)) = path.rsplit_once('/')
            && !self.dirs.contains(parent)
        {
            return Err(Error::InvalidConfig(format!(
                "the directory of `{path}` was not added first (`add-directory(\"{parent}\")`)"
            )));
        }
        Ok(())
    }
}

fn finished() -> Error {
    Error::InvalidConfig("the layer was already finished".into())
}

impl PluginState {
    /// Counts one more entry against the call's budget.
    fn count_entry(&mut self) -> Result<(), Error> {
        self.written.entries += 1;
        if self.written.entries > MAX_ENTRIES {
            return Err(Error::InvalidConfig(format!(
                "more than {MAX_ENTRIES} files and directories written in one call"
            )));
        }
        Ok(())
    }
}

impl images::Host for PluginState {
    async fn open_blob(
        &mut self,
        reference: String,
        digest: String,
    ) -> wasmtime::Result<Result<Resource<super::host::FileReader>, Error>> {
        let (client, r) = match self.registry_for(&reference) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let digest = match crate::digest::Digest::parse(&digest) {
            Ok(d) => d,
            Err(e) => return Ok(Err(Error::InvalidConfig(format!("`{digest}`: {e}")))),
        };
        let cache = self.blob_cache.clone();
        Ok(
            match self
                .timed(crate::image_files::blob(
                    &client,
                    cache.as_deref(),
                    &r,
                    &digest,
                    MAX_BLOB,
                ))
                .await
            {
                Ok(file) => Ok(self.table.push(super::host::FileReader::new(file))?),
                Err(e) if e.is_not_found() => Err(Error::NotFound(e.to_string())),
                Err(e) => Err(Error::Upstream(e.to_string())),
            },
        )
    }

    async fn get_config(&mut self, reference: String) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        let (client, r) = match self.registry_for(&reference) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        Ok(
            match self
                .timed(crate::image_files::config(&client, &r, MAX_CONFIG))
                .await
            {
                Ok(bytes) => Ok(bytes),
                Err(e) if e.is_not_found() => Err(Error::NotFound(e.to_string())),
                Err(e) => Err(Error::Upstream(e.to_string())),
            },
        )
    }
}

impl images::HostBlobWriter for PluginState {
    async fn new(&mut self) -> wasmtime::Result<Resource<BlobWriter>> {
        // A writer that cannot make its temporary file fails at its first call.
        let out = tempfile::tempfile()
            .ok()
            .map(crate::manifest::HashingWriter::new);
        Ok(self.table.push(BlobWriter { out })?)
    }

    async fn write(
        &mut self,
        writer: Resource<BlobWriter>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        self.written.bytes += data.len() as u64;
        if self.written.bytes > MAX_WRITTEN {
            return Ok(Err(Error::InvalidConfig(format!(
                "more than {MAX_WRITTEN} bytes of files written in one call"
            ))));
        }
        let w = self.table.get_mut(&writer)?;
        Ok(match &mut w.out {
            Some(out) => out
                .write_all(&data)
                .map_err(|e| io_error("writing a blob", e)),
            None => Err(Error::InvalidConfig(
                "the blob was already finished (or could not be started)".into(),
            )),
        })
    }

    async fn finish(
        &mut self,
        writer: Resource<BlobWriter>,
    ) -> wasmtime::Result<Result<String, Error>> {
        if self.written.blobs.len() >= MAX_BLOBS {
            return Ok(Err(Error::InvalidConfig(format!(
                "more than {MAX_BLOBS} blobs written in one call"
            ))));
        }
        let Some(cache) = self.blob_cache.clone() else {
            return Ok(Err(Error::Other(
                "this command builds no images, so it keeps no blobs".into(),
            )));
        };
        let w = self.table.get_mut(&writer)?;
        let Some(out) = w.out.take() else {
            return Ok(Err(Error::InvalidConfig(
                "the blob was already finished (or could not be started)".into(),
            )));
        };
        let (mut file, digest, size) = out.finish();
        let stored = file
            .rewind()
            .and_then(|()| cache.store(&digest, size, &mut file));
        Ok(match stored {
            Ok(()) => {
                let id = digest.to_string();
                self.written.blobs.push(WrittenBlob { digest, size });
                Ok(id)
            }
            Err(e) => Err(io_error("storing a blob", e)),
        })
    }

    async fn drop(&mut self, writer: Resource<BlobWriter>) -> wasmtime::Result<()> {
        self.table.delete(writer)?;
        Ok(())
    }
}

impl images::HostLayerWriter for PluginState {
    async fn new(&mut self) -> wasmtime::Result<Resource<LayerWriter>> {
        // A writer that cannot make its temporary file fails at its first
        // call, with the reason.
        let builder = LayerBuilder::new().ok();
        Ok(self.table.push(LayerWriter {
            builder,
            open: None,
            paths: BTreeSet::new(),
            dirs: BTreeSet::new(),
        })?)
    }

    async fn add_directory(
        &mut self,
        writer: Resource<LayerWriter>,
        path: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        if let Err(e) = self.count_entry() {
            return Ok(Err(e));
        }
        let w = self.table.get_mut(&writer)?;
        Ok((|| {
            w.close_file()?;
            w.check_new(&path)?;
            let builder = w.builder.as_mut().ok_or_else(finished)?;
            builder
                .directory(&path)
                .map_err(|e| io_error("writing a layer", e))?;
            w.paths.insert(path.clone());
            w.dirs.insert(path);
            Ok(())
        })())
    }

    async fn add_file(
        &mut self,
        writer: Resource<LayerWriter>,
        path: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        if let Err(e) = self.count_entry() {
            return Ok(Err(e));
        }
        let w = self.table.get_mut(&writer)?;
        Ok((|| {
            w.close_file()?;
            w.check_new(&path)?;
            if w.builder.is_none() {
                return Err(finished());
            }
            let spool = tempfile::tempfile().map_err(|e| io_error("writing a layer", e))?;
            w.paths.insert(path.clone());
            w.open = Some((path, spool));
            Ok(())
        })())
    }

    async fn write(
        &mut self,
        writer: Resource<LayerWriter>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        self.written.bytes += data.len() as u64;
        if self.written.bytes > MAX_WRITTEN {
            return Ok(Err(Error::InvalidConfig(format!(
                "more than {MAX_WRITTEN} bytes of files written in one call"
            ))));
        }
        let w = self.table.get_mut(&writer)?;
        Ok(match &mut w.open {
            Some((path, file)) => file
                .write_all(&data)
                .map_err(|e| io_error(&format!("writing `{path}`"), e)),
            None => Err(Error::InvalidConfig(
                "`write` without a file: call `add-file` first".into(),
            )),
        })
    }

    async fn finish(
        &mut self,
        writer: Resource<LayerWriter>,
    ) -> wasmtime::Result<Result<String, Error>> {
        if self.written.layers.len() >= MAX_LAYERS {
            return Ok(Err(Error::InvalidConfig(format!(
                "more than {MAX_LAYERS} layers written in one call"
            ))));
        }
        let Some(cache) = self.blob_cache.clone() else {
            return Ok(Err(Error::Other(
                "this command builds no images, so it keeps no layers".into(),
            )));
        };
        let created_by = format!("oc-mirror: files written by plugin {}", self.plugin);
        let w = self.table.get_mut(&writer)?;
        if let Err(e) = w.close_file() {
            return Ok(Err(e));
        }
        let Some(builder) = w.builder.take() else {
            return Ok(Err(finished()));
        };
        let stored = self
            .timed(async {
                tokio::task::spawn_blocking(move || builder.finish(&cache, created_by)).await
            })
            .await;
        Ok(match stored {
            Ok(Ok(layer)) => {
                let id = layer.digest.to_string();
                self.written.layers.push(layer);
                Ok(id)
            }
            Ok(Err(e)) => Err(io_error("storing a layer", e)),
            Err(e) => Err(Error::Other(format!("storing a layer failed: {e}"))),
        })
    }

    async fn drop(&mut self, writer: Resource<LayerWriter>) -> wasmtime::Result<()> {
        self.table.delete(writer)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn paths_are_relative_and_plain() {
        for ok in [
            "configs",
            "configs/a/catalog.json",
            ".wh.configs",
            "a/.wh..wh..opq",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/configs", "a//b", "a/./b", "../x", "a/..", "a/b\n"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
