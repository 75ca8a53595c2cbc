use oc_mirror_tests::world::names;
use oc_mirror_tests::{Registry, RegistryOptions};

use crate::support::*;

/// A source image that does not exist fails that image, names it and the cause,
/// and the others are still mirrored.
#[tokio::test]
async fn missing_source_image_is_named() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(
        &src.host(),
        &[plain.reference(), "fixtures/does-not-exist:9.9".to_string()],
    ));
    ctx.mirror(&isc, &mirror, "f", &[])
        .assert_failed(8)
        .stderr_has(&format!("{}/fixtures/does-not-exist:9.9", src.host()))
        .stderr_has("was not found")
        .stderr_has("1 of 2 images could not be mirrored")
        .stdout_has("images: 1 copied, 0 already in the mirror, 1 failed");
    assert_eq!(
        digest_at(&mirror, &format!("f/{}", plain.repo), "2.1")
            .await
            .as_deref(),
        Some(plain.digest.as_str())
    );
}

/// A source registry nobody listens on: a clear error after the retries.
#[tokio::test]
async fn unreachable_registry_is_reported() {
    let mirror = plain_registry().await;
    let port = oc_mirror_tests::registry::free_port().unwrap();
    let ctx = Ctx::new();
    let isc = ctx.isc(&format!(
        "  additionalImages:\n    - name: 127.0.0.1:{port}/nobody/home:1\n"
    ));
    let run = ctx.mirror(
        &isc,
        &mirror,
        "u",
        &["--retry-times", "1", "--retry-delay", "10ms"],
    );
    run.assert_failed(8)
        .stderr_has(&format!("127.0.0.1:{port}/nobody/home:1"))
        .stderr_has("after 2 attempt(s)");
}

/// A mirror that refuses pushes (read-only) fails every image with the cause;
/// made writable, the same command finishes the job without fetching any blob
/// from the source a second time.
#[tokio::test]
async fn interrupted_run_resumes_without_refetching() {
    let (src, world) = source_with_standard_world().await;
    let mut mirror = Registry::start(RegistryOptions {
        read_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let isc = ctx.isc(&additional_images(&src.host(), &refs));

    let refused = ctx.mirror(&isc, &mirror, "r", &["--retry-times", "0"]);
    refused
        .assert_failed(8)
        .stderr_has("uploading blob to")
        .stderr_has(&format!("`{}/r/fixtures/", mirror.host()))
        .stderr_has("HTTP 405");
    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "nothing may be half-pushed"
    );

    mirror.restart(RegistryOptions::default()).await.unwrap();
    ctx.mirror(&isc, &mirror, "r", &[]).assert_ok();
    for e in &world.entries {
        let tag = e
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| format!("sha256-{}", &e.digest[7..]));
        assert_eq!(
            digest_at(&mirror, &format!("r/{}", e.repo), &tag)
                .await
                .as_deref(),
            Some(e.digest.as_str())
        );
    }
    for blob in world.blobs().keys() {
        assert!(
            src.blob_gets(blob) <= 1,
            "{blob} was downloaded {} times",
            src.blob_gets(blob)
        );
    }
}

/// Sections with no content source yet are refused, not silently skipped.
#[tokio::test]
async fn unsupported_sections_are_refused() {
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(
        "  operators:\n    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.18\n",
    );
    ctx.mirror(&isc, &mirror, "o", &[])
        .assert_failed(1)
        .stderr_has("`mirror.operators` is not supported yet");
}
