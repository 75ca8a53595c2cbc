//! Synthetic operator catalogs (File-Based Catalogs in catalog images), pushed
//! into a test registry with every bundle and related image they name.
//!
//! Mirroring operators means reading a catalog image's `/configs` tree (the
//! directory its `operators.operatorframework.io.index.configs.v1` label
//! names), selecting packages, channels and bundles in it, and copying each
//! selected bundle's image and related images. Tests for that need catalogs
//! shaped like the ones `opm` builds, whose bytes and digests are fixed by
//! their description, and whose images really exist so a mirror run can copy
//! them:
//!
//! - A [`Catalog`] is a list of [`Package`]s, each with its channels
//!   ([`Channel`], [`ChannelEntry`]: `replaces`, `skips`, `skipRange`),
//!   [`Bundle`]s (version as the `olm.package` property, image, related images,
//!   [`Property`]s), `olm.deprecations` entries ([`Deprecation`]) and any
//!   other-schema blobs, carried as given. [`package`] and the builder methods
//!   make a typical package in a line; [`Catalog::synthetic`] makes big ones
//!   for scale tests.
//! - Images named by a catalog are [`ImageRef`]s: a *fixture* (a repository
//!   and a tag naming its content, written into the catalog by tag or by
//!   digest, on the test registry's host) or an *external* reference written
//!   as given and never pushed (for "missing image" tests).
//! - Rendering writes `configs/<package>/catalog.json` (a stream of
//!   4-space-indented objects, as `opm` writes them, fields in `declcfg`
//!   order) or `catalog.yaml` (`---`-separated documents, keys sorted, as
//!   `opm` writes YAML), chosen per package ([`FileFormat`]). Packages,
//!   channels and bundles are sorted by name, so the same description is the
//!   same bytes.
//! - [`Catalog::push`] pushes the bundle images (`/manifests` + `/metadata`,
//!   bundle labels), the related images (small images, single- or
//!   multi-arch), then the catalog image: a [`FilesLayer`] of `/configs` over
//!   an optional base layer, label
//!   `operators.operatorframework.io.index.configs.v1=/configs`, entrypoint
//!   `/bin/opm`, cmd `serve /configs --cache-dir=/tmp/cache`, Docker schema 2
//!   or OCI, optionally an index of `linux/amd64` + `linux/arm64`
//!   ([`CatalogImage`]). It returns a [`PushedCatalog`]: the catalog
//!   reference and every image reference pushed. [`Catalog::build`] computes
//!   the same without a registry.
//! - [`read_catalog`] reads a catalog image back (layers applied in order,
//!   whiteouts honoured), [`parse_fbc`] parses either file form, for
//!   assertions on what a mirror holds (e.g. a rebuilt, filtered catalog).
//!
//! Catalog digests depend on the host written into the image references (the
//! registry's `127.0.0.1:PORT`), as with [`crate::release`]; the fixture
//! images' digests do not.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::client::{RegistryClient, is_index_media_type};
use crate::fixture::{
    FilesLayer, Format, ImageSpec, IndexSpec, LayerSpec, OPAQUE_WHITEOUT, PushedImage, PushedIndex,
    WHITEOUT_PREFIX, build_image, build_index, push_image, push_index, read_tar_gz,
};

/// The catalog image label naming the FBC directory.
pub const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";
/// The FBC directory of every fixture catalog.
pub const CONFIGS_DIR: &str = "/configs";
/// `Entrypoint` of an `opm`-served catalog image.
pub const OPM_ENTRYPOINT: [&str; 1] = ["/bin/opm"];
/// `Cmd` of an `opm`-served catalog image (`opm generate dockerfile`).
pub const OPM_CMD: [&str; 3] = ["serve", "/configs", "--cache-dir=/tmp/cache"];
/// The file (under `configs/`) holding catalog-level other-schema blobs.
pub const OTHERS_FILE: &str = "configs/others.json";
/// Default namespace of the bundle and related image repositories.
pub const DEFAULT_NS: &str = "operators";

/// Bundle image labels (`operator-registry:docs/design/operator-bundle.md`).
pub mod bundle_label {
    /// `registry+v1`.
    pub const MEDIATYPE: &str = "operators.operatorframework.io.bundle.mediatype.v1";
    /// `manifests/`.
    pub const MANIFESTS: &str = "operators.operatorframework.io.bundle.manifests.v1";
    /// `metadata/`.
    pub const METADATA: &str = "operators.operatorframework.io.bundle.metadata.v1";
    /// The package name.
    pub const PACKAGE: &str = "operators.operatorframework.io.bundle.package.v1";
    /// Comma-separated channels.
    pub const CHANNELS: &str = "operators.operatorframework.io.bundle.channels.v1";
    /// The default channel.
    pub const DEFAULT_CHANNEL: &str = "operators.operatorframework.io.bundle.channel.default.v1";
}

// ---------------------------------------------------------------------------
// Description
// ---------------------------------------------------------------------------

/// How a package's blobs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum FileFormat {
    /// `catalog.json`: a stream of JSON objects, 4-space indent.
    #[default]
    Json,
    /// `catalog.yaml`: YAML documents, each after `---`.
    Yaml,
}

impl FileFormat {
    /// `catalog.json` or `catalog.yaml`.
    pub fn file_name(self) -> &'static str {
        match self {
            FileFormat::Json => "catalog.json",
            FileFormat::Yaml => "catalog.yaml",
        }
    }
}

/// An image the fixture builds and pushes on the test registry. Its content
/// is a pure function of `(repo, tag, multi_arch)` and of whether it is some
/// bundle's image (then it is a bundle image).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixtureRef {
    /// Repository, e.g. `operators/foo-bundle`.
    pub repo: String,
    /// The tag naming the content; pushed only when some reference is by tag.
    pub tag: String,
    /// Written into the catalog as `<host>/<repo>@sha256:…` (as Red Hat
    /// catalogs do) rather than `<host>/<repo>:<tag>`.
    pub by_digest: bool,
    /// An index of `linux/amd64` + `linux/arm64` rather than one image.
    pub multi_arch: bool,
}

/// An image reference in a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageRef {
    /// Built, pushed, and written with the registry's host.
    Fixture(FixtureRef),
    /// Written exactly as given and never pushed.
    External(String),
}

impl ImageRef {
    /// A fixture image written by tag: `<host>/<repo>:<tag>`.
    pub fn tagged(repo: &str, tag: &str) -> ImageRef {
        ImageRef::Fixture(FixtureRef {
            repo: repo.to_string(),
            tag: tag.to_string(),
            by_digest: false,
            multi_arch: false,
        })
    }

    /// A fixture image written by digest: `<host>/<repo>@sha256:…`; `tag`
    /// only names its content (it is not pushed unless also referenced by
    /// tag).
    pub fn pinned(repo: &str, tag: &str) -> ImageRef {
        ImageRef::Fixture(FixtureRef {
            repo: repo.to_string(),
            tag: tag.to_string(),
            by_digest: true,
            multi_arch: false,
        })
    }

    /// A reference written as given, never pushed.
    pub fn external(reference: &str) -> ImageRef {
        ImageRef::External(reference.to_string())
    }

    /// The same fixture as a multi-arch index (external: unchanged).
    pub fn multi_arch(self) -> ImageRef {
        match self {
            ImageRef::Fixture(f) => ImageRef::Fixture(FixtureRef {
                multi_arch: true,
                ..f
            }),
            other => other,
        }
    }
}

/// One entry of a bundle's `relatedImages`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RelatedImage {
    /// `name`; `None` leaves the field out, `Some("")` writes `""`.
    pub name: Option<String>,
    /// `image`.
    pub image: ImageRef,
}

/// A group/version/kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gvk {
    /// API group, e.g. `foo.example.com`.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Foo`.
    pub kind: String,
}

impl Gvk {
    /// `group`/`version`, `kind`.
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }
}

/// A bundle (or package) property besides the bundle's own `olm.package`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Property {
    /// `olm.gvk`: an API the bundle provides.
    Gvk(Gvk),
    /// `olm.gvk.required`: an API the bundle needs.
    GvkRequired(Gvk),
    /// `olm.package.required {packageName, versionRange}`.
    PackageRequired {
        /// The package needed.
        package: String,
        /// A semver range, e.g. `>=1.0.0 <2.0.0`.
        version_range: String,
    },
    /// `olm.bundle.object {data}`: a manifest, base64'd when written.
    BundleObject(Vec<u8>),
    /// `olm.csv.metadata`, as given.
    CsvMetadata(Value),
    /// Any other property, as given.
    Other {
        /// `type`.
        kind: String,
        /// `value`.
        value: Value,
    },
}

impl Property {
    /// The `type` field.
    pub fn kind(&self) -> &str {
        match self {
            Property::Gvk(_) => "olm.gvk",
            Property::GvkRequired(_) => "olm.gvk.required",
            Property::PackageRequired { .. } => "olm.package.required",
            Property::BundleObject(_) => "olm.bundle.object",
            Property::CsvMetadata(_) => "olm.csv.metadata",
            Property::Other { kind, .. } => kind,
        }
    }

    /// The `value` field.
    pub fn value(&self) -> Value {
        let gvk =
            |g: &Gvk| serde_json::json!({"group": g.group, "kind": g.kind, "version": g.version});
        match self {
            Property::Gvk(g) | Property::GvkRequired(g) => gvk(g),
            Property::PackageRequired {
                package,
                version_range,
            } => serde_json::json!({"packageName": package, "versionRange": version_range}),
            Property::BundleObject(data) => {
                serde_json::json!({"data": base64::engine::general_purpose::STANDARD.encode(data)})
            }
            Property::CsvMetadata(value) | Property::Other { value, .. } => value.clone(),
        }
    }

