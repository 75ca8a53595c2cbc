//! Backends: where the metadata history lives.
//!
//! The connected side records each sequence it creates in its backend (the
//! workspace's `working-dir/metadata` by default, or `storageConfig`); the
//! disconnected side records each sequence it publishes into the mirror itself
//! ([`RegistryBackend`]), so the mirror knows which sequence it holds.
//!
//! Every backend offers the same three operations ([`Backend`]): read the
//! history, record one more sequence, and say where it is for messages.
//! Recording is a *compare-and-set*: a sequence is accepted only if it is the
//! next one for what the backend holds right now, for the same UUID, and it is
//! never written over an existing one. That is what keeps two runs (two
//! creators on one workspace, two publishers to one mirror) from both
//! recording "sequence 4" or from skipping one: the loser gets
//! [`BackendError::Conflict`] and nothing is changed.
//!
//! The trait returns boxed futures ([`BackendFuture`]) so that callers can hold
//! a `Box<dyn Backend>` chosen at run time (a local directory, a registry, and
//! later S3-compatible storage) without an async-trait dependency.

mod local;
mod registry;

use std::future::Future;
use std::pin::Pin;

pub use local::LocalBackend;
pub use registry::{MAX_METADATA_SIZE, RegistryBackend};

use crate::metadata::{History, Metadata, MetadataError, Sequence};
use crate::registry::RegistryError;

/// What a backend operation returns: a boxed, `Send` future, so that
/// `Box<dyn Backend>` works.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BackendError>> + Send + 'a>>;

/// A place that holds the metadata history of one workspace.
pub trait Backend: Send + Sync {
    /// The history held here, checked ([`History::verify_chain`]); `None`
    /// when nothing has been recorded yet.
    fn history(&self) -> BackendFuture<'_, Option<History>>;

    /// Records `m` as the next sequence. Compare-and-set: `m` must be the
    /// successor of what is held now ([`crate::metadata::check_successor`]:
    /// sequence latest+1 with the latest's digest as parent, or 1 when
    /// nothing is held, or a re-created imageset whose `since` is held) and
    /// carry the same UUID; otherwise nothing is written and the error is
    /// [`BackendError::Conflict`] (wrong sequence) or
    /// [`BackendError::Metadata`] (other workspace, broken chain). Nothing
    /// recorded is ever overwritten.
    fn record<'a>(&'a self, m: &'a Metadata) -> BackendFuture<'a, ()>;

    /// When sequence `n` was recorded here (seconds since 1970), where the
    /// backend knows: the metadata itself carries no wall-clock time, so that
    /// archives stay reproducible. Used by `--since DATE`.
    fn recorded_at(&self, _n: Sequence) -> Option<u64> {
        None
    }

    /// Where this backend is, for messages: "`DIR/working-dir/metadata`" or
    /// "`registry/ns/repo:tag`" (with the backticks).
    fn describe(&self) -> String;
}

/// A backend that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The sequence offered is not the next one for what the backend holds.
    #[error(
        "cannot record sequence {found} in {backend}: the next sequence there is {expected_sequence}\nhint: another oc-mirror run may have recorded a sequence in the meantime, or this imageset is out of order; run again to work from the current history"
    )]
    Conflict {
        backend: String,
        expected_sequence: Sequence,
        found: Sequence,
    },
    /// The registry holding the metadata failed.
    #[error("metadata registry: {0}")]
    Registry(#[from] RegistryError),
    /// A local file or directory could not be read or written.
    #[error("cannot access metadata `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// What the backend holds cannot be read as metadata.
    #[error(
        "metadata {what} is corrupt: {reason}\nhint: restore it from a backup, or move it aside to start a new chain (the next imageset is then a full one)"
    )]
    Corrupt { what: String, reason: String },
    /// The document offered does not fit the history (UUID, chain, content).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The location given for a backend cannot hold metadata.
    #[error("{location} cannot hold metadata: {reason}")]
    Location { location: String, reason: String },
}

/// Maps the result of a compare-and-set check to the backend's error: a wrong
/// sequence is a [`BackendError::Conflict`] at `backend`, the rest keeps its
/// metadata error.
pub(crate) fn conflict_or(backend: String, e: MetadataError) -> BackendError {
    match e {
        MetadataError::SequenceOutOfOrder { expected, found } => BackendError::Conflict {
            backend,
            expected_sequence: expected,
            found,
        },
        other => BackendError::Metadata(other),
    }
}

/// The first line of an error (its hint lines do not fit every context).
pub(crate) fn headline(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or_default().to_string()
}

/// The name of sequence `n`'s document: `mirror_seq<N>.json`, in a local
/// directory and as the title of its registry layer.
pub fn file_name(sequence: Sequence) -> String {
    format!("mirror_seq{sequence}.json")
}

/// The sequence a document name stands for (`mirror_seq12.json` → 12);
/// `None` for any other name.
pub fn sequence_of(name: &str) -> Option<Sequence> {
    let digits = name.strip_prefix("mirror_seq")?.strip_suffix(".json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(file_name(3), "mirror_seq3.json");
        assert_eq!(sequence_of("mirror_seq3.json"), Some(3));
        assert_eq!(sequence_of("mirror_seq03.json"), Some(3));
        for other in [
            "mirror_seq.json",
            "mirror_seqx.json",
            "mirror_seq3.json.tmp",
            "x.json",
        ] {
            assert_eq!(sequence_of(other), None, "{other}");
        }
    }

    #[test]
    fn backends_can_be_boxed() {
        let tmp = tempfile::tempdir().unwrap();
        let b: Box<dyn Backend> = Box::new(LocalBackend::new(tmp.path()));
        assert!(b.describe().contains(&tmp.path().display().to_string()));
    }
}
