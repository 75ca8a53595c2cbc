//! The pure parts, natively: YAML walking, URL checks, config. (The host imports are
//! only linked in the wasm component, so `resolve` itself is not called here.)

use super::*;

fn images(text: &str) -> Vec<String> {
    images_in_manifests(text)
        .expect("manifests")
        .into_iter()
        .collect()
}

#[test]
fn workloads_of_every_kind_in_one_multi_document_file() {
    let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: quay.io/org/migrate:v2
      containers:
        - name: web
          image: nginx:1.27
        - name: sidecar
          image: quay.io/org/proxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
---
apiVersion: apps/v1
kind: StatefulSet
spec:
  template:
    spec:
      containers:
        - {name: db, image: "registry.example.com:5000/db/postgres:16"}
---
apiVersion: apps/v1
kind: DaemonSet
spec:
  template:
    spec:
      containers: [{name: agent, image: ghcr.io/org/agent:1.0}]
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: backup
              image: docker.io/library/busybox
---
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
        - name: once
          image: quay.io/org/job:1
---
apiVersion: v1
kind: Pod
spec:
  containers:
    - name: app
      image: nginx:1.27
  ephemeralContainers:
    - name: debug
      image: quay.io/org/debug:latest
"#;
    assert_eq!(
        images(text),
        [
            "docker.io/library/busybox:latest",
            "docker.io/library/nginx:1.27",
            "ghcr.io/org/agent:1.0",
            "quay.io/org/debug:latest",
            "quay.io/org/job:1",
            "quay.io/org/migrate:v2",
            "quay.io/org/proxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "registry.example.com:5000/db/postgres:16",
        ]
    );
}

#[test]
fn custom_resources_and_lists_with_pod_templates() {
    let text = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  template:
    spec:
      containers:
        - name: app
          image: quay.io/org/rollout:3
---
apiVersion: v1
kind: List
items:
  - kind: Deployment
    spec:
      template:
        spec:
          containers:
            - image: quay.io/org/in-list:1
  - kind: Service
    spec: {ports: [{port: 80}]}
"#;
    assert_eq!(
        images(text),
        ["quay.io/org/in-list:1", "quay.io/org/rollout:3"]
    );
}

#[test]
fn image_keys_outside_container_lists_are_ignored() {
    let text = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    image: quay.io/org/not-this:1
data:
  image: quay.io/org/nor-this:1
  containers: "a string, not a list"
---
apiVersion: v1
kind: Pod
spec:
  containers:
    - name: app
      image: quay.io/org/this:1
      env:
        - {name: image, value: quay.io/org/not-an-env-value:1}
"#;
    assert_eq!(images(text), ["quay.io/org/this:1"]);
}

#[test]
fn empty_documents_comments_and_merge_keys() {
    let text = r#"
---
# only a comment
---
base: &base
  image: quay.io/org/merged:1
spec:
  containers:
    - <<: *base
      name: merged
---
"#;
    assert_eq!(images(text), ["quay.io/org/merged:1"]);
    assert!(images("").is_empty());
}

#[test]
fn a_bad_image_names_the_document_and_field() {
    let text = r#"
kind: Pod
spec: {containers: [{image: quay.io/org/ok:1}]}
---
kind: Deployment
spec:
  template:
    spec:
      containers:
        - image: "{{ .Values.image }}"
"#;
    let err = images_in_manifests(text).unwrap_err();
    assert!(
        err.starts_with("document 2, `spec.template.spec.containers[0].image`:"),
        "{err}"
    );
    let err = images_in_manifests("spec: {containers: [{image: 42}]}").unwrap_err();
    assert_eq!(err, "document 1, `spec.containers[0].image`: not a string");
}

#[test]
fn bad_yaml_names_the_document() {
    let err = images_in_manifests("a: 1\n---\nb: [unclosed\n").unwrap_err();
    assert!(err.starts_with("document 2: not valid YAML:"), "{err}");
}

#[test]
fn images_become_sorted_generic_entries() {
    let set: BTreeSet<String> = ["quay.io/b:1".to_string(), "quay.io/a:1".to_string()].into();
    let out = to_mirror(set);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].source, "quay.io/a:1");
    assert!(matches!(out[0].kind, ImageKind::Generic));
    assert!(out[0].destination_hint.is_none() && out[0].platforms.is_empty());
}

#[test]
fn url_hosts_and_the_declared_list() {
    assert_eq!(
        url_host("https://Raw.GitHubUserContent.com/o/r/main/a.yaml").unwrap(),
        "raw.githubusercontent.com"
    );
    assert_eq!(url_host("http://git.local:8080?x").unwrap(), "git.local:8080");
    assert_eq!(url_host("https://user@h.example/x").unwrap(), "h.example");
    assert!(url_host("file:///etc/passwd").is_err());
    assert!(url_host("https:///x").is_err());

    let declared = hosts_from(" raw.githubusercontent.com, git.local:8080 ,,");
    assert_eq!(declared, ["git.local:8080", "raw.githubusercontent.com"]);
    assert!(check_url("https://raw.githubusercontent.com/o/r/v1/app.yaml", &declared).is_ok());
    assert!(check_url("http://git.local:8080/app.yaml", &declared).is_ok());
    let err = check_url("https://example.com/app.yaml", &declared).unwrap_err();
    assert!(err.contains("K8S_MANIFEST_IMAGES_HTTP_HOSTS=example.com"), "{err}");
    // The default build declares GitHub's raw host only.
    assert_eq!(hosts_from(DEFAULT_HTTP_HOSTS), ["raw.githubusercontent.com"]);
}

#[test]
fn config_needs_a_non_empty_url_list() {
    assert_eq!(
        parse_config(serde_json::json!({"urls": ["https://h/a.yaml"]})).unwrap(),
        ["https://h/a.yaml"]
    );
    for bad in [
        serde_json::Value::Null,
        serde_json::json!({"urls": []}),
        serde_json::json!({"url": "https://h/a.yaml"}),
        serde_json::json!({"urls": ["https://h/a.yaml"], "extra": 1}),
    ] {
        assert!(
            matches!(parse_config(bad.clone()), Err(Error::InvalidConfig(_))),
            "{bad}"
        );
    }
}
