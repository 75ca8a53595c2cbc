//! Helm chart fixtures: packing, a chart repository, OCI charts and the
//! images the charts run.
//!
//! The charts live as plain directories under `tests/data/charts/`
//! ([`charts_dir`]); `tests/data/charts/EXPECTED.md` lists, per chart version,
//! the images a mirror must find in them, and [`expectations`] says the same
//! as data. The chart files name their images under the placeholder registry
//! [`REGISTRY_PLACEHOLDER`], and the one image pinned by digest with
//! [`DIGEST_PLACEHOLDER`]; [`pack`] replaces both (any text, in fact) when it
//! builds an archive, so a test:
//!
//! 1. pushes the images with [`push_chart_images`] (which learns the real
//!    digest of the pinned image),
//! 2. packs the charts with [`PushedChartImages::pack`] (placeholders →
//!    `127.0.0.1:PORT` and the real digest),
//! 3. serves them from a [`ChartRepo`] (an HTTP chart repository) or pushes
//!    them to a registry with [`push_oci_chart`] (as `helm push` does),
//! 4. runs oc-mirror and checks the mirror against
//!    [`PushedChartImages::references`] of the expectation.
//!
//! [`pack`] lays an archive out as `helm package` does (after
//! `helm dependency update`): every entry a regular file under
//! `<chart name>/`, `Chart.yaml` first, then `values.yaml`, the templates and
//! the other files, then each subchart as a directory under `charts/`
//! (`file://` dependencies vendored), with mtime 0 and root owners — the same
//! bytes every run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::cincinnati::compare_versions;
use crate::client::RegistryClient;
use crate::fixture::{
    Format, ImageSpec, LayerSpec, PushedImage, TarEntry, gzip, push_image, read_tar_gz, tar_bytes,
};
use crate::http::{Request, Response, Server};
use crate::media_type;

/// The registry host every image of the fixture charts is written under;
/// [`pack`] replaces it with the test registry's `127.0.0.1:PORT`.
pub const REGISTRY_PLACEHOLDER: &str = "registry.example.invalid:5000";

/// The digest the fixture charts pin their by-digest image with (a valid
/// digest, so the charts render unreplaced too); [`pack`] replaces it with
/// the digest of the image [`push_chart_images`] pushed.
pub const DIGEST_PLACEHOLDER: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The `imagePaths` of the webapp charts: the image of the `Foo` custom
/// resource, which no pod spec holds.
pub const WEBAPP_IMAGE_PATHS: &[&str] = &["{.spec.engine.image}"];

/// The config media type of a Helm chart pushed to a registry.
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// The layer media type of a Helm chart's archive in a registry.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The fixed `created`/`generated` time of index entries and OCI charts.
pub const CREATED: &str = "2024-01-01T00:00:00Z";

/// Where the chart repository lives on a [`ChartRepo`]'s server.
pub const REPO_PATH: &str = "/charts";

/// `tests/data/charts`.
pub fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/charts")
}

/// `tests/data/charts/<dir>`, e.g. `webapp-1.2.0`.
pub fn chart_dir(dir: &str) -> PathBuf {
    charts_dir().join(dir)
}

// ---------------------------------------------------------------------------
// Packing

/// Packs the chart directory `dir` into a `.tgz` laid out as `helm package`
/// lays it out (see the module docs), replacing each `(from, to)` of
/// `replace`, in order, in every file that is UTF-8 text (`Chart.yaml`
/// included, so a replacement can also change the version).
pub fn pack(dir: &Path, replace: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    let mut entries = Vec::new();
    pack_chart(dir, "", replace, &mut entries, 0)
        .with_context(|| format!("packing the chart {}", dir.display()))?;
    gzip(&tar_bytes(&entries)?)
}

/// [`pack`] of `tests/data/charts/<dir>`.
pub fn pack_fixture(dir: &str, replace: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    pack(&chart_dir(dir), replace)
}

