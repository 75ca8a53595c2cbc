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
        .unwrap_or_else(|e| panic!("{}", crate::tools::not_started("skopeo", &e)))
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

/// A path of `len` bytes made of 20-byte directory names, ending in `leaf`.
fn long_path(len: usize, leaf: &str) -> String {
    let mut path = String::new();
    while path.len() + leaf.len() < len {
        path.push_str(&"d".repeat(19.min(len - leaf.len() - path.len() - 1).max(1)));
        path.push('/');
    }
    path.push_str(leaf);
    path
}

#[test]
fn files_layers_round_trip_with_long_names_links_and_whiteouts() {
    use crate::fixture::{FilesLayer, read_tar, read_tar_gz};

    let prefixed = long_path(180, "prefixed.txt"); // fits ustar name + prefix
    let pax = long_path(300, "pax.txt"); // needs a PAX path record
    let long_dir = long_path(140, "dir");
    let long_target = format!("/{}", "t".repeat(150));
    let layer = FilesLayer::new()
        .dir("etc")
        .file("etc/os-release", "ID=fixture\n")
        .file(&prefixed, vec![7u8; 600])
        .file(&pax, "pax\n")
        .dir(&long_dir)
        .symlink("etc/link", &long_target)
        .whiteout("etc/motd")
        .whiteout("top")
        .opaque_whiteout("var/cache/")
        .file("./dot/relative", "");
    assert!(prefixed.len() > 100 && pax.len() > 256);

    let (info, bytes) = layer.write().unwrap();
    assert_eq!((info.clone(), bytes.clone()), layer.write().unwrap());
    assert_eq!(info.digest, crate::client::sha256_digest(&bytes));
    assert_eq!(info.size, bytes.len() as u64);
    let tar = layer.tar().unwrap();
    assert_eq!(info.diff_id, crate::client::sha256_digest(&tar));
    assert_eq!(read_tar(&tar).unwrap(), read_tar_gz(&bytes).unwrap());

    let members = read_tar_gz(&bytes).unwrap();
    let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
    let long_dir_slash = format!("{long_dir}/");
    let expected = [
        "etc/",
        "etc/os-release",
        prefixed.as_str(),
        pax.as_str(),
        long_dir_slash.as_str(),
        "etc/link",
        "etc/.wh.motd",
        ".wh.top",
        "var/cache/.wh..wh..opq",
        "./dot/relative",
    ];
    assert_eq!(paths, expected);
    for member in &members {
        assert_eq!((member.uid, member.gid, member.mtime), (0, 0, 0));
        let mode = match member.typeflag {
            b'5' => 0o755,
            b'2' => 0o777,
            _ => 0o644,
        };
        assert_eq!(member.mode, mode, "{}", member.path);
    }
    assert!(members[0].is_dir() && members[1].is_file());
    assert_eq!(members[1].text(), "ID=fixture\n");
    assert_eq!(members[2].contents, vec![7u8; 600]);
    assert_eq!(members[5].typeflag, b'2');
    assert_eq!(members[5].link, long_target);
    assert!(members[6].contents.is_empty());

    // GNU tar reads the same names (ustar prefix and PAX alike).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("files.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let output = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&output, "tar -tzf");
    let listing = String::from_utf8_lossy(&output.stdout);
    assert_eq!(listing.lines().collect::<Vec<_>>(), expected);

    // In an image the files layer stacks on the random ones, with its diff_id.
    let random = LayerSpec { seed: 11, size: 64 };
    let plain = ImageSpec::new("x/files", None, Format::Oci, vec![random]);
    let spec = plain.clone().with_files_layer(layer.clone());
    let image = fixture::build_image(&spec).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&image.manifest_bytes).unwrap();
    assert_eq!(manifest["layers"][1]["digest"], info.digest.as_str());
    assert_eq!(image.blob_digests[2], info.digest);
    // Without file layers an image is byte for byte what it always was.
    assert_ne!(fixture::build_image(&plain).unwrap(), image);
    assert_eq!(
        fixture::build_image(&plain).unwrap().manifest_digest,
        fixture::build_image(&ImageSpec::new("x/files", None, Format::Oci, vec![random]))
            .unwrap()
            .manifest_digest
    );
}

/// The members of one layer blob of `repo`.
async fn layer_members(
    registry: &Registry,
    repo: &str,
    digest: &str,
) -> Vec<crate::fixture::TarMember> {
    let blob = registry.client().blob(repo, digest).await.unwrap().unwrap();
    crate::fixture::read_tar_gz(&blob).unwrap()
}

/// The `data.stream` JSON of a boot-images ConfigMap.
fn bootimages_stream(yaml: &str) -> serde_json::Value {
    let block: String = yaml
        .split_once("  stream: |\n")
        .unwrap()
        .1
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap())
        .collect();
    serde_json::from_str(&block).unwrap()
}

