//! Step 4 of loading: the machinery every section's checks are built on.
//!
//! [`Checker`] carries the text being loaded, so that each refusal can name
//! the line of its field; the sections add their own checks to it in their
//! files (`impl Checker` blocks). Here are the checks several sections share
//! (image references, tags, version ranges) and the grammars behind them.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::error::ConfigError;
use super::line_finder::find_line;

/// The checks that run after parsing; knows the text so that every error
/// can name its line.
pub(super) struct Checker<'a> {
    pub(super) origin: &'a str,
    pub(super) text: &'a str,
}

pub(super) type Check = Result<(), ConfigError>;

impl Checker<'_> {
    fn error(&self, field: &str, message: String, hint: Option<&str>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            line: find_line(self.text, field),
            field: field.to_string(),
            message,
            hint: hint.map(str::to_string),
        }
    }

    pub(super) fn invalid(&self, field: &str, message: String) -> ConfigError {
        self.error(field, message, None)
    }

    pub(super) fn invalid_hint(&self, field: &str, message: String, hint: &str) -> ConfigError {
        self.error(field, message, Some(hint))
    }

    pub(super) fn image_reference(&self, reference: &str, field: &str) -> Check {
        if reference.is_empty() {
            return Err(self.invalid(field, "must not be empty".into()));
        }
        check_image_reference(reference).map_err(|reason| {
            self.invalid(
                field,
                format!("`{reference}` is not a valid image reference: {reason}"),
            )
        })
    }

    pub(super) fn tag(&self, tag: &str, field: &str) -> Check {
        if TAG.is_match(tag) {
            return Ok(());
        }
        Err(self.invalid(
            field,
            format!(
                "`{tag}` is not a valid tag: use up to 128 letters, digits, `_`, `.` and `-`, \
                 not starting with `.` or `-`"
            ),
        ))
    }

    /// `minVersion` and `maxVersion` under `at`: both semver, min ≤ max.
    pub(super) fn version_range(
        &self,
        min: &Option<String>,
        max: &Option<String>,
        at: &str,
    ) -> Check {
        let low = self.semver(min, &format!("{at}.minVersion"))?;
        let high = self.semver(max, &format!("{at}.maxVersion"))?;
        if let (Some(low), Some(high), Some(min), Some(max)) = (low, high, min, max)
            && low.cmp_precedence(&high) == Ordering::Greater
        {
            return Err(self.invalid(
                &format!("{at}.maxVersion"),
                format!("`{max}` is lower than `minVersion` `{min}`"),
            ));
        }
        Ok(())
    }

    fn semver<'v>(
        &self,
        value: &'v Option<String>,
        field: &str,
    ) -> Result<Option<Semver<'v>>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        parse_semver(value).map(Some).map_err(|reason| {
            self.invalid_hint(
                field,
                format!("`{value}` is not a semantic version: {reason}"),
                "write all three numbers, e.g. `4.18.0`",
            )
        })
    }
}

pub(super) fn backticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-line reason from a regex error (its `Display` draws a caret
/// diagram over several lines).
pub(super) fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or_default())
        .to_string()
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (OCI distribution spec).
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$").expect("constant regex"));

/// One path component of a repository name (distribution reference grammar).
static PATH_COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("constant regex")
});

/// A registry host: DNS name, or IPv6 in brackets, with an optional port.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$",
    )
    .expect("constant regex")
});

static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$").expect("constant regex"));

/// Longest repository name (registry included) that registries accept.
const MAX_NAME_LEN: usize = 255;

/// Checks `[registry/]path[:tag][@sha256:digest]`; returns why it is not one.
///
/// The registry is optional, as in `docker pull ubuntu`: the first
/// component counts as a registry when it has a `.` or `:`, is `localhost`,
/// or has capitals, which is how the container tools decide.
pub(super) fn check_image_reference(reference: &str) -> Result<(), String> {
    if reference.contains("://") {
        return Err("remove the transport prefix (such as `docker://`)".into());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest
        && !DIGEST.is_match(digest)
    {
        return Err(format!(
            "digest `{digest}` is not `sha256:` followed by 64 lowercase hex digits"
        ));
    }
    // A tag is a `:` after the last `/`; an earlier `:` is a registry port.
    let last_component = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_component..].rfind(':') {
        Some(colon) => {
            let colon = last_component + colon;
            (&rest[..colon], Some(&rest[colon + 1..]))
        }
        None => (rest, None),
    };
    if let Some(tag) = tag
        && !TAG.is_match(tag)
    {
        return Err(format!(
            "tag `{tag}` must be up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the name is longer than {MAX_NAME_LEN} characters"));
    }
    let path = match name.split_once('/') {
        Some((first, path))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            if !DOMAIN.is_match(first) {
                return Err(format!("`{first}` is not a valid registry host"));
            }
            path
        }
        _ => name,
    };
    check_repository_path(path)
}

