import { z } from 'zod';
import { epochMsSchema, pageQuerySchema } from './common.js';
import { spanSchema } from './traces.js';

/**
 * Kubernetes object tracing: what the hub records about objects of a cluster (audit entries, Events, diffs between
 * versions) and how it answers it, as one trace per object with its owners.
 */

/** A cluster's name as it appears in the webhook path and the config: a DNS label (`prod`, `eu-west-1`). */
export const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const clusterNameSchema = z
  .string()
  .regex(CLUSTER_NAME, 'a cluster name is a DNS label: lower-case letters, digits and "-", at most 63, e.g. "prod"');

/** How the resources people name on the command line map to the API's plural resource and group. */
export interface ResourceInfo {
  /** Plural, lower-case, as in the API path (`deployments`). */
  resource: string;
  /** API group, `''` for the core group. */
  group: string;
  kind: string;
  namespaced: boolean;
}

const WELL_KNOWN: readonly (ResourceInfo & { aliases: readonly string[] })[] = [
  { resource: 'pods', group: '', kind: 'Pod', namespaced: true, aliases: ['pod', 'po'] },
  { resource: 'services', group: '', kind: 'Service', namespaced: true, aliases: ['service', 'svc'] },
  { resource: 'nodes', group: '', kind: 'Node', namespaced: false, aliases: ['node', 'no'] },
  { resource: 'configmaps', group: '', kind: 'ConfigMap', namespaced: true, aliases: ['configmap', 'cm'] },
  { resource: 'secrets', group: '', kind: 'Secret', namespaced: true, aliases: ['secret'] },
  { resource: 'namespaces', group: '', kind: 'Namespace', namespaced: false, aliases: ['namespace', 'ns'] },
  { resource: 'events', group: '', kind: 'Event', namespaced: true, aliases: ['event', 'ev'] },
  { resource: 'endpoints', group: '', kind: 'Endpoints', namespaced: true, aliases: ['ep'] },
  {
    resource: 'serviceaccounts',
    group: '',
    kind: 'ServiceAccount',
    namespaced: true,
    aliases: ['serviceaccount', 'sa'],
  },
  {
    resource: 'persistentvolumeclaims',
    group: '',
    kind: 'PersistentVolumeClaim',
    namespaced: true,
    aliases: ['persistentvolumeclaim', 'pvc'],
  },
  {
    resource: 'persistentvolumes',
    group: '',
    kind: 'PersistentVolume',
    namespaced: false,
    aliases: ['persistentvolume', 'pv'],
  },
  { resource: 'deployments', group: 'apps', kind: 'Deployment', namespaced: true, aliases: ['deployment', 'deploy'] },
  { resource: 'replicasets', group: 'apps', kind: 'ReplicaSet', namespaced: true, aliases: ['replicaset', 'rs'] },
  { resource: 'statefulsets', group: 'apps', kind: 'StatefulSet', namespaced: true, aliases: ['statefulset', 'sts'] },
  { resource: 'daemonsets', group: 'apps', kind: 'DaemonSet', namespaced: true, aliases: ['daemonset', 'ds'] },
  {
    resource: 'controllerrevisions',
    group: 'apps',
    kind: 'ControllerRevision',
    namespaced: true,
    aliases: ['controllerrevision'],
  },
  { resource: 'jobs', group: 'batch', kind: 'Job', namespaced: true, aliases: ['job'] },
  { resource: 'cronjobs', group: 'batch', kind: 'CronJob', namespaced: true, aliases: ['cronjob', 'cj'] },
  { resource: 'ingresses', group: 'networking.k8s.io', kind: 'Ingress', namespaced: true, aliases: ['ingress', 'ing'] },
  {
    resource: 'horizontalpodautoscalers',
    group: 'autoscaling',
    kind: 'HorizontalPodAutoscaler',
    namespaced: true,
    aliases: ['horizontalpodautoscaler', 'hpa'],
  },
  { resource: 'leases', group: 'coordination.k8s.io', kind: 'Lease', namespaced: true, aliases: ['lease'] },
];

