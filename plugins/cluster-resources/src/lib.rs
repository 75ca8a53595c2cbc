//! Publisher of the OpenShift cluster resources for mirrored images, in the shape
//! oc-mirror v2 writes them to `working-dir/cluster-resources/`. It serves every
//! image of the ImageSetConfiguration (`mirror.platform`, `mirror.operators`,
//! `mirror.additionalImages`, `mirror.helm`), whatever content source named it,
//! the release signatures content sources attach, and the CatalogSource
//! templates (`targetCatalogSourceTemplate`) the operator source attaches.
//!
//! It never reads a registry or a file and never writes one: given what was
//! mirrored where (and the attachments), it returns the files' text and the host
//! writes them. The mirror sets are byte for byte what the host's
//! `cluster_resources` module wrote before this plugin replaced it (the rules are
//! copied from there, and so is its `exact_bytes` test).
//!
//! | file                        | what                                                   | written when                                  |
//! |-----------------------------|--------------------------------------------------------|-----------------------------------------------|
//! | `idms-oc-mirror.yaml`       | ImageDigestMirrorSet objects (pulls by digest)         | an image has an IDMS entry (table below)      |
//! | `itms-oc-mirror.yaml`       | ImageTagMirrorSet objects (pulls by tag)               | an image has an ITMS entry                    |
//! | `updateService.yaml`        | the UpdateService (OSUS) `update-service-oc-mirror`    | a graph image was mirrored ([`update_service`]) |
//! | `signature-configmap.json`  | the ConfigMap `mirrored-release-signatures`, as JSON   | a release signature was attached ([`signatures`]) |
//! | `signature-configmap.yaml`  | the same ConfigMap, as YAML                            | likewise                                      |
//! | `cs-<name>-<suffix>.yaml`   | a CatalogSource for an operator catalog                | per catalog mirrored ([`catalog_sources`])    |
//! | `cc-<name>-<suffix>.yaml`   | a ClusterCatalog (OLM v1) for the same catalog         | likewise                                      |
//!
//! Every object carries the annotations `createdAt`, `createdBy: oc-mirror v2` and
//! `oc-mirror_version`. Everything is de-duplicated and sorted: the same images and
//! attachments in any order give the same bytes.
//!
//! # Mirror sets
//!
//! Workloads, operators and the release payload on a disconnected cluster still
//! name their images by the *source* names (`quay.io/…`). These two objects tell
//! CRI-O "when you want something under this source, fetch it from this mirror
//! instead". An IDMS applies to pulls by digest, an ITMS to pulls by tag.
//!
//! | source reference              | IDMS | ITMS |
//! |-------------------------------|------|------|
//! | digest only (`repo@sha256:…`) | yes  | no   |
//! | tag only (`repo:tag`)         | no   | yes  |
//! | tag and digest                | yes  | yes  |
//! | release payload by tag        | yes  | yes  |
//!
//! Catalogs and the graph image are left out of both. Each file holds one object per
//! category that has entries, in the order `release` (payloads and their
//! components), `operator`, `generic`, named `idms-<category>-0` /
//! `itms-<category>-0`; a file without entries is not returned.
//!
//! An entry has namespace scope (`registry/<path minus its last component>`) when
//! the mirror kept the source path (the destination path ends with the whole
//! source path), repository scope (`registry/path`) otherwise (the SDK's
//! [`oc_mirror_plugin_sdk::scope`], shared with the `registries-conf` publisher,
//! Docker Hub normalized as runtimes match it): release images,
//! which the mirror renames (`…/ocp-release` → `<mirror>/openshift/release-images`,
//! `…/ocp-v4.0-art-dev` → `<mirror>/openshift/release`), always get repository
//! scope.
//!
//! Config (JSON): `{"createdAt": "2025-05-01T10:00:00Z", "version": "0.1.0",
//! "maxNestedPaths": 0}` — the annotation values, and `--max-nested-paths` (above 0,
//! every mirror-set entry has repository scope).

use std::collections::{BTreeMap, BTreeSet};

use oc_mirror_plugin_sdk::scope::mirror_scope;
use oc_mirror_plugin_sdk::{
    Error, ImageReference, MirroredImage, OutputFile, PluginInfo, Publisher, Results,
};
use serde::{Deserialize, Serialize};

pub mod base64;
pub mod catalog_sources;
pub mod signatures;
pub mod update_service;

/// File holding the ImageDigestMirrorSet objects.
pub const IDMS_FILE_NAME: &str = "idms-oc-mirror.yaml";
/// File holding the ImageTagMirrorSet objects.
pub const ITMS_FILE_NAME: &str = "itms-oc-mirror.yaml";

/// `apiVersion` of both kinds of mirror set.
const API_VERSION: &str = "config.openshift.io/v1";
/// Value of the `createdBy` annotation, as oc-mirror v2 writes it.
const CREATED_BY: &str = "oc-mirror v2";

