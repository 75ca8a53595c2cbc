//! Reading the user's configuration files.
//!
//! The ImageSetConfiguration is the contract oc-mirror users already have on
//! disk, so we read it exactly as oc-mirror defines it (both
//! `mirror.openshift.io/v1alpha2` and `v2alpha1`) and reject anything we do not
//! understand with the file, line and field at fault. Every other part of the
//! host works from the typed values exported here, never from raw YAML.
//!
//! A typo must never silently change what gets mirrored, so this module turns
//! a YAML file into typed values and refuses anything that oc-mirror would not
//! accept. One set of Rust types covers both API versions:
//!
//! * `mirror.openshift.io/v1alpha2` — the legacy oc-mirror v1 format;
//! * `mirror.openshift.io/v2alpha1` — the oc-mirror v2 format, which is also
//!   the only one that has a `DeleteImageSetConfiguration`.
//!
//! Fields that exist in only one of the two versions are present in the types,
//! and [`parse_str`] rejects them when the document declares the other version,
//! with a hint that names the version that has them.
//!
//! Loading happens in four steps, each with its own kind of error:
//!
//! 1. the YAML is read into a loose `Shape` (keys and lists only), which is
//!    enough to read `apiVersion` and `kind` and to see which keys are present
//!    (`shape.rs`);
//! 2. fields that do not belong to the declared version are refused
//!    (`versions.rs`);
//! 3. the text is deserialized into the typed structs, with unknown fields
//!    denied everywhere; serde_norway reports line and field path for these
//!    (`error.rs` turns its errors into ours);
//! 4. the values are validated (image references, regular expressions,
//!    versions, duplicates): the shared machinery is in `check.rs`, each
//!    section's rules next to its types. The line for these errors comes from
//!    `find_line` (`line_finder.rs`), which walks the YAML text by key path.
//!
//! Every error displays as ``isc.yaml:7: `mirror.additionalImages[0].name`: message``,
//! followed by a `hint:` line when we know how to fix it.
//!
//! The files:
//!
//! * `document.rs`: the two kinds of document, their top-level fields, and
//!   the entry points [`load_file`], [`load_mirror_config`] and [`parse_str`];
//! * one file per section, with its types and its checks: `platform.rs`
//!   (releases), `operators.rs`, `helm.rs`, `images.rs` (additional and
//!   blocked images), `storage.rs` (`storageConfig`), `plugins.rs` and
//!   `archive.rs` (`archiveSize`);
//! * the machinery they share: `shape.rs`, `versions.rs`, `error.rs`,
//!   `check.rs` and `line_finder.rs`, as above;
//! * `testing.rs`: the example documents and helpers the tests share.

// `ConfigError` is over clippy's size limit for an `Err`; it is built at most
// once per load, and flat variants are easier for callers to match on.
#![allow(clippy::result_large_err)]

mod archive;
mod check;
mod document;
mod error;
mod helm;
mod images;
mod line_finder;
mod operators;
mod platform;
mod plugins;
mod shape;
mod storage;
#[cfg(test)]
mod testing;
mod versions;

pub use archive::DEFAULT_ARCHIVE_SIZE_GIB;
pub use document::{
    ApiVersion, ConfigDocument, DeleteImageSetConfiguration, DeleteSpec, ImageSetConfiguration,
    Mirror, Sample, load_file, load_mirror_config, parse_str,
};
pub use error::ConfigError;
pub use helm::{Chart, Helm, HelmRepository, LocalChart};
pub use images::{AdditionalImage, BlockedImage};
pub use operators::{Operator, Package, PackageChannel};
pub use platform::{ChannelType, Platform, PlatformSpec, ReleaseChannel};
pub use plugins::PluginSpec;
pub use storage::{LocalStorage, RegistryStorage, StorageConfig};
