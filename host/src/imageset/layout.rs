//! The OCI image layout inside an imageset: its fixed files and the paths it allows.
//!
//! An imageset is an OCI image layout (image-spec `image-layout.md`) split
//! across tar parts, plus one metadata file. This module writes the two layout
//! files, `oci-layout` and `index.json`, and decides which entry paths an
//! imageset may hold at all, for both the writer (never write what cannot be
//! read back) and the reader (refuse anything else from a hostile archive).
//! `index.json` is deterministic: the same references give the same bytes.

/// Path of the layout marker file.
pub const OCI_LAYOUT_PATH: &str = "oci-layout";
/// Path of the layout's index of manifests.
pub const INDEX_JSON_PATH: &str = "index.json";
/// Path of the sequence's metadata; opaque bytes to this module.
pub const METADATA_PATH: &str = "oc-mirror/metadata.json";
/// Every blob lives at this prefix followed by its 64 lowercase hex digits.
pub const BLOBS_PREFIX: &str = "blobs/sha256/";

use crate::digest::Digest;

/// The content of `oci-layout`: the only layout version there is.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The media type `index.json` declares.
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The annotation that carries a manifest's tag in an OCI layout; `oci:DIR:REF`
/// in skopeo looks `REF` up here.
const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// The head entries, in the order part 0 holds them.
pub(crate) const HEAD_PATHS: [&str; 3] = [OCI_LAYOUT_PATH, INDEX_JSON_PATH, METADATA_PATH];

/// One manifest (or nested index) that `index.json` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRef {
    /// The manifest's media type, e.g. `application/vnd.oci.image.manifest.v1+json`.
    pub media_type: String,
    /// `sha256:<hex>` of the manifest bytes.
    pub digest: Digest,
    /// Size of the manifest in bytes.
    pub size: u64,
    /// The name a tool asks for (`oci:DIR:<ref_name>`); empty to list the
    /// manifest without one.
    pub ref_name: String,
}

/// The `index.json` of an OCI layout listing `entries`.
///
/// Entries are sorted by `ref_name`, then digest, and exact duplicates are
/// dropped, so the result does not depend on the order they are given in.
/// Two entries with the same `ref_name` and different digests are both kept:
/// avoiding that is the caller's job (skopeo refuses an ambiguous name). The
/// JSON is written field by field in a fixed order, indented by two spaces,
/// with a final newline, whatever serde_json features the build enables.
pub fn index_json(entries: &[LayoutRef]) -> Vec<u8> {
    let mut sorted: Vec<&LayoutRef> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.ref_name, &a.digest, &a.media_type, a.size).cmp(&(
            &b.ref_name,
            &b.digest,
            &b.media_type,
            b.size,
        ))
    });
    sorted.dedup();
    let mut out = String::new();
    out.push_str("{\n  \"schemaVersion\": 2,\n");
    out.push_str(&format!(
        "  \"mediaType\": {},\n",
        json_string(INDEX_MEDIA_TYPE)
    ));
    if sorted.is_empty() {
        out.push_str("  \"manifests\": []\n}\n");
        return out.into_bytes();
    }
    out.push_str("  \"manifests\": [\n");
    for (i, r) in sorted.iter().enumerate() {
        out.push_str("    {\n");
        out.push_str(&format!(
            "      \"mediaType\": {},\n",
            json_string(&r.media_type)
        ));
        out.push_str(&format!(
            "      \"digest\": {},\n",
            json_string(r.digest.as_str())
        ));
        if r.ref_name.is_empty() {
            out.push_str(&format!("      \"size\": {}\n", r.size));
        } else {
            out.push_str(&format!("      \"size\": {},\n", r.size));
            out.push_str("      \"annotations\": {\n");
            out.push_str(&format!(
                "        {}: {}\n",
                json_string(REF_NAME_ANNOTATION),
                json_string(&r.ref_name)
            ));
            out.push_str("      }\n");
        }
        out.push_str(if i + 1 == sorted.len() {
            "    }\n"
        } else {
            "    },\n"
        });
    }
    out.push_str("  ]\n}\n");
    out.into_bytes()
}

