//! Building a cargo workspace of plugin components for `wasm32-wasip2` from a
//! build script: shared by `host/build.rs` (the first-party plugins, embedded
//! in the binary) and `tests/build.rs` (the hostile-plugin fixtures). Each
//! includes this file with `#[path]`.
//!
//! The nested cargo is kept apart from the outer build:
//! - **own workspace and target dir** (a folder of the outer target dir, found
//!   from `OUT_DIR`), so it never waits on the lock the outer cargo holds;
//! - **no leaking configuration**: the `CARGO_*` variables cargo sets for build
//!   scripts, `RUSTFLAGS`, `RUSTC_WORKSPACE_WRAPPER` (clippy) and the
//!   build-script variables are removed; `CARGO_HOME` and the network/registry
//!   settings stay;
//! - **`--locked`** when the workspace's `Cargo.lock` exists (it is committed);
//! - **quiet** unless it fails; **reruns** when the WIT (`wit/`, and the SDK's
//!   copy in `sdk/wit/`), the SDK, or a member's manifest or sources change.

#[path = "../host/src/plugin/section.rs"]
mod section;

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

/// The Rust target the components are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Environment variables starting with `CARGO_` that the nested cargo keeps.
const KEEP_CARGO_VARS: &[&str] = &[
    "CARGO_HOME",
    "CARGO_NET_",
    "CARGO_HTTP_",
    "CARGO_REGISTRIES_",
    "CARGO_REGISTRY_",
    "CARGO_TERM_COLOR",
];

/// Other variables that would carry the outer build's settings into the nested one.
const STRIP_VARS: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "TARGET",
    "HOST",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "OUT_DIR",
    "NUM_JOBS",
    "RUSTC_LINKER",
    "MAKEFLAGS",
    "MFLAGS",
];

/// A workspace of components to build.
pub struct WasmWorkspace<'a> {
    /// The repository root (holding `wit/` and `sdk/`).
    pub root: PathBuf,
    /// The workspace folder.
    pub dir: PathBuf,
    /// What its members are, for messages: "the built-in plugins".
    pub what: &'a str,
}

impl WasmWorkspace<'_> {
    /// Its members: the folders of the workspace with a `Cargo.toml`, sorted.
    pub fn members(&self) -> Vec<String> {
        let entries = fs::read_dir(&self.dir)
            .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", self.dir.display())));
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// Reruns on the WIT, the SDK, and every member's manifest and sources, but
    /// not on build output that may sit in those folders.
    pub fn rerun_if_changed(&self) {
        let mut paths = vec![
            self.root.join("wit"),
            self.root.join("sdk").join("Cargo.toml"),
            self.root.join("sdk").join("src"),
            self.root.join("sdk").join("wit"),
            self.dir.join("Cargo.toml"),
            self.dir.join("Cargo.lock"),
            self.dir.join(".cargo"),
        ];
        for member in self.members() {
            paths.push(self.dir.join(&member).join("Cargo.toml"));
            paths.push(self.dir.join(&member).join("src"));
        }
        for path in paths {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }

    /// Builds `packages` (every member when empty) in release mode into
    /// `target_dir`; returns where the `.wasm` files are.
    pub fn build(&self, packages: &[&str], target_dir: &Path) -> PathBuf {
        check_target(self.what);
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut command = Command::new(cargo);
        command
            .current_dir(&self.dir)
            .arg("build")
            .arg("--release")
            .args(["--target", WASM_TARGET])
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir);
        let locked = self.dir.join("Cargo.lock").is_file();
        if locked {
            command.arg("--locked");
        }
        if packages.is_empty() {
            command.arg("--workspace");
        }
        for package in packages {
            command.args(["-p", package]);
        }
        for (name, _) in env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            let strip = (name.starts_with("CARGO_")
                && !KEEP_CARGO_VARS.iter().any(|keep| name.starts_with(keep)))
                || STRIP_VARS.contains(&name);
            if strip {
                command.env_remove(name);
            }
        }
        let output = command
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run cargo for {}: {e}", self.what)));
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stdout));
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            let manifest = self.dir.join("Cargo.toml");
            let hint = if locked {
                format!(
                    "\nIf cargo says the lock file needs updating (the dependencies changed on\n\
                     purpose), run `cargo update --manifest-path {} -w` and commit its Cargo.lock.",
                    manifest.display()
                )
            } else {
                String::new()
            };
            fail(&format!(
                "building {} failed (cargo build --release --target {WASM_TARGET} in {}){hint}",
                self.what,
                self.dir.display()
            ));
        }
        target_dir.join(WASM_TARGET).join("release")
    }
}

/// The custom section every component built with the SDK carries.
const API_SECTION: &str = "oc-mirror:plugin-api";

/// Writes `file`: for each `(constant, package)`, `pub const CONSTANT: &[u8]`
/// holding the package's component from `wasm_dir`, and `ALL`, every one by
/// package name. `header` opens the file; `noun` names a component in the
/// doc comments ("plugin component", "fixture"). Every component must carry
/// the SDK's API version section.
pub fn write_components(
    file: &Path,
    header: &str,
    noun: &str,
    components: &[(String, String)],
    wasm_dir: &Path,
) {
    let mut code = format!("// @generated {header}\n");
    let mut all = String::from(
        "/// Every component: its package name and its bytes.\npub const ALL: &[(&str, &[u8])] = &[\n",
    );
    for (constant, package) in components {
        let wasm = wasm_dir.join(format!("{}.wasm", package.replace('-', "_")));
        let bytes = fs::read(&wasm)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", wasm.display())));
        if section::find_custom_section(&bytes, API_SECTION).is_none() {
            fail(&format!(
                "{} has no `{API_SECTION}` custom section: is it exported with the SDK's export macro?",
                wasm.display()
            ));
        }
        let path = wasm
            .to_str()
            .unwrap_or_else(|| fail(&format!("{} is not valid UTF-8", wasm.display())));
        let _ = writeln!(
            code,
            "/// The `{package}` {noun} ({} bytes).\npub const {constant}: &[u8] = include_bytes!({path:?});",
            bytes.len()
        );
        let _ = writeln!(all, "    ({package:?}, {constant}),");
    }
    all.push_str("];\n");
    code.push_str(&all);
    if let Err(e) = fs::write(file, code) {
        fail(&format!("cannot write {}: {e}", file.display()));
    }
}

/// `<target>/<name>` of the outer build, from `OUT_DIR`
/// (`<target>/<profile>/build/<pkg>-<hash>/out`).
pub fn target_dir(out_dir: &Path, name: &str) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .unwrap_or_else(|| fail(&format!("unexpected OUT_DIR layout: {}", out_dir.display())))
        .join(name)
}

/// Fails with the command to run when the wasm target's standard library is missing.
fn check_target(what: &str) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output();
    let installed = match output {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Path::new(&dir).is_dir()
        }
        _ => false,
    };
    if !installed {
        fail(&format!(
            "the Rust target `{WASM_TARGET}` is not installed; {what} are compiled for it.\n\
             Install it with:\n\n    rustup target add {WASM_TARGET}\n"
        ));
    }
}

/// An environment variable cargo sets for build scripts.
pub fn env_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set (not run by cargo?)")))
}

/// Prints `message` for cargo to show, and stops the build.
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}
