//! Sprig's template functions (`sprig.TxtFuncMap`, v3), as Helm registers
//! them: everything but `env` and `expandenv`. Written from Sprig's
//! documented behaviour and its Go sources (read, not copied).
//!
//! [`register`] adds them to a set; [`crate::helm::register_all`] adds Go's
//! builtins (always there), Sprig and Helm's own functions in one call.
//!
//! # How Go's typing shows through
//!
//! A Sprig function declared with a `string` or `int` parameter refuses
//! other types as Go's `text/template` does (`wrong type for value;
//! expected string; got float64`, `invalid value; expected string` for
//! nil); one declared with `interface{}` converts as Sprig does
//! (`spf13/cast`: strings parse, anything unconvertible is 0). Sprig's
//! panics (`first` of a string, `set` on nil) are errors, as Go's
//! template engine reports a panicking function. The `must…` variants are
//! therefore the same functions under another name.
//!
//! # Determinism and approximations
//!
//! Charts must render the same bytes every time, in a sandbox with no
//! clock, network or entropy:
//!
//! * Randomness (`randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii`,
//!   `randInt`, `randBytes`, `shuffle`, `uuidv4`) comes from a PRNG seeded
//!   with a constant at the start of each execution (per rendered file).
//! * `now` is the Unix epoch, 1970-01-01T00:00:00Z, and every time zone is
//!   UTC (`date`, `dateInZone`, `toDate` in "Local"); `ago` measures from
//!   that instant.
//! * `genCA`, `genSelfSignedCert`, `genSignedCert`, `genPrivateKey`,
//!   `buildCustomCert` and their `…WithKey` forms return well-formed PEM
//!   text (`-----BEGIN CERTIFICATE-----`, base64 wrapped at 64 columns)
//!   whose bodies are deterministic filler, not valid DER: they render, they
//!   do not parse as certificates. `derivePassword`, `bcrypt`, `htpasswd`,
//!   `encryptAES`/`decryptAES` are deterministic stand-ins of the right
//!   shape (`decryptAES` reverses `encryptAES`), not the real algorithms.
//! * `getHostByName` returns `""`; `lookup` (Helm) an empty map.
//! * `toYaml` follows `sigs.k8s.io/yaml` (JSON, then go-yaml v2's emitter:
//!   its key order, quoting rules, block literals and folding of long plain
//!   strings at 80 columns) closely but not with every corner of libyaml.
//!   `fromYaml` reads YAML 1.2 (`yes`/`on` stay strings, unlike go-yaml
//!   v2). Error texts of `fromYaml`/`fromJson` are those of the Rust
//!   parsers.
//! * `snakecase`/`kebabcase` split words at case changes and digits as
//!   `huandu/xstrings` mostly does; rare mixed letter/digit words may
//!   differ.
//!
//! Results are bounded (16 MiB strings, 1M list items): beyond, the
//! function returns an error instead of exhausting memory.

mod conversion;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod lists;
mod math;
mod regex;
mod semver;
mod strings;
mod urls;
pub(crate) mod yaml;

use std::collections::HashSet;

use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{List, Map, Value};

pub use encoding::{to_json_string, to_yaml_string};

/// Largest string a function builds (16 MiB).
pub(crate) const MAX_BYTES: usize = 16 << 20;
/// Longest list a function builds.
pub(crate) const MAX_ITEMS: usize = 1 << 20;
/// Most map/list nodes a deep operation (copy, merge, compare) visits.
pub(crate) const MAX_NODES: usize = 1 << 20;

pub(crate) type R = Result<Value, Error>;

/// Registers Sprig's functions (Helm's selection: all but `env` and
/// `expandenv`).
pub fn register(t: &mut Templates) {
    strings::register(t);
    conversion::register(t);
    math::register(t);
    lists::register(t);
    dicts::register(t);
    defaults::register(t);
    encoding::register(t);
    crypto::register(t);
    regex::register(t);
    semver::register(t);
    dates::register(t);
    urls::register(t);
}

/// Registers Helm's own encoding functions (`toYaml`, `fromYaml`,
/// `toJson`, `fromJson`, `toToml`, …), replacing Sprig's `toJson` and
/// `fromJson` as Helm does. [`crate::helm::register_all`] calls it.
pub fn register_helm_extras(t: &mut Templates) {
    encoding::register_helm(t);
}

