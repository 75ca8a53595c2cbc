//! The default backend: one file per sequence in a local directory.
//!
//! `DIR/working-dir/metadata/mirror_seq<N>.json` (or `storageConfig.local.path`)
//! holds the canonical bytes of sequence N. A file is written to a temporary
//! name, synced, and then hard-linked to its final name, which fails if the
//! name exists: so a recorded sequence is never overwritten, and of two runs
//! recording the same sequence exactly one wins (the other gets
//! [`BackendError::Conflict`]). Reads go through a `cap_std::fs::Dir`, so the
//! names found in the directory cannot lead outside it. Other files in the
//! directory (temporary files, notes) are ignored.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use super::{
    Backend, BackendError, BackendFuture, MAX_METADATA_SIZE, conflict_or, file_name, headline,
    sequence_of,
};
use crate::metadata::{History, Metadata, MetadataError, Sequence, check_successor};

/// Metadata in a local directory (created on the first record).
#[derive(Debug, Clone)]
pub struct LocalBackend {
    path: PathBuf,
}

/// Makes temporary names unique within this process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalBackend {
    /// A backend in directory `path` (`WS/working-dir/metadata` or
    /// `storageConfig.local.path`). Nothing is touched until it is used.
    pub fn new(path: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { path: path.into() }
    }

    fn io(&self, name: Option<&str>) -> impl Fn(io::Error) -> BackendError + '_ {
        let path = match name {
            Some(n) => self.path.join(n),
            None => self.path.clone(),
        };
        move |source| BackendError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// The directory, or `None` when it does not exist yet.
    fn open_dir(&self) -> Result<Option<Dir>, BackendError> {
        match Dir::open_ambient_dir(&self.path, ambient_authority()) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(None)(e)),
        }
    }

    /// Reads and checks every `mirror_seq<N>.json`.
    fn read(&self) -> Result<Option<History>, BackendError> {
        let Some(dir) = self.open_dir()? else {
            return Ok(None);
        };
        let mut docs = Vec::new();
        for entry in dir.entries().map_err(self.io(None))? {
            let entry = entry.map_err(self.io(None))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(sequence) = sequence_of(name) else {
                continue;
            };
            docs.push(self.read_one(&dir, name, sequence)?);
        }
        if docs.is_empty() {
            return Ok(None);
        }
        History::new(docs)
            .map(Some)
            .map_err(|e| BackendError::Corrupt {
                what: self.describe(),
                reason: headline(&e),
            })
    }

    fn read_one(
        &self,
        dir: &Dir,
        name: &str,
        sequence: Sequence,
    ) -> Result<Metadata, BackendError> {
        let corrupt = |reason: String| BackendError::Corrupt {
            what: format!("`{}`", self.path.join(name).display()),
            reason,
        };
        if name != file_name(sequence) {
            return Err(corrupt(format!(
                "the file of sequence {sequence} must be named `{}`",
                file_name(sequence)
            )));
        }
        let meta = dir.metadata(name).map_err(self.io(Some(name)))?;
        if !meta.is_file() {
            return Err(corrupt("it is not a regular file".into()));
        }
        if meta.len() > MAX_METADATA_SIZE {
            return Err(corrupt(format!(
                "it is {} bytes, more than the {MAX_METADATA_SIZE} a metadata document may have",
                meta.len()
            )));
        }
        let bytes = dir.read(name).map_err(self.io(Some(name)))?;
        let m = match Metadata::from_slice(&bytes) {
            Ok(m) => m,
            Err(e @ MetadataError::UnsupportedVersion { .. }) => return Err(e.into()),
            Err(e) => return Err(corrupt(headline(&e))),
        };
        if m.sequence != sequence {
            return Err(corrupt(format!(
                "it holds sequence {} instead of {sequence}",
                m.sequence
            )));
        }
        Ok(m)
    }

    /// Writes `m` under its final name unless that name exists.
    fn write(&self, m: &Metadata) -> Result<(), BackendError> {
        std::fs::create_dir_all(&self.path).map_err(self.io(None))?;
        let dir = Dir::open_ambient_dir(&self.path, ambient_authority()).map_err(self.io(None))?;
        let name = file_name(m.sequence);
        let tmp = format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let result = self.link_new(&dir, &tmp, &name, &m.to_canonical_bytes());
        // The temporary file is gone after a successful rename, or useless.
        let _ = dir.remove_file(&tmp);
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Another run recorded this sequence between our check and now.
                let expected = self.read()?.map_or(1, |h| h.next_sequence());
                return Err(BackendError::Conflict {
                    backend: self.describe(),
                    expected_sequence: expected,
                    found: m.sequence,
                });
            }
            Err(e) => return Err(self.io(Some(&name))(e)),
        }
        // Make the new name durable too. (cap-std holds directories as
        // `O_PATH` handles, which cannot be synced; open it for reading.)
        std::fs::File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(self.io(None))
    }

    /// Writes `bytes` to `tmp`, syncs it, and gives it the name `name`
    /// without replacing an existing `name` (`AlreadyExists` then).
    fn link_new(&self, dir: &Dir, tmp: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut f = dir.open_with(tmp, OpenOptions::new().write(true).create_new(true))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        crate::crashpoint::hit(name);
        match dir.hard_link(tmp, dir, name) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            // A file system without hard links: check, then rename (a
            // narrower guarantee, but still never over an existing file
            // that was there when we looked).
            Err(_) => {
                if dir.exists(name) {
                    return Err(io::Error::from(io::ErrorKind::AlreadyExists));
                }
                dir.rename(tmp, dir, name)
            }
        }
    }
}

