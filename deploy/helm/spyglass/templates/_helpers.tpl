{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "spyglass.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name: <release>-spyglass, or the release name when it already contains the chart name. */}}
{{- define "spyglass.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "spyglass.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "spyglass.labels" -}}
helm.sh/chart: {{ include "spyglass.chart" . }}
app.kubernetes.io/name: {{ include "spyglass.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spyglass
{{- end -}}

{{/* Selector of the hub pods. */}}
{{- define "spyglass.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spyglass.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: hub
{{- end -}}

{{/* Selector of the bundled database / Redis pods: include with (dict "root" . "component" "database"). */}}
{{- define "spyglass.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "spyglass.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spyglass.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "spyglass.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding passwords and URLs: the user's existingSecret or the chart's own. */}}
{{- define "spyglass.secretName" -}}
{{- default (include "spyglass.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "spyglass.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Escapes a string for the user-info part of a URL (spaces as %20, not +). */}}
{{- define "spyglass.urlEncode" -}}
{{- . | toString | urlquery | replace "+" "%20" -}}
{{- end -}}

{{- define "spyglass.databaseScheme" -}}
{{- if eq .Values.database.type "postgres" -}}postgres{{- else -}}mysql{{- end -}}
{{- end -}}

{{- define "spyglass.databasePort" -}}
{{- if .Values.database.external.port -}}
{{- .Values.database.external.port -}}
{{- else if eq .Values.database.type "postgres" -}}5432{{- else -}}3306{{- end -}}
{{- end -}}

{{- define "spyglass.databaseServiceName" -}}
{{- printf "%s-%s" (include "spyglass.fullname" .) .Values.database.type | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spyglass.redisServiceName" -}}
{{- printf "%s-redis" (include "spyglass.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spyglass.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "spyglass.fullname" .)) .Values.ingress.tls.secretName -}}
{{- end -}}

{{- define "spyglass.agentsTlsSecretName" -}}
{{- default (include "spyglass.tlsSecretName" .) .Values.ingress.agents.tlsSecretName -}}
{{- end -}}

{{- define "spyglass.agentsHost" -}}
{{- default .Values.ingress.console.host .Values.ingress.agents.host -}}
{{- end -}}

{{/* The URL people and agents use: config.publicUrl, else the console ingress or route host. */}}
{{- define "spyglass.publicUrl" -}}
{{- if .Values.config.publicUrl -}}
{{- .Values.config.publicUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.console.host -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.console.host -}}
{{- else if and .Values.route.enabled .Values.route.host -}}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.route.tls.termination "")) .Values.route.host -}}
{{- end -}}
{{- end -}}

{{/* trustProxy: as given, else one hop behind an ingress or route, else off. */}}
{{- define "spyglass.trustProxy" -}}
{{- $v := .Values.config.trustProxy -}}
{{- if or (kindIs "bool" $v) (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- $v -}}
{{- else if ne (toString $v) "" -}}
{{- $v | quote -}}
{{- else if or .Values.ingress.enabled .Values.route.enabled -}}
1
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/* Agent WebSocket path (packages/protocol: /api/v1/agents/connect). */}}
{{- define "spyglass.agentsPath" -}}/api/v1/agents/connect{{- end -}}

{{/* Name of the OTLP Service and Ingress: <fullname>-otlp. */}}
{{- define "spyglass.otlpName" -}}
{{- printf "%s-otlp" (include "spyglass.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spyglass.otlpTlsSecretName" -}}
{{- default (printf "%s-tls" (include "spyglass.otlpName" .)) .Values.otlp.ingress.tls.secretName -}}
{{- end -}}

{{/* The enabled OTLP ports of a Service (the hub's, and the OTLP-only one). */}}
{{- define "spyglass.otlpServicePorts" -}}
{{- if .Values.otlp.http.enabled }}
- name: otlp-http
  port: {{ .Values.otlp.http.port }}
  targetPort: otlp-http
  protocol: TCP
{{- end }}
{{- if .Values.otlp.grpc.enabled }}
- name: otlp-grpc
  port: {{ .Values.otlp.grpc.port }}
  targetPort: otlp-grpc
  protocol: TCP
  appProtocol: grpc
{{- end }}
{{- end -}}

{{/* The enabled OTLP container ports as NetworkPolicy ports. */}}
{{- define "spyglass.otlpPolicyPorts" -}}
{{- if .Values.otlp.http.enabled }}
- port: otlp-http
  protocol: TCP
{{- end }}
{{- if .Values.otlp.grpc.enabled }}
- port: otlp-grpc
  protocol: TCP
{{- end }}
{{- end -}}

{{/* traces.retention.maxBytes: as given, else 1 GiB on SQLite (its PVC is small), else the hub's default (empty). */}}
{{- define "spyglass.tracesMaxBytes" -}}
{{- $v := .Values.traces.retention.maxBytes -}}
{{- if not (kindIs "invalid" $v) -}}
{{- int64 $v -}}
{{- else if eq .Values.database.type "sqlite" -}}
1073741824
{{- end -}}
{{- end -}}

{{/* Checks that values.schema.json cannot express. */}}
{{- define "spyglass.validate" -}}
{{- if and (ne .Values.database.type "sqlite") (not .Values.database.bundled) (not .Values.existingSecret) (not .Values.database.external.url) (not .Values.database.external.host) -}}
{{- fail "database.type is mysql/postgres without database.bundled: set database.external.url or database.external.host (or provide database-url in existingSecret)" -}}
{{- end -}}
{{- if and .Values.redis.enabled (not .Values.redis.bundled) (not .Values.existingSecret) (not .Values.redis.external.url) (not .Values.redis.external.host) -}}
{{- fail "redis.enabled without redis.bundled: set redis.external.url or redis.external.host (or provide redis-url in existingSecret)" -}}
{{- end -}}
{{- if and .Values.certManager.enabled (not .Values.certManager.issuerRef.name) -}}
{{- fail "certManager.enabled needs certManager.issuerRef.name" -}}
{{- end -}}
{{- if and .Values.certManager.enabled (not (and .Values.ingress.enabled .Values.ingress.tls.enabled)) -}}
{{- fail "certManager.enabled issues the ingress TLS certificate: set ingress.enabled and ingress.tls.enabled" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas is above autoscaling.maxReplicas" -}}
{{- end -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) (add (int64 .Values.config.shutdownTimeoutMs) (mul (int .Values.preStopSleepSeconds) 1000)) -}}
{{- fail "terminationGracePeriodSeconds must exceed preStopSleepSeconds + config.shutdownTimeoutMs/1000, or pods are killed while draining" -}}
{{- end -}}
{{- if and .Values.route.enabled (not .Values.route.host) -}}
{{- fail "route.enabled needs route.host" -}}
{{- end -}}
{{- if and .Values.otlp.http.enabled .Values.otlp.grpc.enabled (eq (int .Values.otlp.http.port) (int .Values.otlp.grpc.port)) -}}
{{- fail "otlp.http.port and otlp.grpc.port must differ" -}}
{{- end -}}
{{- if and .Values.otlp.ingress.enabled (not .Values.otlp.http.enabled) -}}
{{- fail "otlp.ingress.enabled routes to the OTLP/HTTP port: set otlp.http.enabled" -}}
{{- end -}}
{{- if and .Values.otlp.ingress.enabled (not .Values.otlp.ingress.host) -}}
{{- fail "otlp.ingress.enabled needs otlp.ingress.host" -}}
{{- end -}}
{{- end -}}
