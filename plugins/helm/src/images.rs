//! The images a rendered chart runs.
//!
//! oc-mirror reads four JSONPaths per rendered document (the containers and
//! init containers of `.spec` and `.spec.template.spec`) plus the chart's
//! `imagePaths`, and drops hooks. A disconnected cluster needs more, so this
//! reads every container list (`containers`, `initContainers`,
//! `ephemeralContainers`) of the pod spec of every workload shape — a Pod's
//! `.spec`, a Deployment/StatefulSet/DaemonSet/ReplicaSet/Job's
//! `.spec.template.spec`, a CronJob's `.spec.jobTemplate.spec.template.spec` —
//! and the hooks that run at install or upgrade (an admission webhook's
//! certificate job, say), leaving out only `helm.sh/hook: test` pods. User
//! `imagePaths` are a subset of Kubernetes JSONPath: `{.a.b[*].c}`, `[N]`,
//! `['key']`, and `..key` (anywhere below).
//!
//! A reference without tag or digest is not guessed as `latest`: it is
//! reported, and left out.

use oc_mirror_plugin_sdk::ImageReference;
use serde_json::Value;

/// Where pod specs sit in the workload kinds.
const POD_SPECS: &[&[&str]] = &[
    &["spec"],
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
];
/// The container lists of a pod spec.
const CONTAINER_LISTS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];

/// An image found, and the template that put it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub reference: String,
    pub template: String,
}

/// What a document's images are, or why some are left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    pub images: Vec<Found>,
    /// References without tag or digest, and documents that are not YAML.
    pub warnings: Vec<String>,
}

/// Whether a document is a Helm test hook (never installed by a mirror's
/// user, so its images are not needed).
fn is_test_hook(doc: &Value) -> bool {
    doc.pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(Value::as_str)
        .is_some_and(|hooks| {
            hooks
                .split(',')
                .map(str::trim)
                .any(|h| h == "test" || h == "test-success" || h == "test-failure")
        })
}

/// Splits a rendered template into YAML documents (Helm's `---` lines).
pub fn documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            out.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    out.push(&text[start..]);
    out.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

impl Discovery {
    /// Reads the images of the documents `template` rendered to.
    pub fn add_rendered(&mut self, template: &str, rendered: &str, image_paths: &[Path]) {
        for doc in documents(rendered) {
            let value: Value = match serde_norway::from_str(doc) {
                Ok(v) => v,
                Err(e) => {
                    self.warnings
                        .push(format!("{template}: a rendered document is not YAML: {e}"));
                    continue;
                }
            };
            if !value.is_object() || is_test_hook(&value) {
                continue;
            }
            let mut refs = Vec::new();
            for at in POD_SPECS {
                let Some(spec) = at.iter().try_fold(&value, |v, k| v.get(*k)) else {
                    continue;
                };
                for list in CONTAINER_LISTS {
                    for c in spec
                        .get(*list)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(image) = c.get("image").and_then(Value::as_str) {
                            refs.push((image.to_string(), false));
                        }
                    }
                }
            }
            for path in image_paths {
                for v in path.select(&value) {
                    match v {
                        Value::String(s) => {
                            refs.extend(s.split_whitespace().map(|t| (t.to_string(), true)))
                        }
                        Value::Array(a) => refs.extend(
                            a.iter()
                                .filter_map(Value::as_str)
                                .flat_map(str::split_whitespace)
                                .map(|t| (t.to_string(), true)),
                        ),
                        _ => {}
                    }
                }
            }
            for (r, from_path) in refs {
                let r = r.trim().to_string();
                if r.is_empty() {
                    continue;
                }
                if ImageReference::parse(&r).is_err() {
                    // A word of an `imagePaths` value that is no reference
                    // (a flag, say) is skipped, as oc-mirror skips it.
                    if !from_path {
                        self.warnings.push(format!(
                            "{template}: `{r}` is not an image reference and is not mirrored"
                        ));
                    }
                    continue;
                }
                if !has_tag_or_digest(&r) {
                    self.warnings.push(format!(
                        "{template}: image `{r}` has neither tag nor digest and is not mirrored (a tag is never guessed)"
                    ));
                    continue;
                }
                let found = Found {
                    reference: r,
                    template: template.to_string(),
                };
                if !self.images.contains(&found) {
                    self.images.push(found);
                }
            }
        }
    }
}

/// Whether a reference names a tag or a digest.
pub fn has_tag_or_digest(reference: &str) -> bool {
    if reference.contains('@') {
        return true;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.contains(':')
}

/// A JSONPath expression of `imagePaths`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Any,
    Index(usize),
    Descend(String),
}

