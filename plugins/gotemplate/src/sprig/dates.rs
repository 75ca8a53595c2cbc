//! Dates, deterministic: `now` is the Unix epoch (1970-01-01T00:00:00Z)
//! and every zone is UTC. Layouts are Go's (`2006-01-02T15:04:05Z07:00`).

use super::{i_arg, reg, s_arg};
use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{Object, Value};

/// An instant, UTC (Go's `time.Time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    secs: i64,
    nanos: u32,
}

/// Go's zero time, 0001-01-01T00:00:00Z.
const ZERO_SECS: i64 = -62_135_596_800;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    weekday: usize,
    yday: u32,
}

impl Time {
    fn parts(&self) -> Parts {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            nanos: self.nanos,
            weekday: (days + 4).rem_euclid(7) as usize,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
        }
    }

    fn add_nanos(&self, d: i128) -> Time {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + d;
        Time {
            secs: total
                .div_euclid(1_000_000_000)
                .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// Go's `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        let p = self.parts();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            match next_chunk(rest) {
                Some((prefix, tok, after)) => {
                    out.push_str(prefix);
                    format_token(&mut out, tok, &p);
                    rest = after;
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// Numeric zone: `Z` allowed for UTC, with colons, with seconds, hours only.
    NumTz {
        z: bool,
        colon: bool,
        secs: bool,
        short: bool,
    },
    /// Fractional seconds: digits, trimmed of trailing zeros (`9`s).
    Frac {
        digits: usize,
        trim: bool,
    },
}

/// Go's `nextStdChunk`: the text before the next layout element, the
/// element, and the text after it.
fn next_chunk(l: &str) -> Option<(&str, Tok, &str)> {
    let b = l.as_bytes();
    for i in 0..b.len() {
        let s = &l[i..];
        let hit = |t: Tok, n: usize| Some((&l[..i], t, &l[i + n..]));
        match b[i] {
            b'J' if s.starts_with("Jan") => {
                if s.starts_with("January") {
                    return hit(Tok::LongMonth, 7);
                }
                if !s[3..].starts_with(|c: char| c.is_ascii_lowercase()) {
                    return hit(Tok::Month, 3);
                }
            }
            b'M' if s.starts_with("Mon") => {
                if s.starts_with("Monday") {
                    return hit(Tok::LongWeekDay, 6);
                }
                if !s[3..].starts_with(|c: char| c.is_ascii_lowercase()) {
                    return hit(Tok::WeekDay, 3);
                }
            }
            b'M' if s.starts_with("MST") => return hit(Tok::Tz, 3),
            b'0' if b.len() > i + 1 && (b'1'..=b'6').contains(&b[i + 1]) => {
                let t = [
                    Tok::ZeroMonth,
                    Tok::ZeroDay,
                    Tok::ZeroHour12,
                    Tok::ZeroMinute,
                    Tok::ZeroSecond,
                    Tok::Year,
                ][(b[i + 1] - b'1') as usize];
                return hit(t, 2);
            }
            b'0' if s.starts_with("002") => return hit(Tok::ZeroYearDay, 3),
            b'1' => {
                if s.starts_with("15") {
                    return hit(Tok::Hour, 2);
                }
                return hit(Tok::NumMonth, 1);
            }
            b'2' => {
                if s.starts_with("2006") {
                    return hit(Tok::LongYear, 4);
                }
                return hit(Tok::Day, 1);
            }
            b'_' if s.starts_with("_2") => {
                if s.starts_with("_2006") {
                    return Some((&l[..i + 1], Tok::LongYear, &l[i + 5..]));
                }
                return hit(Tok::UnderDay, 2);
            }
            b'_' if s.starts_with("__2") => return hit(Tok::UnderYearDay, 3),
            b'3' => return hit(Tok::Hour12, 1),
            b'4' => return hit(Tok::Minute, 1),
            b'5' => return hit(Tok::Second, 1),
            b'P' if s.starts_with("PM") => return hit(Tok::PM, 2),
            b'p' if s.starts_with("pm") => return hit(Tok::Pm, 2),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                for (pat, colon, secs, short) in [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ] {
                    if s[1..].starts_with(pat) {
                        return hit(
                            Tok::NumTz {
                                z,
                                colon,
                                secs,
                                short,
                            },
                            1 + pat.len(),
                        );
                    }
                }
            }
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if !(j < b.len() && b[j].is_ascii_digit()) {
                    let t = Tok::Frac {
                        digits: j - i - 1,
                        trim: ch == b'9',
                    };
                    return Some((&l[..i], t, &l[j..]));
                }
            }
            _ => {}
        }
    }
    None
}

