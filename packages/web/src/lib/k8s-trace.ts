import {
  formatDurationUs,
  type AttributeValue,
  type Attributes,
  type K8sObject,
  type K8sObjectRef,
  type Span,
} from '@spyglass/protocol';
import { diffLinesOf, type DiffLine, type RawDiffLine } from './k8s-diff';
import type { ObjectKey } from './k8s-search';
import { attributeText, sortedAttributes } from './span-format';

/**
 * How the console reads a Kubernetes object's trace: which spans are objects and which are entries (audit entries,
 * Events, diffs), the fields of each entry worth a label, and the owner tree of the trace's objects. Pure functions
 * over the protocol's span and object models; no React.
 */

export type EntryKind = 'audit' | 'event' | 'diff' | 'other';
const KINDS: ReadonlySet<string> = new Set(['audit', 'event', 'diff']);

/** Attributes some hubs use to name an entry's kind outright. */
const KIND_KEYS = ['k8s.entry', 'k8s.entry.type', 'k8s.entry_type'];

/**
 * The kind of an entry from its span (or span event) name and attributes: `audit: alice update (Conflict)`,
 * `event: ScalingReplicaSet`, `diff`. An object span (`deployment shop/web`, also `event shop/x.1` for an Event
 * object) is `other`: the kind's name must be followed by a colon, or be the whole name.
 */
export function entryKindOf(name: string, attributes: Attributes): EntryKind {
  for (const key of KIND_KEYS) {
    const v = attributes[key];
    if (typeof v === 'string' && KINDS.has(v)) return v as EntryKind;
  }
  const m = /^(audit|event|diff)(:|$)/i.exec(name.trim());
  if (m !== null) return m[1]!.toLowerCase() as EntryKind;
  if ('k8s.diff' in attributes) return 'diff';
  if ('k8s.verb' in attributes) return 'audit';
  if ('k8s.reason' in attributes) return 'event';
  return 'other';
}

/** A span that stands for an object (not for one of its entries). */
export function isObjectSpan(span: Pick<Span, 'name' | 'attributes'>): boolean {
  return entryKindOf(span.name, span.attributes) === 'other' && typeof span.attributes['k8s.name'] === 'string';
}

const str = (v: AttributeValue | undefined): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'string' ? v : attributeText(v);

/** The object a span's `k8s.*` attributes name, if they name one. */
export function objectKeyOfAttributes(a: Attributes): ObjectKey | undefined {
  const cluster = str(a['k8s.cluster']);
  const resource = str(a['k8s.resource']);
  const name = str(a['k8s.name']);
  if (cluster === undefined || resource === undefined || name === undefined) return undefined;
  return { cluster, group: str(a['k8s.group']) ?? '', resource, namespace: str(a['k8s.namespace']) ?? '', name };
}

/** One labelled fact about an entry. */
export interface EntryField {
  label: string;
  value: string;
  /** How it should stand out: a failed request, a Warning Event. */
  tone?: 'err' | 'warn' | 'ok';
  mono?: boolean;
}

export interface EntryView {
  kind: EntryKind;
  /** The full name (`audit: alice update (Conflict)`). */
  name: string;
  /** The name without its kind (`alice update (Conflict)`). */
  title: string;
  timeUs: number;
  /** A failed audit request, or a Warning Event. */
  tone: 'err' | 'warn' | undefined;
  fields: EntryField[];
  diff: (DiffLine | RawDiffLine)[];
  /** The attributes not shown as a field or the diff, by key. */
  rest: [string, AttributeValue][];
}

/** Where an entry's fields are read from, first key found wins. */
interface FieldSpec {
  label: string;
  keys: string[];
  mono?: boolean;
  format?: (v: AttributeValue, key: string) => string;
  tone?: (v: AttributeValue) => EntryField['tone'];
}

/** A latency as a duration; the key's suffix says its unit (milliseconds when it says none). */
function latencyText(v: AttributeValue, key: string): string {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (Number.isNaN(n)) return attributeText(v);
  const us = /_us$|Us$/.test(key) ? n : /_s$|_seconds$/.test(key) ? n * 1_000_000 : n * 1000;
  return formatDurationUs(us);
}

const codeTone = (v: AttributeValue): EntryField['tone'] => {
  const n = Number(v);
  return Number.isFinite(n) && n >= 400 ? 'err' : Number.isFinite(n) && n >= 200 && n < 300 ? 'ok' : undefined;
};

