//! The lexer: text and actions, as Go's `text/template/parse` splits them.
//!
//! Trim markers (`{{- ` and ` -}}`, the space being any of space, tab, CR
//! or LF) remove all white space (space, tab, CR, LF) before or after the
//! action; comments are `{{/* … */}}` right against the delimiters (or the
//! trim markers).

use crate::strconv::quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Error,
    Bool,
    /// A printable ASCII character inside an action (`,` and the like).
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub typ: Tok,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl Item {
    /// As Go prints an item in "unexpected …" errors.
    pub fn describe(&self) -> String {
        match self.typ {
            Tok::Eof => "EOF".to_string(),
            Tok::Error => self.val.clone(),
            t if t.is_keyword() => format!("<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let short: String = self.val.chars().take(10).collect();
                    format!("{}...", quote(&short))
                } else {
                    quote(&self.val)
                }
            }
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "block" => Tok::Block,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "define" => Tok::Define,
        "else" => Tok::Else,
        "end" => Tok::End,
        "if" => Tok::If,
        "range" => Tok::Range,
        "nil" => Tok::Nil,
        "template" => Tok::Template,
        "with" => Tok::With,
        _ => return None,
    })
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    inside_action: bool,
    finished: bool,
    newlines: Vec<usize>,
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str) -> Lexer<'a> {
        let newlines = input
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Lexer {
            input,
            pos: 0,
            start: 0,
            paren_depth: 0,
            inside_action: false,
            finished: false,
            newlines,
        }
    }

    /// Lexes the whole input: items up to and including EOF or the first
    /// error.
    pub fn items(mut self) -> Vec<Item> {
        let mut out = Vec::new();
        loop {
            let item = self.next_item();
            let stop = matches!(item.typ, Tok::Eof | Tok::Error);
            out.push(item);
            if stop {
                return out;
            }
        }
    }

    fn line_at(&self, pos: usize) -> usize {
        1 + self.newlines.partition_point(|&n| n < pos)
    }

    fn item(&mut self, typ: Tok) -> Item {
        let it = Item {
            typ,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
            line: self.line_at(self.start),
        };
        self.start = self.pos;
        it
    }

    fn error(&mut self, msg: String) -> Item {
        self.finished = true;
        Item {
            typ: Tok::Error,
            pos: self.start,
            val: msg,
            line: self.line_at(self.pos),
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next_item(&mut self) -> Item {
        if self.finished {
            return Item {
                typ: Tok::Eof,
                pos: self.pos,
                val: String::new(),
                line: self.line_at(self.pos),
            };
        }
        if self.inside_action {
            self.lex_inside_action()
        } else {
            self.lex_text()
        }
    }

    fn lex_text(&mut self) -> Item {
        loop {
            match self.rest().find(LEFT) {
                Some(x) => {
                    let delim = self.pos + x;
                    if x > 0 {
                        let mut text_end = delim;
                        if has_left_trim(&self.input[delim + LEFT.len()..]) {
                            let text = &self.input[self.start..delim];
                            text_end =
                                self.start + text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                        }
                        self.pos = text_end;
                        let it = self.item(Tok::Text);
                        self.pos = delim;
                        self.start = delim;
                        if !it.val.is_empty() {
                            return it;
                        }
                    }
                    self.pos = delim;
                    self.start = delim;
                    // Left delimiter, maybe a comment.
                    let after_delim = delim + LEFT.len();
                    let trim = has_left_trim(&self.input[after_delim..]);
                    let after_marker = if trim { 2 } else { 0 };
                    if self.input[after_delim + after_marker..].starts_with(LEFT_COMMENT) {
                        self.pos = after_delim + after_marker + LEFT_COMMENT.len();
                        let Some(i) = self.rest().find(RIGHT_COMMENT) else {
                            return self.error("unclosed comment".to_string());
                        };
                        self.pos += i + RIGHT_COMMENT.len();
                        let (is_delim, trim_after) = self.at_right_delim();
                        if !is_delim {
                            return self.error("comment ends before closing delimiter".to_string());
                        }
                        if trim_after {
                            self.pos += 2;
                        }
                        self.pos += RIGHT.len();
                        if trim_after {
                            self.skip_space();
                        }
                        self.start = self.pos;
                        continue;
                    }
                    self.pos = after_delim;
                    let it = self.item(Tok::LeftDelim);
                    self.inside_action = true;
                    self.pos += after_marker;
                    self.start = self.pos;
                    self.paren_depth = 0;
                    return it;
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        return self.item(Tok::Text);
                    }
                    self.finished = true;
                    return self.item(Tok::Eof);
                }
            }
        }
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos += rest.len() - trimmed.len();
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        if rest.starts_with(RIGHT) {
            return (true, false);
        }
        (false, false)
    }

    fn lex_right_delim(&mut self) -> Item {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        let it = self.item(Tok::RightDelim);
        if trim {
            self.skip_space();
            self.start = self.pos;
        }
        self.inside_action = false;
        it
    }

    fn at_terminator(&self) -> bool {
        match self.peek_char() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_inside_action(&mut self) -> Item {
        let (is_delim, _) = self.at_right_delim();
        if is_delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim();
            }
            return self.error("unclosed left paren".to_string());
        }
        let Some(c) = self.next_char() else {
            return self.error("unclosed action".to_string());
        };
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                self.pos -= 1;
                let mut n = 0;
                while self
                    .peek_char()
                    .is_some_and(|c| c.is_ascii() && is_space(c as u8))
                {
                    self.pos += 1;
                    n += 1;
                }
                // A trim-marked right delimiter starts with a space.
                let back = &self.input[self.pos - 1..];
                if has_right_trim(back) && back[2..].starts_with(RIGHT) {
                    self.pos -= 1;
                    if n == 1 {
                        return self.lex_right_delim();
                    }
                }
                self.item(Tok::Space)
            }
            '=' => self.item(Tok::Assign),
            ':' => {
                if self.next_char() != Some('=') {
                    return self.error("expected :=".to_string());
                }
                self.item(Tok::Declare)
            }
            '|' => self.item(Tok::Pipe),
            '"' => loop {
                match self.next_char() {
                    Some('\\') => match self.next_char() {
                        None | Some('\n') => {
                            return self.error("unterminated quoted string".to_string());
                        }
                        _ => {}
                    },
                    None | Some('\n') => {
                        return self.error("unterminated quoted string".to_string());
                    }
                    Some('"') => return self.item(Tok::String),
                    _ => {}
                }
            },
            '`' => match self.rest().find('`') {
                Some(i) => {
                    self.pos += i + 1;
                    self.item(Tok::RawString)
                }
                None => {
                    self.finished = true;
                    Item {
                        typ: Tok::Error,
                        pos: self.start,
                        val: "unterminated raw quoted string".to_string(),
                        line: self.line_at(self.start),
                    }
                }
            },
            '$' => {
                if self.at_terminator() {
                    return self.item(Tok::Variable);
                }
                self.lex_field_or_variable(Tok::Variable)
            }
            '\'' => loop {
                match self.next_char() {
                    Some('\\') => match self.next_char() {
                        None | Some('\n') => {
                            return self.error("unterminated character constant".to_string());
                        }
                        _ => {}
                    },
                    None | Some('\n') => {
                        return self.error("unterminated character constant".to_string());
                    }
                    Some('\'') => return self.item(Tok::CharConstant),
                    _ => {}
                }
            },
            '.' if !self.peek_char().is_some_and(|c| c.is_ascii_digit()) => {
                self.lex_field_or_variable(Tok::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.pos -= c.len_utf8();
                self.lex_identifier()
            }
            '(' => {
                self.paren_depth += 1;
                self.item(Tok::LeftParen)
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".to_string());
                }
                self.item(Tok::RightParen)
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.item(Tok::Char),
            c => self.error(format!(
                "unrecognized character in action: {}",
                describe_rune(c)
            )),
        }
    }

    fn lex_identifier(&mut self) -> Item {
        while self.peek_char().is_some_and(is_alnum) {
            self.next_char();
        }
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or('\u{FFFD}');
            return self.error(format!("bad character {}", describe_rune(c)));
        }
        let word = &self.input[self.start..self.pos];
        let typ = if let Some(k) = keyword(word) {
            k
        } else if word == "true" || word == "false" {
            Tok::Bool
        } else {
            Tok::Identifier
        };
        self.item(typ)
    }

    fn lex_field_or_variable(&mut self, typ: Tok) -> Item {
        if self.at_terminator() {
            return self.item(if typ == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
        }
        while self.peek_char().is_some_and(is_alnum) {
            self.next_char();
        }
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or('\u{FFFD}');
            return self.error(format!("bad character {}", describe_rune(c)));
        }
        self.item(typ)
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek_char() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek_char().is_some_and(is_alnum) {
            self.next_char();
            return false;
        }
        true
    }

    fn lex_number(&mut self) -> Item {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", quote(&text)));
        }
        if matches!(self.peek_char(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.error(format!("bad number syntax: {}", quote(&text)));
            }
            return self.item(Tok::Complex);
        }
        self.item(Tok::Number)
    }
}

