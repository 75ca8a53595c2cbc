//! Manifest media types, and the little of a manifest the copy engine must read.
//!
//! The engine copies manifests byte for byte (a mirrored image keeps its digest),
//! so it never re-serialises one. It only needs to know what a manifest points
//! at: an image manifest points at a config and layers (blobs), an index or
//! manifest list points at other manifests, each with a platform. Docker schema 2
//! and OCI are read alike; Docker schema 1 is refused with a clear message.

use serde::Deserialize;

use crate::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Every manifest type the engine can copy, for `Accept` headers.
pub const ACCEPTED: &[&str] = &[
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// A pointer to content by digest, as found in manifests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Foreign layers may name other places to fetch from; they are copied like
    /// any other blob when the registry has them.
    #[serde(default)]
    pub urls: Option<Vec<String>>,
}

/// The platform of one entry of an index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// What a manifest points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An image: its config and layers, the blobs to copy.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// An index or manifest list: the manifests of each platform.
    Index { manifests: Vec<Descriptor> },
}

impl Parsed {
    /// Blobs an image manifest references (config first); none for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match self {
            Parsed::Image { config, layers } => std::iter::once(config).chain(layers).collect(),
            Parsed::Index { .. } => Vec::new(),
        }
    }
}

/// A manifest that cannot be copied.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or not shaped like a manifest (a malformed digest included).
    #[error("the manifest is not valid{}: {}", if .0.is_data() { "" } else { " JSON" }, .0)]
    Json(#[from] serde_json::Error),
    #[error(
        "Docker schema 1 manifests are not supported (deprecated since 2017)\nhint: re-push the image with a current client to convert it to schema 2 or OCI"
    )]
    Schema1,
    #[error("unsupported manifest media type `{0}`")]
    Unsupported(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// The media type a manifest declares, or the one its shape implies (OCI
/// manifests may omit `mediaType`). `header` is the registry's `Content-Type`,
/// used when the body does not say.
pub fn media_type_of(bytes: &[u8], header: Option<&str>) -> Result<String, ManifestError> {
    let raw: Raw = serde_json::from_slice(bytes)?;
    if let Some(mt) = raw.media_type.filter(|m| !m.is_empty()) {
        return Ok(mt);
    }
    if let Some(h) = header.filter(|h| ACCEPTED.contains(h)) {
        return Ok(h.to_string());
    }
    if raw.schema_version == Some(1) {
        return Err(ManifestError::Schema1);
    }
    Ok(if raw.manifests.is_some() {
        OCI_INDEX
    } else {
        OCI_MANIFEST
    }
    .to_string())
}

/// Reads what a manifest of the given media type points at.
pub fn parse(bytes: &[u8], media_type: &str) -> Result<Parsed, ManifestError> {
    let raw: Raw = serde_json::from_slice(bytes)?;
    match media_type {
        OCI_INDEX | DOCKER_MANIFEST_LIST => Ok(Parsed::Index {
            manifests: raw.manifests.unwrap_or_default(),
        }),
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = raw.config.ok_or_else(|| {
                ManifestError::Unsupported(format!("{media_type} without a config"))
            })?;
            Ok(Parsed::Image {
                config,
                layers: raw.layers.unwrap_or_default(),
            })
        }
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => Err(ManifestError::Schema1),
        other => Err(ManifestError::Unsupported(other.to_string())),
    }
}

/// A writer that hashes (sha256) and counts what passes through it: the one
/// used wherever the host writes content whose digest it must know.
pub struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        use sha2::Digest as _;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// The writer, the `sha256:` digest and the byte count of what went through.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.bytes)
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_manifest_without_media_type_is_inferred() {
        let m = br#"{"schemaVersion":2,"config":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1},"layers":[]}"#;
        assert_eq!(media_type_of(m, None).unwrap(), OCI_MANIFEST);
        let i = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(media_type_of(i, None).unwrap(), OCI_INDEX);
    }

    #[test]
    fn image_lists_config_then_layers() {
        let (c, l1, l2) = (d('c'), d('1'), d('2'));
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"c","digest":"{c}","size":3}},
            "layers":[{{"mediaType":"l","digest":"{l1}","size":5}},{{"mediaType":"l","digest":"{l2}","size":7}}]}}"#
        );
        let p = parse(m.as_bytes(), DOCKER_MANIFEST).unwrap();
        let digests: Vec<_> = p.blobs().iter().map(|d| d.digest.clone()).collect();
        assert_eq!(digests, [c, l1, l2]);
    }

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn a_bad_digest_is_refused_when_parsed() {
        let m = br#"{"schemaVersion":2,"config":{"digest":"sha256:../../x","size":1},"layers":[]}"#;
        let err = parse(m, OCI_MANIFEST).unwrap_err().to_string();
        assert!(
            err.contains("`sha256:../../x` is not a valid digest"),
            "{err}"
        );
        let i = br#"{"schemaVersion":2,"manifests":[{"digest":"md5:x","size":1}]}"#;
        let err = parse(i, OCI_INDEX).unwrap_err().to_string();
        assert!(err.contains("`md5:x`"), "{err}");
    }

    #[test]
    fn schema1_and_garbage_are_refused() {
        assert!(matches!(
            media_type_of(br#"{"schemaVersion":1,"fsLayers":[]}"#, None),
            Err(ManifestError::Schema1)
        ));
        assert!(matches!(
            parse(b"{}", DOCKER_SCHEMA1_SIGNED),
            Err(ManifestError::Schema1)
        ));
        assert!(media_type_of(b"not json", None).is_err());
        assert!(parse(br#"{"schemaVersion":2}"#, OCI_MANIFEST).is_err());
    }
}
