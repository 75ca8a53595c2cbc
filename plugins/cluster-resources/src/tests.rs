//! The host's `cluster_resources` tests, through the plugin's `publish`: the same
//! images must give the same bytes. Then the release entries, `updateService.yaml`
//! and the signature ConfigMap, with references shaped as the release plugin and
//! the host name them.

use oc_mirror_plugin_sdk::ImageKind as K;
use serde_json::json;

use super::catalog_sources::TEMPLATE_MEDIA_TYPE;
use super::signatures::{SIGNATURE_JSON_FILE_NAME, SIGNATURE_MEDIA_TYPE, SIGNATURE_YAML_FILE_NAME};
use super::update_service::UPDATE_SERVICE_FILE_NAME;
use super::*;
use oc_mirror_plugin_sdk::Attachment;

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
        results("mirror.local", images.to_vec()),
    )
    .expect("renders")
}

fn results(mirror: &str, images: Vec<MirroredImage>) -> Results {
    Results {
        mirror: mirror.into(),
        images,
        attachments: Vec::new(),
    }
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
    // Catalogs: in neither mirror set; a CatalogSource and a ClusterCatalog.
    let files = run(
        &[img(
            "registry.redhat.io/redhat/redhat-operator-index:v4.18",
            "mirror.local/redhat/redhat-operator-index:v4.18",
            K::OperatorCatalog,
        )],
        0,
    );
    assert_eq!(
        paths(&files),
        [
            "cc-redhat-operator-index-v4-18.yaml",
            "cs-redhat-operator-index-v4-18.yaml"
        ]
    );
    assert!(run(&[], 0).is_empty());
    // The graph image: in neither mirror set (only the UpdateService names it).
    let files = run(
        &[
            img("quay.io/a/graph:1", "mirror.local/a/graph:1", K::GraphImage),
            img(
                &format!("quay.io/openshift-release-dev/ocp-release@{D2}"),
                "mirror.local/openshift/release-images:4.18.1-x86_64",
                K::ReleasePayload,
            ),
        ],
        0,
    );
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, [IDMS_FILE_NAME, UPDATE_SERVICE_FILE_NAME]);
    assert_eq!(
        entries(&files[0].contents),
        one(
            "idms-release-0",
            "quay.io/openshift-release-dev/ocp-release",
            "mirror.local/openshift/release-images"
        )
    );
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
    let bad = ClusterResources::publish(json!({"version": "1"}), results("m", Vec::new()));
    assert!(matches!(bad, Err(Error::InvalidConfig(_))));
    let bad = ClusterResources::publish(
        json!({"createdAt": "x", "version": "1"}),
        results("m", vec![generic("Not A Ref", "m.local/a:1")]),
    );
    assert!(matches!(bad, Err(Error::Other(m)) if m.starts_with("mirrored image 0:")));
}

// Releases, the UpdateService and the release signatures, with references shaped
// as the release plugin and the host name them.

const MIRROR: &str = "mirror.example.com:5000/prefix";
const P1: &str = "5f33f4366b8110dfc2378a73898fa753dc912d57ab076b24244f3da030be9aee";
const P2: &str = "b5755bd36499df2c223490e5b4a7c473fc8088a70af8f256091391f9431db47f";
const ETCD: &str = "c38cbd92fce41312f3fbdce60510013b7f0d4004a03b45c8e762f98f1ed4006c";
const CONSOLE: &str = "93d8874c8c86f0fc893dbe15c765ffa0fcd342f798dbf669e08f8cbe095d230c";
const GRAPH: &str = "eef93e1d14482804277fca0172464032d1a4fdbcc338524059fa1e861454ad4d";

fn mirrored(source: &str, destination: &str, hex: &str, kind: K) -> MirroredImage {
    MirroredImage {
        source: source.into(),
        destination: destination.into(),
        digest: format!("sha256:{hex}"),
        kind,
    }
}

fn payload(version: &str, hex: &str) -> MirroredImage {
    mirrored(
        &format!("quay.io/openshift-release-dev/ocp-release@sha256:{hex}"),
        &format!("{MIRROR}/openshift/release-images:{version}-x86_64"),
        hex,
        K::ReleasePayload,
    )
}

fn component(version: &str, name: &str, hex: &str) -> MirroredImage {
    mirrored(
        &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:{hex}"),
        &format!("{MIRROR}/openshift/release:{version}-x86_64-{name}"),
        hex,
        K::ReleaseComponent,
    )
}

fn graph() -> MirroredImage {
    mirrored(
        "localhost/openshift/graph-image:latest",
        &format!("{MIRROR}/openshift/graph-image:latest"),
        GRAPH,
        K::GraphImage,
    )
}

fn release_images() -> Vec<MirroredImage> {
    vec![
        payload("4.15.1", P1),
        component("4.15.1", "etcd", ETCD),
        component("4.15.1", "console", CONSOLE),
        payload("4.15.2", P2),
        component("4.15.2", "etcd", ETCD),
        graph(),
    ]
}

