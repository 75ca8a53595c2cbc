//! Dictionary functions. Maps are shared: `set`, `unset`, `merge` and
//! `mergeOverwrite` change their first argument in place and return it.

use super::{MAX_NODES, R, deep_copy, is_empty, map_arg, plain, reg, s_arg, strval};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{Map, Value};

fn need_map(v: &Value) -> Result<Map, Error> {
    map_arg(v)?.ok_or_else(|| Error::new("assignment to entry in nil map"))
}

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "dict", AtLeast(0), |a| {
        let m = Map::new();
        for pair in a.chunks(2) {
            m.insert(
                strval(&pair[0]),
                pair.get(1).cloned().unwrap_or_else(|| "".into()),
            );
        }
        Ok(Value::Map(m))
    });
    reg(t, "get", Exact(2), |a| {
        let k = s_arg(&a[1])?;
        Ok(map_arg(&a[0])?
            .and_then(|m| m.get(k))
            .unwrap_or_else(|| "".into()))
    });
    reg(t, "set", Exact(3), |a| {
        let m = need_map(&a[0])?;
        m.insert(s_arg(&a[1])?, a[2].clone());
        Ok(Value::Map(m))
    });
    reg(t, "unset", Exact(2), |a| {
        let k = s_arg(&a[1])?;
        match map_arg(&a[0])? {
            Some(m) => {
                m.remove(k);
                Ok(Value::Map(m))
            }
            None => Ok(Value::Map(Map::new())),
        }
    });
    reg(t, "hasKey", Exact(2), |a| {
        let k = s_arg(&a[1])?;
        Ok(Value::Bool(
            map_arg(&a[0])?.is_some_and(|m| m.contains_key(k)),
        ))
    });
    reg(t, "pluck", AtLeast(1), |a| {
        let k = s_arg(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = map_arg(d)?.and_then(|m| m.get(k)) {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    });
    reg(t, "keys", AtLeast(0), |a| {
        let mut out = Vec::new();
        for d in &a {
            if let Some(m) = map_arg(d)? {
                out.extend(m.keys());
            }
        }
        out.sort();
        Ok(Value::list(out.into_iter().map(Value::from).collect()))
    });
    reg(t, "values", Exact(1), |a| {
        Ok(Value::list(
            map_arg(&a[0])?
                .map(|m| m.entries().into_iter().map(|(_, v)| v).collect())
                .unwrap_or_default(),
        ))
    });
    reg(t, "pick", AtLeast(1), |a| {
        let src = map_arg(&a[0])?;
        let out = Map::new();
        for k in &a[1..] {
            let k = s_arg(k)?;
            if let Some(v) = src.as_ref().and_then(|m| m.get(k)) {
                out.insert(k, v);
            }
        }
        Ok(Value::Map(out))
    });
    reg(t, "omit", AtLeast(1), |a| {
        let src = map_arg(&a[0])?;
        let drop = a[1..]
            .iter()
            .map(|k| s_arg(k).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let out = Map::new();
        if let Some(m) = src {
            for (k, v) in m.entries() {
                if !drop.contains(&k) {
                    out.insert(k, v);
                }
            }
        }
        Ok(Value::Map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        t.add_func(name, AtLeast(1), move |_, a| merge_all(&a, overwrite));
    }
    reg(t, "dig", AtLeast(3), dig);
    for name in ["deepCopy", "mustDeepCopy"] {
        reg(t, name, Exact(1), |a| deep_copy(&a[0]));
    }
}

fn merge_all(a: &[Value], overwrite: bool) -> R {
    let dst = map_arg(&a[0])?.unwrap_or_default();
    let mut budget = MAX_NODES;
    for src in &a[1..] {
        if let Some(src) = map_arg(src)? {
            if src.ptr_eq(&dst) {
                continue;
            }
            merge_into(&dst, &src, overwrite, &mut budget, 0)?;
        }
    }
    Ok(Value::Map(dst))
}

/// mergo's deep merge of `src` into `dst`, as Sprig calls it: nested maps
/// merged recursively; otherwise a key is set when `dst` lacks it or holds
/// an empty value, or always with `overwrite` (a nil in `src` only
/// overwrites).
fn merge_into(
    dst: &Map,
    src: &Map,
    overwrite: bool,
    budget: &mut usize,
    depth: usize,
) -> Result<(), Error> {
    if depth > crate::value::MAX_NESTING {
        return Err(Error::new("merge: maps nested too deeply"));
    }
    for (k, sv) in src.entries() {
        if *budget == 0 {
            return Err(Error::new("merge: maps too large"));
        }
        *budget -= 1;
        let dv = dst.get(&k);
        if sv.is_nil() {
            if overwrite {
                dst.insert(k, Value::Nil);
            }
            continue;
        }
        if let (Some(Value::Map(dm)), Value::Map(sm)) = (&dv, &sv) {
            if !dm.ptr_eq(sm) {
                merge_into(dm, sm, overwrite, budget, depth + 1)?;
            }
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            dst.insert(k, sv);
        }
    }
    Ok(())
}

/// `dig "a" "b" DEFAULT MAP`: the value at the path, or DEFAULT when a key
/// is missing.
fn dig(a: Vec<Value>) -> R {
    let n = a.len();
    let Value::Map(mut m) = plain(&a[n - 1]) else {
        return Err(Error::new(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            go_iface_name(&a[n - 1])
        )));
    };
    let default = a[n - 2].clone();
    let keys = a[..n - 2]
        .iter()
        .map(|k| {
            k.as_str().map(str::to_string).ok_or_else(|| {
                Error::new(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    go_iface_name(k)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, k) in keys.iter().enumerate() {
        let Some(step) = m.get(k) else {
            return Ok(default);
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        match plain(&step) {
            Value::Map(next) => m = next,
            other => {
                return Err(Error::new(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    go_iface_name(&other)
                )));
            }
        }
    }
    Ok(default)
}

fn go_iface_name(v: &Value) -> String {
    if v.is_nil() {
        "nil".into()
    } else {
        v.type_name()
    }
}
