//! Image references: `[registry/]path[:tag][@digest]`, read the way container
//! tools read them (the distribution/reference grammar, as oci-spec's `Reference`
//! implements it, which the host uses too).
//!
//! - The first path component is the registry if it contains `.` or `:` or is
//!   `localhost`; otherwise the registry is `docker.io`.
//! - `index.docker.io` is spelled `docker.io`, and a one-component Docker Hub
//!   path gets `library/` (`nginx` → `docker.io/library/nginx`).
//! - A reference with neither tag nor digest means the tag `latest`.
//! - An optional `docker://` in front is accepted.
//!
//! Container runtimes know Docker Hub by more names than the grammar does:
//! [`ImageReference::normalized`] (and [`normalize_registry`]) spell
//! `registry-1.docker.io` as `docker.io` too, which is what a publisher writing
//! mirror configuration needs; [`registry_api_host`] goes the other way.

use std::fmt;

use crate::Error;

/// Docker Hub, as references (and container runtimes' mirror rules) name it.
pub const DOCKER_HUB: &str = "docker.io";
/// The other names Docker Hub goes by: its legacy index, and the host that serves
/// its registry API.
pub const DOCKER_HUB_ALIASES: &[&str] = &["index.docker.io", DOCKER_HUB_API_HOST];
/// The host that serves Docker Hub's registry API (where clients send `docker.io`
/// pulls).
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The tag meant when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path the grammar allows.
const MAX_REPOSITORY_LEN: usize = 255;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageReference {
    /// `host[:port]`, e.g. `quay.io`, `localhost:5000`, `docker.io`.
    pub registry: String,
    /// The repository path under the registry, e.g. `org/app`, `library/nginx`.
    pub repository: String,
    /// The tag, if named (`latest` when neither tag nor digest was).
    pub tag: Option<String>,
    /// The digest (`sha256:…`), if named.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses `text`; an [`Error::InvalidConfig`] says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageReference, Error> {
        parse(text).map_err(|reason| {
            Error::InvalidConfig(format!("`{text}` is not a valid image reference: {reason}"))
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository path without its last component (`org` for `org/app`), or
    /// `None` for a one-component path.
    pub fn namespace(&self) -> Option<&str> {
        self.repository.rsplit_once('/').map(|(ns, _)| ns)
    }

    /// This reference as container runtimes match it: Docker Hub's other names
    /// ([`DOCKER_HUB_ALIASES`]) are `docker.io`, and a one-component Docker Hub
    /// path gets `library/` (`registry-1.docker.io/nginx` →
    /// `docker.io/library/nginx`). Other registries, the tag and the digest are
    /// kept. Every publisher that writes mirror rules compares references in
    /// this form.
    pub fn normalized(&self) -> ImageReference {
        let registry = normalize_registry(&self.registry);
        let repository = if registry == DOCKER_HUB && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        };
        ImageReference {
            registry: registry.to_string(),
            repository,
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }
}

/// `registry` as container runtimes match it: `docker.io` for any of Docker
/// Hub's names, anything else unchanged (registries are compared exactly, so
/// `Docker.io` is not Docker Hub).
pub fn normalize_registry(registry: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&registry) {
        DOCKER_HUB
    } else {
        registry
    }
}

/// The host that serves `registry`'s API: [`DOCKER_HUB_API_HOST`] for Docker
/// Hub (under any of its names), `registry` itself otherwise.
pub fn registry_api_host(registry: &str) -> &str {
    if normalize_registry(registry) == DOCKER_HUB {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

impl fmt::Display for ImageReference {
    /// `registry/repository[:tag][@digest]`, in full (no Docker Hub shortening).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageReference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageReference::parse(s)
    }
}

fn parse(text: &str) -> Result<ImageReference, String> {
    let text = text.strip_prefix("docker://").unwrap_or(text);
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(check_digest(digest)?)),
        None => (text, None),
    };
    // A tag is a `:` after the last `/` (a `:` before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let tag = &rest[last_slash + i + 1..];
            check_tag(tag)?;
            (&rest[..last_slash + i], Some(tag.to_string()))
        }
        None => (rest, None),
    };
    let components: Vec<&str> = name.split('/').collect();
    let (registry, path) = match components.as_slice() {
        [first, rest @ ..] if !rest.is_empty() => {
            if !valid_domain(first) {
                return Err(format!(
                    "`{first}` is neither a registry nor a path component"
                ));
            }
            if first.contains('.') || first.contains(':') || *first == "localhost" {
                (first.to_string(), rest.to_vec())
            } else {
                check_path_component(first)?;
                (DOCKER_HUB.to_string(), components.clone())
            }
        }
        _ => (DOCKER_HUB.to_string(), components.clone()),
    };
    for component in &path {
        check_path_component(component)?;
    }
    // The grammar knows only the legacy index as another name of Docker Hub
    // (as the host's parser does); `normalized` knows them all.
    let registry = if registry == DOCKER_HUB_ALIASES[0] {
        DOCKER_HUB.to_string()
    } else {
        registry
    };
    let mut repository = path.join("/");
    if registry == DOCKER_HUB && path.len() == 1 {
        repository = format!("library/{repository}");
    }
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(format!(
            "the repository path is longer than {MAX_REPOSITORY_LEN}"
        ));
    }
    let tag = match (&tag, &digest) {
        (None, None) => Some(DEFAULT_TAG.to_string()),
        _ => tag,
    };
    Ok(ImageReference {
        registry,
        repository,
        tag,
        digest,
    })
}

