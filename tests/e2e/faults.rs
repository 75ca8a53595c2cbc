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

/// A chart repository that cannot be reached fails the run with the helm
/// bit of the exit code, naming the repository.
#[tokio::test]
async fn unreachable_chart_repository_fails_with_the_helm_bit() {
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: gone\n        url: http://127.0.0.1:{port}/charts\n"
    ));
    ctx.mirror(&isc, &mirror, "o", &[])
        .assert_failed(16)
        .stderr_has(&format!("127.0.0.1:{port}/charts/index.yaml"));
}

mod injected {
    use oc_mirror_tests::{
        Action, Fault, FaultProxy, Format, ImageSpec, LayerSpec, PushedImage, Registry, push_image,
    };

    use crate::support::*;

    /// A source registry with one image whose largest layer is 2 MiB, behind a
    /// fault-injecting front.
    async fn faulty_source(
        fault: impl Fn(&PushedImage) -> Vec<Fault>,
    ) -> (Registry, PushedImage, FaultProxy) {
        let src = plain_registry().await;
        let spec = ImageSpec::new(
            "faults/big",
            Some("1"),
            Format::Oci,
            vec![
                LayerSpec {
                    seed: 7_001,
                    size: 2 << 20,
                },
                LayerSpec {
                    seed: 7_002,
                    size: 64 << 10,
                },
            ],
        );
        let image = push_image(&src, &spec).await.unwrap();
        let proxy = FaultProxy::start(&src.host(), fault(&image)).await.unwrap();
        (src, image, proxy)
    }

    fn biggest(image: &PushedImage) -> String {
        let i = (0..image.blob_sizes.len())
            .max_by_key(|&i| image.blob_sizes[i])
            .unwrap();
        image.blob_digests[i].clone()
    }

    fn rule(method: &str, path: &str, action: Action, times: usize) -> Fault {
        Fault {
            method: method.into(),
            path_contains: path.into(),
            action,
            times,
        }
    }