fn format_token(out: &mut String, t: Tok, p: &Parts) {
    let h12 = if p.hour.is_multiple_of(12) {
        12
    } else {
        p.hour % 12
    };
    match t {
        Tok::LongMonth => out.push_str(MONTHS[p.month as usize - 1]),
        Tok::Month => out.push_str(&MONTHS[p.month as usize - 1][..3]),
        Tok::NumMonth => out.push_str(&p.month.to_string()),
        Tok::ZeroMonth => out.push_str(&format!("{:02}", p.month)),
        Tok::LongWeekDay => out.push_str(DAYS[p.weekday]),
        Tok::WeekDay => out.push_str(&DAYS[p.weekday][..3]),
        Tok::Day => out.push_str(&p.day.to_string()),
        Tok::UnderDay => out.push_str(&format!("{:>2}", p.day)),
        Tok::ZeroDay => out.push_str(&format!("{:02}", p.day)),
        Tok::UnderYearDay => out.push_str(&format!("{:>3}", p.yday)),
        Tok::ZeroYearDay => out.push_str(&format!("{:03}", p.yday)),
        Tok::Hour => out.push_str(&format!("{:02}", p.hour)),
        Tok::Hour12 => out.push_str(&h12.to_string()),
        Tok::ZeroHour12 => out.push_str(&format!("{h12:02}")),
        Tok::Minute => out.push_str(&p.min.to_string()),
        Tok::ZeroMinute => out.push_str(&format!("{:02}", p.min)),
        Tok::Second => out.push_str(&p.sec.to_string()),
        Tok::ZeroSecond => out.push_str(&format!("{:02}", p.sec)),
        Tok::LongYear => {
            if p.year < 0 {
                out.push_str(&format!("-{:04}", -p.year));
            } else {
                out.push_str(&format!("{:04}", p.year));
            }
        }
        Tok::Year => out.push_str(&format!("{:02}", p.year.rem_euclid(100))),
        Tok::PM => out.push_str(if p.hour >= 12 { "PM" } else { "AM" }),
        Tok::Pm => out.push_str(if p.hour >= 12 { "pm" } else { "am" }),
        Tok::Tz => out.push_str("UTC"),
        Tok::NumTz {
            z,
            colon,
            secs,
            short,
        } => {
            if z {
                out.push('Z');
            } else {
                out.push_str("+00");
                if !short {
                    out.push_str(if colon { ":00" } else { "00" });
                }
                if secs {
                    out.push_str(if colon { ":00" } else { "00" });
                }
            }
        }
        Tok::Frac { digits, trim } => {
            let d = format!("{:09}", p.nanos);
            let mut d = d[..digits.min(9)].to_string();
            if trim {
                while d.ends_with('0') {
                    d.pop();
                }
                if d.is_empty() {
                    return;
                }
            }
            out.push('.');
            out.push_str(&d);
        }
    }
}

fn bad(value: &str, layout: &str) -> Error {
    Error::new(format!(
        "parsing time {} as {}: cannot parse {} as {}",
        crate::strconv::quote(value),
        crate::strconv::quote(layout),
        crate::strconv::quote(value),
        crate::strconv::quote(layout)
    ))
}