/// `s` as a JSON string literal, quotes included.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// What an entry path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryPath {
    /// One of [`HEAD_PATHS`]; the value is its position there.
    Head(usize),
    /// `blobs/sha256/<hex>`: the digest its name promises, parsed here.
    Blob(Digest),
}

/// The archive path of a blob: `blobs/sha256/<hex>`.
pub fn blob_entry_path(digest: &Digest) -> String {
    format!("{BLOBS_PREFIX}{}", digest.hex())
}

/// Classifies `path`, or says why an imageset cannot hold it (the reason reads
/// after "which").
pub(crate) fn classify(path: &str) -> Result<EntryPath, String> {
    if let Some(i) = HEAD_PATHS.iter().position(|&h| h == path) {
        return Ok(EntryPath::Head(i));
    }
    if path.starts_with('/') {
        return Err("is an absolute path".to_owned());
    }
    if path.split('/').any(|c| c == "..") {
        return Err("climbs out of the archive with `..`".to_owned());
    }
    if let Some(hex) = path.strip_prefix(BLOBS_PREFIX) {
        return Digest::from_hex(hex)
            .map(EntryPath::Blob)
            .map_err(|_| "names a blob, but not by 64 lowercase hex digits".to_owned());
    }
    Err(format!(
        "is none of `{OCI_LAYOUT_PATH}`, `{INDEX_JSON_PATH}`, `{METADATA_PATH}` and `{BLOBS_PREFIX}<hex>`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(ref_name: &str, digest_char: char) -> LayoutRef {
        LayoutRef {
            media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            digest: Digest::from_hex(&digest_char.to_string().repeat(64)).unwrap(),
            size: 42,
            ref_name: ref_name.to_owned(),
        }
    }

    #[test]
    fn index_json_is_sorted_stable_and_valid() {
        let a = index_json(&[r("b", '1'), r("a", '2'), r("a", '1'), r("b", '1')]);
        let b = index_json(&[r("a", '1'), r("b", '1'), r("a", '2')]);
        assert_eq!(a, b);
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["mediaType"], INDEX_MEDIA_TYPE);
        let m = v["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0]["annotations"][REF_NAME_ANNOTATION], "a");
        assert_eq!(m[0]["digest"], format!("sha256:{}", "1".repeat(64)));
        assert_eq!(m[1]["digest"], format!("sha256:{}", "2".repeat(64)));
        assert_eq!(m[2]["annotations"][REF_NAME_ANNOTATION], "b");
        assert_eq!(m[2]["size"], 42);
        let text = String::from_utf8(a).unwrap();
        assert!(text.starts_with("{\n  \"schemaVersion\": 2,\n  \"mediaType\""));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn index_json_escapes_and_handles_edges() {
        let empty: serde_json::Value = serde_json::from_slice(&index_json(&[])).unwrap();
        assert_eq!(empty["manifests"], serde_json::json!([]));
        let odd = index_json(&[r("quo\"te\\ \n", '3'), r("", '4')]);
        let v: serde_json::Value = serde_json::from_slice(&odd).unwrap();
        assert!(v["manifests"][0].get("annotations").is_none());
        assert_eq!(
            v["manifests"][1]["annotations"][REF_NAME_ANNOTATION],
            "quo\"te\\ \n"
        );
    }

    #[test]
    fn oci_layout_is_the_spec_marker() {
        let v: serde_json::Value = serde_json::from_slice(OCI_LAYOUT).unwrap();
        assert_eq!(v, serde_json::json!({"imageLayoutVersion": "1.0.0"}));
    }

    /// A tiny but complete image (one uncompressed layer) as an imageset, untarred
    /// with GNU tar, is an OCI layout skopeo reads and copies (checking digests),
    /// whether it was written as one part or several.
    #[test]
    fn skopeo_reads_an_untarred_imageset() {
        use std::process::Command;

        use crate::imageset::tar::{self, encode_header};
        use crate::imageset::testutil::{blob, blob_path, options, sha256_hex};
        use crate::imageset::{Entry, write_imageset};

        if Command::new("skopeo").arg("--version").output().is_err() {
            eprintln!("skipping skopeo_reads_an_untarred_imageset: `skopeo` is not on PATH");
            return;
        }
        let mut layer = encode_header("hello.txt", 6, 0).unwrap().to_vec();
        layer.extend(b"hello\n");
        layer.resize(layer.len() + tar::padding(6) + 1024, 0);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
            sha256_hex(&layer)
        );
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{}","size":{}}}]}}"#,
            sha256_hex(config.as_bytes()),
            config.len(),
            sha256_hex(&layer),
            layer.len()
        );
        let index = index_json(&[LayoutRef {
            media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            digest: Digest::of(manifest.as_bytes()),
            size: manifest.len() as u64,
            ref_name: "v1".to_owned(),
        }]);
        for (max_part_bytes, expected_parts) in [(1 << 20, 1), (5000, 3)] {
            let dir = tempfile::tempdir().unwrap();
            let entries = vec![
                Entry::bytes(OCI_LAYOUT_PATH, OCI_LAYOUT),
                Entry::bytes(INDEX_JSON_PATH, index.clone()),
                Entry::bytes(METADATA_PATH, &b"{}"[..]),
                blob(config.as_bytes()),
                blob(manifest.as_bytes()),
                blob(&layer),
            ];
            let parts = write_imageset(dir.path().join("set"), options(1, max_part_bytes), entries)
                .unwrap();
            assert_eq!(parts.len(), expected_parts);
            let layout = dir.path().join("layout");
            std::fs::create_dir(&layout).unwrap();
            for part in &parts {
                let out = Command::new("tar")
                    .arg("-xf")
                    .arg(dir.path().join("set").join(&part.name))
                    .arg("-C")
                    .arg(&layout)
                    .output()
                    .unwrap();
                assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
            }
            let image = format!("oci:{}:v1", layout.display());
            let out = Command::new("skopeo")
                .args(["inspect", "--raw", &image])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, manifest.as_bytes());
            let copied = dir.path().join("copied");
            let out = Command::new("skopeo")
                .args(["--insecure-policy", "copy", "--quiet", &image])
                .arg(format!("dir:{}", copied.display()))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                std::fs::read(copied.join("manifest.json")).unwrap(),
                manifest.as_bytes()
            );
            let layer_file = copied.join(&blob_path(&layer)["blobs/sha256/".len()..]);
            assert_eq!(std::fs::read(layer_file).unwrap(), layer);
        }
    }

    #[test]
    fn paths_are_classified() {
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(classify("oci-layout"), Ok(EntryPath::Head(0)));
        assert_eq!(classify("index.json"), Ok(EntryPath::Head(1)));
        assert_eq!(classify("oc-mirror/metadata.json"), Ok(EntryPath::Head(2)));
        assert_eq!(
            classify(&format!("blobs/sha256/{hex}")),
            Ok(EntryPath::Blob(Digest::from_hex(&hex).unwrap()))
        );
        for bad in [
            "/etc/passwd".to_owned(),
            "blobs/../../etc/passwd".to_owned(),
            "../oci-layout".to_owned(),
            format!("blobs/sha256/{}", hex.to_uppercase()),
            format!("blobs/sha256/{}", &hex[1..]),
            format!("blobs/sha256/{hex}0"),
            format!("blobs/sha512/{hex}"),
            "blobs/sha256/".to_owned(),
            "./oci-layout".to_owned(),
            "oc-mirror/other.json".to_owned(),
            "".to_owned(),
        ] {
            assert!(classify(&bad).is_err(), "{bad:?} accepted");
        }
        assert!(classify("/x").unwrap_err().contains("absolute"));
        assert!(classify("a/../b").unwrap_err().contains(".."));
    }
}