impl Path {
    /// Parses `{.spec.containers[*].image}` (braces optional).
    pub fn parse(text: &str) -> Result<Path, String> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t)
            .trim();
        let bad = |why: &str| format!("image path `{text}`: {why}");
        let chars: Vec<char> = t.chars().collect();
        let mut i = 0;
        let mut steps = Vec::new();
        let ident = |i: &mut usize| {
            let start = *i;
            while *i < chars.len() && !matches!(chars[*i], '.' | '[') {
                *i += 1;
            }
            chars[start..*i].iter().collect::<String>()
        };
        while i < chars.len() {
            match chars[i] {
                '.' if chars.get(i + 1) == Some(&'.') => {
                    i += 2;
                    let key = ident(&mut i);
                    if key.is_empty() {
                        return Err(bad("`..` needs a key after it"));
                    }
                    steps.push(Step::Descend(key));
                }
                '.' => {
                    i += 1;
                    let key = ident(&mut i);
                    if !key.is_empty() {
                        steps.push(Step::Key(key));
                    }
                }
                '[' => {
                    let end = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .ok_or_else(|| bad("`[` without `]`"))?;
                    let inner: String = chars[i + 1..i + end].iter().collect();
                    let inner = inner.trim();
                    steps.push(if inner == "*" {
                        Step::Any
                    } else if let Ok(n) = inner.parse() {
                        Step::Index(n)
                    } else if let Some(k) = inner
                        .strip_prefix('\'')
                        .and_then(|k| k.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
                    {
                        Step::Key(k.to_string())
                    } else {
                        return Err(bad(&format!("`[{inner}]` is not supported")));
                    });
                    i += end + 1;
                }
                _ => {
                    let key = ident(&mut i);
                    steps.push(Step::Key(key));
                }
            }
        }
        if steps.is_empty() {
            return Err(bad("it selects nothing"));
        }
        Ok(Path { steps })
    }

    /// Every value the path selects.
    pub fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Key(k) => next.extend(v.get(k)),
                    Step::Index(n) => next.extend(v.get(*n)),
                    Step::Any => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Step::Descend(k) => descend(v, k, &mut next),
                }
            }
            current = next;
        }
        current
    }
}

fn descend<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if let Some(found) = m.get(key) {
                out.push(found);
            }
            for child in m.values() {
                descend(child, key, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                descend(child, key, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = "---
# Source: app/templates/all.yaml
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      initContainers: [{name: init, image: 'busybox:1.36'}]
      containers:
        - name: app
          image: quay.io/app/app:1.0
        - name: sidecar
          image: quay.io/app/sidecar@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
---
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{image: 'quay.io/app/backup:2'}]
---
kind: Job
metadata:
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
spec:
  template:
    spec:
      containers: [{image: 'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4'}]
---
kind: Pod
metadata:
  annotations:
    \"helm.sh/hook\": test
spec:
  containers: [{image: 'busybox:test-only'}]
---
kind: Pod
spec:
  containers: [{image: 'nginx'}]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
spec:
  image: quay.io/prometheus/prometheus:v2.50.0
  args: ['--with=quay.io/x/y:1 quay.io/x/z:2']
";

    #[test]
    fn workloads_hooks_and_image_paths() {
        let mut d = Discovery::default();
        let paths = [
            Path::parse("{.spec.image}").unwrap(),
            Path::parse("{.spec.args[0]}").unwrap(),
        ];
        d.add_rendered("app/templates/all.yaml", RENDERED, &paths);
        let refs: Vec<&str> = d.images.iter().map(|f| f.reference.as_str()).collect();
        assert_eq!(
            refs,
            [
                "busybox:1.36",
                "quay.io/app/app:1.0",
                "quay.io/app/sidecar@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "quay.io/app/backup:2",
                "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4",
                "quay.io/prometheus/prometheus:v2.50.0",
                "quay.io/x/z:2",
            ]
        );
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].contains("`nginx` has neither tag nor digest"),
            "{:?}",
            d.warnings
        );
        assert!(
            d.images
                .iter()
                .all(|f| f.template == "app/templates/all.yaml")
        );
    }

    #[test]
    fn paths_parse_and_select() {
        let v: Value = serde_json::json!({"a": {"b": [{"c": 1}, {"c": 2}], "x": {"c": 3}}});
        let sel = |p: &str| -> Vec<Value> {
            Path::parse(p)
                .unwrap()
                .select(&v)
                .into_iter()
                .cloned()
                .collect()
        };
        assert_eq!(sel("{.a.b[*].c}"), [1, 2]);
        assert_eq!(sel(".a.b[1].c"), [2]);
        assert_eq!(sel("{.a['x'].c}"), [3]);
        assert_eq!(sel("{..c}"), [1, 2, 3]);
        assert!(Path::parse("{.a[?(@.x)]}").is_err());
        assert!(Path::parse("{}").is_err());
        assert_eq!(documents("a: 1\n---\n\n---\nb: 2\n"), ["a: 1\n", "b: 2\n"]);
        assert!(has_tag_or_digest("localhost:5000/app:1"));
        assert!(!has_tag_or_digest("localhost:5000/app"));
    }
}