/// Checks a repository path like `my-org/redhat-operator-index`.
pub(super) fn check_repository_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository path is empty".into());
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err("the path has an empty component (`//` or a `/` at either end)".into());
        }
        if !PATH_COMPONENT.is_match(component) {
            return Err(format!(
                "path component `{component}` must be lowercase letters and digits, \
                 separated by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

/// A parsed semantic version; only what ordering needs.
#[derive(Debug)]
struct Semver<'a> {
    core: [u64; 3],
    pre: Vec<&'a str>,
}

/// Parses `MAJOR.MINOR.PATCH[-pre][+build]` (semver.org 2.0.0).
fn parse_semver<'a>(text: &'a str) -> Result<Semver<'a>, String> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = numbers.as_slice() else {
        return Err(format!(
            "expected MAJOR.MINOR.PATCH, found {} number(s)",
            numbers.len()
        ));
    };
    let mut parsed = [0u64; 3];
    for (slot, number) in parsed.iter_mut().zip([major, minor, patch]) {
        if !is_numeric(number) {
            return Err(format!("`{number}` is not a number"));
        }
        if number.len() > 1 && number.starts_with('0') {
            return Err(format!("`{number}` has a leading zero"));
        }
        *slot = number
            .parse()
            .map_err(|_| format!("`{number}` is too large"))?;
    }
    let identifiers = |part: &'a str, what: &str| -> Result<Vec<&'a str>, String> {
        part.split('.')
            .map(|id| {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    Err(format!(
                        "{what} `{part}` must be dot-separated letters, digits and `-`"
                    ))
                } else {
                    Ok(id)
                }
            })
            .collect()
    };
    let pre = match pre {
        Some(pre) => identifiers(pre, "pre-release")?,
        None => Vec::new(),
    };
    if let Some(id) = pre
        .iter()
        .find(|id| is_numeric(id) && id.len() > 1 && id.starts_with('0'))
    {
        return Err(format!("pre-release identifier `{id}` has a leading zero"));
    }
    if let Some(build) = build {
        identifiers(build, "build metadata")?;
    }
    Ok(Semver { core: parsed, pre })
}

fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Semver<'_> {
    /// Semver precedence: the numbers, then a pre-release sorts before the
    /// release, then pre-release identifiers one by one.
    fn cmp_precedence(&self, other: &Semver<'_>) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let order = match (is_numeric(a), is_numeric(b)) {
                            // No leading zeros, so length then text is numeric order.
                            (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
                            (true, false) => Ordering::Less,
                            (false, true) => Ordering::Greater,
                            (false, false) => a.cmp(b),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_grammar_and_order() {
        for good in [
            "0.0.0",
            "4.18.1",
            "1.2.3-rc.1",
            "1.2.3+build.5",
            "1.2.3-0.a-b+x",
        ] {
            assert!(parse_semver(good).is_ok(), "{good}");
        }
        for bad in [
            "4.18",
            "v4.18.1",
            "4.18.01",
            "1.2.3-",
            "1.2.3-01",
            "1.2.3+",
            "a.b.c",
            "1.2.3.4",
            "99999999999999999999.0.0",
        ] {
            assert!(parse_semver(bad).is_err(), "{bad}");
        }
        let order = |a: &str, b: &str| {
            parse_semver(a)
                .expect(a)
                .cmp_precedence(&parse_semver(b).expect(b))
        };
        // The example order from semver.org.
        let sorted = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        ];
        for pair in sorted.windows(2) {
            assert_eq!(order(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(order("1.0.0+a", "1.0.0+b"), Ordering::Equal);
    }
}
