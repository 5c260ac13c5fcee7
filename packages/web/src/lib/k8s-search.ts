import { K8S_OWNER_DIRECTIONS, type K8sTraceMode, type K8sTraceQuery } from '@spyglass/protocol';

/**
 * What the Kubernetes page shows, as it is kept in the URL: the chosen object, how its trace is assembled, the time
 * range, and the open tab and span. Defaults are left out of the URL so that a shared link stays short.
 */
export interface KubernetesSearch {
  cluster?: string;
  /** Plural resource, as in the API path (`deployments`). */
  resource?: string;
  /** API group; left out for the core group. */
  group?: string;
  /** Left out for cluster-scoped objects. */
  namespace?: string;
  name?: string;
  /** `tracing` is the default and is left out. */
  mode?: Exclude<K8sTraceMode, 'tracing'>;
  /** `both` is the default and is left out. */
  owners?: Exclude<OwnerDirection, 'both'>;
  /** Ownership steps up and down, 1–5; 3 is the default and is left out. */
  depth?: number;
  /** `24h` is the default and is left out; `custom` uses `from` and `to`. */
  range?: Exclude<K8sRange, typeof DEFAULT_K8S_RANGE>;
  /** Epoch ms, with `range=custom` only. */
  from?: number;
  to?: number;
  /** The tab: the trace (default) or the object's versions as diffs. */
  view?: 'diff';
  /** The span whose details are open. */
  span?: string;
}

export type OwnerDirection = (typeof K8S_OWNER_DIRECTIONS)[number];

export const K8S_RANGES = [
  { value: '1h', label: 'Last hour', ms: 60 * 60_000 },
  { value: '6h', label: 'Last 6 hours', ms: 6 * 60 * 60_000 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 60 * 60_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 60 * 60_000 },
] as const;
export type K8sRange = (typeof K8S_RANGES)[number]['value'] | 'custom';
export const DEFAULT_K8S_RANGE = '24h';
export const DEFAULT_DEPTH = 3;

/** The modes, named as what they show (never as "services"). */
export const MODE_LABELS: Record<K8sTraceMode, { label: string; hint: string }> = {
  tracing: {
    label: 'Tracing',
    hint: 'One row per object, owners above what they own; audit entries, Events and diffs are marks on its row',
  },
  tree: { label: 'Tree', hint: 'Each audit entry, Event and diff is its own row under its object' },
  timeline: { label: 'Timeline', hint: 'Every audit entry, Event and diff as a row directly under this object' },
};

