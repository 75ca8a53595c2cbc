//! The pure core of the operator-catalog content source (`mirror.operators`):
//! File-Based Catalogs (FBC) read as a stream ([`fbc`]), the bundles to keep
//! chosen as oc-mirror does ([`select`], with the version arithmetic in
//! [`version`]), and the filtered catalog written back ([`render`]).
//!
//! Nothing here touches the host: the catalog arrives as readers (one per
//! file of the catalog's config directory), the configuration as the
//! `operators[]` entry, so all of it is tested on the host target. The
//! content-source component that pulls the catalog image through the host is
//! not wired yet.

pub mod fbc;
pub mod render;
pub mod select;
pub mod version;
