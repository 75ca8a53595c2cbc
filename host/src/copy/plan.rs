//! What to copy: the images of a run, and what each one is made of.
//!
//! A [`CopyPlan`] is the list of images a run must mirror, each with its source
//! and destination; it is what the content-source plugins produce
//! ([`crate::sources`]). [`resolve`] reads each source manifest (and the
//! manifests of every wanted platform of an index) so
//! that the engine knows every blob and byte before it moves any: that gives an
//! exact progress total, the dry run, and the no-op check.

use bytes::Bytes;

use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Parsed};
use crate::reference::{self, Reference};
use crate::registry::{RegistryClient, RegistryError};

/// One image to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageJob {
    /// As the user (or a content source) named it.
    pub source: Reference,
    /// Where it goes, always with a tag.
    pub destination: Reference,
    /// Platforms to keep from an index; empty keeps all.
    pub platforms: Vec<Platform>,
    /// The configuration section that asked for it.
    pub origin: Origin,
    /// What it is for (where its mirror entries go).
    pub kind: ImageKind,
}

/// A platform to keep from an index: `os/architecture[/variant]`; an empty
/// `os` matches any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// Whether an index entry's platform is this one.
    fn matches(&self, p: &manifest::Platform) -> bool {
        self.architecture == p.architecture
            && (self.os.is_empty() || self.os == p.os)
            && self
                .variant
                .as_ref()
                .is_none_or(|v| p.variant.as_ref() == Some(v))
    }
}

/// Whether an index entry is wanted: an empty list wants every platform; an
/// entry without a platform is wanted only then.
pub fn platform_wanted(platform: Option<&manifest::Platform>, wanted: &[Platform]) -> bool {
    if wanted.is_empty() {
        return true;
    }
    platform.is_some_and(|p| wanted.iter().any(|w| w.matches(p)))
}

/// What an image is for: where its mirror entries go, and how it is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageKind {
    ReleasePayload,
    ReleaseComponent,
    OperatorCatalog,
    OperatorImage,
    GraphImage,
    Generic,
}

impl ImageKind {
    /// The name the metadata records (the WIT enum's case).
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::ReleasePayload => "release-payload",
            ImageKind::ReleaseComponent => "release-component",
            ImageKind::OperatorCatalog => "operator-catalog",
            ImageKind::OperatorImage => "operator-image",
            ImageKind::GraphImage => "graph-image",
            ImageKind::Generic => "generic",
        }
    }

    /// The kind a recorded name stands for; unknown names are `generic`.
    pub fn from_name(name: &str) -> ImageKind {
        match name {
            "release-payload" => ImageKind::ReleasePayload,
            "release-component" => ImageKind::ReleaseComponent,
            "operator-catalog" => ImageKind::OperatorCatalog,
            "operator-image" => ImageKind::OperatorImage,
            "graph-image" => ImageKind::GraphImage,
            _ => ImageKind::Generic,
        }
    }
}

/// The part of the configuration that asked for an image: its failures give
/// that part's exit code, and the metadata records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// `mirror.platform` (releases).
    Platform,
    /// `mirror.operators`.
    Operators,
    /// `mirror.additionalImages`.
    AdditionalImages,
    /// `mirror.helm`.
    Helm,
    /// A third-party content source (`plugins:`).
    Plugin,
}

impl Origin {
    /// The configuration key, as the metadata records it.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Platform => "platform",
            Origin::Operators => "operators",
            Origin::AdditionalImages => "additionalImages",
            Origin::Helm => "helm",
            Origin::Plugin => "plugin",
        }
    }

    /// The origin a configuration key (or a recorded name) stands for;
    /// anything else is a third party's.
    pub fn from_name(name: &str) -> Origin {
        match name {
            "platform" => Origin::Platform,
            "operators" => Origin::Operators,
            "additionalImages" => Origin::AdditionalImages,
            "helm" => Origin::Helm,
            _ => Origin::Plugin,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every image of a run, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyPlan {
    pub images: Vec<ImageJob>,
}

/// One manifest to push, with the blobs it needs first.
#[derive(Debug, Clone)]
pub struct ManifestCopy {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
    /// Config and layers (empty for an index).
    pub blobs: Vec<Descriptor>,
}

/// An image with everything it is made of, ready to copy.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    pub job: ImageJob,
    /// Platform manifests first, the top-level manifest (the one tagged) last.
    pub manifests: Vec<ManifestCopy>,
}

impl ResolvedImage {
    /// The digest the destination tag will point at.
    ///
    /// Every resolved image holds its top-level manifest (resolution, an
    /// imageset and a built image all push it last), so there is one.
    pub fn digest(&self) -> &Digest {
        &self
            .manifests
            .last()
            .expect("a resolved image always holds its top-level manifest")
            .digest
    }

    /// Distinct blobs of the image, largest first (the long transfers start early).
    pub fn blobs(&self) -> Vec<Descriptor> {
        let mut seen = std::collections::HashSet::new();
        let mut blobs: Vec<Descriptor> = self
            .manifests
            .iter()
            .flat_map(|m| m.blobs.iter())
            .filter(|b| seen.insert(b.digest.clone()))
            .cloned()
            .collect();
        blobs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.digest.cmp(&b.digest)));
        blobs
    }
}

