//! OpenPGP signatures, checked by the host (the `openpgp` import of the
//! `content-source` world, plugin API 0.2.0).
//!
//! The host does the cryptography, so a plugin carries none of it. Needs no
//! capability: it is computation on the bytes given.

use crate::Error;
use crate::bindings::imports::oc_mirror::plugin0_2_0::openpgp as wit;

/// Checks `signed`, a binary OpenPGP signed message (as `gpg --sign` writes
/// it: compressed or not), against the ASCII-armored public keys in `keys`
/// (one or more key blocks), and returns the signed content.
///
/// Errors: [`Error::InvalidConfig`] when `keys` holds no usable key;
/// [`Error::Other`] with the reason when the message is malformed or no key
/// verifies it. Each argument may be at most 1 MiB.
pub fn verify_message(signed: &[u8], keys: &str) -> Result<Vec<u8>, Error> {
    wit::verify_message(signed, keys)
}