impl Backend for LocalBackend {
    fn history(&self) -> BackendFuture<'_, Option<History>> {
        // Small files: read in place rather than on a blocking thread.
        Box::pin(async move { self.read() })
    }

    fn record<'a>(&'a self, m: &'a Metadata) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let history = self.read()?;
            check_successor(history.as_ref(), m).map_err(|e| conflict_or(self.describe(), e))?;
            self.write(m)
        })
    }

    fn recorded_at(&self, n: Sequence) -> Option<u64> {
        let modified = std::fs::metadata(self.path.join(super::file_name(n)))
            .ok()?
            .modified()
            .ok()?;
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }

    fn describe(&self) -> String {
        format!("`{}`", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first() -> Metadata {
        let mut m = Metadata::first("u-1", json!({"kind": "ImageSetConfiguration"}), 0);
        m.blobs = vec![crate::metadata::BlobRecord {
            digest: crate::digest::Digest::of(b"a"),
            size: 1,
        }];
        m
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn round_trip_and_compare_and_set() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("working-dir/metadata");
        let b = LocalBackend::new(&dir);
        block_on(async {
            assert!(b.history().await.unwrap().is_none());
            let one = first();
            b.record(&one).await.unwrap();
            let bytes = std::fs::read(dir.join("mirror_seq1.json")).unwrap();
            assert_eq!(bytes, one.to_canonical_bytes());

            // Recording 1 again: conflict, file unchanged.
            let err = b.record(&one).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    BackendError::Conflict {
                        expected_sequence: 2,
                        found: 1,
                        ..
                    }
                ),
                "{err}"
            );
            let h = b.history().await.unwrap().unwrap();
            let two = h.successor(json!({}), 7);
            let mut three = two.clone();
            three.sequence = 3;
            three.parent = Some(crate::metadata::Parent {
                sequence: 2,
                digest: two.digest(),
            });
            three.since = Some(2);
            let err = b.record(&three).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    BackendError::Conflict {
                        expected_sequence: 2,
                        found: 3,
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains(&b.describe()), "{err}");

            // Another workspace.
            let mut foreign = two.clone();
            foreign.uuid = "u-2".into();
            assert!(matches!(
                b.record(&foreign).await,
                Err(BackendError::Metadata(MetadataError::UuidMismatch { .. }))
            ));

            b.record(&two).await.unwrap();
            b.record(&three).await.unwrap();
            let h = b.history().await.unwrap().unwrap();
            assert_eq!(h.sequences(), &[one, two, three][..]);
            // Temporary files are cleaned up.
            let names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names.len(), 3, "{names:?}");
        });
    }

    #[test]
    fn a_sequence_written_meanwhile_is_a_conflict() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        let one = first();
        // Another writer got there between the check and the link.
        std::fs::write(
            tmp.path().join("mirror_seq1.json"),
            one.to_canonical_bytes(),
        )
        .unwrap();
        let err = b.write(&one).unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::Conflict {
                    expected_sequence: 2,
                    found: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn corrupt_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        block_on(async {
            b.record(&first()).await.unwrap();
            std::fs::write(tmp.path().join("notes.txt"), "ignored").unwrap();
            assert!(b.history().await.unwrap().is_some());

            let path = tmp.path().join("mirror_seq2.json");
            std::fs::write(&path, "{\"formatVersion\": 1, ").unwrap();
            let err = b.history().await.unwrap_err();
            assert!(matches!(err, BackendError::Corrupt { .. }), "{err}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );

            // A file under the wrong name.
            std::fs::rename(&path, tmp.path().join("mirror_seq02.json")).unwrap();
            let err = b.history().await.unwrap_err();
            assert!(err.to_string().contains("mirror_seq02.json"), "{err}");
            std::fs::remove_file(tmp.path().join("mirror_seq02.json")).unwrap();

            // A newer format is refused as such.
            let mut v: serde_json::Value =
                serde_json::from_slice(&first().to_canonical_bytes()).unwrap();
            v["formatVersion"] = json!(9);
            std::fs::write(tmp.path().join("mirror_seq1.json"), v.to_string()).unwrap();
            let err = b.history().await.unwrap_err();
            assert!(
                matches!(
                    err,
                    BackendError::Metadata(MetadataError::UnsupportedVersion { found: 9, .. })
                ),
                "{err}"
            );
        });
    }
}
