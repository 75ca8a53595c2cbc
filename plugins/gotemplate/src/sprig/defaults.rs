//! Defaults and flow: `default`, `empty`, `coalesce`, `all`, `any`,
//! `ternary`, `fail`.

use super::{b_arg, is_empty, reg, s_arg};
use crate::error::Error;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::Value;

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "default", AtLeast(1), |a| {
        Ok(match a.get(1) {
            Some(v) if !is_empty(v) => v.clone(),
            _ => a[0].clone(),
        })
    });
    reg(t, "empty", Exact(1), |a| Ok(Value::Bool(is_empty(&a[0]))));
    reg(t, "coalesce", AtLeast(0), |a| {
        Ok(a.into_iter().find(|v| !is_empty(v)).unwrap_or_default())
    });
    reg(t, "all", AtLeast(0), |a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    reg(t, "any", AtLeast(0), |a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    reg(t, "ternary", Exact(3), |a| {
        Ok(if b_arg(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    reg(t, "fail", Exact(1), |a| Err(Error::new(s_arg(&a[0])?)));
}
