//! Operator catalogs at Red Hat's size, generated straight into a layer file.
//!
//! [`crate::catalog`] describes a catalog in memory and renders it whole,
//! which is right for tests and far too heavy for a catalog of hundreds of
//! megabytes. This module generates one without ever holding it:
//!
//! - A [`ScaleSpec`] fixes the shape: how many packages and bundles, the one
//!   package whose single channel has hundreds of entries each skipping
//!   hundreds of others (the shape of OCPBUGS-52471), and the [`Form`] of the
//!   bundles: `olm.csv.metadata` (a CSV's metadata with a description of
//!   several KB, as `opm` renders catalogs today, ~120 MB for Red Hat's
//!   index) or `olm.bundle.object` (the CSV and CRDs as base64 manifests, the
//!   older form that runs to several hundred MB).
//! - [`ScaleSpec::plan`] lays out packages, channels and bundle names (a few
//!   MB at most); the bytes of each package are generated from seeds when
//!   they are written, the same every run and on every machine.
//! - [`write_layer`] writes the catalog as `opm` does, one
//!   `configs/<package>/catalog.json` per package (a stream of 4-space
//!   indented JSON objects: the package, its channels, its bundles sorted by
//!   name), into a gzip'd tar on disk. One thread generates a package into a
//!   spill file while another compresses the previous one, so memory stays at
//!   the size of the largest channel object.
//! - [`push_catalog`] pushes a catalog image around that layer (a small base
//!   layer below it, label `operators.operatorframework.io.index.configs.v1`
//!   = `/configs`, `Entrypoint ["/bin/opm"]`, `Cmd ["serve", "/configs",
//!   "--cache-dir=/tmp/cache"]`, OCI), streaming the layer from the file.
//!
//! Bundle and related images are written by (made-up) digest on
//! [`ScaleSpec::image_host`] and are never pushed: a dry run lists them as
//! missing, which is all a benchmark of catalog handling needs.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::catalog::{CONFIGS_DIR, CONFIGS_LABEL, OPM_CMD, OPM_ENTRYPOINT};
use crate::client::{RegistryClient, sha256_digest};
use crate::fixture::{EPOCH, LayerSpec, SplitMix64};
use crate::media_type;

/// How each bundle carries its CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `olm.csv.metadata`: the CSV's metadata (description, annotations
    /// with `alm-examples`, CRD descriptions), as `opm` renders today.
    CsvMetadata,
    /// `olm.bundle.object`: the CSV and the package's CRDs, each a base64
    /// manifest, as older catalogs carry them.
    BundleObject,
}

impl Form {
    /// A short name: `csv-metadata` or `bundle-object`.
    pub fn name(self) -> &'static str {
        match self {
            Form::CsvMetadata => "csv-metadata",
            Form::BundleObject => "bundle-object",
        }
    }
}

/// The shape of a generated catalog. Same spec, same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleSpec {
    /// How bundles carry their CSV.
    pub form: Form,
    /// Packages, the big one included.
    pub packages: usize,
    /// Bundles in the whole catalog, the big package's included.
    pub bundles: usize,
    /// Entries of the big package's one channel (its bundles).
    pub big_entries: usize,
    /// `skips` of every entry of the big package's channel: older entries
    /// of the channel first, then names not in the catalog.
    pub big_skips: usize,
    /// Seed of everything pseudo-random.
    pub seed: u64,
    /// `host[:port]` written into every bundle and related image reference.
    pub image_host: String,
}

impl ScaleSpec {
    /// Red Hat's size: 160 packages, 5,200 bundles, a 700-entry channel
    /// with 260 skips per entry. The `olm.csv.metadata` form is ~127 MB of
    /// JSON, the `olm.bundle.object` form ~530 MB.
    pub fn red_hat(form: Form, image_host: &str) -> ScaleSpec {
        ScaleSpec {
            form,
            packages: 160,
            bundles: 5200,
            big_entries: 700,
            big_skips: 260,
            seed: 0x0c_5ca1e,
            image_host: image_host.to_string(),
        }
    }

    /// A small catalog of the same shape, for smoke runs: 20 packages, 400
    /// bundles, a 100-entry channel with 40 skips per entry.
    pub fn quick(form: Form, image_host: &str) -> ScaleSpec {
        ScaleSpec {
            packages: 20,
            bundles: 400,
            big_entries: 100,
            big_skips: 40,
            ..ScaleSpec::red_hat(form, image_host)
        }
    }

    /// The package whose channel has `big_entries` entries.
    pub fn big_package(&self) -> String {
        BIG_PACKAGE.to_string()
    }

    /// Lays the catalog out: packages sorted by name, each with its
    /// channels and bundle names (no bundle content).
    pub fn plan(&self) -> anyhow::Result<Vec<PackagePlan>> {
        if self.packages < 2 {
            bail!("a scale catalog needs at least 2 packages");
        }
        if self.big_entries == 0 || self.bundles < self.big_entries + 2 * (self.packages - 1) {
            bail!(
                "{} bundles do not fill {} packages (2 each) and a {}-entry channel",
                self.bundles,
                self.packages,
                self.big_entries
            );
        }
        let mut rng = SplitMix64(mix(self.seed, 0x706c_616e));
        let others = self.packages - 1;
        // Bundles per package: 8–48 from the seed, then evened out so that
        // the catalog holds exactly `bundles`.
        let mut counts: Vec<usize> = (0..others).map(|_| 8 + below(&mut rng, 41)).collect();
        let want = self.bundles - self.big_entries;
        let mut total: usize = counts.iter().sum();
        let mut i = 0;
        while total != want {
            let c = &mut counts[i % others];
            if total < want {
                *c += 1;
                total += 1;
            } else if *c > 2 {
                *c -= 1;
                total -= 1;
            }
            i += 1;
        }
        let mut names = std::collections::BTreeSet::new();
        let mut packages = Vec::with_capacity(self.packages);
        for (index, &count) in counts.iter().enumerate() {
            let mut name = format!(
                "{}-{}-operator",
                pick(&mut rng, NAME_WORDS),
                pick(&mut rng, NAME_WORDS)
            );
            if !names.insert(name.clone()) || name == BIG_PACKAGE {
                name = format!("{name}-{index}");
                names.insert(name.clone());
            }
            let majors = (1 + below(&mut rng, 3)).min(count / 2).max(1);
            packages.push(PackagePlan::normal(
                name,
                index + 1,
                count,
                majors,
                &mut rng,
            ));
        }
        packages.push(PackagePlan::big(self.big_entries, self.big_skips));
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(packages)
    }

