//! Execution: control structures, variables, fields, pipelines, templates,
//! objects and shared maps.

mod common;

use common::{e, helm_data, r, render, render_err, set, try_render};
use gotemplate::{Map, Templates, Value};
use serde_json::json;

#[test]
fn if_else_if_else() {
    let t = "{{ if .a }}A{{ else if .b }}B{{ else if .c }}C{{ else }}D{{ end }}";
    assert_eq!(render(t, json!({"a": 1})), "A");
    assert_eq!(render(t, json!({"b": "x"})), "B");
    assert_eq!(render(t, json!({"c": [1]})), "C");
    assert_eq!(render(t, json!({"a": 0, "b": "", "c": []})), "D");
    assert_eq!(
        render("{{ if .m }}y{{ else }}n{{ end }}", json!({"m": {}})),
        "n"
    );
    assert_eq!(
        render(
            "{{ if .m }}y{{ else }}n{{ end }}",
            json!({"m": {"k": null}})
        ),
        "y"
    );
    assert_eq!(
        render("{{ if .f }}y{{ else }}n{{ end }}", json!({"f": 0.0})),
        "n"
    );
    assert_eq!(
        render("{{ if .f }}y{{ else }}n{{ end }}", json!({"f": 0.5})),
        "y"
    );
    assert_eq!(r("{{ if false }}y{{ end }}"), "");
}

#[test]
fn with_else_with_else() {
    let t = "{{ with .x }}x={{ . }}{{ else with .y }}y={{ . }}{{ else }}none{{ end }}";
    assert_eq!(render(t, json!({"x": "X", "y": "Y"})), "x=X");
    assert_eq!(render(t, json!({"y": "why"})), "y=why");
    assert_eq!(render(t, json!({})), "none");
    assert_eq!(
        render("{{ with .m }}{{ .k }}{{ end }}", json!({"m": {"k": "v"}})),
        "v"
    );
    // The else branch keeps the outer dot.
    assert_eq!(
        render(
            "{{ with .no }}{{ else }}{{ .k }}{{ end }}",
            json!({"k": "v"})
        ),
        "v"
    );
    // Chains of else with.
    let t = "{{ with .a }}a{{ else with .b }}b{{ else with .c }}c{{ end }}";
    assert_eq!(render(t, json!({"c": 1})), "c");
    assert_eq!(render(t, json!({})), "");
}

#[test]
fn range_over_lists() {
    let d = json!({"l": ["a", "b", "c"]});
    assert_eq!(
        render("{{ range .l }}[{{ . }}]{{ end }}", d.clone()),
        "[a][b][c]"
    );
    assert_eq!(
        render(
            "{{ range $i, $v := .l }}{{ $i }}={{ $v }} {{ end }}",
            d.clone()
        ),
        "0=a 1=b 2=c "
    );
    assert_eq!(
        render("{{ range $v := .l }}{{ $v }}{{ end }}", d.clone()),
        "abc"
    );
    assert_eq!(
        render(
            "{{ range .l }}{{ $.n }}{{ end }}",
            json!({"l": [1, 2], "n": "x"})
        ),
        "xx"
    );
    assert_eq!(
        render("{{ range .l }}{{ else }}empty{{ end }}", json!({"l": []})),
        "empty"
    );
    assert_eq!(
        render("{{ range .l }}{{ else }}nil{{ end }}", json!({})),
        "nil"
    );
    assert_eq!(
        render(
            "{{ range .l }}{{ .n }}{{ end }}",
            json!({"l": [{"n": 1}, {"n": 2}]})
        ),
        "12"
    );
}

#[test]
fn range_over_maps_in_key_order() {
    let d = json!({"m": {"b": 2, "a": 1, "c": 3, "B": 0}});
    assert_eq!(
        render(
            "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}",
            d.clone()
        ),
        "B=0;a=1;b=2;c=3;"
    );
    assert_eq!(render("{{ range .m }}{{ . }}{{ end }}", d.clone()), "0123");
    assert_eq!(render("{{ range $v := .m }}{{ $v }}{{ end }}", d), "0123");
    assert_eq!(
        render("{{ range .m }}x{{ else }}empty{{ end }}", json!({"m": {}})),
        "empty"
    );
}

