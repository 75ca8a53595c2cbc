//! `oc-mirror-demo`: the main job, end to end, in a few seconds.
//!
//! 1. starts two real `docker-registry` processes on loopback (source, mirror);
//! 2. pushes [`World::standard`] into the source;
//! 3. writes an ImageSetConfiguration listing every image (one by digest, one
//!    with `targetRepo`/`targetTag`, one extra image blocked by `blockedImages`);
//! 4. runs `oc-mirror` mirror-to-mirror, streaming its output;
//! 5. checks the mirror with the independent client of `oc-mirror-tests`,
//!    digest for digest, plus `mapping.txt` and the source registry's log;
//! 6. runs `oc-mirror` again and shows that it copied nothing;
//! 7. mirrors OpenShift releases: payloads pushed into the source, a local
//!    update service, signatures from a throwaway key oc-mirror is told to
//!    trust; the shortest upgrade path of a channel plus the graph-data image,
//!    checked in the mirror and in the cluster resources;
//! 8. prints a report and exits non-zero if any check failed.
//!
//! The workspace, the ISC and the logs are kept in
//! `$TMPDIR/oc-mirror-demo-work` (`/tmp/oc-mirror-demo-work`; or `--work-dir
//! DIR`), whose path is printed; its `workspace/` is recreated on every run.
//! The registries are temporary and stop on exit unless `--keep-running`.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::client::sha256_digest;
use oc_mirror_tests::fixture::{Format, ImageSpec, LayerSpec, push_image};
use oc_mirror_tests::release::ReleaseWorld;
use oc_mirror_tests::signing::ReleaseSigner;
use oc_mirror_tests::world::names;
use oc_mirror_tests::{
    CincinnatiServer, GraphSpec, PushedWorld, Registry, RegistryOptions, World, WorldEntry,
};

/// Repository prefix in the mirror.
const PREFIX: &str = "mirror";
/// The entry mirrored under `targetRepo` / `targetTag`.
const RETARGETED: &str = names::OCI_PLAIN;
const TARGET_REPO: &str = "apps/plain-oci";
const TARGET_TAG: &str = "stable";
/// The `blockedImages` pattern, and the extra image it blocks.
const BLOCK_PATTERN: &str = "two-tags:latest$";

const USAGE: &str = "\
usage: oc-mirror-demo [--work-dir DIR] [--keep-running]

Starts a source and a mirror registry on loopback, fills the source with sample
images, mirrors them with oc-mirror (found next to this executable), checks the
mirror digest for digest, runs oc-mirror again (a no-op), then mirrors sample
OpenShift releases from a local update service (signed, with the graph-data
image) and reports.

  --work-dir DIR    where the workspace, ISC and logs are kept
                    (default: /tmp/oc-mirror-demo-work, i.e. under $TMPDIR;
                    its `workspace/` is recreated on every run)
  --keep-running    keep both registries up after the report, until Ctrl-C
";

struct Args {
    work_dir: PathBuf,
    keep_running: bool,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        work_dir: std::env::temp_dir().join("oc-mirror-demo-work"),
        keep_running: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--work-dir" => {
                args.work_dir = it.next().context("--work-dir needs a value")?.into();
            }
            "--keep-running" => args.keep_running = true,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(Some(args))
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

/// The checks made so far, each PASS or FAIL.
#[derive(Default)]
struct Checks {
    results: Vec<(bool, String)>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        let what = what.into();
        println!("  [{}] {what}", if ok { "PASS" } else { "FAIL" });
        self.results.push((ok, what));
        ok
    }

    fn failed(&self) -> usize {
        self.results.iter().filter(|(ok, _)| !ok).count()
    }
}

/// The summary oc-mirror prints on stdout.
#[derive(Debug, Default, Clone)]
struct Summary {
    copied: u64,
    already: u64,
    failed: u64,
    downloaded: u64,
    downloaded_bytes: String,
    uploaded: u64,
    mounted: u64,
    present: u64,
    from_cache: u64,
    mapping: Option<PathBuf>,
}

