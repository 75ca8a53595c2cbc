//! A chart rendered as Helm's engine renders it for oc-mirror: no user
//! values, an empty release name and namespace, Helm's default capabilities
//! (Kubernetes v1.20.0).
//!
//! Around the template engine ([`gotemplate`]) this does what Helm's
//! `chartutil` and `engine` packages do: values coalesced and dependencies
//! kept, renamed or dropped ([`crate::values`]); every template of every
//! kept chart parsed into one set, deepest path first so that a parent's
//! `define` wins over a subchart's; library charts contributing only their
//! `_` files; each template that is not a partial executed with its own
//! chart's `.Values`, `.Chart`, `.Files` and `.Template`, the release and
//! capabilities shared.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use gotemplate::{Arity, Context, Error as TplError, Map, Object, Templates, Value};
use serde_json::Value as Json;

use crate::chart::Chart;
use crate::values;

/// The Kubernetes version Helm's library assumes without a cluster.
pub const KUBE_VERSION: &str = "v1.20.0";
/// The Helm version oc-mirror links (what `.Capabilities.HelmVersion` says).
const HELM_VERSION: &str = "v3.21.4";
/// Nesting of `template`/`include`/`tpl` allowed: Helm stops at 1000, but a
/// plugin's stack is smaller than Helm's, and real charts nest a few dozen.
const MAX_DEPTH: usize = 200;

/// A template's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The template's name in the set (`webapp/charts/cache/templates/sts.yaml`).
    pub name: String,
    pub text: String,
}

/// Why a chart did not render: the template and line, and Go's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// The template file (`webapp/templates/deployment.yaml`), when known.
    pub template: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

/// Go's text, which names the file and line (`template: app/templates/x.yaml:4: …`).
impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl RenderError {
    /// Where it failed (the innermost template and line: a helper's, when a
    /// helper failed) and why (the innermost cause), with the template being
    /// rendered when that is another: not Go's whole chain of calls, which
    /// for a recursion repeats hundreds of times.
    fn from_template(e: &TplError, executing: &str) -> RenderError {
        let outer = e.location();
        let inner = e.innermost_location().or(outer);
        let why = e.root_cause().detail().to_string();
        let Some(at) = inner else {
            return RenderError {
                template: Some(executing.to_string()),
                line: None,
                message: e.to_string(),
            };
        };
        let mut message = format!("template: {}:{}: {why}", at.file, at.line);
        if let Some(o) = outer.filter(|o| o.file != at.file || o.line != at.line) {
            message.push_str(&format!(" (rendering {}, line {})", o.file, o.line));
        }
        RenderError {
            template: Some(at.file.clone()),
            line: Some(at.line),
            message,
        }
    }
}

/// The computed values of a chart and the charts Helm keeps: dependencies
/// processed (conditions, tags, aliases, import-values), then every chart's
/// defaults coalesced under its parent's.
pub fn prepare(mut chart: Chart) -> (Chart, serde_json::Map<String, Json>) {
    values::process_dependencies(&mut chart);
    let mut computed = serde_json::Map::new();
    values::coalesce(&chart, &mut computed);
    (chart, computed)
}

/// One template to parse, with what its chart gives it.
struct Source<'a> {
    name: String,
    text: &'a str,
    /// Rendered (not a partial, not a library chart's).
    render: bool,
    data: Value,
}

