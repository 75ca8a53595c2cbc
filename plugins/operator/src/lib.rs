//! Content source for `mirror.operators` of the ImageSetConfiguration:
//! operator catalogs, filtered as oc-mirror filters them, and the images of
//! the bundles they keep.
//!
//! For each `operators[]` entry the plugin reads the catalog image's File-Based
//! Catalog through the host ([`catalog_image`]: the catalog pinned by digest,
//! the FBC directory its label names, streamed file by file, never whole),
//! chooses what to keep ([`select`], with the bundles earlier sequences
//! mirrored kept and joined to the new heads, from its state), and asks for:
//!
//! - every kept bundle's image and related images (`operator-image`), saying
//!   which bundles need each one, so that a failure names what it breaks;
//! - the catalog: whole (`full: true` without packages, not rebuilt), or
//!   rebuilt by the host from the source catalog plus a whiteout of its FBC
//!   directory and a layer of the filtered FBC ([`render`]), written through
//!   the host's layer writer, with `Cmd ["serve", "/configs"]`;
//! - a `targetCatalogSourceTemplate`'s contents as an attachment for the
//!   cluster-resources publisher.
//!
//! Its state is, per catalog, the bundles it kept, so that the next sequence
//! still holds them. The config is the section as the host serializes it,
//! wrapped: `{"apiVersion", "operators", "plan"?, "list"?}` (see [`Config`]).
//! `plan` answers `oc-mirror plan` with a `plan.json` attachment and the
//! images, builds nothing and keeps no state; `list` answers `oc-mirror list
//! operators` with `listing.txt`.
//!
//! The pure core ([`fbc`], [`select`], [`render`], [`version`]) does not touch
//! the host and is tested on the host target.

pub mod catalog_image;
pub mod fbc;
pub mod listing;
pub mod plan;
pub mod render;
pub mod select;
pub mod state;
pub mod version;

use std::collections::BTreeMap;

use oc_mirror_plugin_sdk::{
    Attachment, ContentSource, Error, ImageBuild, ImageKind, ImageToMirror, ImageUse, Layer,
    Platform, PlatformSpec, PluginInfo, Resolution, log,
};
use serde::Deserialize;

use catalog_image::CatalogImage;
use select::{ApiVersion, Selection};
use state::State;

/// The ImageSetConfiguration key this plugin serves, under `mirror:`.
const CONFIG_KEY: &str = "operators";
/// Where the rebuilt catalog holds its FBC, and what it serves.
pub const REBUILT_CONFIGS: &str = "/configs";

/// The plugin's configuration: the `operators` section and what the host
/// adds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// `mirror.openshift.io/v1alpha2` or `v2alpha1`.
    pub api_version: String,
    /// `mirror.operators`.
    #[serde(default)]
    pub operators: Vec<CatalogConfig>,
    /// `oc-mirror plan`: say what would be kept, build nothing.
    #[serde(default)]
    pub plan: bool,
    /// `oc-mirror list operators`.
    #[serde(default)]
    pub list: Option<listing::Query>,
}

/// One `operators[]` entry: the selection's fields and where the catalog goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogConfig {
    #[serde(flatten)]
    pub filter: select::Operator,
    #[serde(default)]
    pub target_catalog: Option<String>,
    #[serde(default)]
    pub target_tag: Option<String>,
    /// v1alpha2's older name for `targetCatalog`.
    #[serde(default)]
    pub target_name: Option<String>,
    /// v2alpha1: platforms to keep of the bundles' images.
    #[serde(default)]
    pub platforms: Vec<PlatformSpec>,
    /// Set by the host: the contents of the `targetCatalogSourceTemplate` file.
    #[serde(default)]
    pub catalog_source_template: Option<String>,
    /// Set by the host for an `oci:` catalog: the reference it serves the
    /// local layout under.
    #[serde(default)]
    pub local_reference: Option<String>,
}

