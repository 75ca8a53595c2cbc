{{/* vim: set filetype=mustache: */}}
{{/*
The storageClassName of a claim: `global.storageClass` wins over the
persistence's; "-" means the empty class (no dynamic provisioning).
Usage:
{{ include "common.storage.class" (dict "persistence" .Values.persistence "global" .Values.global) }}
*/}}
{{- define "common.storage.class" -}}
{{- $storageClass := coalesce ((.global).defaultStorageClass) ((.global).storageClass) .persistence.storageClass "" -}}
{{- if $storageClass -}}
  {{- if eq "-" $storageClass -}}
    {{- printf "storageClassName: \"\"" -}}
  {{- else -}}
    {{- printf "storageClassName: %s" $storageClass -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/*
The volumeClaimTemplates entry of a StatefulSet.
Usage:
{{ include "common.storage.claimTemplate" (dict "name" "data" "persistence" .Values.persistence "global" .Values.global "context" $) }}
*/}}
{{- define "common.storage.claimTemplate" -}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata:
    name: {{ .name }}
    labels: {{- include "common.labels.matchLabels" .context | nindent 6 }}
  spec:
    accessModes:
    {{- range (default (list "ReadWriteOnce") .persistence.accessModes) }}
      - {{ . | quote }}
    {{- end }}
    resources:
      requests:
        storage: {{ default "1Gi" .persistence.size | quote }}
    {{- with (include "common.storage.class" (dict "persistence" .persistence "global" .global)) }}
    {{ . }}
    {{- end }}
{{- end -}}
