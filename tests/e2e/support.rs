//! Running `oc-mirror` as a user would: a temp directory with the
//! configuration and the workspace, a clean environment, and its output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use oc_mirror_tests::cincinnati::RELEASE_ENV;
pub use oc_mirror_tests::isc::additional_images;
use oc_mirror_tests::{PushedWorld, Registry, RegistryOptions, World, imageset};
use tempfile::TempDir;

/// The `oc-mirror` binary built by `cargo test --workspace` (next to this test's
/// `deps/` directory).
pub fn oc_mirror_bin() -> PathBuf {
    oc_mirror_tests::tools::oc_mirror_binary().unwrap_or_else(|e| panic!("{e:#}"))
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code,
            Some(0),
            "oc-mirror failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn assert_failed(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// A scratch directory for one test: config, workspace, auth files.
pub struct Ctx {
    pub dir: TempDir,
}

impl Ctx {
    pub fn new() -> Ctx {
        Ctx {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn workspace(&self) -> String {
        format!("file://{}", self.path("ws").display())
    }

    pub fn working_dir(&self) -> PathBuf {
        self.path("ws").join("working-dir")
    }

    /// Writes a v2alpha1 ImageSetConfiguration with `mirror:` body `mirror_yaml`
    /// (already indented by two spaces) and returns its path.
    pub fn isc(&self, mirror_yaml: &str) -> String {
        let path = self.path("isc.yaml");
        std::fs::write(&path, oc_mirror_tests::isc::image_set_config(mirror_yaml))
            .expect("write isc");
        path.display().to_string()
    }

    /// oc-mirror with `args`, HOME pointed into the scratch directory so no
    /// credentials of the machine leak in.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(oc_mirror_bin());
        command
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("RUST_LOG");
        command
    }

    /// Runs oc-mirror with `args` (see [`Ctx::command`]).
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args))
    }

    /// Mirror to mirror into `mirror/PREFIX`, plain HTTP on both sides.
    pub fn mirror(&self, isc: &str, mirror: &Registry, prefix: &str, extra: &[&str]) -> Run {
        self.mirror_env(&[], isc, mirror, prefix, extra)
    }
}

impl Run {
    fn of(mut command: Command) -> Run {
        Run::from_output(command.output().expect("run oc-mirror"))
    }

    pub fn from_output(out: std::process::Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A plain registry holding the standard world.
pub async fn source_with_standard_world() -> (Registry, PushedWorld) {
    let src = Registry::start(RegistryOptions::default())
        .await
        .expect("start source");
    let world = World::standard().push(&src).await.expect("push world");
    (src, world)
}

pub async fn plain_registry() -> Registry {
    Registry::start(RegistryOptions::default())
        .await
        .expect("start registry")
}

/// Every reference of the standard world, one per tag (digest for the untagged one).
pub fn all_references(world: &PushedWorld) -> Vec<String> {
    let mut refs = Vec::new();
    for e in &world.entries {
        if e.tags.is_empty() {
            refs.push(e.digest_reference());
        }
        for t in &e.tags {
            refs.push(format!("{}:{t}", e.repo));
        }
    }
    refs
}

/// Every tag of the world is in the mirror under `prefix`, digest for digest.
pub async fn assert_world_mirrored(mirror: &Registry, prefix: &str, world: &PushedWorld) {
    for e in &world.entries {
        let tags: Vec<String> = if e.tags.is_empty() {
            vec![format!("sha256-{}", &e.digest[7..])]
        } else {
            e.tags.clone()
        };
        for tag in tags {
            assert_eq!(
                digest_at(mirror, &format!("{prefix}/{}", e.repo), &tag)
                    .await
                    .as_deref(),
                Some(e.digest.as_str()),
                "{}:{tag}",
                e.repo
            );
        }
    }
}

/// The digest a tag points at in a registry, or None.
pub async fn digest_at(reg: &Registry, repo: &str, reference: &str) -> Option<String> {
    reg.digest(repo, reference).await.expect("GET manifest")
}

impl Ctx {
    /// Mirror to disk into `dir`, plain HTTP to the sources.
    pub fn create(&self, isc: &str, dir: &Path, extra: &[&str]) -> Run {
        self.create_env(&[], isc, dir, extra)
    }

    /// Publish the imagesets in `dir` into `mirror/PREFIX`.
    pub fn publish(&self, dir: &Path, mirror: &Registry, prefix: &str, extra: &[&str]) -> Run {
        let from = format!("file://{}", dir.display());
        let dest = format!("docker://{}/{prefix}", mirror.host());
        let mut args = vec!["--from", &from, &dest, "--dest-tls-verify=false"];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// Copies the parts of sequence `seq` from `from` into `to` (carrying them
/// across the gap); returns their paths in `to`.
pub fn carry(from: &Path, to: &Path, seq: u64) -> Vec<PathBuf> {
    imageset::carry(from, to, seq)
        .unwrap_or_else(|e| panic!("carrying sequence {seq}: {e:#}"))
        .0
}

/// `(path, size)` of every entry of a tar file, in order (via the `tar` command).
pub fn tar_entries(path: &Path) -> Vec<(String, u64)> {
    imageset::tar_entries(path).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The blobs the parts carry: digest → size.
pub fn archive_blobs(parts: &[PathBuf]) -> BTreeMap<String, u64> {
    imageset::archive_blobs(parts).unwrap_or_else(|e| panic!("{e:#}"))
}

impl Ctx {
    /// Like [`Ctx::run`], with the release variables ([`RELEASE_ENV`])
    /// cleared and then `env` set.
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command(args);
        for name in RELEASE_ENV {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        Run::of(command)
    }

    /// [`Ctx::mirror`] with `env` (see [`Ctx::run_env`]).
    pub fn mirror_env(
        &self,
        env: &[(&str, &str)],
        isc: &str,
        mirror: &Registry,
        prefix: &str,
        extra: &[&str],
    ) -> Run {
        let dest = format!("docker://{}/{prefix}", mirror.host());
        let ws = self.workspace();
        let mut args = vec![
            "-c",
            isc,
            "--workspace",
            &ws,
            &dest,
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ];
        args.extend_from_slice(extra);
        self.run_env(env, &args)
    }

    /// [`Ctx::create`] with `env` (see [`Ctx::run_env`]).
    pub fn create_env(&self, env: &[(&str, &str)], isc: &str, dir: &Path, extra: &[&str]) -> Run {
        let dest = format!("file://{}", dir.display());
        let mut args = vec!["-c", isc, &dest, "--src-tls-verify=false"];
        args.extend_from_slice(extra);
        self.run_env(env, &args)
    }
}
