{{/* vim: set filetype=mustache: */}}
{{/*
The labels every object of a release carries. Called with the chart's context,
or with a dict of "context" and "customLabels" (rendered with `tpl`; they win
over the standard ones).
Usage:
{{ include "common.labels.standard" . }}
{{ include "common.labels.standard" (dict "customLabels" .Values.commonLabels "context" $) }}
*/}}
{{- define "common.labels.standard" -}}
{{- $ctx := . -}}
{{- $custom := dict -}}
{{- if and (hasKey . "context") (hasKey . "customLabels") -}}
  {{- $ctx = .context -}}
  {{- with .customLabels -}}
    {{- $custom = include "common.tplvalues.render" (dict "value" . "context" $ctx) | fromYaml -}}
  {{- end -}}
{{- end -}}
{{- $labels := dict "app.kubernetes.io/name" (include "common.names.name" $ctx) "app.kubernetes.io/instance" $ctx.Release.Name "app.kubernetes.io/managed-by" $ctx.Release.Service "helm.sh/chart" (include "common.names.chart" $ctx) -}}
{{- with $ctx.Chart.AppVersion -}}
  {{- $_ := set $labels "app.kubernetes.io/version" (toString .) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $labels $custom) -}}
{{- end -}}

{{/*
The labels of selectors (immutable fields such as a Deployment's
spec.selector.matchLabels): name and instance only. Custom labels may change
those two, and add nothing else.
Usage:
{{ include "common.labels.matchLabels" . }}
{{ include "common.labels.matchLabels" (dict "customLabels" .Values.podLabels "context" $) }}
*/}}
{{- define "common.labels.matchLabels" -}}
{{- $ctx := . -}}
{{- $custom := dict -}}
{{- if and (hasKey . "context") (hasKey . "customLabels") -}}
  {{- $ctx = .context -}}
  {{- with .customLabels -}}
    {{- $custom = include "common.tplvalues.render" (dict "value" . "context" $ctx) | fromYaml -}}
  {{- end -}}
{{- end -}}
{{- $labels := dict "app.kubernetes.io/name" (include "common.names.name" $ctx) "app.kubernetes.io/instance" $ctx.Release.Name -}}
{{- toYaml (mergeOverwrite $labels (pick $custom "app.kubernetes.io/name" "app.kubernetes.io/instance")) -}}
{{- end -}}

{{/*
The labels of a component: the standard labels and `app.kubernetes.io/component`.
Usage:
{{ include "common.labels.component" (dict "component" "server" "customLabels" .Values.commonLabels "context" $) }}
*/}}
{{- define "common.labels.component" -}}
{{ include "common.labels.standard" (dict "customLabels" .customLabels "context" .context) }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
The selector labels of a component.
Usage:
{{ include "common.labels.componentMatchLabels" (dict "component" "server" "customLabels" .Values.podLabels "context" $) }}
*/}}
{{- define "common.labels.componentMatchLabels" -}}
{{ include "common.labels.matchLabels" (dict "customLabels" .customLabels "context" .context) }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
