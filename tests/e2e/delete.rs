//! Delete and prune of additional images, on real registries with delete
//! enabled (and one without): what goes, what stays and why, a delete
//! generated on one side and carried out on the other, resumed, recorded.
//! After every delete, every image the mirror should still hold resolves
//! completely: its manifest, each child manifest, each blob.

use std::path::Path;

use oc_mirror_tests::world::names;
use oc_mirror_tests::{PushedWorld, Registry, RegistryOptions};

use crate::support::*;

/// `additionalImages:` naming the world entries `which` on `src`.
fn additional(src: &Registry, world: &PushedWorld, which: &[&str]) -> String {
    let refs: Vec<String> = which
        .iter()
        .map(|n| world.get(n).unwrap().reference())
        .collect();
    oc_mirror_tests::isc::additional_images(&src.host(), &refs)
}

/// A DeleteImageSetConfiguration with this `delete:` body (indented for
/// [`oc_mirror_tests::isc::image_set_config`]); returns its path.
pub fn delete_config(ctx: &Ctx, body: &str) -> String {
    let path = ctx.path("delete-isc.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: DeleteImageSetConfiguration\ndelete:\n{body}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The image `repo:tag` (or `repo@digest`) resolves completely in `reg`:
/// its manifest, every child manifest, every blob they name.
pub async fn assert_resolves(reg: &Registry, repo: &str, reference: &str) {
    let (_, _, bytes) = reg
        .manifest(repo, reference)
        .await
        .unwrap_or_else(|e| panic!("{repo}:{reference}: {e:#}"))
        .unwrap_or_else(|| panic!("{repo}:{reference} is missing"));
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut manifests = vec![doc];
    if let Some(children) = manifests[0]["manifests"].as_array().cloned() {
        for child in children {
            let digest = child["digest"].as_str().unwrap();
            let (_, _, bytes) = reg
                .manifest(repo, digest)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{repo}@{digest}, a child of {reference}, is missing"));
            manifests.push(serde_json::from_slice(&bytes).unwrap());
        }
    }
    for m in &manifests {
        let blobs = m["config"]["digest"].as_str().into_iter().chain(
            m["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["digest"].as_str()),
        );
        for b in blobs {
            assert!(
                reg.blob_exists(repo, b).await.unwrap(),
                "{repo}:{reference} lacks blob {b}"
            );
        }
    }
}

/// `oc-mirror delete` with `args`, against `mirror/prefix`.
fn delete(ctx: &Ctx, mirror: &Registry, prefix: &str, args: &[&str]) -> Run {
    let dest = format!("docker://{}/{prefix}", mirror.host());
    let mut all = vec![
        "delete",
        "--dest-tls-verify=false",
        "--src-tls-verify=false",
    ];
    all.extend_from_slice(args);
    all.push(&dest);
    ctx.run(&all)
}

/// Two sequences published, the second no longer selecting two images; a
/// delete generated from the workspace, carried, tried dry, interrupted,
/// carried out and run again; then a later imageset asking for a deleted
/// image again carries its layers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_generated_here_is_carried_out_there() {
    let (src, world) = source_with_standard_world().await;
    let mirror = plain_registry().await;
    let child = world.get(names::OCI_INDEX).unwrap().children()[0]
        .manifest_digest
        .clone();
    let index_repo = world.get(names::OCI_INDEX).unwrap().repo.clone();
    let child_ref = format!("{}/{index_repo}@{child}", src.host());
    let ctx = Ctx::new();
    let out = ctx.path("out");
    let carried = ctx.path("carried");
    let disconnected = Ctx::new();

    // Sequence 1: five images, one a platform manifest of an index also mirrored.
    let mut body = additional(
        &src,
        &world,
        &[
            names::OCI_PLAIN,
            names::DOCKER_SHARED,
            names::OCI_SHARED,
            names::OCI_INDEX,
        ],
    );
    body.push_str(&format!("    - name: {child_ref}\n"));
    let isc = ctx.isc(&body);
    ctx.create(&isc, &out, &[]).assert_ok();
    carry(&out, &carried, 1);
    disconnected
        .publish(&carried, &mirror, "m", &[])
        .assert_ok();

    // Sequence 2 no longer selects plain-oci, shared-docker and the child.
    let isc = ctx.isc(&additional(
        &src,
        &world,
        &[names::OCI_SHARED, names::OCI_INDEX],
    ));
    ctx.create(&isc, &out, &[])
        .assert_ok()
        .stdout_has("3 images earlier sequences brought are no longer configured");
    carry(&out, &carried, 2);
    // The plan names them too.
    let ws = format!("file://{}", out.display());
    let plan = ctx
        .run(&[
            "plan",
            "-c",
            &isc,
            "--workspace",
            &ws,
            "--src-tls-verify=false",
        ])
        .assert_ok()
        .stdout_has("No longer configured: 3 images")
        .stdout
        .clone();
    let plain = world.get(names::OCI_PLAIN).unwrap();
    assert!(plan.contains(&format!("  {}:2.1\n", plain.repo)), "{plan}");
    disconnected
        .publish(&carried, &mirror, "m", &[])
        .assert_ok()
        .stdout_has(
            "3 images in the mirror are no longer configured (kept; `--prune` deletes them)",
        );
    let plain = world.get(names::OCI_PLAIN).unwrap();
    let shared_docker = world.get(names::DOCKER_SHARED).unwrap();
    assert_resolves(&mirror, &format!("m/{}", plain.repo), "2.1").await;

    // Generate: shared-oci is still selected and stays.
    let disc = delete_config(
        &ctx,
        &format!(
            "{}    - name: {child_ref}\n",
            additional(
                &src,
                &world,
                &[names::OCI_PLAIN, names::DOCKER_SHARED, names::OCI_SHARED]
            )
        ),
    );
    let ws = format!("file://{}", out.display());
    delete(
        &ctx,
        &mirror,
        "m",
        &["--generate", "-c", &disc, "--workspace", &ws],
    )
    .assert_ok()
    .stdout_has("3 images to delete, 1 kept")
    .stdout_has("recorded as sequence 3");
    let file = out.join("working-dir/delete/delete-images.yaml");
    let list: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(list["kind"], "DeleteImageList");
    assert_eq!(list["apiVersion"], "mirror.openshift.io/v2alpha1");
    let items = list["items"].as_array().unwrap();
    let references: Vec<&str> = items
        .iter()
        .map(|i| i["imageReference"].as_str().unwrap())
        .collect();
    let m = format!("docker://{}/m", mirror.host());
    assert!(
        references.contains(&format!("{m}/{}:2.1", plain.repo).as_str()),
        "{references:?}"
    );
    assert!(items.iter().all(|i| i["type"] == "generic"));
    assert!(
        list["kept"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("still selects it"),
        "{list}"
    );
    assert!(
        out.join("working-dir/delete/delete-imageset-config.yaml")
            .exists()
    );

    // Carried across; a dry run deletes nothing.
    let carried_file = disconnected.path("delete-images.yaml");
    std::fs::copy(&file, &carried_file).unwrap();
    let carried_file = carried_file.display().to_string();
    delete(
        &disconnected,
        &mirror,
        "m",
        &["--delete-yaml-file", &carried_file, "--dry-run"],
    )
    .assert_ok()
    .stdout_has("would be deleted");
    assert_resolves(&mirror, &format!("m/{}", plain.repo), "2.1").await;

    // A list from another workspace is refused before anything goes.
    let foreign = disconnected.path("foreign.yaml");
    let uuid = list["workspace"].as_str().unwrap();
    std::fs::write(
        &foreign,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace(uuid, "00000000-0000-4000-8000-000000000000"),
    )
    .unwrap();
    delete(
        &disconnected,
        &mirror,
        "m",
        &["--delete-yaml-file", &foreign.display().to_string()],
    )
    .assert_failed(1)
    .stderr_has("belongs to workspace");
    assert_resolves(&mirror, &format!("m/{}", plain.repo), "2.1").await;

    // Interrupted after the first image: its manifest is gone already.
    let http = reqwest::Client::new();
    let gone = http
        .delete(format!(
            "{}/v2/m/{}/manifests/{}",
            mirror.url(),
            plain.repo,
            plain.digest
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 202);
    delete(
        &disconnected,
        &mirror,
        "m",
        &[
            "--delete-yaml-file",
            &carried_file,
            "--force-cache-delete",
            "--workspace",
            &format!("file://{}", carried.display()),
        ],
    )
    .assert_ok()
    .stdout_has("1 already gone")
    .stdout_has("recorded in the mirror as sequence 3")
    .stdout_has("blobs removed from the workspace cache");
    // The disconnected side's cache lost what only the deleted images used.
    let cached = |digest: &str| {
        carried
            .join("working-dir/cache/blobs-v1/sha256")
            .join(&digest["sha256:".len()..])
            .exists()
    };
    let shared_oci = world.get(names::OCI_SHARED).unwrap();
    let index = world.get(names::OCI_INDEX).unwrap();
    for b in shared_docker.blobs().keys() {
        let still_needed = shared_oci.blobs().contains_key(b) || index.blobs().contains_key(b);
        assert_eq!(
            cached(b),
            still_needed,
            "blob {b} of the deleted shared-docker"
        );
    }
    assert_eq!(
        digest_at(&mirror, &format!("m/{}", shared_docker.repo), "1.0").await,
        None
    );
    assert_eq!(
        digest_at(&mirror, &format!("m/{}", plain.repo), "2.1").await,
        None
    );
    // What stays resolves completely, the shared base layers and the child
    // of the index that stays included.
    assert_resolves(&mirror, &format!("m/{}", shared_oci.repo), "1.0").await;
    assert_resolves(&mirror, &format!("m/{index_repo}"), "latest").await;
    assert_resolves(&mirror, &format!("m/{index_repo}"), &child).await;

    // Run again: nothing left to do, and said so.
    delete(
        &disconnected,
        &mirror,
        "m",
        &["--delete-yaml-file", &carried_file],
    )
    .assert_ok()
    .stdout_has("already recorded this delete");

    // Sequence 4 asks for plain-oci again: its layers travel again, and it
    // lands whole.
    let isc = ctx.isc(&additional(
        &src,
        &world,
        &[names::OCI_PLAIN, names::OCI_SHARED, names::OCI_INDEX],
    ));
    ctx.create(&isc, &out, &[]).assert_ok();
    let seq4 = carry(&out, &carried, 4);
    let blobs = archive_blobs(&seq4);
    for b in plain.blobs().keys() {
        assert!(blobs.contains_key(b), "sequence 4 does not carry {b} again");
    }
    disconnected
        .publish(&carried, &mirror, "m", &[])
        .assert_ok();
    assert_resolves(&mirror, &format!("m/{}", plain.repo), "2.1").await;
}

/// Mirror to mirror with `--prune`: a registry that refuses DELETE gets one
/// clear message; once delete is enabled, the same run prunes what the
/// configuration dropped and keeps what it shares blobs with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_on_mirror_to_mirror_and_a_registry_without_delete() {
    let (src, world) = source_with_standard_world().await;
    let mut mirror = Registry::start(RegistryOptions {
        no_delete: true,
        ..RegistryOptions::default()
    })
    .await
    .unwrap();
    let ctx = Ctx::new();
    let both = ctx.isc(&additional(
        &src,
        &world,
        &[names::DOCKER_SHARED, names::OCI_SHARED],
    ));
    ctx.mirror(&both, &mirror, "m", &[]).assert_ok();
    let one = ctx.isc(&additional(&src, &world, &[names::OCI_SHARED]));
    ctx.mirror(&one, &mirror, "m", &["--prune"])
        .assert_failed(1)
        .stderr_has("storage.delete.enabled");
    let docker = world.get(names::DOCKER_SHARED).unwrap();
    let oci = world.get(names::OCI_SHARED).unwrap();
    assert_resolves(&mirror, &format!("m/{}", docker.repo), "1.0").await;

    mirror.restart(RegistryOptions::default()).await.unwrap();
    ctx.mirror(&one, &mirror, "m", &["--prune"])
        .assert_ok()
        .stdout_has("pruned (1 images no longer configured)")
        .stdout_has("1 deleted");
    assert_eq!(
        digest_at(&mirror, &format!("m/{}", docker.repo), "1.0").await,
        None
    );
    assert_resolves(&mirror, &format!("m/{}", oci.repo), "1.0").await;
    assert!(Path::new(&ctx.working_dir().join("metadata")).is_dir());
}
