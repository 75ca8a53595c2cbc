{{/* vim: set filetype=mustache: */}}
{{/*
A container's securityContext, when enabled.
Usage:
{{ include "common.containers.securityContext" (dict "securityContext" .Values.containerSecurityContext "context" $) }}
*/}}
{{- define "common.containers.securityContext" -}}
{{- if and .securityContext (dig "enabled" false .securityContext) }}
securityContext: {{- include "common.compatibility.renderSecurityContext" (dict "secContext" .securityContext "context" .context) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The `env:` of a container: fixed variables, then the user's extra ones (rendered with `tpl`).
Usage:
{{ include "common.containers.env" (dict "env" (dict "PORT" "8080") "extraEnvVars" .Values.extraEnvVars "context" $) }}
*/}}
{{- define "common.containers.env" -}}
{{- if or .env .extraEnvVars }}
env:
{{- range $name, $value := .env }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
{{- end }}
{{- with .extraEnvVars }}
{{ include "common.tplvalues.render" (dict "value" . "context" $.context) | indent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The `ports:` of a container from a map of names to numbers (sorted by name).
Usage:
{{ include "common.containers.ports" (dict "ports" .Values.containerPorts) }}
*/}}
{{- define "common.containers.ports" -}}
{{- if .ports }}
ports:
{{- range $name, $port := .ports }}
  - name: {{ $name }}
    containerPort: {{ $port | int }}
    protocol: TCP
{{- end }}
{{- end }}
{{- end -}}

{{/*
A probe: the user's custom probe when given, else an HTTP or TCP probe from its settings.
Usage:
{{ include "common.containers.probe" (dict "name" "livenessProbe" "probe" .Values.livenessProbe "custom" .Values.customLivenessProbe "port" "http" "path" "/healthz" "context" $) }}
*/}}
{{- define "common.containers.probe" -}}
{{- if .custom }}
{{ .name }}: {{- include "common.tplvalues.render" (dict "value" .custom "context" .context) | nindent 2 }}
{{- else if dig "enabled" false (default dict .probe) }}
{{ .name }}:
  {{- if .path }}
  httpGet:
    path: {{ .path }}
    port: {{ .port }}
  {{- else }}
  tcpSocket:
    port: {{ .port }}
  {{- end }}
  {{- omit .probe "enabled" | toYaml | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The `resources:` of a container (see common.resources.render).
*/}}
{{- define "common.containers.resources" -}}
{{- with include "common.resources.render" (dict "resources" .resources "preset" .preset) }}
resources: {{- . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The `volumeMounts:` of a container: fixed mounts and the user's extra ones.
Usage:
{{ include "common.containers.volumeMounts" (dict "mounts" (list (dict "name" "data" "mountPath" "/data")) "extra" .Values.extraVolumeMounts "context" $) }}
*/}}
{{- define "common.containers.volumeMounts" -}}
{{- $mounts := concat (default list .mounts) (default list .extra) -}}
{{- if $mounts }}
volumeMounts: {{- include "common.tplvalues.render" (dict "value" $mounts "context" .context) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A whole container from a component's values: name, image (through
common.images.image), pull policy, command and args, env, ports, resources.
Usage:
{{ include "common.containers.simple" (dict "name" "worker" "values" .Values "context" $) }}
*/}}
{{- define "common.containers.simple" -}}
- name: {{ .name }}
  image: {{ include "common.images.image" (dict "imageRoot" .values.image "global" .context.Values.global "chart" .context.Chart) }}
  imagePullPolicy: {{ include "common.images.pullPolicy" (dict "imageRoot" .values.image) }}
  {{- with .values.command }}
  command: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 4 }}
  {{- end }}
  {{- with .values.args }}
  args: {{- include "common.tplvalues.render" (dict "value" . "context" $.context) | nindent 4 }}
  {{- end }}
  {{- include "common.containers.env" (dict "env" .values.env "extraEnvVars" .values.extraEnvVars "context" .context) | indent 2 }}
  {{- include "common.containers.ports" (dict "ports" .values.containerPorts) | indent 2 }}
  {{- include "common.containers.resources" (dict "resources" .values.resources "preset" .values.resourcesPreset) | indent 2 }}
{{- end -}}
