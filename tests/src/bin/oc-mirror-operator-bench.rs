//! `oc-mirror-operator-bench`: the operator plugin on catalogs of Red Hat's
//! size, end to end through the `oc-mirror` binary, against `skopeo copy` of
//! the same catalog image.
//!
//! - Generates two synthetic File-Based Catalogs with
//!   [`oc_mirror_tests::catalog_scale`] (deterministic, streamed into a layer
//!   file): the `olm.csv.metadata` form (≥ 150 packages, ≥ 5,000 bundles,
//!   ≥ 120 MB of JSON) and the `olm.bundle.object` form (the same shape,
//!   ≥ 500 MB), each with one package whose channel has 700 entries with 260
//!   skips each; pushes each as a catalog image to a local `docker-registry`.
//!   The bundle and related images are not pushed.
//! - Times, `--runs` times (median reported), two selections per catalog:
//!   heads only (no packages) and 10 listed packages (the 700-entry one
//!   included), each `oc-mirror -c isc.yaml --workspace file://WS
//!   docker://MIRROR/prefix --dry-run` with a fresh workspace. The dry run
//!   reads the FBC, selects, renders the rebuilt catalog's layers and
//!   resolves every image (it does not assemble the rebuilt catalog: a dry
//!   run returns before the builds); the bundle images do not exist, so it
//!   exits non-zero after listing them as missing, as expected. Wall time is
//!   spawn to exit; peak RSS is the child's `VmHWM` (`/proc/<pid>/status`,
//!   polled); CPU is the child's own and the whole machine's.
//! - Times `skopeo copy docker://CATALOG dir:DIR` of the same image (just
//!   downloading it) as the baseline, and prints the ratios.
//! - Runs each heads-only selection once more with the default plugin memory
//!   limit (`--plugin-memory-limit 256`) and the default plugin timeout, to
//!   show whether the defaults suffice.
//! - Every oc-mirror log line is stamped with the time since spawn, and the
//!   phases (FBC extracted and read, selected, rendered, images resolved)
//!   are printed from those stamps (the finest with `--log-level debug`).
//!
//! Targets are printed PASS/MISS and never fail the bench: 500 MB catalog
//! ≤ 10 s and ≤ 1 GB; 120 MB catalog ≤ 3 s and ≤ 300 MB.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::catalog::{Catalog, CatalogImage};
use oc_mirror_tests::catalog_scale::{self, Form, ScaleLayer, ScaleSpec};
use oc_mirror_tests::{Registry, RegistryOptions, isc, stats, tools};

const USAGE: &str = "\
usage: oc-mirror-operator-bench [--forms LIST] [--runs N] [--quick]
                                [--packages N] [--bundles N]
                                [--timed-memory-limit MIB] [--generate-only]
                                [--work-dir DIR] [--keep]

Generates operator catalogs of Red Hat's size (olm.csv.metadata form, ~127 MB
of FBC JSON; olm.bundle.object form, ~530 MB), pushes them to a local
registry, and times `oc-mirror --dry-run` selecting heads only and 10
packages from each, against `skopeo copy` of the same catalog image.

  --forms LIST              csv-metadata,bundle-object (default: both)
  --runs N                  repetitions of each timed case; the median counts (default 3)
  --quick                   small catalogs of the same shape (20 packages, 400 bundles,
                            a 100-entry channel with 40 skips), 1 run: a smoke test
  --packages N, --bundles N override the catalogs' size (default 160, 5200)
  --timed-memory-limit MIB  --plugin-memory-limit of the timed runs (default 2048, so a
                            plugin over the default limit is still timed; the default
                            limit is checked by a run of its own)
  --generate-only           generate the catalogs, print their size, stop
  --work-dir DIR            where catalogs, workspaces and logs go (default: a temp dir)
  --keep                    keep the work directory
";

