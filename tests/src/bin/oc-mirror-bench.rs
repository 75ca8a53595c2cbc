//! `oc-mirror-bench`: oc-mirror against skopeo, in the same run, on the same
//! machine, against the same local source registry.
//!
//! - Builds a synthetic set in a local source registry ([`World::bench`]:
//!   images sharing two base layers, plus one unique layer each; ≥ 100 MB of
//!   distinct blobs by default).
//! - Times, each `--runs` times (the median is reported), against a fresh
//!   destination registry each time:
//!   a) a full copy: oc-mirror (fresh workspace) and `skopeo sync`;
//!   b) a no-op re-run of each (same destination; oc-mirror: same workspace);
//!   c) oc-mirror with a cold (fresh) workspace and a warm destination.
//! - Measures peak RSS (`VmHWM` of `/proc/<pid>/status`, polled until the
//!   process exits) while copying a second set with very large layers
//!   (2 × 256 MiB by default), for oc-mirror and skopeo.
//! - Accounts CPU time per run: the tool's own (`/proc/<pid>/stat`), both
//!   registries' (their processes, found by config path) and the whole
//!   machine's (`/proc/stat`), to show where the time goes on a small machine.
//! - Checks every run: exit status, and the destination holds every image,
//!   tag → the source's digest, with all blobs. A run that fails a check is
//!   reported as FAILED and does not count.
//! - Prints the table with the targets of the issue, PASS/MISS. A missed
//!   target is a finding: the exit code is 0 unless something errored or a
//!   run was wrong.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::fixture::{Format, ImageSpec, LayerSpec};
use oc_mirror_tests::world::{Artifact, WorldItem};
use oc_mirror_tests::{PushedWorld, Registry, RegistryOptions, World};

/// Repository prefix in every destination.
const PREFIX: &str = "mirror";
/// Target: full copy at most this fraction of skopeo's time.
const TARGET_FULL_RATIO: f64 = 0.5;
/// Target: no-op re-run of 20 images within this many seconds.
const TARGET_NOOP_SECS: f64 = 1.0;
/// Target: peak RSS at most this many bytes (150 MB, decimal), whatever the layer size.
const TARGET_RSS_BYTES: u64 = 150_000_000;
/// How often the RSS poller reads `/proc/<pid>/status`.
const POLL: Duration = Duration::from_millis(5);

const USAGE: &str = "\
usage: oc-mirror-bench [--images N] [--unique-mib N] [--big-layer-mib N]
                       [--big-images N] [--runs N] [--quick]
                       [--parallel-images N] [--parallel-layers N]
                       [--work-dir DIR] [--keep]