/// Renders every template of `chart` (with the values Helm computes for it)
/// and returns the outputs of the ones that are not partials, NOTES.txt
/// included, in Helm's order.
pub fn render(chart: Chart) -> Result<Vec<Rendered>, RenderError> {
    let (chart, computed) = prepare(chart);
    let top = Value::from_json(&Json::Object(computed));
    let release = release();
    let capabilities = Value::object(Capabilities);
    let mut sources = Vec::new();
    collect(&chart, "", &top, &release, &capabilities, &mut sources);
    // Helm's order: deepest path first, then names in reverse; later
    // definitions of a name win.
    sources.sort_by(|a, b| {
        let (da, db) = (a.name.matches('/').count(), b.name.matches('/').count());
        db.cmp(&da).then_with(|| b.name.cmp(&a.name))
    });
    let mut set = Templates::named("gotpl");
    gotemplate::helm::register_all(&mut set);
    let mut limits = set.limits().clone();
    limits.max_depth = MAX_DEPTH;
    set.set_limits(limits);
    for s in &sources {
        set.parse(&s.name, s.text)
            .map_err(|e| RenderError::from_template(&e, &s.name))?;
    }
    let mut out = Vec::new();
    for s in sources.iter().filter(|s| s.render) {
        let text = set
            .execute(&s.name, &s.data)
            .map_err(|e| RenderError::from_template(&e, &s.name))?;
        out.push(Rendered {
            name: s.name.clone(),
            text,
        });
    }
    Ok(out)
}

/// The templates of `chart` and its kept subcharts, each with its data
/// (Helm's `recAllTpls`). `parent` is the parent's template path (empty at
/// the top); `values` the chart's own `.Values`. Returns the chart's data
/// (for the parent's `.Subcharts`).
fn collect<'a>(
    chart: &'a Chart,
    parent: &str,
    values: &Value,
    release: &Value,
    capabilities: &Value,
    out: &mut Vec<Source<'a>>,
) -> Value {
    let name = &chart.metadata.name;
    let path = if parent.is_empty() {
        name.clone()
    } else {
        format!("{parent}/charts/{name}")
    };
    let subcharts = Map::new();
    let data = Map::new();
    data.insert("Chart", chart_object(&chart.raw_metadata));
    data.insert("Files", Value::object(Files::new(chart.files.clone())));
    data.insert("Release", release.clone());
    data.insert("Capabilities", capabilities.clone());
    data.insert("Values", values.clone());
    data.insert("Subcharts", Value::Map(subcharts.clone()));
    for sub in &chart.subcharts {
        let sub_values = match values {
            Value::Map(m) => match m.get(&sub.metadata.name) {
                Some(v @ Value::Map(_)) => v,
                _ => Value::new_map(),
            },
            _ => Value::new_map(),
        };
        let sub_data = collect(sub, &path, &sub_values, release, capabilities, out);
        subcharts.insert(&sub.metadata.name, sub_data);
    }
    let library = chart.is_library();
    for (file, text) in &chart.templates {
        let base = file.rsplit('/').next().unwrap_or(file);
        let partial = base.starts_with('_');
        if library && !partial {
            continue;
        }
        let full = format!("{path}/{file}");
        let this = Map::from(data.borrow().clone());
        let template = Map::new();
        template.insert("Name", Value::from(full.as_str()));
        template.insert("BasePath", Value::from(format!("{path}/templates")));
        this.insert("Template", Value::Map(template));
        out.push(Source {
            name: full,
            text,
            render: !partial,
            data: Value::Map(this),
        });
    }
    Value::Map(data)
}

/// `.Release` as `ReleaseOptions{}` leaves it.
fn release() -> Value {
    let m = Map::new();
    m.insert("Name", Value::from(""));
    m.insert("Namespace", Value::from(""));
    m.insert("Revision", Value::Int(0));
    m.insert("IsUpgrade", Value::Bool(false));
    m.insert("IsInstall", Value::Bool(false));
    m.insert("Service", Value::from("Helm"));
    Value::Map(m)
}

