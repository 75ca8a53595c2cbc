//! Deterministic synthetic images, pushed to a test registry.
//!
//! Mirroring tests need content whose digests are known in advance and are
//! the same on every run and every machine, so that expectations can be
//! written down and two registries can be compared byte for byte. Everything
//! here is a pure function of its spec: a [`LayerSpec`] is a real gzip'd tar
//! holding one file of seeded pseudo-random bytes, an [`ImageSpec`] adds a
//! config and a Docker schema 2 or OCI manifest, an [`IndexSpec`] a manifest
//! list or OCI index. [`crate::World`] is the ready-made set most tests start from.
//!
//! Large layers (benchmarks use hundreds of MB) are generated straight into a
//! temporary file while being hashed and uploaded from it as a stream, so
//! memory stays at a few MB whatever the layer size.
//!
//! Some content is only meaningful through the files it holds (an OpenShift
//! release payload is found by its `release-manifests/image-references`), so an
//! image can also carry [`FilesLayer`]s: deterministic gzip'd tars with chosen
//! files, directories, symlinks and overlay whiteouts, stacked on top of its
//! pseudo-random layers. [`read_tar`] reads any of these back (ustar, PAX and
//! GNU long names), for assertions on what a layer really holds.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufWriter, Write};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context as _, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::client::{RegistryClient, sha256_digest};
use crate::media_type;

/// Layers up to this uncompressed size are generated in memory; larger ones
/// go through a temporary file.
const IN_MEMORY_LIMIT: usize = 8 << 20;

/// The fixed `created` timestamp of every config (keeps digests stable).
pub const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Which manifest family an image or index uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Docker image manifest v2 schema 2 and manifest list.
    Docker,
    /// OCI image manifest and image index.
    Oci,
}

impl Format {
    /// The image manifest media type.
    pub fn manifest_media_type(self) -> &'static str {
        match self {
            Format::Docker => media_type::DOCKER_MANIFEST,
            Format::Oci => media_type::OCI_MANIFEST,
        }
    }

    /// The manifest list / index media type.
    pub fn index_media_type(self) -> &'static str {
        match self {
            Format::Docker => media_type::DOCKER_MANIFEST_LIST,
            Format::Oci => media_type::OCI_INDEX,
        }
    }

    /// The config blob media type.
    pub fn config_media_type(self) -> &'static str {
        match self {
            Format::Docker => media_type::DOCKER_CONFIG,
            Format::Oci => media_type::OCI_CONFIG,
        }
    }

    /// The (gzip) layer media type.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Format::Docker => media_type::DOCKER_LAYER_GZIP,
            Format::Oci => media_type::OCI_LAYER_GZIP,
        }
    }
}

/// One layer: a gzip'd tar holding `layer-<seed>.bin`, `size` bytes of
/// pseudo-random data from a splitmix64 stream seeded with `seed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayerSpec {
    /// PRNG seed; also names the file inside the tar.
    pub seed: u64,
    /// Size of the file inside the tar, in bytes (uncompressed).
    pub size: usize,
}

/// The digests of a generated layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// `sha256:` of the compressed blob (what the manifest references).
    pub digest: String,
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    /// Size of the compressed blob in bytes.
    pub size: u64,
}

/// A single-platform image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    /// Repository, e.g. `fixtures/app`.
    pub repo: String,
    /// Tag to push under; `None` pushes by digest only.
    pub tag: Option<String>,
    /// Docker schema 2 or OCI.
    pub format: Format,
    /// Pseudo-random layers, bottom first.
    pub layers: Vec<LayerSpec>,
    /// Layers with chosen files, stacked on top of `layers` (bottom first):
    /// the image's layer list is `layers` followed by `file_layers`.
    pub file_layers: Vec<FilesLayer>,
    /// `(os, architecture)`, e.g. `("linux", "amd64")`.
    pub platform: (String, String),
    /// Config labels (`config.Labels`).
    pub labels: BTreeMap<String, String>,
    /// `config.Entrypoint`; left out of the config when empty.
    pub entrypoint: Vec<String>,
    /// `config.Cmd`; left out of the config when empty.
    pub cmd: Vec<String>,
}