/// `"12 downloaded (1.5 MiB)"` → `(12, "downloaded", Some("1.5 MiB"))`.
fn count_part(part: &str) -> Option<(u64, String, Option<String>)> {
    let part = part.trim();
    let (num, rest) = part.split_once(' ')?;
    let n = num.parse().ok()?;
    let (label, extra) = match rest.split_once(" (") {
        Some((label, extra)) => (label, Some(extra.trim_end_matches(')').to_string())),
        None => (rest, None),
    };
    Some((n, label.trim().to_string(), extra))
}

fn parse_summary(stdout: &str) -> Option<Summary> {
    let mut s = Summary::default();
    let mut seen = (false, false);
    for line in stdout.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("images:") {
            seen.0 = true;
            for (n, label, _) in rest.split(", ").filter_map(count_part) {
                match label.as_str() {
                    "copied" => s.copied = n,
                    "already in the mirror" => s.already = n,
                    "failed" => s.failed = n,
                    _ => {}
                }
            }
        } else if let Some(rest) = line.strip_prefix("blobs:") {
            seen.1 = true;
            for (n, label, extra) in rest.split(", ").filter_map(count_part) {
                match label.as_str() {
                    "downloaded" => {
                        s.downloaded = n;
                        s.downloaded_bytes = extra.unwrap_or_default();
                    }
                    "uploaded" => s.uploaded = n,
                    "mounted" => s.mounted = n,
                    "already in the mirror" => s.present = n,
                    "from the workspace cache" => s.from_cache = n,
                    _ => {}
                }
            }
        } else if let Some(rest) = line.strip_prefix("mapping:") {
            s.mapping = Some(PathBuf::from(rest.trim()));
        }
    }
    (seen.0 && seen.1).then_some(s)
}

/// How a run of oc-mirror ended.
struct Run {
    success: bool,
    code: Option<i32>,
    stdout: String,
    elapsed: Duration,
}

/// Runs oc-mirror with `env` added, echoing its stdout and stderr (prefixed)
/// as they come.
fn run_oc_mirror(
    bin: &Path,
    args: &[String],
    env: &[(&str, String)],
    log: &Path,
) -> anyhow::Result<Run> {
    for (k, v) in env {
        println!("  $ export {k}={v}");
    }
    println!("  $ {} {}", bin.display(), args.join(" "));
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let mut log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err_thread = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("    oc-mirror │ {line}");
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout_text = String::new();
    let stdout = child.stdout.take().context("no stdout pipe")?;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("    oc-mirror ┃ {line}");
        stdout_text.push_str(&line);
        stdout_text.push('\n');
    }
    let status = child.wait().context("waiting for oc-mirror")?;
    let elapsed = started.elapsed();
    let stderr_text = err_thread.join().unwrap_or_default();
    let _ = write!(
        log_file,
        "$ {} {}\n--- stdout ---\n{stdout_text}--- stderr ---\n{stderr_text}--- {status} after {elapsed:?}\n",
        bin.display(),
        args.join(" ")
    );
    Ok(Run {
        success: status.success(),
        code: status.code(),
        stdout: stdout_text,
        elapsed,
    })
}

/// Where one listed entry must land in the mirror.
struct Expected<'a> {
    entry: &'a WorldEntry,
    source: String,
    dest_repo: String,
    dest_tag: String,
}

fn digest_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

fn expectations<'a>(world: &'a PushedWorld, source: &Registry) -> Vec<Expected<'a>> {
    world
        .entries
        .iter()
        .map(|entry| {
            let source_ref = format!("{}/{}", source.host(), entry.reference());
            let (repo, tag) = if entry.name == RETARGETED {
                (TARGET_REPO.to_string(), TARGET_TAG.to_string())
            } else {
                let tag = match entry.tags.first() {
                    Some(tag) => tag.clone(),
                    None => digest_tag(&entry.digest),
                };
                (entry.repo.clone(), tag)
            };
            Expected {
                entry,
                source: source_ref,
                dest_repo: format!("{PREFIX}/{repo}"),
                dest_tag: tag,
            }
        })
        .collect()
}

