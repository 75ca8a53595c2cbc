//! Helpers shared by the integration tests: a template set with Helm's
//! engine functions and a few Sprig-like test functions, and Helm-like
//! objects.
#![allow(dead_code)]

use gotemplate::{Arity, Context, Error, Map, Object, Templates, Value, helm};

/// A set named like Helm's, with `include`, `tpl`, `required`, `fail` and
/// the test functions `dict`, `list`, `set`, `upper`, `default`.
pub fn set() -> Templates {
    let mut t = Templates::named("gotpl");
    helm::register(&mut t);
    t.add_func("dict", Arity::AtLeast(0), |_, args| {
        let m = Map::new();
        for pair in args.chunks(2) {
            let k = pair[0]
                .as_str()
                .ok_or_else(|| Error::arg_type("string", &pair[0]))?;
            m.insert(k, pair.get(1).cloned().unwrap_or_default());
        }
        Ok(Value::Map(m))
    });
    t.add_func("list", Arity::AtLeast(0), |_, args| Ok(Value::list(args)));
    t.add_func("set", Arity::Exact(3), |_, args| {
        let Value::Map(m) = &args[0] else {
            return Err(Error::arg_type("map[string]interface {}", &args[0]));
        };
        let k = args[1]
            .as_str()
            .ok_or_else(|| Error::arg_type("string", &args[1]))?;
        m.insert(k, args[2].clone());
        Ok(args[0].clone())
    });
    t.add_func("upper", Arity::Exact(1), |_, args| {
        let s = args[0]
            .as_str()
            .ok_or_else(|| Error::arg_type("string", &args[0]))?;
        Ok(Value::from(s.to_uppercase()))
    });
    t.add_func("default", Arity::AtLeast(1), |_, args| {
        Ok(match args.get(1) {
            Some(v) if v.is_truthy() => v.clone(),
            _ => args[0].clone(),
        })
    });
    t
}

/// Parses `src` as "t" in [`set`] and executes it with `data`.
pub fn try_render(src: &str, data: Value) -> Result<String, Error> {
    let mut t = set();
    t.parse("t", src)?;
    t.execute("t", &data)
}

/// [`try_render`] with JSON data (numbers become floats, as in Helm).
pub fn render(src: &str, data: serde_json::Value) -> String {
    match try_render(src, Value::from(data)) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

/// The error text of rendering `src`.
pub fn render_err(src: &str, data: serde_json::Value) -> String {
    match try_render(src, Value::from(data)) {
        Ok(s) => panic!("{src:?} rendered {s:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Renders without data.
pub fn r(src: &str) -> String {
    render(src, serde_json::json!({}))
}

/// The error text of rendering without data.
pub fn e(src: &str) -> String {
    render_err(src, serde_json::json!({}))
}

/// Helm's `.Capabilities`.
pub struct Capabilities {
    pub kube: Value,
    pub apis: Value,
}

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*chartutil.Capabilities".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(self.kube.clone()),
            "APIVersions" => Some(self.apis.clone()),
            _ => None,
        }
    }
}

/// Helm's `.Capabilities.KubeVersion`.
pub struct KubeVersion;

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "chartutil.KubeVersion".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some("v1.20.0".into()),
            "Major" => Some("1".into()),
            "Minor" => Some("20".into()),
            _ => None,
        }
    }
    fn string(&self) -> Option<String> {
        Some("v1.20.0".into())
    }
}

/// Helm's `.Capabilities.APIVersions`.
pub struct ApiVersions(pub Vec<&'static str>);

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "chartutil.VersionSet".into()
    }
    fn method_arity(&self, name: &str) -> Option<Arity> {
        (name == "Has").then_some(Arity::Exact(1))
    }
    fn call_method(&self, _: &mut Context<'_>, _: &str, args: Vec<Value>) -> Result<Value, Error> {
        let v = args[0]
            .as_str()
            .ok_or_else(|| Error::arg_type("string", &args[0]))?;
        Ok(Value::Bool(self.0.contains(&v)))
    }
    fn value(&self) -> Option<Value> {
        Some(Value::list(
            self.0.iter().map(|s| Value::from(*s)).collect(),
        ))
    }
}

/// Helm's `.Files`.
pub struct Files(pub Vec<(&'static str, &'static str)>);

impl Object for Files {
    fn type_name(&self) -> String {
        "chart.Files".into()
    }
    fn method_arity(&self, name: &str) -> Option<Arity> {
        match name {
            "Get" | "Glob" => Some(Arity::Exact(1)),
            "AsConfig" => Some(Arity::Exact(0)),
            _ => None,
        }
    }
    fn call_method(
        &self,
        _: &mut Context<'_>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, Error> {
        match name {
            "Get" => {
                let p = args[0]
                    .as_str()
                    .ok_or_else(|| Error::arg_type("string", &args[0]))?;
                Ok(Value::from(
                    self.0
                        .iter()
                        .find(|(n, _)| *n == p)
                        .map(|(_, c)| *c)
                        .unwrap_or(""),
                ))
            }
            "Glob" => {
                let p = args[0]
                    .as_str()
                    .ok_or_else(|| Error::arg_type("string", &args[0]))?;
                let suffix = p.trim_start_matches('*');
                if p.contains('[') {
                    return Err(Error::new(format!("syntax error in pattern {p}")));
                }
                Ok(Value::object(Files(
                    self.0
                        .iter()
                        .copied()
                        .filter(|(n, _)| n.ends_with(suffix))
                        .collect(),
                )))
            }
            _ => {
                let mut out = String::new();
                for (n, c) in &self.0 {
                    out.push_str(&format!("{n}: {c}\n"));
                }
                Ok(Value::from(out))
            }
        }
    }
    fn value(&self) -> Option<Value> {
        Some(Value::Map(
            self.0
                .iter()
                .map(|(n, c)| (n.to_string(), Value::from(*c)))
                .collect(),
        ))
    }
}

/// Helm-like top-level data: `.Values` from JSON, `.Capabilities`, `.Files`,
/// `.Release`.
pub fn helm_data(values: serde_json::Value) -> Value {
    let top = Map::new();
    top.insert("Values", Value::from(values));
    top.insert(
        "Capabilities",
        Value::object(Capabilities {
            kube: Value::object(KubeVersion),
            apis: Value::object(ApiVersions(vec!["v1", "apps/v1", "batch/v1"])),
        }),
    );
    top.insert(
        "Files",
        Value::object(Files(vec![
            ("a.conf", "A=1"),
            ("b.conf", "B=2"),
            ("readme.md", "# hi"),
        ])),
    );
    let release = Map::new();
    release.insert("Name", "rel");
    release.insert("Namespace", "ns");
    top.insert("Release", release);
    Value::Map(top)
}
