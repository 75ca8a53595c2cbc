//! The ustar subset an imageset uses: headers written and parsed by hand.
//!
//! Written by hand rather than through a tar crate so that every byte is ours
//! to fix (determinism) and every field a hostile archive controls is checked
//! before it is trusted (reading). Only regular files are written; the parser
//! recognises the other entry types only to name them in an error.
//!
//! A header is one 512-byte block (POSIX.1-1988 "ustar"):
//!
//! ```text
//! offset  size  field
//!      0   100  name          NUL-terminated unless exactly 100 bytes
//!    100     8  mode          octal, "0000644\0"
//!    108     8  uid, gid      octal, "0000000\0"
//!    124    12  size          octal (11 digits + NUL), or base-256 above 8 GiB - 1
//!    136    12  mtime         octal (11 digits + NUL)
//!    148     8  checksum      6 octal digits, NUL, space; summed with this field as spaces
//!    156     1  typeflag      '0' regular file
//!    157   100  linkname      empty
//!    257     8  magic+version "ustar\0" "00"
//!    265    64  uname, gname  empty
//!    329    16  devmajor/minor octal zeros
//!    345   155  prefix        joined to name with '/' (never written by us)
//! ```

/// Size of a tar block: headers and data padding are counted in blocks.
pub(crate) const BLOCK: usize = 512;
/// [`BLOCK`] as a byte count.
pub(crate) const BLOCK_BYTES: u64 = BLOCK as u64;
/// Two zero blocks close an archive.
pub(crate) const END_OF_ARCHIVE_BYTES: u64 = 2 * BLOCK_BYTES;
/// Longest name the `name` field holds without the `prefix` field. Every path
/// an imageset holds is shorter (the longest, a blob, is 77 bytes).
pub(crate) const NAME_LEN: usize = 100;
/// Largest value of a 12-byte octal field: 11 octal digits.
pub(crate) const MAX_OCTAL_11: u64 = 0o777_7777_7777;

const MODE: &[u8; 8] = b"0000644\0";
const ZERO_ID: &[u8; 8] = b"0000000\0";
const USTAR_MAGIC: &[u8; 8] = b"ustar\x0000";
const GNU_MAGIC: &[u8; 8] = b"ustar  \0";

/// Bytes an entry of `size` data bytes takes: its header plus data padded to a
/// block. `None` if that overflows `u64`.
pub(crate) fn entry_bytes(size: u64) -> Option<u64> {
    size.checked_next_multiple_of(BLOCK_BYTES)?
        .checked_add(BLOCK_BYTES)
}

/// Zero bytes after `size` data bytes to reach the next block boundary.
pub(crate) fn padding(size: u64) -> usize {
    // Always below 512, so the cast is lossless.
    ((BLOCK_BYTES - size % BLOCK_BYTES) % BLOCK_BYTES) as usize
}

/// Why a header cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// The name is empty, longer than [`NAME_LEN`] or holds a NUL.
    Name,
    /// The mtime is above [`MAX_OCTAL_11`].
    Mtime,
}

/// The header of a regular file `path` of `size` bytes, mode 0644, owner 0:0,
/// modified at `mtime` (seconds since the epoch).
pub(crate) fn encode_header(path: &str, size: u64, mtime: u64) -> Result<[u8; BLOCK], EncodeError> {
    let name = path.as_bytes();
    if name.is_empty() || name.len() > NAME_LEN || name.contains(&0) {
        return Err(EncodeError::Name);
    }
    if mtime > MAX_OCTAL_11 {
        return Err(EncodeError::Mtime);
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(MODE);
    h[108..116].copy_from_slice(ZERO_ID);
    h[116..124].copy_from_slice(ZERO_ID);
    encode_size(&mut h[124..136], size);
    write_octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..265].copy_from_slice(USTAR_MAGIC);
    h[329..337].copy_from_slice(ZERO_ID);
    h[337..345].copy_from_slice(ZERO_ID);
    let sum = checksum(&h);
    // Six octal digits, NUL, space: the layout GNU tar and Go's archive/tar write.
    write_octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    Ok(h)
}

/// `value` as zero-padded octal digits filling all but the last byte of
/// `field`, which is NUL. The caller keeps `value` in range.
fn write_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let mut v = value;
    for i in (0..digits).rev() {
        field[i] = b'0' + (v & 7) as u8;
        v >>= 3;
    }
    field[digits] = 0;
}

/// The size field: octal when it fits, otherwise the base-256 form (first
/// byte 0x80, then the value big-endian) that GNU tar, bsdtar and Go's
/// archive/tar all read, so that a blob above 8 GiB still round-trips.
fn encode_size(field: &mut [u8], size: u64) {
    if size <= MAX_OCTAL_11 {
        write_octal(field, size);
    } else {
        field.fill(0);
        field[0] = 0x80;
        let bytes = size.to_be_bytes();
        let start = field.len() - bytes.len();
        field[start..].copy_from_slice(&bytes);
    }
}

