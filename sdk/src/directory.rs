//! A directory read out of an image, entry by entry.
//!
//! The host hands a directory over as one uncompressed tar stream (names
//! relative to the directory, fixed owners and times). [`Directory`] walks it
//! without holding more than one tar header in memory: each [`DirEntry`] is
//! read through [`std::io::Read`], and whatever is left of it is skipped when
//! the next one is asked for. Only what the host writes is understood: files,
//! directories, symbolic links, and long names (GNU `L` records or PAX `path`).

use std::io::{self, Read};

use crate::Error;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file: read it.
    File,
    /// A directory (its files follow as entries of their own).
    Directory,
    /// A symbolic link, with its target as written in the image.
    Symlink(String),
}

/// The entries of a directory inside an image (see [`crate::registry::open_directory`]).
#[derive(Debug)]
pub struct Directory<R> {
    reader: R,
    /// Bytes of the current entry (and its padding) not yet read.
    unread: u64,
    done: bool,
}

/// One entry; read a file's contents with [`std::io::Read`].
#[derive(Debug)]
pub struct DirEntry<'a, R> {
    /// Path relative to the directory, `/`-separated, e.g. `etcd/catalog.json`.
    pub path: String,
    /// File, directory or link.
    pub kind: EntryKind,
    /// Size of a file's contents in bytes (0 for others).
    pub size: u64,
    left: u64,
    dir: &'a mut Directory<R>,
}

impl<R: Read> Read for DirEntry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.dir.reader.read(&mut buf[..want])?;
        if n == 0 {
            return Err(truncated());
        }
        self.left -= n as u64;
        self.dir.unread -= n as u64;
        Ok(n)
    }
}

impl<R: Read> DirEntry<'_, R> {
    /// The whole contents of a file entry.
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0).min(1 << 20));
        self.read_to_end(&mut out).map_err(io_error)?;
        Ok(out)
    }
}

impl<R: Read> Directory<R> {
    /// Walks a tar stream.
    pub fn new(reader: R) -> Directory<R> {
        Directory {
            reader,
            unread: 0,
            done: false,
        }
    }

    /// The next entry, or `None` at the end. Any part of the previous entry not
    /// read is skipped.
    pub fn next_entry(&mut self) -> Result<Option<DirEntry<'_, R>>, Error> {
        let mut long_name: Option<String> = None;
        loop {
            self.skip_unread().map_err(io_error)?;
            if self.done {
                return Ok(None);
            }
            let mut header = [0u8; 512];
            if !read_block(&mut self.reader, &mut header).map_err(io_error)? {
                self.done = true;
                return Ok(None);
            }
            if header.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            let size = octal(&header[124..136])?;
            self.unread = size.div_ceil(512) * 512;
            let typeflag = header[156];
            match typeflag {
                b'L' => {
                    let bytes = self.take(size)?;
                    long_name = Some(text(&bytes));
                    continue;
                }
                b'x' => {
                    let bytes = self.take(size)?;
                    if let Some(path) = pax_path(&bytes) {
                        long_name = Some(path);
                    }
                    continue;
                }
                _ => {}
            }
            let path = long_name.take().unwrap_or_else(|| {
                let name = text(&header[0..100]);
                let prefix = if &header[257..262] == b"ustar" {
                    text(&header[345..500])
                } else {
                    String::new()
                };
                if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                }
            });
            let path = path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            let kind = match typeflag {
                b'0' | 0 | b'7' => EntryKind::File,
                b'5' => EntryKind::Directory,
                b'2' => EntryKind::Symlink(text(&header[157..257])),
                _ => continue, // not something a plugin reads
            };
            if path.is_empty() {
                continue;
            }
            let size = if kind == EntryKind::File { size } else { 0 };
            return Ok(Some(DirEntry {
                path,
                kind,
                size,
                left: size,
                dir: self,
            }));
        }
    }

    /// Reads a small record (a long name) whole.
    fn take(&mut self, size: u64) -> Result<Vec<u8>, Error> {
        if size > 1 << 20 {
            return Err(Error::Other("a tar name record is over 1 MiB".into()));
        }
        let mut bytes = vec![0u8; size as usize];
        self.reader
            .read_exact(&mut bytes)
            .map_err(|_| io_error(truncated()))?;
        self.unread -= size;
        Ok(bytes)
    }

    fn skip_unread(&mut self) -> io::Result<()> {
        if self.unread > 0 {
            let skipped = io::copy(&mut (&mut self.reader).take(self.unread), &mut io::sink())?;
            if skipped < self.unread {
                return Err(truncated());
            }
            self.unread = 0;
        }
        Ok(())
    }
}

