//! Fixtures and helpers for the tests of every file in `config`.
//!
//! The full example documents exercise every section at once, so each file's
//! tests start from them (or from the `v1`/`v2` wrappers) rather than keeping
//! copies of their own.

use super::document::{ConfigDocument, ImageSetConfiguration, parse_str};
use super::error::ConfigError;

/// The v1alpha2 example: every v1 section, including v1-only fields.
pub(super) const V1_FULL: &str = r#"# A v1 configuration that uses every section.
apiVersion: mirror.openshift.io/v1alpha2
kind: ImageSetConfiguration
archiveSize: 8
storageConfig:
  local:
    path: /var/lib/oc-mirror/metadata
mirror:
  platform:
    architectures:
      - amd64
      - arm64
    graph: true
    channels:
      - name: stable-4.16
      - name: fast-4.17
        type: ocp
        minVersion: 4.17.2
        maxVersion: 4.17.9
        shortestPath: true
      - name: eus-4.14
        full: true
  operators:
    - catalog: registry.example.com/olm/main-index:v4.17
      full: false
      skipDependencies: true
      targetCatalog: mirrored/main-index
      targetTag: v4.17-trimmed
      packages:
        - name: logging-operator
          defaultChannel: stable-6.1
          channels:
            - name: stable-6.1
              minVersion: 6.1.0
              maxVersion: 6.1.4
        - name: compliance-operator
          minVersion: 1.6.0
        - name: legacy-thing
          minBundle: legacy-thing.v0.3.0
          channels:
            - name: alpha
              minBundle: legacy-thing.v0.3.1
    - catalog: oci:///srv/catalogs/internal
      targetName: internal-index
      originalRef: registry.example.com/olm/internal-index:v1
      packages:
        - name: dns-helper
  additionalImages:
    - name: registry.example.com/base/toolbox:1.4
    - name: quay.io/team/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  blockedImages:
    - name: busybox
    - name: ^untrusted\.example\.org/
  helm:
    local:
      - name: dashboards
        path: /charts/dashboards-2.1.0.tgz
    repositories:
      - name: charts-example
        url: https://charts.example.com/stable
        charts:
          - name: exporter
            version: 3.2.1
            imagePaths:
              - "{.spec.template.spec.initContainers[*].image}"
"#;

/// The v2alpha1 example: every v2 section, including v2-only fields.
pub(super) const V2_FULL: &str = r#"apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
archiveSize: 2
mirror:
  platform:
    graph: true
    kubeVirtContainer: true
    platforms:
      - {os: linux, architecture: amd64}
      - os: linux
        architecture: arm64
        variant: v8
    channels:
    - name: stable-4.19
      minVersion: 4.19.2
      maxVersion: 4.19.2
    - name: candidate-4.20
      minVersion: 4.20.0-rc.1
      shortestPath: true
    - name: 4-scos-stable
      type: okd
  operators:
    - catalog: registry.example.com/olm/main-index:v4.19
      targetCatalog: disconnected/main-index
      targetTag: stable
      targetCatalogSourceTemplate: /etc/oc-mirror/catalogsource.yaml
      platforms: [{os: linux, architecture: amd64}]
      packages:
        - name: load-balancer-operator
        - name: logging-operator
          defaultChannel: stable-6.2
          channels:
            - name: stable-6.2
              minVersion: 6.2.0
        - name: api-gateway
          minVersion: 2.14.0
          maxVersion: 2.15.1
    - catalog: registry.example.com/olm/partner-index:v4.19
      full: true
      packages:
        - name: gpu-operator
  additionalImages:
    - name: registry.example.com/base/minimal:9
    - name: quay.io/team/service:v2.0
      targetRepo: apps/service
      targetTag: pinned
      platforms:
        - os: linux
          architecture: amd64
  blockedImages:
    - name: ".*-debug$"
  helm:
    repositories:
      - name: signing
        url: https://charts.example.org/signing
        charts:
          - name: policy-controller
            version: 0.9.0
            platforms: [{os: linux, architecture: arm64}]
    local:
      - name: in-house
        path: /charts/in-house
"#;

pub(super) const V2_DELETE: &str = r#"apiVersion: mirror.openshift.io/v2alpha1
kind: DeleteImageSetConfiguration
delete:
  platform:
    channels:
      - name: stable-4.19
        minVersion: 4.19.2
        maxVersion: 4.19.2
  operators:
    - catalog: registry.example.com/olm/main-index:v4.19
      packages:
        - name: load-balancer-operator
  additionalImages:
    - name: registry.example.com/base/minimal@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
"#;

pub(super) fn parse(text: &str) -> Result<ConfigDocument, ConfigError> {
    parse_str(text, "isc.yaml")
}

pub(super) fn mirror(text: &str) -> ImageSetConfiguration {
    match parse(text) {
        Ok(ConfigDocument::Mirror(config)) => config,
        other => panic!("expected an ImageSetConfiguration, got {other:?}"),
    }
}

/// Parses `text`, expects an error, and checks its field path and line.
#[track_caller]
pub(super) fn rejects(text: &str, field: &str, line: Option<usize>) -> String {
    let err = match parse(text) {
        Ok(doc) => panic!("expected an error at `{field}`, parsed {doc:?}"),
        Err(err) => err,
    };
    let shown = err.to_string();
    assert_eq!(err.field(), Some(field), "wrong field in: {shown}");
    assert_eq!(err.line(), line, "wrong line in: {shown}");
    shown
}

/// A v2 document with `body` (indented under `mirror:`) as its content.
pub(super) fn v2(body: &str) -> String {
    format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n{body}"
    )
}

pub(super) fn v1(body: &str) -> String {
    format!(
        "apiVersion: mirror.openshift.io/v1alpha2\nkind: ImageSetConfiguration\nmirror:\n{body}"
    )
}
