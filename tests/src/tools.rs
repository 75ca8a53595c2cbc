//! The programs the tests and benchmarks run: the `oc-mirror` binary under
//! test, and the machine's `docker-registry` and `skopeo`.
//!
//! A missing program is a failure with what to install, never a skipped
//! test: [`INSTALL`] is the line every message gives.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

/// What to run when `docker-registry` or `skopeo` is missing.
pub const INSTALL: &str = "apt-get install docker-registry skopeo";

/// The message for a `program` that could not be started (`err`): what it
/// is for and what to install.
pub fn not_started(program: &str, err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::NotFound {
        format!(
            "`{program}` is not installed (or not on PATH): the tests need the real \
             docker-registry and skopeo; install them with `{INSTALL}`"
        )
    } else {
        format!("starting `{program}` failed: {err} (the tests need `{INSTALL}`)")
    }
}

/// `skopeo` with `args`, run to completion; panics with [`not_started`]'s
/// message when skopeo cannot be started.
pub fn skopeo(args: &[&str]) -> std::process::Output {
    try_skopeo(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`skopeo`], but a skopeo that cannot be started is an `Err` with
/// [`not_started`]'s message instead of a panic.
pub fn try_skopeo(args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("skopeo")
        .args(args)
        .output()
        .map_err(|e| not_started("skopeo", &e))
}

/// The `oc-mirror` binary of this build: next to the running executable (a
/// benchmark or the demo in `target/<profile>/`) or one directory up (a test
/// in `target/<profile>/deps/`).
pub fn oc_mirror_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let dir = exe
        .parent()
        .context("this executable has no parent directory")?;
    let candidates = [Some(dir), dir.parent()];
    if let Some(path) = candidates
        .into_iter()
        .flatten()
        .map(|d| d.join("oc-mirror"))
        .find(|p| p.is_file())
    {
        return Ok(path);
    }
    bail!(
        "no oc-mirror binary at {}\nbuild it first: cargo build --release --workspace --bins \
         (for the tests: `cargo test --workspace`, or `cargo build -p oc-mirror` first)",
        dir.join("oc-mirror").display()
    )
}
