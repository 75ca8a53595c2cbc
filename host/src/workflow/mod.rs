//! The workflows, each from start to end: create an imageset on the connected
//! side, publish it on the disconnected side, or mirror to mirror in one step.
//!
//! ```text
//! create:   config ─► sources ─► resolve ─► blobs not shipped before ─► cache ─► mirror_seqN_*.tar ─► metadata
//! publish:  mirror_seqN_*.tar ─► check UUID and sequence ─► cache (verified) ─► mirror ─► mapping, cluster resources ─► metadata in the mirror
//! mirror:   config ─► sources ─► resolve ─► cache ─► mirror ─► mapping, cluster resources ─► plugin state
//! plan:     config ─► sources (asked to explain, last state) ─► report
//! ```
//!
//! Each takes the resolved [`Settings`] and a [`Context`] (where progress
//! goes, the Ctrl-C flag) and returns a report for `cli/` to print, or a typed
//! error ([`error`]) whose exit code says which kind of content failed.

pub mod create;
pub mod delete;
pub mod error;
pub mod mirror;
pub mod plan;
pub mod publish;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;

use crate::copy::{CopyEngine, Reporter};
use crate::plugin::v0_2::Attachment;
use crate::plugin::{PluginHost, configured};
use crate::reference::Reference;
use crate::registry::RegistryClient;
use crate::settings::Settings;
use crate::sources::Sources;
use crate::workspace::Workspace;

/// Name of the repository, under the mirror's prefix, where publish records
/// the metadata of what the mirror holds (oc-mirror v1 kept it in `oc-mirror`).
pub const MIRROR_METADATA_REPOSITORY: &str = "oc-mirror";
/// Its tag.
pub const MIRROR_METADATA_TAG: &str = "metadata";

/// What every workflow runs with besides its own arguments.
pub struct Context {
    pub settings: Settings,
    /// Where the copy engine reports progress.
    pub reporter: Arc<dyn Reporter>,
    /// Set by a first Ctrl-C: start no new image; copies under way finish.
    pub stop: Arc<AtomicBool>,
}

impl Context {
    /// A client for the source registries.
    fn source_client(&self) -> Arc<RegistryClient> {
        Arc::new(RegistryClient::new(self.settings.source.clone()))
    }

    /// A client for the mirror.
    fn destination_client(&self) -> Arc<RegistryClient> {
        Arc::new(RegistryClient::new(self.settings.destination.clone()))
    }

    /// The plugin runtime, with compiled plugins cached per user (or in the
    /// workspace when there is no user cache) and layers read for plugins
    /// kept in the workspace's blob cache.
    fn plugin_host(&self, ws: &Workspace) -> anyhow::Result<Arc<PluginHost>> {
        let mut config = self.settings.plugins.clone();
        if config.cache_dir.is_none() {
            config.cache_dir = Some(ws.working_dir().join("plugin-cache"));
        }
        Ok(Arc::new(
            PluginHost::new(config)?.with_blob_cache(ws.blob_cache()?),
        ))
    }

    /// The copy engine of a run.
    fn engine(
        &self,
        ws: &Workspace,
        source: Option<Arc<RegistryClient>>,
        destination: Arc<RegistryClient>,
    ) -> anyhow::Result<CopyEngine> {
        Ok(CopyEngine::new(
            source,
            destination,
            ws.blob_cache()?,
            self.settings.concurrency,
            self.reporter.clone(),
        )
        .with_stop(self.stop.clone())
        .with_image_timeout(self.settings.image_timeout))
    }
}

/// The plugins of a run that reads sources: the content sources, first-party
/// and configured, and the configured publishers (loaded and checked here,
/// run by the workflows that write cluster resources).
async fn load_plugins(
    ctx: &Context,
    host: Arc<PluginHost>,
    registry: Arc<RegistryClient>,
    specs: &[crate::config::PluginSpec],
) -> anyhow::Result<(Sources, Vec<configured::Configured>)> {
    let configured = configured::load(&host, Some(&registry), specs).await?;
    let (sources, publishers): (Vec<_>, Vec<_>) = configured
        .into_iter()
        .partition(configured::Configured::is_content_source);
    let sources =
        Sources::load(host, Some(registry), ctx.settings.release.clone(), sources).await?;
    Ok((sources, publishers))
}

/// The metadata's record of a resolved image.
fn image_record(
    i: &crate::copy::ResolvedImage,
    target: &crate::reference::MirrorTarget,
) -> crate::metadata::ImageRecord {
    crate::metadata::ImageRecord {
        source: i.job.source.whole(),
        destination: target.record(&i.job.destination),
        digest: i.digest().clone(),
        media_type: i
            .manifests
            .last()
            .map(|m| m.media_type.clone())
            .unwrap_or_default(),
        origin: i.job.origin.name().to_string(),
        kind: i.job.kind.name().to_string(),
        manifests: i.manifests.iter().map(|m| m.digest.clone()).collect(),
        blobs: i.blobs().into_iter().map(|b| b.digest).collect(),
    }
}

/// One line of `mapping.txt`: `docker://SOURCE=docker://DESTINATION`.
pub fn mapping_line(source: &Reference, destination: &Reference) -> String {
    format!(
        "docker://{}=docker://{}",
        source.whole(),
        destination.whole()
    )
}

/// `mapping.txt`: one `docker://SOURCE=docker://DESTINATION` line per
/// image, sorted, without duplicates.
pub fn mapping_text<'a>(pairs: impl Iterator<Item = (&'a Reference, &'a Reference)>) -> String {
    let mut lines: Vec<String> = pairs.map(|(s, d)| mapping_line(s, d)).collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The attachments a sequence recorded, read back from the blob cache (where
/// publishing put every blob of its archive, digests checked).
fn attachments_of(
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
        if crate::digest::Digest::of(&data) != a.digest {
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

/// Where mapping.txt, the cluster resources and the files content sources
/// place (chart archives) went.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub mapping: Option<PathBuf>,
    pub cluster_resources: Option<PathBuf>,
    pub files: Vec<PathBuf>,
}

/// Places the files the content sources asked for (see
/// [`crate::metadata::Metadata::files`]) below `working-dir`, from the blob
/// cache; a later record of a path wins. A blob the cache lacks (shipped by
/// an earlier sequence to another directory) is left out with a warning.
fn place_files<'a>(
    ws: &Workspace,
    files: impl IntoIterator<Item = &'a crate::metadata::FileRecord>,
) -> anyhow::Result<Vec<PathBuf>> {
    let cache = ws.blob_cache()?;
    let mut latest = std::collections::BTreeMap::new();
    for f in files {
        latest.insert(f.path.as_str(), f);
    }
    let mut placed = Vec::new();
    for f in latest.into_values() {
        match cache.size(&f.digest)? {
            Some(_) => placed.push(ws.place_blob(&f.path, &cache, &f.digest)?),
            None => tracing::warn!(
                "`{}` ({}) is not in this workspace's blob cache and is not placed",
                f.path,
                f.digest
            ),
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_sorted_and_deduplicated() {
        let r = |s: &str| crate::reference::parse(s).unwrap();
        let (a, b, c) = (r("quay.io/b/x:1"), r("m:5000/b/x:1"), r("quay.io/a/y:2"));
        let d = r("m:5000/a/y:2");
        let text = mapping_text([(&a, &b), (&c, &d), (&a, &b)].into_iter());
        assert_eq!(
            text,
            "docker://quay.io/a/y:2=docker://m:5000/a/y:2\ndocker://quay.io/b/x:1=docker://m:5000/b/x:1\n"
        );
        assert_eq!(mapping_text(std::iter::empty()), "");
    }
}
