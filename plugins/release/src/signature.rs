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

use oc_mirror_plugin_sdk::{Attachment, Error, http, openpgp};
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

/// Checks one signature of the payload `digest` (the host verifies it
/// against the armored `keys`): trusted, and about this payload. Returns the
/// identity it names (the payload's tagged reference). A keyring that is not
/// one is an error of its own (the release cannot be judged).
pub fn check(keys: &str, digest: &str, signed: &[u8]) -> Result<Result<String, String>, Error> {
    let content = match openpgp::verify_message(signed, keys) {
        Ok(content) => content,
        Err(Error::Other(why)) => return Ok(Err(why)),
        Err(e) => return Err(e),
    };
    Ok(judge(digest, &content))
}

/// Whether verified signature content is a container signature of `digest`.
fn judge(digest: &str, content: &[u8]) -> Result<String, String> {
    let doc: SimpleSigning = serde_json::from_slice(content)
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
    keys: &str,
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
        let judged = check(keys, digest, &bytes).map_err(|e| match e {
            Error::InvalidConfig(m) => Error::InvalidConfig(format!(
                "the release signing key (OCP_SIGNATURE_VERIFICATION_PK, or the embedded Red Hat key) is unusable: {m}"
            )),
            other => other,
        })?;
        match judged {
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

    const DIGEST: &str = "sha256:4c9ab11f1e2ab4b2b7c2ffcd3f5b4a53fe2f4b5b0ad1d6f3a1d5b0a5f0e1c2d3";

    fn doc(kind: &str, digest: &str) -> Vec<u8> {
        format!(
            r#"{{"critical":{{"image":{{"docker-manifest-digest":"{digest}"}},"type":"{kind}","identity":{{"docker-reference":"q/ocp-release:4.15.1-x86_64"}}}},"optional":{{"creator":"t"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn verified_content_must_sign_this_payload() {
        assert_eq!(
            judge(DIGEST, &doc("atomic container signature", DIGEST)).unwrap(),
            "q/ocp-release:4.15.1-x86_64"
        );
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(
            judge(DIGEST, &doc("atomic container signature", &other))
                .unwrap_err()
                .contains("not this payload")
        );
        assert!(judge(DIGEST, &doc("something else", DIGEST)).is_err());
        assert!(judge(DIGEST, b"not json").is_err());
    }

    #[test]
    fn the_embedded_key_is_an_armored_public_key() {
        assert!(RED_HAT_RELEASE_KEY.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert!(
            RED_HAT_RELEASE_KEY
                .trim_end()
                .ends_with("-----END PGP PUBLIC KEY BLOCK-----")
        );
    }
}
