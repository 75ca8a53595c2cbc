//! YAML as Helm writes and reads it.
//!
//! Writing follows go-yaml's emitter (libyaml's rules, block style, 2-space
//! indent, 80-column folding of long plain and quoted strings), fed either
//! as `sigs.k8s.io/yaml` does for `toYaml` (the value marshalled to JSON
//! first, so whole floats print as integers; go-yaml v2's key order;
//! sequences not indented under their key) or as go-yaml v3 does for
//! `toYamlPretty` (values as they are; sequences indented).

use std::sync::OnceLock;

use regex::Regex;

use super::{MAX_BYTES, MAX_NODES, plain};
use crate::error::Error;
use crate::strconv::format_float;
use crate::value::{List, MAX_NESTING, Map, Value};

/// How to write.
#[derive(Clone, Copy)]
pub(crate) struct Opts {
    /// Through JSON, as `sigs.k8s.io/yaml` (`toYaml`); otherwise go-yaml v3
    /// directly (`toYamlPretty`).
    pub json: bool,
}

enum Node {
    /// A scalar written plain whatever it holds (null, bools, numbers).
    Raw(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Large values `toYaml` wrote lately, by fingerprint (charts write the
/// same values again and again: `(.Values | toYaml | fromYaml)` in a helper
/// every template calls). Bounded in entries and bytes.
struct WrittenCache {
    entries: Vec<((u64, u64, bool), String)>,
    bytes: usize,
}

thread_local! {
    static WRITTEN: std::cell::RefCell<WrittenCache> = const {
        std::cell::RefCell::new(WrittenCache { entries: Vec::new(), bytes: 0 })
    };
}

/// Values with fewer nodes are written again rather than looked up.
const FINGERPRINT_MIN_NODES: usize = 256;
const WRITTEN_ENTRIES: usize = 16;
const WRITTEN_BYTES: usize = 16 << 20;

/// A 128-bit fingerprint of plain data (two independent hashes over every
/// kind, key and scalar, in map order), or `None` when the value is small or
/// holds objects (which have no data to hash).
fn fingerprint(v: &Value) -> Option<(u64, u64)> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    /// Two hashers fed the same bytes (the second seeded apart).
    struct Two(DefaultHasher, DefaultHasher);
    impl Hasher for Two {
        fn write(&mut self, bytes: &[u8]) {
            self.0.write(bytes);
            self.1.write(bytes);
        }
        fn finish(&self) -> u64 {
            self.0.finish()
        }
    }
    fn walk(v: &Value, h: &mut Two, nodes: &mut usize, depth: usize) -> bool {
        *nodes += 1;
        if *nodes > MAX_NODES || depth > MAX_NESTING {
            return false;
        }
        match v {
            Value::Nil => h.write_u8(0),
            Value::Bool(x) => {
                h.write_u8(1);
                h.write_u8(u8::from(*x));
            }
            Value::Int(x) => {
                h.write_u8(2);
                h.write_i64(*x);
            }
            Value::Float(x) => {
                h.write_u8(3);
                h.write_u64(x.to_bits());
            }
            Value::String(x) => {
                h.write_u8(4);
                h.write_usize(x.len());
                h.write(x.as_bytes());
            }
            Value::List(l) => {
                let items = l.borrow();
                h.write_u8(5);
                h.write_usize(items.len());
                for x in items.iter() {
                    if !walk(x, h, nodes, depth + 1) {
                        return false;
                    }
                }
            }
            Value::Map(m) => {
                let entries = m.borrow();
                h.write_u8(6);
                h.write_usize(entries.len());
                for (k, x) in entries.iter() {
                    h.write_usize(k.len());
                    h.write(k.as_bytes());
                    if !walk(x, h, nodes, depth + 1) {
                        return false;
                    }
                }
            }
            Value::Object(_) => return false,
        }
        true
    }
    if !matches!(v, Value::Map(_) | Value::List(_)) {
        return None;
    }
    let mut h = Two(DefaultHasher::new(), DefaultHasher::new());
    0xa5a5_5a5a_u32.hash(&mut h.1);
    let mut nodes = 0;
    (walk(v, &mut h, &mut nodes, 0) && nodes >= FINGERPRINT_MIN_NODES)
        .then(|| (h.0.finish(), h.1.finish()))
}

/// Writes `v` as a YAML document (with its final newline), through
/// [`WrittenCache`] for large values.
pub(crate) fn to_yaml(v: &Value, opts: Opts) -> Result<String, Error> {
    let Some((a, b)) = fingerprint(v) else {
        return write_yaml(v, opts);
    };
    let key = (a, b, opts.json);
    if let Some(hit) = WRITTEN.with(|c| {
        c.borrow()
            .entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
    }) {
        return Ok(hit);
    }
    let written = write_yaml(v, opts)?;
    if written.len() <= WRITTEN_BYTES {
        WRITTEN.with(|c| {
            let mut c = c.borrow_mut();
            if c.entries.len() >= WRITTEN_ENTRIES || c.bytes + written.len() > WRITTEN_BYTES {
                c.entries.remove(0);
                c.bytes = c.entries.iter().map(|(_, s)| s.len()).sum();
            }
            c.bytes += written.len();
            c.entries.push((key, written.clone()));
        });
    }
    Ok(written)
}

/// Writes `v` as a YAML document (with its final newline).
fn write_yaml(v: &Value, opts: Opts) -> Result<String, Error> {
    let mut budget = MAX_NODES;
    let node = convert(v, opts, &mut budget, 0)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        v3: !opts.json,
    };
    e.node(&node, false, false, false)?;
    e.write_indent();
    Ok(e.out)
}

fn convert(v: &Value, opts: Opts, budget: &mut usize, depth: usize) -> Result<Node, Error> {
    if *budget == 0 || depth > MAX_NESTING {
        return Err(Error::new(
            "error marshaling into JSON: value too large or nested too deeply",
        ));
    }
    *budget -= 1;
    Ok(match plain(v) {
        Value::Nil | Value::Object(_) => Node::Raw("null".into()),
        Value::Bool(b) => Node::Raw(b.to_string()),
        Value::Int(i) => Node::Raw(i.to_string()),
        Value::Float(f) => {
            if opts.json {
                if !f.is_finite() {
                    return Err(Error::new(format!(
                        "error marshaling into JSON: json: unsupported value: {}",
                        format_float(f, 'g', -1)
                    )));
                }
                let text = super::encoding::json_float(f);
                if !text.contains(['.', 'e'])
                    && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok())
                {
                    Node::Raw(text)
                } else {
                    Node::Raw(format_float(f, 'g', -1))
                }
            } else {
                Node::Raw(match format_float(f, 'g', -1).as_str() {
                    "+Inf" => ".inf".into(),
                    "-Inf" => "-.inf".into(),
                    "NaN" => ".nan".into(),
                    s => s.into(),
                })
            }
        }
        Value::String(s) => Node::Str(s.to_string()),
        Value::List(l) => Node::Seq(
            list_items(&l)
                .iter()
                .map(|x| convert(x, opts, budget, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut entries = map_entries(&m);
            entries.sort_by(|a, b| key_order(&a.0, &b.0, !opts.json));
            Node::Map(
                entries
                    .into_iter()
                    .map(|(k, x)| Ok((k, convert(&x, opts, budget, depth + 1)?)))
                    .collect::<Result<_, Error>>()?,
            )
        }
    })
}

fn list_items(l: &List) -> Vec<Value> {
    l.to_vec()
}

fn map_entries(m: &Map) -> Vec<(String, Value)> {
    m.entries()
}

/// go-yaml's map key order: runs of digits compare as numbers, and a
/// letter sorts after a non-letter.
pub(crate) fn key_order(a: &str, b: &str, v3: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let less = |a: &[char], b: &[char]| -> bool {
        let mut digits = false;
        for i in 0..a.len().min(b.len()) {
            if a[i] == b[i] {
                digits = a[i].is_ascii_digit();
                continue;
            }
            let al = a[i].is_alphabetic();
            let bl = b[i].is_alphabetic();
            if al && bl {
                return a[i] < b[i];
            }
            if al || bl {
                if v3 && digits {
                    return al;
                }
                return bl;
            }
            let (mut an, mut bn) = (0i64, 0i64);
            if a[i] == '0' || b[i] == '0' {
                let mut j = i;
                while j > 0 && a[j - 1].is_ascii_digit() {
                    if a[j - 1] != '0' {
                        an = 1;
                        bn = 1;
                        break;
                    }
                    j -= 1;
                }
            }
            let mut ai = i;
            while ai < a.len() && a[ai].is_ascii_digit() {
                an = an.wrapping_mul(10).wrapping_add(a[ai] as i64 - '0' as i64);
                ai += 1;
            }
            let mut bi = i;
            while bi < b.len() && b[bi].is_ascii_digit() {
                bn = bn.wrapping_mul(10).wrapping_add(b[bi] as i64 - '0' as i64);
                bi += 1;
            }
            if an != bn {
                return an < bn;
            }
            if ai != bi {
                return ai < bi;
            }
            return a[i] < b[i];
        }
        a.len() < b.len()
    };
    let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if less(&ac, &bc) {
        Ordering::Less
    } else if less(&bc, &ac) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: Option<char>) -> bool {
    matches!(c, Some(' ') | Some('\t'))
}

fn is_blankz(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\0' || is_break(c)
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_ws = i + 1 >= n || is_blank(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' | '-' if followed_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => block_ind = true,
                '#' if preceded_ws => block_ind = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = is_blankz(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

fn regex(cell: &'static OnceLock<Option<Regex>>, pat: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pat).ok()).as_ref()
}

fn is_base60_float(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(c) = s.chars().next() else {
        return false;
    };
    if !(c == '+' || c == '-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    regex(&RE, r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").is_some_and(|r| r.is_match(s))
}

fn is_timestamp(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(r) = regex(
        &RE,
        r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?))?$",
    ) else {
        return false;
    };
    let Some(c) = r.captures(s) else {
        return false;
    };
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let month_ok = num(2).is_some_and(|m| (1..=12).contains(&m));
    let day_ok = num(3).is_some_and(|d| (1..=31).contains(&d));
    let time_ok = [(4, 24), (5, 60), (6, 60), (7, 24), (8, 60), (9, 60)]
        .iter()
        .all(|&(i, max)| num(i).is_none_or(|v| v < max));
    month_ok && day_ok && time_ok
}

fn yaml_style_float(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    regex(
        &RE,
        r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
    )
    .is_some_and(|r| r.is_match(s))
}

fn go_uint_ok(s: &str) -> bool {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if lower.starts_with("0x") {
        (16, &body[2..])
    } else if lower.starts_with("0o") {
        (8, &body[2..])
    } else if lower.starts_with("0b") {
        (2, &body[2..])
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return false;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(m) => !neg || m <= 1u64 << 63,
        Err(_) => false,
    }
}

/// Whether go-yaml would read `s`, written plain, as something other than
/// a string (or as a YAML 1.1 bool or base-60 float, which it quotes too).
fn resolves_non_str(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&s) || is_base60_float(s) {
        return true;
    }
    match s.as_bytes()[0] {
        b'.' => super::conversion::parse_float(s).is_some(),
        b'0'..=b'9' | b'+' | b'-' => {
            if is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            go_uint_ok(&plain) || yaml_style_float(&plain)
        }
        _ => false,
    }
}

struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    v3: bool,
}

const BEST_WIDTH: usize = 80;

impl Emitter {
    fn check(&self) -> Result<(), Error> {
        if self.out.len() > MAX_BYTES {
            return Err(Error::new("toYaml: result too large"));
        }
        Ok(())
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, n: &Node, seq: bool, mapping: bool, simple_key: bool) -> Result<(), Error> {
        self.check()?;
        let _ = seq;
        match n {
            Node::Raw(s) => {
                self.scalar(s, Style::Plain, simple_key);
            }
            Node::Str(s) => {
                let a = analyze(s);
                let mut style = if s.contains('\n') {
                    Style::Literal
                } else if resolves_non_str(s) {
                    Style::Double
                } else {
                    Style::Plain
                };
                if simple_key && a.multiline {
                    style = Style::Double;
                }
                if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
                    style = Style::Single;
                }
                if style == Style::Single && !a.single {
                    style = Style::Double;
                }
                if style == Style::Literal && (!a.block || simple_key) {
                    style = Style::Double;
                }
                self.scalar(s, style, simple_key);
            }
            Node::Seq(items) if items.is_empty() => {
                self.indicator("[", true, true, false);
                self.indicator("]", false, false, false);
            }
            Node::Map(items) if items.is_empty() => {
                self.indicator("{", true, true, false);
                self.indicator("}", false, false, false);
            }
            Node::Seq(items) => {
                let indentless = mapping && !self.indention && !self.v3;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.indicator("-", true, false, true);
                    self.node(item, true, false, false)?;
                }
                self.pop_indent();
            }
            Node::Map(items) => {
                self.increase_indent(false, false);
                for (k, v) in items {
                    self.write_indent();
                    let simple = k.len() <= 128 && !k.chars().any(is_break);
                    if simple {
                        self.node(&Node::Str(k.clone()), false, true, true)?;
                        self.indicator(":", false, false, false);
                    } else {
                        self.indicator("?", true, false, true);
                        self.node(&Node::Str(k.clone()), false, true, false)?;
                        self.write_indent();
                        self.indicator(":", true, false, true);
                    }
                    self.node(v, false, true, false)?;
                }
                self.pop_indent();
            }
        }
        Ok(())
    }

