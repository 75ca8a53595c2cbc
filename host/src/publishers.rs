//! Publishers: turn what is now in the mirror into files for the cluster.
//!
//! Each publisher is a sandboxed plugin ([`crate::plugin`]) that is told every
//! image in the mirror (source, destination, digest, kind) and the
//! attachments the content sources sent along, and answers with files. The
//! first-party ones are embedded (`cluster-resources`: IDMS, ITMS,
//! CatalogSource, UpdateService, signature ConfigMaps; `registries-conf`:
//! `registries.conf` and containerd `hosts.toml`); third parties come from
//! the configuration's `plugins:`. The host writes their files under
//! `working-dir/cluster-resources/`, first-party ones at the top with
//! oc-mirror's names, a third party's in a folder named after it, and no file
//! outside that directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;

use crate::copy::{ImageOutcome, ImageStatus};
use crate::digest::Digest;
use crate::metadata::ImageRecord;
use crate::plugin::bindings::types::MirroredImage;
use crate::plugin::configured::Configured;
use crate::plugin::v0_2::{Attachment, Results};
use crate::plugin::{Plugin, PluginError, PluginHost};
use crate::reference::MirrorTarget;
use crate::workspace::Workspace;

/// The folder below `working-dir` that publishers write into.
pub const OUTPUT_DIR: &str = "cluster-resources";

/// One publisher of a run.
struct LoadedPublisher {
    name: String,
    plugin: Plugin,
    /// `None` for first-party publishers, whose configuration the host makes.
    config: Option<String>,
}

/// The publishers of a run: the embedded ones, then the configured ones.
pub struct Publishers {
    host: Arc<PluginHost>,
    publishers: Vec<LoadedPublisher>,
}

impl Publishers {
    /// Loads the embedded publishers and the `configured` plugins that are
    /// publishers (content sources among them are left to [`crate::sources`]).
    pub fn load(
        host: Arc<PluginHost>,
        configured: Vec<Configured>,
    ) -> Result<Publishers, PluginError> {
        let mut publishers = Vec::new();
        for (name, bytes) in crate::plugin::embedded::PUBLISHERS {
            publishers.push(LoadedPublisher {
                name: name.to_string(),
                plugin: host.load(bytes, &format!("embedded:{name}"))?,
                config: None,
            });
        }
        for c in configured.into_iter().filter(|c| !c.is_content_source()) {
            publishers.push(LoadedPublisher {
                name: c.name,
                plugin: c.plugin,
                config: c.config,
            });
        }
        Ok(Publishers { host, publishers })
    }

    /// Runs every publisher on `images` and writes their files. Returns the
    /// output directory when anything was written. `created_at` (seconds) is
    /// the `createdAt` of oc-mirror's resources.
    pub async fn publish(
        &self,
        ws: &Workspace,
        target: &MirrorTarget,
        images: Vec<MirroredImage>,
        attachments: &[Attachment],
        created_at: u64,
    ) -> anyhow::Result<Option<PathBuf>> {
        let config_for = |publisher: &str| match publisher {
            "cluster-resources" => serde_json::json!({
                "createdAt": crate::timestamp::rfc3339(created_at),
                "version": env!("CARGO_PKG_VERSION"),
                "maxNestedPaths": 0,
            })
            .to_string(),
            _ => serde_json::json!({ "maxNestedPaths": 0 }).to_string(),
        };
        let results = Results {
            mirror: target.prefix(),
            images,
            attachments: attachments.to_vec(),
        };
        let mut dir = None;
        for publisher in &self.publishers {
            let (config, folder) = match &publisher.config {
                None => (config_for(&publisher.name), String::new()),
                Some(c) => (c.clone(), format!("{}/", publisher.name)),
            };
            if !folder.is_empty() && !safe_output_path(folder.trim_end_matches('/')) {
                bail!(
                    "plugin `{}` has a name that cannot be a folder: `{}`",
                    publisher.plugin.origin,
                    publisher.name
                );
            }
            for f in self
                .host
                .publish(&publisher.plugin, &config, &results)
                .await?
            {
                if !safe_output_path(&f.path) {
                    bail!(
                        "plugin `{}` returned a file outside its output directory: `{}`",
                        publisher.plugin.origin,
                        f.path
                    );
                }
                ws.write_file(
                    &format!("{OUTPUT_DIR}/{folder}{}", f.path),
                    f.contents.as_bytes(),
                )?;
                dir = Some(ws.working_dir().join(OUTPUT_DIR));
            }
        }
        Ok(dir)
    }
}

/// The images of a copy report that are in the mirror (copied or already there).
pub fn mirrored_from_outcomes(outcomes: &[ImageOutcome]) -> Vec<MirroredImage> {
    outcomes
        .iter()
        .filter(|o| !matches!(o.status, ImageStatus::Failed(_)))
        .map(|o| MirroredImage {
            source: o.source.whole(),
            destination: o.destination.whole(),
            // The plugin interface carries digests as strings.
            digest: o.digest.as_ref().map(Digest::to_string).unwrap_or_default(),
            kind: crate::plugin::bindings::kind_to_wit(o.kind),
        })
        .collect()
}

/// An image a published sequence recorded, at `destination`, its place in
/// the mirror ([`MirrorTarget::place_recorded`]).
pub fn mirrored_from_record(
    record: &ImageRecord,
    destination: &crate::reference::Reference,
) -> MirroredImage {
    MirroredImage {
        source: record.source.clone(),
        destination: destination.whole(),
        digest: record.digest.to_string(),
        kind: crate::plugin::bindings::kind_to_wit(crate::copy::ImageKind::from_name(&record.kind)),
    }
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
