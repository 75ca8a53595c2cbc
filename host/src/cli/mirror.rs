//! `oc-mirror -c ISC [--workspace|--from] DESTINATION`: the mirror workflows.
//!
//! Resolves the flags into settings, then runs the workflow: read the config,
//! ask the content sources for images, open the workspace, copy (or, with
//! `--dry-run`, only plan), write `mapping.txt`, print a summary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tracing::{info, warn};

use super::reporters::{self, Progress, human_bytes};
use super::{EXIT_ADDITIONAL_IMAGES, Failure};
use crate::copy::{Concurrency, CopyEngine, CopyReport, ImageStatus, MAX_PARALLEL};
use crate::plugin::{PluginHost, PluginHostConfig};
use crate::reference::MirrorTarget;
use crate::registry::auth::{AuthStore, Environment};
use crate::registry::retry::RetryPolicy;
use crate::registry::{RegistryClient, RegistryConfig};
use crate::sources::Sources;
use crate::workspace::Workspace;
use crate::{config, sources};

/// Where mirror-to-mirror keeps the plugins' state between runs (below
/// `working-dir`); imagesets carry it in their metadata instead.
const PLUGIN_STATE_FILE: &str = "plugin-state.json";

/// Flags of the mirror workflows (the top-level command).
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Where images go: `docker://REGISTRY[/PREFIX]` (or `file://DIR` for mirror to disk).
    #[arg(value_name = "DESTINATION")]
    pub destination: Option<String>,

    /// Path to the ImageSetConfiguration.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Workspace for mirror to mirror: `file://DIR`.
    #[arg(long, value_name = "file://DIR")]
    pub workspace: Option<String>,

    /// Imageset directory to publish from: `file://DIR`.
    #[arg(long, value_name = "file://DIR")]
    pub from: Option<String>,

    /// Plan only: write `mapping.txt` and `missing.txt` under `working-dir/dry-run/` and copy nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Images copied at the same time (1 to 10).
    #[arg(long, default_value_t = crate::copy::DEFAULT_PARALLEL_IMAGES, value_parser = parallelism)]
    pub parallel_images: usize,

    /// Blobs of one image copied at the same time (1 to 10).
    #[arg(long, default_value_t = crate::copy::DEFAULT_PARALLEL_LAYERS, value_parser = parallelism)]
    pub parallel_layers: usize,

    /// Retries of a failed request (timeouts, 429 and 5xx) before giving up.
    #[arg(long, default_value_t = crate::registry::retry::DEFAULT_RETRY_TIMES)]
    pub retry_times: u32,

    /// First delay between retries, e.g. `500ms`, `2s` (`0`: exponential from 250 ms).
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub retry_delay: Duration,

    /// Require HTTPS and verified certificates from source registries.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub src_tls_verify: bool,

    /// Require HTTPS and verified certificates from the destination registry.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub dest_tls_verify: bool,

    /// Directory of extra CA certificates (`*.crt`, `*.pem`) for source registries.
    #[arg(long, value_name = "DIR")]
    pub src_cert_dir: Option<PathBuf>,

    /// Directory of extra CA certificates (`*.crt`, `*.pem`) for the destination registry.
    #[arg(long, value_name = "DIR")]
    pub dest_cert_dir: Option<PathBuf>,

    /// Registry credentials file (default: `$REGISTRY_AUTH_FILE`, then
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, then `~/.docker/config.json`).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,

    /// Log level: `error`, `warn`, `info`, `debug` or `trace`.
    #[arg(long, default_value = "info", value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub log_level: String,

    /// Publish even when the imageset's UUID or sequence does not follow what the mirror holds.
    #[arg(long)]
    pub skip_metadata_check: bool,

    /// Mirror to disk: build the imageset against this earlier sequence instead of
    /// the latest (to replace an imageset that was lost before it was published).
    #[arg(long, value_name = "N", conflicts_with = "since")]
    pub since_sequence: Option<u64>,

    /// Mirror to disk: build the imageset against the newest sequence recorded
    /// before this date (`YYYY-MM-DD`, UTC); a full imageset when there is none.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<u64>,

    /// Largest archive part in bytes, overriding `archiveSize` (for tests and
    /// small media).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub archive_size_bytes: Option<u64>,

    /// Longest a plugin's own code may run in one call, e.g. `30s`, `2m` (the
    /// time oc-mirror spends reading registries and downloading for it does
    /// not count).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub plugin_timeout: Duration,

    /// Most memory a plugin may use, in MiB.
    #[arg(long, default_value_t = (crate::plugin::DEFAULT_MEMORY_LIMIT >> 20) as u64, value_name = "MIB")]
    pub plugin_memory_limit: u64,

    /// Base image of the Cincinnati graph-data image (`platform.graph: true`).
    #[arg(long, value_name = "REF", default_value = crate::sources::ReleaseSettings::GRAPH_BASE_IMAGE)]
    pub graph_base_image: String,

    /// Accepted for compatibility with oc-mirror's command line; this is the v2 behaviour.
    #[arg(long, hide = true)]
    pub v2: bool,

    /// oc-mirror's legacy engine, which this implementation does not carry.
    #[arg(long, hide = true)]
    pub v1: bool,
}

