//! Values as Helm computes them for a render: the chart's defaults under
//! what the user gave (nothing, for oc-mirror), each subchart's defaults
//! under what its parent says about it (`parent.values[<name or alias>]`),
//! `global` copied from parent to child (the parent wins), a `null` from a
//! parent deleting the key; and the dependencies Helm keeps: every subchart
//! not listed in `Chart.yaml`, and each listed one unless its `condition`
//! (the first path that is a boolean) or, failing that, its `tags` turn it
//! off; an `alias` renames a subchart; `import-values` copy child values up.
//!
//! Values are `serde_json::Value` here; numbers stay as YAML gave them and
//! become float64 when handed to the template engine, as in Helm.

use serde_json::{Map, Value};

use crate::chart::{Chart, Dependency};

/// Fills `dest` (what a parent, or the user, says) with the chart's
/// defaults and recursively with its subcharts': `dest` wins, tables merge,
/// a `null` in `dest` deletes the key.
pub fn coalesce(chart: &Chart, dest: &mut Map<String, Value>) {
    if let Value::Object(defaults) = &chart.values {
        coalesce_tables(dest, defaults);
    }
    for sub in &chart.subcharts {
        let name = sub.metadata.name.clone();
        let mut child = match dest.remove(&name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        coalesce_globals(&mut child, dest);
        coalesce(sub, &mut child);
        dest.insert(name, Value::Object(child));
    }
}

/// `src` into `dest`: missing keys copied, tables merged (`dest` wins), a
/// `null` in `dest` deletes the key.
pub fn coalesce_tables(dest: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, value) in src {
        match dest.get_mut(key) {
            None => {
                dest.insert(key.clone(), value.clone());
            }
            Some(Value::Null) => {
                dest.remove(key);
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = value {
                    coalesce_tables(d, s);
                }
            }
            Some(_) => {}
        }
    }
    // A null the user set on a key the chart does not know goes too.
    dest.retain(|_, v| !v.is_null());
}

/// The parent's `global` laid over the child's (the parent wins).
fn coalesce_globals(child: &mut Map<String, Value>, parent: &Map<String, Value>) {
    let Some(Value::Object(parent_global)) = parent.get("global") else {
        return;
    };
    let mut global = match child.remove("global") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (key, value) in parent_global {
        match (global.get_mut(key), value) {
            (Some(Value::Object(dv)), Value::Object(pv)) => {
                // The parent's keys win; the child's others stay.
                let mut merged = pv.clone();
                coalesce_tables(&mut merged, dv);
                *dv = merged;
            }
            _ => {
                global.insert(key.clone(), value.clone());
            }
        }
    }
    child.insert("global".into(), Value::Object(global));
}

/// The value at a dotted path (`a.b.c`) of a table.
pub fn path_value<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = values.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Keeps the subcharts Helm keeps for no user values, recursively: first
/// every listed dependency takes its subchart under its `alias` (one
/// subchart may serve two aliases), then the values are coalesced and each
/// listed one is dropped when its `condition` or `tags` say so (paths are
/// looked up from the top, with the chain of parents as prefix), then
/// `import-values` copy child values up into each parent's defaults.
pub fn process_dependencies(chart: &mut Chart) {
    alias(chart, 0);
    let mut top = Map::new();
    coalesce(chart, &mut top);
    let tags = top
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    prune(chart, &top, &tags, "");
    import_all(chart);
}

/// The subcharts as Chart.yaml lists them: the ones it does not list, then
/// one per listed dependency that has its chart, renamed to its alias.
fn alias(chart: &mut Chart, depth: usize) {
    if depth > 32 {
        return;
    }
    let deps = chart.metadata.dependencies.clone();
    let subs = std::mem::take(&mut chart.subcharts);
    let mut out: Vec<Chart> = subs
        .iter()
        .filter(|s| !deps.iter().any(|d| d.name == s.metadata.name))
        .cloned()
        .collect();
    for dep in &deps {
        let Some(sub) = subs.iter().find(|s| s.metadata.name == dep.name) else {
            continue;
        };
        let mut sub = sub.clone();
        if let Some(alias) = dep.alias.as_ref().filter(|a| !a.is_empty()) {
            sub.metadata.name = alias.clone();
            if let Some(m) = sub.raw_metadata.as_object_mut() {
                m.insert("name".into(), alias.clone().into());
            }
        }
        out.push(sub);
    }
    for sub in &mut out {
        alias(sub, depth + 1);
    }
    chart.subcharts = out;
}

/// Drops the listed dependencies their condition or tags turn off.
fn prune(chart: &mut Chart, top: &Map<String, Value>, tags: &Map<String, Value>, path: &str) {
    let deps = chart.metadata.dependencies.clone();
    chart.subcharts.retain(|sub| {
        let name = &sub.metadata.name;
        match deps.iter().find(|d| {
            d.alias
                .as_deref()
                .filter(|a| !a.is_empty())
                .unwrap_or(&d.name)
                == name
        }) {
            Some(dep) => enabled(dep, tags, top, path),
            None => true,
        }
    });
    for sub in &mut chart.subcharts {
        let sub_path = format!("{path}{}.", sub.metadata.name);
        prune(sub, top, tags, &sub_path);
    }
}

/// `import-values` of every chart, children first.
fn import_all(chart: &mut Chart) {
    for sub in &mut chart.subcharts {
        import_all(sub);
    }
    for dep in chart.metadata.dependencies.clone() {
        import_values(chart, &dep);
    }
}