    /// Where the property goes in a bundle's list (as `opm render` orders
    /// them): provided APIs, required APIs, `olm.package`, required packages,
    /// others, then the big objects.
    fn rank(&self) -> u8 {
        match self {
            Property::Gvk(_) => 0,
            Property::GvkRequired(_) => 1,
            Property::PackageRequired { .. } => 3,
            Property::Other { .. } => 4,
            Property::BundleObject(_) | Property::CsvMetadata(_) => 5,
        }
    }
}

/// One `olm.bundle`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// `name`, e.g. `foo.v1.0.0`.
    pub name: String,
    /// The `olm.package` property's `version`, e.g. `1.0.0`.
    pub version: String,
    /// `image`.
    pub image: ImageRef,
    /// `relatedImages` besides the bundle image itself.
    pub related_images: Vec<RelatedImage>,
    /// Whether `relatedImages` starts with the bundle image (name `""`), as
    /// in real catalogs.
    pub bundle_in_related_images: bool,
    /// Properties besides `olm.package`.
    pub properties: Vec<Property>,
}

impl Bundle {
    /// A bundle of `package` as [`package`]'s helpers make them: image
    /// `operators/<package>-bundle` pinned by digest (content tag
    /// `v<version>`), one related image `operator` =
    /// `operators/<package>-operator` pinned (tag `v<version>`), the bundle
    /// image among the related images, and `olm.gvk`
    /// `<package>.example.com/v1 <Package>`.
    pub fn new(package: &str, name: &str, version: &str) -> Bundle {
        let tag = format!("v{version}");
        Bundle {
            name: name.to_string(),
            version: version.to_string(),
            image: ImageRef::pinned(&format!("{DEFAULT_NS}/{package}-bundle"), &tag),
            related_images: vec![RelatedImage {
                name: Some("operator".to_string()),
                image: ImageRef::pinned(&format!("{DEFAULT_NS}/{package}-operator"), &tag),
            }],
            bundle_in_related_images: true,
            properties: vec![Property::Gvk(default_gvk(package))],
        }
    }

    /// The bundle with another image.
    pub fn image(mut self, image: ImageRef) -> Bundle {
        self.image = image;
        self
    }

    /// The bundle with one more related image.
    pub fn related(mut self, name: &str, image: ImageRef) -> Bundle {
        self.related_images.push(RelatedImage {
            name: Some(name.to_string()),
            image,
        });
        self
    }

    /// The bundle without related images (not even itself).
    pub fn no_related(mut self) -> Bundle {
        self.related_images.clear();
        self.bundle_in_related_images = false;
        self
    }

    /// The bundle with one more property.
    pub fn property(mut self, property: Property) -> Bundle {
        self.properties.push(property);
        self
    }

    /// `olm.package.required`.
    pub fn requires_package(self, package: &str, version_range: &str) -> Bundle {
        self.property(Property::PackageRequired {
            package: package.to_string(),
            version_range: version_range.to_string(),
        })
    }

    /// `olm.gvk.required`.
    pub fn requires_gvk(self, gvk: Gvk) -> Bundle {
        self.property(Property::GvkRequired(gvk))
    }

    /// One more `olm.gvk`.
    pub fn provides_gvk(self, gvk: Gvk) -> Bundle {
        self.property(Property::Gvk(gvk))
    }

    /// `olm.bundle.object` holding a minimal CSV of this bundle.
    pub fn with_csv_object(self) -> Bundle {
        let csv = serde_json::json!({
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "ClusterServiceVersion",
            "metadata": {"name": self.name},
            "spec": {"version": self.version},
        });
        let bytes = serde_json::to_vec(&csv).expect("JSON of a value");
        self.property(Property::BundleObject(bytes))
    }

    /// `olm.csv.metadata` with a display name and description.
    pub fn with_csv_metadata(self, display_name: &str) -> Bundle {
        self.property(Property::CsvMetadata(serde_json::json!({
            "displayName": display_name,
            "description": format!("{display_name} does things."),
            "provider": {"name": "oc-mirror-tests"},
        })))
    }
}

/// One entry of an `olm.channel`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChannelEntry {
    /// The bundle name.
    pub name: String,
    /// `replaces` (may name a bundle not in the catalog).
    pub replaces: Option<String>,
    /// `skips`.
    pub skips: Vec<String>,
    /// `skipRange`, a semver range.
    pub skip_range: Option<String>,
}

/// A channel entry for bundle `name` with no edges; chain [`ChannelEntry`]'s
/// methods to add them.
pub fn entry(name: &str) -> ChannelEntry {
    ChannelEntry {
        name: name.to_string(),
        replaces: None,
        skips: Vec::new(),
        skip_range: None,
    }
}

impl ChannelEntry {
    /// With `replaces`.
    pub fn replaces(mut self, name: &str) -> ChannelEntry {
        self.replaces = Some(name.to_string());
        self
    }

    /// With these `skips` added.
    pub fn skips(mut self, names: &[&str]) -> ChannelEntry {
        self.skips.extend(names.iter().map(|n| n.to_string()));
        self
    }

    /// With `skipRange`.
    pub fn skip_range(mut self, range: &str) -> ChannelEntry {
        self.skip_range = Some(range.to_string());
        self
    }
}

impl From<&str> for ChannelEntry {
    fn from(name: &str) -> ChannelEntry {
        entry(name)
    }
}

/// One `olm.channel` (its package is the [`Package`] holding it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Channel {
    /// `name`.
    pub name: String,
    /// `entries`, written in this order.
    pub entries: Vec<ChannelEntry>,
}

impl Channel {
    /// The entries no other entry of the channel `replaces` or `skips`
    /// (`skipRange` does not count): exactly one in a valid channel.
    pub fn heads(&self) -> Vec<&str> {
        let referenced: BTreeSet<&str> = self
            .entries
            .iter()
            .flat_map(|e| e.replaces.iter().chain(e.skips.iter()))
            .map(String::as_str)
            .collect();
        self.entries
            .iter()
            .map(|e| e.name.as_str())
            .filter(|name| !referenced.contains(name))
            .collect()
    }
}

/// What an `olm.deprecations` entry deprecates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeprecatedRef {
    /// The whole package.
    Package,
    /// A channel by name.
    Channel(String),
    /// A bundle by name.
    Bundle(String),
}

/// One `olm.deprecations` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Deprecation {
    /// What is deprecated.
    pub reference: DeprecatedRef,
    /// `message`.
    pub message: String,
}

/// A package icon.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Icon {
    /// `mediatype`, e.g. `image/svg+xml`.
    pub mediatype: String,
    /// The image bytes (written base64'd as `base64data`).
    pub data: Vec<u8>,
}

/// One package: its `olm.package` blob and everything that belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// `name`.
    pub name: String,
    /// `defaultChannel`; empty means the first channel added.
    pub default_channel: String,
    /// `icon`.
    pub icon: Option<Icon>,
    /// `description`.
    pub description: Option<String>,
    /// The package's `properties`.
    pub properties: Vec<Property>,
    /// Channels (written sorted by name).
    pub channels: Vec<Channel>,
    /// Bundles (written sorted by name).
    pub bundles: Vec<Bundle>,
    /// `olm.deprecations` entries (one blob when not empty).
    pub deprecations: Vec<Deprecation>,
    /// Other-schema blobs of this package, written as given after the
    /// bundles (sorted stably by `schema`).
    pub others: Vec<Value>,
    /// `catalog.json` or `catalog.yaml`.
    pub format: FileFormat,
}

/// A package with nothing in it yet (see [`Package`]'s builder methods).
pub fn package(name: &str) -> Package {
    Package {
        name: name.to_string(),
        default_channel: String::new(),
        icon: None,
        description: None,
        properties: Vec::new(),
        channels: Vec::new(),
        bundles: Vec::new(),
        deprecations: Vec::new(),
        others: Vec::new(),
        format: FileFormat::Json,
    }
}

impl Package {
    /// A channel whose entries form a replaces chain: each bundle replaces
    /// the one before it (the last is the head). Bundles not in the package
    /// yet are added with [`Bundle::new`] (version from the name: what
    /// follows the first `.v`, e.g. `foo.v1.2.0` → `1.2.0`).
    pub fn channel(self, name: &str, bundles: &[&str]) -> Package {
        let mut entries: Vec<ChannelEntry> = Vec::new();
        for bundle in bundles {
            let mut next = entry(bundle);
            next.replaces = entries.last().map(|e| e.name.clone());
            entries.push(next);
        }
        self.channel_with(name, entries)
    }

    /// A channel with exactly these entries; missing bundles are added as
    /// by [`Package::channel`] (names only in `replaces`/`skips` are not).
    pub fn channel_with(mut self, name: &str, entries: Vec<ChannelEntry>) -> Package {
        for e in &entries {
            if !self.bundles.iter().any(|b| b.name == e.name) {
                let bundle = Bundle::new(&self.name, &e.name, &version_from_name(&e.name));
                self.bundles.push(bundle);
            }
        }
        if self.default_channel.is_empty() {
            self.default_channel = name.to_string();
        }
        self.channels.retain(|c| c.name != name);
        self.channels.push(Channel {
            name: name.to_string(),
            entries,
        });
        self
    }

    /// With `defaultChannel` set.
    pub fn default_channel(mut self, name: &str) -> Package {
        self.default_channel = name.to_string();
        self
    }

    /// With an icon.
    pub fn icon(mut self, mediatype: &str, data: &[u8]) -> Package {
        self.icon = Some(Icon {
            mediatype: mediatype.to_string(),
            data: data.to_vec(),
        });
        self
    }

    /// With a description.
    pub fn description(mut self, text: &str) -> Package {
        self.description = Some(text.to_string());
        self
    }