impl Config {
    fn api(&self) -> Result<ApiVersion, Error> {
        match self.api_version.rsplit('/').next() {
            Some("v1alpha2") => Ok(ApiVersion::V1alpha2),
            Some("v2alpha1") => Ok(ApiVersion::V2alpha1),
            _ => Err(Error::InvalidConfig(format!(
                "unknown apiVersion `{}`",
                self.api_version
            ))),
        }
    }
}

impl CatalogConfig {
    /// The catalog in the mirror, relative to its prefix: `path[:tag]`
    /// (without a tag the host tags it by its own digest).
    pub fn destination(&self, source: &oc_mirror_plugin_sdk::ImageReference) -> String {
        let path = self
            .target_catalog
            .clone()
            .or_else(|| self.target_name.clone())
            .unwrap_or_else(|| source.repository.clone());
        match self.target_tag.as_deref().or(source.tag.as_deref()) {
            Some(tag) => format!("{path}:{tag}"),
            None => path,
        }
    }

    fn platforms(&self) -> Vec<Platform> {
        self.platforms
            .iter()
            .map(PlatformSpec::to_platform)
            .collect()
    }
}

/// What one catalog gives.
#[derive(Default)]
struct Resolved {
    images: Vec<ImageToMirror>,
    uses: Vec<ImageUse>,
    build: Option<ImageBuild>,
    attachment: Option<Attachment>,
}

/// The images of a selection: each kept bundle's image and related images,
/// once each, with the bundles that need them (in catalog order).
pub fn bundle_images(
    catalog: &fbc::Catalog,
    selection: &Selection,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (package_name, kept) in &selection.packages {
        let Some(package) = catalog.packages.get(package_name) else {
            continue;
        };
        for name in kept.bundles.keys() {
            let Some(bundle) = package.bundles.get(name) else {
                continue;
            };
            let user = format!("bundle {name} (package {package_name})");
            let images = std::iter::once(bundle.image.as_str())
                .chain(bundle.related_images.iter().map(|r| r.image.as_str()));
            for image in images.filter(|i| !i.trim().is_empty()) {
                let users = out.entry(image.trim().to_string()).or_default();
                if !users.contains(&user) {
                    users.push(user.clone());
                }
            }
        }
    }
    out
}

/// Resolves one catalog: reads it, selects, and (unless planning) renders.
fn resolve_catalog(
    index: usize,
    entry: &CatalogConfig,
    api: ApiVersion,
    earlier: &State,
    state: &mut State,
    plan: Option<&mut plan::Plan>,
) -> Result<Resolved, Error> {
    let image = CatalogImage::open(entry)?;
    let catalog = image.read()?;
    let mut selection = select::select(&catalog, &entry.filter, api)
        .map_err(|e| Error::InvalidConfig(e.to_string()))?;
    let key = state::key(entry);
    if let Some(earlier) = earlier.catalogs.get(&key) {
        select::keep_earlier(&catalog, &mut selection, &earlier.packages);
    }
    for warning in &selection.warnings {
        log::warn(warning);
    }
    let destination = entry.destination(&image.source);
    let images = bundle_images(&catalog, &selection);
    let platforms = entry.platforms();
    let mut out = Resolved::default();
    for (image, users) in &images {
        out.images.push(ImageToMirror {
            source: image.clone(),
            destination_hint: None,
            kind: ImageKind::OperatorImage,
            platforms: platforms.clone(),
        });
        out.uses.push(ImageUse {
            image: image.clone(),
            needed_by: users.clone(),
        });
    }
    if let Some(plan) = plan {
        plan.add(plan::CatalogPlan::new(
            entry,
            &image,
            &destination,
            &catalog,
            &selection,
            &images,
        ));
        return Ok(out);
    }
    state.record(key, &image.digest, &selection);
    log::info(&format!(
        "catalog {}: {} packages, {} bundles, {} images",
        entry.filter.catalog,
        selection.packages.len(),
        selection
            .packages
            .values()
            .map(|p| p.bundles.len())
            .sum::<usize>(),
        out.images.len()
    ));
    if selection.whole_catalog {
        out.images.push(ImageToMirror {
            source: image.pinned_with_tag(),
            destination_hint: Some(destination.clone()),
            kind: ImageKind::OperatorCatalog,
            platforms: platforms.clone(),
        });
    } else {
        let layers = image.render(&catalog, &selection)?;
        out.build = Some(ImageBuild {
            destination: destination.clone(),
            base: image.pinned(),
            layers: layers.into_iter().map(Layer::Written).collect(),
            cmd: vec!["serve".into(), REBUILT_CONFIGS.into()],
            labels: vec![(catalog_image::CONFIGS_LABEL.into(), REBUILT_CONFIGS.into())],
            kind: ImageKind::OperatorCatalog,
        });
    }
    if let Some(template) = &entry.catalog_source_template {
        out.attachment = Some(template_attachment(index, &image, &destination, template)?);
    }
    Ok(out)
}

