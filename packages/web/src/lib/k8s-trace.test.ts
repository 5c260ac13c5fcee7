import type { K8sObject, K8sObjectRef, Span } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import {
  buildOwnerTree,
  countEntries,
  entriesOfSpan,
  entryKindOf,
  entryView,
  flattenOwnerTree,
  isObjectSpan,
  kindLabel,
  marksOfSpan,
  objectKeyOfAttributes,
  objectLabel,
  objectOfEntry,
  objectSpanIds,
} from './k8s-trace';

const GROUP: Record<string, string> = { Deployment: 'apps', ReplicaSet: 'apps', Pod: '', Node: '' };
const RESOURCE: Record<string, string> = {
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  Pod: 'pods',
  Node: 'nodes',
};

function obj(kind: string, name: string, owners: K8sObjectRef[] = [], uid: string | null = `uid-${name}`): K8sObject {
  return {
    cluster: 'prod',
    group: GROUP[kind] ?? 'example.com',
    resource: RESOURCE[kind] ?? 'widgets',
    kind,
    namespace: kind === 'Node' ? '' : 'shop',
    name,
    uid,
    labels: {},
    owners,
    firstSeenAt: 1,
    lastSeenAt: 2,
    deleted: false,
    redacted: false,
  };
}
const ref = (o: K8sObject, uid: string | null = o.uid): K8sObjectRef => ({
  cluster: o.cluster,
  group: o.group,
  resource: o.resource,
  kind: o.kind,
  namespace: o.namespace,
  name: o.name,
  uid,
});

function span(
  spanId: string,
  parent: string | null,
  name: string,
  attributes: Span['attributes'],
  events: Span['events'] = [],
): Span {
  return {
    traceId: 'a'.repeat(32),
    spanId,
    parentSpanId: parent,
    traceState: null,
    name,
    kind: 'internal',
    service: 'Deployment',
    startUs: 1_000_000,
    durationUs: 5_000_000,
    status: { code: 'unset', message: '' },
    attributes,
    resource: {},
    scope: { name: '', version: '' },
    events,
    links: [],
    dropped: { attributes: 0, events: 0, links: 0 },
    truncated: false,
  };
}
const objAttrs = (o: K8sObject) => ({
  'k8s.cluster': o.cluster,
  'k8s.group': o.group,
  'k8s.resource': o.resource,
  'k8s.namespace': o.namespace,
  'k8s.name': o.name,
  'k8s.uid': o.uid ?? '',
  'k8s.kind': o.kind,
});

describe('entryKindOf', () => {
  it('reads the kind from the name prefix, an explicit attribute, or telling attributes', () => {
    expect(entryKindOf('audit: alice update (Conflict)', {})).toBe('audit');
    expect(entryKindOf('event: ScalingReplicaSet', {})).toBe('event');
    expect(entryKindOf('diff', {})).toBe('diff');
    expect(entryKindOf('Diff: 3 fields', {})).toBe('diff');
    expect(entryKindOf('something', { 'k8s.entry': 'event' })).toBe('event');
    expect(entryKindOf('alice update', { 'k8s.verb': 'update' })).toBe('audit');
    expect(entryKindOf('x', { 'k8s.diff': 'a 1 -> 2' })).toBe('diff');
  });

  it('does not take object spans for entries, even an Event object', () => {
    expect(entryKindOf('deployment shop/web', {})).toBe('other');
    expect(entryKindOf('event shop/web.17f', {})).toBe('other');
    expect(entryKindOf('events-exporter', {})).toBe('other');
    expect(isObjectSpan({ name: 'event shop/web.17f', attributes: { 'k8s.name': 'web.17f' } })).toBe(true);
    expect(isObjectSpan({ name: 'audit: alice create', attributes: { 'k8s.name': 'web' } })).toBe(false);
    expect(isObjectSpan({ name: 'deployment shop/web', attributes: {} })).toBe(false);
  });
});

