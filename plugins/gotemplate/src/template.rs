//! The template set: functions, parsed templates, limits, and execution.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::Error;
use crate::exec::{Context, Exec};
use crate::funcs::{Arity, Function, builtins};
use crate::node::Tree;
use crate::parse;
use crate::value::Value;

/// Bounds on one execution (one call of [`Templates::execute`], nested
/// `template`, `include` and `tpl` calls included), so that a hostile chart
/// ends with an error instead of running forever or exhausting memory.
/// Each is far above what real charts need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Templates nested by `template`, `block`, `include` and `tpl`
    /// (default 1000, Helm's bound on `include` recursion and Go's on wasm).
    ///
    /// Each level costs stack. Measured in an optimised build: about
    /// 0.5 KiB per `template` level, 2 KiB per `include` level and 4 KiB
    /// per `include` or `tpl` nested in `if`/`with`/`range` (unoptimised
    /// builds take four times as much). Real charts nest a few dozen levels
    /// at most, but reaching this limit by runaway recursion takes up to
    /// about 4 MiB of stack: a wasm32-wasip2 component has 1 MiB unless
    /// linked with more (`-C link-arg=-zstack-size=…`), and running out
    /// traps instead of returning this error. Give the plugin 8 MiB, or
    /// lower this limit.
    pub max_depth: usize,
    /// Actions, commands and template calls evaluated (default 50 million).
    pub max_steps: u64,
    /// `range` iterations, all loops together (default 10 million).
    pub max_range_iterations: u64,
    /// Bytes written, the output of nested `include`/`tpl` calls counted as
    /// they are produced (default 128 MiB).
    pub max_output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1000,
            max_steps: 50_000_000,
            max_range_iterations: 10_000_000,
            max_output_bytes: 128 << 20,
        }
    }
}

/// A set of templates sharing one function table: Go's `*template.Template`
/// with its associated templates.
///
/// Every template parsed into the set and every `{{define}}`/`{{block}}` in
/// them is visible to all others (`template`, `include`). When a name is
/// defined again by a later [`Templates::parse`], the later definition
/// wins, unless it is empty (white space and comments only), as in Go;
/// Helm relies on this by parsing subcharts' files before their parents'.
/// Within one text, two non-empty definitions of a name are Go's error
/// "multiple definition of template".
///
/// Cloning is cheap (parsed templates and functions are shared) and gives
/// an independent set: parsing into or registering in the clone does not
/// change the original.
#[derive(Clone)]
pub struct Templates {
    name: String,
    funcs: HashMap<String, Function>,
    trees: HashMap<String, Rc<Tree>>,
    limits: Limits,
    nil_text: String,
    lenient_nil_fields: bool,
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::new()
    }
}

impl Templates {
    /// An empty set with Go's builtin functions, named `""`.
    pub fn new() -> Templates {
        Templates::named("")
    }

    /// An empty set with Go's builtin functions. The name appears in
    /// "no template "x" associated with template "NAME"" (Helm's is
    /// `gotpl`).
    pub fn named(name: &str) -> Templates {
        Templates {
            name: name.to_string(),
            funcs: builtins(),
            trees: HashMap::new(),
            limits: Limits::default(),
            nil_text: String::new(),
            lenient_nil_fields: false,
        }
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers a function (replacing one of the same name, builtins
    /// included). Register functions before parsing: as in Go, a template
    /// that names an unknown function does not parse ("function "x" not
    /// defined").
    ///
    /// The function receives the evaluated arguments (the piped value
    /// last), already checked against `arity` with Go's message ("wrong
    /// number of args for x: want 2 got 1"). An error it returns is
    /// reported as `error calling x: …` at the call, with the template's
    /// name, line and column; [`Error::arg_type`] is reported as Go reports
    /// an argument of the wrong type.
    pub fn add_func<F>(&mut self, name: &str, arity: Arity, f: F) -> &mut Templates
    where
        F: Fn(&mut Context<'_>, Vec<Value>) -> Result<Value, Error> + 'static,
    {
        self.funcs.insert(name.to_string(), Function::new(arity, f));
        self
    }

    /// Registers an already built [`Function`].
    pub fn add_function(&mut self, name: &str, f: Function) -> &mut Templates {
        self.funcs.insert(name.to_string(), f);
        self
    }

    /// Whether a function of that name is registered (builtins included).
    pub fn has_func(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    pub(crate) fn func(&self, name: &str) -> Option<&Function> {
        self.funcs.get(name)
    }

    /// Parses `text` as the template `name` (Helm: the file's path) and adds
    /// it and its `{{define}}`s and `{{block}}`s to the set. On error,
    /// nothing is added.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let trees = self.parse_trees(name, text)?;
        for t in trees {
            let keep_old = t.is_empty() && self.trees.contains_key(&*t.name);
            if !keep_old {
                self.trees.insert(t.name.to_string(), Rc::new(t));
            }
        }
        Ok(())
    }

    pub(crate) fn parse_trees(&self, name: &str, text: &str) -> Result<Vec<Tree>, Error> {
        parse::parse(name, text, &|f: &str| self.funcs.contains_key(f))
    }

    /// Executes the template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.tree(name) else {
            return Err(Error::exec_plain(format!(
                "template: no template {} associated with template {}",
                crate::strconv::quote(name),
                crate::strconv::quote(&self.name)
            )));
        };
        Exec::new(self, name).run_tree(tree, data.clone())
    }

    /// Whether a template of that name is defined.
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The template of that name.
    pub fn lookup(&self, name: &str) -> Option<&Tree> {
        self.trees.get(name).map(|t| &**t)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<Rc<Tree>> {
        self.trees.get(name).cloned()
    }

    /// The names of all templates, sorted.
    pub fn template_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.trees.keys().cloned().collect();
        v.sort();
        v
    }

    /// The execution limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the execution limits.
    pub fn set_limits(&mut self, limits: Limits) -> &mut Templates {
        self.limits = limits;
        self
    }

    /// What an action prints for nil (a missing key, a YAML null). Go prints
    /// `<no value>` and Helm removes every `<no value>` from its output, so
    /// the default is the empty string; set `"<no value>"` for Go's exact
    /// output.
    pub fn set_nil_text(&mut self, text: &str) -> &mut Templates {
        self.nil_text = text.to_string();
        self
    }

    pub(crate) fn nil_text(&self) -> &str {
        &self.nil_text
    }

    /// Go (and so Helm) fails on a field of a nil read out of a map or list
    /// (`.Values.missing.key` is "nil pointer evaluating interface {}.key"),
    /// while a field of a nil variable or of a nil dot is nil. With `true`,
    /// those fields are nil too instead of an error.
    pub fn set_lenient_nil_fields(&mut self, lenient: bool) -> &mut Templates {
        self.lenient_nil_fields = lenient;
        self
    }

    pub(crate) fn lenient_nil_fields(&self) -> bool {
        self.lenient_nil_fields
    }
}
