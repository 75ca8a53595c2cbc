//! `oc-mirror-helm-bench`: how long the shipped `helm` plugin (wasm, embedded
//! in the `oc-mirror` binary) takes to render a large chart, warm.
//!
//! - Generates, in a work directory, a chart `bench` whose `charts/common` is
//!   the fixture library (`tests/data/charts/common`, 106 defines) and whose
//!   `templates/` holds `--templates` (50) workloads — Deployments,
//!   StatefulSets, Jobs (some install hooks) and CronJobs in turn — each
//!   calling the library's helpers heavily (names, labels, annotations,
//!   `common.images.image` with dict contexts, `common.tplvalues.render`,
//!   affinity presets, resources presets, security contexts, capabilities,
//!   probes, validations), each with its own tagged image in `values.yaml`,
//!   plus a `_helpers.tpl`. `--copies` (21) copies of it differ only in the
//!   `version` of their `Chart.yaml`.
//! - Times `oc-mirror plan -c isc.yaml -o json` over one copy (`t_1`) and over
//!   every copy (`t_N`), each a separate `helm.local[]` entry (a directory),
//!   so every copy is rendered by the same plugin instance. Local charts and
//!   `plan`: no registry, no network. Wall time is spawn to exit; each case
//!   runs `--runs` (3) times, alternating, and the median counts. The warm
//!   time per chart is `(t_N − t_1) / (N − 1)`: what one more chart costs once
//!   the process has started and the plugin is instantiated (it includes the
//!   host reading the directory and handing its archive to the plugin).
//! - Checks the plan: every copy is listed, each with exactly `--templates`
//!   distinct images, the ones `values.yaml` names. A failed check is an
//!   error (exit 1).
//! - When the native render example is already built
//!   (`target/plugins/release/examples/render`, by `cargo build --release
//!   --manifest-path plugins/Cargo.toml -p helm --example render`), runs it on
//!   the chart (`--times 20`) for the same engine compiled natively, and once
//!   with `--show` for the size of the rendered manifests. It is never built
//!   from here.
//!
//! Target (issue 11): ≤ 50 ms per chart, warm, printed PASS/MISS; a miss
//! does not fail the bench.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use oc_mirror_tests::{charts, isc, stats, tools};
use serde_json::Value;

const USAGE: &str = "\
usage: oc-mirror-helm-bench [--templates N] [--copies N] [--runs N] [--times N]
                            [--work-dir DIR] [--keep]

Generates a chart of N workload templates over the fixture library chart
`common` (106 defines) and times the helm plugin in the oc-mirror binary
(`oc-mirror plan -o json` over local charts): one chart, then --copies
copies of it; the difference gives the warm time per chart.

  --templates N   workload templates in the chart (default 50)
  --copies N      copies of the chart in the big run (default 21, at least 2)
  --runs N        repetitions of each timed case; the median counts (default 3)
  --times N       renders of the native example, when it is built (default 20)
  --work-dir DIR  where the charts, configurations and outputs go (default: a temp dir)
  --keep          keep the work directory
  --no-values-roundtrip
                  a variant of the library in which the helpers that read
                  `(.Values | toYaml | fromYaml)` read `.Values` itself (for
                  seeing what the rest of the render costs)
";

/// The target of issue 11: warm render time per chart.
const TARGET_MS: f64 = 50.0;

/// Kinds of workload the templates take in turn.
const KINDS: [&str; 4] = ["Deployment", "StatefulSet", "Job", "CronJob"];

/// Component names (with a number appended) for the 50 workloads.
const WORDS: [&str; 10] = [
    "api",
    "worker",
    "scheduler",
    "indexer",
    "gateway",
    "ingester",
    "compactor",
    "querier",
    "notifier",
    "exporter",
];

/// Resources presets of `common.resources.preset`.
const PRESETS: [&str; 5] = ["nano", "micro", "small", "medium", "large"];

struct Opts {
    templates: usize,
    copies: usize,
    runs: usize,
    times: usize,
    work_dir: Option<PathBuf>,
    keep: bool,
    no_values_roundtrip: bool,
}

