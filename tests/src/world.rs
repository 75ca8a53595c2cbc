//! Ready-made sets of fixture images ("worlds").
//!
//! Most end-to-end tests need the same kinds of content: images that share
//! base layers, both manifest formats, a multi-arch index, an image known only
//! by digest, an image with two tags. [`World::standard`] is that set, small
//! enough to push in well under a second; [`World::bench`] is the larger,
//! tunable set the benchmark mirrors. Pushing a world returns a
//! [`PushedWorld`] that names every entry, so a test can build its
//! ImageSetConfiguration from it and check the mirror against it.

use std::collections::{BTreeMap, BTreeSet};

use crate::client::RegistryClient;
use crate::fixture::{
    Format, ImageSpec, IndexSpec, LayerSpec, PushedImage, PushedIndex, build_image, build_index,
    push_image, push_index,
};

/// Names of the entries of [`World::standard`].
pub mod names {
    /// Docker schema 2 image sharing two base layers with [`OCI_SHARED`].
    pub const DOCKER_SHARED: &str = "docker-shared";
    /// OCI image sharing two base layers with [`DOCKER_SHARED`].
    pub const OCI_SHARED: &str = "oci-shared";
    /// OCI image with its own layers and a few labels.
    pub const OCI_PLAIN: &str = "oci-plain";
    /// OCI index, `linux/amd64` + `linux/arm64`.
    pub const OCI_INDEX: &str = "oci-index";
    /// Docker manifest list, `linux/amd64` + `linux/arm64`.
    pub const DOCKER_LIST: &str = "docker-list";
    /// Docker image pushed by digest only (no tag).
    pub const DIGEST_ONLY: &str = "digest-only";
    /// Docker image tagged `1.0` and `latest`.
    pub const TWO_TAGS: &str = "two-tags";
}

/// An image or a multi-platform index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// A single-platform image.
    Image(ImageSpec),
    /// A manifest list / OCI index.
    Index(IndexSpec),
}

/// One entry of a [`World`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldItem {
    /// A short stable name to look the entry up by (see [`names`]).
    pub name: String,
    /// What to push.
    pub artifact: Artifact,
    /// More tags to put on the same manifest after the first push.
    pub extra_tags: Vec<String>,
}

/// A set of images to push.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct World {
    /// The entries, pushed in this order.
    pub items: Vec<WorldItem>,
}

/// What was pushed for one [`WorldItem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushedArtifact {
    /// A single-platform image.
    Image(PushedImage),
    /// A manifest list / OCI index with its children.
    Index(PushedIndex),
}

/// One pushed entry: where it is and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldEntry {
    /// The item's name (see [`names`]).
    pub name: String,
    /// Repository, e.g. `fixtures/shared-docker`.
    pub repo: String,
    /// Every tag it carries (empty when pushed by digest only).
    pub tags: Vec<String>,
    /// Manifest (or index) digest.
    pub digest: String,
    /// Manifest (or index) media type.
    pub media_type: String,
    /// The details.
    pub pushed: PushedArtifact,
}

impl WorldEntry {
    /// `repo:first-tag`, or `repo@digest` when untagged (no host).
    pub fn reference(&self) -> String {
        match self.tags.first() {
            Some(tag) => format!("{}:{tag}", self.repo),
            None => self.digest_reference(),
        }
    }

    /// `repo@digest` (no host).
    pub fn digest_reference(&self) -> String {
        format!("{}@{}", self.repo, self.digest)
    }

    /// Whether this is an index / manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.pushed, PushedArtifact::Index(_))
    }

    /// The top manifest's bytes.
    pub fn manifest_bytes(&self) -> &[u8] {
        match &self.pushed {
            PushedArtifact::Image(image) => &image.manifest_bytes,
            PushedArtifact::Index(index) => &index.manifest_bytes,
        }
    }

    /// The child images of an index (empty for an image).
    pub fn children(&self) -> &[PushedImage] {
        match &self.pushed {
            PushedArtifact::Image(_) => &[],
            PushedArtifact::Index(index) => &index.images,
        }
    }

    /// The top digest followed by the children's manifest digests.
    pub fn manifest_digests(&self) -> Vec<String> {
        let mut digests = vec![self.digest.clone()];
        digests.extend(self.children().iter().map(|c| c.manifest_digest.clone()));
        digests
    }

    /// Every blob (configs and layers) with its size.
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        let images: Vec<&PushedImage> = match &self.pushed {
            PushedArtifact::Image(image) => vec![image],
            PushedArtifact::Index(index) => index.images.iter().collect(),
        };
        images
            .into_iter()
            .flat_map(|i| {
                i.blob_digests
                    .iter()
                    .cloned()
                    .zip(i.blob_sizes.iter().copied())
            })
            .collect()
    }
}

