//! Chart archives: a gzip'd tar (or a plain tar) of one directory named
//! after the chart, read into memory with limits, since a chart is small
//! and the templates are read many times.
//!
//! A hostile archive cannot escape or exhaust: paths with `..`, absolute
//! paths and links are dropped, and the number of files and their total size
//! are bounded ([`MAX_FILES`], [`MAX_BYTES`]).

use std::collections::BTreeMap;
use std::io::Read;

use oc_mirror_plugin_sdk::Error;

/// Most files one chart archive (with its subcharts) may hold.
pub const MAX_FILES: usize = 20_000;
/// Most bytes one chart archive may unpack to.
pub const MAX_BYTES: u64 = 256 << 20;

/// The files of an archive, by path relative to its top directory (the
/// chart's), and that top directory's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    /// The top directory (normally the chart's name); empty when the archive
    /// has files at its root.
    pub top: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Whether `bytes` start like gzip.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Unpacks a chart archive (`what` names it in errors).
pub fn unpack(bytes: &[u8], what: &str) -> Result<Files, Error> {
    let bad = |e: std::io::Error| Error::Other(format!("{what}: not a chart archive: {e}"));
    let reader: Box<dyn Read> = if is_gzip(bytes) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut archive = tar::Archive::new(reader);
    let mut raw: Vec<(Vec<String>, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(parts) = clean(&path) else {
            continue;
        };
        total += entry.header().size().map_err(bad)?;
        if total > MAX_BYTES || raw.len() >= MAX_FILES {
            return Err(Error::Other(format!(
                "{what}: the chart holds more than {MAX_FILES} files or {MAX_BYTES} bytes"
            )));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        raw.push((parts, data));
    }
    Ok(rooted(raw))
}

/// Files of a directory given as `(relative path, bytes)` pairs.
pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Vec<u8>)>) -> Files {
    rooted(
        pairs
            .into_iter()
            .filter_map(|(p, d)| Some((clean(&p)?, d)))
            .collect(),
    )
}

/// Strips the common top directory when every file has it.
fn rooted(raw: Vec<(Vec<String>, Vec<u8>)>) -> Files {
    let top = raw
        .first()
        .and_then(|(p, _)| (p.len() > 1).then(|| p[0].clone()));
    let top = top.filter(|t| raw.iter().all(|(p, _)| p.len() > 1 && &p[0] == t));
    let skip = usize::from(top.is_some());
    Files {
        top: top.unwrap_or_default(),
        files: raw
            .into_iter()
            .map(|(p, d)| (p[skip..].join("/"), d))
            .collect(),
    }
}

/// The segments of a relative path without `.`; `None` for `..` or an empty path.
fn clean(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s => out.push(s.to_string()),
        }
    }
    (!out.is_empty()).then_some(out)
}

impl Files {
    /// The files below `dir/` (paths relative to it).
    pub fn under(&self, dir: &str) -> Files {
        let prefix = format!("{dir}/");
        Files {
            top: dir.rsplit('/').next().unwrap_or(dir).to_string(),
            files: self
                .files
                .iter()
                .filter_map(|(p, d)| Some((p.strip_prefix(&prefix)?.to_string(), d.clone())))
                .collect(),
        }
    }

    /// A file as text (lossy).
    pub fn text(&self, path: &str) -> Option<String> {
        self.files
            .get(path)
            .map(|d| String::from_utf8_lossy(d).into_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A gzip'd tar of `files` under `top/`.
    pub(crate) fn tgz(top: &str, files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut h, format!("{top}/{path}"), data.as_bytes())
                .unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn unpacks_under_the_top_directory() {
        let bytes = tgz(
            "demo",
            &[("Chart.yaml", "name: demo"), ("templates/a.yaml", "x")],
        );
        let files = unpack(&bytes, "demo").unwrap();
        assert_eq!(files.top, "demo");
        assert_eq!(
            files.files.keys().collect::<Vec<_>>(),
            ["Chart.yaml", "templates/a.yaml"]
        );
        assert_eq!(files.under("templates").files.len(), 1);
        // Garbage is an error, not a panic.
        let garbage = [0x1f, 0x8b, 1, 2, 3, 4, 5];
        assert!(unpack(&garbage, "x").is_err());
    }

    #[test]
    fn climbing_paths_are_dropped() {
        let files = from_pairs([
            ("demo/Chart.yaml".to_string(), b"a".to_vec()),
            ("demo/../../etc/passwd".to_string(), b"b".to_vec()),
        ]);
        assert_eq!(files.files.keys().collect::<Vec<_>>(), ["Chart.yaml"]);
    }
}
