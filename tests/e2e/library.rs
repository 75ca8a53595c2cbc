//! The library's own parts driven directly, without the binary: the copy
//! engine, the content sources and the workflows, against real registries
//! with the fault-injecting front between. Where the binary's tests check
//! what a user sees, these check what each part returns: outcomes per image,
//! typed failures and their exit bits, what is recorded and what is not.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oc_mirror::copy::{Concurrency, CopyEngine, ImageOutcome, ImageStatus, Reporter};
use oc_mirror::plugin::{PluginHost, PluginHostConfig};
use oc_mirror::reference::MirrorTarget;
use oc_mirror::registry::auth::AuthStore;
use oc_mirror::registry::retry::RetryPolicy;
use oc_mirror::registry::{RegistryClient, RegistryConfig};
use oc_mirror::settings::{BackendSettings, Environment, ReleaseSettings, Settings};
use oc_mirror::sources::Sources;
use oc_mirror::workflow::Context;
use oc_mirror::workflow::error::{EXIT_ADDITIONAL_IMAGES, ImageFailures};
use oc_mirror::workflow::mirror::{MirrorOutcome, mirror_to_mirror};
use oc_mirror::workspace::Workspace;
use oc_mirror_tests::faults::{Action, Fault, FaultProxy};
use oc_mirror_tests::fixture::{self, Format, ImageSpec, LayerSpec, PushedImage};

use crate::support::plain_registry;

/// Counts what the engine reports.
#[derive(Default)]
struct Counting {
    done: AtomicUsize,
    planned: Mutex<Option<usize>>,
}

impl Reporter for Counting {
    fn planned(&self, images: usize, _bytes: u64, _distinct: u64) {
        *self.planned.lock().unwrap() = Some(images);
    }
    fn image_done(&self, _outcome: &ImageOutcome) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// A plain-HTTP client without retries (so every fault shows) and without credentials.
fn client_config() -> RegistryConfig {
    RegistryConfig {
        tls_verify: false,
        cert_dirs: Vec::new(),
        retry: RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        },
        auth: Arc::new(AuthStore::empty()),
        layouts: Default::default(),
    }
}

/// Compiled plugins shared by the tests of this module (compiling is the slow part).
fn plugin_cache() -> std::path::PathBuf {
    std::env::temp_dir().join("oc-mirror-e2e-library-plugins")
}

/// Settings for a workflow run: plain HTTP, no retries, defaults elsewhere.
fn settings() -> Settings {
    Settings {
        source: client_config(),
        destination: client_config(),
        concurrency: Concurrency::default(),
        image_timeout: std::time::Duration::from_secs(600),
        plugins: PluginHostConfig {
            cache_dir: Some(plugin_cache()),
            ..PluginHostConfig::default()
        },
        release: ReleaseSettings::resolve(
            &Environment::default(),
            ReleaseSettings::GRAPH_BASE_IMAGE,
        )
        .unwrap(),
        backend: BackendSettings::Workspace,
        epoch: Some(0),
        dry_run: false,
        skip_metadata_check: false,
        since_sequence: None,
        since_time: None,
        prune: false,
        max_part_bytes: u64::MAX,
    }
}

