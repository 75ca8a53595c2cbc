//! Content source for `mirror.helm` of the ImageSetConfiguration: Helm
//! charts from chart repositories (HTTP `index.yaml` ones and OCI ones) and
//! local charts, the images they run, and the charts themselves.
//!
//! For each chart version the plugin fetches the archive ([`repo`]: checked
//! against the index's digest; an OCI chart through the host's registry
//! client; a local chart handed over by the host as `archive`), loads it
//! ([`chart`], [`archive`]), renders it as Helm renders it for oc-mirror
//! ([`render`], on our own Go template engine, `gotemplate`) and reads the
//! images of every rendered document ([`images`]). It asks for:
//!
//! - every image found (kind `generic`, origin `helm`), saying which chart
//!   version and template needs it;
//! - the chart as an OCI artifact with Helm's media types, written through
//!   the host's blob writer (`<repository name>/<chart>:<version>` for an
//!   HTTP repository or a local chart, the source path for an OCI one), with
//!   the archive placed at `helm/charts/<chart>-<version>.tgz` where it is
//!   published.
//!
//! The config is the section as the host serializes it plus `apiVersion`
//! and, per local chart, `archive` (its bytes, base64). `plan` answers
//! `oc-mirror plan` with a `plan.json` attachment (per chart version, each
//! image and the template it came from) and the images; nothing is written.
//! A chart that fails to render fails the run, naming chart, version,
//! template and line.

pub mod archive;
pub mod chart;
pub mod images;
pub mod render;
pub mod repo;
pub mod values;

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use oc_mirror_plugin_sdk::images::BlobWriter;
use oc_mirror_plugin_sdk::{
    Artifact, ArtifactBlob, Attachment, ContentSource, Error, ImageKind, ImageToMirror, ImageUse,
    Platform, PlatformSpec, PluginInfo, Resolution, log,
};
use serde::{Deserialize, Serialize};

use chart::Chart;

/// The ImageSetConfiguration key this plugin serves, under `mirror:`.
const CONFIG_KEY: &str = "helm";
/// Helm's media type of a chart's config (its Chart.yaml as JSON).
pub const CHART_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Where published chart archives go, under the working directory.
pub const CHARTS_DIR: &str = "helm/charts";

/// The plugin's configuration: the `helm` section and what the host adds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub repositories: Vec<RepositoryConfig>,
    #[serde(default)]
    pub local: Vec<LocalConfig>,
    /// `oc-mirror plan`: say what would be mirrored, write nothing.
    #[serde(default)]
    pub plan: bool,
}

/// `repositories[]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryConfig {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub charts: Vec<ChartConfig>,
}

/// `repositories[].charts[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartConfig {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub image_paths: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<PlatformSpec>,
}

/// `local[]`, with the archive the host read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalConfig {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub image_paths: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<PlatformSpec>,
    /// The chart's bytes (a `.tgz`, or a tar of a directory), base64.
    #[serde(default)]
    pub archive: Option<String>,
}

fn platforms(list: &[PlatformSpec]) -> Vec<Platform> {
    list.iter().map(PlatformSpec::to_platform).collect()
}

/// A chart version to render: its archive and where it goes.
struct Fetched {
    /// Where it came from, for the plan and messages (`repo/chart`, a path).
    source: String,
    /// Its place in the mirror, relative to the prefix, without tag; for a
    /// local chart, empty (it goes under its configured name).
    destination: String,
    /// A local chart's configured name.
    local_name: Option<String>,
    /// The archive (gzip'd tar, or a plain tar for a local directory).
    archive: Vec<u8>,
    image_paths: Vec<String>,
    platforms: Vec<Platform>,
}

/// What one chart version gives: its images, and the chart itself.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartPlan {
    pub chart: String,
    pub version: String,
    pub source: String,
    /// In the mirror, relative to the prefix: `path:tag`.
    pub destination: String,
    /// Each image and the template it came from.
    pub images: Vec<PlanImage>,
    pub warnings: Vec<String>,
}

/// An image of a chart version.
#[derive(Debug, Serialize)]
pub struct PlanImage {
    pub image: String,
    pub template: String,
}

/// The media type of the plan attachment.
pub const PLAN_MEDIA_TYPE: &str = "application/vnd.oc-mirror.plan+json";

