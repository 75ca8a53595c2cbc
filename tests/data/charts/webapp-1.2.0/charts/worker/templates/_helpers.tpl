{{/*
A fully qualified name: release and chart name (the alias, when aliased).
*/}}
{{- define "worker.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The worker image.
*/}}
{{- define "worker.image" -}}
{{- $registry := coalesce .Values.global.imageRegistry .Values.image.registry -}}
{{- printf "%s/%s:%s" $registry .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end }}