fn parse_since(s: &str) -> Result<u64, String> {
    crate::timestamp::parse_date(s)
        .ok_or_else(|| format!("`{s}` is not a date like `2025-05-01` (YYYY-MM-DD)"))
}

fn parallelism(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_PARALLEL).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_PARALLEL}")),
    }
}

/// `250ms`, `2s`, `1m`, or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `500ms`, `2s` or `1m`"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!(
            "`{s}` is not a duration like `500ms`, `2s` or `1m`"
        )),
    }
}

/// The workflow the flags ask for.
enum Workflow {
    MirrorToMirror {
        workspace: PathBuf,
        target: MirrorTarget,
    },
    MirrorToDisk {
        dir: PathBuf,
    },
    DiskToMirror {
        dir: PathBuf,
        target: MirrorTarget,
    },
}

fn file_url(flag: &str, value: &str) -> anyhow::Result<PathBuf> {
    match value.strip_prefix("file://") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => {
            bail!("`--{flag} {value}` must be a `file://` path\nhint: write `--{flag} file://DIR`")
        }
    }
}

fn workflow(args: &MirrorArgs) -> anyhow::Result<Workflow> {
    if args.v1 {
        bail!(
            "the legacy v1 engine is not part of this oc-mirror\nhint: drop `--v1`; the v2 workflows are the default"
        );
    }
    let Some(dest) = args.destination.as_deref() else {
        bail!(
            "no destination given\nhint: oc-mirror -c isc.yaml --workspace file://DIR docker://REGISTRY[/PREFIX]"
        );
    };
    if let Some(dir) = dest.strip_prefix("file://") {
        if args.from.is_some() || args.workspace.is_some() {
            bail!(
                "`--from` and `--workspace` do not go with a `file://` destination\nhint: mirror to disk is `oc-mirror -c isc.yaml file://DIR`"
            );
        }
        if dir.is_empty() {
            bail!("`file://` needs a directory, e.g. `file:///var/lib/oc-mirror`");
        }
        return Ok(Workflow::MirrorToDisk {
            dir: PathBuf::from(dir),
        });
    }
    if !dest.starts_with("docker://") {
        bail!("destination `{dest}` must start with `docker://` or `file://`");
    }
    let target = MirrorTarget::parse(dest)?;
    match (&args.from, &args.workspace) {
        (Some(_), Some(_)) => bail!(
            "give either `--from` (publish an imageset) or `--workspace` (mirror to mirror), not both"
        ),
        (None, None) => bail!(
            "a `docker://` destination needs `--workspace file://DIR` (mirror to mirror) or `--from file://DIR` (publish)"
        ),
        (Some(from), None) => Ok(Workflow::DiskToMirror {
            dir: file_url("from", from)?,
            target,
        }),
        (None, Some(ws)) => Ok(Workflow::MirrorToMirror {
            workspace: file_url("workspace", ws)?,
            target,
        }),
    }
}

