//! Functions: how they are registered, and Go's builtin ones (`and`, `or`,
//! `not`, `len`, `index`, `slice`, `print`, `printf`, `println`, `eq`, `ne`,
//! `lt`, `le`, `gt`, `ge`, `html`, `js`, `urlquery`, `call`).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::error::Error;
use crate::exec::Context;
use crate::gofmt::{format_value, sprint, sprintf, sprintln};
use crate::strconv::is_print;
use crate::value::Value;

/// How many arguments a function takes (counting the piped value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many: Go's `func(a, b T)`.
    Exact(usize),
    /// At least this many: Go's variadic `func(a T, rest ...T)`.
    AtLeast(usize),
}

impl Arity {
    /// Checks a call with `explicit` arguments written after the name and
    /// `total` arguments in all (the piped value included), with Go's
    /// messages.
    pub(crate) fn check(self, name: &str, explicit: usize, total: usize) -> Result<(), String> {
        match self {
            Arity::Exact(n) if total != n => Err(format!(
                "wrong number of args for {name}: want {n} got {total}"
            )),
            Arity::AtLeast(n) if total < n => Err(format!(
                "wrong number of args for {name}: want at least {n} got {explicit}"
            )),
            _ => Ok(()),
        }
    }
}

/// The signature of every template function: evaluated arguments in, a
/// value or an error out, with a [`Context`] to reach the template set.
pub type FuncImpl = dyn Fn(&mut Context<'_>, Vec<Value>) -> Result<Value, Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    And,
    Or,
    Call,
}

/// A registered function.
#[derive(Clone)]
pub struct Function {
    pub(crate) arity: Arity,
    pub(crate) imp: Rc<FuncImpl>,
    pub(crate) special: Special,
}