Times oc-mirror (found next to this executable) against `skopeo sync` on local
docker-registry instances and prints a table against the issue's targets.

  --images N           images in the synthetic set (default 20)
  --unique-mib N       MiB of unique layer per image (default 5; + 5 MiB of
                       shared base layers)
  --big-layer-mib N    size of the one layer of each image of the peak-RSS
                       set (default 256; 0 skips it)
  --big-images N       images in the peak-RSS set (default 2)
  --runs N             repetitions of each timed case; the median counts (default 3)
  --quick              small sizes for a smoke test (4 images × 1 MiB, 16 MiB
                       big layers, 1 run); targets are then only indicative
  --parallel-images N  passed to oc-mirror (default: oc-mirror's)
  --parallel-layers N  passed to oc-mirror (default: oc-mirror's)
  --work-dir DIR       where workspaces and logs go (default: a temporary
                       directory, removed at the end unless --keep or a failure)
  --keep               keep the work directory
";

#[derive(Debug, Clone)]
struct Opts {
    images: usize,
    unique_mib: usize,
    big_layer_mib: usize,
    big_images: usize,
    runs: usize,
    quick: bool,
    parallel_images: Option<usize>,
    parallel_layers: Option<usize>,
    work_dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> anyhow::Result<Option<Opts>> {
    let mut o = Opts {
        images: 20,
        unique_mib: 5,
        big_layer_mib: 256,
        big_images: 2,
        runs: 3,
        quick: false,
        parallel_images: None,
        parallel_layers: None,
        work_dir: None,
        keep: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    // --quick first, so that explicit sizes given with it still win.
    if args.iter().any(|a| a == "--quick") {
        o.quick = true;
        o.images = 4;
        o.unique_mib = 1;
        o.big_layer_mib = 16;
        o.runs = 1;
    }
    let mut it = args.into_iter();
    let number = |it: &mut std::vec::IntoIter<String>, flag: &str| -> anyhow::Result<usize> {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        v.parse()
            .with_context(|| format!("{flag} {v}: not a whole number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--quick" => {}
            "--keep" => o.keep = true,
            "--images" => o.images = number(&mut it, "--images")?,
            "--unique-mib" => o.unique_mib = number(&mut it, "--unique-mib")?,
            "--big-layer-mib" => o.big_layer_mib = number(&mut it, "--big-layer-mib")?,
            "--big-images" => o.big_images = number(&mut it, "--big-images")?,
            "--runs" => o.runs = number(&mut it, "--runs")?,
            "--parallel-images" => o.parallel_images = Some(number(&mut it, "--parallel-images")?),
            "--parallel-layers" => o.parallel_layers = Some(number(&mut it, "--parallel-layers")?),
            "--work-dir" => {
                o.work_dir = Some(it.next().context("--work-dir needs a value")?.into());
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if o.images == 0 || o.runs == 0 {
        bail!("--images and --runs must be at least 1");
    }
    if o.big_layer_mib > 0 && o.big_images == 0 {
        bail!("--big-images must be at least 1 (or give --big-layer-mib 0)");
    }
    Ok(Some(o))
}

/// `oc-mirror` next to this executable.
fn oc_mirror_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let path = exe
        .parent()
        .context("this executable has no parent directory")?
        .join("oc-mirror");
    if !path.is_file() {
        bail!(
            "no oc-mirror binary at {}\nbuild it first: cargo build --release --workspace --bins",
            path.display()
        );
    }
    Ok(path)
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some(text.trim().to_string())
}

/// One measured process run.
#[derive(Debug, Clone)]
struct Measured {
    elapsed: Duration,
    /// `VmHWM`, bytes (0 if it could never be read).
    peak_rss: u64,
    /// The process's own CPU time (user + system), seconds, as last sampled.
    cpu_secs: f64,
    /// CPU time the whole machine was busy (all cores, every process:
    /// the tool and both registries), seconds.
    machine_busy_secs: f64,
    success: bool,
    code: Option<i32>,
    stdout: String,
}

/// `USER_HZ`: the unit of the tick counts in `/proc` (100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// utime + stime, in ticks, from the text of `/proc/<pid>/stat`.
fn proc_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks (user + system) used so far by process `pid`.
fn pid_cpu_ticks(pid: u32) -> Option<u64> {
    proc_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The pid of a test registry's `docker-registry serve <workdir>/config.yml`,
/// found by its config path (the registry API does not expose the process).
fn registry_pid(registry: &Registry) -> Option<u32> {
    let config = registry.log_path().parent()?.join("config.yml");
    let config = config.to_str()?.as_bytes().to_vec();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args.contains(&b"serve".as_slice()) && args.contains(&config.as_slice()) {
            return Some(pid);
        }
    }
    None
}

/// Busy ticks of the whole machine (all but idle and iowait) from `/proc/stat`.
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
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let total: u64 = v.iter().take(8).sum();
    total - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cmd`, stdout captured (and appended to `log`), stderr to `log`,
/// timing it from spawn to exit and polling its `VmHWM` meanwhile. The status
/// file is opened once, so a recycled pid can never be read by mistake.
fn measure(mut cmd: Command, log: &Path) -> anyhow::Result<Measured> {
    let mut log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    writeln!(log_file, "$ {cmd:?}")?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file.try_clone()?));
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
    let mut stdout = child.stdout.take().context("no stdout pipe")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let status = child.wait().context("waiting for the child")?;
    let elapsed = started.elapsed();
    let busy_after = machine_busy_ticks();
    done.store(true, Ordering::Relaxed);
    let (peak_kib, cpu_ticks) = poller.join().unwrap_or((0, 0));
    let stdout = reader.join().unwrap_or_default();
    writeln!(
        log_file,
        "--- stdout ---\n{stdout}--- {status} after {elapsed:?}, VmHWM {peak_kib} kB, CPU {cpu_ticks} ticks"
    )?;
    Ok(Measured {
        elapsed,
        peak_rss: peak_kib * 1024,
        cpu_secs: cpu_ticks as f64 / TICKS_PER_SEC,
        machine_busy_secs: busy_after.saturating_sub(busy_before) as f64 / TICKS_PER_SEC,
        success: status.success(),
        code: status.code(),
        stdout,
    })
}

/// One image the destination must hold.
struct Want {
    repo: String,
    tag: String,
    digest: String,
    blobs: Vec<String>,
}

/// Where each image of `world` lands: oc-mirror keeps the source path under
/// the prefix; `skopeo sync` (without `--scoped`) keeps only its last element.
fn wants(world: &PushedWorld, skopeo_layout: bool) -> Vec<Want> {
    world
        .entries
        .iter()
        .map(|e| {
            let path = if skopeo_layout {
                e.repo.rsplit('/').next().unwrap_or(&e.repo).to_string()
            } else {
                e.repo.clone()
            };
            Want {
                repo: format!("{PREFIX}/{path}"),
                tag: e.tags.first().cloned().unwrap_or_default(),
                digest: e.digest.clone(),
                blobs: e.blobs().into_keys().collect(),
            }
        })
        .collect()
}

/// Checks that `dest` holds every wanted image, digest for digest, with its blobs.
async fn verify(dest: &Registry, wants: &[Want]) -> Result<(), String> {
    for w in wants {
        let at = format!("{}/{}:{}", dest.host(), w.repo, w.tag);
        match dest.manifest(&w.repo, &w.tag).await {
            Ok(Some((digest, _, _))) if digest == w.digest => {}
            Ok(Some((digest, _, _))) => {
                return Err(format!("{at} is {digest}, the source has {}", w.digest));
            }
            Ok(None) => return Err(format!("{at} is missing")),
            Err(e) => return Err(format!("{at}: {e:#}")),
        }
        for blob in &w.blobs {
            match dest.blob_exists(&w.repo, blob).await {
                Ok(true) => {}
                Ok(false) => return Err(format!("{at}: blob {blob} is missing")),
                Err(e) => return Err(format!("{at}: {e:#}")),
            }
        }
    }
    Ok(())
}

/// The numbers in oc-mirror's `images:` summary line: (copied, already, failed).
fn oc_images_line(stdout: &str) -> Option<(u64, u64, u64)> {
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("images:"))?;
    let mut copied = None;
    let mut already = None;
    let mut failed = None;
    for part in line.split(", ") {
        let (n, label) = part.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        match label {
            "copied" => copied = Some(n),
            "already in the mirror" => already = Some(n),
            "failed" => failed = Some(n),
            _ => {}
        }
    }
    Some((copied?, already?, failed?))
}

fn oc_blobs_line(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("blobs:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Which tool a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    OcMirror,
    Skopeo,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::OcMirror => "oc-mirror",
            Tool::Skopeo => "skopeo",
        }
    }
}

/// Everything needed to run either tool on one set of images.
struct Job {
    name: &'static str,
    world: PushedWorld,
    isc: PathBuf,
    sync_yaml: PathBuf,
}

struct Bench {
    opts: Opts,
    oc_mirror: PathBuf,
    work: PathBuf,
    source: Registry,
    counter: usize,
    /// Runs that failed a check, with why (the bench then exits 1).
    failures: Vec<String>,
}

/// One run's outcome.
#[derive(Debug, Clone)]
struct Sample {
    m: Measured,
    /// Successful blob GETs the source registry served during the run.
    source_blob_gets: usize,
    /// CPU seconds both registries (source and destination) used during the run.
    registry_cpu_secs: Option<f64>,
    /// Problem found by the checks (the sample does not count).
    invalid: Option<String>,
    note: String,
}

impl Bench {
    fn next_dir(&mut self, what: &str) -> anyhow::Result<PathBuf> {
        self.counter += 1;
        let dir = self.work.join(format!("{:02}-{what}", self.counter));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn oc_command(&self, job: &Job, workspace: &Path, dest: &Registry) -> Command {
        let mut cmd = Command::new(&self.oc_mirror);
        cmd.arg("-c")
            .arg(&job.isc)
            .arg("--workspace")
            .arg(format!("file://{}", workspace.display()))
            .arg(format!("docker://{}/{PREFIX}", dest.host()))
            .arg("--dest-tls-verify=false")
            .arg("--src-tls-verify=false");
        if let Some(n) = self.opts.parallel_images {
            cmd.arg("--parallel-images").arg(n.to_string());
        }
        if let Some(n) = self.opts.parallel_layers {
            cmd.arg("--parallel-layers").arg(n.to_string());
        }
        cmd
    }

    fn skopeo_command(&self, job: &Job, dest: &Registry) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.args(["sync", "--src", "yaml", "--dest", "docker"])
            .arg(&job.sync_yaml)
            .arg(format!("{}/{PREFIX}", dest.host()))
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"]);
        cmd
    }

    /// Runs one tool once against `dest` and checks the result.
    /// `expect_copies`: whether images should be copied (false: a no-op).
    async fn run(
        &mut self,
        tool: Tool,
        case: &str,
        job: &Job,
        dest: &Registry,
        workspace: Option<&Path>,
        expect_copies: bool,
    ) -> anyhow::Result<Sample> {
        let slug: String = case
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let dir = self.next_dir(&format!("{}-{slug}", tool.name()))?;
        let log = dir.join("run.log");
        let cmd = match tool {
            Tool::OcMirror => {
                self.oc_command(job, workspace.context("oc-mirror needs a workspace")?, dest)
            }
            Tool::Skopeo => self.skopeo_command(job, dest),
        };
        let mark = self.source.log_mark();
        let pids = [registry_pid(&self.source), registry_pid(dest)];
        let ticks = |pids: &[Option<u32>; 2]| -> Option<u64> {
            Some(pid_cpu_ticks(pids[0]?)? + pid_cpu_ticks(pids[1]?)?)
        };
        let before = ticks(&pids);
        let m = measure(cmd, &log)?;
        let registry_cpu_secs = match (before, ticks(&pids)) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / TICKS_PER_SEC),
            _ => None,
        };
        let source_blob_gets = self
            .source
            .requests_since(mark)
            .iter()
            .filter(|r| r.method == "GET" && (r.status == 200 || r.status == 206))
            .filter(|r| r.uri.contains("/blobs/sha256:"))
            .count();
        let mut invalid = None;
        let mut note = String::new();
        if !m.success {
            invalid = Some(format!(
                "exited with {:?}; see {}\n{}",
                m.code,
                log.display(),
                tail(&log, 15)
            ));
        } else {
            let wanted = wants(&job.world, tool == Tool::Skopeo);
            if let Err(why) = verify(dest, &wanted).await {
                invalid = Some(format!(
                    "the destination is wrong after the run: {why}; see {}",
                    log.display()
                ));
            }
        }
        if tool == Tool::OcMirror && invalid.is_none() {
            let n = job.world.entries.len() as u64;
            match oc_images_line(&m.stdout) {
                Some((copied, already, 0)) => {
                    note = format!(
                        "{copied} copied, {already} present; blobs: {}",
                        oc_blobs_line(&m.stdout)
                    );
                    if expect_copies && copied != n {
                        invalid =
                            Some(format!("expected {n} images copied, summary says {copied}"));
                    }
                }
                Some((_, _, failed)) => {
                    invalid = Some(format!("summary reports {failed} failed images"));
                }
                None => invalid = Some("no summary on stdout".to_string()),
            }
        }
        let status = match &invalid {
            None => "ok".to_string(),
            Some(why) => format!("FAILED: {why}"),
        };
        println!(
            "  {:<9} {:<34} {:>6.2} s  RSS {:>7}  CPU: tool {:>4.2} s, registries {:>4.2} s, machine {:>4.2} s  src blob GETs {:>2}  {status}",
            tool.name(),
            format!("{} ({})", case, job.name),
            m.elapsed.as_secs_f64(),
            mb(m.peak_rss),
            m.cpu_secs,
            registry_cpu_secs.unwrap_or(f64::NAN),
            m.machine_busy_secs,
            source_blob_gets,
        );
        if !note.is_empty() {
            println!("            {note}");
        }
        if let Some(why) = &invalid {
            self.failures
                .push(format!("{} {case} ({}): {why}", tool.name(), job.name));
        }
        Ok(Sample {
            m,
            source_blob_gets,
            registry_cpu_secs,
            invalid,
            note,
        })
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Median seconds of the valid samples.
fn median_secs(samples: &[Sample]) -> Option<f64> {
    median(
        samples
            .iter()
            .filter(|s| s.invalid.is_none())
            .map(|s| s.m.elapsed.as_secs_f64())
            .collect(),
    )
}

fn max_rss(samples: &[Sample]) -> Option<u64> {
    samples
        .iter()
        .filter(|s| s.invalid.is_none())
        .map(|s| s.m.peak_rss)
        .max()
}

fn all_secs(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|s| match s.invalid {
            None => format!("{:.2}", s.m.elapsed.as_secs_f64()),
            Some(_) => "FAILED".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_isc(path: &Path, source: &Registry, world: &PushedWorld) -> anyhow::Result<()> {
    let mut yaml = String::from(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n",
    );
    for e in &world.entries {
        yaml.push_str(&format!(
            "    - name: {}/{}\n",
            source.host(),
            e.reference()
        ));
    }
    std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))
}

/// skopeo 1.9's `sync --src yaml` file (see `man skopeo-sync`).
fn write_sync_yaml(path: &Path, source: &Registry, world: &PushedWorld) -> anyhow::Result<()> {
    let mut yaml = format!("{}:\n  tls-verify: false\n  images:\n", source.host());
    for e in &world.entries {
        let tags: Vec<String> = e.tags.iter().map(|t| format!("\"{t}\"")).collect();
        yaml.push_str(&format!("    {}: [{}]\n", e.repo, tags.join(", ")));
    }
    std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))
}

/// The peak-RSS set: `images` images of one `layer_mib` MiB layer each.
fn big_world(images: usize, layer_mib: usize) -> World {
    World {
        items: (0..images)
            .map(|i| WorldItem {
                name: format!("big-{i:03}"),
                artifact: Artifact::Image(ImageSpec::new(
                    &format!("bench/big-{i:03}"),
                    Some("v1"),
                    if i % 2 == 0 {
                        Format::Docker
                    } else {
                        Format::Oci
                    },
                    vec![LayerSpec {
                        seed: 20_000 + i as u64,
                        size: layer_mib << 20,
                    }],
                )),
                extra_tags: Vec::new(),
            })
            .collect(),
    }
}

struct Row {
    case: String,
    oc: Option<f64>,
    skopeo: Option<f64>,
    unit: &'static str,
    target: String,
    result: String,
}

fn fmt_value(v: Option<f64>, unit: &str) -> String {
    match (v, unit) {
        (None, _) => "—".to_string(),
        (Some(v), "s") => format!("{v:.2} s"),
        (Some(v), "MB") => format!("{:.1} MB", v / 1e6),
        (Some(v), _) => format!("{v}"),
    }
}

fn ratio(oc: Option<f64>, skopeo: Option<f64>) -> Option<f64> {
    match (oc, skopeo) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn print_table(rows: &[Row]) {
    let header = ["case", "oc-mirror", "skopeo", "ratio", "target", "result"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.case.clone(),
                fmt_value(r.oc, r.unit),
                fmt_value(r.skopeo, r.unit),
                ratio(r.oc, r.skopeo)
                    .map(|x| format!("{x:.2}×"))
                    .unwrap_or_else(|| "—".to_string()),
                r.target.clone(),
                r.result.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |", parts.join(" | "))
    };
    println!("{}", line(&header.map(String::from)));
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in &cells {
        println!("{}", line(row));
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn machine() -> String {
    let cpus = cores();
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|k| format!("{:.1} GiB", k as f64 / (1u64 << 20) as f64))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    format!("{cpus} CPUs ({model}), {mem} RAM, Linux {kernel}")
}

async fn bench(opts: Opts) -> anyhow::Result<bool> {
    let oc_mirror = oc_mirror_binary()?;
    let skopeo_version = command_output("skopeo", &["--version"])
        .context("skopeo is needed for the comparison (apt-get install skopeo)")?;
    let oc_version =
        command_output(oc_mirror.to_str().unwrap_or("oc-mirror"), &["version"]).unwrap_or_default();
    let registry_version = command_output("docker-registry", &["--version"]).unwrap_or_default();

    let (work, tempdir) = match &opts.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (std::fs::canonicalize(dir)?, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("oc-mirror-bench-")
                .tempdir()
                .context("creating the work directory")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let total = Instant::now();
    println!("oc-mirror-bench");
    println!("  machine:   {}", machine());
    println!("  oc-mirror: {oc_version} ({})", oc_mirror.display());
    println!("  skopeo:    {skopeo_version}");
    println!("  registry:  {registry_version}");
    println!("  work dir:  {}", work.display());
    println!(
        "  settings:  {} images × {} MiB unique, {} run(s) per case, big set {} × {} MiB{}",
        opts.images,
        opts.unique_mib,
        opts.runs,
        opts.big_images,
        opts.big_layer_mib,
        if opts.quick { " (--quick)" } else { "" }
    );

    println!("\n==> Building the synthetic set in a local source registry");
    let source = Registry::start(RegistryOptions::default()).await?;
    let t = Instant::now();
    let world = World::bench(opts.images, opts.unique_mib << 20)
        .push(&source)
        .await?;
    let bytes = world.unique_blob_bytes();
    let per_image_refs: u64 = world
        .entries
        .iter()
        .map(|e| e.blobs().values().sum::<u64>())
        .sum();
    println!(
        "  {} images in {} ({} distinct blobs, {} bytes = {} = {} of distinct blobs; {} counting shared ones per image), pushed in {:.1} s",
        world.entries.len(),
        source.url(),
        world.blobs().len(),
        bytes,
        mb(bytes),
        mib(bytes),
        mib(per_image_refs),
        t.elapsed().as_secs_f64()
    );
    let enough = bytes >= 100_000_000 && world.entries.len() >= 20;
    if enough {
        println!("  [ok] ≥ 20 images and ≥ 100 MB of distinct blobs");
    } else {
        println!(
            "  [note] fewer than 20 images or less than 100 MB: below the issue's benchmark size"
        );
    }

    let mut b = Bench {
        opts: opts.clone(),
        oc_mirror,
        work: work.clone(),
        source,
        counter: 0,
        failures: Vec::new(),
    };
    let job = Job {
        name: "set",
        isc: work.join("isc.yaml"),
        sync_yaml: work.join("sync.yaml"),
        world,
    };
    write_isc(&job.isc, &b.source, &job.world)?;
    write_sync_yaml(&job.sync_yaml, &b.source, &job.world)?;

    let mut oc_full = Vec::new();
    let mut oc_noop = Vec::new();
    let mut oc_cold = Vec::new();
    let mut sk_full = Vec::new();
    let mut sk_noop = Vec::new();
    for run in 0..opts.runs {
        println!(
            "\n==> Run {} of {} (fresh destination registry per tool)",
            run + 1,
            opts.runs
        );
        // Alternate which tool goes first, so neither always gets the warmer machine.
        let order = if run % 2 == 0 {
            [Tool::OcMirror, Tool::Skopeo]
        } else {
            [Tool::Skopeo, Tool::OcMirror]
        };
        for tool in order {
            let dest = Registry::start(RegistryOptions::default()).await?;
            match tool {
                Tool::OcMirror => {
                    let ws = b.next_dir("workspace")?;
                    oc_full.push(
                        b.run(tool, "full copy", &job, &dest, Some(&ws), true)
                            .await?,
                    );
                    oc_noop.push(
                        b.run(tool, "no-op re-run", &job, &dest, Some(&ws), false)
                            .await?,
                    );
                    let cold = b.next_dir("workspace-cold")?;
                    oc_cold.push(
                        b.run(
                            tool,
                            "cold workspace, warm dest",
                            &job,
                            &dest,
                            Some(&cold),
                            false,
                        )
                        .await?,
                    );
                    let _ = std::fs::remove_dir_all(&ws);
                    let _ = std::fs::remove_dir_all(&cold);
                }
                Tool::Skopeo => {
                    sk_full.push(b.run(tool, "full copy", &job, &dest, None, true).await?);
                    sk_noop.push(
                        b.run(tool, "no-op re-run", &job, &dest, None, false)
                            .await?,
                    );
                }
            }
            drop(dest);
        }
    }

    let mut big_oc = Vec::new();
    let mut big_sk = Vec::new();
    let mut big_bytes = 0;
    if opts.big_layer_mib > 0 {
        println!(
            "\n==> Peak RSS: {} images with one {} MiB layer each",
            opts.big_images, opts.big_layer_mib
        );
        let t = Instant::now();
        let big = big_world(opts.big_images, opts.big_layer_mib)
            .push(&b.source)
            .await?;
        big_bytes = big.unique_blob_bytes();
        println!(
            "  pushed {} ({}) in {:.1} s",
            mb(big_bytes),
            mib(big_bytes),
            t.elapsed().as_secs_f64()
        );
        let big_job = Job {
            name: "big",
            isc: work.join("isc-big.yaml"),
            sync_yaml: work.join("sync-big.yaml"),
            world: big,
        };
        write_isc(&big_job.isc, &b.source, &big_job.world)?;
        write_sync_yaml(&big_job.sync_yaml, &b.source, &big_job.world)?;
        for run in 0..opts.runs {
            let order = if run % 2 == 0 {
                [Tool::OcMirror, Tool::Skopeo]
            } else {
                [Tool::Skopeo, Tool::OcMirror]
            };
            for tool in order {
                let dest = Registry::start(RegistryOptions::default()).await?;
                match tool {
                    Tool::OcMirror => {
                        let ws = b.next_dir("workspace-big")?;
                        big_oc.push(
                            b.run(tool, "big layers", &big_job, &dest, Some(&ws), true)
                                .await?,
                        );
                        let _ = std::fs::remove_dir_all(&ws);
                    }
                    Tool::Skopeo => {
                        big_sk.push(
                            b.run(tool, "big layers", &big_job, &dest, None, true)
                                .await?,
                        );
                    }
                }
                drop(dest);
            }
        }
    }

    // The table.
    let n = opts.images;
    let mut rows = Vec::new();
    let full_oc = median_secs(&oc_full);
    let full_sk = median_secs(&sk_full);
    let full_ratio = ratio(full_oc, full_sk);
    rows.push(Row {
        case: format!("a) full copy, {n} images, {}", mb(bytes)),
        oc: full_oc,
        skopeo: full_sk,
        unit: "s",
        target: format!("≤ {TARGET_FULL_RATIO}× skopeo"),
        result: match full_ratio {
            Some(r) if r <= TARGET_FULL_RATIO => "PASS".into(),
            Some(_) => "MISS".into(),
            None => "FAILED".into(),
        },
    });
    let noop_oc = median_secs(&oc_noop);
    rows.push(Row {
        case: format!("b) no-op re-run, {n} images"),
        oc: noop_oc,
        skopeo: median_secs(&sk_noop),
        unit: "s",
        target: format!("≤ {TARGET_NOOP_SECS} s"),
        result: match noop_oc {
            Some(t) if t <= TARGET_NOOP_SECS => "PASS".into(),
            Some(_) => "MISS".into(),
            None => "FAILED".into(),
        },
    });
    rows.push(Row {
        case: format!("c) cold workspace, warm destination, {n} images"),
        oc: median_secs(&oc_cold),
        skopeo: median_secs(&sk_noop),
        unit: "s",
        target: "— (skopeo: its no-op)".into(),
        result: if median_secs(&oc_cold).is_some() {
            "info".into()
        } else {
            "FAILED".into()
        },
    });
    rows.push(Row {
        case: format!("peak RSS, full copy of {n} images"),
        oc: max_rss(&oc_full).map(|v| v as f64),
        skopeo: max_rss(&sk_full).map(|v| v as f64),
        unit: "MB",
        target: "≤ 150 MB".into(),
        result: match max_rss(&oc_full) {
            Some(v) if v <= TARGET_RSS_BYTES => "PASS".into(),
            Some(_) => "MISS".into(),
            None => "FAILED".into(),
        },
    });
    if opts.big_layer_mib > 0 {
        rows.push(Row {
            case: format!(
                "big layers: copy {} × {} MiB layer",
                opts.big_images, opts.big_layer_mib
            ),
            oc: median_secs(&big_oc),
            skopeo: median_secs(&big_sk),
            unit: "s",
            target: "— (time, for reference)".into(),
            result: if median_secs(&big_oc).is_some() {
                "info".into()
            } else {
                "FAILED".into()
            },
        });
        rows.push(Row {
            case: format!(
                "peak RSS, {} × {} MiB layers",
                opts.big_images, opts.big_layer_mib
            ),
            oc: max_rss(&big_oc).map(|v| v as f64),
            skopeo: max_rss(&big_sk).map(|v| v as f64),
            unit: "MB",
            target: "≤ 150 MB".into(),
            result: match max_rss(&big_oc) {
                Some(v) if v <= TARGET_RSS_BYTES => "PASS".into(),
                Some(_) => "MISS".into(),
                None => "FAILED".into(),
            },
        });
    }

    println!(
        "\n==> Results (median of {} run(s); peak RSS is the maximum VmHWM over the runs)",
        opts.runs
    );
    print_table(&rows);
    println!("\nAll runs, seconds:");
    let detail = |label: &str, s: &[Sample]| {
        if !s.is_empty() {
            println!("  {label:<42} {}", all_secs(s));
        }
    };
    detail("oc-mirror full copy", &oc_full);
    detail("skopeo full copy", &sk_full);
    detail("oc-mirror no-op re-run", &oc_noop);
    detail("skopeo no-op re-run", &sk_noop);
    detail("oc-mirror cold workspace, warm destination", &oc_cold);
    detail("oc-mirror big layers", &big_oc);
    detail("skopeo big layers", &big_sk);
    if let (Some(oc), Some(sk)) = (full_oc, full_sk) {
        println!(
            "Throughput of the full copy ({}): oc-mirror {:.0} MB/s, skopeo {:.0} MB/s",
            mb(bytes),
            bytes as f64 / 1e6 / oc,
            bytes as f64 / 1e6 / sk
        );
    }
    if big_bytes > 0
        && let (Some(oc), Some(sk)) = (median_secs(&big_oc), median_secs(&big_sk))
    {
        println!(
            "Throughput of the big-layer copy ({}): oc-mirror {:.0} MB/s, skopeo {:.0} MB/s",
            mb(big_bytes),
            big_bytes as f64 / 1e6 / oc,
            big_bytes as f64 / 1e6 / sk
        );
    }
    let cpu = |label: &str, s: &[Sample]| {
        let valid: Vec<&Sample> = s.iter().filter(|s| s.invalid.is_none()).collect();
        if valid.is_empty() {
            return;
        }
        let med = |f: &dyn Fn(&Sample) -> f64| {
            median(valid.iter().map(|s| f(s)).collect()).unwrap_or(0.0)
        };
        let wall = med(&|s| s.m.elapsed.as_secs_f64());
        let machine = med(&|s| s.m.machine_busy_secs);
        let registries = med(&|s| s.registry_cpu_secs.unwrap_or(f64::NAN));
        println!(
            "  {label:<24} {wall:>5.2} s wall; CPU-s: tool {:>4.2}, registries {registries:>4.2}, whole machine {machine:>4.2} ({:>3.0}% of {} cores); registries alone need ≥ {:.2} s on {} cores",
            med(&|s| s.m.cpu_secs),
            100.0 * machine / (wall * cores() as f64),
            cores(),
            registries / cores() as f64,
            cores(),
        );
    };
    println!(
        "CPU (medians; `registries` = source + destination docker-registry processes; `whole machine` = every process, /proc/stat):"
    );
    cpu("oc-mirror full copy", &oc_full);
    cpu("skopeo full copy", &sk_full);
    cpu("oc-mirror no-op re-run", &oc_noop);
    cpu("skopeo no-op re-run", &sk_noop);
    cpu("oc-mirror big layers", &big_oc);
    cpu("skopeo big layers", &big_sk);
    let noop_gets: usize = oc_noop.iter().map(|s| s.source_blob_gets).sum();
    let sk_noop_gets: usize = sk_noop.iter().map(|s| s.source_blob_gets).sum();
    println!(
        "Source blob downloads during no-op re-runs: oc-mirror {noop_gets}, skopeo {sk_noop_gets} (all runs)"
    );
    if let Some(s) = oc_cold.iter().find(|s| s.invalid.is_none()) {
        println!("oc-mirror cold workspace, warm destination: {}", s.note);
    }
    if !enough {
        println!(
            "Note: the set is smaller than the issue's (≥ 20 images, ≥ 100 MB); the targets are only indicative."
        );
    }
    println!("Benchmark took {:.0} s.", total.elapsed().as_secs_f64());

    let ok = b.failures.is_empty();
    if !ok {
        println!(
            "\n{} run(s) FAILED their checks (they are not counted):",
            b.failures.len()
        );
        for f in &b.failures {
            println!("  - {f}");
        }
    }
    match tempdir {
        Some(t) if opts.keep || !ok => {
            let path = t.keep();
            println!("Work directory kept: {}", path.display());
        }
        Some(_) => {}
        None => println!("Work directory: {}", work.display()),
    }
    Ok(ok)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oc-mirror-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    match bench(opts).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("oc-mirror-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
