//! Image references, and the place each source image takes in the mirror.
//!
//! Every workflow needs the same two answers: "what exactly is this image?" (a
//! registry, a repository path, a tag and/or a digest) and "where does it go?".
//! The parsing is oci-client's `Reference`; the naming rules are oc-mirror v2's,
//! kept here so that the copy engine, `mapping.txt` and (later) the cluster
//! resources all agree:
//!
//! - the destination keeps the source path without its host, under the mirror's
//!   prefix: `quay.io/org/app:1.0` → `mirror.local/prefix/org/app:1.0`;
//! - a source given only by digest is pushed under the tag `sha256-<hex>`;
//! - a source given by tag and digest is pulled by digest and pushed by tag;
//! - `targetRepo` / `targetTag` (v2alpha1 additional images) replace the path / tag.

use std::fmt;

pub use oci_client::Reference;

/// The tag used when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

/// Longest tag the distribution spec allows (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
const MAX_TAG_LEN: usize = 128;

/// A reference that could not be parsed or does not fit where it was used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The text is not an image reference at all.
    #[error("`{text}` is not a valid image reference: {reason}")]
    Invalid { text: String, reason: String },
    /// The mirror destination must be `docker://HOST[:PORT][/PATH]`.
    #[error(
        "`{text}` is not a mirror destination: {reason}\nhint: write it as `docker://HOST[:PORT][/NAMESPACE]`"
    )]
    Destination { text: String, reason: String },
    /// An imageset's metadata records a destination that is not `path:tag`.
    #[error("the imageset records the destination `{0}`, which is not `path:tag`")]
    Recorded(String),
}

/// Parses an image reference as a user wrote it (an optional `docker://` is
/// accepted). A reference with neither tag nor digest means `:latest`, as in
/// oc-mirror.
pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
    let bare = text.strip_prefix("docker://").unwrap_or(text);
    let parsed: Reference =
        bare.parse()
            .map_err(|e: oci_client::ParseError| ReferenceError::Invalid {
                text: text.to_string(),
                reason: e.to_string(),
            })?;
    if parsed.tag().is_none() && parsed.digest().is_none() {
        return Ok(Reference::with_tag(
            parsed.registry().to_string(),
            parsed.repository().to_string(),
            DEFAULT_TAG.to_string(),
        ));
    }
    Ok(parsed)
}

/// The reference to read an image by: its digest when it has one (a tag next to a
/// digest is only a label), otherwise its tag.
pub fn pull_reference(r: &Reference) -> Reference {
    match r.digest() {
        Some(d) => at_digest(r, d),
        None => r.clone(),
    }
}

/// The manifest `digest` in the repository of `r`.
pub fn at_digest(r: &Reference, digest: impl fmt::Display) -> Reference {
    Reference::with_digest(
        r.registry().to_string(),
        r.repository().to_string(),
        digest.to_string(),
    )
}

/// The tag oc-mirror v2 gives an image that was named only by digest:
/// `sha256:abc…` → `sha256-abc…`, cut to the longest tag the spec allows.
pub fn digest_tag(digest: &str) -> String {
    let mut tag = digest.replacen(':', "-", 1);
    tag.truncate(MAX_TAG_LEN);
    tag
}

/// A reference printed without the `docker.io/library` shortening, with tag and
/// digest when both are known: the form used in `mapping.txt` and the logs.
pub fn display(r: &Reference) -> String {
    r.whole()
}

/// Where mirrored images go: `docker://HOST[:PORT][/NAMESPACE…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorTarget {
    /// `host[:port]` of the mirror registry.
    pub registry: String,
    /// Optional path prefix under which every image is placed.
    pub namespace: Option<String>,
}

impl MirrorTarget {
    /// Parses `docker://HOST[:PORT][/NAMESPACE…]`; a tag or digest is refused
    /// because every image brings its own.
    pub fn parse(text: &str) -> Result<MirrorTarget, ReferenceError> {
        let err = |reason: &str| ReferenceError::Destination {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix("docker://")
            .ok_or_else(|| err("it does not start with `docker://`"))?;
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err(err("the registry host is missing"));
        }
        if rest.contains('@') {
            return Err(err("a destination takes no digest"));
        }
        let (registry, namespace) = match rest.split_once('/') {
            Some((host, path)) => (host, Some(path)),
            None => (rest, None),
        };
        if registry.chars().any(|c| c.is_whitespace()) || registry.is_empty() {
            return Err(err("the registry host is not valid"));
        }
        if let Some(ns) = namespace {
            if ns.rsplit('/').next().is_some_and(|last| last.contains(':')) {
                return Err(err("a destination takes no tag"));
            }
            // Check the path with the same grammar a repository name has.
            let probe = format!("{registry}/{ns}/probe:tag");
            parse(&probe).map_err(|_| err("the namespace is not a valid repository path (lowercase letters, digits and `._-` separators)"))?;
        }
        Ok(MirrorTarget {
            registry: registry.to_string(),
            namespace: namespace.map(str::to_string),
        })
    }

