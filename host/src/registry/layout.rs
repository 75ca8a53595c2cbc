//! Local OCI image layouts read as if they were registries.
//!
//! oc-mirror v2 accepts operator catalogs as local OCI layouts
//! (`catalog: oci:///path/to/dir`), e.g. a catalog built in a pipeline and
//! never pushed. Everything that reads images here (the plugins' `registry`
//! calls, `open-file`, image builds, the copy engine) speaks references to
//! registries, so a layout is given a reference of its own,
//! `<hash>.oci-layout.invalid/<dir name>:latest` (the `.invalid` domain can
//! never be a real registry), and [`super::RegistryClient`] answers reads of
//! that registry from the directory: manifests and blobs by digest from
//! `blobs/sha256/`, a tag from `index.json`. As in oc-mirror v2 the image is
//! the layout's first manifest unless one is annotated with the tag asked
//! for (`org.opencontainers.image.ref.name`), and it lands in the mirror as
//! `<dir name>:latest` unless `targetCatalog`/`targetTag` say otherwise.
//!
//! Layouts are sources only (a mirror is a registry); every manifest read
//! is checked against its digest, every blob by its reader as usual.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use oci_client::Reference;

use super::{BlobStream, RawManifest, RegistryError};
use crate::digest::Digest;
use crate::manifest;

/// The domain of the registry names given to layouts.
pub const LAYOUT_DOMAIN: &str = "oci-layout.invalid";
/// The annotation naming an image of `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Largest `index.json` or manifest read.
const MAX_JSON: u64 = 16 << 20;

/// The layouts a run reads, by the registry name given to each.
#[derive(Debug, Clone, Default)]
pub struct Layouts {
    dirs: BTreeMap<String, PathBuf>,
}

/// The directory of an `oci://DIR` (or `oci:DIR`) reference, `None` for
/// any other reference.
pub fn local_path(text: &str) -> Option<&str> {
    text.strip_prefix("oci://")
        .or_else(|| text.strip_prefix("oci:"))
        .filter(|p| !p.is_empty())
}

/// The registry name and reference a layout is read by: the same for the
/// same directory, wherever it is asked.
pub fn reference_for(dir: &Path) -> (String, String) {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let hash = Digest::of(absolute.to_string_lossy().as_bytes());
    let host = format!("{}.{LAYOUT_DOMAIN}", &hash.hex()[..12]);
    let reference = format!("{host}/{}:latest", repository_name(&absolute));
    (host, reference)
}

impl Layouts {
    /// Serves the layout in `dir`; the reference to read its image by.
    pub fn add(&mut self, dir: &Path) -> String {
        let (host, reference) = reference_for(dir);
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.dirs.insert(host, absolute);
        reference
    }

    /// The directory served as `registry`, if it is a layout.
    pub fn get(&self, registry: &str) -> Option<&Path> {
        self.dirs.get(registry).map(PathBuf::as_path)
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }
}

/// A repository name made of the directory's name: lower case, anything
/// but letters, digits, `.`, `_` and `-` made `-`.
fn repository_name(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "catalog".into()
    } else {
        trimmed.to_string()
    }
}

fn not_found(r: &Reference, cause: String) -> RegistryError {
    RegistryError::NotFound {
        reference: r.whole(),
        cause,
    }
}

fn failed(r: &Reference, operation: &'static str, cause: String) -> RegistryError {
    RegistryError::Failed {
        operation,
        reference: r.whole(),
        attempts: 1,
        elapsed: std::time::Duration::ZERO,
        cause,
    }
}

/// Reads a file of at most [`MAX_JSON`] bytes.
async fn read_small(path: &Path, r: &Reference) -> Result<Vec<u8>, RegistryError> {
    let len = tokio::fs::metadata(path)
        .await
        .map_err(|e| not_found(r, format!("{}: {e}", path.display())))?
        .len();
    if len > MAX_JSON {
        return Err(failed(
            r,
            "reading the OCI layout of",
            format!("{} is larger than {MAX_JSON} bytes", path.display()),
        ));
    }
    tokio::fs::read(path).await.map_err(|e| {
        failed(
            r,
            "reading the OCI layout of",
            format!("{}: {e}", path.display()),
        )
    })
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(digest.hex())
}

