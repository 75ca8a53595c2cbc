//! `updateService.yaml`: the UpdateService that points an OpenShift Update Service
//! (OSUS, the cincinnati-operator) at the mirrored graph-data image and release
//! payloads, as oc-mirror v2 writes it when `mirror.platform.graph` is set.
//!
//! It is written only when an image of kind `graph-image` was mirrored:
//!
//! ```yaml
//! apiVersion: updateservice.operator.openshift.io/v1
//! kind: UpdateService
//! metadata:
//!   annotations: {createdAt: …, createdBy: oc-mirror v2, oc-mirror_version: …}
//!   name: update-service-oc-mirror
//!   namespace: openshift-update-service
//! spec:
//!   graphDataImage: mirror.example.com/openshift/graph-image@sha256:…
//!   releases: mirror.example.com/openshift/release-images
//!   replicas: 2
//! ```
//!
//! - `graphDataImage` names the graph image in the mirror **by digest**
//!   (`<destination repository>@<digest>`), not by its tag (oc-mirror v2 writes
//!   `:latest`): the tag moves with every new imageset, the digest is the image
//!   this imageset mirrored.
//! - `releases` is the repository (no tag, no digest) the release payloads were
//!   mirrored to. The host puts every payload in one repository
//!   (`<mirror>/openshift/release-images`); should they ever be in several, the
//!   first in sorted order is used.
//! - A graph image without any release payload is an error: the UpdateService
//!   needs a release repository.
//!
//! Several graph images (which the host does not produce) would also give the
//! first `graphDataImage` in sorted order, so the output stays deterministic.

use std::collections::BTreeSet;

use oc_mirror_plugin_sdk::{Error, ImageReference, OutputFile};
use serde::Serialize;

use crate::{Image, OcMirrorAnnotations, Role, Stamp, to_yaml};

/// The file holding the UpdateService.
pub const UPDATE_SERVICE_FILE_NAME: &str = "updateService.yaml";

const API_VERSION: &str = "updateservice.operator.openshift.io/v1";
const KIND: &str = "UpdateService";
/// `metadata.name`, as oc-mirror v2 names it.
const NAME: &str = "update-service-oc-mirror";
/// `metadata.namespace`: where the cincinnati-operator runs by default.
const NAMESPACE: &str = "openshift-update-service";
/// `spec.replicas`, as oc-mirror v2 sets it.
const REPLICAS: u32 = 2;

/// `updateService.yaml` if a graph image was mirrored, else nothing.
pub(crate) fn update_service(images: &[Image], stamp: Stamp) -> Result<Option<OutputFile>, Error> {
    let mut graph_images = BTreeSet::new();
    let mut release_repositories = BTreeSet::new();
    for image in images {
        match image.role {
            Role::Graph => {
                graph_images.insert(graph_data_image(image)?);
            }
            Role::Payload => {
                release_repositories.insert(image.destination.name());
            }
            Role::Catalog | Role::Other => {}
        }
    }
    let Some(graph_data_image) = graph_images.into_iter().next() else {
        return Ok(None);
    };
    let Some(releases) = release_repositories.into_iter().next() else {
        return Err(Error::Other(format!(
            "an UpdateService needs release images: the graph image `{graph_data_image}` \
             was mirrored, but no release payload was"
        )));
    };
    let object = UpdateService {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: Metadata {
            annotations: stamp.annotations(),
            name: NAME.to_string(),
            namespace: NAMESPACE.to_string(),
        },
        spec: Spec {
            graph_data_image,
            releases,
            replicas: REPLICAS,
        },
    };
    Ok(Some(OutputFile {
        path: UPDATE_SERVICE_FILE_NAME.into(),
        contents: to_yaml(&object, stamp, KIND)?,
    }))
}

/// `<destination repository>@<digest>`: the digest the host reported, else the
/// one the destination names.
fn graph_data_image(image: &Image) -> Result<String, Error> {
    let digest = if image.digest.is_empty() {
        image.destination.digest.clone().ok_or_else(|| {
            Error::Other(format!(
                "the graph image `{}` was mirrored without a digest",
                image.destination
            ))
        })?
    } else {
        image.digest.clone()
    };
    let reference = format!("{}@{digest}", image.destination.name());
    ImageReference::parse(&reference)
        .map_err(|_| Error::Other(format!("the graph image has an invalid digest `{digest}`")))?;
    Ok(reference)
}

// The YAML shape; field order is the key order (alphabetical).

#[derive(Debug, Serialize)]
struct UpdateService {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Serialize)]
struct Metadata {
    annotations: OcMirrorAnnotations,
    name: String,
    namespace: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    graph_data_image: String,
    releases: String,
    replicas: u32,
}
