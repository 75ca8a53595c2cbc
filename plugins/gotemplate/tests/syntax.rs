//! Lexing and parsing: trim markers, comments, literals, and Go's parse
//! errors.

mod common;

use common::{e, r, render};
use serde_json::json;

#[test]
fn text_passes_through() {
    assert_eq!(
        r("plain text\n with { braces } and }} and {"),
        "plain text\n with { braces } and }} and {"
    );
    assert_eq!(r(""), "");
}

#[test]
fn trim_markers_trim_all_white_space() {
    assert_eq!(r("a {{- 1 -}} b"), "a1b");
    assert_eq!(r("a\n\t  \n{{- 1 }}\n b"), "a1\n b");
    assert_eq!(r("a {{ 1 -}}\n\n\t b"), "a 1b");
    assert_eq!(r("x:\n{{- if true }}\n  y\n{{- end }}\n"), "x:\n  y\n");
    // The marker needs the white space: "{{-3}}" is the number -3.
    assert_eq!(r("a {{-3}} b"), "a -3 b");
    assert_eq!(r("a {{- -3 }} b"), "a-3 b");
    // Any white space after the dash counts (newline, tab).
    assert_eq!(r("a {{-\n1\n-}} b"), "a1b");
    assert_eq!(r("a {{-\t1\t-}} b"), "a1b");
    // Several spaces before the closing marker.
    assert_eq!(r("{{ 1   -}}   x"), "1x");
}

#[test]
fn comments() {
    assert_eq!(r("a{{/* a comment */}}b"), "ab");
    assert_eq!(r("a {{- /* trimmed */ -}} b"), "ab");
    assert_eq!(r("a{{/* multi\nline\n*/}}b"), "ab");
    assert_eq!(r("{{- /* first */ -}}\nx"), "x");
    assert_eq!(
        e("{{/* x */ }}"),
        "template: t:1: comment ends before closing delimiter"
    );
    assert_eq!(e("{{/* x"), "template: t:1: unclosed comment");
}