/// The publisher's settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    /// `createdAt` annotation: when the resources were generated (RFC 3339).
    created_at: String,
    /// `oc-mirror_version` annotation: the host's version.
    version: String,
    /// `--max-nested-paths`; above 0 forces repository scope
    /// ([`mirror_scope`]).
    #[serde(default)]
    max_nested_paths: u64,
}

/// The plugin.
pub struct ClusterResources;

impl Publisher for ClusterResources {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "cluster-resources".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: String::new(),
            capabilities: Vec::new(),
        }
    }

    fn publish(config: serde_json::Value, results: Results) -> Result<Vec<OutputFile>, Error> {
        publish_files(config, &results, &mut |message| {
            oc_mirror_plugin_sdk::log::warn(message)
        })
    }
}

/// [`ClusterResources::publish`], with the warnings told to `warn` (the host's
/// log in the plugin; the host's log import does not exist in native tests).
fn publish_files(
    config: serde_json::Value,
    results: &Results,
    warn: &mut dyn FnMut(&str),
) -> Result<Vec<OutputFile>, Error> {
    let config: Config = oc_mirror_plugin_sdk::config(config)?;
    let images = results
        .images
        .iter()
        .enumerate()
        .map(|(i, image)| Image::from_wit(i, image))
        .collect::<Result<Vec<_>, _>>()?;
    let stamp = Stamp {
        created_at: &config.created_at,
        version: &config.version,
    };
    let mut files = mirror_sets(&images, stamp, config.max_nested_paths)?;
    files.extend(update_service::update_service(&images, stamp)?);
    files.extend(catalog_sources::catalog_sources(
        &images,
        &results.attachments,
        &results.mirror,
        stamp,
        warn,
    )?);
    files.extend(signatures::signature_files(&results.attachments, stamp)?);
    Ok(files)
}

/// The annotation values every object carries.
#[derive(Debug, Clone, Copy)]
struct Stamp<'a> {
    /// `createdAt`.
    created_at: &'a str,
    /// `oc-mirror_version`.
    version: &'a str,
}

impl Stamp<'_> {
    fn annotations(self) -> OcMirrorAnnotations {
        OcMirrorAnnotations {
            created_at: self.created_at.to_string(),
            created_by: CREATED_BY.to_string(),
            version: self.version.to_string(),
        }
    }
}

oc_mirror_plugin_sdk::export_publisher!(ClusterResources);

/// The mirror-set object an entry goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Release,
    Operator,
    Generic,
}

impl Category {
    /// Every category, in the order the objects appear in a file.
    const ALL: [Category; 3] = [Category::Release, Category::Operator, Category::Generic];

    fn as_str(self) -> &'static str {
        match self {
            Category::Release => "release",
            Category::Operator => "operator",
            Category::Generic => "generic",
        }
    }
}

/// What about an image changes where its entries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A release payload: always in the IDMS, even by tag; the `releases` of the
    /// UpdateService.
    Payload,
    /// The graph-data image: in neither mirror set; the `graphDataImage` of the
    /// UpdateService.
    Graph,
    /// An operator catalog: in neither mirror set.
    Catalog,
    /// Everything else.
    Other,
}

/// One mirrored image, parsed.
#[derive(Debug)]
struct Image {
    source: ImageReference,
    destination: ImageReference,
    /// `sha256:…` of its manifest in the mirror, as the host reported it.
    digest: String,
    category: Category,
    role: Role,
}

impl Image {
    fn from_wit(index: usize, image: &MirroredImage) -> Result<Image, Error> {
        use oc_mirror_plugin_sdk::ImageKind as K;
        let parse = |text: &str| {
            ImageReference::parse(text)
                .map_err(|e| Error::Other(format!("mirrored image {index}: {e}")))
        };
        let (category, role) = match image.kind {
            K::ReleasePayload => (Category::Release, Role::Payload),
            K::ReleaseComponent => (Category::Release, Role::Other),
            K::GraphImage => (Category::Release, Role::Graph),
            K::OperatorCatalog => (Category::Operator, Role::Catalog),
            K::OperatorImage => (Category::Operator, Role::Other),
            K::Generic => (Category::Generic, Role::Other),
        };
        Ok(Image {
            source: parse(&image.source)?,
            destination: parse(&image.destination)?,
            digest: image.digest.clone(),
            category,
            role,
        })
    }
}

