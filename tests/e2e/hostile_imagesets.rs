//! Hostile imagesets (issue 13, item 4): a genuine imageset with one part of
//! it crafted by hand — paths that climb out, links, devices, duplicates, head
//! entries of absurd size, metadata that is huge or deeply nested, tar size
//! fields that lie, extension headers. Each is published by the real binary
//! into a real registry and must be refused with exit code 1, a message naming
//! the part and the entry and a `hint:` line, nothing pushed, and the publish
//! process's peak RSS under [`RSS_LIMIT_KIB`].
//!
//! The hostile entries are written here as raw 512-byte ustar headers with
//! their checksum computed here (a tar crate refuses to write most of them).
//! Hostile entries that are not head entries go at the *end* of the archive,
//! after every genuine blob, so that the whole archive has been read (and
//! cached) before the reader meets them: nothing may be pushed even then.

use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use oc_mirror_tests::Registry;
use sha2::{Digest as _, Sha256};

use crate::support::*;

/// Size of a tar block.
const BLOCK: usize = 512;
/// The part every hostile case crafts (the genuine imageset has only this one).
const PART0: &str = "mirror_seq1_000000.tar";
/// Peak RSS allowed to a publish of a hostile imageset, in KiB (200 MB).
const RSS_LIMIT_KIB: u64 = 200_000 * 1000 / 1024;
/// The largest head entry the reader accepts (`oc_mirror::imageset::MAX_HEAD_ENTRY_BYTES`,
/// not exported from the crate).
const MAX_HEAD_ENTRY_BYTES: u64 = 64 << 20;
/// Peak RSS allowed to a publish of metadata as large as the reader's limits
/// allow ([`budget_cases`]), in KiB (300 MB). Measured: about 240 MB at worst
/// (an object of a million keys in `config`, padded to the byte cap): the
/// 64 MiB document itself, held while parsed, plus what serde_json builds of
/// it. Getting under 200 MB needs a smaller byte cap for the metadata
/// (`MAX_HEAD_ENTRY_BYTES`) or a metadata parse that does not build `config`
/// and `plugin_state` as `serde_json::Value`.
const BUDGET_RSS_LIMIT_KIB: u64 = 300_000 * 1000 / 1024;
/// The most JSON values the reader accepts in a head JSON file
/// (`MAX_JSON_ITEMS` of `host/src/imageset/reader.rs`).
const MAX_JSON_ITEMS: u64 = 2_000_000;
/// Entries in the huge metadata.
const TEN_MILLION: u64 = 10_000_000;

/// One tar entry: its raw header and its data.
#[derive(Clone)]
struct Raw {
    header: [u8; BLOCK],
    data: Vec<u8>,
}

impl Raw {
    /// A well-formed regular file.
    fn file(name: &str, data: &[u8]) -> Raw {
        Raw {
            header: header(name, b'0', &octal_size(data.len() as u64)),
            data: data.to_vec(),
        }
    }

    fn name(&self) -> String {
        let end = self.header[..100]
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(100);
        String::from_utf8_lossy(&self.header[..end]).into_owned()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.to_vec();
        out.extend_from_slice(&self.data);
        out.resize(out.len().next_multiple_of(BLOCK), 0);
        out
    }
}

/// A ustar header for `name` of type `typeflag` with the size field exactly
/// `size` (whatever it holds), mode 0644, owner 0:0, and a correct checksum.
fn header(name: &str, typeflag: u8, size: &[u8; 12]) -> [u8; BLOCK] {
    assert!(name.len() <= 100, "{name} is too long for a name field");
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(size);
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[257..265].copy_from_slice(b"ustar\x0000");
    h[329..337].copy_from_slice(b"0000000\0");
    h[337..345].copy_from_slice(b"0000000\0");
    fix_checksum(&mut h);
    h
}

