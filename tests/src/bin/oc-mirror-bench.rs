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
//!   c) oc-mirror with a cold (fresh) workspace and a warm destination;
//!   d) across the gap: oc-mirror create (`file://DIR`), the parts copied to
//!   another directory, publish (`--from`) to a fresh registry, against
//!   `skopeo sync` to a directory and from (a copy of) it.
//! - e) Once, last (it changes the source): a diff imageset. Sequence 1 is
//!   created and published; half the images get a new top layer (same tags,
//!   same size); sequence 2's parts are listed with `tar -tvf` and the layer
//!   bytes they carry compared with 1.01 × the new layers' size; then it is
//!   published and the mirror checked for the new digests.
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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::fixture::{Format, ImageSpec, LayerSpec};
use oc_mirror_tests::world::{Artifact, PushedArtifact, WorldItem};
use oc_mirror_tests::{
    PushedWorld, Registry, RegistryOptions, World, WorldEntry, imageset, isc, stats, tools,
};

/// Repository prefix in every destination.
const PREFIX: &str = "mirror";
/// Target: full copy at most this fraction of skopeo's time.
const TARGET_FULL_RATIO: f64 = 0.5;
/// Target: no-op re-run of 20 images within this many seconds.
const TARGET_NOOP_SECS: f64 = 1.0;
/// Target: peak RSS at most this many bytes (150 MB, decimal), whatever the layer size.
const TARGET_RSS_BYTES: u64 = 150_000_000;
/// Target: the layers a diff imageset carries at most this × the new layers' size.
const TARGET_DIFF_RATIO: f64 = 1.01;
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

    fn parallel_args(&self, cmd: &mut Command) {
        if let Some(n) = self.opts.parallel_images {
            cmd.arg("--parallel-images").arg(n.to_string());
        }
        if let Some(n) = self.opts.parallel_layers {
            cmd.arg("--parallel-layers").arg(n.to_string());
        }
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
        self.parallel_args(&mut cmd);
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

    /// Runs `cmd` (one `case` of `tool`) in a fresh run directory, measured,
    /// with the source's blob GETs and the CPU time of the source registry
    /// and (with `dest`) the destination registry during the run.
    fn execute(
        &mut self,
        tool: Tool,
        case: &str,
        cmd: Command,
        dest: Option<&Registry>,
    ) -> anyhow::Result<Executed> {
        let slug: String = case
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let dir = self.next_dir(&format!("{}-{slug}", tool.name()))?;
        let log = dir.join("run.log");
        let mark = self.source.log_mark();
        let mut pids = vec![registry_pid(&self.source)];
        if let Some(d) = dest {
            pids.push(registry_pid(d));
        }
        let ticks = |pids: &[Option<u32>]| -> Option<u64> {
            pids.iter().map(|p| pid_cpu_ticks((*p)?)).sum()
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
        let invalid = (!m.success).then(|| {
            format!(
                "exited with {:?}; see {}\n{}",
                m.code,
                log.display(),
                tail(&log, 15)
            )
        });
        Ok(Executed {
            m,
            log,
            registry_cpu_secs,
            source_blob_gets,
            invalid,
        })
    }

    /// Prints a checked run's line (and note), records a failed check, and
    /// returns the sample.
    fn report(
        &mut self,
        tool: Tool,
        case: &str,
        what: &str,
        run: Executed,
        note: String,
    ) -> Sample {
        let Executed {
            m,
            registry_cpu_secs,
            source_blob_gets,
            invalid,
            ..
        } = run;
        let status = match &invalid {
            None => "ok".to_string(),
            Some(why) => format!("FAILED: {why}"),
        };
        println!(
            "  {:<9} {:<34} {:>6.2} s  RSS {:>7}  CPU: tool {:>4.2} s, registries {:>4.2} s, machine {:>4.2} s  src blob GETs {:>2}  {status}",
            tool.name(),
            format!("{case} ({what})"),
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
                .push(format!("{} {case} ({what}): {why}", tool.name()));
        }
        Sample {
            m,
            source_blob_gets,
            registry_cpu_secs,
            invalid,
            note,
        }
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
        let cmd = match tool {
            Tool::OcMirror => {
                self.oc_command(job, workspace.context("oc-mirror needs a workspace")?, dest)
            }
            Tool::Skopeo => self.skopeo_command(job, dest),
        };
        let mut run = self.execute(tool, case, cmd, Some(dest))?;
        if run.invalid.is_none() {
            let wanted = wants(&job.world, tool == Tool::Skopeo);
            if let Err(why) = verify(dest, &wanted).await {
                run.invalid = Some(format!(
                    "the destination is wrong after the run: {why}; see {}",
                    run.log.display()
                ));
            }
        }
        let mut note = String::new();
        if tool == Tool::OcMirror && run.invalid.is_none() {
            let n = job.world.entries.len() as u64;
            match oc_images_line(&run.m.stdout) {
                Some((copied, already, 0)) => {
                    note = format!(
                        "{copied} copied, {already} present; blobs: {}",
                        oc_blobs_line(&run.m.stdout)
                    );
                    if expect_copies && copied != n {
                        run.invalid =
                            Some(format!("expected {n} images copied, summary says {copied}"));
                    }
                }
                Some((_, _, failed)) => {
                    run.invalid = Some(format!("summary reports {failed} failed images"));
                }
                None => run.invalid = Some("no summary on stdout".to_string()),
            }
        }
        Ok(self.report(tool, case, job.name, run, note))
    }
}

/// What [`Bench::execute`] measured, and why the run is invalid if it is.
struct Executed {
    m: Measured,
    log: PathBuf,
    registry_cpu_secs: Option<f64>,
    source_blob_gets: usize,
    invalid: Option<String>,
}

/// Commands of the disk cases (mirror to disk, then publish).
impl Bench {
    /// `oc-mirror -c ISC file://DIR --src-tls-verify=false`.
    fn oc_create_command(&self, job: &Job, dir: &Path) -> Command {
        let mut cmd = Command::new(&self.oc_mirror);
        cmd.arg("-c")
            .arg(&job.isc)
            .arg(format!("file://{}", dir.display()))
            .arg("--src-tls-verify=false");
        self.parallel_args(&mut cmd);
        cmd
    }

    /// `oc-mirror --from file://DIR docker://HOST/PREFIX --dest-tls-verify=false`.
    fn oc_publish_command(&self, dir: &Path, dest: &Registry) -> Command {
        let mut cmd = Command::new(&self.oc_mirror);
        cmd.arg("--from")
            .arg(format!("file://{}", dir.display()))
            .arg(format!("docker://{}/{PREFIX}", dest.host()))
            .arg("--dest-tls-verify=false");
        self.parallel_args(&mut cmd);
        cmd
    }

    /// `skopeo sync --src yaml --dest dir SYNC.yaml DIR`.
    fn skopeo_to_dir_command(&self, job: &Job, dir: &Path) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.args(["sync", "--src", "yaml", "--dest", "dir"])
            .arg(&job.sync_yaml)
            .arg(dir)
            .arg("--src-tls-verify=false");
        cmd
    }

    /// `skopeo sync --src dir --dest docker DIR HOST/PREFIX --dest-tls-verify=false`.
    fn skopeo_from_dir_command(&self, dir: &Path, dest: &Registry) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.args(["sync", "--src", "dir", "--dest", "docker"])
            .arg(dir)
            .arg(format!("{}/{PREFIX}", dest.host()))
            .arg("--dest-tls-verify=false");
        cmd
    }

    /// Runs one step of a disk case and checks it: exit status, every line
    /// of `expect` somewhere on stdout, oc-mirror's `images:` line (if it has
    /// the publish form) with 0 failed, and with `dest`, that the destination
    /// holds every image of `wanted`.
    #[allow(clippy::too_many_arguments)]
    async fn step(
        &mut self,
        tool: Tool,
        case: &str,
        what: &str,
        cmd: Command,
        dest: Option<&Registry>,
        wanted: &[Want],
        expect: &[String],
    ) -> anyhow::Result<Sample> {
        let mut run = self.execute(tool, case, cmd, dest)?;
        if run.invalid.is_none() {
            if let Some(missing) = expect.iter().find(|e| !run.m.stdout.contains(e.as_str())) {
                run.invalid = Some(format!(
                    "stdout lacks `{missing}`; see {}",
                    run.log.display()
                ));
            } else if let Some(d) = dest
                && let Err(why) = verify(d, wanted).await
            {
                run.invalid = Some(format!(
                    "the destination is wrong after the run: {why}; see {}",
                    run.log.display()
                ));
            }
        }
        let mut note = String::new();
        if tool == Tool::OcMirror && run.invalid.is_none() {
            let lines: Vec<&str> = run
                .m
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("images:") || l.starts_with("total:"))
                .collect();
            note = lines.join("; ");
            if let Some((_, _, failed)) = oc_images_line(&run.m.stdout)
                && failed > 0
            {
                run.invalid = Some(format!("summary reports {failed} failed images"));
            }
        }
        Ok(self.report(tool, case, what, run, note))
    }
}

