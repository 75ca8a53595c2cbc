//! What publish leaves for the cluster: `mapping.txt` and the cluster
//! resources are written before the sequence is recorded in the mirror, so a
//! run stopped between the two leaves nothing that a rerun will not finish;
//! outputs lost after a publish come back when it is run again; and the
//! publishers the imageset's configuration names run on publish as on
//! mirror to mirror.

use oc_mirror_tests::faults::{Action, Fault, FaultProxy};

use crate::hostile_plugins::fixtures;
use crate::support::*;

/// An ImageSetConfiguration of `refs` on `host` plus the `image-list`
/// publisher (written next to it), titled `title`.
fn isc_with_publisher(ctx: &Ctx, host: &str, refs: &[String], title: &str) -> String {
    let wasm = ctx.path("image-list.wasm");
    std::fs::write(&wasm, fixtures::IMAGE_LIST).expect("write plugin");
    let yaml = format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nplugins:\n  - path: {}\n    config: {{title: {title}}}\nmirror:\n{}",
        wasm.display(),
        oc_mirror_tests::isc::additional_images(host, refs)
    );
    let path = ctx.path("isc.yaml");
    std::fs::write(&path, yaml).expect("write isc");
    path.display().to_string()
}

// The fault front runs on the test's runtime while the binary runs: it needs
// threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_stopped_before_recording_finishes_on_rerun() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let connected = Ctx::new();
    let isc = connected.isc(&additional_images(&src.host(), &all_references(&world)));
    let out = connected.path("out");
    connected.create(&isc, &out, &[]).assert_ok();
    let usb = connected.path("usb");
    carry(&out, &usb, 1);

    // The mirror refuses the metadata record: publish stops after the images
    // and the outputs, before the sequence is recorded.
    let front = FaultProxy::start(
        &mirror.host(),
        vec![Fault {
            method: "PUT".into(),
            path_contains: "/oc-mirror/manifests/".into(),
            action: Action::Status(500),
            times: usize::MAX,
        }],
    )
    .await
    .expect("fault front");
    let disconnected = Ctx::new();
    let from = format!("file://{}", usb.display());
    let through_front = format!("docker://{}/pub", front.host());
    let stopped = disconnected.run(&[
        "--from",
        &from,
        &through_front,
        "--dest-tls-verify=false",
        "--retry-times",
        "0",
    ]);
    stopped.assert_failed(1).stderr_has("metadata");
    let resources = usb.join("working-dir/cluster-resources");
    assert!(
        resources.join("itms-oc-mirror.yaml").exists(),
        "cluster resources are written before the sequence is recorded:\n{}",
        stopped.stderr
    );
    assert!(
        !mirror
            .tags("pub/oc-mirror")
            .await
            .unwrap_or_default()
            .contains(&"metadata".to_string()),
        "the sequence must not be recorded"
    );
    std::fs::remove_dir_all(&resources).unwrap();
    drop(front);

    // Run again: the sequence is published (nothing new to push) and recorded.
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stdout_has("Published sequence 1");
    assert!(resources.join("itms-oc-mirror.yaml").exists());
    assert!(
        mirror
            .tags("pub/oc-mirror")
            .await
            .unwrap()
            .contains(&"metadata".to_string())
    );

    // Outputs lost after the sequence is recorded come back on a rerun.
    std::fs::remove_dir_all(&resources).unwrap();
    std::fs::remove_file(usb.join("working-dir/mapping.txt")).unwrap();
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stdout_has("already in")
        .stdout_has("cluster resources:");
    let itms = std::fs::read_to_string(resources.join("itms-oc-mirror.yaml")).unwrap();
    assert!(itms.contains(&format!("{}/pub", mirror.host())), "{itms}");
    let mapping = std::fs::read_to_string(usb.join("working-dir/mapping.txt")).unwrap();
    assert_eq!(
        mapping.lines().count(),
        all_references(&world).len(),
        "{mapping}"
    );
}

