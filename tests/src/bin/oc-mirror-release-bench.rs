//! `oc-mirror-release-bench`: mirroring a release channel, against skopeo
//! copying the same image list, in the same run on the same machine.
//!
//! - Pushes [`ReleaseWorld::bench`] (by default 4 releases × 180 components,
//!   small layers, a tenth of the components new in each release) into a
//!   local source registry, serves a linear update graph for its channel
//!   from a local Cincinnati server, and signs every payload with a
//!   throwaway key that oc-mirror is told to trust.
//! - Times, `--runs` times (median reported), each against a fresh mirror:
//!   a) resolution alone: `oc-mirror --dry-run` (the release plugin reads the
//!   graph, verifies the signatures, reads every payload's image references;
//!   then every manifest is resolved);
//!   b) resolve and mirror: `oc-mirror` mirror to mirror, `full: true`;
//!   c) `skopeo copy` of the same source → destination list oc-mirror's
//!   mapping holds, with as many copies at once as oc-mirror copies images.
//! - Checks every oc-mirror run: every payload and component is in the
//!   mirror under oc-mirror's tags with the source's digest.
//! - Prints the table: times and the ratio oc-mirror / skopeo.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::release::{PushedReleaseWorld, ReleaseWorld};
use oc_mirror_tests::signing::ReleaseSigner;
use oc_mirror_tests::{CincinnatiServer, GraphSpec, Registry, RegistryOptions, isc, stats, tools};

const USAGE: &str = "\
usage: oc-mirror-release-bench [--releases N] [--components N] [--runs N]
                               [--work-dir DIR] [--keep]

Times oc-mirror mirroring a channel of synthetic OpenShift releases (local
registry, local update service, throwaway signing key) against `skopeo copy`
of the same image list, and prints the ratios.

  --releases N     releases in the channel (default 4)
  --components N   components per release (default 180)
  --runs N         repetitions of each timed case; the median counts (default 3)
  --work-dir DIR   where workspaces and logs go (default: a temporary directory)
  --keep           keep the work directory
";

/// The channel the bench graph serves.
const CHANNEL: &str = "stable-4.16";
/// Repository prefix in the mirror.
const PREFIX: &str = "mirror";
/// Namespace of the releases in the source.
const NAMESPACE: &str = "ocp";
/// skopeo copies at once: as many images as oc-mirror copies at once.
const SKOPEO_PARALLEL: usize = oc_mirror::copy::DEFAULT_PARALLEL_IMAGES;

struct Opts {
    releases: usize,
    components: usize,
    runs: usize,
    work_dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> anyhow::Result<Option<Opts>> {
    let mut o = Opts {
        releases: 4,
        components: 180,
        runs: 3,
        work_dir: None,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--releases" => o.releases = number("--releases")?,
            "--components" => o.components = number("--components")?,
            "--runs" => o.runs = number("--runs")?.max(1),
            "--work-dir" => {
                o.work_dir = Some(PathBuf::from(
                    args.next().context("--work-dir needs a value")?,
                ))
            }
            "--keep" => o.keep = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if o.releases == 0 || o.components == 0 {
        bail!("--releases and --components must be at least 1");
    }
    Ok(Some(o))
}

/// What one timed oc-mirror run needs.
struct Setup {
    oc_mirror: PathBuf,
    isc: PathBuf,
    key: PathBuf,
    server: CincinnatiServer,
}

/// Runs oc-mirror mirror to mirror into `mirror`, timed; `extra` flags.
fn run_oc_mirror(
    setup: &Setup,
    workspace: &Path,
    mirror: &Registry,
    extra: &[&str],
    log: &Path,
) -> anyhow::Result<Duration> {
    let out = std::fs::File::create(log)?;
    let started = Instant::now();
    let status = Command::new(&setup.oc_mirror)
        .arg("-c")
        .arg(&setup.isc)
        .arg("--workspace")
        .arg(format!("file://{}", workspace.display()))
        .arg(format!("docker://{}/{PREFIX}", mirror.host()))
        .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
        .args(extra)
        .envs(setup.server.release_env(&setup.key))
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("oc-mirror failed ({status}); see {}", log.display());
    }
    Ok(elapsed)
}

/// `(source, destination)` pairs of a `mapping.txt`.
fn mapping(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (s, d) = l.split_once('=').context("a mapping line without `=`")?;
            Ok((s.to_string(), d.to_string()))
        })
        .collect()
}

/// One `skopeo copy --all` (with retries, as oc-mirror retries); the error
/// text when it fails.
fn skopeo_copy(src: &str, dst: &str) -> Option<String> {
    let out = Command::new("skopeo")
        .args(["copy", "--all", "--quiet", "--preserve-digests"])
        .args(["--retry-times", "3"])
        .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(src)
        .arg(dst)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match out {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Some(e.to_string()),
    }
}

