//! Operator catalogs: filtered as oc-mirror filters them, rebuilt, and the
//! kept bundles' images mirrored; everything read back out of the mirror
//! with the test library's own client and FBC reader.

use std::collections::{BTreeMap, BTreeSet};

use oc_mirror_tests::Registry;
use oc_mirror_tests::catalog::{
    self, Catalog, CatalogImage, ImageRef, PushedCatalog, entry, package, read_catalog,
};
use serde_json::{Value, json};

use crate::support::*;

/// `mirror.operators` with one catalog and `body` (indented to sit under the
/// catalog entry, e.g. `      packages:\n        - name: foo\n`).
fn operators(catalog: &str, body: &str) -> String {
    format!("  operators:\n    - catalog: {catalog}\n{body}")
}

/// A `mirror.openshift.io/v1alpha2` configuration with this `mirror:` body.
fn v1alpha2(ctx: &Ctx, mirror_yaml: &str) -> String {
    let path = ctx.path("isc-v1.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: mirror.openshift.io/v1alpha2\nkind: ImageSetConfiguration\nmirror:\n{mirror_yaml}"),
    )
    .unwrap();
    path.display().to_string()
}

/// Pushes `catalog` as `repo:tag` (OCI, single platform) into `src`.
async fn push(src: &Registry, catalog: &Catalog, image: CatalogImage) -> PushedCatalog {
    catalog.push(src, &image).await.expect("push the catalog")
}

/// Bundle names of the objects, sorted.
fn bundles(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| o["schema"] == "olm.bundle")
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

/// The object of `schema` named `name` (of `package`, for channels).
fn object<'a>(objects: &'a [Value], schema: &str, package: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| {
        o["schema"] == schema
            && (o["name"] == name || name.is_empty())
            && (schema == "olm.package" || o["package"] == package)
    })
}

