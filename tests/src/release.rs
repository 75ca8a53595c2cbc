//! Synthetic OpenShift release payloads, pushed into a test registry.
//!
//! Mirroring a release means reading its payload image, finding the
//! component images it names in `release-manifests/image-references`, and
//! copying all of them; deciding what a later imageset must carry means
//! comparing two releases component by component. Tests for that need
//! payloads shaped like the real ones (see `oc adm release new`) whose
//! digests are fixed by their specs:
//!
//! - **Components** are small single-platform Docker images pushed by digest
//!   only into `<ns>/ocp-v4.0-art-dev`. An image is a pure function of
//!   (component name, build number, arch): two releases sharing a build share
//!   the exact digest; a new build is a new digest. Every component of one
//!   arch shares a 4 KiB base layer and has one small layer of its own.
//! - **Payloads** are Docker schema 2 images in `<ns>/ocp-release` tagged
//!   `<version>-<arch>` (`x86_64`, `aarch64`, …), config label
//!   `io.openshift.release=<version>`, a pseudo-random base layer shared by
//!   every payload of an arch, and a [`FilesLayer`] holding
//!   `release-manifests/image-references` (ImageStream JSON naming each
//!   component as `<host>/<ns>/ocp-v4.0-art-dev@sha256:…`),
//!   `release-manifests/release-metadata` and, when asked, the CoreOS
//!   boot-images ConfigMap naming a KubeVirt image.
//! - **Multi-arch releases** are a Docker manifest list tagged
//!   `<version>-multi` over per-arch payloads (pushed by digest), each naming
//!   its own arch's components (kept simple: real multi payloads name
//!   manifest lists) and carrying
//!   `release-metadata.metadata["release.openshift.io/architecture"]="multi"`.
//!
//! Payload digests depend on the host and namespace written into
//! `image-references` (the registry's `127.0.0.1:PORT` by default), so they
//! differ between registries; everything else is the same every run.
//! [`ReleaseWorld::standard`] is the ready-made set (its table is there);
//! [`crate::cincinnati::GraphSpec::for_release_world`] is its update graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use anyhow::Context as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::client::RegistryClient;
use crate::fixture::{
    FilesLayer, Format, ImageSpec, IndexSpec, LayerSpec, PushedImage, PushedIndex, build_image,
    build_index, push_image, push_index,
};

/// Repository (under the namespace) of the payload images.
pub const RELEASE_REPO: &str = "ocp-release";
/// Repository (under the namespace) of the component images.
pub const COMPONENT_REPO: &str = "ocp-v4.0-art-dev";
/// The ImageStream naming the components, inside the payload.
pub const IMAGE_REFERENCES: &str = "release-manifests/image-references";
/// The Cincinnati metadata, inside the payload.
pub const RELEASE_METADATA: &str = "release-manifests/release-metadata";
/// The CoreOS boot-images ConfigMap (KubeVirt image), inside the payload.
pub const BOOTIMAGES: &str = "release-manifests/0000_50_installer_coreos-bootimages.yaml";
/// The payload config label holding the version.
pub const RELEASE_LABEL: &str = "io.openshift.release";
/// The payload config label holding the cluster-version-operator digest.
pub const BASE_IMAGE_DIGEST_LABEL: &str = "io.openshift.release.base-image-digest";
/// `release-metadata.metadata` key marking a multi-arch payload.
pub const ARCHITECTURE_KEY: &str = "release.openshift.io/architecture";
/// Component name of the KubeVirt boot image (not in `image-references`).
pub const KUBEVIRT_COMPONENT: &str = "rhel-coreos-kubevirt";
/// The component whose digest is the payload's base-image-digest label.
pub const CVO_COMPONENT: &str = "cluster-version-operator";

/// The four release architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReleaseArch {
    /// `x86_64` / `amd64`.
    X86_64,
    /// `aarch64` / `arm64`.
    Aarch64,
    /// `ppc64le`.
    Ppc64le,
    /// `s390x`.
    S390x,
}

impl ReleaseArch {
    /// Every architecture.
    pub const ALL: [ReleaseArch; 4] = [
        ReleaseArch::X86_64,
        ReleaseArch::Aarch64,
        ReleaseArch::Ppc64le,
        ReleaseArch::S390x,
    ];

    /// The name in release tags and boot-image streams: `x86_64`, `aarch64`, …
    pub fn tag_name(self) -> &'static str {
        match self {
            ReleaseArch::X86_64 => "x86_64",
            ReleaseArch::Aarch64 => "aarch64",
            ReleaseArch::Ppc64le => "ppc64le",
            ReleaseArch::S390x => "s390x",
        }
    }

    /// The GOARCH name (image config, Cincinnati `arch`): `amd64`, `arm64`, …
    pub fn goarch(self) -> &'static str {
        match self {
            ReleaseArch::X86_64 => "amd64",
            ReleaseArch::Aarch64 => "arm64",
            ReleaseArch::Ppc64le => "ppc64le",
            ReleaseArch::S390x => "s390x",
        }
    }

    /// Parses either naming (`x86_64` or `amd64`, …).
    pub fn from_name(name: &str) -> Option<ReleaseArch> {
        ReleaseArch::ALL
            .into_iter()
            .find(|a| a.tag_name() == name || a.goarch() == name)
    }
}

impl fmt::Display for ReleaseArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag_name())
    }
}