#[tokio::test]
async fn release_world_pushes_payloads_as_documented() {
    use crate::release::{
        self, ARCHITECTURE_KEY, BOOTIMAGES, IMAGE_REFERENCES, RELEASE_METADATA, ReleaseArch,
        ReleaseSpec, ReleaseWorld, STANDARD_VERSIONS,
    };

    const NS: &str = "openshift-release-dev";
    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let world = ReleaseWorld::standard().push(&registry, NS).await.unwrap();
    assert_eq!(
        ReleaseWorld::standard()
            .build(NS, &registry.host())
            .unwrap(),
        world
    );
    assert_eq!(world.releases.len(), 6);
    let release_repo = world.release_repo();
    let component_repo = world.component_repo();
    assert_eq!(release_repo, "openshift-release-dev/ocp-release");

    for version in STANDARD_VERSIONS {
        let release = world.get(version, "x86_64").unwrap();
        assert_eq!(world.get(version, "amd64"), Some(release));
        assert_eq!(release.tag, format!("{version}-x86_64"));
        assert_eq!(
            release.tag_reference(),
            format!("{}/{release_repo}:{version}-x86_64", registry.host())
        );
        let (digest, content_type, bytes) = registry
            .manifest(&release_repo, &release.tag)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(digest, release.digest);
        assert_eq!(content_type, media_type::DOCKER_MANIFEST);
        assert_eq!(bytes, release.manifest_bytes);

        let shard = &release.shards[0];
        let config: serde_json::Value = serde_json::from_slice(
            &registry
                .client()
                .blob(&release_repo, &shard.image.config_digest)
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["config"]["Labels"][release::RELEASE_LABEL], version);
        assert_eq!(
            config["config"]["Labels"][release::BASE_IMAGE_DIGEST_LABEL],
            release
                .component("cluster-version-operator")
                .unwrap()
                .digest
                .as_str()
        );
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

        let members = layer_members(&registry, &release_repo, &shard.image.blob_digests[2]).await;
        let file = |path: &str| members.iter().find(|m| m.path == path).map(|m| m.text());
        let refs: serde_json::Value =
            serde_json::from_str(&file(IMAGE_REFERENCES).unwrap()).unwrap();
        assert_eq!(
            Some(refs.to_string()),
            shard.image_references.as_deref().map(|j| {
                serde_json::from_str::<serde_json::Value>(j)
                    .unwrap()
                    .to_string()
            })
        );
        assert_eq!(refs["kind"], "ImageStream");
        assert_eq!(refs["apiVersion"], "image.openshift.io/v1");
        assert_eq!(refs["metadata"]["name"], version);
        let tags = refs["spec"]["tags"].as_array().unwrap();
        let expected_count = if version.starts_with("4.14.") { 12 } else { 13 };
        assert_eq!(tags.len(), expected_count);
        assert_eq!(release.components().len(), expected_count);
        let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for tag in tags {
            let component = release.component(tag["name"].as_str().unwrap()).unwrap();
            assert_eq!(tag["from"]["kind"], "DockerImage");
            assert_eq!(tag["from"]["name"], component.reference.as_str());
            assert_eq!(
                component.reference,
                format!("{}/{component_repo}@{}", registry.host(), component.digest)
            );
            assert!(
                tag["annotations"]["io.openshift.build.commit.id"]
                    .as_str()
                    .is_some_and(|c| c.len() == 40)
            );
            let (digest, content_type, _) = registry
                .manifest(&component_repo, &component.digest)
                .await
                .unwrap()
                .expect("component pushed by digest");
            assert_eq!(digest, component.digest);
            assert_eq!(content_type, media_type::DOCKER_MANIFEST);
        }
        let metadata: serde_json::Value =
            serde_json::from_str(&file(RELEASE_METADATA).unwrap()).unwrap();
        assert_eq!(metadata["kind"], "cincinnati-metadata-v0");
        assert_eq!(metadata["version"], version);
        assert!(metadata["metadata"].as_object().unwrap().is_empty());
        let previous: Vec<&str> = metadata["previous"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let mut sorted = previous.clone();
        sorted.sort_unstable();
        assert_eq!(previous, sorted);

        match file(BOOTIMAGES) {
            Some(yaml) => {
                assert!(version.starts_with("4.15."));
                let stream = bootimages_stream(&yaml);
                let kubevirt = release.kubevirt().unwrap();
                assert_eq!(
                    stream["architectures"]["x86_64"]["images"]["kubevirt"]["digest-ref"],
                    kubevirt.reference.as_str()
                );
                assert!(
                    registry
                        .manifest(&component_repo, &kubevirt.digest)
                        .await
                        .unwrap()
                        .is_some()
                );
                assert!(!names.contains(&release::KUBEVIRT_COMPONENT));
            }
            None => assert!(version.starts_with("4.14.") && release.kubevirt().is_none()),
        }
        for blob in release.blobs().keys() {
            let repo = if release.payload_blobs().contains_key(blob) {
                &release_repo
            } else {
                &component_repo
            };
            assert!(registry.blob_exists(repo, blob).await.unwrap(), "{blob}");
        }
    }
    assert_eq!(
        world.get("4.15.0", "x86_64").unwrap().payload_blobs().len(),
        3
    );

    // Components are shared by build; the diff helpers say what changed.
    let changed = |x: &str, y: &str| -> Vec<String> {
        let (x, y) = (
            world.get(x, "x86_64").unwrap(),
            world.get(y, "x86_64").unwrap(),
        );
        let mut names: Vec<String> = world
            .components_not_in(x, y)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        changed("4.14.2", "4.14.1"),
        ["cluster-version-operator", "console", "hyperkube"]
    );
    assert_eq!(
        changed("4.14.3", "4.14.2"),
        ["cluster-version-operator", "etcd", "installer"]
    );
    assert_eq!(
        changed("4.15.0", "4.14.3"),
        [
            "cli",
            "cluster-olm-operator",
            "cluster-version-operator",
            "hyperkube",
            "installer",
            "machine-config-operator",
            release::KUBEVIRT_COMPONENT,
        ]
    );
    assert_eq!(
        changed("4.15.1", "4.15.0"),
        ["cluster-version-operator", "console", "ovn-kubernetes"]
    );
    let (a, b) = (
        world.get("4.14.1", "x86_64").unwrap(),
        world.get("4.14.2", "x86_64").unwrap(),
    );
    assert_eq!(
        a.component("tools").unwrap().digest,
        b.component("tools").unwrap().digest
    );
    let new_blobs = world.blobs_not_in(b, a);
    // Three new components (config + own layer each) and the payload (config
    // + files layer; the base layer is shared).
    assert_eq!(new_blobs.len(), 3 * 2 + 2, "{new_blobs:?}");
    assert!(world.blobs_not_in(a, a).is_empty());

    // The multi-arch release: a Docker manifest list of two shards.
    let multi = world.get("4.15.1", "multi").unwrap();
    assert_eq!(world.by_tag("4.15.1-multi"), Some(multi));
    assert!(multi.is_multi());
    assert_eq!(multi.cincinnati_arch(), "multi");
    let (digest, content_type, bytes) = registry
        .manifest(&release_repo, "4.15.1-multi")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(digest, multi.digest);
    assert_eq!(content_type, media_type::DOCKER_MANIFEST_LIST);
    let list: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let platforms: Vec<&str> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);
    let single = world.get("4.15.1", "x86_64").unwrap();
    assert_ne!(multi.shards[0].image.manifest_digest, single.digest);
    for shard in &multi.shards {
        let metadata: serde_json::Value = serde_json::from_str(&shard.release_metadata).unwrap();
        assert_eq!(metadata["metadata"][ARCHITECTURE_KEY], "multi");
        let members = layer_members(&registry, &release_repo, &shard.image.blob_digests[2]).await;
        assert!(members.iter().any(|m| m.path == IMAGE_REFERENCES));
    }
    let x86 = multi.component_for("etcd", ReleaseArch::X86_64).unwrap();
    let arm = multi.component_for("etcd", ReleaseArch::Aarch64).unwrap();
    assert_eq!(x86.digest, single.component("etcd").unwrap().digest);
    assert_ne!(x86.digest, arm.digest);
    assert_eq!(arm.image.platform.1, "arm64");
    assert_eq!(multi.components().len(), 26);

    let mut tags = registry.tags(&release_repo).await.unwrap();
    tags.sort();
    assert_eq!(
        tags,
        [
            "4.14.1-x86_64",
            "4.14.2-x86_64",
            "4.14.3-x86_64",
            "4.15.0-x86_64",
            "4.15.1-multi",
            "4.15.1-x86_64"
        ]
    );
    assert!(registry.tags(&component_repo).await.unwrap().is_empty());

    // A real client reads the payload and its label.
    let inspect = skopeo_inspect(
        &registry,
        &format!("{release_repo}:4.14.1-x86_64"),
        &["--tls-verify=false", "--no-creds"],
    )
    .await;
    assert_eq!(inspect["Labels"]["io.openshift.release"], "4.14.1");

    // A payload without image-references (for error tests).
    let broken = ReleaseWorld::single(
        ReleaseSpec::new(
            "4.13.0",
            ReleaseArch::X86_64,
            release::standard_components("4.14.1"),
        )
        .without_image_references(),
    )
    .push(&registry, "broken")
    .await
    .unwrap();
    let release = broken.get("4.13.0", "x86_64").unwrap();
    assert!(release.shards[0].image_references.is_none());
    let members = layer_members(
        &registry,
        "broken/ocp-release",
        &release.shards[0].image.blob_digests[2],
    )
    .await;
    assert!(members.iter().all(|m| m.path != IMAGE_REFERENCES));
    assert!(members.iter().any(|m| m.path == RELEASE_METADATA));
}