/// Fills a 512-byte block; `false` at a clean end of stream.
fn read_block<R: Read>(reader: &mut R, block: &mut [u8; 512]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        match reader.read(&mut block[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(truncated()),
            n => filled += n,
        }
    }
    Ok(true)
}

fn octal(field: &[u8]) -> Result<u64, Error> {
    let digits = text(field);
    let digits = digits.trim();
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8)
        .map_err(|_| Error::Other(format!("a tar header has a bad size `{digits}`")))
}

/// A NUL-terminated header field as text.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The `path` record of a PAX extended header, if any.
fn pax_path(records: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(records);
    text.lines().find_map(|line| {
        let (_, record) = line.split_once(' ')?;
        record.strip_prefix("path=").map(str::to_string)
    })
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the directory's tar stream ended early",
    )
}

fn io_error(e: io::Error) -> Error {
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(host)) => *host,
        Some(Err(other)) => Error::Other(other.to_string()),
        None => Error::Other("reading a directory failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, typeflag: u8, size: u64, link: &str) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let s = format!("{size:011o}");
        h[124..135].copy_from_slice(s.as_bytes());
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h
    }

    fn entry(out: &mut Vec<u8>, name: &str, typeflag: u8, data: &[u8], link: &str) {
        out.extend_from_slice(&header(name, typeflag, data.len() as u64, link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    #[test]
    fn walks_files_dirs_links_and_long_names() {
        let long = format!("{}/catalog.json", "p".repeat(150));
        let mut tar = Vec::new();
        entry(&mut tar, "a", b'5', b"", "");
        entry(&mut tar, "a/one.json", b'0', b"{\"x\":1}", "");
        entry(&mut tar, "././@LongLink", b'L', long.as_bytes(), "");
        entry(&mut tar, "truncated-name", b'0', b"long", "");
        entry(&mut tar, "skipped-unread", b'0', &[9u8; 1500], "");
        entry(&mut tar, "link", b'2', b"", "a/one.json");
        tar.extend_from_slice(&[0u8; 1024]);

        let mut dir = Directory::new(&tar[..]);
        let mut seen = Vec::new();
        while let Some(mut e) = dir.next_entry().unwrap() {
            let contents = if e.kind == EntryKind::File {
                if e.path == "skipped-unread" {
                    Vec::new()
                } else {
                    e.read_all().unwrap()
                }
            } else {
                Vec::new()
            };
            seen.push((e.path.clone(), e.kind.clone(), contents));
        }
        assert_eq!(seen.len(), 5);
        assert_eq!(seen[0], ("a".into(), EntryKind::Directory, vec![]));
        assert_eq!(seen[1].2, b"{\"x\":1}");
        assert_eq!(seen[2].0, long);
        assert_eq!(seen[2].2, b"long");
        assert_eq!(seen[4].1, EntryKind::Symlink("a/one.json".into()));
    }

    #[test]
    fn a_cut_stream_is_an_error() {
        let mut tar = Vec::new();
        entry(&mut tar, "f", b'0', &[1u8; 2000], "");
        tar.truncate(1000);
        let mut dir = Directory::new(&tar[..]);
        let mut e = dir.next_entry().unwrap().unwrap();
        assert!(e.read_all().is_err());
    }
}