/// The file name `helm package` gives a chart: `<name>-<version>.tgz`.
pub fn archive_name(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// Copies a chart directory to `to` as a user would keep it, with
/// `replace` applied to every text file (as [`pack`] applies it).
pub fn copy_dir(from: &Path, to: &Path, replace: &[(&str, &str)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for file in walk(from)? {
        let target = to.join(&file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let source = from.join(&file);
        let bytes =
            std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        std::fs::write(&target, apply(bytes, replace))
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn apply(bytes: Vec<u8>, replace: &[(&str, &str)]) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            for (from, to) in replace {
                if !from.is_empty() {
                    text = text.replace(from, to);
                }
            }
            text.into_bytes()
        }
        Err(e) => e.into_bytes(),
    }
}

/// The metadata of a `Chart.yaml`, as JSON.
fn parse_chart_yaml(text: &[u8]) -> anyhow::Result<Value> {
    let value: Value = serde_norway::from_slice(text).context("parsing Chart.yaml")?;
    ensure!(value.is_object(), "Chart.yaml is not a map");
    for key in ["name", "version"] {
        ensure!(
            value[key].is_string(),
            "Chart.yaml has no string `{key}` (quote a numeric one)"
        );
    }
    Ok(value)
}

/// Every file under `dir`, as sorted `/`-separated relative paths.
fn walk(dir: &Path) -> anyhow::Result<Vec<String>> {
    fn visit(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                visit(root, &path, out)?;
            } else if kind.is_file() {
                let rel = path.strip_prefix(root)?;
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            } else {
                bail!(
                    "{}: only files and directories can be packed",
                    path.display()
                );
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn pack_chart(
    dir: &Path,
    prefix: &str,
    replace: &[(&str, &str)],
    out: &mut Vec<TarEntry>,
    depth: usize,
) -> anyhow::Result<()> {
    ensure!(depth < 8, "subcharts nested too deep at {}", dir.display());
    let read = |rel: &str| -> anyhow::Result<Vec<u8>> {
        let path = dir.join(rel);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(apply(bytes, replace))
    };
    let chart_yaml = read("Chart.yaml")?;
    let meta = parse_chart_yaml(&chart_yaml)?;
    let name = meta["name"].as_str().unwrap_or_default().to_string();
    let base = format!("{prefix}{name}");

    // Subcharts in charts/: directories holding a Chart.yaml, by chart name.
    let mut subcharts: BTreeMap<String, PathBuf> = BTreeMap::new();
    let charts = dir.join("charts");
    if charts.is_dir() {
        for entry in std::fs::read_dir(&charts)? {
            let path = entry?.path();
            if path.is_dir() {
                let sub_yaml = std::fs::read(path.join("Chart.yaml"))
                    .with_context(|| format!("{} has no Chart.yaml", path.display()))?;
                let sub = parse_chart_yaml(&apply(sub_yaml, replace))?;
                let sub_name = sub["name"].as_str().unwrap_or_default().to_string();
                subcharts.insert(sub_name, path);
            } else if path.extension().is_some_and(|e| e == "tgz") {
                bail!(
                    "{}: archived subcharts are not supported (keep subcharts as directories)",
                    path.display()
                );
            }
        }
    }
    // `helm dependency update` vendors file:// dependencies.
    for dep in meta["dependencies"].as_array().into_iter().flatten() {
        let dep_name = dep["name"].as_str().unwrap_or_default();
        let repository = dep["repository"].as_str().unwrap_or_default();
        if let Some(rel) = repository.strip_prefix("file://")
            && !subcharts.contains_key(dep_name)
        {
            let path = dir.join(rel);
            ensure!(
                path.join("Chart.yaml").is_file(),
                "dependency {dep_name}: no chart at {}",
                path.display()
            );
            subcharts.insert(dep_name.to_string(), path);
        }
    }

    let files = walk(dir)?;
    let is_subchart_file = |f: &str| {
        f.strip_prefix("charts/")
            .is_some_and(|rest| rest.contains('/'))
    };
    let rank = |f: &str| match f {
        "Chart.yaml" => 0,
        "values.yaml" => 1,
        "values.schema.json" => 2,
        _ if f.starts_with("templates/") => 3,
        _ => 4,
    };
    let mut own: Vec<&String> = files.iter().filter(|f| !is_subchart_file(f)).collect();
    own.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    for file in own {
        let contents = if file == "Chart.yaml" {
            chart_yaml.clone()
        } else {
            read(file)?
        };
        out.push(TarEntry::file(&format!("{base}/{file}"), contents));
    }
    for path in subcharts.values() {
        pack_chart(path, &format!("{base}/charts/"), replace, out, depth + 1)?;
    }
    Ok(())
}

/// The metadata of the chart in a `.tgz` (its top-level `Chart.yaml`, as
/// JSON).
pub fn chart_metadata(tgz: &[u8]) -> anyhow::Result<Value> {
    let members = read_tar_gz(tgz).context("reading the chart archive")?;
    let chart_yaml = members
        .iter()
        .find(|m| {
            m.is_file()
                && m.path
                    .split_once('/')
                    .is_some_and(|(_, rest)| rest == "Chart.yaml")
        })
        .context("the archive has no <chart>/Chart.yaml")?;
    parse_chart_yaml(&chart_yaml.contents)
}

/// The lowercase hex sha256 of `bytes` (what an `index.yaml` `digest` is).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// Expectations

/// What a mirror must find in one fixture chart version (rendered with its
/// default values, hooks included except `helm.sh/hook: test`). References
/// are relative to the registry (`webapp/server:1.2.0`); the by-digest one
/// holds [`DIGEST_PLACEHOLDER`]. See `tests/data/charts/EXPECTED.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartExpectation {
    /// The directory under [`charts_dir`], e.g. `webapp-1.2.0`.
    pub dir: &'static str,
    /// The chart's name.
    pub name: &'static str,
    /// The chart's version.
    pub version: &'static str,
    /// `application` or `library`.
    pub chart_type: &'static str,
    /// The `imagePaths` the configuration should name for this chart.
    pub image_paths: Vec<&'static str>,
    /// Images found in pod specs of workloads and of install/upgrade hooks.
    pub images: Vec<String>,
    /// Images found only through [`ChartExpectation::image_paths`].
    pub image_paths_only: Vec<String>,
    /// Images the chart names that must not be mirrored: test hooks,
    /// disabled subcharts and components, charts that fail to render.
    /// [`push_chart_images`] pushes them anyway, so that mirroring one by
    /// mistake succeeds and shows in the destination.
    pub excluded: Vec<String>,
    /// References without tag or digest: warned about and left out
    /// ([`push_chart_images`] pushes them as `:latest`, so that guessing
    /// `latest` by mistake shows).
    pub untagged: Vec<String>,
    /// A piece of the error when the chart cannot render.
    pub render_error: Option<&'static str>,
}

impl ChartExpectation {
    /// Everything a mirror must copy when `imagePaths` are given:
    /// [`ChartExpectation::images`] and [`ChartExpectation::image_paths_only`].
    pub fn with_image_paths(&self) -> Vec<String> {
        let mut all = self.images.clone();
        all.extend(self.image_paths_only.iter().cloned());
        all
    }

    /// Every reference the chart's files name (all four lists).
    pub fn all_references(&self) -> Vec<String> {
        let mut all = self.with_image_paths();
        all.extend(self.excluded.iter().cloned());
        all.extend(self.untagged.iter().cloned());
        all
    }
}

fn strings(refs: &[&str]) -> Vec<String> {
    refs.iter().map(|r| r.to_string()).collect()
}

fn webapp(dir: &'static str, version: &'static str) -> ChartExpectation {
    ChartExpectation {
        dir,
        name: "webapp",
        version,
        chart_type: "application",
        image_paths: WEBAPP_IMAGE_PATHS.to_vec(),
        images: vec![
            format!("webapp/server:{version}"),
            "webapp/init:1.0.0".to_string(),
            "cache/redis-cli:7.2.4".to_string(),
            format!("webapp/sidecar@{DIGEST_PLACEHOLDER}"),
            "webapp/proxy:1.25.3".to_string(),
            "webapp/log-shipper:3.0.1".to_string(),
            "cache/redis:7.2.4".to_string(),
            "webapp/metrics-exporter:0.15.0".to_string(),
            "webapp/worker:2.0.0".to_string(),
            "webapp/backup:1.1.0".to_string(),
            format!("webapp/migrate:{version}"),
        ],
        image_paths_only: strings(&["webapp/engine:3.1.0"]),
        excluded: strings(&[
            "webapp/test-runner:1.0.0",
            "webapp/worker-bulk:2.0.0",
            "cache/os-shell:12.0.0",
        ]),
        untagged: Vec::new(),
        render_error: None,
    }
}

/// Every fixture chart version under [`charts_dir`], in directory order.
pub fn expectations() -> Vec<ChartExpectation> {
    let plain = |dir, name, version, images: &[&str]| ChartExpectation {
        dir,
        name,
        version,
        chart_type: "application",
        image_paths: Vec::new(),
        images: strings(images),
        image_paths_only: Vec::new(),
        excluded: Vec::new(),
        untagged: Vec::new(),
        render_error: None,
    };
    vec![
        ChartExpectation {
            render_error: Some("database.host is required"),
            excluded: strings(&["broken/app:1.0.0"]),
            ..plain("broken", "broken", "0.1.0", &[])
        },
        ChartExpectation {
            chart_type: "library",
            ..plain("common", "common", "2.2.0", &[])
        },
        ChartExpectation {
            untagged: strings(&["notag/app"]),
            ..plain("notag", "notag", "0.1.0", &["notag/helper:1.0.0"])
        },
        plain("ocichart", "ocichart", "0.1.0", &["ocichart/hello:0.1.0"]),
        webapp("webapp-1.2.0", "1.2.0"),
        webapp("webapp-1.3.0", "1.3.0"),
    ]
}

/// The expectation of the chart in `tests/data/charts/<dir>`.
pub fn expectation(dir: &str) -> Option<ChartExpectation> {
    expectations().into_iter().find(|e| e.dir == dir)
}

// ---------------------------------------------------------------------------
// The images of the charts

/// How a registry-relative reference names its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reference {
    Tag(String),
    Digest(String),
    Untagged,
}

/// `(repository, reference)` of `webapp/server:1.2.0`, `x@sha256:…`, `x`.
fn split_reference(rel: &str) -> (String, Reference) {
    if let Some((repo, digest)) = rel.split_once('@') {
        return (repo.to_string(), Reference::Digest(digest.to_string()));
    }
    let last = rel.rsplit('/').next().unwrap_or(rel);
    match last.rsplit_once(':') {
        Some((_, tag)) => {
            let repo = &rel[..rel.len() - tag.len() - 1];
            (repo.to_string(), Reference::Tag(tag.to_string()))
        }
        None => (rel.to_string(), Reference::Untagged),
    }
}

/// The small deterministic image pushed for a chart's reference `rel`: one
/// 2 KiB layer seeded from the repository and tag (so each image's digest is
/// fixed whatever else is pushed), Docker schema 2 for the `cache/`
/// repositories and OCI for the rest. A by-digest reference gets an image
/// without tag; an untagged one is pushed as `latest`.
pub fn chart_image_spec(rel: &str) -> ImageSpec {
    let (repo, reference) = split_reference(rel);
    let tag = match &reference {
        Reference::Tag(tag) => Some(tag.as_str()),
        Reference::Digest(_) => None,
        Reference::Untagged => Some("latest"),
    };
    let seed_text = format!("{repo}:{}", tag.unwrap_or("by-digest"));
    let hash = Sha256::digest(seed_text.as_bytes());
    let seed = u64::from_be_bytes(hash[..8].try_into().unwrap_or_default());
    let format = if repo.starts_with("cache/") {
        Format::Docker
    } else {
        Format::Oci
    };
    ImageSpec::new(
        &repo,
        tag,
        format,
        vec![LayerSpec {
            seed,
            size: 2 << 10,
        }],
    )
    .with_label("org.opencontainers.image.title", &repo)
}

/// The images of some charts as pushed by [`push_chart_images`].
#[derive(Clone, Debug)]
pub struct PushedChartImages {
    /// `127.0.0.1:PORT` of the registry they were pushed to.
    pub host: String,
    /// The digest of the by-digest image (what [`DIGEST_PLACEHOLDER`]
    /// stands for).
    pub digest: String,
    /// Every image by its registry-relative reference as the expectations
    /// write it (with [`DIGEST_PLACEHOLDER`]).
    pub images: BTreeMap<String, PushedImage>,
}

impl PushedChartImages {
    /// The `(from, to)` pairs for [`pack`]: [`REGISTRY_PLACEHOLDER`] → the
    /// registry's host, [`DIGEST_PLACEHOLDER`] → the real digest.
    pub fn replacements(&self) -> Vec<(&str, &str)> {
        vec![
            (REGISTRY_PLACEHOLDER, self.host.as_str()),
            (DIGEST_PLACEHOLDER, self.digest.as_str()),
        ]
    }

    /// [`pack`] of `tests/data/charts/<dir>` with [`Self::replacements`].
    pub fn pack(&self, dir: &str) -> anyhow::Result<Vec<u8>> {
        pack(&chart_dir(dir), &self.replacements())
    }

    /// The full reference of `rel` on the registry
    /// (`127.0.0.1:PORT/webapp/server:1.2.0`, the digest filled in).
    pub fn reference(&self, rel: &str) -> String {
        format!(
            "{}/{}",
            self.host,
            rel.replace(DIGEST_PLACEHOLDER, &self.digest)
        )
    }

    /// [`Self::reference`] of each of `rels`, sorted.
    pub fn references(&self, rels: &[String]) -> Vec<String> {
        let mut out: Vec<String> = rels.iter().map(|r| self.reference(r)).collect();
        out.sort();
        out
    }

    /// The image pushed for `rel` (as the expectations write it).
    pub fn image(&self, rel: &str) -> Option<&PushedImage> {
        self.images.get(rel)
    }
}

/// Pushes an image for every reference of `charts` (all four lists of each
/// [`ChartExpectation`]) with [`chart_image_spec`]. The charts pin at most
/// one image by digest (one [`DIGEST_PLACEHOLDER`]); its digest is returned
/// in [`PushedChartImages::digest`] (the placeholder itself when none does).
pub async fn push_chart_images(
    to: impl AsRef<RegistryClient>,
    charts: &[ChartExpectation],
) -> anyhow::Result<PushedChartImages> {
    let client = to.as_ref();
    let refs: BTreeSet<String> = charts.iter().flat_map(|c| c.all_references()).collect();
    let mut images = BTreeMap::new();
    let mut digest: Option<String> = None;
    for rel in refs {
        let spec = chart_image_spec(&rel);
        let pushed = push_image(client, &spec)
            .await
            .with_context(|| format!("pushing the chart image {rel}"))?;
        if let (_, Reference::Digest(placeholder)) = split_reference(&rel) {
            ensure!(
                placeholder == DIGEST_PLACEHOLDER,
                "{rel}: a by-digest reference must use DIGEST_PLACEHOLDER"
            );
            if let Some(other) = &digest {
                ensure!(
                    other == &pushed.manifest_digest,
                    "two images pinned by DIGEST_PLACEHOLDER: one placeholder stands for one digest"
                );
            }
            digest = Some(pushed.manifest_digest.clone());
        }
        images.insert(rel, pushed);
    }
    Ok(PushedChartImages {
        host: client.target().host.clone(),
        digest: digest.unwrap_or_else(|| DIGEST_PLACEHOLDER.to_string()),
        images,
    })
}

// ---------------------------------------------------------------------------
// OCI charts

/// A chart as pushed by [`push_oci_chart`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedChart {
    /// The repository, e.g. `charts/ocichart`.
    pub repository: String,
    /// The tag: the version with `+` as `_`.
    pub tag: String,
    /// The chart's name.
    pub name: String,
    /// The chart's version.
    pub version: String,
    /// `sha256:` of the manifest.
    pub manifest_digest: String,
    /// The manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// `sha256:` of the config (the chart's metadata as JSON).
    pub config_digest: String,
    /// The config bytes.
    pub config_bytes: Vec<u8>,
    /// `sha256:` of the one layer (the `.tgz`).
    pub layer_digest: String,
    /// The size of the `.tgz`.
    pub layer_size: u64,
}

impl PushedChart {
    /// `<host>/<repository>:<tag>`.
    pub fn reference(&self, host: &str) -> String {
        format!("{host}/{}:{}", self.repository, self.tag)
    }

    /// `oci://<host>/<repository>` (what `helm pull` / an ISC names).
    pub fn oci_url(&self, host: &str) -> String {
        format!("oci://{host}/{}", self.repository)
    }
}

/// The tag `helm push` gives a chart version (`+` is not allowed in tags).
pub fn oci_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// Pushes the chart archive `tgz` into `repository` the way `helm push`
/// does: the config blob is the chart's metadata (its `Chart.yaml`, read
/// from the archive) as JSON with [`HELM_CONFIG_MEDIA_TYPE`], the one layer
/// is `tgz` with [`HELM_CHART_MEDIA_TYPE`], the manifest is an OCI image
/// manifest with the `org.opencontainers.image.*` annotations (created fixed
/// at [`CREATED`]), tagged with [`oci_tag`] of the version. (`helm push
/// x.tgz oci://host/ns` pushes to `ns/<chart name>`: pass that as
/// `repository` to do the same.)
pub async fn push_oci_chart(
    to: impl AsRef<RegistryClient>,
    repository: &str,
    tgz: &[u8],
) -> anyhow::Result<PushedChart> {
    let client = to.as_ref();
    let meta = chart_metadata(tgz)?;
    let name = meta["name"].as_str().unwrap_or_default().to_string();
    let version = meta["version"].as_str().unwrap_or_default().to_string();
    let config_bytes = serde_json::to_vec(&meta)?;
    let config_digest = client.upload_blob(repository, config_bytes.clone()).await?;
    let layer_digest = client.upload_blob(repository, tgz.to_vec()).await?;
    let mut annotations = serde_json::Map::new();
    annotations.insert("org.opencontainers.image.created".into(), json!(CREATED));
    if let Some(description) = meta["description"].as_str() {
        annotations.insert(
            "org.opencontainers.image.description".into(),
            json!(description),
        );
    }
    annotations.insert("org.opencontainers.image.title".into(), json!(name));
    annotations.insert("org.opencontainers.image.version".into(), json!(version));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {
            "mediaType": HELM_CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config_bytes.len(),
        },
        "layers": [{
            "mediaType": HELM_CHART_MEDIA_TYPE,
            "digest": layer_digest,
            "size": tgz.len(),
        }],
        "annotations": annotations,
    });
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let tag = oci_tag(&version);
    let manifest_digest = client
        .put_manifest(repository, &tag, media_type::OCI_MANIFEST, &manifest_bytes)
        .await?;
    Ok(PushedChart {
        repository: repository.to_string(),
        tag,
        name,
        version,
        manifest_digest,
        manifest_bytes,
        config_digest,
        config_bytes,
        layer_digest,
        layer_size: tgz.len() as u64,
    })
}

