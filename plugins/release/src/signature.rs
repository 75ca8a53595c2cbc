//! Release signatures: fetched from the signature store, verified against the
//! release keys, carried with the imageset as attachments.
//!
//! Red Hat signs each release payload's digest: the store holds
//! `<base>sha256=<hex>/signature-1`, `signature-2`… each a binary OpenPGP
//! signed message wrapping a small JSON document ("atomic container
//! signature") that names the digest. A release is mirrored only if at least
//! one of its signatures verifies against a trusted key and names exactly its
//! digest; every signature that verifies travels with the imageset, for the
//! cluster's signature ConfigMap.

use std::io::Read;

use oc_mirror_plugin_sdk::{Attachment, Error, http};
use pgp::composed::{Deserializable, Message, SignedPublicKey};
use serde::Deserialize;

/// Red Hat's release key 2 (from openshift/cluster-update-keys), trusted unless
/// `OCP_SIGNATURE_VERIFICATION_PK` names other keys.
pub const RED_HAT_RELEASE_KEY: &str = include_str!("../keys/redhat-release-key-2.asc");
/// The media type of a signature attachment.
pub const MEDIA_TYPE: &str = "application/vnd.openshift.release-signature.v1";
/// Signatures tried per release (`signature-1` … `signature-N`).
const MAX_SIGNATURES: u32 = 8;
/// Largest signature accepted.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// Keys signatures are checked against.
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Every key of an armored keyring (one or more public key blocks).
    pub fn from_armored(text: &str, origin: &str) -> Result<Keyring, Error> {
        let bad = |e: String| {
            Error::InvalidConfig(format!(
                "{origin} is not an armored OpenPGP public key: {e}"
            ))
        };
        let (keys, _) = SignedPublicKey::from_string_many(text).map_err(|e| bad(e.to_string()))?;
        let keys = keys
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if keys.is_empty() {
            return Err(bad("it holds no key".into()));
        }
        Ok(Keyring { keys })
    }

    /// Whether `signed` (a binary OpenPGP signed message) verifies against a
    /// key here (its primary key or a subkey); returns the signed content.
    pub fn verify(&self, signed: &[u8]) -> Result<Vec<u8>, String> {
        let message =
            Message::from_bytes(signed).map_err(|e| format!("not an OpenPGP message: {e}"))?;
        let mut message = message
            .decompress()
            .map_err(|e| format!("cannot decompress it: {e}"))?;
        if !message.is_signed() {
            return Err("it is not a signed message".into());
        }
        let content = message
            .as_data_vec()
            .map_err(|e| format!("cannot read its content: {e}"))?;
        for key in &self.keys {
            if message.verify(&key.primary_key).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|s| message.verify(&s.key).is_ok())
            {
                return Ok(content);
            }
        }
        Err("it is not signed by a trusted key".into())
    }
}

#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    #[serde(rename = "type")]
    kind: String,
    image: SignedImage,
    #[serde(default)]
    identity: Option<Identity>,
}

#[derive(Deserialize)]
struct SignedImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference", default)]
    reference: String,
}

/// Checks one signature of the payload `digest`: trusted, and about it.
/// Returns the identity it names (the payload's tagged reference).
pub fn check(keyring: &Keyring, digest: &str, signed: &[u8]) -> Result<String, String> {
    let content = keyring.verify(signed)?;
    let doc: SimpleSigning = serde_json::from_slice(&content)
        .map_err(|e| format!("its content is not a container signature: {e}"))?;
    if doc.critical.kind != "atomic container signature" {
        return Err(format!(
            "it is a `{}`, not an atomic container signature",
            doc.critical.kind
        ));
    }
    if doc.critical.image.digest != digest {
        return Err(format!(
            "it signs {}, not this payload",
            doc.critical.image.digest
        ));
    }
    Ok(doc
        .critical
        .identity
        .map(|i| i.reference)
        .unwrap_or_default())
}