impl ImageSpec {
    /// A `linux/amd64` image without labels.
    pub fn new(repo: &str, tag: Option<&str>, format: Format, layers: Vec<LayerSpec>) -> ImageSpec {
        ImageSpec {
            repo: repo.to_string(),
            tag: tag.map(str::to_string),
            format,
            layers,
            file_layers: Vec::new(),
            platform: ("linux".to_string(), "amd64".to_string()),
            labels: BTreeMap::new(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
        }
    }

    /// The same image with one more [`FilesLayer`] on top.
    pub fn with_files_layer(mut self, layer: FilesLayer) -> ImageSpec {
        self.file_layers.push(layer);
        self
    }

    /// The same image for another `(os, arch)`.
    pub fn with_platform(mut self, os: &str, arch: &str) -> ImageSpec {
        self.platform = (os.to_string(), arch.to_string());
        self
    }

    /// The same image with one more config label.
    pub fn with_label(mut self, key: &str, value: &str) -> ImageSpec {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// The same image with `config.Entrypoint` set.
    pub fn with_entrypoint(mut self, entrypoint: &[&str]) -> ImageSpec {
        self.entrypoint = entrypoint.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The same image with `config.Cmd` set.
    pub fn with_cmd(mut self, cmd: &[&str]) -> ImageSpec {
        self.cmd = cmd.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// A multi-platform image: a Docker manifest list or an OCI index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    /// Repository; the child images are pushed here too (their own `repo`
    /// is ignored).
    pub repo: String,
    /// Tag of the index; `None` pushes by digest only.
    pub tag: Option<String>,
    /// Docker manifest list or OCI index (children should use the same).
    pub format: Format,
    /// One image per platform. Children are pushed by digest, and also by
    /// their own tag when they have one.
    pub images: Vec<ImageSpec>,
}

/// An image as built (and possibly pushed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedImage {
    /// Repository it was pushed to.
    pub repo: String,
    /// Tag it was pushed under, if any.
    pub tag: Option<String>,
    /// `sha256:` of the manifest bytes.
    pub manifest_digest: String,
    /// The exact manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The manifest media type.
    pub media_type: String,
    /// `(os, arch)` of the image.
    pub platform: (String, String),
    /// The config digest.
    pub config_digest: String,
    /// Every blob the manifest references: the config first, then layers.
    pub blob_digests: Vec<String>,
    /// The size of each blob in `blob_digests`, same order.
    pub blob_sizes: Vec<u64>,
    /// Manifest + config + compressed layer sizes, in bytes.
    pub total_size: u64,
}

/// An index / manifest list as pushed, with its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedIndex {
    /// Repository it was pushed to.
    pub repo: String,
    /// Tag it was pushed under, if any.
    pub tag: Option<String>,
    /// `sha256:` of the index bytes.
    pub manifest_digest: String,
    /// The exact index bytes.
    pub manifest_bytes: Vec<u8>,
    /// The index media type.
    pub media_type: String,
    /// The child images, in index order.
    pub images: Vec<PushedImage>,
    /// Every distinct blob of every child (configs and layers), sorted.
    pub blob_digests: Vec<String>,
    /// Index + children manifests + distinct blobs, in bytes.
    pub total_size: u64,
}

/// Pushes an image: missing blobs (checked with HEAD) by monolithic upload,
/// then the manifest by tag, or by digest when `tag` is `None`.
pub async fn push_image(
    to: impl AsRef<RegistryClient>,
    spec: &ImageSpec,
) -> anyhow::Result<PushedImage> {
    let client = to.as_ref();
    push_image_into(client, &spec.repo, spec).await
}

/// Pushes a multi-platform image: every child with [`push_image`] (into the
/// index's repo, by digest), then the index by tag or digest.
pub async fn push_index(
    to: impl AsRef<RegistryClient>,
    spec: &IndexSpec,
) -> anyhow::Result<PushedIndex> {
    let client = to.as_ref();
    let mut images = Vec::new();
    for child in &spec.images {
        images.push(push_image_into(client, &spec.repo, child).await?);
    }
    let pushed = render_index(spec, images)?;
    let reference = spec.tag.as_deref().unwrap_or(&pushed.manifest_digest);
    client
        .put_manifest(
            &spec.repo,
            reference,
            &pushed.media_type,
            &pushed.manifest_bytes,
        )
        .await?;
    Ok(pushed)
}

/// Builds an image without pushing it: the same bytes and digests
/// [`push_image`] would produce. Layers are generated (or taken from the
/// process-wide digest cache) and their bytes discarded.
pub fn build_image(spec: &ImageSpec) -> anyhow::Result<PushedImage> {
    let mut layers = spec
        .layers
        .iter()
        .map(|layer| layer_info(*layer))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for layer in &spec.file_layers {
        layers.push(layer.info()?);
    }
    Ok(render_image(&spec.repo, spec, &layers)?.0)
}

/// Builds an index without pushing it (see [`build_image`]).
pub fn build_index(spec: &IndexSpec) -> anyhow::Result<PushedIndex> {
    let mut images = Vec::new();
    for child in &spec.images {
        let mut image = build_image(child)?;
        image.repo = spec.repo.clone();
        images.push(image);
    }
    render_index(spec, images)
}

/// The digests of a layer, generating it (into a sink) unless cached.
pub fn layer_info(spec: LayerSpec) -> anyhow::Result<LayerInfo> {
    if let Some(info) = cached_layer(spec) {
        return Ok(info);
    }
    let info = write_layer(spec, io::sink())?.0;
    cache_layer(spec, &info);
    Ok(info)
}

/// Writes the compressed layer for `spec` to `out` and returns its digests
/// and `out`. Streams: memory use does not depend on `spec.size`.
pub fn write_layer<W: Write>(spec: LayerSpec, out: W) -> anyhow::Result<(LayerInfo, W)> {
    let mut gz = GzEncoder::new(HashingWriter::new(out), Compression::fast());
    let mut diff = Sha256::new();
    let mut emit = |bytes: &[u8]| -> io::Result<()> {
        diff.update(bytes);
        gz.write_all(bytes)
    };

    emit(&tar_header(
        &format!("layer-{}.bin", spec.seed),
        spec.size as u64,
    )?)?;
    let mut rng = SplitMix64(spec.seed);
    let mut buf = vec![0u8; 64 << 10];
    let mut left = spec.size;
    while left > 0 {
        let n = left.min(buf.len());
        rng.fill(&mut buf[..n]);
        emit(&buf[..n])?;
        left -= n;
    }
    let padding = (512 - spec.size % 512) % 512;
    emit(&vec![0u8; padding])?;
    emit(&[0u8; 1024])?; // end-of-archive: two zero blocks

    let diff_id = format!("sha256:{}", hex::encode(diff.finalize()));
    let compressed = gz.finish().context("finishing gzip")?;
    let info = LayerInfo {
        digest: format!("sha256:{}", hex::encode(compressed.hasher.finalize())),
        diff_id,
        size: compressed.count,
    };
    Ok((info, compressed.inner))
}

/// Pushes `spec` into `repo` (which may differ from `spec.repo` for index
/// children).
async fn push_image_into(
    client: &RegistryClient,
    repo: &str,
    spec: &ImageSpec,
) -> anyhow::Result<PushedImage> {
    let mut layers = Vec::new();
    for layer in &spec.layers {
        layers.push(ensure_layer(client, repo, *layer).await?);
    }
    for layer in &spec.file_layers {
        let (info, bytes) = layer.write()?;
        if !client.blob_exists(repo, &info.digest).await? {
            client.upload_blob(repo, bytes).await?;
        }
        layers.push(info);
    }
    let (pushed, config) = render_image(repo, spec, &layers)?;
    if !client.blob_exists(repo, &pushed.config_digest).await? {
        client.upload_blob(repo, config).await?;
    }
    let reference = spec.tag.as_deref().unwrap_or(&pushed.manifest_digest);
    client
        .put_manifest(repo, reference, &pushed.media_type, &pushed.manifest_bytes)
        .await?;
    Ok(pushed)
}

/// Makes sure the layer is in `repo`, generating and uploading it if not.
/// With a cached digest, an existing blob costs one HEAD and no generation.
async fn ensure_layer(
    client: &RegistryClient,
    repo: &str,
    spec: LayerSpec,
) -> anyhow::Result<LayerInfo> {
    if let Some(info) = cached_layer(spec)
        && client.blob_exists(repo, &info.digest).await?
    {
        return Ok(info);
    }
    let (info, data) = tokio::task::spawn_blocking(move || generate_layer(spec))
        .await
        .context("layer generation task")??;
    cache_layer(spec, &info);
    if client.blob_exists(repo, &info.digest).await? {
        return Ok(info);
    }
    match data {
        LayerData::Memory(bytes) => {
            client.upload_blob(repo, bytes).await?;
        }
        LayerData::File(path) => {
            client
                .upload_blob_file(repo, &info.digest, info.size, &path)
                .await?;
        }
    }
    Ok(info)
}

/// Where generated layer bytes live until uploaded.
enum LayerData {
    Memory(Vec<u8>),
    /// Deleted when dropped.
    File(tempfile::TempPath),
}

fn generate_layer(spec: LayerSpec) -> anyhow::Result<(LayerInfo, LayerData)> {
    if spec.size <= IN_MEMORY_LIMIT {
        let (info, bytes) = write_layer(spec, Vec::new())?;
        return Ok((info, LayerData::Memory(bytes)));
    }
    let file = tempfile::Builder::new()
        .prefix("oc-mirror-layer-")
        .tempfile()
        .context("creating a temporary layer file")?;
    let (file, path) = file.into_parts();
    let (info, writer) = write_layer(spec, BufWriter::with_capacity(1 << 20, file))?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())
        .context("flushing the layer file")?
        .sync_all()?;
    Ok((info, LayerData::File(path)))
}

fn layer_cache() -> &'static Mutex<HashMap<LayerSpec, LayerInfo>> {
    static CACHE: OnceLock<Mutex<HashMap<LayerSpec, LayerInfo>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached_layer(spec: LayerSpec) -> Option<LayerInfo> {
    let cache = layer_cache().lock().unwrap_or_else(|e| e.into_inner());
    cache.get(&spec).cloned()
}

fn cache_layer(spec: LayerSpec, info: &LayerInfo) {
    let mut cache = layer_cache().lock().unwrap_or_else(|e| e.into_inner());
    cache.insert(spec, info.clone());
}

#[derive(Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform<'a>>,
}

