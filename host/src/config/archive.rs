//! `archiveSize`: the largest size of one archive file of an imageset.
//!
//! The default, the unit, and the one rule (at least 1 GiB).

use super::check::{Check, Checker};
use super::document::ImageSetConfiguration;

/// Size of one archive file, in GiB, when `archiveSize` is not set.
///
/// oc-mirror (v1 and v2) cuts its archives at 500 GiB by default; we use the
/// same number so that users moving over get archives of the same size.
pub const DEFAULT_ARCHIVE_SIZE_GIB: u64 = 500;

/// Bytes in one GiB, the unit of `archiveSize`.
pub(super) const GIB: u64 = 1024 * 1024 * 1024;

impl ImageSetConfiguration {
    /// The archive size limit in bytes (`archiveSize` GiB, or
    /// [`DEFAULT_ARCHIVE_SIZE_GIB`] when unset).
    pub fn archive_size_bytes(&self) -> u64 {
        self.archive_size
            .unwrap_or(DEFAULT_ARCHIVE_SIZE_GIB)
            .saturating_mul(GIB)
    }
}

impl Checker<'_> {
    /// `archiveSize` is a number of GiB, at least 1.
    pub(super) fn archive_size(&self, archive_size: Option<u64>) -> Check {
        if archive_size == Some(0) {
            return Err(self.invalid("archiveSize", "must be at least 1 (the unit is GiB)".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::*;

    #[test]
    fn archive_size_defaults_to_500_gib() {
        let config = mirror(&v2("  additionalImages:\n    - name: busybox\n"));
        assert_eq!(config.archive_size_bytes(), 500 * GIB);
    }

    #[test]
    fn archive_size_must_be_positive() {
        let text = v2("  additionalImages:\n    - name: a\n")
            .replace("mirror:", "archiveSize: 0\nmirror:");
        let shown = rejects(&text, "archiveSize", Some(3));
        assert_eq!(
            shown,
            "isc.yaml:3: `archiveSize`: must be at least 1 (the unit is GiB)"
        );
        let text = v2("  additionalImages: []\n").replace("mirror:", "archiveSize: -4\nmirror:");
        rejects(&text, "archiveSize", Some(3));
    }
}
