//! Go's `strconv` as templates need it: quoting and unquoting Go literals,
//! number literals, and `FormatFloat` (the shortest representation that
//! makes `1000000.0` print as `1e+06`).

/// Go's `strconv.Quote`: a double-quoted Go string literal, non-printable
/// characters escaped (`\n`, `\x00`, `\u00a0`).
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// Go's `strconv.QuoteToASCII`: like [`quote`], every non-ASCII character
/// escaped (`"\u65e5"`).
pub fn quote_to_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

/// Go's `strconv.QuoteRune`: a single-quoted character literal; an invalid
/// code point becomes U+FFFD.
pub fn quote_rune(r: i64, ascii_only: bool) -> String {
    let c = u32::try_from(r)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}');
    let mut out = String::from('\'');
    escape_char(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

fn quote_with(s: &str, q: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        escape_char(&mut out, c, q, ascii_only);
    }
    out.push(q);
    out
}

fn escape_char(out: &mut String, c: char, q: char, ascii_only: bool) {
    if c == q || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.CanBackquote`: whether `s` can be written as a raw string
/// (no back quote, no control character but tab, no BOM).
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
}

/// Go's `unicode.IsPrint`, approximated without Unicode tables: letters,
/// marks, numbers, punctuation, symbols and the ASCII space are printable;
/// controls, other spaces, format characters, private use, surrogates and
/// noncharacters are not. (Unassigned code points other than noncharacters
/// are taken as printable.)
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_chars: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        // private use
        (0xE000, 0xF8FF),
        (0xF0000, 0x10FFFF),
        // noncharacters
        (0xFDD0, 0xFDEF),
    ];
    if format_chars.iter().any(|&(lo, hi)| (lo..=hi).contains(&u)) {
        return false;
    }
    (u & 0xFFFE) != 0xFFFE
}

/// Go's `strconv.Unquote` for the two string literal forms a template has:
/// `"…"` with Go escapes, and `` `…` `` raw (carriage returns dropped,
/// nothing else touched). `None` is Go's "invalid syntax".
pub fn unquote(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return None;
    }
    let q = bytes[0];
    if bytes[bytes.len() - 1] != q {
        return None;
    }
    let body = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        b'"' => {
            let mut out: Vec<u8> = Vec::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                let (unit, tail) = unquote_char(rest, '"')?;
                match unit {
                    Unit::Char(c) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Unit::Byte(b) => out.push(b),
                }
                rest = tail;
            }
            Some(match String::from_utf8(out) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        }
        _ => None,
    }
}

/// One decoded unit of a quoted literal: a character, or a byte from a
/// `\x`/octal escape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.UnquoteChar`: decodes the first character or escape of
/// `s`, inside a literal quoted with `q`.
pub(crate) fn unquote_char(s: &str, q: char) -> Option<(Unit, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == q && (q == '\'' || q == '"') {
        return None;
    }
    if c == '\n' && q == '"' {
        return None;
    }
    if c != '\\' {
        return Some((Unit::Char(c), chars.as_str()));
    }
    let rest = chars.as_str();
    let e = rest.chars().next()?;
    let after = &rest[e.len_utf8()..];
    let simple = |ch: char| Some((Unit::Char(ch), after));
    match e {
        'a' => simple('\x07'),
        'b' => simple('\x08'),
        'f' => simple('\x0c'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\x0b'),
        '\\' => simple('\\'),
        '\'' | '"' => {
            if e != q {
                return None;
            }
            simple(e)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if after.len() < n || !after.is_char_boundary(n) {
                return None;
            }
            let v = u32::from_str_radix(&after[..n], 16).ok()?;
            if !after[..n].bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let tail = &after[n..];
            if e == 'x' {
                if q == '\'' {
                    return Some((Unit::Char(char::from_u32(v)?), tail));
                }
                return Some((Unit::Byte(v as u8), tail));
            }
            Some((Unit::Char(char::from_u32(v)?), tail))
        }
        '0'..='7' => {
            if rest.len() < 3 || !rest.is_char_boundary(3) {
                return None;
            }
            let digits = &rest[..3];
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            let tail = &rest[3..];
            if q == '\'' {
                return Some((Unit::Char(char::from_u32(v)?), tail));
            }
            Some((Unit::Byte(v as u8), tail))
        }
        _ => None,
    }
}

/// A number literal of a template, typed as Go types an untyped constant
/// with no context: floats when written with `.`, `e` or `p` (not in a hex
/// integer), ints otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
    /// An integer that only fits `uint64`: an error when used ("overflows int").
    Uint(u64),
}

/// Parses a template number literal as Go's parser does; the error is the
/// message Go gives.
pub(crate) fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        let inner = &text[1..];
        let (unit, tail) = unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = match unit {
            Unit::Char(c) => c as i64,
            Unit::Byte(b) => b as i64,
        };
        return Ok(Number::Int(v));
    }
    if text.ends_with('i') {
        return Err(format!(
            "complex constants are not supported: {}",
            quote(text)
        ));
    }
    let int = parse_int(text);
    let hex_int = {
        let t = text.trim_start_matches(['+', '-']);
        t.len() > 2 && (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P'])
    };
    let floaty = !hex_int && text.contains(['.', 'e', 'E', 'p', 'P']);
    if !floaty && let Some((neg, mag)) = int {
        if !neg && mag > i64::MAX as u64 {
            return Ok(Number::Uint(mag));
        }
        if !neg || mag <= (i64::MAX as u64) + 1 {
            let v = if neg {
                (mag as i128).wrapping_neg() as i64
            } else {
                mag as i64
            };
            return Ok(Number::Int(v));
        }
    }
    match parse_float(text) {
        // Reads as a float but is written as an integer: too large.
        Some(_) if !floaty => Err(format!("integer overflow: {}", quote(text))),
        Some(f) => Ok(Number::Float(f)),
        None => Err(format!("illegal number syntax: {}", quote(text))),
    }
}