fn take_num(v: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

/// Go's `time.Parse` (UTC), for the common layout elements.
pub fn parse(layout: &str, value: &str) -> Result<Time, Error> {
    let err = || bad(value, layout);
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset: i64 = 0;
    let (mut l, mut v) = (layout, value);
    loop {
        let Some((prefix, tok, after)) = next_chunk(l) else {
            if v != l {
                return Err(err());
            }
            break;
        };
        v = v.strip_prefix(prefix).ok_or_else(err)?;
        l = after;
        match tok {
            Tok::LongYear => {
                let (n, r) = take_num(v, 4, 4).ok_or_else(err)?;
                year = n as i64;
                v = r;
            }
            Tok::Year => {
                let (n, r) = take_num(v, 2, 2).ok_or_else(err)?;
                year = if n >= 69 {
                    1900 + n as i64
                } else {
                    2000 + n as i64
                };
                v = r;
            }
            Tok::LongMonth | Tok::Month => {
                let i = MONTHS
                    .iter()
                    .position(|m| {
                        let m = if tok == Tok::Month { &m[..3] } else { m };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    })
                    .ok_or_else(err)?;
                v = &v[if tok == Tok::Month {
                    3
                } else {
                    MONTHS[i].len()
                }..];
                month = i as u32 + 1;
            }
            Tok::LongWeekDay | Tok::WeekDay => {
                let i = DAYS
                    .iter()
                    .position(|d| {
                        let d = if tok == Tok::WeekDay { &d[..3] } else { d };
                        v.len() >= d.len() && v[..d.len()].eq_ignore_ascii_case(d)
                    })
                    .ok_or_else(err)?;
                v = &v[if tok == Tok::WeekDay {
                    3
                } else {
                    DAYS[i].len()
                }..];
            }
            Tok::NumMonth | Tok::ZeroMonth => {
                let (n, r) =
                    take_num(v, if tok == Tok::ZeroMonth { 2 } else { 1 }, 2).ok_or_else(err)?;
                month = n;
                v = r;
            }
            Tok::Day | Tok::ZeroDay | Tok::UnderDay => {
                if tok == Tok::UnderDay {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
                let (n, r) =
                    take_num(v, if tok == Tok::ZeroDay { 2 } else { 1 }, 2).ok_or_else(err)?;
                day = n;
                v = r;
            }
            Tok::UnderYearDay | Tok::ZeroYearDay => {
                let (_, r) = take_num(v.trim_start(), 1, 3).ok_or_else(err)?;
                v = r;
            }
            Tok::Hour | Tok::Hour12 | Tok::ZeroHour12 => {
                let (n, r) =
                    take_num(v, if tok == Tok::Hour12 { 1 } else { 2 }, 2).ok_or_else(err)?;
                hour = n;
                v = r;
            }
            Tok::Minute | Tok::ZeroMinute => {
                let (n, r) =
                    take_num(v, if tok == Tok::Minute { 1 } else { 2 }, 2).ok_or_else(err)?;
                min = n;
                v = r;
            }
            Tok::Second | Tok::ZeroSecond => {
                let (n, r) =
                    take_num(v, if tok == Tok::Second { 1 } else { 2 }, 2).ok_or_else(err)?;
                sec = n;
                v = r;
                // Go accepts fractional seconds after seconds even when the
                // layout has none.
                if let Some(rest) = v.strip_prefix('.')
                    && rest.starts_with(|c: char| c.is_ascii_digit())
                    && !matches!(next_chunk(l), Some(("", Tok::Frac { .. }, _)))
                {
                    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                    nanos = frac_nanos(&rest[..n]);
                    v = &rest[n..];
                }
            }
            Tok::Frac { digits, trim } => {
                if let Some(rest) = v.strip_prefix(['.', ',']) {
                    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                    if !trim && n != digits {
                        return Err(err());
                    }
                    nanos = frac_nanos(&rest[..n]);
                    v = &rest[n..];
                } else if !trim {
                    return Err(err());
                }
            }
            Tok::PM | Tok::Pm => {
                let s = v.get(..2).ok_or_else(err)?;
                pm = Some(match s.to_ascii_uppercase().as_str() {
                    "PM" => true,
                    "AM" => false,
                    _ => return Err(err()),
                });
                v = &v[2..];
            }
            Tok::Tz => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(err());
                }
                v = &v[n..];
            }
            Tok::NumTz {
                z,
                colon,
                secs,
                short,
            } => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                    continue;
                }
                let sign = match v.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(err()),
                };
                let (h, mut r) = take_num(&v[1..], 2, 2).ok_or_else(err)?;
                let mut m = 0;
                let mut s = 0;
                if !short {
                    if colon {
                        r = r.strip_prefix(':').ok_or_else(err)?;
                    }
                    let (x, rr) = take_num(r, 2, 2).ok_or_else(err)?;
                    m = x;
                    r = rr;
                    if secs {
                        if colon {
                            r = r.strip_prefix(':').ok_or_else(err)?;
                        }
                        let (x, rr) = take_num(r, 2, 2).ok_or_else(err)?;
                        s = x;
                        r = rr;
                    }
                }
                offset = sign * (h as i64 * 3600 + m as i64 * 60 + s as i64);
                v = r;
            }
        }
    }
    if let Some(pm) = pm {
        if hour > 12 {
            return Err(err());
        }
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    let month_days = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > month_days[month as usize - 1]
        || hour > 23
        || min > 59
        || sec > 59
    {
        return Err(Error::new(format!(
            "parsing time {}: value out of range",
            crate::strconv::quote(value)
        )));
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + hour as i64 * 3600
        + min as i64 * 60
        + sec as i64
        - offset;
    Ok(Time { secs, nanos })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn frac_nanos(d: &str) -> u32 {
    let mut s: String = d.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

/// Go's `Duration.String` (`1h2m3s`, `1.5s`, `500ms`, `0s`).
pub fn duration_string(d: i128) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let frac = |u: u128, prec: u32| -> (String, u128) {
        let mut digits = String::new();
        let mut v = u;
        let mut printed = false;
        for _ in 0..prec {
            let digit = v % 10;
            printed = printed || digit != 0;
            if printed {
                digits.insert(0, char::from(b'0' + digit as u8));
            }
            v /= 10;
        }
        if printed {
            digits.insert(0, '.');
        }
        (digits, v)
    };
    let mut out;
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (unit, prec) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        let (f, int) = frac(u, prec);
        out = format!("{int}{f}{unit}");
    } else {
        let (f, secs) = frac(u, 9);
        u = secs;
        out = format!("{}{f}s", u % 60);
        u /= 60;
        if u > 0 {
            out = format!("{}m{out}", u % 60);
            u /= 60;
            if u > 0 {
                out = format!("{u}h{out}");
            }
        }
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, Error> {
    let err = || {
        Error::new(format!(
            "time: invalid duration {}",
            crate::strconv::quote(s)
        ))
    };
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int: i128 = if n > 0 {
            rest[..n].parse().map_err(|_| err())?
        } else {
            0
        };
        rest = &rest[n..];
        let (mut frac, mut scale) = (0i128, 1i128);
        let mut m = 0;
        if let Some(r) = rest.strip_prefix('.') {
            m = r.bytes().take_while(u8::is_ascii_digit).count();
            for c in r[..m].bytes().take(18) {
                frac = frac * 10 + (c - b'0') as i128;
                scale *= 10;
            }
            rest = &r[m..];
        }
        if n == 0 && m == 0 {
            return Err(err());
        }
        let u = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit: i128 = match &rest[..u] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(Error::new(format!(
                    "time: missing unit in duration {}",
                    crate::strconv::quote(s)
                )));
            }
            other => {
                return Err(Error::new(format!(
                    "time: unknown unit {} in duration {}",
                    crate::strconv::quote(other),
                    crate::strconv::quote(s)
                )));
            }
        };
        rest = &rest[u..];
        total = total
            .checked_add(int.checked_mul(unit).ok_or_else(err)? + frac * unit / scale)
            .ok_or_else(err)?;
        if total > i64::MAX as i128 {
            return Err(err());
        }
    }
    Ok(if neg { -total } else { total })
}

