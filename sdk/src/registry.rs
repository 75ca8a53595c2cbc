//! Read-only access to registries, through the host (the `registry` import of the
//! `content-source` world).
//!
//! The host holds the credentials and does the fetching: a plugin never sees a
//! password, and blobs never cross into the plugin whole. A plugin that calls these
//! must list `registry` in [`PluginInfo::capabilities`](crate::PluginInfo).

use std::io;

use crate::Error;
use crate::bindings::imports::oc_mirror::plugin0_1_0::registry as wit;

pub use wit::Manifest;

/// Largest chunk asked of the host per call (it caps reads at 64 KiB).
pub(crate) const CHUNK: u32 = 64 * 1024;

/// The manifest (or index) of an image, as stored: its digest, media type and bytes.
pub fn get_manifest(reference: &str) -> Result<Manifest, Error> {
    wit::get_manifest(reference)
}

/// Every tag of a repository (`registry/path`), in the registry's order.
pub fn list_tags(repository: &str) -> Result<Vec<String>, Error> {
    wit::list_tags(repository)
}

/// Opens a file inside an image's filesystem (its layers applied in order, with
/// whiteouts honoured), e.g. `/release-manifests/image-references`, to read with
/// [`std::io::Read`]. For an index, the host reads its `linux/amd64` image (else
/// the first): pass a child's digest reference to read another platform.
pub fn open_file(reference: &str, path: &str) -> Result<FileReader, Error> {
    Ok(FileReader {
        chunks: ChunkReader::new(wit::open_file(reference, path)?),
    })
}

/// Opens a directory inside an image, e.g. a catalog's `/configs`, to walk entry by
/// entry (names relative to it). `not-found` when it is not there; `other` when it
/// is a file.
///
/// ```no_run
/// # fn main() -> Result<(), oc_mirror_plugin_sdk::Error> {
/// use oc_mirror_plugin_sdk::{directory::EntryKind, registry};
/// let mut dir = registry::open_directory("quay.io/example/catalog:v1", "/configs")?;
/// while let Some(mut entry) = dir.next_entry()? {
///     if entry.kind == EntryKind::File && entry.path.ends_with(".json") {
///         let bytes = entry.read_all()?;
///         // ...
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub fn open_directory(
    reference: &str,
    path: &str,
) -> Result<crate::directory::Directory<FileReader>, Error> {
    let path = format!("{}/", path.trim_end_matches('/'));
    Ok(crate::directory::Directory::new(open_file(
        reference, &path,
    )?))
}

/// A file inside an image, streamed from the host chunk by chunk. Errors from the
/// host come out of [`io::Read::read`] as [`io::ErrorKind::Other`] wrapping the
/// [`Error`] (get it back with [`io::Error::into_inner`] and `downcast`).
#[derive(Debug)]
pub struct FileReader {
    chunks: ChunkReader<wit::FileReader>,
}

impl FileReader {
    /// Reads the host's chunked reader `resource`.
    pub(crate) fn from_resource(resource: wit::FileReader) -> FileReader {
        FileReader {
            chunks: ChunkReader::new(resource),
        }
    }
}

impl io::Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.chunks.read(buf)
    }
}

/// A host resource that hands out chunks.
pub(crate) trait Chunked {
    /// The next chunk of at most `max` bytes, or `None` at the end.
    fn next_chunk(&self, max: u32) -> Result<Option<Vec<u8>>, Error>;
}

impl Chunked for wit::FileReader {
    fn next_chunk(&self, max: u32) -> Result<Option<Vec<u8>>, Error> {
        self.read(max)
    }
}

/// [`io::Read`] over a [`Chunked`] resource, keeping what did not fit in the
/// caller's buffer.
#[derive(Debug)]
pub(crate) struct ChunkReader<R> {
    resource: R,
    pending: Vec<u8>,
    offset: usize,
    done: bool,
}

impl<R: Chunked> ChunkReader<R> {
    pub(crate) fn new(resource: R) -> Self {
        ChunkReader {
            resource,
            pending: Vec::new(),
            offset: 0,
            done: false,
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.offset >= self.pending.len() {
            if self.done {
                return Ok(0);
            }
            match self.resource.next_chunk(CHUNK) {
                Ok(Some(chunk)) => {
                    self.pending = chunk;
                    self.offset = 0;
                }
                Ok(None) => {
                    self.done = true;
                    return Ok(0);
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.pending.len() - self.offset);
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Read;

    use super::*;

    struct Fake(RefCell<Vec<Result<Option<Vec<u8>>, Error>>>);

    impl Chunked for Fake {
        fn next_chunk(&self, _max: u32) -> Result<Option<Vec<u8>>, Error> {
            let mut v = self.0.borrow_mut();
            if v.is_empty() { Ok(None) } else { v.remove(0) }
        }
    }

    #[test]
    fn reads_across_chunks_and_empty_chunks() {
        let fake = Fake(RefCell::new(vec![
            Ok(Some(b"hel".to_vec())),
            Ok(Some(Vec::new())),
            Ok(Some(b"lo world".to_vec())),
            Ok(None),
        ]));
        let mut r = ChunkReader::new(fake);
        let mut out = Vec::new();
        let mut buf = [0u8; 4];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn host_errors_surface_as_io_errors() {
        let fake = Fake(RefCell::new(vec![Err(Error::Denied("registry".into()))]));
        let mut r = ChunkReader::new(fake);
        let err = r.read(&mut [0u8; 8]).unwrap_err();
        let inner = err.into_inner().unwrap().downcast::<Error>().unwrap();
        assert_eq!(*inner, Error::Denied("registry".into()));
    }

    #[test]
    fn read_to_end_works_through_the_public_type() {
        // `FileReader` only wraps `ChunkReader`; exercise the `Read` plumbing.
        struct W(ChunkReader<Fake>);
        impl Read for W {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        let fake = Fake(RefCell::new(vec![Ok(Some(vec![7; 100_000]))]));
        let mut s = Vec::new();
        W(ChunkReader::new(fake)).read_to_end(&mut s).unwrap();
        assert_eq!(s.len(), 100_000);
    }
}