/// The IDMS file then the ITMS file, each only if it has entries.
fn mirror_sets(
    images: &[Image],
    stamp: Stamp,
    max_nested_paths: u64,
) -> Result<Vec<OutputFile>, Error> {
    let mut digest_entries = Entries::default();
    let mut tag_entries = Entries::default();
    for image in images {
        if matches!(image.role, Role::Graph | Role::Catalog) {
            continue;
        }
        let (in_idms, in_itms) = placement(image);
        let scope = mirror_scope(&image.source, &image.destination, max_nested_paths);
        if in_idms {
            digest_entries.add(image.category, &scope.source, &scope.mirror);
        }
        if in_itms {
            tag_entries.add(image.category, &scope.source, &scope.mirror);
        }
    }
    let mut files = Vec::new();
    if !digest_entries.is_empty() {
        let contents = render(
            &digest_entries,
            stamp,
            "ImageDigestMirrorSet",
            "idms",
            |e| DigestSpec {
                image_digest_mirrors: e,
            },
        )?;
        files.push(OutputFile {
            path: IDMS_FILE_NAME.into(),
            contents,
        });
    }
    if !tag_entries.is_empty() {
        let contents = render(&tag_entries, stamp, "ImageTagMirrorSet", "itms", |e| {
            TagSpec {
                image_tag_mirrors: e,
            }
        })?;
        files.push(OutputFile {
            path: ITMS_FILE_NAME.into(),
            contents,
        });
    }
    Ok(files)
}

/// Whether an image's entry goes into the IDMS and/or the ITMS: a digest (or being
/// the payload) puts it in the IDMS; anything not named by digest alone (no tag
/// and no digest means `:latest`) in the ITMS.
fn placement(image: &Image) -> (bool, bool) {
    let has_digest = image.source.digest.is_some();
    let digest_only = has_digest && image.source.tag.is_none();
    (has_digest || image.role == Role::Payload, !digest_only)
}

/// Entries of one file, per category: source → set of mirrors, sorted.
#[derive(Default)]
struct Entries(BTreeMap<Category, BTreeMap<String, BTreeSet<String>>>);

impl Entries {
    fn add(&mut self, category: Category, source: &str, mirror: &str) {
        self.0
            .entry(category)
            .or_default()
            .entry(source.to_string())
            .or_default()
            .insert(mirror.to_string());
    }

    fn is_empty(&self) -> bool {
        self.0.values().all(BTreeMap::is_empty)
    }
}

/// One file: a `---\n`-prefixed YAML document per non-empty category.
fn render<S: Serialize>(
    entries: &Entries,
    stamp: Stamp,
    kind: &str,
    prefix: &str,
    spec: impl Fn(Vec<MirrorEntry>) -> S,
) -> Result<String, Error> {
    let mut out = String::new();
    for category in Category::ALL {
        let Some(by_source) = entries.0.get(&category) else {
            continue;
        };
        if by_source.is_empty() {
            continue;
        }
        let list = by_source
            .iter()
            .map(|(source, mirrors)| MirrorEntry {
                mirrors: mirrors.iter().cloned().collect(),
                source: source.clone(),
            })
            .collect();
        let object = MirrorSet {
            api_version: API_VERSION.to_string(),
            kind: kind.to_string(),
            metadata: Metadata {
                annotations: stamp.annotations(),
                name: format!("{prefix}-{}-0", category.as_str()),
            },
            spec: spec(list),
        };
        out.push_str("---\n");
        out.push_str(&to_yaml(&object, stamp, kind)?);
    }
    Ok(out)
}

/// One object as YAML, as oc-mirror v2 writes it: keys in field order (every
/// shape below declares them sorted, as Kubernetes tools print them), two-space
/// indentation, sequences not indented under their key, `createdAt` quoted.
fn to_yaml<T: Serialize>(object: &T, stamp: Stamp, kind: &str) -> Result<String, Error> {
    let text = serde_norway::to_string(object)
        .map_err(|e| Error::Other(format!("cannot render {kind} as YAML: {e}")))?;
    Ok(quote_created_at(text, stamp.created_at))
}

/// Double-quotes a plain `createdAt` value, as oc-mirror writes it (a YAML 1.1
/// reader would otherwise load it as a timestamp).
fn quote_created_at(text: String, created_at: &str) -> String {
    let safe = !created_at.is_empty()
        && created_at
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '+' | '.'));
    if !safe {
        return text;
    }
    text.replacen(
        &format!("\n    createdAt: {created_at}\n"),
        &format!("\n    createdAt: \"{created_at}\"\n"),
        1,
    )
}

// The YAML shapes; field order is the key order (alphabetical, as oc-mirror v2).

#[derive(Debug, Serialize, Deserialize)]
struct MirrorSet<S> {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: S,
}

#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    annotations: OcMirrorAnnotations,
    name: String,
}

/// `createdAt`, `createdBy`, `oc-mirror_version`, on every object.
#[derive(Debug, Serialize, Deserialize)]
struct OcMirrorAnnotations {
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "createdBy")]
    created_by: String,
    #[serde(rename = "oc-mirror_version")]
    version: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestSpec {
    image_digest_mirrors: Vec<MirrorEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagSpec {
    image_tag_mirrors: Vec<MirrorEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MirrorEntry {
    mirrors: Vec<String>,
    source: String,
}

#[cfg(test)]
mod tests;
