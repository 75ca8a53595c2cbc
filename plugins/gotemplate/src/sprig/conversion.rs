//! Conversions (`spf13/cast` as Sprig uses it) and reflection (`typeOf`,
//! `kindIs`, `deepEqual`).

use super::{deep_equal, kind_of, reg, s_arg, strval};
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::Value;

pub(super) fn register(t: &mut Templates) {
    use Arity::Exact;
    reg(t, "atoi", Exact(1), |a| {
        let s = s_arg(&a[0])?;
        Ok(Value::Int(parse_int(s, 10).unwrap_or(0)))
    });
    reg(t, "int", Exact(1), |a| Ok(Value::Int(to_int64(&a[0]))));
    reg(t, "int64", Exact(1), |a| Ok(Value::Int(to_int64(&a[0]))));
    reg(t, "float64", Exact(1), |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    reg(t, "toDecimal", Exact(1), |a| {
        let s = crate::gofmt::sprint(&a[..1]);
        Ok(Value::Int(parse_int(&s, 8).unwrap_or(0)))
    });
    reg(t, "toString", Exact(1), |a| Ok(strval(&a[0]).into()));
    reg(t, "typeOf", Exact(1), |a| Ok(a[0].type_name().into()));
    reg(t, "typeIs", Exact(2), |a| {
        Ok(Value::Bool(s_arg(&a[0])? == a[1].type_name()))
    });
    reg(t, "typeIsLike", Exact(2), |a| {
        let (want, got) = (s_arg(&a[0])?, a[1].type_name());
        Ok(Value::Bool(want == got || format!("*{want}") == got))
    });
    reg(t, "kindOf", Exact(1), |a| Ok(kind_of(&a[0]).into()));
    reg(t, "kindIs", Exact(2), |a| {
        Ok(Value::Bool(s_arg(&a[0])? == kind_of(&a[1])))
    });
    reg(t, "deepEqual", Exact(2), |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}

/// Go's `strconv.ParseInt(s, base, 64)` for base 10 or 8, and base 0 (Go
/// literal prefixes `0x`, `0o`, `0b`, a leading `0` for octal, `_`
/// between digits).
pub(crate) fn parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits, underscores) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..], true)
        } else if lower.starts_with("0o") {
            (8, &body[2..], true)
        } else if lower.starts_with("0b") {
            (2, &body[2..], true)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], true)
        } else {
            (10, body, true)
        }
    } else {
        (base, body, false)
    };
    let digits: String = if underscores {
        if digits.starts_with('_') && radix == 10 || digits.ends_with('_') || digits.contains("__")
        {
            return None;
        }
        digits.chars().filter(|&c| c != '_').collect()
    } else {
        digits.to_string()
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if mag > i64::MAX as u64 + 1 {
            None
        } else {
            Some((mag as i64).wrapping_neg())
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// cast's `trimZeroDecimal`: `"3.00"` is `"3"`.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToInt64`: numbers truncated, strings parsed as Go literals
/// (`"0x1F"`, `"3.0"`), bools 1/0, anything else 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match super::plain(v) {
        Value::Int(i) => i,
        Value::Float(f) => {
            if f.is_nan() {
                i64::MIN
            } else {
                f as i64
            }
        }
        Value::Bool(b) => b as i64,
        Value::String(s) => parse_int(trim_zero_decimal(&s), 0).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`: numbers, strings parsed as floats, bools 1/0,
/// anything else 0.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match super::plain(v) {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        Value::Bool(b) => b as i64 as f64,
        Value::String(s) => parse_float(&s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal forms, `inf` and `nan`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    if t.is_empty() || s.len() - t.len() > 1 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !t
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}
