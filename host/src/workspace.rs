//! The workspace: the one directory a run owns on this machine.
//!
//! Everything a run keeps between runs lives under `DIR/working-dir/` (the name
//! oc-mirror v2 uses, so that `mapping.txt`, `dry-run/` and, later,
//! `cluster-resources/` are where users look for them):
//!
//! ```text
//! working-dir/
//!   workspace.json            format version and the workspace UUID
//!   .lock                     held while a run uses the workspace
//!   cache/blobs-v1/sha256/<hex>    verified blobs, shared by every image
//!   cache/blobs-v1/partial/<hex>   downloads in progress (resumed by the next run)
//!   mapping.txt               source=destination of the last mirror
//!   dry-run/                  what --dry-run would do
//! ```
//!
//! The cache is content-addressed and only ever holds complete, verified blobs:
//! a download goes to `partial/`, is hashed as it streams, and is renamed into
//! `sha256/` only when its digest matches. So an interrupted run, run again,
//! fetches nothing it already has, and resumes what it had half-fetched.
//! All access goes through a `cap_std::fs::Dir`, so no path taken from a
//! manifest can reach outside the workspace. (Bump `blobs-v1` if the cache
//! layout ever changes; old caches are then simply ignored.)

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Name of the directory inside the workspace path, as in oc-mirror v2.
pub const WORKING_DIR: &str = "working-dir";
const WORKSPACE_FILE: &str = "workspace.json";
/// Where the workspace keeps its metadata history, below `working-dir`.
const METADATA_DIR: &str = "metadata";

/// `DIR/working-dir/metadata`: the metadata history of the workspace at
/// `path` (the default backend), without opening (or creating) it.
pub fn metadata_dir(path: &Path) -> PathBuf {
    path.join(WORKING_DIR).join(METADATA_DIR)
}
const CACHE_DIR: &str = "cache/blobs-v1";
/// Version of `workspace.json`; a newer one is refused rather than misread.
const FORMAT_VERSION: u32 = 1;

/// A workspace that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot use workspace `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "workspace `{path}` is in use by another oc-mirror run\nhint: wait for it to finish, or remove `{path}/{WORKING_DIR}/.lock` if no run is active"
    )]
    Locked { path: PathBuf },
    #[error(
        "workspace `{path}` has an unreadable `{WORKSPACE_FILE}`: {reason}\nhint: move the workspace aside and start a new one"
    )]
    Corrupt { path: PathBuf, reason: String },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceFile {
    format_version: u32,
    uuid: String,
}

/// An open, locked workspace.
pub struct Workspace {
    path: PathBuf,
    dir: Dir,
    uuid: String,
    /// Held for the workspace's lifetime; the OS releases it on exit.
    _lock: std::fs::File,
}

impl Workspace {
    /// Opens the workspace at `path`, creating it (with a new UUID) on first use.
    pub fn open(path: &Path) -> Result<Workspace, WorkspaceError> {
        let io_err = |source| WorkspaceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let working = path.join(WORKING_DIR);
        std::fs::create_dir_all(&working).map_err(io_err)?;
        let dir = Dir::open_ambient_dir(&working, ambient_authority()).map_err(io_err)?;

        let lock = dir
            .open_with(
                ".lock",
                OpenOptions::new().create(true).truncate(false).write(true),
            )
            .map_err(io_err)?
            .into_std();
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WorkspaceError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }

        let uuid = match dir.read_to_string(WORKSPACE_FILE) {
            Ok(text) => {
                let file: WorkspaceFile =
                    serde_json::from_str(&text).map_err(|e| WorkspaceError::Corrupt {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
                if file.format_version > FORMAT_VERSION {
                    return Err(WorkspaceError::Corrupt {
                        path: path.to_path_buf(),
                        reason: format!(
                            "format version {} is newer than this oc-mirror understands ({FORMAT_VERSION})",
                            file.format_version
                        ),
                    });
                }
                file.uuid
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let uuid = uuid::Uuid::new_v4().to_string();
                let file = WorkspaceFile {
                    format_version: FORMAT_VERSION,
                    uuid: uuid.clone(),
                };
                let text =
                    serde_json::to_string_pretty(&file).map_err(|e| io_err(io::Error::other(e)))?;
                write_atomic(&dir, WORKSPACE_FILE, text.as_bytes()).map_err(io_err)?;
                uuid
            }
            Err(e) => return Err(io_err(e)),
        };
        dir.create_dir_all(format!("{CACHE_DIR}/sha256"))
            .map_err(io_err)?;
        dir.create_dir_all(format!("{CACHE_DIR}/partial"))
            .map_err(io_err)?;
        Ok(Workspace {
            path: path.to_path_buf(),
            dir,
            uuid,
            _lock: lock,
        })
    }

    /// The path the user gave (the parent of `working-dir`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DIR/working-dir/metadata`: see [`metadata_dir`].
    pub fn metadata_dir(&self) -> PathBuf {
        metadata_dir(&self.path)
    }

    /// `DIR/working-dir`, for messages.
    pub fn working_dir(&self) -> PathBuf {
        self.path.join(WORKING_DIR)
    }

    /// The workspace's UUID, fixed at creation.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Where a cached blob's file is, for code that opens files by path (the
    /// imageset writer).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.working_dir()
            .join(CACHE_DIR)
            .join(BlobCache::complete(digest))
    }

