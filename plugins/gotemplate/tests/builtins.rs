//! Go's builtin functions.

mod common;

use common::{e, r, render, render_err};
use serde_json::json;

#[test]
fn and_or_return_the_deciding_value() {
    assert_eq!(r("{{ and 1 0 }}"), "0");
    assert_eq!(r("{{ and 1 2 }}"), "2");
    assert_eq!(r(r#"{{ and "" 2 }}"#), "");
    assert_eq!(r(r#"{{ or 0 "" "x" }}"#), "x");
    assert_eq!(r(r#"{{ or 0 "" }}"#), "");
    assert_eq!(r("{{ or 0 }}"), "0");
    assert_eq!(r("{{ and true }}"), "true");
    // The piped value is the last argument.
    assert_eq!(r("{{ 0 | and 1 }}"), "0");
    assert_eq!(r("{{ 0 | or 1 }}"), "1");
    assert_eq!(r("{{ 5 | or 0 }}"), "5");
    assert_eq!(r("{{ 5 | and 0 }}"), "0");
    assert_eq!(
        e("{{ and }}"),
        "template: t:1:3: executing \"t\" at <and>: wrong number of args for and: want at least 1 got 0"
    );
}

#[test]
fn and_or_short_circuit() {
    assert_eq!(r(r#"{{ and false (fail "boom") }}"#), "false");
    assert_eq!(r(r#"{{ or true (fail "boom") }}"#), "true");
    assert!(e(r#"{{ and true (fail "boom") }}"#).ends_with("error calling fail: boom"));
    // The Helm idiom: guard a nested field with and.
    let t = "{{ if and .a .a.b }}y{{ else }}n{{ end }}";
    assert_eq!(render(t, json!({})), "n");
    assert_eq!(render(t, json!({"a": {"b": 1}})), "y");
    let t = "{{ if or (not .a) .a.b }}y{{ else }}n{{ end }}";
    assert_eq!(render(t, json!({})), "y");
}

#[test]
fn not() {
    assert_eq!(
        r(
            r#"{{ not 0 }} {{ not "a" }} {{ not .missing }} {{ not (list) }} {{ not (dict "a" 1) }}"#
        ),
        "true false true true false"
    );
    assert!(e("{{ not 1 2 }}").ends_with("wrong number of args for not: want 1 got 2"));
}

#[test]
fn len() {
    assert_eq!(
        render(
            r#"{{ len "héllo" }} {{ len .l }} {{ len .m }} {{ len "" }}"#,
            json!({"l": [1, 2, 3], "m": {"a": 1}})
        ),
        "6 3 1 0"
    );
    assert_eq!(
        e("{{ len 3 }}"),
        "template: t:1:3: executing \"t\" at <len 3>: error calling len: len of type int"
    );
    assert!(e("{{ len .missing }}").ends_with("error calling len: len of nil pointer"));
    assert_eq!(r("{{ printf \"%T\" (len \"a\") }}"), "int");
}

#[test]
fn index() {
    let d =
        json!({"l": ["a", "b", "c"], "m": {"k": "v", "l": [10, 20], "n": {"x": "y"}}, "f": 1.0});
    assert_eq!(
        render(
            "{{ index .l 1 }} {{ index .m \"k\" }} {{ index .m \"l\" 1 }} {{ index .m \"n\" \"x\" }}",
            d.clone()
        ),
        "b v 20 y"
    );
    assert_eq!(
        render("{{ index \"abc\" 1 }} {{ index .m }}", d.clone()),
        "98 map[k:v l:[10 20] n:map[x:y]]"
    );
    assert_eq!(render("[{{ index .m \"missing\" }}]", d.clone()), "[]");
    let err = |s: &str| render_err(s, d.clone());
    assert!(err("{{ index .l 5 }}").ends_with("error calling index: index out of range: 5"));
    assert!(err("{{ index .l -1 }}").ends_with("error calling index: index out of range: -1"));
    assert!(
        err("{{ index .l 3 }}").ends_with("error calling index: reflect: slice index out of range")
    );
    assert!(
        err("{{ index .l \"a\" }}")
            .ends_with("error calling index: cannot index slice/array with type string")
    );
    assert!(
        err("{{ index .l .f }}")
            .ends_with("error calling index: cannot index slice/array with type float64")
    );
    assert!(
        err("{{ index .l nil }}")
            .ends_with("error calling index: cannot index slice/array with nil")
    );
    assert!(
        err("{{ index .m 1 }}")
            .ends_with("error calling index: value has type int; should be string")
    );
    assert!(
        err("{{ index .m \"missing\" \"x\" }}")
            .ends_with("error calling index: index of nil pointer")
    );
    assert!(
        err("{{ index .missing \"x\" }}").ends_with("error calling index: index of untyped nil")
    );
    assert!(err("{{ index 3 1 }}").ends_with("error calling index: can't index item of type int"));
}

#[test]
fn slice() {
    let d = json!({"l": [1, 2, 3]});
    assert_eq!(
        render(
            "{{ slice \"hello\" 1 3 }} {{ slice \"hello\" 2 }} {{ slice \"hello\" }}",
            d.clone()
        ),
        "el llo hello"
    );
    assert_eq!(
        render(
            "{{ slice .l 1 }} {{ slice .l 0 2 }} {{ slice .l 1 2 3 }} {{ slice .l 3 }}",
            d.clone()
        ),
        "[2 3] [1 2] [2] []"
    );
    let err = |s: &str| render_err(s, d.clone());
    assert!(err("{{ slice \"abc\" 1 2 3 }}").ends_with("cannot 3-index slice a string"));
    assert!(err("{{ slice .l 2 1 }}").ends_with("invalid slice index: 2 > 1"));
    assert!(err("{{ slice .l 0 5 }}").ends_with("index out of range: 5"));
    assert!(err("{{ slice .l 0 1 2 3 }}").ends_with("too many slice indexes: 4"));
    assert!(err("{{ slice .missing 1 }}").ends_with("slice of untyped nil"));
    assert!(err("{{ slice 3 1 }}").ends_with("can't slice item of type int"));
}

#[test]
fn print_println() {
    assert_eq!(r(r#"{{ print 1 2 "a" 3 "b" "c" }}"#), "1 2a3bc");
    assert_eq!(
        r(r#"{{ print }}|{{ print "a" }}|{{ print 1.5 true }}"#),
        "|a|1.5 true"
    );
    assert_eq!(r(r#"{{ println "a" 1 }}"#), "a 1\n");
    assert_eq!(
        r(
            r#"{{ print .missing }} {{ print nil }} {{ printf "%v" .missing }} {{ printf "%s" .missing }}"#
        ),
        "<nil> <nil> <nil> %!s(<nil>)"
    );
    assert_eq!(
        render(
            "{{ print .l }} {{ print .m }}",
            json!({"l": [1, "x"], "m": {"b": [], "a": null}})
        ),
        "[1 x] map[a:<nil> b:[]]"
    );
}

#[test]
fn printf() {
    assert_eq!(r(r#"{{ printf "%v" 1000000.0 }}"#), "1e+06");
    assert_eq!(
        render(r#"{{ printf "%v %d %s" .n .n .n }}"#, json!({"n": 8080})),
        "8080 %!d(float64=8080) %!s(float64=8080)"
    );
    assert_eq!(
        r(
            r#"{{ printf "%d|%5d|%-5d|%05d|%x|%X|%o|%b|%c|%q|%U" 42 42 42 42 255 255 8 5 65 65 65 }}"#
        ),
        "42|   42|42   |00042|ff|FF|10|101|A|'A'|U+0041"
    );
    assert_eq!(
        r(r#"{{ printf "%s|%q|%10s|%-10s|%.2s|%x" "go" "go" "go" "go" "go" "go" }}"#),
        "go|\"go\"|        go|go        |go|676f"
    );
    assert_eq!(
        r(r#"{{ printf "%f|%.2f|%e|%g|%G|%8.3f" 3.14159 3.14159 1234.5678 0.00001234 1e21 2.5 }}"#),
        "3.141590|3.14|1.234568e+03|1.234e-05|1E+21|   2.500"
    );
    assert_eq!(
        r(r#"{{ printf "%t|%v|%5t" true false true }}"#),
        "true|false| true"
    );
    assert_eq!(
        r(r#"{{ printf "%T|%T|%T|%T|%T|%T" 1 1.5 "s" true (list) (dict) }}"#),
        "int|float64|string|bool|[]interface {}|map[string]interface {}"
    );
    assert_eq!(
        r(
            r#"{{ printf "%d %d" 1 }}|{{ printf "%d" 1 2 }}|{{ printf "100%%" }}|{{ printf "%!" }}|{{ printf "%" }}"#
        ),
        "1 %!d(MISSING)|1%!(EXTRA int=2)|100%|%!!(MISSING)|%!(NOVERB)"
    );
    assert_eq!(
        r(
            r#"{{ printf "%[2]s %[1]s" "a" "b" }}|{{ printf "%*d" 5 1 }}|{{ printf "%.*f" 1 2.25 }}"#
        ),
        "b a|    1|2.2"
    );
    assert_eq!(
        r(r#"{{ printf "%+d % d %+.1e" 5 5 12345.0 }}"#),
        "+5  5 +1.2e+04"
    );
    assert_eq!(
        r(r#"{{ printf "%#x %#o %#q %#v %#v" 255 8 "a" "a" 1.0 }}"#),
        "0xff 010 `a` \"a\" 1"
    );
    assert_eq!(
        render(
            r#"{{ printf "%v|%d|%s" .l .l .m }}"#,
            json!({"l": [1, 2], "m": {"a": "x"}})
        ),
        "[1 2]|[%!d(float64=1) %!d(float64=2)]|map[a:x]"
    );
    assert_eq!(r(r#"{{ printf "%s" (list 1 "a") }}"#), "[%!s(int=1) a]");
    assert_eq!(
        r(r#"{{ printf "%q" 'x' }} {{ printf "%c" 0x1F600 }}"#),
        "'x' 😀"
    );
    assert!(e(r#"{{ printf 3 }}"#).ends_with("wrong type for value; expected string; got int"));
}

#[test]
fn comparisons() {
    assert_eq!(
        r(r#"{{ eq 1 1 }} {{ eq 1 2 }} {{ eq "a" "a" }} {{ eq 1.5 1.5 }} {{ eq true true }}"#),
        "true false true true true"
    );
    assert_eq!(
        r(r#"{{ eq "a" "b" "c" "a" }} {{ eq 1 2 3 }}"#),
        "true false"
    );
    assert_eq!(r(r#"{{ ne 1 2 }} {{ ne "a" "a" }}"#), "true false");
    assert_eq!(
        r(r#"{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ lt "B" "a" }}"#),
        "true true true false true"
    );
    // Values from JSON are float64.
    let d = json!({"f": 1, "s": "x", "m": {"a": 1}, "l": [1]});
    assert_eq!(
        render("{{ eq .f 1.0 }} {{ gt .f 0.5 }}", d.clone()),
        "true true"
    );
    let err = |s: &str| render_err(s, d.clone());
    assert_eq!(
        err("{{ eq .f 1 }}"),
        "template: t:1:3: executing \"t\" at <eq .f 1>: error calling eq: incompatible types for comparison: float64 and int"
    );
    assert!(err("{{ lt 1 1.5 }}").ends_with("incompatible types for comparison: int and float64"));
    assert!(
        err("{{ eq true \"true\" }}")
            .ends_with("incompatible types for comparison: bool and string")
    );
    assert!(
        err("{{ eq .m \"x\" }}")
            .ends_with("incompatible types for comparison: map[string]interface {} and string")
    );
    assert!(err("{{ eq 1 .s 2 }}").ends_with("incompatible types for comparison: int and string"));
    assert!(err("{{ lt .missing 1 }}").ends_with("error calling lt: invalid type for comparison"));
    assert!(err("{{ lt true false }}").ends_with("invalid type for comparison"));
    assert!(err("{{ eq 1 }}").ends_with("error calling eq: missing argument for comparison"));
    assert!(
        err("{{ eq .m .m }}")
            .ends_with("non-comparable type map[a:%!s(float64=1)]: map[string]interface {}")
    );
    assert!(err("{{ eq .l .m }}").ends_with(
        "non-comparable types [%!s(float64=1)]: []interface {}, map[string]interface {}: map[a:1]"
    ));
    // nil compares with anything.
    assert_eq!(
        render(
            "{{ eq .missing \"x\" }} {{ eq .missing nil }} {{ eq nil nil }} {{ ne .missing 1 }} {{ eq .m nil }}",
            d
        ),
        "false true true true false"
    );
}

#[test]
fn escapers() {
    assert_eq!(
        r(r#"{{ html "<a href=\"x\">&'" }}"#),
        "&lt;a href=&#34;x&#34;&gt;&amp;&#39;"
    );
    assert_eq!(
        r(r#"{{ "<x>" | html }} {{ html 1 2 }} {{ html "a" 1 }}"#),
        "&lt;x&gt; 1 2 a1"
    );
    assert_eq!(
        r(r#"{{ js "it's \"q\" <b> & = \\ é" }}"#),
        r#"it\'s \"q\" \u003Cb\u003E \u0026 \u003D \\ é"#
    );
    assert_eq!(r(r#"{{ js "\x01\n" }}"#), r"\u0001\u000A");
    assert_eq!(
        r(r#"{{ urlquery "a b&c=d/é~_.-" }}"#),
        "a+b%26c%3Dd%2F%C3%A9~_.-"
    );
}

#[test]
fn call_needs_a_function_value() {
    assert!(e("{{ call .f }}").ends_with("error calling call: call of nil"));
    assert!(
        render_err("{{ call .f 1 }}", json!({"f": 1}))
            .ends_with("error calling call: non-function .f of type float64")
    );
}
