{{/* vim: set filetype=mustache: */}}
{{/*
The backend of an Ingress rule for a service and port (a number or a name),
in the shape the cluster's Ingress API wants.
Usage:
{{ include "common.ingress.backend" (dict "serviceName" "backendName" "servicePort" "backendPort" "context" $) }}
*/}}
{{- define "common.ingress.backend" -}}
{{- $apiVersion := include "common.capabilities.ingress.apiVersion" .context -}}
{{- if or (eq $apiVersion "extensions/v1beta1") (eq $apiVersion "networking.k8s.io/v1beta1") -}}
serviceName: {{ .serviceName }}
servicePort: {{ .servicePort }}
{{- else -}}
service:
  name: {{ .serviceName }}
  port:
    {{- if typeIs "string" .servicePort }}
    name: {{ .servicePort }}
    {{- else if or (typeIs "int" .servicePort) (typeIs "float64" .servicePort) }}
    number: {{ .servicePort | int }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/*
Whether Ingress paths take a pathType: "true" or "".
*/}}
{{- define "common.ingress.supportsPathType" -}}
{{- if semverCompare ">=1.18-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "true" -}}
{{- end -}}
{{- end -}}

{{/*
Whether an Ingress takes spec.ingressClassName: "true" or "".
*/}}
{{- define "common.ingress.supportsIngressClassname" -}}
{{- if semverCompare ">=1.18-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "true" -}}
{{- end -}}
{{- end -}}

{{/*
Whether the ingress annotations ask cert-manager for a certificate: "true" or "".
Usage:
{{ include "common.ingress.certManagerRequest" (dict "annotations" .Values.ingress.annotations) }}
*/}}
{{- define "common.ingress.certManagerRequest" -}}
{{- if or (hasKey (default dict .annotations) "cert-manager.io/cluster-issuer") (hasKey (default dict .annotations) "cert-manager.io/issuer") (hasKey (default dict .annotations) "kubernetes.io/tls-acme") -}}
{{- true -}}
{{- end -}}
{{- end -}}
