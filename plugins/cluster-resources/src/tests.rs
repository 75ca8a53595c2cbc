//! The host's `cluster_resources` tests, through the plugin's `publish`: the same
//! images must give the same bytes.

use oc_mirror_plugin_sdk::ImageKind as K;
use serde_json::json;

use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn img(source: &str, destination: &str, kind: K) -> MirroredImage {
    MirroredImage {
        source: source.into(),
        destination: destination.into(),
        digest: D1.into(),
        kind,
    }
}

fn generic(source: &str, destination: &str) -> MirroredImage {
    img(source, destination, K::Generic)
}

fn run_with(
    images: &[MirroredImage],
    max_nested_paths: u64,
    created_at: &str,
    version: &str,
) -> Vec<OutputFile> {
    ClusterResources::publish(
        json!({"createdAt": created_at, "version": version, "maxNestedPaths": max_nested_paths}),
        "mirror.local",
        images.to_vec(),
    )
    .expect("renders")
}

fn run(images: &[MirroredImage], max_nested_paths: u64) -> Vec<OutputFile> {
    run_with(images, max_nested_paths, "2025-05-01T10:00:00Z", "0.1.0")
}

fn file<'a>(files: &'a [OutputFile], name: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|f| f.path == name)
        .map(|f| f.contents.as_str())
}

fn docs(text: &str) -> Vec<serde_norway::Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde_norway::Value::deserialize(d).expect("yaml"))
        .collect()
}

/// `(object name, [(source, mirrors)])` of every object in a file.
/// `(object name, [(source, mirrors)])` per object.
type Objects = Vec<(String, Vec<(String, Vec<String>)>)>;

fn entries(text: &str) -> Objects {
    docs(text)
        .iter()
        .map(|doc| {
            let name = doc["metadata"]["name"].as_str().expect("name").to_string();
            let spec = &doc["spec"];
            let list = spec
                .get("imageDigestMirrors")
                .or_else(|| spec.get("imageTagMirrors"))
                .and_then(|l| l.as_sequence())
                .expect("entries");
            let list = list
                .iter()
                .map(|e| {
                    (
                        e["source"].as_str().expect("source").to_string(),
                        e["mirrors"]
                            .as_sequence()
                            .expect("mirrors")
                            .iter()
                            .map(|m| m.as_str().expect("mirror").to_string())
                            .collect(),
                    )
                })
                .collect();
            (name, list)
        })
        .collect()
}

fn one(name: &str, source: &str, mirror: &str) -> Objects {
    vec![(
        name.to_string(),
        vec![(source.to_string(), vec![mirror.to_string()])],
    )]
}

fn mixed() -> Vec<MirroredImage> {
    vec![
        img(
            "quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64",
            "mirror.local/openshift/release-images:4.18.1-x86_64",
            K::ReleasePayload,
        ),
        img(
            &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{D1}"),
            "mirror.local/openshift/release:4.18.1-x86_64-etcd",
            K::ReleaseComponent,
        ),
        img(
            &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{D2}"),
            "mirror.local/openshift/release:4.18.1-x86_64-console",
            K::ReleaseComponent,
        ),
        img(
            &format!("registry.redhat.io/rhel9/postgresql-15@{D1}"),
            &format!(
                "mirror.local/rhel9/postgresql-15:{}",
                D1.replacen(':', "-", 1)
            ),
            K::OperatorImage,
        ),
        img(
            "registry.redhat.io/redhat/redhat-operator-index:v4.18",
            "mirror.local/redhat/redhat-operator-index:v4.18",
            K::OperatorCatalog,
        ),
        generic(
            "registry.redhat.io/ubi9/ubi:latest",
            "mirror.local/ubi9/ubi:latest",
        ),
        generic(
            "registry.redhat.io/ubi9/ubi-minimal:9.4",
            "mirror.local/ubi9/ubi-minimal:9.4",
        ),
        generic(
            "registry.redhat.io/ubi9/ubi:9.4",
            "mirror.local/copy/ubi9/ubi:9.4",
        ),
        generic("quay.io/example/tool:1.0", "mirror.local/tools/tool:1.0"),
    ]
}

#[test]
fn exact_bytes() {
    let files = run(&mixed(), 0);
    let idms = r#"---
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: idms-release-0
spec:
  imageDigestMirrors:
  - mirrors:
    - mirror.local/openshift/release-images
    source: quay.io/openshift-release-dev/ocp-release
  - mirrors:
    - mirror.local/openshift/release
    source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
---
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: idms-operator-0
spec:
  imageDigestMirrors:
  - mirrors:
    - mirror.local/rhel9
    source: registry.redhat.io/rhel9
"#;
    assert_eq!(files[0].path, IDMS_FILE_NAME);
    assert_eq!(files[0].contents, idms);
    let itms = r#"---
apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: itms-release-0
spec:
  imageTagMirrors:
  - mirrors:
    - mirror.local/openshift/release-images
    source: quay.io/openshift-release-dev/ocp-release
---
apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: itms-generic-0
spec:
  imageTagMirrors:
  - mirrors:
    - mirror.local/tools/tool
    source: quay.io/example/tool
  - mirrors:
    - mirror.local/copy/ubi9
    - mirror.local/ubi9
    source: registry.redhat.io/ubi9
"#;
    assert_eq!(files[1].path, ITMS_FILE_NAME);
    assert_eq!(files[1].contents, itms);
}

