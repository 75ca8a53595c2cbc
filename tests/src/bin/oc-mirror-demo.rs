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
//! 7. carries imagesets across an air gap: on the connected side
//!    `oc-mirror -c isc.yaml file://DIR` writes sequence 1; its
//!    `mirror_seq1_*.tar` parts are copied to the disconnected side's directory and
//!    published into a third, empty registry with
//!    `oc-mirror --from file://MEDIA docker://REGISTRY/ocp`; then the source
//!    gains a new tag and a new image (new layers on shared base layers), and
//!    sequence 2 is created, carried and published the same way. Checked: the
//!    parts' contents (sequence 1 every layer, sequence 2 exactly the new
//!    ones), that publishing never reaches the source and uploads no old
//!    layer, and every image in the disconnected mirror, digest for digest,
//!    with the client of `oc-mirror-tests` and with `skopeo inspect`;
//! 8. mirrors OpenShift releases: payloads pushed into the source, a local
//!    update service, signatures from a throwaway key oc-mirror is told to
//!    trust; the shortest upgrade path of a channel plus the graph-data image,
//!    checked in the mirror and in the cluster resources;
//! 9. mirrors an operator catalog through the imageset cycle: a catalog
//!    pushed into the source (a multi-arch Docker index), `oc-mirror plan`
//!    showing what the filter keeps and why, sequence 1 created, carried and
//!    published into a fourth registry, the rebuilt catalog read back out of
//!    it (bundles, channel heads, default channels, `Cmd`, every kept image
//!    digest for digest, CatalogSource and ClusterCatalog); then the catalog
//!    gains a new head and sequence 2 carries only the new bundle's layers,
//!    while the catalog it publishes keeps the bundle sequence 1 mirrored,
//!    upgrading to the new head;
//! 10. mirrors Helm charts through the imageset cycle: a chart repository
//!     started on loopback serves the fixture chart `webapp` (a library
//!     chart, subcharts with conditions, tags and aliases, a CronJob, an
//!     install hook, a test pod, an image by digest, one only through
//!     `imagePaths`), whose images are pushed into the source; `oc-mirror
//!     plan` lists each image with the template it came from; sequence 1 is
//!     created, carried and published, and every image the chart runs is
//!     checked in the disconnected mirror, the test pod's image and the
//!     disabled subchart's are not there, and the chart itself is read back
//!     out of the mirror as an OCI chart, byte for byte;
//! 11. prints a report and exits non-zero if any check failed.
//!
//! The workspace, the ISC and the logs are kept in
//! `$TMPDIR/oc-mirror-demo-work` (`/tmp/oc-mirror-demo-work`; or `--work-dir
//! DIR`), whose path is printed; its `workspace/`, `workspace-releases/` and
//! `imagesets/` are recreated on every run. The registries are temporary and
//! stop on exit unless `--keep-running`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oc_mirror_tests::client::sha256_digest;
use oc_mirror_tests::fixture::{Format, ImageSpec, LayerSpec, PushedImage, push_image};
use oc_mirror_tests::release::ReleaseWorld;
use oc_mirror_tests::signing::ReleaseSigner;
use oc_mirror_tests::world::{PushedArtifact, names};
use oc_mirror_tests::{
    CincinnatiServer, GraphSpec, PushedWorld, Registry, RegistryOptions, World, WorldEntry,
    catalog, imageset, isc, tools,
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
mirror digest for digest, runs oc-mirror again (a no-op), carries two
imagesets (a full one, then a differential one) across an air gap into a
third registry, then mirrors sample OpenShift releases from a local update
service (signed, with the graph-data image) and reports.

  --work-dir DIR    where the workspaces, ISCs, imagesets and logs are kept
                    (default: /tmp/oc-mirror-demo-work, i.e. under $TMPDIR;
                    its `workspace/` and `imagesets/` are recreated on every run)
  --keep-running    keep the registries up after the report, until Ctrl-C
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
#[derive(Clone)]
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
    let mut yaml = String::from("  additionalImages:\n");
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
    isc::image_set_config(&yaml)
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
    let bin = tools::oc_mirror_binary()?;
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

    println!("\n==> 7. Imagesets across the air gap: mirror to disk, carry, disk to mirror");
    let sets = imagesets(&bin, &work, &source, &world, &mut checks).await?;

    println!("\n==> 8. Mirroring OpenShift releases (a local update service, signed payloads)");
    let releases = mirror_releases(&bin, &work, &source, &mirror, &mut checks).await?;

    println!("\n==> 9. Operators: a filtered catalog through the imageset cycle");
    let operators = mirror_operators(&bin, &work, &source, &mut checks).await?;

    println!(
        "\n==> 10. Helm charts: a chart repository, its chart and images through the imageset cycle"
    );
    let helm = mirror_charts(&bin, &work, &source, &mut checks).await?;

    println!("\n==> 11. Delete and prune: one image taken out of the mirror of step 4");
    delete_one(
        &bin,
        &work,
        &workspace,
        &mirror,
        &expected,
        &blocked_extra,
        &mut checks,
    )
    .await?;

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
    let [s1, s2] = &sets.seqs;
    println!(
        "\nImagesets: connected side → parts carried → disconnected registry {}/{AIRGAP_PREFIX} (never in touch with the source):",
        sets.disconnected.host()
    );
    println!("              parts  carried                manifests+configs  layers");
    for (n, s, note) in [
        (1, s1, "everything".to_string()),
        (
            2,
            s2,
            format!(
                "only the new ones; {} layers of the set not carried again ({} of them shared by the new images)",
                s2.layers_not_carried, sets.shared_layers
            ),
        ),
    ] {
        println!(
            "  sequence {n}: {:<6} {:<22} {:<18} {} ({}): {note}",
            s.parts,
            format!("{} ({} B)", human(s.part_bytes), s.part_bytes),
            format!("{} ({})", s.small_blobs, human(s.small_bytes)),
            s.layers,
            human(s.layer_bytes),
        );
    }
    println!(
        "  sequence 2 is {:.0}% of sequence 1's bytes for {} images instead of {} ({} new layers); the disconnected mirror holds all {}, digest for digest",
        100.0 * s2.part_bytes as f64 / s1.part_bytes.max(1) as f64,
        s2.images,
        s1.images,
        sets.new_layers,
        sets.images
    );
    println!(
        "  times: create seq 1 {:.2} s, publish seq 1 {:.2} s, create seq 2 {:.2} s, publish seq 2 {:.2} s",
        sets.seconds[0], sets.seconds[1], sets.seconds[2], sets.seconds[3]
    );
    println!(
        "\nReleases: {} mirrored by the shortest upgrade path 4.14.2 → 4.15.1 of stable-4.15 ({} images), signatures checked and kept, graph-data image built; cluster resources in {}",
        releases.versions.join(", "),
        releases.images,
        releases.resources.display()
    );
    println!(
        "\nOperators: catalog {} filtered to {} bundles ({} images) and rebuilt; sequence 2 added {} and kept {} from sequence 1 (of the bundle layers, only {}'s {} crossed); CatalogSource in {}",
        operators.catalog,
        operators.kept_first,
        operators.images,
        operators.added,
        operators.kept_earlier,
        operators.added,
        operators.new_layers,
        operators.resources.display()
    );
    println!(
        "\nHelm: chart {} from {} rendered to {} images (a CronJob's, an install hook's, one through imagePaths; the test pod's left out), carried and published; the chart is in the mirror as {} and in {}",
        helm.chart,
        helm.repository,
        helm.images,
        helm.oci,
        helm.placed.display()
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
    println!(
        "  imagesets:  {} (isc.yaml, connected/, disconnected/, logs)",
        sets.root.display()
    );
    println!("Demo finished in {:.1} s.", total.elapsed().as_secs_f64());

    if args.keep_running {
        println!(
            "\nRegistries still running: source {} , mirror {} , disconnected {} (e.g. skopeo inspect --tls-verify=false docker://{}/{}/{}). Ctrl-C to stop.",
            source.url(),
            mirror.url(),
            sets.disconnected.url(),
            mirror.host(),
            PREFIX,
            world.entries[0].reference()
        );
        let _ = tokio::signal::ctrl_c().await;
    } else {
        println!("The three registries were temporary and stop now (--keep-running keeps them).");
    }
    Ok(failed)
}

/// Repository prefix in the disconnected mirror (step 7).
const AIRGAP_PREFIX: &str = "ocp";

/// One image of the imageset step: a reference of the ISC and what it is.
struct SetImage {
    /// `repo:tag` or `repo@digest` (no host).
    reference: String,
    repo: String,
    /// The tag it gets in the mirror (`sha256-…` when listed by digest).
    mirror_tag: String,
    digest: String,
    manifest_bytes: Vec<u8>,
    /// The platform manifests of an index.
    children: Vec<String>,
    configs: BTreeSet<String>,
    /// Layer digest → compressed size.
    layers: BTreeMap<String, u64>,
}

impl SetImage {
    /// Every manifest digest (top and children) and config digest.
    fn manifests_and_configs(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.configs.clone();
        out.insert(self.digest.clone());
        out.extend(self.children.iter().cloned());
        out
    }
}

/// Configs and layers of single-platform images.
fn configs_and_layers(images: &[&PushedImage]) -> (BTreeSet<String>, BTreeMap<String, u64>) {
    let mut configs = BTreeSet::new();
    let mut layers = BTreeMap::new();
    for i in images {
        configs.insert(i.config_digest.clone());
        for (d, s) in i.blob_digests.iter().zip(&i.blob_sizes) {
            if *d != i.config_digest {
                layers.insert(d.clone(), *s);
            }
        }
    }
    (configs, layers)
}

/// One [`SetImage`] per tag of a world entry (by digest when untagged).
fn set_images_of(e: &WorldEntry) -> Vec<SetImage> {
    let images: Vec<&PushedImage> = match &e.pushed {
        PushedArtifact::Image(i) => vec![i],
        PushedArtifact::Index(ix) => ix.images.iter().collect(),
    };
    let (configs, layers) = configs_and_layers(&images);
    let refs: Vec<(String, String)> = if e.tags.is_empty() {
        vec![(e.digest_reference(), digest_tag(&e.digest))]
    } else {
        e.tags
            .iter()
            .map(|t| (format!("{}:{t}", e.repo), t.clone()))
            .collect()
    };
    refs.into_iter()
        .map(|(reference, mirror_tag)| SetImage {
            reference,
            repo: e.repo.clone(),
            mirror_tag,
            digest: e.digest.clone(),
            manifest_bytes: e.manifest_bytes().to_vec(),
            children: e
                .children()
                .iter()
                .map(|c| c.manifest_digest.clone())
                .collect(),
            configs: configs.clone(),
            layers: layers.clone(),
        })
        .collect()
}

fn set_image_of(p: &PushedImage) -> SetImage {
    let (configs, layers) = configs_and_layers(&[p]);
    let tag = p
        .tag
        .clone()
        .unwrap_or_else(|| digest_tag(&p.manifest_digest));
    SetImage {
        reference: format!("{}:{tag}", p.repo),
        repo: p.repo.clone(),
        mirror_tag: tag,
        digest: p.manifest_digest.clone(),
        manifest_bytes: p.manifest_bytes.clone(),
        children: Vec::new(),
        configs,
        layers,
    }
}

fn imageset_isc(source: &Registry, images: &[SetImage]) -> String {
    let refs: Vec<&str> = images.iter().map(|i| i.reference.as_str()).collect();
    isc::image_set_config(&isc::additional_images(&source.host(), &refs))
}

/// Carries the parts of sequence `seq` (which hold `contents`) from `from`
/// into `to` with [`imageset::carry`], as a person carries them across the
/// gap on removable media, showing each copy, and checks that every part and
/// byte arrived (`note` ends the check's line).
fn carry_sequence(
    checks: &mut Checks,
    from: &Path,
    to: &Path,
    seq: u64,
    contents: &SeqContents,
    note: &str,
) -> anyhow::Result<()> {
    let (copied, bytes) = if imageset::parts(from, seq)?.is_empty() {
        std::fs::create_dir_all(to)?;
        (Vec::new(), 0)
    } else {
        imageset::carry(from, to, seq)?
    };
    for dest in &copied {
        let name = dest.file_name().context("a part has a name")?;
        println!(
            "  $ cp {} {}/   ({})",
            from.join(name).display(),
            to.display(),
            human(file_size(dest))
        );
    }
    checks.check(
        copied.len() == contents.parts.len() && bytes == contents.part_bytes,
        format!(
            "{} part(s), {} bytes carried to {}{note}",
            copied.len(),
            contents.part_bytes,
            to.display()
        ),
    );
    Ok(())
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What the parts of one sequence hold.
struct SeqContents {
    parts: Vec<PathBuf>,
    part_bytes: u64,
    /// `blobs/sha256/…` entries: digest → size.
    blobs: BTreeMap<String, u64>,
}

fn read_sequence(parts: &[PathBuf]) -> anyhow::Result<SeqContents> {
    Ok(SeqContents {
        parts: parts.to_vec(),
        part_bytes: parts.iter().map(|p| file_size(p)).sum(),
        blobs: imageset::archive_blobs(parts)?,
    })
}

/// One sequence in numbers, for the report.
#[derive(Clone, Copy, Default)]
struct SeqStats {
    parts: usize,
    part_bytes: u64,
    images: usize,
    small_blobs: usize,
    small_bytes: u64,
    layers: usize,
    layer_bytes: u64,
    /// Layers of the set left out because an earlier sequence carried them.
    layers_not_carried: usize,
}

/// Checks what one sequence carries: every manifest and config of the set,
/// and exactly the layers in `want_layers`.
fn check_sequence(
    checks: &mut Checks,
    seq: u64,
    contents: &SeqContents,
    set: &[SetImage],
    want_layers: &BTreeMap<String, u64>,
) -> SeqStats {
    let small: BTreeSet<String> = set.iter().flat_map(|i| i.manifests_and_configs()).collect();
    let all_layers: BTreeMap<String, u64> = set.iter().flat_map(|i| i.layers.clone()).collect();
    let missing_small: Vec<String> = small
        .iter()
        .filter(|d| !contents.blobs.contains_key(*d))
        .map(|d| short(d))
        .collect();
    checks.check(
        missing_small.is_empty(),
        format!(
            "sequence {seq} holds every manifest and config of the set ({}){}",
            small.len(),
            if missing_small.is_empty() {
                String::new()
            } else {
                format!("; missing {missing_small:?}")
            }
        ),
    );
    let carried: BTreeMap<String, u64> = contents
        .blobs
        .iter()
        .filter(|(d, _)| !small.contains(*d))
        .map(|(d, s)| (d.clone(), *s))
        .collect();
    let want_bytes: u64 = want_layers.values().sum();
    let carried_bytes: u64 = carried.values().sum();
    let ok = carried.keys().eq(want_layers.keys()) && carried_bytes == want_bytes;
    let unexpected: Vec<String> = carried
        .keys()
        .filter(|d| !want_layers.contains_key(*d))
        .map(|d| short(d))
        .collect();
    let absent: Vec<String> = want_layers
        .keys()
        .filter(|d| !carried.contains_key(*d))
        .map(|d| short(d))
        .collect();
    checks.check(
        ok,
        format!(
            "sequence {seq} carries exactly {} layer blob(s), {} ({}), of the set's {}{}",
            want_layers.len(),
            human(want_bytes),
            want_bytes,
            all_layers.len(),
            if ok {
                String::new()
            } else {
                format!(
                    "; it carries {} ({carried_bytes} bytes): unexpected {unexpected:?}, missing {absent:?}",
                    carried.len()
                )
            }
        ),
    );
    SeqStats {
        parts: contents.parts.len(),
        part_bytes: contents.part_bytes,
        images: set.len(),
        small_blobs: small.len(),
        small_bytes: contents
            .blobs
            .iter()
            .filter(|(d, _)| small.contains(*d))
            .map(|(_, s)| s)
            .sum(),
        layers: carried.len(),
        layer_bytes: carried_bytes,
        layers_not_carried: all_layers.len().saturating_sub(carried.len()),
    }
}

/// `skopeo inspect --raw` of an image: the sha256 of the manifest it reads.
fn skopeo_digest(image: &str) -> Result<String, String> {
    let out = tools::try_skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ])?;
    if !out.status.success() {
        return Err(format!(
            "skopeo inspect {image}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(sha256_digest(&out.stdout))
}

/// Checks one image in the disconnected mirror with the client of
/// `oc-mirror-tests` (tag → digest, manifest bytes, children, every blob) and,
/// when `skopeo` is set, with skopeo.
async fn verify_published(mirror: &Registry, i: &SetImage, skopeo: bool) -> Result<String, String> {
    let repo = format!("{AIRGAP_PREFIX}/{}", i.repo);
    let at = format!("{repo}:{}", i.mirror_tag);
    let (digest, _, body) = mirror
        .manifest(&repo, &i.mirror_tag)
        .await
        .map_err(|e| format!("{at}: {e:#}"))?
        .ok_or_else(|| format!("{at}: missing"))?;
    if digest != i.digest || body != i.manifest_bytes {
        return Err(format!("{at}: mirror has {digest}, source {}", i.digest));
    }
    for child in &i.children {
        match mirror.manifest(&repo, child).await {
            Ok(Some((d, _, _))) if d == *child => {}
            _ => return Err(format!("{at}: platform manifest {} missing", short(child))),
        }
    }
    for blob in i.configs.iter().chain(i.layers.keys()) {
        if !mirror
            .blob_exists(&repo, blob)
            .await
            .map_err(|e| format!("{at}: {e:#}"))?
        {
            return Err(format!("{at}: blob {} missing", short(blob)));
        }
    }
    let mut how = "client".to_string();
    if skopeo {
        let seen = skopeo_digest(&format!("{}/{at}", mirror.host()))?;
        if seen != i.digest {
            return Err(format!("{at}: skopeo reads {seen}"));
        }
        how.push_str(" + skopeo");
    }
    Ok(format!(
        "{} blob(s), checked by {how}",
        i.configs.len() + i.layers.len()
    ))
}

/// Checks every image of `set` in the disconnected mirror, its catalog and
/// the metadata it records; returns the metadata manifest's digest.
async fn verify_disconnected(
    checks: &mut Checks,
    mirror: &Registry,
    set: &[SetImage],
    skopeo: bool,
) -> anyhow::Result<Option<String>> {
    let mut bad = Vec::new();
    for i in set {
        match verify_published(mirror, i, skopeo).await {
            Ok(detail) => println!(
                "    {:<44} = {}  {detail}",
                format!("{AIRGAP_PREFIX}/{}:{}", i.repo, i.mirror_tag),
                short(&i.digest)
            ),
            Err(why) => {
                println!("    {why}");
                bad.push(why);
            }
        }
    }
    checks.check(
        bad.is_empty(),
        format!(
            "the disconnected mirror holds all {} images of the set, digest for digest, with every blob{}",
            set.len(),
            if skopeo { " (client and skopeo)" } else { "" }
        ),
    );
    let metadata_repo = format!("{AIRGAP_PREFIX}/oc-mirror");
    let mut want: BTreeSet<String> = set
        .iter()
        .map(|i| format!("{AIRGAP_PREFIX}/{}", i.repo))
        .collect();
    want.insert(metadata_repo.clone());
    let catalog: BTreeSet<String> = mirror.catalog().await?.into_iter().collect();
    checks.check(
        catalog == want,
        format!(
            "its catalog is exactly the {} image repositories plus {metadata_repo}{}",
            want.len() - 1,
            if catalog == want {
                String::new()
            } else {
                format!(" (it has {catalog:?})")
            }
        ),
    );
    let metadata = mirror.digest(&metadata_repo, "metadata").await?;
    checks.check(
        metadata.is_some(),
        format!("the mirror records what it holds ({metadata_repo}:metadata)"),
    );
    Ok(metadata)
}

/// What the imageset step did, for the report.
struct ImagesetsDone {
    disconnected: Registry,
    root: PathBuf,
    seqs: [SeqStats; 2],
    /// Layers of sequence 2 that sequence 1 already had in the set.
    shared_layers: usize,
    new_layers: usize,
    images: usize,
    seconds: [f64; 4],
}

/// Step 11: the configuration of step 3 without one image, mirrored again
/// (the image is listed as no longer configured, and kept); a delete of it
/// generated from the workspace and carried out; the image gone, every other
/// one still whole.
async fn delete_one(
    bin: &Path,
    work: &Path,
    workspace: &Path,
    mirror: &Registry,
    expected: &[Expected<'_>],
    blocked_extra: &str,
    checks: &mut Checks,
) -> anyhow::Result<()> {
    let root = work.join("delete");
    std::fs::create_dir_all(&root)?;
    let (dropped, kept): (Vec<&Expected>, Vec<&Expected>) = expected
        .iter()
        .partition(|e| e.entry.name == names::OCI_SHARED);
    let dropped = dropped
        .first()
        .context("the standard world has oci-shared")?;
    let kept: Vec<Expected> = kept.into_iter().cloned().collect();
    let destination = format!("docker://{}/{PREFIX}", mirror.host());
    let ws = format!("file://{}", workspace.display());
    let common = [
        destination.clone(),
        "--dest-tls-verify=false".to_string(),
        "--src-tls-verify=false".to_string(),
    ];

    println!(
        "\n==> 11.1 The configuration no longer lists {}",
        dropped.source
    );
    let isc_path = write_isc(&root, &isc_yaml(&kept, blocked_extra))?;
    let mut args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        "--workspace".into(),
        ws.clone(),
    ];
    args.extend(common.iter().cloned());
    let run = run_step(
        checks,
        bin,
        &args,
        &root.join("mirror.log"),
        "mirror to mirror without it",
    )?;
    checks.check(
        run.stdout
            .contains("1 images in the mirror are no longer configured"),
        "the summary lists the image as no longer configured, and keeps it",
    );

    println!("\n==> 11.2 Generating the delete list from the workspace");
    let disc = root.join("delete-isc.yaml");
    let disc_text = format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageSetConfiguration\ndelete:\n  additionalImages:\n    - name: {}\n",
        dropped.source
    );
    std::fs::write(&disc, &disc_text)?;
    for line in disc_text.lines() {
        println!("    {line}");
    }
    let mut args = vec![
        "delete".to_string(),
        "--generate".into(),
        "-c".into(),
        disc.display().to_string(),
        "--workspace".into(),
        ws,
    ];
    args.extend(common.iter().cloned());
    let run = run_step(
        checks,
        bin,
        &args,
        &root.join("generate.log"),
        "oc-mirror delete --generate",
    )?;
    checks.check(
        run.stdout.contains("1 images to delete, 0 kept"),
        "the delete list names the one image",
    );

    println!("\n==> 11.3 Carrying out the delete on the mirror");
    let list = workspace.join("working-dir/delete/delete-images.yaml");
    let mut args = vec![
        "delete".to_string(),
        "--delete-yaml-file".into(),
        list.display().to_string(),
    ];
    args.extend(common.iter().cloned());
    let run = run_step(
        checks,
        bin,
        &args,
        &root.join("delete.log"),
        "oc-mirror delete",
    )?;
    checks.check(
        run.stdout.contains("1 deleted"),
        "the summary says the image was deleted",
    );
    let gone = mirror.digest(&dropped.dest_repo, &dropped.dest_tag).await?;
    checks.check(
        gone.is_none(),
        format!(
            "{}:{} is gone from the mirror",
            dropped.dest_repo, dropped.dest_tag
        ),
    );
    let mut whole = 0;
    for e in &kept {
        match verify_image(mirror, e).await {
            Ok(_) => whole += 1,
            Err(why) => println!("  {why}"),
        }
    }
    checks.check(
        whole == kept.len(),
        format!("the {whole} other images are still whole (manifests, children, blobs)"),
    );
    Ok(())
}

/// Writes `isc` as `root/isc.yaml` and shows it.
fn write_isc(root: &Path, isc: &str) -> anyhow::Result<PathBuf> {
    let isc_path = root.join("isc.yaml");
    std::fs::write(&isc_path, isc)?;
    for line in isc.lines() {
        println!("    {line}");
    }
    Ok(isc_path)
}

/// `oc-mirror plan -c ISC` as a checked step, logged to `root/plan.log`.
fn run_plan(checks: &mut Checks, bin: &Path, root: &Path, isc: &Path) -> anyhow::Result<Run> {
    let args = vec![
        "plan".to_string(),
        "-c".to_string(),
        isc.display().to_string(),
        "--src-tls-verify=false".to_string(),
    ];
    run_step(checks, bin, &args, &root.join("plan.log"), "oc-mirror plan")
}

/// Runs oc-mirror and records a check that it succeeded.
fn run_step(
    checks: &mut Checks,
    bin: &Path,
    args: &[String],
    log: &Path,
    what: &str,
) -> anyhow::Result<Run> {
    let run = run_oc_mirror(bin, args, &[], log)?;
    checks.check(
        run.success,
        format!(
            "{what}: oc-mirror exited with {:?} in {:.2} s",
            run.code,
            run.elapsed.as_secs_f64()
        ),
    );
    Ok(run)
}

/// Creates imageset sequence `seq` in `connected` (mirror to disk, logged in
/// `root`) and checks that it wrote parts; returns the run's seconds and what
/// the parts hold.
fn create_sequence(
    checks: &mut Checks,
    bin: &Path,
    create_args: &[String],
    root: &Path,
    connected: &Path,
    seq: u64,
) -> anyhow::Result<(f64, SeqContents)> {
    let run = run_step(
        checks,
        bin,
        create_args,
        &root.join(format!("create-seq{seq}.log")),
        &format!("create sequence {seq}"),
    )?;
    let parts = imageset::parts(connected, seq)?;
    checks.check(
        !parts.is_empty(),
        format!(
            "{} holds {} part(s) mirror_seq{seq}_*.tar",
            connected.display(),
            parts.len()
        ),
    );
    Ok((run.elapsed.as_secs_f64(), read_sequence(&parts)?))
}

/// Publishes sequence `seq` from `carried` into `disconnected` (disk to
/// mirror, logged in `root`) and checks that it sent nothing to `source`;
/// returns the run's seconds.
fn publish_sequence(
    checks: &mut Checks,
    bin: &Path,
    root: &Path,
    carried: &Path,
    disconnected: &Registry,
    source: &Registry,
    seq: u64,
) -> anyhow::Result<f64> {
    let args = vec![
        "--from".to_string(),
        format!("file://{}", carried.display()),
        format!("docker://{}/{AIRGAP_PREFIX}", disconnected.host()),
        "--dest-tls-verify=false".to_string(),
    ];
    let source_mark = source.log_mark();
    let run = run_step(
        checks,
        bin,
        &args,
        &root.join(format!("publish-seq{seq}.log")),
        &format!("publish sequence {seq}"),
    )?;
    let to_source = source.requests_since(source_mark).len();
    checks.check(
        to_source == 0,
        format!("publishing sent {to_source} requests to the source registry (want 0: offline)"),
    );
    Ok(run.elapsed.as_secs_f64())
}

/// Step 7: mirror to disk on the connected side, carry the parts, publish
/// them into a third registry on the disconnected side; then the source
/// changes and a differential second sequence crosses the same way.
async fn imagesets(
    bin: &Path,
    work: &Path,
    source: &Registry,
    world: &PushedWorld,
    checks: &mut Checks,
) -> anyhow::Result<ImagesetsDone> {
    let disconnected = Registry::start(RegistryOptions::default()).await?;
    let root = work.join("imagesets");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("removing the previous {}", root.display()))?;
    }
    let connected = root.join("connected");
    // What the media brought over: the disconnected side keeps this directory
    // (its `working-dir/` records the sequences it published).
    let carried = root.join("disconnected");
    std::fs::create_dir_all(&connected)?;
    println!(
        "  connected side: source {} and the directory {}",
        source.url(),
        connected.display()
    );
    println!(
        "  disconnected side: the directory {} (what crosses) and a new, empty registry {} (prefix {AIRGAP_PREFIX}); it never talks to the source",
        carried.display(),
        disconnected.url()
    );
    let skopeo = tools::try_skopeo(&["--version"]).is_ok_and(|out| out.status.success());
    checks.check(
        skopeo,
        "skopeo is installed (a second, independent reader of the mirror)",
    );
    let mut seconds = [0.0; 4];

    println!("\n==> 7.1 Connected side: creating imageset sequence 1 (mirror to disk)");
    let mut set: Vec<SetImage> = world.entries.iter().flat_map(set_images_of).collect();
    let isc_path = root.join("isc.yaml");
    let isc = imageset_isc(source, &set);
    std::fs::write(&isc_path, &isc)?;
    println!("  {}:", isc_path.display());
    for line in isc.lines() {
        println!("    {line}");
    }
    let create_args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        format!("file://{}", connected.display()),
        "--src-tls-verify=false".to_string(),
    ];
    let (created, seq1) = create_sequence(checks, bin, &create_args, &root, &connected, 1)?;
    seconds[0] = created;
    let set1_layers: BTreeMap<String, u64> = set.iter().flat_map(|i| i.layers.clone()).collect();
    let stats1 = check_sequence(checks, 1, &seq1, &set, &set1_layers);

    println!(
        "\n==> 7.2 Carrying sequence 1 across the gap (copying its parts, as onto removable media)"
    );
    carry_sequence(checks, &connected, &carried, 1, &seq1, "")?;

    println!("\n==> 7.3 Disconnected side: publishing sequence 1 (disk to mirror)");
    seconds[1] = publish_sequence(checks, bin, &root, &carried, &disconnected, source, 1)?;
    let metadata1 = verify_disconnected(checks, &disconnected, &set, false).await?;

    println!("\n==> 7.4 The source changes: a new tag and a new image, on shared base layers");
    let base_a = LayerSpec {
        seed: 1,
        size: 48 << 10,
    };
    let base_b = LayerSpec {
        seed: 2,
        size: 24 << 10,
    };
    let changes = [
        ImageSpec::new(
            "fixtures/shared-oci",
            Some("1.1"),
            Format::Oci,
            vec![
                base_a,
                base_b,
                LayerSpec {
                    seed: 102,
                    size: 10 << 10,
                },
                LayerSpec {
                    seed: 9_102,
                    size: 32 << 10,
                },
            ],
        ),
        ImageSpec::new(
            "fixtures/new-app",
            Some("1.0"),
            Format::Docker,
            vec![
                base_a,
                LayerSpec {
                    seed: 9_200,
                    size: 40 << 10,
                },
            ],
        ),
    ];
    let mut new_layers: BTreeMap<String, u64> = BTreeMap::new();
    let mut shared_layers: BTreeSet<String> = BTreeSet::new();
    let mut added = Vec::new();
    for spec in &changes {
        let pushed = push_image(source.client(), spec).await?;
        let image = set_image_of(&pushed);
        let (old, new): (Vec<_>, Vec<_>) = image
            .layers
            .iter()
            .partition(|(d, _)| set1_layers.contains_key(*d));
        println!(
            "  pushed {}/{} = {}: {} layers, {} shared with sequence 1, {} new ({})",
            source.host(),
            image.reference,
            short(&image.digest),
            image.layers.len(),
            old.len(),
            new.len(),
            human(new.iter().map(|(_, s)| **s).sum())
        );
        shared_layers.extend(old.iter().map(|(d, _)| (*d).clone()));
        new_layers.extend(new.iter().map(|(d, s)| ((*d).clone(), **s)));
        added.push(image);
    }

    println!("\n==> 7.5 Connected side: creating sequence 2 (only what is new)");
    let before = isc.lines().count();
    set.extend(added);
    let isc = imageset_isc(source, &set);
    std::fs::write(&isc_path, &isc)?;
    println!("  {} gains:", isc_path.display());
    for line in isc.lines().skip(before) {
        println!("  + {line}");
    }
    let (created, seq2) = create_sequence(checks, bin, &create_args, &root, &connected, 2)?;
    seconds[2] = created;
    let stats2 = check_sequence(checks, 2, &seq2, &set, &new_layers);
    checks.check(
        stats2.part_bytes < stats1.part_bytes && stats2.layers < stats1.layers,
        format!(
            "sequence 2 is smaller than sequence 1: {} vs {} bytes, {} vs {} layers",
            stats2.part_bytes, stats1.part_bytes, stats2.layers, stats1.layers
        ),
    );
    if let Some(first) = seq2.parts.first() {
        let describe = vec!["describe".to_string(), first.display().to_string()];
        run_step(
            checks,
            bin,
            &describe,
            &root.join("describe-seq2.log"),
            "describe sequence 2",
        )?;
    }

    println!("\n==> 7.6 Carrying sequence 2 and publishing it");
    carry_sequence(
        checks,
        &connected,
        &carried,
        2,
        &seq2,
        " (only sequence 2's parts: sequence 1 crossed before)",
    )?;
    let mirror_mark = disconnected.log_mark();
    seconds[3] = publish_sequence(checks, bin, &root, &carried, &disconnected, source, 2)?;
    let uploaded: BTreeSet<String> = disconnected
        .uploaded_since(mirror_mark)
        .into_iter()
        .collect();
    let old_uploaded: Vec<String> = uploaded
        .iter()
        .filter(|d| set1_layers.contains_key(*d))
        .map(|d| short(d))
        .collect();
    let new_missing: Vec<String> = new_layers
        .keys()
        .filter(|d| !uploaded.contains(*d))
        .map(|d| short(d))
        .collect();
    checks.check(
        old_uploaded.is_empty() && new_missing.is_empty(),
        format!(
            "the disconnected registry received {} blob upload(s): all {} new layers, none of sequence 1's{}",
            uploaded.len(),
            new_layers.len(),
            if old_uploaded.is_empty() && new_missing.is_empty() {
                String::new()
            } else {
                format!("; old ones uploaded again {old_uploaded:?}, new ones not uploaded {new_missing:?}")
            }
        ),
    );

    println!("\n==> 7.7 Checking the disconnected mirror after sequence 2");
    let metadata2 = verify_disconnected(checks, &disconnected, &set, skopeo).await?;
    let recorded = |dir: &Path| {
        std::fs::read_dir(dir.join("working-dir/metadata"))
            .map(|d| d.filter_map(|e| e.ok()).count())
            .unwrap_or(0)
    };
    let (here, there) = (recorded(&carried), recorded(&connected));
    checks.check(
        here > 0 && here == there,
        format!(
            "both sides' workspaces record the same history (working-dir/metadata/: {here} entries on the disconnected side, {there} on the connected side)"
        ),
    );
    checks.check(
        metadata2.is_some() && metadata2 != metadata1,
        "the mirror's metadata moved on with sequence 2",
    );

    Ok(ImagesetsDone {
        disconnected,
        root,
        seqs: [stats1, stats2],
        shared_layers: shared_layers.len(),
        new_layers: new_layers.len(),
        images: set.len(),
        seconds,
    })
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
    server.sign_releases(&signer, &world);
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
    let isc = isc::image_set_config(
        "  platform:\n    channels:\n      - name: stable-4.15\n        minVersion: 4.14.2\n        maxVersion: 4.15.1\n        shortestPath: true\n    graph: true\n",
    );
    let isc_path = work.join("isc-releases.yaml");
    std::fs::write(&isc_path, &isc)?;
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
    let env = server.release_env(&key);
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

