//! URLs (`urlParse`, `urlJoin`), paths (Go's `path` and, on Unix, the
//! same `path/filepath`), and `getHostByName` (always `""`: no network).

use super::{map_arg, reg, s_arg};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{Map, Value};

pub(super) fn register(t: &mut Templates) {
    use Arity::Exact;
    for (name, f) in [
        ("base", base as fn(&str) -> String),
        ("osBase", base),
        ("dir", dir),
        ("osDir", dir),
        ("clean", clean),
        ("osClean", clean),
        ("ext", ext),
        ("osExt", ext),
    ] {
        t.add_func(name, Exact(1), move |_, a| Ok(f(s_arg(&a[0])?).into()));
    }
    for name in ["isAbs", "osIsAbs"] {
        reg(t, name, Exact(1), |a| {
            Ok(Value::Bool(s_arg(&a[0])?.starts_with('/')))
        });
    }
    reg(t, "getHostByName", Exact(1), |a| {
        s_arg(&a[0])?;
        Ok("".into())
    });
    reg(t, "urlParse", Exact(1), |a| url_parse(s_arg(&a[0])?));
    reg(t, "urlJoin", Exact(1), |a| {
        let m = map_arg(&a[0])?.unwrap_or_default();
        let get = |k: &str| -> Result<String, Error> {
            match m.get(k) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.to_string()),
                Some(other) => Err(Error::new(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    other.type_name()
                ))),
            }
        };
        let (scheme, host, path, query, opaque, fragment, user) = (
            get("scheme")?,
            get("host")?,
            get("path")?,
            get("query")?,
            get("opaque")?,
            get("fragment")?,
            get("userinfo")?,
        );
        let mut out = String::new();
        if !scheme.is_empty() {
            out.push_str(&scheme);
            out.push(':');
        }
        if !opaque.is_empty() {
            out.push_str(&opaque);
        } else {
            if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
                if !host.is_empty() || !path.is_empty() || !user.is_empty() {
                    out.push_str("//");
                }
                if !user.is_empty() {
                    out.push_str(&user);
                    out.push('@');
                }
                out.push_str(&host);
            }
            if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
                out.push('/');
            }
            out.push_str(&escape(&path, "/:@!$&'()*+,;=-._~"));
        }
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
        if !fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&fragment, "/?:@!$&'()*+,;=-._~"));
        }
        Ok(out.into())
    });
}

fn escape(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::new(format!(
                        "unable to parse url: invalid URL escape {}",
                        crate::strconv::quote(s.get(i..(i + 3).min(s.len())).unwrap_or("%"))
                    ))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.Parse`, the parts Sprig's `urlParse` reports.
fn url_parse(s: &str) -> Result<Value, Error> {
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, unescape(f)?),
        None => (s, String::new()),
    };
    let mut scheme = String::new();
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.starts_with(|c: char| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err(Error::new(format!(
                "unable to parse url: parse {}: missing protocol scheme",
                crate::strconv::quote(s)
            )));
        }
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q.to_string()),
        None => (rest, String::new()),
    };
    let (mut host, mut user, mut opaque, mut path) =
        (String::new(), String::new(), String::new(), String::new());
    if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest.to_string();
    } else if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let auth = &after[..end];
        match auth.rsplit_once('@') {
            Some((u, h)) => {
                user = u.to_string();
                host = h.to_string();
            }
            None => host = auth.to_string(),
        }
        path = unescape(&after[end..])?;
    } else {
        path = unescape(rest)?;
    }
    let hostname = if host.starts_with('[') {
        host.split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
            .to_string()
    } else {
        host.rsplit_once(':')
            .map_or(host.clone(), |(h, _)| h.to_string())
    };
    let m = Map::new();
    m.insert("scheme", scheme);
    m.insert("host", host);
    m.insert("hostname", hostname);
    m.insert("path", path);
    m.insert("query", query);
    m.insert("opaque", opaque);
    m.insert("fragment", fragment);
    m.insert("userinfo", user);
    Ok(Value::Map(m))
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..i])
}

/// Go's `path.Ext`.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}