    /// Written as `catalog.yaml`.
    pub fn yaml(mut self) -> Package {
        self.format = FileFormat::Yaml;
        self
    }

    /// Written as `catalog.json` (the default).
    pub fn json(mut self) -> Package {
        self.format = FileFormat::Json;
        self
    }

    /// Adds `bundle`, replacing a bundle of the same name.
    pub fn bundle(mut self, bundle: Bundle) -> Package {
        match self.bundles.iter_mut().find(|b| b.name == bundle.name) {
            Some(old) => *old = bundle,
            None => self.bundles.push(bundle),
        }
        self
    }

    /// Changes bundle `name` (which must exist) with `edit`.
    pub fn edit_bundle(mut self, name: &str, edit: impl FnOnce(Bundle) -> Bundle) -> Package {
        let index = self
            .bundles
            .iter()
            .position(|b| b.name == name)
            .unwrap_or_else(|| panic!("package {} has no bundle {name}", self.name));
        let bundle = self.bundles[index].clone();
        self.bundles[index] = edit(bundle);
        self
    }

    /// Changes every bundle with `edit`.
    pub fn edit_bundles(mut self, mut edit: impl FnMut(Bundle) -> Bundle) -> Package {
        self.bundles = self.bundles.into_iter().map(&mut edit).collect();
        self
    }

    /// One more `olm.deprecations` entry.
    pub fn deprecate(mut self, reference: DeprecatedRef, message: &str) -> Package {
        self.deprecations.push(Deprecation {
            reference,
            message: message.to_string(),
        });
        self
    }

    /// One more other-schema blob, carried as given.
    pub fn other(mut self, blob: Value) -> Package {
        self.others.push(blob);
        self
    }

    /// The channel named `name`.
    pub fn get_channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// The bundle named `name`.
    pub fn get_bundle(&self, name: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.name == name)
    }

    /// The channels holding bundle `name`, sorted.
    pub fn channels_of(&self, bundle: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .channels
            .iter()
            .filter(|c| c.entries.iter().any(|e| e.name == bundle))
            .map(|c| c.name.as_str())
            .collect();
        names.sort();
        names
    }
}