/// The header checksum: the unsigned sum of all bytes, the checksum field
/// counted as eight spaces.
fn checksum(h: &[u8; BLOCK]) -> u32 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum()
}

/// A parsed header of a regular file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// `prefix/name`, or `name` when the prefix is empty.
    pub path: String,
    pub size: u64,
}

/// What a header turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A regular file.
    File(Header),
    /// Anything else; `kind` names it for the user ("symbolic link").
    Other { path: String, kind: String },
}

/// Parses a header block that is not all zeros. The error is a reason for the
/// user: bad checksum, unknown magic, a number that is not a number.
pub(crate) fn parse_header(h: &[u8; BLOCK]) -> Result<Parsed, String> {
    let stored = parse_octal(&h[148..156]).ok_or("its checksum field is not an octal number")?;
    let computed = u64::from(checksum(h));
    if stored != computed {
        return Err(format!(
            "its checksum is {stored:o} but its bytes sum to {computed:o}"
        ));
    }
    let magic = &h[257..265];
    if magic == GNU_MAGIC {
        return Err("it is a GNU tar header, a format oc-mirror never writes".to_owned());
    }
    if magic != USTAR_MAGIC {
        return Err("it is not a POSIX ustar header".to_owned());
    }
    let name = c_string(&h[..100]);
    let prefix = c_string(&h[345..500]);
    let mut path = Vec::with_capacity(prefix.len() + 1 + name.len());
    if !prefix.is_empty() {
        path.extend_from_slice(prefix);
        path.push(b'/');
    }
    path.extend_from_slice(name);
    let path = String::from_utf8(path).map_err(|_| "its name is not UTF-8".to_owned())?;
    let kind = match h[156] {
        b'0' | 0 => None,
        b'1' => Some("hard link".to_owned()),
        b'2' => Some("symbolic link".to_owned()),
        b'3' => Some("character device".to_owned()),
        b'4' => Some("block device".to_owned()),
        b'5' => Some("directory".to_owned()),
        b'6' => Some("FIFO".to_owned()),
        b'7' => Some("contiguous file".to_owned()),
        b'x' => Some("pax extended header".to_owned()),
        b'g' => Some("pax global header".to_owned()),
        b'L' => Some("GNU long name header".to_owned()),
        b'K' => Some("GNU long link name header".to_owned()),
        other => Some(format!("entry of unknown type {:?}", char::from(other))),
    };
    if let Some(kind) = kind {
        return Ok(Parsed::Other { path, kind });
    }
    let size = parse_size(&h[124..136])
        .ok_or_else(|| format!("the size field of `{}` is not a number", shown(&path)))?;
    Ok(Parsed::File(Header { path, size }))
}

/// `path` as an error message may show it: control characters (a newline, an
/// escape sequence a hostile archive put in a name) escaped, the rest as is.
pub(crate) fn shown(path: &str) -> String {
    if !path.chars().any(char::is_control) {
        return path.to_owned();
    }
    path.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The bytes of a NUL-terminated field, or all of it when it has no NUL.
fn c_string(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&b| b == 0)
        .map_or(field, |end| &field[..end])
}

/// An octal number, optionally led by spaces and ended by NULs or spaces.
/// An empty field is not a number.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|&b| b != b' ')?;
    let field = &field[start..];
    let end = field
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(field.len());
    let (digits, rest) = field.split_at(end);
    if digits.is_empty() || rest.iter().any(|&b| b != 0 && b != b' ') {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        acc.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// The size field: octal, or base-256 when its first byte has the high bit set
/// (a negative base-256 value, first byte 0xff, is refused).
fn parse_size(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            if first & 0x40 != 0 {
                return None;
            }
            field[1..]
                .iter()
                .try_fold(u64::from(first & 0x3f), |acc, &b| {
                    acc.checked_mul(256)?.checked_add(u64::from(b))
                })
        }
        _ => parse_octal(field),
    }
}

