use std::collections::BTreeSet;
use std::path::Path;

use oc_mirror_tests::world::{PushedArtifact, names};
use oc_mirror_tests::{
    Format, ImageSpec, LayerSpec, PushedWorld, Registry, RegistryOptions, push_image,
};

use crate::support::*;

/// Manifest and config digests of the world: what every imageset carries.
fn manifests_and_configs(world: &PushedWorld) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in &world.entries {
        out.extend(e.manifest_digests());
        match &e.pushed {
            PushedArtifact::Image(i) => {
                out.insert(i.config_digest.clone());
            }
            PushedArtifact::Index(ix) => {
                out.extend(ix.images.iter().map(|i| i.config_digest.clone()))
            }
        }
    }
    out
}

/// Full create, carried across, published: the mirror has everything, and
/// records which sequence it holds; the untarred imageset is a layout skopeo reads.
#[tokio::test]
async fn full_create_then_publish() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let connected = Ctx::new();
    let isc = connected.isc(&additional_images(&src.host(), &all_references(&world)));
    let out = connected.path("out");
    connected
        .create(&isc, &out, &[])
        .assert_ok()
        .stdout_has("Created imageset sequence 1");
    let parts = carry(&out, &connected.path("usb"), 1);
    assert_eq!(parts.len(), 1);
    let head: Vec<String> = tar_entries(&parts[0])
        .into_iter()
        .take(3)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        head,
        ["oci-layout", "index.json", "oc-mirror/metadata.json"]
    );

    let disconnected = Ctx::new();
    let usb = connected.path("usb");
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stdout_has("Published sequence 1");
    assert_world_mirrored(&mirror, "pub", &world).await;
    assert!(
        mirror
            .tags("pub/oc-mirror")
            .await
            .unwrap()
            .contains(&"metadata".to_string()),
        "the mirror records its sequence"
    );
    assert!(
        usb.join("working-dir/cluster-resources/itms-oc-mirror.yaml")
            .exists()
    );

    // Standard tools read the imageset.
    let layout = connected.path("layout");
    std::fs::create_dir_all(&layout).unwrap();
    let untar = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&parts[0])
        .arg("-C")
        .arg(&layout)
        .status()
        .unwrap();
    assert!(untar.success());
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let out = oc_mirror_tests::tools::skopeo(&[
        "inspect",
        "--raw",
        &format!("oci:{}:{}:2.1", layout.display(), plain.repo),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, plain.manifest_bytes());

    // Publishing the same imageset again changes nothing, and says so.
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stdout_has("already in");
}