    /// The content-addressed blob cache.
    pub fn blob_cache(&self) -> Result<BlobCache, WorkspaceError> {
        let dir = self
            .dir
            .open_dir(CACHE_DIR)
            .map_err(|source| WorkspaceError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(BlobCache {
            dir,
            path: self.working_dir().join(CACHE_DIR),
        })
    }

    /// Writes a file below `working-dir` atomically (temp file, then rename);
    /// returns its full path.
    pub fn write_file(&self, relative: &str, bytes: &[u8]) -> Result<PathBuf, WorkspaceError> {
        let io_err = |source| WorkspaceError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(parent) = Path::new(relative)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            self.dir.create_dir_all(parent).map_err(io_err)?;
        }
        write_atomic(&self.dir, relative, bytes).map_err(io_err)?;
        Ok(self.working_dir().join(relative))
    }
}

impl Workspace {
    /// Places a copy of a cached blob as a file below `working-dir`
    /// (atomically, streamed, its digest checked on the way); its full path.
    pub fn place_blob(
        &self,
        relative: &str,
        cache: &BlobCache,
        digest: &Digest,
    ) -> Result<PathBuf, WorkspaceError> {
        let io_err = |source| WorkspaceError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(parent) = Path::new(relative)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            self.dir.create_dir_all(parent).map_err(io_err)?;
        }
        let tmp = format!("{relative}.tmp");
        let mut from = cache.open(digest).map_err(io_err)?;
        let mut to = crate::manifest::HashingWriter::new(self.dir.create(&tmp).map_err(io_err)?);
        io::copy(&mut from, &mut to).map_err(io_err)?;
        let (file, got, _) = to.finish();
        file.sync_all().map_err(io_err)?;
        if got != *digest {
            let _ = self.dir.remove_file(&tmp);
            return Err(io_err(io::Error::other(format!(
                "{digest} in the blob cache reads as {got}"
            ))));
        }
        crate::crashpoint::hit(relative);
        self.dir.rename(&tmp, &self.dir, relative).map_err(io_err)?;
        Ok(self.working_dir().join(relative))
    }

    /// Reads a file below `working-dir`, or `None` when there is none.
    pub fn read_file(&self, relative: &str) -> Result<Option<Vec<u8>>, WorkspaceError> {
        match self.dir.read(relative) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WorkspaceError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Writes `name` in `dir` through a temporary file and a rename, so a reader
/// never sees half a file.
fn write_atomic(dir: &Dir, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = format!("{name}.tmp");
    let mut f = dir.create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    crate::crashpoint::hit(name);
    dir.rename(&tmp, dir, name)
}

/// Blobs by digest, complete and verified; downloads in progress beside them.
pub struct BlobCache {
    dir: Dir,
    /// Where `dir` is, for messages.
    path: PathBuf,
}

impl BlobCache {
    /// Another handle on the same cache (for work moved to another thread).
    pub fn try_clone(&self) -> io::Result<BlobCache> {
        Ok(BlobCache {
            dir: self.dir.try_clone()?,
            path: self.path.clone(),
        })
    }

    /// Where the cache is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A digest is a file name here: [`Digest`] guarantees it is only hex.
    fn complete(digest: &Digest) -> String {
        format!("sha256/{}", digest.hex())
    }

    fn partial(digest: &Digest) -> String {
        format!("partial/{}", digest.hex())
    }

    /// The size of a cached blob, or `None` when it is not cached.
    pub fn size(&self, digest: &Digest) -> Result<Option<u64>, WorkspaceError> {
        match self.dir.metadata(Self::complete(digest)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(WorkspaceError::Io {
                path: PathBuf::from(CACHE_DIR),
                source: e,
            }),
        }
    }

    /// Opens a cached blob for reading.
    pub fn open(&self, digest: &Digest) -> io::Result<std::fs::File> {
        let name = Self::complete(digest);
        Ok(self.dir.open(name)?.into_std())
    }

    /// Opens (or creates) the partial download of a blob for appending, with
    /// the number of bytes it already holds.
    pub fn open_partial(&self, digest: &Digest) -> io::Result<(std::fs::File, u64)> {
        let name = Self::partial(digest);
        let f = self.dir.open_with(
            &name,
            OpenOptions::new().create(true).append(true).read(true),
        )?;
        let len = f.metadata()?.len();
        Ok((f.into_std(), len))
    }

    /// How many bytes a partial download of the blob holds (0 when none).
    pub fn partial_len(&self, digest: &Digest) -> u64 {
        self.dir
            .metadata(Self::partial(digest))
            .ok()
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Throws away a partial download (after a digest mismatch).
    pub fn discard_partial(&self, digest: &Digest) -> io::Result<()> {
        let name = Self::partial(digest);
        match self.dir.remove_file(name) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes a cached blob (`oc-mirror delete --force-cache-delete`);
    /// whether it was there.
    pub fn remove(&self, digest: &Digest) -> io::Result<bool> {
        match self.dir.remove_file(Self::complete(digest)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores a blob read from `reader` (an imageset entry), which must end
    /// cleanly at `size` bytes: the imageset reader fails the read instead of
    /// ending it when the bytes do not match the digest. Nothing unverified is
    /// ever committed.
    pub fn store(&self, digest: &Digest, size: u64, reader: &mut dyn io::Read) -> io::Result<()> {
        if matches!(self.size(digest), Ok(Some(s)) if s == size) {
            return Ok(());
        }
        let name = Self::partial(digest);
        let mut f = self.dir.create(&name)?;
        let copied = io::copy(reader, &mut f).and_then(|n| f.sync_data().map(|_| n));
        match copied {
            Ok(n) if n == size => self.commit(digest),
            Ok(n) => {
                let _ = self.discard_partial(digest);
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{digest}: {n} of {size} bytes"),
                ))
            }
            Err(e) => {
                let _ = self.discard_partial(digest);
                Err(e)
            }
        }
    }

    /// Moves a verified partial download into the cache.
    pub fn commit(&self, digest: &Digest) -> io::Result<()> {
        let from = Self::partial(digest);
        let to = Self::complete(digest);
        crate::crashpoint::hit(&to);
        self.dir.rename(from, &self.dir, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Digest {
        Digest::of(b"foo")
    }

    #[test]
    fn uuid_is_kept_across_opens_and_lock_is_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let uuid = {
            let ws = Workspace::open(tmp.path()).unwrap();
            assert!(matches!(
                Workspace::open(tmp.path()),
                Err(WorkspaceError::Locked { .. })
            ));
            ws.uuid().to_string()
        };
        assert_eq!(Workspace::open(tmp.path()).unwrap().uuid(), uuid);
    }

    #[test]
    fn cache_commits_partials() {
        let tmp = tempfile::tempdir().unwrap();
        let d = d();
        let ws = Workspace::open(tmp.path()).unwrap();
        let cache = ws.blob_cache().unwrap();
        assert_eq!(cache.size(&d).unwrap(), None);
        let (mut f, len) = cache.open_partial(&d).unwrap();
        assert_eq!(len, 0);
        f.write_all(b"foo").unwrap();
        assert_eq!(cache.open_partial(&d).unwrap().1, 3);
        assert_eq!(cache.partial_len(&d), 3);
        cache.commit(&d).unwrap();
        assert_eq!(cache.size(&d).unwrap(), Some(3));
        assert_eq!(
            ws.blob_path(&d),
            ws.working_dir()
                .join(CACHE_DIR)
                .join("sha256")
                .join(d.hex())
        );
    }

    #[test]
    fn corrupt_workspace_file_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(WORKING_DIR)).unwrap();
        std::fs::write(tmp.path().join(WORKING_DIR).join(WORKSPACE_FILE), "{").unwrap();
        let err = Workspace::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("unreadable"), "{err}");
    }
}
