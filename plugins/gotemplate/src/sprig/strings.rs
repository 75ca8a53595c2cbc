//! String functions: case, trimming, padding, quoting, splitting, random
//! strings.

use super::{R, as_items, check_bytes, i_arg, reg, rng, s_arg, strval};
use crate::error::Error;
use crate::funcs::Arity;
use crate::gofmt::sprint;
use crate::strconv::quote;
use crate::template::Templates;
use crate::value::{Map, Value};

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "hello", Exact(0), |_| Ok("Hello!".into()));
    reg(t, "abbrev", Exact(2), |a| {
        let (w, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        Ok(if w < 4 {
            s.into()
        } else {
            abbreviate(s, 0, w).into()
        })
    });
    reg(t, "abbrevboth", Exact(3), |a| {
        let (l, r, s) = (i_arg(&a[0])?, i_arg(&a[1])?, s_arg(&a[2])?);
        Ok(if r < 4 || (l > 0 && r < 7) {
            s.into()
        } else {
            abbreviate(s, l, r).into()
        })
    });
    reg(t, "trunc", Exact(2), |a| {
        let (c, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        let b = s.as_bytes();
        let len = b.len() as i64;
        Ok(if c < 0 && len + c > 0 {
            lossy(&b[(len + c) as usize..])
        } else if c >= 0 && len > c {
            lossy(&b[..c as usize])
        } else {
            s.into()
        })
    });
    reg(t, "trim", Exact(1), |a| Ok(s_arg(&a[0])?.trim().into()));
    reg(t, "upper", Exact(1), |a| {
        Ok(map_chars(s_arg(&a[0])?, upper_char).into())
    });
    reg(t, "lower", Exact(1), |a| {
        Ok(map_chars(s_arg(&a[0])?, lower_char).into())
    });
    reg(t, "title", Exact(1), |a| Ok(title(s_arg(&a[0])?).into()));
    reg(
        t,
        "untitle",
        Exact(1),
        |a| Ok(untitle(s_arg(&a[0])?).into()),
    );
    reg(t, "substr", Exact(3), |a| {
        let (start, end, s) = (i_arg(&a[0])?, i_arg(&a[1])?, s_arg(&a[2])?);
        substr(start, end, s)
    });
    reg(t, "repeat", Exact(2), |a| {
        let (n, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        if n < 0 {
            return Err(Error::new("strings: negative Repeat count"));
        }
        check_bytes(
            (s.len() as u64)
                .saturating_mul(n as u64)
                .min(usize::MAX as u64) as usize,
            "repeat",
        )?;
        Ok(s.repeat(n as usize).into())
    });
    for name in ["trimall", "trimAll"] {
        reg(t, name, Exact(2), |a| {
            let (cut, s) = (s_arg(&a[0])?, s_arg(&a[1])?);
            Ok(s.trim_matches(|c| cut.contains(c)).into())
        });
    }
    reg(t, "trimSuffix", Exact(2), |a| {
        let (suf, s) = (s_arg(&a[0])?, s_arg(&a[1])?);
        Ok(s.strip_suffix(suf).unwrap_or(s).into())
    });
    reg(t, "trimPrefix", Exact(2), |a| {
        let (pre, s) = (s_arg(&a[0])?, s_arg(&a[1])?);
        Ok(s.strip_prefix(pre).unwrap_or(s).into())
    });
    reg(t, "nospace", Exact(1), |a| {
        Ok(s_arg(&a[0])?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into())
    });
    reg(t, "initials", Exact(1), |a| {
        Ok(initials(s_arg(&a[0])?).into())
    });
    reg(t, "swapcase", Exact(1), |a| {
        Ok(s_arg(&a[0])?
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    lower_char(c)
                } else if c.is_lowercase() {
                    upper_char(c)
                } else {
                    c
                }
            })
            .collect::<String>()
            .into())
    });
    reg(t, "snakecase", Exact(1), |a| {
        Ok(delimited_case(s_arg(&a[0])?, '_').into())
    });
    reg(t, "kebabcase", Exact(1), |a| {
        Ok(delimited_case(s_arg(&a[0])?, '-').into())
    });
    reg(t, "camelcase", Exact(1), |a| {
        Ok(camel_case(s_arg(&a[0])?).into())
    });
    t.add_func("shuffle", Exact(1), |ctx, a| {
        let mut chars: Vec<char> = s_arg(&a[0])?.chars().collect();
        let r = rng(ctx);
        for i in (1..chars.len()).rev() {
            let j = r.below(i as u64 + 1) as usize;
            chars.swap(i, j);
        }
        Ok(chars.into_iter().collect::<String>().into())
    });
    reg(t, "wrap", Exact(2), |a| {
        let (n, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        wrap_custom(s, n, "\n", false)
    });
    reg(t, "wrapWith", Exact(3), |a| {
        let (n, sep, s) = (i_arg(&a[0])?, s_arg(&a[1])?, s_arg(&a[2])?);
        wrap_custom(s, n, sep, true)
    });
    reg(t, "contains", Exact(2), |a| {
        Ok(Value::Bool(s_arg(&a[1])?.contains(s_arg(&a[0])?)))
    });
    reg(t, "hasPrefix", Exact(2), |a| {
        Ok(Value::Bool(s_arg(&a[1])?.starts_with(s_arg(&a[0])?)))
    });
    reg(t, "hasSuffix", Exact(2), |a| {
        Ok(Value::Bool(s_arg(&a[1])?.ends_with(s_arg(&a[0])?)))
    });
    reg(t, "quote", AtLeast(0), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| quote(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    reg(t, "squote", AtLeast(0), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    reg(t, "cat", AtLeast(0), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| sprint(std::slice::from_ref(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    reg(t, "indent", Exact(2), |a| {
        let (n, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        indent(n, s).map(Value::from)
    });
    reg(t, "nindent", Exact(2), |a| {
        let (n, s) = (i_arg(&a[0])?, s_arg(&a[1])?);
        Ok(format!("\n{}", indent(n, s)?).into())
    });
    reg(t, "replace", Exact(3), |a| {
        let (old, new, s) = (s_arg(&a[0])?, s_arg(&a[1])?, s_arg(&a[2])?);
        let count = if old.is_empty() {
            s.chars().count() + 1
        } else {
            s.matches(old).count()
        };
        check_bytes(
            s.len().saturating_add(count.saturating_mul(new.len())),
            "replace",
        )?;
        Ok(s.replace(old, new).into())
    });
    reg(t, "plural", Exact(3), |a| {
        let (one, many, n) = (s_arg(&a[0])?, s_arg(&a[1])?, i_arg(&a[2])?);
        Ok(if n == 1 { one } else { many }.into())
    });
    reg(t, "split", Exact(2), |a| {
        let (sep, s) = (s_arg(&a[0])?, s_arg(&a[1])?);
        Ok(indexed_map(go_split(s, sep, -1)))
    });
    reg(t, "splitList", Exact(2), |a| {
        let (sep, s) = (s_arg(&a[0])?, s_arg(&a[1])?);
        Ok(Value::list(
            go_split(s, sep, -1).into_iter().map(Value::from).collect(),
        ))
    });
    reg(t, "splitn", Exact(3), |a| {
        let (sep, n, s) = (s_arg(&a[0])?, i_arg(&a[1])?, s_arg(&a[2])?);
        Ok(indexed_map(go_split(s, sep, n)))
    });
    reg(t, "toStrings", Exact(1), |a| {
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    reg(t, "join", Exact(2), |a| {
        let sep = s_arg(&a[0])?;
        let parts = strslice(&a[1]);
        let total: usize = parts.iter().map(|p| p.len() + sep.len()).sum();
        check_bytes(total, "join")?;
        Ok(parts.join(sep).into())
    });
    reg(t, "sortAlpha", Exact(1), |a| {
        if as_items(&a[0]).is_none() {
            return Ok(Value::list(vec![strval(&a[0]).into()]));
        }
        let mut parts = strslice(&a[0]);
        parts.sort();
        Ok(Value::list(parts.into_iter().map(Value::from).collect()))
    });
    for (name, set) in [
        ("randAlphaNum", ALNUM),
        ("randAlpha", ALPHA),
        ("randNumeric", DIGITS),
        ("randAscii", ASCII),
    ] {
        t.add_func(name, Exact(1), move |ctx, a| {
            let n = i_arg(&a[0])?;
            if n < 0 {
                return Err(Error::new(format!(
                    "Requested random string length {n} is less than 0."
                )));
            }
            check_bytes(n as usize, "random string")?;
            let r = rng(ctx);
            let s: String = (0..n)
                .map(|_| set[r.below(set.len() as u64) as usize] as char)
                .collect();
            Ok(s.into())
        });
    }
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ASCII: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Bytes as a string, invalid UTF-8 replaced (Go slices strings by bytes).
pub(crate) fn lossy(b: &[u8]) -> Value {
    Value::from(String::from_utf8_lossy(b).into_owned())
}

fn upper_char(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn lower_char(c: char) -> char {
    let mut u = c.to_lowercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn map_chars(s: &str, f: fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// Go's `strings.Title`: the first letter of each word upper-cased, words
/// separated by anything but letters, digits and `_`.
fn title(s: &str) -> String {
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let sep = if prev.is_ascii() {
            !(prev.is_ascii_alphanumeric() || prev == '_')
        } else if prev.is_alphanumeric() {
            false
        } else {
            prev.is_whitespace()
        };
        out.push(if sep { upper_char(c) } else { c });
        prev = c;
    }
    out
}

/// goutils' `Uncapitalize`: the first letter of each white-space separated
/// word lower-cased.
fn untitle(s: &str) -> String {
    let mut gap = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                gap = true;
                c
            } else if gap {
                gap = false;
                lower_char(c)
            } else {
                c
            }
        })
        .collect()
}

fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for c in s.chars() {
        if c.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils' `AbbreviateFull` (byte offsets, as in Go).
fn abbreviate(s: &str, offset: i64, width: i64) -> String {
    let len = s.len() as i64;
    if s.is_empty() || width < 4 || len <= width {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut offset = offset.clamp(0, len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return format!("{}...", String::from_utf8_lossy(&b[..(width - 3) as usize]));
    }
    if width < 7 {
        return s.to_string();
    }
    if offset + width - 3 < len {
        let rest = String::from_utf8_lossy(&b[offset as usize..]).into_owned();
        return format!("...{}", abbreviate(&rest, 0, width - 3));
    }
    format!(
        "...{}",
        String::from_utf8_lossy(&b[(len - (width - 3)) as usize..])
    )
}

fn substr(start: i64, end: i64, s: &str) -> R {
    let b = s.as_bytes();
    let len = b.len() as i64;
    let oob = |i: i64| {
        Error::new(format!(
            "runtime error: slice bounds out of range [{i}:{len}]"
        ))
    };
    if start < 0 {
        if end < 0 || end > len {
            return Err(oob(end));
        }
        return Ok(lossy(&b[..end as usize]));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(oob(start));
        }
        return Ok(lossy(&b[start as usize..]));
    }
    if start > end {
        return Err(Error::new(format!(
            "runtime error: slice bounds out of range [{start}:{end}]"
        )));
    }
    Ok(lossy(&b[start as usize..end as usize]))
}

fn indent(n: i64, s: &str) -> Result<String, Error> {
    if n < 0 {
        return Err(Error::new("strings: negative Repeat count"));
    }
    let lines = s.matches('\n').count() + 1;
    check_bytes(
        (n as u64)
            .saturating_mul(lines as u64)
            .saturating_add(s.len() as u64)
            .min(usize::MAX as u64) as usize,
        "indent",
    )?;
    let pad = " ".repeat(n as usize);
    let mut out = String::with_capacity(s.len() + pad.len() * lines);
    out.push_str(&pad);
    out.push_str(&s.replace('\n', &format!("\n{pad}")));
    Ok(out)
}

/// goutils' `WrapCustom` (byte offsets).
fn wrap_custom(s: &str, width: i64, nl: &str, long_words: bool) -> R {
    if s.is_empty() {
        return Ok("".into());
    }
    let nl = if nl.is_empty() { "\n" } else { nl };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    while len - offset > width {
        check_bytes(out.len(), "wrap")?;
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        match b[offset..end].iter().rposition(|&c| c == b' ') {
            Some(p) => {
                out.extend_from_slice(&b[offset..offset + p]);
                out.extend_from_slice(nl.as_bytes());
                offset += p + 1;
            }
            None if long_words => {
                out.extend_from_slice(&b[offset..offset + width]);
                out.extend_from_slice(nl.as_bytes());
                offset += width;
            }
            None => {
                let end = width + offset;
                match b[end..].iter().position(|&c| c == b' ') {
                    None => {
                        out.extend_from_slice(&b[offset..]);
                        offset = len;
                    }
                    Some(i) => {
                        out.extend_from_slice(&b[offset..end + i]);
                        out.extend_from_slice(nl.as_bytes());
                        offset = end + i + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    check_bytes(out.len(), "wrap")?;
    Ok(lossy(&out))
}

/// Go's `strings.SplitN` (`n < 0`: all; an empty separator splits into
/// characters).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let n = n as usize;
            let head: usize = chars[..n - 1].iter().map(|c| c.len()).sum();
            let mut out: Vec<String> = chars[..n - 1].to_vec();
            out.push(s[head..].to_string());
            return out;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(String::from).collect()
    } else {
        s.splitn(n as usize, sep).map(String::from).collect()
    }
}

fn indexed_map(parts: Vec<String>) -> Value {
    let m = Map::new();
    for (i, p) in parts.into_iter().enumerate() {
        m.insert(format!("_{i}"), p);
    }
    Value::Map(m)
}

/// Sprig's `strslice`: a list's non-nil items as strings; nil is no
/// items; anything else one item.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match as_items(v) {
        Some(items) => items.iter().filter(|i| !i.is_nil()).map(strval).collect(),
        None if v.is_nil() => Vec::new(),
        None => vec![strval(v)],
    }
}

/// huandu/xstrings' `ToSnakeCase`/`ToKebabCase`, approximately: words
/// split at `_`, `-`, spaces, lower-to-upper changes, the end of an
/// upper-case run followed by a lower-case letter, and letter/digit
/// boundaries after letters; lower-cased and joined with `sep`.
fn delimited_case(s: &str, sep: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some(&p) = i.checked_sub(1).and_then(|j| chars.get(j)) {
            let next = chars.get(i + 1).copied();
            let boundary = (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                || (c.is_uppercase() && p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                || (c.is_ascii_digit() && p.is_alphabetic());
            if boundary && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words.join(&sep.to_string())
}

/// huandu/xstrings' `ToCamelCase`: connectors (`_`, `-`, spaces) removed
/// and the next letter upper-cased, the first letter too; leading
/// connectors kept.
fn camel_case(s: &str) -> String {
    let is_conn = |c: char| c == '_' || c == '-' || c.is_whitespace();
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if is_conn(c) {
            out.push(c);
            chars.next();
        } else {
            break;
        }
    }
    let mut prev: Option<char> = None;
    for c in chars {
        match prev {
            None => {
                prev = Some(upper_char(c));
            }
            Some(p) => {
                if is_conn(c) && is_conn(p) {
                    out.push(p);
                    prev = Some(c);
                } else if is_conn(p) {
                    prev = Some(upper_char(c));
                } else {
                    out.push(p);
                    prev = Some(c);
                }
            }
        }
    }
    if let Some(p) = prev {
        out.push(p);
    }
    out
}