// ---------------------------------------------------------------------------
// The chart repository

/// How an `index.yaml` entry names its archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChartUrls {
    /// `http://127.0.0.1:PORT/charts/<name>-<version>.tgz`.
    #[default]
    Absolute,
    /// `<name>-<version>.tgz`, relative to the repository URL (as Helm
    /// resolves it: against the repository URL with a trailing `/`).
    Relative,
}

/// Something wrong a [`ChartRepo`] answers for a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartFault {
    /// `404 Not Found`.
    NotFound,
    /// `500 Internal Server Error`.
    ServerError,
    /// A valid gzip of the same tar but other bytes (another compression
    /// level and gzip mtime): only a digest check notices.
    Recompressed,
    /// The first half of the bytes.
    Truncated,
}

/// One chart version a [`ChartRepo`] serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoChart {
    /// The chart's name.
    pub name: String,
    /// The chart's version.
    pub version: String,
    /// Its `Chart.yaml`, as JSON (copied into the index entry).
    pub metadata: Value,
    /// The archive.
    pub tgz: Vec<u8>,
    /// Lowercase hex sha256 of the archive (the index's `digest`).
    pub digest: String,
    /// How the index names it.
    pub urls: ChartUrls,
}

impl RepoChart {
    /// `<name>-<version>.tgz`.
    pub fn file_name(&self) -> String {
        archive_name(&self.name, &self.version)
    }
}