/// The entry names of a channel.
fn entries(objects: &[Value], package: &str, channel: &str) -> BTreeSet<String> {
    object(objects, "olm.channel", package, channel)
        .unwrap_or_else(|| panic!("channel {package}/{channel} missing"))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Per package, the bundles a selection keeps.
type Expected<'a> = &'a [(&'a str, &'a [&'a str])];

/// `oc-mirror plan -o json` of `isc`: per package of the first catalog, the
/// bundles kept (name → reason), and the catalog's plan.
fn plan_of(
    ctx: &Ctx,
    isc: &str,
    extra: &[&str],
) -> (BTreeMap<String, BTreeMap<String, String>>, Value) {
    let mut args = vec!["plan", "-c", isc, "-o", "json", "--src-tls-verify=false"];
    args.extend_from_slice(extra);
    let run = ctx.run(&args);
    run.assert_ok();
    let report: Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    let section = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "operators")
        .expect("an operators section")
        .clone();
    let catalog = section["plan"]["catalogs"][0].clone();
    let mut kept = BTreeMap::new();
    for p in catalog["packages"].as_array().unwrap() {
        let mut b = BTreeMap::new();
        for c in p["channels"].as_array().unwrap() {
            for x in c["bundles"].as_array().unwrap() {
                b.insert(
                    x["name"].as_str().unwrap().to_string(),
                    x["reason"].as_str().unwrap().to_string(),
                );
            }
        }
        kept.insert(p["name"].as_str().unwrap().to_string(), b);
    }
    (kept, catalog)
}

fn names(kept: &BTreeMap<String, BTreeMap<String, String>>) -> BTreeMap<String, BTreeSet<String>> {
    kept.iter()
        .map(|(p, b)| (p.clone(), b.keys().cloned().collect()))
        .collect()
}

/// The mirror holds `reference`'s image (as the catalog writes it) at its
/// source digest: by tag when the catalog names a tag, else under the
/// `sha256-<hex>` tag.
async fn assert_image_mirrored(
    mirror: &Registry,
    prefix: &str,
    pushed: &PushedCatalog,
    reference: &str,
) {
    let image = pushed
        .image(reference)
        .unwrap_or_else(|| panic!("{reference} is not a fixture image"));
    let tag = match reference.rsplit_once('@') {
        Some(_) => format!("sha256-{}", &image.digest[7..]),
        None => reference.rsplit_once(':').unwrap().1.to_string(),
    };
    assert_eq!(
        digest_at(mirror, &format!("{prefix}/{}", image.repo), &tag)
            .await
            .as_deref(),
        Some(image.digest.as_str()),
        "{reference} in the mirror"
    );
}

/// Every image reference of the kept bundles, as the source catalog writes them.
fn images_of(pushed: &PushedCatalog, kept: &BTreeSet<String>) -> BTreeSet<String> {
    pushed
        .objects_of("olm.bundle")
        .into_iter()
        .filter(|b| kept.contains(b["name"].as_str().unwrap()))
        .flat_map(|b| {
            let mut refs = vec![b["image"].as_str().unwrap().to_string()];
            refs.extend(
                b["relatedImages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["image"].as_str().unwrap().to_string()),
            );
            refs
        })
        .collect()
}

/// Heads of the listed packages, mirror to mirror: the rebuilt catalog in
/// the mirror keeps exactly them (bundles copied byte for byte, channels cut
/// to their heads, deprecations pruned, other schemas carried), every platform
/// of a multi-arch Docker catalog is rebuilt alike, every kept image lands
/// digest for digest, the cluster resources name the catalog, and the same
/// configuration and catalog give the same rebuilt digest again.
#[tokio::test]
async fn a_filtered_catalog_is_rebuilt_and_its_images_mirrored() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1")
            .docker()
            .multi_arch(),
    )
    .await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&operators(
        &pushed.reference,
        "      packages:\n        - name: foo\n        - name: bar\n          channels:\n            - name: alpha\n",
    ));
    ctx.mirror(&isc, &mirror, "ocp", &[]).assert_ok();

    let rebuilt = read_catalog(mirror.client(), "ocp/redhat/test-index", "v1")
        .await
        .unwrap();
    let objects = rebuilt.objects().unwrap();
    let kept = set(&["foo.v1.2.0", "foo.v2.0.0", "bar.v0.2.0"]);
    assert_eq!(bundles(&objects), kept);
    assert_eq!(entries(&objects, "foo", "stable"), set(&["foo.v1.2.0"]));
    assert_eq!(entries(&objects, "foo", "fast"), set(&["foo.v2.0.0"]));
    assert_eq!(entries(&objects, "bar", "alpha"), set(&["bar.v0.2.0"]));
    assert!(object(&objects, "olm.channel", "bar", "beta").is_none());
    assert_eq!(
        object(&objects, "olm.package", "", "bar").unwrap()["defaultChannel"],
        "alpha"
    );
    // Kept bundles are the source's, byte for byte (so, parsed, equal).
    for b in pushed.objects_of("olm.bundle") {
        if kept.contains(b["name"].as_str().unwrap()) {
            assert!(objects.contains(b), "{} changed", b["name"]);
        }
    }
    // Deprecations of what is gone are gone; other schemas stay.
    assert!(
        objects
            .iter()
            .filter(|o| o["schema"] == "olm.deprecations")
            .all(|d| d["entries"].as_array().is_some_and(|e| !e.is_empty())),
        "an empty deprecations document was written"
    );
    assert!(objects.iter().any(|o| o["schema"] == "com.example.note"));
    // The image: served from /configs, opm's entrypoint and the labels kept.
    assert_eq!(
        rebuilt.config["config"]["Cmd"],
        json!(["serve", "/configs"])
    );
    assert_eq!(rebuilt.config["config"]["Entrypoint"], json!(["/bin/opm"]));
    assert_eq!(rebuilt.labels[catalog::CONFIGS_LABEL], "/configs");
    let index: Value = serde_json::from_slice(
        &mirror
            .client()
            .manifest("ocp/redhat/test-index", "v1")
            .await
            .unwrap()
            .unwrap()
            .2,
    )
    .unwrap();
    let platforms: Vec<&Value> = index["manifests"].as_array().unwrap().iter().collect();
    assert_eq!(platforms.len(), 2, "both platforms rebuilt");
    for child in platforms {
        let digest = child["digest"].as_str().unwrap();
        let (_, _, bytes) = mirror
            .client()
            .manifest("ocp/redhat/test-index", digest)
            .await
            .unwrap()
            .unwrap();
        let m: Value = serde_json::from_slice(&bytes).unwrap();
        let source_layers = pushed.manifest.images()[0].blob_digests.len() - 1;
        assert_eq!(
            m["layers"].as_array().unwrap().len(),
            source_layers + 2,
            "the source's layers, a whiteout and the filtered FBC"
        );
    }
    // Every image of the kept bundles, and none of the others.
    for reference in images_of(&pushed, &kept) {
        assert_image_mirrored(&mirror, "ocp", &pushed, &reference).await;
    }
    let dropped = pushed.bundles["foo.v1.0.0"].clone();
    let dropped_image = pushed.image(&dropped).unwrap();
    assert!(
        digest_at(
            &mirror,
            &format!("ocp/{}", dropped_image.repo),
            &format!("sha256-{}", &dropped_image.digest[7..])
        )
        .await
        .is_none(),
        "the image of a bundle not kept was mirrored"
    );
    // The cluster resources.
    let resources = ctx.working_dir().join("cluster-resources");
    let cs = std::fs::read_to_string(resources.join("cs-test-index-v1.yaml")).unwrap();
    let cs: Value = serde_norway::from_str(&cs).unwrap();
    assert_eq!(cs["kind"], "CatalogSource");
    assert_eq!(cs["metadata"]["namespace"], "openshift-marketplace");
    assert_eq!(
        cs["spec"]["image"],
        format!("{}/ocp/redhat/test-index:v1", mirror.host())
    );
    assert_eq!(cs["spec"]["sourceType"], "grpc");
    let cc = std::fs::read_to_string(resources.join("cc-test-index-v1.yaml")).unwrap();
    let cc: Value = serde_norway::from_str(&cc).unwrap();
    assert_eq!(cc["kind"], "ClusterCatalog");
    assert_eq!(
        cc["spec"]["source"]["image"]["ref"],
        format!("{}/ocp/redhat/test-index:v1", mirror.host())
    );
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    assert!(idms.contains("name: idms-operator-0"), "{idms}");
    assert!(
        idms.contains(&format!("{}/ocp/operators", mirror.host())),
        "{idms}"
    );
    assert!(
        !idms.contains("test-index"),
        "catalogs are in no mirror set: {idms}"
    );
    let itms = std::fs::read_to_string(resources.join("itms-oc-mirror.yaml")).unwrap();
    assert!(
        itms.contains("name: itms-operator-0"),
        "tagged images: {itms}"
    );

    // The same configuration and catalog, from another workspace: the same
    // rebuilt catalog, digest for digest.
    let first = digest_at(&mirror, "ocp/redhat/test-index", "v1").await;
    let again = Ctx::new();
    let isc = again.isc(&operators(
        &pushed.reference,
        "      packages:\n        - name: foo\n        - name: bar\n          channels:\n            - name: alpha\n",
    ));
    again.mirror(&isc, &mirror, "again", &[]).assert_ok();
    assert_eq!(
        digest_at(&mirror, "again/redhat/test-index", "v1").await,
        first
    );
}

/// Selection as oc-mirror v2 makes it, through `oc-mirror plan` (the same
/// plugin and code path as a run): heads of every channel by default,
/// listed channels, ranges along the replaces chain, an exact version,
/// whole channels, the default channel override; v1alpha2 adds what a kept
/// bundle depends on.
#[tokio::test]
async fn selection_rules_as_oc_mirror_v2() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let ctx = Ctx::new();
    let cases: &[(&str, Expected)] = &[
        // No packages: the head of every channel of every package.
        (
            "",
            &[
                ("bar", &["bar.v0.2.0"]),
                ("foo", &["foo.v1.2.0", "foo.v2.0.0"]),
            ],
        ),
        // A package without channels: the head of each of its channels.
        (
            "      packages:\n        - name: foo\n",
            &[("foo", &["foo.v1.2.0", "foo.v2.0.0"])],
        ),
        // Listed channels only.
        (
            "      packages:\n        - name: foo\n          channels:\n            - name: stable\n",
            &[("foo", &["foo.v1.2.0"])],
        ),
        // A range: the replaces chain within it.
        (
            "      packages:\n        - name: foo\n          channels:\n            - name: stable\n              minVersion: 1.0.0\n              maxVersion: 1.1.0\n",
            &[("foo", &["foo.v1.0.0", "foo.v1.1.0"])],
        ),
        // minVersion == maxVersion: exactly that bundle.
        (
            "      packages:\n        - name: foo\n          channels:\n            - name: stable\n              minVersion: 1.1.0\n              maxVersion: 1.1.0\n",
            &[("foo", &["foo.v1.1.0"])],
        ),
        // A range on the package applies to each kept channel.
        (
            "      packages:\n        - name: foo\n          minVersion: 1.1.0\n",
            &[("foo", &["foo.v1.1.0", "foo.v1.2.0", "foo.v2.0.0"])],
        ),
    ];
    for (body, expected) in cases {
        let isc = ctx.isc(&operators(&pushed.reference, body));
        let (kept, catalog) = plan_of(&ctx, &isc, &[]);
        let expected: BTreeMap<String, BTreeSet<String>> = expected
            .iter()
            .map(|(p, b)| (p.to_string(), set(b)))
            .collect();
        assert_eq!(names(&kept), expected, "for\n{body}");
        assert_eq!(catalog["rebuilt"], true);
    }
    // full with packages: every entry of the kept channels.
    let isc = ctx.isc(&format!(
        "  operators:\n    - catalog: {}\n      full: true\n      packages:\n        - name: bar\n",
        pushed.reference
    ));
    let (kept, _) = plan_of(&ctx, &isc, &[]);
    assert_eq!(kept["bar"]["bar.v0.1.0"], "full channel");
    assert_eq!(kept["bar"].len(), 2);
    // full without packages: the whole catalog, not rebuilt.
    let isc = ctx.isc(&format!(
        "  operators:\n    - catalog: {}\n      full: true\n",
        pushed.reference
    ));
    let (kept, catalog) = plan_of(&ctx, &isc, &[]);
    assert_eq!(catalog["rebuilt"], false);
    assert_eq!(kept["foo"].len(), 4);
    // The default channel override is the filtered package's default.
    let isc = ctx.isc(&operators(
        &pushed.reference,
        "      packages:\n        - name: foo\n          defaultChannel: fast\n          channels:\n            - name: fast\n",
    ));
    let (_, catalog) = plan_of(&ctx, &isc, &[]);
    assert_eq!(catalog["packages"][0]["defaultChannel"], "fast");
    // v1alpha2: bar.v0.2.0 needs foo (>=1.1.0 and its API): the newest foo
    // and its chain to its channel head come along.
    let isc = v1alpha2(
        &ctx,
        &operators(
            &pushed.reference,
            "      packages:\n        - name: bar\n          channels:\n            - name: alpha\n",
        ),
    );
    let (kept, _) = plan_of(&ctx, &isc, &[]);
    assert_eq!(kept["bar"]["bar.v0.2.0"], "channel head");
    assert!(
        kept["foo"]["foo.v2.0.0"].starts_with("dependency of bar.v0.2.0"),
        "{kept:?}"
    );
    // v2alpha1 resolves nothing, and says so.
    let isc = ctx.isc(&operators(
        &pushed.reference,
        "      packages:\n        - name: bar\n          channels:\n            - name: alpha\n",
    ));
    let (kept, catalog) = plan_of(&ctx, &isc, &[]);
    assert!(!kept.contains_key("foo"));
    let warnings = catalog["warnings"].to_string();
    assert!(
        warnings.contains("bundle \\\"bar.v0.2.0\\\" requires package \\\"foo\\\""),
        "{warnings}"
    );
}

