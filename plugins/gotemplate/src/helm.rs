//! Helm's own template functions that need the engine: `include`, `tpl`,
//! `required` and `fail` (the rest of Helm's and Sprig's functions are plain
//! functions of their arguments and are registered the same way).
//!
//! ```
//! use gotemplate::{Templates, Value, helm};
//!
//! let mut t = Templates::named("gotpl");
//! helm::register(&mut t);
//! t.parse("_helpers.tpl", r#"{{ define "name" }}{{ .Values.name }}{{ end }}"#).unwrap();
//! t.parse("cm.yaml", r#"name: {{ include "name" . }}-{{ tpl .Values.suffix . }}"#).unwrap();
//! let data = Value::from(serde_json::json!({"Values": {"name": "web", "suffix": "{{ .Values.name }}"}}));
//! assert_eq!(t.execute("cm.yaml", &data).unwrap(), "name: web-web");
//! ```

use std::collections::HashMap;

use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;
use crate::strconv::quote;
use crate::template::Templates;
use crate::value::Value;

/// Helm stops `include` recursion when one name is nested more than this
/// many times.
pub const MAX_INCLUDE_RECURSION: usize = 1000;

/// Registers everything a Helm chart can call, in one go: Sprig's
/// functions (Helm's selection, without `env` and `expandenv`, see
/// [`crate::sprig`]), then Helm's own: `toYaml`, `toYamlPretty`,
/// `mustToYaml`, `fromYaml`, `fromYamlArray`, `toJson`, `mustToJson`,
/// `fromJson`, `fromJsonArray`, `toToml`, `lookup` (always an empty map:
/// there is no cluster), `include`, `tpl`, `required` and `fail`. Go's
/// builtins are always there; Sprig's `slice` replaces Go's, as in Helm.
///
/// ```
/// use gotemplate::{Templates, Value, helm};
///
/// let mut t = Templates::named("gotpl");
/// helm::register_all(&mut t);
/// t.parse("t", r#"{{ dict "b" (list 1 "x") "a" true | toYaml }}"#).unwrap();
/// assert_eq!(t.execute("t", &Value::Nil).unwrap(), "a: true\nb:\n- 1\n- x");
/// ```
pub fn register_all(t: &mut Templates) {
    crate::sprig::register(t);
    crate::sprig::register_helm_extras(t);
    t.add_func("lookup", Arity::Exact(4), |_, args| {
        for a in &args {
            string_arg(a)?;
        }
        Ok(Value::new_map())
    });
    register(t);
}

/// Registers `include`, `tpl`, `required` and `fail` only (see
/// [`register_all`] for the whole of Helm's functions).
pub fn register(t: &mut Templates) {
    t.add_func("include", Arity::Exact(2), include);
    t.add_func("tpl", Arity::Exact(2), tpl);
    t.add_func("required", Arity::Exact(2), required);
    t.add_func("fail", Arity::Exact(1), fail);
}

fn string_arg(v: &Value) -> Result<&str, Error> {
    v.as_str().ok_or_else(|| Error::arg_type("string", v))
}

#[derive(Default)]
struct IncludeDepth(HashMap<String, usize>);

/// `include NAME DATA`: renders the template `NAME` with `DATA` and returns
/// the text, so that it can be piped (`include "x" . | indent 4`).
pub fn include(ctx: &mut Context<'_>, args: Vec<Value>) -> Result<Value, Error> {
    let name = string_arg(&args[0])?.to_string();
    let data = args.into_iter().nth(1).unwrap_or_default();
    {
        let depth = ctx
            .state::<IncludeDepth>()
            .0
            .entry(name.clone())
            .or_insert(0);
        if *depth > MAX_INCLUDE_RECURSION {
            return Err(Error::new(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        *depth += 1;
    }
    let r = ctx.execute_template(&name, data);
    if let Some(d) = ctx.state::<IncludeDepth>().0.get_mut(&name) {
        *d -= 1;
    }
    r.map(Value::from)
}

/// `tpl TEXT DATA`: parses `TEXT` as a template with the same functions and
/// executes it with `DATA` (`.Template` is whatever `DATA` holds). The text
/// is named after the calling template, so that errors point at it (their
/// lines and columns are those of `TEXT`); its
/// `{{define}}`s are visible only while it runs, as Helm executes it in a
/// clone of the set. Errors read as Helm's: `cannot parse template "…": …`
/// and `error during tpl function execution for "…": …`.
pub fn tpl(ctx: &mut Context<'_>, args: Vec<Value>) -> Result<Value, Error> {
    let text = string_arg(&args[0])?.to_string();
    let data = args.into_iter().nth(1).unwrap_or_default();
    let name = ctx.template_name().to_string();
    match ctx.execute_text(&name, &text, data) {
        Ok(s) => Ok(Value::from(s)),
        Err(e) if e.kind() == crate::ErrorKind::Parse => Err(Error::wrap(
            format!("cannot parse template {}", quote(&text)),
            e,
        )),
        Err(e) => Err(Error::wrap(
            format!("error during tpl function execution for {}", quote(&text)),
            e,
        )),
    }
}

/// `required MSG VALUE`: `VALUE`, or the error `MSG` when it is nil or an
/// empty string (an empty list or map is accepted, as in Helm).
pub fn required(_: &mut Context<'_>, args: Vec<Value>) -> Result<Value, Error> {
    let msg = string_arg(&args[0])?;
    match &args[1] {
        Value::Nil => Err(Error::new(msg)),
        Value::String(s) if s.is_empty() => Err(Error::new(msg)),
        v => Ok(v.clone()),
    }
}

/// `fail MSG`: the error `MSG`.
pub fn fail(_: &mut Context<'_>, args: Vec<Value>) -> Result<Value, Error> {
    Err(Error::new(string_arg(&args[0])?))
}
