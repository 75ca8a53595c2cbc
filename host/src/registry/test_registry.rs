//! A real `docker-registry` (CNCF Distribution) for the host's unit tests:
//! plain HTTP on a free loopback port, its storage in a temporary directory,
//! killed when dropped. A machine without `docker-registry` fails the test:
//! it must not pass unseen.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed when dropped (also when a test panics).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `docker-registry serve` with its storage.
pub struct TestRegistry {
    _child: ChildGuard,
    /// `127.0.0.1:<port>`.
    pub host: String,
    _dir: tempfile::TempDir,
}

/// A path as a quoted YAML string.
pub fn quote(p: &Path) -> String {
    serde_json::Value::from(p.display().to_string()).to_string()
}

/// Starts a registry with `storage.delete.enabled` as asked and `extra`
/// (top-level YAML sections, e.g. `auth:`) appended to its config.
pub async fn start(delete_enabled: bool, extra: &str) -> TestRegistry {
    let bin = "docker-registry";
    if let Err(e) = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "`{bin}` cannot be run ({e}): this test needs a real registry; install it with `apt-get install docker-registry`"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        let storage = quote(&dir.path().join("storage"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: {delete_enabled}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // The registry lets REGISTRY_* variables override its config: it
        // gets no environment at all (settings.rs is the one reader).
        command.env_clear();
        let mut child = ChildGuard(command.spawn().unwrap());
        let host = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.0.try_wait() {
                break; // exited: the port was taken, try another
            }
            if let Ok(r) = http.get(format!("http://{host}/v2/")).send().await
                && matches!(r.status().as_u16(), 200 | 401)
            {
                return TestRegistry {
                    _child: child,
                    host,
                    _dir: dir,
                };
            }
            assert!(Instant::now() < deadline, "docker-registry did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!(
        "docker-registry kept exiting at start-up:\n{}",
        std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
    );
}