fn attachment(name: &str, media_type: &str, data: &[u8]) -> Attachment {
    Attachment {
        name: name.into(),
        media_type: media_type.into(),
        data: data.to_vec(),
    }
}

fn signature(hex: &str, n: u32, data: &[u8]) -> Attachment {
    attachment(
        &format!("release-signatures/sha256-{hex}-{n}"),
        SIGNATURE_MEDIA_TYPE,
        data,
    )
}

const S1: &[u8] = b"\xa3\x01\x3b\x04\xff\xfesig-1 of 4.15.1";
const S2: &[u8] = b"\xa3\x01\xfb\xff\xbfsig-2 of 4.15.1";
const S3: &[u8] = b"\xa3\x02sig-1 of 4.15.2";

fn signature_attachments() -> Vec<Attachment> {
    vec![
        signature(P2, 1, S3),
        signature(P1, 2, S2),
        attachment("notes/readme", "text/plain", b"not a signature"),
        signature(P1, 1, S1),
    ]
}

fn publish(
    images: Vec<MirroredImage>,
    attachments: Vec<Attachment>,
) -> Result<Vec<OutputFile>, Error> {
    ClusterResources::publish(
        json!({"createdAt": "2025-05-01T10:00:00Z", "version": "0.1.0"}),
        Results {
            mirror: MIRROR.into(),
            images,
            attachments,
        },
    )
}

