//! Disk full: the workspace and the archive directory on a small tmpfs that
//! the test mounts (the tests run as root, as CI does).
//!
//! Two ways to run out: a filesystem too small from the start (create and
//! publish refuse before writing, saying how much they need), and one that
//! fills up in the middle of a create (another program took the space). In
//! both, nothing half-written is left looking whole, and the same command,
//! once there is room, completes: the create with the very bytes a create
//! with room would have written.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use oc_mirror_tests::isc::additional_images;
use oc_mirror_tests::{FaultProxy, Tripwire};

use crate::support::*;

/// Blobs a registry served since `mark`.
fn blob_gets(reg: &oc_mirror_tests::Registry, mark: usize) -> usize {
    reg.requests_since(mark)
        .iter()
        .filter(|r| r.method == "GET" && r.status == 200 && r.uri.contains("/blobs/sha256:"))
        .count()
}

/// A tmpfs of a given size, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: PathBuf, bytes: u64) -> Tmpfs {
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "cannot mount a tmpfs at {} (these tests run as root, as CI does)",
            path.display()
        );
        Tmpfs { path }
    }

    fn resize(&self, bytes: u64) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={bytes}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success(), "remount {}", self.path.display());
    }

    /// Writes a filler file until the filesystem is full; its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Total bytes of the files below `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            total += du(&path);
        } else {
            total += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

/// The `mirror_seq*` files of `dir`, name → bytes.
fn parts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("mirror_seq"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Nothing in `out` looks whole: no part under its final name, no record.
fn assert_nothing_looks_whole(out: &Path) {
    let names: Vec<String> = parts(out).into_iter().map(|(n, _)| n).collect();
    assert!(names.is_empty(), "parts left looking whole: {names:?}");
    let records: Vec<_> = std::fs::read_dir(out.join("working-dir/metadata"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert!(records.is_empty(), "a sequence was recorded: {records:?}");
}

/// Gives `out` the workspace of `from` (the same UUID: the same bytes).
fn same_workspace(from: &Path, out: &Path) {
    std::fs::create_dir_all(out.join("working-dir")).unwrap();
    std::fs::copy(
        from.join("working-dir/workspace.json"),
        out.join("working-dir/workspace.json"),
    )
    .unwrap();
}

/// Create on a filesystem too small from the start, then on one that fills
/// up halfway; publish on one too small to stage the imageset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_run_cleanly_and_the_rerun_completes() {
    let (src, world) = source_with_standard_world().await;
    let wire = Tripwire::new();
    let front = FaultProxy::tripped_by(&src.host(), wire.clone())
        .await
        .unwrap();
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&front.host(), &all_references(&world)));
    let create = |out: &Path| {
        let dest = format!("file://{}", out.display());
        ctx.command(&["-c", &isc, &dest, "--src-tls-verify=false"])
    };

    // With room: the reference bytes, and how much room that took.
    let roomy = ctx.path("roomy");
    Run::from_output(create(&roomy).output().unwrap()).assert_ok();
    let all_blobs = blob_gets(&src, 0);
    let requests = wire.seen();
    let want = parts(&roomy);
    let used = du(&roomy);
    assert!(!want.is_empty());

    // Too small from the start: refused before anything is written.
    let small = Tmpfs::mount(ctx.path("small"), used / 2);
    let out = small.path.join("out");
    same_workspace(&roomy, &out);
    let run = Run::from_output(create(&out).output().unwrap());
    run.assert_failed(1)
        .stderr_has("not enough disk space")
        .stderr_has(&out.display().to_string())
        .stderr_has("hint:");
    assert_nothing_looks_whole(&out);
    assert_eq!(du(&out.join("working-dir/cache")), 0, "nothing downloaded");
    small.resize(used * 3);
    Run::from_output(create(&out).output().unwrap()).assert_ok();
    assert!(parts(&out) == want, "the rerun writes the same parts");

    // Fills up halfway through: another program takes the space while the
    // run is downloading (one of its requests is held meanwhile).
    let filling = Tmpfs::mount(ctx.path("filling"), used * 3);
    let out = filling.path.join("out");
    same_workspace(&roomy, &out);
    // Three requests before the end: most blobs are in the cache by then.
    wire.arm(requests - 3);
    let mut child = create(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while !wire.tripped() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The requests already answered finish; their blobs reach the cache.
    wire.settle().await;
    let cached = || {
        std::fs::read_dir(out.join("working-dir/cache/blobs-v1/sha256"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    for _ in 0..200 {
        if cached() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(cached() > 0, "some blobs are cached before the disk fills");
    let filler = filling.fill();
    wire.release();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let run = Run::from_output(child.wait_with_output().unwrap());
    assert!(!status.success(), "the run cannot succeed on a full disk");
    assert!(
        run.stderr.contains("No space left on device"),
        "the cause is said: {}",
        run.stderr
    );
    let error = run.stderr.split("error: ").nth(1).unwrap_or_default();
    assert!(
        error.contains(&filling.path.display().to_string()) && error.contains("hint:"),
        "the error names the path and says what to do: {}",
        run.stderr
    );
    assert_nothing_looks_whole(&out);
    std::fs::remove_file(filler).unwrap();
    let mark = src.log_mark();
    Run::from_output(create(&out).output().unwrap()).assert_ok();
    assert!(parts(&out) == want, "the rerun writes the same parts");
    let fetched_again = blob_gets(&src, mark);
    assert!(
        fetched_again < all_blobs,
        "the rerun reuses what the first run downloaded ({fetched_again} of {all_blobs} blobs fetched again)"
    );

    // Publish: the imageset's blobs are staged in the workspace first.
    let mirror = plain_registry().await;
    let archive: u64 = want.iter().map(|(_, b)| b.len() as u64).sum();
    let tight = Tmpfs::mount(ctx.path("tight"), archive + archive / 4);
    let dir = tight.path.join("in");
    carry(&roomy, &dir, 1);
    ctx.publish(&dir, &mirror, "p", &[])
        .assert_failed(1)
        .stderr_has("not enough disk space")
        .stderr_has(&dir.display().to_string())
        .stderr_has("hint:");
    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "nothing pushed when the imageset cannot be staged"
    );
    tight.resize(archive * 3);
    ctx.publish(&dir, &mirror, "p", &[]).assert_ok();
    assert_world_mirrored(&mirror, "p", &world).await;
}
