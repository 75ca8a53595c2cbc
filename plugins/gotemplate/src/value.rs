//! Values: the data a template sees, modelled on what Helm hands to Go's
//! `text/template` (`map[string]interface{}` all the way down).
//!
//! * [`Map`] and [`List`] are shared, mutable references: cloning a
//!   `Value::Map` aliases the same map, so a function that changes a map in
//!   place (Sprig's `set`, `unset`, `merge`) is seen by every holder, as in Go.
//!   Maps keep their keys sorted (Go's `range` and `fmt` sort map keys).
//! * Numbers are `Int` (Go `int`, what integer literals in templates give)
//!   or `Float` (Go `float64`, what every number read from JSON or YAML
//!   values becomes in Helm).
//! * [`Object`] is the escape hatch for Go values with fields and methods:
//!   `.Capabilities.APIVersions.Has "apps/v1"`, `.Files.Get "x"`.

use std::any::Any;
use std::cell::{Ref, RefCell, RefMut};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped nil (a missing map key, a YAML `null`).
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int` (64-bit, as on every platform Helm runs on).
    Int(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`.
    String(Rc<str>),
    /// Go `[]interface{}`, shared.
    List(List),
    /// Go `map[string]interface{}`, shared and mutable in place.
    Map(Map),
    /// Any other Go value: fields and methods answered by the [`Object`].
    Object(Rc<dyn Object>),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    /// An object value.
    pub fn object(o: impl Object) -> Value {
        Value::Object(Rc::new(o))
    }

    /// A new empty map value.
    pub fn new_map() -> Value {
        Value::Map(Map::new())
    }

    /// A list value holding `items`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::from(items))
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's template truth (`if`, `with`, `and`, `or`, `not`): false, 0,
    /// nil and empty strings, lists and maps are false; everything else is
    /// true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// The Go type name, as Go's error messages and `%T` print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_) => "int".to_string(),
            Value::Float(_) => "float64".to_string(),
            Value::String(_) => "string".to_string(),
            Value::List(_) => "[]interface {}".to_string(),
            Value::Map(_) => "map[string]interface {}".to_string(),
            Value::Object(o) => o.type_name(),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is an `Int` (no conversion from floats).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is a `Float` (no conversion from ints).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list, if this is a list.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&Rc<dyn Object>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Go's `len`: bytes of a string, items of a list or map (an object's
    /// [`Object::value`]); `None` for anything else.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::String(s) => Some(s.len()),
            Value::List(l) => Some(l.len()),
            Value::Map(m) => Some(m.len()),
            Value::Object(o) => match o.value() {
                Some(Value::Object(_)) | None => None,
                Some(v) => v.len(),
            },
            _ => None,
        }
    }

    /// Whether [`Value::len`] is `Some(0)`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// A copy that shares nothing with `self` (maps and lists copied all the
    /// way down; objects are shared, they are immutable).
    pub fn deep_copy(&self) -> Value {
        self.deep_copy_at(0)
    }

    fn deep_copy_at(&self, depth: usize) -> Value {
        if depth > MAX_NESTING {
            return Value::Nil;
        }
        match self {
            Value::List(l) => Value::List(List::from(
                l.borrow()
                    .iter()
                    .map(|v| v.deep_copy_at(depth + 1))
                    .collect::<Vec<_>>(),
            )),
            Value::Map(m) => Value::Map(Map::from(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy_at(depth + 1)))
                    .collect::<BTreeMap<_, _>>(),
            )),
            other => other.clone(),
        }
    }

    /// Converts JSON as Helm sees it: every number becomes a `Float`
    /// (values are parsed YAML → JSON → Go `float64`), objects become maps
    /// and arrays lists.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(a) => Value::List(List::from(
                a.iter().map(Value::from_json).collect::<Vec<_>>(),
            )),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON: ints stay integers, floats become JSON numbers
    /// (non-finite ones null), objects their [`Object::value`] (or null).
    /// Formatting JSON text the way Go's `encoding/json` does is left to the
    /// caller (see [`crate::strconv::format_float`]).
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_at(0)
    }

    fn to_json_at(&self, depth: usize) -> serde_json::Value {
        if depth > MAX_NESTING {
            return serde_json::Value::Null;
        }
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(
                l.borrow().iter().map(|v| v.to_json_at(depth + 1)).collect(),
            ),
            Value::Map(m) => serde_json::Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_at(depth + 1)))
                    .collect(),
            ),
            Value::Object(o) => o
                .value()
                .map(|v| v.to_json_at(depth + 1))
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

