//! Killed at any point: mirror to mirror, create and publish are each killed
//! with SIGKILL at points drawn from a seed, then run again, and what a user
//! relies on is checked every time:
//!
//! - the rerun completes, and the result is the clean run's: the mirror
//!   digest for digest, the archive byte for byte;
//! - at the moment of the kill, every tag in the mirror resolves completely
//!   (no manifest before its blobs and children), every blob in the cache
//!   hashes to its name, and a sequence recorded (in the workspace or in the
//!   mirror) has everything it records in place;
//! - the rerun fetches no blob the killed run had already cached (create) or
//!   put in the mirror (mirror to mirror), and uploads none the mirror already
//!   had (publish).
//!
//! A point is either the k-th registry request of the run (a
//! [`Tripwire`] front holds it, and the test kills the process) or the k-th
//! crash point (`OC_MIRROR_CRASH_AT`, `host/src/crashpoint.rs`: just before a
//! download, a part or a record takes its final name). The seed is printed;
//! `OC_MIRROR_KILL_SEED=S` replays a run, and `OC_MIRROR_KILL_POINTS=N` sets
//! how many points each workflow gets (20 by default, as in CI; the long
//! loop in `RELIABILITY.md` runs hundreds).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use oc_mirror_tests::isc::additional_images;
use oc_mirror_tests::{FaultProxy, PushedWorld, Registry, Tripwire};
use sha2::{Digest as _, Sha256};

use crate::delete::assert_resolves;
use crate::support::*;

