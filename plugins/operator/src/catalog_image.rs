//! A catalog image, read and rebuilt through the host.
//!
//! A catalog is pinned by digest first, so that everything read and built
//! in a run comes from one version of it even if its tag moves meanwhile.
//! Its config's `operators.operatorframework.io.index.configs.v1` label
//! names the FBC directory (for a multi-arch catalog the host reads the
//! `linux/amd64` image; every platform carries the same FBC). The directory
//! arrives as a tar stream the plugin walks file by file; each file is read
//! twice, once to build the model ([`fbc::Catalog`]) and once to render what
//! is kept ([`crate::render`]), so no file is ever held whole.
//!
//! The rebuilt catalog gets two layers, as oc-mirror v2 builds it: a
//! whiteout of the source's FBC directory, and the filtered FBC under
//! `/configs`, each file in the format and path it had.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;

use oc_mirror_plugin_sdk::directory::EntryKind;
use oc_mirror_plugin_sdk::images::LayerWriter;
use oc_mirror_plugin_sdk::{Error, ImageReference, images, registry};

use crate::fbc::{self, FileId, Format};
use crate::select::Selection;
use crate::{CatalogConfig, REBUILT_CONFIGS};

/// The label naming a catalog image's FBC directory.
pub const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";
/// The label of a SQLite-based (pre-FBC) catalog image.
pub const DATABASE_LABEL: &str = "operators.operatorframework.io.index.database.v1";
/// The FBC directory when the label is missing.
const DEFAULT_CONFIGS: &str = "/configs";
/// How much of a catalog file is read from the host at a time.
const READ_BUFFER: usize = 64 * 1024;

/// A catalog image, pinned.
#[derive(Debug, Clone)]
pub struct CatalogImage {
    /// As the configuration names it.
    pub configured: String,
    /// What the host reads it by (parsed).
    pub source: ImageReference,
    /// `sha256:…` of its manifest (or index).
    pub digest: String,
    /// Its FBC directory, absolute, without a trailing `/`.
    pub configs_dir: String,
}

impl CatalogImage {
    /// Pins the catalog of `entry` and finds its FBC directory.
    pub fn open(entry: &CatalogConfig) -> Result<CatalogImage, Error> {
        CatalogImage::open_reference(&entry.filter.catalog, entry.local_reference.as_deref())
    }

    /// Pins the catalog `configured` (served by the host as `local` when it
    /// is a local OCI layout) and finds its FBC directory.
    pub fn open_reference(configured: &str, local: Option<&str>) -> Result<CatalogImage, Error> {
        let configured = configured.to_string();
        let reference = match local {
            Some(local) => local.to_string(),
            None if configured.starts_with("oci:") => {
                return Err(Error::InvalidConfig(format!(
                    "catalog {configured}: a local OCI layout must be served by the host"
                )));
            }
            None => configured.clone(),
        };
        let source = ImageReference::parse(&reference)?;
        let manifest = registry::get_manifest(&reference)
            .map_err(|e| in_catalog(&configured, "cannot be read", e))?;
        let mut image = CatalogImage {
            configured,
            source,
            digest: manifest.digest,
            configs_dir: String::new(),
        };
        let labels: BTreeMap<String, String> = images::labels(&image.pinned())
            .map_err(|e| in_catalog(&image.configured, "its config cannot be read", e))?
            .into_iter()
            .collect();
        image.configs_dir = match labels.get(CONFIGS_LABEL) {
            Some(dir) => normalize_dir(dir),
            None if labels.contains_key(DATABASE_LABEL) => {
                return Err(Error::InvalidConfig(format!(
                    "catalog {} is a SQLite-based catalog (label {DATABASE_LABEL}={}), which oc-mirror v2 and this oc-mirror do not read: only File-Based Catalogs are supported\nhint: use the catalog's File-Based version (OpenShift 4.11 and later), or convert it with `opm migrate`",
                    image.configured, labels[DATABASE_LABEL]
                )));
            }
            None => DEFAULT_CONFIGS.into(),
        };
        Ok(image)
    }

