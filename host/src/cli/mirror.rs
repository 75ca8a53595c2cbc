//! `oc-mirror -c ISC [--workspace|--from] DESTINATION`: the mirror workflows.
//!
//! Parses the flags, resolves them with the configuration and the
//! environment into [`Settings`], calls the workflow the flags name, and
//! prints its report.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

use super::reporters::{self, Progress, human_bytes};
use crate::config::{self, ImageSetConfiguration};
use crate::copy::{Concurrency, CopyReport, ImageStatus, MAX_PARALLEL};
use crate::plugin::PluginHostConfig;
use crate::reference::MirrorTarget;
use crate::registry::RegistryConfig;
use crate::registry::auth::AuthStore;
use crate::registry::retry::RetryPolicy;
use crate::settings::{BackendSettings, Environment, ReleaseSettings, Settings};
use crate::workflow::Context;
use crate::workflow::mirror::MirrorOutcome;
use crate::workflow::publish::SequenceOutcome;

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

    /// Publish and mirror to mirror: delete from the mirror the images earlier
    /// sequences brought that the configuration no longer selects (never one
    /// that kept content still needs). Without it they are listed, and kept.
    #[arg(long)]
    pub prune: bool,

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

    /// Longest the copy of one image may take, e.g. `10m`, `1h` (as
    /// oc-mirror v2); an image that takes longer (a registry that trickles
    /// or stops answering) fails, naming it, and the run goes on.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub image_timeout: Duration,

    /// Most memory a plugin may use, in MiB.
    #[arg(long, default_value_t = (crate::plugin::DEFAULT_MEMORY_LIMIT >> 20) as u64, value_name = "MIB")]
    pub plugin_memory_limit: u64,

    /// Base image of the Cincinnati graph-data image (`platform.graph: true`).
    #[arg(long, value_name = "REF", default_value = ReleaseSettings::GRAPH_BASE_IMAGE)]
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

