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
use crate::copy::{CopyPlan, ImageJob, Origin, Platform};
use crate::image_build::Requester;
use crate::plugin::bindings::types::ImageToMirror;
use crate::plugin::configured::Configured;
use crate::plugin::v0_2::Attachment;
use crate::plugin::{Artifact, Build, Grants, Plugin, PluginError, PluginHost};
use crate::reference::{self, MirrorTarget, ReferenceError};
use crate::registry::RegistryClient;
use crate::settings::ReleaseSettings;

/// A source could not turn its section into images.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`mirror.{section}`: {detail}")]
    Reference { section: String, detail: String },
    /// A first-party plugin failed on its section (a chart that does not
    /// render, a catalog that cannot be read): the exit code says which.
    #[error("{error}")]
    Section {
        origin: Origin,
        #[source]
        error: PluginError,
    },
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

impl SourceError {
    /// A plugin's failure, said to be its section's when it serves one (a
    /// configuration the plugin finds wrong is the user's to fix, not the
    /// section's failure).
    fn failed(key: Option<&str>, error: PluginError) -> SourceError {
        match key {
            Some(key) if !matches!(error, PluginError::Config { .. }) => SourceError::Section {
                origin: Origin::from_name(key),
                error,
            },
            _ => SourceError::Plugin(error),
        }
    }
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

/// The content sources of a run, loaded and ready: the embedded first-party
/// ones, then the third-party ones the configuration's `plugins:` names.
pub struct Sources {
    host: Arc<PluginHost>,
    sources: Vec<LoadedSource>,
    registry: Option<Arc<RegistryClient>>,
    release: ReleaseSettings,
}

impl Sources {
    /// Loads the embedded content sources and the `configured` third-party
    /// ones (publishers among them are left to [`crate::publishers`]).
    /// `registry` is what plugins granted `registry` read through.
    pub async fn load(
        host: Arc<PluginHost>,
        registry: Option<Arc<RegistryClient>>,
        release: ReleaseSettings,
        configured: Vec<Configured>,
    ) -> Result<Sources, SourceError> {
        let mut sources = Vec::new();
        for (name, bytes) in crate::plugin::embedded::CONTENT_SOURCES {
            let plugin = host.load(bytes, &format!("embedded:{name}"))?;
            let info = host.info(&plugin).await?;
            // First-party plugins are trusted with what they declare; one that
            // declares `http:*` gets the hosts its settings name.
            let declared =
                Grants::parse_declared(&info.capabilities).map_err(|e| PluginError::Load {
                    plugin: plugin.origin.clone(),
                    reason: format!("it declares {e}"),
                })?;
            let grants = declared.intersect(&first_party_grants(&info.config_key, &release));
            sources.push(LoadedSource {
                name: info.name.clone(),
                plugin,
                grants,
                key: Some(info.config_key),
                config: None,
            });
        }
        for c in configured.into_iter().filter(Configured::is_content_source) {
            sources.push(LoadedSource {
                name: c.name,
                plugin: c.plugin,
                grants: c.grants,
                key: None,
                config: c.config,
            });
        }
        Ok(Sources {
            host,
            sources,
            registry,
            release,
        })
    }

    /// Builds the images the plugins asked for (see [`crate::image_build`]),
    /// reading base images through the source registry.
    pub async fn build_images(
        &self,
        builds: &[(Requester, Build)],
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
        for (requester, build) in builds {
            tracing::info!("building {} on {}", build.destination, build.base);
            out.push(crate::image_build::build(client, cache, requester, build, target).await?);
        }
        Ok(out)
    }

    /// Assembles the artifacts the plugins asked for (see
    /// [`crate::image_build::artifact`]); their blobs are already in the
    /// workspace cache.
    pub fn assemble(
        &self,
        artifacts: &[(Requester, Artifact)],
        target: &MirrorTarget,
    ) -> anyhow::Result<Vec<crate::copy::ResolvedImage>> {
        artifacts
            .iter()
            .map(|(requester, a)| crate::image_build::artifact(requester, a, target))
            .collect()
    }

    /// Asks the release plugin (`mirror.platform`) about the update graph
    /// (`oc-mirror list releases`): `query` is its `list` setting; the answer
    /// is text, a line per channel or version.
    pub async fn list_releases(&self, query: serde_json::Value) -> Result<String, SourceError> {
        let config = self.release.apply(serde_json::json!({ "list": query }));
        self.listing("platform", "release", config).await
    }

