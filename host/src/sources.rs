//! Content sources: turn sections of the ImageSetConfiguration into images.
//!
//! Each section of `mirror:` is served by a content-source plugin (a sandboxed
//! WebAssembly component, see [`crate::plugin`]) that answers "which images,
//! going where?". The first-party plugins are embedded in the binary
//! ([`crate::plugin::embedded`]). The host then applies `blockedImages` to
//! whatever the plugins returned, so that no plugin can bypass it.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use crate::config::ImageSetConfiguration;
use crate::copy::{CopyPlan, ImageJob};
use crate::plugin::bindings::types::ImageToMirror;
use crate::plugin::v0_2::{Attachment, ImageBuild};
use crate::plugin::{Grants, Plugin, PluginError, PluginHost};
use crate::reference::{self, MirrorTarget, ReferenceError};
use crate::registry::RegistryClient;

/// A source could not turn its section into images.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`mirror.{section}`: {detail}")]
    Reference { section: String, detail: String },
    #[error(
        "`mirror.{section}` is not supported yet by this oc-mirror; it is parsed and validated, but nothing is mirrored for it\nhint: remove the section, or mirror those images with `additionalImages`"
    )]
    Unsupported { section: &'static str },
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// A content source of a run: which section (or explicit config) it serves.
struct LoadedSource {
    /// The plugin's own name (its state is kept under it).
    name: String,
    plugin: Plugin,
    grants: Grants,
    /// The `mirror:` key it serves (first-party), or `None` for a third
    /// party, whose configuration is `config`.
    key: Option<String>,
    config: Option<String>,
}

/// A publisher of a run, with its configuration (third parties).
pub struct LoadedPublisher {
    pub name: String,
    pub plugin: Plugin,
    /// `None` for first-party publishers, whose configuration the host makes.
    pub config: Option<String>,
}

/// The plugins of a run, loaded and ready: the embedded first-party ones,
/// then those the configuration's `plugins:` names.
pub struct Sources {
    host: Arc<PluginHost>,
    sources: Vec<LoadedSource>,
    publishers: Vec<LoadedPublisher>,
    registry: Option<Arc<RegistryClient>>,
    release: ReleaseSettings,
}

impl Sources {
    /// Loads the embedded plugins and the third-party ones in `specs`.
    /// `registry` is what plugins granted `registry` read through (and where
    /// `image:` plugins are pulled from).
    pub async fn load(
        host: Arc<PluginHost>,
        registry: Option<Arc<RegistryClient>>,
        specs: &[crate::config::PluginSpec],
    ) -> Result<Sources, SourceError> {
        let release = ReleaseSettings::from_env()?;
        let mut sources = Vec::new();
        let mut publishers = Vec::new();
        for (name, bytes) in crate::plugin::embedded::CONTENT_SOURCES {
            let plugin = host.load(bytes, &format!("embedded:{name}"))?;
            let info = host.info(&plugin).await?;
            // First-party plugins are trusted with what they declare; one that
            // declares `http:*` gets the hosts its settings name.
            let grants = Grants::from_capabilities(&info.capabilities)
                .intersect(&first_party_grants(&info.config_key, &release));
            sources.push(LoadedSource {
                name: info.name.clone(),
                plugin,
                grants,
                key: Some(info.config_key),
                config: None,
            });
        }
        for (name, bytes) in crate::plugin::embedded::PUBLISHERS {
            let plugin = host.load(bytes, &format!("embedded:{name}"))?;
            publishers.push(LoadedPublisher {
                name: name.to_string(),
                plugin,
                config: None,
            });
        }
        for (i, spec) in specs.iter().enumerate() {
            let location = spec
                .path
                .clone()
                .or_else(|| spec.image.clone())
                .unwrap_or_default();
            let third = |message: String| {
                SourceError::Plugin(PluginError::Load {
                    plugin: location.clone(),
                    reason: message,
                })
            };
            let bytes = match &registry {
                Some(client) => crate::plugin::fetch::plugin_bytes(&location, client).await,
                None => Err(anyhow::anyhow!("no registry access in this workflow")),
            }
            .map_err(|e| third(format!("{e:#}")))?;
            if let Some(pin) = &spec.digest {
                let actual = crate::manifest::sha256_digest(&bytes);
                if &actual != pin {
                    return Err(third(format!(
                        "its digest is `{actual}`, but `plugins[{i}].digest` pins `{pin}`"
                    )));
                }
            }
            let plugin = host.load(&bytes, &location)?;
            let info = host.info(&plugin).await?;
            let config = spec.config.as_ref().map(|c| c.to_string());
            match plugin.world {
                crate::plugin::World::ContentSource => {
                    let grants = Grants::from_capabilities(&info.capabilities)
                        .intersect(&Grants::from_capabilities(&spec.grants));
                    sources.push(LoadedSource {
                        name: info.name.clone(),
                        plugin,
                        grants,
                        key: None,
                        config,
                    });
                }
                crate::plugin::World::Publisher => publishers.push(LoadedPublisher {
                    name: info.name,
                    plugin,
                    config,
                }),
            }
        }
        Ok(Sources {
            host,
            sources,
            publishers,
            registry,
            release,
        })
    }

    /// Builds the graph-data image on `reference` instead of UBI 9
    /// (`--graph-base-image`).
    pub fn set_graph_base_image(&mut self, reference: &str) {
        self.release.graph_base_image = reference.to_string();
    }

    /// The publishers, first-party first.
    pub fn publishers(&self) -> &[LoadedPublisher] {
        &self.publishers
    }

    /// Builds the images the plugins asked for (see [`crate::image_build`]),
    /// reading base images through the source registry.
    pub async fn build_images(
        &self,
        builds: &[(Grants, ImageBuild)],
        cache: &crate::workspace::BlobCache,
        target: &MirrorTarget,
    ) -> anyhow::Result<Vec<crate::copy::ResolvedImage>> {
        let mut out = Vec::new();
        if builds.is_empty() {
            return Ok(out);
        }
        let Some(client) = &self.registry else {
            anyhow::bail!("images cannot be built without access to the source registries");
        };
        for (grants, build) in builds {
            tracing::info!("building {} on {}", build.destination, build.base);
            out.push(crate::image_build::build(client, cache, grants, build, target).await?);
        }
        Ok(out)
    }

    /// Asks the release plugin (`mirror.platform`) about the update graph
    /// (`oc-mirror list releases`): `query` is its `list` setting; the answer
    /// is text, a line per channel or version.
    pub async fn list_releases(&self, query: serde_json::Value) -> Result<String, SourceError> {
        let Some(source) = self
            .sources
            .iter()
            .find(|s| s.key.as_deref() == Some("platform"))
        else {
            return Err(SourceError::Settings(
                "this oc-mirror has no release plugin".into(),
            ));
        };
        let config = self.release.apply(serde_json::json!({ "list": query }));
        let resolution = self
            .host
            .resolve(
                &source.plugin,
                source.grants.clone(),
                self.registry.clone(),
                &config.to_string(),
                "",
            )
            .await?;
        resolution
            .attachments
            .into_iter()
            .find(|a| a.name == "listing.txt")
            .map(|a| String::from_utf8_lossy(&a.data).into_owned())
            .ok_or_else(|| SourceError::Settings("the release plugin returned no listing".into()))
    }

    /// The plugin runtime.
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Runs every plugin whose section is present and applies `blockedImages`:
    /// an unanchored regular expression that blocks an image when it matches
    /// its source or its destination (as oc-mirror v2 does). Duplicates (same
    /// source and destination) are kept once. `states` is what each plugin
    /// returned last time (by plugin name); the new states come back in the
    /// [`Planned`].
    pub async fn build_plan(
        &self,
        config: &ImageSetConfiguration,
        target: &MirrorTarget,
        states: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Planned, SourceError> {
        if let Some(section) = unsupported_sections(config).into_iter().next() {
            return Err(SourceError::Unsupported { section });
        }
        let mirror = serde_json::to_value(&config.mirror).map_err(|e| PluginError::Guest {
            plugin: "(host)".into(),
            message: e.to_string(),
        })?;
        let patterns: Vec<Regex> = config.blocked_patterns();
        let mut images: Vec<ImageJob> = Vec::new();
        let mut blocked = Vec::new();
        let mut new_states = BTreeMap::new();
        let mut attachments: Vec<Attachment> = Vec::new();
        let mut builds = Vec::new();
        for source in &self.sources {
            let section = match (&source.key, &source.config) {
                (Some(key), _) => match mirror.get(key) {
                    None | Some(serde_json::Value::Null) => continue,
                    Some(serde_json::Value::Array(a)) if a.is_empty() => continue,
                    Some(serde_json::Value::Object(o)) if o.is_empty() => continue,
                    Some(v) if key == "platform" => self.release.apply(v.clone()).to_string(),
                    Some(v) => v.to_string(),
                },
                (None, Some(config)) => config.clone(),
                (None, None) => "null".to_string(),
            };
            let key = source.key.clone().unwrap_or_else(|| "plugins".to_string());
            let (plugin, grants) = (&source.plugin, &source.grants);
            let state = states
                .get(&source.name)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let resolution = self
                .host
                .resolve(
                    plugin,
                    grants.clone(),
                    self.registry.clone(),
                    &section,
                    &state,
                )
                .await?;
            let (found, state) = (resolution.images, resolution.state);
            for a in resolution.attachments {
                check_attachment(&plugin.origin, &a, &attachments)?;
                attachments.push(a);
            }
            builds.extend(
                resolution
                    .builds
                    .into_iter()
                    .map(|b| (source.grants.clone(), b)),
            );
            if !state.trim().is_empty() {
                match serde_json::from_str(&state) {
                    Ok(value) => {
                        new_states.insert(source.name.clone(), value);
                    }
                    Err(e) => tracing::warn!(
                        plugin = %plugin.origin,
                        "the state it returned is not JSON and is dropped: {e}"
                    ),
                }
            }
            for image in found {
                let job = to_job(&key, &plugin.origin, image, target)?;
                let (src, dst) = (job.source.whole(), job.destination.whole());
                if let Some(p) = patterns
                    .iter()
                    .find(|p| p.is_match(&src) || p.is_match(&dst))
                {
                    blocked.push(Blocked {
                        image: src,
                        pattern: p.as_str().to_string(),
                    });
                    continue;
                }
                if !images
                    .iter()
                    .any(|j| j.source == job.source && j.destination == job.destination)
                {
                    images.push(job);
                }
            }
        }
        Ok(Planned {
            plan: CopyPlan { images },
            blocked,
            states: new_states,
            attachments,
            builds,
        })
    }
}

/// What the content sources asked for.
pub struct Planned {
    pub plan: CopyPlan,
    /// Images `blockedImages` removed.
    pub blocked: Vec<Blocked>,
    /// Each plugin's new state, by plugin name (for the next run).
    pub states: BTreeMap<String, serde_json::Value>,
    /// Files the plugins want carried to the publishers.
    pub attachments: Vec<Attachment>,
    /// Images the plugins want built, with the grants of the plugin that
    /// asked (a build downloads only from hosts that plugin may reach).
    pub builds: Vec<(Grants, ImageBuild)>,
}

/// Largest attachment accepted from a plugin.
pub const MAX_ATTACHMENT: usize = 1 << 20;

/// An attachment must have a safe, unique name and a modest size.
fn check_attachment(
    plugin: &str,
    a: &Attachment,
    earlier: &[Attachment],
) -> Result<(), SourceError> {
    let bad = |detail: String| {
        SourceError::Plugin(PluginError::Guest {
            plugin: plugin.to_string(),
            message: detail,
        })
    };
    let name_ok = !a.name.is_empty()
        && a.name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if !name_ok {
        return Err(bad(format!(
            "attachment name `{}` is not a relative path of [A-Za-z0-9._-] segments",
            a.name
        )));
    }
    if a.data.len() > MAX_ATTACHMENT {
        return Err(bad(format!(
            "attachment `{}` is {} bytes, above the {MAX_ATTACHMENT}-byte limit",
            a.name,
            a.data.len()
        )));
    }
    if earlier.iter().any(|e| e.name == a.name) {
        return Err(bad(format!(
            "attachment `{}` was already returned (by this plugin or another)",
            a.name
        )));
    }
    Ok(())
}

/// What the release plugin (`mirror.platform`) needs from the host: where
/// the update service and the signature store are, which key signs
/// releases, and the graph image's base. From the environment, as oc-mirror
/// reads it (`UPDATE_URL_OVERRIDE`, `OCP_SIGNATURE_URL`,
/// `OCP_SIGNATURE_VERIFICATION_PK`), and `--graph-base-image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSettings {
    /// The OpenShift update service's graph endpoint.
    pub update_url: String,
    /// OKD's (`UPDATE_URL_OVERRIDE` moves both, as oc-mirror v1 did).
    pub okd_update_url: String,
    /// The signature store's base URL, ending in `/`.
    pub signature_url: String,
    /// The armored public key(s) to trust instead of Red Hat's release key.
    pub signature_key: Option<String>,
    /// The base of the graph-data image.
    pub graph_base_image: String,
}

impl ReleaseSettings {
    pub const OCP_UPDATE_URL: &str = "https://api.openshift.com/api/upgrades_info/v1/graph";
    pub const OKD_UPDATE_URL: &str = "https://origin-release.ci.openshift.org/graph";
    pub const SIGNATURE_URL: &str =
        "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/";
    pub const GRAPH_BASE_IMAGE: &str = "registry.access.redhat.com/ubi9/ubi:latest";

    /// The settings for this run: defaults, then the environment.
    pub fn from_env() -> Result<ReleaseSettings, SourceError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (update_url, okd_update_url) = match var("UPDATE_URL_OVERRIDE") {
            Some(url) => (url.clone(), url),
            None => (Self::OCP_UPDATE_URL.into(), Self::OKD_UPDATE_URL.into()),
        };
        let mut signature_url = var("OCP_SIGNATURE_URL").unwrap_or(Self::SIGNATURE_URL.into());
        if !signature_url.ends_with('/') {
            signature_url.push('/');
        }
        let signature_key = match var("OCP_SIGNATURE_VERIFICATION_PK") {
            None => None,
            Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                SourceError::Settings(format!(
                    "OCP_SIGNATURE_VERIFICATION_PK names `{path}`, which cannot be read: {e}\nhint: point it at an ASCII-armored OpenPGP public key file, or unset it to trust Red Hat's release key"
                ))
            })?),
        };
        Ok(ReleaseSettings {
            update_url,
            okd_update_url,
            signature_url,
            signature_key,
            graph_base_image: Self::GRAPH_BASE_IMAGE.into(),
        })
    }

    /// `http:host[:port]` of every endpoint, for the release plugin's grants
    /// (the graph-data tarball is on the update service's host).
    fn grants(&self) -> Vec<String> {
        let mut out = Vec::new();
        for url in [&self.update_url, &self.okd_update_url, &self.signature_url] {
            if let Ok(u) = reqwest::Url::parse(url)
                && let Some(host) = u.host_str()
            {
                let grant = match u.port() {
                    Some(p) => format!("http:{host}:{p}"),
                    None => format!("http:{host}"),
                };
                if !out.contains(&grant) {
                    out.push(grant);
                }
            }
        }
        out
    }

    /// The `platform` section with these settings added.
    fn apply(&self, mut section: serde_json::Value) -> serde_json::Value {
        if let Some(object) = section.as_object_mut() {
            object.insert("updateUrl".into(), self.update_url.clone().into());
            object.insert("okdUpdateUrl".into(), self.okd_update_url.clone().into());
            object.insert("signatureUrl".into(), self.signature_url.clone().into());
            object.insert(
                "graphBaseImage".into(),
                self.graph_base_image.clone().into(),
            );
            if let Some(key) = &self.signature_key {
                object.insert("signatureKey".into(), key.clone().into());
            }
        }
        section
    }
}