/// What the operator step did.
struct OperatorsDone {
    catalog: String,
    kept_first: usize,
    images: usize,
    added: String,
    kept_earlier: String,
    new_layers: usize,
    resources: PathBuf,
}

/// The bundles of a catalog image in `registry` (read back with the test
/// library's own reader), and its config.
async fn catalog_bundles(
    registry: &Registry,
    repo: &str,
    tag: &str,
) -> anyhow::Result<(BTreeSet<String>, Vec<serde_json::Value>, serde_json::Value)> {
    let read = catalog::read_catalog(registry.client(), repo, tag).await?;
    let objects = read.objects()?;
    let bundles = objects
        .iter()
        .filter(|o| o["schema"] == "olm.bundle")
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect();
    Ok((bundles, objects, read.config))
}

/// The entry of channel `channel` of `package` named `name`.
fn channel_entry<'a>(
    objects: &'a [serde_json::Value],
    package: &str,
    channel: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    objects
        .iter()
        .find(|o| o["schema"] == "olm.channel" && o["package"] == package && o["name"] == channel)?
        ["entries"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
}

/// The layer digests of a single-platform image the catalog names.
async fn image_layers(
    source: &Registry,
    image: &oc_mirror_tests::catalog::PushedFixture,
) -> anyhow::Result<BTreeSet<String>> {
    let (_, _, bytes) = source
        .manifest(&image.repo, &image.digest)
        .await?
        .with_context(|| format!("{}@{} is not in the source", image.repo, image.digest))?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str().map(str::to_string))
        .collect())
}

