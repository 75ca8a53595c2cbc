//! The metadata as an OCI artifact in a registry.
//!
//! Used for `storageConfig.registry.imageURL`, and by publish to record each
//! sequence into the mirror itself, so that the mirror knows which sequence it
//! holds. The whole history is one OCI image manifest under the reference's
//! tag (`latest` when none is given):
//!
//! ```json
//! {
//!   "schemaVersion": 2,
//!   "mediaType": "application/vnd.oci.image.manifest.v1+json",
//!   "artifactType": "application/vnd.oc-mirror.metadata.v1+json",
//!   "config": { "mediaType": "application/vnd.oci.empty.v1+json",
//!               "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
//!               "size": 2, "data": "e30=" },
//!   "layers": [
//!     { "mediaType": "application/vnd.oc-mirror.metadata.v1+json", "digest": "sha256:…", "size": 1234,
//!       "annotations": { "org.opencontainers.image.title": "mirror_seq1.json" } },
//!     …one layer per sequence, in the order recorded…
//!   ],
//!   "annotations": { "io.openshift.oc-mirror.sequence": "3", "io.openshift.oc-mirror.uuid": "…" }
//! }
//! ```
//!
//! Each layer is the canonical bytes of one sequence, so `oras pull` of the
//! reference writes `mirror_seq1.json`, `mirror_seq2.json`… Every record pushes
//! the empty config blob and the new layer, then a new manifest listing all
//! layers so far; older layers are not uploaded again.
//!
//! **What Distribution 2.8 (Debian's `docker-registry` 2.8.2) does with this**,
//! checked by the test below and by hand: it accepts the manifest as is —
//! `artifactType`, the empty config descriptor with its `data` field, the
//! custom layer media type and the annotations — and serves it back byte for
//! byte. It refuses the manifest (`MANIFEST_BLOB_UNKNOWN`) when the config or
//! a layer blob is not in the same repository, which is why the empty config
//! blob is pushed every time (it costs one small request). It ignores
//! `If-Match` on a manifest PUT, so there is no conditional write: the
//! compare-and-set here is read, check, re-check just before the PUT, PUT,
//! then read back and confirm the tag holds our sequence. Two writers can
//! still both succeed only if one's whole PUT and read-back fall between the
//! other's re-check and PUT (a window of one request); the read-back catches
//! every other interleaving.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Backend, BackendError, BackendFuture, conflict_or, file_name, headline};
use crate::digest::Digest;
use crate::manifest::OCI_MANIFEST;
use crate::metadata::{History, Metadata, MetadataError, check_successor};
use crate::reference::{self, DEFAULT_TAG, Reference};
use crate::registry::RegistryClient;

/// `artifactType` of the metadata manifest.
pub const METADATA_ARTIFACT_TYPE: &str = "application/vnd.oc-mirror.metadata.v1+json";
/// Media type of each layer (one sequence's canonical bytes).
pub const METADATA_LAYER_MEDIA_TYPE: &str = "application/vnd.oc-mirror.metadata.v1+json";
/// The OCI empty descriptor's media type, used as config.
pub const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Digest of the two bytes `{}`.
#[cfg(test)]
pub const EMPTY_CONFIG_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// The content of the empty config.
pub const EMPTY_CONFIG_DATA: &[u8] = b"{}";
/// Largest metadata document read (a layer here, a file in a local directory).
pub const MAX_METADATA_SIZE: u64 = 64 << 20;

const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
const SEQUENCE_ANNOTATION: &str = "io.openshift.oc-mirror.sequence";
const UUID_ANNOTATION: &str = "io.openshift.oc-mirror.uuid";
/// Layers fetched at once when reading a history.
const PARALLEL_READS: usize = 8;

/// Metadata stored as an OCI artifact under a registry tag.
pub struct RegistryBackend {
    client: Arc<RegistryClient>,
    reference: Reference,
}