/// What the host grants a first-party plugin beyond what it declares: the
/// release plugin reads registries and the release endpoints' hosts.
fn first_party_grants(key: &str, release: &ReleaseSettings) -> Grants {
    let mut caps = vec!["registry".to_string()];
    if key == "platform" {
        caps.extend(release.grants());
    }
    Grants::from_capabilities(&caps)
}

/// The configuration key a plugin serves, as the `'static` origin recorded
/// with each image (first-party keys; a third party's key reads `plugin`).
fn origin_of(key: &str) -> &'static str {
    match key {
        "additionalImages" => "additionalImages",
        "platform" => "platform",
        "operators" => "operators",
        "helm" => "helm",
        _ => "plugin",
    }
}

/// An image a plugin asked for, placed in the mirror.
fn to_job(
    key: &str,
    plugin: &str,
    image: ImageToMirror,
    target: &MirrorTarget,
) -> Result<ImageJob, SourceError> {
    let bad = |text: &str, e: ReferenceError| SourceError::Reference {
        section: key.to_string(),
        detail: format!("plugin `{plugin}` returned `{text}`: {e}"),
    };
    let source = reference::parse(&image.source).map_err(|e| bad(&image.source, e))?;
    // A hint is `path` or `path:tag` under the mirror prefix.
    let (repo, tag) = match image.destination_hint.as_deref() {
        None => (None, None),
        Some(hint) => match hint.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((path, tag)) => (Some(path.to_string()), Some(tag.to_string())),
            None => (Some(hint.to_string()), None),
        },
    };
    let destination = target.destination(&source, repo.as_deref(), tag.as_deref());
    let platforms = image
        .platforms
        .into_iter()
        .map(|p| crate::config::PlatformSpec {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
        })
        .collect();
    Ok(ImageJob {
        source,
        destination,
        platforms,
        origin: origin_of(key),
        kind: image.kind,
    })
}