/// Step 9: an operator catalog through create → carry → publish, twice.
async fn mirror_operators(
    bin: &Path,
    work: &Path,
    source: &Registry,
    checks: &mut Checks,
) -> anyhow::Result<OperatorsDone> {
    use oc_mirror_tests::catalog::{Catalog, CatalogImage, entry};
    let root = work.join("operators");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let (connected, carried) = (root.join("connected"), root.join("disconnected"));
    std::fs::create_dir_all(&connected)?;
    let disconnected = Registry::start(RegistryOptions::default()).await?;
    let image = CatalogImage::new("redhat/redhat-operator-index", "v4.18")
        .docker()
        .multi_arch();
    let first = Catalog::small().push(source.client(), &image).await?;
    println!(
        "  catalog {} ({}, linux/amd64 + linux/arm64): packages foo (channels stable, fast) and bar (alpha, beta), {} bundle and related images",
        first.reference,
        short(&first.digest),
        first.images.len()
    );
    let isc = isc::image_set_config(&format!(
        "  operators:\n    - catalog: {}\n      packages:\n        - name: foo\n        - name: bar\n          channels:\n            - name: alpha\n",
        first.reference
    ));
    let isc_path = write_isc(&root, &isc)?;

    println!("\n==> 9.1 oc-mirror plan: what the filter keeps, and why (nothing is copied)");
    let plan = run_plan(checks, bin, &root, &isc_path)?;
    checks.check(
        plan.stdout.contains("foo.v1.2.0") && plan.stdout.contains("channel head"),
        "the plan lists the channel heads foo.v1.2.0, foo.v2.0.0 and bar.v0.2.0, each as `channel head`",
    );

    println!(
        "\n==> 9.2 Sequence 1: create, carry, publish into a new registry {}",
        disconnected.url()
    );
    let create_args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        format!("file://{}", connected.display()),
        "--src-tls-verify=false".to_string(),
    ];
    let (_, seq1) = create_sequence(checks, bin, &create_args, &root, &connected, 1)?;
    carry_sequence(checks, &connected, &carried, 1, &seq1, "")?;
    publish_sequence(checks, bin, &root, &carried, &disconnected, source, 1)?;
    let repo = format!("{AIRGAP_PREFIX}/redhat/redhat-operator-index");
    let (bundles1, objects1, config) = catalog_bundles(&disconnected, &repo, "v4.18").await?;
    let want1: BTreeSet<String> = ["bar.v0.2.0", "foo.v1.2.0", "foo.v2.0.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    checks.check(
        bundles1 == want1,
        format!("the rebuilt catalog in the mirror holds exactly the channel heads {want1:?} (got {bundles1:?})"),
    );
    let defaults: Vec<String> = objects1
        .iter()
        .filter(|o| o["schema"] == "olm.package")
        .map(|o| {
            format!(
                "{}={}",
                o["name"].as_str().unwrap_or(""),
                o["defaultChannel"].as_str().unwrap_or("")
            )
        })
        .collect();
    checks.check(
        defaults == ["foo=stable", "bar=alpha"] || defaults == ["bar=alpha", "foo=stable"],
        format!("default channels kept: {defaults:?}; the beta channel of bar is gone"),
    );
    checks.check(
        config["config"]["Cmd"] == serde_json::json!(["serve", "/configs"]),
        "the rebuilt catalog serves /configs (Cmd [\"serve\", \"/configs\"]), opm's pre-built cache dropped",
    );
    let kept_images: BTreeSet<String> = first
        .objects_of("olm.bundle")
        .into_iter()
        .filter(|b| want1.contains(b["name"].as_str().unwrap_or("")))
        .flat_map(|b| {
            std::iter::once(b["image"].as_str().unwrap_or("").to_string()).chain(
                b["relatedImages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["image"].as_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    let mut missing = Vec::new();
    for reference in &kept_images {
        let Some(image) = first.image(reference) else {
            missing.push(reference.clone());
            continue;
        };
        let tag = match reference.rsplit_once('@') {
            Some(_) => format!("sha256-{}", &image.digest[7..]),
            None => reference
                .rsplit_once(':')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default(),
        };
        let at = disconnected
            .manifest(&format!("{AIRGAP_PREFIX}/{}", image.repo), &tag)
            .await
            .ok()
            .flatten()
            .map(|(d, _, _)| d);
        if at.as_deref() != Some(image.digest.as_str()) {
            missing.push(reference.clone());
        }
    }
    checks.check(
        missing.is_empty(),
        format!(
            "every image of the kept bundles ({} bundle and related images) is in the mirror, digest for digest{}",
            kept_images.len(),
            if missing.is_empty() { String::new() } else { format!("; missing: {missing:?}") }
        ),
    );
    let resources = carried.join("working-dir/cluster-resources");
    let cs = std::fs::read_to_string(resources.join("cs-redhat-operator-index-v4-18.yaml"))
        .unwrap_or_default();
    checks.check(
        cs.contains("kind: CatalogSource")
            && cs.contains(&format!("{}/{repo}:v4.18", disconnected.host())),
        "cs-redhat-operator-index-v4-18.yaml: a CatalogSource for the rebuilt catalog in the mirror",
    );
    checks.check(
        resources
            .join("cc-redhat-operator-index-v4-18.yaml")
            .exists(),
        "cc-redhat-operator-index-v4-18.yaml: a ClusterCatalog (OLM v1)",
    );

    println!("\n==> 9.3 The catalog moves on: foo.v1.3.0 becomes the head of stable");
    let second = Catalog::small()
        .with(
            Catalog::small()
                .get("foo")
                .cloned()
                .context("the small catalog has foo")?
                .channel_with(
                    "stable",
                    vec![
                        entry("foo.v1.0.0"),
                        entry("foo.v1.1.0").replaces("foo.v1.0.0"),
                        entry("foo.v1.2.0")
                            .replaces("foo.v1.1.0")
                            .skips(&["foo.v1.1.1"])
                            .skip_range(">=1.0.0 <1.2.0"),
                        entry("foo.v1.3.0").replaces("foo.v1.2.0"),
                    ],
                ),
        )
        .push(source.client(), &image)
        .await?;
    println!("  {} is now {}", second.reference, short(&second.digest));
    let (_, seq2) = create_sequence(checks, bin, &create_args, &root, &connected, 2)?;
    let new_bundle = second
        .image(&second.bundles["foo.v1.3.0"])
        .context("foo.v1.3.0's image")?;
    let old_bundle = first
        .image(&first.bundles["foo.v1.2.0"])
        .context("foo.v1.2.0's image")?;
    // Configs always cross (every manifest and config of the set); layers
    // only once.
    let new_layers = image_layers(source, new_bundle).await?;
    let old_layers: BTreeSet<String> = image_layers(source, old_bundle)
        .await?
        .difference(&new_layers)
        .cloned()
        .collect();
    let new_in_2 = new_layers
        .iter()
        .filter(|d| seq2.blobs.contains_key(*d))
        .count();
    let old_in_1 = old_layers
        .iter()
        .filter(|d| seq1.blobs.contains_key(*d))
        .count();
    let old_in_2 = old_layers
        .iter()
        .filter(|d| seq2.blobs.contains_key(*d))
        .count();
    checks.check(
        new_in_2 == new_layers.len() && old_in_1 == old_layers.len() && old_in_2 == 0,
        format!(
            "sequence 2 carries foo.v1.3.0's {new_in_2} layer(s) and none of the {} foo.v1.2.0 layer(s) sequence 1 shipped",
            old_layers.len()
        ),
    );
    carry_sequence(checks, &connected, &carried, 2, &seq2, "")?;
    publish_sequence(checks, bin, &root, &carried, &disconnected, source, 2)?;
    let (bundles2, objects2, _) = catalog_bundles(&disconnected, &repo, "v4.18").await?;
    checks.check(
        bundles2.contains("foo.v1.2.0") && bundles2.contains("foo.v1.3.0"),
        format!("after sequence 2 the catalog holds foo.v1.2.0 (from sequence 1) and foo.v1.3.0 (got {bundles2:?})"),
    );
    let edge = channel_entry(&objects2, "foo", "stable", "foo.v1.3.0")
        .and_then(|e| e["replaces"].as_str())
        .unwrap_or_default()
        .to_string();
    checks.check(
        edge == "foo.v1.2.0",
        format!("foo.v1.3.0 is the head of stable and replaces foo.v1.2.0 (`{edge}`): a cluster on 1.2.0 sees the update"),
    );
    let new_at = disconnected
        .manifest(
            &format!("{AIRGAP_PREFIX}/{}", new_bundle.repo),
            &format!("sha256-{}", &new_bundle.digest[7..]),
        )
        .await
        .ok()
        .flatten()
        .map(|(d, _, _)| d);
    checks.check(
        new_at.as_deref() == Some(new_bundle.digest.as_str()),
        "foo.v1.3.0's bundle image is in the mirror, digest for digest",
    );
    Ok(OperatorsDone {
        catalog: first.reference.clone(),
        kept_first: bundles1.len(),
        images: kept_images.len(),
        added: "foo.v1.3.0".into(),
        kept_earlier: "foo.v1.2.0".into(),
        new_layers: new_in_2,
        resources,
    })
}

struct HelmDone {
    chart: String,
    repository: String,
    images: usize,
    oci: String,
    placed: PathBuf,
}

/// Step 10: a chart from a chart repository through create → carry → publish.
async fn mirror_charts(
    bin: &Path,
    work: &Path,
    source: &Registry,
    checks: &mut Checks,
) -> anyhow::Result<HelmDone> {
    use oc_mirror_tests::charts::{self, ChartRepo, ChartUrls};
    let root = work.join("helm");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let (connected, carried) = (root.join("connected"), root.join("disconnected"));
    std::fs::create_dir_all(&connected)?;
    let disconnected = Registry::start(RegistryOptions::default()).await?;
    let pushed = charts::push_chart_images(source.client(), &charts::expectations()).await?;
    let repo = ChartRepo::start_with(ChartUrls::Relative).await?;
    let tgz = pushed.pack("webapp-1.2.0")?;
    repo.add(tgz.clone())?;
    repo.add(pushed.pack("webapp-1.3.0")?)?;
    repo.add(pushed.pack("common")?)?;
    println!(
        "  chart repository {} serves webapp 1.2.0 and 1.3.0 and the library chart common; their images are in {}",
        repo.url(),
        source.url()
    );
    let isc = isc::image_set_config(&format!(
        "  helm:\n    repositories:\n      - name: demo-charts\n        url: {}\n        charts:\n          - name: webapp\n            version: 1.2.0\n            imagePaths: ['{{.spec.engine.image}}']\n",
        repo.url()
    ));
    let isc_path = write_isc(&root, &isc)?;

    println!("\n==> 10.1 oc-mirror plan: each image and the template it came from");
    let plan = run_plan(checks, bin, &root, &isc_path)?;
    checks.check(
        plan.stdout.contains("webapp/templates/cronjob.yaml")
            && plan.stdout.contains("webapp/templates/hook-migrate.yaml")
            && plan.stdout.contains("webapp/charts/cache/templates/statefulset.yaml"),
        "the plan names the CronJob, the install hook and the cache subchart's StatefulSet as where images come from",
    );

    println!(
        "\n==> 10.2 Sequence 1: create, carry, publish into a new registry {}",
        disconnected.url()
    );
    let create_args = vec![
        "-c".to_string(),
        isc_path.display().to_string(),
        format!("file://{}", connected.display()),
        "--src-tls-verify=false".to_string(),
    ];
    let (_, seq1) = create_sequence(checks, bin, &create_args, &root, &connected, 1)?;
    carry_sequence(checks, &connected, &carried, 1, &seq1, "")?;
    publish_sequence(checks, bin, &root, &carried, &disconnected, source, 1)?;

    let want = charts::expectation("webapp-1.2.0").context("the webapp fixture")?;
    let mut missing = Vec::new();
    for rel in want.with_image_paths() {
        let image = pushed.image(&rel).context("a pushed chart image")?;
        let (repo_path, tag) = match rel.split_once('@') {
            Some((r, _)) => (r.to_string(), digest_tag(&image.manifest_digest)),
            None => {
                let (r, t) = rel.rsplit_once(':').context("a tag")?;
                (r.to_string(), t.to_string())
            }
        };
        let at = disconnected
            .digest(&format!("{AIRGAP_PREFIX}/{repo_path}"), &tag)
            .await
            .ok()
            .flatten();
        if at.as_deref() != Some(image.manifest_digest.as_str()) {
            missing.push(rel.clone());
        }
    }
    checks.check(
        missing.is_empty(),
        format!(
            "every image webapp 1.2.0 runs ({}: workloads, the CronJob, the install hook, the by-digest sidecar, the imagePaths one) is in the mirror, digest for digest{}",
            want.with_image_paths().len(),
            if missing.is_empty() { String::new() } else { format!("; missing: {missing:?}") }
        ),
    );
    let mut leaked = Vec::new();
    for rel in &want.excluded {
        let (repo_path, tag) = rel.rsplit_once(':').context("a tag")?;
        if disconnected
            .digest(&format!("{AIRGAP_PREFIX}/{repo_path}"), tag)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            leaked.push(rel.clone());
        }
    }
    checks.check(
        leaked.is_empty(),
        format!(
            "the test pod's image and the disabled subchart's and component's ({}) are not mirrored{}",
            want.excluded.join(", "),
            if leaked.is_empty() { String::new() } else { format!("; found: {leaked:?}") }
        ),
    );
    let chart_repo = format!("{AIRGAP_PREFIX}/demo-charts/webapp");
    let manifest = disconnected.manifest(&chart_repo, "1.2.0").await?;
    let layer = match &manifest {
        Some((_, _, bytes)) => {
            let m: serde_json::Value = serde_json::from_slice(bytes)?;
            let ok = m["config"]["mediaType"] == charts::HELM_CONFIG_MEDIA_TYPE
                && m["layers"][0]["mediaType"] == charts::HELM_CHART_MEDIA_TYPE;
            match (ok, m["layers"][0]["digest"].as_str()) {
                (true, Some(d)) => disconnected.client().blob(&chart_repo, d).await?,
                _ => None,
            }
        }
        None => None,
    };
    checks.check(
        layer.as_deref() == Some(tgz.as_slice()),
        format!(
            "the chart is in the mirror as an OCI chart with Helm's media types ({}:1.2.0, for `helm install oci://{}/{chart_repo} --version 1.2.0`), byte for byte the repository's archive",
            chart_repo,
            disconnected.host()
        ),
    );
    let placed = carried.join("working-dir/helm/charts/webapp-1.2.0.tgz");
    checks.check(
        std::fs::read(&placed).ok().as_deref() == Some(tgz.as_slice()),
        format!("publish wrote the chart archive to {}", placed.display()),
    );
    Ok(HelmDone {
        chart: "webapp 1.2.0".into(),
        repository: repo.url(),
        images: want.with_image_paths().len(),
        oci: format!("{}/{chart_repo}:1.2.0", disconnected.host()),
        placed,
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
