//! Images beyond what `registry` reads (the `images` import of the
//! `content-source` world, plugin API 0.3.0): an image's config, layers a
//! plugin writes for the images it asks the host to build, and raw blobs it
//! writes for the artifacts it asks the host to assemble
//! ([`BlobWriter`], named in an [`Artifact`](crate::Artifact)).
//!
//! A plugin has no filesystem, so a layer's files go to the host: open a
//! [`LayerWriter`], add directories and files (a file is a
//! [`std::io::Write`], sent in chunks, never held whole by the host), then
//! [`LayerWriter::finish`] it and name the id it returns in an
//! [`ImageBuild`](crate::ImageBuild) as [`Layer::Written`](crate::Layer).
//! The host packs the layer deterministically (root owners, time 0, fixed
//! modes), so the same files always give the same layer.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Write;
//! use oc_mirror_plugin_sdk::images::LayerWriter;
//! let mut layer = LayerWriter::new();
//! layer.add_directory("configs")?;
//! let mut file = layer.add_file("configs/catalog.json")?;
//! file.write_all(b"{\"schema\":\"olm.package\",\"name\":\"foo\"}\n")?;
//! file.close()?;
//! let id = layer.finish()?;
//! # Ok(())
//! # }
//! ```

use std::io;

use crate::Error;
use crate::bindings::imports::oc_mirror::plugin0_3_0::images as wit;
use crate::registry::CHUNK;

/// The config of an image as JSON: for an index, its `linux/amd64` image's
/// (else its first's). Needs the `registry` capability.
pub fn get_config(reference: &str) -> Result<serde_json::Value, Error> {
    let bytes = wit::get_config(reference)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Other(format!("the config of `{reference}` is not JSON: {e}")))
}

/// Opens a blob of `reference`'s repository by `digest`, as it is stored
/// (e.g. the chart archive of an OCI Helm chart), to read with
/// [`std::io::Read`]; the host checks its digest before handing out a byte.
/// Needs the `registry` capability.
pub fn open_blob(reference: &str, digest: &str) -> Result<crate::registry::FileReader, Error> {
    Ok(crate::registry::FileReader::from_resource(wit::open_blob(
        reference, digest,
    )?))
}

/// The labels of an image's config (`config.Labels`), empty when it has none.
pub fn labels(reference: &str) -> Result<Vec<(String, String)>, Error> {
    let config = get_config(reference)?;
    Ok(config
        .get("config")
        .and_then(|c| c.get("Labels"))
        .and_then(|l| l.as_object())
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// A layer being written through the host.
#[derive(Debug)]
pub struct LayerWriter {
    resource: wit::LayerWriter,
}

impl Default for LayerWriter {
    fn default() -> Self {
        LayerWriter::new()
    }
}

impl LayerWriter {
    /// An empty layer.
    pub fn new() -> LayerWriter {
        LayerWriter {
            resource: wit::LayerWriter::new(),
        }
    }

    /// Adds a directory, e.g. `configs/foo` (relative; its parent must have
    /// been added).
    pub fn add_directory(&mut self, path: &str) -> Result<(), Error> {
        self.resource.add_directory(path)
    }

    /// Adds a directory and every parent not added yet.
    pub fn add_directories(
        &mut self,
        path: &str,
        added: &mut std::collections::BTreeSet<String>,
    ) -> Result<(), Error> {
        let mut at = String::new();
        for segment in path.split('/') {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(segment);
            if added.insert(at.clone()) {
                self.add_directory(&at)?;
            }
        }
        Ok(())
    }

    /// Starts a regular file (its directory must have been added); write its
    /// bytes into the [`FileWriter`], then [`FileWriter::close`] it. A name
    /// `.wh.NAME` is a whiteout of `NAME` in the layers below.
    pub fn add_file(&mut self, path: &str) -> Result<FileWriter<'_>, Error> {
        self.resource.add_file(path)?;
        Ok(FileWriter {
            layer: self,
            buffer: Vec::with_capacity(CHUNK as usize),
        })
    }

    /// Ends the layer; its id for [`Layer::Written`](crate::Layer).
    pub fn finish(self) -> Result<String, Error> {
        self.resource.finish()
    }
}

/// A file of a layer being written: bytes are sent to the host in chunks.
#[derive(Debug)]
pub struct FileWriter<'a> {
    layer: &'a mut LayerWriter,
    buffer: Vec<u8>,
}

impl FileWriter<'_> {
    /// Sends what is buffered and ends the file, with the host's error if it
    /// refused a chunk.
    pub fn close(mut self) -> Result<(), Error> {
        self.send()
    }

    fn send(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buffer);
        let result = self.layer.resource.write(&chunk);
        self.buffer = chunk;
        self.buffer.clear();
        result
    }
}

impl io::Write for FileWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK as usize - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= CHUNK as usize {
            self.send().map_err(io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send().map_err(io::Error::other)
    }
}

impl Drop for FileWriter<'_> {
    /// A file dropped without [`FileWriter::close`] still sends what is
    /// buffered; an error then shows at the layer's next call.
    fn drop(&mut self) {
        let _ = self.send();
    }
}

/// A raw blob being written through the host (a chart archive, an
/// artifact's config), sent in chunks; [`BlobWriter::finish`] gives its id
/// for [`ArtifactBlob::blob`](crate::ArtifactBlob).
#[derive(Debug)]
pub struct BlobWriter {
    resource: wit::BlobWriter,
    buffer: Vec<u8>,
}

impl Default for BlobWriter {
    fn default() -> Self {
        BlobWriter::new()
    }
}

impl BlobWriter {
    /// An empty blob.
    pub fn new() -> BlobWriter {
        BlobWriter {
            resource: wit::BlobWriter::new(),
            buffer: Vec::with_capacity(CHUNK as usize),
        }
    }

    /// Writes all of `data` (a convenience over [`io::Write`]).
    pub fn write_all_bytes(&mut self, data: &[u8]) -> Result<(), Error> {
        io::Write::write_all(self, data).map_err(|e| Error::Other(e.to_string()))
    }

    fn send(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buffer);
        let result = self.resource.write(&chunk);
        self.buffer = chunk;
        self.buffer.clear();
        result
    }

    /// Ends the blob; its id (its `sha256:` digest).
    pub fn finish(mut self) -> Result<String, Error> {
        self.send()?;
        self.resource.finish()
    }
}

impl io::Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK as usize - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= CHUNK as usize {
            self.send().map_err(io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send().map_err(io::Error::other)
    }
}
