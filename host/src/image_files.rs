//! Files read out of an image's filesystem, without unpacking the image.
//!
//! Content sources need a few files from inside images: a release payload's
//! `/release-manifests/image-references`, a catalog's `/configs` directory.
//! [`extract`] reads them the way a container runtime would see them, with
//! the layers applied in order and whiteouts honoured, but it never holds a
//! layer or a file in memory: each layer is downloaded to a temporary file
//! (its digest checked before a byte of it is parsed), and what was asked for
//! is written to another temporary file that the caller then streams.
//!
//! Layers are read from the top down, so the first version of a path that is
//! met is its final one, and a single file is found without reading the
//! layers below it. A whiteout (`dir/.wh.name`) hides `dir/name` in the
//! layers below; an opaque whiteout (`dir/.wh..wh..opq`) hides everything the
//! layers below put under `dir/`.
//!
//! A directory comes out as an uncompressed POSIX tar of its files, named
//! relative to it, with fixed owners and times so the same image always gives
//! the same bytes.

use std::collections::HashMap;
use std::io::{self, Read, Seek, Write};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::manifest::{self, Descriptor, Parsed};
use crate::reference::Reference;
use crate::registry::{RegistryClient, RegistryError};
use crate::workspace::BlobCache;

/// Why a file could not be read out of an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageFilesError {
    #[error("`{path}` is not in image `{image}`")]
    NotFound { image: String, path: String },
    #[error("`{path}` in image `{image}` is {what}")]
    WrongKind {
        image: String,
        path: String,
        what: String,
    },
    #[error("`{0}` is not a path inside an image (use `/dir/file`, without `..`)")]
    BadPath(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("image `{image}`: {detail}")]
    Content { image: String, detail: String },
    #[error("reading image `{image}`: {source}")]
    Io {
        image: String,
        #[source]
        source: io::Error,
    },
}

impl ImageFilesError {
    /// Whether the file (or the image) does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            ImageFilesError::NotFound { .. } => true,
            ImageFilesError::Registry(e) => e.is_not_found(),
            _ => false,
        }
    }
}

/// The platform read from an index when the caller names the index itself.
const DEFAULT_PLATFORM: (&str, &str) = ("linux", "amd64");

/// Reads `path` out of the image `reference` into a temporary file (deleted
/// when dropped; open it with `reopen`, as often as needed, each reader from
/// the start): the file's bytes, or a tar of a directory. A path ending in
/// `/` must be a
/// directory. For an index, the `linux/amd64` image is read (else the first
/// one); name a child by digest to read another. With a `cache` (the
/// workspace's blob cache), layers already there are not downloaded, and
/// layers downloaded are kept there: an image read here and then mirrored
/// crosses the network once.
pub async fn extract(
    client: &RegistryClient,
    cache: Option<&BlobCache>,
    reference: &Reference,
    path: &str,
) -> Result<tempfile::NamedTempFile, ImageFilesError> {
    let image = crate::reference::display(reference);
    let (target, want_dir) = normalize(path)?;
    let layers = layers_of(client, reference, &image).await?;
    let mut walk = Walk::new(target, want_dir);
    let io_error = |source| ImageFilesError::Io {
        image: image.clone(),
        source,
    };
    let named = tempfile::NamedTempFile::new().map_err(io_error)?;
    let out = named.reopen().map_err(io_error)?;
    let mut sink = Sink {
        out: Some(out),
        builder: None,
    };
    for layer in layers.iter().rev() {
        let blob = download(client, cache, reference, layer, &image).await?;
        let media_type = layer.media_type.clone();
        // Parsing is blocking work on local files: off the async threads.
        let (w, s, result) = tokio::task::spawn_blocking(move || {
            let result = walk.layer(blob, &media_type, &mut sink);
            (walk, sink, result)
        })
        .await
        .map_err(|e| ImageFilesError::Content {
            image: image.clone(),
            detail: format!("reading a layer failed: {e}"),
        })?;
        (walk, sink) = (w, s);
        result.map_err(|e| e.in_image(&image))?;
        if walk.done {
            break;
        }
    }
    let io_err = |source| ImageFilesError::Io {
        image: image.clone(),
        source,
    };
    let mut file = match (walk.found.clone(), sink.builder, sink.out) {
        (Found::Nothing, _, _) => {
            return Err(ImageFilesError::NotFound {
                image,
                path: path.to_string(),
            });
        }
        (Found::Other(what), _, _) => {
            return Err(ImageFilesError::WrongKind {
                image,
                path: path.to_string(),
                what,
            });
        }
        (Found::Directory, Some(builder), _) => builder.into_inner().map_err(io_err)?,
        (Found::File, _, Some(out)) => out,
        _ => {
            return Err(ImageFilesError::Content {
                image,
                detail: "internal error: extraction lost its output".into(),
            });
        }
    };
    file.flush().map_err(io_err)?;
    Ok(named)
}