/// A whole catalog.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Catalog {
    /// Packages (written sorted by name, one directory each).
    pub packages: Vec<Package>,
    /// Blobs of no package, written to [`OTHERS_FILE`] as given.
    pub others: Vec<Value>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// With one more package (replacing one of the same name).
    pub fn with(mut self, package: Package) -> Catalog {
        self.packages.retain(|p| p.name != package.name);
        self.packages.push(package);
        self
    }

    /// With one more catalog-level other-schema blob.
    pub fn other(mut self, blob: Value) -> Catalog {
        self.others.push(blob);
        self
    }

    /// The package named `name`.
    pub fn get(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// A small catalog with every feature, for tests that need "a catalog":
    ///
    /// - `foo` (JSON, default `stable`): `stable` = `foo.v1.0.0` ←
    ///   `foo.v1.1.0` ← `foo.v1.2.0` (which also skips `foo.v1.1.1` and has
    ///   a `skipRange`), `fast` = `stable` + `foo.v2.0.0`; an icon, a
    ///   description, an `olm.bundle.object` on `foo.v1.2.0`, a
    ///   multi-arch related image `operators/foo-proxy:v1` (by tag) shared by
    ///   every bundle, and a deprecation of `foo.v1.0.0`.
    /// - `bar` (YAML, default `alpha`): `alpha` = `bar.v0.1.0` ←
    ///   `bar.v0.2.0`, `beta` = `bar.v0.2.0` alone; `bar.v0.2.0` needs
    ///   `foo` `>=1.1.0` and the GVK of `foo`; `bar`'s bundle images are
    ///   written by tag; a deprecated channel `beta` and an other-schema blob.
    pub fn small() -> Catalog {
        let proxy = ImageRef::tagged(&format!("{DEFAULT_NS}/foo-proxy"), "v1").multi_arch();
        let foo_pkg = package("foo")
            .description("The foo operator.")
            .icon(
                "image/svg+xml",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            )
            .channel_with(
                "stable",
                vec![
                    entry("foo.v1.0.0"),
                    entry("foo.v1.1.0").replaces("foo.v1.0.0"),
                    entry("foo.v1.2.0")
                        .replaces("foo.v1.1.0")
                        .skips(&["foo.v1.1.1"])
                        .skip_range(">=1.0.0 <1.2.0"),
                ],
            )
            .channel(
                "fast",
                &["foo.v1.0.0", "foo.v1.1.0", "foo.v1.2.0", "foo.v2.0.0"],
            )
            .default_channel("stable")
            .edit_bundles(|b| b.related("proxy", proxy.clone()))
            .edit_bundle("foo.v1.2.0", |b| {
                b.with_csv_object().with_csv_metadata("Foo")
            })
            .deprecate(
                DeprecatedRef::Bundle("foo.v1.0.0".to_string()),
                "foo.v1.0.0 is deprecated; use 1.2.0.",
            );
        let bar = package("bar")
            .yaml()
            .channel("alpha", &["bar.v0.1.0", "bar.v0.2.0"])
            .channel("beta", &["bar.v0.2.0"])
            .edit_bundles(|b| {
                let tag = format!("v{}", b.version);
                b.image(ImageRef::tagged(&format!("{DEFAULT_NS}/bar-bundle"), &tag))
            })
            .edit_bundle("bar.v0.2.0", |b| {
                b.requires_package("foo", ">=1.1.0")
                    .requires_gvk(default_gvk("foo"))
            })
            .deprecate(
                DeprecatedRef::Channel("beta".to_string()),
                "beta is going away.",
            )
            .other(serde_json::json!({
                "schema": "com.example.note",
                "package": "bar",
                "note": "carried as given",
            }));
        Catalog::new().with(foo_pkg).with(bar)
    }

    /// A generated catalog for scale tests: `packages` packages
    /// `pkg-0000`, … with 1–3 channels `stable-v1`, `stable-v2`, … each (from
    /// `seed`). Channel `c` holds `bundles_per_channel` bundles
    /// `<pkg>.v<c>.<i>.0` in a replaces chain; every entry but the first has
    /// `skipRange` `>=<c>.0.0 <<c>.<i>.0` and `skips_per_entry` skips: the
    /// older entries of the chain (nearest first, not the one it replaces),
    /// then `<pkg>.v<c>.<i>.0-rc.<k>` names not in the catalog. Each bundle
    /// has its own operator image and shares a `<pkg>-proxy:v<c>` image with
    /// its channel (every fourth package's proxy is multi-arch); about half
    /// the packages are YAML; about a third of the packages' newest bundles
    /// need the previous package; every tenth package deprecates its oldest
    /// bundle. Same arguments, same catalog.
    pub fn synthetic(
        packages: usize,
        bundles_per_channel: usize,
        skips_per_entry: usize,
        seed: u64,
    ) -> Catalog {
        let mut rng = crate::fixture::SplitMix64(seed ^ 0x6f63_2d6d_6972_726f);
        let mut catalog = Catalog::new();
        for p in 0..packages {
            let name = format!("pkg-{p:04}");
            let mut pkg = package(&name);
            if rng.next() % 2 == 1 {
                pkg = pkg.yaml();
            }
            let channels = 1 + (rng.next() % 3) as usize;
            for c in 1..=channels {
                let names: Vec<String> = (0..bundles_per_channel)
                    .map(|i| format!("{name}.v{c}.{i}.0"))
                    .collect();
                let entries = names
                    .iter()
                    .enumerate()
                    .map(|(i, bundle)| {
                        let mut e = entry(bundle);
                        if i > 0 {
                            e.replaces = Some(names[i - 1].clone());
                            e.skip_range = Some(format!(">={c}.0.0 <{c}.{i}.0"));
                        }
                        let older = names[..i.saturating_sub(1)].iter().rev();
                        let rcs = (1..).map(|k| format!("{bundle}-rc.{k}"));
                        e.skips = older.cloned().chain(rcs).take(skips_per_entry).collect();
                        e
                    })
                    .collect();
                pkg = pkg.channel_with(&format!("stable-v{c}"), entries);
                let mut proxy =
                    ImageRef::pinned(&format!("{DEFAULT_NS}/{name}-proxy"), &format!("v{c}"));
                if p % 4 == 3 {
                    proxy = proxy.multi_arch();
                }
                let prefix = format!("{name}.v{c}.");
                pkg = pkg.edit_bundles(|b| {
                    if b.name.starts_with(&prefix) {
                        b.related("proxy", proxy.clone())
                    } else {
                        b
                    }
                });
            }
            pkg.default_channel = format!("stable-v{}", 1 + (rng.next() % channels as u64));
            if p > 0 && rng.next().is_multiple_of(3) && bundles_per_channel > 0 {
                let newest = format!("{name}.v1.{}.0", bundles_per_channel - 1);
                let required = format!("pkg-{:04}", p - 1);
                pkg = pkg.edit_bundle(&newest, |b| {
                    b.requires_package(&required, ">=1.0.0")
                        .requires_gvk(default_gvk(&required))
                });
            }
            if p % 10 == 9 && bundles_per_channel > 0 {
                pkg = pkg.deprecate(
                    DeprecatedRef::Bundle(format!("{name}.v1.0.0")),
                    "the oldest bundle is deprecated",
                );
            }
            catalog = catalog.with(pkg);
        }
        catalog
    }

    /// Problems that make the catalog invalid to `opm validate`: a missing
    /// or unknown default channel, a channel entry or deprecation naming no
    /// bundle/channel of the package, duplicate names, a channel without
    /// exactly one head. Empty when valid. (Nothing enforces validity: tests
    /// may push broken catalogs on purpose.)
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut names = BTreeSet::new();
        for pkg in &self.packages {
            if !names.insert(&pkg.name) {
                problems.push(format!("duplicate package {}", pkg.name));
            }
            if pkg.get_channel(&pkg.default_channel).is_none() {
                problems.push(format!(
                    "{}: default channel {:?} is not a channel",
                    pkg.name, pkg.default_channel
                ));
            }
            let mut bundles = BTreeSet::new();
            for bundle in &pkg.bundles {
                if !bundles.insert(bundle.name.as_str()) {
                    problems.push(format!("{}: duplicate bundle {}", pkg.name, bundle.name));
                }
            }
            let mut channels = BTreeSet::new();
            for channel in &pkg.channels {
                if !channels.insert(channel.name.as_str()) {
                    problems.push(format!("{}: duplicate channel {}", pkg.name, channel.name));
                }
                for e in &channel.entries {
                    if !bundles.contains(e.name.as_str()) {
                        problems.push(format!(
                            "{}/{}: entry {} is not a bundle",
                            pkg.name, channel.name, e.name
                        ));
                    }
                }
                let heads = channel.heads();
                if heads.len() != 1 {
                    problems.push(format!(
                        "{}/{}: {} heads {heads:?}",
                        pkg.name,
                        channel.name,
                        heads.len()
                    ));
                }
            }
            for d in &pkg.deprecations {
                let known = match &d.reference {
                    DeprecatedRef::Package => true,
                    DeprecatedRef::Channel(c) => channels.contains(c.as_str()),
                    DeprecatedRef::Bundle(b) => bundles.contains(b.as_str()),
                };
                if !known {
                    problems.push(format!(
                        "{}: deprecation of unknown {:?}",
                        pkg.name, d.reference
                    ));
                }
            }
        }
        problems
    }

    /// Every distinct fixture image the catalog names, with whether it is
    /// some bundle's image.
    fn fixtures(&self) -> anyhow::Result<BTreeMap<(String, String), FixtureUse>> {
        let mut uses: BTreeMap<(String, String), FixtureUse> = BTreeMap::new();
        let mut note =
            |image: &ImageRef, bundle: Option<(&Package, &Bundle)>| -> anyhow::Result<()> {
                let ImageRef::Fixture(f) = image else {
                    return Ok(());
                };
                let key = (f.repo.clone(), f.tag.clone());
                let entry = uses.entry(key).or_insert_with(|| FixtureUse {
                    multi_arch: f.multi_arch,
                    ..FixtureUse::default()
                });
                if entry.multi_arch != f.multi_arch {
                    bail!(
                        "{}:{} is named both multi-arch and single-arch",
                        f.repo,
                        f.tag
                    );
                }
                if f.by_digest {
                    entry.by_digest = true;
                } else {
                    entry.by_tag = true;
                }
                if let Some((pkg, bundle)) = bundle
                    && entry.bundle.is_none()
                {
                    entry.bundle = Some(BundleContent {
                        package: pkg.name.clone(),
                        name: bundle.name.clone(),
                        version: bundle.version.clone(),
                        channels: pkg.channels_of(&bundle.name).join(","),
                        default_channel: pkg.default_channel.clone(),
                    });
                }
                Ok(())
            };
        for pkg in sorted_packages(self) {
            for bundle in sorted_by_name(&pkg.bundles, |b| &b.name) {
                note(&bundle.image, Some((pkg, bundle)))?;
                for related in &bundle.related_images {
                    note(&related.image, None)?;
                }
            }
        }
        Ok(uses)
    }

    /// The FBC objects in the order they are written (packages by name;
    /// in each: the package, channels, bundles, others, deprecations; then
    /// the catalog-level others), with image references resolved by `resolve`.
    fn blobs(&self, resolve: &dyn Fn(&ImageRef) -> String) -> Vec<(Option<&Package>, Vec<Blob>)> {
        let mut out = Vec::new();
        for pkg in sorted_packages(self) {
            let mut blobs = vec![Blob::Package(PackageJson {
                schema: "olm.package",
                name: pkg.name.clone(),
                default_channel: pkg.default_channel.clone(),
                icon: pkg.icon.as_ref().map(|icon| IconJson {
                    base64data: base64::engine::general_purpose::STANDARD.encode(&icon.data),
                    mediatype: icon.mediatype.clone(),
                }),
                description: pkg.description.clone(),
                properties: pkg.properties.iter().map(property_json).collect(),
            })];
            for channel in sorted_by_name(&pkg.channels, |c| &c.name) {
                blobs.push(Blob::Channel(ChannelJson {
                    schema: "olm.channel",
                    name: channel.name.clone(),
                    package: pkg.name.clone(),
                    entries: channel
                        .entries
                        .iter()
                        .map(|e| EntryJson {
                            name: e.name.clone(),
                            replaces: e.replaces.clone(),
                            skips: e.skips.clone(),
                            skip_range: e.skip_range.clone(),
                        })
                        .collect(),
                }));
            }
            for bundle in sorted_by_name(&pkg.bundles, |b| &b.name) {
                let mut properties: Vec<(u8, PropertyJson)> = bundle
                    .properties
                    .iter()
                    .map(|p| (p.rank(), property_json(p)))
                    .collect();
                properties.push((
                    2,
                    PropertyJson {
                        kind: "olm.package".to_string(),
                        value: serde_json::json!({
                            "packageName": pkg.name,
                            "version": bundle.version,
                        }),
                    },
                ));
                properties.sort_by_key(|(rank, _)| *rank);
                let image = resolve(&bundle.image);
                let mut related = Vec::new();
                if bundle.bundle_in_related_images {
                    related.push(RelatedJson {
                        name: Some(String::new()),
                        image: image.clone(),
                    });
                }
                related.extend(bundle.related_images.iter().map(|r| RelatedJson {
                    name: r.name.clone(),
                    image: resolve(&r.image),
                }));
                blobs.push(Blob::Bundle(BundleJson {
                    schema: "olm.bundle",
                    name: bundle.name.clone(),
                    package: pkg.name.clone(),
                    image,
                    properties: properties.into_iter().map(|(_, p)| p).collect(),
                    related_images: related,
                }));
            }
            let mut others: Vec<&Value> = pkg.others.iter().collect();
            others.sort_by_key(|v| v.get("schema").and_then(Value::as_str).unwrap_or(""));
            blobs.extend(others.into_iter().map(|v| Blob::Other(v.clone())));
            if !pkg.deprecations.is_empty() {
                blobs.push(Blob::Deprecations(DeprecationsJson {
                    schema: "olm.deprecations",
                    package: pkg.name.clone(),
                    entries: pkg
                        .deprecations
                        .iter()
                        .map(|d| {
                            let (schema, name) = match &d.reference {
                                DeprecatedRef::Package => ("olm.package", None),
                                DeprecatedRef::Channel(c) => ("olm.channel", Some(c.clone())),
                                DeprecatedRef::Bundle(b) => ("olm.bundle", Some(b.clone())),
                            };
                            DeprecationEntryJson {
                                reference: ReferenceJson { schema, name },
                                message: d.message.clone(),
                            }
                        })
                        .collect(),
                }));
            }
            out.push((Some(pkg), blobs));
        }
        if !self.others.is_empty() {
            out.push((None, self.others.iter().cloned().map(Blob::Other).collect()));
        }
        out
    }

    /// Renders the `/configs` tree with image references resolved by
    /// `resolve`: paths relative to the image root (`configs/<pkg>/catalog.json`)
    /// to file bytes.
    pub fn render_with(
        &self,
        resolve: &dyn Fn(&ImageRef) -> String,
    ) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for (pkg, blobs) in self.blobs(resolve) {
            let (path, format) = match pkg {
                Some(pkg) => (
                    format!("configs/{}/{}", pkg.name, pkg.format.file_name()),
                    pkg.format,
                ),
                None => (OTHERS_FILE.to_string(), FileFormat::Json),
            };
            let bytes = render_blobs(&blobs, format)?;
            if files.insert(path.clone(), bytes).is_some() {
                bail!("two packages write {path}");
            }
        }
        Ok(files)
    }

    /// Renders the `/configs` tree as it is pushed to a registry reached as
    /// `host` (fixture references resolved to `host`; digests computed
    /// offline).
    pub fn render(&self, host: &str, format: Format) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let plan = self.plan(host, format)?;
        self.render_with(&|image| plan.resolve(image))
    }

    /// The FBC objects (as JSON values, keys sorted) in written order, with
    /// image references resolved by `resolve`.
    pub fn objects_with(&self, resolve: &dyn Fn(&ImageRef) -> String) -> Vec<Value> {
        self.blobs(resolve)
            .into_iter()
            .flat_map(|(_, blobs)| blobs)
            .map(|blob| serde_json::to_value(&blob).expect("FBC blobs are JSON"))
            .collect()
    }

    /// Builds every fixture image spec and its digest (no registry).
    fn plan(&self, host: &str, format: Format) -> anyhow::Result<Plan> {
        let mut images = Vec::new();
        for ((repo, tag), usage) in self.fixtures()? {
            let artifact = fixture_artifact(&repo, &tag, &usage, format);
            let built = match &artifact {
                FixtureArtifact::Image(spec) => CatalogManifest::Image(build_image(spec)?),
                FixtureArtifact::Index(spec) => CatalogManifest::Index(build_index(spec)?),
            };
            images.push(PlannedImage {
                digest: built.digest().to_string(),
                media_type: built.media_type().to_string(),
                repo,
                tag,
                usage,
                artifact,
                built,
            });
        }
        let digests = images
            .iter()
            .map(|p| ((p.repo.clone(), p.tag.clone()), p.digest.clone()))
            .collect();
        Ok(Plan {
            host: host.to_string(),
            images,
            digests,
        })
    }

    /// What [`Catalog::push_as`] would push, computed without a registry.
    pub fn build(&self, image: &CatalogImage, host: &str) -> anyhow::Result<PushedCatalog> {
        let plan = self.plan(host, image.format)?;
        let files = self.render_with(&|r| plan.resolve(r))?;
        let objects = self.objects_with(&|r| plan.resolve(r));
        let manifest = match catalog_artifact(image, &files) {
            FixtureArtifact::Image(spec) => CatalogManifest::Image(build_image(&spec)?),
            FixtureArtifact::Index(spec) => CatalogManifest::Index(build_index(&spec)?),
        };
        let images = plan
            .images
            .iter()
            .map(|planned| plan.pushed(planned, artifact_blobs(&planned.built)))
            .collect();
        Ok(finish(self, image, &plan, manifest, files, objects, images))
    }

    /// Pushes every fixture image the catalog names, then the catalog image,
    /// into the registry behind `to`, writing its own `host:port` into the
    /// references.
    pub async fn push(
        &self,
        to: impl AsRef<RegistryClient>,
        image: &CatalogImage,
    ) -> anyhow::Result<PushedCatalog> {
        let client = to.as_ref();
        let host = client.target().host.clone();
        self.push_as(client, image, &host).await
    }

    /// Like [`Catalog::push`], but writes `host` into the references (e.g. a
    /// proxy in front of the registry).
    pub async fn push_as(
        &self,
        to: impl AsRef<RegistryClient>,
        image: &CatalogImage,
        host: &str,
    ) -> anyhow::Result<PushedCatalog> {
        let client = to.as_ref();
        let plan = self.plan(host, image.format)?;
        let images: Vec<PushedFixture> = futures_util::stream::iter(plan.images.iter())
            .map(|planned| {
                let plan = &plan;
                async move {
                    let manifest = push_fixture(client, planned).await?;
                    Ok::<_, anyhow::Error>(plan.pushed(planned, artifact_blobs(&manifest)))
                }
            })
            .buffered(16)
            .try_collect()
            .await?;
        let files = self.render_with(&|r| plan.resolve(r))?;
        let objects = self.objects_with(&|r| plan.resolve(r));
        let manifest = match catalog_artifact(image, &files) {
            FixtureArtifact::Image(spec) => {
                CatalogManifest::Image(push_image(client, &spec).await?)
            }
            FixtureArtifact::Index(spec) => {
                CatalogManifest::Index(push_index(client, &spec).await?)
            }
        };
        Ok(finish(self, image, &plan, manifest, files, objects, images))
    }
}

