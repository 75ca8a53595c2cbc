//! The plugin runtime: content sources and publishers as sandboxed WebAssembly
//! components behind the `oc-mirror:plugin` WIT contract.
//!
//! # Overview
//! A [`PluginHost`] owns one wasmtime engine, an epoch ticker and a cache of
//! compiled components. [`PluginHost::load`] checks a component (the API
//! version it was built for, the world it implements), compiles it once (or
//! loads the compiled form from the cache) and returns a [`Plugin`]. Every
//! call (`info`, `resolve`, `publish`) gets a fresh store.
//!
//! # The sandbox (defaults; see [`PluginHostConfig`])
//! - no preopened directories, no sockets, no environment, no arguments;
//! - a fixed wall clock and seeded randomness, so outputs cannot depend on
//!   when or where the plugin ran;
//! - an epoch deadline per call ([`DEFAULT_TIMEOUT`]) and a memory limit
//!   ([`DEFAULT_MEMORY_LIMIT`]);
//! - host capabilities (`registry`, `http:<host>`) only as declared by the
//!   plugin and granted by the user; an empty grant denies everything.
//!
//! A trap, a timeout, a memory limit or a denied capability ends the call
//! with an error naming the plugin and what to do; the host and the other
//! plugins are unaffected.

pub mod bindings;
pub mod cache;
pub mod configured;
pub mod embedded;
pub mod fetch;
pub mod host;
pub mod layers;
pub mod openpgp;
pub mod section;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;

use crate::registry::RegistryClient;
use bindings::types;
pub use bindings::v0_2::types as v0_2;
pub use host::{Capability, CapabilityError, Grants};
use host::{HasPluginState, PluginState};

/// Links a generated world (`$world`, e.g. `bindings::publisher::Publisher`)
/// into a fresh linker and instantiates `$plugin` in `$store`: the same two
/// steps for every world of every contract version.
macro_rules! instantiate {
    ($host:expr, $store:expr, $plugin:expr, $world:ty) => {
        async {
            let linker = $host
                .linker(|l| <$world>::add_to_linker::<_, HasPluginState>(l, |s| s))
                .map_err(wasmtime::Error::from)?;
            <$world>::instantiate_async(&mut $store, &$plugin.component, &linker).await
        }
    };
}

/// The newest contract version this host speaks (`wit/plugin@0.3.0`).
pub const API_VERSION: &str = "0.3.0";
/// Every contract version this host loads plugins for, oldest first.
pub const API_VERSIONS: &[&str] = &["0.1.0", "0.2.0", "0.3.0"];
/// Custom section in which the SDK records the contract version a plugin was built for.
pub const API_SECTION: &str = "oc-mirror:plugin-api";
/// A call whose plugin code runs longer than this is stopped: resolving a
/// section of the configuration is quick work; a loop is a bug or an attack.
/// The time the host spends working for the plugin (registry reads,
/// downloads) does not count: a channel of a hundred releases reads a
/// hundred payloads.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// A whole call, the host's work for the plugin included, is stopped after
/// this long (a server that never answers).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Memory a plugin instance may grow to: far above what resolving needs,
/// far below what would hurt the machine.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;
/// How often the epoch advances; the deadline is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A plugin that could not be loaded or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin `{plugin}` cannot be loaded: {reason}")]
    Load { plugin: String, reason: String },
    #[error(
        "plugin `{plugin}` was built for plugin API {found}, but this oc-mirror speaks {}\nhint: rebuild the plugin against oc-mirror-plugin-sdk {API_VERSION}, or use an oc-mirror that supports {found}",
        spoken()
    )]
    ApiVersion { plugin: String, found: String },
    #[error("plugin `{plugin}` is a {found}, not a {wanted}")]
    WrongWorld {
        plugin: String,
        found: &'static str,
        wanted: &'static str,
    },
    #[error(
        "plugin `{plugin}` ran longer than {limit:?} and was stopped\nhint: raise the limit with `--plugin-timeout` if the plugin is slow on purpose"
    )]
    Timeout { plugin: String, limit: Duration },
    #[error(
        "plugin `{plugin}` was stopped after {limit:?}, most of it spent waiting on servers it reads through oc-mirror\nhint: check that the registries and HTTP servers it uses answer"
    )]
    CallTimeout { plugin: String, limit: Duration },
    #[error(
        "plugin `{plugin}` tried to use more than {limit} bytes of memory and was stopped\nhint: raise the limit with `--plugin-memory-limit` if the plugin needs more on purpose"
    )]
    MemoryLimit { plugin: String, limit: usize },
    #[error(
        "plugin `{plugin}` was denied `{capability}`: {message}\nhint: grant it in the plugin's `grants` in the ImageSetConfiguration (e.g. `{capability}`) if you trust the plugin with it"
    )]
    Denied {
        plugin: String,
        capability: String,
        message: String,
    },
    #[error("plugin `{plugin}` failed: {message}")]
    Guest { plugin: String, message: String },
    /// The plugin found its configuration wrong: the user's to fix, not a
    /// failure of the content (exit code 1, whatever the section).
    #[error("plugin `{plugin}` failed: invalid configuration: {message}")]
    Config { plugin: String, message: String },
    #[error("plugin `{plugin}` crashed: {reason}")]
    Trapped { plugin: String, reason: String },
}

