use oc_mirror_tests::world::names;

use crate::support::*;

/// Every image of the standard world (Docker, OCI, index, list, by digest, two
/// tags) lands under the prefix with the source's manifest digest.
#[tokio::test]
async fn standard_world_lands_digest_for_digest() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let isc = ctx.isc(&additional_images(&src.host(), &refs));

    ctx.mirror(&isc, &mirror, "ocp", &[])
        .assert_ok()
        .stdout_has(&format!(
            "images: {} copied, 0 already in the mirror, 0 failed",
            refs.len()
        ));

    assert_world_mirrored(&mirror, "ocp", &world).await;
    for e in &world.entries {
        let repo = format!("ocp/{}", e.repo);
        for child in e.children() {
            assert!(
                digest_at(&mirror, &repo, &child.manifest_digest)
                    .await
                    .is_some(),
                "child {} of {}",
                child.manifest_digest,
                e.name
            );
        }
        for blob in e.blobs().keys() {
            assert!(
                mirror.blob_exists(&repo, blob).await.unwrap(),
                "blob {blob} missing in {repo}"
            );
        }
    }
    // Shared base layers were uploaded once and mounted into the other repositories.
    let uploads = mirror.uploaded_since(0);
    let uploads_of_base = uploads
        .iter()
        .filter(|d| {
            world
                .get(names::DOCKER_SHARED)
                .unwrap()
                .blobs()
                .contains_key(*d)
        })
        .count();
    let mut unique = uploads.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        uploads.len(),
        "a blob was uploaded twice: {uploads:?}"
    );
    assert_eq!(
        uploads_of_base, 4,
        "docker-shared's 4 blobs (config, 3 layers) were uploaded once each"
    );

    // Cluster resources: tag references in the ITMS, the digest-only one in
    // the IDMS, both with the namespace scope (the mirror kept the paths).
    let resources = ctx.working_dir().join("cluster-resources");
    let itms = std::fs::read_to_string(resources.join("itms-oc-mirror.yaml")).unwrap();
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    let entry = format!(
        "  - mirrors:\n    - {}/ocp/fixtures\n    source: {}/fixtures\n",
        mirror.host(),
        src.host()
    );
    assert!(
        itms.contains("kind: ImageTagMirrorSet") && itms.contains(&entry),
        "{itms}"
    );
    assert!(
        idms.contains("kind: ImageDigestMirrorSet") && idms.contains(&entry),
        "{idms}"
    );

    // mapping.txt names every image, sorted, as source=destination.
    let mapping = std::fs::read_to_string(ctx.working_dir().join("mapping.txt")).unwrap();
    assert_eq!(mapping.lines().count(), refs.len());
    let line = format!(
        "docker://{}/fixtures/shared-docker:1.0=docker://{}/ocp/fixtures/shared-docker:1.0",
        src.host(),
        mirror.host()
    );
    assert!(mapping.lines().any(|l| l == line), "{mapping}");
    let mut sorted: Vec<&str> = mapping.lines().collect();
    sorted.sort();
    assert_eq!(sorted, mapping.lines().collect::<Vec<_>>());
}

/// Running the same mirror again copies nothing: no blob is fetched from the
/// source, no manifest is pushed.
#[tokio::test]
async fn second_run_is_a_no_op() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let isc = ctx.isc(&additional_images(&src.host(), &refs));
    ctx.mirror(&isc, &mirror, "ocp", &[]).assert_ok();

    let (src_mark, dst_mark) = (src.log_mark(), mirror.log_mark());
    ctx.mirror(&isc, &mirror, "ocp", &[])
        .assert_ok()
        .stdout_has(&format!(
            "images: 0 copied, {} already in the mirror, 0 failed",
            refs.len()
        ));
    for blob in world.blobs().keys() {
        assert_eq!(
            src.blob_gets_since(src_mark, blob),
            0,
            "{blob} fetched again"
        );
    }
    let writes: Vec<_> = mirror
        .requests_since(dst_mark)
        .into_iter()
        .filter(|r| r.method == "PUT" || r.method == "POST" || r.method == "PATCH")
        .collect();
    assert!(
        writes.is_empty(),
        "the no-op run wrote to the mirror: {writes:?}"
    );
}

