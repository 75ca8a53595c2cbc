//! Builds the hostile-plugin fixtures (`tests/plugins/`, a workspace of content
//! sources written with the SDK in `sdk/`) for `wasm32-wasip2` and writes
//! `$OUT_DIR/hostile_plugins.rs`, which `e2e/hostile_plugins.rs` includes: one
//! `pub const <NAME>: &[u8]` per fixture and `ALL`, every fixture by package name.
//!
//! The nested cargo (own workspace and target dir `<target>/test-plugins`, no
//! leaking configuration, `--locked`, quiet, precise reruns) is
//! `build-support/wasm_workspace.rs`, shared with `host/build.rs`. The
//! fixtures are the workspace's members: every folder of `tests/plugins` with a
//! `Cargo.toml`.

#[path = "../build-support/wasm_workspace.rs"]
mod wasm_workspace;

use std::path::PathBuf;

use wasm_workspace::{WasmWorkspace, env_var, fail};

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .unwrap_or_else(|| fail("tests/ has no parent directory"))
        .to_path_buf();
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let workspace = WasmWorkspace {
        root,
        dir: manifest_dir.join("plugins"),
        what: "the plugin test fixtures",
    };
    let fixtures = workspace.members();
    if fixtures.is_empty() {
        fail(&format!("no fixtures in {}", workspace.dir.display()));
    }
    workspace.rerun_if_changed();
    let wasm_dir = workspace.build(&[], &wasm_workspace::target_dir(&out_dir, "test-plugins"));
    let components: Vec<(String, String)> = fixtures
        .iter()
        .map(|p| (p.replace('-', "_").to_ascii_uppercase(), p.clone()))
        .collect();
    wasm_workspace::write_components(
        &out_dir.join("hostile_plugins.rs"),
        "by tests/build.rs: the hostile-plugin fixtures of tests/plugins, built for wasm32-wasip2.",
        "fixture",
        &components,
        &wasm_dir,
    );
}