/// The versions this host speaks, as a sentence says them: `0.1.0, 0.2.0 and 0.3.0`.
fn spoken() -> String {
    match API_VERSIONS.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Limits and places for a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct PluginHostConfig {
    /// Where compiled components are kept (`None`: compile on every run).
    pub cache_dir: Option<PathBuf>,
    /// Longest the plugin's own code may run in one call.
    pub timeout: Duration,
    /// Longest one call may take in all, the host's work for it included.
    pub call_timeout: Duration,
    pub memory_limit: usize,
    /// What the plugins' wall clock says, in seconds since 1970: the
    /// reproducible epoch (`SOURCE_DATE_EPOCH` or 0), never the real time.
    pub epoch: u64,
}

impl Default for PluginHostConfig {
    fn default() -> Self {
        PluginHostConfig {
            cache_dir: None,
            timeout: DEFAULT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            epoch: 0,
        }
    }
}

/// Which world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    ContentSource,
    Publisher,
}

impl World {
    fn name(self) -> &'static str {
        match self {
            World::ContentSource => "content source",
            World::Publisher => "publisher",
        }
    }
}

/// Runs plugins.
pub struct PluginHost {
    engine: Engine,
    config: PluginHostConfig,
    /// Where layers read for plugins are kept (see [`PluginHost::with_blob_cache`]).
    blob_cache: Option<Arc<crate::workspace::BlobCache>>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// The contract version a plugin was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V0_1,
    V0_2,
    V0_3,
}

impl Api {
    /// `0.1.0`, `0.2.0`, `0.3.0`.
    pub fn version(self) -> &'static str {
        match self {
            Api::V0_1 => "0.1.0",
            Api::V0_2 => "0.2.0",
            Api::V0_3 => "0.3.0",
        }
    }
}

/// What a content source returned, whatever contract version it speaks
/// (a 0.1.0 plugin builds nothing and attaches nothing; only a 0.3.0 one
/// writes layers and says who needs its images).
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub images: Vec<types::ImageToMirror>,
    pub builds: Vec<Build>,
    pub artifacts: Vec<Artifact>,
    pub attachments: Vec<v0_2::Attachment>,
    /// Image reference → what needs it, in words for an error message.
    pub uses: Vec<(String, Vec<String>)>,
    /// JSON, or empty.
    pub state: String,
}

/// An image a content source asked the host to build (see
/// [`crate::image_build`]), whatever contract version it speaks.
#[derive(Debug, Clone)]
pub struct Build {
    /// `path:tag` relative to the mirror prefix, or `path` to be tagged by
    /// the built image's digest.
    pub destination: String,
    pub base: String,
    pub layers: Vec<BuildLayer>,
    /// Replaces the base's `Cmd`; empty keeps it.
    pub cmd: Vec<String>,
    /// Labels set on the config (the base's others are kept).
    pub labels: Vec<(String, String)>,
    pub kind: types::ImageKind,
}

/// An OCI artifact a content source asked the host to assemble from blobs
/// it wrote (see [`crate::image_build::artifact`]), whatever contract
/// version it speaks (0.3.0 and later).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// `path:tag` relative to the mirror prefix.
    pub destination: String,
    pub config: ArtifactBlob,
    pub layers: Vec<ArtifactBlob>,
    pub annotations: Vec<(String, String)>,
    /// Files to place where the artifact is published: relative path under
    /// the working directory, and one of the artifact's blobs.
    pub files: Vec<(String, crate::digest::Digest)>,
    pub kind: types::ImageKind,
}

