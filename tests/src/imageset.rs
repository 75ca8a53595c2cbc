//! Imagesets on disk, as oc-mirror writes them (`mirror_seq<N>_<part>.tar`):
//! finding a sequence's parts, carrying them across the gap, and reading
//! what they hold with the system's `tar`, independently of oc-mirror.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The parts `mirror_seq<seq>_*.tar` in `dir`, sorted.
pub fn parts(dir: &Path, seq: u64) -> anyhow::Result<Vec<PathBuf>> {
    let prefix = format!("mirror_seq{seq}_");
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".tar"))
        })
        .collect();
    parts.sort();
    Ok(parts)
}

/// Copies the parts of sequence `seq` from `from` into `to` (created if
/// need be), as a user carries them across the gap; returns their paths in
/// `to` and the bytes copied. No part at all is an error.
pub fn carry(from: &Path, to: &Path, seq: u64) -> anyhow::Result<(Vec<PathBuf>, u64)> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let parts = parts(from, seq)?;
    if parts.is_empty() {
        bail!("no mirror_seq{seq}_*.tar in {}", from.display());
    }
    let mut copied = Vec::new();
    let mut bytes = 0;
    for p in &parts {
        let target = to.join(p.file_name().context("part without a name")?);
        bytes += std::fs::copy(p, &target).with_context(|| format!("copying {}", p.display()))?;
        copied.push(target);
    }
    Ok((copied, bytes))
}

/// `(path, size)` of every entry of a tar file, in order (`tar -tvf`).
pub fn tar_entries(path: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let out = Command::new("tar")
        .arg("-tvf")
        .arg(path)
        .output()
        .context("running tar -tvf")?;
    if !out.status.success() {
        bail!(
            "tar -tvf {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            // -rw-r--r-- 0/0   5243392 1970-01-01 00:00 blobs/sha256/…
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                bail!("tar -tvf {}: cannot read `{line}`", path.display());
            }
            let size = f[2]
                .parse()
                .with_context(|| format!("tar -tvf: size in `{line}`"))?;
            Ok((f[5..].join(" "), size))
        })
        .collect()
}

/// The blobs (`blobs/sha256/…` entries) the parts carry: digest → size.
pub fn archive_blobs(parts: &[PathBuf]) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut blobs = BTreeMap::new();
    for part in parts {
        for (path, size) in tar_entries(part)? {
            if let Some(hex) = path.strip_prefix("blobs/sha256/") {
                blobs.insert(format!("sha256:{hex}"), size);
            }
        }
    }
    Ok(blobs)
}