/// A pushed (or built) [`World`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PushedWorld {
    /// The entries, in push order.
    pub entries: Vec<WorldEntry>,
}

impl PushedWorld {
    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&WorldEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every repository, sorted.
    pub fn repos(&self) -> BTreeSet<String> {
        self.entries.iter().map(|e| e.repo.clone()).collect()
    }

    /// Every distinct blob across the world, with its size.
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        self.entries.iter().flat_map(|e| e.blobs()).collect()
    }

    /// Sum of the distinct blob sizes: the bytes a mirror must move at least once.
    pub fn unique_blob_bytes(&self) -> u64 {
        self.blobs().values().sum()
    }
}

impl World {
    /// The standard small world (7 entries, a few hundred KB, repos under
    /// `fixtures/`), see [`names`]:
    ///
    /// | name | reference | kind |
    /// |---|---|---|
    /// | `docker-shared` | `fixtures/shared-docker:1.0` | Docker, base layers A+B + own layer |
    /// | `oci-shared` | `fixtures/shared-oci:1.0` | OCI, base layers A+B + own layer |
    /// | `oci-plain` | `fixtures/plain-oci:2.1` | OCI, own layers, labels |
    /// | `oci-index` | `fixtures/multiarch-oci:latest` | OCI index amd64 + arm64 |
    /// | `docker-list` | `fixtures/multiarch-docker:v1` | Docker list amd64 + arm64 |
    /// | `digest-only` | `fixtures/by-digest@sha256:…` | Docker, no tag |
    /// | `two-tags` | `fixtures/two-tags:1.0` and `:latest` | Docker, base layer A |
    pub fn standard() -> World {
        let base_a = LayerSpec {
            seed: 1,
            size: 48 << 10,
        };
        let base_b = LayerSpec {
            seed: 2,
            size: 24 << 10,
        };
        let own = |seed: u64, size: usize| LayerSpec { seed, size };
        let image = |repo: &str, tag: Option<&str>, format, layers| {
            ImageSpec::new(repo, tag, format, layers)
        };
        let multiarch = |repo: &str, tag: &str, format, seed: u64| IndexSpec {
            repo: repo.to_string(),
            tag: Some(tag.to_string()),
            format,
            images: vec![
                image(repo, None, format, vec![base_a, own(seed, 8 << 10)]),
                image(repo, None, format, vec![own(seed + 1, 8 << 10)])
                    .with_platform("linux", "arm64"),
            ],
        };
        let item = |name: &str, artifact, extra_tags: &[&str]| WorldItem {
            name: name.to_string(),
            artifact,
            extra_tags: extra_tags.iter().map(|t| t.to_string()).collect(),
        };
        World {
            items: vec![
                item(
                    names::DOCKER_SHARED,
                    Artifact::Image(image(
                        "fixtures/shared-docker",
                        Some("1.0"),
                        Format::Docker,
                        vec![base_a, base_b, own(101, 12 << 10)],
                    )),
                    &[],
                ),
                item(
                    names::OCI_SHARED,
                    Artifact::Image(image(
                        "fixtures/shared-oci",
                        Some("1.0"),
                        Format::Oci,
                        vec![base_a, base_b, own(102, 10 << 10)],
                    )),
                    &[],
                ),
                item(
                    names::OCI_PLAIN,
                    Artifact::Image(
                        image(
                            "fixtures/plain-oci",
                            Some("2.1"),
                            Format::Oci,
                            vec![own(103, 20 << 10), own(104, 4 << 10)],
                        )
                        .with_label("org.opencontainers.image.title", "plain-oci")
                        .with_label("io.openshift.release", "4.99.0"),
                    ),
                    &[],
                ),
                item(
                    names::OCI_INDEX,
                    Artifact::Index(multiarch(
                        "fixtures/multiarch-oci",
                        "latest",
                        Format::Oci,
                        110,
                    )),
                    &[],
                ),
                item(
                    names::DOCKER_LIST,
                    Artifact::Index(multiarch(
                        "fixtures/multiarch-docker",
                        "v1",
                        Format::Docker,
                        120,
                    )),
                    &[],
                ),
                item(
                    names::DIGEST_ONLY,
                    Artifact::Image(image(
                        "fixtures/by-digest",
                        None,
                        Format::Docker,
                        vec![own(130, 16 << 10)],
                    )),
                    &[],
                ),
                item(
                    names::TWO_TAGS,
                    Artifact::Image(image(
                        "fixtures/two-tags",
                        Some("1.0"),
                        Format::Docker,
                        vec![base_a, own(140, 6 << 10)],
                    )),
                    &["latest"],
                ),
            ],
        }
    }