fn parse_args() -> anyhow::Result<Option<Opts>> {
    let mut o = Opts {
        templates: 50,
        copies: 21,
        runs: 3,
        times: 20,
        work_dir: None,
        keep: false,
        no_values_roundtrip: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--templates" => o.templates = number("--templates")?.max(1),
            "--copies" => o.copies = number("--copies")?,
            "--runs" => o.runs = number("--runs")?.max(1),
            "--times" => o.times = number("--times")?.max(1),
            "--work-dir" => {
                o.work_dir = Some(PathBuf::from(
                    args.next().context("--work-dir needs a value")?,
                ))
            }
            "--keep" => o.keep = true,
            "--no-values-roundtrip" => o.no_values_roundtrip = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    ensure!(o.copies >= 2, "--copies must be at least 2");
    Ok(Some(o))
}

// ---------------------------------------------------------------------------
// The chart
// ---------------------------------------------------------------------------

/// One workload of the chart.
struct Component {
    /// Its key in `values.yaml` (`c07`).
    key: String,
    /// Its name (`querier-0`), also the image's repository under `bench/`.
    name: String,
    kind: &'static str,
    tag: String,
}

impl Component {
    fn new(i: usize) -> Self {
        Component {
            key: format!("c{i:02}"),
            name: format!("{}-{}", WORDS[i % WORDS.len()], i / WORDS.len()),
            kind: KINDS[i % KINDS.len()],
            tag: format!("{}.{}.{}", 1 + i % 3, i, i % 7),
        }
    }

    /// The image reference the chart renders for it.
    fn reference(&self) -> String {
        format!(
            "{}/bench/{}:{}",
            charts::REGISTRY_PLACEHOLDER,
            self.name,
            self.tag
        )
    }
}

fn components(n: usize) -> Vec<Component> {
    (0..n).map(Component::new).collect()
}

const HELPERS: &str = r#"{{/* vim: set filetype=mustache: */}}
{{/*
The image of a component, through the library (global registry, the chart's
appVersion when the tag is empty).
Usage:
{{ include "bench.image" (dict "imageRoot" .Values.c00.image "context" $) }}
*/}}
{{- define "bench.image" -}}
{{ include "common.images.image" (dict "imageRoot" .imageRoot "global" .context.Values.global "chart" .context.Chart) }}
{{- end -}}

{{/*
Checks a component's values; fails on a missing image or an unknown preset.
Usage:
{{ include "bench.validateValues" (dict "key" "c00" "context" $) }}
*/}}
{{- define "bench.validateValues" -}}
{{- $v := index .context.Values .key -}}
{{- include "common.validations.values.multiple.empty" (dict "required" (list (dict "valueKey" (printf "%s.image.repository" .key)) (dict "valueKey" (printf "%s.image.tag" .key))) "context" .context) -}}
{{- include "common.validations.values.oneOf" (dict "valueKey" (printf "%s.resourcesPreset" .key) "value" $v.resourcesPreset "allowed" (list "none" "nano" "micro" "small" "medium" "large")) -}}
{{- end -}}

{{/*
The metadata every object of a component carries.
Usage:
{{ include "bench.metadata" (dict "component" "api-0" "context" $) }}
*/}}
{{- define "bench.metadata" -}}
name: {{ include "common.names.component" (dict "component" .component "context" .context) }}
namespace: {{ include "common.names.namespace" .context | quote }}
labels: {{- include "common.labels.component" (dict "component" .component "customLabels" .context.Values.commonLabels "context" .context) | nindent 2 }}
{{- end -}}
"#;

/// The head of every template: the component's values, checks, and the
/// object's metadata (`@HOOK@` for a Job's hook annotations).
const HEAD: &str = r#"{{- $v := .Values.@KEY@ }}
{{- $component := "@NAME@" }}
{{- if $v.enabled }}
{{- include "bench.validateValues" (dict "key" "@KEY@" "context" $) }}
apiVersion: {{ include "common.capabilities.@API@.apiVersion" . }}
kind: @KIND@
metadata:
  {{- include "bench.metadata" (dict "component" $component "context" $) | nindent 2 }}
  annotations:
    {{- with $v.hook }}
    {{- include "common.annotations.hook" (dict "hook" . "weight" -5 "deletePolicy" "before-hook-creation") | nindent 4 }}
    {{- end }}
    {{- with include "common.annotations.standard" (dict "annotations" $.Values.commonAnnotations "context" $) }}
    {{- . | nindent 4 }}
    {{- end }}
"#;

/// A pod template (`metadata` and `spec`), at the indentation of a
/// Deployment's `spec.template`; `@RESTART@` is the restart policy line,
/// `@VOLUMES@` the fixed volumes.
const POD: &str = r#"    metadata: {{- include "common.pods.metadata" (dict "component" $component "podLabels" $v.podLabels "podAnnotations" $v.podAnnotations "context" $) | nindent 6 }}
    spec:
      serviceAccountName: {{ include "common.names.serviceAccount" (dict "serviceAccount" $v.serviceAccount "context" $) }}
      automountServiceAccountToken: {{ include "common.serviceAccount.automount" $v.serviceAccount }}
      {{- include "common.images.renderPullSecrets" (dict "images" (list $v.image) "context" $) | nindent 6 }}
      {{- include "common.pods.scheduling" (dict "values" $v "component" $component "context" $) | nindent 6 }}
      {{- include "common.pods.securityContext" (dict "securityContext" $v.podSecurityContext "context" $) | nindent 6 }}
      {{- if include "common.capabilities.atLeast" (dict "version" "1.19" "context" $) }}
      enableServiceLinks: false
      {{- end }}
@RESTART@
      initContainers:
        - name: prepare
          image: {{ include "bench.image" (dict "imageRoot" $v.image "context" $) }}
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "imageRoot" $v.image) }}
          command: ["/bin/sh", "-c", "mkdir -p /data/{{ $component }} && chmod 0750 /data/{{ $component }}"]
          {{- include "common.containers.securityContext" (dict "securityContext" $v.containerSecurityContext "context" $) | nindent 10 }}
          {{- include "common.containers.resources" (dict "preset" "nano") | nindent 10 }}
          volumeMounts:
            - name: data
              mountPath: /data
      containers:
        - name: {{ $component }}
          image: {{ include "bench.image" (dict "imageRoot" $v.image "context" $) }}
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "imageRoot" $v.image) }}
          {{- with $v.command }}
          command: {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 12 }}
          {{- end }}
          {{- with $v.args }}
          args: {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 12 }}
          {{- end }}
          {{- include "common.containers.securityContext" (dict "securityContext" $v.containerSecurityContext "context" $) | nindent 10 }}
          {{- include "common.containers.env" (dict "env" (dict "COMPONENT" $component "FULLNAME" (include "common.names.fullname" $) "KUBE_VERSION" (include "common.capabilities.kubeVersion" $)) "extraEnvVars" $v.extraEnvVars "context" $) | nindent 10 }}
          {{- include "common.containers.ports" (dict "ports" $v.containerPorts) | nindent 10 }}
          {{- include "common.containers.probe" (dict "name" "livenessProbe" "probe" $v.livenessProbe "port" "http" "path" "/healthz" "context" $) | nindent 10 }}
          {{- include "common.containers.probe" (dict "name" "readinessProbe" "probe" $v.readinessProbe "port" "http" "context" $) | nindent 10 }}
          {{- include "common.containers.resources" (dict "resources" $v.resources "preset" $v.resourcesPreset) | nindent 10 }}
          {{- include "common.containers.volumeMounts" (dict "mounts" (list (dict "name" "data" "mountPath" "/data") (dict "name" "tmp" "mountPath" "/tmp")) "extra" $v.extraVolumeMounts "context" $) | nindent 10 }}
        {{- include "common.pods.extraContainers" (dict "containers" $v.sidecars "context" $) | nindent 8 }}
      {{- include "common.pods.volumes" (dict "volumes" @VOLUMES@ "extra" $v.extraVolumes "context" $) | nindent 6 }}