/// A request a [`ChartRepo`] answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoRequest {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Debug)]
struct RepoState {
    port: u16,
    default_urls: ChartUrls,
    charts: Vec<RepoChart>,
    faults: BTreeMap<String, ChartFault>,
    requests: Vec<RepoRequest>,
}

fn lock(state: &Mutex<RepoState>) -> MutexGuard<'_, RepoState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A Helm chart repository over plain HTTP on a free `127.0.0.1` port (one
/// request per connection, `Connection: close`), at [`ChartRepo::url`]
/// (`http://127.0.0.1:PORT/charts`): `GET …/index.yaml` is the index of
/// every chart added (entries newest version first, `created` and
/// `generated` fixed, `digest` the archive's sha256), `GET …/<name>-<version>.tgz`
/// an archive; anything else is 404. Faults can be set per path
/// ([`ChartRepo::set_fault`]); every request is recorded. Stops when dropped.
pub struct ChartRepo {
    server: Server,
    state: Arc<Mutex<RepoState>>,
}

impl ChartRepo {
    /// Starts an empty repository whose charts get absolute URLs.
    pub async fn start() -> anyhow::Result<ChartRepo> {
        ChartRepo::start_with(ChartUrls::Absolute).await
    }

    /// Starts an empty repository whose charts get `urls` unless added with
    /// [`ChartRepo::add_with`].
    pub async fn start_with(urls: ChartUrls) -> anyhow::Result<ChartRepo> {
        let listener = Server::bind().await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(RepoState {
            port,
            default_urls: urls,
            charts: Vec::new(),
            faults: BTreeMap::new(),
            requests: Vec::new(),
        }));
        let handler = {
            let state = state.clone();
            move |request: &Request| handle(&state, request)
        };
        let server = Server::start(listener, handler)?;
        Ok(ChartRepo { server, state })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The repository URL, `http://127.0.0.1:PORT/charts` (no trailing `/`):
    /// what a configuration's `repositories[].url` names.
    pub fn url(&self) -> String {
        format!("{}{REPO_PATH}", self.server.url())
    }

