import type { K8sDiffResult, K8sTrace } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, testDatabases, type TestHub } from '../../test/kit/index.js';

const GVR_DEPLOY = { group: 'apps', version: 'v1', resource: 'deployments' };
const GVR_CM = { group: '', version: 'v1', resource: 'configmaps' };
const GVR_SECRET = { group: '', version: 'v1', resource: 'secrets' };

const deployment = (rv: number, replicas: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api',
    namespace: 'shop',
    uid: 'u-api',
    resourceVersion: String(rv),
    creationTimestamp: '2020-01-01T00:00:00Z',
    labels: { app: 'api' },
    managedFields: [{ manager: 'kubectl', time: `2026-01-01T00:00:0${rv % 10}Z` }],
    ...extra,
  },
  spec: {
    replicas,
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'api' } },
      spec: { containers: [{ name: 'api', image: `api:${replicas}` }] },
    },
  },
});

/**
 * What the watchers hand the hub (versions and Events through the sink) becomes diffs and entries on the right
 * objects: listed versions are only a base, later ones are diffed, deletions recorded; older or repeated versions are
 * ignored; redaction, exclusion and Secrets are honoured. Read back through the REST operations.
 */
describe.each(testDatabases())('Kubernetes watcher sink on $dialect', (database) => {
  let hub: TestHub;
  const now = Date.now();
  beforeAll(async () => {
    hub = await createHub({ database });
  });
  afterAll(() => hub?.close());

  const diffs = async (resource: string, name: string, namespace = 'shop') =>
    (
      await hub.api<K8sDiffResult>(
        'GET',
        `/api/v1/k8s/diff?cluster=w&resource=${resource}&namespace=${namespace}&name=${name}`,
      )
    ).body;

  it('diffs consecutive versions, ignores old and repeated ones, and records deletion', async () => {
    const sink = hub.app.k8s.writer;
    expect(
      sink.versions('w', GVR_DEPLOY, [{ change: 'added', object: deployment(10, 1), observedAtMs: now - 5000 }]),
    ).toBe(true);
    sink.versions('w', GVR_DEPLOY, [
      { change: 'modified', object: deployment(12, 3), observedAtMs: now - 4000 },
      { change: 'modified', object: deployment(11, 2), observedAtMs: now - 3900 }, // older: ignored
      { change: 'modified', object: deployment(12, 3), observedAtMs: now - 3800 }, // repeated: ignored
    ]);
    sink.versions('w', GVR_DEPLOY, [{ change: 'deleted', object: deployment(13, 3), observedAtMs: now - 3000 }]);
    expect(sink.checkpoint('w', 'deployments.apps', '13')).toBe(true);
    await sink.flush();
    const d = await diffs('deployments', 'api');
    expect(d.items.map((i) => [i.change, i.oldResourceVersion, i.resourceVersion])).toEqual([
      ['updated', '10', '12'],
      ['deleted', '12', '13'],
    ]);
    expect(d.items[0]!.lines).toEqual([
      { path: 'spec.replicas', old: '1', new: '3' },
      { path: 'spec.template.spec.containers[0].image', old: '"api:1"', new: '"api:3"' },
    ]);
    expect(d.object.deleted).toBe(true);
    expect(await sink.resumeVersion('w', 'deployments.apps')).toBe('13');
  });

  it('Events land on the object they are about, once however often they are seen', async () => {
    const sink = hub.app.k8s.writer;
    const at = new Date(now - 2000).toISOString();
    const core = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'api.17a', namespace: 'shop', uid: 'ev-1', resourceVersion: '99' },
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', namespace: 'shop', uid: 'u-api' },
      reason: 'ScalingReplicaSet',
      message: 'Scaled up replica set api-5d4 to 3',
      source: { component: 'deployment-controller' },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      type: 'Normal',
    };
    const same = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'api.17a', namespace: 'shop', uid: 'ev-1', resourceVersion: '99' },
      regarding: core.involvedObject,
      reason: core.reason,
      note: core.message,
      reportingController: 'deployment-controller',
      eventTime: null,
      deprecatedFirstTimestamp: at,
      deprecatedLastTimestamp: at,
      deprecatedCount: 1,
      type: 'Normal',
    };
    const old = { ...core, metadata: { ...core.metadata, uid: 'ev-old' }, lastTimestamp: '2020-01-01T00:00:00Z' };
    sink.events('w', 'v1', [core, old, { junk: true }]);
    sink.events('w', 'events.k8s.io/v1', [same]);
    sink.events('w', 'v1', [{ ...core, count: 2, lastTimestamp: new Date(now - 1000).toISOString() }]);
    await sink.flush();
    const t = (
      await hub.api<K8sTrace>(
        'GET',
        `/api/v1/k8s/trace?cluster=w&resource=deploy&namespace=shop&name=api&from=${now - 60_000}`,
      )
    ).body;
    const events = t.spans[0]!.events.filter((e) => e.name.startsWith('event:'));
    expect(events.map((e) => [e.name, e.attributes['k8s.event.count'], e.attributes['k8s.event.source']])).toEqual([
      ['event: ScalingReplicaSet', 1, 'deployment-controller'],
      ['event: ScalingReplicaSet', 2, 'deployment-controller'],
    ]);
    expect(hub.app.k8s.writer.counts.get('w')?.eventsDropped).toMatchObject({ old: 1, malformed: 1 });
  });

  it('redacts values of labelled objects, never keeps Secret bodies', async () => {
    const sink = hub.app.k8s.writer;
    const cm = (rv: number, value: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'creds',
        namespace: 'shop',
        uid: 'u-cm',
        resourceVersion: String(rv),
        labels: { 'spyglass.dev/diff-redacted': 'true' },
      },
      data: { password: value },
    });
    sink.versions('w', GVR_CM, [
      { change: 'added', object: cm(1, 'hunter2'), observedAtMs: now - 3000 },
      { change: 'modified', object: cm(2, 'hunter3'), observedAtMs: now - 2000 },
    ]);
    const secret = (rv: number, value: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls', namespace: 'shop', resourceVersion: String(rv) },
      data: { key: value },
    });
    sink.versions('w', GVR_SECRET, [
      { change: 'added', object: secret(1, 'c2VjcmV0'), observedAtMs: now - 3000 },
      { change: 'modified', object: secret(2, 'c2VjcmV1'), observedAtMs: now - 2000 },
    ]);
    await sink.flush();
    const d = await diffs('configmaps', 'creds');
    expect(d.object.redacted).toBe(true);
    expect(d.items[0]!.lines).toEqual([{ path: 'data.password', old: '"<redacted>"', new: '"<redacted>"' }]);
    const s = await diffs('secrets', 'tls');
    expect(s.items).toEqual([]);
    const raw = JSON.stringify(await hub.storage.db.selectFrom('k8s_object_state').select('body').execute());
    expect(raw).not.toContain('hunter');
    expect(raw).not.toContain('c2VjcmV');
  });
});
