import { createHash } from 'node:crypto';
import { SpyglassError, type Attributes, type K8sTrace, type K8sTraceMode, type Span } from '@spyglass/protocol';
import { formatLine } from './diff.js';
import { describeKey, objectId, type DiffData, type ObjectKey } from './model.js';
import type { K8sStore, StoredEntry, StoredObject } from './store.js';

export interface TraceRequest {
  key: ObjectKey;
  fromMs: number;
  toMs: number;
  mode: K8sTraceMode;
  owners: 'both' | 'ancestors' | 'descendants' | 'none';
  depth: number;
  maxObjects: number;
  maxEntries: number;
}

const hex = (text: string, len: number): string => createHash('sha256').update(text).digest('hex').slice(0, len);

/** The short name an object goes by in a trace: `deployment shop/web`, `node worker-1`. */
export function objectLabel(o: Pick<StoredObject, 'kind' | 'resource' | 'namespace' | 'name'>): string {
  const what = o.kind !== '' ? o.kind.toLowerCase() : o.resource;
  return `${what} ${o.namespace === '' ? '' : `${o.namespace}/`}${o.name}`;
}

/**
 * One object's trace, assembled at read time: the object, its owners up to `depth` steps (the controlling owner
 * first) and what it owns down to `depth` steps, with every entry of each in the range. Nothing is stored per time
 * window, so any range reads as one trace. Modes:
 * - `tracing`: one span per object, nested by ownership; entries are span events on their object's span;
 * - `tree`: the same object spans, each entry a child span of its object;
 * - `timeline`: the tree's top object only, every entry a child span of it (each naming its object).
 */
