//! No secret in any output. Every workflow runs at `--log-level trace` between
//! an htpasswd registry and a token registry (a real Distribution with
//! `auth.token` and the test library's token server), both ways, with
//! credentials from an auth file: plan, mirror to mirror (dry run, copy,
//! prune), create and publish (two sequences), `delete --generate`, a dry and
//! a real `--delete-yaml-file`, and a create keeping its metadata in the
//! authenticated registry. Then everything they left is searched for the
//! passwords, their `user:password` base64 and every token the token server
//! issued: stdout and stderr of each run, every file under the scratch
//! directory (HOME, workspaces, archives, `working-dir`: metadata, cluster
//! resources, mapping files, dry-run and delete lists, the plugin cache), the
//! entries of every tar (the imageset parts) and gzip (layers) among them,
//! and the storage of both registries (what oc-mirror pushed: images,
//! metadata images). None may appear.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use oc_mirror_tests::world::names;
use oc_mirror_tests::{PushedWorld, Registry, RegistryOptions, World};

use crate::support::*;

/// `RUST_LOG` for one run: everything at trace but the wasm compiler.
const RUST_LOG_TRACE: &str =
    "trace,cranelift=info,regalloc2=info,wasm=info,wit=info,winch=info,pulley=info";

/// How the credentials reach oc-mirror.
enum AuthVia {
    /// `--authfile FILE`.
    Flag(String),
    /// `REGISTRY_AUTH_FILE=FILE`.
    Env(String),
}

/// Sixteen hex digits no other run shares.
fn random_suffix() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}", hasher.finish())
}

/// oc-mirror with `args`, `--log-level trace` and the credentials, run in the
/// scratch directory (so whatever it writes to its working directory is
/// searched too); `env` is set on top.
fn run(ctx: &Ctx, auth: &AuthVia, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--log-level", "trace"]);
    let mut command = match auth {
        AuthVia::Flag(file) => {
            all.extend(["--authfile", file.as_str()]);
            ctx.command(&all)
        }
        AuthVia::Env(file) => {
            let mut command = ctx.command(&all);
            command.env("REGISTRY_AUTH_FILE", file);
            command
        }
    };
    for name in RELEASE_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.current_dir(ctx.dir.path());
    Run::from_output(command.output().expect("run oc-mirror"))
}

/// The HTTP status of `HEAD /v2/<repo>/manifests/<reference>` on `reg`, with
/// its basic credentials or a pull token from its token server.
async fn manifest_status(reg: &Registry, repo: &str, reference: &str) -> u16 {
    let url = format!("{}/v2/{repo}/manifests/{reference}", reg.url());
    let request = reg
        .client()
        .http()
        .head(url)
        .header("Accept", oc_mirror_tests::client::MANIFEST_ACCEPT);
    let request = match (reg.token_server(), &reg.options().htpasswd) {
        (Some(server), _) => {
            let token = server.issue(&[&format!("repository:{repo}:pull")]).unwrap();
            request.bearer_auth(token)
        }
        (None, Some((user, password))) => request.basic_auth(user, Some(password)),
        (None, None) => request,
    };
    request.send().await.unwrap().status().as_u16()
}

