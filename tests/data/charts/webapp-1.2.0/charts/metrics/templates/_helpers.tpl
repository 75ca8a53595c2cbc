{{/*
Expand the name of the chart.
*/}}
{{- define "metrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A fully qualified name: release and chart.
*/}}
{{- define "metrics.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "metrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
