import { resolveResource } from '@spyglass/protocol';
import type { ClusterConfig } from '../config.js';
import type { GroupVersionResource } from '../sink.js';

/** What one watch follows: the versions of a resource (diffs), or Events in one of their two APIs. */
export type WatchTarget =
  | { kind: 'versions'; watch: string; path: string; gvr: GroupVersionResource }
  | { kind: 'events'; watch: string; path: string; api: 'v1' | 'events.k8s.io/v1' };

/** The version the watchers use for a well-known group (each is served by every supported Kubernetes release). */
const GROUP_VERSION: Readonly<Record<string, string>> = {
  '': 'v1',
  apps: 'v1',
  batch: 'v1',
  'networking.k8s.io': 'v1',
  autoscaling: 'v2',
  'coordination.k8s.io': 'v1',
};

/** The collection path of a resource across all namespaces: `/api/v1/pods`, `/apis/apps/v1/deployments`. */
export function collectionPath(gvr: GroupVersionResource): string {
  return gvr.group === '' ? `/api/${gvr.version}/${gvr.resource}` : `/apis/${gvr.group}/${gvr.version}/${gvr.resource}`;
}

/** A watch's checkpoint name: `pods`, `deployments.apps`, `events`, `events.events.k8s.io`. */
export function watchName(gvr: { group: string; resource: string }): string {
  return gvr.group === '' ? gvr.resource : `${gvr.resource}.${gvr.group}`;
}

const SECRETS_REFUSED = 'secrets cannot be watched: their data is never stored';

/**
 * A configured resource, resolved; a string that names no well-known resource is an error naming what to write, and
 * core Secrets are refused here too (the config refuses them first, with the same words).
 */
export function resolveWatched(r: ClusterConfig['resources'][number]): GroupVersionResource {
  if (typeof r !== 'string') {
    if (r.group === '' && r.resource.toLowerCase() === 'secrets') throw new Error(SECRETS_REFUSED);
    return r;
  }
  const known = resolveResource(r);
  if (known?.group === '' && known.resource === 'secrets') throw new Error(SECRETS_REFUSED);
  const version = known === undefined ? undefined : GROUP_VERSION[known.group];
  if (known === undefined || version === undefined)
    throw new Error(
      `"${r}" is not a resource the watchers know: name a well-known one (deployments, pods, …) or give { group, version, resource }`,
    );
  return { group: known.group, version, resource: known.resource };
}

/** Every watch of a cluster: the Event watcher's two APIs (unless `events: false`), then one per resource. */
export function watchTargets(cluster: ClusterConfig): WatchTarget[] {
  const out: WatchTarget[] = [];
  if (cluster.events) {
    out.push({ kind: 'events', watch: 'events', path: '/api/v1/events', api: 'v1' });
    out.push({
      kind: 'events',
      watch: 'events.events.k8s.io',
      path: '/apis/events.k8s.io/v1/events',
      api: 'events.k8s.io/v1',
    });
  }
  const seen = new Set<string>();
  for (const r of cluster.resources) {
    const gvr = resolveWatched(r);
    const watch = watchName(gvr);
    if (seen.has(watch)) continue;
    seen.add(watch);
    out.push({ kind: 'versions', watch, path: collectionPath(gvr), gvr });
  }
  return out;
}
