//! Writing the filtered catalog back.
//!
//! The renderer streams each source file again, document by document, in
//! the order the [`Catalog`] recorded, and decides about each one from its
//! [`DocKey`] alone: kept bundles and untouched documents are copied byte
//! for byte (so a bundle's large properties are never parsed, and YAML
//! scalars such as unquoted timestamps stay as written); packages whose
//! default channel changed, channels that lost entries and deprecations are
//! the only documents re-serialized, and they are small. Output keeps each
//! file's format and document order, so the same input gives the same bytes.

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};

use serde::Serialize;
use serde_norway::Value;

use crate::fbc::{Catalog, DocKey, Documents, Error, FileId, Format};
use crate::select::Selection;

/// What to do with one document.
#[derive(Debug, PartialEq, Eq)]
enum Action<'a> {
    Copy,
    Drop,
    /// A package whose default channel is now this one.
    SetDefault(&'a str),
    /// A channel keeping only these entries.
    KeepEntries(&'a BTreeSet<String>),
    /// Deprecations, pruned to what is kept.
    Prune(&'a str),
}

fn action<'a>(catalog: &Catalog, selection: &'a Selection, key: &DocKey) -> Action<'a> {
    if selection.whole_catalog {
        return Action::Copy;
    }
    match key {
        DocKey::Package(name) => match selection.packages.get(name) {
            None => Action::Drop,
            Some(kept) => {
                let source = catalog
                    .packages
                    .get(name)
                    .and_then(|p| p.default_channel.as_deref());
                match kept.default_channel.as_deref() {
                    Some(d) if Some(d) != source => Action::SetDefault(d),
                    _ => Action::Copy,
                }
            }
        },
        DocKey::Channel { package, name } => {
            let Some(entries) = selection
                .packages
                .get(package)
                .and_then(|k| k.channels.get(name))
            else {
                return Action::Drop;
            };
            let all = catalog
                .packages
                .get(package)
                .and_then(|p| p.channels.get(name))
                .is_some_and(|c| c.entries.iter().all(|e| entries.contains(&e.name)));
            if all {
                Action::Copy
            } else {
                Action::KeepEntries(entries)
            }
        }
        DocKey::Bundle { package, name } => {
            if selection
                .packages
                .get(package)
                .is_some_and(|k| k.bundles.contains_key(name))
            {
                Action::Copy
            } else {
                Action::Drop
            }
        }
        DocKey::Deprecations(package) => match selection.packages.get_key_value(package) {
            Some((name, _)) => Action::Prune(name),
            None => Action::Drop,
        },
        DocKey::Other(None) => Action::Copy,
        DocKey::Other(Some(package)) => {
            if selection.packages.contains_key(package) {
                Action::Copy
            } else {
                Action::Drop
            }
        }
    }
}

/// Whether any document of `file` is kept: a file that keeps nothing is left
/// out of the rebuilt catalog.
pub fn keeps_any(catalog: &Catalog, selection: &Selection, file: FileId) -> bool {
    catalog
        .documents(file)
        .iter()
        .any(|key| action(catalog, selection, key) != Action::Drop)
}

/// Writes the kept documents of one file (read again from `source`) to
/// `out`, in its format; returns how many were written, so that a caller can
/// leave out files that keep nothing.
pub fn render_file(
    catalog: &Catalog,
    selection: &Selection,
    file: FileId,
    source: impl BufRead,
    format: Format,
    out: &mut impl Write,
) -> Result<usize, Error> {
    let keys = catalog.documents(file);
    let mut docs = Documents::new(source, format);
    let mut written = 0;
    let mut seen = 0;
    while let Some(mut doc) = docs.next_document()? {
        let key = keys
            .get(seen)
            .ok_or_else(|| Error("the file has more documents than when it was read".into()))?;
        seen += 1;
        let act = action(catalog, selection, key);
        if act == Action::Drop {
            continue;
        }
        if act == Action::Copy {
            if format == Format::Yaml {
                out.write_all(b"---\n")?;
            }
            std::io::copy(&mut doc, out)?;
            if format == Format::Json {
                out.write_all(b"\n")?;
            }
            written += 1;
            continue;
        }
        let mut text = Vec::new();
        doc.read_to_end(&mut text)?;
        let mut value: Value = match format {
            Format::Json => serde_json::from_slice(&text).map_err(|e| Error(e.to_string()))?,
            Format::Yaml => serde_norway::from_slice(&text).map_err(|e| Error(e.to_string()))?,
        };
        if !edit(&mut value, &act, selection) {
            continue;
        }
        match format {
            Format::Json => {
                let mut ser = serde_json::Serializer::with_formatter(
                    &mut *out,
                    serde_json::ser::PrettyFormatter::with_indent(b"    "),
                );
                value
                    .serialize(&mut ser)
                    .map_err(|e| Error(e.to_string()))?;
                out.write_all(b"\n")?;
            }
            Format::Yaml => {
                out.write_all(b"---\n")?;
                let yaml = serde_norway::to_string(&value).map_err(|e| Error(e.to_string()))?;
                out.write_all(yaml.as_bytes())?;
            }
        }
        written += 1;
    }
    if seen != keys.len() {
        return Err(Error(
            "the file has fewer documents than when it was read".into(),
        ));
    }
    Ok(written)
}

