//! Builds the first-party plugins (`plugins/`, with the SDK in `sdk/`) for
//! `wasm32-wasip2` and writes `$OUT_DIR/embedded_plugins.rs`, which
//! `src/plugin/embedded.rs` includes: the components are embedded in the binary, so
//! one file crosses the air gap.
//!
//! The nested cargo (own workspace and target dir `<target>/plugins`, no
//! leaking configuration, `--locked`, quiet, precise reruns) is
//! `build-support/wasm_workspace.rs`, shared with `tests/build.rs`. Every
//! component is checked for the `oc-mirror:plugin-api` custom section the SDK's
//! export macros embed.

#[path = "../build-support/wasm_workspace.rs"]
mod wasm_workspace;

use std::path::PathBuf;

use wasm_workspace::{WasmWorkspace, env_var, fail};

/// The embedded plugins: constant name in `embedded_plugins.rs`, and cargo package.
const PLUGINS: &[(&str, &str)] = &[
    ("ADDITIONAL_IMAGES", "additional-images"),
    ("CLUSTER_RESOURCES", "cluster-resources"),
    ("HELM", "helm"),
    ("OPERATOR", "operator"),
    ("REGISTRIES_CONF", "registries-conf"),
    ("RELEASE", "release"),
];

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .unwrap_or_else(|| fail("host/ has no parent directory"))
        .to_path_buf();
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let workspace = WasmWorkspace {
        dir: root.join("plugins"),
        root,
        what: "the built-in plugins",
    };
    workspace.rerun_if_changed();
    let packages: Vec<&str> = PLUGINS.iter().map(|(_, p)| *p).collect();
    let wasm_dir = workspace.build(&packages, &wasm_workspace::target_dir(&out_dir, "plugins"));
    let components: Vec<(String, String)> = PLUGINS
        .iter()
        .map(|(c, p)| (c.to_string(), p.to_string()))
        .collect();
    wasm_workspace::write_components(
        &out_dir.join("embedded_plugins.rs"),
        "by host/build.rs: the first-party plugins, built for wasm32-wasip2.",
        "plugin component",
        &components,
        &wasm_dir,
    );
}
