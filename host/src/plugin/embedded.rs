//! The first-party plugins, compiled for `wasm32-wasip2` by `host/build.rs`
//! and embedded in the binary: one file to carry across the air gap.

include!(concat!(env!("OUT_DIR"), "/embedded_plugins.rs"));

/// Content sources, each serving one section of `mirror:`.
pub const CONTENT_SOURCES: &[(&str, &[u8])] = &[
    ("additional-images", ADDITIONAL_IMAGES),
    ("helm", HELM),
    ("operator", OPERATOR),
    ("release", RELEASE),
];

/// Publishers, run after images land in the mirror.
pub const PUBLISHERS: &[(&str, &[u8])] = &[
    ("cluster-resources", CLUSTER_RESOURCES),
    ("registries-conf", REGISTRIES_CONF),
];