impl Object for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }
    fn method_arity(&self, name: &str) -> Option<Arity> {
        match name {
            "Unix" | "UnixNano" | "UnixMilli" | "Year" | "Month" | "Day" | "Hour" | "Minute"
            | "Second" | "Nanosecond" | "YearDay" | "Weekday" | "UTC" | "Local" | "String"
            | "IsZero" => Some(Arity::Exact(0)),
            "Format" => Some(Arity::Exact(1)),
            _ => None,
        }
    }
    fn call_method(
        &self,
        _: &mut Context<'_>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, Error> {
        let p = self.parts();
        Ok(match name {
            "Unix" => Value::Int(self.secs),
            "UnixNano" => Value::Int(
                self.secs
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(self.nanos as i64),
            ),
            "UnixMilli" => Value::Int(
                self.secs
                    .wrapping_mul(1000)
                    .wrapping_add(self.nanos as i64 / 1_000_000),
            ),
            "Year" => Value::Int(p.year),
            "Month" => MONTHS[p.month as usize - 1].into(),
            "Day" => Value::Int(p.day as i64),
            "Hour" => Value::Int(p.hour as i64),
            "Minute" => Value::Int(p.min as i64),
            "Second" => Value::Int(p.sec as i64),
            "Nanosecond" => Value::Int(p.nanos as i64),
            "YearDay" => Value::Int(p.yday as i64),
            "Weekday" => DAYS[p.weekday].into(),
            "UTC" | "Local" => Value::object(*self),
            "IsZero" => Value::Bool(self.secs == ZERO_SECS && self.nanos == 0),
            "Format" => self.format(s_arg(&args[0])?).into(),
            _ => self.go_string().into(),
        })
    }
    fn string(&self) -> Option<String> {
        Some(self.go_string())
    }
    fn value(&self) -> Option<Value> {
        Some(self.format("2006-01-02T15:04:05.999999999Z07:00").into())
    }
}