/// Repository prefix in the mirror.
const PREFIX: &str = "mirror";
/// Tag of the pushed catalogs.
const TAG: &str = "v4.18";
/// How often the RSS poller reads `/proc/<pid>/status`.
const POLL: Duration = Duration::from_millis(5);
/// `USER_HZ`: the unit of the tick counts in `/proc`.
const TICKS_PER_SEC: f64 = 100.0;
/// oc-mirror's default `--plugin-memory-limit`, MiB.
const DEFAULT_MEMORY_LIMIT_MIB: u64 = 256;
/// Packages in the "listed packages" selection.
const LISTED: usize = 10;

struct Opts {
    forms: Vec<Form>,
    runs: usize,
    quick: bool,
    packages: Option<usize>,
    bundles: Option<usize>,
    timed_memory_limit: u64,
    generate_only: bool,
    work_dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> anyhow::Result<Option<Opts>> {
    let mut o = Opts {
        forms: vec![Form::CsvMetadata, Form::BundleObject],
        runs: 3,
        quick: false,
        packages: None,
        bundles: None,
        timed_memory_limit: 2048,
        generate_only: false,
        work_dir: None,
        keep: false,
    };
    let mut runs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> anyhow::Result<String> {
            args.next().with_context(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| -> anyhow::Result<usize> {
            v.parse().with_context(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--forms" => {
                o.forms = value("--forms")?
                    .split(',')
                    .map(|f| match f.trim() {
                        "csv-metadata" | "csv" => Ok(Form::CsvMetadata),
                        "bundle-object" | "objects" => Ok(Form::BundleObject),
                        other => bail!("unknown form `{other}` (csv-metadata, bundle-object)"),
                    })
                    .collect::<anyhow::Result<_>>()?
            }
            "--runs" => runs = Some(number("--runs", value("--runs")?)?.max(1)),
            "--quick" => o.quick = true,
            "--packages" => o.packages = Some(number("--packages", value("--packages")?)?),
            "--bundles" => o.bundles = Some(number("--bundles", value("--bundles")?)?),
            "--timed-memory-limit" => {
                o.timed_memory_limit =
                    number("--timed-memory-limit", value("--timed-memory-limit")?)? as u64
            }
            "--generate-only" => o.generate_only = true,
            "--work-dir" => o.work_dir = Some(PathBuf::from(value("--work-dir")?)),
            "--keep" => o.keep = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    o.runs = runs.unwrap_or(if o.quick { 1 } else { 3 });
    Ok(Some(o))
}

// ---------------------------------------------------------------------------
// Running a child, measured
// ---------------------------------------------------------------------------

/// One child process, measured.
struct Measured {
    elapsed: Duration,
    /// `VmHWM`, bytes.
    peak_rss: u64,
    /// The child's own user + system CPU time, seconds.
    cpu_secs: f64,
    /// CPU time the whole machine was busy meanwhile (every process, all
    /// cores), seconds: above the child's own, the registries and anything
    /// else running on the machine.
    machine_busy_secs: f64,
    code: Option<i32>,
    /// stderr + stdout lines, each with the time since spawn.
    lines: Vec<(Duration, String)>,
}

impl Measured {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64()
    }

    /// The first line containing `needle`, with its time.
    fn first(&self, needle: &str) -> Option<&(Duration, String)> {
        self.lines.iter().find(|(_, l)| l.contains(needle))
    }

    fn tail(&self, n: usize) -> String {
        let start = self.lines.len().saturating_sub(n);
        self.lines[start..]
            .iter()
            .map(|(_, l)| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Ticks (all cores) the machine has been busy: user, nice, system, irq,
/// softirq and steal from `/proc/stat`.
fn machine_busy_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    total - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
}

/// utime + stime, in ticks, from the text of `/proc/<pid>/stat`.
fn proc_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Runs `cmd` to its end: wall time from spawn to exit, `VmHWM` and CPU
/// polled meanwhile (the `/proc` files are opened once, so a recycled pid
/// is never read), every output line stamped and written to `log`.
fn measure(mut cmd: Command, log: &Path) -> anyhow::Result<Measured> {
    let mut log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    writeln!(log_file, "$ {cmd:?}")?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let busy_before = machine_busy_ticks();
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let status_file = File::open(format!("/proc/{}/status", child.id())).ok();
    let stat_file = File::open(format!("/proc/{}/stat", child.id())).ok();
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut peak, mut ticks) = (0u64, 0u64);
            let (Some(mut status), Some(mut stat)) = (status_file, stat_file) else {
                return (peak, ticks);
            };
            let mut text = String::new();
            loop {
                text.clear();
                if status.seek(SeekFrom::Start(0)).is_ok()
                    && status.read_to_string(&mut text).is_ok()
                    && let Some(kib) = vm_hwm_kib(&text)
                {
                    peak = peak.max(kib);
                }
                text.clear();
                if stat.seek(SeekFrom::Start(0)).is_ok()
                    && stat.read_to_string(&mut text).is_ok()
                    && let Some(t) = proc_cpu_ticks(&text)
                {
                    ticks = ticks.max(t);
                }
                if done.load(Ordering::Relaxed) {
                    return (peak, ticks);
                }
                std::thread::sleep(POLL);
            }
        })
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = [
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let at = started.elapsed();
                if let Ok(mut l) = lines.lock() {
                    l.push((at, line));
                }
            }
        })
    })
    .collect();
    let status = child.wait().context("waiting for the child")?;
    let elapsed = started.elapsed();
    let busy = machine_busy_ticks().saturating_sub(busy_before);
    done.store(true, Ordering::Relaxed);
    let (peak_kib, cpu_ticks) = poller.join().unwrap_or((0, 0));
    for r in readers {
        let _ = r.join();
    }
    let mut lines = std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()));
    lines.sort_by_key(|(at, _)| *at);
    for (at, line) in &lines {
        writeln!(log_file, "[{:8.3}s] {line}", at.as_secs_f64())?;
    }
    writeln!(
        log_file,
        "--- {status} after {elapsed:?}, VmHWM {peak_kib} kB, CPU {cpu_ticks} ticks"
    )?;
    Ok(Measured {
        elapsed,
        peak_rss: peak_kib * 1024,
        cpu_secs: cpu_ticks as f64 / TICKS_PER_SEC,
        machine_busy_secs: busy as f64 / TICKS_PER_SEC,
        code: status.code(),
        lines,
    })
}