    /// `n` packages for a "listed packages" selection: the big package and
    /// `n - 1` others spread evenly over the catalog.
    pub fn selection(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let plan = self.plan()?;
        let others: Vec<&PackagePlan> = plan.iter().filter(|p| !p.big).collect();
        let mut out = vec![self.big_package()];
        let want = n.saturating_sub(1).min(others.len());
        for k in 0..want {
            out.push(others[k * others.len() / want.max(1)].name.clone());
        }
        Ok(out)
    }
}

/// The big package's name.
const BIG_PACKAGE: &str = "many-skips-operator";

/// A package as laid out: names and edges, no content.
#[derive(Clone, Debug)]
pub struct PackagePlan {
    /// Package name.
    pub name: String,
    /// Seeds the package's content.
    index: usize,
    /// Whether this is the package with the long, skip-heavy channel.
    pub big: bool,
    /// Bundles, in version order.
    pub bundles: Vec<BundlePlan>,
    /// Channels, sorted by name.
    pub channels: Vec<ChannelPlan>,
    /// `defaultChannel`.
    pub default_channel: String,
    /// The skips of every entry of the big channel.
    big_skips: usize,
}

/// A bundle as laid out.
#[derive(Clone, Debug)]
pub struct BundlePlan {
    /// `<package>.v<version>`.
    pub name: String,
    /// Its `olm.package` version.
    pub version: String,
    /// Major version: which `stable-v<major>` channel holds it.
    pub major: usize,
}

/// A channel as laid out: bundle indexes in replaces order (oldest first).
#[derive(Clone, Debug)]
pub struct ChannelPlan {
    /// `stable`, `stable-v1`, …
    pub name: String,
    /// Indexes into [`PackagePlan::bundles`], oldest first.
    pub entries: Vec<usize>,
}

impl PackagePlan {
    fn normal(
        name: String,
        index: usize,
        count: usize,
        majors: usize,
        rng: &mut SplitMix64,
    ) -> PackagePlan {
        let mut bundles = Vec::with_capacity(count);
        let mut channels = Vec::new();
        let per = count / majors;
        for m in 1..=majors {
            let n = if m == majors {
                count - per * (majors - 1)
            } else {
                per
            };
            let first = bundles.len();
            for j in 0..n {
                let version = format!("{m}.{}.{}", j / 10, j % 10);
                bundles.push(BundlePlan {
                    name: format!("{name}.v{version}"),
                    version,
                    major: m,
                });
            }
            channels.push(ChannelPlan {
                name: format!("stable-v{m}"),
                entries: (first..bundles.len()).collect(),
            });
        }
        if majors > 1 {
            channels.push(ChannelPlan {
                name: "stable".into(),
                entries: (0..bundles.len()).collect(),
            });
        }
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        let default_channel = if majors > 1 && below(rng, 4) != 0 {
            "stable".to_string()
        } else {
            format!("stable-v{majors}")
        };
        PackagePlan {
            name,
            index,
            big: false,
            bundles,
            channels,
            default_channel,
            big_skips: 0,
        }
    }

    fn big(entries: usize, skips: usize) -> PackagePlan {
        let bundles = (0..entries)
            .map(|i| {
                let version = format!("1.{}.{}", i / 50, i % 50);
                BundlePlan {
                    name: format!("{BIG_PACKAGE}.v{version}"),
                    version,
                    major: 1,
                }
            })
            .collect();
        PackagePlan {
            name: BIG_PACKAGE.into(),
            index: 0,
            big: true,
            bundles,
            channels: vec![ChannelPlan {
                name: "stable".into(),
                entries: (0..entries).collect(),
            }],
            default_channel: "stable".into(),
            big_skips: skips,
        }
    }