const listText = (v: AttributeValue): string => (Array.isArray(v) ? v.map(attributeText).join('; ') : attributeText(v));

/** Fields every kind may have: the object an entry is about (timeline mode), and a diff's bookkeeping. */
const OBJECT_FIELD: FieldSpec = { label: 'Object', keys: ['k8s.object'], mono: true };
const DIFF_FIELDS: FieldSpec[] = [
  { label: 'Change', keys: ['k8s.change'] },
  { label: 'Seen by', keys: ['k8s.diff.source', 'k8s.diff_source'] },
];

const FIELDS: Record<EntryKind, FieldSpec[]> = {
  audit: [
    OBJECT_FIELD,
    { label: 'User', keys: ['k8s.user', 'k8s.username', 'k8s.user.name'] },
    { label: 'Impersonated by', keys: ['k8s.impersonated_by', 'k8s.impersonatedBy'] },
    { label: 'Verb', keys: ['k8s.verb'], mono: true },
    { label: 'Subresource', keys: ['k8s.subresource'], mono: true },
    { label: 'Code', keys: ['k8s.code', 'k8s.response_code', 'k8s.status_code'], mono: true, tone: codeTone },
    { label: 'Reason', keys: ['k8s.reason'] },
    { label: 'Message', keys: ['k8s.message'] },
    { label: 'Causes', keys: ['k8s.causes'], format: listText },
    { label: 'User agent', keys: ['k8s.user_agent', 'k8s.userAgent', 'k8s.user.agent'], mono: true },
    { label: 'Source IP', keys: ['k8s.source_ip', 'k8s.source_ips', 'k8s.sourceIP', 'k8s.sourceIPs'], mono: true },
    { label: 'Through proxies', keys: ['k8s.proxies'], mono: true },
    {
      label: 'Latency',
      keys: ['k8s.latency_ms', 'k8s.latencyMs', 'k8s.latency', 'k8s.latency_us'],
      format: latencyText,
    },
    { label: 'No change', keys: ['k8s.no_op'], format: () => 'the write left the object as it was' },
    { label: 'Resource version', keys: ['k8s.resource_version', 'k8s.resourceVersion'], mono: true },
    { label: 'New resource version', keys: ['k8s.new_resource_version'], mono: true },
    ...DIFF_FIELDS,
    { label: 'Request', keys: ['k8s.request_uri'], mono: true },
    { label: 'Audit ID', keys: ['k8s.audit.id', 'k8s.audit_id', 'k8s.auditID'], mono: true },
    { label: 'Level', keys: ['k8s.audit.level', 'k8s.level'] },
  ],
  event: [
    OBJECT_FIELD,
    { label: 'Reason', keys: ['k8s.event.reason', 'k8s.reason'] },
    { label: 'Message', keys: ['k8s.message', 'k8s.note'] },
    {
      label: 'Type',
      keys: ['k8s.event.type', 'k8s.event_type', 'k8s.type'],
      tone: (v) => (v === 'Warning' ? 'warn' : undefined),
    },
    { label: 'Count', keys: ['k8s.event.count', 'k8s.count'], mono: true },
    { label: 'Source', keys: ['k8s.event.source', 'k8s.source', 'k8s.reporting_controller'] },
    { label: 'Host', keys: ['k8s.event.host', 'k8s.source_host'], mono: true },
    { label: 'Action', keys: ['k8s.event.action', 'k8s.action'] },
    { label: 'Field', keys: ['k8s.event.field_path'], mono: true },
  ],
  diff: [
    OBJECT_FIELD,
    ...DIFF_FIELDS,
    { label: 'Resource version', keys: ['k8s.new_resource_version', 'k8s.resourceVersion'], mono: true },
    { label: 'Previous version', keys: ['k8s.resource_version', 'k8s.old_resource_version'], mono: true },
    { label: 'Values', keys: ['k8s.redacted'], format: (v) => (v === true ? 'redacted' : attributeText(v)) },
  ],
  other: [OBJECT_FIELD],
};

/** The attributes that say which object an entry is about: shown with the object, not with each entry. */
const OBJECT_KEYS = new Set([
  'k8s.cluster',
  'k8s.group',
  'k8s.resource',
  'k8s.namespace',
  'k8s.name',
  'k8s.uid',
  'k8s.kind',
  'k8s.labels',
  'k8s.deleted',
]);