/// The seed and the number of points per workflow, from the environment.
fn sample() -> (u64, usize) {
    let seed = std::env::var("OC_MIRROR_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261207);
    let points = std::env::var("OC_MIRROR_KILL_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    (seed, points)
}

/// xorshift64*: enough to spread points, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Where a run is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Point {
    /// When its k-th registry request arrives (1-based).
    Request(usize),
    /// At its k-th crash point (1-based).
    Crash(u64),
}

/// `count` distinct points drawn from `seed`: a quarter (at least one) of
/// them among the `crashes` crash points, the rest among the `requests`
/// requests (all of them when there are fewer).
fn draw(seed: u64, count: usize, requests: usize, crashes: u64) -> Vec<Point> {
    let mut rng = Rng::new(seed);
    let on_disk = (count.div_ceil(4) as u64).min(crashes);
    let mut picked = BTreeSet::new();
    while (picked.len() as u64) < on_disk {
        picked.insert(Point::Crash(rng.below(crashes) + 1));
    }
    let want = (count.min(requests + on_disk as usize)).max(picked.len());
    while picked.len() < want {
        picked.insert(Point::Request(rng.below(requests as u64) as usize + 1));
    }
    picked.into_iter().collect()
}

/// How a run at a point ended.
#[derive(Debug)]
enum Ended {
    Killed,
    /// The point was never reached (the run took another path this time).
    Finished(Run),
}

/// Runs `command` with `point` armed and kills it there.
async fn run_to(mut command: Command, point: Point, wire: &Tripwire) -> Ended {
    match point {
        Point::Request(k) => wire.arm(k),
        Point::Crash(k) => {
            wire.arm(0);
            command.env("OC_MIRROR_CRASH_AT", k.to_string());
        }
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oc-mirror");
    loop {
        if wire.tripped() {
            child.kill().expect("kill");
            let _ = child.wait();
            wire.arm(0);
            wire.settle().await;
            return Ended::Killed;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            wire.arm(0);
            wire.settle().await;
            let out = child.wait_with_output().expect("output");
            if status.code().is_none() {
                // Killed by its own crash point.
                return Ended::Killed;
            }
            return Ended::Finished(Run::from_output(out));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Runs `command` to the end with nothing armed, counting its requests and
/// crash points; prints the points drawn for `seed` with the crash points'
/// names.
fn count_points(
    what: &str,
    mut command: Command,
    wire: &Tripwire,
    seed: u64,
    count: usize,
) -> (Run, Vec<Point>) {
    wire.arm(0);
    command.env("OC_MIRROR_CRASH_AT", "count");
    let run = Run::from_output(command.output().expect("run oc-mirror"));
    let names: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("crash point "))
        .collect();
    let requests = wire.seen();
    let points = draw(seed, count, requests, names.len() as u64);
    let shown: Vec<String> = points
        .iter()
        .map(|p| match p {
            Point::Crash(k) => format!("crash {}", names[*k as usize - 1]),
            Point::Request(k) => format!("request {k}"),
        })
        .collect();
    eprintln!(
        "{what}: seed {seed}, {requests} requests and {} crash points; killed at {}",
        names.len(),
        shown.join(", ")
    );
    (run, points)
}

/// Every tag under `prefix/` in the mirror: `repo-below-prefix:tag` → digest.
async fn snapshot(mirror: &Registry, prefix: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for repo in mirror.catalog().await.unwrap() {
        let Some(below) = repo.strip_prefix(&format!("{prefix}/")) else {
            continue;
        };
        for tag in mirror.tags(&repo).await.unwrap() {
            let digest = digest_at(mirror, &repo, &tag).await.unwrap();
            out.insert(format!("{below}:{tag}"), digest);
        }
    }
    out
}

/// Every tag under `prefix/` resolves completely.
async fn assert_consistent(mirror: &Registry, prefix: &str, point: Point) {
    for repo in mirror.catalog().await.unwrap() {
        if !repo.starts_with(&format!("{prefix}/")) {
            continue;
        }
        for tag in mirror.tags(&repo).await.unwrap() {
            // A panic here names the tag; the point says how to replay it.
            eprintln!("checking {repo}:{tag} after a kill at {point:?}");
            assert_resolves(mirror, &repo, &tag).await;
        }
    }
}

/// `(repo, digest)` of every blob linked into a repository under `prefix/`,
/// read from the registry's storage (as the registry itself decides).
fn linked_blobs(mirror: &Registry, prefix: &str) -> BTreeSet<(String, String)> {
    let root = mirror
        .storage_dir()
        .join("docker/registry/v2/repositories")
        .join(prefix);
    let mut out = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == "_layers") {
                let repo = dir.strip_prefix(&root).unwrap().display().to_string();
                for d in std::fs::read_dir(path.join("sha256")).into_iter().flatten() {
                    let d = d.unwrap();
                    if d.path().join("link").exists() {
                        out.insert((
                            repo.clone(),
                            format!("sha256:{}", d.file_name().to_string_lossy()),
                        ));
                    }
                }
            } else if path.is_dir() && path.file_name().is_none_or(|n| n != "_manifests") {
                stack.push(path);
            }
        }
    }
    out
}

/// `(repo, digest)` of every blob a registry served (GET 200/206) since `mark`.
fn blob_gets(reg: &Registry, mark: usize) -> Vec<(String, String)> {
    reg.requests_since(mark)
        .into_iter()
        .filter(|r| r.method == "GET" && (r.status == 200 || r.status == 206))
        .filter_map(|r| {
            let path = r.uri.strip_prefix("/v2/")?;
            let (repo, digest) = path.split_once("/blobs/")?;
            digest
                .starts_with("sha256:")
                .then(|| (repo.to_string(), digest.to_string()))
        })
        .collect()
}

/// `(repo, digest)` of every blob upload a registry completed since `mark`.
fn blob_uploads(reg: &Registry, mark: usize) -> Vec<(String, String)> {
    reg.requests_since(mark)
        .into_iter()
        .filter(|r| r.method == "PUT" && r.status == 201 && r.uri.contains("/blobs/uploads/"))
        .filter_map(|r| {
            let path = r.uri.strip_prefix("/v2/")?;
            let (repo, rest) = path.split_once("/blobs/uploads/")?;
            let query = rest.split_once('?')?.1;
            let digest = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("digest="))?
                .replace("%3A", ":")
                .replace("%3a", ":");
            Some((repo.to_string(), digest))
        })
        .collect()
}

/// Every blob file in a workspace's cache hashes to its name; their digests.
fn verified_cache(working_dir: &Path) -> BTreeSet<String> {
    let dir = working_dir.join("cache/blobs-v1/sha256");
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let got = hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap()));
        assert_eq!(
            got,
            name,
            "{} holds other bytes than its name",
            e.path().display()
        );
        out.insert(format!("sha256:{name}"));
    }
    out
}

/// Whether the metadata directory of a workspace records a sequence.
fn recorded(working_dir: &Path) -> bool {
    std::fs::read_dir(working_dir.join("metadata"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
}

/// The `mirror_seq*` files of a directory, name → sha256 of the bytes.
fn parts(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).into_iter().flatten() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("mirror_seq") && e.path().is_file() {
            out.insert(
                name,
                hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap())),
            );
        }
    }
    out
}

/// What one workflow's loop saw, for the line it prints.
#[derive(Default)]
struct Tally {
    killed: usize,
    finished: usize,
}