    /// `(entries, skips)` of the channel's `olm.channel` object.
    fn channel_entries(&self, channel: &ChannelPlan) -> (Vec<EntryJson>, usize) {
        let mut out = Vec::with_capacity(channel.entries.len());
        let mut skips_total = 0;
        for (k, &b) in channel.entries.iter().enumerate() {
            let bundle = &self.bundles[b];
            let mut entry = EntryJson {
                name: bundle.name.clone(),
                replaces: None,
                skips: Vec::new(),
                skip_range: None,
            };
            if k > 0 {
                entry.replaces = Some(self.bundles[channel.entries[k - 1]].name.clone());
            }
            if self.big {
                // Every older entry but the one it replaces, nearest first,
                // then names that are in no catalog.
                let older = channel.entries[..k.saturating_sub(1)]
                    .iter()
                    .rev()
                    .map(|&o| self.bundles[o].name.clone());
                let missing = (1..).map(|r| format!("{}-rc.{r}", bundle.name));
                entry.skips = older.chain(missing).take(self.big_skips).collect();
                entry.skip_range = Some(format!(">=1.0.0 <{}", bundle.version));
            } else {
                let first_of_major =
                    k == 0 || self.bundles[channel.entries[k - 1]].major != bundle.major;
                if !first_of_major {
                    entry.skip_range = Some(format!(">={}.0.0 <{}", bundle.major, bundle.version));
                }
                if k % 5 == 4 {
                    entry.skips.push(format!("{}-hotfix", bundle.name));
                }
            }
            skips_total += entry.skips.len();
            out.push(entry);
        }
        (out, skips_total)
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaleStats {
    /// FBC files (one per package).
    pub files: usize,
    /// Bytes of FBC JSON (the files' sizes).
    pub fbc_bytes: u64,
    /// `olm.package` objects.
    pub packages: usize,
    /// `olm.channel` objects.
    pub channels: usize,
    /// Channel entries.
    pub entries: usize,
    /// `skips` names over all entries.
    pub skips: usize,
    /// `olm.bundle` objects.
    pub bundles: usize,
    /// `relatedImages` entries over all bundles.
    pub related_images: usize,
    /// `olm.bundle.object` properties.
    pub bundle_objects: usize,
    /// Bytes of the biggest file.
    pub largest_file: u64,
}

/// The catalog layer on disk.
#[derive(Debug)]
pub struct ScaleLayer {
    /// The gzip'd tar.
    pub path: PathBuf,
    /// `sha256:` of the file.
    pub digest: String,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Bytes of the file.
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// What it holds.
    pub stats: ScaleStats,
}

/// Generates the catalog of `spec` into `dir/<form>.tar.gz` (spill files of
/// one package at a time go to `dir` too and are removed).
pub fn write_layer(spec: &ScaleSpec, dir: &Path) -> anyhow::Result<ScaleLayer> {
    let plan = spec.plan()?;
    let path = dir.join(format!("{}.tar.gz", spec.form.name()));
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let gz = GzEncoder::new(
        Hashing::new(BufWriter::with_capacity(1 << 20, file)),
        Compression::fast(),
    );
    let mut tar = Hashing::new(gz);
    tar.write_all(&ustar_header("configs/", b'5', 0o755, 0)?)?;
    let mut stats = ScaleStats::default();
    let (send, receive) = mpsc::sync_channel::<anyhow::Result<(usize, PathBuf, ScaleStats)>>(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let plan = &plan;
        scope.spawn(move || {
            for (i, package) in plan.iter().enumerate() {
                let spill = dir.join(format!(".spill-{i}.json"));
                let made = write_package(spec, package, &spill).map(|s| (i, spill, s));
                let failed = made.is_err();
                if send.send(made).is_err() || failed {
                    return;
                }
            }
        });
        for made in receive {
            let (i, spill, package_stats) = made?;
            let name = &plan[i].name;
            let size = package_stats.fbc_bytes;
            tar.write_all(&ustar_header(&format!("configs/{name}/"), b'5', 0o755, 0)?)?;
            tar.write_all(&ustar_header(
                &format!("configs/{name}/catalog.json"),
                b'0',
                0o644,
                size,
            )?)?;
            let mut reader = File::open(&spill)?;
            let copied = io::copy(&mut reader, &mut tar)?;
            if copied != size {
                bail!("{}: {copied} bytes, expected {size}", spill.display());
            }
            tar.write_all(&vec![0u8; ((512 - size % 512) % 512) as usize])?;
            std::fs::remove_file(&spill)?;
            stats.add(&package_stats);
        }
        Ok(())
    })?;
    tar.write_all(&[0u8; 1024])?;
    let tar_size = tar.count;
    let diff_id = format!("sha256:{}", hex::encode(tar.hasher.finalize()));
    let compressed = tar.inner.finish().context("finishing gzip")?;
    let digest = format!("sha256:{}", hex::encode(compressed.hasher.finalize()));
    let size = compressed.count;
    compressed
        .inner
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    if stats.packages != spec.packages || stats.bundles != spec.bundles {
        bail!(
            "generated {} packages and {} bundles, planned {} and {}",
            stats.packages,
            stats.bundles,
            spec.packages,
            spec.bundles
        );
    }
    Ok(ScaleLayer {
        path,
        digest,
        diff_id,
        size,
        tar_size,
        stats,
    })
}

impl ScaleStats {
    fn add(&mut self, o: &ScaleStats) {
        self.files += o.files;
        self.fbc_bytes += o.fbc_bytes;
        self.packages += o.packages;
        self.channels += o.channels;
        self.entries += o.entries;
        self.skips += o.skips;
        self.bundles += o.bundles;
        self.related_images += o.related_images;
        self.bundle_objects += o.bundle_objects;
        self.largest_file = self.largest_file.max(o.largest_file);
    }
}

/// A catalog image as pushed.
#[derive(Clone, Debug)]
pub struct PushedScaleCatalog {
    /// `host/repo:tag`.
    pub reference: String,
    /// Digest of its manifest.
    pub digest: String,
    /// Manifest + config + layers, bytes.
    pub total_size: u64,
}

/// Pushes the catalog image `repo:tag` holding `layer` (streamed from its
/// file) over a 64 KiB pseudo-random base layer.
pub async fn push_catalog(
    client: &RegistryClient,
    layer: &ScaleLayer,
    repo: &str,
    tag: &str,
) -> anyhow::Result<PushedScaleCatalog> {
    let base = LayerSpec {
        seed: 0x0b_a5e,
        size: 64 << 10,
    };
    let (base_info, base_bytes) = crate::fixture::write_layer(base, Vec::new())?;
    if !client.blob_exists(repo, &base_info.digest).await? {
        client.upload_blob(repo, base_bytes).await?;
    }
    if !client.blob_exists(repo, &layer.digest).await? {
        client
            .upload_blob_file(repo, &layer.digest, layer.size, &layer.path)
            .await?;
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": {
            "Entrypoint": OPM_ENTRYPOINT,
            "Cmd": OPM_CMD,
            "Labels": {CONFIGS_LABEL: CONFIGS_DIR},
        },
        "rootfs": {"type": "layers", "diff_ids": [base_info.diff_id, layer.diff_id]},
        "history": [
            {"created": EPOCH, "created_by": "oc-mirror-tests base layer"},
            {"created": EPOCH, "created_by": "oc-mirror-tests scale catalog /configs"},
        ],
    }))?;
    let config_digest = sha256_digest(&config);
    let config_size = config.len() as u64;
    if !client.blob_exists(repo, &config_digest).await? {
        client.upload_blob(repo, config).await?;
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": media_type::OCI_LAYER_GZIP, "digest": base_info.digest, "size": base_info.size},
            {"mediaType": media_type::OCI_LAYER_GZIP, "digest": layer.digest, "size": layer.size},
        ],
    }))?;
    let digest = client
        .put_manifest(repo, tag, media_type::OCI_MANIFEST, &manifest)
        .await?;
    Ok(PushedScaleCatalog {
        reference: format!("{}/{repo}:{tag}", client.target().host),
        digest,
        total_size: manifest.len() as u64 + config_size + base_info.size + layer.size,
    })
}

