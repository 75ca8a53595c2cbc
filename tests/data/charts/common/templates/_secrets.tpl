{{/* vim: set filetype=mustache: */}}
{{/*
The name of a secret: the user's existing secret (rendered with `tpl`) when
given, else fullname plus an optional suffix.
Usage:
{{ include "common.secrets.name" (dict "existingSecret" .Values.auth.existingSecret "defaultNameSuffix" "auth" "context" $) }}
*/}}
{{- define "common.secrets.name" -}}
{{- $name := "" -}}
{{- if kindIs "map" .existingSecret -}}
  {{- $name = default "" .existingSecret.name -}}
{{- else if .existingSecret -}}
  {{- $name = .existingSecret -}}
{{- end -}}
{{- if $name -}}
  {{- include "common.tplvalues.render" (dict "value" $name "context" .context) -}}
{{- else if .defaultNameSuffix -}}
  {{- printf "%s-%s" (include "common.names.fullname" .context) .defaultNameSuffix | trunc 63 | trimSuffix "-" -}}
{{- else -}}
  {{- include "common.names.fullname" .context -}}
{{- end -}}
{{- end -}}

{{/*
The key of a secret entry: the user's mapping for it in an existing secret, else the key itself.
Usage:
{{ include "common.secrets.key" (dict "existingSecret" .Values.auth.existingSecret "key" "password") }}
*/}}
{{- define "common.secrets.key" -}}
{{- $key := .key -}}
{{- if kindIs "map" .existingSecret -}}
  {{- $key = dig "keyMapping" .key .key .existingSecret -}}
{{- end -}}
{{- $key -}}
{{- end -}}

{{/*
The current value of a secret's key in the cluster, or "" (offline, `lookup` finds nothing).
Usage:
{{ include "common.secrets.lookup" (dict "secret" "name" "key" "password" "context" $) }}
*/}}
{{- define "common.secrets.lookup" -}}
{{- $secret := lookup "v1" "Secret" (include "common.names.namespace" .context) .secret -}}
{{- if $secret -}}
  {{- dig "data" .key "" $secret -}}
{{- end -}}
{{- end -}}

{{/*
Whether a secret exists in the cluster: "true" or "".
Usage:
{{ include "common.secrets.exists" (dict "secret" "name" "context" $) }}
*/}}
{{- define "common.secrets.exists" -}}
{{- if lookup "v1" "Secret" (include "common.names.namespace" .context) .secret -}}
  {{- true -}}
{{- end -}}
{{- end -}}

{{/*
A password for a secret, base64-encoded: the value given, else the one already
in the cluster, else a random one of `length` characters (default 10).
Usage:
{{ include "common.secrets.passwords.manage" (dict "secret" "secret-name" "key" "password" "providedValues" (list "auth.password") "length" 16 "context" $) }}
*/}}
{{- define "common.secrets.passwords.manage" -}}
{{- $password := "" -}}
{{- $provided := "" -}}
{{- range .providedValues -}}
  {{- $value := include "common.utils.getValueFromKey" (dict "key" . "context" $.context) -}}
  {{- if and $value (not $provided) -}}
    {{- $provided = $value -}}
  {{- end -}}
{{- end -}}
{{- $existing := include "common.secrets.lookup" (dict "secret" .secret "key" .key "context" .context) -}}
{{- if $provided -}}
  {{- $password = $provided | toString | b64enc -}}
{{- else if $existing -}}
  {{- $password = $existing -}}
{{- else -}}
  {{- $password = randAlphaNum (int (default 10 .length)) | b64enc -}}
{{- end -}}
{{- if .skipQuote -}}
{{- $password -}}
{{- else -}}
{{- $password | quote -}}
{{- end -}}
{{- end -}}

{{/*
The `data:` entries of a secret from a map of keys to plain values; empty values are skipped.
Usage:
{{ include "common.secrets.data" (dict "data" (dict "user" .Values.auth.user "token" .Values.auth.token)) }}
*/}}
{{- define "common.secrets.data" -}}
{{- range $key, $value := .data }}
{{- if $value }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}
