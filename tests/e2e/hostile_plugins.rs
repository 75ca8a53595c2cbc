//! Hostile plugins against the real plugin runtime (`oc_mirror::plugin::PluginHost`):
//! each fixture of `tests/plugins/` does one forbidden thing inside `resolve` (loop,
//! hoard memory, read a file, open a socket, read the environment, GET off the
//! allowlist, follow a redirect off it, panic). Each call must fail cleanly with the
//! right `PluginError`, a message naming the plugin and what to do, within the
//! limits; and the same host must still run the well-behaved fixture and the
//! embedded `additional-images` plugin afterwards.
//!
//! The host is shared by every test here (small limits: [`TIMEOUT`],
//! [`MEMORY_LIMIT`]), so one hostile plugin running while others run is part of the
//! test. Broken components (truncated, flipped bytes, an unknown API version) must be
//! refused at load time, and the compiled-component cache must be used.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use oc_mirror::plugin::bindings::types::ImageToMirror;
use oc_mirror::plugin::{Grants, Plugin, PluginError, PluginHost, PluginHostConfig, embedded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The fixtures, built by `tests/build.rs`.
pub(crate) mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/hostile_plugins.rs"));
}

/// Every fixture a test runs (below, in `plugin_files.rs` for `image-files`,
/// in `publish_outputs.rs` for `image-list`); compared with [`fixtures::ALL`].
const TESTED: &[&str] = &[
    "endless-loop",
    "environment",
    "file-read",
    "http-off-allowlist",
    "http-redirect",
    "image-files",
    "image-list",
    "layer-writer",
    "memory-bomb",
    "panic",
    "socket",
    "well-behaved",
];

/// Per-call deadline of the shared host: small, so nothing here takes long.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Per-instance memory limit of the shared host.
const MEMORY_LIMIT: usize = 64 << 20;

/// How long the test server's `/hang` holds a request before dropping it
/// unanswered: far past [`TIMEOUT`].
const HANG: Duration = Duration::from_secs(120);

/// The image the `well-behaved` fixture returns.
const WELL_BEHAVED_IMAGE: &str = "quay.io/example/well-behaved:1.0";
/// The first line of the body the test server's `/ok` answers.
const HTTP_IMAGE: &str = "quay.io/example/from-http:1.0";
/// What the server that must never be reached would answer.
const SECRET: &str = "the-secret-body";

/// One host for every test, and each plugin compiled once, on first use.
struct Shared {
    host: PluginHost,
    plugins: HashMap<&'static str, (&'static [u8], OnceLock<Plugin>)>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let host = PluginHost::new(PluginHostConfig {
        cache_dir: None,
        timeout: TIMEOUT,
        // The whole call too: a server that never answers is cut here.
        call_timeout: TIMEOUT,
        memory_limit: MEMORY_LIMIT,
        epoch: 0,
    })
    .expect("plugin host");
    let plugins = fixtures::ALL
        .iter()
        .chain(embedded::CONTENT_SOURCES)
        .chain(embedded::PUBLISHERS)
        .map(|&(name, bytes)| (name, (bytes, OnceLock::new())))
        .collect();
    Shared { host, plugins }
});

fn host() -> &'static PluginHost {
    &SHARED.host
}

/// A fixture or embedded plugin by name, loaded (as origin `name`) on the shared host.
fn plugin(name: &str) -> &'static Plugin {
    let (bytes, cell) = SHARED
        .plugins
        .get(name)
        .unwrap_or_else(|| panic!("no plugin `{name}`"));
    cell.get_or_init(|| {
        host()
            .load(bytes, name)
            .unwrap_or_else(|e| panic!("loading `{name}`: {e}"))
    })
}

/// `resolve` of `name` on the shared host with `grants` and `config`.
async fn resolve(
    name: &str,
    grants: Grants,
    config: &str,
) -> Result<Vec<ImageToMirror>, PluginError> {
    host()
        .resolve(plugin(name), grants, None, config, "")
        .await
        .map(|r| r.images)
}

/// Grants exactly `http:<host:port>`.
fn http_grant(port: u16) -> Grants {
    Grants {
        registry: false,
        http_hosts: vec![format!("127.0.0.1:{port}")],
        any_http_host: false,
    }
}