// ---------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------

/// A selection of a catalog.
#[derive(Clone)]
struct Selection {
    name: String,
    packages: Vec<String>,
}

/// What an oc-mirror dry run said.
struct DryRun {
    measured: Measured,
    /// From the plugin's `catalog …: N packages, M bundles, K images`.
    packages: Option<usize>,
    bundles: Option<usize>,
    images: Option<usize>,
    /// Lines of `working-dir/dry-run/missing.txt` and `mapping.txt`.
    missing: Option<usize>,
    mapped: Option<usize>,
    /// Why the run does not count, if it does not.
    failure: Option<String>,
}

struct Setup {
    oc_mirror: PathBuf,
    mirror_host: String,
    work: PathBuf,
    keep: bool,
}

/// The numbers of `catalog <ref>: N packages, M bundles, K images`.
fn catalog_line(line: &str) -> Option<(usize, usize, usize)> {
    let rest = &line[line.find("catalog ")?..];
    let rest = &rest[rest.find(": ")? + 2..];
    let mut numbers = rest
        .split(',')
        .map(|part| part.split_whitespace().next().and_then(|n| n.parse().ok()));
    Some((numbers.next()??, numbers.next()??, numbers.next()??))
}

fn count_lines(path: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.lines().filter(|l| !l.trim().is_empty()).count())
}

