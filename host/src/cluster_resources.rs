//! ImageDigestMirrorSet (IDMS) and ImageTagMirrorSet (ITMS) for what was mirrored,
//! in the shape oc-mirror v2 writes to `working-dir/cluster-resources/`.
//!
//! Why: workloads, operators and the release payload on a disconnected cluster still
//! name their images by the *source* names (`quay.io/…`, `registry.redhat.io/…`).
//! The cluster cannot reach those registries; these two objects tell CRI-O "when you
//! want something under this source, fetch it from this mirror instead". An IDMS
//! applies to pulls by digest, an ITMS to pulls by tag.
//!
//! What goes where (oc-mirror v2 `internal/pkg/clusterresources`, current upstream,
//! including OCPBUGS-85331):
//!
//! | source reference              | IDMS | ITMS |
//! |-------------------------------|------|------|
//! | digest only (`repo@sha256:…`) | yes  | no   |
//! | tag only (`repo:tag`)         | no   | yes  |
//! | tag and digest                | yes  | yes  |
//! | release payload by tag        | yes  | yes  |
//!
//! The release payload is in the IDMS even when named by tag, because the installer
//! looks for the payload's mirror there (CLID-205). Catalog images and the update
//! graph image are left out of both: the cluster reaches them through the
//! CatalogSource / ClusterCatalog and UpdateService objects, which already name
//! the mirror.
//!
//! Each file holds one object per category that has entries, in the order
//! `release`, `operator`, `generic`, named `idms-<category>-0` / `itms-<category>-0`.
//! A file without any entry is not produced at all. The output is a pure function of
//! the *set* of images: entries are de-duplicated and sorted, so the same images
//! given in any order yield the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::reference::Reference;

/// File holding the ImageDigestMirrorSet objects.
pub const IDMS_FILE_NAME: &str = "idms-oc-mirror.yaml";
/// File holding the ImageTagMirrorSet objects.
pub const ITMS_FILE_NAME: &str = "itms-oc-mirror.yaml";

/// `apiVersion` of both kinds of mirror set.
const API_VERSION: &str = "config.openshift.io/v1";
/// Value of the `createdBy` annotation, as oc-mirror v2 writes it.
const CREATED_BY: &str = "oc-mirror v2";

/// The part of the image set an image belongs to; each category gets its own
/// mirror-set object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Release payloads and their component images.
    Release,
    /// Operator bundles and the images they relate to (and catalogs, which are
    /// excluded by their [`ImageKind`]).
    Operator,
    /// Additional images and images found in helm charts.
    Generic,
}

impl Category {
    /// Every category, in the order the objects appear in a file.
    const ALL: [Category; 3] = [Category::Release, Category::Operator, Category::Generic];

    /// The name used in object names (`idms-<name>-0`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Release => "release",
            Category::Operator => "operator",
            Category::Generic => "generic",
        }
    }
}

/// What an image is, where that changes how the cluster must learn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// A release payload (`ocp-release`): always in the IDMS, even by tag.
    Payload,
    /// A component image of a release payload.
    Component,
    /// An operator catalog: not in IDMS/ITMS (a CatalogSource points at it).
    Catalog,
    /// The update graph data image: not in IDMS/ITMS (the UpdateService points at it).
    GraphImage,
    /// Anything else: bundles, related images, additional images, helm images.
    Other,
}

/// One mirrored image, as the cluster needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MirroredImage {
    /// The reference as the cluster will ask for it (the original source name,
    /// with the tag and/or digest the image set named it by).
    pub source: Reference,
    /// Where the image now lives in the mirror registry.
    pub destination: Reference,
    /// Which object (`release`, `operator`, `generic`) its entry goes into.
    pub category: Category,
    /// Payloads are forced into the IDMS; catalogs and the graph image are left out.
    pub kind: ImageKind,
}

/// The values of the annotations oc-mirror puts on every object it generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotations {
    /// `createdAt`: when the resources were generated, RFC 3339 (e.g.
    /// `2025-05-01T10:00:00Z`).
    pub created_at: String,
    /// `oc-mirror_version`: the version of this program.
    pub version: String,
}