/// `.Chart`: Chart.yaml's fields with Helm's Go names, strings that are
/// absent as empty strings (Go's zero value).
fn chart_object(raw: &Json) -> Value {
    let m = Map::new();
    for key in [
        "Name",
        "Home",
        "Version",
        "Description",
        "Icon",
        "APIVersion",
        "Condition",
        "Tags",
        "AppVersion",
        "KubeVersion",
        "Type",
    ] {
        m.insert(key, Value::from(""));
    }
    m.insert("Deprecated", Value::Bool(false));
    if let Json::Object(fields) = raw {
        for (key, value) in fields {
            let go = match key.as_str() {
                "apiVersion" => "APIVersion".to_string(),
                "appVersion" => "AppVersion".to_string(),
                "kubeVersion" => "KubeVersion".to_string(),
                other => {
                    let mut c = other.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect(),
                        None => continue,
                    }
                }
            };
            // Chart.yaml's strings stay strings (`version: 1.10` is "1.10").
            let v = match value {
                Json::Number(n) => Value::from(n.to_string()),
                other => Value::from_json(other),
            };
            m.insert(&go, v);
        }
    }
    Value::Map(m)
}

/// `.Capabilities`.
struct Capabilities;

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*chartutil.Capabilities".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::object(KubeVersion)),
            "APIVersions" => Some(Value::object(ApiVersions)),
            "HelmVersion" => {
                let m = Map::new();
                m.insert("Version", Value::from(HELM_VERSION));
                m.insert("GitCommit", Value::from(""));
                m.insert("GitTreeState", Value::from("clean"));
                m.insert("GoVersion", Value::from("go1.24"));
                Some(Value::Map(m))
            }
            _ => None,
        }
    }
}

/// `.Capabilities.KubeVersion`: prints as `v1.20.0`.
struct KubeVersion;

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "chartutil.KubeVersion".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::from(KUBE_VERSION)),
            "Major" => Some(Value::from("1")),
            "Minor" => Some(Value::from("20")),
            _ => None,
        }
    }

    fn string(&self) -> Option<String> {
        Some(KUBE_VERSION.into())
    }
}

