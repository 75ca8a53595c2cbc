//! Registry access.

pub mod auth;