/// A file to write under `working-dir/cluster-resources/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFile {
    /// File name, e.g. [`IDMS_FILE_NAME`].
    pub name: String,
    /// Complete YAML text: one `---`-prefixed document per object.
    pub contents: String,
}

/// The mirror sets could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ClusterResourcesError {
    /// The YAML serializer refused an object (not expected for these plain strings).
    #[error("cannot render {file} as YAML: {source}")]
    Yaml {
        /// The file being rendered.
        file: &'static str,
        /// What the serializer reported.
        source: serde_norway::Error,
    },
}

/// Builds `idms-oc-mirror.yaml` and `itms-oc-mirror.yaml` for `images`.
///
/// Returns the IDMS file first, then the ITMS file; a file with no entry at all is
/// omitted, so the result has zero, one or two files. Within a file, a category
/// without entries gets no object.
///
/// `max_nested_paths > 0` (the `--max-nested-paths` flag) means destination paths
/// may have been flattened, so every entry uses repository scope; with `0` the
/// namespace scope is used wherever the mirror kept the source path (see
/// [`scope`]).
pub fn mirror_sets(
    images: &[MirroredImage],
    annotations: &Annotations,
    max_nested_paths: usize,
) -> Result<Vec<ResourceFile>, ClusterResourcesError> {
    let force_repository_scope = max_nested_paths > 0;
    let mut digest_entries = Entries::default();
    let mut tag_entries = Entries::default();
    for image in images {
        if matches!(image.kind, ImageKind::Catalog | ImageKind::GraphImage) {
            continue;
        }
        let (in_idms, in_itms) = placement(image);
        if !in_idms && !in_itms {
            continue;
        }
        let (source, mirror) = scope(&image.source, &image.destination, force_repository_scope);
        if in_idms {
            digest_entries.add(image.category, &source, &mirror);
        }
        if in_itms {
            tag_entries.add(image.category, &source, &mirror);
        }
    }

    let mut files = Vec::new();
    if !digest_entries.is_empty() {
        let contents = render(
            IDMS_FILE_NAME,
            &digest_entries,
            annotations,
            "ImageDigestMirrorSet",
            "idms",
            |entries| DigestSpec {
                image_digest_mirrors: entries,
            },
        )?;
        files.push(ResourceFile {
            name: IDMS_FILE_NAME.to_string(),
            contents,
        });
    }
    if !tag_entries.is_empty() {
        let contents = render(
            ITMS_FILE_NAME,
            &tag_entries,
            annotations,
            "ImageTagMirrorSet",
            "itms",
            |entries| TagSpec {
                image_tag_mirrors: entries,
            },
        )?;
        files.push(ResourceFile {
            name: ITMS_FILE_NAME.to_string(),
            contents,
        });
    }
    Ok(files)
}

/// Whether an image's entry goes into the IDMS and/or the ITMS.
///
/// A digest (alone or next to a tag) means the cluster may pull it by digest; a
/// payload is in the IDMS regardless. Everything not named by digest alone may be
/// pulled by tag. A reference with neither tag nor digest means `:latest`, so it
/// counts as by tag.
fn placement(image: &MirroredImage) -> (bool, bool) {
    let has_digest = image.source.digest().is_some();
    let digest_only = has_digest && image.source.tag().is_none();
    let in_idms = has_digest || image.kind == ImageKind::Payload;
    let in_itms = !digest_only;
    (in_idms, in_itms)
}