/// How a fixture image is used by the catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FixtureUse {
    multi_arch: bool,
    by_tag: bool,
    by_digest: bool,
    /// Set when it is a bundle's image: that bundle.
    bundle: Option<BundleContent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct BundleContent {
    package: String,
    name: String,
    version: String,
    channels: String,
    default_channel: String,
}

#[derive(Clone, Debug)]
enum FixtureArtifact {
    Image(ImageSpec),
    Index(IndexSpec),
}

#[derive(Clone, Debug)]
struct PlannedImage {
    repo: String,
    tag: String,
    usage: FixtureUse,
    artifact: FixtureArtifact,
    digest: String,
    media_type: String,
    /// What pushing it produces.
    built: CatalogManifest,
}

struct Plan {
    host: String,
    images: Vec<PlannedImage>,
    /// `(repo, content tag)` → digest.
    digests: BTreeMap<(String, String), String>,
}

impl Plan {
    fn resolve(&self, image: &ImageRef) -> String {
        match image {
            ImageRef::External(reference) => reference.clone(),
            ImageRef::Fixture(f) => {
                if f.by_digest {
                    let digest = &self.digests[&(f.repo.clone(), f.tag.clone())];
                    format!("{}/{}@{}", self.host, f.repo, digest)
                } else {
                    format!("{}/{}:{}", self.host, f.repo, f.tag)
                }
            }
        }
    }

    fn pushed(&self, planned: &PlannedImage, blobs: BTreeMap<String, u64>) -> PushedFixture {
        let digest_reference = format!("{}/{}@{}", self.host, planned.repo, planned.digest);
        let mut references = Vec::new();
        if planned.usage.by_tag {
            references.push(format!("{}/{}:{}", self.host, planned.repo, planned.tag));
        }
        if planned.usage.by_digest {
            references.push(digest_reference.clone());
        }
        PushedFixture {
            repo: planned.repo.clone(),
            tag: planned.usage.by_tag.then(|| planned.tag.clone()),
            content_tag: planned.tag.clone(),
            digest: planned.digest.clone(),
            media_type: planned.media_type.clone(),
            digest_reference,
            references,
            bundle: planned.usage.bundle.as_ref().map(|b| b.name.clone()),
            package: planned.usage.bundle.as_ref().map(|b| b.package.clone()),
            multi_arch: planned.usage.multi_arch,
            blobs,
        }
    }
}

async fn push_fixture(
    client: &RegistryClient,
    planned: &PlannedImage,
) -> anyhow::Result<CatalogManifest> {
    let manifest = match &planned.artifact {
        FixtureArtifact::Image(spec) => CatalogManifest::Image(push_image(client, spec).await?),
        FixtureArtifact::Index(spec) => CatalogManifest::Index(push_index(client, spec).await?),
    };
    if manifest != planned.built {
        bail!(
            "{}:{} pushed as {}, planned {}",
            planned.repo,
            planned.tag,
            manifest.digest(),
            planned.digest
        );
    }
    Ok(manifest)
}

fn finish(
    catalog: &Catalog,
    image: &CatalogImage,
    plan: &Plan,
    manifest: CatalogManifest,
    files: BTreeMap<String, Vec<u8>>,
    objects: Vec<Value>,
    images: Vec<PushedFixture>,
) -> PushedCatalog {
    let host = &plan.host;
    let digest = manifest.digest().to_string();
    let digest_reference = format!("{host}/{}@{digest}", image.repo);
    let reference = match &image.tag {
        Some(tag) => format!("{host}/{}:{tag}", image.repo),
        None => digest_reference.clone(),
    };
    let bundles = catalog
        .packages
        .iter()
        .flat_map(|pkg| &pkg.bundles)
        .map(|bundle| (bundle.name.clone(), plan.resolve(&bundle.image)))
        .collect();
    PushedCatalog {
        host: host.to_string(),
        repo: image.repo.clone(),
        tag: image.tag.clone(),
        digest,
        media_type: manifest.media_type().to_string(),
        reference,
        digest_reference,
        manifest,
        files,
        objects,
        images,
        bundles,
    }
}

