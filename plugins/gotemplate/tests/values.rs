//! The value model: JSON conversion, truth, printing, sharing, limits.

mod common;

use common::set;
use gotemplate::{ErrorKind, Limits, List, Map, Object, Value};
use serde_json::json;

#[test]
fn json_numbers_become_floats() {
    let v = Value::from(
        json!({"i": 3, "f": 1.5, "big": 1000000, "s": "x", "b": true, "n": null, "l": [1, "a"]}),
    );
    let m = v.as_map().unwrap();
    assert_eq!(m.get("i"), Some(Value::Float(3.0)));
    assert_eq!(m.get("big").unwrap().to_string(), "1e+06");
    assert_eq!(m.get("n"), Some(Value::Nil));
    assert_eq!(m.get("l").unwrap().as_list().unwrap().len(), 2);
    assert_eq!(
        v.to_json(),
        json!({"i": 3.0, "f": 1.5, "big": 1000000.0, "s": "x", "b": true, "n": null, "l": [1.0, "a"]})
    );
    assert_eq!(Value::Int(7).to_json(), json!(7));
    assert_eq!(Value::Float(f64::NAN).to_json(), json!(null));
}

#[test]
fn truth() {
    for v in [
        Value::Nil,
        false.into(),
        0.into(),
        0.0.into(),
        "".into(),
        Value::list(vec![]),
        Value::new_map(),
    ] {
        assert!(!v.is_truthy(), "{v:?}");
    }
    for v in [
        true.into(),
        1.into(),
        (-0.5).into(),
        "0".into(),
        Value::list(vec![Value::Nil]),
        Value::from(json!({"a": null})),
    ] {
        assert!(v.is_truthy(), "{v:?}");
    }
    assert!(Value::object(common::KubeVersion).is_truthy());
}