/// `/a/b/` → (`a/b`, true); refuses `..` and empty components beyond slashes.
fn normalize(path: &str) -> Result<(String, bool), ImageFilesError> {
    let want_dir = path.ends_with('/');
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ImageFilesError::BadPath(path.to_string())),
            p => parts.push(p),
        }
    }
    Ok((parts.join("/"), want_dir || parts.is_empty()))
}

/// The layers of the image (of its default platform, for an index), bottom first.
async fn layers_of(
    client: &RegistryClient,
    reference: &Reference,
    image: &str,
) -> Result<Vec<Descriptor>, ImageFilesError> {
    Ok(default_image(client, reference, image).await?.1)
}

/// The config (JSON) of the image (of its default platform, for an index),
/// its size and digest checked, at most `max` bytes.
pub async fn config(
    client: &RegistryClient,
    reference: &Reference,
    max: u64,
) -> Result<Vec<u8>, ImageFilesError> {
    let image = crate::reference::display(reference);
    let (config, _) = default_image(client, reference, &image).await?;
    if config.size > max {
        return Err(ImageFilesError::Content {
            image,
            detail: format!("its config is {} bytes, above {max}", config.size),
        });
    }
    Ok(client
        .get_blob_bytes(
            &crate::reference::pull_reference(reference),
            &config.digest,
            max,
        )
        .await?
        .to_vec())
}

/// A blob of `reference`'s repository by digest, as stored, in a file
/// positioned at its start: from the cache, or downloaded (at most `max`
/// bytes) into a temporary file, its digest checked, and kept in the cache.
pub async fn blob(
    client: &RegistryClient,
    cache: Option<&BlobCache>,
    reference: &Reference,
    digest: &crate::digest::Digest,
    max: u64,
) -> Result<std::fs::File, ImageFilesError> {
    let image = crate::reference::display(reference);
    if let Some(cache) = cache
        && matches!(cache.size(digest), Ok(Some(_)))
    {
        return cache.open(digest).map_err(|source| ImageFilesError::Io {
            image: image.clone(),
            source,
        });
    }
    let io_err = |source| ImageFilesError::Io {
        image: image.clone(),
        source,
    };
    let descriptor = Descriptor {
        media_type: String::new(),
        digest: digest.clone(),
        size: max,
        platform: None,
        urls: None,
    };
    let pull = crate::reference::pull_reference(reference);
    let mut stream = client.open_blob(&pull, &descriptor, 0).await?;
    let mut out = tokio::fs::File::from_std(tempfile::tempfile().map_err(io_err)?);
    let mut hash = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.stream.next().await {
        let chunk = chunk.map_err(io_err)?;
        size += chunk.len() as u64;
        if size > max {
            return Err(ImageFilesError::Content {
                image,
                detail: format!("blob {digest} is larger than {max} bytes"),
            });
        }
        hash.update(&chunk);
        out.write_all(&chunk).await.map_err(io_err)?;
    }
    let got = crate::digest::Digest::from_hasher(hash);
    if got != *digest {
        return Err(ImageFilesError::Content {
            image,
            detail: format!("blob {digest} arrived as {got}: refusing to read it"),
        });
    }
    out.flush().await.map_err(io_err)?;
    let mut file = out.into_std().await;
    if let Some(cache) = cache {
        file.rewind().map_err(io_err)?;
        if let Err(e) = cache.store(digest, size, &mut file) {
            tracing::debug!(blob = %digest, "not kept in the blob cache: {e}");
        }
    }
    file.rewind().map_err(io_err)?;
    Ok(file)
}

