//! The executor: walks parse trees as Go's `text/template` does, and the
//! [`Context`] functions get.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;

use crate::error::{Error, ErrorKind, Location};
use crate::funcs::{Arity, Special};
use crate::gofmt::{format_value, sprint};
use crate::node::{Arg, Branch, Command, Node, Pipe, TemplateCall, Tree, Var};
use crate::strconv::{Number, quote};
use crate::template::Templates;
use crate::value::{Object, Value};

/// What a function can do with the execution it is called from: reach the
/// template set, render a named template or a string of template text into
/// a `String` (what Helm's `include` and `tpl` do), see the nesting depth,
/// and keep state for the length of one execution.
pub struct Context<'a> {
    host: &'a mut (dyn Host + 'a),
    template: Rc<str>,
}

impl Context<'_> {
    /// The template set.
    pub fn templates(&self) -> &Templates {
        self.host.templates()
    }

    /// The name of the template executing the call (a `{{define}}`'s name
    /// inside one).
    pub fn template_name(&self) -> &str {
        &self.template
    }

    /// The name of the template the execution started with (the file).
    pub fn root_template_name(&self) -> &str {
        self.host.root_name()
    }

    /// How many templates are nested at the call (`template`, `include`,
    /// `tpl`; 1 in the template execution started with).
    pub fn depth(&self) -> usize {
        self.host.depth()
    }

    /// Whether `name` is a template this execution can run (the set's, and
    /// those defined by the `tpl` texts being executed).
    pub fn has_template(&self, name: &str) -> bool {
        self.host.lookup(name).is_some()
    }

    /// Executes the template `name` with `data` as dot and `$`, and returns
    /// what it printed (Helm's `include`). An unknown name is Go's error
    /// `template: no template "x" associated with template "SET"`; nesting
    /// deeper than [`crate::Limits::max_depth`] is an error.
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        self.host.execute_named(name, data)
    }

    /// Parses `text` with the set's functions as a template named `name`,
    /// executes it with `data`, and returns what it printed (Helm's `tpl`).
    /// The `{{define}}`s in `text` are visible to the templates run during
    /// this execution only, as Helm runs `tpl` on a clone of the set. Parse
    /// errors and execution errors name `name` and lines of `text`.
    pub fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error> {
        self.host.execute_text(name, text, data)
    }

    /// State of type `T` kept for the length of the execution (from the
    /// call of [`Templates::execute`] to its return), created with
    /// `T::default()` on first use. Helm's `include` counts its nesting per
    /// template name here.
    pub fn state<T: Default + 'static>(&mut self) -> &mut T {
        let slot = self
            .host
            .locals()
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        match slot.downcast_mut::<T>() {
            Some(t) => t,
            None => unreachable!("state slot holds its own type"),
        }
    }
}

pub(crate) trait Host {
    fn templates(&self) -> &Templates;
    fn root_name(&self) -> &str;
    fn depth(&self) -> usize;
    fn lookup(&self, name: &str) -> Option<Rc<Tree>>;
    fn execute_named(&mut self, name: &str, data: Value) -> Result<String, Error>;
    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error>;
    fn locals(&mut self) -> &mut HashMap<TypeId, Box<dyn Any>>;
}

/// A value with what Go knows of its static type: `iface` is true for a
/// value read out of a map or list element (Go's `interface{}`), where a
/// nil can't have fields evaluated (`nil pointer evaluating interface {}.x`).
#[derive(Clone)]
struct Slot {
    v: Value,
    iface: bool,
}

impl Slot {
    fn val(v: Value) -> Slot {
        Slot { v, iface: false }
    }