/// The group/versions of client-go's scheme (what Helm's default
/// capabilities hold), with the kinds charts ask for by `group/version/Kind`.
const API_VERSIONS: &[(&str, &[&str])] = &[
    (
        "v1",
        &[
            "Pod",
            "Service",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "Namespace",
            "Endpoints",
            "LimitRange",
            "ResourceQuota",
            "Event",
            "Node",
            "ReplicationController",
        ],
    ),
    (
        "admissionregistration.k8s.io/v1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ],
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ],
    ),
    (
        "admissionregistration.k8s.io/v1alpha1",
        &[
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ],
    ),
    ("apiextensions.k8s.io/v1", &["CustomResourceDefinition"]),
    (
        "apiextensions.k8s.io/v1beta1",
        &["CustomResourceDefinition"],
    ),
    (
        "apps/v1",
        &[
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ControllerRevision",
        ],
    ),
    (
        "apps/v1beta1",
        &["Deployment", "StatefulSet", "ControllerRevision"],
    ),
    (
        "apps/v1beta2",
        &[
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ControllerRevision",
        ],
    ),
    (
        "authentication.k8s.io/v1",
        &["TokenReview", "TokenRequest", "SelfSubjectReview"],
    ),
    (
        "authentication.k8s.io/v1beta1",
        &["TokenReview", "SelfSubjectReview"],
    ),
    ("authentication.k8s.io/v1alpha1", &["SelfSubjectReview"]),
    (
        "authorization.k8s.io/v1",
        &[
            "SubjectAccessReview",
            "SelfSubjectAccessReview",
            "LocalSubjectAccessReview",
            "SelfSubjectRulesReview",
        ],
    ),
    (
        "authorization.k8s.io/v1beta1",
        &[
            "SubjectAccessReview",
            "SelfSubjectAccessReview",
            "LocalSubjectAccessReview",
            "SelfSubjectRulesReview",
        ],
    ),
    ("autoscaling/v1", &["HorizontalPodAutoscaler", "Scale"]),
    ("autoscaling/v2", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2beta1", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2beta2", &["HorizontalPodAutoscaler"]),
    ("batch/v1", &["Job", "CronJob"]),
    ("batch/v1beta1", &["CronJob"]),
    ("certificates.k8s.io/v1", &["CertificateSigningRequest"]),
    (
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
    ),
    ("certificates.k8s.io/v1alpha1", &["ClusterTrustBundle"]),
    ("coordination.k8s.io/v1", &["Lease"]),
    ("coordination.k8s.io/v1beta1", &["Lease"]),
    ("discovery.k8s.io/v1", &["EndpointSlice"]),
    ("discovery.k8s.io/v1beta1", &["EndpointSlice"]),
    ("events.k8s.io/v1", &["Event"]),
    ("events.k8s.io/v1beta1", &["Event"]),
    (
        "extensions/v1beta1",
        &[
            "Deployment",
            "DaemonSet",
            "ReplicaSet",
            "Ingress",
            "NetworkPolicy",
            "PodSecurityPolicy",
        ],
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "networking.k8s.io/v1",
        &["Ingress", "IngressClass", "NetworkPolicy"],
    ),
    (
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass", "IPAddress", "ServiceCIDR"],
    ),
    ("networking.k8s.io/v1alpha1", &["IPAddress", "ServiceCIDR"]),
    ("node.k8s.io/v1", &["RuntimeClass"]),
    ("node.k8s.io/v1beta1", &["RuntimeClass"]),
    ("node.k8s.io/v1alpha1", &["RuntimeClass"]),
    ("policy/v1", &["PodDisruptionBudget", "Eviction"]),
    (
        "policy/v1beta1",
        &["PodDisruptionBudget", "PodSecurityPolicy", "Eviction"],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    ),
    (
        "rbac.authorization.k8s.io/v1alpha1",
        &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    ),
    (
        "resource.k8s.io/v1beta1",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
    ),
    (
        "resource.k8s.io/v1alpha3",
        &[
            "DeviceClass",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
    ),
    ("scheduling.k8s.io/v1", &["PriorityClass"]),
    ("scheduling.k8s.io/v1beta1", &["PriorityClass"]),
    ("scheduling.k8s.io/v1alpha1", &["PriorityClass"]),
    (
        "storage.k8s.io/v1",
        &[
            "StorageClass",
            "VolumeAttachment",
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
        ],
    ),
    (
        "storage.k8s.io/v1beta1",
        &[
            "StorageClass",
            "VolumeAttachment",
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "VolumeAttributesClass",
        ],
    ),
    (
        "storage.k8s.io/v1alpha1",
        &["VolumeAttachment", "VolumeAttributesClass"],
    ),
    (
        "storagemigration.k8s.io/v1alpha1",
        &["StorageVersionMigration"],
    ),
];

/// Whether Helm's default capabilities hold `gv` or `gv/Kind`.
pub fn has_api_version(wanted: &str) -> bool {
    API_VERSIONS.iter().any(|(gv, kinds)| {
        wanted == *gv
            || wanted
                .strip_prefix(gv)
                .and_then(|k| k.strip_prefix('/'))
                .is_some_and(|k| kinds.contains(&k))
    })
}

/// `.Capabilities.APIVersions`: `Has`.
struct ApiVersions;

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "chartutil.VersionSet".into()
    }

    fn method_arity(&self, name: &str) -> Option<Arity> {
        (name == "Has").then_some(Arity::Exact(1))
    }

    fn call_method(
        &self,
        _: &mut Context<'_>,
        _: &str,
        args: Vec<Value>,
    ) -> Result<Value, TplError> {
        let wanted = args[0]
            .as_str()
            .ok_or_else(|| TplError::arg_type("string", &args[0]))?;
        Ok(Value::Bool(has_api_version(wanted)))
    }

    fn value(&self) -> Option<Value> {
        Some(Value::list(
            API_VERSIONS
                .iter()
                .map(|(gv, _)| Value::from(*gv))
                .collect(),
        ))
    }
}

/// `.Files`: a chart's files that are not templates, values or subcharts.
#[derive(Clone)]
pub struct Files {
    files: Rc<BTreeMap<String, Vec<u8>>>,
}