    /// The benchmark world: `images` images (use 20 or more) in repos
    /// `bench/app-000`… tagged `v1`, alternating Docker and OCI. Each has the
    /// same two base layers (4 MiB and 1 MiB) plus one layer of its own with
    /// `unique_bytes` bytes (uncompressed; random, so gzip barely shrinks it).
    pub fn bench(images: usize, unique_bytes: usize) -> World {
        let base = [
            LayerSpec {
                seed: 9_000,
                size: 4 << 20,
            },
            LayerSpec {
                seed: 9_001,
                size: 1 << 20,
            },
        ];
        let items = (0..images)
            .map(|i| {
                let format = if i % 2 == 0 {
                    Format::Docker
                } else {
                    Format::Oci
                };
                let mut layers = base.to_vec();
                layers.push(LayerSpec {
                    seed: 10_000 + i as u64,
                    size: unique_bytes,
                });
                WorldItem {
                    name: format!("bench-{i:03}"),
                    artifact: Artifact::Image(ImageSpec::new(
                        &format!("bench/app-{i:03}"),
                        Some("v1"),
                        format,
                        layers,
                    )),
                    extra_tags: Vec::new(),
                }
            })
            .collect();
        World { items }
    }

    /// Pushes every item (blobs already present are skipped) and returns
    /// what was pushed.
    pub async fn push(&self, to: impl AsRef<RegistryClient>) -> anyhow::Result<PushedWorld> {
        let client = to.as_ref();
        let mut entries = Vec::new();
        for item in &self.items {
            let pushed = match &item.artifact {
                Artifact::Image(spec) => PushedArtifact::Image(push_image(client, spec).await?),
                Artifact::Index(spec) => PushedArtifact::Index(push_index(client, spec).await?),
            };
            let entry = entry(item, pushed);
            for tag in &item.extra_tags {
                client
                    .put_manifest(&entry.repo, tag, &entry.media_type, entry.manifest_bytes())
                    .await?;
            }
            entries.push(entry);
        }
        Ok(PushedWorld { entries })
    }

    /// What [`World::push`] would return, computed without a registry.
    pub fn build(&self) -> anyhow::Result<PushedWorld> {
        let mut entries = Vec::new();
        for item in &self.items {
            let pushed = match &item.artifact {
                Artifact::Image(spec) => PushedArtifact::Image(build_image(spec)?),
                Artifact::Index(spec) => PushedArtifact::Index(build_index(spec)?),
            };
            entries.push(entry(item, pushed));
        }
        Ok(PushedWorld { entries })
    }
}

fn entry(item: &WorldItem, pushed: PushedArtifact) -> WorldEntry {
    let (repo, tag, digest, media_type) = match &pushed {
        PushedArtifact::Image(i) => (&i.repo, &i.tag, &i.manifest_digest, &i.media_type),
        PushedArtifact::Index(i) => (&i.repo, &i.tag, &i.manifest_digest, &i.media_type),
    };
    let mut tags: Vec<String> = tag.iter().cloned().collect();
    tags.extend(item.extra_tags.iter().cloned());
    WorldEntry {
        name: item.name.clone(),
        repo: repo.clone(),
        tags,
        digest: digest.clone(),
        media_type: media_type.clone(),
        pushed,
    }
}
