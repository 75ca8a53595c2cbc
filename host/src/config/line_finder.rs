//! The line finder: which line of the YAML text a field path points at.
//!
//! serde_norway reports lines for the errors it finds, but our own checks run
//! on typed values that no longer know where they came from. [`find_line`]
//! walks the text by key path instead, so that every error can still name
//! the line at fault.

/// One line of YAML that carries content (not blank, not only a comment).
#[derive(Debug, Clone, Copy)]
pub(super) struct YamlLine<'a> {
    /// 1-based line number.
    pub(super) number: usize,
    /// Columns of leading spaces (or, for a list item's content, where the
    /// content starts after the `- `).
    indent: usize,
    /// The content, without indentation or trailing spaces.
    text: &'a str,
}

pub(super) fn yaml_lines(text: &str) -> Vec<YamlLine<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let content = raw.trim_start_matches(' ');
            let indent = raw.len() - content.len();
            let content = content.trim_end();
            let skip = content.is_empty()
                || content.starts_with('#')
                || content == "---"
                || content == "..."
                || content.starts_with('%');
            (!skip).then_some(YamlLine {
                number: index + 1,
                indent,
                text: content,
            })
        })
        .collect()
}

/// One step of a field path: a mapping key or a list index.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `mirror.operators[0].packages[2].name` into steps.
fn parse_field_path(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        steps.push(Step::Key(key));
        while let Some(rest) = indices.strip_prefix('[') {
            let (number, after) = rest.split_once(']')?;
            steps.push(Step::Index(number.parse().ok()?));
            indices = after;
        }
        if !indices.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// Finds the line of the field at `path` (like `mirror.operators[1].catalog`)
/// by walking the YAML text.
///
/// It understands block mappings, block lists (indented or not under their
/// key), `- key: value` list items, comments, and flow collections that fit
/// on one line. Anything else — a flow collection over several lines, an
/// alias, a JSON-style document — gives `None` rather than a guess. Where a
/// key occurs twice in one mapping, the last occurrence is returned. Inside a
/// one-line flow collection it returns that line without checking that the
/// rest of the path exists: callers only ask for paths that do.
pub(super) fn find_line(text: &str, path: &str) -> Option<usize> {
    let steps = parse_field_path(path)?;
    locate(&yaml_lines(text), &steps)
}

/// Finds `steps` inside `block`, the lines of one YAML node.
fn locate(block: &[YamlLine<'_>], steps: &[Step<'_>]) -> Option<usize> {
    let (step, rest) = steps.split_first()?;
    let indent = block.first()?.indent;
    match step {
        Step::Key(key) => {
            // Keys of this mapping sit at its indentation; list items at the
            // same indentation belong to the previous key.
            let (index, value) = block
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == indent && list_item(l.text).is_none())
                .filter_map(|(i, l)| key_value(l.text, key).map(|v| (i, v)))
                .next_back()?;
            let line = block[index];
            if rest.is_empty() {
                return Some(line.number);
            }
            let value = skip_node_properties(value);
            if !value.is_empty() {
                return one_line_flow(value).then_some(line.number);
            }
            let end = block[index + 1..]
                .iter()
                .position(|l| {
                    !(l.indent > line.indent
                        || (l.indent == line.indent && list_item(l.text).is_some()))
                })
                .map_or(block.len(), |p| index + 1 + p);
            locate(&block[index + 1..end], rest)
        }
        Step::Index(n) => {
            let items: Vec<usize> = block
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == indent && list_item(l.text).is_some())
                .map(|(i, _)| i)
                .collect();
            // The node must be a list: its first line is an item.
            if items.first() != Some(&0) {
                return None;
            }
            let start = *items.get(*n)?;
            let end = items.get(n + 1).copied().unwrap_or(block.len());
            let head = block[start];
            if rest.is_empty() {
                return Some(head.number);
            }
            let content = list_item(head.text)?;
            let content = skip_node_properties(content);
            if content.is_empty() {
                return locate(&block[start + 1..end], rest);
            }
            if content.starts_with(['{', '[']) {
                return one_line_flow(content).then_some(head.number);
            }
            // `- key: value`: the item's mapping starts right after the dash.
            let mut item = Vec::with_capacity(end - start);
            item.push(YamlLine {
                number: head.number,
                indent: head.indent + (head.text.len() - content.len()),
                text: content,
            });
            item.extend_from_slice(&block[start + 1..end]);
            locate(&item, rest)
        }
    }
}

