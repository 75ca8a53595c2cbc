//! oc-mirror in Rust: keeps a disconnected mirror registry in step with upstream content.

pub mod backend;
pub mod cli;
pub mod config;
pub mod copy;
pub mod digest;
pub mod image_build;
pub mod image_files;
pub mod imageset;
pub mod manifest;
pub mod metadata;
pub mod plugin;
pub mod reference;
pub mod publishers;
pub mod registry;
pub mod settings;
pub mod sources;
pub mod timestamp;
pub mod workflow;
pub mod workspace;
