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
//!
//! # `targetCatalogSourceTemplate`
//!
//! A catalog configured with oc-mirror v2's `targetCatalogSourceTemplate` gets a
//! CatalogSource built on that template, as oc-mirror v2 builds it: the
//! template's fields are kept (labels, annotations, `spec.displayName`,
//! `spec.publisher`, `spec.grpcPodConfig`, `spec.updateStrategy`, anything
//! else), its `status` and `metadata.creationTimestamp` are dropped, and
//! `apiVersion`, `kind`, `metadata.name`, `metadata.namespace`, `spec.image` and
//! `spec.sourceType` are ours; our three annotations are added to the
//! template's own (ours win a clash). Keys are written sorted, whatever the
//! template's order. The ClusterCatalog ignores the template. The operator
//! source attaches each template as `operator-catalogs/<n>-template.json`
//! ([`TEMPLATE_MEDIA_TYPE`]), JSON `{"catalog", "destination", "template"}`:
//! the catalog as configured, its place in the mirror relative to the mirror
//! prefix (`path:tag`, or `path` alone for a catalog tagged by digest) and the
//! template as a JSON object. It applies to the catalog whose mirror reference
//! is `<mirror>/<destination>` (by repository when `destination` has no tag);
//! one that matches no catalog is ignored with a warning. If several differing
//! templates match one catalog, a match by tag beats one by repository, then
//! the first by attachment name and bytes wins, with a warning. A template
//! attachment that is not such JSON, or whose template, `metadata`,
//! `metadata.annotations` or `spec` is not an object, is an error naming it.

use std::collections::BTreeMap;

use oc_mirror_plugin_sdk::{Attachment, Error, ImageReference, OutputFile};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Image, OcMirrorAnnotations, Role, Stamp, to_yaml};

/// The media type of a CatalogSource template attachment (the operator
/// source's `TEMPLATE_MEDIA_TYPE`).
pub const TEMPLATE_MEDIA_TYPE: &str = "application/vnd.oc-mirror.catalog-source-template+json";

const CS_API_VERSION: &str = "operators.coreos.com/v1alpha1";
const CC_API_VERSION: &str = "olm.operatorframework.io/v1";
/// Where OperatorHub looks for catalog sources.
const CS_NAMESPACE: &str = "openshift-marketplace";
/// Characters of a tag or digest kept in the name.
const SUFFIX_LEN: usize = 12;
/// An RFC 1035 label's length limit.
const MAX_NAME: usize = 63;