#[derive(Serialize)]
struct Platform<'a> {
    architecture: &'a str,
    os: &'a str,
}

#[derive(Serialize)]
struct ManifestJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
struct IndexJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
struct ConfigJson<'a> {
    architecture: &'a str,
    os: &'a str,
    created: &'a str,
    config: ConfigSection<'a>,
    rootfs: RootFs<'a>,
    history: Vec<History>,
}

#[derive(Serialize)]
struct ConfigSection<'a> {
    #[serde(rename = "Entrypoint", skip_serializing_if = "<[String]>::is_empty")]
    entrypoint: &'a [String],
    #[serde(rename = "Cmd", skip_serializing_if = "<[String]>::is_empty")]
    cmd: &'a [String],
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    diff_ids: Vec<&'a str>,
}

#[derive(Serialize)]
struct History {
    created: &'static str,
    created_by: String,
}

/// Renders config and manifest for `spec` given its layers' digests; returns
/// the image description and the config bytes.
fn render_image(
    repo: &str,
    spec: &ImageSpec,
    layers: &[LayerInfo],
) -> anyhow::Result<(PushedImage, Vec<u8>)> {
    let (os, arch) = (&spec.platform.0, &spec.platform.1);
    let config = serde_json::to_vec(&ConfigJson {
        architecture: arch,
        os,
        created: EPOCH,
        config: ConfigSection {
            entrypoint: &spec.entrypoint,
            cmd: &spec.cmd,
            labels: &spec.labels,
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.as_str()).collect(),
        },
        history: spec
            .layers
            .iter()
            .map(|l| History {
                created: EPOCH,
                created_by: format!("oc-mirror-tests layer seed={} size={}", l.seed, l.size),
            })
            .chain(spec.file_layers.iter().map(|l| History {
                created: EPOCH,
                created_by: format!("oc-mirror-tests files layer entries={}", l.entries.len()),
            }))
            .collect(),
    })?;
    let config_digest = sha256_digest(&config);
    let media_type = spec.format.manifest_media_type();
    let manifest = serde_json::to_vec(&ManifestJson {
        schema_version: 2,
        media_type,
        config: Descriptor {
            media_type: spec.format.config_media_type(),
            digest: &config_digest,
            size: config.len() as u64,
            platform: None,
        },
        layers: layers
            .iter()
            .map(|l| Descriptor {
                media_type: spec.format.layer_media_type(),
                digest: &l.digest,
                size: l.size,
                platform: None,
            })
            .collect(),
    })?;
    let mut blob_digests = vec![config_digest.clone()];
    blob_digests.extend(layers.iter().map(|l| l.digest.clone()));
    let mut blob_sizes = vec![config.len() as u64];
    blob_sizes.extend(layers.iter().map(|l| l.size));
    let total_size =
        manifest.len() as u64 + config.len() as u64 + layers.iter().map(|l| l.size).sum::<u64>();
    let image = PushedImage {
        repo: repo.to_string(),
        tag: spec.tag.clone(),
        manifest_digest: sha256_digest(&manifest),
        manifest_bytes: manifest,
        media_type: media_type.to_string(),
        platform: spec.platform.clone(),
        config_digest,
        blob_digests,
        blob_sizes,
        total_size,
    };
    Ok((image, config))
}