fn artifact_blobs(manifest: &CatalogManifest) -> BTreeMap<String, u64> {
    match manifest {
        CatalogManifest::Image(image) => image
            .blob_digests
            .iter()
            .cloned()
            .zip(image.blob_sizes.iter().copied())
            .collect(),
        CatalogManifest::Index(index) => index
            .images
            .iter()
            .flat_map(|image| {
                image
                    .blob_digests
                    .iter()
                    .cloned()
                    .zip(image.blob_sizes.iter().copied())
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

/// How the catalog image itself is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogImage {
    /// Repository, e.g. `redhat/redhat-operator-index`.
    pub repo: String,
    /// Tag; `None` pushes by digest only.
    pub tag: Option<String>,
    /// Docker schema 2 or OCI (the fixture images use the same).
    pub format: Format,
    /// An index of `linux/amd64` + `linux/arm64` (same `/configs`).
    pub multi_arch: bool,
    /// A pseudo-random layer below `/configs` (standing in for the `opm`
    /// base image).
    pub base_layer: Option<LayerSpec>,
    /// One `/configs` layer per package (plus one for the directory and
    /// catalog-level others) rather than a single layer.
    pub layer_per_package: bool,
}

impl CatalogImage {
    /// A single-arch OCI catalog image at `repo:tag` with a 4 KiB base layer
    /// and one `/configs` layer.
    pub fn new(repo: &str, tag: &str) -> CatalogImage {
        CatalogImage {
            repo: repo.to_string(),
            tag: Some(tag.to_string()),
            format: Format::Oci,
            multi_arch: false,
            base_layer: Some(LayerSpec {
                seed: seed_of("catalog-base/opm"),
                size: 4 << 10,
            }),
            layer_per_package: false,
        }
    }

    /// Docker schema 2 (manifest list when multi-arch).
    pub fn docker(mut self) -> CatalogImage {
        self.format = Format::Docker;
        self
    }

    /// OCI (the default).
    pub fn oci(mut self) -> CatalogImage {
        self.format = Format::Oci;
        self
    }

    /// An index of `linux/amd64` + `linux/arm64`.
    pub fn multi_arch(mut self) -> CatalogImage {
        self.multi_arch = true;
        self
    }

    /// Without the base layer (only `/configs`).
    pub fn without_base(mut self) -> CatalogImage {
        self.base_layer = None;
        self
    }

    /// One layer per package.
    pub fn layer_per_package(mut self) -> CatalogImage {
        self.layer_per_package = true;
        self
    }

    /// Pushed by digest only.
    pub fn untagged(mut self) -> CatalogImage {
        self.tag = None;
        self
    }
}

/// The platforms of every multi-arch fixture.
const MULTI_ARCH: [&str; 2] = ["amd64", "arm64"];

/// The catalog image (or index) for `files`.
fn catalog_artifact(image: &CatalogImage, files: &BTreeMap<String, Vec<u8>>) -> FixtureArtifact {
    let mut layers = Vec::new();
    if image.layer_per_package {
        let mut top = FilesLayer::new().dir("configs");
        if let Some(others) = files.get(OTHERS_FILE) {
            top = top.file(OTHERS_FILE, others.clone());
        }
        layers.push(top);
        for (path, bytes) in files.iter().filter(|(p, _)| p.as_str() != OTHERS_FILE) {
            let dir = path.rsplit_once('/').map_or("configs", |(d, _)| d);
            layers.push(FilesLayer::new().dir(dir).file(path, bytes.clone()));
        }
    } else {
        let mut layer = FilesLayer::new().dir("configs");
        let mut dirs = BTreeSet::new();
        for (path, bytes) in files {
            if let Some((dir, _)) = path.rsplit_once('/')
                && dir != "configs"
                && dirs.insert(dir.to_string())
            {
                layer = layer.dir(dir);
            }
            layer = layer.file(path, bytes.clone());
        }
        layers.push(layer);
    }
    let spec = |arch: &str| {
        let mut spec = ImageSpec::new(
            &image.repo,
            if image.multi_arch {
                None
            } else {
                image.tag.as_deref()
            },
            image.format,
            image.base_layer.iter().copied().collect(),
        )
        .with_platform("linux", arch)
        .with_label(CONFIGS_LABEL, CONFIGS_DIR)
        .with_entrypoint(&OPM_ENTRYPOINT)
        .with_cmd(&OPM_CMD);
        spec.file_layers = layers.clone();
        spec
    };
    if image.multi_arch {
        FixtureArtifact::Index(IndexSpec {
            repo: image.repo.clone(),
            tag: image.tag.clone(),
            format: image.format,
            images: MULTI_ARCH.iter().map(|arch| spec(arch)).collect(),
        })
    } else {
        FixtureArtifact::Image(spec("amd64"))
    }
}

/// A fixture image: a bundle image (`/manifests`, `/metadata`, bundle
/// labels) or a small related image (a shared 2 KiB base layer and one of
/// its own), single- or multi-arch.
fn fixture_artifact(repo: &str, tag: &str, usage: &FixtureUse, format: Format) -> FixtureArtifact {
    let push_tag = usage.by_tag.then_some(tag);
    let spec = |arch: &str, push_tag: Option<&str>| {
        let spec = match &usage.bundle {
            Some(bundle) => bundle_image(repo, push_tag, format, bundle),
            None => {
                let own = seed_of(&format!("catalog-fixture/{repo}:{tag}/{arch}"));
                let base = LayerSpec {
                    seed: seed_of(&format!("catalog-related-base/{arch}")),
                    size: 2 << 10,
                };
                let own = LayerSpec {
                    seed: own,
                    size: 512 + (own % 1024) as usize,
                };
                ImageSpec::new(repo, push_tag, format, vec![base, own])
            }
        };
        spec.with_platform("linux", arch)
    };
    if usage.multi_arch {
        FixtureArtifact::Index(IndexSpec {
            repo: repo.to_string(),
            tag: push_tag.map(str::to_string),
            format,
            images: MULTI_ARCH.iter().map(|arch| spec(arch, None)).collect(),
        })
    } else {
        FixtureArtifact::Image(spec("amd64", push_tag))
    }
}

/// A bundle image as `operator-sdk` lays it out.
fn bundle_image(
    repo: &str,
    tag: Option<&str>,
    format: Format,
    bundle: &BundleContent,
) -> ImageSpec {
    let csv = format!(
        "apiVersion: operators.coreos.com/v1alpha1\n\
         kind: ClusterServiceVersion\n\
         metadata:\n  name: {name}\n\
         spec:\n  displayName: {package}\n  version: {version}\n",
        name = bundle.name,
        package = bundle.package,
        version = bundle.version,
    );
    let labels = [
        (bundle_label::MEDIATYPE, "registry+v1".to_string()),
        (bundle_label::MANIFESTS, "manifests/".to_string()),
        (bundle_label::METADATA, "metadata/".to_string()),
        (bundle_label::PACKAGE, bundle.package.clone()),
        (bundle_label::CHANNELS, bundle.channels.clone()),
        (
            bundle_label::DEFAULT_CHANNEL,
            bundle.default_channel.clone(),
        ),
    ];
    let mut annotations = String::from("annotations:\n");
    for (key, value) in &labels {
        annotations.push_str(&format!("  {key}: {value:?}\n"));
    }
    let layer = FilesLayer::new()
        .dir("manifests")
        .file(
            &format!("manifests/{}.clusterserviceversion.yaml", bundle.package),
            csv,
        )
        .dir("metadata")
        .file("metadata/annotations.yaml", annotations);
    let mut spec = ImageSpec::new(repo, tag, format, Vec::new()).with_files_layer(layer);
    for (key, value) in &labels {
        spec = spec.with_label(key, value);
    }
    spec
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

/// The catalog's own manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogManifest {
    /// A single-arch image.
    Image(PushedImage),
    /// An index over `linux/amd64` + `linux/arm64`.
    Index(PushedIndex),
}

impl CatalogManifest {
    /// The manifest digest.
    pub fn digest(&self) -> &str {
        match self {
            CatalogManifest::Image(i) => &i.manifest_digest,
            CatalogManifest::Index(i) => &i.manifest_digest,
        }
    }

    /// The manifest media type.
    pub fn media_type(&self) -> &str {
        match self {
            CatalogManifest::Image(i) => &i.media_type,
            CatalogManifest::Index(i) => &i.media_type,
        }
    }

    /// The single-platform images (one, or one per platform).
    pub fn images(&self) -> Vec<&PushedImage> {
        match self {
            CatalogManifest::Image(i) => vec![i],
            CatalogManifest::Index(i) => i.images.iter().collect(),
        }
    }
}

/// A bundle or related image as pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedFixture {
    /// Repository.
    pub repo: String,
    /// The tag pushed, when some reference is by tag.
    pub tag: Option<String>,
    /// The tag naming the content (the [`FixtureRef::tag`]).
    pub content_tag: String,
    /// Manifest (or index) digest.
    pub digest: String,
    /// Manifest (or index) media type.
    pub media_type: String,
    /// `<host>/<repo>@<digest>`.
    pub digest_reference: String,
    /// The references the catalog writes for it (by tag and/or by digest).
    pub references: Vec<String>,
    /// The bundle it is the image of, if any.
    pub bundle: Option<String>,
    /// That bundle's package.
    pub package: Option<String>,
    /// An index of `linux/amd64` + `linux/arm64`.
    pub multi_arch: bool,
    /// Every blob (configs and layers of every platform) and its size.
    pub blobs: BTreeMap<String, u64>,
}

/// A catalog as pushed (or built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedCatalog {
    /// The host written into references.
    pub host: String,
    /// The catalog repository.
    pub repo: String,
    /// The catalog tag, if any.
    pub tag: Option<String>,
    /// The catalog manifest (or index) digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// `<host>/<repo>:<tag>`, or the digest reference when untagged.
    pub reference: String,
    /// `<host>/<repo>@<digest>`.
    pub digest_reference: String,
    /// The catalog manifest(s).
    pub manifest: CatalogManifest,
    /// The `/configs` files, paths relative to the image root
    /// (`configs/<pkg>/catalog.json`).
    pub files: BTreeMap<String, Vec<u8>>,
    /// The FBC objects in written order (keys sorted).
    pub objects: Vec<Value>,
    /// Every bundle and related image pushed, sorted by repo and tag.
    pub images: Vec<PushedFixture>,
    /// Bundle name → its image reference as written.
    pub bundles: BTreeMap<String, String>,
}

impl PushedCatalog {
    /// The catalog reference followed by every reference the catalog
    /// writes for a pushed image (sorted).
    pub fn references(&self) -> Vec<String> {
        let mut refs: BTreeSet<String> = BTreeSet::new();
        for image in &self.images {
            refs.extend(image.references.iter().cloned());
        }
        let mut out = vec![self.reference.clone()];
        out.extend(refs);
        out
    }

    /// The pushed image the catalog names as `reference`.
    pub fn image(&self, reference: &str) -> Option<&PushedFixture> {
        self.images
            .iter()
            .find(|i| i.references.iter().any(|r| r == reference))
    }

    /// The objects of `schema` (e.g. `olm.bundle`).
    pub fn objects_of(&self, schema: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|o| o.get("schema").and_then(Value::as_str) == Some(schema))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------

/// A catalog image read from a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadCatalog {
    /// The digest of the manifest read (the `linux/amd64` child of an index).
    pub manifest_digest: String,
    /// The image config.
    pub config: Value,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// Every file under the label's directory after applying all layers
    /// (paths relative to the image root, e.g. `configs/foo/catalog.json`).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ReadCatalog {
    /// Every FBC object of every file (files in path order).
    pub fn objects(&self) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        for (path, bytes) in &self.files {
            out.extend(parse_fbc(path, bytes)?);
        }
        Ok(out)
    }
}

