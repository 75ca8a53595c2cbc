{{/* vim: set filetype=mustache: */}}
{{/*
The server image.
*/}}
{{- define "webapp.image" -}}
{{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global "chart" .Chart) }}
{{- end -}}

{{/*
The init image.
*/}}
{{- define "webapp.init.image" -}}
{{ include "common.images.image" (dict "imageRoot" .Values.init.image "global" .Values.global) }}
{{- end -}}

{{/*
The sidecar image (by digest).
*/}}
{{- define "webapp.sidecar.image" -}}
{{ include "common.images.image" (dict "imageRoot" .Values.sidecar.image "global" .Values.global) }}
{{- end -}}

{{/*
The migration image; its tag defaults to the appVersion.
*/}}
{{- define "webapp.migration.image" -}}
{{ include "common.images.image" (dict "imageRoot" .Values.migration.image "global" .Values.global "chart" .Chart) }}
{{- end -}}

{{/*
The image of the cache client, imported from the cache chart's exports.
*/}}
{{- define "webapp.cacheClient.image" -}}
{{- $client := required "cacheClient must be imported from the cache chart (import-values: [client])" .Values.cacheClient -}}
{{ include "common.images.image" (dict "imageRoot" $client.image "global" .Values.global) }}
{{- end -}}

{{/*
The host of the cache service.
*/}}
{{- define "webapp.cache.host" -}}
{{- include "common.names.dependency.fullname" (dict "chartName" "cache" "chartValues" .Values.cache "context" $) -}}
{{- end -}}

{{/*
The name of the secret holding the password.
*/}}
{{- define "webapp.secretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.auth.existingSecret "defaultNameSuffix" "auth" "context" $) -}}
{{- end -}}

{{/*
Every pull secret of the server pod.
*/}}
{{- define "webapp.imagePullSecrets" -}}
{{- include "common.images.renderPullSecrets" (dict "images" (list .Values.image .Values.init.image .Values.sidecar.image) "context" $) -}}
{{- end -}}

{{/*
Checks the values; fails on a bad combination.
*/}}
{{- define "webapp.validateValues" -}}
{{- include "common.validations.values.oneOf" (dict "valueKey" "service.type" "value" .Values.service.type "allowed" (list "ClusterIP" "NodePort" "LoadBalancer")) -}}
{{- include "common.validations.values.multiple.empty" (dict "required" (list (dict "valueKey" "image.repository") (dict "valueKey" "init.image.repository")) "context" $) -}}
{{- end -}}
