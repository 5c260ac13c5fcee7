import { pageSchema } from './common.js';
import {
  k8sClusterParamsSchema,
  k8sClustersSchema,
  k8sDiagnosticsSchema,
  k8sDiffQuerySchema,
  k8sDiffResultSchema,
  k8sImportBodySchema,
  k8sIngestResultSchema,
  k8sObjectQuerySchema,
  k8sObjectSchema,
  k8sTraceQuerySchema,
  k8sTraceSchema,
} from './k8s.js';
import { defineOperation } from './operation.js';

/**
 * Operations of Kubernetes object tracing. The audit webhook itself (`POST /api/v1/k8s/audit/:cluster`, pool key) is
 * not an operation: it authenticates itself as OTLP ingest does.
 */
export const k8sOperations = {
  listClusters: defineOperation({
    name: 'k8s.clusters.list',
    summary: 'Clusters the hub watches or has received audit entries from',
    access: 'viewer',
    method: 'GET',
    path: '/api/v1/k8s/clusters',
    tags: ['kubernetes'],
    input: {},
    output: k8sClustersSchema,
  }),
  searchObjects: defineOperation({
    name: 'k8s.objects.search',
    summary: 'Objects by cluster, resource, namespace, part of the name, label, user or verb; most recently seen first',
    access: 'viewer',
    method: 'GET',
    path: '/api/v1/k8s/objects',
    tags: ['kubernetes'],
    input: { query: k8sObjectQuerySchema },
    output: pageSchema(k8sObjectSchema),
  }),
  getTrace: defineOperation({
    name: 'k8s.trace',
    summary:
      "One object's audit entries, Events and diffs over a time range as a trace, with its owners and owned objects",
    access: 'viewer',
    method: 'GET',
    path: '/api/v1/k8s/trace',
    tags: ['kubernetes'],
    input: { query: k8sTraceQuerySchema },
    output: k8sTraceSchema,
  }),
  getDiffs: defineOperation({
    name: 'k8s.diff',
    summary: "One object's versions as diffs, oldest first",
    access: 'viewer',
    method: 'GET',
    path: '/api/v1/k8s/diff',
    tags: ['kubernetes'],
    input: { query: k8sDiffQuerySchema },
    output: k8sDiffResultSchema,
  }),
  importAudit: defineOperation({
    name: 'k8s.audit.import',
    summary:
      'Audit entries from an audit log file (as the log backend writes them), for incidents that already happened',
    access: 'developer',
    audit: 'k8s.import',
    method: 'POST',
    path: '/api/v1/k8s/import/:cluster',
    tags: ['kubernetes'],
    input: { params: k8sClusterParamsSchema, body: k8sImportBodySchema },
    output: k8sIngestResultSchema,
  }),
  diagnostics: defineOperation({
    name: 'k8s.diagnostics',
    summary:
      'Webhook requests per cluster, Events seen and dropped, watcher state and lag, who runs the watchers, queue depth; with a suggestion for each bad number',
    access: 'viewer',
    method: 'GET',
    path: '/api/v1/k8s/diagnostics',
    tags: ['kubernetes'],
    input: {},
    output: k8sDiagnosticsSchema,
  }),
} as const;