/// One component of a release: a name and a build number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ComponentSpec {
    /// The `image-references` tag name, e.g. `cluster-version-operator`.
    pub name: String,
    /// Build number; a new build is a new image (new digest).
    pub build: u32,
}

impl ComponentSpec {
    /// `name` at `build`.
    pub fn new(name: &str, build: u32) -> ComponentSpec {
        ComponentSpec {
            name: name.to_string(),
            build,
        }
    }
}

/// The image of component `name` at `build` for `arch`, in
/// `<ns>/ocp-v4.0-art-dev`, untagged: Docker schema 2, a shared 4 KiB base
/// layer per arch plus one layer of 1–4 KiB of its own, labels
/// `io.openshift.build.commit.id` and `io.openshift.build.source-location`
/// (and `io.openshift.release.operator=true` for `*-operator`).
pub fn component_image(ns: &str, name: &str, build: u32, arch: ReleaseArch) -> ImageSpec {
    let own = seed_of(&format!("component/{name}/{build}/{arch}"));
    let layers = vec![
        LayerSpec {
            seed: seed_of(&format!("component-base/{arch}")),
            size: 4 << 10,
        },
        LayerSpec {
            seed: own,
            size: 1024 + (own % 3072) as usize,
        },
    ];
    let mut image = ImageSpec::new(
        &format!("{ns}/{COMPONENT_REPO}"),
        None,
        Format::Docker,
        layers,
    )
    .with_platform("linux", arch.goarch())
    .with_label("io.openshift.build.commit.id", &commit_id(name, build))
    .with_label("io.openshift.build.source-location", &source_location(name));
    if name.ends_with("-operator") {
        image = image.with_label("io.openshift.release.operator", "true");
    }
    image
}

/// One single-arch release payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseSpec {
    /// Version, e.g. `4.14.1`.
    pub version: String,
    /// Architecture (tag `<version>-<arch>`).
    pub arch: ReleaseArch,
    /// Components named by `image-references` (written sorted by name).
    pub components: Vec<ComponentSpec>,
    /// `release-metadata.previous` (written sorted as strings).
    pub previous: Vec<String>,
    /// Whether the payload holds `image-references` (`false`: a broken
    /// payload, for error tests).
    pub image_references: bool,
    /// `Some(build)`: the payload holds the boot-images ConfigMap naming the
    /// x86_64 [`KUBEVIRT_COMPONENT`] image at that build (pushed too).
    pub kubevirt_build: Option<u32>,
    /// `release-metadata.metadata` (empty by default; multi shards get
    /// [`ARCHITECTURE_KEY`]`=multi` added).
    pub metadata: BTreeMap<String, String>,
}

impl ReleaseSpec {
    /// A payload with `image-references`, no previous versions, no KubeVirt.
    pub fn new(version: &str, arch: ReleaseArch, components: Vec<ComponentSpec>) -> ReleaseSpec {
        ReleaseSpec {
            version: version.to_string(),
            arch,
            components,
            previous: Vec::new(),
            image_references: true,
            kubevirt_build: None,
            metadata: BTreeMap::new(),
        }
    }

    /// The same with `release-metadata.previous` set.
    pub fn with_previous(mut self, previous: &[&str]) -> ReleaseSpec {
        self.previous = previous.iter().map(|v| v.to_string()).collect();
        self
    }

    /// The same with the boot-images ConfigMap naming KubeVirt build `build`.
    pub fn with_kubevirt(mut self, build: u32) -> ReleaseSpec {
        self.kubevirt_build = Some(build);
        self
    }

    /// The same without `release-manifests/image-references`.
    pub fn without_image_references(mut self) -> ReleaseSpec {
        self.image_references = false;
        self
    }

    /// The payload tag, `<version>-<arch>`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.version, self.arch)
    }
}

/// A multi-arch release: a manifest list tagged `<version>-multi` over one
/// payload per shard (each shard's `version` should equal `version`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiReleaseSpec {
    /// Version, e.g. `4.15.1`.
    pub version: String,
    /// One single-arch payload per architecture, in list order.
    pub shards: Vec<ReleaseSpec>,
}

/// A set of releases to push.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReleaseWorld {
    /// Single-arch releases, pushed in this order.
    pub releases: Vec<ReleaseSpec>,
    /// Multi-arch releases, pushed after them.
    pub multi: Vec<MultiReleaseSpec>,
}

/// The versions of [`ReleaseWorld::standard`], ascending.
pub const STANDARD_VERSIONS: [&str; 5] = ["4.14.1", "4.14.2", "4.14.3", "4.15.0", "4.15.1"];
/// The version of the multi-arch release of [`ReleaseWorld::standard`].
pub const STANDARD_MULTI_VERSION: &str = "4.15.1";

/// Build numbers of the standard components, per [`STANDARD_VERSIONS`]
/// (0: not in that release).
const STANDARD_BUILDS: [(&str, [u32; 5]); 13] = [
    ("cluster-version-operator", [1, 2, 3, 4, 5]),
    ("cli", [1, 1, 1, 2, 2]),
    ("installer", [1, 1, 2, 3, 3]),
    ("etcd", [1, 1, 2, 2, 2]),
    ("hyperkube", [1, 2, 2, 3, 3]),
    ("console", [1, 2, 2, 2, 3]),
    ("machine-config-operator", [1, 1, 1, 2, 2]),
    ("ovn-kubernetes", [1, 1, 1, 1, 2]),
    ("prometheus", [1, 1, 1, 1, 1]),
    ("oauth-server", [1, 1, 1, 1, 1]),
    ("must-gather", [1, 1, 1, 1, 1]),
    ("tools", [1, 1, 1, 1, 1]),
    ("cluster-olm-operator", [0, 0, 0, 1, 1]),
];