#[tokio::test]
async fn configured_publishers_run_on_publish_and_on_mirror_to_mirror() {
    let (src, world) = source_with_standard_world().await;
    let host = src.host();
    let images = all_references(&world);

    // Create, carry, publish: the publisher named in the imageset's
    // configuration runs on the disconnected side.
    let mirror = plain_registry().await;
    let connected = Ctx::new();
    let isc = isc_with_publisher(&connected, &host, &images, "carried");
    let out = connected.path("out");
    connected.create(&isc, &out, &[]).assert_ok();
    let usb = connected.path("usb");
    carry(&out, &usb, 1);
    let disconnected = Ctx::new();
    let wasm = connected.path("image-list.wasm");
    let listing = usb.join("working-dir/cluster-resources/image-list/images.txt");
    // Not on this side: passed over, said so, and everything else published.
    std::fs::rename(&wasm, connected.path("elsewhere.wasm")).unwrap();
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stderr_has("is not run on publish")
        .stdout_has("Published sequence 1");
    assert!(!listing.exists());
    assert!(
        usb.join("working-dir/cluster-resources/itms-oc-mirror.yaml")
            .exists()
    );
    // Made available: publishing again (nothing left to push) runs it.
    std::fs::rename(connected.path("elsewhere.wasm"), &wasm).unwrap();
    disconnected
        .publish(&usb, &mirror, "pub", &[])
        .assert_ok()
        .stdout_has("already in");
    let listed =
        std::fs::read_to_string(&listing).expect("the configured publisher wrote its file");
    assert!(
        listed.starts_with(&format!("# carried ({}/pub)\n", mirror.host())),
        "{listed}"
    );
    let plain = world.get(oc_mirror_tests::world::names::OCI_PLAIN).unwrap();
    assert!(
        listed.contains(&format!(" {}\n", plain.digest)),
        "every image is listed with its digest:\n{listed}"
    );
    assert_eq!(listed.lines().count() - 1, all_references(&world).len());

    // Mirror to mirror runs it too.
    let mirror2 = plain_registry().await;
    let m2m = Ctx::new();
    let isc = isc_with_publisher(&m2m, &host, &images, "direct");
    m2m.mirror(&isc, &mirror2, "m", &[]).assert_ok();
    let listed = std::fs::read_to_string(
        m2m.working_dir()
            .join("cluster-resources/image-list/images.txt"),
    )
    .expect("the configured publisher wrote its file");
    assert!(
        listed.starts_with(&format!("# direct ({}/m)\n", mirror2.host())),
        "{listed}"
    );
}

/// An artifact a content source assembles from blobs it wrote (contract
/// 0.3.0) lands in the mirror as an OCI artifact, and its file is placed in
/// the working directory where it is mirrored: mirror to mirror, and across
/// the gap on publish (the disconnected side never saw the plugin run).
#[tokio::test]
async fn artifacts_land_in_the_mirror_and_their_files_where_they_are_published() {
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let wasm = ctx.path("layer-writer.wasm");
    std::fs::write(&wasm, fixtures::LAYER_WRITER).expect("write plugin");
    let isc = ctx.path("isc.yaml");
    std::fs::write(
        &isc,
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nplugins:\n  - path: {}\n    config: {{mode: artifact, file: helm/charts/hello-1.0.tgz}}\nmirror: {{}}\n",
            wasm.display()
        ),
    )
    .unwrap();
    let isc = isc.display().to_string();
    let check = |working_dir: &std::path::Path| {
        assert_eq!(
            std::fs::read(working_dir.join("helm/charts/hello-1.0.tgz")).unwrap(),
            b"hello"
        );
    };
    ctx.mirror(&isc, &mirror, "m2m", &[])
        .assert_ok()
        .stdout_has("helm/charts/hello-1.0.tgz");
    check(&ctx.working_dir());
    let (_, media_type, bytes) = mirror
        .client()
        .manifest("m2m/charts/hello", "1.0")
        .await
        .unwrap()
        .expect("the artifact is in the mirror");
    assert_eq!(media_type, "application/vnd.oci.image.manifest.v1+json");
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.example.config.v1+json"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "hello"
    );

    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let usb = ctx.path("usb");
    carry(&out, &usb, 1);
    let disconnected = Ctx::new();
    disconnected.publish(&usb, &mirror, "d2m", &[]).assert_ok();
    check(&usb.join("working-dir"));
    assert!(
        digest_at(&mirror, "d2m/charts/hello", "1.0")
            .await
            .is_some()
    );
}
