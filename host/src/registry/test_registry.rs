//! A real `docker-registry` (CNCF Distribution) for the host's unit tests:
//! plain HTTP on a free loopback port, its storage in a temporary directory,
//! killed when dropped. A machine without `docker-registry` fails the test:
//! it must not pass unseen. Beside it, [`FakeRegistry`]: a scripted server
//! for what a real registry will not do.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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

/// One request a [`FakeRegistry`] saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
}

/// A scripted HTTP server on a loopback port (one connection at a time,
/// each closed after its answer): for what `docker-registry` cannot do,
/// a token server and transient errors.
pub(crate) struct FakeRegistry {
    pub(crate) host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeRegistry {
    /// `answer(request, host)` gives status, extra headers and body.
    pub(crate) fn start(
        answer: impl Fn(&Seen, &str) -> (u16, Vec<(String, String)>, String) + Send + 'static,
    ) -> FakeRegistry {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (h, s) = (host.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                // The TLS probe (a handshake starts with 0x16): refuse it,
                // so the client speaks plain HTTP.
                let mut first = [0u8; 1];
                if stream.peek(&mut first).is_err() || first[0] == 0x16 {
                    continue;
                }
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut authorization = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        authorization = Some(v.trim().to_string());
                    }
                }
                let request = Seen {
                    method,
                    path,
                    authorization,
                };
                let (status, headers, body) = answer(&request, &h);
                s.lock().unwrap().push(request);
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = stream.write_all(out.as_bytes());
            }
        });
        FakeRegistry { host, seen }
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