fn paths(files: &[OutputFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn release_entries_have_repository_scope() {
    // By digest (as the release plugin names them): IDMS only, one object, each
    // repository mapped to the one the mirror renamed it to.
    let files = publish(release_images(), Vec::new()).expect("renders");
    assert_eq!(paths(&files), [IDMS_FILE_NAME, UPDATE_SERVICE_FILE_NAME]);
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
    - mirror.example.com:5000/prefix/openshift/release-images
    source: quay.io/openshift-release-dev/ocp-release
  - mirrors:
    - mirror.example.com:5000/prefix/openshift/release
    source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
"#;
    assert_eq!(files[0].contents, idms);

    // A payload by tag: in the IDMS all the same (installer compatibility), and
    // in the ITMS; its components stay digest-only.
    let mut images = release_images();
    images[0].source = "quay.io/openshift-release-dev/ocp-release:4.15.1-x86_64".into();
    let files = publish(images, Vec::new()).expect("renders");
    assert_eq!(
        paths(&files),
        [IDMS_FILE_NAME, ITMS_FILE_NAME, UPDATE_SERVICE_FILE_NAME]
    );
    assert_eq!(files[0].contents, idms);
    assert_eq!(
        entries(&files[1].contents),
        one(
            "itms-release-0",
            "quay.io/openshift-release-dev/ocp-release",
            "mirror.example.com:5000/prefix/openshift/release-images"
        )
    );

    // A component by tag: in the ITMS.
    let files = publish(
        vec![mirrored(
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev:4.15.1-etcd",
            &format!("{MIRROR}/openshift/release:4.15.1-x86_64-etcd"),
            ETCD,
            K::ReleaseComponent,
        )],
        Vec::new(),
    )
    .expect("renders");
    assert_eq!(paths(&files), [ITMS_FILE_NAME]);
    assert_eq!(
        entries(&files[0].contents),
        one(
            "itms-release-0",
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
            "mirror.example.com:5000/prefix/openshift/release"
        )
    );
}

#[test]
fn update_service_exact_bytes() {
    let files = publish(release_images(), Vec::new()).expect("renders");
    let expected = format!(
        "apiVersion: updateservice.operator.openshift.io/v1
kind: UpdateService
metadata:
  annotations:
    createdAt: \"2025-05-01T10:00:00Z\"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: update-service-oc-mirror
  namespace: openshift-update-service
spec:
  graphDataImage: mirror.example.com:5000/prefix/openshift/graph-image@sha256:{GRAPH}
  releases: mirror.example.com:5000/prefix/openshift/release-images
  replicas: 2
"
    );
    assert_eq!(
        file(&files, UPDATE_SERVICE_FILE_NAME).expect("updateService.yaml"),
        expected
    );
}

#[test]
fn update_service_only_with_a_graph_image() {
    let mut images = release_images();
    images.retain(|i| i.kind != K::GraphImage);
    let files = publish(images, Vec::new()).expect("renders");
    assert_eq!(paths(&files), [IDMS_FILE_NAME]);
}

#[test]
fn update_service_needs_a_release_payload() {
    let mut images = release_images();
    images.retain(|i| i.kind != K::ReleasePayload);
    let error = publish(images, Vec::new()).expect_err("no payload");
    assert!(
        matches!(&error, Error::Other(m) if m.contains("an UpdateService needs release images")
            && m.contains("graph-image@sha256:")),
        "{error:?}"
    );
    // Only a graph image: the same.
    assert!(matches!(
        publish(vec![graph()], Vec::new()),
        Err(Error::Other(_))
    ));
}

#[test]
fn update_service_picks_the_first_repository_and_the_digest() {
    // Payloads in two repositories (the host does not do that): the first in
    // sorted order. A graph image without a reported digest: the destination's.
    let mut images = release_images();
    images.push(mirrored(
        &format!("quay.io/openshift-release-dev/ocp-release@sha256:{P2}"),
        &format!("{MIRROR}/aaa/release-images:4.15.2-x86_64"),
        P2,
        K::ReleasePayload,
    ));
    let graph = images.iter_mut().find(|i| i.kind == K::GraphImage).unwrap();
    graph.destination = format!("{MIRROR}/openshift/graph-image:latest@sha256:{GRAPH}");
    graph.digest = String::new();
    let files = publish(images, Vec::new()).expect("renders");
    let doc = &docs(file(&files, UPDATE_SERVICE_FILE_NAME).unwrap())[0];
    assert_eq!(
        doc["spec"]["releases"].as_str(),
        Some("mirror.example.com:5000/prefix/aaa/release-images")
    );
    assert_eq!(
        doc["spec"]["graphDataImage"].as_str().unwrap(),
        format!("{MIRROR}/openshift/graph-image@sha256:{GRAPH}")
    );
    // No digest anywhere, or a bad one: an error, not a guess.
    let mut images = release_images();
    let graph = images.iter_mut().find(|i| i.kind == K::GraphImage).unwrap();
    graph.digest = String::new();
    assert!(
        matches!(publish(images.clone(), Vec::new()), Err(Error::Other(m)) if m.contains("without a digest"))
    );
    let graph = images.iter_mut().find(|i| i.kind == K::GraphImage).unwrap();
    graph.digest = "sha256:abc".into();
    assert!(
        matches!(publish(images, Vec::new()), Err(Error::Other(m)) if m.contains("invalid digest"))
    );
}

#[test]
fn signature_configmap_exact_bytes() {
    let files = publish(release_images(), signature_attachments()).expect("renders");
    assert_eq!(
        paths(&files),
        [
            IDMS_FILE_NAME,
            UPDATE_SERVICE_FILE_NAME,
            SIGNATURE_JSON_FILE_NAME,
            SIGNATURE_YAML_FILE_NAME
        ]
    );
    let json = format!(
        r#"{{
  "apiVersion": "v1",
  "binaryData": {{
    "sha256-{P1}-1": "owE7BP/+c2lnLTEgb2YgNC4xNS4x",
    "sha256-{P1}-2": "owH7/79zaWctMiBvZiA0LjE1LjE=",
    "sha256-{P2}-3": "owJzaWctMSBvZiA0LjE1LjI="
  }},
  "kind": "ConfigMap",
  "metadata": {{
    "annotations": {{
      "createdAt": "2025-05-01T10:00:00Z",
      "createdBy": "oc-mirror v2",
      "oc-mirror_version": "0.1.0"
    }},
    "labels": {{
      "release.openshift.io/verification-signatures": ""
    }},
    "name": "mirrored-release-signatures",
    "namespace": "openshift-config-managed"
  }}
}}
"#
    );
    assert_eq!(file(&files, SIGNATURE_JSON_FILE_NAME).unwrap(), json);
    let yaml = format!(
        r#"apiVersion: v1
binaryData:
  sha256-{P1}-1: owE7BP/+c2lnLTEgb2YgNC4xNS4x
  sha256-{P1}-2: owH7/79zaWctMiBvZiA0LjE1LjE=
  sha256-{P2}-3: owJzaWctMSBvZiA0LjE1LjI=
kind: ConfigMap
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  labels:
    release.openshift.io/verification-signatures: ""
  name: mirrored-release-signatures
  namespace: openshift-config-managed
"#
    );
    assert_eq!(file(&files, SIGNATURE_YAML_FILE_NAME).unwrap(), yaml);
    // Both files hold the same object.
    let from_json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let from_yaml: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(from_json, from_yaml);
}

#[test]
fn signatures_without_images_and_keys_sorted_as_strings() {
    // Signatures do not depend on the images; ten of them for one digest: the
    // counter runs 1..=10 in N order, the keys print as strings (`-10` first).
    let attachments: Vec<Attachment> = (1..=10)
        .rev()
        .map(|n| signature(P1, n, format!("signature {n}").as_bytes()))
        .collect();
    let files = publish(Vec::new(), attachments).expect("renders");
    assert_eq!(
        paths(&files),
        [SIGNATURE_JSON_FILE_NAME, SIGNATURE_YAML_FILE_NAME]
    );
    let value: serde_json::Value =
        serde_json::from_str(file(&files, SIGNATURE_JSON_FILE_NAME).unwrap()).unwrap();
    let keys: Vec<&String> = value["binaryData"].as_object().unwrap().keys().collect();
    let mut expected: Vec<String> = (1..=10).map(|n| format!("sha256-{P1}-{n}")).collect();
    expected.sort();
    assert_eq!(keys, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        value["binaryData"][format!("sha256-{P1}-10")],
        crate::base64::encode(b"signature 10")
    );
    assert_eq!(
        value["binaryData"][format!("sha256-{P1}-2")],
        crate::base64::encode(b"signature 2")
    );
}

