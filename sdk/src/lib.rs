//! Write [oc-mirror](https://github.com/oc-mirror-rs/oc-mirror) plugins in Rust.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2` against the WIT
//! package `oc-mirror:plugin@0.3.0` (which keeps the host interfaces of 0.1.0 and
//! 0.2.0). It is one of two kinds:
//!
//! - a **content source** ([`ContentSource`], world `content-source`) turns its section
//!   of the ImageSetConfiguration into the images to mirror (and, optionally, images
//!   for the host to build, with layers it writes through [`images`], and small
//!   files to carry to the publishers); it may read registries ([`registry`]) and
//!   allowed HTTP hosts ([`http`]) through the host, and have the host check
//!   OpenPGP signatures ([`openpgp`]);
//! - a **publisher** ([`Publisher`], world `publisher`) turns what was mirrored (and
//!   the files that came with it) into files (cluster resources, runtime
//!   configuration); it has no network at all.
//!
//! Neither has a filesystem, sockets or environment: whatever a plugin needs comes
//! through the host, which checks it against what the plugin declared in
//! [`PluginInfo::capabilities`] and what the user granted.
//!
//! This crate is the only dependency a plugin needs: it hides the generated
//! bindings, offers plain Rust traits and types, thin wrappers over the host
//! imports, and helpers ([`ImageReference`], [`scope`], [`semver`]).
//!
//! # Example: a complete content source
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "my-images"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! oc-mirror-plugin-sdk = "0.3"
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use oc_mirror_plugin_sdk::{
//!     ContentSource, Error, ImageKind, ImageToMirror, PluginInfo, Resolution, log, registry,
//! };
//! use serde::Deserialize;
//!
//! /// `mirror.myImages`: `{"repository": "quay.io/org/app", "newest": 3}`.
//! #[derive(Deserialize)]
//! struct Config {
//!     repository: String,
//!     newest: usize,
//! }
//!
//! struct MyImages;
//!
//! impl ContentSource for MyImages {
//!     fn info() -> PluginInfo {
//!         PluginInfo {
//!             name: "my-images".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             config_key: "myImages".into(),
//!             capabilities: vec!["registry".into()],
//!         }
//!     }
//!
//!     fn resolve(
//!         config: serde_json::Value,
//!         _state: Option<serde_json::Value>,
//!     ) -> Result<Resolution, Error> {
//!         let config: Config = oc_mirror_plugin_sdk::config(config)?;
//!         // Tags that are semantic versions, newest first.
//!         let mut tags: Vec<String> = registry::list_tags(&config.repository)?
//!             .into_iter()
//!             .filter(|t| oc_mirror_plugin_sdk::semver::Version::parse(t).is_some())
//!             .collect();
//!         tags.sort_by(|a, b| oc_mirror_plugin_sdk::semver::compare(b, a));
//!         tags.truncate(config.newest);
//!         log::info(&format!("{}: mirroring {tags:?}", config.repository));
//!         let images = tags
//!             .iter()
//!             .map(|tag| ImageToMirror {
//!                 source: format!("{}:{tag}", config.repository),
//!                 destination_hint: None,
//!                 kind: ImageKind::Generic,
//!                 platforms: Vec::new(),
//!             })
//!             .collect();
//!         Ok(Resolution { images, ..Resolution::default() })
//!     }
//! }
//!
//! oc_mirror_plugin_sdk::export_content_source!(MyImages);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the `.wasm` under
//! `target/wasm32-wasip2/release/` is already a component.
//!
//! # Versioning
//!
//! The export macros embed [`API_VERSION`] in a custom section named
//! [`API_SECTION`] (`oc-mirror:plugin-api`) of the component's core module, so the
//! host can pick the right bindings before it instantiates anything
//! ([`find_custom_section`] reads it back). The crate's version is that API
//! version: `oc-mirror-plugin-sdk` 0.3.x builds plugins for `oc-mirror:plugin@0.3.0`.
//! The bindings are generated from the crate's own copy of the contract
//! (`wit/plugin@0.1.0/`, `wit/plugin@0.2.0/` and `wit/plugin@0.3.0/` in the crate),
//! byte for byte the repository's `wit/`.
#![deny(missing_docs)]

pub mod directory;
pub mod http;
pub mod images;
pub mod log;
pub mod openpgp;
pub mod reference;
pub mod registry;
pub mod scope;
pub mod section;
pub mod semver;

pub use reference::ImageReference;
pub use section::find_custom_section;

/// The generated bindings. Not part of the API: use the traits and wrappers of this
/// crate instead.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    /// The host interfaces (and the shared types), for both worlds. An imports-only
    /// world: merged into a plugin's component it adds only the imports the plugin
    /// really calls.
    pub mod imports {
        wit_bindgen::generate!({
            inline: "
                package oc-mirror:sdk;
                world imports {
                    import oc-mirror:plugin/registry@0.1.0;
                    import oc-mirror:plugin/http@0.1.0;
                    import oc-mirror:plugin/log@0.1.0;
                    import oc-mirror:plugin/types@0.2.0;
                    import oc-mirror:plugin/openpgp@0.2.0;
                    import oc-mirror:plugin/types@0.3.0;
                    import oc-mirror:plugin/images@0.3.0;
                }
            ",
            path: ["wit/plugin@0.1.0", "wit/plugin@0.2.0", "wit/plugin@0.3.0"],
            world: "oc-mirror:sdk/imports",
            generate_all,
            additional_type_attributes: {
                "oc-mirror:plugin/types@0.1.0/platform": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/image-to-mirror": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/output-file": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/plugin-info": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/mirrored-image": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/error": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.1.0/image-kind": [#[derive(Hash)]],
                "oc-mirror:plugin/types@0.2.0/attachment": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.2.0/tarball-layer": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.2.0/image-build": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.2.0/results": [#[derive(PartialEq, Eq)]],
                "oc-mirror:plugin/types@0.3.0/layer": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.3.0/image-build": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.3.0/image-use": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.3.0/artifact-blob": [#[derive(PartialEq, Eq, Hash)]],
                "oc-mirror:plugin/types@0.3.0/artifact": [#[derive(PartialEq, Eq, Hash)]],
            },
        });
    }

    /// The exports of the `content-source` world; its imports are [`imports`]'.
    pub mod content_source {
        wit_bindgen::generate!({
            path: ["wit/plugin@0.1.0", "wit/plugin@0.2.0", "wit/plugin@0.3.0"],
            world: "oc-mirror:plugin/content-source@0.3.0",
            with: {
                "oc-mirror:plugin/types@0.1.0": super::imports::oc_mirror::plugin0_1_0::types,
                "oc-mirror:plugin/types@0.2.0": super::imports::oc_mirror::plugin0_2_0::types,
                "oc-mirror:plugin/types@0.3.0": super::imports::oc_mirror::plugin0_3_0::types,
                "oc-mirror:plugin/registry@0.1.0": super::imports::oc_mirror::plugin0_1_0::registry,
                "oc-mirror:plugin/http@0.1.0": super::imports::oc_mirror::plugin0_1_0::http,
                "oc-mirror:plugin/log@0.1.0": super::imports::oc_mirror::plugin0_1_0::log,
                "oc-mirror:plugin/openpgp@0.2.0": super::imports::oc_mirror::plugin0_2_0::openpgp,
                "oc-mirror:plugin/images@0.3.0": super::imports::oc_mirror::plugin0_3_0::images,
            },
            pub_export_macro: true,
            export_macro_name: "__export_content_source_world",
            default_bindings_module: "::oc_mirror_plugin_sdk::bindings::content_source",
        });
    }

    /// The exports of the `publisher` world; its imports are [`imports`]'.
    #[allow(clippy::too_many_arguments)]
    pub mod publisher {
        wit_bindgen::generate!({
            path: ["wit/plugin@0.1.0", "wit/plugin@0.2.0", "wit/plugin@0.3.0"],
            world: "oc-mirror:plugin/publisher@0.3.0",
            with: {
                "oc-mirror:plugin/types@0.1.0": super::imports::oc_mirror::plugin0_1_0::types,
                "oc-mirror:plugin/types@0.2.0": super::imports::oc_mirror::plugin0_2_0::types,
                "oc-mirror:plugin/log@0.1.0": super::imports::oc_mirror::plugin0_1_0::log,
            },
            pub_export_macro: true,
            export_macro_name: "__export_publisher_world",
            default_bindings_module: "::oc_mirror_plugin_sdk::bindings::publisher",
        });
    }
}

pub use bindings::imports::oc_mirror::plugin0_1_0::types::{
    Error, ImageKind, ImageToMirror, MirroredImage, OutputFile, Platform, PluginInfo,
};
pub use bindings::imports::oc_mirror::plugin0_2_0::types::{Attachment, Results, TarballLayer};
pub use bindings::imports::oc_mirror::plugin0_3_0::types::{
    Artifact, ArtifactBlob, ImageBuild, ImageUse, Layer,
};

/// The version of the WIT package this SDK implements (`oc-mirror:plugin@0.3.0`).
pub const API_VERSION: &str = "0.3.0";

/// The name of the custom section that holds [`API_VERSION`] in every plugin built
/// with this SDK. The host reads it with [`find_custom_section`] (it sits in the
/// component's core module, which wasm-component-ld nests inside the component).
pub const API_SECTION: &str = "oc-mirror:plugin-api";

/// What a content source found: the images to mirror, images for the host to
/// build, files to carry to the publishers, and the state to keep for the next run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// The images to mirror, in any order (the host de-duplicates).
    pub images: Vec<ImageToMirror>,
    /// Images the host builds (a base image plus layers made from downloaded
    /// archives or written with [`images::LayerWriter`]) and mirrors, e.g. a
    /// graph-data image or a filtered catalog.
    pub builds: Vec<ImageBuild>,
    /// OCI artifacts the host assembles from blobs written with
    /// [`images::BlobWriter`] and mirrors, e.g. a Helm chart.
    pub artifacts: Vec<Artifact>,
    /// Small files (at most 1 MiB each) carried with the imageset and handed to
    /// every publisher, e.g. release signatures.
    pub attachments: Vec<Attachment>,
    /// What needs which image, in words a user knows (`bundle x of package
    /// y`): the host names them when the image cannot be mirrored.
    pub uses: Vec<ImageUse>,
    /// The plugin's own state, handed back to [`ContentSource::resolve`] next time
    /// (e.g. the newest version seen). `None` keeps no state.
    pub state: Option<serde_json::Value>,
}

/// A content source: the `content-source` world. Export it with
/// [`export_content_source!`].
pub trait ContentSource {
    /// Who the plugin is, which ImageSetConfiguration key it serves (under
    /// `mirror:`), and what it asks to be allowed (`registry`, `http:<host>`, or
    /// `http:*` for the hosts the user grants).
    fn info() -> PluginInfo;

    /// Turns the plugin's configuration section into images.
    ///
    /// `config` is the section as JSON (`null` when absent); [`config`] turns it into
    /// a typed value. `state` is what the plugin returned last time, `None` on the
    /// first run.
    fn resolve(
        config: serde_json::Value,
        state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error>;
}

/// A publisher: the `publisher` world. Export it with [`export_publisher!`].
pub trait Publisher {
    /// Who the plugin is (`config_key` is empty for publishers, and a publisher asks
    /// for no capabilities: it has none to ask for).
    fn info() -> PluginInfo;

    /// Turns what was mirrored into files for the host to write.
    ///
    /// `config` is the publisher's settings (JSON, `null` when none); `results` has
    /// the mirror's `registry[/prefix]`, every image now in the mirror, and the
    /// content sources' attachments. Returned paths are relative (no `..`, not
    /// absolute).
    fn publish(config: serde_json::Value, results: Results) -> Result<Vec<OutputFile>, Error>;
}

/// One entry of a section's `platforms:` (v2alpha1), as the ImageSetConfiguration
/// writes it: `{os, architecture, variant}`, `os` defaulting to `linux`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// e.g. `linux`; empty means `linux`.
    #[serde(default)]
    pub os: String,
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8` for `arm64`.
    #[serde(default)]
    pub variant: Option<String>,
}

impl PlatformSpec {
    /// The platform to keep of an image.
    pub fn to_platform(&self) -> Platform {
        Platform {
            os: if self.os.is_empty() {
                "linux".into()
            } else {
                self.os.clone()
            },
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
        }
    }
}

/// Deserializes a configuration section into `T`, or an
/// [`Error::InvalidConfig`] that says which field is wrong and why.
pub fn config<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::InvalidConfig(e.to_string()))
}

/// Glue between the WIT exports and the traits; used by the export macros.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use bindings::content_source::Guest as ContentSourceGuest;
    pub use bindings::imports::oc_mirror::plugin0_2_0::types::Context;
    pub use bindings::imports::oc_mirror::plugin0_3_0::types::Resolution as WitResolution;
    pub use bindings::publisher::Guest as PublisherGuest;

    /// JSON text from the host into a value: empty text is `null`.
    fn json(what: &str, text: &str) -> Result<serde_json::Value, Error> {
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(text)
            .map_err(|e| Error::InvalidConfig(format!("{what} is not valid JSON: {e}")))
    }

    /// `content-source.resolve` on top of [`ContentSource::resolve`].
    pub fn resolve<T: ContentSource>(
        config: String,
        context: Context,
    ) -> Result<WitResolution, Error> {
        let state = context.state;
        let config = json("the configuration", &config)?;
        let state = if state.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str(&state)
                    .map_err(|e| Error::Other(format!("the saved state is not valid JSON: {e}")))?,
            )
        };
        let resolution = T::resolve(config, state)?;
        let state = match resolution.state {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(value) => value.to_string(),
        };
        Ok(WitResolution {
            images: resolution.images,
            builds: resolution.builds,
            artifacts: resolution.artifacts,
            attachments: resolution.attachments,
            uses: resolution.uses,
            state,
        })
    }

    /// `publisher.publish` on top of [`Publisher::publish`].
    pub fn publish<T: Publisher>(
        config: String,
        results: Results,
    ) -> Result<Vec<OutputFile>, Error> {
        let config = json("the configuration", &config)?;
        T::publish(config, results)
    }
}

/// Exports a [`ContentSource`] as the plugin's `content-source` world, and embeds
/// [`API_VERSION`] in the [`API_SECTION`] custom section. Use it once, at the top
/// level of the plugin crate.
#[macro_export]
macro_rules! export_content_source {
    ($t:ty) => {
        const _: () = {
            struct __OcMirrorContentSource;

            impl $crate::__private::ContentSourceGuest for __OcMirrorContentSource {
                fn info() -> $crate::PluginInfo {
                    <$t as $crate::ContentSource>::info()
                }
                fn resolve(
                    config: ::std::string::String,
                    context: $crate::__private::Context,
                ) -> ::core::result::Result<$crate::__private::WitResolution, $crate::Error>
                {
                    $crate::__private::resolve::<$t>(config, context)
                }
            }

            $crate::bindings::content_source::__export_content_source_world!(
                __OcMirrorContentSource with_types_in $crate::bindings::content_source
            );

            $crate::__api_version_section!();
        };
    };
}

/// Exports a [`Publisher`] as the plugin's `publisher` world, and embeds
/// [`API_VERSION`] in the [`API_SECTION`] custom section. Use it once, at the top
/// level of the plugin crate.
#[macro_export]
macro_rules! export_publisher {
    ($t:ty) => {
        const _: () = {
            struct __OcMirrorPublisher;

            impl $crate::__private::PublisherGuest for __OcMirrorPublisher {
                fn info() -> $crate::PluginInfo {
                    <$t as $crate::Publisher>::info()
                }
                fn publish(
                    config: ::std::string::String,
                    results: $crate::Results,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::OutputFile>, $crate::Error>
                {
                    $crate::__private::publish::<$t>(config, results)
                }
            }

            $crate::bindings::publisher::__export_publisher_world!(
                __OcMirrorPublisher with_types_in $crate::bindings::publisher
            );

            $crate::__api_version_section!();
        };
    };
}

/// The `oc-mirror:plugin-api` custom section, expanded into every plugin by the
/// export macros (so it lands in the plugin's own object file and is kept).
#[doc(hidden)]
#[macro_export]
macro_rules! __api_version_section {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "oc-mirror:plugin-api")]
        #[used]
        static __OC_MIRROR_PLUGIN_API: [u8; 5] = *b"0.3.0";
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_macro_matches_the_constants() {
        // The literal in `__api_version_section!` must follow these.
        assert_eq!(API_VERSION.as_bytes(), b"0.3.0");
        assert_eq!(API_SECTION, "oc-mirror:plugin-api");
    }

    #[test]
    fn empty_state_is_none_and_none_state_is_empty() {
        struct S;
        impl ContentSource for S {
            fn info() -> PluginInfo {
                PluginInfo {
                    name: "s".into(),
                    version: "0".into(),
                    config_key: "s".into(),
                    capabilities: Vec::new(),
                }
            }
            fn resolve(
                config: serde_json::Value,
                state: Option<serde_json::Value>,
            ) -> Result<Resolution, Error> {
                assert_eq!(config, serde_json::json!([1]));
                Ok(Resolution {
                    state: state.map(|s| serde_json::json!({"seen": s})),
                    ..Resolution::default()
                })
            }
        }
        let context = |state: &str| __private::Context {
            state: state.to_string(),
        };
        let r = __private::resolve::<S>("[1]".into(), context("")).unwrap();
        assert!(r.images.is_empty() && r.builds.is_empty() && r.attachments.is_empty());
        assert_eq!(r.state, "");
        let r = __private::resolve::<S>("[1]".into(), context("2")).unwrap();
        assert_eq!(r.state, r#"{"seen":2}"#);
        assert!(matches!(
            __private::resolve::<S>("[".into(), context("")),
            Err(Error::InvalidConfig(_))
        ));
    }
}
