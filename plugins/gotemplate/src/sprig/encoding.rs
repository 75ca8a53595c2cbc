//! Encodings: base64, base32, JSON (Go's `encoding/json`), YAML and TOML
//! (Helm's `toYaml`, `fromYaml`, `toToml`, …).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::strings::lossy;
use super::yaml::{Opts, from_yaml, to_yaml};
use super::{MAX_BYTES, plain, reg, s_arg};
use crate::error::Error;
use crate::funcs::Arity;
use crate::strconv::format_float;
use crate::template::Templates;
use crate::value::MAX_NESTING as MAX_NESTING_JSON;
use crate::value::{Map, Value};

pub(super) fn register(t: &mut Templates) {
    use Arity::Exact;
    reg(t, "b64enc", Exact(1), |a| {
        Ok(STANDARD.encode(s_arg(&a[0])?).into())
    });
    reg(t, "b64dec", Exact(1), |a| {
        let s: String = s_arg(&a[0])?
            .chars()
            .filter(|&c| c != '\r' && c != '\n')
            .collect();
        Ok(match STANDARD.decode(&s) {
            Ok(b) => lossy(&b),
            Err(e) => {
                let at = match e {
                    base64::DecodeError::InvalidByte(i, _)
                    | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                    _ => s.len() - s.len() % 4,
                };
                format!("illegal base64 data at input byte {at}").into()
            }
        })
    });
    reg(t, "b32enc", Exact(1), |a| {
        Ok(b32_encode(s_arg(&a[0])?.as_bytes()).into())
    });
    reg(t, "b32dec", Exact(1), |a| {
        Ok(match b32_decode(s_arg(&a[0])?) {
            Ok(b) => lossy(&b),
            Err(i) => format!("illegal base32 data at input byte {i}").into(),
        })
    });
    reg(t, "toJson", Exact(1), |a| {
        Ok(json_or_empty(&a[0], true, false))
    });
    reg(t, "toPrettyJson", Exact(1), |a| {
        Ok(json_or_empty(&a[0], true, true))
    });
    reg(t, "toRawJson", Exact(1), |a| {
        Ok(json_or_empty(&a[0], false, false))
    });
    reg(t, "mustToJson", Exact(1), |a| {
        to_json_string(&a[0], true, false).map(Value::from)
    });
    reg(t, "mustToPrettyJson", Exact(1), |a| {
        to_json_string(&a[0], true, true).map(Value::from)
    });
    reg(t, "mustToRawJson", Exact(1), |a| {
        to_json_string(&a[0], false, false).map(Value::from)
    });
    reg(t, "fromJson", Exact(1), |a| {
        Ok(parse_json(s_arg(&a[0])?).unwrap_or_default())
    });
    reg(t, "mustFromJson", Exact(1), |a| {
        parse_json(s_arg(&a[0])?).map_err(Error::new)
    });
}

