//! Self-tests of the test support: the registries start as configured, the
//! fixtures are well-formed to a real client (skopeo) and deterministic, and
//! the log counter counts what it claims to.

use std::io::Read as _;
use std::process::Output;

use crate::client::Target;
use crate::fixture::{self, Format, ImageSpec, LayerSpec, push_image, write_layer};
use crate::registry::{Registry, RegistryOptions};
use crate::world::{PushedWorld, World, names};
use crate::{media_type, tls::TlsMaterial};

const USER: &str = "mirror";
const PASSWORD: &str = "s3cret-pass";

async fn skopeo(args: &[&str]) -> Output {
    tokio::process::Command::new("skopeo")
        .args(args)
        .output()
        .await
        .expect("running skopeo")
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
}

/// `skopeo inspect` and return its JSON.
async fn skopeo_inspect(registry: &Registry, reference: &str, extra: &[&str]) -> serde_json::Value {
    let image = format!("docker://{}/{reference}", registry.host());
    let mut args = vec!["inspect"];
    args.extend_from_slice(extra);
    args.push(&image);
    let output = skopeo(&args).await;
    assert_success(&output, &format!("skopeo inspect {image}"));
    serde_json::from_slice(&output.stdout).expect("skopeo inspect prints JSON")
}

/// Every manifest (top and children) of `world` is served with the expected
/// digest, media type and bytes; every blob exists; tags are all there.
async fn assert_world_served(registry: &Registry, world: &PushedWorld) {
    for entry in &world.entries {
        let mut references = entry.tags.clone();
        references.push(entry.digest.clone());
        for reference in &references {
            let (digest, content_type, bytes) = registry
                .manifest(&entry.repo, reference)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{}:{reference} missing", entry.repo));
            assert_eq!(digest, entry.digest, "{}:{reference}", entry.repo);
            assert_eq!(content_type, entry.media_type, "{}:{reference}", entry.repo);
            assert_eq!(bytes, entry.manifest_bytes(), "{}:{reference}", entry.repo);
        }
        for child in entry.children() {
            let (digest, content_type, _) = registry
                .manifest(&entry.repo, &child.manifest_digest)
                .await
                .unwrap()
                .expect("child manifest");
            assert_eq!(digest, child.manifest_digest);
            assert_eq!(content_type, child.media_type);
        }
        for blob in entry.blobs().keys() {
            assert!(
                registry.blob_exists(&entry.repo, blob).await.unwrap(),
                "{blob}"
            );
        }
        let mut tags = registry.tags(&entry.repo).await.unwrap();
        tags.sort();
        let mut expected = entry.tags.clone();
        expected.sort();
        assert_eq!(tags, expected, "tags of {}", entry.repo);
    }
    let catalog = registry.catalog().await.unwrap();
    for repo in world.repos() {
        assert!(catalog.contains(&repo), "{repo} not in catalog {catalog:?}");
    }
}

#[tokio::test]
async fn plain_registry_serves_the_standard_world_to_skopeo() {
    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let world = World::standard().push(&registry).await.unwrap();
    assert_eq!(world.entries.len(), 7);
    assert_world_served(&registry, &world).await;

    // The pushed world is exactly what building it offline predicts.
    assert_eq!(World::standard().build().unwrap(), world);

    // A real client accepts a Docker image, an OCI image and an index.
    for name in [names::DOCKER_SHARED, names::OCI_SHARED, names::OCI_INDEX] {
        let entry = world.get(name).unwrap();
        let inspect = skopeo_inspect(
            &registry,
            &entry.reference(),
            &["--tls-verify=false", "--no-creds"],
        )
        .await;
        if !entry.is_index() {
            assert_eq!(inspect["Digest"], entry.digest.as_str(), "{name}");
        }
        assert_eq!(inspect["Os"], "linux");
    }
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let inspect = skopeo_inspect(
        &registry,
        &plain.reference(),
        &["--tls-verify=false", "--no-creds"],
    )
    .await;
    assert_eq!(inspect["Labels"]["io.openshift.release"], "4.99.0");

    // skopeo copy downloads and verifies every layer digest.
    let out = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:x", out.path().join("layout").display());
    let src = format!(
        "docker://{}/{}",
        registry.host(),
        world.get(names::DIGEST_ONLY).unwrap().reference()
    );
    let output = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--src-no-creds",
        &src,
        &dest,
    ])
    .await;
    assert_success(&output, "skopeo copy");
}

