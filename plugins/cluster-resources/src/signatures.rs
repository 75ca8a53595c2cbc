//! `signature-configmap.json` and `signature-configmap.yaml`: the release
//! signatures as one ConfigMap the cluster-version operator reads, as oc-mirror v2
//! writes them. On a disconnected cluster the CVO cannot fetch signatures from
//! `mirror.openshift.com`; it also looks in every ConfigMap of
//! `openshift-config-managed` labelled `release.openshift.io/verification-signatures`
//! and takes any `binaryData` key that starts with `sha256-<hex>` as a signature of
//! the release whose payload has that digest.
//!
//! # The attachment contract
//!
//! A content source (the release plugin) attaches each signature as
//!
//! - `media_type`: `application/vnd.openshift.release-signature.v1`
//!   ([`SIGNATURE_MEDIA_TYPE`]);
//! - `name`: `release-signatures/sha256-<hex>-<N>`, where `<hex>` is the release
//!   payload's manifest digest (64 lowercase hex digits) and `<N>` (1, 2, … in
//!   decimal, no leading zero) the signature's index, as in
//!   `…/signatures/openshift/release/sha256=<hex>/signature-<N>`;
//! - `data`: the signature's raw bytes (a binary OpenPGP signed message).
//!
//! Attachments of any other media type are ignored; one of this media type with
//! another name is an error naming it, as is an empty one.
//!
//! # The ConfigMap
//!
//! ```yaml
//! apiVersion: v1
//! binaryData:
//!   sha256-<hex1>-1: <base64>
//!   sha256-<hex1>-2: <base64>
//!   sha256-<hex2>-3: <base64>
//! kind: ConfigMap
//! metadata:
//!   annotations: {createdAt: …, createdBy: oc-mirror v2, oc-mirror_version: …}
//!   labels:
//!     release.openshift.io/verification-signatures: ""
//!   name: mirrored-release-signatures
//!   namespace: openshift-config-managed
//! ```
//!
//! One ConfigMap for every release. Signatures are ordered by digest, then `N`,
//! then bytes; the same bytes twice for one digest count once. The key suffix is
//! a counter running 1, 2, 3… across all of them in that order (oc-mirror v2's
//! scheme: keys stay unique, and the CVO matches on the digest prefix only).
//! Values are standard base64 with padding. The JSON file is pretty-printed with
//! a trailing newline; the YAML file holds the same object; in both, keys are
//! sorted as Kubernetes tools print them (`binaryData` keys as strings, so `-10`
//! comes before `-2`). Neither file is written without a signature.

use std::collections::{BTreeMap, BTreeSet};

use oc_mirror_plugin_sdk::{Attachment, Error, OutputFile};
use serde::Serialize;

use crate::{OcMirrorAnnotations, Stamp, base64, to_yaml};

/// The media type of a release-signature attachment.
pub const SIGNATURE_MEDIA_TYPE: &str = "application/vnd.openshift.release-signature.v1";
/// The folder of release-signature attachment names.
pub const SIGNATURE_NAME_PREFIX: &str = "release-signatures/";
/// The ConfigMap as JSON.
pub const SIGNATURE_JSON_FILE_NAME: &str = "signature-configmap.json";
/// The ConfigMap as YAML.
pub const SIGNATURE_YAML_FILE_NAME: &str = "signature-configmap.yaml";

const KIND: &str = "ConfigMap";
/// `metadata.name`, as oc-mirror v2 names it.
const NAME: &str = "mirrored-release-signatures";
/// Where the CVO looks for signature ConfigMaps.
const NAMESPACE: &str = "openshift-config-managed";
/// The label the CVO selects signature ConfigMaps by (with an empty value).
const LABEL: &str = "release.openshift.io/verification-signatures";

/// The two ConfigMap files if any signature was attached, else nothing.
pub(crate) fn signature_files(
    attachments: &[Attachment],
    stamp: Stamp,
) -> Result<Vec<OutputFile>, Error> {
    // digest hex → (N, bytes), sorted.
    let mut by_digest: BTreeMap<&str, BTreeSet<(u64, &[u8])>> = BTreeMap::new();
    for attachment in attachments {
        if attachment.media_type != SIGNATURE_MEDIA_TYPE {
            continue;
        }
        let (hex, index) = parse_name(&attachment.name).ok_or_else(|| {
            Error::Other(format!(
                "the release signature attachment `{}` is not named \
                 `{SIGNATURE_NAME_PREFIX}sha256-<64 lowercase hex digits>-<N>` (N = 1, 2, …)",
                attachment.name
            ))
        })?;
        if attachment.data.is_empty() {
            return Err(Error::Other(format!(
                "the release signature attachment `{}` is empty",
                attachment.name
            )));
        }
        by_digest
            .entry(hex)
            .or_default()
            .insert((index, &attachment.data));
    }
    if by_digest.is_empty() {
        return Ok(Vec::new());
    }
    let mut binary_data = BTreeMap::new();
    let mut counter = 0u64;
    for (hex, signatures) in &by_digest {
        let mut seen = BTreeSet::new();
        for (_, data) in signatures {
            if seen.insert(*data) {
                counter += 1;
                binary_data.insert(format!("sha256-{hex}-{counter}"), base64::encode(data));
            }
        }
    }
    let object = ConfigMap {
        api_version: "v1".to_string(),
        binary_data,
        kind: KIND.to_string(),
        metadata: Metadata {
            annotations: stamp.annotations(),
            labels: BTreeMap::from([(LABEL.to_string(), String::new())]),
            name: NAME.to_string(),
            namespace: NAMESPACE.to_string(),
        },
    };
    let mut json = serde_json::to_string_pretty(&object).map_err(|e| {
        Error::Other(format!(
            "cannot render the signature ConfigMap as JSON: {e}"
        ))
    })?;
    json.push('\n');
    let yaml = quote_empty_label(to_yaml(&object, stamp, KIND)?);
    Ok(vec![
        OutputFile {
            path: SIGNATURE_JSON_FILE_NAME.into(),
            contents: json,
        },
        OutputFile {
            path: SIGNATURE_YAML_FILE_NAME.into(),
            contents: yaml,
        },
    ])
}

/// `(hex, N)` of `release-signatures/sha256-<hex>-<N>`, or `None`.
fn parse_name(name: &str) -> Option<(&str, u64)> {
    let rest = name
        .strip_prefix(SIGNATURE_NAME_PREFIX)?
        .strip_prefix("sha256-")?;
    let (hex, index) = rest.split_once('-')?;
    let hex_ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let index_ok =
        !index.is_empty() && !index.starts_with('0') && index.bytes().all(|b| b.is_ascii_digit());
    if !hex_ok || !index_ok {
        return None;
    }
    Some((hex, index.parse().ok()?))
}

/// Writes the label's empty value as `""`, as Kubernetes tools print it (the
/// YAML writer prints `''`; both read back as the empty string).
fn quote_empty_label(text: String) -> String {
    text.replacen(
        &format!("\n    {LABEL}: ''\n"),
        &format!("\n    {LABEL}: \"\"\n"),
        1,
    )
}

// The shape; field order is the key order (alphabetical), for JSON and YAML alike.

#[derive(Debug, Serialize)]
struct ConfigMap {
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(rename = "binaryData")]
    binary_data: BTreeMap<String, String>,
    kind: String,
    metadata: Metadata,
}

#[derive(Debug, Serialize)]
struct Metadata {
    annotations: OcMirrorAnnotations,
    labels: BTreeMap<String, String>,
    name: String,
    namespace: String,
}