/// Fetches and checks the signatures of the payload `digest` (`sha256:…`)
/// from the store at `base` (ending in `/`). Every signature that verifies
/// becomes an attachment; none verifying refuses the release.
pub fn fetch_verified(
    keyring: &Keyring,
    base: &str,
    digest: &str,
    release: &str,
) -> Result<Vec<Attachment>, Error> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        Error::Other(format!(
            "release {release}: `{digest}` is not a sha256 digest"
        ))
    })?;
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    for n in 1..=MAX_SIGNATURES {
        let url = format!("{base}sha256={hex}/signature-{n}");
        let response = http::get(&url, &[]).map_err(|e| match e {
            Error::Upstream(m) => Error::Upstream(format!(
                "release {release}: the signature store cannot be reached ({url}): {m}\nhint: check the network, or point OCP_SIGNATURE_URL at a store you can reach"
            )),
            other => other,
        })?;
        if response.status == 404 {
            break;
        }
        if response.status != 200 {
            return Err(Error::Upstream(format!(
                "release {release}: the signature store answered {} for {url}",
                response.status
            )));
        }
        let mut bytes = Vec::new();
        response
            .body
            .take(MAX_SIGNATURE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Upstream(format!("reading {url}: {e}")))?;
        if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
            refused.push(format!(
                "signature-{n}: larger than {MAX_SIGNATURE_BYTES} bytes"
            ));
            continue;
        }
        match check(keyring, digest, &bytes) {
            Ok(identity) => {
                oc_mirror_plugin_sdk::log::debug(&format!(
                    "release {release}: signature-{n} verified ({identity})"
                ));
                verified.push(Attachment {
                    name: format!("release-signatures/sha256-{hex}-{n}"),
                    media_type: MEDIA_TYPE.to_string(),
                    data: bytes,
                });
            }
            Err(why) => refused.push(format!("signature-{n}: {why}")),
        }
    }
    if verified.is_empty() {
        let detail = if refused.is_empty() {
            format!("the signature store has no signature for it ({base}sha256={hex}/signature-1)")
        } else {
            refused.join("; ")
        };
        return Err(Error::Other(format!(
            "release {release} ({digest}) is refused: no valid signature: {detail}\nhint: a release is mirrored only with a signature the release key verifies; OCP_SIGNATURE_VERIFICATION_PK names another key file, OCP_SIGNATURE_URL another store"
        )));
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with GnuPG as oc-mirror's own fixtures are (`gpg --sign`, so the
    /// message is compressed), with a throwaway key.
    const GPG_KEY: &str = include_str!("../testdata/gpg-test-key.asc");
    const GPG_SIGNATURE: &[u8] = include_bytes!("../testdata/gpg-signature-1");
    const SIGNED_DIGEST: &str =
        "sha256:4c9ab11f1e2ab4b2b7c2ffcd3f5b4a53fe2f4b5b0ad1d6f3a1d5b0a5f0e1c2d3";

    #[test]
    fn a_gpg_signature_verifies_and_names_its_digest() {
        let keyring = Keyring::from_armored(GPG_KEY, "test key").unwrap();
        let identity = check(&keyring, SIGNED_DIGEST, GPG_SIGNATURE).unwrap();
        assert_eq!(
            identity,
            "quay.io/openshift-release-dev/ocp-release:4.15.1-x86_64"
        );
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(
            check(&keyring, &other, GPG_SIGNATURE)
                .unwrap_err()
                .contains("not this payload")
        );
    }

    #[test]
    fn the_wrong_key_or_a_flipped_byte_is_refused() {
        let red_hat = Keyring::from_armored(RED_HAT_RELEASE_KEY, "embedded key").unwrap();
        assert!(
            check(&red_hat, SIGNED_DIGEST, GPG_SIGNATURE)
                .unwrap_err()
                .contains("not signed by a trusted key")
        );
        let keyring = Keyring::from_armored(GPG_KEY, "test key").unwrap();
        let mut flipped = GPG_SIGNATURE.to_vec();
        let at = flipped.len() / 2;
        flipped[at] ^= 1;
        assert!(check(&keyring, SIGNED_DIGEST, &flipped).is_err());
        assert!(check(&keyring, SIGNED_DIGEST, b"not a signature").is_err());
    }

    #[test]
    fn bad_keys_are_a_configuration_error() {
        assert!(matches!(
            Keyring::from_armored("nope", "OCP_SIGNATURE_VERIFICATION_PK"),
            Err(Error::InvalidConfig(m)) if m.contains("OCP_SIGNATURE_VERIFICATION_PK")
        ));
    }
}