/// Go's rule for `_` in number literals: only between digits, or between a
/// base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1], b'b' | b'B' | b'o' | b'O' | b'x' | b'X') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseInt(s, 0, 64)`/`ParseUint` syntax: sign, base prefix
/// (`0x`, `0o`, `0b`, or a leading `0` for octal), `_` separators. Returns
/// the sign and the magnitude.
fn parse_int(text: &str) -> Option<(bool, u64)> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    if body.contains('_') && !underscore_ok(text) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok().map(|m| (neg, m))
}

/// Go's `strconv.ParseFloat(s, 64)` for the literals a template can hold
/// (decimal and hexadecimal, `_` separators).
fn parse_float(text: &str) -> Option<f64> {
    if text.contains('_') && !underscore_ok(text) {
        return None;
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first()? {
        b'-' => (true, &clean[1..]),
        b'+' => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        let (mant, exp) = hex.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut v = 0f64;
        for c in int_part.chars().chain(frac_part.chars()) {
            v = v * 16.0 + c.to_digit(16)? as f64;
        }
        v * 2f64.powi(exp - 4 * frac_part.len() as i32)
    } else {
        if !lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Decimal digits of a float: `digits` (no leading or trailing zeros except
/// for zero, where it is empty) and the decimal point position `dp`
/// (value = 0.d1d2… × 10^dp).
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

fn parse_sci(s: &str) -> Digits {
    // `s` is Rust's `{:e}` output for a non-negative finite float: "1.25e-7".
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d.iter().all(|&b| b == b'0') {
        return Digits {
            d: Vec::new(),
            dp: 0,
        };
    }
    Digits { d, dp: exp + 1 }
}

fn shortest_digits(v: f64) -> Digits {
    parse_sci(&format!("{:e}", v.abs()))
}

fn fixed_digits(v: f64, n: usize) -> Digits {
    // n significant digits, correctly rounded.
    parse_sci(&format!("{:.*e}", n.saturating_sub(1), v.abs()))
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` in `e E f F g G b
/// x X`; `prec < 0` is the shortest representation that reads back exactly.
pub fn format_float(v: f64, fmt: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let neg = v.is_sign_negative();
    let mut out = String::new();
    match fmt {
        'b' => {
            let bits = v.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            let e = if exp == 0 {
                -1074
            } else {
                mant |= 1u64 << 52;
                exp - 1075
            };
            if neg {
                out.push('-');
            }
            out.push_str(&mant.to_string());
            out.push('p');
            if e >= 0 {
                out.push('+');
            }
            out.push_str(&e.to_string());
            return out;
        }
        'x' | 'X' => return format_hex_float(v, fmt, prec),
        _ => {}
    }
    let shortest = prec < 0;
    if neg {
        out.push('-');
    }
    match fmt {
        'f' | 'F' => {
            if shortest {
                let digs = shortest_digits(v);
                let p = (digs.d.len() as i32 - digs.dp).max(0);
                fmt_f(&mut out, &digs, p);
            } else {
                out.push_str(&format!("{:.*}", prec as usize, v.abs()));
            }
        }
        'e' | 'E' => {
            let (digs, p) = if shortest {
                let digs = shortest_digits(v);
                let p = (digs.d.len() as i32 - 1).max(0);
                (digs, p)
            } else {
                (fixed_digits(v, prec as usize + 1), prec)
            };
            fmt_e(&mut out, &digs, p, fmt);
        }
        'g' | 'G' => {
            let mut p = prec;
            let digs = if shortest {
                let d = shortest_digits(v);
                p = d.d.len() as i32;
                d
            } else {
                if p == 0 {
                    p = 1;
                }
                fixed_digits(v, p as usize)
            };
            let nd = digs.d.len() as i32;
            let mut eprec = p;
            if eprec > nd && nd >= digs.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = digs.dp - 1;
            let e = if fmt == 'g' { 'e' } else { 'E' };
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, &digs, (p - 1).max(0), e);
            } else {
                if p > digs.dp {
                    p = nd;
                }
                fmt_f(&mut out, &digs, (p - digs.dp).max(0));
            }
        }
        _ => {
            // Go prints %<fmt> for an unknown format.
            out.push('%');
            out.push(fmt);
        }
    }
    out
}

fn digit_at(d: &Digits, i: i32) -> u8 {
    if i >= 0 && (i as usize) < d.d.len() {
        d.d[i as usize]
    } else {
        b'0'
    }
}

/// An exponent as Go writes it: its sign, then at least two digits.
fn push_exponent(out: &mut String, exp: i32) {
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_e(out: &mut String, d: &Digits, prec: i32, e: char) {
    out.push(digit_at(d, 0) as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(d, i) as char);
        }
    }
    out.push(e);
    push_exponent(out, if d.d.is_empty() { 0 } else { d.dp - 1 });
}

fn fmt_f(out: &mut String, d: &Digits, prec: i32) {
    if d.dp > 0 {
        for i in 0..d.dp {
            out.push(digit_at(d, i) as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(d, d.dp + i - 1) as char);
        }
    }
}

/// `%x`/`%X` of a float: `-0x1.23abcp+20`.
fn format_hex_float(v: f64, fmt: char, prec: i32) -> String {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // mant has the leading 1 (if any) at bit 60.
    let (mut mant, mut exp) = if biased == 0 {
        (frac, -1022)
    } else {
        (frac | (1u64 << 52), biased - 1023)
    };
    if mant == 0 {
        exp = 0;
    }
    mant <<= 8;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > (1u64 << 59) {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let digits: &[u8] = if fmt == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(fmt);
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(digits[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(digits[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    push_exponent(&mut out, exp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g() {
        assert_eq!(format_float(1000000.0, 'g', -1), "1e+06");
        assert_eq!(format_float(100000.0, 'g', -1), "100000");
        assert_eq!(format_float(1.5, 'g', -1), "1.5");
        assert_eq!(format_float(3.0, 'g', -1), "3");
        assert_eq!(format_float(1e21, 'g', -1), "1e+21");
        assert_eq!(format_float(0.000001, 'g', -1), "1e-06");
        assert_eq!(format_float(0.0001, 'g', -1), "0.0001");
        assert_eq!(format_float(0.0, 'g', -1), "0");
        assert_eq!(format_float(-0.0, 'g', -1), "-0");
        assert_eq!(format_float(123456789.0, 'g', -1), "1.23456789e+08");
        assert_eq!(format_float(1234.5678e3, 'g', -1), "1.2345678e+06");
        assert_eq!(format_float(-1e-9, 'g', -1), "-1e-09");
        assert_eq!(format_float(0.1 + 0.2, 'g', -1), "0.30000000000000004");
        assert_eq!(format_float(1e100, 'g', -1), "1e+100");
    }

    #[test]
    fn fixed() {
        assert_eq!(format_float(1.0, 'e', 6), "1.000000e+00");
        assert_eq!(format_float(1234.5678e3, 'e', 6), "1.234568e+06");
        assert_eq!(format_float(1234.5678e-8, 'f', 6), "0.000012");
        assert_eq!(format_float(-1e-9, 'f', 6), "-0.000000");
        assert_eq!(format_float(1.0, 'g', 3), "1");
        assert_eq!(format_float(100000.0, 'g', 4), "1e+05");
        assert_eq!(format_float(1234.5678, 'g', 3), "1.23e+03");
        assert_eq!(format_float(0.0, 'e', 3), "0.000e+00");
        assert_eq!(format_float(2.5, 'f', 0), "2");
        assert_eq!(format_float(1.0, 'b', -1), "4503599627370496p-52");
        assert_eq!(format_float(1.0, 'x', 3), "0x1.000p+00");
        assert_eq!(format_float(123.0, 'x', 4), "0x1.ec00p+06");
        assert_eq!(format_float(0.0, 'x', 3), "0x0.000p+00");
        assert_eq!(format_float(1.0, 'x', -1), "0x1p+00");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote("a\"b\\c\n\x00\u{a0}é"),
            "\"a\\\"b\\\\c\\n\\x00\\u00a0é\""
        );
        assert_eq!(quote_to_ascii("日本"), "\"\\u65e5\\u672c\"");
        assert_eq!(quote_rune('x' as i64, false), "'x'");
        assert_eq!(quote_rune('\'' as i64, false), "'\\''");
        assert_eq!(quote_rune(-1, false), "'\u{FFFD}'");
        assert_eq!(quote("\u{10ffff}"), "\"\\U0010ffff\"");
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\tb\x41\u00e9\101\"""#).unwrap(), "a\tbAéA\"");
        assert_eq!(unquote(r"`\-\d`").unwrap(), r"\-\d");
        assert_eq!(unquote("`a\r\nb`").unwrap(), "a\nb");
        assert!(unquote(r#""\q""#).is_none());
        assert!(unquote(r#""\'""#).is_none());
        assert!(unquote("\"a\nb\"").is_none());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42", false), Ok(Number::Int(42)));
        assert_eq!(parse_number("-42", false), Ok(Number::Int(-42)));
        assert_eq!(parse_number("0x1F", false), Ok(Number::Int(31)));
        assert_eq!(parse_number("0x1e", false), Ok(Number::Int(30)));
        assert_eq!(parse_number("0o17", false), Ok(Number::Int(15)));
        assert_eq!(parse_number("017", false), Ok(Number::Int(15)));
        assert_eq!(parse_number("0b101", false), Ok(Number::Int(5)));
        assert_eq!(parse_number("1_000", false), Ok(Number::Int(1000)));
        assert_eq!(parse_number("1.5", false), Ok(Number::Float(1.5)));
        assert_eq!(parse_number(".5", false), Ok(Number::Float(0.5)));
        assert_eq!(parse_number("1e3", false), Ok(Number::Float(1000.0)));
        assert_eq!(parse_number("1.0", false), Ok(Number::Float(1.0)));
        assert_eq!(parse_number("0x1p-2", false), Ok(Number::Float(0.25)));
        assert_eq!(parse_number("'a'", true), Ok(Number::Int(97)));
        assert_eq!(parse_number("'\\n'", true), Ok(Number::Int(10)));
        assert_eq!(
            parse_number("18446744073709551615", false),
            Ok(Number::Uint(u64::MAX))
        );
        assert_eq!(
            parse_number("089", false),
            Err("integer overflow: \"089\"".to_string())
        );
        assert_eq!(
            parse_number("-", false),
            Err("illegal number syntax: \"-\"".to_string())
        );
        assert!(parse_number("1__0", false).is_err());
    }
}