pub(super) fn file_url(flag: &str, value: &str) -> anyhow::Result<PathBuf> {
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

/// The flags, the configuration (when the workflow has one) and the
/// environment, resolved into the settings a workflow runs with.
pub fn resolve_settings(
    args: &MirrorArgs,
    isc: Option<&ImageSetConfiguration>,
    env: &Environment,
) -> anyhow::Result<Settings> {
    let auth = Arc::new(AuthStore::discover(args.authfile.as_deref(), &env.auth)?);
    let retry = RetryPolicy {
        retries: args.retry_times,
        base_delay: args.retry_delay,
        ..RetryPolicy::default()
    };
    let client = |tls_verify: bool, cert_dir: &Option<PathBuf>| RegistryConfig {
        tls_verify,
        cert_dirs: cert_dir.iter().cloned().collect(),
        retry,
        auth: auth.clone(),
        layouts: Default::default(),
    };
    // Operator catalogs in local OCI layouts are read as registries.
    let mut source = client(args.src_tls_verify, &args.src_cert_dir);
    for op in isc.iter().flat_map(|c| &c.mirror.operators) {
        if let Some(dir) = crate::registry::layout::local_path(&op.catalog) {
            source.layouts.add(std::path::Path::new(dir));
        }
    }
    let backend = match isc.and_then(|c| c.storage_config.as_ref()) {
        Some(config::StorageConfig {
            registry: Some(r), ..
        }) => BackendSettings::Registry {
            image_url: r.image_url.clone(),
            client: client(!r.skip_tls, &args.dest_cert_dir),
        },
        Some(config::StorageConfig { local: Some(l), .. }) => {
            BackendSettings::Local(PathBuf::from(&l.path))
        }
        _ => BackendSettings::Workspace,
    };
    Ok(Settings {
        source,
        destination: client(args.dest_tls_verify, &args.dest_cert_dir),
        concurrency: Concurrency {
            images: args.parallel_images,
            layers: args.parallel_layers,
        },
        image_timeout: args.image_timeout,
        plugins: PluginHostConfig {
            cache_dir: env.plugin_cache_dir(),
            timeout: args.plugin_timeout,
            memory_limit: usize::try_from(args.plugin_memory_limit.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            epoch: env.source_date_epoch.unwrap_or(0),
            ..PluginHostConfig::default()
        },
        release: ReleaseSettings::resolve(env, &args.graph_base_image)?,
        backend,
        epoch: env.source_date_epoch,
        dry_run: args.dry_run,
        prune: args.prune,
        skip_metadata_check: args.skip_metadata_check,
        since_sequence: args.since_sequence,
        since_time: args.since,
        max_part_bytes: args
            .archive_size_bytes
            .unwrap_or_else(|| isc.map(|c| c.archive_size_bytes()).unwrap_or(u64::MAX)),
    })
}

pub(super) fn load_config(args: &MirrorArgs) -> anyhow::Result<ImageSetConfiguration> {
    let path = args
        .config
        .as_deref()
        .context("no ImageSetConfiguration given\nhint: pass it with `-c FILE`")?;
    Ok(config::load_mirror_config(path)?)
}

/// The async runtime, a progress display, and Ctrl-C handling around one
/// workflow call. First Ctrl-C: start nothing new, let copies under way
/// finish (nothing is left half-written: every write is temp-then-rename).
/// Second: exit now.
pub(super) fn run_workflow<T>(
    settings: Settings,
    log_level: &str,
    call: impl AsyncFnOnce(&Context) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        flag.store(true, Ordering::Relaxed);
        tracing::warn!("interrupted: finishing the copies under way, starting no new ones (Ctrl-C again to stop at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let progress = Arc::new(Progress::new(log_level == "debug" || log_level == "trace"));
    let ctx = Context {
        settings,
        reporter: progress.clone(),
        stop,
    };
    let result = runtime.block_on(call(&ctx));
    progress.finish();
    result
}

/// Runs the mirror command.
pub fn run(args: MirrorArgs) -> anyhow::Result<()> {
    reporters::init_logging(&args.log_level);
    let env = Environment::from_process();
    match workflow(&args)? {
        Workflow::MirrorToMirror { workspace, target } => {
            let isc = load_config(&args)?;
            let settings = resolve_settings(&args, Some(&isc), &env)?;
            let outcome = run_workflow(settings, &args.log_level, async |ctx| {
                crate::workflow::mirror::mirror_to_mirror(ctx, &isc, &workspace, &target).await
            })?;
            match outcome {
                MirrorOutcome::Mirrored(r) => {
                    print_mirrored(&r, &target);
                    r.failures.map_or(Ok(()), |f| Err(f.into()))
                }
                MirrorOutcome::DryRun(r) => {
                    print_dry_run(&r);
                    r.failures.map_or(Ok(()), |f| Err(f.into()))
                }
            }
        }
        Workflow::MirrorToDisk { dir } => {
            let isc = load_config(&args)?;
            let settings = resolve_settings(&args, Some(&isc), &env)?;
            let report = run_workflow(settings, &args.log_level, async |ctx| {
                crate::workflow::create::create(ctx, &isc, &dir).await
            })?;
            print_created(&report);
            Ok(())
        }
        Workflow::DiskToMirror { dir, target } => {
            let settings = resolve_settings(&args, None, &env)?;
            let report = run_workflow(settings, &args.log_level, async |ctx| {
                crate::workflow::publish::publish(ctx, &dir, &target).await
            })?;
            print_published(&report);
            report.failures.map_or(Ok(()), |f| Err(f.into()))
        }
    }
}

fn print_created(report: &crate::workflow::create::CreateReport) {
    let m = &report.metadata;
    let total: u64 = report.parts.iter().map(|p| p.size_bytes).sum();
    println!(
        "Created imageset sequence {} of workspace {} in {}",
        m.sequence,
        m.uuid,
        report.dir.display()
    );
    if let Some(since) = m.since {
        println!(
            "  against sequence {since}: {} layers already shipped are left out",
            report.reused_layers
        );
        if report.new_layers == 0 {
            println!(
                "  no new layers since sequence {since}: the imageset carries metadata, manifests and configs only"
            );
        }
    }
    println!(
        "  images: {}, new layers: {} ({})",
        m.images.len(),
        report.new_layers,
        human_bytes(report.new_layer_bytes)
    );
    if !m.images.is_empty() {
        println!(
            "  of which: {}",
            by_kind(
                m.images
                    .iter()
                    .map(|i| crate::copy::ImageKind::from_name(&i.kind))
            )
        );
    }
    for p in &report.parts {
        println!(
            "  {}  {}",
            report.dir.join(&p.name).display(),
            human_bytes(p.size_bytes)
        );
    }
    if !m.unselected.is_empty() {
        println!(
            "  {} images earlier sequences brought are no longer configured: publish with `--prune` deletes them",
            m.unselected.len()
        );
    }
    println!(
        "  total: {} in {} part(s); metadata recorded in {}",
        human_bytes(total),
        report.parts.len(),
        report.backend
    );
}

fn print_published(report: &crate::workflow::publish::PublishReport) {
    let target = &report.target;
    for o in &report.sequences {
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
            }
        }
    }
    print_unselected(&report.unselected, report.pruned.as_ref());
    print_outputs(&report.outputs);
}

fn print_outputs(outputs: &crate::workflow::Outputs) {
    if let Some(path) = &outputs.mapping {
        println!("  mapping: {}", path.display());
    }
    if let Some(dir) = &outputs.cluster_resources {
        println!("  cluster resources: {}", dir.display());
    }
    for file in &outputs.files {
        println!("  file: {}", file.display());
    }
}

fn print_dry_run(r: &crate::workflow::mirror::DryRunReport) {
    println!(
        "Dry run: {} images, {} in all, nothing copied",
        r.images,
        human_bytes(r.bytes)
    );
    if r.missing.is_empty() {
        println!(
            "  all {} images required for mirroring are available in the workspace cache",
            r.images
        );
    } else {
        println!(
            "  {} images are not (fully) in the workspace cache: {}",
            r.missing.len(),
            r.missing_file.display()
        );
    }
    println!("  mapping: {}", r.mapping.display());
}

/// The `images:` and `blobs:` lines of a summary.
/// `2 release payloads, 1 operator catalog, …`: how many images of each kind.
fn by_kind(kinds: impl Iterator<Item = crate::copy::ImageKind>) -> String {
    use crate::copy::ImageKind as K;
    let mut counts = std::collections::BTreeMap::new();
    for k in kinds {
        *counts.entry(k).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .map(|(k, n)| {
            let what = match k {
                K::ReleasePayload => "release payload",
                K::ReleaseComponent => "release component",
                K::OperatorCatalog => "operator catalog",
                K::OperatorImage => "operator image",
                K::GraphImage => "graph-data image",
                K::Generic => "other image",
            };
            format!("{n} {what}{}", if n == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_counts(report: &CopyReport) {
    let b = &report.blobs;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "  images: {} copied, {} already in the mirror, {} failed",
        report.count(&ImageStatus::Copied),
        report.count(&ImageStatus::AlreadyPresent),
        report.failures().count()
    );
    if !report.images.is_empty() {
        println!(
            "  of which: {}",
            by_kind(report.images.iter().map(|i| i.kind))
        );
    }
    for catalog in report
        .images
        .iter()
        .filter(|i| i.kind == crate::copy::ImageKind::OperatorCatalog)
    {
        println!("  operator catalog: {}", catalog.destination.whole());
    }
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

fn print_mirrored(r: &crate::workflow::mirror::MirrorReport, target: &MirrorTarget) {
    let heading = if r.failures.is_some() {
        "Mirrored, with failures,"
    } else {
        "Mirrored"
    };
    println!("{heading} to {target} in {:.1?}", r.copy.elapsed);
    print_counts(&r.copy);
    print_unselected(&r.unselected, r.pruned.as_ref());
    print_outputs(&r.outputs);
}

/// What earlier sequences brought that the configuration no longer selects,
/// and what `--prune` did with it.
fn print_unselected(
    unselected: &[crate::metadata::ImageRecord],
    pruned: Option<&crate::workflow::delete::RemovalReport>,
) {
    if unselected.is_empty() {
        return;
    }
    match pruned {
        Some(p) => {
            println!(
                "  pruned ({} images no longer configured):",
                unselected.len()
            );
            super::delete::print_removal(p, "  ");
        }
        None => {
            println!(
                "  {} images in the mirror are no longer configured (kept; `--prune` deletes them):",
                unselected.len()
            );
            for i in unselected {
                println!("    {}", i.destination);
            }
        }
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
