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

{{/*
trustProxy: as given; else, behind an ingress or route, the addresses of the ingress controller or router
(proxy.trustedCidrs, by default the private ranges pods get: uniquelocal); else off. Never a hop count: with one,
a client that reaches the hub directly (no NetworkPolicy) would choose its own address in X-Forwarded-For.
*/}}
{{- define "spyglass.trustProxy" -}}
{{- $v := .Values.config.trustProxy -}}
{{- if or (kindIs "bool" $v) (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- $v -}}
{{- else if ne (toString $v) "" -}}
{{- $v | quote -}}
{{- else if or .Values.ingress.enabled .Values.route.enabled -}}
{{- if .Values.proxy.trustedCidrs -}}
{{- join "," .Values.proxy.trustedCidrs | quote -}}
{{- else -}}
"uniquelocal"
{{- end -}}
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

{{/*
  Kubernetes object tracing. Resources the watchers know by name, as "<group>/<resource>" ("" is the core group):
  plural, kubectl short names, kind in lower case, and <plural>.<group> (packages/protocol resolveResource, the groups
  of packages/server/src/k8s/watch/targets.ts). Secrets are left out on purpose: they are never watched.
  values.schema.json lists the same names; a test checks both against the hub's resolver.
*/}}
{{- define "spyglass.k8sKnownResources" -}}
{{- $known := dict -}}
{{- range $entry := list
  (list "" "pods" "pod" "po")
  (list "" "services" "service" "svc")
  (list "" "nodes" "node" "no")
  (list "" "configmaps" "configmap" "cm")
  (list "" "namespaces" "namespace" "ns")
  (list "" "events" "event" "ev")
  (list "" "endpoints" "ep")
  (list "" "serviceaccounts" "serviceaccount" "sa")
  (list "" "persistentvolumeclaims" "persistentvolumeclaim" "pvc")
  (list "" "persistentvolumes" "persistentvolume" "pv")
  (list "apps" "deployments" "deployment" "deploy")
  (list "apps" "replicasets" "replicaset" "rs")
  (list "apps" "statefulsets" "statefulset" "sts")
  (list "apps" "daemonsets" "daemonset" "ds")
  (list "apps" "controllerrevisions" "controllerrevision")
  (list "batch" "jobs" "job")
  (list "batch" "cronjobs" "cronjob" "cj")
  (list "networking.k8s.io" "ingresses" "ingress" "ing")
  (list "autoscaling" "horizontalpodautoscalers" "horizontalpodautoscaler" "hpa")
  (list "coordination.k8s.io" "leases" "lease") -}}
{{- $group := first $entry -}}
{{- $plural := index $entry 1 -}}
{{- range rest $entry -}}
{{- $_ := set $known . (printf "%s/%s" $group $plural) -}}
{{- end -}}
{{- if $group -}}
{{- $_ := set $known (printf "%s.%s" $plural $group) (printf "%s/%s" $group $plural) -}}
{{- end -}}
{{- end -}}
{{- toJson $known -}}
{{- end -}}

{{/* What a cluster watches when it names no resources (the hub's DEFAULT_WATCHED_RESOURCES). */}}
{{- define "spyglass.k8sDefaultResources" -}}
{{- list "deployments" "replicasets" "statefulsets" "daemonsets" "pods" "services" "nodes" "jobs" "cronjobs" "configmaps" | toJson -}}
{{- end -}}

{{/* The resources a cluster watches, as JSON: its own list when given (even empty), else the default one. */}}
{{- define "spyglass.k8sClusterResources" -}}
{{- if hasKey .cluster "resources" -}}
{{- .cluster.resources | toJson -}}
{{- else -}}
{{- include "spyglass.k8sDefaultResources" .root -}}
{{- end -}}
{{- end -}}

{{/* "true" when some k8s cluster has watchers (inCluster or a kubeconfig Secret), else empty. */}}
{{- define "spyglass.k8sWatchers" -}}
{{- range .Values.k8s.clusters -}}
{{- if or .inCluster .kubeconfigSecret -}}true{{- break -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when some k8s cluster is the one the hub runs in (its watchers use the pod's ServiceAccount), else empty. */}}
{{- define "spyglass.k8sInCluster" -}}
{{- range .Values.k8s.clusters -}}
{{- if .inCluster -}}true{{- break -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where a cluster's kubeconfig is mounted (inside the config volume at /etc/spyglass). */}}
{{- define "spyglass.ssoSecretPath" -}}
{{- printf "/etc/spyglass/sso/%s/client-secret" . -}}
{{- end -}}

{{- define "spyglass.k8sKubeconfigPath" -}}
{{- printf "/etc/spyglass/k8s/%s/kubeconfig" . -}}
{{- end -}}

{{/* The ClusterRole and ClusterRoleBinding: cluster-scoped, so the namespace is part of the name. */}}
{{- define "spyglass.k8sRbacName" -}}
{{- printf "%s-%s" .Release.Namespace (include "spyglass.fullname" .) | trunc 59 | trimSuffix "-" -}}-k8s
{{- end -}}

{{/*
  The ClusterRole's rules: get, list and watch on what the inCluster clusters watch, one rule per API group (sorted),
  plus Events in the core and events.k8s.io groups when their Event watcher is on.
*/}}
{{- define "spyglass.k8sRbacRules" -}}
{{- $known := include "spyglass.k8sKnownResources" . | fromJson -}}
{{- $groups := dict -}}
{{- range $i, $c := .Values.k8s.clusters -}}
{{- if $c.inCluster -}}
{{- $resources := include "spyglass.k8sClusterResources" (dict "root" $ "cluster" $c) | fromJsonArray -}}
{{- range $resources -}}
{{- $group := "" -}}
{{- $resource := "" -}}
{{- if kindIs "string" . -}}
{{- $gr := get $known (lower .) -}}
{{- if not $gr -}}
{{- fail (printf "k8s.clusters[%d].resources: %q is not a resource the watchers know" $i .) -}}
{{- end -}}
{{- $group = first (splitList "/" $gr) -}}
{{- $resource = last (splitList "/" $gr) -}}
{{- else -}}
{{- $group = .group -}}
{{- $resource = .resource -}}
{{- end -}}
{{- if and (eq $group "") (eq (lower $resource) "secrets") -}}
{{- fail (printf "k8s.clusters[%d].resources: secrets are never watched (their data must not be stored)" $i) -}}
{{- end -}}
{{- $_ := set $groups $group (append (get $groups $group | default list) $resource) -}}
{{- end -}}
{{- if or (not (hasKey $c "events")) $c.events -}}
{{- $_ := set $groups "" (append (get $groups "" | default list) "events") -}}
{{- $_ := set $groups "events.k8s.io" (append (get $groups "events.k8s.io" | default list) "events") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $group := keys $groups | sortAlpha }}
- apiGroups: [{{ $group | quote }}]
  resources: {{ get $groups $group | uniq | sortAlpha | toJson }}
  verbs: [get, list, watch]
{{- end }}
{{- end -}}

{{/*
  The assistant's model server port: the one in assistant.provider.baseUrl, else 443 for https and 80 for http.
  Empty when no baseUrl is set.
*/}}
{{- define "spyglass.assistantPort" -}}
{{- with .Values.assistant.provider.baseUrl -}}
{{- $u := urlParse . -}}
{{- $port := regexFind ":[0-9]+$" $u.host | trimPrefix ":" -}}
{{- if $port -}}{{ int $port }}{{- else if eq $u.scheme "https" -}}443{{- else -}}80{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where an audit sink's Secret is mounted: (list <sink name> <file>) → /etc/spyglass/audit-stream/<name>/<file>. */}}
{{- define "spyglass.auditStreamSecretPath" -}}
{{- printf "/etc/spyglass/audit-stream/%s/%s" (index . 0) (index . 1) -}}
{{- end -}}

{{/* The port/protocol an audit sink dials: syslog's port (UDP for protocol udp), else the URL's port or scheme's. */}}
{{- define "spyglass.auditSinkPort" -}}
{{- if eq .type "syslog" -}}
{{ int .port }}/{{ if eq (default "tcp" .protocol) "udp" }}UDP{{ else }}TCP{{ end }}
{{- else -}}
{{- $u := urlParse .url -}}
{{- $port := regexFind ":[0-9]+$" $u.host | trimPrefix ":" -}}
{{- if $port -}}{{ int $port }}{{- else if eq $u.scheme "https" -}}443{{- else -}}80{{- end -}}/TCP
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
{{- $p := .Values.assistant.provider -}}
{{- if and $p.baseUrl (not $p.model) -}}
{{- fail (printf "assistant.provider.baseUrl is set (%s): set assistant.provider.model too, the model name as that server knows it (e.g. qwen3, gpt-4.1-mini)" $p.baseUrl) -}}
{{- end -}}
{{- if $p.baseUrl -}}
{{- $u := urlParse $p.baseUrl -}}
{{- if $u.userinfo -}}
{{- fail "assistant.provider.baseUrl: no user or password in the URL (it is written to the ConfigMap); keep the key in a Secret named by assistant.provider.apiKeySecret" -}}
{{- end -}}
{{- if or $u.query $u.fragment (contains "?" $p.baseUrl) (contains "#" $p.baseUrl) -}}
{{- fail (printf "assistant.provider.baseUrl: %s has a query or fragment; give the API root only (the hub appends /chat/completions), e.g. https://api.openai.com/v1" $p.baseUrl) -}}
{{- end -}}
{{- if not $u.hostname -}}
{{- fail (printf "assistant.provider.baseUrl: %s names no host" $p.baseUrl) -}}
{{- end -}}
{{- end -}}
{{- with include "spyglass.assistantPort" . -}}
{{- if or (lt (int .) 1) (gt (int .) 65535) -}}
{{- fail (printf "assistant.provider.baseUrl: port %s is not between 1 and 65535" .) -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := $p.headers -}}
{{- if has (lower $name) (list "authorization" "proxy-authorization" "api-key" "x-api-key" "cookie") -}}
{{- fail (printf "assistant.provider.headers: %s is a credential, and headers are written to the ConfigMap: keep the key in a Secret named by assistant.provider.apiKeySecret (sent as Authorization: Bearer)" $name) -}}
{{- end -}}
{{- end -}}
{{- $clusterNames := list -}}
{{- range $i, $c := .Values.k8s.clusters -}}
{{- if has $c.name $clusterNames -}}
{{- fail (printf "k8s.clusters: the name %q is given twice (names are unique: they are the webhook path and the kubeconfig directory)" $c.name) -}}
{{- end -}}
{{- $clusterNames = append $clusterNames $c.name -}}
{{- if and $c.inCluster $c.kubeconfigSecret -}}
{{- fail (printf "k8s.clusters[%d] (%s): give inCluster: true or kubeconfigSecret, not both" $i $c.name) -}}
{{- end -}}
{{- end -}}
{{- $sinkNames := list -}}
{{- range $i, $s := .Values.auditStream.sinks -}}
{{- if has $s.name $sinkNames -}}
{{- fail (printf "auditStream.sinks: the name %q is given twice (names are unique: they key the cursor and the Secret mounts)" $s.name) -}}
{{- end -}}
{{- $sinkNames = append $sinkNames $s.name -}}
{{- if gt (int (default 1000 $s.minBackoffMs)) (int (default 60000 $s.maxBackoffMs)) -}}
{{- fail (printf "auditStream.sinks[%d] (%s): minBackoffMs must not exceed maxBackoffMs" $i $s.name) -}}
{{- end -}}
{{- with include "spyglass.auditSinkPort" $s -}}
{{- if or (lt (int (splitList "/" . | first)) 1) (gt (int (splitList "/" . | first)) 65535) -}}
{{- fail (printf "auditStream.sinks[%d] (%s): url port is not between 1 and 65535" $i $s.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