/// The components of standard release `version` (sorted by name); empty for
/// a version not in [`STANDARD_VERSIONS`].
pub fn standard_components(version: &str) -> Vec<ComponentSpec> {
    let Some(index) = STANDARD_VERSIONS.iter().position(|v| *v == version) else {
        return Vec::new();
    };
    let mut components: Vec<ComponentSpec> = STANDARD_BUILDS
        .iter()
        .filter(|(_, builds)| builds[index] > 0)
        .map(|(name, builds)| ComponentSpec::new(name, builds[index]))
        .collect();
    components.sort_by(|a, b| a.name.cmp(&b.name));
    components
}

/// `release-metadata.previous` of the standard releases: the versions with
/// an unconditional edge into it in the standard graph.
fn standard_previous(version: &str) -> &'static [&'static str] {
    match version {
        "4.14.2" => &["4.14.1"],
        "4.14.3" => &["4.14.1", "4.14.2"],
        "4.15.0" => &["4.14.2", "4.14.3"],
        "4.15.1" => &["4.15.0"],
        _ => &[],
    }
}

impl ReleaseWorld {
    /// The standard set: five x86_64 releases across two minors and one
    /// multi-arch release (about 45 small images, well under a second).
    ///
    /// Component builds (a changed number is a new digest):
    ///
    /// | component | 4.14.1 | 4.14.2 | 4.14.3 | 4.15.0 | 4.15.1 |
    /// |---|---|---|---|---|---|
    /// | cluster-version-operator | 1 | 2 | 3 | 4 | 5 |
    /// | cli | 1 | 1 | 1 | 2 | 2 |
    /// | installer | 1 | 1 | 2 | 3 | 3 |
    /// | etcd | 1 | 1 | 2 | 2 | 2 |
    /// | hyperkube | 1 | 2 | 2 | 3 | 3 |
    /// | console | 1 | 2 | 2 | 2 | 3 |
    /// | machine-config-operator | 1 | 1 | 1 | 2 | 2 |
    /// | ovn-kubernetes | 1 | 1 | 1 | 1 | 2 |
    /// | prometheus, oauth-server, must-gather, tools | 1 | 1 | 1 | 1 | 1 |
    /// | cluster-olm-operator | – | – | – | 1 | 1 |
    ///
    /// So 4.14.1→4.14.2 changes cluster-version-operator, hyperkube, console;
    /// 4.14.2→4.14.3 cluster-version-operator, installer, etcd;
    /// 4.14.3→4.15.0 cluster-version-operator, cli, installer, hyperkube,
    /// machine-config-operator and adds cluster-olm-operator (12 components in
    /// 4.14, 13 in 4.15); 4.15.0→4.15.1 cluster-version-operator, console,
    /// ovn-kubernetes.
    ///
    /// 4.15.0 and 4.15.1 carry the boot-images ConfigMap naming the same
    /// KubeVirt image (build 1, x86_64). `release-metadata.previous` lists the
    /// unconditional edges into each version of the standard graph. The
    /// multi-arch release `4.15.1-multi` has an x86_64 shard (the same
    /// components, so the same component digests, as `4.15.1-x86_64`, but a
    /// different payload digest) and an aarch64 shard (arm64 builds of the
    /// same components); both shards carry the KubeVirt ConfigMap.
    pub fn standard() -> ReleaseWorld {
        let release = |version: &str, arch| {
            let mut spec = ReleaseSpec::new(version, arch, standard_components(version))
                .with_previous(standard_previous(version));
            if version.starts_with("4.15.") {
                spec = spec.with_kubevirt(1);
            }
            spec
        };
        ReleaseWorld {
            releases: STANDARD_VERSIONS
                .iter()
                .map(|v| release(v, ReleaseArch::X86_64))
                .collect(),
            multi: vec![MultiReleaseSpec {
                version: STANDARD_MULTI_VERSION.to_string(),
                shards: vec![
                    release(STANDARD_MULTI_VERSION, ReleaseArch::X86_64),
                    release(STANDARD_MULTI_VERSION, ReleaseArch::Aarch64),
                ],
            }],
        }
    }

    /// The benchmark set: `releases` x86_64 releases `4.16.0`, `4.16.1`, …
    /// of `components` components `component-000`, … each. Release `i`
    /// gives component `j` build `1 + (i + j % 10) / 10`: every release
    /// changes a tenth of the components (the first release has all at
    /// build 1). Components are as [`component_image`] makes them (4 KiB
    /// shared + 1–4 KiB own); `previous` names the prior version.
    pub fn bench(releases: usize, components: usize) -> ReleaseWorld {
        let versions: Vec<String> = (0..releases).map(|i| format!("4.16.{i}")).collect();
        let releases = versions
            .iter()
            .enumerate()
            .map(|(i, version)| {
                let components = (0..components)
                    .map(|j| {
                        ComponentSpec::new(
                            &format!("component-{j:03}"),
                            1 + ((i + j % 10) / 10) as u32,
                        )
                    })
                    .collect();
                let mut spec = ReleaseSpec::new(version, ReleaseArch::X86_64, components);
                if i > 0 {
                    spec.previous = vec![versions[i - 1].clone()];
                }
                spec
            })
            .collect();
        ReleaseWorld {
            releases,
            multi: Vec::new(),
        }
    }

