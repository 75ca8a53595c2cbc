//! Logging into the host's log, tagged there with the plugin's name (the `log`
//! import, in both worlds).
//!
//! A plugin's stdout and stderr go nowhere useful: log through these instead.

use crate::bindings::imports::oc_mirror::plugin0_1_0::log as wit;

pub use wit::Level;

/// Logs `message` at `level`.
pub fn log(level: Level, message: &str) {
    wit::log(level, message);
}

/// Logs at trace level: detail only a developer wants.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level: what the user sees by default.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level: something the user should look at.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level (returning an [`Error`](crate::Error) is usually better).
pub fn error(message: &str) {
    log(Level::Error, message);
}