fn context(reporter: Arc<dyn Reporter>) -> Context {
    Context {
        settings: settings(),
        reporter,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

async fn push(reg: &oc_mirror_tests::Registry, repo: &str, seed: u64) -> PushedImage {
    let spec = ImageSpec::new(
        repo,
        Some("1"),
        Format::Oci,
        vec![
            LayerSpec { seed, size: 40_000 },
            LayerSpec {
                seed: seed + 1,
                size: 900,
            },
        ],
    );
    fixture::push_image(reg.client(), &spec)
        .await
        .expect("push image")
}

/// The largest layer of an image.
fn biggest(image: &PushedImage) -> String {
    let i = (1..image.blob_sizes.len())
        .max_by_key(|&i| image.blob_sizes[i])
        .unwrap();
    image.blob_digests[i].clone()
}

fn write_isc(dir: &Path, body: &str) -> oc_mirror::config::ImageSetConfiguration {
    let path = dir.join("isc.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{body}"
        ),
    )
    .unwrap();
    oc_mirror::config::load_mirror_config(&path).expect("valid configuration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_copy_engine_survives_a_cut_blob_and_isolates_a_corrupt_one() {
    let src = plain_registry().await;
    let mirror = plain_registry().await;
    let good = push(&src, "apps/good", 11).await;
    let bad = push(&src, "apps/bad", 21).await;
    let front = FaultProxy::start(
        &src.host(),
        vec![
            // Cut once: the engine resumes it.
            Fault {
                method: "GET".into(),
                path_contains: format!("/blobs/{}", biggest(&good)),
                action: Action::CutAfter(5_000),
                times: 1,
            },
            // Altered every time: that image fails, alone.
            Fault {
                method: "GET".into(),
                path_contains: format!("/blobs/{}", biggest(&bad)),
                action: Action::FlipByte(100),
                times: usize::MAX,
            },
        ],
    )
    .await
    .unwrap();
    let ws_dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(ws_dir.path()).unwrap();
    let target = MirrorTarget::parse(&format!("docker://{}/m", mirror.host())).unwrap();
    let plan = oc_mirror::copy::CopyPlan {
        images: ["apps/good", "apps/bad"]
            .iter()
            .map(|repo| {
                let source =
                    oc_mirror::reference::parse(&format!("{}/{repo}:1", front.host())).unwrap();
                oc_mirror::copy::ImageJob {
                    destination: target.destination(&source, None, None),
                    source,
                    platforms: Vec::new(),
                    origin: oc_mirror::copy::Origin::AdditionalImages,
                    kind: oc_mirror::copy::ImageKind::Generic,
                }
            })
            .collect(),
    };
    let counting = Arc::new(Counting::default());
    // One retry, which resumes the cut download with a range request.
    let retrying = RegistryConfig {
        retry: RetryPolicy {
            retries: 1,
            base_delay: std::time::Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..client_config()
    };
    let engine = CopyEngine::new(
        Some(Arc::new(RegistryClient::new(retrying.clone()))),
        Arc::new(RegistryClient::new(client_config())),
        ws.blob_cache().unwrap(),
        Concurrency::default(),
        counting.clone(),
    );
    let resolved = engine.resolve_all(&plan).await;
    let report = engine.copy_resolved(resolved, Instant::now()).await;

    assert_eq!(report.images[0].status, ImageStatus::Copied);
    assert!(
        matches!(&report.images[1].status, ImageStatus::Failed(why) if why.contains("digest")),
        "{:?}",
        report.images[1].status
    );
    assert_eq!(counting.done.load(Ordering::Relaxed), 2);
    assert_eq!(*counting.planned.lock().unwrap(), Some(2));
    assert_eq!(
        mirror.digest("m/apps/good", "1").await.unwrap().as_deref(),
        Some(good.manifest_digest.as_str())
    );
    assert_eq!(
        mirror.digest("m/apps/bad", "1").await.unwrap(),
        None,
        "an image with an altered blob must not be tagged"
    );
    let failed =
        oc_mirror::workflow::error::FailedImage::from_outcomes(&report.images, &Default::default());
    assert_eq!(failed.len(), 1);
    assert!(failed[0].image.ends_with("apps/bad:1"));

    // Again, through the same cache: the good image is already there.
    let engine = CopyEngine::new(
        Some(Arc::new(RegistryClient::new(retrying))),
        Arc::new(RegistryClient::new(client_config())),
        ws.blob_cache().unwrap(),
        Concurrency::default(),
        Arc::new(Counting::default()),
    );
    let resolved = engine.resolve_all(&plan).await;
    let report = engine.copy_resolved(resolved, Instant::now()).await;
    assert_eq!(report.images[0].status, ImageStatus::AlreadyPresent);
}

#[tokio::test]
async fn library_sources_place_and_block() {
    let dir = tempfile::tempdir().unwrap();
    let isc = write_isc(
        dir.path(),
        "  additionalImages:\n    - name: quay.io/a/app:1\n    - name: quay.io/a/app-debug:1\n    - name: quay.io/b/tool:2\n      targetRepo: tools/tool\n  blockedImages:\n    - name: \"-debug\"\n",
    );
    let host = Arc::new(
        PluginHost::new(PluginHostConfig {
            cache_dir: Some(plugin_cache()),
            ..PluginHostConfig::default()
        })
        .unwrap(),
    );
    let sources = Sources::load(host, None, settings().release, Vec::new())
        .await
        .unwrap();
    let target = MirrorTarget::parse("docker://mirror.example:5000/ns").unwrap();
    let planned = sources
        .build_plan(&isc, &target, &Default::default())
        .await
        .unwrap();
    let placed: Vec<(String, String)> = planned
        .plan
        .images
        .iter()
        .map(|j| (j.source.whole(), j.destination.whole()))
        .collect();
    assert_eq!(
        placed,
        [
            (
                "quay.io/a/app:1".to_string(),
                "mirror.example:5000/ns/a/app:1".to_string()
            ),
            (
                "quay.io/b/tool:2".to_string(),
                "mirror.example:5000/ns/tools/tool:2".to_string()
            ),
        ]
    );
    assert_eq!(planned.blocked.len(), 1);
    assert_eq!(planned.blocked[0].image, "quay.io/a/app-debug:1");
    assert_eq!(planned.blocked[0].pattern, "-debug");
    assert!(
        planned
            .plan
            .images
            .iter()
            .all(|j| j.origin == oc_mirror::copy::Origin::AdditionalImages)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_mirror_workflow_fails_by_kind_and_records_state_only_when_whole() {
    let src = plain_registry().await;
    let mirror = plain_registry().await;
    let a = push(&src, "apps/a", 31).await;
    let b = push(&src, "apps/b", 41).await;
    // The first GET of b's manifest fails; the rerun gets through.
    let front = FaultProxy::start(
        &src.host(),
        vec![Fault {
            method: "GET".into(),
            path_contains: "/v2/apps/b/manifests/".into(),
            action: Action::Status(500),
            times: 1,
        }],
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let isc = write_isc(
        dir.path(),
        &format!(
            "  additionalImages:\n    - name: {0}/apps/a:1\n    - name: {0}/apps/b:1\n",
            front.host()
        ),
    );
    let ws = dir.path().join("ws");
    let target = MirrorTarget::parse(&format!("docker://{}/m", mirror.host())).unwrap();
    let ctx = context(Arc::new(Counting::default()));
    let state = ws.join("working-dir/plugin-state.json");

    let MirrorOutcome::Mirrored(report) = mirror_to_mirror(&ctx, &isc, &ws, &target).await.unwrap()
    else {
        panic!("not a dry run");
    };
    let failures: &ImageFailures = report.failures.as_ref().expect("b failed");
    assert_eq!(failures.exit_code(), EXIT_ADDITIONAL_IMAGES);
    assert_eq!(failures.failed.len(), 1);
    assert!(failures.failed[0].image.ends_with("apps/b:1"));
    assert_eq!(
        mirror.digest("m/apps/a", "1").await.unwrap().as_deref(),
        Some(a.manifest_digest.as_str())
    );
    assert!(!state.exists(), "the plugins' state waits for a whole run");
    let mapping = std::fs::read_to_string(report.outputs.mapping.as_ref().unwrap()).unwrap();
    assert_eq!(mapping.lines().count(), 2, "{mapping}");

    let MirrorOutcome::Mirrored(report) = mirror_to_mirror(&ctx, &isc, &ws, &target).await.unwrap()
    else {
        panic!("not a dry run");
    };
    assert!(report.failures.is_none());
    assert_eq!(report.copy.count(&ImageStatus::AlreadyPresent), 1);
    assert_eq!(report.copy.count(&ImageStatus::Copied), 1);
    assert_eq!(
        mirror.digest("m/apps/b", "1").await.unwrap().as_deref(),
        Some(b.manifest_digest.as_str())
    );
    assert!(state.exists());
    assert!(report.outputs.cluster_resources.as_ref().is_some_and(|d| {
        d.join("idms-oc-mirror.yaml").exists() || d.join("itms-oc-mirror.yaml").exists()
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_create_workflow_refuses_an_unresolvable_image_and_records_nothing() {
    let src = plain_registry().await;
    push(&src, "apps/a", 51).await;
    let dir = tempfile::tempdir().unwrap();
    let isc = write_isc(
        dir.path(),
        &format!(
            "  additionalImages:\n    - name: {0}/apps/a:1\n    - name: {0}/apps/missing:1\n",
            src.host()
        ),
    );
    let out = dir.path().join("out");
    let ctx = context(Arc::new(Counting::default()));
    let err = match oc_mirror::workflow::create::create(&ctx, &isc, &out).await {
        Ok(_) => panic!("an imageset was written without apps/missing"),
        Err(e) => e,
    };
    assert_eq!(
        oc_mirror::workflow::error::exit_code(&err),
        EXIT_ADDITIONAL_IMAGES
    );
    let failures = err.downcast_ref::<ImageFailures>().expect("typed failure");
    assert_eq!(failures.failed.len(), 1);
    assert!(failures.failed[0].image.ends_with("apps/missing:1"));
    let parts: Vec<_> = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("mirror_seq"))
                .collect()
        })
        .unwrap_or_default();
    assert!(parts.is_empty(), "no part may be written: {parts:?}");
    let metadata = out.join("working-dir/metadata");
    assert!(
        !metadata.exists() || std::fs::read_dir(&metadata).unwrap().next().is_none(),
        "no sequence may be recorded"
    );
}
