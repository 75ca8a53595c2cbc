//! Arithmetic: Sprig's integer functions (`int64` results, operands
//! through `cast.ToInt64`), float functions (decimal arithmetic, as
//! Sprig's `shopspring/decimal` gives `addf 1.1 2.2` = 3.3), and ranges.

use super::conversion::{to_float64, to_int64};
use super::{check_items, i_arg, reg, rng};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::Value;

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "add1", Exact(1), |a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_add(1)))
    });
    reg(t, "add", AtLeast(0), |a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
        ))
    });
    reg(t, "sub", Exact(2), |a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    reg(t, "div", Exact(2), |a| {
        let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
        if y == 0 {
            return Err(Error::new("runtime error: integer divide by zero"));
        }
        Ok(Value::Int(x.wrapping_div(y)))
    });
    reg(t, "mod", Exact(2), |a| {
        let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
        if y == 0 {
            return Err(Error::new("runtime error: integer divide by zero"));
        }
        Ok(Value::Int(x.wrapping_rem(y)))
    });
    reg(t, "mul", AtLeast(1), |a| {
        Ok(Value::Int(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |s, v| s.wrapping_mul(to_int64(v))),
        ))
    });
    for name in ["max", "biggest"] {
        reg(t, name, AtLeast(1), |a| {
            Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    reg(t, "min", AtLeast(1), |a| {
        Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    reg(t, "maxf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |m, v| go_max(m, to_float64(v))),
        ))
    });
    reg(t, "minf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |m, v| go_min(m, to_float64(v))),
        ))
    });
    reg(t, "floor", Exact(1), |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    reg(t, "ceil", Exact(1), |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    reg(t, "round", AtLeast(2), |a| {
        let val = to_float64(&a[0]);
        let places = i_arg(&a[1])? as f64;
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let pow = 10f64.powf(places);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    reg(t, "add1f", Exact(1), |a| {
        Ok(Value::Float(dec_add(to_float64(&a[0]), 1.0)))
    });
    reg(t, "addf", AtLeast(0), |a| {
        Ok(Value::Float(
            a.iter().fold(0.0, |s, v| dec_add(s, to_float64(v))),
        ))
    });
    reg(t, "subf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |s, v| dec_add(s, -to_float64(v))),
        ))
    });
    reg(t, "mulf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |s, v| dec_mul(s, to_float64(v))),
        ))
    });
    reg(t, "divf", AtLeast(1), |a| {
        let mut acc = to_float64(&a[0]);
        for v in &a[1..] {
            let d = to_float64(v);
            if d == 0.0 {
                return Err(Error::new("decimal division by 0"));
            }
            acc /= d;
        }
        Ok(Value::Float(acc))
    });
    t.add_func("randInt", Exact(2), |ctx, a| {
        let (lo, hi) = (i_arg(&a[0])?, i_arg(&a[1])?);
        let n = hi.wrapping_sub(lo);
        if n <= 0 {
            return Err(Error::new("invalid argument to Intn"));
        }
        Ok(Value::Int(lo + rng(ctx).below(n as u64) as i64))
    });
    reg(t, "until", Exact(1), |a| {
        let n = i_arg(&a[0])?;
        let step = if n < 0 { -1 } else { 1 };
        until_step(0, n, step).map(int_list)
    });
    reg(t, "untilStep", Exact(3), |a| {
        until_step(i_arg(&a[0])?, i_arg(&a[1])?, i_arg(&a[2])?).map(int_list)
    });
    reg(t, "seq", AtLeast(0), |a| {
        let p = a.iter().map(i_arg).collect::<Result<Vec<i64>, Error>>()?;
        let v = match p.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                until_step(1, end.saturating_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(*start, end.saturating_add(step), step)?
            }
            [start, step, end] => {
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if *step > 0 {
                        return Ok("".into());
                    }
                }
                until_step(*start, end.saturating_add(inc), *step)?
            }
            _ => Vec::new(),
        };
        let parts: Vec<String> = v.iter().map(i64::to_string).collect();
        Ok(parts.join(" ").into())
    });
}

fn int_list(v: Vec<i64>) -> Value {
    Value::list(v.into_iter().map(Value::Int).collect())
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Sprig's `untilStep`, bounded.
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, Error> {
    let count: u64 = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        ((start as i128 - stop as i128 + (-(step as i128)) - 1) / -(step as i128)) as u64
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        ((stop as i128 - start as i128 + step as i128 - 1) / step as i128) as u64
    };
    check_items(count, "untilStep")?;
    Ok((0..count as i64).map(|i| start + i * step).collect())
}

/// A float as an exact decimal `mantissa × 10^exp`, from its shortest
/// representation (shopspring's `NewFromFloat`).
fn to_dec(f: f64) -> Option<(i128, i32)> {
    if !f.is_finite() {
        return None;
    }
    let s = format!("{f:e}");
    let (m, e) = s.split_once('e')?;
    let e: i32 = e.parse().ok()?;
    let neg = m.starts_with('-');
    let m = m.trim_start_matches('-');
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{int}{frac}");
    let mant: i128 = digits.parse().ok()?;
    Some((if neg { -mant } else { mant }, e - frac.len() as i32))
}

fn from_dec(m: i128, e: i32) -> f64 {
    format!("{m}e{e}").parse().unwrap_or(f64::NAN)
}

fn dec_add(a: f64, b: f64) -> f64 {
    let (Some((ma, ea)), Some((mb, eb))) = (to_dec(a), to_dec(b)) else {
        return a + b;
    };
    let e = ea.min(eb);
    let scale = |m: i128, from: i32| -> Option<i128> {
        let d = u32::try_from(from - e).ok()?;
        10i128.checked_pow(d)?.checked_mul(m)
    };
    match (scale(ma, ea), scale(mb, eb)) {
        (Some(x), Some(y)) => match x.checked_add(y) {
            Some(s) => from_dec(s, e),
            None => a + b,
        },
        _ => a + b,
    }
}

fn dec_mul(a: f64, b: f64) -> f64 {
    let (Some((ma, ea)), Some((mb, eb))) = (to_dec(a), to_dec(b)) else {
        return a * b;
    };
    match ma.checked_mul(mb) {
        Some(m) => from_dec(m, ea + eb),
        None => a * b,
    }
}