describe('entryView', () => {
  it('picks out the fields of an audit entry, marks a failed one, and keeps the rest', () => {
    const v = entryView(
      'audit: alice update (Conflict)',
      {
        'k8s.entry': 'audit',
        'k8s.user': 'alice',
        'k8s.verb': 'update',
        'k8s.code': 409,
        'k8s.reason': 'Conflict',
        'k8s.message': 'the object has been modified',
        'k8s.user_agent': 'kubectl/v1.30.0',
        'k8s.latency_ms': 12.5,
        'k8s.source_ip': '10.0.0.7',
        'k8s.audit.id': 'abc-123',
        'k8s.name': 'web',
        'k8s.something_new': 'kept',
      },
      7,
    );
    expect(v.kind).toBe('audit');
    expect(v.title).toBe('alice update (Conflict)');
    expect(v.timeUs).toBe(7);
    expect(v.tone).toBe('err');
    expect(v.fields.map((f) => `${f.label}=${f.value}`)).toEqual([
      'User=alice',
      'Verb=update',
      'Code=409',
      'Reason=Conflict',
      'Message=the object has been modified',
      'User agent=kubectl/v1.30.0',
      'Source IP=10.0.0.7',
      'Latency=12.5ms',
      'Audit ID=abc-123',
    ]);
    expect(v.fields.find((f) => f.label === 'Code')?.tone).toBe('err');
    // Object attributes belong to the object; anything unknown is still shown.
    expect(v.rest).toEqual([['k8s.something_new', 'kept']]);
  });

  it('reads an Event and marks a Warning', () => {
    const v = entryView(
      'event: BackOff',
      {
        'k8s.entry': 'event',
        'k8s.event.reason': 'BackOff',
        'k8s.message': 'Back-off restarting failed container',
        'k8s.event.count': 4,
        'k8s.event.source': 'kubelet',
        'k8s.event.type': 'Warning',
      },
      1,
    );
    expect(v.kind).toBe('event');
    expect(v.tone).toBe('warn');
    expect(Object.fromEntries(v.fields.map((f) => [f.label, f.value]))).toEqual({
      Reason: 'BackOff',
      Message: 'Back-off restarting failed container',
      Type: 'Warning',
      Count: '4',
      Source: 'kubelet',
    });
    expect(v.rest).toEqual([]);
  });

  it('reads the diff lines of a diff', () => {
    const v = entryView('diff', { 'k8s.diff': 'spec.replicas 2 -> 3\nmetadata.labels.tier -> "web"' }, 1);
    expect(v.kind).toBe('diff');
    expect(v.diff).toEqual([
      { path: 'spec.replicas', old: '2', new: '3' },
      { path: 'metadata.labels.tier', new: '"web"' },
    ]);
    expect(v.rest).toEqual([]);
    expect(v.tone).toBeUndefined();
  });

  it('reads a diff as the hub sends it, and one merged into the audit entry that made it', () => {
    const diff = {
      'k8s.entry': 'diff',
      'k8s.diff': ['spec.replicas 2 -> 3', 'metadata.labels.tier + "web"', 'spec.paused - true'],
      'k8s.change': 'updated',
      'k8s.new_resource_version': '1002',
      'k8s.resource_version': '1001',
      'k8s.diff.source': 'watch',
    };
    const v = entryView('diff: deployment shop/web', diff, 1);
    expect(v.diff.map((l) => ('raw' in l ? l.raw : `${l.path}|${l.old ?? ''}|${l.new ?? ''}`))).toEqual([
      'spec.replicas|2|3',
      'metadata.labels.tier||"web"',
      'spec.paused|true|',
    ]);
    expect(Object.fromEntries(v.fields.map((f) => [f.label, f.value]))).toEqual({
      Change: 'updated',
      'Seen by': 'watch',
      'Resource version': '1002',
      'Previous version': '1001',
    });
    const audit = entryView('audit: alice patch', { ...diff, 'k8s.entry': 'audit', 'k8s.user': 'alice' }, 1);
    expect(audit.kind).toBe('audit');
    expect(audit.diff).toHaveLength(3);
    expect(audit.rest).toEqual([]);
  });

  it('formats latencies by the unit their key names', () => {
    expect(entryView('audit: x', { 'k8s.latency_us': 1500 }, 0).fields[0]!.value).toBe('1.50ms');
    expect(entryView('audit: x', { 'k8s.latency': '250' }, 0).fields[0]!.value).toBe('250.0ms');
  });
});