    /// A blob download cut half-way is resumed with a range request: the
    /// registry serves the rest, not the whole blob again.
    // The fault proxy runs on this runtime while the test blocks on oc-mirror.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cut_download_resumes_with_a_range_request() {
        let (src, image, proxy) = faulty_source(|i| {
            vec![rule(
                "GET",
                &format!("/blobs/{}", biggest(i)),
                Action::CutAfter(700_000),
                1,
            )]
        })
        .await;
        let mirror = plain_registry().await;
        let ctx = Ctx::new();
        let isc = ctx.isc(&format!(
            "  additionalImages:\n    - name: {}/faults/big:1\n",
            proxy.host()
        ));
        ctx.mirror(&isc, &mirror, "c", &["--retry-delay", "10ms"])
            .assert_ok()
            .stderr_has("was cut short");
        assert_eq!(proxy.injected().len(), 1);
        assert_eq!(
            digest_at(&mirror, "c/faults/big", "1").await.as_deref(),
            Some(image.manifest_digest.as_str())
        );
        let gets: Vec<_> = src
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.uri.contains(&biggest(&image)))
            .map(|r| r.status)
            .collect();
        assert_eq!(
            gets,
            vec![200, 206],
            "one full GET (cut), then one ranged GET for the rest"
        );
    }

    /// Transient 503s on manifests and blobs are retried with backoff.
    // The fault proxy runs on this runtime while the test blocks on oc-mirror.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transient_server_errors_are_retried() {
        let (_src, image, proxy) = faulty_source(|i| {
            vec![
                rule("GET", "/manifests/", Action::Status(503), 2),
                rule(
                    "GET",
                    &format!("/blobs/{}", biggest(i)),
                    Action::Status(500),
                    1,
                ),
                rule("GET", "/blobs/", Action::Status(429), 1),
            ]
        })
        .await;
        let mirror = plain_registry().await;
        let ctx = Ctx::new();
        let isc = ctx.isc(&format!(
            "  additionalImages:\n    - name: {}/faults/big:1\n",
            proxy.host()
        ));
        ctx.mirror(&isc, &mirror, "t", &["--retry-delay", "10ms"])
            .assert_ok()
            .stderr_has("tries remaining");
        assert_eq!(proxy.injected().len(), 4);
        assert_eq!(
            digest_at(&mirror, "t/faults/big", "1").await.as_deref(),
            Some(image.manifest_digest.as_str())
        );
    }

    /// A registry that keeps failing is given up on after `--retry-times`.
    // The fault proxy runs on this runtime while the test blocks on oc-mirror.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn persistent_server_errors_fail_after_the_retries() {
        let (_src, _image, proxy) =
            faulty_source(|_| vec![rule("GET", "/manifests/", Action::Status(503), usize::MAX)])
                .await;
        let mirror = plain_registry().await;
        let ctx = Ctx::new();
        let isc = ctx.isc(&format!(
            "  additionalImages:\n    - name: {}/faults/big:1\n",
            proxy.host()
        ));
        ctx.mirror(
            &isc,
            &mirror,
            "p",
            &["--retry-times", "2", "--retry-delay", "10ms"],
        )
        .assert_failed(8)
        .stderr_has("failed after 3 attempt(s)")
        .stderr_has("HTTP 503");
        assert_eq!(proxy.injected().len(), 3);
        assert!(mirror.catalog().await.unwrap().is_empty());
    }

    /// A blob altered in transit never reaches the mirror: once, it is fetched
    /// again; every time, the image fails naming the blob and nothing is pushed.
    // The fault proxy runs on this runtime while the test blocks on oc-mirror.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn altered_blob_is_refused() {
        let (_src, image, proxy) = faulty_source(|i| {
            vec![rule(
                "GET",
                &format!("/blobs/{}", biggest(i)),
                Action::FlipByte(1234),
                1,
            )]
        })
        .await;
        let mirror = plain_registry().await;
        let ctx = Ctx::new();
        let isc = ctx.isc(&format!(
            "  additionalImages:\n    - name: {}/faults/big:1\n",
            proxy.host()
        ));
        ctx.mirror(&isc, &mirror, "a", &["--retry-delay", "10ms"])
            .assert_ok()
            .stderr_has("did not match its digest");
        assert_eq!(
            digest_at(&mirror, "a/faults/big", "1").await.as_deref(),
            Some(image.manifest_digest.as_str())
        );

        let (_src2, image2, proxy2) = faulty_source(|i| {
            vec![rule(
                "GET",
                &format!("/blobs/{}", biggest(i)),
                Action::FlipByte(99),
                usize::MAX,
            )]
        })
        .await;
        let mirror2 = plain_registry().await;
        let ctx2 = Ctx::new();
        let isc2 = ctx2.isc(&format!(
            "  additionalImages:\n    - name: {}/faults/big:1\n",
            proxy2.host()
        ));
        ctx2.mirror(
            &isc2,
            &mirror2,
            "a",
            &["--retry-times", "1", "--retry-delay", "10ms"],
        )
        .assert_failed(8)
        .stderr_has(&format!(
            "does not match its digest: expected `{}",
            biggest(&image2)
        ));
        assert!(
            digest_at(&mirror2, "a/faults/big", "1").await.is_none(),
            "the image must not be pushed"
        );
        assert!(
            !mirror2
                .blob_exists("a/faults/big", &biggest(&image2))
                .await
                .unwrap(),
            "the altered blob must not be uploaded"
        );
    }

    /// A blob that trickles (a byte every 100 ms, so no read ever times out)
    /// and one that is never answered: each fails its image at
    /// `--image-timeout`, naming it, instead of hanging the run; nothing of
    /// the image is pushed.
    // The fault proxy runs on this runtime while the test blocks on oc-mirror.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_and_silent_registries_fail_the_image_at_its_timeout() {
        for (name, action) in [("trickle", Action::Trickle), ("stall", Action::Stall)] {
            let (_src, image, proxy) = faulty_source(|i| {
                vec![rule(
                    "GET",
                    &format!("/blobs/{}", biggest(i)),
                    action.clone(),
                    usize::MAX,
                )]
            })
            .await;
            let mirror = plain_registry().await;
            let ctx = Ctx::new();
            let isc = ctx.isc(&format!(
                "  additionalImages:\n    - name: {}/faults/big:1\n",
                proxy.host()
            ));
            ctx.mirror(&isc, &mirror, name, &["--image-timeout", "2s"])
                .assert_failed(8)
                .stderr_has(&format!("{}/faults/big:1", proxy.host()))
                .stderr_has("--image-timeout (2s)")
                .stderr_has("hint:");
            assert!(
                digest_at(&mirror, &format!("{name}/faults/big"), "1")
                    .await
                    .is_none(),
                "{name}: the image must not be pushed"
            );
            assert!(
                !mirror
                    .blob_exists(&format!("{name}/faults/big"), &biggest(&image))
                    .await
                    .unwrap(),
                "{name}: the slow blob must not be uploaded"
            );
        }
    }
}