export const OWNER_LABELS: Record<OwnerDirection, string> = {
  both: 'Both',
  ancestors: 'Ancestors',
  descendants: 'Owned objects',
  none: 'None',
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const int = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/** The URL's search parameters as the page's state; anything malformed is left out. */
export function parseKubernetesSearch(s: Record<string, unknown>): KubernetesSearch {
  const out: KubernetesSearch = {};
  for (const key of ['cluster', 'resource', 'group', 'namespace', 'name', 'span'] as const) {
    const v = text(s[key]);
    if (v !== undefined) out[key] = v;
  }
  if (s.mode === 'tree' || s.mode === 'timeline') out.mode = s.mode;
  if (s.owners === 'ancestors' || s.owners === 'descendants' || s.owners === 'none') out.owners = s.owners;
  const depth = int(s.depth);
  if (depth !== undefined && depth >= 1 && depth <= 5 && depth !== DEFAULT_DEPTH) out.depth = depth;
  if (s.range === 'custom') {
    const from = int(s.from);
    const to = int(s.to);
    // A custom range without both ends (or backwards) is not one: fall back to the default.
    if (from !== undefined && to !== undefined && from < to) {
      out.range = 'custom';
      out.from = from;
      out.to = to;
    }
  } else if (s.range === '1h' || s.range === '6h' || s.range === '7d') out.range = s.range;
  if (s.view === 'diff') out.view = 'diff';
  return out;
}

/** The object a search names, when it names one (cluster, resource and name are all needed). */
export interface ObjectKey {
  cluster: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

export function selectedObject(s: KubernetesSearch): ObjectKey | undefined {
  if (s.cluster === undefined || s.resource === undefined || s.name === undefined) return undefined;
  return { cluster: s.cluster, group: s.group ?? '', resource: s.resource, namespace: s.namespace ?? '', name: s.name };
}

/** The time window of a search (epoch ms), preset ranges ending at `now`. */
export function timeWindow(s: KubernetesSearch, now: number): { from: number; to: number } {
  if (s.range === 'custom' && s.from !== undefined && s.to !== undefined) return { from: s.from, to: s.to };
  const preset = K8S_RANGES.find((r) => r.value === (s.range ?? DEFAULT_K8S_RANGE)) ?? K8S_RANGES[2];
  return { from: now - preset.ms, to: now };
}

/**
 * The part of the hub's object key a query carries. The group goes only when there is one: without it the hub
 * resolves a well-known resource's group itself (`deployments` → `apps`), and `''` would name the core group.
 */
export function keyQuery(o: ObjectKey): {
  cluster: string;
  group?: string;
  resource: string;
  namespace: string;
  name: string;
} {
  return {
    cluster: o.cluster,
    ...(o.group === '' ? {} : { group: o.group }),
    resource: o.resource,
    namespace: o.namespace,
    name: o.name,
  };
}

/** The hub's trace query for a search's object, over its time window ending at `now`. */
export function traceQueryOf(
  s: KubernetesSearch,
  o: ObjectKey,
  now: number,
): ReturnType<typeof keyQuery> & Pick<K8sTraceQuery, 'from' | 'to' | 'mode' | 'owners' | 'depth'> {
  const w = timeWindow(s, now);
  return {
    ...keyQuery(o),
    from: w.from,
    to: w.to,
    mode: s.mode ?? 'tracing',
    owners: s.owners ?? 'both',
    depth: s.depth ?? DEFAULT_DEPTH,
  };
}

/**
 * The search that opens another object's trace (from the owner tree, a search result): the same mode, owners, depth
 * and time range; the tab and the open span are the old object's, so they go.
 */
export function searchForObject(current: KubernetesSearch, o: ObjectKey): KubernetesSearch {
  const out: KubernetesSearch = { cluster: o.cluster, resource: o.resource, name: o.name };
  if (o.group !== '') out.group = o.group;
  if (o.namespace !== '') out.namespace = o.namespace;
  if (current.mode !== undefined) out.mode = current.mode;
  if (current.owners !== undefined) out.owners = current.owners;
  if (current.depth !== undefined) out.depth = current.depth;
  if (current.range !== undefined) out.range = current.range;
  if (current.range === 'custom') {
    if (current.from !== undefined) out.from = current.from;
    if (current.to !== undefined) out.to = current.to;
  }
  return out;
}

/** `shop/web`, or `node-1` for a cluster-scoped object. */
export function objectPath(o: { namespace: string; name: string }): string {
  return o.namespace === '' ? o.name : `${o.namespace}/${o.name}`;
}

/** The name alone when the object is in `namespace` (a trace's objects share the traced object's), else `ns/name`. */
export function shortPath(o: { namespace: string; name: string }, namespace: string): string {
  return o.namespace === namespace ? o.name : objectPath(o);
}

/** Epoch ms as the value of an `<input type="datetime-local">` (local time, to the minute). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an `<input type="datetime-local">` as epoch ms, or undefined when it is not a time. */
export function fromLocalInput(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (m === null) return undefined;
  const n = m.slice(1).map((x) => Number(x ?? 0));
  const month = n[1]! - 1;
  const date = new Date(n[0]!, month, n[2], n[3], n[4], n[5]);
  // `new Date` rolls 31 February over into March: that is not a time anyone typed.
  return Number.isNaN(date.getTime()) || date.getMonth() !== month ? undefined : date.getTime();
}