/// One `oc-mirror --dry-run` of `catalog` with `selection`, fresh workspace
/// `name` (removed afterwards unless `--keep`).
fn dry_run(
    setup: &Setup,
    catalog: &str,
    selection: &Selection,
    name: &str,
    extra: &[&str],
) -> anyhow::Result<DryRun> {
    let dir = setup.work.join(name);
    std::fs::create_dir_all(&dir)?;
    let mut body = format!("  operators:\n    - catalog: {catalog}\n");
    if !selection.packages.is_empty() {
        body.push_str("      packages:\n");
        for p in &selection.packages {
            body.push_str(&format!("        - name: {p}\n"));
        }
    }
    let isc_path = dir.join("isc.yaml");
    std::fs::write(&isc_path, isc::image_set_config(&body))?;
    let ws = dir.join("ws");
    let mut cmd = Command::new(&setup.oc_mirror);
    cmd.arg("-c")
        .arg(&isc_path)
        .arg("--workspace")
        .arg(format!("file://{}", ws.display()))
        .arg(format!("docker://{}/{PREFIX}", setup.mirror_host))
        .args([
            "--dry-run",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
        .args(extra);
    let measured = measure(cmd, &dir.join("run.log"))?;
    let found = measured.lines.iter().find_map(|(_, l)| {
        (l.contains("catalog ") && l.contains(" bundles, ")).then(|| catalog_line(l))?
    });
    let dry = ws.join("working-dir/dry-run");
    let missing = count_lines(&dry.join("missing.txt"));
    let mapped = count_lines(&dry.join("mapping.txt"));
    let failure = if found.is_none() {
        Some(format!(
            "no `catalog …: N packages, M bundles, K images` line (exit {:?}); last lines:\n{}",
            measured.code,
            measured.tail(8)
        ))
    } else if measured.code != Some(0) && missing.unwrap_or(0) == 0 {
        Some(format!(
            "exit {:?} without missing images; last lines:\n{}",
            measured.code,
            measured.tail(8)
        ))
    } else {
        None
    };
    if !setup.keep {
        let _ = std::fs::remove_dir_all(&ws);
    }
    Ok(DryRun {
        packages: found.map(|f| f.0),
        bundles: found.map(|f| f.1),
        images: found.map(|f| f.2),
        missing,
        mapped,
        failure,
        measured,
    })
}

/// `skopeo copy` of the catalog into a fresh `dir:`, removed afterwards.
fn skopeo_copy(setup: &Setup, catalog: &str, name: &str) -> anyhow::Result<Measured> {
    let dir = setup.work.join(name);
    std::fs::create_dir_all(&dir)?;
    let target = dir.join("image");
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{catalog}"))
        .arg(format!("dir:{}", target.display()));
    let m = measure(cmd, &dir.join("run.log"))?;
    let _ = std::fs::remove_dir_all(&target);
    if m.code != Some(0) {
        bail!("skopeo copy failed: {}", m.tail(5));
    }
    Ok(m)
}

/// Phases of one run from its stamped log lines: when each marker line
/// arrived (the debug-only ones are missing at `info`).
fn phases(m: &Measured, catalog: &str) -> Vec<(String, f64)> {
    let secs = |t: &Duration| t.as_secs_f64();
    let reads: Vec<f64> = m
        .lines
        .iter()
        .filter(|(_, l)| l.contains("reading a file out of an image"))
        .map(|(t, _)| secs(t))
        .collect();
    let selected = m.first(&format!("catalog {catalog}:")).map(|(t, _)| *t);
    // The first registry lookup after the plugin's answer that is not the
    // catalog's own (debug only): resolution has begun.
    let repo = catalog
        .split_once('/')
        .map_or(catalog, |(_, r)| r)
        .rsplit_once(':')
        .map_or(catalog, |(r, _)| r);
    let resolving = selected.and_then(|after| {
        m.lines
            .iter()
            .find(|(t, l)| *t > after && l.contains("no credentials found") && !l.contains(repo))
            .map(|(t, _)| secs(t))
    });
    let marks = [
        (
            "workspace opened",
            m.first("workspace ").map(|(t, _)| secs(t)),
        ),
        ("FBC extraction 1 (read) asked", reads.first().copied()),
        ("catalog read + selected", selected.as_ref().map(secs)),
        ("FBC extraction 2 (render) asked", reads.get(1).copied()),
        ("resolution begun", resolving),
        (
            "first image unresolvable",
            m.first("cannot resolve").map(|(t, _)| secs(t)),
        ),
        ("last log line", m.lines.last().map(|(t, _)| secs(t))),
        ("exit", Some(m.secs())),
    ];
    marks
        .into_iter()
        .filter_map(|(what, t)| Some((what.to_string(), t?)))
        .collect()
}

// ---------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------

struct Row {
    form: Form,
    /// Seconds from spawn to the rebuilt catalog's build (the plugin has read,
    /// selected and rendered): the catalog's share of the run.
    catalog_secs: Option<f64>,
    fbc_mb: f64,
    packages: usize,
    bundles: usize,
    selection: String,
    kept: String,
    images: String,
    secs: Option<f64>,
    rss: Option<u64>,
    cpu: Option<f64>,
    /// Median cores the whole machine kept busy during the runs.
    busy: Option<f64>,
    skopeo: f64,
    note: String,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn median(v: Vec<f64>) -> Option<f64> {
    stats::median(v)
}

/// `(seconds, bytes)` targets of a catalog of `fbc_bytes`.
fn targets(fbc_bytes: u64) -> (f64, u64, &'static str) {
    if fbc_bytes >= 400_000_000 {
        (10.0, 1_000_000_000, "500 MB: ≤ 10 s, ≤ 1 GB")
    } else {
        (3.0, 300_000_000, "120 MB: ≤ 3 s, ≤ 300 MB")
    }
}

fn spec_for(opts: &Opts, form: Form, host: &str) -> ScaleSpec {
    let mut spec = if opts.quick {
        ScaleSpec::quick(form, host)
    } else {
        ScaleSpec::red_hat(form, host)
    };
    if let Some(p) = opts.packages {
        spec.packages = p;
    }
    if let Some(b) = opts.bundles {
        spec.bundles = b;
    }
    spec
}

fn print_layer(spec: &ScaleSpec, layer: &ScaleLayer, took: Duration) {
    let s = &layer.stats;
    println!(
        "  {}: {:.1} MB of FBC JSON in {} files ({} packages, {} channels, {} entries, {} skips, {} bundles, {} related images, {} bundle objects; largest file {:.1} MB); layer {:.1} MB gzip'd (tar {:.1} MB), generated in {:.1?}",
        spec.form.name(),
        mb(s.fbc_bytes),
        s.files,
        s.packages,
        s.channels,
        s.entries,
        s.skips,
        s.bundles,
        s.related_images,
        s.bundle_objects,
        mb(s.largest_file),
        mb(layer.size),
        mb(layer.tar_size),
        took
    );
}

async fn bench(opts: &Opts, work: &Path) -> anyhow::Result<()> {
    let skopeo_version = Command::new("skopeo")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .map_err(|e| anyhow::anyhow!(tools::not_started("skopeo", &e)))?;
    println!(
        "oc-mirror-operator-bench: forms {}, {} run(s), {skopeo_version}, {} cores",
        opts.forms
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", "),
        opts.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if opts.quick {
        println!("  --quick: small catalogs, the targets are only indicative");
    }
    let source = Registry::start(RegistryOptions::default()).await?;
    let host = source.host();

    if opts.generate_only {
        for &form in &opts.forms {
            let spec = spec_for(opts, form, &host);
            let t = Instant::now();
            let layer = catalog_scale::write_layer(&spec, work)?;
            print_layer(&spec, &layer, t.elapsed());
            println!(
                "  10-package selection: {}",
                spec.selection(LISTED)?.join(", ")
            );
            if opts.keep {
                println!("  kept {}", layer.path.display());
            } else {
                let _ = std::fs::remove_file(&layer.path);
            }
        }
        return Ok(());
    }

    // Never written to by a dry run; oc-mirror may look at it.
    let mirror = Registry::start(RegistryOptions::default()).await?;
    let setup = Setup {
        oc_mirror: tools::oc_mirror_binary()?,
        mirror_host: mirror.host(),
        work: work.to_path_buf(),
        keep: opts.keep,
    };

    // Warm the plugin cache (the operator plugin is compiled once per
    // oc-mirror build) with a small catalog, untimed.
    let small = Catalog::small()
        .push(source.client(), &CatalogImage::new("warmup/index", "v1"))
        .await?;
    let warm = dry_run(
        &setup,
        &small.reference,
        &Selection {
            name: "warm-up".into(),
            packages: Vec::new(),
        },
        "00-warm-up",
        &[],
    )?;
    println!(
        "  warm-up (plugin cache): {:.2} s{}",
        warm.measured.secs(),
        warm.failure
            .as_ref()
            .map(|f| format!(" — {f}"))
            .unwrap_or_default()
    );

    let mut rows = Vec::new();
    let mut defaults = Vec::new();
    let mut phase_reports = Vec::new();
    for (f, &form) in opts.forms.iter().enumerate() {
        let spec = spec_for(opts, form, &host);
        println!();
        let t = Instant::now();
        let layer = catalog_scale::write_layer(&spec, work)?;
        print_layer(&spec, &layer, t.elapsed());
        let repo = format!("redhat/{}-index", form.name());
        let t = Instant::now();
        let pushed = catalog_scale::push_catalog(source.client(), &layer, &repo, TAG).await?;
        println!(
            "  pushed {} ({}, {:.1} MB) in {:.1?}",
            pushed.reference,
            pushed.digest,
            mb(pushed.total_size),
            t.elapsed()
        );
        let t = Instant::now();
        let tar_bytes = std::io::copy(
            &mut flate2::read::GzDecoder::new(BufReader::with_capacity(
                1 << 20,
                File::open(&layer.path)?,
            )),
            &mut std::io::sink(),
        )?;
        let gunzip = t.elapsed();
        println!(
            "  reference: one gunzip of the layer ({:.1} MB → {:.1} MB, flate2, one core) takes {:.2} s",
            mb(layer.size),
            mb(tar_bytes),
            gunzip.as_secs_f64()
        );
        let _ = std::fs::remove_file(&layer.path);
        let stats = layer.stats.clone();
        let catalog = pushed.reference.clone();
        let selections = [
            Selection {
                name: "heads only".into(),
                packages: Vec::new(),
            },
            Selection {
                name: format!("{LISTED} packages"),
                packages: spec.selection(LISTED)?,
            },
        ];
        println!(
            "  {LISTED}-package selection: {}",
            selections[1].packages.join(", ")
        );

        let mut skopeo_secs = Vec::new();
        let mut skopeo_rss = 0;
        let mut timed: Vec<Vec<DryRun>> = selections.iter().map(|_| Vec::new()).collect();
        let limit = opts.timed_memory_limit.to_string();
        for run in 1..=opts.runs {
            // Order alternates so neither tool always runs on a warmer cache.
            let skopeo_first = run % 2 == 0;
            if skopeo_first {
                let m = skopeo_copy(&setup, &catalog, &format!("{f}{run}-skopeo"))?;
                skopeo_secs.push(m.secs());
                skopeo_rss = skopeo_rss.max(m.peak_rss);
            }
            for (s, selection) in selections.iter().enumerate() {
                let d = dry_run(
                    &setup,
                    &catalog,
                    selection,
                    &format!("{f}{run}-{}-{s}", form.name()),
                    &["--plugin-memory-limit", &limit, "--plugin-timeout", "10m"],
                )?;
                println!(
                    "  run {run}, {}: {:.2} s, {:.0} MB peak RSS, {:.2} s CPU (machine busy {:.2} cores), exit {:?}, {} bundles, {} images, {} missing{}",
                    selection.name,
                    d.measured.secs(),
                    mb(d.measured.peak_rss),
                    d.measured.cpu_secs,
                    d.measured.machine_busy_secs / d.measured.secs(),
                    d.measured.code,
                    d.bundles.map_or("?".into(), |n| n.to_string()),
                    d.images.map_or("?".into(), |n| n.to_string()),
                    d.missing.map_or("?".into(), |n| n.to_string()),
                    d.failure
                        .as_ref()
                        .map(|f| format!(" — FAILED: {f}"))
                        .unwrap_or_default()
                );
                timed[s].push(d);
            }
            if !skopeo_first {
                let m = skopeo_copy(&setup, &catalog, &format!("{f}{run}-skopeo"))?;
                skopeo_secs.push(m.secs());
                skopeo_rss = skopeo_rss.max(m.peak_rss);
            }
            println!(
                "  run {run}, skopeo copy: {:.2} s",
                skopeo_secs.last().copied().unwrap_or(f64::NAN)
            );
        }
        let skopeo = median(skopeo_secs).unwrap_or(f64::NAN);
        for (s, selection) in selections.iter().enumerate() {
            let ok: Vec<&DryRun> = timed[s].iter().filter(|d| d.failure.is_none()).collect();
            let first = ok.first();
            rows.push(Row {
                form,
                catalog_secs: median(
                    ok.iter()
                        .filter_map(|d| {
                            d.measured
                                .first("INFO building ")
                                .map(|(t, _)| t.as_secs_f64())
                        })
                        .collect(),
                ),
                fbc_mb: mb(stats.fbc_bytes),
                packages: stats.packages,
                bundles: stats.bundles,
                selection: selection.name.clone(),
                kept: first
                    .and_then(|d| Some(format!("{} ({} pkgs)", d.bundles?, d.packages?)))
                    .unwrap_or_else(|| "FAILED".into()),
                images: first
                    .map(|d| {
                        format!(
                            "{} ({} missing, {} mapped)",
                            d.images.map_or("?".into(), |n| n.to_string()),
                            d.missing.map_or("?".into(), |n| n.to_string()),
                            d.mapped.map_or("?".into(), |n| n.to_string())
                        )
                    })
                    .unwrap_or_else(|| "—".into()),
                secs: median(ok.iter().map(|d| d.measured.secs()).collect()),
                rss: ok.iter().map(|d| d.measured.peak_rss).max(),
                cpu: median(ok.iter().map(|d| d.measured.cpu_secs).collect()),
                busy: median(
                    ok.iter()
                        .map(|d| d.measured.machine_busy_secs / d.measured.secs())
                        .collect(),
                ),
                skopeo,
                note: if ok.len() < timed[s].len() {
                    format!(
                        "{} of {} runs FAILED",
                        timed[s].len() - ok.len(),
                        timed[s].len()
                    )
                } else {
                    String::new()
                },
            });
        }
        println!(
            "  skopeo copy median {skopeo:.2} s, peak RSS {:.0} MB",
            mb(skopeo_rss)
        );

        // The defaults: memory limit 256 MiB, plugin timeout 60 s.
        let d = dry_run(
            &setup,
            &catalog,
            &selections[0],
            &format!("{f}9-{}-default-limit", form.name()),
            &[
                "--plugin-memory-limit",
                &DEFAULT_MEMORY_LIMIT_MIB.to_string(),
                "--log-level",
                "debug",
            ],
        )?;
        let memory_stop = d
            .measured
            .first("tried to use more than")
            .map(|(_, l)| l.clone());
        println!(
            "  heads only with --plugin-memory-limit {DEFAULT_MEMORY_LIMIT_MIB} (debug log): {:.2} s, {:.0} MB, exit {:?}: {}",
            d.measured.secs(),
            mb(d.measured.peak_rss),
            d.measured.code,
            match (&d.failure, &memory_stop) {
                (None, _) => "the default limit suffices".to_string(),
                (Some(_), Some(line)) => format!("FAILED, over the limit: {line}"),
                (Some(f), None) => format!("FAILED: {f}"),
            }
        );
        phase_reports.push((
            form,
            "heads only, debug log".to_string(),
            phases(&d.measured, &catalog),
        ));
        if let Some(d) = timed[0].iter().find(|d| d.failure.is_none()) {
            phase_reports.push((form, "heads only".into(), phases(&d.measured, &catalog)));
        }
        if let Some(d) = timed[1].iter().find(|d| d.failure.is_none()) {
            phase_reports.push((
                form,
                format!("{LISTED} packages"),
                phases(&d.measured, &catalog),
            ));
        }
        defaults.push((form, d, memory_stop));
    }

    println!();
    println!(
        "| catalog form | FBC MB | packages | bundles | selection | bundles kept | images (missing, mapped) | catalog s (read, select, render) | seconds (whole dry run) | peak RSS MB | CPU s | machine busy (cores) | skopeo copy s | ratio to skopeo | target | time (catalog / whole) | RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let (t_secs, t_rss, t_name) = targets((r.fbc_mb * 1e6) as u64);
        let verdict = |ok: Option<bool>| match ok {
            Some(true) => "PASS",
            Some(false) => "**MISS**",
            None => "—",
        };
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} / {} | {} |{}",
            r.form.name(),
            r.fbc_mb,
            r.packages,
            r.bundles,
            r.selection,
            r.kept,
            r.images,
            r.catalog_secs.map_or("—".into(), |s| format!("{s:.2}")),
            r.secs.map_or("—".into(), |s| format!("{s:.2}")),
            r.rss.map_or("—".into(), |b| format!("{:.0}", mb(b))),
            r.cpu.map_or("—".into(), |c| format!("{c:.2}")),
            r.busy.map_or("—".into(), |c| format!("{c:.2}")),
            r.skopeo,
            r.secs
                .map_or("—".into(), |s| format!("{:.1}×", s / r.skopeo)),
            t_name,
            verdict(r.catalog_secs.map(|s| s <= t_secs)),
            verdict(r.secs.map(|s| s <= t_secs)),
            verdict(r.rss.map(|b| b <= t_rss)),
            if r.note.is_empty() {
                String::new()
            } else {
                format!(" {}", r.note)
            }
        );
    }
    println!();
    println!(
        "Default plugin limits (heads only, --plugin-memory-limit {DEFAULT_MEMORY_LIMIT_MIB}, --plugin-timeout 60s):"
    );
    for (form, d, stop) in &defaults {
        println!(
            "  {}: {}",
            form.name(),
            match (&d.failure, stop) {
                (None, _) => format!(
                    "ok, {:.2} s, {:.0} MB peak RSS",
                    d.measured.secs(),
                    mb(d.measured.peak_rss)
                ),
                (Some(_), Some(line)) => format!("FAILED, over the limit: {line}"),
                (Some(f), None) => format!("FAILED: {f}"),
            }
        );
    }
    println!();
    println!("Phases (seconds since spawn, from the log lines' arrival):");
    for (form, what, marks) in &phase_reports {
        println!(
            "  {} — {what}: {}",
            form.name(),
            marks
                .iter()
                .map(|(m, t)| format!("{m} {t:.2}"))
                .collect::<Vec<_>>()
                .join(" · ")
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let temp = match &opts.work_dir {
        Some(_) => None,
        None => match tempfile::Builder::new()
            .prefix("oc-mirror-operator-bench")
            .tempdir()
        {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let work = opts
        .work_dir
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.path().to_path_buf()))
        .unwrap_or_default();
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("error: {}: {e}", work.display());
        return ExitCode::FAILURE;
    }
    let result = bench(&opts, &work).await;
    if let Some(t) = temp
        && opts.keep
    {
        let kept = t.keep();
        eprintln!("work directory kept: {}", kept.display());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