/**
 * The well-known resource a name refers to (`deploy`, `deployment`, `deployments`, `Deployment`, `deployments.apps`),
 * or undefined for anything else (a custom resource is named by its plural, and its group given separately).
 */
export function resolveResource(name: string): ResourceInfo | undefined {
  const n = name.toLowerCase();
  const dot = n.indexOf('.');
  const base = dot === -1 ? n : n.slice(0, dot);
  const group = dot === -1 ? undefined : n.slice(dot + 1);
  const hit = WELL_KNOWN.find((r) => r.resource === base || r.aliases.includes(base) || r.kind.toLowerCase() === base);
  if (hit === undefined || (group !== undefined && group !== hit.group)) return undefined;
  return { resource: hit.resource, group: hit.group, kind: hit.kind, namespaced: hit.namespaced };
}

/** The resource (plural) of a well-known kind in a group (`Deployment` in `apps` → `deployments`). */
export function resourceOfKind(kind: string, group: string): ResourceInfo | undefined {
  const hit = WELL_KNOWN.find((r) => r.kind === kind && r.group === group);
  return hit === undefined
    ? undefined
    : { resource: hit.resource, group: hit.group, kind: hit.kind, namespaced: hit.namespaced };
}

const resourceSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'a resource is its plural lower-case name, e.g. deployments');
const groupSchema = z
  .string()
  .max(253)
  .regex(/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?)?$/, 'an API group is a DNS name such as apps, or empty for the core group');
/** Names of objects: up to 253 characters, no "/" (what the API server allows in a path segment). */
const objectNameSchema = z
  .string()
  .min(1)
  .max(253)
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  .regex(/^[^/\u0000-\u001f]+$/, 'an object name has no "/" and no control characters');
const namespaceSchema = z
  .string()
  .max(63)
  .regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?)?$/, 'a namespace is a DNS label; empty for cluster-scoped objects');

/** Identifies one object: cluster, API group and resource, namespace (empty when cluster-scoped), name. */
export const k8sObjectKeySchema = z.object({
  cluster: clusterNameSchema,
  /** API group; for the resources `resolveResource` knows it may be left out. */
  group: groupSchema.optional(),
  resource: resourceSchema,
  namespace: namespaceSchema.default(''),
  name: objectNameSchema,
});
export type K8sObjectKeyInput = z.input<typeof k8sObjectKeySchema>;

/** A reference from an object to another (an owner, or an owned object). */
export const k8sObjectRefSchema = z.object({
  cluster: z.string(),
  group: z.string(),
  resource: z.string(),
  kind: z.string(),
  namespace: z.string(),
  name: z.string(),
  uid: z.string().nullable(),
});
export type K8sObjectRef = z.infer<typeof k8sObjectRefSchema>;

/** What the hub knows about an object. */
export const k8sObjectSchema = z.object({
  cluster: z.string(),
  group: z.string(),
  resource: z.string(),
  /** `Deployment`, `Pod`…; empty when only an audit entry without a body named it. */
  kind: z.string(),
  namespace: z.string(),
  name: z.string(),
  uid: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  /** From `ownerReferences` (the controlling owner first). */
  owners: z.array(k8sObjectRefSchema),
  firstSeenAt: epochMsSchema,
  lastSeenAt: epochMsSchema,
  /** Seen deleted (by a delete audit entry or a watch). */
  deleted: z.boolean(),
  /** Diffs of this object keep paths but not values (a label or a redaction rule said so). */
  redacted: z.boolean(),
});
export type K8sObject = z.infer<typeof k8sObjectSchema>;