// ---------------------------------------------------------------------------
// One package's file
// ---------------------------------------------------------------------------

#[derive(Serialize)]
struct PackageJson<'a> {
    schema: &'static str,
    name: &'a str,
    #[serde(rename = "defaultChannel")]
    default_channel: &'a str,
    icon: IconJson,
    description: String,
}

#[derive(Serialize)]
struct IconJson {
    base64data: String,
    mediatype: &'static str,
}

#[derive(Serialize)]
struct ChannelJson<'a> {
    schema: &'static str,
    name: &'a str,
    package: &'a str,
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
struct BundleJson<'a> {
    schema: &'static str,
    name: &'a str,
    package: &'a str,
    image: String,
    properties: Vec<PropertyJson>,
    #[serde(rename = "relatedImages")]
    related_images: Vec<RelatedJson>,
}

#[derive(Serialize)]
struct PropertyJson {
    #[serde(rename = "type")]
    kind: &'static str,
    value: Value,
}

#[derive(Serialize)]
struct RelatedJson {
    name: String,
    image: String,
}

/// What every bundle of a package shares: its APIs, the text of its CSV,
/// and (bundle-object form) its CRD manifests, base64'd once.
struct PackageContent {
    short: String,
    display: String,
    provider: String,
    kinds: Vec<KindContent>,
    description: String,
    alm_examples: String,
    crd_descriptions: Value,
    keywords: Vec<String>,
    crd_objects: Vec<String>,
}

struct KindContent {
    group: String,
    version: String,
    kind: String,
    plural: String,
}

/// Writes `package`'s `catalog.json` to `path`.
fn write_package(
    spec: &ScaleSpec,
    package: &PackagePlan,
    path: &Path,
) -> anyhow::Result<ScaleStats> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = Counting {
        inner: BufWriter::with_capacity(1 << 20, file),
        count: 0,
    };
    let mut stats = ScaleStats {
        files: 1,
        packages: 1,
        ..ScaleStats::default()
    };
    let mut rng = SplitMix64(mix(spec.seed, package.index as u64));
    let content = package_content(spec, package, &mut rng);

    let mut icon = vec![0u8; 2048 + below(&mut rng, 6144)];
    rng_fill(&mut rng, &mut icon);
    emit(
        &mut out,
        &PackageJson {
            schema: "olm.package",
            name: &package.name,
            default_channel: &package.default_channel,
            icon: IconJson {
                base64data: base64::engine::general_purpose::STANDARD.encode(&icon),
                mediatype: "image/png",
            },
            description: content.description.clone(),
        },
    )?;
    for channel in &package.channels {
        let (entries, skips) = package.channel_entries(channel);
        stats.channels += 1;
        stats.entries += entries.len();
        stats.skips += skips;
        emit(
            &mut out,
            &ChannelJson {
                schema: "olm.channel",
                name: &channel.name,
                package: &package.name,
                entries,
            },
        )?;
    }
    let mut order: Vec<usize> = (0..package.bundles.len()).collect();
    order.sort_by(|&a, &b| package.bundles[a].name.cmp(&package.bundles[b].name));
    for b in order {
        let (bundle, related, objects) = bundle_json(spec, package, &content, b);
        stats.bundles += 1;
        stats.related_images += related;
        stats.bundle_objects += objects;
        emit(&mut out, &bundle)?;
    }
    out.flush()?;
    stats.fbc_bytes = out.count;
    stats.largest_file = out.count;
    Ok(stats)
}