/// Renders a chart and finds its images. `what` names it in errors.
pub fn discover(
    chart: Chart,
    image_paths: &[String],
    what: &str,
) -> Result<images::Discovery, Error> {
    let paths = image_paths
        .iter()
        .map(|p| {
            images::Path::parse(p)
                .map_err(|e| Error::InvalidConfig(format!("{what}: imagePaths `{p}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The chart's fault, not the configuration's: the helm bit of the exit code.
    let rendered =
        render::render(chart).map_err(|e| Error::Other(format!("{what} does not render: {e}")))?;
    let mut discovery = images::Discovery::default();
    for r in &rendered {
        if r.name.ends_with(".txt") {
            continue; // NOTES.txt: text for the user, not manifests
        }
        discovery.add_rendered(&r.name, &r.text, &paths);
    }
    Ok(discovery)
}

/// Fetches the chart versions a repository entry names, handing each to
/// `take` as soon as it is fetched (so that one archive at a time is held,
/// however many versions a repository has).
fn fetch_repository(
    repository: &RepositoryConfig,
    take: &mut dyn FnMut(Fetched) -> Result<(), Error>,
) -> Result<(), Error> {
    if let Some(oci) = repo::oci_repository(&repository.url) {
        if repository.charts.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "helm repository `{}`: an OCI repository ({}) cannot list its charts: name them under `charts`",
                repository.name, repository.url
            )));
        }
        for c in &repository.charts {
            let repo_ref = format!("{oci}/{}", c.name);
            let version = match &c.version {
                Some(v) => v.clone(),
                None => repo::oci_newest(&repo_ref)?,
            };
            let archive = repo::oci_download(&format!("{repo_ref}:{}", repo::oci_tag(&version)))?;
            let path = repo_ref
                .split_once('/')
                .map_or(repo_ref.as_str(), |(_, p)| p);
            take(Fetched {
                source: format!("oci://{repo_ref}"),
                destination: path.to_string(),
                local_name: None,
                archive,
                image_paths: c.image_paths.clone(),
                platforms: platforms(&c.platforms),
            })?;
        }
        return Ok(());
    }
    let index = repo::fetch_index(&repository.url)?;
    let wanted: Vec<(&repo::Entry, ChartConfig)> = if repository.charts.is_empty() {
        index
            .everything()
            .into_iter()
            .map(|e| (e, ChartConfig::default()))
            .collect()
    } else {
        repository
            .charts
            .iter()
            .map(|c| {
                index
                    .find(&c.name, c.version.as_deref())
                    .map(|e| (e, c.clone()))
                    .map_err(|e| {
                        Error::NotFound(format!(
                            "helm repository `{}`: {}",
                            repository.name,
                            text(&e)
                        ))
                    })
            })
            .collect::<Result<_, _>>()?
    };
    for (entry, c) in wanted {
        let archive = repo::download(&repository.url, entry)?;
        take(Fetched {
            source: format!("{}/{}", repository.url.trim_end_matches('/'), entry.name),
            destination: format!("{}/{}", path_segment(&repository.name), entry.name),
            local_name: None,
            archive,
            image_paths: c.image_paths.clone(),
            platforms: platforms(&c.platforms),
        })?;
    }
    Ok(())
}

/// A repository's name as a mirror path segment (lower case; other
/// characters than `[a-z0-9._-]` as `-`).
fn path_segment(name: &str) -> String {
    let s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if s.is_empty() { "charts".into() } else { s }
}

fn text(e: &Error) -> String {
    match e {
        Error::InvalidConfig(m)
        | Error::NotFound(m)
        | Error::Upstream(m)
        | Error::Denied(m)
        | Error::Other(m) => m.clone(),
    }
}

fn fetch_local(local: &LocalConfig) -> Result<Fetched, Error> {
    let archive = local
        .archive
        .as_deref()
        .ok_or_else(|| {
            Error::Other(format!(
                "helm local chart `{}`: the host gave no archive for `{}`",
                local.name, local.path
            ))
        })
        .and_then(|a| {
            base64::engine::general_purpose::STANDARD
                .decode(a)
                .map_err(|e| Error::Other(format!("helm local chart `{}`: {e}", local.name)))
        })?;
    Ok(Fetched {
        source: local.path.clone(),
        destination: String::new(),
        local_name: Some(local.name.clone()),
        archive,
        image_paths: local.image_paths.clone(),
        platforms: platforms(&local.platforms),
    })
}

/// The chart archive as Helm ships it: gzip'd (a local directory comes as a
/// plain tar; gzip'd here with no name and no time, so the same files give
/// the same bytes).
fn gzipped(archive: Vec<u8>) -> Result<Vec<u8>, Error> {
    if archive::is_gzip(&archive) {
        return Ok(archive);
    }
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&archive)
        .and_then(|_| gz.finish())
        .map_err(|e| Error::Other(format!("gzip: {e}")))
}

fn blob(
    media_type: &str,
    data: &[u8],
    annotations: Vec<(String, String)>,
) -> Result<ArtifactBlob, Error> {
    let mut w = BlobWriter::new();
    w.write_all_bytes(data)?;
    Ok(ArtifactBlob {
        media_type: media_type.into(),
        blob: w.finish()?,
        annotations,
    })
}