impl Files {
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Files {
        Files {
            files: Rc::new(files),
        }
    }

    fn text(&self, name: &str) -> String {
        self.files
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }

    fn method_arity(&self, name: &str) -> Option<Arity> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(Arity::Exact(1)),
            "AsConfig" | "AsSecrets" => Some(Arity::Exact(0)),
            _ => None,
        }
    }

    fn call_method(
        &self,
        _: &mut Context<'_>,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, TplError> {
        let arg = || {
            args[0]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| TplError::arg_type("string", &args[0]))
        };
        Ok(match name {
            "Get" => Value::from(self.text(&arg()?)),
            "GetBytes" => Value::list(
                self.files
                    .get(&arg()?)
                    .map(|b| b.iter().map(|x| Value::Int(i64::from(*x))).collect())
                    .unwrap_or_default(),
            ),
            "Lines" => {
                let text = self.text(&arg()?);
                if text.is_empty() {
                    Value::list(Vec::new())
                } else {
                    Value::list(text.split('\n').map(Value::from).collect())
                }
            }
            "Glob" => {
                let pattern = arg()?;
                let kept = self
                    .files
                    .iter()
                    .filter(|(p, _)| glob(&pattern, p))
                    .map(|(p, b)| (p.clone(), b.clone()))
                    .collect();
                Value::object(Files::new(kept))
            }
            "AsConfig" => Value::from(yaml_map(
                self.files
                    .iter()
                    .map(|(p, b)| (base(p), String::from_utf8_lossy(b).into_owned())),
            )?),
            "AsSecrets" => {
                Value::from(yaml_map(self.files.iter().map(|(p, b)| {
                    (base(p), base64::engine::general_purpose::STANDARD.encode(b))
                }))?)
            }
            _ => return Err(TplError::new(format!("engine.files has no method {name}"))),
        })
    }

    fn value(&self) -> Option<Value> {
        let m = Map::new();
        for (p, b) in self.files.iter() {
            m.insert(
                p,
                Value::list(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
            );
        }
        Some(Value::Map(m))
    }
}

