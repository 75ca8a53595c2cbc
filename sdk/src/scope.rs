//! Mirror scopes: how much of the source a mirror rule covers, shared by every
//! publisher that writes one (ImageDigestMirrorSet / ImageTagMirrorSet entries,
//! `registries.conf` prefixes, containerd hosts).
//!
//! A rule has **namespace scope** (`registry/<path minus its last component>`,
//! e.g. `quay.io/org` → `mirror.local/prefix/org`) when the mirror kept the source
//! path — the destination path ends with the whole source path, component for
//! component — and **repository scope** (`registry/path`) otherwise: an image
//! renamed in the mirror (`targetRepo`, release components) covers only its own
//! repository. A one-component path's namespace is its registry
//! (`localhost:5000/app` → `localhost:5000`).
//!
//! `maxNestedPaths` (oc-mirror's `--max-nested-paths`) above 0 forces repository
//! scope everywhere. Both references are compared [normalized](ImageReference::normalized),
//! so `nginx`, `index.docker.io/nginx` and `registry-1.docker.io/library/nginx`
//! are the same source.

use crate::ImageReference;

/// The scope of the mirror rule for one image mirrored at a destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MirrorScope {
    /// What the rule matches: `registry/namespace` or `registry/repository`
    /// (normalized, no tag or digest).
    pub source: String,
    /// Where it sends pulls: the destination at the same scope.
    pub mirror: String,
    /// When the mirror kept the source path, what precedes it in the destination
    /// path (`prefix` for `quay.io/org/app` at `mirror.local/prefix/org/app`, `""`
    /// when nothing does), whatever the scope; `None` when the image was renamed.
    pub kept_path_prefix: Option<String>,
}

/// The mirror rule's scope for `source` mirrored at `destination`: namespace
/// scope when the mirror kept the source path, repository scope otherwise or
/// when `max_nested_paths` is above 0.
pub fn mirror_scope(
    source: &ImageReference,
    destination: &ImageReference,
    max_nested_paths: u64,
) -> MirrorScope {
    let source = source.normalized();
    let destination = destination.normalized();
    let kept_path_prefix =
        kept_path_prefix(&source.repository, &destination.repository).map(str::to_string);
    let (source, mirror) = if kept_path_prefix.is_some() && max_nested_paths == 0 {
        (namespace_scope(&source), namespace_scope(&destination))
    } else {
        (source.name(), destination.name())
    };
    MirrorScope {
        source,
        mirror,
        kept_path_prefix,
    }
}

/// When `destination_path` is `source_path` under a prefix (whole components),
/// that prefix (`""` for none).
fn kept_path_prefix<'a>(source_path: &str, destination_path: &'a str) -> Option<&'a str> {
    match destination_path.strip_suffix(source_path) {
        Some("") => Some(""),
        Some(prefix) => prefix.strip_suffix('/'),
        None => None,
    }
}

/// `registry/<path minus last component>`, or `registry` for a one-component path.
fn namespace_scope(reference: &ImageReference) -> String {
    match reference.namespace() {
        Some(namespace) => format!("{}/{namespace}", reference.registry),
        None => reference.registry.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(source: &str, destination: &str, max_nested_paths: u64) -> MirrorScope {
        mirror_scope(
            &ImageReference::parse(source).unwrap(),
            &ImageReference::parse(destination).unwrap(),
            max_nested_paths,
        )
    }

    fn s(source: &str, mirror: &str, prefix: Option<&str>) -> MirrorScope {
        MirrorScope {
            source: source.into(),
            mirror: mirror.into(),
            kept_path_prefix: prefix.map(str::to_string),
        }
    }

    #[test]
    fn namespace_scope_when_the_mirror_kept_the_path() {
        assert_eq!(
            scope(
                "quay.io/org/team/app:1.0",
                "mirror.local/prefix/org/team/app:1.0",
                0
            ),
            s(
                "quay.io/org/team",
                "mirror.local/prefix/org/team",
                Some("prefix")
            )
        );
        assert_eq!(
            scope("quay.io/org/app:1.0", "mirror.local/org/app:1.0", 0),
            s("quay.io/org", "mirror.local/org", Some(""))
        );
        // A one-component path's namespace is its registry.
        assert_eq!(
            scope("localhost:5000/app:1.0", "mirror.local/prefix/app:1.0", 0),
            s("localhost:5000", "mirror.local/prefix", Some("prefix"))
        );
        assert_eq!(
            scope("localhost:5000/app:1", "mirror.local:5000/app:1", 0),
            s("localhost:5000", "mirror.local:5000", Some(""))
        );
    }

    #[test]
    fn repository_scope_when_renamed_or_forced() {
        assert_eq!(
            scope("quay.io/org/app:1.0", "mirror.local/myorg/app:1.0", 0),
            s("quay.io/org/app", "mirror.local/myorg/app", None)
        );
        // Whole components only: `xorg/app` does not end with `org/app`.
        assert_eq!(
            scope("quay.io/org/app:1.0", "mirror.local/xorg/app:1.0", 0),
            s("quay.io/org/app", "mirror.local/xorg/app", None)
        );
        assert_eq!(
            scope(
                "quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64",
                "mirror.local/openshift/release-images:4.16.0-x86_64",
                0
            ),
            s(
                "quay.io/openshift-release-dev/ocp-release",
                "mirror.local/openshift/release-images",
                None
            )
        );
        // maxNestedPaths above 0: repository scope, the kept prefix still known.
        assert_eq!(
            scope(
                "quay.io/org/team/app:1.0",
                "mirror.local/prefix/org/team/app:1.0",
                3
            ),
            s(
                "quay.io/org/team/app",
                "mirror.local/prefix/org/team/app",
                Some("prefix")
            )
        );
    }

    #[test]
    fn docker_hub_under_any_name_is_one_source() {
        let expected = s("docker.io/library", "mirror.local/ns/library", Some("ns"));
        for source in [
            "nginx:1.25",
            "docker.io/nginx:1.25",
            "index.docker.io/nginx:1.25",
            "registry-1.docker.io/nginx:1.25",
            "registry-1.docker.io/library/nginx:1.25",
        ] {
            assert_eq!(
                scope(source, "mirror.local/ns/library/nginx:1.25", 0),
                expected,
                "{source}"
            );
        }
        // The destination is normalized too.
        assert_eq!(
            scope("quay.io/org/app:1", "registry-1.docker.io/org/app:1", 0),
            s("quay.io/org", "docker.io/org", Some(""))
        );
    }
}