    fn elem(v: Value) -> Slot {
        Slot { v, iface: true }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Frame {
    tree: Rc<Tree>,
    vars: Vec<(Rc<str>, Slot)>,
    out: String,
}

pub(crate) struct Exec<'t> {
    set: &'t Templates,
    root: Rc<str>,
    overlays: Vec<HashMap<String, Rc<Tree>>>,
    depth: usize,
    steps: u64,
    iterations: u64,
    output: u64,
    locals: HashMap<TypeId, Box<dyn Any>>,
}

type R<T> = Result<T, Error>;

impl<'t> Exec<'t> {
    pub(crate) fn new(set: &'t Templates, root: &str) -> Exec<'t> {
        Exec {
            set,
            root: Rc::from(root),
            overlays: Vec::new(),
            depth: 0,
            steps: 0,
            iterations: 0,
            output: 0,
            locals: HashMap::new(),
        }
    }

    /// Runs a template with `data` as dot and `$`, into a new string.
    pub(crate) fn run_tree(&mut self, tree: Rc<Tree>, data: Value) -> R<String> {
        let max = self.set.limits().max_depth;
        if self.depth >= max {
            return Err(Error::limit(format!(
                "exceeded maximum template depth ({max})"
            )));
        }
        let dot = Slot::val(data);
        let mut f = Frame {
            tree: tree.clone(),
            vars: vec![(Rc::from("$"), dot.clone())],
            out: String::new(),
        };
        self.depth += 1;
        let r = self.walk_list(&mut f, &dot, &tree.root);
        self.depth -= 1;
        r?;
        Ok(f.out)
    }

    fn find(&self, name: &str) -> Option<Rc<Tree>> {
        for o in self.overlays.iter().rev() {
            if let Some(t) = o.get(name) {
                return Some(t.clone());
            }
        }
        self.set.tree(name)
    }

    #[cold]
    #[inline(never)]
    fn err(&self, f: &Frame, pos: usize, context: &dyn Display, detail: String) -> Error {
        self.err_kind(f, pos, context, ErrorKind::Exec, detail, None)
    }

    #[cold]
    #[inline(never)]
    fn err_kind(
        &self,
        f: &Frame,
        pos: usize,
        context: &dyn Display,
        kind: ErrorKind,
        detail: String,
        cause: Option<Error>,
    ) -> Error {
        let (line, col) = f.tree.line_col(pos);
        Error::exec(
            kind,
            Location {
                template: f.tree.name.to_string(),
                file: f.tree.parse_name.to_string(),
                line,
                column: Some(col),
                context: Some(context.to_string()),
            },
            detail,
            cause,
        )
    }

    fn step(&mut self, f: &Frame, pos: usize, context: &dyn Display) -> R<()> {
        self.steps += 1;
        let max = self.set.limits().max_steps;
        if self.steps > max {
            return Err(self.err_kind(
                f,
                pos,
                context,
                ErrorKind::Limit,
                format!("execution step limit exceeded ({max})"),
                None,
            ));
        }
        Ok(())
    }

    fn write(&mut self, f: &mut Frame, s: &str, pos: usize, context: &dyn Display) -> R<()> {
        self.output += s.len() as u64;
        let max = self.set.limits().max_output_bytes;
        if self.output > max {
            return Err(self.err_kind(
                f,
                pos,
                context,
                ErrorKind::Limit,
                format!("output size limit exceeded ({max} bytes)"),
                None,
            ));
        }
        f.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, f: &mut Frame, dot: &Slot, list: &[Node]) -> R<Flow> {
        for n in list {
            match self.walk(f, dot, n)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, f: &mut Frame, dot: &Slot, node: &Node) -> R<Flow> {
        match node {
            Node::Text(t) => {
                self.write(f, t, 0, &"")?;
            }
            Node::Action(a) => {
                self.step(f, a.pos, node)?;
                let v = self.eval_pipeline(f, dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    match &v {
                        Value::Nil => self.write(f, self.set.nil_text(), a.pos, node)?,
                        Value::String(s) => self.write(f, s, a.pos, node)?,
                        other => {
                            let s = sprint(std::slice::from_ref(other));
                            self.write(f, &s, a.pos, node)?;
                        }
                    }
                }
            }
            Node::If(b) => return self.walk_if_with(f, dot, b, false),
            Node::With(b) => return self.walk_if_with(f, dot, b, true),
            Node::Range(b) => return self.walk_range(f, dot, b, node),
            Node::Template(t) => self.walk_template(f, dot, t, node)?,
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    #[inline(never)]
    fn walk_if_with(&mut self, f: &mut Frame, dot: &Slot, b: &Branch, with: bool) -> R<Flow> {
        let mark = f.vars.len();
        let val = self.eval_pipeline(f, dot, &b.pipe)?;
        let flow = if val.is_truthy() {
            if with {
                let d = Slot::val(val);
                self.walk_list(f, &d, &b.list)?
            } else {
                self.walk_list(f, dot, &b.list)?
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(f, dot, e)?
        } else {
            Flow::Normal
        };
        f.vars.truncate(mark);
        Ok(flow)
    }

    #[inline(never)]
    fn walk_range(&mut self, f: &mut Frame, dot: &Slot, r: &Branch, node: &Node) -> R<Flow> {
        let mark = f.vars.len();
        let mut val = self.eval_pipeline(f, dot, &r.pipe)?;
        if let Value::Object(o) = &val
            && let Some(inner) = o.value()
        {
            val = inner;
        }
        let inner = f.vars.len();
        let mut ran = false;
        match &val {
            Value::Int(n) => {
                if r.pipe.decl.len() > 1 {
                    return Err(self.err(
                        f,
                        r.pos,
                        node,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    ran = true;
                    let flow = self.one_iteration(
                        f,
                        r,
                        node,
                        inner,
                        Slot::val(Value::Nil),
                        Slot::val(Value::Int(i)),
                    )?;
                    if matches!(flow, Flow::Break) {
                        break;
                    }
                }
            }
            Value::List(l) => {
                let items = l.to_vec();
                for (i, item) in items.into_iter().enumerate() {
                    ran = true;
                    let flow = self.one_iteration(
                        f,
                        r,
                        node,
                        inner,
                        Slot::val(Value::Int(i as i64)),
                        Slot::elem(item),
                    )?;
                    if matches!(flow, Flow::Break) {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                for (k, v) in m.entries() {
                    ran = true;
                    let flow = self.one_iteration(
                        f,
                        r,
                        node,
                        inner,
                        Slot::val(Value::from(k)),
                        Slot::elem(v),
                    )?;
                    if matches!(flow, Flow::Break) {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return Err(self.err(
                    f,
                    r.pos,
                    node,
                    format!("range can't iterate over {}", format_value(other, 'v')),
                ));
            }
        }
        let mut flow = Flow::Normal;
        if !ran && let Some(e) = &r.else_list {
            flow = self.walk_list(f, dot, e)?;
        }
        f.vars.truncate(mark);
        Ok(flow)
    }

    #[inline(never)]
    fn one_iteration(
        &mut self,
        f: &mut Frame,
        r: &Branch,
        node: &Node,
        mark: usize,
        index: Slot,
        elem: Slot,
    ) -> R<Flow> {
        self.iterations += 1;
        let max = self.set.limits().max_range_iterations;
        if self.iterations > max {
            return Err(self.err_kind(
                f,
                r.pos,
                node,
                ErrorKind::Limit,
                format!("range iteration limit exceeded ({max})"),
                None,
            ));
        }
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                let first = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(f, &decl[0], first, &r.pipe)?;
            } else {
                let n = f.vars.len();
                f.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(f, &decl[1], elem.clone(), &r.pipe)?;
            } else {
                let n = f.vars.len();
                f.vars[n - 2].1 = index;
            }
        }
        let flow = self.walk_list(f, &elem, &r.list)?;
        f.vars.truncate(mark);
        Ok(flow)
    }

    #[inline(never)]
    fn walk_template(&mut self, f: &mut Frame, dot: &Slot, t: &TemplateCall, node: &Node) -> R<()> {
        self.step(f, t.pos, node)?;
        let Some(tree) = self.find(&t.name) else {
            return Err(self.err(
                f,
                t.pos,
                node,
                format!("template {} not defined", quote(&t.name)),
            ));
        };
        let max = self.set.limits().max_depth;
        if self.depth >= max {
            return Err(self.err_kind(
                f,
                t.pos,
                node,
                ErrorKind::Limit,
                format!("exceeded maximum template depth ({max})"),
                None,
            ));
        }
        let data = match &t.pipe {
            Some(p) => self.eval_pipeline(f, dot, p)?,
            None => Value::Nil,
        };
        let newdot = Slot::val(data);
        let mut nf = Frame {
            tree: tree.clone(),
            vars: vec![(Rc::from("$"), newdot.clone())],
            out: std::mem::take(&mut f.out),
        };
        self.depth += 1;
        let r = self.walk_list(&mut nf, &newdot, &tree.root);
        self.depth -= 1;
        f.out = nf.out;
        r.map(|_| ())
    }

    fn set_var(&mut self, f: &mut Frame, var: &Var, value: Slot, ctx: &dyn Display) -> R<()> {
        for (name, slot) in f.vars.iter_mut().rev() {
            if **name == *var.name {
                *slot = value;
                return Ok(());
            }
        }
        Err(self.err(f, var.pos, ctx, format!("undefined variable: {}", var.name)))
    }

    fn var_value(&self, f: &Frame, var: &Var, ctx: &dyn Display) -> R<Slot> {
        for (name, slot) in f.vars.iter().rev() {
            if **name == *var.name {
                return Ok(slot.clone());
            }
        }
        Err(self.err(f, var.pos, ctx, format!("undefined variable: {}", var.name)))
    }

    fn eval_pipeline(&mut self, f: &mut Frame, dot: &Slot, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(f, dot, cmd, value)?.v);
        }
        let value = value.unwrap_or(Value::Nil);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(f, var, Slot::val(value.clone()), pipe)?;
            } else {
                f.vars.push((var.name.clone(), Slot::val(value.clone())));
            }
        }
        Ok(value)
    }

    #[cold]
    #[inline(never)]
    fn not_a_function(&self, f: &Frame, args: &[Arg], has_final: bool) -> R<()> {
        if args.len() > 1 || has_final {
            return Err(self.err(
                f,
                args[0].pos(),
                &args[0],
                format!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        cmd: &Command,
        fin: Option<Value>,
    ) -> R<Slot> {
        self.step(f, cmd.pos, cmd)?;
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match first {
            Arg::Field { idents, .. } => {
                self.eval_field_chain(f, dot, dot.clone(), first, idents, rest, fin)
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Nil(_) = **node {
                    return Err(self.err(
                        f,
                        first.pos(),
                        first,
                        format!("indirection through explicit nil in {first}"),
                    ));
                }
                let recv = self.eval_arg(f, dot, node)?;
                self.eval_field_chain(f, dot, Slot::val(recv), first, fields, rest, fin)
            }
            Arg::Identifier { name, .. } => self
                .eval_function(f, dot, first, name, Some(cmd), rest, fin)
                .map(Slot::val),
            Arg::Pipe(p) => {
                self.not_a_function(f, &cmd.args, fin.is_some())?;
                self.eval_pipeline(f, dot, p).map(Slot::val)
            }
            Arg::Variable(v) => self.eval_variable(f, dot, first, v, rest, fin),
            _ => {
                self.not_a_function(f, &cmd.args, fin.is_some())?;
                match first {
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(pos) => {
                        Err(self.err(f, *pos, first, "nil is not a command".to_string()))
                    }
                    other => self.constant(f, other).map(Slot::val),
                }
            }
        }
    }

    fn constant(&self, f: &Frame, arg: &Arg) -> R<Value> {
        Ok(match arg {
            Arg::Bool(_, b) => Value::Bool(*b),
            Arg::Str { text, .. } => Value::String(text.clone()),
            Arg::Number { pos, text, value } => match value {
                Number::Int(i) => Value::Int(*i),
                Number::Float(x) => Value::Float(*x),
                Number::Uint(_) => {
                    return Err(self.err(f, *pos, arg, format!("{text} overflows int")));
                }
            },
            _ => Value::Nil,
        })
    }

    /// Evaluates an argument of a function call.
    fn eval_arg(&mut self, f: &mut Frame, dot: &Slot, arg: &Arg) -> R<Value> {
        match arg {
            Arg::Dot(_) => Ok(dot.v.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Field { idents, .. } => Ok(self
                .eval_field_chain(f, dot, dot.clone(), arg, idents, &[], None)?
                .v),
            Arg::Variable(v) => Ok(self.eval_variable(f, dot, arg, v, &[], None)?.v),
            Arg::Pipe(p) => self.eval_pipeline(f, dot, p),
            Arg::Identifier { name, .. } => self.eval_function(f, dot, arg, name, None, &[], None),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Nil(_) = **node {
                    return Err(self.err(
                        f,
                        arg.pos(),
                        arg,
                        format!("indirection through explicit nil in {arg}"),
                    ));
                }
                let recv = self.eval_arg(f, dot, node)?;
                Ok(self
                    .eval_field_chain(f, dot, Slot::val(recv), arg, fields, &[], None)?
                    .v)
            }
            other => self.constant(f, other),
        }
    }

    fn eval_variable(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        node: &Arg,
        v: &Var,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Slot> {
        let value = self.var_value(f, v, node)?;
        if v.fields.is_empty() {
            if !args.is_empty() || fin.is_some() {
                return Err(self.err(
                    f,
                    node.pos(),
                    node,
                    format!("can't give argument to non-function {node}"),
                ));
            }
            return Ok(value);
        }
        self.eval_field_chain(f, dot, value, node, &v.fields, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        receiver: Slot,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Slot> {
        let n = idents.len();
        let mut recv = receiver;
        for id in &idents[..n - 1] {
            recv = self.eval_field(f, dot, id, node, &[], None, recv)?;
        }
        self.eval_field(f, dot, &idents[n - 1], node, args, fin, recv)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        name: &str,
        node: &Arg,
        args: &[Arg],
        fin: Option<Value>,
        recv: Slot,
    ) -> R<Slot> {
        let has_args = !args.is_empty() || fin.is_some();
        match &recv.v {
            Value::Nil => {
                if recv.iface && !self.set.lenient_nil_fields() {
                    return Err(self.err(
                        f,
                        node.pos(),
                        node,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ));
                }
                return Ok(Slot::val(Value::Nil));
            }
            Value::Object(o) => {
                if let Some(arity) = o.method_arity(name) {
                    let o = o.clone();
                    return self
                        .call_method(f, dot, &o, name, arity, node, args, fin)
                        .map(Slot::val);
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.err(
                            f,
                            node.pos(),
                            node,
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    return Ok(Slot::val(v));
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        f,
                        node.pos(),
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                return Ok(Slot::elem(m.get(name).unwrap_or(Value::Nil)));
            }
            _ => {}
        }
        let typ = if recv.iface {
            "interface {}".to_string()
        } else {
            recv.v.type_name()
        };
        Err(self.err(
            f,
            node.pos(),
            node,
            format!("can't evaluate field {name} in type {typ}"),
        ))
    }

    fn eval_args(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Vec<Value>> {
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.eval_arg(f, dot, a)?);
        }
        if let Some(x) = fin {
            argv.push(x);
        }
        Ok(argv)
    }

    #[cold]
    #[inline(never)]
    fn wrap_call_error(
        &self,
        f: &Frame,
        pos: usize,
        ctx: &dyn Display,
        name: &str,
        e: Error,
    ) -> Error {
        match e.kind() {
            ErrorKind::ArgType => self.err(f, pos, ctx, e.detail().to_string()),
            _ => {
                let kind = if e.kind() == ErrorKind::Limit {
                    ErrorKind::Limit
                } else {
                    ErrorKind::Exec
                };
                self.err_kind(
                    f,
                    pos,
                    ctx,
                    kind,
                    format!("error calling {name}: {e}"),
                    Some(e),
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn call_method(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        o: &Rc<dyn Object>,
        name: &str,
        arity: Arity,
        node: &Arg,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let total = args.len() + usize::from(fin.is_some());
        arity
            .check(name, args.len(), total)
            .map_err(|m| self.err(f, node.pos(), node, m))?;
        let argv = self.eval_args(f, dot, args, fin)?;
        let result = {
            let mut ctx = Context {
                template: f.tree.name.clone(),
                host: self,
            };
            o.call_method(&mut ctx, name, argv)
        };
        result.map_err(|e| self.wrap_call_error(f, node.pos(), node, name, e))
    }

    /// Go's `call` needs a function value, which no template value is.
    #[cold]
    #[inline(never)]
    fn call_error(
        &self,
        f: &Frame,
        pos: usize,
        ctx: &dyn Display,
        args: &[Arg],
        argv: &[Value],
    ) -> Error {
        let callee = args.first().map(|a| a.to_string()).unwrap_or_default();
        let e = match argv.first() {
            None | Some(Value::Nil) => Error::new("call of nil"),
            Some(v) => Error::new(format!("non-function {callee} of type {}", v.type_name())),
        };
        self.wrap_call_error(f, pos, ctx, "call", e)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        f: &mut Frame,
        dot: &Slot,
        node: &Arg,
        name: &str,
        cmd: Option<&Command>,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(func) = self.set.func(name).cloned() else {
            return Err(self.err(
                f,
                node.pos(),
                node,
                format!("{} is not a defined function", quote(name)),
            ));
        };
        let total = args.len() + usize::from(fin.is_some());
        func.arity
            .check(name, args.len(), total)
            .map_err(|m| self.err(f, node.pos(), node, m))?;
        let (pos, ctx_node): (usize, &dyn Display) = match cmd {
            Some(c) => (c.pos, c),
            None => (node.pos(), node),
        };
        match func.special {
            Special::And | Special::Or => {
                let is_or = func.special == Special::Or;
                let mut v = Value::Nil;
                for a in args {
                    v = self.eval_arg(f, dot, a)?;
                    if v.is_truthy() == is_or {
                        return Ok(v);
                    }
                }
                if let Some(x) = fin {
                    v = x;
                }
                return Ok(v);
            }
            Special::Call => {
                let argv = self.eval_args(f, dot, args, fin)?;
                return Err(self.call_error(f, pos, ctx_node, args, &argv));
            }
            Special::None => {}
        }
        let argv = self.eval_args(f, dot, args, fin)?;
        let result = {
            let mut ctx = Context {
                template: f.tree.name.clone(),
                host: self,
            };
            (func.imp)(&mut ctx, argv)
        };
        result.map_err(|e| self.wrap_call_error(f, pos, ctx_node, name, e))
    }
}

impl Host for Exec<'_> {
    fn templates(&self) -> &Templates {
        self.set
    }

    fn root_name(&self) -> &str {
        &self.root
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        self.find(name)
    }

    fn execute_named(&mut self, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = self.find(name) else {
            return Err(Error::exec_plain(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(self.set.name())
            )));
        };
        self.run_tree(tree, data)
    }

    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error> {
        let trees = self.set.parse_trees(name, text)?;
        let mut main = None;
        let mut overlay = HashMap::new();
        for t in trees {
            if *t.name == *name && main.is_none() {
                main = Some(Rc::new(t));
            } else if !(t.is_empty() && self.find(&t.name).is_some()) {
                overlay.insert(t.name.to_string(), Rc::new(t));
            }
        }
        let Some(main) = main else {
            return Ok(String::new());
        };
        self.overlays.push(overlay);
        let r = self.run_tree(main, data);
        self.overlays.pop();
        r
    }

    fn locals(&mut self) -> &mut HashMap<TypeId, Box<dyn Any>> {
        &mut self.locals
    }
}