#[test]
fn printing_is_go_s_percent_v() {
    let cases: Vec<(Value, &str)> = vec![
        (Value::Nil, "<nil>"),
        (true.into(), "true"),
        (42.into(), "42"),
        ((-7).into(), "-7"),
        (1000000.0.into(), "1e+06"),
        (1.5.into(), "1.5"),
        (3.0.into(), "3"),
        (1e21.into(), "1e+21"),
        (0.000001.into(), "1e-06"),
        (123456.0.into(), "123456"),
        (0.1.into(), "0.1"),
        ((-0.0).into(), "-0"),
        (f64::INFINITY.into(), "+Inf"),
        (f64::NAN.into(), "NaN"),
        ("s".into(), "s"),
        (
            Value::list(vec![1.into(), "a".into(), Value::Nil]),
            "[1 a <nil>]",
        ),
        (
            Value::from(json!({"b": [1], "a": {"c": "d"}})),
            "map[a:map[c:d] b:[1]]",
        ),
        (Value::object(common::KubeVersion), "v1.20.0"),
        (
            Value::object(common::ApiVersions(vec!["v1", "apps/v1"])),
            "[v1 apps/v1]",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(v.to_string(), want, "{v:?}");
    }
}

#[test]
fn type_names() {
    assert_eq!(Value::Nil.type_name(), "<nil>");
    assert_eq!(Value::from(1).type_name(), "int");
    assert_eq!(Value::from(1.0).type_name(), "float64");
    assert_eq!(Value::from("").type_name(), "string");
    assert_eq!(Value::from(true).type_name(), "bool");
    assert_eq!(Value::list(vec![]).type_name(), "[]interface {}");
    assert_eq!(Value::new_map().type_name(), "map[string]interface {}");
    assert_eq!(
        Value::object(common::KubeVersion).type_name(),
        "chartutil.KubeVersion"
    );
}

#[test]
fn maps_alias_and_deep_copies_do_not() {
    let m = Map::new();
    let v = Value::Map(m.clone());
    let alias = v.clone();
    m.insert("k", 1);
    assert_eq!(alias.as_map().unwrap().get("k"), Some(Value::Int(1)));
    let copy = v.deep_copy();
    m.insert("k", 2);
    assert_eq!(copy.as_map().unwrap().get("k"), Some(Value::Int(1)));
    assert!(m.ptr_eq(alias.as_map().unwrap()));
    assert!(!m.ptr_eq(copy.as_map().unwrap()));
    // Keys are sorted.
    let m: Map = [("b", 1), ("a", 2), ("C", 3)].into_iter().collect();
    assert_eq!(m.keys(), vec!["C", "a", "b"]);
    assert_eq!(m.remove("a"), Some(Value::Int(2)));
    assert!(m.contains_key("b") && !m.contains_key("a"));
    assert_eq!(m.len(), 2);
    // Lists alias too.
    let l = List::new();
    let lv = Value::List(l.clone());
    l.push("x");
    assert_eq!(lv.len(), Some(1));
    assert_eq!(l.get(0), Some(Value::from("x")));
}

#[test]
fn a_map_containing_itself_prints_bounded() {
    let m = Map::new();
    m.insert("self", Value::Map(m.clone()));
    let s = Value::Map(m.clone()).to_string();
    assert!(s.starts_with("map[self:map[self:"));
    assert!(s.contains("map[...]"));
    let _ = Value::Map(m.clone()).to_json();
    let _ = Value::Map(m.clone()).deep_copy();
    m.remove("self");
}

#[test]
fn equality_is_deep_and_typed() {
    assert_eq!(
        Value::from(json!({"a": [1, {"b": null}]})),
        Value::from(json!({"a": [1, {"b": null}]}))
    );
    assert_ne!(Value::Int(1), Value::Float(1.0));
    assert_ne!(Value::from("1"), Value::Int(1));
    let o = Value::object(common::KubeVersion);
    assert_eq!(o, o.clone());
    assert_ne!(o, Value::object(common::KubeVersion));
}

#[test]
fn conversions_and_accessors() {
    assert_eq!(Value::from(Some(3)), Value::Int(3));
    assert_eq!(Value::from(None::<i64>), Value::Nil);
    assert_eq!(Value::from(vec![Value::from(1)]).len(), Some(1));
    assert_eq!(Value::from("héllo").len(), Some(6));
    assert_eq!(Value::from(1).len(), None);
    assert!(Value::from("").is_empty());
    assert_eq!(Value::from(2).as_int(), Some(2));
    assert_eq!(Value::from(2.5).as_float(), Some(2.5));
    assert_eq!(Value::from(true).as_bool(), Some(true));
    assert_eq!(Value::from("s").as_str(), Some("s"));
    let o = Value::object(common::KubeVersion);
    assert!(
        o.as_object()
            .unwrap()
            .downcast_ref::<common::KubeVersion>()
            .is_some()
    );
    assert!(
        o.as_object()
            .unwrap()
            .downcast_ref::<common::Files>()
            .is_none()
    );
    assert_eq!(
        o.as_object().unwrap().field("Major"),
        Some(Value::from("1"))
    );
}

#[test]
fn limits_stop_runaway_templates() {
    let run = |limits: Limits, src: &str| {
        let mut t = set();
        t.set_limits(limits);
        t.parse("t", src).unwrap();
        t.execute("t", &Value::Nil)
    };
    let err = run(
        Limits {
            max_range_iterations: 100,
            ..Default::default()
        },
        "{{ range 1000 }}{{ end }}",
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(
        err.to_string()
            .ends_with("range iteration limit exceeded (100)"),
        "{err}"
    );
    // Iterations of all loops count together.
    let err = run(
        Limits {
            max_range_iterations: 100,
            ..Default::default()
        },
        "{{ range 20 }}{{ range 20 }}{{ end }}{{ end }}",
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    let err = run(
        Limits {
            max_steps: 1000,
            ..Default::default()
        },
        "{{ range 10000 }}{{ . }}{{ end }}",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("execution step limit exceeded (1000)"),
        "{err}"
    );
    let err = run(
        Limits {
            max_output_bytes: 10,
            ..Default::default()
        },
        "{{ range 100 }}xx{{ end }}",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("output size limit exceeded (10 bytes)"),
        "{err}"
    );
    // Exponential blow-up through include is bounded by the steps.
    let src = r#"{{ define "b" }}{{ if lt (len .) 40 }}{{ include "b" (print . "x") }}{{ include "b" (print . "y") }}{{ end }}{{ end }}{{ include "b" "" }}"#;
    let err = run(
        Limits {
            max_steps: 100_000,
            ..Default::default()
        },
        src,
    )
    .unwrap_err();
    assert_eq!(err.root_cause().kind(), ErrorKind::Limit);
    assert!(Limits::default().max_depth == 1000);
}

struct Counter;
impl Object for Counter {
    fn type_name(&self) -> String {
        "*main.Counter".into()
    }
    fn value(&self) -> Option<Value> {
        Some(Value::from(3))
    }
    fn truthy(&self) -> bool {
        false
    }
}

#[test]
fn objects_with_plain_data() {
    let mut t = set();
    t.parse(
        "t",
        "{{ range .c }}{{ . }}{{ end }} {{ if .c }}y{{ else }}n{{ end }} {{ .c }}",
    )
    .unwrap();
    let data = Map::new();
    data.insert("c", Value::object(Counter));
    assert_eq!(t.execute("t", &Value::Map(data)).unwrap(), "012 n 3");
}