#[test]
fn strings_escapes_and_raw_strings() {
    assert_eq!(r(r#"{{ "a\tb\x41\u00e9\101\\\"" }}"#), "a\tbAéA\\\"");
    assert_eq!(r(r#"{{ "\U0001F600" }}"#), "😀");
    // Raw strings are raw: no escape processing (trap 4).
    assert_eq!(r(r"{{ `a\-b\d\n` }}"), r"a\-b\d\n");
    assert_eq!(
        r(r"{{ `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$` }}"),
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    );
    assert_eq!(r("{{ `multi\nline` }}"), "multi\nline");
    assert_eq!(r(r#"{{ "\\" }}"#), "\\");
    assert_eq!(e(r#"{{ "\q" }}"#), "template: t:1: invalid syntax");
    assert_eq!(
        e(r#"{{ "abc }}"#),
        "template: t:1: unterminated quoted string"
    );
    assert_eq!(
        e("{{ `abc }}"),
        "template: t:1: unterminated raw quoted string"
    );
}

#[test]
fn numbers() {
    assert_eq!(
        r("{{ 0x1F }} {{ 0X1f }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ -7 }} {{ +7 }}"),
        "31 31 15 15 5 1000 -7 7"
    );
    assert_eq!(
        r("{{ 1.5 }} {{ 1e3 }} {{ .5 }} {{ 1.0 }} {{ 1e6 }} {{ 1E-7 }} {{ 0x1p-2 }}"),
        "1.5 1000 0.5 1 1e+06 1e-07 0.25"
    );
    assert_eq!(
        r("{{ printf \"%T %T %T %T %T\" 1 1.0 1e3 0x1e 'a' }}"),
        "int float64 float64 int int"
    );
    assert_eq!(
        r(r"{{ 'a' }} {{ '\n' }} {{ '\x41' }} {{ 'é' }} {{ '\u00e9' }}"),
        "97 10 65 233 233"
    );
    assert_eq!(e("{{ 3k }}"), "template: t:1: bad number syntax: \"3k\"");
    assert_eq!(
        e("{{ 0x }}"),
        "template: t:1: illegal number syntax: \"0x\""
    );
    assert_eq!(
        e("{{ 99999999999999999999 }}"),
        "template: t:1: integer overflow: \"99999999999999999999\""
    );
    assert_eq!(e("{{ 089 }}"), "template: t:1: integer overflow: \"089\"");
    assert_eq!(
        e("{{ 18446744073709551615 }}"),
        "template: t:1:3: executing \"t\" at <18446744073709551615>: 18446744073709551615 overflows int"
    );
}

#[test]
fn bool_nil_dot() {
    assert_eq!(r("{{ true }} {{ false }}"), "true false");
    assert_eq!(render("{{ . }}", json!("dot")), "dot");
    assert_eq!(
        e("{{ nil }}"),
        "template: t:1:3: executing \"t\" at <nil>: nil is not a command"
    );
}

#[test]
fn actions_may_span_lines() {
    assert_eq!(r("{{ printf\n  \"%s-%s\"\n  \"a\"\n  \"b\" }}"), "a-b");
    assert_eq!(r("{{\n  1\n}}"), "1");
}

#[test]
fn parse_errors_name_template_and_line() {
    assert_eq!(
        e("line1\n{{ if }}{{ end }}"),
        "template: t:2: missing value for if"
    );
    assert_eq!(
        e("{{ foo }}"),
        "template: t:1: function \"foo\" not defined"
    );
    assert_eq!(
        e("a\n{{ .x\n\n"),
        "template: t:4: unclosed action started at t:2"
    );
    assert_eq!(e("{{ .x"), "template: t:1: unclosed action");
    assert_eq!(e("{{ end }}"), "template: t:1: unexpected {{end}}");
    assert_eq!(e("{{ else }}"), "template: t:1: unexpected {{else}}");
    assert_eq!(e("{{ if true }}x"), "template: t:1: unexpected EOF");
    assert_eq!(
        e("{{ range .x }}{{ else if .y }}{{ end }}"),
        "template: t:1: unexpected <if> in input"
    );
    assert_eq!(
        e("{{ if .x }}{{ else }}{{ else }}{{ end }}"),
        "template: t:1: expected end; found {{else}}"
    );
    assert_eq!(
        e("{{ $x := 1 }}{{ $y }}"),
        "template: t:1: undefined variable \"$y\""
    );
    assert_eq!(
        e("{{ 1 | 2 }}"),
        "template: t:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        e("{{ template .x }}"),
        "template: t:1: unexpected \".x\" in template clause"
    );
    assert_eq!(e("{{ define \"a\" }}x"), "template: t:1: unexpected EOF");
    assert_eq!(
        e("{{ define \"a\" }}{{ else }}{{ end }}"),
        "template: t:1: unexpected {{else}} in define clause"
    );
    assert_eq!(
        e("{{ define a }}{{ end }}"),
        "template: t:1: unexpected \"a\" in define clause"
    );
    assert_eq!(
        e("{{ .x.1 }}"),
        "template: t:1: unexpected \".1\" in operand"
    );
    assert_eq!(
        e("{{ \"a\".b }}"),
        "template: t:1: unexpected . after term \"\\\"a\\\"\""
    );
    assert_eq!(e("{{ .x-}}"), "template: t:1: bad character U+002D '-'");
    assert_eq!(e("{{ ) }}"), "template: t:1: unexpected right paren");
    assert_eq!(e("{{ (1 }}"), "template: t:1: unclosed left paren");
    assert_eq!(
        e("{{ $a, $b := 1 }}"),
        "template: t:1: too many declarations in command"
    );
    assert_eq!(
        e("{{ range $a, $b, $c := .x }}{{ end }}"),
        "template: t:1: too many declarations in range"
    );
    assert_eq!(
        e("{{ range $a, 1 }}{{ end }}"),
        "template: t:1: range can only initialize variables"
    );
    assert_eq!(
        e("{{ break }}"),
        "template: t:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        e("{{ continue }}"),
        "template: t:1: {{continue}} outside {{range}}"
    );
    assert_eq!(
        e("{{ range .x }}{{ break 1 }}{{ end }}"),
        "template: t:1: unexpected \"1\" in {{break}}"
    );
    assert_eq!(e("{{ }}"), "template: t:1: missing value for command");
    assert_eq!(
        e("{{ 1i }}"),
        "template: t:1: complex constants are not supported: \"1i\""
    );
    assert_eq!(
        e("{{ if 1 }}{{ define \"x\" }}{{ end }}{{ end }}"),
        "template: t:1: unexpected <define> in command"
    );
    assert_eq!(
        e("{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"),
        "template: t:1: template: multiple definition of template \"a\""
    );
}

#[test]
fn parse_error_lines_count_trimmed_and_raw_newlines() {
    assert_eq!(
        e("a\n\n{{- /* c\n\n */ -}}\n\n{{ foo }}"),
        "template: t:7: function \"foo\" not defined"
    );
    assert_eq!(
        e("{{ `a\nb\nc` }}\n{{ foo }}"),
        "template: t:4: function \"foo\" not defined"
    );
}

#[test]
fn a_failed_parse_adds_nothing() {
    let mut t = common::set();
    assert!(
        t.parse("t", "{{ define \"x\" }}x{{ end }}{{ bad }}")
            .is_err()
    );
    assert!(!t.has_template("x"));
    assert!(!t.has_template("t"));
}

#[test]
fn nesting_is_bounded() {
    let deep_parens = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    assert_eq!(
        e(&format!("{{{{ {deep_parens} }}}}")),
        "template: t:1: max nesting depth exceeded"
    );
    let ok_parens = format!("{{{{ {}1{} }}}}", "(".repeat(50), ")".repeat(50));
    assert_eq!(r(&ok_parens), "1");
    let deep_ifs = format!("{}x{}", "{{ if 1 }}".repeat(300), "{{ end }}".repeat(300));
    assert_eq!(e(&deep_ifs), "template: t:1: max nesting depth exceeded");
    let ok_ifs = format!("{}x{}", "{{ if 1 }}".repeat(100), "{{ end }}".repeat(100));
    assert_eq!(r(&ok_ifs), "x");
}
