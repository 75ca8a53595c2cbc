//! Generated bindings for every supported version of the plugin contract.
//!
//! One `bindgen!` per world of `oc-mirror:plugin@0.1.0`. The publisher world
//! reuses the content-source world's generated interfaces (`with:`), so each
//! host interface has one Rust type. A future `@0.2.0` gets its own module
//! beside this one, and `super::conversions` maps between them.

/// The `content-source` world.
pub mod content_source {
    wasmtime::component::bindgen!({
        path: "../wit/plugin@0.1.0",
        world: "content-source",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "oc-mirror:plugin/registry.file-reader": crate::plugin::host::FileReader,
            "oc-mirror:plugin/http.body": crate::plugin::host::HttpBody,
        },
    });
}

/// The `publisher` world.
pub mod publisher {
    wasmtime::component::bindgen!({
        path: "../wit/plugin@0.1.0",
        world: "publisher",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "oc-mirror:plugin/types": super::content_source::oc_mirror::plugin::types,
            "oc-mirror:plugin/log": super::content_source::oc_mirror::plugin::log,
        },
    });
}

pub use content_source::oc_mirror::plugin::types;
