//! Go's `fmt` for template values: `Sprint`, `Sprintln` and `Sprintf` with
//! Go's verbs, flags, widths, precisions, argument indexes and its in-band
//! error notes (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA int=1)`).

use crate::strconv::{can_backquote, format_float, is_print, quote, quote_rune, quote_to_ascii};
use crate::value::{MAX_NESTING, Value};

/// Go's `fmt.Sprint`: operands formatted with `%v`, a space between two
/// operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: operands formatted with `%v`, always separated by
/// spaces, and a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

/// Formats one value with one verb and no flags (`%v`, `%s`, `%d`, …).
pub fn format_value(v: &Value, verb: char) -> String {
    let mut p = Printer::default();
    p.print_arg(v, verb);
    p.buf
}

#[derive(Clone, Copy, Default)]
struct Flags {
    wid: usize,
    wid_present: bool,
    prec: usize,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    erroring: bool,
    reordered: bool,
    good_arg_num: bool,
}

const TOO_LARGE: usize = 1_000_000;

fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut is_num = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if num > TOO_LARGE {
            return (0, false, end);
        }
        num = num * 10 + (s[i] - b'0') as usize;
        is_num = true;
        i += 1;
    }
    (num, is_num, i)
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        for _ in 0..n {
            self.buf.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = self.f.wid.saturating_sub(s.chars().count());
        if !self.f.minus {
            self.write_padding(width);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            self.write_padding(width);
        }
    }

    fn truncate<'a>(&self, s: &'a str) -> &'a str {
        if self.f.prec_present
            && let Some((i, _)) = s.char_indices().nth(self.f.prec)
        {
            return &s[..i];
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let q = format!("`{s}`");
            self.pad(&q);
        } else if self.f.plus {
            let q = quote_to_ascii(s);
            self.pad(&q);
        } else {
            let q = quote(s);
            self.pad(&q);
        }
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let b = s.as_bytes();
        let mut length = b.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                let w = self.f.wid;
                self.write_padding(w);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            let w = self.f.wid - width;
            self.write_padding(w);
        }
        let mut out = String::new();
        if self.f.sharp {
            out.push('0');
            out.push(digits[16] as char);
        }
        for (i, &c) in b.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                out.push(' ');
                if self.f.sharp {
                    out.push('0');
                    out.push(digits[16] as char);
                }
            }
            out.push(digits[(c >> 4) as usize] as char);
            out.push(digits[(c & 0xf) as usize] as char);
        }
        self.buf.push_str(&out);
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            let w = self.f.wid - width;
            self.write_padding(w);
        }
    }

    fn fmt_integer(&mut self, v: i64, base: u32, verb: char, upper: bool) {
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let negative = v < 0;
        let mut u = v.unsigned_abs();
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && v == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                let w = self.f.wid;
                self.write_padding(w);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        // Digits, right to left.
        let mut rev: Vec<u8> = Vec::with_capacity(70);
        let b = base as u64;
        loop {
            rev.push(digits[(u % b) as usize]);
            u /= b;
            if u == 0 {
                break;
            }
        }
        while rev.len() < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => {
                    rev.push(b'b');
                    rev.push(b'0');
                }
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.push(b'o');
            rev.push(b'0');
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s = String::from_utf8(rev).unwrap_or_default();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_unicode(&mut self, v: i64) {
        let u = v as u64;
        let mut prec = 4usize;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec;
        }
        let mut s = format!("{u:X}");
        while s.len() < prec {
            s.insert(0, '0');
        }
        s.insert_str(0, "U+");
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            s.push_str(" '");
            s.push(c);
            s.push('\'');
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_c(&mut self, v: i64) {
        let c = u32::try_from(v)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        let mut b = [0u8; 4];
        let s: &str = c.encode_utf8(&mut b);
        self.pad(s);
    }

    fn fmt_qc(&mut self, v: i64) {
        let s = quote_rune(v, self.f.plus);
        self.pad(&s);
    }

    fn fmt_float(&mut self, v: f64, verb: char, default_prec: i32) {
        let prec = if self.f.prec_present {
            self.f.prec as i32
        } else {
            default_prec
        };
        let sverb = if verb == 'F' { 'f' } else { verb };
        let mut num = format_float(v, sverb, prec);
        // Reserve a sign.
        if num.starts_with('-') || num.starts_with('+') {
        } else {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let second = num.as_bytes().get(1).copied().unwrap_or(b'0');
        if second == b'I' || second == b'N' {
            let old = self.f.zero;
            self.f.zero = false;
            if second == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = 0;
            if matches!(verb, 'v' | 'g' | 'G' | 'x') {
                digits = prec;
                if digits == -1 {
                    digits = 6;
                }
            }
            let bytes: Vec<u8> = num.bytes().collect();
            let mut head: Vec<u8> = vec![bytes[0]];
            let mut tail: Vec<u8> = Vec::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < bytes.len() {
                let c = bytes[i];
                match c {
                    b'.' => {
                        has_point = true;
                        head.push(c);
                    }
                    b'p' | b'P' => {
                        tail.extend_from_slice(&bytes[i..]);
                        break;
                    }
                    b'e' | b'E' if verb != 'x' && verb != 'X' => {
                        tail.extend_from_slice(&bytes[i..]);
                        break;
                    }
                    _ => {
                        if c != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                        head.push(c);
                    }
                }
                i += 1;
            }
            if !has_point {
                if head.len() == 2 && head[1] == b'0' {
                    digits -= 1;
                }
                head.push(b'.');
            }
            while digits > 0 {
                head.push(b'0');
                digits -= 1;
            }
            head.extend_from_slice(&tail);
            num = String::from_utf8(head).unwrap_or_default();
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && !self.f.minus && self.f.wid_present && self.f.wid > num.len() {
                let sign = num.remove(0);
                self.buf.push(sign);
                let w = self.f.wid - num.len() - 1;
                self.write_padding(w);
                self.buf.push_str(&num);
                return;
            }
            self.pad(&num);
            return;
        }
        let rest = num[1..].to_string();
        self.pad(&rest);
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) if !v.is_nil() => {
                self.buf.push_str(&v.type_name());
                self.buf.push('=');
                self.print_value(v, 'v', 0);
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
        self.erroring = false;
    }

    fn print_arg(&mut self, arg: &Value, verb: char) {
        if arg.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, None),
            }
            return;
        }
        if verb == 'T' {
            let t = arg.type_name();
            self.fmt_s(&t);
            return;
        }
        if verb == 'p' {
            self.bad_verb(verb, Some(arg));
            return;
        }
        self.print_value(arg, verb, 0);
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Nil => {
                if depth == 0 {
                    self.print_arg(v, verb);
                } else if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Int(i) => match verb {
                'v' | 'd' => self.fmt_integer(*i, 10, verb, false),
                'b' => self.fmt_integer(*i, 2, verb, false),
                'o' | 'O' => self.fmt_integer(*i, 8, verb, false),
                'x' => self.fmt_integer(*i, 16, verb, false),
                'X' => self.fmt_integer(*i, 16, verb, true),
                'c' => self.fmt_c(*i),
                'q' => self.fmt_qc(*i),
                'U' => self.fmt_unicode(*i),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Float(x) => match verb {
                'v' => self.fmt_float(*x, 'g', -1),
                'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(*x, verb, -1),
                'f' | 'e' | 'E' | 'F' => self.fmt_float(*x, verb, 6),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::String(s) => match verb {
                'v' => {
                    if self.f.sharp_v {
                        self.fmt_q(s)
                    } else {
                        self.fmt_s(s)
                    }
                }
                's' => self.fmt_s(s),
                'x' => self.fmt_sx(s, false),
                'X' => self.fmt_sx(s, true),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::List(l) => {
                if depth > MAX_NESTING {
                    self.buf.push_str("[...]");
                    return;
                }
                let items = l.to_vec();
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push(']');
                }
            }
            Value::Map(m) => {
                if depth > MAX_NESTING {
                    self.buf.push_str("map[...]");
                    return;
                }
                let entries = m.entries();
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, val)) in entries.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    self.print_value(&Value::string(k.as_str()), verb, depth + 1);
                    self.buf.push(':');
                    self.print_value(val, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => {
                if !self.erroring
                    && !self.f.sharp_v
                    && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
                    && let Some(s) = o.string()
                {
                    self.print_value(&Value::from(s), verb, depth);
                    return;
                }
                if depth > MAX_NESTING {
                    self.buf.push_str("{...}");
                    return;
                }
                match o.value() {
                    Some(inner) => self.print_value(&inner, verb, depth + 1),
                    None => self.pad("{}"),
                }
            }
        }
    }

    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        if format.len() <= i || format[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        // Parse "[n]".
        let rest = &format[i..];
        let mut parsed: Option<(usize, usize, bool)> = None; // index, width, ok
        if rest.len() >= 3 {
            for j in 1..rest.len() {
                if rest[j] == b']' {
                    let (n, ok, newi) = parse_num(rest, 1, j);
                    if !ok || newi != j {
                        parsed = Some((0, j + 1, false));
                    } else {
                        parsed = Some((n.wrapping_sub(1), j + 1, true));
                    }
                    break;
                }
            }
        }
        let (index, wid, ok) = parsed.unwrap_or((0, 1, false));
        if ok && index < num_args {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
        let mut new_arg_num = arg_num;
        let mut num = 0i64;
        let mut is_int = false;
        if arg_num < args.len() {
            if let Value::Int(n) = args[arg_num] {
                num = n;
                is_int = true;
            }
            new_arg_num = arg_num + 1;
            if num.unsigned_abs() > TOO_LARGE as u64 {
                num = 0;
                is_int = false;
            }
        }
        (num, is_int, new_arg_num)
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0usize;
        'format: while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1; // skip %
            self.f = Flags::default();
            // Flags.
            while i < end {
                let c = fb[i];
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&args[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }
            // Argument index?
            (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, args.len());
            // Width.
            if i < end && fb[i] == b'*' {
                i += 1;
                let (w, ok, n) = Self::int_from_arg(args, arg_num);
                arg_num = n;
                self.f.wid_present = ok;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if w < 0 {
                    self.f.wid = w.unsigned_abs() as usize;
                    self.f.minus = true;
                    self.f.zero = false;
                } else {
                    self.f.wid = w as usize;
                }
                after_index = false;
            } else {
                let (w, ok, ni) = parse_num(fb, i, end);
                self.f.wid = w;
                self.f.wid_present = ok;
                i = ni;
                if after_index && self.f.wid_present {
                    self.good_arg_num = false;
                }
            }
            // Precision.
            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, args.len());
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (p, ok, n) = Self::int_from_arg(args, arg_num);
                    arg_num = n;
                    self.f.prec_present = ok;
                    if p < 0 {
                        self.f.prec = 0;
                        self.f.prec_present = false;
                    } else {
                        self.f.prec = p as usize;
                    }
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, ok, ni) = parse_num(fb, i, end);
                    self.f.prec = p;
                    self.f.prec_present = ok;
                    i = ni;
                    if !self.f.prec_present {
                        self.f.prec = 0;
                        self.f.prec_present = true;
                    }
                }
            }
            if !after_index {
                (arg_num, i, after_index) = self.arg_number(arg_num, fb, i, args.len());
            }
            let _ = after_index;
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if arg_num >= args.len() {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, arg) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{List, Map};

    fn f(format: &str, args: &[Value]) -> String {
        sprintf(format, args)
    }

    #[test]
    fn verbs() {
        assert_eq!(f("%v", &[Value::Float(1000000.0)]), "1e+06");
        assert_eq!(
            f("%d-%s", &["x".into(), 3.into()]),
            "%!d(string=x)-%!s(int=3)"
        );
        assert_eq!(f("%s", &[3.into()]), "%!s(int=3)");
        assert_eq!(f("%d", &[Value::Float(8080.0)]), "%!d(float64=8080)");
        assert_eq!(
            f("%5d|%-5d|%05d", &[42.into(), 42.into(), (-42).into()]),
            "   42|42   |-0042"
        );
        assert_eq!(
            f(
                "%x %X %o %O %b %#x %#o %#b",
                &[
                    255.into(),
                    255.into(),
                    8.into(),
                    8.into(),
                    5.into(),
                    255.into(),
                    8.into(),
                    5.into()
                ]
            ),
            "ff FF 10 0o10 101 0xff 010 0b101"
        );
        assert_eq!(f("%+d % d", &[5.into(), 5.into()]), "+5  5");
        assert_eq!(
            f(
                "%c %q %U %#U",
                &[65.into(), 65.into(), 0x263a.into(), 0x263a.into()]
            ),
            "A 'A' U+263A U+263A '☺'"
        );
        assert_eq!(f("%t %v", &[true.into(), false.into()]), "true false");
        assert_eq!(f("%q", &["a\"b".into()]), "\"a\\\"b\"");
        assert_eq!(f("%#q", &["abc".into()]), "`abc`");
        assert_eq!(f("%x % X", &["hi".into(), "hi".into()]), "6869 68 69");
        assert_eq!(
            f(
                "%.2f %8.3f %e %g",
                &[
                    3.14259_f64.into(),
                    3.14259_f64.into(),
                    1234.5678.into(),
                    0.00001234.into()
                ]
            ),
            "3.14    3.143 1.234568e+03 1.234e-05"
        );
        assert_eq!(
            f(
                "%.3s|%5s|%-5s|%05s",
                &["abcdef".into(), "ab".into(), "ab".into(), "ab".into()]
            ),
            "abc|   ab|ab   |000ab"
        );
        assert_eq!(
            f(
                "%T %T %T %T %T %T",
                &[
                    1.into(),
                    1.5.into(),
                    "s".into(),
                    true.into(),
                    Value::list(vec![]),
                    Value::new_map()
                ]
            ),
            "int float64 string bool []interface {} map[string]interface {}"
        );
        assert_eq!(f("%v %d", &[Value::Nil, Value::Nil]), "<nil> %!d(<nil>)");
        assert_eq!(f("100%%", &[]), "100%");
        assert_eq!(f("%d %d", &[1.into()]), "1 %!d(MISSING)");
        assert_eq!(
            f("%d", &[1.into(), "a".into(), Value::Nil]),
            "1%!(EXTRA string=a, <nil>)"
        );
        assert_eq!(f("%[2]d %[1]d", &[1.into(), 2.into()]), "2 1");
        assert_eq!(f("%[3]d", &[1.into()]), "%!d(BADINDEX)");
        assert_eq!(
            f("%*d|%-*d", &[5.into(), 1.into(), 3.into(), 2.into()]),
            "    1|2  "
        );
        assert_eq!(f("%.*f", &[2.into(), 1.0.into()]), "1.00");
        assert_eq!(f("%", &[]), "%!(NOVERB)");
        assert_eq!(f("%z", &[1.into()]), "%!z(int=1)");
        assert_eq!(
            f("%6.2f|%-8.3e|%+.1f", &[1.0.into(), 1.0.into(), 2.0.into()]),
            "  1.00|1.000e+00|+2.0"
        );
        assert_eq!(f("%#v %#v", &["a".into(), 1.into()]), "\"a\" 1");
        assert_eq!(f("%010.3f", &[(-3.5).into()]), "-00003.500");
    }

    #[test]
    fn composite() {
        let l: List = vec![Value::from(1), "a".into(), Value::Nil].into();
        assert_eq!(sprint(&[Value::List(l.clone())]), "[1 a <nil>]");
        assert_eq!(f("%d", &[Value::List(l)]), "[1 %!d(string=a) <nil>]");
        let m: Map = [("b", Value::from(2)), ("a", Value::from("x"))]
            .into_iter()
            .collect();
        assert_eq!(sprint(&[Value::Map(m.clone())]), "map[a:x b:2]");
        assert_eq!(
            f("%#v", &[Value::Map(m)]),
            "map[string]interface {}{\"a\":\"x\", \"b\":2}"
        );
    }

    #[test]
    fn print_spacing() {
        assert_eq!(sprint(&[1.into(), 2.into()]), "1 2");
        assert_eq!(
            sprint(&["a".into(), 1.into(), 2.into(), "b".into()]),
            "a1 2b"
        );
        assert_eq!(sprint(&["a".into(), "b".into()]), "ab");
        assert_eq!(sprintln(&["a".into(), "b".into(), 1.into()]), "a b 1\n");
        assert_eq!(sprint(&[Value::Nil]), "<nil>");
    }
}