    /// A world of one single-arch release.
    pub fn single(spec: ReleaseSpec) -> ReleaseWorld {
        ReleaseWorld {
            releases: vec![spec],
            multi: Vec::new(),
        }
    }

    /// Pushes everything into namespace `ns` of the registry behind `to`
    /// (components first, each distinct one once; then the payloads), writing
    /// the registry's own `host:port` into the references.
    pub async fn push(
        &self,
        to: impl AsRef<RegistryClient>,
        ns: &str,
    ) -> anyhow::Result<PushedReleaseWorld> {
        let client = to.as_ref();
        let host = client.target().host.clone();
        self.push_as(client, ns, &host).await
    }

    /// Like [`ReleaseWorld::push`], but writes `host` into `image-references`
    /// and the boot-images ConfigMap (e.g. a proxy's host, or a name the
    /// registry is reached by under a mirror configuration).
    pub async fn push_as(
        &self,
        to: impl AsRef<RegistryClient>,
        ns: &str,
        host: &str,
    ) -> anyhow::Result<PushedReleaseWorld> {
        let client = to.as_ref();
        let mut builder = Builder::new(ns, host);
        for spec in &self.releases {
            builder.push_components(spec, client).await?;
            let shard = builder.shard(spec, false)?;
            let image = push_image(client, &shard.spec).await?;
            builder
                .releases
                .push(single_release(ns, host, spec, image, shard));
        }
        for multi in &self.multi {
            let mut shards = Vec::new();
            for spec in &multi.shards {
                builder.push_components(spec, client).await?;
                shards.push(builder.shard(spec, true)?);
            }
            let index = push_index(client, &multi_index(ns, multi, &shards)).await?;
            builder
                .releases
                .push(multi_release(ns, host, multi, index, shards));
        }
        Ok(builder.finish())
    }

    /// What [`ReleaseWorld::push_as`] would return, computed without a
    /// registry.
    pub fn build(&self, ns: &str, host: &str) -> anyhow::Result<PushedReleaseWorld> {
        let mut builder = Builder::new(ns, host);
        for spec in &self.releases {
            let shard = builder.shard(spec, false)?;
            let image = build_image(&shard.spec)?;
            builder
                .releases
                .push(single_release(ns, host, spec, image, shard));
        }
        for multi in &self.multi {
            let mut shards = Vec::new();
            for spec in &multi.shards {
                shards.push(builder.shard(spec, true)?);
            }
            let index = build_index(&multi_index(ns, multi, &shards))?;
            builder
                .releases
                .push(multi_release(ns, host, multi, index, shards));
        }
        Ok(builder.finish())
    }
}

/// A component image as pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedComponent {
    /// Component name (the `image-references` tag name).
    pub name: String,
    /// Build number.
    pub build: u32,
    /// Architecture.
    pub arch: ReleaseArch,
    /// Manifest digest.
    pub digest: String,
    /// `<host>/<ns>/ocp-v4.0-art-dev@sha256:…`, as written in the payload.
    pub reference: String,
    /// The image (repo, manifest, blobs).
    pub image: PushedImage,
}

/// One per-arch payload image as pushed, with what it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedShard {
    /// Architecture of this payload.
    pub arch: ReleaseArch,
    /// The payload image (config, layers, manifest).
    pub image: PushedImage,
    /// The components `image-references` names, sorted by name (also when
    /// the payload leaves `image-references` out: what it would have named).
    pub components: Vec<PushedComponent>,
    /// The KubeVirt image the boot-images ConfigMap names, if any.
    pub kubevirt: Option<PushedComponent>,
    /// The `image-references` JSON, when present.
    pub image_references: Option<String>,
    /// The `release-metadata` JSON.
    pub release_metadata: String,
    /// The boot-images ConfigMap YAML, when present.
    pub bootimages: Option<String>,
}

/// A release as pushed: a single-arch payload or a multi-arch list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRelease {
    /// Version, e.g. `4.14.1`.
    pub version: String,
    /// `x86_64`, `aarch64`, `ppc64le`, `s390x` or `multi`.
    pub arch: String,
    /// The host written into references, e.g. `127.0.0.1:5000`.
    pub host: String,
    /// `<ns>/ocp-release`.
    pub repo: String,
    /// `<version>-<arch>`.
    pub tag: String,
    /// Payload manifest (or manifest list) digest.
    pub digest: String,
    /// Docker schema 2 manifest, or Docker manifest list for multi.
    pub media_type: String,
    /// The exact top manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The per-arch payloads: one for a single-arch release (the payload
    /// itself), one per architecture for multi.
    pub shards: Vec<PushedShard>,
}

impl PushedRelease {
    /// Whether this is a multi-arch release.
    pub fn is_multi(&self) -> bool {
        self.arch == "multi"
    }

    /// The Cincinnati `arch`: `amd64`, `arm64`, … or `multi`.
    pub fn cincinnati_arch(&self) -> String {
        match ReleaseArch::from_name(&self.arch) {
            Some(arch) => arch.goarch().to_string(),
            None => self.arch.clone(),
        }
    }

