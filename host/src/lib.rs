//! oc-mirror in Rust: keeps a disconnected mirror registry in step with upstream content.

pub mod config;
pub mod registry;
pub mod manifest;
pub mod reference;
pub mod workspace;
pub mod copy;
pub mod sources;
pub mod cli;