"#;

/// A PodDisruptionBudget after a Deployment or a StatefulSet.
const PDB: &str = r#"{{- if $v.pdb.create }}
---
apiVersion: {{ include "common.capabilities.policy.apiVersion" . }}
kind: PodDisruptionBudget
metadata:
  {{- include "bench.metadata" (dict "component" $component "context" $) | nindent 2 }}
spec:
  minAvailable: {{ $v.pdb.minAvailable }}
  selector:
    matchLabels: {{- include "common.labels.componentMatchLabels" (dict "component" $component "customLabels" $v.podLabels "context" $) | nindent 6 }}
{{- end }}
"#;

/// `text` with every line `by` spaces further right, and every `indent N` /
/// `nindent N` in it increased by `by`.
fn shift(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    let mut out = String::new();
    for line in text.lines() {
        let mut rest = line;
        let mut shifted = String::new();
        while let Some(at) = rest.find("indent ") {
            let after = &rest[at + "indent ".len()..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            shifted.push_str(&rest[..at + "indent ".len()]);
            if digits > 0 {
                let n: usize = after[..digits].parse().expect("digits");
                let _ = write!(shifted, "{}", n + by);
            }
            rest = &after[digits..];
        }
        shifted.push_str(rest);
        if !shifted.trim().is_empty() {
            out.push_str(&pad);
        }
        out.push_str(&shifted);
        out.push('\n');
    }
    out
}

fn template(c: &Component) -> String {
    let restart_job = "      restartPolicy: OnFailure";
    let two_volumes =
        r#"(list (dict "name" "data" "emptyDir" dict) (dict "name" "tmp" "emptyDir" dict))"#;
    let pod = |restart: &str, volumes: &str| {
        POD.replace("@RESTART@", restart)
            .replace("@VOLUMES@", volumes)
    };
    let (api, body) = match c.kind {
        "Deployment" => (
            "deployment",
            format!(
                r#"spec:
  replicas: {{{{ $v.replicaCount }}}}
  revisionHistoryLimit: 5
  {{{{- if include "common.capabilities.atLeast" (dict "version" "1.22" "context" $) }}}}
  minReadySeconds: 5
  {{{{- end }}}}
  strategy:
    type: RollingUpdate
  selector:
    matchLabels: {{{{- include "common.labels.componentMatchLabels" (dict "component" $component "customLabels" $v.podLabels "context" $) | nindent 6 }}}}
  template:
{}{PDB}"#,
                // The restart line is dropped (Always, the default).
                pod("", two_volumes).replacen("\n\n", "\n", 1)
            ),
        ),
        "StatefulSet" => (
            "statefulset",
            format!(
                r#"spec:
  replicas: {{{{ $v.replicaCount }}}}
  serviceName: {{{{ printf "%s-headless" (include "common.names.component" (dict "component" $component "context" $)) | trunc 63 }}}}
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels: {{{{- include "common.labels.componentMatchLabels" (dict "component" $component "customLabels" $v.podLabels "context" $) | nindent 6 }}}}
  template:
{}  volumeClaimTemplates:
    {{{{- include "common.storage.claimTemplate" (dict "name" "data" "persistence" $v.persistence "global" .Values.global "context" $) | nindent 4 }}}}
{PDB}"#,
                pod("", r#"(list (dict "name" "tmp" "emptyDir" dict))"#).replacen("\n\n", "\n", 1)
            ),
        ),
        "Job" => (
            "job",
            format!(
                r#"spec:
  backoffLimit: {{{{ $v.backoffLimit }}}}
  {{{{- if include "common.capabilities.atLeast" (dict "version" "1.23" "context" $) }}}}
  ttlSecondsAfterFinished: 3600
  {{{{- end }}}}
  template:
{}"#,
                pod(restart_job, two_volumes)
            ),
        ),
        _ => (
            "cronjob",
            format!(
                r#"spec:
  schedule: {{{{ $v.schedule | quote }}}}
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: {{{{ $v.backoffLimit }}}}
      template:
{}"#,
                shift(&pod(restart_job, two_volumes), 4)
            ),
        ),
    };
    let head = HEAD
        .replace("@KEY@", &c.key)
        .replace("@NAME@", &c.name)
        .replace("@API@", api)
        .replace("@KIND@", c.kind);
    format!("{head}{body}{{{{- end }}}}\n")
}

/// The values of component `i`: its image, and settings that vary from one
/// component to the next so that the helpers take their different branches.
fn component_values(i: usize, c: &Component) -> String {
    let mut v = String::new();
    let w = &mut v;
    let _ = writeln!(w, "## {} `{}` (templates/{}.yaml)", c.kind, c.name, c.name);
    let _ = writeln!(w, "{}:", c.key);
    let _ = writeln!(w, "  enabled: true");
    let _ = writeln!(w, "  image:");
    let _ = writeln!(w, "    registry: {}", charts::REGISTRY_PLACEHOLDER);
    let _ = writeln!(w, "    repository: bench/{}", c.name);
    let _ = writeln!(w, "    tag: \"{}\"", c.tag);
    let _ = writeln!(w, "    digest: \"\"");
    let _ = writeln!(w, "    pullPolicy: \"\"");
    let _ = writeln!(w, "    pullSecrets:");
    let _ = writeln!(
        w,
        "      - name: \"{{{{ .Release.Name }}}}-{}-pull\"",
        c.name
    );
    let _ = writeln!(w, "  replicaCount: {}", 1 + i % 3);
    if c.kind == "Job" || c.kind == "CronJob" {
        let _ = writeln!(w, "  backoffLimit: {}", 1 + i % 4);
        let _ = writeln!(
            w,
            "  command: [\"/bin/sh\", \"-c\", \"exec /opt/{} --release {{{{ .Release.Name }}}}\"]",
            c.name
        );
    } else {
        let _ = writeln!(w, "  command: []");
    }
    let _ = writeln!(
        w,
        "  args: [\"--log-level=info\", \"--namespace={{{{ .Release.Namespace }}}}\"]"
    );
    if c.kind == "CronJob" {
        let _ = writeln!(w, "  schedule: \"{} {} * * *\"", i % 60, i % 24);
    }
    if c.kind == "Job" && i % 8 == 2 {
        let _ = writeln!(w, "  hook: pre-install,pre-upgrade");
    }
    let _ = writeln!(w, "  containerPorts:");
    let _ = writeln!(w, "    http: {}", 8000 + i);
    let _ = writeln!(w, "    metrics: 9100");
    if i.is_multiple_of(3) {
        let _ = writeln!(w, "  resourcesPreset: none");
        let _ = writeln!(w, "  resources:");
        let _ = writeln!(
            w,
            "    requests: {{cpu: {}m, memory: {}Mi}}",
            100 + 10 * i,
            128 + 8 * i
        );
        let _ = writeln!(w, "    limits: {{memory: {}Mi}}", 256 + 16 * i);
    } else {
        let _ = writeln!(w, "  resourcesPreset: {}", PRESETS[i % PRESETS.len()]);
        let _ = writeln!(w, "  resources: {{}}");
    }
    let _ = writeln!(w, "  podSecurityContext:");
    let _ = writeln!(w, "    enabled: true");
    let _ = writeln!(w, "    fsGroup: 1001");
    let _ = writeln!(w, "    fsGroupChangePolicy: Always");
    let _ = writeln!(w, "    seccompProfile:");
    let _ = writeln!(w, "      type: RuntimeDefault");
    let _ = writeln!(w, "  containerSecurityContext:");
    let _ = writeln!(w, "    enabled: true");
    let _ = writeln!(w, "    runAsUser: 1001");
    let _ = writeln!(w, "    runAsGroup: 1001");
    let _ = writeln!(w, "    runAsNonRoot: true");
    let _ = writeln!(w, "    readOnlyRootFilesystem: true");
    let _ = writeln!(w, "    allowPrivilegeEscalation: false");
    let _ = writeln!(w, "    capabilities:");
    let _ = writeln!(w, "      drop: [\"ALL\"]");
    let _ = writeln!(w, "    seccompProfile:");
    let _ = writeln!(w, "      type: RuntimeDefault");
    let _ = writeln!(
        w,
        "  podAffinityPreset: \"{}\"",
        if i.is_multiple_of(5) { "soft" } else { "" }
    );
    let _ = writeln!(
        w,
        "  podAntiAffinityPreset: {}",
        if i.is_multiple_of(2) { "soft" } else { "hard" }
    );
    let _ = writeln!(w, "  nodeAffinityPreset:");
    let (node_type, key, values) = match i % 6 {
        0 | 2 | 4 => ("soft", "kubernetes.io/arch", "[amd64, arm64]"),
        1 => (
            "hard",
            "topology.kubernetes.io/zone",
            "[zone-a, zone-b, zone-c]",
        ),
        _ => ("", "", "[]"),
    };
    let _ = writeln!(w, "    type: \"{node_type}\"");
    let _ = writeln!(w, "    key: \"{key}\"");
    let _ = writeln!(w, "    values: {values}");
    if i % 10 == 9 {
        // A user-given affinity holding templates (tplvalues.render).
        let _ = writeln!(w, "  affinity:");
        let _ = writeln!(w, "    podAntiAffinity:");
        let _ = writeln!(w, "      requiredDuringSchedulingIgnoredDuringExecution:");
        let _ = writeln!(w, "        - topologyKey: kubernetes.io/hostname");
        let _ = writeln!(w, "          labelSelector:");
        let _ = writeln!(w, "            matchLabels:");
        let _ = writeln!(
            w,
            "              app.kubernetes.io/instance: \"{{{{ .Release.Name }}}}\""
        );
        let _ = writeln!(w, "              app.kubernetes.io/component: {}", c.name);
    } else {
        let _ = writeln!(w, "  affinity: {{}}");
    }
    let _ = writeln!(w, "  nodeSelector:");
    let _ = writeln!(w, "    kubernetes.io/os: linux");
    if i % 3 == 1 {
        let _ = writeln!(w, "  tolerations:");
        let _ = writeln!(w, "    - key: dedicated");
        let _ = writeln!(w, "      operator: Equal");
        let _ = writeln!(w, "      value: \"{}\"", c.name);
        let _ = writeln!(w, "      effect: NoSchedule");
    } else {
        let _ = writeln!(w, "  tolerations: []");
    }
    if i % 7 == 3 {
        let _ = writeln!(w, "  priorityClassName: bench-high");
    }
    let _ = writeln!(w, "  podLabels:");
    let _ = writeln!(w, "    tier: backend");
    let _ = writeln!(w, "    team: \"team-{}\"", i % 5);
    let _ = writeln!(w, "  podAnnotations:");
    let _ = writeln!(w, "    example.invalid/owner: \"{{{{ .Release.Name }}}}\"");
    let _ = writeln!(w, "    example.invalid/component: {}", c.name);
    let _ = writeln!(w, "  extraEnvVars:");
    let _ = writeln!(w, "    - name: RELEASE");
    let _ = writeln!(w, "      value: \"{{{{ .Release.Name }}}}\"");
    let _ = writeln!(w, "    - name: CHART_VERSION");
    let _ = writeln!(w, "      value: \"{{{{ .Chart.Version }}}}\"");
    let probe = c.kind == "Deployment" || c.kind == "StatefulSet";
    for name in ["livenessProbe", "readinessProbe"] {
        let _ = writeln!(w, "  {name}:");
        let _ = writeln!(w, "    enabled: {probe}");
        let _ = writeln!(w, "    initialDelaySeconds: {}", 5 + i % 10);
        let _ = writeln!(w, "    periodSeconds: 10");
        let _ = writeln!(w, "    failureThreshold: 3");
    }
    let _ = writeln!(w, "  serviceAccount:");
    let _ = writeln!(w, "    create: {}", i % 4 != 3);
    let _ = writeln!(w, "    name: \"\"");
    let _ = writeln!(w, "    automountServiceAccountToken: {}", i % 5 == 1);
    let _ = writeln!(w, "  pdb:");
    let _ = writeln!(w, "    create: {}", i.is_multiple_of(2));
    let _ = writeln!(w, "    minAvailable: 1");
    if c.kind == "StatefulSet" {
        let _ = writeln!(w, "  persistence:");
        let _ = writeln!(w, "    size: {}Gi", 8 + i);
        let _ = writeln!(w, "    storageClass: \"\"");
        let _ = writeln!(w, "    accessModes: [ReadWriteOnce]");
    }
    let _ = writeln!(w, "  extraVolumes: []");
    let _ = writeln!(w, "  extraVolumeMounts: []");
    if i % 5 == 3 {
        // A sidecar given as a string holding templates, with the
        // component's own image (through the library, from `tpl`).
        let _ = writeln!(w, "  sidecars: |");
        let _ = writeln!(w, "    - name: {}-reloader", c.name);
        let _ = writeln!(
            w,
            "      image: {{{{ include \"bench.image\" (dict \"imageRoot\" .Values.{}.image \"context\" $) }}}}",
            c.key
        );
        let _ = writeln!(
            w,
            "      args: [\"--watch=/etc/{}\", \"--release={{{{ .Release.Name }}}}\"]",
            c.name
        );
    } else {
        let _ = writeln!(w, "  sidecars: \"\"");
    }
    v
}

fn values_yaml(components: &[Component]) -> String {
    let mut v = String::from(
        r#"## Global values.
global:
  imageRegistry: ""
  imagePullSecrets:
    - "{{ .Release.Name }}-global-pull"
  storageClass: ""
  compatibility:
    openshift:
      adaptSecurityContext: auto

nameOverride: ""
fullnameOverride: ""
namespaceOverride: ""
commonLabels:
  app.kubernetes.io/part-of: "{{ .Chart.Name }}"
  example.invalid/cost-center: bench
commonAnnotations:
  example.invalid/generated-by: "{{ .Chart.Name }}-{{ .Chart.Version }}"

"#,
    );
    for (i, c) in components.iter().enumerate() {
        v.push_str(&component_values(i, c));
        v.push('\n');
    }
    v
}

fn chart_yaml(version: &str) -> String {
    format!(
        r#"apiVersion: v2
name: bench
description: A platform of many workloads over the fixture library chart (oc-mirror render benchmark).
type: application
version: {version}
appVersion: "4.2.0"
kubeVersion: ">=1.19.0-0"
dependencies:
  # The library chart, vendored under charts/ (as `helm dependency update` does).
  - name: common
    version: 2.x.x
    repository: file://../common
"#
    )
}

/// Writes the chart, version `version`, into `dir`.
fn write_chart(dir: &Path, version: &str, components: &[Component]) -> anyhow::Result<()> {
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates)?;
    std::fs::write(dir.join("Chart.yaml"), chart_yaml(version))?;
    std::fs::write(dir.join("values.yaml"), values_yaml(components))?;
    std::fs::write(templates.join("_helpers.tpl"), HELPERS)?;
    for c in components {
        std::fs::write(templates.join(format!("{}.yaml", c.name)), template(c))?;
    }
    charts::copy_dir(
        &charts::chart_dir("common"),
        &dir.join("charts/common"),
        &[],
    )
}

/// The library's helpers that turn the whole values into YAML and back, to
/// `dig` in them: `(.Values | toYaml | fromYaml)`,
/// `(.context.Values | toYaml | fromYaml)` and
/// `$value := .context.Values | toYaml | fromYaml`.
const ROUNDTRIPS: [(&str, &str); 3] = [
    ("(.Values | toYaml | fromYaml)", ".Values"),
    ("(.context.Values | toYaml | fromYaml)", ".context.Values"),
    (
        "$value := .context.Values | toYaml | fromYaml",
        "$value := .context.Values",
    ),
];

/// Rewrites the vendored library of the chart in `dir` so that its helpers
/// read the values directly ([`ROUNDTRIPS`]); returns how many it changed.
fn drop_values_roundtrips(dir: &Path) -> anyhow::Result<usize> {
    let mut changed = 0;
    let mut stack = vec![dir.join("charts/common/templates")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let mut text = std::fs::read_to_string(entry.path())?;
            for (from, to) in ROUNDTRIPS {
                changed += text.matches(from).count();
                text = text.replace(from, to);
            }
            std::fs::write(entry.path(), text)?;
        }
    }
    Ok(changed)
}