/// What the tag holds now.
struct Current {
    digest: Digest,
    layers: Vec<Descriptor>,
    history: History,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactManifest {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

impl RegistryBackend {
    /// Metadata under `reference` (a tag; `latest` when it has none). A
    /// reference by digest is refused: it names fixed content.
    pub fn new(
        client: Arc<RegistryClient>,
        reference: Reference,
    ) -> Result<RegistryBackend, BackendError> {
        if reference.digest().is_some() {
            return Err(BackendError::Location {
                location: format!("`{}`", reference.whole()),
                reason: "a digest names fixed content\nhint: give a tag, e.g. `registry/ns/oc-mirror-metadata:latest`".into(),
            });
        }
        let reference = match reference.tag() {
            Some(_) => reference,
            None => Reference::with_tag(
                reference.registry().to_string(),
                reference.repository().to_string(),
                DEFAULT_TAG.to_string(),
            ),
        };
        Ok(RegistryBackend { client, reference })
    }

    /// Parses `text` (`registry/ns/repo[:tag]`, an optional `docker://`
    /// accepted) and calls [`RegistryBackend::new`].
    pub fn parse(client: Arc<RegistryClient>, text: &str) -> Result<RegistryBackend, BackendError> {
        let reference = reference::parse(text).map_err(|e| BackendError::Location {
            location: format!("`{text}`"),
            reason: headline(&e),
        })?;
        RegistryBackend::new(client, reference)
    }

    /// The tag the history is stored under.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    fn corrupt(&self, reason: String) -> BackendError {
        BackendError::Corrupt {
            what: self.describe(),
            reason,
        }
    }

    /// Reads the manifest and every layer; `None` when the tag is absent.
    async fn current(&self) -> Result<Option<Current>, BackendError> {
        let raw = match self.client.get_manifest(&self.reference).await {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let manifest: ArtifactManifest = serde_json::from_slice(&raw.bytes)
            .map_err(|e| self.corrupt(format!("its manifest cannot be read: {e}")))?;
        if manifest.artifact_type.as_deref() != Some(METADATA_ARTIFACT_TYPE) {
            return Err(self.corrupt(format!(
                "it is not oc-mirror metadata (artifact type {}, expected `{METADATA_ARTIFACT_TYPE}`); is this tag used by an image?",
                manifest
                    .artifact_type
                    .as_deref()
                    .map_or("none".to_string(), |t| format!("`{t}`"))
            )));
        }
        if manifest.layers.is_empty() {
            return Err(self.corrupt("it holds no sequence".into()));
        }
        for layer in &manifest.layers {
            if layer.media_type != METADATA_LAYER_MEDIA_TYPE {
                return Err(self.corrupt(format!(
                    "layer `{}` has media type `{}`, expected `{METADATA_LAYER_MEDIA_TYPE}`",
                    layer.digest, layer.media_type
                )));
            }
            if layer.size > MAX_METADATA_SIZE {
                return Err(self.corrupt(format!(
                    "layer `{}` is {} bytes, more than the {MAX_METADATA_SIZE} a metadata document may have",
                    layer.digest, layer.size
                )));
            }
        }
        let docs: Vec<Metadata> = futures_util::stream::iter(manifest.layers.clone())
            .map(|layer| async move { self.read_layer(&layer).await })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        let history = History::new(docs).map_err(|e| self.corrupt(headline(&e)))?;
        Ok(Some(Current {
            digest: raw.digest,
            layers: manifest.layers,
            history,
        }))
    }

    async fn read_layer(&self, layer: &Descriptor) -> Result<Metadata, BackendError> {
        let bytes = self
            .client
            .get_blob_bytes(&self.reference, &layer.digest, MAX_METADATA_SIZE)
            .await?;
        let title = layer.annotations.get(TITLE_ANNOTATION);
        let name = title.map_or(layer.digest.as_str(), |t| t.as_str());
        let m = match Metadata::from_slice(&bytes) {
            Ok(m) => m,
            Err(e @ MetadataError::UnsupportedVersion { .. }) => return Err(e.into()),
            Err(e) => return Err(self.corrupt(format!("layer `{name}`: {}", headline(&e)))),
        };
        if title != Some(&file_name(m.sequence)) {
            return Err(self.corrupt(format!(
                "layer `{name}` holds sequence {} but is not titled `{}`",
                m.sequence,
                file_name(m.sequence)
            )));
        }
        Ok(m)
    }

    /// The conflict to report for `m`, from what the tag holds now.
    async fn conflict(&self, m: &Metadata) -> BackendError {
        let expected = match self.current().await {
            Ok(c) => c.map_or(1, |c| c.history.next_sequence()),
            Err(e) => return e,
        };
        BackendError::Conflict {
            backend: self.describe(),
            expected_sequence: expected,
            found: m.sequence,
        }
    }

    async fn write(&self, m: &Metadata) -> Result<(), BackendError> {
        let current = self.current().await?;
        // Another run (a copy of the same imageset published at the same
        // time, say) recorded this very document: nothing is left to do.
        if let Some(c) = &current
            && c.history.digest_of(m.sequence) == Some(&m.digest())
        {
            tracing::info!(
                backend = %self.describe(),
                sequence = m.sequence,
                "sequence already recorded by another run"
            );
            return Ok(());
        }
        check_successor(current.as_ref().map(|c| &c.history), m)
            .map_err(|e| conflict_or(self.describe(), e))?;
        let before = current.as_ref().map(|c| c.digest.clone());
        let mut layers = current.map(|c| c.layers).unwrap_or_default();

        let empty = Bytes::from_static(EMPTY_CONFIG_DATA);
        self.client.push_blob_bytes(&self.reference, &empty).await?;
        let doc = Bytes::from(m.to_canonical_bytes());
        let digest = self.client.push_blob_bytes(&self.reference, &doc).await?;
        layers.push(Descriptor {
            media_type: METADATA_LAYER_MEDIA_TYPE.to_string(),
            digest,
            size: doc.len() as u64,
            data: None,
            annotations: BTreeMap::from([(TITLE_ANNOTATION.to_string(), file_name(m.sequence))]),
        });
        let manifest = ArtifactManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_string()),
            artifact_type: Some(METADATA_ARTIFACT_TYPE.to_string()),
            config: Descriptor {
                media_type: EMPTY_CONFIG_MEDIA_TYPE.to_string(),
                digest: Digest::of(EMPTY_CONFIG_DATA),
                size: EMPTY_CONFIG_DATA.len() as u64,
                data: Some("e30=".to_string()),
                annotations: BTreeMap::new(),
            },
            layers,
            annotations: BTreeMap::from([
                (SEQUENCE_ANNOTATION.to_string(), m.sequence.to_string()),
                (UUID_ANNOTATION.to_string(), m.uuid.clone()),
            ]),
        };
        let body = serde_json::to_vec(&manifest)
            .map(Bytes::from)
            .map_err(|e| self.corrupt(format!("cannot write its manifest: {e}")))?;
        let manifest_digest = Digest::of(&body);

        // Compare: has another writer moved the tag since we read it?
        if self.client.manifest_digest(&self.reference).await? != before {
            return Err(self.conflict(m).await);
        }
        self.client
            .put_manifest(&self.reference, &body, OCI_MANIFEST)
            .await?;
        // Confirm: the tag holds our document (ours, or a later one built on it).
        let now = self.current().await?;
        let ours = m.digest();
        match now.as_ref().and_then(|c| c.history.digest_of(m.sequence)) {
            Some(d) if *d == ours => {
                tracing::debug!(
                    backend = %self.describe(),
                    sequence = m.sequence,
                    manifest = %manifest_digest,
                    "metadata recorded"
                );
                Ok(())
            }
            _ => Err(self.conflict(m).await),
        }
    }
}

