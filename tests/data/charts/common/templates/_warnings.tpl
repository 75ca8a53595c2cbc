{{/* vim: set filetype=mustache: */}}
{{/*
A NOTES warning when an image uses a rolling tag.
Usage:
{{ include "common.warnings.rollingTag" .Values.image }}
*/}}
{{- define "common.warnings.rollingTag" -}}
{{- if and (contains "registry.example.invalid" (default "" .registry)) (not (include "common.images.isPinned" (dict "imageRoot" .))) }}
WARNING: Rolling tag detected ({{ .repository }}:{{ .tag }}), please note that it is strongly recommended to avoid using rolling tags in a production environment.
{{- end }}
{{- end -}}

{{/*
A NOTES warning when images were replaced by the user.
Usage:
{{ include "common.warnings.modifiedImages" (dict "images" (list .Values.image) "context" $) }}
*/}}
{{- define "common.warnings.modifiedImages" -}}
{{- $affected := list -}}
{{- range .images -}}
  {{- if and .registry (not (hasPrefix "registry.example.invalid" .registry)) -}}
    {{- $affected = append $affected (printf "%s/%s" .registry .repository) -}}
  {{- end -}}
{{- end -}}
{{- if $affected }}

WARNING: the original images were replaced: {{ join ", " $affected }}
{{- end }}
{{- end -}}

{{/*
A NOTES warning for each section that relies on a resources preset.
Usage:
{{ include "common.warnings.resources" (dict "sections" (list "" "cache") "context" $) }}
*/}}
{{- define "common.warnings.resources" -}}
{{- $missing := list -}}
{{- range .sections -}}
  {{- $values := $.context.Values -}}
  {{- if . -}}
    {{- $values = index $.context.Values . -}}
  {{- end -}}
  {{- if and (not (dig "resources" dict ($values | toYaml | fromYaml))) (ne (dig "resourcesPreset" "none" ($values | toYaml | fromYaml)) "none") -}}
    {{- $missing = append $missing (printf "%sresources" (ternary "" (printf "%s." .) (empty .))) -}}
  {{- end -}}
{{- end -}}
{{- if $missing }}

WARNING: There are "resources" sections in the chart not set. Using "resourcesPreset" is not recommended for production. Sections: {{ join ", " $missing }}
{{- end }}
{{- end -}}