/** An entry (a span event in `tracing` mode, or an entry's own span) with its fields picked out. */
export function entryView(name: string, attributes: Attributes, timeUs: number): EntryView {
  const kind = entryKindOf(name, attributes);
  const used = new Set<string>([...KIND_KEYS, ...OBJECT_KEYS]);
  const fields: EntryField[] = [];
  for (const spec of FIELDS[kind]) {
    const key = spec.keys.find((k) => attributes[k] !== undefined && attributes[k] !== null && attributes[k] !== '');
    if (key === undefined) continue;
    const v = attributes[key]!;
    for (const k of spec.keys) used.add(k);
    const field: EntryField = { label: spec.label, value: spec.format ? spec.format(v, key) : attributeText(v) };
    const tone = spec.tone?.(v);
    if (tone !== undefined) field.tone = tone;
    if (spec.mono === true) field.mono = true;
    fields.push(field);
  }
  const diff = diffLinesOf(attributes['k8s.diff']);
  used.add('k8s.diff');
  const tones = fields.map((f) => f.tone);
  return {
    kind,
    name,
    title: name.replace(/^(audit|event|diff):\s*/i, '') || name,
    timeUs,
    tone: tones.includes('err') ? 'err' : tones.includes('warn') ? 'warn' : undefined,
    fields,
    diff,
    rest: sortedAttributes(attributes).filter(([k]) => !used.has(k)),
  };
}

/** A span's entries: the span itself when it is an entry's span, then its span events, oldest first. */
export function entriesOfSpan(span: Span): EntryView[] {
  const out: EntryView[] = [];
  if (!isObjectSpan(span) && entryKindOf(span.name, span.attributes) !== 'other') {
    out.push(entryView(span.name, span.attributes, span.startUs));
  }
  const events = [...span.events].sort((a, b) => a.timeUs - b.timeUs);
  for (const ev of events) out.push(entryView(ev.name, ev.attributes, ev.timeUs));
  return out;
}

export type EntryCounts = Record<EntryKind, number>;

/**
 * How many audit entries, Events and diffs a trace holds (entry spans and span events alike). A diff the hub put on
 * the audit entry that made it counts as an audit entry and as a diff (when it changed a field).
 */
export function countEntries(spans: readonly Span[]): EntryCounts {
  const out: EntryCounts = { audit: 0, event: 0, diff: 0, other: 0 };
  const count = (name: string, attributes: Attributes): void => {
    const kind = entryKindOf(name, attributes);
    out[kind]++;
    // A creation's entry carries an empty diff (there is nothing before it): not a change to count.
    if (kind !== 'diff' && diffLinesOf(attributes['k8s.diff']).length > 0) out.diff++;
  };
  for (const s of spans) {
    if (!isObjectSpan(s)) count(s.name, s.attributes);
    for (const ev of s.events) count(ev.name, ev.attributes);
  }
  return out;
}

/** A mark on a span's bar in the waterfall: one of its span events. */
export interface EntryMark {
  timeUs: number;
  kind: EntryKind;
  label: string;
  tone: 'err' | 'warn' | undefined;
}

export function marksOfSpan(span: Span): EntryMark[] {
  return span.events.map((ev) => {
    const v = entryView(ev.name, ev.attributes, ev.timeUs);
    return { timeUs: ev.timeUs, kind: v.kind, label: ev.name, tone: v.tone };
  });
}

// ---- objects and owners ---------------------------------------------------------------------------------------------

/** One key per object: cluster, group, resource, namespace, name. */
export function objectKey(o: ObjectKey): string {
  return JSON.stringify([o.cluster, o.group, o.resource, o.namespace, o.name]);
}

export function sameObject(a: ObjectKey, b: ObjectKey): boolean {
  return objectKey(a) === objectKey(b);
}

/** The object's span in a trace (the first span whose `k8s.*` attributes name it), by object key. */
export function objectSpanIds(spans: readonly Span[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of spans) {
    if (!isObjectSpan(s)) continue;
    const key = objectKeyOfAttributes(s.attributes);
    if (key !== undefined && !out.has(objectKey(key))) out.set(objectKey(key), s.spanId);
  }
  return out;
}

export interface OwnerNode {
  object: K8sObject;
  /** Owned objects, by kind then name. */
  children: OwnerNode[];
  depth: number;
}