#[test]
fn range_over_int() {
    assert_eq!(r("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(r("{{ range $i := 3 }}{{ $i }}{{ end }}"), "012");
    assert_eq!(r("{{ range 0 }}x{{ else }}none{{ end }}"), "none");
    assert_eq!(r("{{ range -2 }}x{{ else }}none{{ end }}"), "none");
    assert_eq!(
        e("{{ range $i, $v := 3 }}{{ end }}"),
        "template: t:1:9: executing \"t\" at <{{range $i, $v := 3}}{{end}}>: can't use 3 to iterate over more than one variable"
    );
}

#[test]
fn range_errors() {
    assert!(e("{{ range \"abc\" }}{{ end }}").ends_with("range can't iterate over abc"));
    assert!(
        render_err("{{ range .f }}{{ end }}", json!({"f": 3.5}))
            .ends_with("range can't iterate over 3.5")
    );
    assert!(e("{{ range true }}{{ end }}").ends_with("range can't iterate over true"));
}

#[test]
fn break_and_continue() {
    let d = json!({"l": [1, 2, 3, 4]});
    assert_eq!(
        render(
            "{{ range .l }}{{ if eq . 3.0 }}{{ break }}{{ end }}{{ . }}{{ end }}",
            d.clone()
        ),
        "12"
    );
    assert_eq!(
        render(
            "{{ range .l }}{{ if eq . 3.0 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            d.clone()
        ),
        "124"
    );
    // In nested ranges they act on the innermost.
    assert_eq!(
        r(
            "{{ range $i := 3 }}{{ range $j := 3 }}{{ if eq $j 1 }}{{ break }}{{ end }}{{ $i }}{{ $j }} {{ end }}{{ end }}"
        ),
        "00 10 20 "
    );
    // Inside with and if inside the range.
    assert_eq!(
        r("{{ range 5 }}{{ with . }}{{ if gt . 2 }}{{ break }}{{ end }}{{ end }}{{ . }}{{ end }}"),
        "012"
    );
    // In the else branch of an inner range, they act on the outer range.
    assert_eq!(
        r("{{ range 3 }}{{ . }}{{ range 0 }}{{ else }}{{ continue }}{{ end }}x{{ end }}"),
        "012"
    );
    // Variables declared in the body are gone after a continue.
    assert_eq!(
        r("{{ range 2 }}{{ $x := . }}{{ if true }}{{ continue }}{{ end }}{{ end }}ok"),
        "ok"
    );
}

#[test]
fn variables_and_scopes() {
    assert_eq!(r("{{ $x := 1 }}{{ $x }}"), "1");
    assert_eq!(
        r("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(
        r("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}"),
        "21"
    );
    assert_eq!(
        r("{{ $x := 0 }}{{ range 3 }}{{ $x = . }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(
        e("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}"),
        "template: t:1: undefined variable \"$y\""
    );
    assert_eq!(
        e("{{ range 1 }}{{ $y := 1 }}{{ end }}{{ $y }}"),
        "template: t:1: undefined variable \"$y\""
    );
    assert_eq!(
        e("{{ with 1 }}{{ $y := 1 }}{{ end }}{{ $y }}"),
        "template: t:1: undefined variable \"$y\""
    );
    // A variable declared in the if's pipeline lives to its end (else included).
    assert_eq!(r("{{ if $v := 0 }}yes{{ else }}{{ $v }}{{ end }}"), "0");
    assert_eq!(r("{{ with $v := \"w\" }}{{ $v }}{{ . }}{{ end }}"), "ww");
    // Declarations print nothing; assignments neither.
    assert_eq!(r("{{ $x := 5 }}{{ $x = 6 }}"), "");
    // $ is the data passed to execute.
    assert_eq!(
        render(
            "{{ with .a }}{{ $.b }}{{ end }}",
            json!({"a": 1, "b": "root"})
        ),
        "root"
    );
    // Range assignment to existing variables (Go 1.22).
    assert_eq!(
        render(
            "{{ $v := \"\" }}{{ range $v = .l }}{{ end }}{{ $v }}",
            json!({"l": ["x", "y"]})
        ),
        "y"
    );
    assert_eq!(
        render(
            "{{ $i := 0 }}{{ $v := 0 }}{{ range $i, $v = .l }}{{ end }}{{ $i }}{{ $v }}",
            json!({"l": ["x", "y"]})
        ),
        "1y"
    );
    // Variables of a template call don't leak into the template.
    assert_eq!(
        e("{{ define \"d\" }}{{ $x }}{{ end }}{{ $x := 1 }}{{ template \"d\" }}"),
        "template: t:1: undefined variable \"$x\""
    );
}

#[test]
fn variable_fields() {
    let d = json!({"m": {"a": {"b": "deep"}}});
    assert_eq!(render("{{ $m := .m }}{{ $m.a.b }}", d.clone()), "deep");
    assert_eq!(render("{{ $.m.a.b }}", d.clone()), "deep");
    assert_eq!(
        render("{{ range $k, $v := .m }}{{ $k }}:{{ $v.b }}{{ end }}", d),
        "a:deep"
    );
}

#[test]
fn pipelines_pass_the_last_argument() {
    assert_eq!(
        r(r#"{{ 3 | printf "%d-%s" "x" }}"#),
        "%!d(string=x)-%!s(int=3)"
    );
    assert_eq!(r(r#"{{ "x" | printf "%s-%d" "a" }}"#), "a-%!d(string=x)");
    assert_eq!(r(r#"{{ 1 | printf "%d %d" 2 }}"#), "2 1");
    assert_eq!(
        r(r#"{{ "a" | printf "%s%s" "b" | printf "<%s>" }}"#),
        "<ba>"
    );
    assert_eq!(render("{{ .s | upper }}", json!({"s": "abc"})), "ABC");
    assert_eq!(r(r#"{{ "b" | eq "a" "b" }}"#), "false");
    assert_eq!(r(r#"{{ "a" | eq "a" "b" }}"#), "true");
}

#[test]
fn parenthesized_pipelines_and_chains() {
    assert_eq!(r(r#"{{ (printf "%s" "a") }}"#), "a");
    assert_eq!(r(r#"{{ printf "%s-%s" (printf "a") ("b") }}"#), "a-b");
    assert_eq!(render("{{ (.m).k }}", json!({"m": {"k": "v"}})), "v");
    assert_eq!(
        render(
            "{{ (index .l 1).name }}",
            json!({"l": [{"name": "a"}, {"name": "b"}]})
        ),
        "b"
    );
    assert_eq!(r(r#"{{ (dict "a" (dict "b" "c")).a.b }}"#), "c");
    assert_eq!(r(r#"{{ $x := (dict "k" "v") }}{{ $x.k }}"#), "v");
    assert_eq!(r(r#"{{ ((1)) }}"#), "1");
    assert_eq!(r(r#"{{ (1 | printf "%d") | printf "<%s>" }}"#), "<1>");
    assert!(e("{{ (nil).x }}").ends_with("nil is not a command"));
    assert_eq!(
        e("{{ nil.x }}"),
        "template: t:1: unexpected . after term \"nil\""
    );
}

#[test]
fn missing_keys_and_nil() {
    // Missing keys and nulls print nothing (Helm).
    assert_eq!(render("[{{ .missing }}]", json!({})), "[]");
    assert_eq!(render("[{{ .a }}]", json!({"a": null})), "[]");
    assert_eq!(render("[{{ .a.b }}]", json!({"a": {}})), "[]");
    // Go fails on a field of a nil read out of a map...
    assert_eq!(
        render_err("x\n  {{ .Values.a.b }}", json!({"Values": {}})),
        "template: t:2:12: executing \"t\" at <.Values.a.b>: nil pointer evaluating interface {}.b"
    );
    assert!(
        render_err("{{ .a.b }}", json!({"a": null}))
            .ends_with("nil pointer evaluating interface {}.b")
    );
    assert!(
        render_err("{{ range .l }}{{ .x }}{{ end }}", json!({"l": [null]}))
            .ends_with("nil pointer evaluating interface {}.x")
    );
    // ...but not on a field of a nil variable, dot or parenthesized value.
    assert_eq!(
        render("[{{ $x := .missing }}{{ $x.b.c }}]", json!({})),
        "[]"
    );
    assert_eq!(render("[{{ (.missing).b }}]", json!({})), "[]");
    assert_eq!(
        render(
            "{{ define \"d\" }}[{{ .x.y }}]{{ end }}{{ template \"d\" .missing }}",
            json!({})
        ),
        "[]"
    );
    let mut t = set();
    t.parse("t", "[{{ .x }}]").unwrap();
    assert_eq!(t.execute("t", &Value::Nil).unwrap(), "[]");
    // The lenient option makes all of them nil.
    let mut t = set();
    t.set_lenient_nil_fields(true);
    t.parse("t", "[{{ .Values.a.b.c }}]").unwrap();
    assert_eq!(
        t.execute("t", &Value::from(json!({"Values": {}}))).unwrap(),
        "[]"
    );
    // Go's own text.
    let mut t = set();
    t.set_nil_text("<no value>");
    t.parse("t", "[{{ .missing }}]").unwrap();
    assert_eq!(
        t.execute("t", &Value::from(json!({}))).unwrap(),
        "[<no value>]"
    );
}

#[test]
fn fields_of_non_maps_are_errors() {
    assert_eq!(
        render_err("{{ .s.x }}", json!({"s": "str"})),
        "template: t:1:5: executing \"t\" at <.s.x>: can't evaluate field x in type interface {}"
    );
    assert!(
        render_err("{{ $s := .s }}{{ $s.x }}", json!({"s": "str"}))
            .ends_with("can't evaluate field x in type string")
    );
    let mut t = set();
    t.parse("t", "{{ .x }}").unwrap();
    assert!(
        t.execute("t", &Value::from("str"))
            .unwrap_err()
            .to_string()
            .ends_with("can't evaluate field x in type string")
    );
    assert!(
        t.execute("t", &Value::Int(1))
            .unwrap_err()
            .to_string()
            .ends_with("can't evaluate field x in type int")
    );
    assert!(
        render_err("{{ .m.x 1 }}", json!({"m": {}}))
            .ends_with("x is not a method but has arguments")
    );
    assert!(e(r#"{{ "a" 1 }}"#).ends_with(r#"can't give argument to non-function "a""#));
    assert!(e(r#"{{ $x := 1 }}{{ $x 2 }}"#).ends_with("can't give argument to non-function $x"));
    assert!(e(r#"{{ $x := 1 }}{{ 2 | $x }}"#).ends_with("can't give argument to non-function $x"));
}

#[test]
fn printing_values() {
    let d = json!({"i": 1000000, "f": 1.5, "w": 3, "s": 1e21, "t": 0.000001, "b": true,
                   "l": [1, "a", null, [2]], "m": {"b": 2, "a": {"x": "y"}}});
    assert_eq!(
        render(
            "{{ .i }} {{ .f }} {{ .w }} {{ .s }} {{ .t }} {{ .b }}",
            d.clone()
        ),
        "1e+06 1.5 3 1e+21 1e-06 true"
    );
    assert_eq!(render("{{ .l }}", d.clone()), "[1 a <nil> [2]]");
    assert_eq!(render("{{ .m }}", d.clone()), "map[a:map[x:y] b:2]");
    assert_eq!(
        r("{{ 1000000 }} {{ 100000.0 }} {{ 123456789.0 }}"),
        "1000000 100000 1.23456789e+08"
    );
    assert_eq!(
        render("{{ print .i }} {{ printf \"%v\" .i }}", d),
        "1e+06 1e+06"
    );
}

#[test]
fn templates_define_and_block() {
    assert_eq!(
        r(r#"{{ define "a" }}A{{ . }}{{ end }}{{ template "a" 1 }}"#),
        "A1"
    );
    assert_eq!(
        r(r#"{{ define "a" }}[{{ . }}]{{ end }}{{ template "a" }}"#),
        "[]"
    );
    assert_eq!(
        r(r#"{{ define "a" }}{{ $ }}{{ end }}{{ template "a" "root" }}"#),
        "root"
    );
    assert_eq!(
        r(r#"{{ block "b" "x" }}default {{ . }}{{ end }}"#),
        "default x"
    );
    // Variables declared by the template pipeline persist.
    assert_eq!(
        r(r#"{{ define "a" }}{{ end }}{{ template "a" $v := 3 }}{{ $v }}"#),
        "3"
    );
    // Definitions may come after use.
    assert_eq!(
        r(r#"{{ template "late" }}{{ define "late" }}L{{ end }}"#),
        "L"
    );
    assert_eq!(
        e(r#"{{ template "nope" }}"#),
        "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"
    );
}

#[test]
fn later_definitions_win() {
    let mut t = set();
    t.parse(
        "base",
        r#"[{{ block "b" . }}default{{ end }}|{{ template "x" }}]"#,
    )
    .unwrap();
    t.parse("lib1", r#"{{ define "x" }}one{{ end }}"#).unwrap();
    assert_eq!(t.execute("base", &Value::Nil).unwrap(), "[default|one]");
    t.parse(
        "lib2",
        r#"{{ define "x" }}two{{ end }}{{ define "b" }}over{{ end }}"#,
    )
    .unwrap();
    assert_eq!(t.execute("base", &Value::Nil).unwrap(), "[over|two]");
    // An empty definition does not replace a non-empty one.
    t.parse("lib3", "{{ define \"x\" }} \n {{/* nothing */}}{{ end }}")
        .unwrap();
    assert_eq!(t.execute("base", &Value::Nil).unwrap(), "[over|two]");
    assert!(t.has_template("lib3"));
    assert_eq!(
        t.template_names(),
        vec!["b", "base", "lib1", "lib2", "lib3", "x"]
    );
    assert_eq!(t.lookup("x").unwrap().parse_name(), "lib2");
    assert_eq!(
        t.execute("nope", &Value::Nil).unwrap_err().to_string(),
        "template: no template \"nope\" associated with template \"gotpl\""
    );
}

#[test]
fn template_recursion_is_bounded() {
    let mut t = set();
    t.set_limits(gotemplate::Limits {
        max_depth: 20,
        ..Default::default()
    });
    t.parse(
        "t",
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    )
    .unwrap();
    let err = t.execute("t", &Value::Nil).unwrap_err();
    assert_eq!(err.kind(), gotemplate::ErrorKind::Limit);
    assert!(
        err.to_string()
            .ends_with("exceeded maximum template depth (20)"),
        "{err}"
    );
    // Bounded recursion renders.
    let mut t = set();
    t.parse(
        "t",
        r#"{{ define "count" }}{{ if gt . 0 }}{{ . }}{{ template "count" (len (slice "aaaaaaaaaa" 1 .)) }}{{ end }}{{ end }}{{ template "count" 5 }}"#,
    )
    .unwrap();
    assert_eq!(t.execute("t", &Value::Nil).unwrap(), "54321");
}

#[test]
fn template_recursion_stops_at_1000() {
    // Debug builds use a lot of stack per level: run on a big one.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut t = set();
            t.parse(
                "t",
                r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
            )
            .unwrap();
            let err = t.execute("t", &Value::Nil).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("exceeded maximum template depth (1000)"),
                "{err}"
            );
            let mut t = set();
            t.parse(
                "t",
                r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
            )
            .unwrap();
            let err = t.execute("t", &Value::Nil).unwrap_err();
            assert!(
                err.root_cause()
                    .to_string()
                    .contains("exceeded maximum template depth (1000)"),
                "{err}"
            );
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn maps_are_shared_and_mutable() {
    assert_eq!(
        r(r#"{{ $d := dict }}{{ $_ := set $d "a" 1 }}{{ $d.a }}"#),
        "1"
    );
    // A template changes a map it was given.
    assert_eq!(
        r(
            r#"{{ define "f" }}{{ $_ := set . "x" "y" }}{{ end }}{{ $d := dict }}{{ template "f" $d }}{{ $d.x }}"#
        ),
        "y"
    );
    // Maps in lists and variables alias.
    assert_eq!(
        r(
            r#"{{ $d := dict "k" "old" }}{{ $l := list $d }}{{ $_ := set (index $l 0) "k" "new" }}{{ $d.k }}"#
        ),
        "new"
    );
    // Ranging while changing the map: the keys were taken at the start.
    assert_eq!(
        r(
            r#"{{ $d := dict "a" 1 }}{{ range $k, $v := $d }}{{ $_ := set $d "b" 2 }}{{ $k }}{{ end }}{{ len $d }}"#
        ),
        "a2"
    );
    // The data the caller passed in is changed as well.
    let mut t = set();
    t.parse(
        "t",
        r#"{{ $_ := set .Values "added" "yes" }}{{ .Values.added }}"#,
    )
    .unwrap();
    let values = Map::new();
    let top = Map::new();
    top.insert("Values", values.clone());
    assert_eq!(t.execute("t", &Value::Map(top)).unwrap(), "yes");
    assert_eq!(values.get("added"), Some(Value::from("yes")));
}

#[test]
fn objects_fields_and_methods_with_arguments() {
    let mut t = set();
    let src = r#"{{ .Capabilities.APIVersions.Has "apps/v1" }} {{ .Capabilities.APIVersions.Has "x/v9" }}
{{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Minor }}
{{ .Files.Get "a.conf" }}|{{ .Files.Get "none" }}|{{ (.Files.Glob "*.conf").AsConfig }}
{{- range $f, $c := .Files }} {{ $f }}{{ end }}
{{ "batch/v1" | .Capabilities.APIVersions.Has }} {{ len .Capabilities.APIVersions }} {{ index .Capabilities.APIVersions 1 }}
{{ if .Capabilities.APIVersions.Has "apps/v1" }}yes{{ end }} {{ .Release.Name }}"#;
    t.parse("t", src).unwrap();
    let out = t.execute("t", &helm_data(json!({}))).unwrap();
    assert_eq!(
        out,
        "true false\nv1.20.0 v1.20.0 20\nA=1||a.conf: A=1\nb.conf: B=2\n a.conf b.conf readme.md\ntrue 3 apps/v1\nyes rel"
    );
    let err = |src: &str| {
        let mut t = set();
        t.parse("t", src).unwrap();
        t.execute("t", &helm_data(json!({})))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("{{ .Capabilities.APIVersions.Has }}"),
        "template: t:1:16: executing \"t\" at <.Capabilities.APIVersions.Has>: wrong number of args for Has: want 1 got 0"
    );
    // Read out of a map, the object's static type is interface {}.
    assert!(
        err("{{ .Capabilities.Nope }}").ends_with("can't evaluate field Nope in type interface {}")
    );
    assert!(
        err("{{ $c := .Capabilities }}{{ $c.Nope }}")
            .ends_with("can't evaluate field Nope in type *chartutil.Capabilities")
    );
    assert!(
        err("{{ .Capabilities.KubeVersion.Major 1 }}")
            .ends_with("Major has arguments but cannot be invoked as function")
    );
    assert!(
        err("{{ .Capabilities.APIVersions.Has 1 }}")
            .ends_with("wrong type for value; expected string; got int")
    );
    assert_eq!(
        err("{{ .Files.Glob \"[\" }}"),
        "template: t:1:9: executing \"t\" at <.Files.Glob>: error calling Glob: syntax error in pattern ["
    );
}

#[test]
fn executing_twice_starts_afresh() {
    let mut t = set();
    t.parse("t", "{{ $x := .n }}{{ $x }}").unwrap();
    assert_eq!(t.execute("t", &Value::from(json!({"n": 1}))).unwrap(), "1");
    assert_eq!(t.execute("t", &Value::from(json!({"n": 2}))).unwrap(), "2");
}

#[test]
fn functions_must_exist_at_parse_time() {
    let mut t = Templates::new();
    assert_eq!(
        t.parse("t", "{{ upper 1 }}").unwrap_err().to_string(),
        "template: t:1: function \"upper\" not defined"
    );
    t.add_func(
        "upper",
        gotemplate::Arity::Exact(1),
        |_, a| Ok(a[0].clone()),
    );
    assert!(t.parse("t", "{{ upper 1 }}").is_ok());
    // Builtins can be replaced.
    t.add_func("len", gotemplate::Arity::Exact(1), |_, _| {
        Ok(Value::from(42))
    });
    t.parse("t", "{{ len \"ab\" }}").unwrap();
    assert_eq!(t.execute("t", &Value::Nil).unwrap(), "42");
}

#[test]
fn try_render_reports_data_errors() {
    assert!(try_render("{{ .a.b }}", Value::from(json!({"a": 1}))).is_err());
}