export async function assembleTrace(store: K8sStore, req: TraceRequest): Promise<K8sTrace> {
  const rootId = objectId(req.key);
  const root = await store.object(rootId);
  if (root === undefined)
    throw new SpyglassError(
      'NOT_FOUND',
      `nothing is recorded about ${describeKey(req.key)} (check the name, the namespace and the cluster; "spyglass k8s doctor" shows whether audit entries and watchers arrive)`,
    );
  const warnings: string[] = [];
  let truncated = false;
  const objects = new Map<string, StoredObject>([[rootId, root]]);
  /** Each object's parent in the span tree. */
  const parentOf = new Map<string, string>();

  // Owners: the controlling owner's chain upwards.
  let top = root;
  if (req.owners === 'both' || req.owners === 'ancestors') {
    for (let step = 0; step < req.depth; step++) {
      const owner = top.owners[0];
      if (owner === undefined) break;
      const id = objectId(owner);
      if (objects.has(id)) {
        warnings.push(`ownership loops back to ${objectLabel(owner)}; stopped there`);
        break;
      }
      const o = await store.object(id);
      if (o === undefined) break;
      objects.set(id, o);
      parentOf.set(top.id, id);
      top = o;
    }
  }
  // Owned objects, level by level.
  if (req.owners === 'both' || req.owners === 'descendants') {
    let level = [rootId];
    for (let step = 0; step < req.depth && level.length > 0; step++) {
      const links = await store.neighbours(level, 'down');
      const next: string[] = [];
      for (const l of links) {
        if (objects.has(l.to) || parentOf.has(l.to)) continue;
        if (objects.size >= req.maxObjects) {
          truncated = true;
          break;
        }
        parentOf.set(l.to, l.from);
        next.push(l.to);
        objects.set(l.to, undefined as never);
      }
      for (const o of await store.objects(next)) objects.set(o.id, o);
      for (const id of next) if (objects.get(id) === undefined) objects.delete(id);
      level = next.filter((id) => objects.has(id));
    }
  }
  if (truncated) warnings.push(`more than ${req.maxObjects} related objects: the rest are left out`);

  const fromUs = req.fromMs * 1000;
  const toUs = req.toMs * 1000;
  const all = await store.entries([...objects.keys()], fromUs, toUs, req.maxEntries + 1);
  if (all.length > req.maxEntries) {
    all.length = req.maxEntries;
    truncated = true;
    warnings.push(`more than ${req.maxEntries} entries in the range: the latest are left out (narrow the range)`);
  }
  const entries = mergeDiffsIntoAudit(all);
  if (!entries.some((e) => e.objectId === rootId))
    warnings.push(`${objectLabel(root)} has no entries between the times asked; its owners and owned objects may`);

  const traceId = hex(`k8s\u0000${rootId}`, 32);
  const spanIdOf = (id: string) => id.slice(0, 16);
  const byObject = new Map<string, StoredEntry[]>();
  for (const e of entries) byObject.set(e.objectId, [...(byObject.get(e.objectId) ?? []), e]);

  // Each object's span covers its entries and its descendants' spans.
  const range = new Map<string, [number, number]>();
  const widen = (id: string, a: number, b: number) => {
    const r = range.get(id);
    range.set(id, r === undefined ? [a, b] : [Math.min(r[0], a), Math.max(r[1], b)]);
  };
  for (const e of entries) widen(e.objectId, e.startUs, Math.max(e.endUs, e.startUs));
  const depthOf = (id: string): number => {
    let d = 0;
    for (let p = parentOf.get(id); p !== undefined && d < 20; p = parentOf.get(p)) d++;
    return d;
  };
  const ordered = [...objects.keys()].sort((a, b) => depthOf(b) - depthOf(a));
  for (const id of ordered) {
    const r = range.get(id);
    const p = parentOf.get(id);
    if (r !== undefined && p !== undefined) widen(p, r[0], r[1]);
  }

  const spans: Span[] = [];
  const objectSpan = (o: StoredObject, parent: string | null): Span => {
    let r = range.get(o.id);
    if (r === undefined) {
      const a = Math.max(fromUs, o.firstSeenAt * 1000);
      const b = Math.min(toUs, Math.max(a, o.lastSeenAt * 1000));
      r = [Math.min(a, b), b];
    }
    let [start, end] = r;
    if (parent === null) {
      const pad = Math.max(1000, Math.round((end - start) * 0.05));
      start = Math.max(fromUs, start - pad);
      end = Math.min(Math.max(toUs, start), end + pad);
    }
    return baseSpan(
      traceId,
      spanIdOf(o.id),
      parent === null ? null : spanIdOf(parent),
      objectLabel(o),
      o.kind || o.resource,
      start,
      Math.max(0, end - start),
      objectAttributes(o),
    );
  };

  const treeObjects = req.mode === 'timeline' ? [top] : [...objects.values()];
  for (const o of treeObjects) {
    const parent = req.mode === 'timeline' ? null : (parentOf.get(o.id) ?? null);
    const span = objectSpan(o, parent);
    if (req.mode === 'tracing') {
      span.events = (byObject.get(o.id) ?? []).map((e) => ({
        timeUs: e.startUs,
        name: `${e.type}: ${e.name}`,
        attributes: entryAttributes(e),
      }));
      if ((byObject.get(o.id) ?? []).some(isError))
        span.status = { code: 'error', message: 'a request failed or a Warning Event was reported' };
    }
    spans.push(span);
  }
  if (req.mode !== 'tracing') {
    for (const e of entries) {
      const owner = objects.get(e.objectId)!;
      const parent = req.mode === 'timeline' ? top.id : e.objectId;
      const attrs = entryAttributes(e);
      if (req.mode === 'timeline') attrs['k8s.object'] = objectLabel(owner);
      const s = baseSpan(
        traceId,
        hex(`${e.objectId}\u0000${e.key}`, 16),
        spanIdOf(parent),
        e.name,
        e.type,
        e.startUs,
        Math.max(0, e.endUs - e.startUs),
        attrs,
      );
      if (isError(e)) s.status = { code: 'error', message: errorMessage(e) };
      spans.push(s);
    }
  }
  spans.sort((a, b) => a.startUs - b.startUs || (a.parentSpanId === null ? -1 : 1));
  const list = [root, ...[...objects.values()].filter((o) => o.id !== rootId)];
  return {
    traceId,
    root: strip(root),
    mode: req.mode,
    from: req.fromMs,
    to: req.toMs,
    objects: list.map(strip),
    spans,
    truncated,
    warnings,
  };
}