/// The second imageset carries only the layers no earlier one carried; published
/// onto the same mirror, every image is there.
#[tokio::test]
async fn diff_carries_only_new_layers() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let isc = ctx.isc(&additional_images(&src.host(), &refs));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let usb = ctx.path("usb");
    carry(&out, &usb, 1);
    let far = Ctx::new();
    far.publish(&usb, &mirror, "d", &[]).assert_ok();

    // The source moves on: a retagged image with a new top layer, and a new
    // image on the shared base layers.
    let changed = ImageSpec::new(
        "fixtures/plain-oci",
        Some("2.1"),
        Format::Oci,
        vec![
            LayerSpec {
                seed: 103,
                size: 20 << 10,
            },
            LayerSpec {
                seed: 9_103,
                size: 30 << 10,
            },
        ],
    );
    let added = ImageSpec::new(
        "fixtures/shared-docker",
        Some("2.0"),
        Format::Docker,
        vec![
            LayerSpec {
                seed: 1,
                size: 48 << 10,
            },
            LayerSpec {
                seed: 2,
                size: 24 << 10,
            },
            LayerSpec {
                seed: 9_101,
                size: 40 << 10,
            },
        ],
    );
    let changed = push_image(&src, &changed).await.unwrap();
    let added = push_image(&src, &added).await.unwrap();
    let mut refs2 = refs.clone();
    refs2.push("fixtures/shared-docker:2.0".to_string());
    let isc2 = ctx.isc(&additional_images(&src.host(), &refs2));
    ctx.create(&isc2, &out, &[])
        .assert_ok()
        .stdout_has("Created imageset sequence 2")
        .stdout_has("new layers: 2");
    let parts = carry(&out, &usb, 2);

    let new_layers: BTreeSet<String> = [
        changed.blob_digests.last().unwrap().clone(),
        added.blob_digests.last().unwrap().clone(),
    ]
    .into();
    let mut expected_small = manifests_and_configs(&world);
    expected_small.extend([
        changed.manifest_digest.clone(),
        changed.config_digest.clone(),
        added.manifest_digest.clone(),
        added.config_digest.clone(),
    ]);
    let blobs = archive_blobs(&parts);
    let layers: BTreeSet<String> = blobs
        .keys()
        .filter(|d| !expected_small.contains(*d))
        .cloned()
        .collect();
    assert_eq!(
        layers, new_layers,
        "the diff must carry exactly the new layers"
    );
    let layer_bytes: u64 = blobs
        .iter()
        .filter(|(d, _)| new_layers.contains(*d))
        .map(|(_, s)| s)
        .sum();
    let minimum: u64 = [&changed, &added]
        .iter()
        .map(|i| *i.blob_sizes.last().unwrap())
        .sum();
    assert_eq!(layer_bytes, minimum);

    far.publish(&usb, &mirror, "d", &[])
        .assert_ok()
        .stdout_has("Sequence 1 is already in")
        .stdout_has("Published sequence 2");
    assert_eq!(
        digest_at(&mirror, "d/fixtures/plain-oci", "2.1")
            .await
            .as_deref(),
        Some(changed.manifest_digest.as_str())
    );
    assert_eq!(
        digest_at(&mirror, "d/fixtures/shared-docker", "2.0")
            .await
            .as_deref(),
        Some(added.manifest_digest.as_str())
    );
    assert_eq!(
        digest_at(&mirror, "d/fixtures/shared-docker", "1.0")
            .await
            .as_deref(),
        Some(world.get(names::DOCKER_SHARED).unwrap().digest.as_str())
    );

    // Nothing changed since: the next imageset carries no layers.
    ctx.create(&isc2, &out, &[])
        .assert_ok()
        .stdout_has("no new layers since sequence 2");
}

/// Same sources, same UUID, same SOURCE_DATE_EPOCH: byte-identical parts.
#[tokio::test]
async fn two_creates_are_byte_identical() {
    let (src, world) = source_with_standard_world().await;
    let a = Ctx::new();
    let isc = a.isc(&additional_images(&src.host(), &all_references(&world)));
    a.create(&isc, &a.path("out"), &["--archive-size-bytes", "100000"])
        .assert_ok();
    let b = Ctx::new();
    std::fs::create_dir_all(b.path("out/working-dir")).unwrap();
    std::fs::copy(
        a.path("out/working-dir/workspace.json"),
        b.path("out/working-dir/workspace.json"),
    )
    .unwrap();
    b.create(&isc, &b.path("out"), &["--archive-size-bytes", "100000"])
        .assert_ok();
    let pa = carry(&a.path("out"), &a.path("x"), 1);
    let pb = carry(&b.path("out"), &b.path("x"), 1);
    assert!(pa.len() > 1, "a small archive size splits the imageset");
    assert_eq!(pa.len(), pb.len());
    for (x, y) in pa.iter().zip(&pb) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
}