/// One object as `opm` writes it: 4-space indent, then a newline.
fn emit<W: Write, T: Serialize>(out: &mut W, value: &T) -> anyhow::Result<()> {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
    value.serialize(&mut ser)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn package_content(
    spec: &ScaleSpec,
    package: &PackagePlan,
    rng: &mut SplitMix64,
) -> PackageContent {
    let short = package
        .name
        .trim_end_matches("-operator")
        .replace('-', "")
        .chars()
        .take(24)
        .collect::<String>();
    let display = package
        .name
        .split('-')
        .map(capitalize)
        .collect::<Vec<_>>()
        .join(" ");
    let provider = format!(
        "{} {}",
        capitalize(pick(rng, NAME_WORDS)),
        pick(rng, &["Inc.", "Ltd.", "Community", "Project", "Red Hat"])
    );
    let nkinds = 1 + below(rng, 4);
    let kinds: Vec<KindContent> = (0..nkinds)
        .map(|k| {
            let kind = format!(
                "{}{}",
                capitalize(pick(rng, NAME_WORDS)),
                capitalize(pick(rng, KIND_WORDS))
            );
            KindContent {
                group: format!("{short}.example.com"),
                version: if k % 2 == 0 { "v1" } else { "v1beta1" }.to_string(),
                plural: format!(
                    "{}s{}",
                    kind.to_ascii_lowercase(),
                    if k > 0 { k.to_string() } else { String::new() }
                ),
                kind,
            }
        })
        .collect();
    // Several KB of markdown: what Red Hat's CSV descriptions look like.
    let mut description = String::new();
    description.push_str(&format!("## About {display}\n\n"));
    let target = 2000 + below(rng, 3000);
    let mut section = 0;
    while description.len() < target {
        paragraph(rng, &mut description);
        description.push_str("\n\n");
        if below(rng, 3) == 0 {
            section += 1;
            description.push_str(&format!(
                "### {} {}\n\n",
                capitalize(pick(rng, WORDS)),
                pick(rng, WORDS)
            ));
            for _ in 0..2 + below(rng, 4) {
                description.push_str("* ");
                sentence(rng, &mut description);
                description.push('\n');
            }
            description.push('\n');
        }
        if section > 12 {
            break;
        }
    }
    let examples: Vec<Value> = kinds
        .iter()
        .map(|k| {
            let mut spec_fields = serde_json::Map::new();
            for _ in 0..4 + below(rng, 12) {
                let key = camel(rng, 2);
                let value = match below(rng, 4) {
                    0 => json!(below(rng, 100)),
                    1 => json!(below(rng, 2) == 0),
                    2 => json!({camel(rng, 1): pick(rng, WORDS), camel(rng, 2): below(rng, 10)}),
                    _ => json!(pick(rng, WORDS)),
                };
                spec_fields.insert(key, value);
            }
            json!({
                "apiVersion": format!("{}/{}", k.group, k.version),
                "kind": k.kind,
                "metadata": {"name": format!("example-{}", k.kind.to_ascii_lowercase())},
                "spec": spec_fields,
            })
        })
        .collect();
    let alm_examples = serde_json::to_string_pretty(&examples).unwrap_or_default();
    let owned: Vec<Value> = kinds
        .iter()
        .map(|k| {
            let descriptors = |rng: &mut SplitMix64, n: usize, prefix: &str| -> Vec<Value> {
                (0..n)
                    .map(|_| {
                        let mut text = String::new();
                        sentence(rng, &mut text);
                        json!({
                            "description": text,
                            "displayName": title(rng, 2),
                            "path": format!("{prefix}{}", camel(rng, 2)),
                            "x-descriptors": [
                                format!("urn:alm:descriptor:com.tectonic.ui:{}", pick(rng, &["text", "number", "booleanSwitch", "select:Always", "fieldGroup:advanced", "resourceRequirements"])),
                            ],
                        })
                    })
                    .collect()
            };
            let mut text = String::new();
            sentence(rng, &mut text);
            sentence(rng, &mut text);
            let (nspec, nstatus) = (2 + below(rng, 5), 1 + below(rng, 3));
            json!({
                "description": text,
                "displayName": title(rng, 2),
                "kind": k.kind,
                "name": format!("{}.{}", k.plural, k.group),
                "resources": [
                    {"kind": "Deployment", "name": "", "version": "v1"},
                    {"kind": "Service", "name": "", "version": "v1"},
                    {"kind": "ConfigMap", "name": "", "version": "v1"},
                ],
                "specDescriptors": descriptors(rng, nspec, ""),
                "statusDescriptors": descriptors(rng, nstatus, "conditions."),
                "version": k.version,
            })
        })
        .collect();
    let keywords = (0..3 + below(rng, 4))
        .map(|_| pick(rng, WORDS).to_string())
        .collect();
    let crd_objects = match spec.form {
        Form::CsvMetadata => Vec::new(),
        Form::BundleObject => kinds
            .iter()
            .map(|k| {
                let crd = crd_manifest(rng, k);
                base64::engine::general_purpose::STANDARD
                    .encode(serde_json::to_vec(&crd).unwrap_or_default())
            })
            .collect(),
    };
    PackageContent {
        short,
        display,
        provider,
        kinds,
        description,
        alm_examples,
        crd_descriptions: json!({"owned": owned}),
        keywords,
        crd_objects,
    }
}

/// A CustomResourceDefinition with a schema of nested, described fields
/// (tens of KB, like the CRDs operators ship).
fn crd_manifest(rng: &mut SplitMix64, k: &KindContent) -> Value {
    fn schema(rng: &mut SplitMix64, depth: usize, budget: &mut usize) -> Value {
        let mut props = serde_json::Map::new();
        let n = 4 + below(rng, 8);
        for _ in 0..n {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let mut text = String::new();
            sentence(rng, &mut text);
            if below(rng, 2) == 0 {
                sentence(rng, &mut text);
            }
            let field = if depth < 3 && below(rng, 3) == 0 {
                json!({"description": text, "type": "object", "properties": schema(rng, depth + 1, budget)})
            } else {
                match below(rng, 4) {
                    0 => {
                        json!({"description": text, "type": "integer", "format": "int32", "minimum": 0})
                    }
                    1 => json!({"description": text, "type": "boolean"}),
                    2 => json!({"description": text, "type": "array", "items": {"type": "string"}}),
                    _ => {
                        json!({"description": text, "type": "string", "enum": [pick(rng, WORDS), pick(rng, WORDS)]})
                    }
                }
            };
            props.insert(camel(rng, 2), field);
        }
        Value::Object(props)
    }
    let mut budget = 50 + below(rng, 90);
    let spec = schema(rng, 0, &mut budget);
    let mut budget = 10 + below(rng, 20);
    let status = schema(rng, 1, &mut budget);
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", k.plural, k.group)},
        "spec": {
            "group": k.group,
            "names": {"kind": k.kind, "listKind": format!("{}List", k.kind), "plural": k.plural, "singular": k.kind.to_ascii_lowercase()},
            "scope": "Namespaced",
            "versions": [{
                "name": k.version,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "description": format!("{} is the Schema for the {} API", k.kind, k.plural),
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "properties": spec},
                        "status": {"type": "object", "properties": status},
                    },
                }},
                "subresources": {"status": {}},
            }],
        },
    })
}

