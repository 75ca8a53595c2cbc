//! oc-mirror in Rust: keeps a disconnected mirror registry in step with upstream content.

pub mod cli;
pub mod cluster_resources;
pub mod config;
pub mod copy;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod sources;
pub mod timestamp;
pub mod workspace;