/// What publish refuses, each with its message, pushing nothing.
#[tokio::test]
async fn publish_refuses_what_does_not_fit() {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    ctx.create(&isc, &out, &[])
        .assert_ok()
        .stdout_has("sequence 2");

    // Sequence 2 alone on an empty mirror: 1 is missing.
    let mirror = plain_registry().await;
    let only2 = ctx.path("only2");
    carry(&out, &only2, 2);
    ctx.publish(&only2, &mirror, "r", &[])
        .assert_failed(1)
        .stderr_has("the mirror last received sequence 0");
    assert!(mirror.catalog().await.unwrap().is_empty());

    // Another workspace's imageset onto a mirror fed by this one.
    let s1 = ctx.path("s1");
    carry(&out, &s1, 1);
    ctx.publish(&s1, &mirror, "r", &[]).assert_ok();
    let other = Ctx::new();
    let isc_other = other.isc(&additional_images(&src.host(), &[plain.reference()]));
    other
        .create(&isc_other, &other.path("out"), &[])
        .assert_ok();
    let foreign = other.path("foreign");
    carry(&other.path("out"), &foreign, 1);
    let run = ctx.publish(&foreign, &mirror, "r", &[]);
    run.assert_failed(1);
    assert!(run.stderr.to_lowercase().contains("uuid"), "{}", run.stderr);
}

/// A damaged archive (missing part, cut part, flipped byte) is refused naming
/// what is wrong, and nothing is pushed.
#[tokio::test]
async fn damaged_archives_are_refused() {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&src.host(), &all_references(&world)));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &["--archive-size-bytes", "60000"])
        .assert_ok();
    let parts = carry(&out, &ctx.path("ref"), 1);
    assert!(parts.len() >= 3, "want several parts, got {}", parts.len());

    let damaged = |name: &str| {
        let d = ctx.path(name);
        carry(&out, &d, 1);
        d
    };
    let mirror = plain_registry().await;

    let missing = damaged("missing");
    let middle = parts[1].file_name().unwrap().to_str().unwrap().to_string();
    std::fs::remove_file(missing.join(&middle)).unwrap();
    ctx.publish(&missing, &mirror, "x", &[])
        .assert_failed(1)
        .stderr_has(&middle);

    let last = parts
        .last()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let missing_last = damaged("missing-last");
    std::fs::remove_file(missing_last.join(&last)).unwrap();
    ctx.publish(&missing_last, &mirror, "x", &[])
        .assert_failed(1)
        .stderr_has(&last);

    let cut = damaged("cut");
    let f = cut.join(&last);
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    ctx.publish(&cut, &mirror, "x", &[])
        .assert_failed(1)
        .stderr_has(&last);

    let flipped = damaged("flipped");
    let f = flipped.join(&middle);
    let mut bytes = std::fs::read(&f).unwrap();
    // Past the first header, inside the first entry's data.
    bytes[512 + 100] ^= 0xff;
    std::fs::write(&f, bytes).unwrap();
    let run = ctx.publish(&flipped, &mirror, "x", &[]);
    run.assert_failed(1);
    assert!(
        run.stderr.contains("sha256:"),
        "the message names the blob: {}",
        run.stderr
    );

    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "nothing may be pushed from a damaged imageset"
    );
}

/// Metadata kept in a registry (`storageConfig.registry`): the second create
/// continues the sequence from what the registry holds.
#[tokio::test]
async fn registry_backend_round_trip() {
    let (src, world) = source_with_standard_world().await;
    let meta = plain_registry().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let body = format!(
        "{}storageConfig:\n  registry:\n    imageURL: {}/oc-mirror/metadata:latest\n    skipTLS: true\n",
        "",
        meta.host()
    );
    let path = ctx.path("isc.yaml");
    std::fs::write(&path, format!("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n{body}mirror:\n{}", additional_images(&src.host(), &[plain.reference()]))).unwrap();
    let isc = path.display().to_string();
    ctx.create(&isc, &ctx.path("out"), &["--dest-tls-verify=false"])
        .assert_ok()
        .stdout_has("sequence 1");
    // A fresh directory on the connected side: the registry still knows sequence 1.
    let again = Ctx::new();
    std::fs::write(again.path("isc.yaml"), std::fs::read(&path).unwrap()).unwrap();
    again
        .create(
            &again.path("isc.yaml").display().to_string(),
            &again.path("out"),
            &["--dest-tls-verify=false"],
        )
        .assert_ok()
        .stdout_has("sequence 2");
    assert!(
        meta.tags("oc-mirror/metadata")
            .await
            .unwrap()
            .contains(&"latest".to_string())
    );
}