/// For `- content` returns `content` (empty for a bare `-`).
fn list_item(text: &str) -> Option<&str> {
    if text == "-" {
        return Some("");
    }
    text.strip_prefix("- ")
        .map(|rest| rest.trim_start_matches(' '))
}

/// For `key: value` (the key plain or quoted) returns `value`, without a
/// trailing comment.
fn key_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let after = text
        .strip_prefix(key)
        .or_else(|| text.strip_prefix('"')?.strip_prefix(key)?.strip_prefix('"'))
        .or_else(|| {
            text.strip_prefix('\'')?
                .strip_prefix(key)?
                .strip_prefix('\'')
        })?;
    let value = after.trim_start_matches(' ').strip_prefix(':')?;
    if !value.is_empty() && !value.starts_with([' ', '\t']) {
        return None;
    }
    let value = value.trim();
    // ` #` starts a comment; a `#` inside quotes is rare enough in these
    // values that a wrong cut only costs a `None` later.
    let value = match value.find(" #") {
        Some(i) => value[..i].trim_end(),
        None if value.starts_with('#') => "",
        None => value,
    };
    Some(value)
}

/// Drops leading anchors (`&name`) and tags (`!tag`) from a value.
fn skip_node_properties(mut value: &str) -> &str {
    while value.starts_with(['&', '!']) {
        value = value
            .split_once(' ')
            .map_or("", |(_, rest)| rest.trim_start());
    }
    value
}

/// Whether `value` is a flow collection (`{…}` or `[…]`) closed on this line.
fn one_line_flow(value: &str) -> bool {
    if !value.starts_with(['{', '[']) {
        return false;
    }
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return value[i + 1..].trim().is_empty();
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_finder_walks_nested_lists() {
        let text = "\
# comment
mirror:
  operators:
    - catalog: a   # first
      packages:
        - name: p
        - name: q
          channels:

            - name: c1
            - name: c2
    - catalog: b
      packages:
      - name: r
        channels:
        -   name: c3
            minVersion: 1.0.0
    -
      catalog: c
  \"quoted\": 1
";
        let cases = [
            ("mirror", Some(2)),
            ("mirror.operators", Some(3)),
            ("mirror.operators[0]", Some(4)),
            ("mirror.operators[0].catalog", Some(4)),
            ("mirror.operators[0].packages[1].name", Some(7)),
            ("mirror.operators[0].packages[1].channels[1].name", Some(11)),
            ("mirror.operators[1].catalog", Some(12)),
            ("mirror.operators[1].packages[0].name", Some(14)),
            (
                "mirror.operators[1].packages[0].channels[0].minVersion",
                Some(17),
            ),
            ("mirror.operators[2].catalog", Some(19)),
            ("mirror.quoted", Some(20)),
            ("mirror.operators[3]", None),
            ("mirror.operators[0].packages[0].channels", None),
            ("mirror.nothing", None),
            ("operators", None),
        ];
        for (path, line) in cases {
            assert_eq!(find_line(text, path), line, "{path}");
        }
    }

    #[test]
    fn line_finder_flow_collections() {
        let text = "a:\n  list: [x, {y: 1}]\n  open: [x,\n    y]\n  map: {k: v}\n  scalar: text\n";
        assert_eq!(find_line(text, "a.list[1].y"), Some(2));
        assert_eq!(find_line(text, "a.map.k"), Some(5));
        // Not sure where `y` is: say so.
        assert_eq!(find_line(text, "a.open[1]"), None);
        assert_eq!(find_line(text, "a.scalar.x"), None);
        assert_eq!(find_line(text, "a.open"), Some(3));
    }
}