#[test]
fn no_signature_no_configmap() {
    let files = publish(
        release_images(),
        vec![
            attachment("notes/readme", "text/plain", b"x"),
            // The right name but another media type: not a signature.
            attachment(
                &format!("release-signatures/sha256-{P1}-1"),
                "application/octet-stream",
                S1,
            ),
            // Another media type with any name: ignored.
            attachment(
                "release-signatures/whatever",
                "application/pgp-signature",
                S1,
            ),
        ],
    )
    .expect("renders");
    assert_eq!(paths(&files), [IDMS_FILE_NAME, UPDATE_SERVICE_FILE_NAME]);
}

#[test]
fn everything_is_independent_of_order_and_duplicates() {
    let images = release_images();
    let attachments = signature_attachments();
    let reference = publish(images.clone(), attachments.clone()).expect("renders");
    assert_eq!(reference.len(), 4);
    for shift in 0..images.len().max(attachments.len()) {
        let mut i = images.clone();
        i.rotate_left(shift % images.len());
        let mut a = attachments.clone();
        a.rotate_left(shift % attachments.len());
        assert_eq!(publish(i.clone(), a.clone()).unwrap(), reference, "{shift}");
        i.reverse();
        a.reverse();
        assert_eq!(publish(i.clone(), a.clone()).unwrap(), reference, "{shift}");
        // Duplicates (e.g. the same signature attached twice, even under another
        // index) count once.
        i.extend(images.iter().cloned());
        a.extend(attachments.iter().cloned());
        a.push(signature(P1, 3, S1));
        assert_eq!(publish(i, a).unwrap(), reference, "{shift}");
    }
}

#[test]
fn malformed_signature_names_are_errors_naming_them() {
    let h = P1;
    for name in [
        format!("sha256-{h}-1"),                                          // no folder
        format!("signatures/sha256-{h}-1"),                               // another folder
        format!("release-signatures/sha256-{h}"),                         // no index
        format!("release-signatures/sha256-{h}-"),                        // empty index
        format!("release-signatures/sha256-{h}-0"),                       // 0-based
        format!("release-signatures/sha256-{h}-01"),                      // leading zero
        format!("release-signatures/sha256-{h}-1a"),                      // not a number
        format!("release-signatures/sha256-{h}-1-2"),                     // extra part
        format!("release-signatures/sha256-{h}-99999999999999999999999"), // too large
        format!("release-signatures/sha512-{h}-1"),                       // another algorithm
        format!("release-signatures/sha256={h}-1"),                       // the URL spelling
        format!("release-signatures/sha256-{}-1", &h[1..]),               // 63 digits
        format!("release-signatures/sha256-{h}0-1"),                      // 65 digits
        format!("release-signatures/sha256-{}-1", h.to_uppercase()),      // not lowercase
        format!("release-signatures/sha256-{h}-1/x"),                     // deeper
        String::new(),
    ] {
        let error = publish(
            Vec::new(),
            vec![
                signature(P2, 1, S3),
                attachment(&name, SIGNATURE_MEDIA_TYPE, S1),
            ],
        )
        .expect_err(&name);
        assert!(
            matches!(&error, Error::Other(m) if m.contains(&format!("`{name}`"))),
            "{name}: {error:?}"
        );
    }
    // An empty signature: an error too.
    let error = publish(Vec::new(), vec![signature(P1, 1, b"")]).expect_err("empty");
    assert!(
        matches!(&error, Error::Other(m) if m.contains("is empty")),
        "{error:?}"
    );
}

#[test]
fn base64_known_vectors() {
    use crate::base64::encode;
    // RFC 4648 §10.
    for (input, output) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(encode(input.as_bytes()), output, "{input:?}");
    }
    // Both non-alphanumeric characters of the standard alphabet, and the edges.
    assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "+/+/");
    assert_eq!(encode(&[0x00, 0x00, 0x00]), "AAAA");
    assert_eq!(encode(&[0xff, 0xff, 0xff]), "////");
    assert_eq!(encode(&[0xff]), "/w==");
    assert_eq!(encode(&[0xff, 0xff]), "//8=");
    // Every byte value: `base64 -w0` of bytes 0..=255.
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(
        encode(&all),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="
    );
}

