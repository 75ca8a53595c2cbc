//! Generated bindings for every supported version of the plugin contract.
//!
//! `oc-mirror:plugin@0.1.0`: one `bindgen!` per world; the publisher world
//! reuses the content-source world's generated interfaces (`with:`), so each
//! host interface has one Rust type.
//!
//! `oc-mirror:plugin@0.2.0` imports the 0.1.0 host interfaces unchanged, so
//! its worlds map them (`with:`) onto the 0.1.0 modules: the host implements
//! `registry`, `http` and `log` once, whatever version a plugin was built for.
//! `oc-mirror:plugin@0.3.0` does the same with 0.2.0's `openpgp` and types,
//! and adds `images` (image configs, layers written by the plugin).

/// The 0.1.0 `content-source` world.
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

/// The 0.1.0 `publisher` world.
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

/// The 0.2.0 worlds.
pub mod v0_2 {
    /// The 0.2.0 `content-source` world.
    pub mod content_source {
        wasmtime::component::bindgen!({
            path: ["../wit/plugin@0.1.0", "../wit/plugin@0.2.0"],
            world: "oc-mirror:plugin/content-source@0.2.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "oc-mirror:plugin/types@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::types,
                "oc-mirror:plugin/registry@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::registry,
                "oc-mirror:plugin/http@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::http,
                "oc-mirror:plugin/log@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::log,
            },
        });
    }

    /// The 0.2.0 `publisher` world.
    pub mod publisher {
        wasmtime::component::bindgen!({
            path: ["../wit/plugin@0.1.0", "../wit/plugin@0.2.0"],
            world: "oc-mirror:plugin/publisher@0.2.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "oc-mirror:plugin/types@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::types,
                "oc-mirror:plugin/types@0.2.0": super::content_source::oc_mirror::plugin0_2_0::types,
                "oc-mirror:plugin/log@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::log,
            },
        });
    }

    pub use content_source::oc_mirror::plugin0_2_0::types;
}

/// The 0.3.0 content-source world; its publisher world is 0.2.0's (an
/// `include`), so a 0.3.0 publisher runs with [`v0_2::publisher`].
pub mod v0_3 {
    /// The 0.3.0 `content-source` world.
    pub mod content_source {
        wasmtime::component::bindgen!({
            path: ["../wit/plugin@0.1.0", "../wit/plugin@0.2.0", "../wit/plugin@0.3.0"],
            world: "oc-mirror:plugin/content-source@0.3.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "oc-mirror:plugin/types@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::types,
                "oc-mirror:plugin/registry@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::registry,
                "oc-mirror:plugin/http@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::http,
                "oc-mirror:plugin/log@0.1.0": crate::plugin::bindings::content_source::oc_mirror::plugin::log,
                "oc-mirror:plugin/types@0.2.0": crate::plugin::bindings::v0_2::content_source::oc_mirror::plugin0_2_0::types,
                "oc-mirror:plugin/openpgp@0.2.0": crate::plugin::bindings::v0_2::content_source::oc_mirror::plugin0_2_0::openpgp,
                "oc-mirror:plugin/images.layer-writer": crate::plugin::layers::LayerWriter,
                "oc-mirror:plugin/images.blob-writer": crate::plugin::layers::BlobWriter,
            },
        });
    }

    pub use content_source::oc_mirror::plugin0_3_0::{images, types};
}

pub use content_source::oc_mirror::plugin::types;

/// The copy engine's kind of an image the contract names.
pub fn kind_from_wit(kind: types::ImageKind) -> crate::copy::ImageKind {
    use crate::copy::ImageKind as K;
    match kind {
        types::ImageKind::ReleasePayload => K::ReleasePayload,
        types::ImageKind::ReleaseComponent => K::ReleaseComponent,
        types::ImageKind::OperatorCatalog => K::OperatorCatalog,
        types::ImageKind::OperatorImage => K::OperatorImage,
        types::ImageKind::GraphImage => K::GraphImage,
        types::ImageKind::Generic => K::Generic,
    }
}

/// The contract's name for a kind of the copy engine.
pub fn kind_to_wit(kind: crate::copy::ImageKind) -> types::ImageKind {
    use crate::copy::ImageKind as K;
    match kind {
        K::ReleasePayload => types::ImageKind::ReleasePayload,
        K::ReleaseComponent => types::ImageKind::ReleaseComponent,
        K::OperatorCatalog => types::ImageKind::OperatorCatalog,
        K::OperatorImage => types::ImageKind::OperatorImage,
        K::GraphImage => types::ImageKind::GraphImage,
        K::Generic => types::ImageKind::Generic,
    }
}