/// Reads catalog image `repo:reference` (tag or digest) through `client`:
/// the `linux/amd64` image of an index, its config, and the files under
/// the directory its [`CONFIGS_LABEL`] names, layers applied bottom first
/// with whiteouts and opaque markers honoured.
pub async fn read_catalog(
    client: impl AsRef<RegistryClient>,
    repo: &str,
    reference: &str,
) -> anyhow::Result<ReadCatalog> {
    let client = client.as_ref();
    let (mut digest, mut media_type, mut bytes) = client
        .manifest(repo, reference)
        .await?
        .with_context(|| format!("{repo}:{reference} not found"))?;
    if is_index_media_type(&media_type) {
        let index: Value = serde_json::from_slice(&bytes)?;
        let child = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["platform"]["architecture"] == "amd64" && m["platform"]["os"] == "linux")
            .context("index without linux/amd64")?;
        let child_digest = child["digest"].as_str().context("child digest")?;
        (digest, media_type, bytes) = client
            .manifest(repo, child_digest)
            .await?
            .context("child manifest missing")?;
    }
    let _ = media_type;
    let manifest: Value = serde_json::from_slice(&bytes)?;
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .context("config digest")?;
    let config: Value = serde_json::from_slice(
        &client
            .blob(repo, config_digest)
            .await?
            .context("config blob missing")?,
    )?;
    let labels: BTreeMap<String, String> =
        serde_json::from_value(config["config"]["Labels"].clone()).unwrap_or_default();
    let dir = labels
        .get(CONFIGS_LABEL)
        .with_context(|| format!("no {CONFIGS_LABEL} label"))?
        .trim_matches('/')
        .to_string();
    let mut tree: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let layer_digest = layer["digest"].as_str().context("layer digest")?;
        let blob = client
            .blob(repo, layer_digest)
            .await?
            .context("layer blob missing")?;
        for member in read_tar_gz(&blob)? {
            let path = member.path.trim_start_matches("./").trim_end_matches('/');
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            if name == OPAQUE_WHITEOUT {
                let prefix = format!("{parent}/");
                tree.retain(|p, _| !p.starts_with(&prefix));
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
                let gone = if parent.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{parent}/{hidden}")
                };
                let prefix = format!("{gone}/");
                tree.retain(|p, _| *p != gone && !p.starts_with(&prefix));
            } else if member.is_file() {
                tree.insert(path.to_string(), member.contents);
            }
        }
    }
    let prefix = format!("{dir}/");
    let files = tree
        .into_iter()
        .filter(|(p, _)| p.starts_with(&prefix))
        .collect();
    Ok(ReadCatalog {
        manifest_digest: digest,
        config,
        labels,
        files,
    })
}

/// Parses one FBC file: a JSON stream (`.json`) or YAML documents
/// (`.yaml`/`.yml`; empty documents skipped).
pub fn parse_fbc(path: &str, bytes: &[u8]) -> anyhow::Result<Vec<Value>> {
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        use serde::Deserialize as _;
        let mut out = Vec::new();
        for document in serde_norway::Deserializer::from_slice(bytes) {
            let value = Value::deserialize(document).with_context(|| format!("parsing {path}"))?;
            if !value.is_null() {
                out.push(value);
            }
        }
        Ok(out)
    } else {
        serde_json::Deserializer::from_slice(bytes)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing {path}"))
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(untagged)]
enum Blob {
    Package(PackageJson),
    Channel(ChannelJson),
    Bundle(BundleJson),
    Deprecations(DeprecationsJson),
    Other(Value),
}

#[derive(Serialize)]
struct PackageJson {
    schema: &'static str,
    name: String,
    #[serde(rename = "defaultChannel")]
    default_channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<IconJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<PropertyJson>,
}

#[derive(Serialize)]
struct IconJson {
    base64data: String,
    mediatype: String,
}

#[derive(Serialize)]
struct PropertyJson {
    #[serde(rename = "type")]
    kind: String,
    value: Value,
}

#[derive(Serialize)]
struct ChannelJson {
    schema: &'static str,
    name: String,
    package: String,
    entries: Vec<EntryJson>,
}

#[derive(Serialize)]
struct EntryJson {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skips: Vec<String>,
    #[serde(rename = "skipRange", skip_serializing_if = "Option::is_none")]
    skip_range: Option<String>,
}

#[derive(Serialize)]
struct BundleJson {
    schema: &'static str,
    name: String,
    package: String,
    image: String,
    properties: Vec<PropertyJson>,
    #[serde(rename = "relatedImages", skip_serializing_if = "Vec::is_empty")]
    related_images: Vec<RelatedJson>,
}

#[derive(Serialize)]
struct RelatedJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    image: String,
}

#[derive(Serialize)]
struct DeprecationsJson {
    schema: &'static str,
    package: String,
    entries: Vec<DeprecationEntryJson>,
}

#[derive(Serialize)]
struct DeprecationEntryJson {
    reference: ReferenceJson,
    message: String,
}

#[derive(Serialize)]
struct ReferenceJson {
    schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

fn property_json(p: &Property) -> PropertyJson {
    PropertyJson {
        kind: p.kind().to_string(),
        value: p.value(),
    }
}

/// JSON: each blob 4-space indented, followed by a newline (Go's
/// `json.Encoder`). YAML: `---\n` then the blob with keys sorted.
fn render_blobs(blobs: &[Blob], format: FileFormat) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for blob in blobs {
        match format {
            FileFormat::Json => {
                let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
                let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
                blob.serialize(&mut ser)?;
                out.push(b'\n');
            }
            FileFormat::Yaml => {
                out.extend_from_slice(b"---\n");
                let sorted = serde_json::to_value(blob)?;
                out.extend_from_slice(serde_norway::to_string(&sorted)?.as_bytes());
            }
        }
    }
    Ok(out)
}

fn sorted_packages(catalog: &Catalog) -> Vec<&Package> {
    sorted_by_name(&catalog.packages, |p| &p.name)
}

fn sorted_by_name<T>(items: &[T], name: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| name(a).cmp(name(b)));
    sorted
}

/// `foo.v1.2.0` → `1.2.0`: what follows the first `.v` followed by a
/// digit; the whole name when there is none.
pub fn version_from_name(name: &str) -> String {
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(2))
        .find(|&i| bytes[i] == b'.' && bytes[i + 1] == b'v' && bytes[i + 2].is_ascii_digit())
        .map_or_else(|| name.to_string(), |i| name[i + 2..].to_string())
}

