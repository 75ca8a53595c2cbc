{{/* vim: set filetype=mustache: */}}
{{/*
Return the proper image name.
If image tag and digest are not defined, termination falls back to the chart's appVersion.
`global.imageRegistry`, when set, replaces the image's own registry.
Usage:
{{ include "common.images.image" (dict "imageRoot" .Values.path.to.the.image "global" .Values.global "chart" .Chart) }}
*/}}
{{- define "common.images.image" -}}
{{- $registryName := default .imageRoot.registry ((.global).imageRegistry) -}}
{{- $repositoryName := .imageRoot.repository -}}
{{- $separator := ":" -}}
{{- $termination := .imageRoot.tag | toString -}}
{{- if not .imageRoot.tag -}}
  {{- if .chart -}}
    {{- $termination = .chart.AppVersion | toString -}}
  {{- end -}}
{{- end -}}
{{- if .imageRoot.digest -}}
    {{- $separator = "@" -}}
    {{- $termination = .imageRoot.digest | toString -}}
{{- end -}}
{{- if $registryName -}}
    {{- printf "%s/%s%s%s" $registryName $repositoryName $separator $termination -}}
{{- else -}}
    {{- printf "%s%s%s" $repositoryName $separator $termination -}}
{{- end -}}
{{- end -}}

{{/*
The registry an image comes from (after `global.imageRegistry`).
Usage:
{{ include "common.images.registry" (dict "imageRoot" .Values.image "global" .Values.global) }}
*/}}
{{- define "common.images.registry" -}}
{{- coalesce ((.global).imageRegistry) .imageRoot.registry "docker.io" -}}
{{- end -}}

{{/*
The repository of an image, without registry.
*/}}
{{- define "common.images.repository" -}}
{{- .imageRoot.repository -}}
{{- end -}}

{{/*
The version of an image: its tag, else the digest's first twelve hex digits, else "latest".
Usage:
{{ include "common.images.version" (dict "imageRoot" .Values.image "chart" .Chart) }}
*/}}
{{- define "common.images.version" -}}
{{- $imageTag := .imageRoot.tag | toString -}}
{{- if regexMatch `^([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$` $imageTag -}}
    {{- $version := semver $imageTag -}}
    {{- printf "%d.%d.%d" $version.Major $version.Minor $version.Patch -}}
{{- else if .imageRoot.digest -}}
    {{- .imageRoot.digest | trimPrefix "sha256:" | trunc 12 -}}
{{- else if .chart -}}
    {{- .chart.AppVersion -}}
{{- else -}}
    {{- print "latest" -}}
{{- end -}}
{{- end -}}

{{/*
The pull policy: the image's, else IfNotPresent for a pinned image and Always for a rolling one.
*/}}
{{- define "common.images.pullPolicy" -}}
{{- if .imageRoot.pullPolicy -}}
{{- .imageRoot.pullPolicy -}}
{{- else if or .imageRoot.digest (and .imageRoot.tag (ne (toString .imageRoot.tag) "latest")) -}}
IfNotPresent
{{- else -}}
Always
{{- end -}}
{{- end -}}

{{/*
The names of the pull secrets of some images and of `global.imagePullSecrets`,
without repeats, as a list in JSON (an entry is a name, or a map with "name").
With "context", each name is rendered with `tpl` first.
Usage:
{{ include "common.images.pullSecretNames" (dict "images" (list .Values.image) "global" .Values.global) | fromJsonArray }}
*/}}
{{- define "common.images.pullSecretNames" -}}
{{- $names := list -}}
{{- $sources := list (dig "imagePullSecrets" list (default dict .global)) -}}
{{- range $image := .images -}}
  {{- $sources = append $sources (default list $image.pullSecrets) -}}
{{- end -}}
{{- range $secrets := $sources -}}
  {{- range $secret := $secrets -}}
    {{- $name := $secret -}}
    {{- if kindIs "map" $secret -}}
      {{- $name = required "a pull secret given as a map needs a name" $secret.name -}}
    {{- end -}}
    {{- if $.context -}}
      {{- $name = include "common.tplvalues.render" (dict "value" $name "context" $.context) -}}
    {{- end -}}
    {{- $names = append $names $name -}}
  {{- end -}}
{{- end -}}
{{- $names | uniq | toJson -}}
{{- end -}}

{{/*
The `imagePullSecrets:` of a pod spec, or nothing when there are none.
Usage:
{{ include "common.images.pullSecrets" (dict "images" (list .Values.image .Values.sidecar.image) "global" .Values.global) }}
*/}}
{{- define "common.images.pullSecrets" -}}
{{- $names := include "common.images.pullSecretNames" (dict "images" .images "global" .global) | fromJsonArray -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Like common.images.pullSecrets, with every name rendered as a template.
Usage:
{{ include "common.images.renderPullSecrets" (dict "images" (list .Values.image) "context" $) }}
*/}}
{{- define "common.images.renderPullSecrets" -}}
{{- $names := include "common.images.pullSecretNames" (dict "images" .images "global" .context.Values.global "context" .context) | fromJsonArray -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Whether an image is pinned (has a digest, or a tag other than latest): "true" or "".
*/}}
{{- define "common.images.isPinned" -}}
{{- ternary "true" "" (or (not (empty .imageRoot.digest)) (and (not (empty .imageRoot.tag)) (ne (toString .imageRoot.tag) "latest"))) -}}
{{- end -}}

{{/*
A list of the images of a chart as "repository:tag" strings, one per line (for NOTES).
Usage:
{{ include "common.images.list" (dict "images" (list .Values.image .Values.sidecar) "global" .Values.global) }}
*/}}
{{- define "common.images.list" -}}
{{- $global := .global -}}
{{- range .images }}
- {{ include "common.images.image" (dict "imageRoot" . "global" $global) }}
{{- end }}
{{- end -}}