#[test]
fn bench_release_world_changes_a_tenth_per_release() {
    use crate::release::ReleaseWorld;
    let world = ReleaseWorld::bench(4, 180)
        .build("bench", "registry.invalid:5000")
        .unwrap();
    assert_eq!(world.releases.len(), 4);
    for pair in world.releases.windows(2) {
        assert_eq!(pair[1].components().len(), 180);
        assert_eq!(world.components_not_in(&pair[1], &pair[0]).len(), 18);
    }
    assert_eq!(
        world.releases[1].digest_reference(),
        format!(
            "registry.invalid:5000/bench/ocp-release@{}",
            world.releases[1].digest
        )
    );
}

/// A plain client for the Cincinnati server.
fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// GETs `url` with `accept`; returns (status, content type, body).
async fn get(url: &str, accept: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut request = http().get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The graph's edges as version pairs, and its node versions in order.
fn edges_by_version(graph: &serde_json::Value) -> (Vec<String>, Vec<(String, String)>) {
    let versions: Vec<String> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["version"].as_str().unwrap().to_string())
        .collect();
    let mut edges: Vec<(String, String)> = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (from, to) = (e[0].as_u64().unwrap(), e[1].as_u64().unwrap());
            (
                versions[from as usize].clone(),
                versions[to as usize].clone(),
            )
        })
        .collect();
    edges.sort();
    (versions, edges)
}

