{{/* vim: set filetype=mustache: */}}
{{/*
Whether the cluster is OpenShift (it serves security.openshift.io/v1): "true" or "".
*/}}
{{- define "common.compatibility.isOpenshift" -}}
{{- if .Capabilities.APIVersions.Has "security.openshift.io/v1" -}}
{{- true -}}
{{- end -}}
{{- end -}}

{{/*
A security context adapted to the platform: on OpenShift with
`global.compatibility.openshift.adaptSecurityContext` ("auto" by default),
the fixed user and group ids are dropped so that the restricted SCC can pick them.
Usage:
{{ include "common.compatibility.renderSecurityContext" (dict "secContext" .Values.containerSecurityContext "context" $) }}
*/}}
{{- define "common.compatibility.renderSecurityContext" -}}
{{- $adapted := omit .secContext "enabled" -}}
{{- $mode := dig "global" "compatibility" "openshift" "adaptSecurityContext" "auto" (.context.Values | toYaml | fromYaml) -}}
{{- if or (eq $mode "force") (and (eq $mode "auto") (include "common.compatibility.isOpenshift" .context)) -}}
  {{- $adapted = omit $adapted "fsGroup" "runAsUser" "runAsGroup" -}}
  {{- if not .secContext.seLinuxOptions -}}
    {{- $adapted = omit $adapted "seLinuxOptions" -}}
  {{- end -}}
{{- end -}}
{{- if not (dig "seccompProfile" "type" "" $adapted) -}}
  {{- $adapted = omit $adapted "seccompProfile" -}}
{{- end -}}
{{- omit $adapted "appArmorProfile" | toYaml -}}
{{- end -}}