/// The runs of one direction: `src` to `mirror`, every workflow. Returns
/// each run with a label.
async fn workflows(
    ctx: &Ctx,
    label: &str,
    src: &Registry,
    mirror: &Registry,
    auth: &AuthVia,
    world: &PushedWorld,
) -> Vec<(String, Run)> {
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let shared = world.get(names::OCI_SHARED).unwrap();
    let index = world.get(names::OCI_INDEX).unwrap();
    let dir = ctx.path(label);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let both = write(
        "isc-1.yaml",
        oc_mirror_tests::isc::image_set_config(&additional_images(
            &src.host(),
            &[plain.reference(), shared.reference(), index.reference()],
        )),
    );
    let fewer = write(
        "isc-2.yaml",
        oc_mirror_tests::isc::image_set_config(&additional_images(
            &src.host(),
            &[shared.reference(), index.reference()],
        )),
    );
    let with_registry_metadata = write(
        "isc-meta.yaml",
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nstorageConfig:\n  registry:\n    imageURL: {}/oc-mirror/metadata-{label}:latest\n    skipTLS: true\nmirror:\n{}",
            mirror.host(),
            additional_images(&src.host(), &[shared.reference()])
        ),
    );
    let delete_config = write(
        "delete-isc.yaml",
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageSetConfiguration\ndelete:\n{}",
            additional_images(&src.host(), &[plain.reference()])
        ),
    );
    let ws = format!("file://{}", dir.join("ws").display());
    let out = dir.join("out");
    let out_url = format!("file://{}", out.display());
    let m2m = format!("docker://{}/m2m-{label}", mirror.host());
    let published = format!("docker://{}/pub-{label}", mirror.host());
    let tls = ["--src-tls-verify=false", "--dest-tls-verify=false"];
    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut step = |name: &str, env: &[(&str, &str)], args: &[&str]| -> String {
        let mut all = args.to_vec();
        all.extend(tls);
        let result = run(ctx, auth, env, &all);
        result.assert_ok();
        let stdout = result.stdout.clone();
        runs.push((format!("{label}: {name}"), result));
        stdout
    };

    step("plan", &[], &["plan", "-c", &both, "--workspace", &ws]);
    step(
        "mirror to mirror, dry run",
        &[],
        &["-c", &both, "--workspace", &ws, &m2m, "--dry-run"],
    );
    // The first copy also with every dependency logging at trace (RUST_LOG
    // refines `--log-level`): oci-client, reqwest, hyper, rustls… but not the
    // wasm compiler (gigabytes, minutes, and no secret passes through it).
    step(
        "mirror to mirror (RUST_LOG=trace)",
        &[("RUST_LOG", RUST_LOG_TRACE)],
        &["-c", &both, "--workspace", &ws, &m2m],
    );
    let m2m_repo = format!("m2m-{label}/{}", plain.repo);
    assert_eq!(manifest_status(mirror, &m2m_repo, "2.1").await, 200);
    step(
        "mirror to mirror, prune",
        &[],
        &["-c", &fewer, "--workspace", &ws, &m2m, "--prune"],
    );
    assert_eq!(manifest_status(mirror, &m2m_repo, "2.1").await, 404);

    // Created here, carried, published there (its own `working-dir`).
    let carried = dir.join("carried");
    let carried_url = format!("file://{}", carried.display());
    step("create 1", &[], &["-c", &both, &out_url]);
    carry(&out, &carried, 1);
    step("publish 1", &[], &["--from", &carried_url, &published]);
    let pub_plain = format!("pub-{label}/{}", plain.repo);
    let pub_shared = format!("pub-{label}/{}", shared.repo);
    assert_eq!(manifest_status(mirror, &pub_plain, "2.1").await, 200);
    step("create 2", &[], &["-c", &fewer, &out_url]);
    carry(&out, &carried, 2);
    step("publish 2", &[], &["--from", &carried_url, &published]);
    step(
        "delete --generate",
        &[],
        &[
            "delete",
            "--generate",
            "-c",
            &delete_config,
            "--workspace",
            &out_url,
            &published,
        ],
    );
    let list = out.join("working-dir/delete/delete-images.yaml");
    let list = list.display().to_string();
    step(
        "delete --delete-yaml-file --dry-run",
        &[],
        &[
            "delete",
            "--delete-yaml-file",
            &list,
            "--dry-run",
            &published,
        ],
    );
    assert_eq!(manifest_status(mirror, &pub_plain, "2.1").await, 200);
    step(
        "delete --delete-yaml-file",
        &[],
        &["delete", "--delete-yaml-file", &list, &published],
    );
    assert_eq!(manifest_status(mirror, &pub_plain, "2.1").await, 404);
    assert_eq!(manifest_status(mirror, &pub_shared, "1.0").await, 200);

    // Metadata in the authenticated mirror: the second create reads it back.
    let meta_out = format!("file://{}", dir.join("out-meta").display());
    let meta_again = format!("file://{}", dir.join("out-meta-again").display());
    let first = step(
        "create, registry metadata",
        &[],
        &["-c", &with_registry_metadata, &meta_out],
    );
    assert!(first.contains("sequence 1"), "{first}");
    let second = step(
        "create again, registry metadata",
        &[],
        &["-c", &with_registry_metadata, &meta_again],
    );
    assert!(second.contains("sequence 2"), "{second}");
    runs
}

/// An auth file holding `creds` for each host.
fn auth_file(path: &Path, entries: &[(String, &(String, String))]) {
    let mut auths = serde_json::Map::new();
    for (host, (user, password)) in entries {
        auths.insert(
            host.clone(),
            serde_json::json!({ "auth": STANDARD.encode(format!("{user}:{password}")) }),
        );
    }
    std::fs::write(path, serde_json::json!({ "auths": auths }).to_string()).unwrap();
}

/// What must not appear: `(what it is, the text)`.
fn needles(creds: &[(&str, &(String, String))], tokens: &[String]) -> Vec<(String, String)> {
    let mut needles = Vec::new();
    for (kind, (user, password)) in creds {
        let pair = format!("{user}:{password}");
        needles.push((format!("the {kind} password"), password.clone()));
        needles.push((format!("the {kind} user:password"), pair.clone()));
        for (name, encoded) in [
            ("base64", STANDARD.encode(&pair)),
            ("unpadded base64", STANDARD_NO_PAD.encode(&pair)),
            ("base64url", URL_SAFE_NO_PAD.encode(&pair)),
        ] {
            needles.push((format!("the {kind} user:password in {name}"), encoded));
        }
    }
    for (i, token) in tokens.iter().enumerate() {
        needles.push((format!("token #{i}"), token.clone()));
        // A token cut short (e.g. a log line trimmed) still shows its signature.
        let signature = token.rsplit('.').next().unwrap().to_string();
        needles.push((format!("the signature of token #{i}"), signature));
    }
    needles
}

