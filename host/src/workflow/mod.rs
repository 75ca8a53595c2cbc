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

use std::path::PathBuf;

use anyhow::Context;

use crate::copy::{ImageOutcome, ImageStatus};
use crate::plugin::bindings::types::MirroredImage;
use crate::plugin::v0_2::{Attachment, Results};
use crate::reference::MirrorTarget;
use crate::sources::Sources;
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

/// A workspace-relative path a publisher may write: relative, plain
/// components only (no `..`, no absolute paths, no empty parts).
fn safe_output_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && !path.contains('\\')
}

/// `working-dir/cluster-resources/`: what the publisher plugins make of every
/// image now in the mirror (copied or already there): IDMS and ITMS, and
/// `registries.conf` / containerd `hosts.toml` for other runtimes. Returns the
/// directory when anything was written.
pub async fn publish_cluster_resources(
    ws: &Workspace,
    sources: &Sources,
    target: &MirrorTarget,
    outcomes: &[ImageOutcome],
    attachments: &[Attachment],
) -> anyhow::Result<Option<PathBuf>> {
    let images: Vec<MirroredImage> = outcomes
        .iter()
        .filter(|o| !matches!(o.status, ImageStatus::Failed(_)))
        .map(|o| MirroredImage {
            source: o.source.whole(),
            destination: o.destination.whole(),
            digest: o.digest.clone().unwrap_or_default(),
            kind: o.kind,
        })
        .collect();
    let config_for = |publisher: &str| match publisher {
        "cluster-resources" => serde_json::json!({
            "createdAt": crate::timestamp::rfc3339(crate::timestamp::now_or_epoch()),
            "version": env!("CARGO_PKG_VERSION"),
            "maxNestedPaths": 0,
        })
        .to_string(),
        _ => serde_json::json!({ "maxNestedPaths": 0 }).to_string(),
    };
    let mirror = match &target.namespace {
        Some(ns) => format!("{}/{ns}", target.registry),
        None => target.registry.clone(),
    };
    let results = Results {
        mirror,
        images,
        attachments: attachments.to_vec(),
    };
    let mut dir = None;
    for publisher in sources.publishers() {
        // First-party publishers write at the top (oc-mirror's file names);
        // a third party's files go in a folder named after it.
        let (config, folder) = match &publisher.config {
            None => (config_for(&publisher.name), String::new()),
            Some(c) => (c.clone(), format!("{}/", publisher.name)),
        };
        if !folder.is_empty() && !safe_output_path(folder.trim_end_matches('/')) {
            anyhow::bail!(
                "plugin `{}` has a name that cannot be a folder: `{}`",
                publisher.plugin.origin,
                publisher.name
            );
        }
        for f in sources
            .host()
            .publish(&publisher.plugin, &config, &results)
            .await?
        {
            if !safe_output_path(&f.path) {
                anyhow::bail!(
                    "plugin `{}` returned a file outside its output directory: `{}`",
                    publisher.plugin.origin,
                    f.path
                );
            }
            ws.write_file(
                &format!("cluster-resources/{folder}{}", f.path),
                f.contents.as_bytes(),
            )?;
            dir = Some(ws.working_dir().join("cluster-resources"));
        }
    }
    Ok(dir)
}

/// The attachments a sequence recorded, read back from the blob cache (where
/// publishing put every blob of its archive, digests checked).
pub fn attachments_of(
    ws: &Workspace,
    meta: &crate::metadata::Metadata,
) -> anyhow::Result<Vec<Attachment>> {
    use std::io::Read;
    let cache = ws.blob_cache()?;
    let mut out = Vec::new();
    for a in &meta.attachments {
        let mut data = Vec::new();
        cache
            .open(&a.digest)
            .and_then(|f| f.take(a.size + 1).read_to_end(&mut data))
            .with_context(|| {
                format!(
                    "attachment `{}` ({}) of sequence {} is not in the workspace",
                    a.name, a.digest, meta.sequence
                )
            })?;
        if crate::manifest::sha256_digest(&data) != a.digest {
            anyhow::bail!(
                "attachment `{}` of sequence {} does not match its digest {}",
                a.name,
                meta.sequence,
                a.digest
            );
        }
        out.push(Attachment {
            name: a.name.clone(),
            media_type: a.media_type.clone(),
            data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn publisher_paths_stay_inside() {
        for ok in ["idms-oc-mirror.yaml", "certs.d/quay.io/hosts.toml"] {
            assert!(super::safe_output_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
        ] {
            assert!(!super::safe_output_path(bad), "{bad}");
        }
    }
}
