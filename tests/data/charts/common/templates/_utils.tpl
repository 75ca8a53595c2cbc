{{/* vim: set filetype=mustache: */}}
{{/*
The environment variable name of a field: `auth.rootPassword` becomes `AUTH_ROOT_PASSWORD`.
*/}}
{{- define "common.utils.fieldToEnvVar" -}}
{{- $parts := list -}}
{{- range (splitList "." .field) -}}
  {{- $parts = append $parts (snakecase . | upper) -}}
{{- end -}}
{{- join "_" $parts -}}
{{- end -}}

{{/*
The value at a dotted key of the chart's values, as text ("" when absent).
Usage:
{{ include "common.utils.getValueFromKey" (dict "key" "path.to.key" "context" $) }}
*/}}
{{- define "common.utils.getValueFromKey" -}}
{{- $value := .context.Values | toYaml | fromYaml -}}
{{- range (splitList "." .key) -}}
  {{- if kindIs "map" $value -}}
    {{- $value = index $value . -}}
  {{- else -}}
    {{- $value = "" -}}
  {{- end -}}
{{- end -}}
{{- if kindIs "map" $value -}}
{{- toYaml $value -}}
{{- else if not (kindIs "invalid" $value) -}}
{{- printf "%v" $value -}}
{{- end -}}
{{- end -}}

{{/*
The first of some dotted keys whose value is set.
Usage:
{{ include "common.utils.getKeyFromList" (dict "keys" (list "path.to.key1" "path.to.key2") "context" $) }}
*/}}
{{- define "common.utils.getKeyFromList" -}}
{{- $found := "" -}}
{{- range .keys -}}
  {{- if and (not $found) (include "common.utils.getValueFromKey" (dict "key" . "context" $.context)) -}}
    {{- $found = . -}}
  {{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{/*
The sha256 of another template of the chart, to roll pods when it changes.
Usage:
{{ include "common.utils.checksumTemplate" (dict "path" "/configmap.yaml" "context" $) }}
*/}}
{{- define "common.utils.checksumTemplate" -}}
{{- $source := print .context.Template.BasePath .path -}}
{{- include $source .context | sha256sum -}}
{{- end -}}

{{/*
The value of a key of an existing secret, base64-decoded, or "".
Usage:
{{ include "common.utils.secret.getvalue" (dict "secret" "secret-name" "field" "secret-value-field" "context" $) }}
*/}}
{{- define "common.utils.secret.getvalue" -}}
{{- $value := include "common.secrets.lookup" (dict "secret" .secret "key" .field "context" .context) -}}
{{- if $value -}}
{{- $value | b64dec -}}
{{- end -}}
{{- end -}}

{{/*
"true" or "false" as text for a value that may be a bool or a string.
*/}}
{{- define "common.utils.boolText" -}}
{{- if kindIs "string" .value -}}
{{- ternary "true" "false" (eq (lower .value) "true") -}}
{{- else -}}
{{- ternary "true" "false" (not (empty .value)) -}}
{{- end -}}
{{- end -}}

{{/*
A map of the given keys of a map (those present), as YAML.
Usage:
{{ include "common.utils.pick" (dict "from" .Values.service "keys" (list "type" "ports")) }}
*/}}
{{- define "common.utils.pick" -}}
{{- $out := dict -}}
{{- range .keys -}}
  {{- if hasKey $.from . -}}
    {{- $_ := set $out . (get $.from .) -}}
  {{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