fn isc_yaml(expected: &[Expected], blocked_extra: &str) -> String {
    let mut yaml = String::from(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n",
    );
    for e in expected {
        yaml.push_str(&format!("    - name: {}\n", e.source));
        if e.entry.name == RETARGETED {
            yaml.push_str(&format!(
                "      targetRepo: {TARGET_REPO}\n      targetTag: {TARGET_TAG}\n"
            ));
        }
    }
    yaml.push_str(&format!(
        "    - name: {blocked_extra}          # listed, but blocked below\n"
    ));
    yaml.push_str(&format!(
        "  blockedImages:\n    - name: \"{BLOCK_PATTERN}\"\n"
    ));
    yaml
}

/// Checks one image in the mirror: tag → digest, manifest bytes, children, blobs.
async fn verify_image(mirror: &Registry, e: &Expected<'_>) -> Result<String, String> {
    let at = format!("{}:{}", e.dest_repo, e.dest_tag);
    let (digest, _, body) = mirror
        .manifest(&e.dest_repo, &e.dest_tag)
        .await
        .map_err(|err| format!("{at}: {err:#}"))?
        .ok_or_else(|| format!("{at}: missing in the mirror"))?;
    if digest != e.entry.digest {
        return Err(format!(
            "{at}: mirror says {digest}, source has {}",
            e.entry.digest
        ));
    }
    if sha256_digest(&body) != e.entry.digest || body != e.entry.manifest_bytes() {
        return Err(format!("{at}: manifest bytes differ from the source's"));
    }
    for child in e.entry.children() {
        match mirror.manifest(&e.dest_repo, &child.manifest_digest).await {
            Ok(Some((d, _, _))) if d == child.manifest_digest => {}
            other => {
                return Err(format!(
                    "{at}: platform manifest {} not in the mirror ({other:?})",
                    child.manifest_digest
                ));
            }
        }
    }
    let blobs = e.entry.blobs();
    for blob in blobs.keys() {
        if !mirror
            .blob_exists(&e.dest_repo, blob)
            .await
            .map_err(|err| format!("{at}: {err:#}"))?
        {
            return Err(format!("{at}: blob {blob} missing"));
        }
    }
    Ok(format!(
        "{} manifest(s), {} blob(s)",
        1 + e.entry.children().len(),
        blobs.len()
    ))
}

/// Checks every image, the catalog and the tags; returns whether all passed.
async fn verify_mirror(
    checks: &mut Checks,
    mirror: &Registry,
    expected: &[Expected<'_>],
    blocked_repo: &str,
) -> anyhow::Result<bool> {
    let mut all = true;
    for e in expected {
        let what = format!(
            "{} → {}/{}:{} = {}",
            e.source,
            mirror.host(),
            e.dest_repo,
            e.dest_tag,
            short(&e.entry.digest)
        );
        all &= match verify_image(mirror, e).await {
            Ok(detail) => checks.check(true, format!("{what} ({detail})")),
            Err(why) => checks.check(false, format!("{what}: {why}")),
        };
    }
    let catalog: BTreeSet<String> = mirror.catalog().await?.into_iter().collect();
    let wanted: BTreeSet<String> = expected.iter().map(|e| e.dest_repo.clone()).collect();
    all &= checks.check(
        catalog == wanted,
        format!(
            "the mirror holds exactly the {} expected repositories{}",
            wanted.len(),
            if catalog == wanted {
                String::new()
            } else {
                format!(" (it has {catalog:?})")
            }
        ),
    );
    let mut tags = mirror.tags(blocked_repo).await?;
    tags.sort();
    all &= checks.check(
        tags == ["1.0"],
        format!(
            "blocked image not mirrored: {blocked_repo} has tags {tags:?} (want [\"1.0\"], no \"latest\")"
        ),
    );
    Ok(all)
}

fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}

/// Successful blob GETs in the source since `mark`, per digest of the world.
fn blob_gets(source: &Registry, mark: usize, world: &PushedWorld) -> Vec<(String, usize)> {
    world
        .blobs()
        .keys()
        .map(|d| (d.clone(), source.blob_gets_since(mark, d)))
        .collect()
}

/// Uploads (blob upload sessions) and manifest PUTs the mirror saw since `mark`.
fn mirror_writes(mirror: &Registry, mark: usize) -> (usize, usize) {
    let requests = mirror.requests_since(mark);
    let uploads = requests
        .iter()
        .filter(|r| r.method == "POST" && r.uri.contains("/blobs/uploads/"))
        .count();
    let manifests = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.uri.contains("/manifests/"))
        .count();
    (uploads, manifests)
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