fn version_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn cincinnati_serves_graphs_errors_and_signatures() {
    use crate::cincinnati::{
        CHANNELS_KEY, CincinnatiServer, GraphSpec, MANIFESTREF_KEY, ServerMode,
    };
    use crate::release::ReleaseWorld;

    let world = ReleaseWorld::standard()
        .build("openshift-release-dev", "registry.invalid:5000")
        .unwrap();
    let spec = GraphSpec::for_release_world(&world);
    let mut server = CincinnatiServer::start(spec.clone()).await.unwrap();
    assert!(server.graph_url().starts_with("http://127.0.0.1:"));
    assert!(server.graph_url().ends_with("/api/upgrades_info/v1/graph"));
    let base = server.graph_url();
    let graph_url = |query: &str| format!("{base}?{query}");

    // stable-4.15: four nodes (two from 4.14), unsorted, edges by index.
    let (status, content_type, body) = get(
        &graph_url("channel=stable-4.15&arch=amd64&id=0d6bf4b4-3f4c-4a9f-8d59-0a5f0b2b7a50"),
        Some("application/json"),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let graph: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(graph["version"], 1);
    let (versions, edges) = edges_by_version(&graph);
    let mut sorted = versions.clone();
    sorted.sort_by(|a, b| crate::cincinnati::compare_versions(a, b));
    assert_eq!(sorted, ["4.14.2", "4.14.3", "4.15.0", "4.15.1"]);
    assert_ne!(versions, sorted, "nodes must not come sorted");
    assert_eq!(
        edges,
        version_pairs(&[
            ("4.14.2", "4.14.3"),
            ("4.14.3", "4.15.0"),
            ("4.14.2", "4.15.0"),
            ("4.15.0", "4.15.1"),
        ])
    );
    let conditional = graph["conditionalEdges"].as_array().unwrap();
    assert_eq!(conditional.len(), 2);
    assert_eq!(conditional[0]["edges"][0]["from"], "4.15.0");
    assert_eq!(conditional[0]["edges"][0]["to"], "4.15.1");
    assert_eq!(
        conditional[0]["risks"][0]["matchingRules"][0]["type"],
        "Always"
    );
    assert_eq!(conditional[1]["edges"][0]["from"], "4.14.3");
    assert_eq!(
        conditional[1]["risks"][0]["matchingRules"][0]["type"],
        "PromQL"
    );
    for node in graph["nodes"].as_array().unwrap() {
        let version = node["version"].as_str().unwrap();
        let release = world.get(version, "x86_64").unwrap();
        assert_eq!(node["payload"], release.digest_reference().as_str());
        assert_eq!(node["metadata"][MANIFESTREF_KEY], release.digest.as_str());
        assert!(
            node["metadata"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
        if version == "4.14.2" {
            assert_eq!(
                node["metadata"][CHANNELS_KEY],
                "fast-4.14,stable-4.14,fast-4.15,stable-4.15"
            );
        }
    }

    // stable-4.14 without arch (amd64 by default) and no conditional edges.
    let (status, _, body) = get(&graph_url("channel=stable-4.14"), None).await;
    assert_eq!(status, 200);
    let graph: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let (versions, edges) = edges_by_version(&graph);
    assert_eq!(versions.len(), 3);
    assert_eq!(
        edges,
        version_pairs(&[
            ("4.14.1", "4.14.2"),
            ("4.14.2", "4.14.3"),
            ("4.14.1", "4.14.3")
        ])
    );
    assert_eq!(graph["conditionalEdges"], serde_json::json!([]));
    assert_eq!(spec.versions("fast-4.15", "amd64").len(), 5);

    // arch=multi serves the manifest list; an unknown channel is empty.
    let (_, _, body) = get(&graph_url("channel=stable-4.15&arch=multi"), None).await;
    let graph: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(
        graph["nodes"][0]["payload"],
        world
            .get("4.15.1", "multi")
            .unwrap()
            .digest_reference()
            .as_str()
    );
    let (status, _, body) = get(&graph_url("channel=stable-9.99"), None).await;
    assert_eq!(status, 200);
    let graph: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(graph["nodes"], serde_json::json!([]));
    assert_eq!(graph["edges"], serde_json::json!([]));

    // The OKD path is the same handler; the vendor type is honoured.
    let (status, content_type, body) = get(
        &format!("{}?channel=fast-4.15", server.okd_graph_url()),
        Some(crate::cincinnati::CINCINNATI_JSON),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, crate::cincinnati::CINCINNATI_JSON)
    );
    let graph: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(
        get(&graph_url("channel=fast-4.15"), Some("*/*")).await.0,
        200
    );

    // Errors: missing channel, unsupported Accept, injected failure.
    let (status, content_type, body) = get(&graph_url("arch=amd64"), None).await;
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"kind":"missing_params","value":"mandatory client parameters missing: channel"}"#
    );
    let (status, _, body) = get(&graph_url("channel=stable-4.15"), Some("image/png")).await;
    assert_eq!(status, 406);
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["kind"], "invalid_content_type");
    server.set_mode(ServerMode::Error {
        status: 500,
        kind: "failed_upstream_fetch".into(),
        value: "upstream is down".into(),
    });
    let (status, _, body) = get(&graph_url("channel=stable-4.15"), None).await;
    assert_eq!(status, 500);
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["kind"], "failed_upstream_fetch");
    assert_eq!(error["value"], "upstream is down");
    server.set_mode(ServerMode::Normal);
    assert_eq!(get(&graph_url("channel=stable-4.15"), None).await.0, 200);

    // The request log.
    let requests = server.graph_requests();
    assert_eq!(requests[0].params["channel"], "stable-4.15");
    assert_eq!(
        requests[0].params["id"],
        "0d6bf4b4-3f4c-4a9f-8d59-0a5f0b2b7a50"
    );
    assert_eq!(requests[0].accept.as_deref(), Some("application/json"));
    assert_eq!(requests[0].path, crate::cincinnati::GRAPH_PATH);
    assert!(
        requests
            .iter()
            .any(|r| r.status == 406 && r.accept.as_deref() == Some("image/png"))
    );

    // Raw HTTP: Content-Length and Connection: close are right.
    {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .unwrap();
        conn.write_all(
            b"GET /api/upgrades_info/v1/graph?channel=stable-4.14 HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(
            head.contains(&format!("\r\nContent-Length: {}", body.len())),
            "{head}"
        );
    }

    // Signatures: only what the test stored.
    let digest = &world.get("4.14.1", "x86_64").unwrap().digest;
    let url = server.signature_url(digest, 1);
    assert!(url.contains("/pub/openshift-v4/signatures/openshift/release/sha256="));
    assert_eq!(get(&url, None).await.0, 404);
    server.add_signature(digest, 1, b"\x89signed".to_vec());
    assert_eq!(
        get(&url, None).await,
        (
            200,
            "application/octet-stream".to_string(),
            b"\x89signed".to_vec()
        )
    );
    assert_eq!(get(&server.signature_url(digest, 2), None).await.0, 404);
    let osus = format!(
        "{}/api/upgrades_info/signatures/sha256={}/signature-1",
        server.url(),
        digest.trim_start_matches("sha256:")
    );
    assert_eq!(get(&osus, None).await.0, 200);
    server.remove_signatures(digest);
    assert_eq!(get(&url, None).await.0, 404);

    // Stopped: connections are refused; resumed on the same port.
    server.stop().await;
    assert!(!server.is_running());
    let err = http()
        .get(graph_url("channel=stable-4.15"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    server.resume().await.unwrap();
    assert_eq!(get(&graph_url("channel=stable-4.15"), None).await.0, 200);
}

#[tokio::test]
async fn cincinnati_graph_data_is_a_deterministic_gzip_tar() {
    use crate::cincinnati::{CincinnatiServer, GraphSpec};
    use crate::release::ReleaseWorld;

    let world = ReleaseWorld::standard()
        .build("openshift-release-dev", "registry.invalid:5000")
        .unwrap();
    let spec = GraphSpec::for_release_world(&world);
    let server = CincinnatiServer::start(spec.clone()).await.unwrap();
    let (status, content_type, bytes) = get(&server.graph_data_url(), None).await;
    assert_eq!((status, content_type.as_str()), (200, "application/gzip"));
    assert_eq!(bytes, spec.graph_data().unwrap());

    let members = crate::fixture::read_tar_gz(&bytes).unwrap();
    let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
    for path in [
        "./",
        "./version",
        "./LICENSE",
        "./raw/metadata.json",
        "./channels/stable-4.14.yaml",
        "./channels/stable-4.15.yaml",
        "./channels/fast-4.15.yaml",
        "./blocked-edges/4.15.1-ExampleRisk.yaml",
        "./blocked-edges/4.15.1-ConditionalOnlyRisk.yaml",
    ] {
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
    let text = |path: &str| members.iter().find(|m| m.path == path).unwrap().text();
    assert_eq!(text("./version"), "1.1.0\n");
    assert_eq!(
        text("./channels/stable-4.15.yaml"),
        "name: stable-4.15\nversions:\n- 4.14.2\n- 4.14.3\n- 4.15.0\n- 4.15.1\n"
    );
    assert!(text("./blocked-edges/4.15.1-ConditionalOnlyRisk.yaml").contains("from: 4[.]14[.]3\n"));
    let raw: serde_json::Value = serde_json::from_str(&text("./raw/metadata.json")).unwrap();
    assert!(raw["4.14.1"]["url"].is_string());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph-data.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let output = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&path)
        .arg("-C")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&output, "tar -xzf");
    assert!(dir.path().join("channels/fast-4.14.yaml").is_file());
}