/// Recomputes the checksum of a header a test edited.
#[cfg(test)]
pub(crate) fn fix_checksum(h: &mut [u8; BLOCK]) {
    let sum = checksum(h);
    write_octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_exact() {
        let h = encode_header("blobs/sha256/ab", 1234, 1_700_000_000).unwrap();
        assert_eq!(&h[..15], b"blobs/sha256/ab");
        assert!(h[15..100].iter().all(|&b| b == 0));
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000002322\0");
        assert_eq!(&h[136..148], b"14524770400\0");
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(h[155], b' ');
        assert_eq!(
            parse_header(&h).unwrap(),
            Parsed::File(Header {
                path: "blobs/sha256/ab".to_owned(),
                size: 1234
            })
        );
    }

    #[test]
    fn sizes_above_8_gib_use_base_256() {
        for size in [MAX_OCTAL_11, MAX_OCTAL_11 + 1, 20 << 30, u64::MAX >> 2] {
            let h = encode_header("x", size, 0).unwrap();
            assert_eq!(h[124] & 0x80 != 0, size > MAX_OCTAL_11);
            let Parsed::File(parsed) = parse_header(&h).unwrap() else {
                panic!("not a file")
            };
            assert_eq!(parsed.size, size);
        }
    }

    #[test]
    fn names_and_mtimes_out_of_range_are_refused() {
        assert_eq!(encode_header("", 0, 0), Err(EncodeError::Name));
        assert_eq!(
            encode_header(&"a".repeat(101), 0, 0),
            Err(EncodeError::Name)
        );
        assert!(encode_header(&"a".repeat(100), 0, 0).is_ok());
        assert_eq!(encode_header("a\0b", 0, 0), Err(EncodeError::Name));
        assert_eq!(
            encode_header("a", 0, MAX_OCTAL_11 + 1),
            Err(EncodeError::Mtime)
        );
    }

    #[test]
    fn a_100_byte_name_has_no_nul() {
        let name = "n".repeat(100);
        let h = encode_header(&name, 0, 0).unwrap();
        let Parsed::File(parsed) = parse_header(&h).unwrap() else {
            panic!("not a file")
        };
        assert_eq!(parsed.path, name);
    }

    #[test]
    fn damaged_and_foreign_headers_are_named() {
        let good = encode_header("index.json", 10, 0).unwrap();
        let mut bad = good;
        bad[0] ^= 1;
        assert!(parse_header(&bad).unwrap_err().contains("checksum"));

        let mut link = good;
        link[156] = b'2';
        fix_checksum(&mut link);
        assert_eq!(
            parse_header(&link).unwrap(),
            Parsed::Other {
                path: "index.json".to_owned(),
                kind: "symbolic link".to_owned()
            }
        );

        let mut gnu = good;
        gnu[257..265].copy_from_slice(GNU_MAGIC);
        fix_checksum(&mut gnu);
        assert!(parse_header(&gnu).unwrap_err().contains("GNU"));

        let mut prefixed = good;
        prefixed[345..348].copy_from_slice(b"abc");
        fix_checksum(&mut prefixed);
        assert!(matches!(
            parse_header(&prefixed).unwrap(),
            Parsed::File(Header { path, .. }) if path == "abc/index.json"
        ));

        let mut nonsense_size = good;
        nonsense_size[124..136].copy_from_slice(b"0000000009x\0");
        fix_checksum(&mut nonsense_size);
        assert_eq!(
            parse_header(&nonsense_size).unwrap_err(),
            "the size field of `index.json` is not a number"
        );
    }

    /// Absurd size fields: the largest octal, base-256 up to 2^62 and beyond
    /// what a u64 holds, negative base-256, garbage. Each is a number the
    /// reader then checks against the part, or an error naming the entry.
    #[test]
    fn absurd_size_fields() {
        let with_size = |field: &[u8; 12]| {
            let mut h = encode_header("blobs/x", 0, 0).unwrap();
            h[124..136].copy_from_slice(field);
            fix_checksum(&mut h);
            parse_header(&h)
        };
        let size_of = |field: &[u8; 12]| match with_size(field) {
            Ok(Parsed::File(h)) => Ok(h.size),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(size_of(b"77777777777\0"), Ok(MAX_OCTAL_11));
        assert_eq!(size_of(b"777777777777"), Ok(0o7777_7777_7777));
        let mut two_62 = [0u8; 12];
        two_62[0] = 0x80;
        two_62[4] = 0x40;
        assert_eq!(size_of(&two_62), Ok(1 << 62));
        // Above u64: 2^64 in base-256.
        let mut too_big = [0u8; 12];
        too_big[0] = 0x80;
        too_big[3] = 1;
        let negative = [0xffu8; 12];
        for field in [
            &too_big,
            &negative,
            b"0000000x1z7\0",
            b"           \0",
            b"-0000000001\0",
        ] {
            assert_eq!(
                size_of(field),
                Err("the size field of `blobs/x` is not a number".to_owned()),
                "{field:?}"
            );
        }
    }

    #[test]
    fn control_characters_in_names_are_escaped_for_messages() {
        assert_eq!(shown("blobs/sha256/ab"), "blobs/sha256/ab");
        assert_eq!(shown("a\nhint: b\u{1b}[31m"), "a\\nhint: b\\u{1b}[31m");
        let mut h = encode_header("evil\n", 0, 0).unwrap();
        h[124..136].copy_from_slice(b"zzzzzzzzzzz\0");
        fix_checksum(&mut h);
        assert_eq!(
            parse_header(&h).unwrap_err(),
            "the size field of `evil\\n` is not a number"
        );
    }

    #[test]
    fn padding_and_entry_bytes() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(entry_bytes(0), Some(512));
        assert_eq!(entry_bytes(1), Some(1024));
        assert_eq!(entry_bytes(512), Some(1024));
        assert_eq!(entry_bytes(u64::MAX), None);
    }
}