/// The config and layers (bottom first) of the image, or of its default
/// platform ([`DEFAULT_PLATFORM`], else the first) for an index.
async fn default_image(
    client: &RegistryClient,
    reference: &Reference,
    image: &str,
) -> Result<(Descriptor, Vec<Descriptor>), ImageFilesError> {
    let bad = |e: manifest::ManifestError| ImageFilesError::Content {
        image: image.to_string(),
        detail: e.to_string(),
    };
    let top = client
        .get_manifest(&crate::reference::pull_reference(reference))
        .await?;
    match manifest::parse(&top.bytes, &top.media_type).map_err(bad)? {
        Parsed::Image { config, layers } => Ok((config, layers)),
        Parsed::Index { manifests } => {
            let (os, arch) = DEFAULT_PLATFORM;
            let child = manifests
                .iter()
                .find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| p.os == os && p.architecture == arch)
                })
                .or(manifests.first())
                .ok_or_else(|| ImageFilesError::Content {
                    image: image.to_string(),
                    detail: "the index lists no images".into(),
                })?;
            let child_ref = crate::reference::at_digest(reference, &child.digest);
            let m = client.get_manifest(&child_ref).await?;
            match manifest::parse(&m.bytes, &m.media_type).map_err(bad)? {
                Parsed::Image { config, layers } => Ok((config, layers)),
                Parsed::Index { .. } => Err(ImageFilesError::Content {
                    image: image.to_string(),
                    detail: "an index inside an index is not an image".into(),
                }),
            }
        }
    }
}

/// A layer, verified: from the cache, or downloaded into a temporary file
/// (its size and digest checked) and then kept in the cache.
async fn download(
    client: &RegistryClient,
    cache: Option<&BlobCache>,
    reference: &Reference,
    layer: &Descriptor,
    image: &str,
) -> Result<std::fs::File, ImageFilesError> {
    let io_err = |source| ImageFilesError::Io {
        image: image.to_string(),
        source,
    };
    if let Some(cache) = cache
        && matches!(cache.size(&layer.digest), Ok(Some(size)) if size == layer.size)
    {
        // Only verified blobs are ever committed to the cache.
        return cache.open(&layer.digest).map_err(io_err);
    }
    let file = tempfile::tempfile().map_err(io_err)?;
    let mut out = tokio::fs::File::from_std(file);
    let mut blob = client.open_blob(reference, layer, 0).await?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = blob.stream.next().await {
        let chunk = chunk.map_err(io_err)?;
        hash.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(io_err)?;
    }
    let digest = crate::digest::Digest::from_hasher(hash);
    if digest != layer.digest || size != layer.size {
        return Err(ImageFilesError::Content {
            image: image.to_string(),
            detail: format!(
                "layer {} arrived as {digest} ({size} bytes, expected {}): refusing to read it",
                layer.digest, layer.size
            ),
        });
    }
    out.flush().await.map_err(io_err)?;
    let mut file = out.into_std().await;
    if let Some(cache) = cache {
        file.rewind().map_err(io_err)?;
        // A cache that cannot take it costs a download later, nothing more.
        if let Err(e) = cache.store(&layer.digest, layer.size, &mut file) {
            tracing::debug!(layer = %layer.digest, "not kept in the blob cache: {e}");
        }
    }
    file.rewind().map_err(io_err)?;
    Ok(file)
}

/// What the top-most visible entry at the target turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Nothing,
    File,
    Directory,
    /// A symbolic link, a device… (described for the error).
    Other(String),
}

/// Where matching entries go: the file's bytes, or a directory's tar.
struct Sink {
    out: Option<std::fs::File>,
    builder: Option<tar::Builder<std::fs::File>>,
}

/// An error inside the blocking walk, before it knows the image's name.
enum WalkError {
    Io(io::Error),
    Content(String),
}

impl WalkError {
    fn in_image(self, image: &str) -> ImageFilesError {
        match self {
            WalkError::Io(source) => ImageFilesError::Io {
                image: image.to_string(),
                source,
            },
            WalkError::Content(detail) => ImageFilesError::Content {
                image: image.to_string(),
                detail,
            },
        }
    }
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

/// The state of a top-down walk through the layers.
struct Walk {
    /// The path asked for, without leading or trailing `/` (empty: the root).
    target: String,
    want_dir: bool,
    found: Found,
    /// Paths whose final state an upper layer decided, and whether each is a
    /// directory (a non-directory hides everything below its path).
    decided: HashMap<String, bool>,
    /// Paths whose lower-layer contents are hidden: whiteouts (the path and
    /// everything under it) and opaque directories (everything under it).
    hidden: Vec<(String, bool)>,
    done: bool,
}

impl Walk {
    fn new(target: String, want_dir: bool) -> Walk {
        Walk {
            target,
            want_dir,
            found: Found::Nothing,
            decided: HashMap::new(),
            hidden: Vec::new(),
            done: false,
        }
    }

