//! What a release payload holds: its component images, read out of the
//! payload's `/release-manifests` through the host (the layers never enter
//! the plugin), and where each goes in the mirror.
//!
//! Mirror paths follow oc-mirror v2: the payload goes to
//! `openshift/release-images:<version>-<arch>`, each component to
//! `openshift/release:<version>-<arch>-<component name>`.

use std::io::Read;

use oc_mirror_plugin_sdk::{Error, ImageKind, ImageToMirror, Platform, registry};
use serde::Deserialize;

/// Where payloads go in the mirror.
pub const RELEASE_IMAGES_REPO: &str = "openshift/release-images";
/// Where components go.
pub const RELEASE_REPO: &str = "openshift/release";
/// The ImageStream listing a payload's components.
const IMAGE_REFERENCES: &str = "/release-manifests/image-references";
/// The Cincinnati metadata of a payload (its version, the releases it updates from).
const RELEASE_METADATA: &str = "/release-manifests/release-metadata";
/// The installer's boot images (and the KubeVirt container disk among them).
const BOOT_IMAGES: &str = "/release-manifests/0000_50_installer_coreos-bootimages.yaml";
/// Largest manifest file read whole.
const MAX_FILE: u64 = 16 << 20;

/// A release to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `4.14.1`.
    pub version: String,
    /// The architecture as release tags write it: `x86_64`, `aarch64`, `ppc64le`,
    /// `s390x`, `multi`.
    pub arch: String,
    /// The payload's pull spec (by digest when it came from the graph).
    pub payload: String,
}

impl Release {
    /// `4.14.1-x86_64`: the payload's tag in the mirror, and the prefix of its
    /// components' tags.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.version, self.arch)
    }
}

#[derive(Deserialize)]
struct ImageStream {
    kind: String,
    spec: ImageStreamSpec,
}

#[derive(Deserialize)]
struct ImageStreamSpec {
    #[serde(default)]
    tags: Vec<ImageStreamTag>,
}

#[derive(Deserialize)]
struct ImageStreamTag {
    name: String,
    from: ObjectReference,
}

#[derive(Deserialize)]
struct ObjectReference {
    kind: String,
    name: String,
}

/// `release-metadata`, as far as it is read here.
#[derive(Deserialize)]
pub struct ReleaseMetadata {
    pub version: String,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// The `data.stream` JSON of the boot-images ConfigMap, as far as it is read.
#[derive(Deserialize)]
struct BootImages {
    #[serde(default)]
    architectures: std::collections::BTreeMap<String, BootArch>,
}

#[derive(Deserialize)]
struct BootArch {
    #[serde(default)]
    images: BootArchImages,
}

#[derive(Deserialize, Default)]
struct BootArchImages {
    #[serde(default)]
    kubevirt: Option<KubeVirt>,
}

#[derive(Deserialize)]
struct KubeVirt {
    #[serde(rename = "digest-ref")]
    digest_ref: String,
}

/// Reads a small file out of an image, whole.
fn read_file(image: &str, path: &str) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    registry::open_file(image, path)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Upstream(format!("reading `{path}` of {image}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::Other(format!(
            "`{path}` of {image} is larger than {MAX_FILE} bytes"
        )));
    }
    Ok(bytes)
}

/// The payload's `release-metadata`.
pub fn metadata(payload: &str) -> Result<ReleaseMetadata, Error> {
    let bytes = read_file(payload, RELEASE_METADATA).map_err(|e| not_a_release(payload, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Other(format!(
            "{payload}: `{RELEASE_METADATA}` is not release metadata: {e}"
        ))
    })
}

fn not_a_release(payload: &str, e: Error) -> Error {
    match e {
        Error::NotFound(m) => Error::NotFound(format!(
            "{payload} is not an OpenShift release payload: {m}\nhint: `platform.release` must name a release image (e.g. quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64)"
        )),
        other => other,
    }
}

/// The images of `release`: its payload and every component it lists (and its
/// KubeVirt container disk when `kube_virt`). `platforms` filters a multi-arch
/// payload's index.
pub fn images_of(
    release: &Release,
    kube_virt: bool,
    platforms: &[Platform],
) -> Result<Vec<ImageToMirror>, Error> {
    let payload = &release.payload;
    let bytes = read_file(payload, IMAGE_REFERENCES).map_err(|e| not_a_release(payload, e))?;
    let stream: ImageStream = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Other(format!(
            "{payload}: `{IMAGE_REFERENCES}` is not an ImageStream: {e}"
        ))
    })?;
    if stream.kind != "ImageStream" {
        return Err(Error::Other(format!(
            "{payload}: `{IMAGE_REFERENCES}` is a `{}`, not an ImageStream",
            stream.kind
        )));
    }
    if stream.spec.tags.is_empty() {
        return Err(Error::Other(format!(
            "{payload}: `{IMAGE_REFERENCES}` lists no component images"
        )));
    }
    let tag = release.tag();
    let mut images = vec![ImageToMirror {
        source: payload.clone(),
        destination_hint: Some(format!("{RELEASE_IMAGES_REPO}:{tag}")),
        kind: ImageKind::ReleasePayload,
        platforms: platforms.to_vec(),
    }];
    for t in &stream.spec.tags {
        if t.from.kind != "DockerImage" {
            continue;
        }
        images.push(component(&tag, &t.name, &t.from.name, platforms)?);
    }
    if kube_virt {
        match kube_virt_image(payload, &release.arch) {
            Ok(Some(image)) => {
                images.push(component(&tag, "kube-virt-container", &image, platforms)?)
            }
            Ok(None) => oc_mirror_plugin_sdk::log::warn(&format!(
                "kubeVirtContainer: release {tag} ships no KubeVirt container image"
            )),
            Err(e) => {
                oc_mirror_plugin_sdk::log::warn(&format!("kubeVirtContainer: release {tag}: {e}"))
            }
        }
    }
    Ok(images)
}