describe('spans of a trace', () => {
  const dep = obj('Deployment', 'web');
  const pod = obj('Pod', 'web-1');
  const tracing = [
    span('d', null, 'deployment shop/web', objAttrs(dep), [
      { timeUs: 3, name: 'diff', attributes: { 'k8s.diff': 'spec.replicas 2 -> 3' } },
      { timeUs: 2, name: 'audit: alice update', attributes: { 'k8s.user': 'alice', 'k8s.code': 200 } },
    ]),
    span('p', 'd', 'pod shop/web-1', objAttrs(pod), [
      { timeUs: 4, name: 'event: Scheduled', attributes: { 'k8s.reason': 'Scheduled' } },
    ]),
  ];

  it('lists a span entries oldest first', () => {
    expect(entriesOfSpan(tracing[0]!).map((e) => e.kind)).toEqual(['audit', 'diff']);
    expect(marksOfSpan(tracing[0]!).map((m) => m.kind)).toEqual(['diff', 'audit']);
  });

  it('takes an entry span (tree and timeline modes) as its own entry', () => {
    const entry = span('e', 'd', 'audit: bob patch (Forbidden)', { 'k8s.user': 'bob', 'k8s.code': 403 });
    const entries = entriesOfSpan(entry);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.tone).toBe('err');
    expect(entries[0]!.timeUs).toBe(entry.startUs);
  });

  it('counts entries whether they are span events or spans', () => {
    expect(countEntries(tracing)).toEqual({ audit: 1, event: 1, diff: 1, other: 0 });
    const tree = [
      span('d', null, 'deployment shop/web', objAttrs(dep)),
      span('e1', 'd', 'audit: alice update', {}),
      span('e2', 'd', 'diff', { 'k8s.diff': 'a 1 -> 2' }),
    ];
    expect(countEntries(tree)).toEqual({ audit: 1, event: 0, diff: 1, other: 0 });
    // A diff the hub merged into the audit entry that made it counts as both; a creation's empty one does not.
    const merged = [
      span('d', null, 'deployment shop/web', objAttrs(dep), [
        { timeUs: 1, name: 'audit: alice create', attributes: { 'k8s.entry': 'audit', 'k8s.diff': [] } },
        { timeUs: 2, name: 'audit: alice patch', attributes: { 'k8s.entry': 'audit', 'k8s.diff': ['a 1 -> 2'] } },
      ]),
    ];
    expect(countEntries(merged)).toEqual({ audit: 2, event: 0, diff: 1, other: 0 });
  });

  it('finds the object of an entry: the one it names (timeline), else the object span above it', () => {
    expect(objectLabel(pod)).toBe('pod shop/web-1');
    expect(objectLabel(obj('Node', 'n1'))).toBe('node n1');
    expect(objectLabel({ ...pod, kind: '' })).toBe('pods shop/web-1');
    expect(objectOfEntry({ 'k8s.object': 'pod shop/web-1' }, [dep, pod], dep)).toBe(pod);
    expect(objectOfEntry({}, [dep, pod], dep)).toBe(dep);
    expect(objectOfEntry({ 'k8s.object': 'pod shop/gone' }, [dep, pod], undefined)).toBeUndefined();
  });

  it('finds each object span by its object key', () => {
    const ids = objectSpanIds(tracing);
    expect(ids.size).toBe(2);
    expect(objectKeyOfAttributes(tracing[1]!.attributes)).toEqual({
      cluster: 'prod',
      group: '',
      resource: 'pods',
      namespace: 'shop',
      name: 'web-1',
    });
    expect(objectKeyOfAttributes({ 'k8s.name': 'x' })).toBeUndefined();
  });
});

describe('buildOwnerTree', () => {
  const dep = obj('Deployment', 'web');
  const rsOld = obj('ReplicaSet', 'web-5d8', [ref(dep)]);
  const rsNew = obj('ReplicaSet', 'web-7c9', [ref(dep)]);
  const podB = obj('Pod', 'web-7c9-b', [ref(rsNew)]);
  const podA = obj('Pod', 'web-7c9-a', [ref(rsNew)]);
  const node = obj('Node', 'node-1');

  const rows = (tops: ReturnType<typeof buildOwnerTree>): string[] =>
    flattenOwnerTree(tops).map((n) => `${'  '.repeat(n.depth)}${n.object.kind} ${n.object.name}`);

  it('nests objects under their owners, siblings by kind then name, the root tree first', () => {
    const tops = buildOwnerTree([podA, node, rsOld, dep, podB, rsNew], podA);
    expect(rows(tops)).toEqual([
      'Deployment web',
      '  ReplicaSet web-5d8',
      '  ReplicaSet web-7c9',
      '    Pod web-7c9-a',
      '    Pod web-7c9-b',
      'Node node-1',
    ]);
    expect(rows(buildOwnerTree([node, dep], dep))[0]).toBe('Deployment web');
  });

  it('matches owners by uid, or by their key when a uid is missing', () => {
    const orphan = obj('Pod', 'web-x', [ref(rsNew, 'uid-of-another-rs')]);
    const noUid = obj('ReplicaSet', 'web-nouid', [], null);
    const byKey = obj('Pod', 'web-y', [ref(noUid, 'uid-the-hub-never-saw')]);
    const byKeyNoUid = obj('Pod', 'web-z', [ref(noUid, null)]);
    expect(rows(buildOwnerTree([rsNew, orphan, noUid, byKey, byKeyNoUid], undefined))).toEqual([
      'Pod web-x',
      'ReplicaSet web-7c9',
      'ReplicaSet web-nouid',
      '  Pod web-y',
      '  Pod web-z',
    ]);
  });

  it('takes the first owner in the trace (the controller comes first) and ignores owners outside it', () => {
    const other = obj('Widget', 'w');
    const pod = obj('Pod', 'p', [ref(obj('ReplicaSet', 'gone')), ref(other), ref(rsNew)]);
    expect(rows(buildOwnerTree([pod, other, rsNew], pod))).toEqual([
      // The tree that holds the root comes first.
      'Widget w',
      '  Pod p',
      'ReplicaSet web-7c9',
    ]);
  });

  it('cuts an ownership loop so each object shows once, and drops duplicates', () => {
    const a = obj('Widget', 'a');
    const b = obj('Widget', 'b', [ref(a)]);
    a.owners = [ref(b)];
    const tree = flattenOwnerTree(buildOwnerTree([a, b, { ...b }], a));
    expect(tree).toHaveLength(2);
    expect(new Set(tree.map((n) => n.object.name))).toEqual(new Set(['a', 'b']));
  });

  it('labels an object by kind, or resource when the kind is unknown', () => {
    expect(kindLabel({ kind: 'Pod', resource: 'pods' })).toBe('Pod');
    expect(kindLabel({ kind: '', resource: 'pods' })).toBe('pods');
  });
});