impl Tally {
    fn add(&mut self, ended: &Ended) {
        match ended {
            Ended::Killed => self.killed += 1,
            Ended::Finished(run) => {
                run.assert_ok();
                self.finished += 1
            }
        }
    }
}

/// A world in a source behind a counting front, and a mirror behind another.
struct Setup {
    src: Registry,
    world: PushedWorld,
    mirror: Registry,
    wire: Arc<Tripwire>,
    src_front: FaultProxy,
    mirror_front: FaultProxy,
}

async fn setup() -> Setup {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let wire = Tripwire::new();
    let src_front = FaultProxy::tripped_by(&src.host(), wire.clone())
        .await
        .unwrap();
    let mirror_front = FaultProxy::tripped_by(&mirror.host(), wire.clone())
        .await
        .unwrap();
    Setup {
        src,
        world,
        mirror,
        wire,
        src_front,
        mirror_front,
    }
}

impl Setup {
    /// An ImageSetConfiguration for the world, read through the source front.
    fn isc(&self, ctx: &Ctx) -> String {
        ctx.isc(&additional_images(
            &self.src_front.host(),
            &all_references(&self.world),
        ))
    }
}

/// Mirror to mirror, killed at each point and run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_to_mirror_killed_at_any_point() {
    let (seed, count) = sample();
    let s = setup().await;
    let ctx = Ctx::new();
    let isc = s.isc(&ctx);
    let m2m = |ws: &str, prefix: &str| {
        let ws = format!("file://{}", ctx.path(ws).display());
        let dest = format!("docker://{}/{prefix}", s.mirror_front.host());
        ctx.command(&[
            "-c",
            &isc,
            "--workspace",
            &ws,
            &dest,
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
    };
    let (clean, points) = count_points(
        "mirror to mirror",
        m2m("ws-ref", "ref"),
        &s.wire,
        seed,
        count,
    );
    clean.assert_ok();
    let want = snapshot(&s.mirror, "ref").await;
    assert!(!want.is_empty());
    let mut tally = Tally::default();
    for (i, &point) in points.iter().enumerate() {
        let (ws, prefix) = (format!("ws{i}"), format!("k{i}"));
        let ended = run_to(m2m(&ws, &prefix), point, &s.wire).await;
        assert_consistent(&s.mirror, &prefix, point).await;
        if recorded(&ctx.path(&ws).join("working-dir")) {
            assert_eq!(
                snapshot(&s.mirror, &prefix).await,
                want,
                "{point:?}: recorded, yet incomplete"
            );
        }
        let held = linked_blobs(&s.mirror, &prefix);
        let mark = s.src.log_mark();
        m2m(&ws, &prefix)
            .output()
            .map(Run::from_output)
            .unwrap()
            .assert_ok();
        assert_eq!(
            snapshot(&s.mirror, &prefix).await,
            want,
            "after a kill at {point:?}"
        );
        for (repo, digest) in blob_gets(&s.src, mark) {
            assert!(
                !held.contains(&(repo.clone(), digest.clone())),
                "{point:?}: the rerun fetched {digest} for {repo} again, though the mirror held it"
            );
        }
        tally.add(&ended);
    }
    eprintln!(
        "mirror to mirror: {} killed, {} finished before their point",
        tally.killed, tally.finished
    );
    assert!(
        tally.killed * 2 >= points.len(),
        "most points must be reached"
    );
}

/// Create, killed at each point and run again: the same archive, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_killed_at_any_point() {
    let (seed, count) = sample();
    let s = setup().await;
    let ctx = Ctx::new();
    let isc = s.isc(&ctx);
    let size = ["--archive-size-bytes", "100000"];
    let create = |out: &Path| {
        let dest = format!("file://{}", out.display());
        let mut args = vec!["-c", &isc, &dest, "--src-tls-verify=false"];
        args.extend_from_slice(&size);
        ctx.command(&args)
    };
    // Every run gets the same workspace UUID (so the same bytes), and so the
    // same crash points: none for making a workspace.
    let first = ctx.path("first");
    Run::from_output(create(&first).output().unwrap()).assert_ok();
    let same_workspace = |out: &Path| {
        std::fs::create_dir_all(out.join("working-dir")).unwrap();
        std::fs::copy(
            first.join("working-dir/workspace.json"),
            out.join("working-dir/workspace.json"),
        )
        .unwrap();
    };
    let reference = ctx.path("ref");
    same_workspace(&reference);
    let (clean, points) = count_points("create", create(&reference), &s.wire, seed, count);
    clean.assert_ok();
    let want = parts(&reference);
    assert!(want.len() > 1, "several parts: {want:?}");
    let mut tally = Tally::default();
    for (i, &point) in points.iter().enumerate() {
        let out = ctx.path(&format!("out{i}"));
        same_workspace(&out);
        let ended = run_to(create(&out), point, &s.wire).await;
        let cached = verified_cache(&out.join("working-dir"));
        let was_recorded = recorded(&out.join("working-dir"));
        if was_recorded {
            assert_eq!(
                parts(&out),
                want,
                "{point:?}: recorded, yet the archive is not whole"
            );
        }
        let mark = s.src.log_mark();
        Run::from_output(create(&out).output().unwrap()).assert_ok();
        // Recorded before the kill, sequence 1 stands and the rerun makes the
        // next; otherwise the rerun makes sequence 1 again, the same bytes.
        let (first, next): (BTreeMap<_, _>, BTreeMap<_, _>) = parts(&out)
            .into_iter()
            .partition(|(name, _)| name.starts_with("mirror_seq1_"));
        assert_eq!(first, want, "after a kill at {point:?}");
        assert_eq!(
            next.is_empty(),
            !was_recorded,
            "{point:?}: a second sequence only when the first was recorded: {next:?}"
        );
        for (_, digest) in blob_gets(&s.src, mark) {
            assert!(
                !cached.contains(&digest),
                "{point:?}: the rerun fetched {digest} again, though the cache held it"
            );
        }
        tally.add(&ended);
    }
    eprintln!(
        "create: {} killed, {} finished before their point",
        tally.killed, tally.finished
    );
    assert!(
        tally.killed * 2 >= points.len(),
        "most points must be reached"
    );
}