/// A configuration the catalog cannot satisfy fails before anything is
/// copied, with an error naming catalog, package and channel.
#[tokio::test]
async fn configuration_errors_name_catalog_package_and_channel() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let cases = [
        (
            "      packages:\n        - name: nope\n",
            format!(
                "catalog {}: package \"nope\": not found in the catalog",
                pushed.reference
            ),
        ),
        (
            "      packages:\n        - name: foo\n          channels:\n            - name: fast\n",
            format!(
                "catalog {}: package \"foo\": the default channel \"stable\" was filtered out, a new default channel must be configured for this package",
                pushed.reference
            ),
        ),
        (
            "      packages:\n        - name: foo\n          channels:\n            - name: stable\n              minVersion: not-a-version\n",
            "is not a semantic version".to_string(),
        ),
        (
            "      full: true\n      packages:\n        - name: foo\n          minVersion: 1.0.0\n",
            "full: true cannot be mixed with a version range".to_string(),
        ),
    ];
    for (body, message) in cases {
        let isc = ctx.isc(&operators(&pushed.reference, body));
        ctx.mirror(&isc, &mirror, "ocp", &[])
            .assert_failed(1)
            .stderr_has(&message);
    }
    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "nothing was copied"
    );
}

/// A related image that cannot be mirrored fails the run with the operator
/// bit (4) and names the bundles and packages it breaks; the catalog still
/// goes last.
#[tokio::test]
async fn a_missing_related_image_names_what_it_breaks() {
    let src = plain_registry().await;
    let gone = format!("{}/operators/gone@sha256:{}", src.host(), "0".repeat(64));
    let cat = Catalog::new().with(
        package("foo")
            .channel("stable", &["foo.v1.0.0", "foo.v1.1.0"])
            .edit_bundle("foo.v1.1.0", |b| {
                b.related("gone", ImageRef::external(&gone))
            }),
    );
    let pushed = push(&src, &cat, CatalogImage::new("redhat/test-index", "v1")).await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&operators(&pushed.reference, ""));
    ctx.mirror(&isc, &mirror, "ocp", &[])
        .assert_failed(4)
        .stderr_has(&gone)
        .stderr_has("needed by bundle foo.v1.1.0 (package foo)");
}

