/**
 * Audit entries through the real webhook endpoint (`POST /api/v1/k8s/audit/:cluster`, pool key, as the API server's
 * webhook backend posts them) become one trace per object with its owners, on every database.
 */
import type { K8sTrace, Span } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, testDatabases, type TestHub, type TestPool } from '../kit/index.js';
import { auditEvent, eventList, rollout, RS_NAME, type Rollout } from './audit-rollout.js';

async function post(hub: TestHub, path: string, body: unknown, key?: string, raw?: string) {
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

const eventNames = (s: Span) => s.events.map((e) => e.name);

describe.each(testDatabases())('Kubernetes audit webhook on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;
  let r: Rollout;
  const q = (params: Record<string, string | number>) =>
    new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    pool = await hub.createPool('k8s-webhook');
    r = rollout(3);
  });
  afterAll(() => hub?.close());

  it('stores a rollout posted as EventList batches and skips reads and early stages', async () => {
    // The API server batches; two batches here.
    const half = Math.floor(r.events.length / 2);
    const a = await post(hub, '/api/v1/k8s/audit/prod', eventList(r.events.slice(0, half)), pool.key);
    const b = await post(hub, '/api/v1/k8s/audit/prod', eventList(r.events.slice(half)), pool.key);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.accepted + b.body.accepted).toBe(r.events.length - r.skipped);
    expect(b.body.skippedBy).toMatchObject({ read: 1, stage: 1 });
    expect(a.body.rejected + b.body.rejected).toBe(0);
  });

  it("answers the Deployment's trace with its ReplicaSet and pods, audit entries and the diff of the scale", async () => {
    const res = await hub.api<K8sTrace>(
      'GET',
      `/api/v1/k8s/trace?${q({ cluster: 'prod', resource: 'deployment', namespace: 'shop', name: 'web', from: r.startMs - 1000, to: r.endMs })}`,
    );
    expect(res.status).toBe(200);
    const t = res.body;
    expect(t.mode).toBe('tracing');
    expect(t.root).toMatchObject({
      kind: 'Deployment',
      group: 'apps',
      resource: 'deployments',
      labels: { app: 'web', tier: 'frontend' },
    });
    const root = t.spans.find((s) => s.parentSpanId === null)!;
    expect(root.name).toBe('deployment shop/web');
    expect(root.service).toBe('Deployment');
    const rs = t.spans.find((s) => s.parentSpanId === root.spanId)!;
    expect(rs.name).toBe(`replicaset shop/${RS_NAME}`);
    const pods = t.spans.filter((s) => s.parentSpanId === rs.spanId);
    expect(pods.map((p) => p.name).sort()).toEqual(r.pods.map((p) => `pod shop/${p}`).sort());
    expect(eventNames(root)).toEqual([
      'audit: alice create',
      'audit: alice patch',
      'audit: deployer update (Conflict)',
    ]);
    const scale = root.events[1]!;
    expect(scale.attributes['k8s.diff']).toEqual(
      expect.arrayContaining(['spec.replicas 2 -> 3', 'status.observedGeneration 0 -> 1']),
    );
    expect(scale.attributes['k8s.user_agent']).toMatch(/^kubectl\//);
    const conflict = root.events[2]!;
    expect(conflict.attributes).toMatchObject({
      'k8s.code': 409,
      'k8s.reason': 'Conflict',
      'k8s.impersonated_by': 'ci-bot',
    });
    expect(root.status.code).toBe('error');
    // The pod created by generateName is filed under its name from the response; binding and status follow it.
    const first = pods.find((p) => p.name === `pod shop/${r.pods[1]}`)!;
    expect(eventNames(first)).toEqual([
      'audit: system:serviceaccount:kube-system:replicaset-controller create',
      'audit: system:kube-scheduler create binding',
      'audit: system:node:worker-1 patch status',
    ]);
    const gone = pods.find((p) => p.name === `pod shop/${r.pods[0]}`)!;
    expect(eventNames(gone)).toContain('audit: bob delete (Not Found)');
    expect(t.objects.map((o) => o.kind)).toEqual(['Deployment', 'ReplicaSet', 'Pod', 'Pod', 'Pod']);
    // The same object gives the same trace id.
    const again = await hub.api<K8sTrace>(
      'GET',
      `/api/v1/k8s/trace?${q({ cluster: 'prod', resource: 'deployments', group: 'apps', namespace: 'shop', name: 'web' })}`,
    );
    expect(again.body.traceId).toBe(t.traceId);
  });

  it("a Pod's trace climbs to its Deployment; tree and timeline modes give each entry its own span", async () => {
    const base = {
      cluster: 'prod',
      resource: 'pods',
      namespace: 'shop',
      name: r.pods[1]!,
      from: r.startMs - 1000,
      to: r.endMs,
    };
    const up = (await hub.api<K8sTrace>('GET', `/api/v1/k8s/trace?${q(base)}`)).body;
    const top = up.spans.find((s) => s.parentSpanId === null)!;
    expect(top.name).toBe('deployment shop/web');
    // No siblings: only this pod under the ReplicaSet.
    expect(up.spans.filter((s) => s.service === 'Pod')).toHaveLength(1);

    const tree = (await hub.api<K8sTrace>('GET', `/api/v1/k8s/trace?${q({ ...base, mode: 'tree', owners: 'none' })}`))
      .body;
    expect(tree.spans).toHaveLength(4);
    const podSpan = tree.spans.find((s) => s.service === 'Pod')!;
    const entries = tree.spans.filter((s) => s.parentSpanId === podSpan.spanId);
    expect(entries.map((s) => [s.service, s.name])).toEqual([
      ['audit', 'system:serviceaccount:kube-system:replicaset-controller create'],
      ['audit', 'system:kube-scheduler create binding'],
      ['audit', 'system:node:worker-1 patch status'],
    ]);

    const timeline = (await hub.api<K8sTrace>('GET', `/api/v1/k8s/trace?${q({ ...base, mode: 'timeline' })}`)).body;
    const root = timeline.spans.find((s) => s.parentSpanId === null)!;
    expect(root.name).toBe('deployment shop/web');
    expect(
      timeline.spans.filter((s) => s.parentSpanId === root.spanId).map((s) => s.attributes['k8s.object']),
    ).toContain(`pod shop/${r.pods[1]}`);
  });

  it('searches objects by part of the name, label, user and verb; lists clusters; answers diffs', async () => {
    const byName = await hub.api(
      'GET',
      `/api/v1/k8s/objects?${q({ cluster: 'prod', name: '7d9f8', resource: 'pod' })}`,
    );
    expect(byName.body.items.map((o: { name: string }) => o.name).sort()).toEqual([...r.pods].sort());
    const byLabel = await hub.api('GET', `/api/v1/k8s/objects?${q({ label: 'tier=frontend' })}`);
    expect(byLabel.body.items.map((o: { name: string }) => o.name)).toEqual(['web']);
    const byUser = await hub.api('GET', `/api/v1/k8s/objects?${q({ user: 'bob', verb: 'delete' })}`);
    expect(byUser.body.items.map((o: { name: string }) => o.name)).toEqual([r.pods[0]]);
    const paged = await hub.api('GET', `/api/v1/k8s/objects?${q({ cluster: 'prod', limit: 2 })}`);
    expect(paged.body.items).toHaveLength(2);
    const next = await hub.api(
      'GET',
      `/api/v1/k8s/objects?${q({ cluster: 'prod', limit: 10, cursor: paged.body.nextCursor })}`,
    );
    expect(next.body.items).toHaveLength(3);
    const clusters = await hub.api('GET', '/api/v1/k8s/clusters', undefined, 'viewer');
    expect(clusters.body.items).toEqual([expect.objectContaining({ name: 'prod', objects: 5, configured: false })]);
    const diff = await hub.api(
      'GET',
      `/api/v1/k8s/diff?${q({ cluster: 'prod', resource: 'deploy', namespace: 'shop', name: 'web' })}`,
    );
    expect(diff.status).toBe(200);
    expect(diff.body.items.map((d: { change: string }) => d.change)).toEqual(['created', 'updated']);
    expect(diff.body.items[1].lines).toEqual(expect.arrayContaining([{ path: 'spec.replicas', old: '2', new: '3' }]));
    expect(diff.body.items[1].lines.some((l: { path: string }) => l.path.startsWith('metadata.managedFields'))).toBe(
      false,
    );
  });

  it('a batch sent twice (the API server retries) is stored once', async () => {
    const path = `/api/v1/k8s/trace?${q({ cluster: 'prod', resource: 'deployments', namespace: 'shop', name: 'web', from: r.startMs - 1000, to: r.endMs })}`;
    const before = (await hub.api<K8sTrace>('GET', path)).body;
    const again = await post(hub, '/api/v1/k8s/audit/prod', eventList(r.events), pool.key);
    expect(again.status).toBe(200);
    const after = (await hub.api<K8sTrace>('GET', path)).body;
    expect(after.spans.map((s) => s.events.length)).toEqual(before.spans.map((s) => s.events.length));
  });

  it('refuses bad requests with a reason and stores nothing of them', async () => {
    const noCluster = await post(hub, '/api/v1/k8s/audit', eventList(r.events), pool.key);
    expect(noCluster.status).toBe(400);
    expect(noCluster.body.error.message).toMatch(/\/api\/v1\/k8s\/audit\/<cluster>/);
    const badCluster = await post(hub, '/api/v1/k8s/audit/Prod_1', eventList(r.events), pool.key);
    expect(badCluster.status).toBe(400);
    expect(badCluster.body.error.message).toMatch(/DNS label/);
    const noKey = await post(hub, '/api/v1/k8s/audit/staging', eventList(r.events));
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(noKey.body.error.message).toMatch(/token: sgp_/);
    const wrongKey = await post(hub, '/api/v1/k8s/audit/staging', eventList(r.events), 'sgp_not-a-key');
    expect(wrongKey.status).toBe(401);
    const notJson = await post(hub, '/api/v1/k8s/audit/staging', null, pool.key, '{"kind":"EventList",');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toMatch(/not JSON/);
    const wrongVersion = await post(
      hub,
      '/api/v1/k8s/audit/staging',
      { ...eventList(r.events), apiVersion: 'audit.k8s.io/v2' },
      pool.key,
    );
    expect(wrongVersion.status).toBe(400);
    expect(wrongVersion.body.error.message).toMatch(/audit\.k8s\.io\/v1/);
    const notList = await post(hub, '/api/v1/k8s/audit/staging', r.events[0], pool.key);
    expect(notList.status).toBe(400);
    expect(notList.body.error.message).toMatch(/EventList/);
    const clusters = await hub.api('GET', '/api/v1/k8s/clusters');
    expect(clusters.body.items.map((c: { name: string }) => c.name)).toEqual(['prod']);
  });

  it('keeps good entries of a batch with bad ones, and says which and why', async () => {
    const ok = auditEvent({
      atMs: r.startMs + 5000,
      verb: 'delete',
      user: 'alice',
      userAgent: 'kubectl/v1.30.2',
      uri: '/api/v1/namespaces/shop/configmaps/settings',
      ref: { resource: 'configmaps', namespace: 'shop', name: 'settings', apiVersion: 'v1' },
      code: 200,
      level: 'Metadata',
    });
    const noRef = { ...ok, auditID: 'no-ref', objectRef: undefined, requestURI: '/healthz' };
    const hostile = { ...ok, auditID: 'hostile', objectRef: { ...ok.objectRef, name: '../../etc/passwd' } };
    const control = { ...ok, auditID: 'control', objectRef: { ...ok.objectRef, name: 'a\u0000b' } };
    const noTime = { ...ok, auditID: 'no-time', requestReceivedTimestamp: 'yesterday' };
    const xss = { ...ok, auditID: 'xss', objectRef: { ...ok.objectRef, name: '<img src=x onerror=alert(1)>' } };
    const res = await post(
      hub,
      '/api/v1/k8s/audit/staging',
      eventList([ok, noRef, hostile, control, noTime, 42, xss] as never),
      pool.key,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, skipped: 1, rejected: 4, skippedBy: { 'no-object': 1 } });
    expect(res.body.errors.map((e: { index: number }) => e.index)).toEqual([2, 3, 4, 5]);
    expect(res.body.errors[2].message).toMatch(/requestReceivedTimestamp/);
    // The odd name is stored as data and answered as data.
    const found = await hub.api('GET', `/api/v1/k8s/objects?${q({ cluster: 'staging', name: '<img' })}`);
    expect(found.body.items.map((o: { name: string }) => o.name)).toEqual(['<img src=x onerror=alert(1)>']);
    const missing = await hub.api(
      'GET',
      `/api/v1/k8s/trace?${q({ cluster: 'staging', resource: 'configmaps', namespace: 'shop', name: 'nope' })}`,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/k8s doctor/);
  });
});

describe('Kubernetes audit webhook limits', () => {
  let hub: TestHub;
  afterAll(() => hub?.close());

  it('refuses a body over the limit with 413, stores none of it, and keeps serving', async () => {
    hub = await createHub({ listen: true, env: { SPYGLASS_K8S_MAX_BODY_BYTES: String(1024 * 1024) } });
    const pool = await hub.createPool('k8s-limits');
    const big = rollout(3);
    const filler = 'x'.repeat(10 * 1024 * 1024);
    const body = eventList(big.events.map((e, i) => (i === 0 ? { ...e, annotations: { filler } } : e)));
    const res = await post(hub, '/api/v1/k8s/audit/prod', body, pool.key);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const clusters = await hub.api('GET', '/api/v1/k8s/clusters');
    expect(clusters.body.items).toEqual([]);
    const ok = await post(hub, '/api/v1/k8s/audit/prod', eventList(big.events), pool.key);
    expect(ok.status).toBe(200);
  });
});