/// The media type of a CatalogSource template attachment.
pub const TEMPLATE_MEDIA_TYPE: &str = "application/vnd.oc-mirror.catalog-source-template+json";

/// `operator-catalogs/<n>-template.json`: the template (parsed) and the
/// catalog it is for, as the source and destination the host mirrors it by.
fn template_attachment(
    index: usize,
    image: &CatalogImage,
    destination: &str,
    template: &str,
) -> Result<Attachment, Error> {
    let parsed: serde_json::Value = serde_norway::from_str(template).map_err(|e| {
        Error::InvalidConfig(format!(
            "catalog {}: targetCatalogSourceTemplate is not YAML: {e}",
            image.configured
        ))
    })?;
    if !parsed.is_object() {
        return Err(Error::InvalidConfig(format!(
            "catalog {}: targetCatalogSourceTemplate is not a YAML mapping",
            image.configured
        )));
    }
    let data = serde_json::json!({
        "catalog": image.configured,
        "destination": destination,
        "template": parsed,
    });
    Ok(Attachment {
        name: format!("operator-catalogs/{index}-template.json"),
        media_type: TEMPLATE_MEDIA_TYPE.into(),
        data: serde_json::to_vec(&data).map_err(|e| Error::Other(e.to_string()))?,
    })
}

/// The plugin.
pub struct Operators;

impl ContentSource for Operators {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "operator".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: CONFIG_KEY.into(),
            capabilities: vec!["registry".into()],
        }
    }

    fn resolve(
        config: serde_json::Value,
        state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let config: Config = oc_mirror_plugin_sdk::config(config)?;
        if let Some(query) = &config.list {
            return Ok(Resolution {
                attachments: vec![Attachment {
                    name: "listing.txt".into(),
                    media_type: "text/plain".into(),
                    data: listing::answer(query)?.into_bytes(),
                }],
                ..Resolution::default()
            });
        }
        let api = config.api()?;
        let earlier: State = state
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default();
        let mut new_state = State::default();
        let mut plan = config.plan.then(plan::Plan::default);
        let mut resolution = Resolution::default();
        for (index, entry) in config.operators.iter().enumerate() {
            let resolved =
                resolve_catalog(index, entry, api, &earlier, &mut new_state, plan.as_mut())?;
            resolution.images.extend(resolved.images);
            resolution.uses.extend(resolved.uses);
            resolution.builds.extend(resolved.build);
            resolution.attachments.extend(resolved.attachment);
        }
        if let Some(plan) = plan {
            return Ok(Resolution {
                images: resolution.images,
                attachments: vec![plan.attachment()?],
                ..Resolution::default()
            });
        }
        resolution.state =
            Some(serde_json::to_value(&new_state).map_err(|e| Error::Other(e.to_string()))?);
        Ok(resolution)
    }
}

oc_mirror_plugin_sdk::export_content_source!(Operators);