/// Searches `bytes` (and, within, every gzip stream and tar entry, a few
/// levels deep) for the needles; adds `what: where` to `found`.
fn search(
    location: &str,
    bytes: &[u8],
    needles: &[(String, String)],
    depth: u32,
    found: &mut Vec<String>,
) {
    // Lossy decoding keeps every ASCII byte, so ASCII needles are found
    // wherever they are.
    let text = String::from_utf8_lossy(bytes);
    for (what, needle) in needles {
        if let Some(at) = text.find(needle.as_str()) {
            let mut start = at.saturating_sub(120);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (at + needle.len() + 120).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            found.push(format!(
                "{what} in {location}:\n    …{}…",
                text[start..end].replace('\n', "\n    ")
            ));
        }
    }
    if depth == 0 {
        return;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
        if decoder.read_to_end(&mut inflated).is_ok() {
            search(
                &format!("{location} (gunzipped)"),
                &inflated,
                needles,
                depth - 1,
                found,
            );
        }
    } else {
        for (name, entry) in tar_entries(bytes) {
            // Raw entry bytes were searched with the whole tar; only what
            // needs unpacking is searched again.
            if entry.starts_with(&[0x1f, 0x8b]) || !tar_entries(entry).is_empty() {
                search(
                    &format!("{location} → {name}"),
                    entry,
                    needles,
                    depth - 1,
                    found,
                );
            }
        }
    }
}

/// The `(name, data)` of each regular entry of a ustar/GNU/pax tar; empty if
/// `bytes` is not one.
fn tar_entries(bytes: &[u8]) -> Vec<(String, &[u8])> {
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        if &header[257..262] != b"ustar" {
            return if entries.is_empty() {
                Vec::new()
            } else {
                entries
            };
        }
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let Ok(size) = usize::from_str_radix(size_field.trim_matches(|c| c == '\0' || c == ' '), 8)
        else {
            break;
        };
        let data_start = at + 512;
        let Some(data) = bytes.get(data_start..data_start + size) else {
            break;
        };
        let name_end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
        if matches!(header[156], b'0' | 0) {
            entries.push((name, data));
        }
        at = data_start + size.div_ceil(512) * 512;
    }
    entries
}