/// Renders the index over already-built children.
fn render_index(spec: &IndexSpec, images: Vec<PushedImage>) -> anyhow::Result<PushedIndex> {
    if images.is_empty() {
        bail!("index {} has no images", spec.repo);
    }
    let media_type = spec.format.index_media_type();
    let index = serde_json::to_vec(&IndexJson {
        schema_version: 2,
        media_type,
        manifests: images
            .iter()
            .map(|image| Descriptor {
                media_type: &image.media_type,
                digest: &image.manifest_digest,
                size: image.manifest_bytes.len() as u64,
                platform: Some(Platform {
                    architecture: &image.platform.1,
                    os: &image.platform.0,
                }),
            })
            .collect(),
    })?;
    let blobs: BTreeMap<&str, u64> = images
        .iter()
        .flat_map(|image| {
            image
                .blob_digests
                .iter()
                .map(String::as_str)
                .zip(image.blob_sizes.iter().copied())
        })
        .collect();
    let manifests: u64 = images.iter().map(|i| i.manifest_bytes.len() as u64).sum();
    let total_size = index.len() as u64 + manifests + blobs.values().sum::<u64>();
    let blob_digests = blobs.keys().map(|d| d.to_string()).collect();
    Ok(PushedIndex {
        repo: spec.repo.clone(),
        tag: spec.tag.clone(),
        manifest_digest: sha256_digest(&index),
        manifest_bytes: index,
        media_type: media_type.to_string(),
        images,
        blob_digests,
        total_size,
    })
}