/// Writes the checksum of `h`: the sum of its bytes, the checksum field
/// counted as spaces, as six octal digits, NUL, space.
fn fix_checksum(h: &mut [u8; BLOCK]) {
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// A size field in octal: 11 digits and a NUL.
fn octal_size(n: u64) -> [u8; 12] {
    format!("{n:011o}\0").as_bytes().try_into().unwrap()
}

/// A size field in base-256 (GNU binary): two's complement big-endian, the
/// high bit of the first byte set.
fn base256_size(n: i128) -> [u8; 12] {
    let mut field: [u8; 12] = n.to_be_bytes()[4..].try_into().unwrap();
    field[0] |= 0x80;
    field
}

/// `blobs/sha256/<hex>` of `data`.
fn blob_name(data: &[u8]) -> String {
    format!("blobs/sha256/{}", hex::encode(Sha256::digest(data)))
}

/// The entries of a tar file oc-mirror wrote (octal sizes only).
fn read_tar(path: &Path) -> Vec<Raw> {
    let bytes = fs::read(path).unwrap();
    let mut entries = Vec::new();
    let mut at = 0;
    while at + BLOCK <= bytes.len() && bytes[at..at + BLOCK].iter().any(|&b| b != 0) {
        let header: [u8; BLOCK] = bytes[at..at + BLOCK].try_into().unwrap();
        let size_field = std::str::from_utf8(&header[124..135]).unwrap();
        let size = usize::from_str_radix(size_field, 8).unwrap();
        let data = bytes[at + BLOCK..at + BLOCK + size].to_vec();
        at += BLOCK + size.next_multiple_of(BLOCK);
        entries.push(Raw { header, data });
    }
    entries
}

/// Writes `entries`, then `tail` as is (no end-of-archive marker unless it holds one).
fn write_tar(path: &Path, entries: &[Raw], tail: &[u8]) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    for e in entries {
        out.write_all(&e.bytes()).unwrap();
    }
    out.write_all(tail).unwrap();
    out.flush().unwrap();
}

/// The end-of-archive marker.
const END: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// The genuine part 0: three head entries, then the blobs.
struct Genuine {
    entries: Vec<Raw>,
}

impl Genuine {
    fn head(&self) -> &[Raw] {
        &self.entries[..3]
    }

    fn blobs(&self) -> &[Raw] {
        &self.entries[3..]
    }

    /// Every genuine entry, then `extra`, then the end-of-archive marker.
    fn write_with_tail(&self, part: &Path, extra: &[Raw]) {
        let mut all = self.entries.clone();
        all.extend_from_slice(extra);
        write_tar(part, &all, &END);
    }

    /// Every genuine entry, then the raw bytes `tail` and nothing more: the
    /// part ends where `tail` does.
    fn write_with_raw_tail(&self, part: &Path, tail: &[u8]) {
        write_tar(part, &self.entries, tail);
    }

    /// `oci-layout` and `index.json`, `metadata` as `oc-mirror/metadata.json`,
    /// then the genuine blobs.
    fn write_with_metadata(&self, part: &Path, metadata: &[u8]) {
        let mut all = self.head()[..2].to_vec();
        all.push(Raw::file("oc-mirror/metadata.json", metadata));
        all.extend_from_slice(self.blobs());
        write_tar(part, &all, &END);
    }
}

/// Writes part 0 with the head entry at `slot` (1 or 2) replaced by a header
/// claiming `claimed` bytes, data `prefix` then a hole up to `claimed` (a
/// sparse file: no disk used), then the rest of the genuine entries.
fn write_sparse_head(genuine: &Genuine, part: &Path, slot: usize, claimed: u64, prefix: &[u8]) {
    let name = genuine.entries[slot].name();
    let mut f = File::create(part).unwrap();
    for e in &genuine.head()[..slot] {
        f.write_all(&e.bytes()).unwrap();
    }
    f.write_all(&header(&name, b'0', &octal_size(claimed)))
        .unwrap();
    let data_start = f.stream_position().unwrap();
    f.write_all(prefix).unwrap();
    let data_end = data_start + claimed.next_multiple_of(BLOCK as u64);
    f.set_len(data_end).unwrap();
    f.seek(SeekFrom::Start(data_end)).unwrap();
    let mut out = BufWriter::new(f);
    for e in &genuine.entries[slot + 1..] {
        out.write_all(&e.bytes()).unwrap();
    }
    out.write_all(&END).unwrap();
    out.flush().unwrap();
}

/// One image record of a made-up metadata, `i` making it unique; every record
/// has the same length.
fn image_record(i: u64) -> String {
    format!(
        r#"{{"source":"h/i:{i:08}","destination":"i:{i:08}","digest":"sha256:{}","mediaType":"m","origin":"o","manifests":[],"blobs":[]}}"#,
        "a".repeat(64)
    )
}