/// A blob of an [`Artifact`], in the blob cache.
#[derive(Debug, Clone)]
pub struct ArtifactBlob {
    pub media_type: String,
    pub digest: crate::digest::Digest,
    pub size: u64,
    pub annotations: Vec<(String, String)>,
}

impl Artifact {
    /// A 0.3.0 artifact, its blobs looked up among those the call finished;
    /// an id it did not write, or a file path that is not a plain relative
    /// path, is the plugin's error.
    fn from_v0_3(
        a: bindings::v0_3::types::Artifact,
        written: &[layers::WrittenBlob],
    ) -> Result<Artifact, String> {
        let what = format!("artifact `{}`", a.destination);
        let blob = |b: bindings::v0_3::types::ArtifactBlob| -> Result<ArtifactBlob, String> {
            let found = written
                .iter()
                .find(|w| w.digest.as_str() == b.blob)
                .ok_or_else(|| {
                    format!(
                        "{what} names blob `{}`, which it did not write in this call",
                        b.blob
                    )
                })?;
            Ok(ArtifactBlob {
                media_type: b.media_type,
                digest: found.digest.clone(),
                size: found.size,
                annotations: b.annotations,
            })
        };
        let config = blob(a.config)?;
        let layers = a
            .layers
            .into_iter()
            .map(blob)
            .collect::<Result<Vec<_>, _>>()?;
        let mut files = Vec::new();
        for (path, id) in a.files {
            let plain = !path.is_empty()
                && path.split('/').all(|seg| {
                    !seg.is_empty()
                        && seg != "."
                        && seg != ".."
                        && seg
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
                });
            if !plain {
                return Err(format!(
                    "{what}: file `{path}` is not a relative path of [A-Za-z0-9._+-] segments"
                ));
            }
            let digest = std::iter::once(&config)
                .chain(&layers)
                .find(|b| b.digest.as_str() == id)
                .map(|b| b.digest.clone())
                .ok_or_else(|| {
                    format!("{what}: file `{path}` names `{id}`, not one of its blobs")
                })?;
            files.push((path, digest));
        }
        Ok(Artifact {
            destination: a.destination,
            config,
            layers,
            annotations: a.annotations,
            files,
            kind: a.kind,
        })
    }
}

/// A layer of a [`Build`].
#[derive(Debug, Clone)]
pub enum BuildLayer {
    /// Made from an archive the host downloads.
    Tarball(v0_2::TarballLayer),
    /// Written by the plugin during its call, already in the blob cache.
    Written(crate::layer::Layer),
}

impl Build {
    fn from_v0_2(b: v0_2::ImageBuild) -> Build {
        Build {
            destination: b.destination,
            base: b.base,
            layers: b.layers.into_iter().map(BuildLayer::Tarball).collect(),
            cmd: b.cmd,
            labels: Vec::new(),
            kind: b.kind,
        }
    }

    /// A 0.3.0 build, its written layers looked up among those the call
    /// finished (`written`); an id it did not write is the plugin's error.
    fn from_v0_3(
        b: bindings::v0_3::types::ImageBuild,
        written: &[crate::layer::Layer],
    ) -> Result<Build, String> {
        let mut layers = Vec::new();
        for l in b.layers {
            layers.push(match l {
                bindings::v0_3::types::Layer::Tarball(t) => BuildLayer::Tarball(t),
                bindings::v0_3::types::Layer::Written(id) => BuildLayer::Written(
                    written
                        .iter()
                        .find(|w| w.digest.as_str() == id)
                        .cloned()
                        .ok_or_else(|| {
                            format!(
                                "build `{}` names layer `{id}`, which it did not write in this call",
                                b.destination
                            )
                        })?,
                ),
            });
        }
        Ok(Build {
            destination: b.destination,
            base: b.base,
            layers,
            cmd: b.cmd,
            labels: b.labels,
            kind: b.kind,
        })
    }
}

/// A loaded, compiled plugin.
#[derive(Clone)]
pub struct Plugin {
    /// Where it came from (`embedded:additional-images`, a path, a reference).
    pub origin: String,
    pub world: World,
    /// The contract version it was built for.
    pub api: Api,
    /// `sha256:…` of the component bytes.
    pub digest: crate::digest::Digest,
    component: Component,
}