/// Registers a function of its arguments only.
pub(crate) fn reg(t: &mut Templates, name: &str, arity: Arity, f: fn(Vec<Value>) -> R) {
    t.add_func(name, arity, move |_: &mut Context<'_>, a| f(a));
}

/// A Go `string` parameter.
pub(crate) fn s_arg(v: &Value) -> Result<&str, Error> {
    v.as_str().ok_or_else(|| Error::arg_type("string", v))
}

/// A Go `int` parameter.
pub(crate) fn i_arg(v: &Value) -> Result<i64, Error> {
    v.as_int().ok_or_else(|| Error::arg_type("int", v))
}

/// A Go `bool` parameter.
pub(crate) fn b_arg(v: &Value) -> Result<bool, Error> {
    v.as_bool().ok_or_else(|| Error::arg_type("bool", v))
}

/// A Go `map[string]interface{}` parameter: `None` for nil (Go's nil map).
pub(crate) fn map_arg(v: &Value) -> Result<Option<Map>, Error> {
    match plain(v) {
        Value::Map(m) => Ok(Some(m)),
        Value::Nil => Ok(None),
        _ => Err(Error::arg_type("map[string]interface {}", v)),
    }
}

/// An object unwrapped to its plain data, if it has some.
pub(crate) fn plain(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.value().unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

/// Go's `reflect.Kind` name of a value.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => {
            if o.type_name().starts_with('*') {
                "ptr"
            } else {
                "struct"
            }
        }
    }
}

/// The items of a slice argument, if it is one.
pub(crate) fn as_items(v: &Value) -> Option<Vec<Value>> {
    match plain(v) {
        Value::List(l) => Some(l.to_vec()),
        _ => None,
    }
}

/// Sprig's `strval`: a string as is, anything else as `fmt`'s `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// Sprig's `empty`: nil, false, 0, "", and empty lists and maps.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(_) => false,
    }
}

/// Fails when a result of `n` bytes would be too large.
pub(crate) fn check_bytes(n: usize, what: &str) -> Result<(), Error> {
    if n > MAX_BYTES {
        return Err(Error::new(format!(
            "{what}: result too large ({n} bytes, limit {MAX_BYTES})"
        )));
    }
    Ok(())
}

/// Fails when a list of `n` items would be too long.
pub(crate) fn check_items(n: u64, what: &str) -> Result<(), Error> {
    if n > MAX_ITEMS as u64 {
        return Err(Error::new(format!(
            "{what}: result too large ({n} items, limit {MAX_ITEMS})"
        )));
    }
    Ok(())
}

/// Go's `reflect.DeepEqual` on values, bounded in work (a shared map can
/// make naive comparison exponential): beyond the bound, unequal.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    let mut budget = MAX_NODES;
    deep_eq(a, b, &mut budget, 0)
}

fn deep_eq(a: &Value, b: &Value, budget: &mut usize, depth: usize) -> bool {
    if *budget == 0 || depth > crate::value::MAX_NESTING {
        return false;
    }
    *budget -= 1;
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            let (x, y) = (x.to_vec(), y.to_vec());
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| deep_eq(p, q, budget, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            let (x, y) = (x.entries(), y.entries());
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && deep_eq(v1, v2, budget, depth + 1))
        }
        _ => a == b,
    }
}

/// An independent copy of maps and lists (Sprig's `deepCopy`), bounded in
/// size; a map that contains itself is an error.
pub(crate) fn deep_copy(v: &Value) -> Result<Value, Error> {
    let mut budget = MAX_NODES;
    let mut path = HashSet::new();
    copy_at(v, &mut budget, &mut path)
}

fn copy_at(v: &Value, budget: &mut usize, path: &mut HashSet<usize>) -> Result<Value, Error> {
    if *budget == 0 {
        return Err(Error::new("deepCopy: value too large"));
    }
    *budget -= 1;
    match v {
        Value::List(l) => {
            let key = list_id(l);
            if !path.insert(key) {
                return Err(Error::new("deepCopy: value contains itself"));
            }
            let mut out = Vec::with_capacity(l.len());
            for item in l.to_vec() {
                out.push(copy_at(&item, budget, path)?);
            }
            path.remove(&key);
            Ok(Value::List(List::from(out)))
        }
        Value::Map(m) => {
            let key = map_id(m);
            if !path.insert(key) {
                return Err(Error::new("deepCopy: value contains itself"));
            }
            let out = Map::new();
            for (k, item) in m.entries() {
                out.insert(k, copy_at(&item, budget, path)?);
            }
            path.remove(&key);
            Ok(Value::Map(out))
        }
        other => Ok(other.clone()),
    }
}

/// The identity of a shared map (the address of its cell).
pub(crate) fn map_id(m: &Map) -> usize {
    &*m.borrow() as *const _ as usize
}

/// The identity of a shared list.
pub(crate) fn list_id(l: &List) -> usize {
    &*l.borrow() as *const _ as usize
}

/// The deterministic random source of one execution (xorshift64*, seeded
/// with a constant).
pub(crate) struct Rng(u64);

impl Default for Rng {
    fn default() -> Rng {
        Rng(0x9E37_79B9_7F4A_7C15)
    }
}

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The execution's random source.
pub(crate) fn rng<'a>(ctx: &'a mut Context<'_>) -> &'a mut Rng {
    ctx.state::<Rng>()
}
