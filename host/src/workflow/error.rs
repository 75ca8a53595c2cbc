//! Why a workflow failed, and the one place a failure becomes an exit code.
//!
//! oc-mirror v2's exit codes are bit flags, so that a script can tell which
//! kind of content failed: 1 generic, 2 release, 4 operator, 8 additional
//! images, 16 helm. Images of several kinds failing give their bits OR-ed.

use crate::copy::{ImageKind, ImageOutcome, ImageStatus, Origin};

/// Any failure that is not about images of a known kind.
pub const EXIT_GENERIC: u8 = 1;
/// Release payloads, their components or the graph image failed.
pub const EXIT_RELEASE: u8 = 2;
/// Operator catalogs or operator images failed.
pub const EXIT_OPERATOR: u8 = 4;
/// Additional images failed.
pub const EXIT_ADDITIONAL_IMAGES: u8 = 8;
/// Images of helm charts failed.
pub const EXIT_HELM: u8 = 16;

/// The exit bit of an image, by the part of the configuration that asked for
/// it; a third party's images count by their kind.
pub fn exit_bit(origin: Origin, kind: ImageKind) -> u8 {
    match origin {
        Origin::Platform => EXIT_RELEASE,
        Origin::Operators => EXIT_OPERATOR,
        Origin::AdditionalImages => EXIT_ADDITIONAL_IMAGES,
        Origin::Helm => EXIT_HELM,
        Origin::Plugin => match kind {
            ImageKind::ReleasePayload | ImageKind::ReleaseComponent | ImageKind::GraphImage => {
                EXIT_RELEASE
            }
            ImageKind::OperatorCatalog | ImageKind::OperatorImage => EXIT_OPERATOR,
            ImageKind::Generic => EXIT_ADDITIONAL_IMAGES,
        },
    }
}

/// One image that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedImage {
    /// The source, as named.
    pub image: String,
    pub origin: Origin,
    pub kind: ImageKind,
    pub reason: String,
    /// What the content source said needs it (e.g. `bundle x (package y)`),
    /// so that the user learns what the failure breaks.
    pub needed_by: Vec<String>,
}

/// Most users of an image named in a failure; the rest are counted.
const MAX_NAMED_USERS: usize = 5;

impl FailedImage {
    /// The failures of a copy report, with what needs each image.
    pub fn from_outcomes<'a>(
        outcomes: impl IntoIterator<Item = &'a ImageOutcome>,
        uses: &crate::sources::Uses,
    ) -> Vec<Self> {
        outcomes
            .into_iter()
            .filter_map(|o| match &o.status {
                ImageStatus::Failed(why) => Some(FailedImage::new(
                    &o.source,
                    o.origin,
                    o.kind,
                    why.clone(),
                    uses,
                )),
                _ => None,
            })
            .collect()
    }

    /// One failed image, with what needs it.
    pub fn new(
        source: &crate::reference::Reference,
        origin: Origin,
        kind: ImageKind,
        reason: String,
        uses: &crate::sources::Uses,
    ) -> FailedImage {
        let image = source.whole();
        FailedImage {
            needed_by: uses.get(&image).cloned().unwrap_or_default(),
            image,
            origin,
            kind,
            reason,
        }
    }
}

/// Images that could not be mirrored, resolved or published: the workflow
/// stops with the list, and with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct ImageFailures {
    /// What went wrong, e.g. "2 of 5 images could not be mirrored".
    pub headline: String,
    pub failed: Vec<FailedImage>,
    /// What to do, without the `hint: ` prefix.
    pub hint: Option<String>,
}

impl ImageFailures {
    fn message(&self) -> String {
        let mut out = format!("{}:", self.headline);
        for f in &self.failed {
            out.push_str(&format!("\n  {}: {}", f.image, f.reason));
            if !f.needed_by.is_empty() {
                let named = &f.needed_by[..f.needed_by.len().min(MAX_NAMED_USERS)];
                let rest = f.needed_by.len() - named.len();
                out.push_str(&format!("\n    needed by {}", named.join(", ")));
                if rest > 0 {
                    out.push_str(&format!(" and {rest} more"));
                }
            }
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\nhint: {hint}"));
        }
        out
    }

