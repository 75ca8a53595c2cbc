//! The content digest: `sha256:` followed by 64 lowercase hex digits.
//!
//! Digests name everything oc-mirror moves: manifests, blobs, metadata
//! documents, cache files and archive entries (`blobs/sha256/<hex>`). A digest
//! is often turned into a file name or a URL path, so a malformed one is not
//! only wrong but dangerous. [`Digest`] is the one home for the concept: the
//! single validation ([`Digest::parse`]) runs where a digest enters the
//! program (a manifest, a registry header, an archive entry name, a metadata
//! document, a plugin's answer), the single computation ([`Digest::of`],
//! [`Digest::from_hasher`]) is where the host hashes content, and everything
//! in between passes a `Digest` that is known to be well formed, so no code
//! slices `&digest[7..]` or re-checks the form.
//!
//! Only sha256 is accepted: it is what registries and oc-mirror use for
//! content, and what the workspace cache and the imageset archive lay out.
//! A `Digest` serializes as its string, byte for byte, and deserializing one
//! validates it, so a document holding a bad digest fails when it is parsed.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const PREFIX: &str = "sha256:";
const HEX_LEN: usize = 64;

/// A well-formed `sha256:<64 lowercase hex>` digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// A string that is not a digest this tool accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a valid digest (expected `sha256:` followed by 64 lowercase hex characters)"
)]
pub struct DigestError {
    /// The refused value, as found.
    pub value: String,
}

fn is_hex(h: &str) -> bool {
    h.len() == HEX_LEN
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`: the one validation of a digest.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        match s.strip_prefix(PREFIX) {
            Some(h) if is_hex(h) => Ok(Digest(s.to_string())),
            _ => Err(DigestError {
                value: s.to_string(),
            }),
        }
    }

    /// The digest whose hex part is `hex` (as in `blobs/sha256/<hex>`).
    pub fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        if is_hex(hex) {
            Ok(Digest(format!("{PREFIX}{hex}")))
        } else {
            Err(DigestError {
                value: format!("{PREFIX}{hex}"),
            })
        }
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_hasher(sha2::Sha256::new_with_prefix(bytes))
    }

    /// The digest of what went through a finished sha256 hasher.
    pub fn from_hasher(hasher: sha2::Sha256) -> Digest {
        use sha2::Digest as _;
        Digest(format!("{PREFIX}{}", hex::encode(hasher.finalize())))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits, without the algorithm (file names, archive paths).
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }

    /// The algorithm: always `sha256`.
    pub fn algorithm(&self) -> &str {
        &PREFIX[..PREFIX.len() - 1]
    }

    /// The digest as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

impl TryFrom<&str> for Digest {
    type Error = DigestError;
    fn try_from(s: &str) -> Result<Digest, DigestError> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Digest, DigestError> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Digest {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Digest> for str {
    fn eq(&self, other: &Digest) -> bool {
        self == other.0
    }
}

impl PartialEq<Digest> for &str {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl PartialEq<Digest> for String {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn parse_accepts_sha256_lowercase_hex() {
        let s = format!("sha256:{}", "0123456789abcdef".repeat(4));
        let d = Digest::parse(&s).unwrap();
        assert_eq!(d.as_str(), s);
        assert_eq!(d.hex(), "0123456789abcdef".repeat(4));
        assert_eq!(d.algorithm(), "sha256");
        assert_eq!(d.to_string(), s);
        assert_eq!(s.parse::<Digest>().unwrap(), d);
        assert_eq!(d, *s.as_str());
        assert_eq!(Digest::from_hex(d.hex()).unwrap(), d);
    }

    #[test]
    fn parse_refuses_everything_else() {
        for bad in [
            String::new(),
            "sha256:".into(),
            "sha256:abc".into(),
            format!("sha256:{}", hex('A')),
            format!("sha256:{}", hex('g')),
            format!("sha256:{}a", hex('a')),
            format!("sha512:{}", "a".repeat(128)),
            format!("md5:{}", hex('a')),
            format!("SHA256:{}", hex('a')),
            format!(" sha256:{}", hex('a')),
            "sha256:../../etc/passwd".into(),
            hex('a'),
        ] {
            let err = Digest::parse(&bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
        assert!(Digest::from_hex("../x").is_err());
    }

    #[test]
    fn of_computes_sha256() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(Digest::from_hasher(h), Digest::of(b"abc"));
    }

    #[test]
    fn serde_is_the_plain_string_and_validates() {
        let d = Digest::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let err = serde_json::from_str::<Digest>("\"sha256:nope\"").unwrap_err();
        assert!(err.to_string().contains("`sha256:nope`"), "{err}");
        // From a reader too (no borrowed strings there).
        let back: Digest = serde_json::from_reader(json.as_bytes()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn borrows_as_str_in_collections() {
        let d = Digest::of(b"x");
        let set: std::collections::HashSet<Digest> = [d.clone()].into();
        assert!(set.contains(d.as_str()));
        let map: std::collections::BTreeMap<Digest, u32> = [(d.clone(), 1)].into();
        assert_eq!(map.get(d.as_str()), Some(&1));
    }
}