async fn run(args: Args) -> anyhow::Result<usize> {
    let bin = oc_mirror_binary()?;
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;
    let work = std::fs::canonicalize(&args.work_dir)?;
    let workspace = work.join("workspace");
    if workspace.exists() {
        std::fs::remove_dir_all(&workspace)
            .with_context(|| format!("removing the previous {}", workspace.display()))?;
    }
    let mut checks = Checks::default();
    let total = Instant::now();

    println!("==> 1. Starting two registries (docker-registry on loopback)");
    let source = Registry::start(RegistryOptions::default()).await?;
    let mirror = Registry::start(RegistryOptions::default()).await?;
    println!("  source: {}   mirror: {}", source.url(), mirror.url());

    println!("\n==> 2. Pushing the sample images into the source");
    let world = World::standard().push(&source).await?;
    for entry in &world.entries {
        let kind = if entry.is_index() {
            format!("index of {}", entry.children().len())
        } else {
            "image".to_string()
        };
        let tags = if entry.tags.is_empty() {
            "(no tag)".to_string()
        } else {
            entry.tags.join(", ")
        };
        println!(
            "  {:<26} {:<10} {:<14} {} ({})",
            entry.repo,
            tags,
            kind,
            short(&entry.digest),
            human(entry.blobs().values().sum())
        );
    }
    let unique_bytes = world.unique_blob_bytes();
    println!(
        "  {} entries, {} distinct blobs, {} bytes ({}) of blobs in all",
        world.entries.len(),
        world.blobs().len(),
        unique_bytes,
        human(unique_bytes)
    );

    println!("\n==> 3. Writing the ImageSetConfiguration");
    let expected = expectations(&world, &source);
    let two_tags = world
        .get(names::TWO_TAGS)
        .context("the standard world has a two-tags entry")?;
    let blocked_extra = format!("{}/{}:latest", source.host(), two_tags.repo);
    let isc = isc_yaml(&expected, &blocked_extra);
    let isc_path = work.join("isc.yaml");
    std::fs::write(&isc_path, &isc)?;
    println!("  {}:", isc_path.display());
    for line in isc.lines() {
        println!("    {line}");
    }

    let destination = format!("docker://{}/{PREFIX}", mirror.host());
    let oc_args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        "--workspace".to_string(),
        format!("file://{}", workspace.display()),
        destination.clone(),
        "--dest-tls-verify=false".to_string(),
        "--src-tls-verify=false".to_string(),
    ];

    println!("\n==> 4. Mirroring with oc-mirror (mirror to mirror)");
    let mark = source.log_mark();
    let first = run_oc_mirror(&bin, &oc_args, &[], &work.join("first-run.log"))?;
    let first_gets = blob_gets(&source, mark, &world);
    let first_summary = parse_summary(&first.stdout);

    println!("\n==> 5. Checking the mirror with an independent client");
    checks.check(
        first.success,
        format!(
            "oc-mirror exited with {:?} in {:.2} s",
            first.code,
            first.elapsed.as_secs_f64()
        ),
    );
    match &first_summary {
        Some(s) => {
            checks.check(
                s.copied == expected.len() as u64 && s.failed == 0,
                format!(
                    "summary: {} copied, {} already in the mirror, {} failed (want {} copied)",
                    s.copied,
                    s.already,
                    s.failed,
                    expected.len()
                ),
            );
        }
        None => {
            checks.check(
                false,
                "oc-mirror printed its summary (images:/blobs: lines)",
            );
        }
    }
    verify_mirror(
        &mut checks,
        &mirror,
        &expected,
        &format!("{PREFIX}/{}", two_tags.repo),
    )
    .await?;
    let never: Vec<String> = first_gets
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(d, _)| short(d))
        .collect();
    let twice: Vec<String> = first_gets
        .iter()
        .filter(|(_, n)| *n > 1)
        .map(|(d, n)| format!("{} ×{n}", short(d)))
        .collect();
    checks.check(
        never.is_empty() && twice.is_empty(),
        format!(
            "each of the {} distinct blobs was fetched from the source exactly once (shared base layers included){}",
            first_gets.len(),
            if twice.is_empty() && never.is_empty() {
                String::new()
            } else {
                format!("; never: {never:?}, more than once: {twice:?}")
            }
        ),
    );
    let mapping_path = workspace.join("working-dir/mapping.txt");
    let mapping = std::fs::read_to_string(&mapping_path).unwrap_or_default();
    let mut want_lines: Vec<String> = expected
        .iter()
        .map(|e| {
            format!(
                "docker://{}=docker://{}/{}:{}",
                e.source,
                mirror.host(),
                e.dest_repo,
                e.dest_tag
            )
        })
        .collect();
    want_lines.sort();
    let mut got_lines: Vec<String> = mapping.lines().map(str::to_string).collect();
    got_lines.sort();
    checks.check(
        got_lines == want_lines,
        format!(
            "{} lists the {} mirrored images (source=destination), not the blocked one{}",
            mapping_path.display(),
            want_lines.len(),
            if got_lines == want_lines {
                String::new()
            } else {
                format!("\n      got:  {got_lines:?}\n      want: {want_lines:?}")
            }
        ),
    );

    println!("\n==> 6. Running oc-mirror again (nothing changed: a no-op)");
    let source_mark = source.log_mark();
    let mirror_mark = mirror.log_mark();
    let second = run_oc_mirror(&bin, &oc_args, &[], &work.join("second-run.log"))?;
    let second_gets: usize = blob_gets(&source, source_mark, &world)
        .iter()
        .map(|(_, n)| n)
        .sum();
    let (uploads, manifest_puts) = mirror_writes(&mirror, mirror_mark);
    let second_summary = parse_summary(&second.stdout);
    println!();
    checks.check(
        second.success,
        format!(
            "second oc-mirror run exited with {:?} in {:.2} s",
            second.code,
            second.elapsed.as_secs_f64()
        ),
    );
    match &second_summary {
        Some(s) => {
            checks.check(
                s.copied == 0 && s.already == expected.len() as u64 && s.failed == 0,
                format!(
                    "summary: {} copied, {} already in the mirror, {} failed (want 0 copied, {} already)",
                    s.copied,
                    s.already,
                    s.failed,
                    expected.len()
                ),
            );
            checks.check(
                s.downloaded == 0 && s.uploaded == 0,
                format!(
                    "summary: {} blobs downloaded, {} uploaded (want 0 and 0)",
                    s.downloaded, s.uploaded
                ),
            );
        }
        None => {
            checks.check(
                false,
                "oc-mirror printed its summary (images:/blobs: lines)",
            );
        }
    }
    checks.check(
        second_gets == 0,
        format!("source registry log: {second_gets} blob downloads during the second run (want 0)"),
    );
    checks.check(
        uploads == 0 && manifest_puts == 0,
        format!(
            "mirror registry log: {uploads} blob uploads, {manifest_puts} manifest pushes during the second run (want 0)"
        ),
    );
    verify_mirror(
        &mut checks,
        &mirror,
        &expected,
        &format!("{PREFIX}/{}", two_tags.repo),
    )
    .await?;

    println!("\n==> 7. Mirroring OpenShift releases (a local update service, signed payloads)");
    let releases = mirror_releases(&bin, &work, &source, &mirror, &mut checks).await?;

    // The report.
    let failed = checks.failed();
    println!("\n================================ report ================================");
    if failed == 0 {
        println!("RESULT: all {} checks passed", checks.results.len());
    } else {
        println!(
            "RESULT: {failed} of {} checks FAILED:",
            checks.results.len()
        );
        for (_, what) in checks.results.iter().filter(|(ok, _)| !ok) {
            println!("  - {what}");
        }
    }
    println!(
        "\nMirrored {} images from {} to {} ({} listed; `{}` blocked by `{BLOCK_PATTERN}`):",
        expected.len(),
        source.host(),
        destination,
        expected.len() + 1,
        blocked_extra
    );
    for e in &expected {
        println!(
            "  {:<40} → {}:{}  {}",
            e.source
                .split_once('/')
                .map(|(_, r)| r)
                .unwrap_or(&e.source),
            e.dest_repo,
            e.dest_tag,
            short(&e.entry.digest)
        );
    }
    println!(
        "\nBytes: {} distinct blobs, {} bytes ({}) must cross once.",
        world.blobs().len(),
        unique_bytes,
        human(unique_bytes)
    );
    if let Some(s) = &first_summary {
        println!(
            "  first run  ({:.2} s): {} blobs downloaded ({}), {} uploaded, {} mounted, {} already there",
            first.elapsed.as_secs_f64(),
            s.downloaded,
            s.downloaded_bytes,
            s.uploaded,
            s.mounted,
            s.present
        );
    }
    if let Some(s) = &second_summary {
        println!(
            "  second run ({:.2} s): {} images copied, {} blobs downloaded ({}), source served {second_gets} blob GETs",
            second.elapsed.as_secs_f64(),
            s.copied,
            s.downloaded,
            s.downloaded_bytes
        );
    }
    println!(
        "\nReleases: {} mirrored by the shortest upgrade path 4.14.2 → 4.15.1 of stable-4.15 ({} images), signatures checked and kept, graph-data image built; cluster resources in {}",
        releases.versions.join(", "),
        releases.images,
        releases.resources.display()
    );
    println!("\nKept in {} (delete it when done):", work.display());
    println!("  ISC:        {}", isc_path.display());
    println!("  workspace:  {}", workspace.display());
    println!("  mapping:    {}", mapping_path.display());
    println!(
        "  logs:       {}, {}",
        work.join("first-run.log").display(),
        work.join("second-run.log").display()
    );
    println!("Demo finished in {:.1} s.", total.elapsed().as_secs_f64());

    if args.keep_running {
        println!(
            "\nRegistries still running: source {} , mirror {} (e.g. skopeo inspect --tls-verify=false docker://{}/{}/{}). Ctrl-C to stop.",
            source.url(),
            mirror.url(),
            mirror.host(),
            PREFIX,
            world.entries[0].reference()
        );
        let _ = tokio::signal::ctrl_c().await;
    } else {
        println!("The two registries were temporary and stop now (--keep-running keeps them).");
    }
    Ok(failed)
}

