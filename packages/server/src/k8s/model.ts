import { createHash } from 'node:crypto';
import { resourceOfKind } from '@spyglass/protocol';
import type { K8sDiffLine } from '@spyglass/protocol';

/** One object of one cluster: what every entry is filed under. */
export interface ObjectKey {
  cluster: string;
  /** API group, `''` for the core group. */
  group: string;
  resource: string;
  /** `''` for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** The stored id of an object: a hash of its key (so writers never look ids up). 32 hex digits. */
export function objectId(k: ObjectKey): string {
  return createHash('sha256')
    .update(`${k.cluster}\u0000${k.group}\u0000${k.resource}\u0000${k.namespace}\u0000${k.name}`)
    .digest('hex')
    .slice(0, 32);
}

/** `deployments.apps/shop/web` in cluster prod — for messages. */
export function describeKey(k: ObjectKey): string {
  const r = k.group === '' ? k.resource : `${k.resource}.${k.group}`;
  return `${r} ${k.namespace === '' ? '' : `${k.namespace}/`}${k.name} in cluster ${k.cluster}`;
}

/** `ownerReferences` entry as the API serves it. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

/** What an entry or a version says about its object besides its key (absent fields: unknown, keep what is stored). */
export interface ObjectMeta {
  kind?: string;
  uid?: string;
  labels?: Record<string, string>;
  owners?: OwnerReference[];
  /** The object is gone (a successful delete, a watch's DELETED). */
  deleted?: boolean;
}

export type EntryType = 'audit' | 'event' | 'diff';

/** One entry on an object's trace, as stored. `data` holds its attributes (shown on the span). */
export interface EntryInput {
  /** Unique per object: `a:<auditID>`, `e:<event uid>:<count>`, `d:<resourceVersion>`. */
  key: string;
  type: EntryType;
  startUs: number;
  endUs: number;
  name: string;
  user: string | null;
  verb: string | null;
  code: number | null;
  data: Record<string, unknown>;
}

/** A version of an object's body, for diffs (from a watch, or an audit entry's response). */
export interface VersionInput {
  resourceVersion: string;
  /** The object without `managedFields`; null when it is not kept (deleted, too large, a Secret). */
  body: Record<string, unknown> | null;
  change: 'created' | 'updated' | 'deleted' | 'listed';
  source: 'watch' | 'audit';
  observedUs: number;
}

/** What the writer stores: entries and versions of objects, and watch resume points. */
export type K8sItem =
  | { type: 'entry'; object: ObjectKey; meta: ObjectMeta; entry: EntryInput; version?: VersionInput }
  | { type: 'version'; object: ObjectKey; meta: ObjectMeta; version: VersionInput }
  | { type: 'checkpoint'; cluster: string; watch: string; resourceVersion: string };

/** A diff entry's `data`. */
export interface DiffData {
  oldResourceVersion: string | null;
  resourceVersion: string;
  change: 'created' | 'updated' | 'deleted';
  source: 'watch' | 'audit';
  lines: K8sDiffLine[];
  redacted: boolean;
  /** Lines beyond the limit were left out. */
  truncated?: boolean;
}

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → `''`). */
export function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined) return '';
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The resource of a kind: from the well-known table, else the kind's lower-case plural (the API's convention). */
export function resourceFor(kind: string, group: string): string {
  const known = resourceOfKind(kind, group);
  if (known !== undefined) return known.resource;
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/** Keys of the owners an object names, in the owner's cluster and namespace (owners never cross namespaces). */
export function ownerKeys(
  child: ObjectKey,
  owners: readonly OwnerReference[],
): { key: ObjectKey; ref: OwnerReference }[] {
  return owners.map((ref) => {
    const group = groupOf(ref.apiVersion);
    return {
      ref,
      key: {
        cluster: child.cluster,
        group,
        resource: resourceFor(ref.kind, group),
        namespace: child.namespace,
        name: ref.name,
      },
    };
  });
}

/** Epoch µs of an RFC 3339 time (`2026-12-03T10:00:00.123456Z`), keeping the microseconds Date drops; NaN if invalid. */
export function parseTimeUs(text: unknown): number {
  if (typeof text !== 'string' || text.length > 64) return Number.NaN;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (m === null) return Number.NaN;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return Number.NaN;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

/** Object metadata as entries and versions carry it, read defensively from an API object. */
export function metaOf(obj: unknown): ObjectMeta & { resourceVersion?: string; name?: string; namespace?: string } {
  if (typeof obj !== 'object' || obj === null) return {};
  const o = obj as { kind?: unknown; metadata?: Record<string, unknown> };
  const md = o.metadata;
  const meta: ObjectMeta & { resourceVersion?: string; name?: string; namespace?: string } = {};
  if (typeof o.kind === 'string' && o.kind.length <= 100) meta.kind = o.kind;
  if (typeof md !== 'object' || md === null) return meta;
  if (typeof md.uid === 'string' && md.uid.length <= 64) meta.uid = md.uid;
  if (typeof md.resourceVersion === 'string' && md.resourceVersion.length <= 64)
    meta.resourceVersion = md.resourceVersion;
  if (typeof md.name === 'string') meta.name = md.name;
  if (typeof md.namespace === 'string') meta.namespace = md.namespace;
  if (typeof md.labels === 'object' && md.labels !== null) {
    const labels: Record<string, string> = {};
    let n = 0;
    for (const [k, v] of Object.entries(md.labels as Record<string, unknown>)) {
      if (typeof v !== 'string' || k.length > 317 || v.length > 63 || n++ >= 64) continue;
      labels[k] = v;
    }
    meta.labels = labels;
  }
  if (Array.isArray(md.ownerReferences)) {
    const owners: OwnerReference[] = [];
    for (const r of md.ownerReferences.slice(0, 16) as Record<string, unknown>[]) {
      if (typeof r !== 'object' || r === null) continue;
      if (typeof r.apiVersion !== 'string' || typeof r.kind !== 'string' || typeof r.name !== 'string') continue;
      if (r.name === '' || r.name.length > 253 || r.name.includes('/') || r.kind.length > 100) continue;
      owners.push({
        apiVersion: r.apiVersion.slice(0, 253),
        kind: r.kind,
        name: r.name,
        uid: typeof r.uid === 'string' ? r.uid.slice(0, 64) : '',
        ...(r.controller === true ? { controller: true } : {}),
      });
    }
    // The controlling owner first.
    owners.sort((a, b) => Number(b.controller === true) - Number(a.controller === true));
    meta.owners = owners;
  }
  return meta;
}

/** The object as kept for diffs: without `managedFields` (rewritten on every write, noise in every diff). */
export function bodyForDiff(obj: unknown): Record<string, unknown> | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
  const o = obj as Record<string, unknown>;
  const md = o.metadata;
  if (typeof md !== 'object' || md === null) return { ...o };
  const { managedFields: _mf, ...rest } = md as Record<string, unknown>;
  return { ...o, metadata: rest };
}