impl Backend for RegistryBackend {
    fn history(&self) -> BackendFuture<'_, Option<History>> {
        Box::pin(async move { Ok(self.current().await?.map(|c| c.history)) })
    }

    fn record<'a>(&'a self, m: &'a Metadata) -> BackendFuture<'a, ()> {
        Box::pin(self.write(m))
    }

    fn describe(&self) -> String {
        format!("`{}`", self.reference.whole())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryConfig;
    use crate::registry::auth::AuthStore;
    use crate::registry::retry::RetryPolicy;
    use crate::registry::test_registry;
    use serde_json::json;

    fn client() -> Arc<RegistryClient> {
        Arc::new(RegistryClient::new(RegistryConfig {
            tls_verify: false,
            cert_dirs: vec![],
            retry: RetryPolicy::default(),
            auth: Arc::new(AuthStore::empty()),
            layouts: Default::default(),
        }))
    }

    fn doc(history: Option<&History>, n: u8) -> Metadata {
        let mut m = match history {
            Some(h) => h.successor(json!({"n": n}), 0),
            None => Metadata::first("uuid-1", json!({"kind": "ImageSetConfiguration"}), 0),
        };
        m.blobs = vec![crate::metadata::BlobRecord {
            digest: Digest::of(&[n]),
            size: u64::from(n),
        }];
        m
    }

    #[tokio::test]
    async fn registry_round_trip_and_conflicts() {
        let registry = test_registry::start(false, "").await;
        let client = client();
        let backend = RegistryBackend::parse(
            client.clone(),
            &format!("{}/oc-mirror/metadata", registry.host),
        )
        .unwrap();
        assert_eq!(backend.reference().tag(), Some("latest"));
        assert!(backend.history().await.unwrap().is_none());

        let mut recorded = Vec::new();
        let mut history: Option<History> = None;
        for n in 1..=3 {
            let m = doc(history.as_ref(), n);
            backend.record(&m).await.unwrap();
            recorded.push(m);
            history = backend.history().await.unwrap();
        }
        let history = history.unwrap();
        assert_eq!(history.sequences(), &recorded[..]);
        history.verify_chain().unwrap();

        // The stored layers are the canonical bytes, titled by sequence.
        let raw = client.get_manifest(backend.reference()).await.unwrap();
        let manifest: ArtifactManifest = serde_json::from_slice(&raw.bytes).unwrap();
        assert_eq!(
            manifest.artifact_type.as_deref(),
            Some(METADATA_ARTIFACT_TYPE)
        );
        assert_eq!(manifest.config.digest, EMPTY_CONFIG_DIGEST);
        assert_eq!(Digest::of(EMPTY_CONFIG_DATA), EMPTY_CONFIG_DIGEST);
        assert_eq!(manifest.layers.len(), 3);
        for (layer, m) in manifest.layers.iter().zip(&recorded) {
            assert_eq!(layer.annotations[TITLE_ANNOTATION], file_name(m.sequence));
            let bytes = client
                .get_blob_bytes(backend.reference(), &layer.digest, MAX_METADATA_SIZE)
                .await
                .unwrap();
            assert_eq!(&bytes[..], &m.to_canonical_bytes()[..]);
        }

        // The very document again (a second copy of one imageset published
        // at the same time) is already there: nothing to do.
        backend.record(&recorded[2]).await.unwrap();
        // Compare-and-set: another document for the same sequence, or one
        // too far.
        let mut other = recorded[2].clone();
        other.created += 1;
        let err = backend.record(&other).await.unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::Conflict {
                    expected_sequence: 4,
                    found: 3,
                    ..
                }
            ),
            "{err}"
        );
        let four = doc(Some(&history), 4);
        let mut five = doc(Some(&history), 5);
        five.sequence = 5;
        five.parent = Some(crate::metadata::Parent {
            sequence: 4,
            digest: four.digest(),
        });
        five.since = Some(4);
        let err = backend.record(&five).await.unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::Conflict {
                    expected_sequence: 4,
                    found: 5,
                    ..
                }
            ),
            "{err}"
        );

        // A second writer moved on from the same history: the first loses.
        let other = RegistryBackend::parse(
            client.clone(),
            &format!("docker://{}/oc-mirror/metadata:latest", registry.host),
        )
        .unwrap();
        other.record(&four).await.unwrap();
        let mut late_four = doc(Some(&history), 44);
        late_four.created = 1;
        let err = backend.record(&late_four).await.unwrap_err();
        assert!(
            matches!(
                err,
                BackendError::Conflict {
                    expected_sequence: 5,
                    found: 4,
                    ..
                }
            ),
            "{err}"
        );
        backend.record(&five).await.unwrap();
        let back = backend.history().await.unwrap().unwrap();
        assert_eq!(back.latest(), &five);
        assert_eq!(back.sequences().len(), 5);

        // A tag holding something else is not taken for metadata.
        let image = RegistryBackend::parse(
            client.clone(),
            &format!("{}/oc-mirror/metadata:image", registry.host),
        )
        .unwrap();
        client
            .push_blob_bytes(image.reference(), &Bytes::from_static(EMPTY_CONFIG_DATA))
            .await
            .unwrap();
        let plain = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{EMPTY_CONFIG_MEDIA_TYPE}","digest":"{EMPTY_CONFIG_DIGEST}","size":2}},"layers":[]}}"#
        );
        client
            .put_manifest(image.reference(), &Bytes::from(plain), OCI_MANIFEST)
            .await
            .unwrap();
        let err = image.history().await.unwrap_err();
        assert!(matches!(err, BackendError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("not oc-mirror metadata"), "{err}");

        // A digest cannot hold metadata.
        assert!(matches!(
            RegistryBackend::parse(
                client,
                &format!("{}/m@{}", registry.host, EMPTY_CONFIG_DIGEST)
            ),
            Err(BackendError::Location { .. })
        ));
        drop(registry);
    }
}