/// The `olm.gvk` [`Bundle::new`] gives a package's bundles:
/// `<package>.example.com/v1`, kind `<Package>` (camel-cased, `-` dropped).
pub fn default_gvk(package: &str) -> Gvk {
    let kind: String = package
        .split(['-', '.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    Gvk::new(&format!("{package}.example.com"), "v1", &kind)
}

fn seed_of(what: &str) -> u64 {
    let hash = Sha256::digest(what.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Registry, RegistryOptions};

    const HOST: &str = "127.0.0.1:5000";

    fn sorted(mut values: Vec<Value>) -> Vec<String> {
        let mut out: Vec<String> = values.drain(..).map(|v| v.to_string()).collect();
        out.sort();
        out
    }

    fn all_objects(files: &BTreeMap<String, Vec<u8>>) -> Vec<Value> {
        files
            .iter()
            .flat_map(|(path, bytes)| parse_fbc(path, bytes).unwrap())
            .collect()
    }

    /// `host/repo:tag` or `host/repo@digest` → `(repo, tag or digest)`.
    fn split_reference(reference: &str) -> (String, String) {
        let (_, rest) = reference.split_once('/').unwrap();
        match rest.split_once('@') {
            Some((repo, digest)) => (repo.to_string(), digest.to_string()),
            None => {
                let (repo, tag) = rest.rsplit_once(':').unwrap();
                (repo.to_string(), tag.to_string())
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let small = Catalog::small();
        assert_eq!(small.validate(), Vec::<String>::new());
        let a = small.render(HOST, Format::Oci).unwrap();
        let b = Catalog::small().render(HOST, Format::Oci).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            ["configs/bar/catalog.yaml", "configs/foo/catalog.json"]
        );
        let image = CatalogImage::new("catalogs/small", "v1");
        let built = small.build(&image, HOST).unwrap();
        assert_eq!(built, Catalog::small().build(&image, HOST).unwrap());
        assert_eq!(built.files, a);
        // The host is part of the content; the fixture images are not.
        let elsewhere = small.build(&image, "127.0.0.1:6000").unwrap();
        assert_ne!(elsewhere.digest, built.digest);
        let digests = |c: &PushedCatalog| {
            c.images
                .iter()
                .map(|i| i.digest.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(digests(&elsewhere), digests(&built));
        // Format and multi-arch change the catalog digest, not its files.
        let docker = small.build(&image.clone().docker(), HOST).unwrap();
        assert_ne!(docker.digest, built.digest);
        let multi = small.build(&image.clone().multi_arch(), HOST).unwrap();
        assert_eq!(multi.media_type, crate::media_type::OCI_INDEX);
        assert_eq!(multi.manifest.images().len(), 2);

        let s1 = Catalog::synthetic(12, 5, 3, 7);
        assert_eq!(s1, Catalog::synthetic(12, 5, 3, 7));
        assert_ne!(s1, Catalog::synthetic(12, 5, 3, 8));
        assert_eq!(s1.validate(), Vec::<String>::new());
        assert_eq!(
            s1.render(HOST, Format::Docker).unwrap(),
            Catalog::synthetic(12, 5, 3, 7)
                .render(HOST, Format::Docker)
                .unwrap()
        );
    }

    #[test]
    fn json_and_yaml_parse_back_to_the_same_objects() {
        let small = Catalog::small();
        let built = small
            .build(&CatalogImage::new("catalogs/small", "v1"), HOST)
            .unwrap();
        assert_eq!(
            sorted(all_objects(&built.files)),
            sorted(built.objects.clone())
        );

        // The same catalog written all-JSON and all-YAML reads the same.
        let as_format = |yaml: bool| {
            let mut c =
                Catalog::small().other(serde_json::json!({"schema": "com.example.global", "n": 1}));
            for p in &mut c.packages {
                p.format = if yaml {
                    FileFormat::Yaml
                } else {
                    FileFormat::Json
                };
            }
            c.build(&CatalogImage::new("catalogs/small", "v1"), HOST)
                .unwrap()
        };
        let (json, yaml) = (as_format(false), as_format(true));
        assert!(json.files.keys().all(|p| p.ends_with(".json")));
        assert!(yaml.files.keys().any(|p| p.ends_with(".yaml")));
        assert_eq!(json.objects, yaml.objects);
        assert_eq!(all_objects(&json.files), json.objects);
        assert_eq!(all_objects(&yaml.files), yaml.objects);
        assert_ne!(json.digest, yaml.digest);

        // opm's shapes: a JSON stream, 4-space indent, declcfg field order;
        // YAML documents after `---`, keys sorted.
        let foo = String::from_utf8(built.files["configs/foo/catalog.json"].clone()).unwrap();
        assert!(
            foo.starts_with("{\n    \"schema\": \"olm.package\",\n    \"name\": \"foo\",\n"),
            "{foo}"
        );
        assert!(foo.ends_with("}\n"));
        let bundle_start = foo.find("\"schema\": \"olm.bundle\"").unwrap();
        let fields: Vec<usize> = [
            "\"name\"",
            "\"package\"",
            "\"image\"",
            "\"properties\"",
            "\"relatedImages\"",
        ]
        .iter()
        .map(|f| bundle_start + foo[bundle_start..].find(f).unwrap())
        .collect();
        assert!(fields.windows(2).all(|w| w[0] < w[1]), "{fields:?}");
        let bar = String::from_utf8(built.files["configs/bar/catalog.yaml"].clone()).unwrap();
        assert!(
            bar.starts_with("---\ndefaultChannel: alpha\nname: bar\nschema: olm.package\n---\n"),
            "{bar}"
        );

        // What the objects say.
        let bundles = built.objects_of("olm.bundle");
        assert_eq!(bundles.len(), 6);
        let v120 = bundles.iter().find(|b| b["name"] == "foo.v1.2.0").unwrap();
        let types: Vec<&str> = v120["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "olm.gvk",
                "olm.package",
                "olm.bundle.object",
                "olm.csv.metadata"
            ]
        );
        assert_eq!(v120["properties"][1]["value"]["version"], "1.2.0");
        assert_eq!(v120["relatedImages"][0]["name"], "");
        assert_eq!(v120["relatedImages"][0]["image"], v120["image"]);
        assert!(
            v120["image"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:5000/operators/foo-bundle@sha256:")
        );
        let bar020 = bundles.iter().find(|b| b["name"] == "bar.v0.2.0").unwrap();
        assert_eq!(
            bar020["image"],
            "127.0.0.1:5000/operators/bar-bundle:v0.2.0"
        );
        assert!(
            bar020["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["type"] == "olm.package.required"
                    && p["value"]
                        == serde_json::json!({"packageName": "foo", "versionRange": ">=1.1.0"}))
        );
        let stable = built
            .objects_of("olm.channel")
            .into_iter()
            .find(|c| c["name"] == "stable" && c["package"] == "foo")
            .unwrap();
        assert_eq!(
            stable["entries"][2],
            serde_json::json!({"name": "foo.v1.2.0", "replaces": "foo.v1.1.0", "skips": ["foo.v1.1.1"], "skipRange": ">=1.0.0 <1.2.0"})
        );
        assert_eq!(built.objects_of("olm.deprecations").len(), 2);
        assert_eq!(built.objects_of("com.example.note").len(), 1);
    }

    #[test]
    fn synthetic_catalogs_have_the_asked_shape() {
        let c = Catalog::synthetic(20, 6, 4, 42);
        assert_eq!(c.packages.len(), 20);
        for pkg in &c.packages {
            assert!(!pkg.channels.is_empty() && pkg.channels.len() <= 3);
            for channel in &pkg.channels {
                assert_eq!(channel.entries.len(), 6);
                assert_eq!(channel.heads(), [channel.entries[5].name.as_str()]);
                assert!(channel.entries.iter().all(|e| e.skips.len() == 4));
                assert_eq!(channel.entries[5].skips[0], channel.entries[3].name);
            }
        }
        let formats: BTreeSet<FileFormat> = c.packages.iter().map(|p| p.format).collect();
        assert_eq!(formats.len(), 2, "both file forms appear");
        let built = c
            .build(&CatalogImage::new("catalogs/big", "v1"), HOST)
            .unwrap();
        assert_eq!(
            sorted(all_objects(&built.files)),
            sorted(built.objects.clone())
        );
        assert!(built.images.iter().any(|i| i.multi_arch));
    }

    #[tokio::test]
    async fn a_pushed_catalog_reads_back_with_its_label_files_and_images() {
        let registry = Registry::start(RegistryOptions::default()).await.unwrap();
        let small = Catalog::small()
            .with(package("ext").channel("stable", &["ext.v1.0.0"]).edit_bundle("ext.v1.0.0", |b| {
                b.related("upstream", ImageRef::external("quay.io/example/missing@sha256:0000000000000000000000000000000000000000000000000000000000000000"))
            }));
        for image in [
            CatalogImage::new("catalogs/small", "v1"),
            CatalogImage::new("catalogs/small-docker", "v1")
                .docker()
                .multi_arch()
                .layer_per_package()
                .without_base(),
        ] {
            let pushed = small.push(&registry, &image).await.unwrap();
            assert_eq!(
                pushed,
                small.build(&image, &registry.host()).unwrap(),
                "push = build"
            );
            assert_eq!(
                pushed.reference,
                format!("{}/{}:v1", registry.host(), image.repo)
            );

            let read = read_catalog(&registry, &image.repo, "v1").await.unwrap();
            assert_eq!(read.labels[CONFIGS_LABEL], "/configs");
            assert_eq!(
                read.config["config"]["Entrypoint"],
                serde_json::json!(["/bin/opm"])
            );
            assert_eq!(
                read.config["config"]["Cmd"],
                serde_json::json!(["serve", "/configs", "--cache-dir=/tmp/cache"])
            );
            assert_eq!(read.files, pushed.files);
            assert_eq!(
                sorted(read.objects().unwrap()),
                sorted(pushed.objects.clone())
            );

            // Every reference the catalog writes is served, with the digest
            // reported; external references are not pushed.
            let references = pushed.references();
            assert!(!references.iter().any(|r| r.contains("quay.io")));
            assert_eq!(
                references.len(),
                pushed
                    .images
                    .iter()
                    .map(|i| i.references.len())
                    .sum::<usize>()
                    + 1
            );
            for reference in &references {
                let (repo, r) = split_reference(reference);
                let digest = registry.digest(&repo, &r).await.unwrap();
                assert!(digest.is_some(), "{reference} not served");
            }
            for fixture in &pushed.images {
                for blob in fixture.blobs.keys() {
                    assert!(registry.blob_exists(&fixture.repo, blob).await.unwrap());
                }
            }
            let written: BTreeSet<String> = pushed
                .objects_of("olm.bundle")
                .iter()
                .flat_map(|b| {
                    let related = b["relatedImages"].as_array().cloned().unwrap_or_default();
                    std::iter::once(b["image"].as_str().unwrap().to_string()).chain(
                        related
                            .into_iter()
                            .map(|r| r["image"].as_str().unwrap().to_string()),
                    )
                })
                .filter(|r| !r.starts_with("quay.io/"))
                .collect();
            assert_eq!(
                written,
                references[1..].iter().cloned().collect::<BTreeSet<_>>()
            );

            // skopeo agrees on the label, and a bundle image is a bundle.
            let output = tokio::process::Command::new("skopeo")
                .args([
                    "inspect",
                    "--tls-verify=false",
                    "--no-creds",
                    "--override-arch",
                    "amd64",
                ])
                .arg(format!("docker://{}", pushed.reference))
                .output()
                .await
                .unwrap_or_else(|e| panic!("{}", crate::tools::not_started("skopeo", &e)));
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let inspect: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(inspect["Labels"][CONFIGS_LABEL], "/configs");
            let bundle = &pushed.bundles["foo.v1.2.0"];
            let (repo, digest) = split_reference(bundle);
            let (_, _, manifest) = registry.manifest(&repo, &digest).await.unwrap().unwrap();
            let manifest: Value = serde_json::from_slice(&manifest).unwrap();
            let config = registry
                .client()
                .blob(&repo, manifest["config"]["digest"].as_str().unwrap())
                .await
                .unwrap()
                .unwrap();
            let config: Value = serde_json::from_slice(&config).unwrap();
            assert_eq!(config["config"]["Labels"][bundle_label::PACKAGE], "foo");
            assert_eq!(
                config["config"]["Labels"][bundle_label::CHANNELS],
                "fast,stable"
            );
        }
    }

    /// A catalog rebuilt as oc-mirror rebuilds one (a `.wh.configs` whiteout
    /// over the original, then new `/configs`) reads as the new tree only.
    #[tokio::test]
    async fn read_catalog_applies_whiteouts() {
        let registry = Registry::start(RegistryOptions::default()).await.unwrap();
        let host = registry.host();
        let image = CatalogImage::new("catalogs/rebuilt", "v1");
        let original = Catalog::small().push(&registry, &image).await.unwrap();
        let filtered = Catalog::new().with(package("foo").channel("stable", &["foo.v1.2.0"]));
        let files = filtered.render(&host, Format::Oci).unwrap();
        let FixtureArtifact::Image(mut spec) = catalog_artifact(&image, &original.files) else {
            unreachable!("single-arch")
        };
        spec.file_layers.push(FilesLayer::new().whiteout("configs"));
        let mut layer = FilesLayer::new().dir("configs").dir("configs/foo");
        for (path, bytes) in &files {
            layer = layer.file(path, bytes.clone());
        }
        spec.file_layers.push(layer.file("tmp/unrelated", "x"));
        spec.cmd = vec!["serve".to_string(), "/configs".to_string()];
        push_image(&registry, &spec).await.unwrap();
        let read = read_catalog(&registry, "catalogs/rebuilt", "v1")
            .await
            .unwrap();
        assert_eq!(read.files, files);
        assert_eq!(
            read.config["config"]["Cmd"],
            serde_json::json!(["serve", "/configs"])
        );
    }
}