/// How deep nested maps and lists are followed when printing, copying or
/// converting (a map can be made to contain itself with Sprig's `set`).
pub(crate) const MAX_NESTING: usize = 512;

/// Go's `fmt` `%v`: what `print` and an action print (except that an action
/// prints nil as nothing, see [`crate::Templates::set_nil_text`]).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::gofmt::sprint(std::slice::from_ref(self)))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({:?})", &**s),
            Value::List(l) => f.debug_list().entries(l.borrow().iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

/// Structural equality, as Go's `reflect.DeepEqual` on these types: the
/// variants must match (`Int(1) != Float(1.0)`), maps and lists compare
/// their contents, objects compare by identity.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a.ptr_eq(b) || *a.borrow() == *b.borrow(),
            (Value::Map(a), Value::Map(b)) => a.ptr_eq(b) || *a.borrow() == *b.borrow(),
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Int(v as i64)
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, isize, usize);

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Float(v as f64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v.into())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::String(v.as_str().into())
    }
}
impl From<Rc<str>> for Value {
    fn from(v: Rc<str>) -> Value {
        Value::String(v)
    }
}
impl From<Map> for Value {
    fn from(v: Map) -> Value {
        Value::Map(v)
    }
}
impl From<List> for Value {
    fn from(v: List) -> Value {
        Value::List(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::List(List::from(v))
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(v: BTreeMap<String, Value>) -> Value {
        Value::Map(Map::from(v))
    }
}
impl From<Rc<dyn Object>> for Value {
    fn from(v: Rc<dyn Object>) -> Value {
        Value::Object(v)
    }
}
impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        Value::from_json(v)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        Value::from_json(&v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

/// A shared, mutable map with sorted keys: Go's `map[string]interface{}`.
///
/// `clone()` aliases; use [`Map::deep_copy`] for an independent copy.
/// Do not hold a [`Map::borrow`] across a call that may change the map.
#[derive(Clone, Default)]
pub struct Map(Rc<RefCell<BTreeMap<String, Value>>>);

impl Map {
    /// A new empty map.
    pub fn new() -> Map {
        Map::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.borrow().get(key).cloned()
    }

    /// Whether `key` is present (even with a nil value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }

    /// Sets `key`, returning the previous value.
    pub fn insert(&self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.borrow_mut().insert(key.into(), value.into())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.0.borrow_mut().remove(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }

    /// A snapshot of the entries, sorted by key.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.0
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Borrows the underlying map.
    pub fn borrow(&self) -> Ref<'_, BTreeMap<String, Value>> {
        self.0.borrow()
    }

    /// Borrows the underlying map mutably.
    pub fn borrow_mut(&self) -> RefMut<'_, BTreeMap<String, Value>> {
        self.0.borrow_mut()
    }

    /// Whether both are the same map.
    pub fn ptr_eq(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// An independent copy, nested maps and lists included.
    pub fn deep_copy(&self) -> Map {
        match Value::Map(self.clone()).deep_copy() {
            Value::Map(m) => m,
            _ => Map::new(),
        }
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Map {
        Map(Rc::new(RefCell::new(m)))
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Map {
        Map::from(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect::<BTreeMap<_, _>>(),
        )
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.borrow().iter()).finish()
    }
}

/// A shared list: Go's `[]interface{}`.
///
/// `clone()` aliases. Sprig's list functions return new lists; the sharing
/// matters for the maps inside.
#[derive(Clone, Default)]
pub struct List(Rc<RefCell<Vec<Value>>>);

impl List {
    /// A new empty list.
    pub fn new() -> List {
        List::default()
    }

    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<Value> {
        self.0.borrow().get(index).cloned()
    }

    /// Appends an item in place.
    pub fn push(&self, value: impl Into<Value>) {
        self.0.borrow_mut().push(value.into())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// A snapshot of the items.
    pub fn to_vec(&self) -> Vec<Value> {
        self.0.borrow().clone()
    }

    /// Borrows the underlying vector.
    pub fn borrow(&self) -> Ref<'_, Vec<Value>> {
        self.0.borrow()
    }

    /// Borrows the underlying vector mutably.
    pub fn borrow_mut(&self) -> RefMut<'_, Vec<Value>> {
        self.0.borrow_mut()
    }

    /// Whether both are the same list.
    pub fn ptr_eq(&self, other: &List) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Vec<Value>> for List {
    fn from(v: Vec<Value>) -> List {
        List(Rc::new(RefCell::new(v)))
    }
}

impl<V: Into<Value>> FromIterator<V> for List {
    fn from_iter<I: IntoIterator<Item = V>>(iter: I) -> List {
        List::from(iter.into_iter().map(Into::into).collect::<Vec<_>>())
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.borrow().iter()).finish()
    }
}

/// A Go value with fields and methods, such as Helm's `.Capabilities`,
/// `.Files` or `.Capabilities.KubeVersion`.
///
/// Field access (`.X`) asks [`Object::method_arity`] first, as Go looks
/// methods up before fields: a method is called with the evaluated
/// arguments that follow it (`.Files.Get "a.conf"`, `.Capabilities.APIVersions.Has
/// "apps/v1"`); otherwise [`Object::field`] answers (`.KubeVersion.Version`).
/// Anything else is Go's error "can't evaluate field X in type T".
///
/// ```
/// use gotemplate::{Arity, Context, Error, Object, Value};
///
/// struct ApiVersions(Vec<String>);
///
/// impl Object for ApiVersions {
///     fn type_name(&self) -> String {
///         "chartutil.VersionSet".into()
///     }
///     fn method_arity(&self, name: &str) -> Option<Arity> {
///         (name == "Has").then_some(Arity::Exact(1))
///     }
///     fn call_method(&self, _: &mut Context<'_>, _: &str, args: Vec<Value>) -> Result<Value, Error> {
///         let wanted = args[0].as_str().ok_or_else(|| Error::arg_type("string", &args[0]))?;
///         Ok(Value::Bool(self.0.iter().any(|v| v == wanted)))
///     }
///     fn value(&self) -> Option<Value> {
///         Some(self.0.iter().map(|s| Value::from(s.as_str())).collect::<Vec<_>>().into())
///     }
/// }
/// ```
pub trait Object: Any {
    /// The Go type name, for error messages and `%T`.
    fn type_name(&self) -> String;

    /// The field `name` (no arguments); `None` if there is none.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }

    /// `Some(arity)` if `name` is a method.
    fn method_arity(&self, name: &str) -> Option<Arity> {
        let _ = name;
        None
    }

    /// Calls the method `name` (one [`Object::method_arity`] accepted) with
    /// evaluated arguments, their number already checked.
    fn call_method(
        &self,
        ctx: &mut Context<'_>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, Error> {
        let _ = (ctx, args);
        Err(Error::new(format!(
            "{} has no method {}",
            self.type_name(),
            name
        )))
    }

    /// Go's `fmt.Stringer`: what `%v` and `%s` print, if the Go type has a
    /// `String()` method (`.Capabilities.KubeVersion` prints `v1.20.0`).
    fn string(&self) -> Option<String> {
        None
    }

    /// The plain data behind the object, if it has some: used by `range`,
    /// `len`, `index`, `slice`, by printing when [`Object::string`] is
    /// `None`, and by [`Value::to_json`]. It should be plain data (a list,
    /// a map, a scalar), not another object.
    fn value(&self) -> Option<Value> {
        None
    }

    /// Truth in `if`/`with` (a Go struct is always true).
    fn truthy(&self) -> bool {
        true
    }
}

impl dyn Object {
    /// Downcasts to the concrete type.
    pub fn downcast_ref<T: Object>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }
}
