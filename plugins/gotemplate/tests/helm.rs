//! Helm's include, tpl, required and fail, and error chains through them.

mod common;

use common::{e, helm_data, r, render, render_err, set};
use gotemplate::{ErrorKind, Value};
use serde_json::json;

#[test]
fn include_renders_to_a_string() {
    assert_eq!(
        r(r#"{{ define "x" }}X{{ . }}{{ end }}{{ include "x" 1 }}"#),
        "X1"
    );
    assert_eq!(
        r(r#"{{ define "x" }}a{{ end }}{{ include "x" . | printf "[%s]" | upper }}"#),
        "[A]"
    );
    assert_eq!(
        r(
            r#"{{ define "x" }}{{ .k }}{{ end }}{{ $v := include "x" (dict "k" "v") }}{{ $v }}{{ $v }}"#
        ),
        "vv"
    );
    // Nil prints as nothing inside includes too.
    assert_eq!(
        r(r#"{{ define "x" }}[{{ .missing }}]{{ end }}{{ include "x" . }}"#),
        "[]"
    );
    assert_eq!(
        e(r#"{{ include "nope" . }}"#),
        "template: t:1:3: executing \"t\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\""
    );
    assert_eq!(
        e(r#"{{ include "x" }}"#),
        "template: t:1:3: executing \"t\" at <include>: wrong number of args for include: want 2 got 1"
    );
    assert!(e(r#"{{ include 1 . }}"#).ends_with("wrong type for value; expected string; got int"));
}

#[test]
fn include_across_files_in_the_set() {
    let mut t = set();
    t.parse(
        "chart/templates/_helpers.tpl",
        "{{- define \"chart.name\" -}}\n{{ .Chart.Name | default \"x\" }}\n{{- end }}\n{{- define \"chart.labels\" -}}\napp: {{ include \"chart.name\" . }}\nrel: {{ .Release.Name }}\n{{- end }}\n",
    )
    .unwrap();
    t.parse(
        "chart/templates/cm.yaml",
        "metadata:\n  labels:\n    {{- include \"chart.labels\" . | nindent 4 }}\n",
    )
    .unwrap_err();
    t.add_func("nindent", gotemplate::Arity::Exact(2), |_, a| {
        let n = match a[0] {
            Value::Int(n) => n as usize,
            _ => 0,
        };
        let pad = " ".repeat(n);
        let s = a[1].to_string();
        Ok(Value::from(format!(
            "\n{pad}{}",
            s.replace('\n', &format!("\n{pad}"))
        )))
    });
    t.parse(
        "chart/templates/cm.yaml",
        "metadata:\n  labels:\n    {{- include \"chart.labels\" . | nindent 4 }}\n",
    )
    .unwrap();
    let data = helm_data(json!({}));
    data.as_map()
        .unwrap()
        .insert("Chart", Value::from(json!({"Name": "web"})));
    assert_eq!(
        t.execute("chart/templates/cm.yaml", &data).unwrap(),
        "metadata:\n  labels:\n    app: web\n    rel: rel\n"
    );
}

#[test]
fn tpl_renders_strings_with_the_same_functions() {
    let d =
        json!({"Values": {"a": "A", "t": "{{ .Values.a | upper }}", "n": "{{ .Values.missing }}"}});
    assert_eq!(render(r#"{{ tpl "{{ .Values.a }}" . }}"#, d.clone()), "A");
    assert_eq!(render(r#"{{ tpl .Values.t $ }}"#, d.clone()), "A");
    assert_eq!(render(r#"[{{ tpl .Values.n . }}]"#, d.clone()), "[]");
    assert_eq!(render(r#"{{ tpl "{{ . }}" "plain" }}"#, d.clone()), "plain");
    // Definitions in tpl text are visible to that text, includes included...
    assert_eq!(
        render(
            r#"{{ tpl "{{ define \"z\" }}Z{{ . }}{{ end }}{{ include \"z\" 1 }}{{ template \"z\" 2 }}" . }}"#,
            d.clone()
        ),
        "Z1Z2"
    );
    // ...and gone afterwards.
    assert!(
        render_err(
            r#"{{ tpl "{{ define \"z2\" }}Z{{ end }}" . }}{{ include "z2" . }}"#,
            d.clone()
        )
        .ends_with("no template \"z2\" associated with template \"gotpl\"")
    );
    // tpl can use the set's definitions, and nest.
    assert_eq!(
        render(
            r#"{{ define "h" }}H{{ end }}{{ tpl "{{ include \"h\" . }}{{ tpl \"{{ 1 }}\" . }}" . }}"#,
            d.clone()
        ),
        "H1"
    );
}

#[test]
fn tpl_errors_read_as_helm_s() {
    let d = json!({"Values": {}});
    assert_eq!(
        render_err(r#"{{ tpl "{{ .x " . }}"#, d.clone()),
        "template: t:1:3: executing \"t\" at <tpl \"{{ .x \" .>: error calling tpl: cannot parse template \"{{ .x \": template: t:1: unclosed action"
    );
    let err = {
        let mut t = set();
        t.parse(
            "file.yaml",
            "a\n{{ tpl \"x\\n{{ fail \\\"inner\\\" }}\" . }}",
        )
        .unwrap();
        t.execute("file.yaml", &Value::from(d)).unwrap_err()
    };
    assert_eq!(
        err.to_string(),
        "template: file.yaml:2:3: executing \"file.yaml\" at <tpl \"x\\n{{ fail \\\"inner\\\" }}\" .>: error calling tpl: \
         error during tpl function execution for \"x\\n{{ fail \\\"inner\\\" }}\": \
         template: file.yaml:2:3: executing \"file.yaml\" at <fail \"inner\">: error calling fail: inner"
    );
    let inner = err.innermost_location().unwrap();
    assert_eq!(
        (inner.file.as_str(), inner.line, inner.column),
        ("file.yaml", 2, Some(3))
    );
    assert_eq!(err.root_cause().detail(), "inner");
}

#[test]
fn required_and_fail() {
    let d = json!({"v": "x", "empty": "", "list": [], "zero": 0, "no": false, "map": {}});
    assert_eq!(
        render(
            r#"{{ required "v" .v }} {{ required "l" .list }} {{ required "z" .zero }} {{ required "n" .no }} {{ required "m" .map }}"#,
            d.clone()
        ),
        "x [] 0 false map[]"
    );
    assert_eq!(
        render_err(r#"{{ required "need it" .missing }}"#, d.clone()),
        "template: t:1:3: executing \"t\" at <required \"need it\" .missing>: error calling required: need it"
    );
    assert!(
        render_err(r#"{{ required "need empty" .empty }}"#, d.clone())
            .ends_with("error calling required: need empty")
    );
    assert!(
        render_err(r#"{{ .missing | required "piped" }}"#, d.clone())
            .ends_with("error calling required: piped")
    );
    assert_eq!(
        e(r#"{{ fail "stop here" }}"#),
        "template: t:1:3: executing \"t\" at <fail \"stop here\">: error calling fail: stop here"
    );
}

#[test]
fn errors_through_include_keep_the_inner_location() {
    let mut t = set();
    t.parse(
        "_h.tpl",
        "{{ define \"x\" }}\n  {{ required \"need y\" .y }}{{ end }}",
    )
    .unwrap();
    t.parse("f.yaml", "a: {{ include \"x\" . }}").unwrap();
    let err = t.execute("f.yaml", &Value::from(json!({}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: f.yaml:1:6: executing \"f.yaml\" at <include \"x\" .>: error calling include: \
         template: _h.tpl:2:5: executing \"x\" at <required \"need y\" .y>: error calling required: need y"
    );
    assert_eq!(err.kind(), ErrorKind::Exec);
    let loc = err.location().unwrap();
    assert_eq!(
        (
            loc.template.as_str(),
            loc.file.as_str(),
            loc.line,
            loc.column
        ),
        ("f.yaml", "f.yaml", 1, Some(6))
    );
    assert_eq!(loc.context.as_deref(), Some("include \"x\" ."));
    let inner = err.innermost_location().unwrap();
    assert_eq!(
        (
            inner.template.as_str(),
            inner.file.as_str(),
            inner.line,
            inner.column
        ),
        ("x", "_h.tpl", 2, Some(5))
    );
    assert_eq!(err.root_cause().detail(), "need y");
    assert_eq!(err.root_cause().kind(), ErrorKind::Function);
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn include_nesting_is_bounded() {
    let mut t = set();
    t.set_limits(gotemplate::Limits {
        max_depth: 30,
        ..Default::default()
    });
    t.parse(
        "t",
        r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
    )
    .unwrap();
    let err = t.execute("t", &Value::Nil).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.root_cause().to_string(),
        "exceeded maximum template depth (30)"
    );
}

#[test]
fn helm_include_counter() {
    // Helm's own bound: one name nested more than 1000 times.
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(|| {
            let mut t = set();
            t.set_limits(gotemplate::Limits {
                max_depth: 5000,
                ..Default::default()
            });
            t.parse(
                "t",
                r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
            )
            .unwrap();
            let err = t.execute("t", &Value::Nil).unwrap_err();
            assert_eq!(
                err.root_cause().to_string(),
                "rendering template has a nested reference name: r: unable to execute template"
            );
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn context_reports_template_names_and_depth() {
    let mut t = set();
    t.add_func("where", gotemplate::Arity::Exact(0), |ctx, _| {
        Ok(Value::from(format!(
            "{}@{}/{}:{}",
            ctx.template_name(),
            ctx.root_template_name(),
            ctx.depth(),
            ctx.has_template("d")
        )))
    });
    t.parse("file", r#"{{ where }} {{ define "d" }}{{ where }}{{ end }}{{ template "d" }} {{ include "d" . }} {{ tpl "{{ where }}" . }}"#)
        .unwrap();
    assert_eq!(
        t.execute("file", &Value::Nil).unwrap(),
        "file@file/1:true d@file/2:true d@file/2:true file@file/2:true"
    );
}

#[test]
fn per_execution_state() {
    #[derive(Default)]
    struct Counter(i64);
    let mut t = set();
    t.add_func("next", gotemplate::Arity::Exact(0), |ctx, _| {
        let c = ctx.state::<Counter>();
        c.0 += 1;
        Ok(Value::Int(c.0))
    });
    t.parse(
        "t",
        r#"{{ define "d" }}{{ next }}{{ end }}{{ next }}{{ next }}{{ include "d" . }}"#,
    )
    .unwrap();
    assert_eq!(t.execute("t", &Value::Nil).unwrap(), "123");
    assert_eq!(t.execute("t", &Value::Nil).unwrap(), "123");
}

const HELPERS: &str = r#"
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride -}}
{{- end -}}

{{- define "app.image" -}}
{{- $registry := .imageRoot.registry -}}
{{- if .global }}{{ with .global.imageRegistry }}{{ $registry = . }}{{ end }}{{ end -}}
{{- $sep := ":" -}}
{{- $termination := .imageRoot.tag | toString -}}
{{- if .imageRoot.digest }}{{ $sep = "@" }}{{ $termination = .imageRoot.digest }}{{ end -}}
{{- printf "%s/%s%s%s" $registry .imageRoot.repository $sep $termination -}}
{{- end -}}

{{- define "app.tplvalues.render" -}}
{{- if typeIs "string" .value }}{{ tpl .value .context }}{{ else }}{{ tpl (.value | toString) .context }}{{ end -}}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"apiVersion: {{ if .Capabilities.APIVersions.Has "apps/v1" }}apps/v1{{ else }}extensions/v1beta1{{ end }}
kind: Deployment
metadata:
  name: {{ include "app.name" . }}-{{ .Release.Name }}
  {{- with .Values.annotations }}
  annotations:
    {{- range $k, $v := . }}
    {{ $k }}: {{ $v | quote }}
    {{- end }}
  {{- end }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        {{- range $name, $c := .Values.containers }}
        - name: {{ $name }}
          image: {{ include "app.image" (dict "imageRoot" $c.image "global" $.Values.global) }}
          {{- if $c.args }}
          args: {{ include "app.tplvalues.render" (dict "value" $c.args "context" $) }}
          {{- end }}
        {{- end }}
"#;

#[test]
fn chart_like_rendering() {
    let mut t = set();
    // Sprig-like stand-ins, registered before parsing as Go requires.
    assert!(t.parse("chart/templates/_helpers.tpl", HELPERS).is_err());
    t.add_func("toString", gotemplate::Arity::Exact(1), |_, a| {
        Ok(Value::from(a[0].to_string()))
    });
    t.add_func("typeIs", gotemplate::Arity::Exact(2), |_, a| {
        Ok(Value::Bool(
            a[0].as_str() == Some(a[1].type_name().as_str()),
        ))
    });
    t.add_func("quote", gotemplate::Arity::AtLeast(0), |_, a| {
        Ok(Value::from(
            a.iter()
                .filter(|v| !v.is_nil())
                .map(|v| gotemplate::strconv::quote(&v.to_string()))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    });
    t.parse("chart/templates/_helpers.tpl", HELPERS).unwrap();
    t.parse("chart/templates/deployment.yaml", DEPLOYMENT)
        .unwrap();
    let data = helm_data(json!({
        "replicaCount": 1000000,
        "annotations": {"b": "two", "a": 1},
        "global": {"imageRegistry": "mirror.example.com"},
        "containers": {
            "web": {"image": {"registry": "docker.io", "repository": "nginx", "tag": 1.25}, "args": "--name={{ .Release.Name }}"},
            "side": {"image": {"registry": "quay.io", "repository": "x/y", "tag": "v1", "digest": "sha256:abc"}}
        }
    }));
    data.as_map()
        .unwrap()
        .insert("Chart", Value::from(json!({"Name": "app"})));
    assert_eq!(
        t.execute("chart/templates/deployment.yaml", &data).unwrap(),
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-rel
  annotations:
    a: "1"
    b: "two"
spec:
  replicas: 1e+06
  template:
    spec:
      containers:
        - name: side
          image: mirror.example.com/x/y@sha256:abc
        - name: web
          image: mirror.example.com/nginx:1.25
          args: --name=rel
"#
    );
}