/// Reads the manifests of one image from its source. An index keeps only the
/// wanted platforms; when that drops entries, a new index is written with the
/// kept ones (its digest then differs from the source's, and is what the
/// destination tag points at).
pub async fn resolve(
    client: &RegistryClient,
    job: &ImageJob,
) -> Result<ResolvedImage, RegistryError> {
    let pull = reference::pull_reference(&job.source);
    let top = client.get_manifest(&pull).await?;
    let parse = |bytes: &[u8], media_type: &str, r: &Reference| {
        manifest::parse(bytes, media_type).map_err(|source| RegistryError::Manifest {
            reference: r.whole(),
            source,
        })
    };
    let mut manifests = Vec::new();
    match parse(&top.bytes, &top.media_type, &pull)? {
        Parsed::Image { .. } => {
            let blobs = parse(&top.bytes, &top.media_type, &pull)?
                .blobs()
                .into_iter()
                .cloned()
                .collect();
            manifests.push(ManifestCopy {
                bytes: top.bytes,
                media_type: top.media_type,
                digest: top.digest,
                blobs,
            });
        }
        Parsed::Index {
            manifests: children,
        } => {
            let wanted: Vec<&Descriptor> = children
                .iter()
                .filter(|d| platform_wanted(d.platform.as_ref(), &job.platforms))
                .collect();
            if wanted.is_empty() {
                return Err(RegistryError::Manifest {
                    reference: job.source.whole(),
                    source: manifest::ManifestError::Unsupported(
                        "an index with none of the requested platforms".to_string(),
                    ),
                });
            }
            for child in &wanted {
                let child_ref = job.source.clone_with_digest(child.digest.to_string());
                let child_ref = reference::pull_reference(&child_ref);
                let raw = client.get_manifest(&child_ref).await?;
                let parsed = parse(&raw.bytes, &raw.media_type, &child_ref)?;
                if matches!(parsed, Parsed::Index { .. }) {
                    return Err(RegistryError::Manifest {
                        reference: child_ref.whole(),
                        source: manifest::ManifestError::Unsupported(
                            "an index nested in an index".to_string(),
                        ),
                    });
                }
                let blobs = parsed.blobs().into_iter().cloned().collect();
                manifests.push(ManifestCopy {
                    bytes: raw.bytes,
                    media_type: raw.media_type,
                    digest: raw.digest,
                    blobs,
                });
            }
            if wanted.len() == children.len() {
                manifests.push(ManifestCopy {
                    bytes: top.bytes,
                    media_type: top.media_type,
                    digest: top.digest,
                    blobs: Vec::new(),
                });
            } else {
                let bytes =
                    filtered_index(&top.bytes, &wanted).map_err(|e| RegistryError::Manifest {
                        reference: job.source.whole(),
                        source: e.into(),
                    })?;
                let digest = Digest::of(&bytes);
                manifests.push(ManifestCopy {
                    bytes,
                    media_type: top.media_type,
                    digest,
                    blobs: Vec::new(),
                });
            }
        }
    }
    Ok(ResolvedImage {
        job: job.clone(),
        manifests,
    })
}

/// The source index with only the wanted entries (everything else kept as is).
fn filtered_index(bytes: &[u8], wanted: &[&Descriptor]) -> Result<Bytes, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
    if let Some(list) = value.get_mut("manifests").and_then(|m| m.as_array_mut()) {
        list.retain(|entry| {
            entry
                .get("digest")
                .and_then(|d| d.as_str())
                .is_some_and(|d| wanted.iter().any(|w| w.digest == *d))
        });
    }
    Ok(Bytes::from(serde_json::to_vec_pretty(&value)?))
}