    /// `<host>/<ns>/ocp-release@sha256:…`.
    pub fn digest_reference(&self) -> String {
        format!("{}/{}@{}", self.host, self.repo, self.digest)
    }

    /// `<host>/<ns>/ocp-release:<version>-<arch>`.
    pub fn tag_reference(&self) -> String {
        format!("{}/{}:{}", self.host, self.repo, self.tag)
    }

    /// Every component of every shard (not KubeVirt), shard by shard.
    pub fn components(&self) -> Vec<&PushedComponent> {
        self.shards.iter().flat_map(|s| &s.components).collect()
    }

    /// Component `name` of the first shard.
    pub fn component(&self, name: &str) -> Option<&PushedComponent> {
        self.shards
            .first()?
            .components
            .iter()
            .find(|c| c.name == name)
    }

    /// Component `name` of the `arch` shard.
    pub fn component_for(&self, name: &str, arch: ReleaseArch) -> Option<&PushedComponent> {
        self.shards
            .iter()
            .find(|s| s.arch == arch)?
            .components
            .iter()
            .find(|c| c.name == name)
    }

    /// The KubeVirt image, if a shard names one.
    pub fn kubevirt(&self) -> Option<&PushedComponent> {
        self.shards.iter().find_map(|s| s.kubevirt.as_ref())
    }

    /// Digests of every component and the KubeVirt image.
    pub fn component_digests(&self) -> BTreeSet<String> {
        self.components()
            .into_iter()
            .chain(self.kubevirt())
            .map(|c| c.digest.clone())
            .collect()
    }

    /// Every image manifest as `(repo, digest)`: the payload (and its shards),
    /// the components and the KubeVirt image. Sorted, distinct.
    pub fn images(&self) -> BTreeSet<(String, String)> {
        let mut images = BTreeSet::from([(self.repo.clone(), self.digest.clone())]);
        for shard in &self.shards {
            images.insert((self.repo.clone(), shard.image.manifest_digest.clone()));
            for c in shard.components.iter().chain(&shard.kubevirt) {
                images.insert((c.image.repo.clone(), c.digest.clone()));
            }
        }
        images
    }

    /// Every manifest digest (see [`PushedRelease::images`]).
    pub fn manifest_digests(&self) -> BTreeSet<String> {
        self.images().into_iter().map(|(_, d)| d).collect()
    }

    /// The payload's own blobs (configs and layers of every shard) with sizes.
    pub fn payload_blobs(&self) -> BTreeMap<String, u64> {
        self.shards
            .iter()
            .flat_map(|s| image_blobs(&s.image))
            .collect()
    }

    /// Every blob of the release (payload, components, KubeVirt) with sizes.
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        let mut blobs = self.payload_blobs();
        for shard in &self.shards {
            for c in shard.components.iter().chain(&shard.kubevirt) {
                blobs.extend(image_blobs(&c.image));
            }
        }
        blobs
    }
}

/// A pushed (or built) [`ReleaseWorld`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedReleaseWorld {
    /// The host written into references.
    pub host: String,
    /// The namespace, e.g. `openshift-release-dev`.
    pub namespace: String,
    /// Single-arch releases in push order, then multi-arch ones.
    pub releases: Vec<PushedRelease>,
}

impl PushedReleaseWorld {
    /// The release `version` for `arch` (`x86_64`/`amd64`, … or `multi`).
    pub fn get(&self, version: &str, arch: &str) -> Option<&PushedRelease> {
        let arch = ReleaseArch::from_name(arch)
            .map(|a| a.tag_name().to_string())
            .unwrap_or_else(|| arch.to_string());
        self.releases
            .iter()
            .find(|r| r.version == version && r.arch == arch)
    }

    /// The release tagged `tag`, e.g. `4.15.1-multi`.
    pub fn by_tag(&self, tag: &str) -> Option<&PushedRelease> {
        self.releases.iter().find(|r| r.tag == tag)
    }

    /// `<ns>/ocp-release`.
    pub fn release_repo(&self) -> String {
        format!("{}/{RELEASE_REPO}", self.namespace)
    }

    /// `<ns>/ocp-v4.0-art-dev`.
    pub fn component_repo(&self) -> String {
        format!("{}/{COMPONENT_REPO}", self.namespace)
    }

    /// `<host>/<ns>/ocp-release` (no tag or digest).
    pub fn release_repo_reference(&self) -> String {
        format!("{}/{}", self.host, self.release_repo())
    }

    /// Components (and KubeVirt) of `x` whose digest is not in `y` (e.g. what
    /// an imageset for `x` carries beyond one for `y`), in `x`'s order.
    pub fn components_not_in<'a>(
        &self,
        x: &'a PushedRelease,
        y: &PushedRelease,
    ) -> Vec<&'a PushedComponent> {
        let theirs = y.component_digests();
        let mut seen = BTreeSet::new();
        x.components()
            .into_iter()
            .chain(x.kubevirt())
            .filter(|c| !theirs.contains(&c.digest) && seen.insert(c.digest.clone()))
            .collect()
    }

    /// Blobs of `x` (payload, components, KubeVirt) that are not in `y`.
    pub fn blobs_not_in(&self, x: &PushedRelease, y: &PushedRelease) -> BTreeMap<String, u64> {
        let theirs = y.blobs();
        x.blobs()
            .into_iter()
            .filter(|(d, _)| !theirs.contains_key(d))
            .collect()
    }

    /// Every distinct blob of the world with its size.
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        self.releases.iter().flat_map(|r| r.blobs()).collect()
    }

    /// Every distinct image `(repo, digest)` of the world.
    pub fn images(&self) -> BTreeSet<(String, String)> {
        self.releases.iter().flat_map(|r| r.images()).collect()
    }
}

