//! Reading the user's configuration files.
//!
//! The ImageSetConfiguration is the contract oc-mirror users already have on
//! disk, so we read it exactly as oc-mirror defines it (both
//! `mirror.openshift.io/v1alpha2` and `v2alpha1`) and reject anything we do not
//! understand with the file, line and field at fault. Every other part of the
//! host works from the typed values exported here, never from raw YAML.

mod document;

pub use document::*;