/// A 512-byte ustar header for a regular file `name` of `size` bytes:
/// mode 0644, uid/gid 0, mtime 0.
fn tar_header(name: &str, size: u64) -> anyhow::Result<[u8; 512]> {
    if name.len() > 100 {
        bail!("tar member name too long: {name}");
    }
    if size >= 1 << 33 {
        bail!("layer of {size} bytes does not fit a ustar size field");
    }
    let mut header = [0u8; 512];
    let mut put = |offset: usize, bytes: &[u8]| {
        header[offset..offset + bytes.len()].copy_from_slice(bytes);
    };
    put(0, name.as_bytes()); // name
    put(100, b"0000644\0"); // mode
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{size:011o}\0").as_bytes()); // size
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum placeholder: spaces
    put(156, b"0"); // typeflag: regular file
    put(257, b"ustar\0"); // magic
    put(263, b"00"); // version
    put(265, b"root"); // uname
    put(297, b"root"); // gname
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    Ok(header)
}

/// splitmix64: tiny, fast, and the same everywhere.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.next().to_le_bytes();
            rest.copy_from_slice(&bytes[..rest.len()]);
        }
    }
}

/// Passes writes through while hashing and counting them.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One entry of a [`FilesLayer`]. Paths are written exactly as given (real
/// layers use relative paths such as `etc/os-release`; `./etc/os-release` works
/// too), so a test can also build odd archives on purpose (`../escape`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TarEntry {
    /// A regular file, mode 0644.
    File {
        /// Path inside the layer.
        path: String,
        /// Its bytes.
        contents: Vec<u8>,
    },
    /// A directory, mode 0755 (written with a trailing `/`).
    Dir {
        /// Path inside the layer.
        path: String,
    },
    /// A symbolic link `path` → `target`, mode 0777.
    Symlink {
        /// Path inside the layer.
        path: String,
        /// The link target, as stored.
        target: String,
    },
    /// An overlay whiteout: deletes `path` of the layers below. Written as the
    /// empty file `dir/.wh.name`.
    Whiteout {
        /// The path being deleted, e.g. `etc/motd`.
        path: String,
    },
    /// An opaque-directory marker: hides everything lower layers hold under
    /// `dir`. Written as the empty file `dir/.wh..wh..opq`.
    OpaqueWhiteout {
        /// The directory made opaque, e.g. `etc/yum.repos.d`.
        dir: String,
    },
}

