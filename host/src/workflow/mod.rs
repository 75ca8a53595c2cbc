//! The workflows that span the air gap: create an imageset on the connected
//! side, publish it on the disconnected side.
//!
//! ```text
//! create:   config ─► sources ─► resolve ─► blobs not shipped before ─► cache ─► mirror_seqN_*.tar ─► metadata
//! publish:  mirror_seqN_*.tar ─► check UUID and sequence ─► cache (verified) ─► mirror ─► metadata in the mirror
//! ```
//!
//! Mirror to mirror (`cli::mirror`) is the same copy engine without the archive.

pub mod create;
pub mod publish;

use crate::metadata::{ImageRecord, Metadata};

/// Name of the repository, under the mirror's prefix, where publish records
/// the metadata of what the mirror holds (oc-mirror v1 kept it in `oc-mirror`).
pub const MIRROR_METADATA_REPOSITORY: &str = "oc-mirror";
/// Its tag.
pub const MIRROR_METADATA_TAG: &str = "metadata";

/// Sequence numbers whose part 0 (`mirror_seq<N>_000000.tar`) is in `dir`, ascending.
pub fn sequences_in(dir: &std::path::Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix("mirror_seq")
            .and_then(|r| r.strip_suffix("_000000.tar"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// One line per image of a sequence, for `describe` and the summaries.
pub fn image_lines(m: &Metadata) -> Vec<String> {
    m.images
        .iter()
        .map(|i: &ImageRecord| format!("{} → {} ({})", i.source, i.destination, i.digest))
        .collect()
}