/// Sequence 1 mirrors the head (1.1.1); the catalog moves on (1.2.0 replaces
/// 1.1.1); sequence 2 carries only the new images' new layers, and the
/// catalog it publishes holds both bundles, 1.2.0 the head upgrading 1.1.1,
/// so a cluster running 1.1.1 sees the update. Both bundles' images are in
/// the mirror.
#[tokio::test]
async fn a_later_sequence_keeps_what_earlier_ones_mirrored() {
    let src = plain_registry().await;
    let v1 = Catalog::new()
        .with(package("foo").channel("stable", &["foo.v1.0.0", "foo.v1.1.0", "foo.v1.1.1"]));
    let first = push(&src, &v1, CatalogImage::new("redhat/test-index", "v1")).await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&operators(
        &first.reference,
        "      packages:\n        - name: foo\n",
    ));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();

    let v2 = Catalog::new().with(package("foo").channel_with(
        "stable",
        vec![
            entry("foo.v1.0.0"),
            entry("foo.v1.1.0").replaces("foo.v1.0.0"),
            entry("foo.v1.1.1").replaces("foo.v1.1.0"),
            entry("foo.v1.2.0").replaces("foo.v1.1.1"),
        ],
    ));
    let second = push(&src, &v2, CatalogImage::new("redhat/test-index", "v1")).await;
    assert_ne!(first.digest, second.digest);
    ctx.create(&isc, &out, &[]).assert_ok();

    // The second imageset carries the new bundle's layers, not the old ones'.
    let carried = ctx.path("carried");
    let seq1 = carry(&out, &carried, 1);
    let seq2 = carry(&out, &carried, 2);
    let blobs2 = archive_blobs(&seq2);
    let old_bundle = first.image(&first.bundles["foo.v1.1.1"]).unwrap();
    let new_bundle = second.image(&second.bundles["foo.v1.2.0"]).unwrap();
    assert!(new_bundle.blobs.keys().any(|b| blobs2.contains_key(b)));
    let old_layers: Vec<&String> = old_bundle
        .blobs
        .keys()
        .filter(|b| archive_blobs(&seq1).contains_key(*b))
        .collect();
    assert!(!old_layers.is_empty());
    for b in old_layers {
        if !new_bundle.blobs.contains_key(b) {
            assert!(
                !blobs2.contains_key(b) || old_bundle.blobs[b] < 1024,
                "sequence 2 carries {b} again"
            );
        }
    }

    let mirror = plain_registry().await;
    let publisher = Ctx::new();
    publisher.publish(&carried, &mirror, "ocp", &[]).assert_ok();
    let rebuilt = read_catalog(mirror.client(), "ocp/redhat/test-index", "v1")
        .await
        .unwrap();
    let objects = rebuilt.objects().unwrap();
    assert_eq!(bundles(&objects), set(&["foo.v1.1.1", "foo.v1.2.0"]));
    let stable = object(&objects, "olm.channel", "foo", "stable").unwrap();
    let head = stable["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "foo.v1.2.0")
        .unwrap();
    assert_eq!(head["replaces"], "foo.v1.1.1", "the upgrade edge is kept");
    for name in ["foo.v1.1.1", "foo.v1.2.0"] {
        let pushed = if name == "foo.v1.2.0" {
            &second
        } else {
            &first
        };
        for reference in images_of(pushed, &set(&[name])) {
            assert_image_mirrored(&mirror, "ocp", pushed, &reference).await;
        }
    }

    // The plan shows why 1.1.1 is still there.
    let (kept, _) = plan_of(
        &ctx,
        &isc,
        &["--workspace", &format!("file://{}", out.display())],
    );
    assert_eq!(kept["foo"]["foo.v1.2.0"], "channel head");
    assert_eq!(kept["foo"]["foo.v1.1.1"], "kept from an earlier sequence");
}