/// Publish, killed at each point and run again: the mirror as a clean publish
/// leaves it; what it already held is not uploaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_killed_at_any_point() {
    let (seed, count) = sample();
    let s = setup().await;
    let ctx = Ctx::new();
    let isc = s.isc(&ctx);
    let out = ctx.path("out");
    ctx.create(&isc, &out, &["--archive-size-bytes", "100000"])
        .assert_ok();
    let publish = |dir: &PathBuf, prefix: &str| {
        let from = format!("file://{}", dir.display());
        let dest = format!("docker://{}/{prefix}", s.mirror_front.host());
        ctx.command(&["--from", &from, &dest, "--dest-tls-verify=false"])
    };
    let reference = ctx.path("ref");
    carry(&out, &reference, 1);
    let (clean, points) = count_points("publish", publish(&reference, "ref"), &s.wire, seed, count);
    clean.assert_ok();
    let want = snapshot(&s.mirror, "ref").await;
    assert!(!want.is_empty());
    let mut tally = Tally::default();
    for (i, &point) in points.iter().enumerate() {
        let (dir, prefix) = (ctx.path(&format!("in{i}")), format!("k{i}"));
        carry(&out, &dir, 1);
        let ended = run_to(publish(&dir, &prefix), point, &s.wire).await;
        assert_consistent(&s.mirror, &prefix, point).await;
        verified_cache(&dir.join("working-dir"));
        let mirror_recorded = digest_at(&s.mirror, &format!("{prefix}/oc-mirror"), "metadata")
            .await
            .is_some();
        if mirror_recorded || recorded(&dir.join("working-dir")) {
            assert_eq!(
                snapshot(&s.mirror, &prefix).await,
                want,
                "{point:?}: recorded, yet incomplete"
            );
        }
        let held = linked_blobs(&s.mirror, &prefix);
        let mark = s.mirror.log_mark();
        Run::from_output(publish(&dir, &prefix).output().unwrap()).assert_ok();
        assert_eq!(
            snapshot(&s.mirror, &prefix).await,
            want,
            "after a kill at {point:?}"
        );
        for (repo, digest) in blob_uploads(&s.mirror, mark) {
            let repo = repo
                .strip_prefix(&format!("{prefix}/"))
                .unwrap_or(&repo)
                .to_string();
            assert!(
                !held.contains(&(repo.clone(), digest.clone())),
                "{point:?}: the rerun uploaded {digest} to {repo} again, though the mirror held it"
            );
        }
        tally.add(&ended);
    }
    eprintln!(
        "publish: {} killed, {} finished before their point",
        tally.killed, tally.finished
    );
    assert!(
        tally.killed * 2 >= points.len(),
        "most points must be reached"
    );
}