/// What every workflow needs: registry clients and the runtime.
struct Setup {
    source: Arc<RegistryClient>,
    destination: Arc<RegistryClient>,
    runtime: tokio::runtime::Runtime,
    progress: Arc<Progress>,
    concurrency: Concurrency,
    /// Set by the first Ctrl-C.
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// First Ctrl-C: start nothing new, let copies under way finish (nothing is
/// left half-written: every write is temp-then-rename). Second: exit now.
fn watch_interrupts(runtime: &tokio::runtime::Runtime, stop: Arc<std::sync::atomic::AtomicBool>) {
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!("interrupted: finishing the copies under way, starting no new ones (Ctrl-C again to stop at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

fn setup(args: &MirrorArgs) -> anyhow::Result<Setup> {
    let auth = Arc::new(AuthStore::discover(
        args.authfile.as_deref(),
        &Environment::from_process(),
    )?);
    let retry = RetryPolicy {
        retries: args.retry_times,
        base_delay: args.retry_delay,
        ..RetryPolicy::default()
    };
    let side = |tls_verify: bool, cert_dir: &Option<PathBuf>| {
        Arc::new(RegistryClient::new(RegistryConfig {
            tls_verify,
            cert_dirs: cert_dir.iter().cloned().collect(),
            retry,
            auth: auth.clone(),
        }))
    };
    let plain = args.log_level == "debug" || args.log_level == "trace";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    watch_interrupts(&runtime, stop.clone());
    Ok(Setup {
        stop,
        source: side(args.src_tls_verify, &args.src_cert_dir),
        destination: side(args.dest_tls_verify, &args.dest_cert_dir),
        runtime,
        progress: Arc::new(Progress::new(plain)),
        concurrency: Concurrency {
            images: args.parallel_images,
            layers: args.parallel_layers,
        },
    })
}

/// The plugin runtime. Compiled plugins are cached per user (compiling is the
/// slow part of loading, and the same components serve every workspace):
/// `$OC_MIRROR_CACHE/plugins-v1`, else `$XDG_CACHE_HOME/oc-mirror/plugins-v1`,
/// else `~/.cache/oc-mirror/plugins-v1`, else in the workspace.
fn plugin_host(args: &MirrorArgs, ws: &Workspace) -> anyhow::Result<Arc<PluginHost>> {
    let cache_dir =
        crate::plugin::cache::user_dir().unwrap_or_else(|| ws.working_dir().join("plugin-cache"));
    let memory_limit =
        usize::try_from(args.plugin_memory_limit.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let config = PluginHostConfig {
        cache_dir: Some(cache_dir),
        timeout: args.plugin_timeout,
        memory_limit,
        ..PluginHostConfig::default()
    };
    Ok(Arc::new(
        PluginHost::new(config)?.with_blob_cache(ws.blob_cache()?),
    ))
}

fn load_config(args: &MirrorArgs) -> anyhow::Result<config::ImageSetConfiguration> {
    let path = args
        .config
        .as_deref()
        .context("no ImageSetConfiguration given\nhint: pass it with `-c FILE`")?;
    Ok(config::load_mirror_config(path)?)
}

/// Runs the mirror command.
pub fn run(args: MirrorArgs) -> anyhow::Result<()> {
    reporters::init_logging(&args.log_level);
    match workflow(&args)? {
        Workflow::MirrorToMirror { workspace, target } => {
            mirror_to_mirror(&args, workspace, target)
        }
        Workflow::MirrorToDisk { dir } => mirror_to_disk(&args, dir),
        Workflow::DiskToMirror { dir, target } => disk_to_mirror(&args, dir, target),
    }
}

fn mirror_to_disk(args: &MirrorArgs, dir: PathBuf) -> anyhow::Result<()> {
    use crate::backend::{Backend, LocalBackend, RegistryBackend};
    use crate::workflow::create::{CreateOptions, create};
    let isc = load_config(args)?;
    let s = setup(args)?;
    let ws = Workspace::open(&dir)?;
    let backend: Box<dyn Backend> = match isc.storage_config.as_ref() {
        Some(config::StorageConfig {
            registry: Some(r), ..
        }) => {
            let client = Arc::new(RegistryClient::new(RegistryConfig {
                tls_verify: !r.skip_tls,
                cert_dirs: args.dest_cert_dir.iter().cloned().collect(),
                retry: RetryPolicy {
                    retries: args.retry_times,
                    ..RetryPolicy::default()
                },
                auth: Arc::new(AuthStore::discover(
                    args.authfile.as_deref(),
                    &Environment::from_process(),
                )?),
            }));
            Box::new(RegistryBackend::parse(client, &r.image_url)?)
        }
        Some(config::StorageConfig { local: Some(l), .. }) => Box::new(LocalBackend::new(&l.path)),
        _ => Box::new(LocalBackend::new(ws.working_dir().join("metadata"))),
    };
    let engine = CopyEngine::new(
        Some(s.source.clone()),
        s.source.clone(),
        ws.blob_cache()?,
        s.concurrency,
        s.progress.clone(),
    );
    let options = CreateOptions {
        dir: dir.clone(),
        max_part_bytes: args
            .archive_size_bytes
            .unwrap_or_else(|| isc.archive_size_bytes()),
        since: args.since_sequence,
        since_time: args.since,
    };
    let plugins = plugin_host(args, &ws)?;
    let mut sources =
        s.runtime
            .block_on(Sources::load(plugins, Some(s.source.clone()), &isc.plugins))?;
    sources.set_graph_base_image(&args.graph_base_image);
    let report = s.runtime.block_on(create(
        &sources,
        &isc,
        &ws,
        &engine,
        backend.as_ref(),
        &options,
    ));
    s.progress.finish();
    let report = report?;
    let m = &report.metadata;
    let total: u64 = report.parts.iter().map(|p| p.size_bytes).sum();
    println!(
        "Created imageset sequence {} of workspace {} in {}",
        m.sequence,
        m.uuid,
        dir.display()
    );
    if let Some(since) = m.since {
        println!(
            "  against sequence {since}: {} layers already shipped are left out",
            report.reused_layers
        );
    }
    if report.new_layers == 0 && m.since.is_some() {
        println!(
            "  no new layers since sequence {}: the imageset carries metadata, manifests and configs only",
            m.since.unwrap_or(0)
        );
    }
    println!(
        "  images: {}, new layers: {} ({})",
        m.images.len(),
        report.new_layers,
        human_bytes(report.new_layer_bytes)
    );
    for p in &report.parts {
        println!(
            "  {}  {}",
            dir.join(&p.name).display(),
            human_bytes(p.size_bytes)
        );
    }
    println!(
        "  total: {} in {} part(s); metadata recorded in {}",
        human_bytes(total),
        report.parts.len(),
        backend.describe()
    );
    Ok(())
}

fn disk_to_mirror(args: &MirrorArgs, dir: PathBuf, target: MirrorTarget) -> anyhow::Result<()> {
    use crate::workflow::publish::{PublishOptions, SequenceOutcome, publish};
    let s = setup(args)?;
    let ws = Workspace::open(&dir)?;
    let options = PublishOptions {
        dir: dir.clone(),
        target: target.clone(),
        skip_metadata_check: args.skip_metadata_check,
        stop: s.stop.clone(),
        concurrency: s.concurrency,
    };
    let outcomes = s.runtime.block_on(publish(
        &ws,
        s.destination.clone(),
        s.progress.clone(),
        &options,
    ));
    s.progress.finish();
    let outcomes = outcomes?;
    let mut all_images = Vec::new();
    let mut attachments = Vec::new();
    let mut failed = Vec::new();
    for o in &outcomes {
        match o {
            SequenceOutcome::AlreadyPublished(n) => {
                println!("Sequence {n} is already in {target}: nothing to do")
            }
            SequenceOutcome::Published { metadata, report } => {
                println!(
                    "Published sequence {} to {target} in {:.1?}",
                    metadata.sequence, report.elapsed
                );
                print_counts(report);
                for f in report.failures() {
                    if let ImageStatus::Failed(why) = &f.status {
                        failed.push(format!("  {}: {why}", f.source.whole()));
                    }
                }
                all_images.extend(report.images.iter().cloned());
                for a in crate::workflow::attachments_of(&ws, metadata)? {
                    // A later sequence's copy of the same file wins.
                    attachments.retain(|b: &crate::plugin::v0_2::Attachment| b.name != a.name);
                    attachments.push(a);
                }
            }
        }
    }
    if !all_images.is_empty() {
        let mapping = sources::mapping_text(all_images.iter().map(|o| (&o.source, &o.destination)));
        let path = ws.write_file("mapping.txt", mapping.as_bytes())?;
        let plugins = s.runtime.block_on(Sources::load(
            plugin_host(args, &ws)?,
            Some(s.destination.clone()),
            &[],
        ))?;
        let resources = s
            .runtime
            .block_on(crate::workflow::publish_cluster_resources(
                &ws,
                &plugins,
                &target,
                &all_images,
                &attachments,
            ))?;
        println!("  mapping: {}", path.display());
        if let Some(dir) = resources {
            println!("  cluster resources: {}", dir.display());
        }
    }
    if !failed.is_empty() {
        return Err(Failure {
            message: format!("{} images could not be published; the sequence is not recorded in the mirror:\n{}\nhint: fix the cause and publish again; what is in the mirror is kept", failed.len(), failed.join("\n")),
            code: EXIT_ADDITIONAL_IMAGES,
        }
        .into());
    }
    Ok(())
}

fn mirror_to_mirror(
    args: &MirrorArgs,
    workspace: PathBuf,
    target: MirrorTarget,
) -> anyhow::Result<()> {
    let isc = load_config(args)?;
    let Setup {
        source,
        destination,
        runtime,
        progress,
        concurrency,
        stop,
    } = setup(args)?;
    let ws = Workspace::open(&workspace)?;
    info!(
        "workspace {} (uuid {})",
        ws.working_dir().display(),
        ws.uuid()
    );
    let plugins = plugin_host(args, &ws)?;
    let mut sources =
        runtime.block_on(Sources::load(plugins, Some(source.clone()), &isc.plugins))?;
    sources.set_graph_base_image(&args.graph_base_image);
    // Without an imageset's metadata, plugins keep their state in the workspace.
    let states = match ws.read_file(PLUGIN_STATE_FILE)? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            warn!("{PLUGIN_STATE_FILE} is unreadable and is ignored: {e}");
            Default::default()
        }),
        None => Default::default(),
    };
    let crate::sources::Planned {
        plan,
        blocked,
        states,
        attachments,
        builds,
    } = runtime.block_on(sources.build_plan(&isc, &target, &states))?;
    for b in &blocked {
        info!(
            "skipping `{}`: blocked by `blockedImages` pattern `{}`",
            b.image, b.pattern
        );
    }
    if plan.images.is_empty() {
        bail!("no images to copy: the configuration lists none (or all are blocked)");
    }

    let engine = CopyEngine::new(
        Some(source),
        destination,
        ws.blob_cache()?,
        concurrency,
        progress.clone(),
    )
    .with_stop(stop);

    if args.dry_run {
        return runtime.block_on(dry_run(&ws, &engine, &plan, &progress));
    }
    // Images the plugins asked to build are made before anything is copied:
    // a build that fails stops the run while it costs nothing.
    let started = std::time::Instant::now();
    let built = runtime.block_on(sources.build_images(&builds, &ws.blob_cache()?, &target))?;
    let mapping_text = sources::mapping_text(
        plan.images
            .iter()
            .map(|j| (&j.source, &j.destination))
            .chain(built.iter().map(|b| (&b.job.source, &b.job.destination))),
    );
    let mut resolved = runtime.block_on(engine.resolve_all(&plan));
    resolved.extend(built.into_iter().map(Ok));
    let report = runtime.block_on(engine.copy_resolved(resolved, started));
    progress.finish();
    let mapping = ws.write_file("mapping.txt", mapping_text.as_bytes())?;
    let resources = runtime.block_on(crate::workflow::publish_cluster_resources(
        &ws,
        &sources,
        &target,
        &report.images,
        &attachments,
    ))?;
    print_summary(&report, &target, &mapping, resources.as_deref());
    let failed: Vec<String> = report
        .failures()
        .map(|f| match &f.status {
            ImageStatus::Failed(why) => format!("  {}: {why}", f.source.whole()),
            _ => String::new(),
        })
        .collect();
    if !failed.is_empty() {
        return Err(Failure {
            message: format!(
                "{} of {} images could not be mirrored:\n{}\nhint: fix the cause and run the same command again; what was copied is kept and not fetched again",
                failed.len(),
                report.images.len(),
                failed.join("\n")
            ),
            code: EXIT_ADDITIONAL_IMAGES,
        }
        .into());
    }
    // Recorded only once everything is in the mirror, so that a failed run
    // is retried from the same place.
    let states = serde_json::to_vec_pretty(&states).context("recording the plugins' state")?;
    ws.write_file(PLUGIN_STATE_FILE, &states)?;
    Ok(())
}

async fn dry_run(
    ws: &Workspace,
    engine: &CopyEngine,
    plan: &crate::copy::CopyPlan,
    progress: &Progress,
) -> anyhow::Result<()> {
    let resolved = engine.resolve_all(plan).await;
    progress.finish();
    let mut missing = Vec::new();
    let mut bytes = 0u64;
    for r in &resolved {
        match r {
            Ok(image) => {
                bytes += image.blobs().iter().map(|b| b.size).sum::<u64>();
                if !engine.fully_cached(image) {
                    missing.push(format!(
                        "docker://{}=docker://{}",
                        image.job.source.whole(),
                        image.job.destination.whole()
                    ));
                }
            }
            Err((job, e)) => {
                warn!("cannot resolve `{}`: {e}", job.source.whole());
                missing.push(format!(
                    "docker://{}=docker://{}",
                    job.source.whole(),
                    job.destination.whole()
                ));
            }
        }
    }
    missing.sort();
    let mapping = ws.write_file("dry-run/mapping.txt", sources::mapping(plan).as_bytes())?;
    let missing_text = if missing.is_empty() {
        String::new()
    } else {
        missing.join("\n") + "\n"
    };
    let missing_path = ws.write_file("dry-run/missing.txt", missing_text.as_bytes())?;
    println!(
        "Dry run: {} images, {} in all, nothing copied",
        plan.images.len(),
        human_bytes(bytes)
    );
    if missing.is_empty() {
        println!(
            "  all {} images required for mirroring are available in the workspace cache",
            plan.images.len()
        );
    } else {
        println!(
            "  {} images are not (fully) in the workspace cache: {}",
            missing.len(),
            missing_path.display()
        );
    }
    println!("  mapping: {}", mapping.display());
    if let Some((job, e)) = resolved.iter().find_map(|r| r.as_ref().err()) {
        return Err(Failure {
            message: format!("`{}` cannot be mirrored: {e}", job.source.whole()),
            code: EXIT_ADDITIONAL_IMAGES,
        }
        .into());
    }
    Ok(())
}

/// The `images:` and `blobs:` lines of a summary.
fn print_counts(report: &CopyReport) {
    let b = &report.blobs;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "  images: {} copied, {} already in the mirror, {} failed",
        report.count(&ImageStatus::Copied),
        report.count(&ImageStatus::AlreadyPresent),
        report.failures().count()
    );
    println!(
        "  blobs:  {} downloaded ({}), {} uploaded ({}), {} mounted, {} already in the mirror, {} from the workspace cache",
        n(&b.downloaded),
        human_bytes(n(&b.downloaded_bytes)),
        n(&b.uploaded),
        human_bytes(n(&b.uploaded_bytes)),
        n(&b.mounted),
        n(&b.present),
        n(&b.from_cache)
    );
}

fn print_summary(
    report: &CopyReport,
    target: &MirrorTarget,
    mapping: &Path,
    resources: Option<&Path>,
) {
    let heading = if report.failures().next().is_some() {
        "Mirrored, with failures,"
    } else {
        "Mirrored"
    };
    println!("{heading} to {target} in {:.1?}", report.elapsed);
    print_counts(report);
    println!("  mapping: {}", mapping.display());
    if let Some(dir) = resources {
        println!("  cluster resources: {}", dir.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn parallelism_is_bounded() {
        assert!(parallelism("0").is_err());
        assert!(parallelism("11").is_err());
        assert_eq!(parallelism("10"), Ok(10));
    }
}
