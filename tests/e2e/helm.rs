//! Helm charts: fixture charts (tests/data/charts, see EXPECTED.md) served by
//! a chart repository on loopback, pushed as OCI charts, or read from local
//! files; rendered by the helm plugin; their images and the charts
//! themselves read back out of the mirror with the test library's client.

use oc_mirror_tests::Registry;
use oc_mirror_tests::charts::{
    self, ChartExpectation, ChartRepo, ChartUrls, HELM_CHART_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE,
    PushedChartImages,
};
use serde_json::Value;

use crate::support::*;

/// A source registry holding every image the fixture charts name.
async fn source_with_chart_images() -> (Registry, PushedChartImages) {
    let src = plain_registry().await;
    let pushed = charts::push_chart_images(&src, &charts::expectations())
        .await
        .expect("push the charts' images");
    (src, pushed)
}

fn expectation(dir: &str) -> ChartExpectation {
    charts::expectation(dir).unwrap_or_else(|| panic!("no fixture chart {dir}"))
}

/// Each of `rels` (registry-relative, as EXPECTED.md names them) is in the
/// mirror under `prefix`, digest for digest: by its tag, or by
/// `sha256-<hex>` for a digest-only reference.
async fn assert_images_mirrored(
    mirror: &Registry,
    prefix: &str,
    pushed: &PushedChartImages,
    rels: &[String],
) {
    for rel in rels {
        let image = pushed
            .image(rel)
            .unwrap_or_else(|| panic!("{rel} was not pushed"));
        let reference = pushed.reference(rel);
        let (repo, tag) = match reference.split_once('@') {
            Some((repo, digest)) => (repo.to_string(), format!("sha256-{}", &digest[7..])),
            None => {
                let (repo, tag) = reference.rsplit_once(':').unwrap();
                (repo.to_string(), tag.to_string())
            }
        };
        let repo = repo.split_once('/').unwrap().1;
        assert_eq!(
            digest_at(mirror, &format!("{prefix}/{repo}"), &tag)
                .await
                .as_deref(),
            Some(image.manifest_digest.as_str()),
            "{rel} in the mirror as {prefix}/{repo}:{tag}"
        );
    }
}

/// None of `rels` is in the mirror under `prefix` (by any tag).
async fn assert_not_mirrored(mirror: &Registry, prefix: &str, rels: &[String]) {
    let catalog = mirror.catalog().await.unwrap();
    for rel in rels {
        let repo = rel.split(['@', ':']).next().unwrap();
        let repo = format!("{prefix}/{repo}");
        if !catalog.contains(&repo) {
            continue;
        }
        let tags = mirror.tags(&repo).await.unwrap();
        let tag = rel.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
        assert!(
            !tags.iter().any(|t| t == tag),
            "{rel} must not be mirrored, but {repo} has {tags:?}"
        );
    }
}

/// The chart at `repo:tag` in `reg` as Helm stores it: the manifest's
/// config and layer media types, and the archive.
async fn oci_chart(reg: &Registry, repo: &str, tag: &str) -> (Value, Vec<u8>) {
    let (_, media_type, bytes) = reg
        .manifest(repo, tag)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no chart at {repo}:{tag}"));
    assert_eq!(media_type, "application/vnd.oci.image.manifest.v1+json");
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(manifest["config"]["mediaType"], HELM_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["layers"][0]["mediaType"], HELM_CHART_MEDIA_TYPE);
    let config = reg
        .client()
        .blob(repo, manifest["config"]["digest"].as_str().unwrap())
        .await
        .unwrap()
        .expect("config blob");
    let config: Value = serde_json::from_slice(&config).unwrap();
    let layer = reg
        .client()
        .blob(repo, manifest["layers"][0]["digest"].as_str().unwrap())
        .await
        .unwrap()
        .expect("chart blob");
    (config, layer)
}

