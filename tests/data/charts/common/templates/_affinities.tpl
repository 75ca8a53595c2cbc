{{/* vim: set filetype=mustache: */}}
{{/*
A soft node affinity: prefer nodes whose label `key` has one of `values`.
Usage:
{{ include "common.affinities.nodes.soft" (dict "key" "topology.kubernetes.io/zone" "values" (list "a" "b") "weight" 1) }}
*/}}
{{- define "common.affinities.nodes.soft" -}}
preferredDuringSchedulingIgnoredDuringExecution:
  - preference:
      matchExpressions:
        - key: {{ .key }}
          operator: In
          values:
            {{- range .values }}
            - {{ . | quote }}
            {{- end }}
    weight: {{ default 1 .weight }}
{{- end -}}

{{/*
A hard node affinity: only nodes whose label `key` has one of `values`.
Usage:
{{ include "common.affinities.nodes.hard" (dict "key" "kubernetes.io/arch" "values" (list "amd64")) }}
*/}}
{{- define "common.affinities.nodes.hard" -}}
requiredDuringSchedulingIgnoredDuringExecution:
  nodeSelectorTerms:
    - matchExpressions:
        - key: {{ .key }}
          operator: In
          values:
            {{- range .values }}
            - {{ . | quote }}
            {{- end }}
{{- end -}}

{{/*
A node affinity of the given type ("soft", "hard" or "").
Usage:
{{ include "common.affinities.nodes" (dict "type" .Values.nodeAffinityPreset.type "key" .Values.nodeAffinityPreset.key "values" .Values.nodeAffinityPreset.values) }}
*/}}
{{- define "common.affinities.nodes" -}}
{{- if eq .type "soft" -}}
{{- include "common.affinities.nodes.soft" . -}}
{{- else if eq .type "hard" -}}
{{- include "common.affinities.nodes.hard" . -}}
{{- end -}}
{{- end -}}

{{/*
The topology key of a pod affinity: the given one or the hostname.
*/}}
{{- define "common.affinities.topologyKey" -}}
{{- .topologyKey | default "kubernetes.io/hostname" -}}
{{- end -}}

{{/*
A soft pod (anti-)affinity: prefer spreading the pods of a component.
Usage:
{{ include "common.affinities.pods.soft" (dict "component" "server" "customLabels" .Values.podLabels "extraMatchLabels" .Values.extra "topologyKey" "" "extraPodAffinityTerms" list "context" $) }}
*/}}
{{- define "common.affinities.pods.soft" -}}
{{- $component := default "" .component -}}
{{- $customLabels := default (dict) .customLabels -}}
{{- $extraMatchLabels := default (dict) .extraMatchLabels -}}
{{- $extraPodAffinityTerms := default (list) .extraPodAffinityTerms -}}
preferredDuringSchedulingIgnoredDuringExecution:
  - podAffinityTerm:
      labelSelector:
        matchLabels: {{- (include "common.labels.matchLabels" (dict "customLabels" $customLabels "context" .context)) | nindent 10 }}
          {{- if not (empty $component) }}
          {{ printf "app.kubernetes.io/component: %s" $component }}
          {{- end }}
          {{- range $key, $value := $extraMatchLabels }}
          {{ $key }}: {{ $value | quote }}
          {{- end }}
      topologyKey: {{ include "common.affinities.topologyKey" (dict "topologyKey" .topologyKey) }}
    weight: 1
  {{- range $extraPodAffinityTerms }}
  - podAffinityTerm:
      labelSelector:
        matchLabels: {{- (include "common.labels.matchLabels" (dict "customLabels" $customLabels "context" $.context)) | nindent 10 }}
          {{- range $key, $value := .extraMatchLabels }}
          {{ $key }}: {{ $value | quote }}
          {{- end }}
      topologyKey: {{ include "common.affinities.topologyKey" (dict "topologyKey" .topologyKey) }}
    weight: {{ .weight | default 1 }}
  {{- end }}
{{- end -}}

{{/*
A hard pod (anti-)affinity: never two pods of a component in one topology domain.
Usage:
{{ include "common.affinities.pods.hard" (dict "component" "server" "customLabels" .Values.podLabels "context" $) }}
*/}}
{{- define "common.affinities.pods.hard" -}}
{{- $component := default "" .component -}}
{{- $customLabels := default (dict) .customLabels -}}
{{- $extraMatchLabels := default (dict) .extraMatchLabels -}}
requiredDuringSchedulingIgnoredDuringExecution:
  - labelSelector:
      matchLabels: {{- (include "common.labels.matchLabels" (dict "customLabels" $customLabels "context" .context)) | nindent 8 }}
        {{- if not (empty $component) }}
        {{ printf "app.kubernetes.io/component: %s" $component }}
        {{- end }}
        {{- range $key, $value := $extraMatchLabels }}
        {{ $key }}: {{ $value | quote }}
        {{- end }}
    topologyKey: {{ include "common.affinities.topologyKey" (dict "topologyKey" .topologyKey) }}
{{- end -}}

{{/*
A pod affinity of the given type ("soft", "hard" or "").
Usage:
{{ include "common.affinities.pods" (dict "type" "soft" "component" "server" "context" $) }}
*/}}
{{- define "common.affinities.pods" -}}
{{- if eq .type "soft" -}}
{{- include "common.affinities.pods.soft" . -}}
{{- else if eq .type "hard" -}}
{{- include "common.affinities.pods.hard" . -}}
{{- end -}}
{{- end -}}

{{/*
The whole `affinity:` body of a pod from presets, unless the user gave one.
Usage:
{{ include "common.affinities.preset" (dict "affinity" .Values.affinity "podAffinityPreset" .Values.podAffinityPreset "podAntiAffinityPreset" .Values.podAntiAffinityPreset "nodeAffinityPreset" .Values.nodeAffinityPreset "component" "server" "context" $) }}
*/}}
{{- define "common.affinities.preset" -}}
{{- if .affinity -}}
{{ include "common.tplvalues.render" (dict "value" .affinity "context" .context) }}
{{- else -}}
{{- $pod := include "common.affinities.pods" (dict "type" (default "" .podAffinityPreset) "component" .component "context" .context) -}}
{{- $anti := include "common.affinities.pods" (dict "type" (default "soft" .podAntiAffinityPreset) "component" .component "context" .context) -}}
{{- $node := include "common.affinities.nodes" (dict "type" (dig "type" "" (default dict .nodeAffinityPreset)) "key" (dig "key" "" (default dict .nodeAffinityPreset)) "values" (dig "values" list (default dict .nodeAffinityPreset))) -}}
{{- with $pod }}
podAffinity: {{- . | nindent 2 }}
{{- end }}
{{- with $anti }}
podAntiAffinity: {{- . | nindent 2 }}
{{- end }}
{{- with $node }}
nodeAffinity: {{- . | nindent 2 }}
{{- end }}
{{- end -}}
{{- end -}}