fn sources(images: &[ImageToMirror]) -> Vec<&str> {
    images.iter().map(|i| i.source.as_str()).collect()
}

/// The host still runs other plugins: the well-behaved fixture and the embedded
/// `additional-images` content source resolve as they should.
async fn assert_others_unaffected() {
    let images = resolve("well-behaved", Grants::default(), "")
        .await
        .expect("well-behaved after a hostile plugin");
    assert_eq!(sources(&images), [WELL_BEHAVED_IMAGE]);
    let images = resolve(
        "additional-images",
        Grants::default(),
        r#"[{"name": "quay.io/example/app:1.0", "targetRepo": "apps/app"}]"#,
    )
    .await
    .expect("additional-images after a hostile plugin");
    assert_eq!(sources(&images), ["quay.io/example/app:1.0"]);
    assert_eq!(images[0].destination_hint.as_deref(), Some("apps/app"));
}

/// Asserts `text` contains every one of `needles`.
fn assert_mentions(text: &str, needles: &[&str]) {
    println!("{text}");
    for needle in needles {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
}

#[tokio::test]
async fn hostile_endless_loop_is_stopped_at_the_deadline() {
    let err = resolve("endless-loop", Grants::default(), "")
        .await
        .expect_err("an endless loop cannot succeed");
    // Stopped by the plugin deadline (not the whole-call cut, not a crash),
    // and the message says so.
    assert!(
        matches!(err, PluginError::Timeout { .. }),
        "wrong error (the plugin deadline must stop it): {err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["`endless-loop`", "longer than 2s", "--plugin-timeout"],
    );
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_memory_bomb_is_stopped_at_the_limit() {
    let err = resolve("memory-bomb", Grants::default(), "")
        .await
        .expect_err("unbounded allocation cannot succeed");
    // The memory limit stops it, not the deadline (that would be `Timeout`).
    assert!(
        matches!(err, PluginError::MemoryLimit { limit, .. } if limit == MEMORY_LIMIT),
        "wrong error (the memory limit, not the deadline, must stop it): {err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &[
            "`memory-bomb`",
            &MEMORY_LIMIT.to_string(),
            "--plugin-memory-limit",
        ],
    );
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_file_read_finds_no_files() {
    let err = resolve("file-read", Grants::default(), "")
        .await
        .expect_err("no directory is preopened");
    assert!(
        matches!(err, PluginError::Guest { .. }),
        "wrong error: {err:?}"
    );
    let text = err.to_string();
    assert_mentions(&text, &["`file-read`", "reading /etc/passwd failed"]);
    // Nothing of the file leaks, whatever the plugin managed.
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd")
        && let Some(first) = passwd.lines().next()
    {
        assert!(!text.contains(first), "/etc/passwd leaked: {text}");
    }
    assert!(!text.contains("root:"), "/etc/passwd leaked: {text}");
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_socket_cannot_connect() {
    // A listener the plugin is told about: it must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();
    for (config, address) in [
        (
            format!(r#"{{"port": {port}}}"#),
            format!("127.0.0.1:{port}"),
        ),
        (String::new(), "127.0.0.1:1".to_string()),
    ] {
        let err = resolve("socket", Grants::default(), &config)
            .await
            .expect_err("the sandbox has no sockets");
        assert!(
            matches!(err, PluginError::Guest { .. }),
            "wrong error: {err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &["`socket`", &format!("connecting to {address} failed")],
        );
    }
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the plugin reached the listener: {other:?}"),
    }
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_environment_is_empty() {
    // The test process has an environment to leak…
    assert!(
        std::env::var_os("PATH").is_some() || std::env::vars_os().next().is_some(),
        "the test process has no environment variable: nothing to leak, nothing proven"
    );
    // …and the plugin sees none of it (it fails naming any variable it sees).
    let images = resolve("environment", Grants::default(), "")
        .await
        .expect("the plugin sees no environment");
    assert!(images.is_empty(), "{images:?}");
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_panic_is_a_crash_of_the_plugin() {
    let err = resolve("panic", Grants::default(), "")
        .await
        .expect_err("a panic cannot succeed");
    assert!(
        matches!(err, PluginError::Trapped { .. }),
        "wrong error: {err:?}"
    );
    assert_mentions(&err.to_string(), &["`panic`", "crashed"]);
    assert_others_unaffected().await;
}

/// A tiny HTTP/1.1 server on 127.0.0.1: `/ok` answers [`HTTP_IMAGE`], `/secret`
/// answers [`SECRET`], `/redirect` is a 302 to `http://localhost:<redirect_to>/secret`,
/// `/slow` answers like `/ok` but only after 1.5 × [`TIMEOUT`], `/hang` never
/// answers (it drops the connection after [`HANG`]: a call the host failed to
/// cut then ends in a connection error, not a hung test). Every request is
/// counted.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start(redirect_to: Option<u16>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let request = String::from_utf8_lossy(&request);
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let response = match (path, redirect_to) {
                        ("/ok", _) => ok(&format!("{HTTP_IMAGE}\n")),
                        ("/slow", _) => {
                            tokio::time::sleep(TIMEOUT * 3 / 2).await;
                            ok(&format!("{HTTP_IMAGE}\n"))
                        }
                        ("/secret", _) => ok(SECRET),
                        ("/redirect", Some(other)) => format!(
                            "HTTP/1.1 302 Found\r\nLocation: http://localhost:{other}/secret\r\n\
                             Content-Length: 0\r\nConnection: close\r\n\r\n"
                        ),
                        ("/hang", _) => {
                            tokio::time::sleep(HANG).await;
                            return;
                        }
                        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_string(),
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http_off_the_allowlist_is_denied() {
    let secret = Server::start(None).await;
    let allowed = Server::start(None).await;
    let grant = http_grant(allowed.port);

    // The grant works: the allowed host is reached.
    let images = resolve(
        "http-off-allowlist",
        grant.clone(),
        &format!(r#"{{"url": "http://127.0.0.1:{}/ok"}}"#, allowed.port),
    )
    .await
    .expect("a granted host");
    assert_eq!(sources(&images), [HTTP_IMAGE]);
    assert_eq!(allowed.hits(), 1);

    // Another host, and the same address on another port, are not.
    for (url, capability) in [
        (
            format!("http://localhost:{}/secret", secret.port),
            "`http:localhost`",
        ),
        (
            format!("http://127.0.0.1:{}/secret", secret.port),
            "`http:127.0.0.1`",
        ),
    ] {
        let err = resolve(
            "http-off-allowlist",
            grant.clone(),
            &format!(r#"{{"url": "{url}"}}"#),
        )
        .await
        .expect_err("a host not granted");
        assert!(
            matches!(err, PluginError::Denied { .. }),
            "wrong error: {err:?}"
        );
        let text = err.to_string();
        assert_mentions(
            &text,
            &["`http-off-allowlist`", "denied", capability, "grant it"],
        );
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(secret.hits(), 0, "the host not granted was contacted");
    assert_others_unaffected().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http_redirect_off_the_allowlist_is_refused() {
    let secret = Server::start(None).await;
    let allowed = Server::start(Some(secret.port)).await;
    let err = resolve(
        "http-redirect",
        http_grant(allowed.port),
        &format!(r#"{{"url": "http://127.0.0.1:{}/redirect"}}"#, allowed.port),
    )
    .await
    .expect_err("a redirect to a host not granted");
    assert!(
        matches!(err, PluginError::Denied { .. }),
        "wrong error: {err:?}"
    );
    let text = err.to_string();
    assert_mentions(
        &text,
        &[
            "`http-redirect`",
            "denied",
            "http:localhost",
            "redirect",
            "grant it",
        ],
    );
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(allowed.hits(), 1, "the allowed host answers the redirect");
    assert_eq!(secret.hits(), 0, "the redirect was followed");
    assert_others_unaffected().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_empty_grant_denies_everything() {
    let allowed = Server::start(None).await;
    // Asking for nothing needs nothing.
    let images = resolve("well-behaved", Grants::default(), "")
        .await
        .expect("well-behaved with no grant");
    assert_eq!(sources(&images), [WELL_BEHAVED_IMAGE]);
    // Any HTTP is denied, even to the host the other tests grant.
    let err = resolve(
        "http-off-allowlist",
        Grants::default(),
        &format!(r#"{{"url": "http://127.0.0.1:{}/ok"}}"#, allowed.port),
    )
    .await
    .expect_err("no grant, no http");
    assert!(
        matches!(err, PluginError::Denied { .. }),
        "wrong error: {err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["`http-off-allowlist`", "`http:127.0.0.1`", "grant it"],
    );
    assert_eq!(allowed.hits(), 0);
    assert_others_unaffected().await;
}

/// A granted host that accepts the request and never answers: the plugin is blocked
/// in a host call, where the epoch deadline does not reach. The call must still end
/// at the plugin's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http_upstream_that_never_answers_is_cut_at_the_deadline() {
    let hanging = Server::start(None).await;
    let config = format!(r#"{{"url": "http://127.0.0.1:{}/hang"}}"#, hanging.port);
    let err = resolve("http-off-allowlist", http_grant(hanging.port), &config)
        .await
        .expect_err("nothing was answered");
    // Cut by the host's whole-call limit while blocked in `http.get`; had the
    // host not cut it, the server dropping the connection would end it with
    // another error.
    assert!(
        matches!(err, PluginError::CallTimeout { .. }),
        "wrong error (the call must be cut while blocked in the host's http.get): {err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &["http-off-allowlist", "waiting on servers"],
    );
    assert_eq!(hanging.hits(), 1);
    assert_others_unaffected().await;
}

/// The plugin's deadline counts its own code, not the time the host works
/// for it: a plugin whose one HTTP GET takes longer than its deadline (a
/// slow server, a big download) finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_host_work_does_not_count_against_the_plugin() {
    let slow = Server::start(None).await;
    let config = format!(r#"{{"url": "http://127.0.0.1:{}/slow"}}"#, slow.port);
    // The GET outlasts the deadline: the shared host, whose whole call is
    // cut at the deadline, cuts it (and still answers afterwards).
    let err = resolve("http-off-allowlist", http_grant(slow.port), &config)
        .await
        .expect_err("the slow GET outlasts a call cut at the plugin deadline");
    assert!(
        matches!(err, PluginError::CallTimeout { .. }),
        "wrong error: {err:?}"
    );
    assert_others_unaffected().await;
    // A host that gives the call longer lets the plugin finish: the time
    // spent waiting for the server is not the plugin's.
    let patient = PluginHost::new(PluginHostConfig {
        cache_dir: None,
        timeout: TIMEOUT,
        call_timeout: TIMEOUT * 10,
        memory_limit: MEMORY_LIMIT,
        epoch: 0,
    })
    .expect("plugin host");
    let plugin = patient
        .load(fixtures::HTTP_OFF_ALLOWLIST, "http-off-allowlist")
        .expect("load");
    let images = patient
        .resolve(&plugin, http_grant(slow.port), None, &config, "")
        .await
        .expect("a slow server is not the plugin's fault")
        .images;
    assert_eq!(sources(&images), [HTTP_IMAGE]);
    assert_eq!(slow.hits(), 2, "one GET per call");
}

#[tokio::test]
async fn hostile_publisher_is_not_a_content_source() {
    let (name, _) = embedded::PUBLISHERS[0];
    let err = resolve(name, Grants::default(), "")
        .await
        .expect_err("a publisher cannot resolve");
    assert!(
        matches!(err, PluginError::WrongWorld { .. }),
        "wrong error: {err:?}"
    );
    assert_mentions(&err.to_string(), &[name, "publisher", "content source"]);
}

/// `bytes` with the API version after the `oc-mirror:plugin-api` section name
/// replaced by `version` (same length).
fn with_api_version(bytes: &[u8], version: &[u8; 5]) -> Vec<u8> {
    let name = b"oc-mirror:plugin-api";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the plugin-api section")
        + name.len();
    assert_eq!(
        &bytes[at..at + 5],
        oc_mirror::plugin::API_VERSION.as_bytes(),
        "the version follows the section name"
    );
    let mut patched = bytes.to_vec();
    patched[at..at + 5].copy_from_slice(version);
    patched
}

#[tokio::test]
async fn hostile_unknown_api_version_is_refused_at_load() {
    let bytes = with_api_version(fixtures::WELL_BEHAVED, b"9.9.9");
    let err = host()
        .load(&bytes, "well-behaved-9.9.9")
        .err()
        .expect("an unknown API version must not load");
    assert!(
        matches!(&err, PluginError::ApiVersion { found, .. } if found == "9.9.9"),
        "wrong error: {err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &[
            "`well-behaved-9.9.9`",
            "9.9.9",
            "0.1.0, 0.2.0 and 0.3.0",
            "rebuild",
        ],
    );
    // The same bytes with the right version load and run.
    let bytes = with_api_version(fixtures::WELL_BEHAVED, b"0.3.0");
    let same = host().load(&bytes, "well-behaved-again").expect("load");
    let images = host()
        .resolve(&same, Grants::default(), None, "", "")
        .await
        .expect("resolve")
        .images;
    assert_eq!(sources(&images), [WELL_BEHAVED_IMAGE]);
}

/// The well-behaved fixture as built for plugin API 0.1.0 (see tests/data/README.md).
const WELL_BEHAVED_0_1: &[u8] = include_bytes!("../data/well-behaved-0.1.0.wasm");
const WELL_BEHAVED_0_2: &[u8] = include_bytes!("../data/well-behaved-0.2.0.wasm");
const IMAGE_LIST_0_2: &[u8] = include_bytes!("../data/image-list-0.2.0.wasm");

/// Plugins built for older contracts still load and run beside 0.3.0 ones:
/// the host keeps every released version, content sources and publishers.
#[tokio::test]
async fn older_api_plugins_still_run() {
    use oc_mirror::plugin::Api;
    for (bytes, origin, api) in [
        (WELL_BEHAVED_0_1, "well-behaved-0.1.0", Api::V0_1),
        (WELL_BEHAVED_0_2, "well-behaved-0.2.0", Api::V0_2),
    ] {
        let old = host().load(bytes, origin).expect("an older plugin loads");
        assert_eq!(old.api, api, "{origin}");
        let info = host().info(&old).await.expect("info");
        assert_eq!(info.name, "well-behaved");
        let resolved = host()
            .resolve(&old, Grants::default(), None, "", "")
            .await
            .expect("an older plugin resolves");
        assert_eq!(sources(&resolved.images), [WELL_BEHAVED_IMAGE], "{origin}");
        assert!(resolved.builds.is_empty() && resolved.attachments.is_empty());
    }
    // A 0.2.0 publisher gets the results as a 0.3.0 one does.
    let publisher = host()
        .load(IMAGE_LIST_0_2, "image-list-0.2.0")
        .expect("a 0.2.0 publisher loads");
    assert_eq!(publisher.api, Api::V0_2);
    let results = oc_mirror::plugin::v0_2::Results {
        mirror: "mirror.example:5000/ocp".into(),
        images: Vec::new(),
        attachments: Vec::new(),
    };
    let files = host()
        .publish(&publisher, r#"{"title":"old"}"#, &results)
        .await
        .expect("a 0.2.0 publisher publishes");
    assert_eq!(files[0].path, "images.txt");
    assert_eq!(files[0].contents, "# old (mirror.example:5000/ocp)\n");
    let new = plugin("well-behaved");
    assert_eq!(new.api, Api::V0_3);
}

/// Layers a plugin writes (contract 0.3.0) land in the workspace's blob
/// cache as deterministic layers (root owners, time 0, fixed modes) that its
/// build names; a path that climbs out of the layer, or a layer id the plugin
/// did not write, is refused; without a workspace nothing is kept.
#[tokio::test]
async fn written_layers_are_checked_kept_and_deterministic() {
    use oc_mirror::plugin::BuildLayer;
    let dir = tempfile::tempdir().unwrap();
    let ws = oc_mirror::workspace::Workspace::open(dir.path()).unwrap();
    let host = PluginHost::new(PluginHostConfig {
        cache_dir: None,
        timeout: TIMEOUT,
        call_timeout: TIMEOUT,
        memory_limit: MEMORY_LIMIT,
        epoch: 0,
    })
    .unwrap()
    .with_blob_cache(ws.blob_cache().unwrap());
    let plugin = host
        .load(fixtures::LAYER_WRITER, "layer-writer")
        .expect("loads");
    assert_eq!(plugin.api, oc_mirror::plugin::Api::V0_3);
    let run = |mode: &str| {
        let config = format!(r#"{{"mode":"{mode}","base":"example.com/base:1"}}"#);
        let (host, plugin) = (&host, &plugin);
        async move {
            host.resolve(plugin, Grants::default(), None, &config, "")
                .await
        }
    };
    let written = run("write").await.expect("a layer written");
    let build = &written.builds[0];
    assert_eq!(build.destination, "built/hello:1");
    assert_eq!(
        build.labels,
        [("fixture".to_string(), "layer-writer".to_string())]
    );
    let BuildLayer::Written(layer) = &build.layers[0] else {
        panic!("not a written layer: {:?}", build.layers[0]);
    };
    let mut blob = Vec::new();
    std::io::Read::read_to_end(
        &mut ws
            .blob_cache()
            .unwrap()
            .open(&layer.digest)
            .expect("in the cache"),
        &mut blob,
    )
    .unwrap();
    assert_eq!(blob.len() as u64, layer.size);
    let members = oc_mirror_tests::fixture::read_tar_gz(&blob).unwrap();
    let got: Vec<(String, u8, u32, u64, u64)> = members
        .iter()
        .map(|m| (m.path.clone(), m.typeflag, m.mode, m.uid, m.mtime))
        .collect();
    assert_eq!(
        got,
        [
            ("files/".to_string(), b'5', 0o755, 0, 0),
            ("files/hello.txt".to_string(), b'0', 0o644, 0, 0),
            (".wh.old".to_string(), b'0', 0o644, 0, 0),
        ]
    );
    assert_eq!(members[1].contents, b"hello");
    let again = run("write").await.unwrap();
    let BuildLayer::Written(same) = &again.builds[0].layers[0] else {
        panic!("not a written layer");
    };
    assert_eq!(same.digest, layer.digest, "the same files, the same layer");

    let err = run("escape").await.unwrap_err().to_string();
    assert!(err.contains("`../escape` is not a relative path"), "{err}");
    let err = run("foreign").await.unwrap_err().to_string();
    assert!(err.contains("which it did not write in this call"), "{err}");
    // The shared host has no workspace: nowhere to keep a layer.
    let err = host_without_cache_write().await;
    assert!(err.contains("keeps no layers"), "{err}");

    // An artifact: its blobs in the cache, its file to be placed.
    let config = r#"{"mode":"artifact","file":"helm/charts/hello-1.0.tgz"}"#;
    let done = host
        .resolve(&plugin, Grants::default(), None, config, "")
        .await
        .expect("an artifact");
    let a = &done.artifacts[0];
    assert_eq!(a.destination, "charts/hello:1.0");
    assert_eq!(a.layers[0].size, 5);
    assert_eq!(
        a.files,
        [(
            "helm/charts/hello-1.0.tgz".to_string(),
            a.layers[0].digest.clone()
        )]
    );
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut ws.blob_cache().unwrap().open(&a.layers[0].digest).unwrap(),
        &mut bytes,
    )
    .unwrap();
    assert_eq!(bytes, b"hello");
    let err = run("foreign-blob").await.unwrap_err().to_string();
    assert!(err.contains("which it did not write in this call"), "{err}");
    for bad in ["../escape.tgz", "/etc/passwd", "a//b"] {
        let config = format!(r#"{{"mode":"artifact","file":"{bad}"}}"#);
        let err = host
            .resolve(&plugin, Grants::default(), None, &config, "")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a relative path"), "{bad}: {err}");
    }
}

async fn host_without_cache_write() -> String {
    host()
        .resolve(
            plugin("layer-writer"),
            Grants::default(),
            None,
            r#"{"mode":"write"}"#,
            "",
        )
        .await
        .unwrap_err()
        .to_string()
}

/// The first core module's code section (id 10) inside a component: offset and length.
fn code_section(component: &[u8]) -> (usize, usize) {
    fn leb(bytes: &[u8], at: &mut usize) -> usize {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    fn sections(bytes: &[u8], start: usize, end: usize) -> Vec<(u8, usize, usize)> {
        let mut out = Vec::new();
        let mut at = start + 8;
        while at < end {
            let id = bytes[at];
            at += 1;
            let size = leb(bytes, &mut at);
            out.push((id, at, size));
            at += size;
        }
        out
    }
    let (_, module_at, module_len) = sections(component, 0, component.len())
        .into_iter()
        .find(|&(id, _, _)| id == 1)
        .expect("a core module in the component");
    let (_, code_at, code_len) = sections(component, module_at, module_at + module_len)
        .into_iter()
        .find(|&(id, _, _)| id == 10)
        .expect("a code section in the core module");
    (code_at, code_len)
}

#[tokio::test]
async fn hostile_corrupted_components_are_refused_at_load() {
    let good = fixtures::WELL_BEHAVED;
    let (code_at, code_len) = code_section(good);
    let mut flipped = good.to_vec();
    let middle = code_at + code_len / 2;
    for byte in &mut flipped[middle..middle + 64] {
        *byte ^= 0xff;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not-wasm", b"#!/bin/sh\necho hello\n".to_vec()),
        ("truncated-to-half", good[..good.len() / 2].to_vec()),
        ("truncated-by-one", good[..good.len() - 1].to_vec()),
        ("flipped-code", flipped),
    ];
    for (origin, bytes) in cases {
        let err = host()
            .load(&bytes, origin)
            .err()
            .unwrap_or_else(|| panic!("`{origin}` must not load"));
        println!("{origin}: refused: {err}");
        assert!(
            matches!(err, PluginError::Load { .. }),
            "{origin}: wrong error: {err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&format!("`{origin}`"), "cannot be loaded"],
        );
    }
    assert_others_unaffected().await;
}

#[tokio::test]
async fn hostile_plugins_compiled_once_then_loaded_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = PluginHostConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        timeout: TIMEOUT,
        call_timeout: TIMEOUT,
        memory_limit: MEMORY_LIMIT,
        epoch: 0,
    };
    let cached = || -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
        files
    };
    let inode = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(p).expect("cached file").ino()
    };

    let first_host = PluginHost::new(config.clone()).expect("host");
    let first = first_host
        .load(fixtures::WELL_BEHAVED, "well-behaved")
        .expect("first load");
    let files = cached();
    assert_eq!(files.len(), 1, "one compiled component: {files:?}");
    let file = &files[0];
    let digest = first.digest.hex();
    assert!(
        file.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(digest)),
        "{} is not named after {digest}",
        file.display()
    );
    let written = inode(file);

    // A new host (a new run) loads the compiled form instead of compiling.
    let second_host = PluginHost::new(config).expect("host");
    let second = second_host
        .load(fixtures::WELL_BEHAVED, "well-behaved")
        .expect("second load");
    assert_eq!(cached(), files, "nothing new in the cache");
    assert_eq!(inode(file), written, "the cached file was not rewritten");
    let images = second_host
        .resolve(&second, Grants::default(), None, "", "")
        .await
        .expect("resolve from the cached component")
        .images;
    assert_eq!(sources(&images), [WELL_BEHAVED_IMAGE]);

    // A damaged cache entry costs a compile, not a failure. (Replaced as the cache
    // writes, by a rename: rewriting the file in place would pull the pages from under
    // the code `second` runs from, which wasmtime maps from this file: SIGBUS.)
    let damaged = dir.path().join("damaged.tmp");
    std::fs::write(&damaged, b"not a compiled component").expect("damage the cache");
    std::fs::rename(&damaged, file).expect("damage the cache");
    let third = second_host
        .load(fixtures::WELL_BEHAVED, "well-behaved")
        .expect("load over a damaged cache entry");
    let images = second_host
        .resolve(&third, Grants::default(), None, "", "")
        .await
        .expect("resolve")
        .images;
    assert_eq!(sources(&images), [WELL_BEHAVED_IMAGE]);
}

#[test]
fn hostile_every_fixture_has_a_test() {
    let built: Vec<&str> = fixtures::ALL.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        built, TESTED,
        "tests/plugins and the fixtures tested here differ: add a test for a new fixture"
    );
    for (name, bytes) in fixtures::ALL {
        println!("fixture {name}: {} bytes", bytes.len());
    }
}
