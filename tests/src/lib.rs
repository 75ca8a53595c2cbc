//! Test support for oc-mirror: real registries, deterministic fixtures and an
//! independent registry client.
//!
//! The end-to-end tests and the benchmark drive oc-mirror against real
//! `docker-registry` (CNCF Distribution 2.8) processes on loopback ports, fill
//! them with synthetic images whose digests are fixed by their specs, and
//! check the results with a small client that shares no code with oc-mirror.
//!
//! - [`registry`]: start/stop/restart registries (auth, TLS, read-only), read
//!   their request logs ([`Registry::blob_gets`]).
//! - [`client`]: the distribution-API client used for pushes and assertions.
//! - [`fixture`]: layers, images and indexes built from seeds, and pushing them.
//! - [`world`]: the ready-made [`World::standard`] and [`World::bench`] sets.
//! - [`tls`]: throwaway CA and server certificates.
//! - [`signing`]: throwaway OpenPGP release signing ([`ReleaseSigner`]).
//! - [`tools`]: the `oc-mirror` binary under test, `skopeo`, and what to
//!   install when `docker-registry` or `skopeo` is missing.
//! - [`imageset`]: an imageset's parts on disk, carried and listed with `tar`.
//! - [`isc`]: ImageSetConfiguration text.
//! - [`charts`]: Helm chart fixtures (`tests/data/charts/`): packing them as
//!   `helm package` does, a chart repository ([`ChartRepo`]), OCI charts
//!   ([`charts::push_oci_chart`]) and the images they run.
//! - [`stats`]: medians of the benchmarks' runs.
//!
//! Everything network-facing is async (tokio); use `#[tokio::test]`.

pub mod catalog;
pub mod catalog_scale;
pub mod charts;
pub mod cincinnati;
pub mod client;
pub mod faults;
pub mod fixture;
// The one small HTTP/1.1 server (accept loop, request-head parsing, response
// writing) shared by the in-process test services, `cincinnati` and `charts`,
// so each keeps only its routes and what it records.
mod http;
pub mod imageset;
pub mod isc;
pub mod registry;
pub mod release;
pub mod signing;
pub mod stats;
pub mod tls;
pub mod token;
pub mod tools;
pub mod world;

#[cfg(test)]
mod self_tests;

pub use charts::{ChartExpectation, ChartRepo, ChartUrls, PushedChart, PushedChartImages};
pub use cincinnati::{CincinnatiServer, GraphSpec, ServerMode};
pub use client::{RegistryClient, Target};
pub use faults::{Action, Fault, FaultProxy, Tripwire};
pub use fixture::{
    FilesLayer, Format, ImageSpec, IndexSpec, LayerSpec, PushedImage, PushedIndex, TarEntry,
    push_image, push_index,
};
pub use registry::{Registry, RegistryOptions};
pub use release::{PushedRelease, PushedReleaseWorld, ReleaseArch, ReleaseSpec, ReleaseWorld};
pub use signing::ReleaseSigner;
pub use world::{PushedWorld, World, WorldEntry};

/// Manifest, config and layer media types used by the fixtures and client.
pub mod media_type {
    /// Docker image manifest v2 schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
}
