//! Throwaway OpenPGP release signing, the way Red Hat signs releases.
//!
//! oc-mirror mirrors a release only when the signature store holds a
//! signature of its payload digest that a trusted key verifies. Tests cannot
//! use Red Hat's key, so they trust a throwaway one instead
//! (`OCP_SIGNATURE_VERIFICATION_PK` names a file with
//! [`ReleaseSigner::public_key_armored`]) and serve signatures made with
//! [`ReleaseSigner::sign_release`] from the local
//! [`crate::CincinnatiServer`].
//!
//! A release signature is a binary OpenPGP *signed message* (one-pass
//! signature, literal data, signature packets; optionally compressed), not a
//! detached signature, wrapping the "atomic container signature" JSON that
//! names the payload digest and its tagged reference ([`release_document`]).
//!
//! Everything is deterministic: the key is an Ed25519 primary key (which
//! also signs) generated from a seeded ChaCha20 RNG with a fixed creation
//! time, and signatures carry a fixed creation time, so the same seed, digest
//! and reference always give the same bytes.

use pgp::composed::{
    ArmorOptions, EncryptionCaps, KeyType, MessageBuilder, SecretKeyParamsBuilder, SignedPublicKey,
    SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Subpacket, SubpacketData};
use pgp::types::{CompressionAlgorithm, KeyDetails as _, Password, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng as _;

/// The seed of [`ReleaseSigner::new`].
pub const DEFAULT_SEED: u64 = 0x0c_5157_2024;
/// Creation time of keys and signatures (2024-01-01T00:00:00Z).
const CREATED_AT: u32 = 1_704_067_200;
/// `optional.creator` of the signed documents.
pub const CREATOR: &str = "oc-mirror tests";

/// A throwaway signing key.
pub struct ReleaseSigner {
    key: SignedSecretKey,
    seed: u64,
}

impl Default for ReleaseSigner {
    fn default() -> Self {
        ReleaseSigner::new()
    }
}

impl std::fmt::Debug for ReleaseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseSigner")
            .field("seed", &self.seed)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl ReleaseSigner {
    /// The key of [`DEFAULT_SEED`] (the same key every run).
    pub fn new() -> ReleaseSigner {
        ReleaseSigner::with_seed(DEFAULT_SEED)
    }

    /// The key generated from `seed`: another seed is another key (e.g. an
    /// untrusted signer).
    pub fn with_seed(seed: u64) -> ReleaseSigner {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .created_at(Timestamp::from_secs(CREATED_AT))
            .primary_user_id(format!(
                "oc-mirror tests release key {seed} <tests@oc-mirror.invalid>"
            ))
            .build()
            .expect("release key parameters");
        let key = params.generate(&mut rng).expect("generating a release key");
        ReleaseSigner { key, seed }
    }

    /// The public key, ASCII-armored (what `OCP_SIGNATURE_VERIFICATION_PK`
    /// names a file of).
    pub fn public_key_armored(&self) -> String {
        self.public_key()
            .to_armored_string(ArmorOptions::default())
            .expect("armoring the public key")
    }

    /// The public key.
    pub fn public_key(&self) -> SignedPublicKey {
        self.key.to_public_key()
    }

    /// The key's fingerprint, hex.
    pub fn fingerprint(&self) -> String {
        self.key.primary_key.fingerprint().to_string()
    }

    /// The signature of release payload `digest` (`sha256:…`) as published
    /// under `docker_reference` (`<repo>:<version>-<arch>`): an uncompressed
    /// signed message over [`release_document`].
    pub fn sign_release(&self, digest: &str, docker_reference: &str) -> Vec<u8> {
        self.sign_bytes(release_document(digest, docker_reference).as_bytes())
    }

    /// The same as [`ReleaseSigner::sign_release`], compressed (ZLIB), as
    /// `gpg --sign` writes it.
    pub fn sign_release_compressed(&self, digest: &str, docker_reference: &str) -> Vec<u8> {
        self.sign_bytes_compressed(release_document(digest, docker_reference).as_bytes())
    }

    /// An uncompressed OpenPGP signed message over `content`.
    pub fn sign_bytes(&self, content: &[u8]) -> Vec<u8> {
        self.sign(content, None)
    }

    /// A ZLIB-compressed OpenPGP signed message over `content`.
    pub fn sign_bytes_compressed(&self, content: &[u8]) -> Vec<u8> {
        self.sign(content, Some(CompressionAlgorithm::ZLIB))
    }

    fn sign(&self, content: &[u8], compression: Option<CompressionAlgorithm>) -> Vec<u8> {
        let signer = &self.key.primary_key;
        let hashed = vec![
            Subpacket::regular(SubpacketData::IssuerFingerprint(signer.fingerprint()))
                .expect("issuer subpacket"),
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                CREATED_AT,
            )))
            .expect("creation time subpacket"),
        ];
        let unhashed = vec![
            Subpacket::regular(SubpacketData::IssuerKeyId(signer.legacy_key_id()))
                .expect("issuer key id subpacket"),
        ];
        let mut builder = MessageBuilder::from_bytes("", content.to_vec());
        if let Some(algorithm) = compression {
            builder.compression(algorithm);
        }
        builder.sign_with_subpackets(
            signer,
            Password::empty(),
            HashAlgorithm::Sha256,
            SubpacketConfig::UserDefined { hashed, unhashed },
        );
        // Ed25519 signing draws no randomness; the RNG is only a formality.
        builder
            .to_vec(ChaCha20Rng::seed_from_u64(self.seed))
            .expect("signing")
    }
}

