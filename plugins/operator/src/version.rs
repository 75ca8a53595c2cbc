//! Version arithmetic of catalogs, as the tools oc-mirror builds on do it.
//!
//! Two dialects matter. The `minVersion`/`maxVersion` bounds of the
//! ImageSetConfiguration become a Masterminds/semver constraint in oc-mirror
//! v2: there a pre-release version matches only a range that names a
//! pre-release itself, and build metadata is ignored ([`Bounds`]). The
//! `versionRange` of an `olm.package.required` property is a blang/semver range
//! (`>=1.0.0 <2.0.0 || 3.x` without the wildcards), where pre-releases compare
//! like any version ([`Range`]). Versions themselves are parsed by the SDK.

use std::cmp::Ordering;

pub use oc_mirror_plugin_sdk::semver::Version;

/// A bundle version, or `None` when it is not semver.
pub fn parse(text: &str) -> Option<Version> {
    Version::parse(text.trim())
}

/// Precedence without build metadata.
pub fn cmp(a: &Version, b: &Version) -> Ordering {
    let strip = |v: &Version| Version {
        build: String::new(),
        ..v.clone()
    };
    strip(a).cmp(&strip(b))
}

/// `minVersion`/`maxVersion`, both inclusive (Masterminds semantics).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounds {
    /// Lowest version kept.
    pub min: Option<Version>,
    /// Highest version kept.
    pub max: Option<Version>,
}

impl Bounds {
    /// Whether neither bound is set.
    pub fn is_empty(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    /// Whether `v` is in the range. A pre-release matches only when one of
    /// the bounds is a pre-release (Masterminds: the range "names" one).
    pub fn contains(&self, v: &Version) -> bool {
        let names_pre = [&self.min, &self.max]
            .into_iter()
            .flatten()
            .any(|b| !b.pre.is_empty());
        if !v.pre.is_empty() && !names_pre {
            return false;
        }
        self.min
            .as_ref()
            .is_none_or(|m| cmp(v, m) != Ordering::Less)
            && self
                .max
                .as_ref()
                .is_none_or(|m| cmp(v, m) != Ordering::Greater)
    }

    /// As oc-mirror writes the range (`>=min <=max`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(min) = &self.min {
            parts.push(format!(">={min}"));
        }
        if let Some(max) = &self.max {
            parts.push(format!("<={max}"));
        }
        parts.join(" ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A blang/semver range: alternatives (`||`) of comparators that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    any_of: Vec<Vec<(Op, Version)>>,
}

impl Range {
    /// Parses a range; `None` when it is not one. An empty range matches
    /// every version.
    pub fn parse(text: &str) -> Option<Range> {
        let mut any_of = Vec::new();
        for alternative in text.split("||") {
            let mut all = Vec::new();
            let mut pending_op: Option<&str> = None;
            for token in alternative.split([' ', ',']).filter(|t| !t.is_empty()) {
                let token = match pending_op.take() {
                    Some(op) => format!("{op}{token}"),
                    None => token.to_string(),
                };
                let (op, rest) = if let Some(r) = token.strip_prefix(">=") {
                    (Op::Ge, r)
                } else if let Some(r) = token.strip_prefix("<=") {
                    (Op::Le, r)
                } else if let Some(r) = token.strip_prefix("!=") {
                    (Op::Ne, r)
                } else if let Some(r) = token.strip_prefix("==") {
                    (Op::Eq, r)
                } else if let Some(r) = token.strip_prefix('>') {
                    (Op::Gt, r)
                } else if let Some(r) = token.strip_prefix('<') {
                    (Op::Lt, r)
                } else if let Some(r) = token.strip_prefix('=') {
                    (Op::Eq, r)
                } else if let Some(r) = token.strip_prefix('!') {
                    (Op::Ne, r)
                } else {
                    (Op::Eq, token.as_str())
                };
                if rest.is_empty() {
                    pending_op = Some(match op {
                        Op::Eq => "=",
                        Op::Ne => "!=",
                        Op::Lt => "<",
                        Op::Le => "<=",
                        Op::Gt => ">",
                        Op::Ge => ">=",
                    });
                    continue;
                }
                all.push((op, parse(rest)?));
            }
            if pending_op.is_some() {
                return None;
            }
            any_of.push(all);
        }
        Some(Range { any_of })
    }

    /// Whether `v` satisfies the range.
    pub fn contains(&self, v: &Version) -> bool {
        self.any_of.iter().any(|all| {
            all.iter().all(|(op, bound)| {
                let o = cmp(v, bound);
                match op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        parse(text).unwrap()
    }

    fn bounds(min: Option<&str>, max: Option<&str>) -> Bounds {
        Bounds {
            min: min.map(v),
            max: max.map(v),
        }
    }

    #[test]
    fn bounds_are_inclusive_and_ignore_build_metadata() {
        let b = bounds(Some("1.2.0"), Some("1.4.0"));
        assert!(b.contains(&v("1.2.0")));
        assert!(b.contains(&v("1.4.0+build.7")));
        assert!(!b.contains(&v("1.4.1")));
        assert!(!b.contains(&v("1.1.9")));
        assert_eq!(b.describe(), ">=1.2.0 <=1.4.0");
        assert!(bounds(None, Some("2")).contains(&v("0.0.1")));
    }

    #[test]
    fn a_prerelease_needs_a_range_that_names_one() {
        let release_only = bounds(Some("1.0.0"), Some("2.0.0"));
        assert!(!release_only.contains(&v("1.5.0-rc.1")));
        let names_one = bounds(Some("1.0.0-0"), Some("2.0.0"));
        assert!(names_one.contains(&v("1.5.0-rc.1")));
        assert!(names_one.contains(&v("1.0.0-1")));
        assert!(!names_one.contains(&v("0.9.0-1")));
    }

    #[test]
    fn blang_ranges() {
        let r = Range::parse(">=1.0.0 <2.0.0 || 3.1.0").unwrap();
        assert!(r.contains(&v("1.0.0")));
        assert!(r.contains(&v("1.9.9-rc.1")));
        assert!(!r.contains(&v("2.0.0")));
        assert!(r.contains(&v("3.1.0")));
        assert!(
            Range::parse(">= 1.0.0, < 1.5.0")
                .unwrap()
                .contains(&v("1.4.0"))
        );
        assert!(Range::parse("").unwrap().contains(&v("9.9.9")));
        assert!(!Range::parse("!1.0.0").unwrap().contains(&v("1.0.0")));
        assert!(Range::parse(">=banana").is_none());
        assert!(Range::parse(">=").is_none());
    }
}