/// `plan -o json` of `isc`: the helm section's plan.
fn helm_plan(ctx: &Ctx, isc: &str) -> Value {
    let run = ctx.run(&["plan", "-c", isc, "-o", "json", "--src-tls-verify=false"]);
    run.assert_ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "helm")
        .unwrap_or_else(|| panic!("no helm section in {report}"))["plan"]
        .clone()
}

/// Chart versions of a plan, `name-version`, in its order.
fn planned(plan: &Value) -> Vec<String> {
    plan["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}-{}",
                c["chart"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect()
}

/// A chart from an HTTP repository, mirror to mirror: every image EXPECTED.md
/// lists (the `imagePaths` one too) lands digest for digest, test-hook,
/// disabled-subchart and disabled-component images do not, and the chart
/// itself is in the mirror as an OCI chart and in working-dir/helm/charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_chart_mirrors_its_images_and_itself() {
    let (src, pushed) = source_with_chart_images().await;
    let repo = ChartRepo::start_with(ChartUrls::Relative).await.unwrap();
    let tgz = pushed.pack("webapp-1.2.0").unwrap();
    repo.add(tgz.clone()).unwrap();
    repo.add(pushed.pack("webapp-1.3.0").unwrap()).unwrap();
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: Example Charts\n        url: {}\n        charts:\n          - name: webapp\n            version: 1.2.0\n            imagePaths: ['{{.spec.engine.image}}']\n",
        repo.url()
    ));
    ctx.mirror(&isc, &mirror, "m", &[]).assert_ok();
    let want = expectation("webapp-1.2.0");
    assert_images_mirrored(&mirror, "m", &pushed, &want.with_image_paths()).await;
    assert_not_mirrored(&mirror, "m", &want.excluded).await;
    assert_not_mirrored(&mirror, "m", &["webapp/server:1.3.0".to_string()]).await;

    let (config, layer) = oci_chart(&mirror, "m/example-charts/webapp", "1.2.0").await;
    assert_eq!(
        layer, tgz,
        "the chart in the mirror is the repository's archive, byte for byte"
    );
    assert_eq!(config["name"], "webapp");
    assert_eq!(config["version"], "1.2.0");
    let placed = ctx.working_dir().join("helm/charts/webapp-1.2.0.tgz");
    assert_eq!(std::fs::read(&placed).unwrap(), tgz, "{}", placed.display());
    assert_eq!(repo.gets(&repo.archive_path("webapp", "1.2.0")), 1);
    assert_eq!(repo.gets(&repo.archive_path("webapp", "1.3.0")), 0);

    // The cluster resources cover the chart's images: the by-digest sidecar
    // through an IDMS, the tagged ones through an ITMS.
    let resources = ctx.working_dir().join("cluster-resources");
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    assert!(
        idms.contains(&format!("source: {}/webapp", src.host())),
        "{idms}"
    );
    let itms = std::fs::read_to_string(resources.join("itms-oc-mirror.yaml")).unwrap();
    assert!(
        itms.contains(&format!("source: {}/cache", src.host())),
        "{itms}"
    );
}