/// Copies sequence `seq`'s parts from `from` to `to` (the other side of the
/// gap): (parts, bytes, time).
fn carry_parts(from: &Path, to: &Path, seq: u64) -> anyhow::Result<(usize, u64, Duration)> {
    let t = Instant::now();
    let (parts, bytes) = imageset::carry(from, to, seq)?;
    File::open(to)?.sync_all()?;
    Ok((parts.len(), bytes, t.elapsed()))
}

/// `cp -a FROM/. TO/` (skopeo's directory to the other side): bytes, time.
fn carry_dir(from: &Path, to: &Path) -> anyhow::Result<(u64, Duration)> {
    let t = Instant::now();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(format!("{}/", to.display()))
        .status()
        .context("running cp")?;
    if !status.success() {
        bail!("cp -a {} {}: {status}", from.display(), to.display());
    }
    Ok((dir_bytes(to), t.elapsed()))
}

/// Bytes of every regular file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Layer digests (not configs) of every image of `world`, with sizes.
fn layer_blobs(world: &PushedWorld) -> BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for e in &world.entries {
        let images: Vec<&oc_mirror_tests::fixture::PushedImage> = match &e.pushed {
            PushedArtifact::Image(i) => vec![i],
            PushedArtifact::Index(x) => x.images.iter().collect(),
        };
        for i in images {
            for (d, s) in i.blob_digests.iter().zip(&i.blob_sizes).skip(1) {
                out.insert(d.clone(), *s);
            }
        }
    }
    out
}

