//! The `openpgp` host interface: checking OpenPGP signed messages for
//! plugins (release signatures; helm provenance later).
//!
//! Verification lives in the host, with one pure-Rust OpenPGP
//! implementation (`pgp`), so that no plugin carries its own cryptography:
//! plugins stay small (fast to load) and there is one place to audit. It is
//! pure computation on bounded inputs, so it needs no capability.

use pgp::composed::{Deserializable, Message, SignedPublicKey};

use super::bindings::types::Error;

/// Largest signed message or keyring accepted.
pub const MAX_INPUT: usize = 1 << 20;

/// The content of `signed` (a binary OpenPGP signed message) if a key of the
/// armored keyring `keys` verifies it.
pub fn verify_message(signed: &[u8], keys: &str) -> Result<Vec<u8>, Error> {
    if signed.len() > MAX_INPUT || keys.len() > MAX_INPUT {
        return Err(Error::Other(format!(
            "a signed message or keyring is larger than {MAX_INPUT} bytes"
        )));
    }
    let keyring = keyring(keys)?;
    let message = Message::from_bytes(signed)
        .map_err(|e| Error::Other(format!("not an OpenPGP message: {e}")))?;
    let mut message = message
        .decompress()
        .map_err(|e| Error::Other(format!("cannot decompress it: {e}")))?;
    if !message.is_signed() {
        return Err(Error::Other("it is not a signed message".into()));
    }
    let content = message
        .as_data_vec()
        .map_err(|e| Error::Other(format!("cannot read its content: {e}")))?;
    for key in &keyring {
        if message.verify(&key.primary_key).is_ok()
            || key
                .public_subkeys
                .iter()
                .any(|s| message.verify(&s.key).is_ok())
        {
            return Ok(content);
        }
    }
    Err(Error::Other("it is not signed by a trusted key".into()))
}

/// Every key of an armored keyring: one or more public key blocks, each
/// holding one or more keys.
fn keyring(text: &str) -> Result<Vec<SignedPublicKey>, Error> {
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let bad = |e: String| Error::InvalidConfig(format!("not an armored OpenPGP public key: {e}"));
    let mut out = Vec::new();
    for (at, _) in text.match_indices(BEGIN) {
        let block = &text[at..];
        let block = match block[BEGIN.len()..].find(BEGIN) {
            Some(next) => &block[..BEGIN.len() + next],
            None => block,
        };
        let (keys, _) = SignedPublicKey::from_string_many(block).map_err(|e| bad(e.to_string()))?;
        for key in keys {
            out.push(key.map_err(|e| bad(e.to_string()))?);
        }
    }
    if out.is_empty() {
        return Err(bad("it holds no key".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with GnuPG as oc-mirror's own fixtures are (`gpg --sign`, so the
    /// message is compressed), with a throwaway RSA key.
    const GPG_KEY: &str = include_str!("testdata/gpg-test-key.asc");
    const GPG_SIGNATURE: &[u8] = include_bytes!("testdata/gpg-signature-1");
    /// A key the signature is not by.
    const OTHER_KEY: &str = include_str!("testdata/other-key.asc");

    #[test]
    fn a_gpg_signed_message_verifies_and_gives_its_content() {
        let content = verify_message(GPG_SIGNATURE, GPG_KEY).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&content).unwrap();
        assert_eq!(doc["critical"]["type"], "atomic container signature");
    }

    #[test]
    fn the_wrong_key_a_flipped_byte_or_garbage_is_refused() {
        assert!(matches!(
            verify_message(GPG_SIGNATURE, OTHER_KEY),
            Err(Error::Other(m)) if m.contains("not signed by a trusted key")
        ));
        let mut flipped = GPG_SIGNATURE.to_vec();
        let at = flipped.len() / 2;
        flipped[at] ^= 1;
        assert!(verify_message(&flipped, GPG_KEY).is_err());
        assert!(verify_message(b"not a signature", GPG_KEY).is_err());
        assert!(matches!(
            verify_message(GPG_SIGNATURE, "nope"),
            Err(Error::InvalidConfig(_))
        ));
        let both = format!("{OTHER_KEY}\n{GPG_KEY}");
        assert!(
            verify_message(GPG_SIGNATURE, &both).is_ok(),
            "any key of a keyring"
        );
    }
}