// ---------------------------------------------------------------------------
// Helm chart fixtures (crate::charts)

/// The member paths of a chart archive, in order.
fn chart_members(tgz: &[u8]) -> Vec<fixture::TarMember> {
    fixture::read_tar_gz(tgz).expect("a chart archive is a gzip'd tar")
}

#[test]
fn pack_is_deterministic_and_laid_out_like_helm_package() {
    use crate::charts::{DIGEST_PLACEHOLDER, REGISTRY_PLACEHOLDER, pack_fixture};

    let replace = [
        (REGISTRY_PLACEHOLDER, "127.0.0.1:5999"),
        (DIGEST_PLACEHOLDER, "sha256:feedfeed"),
    ];
    let first = pack_fixture("webapp-1.2.0", &replace).unwrap();
    let second = pack_fixture("webapp-1.2.0", &replace).unwrap();
    assert_eq!(first, second, "pack must give the same bytes every time");

    let members = chart_members(&first);
    let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths[0], "webapp/Chart.yaml");
    assert_eq!(paths[1], "webapp/values.yaml");
    assert!(paths.iter().all(|p| p.starts_with("webapp/")), "{paths:?}");
    for member in &members {
        assert!(member.is_file(), "only regular files: {}", member.path);
        assert_eq!(
            (member.mtime, member.uid, member.gid),
            (0, 0, 0),
            "{}",
            member.path
        );
        assert_eq!(member.mode, 0o644, "{}", member.path);
        let text = member.text();
        assert!(
            !text.contains(REGISTRY_PLACEHOLDER),
            "{} not replaced",
            member.path
        );
        assert!(
            !text.contains(DIGEST_PLACEHOLDER),
            "{} not replaced",
            member.path
        );
    }
    // Templates before other files, subcharts (by chart name) last; the
    // file:// dependency `common` is vendored as a directory, also into the
    // cache subchart; the aliased `worker` is there once.
    let index = |p: &str| {
        paths
            .iter()
            .position(|x| *x == p)
            .unwrap_or_else(|| panic!("{p} missing from {paths:#?}"))
    };
    assert!(index("webapp/templates/deployment.yaml") < index("webapp/files/banner.txt"));
    assert!(index("webapp/files/banner.txt") < index("webapp/charts/cache/Chart.yaml"));
    assert!(index("webapp/charts/cache/Chart.yaml") < index("webapp/charts/common/Chart.yaml"));
    index("webapp/charts/cache/charts/common/templates/_images.tpl");
    index("webapp/charts/common/templates/validations/_validations.tpl");
    index("webapp/charts/worker/templates/deployment.yaml");
    index("webapp/templates/tests/test-connection.yaml");
    index("webapp/templates/NOTES.txt");
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/Chart.yaml")).count(),
        6,
        "webapp, cache, cache's common, common, metrics, worker: {paths:#?}"
    );
    let values = members
        .iter()
        .find(|m| m.path == "webapp/values.yaml")
        .unwrap()
        .text();
    assert!(values.contains("registry: 127.0.0.1:5999\n"));
    assert!(values.contains("digest: sha256:feedfeed\n"));

    // Without replacements the placeholders stay; Chart.yaml is replaced too.
    let raw = pack_fixture("webapp-1.2.0", &[]).unwrap();
    assert_ne!(raw, first);
    let bumped = pack_fixture("ocichart", &[("version: 0.1.0", "version: 0.2.0+build.7")]).unwrap();
    let meta = crate::charts::chart_metadata(&bumped).unwrap();
    assert_eq!(meta["version"], "0.2.0+build.7");
    assert_eq!(meta["name"], "ocichart");
}