const refMatches = (ref: K8sObjectRef, o: K8sObject): boolean =>
  ref.uid !== null && o.uid !== null
    ? ref.uid === o.uid
    : ref.cluster === o.cluster &&
      ref.group === o.group &&
      ref.resource === o.resource &&
      ref.namespace === o.namespace &&
      ref.name === o.name;

const byKindThenName = (a: OwnerNode, b: OwnerNode): number =>
  a.object.kind.localeCompare(b.object.kind) ||
  a.object.namespace.localeCompare(b.object.namespace) ||
  a.object.name.localeCompare(b.object.name);

/**
 * The trace's objects as an ownership forest: each object under its first owner (the controlling one comes first in
 * `owners`) that is in the trace, owners whose objects are not in the trace ignored. Ownership loops, which the API
 * server does not allow but a hostile audit log could claim, are cut so every object appears once. The tree that
 * holds `root` comes first.
 */
export function buildOwnerTree(objects: readonly K8sObject[], root: ObjectKey | undefined): OwnerNode[] {
  const unique: K8sObject[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    const k = objectKey(o);
    if (!seen.has(k)) {
      seen.add(k);
      unique.push(o);
    }
  }
  const parentOf = new Map<K8sObject, K8sObject>();
  for (const o of unique) {
    for (const ref of o.owners) {
      const owner = unique.find((p) => p !== o && refMatches(ref, p));
      if (owner !== undefined) {
        parentOf.set(o, owner);
        break;
      }
    }
  }
  // Cut loops: walking up from any object must end; where it comes back, the object walked from loses its owner.
  for (const o of unique) {
    const path = new Set<K8sObject>([o]);
    for (let p = parentOf.get(o); p !== undefined; p = parentOf.get(p)) {
      if (path.has(p)) {
        parentOf.delete(o);
        break;
      }
      path.add(p);
    }
  }
  const nodes = new Map<K8sObject, OwnerNode>(unique.map((o) => [o, { object: o, children: [], depth: 0 }]));
  const tops: OwnerNode[] = [];
  for (const o of unique) {
    const node = nodes.get(o)!;
    const parent = parentOf.get(o);
    if (parent === undefined) tops.push(node);
    else nodes.get(parent)!.children.push(node);
  }
  const fix = (n: OwnerNode, depth: number): void => {
    n.depth = depth;
    n.children.sort(byKindThenName);
    for (const c of n.children) fix(c, depth + 1);
  };
  tops.sort(byKindThenName);
  for (const t of tops) fix(t, 0);
  if (root !== undefined) {
    const holds = (n: OwnerNode): boolean => sameObject(n.object, root) || n.children.some(holds);
    const i = tops.findIndex(holds);
    if (i > 0) tops.unshift(...tops.splice(i, 1));
  }
  return tops;
}

/** The owner tree depth first, as the rows of a list. */
export function flattenOwnerTree(tops: readonly OwnerNode[]): OwnerNode[] {
  const out: OwnerNode[] = [];
  const visit = (n: OwnerNode): void => {
    out.push(n);
    for (const c of n.children) visit(c);
  };
  for (const t of tops) visit(t);
  return out;
}

/** The name the hub gives an object in a trace (`deployment shop/web`, `node worker-1`), as entries name it. */
export function objectLabel(o: { kind: string; resource: string; namespace: string; name: string }): string {
  const what = o.kind !== '' ? o.kind.toLowerCase() : o.resource;
  return `${what} ${o.namespace === '' ? '' : `${o.namespace}/`}${o.name}`;
}

/**
 * The object an entry's span is about: the one its `k8s.object` attribute names (timeline mode puts every entry
 * under the top object, so the entry says whose it is), else the object span above it.
 */
export function objectOfEntry(
  attributes: Attributes,
  objects: readonly K8sObject[],
  above: ObjectKey | undefined,
): K8sObject | undefined {
  const label = attributes['k8s.object'];
  if (typeof label === 'string') {
    const hit = objects.find((o) => objectLabel(o) === label);
    if (hit !== undefined) return hit;
  }
  return above === undefined ? undefined : objects.find((o) => sameObject(o, above));
}

/** `Deployment`, or the resource when the kind is not known (an audit entry without a body named the object). */
export function kindLabel(o: { kind: string; resource: string }): string {
  return o.kind !== '' ? o.kind : o.resource;
}
