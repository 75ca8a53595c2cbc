//! Go's `text/template`, for rendering Helm charts without Helm.
//!
//! Written from Go's documented behaviour (and read, not copied, from Go's
//! sources): the lexer and parser accept all of `text/template`'s syntax
//! and report Go's errors; the executor follows Go's rules for data,
//! variables, pipelines, `and`/`or` short-circuits, comparisons and
//! printing; [`gofmt`] is Go's `fmt` for `print`, `printf` and `println`.
//! It builds for `wasm32-wasip2` and natively. [`sprig`] adds Sprig's
//! function library and [`helm::register_all`] everything a Helm chart can
//! call (builtins, Sprig, `toYaml`, `include`, `tpl`, …) in one call.
//!
//! # Use
//!
//! ```
//! use gotemplate::{Templates, Value};
//!
//! let mut t = Templates::named("gotpl");
//! t.parse("deploy.yaml", "replicas: {{ .Values.replicas }}\n{{- range $k, $v := .Values.env }}\n- {{ $k }}={{ $v }}{{ end }}").unwrap();
//! let data = Value::from(serde_json::json!({
//!     "Values": {"replicas": 3, "env": {"B": "2", "A": "1"}}
//! }));
//! assert_eq!(t.execute("deploy.yaml", &data).unwrap(), "replicas: 3\n- A=1\n- B=2");
//! ```
//!
//! # Values
//!
//! [`Value`] is Helm's data model: nil, bool, int (`i64`, what integer
//! literals give), float (`f64`, what every number from JSON/YAML values is
//! in Helm, so `1000000` prints as `1e+06`), string, [`List`], [`Map`] and
//! [`Object`]. Maps and lists are shared: cloning a `Value::Map` aliases it,
//! so a function changing a map in place (Sprig's `set`, `unset`, `merge`)
//! changes it for every holder. Maps keep their keys sorted, as Go's `range`
//! and `fmt` visit them. [`Value::from_json`] converts values the way Helm
//! reads them (all numbers to floats). An [`Object`] answers fields and
//! methods with arguments (`.Capabilities.APIVersions.Has "apps/v1"`,
//! `.Files.Get "f"`).
//!
//! An action prints a value as Go's `fmt.Print` does ([`Value`]'s `Display`),
//! except nil, which prints as nothing (Helm strips Go's `<no value>`;
//! [`Templates::set_nil_text`]).
//!
//! # Adding functions (Sprig, Helm)
//!
//! Functions live in the set, by name, and must be registered before
//! parsing: as in Go, the parser rejects an unknown function ("function "x"
//! not defined"). A function receives the evaluated arguments (the value of
//! the previous pipeline stage last) and returns a value or an [`Error`]:
//!
//! ```
//! use gotemplate::{Arity, Error, Templates, Value};
//!
//! let mut t = Templates::new();
//! t.add_func("upper", Arity::Exact(1), |_ctx, args| {
//!     let s = args[0].as_str().ok_or_else(|| Error::arg_type("string", &args[0]))?;
//!     Ok(Value::from(s.to_uppercase()))
//! });
//! // Sprig's set: changes the map in place, and every holder sees it.
//! t.add_func("set", Arity::Exact(3), |_ctx, args| {
//!     let (Value::Map(m), Some(k)) = (&args[0], args[1].as_str()) else {
//!         return Err(Error::new("set needs a map and a string key"));
//!     };
//!     m.insert(k, args[2].clone());
//!     Ok(args[0].clone())
//! });
//! t.parse("t", r#"{{ $d := .d }}{{ $_ := set $d "k" "v" }}{{ .d.k | upper }}"#).unwrap();
//! let data = Value::from(serde_json::json!({"d": {}}));
//! assert_eq!(t.execute("t", &data).unwrap(), "V");
//! ```
//!
//! * The number of arguments is checked from the [`Arity`] with Go's
//!   message ("wrong number of args for x: want 2 got 1"); `Exact(n)` is
//!   Go's `func(a, b)`, `AtLeast(n)` a variadic `func(a, rest ...)`.
//! * An error is reported as Go reports it:
//!   `template: NAME:LINE:COL: executing "NAME" at <upper .x>: error calling upper: MESSAGE`.
//!   [`Error::arg_type`] words a refused argument as Go's own type check
//!   does (`wrong type for value; expected string; got int`).
//!   [`Error::wrap`] keeps an inner error reachable ([`Error::cause`]).
//! * The [`Context`] reaches the execution: [`Context::execute_template`]
//!   renders a named template into a `String` (that is `include`),
//!   [`Context::execute_text`] parses and runs text as a template in the
//!   same set (that is `tpl`), [`Context::template_name`],
//!   [`Context::depth`], and [`Context::state`] keeps per-execution state.
//!   The [`helm`] module implements `include`, `tpl`, `required` and `fail`
//!   this way; [`helm::register`] adds them.
//! * Builtins are functions like any other and can be replaced (`and`,
//!   `or` keep their short-circuit only as builtins).
//! * Useful for implementers: [`gofmt::sprintf`] (Sprig's `printf`-based
//!   functions), [`Value`]'s `Display` (Go's `%v`, Sprig's `toString`),
//!   [`strconv::format_float`] (Go's `strconv.FormatFloat`, for `toJson`
//!   and `toYaml`), [`strconv::quote`] (`%q`, Sprig's `quote`),
//!   [`funcs::eq`]/[`funcs::lt`] (Go's comparisons), [`Value::deep_copy`].
//!
//! # Template set
//!
//! [`Templates`] is one set: every parsed text and every `{{define}}` in it
//! is visible to all (`template`, `include`); a later parse of a name
//! replaces the earlier one (parse subcharts first, parents last, and the
//! parent's definitions win, as in Helm). `template` and `include` nest at
//! most [`Limits::max_depth`] (1000) deep. Like [`Value`], a set is
//! single-threaded (it shares data through `Rc`); cloning one is cheap and
//! gives an independent set.
//!
//! # Nil, as Go and Helm have it
//!
//! A missing key or a null is nil, and printing nil prints nothing. A field
//! of a nil read out of a map or a list is Go's (and Helm's) error
//! `nil pointer evaluating interface {}.x` (`.Values.missing.x`), while a
//! field of a nil variable, dot or parenthesized value is nil; guard with
//! `and`/`if`/`with`, or see [`Templates::set_lenient_nil_fields`].
//! `eq`/`ne` compare nil with anything; `lt` and the others refuse it.

//! # Differences from Go worth knowing
//!
//! * No complex numbers (a parse error), no custom delimiters, no
//!   `missingkey=error`, no channels or function values (`call` only
//!   reports Go's error).
//! * Parse errors are Go's: `template: NAME:LINE: message` (Go gives no
//!   column for them); the line and column of execution errors are Go's
//!   (the column is a 0-based byte offset).
//! * Parentheses and control structures nest at most 200 deep, and
//!   [`Limits`] bound steps, `range` iterations and output.
//! * `unicode.IsPrint` (for `%q` and `js`) is approximated without Unicode
//!   tables: unassigned code points count as printable.
//! * One integer type: every integer is Go's `int` (`i64`) and is named so
//!   in messages; functions returning Go's `int64` or unsigned types return
//!   [`Value::Int`] as well.

mod error;
mod exec;
pub mod funcs;
pub mod gofmt;
pub mod helm;
mod lex;
mod node;
mod parse;
pub mod sprig;
pub mod strconv;
mod template;
mod value;

pub use error::{Error, ErrorKind, Location};
pub use exec::Context;
pub use funcs::{Arity, FuncImpl, Function};
pub use node::Tree;
pub use template::{Limits, Templates};
pub use value::{List, Map, Object, Value};
