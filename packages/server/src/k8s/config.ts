import { CLUSTER_NAME, resolveResource } from '@spyglass/protocol';
import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';
import { resolveWatched } from './watch/targets.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A regular expression given as text; checked at start-up so a typo fails there with its position. */
const regexText = z
  .string()
  .max(1000)
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression');

/**
 * An exclusion or redaction rule: every field given must match (regexes, unanchored unless written with ^…$).
 * `resource` is matched against `group/resource` (`apps/deployments`, `/pods` for the core group).
 */
export const objectRuleSchema = z
  .object({
    resource: regexText.optional(),
    namespace: regexText.optional(),
    name: regexText.optional(),
    /** Audit entries only: the client's user agent. */
    userAgent: regexText.optional(),
    /** Audit entries only: the user name. */
    user: regexText.optional(),
  })
  .strict()
  .refine((r) => Object.keys(r).length > 0, 'a rule names at least one of resource, namespace, name, userAgent, user');
export type ObjectRule = z.output<typeof objectRuleSchema>;

/** Resources the diff watcher follows when a cluster names none. Secrets never: their data must not be stored. */
export const DEFAULT_WATCHED_RESOURCES = [
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'pods',
  'services',
  'nodes',
  'jobs',
  'cronjobs',
  'configmaps',
] as const;

/** A resource to watch: a well-known name (`deployments`, `rs`) or, for custom resources, group/version/resource. */
const watchedResourceSchema = z.union([
  z.string().min(1).max(253),
  z
    .object({
      group: z.string().max(253),
      version: z.string().min(1).max(63),
      resource: z.string().min(1).max(253),
    })
    .strict(),
]);
export type WatchedResource = z.output<typeof watchedResourceSchema>;

/** Core Secrets, however they are named (`secrets`, `Secret`, `SECRETS`, `secrets.`, `{ group: '', resource: … }`). */
export function isSecrets(r: WatchedResource): boolean {
  if (typeof r !== 'string') return r.group === '' && r.resource.toLowerCase() === 'secrets';
  const known = resolveResource(r);
  return known !== undefined ? known.group === '' && known.resource === 'secrets' : /^secrets?\.?$/i.test(r);
}

/** One cluster: where its API server is (for the watchers) and its own filters. */
export const clusterConfigSchema = z
  .object({
    name: z
      .string()
      .regex(CLUSTER_NAME, 'a cluster name is a DNS label: lower-case letters, digits and "-", e.g. "prod"'),
    /** Path of a kubeconfig file for the watchers; absent with `inCluster: false`: webhook only, no watchers. */
    kubeconfig: z.string().min(1).optional(),
    /** The kubeconfig context to use (default: its current context). */
    context: z.string().min(1).optional(),
    /** Use the service account the hub's pod runs as (the Helm chart's ClusterRole). */
    inCluster: z.boolean().default(false),
    /** Watch Events (core/v1 and events.k8s.io/v1). */
    events: z.boolean().default(true),
    /** Resources whose versions are diffed. `secrets` is refused: their data is never stored. */
    resources: z
      .array(watchedResourceSchema)
      .max(100)
      .default([...DEFAULT_WATCHED_RESOURCES]),
    /** Entries of this cluster dropped before they are stored. */
    exclude: z.array(objectRuleSchema).max(100).default([]),
    /** Objects of this cluster whose diffs keep paths but not values. */
    redact: z.array(objectRuleSchema).max(100).default([]),
  })
  .strict()
  .refine((c) => !(c.inCluster && c.kubeconfig !== undefined), 'give kubeconfig or inCluster: true, not both')
  .superRefine((c, issue) => {
    c.resources.forEach((r, i) => {
      if (isSecrets(r)) {
        issue.addIssue({
          code: 'custom',
          path: ['resources', i],
          message:
            'secrets cannot be watched: their data is never stored (audit entries on secrets keep only their metadata)',
        });
        return;
      }
      if (typeof r !== 'string') return;
      try {
        resolveWatched(r);
      } catch (err) {
        issue.addIssue({ code: 'custom', path: ['resources', i], message: (err as Error).message });
      }
    });
  });
export type ClusterConfig = z.output<typeof clusterConfigSchema>;

/** The `k8s:` section of the hub configuration (Kubernetes object tracing). docs/configuration.md lists every key. */
export const k8sConfigSchema = z
  .object({
    clusters: z
      .array(clusterConfigSchema)
      .max(200)
      .default([])
      .refine((list) => new Set(list.map((c) => c.name)).size === list.length, 'cluster names must be unique'),
    /** Accept webhook posts only for clusters listed in `clusters` (otherwise any valid name is a new cluster). */
    requireKnownClusters: z.boolean().default(false),
    /** Entries (audit entries, Events, versions) accepted and not yet stored, at most; past it the webhook answers 429. */
    queueCapacity: z.number().int().min(1000).max(10_000_000).default(100_000),
    /** Largest webhook or import body (bytes). The API server's default batch is at most 400 events. */
    maxBodyBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(32 * 1024 * 1024),
    /** Entries of every cluster dropped before they are stored (added to each cluster's own `exclude`). */
    exclude: z
      .array(objectRuleSchema)
      .max(100)
      .default([{ userAgent: '/leader-election' }, { userAgent: 'local-path-provisioner/' }]),
    retention: z
      .object({
        /** Entries and versions are removed this long after they happened. */
        maxAgeMs: z
          .number()
          .int()
          .min(60_000)
          .default(7 * DAY_MS),
        sweepIntervalMs: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Objects one trace includes at most (the root, its owners and owned objects). */
        maxObjectsPerTrace: z.number().int().min(1).max(10_000).default(500),
        /** Entries one trace includes at most. */
        maxEntriesPerTrace: z.number().int().min(100).max(1_000_000).default(50_000),
        /** Largest object body kept for diffs (bytes of JSON); bigger versions are diffed as metadata only. */
        maxObjectBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024),
      })
      .strict()
      .prefault({}),
    /** Events older than this when first seen by a watcher (a relist returns old ones) are not stored again. */
    maxEventAgeMs: z
      .number()
      .int()
      .min(1000)
      .default(60 * 60 * 1000),
  })
  .strict()
  .prefault({});

export type K8sConfig = z.output<typeof k8sConfigSchema>;

export const k8sConfigSection: ConfigSection<typeof k8sConfigSchema> = {
  key: 'k8s',
  schema: k8sConfigSchema,
  env: [
    { env: 'SPYGLASS_K8S_QUEUE_CAPACITY', key: 'queueCapacity', parse: 'int' },
    { env: 'SPYGLASS_K8S_RETENTION_MS', key: 'retention.maxAgeMs', parse: 'int' },
    { env: 'SPYGLASS_K8S_REQUIRE_KNOWN_CLUSTERS', key: 'requireKnownClusters', parse: 'bool' },
    { env: 'SPYGLASS_K8S_MAX_BODY_BYTES', key: 'maxBodyBytes', parse: 'int' },
  ],
};