/// What a diff imageset's parts hold, from `tar -tvf` of each part.
#[derive(Debug, Default)]
struct ArchiveMakeup {
    parts: usize,
    /// Sum of the part files' sizes.
    archive: u64,
    /// New layers carried (count, bytes).
    new_layers: (usize, u64),
    /// Layers an earlier sequence already shipped, carried again (count, bytes).
    old_layers: (usize, u64),
    /// Other blobs: manifests and configs (count, bytes).
    manifests_configs: (usize, u64),
    /// `oc-mirror/metadata.json`, `index.json`, `oci-layout` (bytes).
    metadata: u64,
    /// Tar headers, padding and end-of-archive blocks: archive − all entries.
    tar_overhead: u64,
}

impl ArchiveMakeup {
    /// The layer bytes carried: the archive less manifests, configs,
    /// metadata and tar headers.
    fn layers(&self) -> u64 {
        self.archive - self.manifests_configs.1 - self.metadata - self.tar_overhead
    }
}

fn archive_makeup(
    parts: &[PathBuf],
    new_layers: &BTreeMap<String, u64>,
    old_layers: &BTreeMap<String, u64>,
) -> anyhow::Result<ArchiveMakeup> {
    let mut a = ArchiveMakeup {
        parts: parts.len(),
        ..ArchiveMakeup::default()
    };
    let mut entries = 0u64;
    for part in parts {
        a.archive += std::fs::metadata(part)?.len();
        for (path, size) in imageset::tar_entries(part)? {
            entries += size;
            match path.strip_prefix("blobs/sha256/") {
                Some(hex) => {
                    let digest = format!("sha256:{hex}");
                    let slot = if new_layers.contains_key(&digest) {
                        &mut a.new_layers
                    } else if old_layers.contains_key(&digest) {
                        &mut a.old_layers
                    } else {
                        &mut a.manifests_configs
                    };
                    slot.0 += 1;
                    slot.1 += size;
                }
                None => a.metadata += size,
            }
        }
    }
    a.tar_overhead = a.archive.saturating_sub(entries);
    Ok(a)
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

/// Median seconds of the valid samples.
fn median_secs(samples: &[Sample]) -> Option<f64> {
    stats::median(
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
    let yaml = isc::additional_images_of(&source.host(), world);
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

/// The bench's state after [`setup`]: the runner, the synthetic set, and
/// what the report needs of the setup.
struct Setup {
    b: Bench,
    job: Job,
    tempdir: Option<tempfile::TempDir>,
    work: PathBuf,
    /// When the benchmark started.
    started: Instant,
    /// Distinct blob bytes of the set.
    bytes: u64,
    /// Whether the set is as large as the benchmark.
    enough: bool,
}

/// Prints the header, makes the work directory and pushes the synthetic set
/// into a local source registry.
async fn setup(opts: &Opts) -> anyhow::Result<Setup> {
    let oc_mirror = tools::oc_mirror_binary()?;
    let skopeo_version = command_output("skopeo", &["--version"])
        .with_context(|| format!("skopeo is needed for the comparison ({})", tools::INSTALL))?;
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
    let started = Instant::now();
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

    let b = Bench {
        opts: opts.clone(),
        oc_mirror,
        work: work.clone(),
        source,
        counter: 0,
        failures: Vec::new(),
    };
    let job = Job::new(
        "set",
        world,
        &b.source,
        &work.join("isc.yaml"),
        &work.join("sync.yaml"),
    )?;
    Ok(Setup {
        b,
        job,
        tempdir,
        work,
        started,
        bytes,
        enough,
    })
}

impl Job {
    /// The job for `world` in `source`, with its ImageSetConfiguration
    /// written to `isc` and its `skopeo sync` file to `sync_yaml`.
    fn new(
        name: &'static str,
        world: PushedWorld,
        source: &Registry,
        isc: &Path,
        sync_yaml: &Path,
    ) -> anyhow::Result<Job> {
        write_isc(isc, source, &world)?;
        write_sync_yaml(sync_yaml, source, &world)?;
        Ok(Job {
            name,
            world,
            isc: isc.to_path_buf(),
            sync_yaml: sync_yaml.to_path_buf(),
        })
    }
}

/// Which tool goes first in run `run`: they alternate, so neither always
/// gets the warmer machine.
fn tool_order(run: usize) -> [Tool; 2] {
    if run.is_multiple_of(2) {
        [Tool::OcMirror, Tool::Skopeo]
    } else {
        [Tool::Skopeo, Tool::OcMirror]
    }
}

/// Cases a) to c): the samples of every run.
#[derive(Default)]
struct Copies {
    oc_full: Vec<Sample>,
    oc_noop: Vec<Sample>,
    oc_cold: Vec<Sample>,
    sk_full: Vec<Sample>,
    sk_noop: Vec<Sample>,
}

/// a) full copy, b) no-op re-run, c) cold workspace and warm destination
/// (oc-mirror only), `--runs` times, a fresh destination per tool and run.
async fn copies(b: &mut Bench, job: &Job) -> anyhow::Result<Copies> {
    let mut c = Copies::default();
    for run in 0..b.opts.runs {
        println!(
            "\n==> Run {} of {} (fresh destination registry per tool)",
            run + 1,
            b.opts.runs
        );
        for tool in tool_order(run) {
            let dest = Registry::start(RegistryOptions::default()).await?;
            match tool {
                Tool::OcMirror => {
                    let ws = b.next_dir("workspace")?;
                    c.oc_full.push(
                        b.run(tool, "full copy", job, &dest, Some(&ws), true)
                            .await?,
                    );
                    c.oc_noop.push(
                        b.run(tool, "no-op re-run", job, &dest, Some(&ws), false)
                            .await?,
                    );
                    let cold = b.next_dir("workspace-cold")?;
                    c.oc_cold.push(
                        b.run(
                            tool,
                            "cold workspace, warm dest",
                            job,
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
                    c.sk_full
                        .push(b.run(tool, "full copy", job, &dest, None, true).await?);
                    c.sk_noop
                        .push(b.run(tool, "no-op re-run", job, &dest, None, false).await?);
                }
            }
            drop(dest);
        }
    }
    Ok(c)
}

/// The peak-RSS case: the samples and the set's distinct blob bytes.
#[derive(Default)]
struct BigLayers {
    oc: Vec<Sample>,
    sk: Vec<Sample>,
    bytes: u64,
}

/// The peak-RSS case: a second set of very large layers pushed into the
/// source and copied by both tools, `--runs` times (nothing with
/// `--big-layer-mib 0`).
async fn big_layers(b: &mut Bench) -> anyhow::Result<BigLayers> {
    let mut big = BigLayers::default();
    if b.opts.big_layer_mib == 0 {
        return Ok(big);
    }
    println!(
        "\n==> Peak RSS: {} images with one {} MiB layer each",
        b.opts.big_images, b.opts.big_layer_mib
    );
    let t = Instant::now();
    let world = big_world(b.opts.big_images, b.opts.big_layer_mib)
        .push(&b.source)
        .await?;
    big.bytes = world.unique_blob_bytes();
    println!(
        "  pushed {} ({}) in {:.1} s",
        mb(big.bytes),
        mib(big.bytes),
        t.elapsed().as_secs_f64()
    );
    let job = Job::new(
        "big",
        world,
        &b.source,
        &b.work.join("isc-big.yaml"),
        &b.work.join("sync-big.yaml"),
    )?;
    for run in 0..b.opts.runs {
        for tool in tool_order(run) {
            let dest = Registry::start(RegistryOptions::default()).await?;
            match tool {
                Tool::OcMirror => {
                    let ws = b.next_dir("workspace-big")?;
                    big.oc.push(
                        b.run(tool, "big layers", &job, &dest, Some(&ws), true)
                            .await?,
                    );
                    let _ = std::fs::remove_dir_all(&ws);
                }
                Tool::Skopeo => {
                    big.sk
                        .push(b.run(tool, "big layers", &job, &dest, None, true).await?);
                }
            }
            drop(dest);
        }
    }
    Ok(big)
}

/// Case d): the samples of every run, and what was carried across.
#[derive(Default)]
struct Disk {
    create_oc: Vec<Sample>,
    publish_oc: Vec<Sample>,
    create_sk: Vec<Sample>,
    publish_sk: Vec<Sample>,
    /// Create + publish, seconds, of the runs where both were valid.
    total_oc: Vec<f64>,
    total_sk: Vec<f64>,
    /// Seconds the copy across took (not timed in the totals).
    carry_oc: Vec<f64>,
    carry_sk: Vec<f64>,
    /// Bytes carried by the last run of each tool, and oc-mirror's parts.
    bytes_oc: u64,
    bytes_sk: u64,
    parts_oc: usize,
}

/// d) Mirror to disk, carry the files across, publish: oc-mirror against
/// `skopeo sync` to a directory and from it, `--runs` times.
async fn disk(b: &mut Bench, job: &Job) -> anyhow::Result<Disk> {
    println!(
        "\n==> Mirror to disk, carry across, publish ({} images; fresh directories and destination per run)",
        job.world.entries.len()
    );
    let mut d = Disk::default();
    for run in 0..b.opts.runs {
        for tool in tool_order(run) {
            let dest = Registry::start(RegistryOptions::default()).await?;
            match tool {
                Tool::OcMirror => disk_oc_mirror(b, job, &dest, &mut d).await?,
                Tool::Skopeo => disk_skopeo(b, job, &dest, &mut d).await?,
            }
            drop(dest);
        }
    }
    Ok(d)
}

/// One run of d) for oc-mirror: create, carry the parts, publish to `dest`.
async fn disk_oc_mirror(
    b: &mut Bench,
    job: &Job,
    dest: &Registry,
    d: &mut Disk,
) -> anyhow::Result<()> {
    let tool = Tool::OcMirror;
    let dir = b.next_dir("oc-disk")?;
    let other = b.next_dir("oc-other-side")?;
    let cmd = b.oc_create_command(job, &dir);
    let create = b
        .step(
            tool,
            "mirror to disk",
            job.name,
            cmd,
            None,
            &[],
            &["Created imageset sequence 1 ".to_string()],
        )
        .await?;
    let (parts, bytes, took) = carry_parts(&dir, &other, 1)?;
    println!(
        "            carried {parts} part(s), {} ({bytes} bytes), in {:.2} s (not timed)",
        mb(bytes),
        took.as_secs_f64()
    );
    (d.bytes_oc, d.parts_oc) = (bytes, parts);
    d.carry_oc.push(took.as_secs_f64());
    let cmd = b.oc_publish_command(&other, dest);
    let publish = b
        .step(
            tool,
            "publish from disk",
            job.name,
            cmd,
            Some(dest),
            &wants(&job.world, false),
            &["Published sequence 1 ".to_string()],
        )
        .await?;
    if create.invalid.is_none() && publish.invalid.is_none() {
        d.total_oc
            .push(create.m.elapsed.as_secs_f64() + publish.m.elapsed.as_secs_f64());
    }
    d.create_oc.push(create);
    d.publish_oc.push(publish);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
    Ok(())
}

/// One run of d) for skopeo: sync to a directory, copy it, sync from it to `dest`.
async fn disk_skopeo(
    b: &mut Bench,
    job: &Job,
    dest: &Registry,
    d: &mut Disk,
) -> anyhow::Result<()> {
    let tool = Tool::Skopeo;
    let dir = b.next_dir("skopeo-disk")?;
    let other = b.next_dir("skopeo-other-side")?;
    let cmd = b.skopeo_to_dir_command(job, &dir);
    let create = b
        .step(tool, "sync to dir", job.name, cmd, None, &[], &[])
        .await?;
    let (bytes, took) = carry_dir(&dir, &other)?;
    println!(
        "            carried the directory, {} ({bytes} bytes), in {:.2} s (not timed)",
        mb(bytes),
        took.as_secs_f64()
    );
    d.bytes_sk = bytes;
    d.carry_sk.push(took.as_secs_f64());
    let cmd = b.skopeo_from_dir_command(&other, dest);
    let publish = b
        .step(
            tool,
            "sync from dir",
            job.name,
            cmd,
            Some(dest),
            &wants(&job.world, true),
            &[],
        )
        .await?;
    if create.invalid.is_none() && publish.invalid.is_none() {
        d.total_sk
            .push(create.m.elapsed.as_secs_f64() + publish.m.elapsed.as_secs_f64());
    }
    d.create_sk.push(create);
    d.publish_sk.push(publish);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
    Ok(())
}

/// Case e): what sequence 2 carried and how its runs went.
struct Diff {
    /// Images that got a new top layer.
    changed: usize,
    /// Sequence 2's parts (when sequence 1 went through).
    makeup: Option<ArchiveMakeup>,
    /// The new layers' compressed bytes: the least sequence 2 can carry.
    minimum: u64,
    create: Option<Sample>,
    publish: Option<Sample>,
}

impl Diff {
    /// Layers carried (archive − manifests, configs, metadata and tar
    /// headers) against [`TARGET_DIFF_RATIO`] × the new layers' size, and no
    /// layer shipped before; `None` without sequence 2's parts.
    fn pass(&self) -> Option<bool> {
        self.makeup.as_ref().map(|a| {
            a.old_layers.0 == 0 && a.layers() as f64 <= TARGET_DIFF_RATIO * self.minimum as f64
        })
    }

    /// Whether the case ran through: sequence 2 listed and published.
    fn ok(&self) -> bool {
        self.pass().is_some() && self.publish.as_ref().is_some_and(|p| p.invalid.is_none())
    }
}

/// e) A diff imageset: half the images get a new top layer (same tags, same
/// size), sequence 2 is created in the same directory as 1, its parts
/// listed, then published and the mirror checked for the new digests. This
/// changes the source, so it comes last.
async fn diff(b: &mut Bench, job: &Job) -> anyhow::Result<Diff> {
    let n_changed = (b.opts.images / 2).max(1);
    println!(
        "\n==> Diff imageset: {n_changed} of {} images get a new top layer of the same size",
        b.opts.images
    );
    let dest = Registry::start(RegistryOptions::default()).await?;
    let dir = b.next_dir("oc-diff")?;
    let other = b.next_dir("oc-diff-other-side")?;
    let cmd = b.oc_create_command(job, &dir);
    let seq1 = b
        .step(
            Tool::OcMirror,
            "sequence 1",
            job.name,
            cmd,
            None,
            &[],
            &["Created imageset sequence 1 ".to_string()],
        )
        .await?;
    carry_parts(&dir, &other, 1)?;
    let cmd = b.oc_publish_command(&other, &dest);
    let pub1 = b
        .step(
            Tool::OcMirror,
            "publish sequence 1",
            job.name,
            cmd,
            Some(&dest),
            &wants(&job.world, false),
            &["Published sequence 1 ".to_string()],
        )
        .await?;
    let mut diff = Diff {
        changed: n_changed,
        makeup: None,
        minimum: 0,
        create: None,
        publish: None,
    };
    if seq1.invalid.is_none() && pub1.invalid.is_none() {
        let mut changed = World::bench(b.opts.images, b.opts.unique_mib << 20);
        changed.items.truncate(n_changed);
        for (i, item) in changed.items.iter_mut().enumerate() {
            if let Artifact::Image(spec) = &mut item.artifact
                && let Some(top) = spec.layers.last_mut()
            {
                top.seed = 50_000 + i as u64;
            }
        }
        let t = Instant::now();
        let pushed = changed.push(&b.source).await?;
        let old_layers = layer_blobs(&job.world);
        let new_layers: BTreeMap<String, u64> = layer_blobs(&pushed)
            .into_iter()
            .filter(|(d, _)| !old_layers.contains_key(d))
            .collect();
        diff.minimum = new_layers.values().sum();
        println!(
            "  pushed {n_changed} new versions ({} new layers, {} = {} bytes compressed) in {:.1} s",
            new_layers.len(),
            mb(diff.minimum),
            diff.minimum,
            t.elapsed().as_secs_f64()
        );
        let mut now = job.world.clone();
        for e in &mut now.entries {
            if let Some(p) = pushed.entries.iter().find(|p| p.name == e.name) {
                *e = p.clone();
            }
        }
        let cmd = b.oc_create_command(job, &dir);
        let seq2 = b
            .step(
                Tool::OcMirror,
                "sequence 2 (diff)",
                job.name,
                cmd,
                None,
                &[],
                &["Created imageset sequence 2 ".to_string()],
            )
            .await?;
        if seq2.invalid.is_none() {
            let parts = imageset::parts(&dir, 2)?;
            diff.makeup = Some(archive_makeup(&parts, &new_layers, &old_layers)?);
            carry_parts(&dir, &other, 2)?;
            let cmd = b.oc_publish_command(&other, &dest);
            let publish = b
                .step(
                    Tool::OcMirror,
                    "publish sequence 2",
                    job.name,
                    cmd,
                    Some(&dest),
                    &wants(&now, false),
                    &["Published sequence 2 ".to_string()],
                )
                .await?;
            if publish.invalid.is_none() {
                let stale: Vec<&WorldEntry> = pushed
                    .entries
                    .iter()
                    .filter(|p| job.world.get(&p.name).is_some_and(|o| o.digest == p.digest))
                    .collect();
                if !stale.is_empty() {
                    b.failures.push(format!(
                        "diff: {} changed images kept their digest",
                        stale.len()
                    ));
                }
            }
            diff.publish = Some(publish);
        }
        diff.create = Some(seq2);
    }
    drop(dest);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
    Ok(diff)
}

/// PASS / MISS / FAILED of a measured value against a target.
fn judged(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "FAILED",
    }
    .into()
}

/// `info`, or FAILED when there is no valid measurement.
fn info(v: Option<f64>) -> String {
    if v.is_some() { "info" } else { "FAILED" }.to_string()
}

/// The table's rows of a) to c) and the peak RSS of the full copy.
fn copy_rows(n: usize, bytes: u64, c: &Copies) -> Vec<Row> {
    let full_oc = median_secs(&c.oc_full);
    let full_sk = median_secs(&c.sk_full);
    let noop_oc = median_secs(&c.oc_noop);
    vec![
        Row {
            case: format!("a) full copy, {n} images, {}", mb(bytes)),
            oc: full_oc,
            skopeo: full_sk,
            unit: "s",
            target: format!("≤ {TARGET_FULL_RATIO}× skopeo"),
            result: judged(ratio(full_oc, full_sk).map(|r| r <= TARGET_FULL_RATIO)),
        },
        Row {
            case: format!("b) no-op re-run, {n} images"),
            oc: noop_oc,
            skopeo: median_secs(&c.sk_noop),
            unit: "s",
            target: format!("≤ {TARGET_NOOP_SECS} s"),
            result: judged(noop_oc.map(|t| t <= TARGET_NOOP_SECS)),
        },
        Row {
            case: format!("c) cold workspace, warm destination, {n} images"),
            oc: median_secs(&c.oc_cold),
            skopeo: median_secs(&c.sk_noop),
            unit: "s",
            target: "— (skopeo: its no-op)".into(),
            result: info(median_secs(&c.oc_cold)),
        },
        Row {
            case: format!("peak RSS, full copy of {n} images"),
            oc: max_rss(&c.oc_full).map(|v| v as f64),
            skopeo: max_rss(&c.sk_full).map(|v| v as f64),
            unit: "MB",
            target: "≤ 150 MB".into(),
            result: judged(max_rss(&c.oc_full).map(|v| v <= TARGET_RSS_BYTES)),
        },
    ]
}

/// The table's rows of the big-layer case (none when it did not run).
fn big_rows(opts: &Opts, big: &BigLayers) -> Vec<Row> {
    if opts.big_layer_mib == 0 {
        return Vec::new();
    }
    vec![
        Row {
            case: format!(
                "big layers: copy {} × {} MiB layer",
                opts.big_images, opts.big_layer_mib
            ),
            oc: median_secs(&big.oc),
            skopeo: median_secs(&big.sk),
            unit: "s",
            target: "— (time, for reference)".into(),
            result: info(median_secs(&big.oc)),
        },
        Row {
            case: format!(
                "peak RSS, {} × {} MiB layers",
                opts.big_images, opts.big_layer_mib
            ),
            oc: max_rss(&big.oc).map(|v| v as f64),
            skopeo: max_rss(&big.sk).map(|v| v as f64),
            unit: "MB",
            target: "≤ 150 MB".into(),
            result: judged(max_rss(&big.oc).map(|v| v <= TARGET_RSS_BYTES)),
        },
    ]
}

/// The table's rows of d).
fn disk_rows(n: usize, d: &Disk) -> Vec<Row> {
    let total_oc = stats::median(d.total_oc.clone());
    let total_sk = stats::median(d.total_sk.clone());
    let rss_oc = max_rss(&d.create_oc).max(max_rss(&d.publish_oc));
    vec![
        Row {
            case: format!("d) mirror to disk, {n} images (skopeo: sync to dir)"),
            oc: median_secs(&d.create_oc),
            skopeo: median_secs(&d.create_sk),
            unit: "s",
            target: "—".into(),
            result: info(median_secs(&d.create_oc)),
        },
        Row {
            case: "d) publish to a fresh registry (skopeo: sync from dir)".into(),
            oc: median_secs(&d.publish_oc),
            skopeo: median_secs(&d.publish_sk),
            unit: "s",
            target: "—".into(),
            result: info(median_secs(&d.publish_oc)),
        },
        Row {
            case: "d) create + publish".into(),
            oc: total_oc,
            skopeo: total_sk,
            unit: "s",
            target: "≤ 1× skopeo".into(),
            result: judged(ratio(total_oc, total_sk).map(|r| r <= 1.0)),
        },
        Row {
            case: "peak RSS, create / publish".into(),
            oc: rss_oc.map(|v| v as f64),
            skopeo: max_rss(&d.create_sk)
                .max(max_rss(&d.publish_sk))
                .map(|v| v as f64),
            unit: "MB",
            target: "≤ 150 MB".into(),
            result: judged(rss_oc.map(|v| v <= TARGET_RSS_BYTES)),
        },
    ]
}

/// The table's row of e).
fn diff_row(n: usize, diff: &Diff) -> Row {
    Row {
        case: format!(
            "e) diff archive, {} of {n} top layers changed",
            diff.changed
        ),
        oc: diff.makeup.as_ref().map(|a| a.archive as f64),
        skopeo: None,
        unit: "MB",
        target: format!("≤ {TARGET_DIFF_RATIO}× minimum + metadata"),
        result: match diff.pass() {
            _ if !diff.ok() => "FAILED".into(),
            Some(true) => "PASS".into(),
            _ => "MISS".into(),
        },
    }
}

/// Seconds, two decimals, comma-separated.
fn list_secs(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every run's seconds, per case, and what d) carried across.
fn print_all_runs(c: &Copies, big: &BigLayers, d: &Disk) {
    println!("\nAll runs, seconds:");
    let detail = |label: &str, s: &[Sample]| {
        if !s.is_empty() {
            println!("  {label:<42} {}", all_secs(s));
        }
    };
    detail("oc-mirror full copy", &c.oc_full);
    detail("skopeo full copy", &c.sk_full);
    detail("oc-mirror no-op re-run", &c.oc_noop);
    detail("skopeo no-op re-run", &c.sk_noop);
    detail("oc-mirror cold workspace, warm destination", &c.oc_cold);
    detail("oc-mirror big layers", &big.oc);
    detail("skopeo big layers", &big.sk);
    detail("oc-mirror mirror to disk", &d.create_oc);
    detail("oc-mirror publish", &d.publish_oc);
    detail("skopeo sync to dir", &d.create_sk);
    detail("skopeo sync from dir", &d.publish_sk);
    println!(
        "  {:<42} {}",
        "oc-mirror create + publish",
        list_secs(&d.total_oc)
    );
    println!(
        "  {:<42} {}",
        "skopeo to dir + from dir",
        list_secs(&d.total_sk)
    );
    println!(
        "Carried across (copy to the other side, not timed in the totals): oc-mirror {} part(s), {} in {} s; skopeo's directory {} in {} s",
        d.parts_oc,
        mb(d.bytes_oc),
        list_secs(&d.carry_oc),
        mb(d.bytes_sk),
        list_secs(&d.carry_sk),
    );
}

/// What sequence 2 carried, from `tar -tvf`, and how its runs went.
fn print_diff(n: usize, diff: &Diff) {
    let minimum = diff.minimum;
    if let Some(a) = &diff.makeup {
        let layers = a.layers();
        let overhead = a.archive - layers;
        println!(
            "Diff imageset (sequence 2, {} of {n} images with a new top layer), from `tar -tvf` of its {} part(s):",
            diff.changed, a.parts
        );
        println!(
            "  archive (sum of mirror_seq2_*.tar)     {:>11} bytes",
            a.archive
        );
        println!("  minimum (the new compressed layers)    {minimum:>11} bytes");
        println!(
            "  in it: new layers                      {:>11} bytes ({} blobs)",
            a.new_layers.1, a.new_layers.0
        );
        println!(
            "         layers shipped before           {:>11} bytes ({} blobs)",
            a.old_layers.1, a.old_layers.0
        );
        println!(
            "         manifests + configs             {:>11} bytes ({} blobs)",
            a.manifests_configs.1, a.manifests_configs.0
        );
        println!(
            "         metadata.json, index.json, oci-layout {:>5} bytes",
            a.metadata
        );
        println!(
            "         tar headers and padding         {:>11} bytes",
            a.tar_overhead
        );
        println!(
            "  overhead (manifests + configs + metadata + tar) {overhead} bytes = {:.2} % of the minimum",
            100.0 * overhead as f64 / minimum.max(1) as f64
        );
        println!(
            "  ratio archive / minimum {:.4}×; archive − overhead = {layers} bytes = {:.4}× the minimum",
            a.archive as f64 / minimum.max(1) as f64,
            layers as f64 / minimum.max(1) as f64
        );
        println!(
            "  judged: archive − overhead ≤ {TARGET_DIFF_RATIO} × minimum ({layers} ≤ {:.0}) and no layer shipped before: {}",
            TARGET_DIFF_RATIO * minimum as f64,
            if diff.pass() == Some(true) {
                "PASS"
            } else {
                "MISS"
            }
        );
    }
    for (label, s) in [("create", &diff.create), ("publish", &diff.publish)] {
        if let Some(s) = s {
            println!(
                "  sequence 2 {label}: {:.2} s{}{}",
                s.m.elapsed.as_secs_f64(),
                if s.note.is_empty() { "" } else { "; " },
                s.note
            );
        }
    }
}

/// MB/s of the full copy and of the big-layer copy, both tools.
fn print_throughput(bytes: u64, c: &Copies, big: &BigLayers) {
    if let (Some(oc), Some(sk)) = (median_secs(&c.oc_full), median_secs(&c.sk_full)) {
        println!(
            "Throughput of the full copy ({}): oc-mirror {:.0} MB/s, skopeo {:.0} MB/s",
            mb(bytes),
            bytes as f64 / 1e6 / oc,
            bytes as f64 / 1e6 / sk
        );
    }
    if big.bytes > 0
        && let (Some(oc), Some(sk)) = (median_secs(&big.oc), median_secs(&big.sk))
    {
        println!(
            "Throughput of the big-layer copy ({}): oc-mirror {:.0} MB/s, skopeo {:.0} MB/s",
            mb(big.bytes),
            big.bytes as f64 / 1e6 / oc,
            big.bytes as f64 / 1e6 / sk
        );
    }
}

/// Where the CPU time went, per case (medians of the valid runs).
fn print_cpu(c: &Copies, big: &BigLayers, d: &Disk) {
    let cpu = |label: &str, s: &[Sample]| {
        let valid: Vec<&Sample> = s.iter().filter(|s| s.invalid.is_none()).collect();
        if valid.is_empty() {
            return;
        }
        let med = |f: &dyn Fn(&Sample) -> f64| {
            stats::median(valid.iter().map(|s| f(s)).collect()).unwrap_or(0.0)
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
    cpu("oc-mirror full copy", &c.oc_full);
    cpu("skopeo full copy", &c.sk_full);
    cpu("oc-mirror no-op re-run", &c.oc_noop);
    cpu("skopeo no-op re-run", &c.sk_noop);
    cpu("oc-mirror big layers", &big.oc);
    cpu("skopeo big layers", &big.sk);
    cpu("oc-mirror mirror to disk", &d.create_oc);
    cpu("skopeo sync to dir", &d.create_sk);
    cpu("oc-mirror publish", &d.publish_oc);
    cpu("skopeo sync from dir", &d.publish_sk);
}

/// Runs every case, prints the table and the details; `Ok(false)` when a
/// run failed its checks.
async fn bench(opts: Opts) -> anyhow::Result<bool> {
    let Setup {
        mut b,
        job,
        tempdir,
        work,
        started,
        bytes,
        enough,
    } = setup(&opts).await?;
    let copies = copies(&mut b, &job).await?;
    let big = big_layers(&mut b).await?;
    let disk = disk(&mut b, &job).await?;
    let diff = diff(&mut b, &job).await?;

    let n = opts.images;
    let mut rows = copy_rows(n, bytes, &copies);
    rows.extend(big_rows(&opts, &big));
    rows.extend(disk_rows(n, &disk));
    rows.push(diff_row(n, &diff));
    println!(
        "\n==> Results (median of {} run(s); peak RSS is the maximum VmHWM over the runs)",
        opts.runs
    );
    print_table(&rows);
    print_all_runs(&copies, &big, &disk);
    print_diff(n, &diff);
    print_throughput(bytes, &copies, &big);
    print_cpu(&copies, &big, &disk);
    let noop_gets: usize = copies.oc_noop.iter().map(|s| s.source_blob_gets).sum();
    let sk_noop_gets: usize = copies.sk_noop.iter().map(|s| s.source_blob_gets).sum();
    println!(
        "Source blob downloads during no-op re-runs: oc-mirror {noop_gets}, skopeo {sk_noop_gets} (all runs)"
    );
    if let Some(s) = copies.oc_cold.iter().find(|s| s.invalid.is_none()) {
        println!("oc-mirror cold workspace, warm destination: {}", s.note);
    }
    if !enough {
        println!(
            "Note: the set is smaller than the issue's (≥ 20 images, ≥ 100 MB); the targets are only indicative."
        );
    }
    println!("Benchmark took {:.0} s.", started.elapsed().as_secs_f64());

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