impl TarEntry {
    /// The file a [`TarEntry::File`] at `path` holding `contents`.
    pub fn file(path: &str, contents: impl Into<Vec<u8>>) -> TarEntry {
        TarEntry::File {
            path: path.to_string(),
            contents: contents.into(),
        }
    }

    /// The name this entry has inside the tar (whiteouts expanded, a
    /// directory with its trailing `/`).
    pub fn tar_path(&self) -> String {
        match self {
            TarEntry::File { path, .. } | TarEntry::Symlink { path, .. } => path.clone(),
            TarEntry::Dir { path } => {
                if path.ends_with('/') {
                    path.clone()
                } else {
                    format!("{path}/")
                }
            }
            TarEntry::Whiteout { path } => {
                let path = path.trim_end_matches('/');
                match path.rsplit_once('/') {
                    Some((dir, name)) => format!("{dir}/{WHITEOUT_PREFIX}{name}"),
                    None => format!("{WHITEOUT_PREFIX}{path}"),
                }
            }
            TarEntry::OpaqueWhiteout { dir } => {
                let dir = dir.trim_end_matches('/');
                if dir.is_empty() {
                    OPAQUE_WHITEOUT.to_string()
                } else {
                    format!("{dir}/{OPAQUE_WHITEOUT}")
                }
            }
        }
    }
}

/// Prefix of an overlay whiteout file name (`.wh.<name>`).
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Name of the opaque-directory marker file.
pub const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";

/// A layer holding exactly the given entries, in order: a deterministic
/// gzip'd ustar (mtime 0, uid/gid 0, `root`/`root`, mode 0644 files and 0755
/// directories). Names longer than 100 bytes go in the ustar prefix field
/// when they can be split at a `/`, else in a PAX `path` record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FilesLayer {
    /// The entries, written in this order.
    pub entries: Vec<TarEntry>,
}

impl FilesLayer {
    /// An empty layer (an empty tar: two zero blocks).
    pub fn new() -> FilesLayer {
        FilesLayer::default()
    }

    /// Adds a regular file.
    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> FilesLayer {
        self.entries.push(TarEntry::file(path, contents));
        self
    }

    /// Adds a directory.
    pub fn dir(mut self, path: &str) -> FilesLayer {
        self.entries.push(TarEntry::Dir {
            path: path.to_string(),
        });
        self
    }

    /// Adds a symbolic link.
    pub fn symlink(mut self, path: &str, target: &str) -> FilesLayer {
        self.entries.push(TarEntry::Symlink {
            path: path.to_string(),
            target: target.to_string(),
        });
        self
    }

    /// Adds a whiteout deleting `path`.
    pub fn whiteout(mut self, path: &str) -> FilesLayer {
        self.entries.push(TarEntry::Whiteout {
            path: path.to_string(),
        });
        self
    }

    /// Adds an opaque marker for `dir`.
    pub fn opaque_whiteout(mut self, dir: &str) -> FilesLayer {
        self.entries.push(TarEntry::OpaqueWhiteout {
            dir: dir.to_string(),
        });
        self
    }

    /// The uncompressed tar (what `rootfs.diff_ids` hashes).
    pub fn tar(&self) -> anyhow::Result<Vec<u8>> {
        tar_bytes(&self.entries)
    }

    /// The compressed layer and its digests.
    pub fn write(&self) -> anyhow::Result<(LayerInfo, Vec<u8>)> {
        let tar = self.tar()?;
        let compressed = gzip(&tar)?;
        let info = LayerInfo {
            digest: sha256_digest(&compressed),
            diff_id: sha256_digest(&tar),
            size: compressed.len() as u64,
        };
        Ok((info, compressed))
    }

    /// The digests of the layer (see [`FilesLayer::write`]).
    pub fn info(&self) -> anyhow::Result<LayerInfo> {
        Ok(self.write()?.0)
    }
}

/// gzip (level "fast", no name, mtime 0) of `bytes`: the same bytes every run.
pub fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes)?;
    gz.finish().context("finishing gzip")
}