    /// The destination of `source` in this mirror. `target_repo` and `target_tag`
    /// override the path and the tag (v2alpha1 `additionalImages`).
    pub fn destination(
        &self,
        source: &Reference,
        target_repo: Option<&str>,
        target_tag: Option<&str>,
    ) -> Reference {
        let path = target_repo.unwrap_or(source.repository());
        let repository = match &self.namespace {
            Some(ns) => format!("{ns}/{path}"),
            None => path.to_string(),
        };
        let tag = match (target_tag, source.tag(), source.digest()) {
            (Some(t), _, _) => t.to_string(),
            (None, Some(t), _) => t.to_string(),
            (None, None, Some(d)) => digest_tag(d),
            (None, None, None) => DEFAULT_TAG.to_string(),
        };
        Reference::with_tag(self.registry.clone(), repository, tag)
    }

    /// `host[:port][/namespace]`: the prefix every image of this mirror has.
    pub fn prefix(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}", self.registry),
            None => self.registry.clone(),
        }
    }

    /// The repository `path` under this mirror's namespace.
    pub fn repository(&self, path: &str) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{path}"),
            None => path.to_string(),
        }
    }

    /// How metadata records `r`, an image placed in this mirror: `path:tag`
    /// below the prefix (see [`MirrorTarget::place_recorded`]).
    pub fn record(&self, r: &Reference) -> String {
        let whole = recorded_destination(r);
        match &self.namespace {
            Some(ns) => whole
                .strip_prefix(&format!("{ns}/"))
                .map(str::to_string)
                .unwrap_or(whole),
            None => whole,
        }
    }

    /// Where a destination recorded as `path:tag` (an imageset's metadata
    /// records them without a mirror) lands in this mirror.
    pub fn place_recorded(&self, relative: &str) -> Result<Reference, ReferenceError> {
        let (path, tag) = relative
            .rsplit_once(':')
            .filter(|(p, t)| !p.is_empty() && !t.is_empty() && !t.contains('/'))
            .ok_or_else(|| ReferenceError::Recorded(relative.to_string()))?;
        Ok(Reference::with_tag(
            self.registry.clone(),
            self.repository(path),
            tag.to_string(),
        ))
    }
}

/// How a destination is recorded in an imageset's metadata, where the mirror
/// is not known yet: `path:tag` (the inverse of [`MirrorTarget::place_recorded`]
/// for a mirror without a namespace).
pub fn recorded_destination(r: &Reference) -> String {
    format!("{}:{}", r.repository(), r.tag().unwrap_or(DEFAULT_TAG))
}

impl fmt::Display for MirrorTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "docker://{}/{}", self.registry, ns),
            None => write!(f, "docker://{}", self.registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn target(s: &str) -> MirrorTarget {
        MirrorTarget::parse(s).expect("valid target")
    }

    #[test]
    fn untagged_reference_means_latest() {
        let r = parse("quay.io/org/app").unwrap();
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.repository(), "org/app");
    }

    #[test]
    fn destination_keeps_source_path_under_prefix() {
        let dst = target("docker://mirror.local:5000/ocp").destination(
            &parse("quay.io/org/app:1.0").unwrap(),
            None,
            None,
        );
        assert_eq!(dst.whole(), "mirror.local:5000/ocp/org/app:1.0");
    }

    #[test]
    fn digest_only_source_gets_sha256_tag() {
        let src = parse(&format!("quay.io/org/app@{D}")).unwrap();
        let dst = target("docker://m.local").destination(&src, None, None);
        assert_eq!(dst.tag(), Some(&*format!("sha256-{}", &D[7..])));
    }

    #[test]
    fn tag_and_digest_pull_by_digest_push_by_tag() {
        let src = parse(&format!("quay.io/org/app:v1@{D}")).unwrap();
        assert_eq!(pull_reference(&src).digest(), Some(D));
        assert_eq!(pull_reference(&src).tag(), None);
        assert_eq!(
            target("docker://m.local")
                .destination(&src, None, None)
                .tag(),
            Some("v1")
        );
    }

    #[test]
    fn target_repo_and_tag_override() {
        let src = parse("quay.io/org/app:1.0").unwrap();
        let dst =
            target("docker://m.local/p").destination(&src, Some("custom/app"), Some("custom"));
        assert_eq!(dst.whole(), "m.local/p/custom/app:custom");
    }

    #[test]
    fn docker_hub_short_names_expand() {
        let dst = target("docker://m.local").destination(&parse("alpine").unwrap(), None, None);
        assert_eq!(dst.whole(), "m.local/library/alpine:latest");
    }

    #[test]
    fn bad_destinations_are_refused() {
        for bad in [
            "m.local/x",
            "docker://",
            "docker://m.local/x@sha256:00",
            "docker://m.local/x:tag",
            "docker://m.local/UPPER",
        ] {
            assert!(MirrorTarget::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(target("docker://m.local:5000/").namespace, None);
    }

    #[test]
    fn recorded_destinations_are_placed_under_the_namespace() {
        let t = target("docker://m.local:5000/ns/sub");
        assert_eq!(t.prefix(), "m.local:5000/ns/sub");
        let r = t.place_recorded("openshift/release:4.16.1-x86_64").unwrap();
        assert_eq!(
            r.whole(),
            "m.local:5000/ns/sub/openshift/release:4.16.1-x86_64"
        );
        assert_eq!(
            recorded_destination(&parse("quay.io/a/b:1").unwrap()),
            "a/b:1"
        );
        for bad in ["no-tag", ":tag", "path:", "a:b/c"] {
            assert!(t.place_recorded(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_tag_is_bounded() {
        assert_eq!(digest_tag("sha512:"), "sha512-");
        assert!(digest_tag(&format!("sha512:{}", "a".repeat(128))).len() <= MAX_TAG_LEN);
    }
}
