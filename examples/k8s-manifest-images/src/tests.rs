//! The plugin's logic, natively: YAML walking, URLs, config, and fetching each URL
//! through a fake of the host's `http` import. (The host imports are only linked in
//! the wasm component, so `resolve` itself is not called here.)

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
fn declares_http_for_the_hosts_the_user_grants() {
    let info = K8sManifestImages::info();
    assert_eq!(info.capabilities, ["http:*"]);
    assert_eq!(info.config_key, "k8sManifestImages");
    assert_eq!(info.name, "k8s-manifest-images");
}

#[test]
fn url_hosts_are_what_the_user_grants() {
    assert_eq!(
        url_host("https://Raw.GitHubUserContent.com/o/r/main/a.yaml").unwrap(),
        "raw.githubusercontent.com"
    );
    assert_eq!(
        url_host("http://git.local:8080?x").unwrap(),
        "git.local:8080"
    );
    assert_eq!(url_host("https://user@h.example/x").unwrap(), "h.example");
    assert!(url_host("file:///etc/passwd").is_err());
    assert!(url_host("https:///x").is_err());
}

/// A fake of the host's `http` import: the manifests it serves, by URL, and a
/// denial for anything else (as the host denies a host not granted).
fn served<'a>(pages: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Result<String, Error> + 'a {
    move |url: &str| {
        pages
            .iter()
            .find(|(u, _)| *u == url)
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| Error::Denied(format!("http:{}", url_host(url).unwrap())))
    }
}

#[test]
fn fetches_each_configured_url_over_http() {
    let deployment = "https://raw.githubusercontent.com/org/app/v1/deploy/app.yaml";
    let cronjob = "http://git.internal.example:8443/app/cronjob.yaml";
    let pages = [
        (
            deployment,
            "kind: Deployment\nspec: {template: {spec: {containers: [{image: nginx:1.27}]}}}\n",
        ),
        (
            cronjob,
            "kind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{image: quay.io/org/backup:2}]}}}}}\n",
        ),
    ];
    let urls = parse_config(serde_json::json!({"urls": [deployment, cronjob]})).unwrap();
    let mut asked = Vec::new();
    let mut all = BTreeSet::new();
    for url in &urls {
        all.extend(
            images_at(url, |u| {
                asked.push(u.to_string());
                served(&pages)(u)
            })
            .unwrap(),
        );
    }
    assert_eq!(asked, [deployment, cronjob]);
    assert_eq!(
        to_mirror(all)
            .into_iter()
            .map(|i| i.source)
            .collect::<Vec<_>>(),
        ["docker.io/library/nginx:1.27", "quay.io/org/backup:2"]
    );

    // A host the user did not grant: the host's denial comes through as such.
    let err = images_at("https://example.com/app.yaml", served(&pages)).unwrap_err();
    assert_eq!(err, Error::Denied("http:example.com".into()));
    // A manifest that names a bad image: the URL, the document and the field.
    let bad = [(deployment, "spec: {containers: [{image: 42}]}")];
    let Error::Other(message) = images_at(deployment, served(&bad)).unwrap_err() else {
        panic!("not `other`");
    };
    assert_eq!(
        message,
        format!("{deployment}: document 1, `spec.containers[0].image`: not a string")
    );
}

#[test]
fn only_successful_utf8_responses_of_bounded_size_are_read() {
    let url = "https://h.example/a.yaml";
    assert_eq!(
        body_text(url, 200, &b"kind: Pod\n"[..]).unwrap(),
        "kind: Pod\n"
    );
    assert_eq!(
        body_text(url, 404, &b"not found"[..]).unwrap_err(),
        Error::Upstream(format!("GET {url}: HTTP 404"))
    );
    assert!(matches!(
        body_text(url, 200, &[0xff, 0xfe][..]),
        Err(Error::Upstream(m)) if m.contains("not UTF-8")
    ));
    let huge = std::io::repeat(b'a').take(MAX_MANIFEST_BYTES + 1);
    assert!(matches!(
        body_text(url, 200, huge),
        Err(Error::Upstream(m)) if m.contains("larger than")
    ));
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
        serde_json::json!({"urls": ["ftp://h/a.yaml"]}),
        serde_json::json!({"urls": ["https://h/a.yaml", "https:///a.yaml"]}),
        serde_json::json!({"url": "https://h/a.yaml"}),
        serde_json::json!({"urls": ["https://h/a.yaml"], "extra": 1}),
    ] {
        assert!(
            matches!(parse_config(bad.clone()), Err(Error::InvalidConfig(_))),
            "{bad}"
        );
    }
}