/// Helm's own encoding functions (`pkg/engine/funcs.go`): `toYaml`,
/// `toYamlPretty`, `mustToYaml`, `fromYaml`, `fromYamlArray`, `toJson`,
/// `mustToJson`, `fromJson`, `fromJsonArray`, `toToml`. They replace
/// Sprig's `toJson` and `fromJson`.
pub(crate) fn register_helm(t: &mut Templates) {
    use Arity::Exact;
    reg(t, "toYaml", Exact(1), |a| {
        Ok(to_yaml_string(&a[0])
            .map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
            .unwrap_or_default()
            .into())
    });
    reg(t, "mustToYaml", Exact(1), |a| {
        let s = to_yaml_string(&a[0])?;
        Ok(s.strip_suffix('\n').map(str::to_string).unwrap_or(s).into())
    });
    reg(t, "toYamlPretty", Exact(1), |a| {
        Ok(to_yaml(&a[0], Opts { json: false })
            .map(|s| s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
            .unwrap_or_default()
            .into())
    });
    reg(t, "fromYaml", Exact(1), |a| {
        Ok(match from_yaml(s_arg(&a[0])?) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(Value::Nil) => Value::new_map(),
            Ok(other) => error_map(&cannot_unmarshal(&other, "map[string]interface {}")),
            Err(e) => error_map(&e),
        })
    });
    reg(t, "fromYamlArray", Exact(1), |a| {
        Ok(match from_yaml(s_arg(&a[0])?) {
            Ok(Value::List(l)) => Value::List(l),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![cannot_unmarshal(&other, "[]interface {}").into()]),
            Err(e) => Value::list(vec![e.into()]),
        })
    });
    reg(t, "toJson", Exact(1), |a| {
        Ok(json_or_empty(&a[0], true, false))
    });
    reg(t, "mustToJson", Exact(1), |a| {
        to_json_string(&a[0], true, false).map(Value::from)
    });
    reg(t, "fromJson", Exact(1), |a| {
        Ok(match parse_json(s_arg(&a[0])?) {
            Ok(Value::Map(m)) => Value::Map(m),
            Ok(Value::Nil) => Value::new_map(),
            Ok(other) => error_map(&json_mismatch(&other, "map[string]interface {}")),
            Err(e) => error_map(&e),
        })
    });
    reg(t, "fromJsonArray", Exact(1), |a| {
        Ok(match parse_json(s_arg(&a[0])?) {
            Ok(Value::List(l)) => Value::List(l),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![json_mismatch(&other, "[]interface {}").into()]),
            Err(e) => Value::list(vec![e.into()]),
        })
    });
    reg(t, "toToml", Exact(1), |a| Ok(to_toml(&a[0]).into()));
}

fn error_map(msg: &str) -> Value {
    let m = Map::new();
    m.insert("Error", msg);
    Value::Map(m)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn json_mismatch(v: &Value, into: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {into}",
        json_kind(v)
    )
}

fn cannot_unmarshal(v: &Value, into: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: {}",
        json_mismatch(v, into)
    )
}

/// Helm's `toYaml` before its final newline is trimmed: `sigs.k8s.io/yaml`.
pub fn to_yaml_string(v: &Value) -> Result<String, Error> {
    to_yaml(v, Opts { json: true })
}

fn json_or_empty(v: &Value, html: bool, pretty: bool) -> Value {
    to_json_string(v, html, pretty).unwrap_or_default().into()
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(s)
        .map(|j| Value::from_json(&j))
        .map_err(|e| e.to_string())
}

/// Go's `json.Marshal` (`html`: escape `<`, `>`, `&`; `pretty`:
/// `MarshalIndent` with two spaces): map keys sorted, whole floats without
/// `.0`, objects as their plain data (null if none).
pub fn to_json_string(v: &Value, html: bool, pretty: bool) -> Result<String, Error> {
    let mut out = String::new();
    json_value(&mut out, v, html, if pretty { Some(0) } else { None }, 0)?;
    Ok(out)
}

fn json_value(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<usize>,
    depth: usize,
) -> Result<(), Error> {
    if depth > MAX_NESTING_JSON {
        return Err(Error::new(
            "json: unsupported value: encountered a cycle or too deep a nesting",
        ));
    }
    if out.len() > MAX_BYTES {
        return Err(Error::new("json: result too large"));
    }
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    };
    match plain(v) {
        Value::Nil | Value::Object(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::new(format!(
                    "json: unsupported value: {}",
                    format_float(f, 'g', -1)
                )));
            }
            out.push_str(&json_float(f));
        }
        Value::String(s) => json_string(out, &s, html),
        Value::List(l) => {
            let items = l.to_vec();
            out.push('[');
            if !items.is_empty() {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(level) = indent {
                        newline(out, level + 1);
                    }
                    json_value(out, item, html, indent.map(|l| l + 1), depth + 1)?;
                }
                if let Some(level) = indent {
                    newline(out, level);
                }
            }
            out.push(']');
        }
        Value::Map(m) => {
            let entries = m.entries();
            out.push('{');
            if !entries.is_empty() {
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(level) = indent {
                        newline(out, level + 1);
                    }
                    json_string(out, k, html);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    json_value(out, item, html, indent.map(|l| l + 1), depth + 1)?;
                }
                if let Some(level) = indent {
                    newline(out, level);
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A float as Go's `encoding/json` writes it: `%f`-like between 1e-6 and
/// 1e21, exponent form outside (`1e+21`, `1e-7`).
pub(crate) fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_float(f, 'e', -1);
        // e-07 → e-7
        if let Some(p) = s.find("e-0") {
            return format!("{}e-{}", &s[..p], &s[p + 3..]);
        }
        s
    } else {
        format_float(f, 'f', -1)
    }
}

fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32_decode(s: &str) -> Result<Vec<u8>, usize> {
    let s: Vec<u8> = s.bytes().filter(|&c| c != b'\r' && c != b'\n').collect();
    if !s.len().is_multiple_of(8) {
        return Err(s.len() - s.len() % 8);
    }
    let mut out = Vec::new();
    for (ci, chunk) in s.chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut chars = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                if chunk[i..].iter().any(|&x| x != b'=') || ci * 8 + 8 != s.len() {
                    return Err(ci * 8 + i);
                }
                break;
            }
            let v = B32.iter().position(|&x| x == c).ok_or(ci * 8 + i)?;
            n |= (v as u64) << (35 - 5 * i);
            chars += 1;
        }
        let bytes = match chars {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            0 => 0,
            _ => return Err(ci * 8 + chars),
        };
        let all = n.to_be_bytes();
        out.extend_from_slice(&all[3..3 + bytes]);
    }
    Ok(out)
}

/// A simple TOML writer (BurntSushi/toml's layout): a table's plain keys
/// first, then its sub-tables as `[a.b]` sections indented by two spaces
/// per level; lists of maps as `[[a]]`.
fn to_toml(v: &Value) -> String {
    let Value::Map(m) = plain(v) else {
        return String::new();
    };
    let mut out = String::new();
    toml_table(&mut out, &m, &[], 0);
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        crate::strconv::quote(k)
    }
}

fn toml_inline(v: &Value, depth: usize) -> String {
    if depth > 64 {
        return "\"\"".into();
    }
    match plain(v) {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if f > 0.0 { "inf" } else { "-inf" }.into()
            } else if f == f.trunc() && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                format_float(f, 'g', -1)
            }
        }
        Value::String(s) => crate::strconv::quote(&s),
        Value::List(l) => {
            let parts: Vec<String> = l
                .to_vec()
                .iter()
                .map(|x| toml_inline(x, depth + 1))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) => {
            let parts: Vec<String> = m
                .entries()
                .iter()
                .map(|(k, x)| format!("{} = {}", toml_key(k), toml_inline(x, depth + 1)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Nil | Value::Object(_) => "\"\"".into(),
    }
}

fn is_table_list(v: &Value) -> bool {
    match plain(v) {
        Value::List(l) => {
            !l.is_empty() && l.to_vec().iter().all(|x| matches!(plain(x), Value::Map(_)))
        }
        _ => false,
    }
}

fn toml_table(out: &mut String, m: &Map, path: &[String], depth: usize) {
    if depth > 64 || out.len() > MAX_BYTES {
        return;
    }
    let pad = "  ".repeat(depth.saturating_sub(1));
    let entries = m.entries();
    for (k, v) in &entries {
        if v.is_nil() || matches!(plain(v), Value::Map(_)) || is_table_list(v) {
            continue;
        }
        out.push_str(&format!("{pad}{} = {}\n", toml_key(k), toml_inline(v, 0)));
    }
    for (k, v) in &entries {
        let mut p = path.to_vec();
        p.push(toml_key(k));
        let inner_pad = "  ".repeat(depth);
        match plain(v) {
            Value::Map(sub) => {
                out.push_str(&format!("\n{inner_pad}[{}]\n", p.join(".")));
                toml_table(out, &sub, &p, depth + 1);
            }
            Value::List(l) if is_table_list(v) => {
                for item in l.to_vec() {
                    if let Value::Map(sub) = plain(&item) {
                        out.push_str(&format!("\n{inner_pad}[[{}]]\n", p.join(".")));
                        toml_table(out, &sub, &p, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}