/// The CatalogSource and ClusterCatalog files, one pair per catalog, sorted.
/// `attachments` may hold CatalogSource templates for catalogs in `mirror`
/// (`registry[/prefix]`); `warn` hears about the templates left unused.
pub(crate) fn catalog_sources(
    images: &[Image],
    attachments: &[Attachment],
    mirror: &str,
    stamp: Stamp,
    warn: &mut dyn FnMut(&str),
) -> Result<Vec<OutputFile>, Error> {
    // Mirror reference → the parsed reference, each catalog once.
    let catalogs: BTreeMap<String, &ImageReference> = images
        .iter()
        .filter(|i| i.role == Role::Catalog)
        .map(|i| (i.destination.to_string(), &i.destination))
        .collect();
    let templates = parse_templates(attachments, mirror)?;
    let chosen = match_templates(&templates, &catalogs, warn);
    let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (reference, image) in &catalogs {
        by_name.entry(base_name(image)).or_default().push(reference);
    }
    let mut files = Vec::new();
    for (base, references) in by_name {
        let several = references.len() > 1;
        for (n, reference) in references.into_iter().enumerate() {
            let name = if several {
                label(&format!("{base}-{}", n + 1))
            } else {
                base.clone()
            };
            let template = chosen.get(reference).map(|(_, t)| &t.object);
            files.push(OutputFile {
                path: format!("cs-{name}.yaml"),
                contents: to_yaml(
                    &Sorted(&catalog_source(&name, reference, stamp, template)?),
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

/// A template attachment's data.
#[derive(Debug, Deserialize)]
struct TemplateData {
    /// The catalog as configured (for messages).
    catalog: String,
    /// `path[:tag]` under the mirror prefix.
    destination: String,
    template: Value,
}

/// One CatalogSource template, checked.
#[derive(Debug)]
struct Template<'a> {
    /// The attachment's name.
    name: &'a str,
    catalog: String,
    /// `<mirror>/<destination>`, as written.
    target_text: String,
    /// The same, parsed (normalized).
    target: ImageReference,
    /// Whether `destination` names a tag (else it is matched by repository).
    by_tag: bool,
    object: Map<String, Value>,
}

/// Every template attachment, checked, in order of name then bytes, each once.
fn parse_templates<'a>(
    attachments: &'a [Attachment],
    mirror: &str,
) -> Result<Vec<Template<'a>>, Error> {
    let mut sorted: Vec<&Attachment> = attachments
        .iter()
        .filter(|a| a.media_type == TEMPLATE_MEDIA_TYPE)
        .collect();
    sorted.sort_by(|a, b| (&a.name, &a.data).cmp(&(&b.name, &b.data)));
    sorted.dedup_by(|a, b| a.name == b.name && a.data == b.data);
    sorted
        .into_iter()
        .map(|attachment| {
            parse_template(attachment, mirror).map_err(|reason| {
                Error::InvalidConfig(format!(
                    "the CatalogSource template attachment `{}` {reason}",
                    attachment.name
                ))
            })
        })
        .collect()
}

/// One template attachment, or why it is malformed.
fn parse_template<'a>(attachment: &'a Attachment, mirror: &str) -> Result<Template<'a>, String> {
    let data: TemplateData = serde_json::from_slice(&attachment.data).map_err(|e| {
        format!("is not JSON `{{\"catalog\", \"destination\", \"template\"}}`: {e}")
    })?;
    let Value::Object(object) = data.template else {
        return Err("has a `template` that is not an object".into());
    };
    let object_or_null =
        |value: Option<&Value>| matches!(value, None | Some(Value::Null | Value::Object(_)));
    let metadata = object.get("metadata");
    if !object_or_null(metadata)
        || !object_or_null(metadata.and_then(|m| m.get("annotations")))
        || !object_or_null(object.get("spec"))
    {
        return Err(
            "has a `template` whose `metadata`, `metadata.annotations` or `spec` is not an object"
                .into(),
        );
    }
    let destination = data.destination.trim();
    let target_text = format!("{}/{destination}", mirror.trim_end_matches('/'));
    let target = match destination {
        "" => Err("it is empty".to_string()),
        _ => ImageReference::parse(&target_text)
            .map(|r| r.normalized())
            .map_err(|e| e.to_string()),
    }
    .map_err(|e| format!("has an invalid `destination` `{destination}`: {e}"))?;
    // A tag is a `:` in the last path component (before any `@`).
    let by_tag = destination
        .split('@')
        .next()
        .and_then(|d| d.rsplit('/').next())
        .is_some_and(|last| last.contains(':'));
    Ok(Template {
        name: &attachment.name,
        catalog: data.catalog,
        target_text,
        target,
        by_tag,
        object,
    })
}

/// Whether a template matches by tag (`0`, the better) or by repository (`1`).
type Rank = u8;

/// Catalog mirror reference → the template it gets. Templates that match no
/// catalog, and templates that lose to another, are warned about.
fn match_templates<'t, 'a>(
    templates: &'t [Template<'a>],
    catalogs: &BTreeMap<String, &ImageReference>,
    warn: &mut dyn FnMut(&str),
) -> BTreeMap<String, (Rank, &'t Template<'a>)> {
    let mut chosen: BTreeMap<String, (Rank, &Template)> = BTreeMap::new();
    for template in templates {
        let t = &template.target;
        let mut matched = false;
        for (reference, image) in catalogs {
            let image = image.normalized();
            if image.registry != t.registry
                || image.repository != t.repository
                || (template.by_tag && image.tag != t.tag)
            {
                continue;
            }
            matched = true;
            let rank: Rank = if template.by_tag { 0 } else { 1 };
            match chosen.get(reference) {
                None => {
                    chosen.insert(reference.clone(), (rank, template));
                }
                Some((_, kept)) if kept.object == template.object => {}
                Some((kept_rank, kept)) => {
                    let (winner, loser) = if rank < *kept_rank {
                        (template.name, kept.name)
                    } else {
                        (kept.name, template.name)
                    };
                    warn(&format!(
                        "several CatalogSource templates for the catalog {reference}: \
                         `{winner}` is used, `{loser}` is not"
                    ));
                    if rank < *kept_rank {
                        chosen.insert(reference.clone(), (rank, template));
                    }
                }
            }
        }
        if !matched {
            warn(&format!(
                "the CatalogSource template `{}` (catalog {}) is for `{}`, \
                 which is no operator catalog in the mirror: ignored",
                template.name, template.catalog, template.target_text
            ));
        }
    }
    chosen
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

/// The CatalogSource of the catalog `image`: `template` (if any) with our
/// fields forced and our annotations added, its `status` and
/// `metadata.creationTimestamp` dropped.
fn catalog_source(
    name: &str,
    image: &str,
    stamp: Stamp,
    template: Option<&Map<String, Value>>,
) -> Result<Value, Error> {
    let mut object = template.cloned().unwrap_or_default();
    object.remove("status");
    object.insert("apiVersion".into(), CS_API_VERSION.into());
    object.insert("kind".into(), "CatalogSource".into());
    let mut metadata = take_object(&mut object, "metadata");
    metadata.remove("creationTimestamp");
    let mut annotations = take_object(&mut metadata, "annotations");
    match serde_json::to_value(stamp.annotations()) {
        Ok(Value::Object(ours)) => annotations.extend(ours),
        other => {
            return Err(Error::Other(format!(
                "cannot render the annotations as a JSON object: {other:?}"
            )));
        }
    }
    metadata.insert("annotations".into(), Value::Object(annotations));
    metadata.insert("name".into(), format!("cs-{name}").into());
    metadata.insert("namespace".into(), CS_NAMESPACE.into());
    object.insert("metadata".into(), Value::Object(metadata));
    let mut spec = take_object(&mut object, "spec");
    spec.insert("image".into(), image.into());
    spec.insert("sourceType".into(), "grpc".into());
    object.insert("spec".into(), Value::Object(spec));
    Ok(Value::Object(object))
}

/// `object[key]`, taken out, as an object (empty when it is missing or not one;
/// [`parse_template`] refused templates where it is anything but `null`).
fn take_object(object: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match object.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A JSON value written with every object's keys sorted (as Kubernetes tools
/// print them), whatever order the map keeps them in.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(Sorted)),
            other => other.serialize(serializer),
        }
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
