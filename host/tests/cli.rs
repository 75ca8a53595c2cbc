//! The `oc-mirror` binary's command line, without any registry: usage errors,
//! `version`, and configuration errors as a user sees them. (Building this test
//! also builds the binary that the end-to-end tests in `tests/` drive.)

use std::process::{Command, Output};

fn oc_mirror(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oc-mirror"))
        .args(args)
        .output()
        .expect("run oc-mirror")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_prints_the_crate_version() {
    let out = oc_mirror(&["version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let json = oc_mirror(&["version", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["clientVersion"]["gitVersion"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn docker_destination_needs_workspace_or_from() {
    let out = oc_mirror(&["-c", "isc.yaml", "docker://127.0.0.1:1/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("needs `--workspace file://DIR`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn parallelism_out_of_range_is_a_usage_error() {
    let out = oc_mirror(&[
        "--parallel-images",
        "11",
        "-c",
        "x",
        "--workspace",
        "file://w",
        "docker://r/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("from 1 to 10"), "{}", stderr(&out));
}

#[test]
fn config_error_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let isc = dir.path().join("isc.yaml");
    std::fs::write(
        &isc,
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n    - nme: quay.io/a/b:1\n",
    )
    .unwrap();
    let ws = format!("file://{}", dir.path().join("ws").display());
    let out = oc_mirror(&[
        "-c",
        isc.to_str().unwrap(),
        "--workspace",
        &ws,
        "docker://127.0.0.1:1/m",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("isc.yaml:5: `mirror.additionalImages[0].nme`: unknown field `nme`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_config_file_is_reported() {
    let out = oc_mirror(&[
        "-c",
        "/nonexistent/isc.yaml",
        "--workspace",
        "file:///tmp/ws-x",
        "docker://127.0.0.1:1/m",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/isc.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn workflow_flags_are_checked() {
    let out = oc_mirror(&[
        "-c",
        "isc.yaml",
        "--from",
        "file:///tmp/x",
        "file:///tmp/out",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("do not go with a `file://` destination"),
        "{}",
        stderr(&out)
    );
    let out = oc_mirror(&["-c", "isc.yaml", "--from", "/tmp/x", "docker://r.local/x"]);
    assert!(
        stderr(&out).contains("must be a `file://` path"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plugin_list_shows_the_built_in_plugins() {
    let out = oc_mirror(&["plugin", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, world) in [
        ("additional-images", "content-source"),
        ("cluster-resources", "publisher"),
        ("registries-conf", "publisher"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l.contains(world)),
            "{name}: {text}"
        );
    }
}

#[test]
fn plugin_inspect_refuses_what_is_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("x.wasm");
    std::fs::write(&not_wasm, b"\0asm\x01\0\0\0").unwrap();
    let out = oc_mirror(&["plugin", "inspect", not_wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not an oc-mirror plugin component"),
        "{}",
        stderr(&out)
    );
    let out = oc_mirror(&["plugin", "inspect", "/nonexistent.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read plugin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plugin_entries_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let isc = dir.path().join("isc.yaml");
    let ws = format!("file://{}", dir.path().join("ws").display());
    for (body, needle) in [
        (
            "plugins:\n  - config: {}\n",
            "`plugins[0]`: needs exactly one of `path` and `image`",
        ),
        (
            "plugins:\n  - path: /x.wasm\n    grants: [\"http:*\"]\n",
            "`plugins[0].grants[0]`: `http:*` is not a capability",
        ),
        (
            "plugins:\n  - image: quay.io/x/y:1\n",
            "`plugins[0].image`: `quay.io/x/y:1` must start with `docker://`",
        ),
    ] {
        std::fs::write(&isc, format!("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n{body}mirror: {{}}\n")).unwrap();
        let out = oc_mirror(&[
            "-c",
            isc.to_str().unwrap(),
            "--workspace",
            &ws,
            "docker://127.0.0.1:1/m",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(needle), "{needle}\n{}", stderr(&out));
    }
}

/// A one-shot update service on loopback: answers every request with `body`
/// and records the request lines.
fn graph_server(body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/api/upgrades_info/v1/graph",
        listener.local_addr().expect("addr")
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line.trim().to_string());
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, rx)
}

#[test]
fn list_releases_reads_the_update_graph() {
    let (url, requests) = graph_server(
        r#"{"nodes":[{"version":"4.16.3","payload":"q/r@sha256:3","metadata":{"io.openshift.upgrades.graph.release.channels":"stable-4.16,fast-4.16"}},{"version":"4.16.10","payload":"q/r@sha256:a","metadata":{"io.openshift.upgrades.graph.release.channels":"stable-4.16,eus-4.16"}},{"version":"4.15.9","payload":"q/r@sha256:9","metadata":{}}],"edges":[[2,0],[0,1]]}"#,
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_oc-mirror"))
            .args(args)
            .env("UPDATE_URL_OVERRIDE", &url)
            .output()
            .expect("run oc-mirror")
    };
    let out = run(&["list", "releases", "--version", "4.16"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "4.15.9\n4.16.3\n4.16.10\n",
        "versions in semantic order"
    );
    let request = requests.recv().expect("a request");
    assert!(
        request.contains("channel=stable-4.16") && request.contains("arch=amd64"),
        "{request}"
    );
    let out = run(&["list", "releases", "--channel", "stable-4.16", "--channels"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "eus-4.16\nfast-4.16\nstable-4.16\n"
    );
    let out = oc_mirror(&["list", "releases"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("name a channel"), "{}", stderr(&out));
}
