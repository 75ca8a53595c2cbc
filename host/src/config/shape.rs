//! Step 1 of loading: the document reduced to its keys and lists.
//!
//! Before the typed pass we need `apiVersion` and `kind` (to know which rules
//! apply) and the set of keys present (to refuse fields of the other API
//! version with a precise hint). [`Shape`] is that loose view; reading it also
//! catches plain YAML syntax errors, empty files and files with more than one
//! document.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::error::{ConfigError, syntax_error};
use super::line_finder::yaml_lines;

/// A YAML document reduced to its keys and lists.
///
/// Unlike `serde_norway::Value` it tolerates duplicate keys, so that a
/// duplicate is reported by the typed pass, which knows its field path.
#[derive(Debug)]
pub(super) enum Shape {
    Map(Vec<(String, Shape)>),
    List(Vec<Shape>),
    Text(String),
    Null,
    Other,
}

impl Shape {
    pub(super) fn get(&self, key: &str) -> Option<&Shape> {
        match self {
            // The last occurrence wins, as it would in a map.
            Shape::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn describe(&self) -> &'static str {
        match self {
            Shape::Map(_) => "a mapping",
            Shape::List(_) => "a list",
            Shape::Text(_) => "a string",
            Shape::Null => "nothing",
            Shape::Other => "a scalar",
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape::Text(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        Shape::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shape::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Shape>()? {
            let value = map.next_value::<Shape>()?;
            // Keys that are not strings can match no field; the typed pass
            // reports them.
            if let Shape::Text(key) = key {
                entries.push((key, value));
            }
        }
        Ok(Shape::Map(entries))
    }

    // serde_norway hands custom tags (`!foo value`) over as enums.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant::<IgnoredAny>()?;
        Ok(Shape::Other)
    }
}

/// Reads the one YAML document in `text` as a [`Shape`].
pub(super) fn read_shape(text: &str, origin: &str) -> Result<Shape, ConfigError> {
    let mut documents = serde_norway::Deserializer::from_str(text);
    let Some(first) = documents.next() else {
        return Err(ConfigError::Empty {
            origin: origin.into(),
        });
    };
    let shape = Shape::deserialize(first).map_err(|e| syntax_error(origin, text, &e))?;
    // Only ask for one more document: after a parse error the iterator
    // would go on returning the same error.
    if documents.next().is_some() {
        return Err(ConfigError::MultipleDocuments {
            origin: origin.into(),
            line: second_document_line(text),
        });
    }
    match shape {
        Shape::Map(_) => Ok(shape),
        Shape::Null => Err(ConfigError::Empty {
            origin: origin.into(),
        }),
        other => Err(ConfigError::NotAMapping {
            origin: origin.into(),
            line: yaml_lines(text).first().map_or(1, |l| l.number),
            found: other.describe(),
        }),
    }
}

/// The line of the `---` that ends the first document, if there is one.
fn second_document_line(text: &str) -> Option<usize> {
    let mut seen_content = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line == "---" || line.starts_with("--- ") {
            if seen_content {
                return Some(index + 1);
            }
        } else if !line.trim_start().is_empty() && !line.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::*;

    #[test]
    fn both_documents_in_one_file_are_refused() {
        let text = format!("{V2_FULL}---\n{V2_DELETE}");
        let err = parse(&text).expect_err("two documents");
        assert!(
            matches!(err, ConfigError::MultipleDocuments { .. }),
            "{err}"
        );
        assert_eq!(err.line(), Some(V2_FULL.lines().count() + 1));
        // A leading `---` is just the start of the one document.
        assert!(parse(&format!("---\n{V2_FULL}")).is_ok());
    }

    #[test]
    fn document_shape_errors() {
        assert!(matches!(parse(""), Err(ConfigError::Empty { .. })));
        assert!(matches!(
            parse("# only a comment\n"),
            Err(ConfigError::Empty { .. })
        ));
        assert!(matches!(parse("~\n"), Err(ConfigError::Empty { .. })));
        let err = parse("\n- apiVersion: x\n- kind: y\n").expect_err("list");
        assert_eq!(
            err.to_string(),
            "isc.yaml:2: expected a mapping with `apiVersion` and `kind`, found a list"
        );
        assert!(matches!(
            parse("just text"),
            Err(ConfigError::NotAMapping { .. })
        ));
    }
}