    /// `…/charts/index.yaml`.
    pub fn index_url(&self) -> String {
        format!("{}/index.yaml", self.url())
    }

    /// The path of the index, `/charts/index.yaml`.
    pub fn index_path(&self) -> String {
        format!("{REPO_PATH}/index.yaml")
    }

    /// The path an archive is served at, `/charts/<name>-<version>.tgz`.
    pub fn archive_path(&self, name: &str, version: &str) -> String {
        format!("{REPO_PATH}/{}", archive_name(name, version))
    }

    /// The absolute URL of an archive.
    pub fn archive_url(&self, name: &str, version: &str) -> String {
        format!("{}{}", self.server.url(), self.archive_path(name, version))
    }

    /// Adds (or replaces) the chart archive `tgz`, named in the index the
    /// repository's default way.
    pub fn add(&self, tgz: Vec<u8>) -> anyhow::Result<RepoChart> {
        let urls = lock(&self.state).default_urls;
        self.add_with(tgz, urls)
    }

    /// Adds (or replaces) the chart archive `tgz`, named in the index by
    /// `urls`.
    pub fn add_with(&self, tgz: Vec<u8>, urls: ChartUrls) -> anyhow::Result<RepoChart> {
        let metadata = chart_metadata(&tgz)?;
        let chart = RepoChart {
            name: metadata["name"].as_str().unwrap_or_default().to_string(),
            version: metadata["version"].as_str().unwrap_or_default().to_string(),
            digest: sha256_hex(&tgz),
            metadata,
            tgz,
            urls,
        };
        let mut state = lock(&self.state);
        state
            .charts
            .retain(|c| !(c.name == chart.name && c.version == chart.version));
        state.charts.push(chart.clone());
        Ok(chart)
    }