/// `oc-mirror list operators`: packages with their default channels, a
/// package's channels with their heads, a channel's versions.
#[tokio::test]
async fn list_operators_as_v2_lists_them() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let ctx = Ctx::new();
    let list = |extra: &[&str]| {
        let mut args = vec![
            "list",
            "operators",
            "--catalog",
            &pushed.reference,
            "--src-tls-verify=false",
        ];
        args.extend_from_slice(extra);
        let run = ctx.run(&args);
        run.assert_ok();
        run.stdout.clone()
    };
    let packages = list(&[]);
    let lines: Vec<Vec<&str>> = packages
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.trim().is_empty())
                .map(str::trim)
                .collect()
        })
        .collect();
    assert_eq!(lines[0], ["NAME", "DISPLAY NAME", "DEFAULT CHANNEL"]);
    assert_eq!(lines[1], ["bar", "alpha"]);
    // The display name is the newest bundle's (foo.v2.0.0 has none), as v2 shows it.
    assert_eq!(lines[2], ["foo", "stable"], "{packages}");
    let channels = list(&["--package", "foo"]);
    assert!(channels.contains("PACKAGE  CHANNEL  HEAD\n"), "{channels}");
    assert!(
        channels.contains("foo      fast     foo.v2.0.0\n"),
        "{channels}"
    );
    assert!(
        channels.contains("foo      stable   foo.v1.2.0\n"),
        "{channels}"
    );
    assert_eq!(
        list(&["--package", "foo", "--channel", "stable"]),
        "VERSIONS\n1.0.0\n1.1.0\n1.2.0\n"
    );
    let run = ctx.run(&[
        "list",
        "operators",
        "--catalog",
        &pushed.reference,
        "--src-tls-verify=false",
        "--package",
        "nope",
    ]);
    run.assert_failed(1)
        .stderr_has("package \"nope\" is not in catalog");
}