/// Sizes of the config and layers of `image`.
fn image_blobs(image: &PushedImage) -> impl Iterator<Item = (String, u64)> + '_ {
    image
        .blob_digests
        .iter()
        .cloned()
        .zip(image.blob_sizes.iter().copied())
}

/// A payload shard being assembled: its image spec and what it names.
struct Shard {
    spec: ImageSpec,
    arch: ReleaseArch,
    components: Vec<PushedComponent>,
    kubevirt: Option<PushedComponent>,
    image_references: Option<String>,
    release_metadata: String,
    bootimages: Option<String>,
}

/// Pushes (or builds) components once each and assembles payloads.
struct Builder {
    ns: String,
    host: String,
    components: HashMap<(String, u32, ReleaseArch), PushedComponent>,
    releases: Vec<PushedRelease>,
}

impl Builder {
    fn new(ns: &str, host: &str) -> Builder {
        Builder {
            ns: ns.to_string(),
            host: host.to_string(),
            components: HashMap::new(),
            releases: Vec::new(),
        }
    }

    fn finish(self) -> PushedReleaseWorld {
        PushedReleaseWorld {
            host: self.host,
            namespace: self.ns,
            releases: self.releases,
        }
    }

    /// The components `spec` names (and its KubeVirt image).
    fn wanted(spec: &ReleaseSpec) -> Vec<(String, u32, ReleaseArch)> {
        let mut wanted: Vec<_> = spec
            .components
            .iter()
            .map(|c| (c.name.clone(), c.build, spec.arch))
            .collect();
        if let Some(build) = spec.kubevirt_build {
            wanted.push((KUBEVIRT_COMPONENT.to_string(), build, ReleaseArch::X86_64));
        }
        wanted
    }

    /// Pushes the components of `spec` not pushed yet by this builder.
    async fn push_components(
        &mut self,
        spec: &ReleaseSpec,
        client: &RegistryClient,
    ) -> anyhow::Result<()> {
        for (name, build, arch) in Builder::wanted(spec) {
            let key = (name.clone(), build, arch);
            if self.components.contains_key(&key) {
                continue;
            }
            let image = push_image(client, &component_image(&self.ns, &name, build, arch))
                .await
                .with_context(|| format!("pushing component {name} build {build} {arch}"))?;
            self.record(key, image);
        }
        Ok(())
    }

    /// The component, built (not pushed) unless already known.
    fn component(
        &mut self,
        name: &str,
        build: u32,
        arch: ReleaseArch,
    ) -> anyhow::Result<PushedComponent> {
        let key = (name.to_string(), build, arch);
        if let Some(found) = self.components.get(&key) {
            return Ok(found.clone());
        }
        let image = build_image(&component_image(&self.ns, name, build, arch))?;
        Ok(self.record(key, image))
    }

    fn record(&mut self, key: (String, u32, ReleaseArch), image: PushedImage) -> PushedComponent {
        let pushed = PushedComponent {
            name: key.0.clone(),
            build: key.1,
            arch: key.2,
            digest: image.manifest_digest.clone(),
            reference: format!("{}/{}@{}", self.host, image.repo, image.manifest_digest),
            image,
        };
        self.components.insert(key, pushed.clone());
        pushed
    }

    /// Components, then the payload's files and image spec.
    fn shard(&mut self, spec: &ReleaseSpec, multi: bool) -> anyhow::Result<Shard> {
        let mut components = Vec::new();
        for c in &spec.components {
            components.push(self.component(&c.name, c.build, spec.arch)?);
        }
        components.sort_by(|a, b| a.name.cmp(&b.name));
        let kubevirt = match spec.kubevirt_build {
            Some(build) => Some(self.component(KUBEVIRT_COMPONENT, build, ReleaseArch::X86_64)?),
            None => None,
        };
        let image_references = if spec.image_references {
            Some(image_references_json(&spec.version, &components)?)
        } else {
            None
        };
        let mut metadata = spec.metadata.clone();
        if multi {
            metadata.insert(ARCHITECTURE_KEY.to_string(), "multi".to_string());
        }
        let release_metadata = release_metadata_json(&spec.version, &spec.previous, &metadata)?;
        let bootimages = match &kubevirt {
            Some(k) => Some(bootimages_yaml(&spec.version, k)?),
            None => None,
        };

        let mut files = FilesLayer::new()
            .dir("manifests")
            .file(
                "manifests/0000_00_cluster-version-operator_00_namespace.yaml",
                CVO_NAMESPACE_YAML,
            )
            .dir("release-manifests")
            .file(
                "release-manifests/0000_03_config-operator_01_proxy.crd.yaml",
                PROXY_CRD_YAML,
            );
        if let Some(yaml) = &bootimages {
            files = files.file(BOOTIMAGES, yaml.as_bytes());
        }
        if let Some(json) = &image_references {
            files = files.file(IMAGE_REFERENCES, json.as_bytes());
        }
        files = files.file(RELEASE_METADATA, release_metadata.as_bytes());

        let tag = (!multi).then(|| spec.tag());
        let mut image = ImageSpec::new(
            &format!("{}/{RELEASE_REPO}", self.ns),
            tag.as_deref(),
            Format::Docker,
            vec![LayerSpec {
                seed: seed_of(&format!("payload-base/{}", spec.arch)),
                size: 8 << 10,
            }],
        )
        .with_platform("linux", spec.arch.goarch())
        .with_label(RELEASE_LABEL, &spec.version)
        .with_files_layer(files);
        if let Some(cvo) = components.iter().find(|c| c.name == CVO_COMPONENT) {
            image = image.with_label(BASE_IMAGE_DIGEST_LABEL, &cvo.digest);
        }
        Ok(Shard {
            spec: image,
            arch: spec.arch,
            components,
            kubevirt,
            image_references,
            release_metadata,
            bootimages,
        })
    }
}