#[test]
fn catalog_source_and_cluster_catalog_exact_bytes() {
    let catalog = |dest: &str| {
        img(
            "registry.redhat.io/redhat/redhat-operator-index:v4.18",
            dest,
            K::OperatorCatalog,
        )
    };
    let files = run(
        &[
            catalog("mirror.local/redhat/redhat-operator-index:v4.18"),
            catalog("mirror.local/redhat/redhat-operator-index:v4.18"),
        ],
        0,
    );
    let cs = r#"apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: cs-redhat-operator-index-v4-18
  namespace: openshift-marketplace
spec:
  image: mirror.local/redhat/redhat-operator-index:v4.18
  sourceType: grpc
"#;
    let cc = r#"apiVersion: olm.operatorframework.io/v1
kind: ClusterCatalog
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    oc-mirror_version: 0.1.0
  name: cc-redhat-operator-index-v4-18
spec:
  source:
    image:
      ref: mirror.local/redhat/redhat-operator-index:v4.18
    type: Image
"#;
    assert_eq!(
        file(&files, "cs-redhat-operator-index-v4-18.yaml"),
        Some(cs)
    );
    assert_eq!(
        file(&files, "cc-redhat-operator-index-v4-18.yaml"),
        Some(cc)
    );
    assert_eq!(files.len(), 2, "the same catalog twice is one pair");

    // Two catalogs with the same name stay apart; by digest, the digest names it.
    let files = run(
        &[
            catalog("mirror.local/a/index:v1"),
            catalog("mirror.local/b/index:v1"),
            catalog(&format!("mirror.local/c/other@{D2}")),
        ],
        0,
    );
    assert_eq!(
        paths(&files),
        [
            "cc-index-v1-1.yaml",
            "cc-index-v1-2.yaml",
            "cc-other-222222222222.yaml",
            "cs-index-v1-1.yaml",
            "cs-index-v1-2.yaml",
            "cs-other-222222222222.yaml",
        ]
    );
    assert!(
        file(&files, "cs-index-v1-2.yaml")
            .unwrap()
            .contains("image: mirror.local/b/index:v1\n")
    );
    assert!(
        file(&files, "cs-other-222222222222.yaml")
            .unwrap()
            .contains(&format!("image: mirror.local/c/other@{D2}\n"))
    );
}

// CatalogSource templates (`targetCatalogSourceTemplate`), attached by the
// operator source as `operator-catalogs/<n>-template.json`.

const CATALOG_V418: &str = "registry.redhat.io/redhat/redhat-operator-index:v4.18";

/// A template as a user writes it: every kind of field, and the ones we force
/// or drop set to something else.
const TEMPLATE: &str = r#"
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata:
  name: my-operators
  namespace: somewhere-else
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    team: platform
  annotations:
    example.com/owner: platform-team
    createdBy: someone else
spec:
  sourceType: configmap
  image: registry.example.com/wrong:1
  displayName: My Operators
  publisher: Platform Team
  priority: -100
  grpcPodConfig:
    nodeSelector:
      node-role.kubernetes.io/infra: ""
    securityContextConfig: restricted
    priorityClassName: system-cluster-critical
  updateStrategy:
    registryPoll:
      interval: 30m
status:
  message: healthy
  connectionState:
    lastObservedState: READY
"#;

fn yaml_value(text: &str) -> serde_json::Value {
    serde_norway::from_str(text).expect("yaml")
}

fn template_attachment(n: usize, destination: &str, template: serde_json::Value) -> Attachment {
    let data = json!({"catalog": CATALOG_V418, "destination": destination, "template": template});
    attachment(
        &format!("operator-catalogs/{n}-template.json"),
        TEMPLATE_MEDIA_TYPE,
        &serde_json::to_vec(&data).unwrap(),
    )
}

fn catalog_at(destination: &str) -> MirroredImage {
    mirrored(CATALOG_V418, destination, P1, K::OperatorCatalog)
}

/// Publishes into [`MIRROR`], collecting the warnings.
fn publish_warned(
    images: Vec<MirroredImage>,
    attachments: Vec<Attachment>,
) -> (Result<Vec<OutputFile>, Error>, Vec<String>) {
    let mut warnings = Vec::new();
    let files = publish_files(
        json!({"createdAt": "2025-05-01T10:00:00Z", "version": "0.1.0"}),
        &Results {
            mirror: MIRROR.into(),
            images,
            attachments,
        },
        &mut |m| warnings.push(m.to_string()),
    );
    (files, warnings)
}

/// The one CatalogSource document of `files` at `path`.
fn catalog_source_doc(files: &[OutputFile], path: &str) -> serde_json::Value {
    serde_norway::from_str(file(files, path).unwrap_or_else(|| panic!("{path}"))).expect("yaml")
}

#[test]
fn catalog_source_template_exact_bytes() {
    let images = vec![catalog_at(&format!(
        "{MIRROR}/redhat/redhat-operator-index:v4.18"
    ))];
    let (plain, _) = publish_warned(images.clone(), Vec::new());
    let plain = plain.expect("renders");
    let (files, warnings) = publish_warned(
        images,
        vec![template_attachment(
            0,
            "redhat/redhat-operator-index:v4.18",
            yaml_value(TEMPLATE),
        )],
    );
    let files = files.expect("renders");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        paths(&files),
        [
            "cc-redhat-operator-index-v4-18.yaml",
            "cs-redhat-operator-index-v4-18.yaml"
        ]
    );
    let cs = r#"apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata:
  annotations:
    createdAt: "2025-05-01T10:00:00Z"
    createdBy: oc-mirror v2
    example.com/owner: platform-team
    oc-mirror_version: 0.1.0
  labels:
    team: platform
  name: cs-redhat-operator-index-v4-18
  namespace: openshift-marketplace