    /// Stops serving a chart version (it leaves the index too).
    pub fn remove(&self, name: &str, version: &str) {
        lock(&self.state)
            .charts
            .retain(|c| !(c.name == name && c.version == version));
    }

    /// The charts served.
    pub fn charts(&self) -> Vec<RepoChart> {
        lock(&self.state).charts.clone()
    }

    /// The `index.yaml` served now.
    pub fn index_yaml(&self) -> String {
        index_yaml(&lock(&self.state))
    }

    /// Answers requests for `path` (e.g. [`ChartRepo::archive_path`] or
    /// [`ChartRepo::index_path`]) with `fault` from now on.
    pub fn set_fault(&self, path: &str, fault: ChartFault) {
        lock(&self.state).faults.insert(path.to_string(), fault);
    }

    /// Serves `path` normally again.
    pub fn clear_fault(&self, path: &str) {
        lock(&self.state).faults.remove(path);
    }

    /// Serves every path normally again.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Serves other bytes than the index's digest says for a chart version
    /// ([`ChartFault::Recompressed`]).
    pub fn corrupt(&self, name: &str, version: &str) {
        self.set_fault(&self.archive_path(name, version), ChartFault::Recompressed);
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RepoRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many `GET`s of `path` were answered (any status).
    pub fn gets(&self, path: &str) -> usize {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    }

    /// How many requests for `path` (any method, any status).
    pub fn request_count(&self, path: &str) -> usize {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Requests per path, all methods.
    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in &lock(&self.state).requests {
            *counts.entry(r.path.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Forgets the requests answered so far.
    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }

    /// Stops listening (connections are refused from now on).
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }
}

fn index_yaml(state: &RepoState) -> String {
    let mut entries: BTreeMap<String, Vec<&RepoChart>> = BTreeMap::new();
    for chart in &state.charts {
        entries.entry(chart.name.clone()).or_default().push(chart);
    }
    let entries: serde_json::Map<String, Value> = entries
        .into_iter()
        .map(|(name, mut charts)| {
            charts.sort_by(|a, b| compare_versions(&b.version, &a.version));
            let versions = charts
                .iter()
                .map(|chart| {
                    let mut entry = chart.metadata.as_object().cloned().unwrap_or_default();
                    let url = match chart.urls {
                        ChartUrls::Absolute => format!(
                            "http://127.0.0.1:{}{REPO_PATH}/{}",
                            state.port,
                            chart.file_name()
                        ),
                        ChartUrls::Relative => chart.file_name(),
                    };
                    entry.insert("created".into(), json!(CREATED));
                    entry.insert("digest".into(), json!(chart.digest));
                    entry.insert("urls".into(), json!([url]));
                    Value::Object(entry)
                })
                .collect();
            (name, Value::Array(versions))
        })
        .collect();
    let index = json!({
        "apiVersion": "v1",
        "entries": entries,
        "generated": CREATED,
    });
    serde_norway::to_string(&index).unwrap_or_default()
}

/// Answers `request` and records it.
fn handle(state: &Mutex<RepoState>, request: &Request) -> Response {
    let mut state = lock(state);
    let response = route(&state, &request.method, &request.path);
    state.requests.push(RepoRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        user_agent: request.header("user-agent"),
        status: response.status,
    });
    response
}

fn route(state: &RepoState, method: &str, path: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::text(405, "method not allowed\n");
    }
    let fault = state.faults.get(path).copied();
    match fault {
        Some(ChartFault::NotFound) => return Response::text(404, "not found\n"),
        Some(ChartFault::ServerError) => return Response::text(500, "injected failure\n"),
        _ => {}
    }
    let (content_type, bytes) = if path == format!("{REPO_PATH}/index.yaml") {
        ("application/x-yaml", index_yaml(state).into_bytes())
    } else if let Some(chart) = path
        .strip_prefix(REPO_PATH)
        .and_then(|f| f.strip_prefix('/'))
        .and_then(|file| state.charts.iter().find(|c| c.file_name() == file))
    {
        ("application/gzip", chart.tgz.clone())
    } else {
        return Response::text(404, "not found\n");
    };
    let bytes = match fault {
        Some(ChartFault::Recompressed) => recompress(&bytes).unwrap_or_default(),
        Some(ChartFault::Truncated) => bytes[..bytes.len() / 2].to_vec(),
        _ => bytes,
    };
    Response::new(200, content_type, bytes)
}

/// The same content gzip'd again with other settings (or, for what is not
/// gzip, the bytes with a newline appended): other bytes, still valid.
fn recompress(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut plain = Vec::new();
    if flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .is_err()
    {
        let mut changed = bytes.to_vec();
        changed.push(b'\n');
        return Ok(changed);
    }
    let mut gz = flate2::GzBuilder::new()
        .mtime(1)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&plain)?;
    Ok(gz.finish()?)
}