    /// Asks the operator plugin (`mirror.operators`) what a catalog offers
    /// (`oc-mirror list operators`): `query` is its `list` setting (the
    /// catalog, and a package and channel to narrow it).
    pub async fn list_operators(
        &self,
        mut query: serde_json::Value,
    ) -> Result<String, SourceError> {
        if let Some(dir) = query
            .get("catalog")
            .and_then(|c| c.as_str())
            .and_then(crate::registry::layout::local_path)
        {
            let (_, reference) = crate::registry::layout::reference_for(std::path::Path::new(dir));
            query["localReference"] = reference.into();
        }
        let config = serde_json::json!({
            "apiVersion": crate::config::ApiVersion::V2Alpha1.as_str(),
            "list": query,
        });
        self.listing("operators", "operator", config).await
    }

    /// Runs the plugin serving `key` with `config`, and returns the
    /// `listing.txt` it attaches.
    async fn listing(
        &self,
        key: &str,
        what: &str,
        config: serde_json::Value,
    ) -> Result<String, SourceError> {
        let Some(source) = self.sources.iter().find(|s| s.key.as_deref() == Some(key)) else {
            return Err(SourceError::Settings(format!(
                "this oc-mirror has no {what} plugin"
            )));
        };
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
            .ok_or_else(|| SourceError::Settings(format!("the {what} plugin returned no listing")))
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
        let mut artifacts = Vec::new();
        let mut files: BTreeMap<String, crate::metadata::FileRecord> = BTreeMap::new();
        let mut uses = Uses::new();
        for source in &self.sources {
            let Some(section) = self.section(source, config, &mirror, None)? else {
                continue;
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
                .await
                .map_err(|e| SourceError::failed(source.key.as_deref(), e))?;
            let (found, state) = (resolution.images, resolution.state);
            for (image, users) in resolution.uses {
                // Keyed as failures name images: the parsed reference, whole.
                let Ok(r) = reference::parse(&image) else {
                    continue;
                };
                let known = uses.entry(r.whole()).or_default();
                for u in users {
                    if !known.contains(&u) {
                        known.push(u);
                    }
                }
            }
            for a in resolution.attachments {
                check_attachment(&plugin.origin, &a, &attachments)?;
                attachments.push(a);
            }
            let requester = Requester {
                origin: Origin::from_name(&key),
                grants: source.grants.clone(),
            };
            builds.extend(
                resolution
                    .builds
                    .into_iter()
                    .map(|b| (requester.clone(), b)),
            );
            for a in resolution.artifacts {
                for (path, digest) in &a.files {
                    let size = std::iter::once(&a.config)
                        .chain(&a.layers)
                        .find(|b| b.digest == *digest)
                        .map_or(0, |b| b.size);
                    let record = crate::metadata::FileRecord {
                        path: path.clone(),
                        digest: digest.clone(),
                        size,
                    };
                    if let Some(other) = files.insert(path.clone(), record)
                        && other.digest != *digest
                    {
                        return Err(SourceError::Plugin(PluginError::Guest {
                            plugin: plugin.origin.clone(),
                            message: format!("two different files are to be placed at `{path}`"),
                        }));
                    }
                }
                artifacts.push((requester.clone(), a));
            }
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
            artifacts,
            files: files.into_values().collect(),
            uses,
        })
    }
}

impl Sources {
    /// The configuration a source is called with: its section of `mirror:`
    /// (as its plugin reads it), or a third party's own; `None` when the
    /// section is absent or empty. With `plan` (`oc-mirror plan`), the
    /// first-party sources that can answer without copying are asked for a
    /// plan (`plan: true`; the release plugin reads payloads only when
    /// `plan_images`).
    fn section(
        &self,
        source: &LoadedSource,
        config: &ImageSetConfiguration,
        mirror: &serde_json::Value,
        plan: Option<bool>,
    ) -> Result<Option<String>, SourceError> {
        let Some(key) = &source.key else {
            return Ok(Some(
                source.config.clone().unwrap_or_else(|| "null".to_string()),
            ));
        };
        let mut value = match mirror.get(key) {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Array(a)) if a.is_empty() => return Ok(None),
            Some(serde_json::Value::Object(o)) if o.is_empty() => return Ok(None),
            Some(v) if key == "platform" => self.release.apply(v.clone()),
            Some(v) if key == "operators" => {
                crate::sections::operators(config, v).map_err(SourceError::Settings)?
            }
            Some(v) if key == "helm" => {
                crate::sections::helm(config, v).map_err(SourceError::Settings)?
            }
            Some(v) => v.clone(),
        };
        if let (Some(images), Some(object)) = (plan, value.as_object_mut())
            && matches!(key.as_str(), "platform" | "operators" | "helm")
        {
            object.insert("plan".into(), true.into());
            if key == "platform" {
                object.insert("planImages".into(), images.into());
            }
        }
        Ok(Some(value.to_string()))
    }

