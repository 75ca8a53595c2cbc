{{/* vim: set filetype=mustache: */}}
{{/*
A pod's securityContext, when enabled.
Usage:
{{ include "common.pods.securityContext" (dict "securityContext" .Values.podSecurityContext "context" $) }}
*/}}
{{- define "common.pods.securityContext" -}}
{{- if and .securityContext (dig "enabled" false .securityContext) }}
securityContext: {{- include "common.compatibility.renderSecurityContext" (dict "secContext" .securityContext "context" .context) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The scheduling fields of a pod spec: affinity (given or from presets),
nodeSelector, tolerations, priorityClassName, topologySpreadConstraints.
Usage:
{{ include "common.pods.scheduling" (dict "values" .Values "component" "server" "context" $) }}
*/}}
{{- define "common.pods.scheduling" -}}
{{- $values := .values -}}
{{- with include "common.affinities.preset" (dict "affinity" $values.affinity "podAffinityPreset" $values.podAffinityPreset "podAntiAffinityPreset" $values.podAntiAffinityPreset "nodeAffinityPreset" $values.nodeAffinityPreset "component" .component "context" .context) }}
affinity: {{- . | nindent 2 }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with $values.topologySpreadConstraints }}
topologySpreadConstraints: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The `volumes:` of a pod: fixed volumes and the user's extra ones.
Usage:
{{ include "common.pods.volumes" (dict "volumes" (list (dict "name" "tmp" "emptyDir" dict)) "extra" .Values.extraVolumes "context" $) }}
*/}}
{{- define "common.pods.volumes" -}}
{{- $volumes := concat (default list .volumes) (default list .extra) -}}
{{- if $volumes }}
volumes: {{- include "common.tplvalues.render" (dict "value" $volumes "context" .context) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The user's extra containers (sidecars or init containers), rendered with `tpl`.
Usage:
{{ include "common.pods.extraContainers" (dict "containers" .Values.sidecars "context" $) }}
*/}}
{{- define "common.pods.extraContainers" -}}
{{- with .containers }}
{{ include "common.tplvalues.render" (dict "value" . "context" $.context) }}
{{- end }}
{{- end -}}

{{/*
The metadata of a pod template: labels and annotations (with checksums).
Usage:
{{ include "common.pods.metadata" (dict "component" "server" "podLabels" .Values.podLabels "podAnnotations" .Values.podAnnotations "checksums" (list "/configmap.yaml") "context" $) }}
*/}}
{{- define "common.pods.metadata" -}}
labels: {{- include "common.labels.component" (dict "component" .component "customLabels" (include "common.tplvalues.merge" (dict "values" (list .podLabels .context.Values.commonLabels) "context" .context) | fromYaml) "context" .context) | nindent 2 }}
{{- with include "common.annotations.pod" (dict "annotations" .podAnnotations "checksums" .checksums "context" .context) }}
annotations: {{- . | nindent 2 }}
{{- end }}
{{- end -}}