/// `skopeo copy` of every pair, `SKOPEO_PARALLEL` at a time, then the copies
/// that failed once more one by one (parallel copies into one repository
/// race on shared blobs in Distribution: "blob unknown", 500s); timed as a
/// whole. Returns the time and how many copies needed the second pass.
fn run_skopeo(pairs: &[(String, String)], log: &Path) -> anyhow::Result<(Duration, usize)> {
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let pairs = Arc::new(pairs.to_vec());
    let started = Instant::now();
    let workers: Vec<_> = (0..SKOPEO_PARALLEL)
        .map(|_| {
            let (next, failures, pairs) = (next.clone(), failures.clone(), pairs.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((src, dst)) = pairs.get(i) else {
                        break;
                    };
                    if skopeo_copy(src, dst).is_some()
                        && let Ok(mut f) = failures.lock()
                    {
                        f.push(i);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let first_pass = failures.lock().map(|f| f.clone()).unwrap_or_default();
    let mut failed = Vec::new();
    for &i in &first_pass {
        let (src, dst) = &pairs[i];
        if let Some(why) = skopeo_copy(src, dst) {
            failed.push(format!("{src} → {dst}: {why}"));
        }
    }
    let elapsed = started.elapsed();
    if !failed.is_empty() {
        std::fs::write(log, failed.join("\n"))?;
        bail!(
            "{} of {} skopeo copies failed twice; see {}",
            failed.len(),
            pairs.len(),
            log.display()
        );
    }
    Ok((elapsed, first_pass.len()))
}

/// Every payload and component of the world is in the mirror, digest for digest.
async fn verify(mirror: &Registry, world: &PushedReleaseWorld) -> anyhow::Result<usize> {
    let mut checked = 0;
    for r in &world.releases {
        let repo = format!("{PREFIX}/openshift/release-images");
        let got = mirror.digest(&repo, &r.tag).await?;
        if got.as_deref() != Some(r.digest.as_str()) {
            bail!("{repo}:{} is {got:?}, not {}", r.tag, r.digest);
        }
        checked += 1;
        for c in r.components() {
            let repo = format!("{PREFIX}/openshift/release");
            let tag = format!("{}-{}", r.tag, c.name);
            let got = mirror.digest(&repo, &tag).await?;
            if got.as_deref() != Some(c.digest.as_str()) {
                bail!("{repo}:{tag} is {got:?}, not {}", c.digest);
            }
            checked += 1;
        }
    }
    Ok(checked)
}

/// The median of the runs (there is at least one).
fn median(v: Vec<f64>) -> f64 {
    stats::median(v).unwrap_or(f64::NAN)
}

async fn bench(opts: &Opts, work: &Path) -> anyhow::Result<()> {
    let oc_mirror = tools::oc_mirror_binary()?;
    println!(
        "oc-mirror-release-bench: {} releases × {} components, {} run(s), skopeo {}",
        opts.releases,
        opts.components,
        opts.runs,
        Command::new("skopeo")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|_| "missing".into())
    );
    let source = Registry::start(RegistryOptions::default()).await?;
    let t = Instant::now();
    let world = ReleaseWorld::bench(opts.releases, opts.components)
        .push(source.client(), NAMESPACE)
        .await?;
    let images: usize = world
        .releases
        .iter()
        .map(|r| 1 + r.components().len())
        .sum();
    let distinct = world.images().len();
    println!(
        "  source: {images} images to mirror ({distinct} distinct), {} KiB of blobs, pushed in {:.1?}",
        world.blobs().values().sum::<u64>() / 1024,
        t.elapsed()
    );
    let server = CincinnatiServer::start(GraphSpec::linear(&world, CHANNEL)).await?;
    let signer = ReleaseSigner::new();
    server.sign_releases(&signer, &world);
    let key = work.join("release-key.asc");
    std::fs::write(&key, signer.public_key_armored())?;
    let isc = work.join("isc.yaml");
    std::fs::write(
        &isc,
        isc::image_set_config(&format!(
            "  platform:\n    channels:\n      - name: {CHANNEL}\n        full: true\n"
        )),
    )?;
    let setup = Setup {
        oc_mirror,
        isc,
        key,
        server,
    };

    let (mut resolve, mut full, mut skopeo) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=opts.runs {
        let ws = work.join(format!("ws-{run}"));
        // a) resolution alone (a dry run copies nothing).
        let mirror = Registry::start(RegistryOptions::default()).await?;
        let d = run_oc_mirror(
            &setup,
            &ws.join("dry"),
            &mirror,
            &["--dry-run"],
            &work.join(format!("dry-{run}.log")),
        )?;
        resolve.push(d.as_secs_f64());
        // b) resolve and mirror.
        let d = run_oc_mirror(
            &setup,
            &ws.join("full"),
            &mirror,
            &[],
            &work.join(format!("full-{run}.log")),
        )?;
        let checked = verify(&mirror, &world).await?;
        full.push(d.as_secs_f64());
        // c) skopeo, the same list, into another fresh mirror.
        let pairs = mapping(&ws.join("full/working-dir/mapping.txt"))?;
        let other = Registry::start(RegistryOptions::default()).await?;
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(s, d)| (s, d.replace(&mirror.host(), &other.host())))
            .collect();
        let (d, retried) = run_skopeo(&pairs, &work.join(format!("skopeo-{run}.log")))?;
        skopeo.push(d.as_secs_f64());
        println!(
            "  run {run}: resolve {:.2} s, oc-mirror {:.2} s ({checked} images checked), skopeo {:.2} s ({} copies, {retried} copied again after a failure)",
            resolve[run - 1],
            full[run - 1],
            skopeo[run - 1],
            pairs.len()
        );
    }
    let (r, f, s) = (median(resolve), median(full), median(skopeo));
    println!();
    println!(
        "| case (median of {}) | time | ratio to skopeo |",
        opts.runs
    );
    println!("|---|---|---|");
    println!(
        "| resolution alone (oc-mirror --dry-run) | {r:.2} s | {:.2}× |",
        r / s
    );
    println!("| oc-mirror: resolve + mirror | {f:.2} s | {:.2}× |", f / s);
    println!(
        "| skopeo copy of the same {images} images ({SKOPEO_PARALLEL} at once) | {s:.2} s | 1.00× |"
    );
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
            .prefix("oc-mirror-release-bench")
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
        && (opts.keep || result.is_err())
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