/** Searching objects: any mix of these; `name` matches a part of the name. */
export const k8sObjectQuerySchema = pageQuerySchema.extend({
  cluster: clusterNameSchema.optional(),
  resource: z.string().max(253).optional(),
  group: groupSchema.optional(),
  namespace: namespaceSchema.optional(),
  name: z.string().max(253).optional(),
  /** `key=value` on the object's labels. */
  label: z
    .string()
    .max(400)
    .regex(/^[^=]{1,317}=[\s\S]{0,63}$/, 'must be key=value')
    .optional(),
  /** Objects this user changed (audit `user.username`, or the impersonated user). */
  user: z.string().max(255).optional(),
  /** Objects with an audit entry of this verb (`create`, `update`, `patch`, `delete`). */
  verb: z.string().max(32).optional(),
  /** Seen at or after / before, epoch ms. */
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});
export type K8sObjectQuery = z.infer<typeof k8sObjectQuerySchema>;

export const K8S_TRACE_MODES = ['tracing', 'tree', 'timeline'] as const;
export const k8sTraceModeSchema = z.enum(K8S_TRACE_MODES);
export type K8sTraceMode = z.infer<typeof k8sTraceModeSchema>;

export const K8S_OWNER_DIRECTIONS = ['both', 'ancestors', 'descendants', 'none'] as const;

/** One object's trace over a time range, with its owners and/or owned objects. */
export const k8sTraceQuerySchema = k8sObjectKeySchema.extend({
  /** Epoch ms; default: the last 24 hours before `to`. */
  from: z.coerce.number().int().nonnegative().optional(),
  /** Epoch ms; default: now. */
  to: z.coerce.number().int().nonnegative().optional(),
  /**
   * `tracing` (default): one span per object, the owner tree as the span tree, audit entries, Events and diffs as
   * span events on it; `tree`: each entry its own span under its object's span; `timeline`: every entry directly
   * under the root object.
   */
  mode: k8sTraceModeSchema.default('tracing'),
  /** Which related objects to include (by `ownerReferences`). */
  owners: z.enum(K8S_OWNER_DIRECTIONS).default('both'),
  /** How many ownership steps up and down (1–5). */
  depth: z.coerce.number().int().min(1).max(5).default(3),
});
export type K8sTraceQuery = z.infer<typeof k8sTraceQuerySchema>;

export const k8sTraceSchema = z.object({
  /** Stable for an object: the same object always gives the same trace id. */
  traceId: z.string(),
  root: k8sObjectSchema,
  mode: k8sTraceModeSchema,
  from: epochMsSchema,
  to: epochMsSchema,
  /** Every object in the trace, the root first. */
  objects: z.array(k8sObjectSchema),
  /** The same span model as OTLP traces (so the waterfall renders it): `service` is the object's kind. */
  spans: z.array(spanSchema),
  /** Entries or objects beyond the read limits were left out. */
  truncated: z.boolean(),
  warnings: z.array(z.string()),
});
export type K8sTrace = z.infer<typeof k8sTraceSchema>;

export const k8sDiffLineSchema = z.object({
  /** `spec.replicas`, `spec.template.spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`. */
  path: z.string(),
  /** JSON of the old and new value; absent when the field was added / removed; `"<redacted>"` when redacted. */
  old: z.string().optional(),
  new: z.string().optional(),
});
export type K8sDiffLine = z.infer<typeof k8sDiffLineSchema>;

/** The change from one version of an object to the next. */
export const k8sVersionDiffSchema = z.object({
  resourceVersion: z.string(),
  oldResourceVersion: z.string().nullable(),
  /** When the hub saw the new version, epoch µs. */
  timeUs: z.number(),
  /** Where the new version came from: a watch, or an audit entry's response body. */
  source: z.enum(['watch', 'audit']),
  /** `created`, `updated` or `deleted`. */
  change: z.enum(['created', 'updated', 'deleted']),
  lines: z.array(k8sDiffLineSchema),
  redacted: z.boolean(),
});
export type K8sVersionDiff = z.infer<typeof k8sVersionDiffSchema>;