    /// `registry/path@digest`: what every read and the build use.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.source.name(), self.digest)
    }

    /// `registry/path:tag@digest` when it has a tag: mirrored whole, it is
    /// pulled by digest and pushed by tag.
    pub fn pinned_with_tag(&self) -> String {
        match &self.source.tag {
            Some(tag) => format!("{}:{tag}@{}", self.source.name(), self.digest),
            None => self.pinned(),
        }
    }

    /// Opens the FBC directory, with an error that says what to check.
    fn directory(
        &self,
    ) -> Result<oc_mirror_plugin_sdk::directory::Directory<registry::FileReader>, Error> {
        registry::open_directory(&self.pinned(), &self.configs_dir).map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!(
                "catalog {}: it has no {} directory (label {CONFIGS_LABEL}); is it an operator catalog image?",
                self.configured, self.configs_dir
            )),
            e => in_catalog(&self.configured, "its FBC cannot be read", e),
        })
    }

    /// Reads the FBC into the model, file by file.
    pub fn read(&self) -> Result<fbc::Catalog, Error> {
        let mut catalog = fbc::Catalog::new();
        let mut dir = self.directory()?;
        let mut files = 0usize;
        while let Some(entry) = dir.next_entry()? {
            let Some(format) = fbc_file(&entry.kind, &entry.path) else {
                continue;
            };
            let path = entry.path.clone();
            catalog
                .add_file(&path, BufReader::with_capacity(READ_BUFFER, entry), format)
                .map_err(|e| Error::InvalidConfig(format!("catalog {}: {e}", self.configured)))?;
            files += 1;
        }
        if files == 0 {
            return Err(Error::InvalidConfig(format!(
                "catalog {}: {} holds no FBC files (.json, .yaml)",
                self.configured, self.configs_dir
            )));
        }
        Ok(catalog)
    }

    /// Writes the two layers of the rebuilt catalog (the whiteout, then the
    /// filtered FBC under `/configs`); their ids.
    pub fn render(
        &self,
        catalog: &fbc::Catalog,
        selection: &Selection,
    ) -> Result<Vec<String>, Error> {
        let mut whiteout = LayerWriter::new();
        let mut dirs = BTreeSet::new();
        let source_dir = self.configs_dir.trim_start_matches('/');
        let (parent, name) = match source_dir.rsplit_once('/') {
            Some((parent, name)) => (Some(parent), name),
            None => (None, source_dir),
        };
        let whiteout_path = match parent {
            Some(parent) => {
                whiteout.add_directories(parent, &mut dirs)?;
                format!("{parent}/.wh.{name}")
            }
            None => format!(".wh.{name}"),
        };
        whiteout.add_file(&whiteout_path)?.close()?;
        let whiteout = whiteout.finish()?;

        let target = REBUILT_CONFIGS.trim_start_matches('/');
        let mut layer = LayerWriter::new();
        let mut dirs = BTreeSet::new();
        layer.add_directories(target, &mut dirs)?;
        let mut dir = self.directory()?;
        let mut file = 0usize;
        while let Some(entry) = dir.next_entry()? {
            let Some(format) = fbc_file(&entry.kind, &entry.path) else {
                continue;
            };
            let id = FileId(file);
            file += 1;
            if !crate::render::keeps_any(catalog, selection, id) {
                continue;
            }
            let path = format!("{target}/{}", entry.path);
            if let Some((parent, _)) = path.rsplit_once('/') {
                layer.add_directories(parent, &mut dirs)?;
            }
            let mut out = layer.add_file(&path)?;
            crate::render::render_file(
                catalog,
                selection,
                id,
                BufReader::with_capacity(READ_BUFFER, entry),
                format,
                &mut out,
            )
            .map_err(|e| {
                Error::Other(format!(
                    "catalog {}: rendering {path}: {e}",
                    self.configured
                ))
            })?;
            out.close()?;
        }
        Ok(vec![whiteout, layer.finish()?])
    }
}

/// The format of a directory entry that is an FBC file, or `None`.
fn fbc_file(kind: &EntryKind, path: &str) -> Option<Format> {
    match kind {
        EntryKind::File => Format::from_path(path),
        _ => None,
    }
}

/// `/configs/` → `/configs`; `configs` → `/configs`.
fn normalize_dir(dir: &str) -> String {
    let trimmed = dir.trim().trim_matches('/');
    format!("/{trimmed}")
}

/// An error from the host, said about a catalog.
fn in_catalog(catalog: &str, what: &str, e: Error) -> Error {
    let say = |m: String| format!("catalog {catalog} {what}: {m}");
    match e {
        Error::InvalidConfig(m) => Error::InvalidConfig(say(m)),
        Error::NotFound(m) => Error::NotFound(say(m)),
        Error::Denied(m) => Error::Denied(m),
        Error::Upstream(m) => Error::Upstream(say(m)),
        Error::Other(m) => Error::Other(say(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_directories_are_normalized() {
        assert_eq!(normalize_dir("/configs/"), "/configs");
        assert_eq!(normalize_dir("configs"), "/configs");
        assert_eq!(normalize_dir("/var/lib/catalog"), "/var/lib/catalog");
    }

    #[test]
    fn only_fbc_files_are_read() {
        assert_eq!(
            fbc_file(&EntryKind::File, "a/catalog.json"),
            Some(Format::Json)
        );
        assert_eq!(
            fbc_file(&EntryKind::File, "a/index.yml"),
            Some(Format::Yaml)
        );
        assert_eq!(fbc_file(&EntryKind::File, ".indexignore"), None);
        assert_eq!(fbc_file(&EntryKind::Directory, "a.json"), None);
    }
}