/// The search finds a needle in plain text and in a gzip stream inside a
/// tar entry (so a pass means something).
fn search_finds_what_it_must(needles: &[(String, String)]) {
    let (what, needle) = &needles[0];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, format!("{{\"x\":\"{needle}\"}}").as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    let mut header = [0u8; 512];
    header[..9].copy_from_slice(b"blobs/abc");
    let size = format!("{:011o}\0", gzipped.len());
    header[124..136].copy_from_slice(size.as_bytes());
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    let mut tar = header.to_vec();
    tar.extend(&gzipped);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let mut found = Vec::new();
    search("the canary tar", &tar, needles, 3, &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(&format!("{what} in the canary tar → blobs/abc (gunzipped)")),
        "{found:?}"
    );
    found.clear();
    search(
        "the canary text",
        format!("a{needle}b").as_bytes(),
        needles,
        0,
        &mut found,
    );
    assert_eq!(found.len(), 1, "{found:?}");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// An htpasswd registry and a token registry, each holding the standard
/// world and taking the mirrored images; every workflow both ways at trace
/// level; no password, credential pair or token anywhere in what they leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output() {
    let started = std::time::Instant::now();
    let suffix = random_suffix();
    let htpasswd_creds = ("ht-user".to_string(), format!("s3cr3t-htpasswd-{suffix}"));
    let token_creds = ("tok-user".to_string(), format!("s3cr3t-token-{suffix}"));

    let htpasswd = Registry::start(RegistryOptions {
        htpasswd: Some(htpasswd_creds.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let world = World::standard().push(&htpasswd).await.unwrap();
    // The test client speaks basic auth only: fill the token registry
    // anonymously, then require tokens.
    let mut token = Registry::start(RegistryOptions::default()).await.unwrap();
    let token_world = World::standard().push(&token).await.unwrap();
    assert_eq!(token_world.entries.len(), world.entries.len());
    token
        .restart(RegistryOptions {
            token: Some(token_creds.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(token.client().ping().await.unwrap().as_u16(), 401);

    let ctx = Ctx::new();
    // Outside the scratch directory, which is searched: this file holds the
    // credentials on purpose.
    let auth_dir = tempfile::tempdir().unwrap();
    let authfile = auth_dir.path().join("auth.json");
    auth_file(
        &authfile,
        &[
            (htpasswd.host(), &htpasswd_creds),
            (token.host(), &token_creds),
        ],
    );
    let authfile = authfile.display().to_string();

    let mut runs = workflows(
        &ctx,
        "h2t",
        &htpasswd,
        &token,
        &AuthVia::Flag(authfile.clone()),
        &world,
    )
    .await;
    runs.extend(
        workflows(
            &ctx,
            "t2h",
            &token,
            &htpasswd,
            &AuthVia::Env(authfile),
            &token_world,
        )
        .await,
    );
    let ran = started.elapsed();

    // Not vacuous: tokens were asked for by oc-mirror (the test's own asks
    // are pull-only) for pulling, pushing and deleting; the htpasswd
    // registry served authenticated requests; the logs are verbose.
    let server = token.token_server().unwrap();
    let issued = server.issued();
    let asked = |action: &str| {
        issued.iter().any(|t| {
            t.scopes.iter().any(|s| {
                s.rsplit_once(':')
                    .is_some_and(|(_, actions)| actions.split(',').any(|a| a == action))
            })
        })
    };
    assert!(asked("push"), "no push token was issued: {issued:?}");
    assert!(asked("delete"), "no delete token was issued: {issued:?}");
    let oc_mirror_tokens = issued
        .iter()
        .filter(|t| t.scopes.iter().any(|s| !s.ends_with(":pull")))
        .count();
    let htpasswd_log = htpasswd.log_text();
    let authenticated = htpasswd_log
        .lines()
        .filter(|l| l.contains("response completed") && l.contains("auth.user.name=ht-user"))
        .count();
    assert!(
        authenticated > 0,
        "the htpasswd registry logged no authenticated request:\n{}",
        htpasswd.log_tail(20)
    );
    assert!(
        runs.iter().any(|(_, r)| r.stderr.contains("DEBUG")),
        "no debug output at --log-level trace"
    );

    assert!(
        token.log_text().contains("auth.user.name=tok-user"),
        "the token registry logged no request made with a token:\n{}",
        token.log_tail(20)
    );

    let tokens = token.issued_tokens();
    let needles = needles(
        &[("htpasswd", &htpasswd_creds), ("token", &token_creds)],
        &tokens,
    );
    search_finds_what_it_must(&needles);
    let mut found = Vec::new();
    let mut searched_bytes = 0usize;
    for (label, result) in &runs {
        search(
            &format!("stdout of {label}"),
            result.stdout.as_bytes(),
            &needles,
            0,
            &mut found,
        );
        search(
            &format!("stderr of {label}"),
            result.stderr.as_bytes(),
            &needles,
            0,
            &mut found,
        );
        searched_bytes += result.stdout.len() + result.stderr.len();
    }
    let mut files = Vec::new();
    walk(ctx.dir.path(), &mut files);
    let scratch_files = files.len();
    walk(htpasswd.storage_dir(), &mut files);
    walk(token.storage_dir(), &mut files);
    let mut archive_parts = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        searched_bytes += bytes.len();
        if file.extension().is_some_and(|e| e == "tar") {
            archive_parts += 1;
        }
        search(&file.display().to_string(), &bytes, &needles, 3, &mut found);
    }
    assert!(
        archive_parts >= 4,
        "{archive_parts} imageset parts searched"
    );
    // Every kind of output was there to be searched.
    for wanted in [
        "/working-dir/metadata/mirror_seq1.json",
        "/working-dir/plugin-state.json",
        "/working-dir/mapping.txt",
        "/working-dir/dry-run/mapping.txt",
        "/working-dir/cluster-resources/",
        "/working-dir/delete/delete-images.yaml",
        "/working-dir/cache/blobs-v1/sha256/",
        "/carried/mirror_seq2_000000.tar",
        "/out-meta/mirror_seq1_000000.tar",
    ] {
        for label in ["h2t", "t2h"] {
            assert!(
                files.iter().any(|f| {
                    let f = f.to_string_lossy();
                    f.contains(&format!("/{label}/")) && f.contains(wanted)
                }),
                "no {wanted} of {label} was searched"
            );
        }
    }
    assert!(
        found.is_empty(),
        "{} secrets found:\n{}",
        found.len(),
        found.join("\n")
    );
    eprintln!(
        "{} runs in {ran:?}; {} tokens issued ({oc_mirror_tokens} asked by oc-mirror beyond pull), {} token requests refused; {authenticated} authenticated htpasswd requests; searched {} needles in {scratch_files} scratch files, {} registry storage files, {searched_bytes} bytes, in {:?} total",
        runs.len(),
        tokens.len(),
        server.refused(),
        needles.len(),
        files.len() - scratch_files,
        started.elapsed(),
    );
}
