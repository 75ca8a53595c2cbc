//! Regular expressions (Go's RE2 syntax, through the `regex` crate with
//! `\d`, `\w`, `\s` and `\b` narrowed to ASCII as in Go).

use regex::{NoExpand, Regex, RegexBuilder};

use super::{R, check_items, i_arg, reg, s_arg};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::Value;

/// Compiles a Go regular expression.
pub(crate) fn compile(pattern: &str) -> Result<Regex, Error> {
    RegexBuilder::new(&go_to_rust(pattern))
        .size_limit(8 << 20)
        .nest_limit(250)
        .build()
        .map_err(|e| {
            Error::new(format!(
                "error parsing regexp: {}: `{pattern}`",
                e.to_string().lines().last().unwrap_or("invalid").trim()
            ))
        })
}

/// Rewrites Go's ASCII-only Perl classes for the Unicode-aware `regex`.
fn go_to_rust(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (n, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('s', false) => Some("[\\t\\n\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                    ('b', false) => Some("(?-u:\\b)"),
                    ('B', false) => Some("(?-u:\\B)"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    ('s', true) => Some("\\t\\n\\f\\r "),
                    _ => None,
                };
                match rep {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                    class_start = false;
                }
                continue;
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // [:alpha:] inside a class.
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' | '-' if in_class && chars.peek() == Some(&c) => {
                // Rust treats `&&`, `~~` and `--` in classes as set operations.
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        class_start = false;
    }
    out
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn both(t: &mut Templates, name: &str, arity: Arity, f: fn(Vec<Value>) -> R) {
    reg(t, name, arity, f);
    let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
    reg(t, &must, arity, f);
}

fn limit(n: i64) -> usize {
    if n < 0 { usize::MAX } else { n as usize }
}

pub(super) fn register(t: &mut Templates) {
    use Arity::Exact;
    both(t, "regexMatch", Exact(2), |a| {
        let re = compile(s_arg(&a[0])?)?;
        Ok(Value::Bool(re.is_match(s_arg(&a[1])?)))
    });
    both(t, "regexFind", Exact(2), |a| {
        let re = compile(s_arg(&a[0])?)?;
        Ok(re
            .find(s_arg(&a[1])?)
            .map(|m| m.as_str())
            .unwrap_or("")
            .into())
    });
    both(t, "regexFindAll", Exact(3), |a| {
        let re = compile(s_arg(&a[0])?)?;
        let (s, n) = (s_arg(&a[1])?, i_arg(&a[2])?);
        let found: Vec<Value> = re
            .find_iter(s)
            .take(limit(n))
            .map(|m| m.as_str().into())
            .collect();
        check_items(found.len() as u64, "regexFindAll")?;
        Ok(Value::list(found))
    });
    both(t, "regexReplaceAll", Exact(3), |a| {
        let re = compile(s_arg(&a[0])?)?;
        let (s, repl) = (s_arg(&a[1])?, s_arg(&a[2])?);
        let out = re.replace_all(s, repl);
        super::check_bytes(out.len(), "regexReplaceAll")?;
        Ok(out.into_owned().into())
    });
    both(t, "regexReplaceAllLiteral", Exact(3), |a| {
        let re = compile(s_arg(&a[0])?)?;
        let (s, repl) = (s_arg(&a[1])?, s_arg(&a[2])?);
        let count = re.find_iter(s).count();
        super::check_bytes(
            s.len().saturating_add(count.saturating_mul(repl.len())),
            "regexReplaceAllLiteral",
        )?;
        Ok(re.replace_all(s, NoExpand(repl)).into_owned().into())
    });
    both(t, "regexSplit", Exact(3), |a| {
        let re = compile(s_arg(&a[0])?)?;
        let (s, n) = (s_arg(&a[1])?, i_arg(&a[2])?);
        go_split(&re, s, n)
    });
    reg(t, "regexQuoteMeta", Exact(1), |a| {
        Ok(quote_meta(s_arg(&a[0])?).into())
    });
}

/// Go's `Regexp.Split`.
fn go_split(re: &Regex, s: &str, n: i64) -> R {
    if n == 0 {
        return Ok(Value::list(Vec::new()));
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return Ok(Value::list(vec!["".into()]));
    }
    let mut out: Vec<Value> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for m in re.find_iter(s).take(limit(n)) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].into());
        }
        beg = m.end();
        check_items(out.len() as u64, "regexSplit")?;
    }
    if end != s.len() {
        out.push(s[beg..].into());
    }
    Ok(Value::list(out))
}