/// Tags first (off only when every set tag is false), then the condition
/// (the first path that is a boolean), which wins.
fn enabled(
    dep: &Dependency,
    tags: &Map<String, Value>,
    values: &Map<String, Value>,
    path: &str,
) -> bool {
    let set: Vec<bool> = dep
        .tags
        .iter()
        .filter_map(|t| tags.get(t).and_then(Value::as_bool))
        .collect();
    let mut on = set.iter().any(|b| *b) || !set.iter().any(|b| !*b);
    if let Some(condition) = &dep.condition {
        for c in condition
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            if let Some(Value::Bool(b)) = path_value(values, &format!("{path}{c}")) {
                on = *b;
                break;
            }
        }
    }
    on
}

/// `import-values`: `- name` copies the child's `exports.name` into the
/// parent's top level; `- {child: a.b, parent: x.y}` copies the child's
/// `a.b` to the parent's `x.y`. The parent's own values win.
fn import_values(chart: &mut Chart, dep: &Dependency) {
    let name = dep.alias.clone().unwrap_or_else(|| dep.name.clone());
    let Some(sub) = chart.subcharts.iter().find(|s| s.metadata.name == name) else {
        return;
    };
    let Some(child_values) = sub.values.as_object().cloned() else {
        return;
    };
    let mut imported = Map::new();
    for iv in &dep.import_values {
        let (from, to) = match iv {
            Value::String(s) => (format!("exports.{s}"), String::new()),
            Value::Object(m) => (
                m.get("child")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                m.get("parent")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            _ => continue,
        };
        let Some(Value::Object(found)) = path_value(&child_values, &from).cloned() else {
            continue;
        };
        let target = if to.is_empty() {
            &mut imported
        } else {
            let mut at = &mut imported;
            for part in to.split('.') {
                at = at
                    .entry(part.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("made a table just now");
            }
            at
        };
        coalesce_tables(target, &found);
    }
    if imported.is_empty() {
        return;
    }
    if let Value::Object(parent) = &mut chart.values {
        coalesce_tables(parent, &imported);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(name: &str, values: Value, subcharts: Vec<Chart>, deps: Value) -> Chart {
        let mut c = Chart {
            values,
            subcharts,
            ..Chart::default()
        };
        c.metadata.name = name.into();
        c.metadata.dependencies = serde_json::from_value(deps).unwrap();
        c
    }

    #[test]
    fn parents_win_globals_go_down_nulls_delete() {
        let db = chart(
            "db",
            json!({"port": 5432, "image": {"repository": "postgres", "tag": "16"}, "debug": true, "global": {"registry": "docker.io", "x": 1}}),
            vec![],
            json!([]),
        );
        let app = chart(
            "app",
            json!({"global": {"registry": "mirror.local"}, "db": {"image": {"tag": "17"}, "debug": null}}),
            vec![db],
            json!([]),
        );
        let mut values = Map::new();
        coalesce(&app, &mut values);
        let db = &values["db"];
        assert_eq!(db["image"], json!({"repository": "postgres", "tag": "17"}));
        assert_eq!(db["port"], 5432);
        assert!(db.get("debug").is_none(), "a parent's null deletes the key");
        assert_eq!(
            db["global"]["registry"], "mirror.local",
            "the parent's global wins"
        );
        assert_eq!(db["global"]["x"], 1, "the child's other globals stay");
    }

    #[test]
    fn conditions_win_over_tags_and_aliases_rename() {
        let sub = |n: &str| chart(n, json!({}), vec![], json!([]));
        let mut app = chart(
            "app",
            json!({"db": {"enabled": true}, "tags": {"back": false, "front": false}, "worker-b": {"enabled": false}}),
            vec![
                sub("db"),
                sub("cache"),
                sub("extra"),
                sub("web"),
                sub("worker"),
            ],
            json!([
                {"name": "db", "condition": "nosuch.enabled,db.enabled", "tags": ["back"]},
                {"name": "cache", "tags": ["back", "front"]},
                {"name": "web", "alias": "frontend", "tags": ["front"]},
                {"name": "worker", "alias": "worker-a"},
                {"name": "worker", "alias": "worker-b", "condition": "worker-b.enabled"},
            ]),
        );
        process_dependencies(&mut app);
        let names: Vec<&str> = app
            .subcharts
            .iter()
            .map(|c| c.metadata.name.as_str())
            .collect();
        // extra: not listed, kept; db: its condition says yes despite the tag;
        // cache: every set tag false; web (as frontend): its only tag false;
        // worker twice, as worker-a (kept) and worker-b (its condition is false).
        assert_eq!(names, ["extra", "db", "worker-a"]);
        let mut app2 = chart(
            "app",
            json!({"tags": {"front": true}}),
            vec![sub("web")],
            json!([{"name": "web", "alias": "frontend", "tags": ["front"]}]),
        );
        process_dependencies(&mut app2);
        assert_eq!(app2.subcharts[0].metadata.name, "frontend");
    }

    #[test]
    fn import_values_copy_child_values_up() {
        let child = chart(
            "child",
            json!({"exports": {"data": {"port": 80}}, "deep": {"a": {"b": 1}}}),
            vec![],
            json!([]),
        );
        let mut parent = chart(
            "parent",
            json!({"port": 8080}),
            vec![child],
            json!([{"name": "child", "import-values": ["data", {"child": "deep.a", "parent": "got"}]}]),
        );
        process_dependencies(&mut parent);
        assert_eq!(parent.values["port"], 8080, "the parent's own value wins");
        assert_eq!(parent.values["got"], json!({"b": 1}));
    }
}
