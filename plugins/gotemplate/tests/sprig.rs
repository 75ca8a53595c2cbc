//! Sprig and Helm functions, rendered through a set with everything
//! registered (`helm::register_all`), against Go/Sprig/Helm behaviour.

use gotemplate::{Templates, Value, helm};
use serde_json::json;

fn set() -> Templates {
    let mut t = Templates::named("gotpl");
    helm::register_all(&mut t);
    t
}

fn try_render(src: &str, data: serde_json::Value) -> Result<String, String> {
    let mut t = set();
    t.parse("t", src).map_err(|e| e.to_string())?;
    t.execute("t", &Value::from(data))
        .map_err(|e| e.to_string())
}

fn rd(src: &str, data: serde_json::Value) -> String {
    match try_render(src, data) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

fn r(src: &str) -> String {
    rd(src, json!({}))
}

fn e(src: &str) -> String {
    match try_render(src, json!({})) {
        Ok(s) => panic!("{src:?} rendered {s:?}, expected an error"),
        Err(e) => e,
    }
}

#[test]
fn strings() {
    assert_eq!(
        r(r#"{{ "  a b  " | trim }}|{{ upper "abc" }}|{{ lower "ABC" }}"#),
        "a b|ABC|abc"
    );
    assert_eq!(
        r(r#"{{ title "hello wide-world" }}|{{ untitle "Hello World" }}"#),
        "Hello Wide-World|hello world"
    );
    assert_eq!(
        r(r#"{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ trunc 50 "hi" }}"#),
        "hello|world|hi"
    );
    assert_eq!(
        r(r#"{{ trimSuffix "-" "a-" }}|{{ trimPrefix "-" "-a" }}|{{ trimAll "$" "$5.00$" }}"#),
        "a|a|5.00"
    );
    assert_eq!(
        r(r#"{{ substr 0 5 "hello world" }}|{{ substr 6 -1 "hello world" }}"#),
        "hello|world"
    );
    assert_eq!(
        r(r#"{{ repeat 3 "ab" }}|{{ nospace "a b  c" }}|{{ initials "First Try" }}"#),
        "ababab|abc|FT"
    );
    assert_eq!(
        r(r#"{{ contains "ll" "hello" }}{{ hasPrefix "he" "hello" }}{{ hasSuffix "x" "hello" }}"#),
        "truetruefalse"
    );
    assert_eq!(
        r(r#"{{ quote "a" 1 nil "b\"" }}|{{ squote "a" 2 }}|{{ cat "a" 1 nil "b" }}"#),
        r#""a" "1" "b\""|'a' '2'|a 1 b"#
    );
    assert_eq!(
        r(r#"{{ "a\nb" | indent 2 }}|{{ "a\nb" | nindent 2 }}"#),
        "  a\n  b|\n  a\n  b"
    );
    assert_eq!(
        r(
            r#"{{ replace " " "-" "a b c" }}|{{ plural "one" "many" 2 }}|{{ plural "one" "many" 1 }}"#
        ),
        "a-b-c|many|one"
    );
    assert_eq!(
        r(
            r#"{{ snakecase "FirstName" }}|{{ snakecase "HTTPServer" }}|{{ kebabcase "FirstName" }}|{{ camelcase "http_server" }}"#
        ),
        "first_name|http_server|first-name|HttpServer"
    );
    assert_eq!(
        r(
            r#"{{ swapcase "Hello" }}|{{ abbrev 5 "hello world" }}|{{ abbrevboth 5 10 "1234 5678 9123" }}"#
        ),
        "hELLO|he...|...5678..."
    );
    assert_eq!(
        r(r#"{{ wrap 5 "Hello World" }}|{{ wrapWith 5 "\t" "Hello World" }}"#),
        "Hello\nWorld|Hello\tWorld"
    );
    assert_eq!(
        r(
            r#"{{ $s := split "$" "a$b" }}{{ $s._0 }}{{ $s._1 }}|{{ splitList "," "a,b" }}|{{ $n := splitn "," 2 "a,b,c" }}{{ $n._1 }}"#
        ),
        "ab|[a b]|b,c"
    );
    assert_eq!(
        r(
            r#"{{ join "-" (list 1 "a" nil 2) }}|{{ list "c" "a" "b" | sortAlpha }}|{{ toStrings (list 1 2) }}"#
        ),
        "1-a-2|[a b c]|[1 2]"
    );
    assert_eq!(
        r(r#"{{ toString 1 }}{{ toString nil }}{{ toString true }}"#),
        "1<nil>true"
    );
    assert_eq!(
        r(
            r#"{{ seq 3 }}|{{ seq 2 4 }}|{{ seq 5 -1 2 }}|{{ seq 0 2 6 }}|{{ seq 0 -2 -5 }}|{{ seq 2 -2 }}|{{ seq 5 1 2 }}"#
        ),
        "1 2 3|2 3 4|5 4 3 2|0 2 4 6|0 -2 -4|2 1 0 -1 -2|"
    );
    assert!(e(r#"{{ repeat 100000000 "abcdefgh" }}"#).contains("too large"));
    assert!(
        e(r#"{{ trimSuffix "-" 1 }}"#).ends_with("wrong type for value; expected string; got int")
    );
    assert!(e(r#"{{ trimSuffix "-" nil }}"#).contains("invalid value; expected string"));
}

#[test]
fn random_is_deterministic() {
    let a = r(r#"{{ randAlphaNum 10 }} {{ randAlpha 4 }} {{ randNumeric 4 }} {{ uuidv4 }}"#);
    assert_eq!(
        a,
        r(r#"{{ randAlphaNum 10 }} {{ randAlpha 4 }} {{ randNumeric 4 }} {{ uuidv4 }}"#)
    );
    let parts: Vec<&str> = a.split(' ').collect();
    assert_eq!(parts[0].len(), 10);
    assert!(parts[0].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(parts[2].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(parts[3].len(), 36);
    assert_eq!(&parts[3][14..15], "4");
    assert_ne!(
        r(r#"{{ randAlphaNum 8 }}-{{ randAlphaNum 8 }}"#)
            .split('-')
            .collect::<Vec<_>>()[0],
        r(r#"{{ randAlphaNum 8 }}-{{ randAlphaNum 8 }}"#)
            .split('-')
            .collect::<Vec<_>>()[1]
    );
}

#[test]
fn conversions_and_reflection() {
    assert_eq!(
        r(
            r#"{{ int "42" }} {{ int 3.9 }} {{ int "x" }} {{ int64 "0x1F" }} {{ int "3.0" }} {{ atoi "12" }} {{ atoi "1x" }}"#
        ),
        "42 3 0 31 3 12 0"
    );
    assert_eq!(
        r(r#"{{ float64 "1.5" }} {{ float64 2 }} {{ toDecimal "0777" }}"#),
        "1.5 2 511"
    );
    assert_eq!(
        rd(r#"{{ int .n }}|{{ .n | int | add1 }}"#, json!({"n": 3})),
        "3|4"
    );
    assert_eq!(
        rd(
            r#"{{ typeOf .m }}|{{ typeOf .l }}|{{ typeOf .n }}|{{ typeOf 1 }}|{{ typeOf "s" }}|{{ typeOf nil }}"#,
            json!({"m": {}, "l": [], "n": 1})
        ),
        "map[string]interface {}|[]interface {}|float64|int|string|<nil>"
    );
    assert_eq!(
        rd(
            r#"{{ kindOf .m }} {{ kindOf .l }} {{ kindOf .n }} {{ kindOf 1 }} {{ kindOf true }} {{ kindOf nil }}"#,
            json!({"m": {}, "l": [], "n": 1})
        ),
        "map slice float64 int bool invalid"
    );
    assert_eq!(
        rd(
            r#"{{ kindIs "map" .m }} {{ kindIs "slice" .m }} {{ typeIs "string" "x" }} {{ typeIsLike "string" "x" }}"#,
            json!({"m": {}})
        ),
        "true false true true"
    );
    assert_eq!(
        r(r#"{{ deepEqual (list 1 (dict "a" 1)) (list 1 (dict "a" 1)) }} {{ deepEqual 1 1.0 }}"#),
        "true false"
    );
}

#[test]
fn math() {
    assert_eq!(
        r(
            r#"{{ add 1 2 3 }} {{ add1 1 }} {{ sub 5 2 }} {{ div 7 2 }} {{ mod 7 2 }} {{ mul 2 3 4 }}"#
        ),
        "6 2 3 3 1 24"
    );
    assert_eq!(
        r(r#"{{ max 1 5 3 }} {{ min 4 2 8 }} {{ biggest 1 2 }} {{ add "2" 3.7 }}"#),
        "5 2 2 5"
    );
    assert_eq!(
        r(
            r#"{{ addf 1.1 2.2 }} {{ subf 3.3 1.1 }} {{ mulf 1.1 3 }} {{ divf 10 4 }} {{ maxf 1 2.5 }} {{ minf 1 2.5 }}"#
        ),
        "3.3 2.2 3.3 2.5 2.5 1"
    );
    assert_eq!(
        r(r#"{{ floor 1.7 }} {{ ceil 1.2 }} {{ round 3.14159 2 }} {{ round 2.5 0 }}"#),
        "1 2 3.14 3"
    );
    assert_eq!(
        r(r#"{{ until 3 }} {{ until -2 }} {{ untilStep 0 10 3 }} {{ untilStep 5 0 -2 }}"#),
        "[0 1 2] [0 -1] [0 3 6 9] [5 3 1]"
    );
    assert!(e(r#"{{ div 1 0 }}"#).contains("integer divide by zero"));
    assert!(e(r#"{{ until 100000000 }}"#).contains("too large"));
}

#[test]
fn lists() {
    assert_eq!(
        r(r#"{{ $l := list 1 2 }}{{ $m := append $l 3 }}{{ $l }} {{ $m }} {{ prepend $l 0 }}"#),
        "[1 2] [1 2 3] [0 1 2]"
    );
    assert_eq!(
        r(
            r#"{{ first (list 1 2) }} {{ last (list 1 2) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}"#
        ),
        "1 2 [2 3] [1 2]"
    );
    assert_eq!(
        r(r#"[{{ first list }}][{{ last list }}][{{ rest list }}]"#),
        "[][][]"
    );
    assert_eq!(
        r(
            r#"{{ reverse (list 1 2 3) }} {{ uniq (list 1 1 2 "a" "a") }} {{ without (list 1 2 3 2) 2 }} {{ compact (list 0 1 "" "a" nil) }}"#
        ),
        "[3 2 1] [1 2 a] [1 3] [1 a]"
    );
    assert_eq!(
        r(
            r#"{{ has 1 (list 1 2) }} {{ has 3 (list 1 2) }} {{ has 1 nil }} {{ mustHas "a" (list "a") }}"#
        ),
        "true false false true"
    );
    assert_eq!(
        r(
            r#"{{ concat (list 1) (list 2 3) }} {{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }} {{ chunk 2 (list 1 2 3) }}"#
        ),
        "[1 2 3] [2 3] [2 3] [[1 2] [3]]"
    );
    assert!(e(r#"{{ first "abc" }}"#).contains("Cannot find first on type string"));
    assert!(e(r#"{{ concat (list 1) 2 }}"#).contains("Cannot concat type int as list"));
    assert!(e(r#"{{ slice (list 1) 0 5 }}"#).contains("out of range"));
}

#[test]
fn dicts() {
    assert_eq!(
        r(r#"{{ $d := dict "a" 1 "b" }}{{ $d.a }}[{{ $d.b }}] {{ len $d }} {{ dict 1 2 }}"#),
        "1[] 2 map[1:2]"
    );
    assert_eq!(
        r(r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }} {{ unset $d "a" }} {{ $d }}"#),
        "map[a:1 b:2] map[b:2] map[b:2]"
    );
    assert_eq!(
        r(
            r#"{{ $d := dict "a" 1 }}{{ hasKey $d "a" }} {{ hasKey $d "z" }} {{ get $d "a" }}[{{ get $d "z" }}]"#
        ),
        "true false 1[]"
    );
    assert_eq!(
        r(
            r#"{{ $d := dict "a" 1 "b" 2 "c" 3 }}{{ pick $d "a" "c" "z" }} {{ omit $d "a" }} {{ keys $d }} {{ values $d }}"#
        ),
        "map[a:1 c:3] map[b:2 c:3] [a b c] [1 2 3]"
    );
    assert_eq!(
        r(
            r#"{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }} {{ keys (dict "b" 1) (dict "a" 2) }}"#
        ),
        "[1 3] [a b]"
    );
    // merge: in place, no overwrite, deep; empty values in dst are filled.
    assert_eq!(
        r(
            r#"{{ $dst := dict "a" 1 "e" "" "n" (dict "x" 1) }}{{ $_ := merge $dst (dict "a" 2 "b" 3 "e" "f" "n" (dict "x" 2 "y" 3)) }}{{ $dst | toJson }}"#
        ),
        r#"{"a":1,"b":3,"e":"f","n":{"x":1,"y":3}}"#
    );
    assert_eq!(
        r(
            r#"{{ $dst := dict "a" 1 "k" true "n" (dict "x" 1) }}{{ $_ := mergeOverwrite $dst (dict "a" 2 "k" false "n" (dict "y" 3)) }}{{ $dst | toJson }}"#
        ),
        r#"{"a":2,"k":false,"n":{"x":1,"y":3}}"#
    );
    // deepCopy is independent, a plain assignment is shared.
    assert_eq!(
        r(
            r#"{{ $a := dict "n" (dict "x" 1) }}{{ $b := deepCopy $a }}{{ $_ := set $b.n "x" 2 }}{{ $a.n.x }}{{ $b.n.x }}"#
        ),
        "12"
    );
    assert_eq!(
        rd(
            r#"{{ dig "a" "b" "def" .m }}|{{ dig "a" "z" "def" .m }}|{{ dig "x" "def" .m }}"#,
            json!({"m": {"a": {"b": "v"}}})
        ),
        "v|def|def"
    );
    assert!(e(r#"{{ set nil "a" 1 }}"#).contains("nil map"));
    assert!(
        e(r#"{{ $m := dict "a" 1 }}{{ $_ := set $m "self" $m }}{{ deepCopy $m }}"#)
            .contains("contains itself")
    );
}

#[test]
fn defaults_and_flow() {
    assert_eq!(
        r(
            r#"{{ default "d" "" }} {{ default "d" "x" }} {{ default "d" 0 }} {{ default "d" false }} {{ default "d" (list) }} {{ default "d" }}"#
        ),
        "d x d d d d"
    );
    assert_eq!(
        rd(
            r#"{{ .missing | default "d" }} {{ .zero | default 5 }}"#,
            json!({"zero": 0})
        ),
        "d 5"
    );
    assert_eq!(
        r(r#"{{ empty "" }} {{ empty 0 }} {{ empty (dict) }} {{ empty "a" }} {{ empty 1 }}"#),
        "true true true false false"
    );
    assert_eq!(
        r(
            r#"{{ coalesce "" 0 nil "x" "y" }} {{ all 1 "a" }} {{ all 1 "" }} {{ any "" 0 1 }} {{ any "" 0 }}"#
        ),
        "x true false true false"
    );
    assert_eq!(
        r(r#"{{ ternary "y" "n" true }} {{ ternary "y" "n" false }} {{ true | ternary "a" "b" }}"#),
        "y n a"
    );
    assert!(e(r#"{{ fail "boom" }}"#).ends_with("error calling fail: boom"));
    assert!(e(r#"{{ required "need x" .x }}"#).ends_with("error calling required: need x"));
    assert_eq!(
        r(r#"{{ not true }} {{ and 1 2 }} {{ or 0 "" "z" }} {{ eq 1 1 }} {{ ne "a" "b" }}"#),
        "false 2 z true true"
    );
}

#[test]
fn encodings() {
    assert_eq!(
        r(r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b64dec "!!" }}"#),
        "aGVsbG8= hello illegal base64 data at input byte 0"
    );
    assert_eq!(
        r(r#"{{ b32enc "hello" }} {{ b32dec "NBSWY3DP" }}"#),
        "NBSWY3DP hello"
    );
    assert_eq!(
        r(r#"{{ sha256sum "hello" }}"#),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(
        r(r#"{{ sha1sum "hello" }} {{ adler32sum "hello" }}"#),
        "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d 103547413"
    );
    assert!(r(r#"{{ sha512sum "" }}"#).starts_with("cf83e1357eefb8bd"));
}

#[test]
fn json() {
    assert_eq!(
        rd(
            r#"{{ toJson .v }}"#,
            json!({"v": {"b": [1, 2.5, "x<y&z>"], "a": null, "c": 1000000, "d": true}})
        ),
        r#"{"a":null,"b":[1,2.5,"x\u003cy\u0026z\u003e"],"c":1000000,"d":true}"#
    );
    assert_eq!(r(r#"{{ toRawJson (dict "a" "<b>") }}"#), r#"{"a":"<b>"}"#);
    assert_eq!(
        r(r#"{{ toPrettyJson (dict "a" (list 1 2) "b" (dict)) }}"#),
        "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}"
    );
    assert_eq!(
        rd(
            r#"{{ toJson .f }} {{ toJson .g }} {{ toJson .h }}"#,
            json!({"f": 1e21, "g": 0.0000001, "h": 123456789.0})
        ),
        "1e+21 1e-7 123456789"
    );
    assert_eq!(
        r(r#"{{ $m := fromJson "{\"a\": {\"b\": 1}}" }}{{ $m.a.b }} {{ typeOf $m.a.b }}"#),
        "1 float64"
    );
    assert!(r(r#"{{ (fromJson "nope").Error }}"#).contains("expected"));
    assert_eq!(
        r(r#"{{ fromJsonArray "[1, \"a\"]" }} {{ mustFromJson "3" }}"#),
        "[1 a] 3"
    );
}

#[test]
fn to_yaml() {
    let y = |v: serde_json::Value| rd("{{ toYaml .v }}", json!({ "v": v }));
    assert_eq!(y(json!({"b": 1, "a": "x"})), "a: x\nb: 1");
    assert_eq!(
        y(json!({"list": ["a", {"k": "v", "j": 2}], "m": {"p": {"o": 1}}})),
        "list:\n- a\n- j: 2\n  k: v\nm:\n  p:\n    o: 1"
    );
    // YAML 1.1 bools, even one letter, are quoted (go-yaml v2).
    assert_eq!(y(json!({"n": "y", "on": 1})), "\"n\": \"y\"\n\"on\": 1");
    assert_eq!(y(json!({})), "{}");
    assert_eq!(y(json!(null)), "null");
    assert_eq!(y(json!({"e": {}, "l": []})), "e: {}\nl: []");
    assert_eq!(y(json!([[1, 2], [3]])), "- - 1\n  - 2\n- - 3");
    // Quoting: strings that read as other types, indicators, specials.
    assert_eq!(
        y(
            json!({"a": "true", "b": "1", "c": "", "d": "yes", "e": "1.5", "f": "null", "g": "~", "h": "0x1F", "i": "2024-01-02"})
        ),
        "a: \"true\"\nb: \"1\"\nc: \"\"\nd: \"yes\"\ne: \"1.5\"\nf: \"null\"\ng: \"~\"\nh: \"0x1F\"\ni: \"2024-01-02\""
    );
    assert_eq!(
        y(
            json!({"a": "x: y", "b": "*star", "c": "- item", "d": "a #b", "e": " lead", "f": "tab\there", "g": "it's", "h": "@x", "i": "a:b", "j": "-x", "k": "10:30"})
        ),
        "a: 'x: y'\nb: '*star'\nc: '- item'\nd: 'a #b'\ne: ' lead'\nf: \"tab\\there\"\ng: it's\nh: '@x'\ni: a:b\nj: -x\nk: \"10:30\""
    );
    // Numbers: via JSON, whole floats are integers.
    assert_eq!(
        y(json!({"a": 3.0, "b": 1e6, "c": 2.5, "d": 1e21, "e": 0.000001})),
        "a: 3\nb: 1000000\nc: 2.5\nd: 1e+21\ne: 1e-06"
    );
    // Multi-line strings: literal blocks.
    assert_eq!(y(json!({"s": "a\nb"})), "s: |-\n  a\n  b");
    assert_eq!(y(json!({"s": "a\nb\n"})), "s: |\n  a\n  b");
    assert_eq!(y(json!({"s": "a\n\nb\n\n"})), "s: |+\n  a\n\n  b\n");
    assert_eq!(y(json!({"s": " a\nb"})), "s: |2-\n   a\n  b");
    assert_eq!(y(json!({"s": "a \nb"})), "s: \"a \\nb\"");
    assert_eq!(y(json!({"l": ["x\ny"]})), "l:\n- |-\n  x\n  y");
    // go-yaml's key order: digits numerically, non-letters before letters.
    assert_eq!(
        y(json!({"item10": 1, "item9": 2, "a_b": 3, "aB": 4})),
        "a_b: 3\naB: 4\nitem9: 2\nitem10: 1"
    );
    // Long plain strings fold at 80 columns.
    let long = "word ".repeat(20).trim_end().to_string();
    assert_eq!(
        y(json!({ "k": long })),
        format!(
            "k: {}\n  {}",
            "word ".repeat(16).trim_end(),
            "word ".repeat(4).trim_end()
        )
    );
    assert_eq!(r(r#"{{ list 1 "a" | toYaml }}"#), "- 1\n- a");
    assert_eq!(
        r(r#"{{ toYaml "hello" }}|{{ toYaml 1 }}|{{ toYaml true }}"#),
        "hello|1|true"
    );
    // Typical chart use.
    assert_eq!(
        rd(
            "resources:\n  {{- toYaml .Values.resources | nindent 2 }}",
            json!({"Values": {"resources": {"limits": {"cpu": "100m", "memory": "128Mi"}}}})
        ),
        "resources:\n  limits:\n    cpu: 100m\n    memory: 128Mi"
    );
    assert_eq!(
        r(r#"{{ toYamlPretty (dict "l" (list 1 2) "f" 2.0) }}"#),
        "f: 2\nl:\n  - 1\n  - 2"
    );
    assert_eq!(r(r#"{{ mustToYaml (dict "a" 1) }}"#), "a: 1");
}

#[test]
fn from_yaml() {
    assert_eq!(
        r(
            r#"{{ $m := fromYaml "a: 1\nb:\n  - x\n  - y\n" }}{{ $m.a }} {{ typeOf $m.a }} {{ $m.b }}"#
        ),
        "1 float64 [x y]"
    );
    assert_eq!(r(r#"{{ fromYaml "" }}"#), "map[]");
    assert!(r(r#"{{ (fromYaml "- a").Error }}"#).contains("cannot unmarshal array"));
    assert!(r(r#"{{ (fromYaml "a: [").Error }}"#).starts_with("error converting YAML to JSON"));
    assert_eq!(r(r#"{{ fromYamlArray "- 1\n- b" }}"#), "[1 b]");
    assert_eq!(
        r(r#"{{ $m := fromYaml "a: &x 1\nb: *x\n1: c" }}{{ $m.b }} {{ index $m "1" }}"#),
        "1 c"
    );
    // Round trip.
    assert_eq!(
        rd(
            r#"{{ .v | toYaml | fromYaml | toJson }}"#,
            json!({"v": {"a": [1, "2"], "b": {"c": true}}})
        ),
        r#"{"a":[1,"2"],"b":{"c":true}}"#
    );
}

#[test]
fn toml() {
    assert_eq!(
        r(r#"{{ toToml (dict "a" 1 "s" "x" "t" (dict "b" true)) }}"#),
        "a = 1\ns = \"x\"\n\n[t]\nb = true\n"
    );
}

#[test]
fn regexes() {
    assert_eq!(
        r(r#"{{ regexMatch "^[a-z]+\\d$" "abc1" }} {{ regexMatch "\\d" "٣" }}"#),
        "true false"
    );
    assert_eq!(
        r(
            r#"{{ regexFind "[0-9]+" "ab12cd34" }} {{ regexFindAll "[0-9]+" "ab12cd34e5" -1 }} {{ regexFindAll "[0-9]+" "ab12cd34e5" 2 }}"#
        ),
        "12 [12 34 5] [12 34]"
    );
    assert_eq!(
        r(
            r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAllLiteral "a(x*)b" "-ab-" "${1}" }}"#
        ),
        "-W-xxW- -${1}-"
    );
    assert_eq!(
        r(
            r#"{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "z+" "pizza" 1 }} {{ regexQuoteMeta "1.2*" }}"#
        ),
        "[pi a] [pizza] 1\\.2\\*"
    );
    assert!(e(r#"{{ regexMatch "(" "x" }}"#).contains("error parsing regexp"));
    assert!(e(r#"{{ mustRegexMatch "[" "x" }}"#).contains("error parsing regexp"));
}

#[test]
fn semver() {
    let c = |con: &str, v: &str| r(&format!(r#"{{{{ semverCompare "{con}" "{v}" }}}}"#));
    assert_eq!(c(">=1.19-0", "v1.20.0"), "true");
    assert_eq!(c(">=1.19-0", "v1.20.0-gke.100"), "true");
    assert_eq!(c(">=1.19", "v1.20.0-gke.100"), "false");
    assert_eq!(c("<1.19-0", "1.18.3"), "true");
    assert_eq!(c("^1.2.3", "1.9.0"), "true");
    assert_eq!(c("^1.2.3", "2.0.0"), "false");
    assert_eq!(c("^0.2.3", "0.2.9"), "true");
    assert_eq!(c("^0.2.3", "0.3.0"), "false");
    assert_eq!(c("~1.2.3", "1.2.9"), "true");
    assert_eq!(c("~1.2.3", "1.3.0"), "false");
    assert_eq!(c("1.2.x", "1.2.7"), "true");
    assert_eq!(c("1.2.x", "1.3.0"), "false");
    assert_eq!(c("*", "5.0.0"), "true");
    assert_eq!(c(">1.2", "1.2.5"), "false");
    assert_eq!(c(">1.2", "1.3.0"), "true");
    assert_eq!(c("1.2 - 1.4.5", "1.3.0"), "true");
    assert_eq!(c("1.2 - 1.4.5", "1.4.6"), "false");
    assert_eq!(c(">=1.2, <1.3", "1.2.5"), "true");
    assert_eq!(c(">=1.2 <1.3", "1.3.0"), "false");
    assert_eq!(c("<1.0 || >=2.0", "2.1.0"), "true");
    assert_eq!(c("!=1.2.3", "1.2.3"), "false");
    assert_eq!(c("=1.2.3", "1.2.3+meta"), "true");
    assert_eq!(c(">= 1.16.0-0 < 1.25.0-0", "1.24.3"), "true");
    assert!(e(r#"{{ semverCompare "bad" "1.0.0" }}"#).contains("improper constraint"));
    assert!(e(r#"{{ semverCompare ">1" "x.y" }}"#).contains("Invalid Semantic Version"));
    assert_eq!(
        r(
            r#"{{ $v := semver "v1.2.3-beta.1+b5" }}{{ $v.Major }}.{{ $v.Minor }}.{{ $v.Patch }} {{ $v.Prerelease }} {{ $v.Metadata }} {{ $v.Original }} {{ $v }}"#
        ),
        "1.2.3 beta.1 b5 v1.2.3-beta.1+b5 1.2.3-beta.1+b5"
    );
    assert_eq!(
        r(r#"{{ (semver "1.2.3").Compare (semver "1.3.0") }}"#),
        "-1"
    );
}

#[test]
fn dates() {
    assert_eq!(
        r(
            r#"{{ now | date "2006-01-02T15:04:05Z07:00" }} {{ now | unixEpoch }} {{ htmlDate now }}"#
        ),
        "1970-01-01T00:00:00Z 0 1970-01-01"
    );
    assert_eq!(
        r(r#"{{ date "Mon Jan _2 15:04:05 MST 2006" 86400 }}"#),
        "Fri Jan  2 00:00:00 UTC 1970"
    );
    assert_eq!(r(r#"{{ now }}"#), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        r(r#"{{ toDate "2006-01-02" "2024-03-05" | date "Jan 2, 2006 03:04 PM" }}"#),
        "Mar 5, 2024 12:00 AM"
    );
    assert_eq!(
        r(r#"{{ (toDate "2006-01-02T15:04:05Z07:00" "2024-03-05T10:20:30+02:00").Unix }}"#),
        "1709626830"
    );
    assert_eq!(
        r(r#"{{ toDate "2006-01-02" "nope" | unixEpoch }}"#),
        "-62135596800"
    );
    assert!(e(r#"{{ mustToDate "2006-01-02" "nope" }}"#).contains("cannot parse"));
    assert_eq!(
        r(
            r#"{{ now | dateModify "1h30m" | date "15:04" }} {{ now | dateModify "-1.5h" | unixEpoch }}"#
        ),
        "01:30 -5400"
    );
    assert_eq!(
        r(r#"{{ duration "95" }} {{ duration 3700 }} {{ durationRound "2h10m" }} {{ ago 0 }}"#),
        "1m35s 1h1m40s 2h 0s"
    );
    assert_eq!(
        r(r#"{{ dateInZone "2006-01-02 15:04" (now | dateModify "25h") "Europe/Paris" }}"#),
        "1970-01-02 01:00"
    );
}

#[test]
fn crypto_stand_ins() {
    let out = r(
        r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCert "svc" (list "10.0.0.1") (list "svc.ns") 365 $ca }}{{ $ca.Cert }}{{ $c.Key }}"#,
    );
    assert!(out.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(out.contains("-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(out.lines().all(|l| l.len() <= 64));
    assert_eq!(
        out,
        r(
            r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCert "svc" (list "10.0.0.1") (list "svc.ns") 365 $ca }}{{ $ca.Cert }}{{ $c.Key }}"#
        )
    );
    assert!(r(r#"{{ genPrivateKey "ecdsa" }}"#).starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(r(r#"{{ (genSelfSignedCert "x" nil nil 10).Cert | b64enc }}"#).len() > 100);
    assert_eq!(
        r(
            r#"{{ $c := buildCustomCert ("CERT" | b64enc) ("KEY" | b64enc) }}{{ $c.Cert }}/{{ $c.Key }}"#
        ),
        "CERT/KEY"
    );
    assert_eq!(
        r(r#"{{ encryptAES "secret" "hello world" | decryptAES "secret" }}"#),
        "hello world"
    );
    assert!(r(r#"{{ htpasswd "user" "pass" }}"#).starts_with("user:$2a$10$"));
    assert_eq!(
        r(r#"{{ derivePassword 1 "long" "password" "user" "example.com" | len }}"#),
        "14"
    );
}

#[test]
fn urls_and_paths() {
    assert_eq!(
        r(
            r#"{{ $u := urlParse "https://user:pw@example.com:8443/a/b?x=1#frag" }}{{ $u.scheme }}|{{ $u.host }}|{{ $u.hostname }}|{{ $u.path }}|{{ $u.query }}|{{ $u.fragment }}|{{ $u.userinfo }}"#
        ),
        "https|example.com:8443|example.com|/a/b|x=1|frag|user:pw"
    );
    assert_eq!(
        r(r#"{{ urlJoin (dict "scheme" "http" "host" "h:80" "path" "/p" "query" "q=1") }}"#),
        "http://h:80/p?q=1"
    );
    assert_eq!(
        r(
            r#"{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ ext "b.tar.gz" }} {{ clean "a//b/../c/." }} {{ isAbs "/x" }} {{ osBase "x/" }}"#
        ),
        "b.txt /a .gz a/c true x"
    );
    assert_eq!(r(r#"[{{ getHostByName "example.com" }}]"#), "[]");
}

#[test]
fn helm_extras_and_set() {
    assert_eq!(
        r(
            r#"{{ lookup "v1" "Secret" "ns" "name" }}|{{ (lookup "v1" "Secret" "ns" "name").data }}"#
        ),
        "map[]|"
    );
    let mut t = set();
    assert!(
        t.has_func("include")
            && t.has_func("tpl")
            && t.has_func("toYaml")
            && t.has_func("semverCompare")
    );
    assert!(!t.has_func("env") && !t.has_func("expandenv"));
    assert!(t.parse("x", "{{ env \"HOME\" }}").is_err());
    assert_eq!(
        r(r#"{{ tpl "{{ .a }}-{{ upper .b }}" (dict "a" 1 "b" "x") }}"#),
        "1-X"
    );
}

/// A helper library in the style of bitnami's `common` chart.
const COMMON: &str = r#"
{{- define "common.images.image" -}}
{{- $registryName := default .imageRoot.registry ((.global).imageRegistry) -}}
{{- $repositoryName := .imageRoot.repository -}}
{{- $separator := ":" -}}
{{- $termination := .imageRoot.tag | toString -}}
{{- if .imageRoot.digest }}
    {{- $separator = "@" -}}
    {{- $termination = .imageRoot.digest | toString -}}
{{- end -}}
{{- if $registryName }}
    {{- printf "%s/%s%s%s" $registryName $repositoryName $separator $termination -}}
{{- else -}}
    {{- printf "%s%s%s"  $repositoryName $separator $termination -}}
{{- end -}}
{{- end -}}

{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "common.tplvalues.render" -}}
{{- $value := typeIs "string" .value | ternary .value (.value | toYaml) }}
{{- if contains "{{" (toJson .value) }}
  {{- if .scope }}
      {{- tpl (cat "{{- with $.RelativeScope -}}" $value "{{- end }}") (merge (dict "RelativeScope" .scope) .context) }}
  {{- else }}
    {{- tpl $value .context }}
  {{- end }}
{{- else }}
    {{- $value }}
{{- end }}
{{- end -}}

{{- define "common.labels.standard" -}}
app.kubernetes.io/name: {{ include "common.names.name" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | replace "+" "_" | quote }}
{{- end -}}
{{- end -}}

{{- define "common.capabilities.deployment.apiVersion" -}}
{{- if semverCompare "<1.14-0" (dig "global" "kubeVersion" "" .Values | default "v1.28.0") -}}
{{- print "extensions/v1beta1" -}}
{{- else -}}
{{- print "apps/v1" -}}
{{- end -}}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"apiVersion: {{ include "common.capabilities.deployment.apiVersion" . }}
kind: Deployment
metadata:
  name: {{ include "common.names.fullname" . }}
  labels: {{- include "common.labels.standard" . | nindent 4 }}
  {{- if .Values.commonAnnotations }}
  annotations: {{- include "common.tplvalues.render" (dict "value" .Values.commonAnnotations "context" $) | nindent 4 }}
  {{- end }}
spec:
  replicas: {{ .Values.replicaCount | int }}
  template:
    spec:
      containers:
        - name: app
          image: {{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global) }}
          {{- $pull := coalesce .Values.image.pullPolicy (ternary "Always" "IfNotPresent" (hasSuffix "latest" (toString .Values.image.tag))) }}
          imagePullPolicy: {{ $pull }}
          {{- if .Values.extraEnv }}
          env: {{- include "common.tplvalues.render" (dict "value" .Values.extraEnv "context" $) | nindent 12 }}
          {{- end }}
        - name: sidecar
          image: {{ include "common.images.image" (dict "imageRoot" .Values.sidecar.image "global" .Values.global) }}
"#;

#[test]
fn bitnami_common_style_chart() {
    let mut t = set();
    t.parse("common/templates/_helpers.tpl", COMMON).unwrap();
    t.parse("app/templates/deployment.yaml", DEPLOYMENT)
        .unwrap();
    let values = json!({
        "global": {"imageRegistry": "mirror.example.com"},
        "replicaCount": 2,
        "commonAnnotations": {"team": "{{ .Release.Namespace }}-owners"},
        "image": {"registry": "docker.io", "repository": "bitnami/nginx", "tag": "1.25.3-debian-11-r1"},
        "sidecar": {"image": {"registry": "quay.io", "repository": "org/tool", "tag": "latest", "digest": "sha256:abcd"}},
        "extraEnv": [{"name": "RELEASE", "value": "{{ .Release.Name }}"}]
    });
    let data = Value::from(json!({
        "Values": values,
        "Chart": {"Name": "nginx", "Version": "15.0.0+up1", "AppVersion": "1.25.3"},
        "Release": {"Name": "web", "Namespace": "prod", "Service": "Helm"}
    }));
    let out = t.execute("app/templates/deployment.yaml", &data).unwrap();
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-nginx
  labels:
    app.kubernetes.io/name: nginx
    helm.sh/chart: nginx-15.0.0_up1
    app.kubernetes.io/instance: web
    app.kubernetes.io/managed-by: Helm
    app.kubernetes.io/version: "1.25.3"
  annotations:
    team: 'prod-owners'
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: mirror.example.com/bitnami/nginx:1.25.3-debian-11-r1
          imagePullPolicy: IfNotPresent
          env:
            - name: RELEASE
              value: 'web'
        - name: sidecar
          image: mirror.example.com/org/tool@sha256:abcd
"#
    );

    // Without the global override, each image keeps its own registry.
    let data = Value::from(json!({
        "Values": {"image": {"registry": "docker.io", "repository": "bitnami/nginx", "tag": "latest"},
                   "sidecar": {"image": {"registry": "", "repository": "busybox", "tag": 1.36}},
                   "replicaCount": 1, "fullnameOverride": "custom-name-"},
        "Chart": {"Name": "nginx", "Version": "1.0.0"},
        "Release": {"Name": "nginx-prod", "Namespace": "x", "Service": "Helm"}
    }));
    let out = t.execute("app/templates/deployment.yaml", &data).unwrap();
    assert!(out.contains("  name: custom-name\n"), "{out}");
    assert!(
        out.contains("image: docker.io/bitnami/nginx:latest\n          imagePullPolicy: Always"),
        "{out}"
    );
    assert!(out.contains("image: busybox:1.36\n"), "{out}");
}

#[test]
fn hostile_inputs_do_not_panic() {
    for src in [
        r#"{{ indent -1 "x" }}"#,
        r#"{{ substr 5 2 "abc" }}"#,
        r#"{{ substr 10 20 "abc" }}"#,
        r#"{{ trunc -100 "abc" }}"#,
        r#"{{ randAlphaNum -1 }}"#,
        r#"{{ untilStep 0 9223372036854775807 1 }}"#,
        r#"{{ seq -9223372036854775807 9223372036854775807 }}"#,
        r#"{{ chunk 0 (list 1) }}"#,
        r#"{{ dig "a" "b" "d" (dict "a" 1) }}"#,
        r#"{{ dig "a" "d" 1 }}"#,
        r#"{{ semverCompare "~~1" "1.0.0" }}"#,
        r#"{{ regexMatch "((((((((((a))))))))))" "a" }}"#,
        r#"{{ mod 1 0 }}"#,
        r#"{{ randInt 5 5 }}"#,
        r#"{{ b32dec "A=======" }}"#,
        r#"{{ decryptAES "k" "bm9wZQ==" }}"#,
        r#"{{ wrap -3 "a b c" }}"#,
        r#"{{ abbrev 2 "abcdef" }}{{ abbrevboth 10 4 "abc" }}{{ abbrevboth 3 7 "abcdefghijkl" }}"#,
        r#"{{ mustDateModify "1x" now }}"#,
        r#"{{ toDate "2006-01-02" "2024-02-30" }}"#,
    ] {
        let _ = try_render(src, json!({}));
    }
    // A map that contains itself: encoders stop with an error or empty text.
    assert_eq!(
        r(r#"{{ $m := dict }}{{ $_ := set $m "m" $m }}[{{ toJson $m }}][{{ toYaml $m }}]"#),
        "[][]"
    );
    // Doubling shared maps does not blow up.
    let src = r#"{{ $m := dict "a" 1 }}{{ range until 40 }}{{ $m = dict "x" $m "y" $m }}{{ end }}{{ len (toJson $m) }}"#;
    assert!(try_render(src, json!({})).is_ok());
}

/// `toYaml` and `fromYaml` remember large values they wrote and read (charts
/// round-trip the whole `.Values` in helpers); a value changed in between,
/// or a map changed by the template that got it, is never served stale.
#[test]
fn large_yaml_round_trips_are_remembered_but_never_stale() {
    let big: serde_json::Map<String, serde_json::Value> = (0..400)
        .map(|i| (format!("key{i:03}"), json!({"image": format!("repo/app{i}:1.0")})))
        .collect();
    let src = r#"{{- $a := .Values | toYaml | fromYaml -}}
{{- $_ := set $a "key000" "changed" -}}
{{- $b := .Values | toYaml | fromYaml -}}
{{- $_ := set .Values "key001" "values changed" -}}
{{- $c := .Values | toYaml | fromYaml -}}
{{ $a.key000 }}|{{ $b.key000.image }}|{{ $c.key001 }}|{{ $c.key002.image }}"#;
    let out = rd(src, json!({"Values": big}));
    assert_eq!(out, "changed|repo/app0:1.0|values changed|repo/app2:1.0");
}
