//! Errors, worded as Go's `text/template` words them.

use std::fmt;

use crate::value::Value;

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A template did not parse: `template: NAME:LINE: message`.
    Parse,
    /// Execution failed at a node:
    /// `template: NAME:LINE:COL: executing "NAME" at <node>: message`,
    /// or with no node (`template: no template "x" associated with …`).
    Exec,
    /// A function (or method) returned this error; the executor wraps it as
    /// `error calling NAME: message` at the call.
    Function,
    /// A function refused an argument's type; the executor reports it as Go
    /// does when a value does not fit a parameter (no `error calling`).
    ArgType,
    /// An execution limit was reached (see [`crate::Limits`]).
    Limit,
}

/// Where an error happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The name of the template being executed (`executing "NAME"`); for a
    /// parse error, the name being parsed.
    pub template: String,
    /// The name the text was parsed under (the file: `{{define}}`s keep the
    /// name of the file they are in).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 0-based byte column, as Go prints it (execution errors only).
    pub column: Option<usize>,
    /// The node being executed, as Go prints it (`.Values.x`,
    /// `include "x" .`); execution errors only.
    pub context: Option<String>,
}

/// A parse or execution error.
///
/// It is one pointer wide, so that results stay small on the executor's
/// (recursive) stack.
#[derive(Clone, Debug)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug)]
struct Inner {
    kind: ErrorKind,
    detail: String,
    text: String,
    location: Option<Location>,
    cause: Option<Error>,
}

impl Error {
    /// An error for a function to return: the executor reports it as
    /// `error calling NAME: msg`, with the template, line and column.
    pub fn new(msg: impl Into<String>) -> Error {
        let msg = msg.into();
        Error(Box::new(Inner {
            kind: ErrorKind::Function,
            detail: msg.clone(),
            text: msg,
            location: None,
            cause: None,
        }))
    }

    /// A function's refusal of an argument of the wrong type, worded as Go's
    /// own check: `wrong type for value; expected string; got int`
    /// (`invalid value; expected string` for nil).
    pub fn arg_type(expected: &str, got: &Value) -> Error {
        let msg = if got.is_nil() {
            format!("invalid value; expected {expected}")
        } else {
            format!(
                "wrong type for value; expected {expected}; got {}",
                got.type_name()
            )
        };
        Error::new(msg).with_kind(ErrorKind::ArgType)
    }

    /// A function error that wraps another: its text is `msg: cause` (as
    /// Go's `fmt.Errorf("msg: %w", cause)` and `errors.Wrap` read) and
    /// [`Error::cause`] leads to `cause`, so the location where things went
    /// wrong inside a nested template stays reachable.
    pub fn wrap(msg: impl Into<String>, cause: Error) -> Error {
        let msg = msg.into();
        let text = format!("{msg}: {cause}");
        Error(Box::new(Inner {
            kind: ErrorKind::Function,
            detail: text.clone(),
            text,
            location: None,
            cause: Some(cause),
        }))
    }

    /// A limit error with no location (the executor adds one when the error
    /// passes a call).
    pub(crate) fn limit(msg: impl Into<String>) -> Error {
        Error::new(msg).with_kind(ErrorKind::Limit)
    }

    fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.0.kind = kind;
        self
    }

    pub(crate) fn parse(name: &str, line: usize, msg: impl Into<String>) -> Error {
        let detail = msg.into();
        Error(Box::new(Inner {
            kind: ErrorKind::Parse,
            text: format!("template: {name}:{line}: {detail}"),
            detail,
            location: Some(Location {
                template: name.to_string(),
                file: name.to_string(),
                line,
                column: None,
                context: None,
            }),
            cause: None,
        }))
    }

    pub(crate) fn exec(
        kind: ErrorKind,
        location: Location,
        detail: String,
        cause: Option<Error>,
    ) -> Error {
        let text = format!(
            "template: {}:{}:{}: executing {} at <{}>: {}",
            location.file,
            location.line,
            location.column.unwrap_or(0),
            crate::strconv::quote(&location.template),
            location.context.as_deref().unwrap_or(""),
            detail
        );
        Error(Box::new(Inner {
            kind,
            detail,
            text,
            location: Some(location),
            cause,
        }))
    }

    /// An execution error with no node, its text complete
    /// (`template: no template "x" associated with template "y"`).
    pub(crate) fn exec_plain(text: String) -> Error {
        Error(Box::new(Inner {
            kind: ErrorKind::Exec,
            detail: text.clone(),
            text,
            location: None,
            cause: None,
        }))
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message without the `template: NAME:LINE:COL: executing … at <…>:`
    /// prefix (for a wrapped function error, `error calling f: …` and the
    /// function's own message).
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// Where it happened, if known.
    pub fn location(&self) -> Option<&Location> {
        self.0.location.as_ref()
    }

    /// The error a function returned, for a wrapped function error
    /// (`include` returns the error of the included template, so the chain
    /// leads to where things really went wrong).
    pub fn cause(&self) -> Option<&Error> {
        self.0.cause.as_ref()
    }

    /// The last error of the [`Error::cause`] chain.
    pub fn root_cause(&self) -> &Error {
        let mut e = self;
        while let Some(c) = e.cause() {
            e = c;
        }
        e
    }

    /// The location of the deepest error in the chain that has one: the
    /// template, line and column where things really went wrong (Helm's
    /// `execution error at (file:line:col): message` uses this with the
    /// [`Error::root_cause`]'s [`Error::detail`]).
    pub fn innermost_location(&self) -> Option<&Location> {
        let mut found = self.location();
        let mut e = self;
        while let Some(c) = e.cause() {
            if c.location().is_some() {
                found = c.location();
            }
            e = c;
        }
        found
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .cause
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
