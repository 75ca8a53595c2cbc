{{/* vim: set filetype=mustache: */}}
{{/*
A list joined with commas, each element quoted.
Usage:
{{ include "common.strings.quotedList" (list "a" "b") }}
*/}}
{{- define "common.strings.quotedList" -}}
{{- $quoted := list -}}
{{- range . -}}
{{- $quoted = append $quoted (quote .) -}}
{{- end -}}
{{- join "," $quoted -}}
{{- end -}}

{{/*
A name made DNS-safe: lower case, dots and underscores as dashes, at most 63 characters.
*/}}
{{- define "common.strings.dnsSafe" -}}
{{- . | lower | replace "_" "-" | replace "." "-" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
`key=value` pairs of a map, sorted by key, joined with commas.
*/}}
{{- define "common.strings.keyValues" -}}
{{- $pairs := list -}}
{{- range $key := keys . | sortAlpha -}}
{{- $pairs = append $pairs (printf "%s=%v" $key (get $ $key)) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
The host part of a URL or of `host:port`.
*/}}
{{- define "common.strings.host" -}}
{{- $rest := . | trimPrefix "https://" | trimPrefix "http://" -}}
{{- first (splitList "/" $rest) | splitList ":" | first -}}
{{- end -}}
