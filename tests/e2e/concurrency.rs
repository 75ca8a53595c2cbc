//! Two runs at once: on one workspace, and into one mirror.
//!
//! The first run is held in the middle of its work (a [`Tripwire`] front
//! holds one of its requests) while the second runs whole; then the first is
//! let go. A registry has no compare-and-set, so the mirror's record is
//! written compare-then-put-then-confirm (`backend/registry.rs`); these
//! tests pin down what a user sees when two publishes overlap.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oc_mirror_tests::isc::additional_images;
use oc_mirror_tests::{FaultProxy, Registry, Tripwire};

use crate::support::*;

/// Starts `command` and waits until `wire` holds one of its requests.
async fn start_held(mut command: Command, wire: &Tripwire, at: usize) -> Child {
    wire.arm(at);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while !wire.tripped() {
        assert!(child.try_wait().unwrap().is_none(), "ended before its hold");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child
}

/// Lets the held run go and waits for it.
async fn finish(child: Child, wire: &Tripwire) -> Run {
    wire.release();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    Run::from_output(out)
}

/// `--from DIR docker://HOST/PREFIX`.
fn publish(ctx: &Ctx, dir: &Path, host: &str, prefix: &str) -> Command {
    let from = format!("file://{}", dir.display());
    let dest = format!("docker://{host}/{prefix}");
    ctx.command(&["--from", &from, &dest, "--dest-tls-verify=false"])
}

/// The UUID the mirror's record under `prefix` belongs to.
async fn mirror_uuid(mirror: &Registry, prefix: &str) -> Option<String> {
    let (_, _, bytes) = mirror
        .manifest(&format!("{prefix}/oc-mirror"), "metadata")
        .await
        .unwrap()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    doc["annotations"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("uuid"))
        .and_then(|(_, v)| v.as_str().map(String::from))
}

/// The UUID of the workspace whose imagesets are in `dir`.
fn workspace_uuid(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("working-dir/workspace.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["uuid"].as_str().unwrap().to_string()
}

/// A second run on a workspace in use is refused at once, and the first
/// finishes untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_workspace_in_use_is_refused() {
    let (src, world) = source_with_standard_world().await;
    let wire = Tripwire::new();
    let front = FaultProxy::tripped_by(&src.host(), wire.clone())
        .await
        .unwrap();
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&front.host(), &all_references(&world)));
    let m2m = || {
        let ws = ctx.workspace();
        let dest = format!("docker://{}/m", mirror.host());
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
    let first = start_held(m2m(), &wire, 10).await;
    let second = Run::from_output(m2m().output().unwrap());
    second
        .assert_failed(1)
        .stderr_has("in use by another oc-mirror run")
        .stderr_has("hint:");
    finish(first, &wire).await.assert_ok();
    assert_world_mirrored(&mirror, "m", &world).await;
}

/// Two publishes into one mirror at once. Imagesets of two workspaces: the
/// one that records first wins; the other, held meanwhile, refuses when it
/// comes to record, and run again it is refused as another workspace's.
/// Two copies of one imageset: both end well, and the sequence is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishes_into_one_mirror_at_once() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let wire = Tripwire::new();
    let front = FaultProxy::tripped_by(&mirror.host(), wire.clone())
        .await
        .unwrap();
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&src.host(), &all_references(&world)));
    let (a, b) = (ctx.path("a"), ctx.path("b"));
    ctx.create(&isc, &a, &[]).assert_ok();
    ctx.create(&isc, &b, &[]).assert_ok();
    let (a_in, b_in, a_again) = (ctx.path("a-in"), ctx.path("b-in"), ctx.path("a-again"));
    carry(&a, &a_in, 1);
    carry(&b, &b_in, 1);
    carry(&a, &a_again, 1);

    // How many requests a publish makes: hold the next one half way.
    let probe = ctx.path("probe");
    carry(&a, &probe, 1);
    wire.arm(0);
    Run::from_output(
        publish(&ctx, &probe, &front.host(), "probe")
            .output()
            .unwrap(),
    )
    .assert_ok();
    let half = wire.seen() / 2;

    // Different workspaces: B records while A is held; A refuses.
    let held = start_held(publish(&ctx, &a_in, &front.host(), "x"), &wire, half).await;
    Run::from_output(publish(&ctx, &b_in, &mirror.host(), "x").output().unwrap()).assert_ok();
    let loser = finish(held, &wire).await;
    loser.assert_failed(1).stderr_has("hint:");
    assert_eq!(mirror_uuid(&mirror, "x").await, Some(workspace_uuid(&b)));
    assert_world_mirrored(&mirror, "x", &world).await;
    let rerun = Run::from_output(publish(&ctx, &a_in, &mirror.host(), "x").output().unwrap());
    rerun.assert_failed(1).stderr_has("hint:");
    assert_eq!(
        mirror_uuid(&mirror, "x").await,
        Some(workspace_uuid(&b)),
        "the refused rerun changed nothing"
    );

    // One imageset twice: both end well.
    let held = start_held(publish(&ctx, &a_in, &front.host(), "y"), &wire, half).await;
    Run::from_output(
        publish(&ctx, &a_again, &mirror.host(), "y")
            .output()
            .unwrap(),
    )
    .assert_ok();
    finish(held, &wire).await.assert_ok();
    assert_eq!(mirror_uuid(&mirror, "y").await, Some(workspace_uuid(&a)));
    assert_world_mirrored(&mirror, "y", &world).await;
    Run::from_output(publish(&ctx, &a_in, &mirror.host(), "y").output().unwrap())
        .assert_ok()
        .stderr_has("already published");
}
