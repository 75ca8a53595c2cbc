//! Content sources: turn sections of the ImageSetConfiguration into images.
//!
//! This is the seam where content-source plugins plug in: each source serves one
//! section of `mirror:` and answers "which images, going where?". Today the only
//! source is the built-in one for `additionalImages`; releases, operators and
//! helm charts arrive as WebAssembly plugins behind the same shape. The host
//! then applies `blockedImages` to whatever the sources returned, so that no
//! source can bypass it.

use regex::Regex;

use crate::config::ImageSetConfiguration;
use crate::copy::{CopyPlan, ImageJob};
use crate::reference::{self, MirrorTarget, ReferenceError};

/// A source could not turn its section into images.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`mirror.{section}[{index}]`: {source}")]
    Reference {
        section: &'static str,
        index: usize,
        source: ReferenceError,
    },
    #[error(
        "`mirror.{section}` is not supported yet by this oc-mirror; it is parsed and validated, but nothing is mirrored for it\nhint: remove the section, or mirror those images with `additionalImages`"
    )]
    Unsupported { section: &'static str },
}

/// One section of `mirror:` served by a content source.
pub trait ContentSource {
    /// The key of the section it serves, e.g. `additionalImages`.
    fn section(&self) -> &'static str;
    /// The images the section asks for, with their destinations in `target`.
    fn resolve(
        &self,
        config: &ImageSetConfiguration,
        target: &MirrorTarget,
    ) -> Result<Vec<ImageJob>, SourceError>;
}

/// `mirror.additionalImages`: each entry is one image, mirrored under its own
/// path (or `targetRepo` / `targetTag`), with optional platform filtering.
pub struct AdditionalImages;

impl ContentSource for AdditionalImages {
    fn section(&self) -> &'static str {
        "additionalImages"
    }

    fn resolve(
        &self,
        config: &ImageSetConfiguration,
        target: &MirrorTarget,
    ) -> Result<Vec<ImageJob>, SourceError> {
        config
            .mirror
            .additional_images
            .iter()
            .enumerate()
            .map(|(index, img)| {
                let source =
                    reference::parse(&img.name).map_err(|source| SourceError::Reference {
                        section: "additionalImages",
                        index,
                        source,
                    })?;
                let destination = target.destination(
                    &source,
                    img.target_repo.as_deref(),
                    img.target_tag.as_deref(),
                );
                Ok(ImageJob {
                    source,
                    destination,
                    platforms: img.platforms.clone(),
                    origin: "additionalImages",
                })
            })
            .collect()
    }
}

/// Sections that are parsed but have no source yet; asking for them is an
/// error rather than a silent no-op, so nobody believes they were mirrored.
fn unsupported_sections(config: &ImageSetConfiguration) -> Vec<&'static str> {
    let m = &config.mirror;
    let mut out = Vec::new();
    if m.platform
        .as_ref()
        .is_some_and(|p| !p.channels.is_empty() || p.release.is_some() || p.graph)
    {
        out.push("platform");
    }
    if !m.operators.is_empty() {
        out.push("operators");
    }
    if m.helm
        .as_ref()
        .is_some_and(|h| !h.repositories.is_empty() || !h.local.is_empty())
    {
        out.push("helm");
    }
    out
}

/// Images blocked by `blockedImages`, with the pattern that blocked each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub image: String,
    pub pattern: String,
}

/// Runs every source and applies `blockedImages`: an unanchored regular
/// expression that blocks an image when it matches its source or its
/// destination (as oc-mirror v2 does). Duplicates (same source and destination)
/// are kept once. Returns the plan and what was blocked.
pub fn build_plan(
    config: &ImageSetConfiguration,
    target: &MirrorTarget,
) -> Result<(CopyPlan, Vec<Blocked>), SourceError> {
    if let Some(section) = unsupported_sections(config).into_iter().next() {
        return Err(SourceError::Unsupported { section });
    }
    let sources: [&dyn ContentSource; 1] = [&AdditionalImages];
    let patterns: Vec<Regex> = config.blocked_patterns();
    let mut images: Vec<ImageJob> = Vec::new();
    let mut blocked = Vec::new();
    for source in sources {
        for job in source.resolve(config, target)? {
            let (src, dst) = (job.source.whole(), job.destination.whole());
            if let Some(p) = patterns
                .iter()
                .find(|p| p.is_match(&src) || p.is_match(&dst))
            {
                blocked.push(Blocked {
                    image: src,
                    pattern: p.as_str().to_string(),
                });
                continue;
            }
            if !images
                .iter()
                .any(|j| j.source == job.source && j.destination == job.destination)
            {
                images.push(job);
            }
        }
    }
    Ok((CopyPlan { images }, blocked))
}

/// `mapping.txt` for a plan: one `docker://SOURCE=docker://DESTINATION` line per image, sorted.
pub fn mapping(plan: &CopyPlan) -> String {
    mapping_text(plan.images.iter().map(|j| (&j.source, &j.destination)))
}

/// `mapping.txt` for source/destination pairs: sorted, without duplicates.
pub fn mapping_text<'a>(
    pairs: impl Iterator<
        Item = (
            &'a crate::reference::Reference,
            &'a crate::reference::Reference,
        ),
    >,
) -> String {
    let mut lines: Vec<String> = pairs
        .map(|(s, d)| format!("docker://{}=docker://{}", s.whole(), d.whole()))
        .collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