/// The `(source, mirror)` pair of the entry that covers `source` mirrored at
/// `destination`.
///
/// **Namespace scope** is used when the mirror kept the source path, i.e. the
/// destination repository is the source repository or ends with `/` + the source
/// repository. Then the entry maps the source *namespace* (the repository path
/// minus its last component, under its registry) to the matching destination
/// namespace, so one entry covers every sibling image. Example:
///
/// ```text
/// quay.io/org/team/app:1.0  →  mirror.local/prefix/org/team/app:1.0
/// entry: source quay.io/org/team  →  mirror mirror.local/prefix/org/team
/// ```
///
/// A repository of a single component (`localhost:5000/app`) has no namespace:
/// its namespace scope is the registry itself (`localhost:5000` → the destination's
/// parent, e.g. `mirror.local/prefix`), as oc-mirror v2 does. Docker Hub official
/// images keep their implicit `library/` (`docker.io/library/nginx` →
/// `docker.io/library`), which is how the cluster's container runtime names them.
///
/// **Repository scope** is used otherwise (e.g. `targetRepo`, or release
/// components moved to `openshift/release`), and always when
/// `force_repository_scope` is set (`--max-nested-paths`): the entry maps the
/// whole source repository to the whole destination repository, without tag or
/// digest.
///
/// The suffix test works on whole path components: oc-mirror compares raw strings,
/// so it would take `mirror/myapp` as having kept the path `app`; that would map
/// the source registry onto a namespace where the image is not, and is not
/// reproduced here.
pub fn scope(
    source: &Reference,
    destination: &Reference,
    force_repository_scope: bool,
) -> (String, String) {
    let (src_registry, src_path) = normalized(source);
    let (dst_registry, dst_path) = normalized(destination);
    if !force_repository_scope && path_preserved(&src_path, &dst_path) {
        (
            namespace_scope(&src_registry, &src_path),
            namespace_scope(&dst_registry, &dst_path),
        )
    } else {
        (
            format!("{src_registry}/{src_path}"),
            format!("{dst_registry}/{dst_path}"),
        )
    }
}

/// Registry and repository path of a reference, with Docker Hub spelled the way
/// container runtimes match it: `docker.io` (not `index.docker.io`) and official
/// images under `library/`.
fn normalized(r: &Reference) -> (String, String) {
    let registry = match r.registry() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    let path = if registry == "docker.io" && !r.repository().contains('/') {
        format!("library/{}", r.repository())
    } else {
        r.repository().to_string()
    };
    (registry.to_string(), path)
}

/// Whether the destination path ends with the whole source path (component-wise).
fn path_preserved(source_path: &str, destination_path: &str) -> bool {
    match destination_path.strip_suffix(source_path) {
        Some("") => true,
        Some(prefix) => prefix.ends_with('/'),
        None => false,
    }
}

/// `registry/<path minus last component>`, or just `registry` for a one-component
/// path.
fn namespace_scope(registry: &str, path: &str) -> String {
    match path.rsplit_once('/') {
        Some((namespace, _)) => format!("{registry}/{namespace}"),
        None => registry.to_string(),
    }
}

/// Entries of one file, per category: source → set of mirrors. Sorted maps make
/// the output independent of the input order and drop duplicates.
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

/// Renders one file: a `---\n`-prefixed YAML document per non-empty category.
fn render<S: Serialize>(
    file: &'static str,
    entries: &Entries,
    annotations: &Annotations,
    kind: &str,
    prefix: &str,
    spec: impl Fn(Vec<MirrorEntry>) -> S,
) -> Result<String, ClusterResourcesError> {
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
                annotations: OcMirrorAnnotations {
                    created_at: annotations.created_at.clone(),
                    created_by: CREATED_BY.to_string(),
                    version: annotations.version.clone(),
                },
                name: format!("{prefix}-{}-0", category.as_str()),
            },
            spec: spec(list),
        };
        let text = serde_norway::to_string(&object)
            .map_err(|source| ClusterResourcesError::Yaml { file, source })?;
        out.push_str("---\n");
        out.push_str(&quote_created_at(text, &annotations.created_at));
    }
    Ok(out)
}

/// Double-quotes the `createdAt` value, as oc-mirror writes it.
///
/// serde_norway follows YAML 1.2, where an RFC 3339 time is an ordinary string,
/// and leaves it plain; a YAML 1.1 reader (PyYAML, and so Ansible) would load a
/// plain `2025-05-01T10:00:00Z` as a timestamp rather than the string an
/// annotation must be. Only a value made of characters that need no escaping is
/// touched, and only if the serializer left it plain.
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

// The YAML shapes. Field order is the output key order; it is alphabetical at every
// level, as in the files oc-mirror v2 writes (its YAML library sorts map keys).

/// An ImageDigestMirrorSet or ImageTagMirrorSet object.
#[derive(Debug, Serialize, Deserialize)]
struct MirrorSet<S> {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: S,
}

