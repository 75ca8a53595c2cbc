//! Semantic versions (<https://semver.org>): parsing and precedence, for plugins
//! that pick the newest versions out of a list of tags or channels.
//!
//! Lenient where registries are: a leading `v` is accepted (`v1.2.3`), and so are
//! `MAJOR` and `MAJOR.MINOR` (missing parts are 0). Build metadata (`+…`) is kept
//! but, as the specification says, ignored for precedence.

use std::cmp::Ordering;
use std::fmt;

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
    /// Pre-release identifiers (`rc.1` → `["rc", "1"]`); empty for a release.
    pub pre: Vec<String>,
    /// Build metadata (after `+`), empty if none.
    pub build: String,
}

impl Version {
    /// Parses `text`, or `None` if it is not a version.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) if valid_identifiers(build) => (rest, build.to_string()),
            Some(_) => return None,
            None => (text, String::new()),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) if valid_identifiers(pre) => {
                (core, pre.split('.').map(str::to_string).collect())
            }
            Some(_) => return None,
            None => (rest, Vec::new()),
        };
        let mut numbers = core.split('.');
        let major = number(numbers.next()?)?;
        let minor = numbers.next().map_or(Some(0), number)?;
        let patch = numbers.next().map_or(Some(0), number)?;
        if numbers.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Semver precedence; build metadata breaks ties only so that the order is
    /// total (and consistent with `Eq`).
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

/// Compares two version strings by semver precedence. Text that is not a version
/// sorts before every version, and among itself by plain string order, so sorting
/// any list of tags with this is total and deterministic.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// A release sorts after its pre-releases; identifiers compare numerically when
/// both are numbers, numbers before text, and a longer list wins a common prefix.
fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// A numeric part: digits, no leading zero.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`.
fn valid_identifiers(text: &str) -> bool {
    text.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let v = Version::parse("v1.2.3-rc.1+build.5").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 3));
        assert_eq!(v.pre, ["rc", "1"]);
        assert_eq!(v.build, "build.5");
        assert_eq!(v.to_string(), "1.2.3-rc.1+build.5");
        assert_eq!(Version::parse("4.18").unwrap().to_string(), "4.18.0");
        for bad in [
            "",
            "latest",
            "1.2.3.4",
            "01.2.3",
            "1..2",
            "1.2.3-",
            "1.2.3-a..b",
            "1.x",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn precedence_follows_the_spec() {
        // The example chain of semver.org §11.
        let chain = [
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
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(compare(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(compare("latest", "0.0.1"), Ordering::Less);
        assert_eq!(compare("a", "b"), Ordering::Less);
        assert_eq!(compare("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare("v1.0.0", "1.0.0"), Ordering::Greater); // total: by text
    }
}