/// Applies `act` to a document; false when nothing of it is left.
fn edit(value: &mut Value, act: &Action, selection: &Selection) -> bool {
    let Some(map) = value.as_mapping_mut() else {
        return true;
    };
    match act {
        Action::SetDefault(channel) => {
            map.insert("defaultChannel".into(), Value::String(channel.to_string()));
        }
        Action::KeepEntries(kept) => {
            if let Some(Value::Sequence(entries)) = map.get_mut("entries") {
                entries.retain(|e| {
                    e.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| kept.contains(n))
                });
            }
        }
        Action::Prune(package) => {
            let kept = &selection.packages[*package];
            if let Some(Value::Sequence(entries)) = map.get_mut("entries") {
                entries.retain(|e| {
                    let reference = e.get("reference");
                    let schema = reference
                        .and_then(|r| r.get("schema"))
                        .and_then(Value::as_str);
                    let name = reference
                        .and_then(|r| r.get("name"))
                        .and_then(Value::as_str);
                    match (schema, name) {
                        (Some("olm.bundle"), Some(n)) => kept.bundles.contains_key(n),
                        (Some("olm.channel"), Some(n)) => kept.channels.contains_key(n),
                        _ => true,
                    }
                });
                if entries.is_empty() {
                    return false;
                }
            }
        }
        Action::Copy | Action::Drop => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::tests::{test_catalog, test_catalog_text};
    use crate::select::{ApiVersion, Operator, select};
    use serde_json::json;

    fn render(catalog: &Catalog, selection: &Selection, text: &str, format: Format) -> String {
        let mut out = Vec::new();
        render_file(
            catalog,
            selection,
            FileId(0),
            text.as_bytes(),
            format,
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn docs(text: &str) -> Vec<serde_json::Value> {
        serde_json::Deserializer::from_str(text)
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }

    fn operator(packages: serde_json::Value) -> Operator {
        serde_json::from_value(json!({"catalog": "example.com/index:v1", "packages": packages}))
            .unwrap()
    }

    #[test]
    fn writes_only_what_is_kept() {
        let catalog = test_catalog();
        let op = operator(
            json!([{"name": "one", "defaultChannel": "fast", "channels": [
                {"name": "fast"}, {"name": "stable", "minVersion": "1.2.0", "maxVersion": "1.2.0"}
            ]}]),
        );
        let selection = select(&catalog, &op, ApiVersion::V2alpha1).unwrap();
        let text = test_catalog_text();
        let out = render(&catalog, &selection, &text, Format::Json);
        let docs = docs(&out);
        let summary: Vec<String> = docs
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d["schema"].as_str().unwrap(),
                    d["name"].as_str().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "olm.package one",
                "olm.channel stable",
                "olm.channel fast",
                "olm.bundle one.v1.2.0",
                "olm.bundle one.v2.0.0",
                "olm.deprecations -",
                "example.global -",
            ]
        );
        assert_eq!(docs[0]["defaultChannel"], "fast");
        assert_eq!(
            docs[1]["entries"],
            json!([{"name": "one.v1.2.0", "replaces": "one.v1.1.0", "skips": ["one.v1.1.5"]}])
        );
        // Only the head of the fast channel (the entry keeps its edge as written).
        assert_eq!(
            docs[2]["entries"],
            json!([{"name": "one.v2.0.0", "replaces": "one.v1.3.0"}])
        );
        // Deprecations of a dropped bundle go; the channel and package ones stay.
        assert_eq!(
            docs[5]["entries"],
            json!([
                {"reference": {"schema": "olm.channel", "name": "fast"}, "message": "use stable"},
                {"reference": {"schema": "olm.package"}, "message": "the whole package"},
            ])
        );
        // Kept bundles are byte for byte the source's text.
        let source_bundle = text
            .split("\n{")
            .find(|d| d.contains("\"image\": \"example.com/one-bundle:v2.0.0\""))
            .unwrap();
        assert!(out.contains(source_bundle.trim_start_matches('{')));
        // The same input gives the same bytes.
        assert_eq!(out, render(&catalog, &selection, &text, Format::Json));
    }

    #[test]
    fn the_whole_catalog_is_copied() {
        let catalog = test_catalog();
        let mut op = operator(json!([]));
        op.full = true;
        let selection = select(&catalog, &op, ApiVersion::V2alpha1).unwrap();
        let text = test_catalog_text();
        assert_eq!(render(&catalog, &selection, &text, Format::Json), text);
    }

    const YAML: &str = "---
schema: olm.package
name: four
defaultChannel: stable
---
schema: olm.channel
package: four
name: stable
entries:
  - name: four.v1.0.0
  - name: four.v1.1.0
    replaces: four.v1.0.0
---
schema: olm.channel
package: four
name: candidate
entries:
  - name: four.v1.1.0
---
# a bundle with an unquoted timestamp
image: example.com/four-bundle:v1.1.0
name: four.v1.1.0
package: four
properties:
  - type: olm.package
    value: {packageName: four, version: 1.1.0}
  - type: olm.csv.metadata
    value:
      annotations:
        createdAt: 2024-01-02T03:04:05Z
schema: olm.bundle
---
image: example.com/four-bundle:v1.0.0
name: four.v1.0.0
package: four
properties:
  - type: olm.package
    value: {packageName: four, version: 1.0.0}
schema: olm.bundle
";

    #[test]
    fn yaml_stays_yaml_and_scalars_stay_as_written() {
        let mut catalog = Catalog::new();
        catalog
            .add_file("four/index.yaml", YAML.as_bytes(), Format::Yaml)
            .unwrap();
        let op = operator(
            json!([{"name": "four", "defaultChannel": "candidate", "channels": [{"name": "candidate"}]}]),
        );
        let selection = select(&catalog, &op, ApiVersion::V2alpha1).unwrap();
        let out = render(&catalog, &selection, YAML, Format::Yaml);
        assert_eq!(
            out,
            "---
schema: olm.package
name: four
defaultChannel: candidate
---
schema: olm.channel
package: four
name: candidate
entries:
  - name: four.v1.1.0
---
# a bundle with an unquoted timestamp
image: example.com/four-bundle:v1.1.0
name: four.v1.1.0
package: four
properties:
  - type: olm.package
    value: {packageName: four, version: 1.1.0}
  - type: olm.csv.metadata
    value:
      annotations:
        createdAt: 2024-01-02T03:04:05Z
schema: olm.bundle
"
        );
        // A channel that lost entries is rewritten, in YAML.
        let op = operator(json!([{"name": "four", "channels": [{"name": "stable"}]}]));
        let selection = select(&catalog, &op, ApiVersion::V2alpha1).unwrap();
        let out = render(&catalog, &selection, YAML, Format::Yaml);
        assert!(out.contains("---\nschema: olm.channel\npackage: four\nname: stable\nentries:\n- name: four.v1.1.0\n  replaces: four.v1.0.0\n"), "{out}");
    }

    #[test]
    fn a_changed_source_is_an_error() {
        let catalog = test_catalog();
        let selection = select(&catalog, &operator(json!([])), ApiVersion::V2alpha1).unwrap();
        let mut out = Vec::new();
        let short = "{\"schema\":\"olm.package\",\"name\":\"one\"}";
        let e = render_file(
            &catalog,
            &selection,
            FileId(0),
            short.as_bytes(),
            Format::Json,
            &mut out,
        );
        assert!(e.unwrap_err().0.contains("fewer documents"));
    }
}