/// Bundle `b` of `package`: the object, its related images and its
/// `olm.bundle.object` properties.
fn bundle_json<'a>(
    spec: &ScaleSpec,
    package: &'a PackagePlan,
    content: &PackageContent,
    b: usize,
) -> (BundleJson<'a>, usize, usize) {
    let plan = &package.bundles[b];
    let mut rng = SplitMix64(mix(
        mix(spec.seed, package.index as u64),
        0x6275_6e64 + b as u64,
    ));
    let host = &spec.image_host;
    let bundle_image = format!(
        "{host}/operators/{}-bundle@{}",
        content.short,
        fake_digest(&mut rng)
    );
    let operator_image = format!(
        "{host}/operators/{}-rhel9-operator@{}",
        content.short,
        fake_digest(&mut rng)
    );
    let mut related = vec![
        RelatedJson {
            name: String::new(),
            image: bundle_image.clone(),
        },
        RelatedJson {
            name: "operator".into(),
            image: operator_image.clone(),
        },
    ];
    let extra = below(&mut rng, 3);
    if extra >= 1 {
        // Shared by every bundle of a major version, as a proxy image is.
        let mut shared = SplitMix64(mix(mix(spec.seed, package.index as u64), plan.major as u64));
        related.push(RelatedJson {
            name: "kube-rbac-proxy".into(),
            image: format!(
                "{host}/openshift4/ose-kube-rbac-proxy-rhel9@{}",
                fake_digest(&mut shared)
            ),
        });
    }
    if extra >= 2 {
        related.push(RelatedJson {
            name: "must-gather".into(),
            image: format!(
                "{host}/operators/{}-must-gather-rhel9@{}",
                content.short,
                fake_digest(&mut rng)
            ),
        });
    }
    let mut properties: Vec<PropertyJson> = content
        .kinds
        .iter()
        .map(|k| PropertyJson {
            kind: "olm.gvk",
            value: json!({"group": k.group, "kind": k.kind, "version": k.version}),
        })
        .collect();
    properties.push(PropertyJson {
        kind: "olm.package",
        value: json!({"packageName": package.name, "version": plan.version}),
    });
    let skip_range = format!(">={}.0.0 <{}", plan.major, plan.version);
    let created = format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        1 + below(&mut rng, 12),
        1 + below(&mut rng, 28),
        below(&mut rng, 24),
        below(&mut rng, 60),
        below(&mut rng, 60)
    );
    let annotations = json!({
        "alm-examples": content.alm_examples,
        "capabilities": pick(&mut rng, &["Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights"]),
        "categories": format!("{}, {}", capitalize(pick(&mut rng, WORDS)), capitalize(pick(&mut rng, WORDS))),
        "certified": "false",
        "containerImage": operator_image,
        "createdAt": created,
        "description": format!("{} manages {} on OpenShift.", content.display, content.kinds[0].kind),
        "features.operators.openshift.io/disconnected": "true",
        "features.operators.openshift.io/fips-compliant": "true",
        "features.operators.openshift.io/proxy-aware": "true",
        "features.operators.openshift.io/tls-profiles": "false",
        "olm.skipRange": skip_range,
        "operatorframework.io/suggested-namespace": format!("openshift-{}", content.short),
        "operators.openshift.io/valid-subscription": "[\"OpenShift Container Platform\", \"OpenShift Platform Plus\"]",
        "repository": format!("https://github.com/example/{}", package.name),
        "support": content.provider,
    });
    let description = format!(
        "{}\n\n### Version {}\n\nThis release of {} updates its images.",
        content.description, plan.version, content.display
    );
    let install_modes = json!([
        {"supported": true, "type": "OwnNamespace"},
        {"supported": true, "type": "SingleNamespace"},
        {"supported": false, "type": "MultiNamespace"},
        {"supported": true, "type": "AllNamespaces"},
    ]);
    let links = json!([
        {"name": "Documentation", "url": format!("https://docs.example.com/{}", package.name)},
        {"name": "Source", "url": format!("https://github.com/example/{}", package.name)},
    ]);
    let maintainers =
        json!([{"email": format!("{}@example.com", content.short), "name": content.provider}]);
    let mut objects = 0;
    match spec.form {
        Form::CsvMetadata => properties.push(PropertyJson {
            kind: "olm.csv.metadata",
            value: json!({
                "annotations": annotations,
                "apiServiceDefinitions": {},
                "crdDescriptions": content.crd_descriptions,
                "description": description,
                "displayName": content.display,
                "installModes": install_modes,
                "keywords": content.keywords,
                "links": links,
                "maintainers": maintainers,
                "maturity": "stable",
                "minKubeVersion": "1.25.0",
                "provider": {"name": content.provider},
            }),
        }),
        Form::BundleObject => {
            let env: Vec<Value> = related
                .iter()
                .skip(1)
                .map(|r| json!({"name": format!("RELATED_IMAGE_{}", r.name.to_ascii_uppercase().replace('-', "_")), "value": r.image}))
                .collect();
            let csv = json!({
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "ClusterServiceVersion",
                "metadata": {"name": plan.name, "namespace": "placeholder", "annotations": annotations},
                "spec": {
                    "apiservicedefinitions": {},
                    "customresourcedefinitions": content.crd_descriptions,
                    "description": description,
                    "displayName": content.display,
                    "install": {"strategy": "deployment", "spec": {
                        "clusterPermissions": [{"serviceAccountName": format!("{}-controller-manager", content.short), "rules": rules(&mut rng, &content.kinds)}],
                        "deployments": [{"name": format!("{}-controller-manager", content.short), "spec": {
                            "replicas": 1,
                            "selector": {"matchLabels": {"control-plane": "controller-manager"}},
                            "template": {"metadata": {"labels": {"control-plane": "controller-manager"}}, "spec": {
                                "containers": [{
                                    "args": ["--leader-elect", "--metrics-bind-address=127.0.0.1:8080", "--health-probe-bind-address=:8081"],
                                    "command": ["/manager"],
                                    "env": env,
                                    "image": operator_image,
                                    "name": "manager",
                                    "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "10m", "memory": "64Mi"}},
                                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                                }],
                                "serviceAccountName": format!("{}-controller-manager", content.short),
                            }},
                        }}],
                    }},
                    "installModes": install_modes,
                    "keywords": content.keywords,
                    "links": links,
                    "maintainers": maintainers,
                    "maturity": "stable",
                    "minKubeVersion": "1.25.0",
                    "provider": {"name": content.provider},
                    "relatedImages": related.iter().skip(1).map(|r| json!({"image": r.image, "name": r.name})).collect::<Vec<_>>(),
                    "version": plan.version,
                },
            });
            let data = base64::engine::general_purpose::STANDARD
                .encode(serde_json::to_vec(&csv).unwrap_or_default());
            properties.push(PropertyJson {
                kind: "olm.bundle.object",
                value: json!({"data": data}),
            });
            objects += 1;
            for crd in &content.crd_objects {
                properties.push(PropertyJson {
                    kind: "olm.bundle.object",
                    value: json!({"data": crd}),
                });
                objects += 1;
            }
        }
    }
    let count = related.len();
    (
        BundleJson {
            schema: "olm.bundle",
            name: &plan.name,
            package: &package.name,
            image: bundle_image,
            properties,
            related_images: related,
        },
        count,
        objects,
    )
}

