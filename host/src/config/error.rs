//! [`ConfigError`], and the translation of serde_norway's errors into it.
//!
//! Every way a configuration can be refused ends up here, so that all of
//! them print the same way: ``origin:line: `field.path`: message`` with an
//! optional `hint:` line. serde_norway does not expose the field path of its
//! errors, so [`syntax_error`] takes it out of the message text.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;

use super::document::{ApiVersion, KIND_MIRROR};
use super::line_finder::find_line;

/// Why a configuration could not be loaded.
///
/// Every variant but [`ConfigError::Read`] displays as
/// ``origin:line: `field.path`: message``, then `hint: …` on its own line when
/// there is one. `Read` keeps the I/O error as its `source`, so print the
/// error chain to see the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The file is not UTF-8 text.
    #[error("{origin}:{line}: the file is not valid UTF-8 (bad byte at offset {offset})")]
    NotUtf8 {
        /// The file.
        origin: String,
        /// Line of the first bad byte (1-based).
        line: usize,
        /// Byte offset of the first bad byte.
        offset: usize,
    },

    /// The file holds no YAML document at all.
    #[error(
        "{origin}: the file is empty\nhint: start it with `apiVersion: {}` and `kind: {KIND_MIRROR}`",
        ApiVersion::V2Alpha1
    )]
    Empty {
        /// The file.
        origin: String,
    },

    /// The document is a list or a scalar instead of a mapping.
    #[error("{origin}:{line}: expected a mapping with `apiVersion` and `kind`, found {found}")]
    NotAMapping {
        /// The file.
        origin: String,
        /// Line where the document starts.
        line: usize,
        /// What was found instead, e.g. `a list`.
        found: &'static str,
    },

    /// The file holds more than one YAML document (`---`).
    #[error(
        "{}: the file holds more than one YAML document\nhint: put each configuration in a file of its own",
        at(origin, *line, None)
    )]
    MultipleDocuments {
        /// The file.
        origin: String,
        /// Line of the `---` that starts the second document, if found.
        line: Option<usize>,
    },

    /// serde_norway refused the YAML: bad syntax, an unknown or missing
    /// field, or a value of the wrong type.
    #[error("{}: {message}{}", at(origin, *line, path.as_deref()), hint_line(hint))]
    Syntax {
        /// The file.
        origin: String,
        /// Line of the problem (1-based), when serde_norway knows it.
        line: Option<usize>,
        /// Column of the problem (1-based), when serde_norway knows it.
        column: Option<usize>,
        /// Field path like `mirror.additionalImages[0].nme`, when there is one.
        path: Option<String>,
        /// What serde_norway said, without its own location.
        message: String,
        /// How to fix it, when we can tell.
        hint: Option<String>,
    },

    /// The YAML is well formed but a value breaks a rule.
    #[error("{}: {message}{}", at(origin, *line, Some(field)), hint_line(hint))]
    Invalid {
        /// The file.
        origin: String,
        /// Line of the field, or `None` when the line finder was not sure.
        line: Option<usize>,
        /// Field path like `mirror.platform.channels[1].minVersion`.
        field: String,
        /// What is wrong.
        message: String,
        /// How to fix it, when we can tell.
        hint: Option<String>,
    },
}