/// A deterministic ustar archive of `entries` (see [`FilesLayer`]), ending
/// with two zero blocks.
pub fn tar_bytes(entries: &[TarEntry]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.tar_path();
        match entry {
            TarEntry::File { contents, .. } => {
                append_member(&mut out, &name, b'0', 0o644, contents, "")?;
            }
            TarEntry::Dir { .. } => append_member(&mut out, &name, b'5', 0o755, &[], "")?,
            TarEntry::Symlink { target, .. } => {
                append_member(&mut out, &name, b'2', 0o777, &[], target)?;
            }
            TarEntry::Whiteout { .. } | TarEntry::OpaqueWhiteout { .. } => {
                append_member(&mut out, &name, b'0', 0o644, &[], "")?;
            }
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    Ok(out)
}

/// Appends one member (with a PAX header first when the name or link target
/// does not fit ustar) and its padded data.
fn append_member(
    out: &mut Vec<u8>,
    name: &str,
    typeflag: u8,
    mode: u32,
    data: &[u8],
    link: &str,
) -> anyhow::Result<()> {
    if name.is_empty() || name.contains('\0') || link.contains('\0') {
        bail!("invalid tar member name {name:?}");
    }
    let split = split_ustar_name(name);
    let mut pax = Vec::new();
    if split.is_none() {
        pax.extend_from_slice(&pax_record("path", name));
    }
    if link.len() > 100 {
        pax.extend_from_slice(&pax_record("linkpath", link));
    }
    if !pax.is_empty() {
        let base = name.trim_end_matches('/');
        let base = base.rsplit('/').next().unwrap_or(base);
        let pax_name = truncate_bytes(&format!("PaxHeaders.0/{base}"), 100);
        out.extend_from_slice(&ustar_header(
            ("", &pax_name),
            b'x',
            0o644,
            pax.len() as u64,
            "",
        )?);
        append_padded(out, &pax);
    }
    let (prefix, short) = match split {
        Some((prefix, short)) => (prefix.to_string(), short.to_string()),
        None => (String::new(), truncate_bytes(name, 100)),
    };
    let link = truncate_bytes(link, 100);
    out.extend_from_slice(&ustar_header(
        (&prefix, &short),
        typeflag,
        mode,
        data.len() as u64,
        &link,
    )?);
    append_padded(out, data);
    Ok(())
}

fn append_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.resize(out.len() + (512 - data.len() % 512) % 512, 0);
}

/// `(prefix, name)` fitting ustar's 155 + 100 bytes, split at a `/`; `None`
/// when the name needs a PAX record.
fn split_ustar_name(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    if name.len() > 256 {
        return None;
    }
    let bytes = name.as_bytes();
    let first = name.len().saturating_sub(101);
    (first..name.len().min(156))
        .find(|&i| bytes[i] == b'/' && i + 1 < name.len() && name.len() - i - 1 <= 100)
        .map(|i| (&name[..i], &name[i + 1..]))
}

/// At most `max` bytes of `s`, cut at a char boundary.
fn truncate_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// One PAX record, `"<len> key=value\n"`, where `len` counts the whole record.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let rest = format!(" {key}={value}\n");
    let mut len = rest.len() + 1;
    while format!("{len}").len() + rest.len() != len {
        len = format!("{len}").len() + rest.len();
    }
    format!("{len}{rest}").into_bytes()
}

/// A 512-byte ustar header with the fixed owner and time of every fixture.
fn ustar_header(
    (prefix, name): (&str, &str),
    typeflag: u8,
    mode: u32,
    size: u64,
    link: &str,
) -> anyhow::Result<[u8; 512]> {
    if name.len() > 100 || prefix.len() > 155 || link.len() > 100 {
        bail!("tar header field too long: {prefix}/{name} -> {link}");
    }
    if size >= 1 << 33 {
        bail!("member of {size} bytes does not fit a ustar size field");
    }
    let mut header = [0u8; 512];
    let mut put = |offset: usize, bytes: &[u8]| {
        header[offset..offset + bytes.len()].copy_from_slice(bytes);
    };
    put(0, name.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum placeholder: spaces
    put(156, &[typeflag]);
    put(157, link.as_bytes());
    put(257, b"ustar\0");
    put(263, b"00");
    put(265, b"root");
    put(297, b"root");
    put(329, b"0000000\0"); // devmajor
    put(337, b"0000000\0"); // devminor
    put(345, prefix.as_bytes());
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    Ok(header)
}

/// One member of a tar read by [`read_tar`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarMember {
    /// Full name (ustar prefix, PAX `path` or GNU long name applied).
    pub path: String,
    /// The type flag: `b'0'` file, `b'5'` directory, `b'2'` symlink, `b'1'`
    /// hard link, …
    pub typeflag: u8,
    /// Permission bits.
    pub mode: u32,
    /// Owner and group ids.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Link target of a symlink or hard link.
    pub link: String,
    /// The member's data (empty for directories and links).
    pub contents: Vec<u8>,
}

