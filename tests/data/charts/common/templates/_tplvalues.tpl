{{/* vim: set filetype=mustache: */}}
{{/*
Render a value that may hold templates. A string is rendered as it is; a map
or a list is rendered as its YAML. With "scope", the text is rendered with
`.` set to that scope (and `$` still the chart's context).
Usage:
{{ include "common.tplvalues.render" (dict "value" .Values.extraEnv "context" $) }}
{{ include "common.tplvalues.render" (dict "value" .Values.extraEnv "context" $ "scope" $component) }}
*/}}
{{- define "common.tplvalues.render" -}}
{{- $text := .value -}}
{{- if not (kindIs "string" $text) -}}
  {{- $text = toYaml .value -}}
{{- end -}}
{{- if not (contains "{{" $text) -}}
  {{- $text -}}
{{- else if .scope -}}
  {{- $scoped := merge (dict "Scoped" .scope) .context -}}
  {{- tpl (printf "{{- with $.Scoped -}}%s{{- end -}}" $text) $scoped -}}
{{- else -}}
  {{- tpl $text .context -}}
{{- end -}}
{{- end -}}

{{/*
Render several values (see common.tplvalues.render) and merge the maps they
render to; the first value wins on a conflict.
Usage:
{{ include "common.tplvalues.merge" (dict "values" (list .Values.podLabels .Values.commonLabels) "context" $) }}
*/}}
{{- define "common.tplvalues.merge" -}}
{{- $merged := dict -}}
{{- range $value := .values -}}
  {{- $rendered := include "common.tplvalues.render" (dict "value" $value "context" $.context "scope" $.scope) | fromYaml -}}
  {{- $merged = merge $merged $rendered -}}
{{- end -}}
{{- if $merged }}
{{- toYaml $merged }}
{{- end -}}
{{- end -}}

{{/*
Like common.tplvalues.merge, but the last value wins on a conflict.
Usage:
{{ include "common.tplvalues.merge-overwrite" (dict "values" (list .Values.defaults .Values.overrides) "context" $) }}
*/}}
{{- define "common.tplvalues.merge-overwrite" -}}
{{- $merged := dict -}}
{{- range $value := .values -}}
  {{- $rendered := include "common.tplvalues.render" (dict "value" $value "context" $.context "scope" $.scope) | fromYaml -}}
  {{- $merged = mergeOverwrite $merged $rendered -}}
{{- end -}}
{{- if $merged }}
{{- toYaml $merged }}
{{- end -}}
{{- end -}}
