//! Disk space: what a run will write, checked against what the filesystems
//! have, before it writes anything.
//!
//! A create that fills the disk halfway through wastes the download it has
//! done and leaves the user guessing how much room to make; so create and
//! publish add up what they are about to write (blobs into the cache, parts
//! into the archive directory), group it by filesystem, and refuse at once,
//! naming each path, what it needs and what is free, when it does not fit.
//! The figures are estimates from sizes the manifests and the metadata
//! declare; a filesystem that fills up during the run anyway (another
//! program writing) still fails cleanly, because every file is written under
//! a temporary name and renamed only when whole.

use std::path::{Path, PathBuf};

use indicatif::BinaryBytes;

/// Something a run is about to write.
#[derive(Debug, Clone)]
pub struct Need {
    /// The directory it goes into (it need not exist yet).
    pub path: PathBuf,
    /// Bytes it will add.
    pub bytes: u64,
    /// What it is, for the message: `the blob cache`, `the imageset parts`.
    pub what: &'static str,
}

/// Bytes free to an unprivileged writer on the filesystem holding `path`
/// (or its nearest existing ancestor), and that filesystem's device.
fn free(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let mut at = path;
    while !at.exists() {
        at = at.parent().unwrap_or(Path::new("/"));
    }
    let device = std::fs::metadata(at)?.dev();
    let c_path = std::ffi::CString::new(at.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to
    // writable memory the size of a `statvfs`, which the call fills on success.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // c_ulong is not u64 everywhere
    Ok((
        (stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64),
        device,
    ))
}

/// The filesystems `needs` fall on, each with its needs and free bytes.
fn by_filesystem(needs: &[Need]) -> Vec<(u64, Vec<&Need>)> {
    let mut groups: Vec<(u64, u64, Vec<&Need>)> = Vec::new();
    for need in needs.iter().filter(|n| n.bytes > 0) {
        // A filesystem that cannot be asked is not checked: the writes
        // themselves will say what is wrong.
        let Ok((available, device)) = free(&need.path) else {
            continue;
        };
        match groups.iter_mut().find(|(d, _, _)| *d == device) {
            Some((_, _, members)) => members.push(need),
            None => groups.push((device, available, vec![need])),
        }
    }
    groups.into_iter().map(|(_, a, m)| (a, m)).collect()
}

/// Refuses when what `needs` adds up to does not fit where it goes; logs
/// the figures when it does.
pub fn check(needs: &[Need]) -> anyhow::Result<()> {
    for (available, members) in by_filesystem(needs) {
        let total: u64 = members.iter().map(|n| n.bytes).sum();
        let list = members
            .iter()
            .map(|n| {
                format!(
                    "{} for {} in `{}`",
                    BinaryBytes(n.bytes),
                    n.what,
                    n.path.display()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        if total > available {
            anyhow::bail!(
                "not enough disk space: this run needs about {} ({list}), and that filesystem has {} free\nhint: free at least {} there (or point the run at a bigger filesystem), then run the same command again; nothing was written",
                BinaryBytes(total),
                BinaryBytes(available),
                BinaryBytes(total - available),
            );
        }
        tracing::info!(
            "this run needs about {} on disk ({list}); {} free",
            BinaryBytes(total),
            BinaryBytes(available)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fits_passes_and_what_does_not_names_path_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let small = Need {
            path: dir.path().join("not/yet/made"),
            bytes: 1,
            what: "the blob cache",
        };
        check(std::slice::from_ref(&small)).unwrap();
        let huge = Need {
            bytes: u64::MAX / 4,
            ..small.clone()
        };
        let message = format!("{:#}", check(&[small, huge]).unwrap_err());
        assert!(message.contains("not enough disk space"), "{message}");
        assert!(message.contains("not/yet/made"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }
}