#[test]
fn webapp_versions_differ_only_in_their_version() {
    let old = crate::charts::chart_dir("webapp-1.2.0");
    let new = crate::charts::chart_dir("webapp-1.3.0");
    let a = chart_members(&crate::charts::pack(&old, &[("1.2.0", "1.3.0")]).unwrap());
    let b = chart_members(&crate::charts::pack(&new, &[]).unwrap());
    let a: Vec<(&str, &[u8])> = a
        .iter()
        .map(|m| (m.path.as_str(), &m.contents[..]))
        .collect();
    let b: Vec<(&str, &[u8])> = b
        .iter()
        .map(|m| (m.path.as_str(), &m.contents[..]))
        .collect();
    assert_eq!(
        a, b,
        "tests/data/charts/webapp-1.3.0 must be webapp-1.2.0 with 1.2.0 replaced by 1.3.0"
    );
}

#[test]
fn chart_expectations_match_the_chart_files_and_expected_md() {
    use crate::charts::{
        DIGEST_PLACEHOLDER, REGISTRY_PLACEHOLDER, chart_metadata, charts_dir, expectations,
        pack_fixture,
    };

    assert!(
        std::fs::read_to_string(charts_dir().join("webapp-1.2.0/values.yaml"))
            .unwrap()
            .contains(&format!("registry: {REGISTRY_PLACEHOLDER}\n"))
    );
    let expected_md = std::fs::read_to_string(charts_dir().join("EXPECTED.md")).unwrap();
    let mut dirs: Vec<String> = std::fs::read_dir(charts_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let expectations = expectations();
    let listed: Vec<String> = expectations.iter().map(|e| e.dir.to_string()).collect();
    assert_eq!(dirs, listed, "every chart directory has an expectation");
    for chart in &expectations {
        let tgz = pack_fixture(chart.dir, &[]).unwrap();
        let meta = chart_metadata(&tgz).unwrap();
        assert_eq!(meta["name"], chart.name, "{}", chart.dir);
        assert_eq!(meta["version"], chart.version, "{}", chart.dir);
        assert_eq!(
            meta["type"].as_str().unwrap_or("application"),
            chart.chart_type,
            "{}",
            chart.dir
        );
        let text: String = chart_members(&tgz).iter().map(|m| m.text()).collect();
        for rel in chart.all_references() {
            let repo = rel.split(['@', ':']).next().unwrap();
            assert!(text.contains(repo), "{}: no file names {repo}", chart.dir);
            let shown = rel.replace(DIGEST_PLACEHOLDER, "sha256:<digest>");
            assert!(
                expected_md.contains(&format!("`{shown}`")),
                "EXPECTED.md does not list `{shown}` ({})",
                chart.dir
            );
        }
    }
}

#[tokio::test]
async fn chart_repo_serves_an_index_whose_digests_match_the_archives() {
    use crate::charts::{
        ChartFault, ChartRepo, ChartUrls, DIGEST_PLACEHOLDER, REGISTRY_PLACEHOLDER, pack_fixture,
        sha256_hex,
    };

    let replace = [
        (REGISTRY_PLACEHOLDER, "127.0.0.1:5999"),
        (DIGEST_PLACEHOLDER, DIGEST_PLACEHOLDER),
    ];
    let repo = ChartRepo::start().await.unwrap();
    assert!(repo.url().starts_with("http://127.0.0.1:"));
    assert!(repo.url().ends_with("/charts"));
    for dir in ["webapp-1.2.0", "webapp-1.3.0", "common"] {
        repo.add(pack_fixture(dir, &replace).unwrap()).unwrap();
    }
    let relative = repo
        .add_with(
            pack_fixture("ocichart", &replace).unwrap(),
            ChartUrls::Relative,
        )
        .unwrap();

    let (status, _, body) = get(&repo.index_url(), None).await;
    assert_eq!(status, 200);
    let index: serde_json::Value = serde_norway::from_slice(&body).unwrap();
    assert_eq!(index["apiVersion"], "v1");
    let webapp: Vec<&str> = index["entries"]["webapp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_str().unwrap())
        .collect();
    assert_eq!(webapp, ["1.3.0", "1.2.0"], "newest first");
    assert_eq!(index["entries"]["common"][0]["type"], "library");
    assert_eq!(index["entries"]["webapp"][0]["appVersion"], "1.3.0");
    assert_eq!(
        index["entries"]["webapp"][1]["urls"][0],
        repo.archive_url("webapp", "1.2.0")
    );
    assert_eq!(
        index["entries"]["ocichart"][0]["urls"][0],
        "ocichart-0.1.0.tgz"
    );
    assert_eq!(relative.file_name(), "ocichart-0.1.0.tgz");

    // Every URL, resolved as Helm does (against the repository URL with a
    // trailing slash), serves bytes whose sha256 is the index's digest.
    let base = reqwest::Url::parse(&format!("{}/", repo.url())).unwrap();
    for (name, versions) in index["entries"].as_object().unwrap() {
        for entry in versions.as_array().unwrap() {
            let url = base.join(entry["urls"][0].as_str().unwrap()).unwrap();
            let (status, content_type, bytes) = get(url.as_str(), None).await;
            assert_eq!(status, 200, "{url}");
            assert_eq!(content_type, "application/gzip");
            assert_eq!(entry["digest"], sha256_hex(&bytes), "{name} {url}");
            assert_eq!(entry["created"], crate::charts::CREATED);
        }
    }
    let path = repo.archive_path("webapp", "1.2.0");
    assert_eq!(repo.gets(&path), 1);
    assert_eq!(repo.gets(&repo.index_path()), 1);
    assert_eq!(repo.request_count("/charts/ocichart-0.1.0.tgz"), 1);

    // Faults: other valid bytes (digest mismatch), truncation, 404, 500.
    let good = get(&repo.archive_url("webapp", "1.2.0"), None).await.2;
    repo.corrupt("webapp", "1.2.0");
    let corrupted = get(&repo.archive_url("webapp", "1.2.0"), None).await.2;
    assert_ne!(sha256_hex(&corrupted), sha256_hex(&good));
    assert_eq!(
        chart_members(&corrupted).len(),
        chart_members(&good).len(),
        "still a valid archive"
    );
    repo.set_fault(&path, ChartFault::Truncated);
    assert_eq!(
        get(&repo.archive_url("webapp", "1.2.0"), None)
            .await
            .2
            .len(),
        good.len() / 2
    );
    repo.set_fault(&path, ChartFault::NotFound);
    assert_eq!(get(&repo.archive_url("webapp", "1.2.0"), None).await.0, 404);
    repo.set_fault(&repo.index_path(), ChartFault::ServerError);
    assert_eq!(get(&repo.index_url(), None).await.0, 500);
    repo.clear_faults();
    assert_eq!(
        get(&repo.archive_url("webapp", "1.2.0"), None).await.2,
        good
    );
    assert_eq!(
        get(&format!("{}/nope-1.0.0.tgz", repo.url()), None).await.0,
        404
    );
    assert_eq!(repo.gets(&path), 6);
    repo.clear_requests();
    assert!(repo.requests().is_empty());
}

#[tokio::test]
async fn oci_charts_carry_helm_media_types_to_skopeo() {
    use crate::charts::{
        HELM_CHART_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE, REGISTRY_PLACEHOLDER, pack_fixture,
        push_oci_chart,
    };

    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let host = registry.host();
    let tgz = pack_fixture("ocichart", &[(REGISTRY_PLACEHOLDER, &host)]).unwrap();
    let pushed = push_oci_chart(&registry, "charts/ocichart", &tgz)
        .await
        .unwrap();
    assert_eq!(pushed.tag, "0.1.0");
    assert_eq!(
        pushed.reference(&host),
        format!("{host}/charts/ocichart:0.1.0")
    );
    assert_eq!(
        pushed.oci_url(&host),
        format!("oci://{host}/charts/ocichart")
    );

    let image = format!("docker://{host}/charts/ocichart:0.1.0");
    let output = skopeo(&["inspect", "--raw", "--tls-verify=false", &image]).await;
    assert_success(&output, "skopeo inspect --raw");
    assert_eq!(output.stdout, pushed.manifest_bytes);
    let manifest: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(manifest["mediaType"], media_type::OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], HELM_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"][0]["mediaType"], HELM_CHART_MEDIA_TYPE);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "ocichart"
    );
    let layer = registry
        .client()
        .blob(
            "charts/ocichart",
            manifest["layers"][0]["digest"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(layer, tgz);
    let config: serde_json::Value = serde_json::from_slice(
        &registry
            .client()
            .blob("charts/ocichart", &pushed.config_digest)
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(config["name"], "ocichart");
    assert_eq!(config["version"], "0.1.0");
    assert_eq!(config["apiVersion"], "v2");

    // A version with build metadata is tagged with `_` for `+`.
    let build = pack_fixture(
        "ocichart",
        &[
            (REGISTRY_PLACEHOLDER, &host),
            ("version: 0.1.0", "version: 0.2.0+build.7"),
        ],
    )
    .unwrap();
    let pushed = push_oci_chart(&registry, "charts/ocichart", &build)
        .await
        .unwrap();
    assert_eq!(pushed.tag, "0.2.0_build.7");
    let mut tags = registry.tags("charts/ocichart").await.unwrap();
    tags.sort();
    assert_eq!(tags, ["0.1.0", "0.2.0_build.7"]);
}

#[tokio::test]
async fn chart_images_are_pushed_and_packed_with_the_real_digest() {
    use crate::charts::{DIGEST_PLACEHOLDER, expectation, expectations, push_chart_images};

    let registry = Registry::start(RegistryOptions::default()).await.unwrap();
    let charts = expectations();
    let pushed = push_chart_images(&registry, &charts).await.unwrap();
    assert_eq!(pushed.host, registry.host());
    assert!(pushed.digest.starts_with("sha256:"));
    assert_ne!(pushed.digest, DIGEST_PLACEHOLDER);
    // Deterministic: the same digest without a registry.
    let sidecar = format!("webapp/sidecar@{DIGEST_PLACEHOLDER}");
    let built = fixture::build_image(&crate::charts::chart_image_spec(&sidecar)).unwrap();
    assert_eq!(built.manifest_digest, pushed.digest);

    for chart in &charts {
        for rel in chart.all_references() {
            let full = pushed.reference(&rel);
            let (repo, reference) = match full.split_once('@') {
                Some((repo, digest)) => (repo.to_string(), digest.to_string()),
                None => match full.rsplit_once(':') {
                    Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
                    _ => (full.clone(), "latest".to_string()),
                },
            };
            let repo = repo.strip_prefix(&format!("{}/", registry.host())).unwrap();
            let digest = registry.digest(repo, &reference).await.unwrap();
            assert_eq!(
                digest.as_deref(),
                Some(pushed.image(&rel).unwrap().manifest_digest.as_str()),
                "{full}"
            );
        }
    }
    let webapp = expectation("webapp-1.2.0").unwrap();
    let refs = pushed.references(&webapp.images);
    assert!(refs.contains(&format!(
        "{}/webapp/sidecar@{}",
        registry.host(),
        pushed.digest
    )));
    assert!(refs.contains(&format!("{}/webapp/server:1.2.0", registry.host())));

    let tgz = pushed.pack("webapp-1.2.0").unwrap();
    let values = chart_members(&tgz)
        .into_iter()
        .find(|m| m.path == "webapp/values.yaml")
        .unwrap()
        .text();
    assert!(values.contains(&format!("digest: {}\n", pushed.digest)));
    assert!(values.contains(&format!("registry: {}\n", registry.host())));
}