/// What the release step mirrored.
struct ReleasesDone {
    versions: Vec<String>,
    images: usize,
    resources: PathBuf,
}

/// Step 7: release payloads and an update graph in the source, signed with a
/// throwaway key oc-mirror is told to trust; oc-mirror mirrors the shortest
/// upgrade path of a channel and builds the graph-data image; the mirror and
/// the cluster resources are checked.
async fn mirror_releases(
    bin: &Path,
    work: &Path,
    source: &Registry,
    mirror: &Registry,
    checks: &mut Checks,
) -> anyhow::Result<ReleasesDone> {
    let world = ReleaseWorld::standard()
        .push(source.client(), "openshift-release-dev")
        .await?;
    let server = CincinnatiServer::start(GraphSpec::for_release_world(&world)).await?;
    let signer = ReleaseSigner::new();
    for r in &world.releases {
        server.add_signature(
            &r.digest,
            1,
            signer.sign_release(&r.digest, &r.tag_reference()),
        );
    }
    let key = work.join("release-key.asc");
    std::fs::write(&key, signer.public_key_armored())?;
    // The graph-data image's base (oc-mirror's default is UBI 9 from the
    // internet): a small image in the source.
    let base = ImageSpec::new(
        "demo/ubi-minimal",
        Some("latest"),
        Format::Oci,
        vec![LayerSpec {
            seed: 9000,
            size: 4096,
        }],
    );
    push_image(source.client(), &base).await?;
    println!(
        "  {} releases in {}/{}/ocp-release, update service at {}",
        world.releases.len(),
        source.host(),
        world.namespace,
        server.graph_url()
    );
    let isc = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    channels:\n      - name: stable-4.15\n        minVersion: 4.14.2\n        maxVersion: 4.15.1\n        shortestPath: true\n    graph: true\n";
    let isc_path = work.join("isc-releases.yaml");
    std::fs::write(&isc_path, isc)?;
    for line in isc.lines() {
        println!("    {line}");
    }
    let workspace = work.join("workspace-releases");
    if workspace.exists() {
        std::fs::remove_dir_all(&workspace)?;
    }
    let args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        "--workspace".to_string(),
        format!("file://{}", workspace.display()),
        format!("docker://{}/{PREFIX}", mirror.host()),
        "--dest-tls-verify=false".to_string(),
        "--src-tls-verify=false".to_string(),
        "--graph-base-image".to_string(),
        format!("{}/demo/ubi-minimal:latest", source.host()),
    ];
    let env = [
        ("UPDATE_URL_OVERRIDE", server.graph_url()),
        ("OCP_SIGNATURE_URL", server.signature_base_url()),
        ("OCP_SIGNATURE_VERIFICATION_PK", key.display().to_string()),
    ];
    let run = run_oc_mirror(bin, &args, &env, &work.join("releases-run.log"))?;
    checks.check(
        run.success,
        format!(
            "oc-mirror (releases) exited with {:?} in {:.2} s",
            run.code,
            run.elapsed.as_secs_f64()
        ),
    );
    // The shortest path 4.14.2 → 4.15.1 goes through 4.15.0.
    let versions = ["4.14.2", "4.15.0", "4.15.1"];
    let mut images = 0;
    let mut wrong = Vec::new();
    for v in versions {
        let Some(r) = world.get(v, "x86_64") else {
            wrong.push(format!("{v}: not in the fixture"));
            continue;
        };
        let at = |repo: &str, tag: &str| {
            let repo = format!("{PREFIX}/{repo}");
            let tag = tag.to_string();
            async move {
                mirror
                    .manifest(&repo, &tag)
                    .await
                    .ok()
                    .flatten()
                    .map(|(d, _, _)| d)
            }
        };
        if at("openshift/release-images", &r.tag).await.as_deref() != Some(r.digest.as_str()) {
            wrong.push(format!("payload {}", r.tag));
        }
        images += 1;
        for c in r.components() {
            let tag = format!("{}-{}", r.tag, c.name);
            if at("openshift/release", &tag).await.as_deref() != Some(c.digest.as_str()) {
                wrong.push(format!("component {tag}"));
            }
            images += 1;
        }
    }
    checks.check(
        wrong.is_empty(),
        format!(
            "the mirror holds releases {} ({images} images: payloads in openshift/release-images, components in openshift/release), digest for digest{}",
            versions.join(", "),
            if wrong.is_empty() { String::new() } else { format!("; wrong or missing: {wrong:?}") }
        ),
    );
    let not_mirrored = world
        .get("4.14.3", "x86_64")
        .map(|r| r.tag.clone())
        .unwrap_or_default();
    let off_path = mirror
        .manifest(&format!("{PREFIX}/openshift/release-images"), &not_mirrored)
        .await
        .ok()
        .flatten();
    checks.check(
        off_path.is_none(),
        format!("{not_mirrored} (not on the shortest path) was left out"),
    );
    let graph = mirror
        .manifest(&format!("{PREFIX}/openshift/graph-image"), "latest")
        .await
        .ok()
        .flatten();
    checks.check(
        graph.is_some(),
        "the graph-data image was built and mirrored as openshift/graph-image:latest",
    );
    let resources = workspace.join("working-dir/cluster-resources");
    let read = |name: &str| std::fs::read_to_string(resources.join(name)).unwrap_or_default();
    let signatures = read("signature-configmap.json");
    let keys = signatures.matches("\"sha256-").count();
    checks.check(
        keys == versions.len() && signatures.contains("mirrored-release-signatures"),
        format!(
            "signature-configmap.json holds {keys} verified release signatures (want {})",
            versions.len()
        ),
    );
    let update_service = read("updateService.yaml");
    checks.check(
        update_service.contains("kind: UpdateService")
            && update_service.contains("openshift/graph-image@sha256:"),
        "updateService.yaml points at the graph-data image by digest",
    );
    checks.check(
        read("idms-oc-mirror.yaml").contains("idms-release-0"),
        "idms-oc-mirror.yaml has the release mirror set (idms-release-0)",
    );
    Ok(ReleasesDone {
        versions: versions.iter().map(|v| v.to_string()).collect(),
        images,
        resources,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oc-mirror-demo: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("oc-mirror-demo: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