/// Without `charts`, every version of every chart that is not a library;
/// without `version`, the newest; absolute chart URLs; the plan names the
/// template each image came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_omitted_means_every_version_and_no_version_the_newest() {
    let (_src, pushed) = source_with_chart_images().await;
    let repo = ChartRepo::start_with(ChartUrls::Absolute).await.unwrap();
    for dir in ["common", "notag", "webapp-1.2.0", "webapp-1.3.0"] {
        repo.add(pushed.pack(dir).unwrap()).unwrap();
    }
    let ctx = Ctx::new();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: all\n        url: {}\n",
        repo.url()
    ));
    let plan = helm_plan(&ctx, &isc);
    let mut got = planned(&plan);
    got.sort();
    assert_eq!(
        got,
        ["notag-0.1.0", "webapp-1.2.0", "webapp-1.3.0"],
        "the library chart is left out"
    );

    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: all\n        url: {}\n        charts:\n          - name: webapp\n",
        repo.url()
    ));
    let plan = helm_plan(&ctx, &isc);
    assert_eq!(planned(&plan), ["webapp-1.3.0"]);
    let images: Vec<(String, String)> = plan["charts"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["image"].as_str().unwrap().to_string(),
                i["template"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        images.contains(&(
            pushed.reference("webapp/backup:1.1.0"),
            "webapp/templates/cronjob.yaml".into()
        )),
        "{images:?}"
    );
    assert!(
        images.contains(&(
            pushed.reference("cache/redis:7.2.4"),
            "webapp/charts/cache/templates/statefulset.yaml".into()
        )),
        "{images:?}"
    );
    let mut refs: Vec<String> = images.iter().map(|(i, _)| i.clone()).collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs, pushed.references(&expectation("webapp-1.3.0").images));

    let text = ctx.run(&["plan", "-c", &isc, "--src-tls-verify=false"]);
    text.assert_ok()
        .stdout_has("chart webapp 1.3.0")
        .stdout_has("webapp/templates/hook-migrate.yaml");
}

/// An OCI chart and local charts (a `.tgz` and a directory) through create
/// → carry → publish: on the disconnected side the charts are in the mirror
/// as OCI charts, read back with Helm's media types, and their archives are
/// under the publish side's working-dir/helm/charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_and_local_charts_cross_the_gap() {
    let (src, pushed) = source_with_chart_images().await;
    let oci_tgz = pushed.pack("ocichart").unwrap();
    let oci = charts::push_oci_chart(&src, "charts/ocichart", &oci_tgz)
        .await
        .unwrap();
    let ctx = Ctx::new();
    let local_tgz = pushed.pack("webapp-1.2.0").unwrap();
    let tgz_path = ctx.path("webapp-1.2.0.tgz");
    std::fs::write(&tgz_path, &local_tgz).unwrap();
    // A chart directory as a user keeps it.
    let dir = ctx.path("notag");
    charts::copy_dir(&charts::chart_dir("notag"), &dir, &pushed.replacements()).unwrap();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: oci\n        url: oci://{}/charts\n        charts:\n          - name: ocichart\n    local:\n      - name: webapp\n        path: {}\n        imagePaths: ['{{.spec.engine.image}}']\n      - name: notag\n        path: {}\n",
        src.host(),
        tgz_path.display(),
        dir.display()
    ));
    let out = ctx.path("out");
    let create = ctx.create(&isc, &out, &[]);
    create.assert_ok();
    assert!(
        create.stderr.contains("notag 0.1.0") && create.stderr.contains("neither tag nor digest"),
        "the untagged image is a warning naming the chart: {}",
        create.stderr
    );
    let carried = ctx.path("carried");
    carry(&out, &carried, 1);
    let mirror = plain_registry().await;
    ctx.publish(&carried, &mirror, "air", &[]).assert_ok();

    let mut want = expectation("webapp-1.2.0").with_image_paths();
    want.extend(expectation("ocichart").images);
    want.extend(expectation("notag").images);
    assert_images_mirrored(&mirror, "air", &pushed, &want).await;
    assert_not_mirrored(&mirror, "air", &["notag/app".to_string()]).await;

    let (config, layer) = oci_chart(&mirror, "air/charts/ocichart", &oci.tag).await;
    assert_eq!(layer, oci_tgz);
    assert_eq!(config["name"], "ocichart");
    let (_, layer) = oci_chart(&mirror, "air/webapp/webapp", "1.2.0").await;
    assert_eq!(layer, local_tgz);
    let (config, dir_layer) = oci_chart(&mirror, "air/notag/notag", "0.1.0").await;
    assert_eq!(config["name"], "notag");
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(dir_layer.as_slice()),
        &mut tar,
    )
    .expect("a chart directory is carried as a gzip'd tar");
    assert!(
        tar.windows(17).any(|w| w == b"notag/Chart.yaml\0"),
        "the tar holds notag/Chart.yaml"
    );
    let placed = carried.join("working-dir/helm/charts");
    assert_eq!(
        std::fs::read(placed.join("ocichart-0.1.0.tgz")).unwrap(),
        oci_tgz
    );
    assert_eq!(
        std::fs::read(placed.join("webapp-1.2.0.tgz")).unwrap(),
        local_tgz
    );
    assert!(placed.join("notag-0.1.0.tgz").exists());
}