/// The chart as an OCI artifact as `helm push` makes it.
fn chart_artifact(chart: &Chart, archive: &[u8], destination: &str) -> Result<Artifact, Error> {
    let config =
        serde_json::to_vec(&chart.raw_metadata).map_err(|e| Error::Other(e.to_string()))?;
    let config = blob(CHART_CONFIG, &config, Vec::new())?;
    let layer = blob(repo::CHART_LAYER, archive, Vec::new())?;
    let m = &chart.metadata;
    let mut annotations = vec![
        ("org.opencontainers.image.title".to_string(), m.name.clone()),
        (
            "org.opencontainers.image.version".to_string(),
            m.version.clone(),
        ),
    ];
    if let Some(d) = chart
        .raw_metadata
        .get("description")
        .and_then(|d| d.as_str())
    {
        annotations.push(("org.opencontainers.image.description".into(), d.into()));
    }
    let file = format!("{CHARTS_DIR}/{}-{}.tgz", m.name, m.version);
    Ok(Artifact {
        destination: format!("{destination}:{}", repo::oci_tag(&m.version)),
        files: vec![(file, layer.blob.clone())],
        config,
        layers: vec![layer],
        annotations,
        kind: ImageKind::Generic,
    })
}

/// What the chart versions give, one chart at a time.
#[derive(Default)]
struct Found {
    /// `oc-mirror plan`: no artifacts.
    plan: bool,
    resolution: Resolution,
    plans: Vec<ChartPlan>,
    uses: BTreeMap<String, Vec<String>>,
}

impl Found {
    /// Loads, renders and reads one chart version, and asks for its images
    /// and (unless planning) for the chart itself.
    fn add(&mut self, f: Fetched) -> Result<(), Error> {
        let files = archive::unpack(&f.archive, &f.source)?;
        let chart = Chart::load(&files, &f.source)?;
        drop(files);
        let (name, version) = (chart.metadata.name.clone(), chart.metadata.version.clone());
        let what = format!("chart {name} {version}");
        let destination = match &f.local_name {
            Some(local) => format!("{}/{name}", path_segment(local)),
            None => f.destination.clone(),
        };
        if !self.plan {
            let archive = gzipped(f.archive)?;
            self.resolution
                .artifacts
                .push(chart_artifact(&chart, &archive, &destination)?);
        }
        let found = discover(chart, &f.image_paths, &what)?;
        for w in &found.warnings {
            log::warn(&format!("{what}: {w}"));
        }
        let mut plan = ChartPlan {
            chart: name.clone(),
            version: version.clone(),
            source: f.source.clone(),
            destination: format!("{destination}:{}", repo::oci_tag(&version)),
            warnings: found.warnings.clone(),
            ..ChartPlan::default()
        };
        for image in &found.images {
            self.resolution.images.push(ImageToMirror {
                source: image.reference.clone(),
                destination_hint: None,
                kind: ImageKind::Generic,
                platforms: f.platforms.clone(),
            });
            let user = format!("{what} ({})", image.template);
            let users = self.uses.entry(image.reference.clone()).or_default();
            if !users.contains(&user) {
                users.push(user);
            }
            plan.images.push(PlanImage {
                image: image.reference.clone(),
                template: image.template.clone(),
            });
        }
        log::info(&format!("{what}: {} images", found.images.len()));
        self.plans.push(plan);
        Ok(())
    }
}

/// The plugin.
pub struct Helm;

impl ContentSource for Helm {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "helm".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: CONFIG_KEY.into(),
            capabilities: vec!["registry".into(), "http:*".into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let config: Config = oc_mirror_plugin_sdk::config(config)?;
        let mut found = Found {
            plan: config.plan,
            ..Found::default()
        };
        for repository in &config.repositories {
            fetch_repository(repository, &mut |f| found.add(f))?;
        }
        for local in &config.local {
            found.add(fetch_local(local)?)?;
        }
        let Found {
            mut resolution,
            plans,
            uses,
            ..
        } = found;
        resolution.uses = uses
            .into_iter()
            .map(|(image, needed_by)| ImageUse { image, needed_by })
            .collect();
        if config.plan {
            let data = serde_json::to_vec(&serde_json::json!({ "charts": plans }))
                .map_err(|e| Error::Other(e.to_string()))?;
            return Ok(Resolution {
                images: resolution.images,
                attachments: vec![Attachment {
                    name: "plan.json".into(),
                    media_type: PLAN_MEDIA_TYPE.into(),
                    data,
                }],
                ..Resolution::default()
            });
        }
        Ok(resolution)
    }
}

oc_mirror_plugin_sdk::export_content_source!(Helm);
