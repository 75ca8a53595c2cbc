{{/* vim: set filetype=mustache: */}}
{{/*
Annotations common to every object: the user's, rendered with `tpl`.
Usage:
{{ include "common.annotations.standard" (dict "annotations" .Values.commonAnnotations "context" $) }}
*/}}
{{- define "common.annotations.standard" -}}
{{- if .annotations -}}
{{ include "common.tplvalues.render" (dict "value" .annotations "context" .context) }}
{{- end -}}
{{- end -}}

{{/*
Pod annotations: the user's and a checksum of each named template, so that a
change of configuration rolls the pods.
Usage:
{{ include "common.annotations.pod" (dict "annotations" .Values.podAnnotations "checksums" (list "/configmap.yaml") "context" $) }}
*/}}
{{- define "common.annotations.pod" -}}
{{- $out := dict -}}
{{- if .annotations -}}
{{- $out = include "common.tplvalues.render" (dict "value" .annotations "context" .context) | fromYaml -}}
{{- end -}}
{{- range .checksums -}}
{{- $_ := set $out (printf "checksum%s" (trimSuffix ".yaml" .)) (include "common.utils.checksumTemplate" (dict "path" . "context" $.context)) -}}
{{- end -}}
{{- if $out -}}
{{ toYaml $out }}
{{- end -}}
{{- end -}}

{{/*
Whether a hook annotation set names the given hook.
Usage:
{{ include "common.annotations.hasHook" (dict "annotations" .metadata.annotations "hook" "test") }}
*/}}
{{- define "common.annotations.hasHook" -}}
{{- $hooks := splitList "," (dig "helm.sh/hook" "" .annotations) -}}
{{- ternary "true" "" (has .hook $hooks) -}}
{{- end -}}

{{/*
The annotations of a Helm hook.
Usage:
{{ include "common.annotations.hook" (dict "hook" "pre-install,pre-upgrade" "weight" -5 "deletePolicy" "before-hook-creation") }}
*/}}
{{- define "common.annotations.hook" -}}
helm.sh/hook: {{ .hook | quote }}
helm.sh/hook-weight: {{ default 0 .weight | quote }}
{{- with .deletePolicy }}
helm.sh/hook-delete-policy: {{ . | quote }}
{{- end }}
{{- end -}}