/// An archive that does not match the index's digest is refused (helm bit);
/// a chart that does not render names its template and line (helm bit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_archives_and_charts_that_do_not_render_fail_with_the_helm_bit() {
    let (_src, pushed) = source_with_chart_images().await;
    let repo = ChartRepo::start().await.unwrap();
    repo.add(pushed.pack("webapp-1.2.0").unwrap()).unwrap();
    repo.corrupt("webapp", "1.2.0");
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: r\n        url: {}\n        charts:\n          - name: webapp\n",
        repo.url()
    ));
    ctx.mirror(&isc, &mirror, "m", &[])
        .assert_failed(16)
        .stderr_has("chart webapp 1.2.0")
        .stderr_has("refusing it");
    assert!(
        mirror.catalog().await.unwrap().is_empty(),
        "nothing is mirrored"
    );

    let broken = ctx.path("broken.tgz");
    std::fs::write(&broken, pushed.pack("broken").unwrap()).unwrap();
    let isc = ctx.isc(&format!(
        "  helm:\n    local:\n      - name: broken\n        path: {}\n",
        broken.display()
    ));
    let want = expectation("broken").render_error.unwrap();
    ctx.mirror(&isc, &mirror, "m", &[])
        .assert_failed(16)
        .stderr_has("chart broken 0.1.0 does not render")
        .stderr_has("broken/templates/")
        .stderr_has(want);
}

/// An OCI chart repository behind htpasswd: the chart and its image are read
/// with the credentials of `--authfile`, as images are; the password shows
/// nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_chart_registry_credentials_come_from_the_auth_file() {
    use base64::Engine as _;
    let (user, password) = ("chart-reader".to_string(), "Ch4rt-s3cret".to_string());
    let src = Registry::start(oc_mirror_tests::RegistryOptions {
        htpasswd: Some((user.clone(), password.clone())),
        ..Default::default()
    })
    .await
    .unwrap();
    let pushed = charts::push_chart_images(&src, &[expectation("ocichart")])
        .await
        .unwrap();
    let tgz = pushed.pack("ocichart").unwrap();
    charts::push_oci_chart(&src, "charts/ocichart", &tgz)
        .await
        .unwrap();
    let mirror = plain_registry().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&format!(
        "  helm:\n    repositories:\n      - name: private\n        url: oci://{}/charts\n        charts:\n          - name: ocichart\n            version: 0.1.0\n",
        src.host()
    ));
    let denied = ctx.mirror(&isc, &mirror, "m", &["--retry-times", "0"]);
    denied.assert_failed(16);

    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let authfile = ctx.path("auth.json");
    std::fs::write(
        &authfile,
        serde_json::json!({ "auths": { src.host(): { "auth": auth } } }).to_string(),
    )
    .unwrap();
    let run = ctx.mirror(
        &isc,
        &mirror,
        "m",
        &["--authfile", authfile.to_str().unwrap()],
    );
    run.assert_ok();
    let (_, layer) = oci_chart(&mirror, "m/charts/ocichart", "0.1.0").await;
    assert_eq!(layer, tgz);
    assert_images_mirrored(&mirror, "m", &pushed, &expectation("ocichart").images).await;
    for text in [&run.stdout, &run.stderr, &denied.stderr] {
        assert!(
            !text.contains(&password) && !text.contains(&auth),
            "credentials in the output"
        );
    }
}