impl Function {
    /// A function of `arity` implemented by `f`.
    pub fn new<F>(arity: Arity, f: F) -> Function
    where
        F: Fn(&mut Context<'_>, Vec<Value>) -> Result<Value, Error> + 'static,
    {
        Function {
            arity,
            imp: Rc::new(f),
            special: Special::None,
        }
    }

    /// Its arity.
    pub fn arity(&self) -> Arity {
        self.arity
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Function({:?})", self.arity)
    }
}

fn plain<F>(arity: Arity, f: F) -> Function
where
    F: Fn(Vec<Value>) -> Result<Value, Error> + 'static,
{
    Function::new(arity, move |_, args| f(args))
}

/// Go's builtin functions.
pub(crate) fn builtins() -> HashMap<String, Function> {
    let mut m: HashMap<String, Function> = HashMap::new();
    let unreachable = |_: Vec<Value>| Ok(Value::Nil);
    m.insert(
        "and".into(),
        Function {
            special: Special::And,
            ..plain(Arity::AtLeast(1), unreachable)
        },
    );
    m.insert(
        "or".into(),
        Function {
            special: Special::Or,
            ..plain(Arity::AtLeast(1), unreachable)
        },
    );
    m.insert(
        "call".into(),
        Function {
            special: Special::Call,
            ..plain(Arity::AtLeast(1), unreachable)
        },
    );
    m.insert(
        "not".into(),
        plain(Arity::Exact(1), |a| Ok(Value::Bool(!a[0].is_truthy()))),
    );
    m.insert("len".into(), plain(Arity::Exact(1), |a| length(&a[0])));
    m.insert("index".into(), plain(Arity::AtLeast(1), index));
    m.insert("slice".into(), plain(Arity::AtLeast(1), slice));
    m.insert(
        "print".into(),
        plain(Arity::AtLeast(0), |a| Ok(Value::from(sprint(&a)))),
    );
    m.insert(
        "println".into(),
        plain(Arity::AtLeast(0), |a| Ok(Value::from(sprintln(&a)))),
    );
    m.insert(
        "printf".into(),
        plain(Arity::AtLeast(1), |a| match &a[0] {
            Value::String(f) => Ok(Value::from(sprintf(f, &a[1..]))),
            other => Err(Error::arg_type("string", other)),
        }),
    );
    m.insert(
        "eq".into(),
        plain(Arity::AtLeast(1), |a| eq(&a[0], &a[1..]).map(Value::Bool)),
    );
    m.insert(
        "ne".into(),
        plain(Arity::Exact(2), |a| {
            eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
        }),
    );
    m.insert(
        "lt".into(),
        plain(Arity::Exact(2), |a| lt(&a[0], &a[1]).map(Value::Bool)),
    );
    m.insert(
        "le".into(),
        plain(Arity::Exact(2), |a| le(&a[0], &a[1]).map(Value::Bool)),
    );
    m.insert(
        "gt".into(),
        plain(Arity::Exact(2), |a| {
            le(&a[0], &a[1]).map(|b| Value::Bool(!b))
        }),
    );
    m.insert(
        "ge".into(),
        plain(Arity::Exact(2), |a| {
            lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
        }),
    );
    m.insert(
        "html".into(),
        plain(Arity::AtLeast(0), |a| {
            Ok(Value::from(html_escape(&eval_args(&a))))
        }),
    );
    m.insert(
        "js".into(),
        plain(Arity::AtLeast(0), |a| {
            Ok(Value::from(js_escape(&eval_args(&a))))
        }),
    );
    m.insert(
        "urlquery".into(),
        plain(Arity::AtLeast(0), |a| {
            Ok(Value::from(query_escape(&eval_args(&a))))
        }),
    );
    m
}

/// Unwraps an object to its plain data, if it has some.
fn plain_data(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.value().unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

fn length(v: &Value) -> Result<Value, Error> {
    match plain_data(v) {
        Value::Nil => Err(Error::new("len of nil pointer")),
        other => match other.len() {
            Some(n) => Ok(Value::Int(n as i64)),
            None => Err(Error::new(format!("len of type {}", other.type_name()))),
        },
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, Error> {
    let x = match index {
        Value::Int(i) => *i,
        Value::Nil => return Err(Error::new("cannot index slice/array with nil")),
        other => {
            return Err(Error::new(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(Error::new(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

/// Go's `index`: `index x 1 2` is `x[1][2]`, over lists, strings (a byte)
/// and maps (nil for a missing key).
fn index(args: Vec<Value>) -> Result<Value, Error> {
    let mut item = plain_data(&args[0]);
    if item.is_nil() {
        return Err(Error::new("index of untyped nil"));
    }
    for idx in &args[1..] {
        item = plain_data(&item);
        match &item {
            Value::Nil => return Err(Error::new("index of nil pointer")),
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                item = l
                    .get(x)
                    .ok_or_else(|| Error::new("reflect: slice index out of range"))?;
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .ok_or_else(|| Error::new("reflect: string index out of range"))?;
                item = Value::Int(*b as i64);
            }
            Value::Map(m) => {
                let key = match idx {
                    Value::String(k) => k,
                    Value::Nil => return Err(Error::new("value is nil; should be of type string")),
                    other => {
                        return Err(Error::new(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )));
                    }
                };
                item = m.get(key).unwrap_or(Value::Nil);
            }
            other => {
                return Err(Error::new(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        }
    }
    Ok(item)
}

/// Go's `slice`: `slice x 1 2` is `x[1:2]`, over lists and strings (bytes).
fn slice(args: Vec<Value>) -> Result<Value, Error> {
    let item = plain_data(&args[0]);
    if item.is_nil() {
        return Err(Error::new("slice of untyped nil"));
    }
    let indexes = &args[1..];
    if indexes.len() > 3 {
        return Err(Error::new(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let len = match &item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err(Error::new("cannot 3-index slice a string"));
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => {
            return Err(Error::new(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    let mut idx = [0usize, len, len];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(Error::new(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(Error::new(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    Ok(match &item {
        Value::String(s) => {
            let bytes = &s.as_bytes()[idx[0]..idx[1]];
            Value::from(String::from_utf8_lossy(bytes).into_owned())
        }
        Value::List(l) => Value::list(l.borrow()[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn same_shape(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Map(_), Value::Map(_))
            | (Value::List(_), Value::List(_))
            | (Value::Object(_), Value::Object(_))
    ) || a.is_nil()
        || b.is_nil()
}

/// Go's `eq`: `eq a b c` is `a == b || a == c`. Basic kinds compare by
/// value and must match (an int and a float64 are "incompatible types for
/// comparison"); nil compares with anything (false unless both are nil);
/// maps and lists are not comparable.
pub fn eq(a: &Value, others: &[Value]) -> Result<bool, Error> {
    if others.is_empty() {
        return Err(Error::new("missing argument for comparison"));
    }
    let k1 = basic_kind(a);
    for b in others {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if !a.is_nil() && !b.is_nil() {
                return Err(Error::new(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                )));
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ => {
                    if !same_shape(a, b) {
                        return Err(Error::new(format!(
                            "non-comparable types {}: {}, {}: {}",
                            format_value(a, 's'),
                            a.type_name(),
                            b.type_name(),
                            format_value(b, 'v')
                        )));
                    }
                    if a.is_nil() || b.is_nil() {
                        a.is_nil() == b.is_nil()
                    } else if let (Value::Object(x), Value::Object(y)) = (a, b) {
                        Rc::ptr_eq(x, y)
                    } else {
                        return Err(Error::new(format!(
                            "non-comparable type {}: {}",
                            format_value(b, 's'),
                            b.type_name()
                        )));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`, over basic kinds of the same kind (bools excluded).
pub fn lt(a: &Value, b: &Value) -> Result<bool, Error> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err(Error::new("invalid type for comparison"));
    }
    if k1 != k2 {
        return Err(Error::new(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err(Error::new("invalid type for comparison")),
    })
}

/// Go's `le`: `lt` or `eq`.
pub fn le(a: &Value, b: &Value) -> Result<bool, Error> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// How Go's escaping builtins turn their arguments into one string: a
/// single string as is, anything else as `fmt.Sprint` prints it (nil as
/// `<no value>`).
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    // Go prints a nil argument here as the executor would: "<no value>".
    let args: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::from("<no value>"),
            other => other.clone(),
        })
        .collect();
    sprint(&args)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