/// Go's `%#U`: `U+0041 'A'`.
fn describe_rune(c: char) -> String {
    if crate::strconv::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Tok, String)> {
        Lexer::new(s)
            .items()
            .into_iter()
            .map(|i| (i.typ, i.val))
            .collect()
    }

    #[test]
    fn trim_markers() {
        let t = toks("a  \n{{- .x -}}\n\t b");
        assert_eq!(
            t,
            vec![
                (Tok::Text, "a".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Field, ".x".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Text, "b".into()),
                (Tok::Eof, "".into()),
            ]
        );
        // Several spaces before the trim marker.
        let t = toks("{{ .x   -}} y");
        assert_eq!(t[3], (Tok::Space, "  ".into()));
        assert_eq!(t[4].0, Tok::RightDelim);
        assert_eq!(t[5], (Tok::Text, "y".into()));
    }

    #[test]
    fn comments() {
        assert_eq!(
            toks("a {{- /* c */ -}} b{{/* x */}}c"),
            vec![
                (Tok::Text, "a".into()),
                (Tok::Text, "b".into()),
                (Tok::Text, "c".into()),
                (Tok::Eof, "".into())
            ]
        );
        assert_eq!(
            toks("{{/* x */ }}").last().unwrap().1,
            "comment ends before closing delimiter"
        );
        assert_eq!(toks("{{/* x").last().unwrap().1, "unclosed comment");
    }

    #[test]
    fn numbers_and_words() {
        let t = toks("{{ -1 0x1F 1e3 'a' $x $ .a.b true nil else ( ) , := = | `r\\-` }}");
        let kinds: Vec<Tok> = t
            .iter()
            .filter(|(k, _)| *k != Tok::Space)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            kinds,
            vec![
                Tok::LeftDelim,
                Tok::Number,
                Tok::Number,
                Tok::Number,
                Tok::CharConstant,
                Tok::Variable,
                Tok::Variable,
                Tok::Field,
                Tok::Field,
                Tok::Bool,
                Tok::Nil,
                Tok::Else,
                Tok::LeftParen,
                Tok::RightParen,
                Tok::Char,
                Tok::Declare,
                Tok::Assign,
                Tok::Pipe,
                Tok::RawString,
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(toks("{{ .x").last().unwrap().1, "unclosed action");
        assert_eq!(
            toks("{{ \"abc }}").last().unwrap().1,
            "unterminated quoted string"
        );
        assert_eq!(
            toks("{{ `abc }}").last().unwrap().1,
            "unterminated raw quoted string"
        );
        assert_eq!(
            toks("{{ .x-}}").last().unwrap().1,
            "bad character U+002D '-'"
        );
        assert_eq!(toks("{{ ) }}").last().unwrap().1, "unexpected right paren");
        assert_eq!(toks("{{ ( }}").last().unwrap().1, "unclosed left paren");
        assert_eq!(
            toks("{{ 3k }}").last().unwrap().1,
            "bad number syntax: \"3k\""
        );
    }
}