/// `metadata` of a mirror set (cluster-scoped: no namespace).
#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    annotations: OcMirrorAnnotations,
    name: String,
}

/// The annotations oc-mirror v2 adds to what it generates.
#[derive(Debug, Serialize, Deserialize)]
struct OcMirrorAnnotations {
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "createdBy")]
    created_by: String,
    #[serde(rename = "oc-mirror_version")]
    version: String,
}

/// `spec` of an ImageDigestMirrorSet.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestSpec {
    image_digest_mirrors: Vec<MirrorEntry>,
}

/// `spec` of an ImageTagMirrorSet.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagSpec {
    image_tag_mirrors: Vec<MirrorEntry>,
}

/// One `{mirrors, source}` entry.
#[derive(Debug, Serialize, Deserialize)]
struct MirrorEntry {
    mirrors: Vec<String>,
    source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::parse;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn ann() -> Annotations {
        Annotations {
            created_at: "2025-05-01T10:00:00Z".to_string(),
            version: "0.1.0".to_string(),
        }
    }

    fn img(source: &str, destination: &str, category: Category, kind: ImageKind) -> MirroredImage {
        MirroredImage {
            source: parse(source).expect("source"),
            destination: parse(destination).expect("destination"),
            category,
            kind,
        }
    }

    fn generic(source: &str, destination: &str) -> MirroredImage {
        img(source, destination, Category::Generic, ImageKind::Other)
    }

    fn run(images: &[MirroredImage], max_nested_paths: usize) -> Vec<ResourceFile> {
        mirror_sets(images, &ann(), max_nested_paths).expect("renders")
    }