/// RBAC rules over the package's kinds.
fn rules(rng: &mut SplitMix64, kinds: &[KindContent]) -> Value {
    let mut rules: Vec<Value> = kinds
        .iter()
        .map(|k| {
            json!({
                "apiGroups": [k.group],
                "resources": [k.plural, format!("{}/status", k.plural), format!("{}/finalizers", k.plural)],
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            })
        })
        .collect();
    for _ in 0..3 + below(rng, 5) {
        rules.push(json!({
            "apiGroups": [pick(rng, &["", "apps", "batch", "monitoring.coreos.com", "route.openshift.io", "rbac.authorization.k8s.io"])],
            "resources": [pick(rng, &["pods", "services", "configmaps", "secrets", "deployments", "servicemonitors", "routes", "jobs"])],
            "verbs": ["get", "list", "watch"],
        }));
    }
    Value::Array(rules)
}

// ---------------------------------------------------------------------------
// Text and randomness
// ---------------------------------------------------------------------------

/// Mixes two numbers into a seed (one splitmix64 step).
fn mix(a: u64, b: u64) -> u64 {
    SplitMix64(a ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next()
}

fn below(rng: &mut SplitMix64, n: usize) -> usize {
    (rng.next() % n.max(1) as u64) as usize
}

fn pick<'a>(rng: &mut SplitMix64, words: &[&'a str]) -> &'a str {
    words[below(rng, words.len())]
}