impl Time {
    fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

/// A `time.Time` argument, or a Unix time in seconds; anything else is
/// `now`.
fn time_of(v: &Value) -> Time {
    match v {
        Value::Object(o) => o.downcast_ref::<Time>().copied().unwrap_or(NOW),
        Value::Int(i) => Time { secs: *i, nanos: 0 },
        _ => NOW,
    }
}

fn time_arg(v: &Value) -> Result<Time, Error> {
    match v {
        Value::Object(o) => o
            .downcast_ref::<Time>()
            .copied()
            .ok_or_else(|| Error::arg_type("time.Time", v)),
        other => Err(Error::arg_type("time.Time", other)),
    }
}

const NOW: Time = Time { secs: 0, nanos: 0 };

pub(super) fn register(t: &mut Templates) {
    use Arity::Exact;
    reg(t, "now", Exact(0), |_| Ok(Value::object(NOW)));
    reg(t, "date", Exact(2), |a| {
        Ok(time_of(&a[1]).format(s_arg(&a[0])?).into())
    });
    for name in ["dateInZone", "date_in_zone"] {
        reg(t, name, Exact(3), |a| {
            s_arg(&a[2])?;
            Ok(time_of(&a[1]).format(s_arg(&a[0])?).into())
        });
    }
    reg(t, "htmlDate", Exact(1), |a| {
        Ok(time_of(&a[0]).format("2006-01-02").into())
    });
    reg(t, "htmlDateInZone", Exact(2), |a| {
        s_arg(&a[1])?;
        Ok(time_of(&a[0]).format("2006-01-02").into())
    });
    reg(t, "toDate", Exact(2), |a| {
        Ok(Value::object(
            parse(s_arg(&a[0])?, s_arg(&a[1])?).unwrap_or(Time {
                secs: ZERO_SECS,
                nanos: 0,
            }),
        ))
    });
    reg(t, "mustToDate", Exact(2), |a| {
        Ok(Value::object(parse(s_arg(&a[0])?, s_arg(&a[1])?)?))
    });
    reg(t, "unixEpoch", Exact(1), |a| {
        Ok(time_arg(&a[0])?.secs.to_string().into())
    });
    for name in ["dateModify", "date_modify"] {
        reg(t, name, Exact(2), |a| {
            let base = time_arg(&a[1])?;
            Ok(Value::object(match parse_duration(s_arg(&a[0])?) {
                Ok(d) => base.add_nanos(d),
                Err(_) => base,
            }))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        reg(t, name, Exact(2), |a| {
            let base = time_arg(&a[1])?;
            Ok(Value::object(
                base.add_nanos(parse_duration(s_arg(&a[0])?)?),
            ))
        });
    }
    reg(t, "ago", Exact(1), |a| {
        let then = time_of(&a[0]);
        let d = (NOW.secs as i128 - then.secs as i128) * 1_000_000_000 - then.nanos as i128;
        let rounded = if d >= 0 {
            (d + 500_000_000) / 1_000_000_000
        } else {
            (d - 500_000_000) / 1_000_000_000
        };
        Ok(duration_string(rounded * 1_000_000_000).into())
    });
    reg(t, "duration", Exact(1), |a| {
        let n: i64 = match &a[0] {
            Value::String(s) => super::conversion::parse_int(s, 10).unwrap_or(0),
            Value::Int(i) => *i,
            _ => 0,
        };
        Ok(duration_string(n as i128 * 1_000_000_000).into())
    });
    reg(t, "durationRound", Exact(1), |a| {
        let d: i128 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int(i) => *i as i128,
            Value::Object(o) => match o.downcast_ref::<Time>() {
                Some(t) => (NOW.secs as i128 - t.secs as i128) * 1_000_000_000,
                None => 0,
            },
            _ => 0,
        };
        let u = d.unsigned_abs();
        const S: u128 = 1_000_000_000;
        let units: [(u128, &str); 6] = [
            (S * 3600 * 24 * 365, "y"),
            (S * 3600 * 24 * 30, "mo"),
            (S * 3600 * 24, "d"),
            (S * 3600, "h"),
            (S * 60, "m"),
            (S, "s"),
        ];
        for (size, name) in units {
            if u > size {
                return Ok(format!("{}{name}", u / size).into());
            }
        }
        Ok("0s".into())
    });
    let _ = i_arg;
}