/// `platforms` keeps only the named platforms of an index: the mirror gets a
/// smaller index and only those platforms' manifests and blobs.
#[tokio::test]
async fn platforms_filter_an_index() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let index = world.get(names::OCI_INDEX).unwrap();
    let isc = ctx.isc(&format!(
        "  additionalImages:\n    - name: {}/{}\n      platforms:\n        - os: linux\n          architecture: arm64\n",
        src.host(),
        index.reference()
    ));
    ctx.mirror(&isc, &mirror, "m", &[]).assert_ok();

    let repo = format!("m/{}", index.repo);
    let (digest, _, body) = mirror
        .manifest(&repo, &index.tags[0])
        .await
        .unwrap()
        .expect("index mirrored");
    assert_ne!(digest, index.digest, "a filtered index is a new index");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let entries = v["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["platform"]["architecture"], "arm64");
    for child in index.children() {
        let present = digest_at(&mirror, &repo, &child.manifest_digest)
            .await
            .is_some();
        assert_eq!(
            present,
            child.platform.1 == "arm64",
            "child {:?}",
            child.platform
        );
    }
}

/// `targetRepo` and `targetTag` place the image elsewhere; a tag+digest
/// reference is pulled by digest and pushed by tag.
#[tokio::test]
async fn target_repo_tag_and_tag_with_digest() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let two = world.get(names::TWO_TAGS).unwrap();
    let isc = ctx.isc(&format!(
        "  additionalImages:\n    - name: {h}/{p}\n      targetRepo: custom/place\n      targetTag: pinned\n    - name: {h}/{r}:1.0@{d}\n",
        h = src.host(),
        p = plain.reference(),
        r = two.repo,
        d = two.digest
    ));
    ctx.mirror(&isc, &mirror, "x", &[]).assert_ok();
    assert_eq!(
        digest_at(&mirror, "x/custom/place", "pinned")
            .await
            .as_deref(),
        Some(plain.digest.as_str())
    );
    assert_eq!(
        digest_at(&mirror, &format!("x/{}", two.repo), "1.0")
            .await
            .as_deref(),
        Some(two.digest.as_str())
    );
    assert!(
        mirror
            .catalog()
            .await
            .unwrap()
            .iter()
            .all(|r| r != &format!("x/{}", plain.repo))
    );
}

/// `blockedImages` patterns (unanchored regular expressions) keep images out.
#[tokio::test]
async fn blocked_images_are_not_mirrored() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = vec![
        world.get(names::OCI_PLAIN).unwrap().reference(),
        world.get(names::DOCKER_SHARED).unwrap().reference(),
    ];
    let isc = ctx.isc(&format!(
        "{}  blockedImages:\n    - name: plain-o.i\n",
        additional_images(&src.host(), &refs)
    ));
    ctx.mirror(&isc, &mirror, "b", &[])
        .assert_ok()
        .stderr_has("blocked by `blockedImages` pattern `plain-o.i`")
        .stdout_has("images: 1 copied");
    let catalog = mirror.catalog().await.unwrap();
    assert_eq!(catalog, vec!["b/fixtures/shared-docker".to_string()]);
    let mapping = std::fs::read_to_string(ctx.working_dir().join("mapping.txt")).unwrap();
    assert!(!mapping.contains("plain-oci"), "{mapping}");
}

/// `--dry-run` writes mapping.txt and missing.txt and copies nothing; after a
/// real run the cache has everything and missing.txt is empty.
#[tokio::test]
async fn dry_run_plans_without_copying() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let isc = ctx.isc(&additional_images(&src.host(), &refs));

    ctx.mirror(&isc, &mirror, "d", &["--dry-run"])
        .assert_ok()
        .stdout_has("nothing copied");
    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "dry run wrote to the mirror"
    );
    let dry = ctx.working_dir().join("dry-run");
    assert_eq!(
        std::fs::read_to_string(dry.join("mapping.txt"))
            .unwrap()
            .lines()
            .count(),
        refs.len()
    );
    assert_eq!(
        std::fs::read_to_string(dry.join("missing.txt"))
            .unwrap()
            .lines()
            .count(),
        refs.len()
    );

    ctx.mirror(&isc, &mirror, "d", &[]).assert_ok();
    ctx.mirror(&isc, &mirror, "d", &["--dry-run"])
        .assert_ok()
        .stdout_has("available in the workspace cache");
    assert_eq!(
        std::fs::read_to_string(dry.join("missing.txt")).unwrap(),
        ""
    );
}

