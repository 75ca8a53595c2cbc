{{/* vim: set filetype=mustache: */}}
{{/*
Fails an upgrade that would lose generated passwords.
Usage:
{{ include "common.errors.upgrade.passwords.empty" (dict "validationErrors" (list $validationError1) "context" $) }}
*/}}
{{- define "common.errors.upgrade.passwords.empty" -}}
{{- $errors := without .validationErrors "" -}}
{{- if and $errors .context.Release.IsUpgrade -}}
{{- $message := printf "\nPASSWORDS ERROR: You must provide your current passwords when upgrading the release.\n%s" (join "\n" $errors) -}}
{{- fail $message -}}
{{- end -}}
{{- end -}}

{{/*
Fails when images from outside the chart's registry are used without `global.security.allowInsecureImages`.
Usage:
{{ include "common.errors.insecureImages" (dict "images" (list .Values.image) "context" $) }}
*/}}
{{- define "common.errors.insecureImages" -}}
{{- $foreign := list -}}
{{- range .images -}}
  {{- $registry := default "" .registry -}}
  {{- if and $registry (not (contains "example.invalid" $registry)) (not (hasPrefix "127.0.0.1" $registry)) -}}
    {{- $foreign = append $foreign (printf "%s/%s" $registry .repository) -}}
  {{- end -}}
{{- end -}}
{{- if and $foreign (not (dig "global" "security" "allowInsecureImages" false (.context.Values | toYaml | fromYaml))) -}}
{{- fail (printf "\n\nERROR: Original containers have been substituted for unrecognized ones (%s). Set global.security.allowInsecureImages=true to proceed." (join ", " $foreign)) -}}
{{- end -}}
{{- end -}}