    /// Whether an upper layer hides `path` from this one.
    fn is_hidden(&self, path: &str) -> bool {
        let under = |p: &str, dir: &str| {
            dir.is_empty() || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
        };
        if self
            .hidden
            .iter()
            .any(|(h, whole)| (*whole && path == h) || under(path, h))
        {
            return true;
        }
        // A file (or link) above replaces a directory at one of our ancestors.
        let mut ancestor = path;
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            if self.decided.get(parent) == Some(&false) {
                return true;
            }
            ancestor = parent;
        }
        false
    }

    /// Whether `path` is the target or lies under it, and its name relative to it.
    fn relative<'a>(&self, path: &'a str) -> Option<&'a str> {
        if self.target.is_empty() {
            return Some(path);
        }
        if path == self.target {
            return Some("");
        }
        path.strip_prefix(self.target.as_str())
            .and_then(|r| r.strip_prefix('/'))
    }

    /// Reads one layer (a verified blob in a file), adding what it contributes.
    fn layer(
        &mut self,
        blob: std::fs::File,
        media_type: &str,
        sink: &mut Sink,
    ) -> Result<(), WalkError> {
        let reader = decompressor(blob, media_type)?;
        let mut archive = tar::Archive::new(reader);
        let mut whiteouts: Vec<(String, bool)> = Vec::new();
        let mut seen_here: Vec<(String, bool)> = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let raw = entry.path_bytes().into_owned();
            let raw = String::from_utf8_lossy(&raw);
            let Ok((path, _)) = normalize(&raw) else {
                continue; // `..` in a layer: never part of the image's tree
            };
            if path.is_empty() {
                continue;
            }
            let (parent, name) = match path.rsplit_once('/') {
                Some((p, n)) => (p.to_string(), n),
                None => (String::new(), path.as_str()),
            };
            if name == ".wh..wh..opq" {
                whiteouts.push((parent, false));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let hidden = if parent.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{parent}/{hidden}")
                };
                whiteouts.push((hidden, true));
                continue;
            }
            if self.decided.contains_key(&path) || self.is_hidden(&path) {
                continue;
            }
            let kind = entry.header().entry_type();
            seen_here.push((path.clone(), kind.is_dir()));
            let Some(rel) = self.relative(&path).map(str::to_string) else {
                continue;
            };
            if rel.is_empty() {
                // The target itself.
                self.found = if kind.is_file() {
                    if self.want_dir {
                        Found::Other("a file, not a directory".into())
                    } else {
                        Found::File
                    }
                } else if kind.is_dir() {
                    Found::Directory
                } else {
                    Found::Other(describe(kind, &entry))
                };
                match self.found {
                    Found::File => {
                        let out = sink.out.as_mut().ok_or_else(|| {
                            WalkError::Content("internal error: no output file".into())
                        })?;
                        io::copy(&mut entry, out)?;
                        self.done = true;
                    }
                    Found::Directory => self.open_dir(sink)?,
                    _ => self.done = true,
                }
                if self.done {
                    drain(archive.into_inner())?;
                    return Ok(());
                }
                continue;
            }
            // Something under the target: the target is a directory.
            if self.found == Found::Nothing {
                self.found = Found::Directory;
                self.open_dir(sink)?;
            }
            let Some(builder) = sink.builder.as_mut() else {
                continue;
            };
            append(builder, &rel, kind, &mut entry)?;
        }
        for (path, is_dir) in seen_here {
            self.decided.insert(path, is_dir);
        }
        self.hidden.extend(whiteouts);
        // Nothing lower can matter once the target itself is hidden or
        // replaced here (a directory still gathers from below).
        if self.found == Found::Nothing && !self.target.is_empty() && self.is_hidden(&self.target) {
            self.done = true;
        }
        if self.found == Found::Directory && self.is_hidden_below(&self.target) {
            self.done = true;
        }
        drain(archive.into_inner())?;
        Ok(())
    }

    /// Whether the layers below can no longer add to `dir`.
    fn is_hidden_below(&self, dir: &str) -> bool {
        self.hidden.iter().any(|(h, whole)| {
            h.is_empty() && !whole
                || h == dir
                || dir
                    .strip_prefix(h.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    fn open_dir(&mut self, sink: &mut Sink) -> Result<(), WalkError> {
        if sink.builder.is_none() {
            let out = sink
                .out
                .take()
                .ok_or_else(|| WalkError::Content("internal error: no output file".into()))?;
            let mut builder = tar::Builder::new(out);
            builder.mode(tar::HeaderMode::Deterministic);
            sink.builder = Some(builder);
        }
        Ok(())
    }
}

/// Adds one entry under the target to the directory's tar.
fn append<R: Read>(
    builder: &mut tar::Builder<std::fs::File>,
    rel: &str,
    kind: tar::EntryType,
    entry: &mut tar::Entry<'_, R>,
) -> Result<(), WalkError> {
    let mut header = tar::Header::new_ustar();
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    if kind.is_file() {
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(entry.header().size()?);
        builder.append_data(&mut header, rel, entry)?;
    } else if kind.is_dir() {
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder.append_data(&mut header, rel, io::empty())?;
    } else if kind.is_symlink()
        && let Some(target) = entry.link_name()?
    {
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder.append_link(&mut header, rel, target)?;
    }
    // Hard links, devices and FIFOs are not files a plugin reads: skipped.
    Ok(())
}

fn describe<R: Read>(kind: tar::EntryType, entry: &tar::Entry<'_, R>) -> String {
    if kind.is_symlink() {
        let to = entry
            .link_name()
            .ok()
            .flatten()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("a symbolic link (to `{to}`); ask for the file it points to")
    } else if kind.is_hard_link() {
        "a hard link; ask for the file it links to".into()
    } else {
        "not a regular file or a directory".into()
    }
}

/// Reads what is left of a layer, so that a truncated one is noticed.
fn drain<R: Read>(mut reader: R) -> io::Result<()> {
    io::copy(&mut reader, &mut io::sink()).map(|_| ())
}

/// The layer's tar stream: gzip and plain tar are read; zstd is refused
/// plainly. Decided by the first bytes, whatever the media type claims.
fn decompressor(
    mut blob: std::fs::File,
    media_type: &str,
) -> Result<Box<dyn Read + Send>, WalkError> {
    let mut magic = [0u8; 4];
    let n = blob.read(&mut magic)?;
    blob.rewind()?;
    let reader = io::BufReader::with_capacity(64 << 10, blob);
    match &magic[..n] {
        [0x1f, 0x8b, ..] => Ok(Box::new(flate2::read::GzDecoder::new(reader))),
        [0x28, 0xb5, 0x2f, 0xfd] => Err(WalkError::Content(format!(
            "a layer is zstd-compressed ({media_type}), which this oc-mirror cannot read yet"
        ))),
        _ => Ok(Box::new(reader)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(path, Some(contents))` is a file, `(path, None)` a directory.
    type Layer<'a> = Vec<(&'a str, Option<&'a [u8]>)>;
    /// A directory's files: `(name, contents)`.
    type Files = Vec<(String, Vec<u8>)>;

    /// A layer as a file.
    fn layer(entries: &[(&str, Option<&[u8]>)], gzip: bool) -> std::fs::File {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, contents) in entries {
            let mut h = tar::Header::new_gnu();
            match contents {
                Some(c) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(c.len() as u64);
                    h.set_mode(0o644);
                    tar.append_data(&mut h, path, *c).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    h.set_mode(0o755);
                    tar.append_data(&mut h, path, io::empty()).unwrap();
                }
            }
        }
        let bytes = tar.into_inner().unwrap();
        let bytes = if gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes).unwrap();
            gz.finish().unwrap()
        } else {
            bytes
        };
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&bytes).unwrap();
        f.rewind().unwrap();
        f
    }

    /// Runs a walk over layers given bottom first.
    fn walk(path: &str, layers: Vec<Layer<'_>>) -> (Found, Vec<u8>, Files) {
        let (target, want_dir) = normalize(path).unwrap();
        let mut w = Walk::new(target, want_dir);
        let mut sink = Sink {
            out: Some(tempfile::tempfile().unwrap()),
            builder: None,
        };
        for (i, l) in layers.iter().enumerate().rev() {
            if w.done {
                break;
            }
            if w.layer(layer(l, i % 2 == 0), "test", &mut sink).is_err() {
                panic!("layer {i} failed");
            }
        }
        let mut bytes = Vec::new();
        let mut files = Vec::new();
        if let Some(b) = sink.builder {
            let mut f = b.into_inner().unwrap();
            f.rewind().unwrap();
            let mut a = tar::Archive::new(f);
            for e in a.entries().unwrap() {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut c = Vec::new();
                e.read_to_end(&mut c).unwrap();
                files.push((name, c));
            }
        } else if let Some(mut f) = sink.out {
            f.rewind().unwrap();
            f.read_to_end(&mut bytes).unwrap();
        }
        (w.found, bytes, files)
    }

    #[test]
    fn the_top_most_version_of_a_file_wins() {
        let (found, bytes, _) = walk(
            "/release-manifests/image-references",
            vec![
                vec![("release-manifests/image-references", Some(b"old"))],
                vec![("./release-manifests/image-references", Some(b"new"))],
            ],
        );
        assert_eq!(found, Found::File);
        assert_eq!(bytes, b"new");
    }

    #[test]
    fn whiteouts_hide_lower_files_and_directories() {
        let lower = vec![
            ("a", Some(&b"a"[..])),
            ("dir/kept", Some(&b"k"[..])),
            ("dir/gone", Some(&b"g"[..])),
            ("dir/sub/x", Some(&b"x"[..])),
            ("opq/old", Some(&b"o"[..])),
        ];
        let upper = vec![
            (".wh.a", Some(&b""[..])),
            ("dir/.wh.gone", Some(&b""[..])),
            ("dir/.wh.sub", Some(&b""[..])),
            ("opq/.wh..wh..opq", Some(&b""[..])),
            ("opq/new", Some(&b"n"[..])),
        ];
        let (found, _, _) = walk("/a", vec![lower.clone(), upper.clone()]);
        assert_eq!(found, Found::Nothing, "a whited-out file is not there");
        let (found, _, files) = walk("/dir", vec![lower.clone(), upper.clone()]);
        assert_eq!(found, Found::Directory);
        let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["kept"]);
        let (_, _, files) = walk("/opq/", vec![lower, upper]);
        assert_eq!(files, [("new".to_string(), b"n".to_vec())]);
    }

    #[test]
    fn a_directory_gathers_every_layer_and_upper_versions_win() {
        let (found, _, files) = walk(
            "/configs",
            vec![
                vec![
                    ("configs", None),
                    ("configs/a/catalog.json", Some(&b"a1"[..])),
                    ("configs/b/catalog.json", Some(&b"b1"[..])),
                    ("other/file", Some(&b"no"[..])),
                ],
                vec![("configs/a/catalog.json", Some(&b"a2"[..]))],
            ],
        );
        assert_eq!(found, Found::Directory);
        let mut got: Vec<_> = files
            .into_iter()
            .filter(|(n, _)| !n.ends_with('/') && !n.is_empty())
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("a/catalog.json".to_string(), b"a2".to_vec()),
                ("b/catalog.json".to_string(), b"b1".to_vec())
            ]
        );
    }

    #[test]
    fn a_file_above_replaces_a_lower_directory() {
        let (found, bytes, _) = walk(
            "/x/y",
            vec![
                vec![("x/y", Some(&b"deep"[..]))],
                vec![("x", Some(&b"flat"[..]))],
            ],
        );
        assert_eq!(found, Found::Nothing);
        assert!(bytes.is_empty());
    }

    #[test]
    fn paths_are_checked() {
        assert!(normalize("/a/../etc/passwd").is_err());
        assert_eq!(normalize("/a//b/").unwrap(), ("a/b".to_string(), true));
        assert_eq!(normalize("a/b").unwrap(), ("a/b".to_string(), false));
        let (found, _, _) = walk("/f/", vec![vec![("f", Some(&b"x"[..]))]]);
        assert!(
            matches!(found, Found::Other(_)),
            "a file is not a directory"
        );
    }
}