spec:
  displayName: My Operators
  grpcPodConfig:
    nodeSelector:
      node-role.kubernetes.io/infra: ''
    priorityClassName: system-cluster-critical
    securityContextConfig: restricted
  image: mirror.example.com:5000/prefix/redhat/redhat-operator-index:v4.18
  priority: -100
  publisher: Platform Team
  sourceType: grpc
  updateStrategy:
    registryPoll:
      interval: 30m
"#;
    assert_eq!(
        file(&files, "cs-redhat-operator-index-v4-18.yaml"),
        Some(cs)
    );
    // The ClusterCatalog does not see the template.
    assert_eq!(
        file(&files, "cc-redhat-operator-index-v4-18.yaml"),
        file(&plain, "cc-redhat-operator-index-v4-18.yaml")
    );
}

#[test]
fn template_fields_kept_and_ours_forced() {
    let (files, _) = publish_warned(
        vec![catalog_at(&format!(
            "{MIRROR}/redhat/redhat-operator-index:v4.18"
        ))],
        vec![template_attachment(
            3,
            "redhat/redhat-operator-index:v4.18",
            yaml_value(TEMPLATE),
        )],
    );
    let doc = catalog_source_doc(&files.unwrap(), "cs-redhat-operator-index-v4-18.yaml");
    let template = yaml_value(TEMPLATE);
    // Kept as the template has them.
    for field in [
        "displayName",
        "publisher",
        "priority",
        "grpcPodConfig",
        "updateStrategy",
    ] {
        assert_eq!(doc["spec"][field], template["spec"][field], "spec.{field}");
    }
    assert_eq!(doc["metadata"]["labels"], template["metadata"]["labels"]);
    // Forced.
    assert_eq!(doc["apiVersion"], "operators.coreos.com/v1alpha1");
    assert_eq!(doc["kind"], "CatalogSource");
    assert_eq!(doc["metadata"]["name"], "cs-redhat-operator-index-v4-18");
    assert_eq!(doc["metadata"]["namespace"], "openshift-marketplace");
    assert_eq!(doc["spec"]["sourceType"], "grpc");
    assert_eq!(
        doc["spec"]["image"],
        format!("{MIRROR}/redhat/redhat-operator-index:v4.18")
    );
    // Another kind and apiVersion in the template, unknown fields: ours win,
    // unknown fields stay.
    let template = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "spec": {"futureField": {"b": 2, "a": [3, {"z": true, "y": null}]}},
        "extra": "kept",
    });
    let (files, _) = publish_warned(
        vec![catalog_at(&format!(
            "{MIRROR}/redhat/redhat-operator-index:v4.18"
        ))],
        vec![template_attachment(
            0,
            "redhat/redhat-operator-index:v4.18",
            template,
        )],
    );
    let files = files.unwrap();
    let text = file(&files, "cs-redhat-operator-index-v4-18.yaml").unwrap();
    let doc = catalog_source_doc(&files, "cs-redhat-operator-index-v4-18.yaml");
    assert_eq!(doc["apiVersion"], "operators.coreos.com/v1alpha1");
    assert_eq!(doc["kind"], "CatalogSource");
    assert_eq!(doc["extra"], "kept");
    assert_eq!(
        doc["spec"]["futureField"],
        json!({"a": [3, {"y": null, "z": true}], "b": 2})
    );
    // Keys sorted at every depth, top level included.
    assert!(
        text.starts_with("apiVersion: operators.coreos.com/v1alpha1\nextra: kept\nkind: CatalogSource\nmetadata:\n"),
        "{text}"
    );
    assert!(
        text.contains("  futureField:\n    a:\n    - 3\n    - y: null\n      z: true\n    b: 2\n"),
        "{text}"
    );
}

