{{/* vim: set filetype=mustache: */}}
{{/*
Validate that a value is not empty; return an error message or "".
Usage:
{{ include "common.validations.values.single.empty" (dict "valueKey" "path.to.value" "secret" "secret.name" "field" "my-password" "subchart" "subchart" "context" $) }}
*/}}
{{- define "common.validations.values.single.empty" -}}
{{- $value := include "common.utils.getValueFromKey" (dict "key" .valueKey "context" .context) -}}
{{- $valueKeyPrefix := ternary "" (printf "%s." .subchart) (empty .subchart) -}}
{{- if not $value -}}
  {{- $varname := "my-value" -}}
  {{- $getCurrentValue := "" -}}
  {{- if and .secret .field -}}
    {{- $varname = include "common.utils.fieldToEnvVar" (dict "field" .valueKey) -}}
    {{- $getCurrentValue = printf " To get the current value:\n\n        %s\n" (include "common.utils.secret.getvalue" (dict "secret" .secret "field" .field "context" .context)) -}}
  {{- end -}}
  {{- printf "\n    '%s%s' must not be empty, please add '--set %s%s=$%s' to the command.%s" $valueKeyPrefix .valueKey $valueKeyPrefix .valueKey $varname $getCurrentValue -}}
{{- end -}}
{{- end -}}

{{/*
Validate several values (see common.validations.values.single.empty) and fail with every message.
Usage:
{{ include "common.validations.values.multiple.empty" (dict "required" (list $validateValueConf00 $validateValueConf01) "context" $) }}
*/}}
{{- define "common.validations.values.multiple.empty" -}}
{{- $messages := list -}}
{{- range .required -}}
  {{- $messages = append $messages (include "common.validations.values.single.empty" (merge (dict "context" $.context) .)) -}}
{{- end -}}
{{- $messages = without $messages "" -}}
{{- if $messages -}}
{{- fail (printf "\nVALUES VALIDATION:\n%s" (join "\n" $messages)) -}}
{{- end -}}
{{- end -}}

{{/*
Validate that a value is one of a list; fail otherwise.
Usage:
{{ include "common.validations.values.oneOf" (dict "valueKey" "architecture" "value" .Values.architecture "allowed" (list "standalone" "replication")) }}
*/}}
{{- define "common.validations.values.oneOf" -}}
{{- if not (has .value .allowed) -}}
{{- fail (printf "\nVALUES VALIDATION:\n    '%s' must be one of %s, not %q" .valueKey (include "common.strings.quotedList" .allowed) (toString .value)) -}}
{{- end -}}
{{- end -}}