/// A catalog in a local OCI layout (`oci://DIR`), as oc-mirror v2 reads
/// them: its first image, mirrored as `<dir name>:latest` unless targets are
/// set; a SQLite catalog is refused by name.
#[tokio::test]
async fn local_oci_catalogs_and_sqlite_catalogs() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let ctx = Ctx::new();
    let layout = ctx.path("my-catalog");
    oc_mirror_tests::tools::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}", pushed.reference),
        &format!("oci:{}", layout.display()),
    ]);
    let mirror = plain_registry().await;
    let isc = ctx.isc(&operators(
        &format!("oci://{}", layout.display()),
        "      packages:\n        - name: foo\n          channels:\n            - name: stable\n",
    ));
    ctx.mirror(&isc, &mirror, "ocp", &[]).assert_ok();
    let rebuilt = read_catalog(mirror.client(), "ocp/my-catalog", "latest")
        .await
        .unwrap();
    assert_eq!(bundles(&rebuilt.objects().unwrap()), set(&["foo.v1.2.0"]));
    assert_image_mirrored(&mirror, "ocp", &pushed, &pushed.bundles["foo.v1.2.0"]).await;

    // targetCatalog and targetTag place it.
    let isc = ctx.isc(&format!(
        "  operators:\n    - catalog: oci://{}\n      targetCatalog: team/catalog\n      targetTag: v9\n      packages:\n        - name: bar\n",
        layout.display()
    ));
    ctx.mirror(&isc, &mirror, "ocp", &[]).assert_ok();
    assert!(digest_at(&mirror, "ocp/team/catalog", "v9").await.is_some());

    // A SQLite catalog: the database label, no configs label.
    use oc_mirror_tests::fixture::{Format, ImageSpec, LayerSpec, push_image};
    let sqlite = ImageSpec::new(
        "old/index",
        Some("v4.10"),
        Format::Oci,
        vec![LayerSpec { seed: 7, size: 512 }],
    )
    .with_label(
        "operators.operatorframework.io.index.database.v1",
        "/database/index.db",
    );
    push_image(src.client(), &sqlite).await.unwrap();
    let isc = ctx.isc(&operators(&format!("{}/old/index:v4.10", src.host()), ""));
    ctx.mirror(&isc, &mirror, "ocp", &[])
        .assert_failed(1)
        .stderr_has("is a SQLite-based catalog")
        .stderr_has("opm migrate");
}

