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

use std::path::{Path, PathBuf};

use crate::copy::{ImageOutcome, ImageStatus};
use crate::workspace::Workspace;

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

/// `working-dir/cluster-resources/`: IDMS and ITMS for every image now in the
/// mirror (copied or already there). Returns the directory when anything was written.
pub fn write_cluster_resources(
    ws: &Workspace,
    outcomes: &[ImageOutcome],
) -> anyhow::Result<Option<PathBuf>> {
    use crate::cluster_resources::{Annotations, Category, ImageKind, MirroredImage, mirror_sets};
    let images: Vec<MirroredImage> = outcomes
        .iter()
        .filter(|o| !matches!(o.status, ImageStatus::Failed(_)))
        .map(|o| MirroredImage {
            source: o.source.clone(),
            destination: o.destination.clone(),
            category: Category::Generic,
            kind: ImageKind::Other,
        })
        .collect();
    let annotations = Annotations {
        created_at: crate::timestamp::rfc3339(crate::timestamp::now_or_epoch()),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let files = mirror_sets(&images, &annotations, 0)?;
    let mut dir = None;
    for f in files {
        let path = ws.write_file(
            &format!("cluster-resources/{}", f.name),
            f.contents.as_bytes(),
        )?;
        dir = path.parent().map(Path::to_path_buf);
    }
    Ok(dir)
}