fn into_pushed_shard(shard: Shard, image: PushedImage) -> PushedShard {
    PushedShard {
        arch: shard.arch,
        image,
        components: shard.components,
        kubevirt: shard.kubevirt,
        image_references: shard.image_references,
        release_metadata: shard.release_metadata,
        bootimages: shard.bootimages,
    }
}

fn single_release(
    ns: &str,
    host: &str,
    spec: &ReleaseSpec,
    image: PushedImage,
    shard: Shard,
) -> PushedRelease {
    PushedRelease {
        version: spec.version.clone(),
        arch: spec.arch.tag_name().to_string(),
        host: host.to_string(),
        repo: format!("{ns}/{RELEASE_REPO}"),
        tag: spec.tag(),
        digest: image.manifest_digest.clone(),
        media_type: image.media_type.clone(),
        manifest_bytes: image.manifest_bytes.clone(),
        shards: vec![into_pushed_shard(shard, image)],
    }
}

fn multi_index(ns: &str, multi: &MultiReleaseSpec, shards: &[Shard]) -> IndexSpec {
    IndexSpec {
        repo: format!("{ns}/{RELEASE_REPO}"),
        tag: Some(format!("{}-multi", multi.version)),
        format: Format::Docker,
        images: shards.iter().map(|s| s.spec.clone()).collect(),
    }
}

fn multi_release(
    ns: &str,
    host: &str,
    multi: &MultiReleaseSpec,
    index: PushedIndex,
    shards: Vec<Shard>,
) -> PushedRelease {
    PushedRelease {
        version: multi.version.clone(),
        arch: "multi".to_string(),
        host: host.to_string(),
        repo: format!("{ns}/{RELEASE_REPO}"),
        tag: format!("{}-multi", multi.version),
        digest: index.manifest_digest.clone(),
        media_type: index.media_type.clone(),
        manifest_bytes: index.manifest_bytes.clone(),
        shards: shards
            .into_iter()
            .zip(index.images)
            .map(|(shard, image)| into_pushed_shard(shard, image))
            .collect(),
    }
}

/// A u64 seed from a string (high bit set: apart from the small seeds that
/// [`crate::World`] uses).
fn seed_of(what: &str) -> u64 {
    let hash = Sha256::digest(what.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(bytes) | 1 << 63
}

/// A 40-hex "commit id" for a component build.
fn commit_id(name: &str, build: u32) -> String {
    hex::encode(&Sha256::digest(format!("commit/{name}/{build}").as_bytes())[..20])
}

fn source_location(name: &str) -> String {
    format!("https://github.com/openshift/{name}")
}

#[derive(Serialize)]
struct ImageStream<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: ImageStreamMeta<'a>,
    spec: ImageStreamSpec<'a>,
}

#[derive(Serialize)]
struct ImageStreamMeta<'a> {
    name: &'a str,
    #[serde(rename = "creationTimestamp")]
    creation_timestamp: &'static str,
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct ImageStreamSpec<'a> {
    #[serde(rename = "lookupPolicy")]
    lookup_policy: LookupPolicy,
    tags: Vec<ImageStreamTag<'a>>,
}

#[derive(Serialize)]
struct LookupPolicy {
    local: bool,
}

#[derive(Serialize)]
struct ImageStreamTag<'a> {
    name: &'a str,
    annotations: BTreeMap<&'static str, String>,
    from: ObjectReference<'a>,
    generation: Option<u64>,
    #[serde(rename = "importPolicy")]
    import_policy: BTreeMap<String, String>,
    #[serde(rename = "referencePolicy")]
    reference_policy: ReferencePolicy,
}