/// A fresh workspace pointed at a mirror that already holds some images: those
/// are not fetched again, and a new image sharing their base layers gets them
/// by mount instead of download and upload.
#[tokio::test]
async fn fresh_workspace_reuses_what_the_mirror_holds() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let docker = world.get(names::DOCKER_SHARED).unwrap();
    let oci = world.get(names::OCI_SHARED).unwrap();
    let first = Ctx::new();
    let isc = first.isc(&additional_images(&src.host(), &[docker.reference()]));
    first.mirror(&isc, &mirror, "a", &[]).assert_ok();

    let second = Ctx::new();
    let isc2 = second.isc(&additional_images(
        &src.host(),
        &[docker.reference(), oci.reference()],
    ));
    let (src_mark, dst_mark) = (src.log_mark(), mirror.log_mark());
    second
        .mirror(&isc2, &mirror, "a", &[])
        .assert_ok()
        .stdout_has("images: 1 copied, 1 already in the mirror");
    let shared: Vec<String> = docker
        .blobs()
        .into_keys()
        .filter(|d| oci.blobs().contains_key(d))
        .collect();
    assert_eq!(shared.len(), 2, "the two images share two base layers");
    for d in &shared {
        assert_eq!(
            src.blob_gets_since(src_mark, d),
            0,
            "shared layer {d} downloaded again"
        );
        assert!(
            !mirror.uploaded_since(dst_mark).contains(d),
            "shared layer {d} uploaded again"
        );
    }
    assert_eq!(
        digest_at(&mirror, &format!("a/{}", oci.repo), "1.0")
            .await
            .as_deref(),
        Some(oci.digest.as_str())
    );
}

/// A plugin shipped as a CNCF wasm OCI artifact is inspected from the registry.
#[tokio::test]
async fn plugin_inspect_reads_a_wasm_oci_artifact() {
    let reg = plain_registry().await;
    let wasm = std::fs::read(
        oc_mirror_bin()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("plugins/wasm32-wasip2/release/additional_images.wasm"),
    )
    .expect("built plugin");
    let client = reg.client();
    let config = client
        .upload_blob("plugins/additional-images", b"{}".to_vec())
        .await
        .unwrap();
    let layer = client
        .upload_blob("plugins/additional-images", wasm.clone())
        .await
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/wasm", "digest": layer, "size": wasm.len()}],
    });
    client
        .put_manifest(
            "plugins/additional-images",
            "0.1.0",
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .await
        .unwrap();
    let ctx = Ctx::new();
    ctx.run(&[
        "plugin",
        "inspect",
        &format!("docker://{}/plugins/additional-images:0.1.0", reg.host()),
        "--src-tls-verify=false",
    ])
    .assert_ok()
    .stdout_has("name:          additional-images")
    .stdout_has("world:         content-source");
}

/// A third-party content source named in `plugins:` (here the additional-images
/// component loaded from a file, with its configuration given inline) feeds the
/// mirror like a built-in section; a digest pin that does not match refuses it.
#[tokio::test]
async fn third_party_plugin_from_a_file() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let wasm = oc_mirror_bin()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("plugins/wasm32-wasip2/release/additional_images.wasm");
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(&wasm).unwrap()
        ))
    );
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let write = |pin: &str| {
        let path = ctx.path("isc.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nplugins:\n  - path: {}\n    digest: {pin}\n    config: [{{name: {}/{}}}]\nmirror: {{}}\n",
                wasm.display(),
                src.host(),
                plain.reference()
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    let isc = write(&digest);
    ctx.mirror(&isc, &mirror, "tp", &[])
        .assert_ok()
        .stdout_has("images: 1 copied");
    assert_eq!(
        digest_at(&mirror, &format!("tp/{}", plain.repo), "2.1")
            .await
            .as_deref(),
        Some(plain.digest.as_str())
    );

    let wrong = write(&format!("sha256:{}", "0".repeat(64)));
    ctx.mirror(&wrong, &mirror, "tp", &[])
        .assert_failed(1)
        .stderr_has("pins `sha256:000");
}
