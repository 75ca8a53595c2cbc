//! oc-mirror in Rust: keeps a disconnected mirror registry in step with upstream content.
//!
//! The binary is `cli::run`; `ARCHITECTURE.md` maps the modules. The public
//! modules are what the tests and benchmarks drive directly (the plugin
//! runtime, the copy engine, the settings, sources and publishers); the rest
//! are the crate's own.

pub(crate) mod backend;
pub mod cli;
pub mod config;
pub mod copy;
pub mod crashpoint;
pub mod digest;
pub(crate) mod image_build;
pub(crate) mod image_files;
pub(crate) mod imageset;
pub(crate) mod layer;
pub mod manifest;
pub mod metadata;
pub mod plugin;
pub mod publishers;
pub mod reference;
pub mod registry;
pub(crate) mod sections;
pub mod settings;
pub mod sources;
pub(crate) mod space;
pub mod timestamp;
pub mod workflow;
pub mod workspace;
