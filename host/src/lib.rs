//! oc-mirror in Rust: keeps a disconnected mirror registry in step with upstream content.

pub mod config;
pub mod registry;