/// A metadata document `{"formatVersion":1,"images":[` records `]}` of
/// `count` records, streamed into `out`; returns its length.
fn images_metadata(count: u64, out: &mut dyn Write) -> u64 {
    let open = br#"{"formatVersion":1,"images":["#;
    let close = b"]}";
    out.write_all(open).unwrap();
    for i in 0..count {
        if i > 0 {
            out.write_all(b",").unwrap();
        }
        out.write_all(image_record(i).as_bytes()).unwrap();
    }
    out.write_all(close).unwrap();
    let record = image_record(0).len() as u64;
    open.len() as u64 + count * record + count.saturating_sub(1) + close.len() as u64
}

/// How one publish ended.
struct Outcome {
    run: Run,
    /// Peak RSS of the publish process, KiB (`None` if it could not be measured).
    peak_kib: Option<u64>,
    elapsed: Duration,
}

/// Publishes `dir` into `mirror/PREFIX` as [`Ctx::publish`] does, measuring the
/// process's peak RSS: `/usr/bin/time -f %M` (the child's `ru_maxrss`) when
/// present, else `VmHWM` of `/proc/<pid>/status`, polled.
fn publish_measured(ctx: &Ctx, dir: &Path, mirror: &Registry, prefix: &str) -> Outcome {
    let from = format!("file://{}", dir.display());
    let dest = format!("docker://{}/{prefix}", mirror.host());
    let args = ["--from", &from, &dest, "--dest-tls-verify=false"];
    let time = Path::new("/usr/bin/time");
    let rss_file = dir.with_extension("rss");
    let mut command = if time.is_file() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        c.arg(oc_mirror_bin());
        c
    } else {
        Command::new(oc_mirror_bin())
    };
    command
        .args(args)
        .env("HOME", ctx.dir.path())
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let child = command.spawn().expect("run oc-mirror");
    let polled = if time.is_file() {
        None
    } else {
        let pid = child.id();
        Some(std::thread::spawn(move || {
            let mut peak = None;
            while let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
                let hwm = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                match hwm {
                    Some(kib) => peak = peak.max(Some(kib)),
                    None => break, // a zombie: the memory is gone
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        }))
    };
    let out = child.wait_with_output().expect("wait for oc-mirror");
    let elapsed = started.elapsed();
    let peak_kib = match polled {
        Some(thread) => thread.join().unwrap(),
        None => fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.lines().last()?.trim().parse().ok()),
    };
    Outcome {
        run: Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        peak_kib,
        elapsed,
    }
}

/// A hostile case: writes the crafted part 0 (the genuine parts are already
/// in place) and returns what the error must name besides the part.
type Craft = fn(&Genuine, &Path) -> Vec<String>;

/// A regular file appended after the genuine blobs.
fn tail_file(genuine: &Genuine, part: &Path, name: &str) -> Vec<String> {
    genuine.write_with_tail(part, &[Raw::file(name, b"evil")]);
    vec![format!("`{name}`")]
}

/// An entry of type `typeflag` named like a blob, appended after the genuine blobs.
fn tail_typed(genuine: &Genuine, part: &Path, typeflag: u8, kind: &str) -> Vec<String> {
    let name = blob_name(b"evil");
    let mut h = header(&name, typeflag, &octal_size(0));
    let target = match typeflag {
        b'1' => genuine.blobs()[0].name(),
        _ => "/etc/shadow".to_owned(),
    };
    if matches!(typeflag, b'1' | b'2') {
        h[157..157 + target.len()].copy_from_slice(target.as_bytes());
    }
    if matches!(typeflag, b'3' | b'4') {
        h[329..337].copy_from_slice(b"0000001\0");
        h[337..345].copy_from_slice(b"0000003\0");
    }
    fix_checksum(&mut h);
    genuine.write_with_tail(
        part,
        &[Raw {
            header: h,
            data: Vec::new(),
        }],
    );
    vec![format!("`{name}`"), kind.to_owned()]
}

/// A blob header with size field `size` and a few bytes after it, where the
/// part ends (no end-of-archive marker).
fn tail_sized(genuine: &Genuine, part: &Path, size: [u8; 12]) -> Vec<String> {
    let name = blob_name(b"short");
    let mut tail = header(&name, b'0', &size).to_vec();
    tail.extend_from_slice(b"short");
    genuine.write_with_raw_tail(part, &tail);
    vec![format!("`{name}`")]
}

