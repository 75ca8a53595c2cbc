{{/* vim: set filetype=mustache: */}}
{{/*
The Kubernetes version the chart is rendered for: `global.kubeVersion` when
set (to render for another cluster offline), else the one Helm reports.
*/}}
{{- define "common.capabilities.kubeVersion" -}}
{{- default .Capabilities.KubeVersion.Version (dig "global" "kubeVersion" "" (.Values | toYaml | fromYaml)) -}}
{{- end -}}

{{/*
Whether the cluster is at least the given version: "true" or "".
Usage:
{{ include "common.capabilities.atLeast" (dict "version" "1.25" "context" $) }}
*/}}
{{- define "common.capabilities.atLeast" -}}
{{- $kube := include "common.capabilities.kubeVersion" .context -}}
{{- ternary "true" "" (semverCompare (printf ">=%s-0" .version) $kube) -}}
{{- end -}}

{{/*
Whether the cluster serves an API group version: "true" or "".
Usage:
{{ include "common.capabilities.apiVersions.has" (dict "version" "policy/v1" "context" $) }}
*/}}
{{- define "common.capabilities.apiVersions.has" -}}
{{- $versions := default list (dig "global" "apiVersions" list (.context.Values | toYaml | fromYaml)) -}}
{{- ternary "true" "" (or (.context.Capabilities.APIVersions.Has .version) (has .version $versions)) -}}
{{- end -}}

{{/*
The apiVersion of a PodDisruptionBudget.
*/}}
{{- define "common.capabilities.policy.apiVersion" -}}
{{- if semverCompare "<1.21-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "policy/v1beta1" -}}
{{- else -}}
{{- print "policy/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a NetworkPolicy.
*/}}
{{- define "common.capabilities.networkPolicy.apiVersion" -}}
{{- if semverCompare "<1.7-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "extensions/v1beta1" -}}
{{- else -}}
{{- print "networking.k8s.io/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a CronJob.
*/}}
{{- define "common.capabilities.cronjob.apiVersion" -}}
{{- if semverCompare "<1.21-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "batch/v1beta1" -}}
{{- else -}}
{{- print "batch/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a Job.
*/}}
{{- define "common.capabilities.job.apiVersion" -}}
{{- print "batch/v1" -}}
{{- end -}}

{{/*
The apiVersion of a DaemonSet.
*/}}
{{- define "common.capabilities.daemonset.apiVersion" -}}
{{- if semverCompare "<1.14-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "extensions/v1beta1" -}}
{{- else -}}
{{- print "apps/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a Deployment.
*/}}
{{- define "common.capabilities.deployment.apiVersion" -}}
{{- if semverCompare "<1.14-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "extensions/v1beta1" -}}
{{- else -}}
{{- print "apps/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a StatefulSet.
*/}}
{{- define "common.capabilities.statefulset.apiVersion" -}}
{{- if semverCompare "<1.14-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "apps/v1beta1" -}}
{{- else -}}
{{- print "apps/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of an Ingress.
*/}}
{{- define "common.capabilities.ingress.apiVersion" -}}
{{- $kube := include "common.capabilities.kubeVersion" . -}}
{{- if semverCompare "<1.14-0" $kube -}}
{{- print "extensions/v1beta1" -}}
{{- else if semverCompare "<1.19-0" $kube -}}
{{- print "networking.k8s.io/v1beta1" -}}
{{- else -}}
{{- print "networking.k8s.io/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of RBAC objects.
*/}}
{{- define "common.capabilities.rbac.apiVersion" -}}
{{- if semverCompare "<1.17-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "rbac.authorization.k8s.io/v1beta1" -}}
{{- else -}}
{{- print "rbac.authorization.k8s.io/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a CustomResourceDefinition.
*/}}
{{- define "common.capabilities.crd.apiVersion" -}}
{{- if semverCompare "<1.19-0" (include "common.capabilities.kubeVersion" .) -}}
{{- print "apiextensions.k8s.io/v1beta1" -}}
{{- else -}}
{{- print "apiextensions.k8s.io/v1" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a HorizontalPodAutoscaler.
Usage:
{{ include "common.capabilities.hpa.apiVersion" (dict "context" $) }}
*/}}
{{- define "common.capabilities.hpa.apiVersion" -}}
{{- $kube := include "common.capabilities.kubeVersion" .context -}}
{{- if semverCompare "<1.23-0" $kube -}}
{{- if .beta2 -}}
{{- print "autoscaling/v2beta2" -}}
{{- else -}}
{{- print "autoscaling/v2beta1" -}}
{{- end -}}
{{- else -}}
{{- print "autoscaling/v2" -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of a VerticalPodAutoscaler.
*/}}
{{- define "common.capabilities.vpa.apiVersion" -}}
{{- if semverCompare "<1.23-0" (include "common.capabilities.kubeVersion" .context) -}}
{{- print "autoscaling.k8s.io/v1beta2" -}}
{{- else -}}
{{- print "autoscaling.k8s.io/v1" -}}
{{- end -}}
{{- end -}}

{{/*
Whether PodSecurityPolicy is still served: "true" or "".
*/}}
{{- define "common.capabilities.psp.supported" -}}
{{- if semverCompare "<1.25-0" (include "common.capabilities.kubeVersion" .) -}}
{{- true -}}
{{- end -}}
{{- end -}}

{{/*
Whether the Helm rendering the chart is version 3.3 or later (`.Capabilities.HelmVersion`).
*/}}
{{- define "common.capabilities.supportsHelmVersion" -}}
{{- if semverCompare ">=3.3.0-0" (default "v0.0.0" .Capabilities.HelmVersion.Version) -}}
{{- true -}}
{{- end -}}
{{- end -}}

{{/*
Whether the cluster has the Pod Security Admission configuration API: "true" or "".
*/}}
{{- define "common.capabilities.admissionConfiguration.supported" -}}
{{- if semverCompare ">=1.23-0" (include "common.capabilities.kubeVersion" .) -}}
  {{- true -}}
{{- end -}}
{{- end -}}

{{/*
The apiVersion of an AdmissionConfiguration.
*/}}
{{- define "common.capabilities.admissionConfiguration.apiVersion" -}}
{{- $kube := include "common.capabilities.kubeVersion" . -}}
{{- if semverCompare "<1.23-0" $kube -}}
{{- print "apiserver.config.k8s.io/v1alpha1" -}}
{{- else if semverCompare "<1.25-0" $kube -}}
{{- print "apiserver.config.k8s.io/v1beta1" -}}
{{- else -}}
{{- print "apiserver.config.k8s.io/v1" -}}
{{- end -}}
{{- end -}}
