//! `cs-<name>-<suffix>.yaml` (a CatalogSource, OLM v0) and `cc-<name>-<suffix>.yaml`
//! (a ClusterCatalog, OLM v1) for every operator catalog in the mirror, as
//! oc-mirror v2 writes them: a cluster applies one of the two to see the
//! mirrored operators in OperatorHub.
//!
//! ```yaml
//! apiVersion: operators.coreos.com/v1alpha1
//! kind: CatalogSource
//! metadata:
//!   annotations: {createdAt: …, createdBy: oc-mirror v2, oc-mirror_version: …}
//!   name: cs-redhat-operator-index-v4-18
//!   namespace: openshift-marketplace
//! spec:
//!   image: mirror.example.com/redhat/redhat-operator-index:v4.18
//!   sourceType: grpc
//! ---
//! apiVersion: olm.operatorframework.io/v1
//! kind: ClusterCatalog
//! metadata:
//!   annotations: {…}
//!   name: cc-redhat-operator-index-v4-18
//! spec:
//!   source:
//!     image: {ref: mirror.example.com/redhat/redhat-operator-index:v4.18}
//!     type: Image
//! ```
//!
//! - The name is `<last path component of the catalog in the mirror>-<suffix>`:
//!   the suffix is the first 12 characters of its tag, else the first 12 hex
//!   digits of its digest, else `0`; everything is made an RFC 1035 label
//!   (lower case; anything but letters, digits and `-` becomes `-`; at most 63
//!   characters, no `-` at either end).
//! - The image is the catalog in the mirror by tag when it has one (a tag the
//!   next imageset moves with the catalog, as OLM polls it), else by digest.
//! - Two catalogs that would get the same name keep it apart by a `-<n>`
//!   (in sorted order of their mirror references), so neither file is lost.

use std::collections::{BTreeMap, BTreeSet};

use oc_mirror_plugin_sdk::{Error, OutputFile};
use serde::Serialize;

use crate::{Image, OcMirrorAnnotations, Role, Stamp, to_yaml};

const CS_API_VERSION: &str = "operators.coreos.com/v1alpha1";
const CC_API_VERSION: &str = "olm.operatorframework.io/v1";
/// Where OperatorHub looks for catalog sources.
const CS_NAMESPACE: &str = "openshift-marketplace";
/// Characters of a tag or digest kept in the name.
const SUFFIX_LEN: usize = 12;
/// An RFC 1035 label's length limit.
const MAX_NAME: usize = 63;

/// The CatalogSource and ClusterCatalog files, one pair per catalog, sorted.
pub(crate) fn catalog_sources(images: &[Image], stamp: Stamp) -> Result<Vec<OutputFile>, Error> {
    // Mirror reference → base name, each catalog once.
    let catalogs: BTreeSet<String> = images
        .iter()
        .filter(|i| i.role == Role::Catalog)
        .map(|i| i.destination.to_string())
        .collect();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for reference in catalogs {
        let image = oc_mirror_plugin_sdk::ImageReference::parse(&reference)?;
        by_name
            .entry(base_name(&image))
            .or_default()
            .push(reference);
    }
    let mut files = Vec::new();
    for (base, references) in by_name {
        let several = references.len() > 1;
        for (n, reference) in references.iter().enumerate() {
            let name = if several {
                label(&format!("{base}-{}", n + 1))
            } else {
                base.clone()
            };
            files.push(OutputFile {
                path: format!("cs-{name}.yaml"),
                contents: to_yaml(
                    &catalog_source(&name, reference, stamp),
                    stamp,
                    "CatalogSource",
                )?,
            });
            files.push(OutputFile {
                path: format!("cc-{name}.yaml"),
                contents: to_yaml(
                    &cluster_catalog(&name, reference, stamp),
                    stamp,
                    "ClusterCatalog",
                )?,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// `<last path component>-<suffix>`, as a label.
fn base_name(image: &oc_mirror_plugin_sdk::ImageReference) -> String {
    let last = image
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&image.repository);
    let suffix: String = match (&image.tag, &image.digest) {
        (Some(tag), _) => tag.chars().take(SUFFIX_LEN).collect(),
        (None, Some(digest)) => digest
            .split_once(':')
            .map(|(_, hex)| hex)
            .unwrap_or(digest)
            .chars()
            .take(SUFFIX_LEN)
            .collect(),
        (None, None) => "0".to_string(),
    };
    label(&format!("{last}-{suffix}"))
}

/// `text` as an RFC 1035 label: lower case, `[a-z0-9-]`, at most 63, no `-` at
/// the ends (the `cs-`/`cc-` prefix makes it start with a letter).
fn label(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let mut out: String = trimmed.chars().take(MAX_NAME - 3).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "0".into() } else { out }
}

fn catalog_source(name: &str, image: &str, stamp: Stamp) -> CatalogSource {
    CatalogSource {
        api_version: CS_API_VERSION.into(),
        kind: "CatalogSource".into(),
        metadata: NamespacedMetadata {
            annotations: stamp.annotations(),
            name: format!("cs-{name}"),
            namespace: CS_NAMESPACE.into(),
        },
        spec: CatalogSourceSpec {
            image: image.into(),
            source_type: "grpc".into(),
        },
    }
}

fn cluster_catalog(name: &str, image: &str, stamp: Stamp) -> ClusterCatalog {
    ClusterCatalog {
        api_version: CC_API_VERSION.into(),
        kind: "ClusterCatalog".into(),
        metadata: ClusterMetadata {
            annotations: stamp.annotations(),
            name: format!("cc-{name}"),
        },
        spec: ClusterCatalogSpec {
            source: CatalogSourceRef {
                image: ImageRef {
                    reference: image.into(),
                },
                kind: "Image".into(),
            },
        },
    }
}

// The YAML shapes; field order is the key order (alphabetical).

#[derive(Debug, Serialize)]
struct CatalogSource {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: NamespacedMetadata,
    spec: CatalogSourceSpec,
}

#[derive(Debug, Serialize)]
struct NamespacedMetadata {
    annotations: OcMirrorAnnotations,
    name: String,
    namespace: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogSourceSpec {
    image: String,
    source_type: String,
}

#[derive(Debug, Serialize)]
struct ClusterCatalog {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: ClusterMetadata,
    spec: ClusterCatalogSpec,
}

#[derive(Debug, Serialize)]
struct ClusterMetadata {
    annotations: OcMirrorAnnotations,
    name: String,
}

#[derive(Debug, Serialize)]
struct ClusterCatalogSpec {
    source: CatalogSourceRef,
}

#[derive(Debug, Serialize)]
struct CatalogSourceRef {
    image: ImageRef,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Serialize)]
struct ImageRef {
    #[serde(rename = "ref")]
    reference: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> oc_mirror_plugin_sdk::ImageReference {
        oc_mirror_plugin_sdk::ImageReference::parse(text).unwrap()
    }

    #[test]
    fn names_follow_oc_mirror_v2() {
        assert_eq!(
            base_name(&parsed("m.example:5000/redhat/redhat-operator-index:v4.18")),
            "redhat-operator-index-v4-18"
        );
        assert_eq!(
            base_name(&parsed(&format!("m/cat@sha256:{}", "ab".repeat(32)))),
            "cat-abababababab"
        );
        assert_eq!(
            base_name(&parsed("m/cat_alog:V1.2.3-rc.1_build")),
            "cat-alog-v1-2-3-rc-1"
        );
        let long = format!("m/{}:t", "x".repeat(80));
        assert!(base_name(&parsed(&long)).len() <= MAX_NAME - 3);
        assert_eq!(label("--a.b--"), "a-b");
    }
}