#[test]
fn template_annotations_merged_with_ours() {
    let destination = format!("{MIRROR}/redhat/redhat-operator-index:v4.18");
    let annotations = |template: serde_json::Value| {
        let (files, _) = publish_warned(
            vec![catalog_at(&destination)],
            vec![template_attachment(
                0,
                "redhat/redhat-operator-index:v4.18",
                template,
            )],
        );
        catalog_source_doc(&files.unwrap(), "cs-redhat-operator-index-v4-18.yaml")["metadata"]
            ["annotations"]
            .clone()
    };
    let ours = json!({
        "createdAt": "2025-05-01T10:00:00Z",
        "createdBy": "oc-mirror v2",
        "oc-mirror_version": "0.1.0",
    });
    // The template's own are kept; ours are added and win a clash.
    assert_eq!(
        annotations(json!({"metadata": {"annotations": {
            "example.com/owner": "team-a",
            "olm.catalogImageTemplate": "x:{kube_major_version}",
            "createdAt": "yesterday",
            "oc-mirror_version": "0.0.0",
        }}})),
        json!({
            "createdAt": "2025-05-01T10:00:00Z",
            "createdBy": "oc-mirror v2",
            "example.com/owner": "team-a",
            "oc-mirror_version": "0.1.0",
            "olm.catalogImageTemplate": "x:{kube_major_version}",
        })
    );
    // No metadata, no annotations, or null ones: ours alone.
    assert_eq!(annotations(json!({})), ours);
    assert_eq!(annotations(json!({"metadata": null, "spec": null})), ours);
    assert_eq!(
        annotations(json!({"metadata": {"annotations": null, "labels": {"a": "b"}}})),
        ours
    );
}

#[test]
fn template_status_and_creation_timestamp_dropped() {
    let (files, _) = publish_warned(
        vec![catalog_at(&format!(
            "{MIRROR}/redhat/redhat-operator-index:v4.18"
        ))],
        vec![template_attachment(
            0,
            "redhat/redhat-operator-index:v4.18",
            yaml_value(TEMPLATE),
        )],
    );
    let files = files.unwrap();
    let text = file(&files, "cs-redhat-operator-index-v4-18.yaml").unwrap();
    let doc = catalog_source_doc(&files, "cs-redhat-operator-index-v4-18.yaml");
    assert!(doc.get("status").is_none(), "{text}");
    assert!(doc["metadata"].get("creationTimestamp").is_none(), "{text}");
    assert!(
        !text.contains("status") && !text.contains("creationTimestamp"),
        "{text}"
    );
    assert!(
        !text.contains("healthy") && !text.contains("READY"),
        "{text}"
    );
}

#[test]
fn templates_match_by_tag_and_by_repository_for_digest_tags() {
    let digest_tag = format!("sha256-{P2}");
    let images = vec![
        catalog_at(&format!("{MIRROR}/redhat/redhat-operator-index:v4.17")),
        catalog_at(&format!("{MIRROR}/redhat/redhat-operator-index:v4.18")),
        // A catalog configured by digest: the host tags it `sha256-<hex>`.
        mirrored(
            &format!("registry.redhat.io/redhat/certified-operator-index@sha256:{P2}"),
            &format!("{MIRROR}/redhat/certified-operator-index:{digest_tag}"),
            P2,
            K::OperatorCatalog,
        ),
        // An image of the same repository that is no catalog: never matched.
        generic(
            "registry.redhat.io/redhat/community-operator-index:v4.18",
            &format!("{MIRROR}/redhat/community-operator-index:v4.18"),
        ),
    ];
    let named = |name: &str| json!({"spec": {"displayName": name}});
    let (files, warnings) = publish_warned(
        images.clone(),
        vec![
            template_attachment(0, "redhat/redhat-operator-index:v4.18", named("v4.18")),
            template_attachment(1, "redhat/certified-operator-index", named("certified")),
        ],
    );
    let files = files.expect("renders");
    assert!(warnings.is_empty(), "{warnings:?}");
    let display = |path: &str| catalog_source_doc(&files, path)["spec"]["displayName"].clone();
    assert_eq!(display("cs-redhat-operator-index-v4-18.yaml"), "v4.18");
    // The same repository under another tag: not this template's.
    assert_eq!(
        display("cs-redhat-operator-index-v4-17.yaml"),
        serde_json::Value::Null
    );
    // Named by its tag's first 12 characters, `sha256-<5 hex digits>`.
    let certified = format!("cs-certified-operator-index-sha256-{}.yaml", &P2[..5]);
    assert_eq!(display(&certified), "certified");
    assert_eq!(
        catalog_source_doc(&files, &certified)["spec"]["image"],
        format!("{MIRROR}/redhat/certified-operator-index:{digest_tag}")
    );

    // A destination without a tag matches the repository's catalogs whatever
    // their tags (or digests); one with a tag beats it for its own catalog.
    let mut images = images;
    images.push(mirrored(
        &format!("registry.redhat.io/redhat/redhat-operator-index@sha256:{P1}"),
        &format!("{MIRROR}/redhat/redhat-operator-index@sha256:{P1}"),
        P1,
        K::OperatorCatalog,
    ));
    let attachments = vec![
        template_attachment(0, "redhat/redhat-operator-index", named("any")),
        template_attachment(1, "redhat/redhat-operator-index:v4.18", named("v4.18")),
    ];
    let (files, warnings) = publish_warned(images.clone(), attachments.clone());
    let files = files.expect("renders");
    let display = |path: &str| catalog_source_doc(&files, path)["spec"]["displayName"].clone();
    assert_eq!(display("cs-redhat-operator-index-v4-17.yaml"), "any");
    assert_eq!(display("cs-redhat-operator-index-v4-18.yaml"), "v4.18");
    assert_eq!(
        display(&format!("cs-redhat-operator-index-{}.yaml", &P1[..12])),
        "any"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`operator-catalogs/1-template.json` is used")
            && warnings[0].contains("`operator-catalogs/0-template.json` is not"),
        "{warnings:?}"
    );
    // Independent of the order of images and attachments, and of duplicates.
    let mut reversed_images = images.clone();
    reversed_images.reverse();
    let mut reversed = attachments.clone();
    reversed.reverse();
    reversed.extend(attachments.iter().cloned());
    let (again, _) = publish_warned(reversed_images, reversed);
    assert_eq!(again.unwrap(), files);
}