/// The "atomic container signature" JSON Red Hat signs for a release
/// payload `digest` published as `docker_reference`.
pub fn release_document(digest: &str, docker_reference: &str) -> String {
    serde_json::json!({
        "critical": {
            "image": {"docker-manifest-digest": digest},
            "type": "atomic container signature",
            "identity": {"docker-reference": docker_reference},
        },
        "optional": {"creator": CREATOR},
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::composed::{Deserializable as _, Message};

    /// Verifies `signed` exactly as the release plugin does; returns the content.
    fn verify(armored_key: &str, signed: &[u8]) -> Result<Vec<u8>, String> {
        let (keys, _) =
            SignedPublicKey::from_string_many(armored_key).map_err(|e| e.to_string())?;
        let keys = keys
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let message = Message::from_bytes(signed).map_err(|e| e.to_string())?;
        let mut message = message.decompress().map_err(|e| e.to_string())?;
        if !message.is_signed() {
            return Err("not signed".into());
        }
        let content = message.as_data_vec().map_err(|e| e.to_string())?;
        for key in &keys {
            if message.verify(&key.primary_key).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|s| message.verify(&s.key).is_ok())
            {
                return Ok(content);
            }
        }
        Err("not signed by a trusted key".into())
    }

    const DIGEST: &str = "sha256:4c9ab11f1e2ab4b2b7c2ffcd3f5b4a53fe2f4b5b0ad1d6f3a1d5b0a5f0e1c2d3";
    const REFERENCE: &str = "127.0.0.1:5000/ocp/ocp-release:4.15.1-x86_64";

    #[test]
    fn signatures_verify_as_the_release_plugin_checks_them() {
        let signer = ReleaseSigner::new();
        let key = signer.public_key_armored();
        assert!(key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        let document = release_document(DIGEST, REFERENCE);
        for signed in [
            signer.sign_release(DIGEST, REFERENCE),
            signer.sign_release_compressed(DIGEST, REFERENCE),
        ] {
            // A signed message, not a detached signature or armor.
            assert_ne!(signed[0], b'-');
            let content = verify(&key, &signed).unwrap();
            assert_eq!(content, document.as_bytes());
            let doc: serde_json::Value = serde_json::from_slice(&content).unwrap();
            assert_eq!(doc["critical"]["image"]["docker-manifest-digest"], DIGEST);
            assert_eq!(doc["critical"]["identity"]["docker-reference"], REFERENCE);
            assert_eq!(doc["critical"]["type"], "atomic container signature");
        }
    }

    #[test]
    fn keys_and_signatures_are_deterministic() {
        let a = ReleaseSigner::new();
        let b = ReleaseSigner::new();
        assert_eq!(a.public_key_armored(), b.public_key_armored());
        assert_eq!(
            a.sign_release(DIGEST, REFERENCE),
            b.sign_release(DIGEST, REFERENCE)
        );
        let other = ReleaseSigner::with_seed(7);
        assert_ne!(a.fingerprint(), other.fingerprint());
    }

    #[test]
    fn another_key_or_a_flipped_byte_does_not_verify() {
        let signer = ReleaseSigner::new();
        let other = ReleaseSigner::with_seed(7);
        let signed = other.sign_release(DIGEST, REFERENCE);
        assert!(verify(&signer.public_key_armored(), &signed).is_err());
        assert!(verify(&other.public_key_armored(), &signed).is_ok());
        let mut flipped = signer.sign_release(DIGEST, REFERENCE);
        let at = flipped.len() - 10;
        flipped[at] ^= 1;
        assert!(verify(&signer.public_key_armored(), &flipped).is_err());
    }
}