    /// `oc-mirror plan`: what each content source whose section is present
    /// would mirror, from the same plugins and configuration as a run, with
    /// `blockedImages` applied; nothing is built, copied or recorded. The
    /// operator, release and helm plugins explain their choice (a `plan.json`
    /// attachment); `images` has the release plugin read the payloads to
    /// list their images.
    pub async fn plan(
        &self,
        config: &ImageSetConfiguration,
        states: &BTreeMap<String, serde_json::Value>,
        images: bool,
    ) -> Result<Vec<SectionPlan>, SourceError> {
        let mirror = serde_json::to_value(&config.mirror).map_err(|e| PluginError::Guest {
            plugin: "(host)".into(),
            message: e.to_string(),
        })?;
        let patterns: Vec<Regex> = config.blocked_patterns();
        let mut out = Vec::new();
        for source in &self.sources {
            let Some(section) = self.section(source, config, &mirror, Some(images))? else {
                continue;
            };
            let state = states
                .get(&source.name)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let resolution = self
                .host
                .resolve(
                    &source.plugin,
                    source.grants.clone(),
                    self.registry.clone(),
                    &section,
                    &state,
                )
                .await
                .map_err(|e| SourceError::failed(source.key.as_deref(), e))?;
            let explained = match resolution
                .attachments
                .iter()
                .find(|a| a.name == "plan.json")
            {
                Some(a) => {
                    Some(
                        serde_json::from_slice(&a.data).map_err(|e| PluginError::Guest {
                            plugin: source.plugin.origin.clone(),
                            message: format!("its plan is not JSON: {e}"),
                        })?,
                    )
                }
                None => None,
            };
            let mut section_plan = SectionPlan {
                key: source.key.clone().unwrap_or_else(|| "plugins".to_string()),
                plugin: source.name.clone(),
                plan: explained,
                images: Vec::new(),
                blocked: Vec::new(),
            };
            for image in resolution.images {
                match patterns.iter().find(|p| p.is_match(&image.source)) {
                    Some(p) => section_plan.blocked.push(Blocked {
                        image: image.source,
                        pattern: p.as_str().to_string(),
                    }),
                    None => section_plan.images.push(image.source),
                }
            }
            section_plan.images.sort();
            section_plan.images.dedup();
            out.push(section_plan);
        }
        Ok(out)
    }
}

/// What one content source would do (`oc-mirror plan`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionPlan {
    /// The `mirror:` key it serves (`plugins` for a third party).
    pub key: String,
    /// The plugin's name.
    pub plugin: String,
    /// What the plugin explains of its choice, when it does (operators,
    /// releases).
    pub plan: Option<serde_json::Value>,
    /// The images it would mirror, sorted (for releases, only with `images`).
    pub images: Vec<String>,
    /// Images `blockedImages` removes.
    pub blocked: Vec<Blocked>,
}

/// What needs each image, as content sources say it (`bundle x (package
/// y)`): image (parsed, whole) → users. Failures name them.
pub type Uses = BTreeMap<String, Vec<String>>;

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
    pub builds: Vec<(Requester, Build)>,
    /// Artifacts the plugins want assembled from the blobs they wrote.
    pub artifacts: Vec<(Requester, Artifact)>,
    /// Files to place where the images land (from the artifacts), by path.
    pub files: Vec<crate::metadata::FileRecord>,
    /// What needs which image.
    pub uses: Uses,
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

/// What the host grants a first-party plugin beyond what it declares: the
/// release plugin reads registries and the release endpoints' hosts; the
/// helm plugin reads registries and any host (a repository's index names
/// where its archives are, often elsewhere: GitHub releases, a CDN).
fn first_party_grants(key: &str, release: &ReleaseSettings) -> Grants {
    let mut g = Grants {
        registry: true,
        http_hosts: Vec::new(),
        any_http_host: key == "helm",
    };
    if key == "platform" {
        // Hosts of URLs that parsed: always well formed.
        g.http_hosts = Grants::parse(&release.http_capabilities())
            .map(|h| h.http_hosts)
            .unwrap_or_default();
    }
    g
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
        .map(|p| Platform {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
        })
        .collect();
    Ok(ImageJob {
        source,
        destination,
        platforms,
        origin: Origin::from_name(key),
        kind: crate::plugin::bindings::kind_from_wit(image.kind),
    })
}

/// Images blocked by `blockedImages`, with the pattern that blocked each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocked {
    pub image: String,
    pub pattern: String,
}