function strip(o: StoredObject): K8sTrace['root'] {
  const { id: _id, ...rest } = o;
  return rest;
}

function baseSpan(
  traceId: string,
  spanId: string,
  parentSpanId: string | null,
  name: string,
  service: string,
  startUs: number,
  durationUs: number,
  attributes: Attributes,
): Span {
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState: null,
    name,
    kind: 'internal',
    service,
    startUs,
    durationUs,
    status: { code: 'unset', message: '' },
    attributes,
    resource: {},
    scope: { name: 'spyglass.k8s', version: '1' },
    events: [],
    links: [],
    dropped: { attributes: 0, events: 0, links: 0 },
    truncated: false,
  };
}

function objectAttributes(o: StoredObject): Attributes {
  const a: Attributes = {
    'k8s.cluster': o.cluster,
    'k8s.group': o.group,
    'k8s.resource': o.resource,
    'k8s.namespace': o.namespace,
    'k8s.name': o.name,
    'k8s.kind': o.kind,
  };
  if (o.uid !== null) a['k8s.uid'] = o.uid;
  if (Object.keys(o.labels).length > 0) a['k8s.labels'] = o.labels;
  if (o.deleted) a['k8s.deleted'] = true;
  if (o.redacted) a['k8s.redacted'] = true;
  return a;
}

function entryAttributes(e: StoredEntry): Attributes {
  const a: Attributes = { 'k8s.entry': e.type };
  for (const [k, v] of Object.entries(e.data)) {
    if (k === 'diff') continue;
    a[k] = v as Attributes[string];
  }
  const diff = (e.type === 'diff' ? e.data : e.data.diff) as DiffData | undefined;
  if (diff !== undefined) {
    a['k8s.diff'] = diff.lines.map(formatLine);
    a['k8s.change'] = diff.change;
    a['k8s.new_resource_version'] = diff.resourceVersion;
    if (diff.oldResourceVersion !== null) a['k8s.resource_version'] = diff.oldResourceVersion;
    a['k8s.diff.source'] = diff.source;
    if (diff.redacted) a['k8s.redacted'] = true;
    if (e.type === 'diff') {
      for (const k of ['lines', 'oldResourceVersion', 'resourceVersion', 'change', 'source', 'redacted', 'truncated'])
        delete a[k];
    }
  }
  return a;
}

function isError(e: StoredEntry): boolean {
  return (
    (e.type === 'audit' && e.code !== null && e.code >= 400) ||
    (e.type === 'event' && e.data['k8s.event.type'] === 'Warning')
  );
}

function errorMessage(e: StoredEntry): string {
  const m = e.data['k8s.message'];
  return typeof m === 'string' ? m : e.name;
}

/**
 * A diff whose new version is the response of an audit entry on the same object is shown on that entry (who made the
 * change, and what it changed, in one place) instead of as an entry of its own.
 */
function mergeDiffsIntoAudit(entries: readonly StoredEntry[]): StoredEntry[] {
  const byVersion = new Map<string, StoredEntry>();
  for (const e of entries) {
    const rv = e.data['k8s.new_resource_version'];
    if (e.type === 'audit' && typeof rv === 'string') byVersion.set(`${e.objectId}\u0000${rv}`, e);
  }
  const out: StoredEntry[] = [];
  for (const e of entries) {
    if (e.type === 'diff') {
      const d = e.data as unknown as DiffData;
      const audit = byVersion.get(`${e.objectId}\u0000${d.resourceVersion}`);
      if (audit !== undefined) {
        audit.data = { ...audit.data, diff: d };
        continue;
      }
    }
    out.push(e);
  }
  return out;
}
