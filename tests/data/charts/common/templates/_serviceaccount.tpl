{{/* vim: set filetype=mustache: */}}
{{/*
A ServiceAccount, when `serviceAccount.create` is true.
Usage:
{{ include "common.serviceAccount.render" (dict "serviceAccount" .Values.serviceAccount "context" $) }}
*/}}
{{- define "common.serviceAccount.render" -}}
{{- if .serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "common.names.serviceAccount" (dict "serviceAccount" .serviceAccount "context" .context) }}
  namespace: {{ include "common.names.namespace" .context | quote }}
  labels: {{- include "common.labels.standard" (dict "customLabels" .context.Values.commonLabels "context" .context) | nindent 4 }}
  {{- with .serviceAccount.annotations }}
  annotations: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ default false .serviceAccount.automountServiceAccountToken }}
{{- end -}}
{{- end -}}

{{/*
Whether the pods mount the service account token: the value given, else false.
*/}}
{{- define "common.serviceAccount.automount" -}}
{{- ternary "true" "false" (default false .automountServiceAccountToken) -}}
{{- end -}}