#[test]
fn unmatched_templates_are_ignored_with_a_warning() {
    let images = vec![
        catalog_at(&format!("{MIRROR}/redhat/redhat-operator-index:v4.18")),
        generic("quay.io/org/app:1", &format!("{MIRROR}/org/app:1")),
    ];
    let (plain, _) = publish_warned(images.clone(), Vec::new());
    let plain = plain.unwrap();
    for destination in [
        "redhat/redhat-operator-index:v4.17",        // another tag
        "other/redhat-operator-index:v4.18",         // another path
        "prefix/redhat/redhat-operator-index:v4.18", // the prefix twice
        "org/app:1",                                 // not a catalog
        "org/app",                                   // not a catalog, by repository
    ] {
        let (files, warnings) = publish_warned(
            images.clone(),
            vec![template_attachment(7, destination, yaml_value(TEMPLATE))],
        );
        assert_eq!(files.unwrap(), plain, "{destination}");
        assert_eq!(warnings.len(), 1, "{destination}: {warnings:?}");
        assert!(
            warnings[0].contains("`operator-catalogs/7-template.json`")
                && warnings[0].contains(CATALOG_V418)
                && warnings[0].contains(&format!("{MIRROR}/{destination}")),
            "{destination}: {warnings:?}"
        );
    }
    // Without any catalog at all: the same.
    let (files, warnings) = publish_warned(
        Vec::new(),
        vec![template_attachment(
            0,
            "redhat/redhat-operator-index:v4.18",
            json!({}),
        )],
    );
    assert!(files.unwrap().is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // Another media type is not a template at all: no warning.
    let mut other = template_attachment(0, "nowhere:1", json!({}));
    other.media_type = "application/json".into();
    let (files, warnings) = publish_warned(images, vec![other]);
    assert_eq!(files.unwrap(), plain);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn malformed_template_attachments_are_errors_naming_them() {
    let images = vec![catalog_at(&format!(
        "{MIRROR}/redhat/redhat-operator-index:v4.18"
    ))];
    let destination = "redhat/redhat-operator-index:v4.18";
    let raw = |data: &[u8]| {
        attachment(
            "operator-catalogs/4-template.json",
            TEMPLATE_MEDIA_TYPE,
            data,
        )
    };
    let with = |value: serde_json::Value| raw(&serde_json::to_vec(&value).unwrap());
    for (why, bad) in [
        ("not JSON", raw(TEMPLATE.as_bytes())),
        ("empty", raw(b"")),
        ("JSON but not an object", raw(b"[1, 2]")),
        (
            "template a string",
            with(json!({"catalog": CATALOG_V418, "destination": destination, "template": "x"})),
        ),
        (
            "template a list",
            with(json!({"catalog": CATALOG_V418, "destination": destination, "template": [{}]})),
        ),
        (
            "template null",
            with(json!({"catalog": CATALOG_V418, "destination": destination, "template": null})),
        ),
        (
            "no template",
            with(json!({"catalog": CATALOG_V418, "destination": destination})),
        ),
        (
            "no destination",
            with(json!({"catalog": CATALOG_V418, "template": {}})),
        ),
        (
            "empty destination",
            with(json!({"catalog": CATALOG_V418, "destination": "", "template": {}})),
        ),
        (
            "invalid destination",
            with(json!({"catalog": CATALOG_V418, "destination": "Bad Path:v1", "template": {}})),
        ),
        (
            "metadata a string",
            with(json!({"catalog": CATALOG_V418, "destination": destination,
                "template": {"metadata": "x"}})),
        ),
        (
            "annotations a list",
            with(json!({"catalog": CATALOG_V418, "destination": destination,
                "template": {"metadata": {"annotations": ["a"]}}})),
        ),
        (
            "spec a number",
            with(json!({"catalog": CATALOG_V418, "destination": destination,
                "template": {"spec": 1}})),
        ),
    ] {
        let (result, _) = publish_warned(images.clone(), vec![bad]);
        let error = result.expect_err(why);
        assert!(
            matches!(&error, Error::InvalidConfig(m) if m.contains("`operator-catalogs/4-template.json`")),
            "{why}: {error:?}"
        );
    }
}