/// Sections that are parsed but have no source yet; asking for them is an
/// error rather than a silent no-op, so nobody believes they were mirrored.
fn unsupported_sections(config: &ImageSetConfiguration) -> Vec<&'static str> {
    let m = &config.mirror;
    let mut out = Vec::new();
    if !m.operators.is_empty() {
        out.push("operators");
    }
    if m.helm
        .as_ref()
        .is_some_and(|h| !h.repositories.is_empty() || !h.local.is_empty())
    {
        out.push("helm");
    }
    out
}

/// Images blocked by `blockedImages`, with the pattern that blocked each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub image: String,
    pub pattern: String,
}

/// `mapping.txt` for a plan: one `docker://SOURCE=docker://DESTINATION` line per image, sorted.
pub fn mapping(plan: &CopyPlan) -> String {
    mapping_text(plan.images.iter().map(|j| (&j.source, &j.destination)))
}

/// `mapping.txt` for source/destination pairs: sorted, without duplicates.
pub fn mapping_text<'a>(
    pairs: impl Iterator<
        Item = (
            &'a crate::reference::Reference,
            &'a crate::reference::Reference,
        ),
    >,
) -> String {
    let mut lines: Vec<String> = pairs
        .map(|(s, d)| format!("docker://{}=docker://{}", s.whole(), d.whole()))
        .collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