    fn file<'a>(files: &'a [ResourceFile], name: &str) -> Option<&'a str> {
        files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.contents.as_str())
    }

    /// Every document of a multi-document YAML text.
    fn docs(text: &str) -> Vec<serde_norway::Value> {
        serde_norway::Deserializer::from_str(text)
            .map(|d| serde_norway::Value::deserialize(d).expect("valid YAML document"))
            .collect()
    }

    /// `(source, [mirrors])` entries of one object.
    type EntryList = Vec<(String, Vec<String>)>;
    /// `(object name, entries)` for every object of a file.
    type Objects = Vec<(String, EntryList)>;

    /// The objects of a file, as plain names and strings.
    fn entries(text: &str) -> Objects {
        docs(text)
            .iter()
            .map(|doc| {
                let name = doc["metadata"]["name"].as_str().expect("name").to_string();
                let spec = &doc["spec"];
                let list = if spec.get("imageDigestMirrors").is_some() {
                    &spec["imageDigestMirrors"]
                } else {
                    &spec["imageTagMirrors"]
                };
                let list = list
                    .as_sequence()
                    .expect("list")
                    .iter()
                    .map(|e| {
                        let mirrors = e["mirrors"]
                            .as_sequence()
                            .expect("mirrors")
                            .iter()
                            .map(|m| m.as_str().expect("mirror").to_string())
                            .collect();
                        (e["source"].as_str().expect("source").to_string(), mirrors)
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

    #[test]
    fn digest_only_goes_to_idms_only() {
        let files = run(
            &[generic(
                &format!("quay.io/org/app@{D1}"),
                &format!(
                    "mirror.local/ns/org/app:{}",
                    crate::reference::digest_tag(D1)
                ),
            )],
            0,
        );
        assert_eq!(files.len(), 1);
        let idms = file(&files, IDMS_FILE_NAME).expect("idms");
        assert_eq!(
            entries(idms),
            one("idms-generic-0", "quay.io/org", "mirror.local/ns/org")
        );
        assert!(file(&files, ITMS_FILE_NAME).is_none());
    }

    #[test]
    fn tag_only_goes_to_itms_only() {
        let files = run(
            &[generic(
                "quay.io/org/app:1.0",
                "mirror.local/ns/org/app:1.0",
            )],
            0,
        );
        assert_eq!(files.len(), 1);
        assert!(file(&files, IDMS_FILE_NAME).is_none());
        let itms = file(&files, ITMS_FILE_NAME).expect("itms");
        assert_eq!(
            entries(itms),
            one("itms-generic-0", "quay.io/org", "mirror.local/ns/org")
        );
    }

    #[test]
    fn tag_and_digest_goes_to_both() {
        let files = run(
            &[img(
                &format!("nvcr.io/nvidia/k8s/container-toolkit:v1.19.1@{D1}"),
                "mirror.local/ns/nvidia/k8s/container-toolkit:v1.19.1",
                Category::Operator,
                ImageKind::Other,
            )],
            0,
        );
        let expected = |name: &str| one(name, "nvcr.io/nvidia/k8s", "mirror.local/ns/nvidia/k8s");
        assert_eq!(
            entries(file(&files, IDMS_FILE_NAME).expect("idms")),
            expected("idms-operator-0")
        );
        assert_eq!(
            entries(file(&files, ITMS_FILE_NAME).expect("itms")),
            expected("itms-operator-0")
        );
    }

    #[test]
    fn release_payload_by_tag_is_in_idms() {
        let payload = img(
            "quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64",
            "mirror.local/openshift/release-images:4.18.1-x86_64",
            Category::Release,
            ImageKind::Payload,
        );
        let files = run(std::slice::from_ref(&payload), 0);
        let expected = |name: &str| {
            one(
                name,
                "quay.io/openshift-release-dev/ocp-release",
                "mirror.local/openshift/release-images",
            )
        };
        assert_eq!(
            entries(file(&files, IDMS_FILE_NAME).expect("idms")),
            expected("idms-release-0")
        );
        // It is named by tag, so it is in the ITMS as well, as upstream does.
        assert_eq!(
            entries(file(&files, ITMS_FILE_NAME).expect("itms")),
            expected("itms-release-0")
        );
        // A component by tag is not forced into the IDMS.
        let component = img(
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev:etcd",
            "mirror.local/openshift/release:4.18.1-x86_64-etcd",
            Category::Release,
            ImageKind::Component,
        );
        let files = run(&[component], 0);
        assert!(file(&files, IDMS_FILE_NAME).is_none());
    }

    #[test]
    fn catalogs_and_graph_image_are_excluded() {
        let catalog = img(
            "registry.redhat.io/redhat/redhat-operator-index:v4.18",
            "mirror.local/redhat/redhat-operator-index:v4.18",
            Category::Operator,
            ImageKind::Catalog,
        );
        let graph = img(
            "localhost:55000/openshift/graph-image:latest",
            "mirror.local/openshift/graph-image:latest",
            Category::Release,
            ImageKind::GraphImage,
        );
        assert!(run(&[catalog.clone(), graph.clone()], 0).is_empty());

        let bundle = img(
            &format!("registry.redhat.io/ns/bundle@{D1}"),
            &format!(
                "mirror.local/ns/bundle:{}",
                crate::reference::digest_tag(D1)
            ),
            Category::Operator,
            ImageKind::Other,
        );
        let files = run(&[catalog, graph, bundle], 0);
        assert_eq!(files.len(), 1);
        assert_eq!(
            entries(&files[0].contents),
            one(
                "idms-operator-0",
                "registry.redhat.io/ns",
                "mirror.local/ns"
            )
        );
    }

    #[test]
    fn namespace_scope_takes_one_path_component_off() {
        let (s, m) = scope(
            &parse("quay.io/org/team/app:1.0").expect("ref"),
            &parse("mirror.local/prefix/org/team/app:1.0").expect("ref"),
            false,
        );
        assert_eq!(s, "quay.io/org/team");
        assert_eq!(m, "mirror.local/prefix/org/team");
        // Destination without prefix: the path is the same.
        let (s, m) = scope(
            &parse("quay.io/org/app:1.0").expect("ref"),
            &parse("mirror.local/org/app:1.0").expect("ref"),
            false,
        );
        assert_eq!(
            (s.as_str(), m.as_str()),
            ("quay.io/org", "mirror.local/org")
        );
        // A one-component path: the namespace is the registry itself.
        let (s, m) = scope(
            &parse("localhost:5000/app:1.0").expect("ref"),
            &parse("mirror.local/prefix/app:1.0").expect("ref"),
            false,
        );
        assert_eq!(
            (s.as_str(), m.as_str()),
            ("localhost:5000", "mirror.local/prefix")
        );
    }

    #[test]
    fn repository_scope_when_path_not_kept() {
        // targetRepo-style destination.
        let (s, m) = scope(
            &parse("quay.io/example/tool:1.0").expect("ref"),
            &parse("mirror.local/prefix/tools/tool:1.0").expect("ref"),
            false,
        );
        assert_eq!(s, "quay.io/example/tool");
        assert_eq!(m, "mirror.local/prefix/tools/tool");
        // A suffix that is not whole components does not count.
        let (s, m) = scope(
            &parse("quay.io/org/app:1.0").expect("ref"),
            &parse("mirror.local/myorg/app:1.0").expect("ref"),
            false,
        );
        assert_eq!(
            (s.as_str(), m.as_str()),
            ("quay.io/org/app", "mirror.local/myorg/app")
        );
        // Release components are renamed, so they get repository scope.
        let files = run(
            &[img(
                &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{D1}"),
                "mirror.local/openshift/release:4.18.1-x86_64-etcd",
                Category::Release,
                ImageKind::Component,
            )],
            0,
        );
        assert_eq!(
            entries(file(&files, IDMS_FILE_NAME).expect("idms")),
            one(
                "idms-release-0",
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
                "mirror.local/openshift/release"
            )
        );
    }

    #[test]
    fn max_nested_paths_forces_repository_scope() {
        let images = [generic(
            "quay.io/org/team/app:1.0",
            "mirror.local/prefix/org/team/app:1.0",
        )];
        let files = run(&images, 3);
        assert_eq!(
            entries(file(&files, ITMS_FILE_NAME).expect("itms")),
            one(
                "itms-generic-0",
                "quay.io/org/team/app",
                "mirror.local/prefix/org/team/app"
            )
        );
        let files = run(&images, 0);
        assert_eq!(
            entries(file(&files, ITMS_FILE_NAME).expect("itms")),
            one(
                "itms-generic-0",
                "quay.io/org/team",
                "mirror.local/prefix/org/team"
            )
        );
    }

    #[test]
    fn docker_hub_sources_keep_library() {
        let files = run(
            &[generic("nginx:1.25", "mirror.local/ns/library/nginx:1.25")],
            0,
        );
        assert_eq!(
            entries(file(&files, ITMS_FILE_NAME).expect("itms")),
            one(
                "itms-generic-0",
                "docker.io/library",
                "mirror.local/ns/library"
            )
        );
        // Even a reference built by hand with the legacy host and no `library/`.
        let odd = MirroredImage {
            source: Reference::with_tag("index.docker.io".into(), "nginx".into(), "1.25".into()),
            destination: parse("mirror.local/ns/library/nginx:1.25").expect("ref"),
            category: Category::Generic,
            kind: ImageKind::Other,
        };
        assert_eq!(run(&[odd], 0), files);
    }

    fn mixed() -> Vec<MirroredImage> {
        vec![
            img(
                "quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64",
                "mirror.local/openshift/release-images:4.18.1-x86_64",
                Category::Release,
                ImageKind::Payload,
            ),
            img(
                &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{D1}"),
                "mirror.local/openshift/release:4.18.1-x86_64-etcd",
                Category::Release,
                ImageKind::Component,
            ),
            img(
                &format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@{D2}"),
                "mirror.local/openshift/release:4.18.1-x86_64-console",
                Category::Release,
                ImageKind::Component,
            ),
            img(
                &format!("registry.redhat.io/rhel9/postgresql-15@{D1}"),
                &format!(
                    "mirror.local/rhel9/postgresql-15:{}",
                    crate::reference::digest_tag(D1)
                ),
                Category::Operator,
                ImageKind::Other,
            ),
            img(
                "registry.redhat.io/redhat/redhat-operator-index:v4.18",
                "mirror.local/redhat/redhat-operator-index:v4.18",
                Category::Operator,
                ImageKind::Catalog,
            ),
            generic(
                "registry.redhat.io/ubi9/ubi:latest",
                "mirror.local/ubi9/ubi:latest",
            ),
            generic(
                "registry.redhat.io/ubi9/ubi-minimal:9.4",
                "mirror.local/ubi9/ubi-minimal:9.4",
            ),
            // Same source namespace, mirrored a second time under another prefix.
            generic(
                "registry.redhat.io/ubi9/ubi:9.4",
                "mirror.local/copy/ubi9/ubi:9.4",
            ),
            generic("quay.io/example/tool:1.0", "mirror.local/tools/tool:1.0"),
        ]
    }

    #[test]
    fn deduplicated_and_independent_of_order() {
        let images = mixed();
        let reference = run(&images, 0);
        // Every rotation, forwards and backwards, and with duplicates added.
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
        let itms = entries(file(&reference, ITMS_FILE_NAME).expect("itms"));
        let generic = itms
            .iter()
            .find(|(name, _)| name == "itms-generic-0")
            .expect("generic object");
        assert_eq!(
            generic.1,
            vec![
                (
                    "quay.io/example/tool".to_string(),
                    vec!["mirror.local/tools/tool".to_string()]
                ),
                (
                    "registry.redhat.io/ubi9".to_string(),
                    vec![
                        "mirror.local/copy/ubi9".to_string(),
                        "mirror.local/ubi9".to_string()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn empty_categories_and_files_are_omitted() {
        assert!(run(&[], 0).is_empty());
        let files = run(
            &[generic(
                &format!("quay.io/org/app@{D1}"),
                "mirror.local/org/app:x",
            )],
            0,
        );
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, IDMS_FILE_NAME);
        assert_eq!(docs(&files[0].contents).len(), 1);
        assert_eq!(files[0].contents.matches("---\n").count(), 1);
    }

    #[test]
    fn output_parses_back_with_the_expected_structure() {
        let files = run(&mixed(), 0);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [IDMS_FILE_NAME, ITMS_FILE_NAME]);

        for f in &files {
            assert!(f.contents.starts_with("---\n"));
            for doc in docs(&f.contents) {
                assert_eq!(doc["apiVersion"].as_str(), Some("config.openshift.io/v1"));
                let a = &doc["metadata"]["annotations"];
                assert_eq!(a["createdBy"].as_str(), Some("oc-mirror v2"));
                assert_eq!(a["createdAt"].as_str(), Some("2025-05-01T10:00:00Z"));
                assert_eq!(a["oc-mirror_version"].as_str(), Some("0.1.0"));
            }
        }

        // The IDMS, read back into the typed shape.
        let idms: Vec<MirrorSet<DigestSpec>> =
            serde_norway::Deserializer::from_str(&files[0].contents)
                .map(|d| MirrorSet::deserialize(d).expect("IDMS object"))
                .collect();
        let names: Vec<&str> = idms.iter().map(|o| o.metadata.name.as_str()).collect();
        assert_eq!(names, ["idms-release-0", "idms-operator-0"]);
        assert!(idms.iter().all(|o| o.kind == "ImageDigestMirrorSet"));
        let release: Vec<(&str, &[String])> = idms[0]
            .spec
            .image_digest_mirrors
            .iter()
            .map(|e| (e.source.as_str(), e.mirrors.as_slice()))
            .collect();
        assert_eq!(
            release,
            [
                (
                    "quay.io/openshift-release-dev/ocp-release",
                    &["mirror.local/openshift/release-images".to_string()][..]
                ),
                (
                    "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
                    &["mirror.local/openshift/release".to_string()][..]
                ),
            ]
        );

        let itms: Vec<MirrorSet<TagSpec>> =
            serde_norway::Deserializer::from_str(&files[1].contents)
                .map(|d| MirrorSet::deserialize(d).expect("ITMS object"))
                .collect();
        let names: Vec<&str> = itms.iter().map(|o| o.metadata.name.as_str()).collect();
        assert_eq!(names, ["itms-release-0", "itms-generic-0"]);
        assert!(itms.iter().all(|o| o.kind == "ImageTagMirrorSet"));
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
        assert_eq!(files[1].contents, itms);
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
            let annotations = Annotations {
                created_at: created_at.to_string(),
                version: "4.18".to_string(),
            };
            let files = mirror_sets(
                &[generic("quay.io/org/app:1", "m.local/org/app:1")],
                &annotations,
                0,
            )
            .expect("renders");
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
}