export const k8sDiffQuerySchema = k8sObjectKeySchema.extend({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const k8sDiffResultSchema = z.object({
  object: k8sObjectSchema,
  /** Oldest first. */
  items: z.array(k8sVersionDiffSchema),
  truncated: z.boolean(),
});
export type K8sDiffResult = z.infer<typeof k8sDiffResultSchema>;

/** `spyglass k8s import`: audit entries from an audit log file (the log backend writes one Event per line). */
export const k8sImportBodySchema = z.object({
  /** `audit.k8s.io/v1` Event objects; checked one by one (a bad entry is reported, the others are kept). */
  events: z.array(z.unknown()).min(1).max(5000),
});

export const k8sIngestResultSchema = z.object({
  /** Entries kept (queued for the store). */
  accepted: z.number().int().nonnegative(),
  /** Entries skipped by design: reads, stages before ResponseComplete, excluded by a filter. */
  skipped: z.number().int().nonnegative(),
  /** Why they were skipped: `read` (get/list/watch), `stage` (before ResponseComplete), `no-object` (no objectRef, or
   * no name to file it under), `excluded` (a filter). */
  skippedBy: z.record(z.string(), z.number().int().nonnegative()),
  /** Entries refused as malformed, with the reason of the first few. */
  rejected: z.number().int().nonnegative(),
  errors: z.array(z.object({ index: z.number().int(), message: z.string() })),
});
export type K8sIngestResult = z.infer<typeof k8sIngestResultSchema>;

export const k8sClusterParamsSchema = z.object({ cluster: clusterNameSchema });

export const k8sFindingSchema = z.object({
  level: z.enum(['ok', 'warning', 'error']),
  cluster: z.string().nullable(),
  message: z.string(),
  /** What to do about it. */
  suggestion: z.string().nullable(),
});

export const k8sWatcherStatusSchema = z.object({
  /** `deployments.apps`, `pods`, `events`, `events.events.k8s.io`. */
  resource: z.string(),
  state: z.enum(['starting', 'listing', 'watching', 'backoff', 'stopped', 'forbidden', 'unavailable']),
  lastResourceVersion: z.string().nullable(),
  /** Changes received since the watcher started on this replica. */
  events: z.number().int().nonnegative(),
  /** Relists after `410 Gone` (or a failed watch that could not resume). */
  relists: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** Epoch ms of the last change or bookmark. */
  lastEventAt: epochMsSchema.nullable(),
  /** How far behind the watch is: now − the newest object's change time seen (ms), when known. */
  lagMs: z.number().nonnegative().nullable(),
});
export type K8sWatcherStatus = z.infer<typeof k8sWatcherStatusSchema>;

export const k8sClusterDiagnosticsSchema = z.object({
  name: z.string(),
  /** Named in the hub config (watchers) or only seen through its webhook. */
  configured: z.boolean(),
  webhook: z.object({
    requests: z.number().int().nonnegative(),
    events: z.number().int().nonnegative(),
    accepted: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    /** Requests answered 429 because the queue was full. */
    throttled: z.number().int().nonnegative(),
    lastRequestAt: epochMsSchema.nullable(),
  }),
  /** Events (core/v1 and events.k8s.io/v1) written, and dropped (too old, filtered or for unknown objects). */
  events: z.object({ seen: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() }),
  /** The watchers, as the replica running them reports them (empty when this cluster has none configured). */
  watchers: z.array(k8sWatcherStatusSchema),
  /** Where the watchers run: the lease holder (a replica id), or null when no replica holds it. */
  watcherReplica: z.string().nullable(),
  objects: z.number().int().nonnegative(),
});
export type K8sClusterDiagnostics = z.infer<typeof k8sClusterDiagnosticsSchema>;

export const k8sDiagnosticsSchema = z.object({
  replicaId: z.string(),
  queue: z.object({
    depth: z.number().int().nonnegative(),
    capacity: z.number().int().nonnegative(),
    /** Entries written since this replica started, and batches that failed to write. */
    written: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
  }),
  clusters: z.array(k8sClusterDiagnosticsSchema),
  findings: z.array(k8sFindingSchema),
});
export type K8sDiagnostics = z.infer<typeof k8sDiagnosticsSchema>;

export const k8sClustersSchema = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      configured: z.boolean(),
      objects: z.number().int().nonnegative(),
      lastSeenAt: epochMsSchema.nullable(),
    }),
  ),
});
