//! `semver` and `semverCompare`, with Masterminds/semver v3's parsing and
//! constraint rules (`v` prefix and missing minor/patch accepted;
//! operators `= != > < >= => <= =< ~ ~> ^`; `x`, `X`, `*` wildcards; hyphen
//! ranges; `,`/space AND and `||` OR; a prerelease version only satisfies
//! constraints that carry a prerelease).

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

use super::{reg, s_arg};
use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{Object, Value};

/// A parsed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r">=|=>|<=|=<|~>|!=|>|<|=|~|\^|";

fn re(cell: &'static OnceLock<Regex>, pat: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| match Regex::new(&pat()) {
        Ok(r) => r,
        Err(_) => unreachable!("the semver patterns are valid"),
    })
}

fn version_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || {
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".to_string()
    })
}

impl Version {
    /// Parses like `semver.NewVersion`.
    pub fn parse(s: &str) -> Result<Version, Error> {
        let invalid = || Error::new("Invalid Semantic Version");
        let c = version_re().captures(s).ok_or_else(invalid)?;
        let num = |i: usize| -> Result<u64, Error> {
            match c.get(i) {
                None => Ok(0),
                Some(m) => m
                    .as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|e| Error::new(format!("Error parsing version segment: {e}"))),
            }
        };
        let pre = c.get(5).map_or("", |m| m.as_str()).to_string();
        for part in pre.split('.').filter(|_| !pre.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::new("Version segment starts with 0"));
            }
        }
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            meta: c.get(8).map_or("", |m| m.as_str()).to_string(),
            original: s.to_string(),
        })
    }

    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => compare_pre(&self.pre, &o.pre),
            })
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let (ap, bp): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..ap.len().max(bp.len()) {
        let (s, o) = (
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
        let d = compare_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, Error> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = re(&R, || format!(r"^\s*({OPS})\s*({CV})\s*$"));
    if c.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: Version::parse("0.0.0")?,
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }
    let m = r
        .captures(c)
        .ok_or_else(|| Error::new(format!("improper constraint: {c}")))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let rest = format!("{}{}", g(6), g(9));
    let (major, minor, patch) = (g(3), g(4), g(5));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) {
        dirty = true;
        format!("0.0.0{rest}")
    } else if minor.is_empty() || is_x(minor.trim_start_matches('.')) {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{rest}")
    } else if patch.is_empty() || is_x(patch.trim_start_matches('.')) {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{rest}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| Error::new("constraint Parser Error"))?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_pre(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Parses a constraint string into OR groups of AND constraints.
fn parse_constraints(s: &str) -> Result<Vec<Vec<Constraint>>, Error> {
    static RANGE: OnceLock<Regex> = OnceLock::new();
    static VALID: OnceLock<Regex> = OnceLock::new();
    static FIND: OnceLock<Regex> = OnceLock::new();
    let range = re(&RANGE, || format!(r"\s*({CV})\s+-\s+({CV})\s*"));
    let valid = re(&VALID, || format!(r"^(\s*({OPS})\s*({CV})\s*\,?)+$"));
    let find = re(&FIND, || format!(r"({OPS})\s*({CV})"));
    let mut rewritten = s.to_string();
    let ranges: Vec<(String, String, String)> = range
        .captures_iter(s)
        .map(|c| {
            (
                c[0].to_string(),
                c[1].to_string(),
                c.get(11).map_or("", |m| m.as_str()).to_string(),
            )
        })
        .collect();
    for (all, lo, hi) in ranges {
        rewritten = rewritten.replacen(&all, &format!(">= {lo}, <= {hi} "), 1);
    }
    let mut out = Vec::new();
    for part in rewritten.split("||") {
        if !valid.is_match(part) {
            return Err(Error::new(format!("improper constraint: {part}")));
        }
        let mut group = Vec::new();
        let found: Vec<&str> = find.find_iter(part).map(|m| m.as_str()).collect();
        if found.is_empty() {
            group.push(parse_constraint(part)?);
        }
        for c in found {
            group.push(parse_constraint(c)?);
        }
        out.push(group);
    }
    Ok(out)
}

/// `semverCompare CONSTRAINT VERSION`.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, Error> {
    let cs = parse_constraints(constraint)?;
    let v = Version::parse(version)?;
    Ok(cs.iter().any(|group| group.iter().all(|c| c.check(&v))))
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }
    fn method_arity(&self, name: &str) -> Option<Arity> {
        match name {
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
            | "IncMajor" | "IncMinor" | "IncPatch" => Some(Arity::Exact(0)),
            "Compare" | "LessThan" | "GreaterThan" | "Equal" => Some(Arity::Exact(1)),
            _ => None,
        }
    }
    fn call_method(
        &self,
        _: &mut Context<'_>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, Error> {
        let other = || -> Result<Version, Error> {
            match args.first() {
                Some(Value::Object(o)) => o
                    .downcast_ref::<Version>()
                    .cloned()
                    .ok_or_else(|| Error::arg_type("*semver.Version", &args[0])),
                Some(Value::String(s)) => Version::parse(s),
                Some(v) => Err(Error::arg_type("*semver.Version", v)),
                None => Err(Error::new("missing version")),
            }
        };
        let bump = |major: u64, minor: u64, patch: u64| {
            let v = Version {
                major,
                minor,
                patch,
                pre: String::new(),
                meta: String::new(),
                original: String::new(),
            };
            Value::object(Version {
                original: v.string(),
                ..v
            })
        };
        Ok(match name {
            "Major" => Value::Int(self.major as i64),
            "Minor" => Value::Int(self.minor as i64),
            "Patch" => Value::Int(self.patch as i64),
            "Prerelease" => self.pre.as_str().into(),
            "Metadata" => self.meta.as_str().into(),
            "Original" => self.original.as_str().into(),
            "String" => self.string().into(),
            "IncMajor" => bump(self.major + 1, 0, 0),
            "IncMinor" => bump(self.major, self.minor + 1, 0),
            "IncPatch" => {
                if self.pre.is_empty() {
                    bump(self.major, self.minor, self.patch + 1)
                } else {
                    bump(self.major, self.minor, self.patch)
                }
            }
            "Compare" => Value::Int(self.compare(&other()?) as i64),
            "LessThan" => Value::Bool(self.compare(&other()?) == Ordering::Less),
            "GreaterThan" => Value::Bool(self.compare(&other()?) == Ordering::Greater),
            _ => Value::Bool(self.compare(&other()?) == Ordering::Equal),
        })
    }
    fn string(&self) -> Option<String> {
        Some(self.string())
    }
    fn value(&self) -> Option<Value> {
        Some(self.string().into())
    }
}

pub(super) fn register(t: &mut Templates) {
    reg(t, "semver", Arity::Exact(1), |a| {
        Ok(Value::object(Version::parse(s_arg(&a[0])?)?))
    });
    reg(t, "semverCompare", Arity::Exact(2), |a| {
        semver_compare(s_arg(&a[0])?, s_arg(&a[1])?).map(Value::Bool)
    });
}
