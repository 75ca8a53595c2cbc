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
}

impl FailedImage {
    /// The failures of a copy report.
    pub fn from_outcomes<'a>(outcomes: impl IntoIterator<Item = &'a ImageOutcome>) -> Vec<Self> {
        outcomes
            .into_iter()
            .filter_map(|o| match &o.status {
                ImageStatus::Failed(why) => Some(FailedImage {
                    image: o.source.whole(),
                    origin: o.origin,
                    kind: o.kind,
                    reason: why.clone(),
                }),
                _ => None,
            })
            .collect()
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
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<ImageFailures>())
        .map(ImageFailures::exit_code)
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
}