fn base(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// A map of strings as YAML (what `AsConfig` and `AsSecrets` give), as
/// `toYaml` writes it.
fn yaml_map(entries: impl Iterator<Item = (String, String)>) -> Result<String, TplError> {
    let m = Map::new();
    for (k, v) in entries {
        m.insert(k, Value::from(v));
    }
    let yaml = gotemplate::sprig::to_yaml_string(&Value::Map(m))?;
    Ok(yaml.strip_suffix('\n').unwrap_or(&yaml).to_string())
}

/// Glob matching as Helm's `.Files.Glob` (gobwas/glob with `/` as the
/// separator): `*` and `?` stay within a path segment, `**` crosses them,
/// `[abc]`/`[!a-z]` classes, `{a,b}` alternatives.
pub fn glob(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    glob_at(&p, &s, 0)
}

fn glob_at(p: &[char], s: &[char], depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let Some(&c) = p.first() else {
        return s.is_empty();
    };
    match c {
        '*' => {
            let any_depth = p.get(1) == Some(&'*');
            let rest = if any_depth { &p[2..] } else { &p[1..] };
            for i in 0..=s.len() {
                if glob_at(rest, &s[i..], depth + 1) {
                    return true;
                }
                if i < s.len() && s[i] == '/' && !any_depth {
                    return false;
                }
            }
            false
        }
        '?' => !s.is_empty() && s[0] != '/' && glob_at(&p[1..], &s[1..], depth + 1),
        '[' => {
            let Some(end) = p.iter().skip(1).position(|&x| x == ']').map(|i| i + 1) else {
                return !s.is_empty() && s[0] == '[' && glob_at(&p[1..], &s[1..], depth + 1);
            };
            let Some(&ch) = s.first() else {
                return false;
            };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= ch && ch <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == ch;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[end + 1..], &s[1..], depth + 1)
        }
        '{' => {
            let Some(end) = p.iter().position(|&x| x == '}') else {
                return !s.is_empty() && s[0] == '{' && glob_at(&p[1..], &s[1..], depth + 1);
            };
            let rest = &p[end + 1..];
            p[1..end].split(|&x| x == ',').any(|alt| {
                let mut q = alt.to_vec();
                q.extend_from_slice(rest);
                glob_at(&q, s, depth + 1)
            })
        }
        '\\' if p.len() > 1 => {
            !s.is_empty() && s[0] == p[1] && glob_at(&p[2..], &s[1..], depth + 1)
        }
        _ => !s.is_empty() && s[0] == c && glob_at(&p[1..], &s[1..], depth + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive;

    fn chart(files: &[(&str, &str)]) -> Chart {
        let files = archive::from_pairs(
            files
                .iter()
                .map(|(p, t)| (format!("app/{p}"), t.as_bytes().to_vec())),
        );
        Chart::load(&files, "app").unwrap()
    }

    fn rendered(out: &[Rendered], name: &str) -> String {
        out.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} not rendered: {out:?}"))
            .text
            .clone()
    }

    #[test]
    fn subcharts_see_their_values_and_parents_win_defines() {
        let out = render(chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\nappVersion: \"2.1\"\ndependencies:\n  - name: db\n    condition: db.enabled\n  - name: off\n    condition: off.enabled\n"),
            ("values.yaml", "image: {tag: \"1.0\"}\ndb: {port: 6000}\noff: {enabled: false}\nglobal: {registry: mirror.example}\n"),
            ("templates/_helpers.tpl", "{{ define \"name\" }}parent{{ end }}"),
            ("templates/cm.yaml", "name: {{ include \"name\" . }}\nchart: {{ .Chart.Name }}-{{ .Chart.AppVersion }}\nrelease: [{{ .Release.Name }}]\ntemplate: {{ .Template.Name }}\nkube: {{ .Capabilities.KubeVersion }}\npolicy: {{ .Capabilities.APIVersions.Has \"policy/v1/PodDisruptionBudget\" }}\nmonitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}\n"),
            ("templates/NOTES.txt", "thanks"),
            ("charts/db/Chart.yaml", "name: db\nversion: 0.1.0\n"),
            ("charts/db/values.yaml", "port: 5432\nenabled: true\n"),
            ("charts/db/templates/_helpers.tpl", "{{ define \"name\" }}child{{ end }}"),
            ("charts/db/templates/sts.yaml", "port: {{ .Values.port }}\nregistry: {{ .Values.global.registry }}\nname: {{ include \"name\" . }}\nbase: {{ .Template.BasePath }}\n"),
            ("charts/off/Chart.yaml", "name: off\nversion: 0.1.0\n"),
            ("charts/off/templates/x.yaml", "{{ fail \"never\" }}"),
        ]))
        .unwrap();
        let names: Vec<&str> = out.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app/charts/db/templates/sts.yaml",
                "app/templates/cm.yaml",
                "app/templates/NOTES.txt"
            ]
        );
        assert_eq!(
            rendered(&out, "app/templates/cm.yaml"),
            "name: parent\nchart: app-2.1\nrelease: []\ntemplate: app/templates/cm.yaml\nkube: v1.20.0\npolicy: true\nmonitoring: false\n"
        );
        assert_eq!(
            rendered(&out, "app/charts/db/templates/sts.yaml"),
            "port: 6000\nregistry: mirror.example\nname: parent\nbase: app/charts/db/templates\n"
        );
    }

    #[test]
    fn library_charts_give_only_defines_and_errors_name_the_template() {
        let out = render(chart(&[
            ("Chart.yaml", "name: app\nversion: 1.0.0\n"),
            ("templates/a.yaml", "{{ include \"lib.x\" . }}"),
            (
                "charts/lib/Chart.yaml",
                "name: lib\nversion: 1.0.0\ntype: library\n",
            ),
            (
                "charts/lib/templates/_x.tpl",
                "{{ define \"lib.x\" }}from-lib{{ end }}",
            ),
            (
                "charts/lib/templates/bad.yaml",
                "{{ fail \"a library's templates are not rendered\" }}",
            ),
        ]))
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "from-lib");

        let err = render(chart(&[
            ("Chart.yaml", "name: app\nversion: 1.0.0\n"),
            ("templates/ok.yaml", "x: 1\n"),
            (
                "templates/bad.yaml",
                "a: 1\nb: {{ required \"set .Values.password\" .Values.password }}\n",
            ),
        ]))
        .unwrap_err();
        assert_eq!(err.template.as_deref(), Some("app/templates/bad.yaml"));
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("set .Values.password"), "{err}");
    }

    #[test]
    fn files_get_glob_and_config() {
        let out = render(chart(&[
            ("Chart.yaml", "name: app\nversion: 1.0.0\n"),
            ("files/a.conf", "x=1\ny=2\n"),
            ("files/b.conf", "z"),
            ("files/sub/c.conf", "deep"),
            ("templates/cm.yaml", "{{ .Files.Get \"files/b.conf\" }}|{{ len (.Files.Lines \"files/a.conf\") }}|{{ range $p, $_ := .Files.Glob \"files/*.conf\" }}{{ $p }},{{ end }}|{{ range $p, $_ := .Files.Glob \"files/**.conf\" }}{{ $p }},{{ end }}\n{{ (.Files.Glob \"files/*.conf\").AsConfig }}\n{{ (.Files.Glob \"files/b*\").AsSecrets }}"),
        ]))
        .unwrap();
        assert_eq!(
            out[0].text,
            "z|3|files/a.conf,files/b.conf,|files/a.conf,files/b.conf,files/sub/c.conf,\na.conf: |\n  x=1\n  y=2\nb.conf: z\nb.conf: eg=="
        );
    }

    #[test]
    fn hostile_templates_fail_cleanly() {
        let chart_with = |tpl: &str| {
            chart(&[
                ("Chart.yaml", "name: app\nversion: 1.0.0\n"),
                ("values.yaml", "n: 100000000\ns: '{{ tpl .Values.s . }}'\n"),
                ("templates/x.yaml", tpl),
            ])
        };
        for (tpl, why) in [
            (
                "{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}",
                "depth",
            ),
            (
                "{{ define \"t\" }}{{ template \"t\" . }}{{ end }}{{ template \"t\" . }}",
                "depth",
            ),
            ("{{ tpl .Values.s . }}", "depth"),
            ("{{ range until (int .Values.n) }}x{{ end }}", ""),
            ("{{ repeat 100000000 \"xxxxxxxxxx\" }}", ""),
            ("{{ .Values.missing.deeper }}", "nil pointer"),
            ("{{ include \"nosuch\" . }}", "nosuch"),
            ("{{ if }}", ""),
        ] {
            let err = render(chart_with(tpl)).expect_err(tpl);
            assert!(err.message.contains(why), "{tpl}: {err}");
            assert!(
                err.message.len() < 2000,
                "{tpl}: a short message, not the whole chain"
            );
        }
    }

    #[test]
    fn globs() {
        assert!(glob("files/*.yaml", "files/a.yaml"));
        assert!(!glob("files/*.yaml", "files/x/a.yaml"));
        assert!(glob("files/**.yaml", "files/x/a.yaml"));
        assert!(glob("files/**/*.yaml", "files/x/a.yaml"));
        assert!(glob("conf/{a,b}.ini", "conf/b.ini"));
        assert!(glob("f?le[0-9].txt", "file7.txt"));
        assert!(!glob("f?le[!0-9].txt", "file7.txt"));
        assert!(!glob("*", "a/b"));
    }
}
