{{/* Chart name, truncated to a DNS label. */}}
{{- define "quorumstore-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name unless it already contains the chart name. */}}
{{- define "quorumstore-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "quorumstore-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the operator's own objects. */}}
{{- define "quorumstore-operator.labels" -}}
helm.sh/chart: {{ include "quorumstore-operator.chart" . }}
{{ include "quorumstore-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: quorumstore
{{- end }}

{{- define "quorumstore-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quorumstore-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "quorumstore-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "quorumstore-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image the operator runs, also the nodes' sidecar image unless nodes.sidecarImage is set. */}}
{{- define "quorumstore-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "quorumstore-operator.sidecarImage" -}}
{{- default (include "quorumstore-operator.image" .) .Values.nodes.sidecarImage }}
{{- end }}

{{/*
Namespaces the operator watches, as a list. rbac.scope=namespace without watchNamespaces means
the release namespace only; rbac.scope=cluster without watchNamespaces means every namespace.
*/}}
{{- define "quorumstore-operator.watchNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- toJson .Values.watchNamespaces }}
{{- else if eq .Values.rbac.scope "namespace" }}
{{- toJson (list .Release.Namespace) }}
{{- else }}
{{- toJson (list) }}
{{- end }}
{{- end }}

{{/*
What the operator does to the objects it reconciles, from operator/src (manager.ts informers,
controllers/kube-client.ts writes, events.ts, status-patch.ts). Shared by the ClusterRole and the
per-namespace Roles, so both scopes grant exactly the same.
*/}}
{{- define "quorumstore-operator.rules" -}}
# Cluster and Collection: watched, finalizers set with merge patches, status with merge patches.
- apiGroups: ["quorumstore.dev"]
  resources: ["clusters", "collections"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["quorumstore.dev"]
  resources: ["clusters/status", "collections/status"]
  verbs: ["patch"]
# Children's ownerReferences set blockOwnerDeletion: with the OwnerReferencesPermissionEnforcement
# admission plugin that needs update on the owner's finalizers.
- apiGroups: ["quorumstore.dev"]
  resources: ["clusters/finalizers"]
  verbs: ["update"]
# A Cluster's children: watched by label, written with server-side apply, some deleted.
# Secrets are watched unfiltered: the pods also read the user's own, and a rotation rolls them.
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps", "secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Volumes of nodes that left the cluster after a scale-down.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["delete"]
# Events on Clusters and Collections (repeats bump the count with a patch).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