impl PluginHost {
    pub fn new(config: PluginHostConfig) -> Result<PluginHost, PluginError> {
        let mut c = Config::new();
        c.epoch_interruption(true);
        c.wasm_component_model(true);
        let engine = Engine::new(&c).map_err(|e| PluginError::Load {
            plugin: "(engine)".into(),
            reason: e.to_string(),
        })?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (weak, stop) = (engine.weak(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("oc-mirror-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| PluginError::Load {
                plugin: "(engine)".into(),
                reason: e.to_string(),
            })?;
        Ok(PluginHost {
            engine,
            config,
            blob_cache: None,
            stop_ticker,
        })
    }

    /// Keeps the layers plugins read files from (`registry.open-file`) in the
    /// workspace's blob cache, so that an image read and then mirrored is
    /// downloaded once.
    pub fn with_blob_cache(mut self, cache: crate::workspace::BlobCache) -> PluginHost {
        self.blob_cache = Some(Arc::new(cache));
        self
    }

    /// Checks and compiles a component (through the cache).
    pub fn load(&self, bytes: &[u8], origin: &str) -> Result<Plugin, PluginError> {
        let load_err = |reason: String| PluginError::Load {
            plugin: origin.to_string(),
            reason,
        };
        let api = match cache::api_version(bytes).as_deref() {
            Some("0.1.0") => Api::V0_1,
            Some("0.2.0") => Api::V0_2,
            Some("0.3.0") => Api::V0_3,
            Some(v) => {
                return Err(PluginError::ApiVersion {
                    plugin: origin.to_string(),
                    found: v.to_string(),
                });
            }
            None => {
                return Err(load_err(format!(
                    "it is not an oc-mirror plugin component (no `{API_SECTION}` section: build it with oc-mirror-plugin-sdk)"
                )));
            }
        };
        let digest = crate::digest::Digest::of(bytes);
        let component = cache::compile(
            &self.engine,
            bytes,
            &digest,
            self.config.cache_dir.as_deref(),
        )
        .map_err(|e| load_err(e.to_string()))?;
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let world = if exports.iter().any(|e| e == "resolve") {
            World::ContentSource
        } else if exports.iter().any(|e| e == "publish") {
            World::Publisher
        } else {
            return Err(load_err(format!(
                "it exports neither `resolve` nor `publish` (exports: {})",
                exports.join(", ")
            )));
        };
        Ok(Plugin {
            origin: origin.to_string(),
            world,
            api,
            digest,
            component,
        })
    }

    /// A fresh store for one call: no files, no sockets, no environment,
    /// deterministic clock and randomness, limits and deadline set.
    fn store(
        &self,
        plugin: &Plugin,
        grants: Grants,
        registry: Option<Arc<RegistryClient>>,
    ) -> Store<PluginState> {
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FixedClock(self.config.epoch))
            .secure_random(fixed_entropy(0x6f63_2d6d_6972_726f))
            .insecure_random(fixed_entropy(0x7273_2d6d_6972_726f))
            .insecure_random_seed(0)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.config.memory_limit)
            .instances(16)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.engine,
            PluginState::new(
                &plugin.origin,
                wasi,
                limits,
                grants,
                registry,
                self.blob_cache.clone(),
            ),
        );
        store.limiter(|s| &mut s.limits);
        // The deadline counts the plugin's own running time: when it comes,
        // the time the host spent in calls for the plugin is given back.
        let limit = self.config.timeout;
        let ticks = |d: Duration| (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks(limit));
        store.epoch_deadline_callback(move |ctx| {
            let own = ctx.data().own_time();
            if own >= limit {
                Ok(wasmtime::UpdateDeadline::Interrupt)
            } else {
                Ok(wasmtime::UpdateDeadline::Continue(ticks(limit - own)))
            }
        });
        store
    }

    fn linker<F>(&self, add: F) -> Result<Linker<PluginState>, PluginError>
    where
        F: FnOnce(&mut Linker<PluginState>) -> wasmtime::Result<()>,
    {
        let mut linker = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| PluginError::Load {
            plugin: "(linker)".into(),
            reason: e.to_string(),
        })?;
        add(&mut linker).map_err(|e| PluginError::Load {
            plugin: "(linker)".into(),
            reason: e.to_string(),
        })?;
        Ok(linker)
    }

    /// Bounds a whole call, host calls included (the epoch deadline only stops
    /// the plugin's own code; a host call waiting on a silent server would
    /// not). A call cut here surfaces as [`CallDeadline`].
    async fn deadline<T>(
        &self,
        call: impl std::future::Future<Output = wasmtime::Result<T>>,
    ) -> wasmtime::Result<T> {
        match tokio::time::timeout(self.config.call_timeout + EPOCH_TICK * 10, call).await {
            Ok(r) => r,
            Err(_) => Err(wasmtime::Error::from(CallDeadline)),
        }
    }

    /// Turns a failed call into the error a user can act on.
    fn call_error(
        &self,
        plugin: &Plugin,
        state: &PluginState,
        err: wasmtime::Error,
    ) -> PluginError {
        let name = plugin.origin.clone();
        if err.downcast_ref::<CallDeadline>().is_some() {
            return PluginError::CallTimeout {
                plugin: name,
                limit: self.config.call_timeout,
            };
        }
        if let Some(trap) = err.downcast_ref::<wasmtime::Trap>()
            && *trap == wasmtime::Trap::Interrupt
        {
            return PluginError::Timeout {
                plugin: name,
                limit: self.config.timeout,
            };
        }
        let text = format!("{err:?}");
        if text.contains("forcing trap when growing memory") || text.contains("memory limit") {
            return PluginError::MemoryLimit {
                plugin: name,
                limit: self.config.memory_limit,
            };
        }
        if let Some(capability) = state.denied.first() {
            return PluginError::Denied {
                plugin: name,
                capability: capability.clone(),
                message: "the plugin stopped after the host refused it".into(),
            };
        }
        PluginError::Trapped {
            plugin: name,
            reason: err.to_string(),
        }
    }

    /// `resolve` of a content source: its configuration section and its
    /// state from last time (JSON, or empty).
    pub async fn resolve(
        &self,
        plugin: &Plugin,
        grants: Grants,
        registry: Option<Arc<RegistryClient>>,
        config: &str,
        state: &str,
    ) -> Result<Resolution, PluginError> {
        if plugin.world != World::ContentSource {
            return Err(PluginError::WrongWorld {
                plugin: plugin.origin.clone(),
                found: plugin.world.name(),
                wanted: World::ContentSource.name(),
            });
        }
        let mut store = self.store(plugin, grants, registry);
        let result = match plugin.api {
            Api::V0_1 => {
                self.deadline(async {
                    let out =
                        instantiate!(self, store, plugin, bindings::content_source::ContentSource)
                            .await?
                            .call_resolve(&mut store, config, state)
                            .await?;
                    Ok(out.map(|(images, state)| Resolution {
                        images,
                        state,
                        ..Resolution::default()
                    }))
                })
                .await
            }
            Api::V0_2 => {
                let context = v0_2::Context {
                    state: state.to_string(),
                };
                self.deadline(async {
                    let out = instantiate!(
                        self,
                        store,
                        plugin,
                        bindings::v0_2::content_source::ContentSource
                    )
                    .await?
                    .call_resolve(&mut store, config, &context)
                    .await?;
                    Ok(out.map(|r| Resolution {
                        images: r.images,
                        builds: r.builds.into_iter().map(Build::from_v0_2).collect(),
                        artifacts: Vec::new(),
                        attachments: r.attachments,
                        uses: Vec::new(),
                        state: r.state,
                    }))
                })
                .await
            }
            Api::V0_3 => {
                let context = v0_2::Context {
                    state: state.to_string(),
                };
                self.deadline(async {
                    instantiate!(
                        self,
                        store,
                        plugin,
                        bindings::v0_3::content_source::ContentSource
                    )
                    .await?
                    .call_resolve(&mut store, config, &context)
                    .await
                })
                .await
                .map(|out| {
                    out.and_then(|r| {
                        let written = &mut store.data_mut().written;
                        let (layers, blobs) = (
                            std::mem::take(&mut written.layers),
                            std::mem::take(&mut written.blobs),
                        );
                        let checked = (|| {
                            let builds = r
                                .builds
                                .into_iter()
                                .map(|b| Build::from_v0_3(b, &layers))
                                .collect::<Result<Vec<_>, _>>()?;
                            let artifacts = r
                                .artifacts
                                .into_iter()
                                .map(|a| Artifact::from_v0_3(a, &blobs))
                                .collect::<Result<Vec<_>, _>>()?;
                            Ok::<_, String>((builds, artifacts))
                        })();
                        match checked {
                            Ok((builds, artifacts)) => Ok(Resolution {
                                images: r.images,
                                builds,
                                artifacts,
                                attachments: r.attachments,
                                uses: r.uses.into_iter().map(|u| (u.image, u.needed_by)).collect(),
                                state: r.state,
                            }),
                            Err(message) => Err(types::Error::Other(message)),
                        }
                    })
                })
            }
        };
        match result {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(self.guest_error(plugin, store.data(), e)),
            Err(e) => Err(self.call_error(plugin, store.data(), e)),
        }
    }

    /// `publish` of a publisher. A 0.1.0 publisher gets no attachments.
    pub async fn publish(
        &self,
        plugin: &Plugin,
        config: &str,
        results: &v0_2::Results,
    ) -> Result<Vec<types::OutputFile>, PluginError> {
        if plugin.world != World::Publisher {
            return Err(PluginError::WrongWorld {
                plugin: plugin.origin.clone(),
                found: plugin.world.name(),
                wanted: World::Publisher.name(),
            });
        }
        let mut store = self.store(plugin, Grants::default(), None);
        let result = match plugin.api {
            Api::V0_1 => {
                self.deadline(async {
                    instantiate!(self, store, plugin, bindings::publisher::Publisher)
                        .await?
                        .call_publish(&mut store, config, &results.mirror, &results.images)
                        .await
                })
                .await
            }
            // 0.3.0's publisher world is 0.2.0's.
            Api::V0_2 | Api::V0_3 => {
                self.deadline(async {
                    instantiate!(self, store, plugin, bindings::v0_2::publisher::Publisher)
                        .await?
                        .call_publish(&mut store, config, results)
                        .await
                })
                .await
            }
        };
        match result {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(self.guest_error(plugin, store.data(), e)),
            Err(e) => Err(self.call_error(plugin, store.data(), e)),
        }
    }

    /// What a plugin says about itself.
    pub async fn info(&self, plugin: &Plugin) -> Result<types::PluginInfo, PluginError> {
        let mut store = self.store(plugin, Grants::default(), None);
        let result = async {
            match (plugin.world, plugin.api) {
                (World::ContentSource, Api::V0_1) => {
                    instantiate!(self, store, plugin, bindings::content_source::ContentSource)
                        .await?
                        .call_info(&mut store)
                        .await
                }
                (World::ContentSource, Api::V0_2) => {
                    instantiate!(
                        self,
                        store,
                        plugin,
                        bindings::v0_2::content_source::ContentSource
                    )
                    .await?
                    .call_info(&mut store)
                    .await
                }
                (World::ContentSource, Api::V0_3) => {
                    instantiate!(
                        self,
                        store,
                        plugin,
                        bindings::v0_3::content_source::ContentSource
                    )
                    .await?
                    .call_info(&mut store)
                    .await
                }
                (World::Publisher, Api::V0_1) => {
                    instantiate!(self, store, plugin, bindings::publisher::Publisher)
                        .await?
                        .call_info(&mut store)
                        .await
                }
                (World::Publisher, Api::V0_2 | Api::V0_3) => {
                    instantiate!(self, store, plugin, bindings::v0_2::publisher::Publisher)
                        .await?
                        .call_info(&mut store)
                        .await
                }
            }
        }
        .await;
        result.map_err(|e| self.call_error(plugin, store.data(), e))
    }

    fn guest_error(&self, plugin: &Plugin, state: &PluginState, e: types::Error) -> PluginError {
        let plugin_name = plugin.origin.clone();
        match e {
            types::Error::Denied(what) => PluginError::Denied {
                plugin: plugin_name,
                capability: state.denied.first().cloned().unwrap_or(what.clone()),
                message: what,
            },
            types::Error::InvalidConfig(message) => PluginError::Config {
                plugin: plugin_name,
                message,
            },
            types::Error::NotFound(m) => PluginError::Guest {
                plugin: plugin_name,
                message: format!("not found: {m}"),
            },
            types::Error::Upstream(m) => PluginError::Guest {
                plugin: plugin_name,
                message: format!("upstream failure: {m}"),
            },
            types::Error::Other(m) => PluginError::Guest {
                plugin: plugin_name,
                message: m,
            },
        }
    }
}

/// A whole call ran past [`PluginHostConfig::call_timeout`].
#[derive(Debug, thiserror::Error)]
#[error("the call ran past its deadline")]
struct CallDeadline;

/// A wall clock stuck at the reproducible epoch (`SOURCE_DATE_EPOCH` or 0).
struct FixedClock(u64);

impl wasmtime_wasi::HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(self.0)
    }
}

/// Bytes the plugin's "random" numbers cycle through: fixed, so plugins get
/// no entropy from the host and their outputs are reproducible.
fn fixed_entropy(seed: u64) -> wasmtime_wasi::Deterministic {
    let mut x = seed;
    let bytes = (0..256)
        .map(|_| {
            // splitmix64, one byte per step
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect();
    wasmtime_wasi::Deterministic::new(bytes)
}