#[tokio::test]
async fn pushes_are_deterministic_across_registries() {
    let a = Registry::start(RegistryOptions::default()).await.unwrap();
    let b = Registry::start(RegistryOptions::default()).await.unwrap();
    let world_a = World::standard().push(&a).await.unwrap();
    let world_b = World::standard().push(&b).await.unwrap();
    assert_eq!(world_a, world_b);
    let (digest_a, _, bytes_a) = a
        .manifest("fixtures/two-tags", "latest")
        .await
        .unwrap()
        .unwrap();
    let (digest_b, _, bytes_b) = b
        .manifest("fixtures/two-tags", "latest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((digest_a, bytes_a), (digest_b, bytes_b));
    // Pushing again is a no-op that reports the same thing.
    assert_eq!(World::standard().push(&a).await.unwrap(), world_a);
}

#[tokio::test]
async fn htpasswd_registry_requires_credentials() {
    let registry = Registry::start(RegistryOptions {
        htpasswd: Some((USER.into(), PASSWORD.into())),
        ..Default::default()
    })
    .await
    .unwrap();
    let anonymous = registry.client().anonymous();
    assert_eq!(anonymous.ping().await.unwrap().as_u16(), 401);
    let spec = ImageSpec::new(
        "auth/app",
        Some("1"),
        Format::Oci,
        vec![LayerSpec {
            seed: 500,
            size: 1000,
        }],
    );
    assert!(push_image(&anonymous, &spec).await.is_err());
    let wrong = Target {
        auth: Some((USER.into(), "wrong".into())),
        ..registry.target()
    }
    .client()
    .unwrap();
    assert_eq!(wrong.ping().await.unwrap().as_u16(), 401);

    assert_eq!(registry.client().ping().await.unwrap().as_u16(), 200);
    let world = World::standard().push(&registry).await.unwrap();
    assert_world_served(&registry, &world).await;
    assert!(
        anonymous
            .manifest("fixtures/shared-oci", "1.0")
            .await
            .is_err()
    );

    let creds = format!("{USER}:{PASSWORD}");
    let entry = world.get(names::DOCKER_SHARED).unwrap();
    let inspect = skopeo_inspect(
        &registry,
        &entry.reference(),
        &["--tls-verify=false", "--creds", &creds],
    )
    .await;
    assert_eq!(inspect["Digest"], entry.digest.as_str());
}

#[tokio::test]
async fn tls_registry_works_with_its_ca_only() {
    let registry = Registry::start(RegistryOptions {
        tls: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(registry.url().starts_with("https://127.0.0.1:"));
    let ca_file = registry.ca_file().unwrap();
    assert_eq!(
        std::fs::read_to_string(&ca_file).unwrap(),
        registry.ca_pem().unwrap()
    );
    assert!(registry.cert_dir().join("ca.crt").is_file());

    let world = World::standard().push(&registry).await.unwrap();
    assert_world_served(&registry, &world).await;

    // Without the CA, or with another CA, the handshake fails.
    let untrusting = Target {
        ca_pem: None,
        ..registry.target()
    }
    .client()
    .unwrap();
    assert!(untrusting.ping().await.is_err());
    let other_ca = Target {
        ca_pem: Some(TlsMaterial::generate().unwrap().ca_pem),
        ..registry.target()
    }
    .client()
    .unwrap();
    assert!(other_ca.ping().await.is_err());

    // skopeo verifies the server against the cert dir.
    let cert_dir = registry.cert_dir();
    let entry = world.get(names::OCI_SHARED).unwrap();
    let inspect = skopeo_inspect(
        &registry,
        &entry.reference(),
        &["--cert-dir", cert_dir.to_str().unwrap(), "--no-creds"],
    )
    .await;
    assert_eq!(inspect["Digest"], entry.digest.as_str());
}

#[tokio::test]
async fn blob_gets_counts_successful_blob_gets() {
    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let layer = LayerSpec {
        seed: 600,
        size: 3000,
    };
    let pushed = push_image(
        &registry,
        &ImageSpec::new("count/a", Some("1"), Format::Docker, vec![layer]),
    )
    .await
    .unwrap();
    let layer_digest = pushed.blob_digests[1].clone();
    // Pushing only HEADs, PUTs and POSTs.
    assert_eq!(registry.blob_gets(&layer_digest), 0);

    let bytes = registry
        .client()
        .blob("count/a", &layer_digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(crate::client::sha256_digest(&bytes), layer_digest);
    let mark = registry.log_mark();
    registry
        .client()
        .blob("count/a", &layer_digest)
        .await
        .unwrap()
        .unwrap();
    assert!(
        registry
            .blob_exists("count/a", &layer_digest)
            .await
            .unwrap()
    ); // HEAD: not counted
    // A GET through another repo that does not link the blob is a 404: not counted.
    assert!(
        registry
            .client()
            .blob("count/other", &layer_digest)
            .await
            .unwrap()
            .is_none()
    );

    // The log is written as requests complete; allow it a moment.
    let mut gets = 0;
    for _ in 0..50 {
        gets = registry.blob_gets(&layer_digest);
        if gets == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(gets, 2, "log:\n{}", registry.log_tail(20));
    assert_eq!(registry.blob_gets_since(mark, &layer_digest), 1);
    assert_eq!(registry.blob_gets(&pushed.config_digest), 0);
    let requests = registry.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.status == 201)
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.status == 404)
    );
    assert!(
        requests
            .iter()
            .all(|r| r.user_agent == crate::client::USER_AGENT || r.uri == "/v2/")
    );
}

#[tokio::test]
async fn restart_moves_to_a_new_port_when_the_old_one_is_taken() {
    let mut registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let pushed = push_image(
        &registry,
        &ImageSpec::new(
            "move/app",
            Some("1"),
            Format::Docker,
            vec![LayerSpec {
                seed: 750,
                size: 100,
            }],
        ),
    )
    .await
    .unwrap();
    let old_port = registry.port();
    registry.stop();
    assert!(!registry.is_running());
    let squatter = std::net::TcpListener::bind(("127.0.0.1", old_port)).unwrap();
    registry.restart(RegistryOptions::default()).await.unwrap();
    assert_ne!(registry.port(), old_port);
    assert!(registry.is_running());
    assert!(registry.log_text().contains("address already in use"));
    let (digest, _, _) = registry.manifest("move/app", "1").await.unwrap().unwrap();
    assert_eq!(digest, pushed.manifest_digest);
    drop(squatter);
}

#[tokio::test]
async fn read_only_registry_refuses_pushes_until_restarted_writable() {
    let spec = ImageSpec::new(
        "ro/app",
        Some("1"),
        Format::Oci,
        vec![LayerSpec {
            seed: 700,
            size: 2048,
        }],
    );
    let mut registry = Registry::start(RegistryOptions {
        read_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let err = push_image(&registry, &spec).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("405") || format!("{err:#}").contains("UNSUPPORTED"),
        "{err:#}"
    );
    let port = registry.port();

    registry.restart(RegistryOptions::default()).await.unwrap();
    let pushed = push_image(&registry, &spec).await.unwrap();

    registry
        .restart(RegistryOptions {
            read_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    // Same storage: the image is still there (and most likely the same port).
    let (digest, _, _) = registry.manifest("ro/app", "1").await.unwrap().unwrap();
    assert_eq!(digest, pushed.manifest_digest);
    assert!(
        push_image(
            &registry,
            &ImageSpec {
                tag: Some("2".into()),
                ..spec.clone()
            }
        )
        .await
        .is_err()
    );
    if registry.port() != port {
        eprintln!(
            "note: the port changed across restarts ({port} -> {})",
            registry.port()
        );
    }

    // Another registry can serve the same storage.
    let twin = Registry::start(RegistryOptions {
        storage_dir: Some(registry.storage_dir().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        twin.manifest("ro/app", "1").await.unwrap().unwrap().0,
        pushed.manifest_digest
    );
}

#[tokio::test]
async fn large_layers_stream_through_a_file() {
    // Above the in-memory limit, so the temp-file + streaming upload path runs.
    let layer = LayerSpec {
        seed: 800,
        size: 9 << 20,
    };
    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let pushed = push_image(
        &registry,
        &ImageSpec::new("big/app", Some("1"), Format::Oci, vec![layer]),
    )
    .await
    .unwrap();
    let bytes = registry
        .client()
        .blob("big/app", &pushed.blob_digests[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes.len() as u64, pushed.blob_sizes[1]);
    assert_eq!(crate::client::sha256_digest(&bytes), pushed.blob_digests[1]);
}

#[test]
fn layers_are_valid_deterministic_tar_gz() {
    let spec = LayerSpec {
        seed: 7,
        size: 1234,
    };
    let (info, bytes) = write_layer(spec, Vec::new()).unwrap();
    let (again, bytes_again) = write_layer(spec, Vec::new()).unwrap();
    assert_eq!((&info, &bytes), (&again, &bytes_again));
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(info.digest, crate::client::sha256_digest(&bytes));
    assert_ne!(
        write_layer(
            LayerSpec {
                seed: 8,
                size: 1234
            },
            Vec::new()
        )
        .unwrap()
        .0,
        info
    );

    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut tar)
        .unwrap();
    assert_eq!(info.diff_id, crate::client::sha256_digest(&tar));
    assert_eq!(tar.len(), 512 + 1536 + 1024);

    // GNU tar agrees it is a tar with one regular file of the right size.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let output = std::process::Command::new("tar")
        .arg("-tvzf")
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&output, "tar -tvzf");
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("layer-7.bin"), "{listing}");
    assert!(listing.contains(" 1234 "), "{listing}");
    assert!(listing.starts_with("-rw-r--r-- root/root"), "{listing}");
}

#[test]
fn images_have_the_right_media_types_and_diff_ids() {
    let layer = LayerSpec { seed: 9, size: 100 };
    for (format, manifest, config, layer_type) in [
        (
            Format::Docker,
            media_type::DOCKER_MANIFEST,
            media_type::DOCKER_CONFIG,
            media_type::DOCKER_LAYER_GZIP,
        ),
        (
            Format::Oci,
            media_type::OCI_MANIFEST,
            media_type::OCI_CONFIG,
            media_type::OCI_LAYER_GZIP,
        ),
    ] {
        let image =
            fixture::build_image(&ImageSpec::new("x/y", None, format, vec![layer])).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&image.manifest_bytes).unwrap();
        assert_eq!(image.media_type, manifest);
        assert_eq!(json["mediaType"], manifest);
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["config"]["mediaType"], config);
        assert_eq!(json["layers"][0]["mediaType"], layer_type);
        assert_eq!(
            json["layers"][0]["digest"],
            fixture::layer_info(layer).unwrap().digest.as_str()
        );
    }
    let world = World::standard().build().unwrap();
    let index = world.get(names::OCI_INDEX).unwrap();
    let json: serde_json::Value = serde_json::from_slice(index.manifest_bytes()).unwrap();
    assert_eq!(json["mediaType"], media_type::OCI_INDEX);
    assert_eq!(json["manifests"][1]["platform"]["architecture"], "arm64");
    let list = world.get(names::DOCKER_LIST).unwrap();
    assert_eq!(list.media_type, media_type::DOCKER_MANIFEST_LIST);
    assert_eq!(world.get(names::TWO_TAGS).unwrap().tags, ["1.0", "latest"]);
    assert!(world.get(names::DIGEST_ONLY).unwrap().tags.is_empty());
    assert!(
        world
            .get(names::DIGEST_ONLY)
            .unwrap()
            .reference()
            .contains("@sha256:")
    );
    assert_eq!(World::bench(20, 1000).items.len(), 20);
}

/// A benchmark-sized (256 MiB) layer is generated and pushed with bounded
/// memory. Slow in debug builds, hence ignored: run with `--ignored`.
#[tokio::test]
#[ignore = "slow: generates and pushes 256 MiB"]
async fn bench_sized_layer_keeps_memory_bounded() {
    fn peak_rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    let layer = LayerSpec {
        seed: 900,
        size: 256 << 20,
    };
    let pushed = push_image(
        &registry,
        &ImageSpec::new("big/bench", Some("1"), Format::Docker, vec![layer]),
    )
    .await
    .unwrap();
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "256 MiB layer pushed in {:?}, peak RSS grew by {grown_mib} MiB",
        started.elapsed()
    );
    assert!(pushed.blob_sizes[1] > 256 << 20);
    assert!(grown_mib < 64, "peak RSS grew by {grown_mib} MiB");
    assert!(
        registry
            .blob_exists("big/bench", &pushed.blob_digests[1])
            .await
            .unwrap()
    );
}