/// What the reader says of a head JSON file with too many values, too deep.
const TOO_MANY_VALUES: &str = "`oc-mirror/metadata.json` that holds more than 2000000 JSON values";
const TOO_DEEP: &str = "`oc-mirror/metadata.json` that nests arrays and objects more than 100 deep";

/// The hostile cases: each refused with a message naming the part and the
/// entry, and a `hint:` line.
fn cases() -> Vec<(&'static str, Craft)> {
    vec![
        ("dotdot", |g, p| tail_file(g, p, "../evil")),
        ("absolute", |g, p| tail_file(g, p, "/etc/evil")),
        ("blobs-dotdot", |g, p| {
            tail_file(g, p, "blobs/sha256/../../x")
        }),
        ("symlink", |g, p| tail_typed(g, p, b'2', "symbolic link")),
        ("hard-link", |g, p| tail_typed(g, p, b'1', "hard link")),
        ("char-device", |g, p| {
            tail_typed(g, p, b'3', "character device")
        }),
        ("block-device", |g, p| {
            tail_typed(g, p, b'4', "block device")
        }),
        ("fifo", |g, p| tail_typed(g, p, b'6', "FIFO")),
        ("directory", |g, p| {
            let mut h = header("blobs/", b'5', &octal_size(0));
            h[100..108].copy_from_slice(b"0000755\0");
            fix_checksum(&mut h);
            g.write_with_tail(
                p,
                &[Raw {
                    header: h,
                    data: Vec::new(),
                }],
            );
            vec!["`blobs/`".to_owned(), "directory".to_owned()]
        }),
        ("duplicate-blob", |g, p| {
            let again = g.blobs().last().unwrap().clone();
            g.write_with_tail(p, std::slice::from_ref(&again));
            vec![format!("`{}`", again.name()), "already held".to_owned()]
        }),
        ("duplicate-index-in-head", |g, p| {
            let mut all = g.head()[..2].to_vec();
            all.extend_from_slice(&g.entries[1..]);
            write_tar(p, &all, &END);
            vec![
                "`index.json`".to_owned(),
                "metadata.json` belongs".to_owned(),
            ]
        }),
        ("duplicate-index-at-end", |g, p| {
            g.write_with_tail(p, &[g.head()[1].clone()]);
            vec!["`index.json`".to_owned(), "only blobs belong".to_owned()]
        }),
        ("index-json-1gib", |g, p| {
            write_sparse_head(g, p, 1, 1 << 30, b"{\"manifests\":[");
            vec!["`index.json`".to_owned(), "1073741824 bytes".to_owned()]
        }),
        ("metadata-ten-million-images", |g, p| {
            // The first records for real, the rest a hole: the header's claim
            // is the exact length of the ten-million-record document.
            let mut prefix = Vec::new();
            images_metadata(1000, &mut prefix);
            prefix.truncate(prefix.len() - 2);
            let claimed = images_metadata(TEN_MILLION, &mut std::io::sink());
            write_sparse_head(g, p, 2, claimed, &prefix);
            vec![
                "`oc-mirror/metadata.json`".to_owned(),
                format!("{claimed} bytes"),
            ]
        }),
        ("metadata-images-just-under-the-limit", |g, p| {
            let record = image_record(0).len() as u64 + 1;
            let count = (MAX_HEAD_ENTRY_BYTES - 64) / record;
            let mut doc = Vec::new();
            let len = images_metadata(count, &mut doc);
            assert!(len <= MAX_HEAD_ENTRY_BYTES && len == doc.len() as u64);
            g.write_with_metadata(p, &doc);
            vec![TOO_MANY_VALUES.to_owned()]
        }),
        ("metadata-config-of-zeros-just-under-the-limit", |g, p| {
            let mut doc = br#"{"formatVersion":1,"config":[0"#.to_vec();
            while (doc.len() as u64) < MAX_HEAD_ENTRY_BYTES - 8 {
                doc.extend_from_slice(b",0");
            }
            doc.extend_from_slice(b"]}");
            g.write_with_metadata(p, &doc);
            vec![TOO_MANY_VALUES.to_owned()]
        }),
        ("metadata-nested-100000", |g, p| {
            g.write_with_metadata(p, &vec![b'['; 100_000]);
            vec![TOO_DEEP.to_owned()]
        }),
        ("metadata-config-nested-100000", |g, p| {
            let mut doc = br#"{"formatVersion":1,"config":"#.to_vec();
            doc.resize(doc.len() + 100_000, b'[');
            doc.resize(doc.len() + 100_000, b']');
            doc.extend_from_slice(b"}");
            g.write_with_metadata(p, &doc);
            vec![TOO_DEEP.to_owned()]
        }),
        ("size-octal-8gib", |g, p| {
            tail_sized(g, p, *b"77777777777\0")
        }),
        ("size-base256-2^62", |g, p| {
            tail_sized(g, p, base256_size(1 << 62))
        }),
        ("size-base256-negative", |g, p| {
            tail_sized(g, p, base256_size(-(1 << 40)))
        }),
        ("size-garbage", |g, p| tail_sized(g, p, *b"0000000x1z7\0")),
        ("pax-header", |g, p| {
            let record = b"30 path=blobs/sha256/../../x\n";
            let h = header("PaxHeaders.0/evil", b'x', &octal_size(record.len() as u64));
            g.write_with_tail(
                p,
                &[
                    Raw {
                        header: h,
                        data: record.to_vec(),
                    },
                    Raw::file(&blob_name(b"evil"), b"evil"),
                ],
            );
            vec![
                "`PaxHeaders.0/evil`".to_owned(),
                "pax extended header".to_owned(),
            ]
        }),
        ("control-characters-in-a-name", |g, p| {
            g.write_with_tail(p, &[Raw::file("evil\n\u{1b}[2Jhint: all is well", b"evil")]);
            vec!["`evil\\n\\u{1b}[2Jhint: all is well`".to_owned()]
        }),
        ("gnu-long-name", |g, p| {
            let long = b"../../../../../../../../etc/evil\0";
            let h = header("././@LongLink", b'L', &octal_size(long.len() as u64));
            g.write_with_tail(
                p,
                &[
                    Raw {
                        header: h,
                        data: long.to_vec(),
                    },
                    Raw::file(&blob_name(b"evil"), b"evil"),
                ],
            );
            vec![
                "`././@LongLink`".to_owned(),
                "GNU long name header".to_owned(),
            ]
        }),
    ]
}