/// A publish interrupted by a refusing mirror, run again, completes.
#[tokio::test]
async fn interrupted_publish_resumes() {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&src.host(), &all_references(&world)));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let usb = ctx.path("usb");
    carry(&out, &usb, 1);
    let mut mirror = Registry::start(RegistryOptions {
        read_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let far = Ctx::new();
    far.publish(&usb, &mirror, "i", &["--retry-times", "0"])
        .assert_failed(8)
        .stderr_has("not recorded");
    mirror.restart(RegistryOptions::default()).await.unwrap();
    far.publish(&usb, &mirror, "i", &[])
        .assert_ok()
        .stdout_has("Published sequence 1");
    assert_world_mirrored(&mirror, "i", &world).await;
    let _ = Path::new(".");
}

/// `describe` tells what an imageset holds without reading all of it.
#[tokio::test]
async fn describe_prints_the_metadata() {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let uuid: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("working-dir/workspace.json")).unwrap())
            .unwrap();
    let part = out.join("mirror_seq1_000000.tar");
    ctx.run(&["describe", part.to_str().unwrap()])
        .assert_ok()
        .stdout_has(&format!(
            "sequence 1 of workspace {}",
            uuid["uuid"].as_str().unwrap()
        ))
        .stdout_has("parent:    none")
        .stdout_has(&format!(
            "{}/{} → {}:2.1  {}",
            src.host(),
            plain.reference(),
            plain.repo,
            plain.digest
        ));
    ctx.run(&["describe", "/nonexistent/mirror_seq1_000000.tar"])
        .assert_failed(1);
}

/// A lost imageset is replaced by one made against the sequence the mirror
/// has: the mirror accepts it and ends up complete.
#[tokio::test]
async fn lost_imageset_is_replaced_with_since_sequence() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let refs = all_references(&world);
    let docker = world.get(names::DOCKER_SHARED).unwrap();
    let isc1 = ctx.isc(&additional_images(&src.host(), &[docker.reference()]));
    let out = ctx.path("out");
    ctx.create(&isc1, &out, &[]).assert_ok();
    let usb1 = ctx.path("usb1");
    carry(&out, &usb1, 1);
    ctx.publish(&usb1, &mirror, "l", &[]).assert_ok();

    let isc2 = ctx.isc(&additional_images(&src.host(), &refs));
    ctx.create(&isc2, &out, &[])
        .assert_ok()
        .stdout_has("sequence 2");
    // Sequence 2 never arrives. Build sequence 3 against 1 instead.
    ctx.create(&isc2, &out, &["--since-sequence", "1"])
        .assert_ok()
        .stdout_has("sequence 3")
        .stdout_has("against sequence 1");
    let usb3 = ctx.path("usb3");
    carry(&out, &usb3, 3);
    ctx.publish(&usb3, &mirror, "l", &[])
        .assert_ok()
        .stdout_has("Published sequence 3");
    assert_world_mirrored(&mirror, "l", &world).await;
}

/// `--since DATE` builds against the newest sequence recorded before that date,
/// or makes a full imageset when there is none.
#[tokio::test]
async fn since_date_picks_the_baseline() {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let isc = ctx.isc(&additional_images(&src.host(), &[plain.reference()]));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let layers = plain.blobs().len() - 1;
    ctx.create(&isc, &out, &["--since", "2999-01-01"])
        .assert_ok()
        .stdout_has("sequence 2")
        .stdout_has("against sequence 1")
        .stdout_has("new layers: 0");
    let full = ctx.create(&isc, &out, &["--since", "2000-01-01"]);
    full.assert_ok()
        .stdout_has("sequence 3")
        .stdout_has(&format!("new layers: {layers}"));
    assert!(!full.stdout.contains("against sequence"), "{}", full.stdout);
    ctx.create(&isc, &out, &["--since", "2025-02-30"])
        .assert_failed(2);
}