impl TarMember {
    /// Whether this is a regular file (type `0` or the old NUL).
    pub fn is_file(&self) -> bool {
        self.typeflag == b'0' || self.typeflag == 0
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.typeflag == b'5'
    }

    /// The contents as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents).into_owned()
    }
}

/// Reads a gzip'd tar (see [`read_tar`]).
pub fn read_tar_gz(bytes: &[u8]) -> anyhow::Result<Vec<TarMember>> {
    use std::io::Read as _;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut tar)
        .context("decompressing gzip")?;
    read_tar(&tar)
}

/// Reads every member of an uncompressed tar: ustar (with prefix), PAX
/// (`path`, `linkpath`, `size` records; global headers skipped) and GNU long
/// names (`L`, `K`). Checks header checksums. Stops at the first zero block.
pub fn read_tar(tar: &[u8]) -> anyhow::Result<Vec<TarMember>> {
    let mut members = Vec::new();
    let mut offset = 0usize;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    while offset + 512 <= tar.len() {
        let header = &tar[offset..offset + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let stored = parse_octal(&header[148..156]).context("tar header checksum")?;
        let actual: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if stored != actual {
            bail!("tar header at {offset}: checksum {stored} != {actual}");
        }
        let typeflag = header[156];
        let size = match pax_size.take() {
            Some(size) => size,
            None => parse_octal(&header[124..136]).context("tar size")?,
        };
        let start = offset + 512;
        let end = start
            .checked_add(usize::try_from(size)?)
            .filter(|&end| end <= tar.len())
            .with_context(|| format!("tar member at {offset} runs past the end"))?;
        let data = &tar[start..end];
        offset = start + (size as usize).div_ceil(512) * 512;
        match typeflag {
            b'x' => {
                for (key, value) in parse_pax(data)? {
                    match key.as_str() {
                        "path" => long_name = Some(value),
                        "linkpath" => long_link = Some(value),
                        "size" => pax_size = Some(value.parse().context("PAX size")?),
                        _ => {}
                    }
                }
                continue;
            }
            b'g' => continue,
            b'L' => {
                long_name = Some(c_string(data));
                continue;
            }
            b'K' => {
                long_link = Some(c_string(data));
                continue;
            }
            _ => {}
        }
        let path = match long_name.take() {
            Some(name) => name,
            None => {
                let name = c_string(&header[0..100]);
                let prefix = if &header[257..262] == b"ustar" {
                    c_string(&header[345..500])
                } else {
                    String::new()
                };
                if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                }
            }
        };
        let link = long_link
            .take()
            .unwrap_or_else(|| c_string(&header[157..257]));
        members.push(TarMember {
            path,
            typeflag,
            mode: u32::try_from(parse_octal(&header[100..108])?)?,
            uid: parse_octal(&header[108..116])?,
            gid: parse_octal(&header[116..124])?,
            mtime: parse_octal(&header[136..148])?,
            link,
            contents: data.to_vec(),
        });
    }
    Ok(members)
}

/// The bytes up to the first NUL, as (lossy) UTF-8.
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal numeric field (NUL/space padded), or GNU base-256.
fn parse_octal(field: &[u8]) -> anyhow::Result<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut value = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .context("base-256 tar field overflows")?;
        }
        return Ok(value);
    }
    let text = c_string(field);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).with_context(|| format!("bad octal tar field {text:?}"))
}

/// The `key=value` records of a PAX header.
fn parse_pax(mut data: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    let mut records = Vec::new();
    while !data.is_empty() && data[0] != 0 {
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .context("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&data[..space])?
            .parse()
            .context("PAX record length")?;
        if len <= space + 1 || len > data.len() {
            bail!("bad PAX record length {len}");
        }
        let record = &data[space + 1..len - 1]; // without the trailing newline
        let text = String::from_utf8_lossy(record);
        if let Some((key, value)) = text.split_once('=') {
            records.push((key.to_string(), value.to_string()));
        }
        data = &data[len..];
    }
    Ok(records)
}
