//! A chart as Helm loads it: its metadata (`Chart.yaml`), default values,
//! templates, other files, CRDs and subcharts (`charts/`, directories or
//! archives), each subchart a chart of its own.

use std::collections::BTreeMap;

use oc_mirror_plugin_sdk::Error;
use serde::Deserialize;
use serde_json::Value;

use crate::archive::{self, Files};

/// How deep subcharts may nest.
const MAX_DEPTH: usize = 16;

/// `Chart.yaml`, the fields the host needs; the whole document stays in
/// [`Chart::raw_metadata`] for `.Chart`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub app_version: Option<String>,
    #[serde(default, rename = "type")]
    pub chart_type: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

/// One entry of `Chart.yaml` `dependencies`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Dependency {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    /// Comma-separated value paths; the first that is a boolean decides.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub alias: Option<String>,
    /// `import-values`: child values copied up into the parent.
    #[serde(default)]
    pub import_values: Vec<Value>,
}

/// A loaded chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub metadata: Metadata,
    /// `Chart.yaml` as JSON.
    pub raw_metadata: Value,
    /// `values.yaml` (an object; empty when absent).
    pub values: Value,
    /// `templates/…` files: path relative to the chart (`templates/x.yaml`) and text.
    pub templates: Vec<(String, String)>,
    /// `crds/…` files.
    pub crds: Vec<(String, String)>,
    /// Every other file (for `.Files`), by path relative to the chart.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The charts in `charts/`, each under the name it is found by.
    pub subcharts: Vec<Chart>,
}

impl Chart {
    /// Whether it is a library chart (`type: library`).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.as_deref() == Some("library")
    }

    /// Loads a chart from its files (`what` names it in errors).
    pub fn load(files: &Files, what: &str) -> Result<Chart, Error> {
        load(files, what, 0)
    }
}

fn yaml(text: &str, what: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_norway::from_str::<Value>(text).map_err(|e| Error::Other(format!("{what}: {e}")))
}

/// A document with its null fields dropped (Helm reads `keywords:` with
/// nothing after it as no keywords).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn load(files: &Files, what: &str, depth: usize) -> Result<Chart, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::Other(format!(
            "{what}: subcharts nest more than {MAX_DEPTH} deep"
        )));
    }
    let chart_yaml = files
        .text("Chart.yaml")
        .ok_or_else(|| Error::Other(format!("{what}: no Chart.yaml")))?;
    let raw_metadata = yaml(&chart_yaml, &format!("{what}: Chart.yaml"))?;
    let metadata: Metadata = serde_json::from_value(without_nulls(raw_metadata.clone()))
        .map_err(|e| Error::Other(format!("{what}: Chart.yaml: {e}")))?;
    if metadata.name.is_empty() {
        return Err(Error::Other(format!("{what}: Chart.yaml has no name")));
    }
    let what = format!("{what} ({} {})", metadata.name, metadata.version);
    let mut values = match files.text("values.yaml") {
        Some(text) => yaml(&text, &format!("{what}: values.yaml"))?,
        None => Value::Null,
    };
    if values.is_null() {
        values = Value::Object(Default::default());
    }
    if !values.is_object() {
        return Err(Error::Other(format!(
            "{what}: values.yaml is not a mapping"
        )));
    }
    // Helm 2's requirements.yaml still names dependencies in old charts.
    let mut metadata = metadata;
    if metadata.dependencies.is_empty()
        && let Some(text) = files.text("requirements.yaml")
    {
        let req = yaml(&text, &format!("{what}: requirements.yaml"))?;
        if let Some(deps) = req.get("dependencies") {
            metadata.dependencies = serde_json::from_value(deps.clone())
                .map_err(|e| Error::Other(format!("{what}: requirements.yaml: {e}")))?;
        }
    }

    let mut chart = Chart {
        metadata,
        raw_metadata,
        values,
        ..Chart::default()
    };
    let mut subchart_dirs: BTreeMap<String, ()> = BTreeMap::new();
    for (path, data) in &files.files {
        let text = || String::from_utf8_lossy(data).into_owned();
        if let Some(rest) = path.strip_prefix("charts/") {
            match rest.split_once('/') {
                Some((dir, _)) => {
                    subchart_dirs.insert(dir.to_string(), ());
                }
                None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                    let sub = archive::unpack(data, &format!("{what}: {path}"))?;
                    chart
                        .subcharts
                        .push(load(&sub, &format!("{what}: {path}"), depth + 1)?);
                }
                None => {}
            }
        } else if path.starts_with("templates/") {
            chart.templates.push((path.clone(), text()));
        } else if path.starts_with("crds/") {
            chart.crds.push((path.clone(), text()));
            chart.files.insert(path.clone(), data.clone());
        } else if !matches!(
            path.as_str(),
            "Chart.yaml" | "values.yaml" | "requirements.yaml" | "requirements.lock"
        ) {
            chart.files.insert(path.clone(), data.clone());
        }
    }
    for dir in subchart_dirs.keys() {
        let sub = files.under(&format!("charts/{dir}"));
        if sub.files.contains_key("Chart.yaml") {
            chart
                .subcharts
                .push(load(&sub, &format!("{what}: charts/{dir}"), depth + 1)?);
        }
    }
    Ok(chart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests::tgz;

    #[test]
    fn loads_templates_values_and_subcharts() {
        let sub = tgz(
            "db",
            &[
                ("Chart.yaml", "name: db\nversion: 1.0.0\n"),
                ("values.yaml", "port: 5432\n"),
            ],
        );
        let mut files = archive::unpack(
            &tgz(
                "app",
                &[
                    ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: 1.x\n    condition: db.enabled\n"),
                    ("values.yaml", "image: {repository: nginx}\n"),
                    ("templates/deployment.yaml", "kind: Deployment"),
                    ("templates/_helpers.tpl", "{{ define \"x\" }}{{ end }}"),
                    ("crds/crd.yaml", "kind: CustomResourceDefinition"),
                    ("charts/cache/Chart.yaml", "name: cache\nversion: 2.0.0\n"),
                    ("files/config.ini", "a=1"),
                ],
            ),
            "app",
        )
        .unwrap();
        files.files.insert("charts/db-1.0.0.tgz".into(), sub);
        let chart = Chart::load(&files, "app").unwrap();
        assert_eq!(chart.metadata.name, "app");
        assert_eq!(
            chart.metadata.dependencies[0].condition.as_deref(),
            Some("db.enabled")
        );
        assert_eq!(chart.values["image"]["repository"], "nginx");
        assert_eq!(chart.templates.len(), 2);
        assert_eq!(chart.crds.len(), 1);
        assert!(chart.files.contains_key("files/config.ini"));
        let names: Vec<&str> = chart
            .subcharts
            .iter()
            .map(|c| c.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["db", "cache"]);
        assert_eq!(chart.subcharts[0].values["port"], 5432.0);
        let err = Chart::load(&Files::default(), "empty").unwrap_err();
        assert!(matches!(err, Error::Other(m) if m.contains("no Chart.yaml")));
    }
}
