//! The parser: Go's `text/template/parse` grammar, checks and messages.

use std::rc::Rc;

use crate::error::Error;
use crate::lex::{Item, Lexer, Tok};
use crate::node::{Action, Arg, Branch, Command, Node, Pipe, TemplateCall, Tree, Var};
use crate::strconv::{parse_number, quote, unquote};

/// How deep parentheses and control structures may nest (Go allows 10000
/// parentheses natively, 1000 on wasm; the engine recurses on the stack, so
/// it keeps well below).
pub(crate) const MAX_NESTING: usize = 200;

type PResult<T> = Result<T, Error>;

enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> &'static str {
        match self {
            Parsed::End => "{{end}}",
            Parsed::Else => "{{else}}",
            Parsed::Node(_) => "node",
        }
    }
}

pub(crate) struct Parser<'a> {
    items: Vec<Item>,
    idx: usize,
    furthest: usize,
    name: Rc<str>,
    text: Rc<str>,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    nesting: usize,
    trees: Vec<Tree>,
}

/// Parses `text` under `name`: the top-level tree (named `name`) and every
/// `{{define}}`/`{{block}}` in it, in the order Go adds them.
pub(crate) fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Vec<Tree>> {
    let items = Lexer::new(text).items();
    let mut p = Parser {
        items,
        idx: 0,
        furthest: 0,
        name: Rc::from(name),
        text: Rc::from(text),
        has_func,
        vars: vec!["$".to_string()],
        range_depth: 0,
        action_line: 0,
        nesting: 0,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    let main = p.tree(name.to_string(), root);
    p.add(main)?;
    Ok(p.trees)
}

impl Parser<'_> {
    fn tree(&self, name: String, root: Vec<Node>) -> Tree {
        Tree {
            name: Rc::from(name),
            parse_name: self.name.clone(),
            text: self.text.clone(),
            root,
        }
    }

    fn item_at(&self, i: usize) -> &Item {
        let last = self.items.len() - 1;
        &self.items[i.min(last)]
    }

    fn next(&mut self) -> Item {
        let it = self.item_at(self.idx).clone();
        self.furthest = self.furthest.max(self.idx);
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item {
        self.furthest = self.furthest.max(self.idx);
        self.item_at(self.idx).clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl Into<String>) -> Error {
        let line = self.item_at(self.furthest).line;
        Error::parse(&self.name, line, msg)
    }

    fn unexpected(&self, token: &Item, context: &str) -> Error {
        if token.typ == Tok::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", token.val, extra));
        }
        self.errorf(format!("unexpected {} in {}", token.describe(), context))
    }

    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    /// Go's association rule inside one parse: an empty definition never
    /// replaces a non-empty one; two non-empty ones are an error.
    fn add(&mut self, tree: Tree) -> PResult<()> {
        match self.trees.iter().position(|t| t.name == tree.name) {
            None => self.trees.push(tree),
            Some(i) => {
                if self.trees[i].is_empty() {
                    self.trees[i] = tree;
                } else if !tree.is_empty() {
                    return Err(self.errorf(format!(
                        "template: multiple definition of template {}",
                        quote(&tree.name)
                    )));
                }
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                other => return Err(self.errorf(format!("unexpected {}", other.describe()))),
            }
        }
        Ok(root)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.nesting >= MAX_NESTING {
            return Err(self.errorf("max nesting depth exceeded"));
        }
        self.nesting += 1;
        let r = f(self);
        self.nesting -= 1;
        r
    }

    /// A new variable scope for a `define` or `block` body.
    fn in_new_scope<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let t = self.next_non_space();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, CONTEXT));
        }
        let name = unquote(&t.val).ok_or_else(|| self.errorf("invalid syntax"))?;
        self.expect(Tok::RightDelim, CONTEXT)?;
        let list = self.in_new_scope(|p| {
            let (list, end) = p.item_list()?;
            if !matches!(end, Parsed::End) {
                return Err(p.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
            }
            Ok(list)
        })?;
        let tree = self.tree(name, list);
        self.add(tree)
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            Tok::Text => Ok(Parsed::Node(Node::Text(t.val))),
            Tok::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        let node = match t.typ {
            Tok::Block => self.block_control()?,
            Tok::Break | Tok::Continue => {
                let what = if t.typ == Tok::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let next = self.next_non_space();
                if next.typ != Tok::RightDelim {
                    return Err(self.unexpected(&next, what));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{what} outside {{{{range}}}}")));
                }
                if t.typ == Tok::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Tok::Else => {
                let peek = self.peek_non_space();
                if peek.typ != Tok::If && peek.typ != Tok::With {
                    self.expect(Tok::RightDelim, "else")?;
                }
                return Ok(Parsed::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Tok::If => self.nested(|p| p.control("if")).map(Node::If)?,
            Tok::Range => self.nested(|p| p.control("range")).map(Node::Range)?,
            Tok::With => self.nested(|p| p.control("with")).map(Node::With)?,
            Tok::Template => {
                const CONTEXT: &str = "template clause";
                let tok = self.next_non_space();
                let name = self.template_name(&tok, CONTEXT)?;
                let pipe = if self.next_non_space().typ != Tok::RightDelim {
                    self.backup();
                    Some(self.pipeline(CONTEXT, Tok::RightDelim)?)
                } else {
                    None
                };
                Node::Template(TemplateCall {
                    pos: tok.pos,
                    name,
                    pipe,
                })
            }
            _ => {
                self.backup();
                let pos = self.peek().pos;
                let pipe = self.pipeline("command", Tok::RightDelim)?;
                Node::Action(Action { pos, pipe })
            }
        };
        Ok(Parsed::Node(node))
    }

    fn template_name(&self, tok: &Item, context: &str) -> PResult<String> {
        match tok.typ {
            Tok::String | Tok::RawString => {
                unquote(&tok.val).ok_or_else(|| self.errorf("invalid syntax"))
            }
            _ => Err(self.unexpected(tok, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let tok = self.next_non_space();
        let name = self.template_name(&tok, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        let list = self.nested(|p| {
            p.in_new_scope(|p| {
                let (list, end) = p.item_list()?;
                if !matches!(end, Parsed::End) {
                    return Err(p.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
                }
                Ok(list)
            })
        })?;
        let tree = self.tree(name.clone(), list);
        self.add(tree)?;
        Ok(Node::Template(TemplateCall {
            pos: tok.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let else_list = match next {
            Parsed::End => None,
            _ => {
                if context == "if" && self.peek().typ == Tok::If {
                    self.next();
                    Some(vec![self.nested(|p| p.control("if")).map(Node::If)?])
                } else if context == "with" && self.peek().typ == Tok::With {
                    self.next();
                    Some(vec![self.nested(|p| p.control("with")).map(Node::With)?])
                } else {
                    let (list, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {}", next.describe())));
                    }
                    Some(list)
                }
            }
        };
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            if self.peek_non_space().typ != Tok::Variable {
                break;
            }
            let save = self.idx;
            let v = self.next();
            let next = self.peek_non_space();
            match next.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.typ == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(Var {
                        pos: v.pos,
                        name: Rc::from(v.val.as_str()),
                        fields: Vec::new(),
                    });
                    self.vars.push(v.val);
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Var {
                        pos: v.pos,
                        name: Rc::from(v.val.as_str()),
                        fields: Vec::new(),
                    });
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = save,
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            if t.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.typ {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number { .. } | Arg::Str { .. }
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != Tok::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == Tok::Field {
            let f = self.next();
            fields.push(f.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable(mut v) => {
                v.fields.extend(fields);
                v.pos = pos;
                Arg::Variable(v)
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            Tok::Identifier => {
                if !(self.has_func)(&t.val) {
                    return Err(self.errorf(format!("function {} not defined", quote(&t.val))));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: t.val,
                }
            }
            Tok::Dot => Arg::Dot(t.pos),
            Tok::Nil => Arg::Nil(t.pos),
            Tok::Variable => {
                if !self.vars.contains(&t.val) {
                    return Err(self.errorf(format!("undefined variable {}", quote(&t.val))));
                }
                Arg::Variable(Var {
                    pos: t.pos,
                    name: Rc::from(t.val.as_str()),
                    fields: Vec::new(),
                })
            }
            Tok::Field => Arg::Field {
                pos: t.pos,
                idents: vec![t.val[1..].to_string()],
            },
            Tok::Bool => Arg::Bool(t.pos, t.val == "true"),
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                let value =
                    parse_number(&t.val, t.typ == Tok::CharConstant).map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos: t.pos,
                    text: t.val,
                    value,
                }
            }
            Tok::LeftParen => {
                let pipe =
                    self.nested(|p| p.pipeline("parenthesized pipeline", Tok::RightParen))?;
                Arg::Pipe(Box::new(pipe))
            }
            Tok::String | Tok::RawString => {
                let text = unquote(&t.val).ok_or_else(|| self.errorf("invalid syntax"))?;
                Arg::Str {
                    pos: t.pos,
                    quoted: t.val,
                    text: Rc::from(text),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
