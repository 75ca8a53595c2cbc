//! How registries and `auths` keys are compared.
//!
//! The same registry is written many ways: with or without a scheme, a
//! trailing `/v1/` or `/v2/`, in capitals, or as one of Docker Hub's aliases.
//! Keys may also be scoped to a repository path. Everything is reduced to one
//! comparable form here, and a repository is turned into the keys that cover
//! it, most specific first.

/// Canonical name for Docker Hub; its aliases are folded into it.
pub(super) const DOCKER_HUB: &str = "docker.io";

/// Normalises an `auths`/`credHelpers` key: drops an `http(s)://` scheme,
/// trailing `/`, and an API suffix `/v1` or `/v2` (only on URL forms, or
/// directly after the host, so a repository named `v2` keeps its key), and
/// folds Docker Hub's host aliases.
pub(super) fn normalize_key(raw: &str) -> String {
    let trimmed = raw.trim();
    let (had_scheme, rest) = strip_scheme(trimmed);
    let mut rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if had_scheme || path == "v1" || path == "v2" {
        for suffix in ["/v1", "/v2"] {
            if let Some(stripped) = rest.strip_suffix(suffix) {
                rest = stripped.trim_end_matches('/');
                break;
            }
        }
    }
    let (_, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = canonical_host(host);
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// Strips a case-insensitive `http://` or `https://`, saying whether one was there.
fn strip_scheme(text: &str) -> (bool, &str) {
    for scheme in ["https://", "http://"] {
        if let Some(prefix) = text.get(..scheme.len())
            && prefix.eq_ignore_ascii_case(scheme)
        {
            return (true, &text[scheme.len()..]);
        }
    }
    (false, text)
}

/// The comparable form of a registry host: no scheme or slashes, lower
/// case, Docker Hub aliases folded into `docker.io`.
pub(super) fn canonical_host(registry: &str) -> String {
    let (_, rest) = strip_scheme(registry.trim());
    let host = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        _ => host,
    }
}

/// Keys to try for a repository, most specific first:
/// `host/a/b/c`, `host/a/b`, `host/a`, `host`.
pub(super) fn candidate_keys(host: &str, repository: &str) -> Vec<String> {
    let repository = repository.trim_matches('/');
    let mut name = if repository.is_empty() {
        host.to_owned()
    } else if host == DOCKER_HUB && !repository.contains('/') {
        // Docker Hub's official images live under `library/`.
        format!("{host}/library/{repository}")
    } else {
        format!("{host}/{repository}")
    };
    let mut keys = Vec::new();
    loop {
        keys.push(name.clone());
        match name.rfind('/') {
            Some(slash) => name.truncate(slash),
            None => break,
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::auth::files::redact_quoted;
    use crate::registry::auth::test_support::*;

    /// Path-scoped keys: `host/ns/repo` over `host/ns` over `host`, by path segment.
    #[tokio::test]
    async fn most_specific_key_wins() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[
                ("quay.io", "host", "p"),
                ("quay.io/ns", "namespace", "p"),
                ("quay.io/ns/repo", "repo", "p"),
                ("quay.io/ns/repo-other", "other", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "quay.io", "ns/repo").await.as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(&store, "quay.io", "ns/repo/sub").await.as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(&store, "quay.io", "ns/another").await.as_deref(),
            Some("namespace")
        );
        // A key is a path prefix, not a string prefix.
        assert_eq!(
            user(&store, "quay.io", "ns/rep").await.as_deref(),
            Some("namespace")
        );
        assert_eq!(
            user(&store, "quay.io", "nsx/repo").await.as_deref(),
            Some("host")
        );
        assert_eq!(user(&store, "quay.io", "").await.as_deref(), Some("host"));
    }

    /// `docker.io`, `index.docker.io`, `registry-1.docker.io` and the v1 URL are one registry.
    #[tokio::test]
    async fn docker_hub_aliases() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[("https://index.docker.io/v1/", "hub", "p")]),
        );
        sb.write(
            "home/.docker/config.json",
            &auths(&[
                ("registry-1.docker.io", "reg1", "p"),
                ("index.docker.io/myorg", "org", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "docker.io", "library/busybox")
                .await
                .as_deref(),
            Some("hub")
        );
        assert_eq!(
            user(&store, "index.docker.io", "busybox").await.as_deref(),
            Some("hub")
        );
        assert_eq!(
            user(&store, "registry-1.docker.io", "x/y").await.as_deref(),
            Some("hub")
        );

        // With only the second file, `registry-1.docker.io` serves docker.io
        // and a path-scoped alias key still scopes.
        let sb2 = Sandbox::new();
        sb2.write(
            "home/.docker/config.json",
            &auths(&[
                ("registry-1.docker.io", "reg1", "p"),
                ("index.docker.io/myorg", "org", "p"),
            ]),
        );
        let store = sb2.store();
        assert_eq!(
            user(&store, "docker.io", "library/busybox")
                .await
                .as_deref(),
            Some("reg1")
        );
        assert_eq!(
            user(&store, "docker.io", "myorg/app").await.as_deref(),
            Some("org")
        );
        // Other registries are not Docker Hub.
        assert_eq!(user(&store, "quay.io", "myorg/app").await, None);
    }

    /// Scheme, trailing slash and API-version suffixes are dropped from keys.
    #[tokio::test]
    async fn url_form_keys_are_normalised() {
        let sb = Sandbox::new();
        sb.write(
            "run/containers/auth.json",
            &auths(&[
                ("http://127.0.0.1:5000", "local", "p"),
                ("https://registry.example.com/v2/", "v2", "p"),
                ("HTTPS://Upper.Example.com/", "upper", "p"),
                ("plain.example.com/", "plain", "p"),
                ("repo.example.com/ns/v2", "repo-named-v2", "p"),
            ]),
        );
        let store = sb.store();
        assert_eq!(
            user(&store, "127.0.0.1:5000", "a/b").await.as_deref(),
            Some("local")
        );
        assert_eq!(
            user(&store, "registry.example.com", "a").await.as_deref(),
            Some("v2")
        );
        assert_eq!(
            user(&store, "upper.example.com", "a").await.as_deref(),
            Some("upper")
        );
        assert_eq!(
            user(&store, "plain.example.com", "a").await.as_deref(),
            Some("plain")
        );
        // Without a scheme, a trailing `v2` deeper in the path is a repository.
        assert_eq!(
            user(&store, "repo.example.com", "ns/v2").await.as_deref(),
            Some("repo-named-v2")
        );
        assert_eq!(user(&store, "repo.example.com", "ns/other").await, None);
        // 127.0.0.1 on another port is another registry.
        assert_eq!(user(&store, "127.0.0.1:5001", "a").await, None);
    }

    /// Unit checks for the key and candidate helpers.
    #[test]
    fn key_normalisation() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("http://Host:5000"), "host:5000");
        assert_eq!(normalize_key("host/v2/"), "host");
        assert_eq!(normalize_key("host/ns/v2"), "host/ns/v2");
        assert_eq!(normalize_key("https://host/ns/"), "host/ns");
        assert_eq!(
            candidate_keys("quay.io", "/a/b/"),
            vec!["quay.io/a/b", "quay.io/a", "quay.io"]
        );
        assert_eq!(
            candidate_keys("docker.io", "alpine"),
            vec!["docker.io/library/alpine", "docker.io/library", "docker.io"]
        );
        assert_eq!(
            redact_quoted(r#"invalid type: string "abc", expected `x`"#),
            "invalid type: string \"…\", expected `…`"
        );
    }
}