#[derive(Serialize)]
struct ObjectReference<'a> {
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct ReferencePolicy {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The `image-references` ImageStream naming `components` (sorted by name).
fn image_references_json(version: &str, components: &[PushedComponent]) -> anyhow::Result<String> {
    let minor = version.rsplit_once('.').map_or(version, |(m, _)| m);
    let stream = ImageStream {
        kind: "ImageStream",
        api_version: "image.openshift.io/v1",
        metadata: ImageStreamMeta {
            name: version,
            creation_timestamp: "2024-01-01T00:00:00Z",
            annotations: BTreeMap::from([
                (
                    "release.openshift.io/from-image-stream",
                    format!("ocp/{minor}-art-latest"),
                ),
                (
                    "release.openshift.io/from-release",
                    format!("registry.ci.openshift.org/ocp/release:{version}-0.nightly"),
                ),
            ]),
        },
        spec: ImageStreamSpec {
            lookup_policy: LookupPolicy { local: false },
            tags: components
                .iter()
                .map(|c| {
                    let mut annotations = BTreeMap::from([
                        ("io.openshift.build.commit.id", commit_id(&c.name, c.build)),
                        ("io.openshift.build.commit.ref", String::new()),
                        (
                            "io.openshift.build.source-location",
                            source_location(&c.name),
                        ),
                    ]);
                    if c.name == "hyperkube" {
                        annotations.insert(
                            "io.openshift.build.versions",
                            format!("kubernetes=1.27.{}", c.build),
                        );
                    }
                    ImageStreamTag {
                        name: &c.name,
                        annotations,
                        from: ObjectReference {
                            kind: "DockerImage",
                            name: &c.reference,
                        },
                        generation: None,
                        import_policy: BTreeMap::new(),
                        reference_policy: ReferencePolicy { kind: "" },
                    }
                })
                .collect(),
        },
    };
    Ok(serde_json::to_string_pretty(&stream)? + "\n")
}

#[derive(Serialize)]
struct CincinnatiMetadata<'a> {
    kind: &'static str,
    version: &'a str,
    previous: Vec<&'a str>,
    metadata: &'a BTreeMap<String, String>,
}

/// `release-metadata`: `previous` sorted as strings, as `oc` writes it.
fn release_metadata_json(
    version: &str,
    previous: &[String],
    metadata: &BTreeMap<String, String>,
) -> anyhow::Result<String> {
    let mut previous: Vec<&str> = previous.iter().map(String::as_str).collect();
    previous.sort_unstable();
    previous.dedup();
    Ok(serde_json::to_string_pretty(&CincinnatiMetadata {
        kind: "cincinnati-metadata-v0",
        version,
        previous,
        metadata,
    })? + "\n")
}

#[derive(Serialize)]
struct Stream<'a> {
    stream: String,
    metadata: BTreeMap<&'static str, &'static str>,
    architectures: BTreeMap<&'static str, StreamArch<'a>>,
}

#[derive(Serialize)]
struct StreamArch<'a> {
    artifacts: BTreeMap<&'static str, BTreeMap<&'static str, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    images: Option<StreamImages<'a>>,
}

#[derive(Serialize)]
struct StreamImages<'a> {
    kubevirt: KubevirtImage<'a>,
}

#[derive(Serialize)]
struct KubevirtImage<'a> {
    release: String,
    image: String,
    #[serde(rename = "digest-ref")]
    digest_ref: &'a str,
}

/// The boot-images ConfigMap: `data.stream` is CoreOS stream JSON with
/// `architectures.x86_64.images.kubevirt.digest-ref` naming `kubevirt`, and an
/// `aarch64` entry without images (as only x86_64 and s390x ship one).
fn bootimages_yaml(version: &str, kubevirt: &PushedComponent) -> anyhow::Result<String> {
    let minor = version.rsplit_once('.').map_or(version, |(m, _)| m);
    let rhcos = format!("{}.92.2024010{}-0", minor.replace('.', ""), kubevirt.build);
    let artifacts = |arch: &str| {
        BTreeMap::from([(
            "qemu",
            BTreeMap::from([
                ("release", rhcos.clone()),
                (
                    "location",
                    format!(
                        "https://rhcos.example.invalid/{rhcos}/{arch}/rhcos-qemu.{arch}.qcow2.gz"
                    ),
                ),
            ]),
        )])
    };
    let image_repo = kubevirt
        .reference
        .split_once('@')
        .map_or(kubevirt.reference.as_str(), |(repo, _)| repo);
    let stream = Stream {
        stream: format!("rhcos-{minor}"),
        metadata: BTreeMap::from([("last-modified", "2024-01-01T00:00:00Z")]),
        architectures: BTreeMap::from([
            (
                "aarch64",
                StreamArch {
                    artifacts: artifacts("aarch64"),
                    images: None,
                },
            ),
            (
                "x86_64",
                StreamArch {
                    artifacts: artifacts("x86_64"),
                    images: Some(StreamImages {
                        kubevirt: KubevirtImage {
                            release: rhcos.clone(),
                            image: image_repo.to_string(),
                            digest_ref: &kubevirt.reference,
                        },
                    }),
                },
            ),
        ]),
    };
    let json = serde_json::to_string_pretty(&stream)?;
    let indented: String = json.lines().map(|l| format!("    {l}\n")).collect();
    Ok(format!(
        "apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  \
           name: coreos-bootimages\n  \
           namespace: openshift-machine-config-operator\n  \
           annotations:\n    \
             include.release.openshift.io/self-managed-high-availability: \"true\"\n\
         data:\n  \
           releaseVersion: {version}\n  \
           stream: |\n{indented}"
    ))
}

const CVO_NAMESPACE_YAML: &str = "apiVersion: v1\n\
kind: Namespace\n\
metadata:\n  \
  name: openshift-cluster-version\n  \
  annotations:\n    \
    include.release.openshift.io/self-managed-high-availability: \"true\"\n";

const PROXY_CRD_YAML: &str = "apiVersion: apiextensions.k8s.io/v1\n\
kind: CustomResourceDefinition\n\
metadata:\n  \
  name: proxies.config.openshift.io\n\
spec:\n  \
  group: config.openshift.io\n  \
  names:\n    \
    kind: Proxy\n    \
    plural: proxies\n  \
  scope: Cluster\n";