    fn scalar(&mut self, s: &str, style: Style, simple_key: bool) {
        self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.plain(s, allow_breaks),
            Style::Single => self.single(s, allow_breaks),
            Style::Double => self.double(s, allow_breaks),
            Style::Literal => self.literal(s),
        }
        self.pop_indent();
    }

    fn plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single(&mut self, s: &str, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double(&mut self, s: &str, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let u = c as u32;
                let short = match u {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match short {
                    Some(x) => self.put(x),
                    None => {
                        let text = if u <= 0xFF {
                            format!("x{u:02X}")
                        } else if u <= 0xFFFF {
                            format!("u{u:04X}")
                        } else {
                            format!("U{u:08X}")
                        };
                        for x in text.chars() {
                            self.put(x);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, s: &str) {
        self.indicator("|", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.indicator("2", false, false, false);
        }
        let chomp = match chars.len() {
            0 => Some('-'),
            n if !is_break(chars[n - 1]) => Some('-'),
            1 => Some('+'),
            n if is_break(chars[n - 2]) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.indicator(&c.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Texts `fromYaml` read lately, and what they gave (charts read the same
/// text again and again: `(.Values | toYaml | fromYaml)` in a helper every
/// template calls). A hit is deep-copied, since the caller may change the
/// maps it gets. Bounded in entries and bytes.
struct ParsedCache {
    entries: Vec<(String, Result<Value, String>)>,
    bytes: usize,
}

const CACHE_ENTRIES: usize = 16;
const CACHE_BYTES: usize = 16 << 20;
/// Texts shorter than this are parsed again rather than looked up.
const CACHE_MIN: usize = 4096;

thread_local! {
    static PARSED: std::cell::RefCell<ParsedCache> = const {
        std::cell::RefCell::new(ParsedCache { entries: Vec::new(), bytes: 0 })
    };
}

/// [`parse_yaml`] through [`ParsedCache`].
pub(crate) fn from_yaml(text: &str) -> Result<Value, String> {
    if text.len() < CACHE_MIN || text.len() > CACHE_BYTES {
        return parse_yaml(text);
    }
    let hit = PARSED.with(|c| {
        c.borrow()
            .entries
            .iter()
            .find(|(t, _)| t == text)
            .map(|(_, r)| r.clone())
    });
    if let Some(r) = hit {
        return r.map(|v| v.deep_copy());
    }
    let parsed = parse_yaml(text);
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.entries.len() >= CACHE_ENTRIES || c.bytes + text.len() > CACHE_BYTES {
            let (_, first) = c.entries.remove(0);
            drop(first);
            c.bytes = c.entries.iter().map(|(t, _)| t.len()).sum();
        }
        c.bytes += text.len();
        let copy = match &parsed {
            Ok(v) => Ok(v.deep_copy()),
            Err(e) => Err(e.clone()),
        };
        c.entries.push((text.to_string(), copy));
    });
    parsed
}

/// Reads YAML as `sigs.k8s.io/yaml` does (YAML → JSON → Go): numbers
/// become floats, keys strings; only the first document is read.
fn parse_yaml(text: &str) -> Result<Value, String> {
    use serde::Deserialize;
    let mut docs = serde_norway::Deserializer::from_str(text);
    let Some(doc) = docs.next() else {
        return Ok(Value::Nil);
    };
    let mut v = serde_norway::Value::deserialize(doc)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    v.apply_merge()
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let mut budget = MAX_NODES;
    yaml_value(&v, &mut budget, 0)
}

fn yaml_key(k: &serde_norway::Value) -> Result<String, String> {
    use serde_norway::Value as Y;
    Ok(match k {
        Y::Null => "null".into(),
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => format_float(f, 'g', -1),
            _ => n.to_string(),
        },
        Y::String(s) => s.clone(),
        Y::Tagged(t) => return yaml_key(&t.value),
        _ => {
            return Err(
                "error converting YAML to JSON: yaml: invalid map key: a sequence or mapping"
                    .into(),
            );
        }
    })
}

fn yaml_value(v: &serde_norway::Value, budget: &mut usize, depth: usize) -> Result<Value, String> {
    use serde_norway::Value as Y;
    if *budget == 0 || depth > MAX_NESTING {
        return Err(
            "error converting YAML to JSON: document too large or nested too deeply".into(),
        );
    }
    *budget -= 1;
    Ok(match v {
        Y::Null => Value::Nil,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        Y::String(s) => Value::from(s.as_str()),
        Y::Sequence(items) => Value::list(
            items
                .iter()
                .map(|x| yaml_value(x, budget, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let out = Map::new();
            for (k, x) in m {
                out.insert(yaml_key(k)?, yaml_value(x, budget, depth + 1)?);
            }
            Value::Map(out)
        }
        Y::Tagged(t) => yaml_value(&t.value, budget, depth)?,
    })
}