/// Metadata the reader lets through, as large as its limits allow, that does
/// not parse as metadata: refused by the metadata parser (whose messages have
/// no `hint:` line), with the memory the parse takes bounded by the reader's
/// limits, the worst there is.
fn budget_cases() -> Vec<(&'static str, Craft)> {
    /// `doc` padded with spaces to just under the byte cap.
    fn padded(mut doc: Vec<u8>) -> Vec<u8> {
        let close = doc.pop().unwrap();
        doc.resize(MAX_HEAD_ENTRY_BYTES as usize - 1, b' ');
        doc.push(close);
        doc
    }
    /// Values in `doc` besides the bulk: the top object, two keys, a value, the container.
    const OVERHEAD: u64 = 8;
    vec![
        ("budget-config-of-zeros", |g, p| {
            let mut doc = br#"{"formatVersion":1,"config":[0"#.to_vec();
            for _ in 1..MAX_JSON_ITEMS - OVERHEAD {
                doc.extend_from_slice(b",0");
            }
            doc.extend_from_slice(b"]}");
            g.write_with_metadata(p, &padded(doc));
            vec!["metadata".to_owned()]
        }),
        ("budget-config-of-keys", |g, p| {
            let mut doc = br#"{"formatVersion":1,"config":{"#.to_vec();
            for i in 0..(MAX_JSON_ITEMS - OVERHEAD) / 2 {
                if i > 0 {
                    doc.push(b',');
                }
                write!(doc, "\"{i:07}\":0").unwrap();
            }
            doc.extend_from_slice(b"}}");
            g.write_with_metadata(p, &padded(doc));
            vec!["metadata".to_owned()]
        }),
        ("budget-images", |g, p| {
            let count = (MAX_JSON_ITEMS - OVERHEAD) / 15;
            let mut doc = Vec::new();
            images_metadata(count, &mut doc);
            g.write_with_metadata(p, &padded(doc));
            vec!["metadata".to_owned()]
        }),
        ("budget-digests-at-the-byte-cap", |g, p| {
            let digest = format!("\"sha256:{}\"", "b".repeat(64));
            let mut doc =
                br#"{"formatVersion":1,"images":[{"source":"a","destination":"b","digest":"#
                    .to_vec();
            doc.extend_from_slice(digest.as_bytes());
            doc.extend_from_slice(br#","mediaType":"m","origin":"o","blobs":[],"manifests":["#);
            doc.extend_from_slice(digest.as_bytes());
            while (doc.len() + digest.len() + 1) < MAX_HEAD_ENTRY_BYTES as usize - 8 {
                doc.push(b',');
                doc.extend_from_slice(digest.as_bytes());
            }
            doc.extend_from_slice(b"]}]}");
            g.write_with_metadata(p, &doc);
            vec!["metadata".to_owned()]
        }),
    ]
}

/// A genuine one-part imageset of the standard world, created with the real
/// binary (the source registry is gone once it is made).
struct Setup {
    ctx: Ctx,
    /// Where `create` wrote it: each case carries it from here.
    out: std::path::PathBuf,
    genuine: Genuine,
}

async fn setup() -> Setup {
    let (src, world) = source_with_standard_world().await;
    let ctx = Ctx::new();
    let isc = ctx.isc(&additional_images(&src.host(), &all_references(&world)));
    let out = ctx.path("out");
    ctx.create(&isc, &out, &[]).assert_ok();
    let parts = carry(&out, &ctx.path("genuine"), 1);
    assert_eq!(
        parts.len(),
        1,
        "the cases craft part 0 of a one-part imageset"
    );
    let genuine = Genuine {
        entries: read_tar(&parts[0]),
    };
    assert_eq!(
        genuine
            .head()
            .iter()
            .map(Raw::name)
            .collect::<Vec<String>>(),
        ["oci-layout", "index.json", "oc-mirror/metadata.json"]
    );
    assert!(genuine.blobs().len() > 5);
    Setup { ctx, out, genuine }
}

/// What a case's publish must show besides exit code 1, no panic, the part
/// named and an empty mirror.
#[derive(Clone, Copy)]
struct Expect {
    /// A `hint:` line.
    hint: bool,
    /// Peak RSS under this many KiB.
    rss_limit_kib: u64,
}

/// Carries the genuine imageset into a directory of its own, crafts part 0
/// with `craft`, publishes it and checks it as `expect` says. Returns a
/// summary line and, if it failed, why.
async fn run_case(
    setup: &Setup,
    mirror: &Registry,
    name: &str,
    craft: Craft,
    expect: Expect,
) -> (String, Option<String>) {
    let dir = setup.ctx.path(name);
    carry(&setup.out, &dir, 1);
    let mut needles = craft(&setup.genuine, &dir.join(PART0));
    needles.push(format!("`{PART0}`"));
    if expect.hint {
        needles.push("hint:".to_owned());
    }
    let Outcome {
        run,
        peak_kib,
        elapsed,
    } = publish_measured(&setup.ctx, &dir, mirror, "x");
    let first_line = run.stderr.lines().find(|l| l.starts_with("error:"));
    let summary = format!(
        "{name}: exit {:?}, peak RSS {} KiB, {elapsed:.1?}: {}",
        run.code,
        peak_kib.map_or("?".to_owned(), |k| k.to_string()),
        first_line.unwrap_or("(no error line)")
    );
    let mut problems = Vec::new();
    if run.code != Some(1) {
        problems.push(format!("exit code {:?}, not 1", run.code));
    }
    if run.stderr.contains("panicked") {
        problems.push("it panicked".to_owned());
    }
    if run.stderr.contains('\u{1b}') {
        problems.push("stderr holds an escape character from the archive".to_owned());
    }
    for needle in &needles {
        if !run.stderr.contains(needle.as_str()) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    match peak_kib {
        Some(kib) if kib >= expect.rss_limit_kib => problems.push(format!(
            "peak RSS {kib} KiB, over {} KiB",
            expect.rss_limit_kib
        )),
        Some(_) => {}
        None => problems.push("peak RSS not measured".to_owned()),
    }
    let pushed = mirror.catalog().await.unwrap();
    if !pushed.is_empty() {
        problems.push(format!("the mirror holds {pushed:?}"));
    }
    // The cases are large (the parts, a cache): keep the disk free.
    fs::remove_dir_all(&dir).unwrap();
    let _ = fs::remove_file(dir.with_extension("rss"));
    let failure = (!problems.is_empty()).then(|| {
        format!(
            "{name}: {}\nstdout:\n{}\nstderr:\n{}",
            problems.join("; "),
            run.stdout,
            run.stderr
        )
    });
    (summary, failure)
}

/// Runs every case against one mirror (a case that pushed anything fails the
/// cases after it too) and fails listing every case that failed.
async fn run_cases(cases: Vec<(&'static str, Craft, Expect)>) {
    let setup = setup().await;
    let mirror = plain_registry().await;
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for (name, craft, expect) in cases {
        let (line, failure) = run_case(&setup, &mirror, name, craft, expect).await;
        summary.push(line);
        failures.extend(failure);
    }
    println!("{}", summary.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        summary.len(),
        failures.join("\n\n")
    );
}

/// Every hostile case is refused: exit code 1, no panic, the part and the
/// entry named, a `hint:` line, nothing in the mirror, and peak RSS under
/// 200 MB. Metadata as large as the reader's limits allow is refused too,
/// within [`BUDGET_RSS_LIMIT_KIB`].
#[tokio::test]
async fn hostile_imagesets_are_refused_before_anything_is_pushed() {
    let strict = Expect {
        hint: true,
        rss_limit_kib: RSS_LIMIT_KIB,
    };
    let budget = Expect {
        hint: false,
        rss_limit_kib: BUDGET_RSS_LIMIT_KIB,
    };
    let cases = cases()
        .into_iter()
        .map(|(name, craft)| (name, craft, strict))
        .chain(
            budget_cases()
                .into_iter()
                .map(|(name, craft)| (name, craft, budget)),
        )
        .collect();
    run_cases(cases).await;
}

/// An archive whose tar is well formed but that lacks a blob (a layer, a
/// manifest) its metadata lists as shipped must be refused before anything
/// is pushed, naming the blob.
#[tokio::test]
async fn an_archive_missing_a_listed_blob_is_refused_before_anything_is_pushed() {
    let strict = Expect {
        hint: true,
        rss_limit_kib: RSS_LIMIT_KIB,
    };
    let cases: Vec<(&'static str, Craft)> = vec![
        ("layer-missing", |g, p| {
            let (i, _) = g
                .blobs()
                .iter()
                .enumerate()
                .max_by_key(|(_, b)| b.data.len())
                .unwrap();
            let mut all = g.entries.clone();
            let gone = all.remove(3 + i);
            write_tar(p, &all, &END);
            vec![format!("sha256:{}", &gone.name()["blobs/sha256/".len()..])]
        }),
        ("manifest-missing", |g, p| {
            let meta: serde_json::Value = serde_json::from_slice(&g.head()[2].data).unwrap();
            let m = meta["images"][0]["digest"]
                .as_str()
                .unwrap()
                .strip_prefix("sha256:")
                .unwrap()
                .to_owned();
            let mut all = g.entries.clone();
            all.retain(|e| !e.name().ends_with(&m));
            assert_eq!(all.len() + 1, g.entries.len());
            write_tar(p, &all, &END);
            vec![m]
        }),
    ];
    let genuine = setup().await;
    for (name, craft) in cases {
        // A mirror each: what one pushes must not fail the other.
        let mirror = plain_registry().await;
        let (line, failure) = run_case(&genuine, &mirror, name, craft, strict).await;
        println!("{line}");
        assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }
}

/// The hand-written headers are what GNU tar reads (so the cases are the
/// archives they claim to be), and the huge metadata's length is computed right.
#[test]
fn crafted_headers_are_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("t.tar");
    write_tar(
        &part,
        &[
            Raw::file("a", b"hello"),
            Raw {
                header: {
                    let mut h = header("l", b'2', &octal_size(0));
                    h[157..158].copy_from_slice(b"a");
                    fix_checksum(&mut h);
                    h
                },
                data: Vec::new(),
            },
        ],
        &END,
    );
    assert_eq!(
        tar_entries(&part),
        [("a".to_owned(), 5), ("l -> a".to_owned(), 0)]
    );
    assert_eq!(read_tar(&part)[0].data, b"hello");
    assert_eq!(
        &base256_size(1 << 62)[..],
        &[0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(base256_size(-1), [0xff; 12]);
    let mut doc = Vec::new();
    let len = images_metadata(3, &mut doc);
    assert_eq!(len, doc.len() as u64);
    let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(v["images"].as_array().unwrap().len(), 3);
}