impl ConfigError {
    /// The line the error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } | ConfigError::Empty { .. } => None,
            ConfigError::NotUtf8 { line, .. } | ConfigError::NotAMapping { line, .. } => {
                Some(*line)
            }
            ConfigError::MultipleDocuments { line, .. }
            | ConfigError::Syntax { line, .. }
            | ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// The field path the error points at, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Syntax { path, .. } => path.as_deref(),
            ConfigError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// `origin:line` plus `` : `field` `` — the front of most error messages.
fn at(origin: &str, line: Option<usize>, field: Option<&str>) -> String {
    let mut out = match line {
        Some(line) => format!("{origin}:{line}"),
        None => format!("{origin} (line unknown)"),
    };
    if let Some(field) = field {
        out.push_str(&format!(": `{field}`"));
    }
    out
}

fn hint_line(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\nhint: {h}"))
        .unwrap_or_default()
}

/// Turns a serde_norway error into [`ConfigError::Syntax`].
///
/// serde_norway keeps the field path private and only shows it in its
/// `Display` text, as `path: message at line L column C`; we take that text
/// apart. The `serde_norway_message_format` test pins the format.
pub(super) fn syntax_error(origin: &str, text: &str, err: &serde_norway::Error) -> ConfigError {
    static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r" at (?:line \d+ column \d+|position \d+)").expect("constant regex")
    });
    // Paths are made of field names, list indices and `?` for odd keys.
    static PATH_PREFIX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)^([A-Za-z0-9_?\[\].]+): (.*)$").expect("constant regex"));
    static FIELD_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:unknown|missing|duplicate) field `([^`]*)`").expect("constant regex")
    });

    let full = err.to_string();
    let full = LOCATION.replace_all(&full, "");
    let (mut path, message) = match PATH_PREFIX.captures(&full) {
        Some(c) if &c[1] != "." => (Some(c[1].to_string()), c[2].to_string()),
        _ => (None, full.to_string()),
    };

    // For field-level messages the field itself is the most precise path.
    let field = FIELD_NAME.captures(&message).map(|c| c[1].to_string());
    if let Some(field) = &field {
        path = Some(match path {
            Some(parent) => format!("{parent}.{field}"),
            None => field.clone(),
        });
    }

    let mut line = err.location().map(|l| l.line());
    let column = err.location().map(|l| l.column());
    // serde_norway puts a duplicate at the start of its mapping; the line
    // finder returns the last occurrence of a key, which is the duplicate.
    if message.starts_with("duplicate field")
        && let Some(found) = path.as_deref().and_then(|p| find_line(text, p))
    {
        line = Some(found);
    }

    // libyaml's message for a tab in the indentation does not say "tab".
    let indented_with_tab = line
        .and_then(|l| text.lines().nth(l.saturating_sub(1)))
        .is_some_and(|l| l[..l.len() - l.trim_start().len()].contains('\t'));
    let hint =
        indented_with_tab.then(|| "indent with spaces: YAML does not allow tabs there".to_string());

    ConfigError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        path,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::document::ImageSetConfiguration;
    use crate::config::testing::*;

    #[test]
    fn serde_norway_message_format() {
        // `syntax_error` takes this text apart; fail here first if it changes.
        let err = serde_norway::from_str::<ImageSetConfiguration>(&v2(
            "  additionalImages:\n    - nme: x\n",
        ))
        .expect_err("unknown field");
        let text = err.to_string();
        assert!(
            text.starts_with("mirror.additionalImages[0]: unknown field `nme`, expected one of")
                && text.ends_with(" at line 5 column 7"),
            "{text}"
        );
    }

    #[test]
    fn unknown_field_in_list_item() {
        let text = v2("  additionalImages:\n    - name: busybox\n    - nme: alpine\n");
        let shown = rejects(&text, "mirror.additionalImages[1].nme", Some(6));
        assert!(shown.starts_with(
            "isc.yaml:6: `mirror.additionalImages[1].nme`: unknown field `nme`, expected one of `name`, `targetRepo`"
        ), "{shown}");
    }

    #[test]
    fn unknown_top_level_field() {
        let text = v2("  helm: {}\nmirorr: {}\n");
        rejects(&text, "mirorr", Some(5));
    }

    #[test]
    fn missing_field_and_wrong_type() {
        let text = v2("  operators:\n    - full: true\n");
        rejects(&text, "mirror.operators[0].catalog", Some(5));
        let text = v2("  platform:\n    graph: maybe\n");
        let shown = rejects(&text, "mirror.platform.graph", Some(5));
        assert!(shown.contains("expected a boolean"), "{shown}");
        let text = v2("  platform:\n    channels:\n      - name: a\n        type: rhel\n");
        let shown = rejects(&text, "mirror.platform.channels[0].type", Some(7));
        assert!(shown.contains("expected `ocp` or `okd`"), "{shown}");
        let missing = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n";
        rejects(missing, "mirror", Some(1));
    }

    #[test]
    fn duplicate_key_points_at_the_duplicate() {
        let text = v2("  platform:\n    graph: true\n    channels: []\n    graph: false\n");
        let shown = rejects(&text, "mirror.platform.graph", Some(7));
        assert!(shown.contains("duplicate field `graph`"), "{shown}");
    }

    #[test]
    fn tab_indentation_gets_a_hint() {
        let text = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n\tadditionalImages: []\n";
        let err = parse(text).expect_err("tab");
        let shown = err.to_string();
        assert_eq!(err.line(), Some(4), "{shown}");
        assert!(shown.contains("hint: indent with spaces"), "{shown}");
    }
}
