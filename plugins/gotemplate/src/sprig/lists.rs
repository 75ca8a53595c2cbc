//! List functions. They return new lists (the maps inside stay shared, as
//! in Go); a non-list argument is Sprig's panic, an error here.

use super::conversion::to_int64;
use super::{R, as_items, check_items, deep_equal, i_arg, is_empty, kind_of, plain, reg};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::Value;

/// The items of a list argument, or the error `msg` with `{}` replaced by
/// the argument's kind.
fn items(v: &Value, msg: &str) -> Result<Vec<Value>, Error> {
    as_items(v).ok_or_else(|| Error::new(msg.replace("{}", kind_of(&plain(v)))))
}

fn both(t: &mut Templates, name: &str, arity: Arity, f: fn(Vec<Value>) -> R) {
    reg(t, name, arity, f);
    let mut must = String::from("must");
    let mut chars = name.chars();
    if let Some(c) = chars.next() {
        must.extend(c.to_uppercase());
        must.push_str(chars.as_str());
    }
    reg(t, &must, arity, f);
}

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "list", AtLeast(0), |a| Ok(Value::list(a)));
    reg(t, "tuple", AtLeast(0), |a| Ok(Value::list(a)));
    for name in ["append", "push"] {
        both(t, name, Exact(2), |a| {
            let mut v = items(&a[0], "Cannot push on type {}")?;
            check_items(v.len() as u64 + 1, "append")?;
            v.push(a[1].clone());
            Ok(Value::list(v))
        });
    }
    both(t, "prepend", Exact(2), |a| {
        let mut v = items(&a[0], "Cannot prepend on type {}")?;
        check_items(v.len() as u64 + 1, "prepend")?;
        v.insert(0, a[1].clone());
        Ok(Value::list(v))
    });
    both(t, "first", Exact(1), |a| {
        let v = items(&a[0], "Cannot find first on type {}")?;
        Ok(v.first().cloned().unwrap_or_default())
    });
    both(t, "last", Exact(1), |a| {
        let v = items(&a[0], "Cannot find last on type {}")?;
        Ok(v.last().cloned().unwrap_or_default())
    });
    both(t, "rest", Exact(1), |a| {
        let v = items(&a[0], "Cannot find rest on type {}")?;
        Ok(if v.is_empty() {
            Value::Nil
        } else {
            Value::list(v[1..].to_vec())
        })
    });
    both(t, "initial", Exact(1), |a| {
        let v = items(&a[0], "Cannot find initial on type {}")?;
        Ok(if v.is_empty() {
            Value::Nil
        } else {
            Value::list(v[..v.len() - 1].to_vec())
        })
    });
    both(t, "reverse", Exact(1), |a| {
        let mut v = items(&a[0], "Cannot find reverse on type {}")?;
        v.reverse();
        Ok(Value::list(v))
    });
    both(t, "compact", Exact(1), |a| {
        let v = items(&a[0], "Cannot compact on type {}")?;
        Ok(Value::list(
            v.into_iter().filter(|x| !is_empty(x)).collect(),
        ))
    });
    both(t, "uniq", Exact(1), |a| {
        let v = items(&a[0], "Cannot find uniq on type {}")?;
        let mut out: Vec<Value> = Vec::new();
        for x in v {
            if !out.iter().any(|y| deep_equal(y, &x)) {
                out.push(x);
            }
        }
        Ok(Value::list(out))
    });
    both(t, "without", AtLeast(1), |a| {
        let v = items(&a[0], "Cannot find without on type {}")?;
        let omit = &a[1..];
        Ok(Value::list(
            v.into_iter()
                .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                .collect(),
        ))
    });
    both(t, "has", Exact(2), |a| {
        if a[1].is_nil() {
            return Ok(Value::Bool(false));
        }
        let v = items(&a[1], "Cannot find has on type {}")?;
        Ok(Value::Bool(v.iter().any(|x| deep_equal(&a[0], x))))
    });
    both(t, "slice", AtLeast(1), |a| {
        let v = items(&a[0], "list should be type of slice or array but {}")?;
        let len = v.len() as i64;
        let idx: Vec<i64> = a[1..].iter().map(to_int64).collect();
        let (lo, hi) = match idx.as_slice() {
            [] => (0, len),
            [lo] => (*lo, len),
            [lo, hi, ..] => (*lo, *hi),
        };
        if lo < 0 || hi > len || lo > hi {
            return Err(Error::new(format!(
                "runtime error: slice bounds out of range [{lo}:{hi}] with capacity {len}"
            )));
        }
        Ok(Value::list(v[lo as usize..hi as usize].to_vec()))
    });
    reg(t, "concat", AtLeast(0), |a| {
        let mut out = Vec::new();
        for l in &a {
            let v = items(l, "Cannot concat type {} as list")?;
            check_items((out.len() + v.len()) as u64, "concat")?;
            out.extend(v);
        }
        Ok(Value::list(out))
    });
    both(t, "chunk", Exact(2), |a| {
        let size = i_arg(&a[0])?;
        let v = items(&a[1], "Cannot chunk type {}")?;
        if size <= 0 {
            return Err(Error::new("runtime error: integer divide by zero"));
        }
        Ok(Value::list(
            v.chunks(size as usize)
                .map(|c| Value::list(c.to_vec()))
                .collect(),
        ))
    });
}