/// A component image, checked: components are always pulled by digest.
fn component(
    release_tag: &str,
    name: &str,
    source: &str,
    platforms: &[Platform],
) -> Result<ImageToMirror, Error> {
    if !source.contains("@sha256:") {
        return Err(Error::Other(format!(
            "release {release_tag}: component `{name}` is `{source}`, not a reference by digest"
        )));
    }
    Ok(ImageToMirror {
        source: source.to_string(),
        destination_hint: Some(format!("{RELEASE_REPO}:{release_tag}-{name}")),
        kind: ImageKind::ReleaseComponent,
        platforms: platforms.to_vec(),
    })
}

/// The KubeVirt container disk the installer's boot-images ConfigMap names
/// for `arch`, if any.
fn kube_virt_image(payload: &str, arch: &str) -> Result<Option<String>, Error> {
    let bytes = read_file(payload, BOOT_IMAGES)?;
    let text = String::from_utf8_lossy(&bytes);
    let stream = config_map_value(&text, "stream")
        .ok_or_else(|| Error::Other(format!("`{BOOT_IMAGES}` has no `data.stream`")))?;
    let boot: BootImages = serde_json::from_str(&stream)
        .map_err(|e| Error::Other(format!("`{BOOT_IMAGES}`: `data.stream` is not JSON: {e}")))?;
    let arch = if arch == "multi" { "x86_64" } else { arch };
    Ok(boot
        .architectures
        .get(arch)
        .and_then(|a| a.images.kubevirt.as_ref())
        .map(|k| k.digest_ref.clone()))
}

/// The value of `data.<key>` of a ConfigMap written as YAML (a block scalar,
/// `key: |`, or a quoted or plain one-line value). A full YAML parser would
/// double the plugin's size for this one field.
fn config_map_value(yaml: &str, key: &str) -> Option<String> {
    let mut lines = yaml.lines().peekable();
    let mut in_data = false;
    while let Some(line) = lines.next() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_data = line.trim_end() == "data:";
            continue;
        }
        if !in_data {
            continue;
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let Some(rest) = trimmed.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut out = String::new();
            while let Some(next) = lines.peek() {
                let next_indent = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && next_indent <= indent {
                    break;
                }
                out.push_str(next.trim_start());
                out.push('\n');
                lines.next();
            }
            return Some(out);
        }
        if let Some(inner) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            return Some(inner.replace("''", "'"));
        }
        if rest.starts_with('"') {
            return serde_json::from_str(rest).ok();
        }
        return Some(rest.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_map_values_in_block_and_inline_styles() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: coreos-bootimages\ndata:\n  releaseVersion: 4.14.1\n  stream: |\n    {\n      \"architectures\": {}\n    }\n  other: x\n";
        assert_eq!(
            config_map_value(yaml, "stream").unwrap(),
            "{\n\"architectures\": {}\n}\n"
        );
        assert_eq!(config_map_value(yaml, "releaseVersion").unwrap(), "4.14.1");
        assert_eq!(
            config_map_value("data:\n  stream: '{\"a\": 1}'\n", "stream").unwrap(),
            "{\"a\": 1}"
        );
        assert_eq!(
            config_map_value("data:\n  stream: \"{\\\"a\\\": 1}\"\n", "stream").unwrap(),
            "{\"a\": 1}"
        );
        assert_eq!(config_map_value("metadata:\n  stream: x\n", "stream"), None);
    }

    #[test]
    fn components_must_be_pinned_by_digest() {
        let ok = component("4.14.1-x86_64", "etcd", "q/art@sha256:abc", &[]).unwrap();
        assert_eq!(
            ok.destination_hint.as_deref(),
            Some("openshift/release:4.14.1-x86_64-etcd")
        );
        assert_eq!(ok.kind, ImageKind::ReleaseComponent);
        assert!(component("4.14.1-x86_64", "etcd", "q/art:latest", &[]).is_err());
    }
}