    /// The bits of every kind that failed.
    pub fn exit_code(&self) -> u8 {
        let code = self
            .failed
            .iter()
            .fold(0, |acc, f| acc | exit_bit(f.origin, f.kind));
        if code == 0 { EXIT_GENERIC } else { code }
    }
}

/// The exit code of a failed run: the kinds of the images that failed, else 1.
/// A content source that failed on its section gives that section's bit.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| {
            if let Some(f) = e.downcast_ref::<ImageFailures>() {
                return Some(f.exit_code());
            }
            match e.downcast_ref::<crate::sources::SourceError>() {
                Some(crate::sources::SourceError::Section { origin, .. }) => {
                    Some(exit_bit(*origin, ImageKind::Generic))
                }
                _ => None,
            }
        })
        .unwrap_or(EXIT_GENERIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(origin: Origin, kind: ImageKind) -> FailedImage {
        FailedImage {
            image: "quay.io/a/b:1".into(),
            origin,
            kind,
            reason: "gone".into(),
            needed_by: Vec::new(),
        }
    }

    #[test]
    fn each_kind_has_its_bit_and_several_are_ored() {
        let one = |origin, kind| {
            ImageFailures {
                headline: "x".into(),
                failed: vec![failed(origin, kind)],
                hint: None,
            }
            .exit_code()
        };
        assert_eq!(one(Origin::Platform, ImageKind::ReleasePayload), 2);
        assert_eq!(one(Origin::Platform, ImageKind::GraphImage), 2);
        assert_eq!(one(Origin::Operators, ImageKind::OperatorImage), 4);
        assert_eq!(one(Origin::AdditionalImages, ImageKind::Generic), 8);
        assert_eq!(one(Origin::Helm, ImageKind::Generic), 16);
        assert_eq!(one(Origin::Plugin, ImageKind::OperatorCatalog), 4);
        assert_eq!(one(Origin::Plugin, ImageKind::Generic), 8);
        let mixed = ImageFailures {
            headline: "x".into(),
            failed: vec![
                failed(Origin::Platform, ImageKind::ReleaseComponent),
                failed(Origin::Helm, ImageKind::Generic),
                failed(Origin::Helm, ImageKind::Generic),
            ],
            hint: None,
        };
        assert_eq!(mixed.exit_code(), 18);
    }

    #[test]
    fn other_errors_are_generic_and_context_is_seen_through() {
        assert_eq!(exit_code(&anyhow::anyhow!("no config")), 1);
        let err = anyhow::Error::new(ImageFailures {
            headline: "1 of 1 images could not be mirrored".into(),
            failed: vec![failed(Origin::Operators, ImageKind::OperatorCatalog)],
            hint: Some("run again".into()),
        })
        .context("mirroring");
        assert_eq!(exit_code(&err), 4);
        assert_eq!(
            format!("{}", err.root_cause()),
            "1 of 1 images could not be mirrored:\n  quay.io/a/b:1: gone\nhint: run again"
        );
    }

    #[test]
    fn a_failure_names_what_needs_the_image() {
        let users: Vec<String> = (1..=7)
            .map(|i| format!("bundle b.v{i} (package b)"))
            .collect();
        let uses = crate::sources::Uses::from([("quay.io/a/b:1".to_string(), users)]);
        let source = crate::reference::parse("quay.io/a/b:1").unwrap();
        let f = FailedImage::new(
            &source,
            Origin::Operators,
            ImageKind::OperatorImage,
            "gone".into(),
            &uses,
        );
        let text = ImageFailures {
            headline: "1 of 9 images could not be mirrored".into(),
            failed: vec![f],
            hint: None,
        }
        .to_string();
        assert_eq!(
            text,
            "1 of 9 images could not be mirrored:\n  quay.io/a/b:1: gone\n    needed by bundle b.v1 (package b), bundle b.v2 (package b), bundle b.v3 (package b), bundle b.v4 (package b), bundle b.v5 (package b) and 2 more"
        );
    }
}