/// `host[:port]`: dot-separated labels of letters, digits and inner `-`.
fn valid_domain(text: &str) -> bool {
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks a repository path without registry (`org/app`): `/`-separated
/// components of the reference grammar; the reason when it is not one.
pub fn check_repository_path(path: &str) -> Result<(), String> {
    if path.len() > MAX_REPOSITORY_LEN {
        return Err(format!("it is longer than {MAX_REPOSITORY_LEN}"));
    }
    path.split('/').try_for_each(check_path_component)
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn check_path_component(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = !bytes.is_empty() && alnum(bytes[0]) && alnum(bytes[bytes.len() - 1]) && {
        // Between alphanumeric runs: one `.`, one or two `_`, or dashes only.
        let mut i = 0;
        let mut ok = true;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let sep = &text[start..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
                ok = false;
                break;
            }
        }
        ok
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a valid path component (lowercase letters, digits, and `.`, `_`, `__` or `-` between them)"
        ))
    }
}

/// Checks a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`); the reason when it is not
/// one.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
    {
        Ok(())
    } else {
        Err(format!("`{tag}` is not a valid tag"))
    }
}

/// `algorithm:hex`, with the length the algorithm implies for sha256/384/512.
fn check_digest(digest: &str) -> Result<String, String> {
    let bad = || format!("`{digest}` is not a valid digest");
    let (algorithm, hex) = digest.split_once(':').ok_or_else(bad)?;
    if hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(format!("`{algorithm}` is not a supported digest algorithm")),
    };
    if hex.len() != expected {
        return Err(bad());
    }
    Ok(digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn p(text: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageReference::parse(text).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn parses_like_container_tools() {
        assert_eq!(
            p("busybox"),
            (
                s("docker.io"),
                s("library/busybox"),
                Some(s("latest")),
                None
            )
        );
        assert_eq!(
            p("test.com:tag"),
            (s("docker.io"), s("library/test.com"), Some(s("tag")), None)
        );
        assert_eq!(
            p("opensuse/leap:15.3"),
            (s("docker.io"), s("opensuse/leap"), Some(s("15.3")), None)
        );
        assert_eq!(
            p("index.docker.io/nginx"),
            (s("docker.io"), s("library/nginx"), Some(s("latest")), None)
        );
        assert_eq!(
            p("localhost/app"),
            (s("localhost"), s("app"), Some(s("latest")), None)
        );
        assert_eq!(
            p("localhost:5000/org/app:1.0"),
            (s("localhost:5000"), s("org/app"), Some(s("1.0")), None)
        );
        assert_eq!(
            p(&format!("quay.io/a/b@{D}")),
            (s("quay.io"), s("a/b"), None, Some(s(D)))
        );
        assert_eq!(
            p(&format!("docker://quay.io/a/b:v1@{D}")),
            (s("quay.io"), s("a/b"), Some(s("v1")), Some(s(D)))
        );
        let r = ImageReference::parse(&format!("quay.io/a/b:v1@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("quay.io/a/b:v1@{D}"));
        assert_eq!(r.name(), "quay.io/a/b");
        assert_eq!(r.namespace(), Some("a"));
    }

    #[test]
    fn normalizes_docker_hub_as_runtimes_match_it() {
        let n = |text: &str| {
            ImageReference::parse(text)
                .unwrap()
                .normalized()
                .to_string()
        };
        assert_eq!(n("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(
            n("index.docker.io/nginx:1.25"),
            "docker.io/library/nginx:1.25"
        );
        assert_eq!(
            n("registry-1.docker.io/nginx:1.25"),
            "docker.io/library/nginx:1.25"
        );
        assert_eq!(
            n(&format!("registry-1.docker.io/org/app@{D}")),
            format!("docker.io/org/app@{D}")
        );
        assert_eq!(n("docker.io/org/app"), "docker.io/org/app:latest");
        // Other registries keep one-component paths as they are.
        assert_eq!(n("localhost:5000/app:1"), "localhost:5000/app:1");
        assert_eq!(n("quay.io/org/app:1"), "quay.io/org/app:1");
        // The parser itself leaves the API host alone (as the host's does).
        assert_eq!(
            ImageReference::parse("registry-1.docker.io/nginx")
                .unwrap()
                .registry,
            "registry-1.docker.io"
        );
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(normalize_registry(hub), "docker.io");
            assert_eq!(registry_api_host(hub), "registry-1.docker.io");
        }
        assert_eq!(normalize_registry("quay.io"), "quay.io");
        assert_eq!(normalize_registry("Docker.io"), "Docker.io");
        assert_eq!(registry_api_host("mirror.local:5000"), "mirror.local:5000");
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "Quay.io",
            "quay.io/Org/app",
            "quay.io/org/app:",
            "quay.io/org/app@sha256:abc",
            "quay.io/org/app@md5:11111111111111111111111111111111",
            "quay.io//app",
            "quay.io/app-",
            "quay.io/a...b",
            "-quay.io/app",
        ] {
            assert!(
                matches!(ImageReference::parse(bad), Err(Error::InvalidConfig(_))),
                "{bad}"
            );
        }
        assert!(ImageReference::parse("quay.io/a__b/c--d/e.f_g").is_ok());
    }
}
