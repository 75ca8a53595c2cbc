{{/*
The redis configuration.
*/}}
{{- define "cache.config" -}}
maxmemory-policy allkeys-lru
appendonly {{ ternary "yes" "no" .Values.persistence.enabled }}
{{- end -}}