/// The digest of the image a tag names: the manifest of `index.json`
/// annotated with it, else the first.
async fn resolve_tag(dir: &Path, r: &Reference) -> Result<Digest, RegistryError> {
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        digest: Digest,
        #[serde(default)]
        annotations: BTreeMap<String, String>,
    }
    let bytes = read_small(&dir.join("index.json"), r).await?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
        failed(
            r,
            "reading the OCI layout of",
            format!("{}: index.json is not an OCI index: {e}", dir.display()),
        )
    })?;
    let tag = r.tag().unwrap_or("latest");
    index
        .manifests
        .iter()
        .find(|m| m.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
        .or(index.manifests.first())
        .map(|m| m.digest.clone())
        .ok_or_else(|| not_found(r, format!("{}: index.json lists no image", dir.display())))
}

/// A manifest of the layout, checked against its digest.
pub(super) async fn get_manifest(dir: &Path, r: &Reference) -> Result<RawManifest, RegistryError> {
    let digest = match r.digest() {
        Some(d) => Digest::parse(d)
            .map_err(|e| failed(r, "reading the OCI layout of", format!("bad digest: {e}")))?,
        None => resolve_tag(dir, r).await?,
    };
    let bytes = read_small(&blob_path(dir, &digest), r).await?;
    let actual = Digest::of(&bytes);
    if actual != digest {
        return Err(RegistryError::DigestMismatch {
            what: "manifest",
            reference: r.whole(),
            expected: digest.to_string(),
            actual: actual.into_string(),
        });
    }
    let media_type =
        manifest::media_type_of(&bytes, None).map_err(|source| RegistryError::Manifest {
            reference: r.whole(),
            source,
        })?;
    Ok(RawManifest {
        bytes: Bytes::from(bytes),
        media_type,
        digest,
    })
}

/// The digest a reference resolves to, `None` when absent.
pub(super) async fn manifest_digest(
    dir: &Path,
    r: &Reference,
) -> Result<Option<Digest>, RegistryError> {
    match get_manifest(dir, r).await {
        Ok(m) => Ok(Some(m.digest)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the layout holds the blob.
pub(super) async fn blob_exists(dir: &Path, digest: &Digest) -> bool {
    tokio::fs::metadata(blob_path(dir, digest)).await.is_ok()
}

/// A blob of the layout from `offset`, streamed (the copy engine checks
/// its digest as it does for any registry's).
pub(super) async fn open_blob(
    dir: &Path,
    r: &Reference,
    digest: &Digest,
    offset: u64,
) -> Result<BlobStream, RegistryError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let path = blob_path(dir, digest);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| not_found(r, format!("blob {digest}: {e}")))?;
    if offset > 0 {
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| failed(r, "reading the OCI layout of", e.to_string()))?;
    }
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok(BlobStream {
        partial: offset > 0,
        stream: Box::pin(stream),
    })
}

/// The tags `index.json` names.
pub(super) async fn list_tags(dir: &Path, r: &Reference) -> Result<Vec<String>, RegistryError> {
    let bytes = read_small(&dir.join("index.json"), r).await?;
    let index: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| failed(r, "reading the OCI layout of", e.to_string()))?;
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["annotations"][REF_NAME].as_str().map(str::to_string))
        .collect();
    tags.sort();
    tags.dedup();
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_get_a_registry_of_their_own() {
        let mut layouts = Layouts::default();
        let a = layouts.add(Path::new("/srv/catalogs/My Catalog"));
        let (host, rest) = a.split_once('/').unwrap();
        assert!(host.ends_with(".oci-layout.invalid"), "{a}");
        assert_eq!(rest, "my-catalog:latest");
        assert_eq!(
            layouts.get(host),
            Some(Path::new("/srv/catalogs/My Catalog"))
        );
        assert_eq!(reference_for(Path::new("/srv/catalogs/My Catalog")).1, a);
        let b = layouts.add(Path::new("/srv/other/My Catalog"));
        assert_ne!(a, b, "two directories, two registries");
        assert!(crate::reference::parse(&a).is_ok());
        assert_eq!(local_path("oci:///srv/x"), Some("/srv/x"));
        assert_eq!(local_path("oci:rel/x"), Some("rel/x"));
        assert_eq!(local_path("quay.io/x:1"), None);
    }
}
