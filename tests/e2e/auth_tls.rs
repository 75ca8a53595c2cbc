use base64::Engine as _;
use oc_mirror_tests::world::names;
use oc_mirror_tests::{Registry, RegistryOptions, World};

use crate::support::*;

fn creds() -> (String, String) {
    ("mirror-user".to_string(), "s3cret-Pa55".to_string())
}

/// Writes an auth file with credentials for `host`.
fn auth_file(ctx: &Ctx, host: &str) -> String {
    let (u, p) = creds();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    let path = ctx.path("auth.json");
    std::fs::write(
        &path,
        serde_json::json!({ "auths": { host: { "auth": auth } } }).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

/// Source and mirror both behind htpasswd: with `--authfile` everything is
/// mirrored; the password never shows up in the output or the workspace.
#[tokio::test]
async fn htpasswd_registries_with_authfile() {
    let opts = RegistryOptions {
        htpasswd: Some(creds()),
        ..Default::default()
    };
    let src = Registry::start(opts.clone()).await.unwrap();
    let mirror = Registry::start(opts).await.unwrap();
    let world = World::standard().push(&src).await.unwrap();
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    // One file holding both registries' entries.
    let (u, p) = creds();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    let path = ctx.path("auth.json");
    std::fs::write(&path, serde_json::json!({ "auths": { src.host(): { "auth": auth }, mirror.host(): { "auth": auth } } }).to_string()).unwrap();

    let run = ctx.mirror(
        &isc,
        &mirror,
        "sec",
        &["--authfile", path.to_str().unwrap(), "--log-level", "debug"],
    );
    run.assert_ok();
    assert_eq!(
        digest_at(&mirror, &format!("sec/{}", plain.repo), "2.1")
            .await
            .as_deref(),
        Some(plain.digest.as_str())
    );
    assert!(
        !run.stderr.contains(&p) && !run.stdout.contains(&p),
        "password in output"
    );
    assert!(!run.stderr.contains(&auth), "credentials in output");
    for entry in walk(&ctx.working_dir()) {
        if let Ok(text) = std::fs::read_to_string(&entry) {
            assert!(
                !text.contains(&p) && !text.contains(&auth),
                "credentials in {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p))
            } else {
                out.push(p)
            }
        }
    }
    out
}

/// Without credentials the run fails, naming the image and what to fix.
#[tokio::test]
async fn missing_credentials_are_reported() {
    let src = Registry::start(RegistryOptions {
        htpasswd: Some(creds()),
        ..Default::default()
    })
    .await
    .unwrap();
    let world = World::standard().push(&src).await.unwrap();
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    ctx.mirror(&isc, &mirror, "x", &["--retry-times", "1"])
        .assert_failed(8)
        .stderr_has(&format!("{}/{}", src.host(), plain.reference()))
        .stderr_has("not authorized")
        .stderr_has("hint: check the credentials");
    // A wrong password is refused the same way.
    let wrong = ctx.path("wrong.json");
    let bad = base64::engine::general_purpose::STANDARD.encode("mirror-user:wrong");
    std::fs::write(
        &wrong,
        serde_json::json!({ "auths": { src.host(): { "auth": bad } } }).to_string(),
    )
    .unwrap();
    ctx.mirror(
        &isc,
        &mirror,
        "x",
        &["--retry-times", "1", "--authfile", wrong.to_str().unwrap()],
    )
    .assert_failed(8)
    .stderr_has("not authorized");
    let _ = auth_file; // the helper is used by the TLS test below
}

/// A TLS mirror with a self-signed CA: trusted through `--dest-cert-dir`,
/// refused without it, accepted unverified with `--dest-tls-verify=false`.
#[tokio::test]
async fn tls_mirror_with_self_signed_ca() {
    let (src, world) = source_with_standard_world().await;
    let mirror = Registry::start(RegistryOptions {
        tls: true,
        htpasswd: Some(creds()),
        ..Default::default()
    })
    .await
    .unwrap();
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    let authfile = auth_file(&ctx, &mirror.host());
    let dest = format!("docker://{}/tls", mirror.host());
    let ws = ctx.workspace();
    let cert_dir = mirror.cert_dir().display().to_string();
    let base = [
        "-c",
        isc.as_str(),
        "--workspace",
        ws.as_str(),
        dest.as_str(),
        "--src-tls-verify=false",
        "--authfile",
        authfile.as_str(),
        "--retry-times",
        "1",
    ];

    let untrusted = ctx.run(&base);
    untrusted.assert_failed(8);
    assert!(
        untrusted.stderr.to_lowercase().contains("certificate"),
        "{}",
        untrusted.stderr
    );

    let mut trusted = base.to_vec();
    trusted.extend(["--dest-cert-dir", cert_dir.as_str()]);
    ctx.run(&trusted).assert_ok();
    assert_eq!(
        digest_at(&mirror, &format!("tls/{}", plain.repo), "2.1")
            .await
            .as_deref(),
        Some(plain.digest.as_str())
    );

    let oci = world.get(names::OCI_SHARED).unwrap();
    let isc2 = ctx.isc(&additional_images(&src.host(), &[oci.reference()]));
    let mut unverified = base.to_vec();
    unverified[1] = isc2.as_str();
    unverified.push("--dest-tls-verify=false");
    ctx.run(&unverified).assert_ok();
    assert_eq!(
        digest_at(&mirror, &format!("tls/{}", oci.repo), "1.0")
            .await
            .as_deref(),
        Some(oci.digest.as_str())
    );
}