/// Mirror to disk and publish: the rebuilt catalog and the images cross the
/// gap in the imageset; a whole catalog (`full: true`, no packages) keeps
/// its source digest; a CatalogSource template shapes the CatalogSource.
#[tokio::test]
async fn create_and_publish_rebuilt_and_whole_catalogs() {
    let src = plain_registry().await;
    let filtered = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let whole = push(
        &src,
        &Catalog::new().with(package("baz").yaml().channel("stable", &["baz.v1.0.0"])),
        CatalogImage::new("community/other-index", "v2").docker(),
    )
    .await;
    let ctx = Ctx::new();
    let template = ctx.path("cs-template.yaml");
    std::fs::write(
        &template,
        "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: ignored\n  labels:\n    team: platform\nspec:\n  displayName: Filtered operators\n  updateStrategy:\n    registryPoll:\n      interval: 30m\n",
    )
    .unwrap();
    let isc = ctx.isc(&format!(
        "  operators:\n    - catalog: {}\n      targetCatalogSourceTemplate: {}\n      packages:\n        - name: foo\n          channels:\n            - name: stable\n    - catalog: {}\n      full: true\n",
        filtered.reference,
        template.display(),
        whole.reference
    ));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let carried = ctx.path("carried");
    carry(&out, &carried, 1);
    let mirror = plain_registry().await;
    let publisher = Ctx::new();
    publisher.publish(&carried, &mirror, "ocp", &[]).assert_ok();

    let rebuilt = read_catalog(mirror.client(), "ocp/redhat/test-index", "v1")
        .await
        .unwrap();
    assert_eq!(bundles(&rebuilt.objects().unwrap()), set(&["foo.v1.2.0"]));
    for reference in images_of(&filtered, &set(&["foo.v1.2.0"])) {
        assert_image_mirrored(&mirror, "ocp", &filtered, &reference).await;
    }
    assert_eq!(
        digest_at(&mirror, "ocp/community/other-index", "v2")
            .await
            .as_deref(),
        Some(whole.digest.as_str()),
        "a whole catalog is mirrored as it is"
    );
    for reference in images_of(&whole, &set(&["baz.v1.0.0"])) {
        assert_image_mirrored(&mirror, "ocp", &whole, &reference).await;
    }
    let resources = carried.join("working-dir").join("cluster-resources");
    let cs: Value = serde_norway::from_str(
        &std::fs::read_to_string(resources.join("cs-test-index-v1.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(cs["metadata"]["name"], "cs-test-index-v1");
    assert_eq!(cs["metadata"]["labels"]["team"], "platform");
    assert_eq!(cs["spec"]["displayName"], "Filtered operators");
    assert_eq!(
        cs["spec"]["updateStrategy"]["registryPoll"]["interval"],
        "30m"
    );
    assert_eq!(
        cs["spec"]["image"],
        format!("{}/ocp/redhat/test-index:v1", mirror.host())
    );
    assert!(resources.join("cs-other-index-v2.yaml").exists());
}

/// A dry run copies nothing, yet its mapping names the rebuilt catalog with
/// the bundles' images: what a real run would put in the mirror.
#[tokio::test]
async fn a_dry_run_maps_the_rebuilt_catalog() {
    let src = plain_registry().await;
    let pushed = push(
        &src,
        &Catalog::small(),
        CatalogImage::new("redhat/test-index", "v1"),
    )
    .await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&operators(
        &pushed.reference,
        "      packages:\n        - name: foo\n          channels:\n            - name: stable\n",
    ));
    ctx.mirror(&isc, &mirror, "ocp", &["--dry-run"]).assert_ok();
    assert!(mirror.catalog().await.unwrap().is_empty(), "nothing copied");
    let mapping = std::fs::read_to_string(ctx.working_dir().join("dry-run/mapping.txt")).unwrap();
    assert!(
        mapping.contains(&format!(
            "=docker://{}/ocp/redhat/test-index:v1\n",
            mirror.host()
        )),
        "{mapping}"
    );
    for reference in images_of(&pushed, &set(&["foo.v1.2.0"])) {
        assert!(
            mapping.contains(&format!("docker://{reference}=")),
            "{mapping}"
        );
    }
}

/// A package the configuration dropped, then deleted: the rebuilt catalog no
/// longer lists it, its bundle and related images go (those another package
/// shares stay), the catalog itself stays (still selected), and what stays
/// resolves completely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_package_is_deleted_and_the_catalog_stays_whole() {
    let src = plain_registry().await;
    let cat = Catalog::new()
        .with(package("foo").channel("stable", &["foo.v1.0.0"]))
        .with(package("bar").channel("stable", &["bar.v1.0.0"]));
    let pushed = push(&src, &cat, CatalogImage::new("redhat/test-index", "v1")).await;
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let pkgs = |names: &[&str]| {
        let mut body = String::from("      packages:\n");
        for n in names {
            body.push_str(&format!("        - name: {n}\n"));
        }
        operators(&pushed.reference, &body)
    };
    ctx.mirror(&ctx.isc(&pkgs(&["foo", "bar"])), &mirror, "m", &[])
        .assert_ok();
    ctx.mirror(&ctx.isc(&pkgs(&["foo"])), &mirror, "m", &[])
        .assert_ok()
        .stdout_has("no longer configured");
    let listed = |mirror: &Registry| {
        let client = mirror.client().clone();
        async move {
            let rebuilt = read_catalog(&client, "m/redhat/test-index", "v1")
                .await
                .unwrap();
            bundles(&rebuilt.objects().unwrap())
        }
    };
    assert_eq!(listed(&mirror).await, set(&["foo.v1.0.0"]));
    let (foo, bar) = (
        images_of(&pushed, &set(&["foo.v1.0.0"])),
        images_of(&pushed, &set(&["bar.v1.0.0"])),
    );
    for reference in &bar {
        assert_image_mirrored(&mirror, "m", &pushed, reference).await;
    }

    let disc = crate::delete::delete_config(&ctx, &pkgs(&["bar"]));
    let dest = format!("docker://{}/m", mirror.host());
    let ws = ctx.workspace();
    let common = ["--src-tls-verify=false", "--dest-tls-verify=false"];
    let mut generate = vec![
        "delete",
        "--generate",
        "-c",
        &disc,
        "--workspace",
        &ws,
        &dest,
    ];
    generate.extend(common);
    ctx.run(&generate).assert_ok().stdout_has("kept: ");
    let file = ctx.working_dir().join("delete/delete-images.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("type: operatorRelatedImage"), "{text}");
    let file = file.display().to_string();
    let mut execute = vec!["delete", "--delete-yaml-file", &file, &dest];
    execute.extend(common);
    ctx.run(&execute).assert_ok();

    for reference in bar.difference(&foo) {
        let image = pushed.image(reference).unwrap();
        assert_eq!(
            digest_at(&mirror, &format!("m/{}", image.repo), &image.digest).await,
            None,
            "{reference} of the deleted package"
        );
    }
    for reference in &foo {
        assert_image_mirrored(&mirror, "m", &pushed, reference).await;
        let image = pushed.image(reference).unwrap();
        crate::delete::assert_resolves(&mirror, &format!("m/{}", image.repo), &image.digest).await;
    }
    assert_eq!(listed(&mirror).await, set(&["foo.v1.0.0"]));
    crate::delete::assert_resolves(&mirror, "m/redhat/test-index", "v1").await;
}