fn rng_fill(rng: &mut SplitMix64, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let bytes = rng.next().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// `sha256:` and 64 hex digits that name no real content.
fn fake_digest(rng: &mut SplitMix64) -> String {
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for _ in 0..4 {
        s.push_str(&format!("{:016x}", rng.next()));
    }
    s
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn camel(rng: &mut SplitMix64, words: usize) -> String {
    let mut s = pick(rng, WORDS).to_string();
    for _ in 1..words {
        s.push_str(&capitalize(pick(rng, WORDS)));
    }
    s
}

fn title(rng: &mut SplitMix64, words: usize) -> String {
    (0..words)
        .map(|_| capitalize(pick(rng, WORDS)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn sentence(rng: &mut SplitMix64, out: &mut String) {
    let n = 6 + below(rng, 14);
    for i in 0..n {
        let w = pick(rng, WORDS);
        if i == 0 {
            out.push_str(&capitalize(w));
        } else {
            out.push(' ');
            out.push_str(w);
        }
    }
    out.push_str(". ");
}

fn paragraph(rng: &mut SplitMix64, out: &mut String) {
    for _ in 0..3 + below(rng, 5) {
        sentence(rng, out);
    }
    while out.ends_with(' ') {
        out.pop();
    }
}

const NAME_WORDS: &[&str] = &[
    "amq",
    "ansible",
    "cluster",
    "logging",
    "storage",
    "mesh",
    "serverless",
    "pipelines",
    "gitops",
    "quay",
    "container",
    "security",
    "compliance",
    "file",
    "integrity",
    "node",
    "feature",
    "discovery",
    "network",
    "observability",
    "cost",
    "management",
    "metering",
    "local",
    "volume",
    "data",
    "foundation",
    "kiali",
    "jaeger",
    "tempo",
    "loki",
    "cert",
    "manager",
    "external",
    "secrets",
    "keda",
    "kubevirt",
    "hyperconverged",
    "sriov",
    "ptp",
    "nmstate",
    "metallb",
    "gatekeeper",
    "vault",
    "backup",
    "restore",
    "oadp",
    "web",
    "terminal",
    "devspaces",
    "camel",
    "streams",
    "registry",
    "apicurio",
    "fuse",
    "kafka",
    "bridge",
    "rhsso",
    "keycloak",
    "grafana",
    "prometheus",
    "thanos",
    "ingress",
    "dns",
    "power",
    "monitoring",
    "descheduler",
    "scheduler",
    "autoscaler",
    "topology",
];

const KIND_WORDS: &[&str] = &[
    "cluster",
    "instance",
    "config",
    "policy",
    "backup",
    "schedule",
    "route",
    "gateway",
    "stack",
    "pipeline",
    "source",
    "sink",
    "profile",
    "scan",
    "agent",
    "controller",
];

const WORDS: &[&str] = &[
    "the",
    "operator",
    "manages",
    "lifecycle",
    "of",
    "cluster",
    "resources",
    "and",
    "provides",
    "automated",
    "upgrades",
    "for",
    "workloads",
    "running",
    "on",
    "openshift",
    "container",
    "platform",
    "with",
    "high",
    "availability",
    "storage",
    "network",
    "policies",
    "secure",
    "default",
    "configuration",
    "monitoring",
    "metrics",
    "alerts",
    "dashboards",
    "backup",
    "restore",
    "scaling",
    "horizontal",
    "vertical",
    "deployment",
    "service",
    "route",
    "ingress",
    "certificate",
    "rotation",
    "tls",
    "encryption",
    "at",
    "rest",
    "in",
    "transit",
    "multi",
    "tenant",
    "namespace",
    "isolation",
    "role",
    "based",
    "access",
    "control",
    "audit",
    "logging",
    "retention",
    "compliance",
    "benchmark",
    "scan",
    "remediation",
    "profile",
    "custom",
    "resource",
    "definition",
    "reconcile",
    "loop",
    "status",
    "condition",
    "ready",
    "degraded",
    "progressing",
    "available",
    "install",
    "subscription",
    "channel",
    "catalog",
    "bundle",
    "version",
    "release",
    "notes",
    "documentation",
    "support",
    "enterprise",
    "community",
    "edition",
    "feature",
    "preview",
    "technology",
    "general",
    "stable",
    "fast",
    "candidate",
    "update",
    "graph",
    "disconnected",
    "environment",
    "mirror",
    "registry",
    "image",
    "digest",
    "signature",
    "verification",
    "proxy",
    "aware",
    "fips",
    "mode",
    "cryptographic",
    "modules",
    "token",
    "authentication",
    "short",
    "lived",
    "credentials",
    "cloud",
    "provider",
    "aws",
    "azure",
    "gcp",
    "bare",
    "metal",
    "edge",
    "single",
    "node",
    "compact",
    "three",
    "replica",
    "database",
    "cache",
    "queue",
    "stream",
    "topic",
    "partition",
    "consumer",
    "producer",
    "schema",
    "api",
    "gateway",
    "mesh",
    "sidecar",
    "envoy",
    "telemetry",
    "tracing",
    "span",
    "collector",
    "exporter",
    "pipeline",
    "task",
    "trigger",
    "event",
    "driven",
    "autoscaling",
    "serverless",
    "function",
    "knative",
    "virtual",
    "machine",
    "disk",
    "snapshot",
    "volume",
    "claim",
    "persistent",
    "ephemeral",
    "object",
    "bucket",
    "file",
    "system",
    "block",
    "device",
    "driver",
    "csi",
    "plugin",
    "webhook",
    "validating",
    "mutating",
    "admission",
    "quota",
    "limit",
    "range",
    "priority",
    "class",
    "scheduler",
    "affinity",
    "toleration",
    "taint",
    "label",
    "selector",
    "annotation",
    "finalizer",
    "owner",
    "reference",
    "garbage",
    "collection",
    "leader",
    "election",
    "health",
    "probe",
    "liveness",
    "readiness",
    "startup",
    "timeout",
    "retry",
    "backoff",
    "interval",
    "window",
];

// ---------------------------------------------------------------------------
// Writers and tar headers
// ---------------------------------------------------------------------------

/// Passes writes through while hashing and counting them.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Passes writes through while counting them.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A ustar header: owner root (0/0), mtime 0.
fn ustar_header(name: &str, typeflag: u8, mode: u32, size: u64) -> anyhow::Result<[u8; 512]> {
    if name.len() > 100 {
        bail!("tar member name too long: {name}");
    }
    let mut header = [0u8; 512];
    let mut put = |offset: usize, bytes: &[u8]| {
        header[offset..offset + bytes.len()].copy_from_slice(bytes);
    };
    put(0, name.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0");
    put(148, b"        ");
    put(156, &[typeflag]);
    put(257, b"ustar\0");
    put(263, b"00");
    put(265, b"root");
    put(297, b"root");
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    Ok(header)
}

/// One member of a generated layer, as [`read_layer`] reads it.
#[derive(Clone, Debug)]
pub struct LayerMember {
    /// Its path in the tar.
    pub path: String,
    /// Its size in the header.
    pub size: u64,
    /// Its bytes, when asked for.
    pub data: Option<Vec<u8>>,
}

/// Reads a generated layer back: every member, with the bytes of the files
/// whose path `keep` accepts (for self-tests).
pub fn read_layer(path: &Path, keep: impl Fn(&str) -> bool) -> anyhow::Result<Vec<LayerMember>> {
    let mut r = flate2::read::GzDecoder::new(BufReader::new(File::open(path)?));
    let mut out = Vec::new();
    loop {
        let mut header = [0u8; 512];
        r.read_exact(&mut header)?;
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
        let size_text = String::from_utf8_lossy(&header[124..135]).into_owned();
        let size = u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)?;
        let padded = size.div_ceil(512) * 512;
        if keep(&name) {
            let mut data = vec![0u8; size as usize];
            r.read_exact(&mut data)?;
            io::copy(&mut (&mut r).take(padded - size), &mut io::sink())?;
            out.push(LayerMember {
                path: name,
                size,
                data: Some(data),
            });
        } else {
            io::copy(&mut (&mut r).take(padded), &mut io::sink())?;
            out.push(LayerMember {
                path: name,
                size,
                data: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn tiny(form: Form) -> ScaleSpec {
        ScaleSpec {
            packages: 5,
            bundles: 60,
            big_entries: 20,
            big_skips: 8,
            ..ScaleSpec::red_hat(form, "127.0.0.1:5000")
        }
    }

    #[test]
    fn generated_catalogs_parse_and_have_the_planned_shape() {
        for form in [Form::CsvMetadata, Form::BundleObject] {
            let spec = tiny(form);
            let dir = tempfile::tempdir().unwrap();
            let layer = write_layer(&spec, dir.path()).unwrap();
            assert_eq!(layer.stats.packages, 5);
            assert_eq!(layer.stats.bundles, 60);
            assert_eq!(layer.size, std::fs::metadata(&layer.path).unwrap().len());
            // Only the layer is left behind: spill files are removed.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
            let members = read_layer(&layer.path, |p| p.ends_with(".json")).unwrap();
            let mut schemas: BTreeMap<String, usize> = BTreeMap::new();
            let mut packages = BTreeSet::new();
            for LayerMember { path, size, data } in &members {
                let Some(data) = data else { continue };
                assert_eq!(*size as usize, data.len());
                for object in crate::catalog::parse_fbc(path, data).unwrap() {
                    let schema = object["schema"].as_str().unwrap().to_string();
                    *schemas.entry(schema.clone()).or_default() += 1;
                    if schema == "olm.package" {
                        packages.insert(object["name"].as_str().unwrap().to_string());
                    }
                    if schema == "olm.channel" && object["package"] == BIG_PACKAGE {
                        let entries = object["entries"].as_array().unwrap();
                        assert_eq!(entries.len(), 20);
                        assert!(
                            entries
                                .iter()
                                .all(|e| e["skips"].as_array().unwrap().len() == 8)
                        );
                    }
                    if schema == "olm.bundle" {
                        let related = object["relatedImages"].as_array().unwrap().len();
                        assert!((2..=4).contains(&related), "{related} related images");
                        let kinds: Vec<&str> = object["properties"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p["type"].as_str().unwrap())
                            .collect();
                        assert!(kinds.contains(&"olm.package") && kinds.contains(&"olm.gvk"));
                        match form {
                            Form::CsvMetadata => assert!(kinds.contains(&"olm.csv.metadata")),
                            Form::BundleObject => assert!(kinds.contains(&"olm.bundle.object")),
                        }
                    }
                }
            }
            assert_eq!(schemas["olm.package"], 5);
            assert_eq!(schemas["olm.bundle"], 60);
            assert!(packages.contains(BIG_PACKAGE));
            let selection = spec.selection(3).unwrap();
            assert_eq!(selection.len(), 3);
            assert!(selection.iter().all(|p| packages.contains(p)));
            // Same spec, same bytes.
            let again = tempfile::tempdir().unwrap();
            assert_eq!(
                write_layer(&spec, again.path()).unwrap().digest,
                layer.digest
            );
        }
    }
}