#[test]
fn deduplicated_and_independent_of_order() {
    let images = mixed();
    let reference = run(&images, 0);
    for shift in 0..images.len() {
        let mut rotated = images.clone();
        rotated.rotate_left(shift);
        assert_eq!(run(&rotated, 0), reference, "rotation {shift}");
        rotated.reverse();
        assert_eq!(run(&rotated, 0), reference, "reversed rotation {shift}");
        let mut doubled = rotated.clone();
        doubled.extend(images.iter().cloned());
        assert_eq!(run(&doubled, 0), reference, "doubled rotation {shift}");
    }
}

#[test]
fn placement_by_tag_and_digest() {
    // Digest only: IDMS only.
    let files = run(
        &[generic(
            &format!("quay.io/org/app@{D1}"),
            "mirror.local/org/app:x",
        )],
        0,
    );
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, IDMS_FILE_NAME);
    // Tag and digest: both.
    let files = run(
        &[generic(
            &format!("quay.io/org/app:1@{D1}"),
            "mirror.local/org/app:1",
        )],
        0,
    );
    assert_eq!(files.len(), 2);
    // Tag only: ITMS only; no tag at all means `latest`.
    let files = run(
        &[generic("quay.io/org/app", "mirror.local/org/app:latest")],
        0,
    );
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, ITMS_FILE_NAME);
    // Graph image and catalogs: nothing.
    assert!(
        run(
            &[img(
                "quay.io/a/graph:1",
                "mirror.local/a/graph:1",
                K::GraphImage
            )],
            0
        )
        .is_empty()
    );
    assert!(run(&[], 0).is_empty());
}

#[test]
fn scopes() {
    let itms = |src: &str, dst: &str, nested: u64| {
        entries(file(&run(&[generic(src, dst)], nested), ITMS_FILE_NAME).expect("itms"))
    };
    assert_eq!(
        itms(
            "quay.io/org/team/app:1.0",
            "mirror.local/prefix/org/team/app:1.0",
            0
        ),
        one(
            "itms-generic-0",
            "quay.io/org/team",
            "mirror.local/prefix/org/team"
        )
    );
    assert_eq!(
        itms(
            "quay.io/org/team/app:1.0",
            "mirror.local/prefix/org/team/app:1.0",
            3
        ),
        one(
            "itms-generic-0",
            "quay.io/org/team/app",
            "mirror.local/prefix/org/team/app"
        )
    );
    assert_eq!(
        itms("localhost:5000/app:1.0", "mirror.local/prefix/app:1.0", 0),
        one("itms-generic-0", "localhost:5000", "mirror.local/prefix")
    );
    assert_eq!(
        itms("quay.io/org/app:1.0", "mirror.local/myorg/app:1.0", 0),
        one(
            "itms-generic-0",
            "quay.io/org/app",
            "mirror.local/myorg/app"
        )
    );
    assert_eq!(
        itms("nginx:1.25", "mirror.local/ns/library/nginx:1.25", 0),
        one(
            "itms-generic-0",
            "docker.io/library",
            "mirror.local/ns/library"
        )
    );
    assert_eq!(
        itms(
            "index.docker.io/nginx:1.25",
            "mirror.local/ns/library/nginx:1.25",
            0
        ),
        one(
            "itms-generic-0",
            "docker.io/library",
            "mirror.local/ns/library"
        )
    );
}

#[test]
fn any_created_at_reads_back_as_the_same_string() {
    for created_at in [
        "2025-05-01T10:00:00Z",
        "2025-05-01T10:00:00.5+02:00",
        "",
        "a: b",
        "'x\"",
        "true",
    ] {
        let files = run_with(
            &[generic("quay.io/org/app:1", "m.local/org/app:1")],
            0,
            created_at,
            "4.18",
        );
        let doc = &docs(&files[0].contents)[0];
        assert_eq!(
            doc["metadata"]["annotations"]["createdAt"].as_str(),
            Some(created_at)
        );
        assert_eq!(
            doc["metadata"]["annotations"]["oc-mirror_version"].as_str(),
            Some("4.18")
        );
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let bad = ClusterResources::publish(json!({"version": "1"}), "m", Vec::new());
    assert!(matches!(bad, Err(Error::InvalidConfig(_))));
    let bad = ClusterResources::publish(
        json!({"createdAt": "x", "version": "1"}),
        "m",
        vec![generic("Not A Ref", "m.local/a:1")],
    );
    assert!(matches!(bad, Err(Error::Other(m)) if m.starts_with("mirrored image 0:")));
}