/// Sizes of the chart, for the report.
struct ChartStats {
    templates: usize,
    defines: usize,
    library_defines: usize,
    values_bytes: u64,
    template_bytes: u64,
    files: usize,
    total_bytes: u64,
}

fn chart_stats(dir: &Path) -> anyhow::Result<ChartStats> {
    let mut s = ChartStats {
        templates: 0,
        defines: 0,
        library_defines: 0,
        values_bytes: std::fs::metadata(dir.join("values.yaml"))?.len(),
        template_bytes: 0,
        files: 0,
        total_bytes: 0,
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let len = entry.metadata()?.len();
            s.files += 1;
            s.total_bytes += len;
            let rel = path.strip_prefix(dir)?.to_string_lossy().into_owned();
            if !rel.contains("templates/") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let defines = text.matches("define \"").count();
            s.defines += defines;
            if rel.starts_with("charts/") {
                s.library_defines += defines;
            } else {
                s.templates += 1;
                s.template_bytes += len;
            }
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

/// The ImageSetConfiguration of `dirs`, each a local chart.
fn local_isc(dirs: &[PathBuf]) -> String {
    let mut m = String::from("  helm:\n    local:\n");
    for (k, d) in dirs.iter().enumerate() {
        let _ = writeln!(m, "      - name: bench-{k:02}");
        let _ = writeln!(m, "        path: {}", d.display());
    }
    isc::image_set_config(&m)
}

/// One `oc-mirror plan -o json`: its wall time and its JSON.
fn plan(oc_mirror: &Path, isc: &Path, cwd: &Path) -> anyhow::Result<(Duration, Value)> {
    let start = Instant::now();
    let out = Command::new(oc_mirror)
        .args(["plan", "-c"])
        .arg(isc)
        .args(["-o", "json"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", oc_mirror.display()))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        bail!(
            "`oc-mirror plan -c {} -o json` failed ({}):\n{}",
            isc.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the plan is not JSON:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok((elapsed, json))
}

/// Checks that the plan lists `copies` charts `bench`, each with exactly the
/// images of `components`; returns the images per chart.
fn check_plan(plan: &Value, copies: usize, components: &[Component]) -> anyhow::Result<usize> {
    let helm = plan["sections"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == "helm"))
        .context("the plan has no `helm` section")?;
    let charts = helm["plan"]["charts"]
        .as_array()
        .context("the helm section's plan lists no charts")?;
    ensure!(
        charts.len() == copies,
        "the plan lists {} charts, expected {copies}",
        charts.len()
    );
    let mut want: Vec<String> = components.iter().map(Component::reference).collect();
    want.sort();
    let mut versions = std::collections::BTreeSet::new();
    for chart in charts {
        let version = chart["version"].as_str().unwrap_or_default().to_string();
        ensure!(
            chart["chart"] == "bench",
            "the plan lists chart {}, expected `bench`",
            chart["chart"]
        );
        let mut got: Vec<String> = chart["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["image"].as_str().map(str::to_string))
            .collect();
        got.sort();
        got.dedup();
        if got != want {
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
            bail!(
                "chart bench {version}: {} images, expected {}\n  missing: {missing:?}\n  unexpected: {extra:?}",
                got.len(),
                want.len()
            );
        }
        versions.insert(version);
    }
    ensure!(
        versions.len() == copies,
        "the plan lists {} distinct versions, expected {copies}",
        versions.len()
    );
    Ok(want.len())
}

/// The native render example, when it has been built: beside the plugins'
/// target directory (`target/plugins/release/examples/render`).
fn native_render_binary(oc_mirror: &Path) -> Option<PathBuf> {
    let target = oc_mirror.parent()?.parent()?;
    let path = target.join("plugins/release/examples/render");
    path.is_file().then_some(path)
}

/// What the native example says about the chart.
struct Native {
    ms_per_render: f64,
    images: usize,
    rendered_bytes: Option<usize>,
    documents: Option<usize>,
}

fn native(render: &Path, chart: &Path, times: usize) -> anyhow::Result<Native> {
    let out = Command::new(render)
        .arg(chart)
        .args(["--times", &times.to_string()])
        .output()
        .with_context(|| format!("running {}", render.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{} failed ({}):\n{}{}",
        render.display(),
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("ms per render and discovery"))
        .context("the render example printed no time")?;
    let ms_per_render = line
        .split(": ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .with_context(|| format!("no time in `{line}`"))?;
    let images = stdout
        .lines()
        .filter(|l| l.contains('\t') && l.contains("/templates/"))
        .count();
    // Once more with --show: the rendered templates, each after a
    // `# ---- NAME` line, then the images (one per line, with a tab).
    let (mut rendered_bytes, mut documents) = (None, None);
    if let Ok(out) = Command::new(render).arg(chart).arg("--show").output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        let body: Vec<&str> = text.lines().collect();
        let body = &body[..body.len().saturating_sub(images)];
        let mut bytes = 0;
        let mut docs = 0;
        for l in body {
            if l.starts_with("# ---- ") {
                continue;
            }
            bytes += l.len() + 1;
            if l.starts_with("kind: ") {
                docs += 1;
            }
        }
        rendered_bytes = Some(bytes);
        documents = Some(docs);
    }
    Ok(Native {
        ms_per_render,
        images,
        rendered_bytes,
        documents,
    })
}

fn modified(path: &Path) -> String {
    let Ok(meta) = std::fs::metadata(path) else {
        return "?".into();
    };
    let Ok(t) = meta.modified() else {
        return "?".into();
    };
    let age = t.elapsed().unwrap_or_default().as_secs();
    if age < 120 {
        format!("{age} s ago")
    } else if age < 7200 {
        format!("{} min ago", age / 60)
    } else {
        format!("{} h ago", age / 3600)
    }
}

fn ms(d: f64) -> String {
    format!("{:.1} ms", d * 1000.0)
}

fn run(o: &Opts) -> anyhow::Result<()> {
    let oc_mirror = tools::oc_mirror_binary()?;
    let mut temp = None;
    let work = match &o.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("oc-mirror-helm-bench-")
                .tempdir()?;
            let path = t.path().to_path_buf();
            temp = Some(t);
            path
        }
    };
    println!("oc-mirror: {}", oc_mirror.display());
    println!("work directory: {}", work.display());

    // The charts.
    let components = components(o.templates);
    let dirs: Vec<PathBuf> = (0..o.copies)
        .map(|k| work.join(format!("charts/bench-{k:02}")))
        .collect();
    for (k, d) in dirs.iter().enumerate() {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
        write_chart(d, &format!("1.0.{k}"), &components)?;
        if o.no_values_roundtrip {
            let n = drop_values_roundtrips(d)?;
            if k == 0 {
                println!(
                    "--no-values-roundtrip: {n} `.Values | toYaml | fromYaml` in the library read `.Values`"
                );
            }
        }
    }
    let stats = chart_stats(&dirs[0])?;
    let kinds: Vec<String> = KINDS
        .iter()
        .map(|k| {
            let n = components.iter().filter(|c| c.kind == *k).count();
            format!("{n} {k}s")
        })
        .collect();
    println!(
        "chart bench: {} templates ({}; + _helpers.tpl), {} defines ({} in the library), \
         values.yaml {:.1} kB, templates {:.1} kB, {} files {:.1} kB in all; {} copies (versions 1.0.0 … 1.0.{})",
        stats.templates - 1,
        kinds.join(", "),
        stats.defines,
        stats.library_defines,
        stats.values_bytes as f64 / 1000.0,
        stats.template_bytes as f64 / 1000.0,
        stats.files,
        stats.total_bytes as f64 / 1000.0,
        o.copies,
        o.copies - 1
    );

    let isc_1 = work.join("isc-1.yaml");
    let isc_n = work.join(format!("isc-{}.yaml", o.copies));
    std::fs::write(&isc_1, local_isc(&dirs[..1]))?;
    std::fs::write(&isc_n, local_isc(&dirs))?;

    // Timed runs, alternating; every plan is checked (each chart lists its
    // images) and the last of each is kept.
    let (mut t1, mut tn) = (Vec::new(), Vec::new());
    for r in 0..o.runs {
        let order: [(bool, &Path); 2] = if r % 2 == 0 {
            [(false, &isc_1), (true, &isc_n)]
        } else {
            [(true, &isc_n), (false, &isc_1)]
        };
        for (big, isc) in order {
            let (d, p) = plan(&oc_mirror, isc, &work)?;
            let copies = if big { o.copies } else { 1 };
            let per_chart = check_plan(&p, copies, &components)?;
            println!(
                "run {}: {copies} chart(s) in {:.3} s; checked: each has its {per_chart} images in the plan",
                r + 1,
                d.as_secs_f64()
            );
            std::fs::write(
                work.join(format!("plan-{copies}.json")),
                serde_json::to_vec_pretty(&p)?,
            )?;
            if big { &mut tn } else { &mut t1 }.push(d.as_secs_f64());
        }
    }
    let m1 = stats::median(t1.clone()).expect("runs");
    let mn = stats::median(tn.clone()).expect("runs");
    let warm = (mn - m1) / (o.copies - 1) as f64;
    let per_run: Vec<String> = t1
        .iter()
        .zip(&tn)
        .map(|(a, b)| format!("{:.1}", (b - a) * 1000.0 / (o.copies - 1) as f64))
        .collect();

    // The native engine, when its example is built.
    let native_row = match native_render_binary(&oc_mirror) {
        Some(render) => match native(&render, &dirs[0], o.times) {
            Ok(n) => Some((render, n)),
            Err(e) => {
                println!("native render example failed: {e:#}");
                None
            }
        },
        None => None,
    };

    println!();
    println!(
        "| case | time | target | result |\n|---|---|---|---|\n\
         | warm, per chart (wasm plugin in oc-mirror): (t_{n} − t_1)/{d} | {} | ≤ {TARGET_MS:.0} ms | **{}** |\n\
         | t_1: `plan` of 1 chart (process start, plugin instantiation, 1 render) | {} | — | info |\n\
         | t_{n}: `plan` of {n} charts | {} | — | info |",
        ms(warm),
        if warm * 1000.0 <= TARGET_MS {
            "PASS"
        } else {
            "MISS"
        },
        ms(m1),
        ms(mn),
        n = o.copies,
        d = o.copies - 1,
    );
    match &native_row {
        Some((render, n)) => {
            println!(
                "| native engine, per render and discovery (render example, --times {}) | {:.1} ms | — | info |",
                o.times, n.ms_per_render
            );
            println!();
            println!(
                "native example: {} (built {}); it found {} images",
                render.display(),
                modified(render),
                n.images
            );
            if let (Some(b), Some(d)) = (n.rendered_bytes, n.documents) {
                println!(
                    "rendered manifests: {:.1} kB, {d} documents",
                    b as f64 / 1000.0
                );
            }
        }
        None => {
            println!("| native engine | skipped | — | — |");
            println!();
            println!(
                "native engine: skipped (build the example first: cargo build --release \
                 --manifest-path plugins/Cargo.toml -p helm --example render)"
            );
        }
    }
    println!();
    println!(
        "every run, seconds: t_1 {:?}; t_{} {:?}; warm per chart per run (ms) [{}]",
        t1.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>(),
        o.copies,
        tn.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>(),
        per_run.join(", ")
    );
    println!("command: {} plan -c ISC -o json", oc_mirror.display());

    if o.keep || o.work_dir.is_some() {
        if let Some(t) = temp {
            let _ = t.keep();
        }
        println!("kept: {}", work.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
