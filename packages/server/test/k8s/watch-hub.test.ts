/**
 * The watchers inside a hub, configured by a YAML config file as a user writes it, against the stand-in API server:
 * changes become diffs and trace entries with their owners, Events land on their objects, and a restarted hub resumes
 * each watch from its stored checkpoint (no relist) and still diffs what changed while it was down.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { K8sDiagnostics, K8sDiffResult, K8sTrace } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, waitFor, type TestHub } from '../kit/index.js';
import { FakeApiServer } from './apiserver.js';
import { eventList, rollout, RS_NAME, type Rollout } from './audit-rollout.js';

const DEPLOYMENTS = '/apis/apps/v1/deployments';
const REPLICASETS = '/apis/apps/v1/replicasets';
const PODS = '/api/v1/pods';
const CORE_EVENTS = '/api/v1/events';

const deployment = (replicas: number, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-deploy-web', labels: { app: 'web' } },
  spec: { replicas, template: { spec: { containers: [{ name: 'web', image }] } } },
});
const replicaSet = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'web-5d9c',
    namespace: 'shop',
    uid: 'uid-rs-web',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-deploy-web' }],
  },
  spec: { replicas },
});
const pod = (name: string, phase: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'shop',
    uid: `uid-${name}`,
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9c', uid: 'uid-rs-web' }],
  },
  spec: { containers: [{ name: 'web', image: 'shop/web:1' }] },
  status: { phase },
});
const coreEvent = (name: string, reason: string, message: string) => {
  const now = new Date().toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'shop', uid: `uid-${name}` },
    involvedObject: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      namespace: 'shop',
      uid: 'uid-deploy-web',
    },
    reason,
    message,
    source: { component: 'deployment-controller' },
    count: 1,
    type: 'Normal',
    firstTimestamp: now,
    lastTimestamp: now,
  };
};

const q = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

describe('Kubernetes watchers in a hub', () => {
  let api: FakeApiServer;
  let dir: string;
  let env: Record<string, string>;
  let databaseUrl: string;
  let hub: TestHub | undefined;

  const diagnostics = async (h: TestHub) => (await h.api<K8sDiagnostics>('GET', '/api/v1/k8s/diagnostics')).body;
  const watchersOf = async (h: TestHub) =>
    new Map((await diagnostics(h)).clusters.find((c) => c.name === 'dev')?.watchers.map((w) => [w.resource, w]) ?? []);
  const allWatching = (h: TestHub) =>
    waitFor(
      async () => {
        const w = await watchersOf(h);
        // Watches open on the API server, not only checkpoints of an earlier run.
        return w.size === 5 && [...w.values()].every((s) => s.state === 'watching') && api.openWatches() === 5
          ? w
          : undefined;
      },
      { timeoutMs: 20_000, what: 'every watcher of cluster dev watching' },
    );
  const diffOf = async (h: TestHub) =>
    (
      await h.api<K8sDiffResult>(
        'GET',
        `/api/v1/k8s/diff?${q({ cluster: 'dev', resource: 'deploy', namespace: 'shop', name: 'web' })}`,
      )
    ).body;

  beforeAll(async () => {
    api = await FakeApiServer.start();
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-watch-hub-'));
    const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
    const configFile = path.join(dir, 'spyglass.yaml');
    // As a user writes it: a cluster, its kubeconfig, the resources to diff (short names as kubectl takes them).
    writeFileSync(
      configFile,
      [
        'k8s:',
        '  clusters:',
        '    - name: dev',
        `      kubeconfig: ${kubeconfig}`,
        '      resources: [deploy, rs, pods]',
        '',
      ].join('\n'),
    );
    env = { SPYGLASS_CONFIG: configFile };
    databaseUrl = `sqlite:${path.join(dir, 'hub.db')}`;
    // Present before the hub starts: found by the first list.
    api.apply(DEPLOYMENTS, deployment(2, 'shop/web:1'));
    api.apply(REPLICASETS, replicaSet(2));
    api.apply(PODS, pod('web-5d9c-a', 'Running'));
  });
  afterAll(async () => {
    await hub?.close();
    await api?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('lists, then watches every configured resource and both Event APIs', async () => {
    hub = await createHub({ databaseUrl, env });
    const w = await allWatching(hub);
    expect([...w.keys()].sort()).toEqual(
      ['events', 'events.events.k8s.io', 'pods', 'deployments.apps', 'replicasets.apps'].sort(),
    );
    const diag = await diagnostics(hub);
    const dev = diag.clusters.find((c) => c.name === 'dev')!;
    expect(dev.configured).toBe(true);
    expect(dev.watcherReplica).toBe(diag.replicaId);
    for (const collection of [DEPLOYMENTS, REPLICASETS, PODS, CORE_EVENTS, '/apis/events.k8s.io/v1/events'])
      expect(api.requests.filter((r) => r.collection === collection && !r.watch)).toHaveLength(1);
    // The secrets collection is never asked for.
    expect(api.requests.some((r) => r.collection.endsWith('/secrets'))).toBe(false);
  });

  it('turns changes into diffs, Events into entries, and builds the owner tree from ownerReferences', async () => {
    const h = hub!;
    api.apply(DEPLOYMENTS, deployment(3, 'shop/web:1'));
    api.apply(REPLICASETS, replicaSet(3));
    api.apply(PODS, pod('web-5d9c-b', 'Pending'));
    api.apply(CORE_EVENTS, coreEvent('web.scaled', 'ScalingReplicaSet', 'Scaled up replica set web-5d9c to 3'));
    api.apply(DEPLOYMENTS, deployment(3, 'shop/web:2'));

    let last: unknown;
    const diff = await waitFor(
      async () => {
        const d = await diffOf(h);
        last = d;
        return d.items?.length === 2 ? d : undefined;
      },
      { timeoutMs: 20_000, what: 'two changes of the Deployment diffed', detail: () => JSON.stringify(last) },
    );
    // The version the first list found is the base of the first diff (a list does not tell how the object came about).
    expect(diff.items.map((i) => [i.source, i.change])).toEqual([
      ['watch', 'updated'],
      ['watch', 'updated'],
    ]);
    expect(diff.items[0]!.lines).toEqual([{ path: 'spec.replicas', old: '2', new: '3' }]);
    expect(diff.items[1]!.lines).toEqual([
      {
        path: 'spec.template.spec.containers[0].image',
        old: '"shop/web:1"',
        new: '"shop/web:2"',
      },
    ]);
    // Consecutive versions: each diff starts where the one before it ended.
    expect(diff.items[1]!.oldResourceVersion).toBe(diff.items[0]!.resourceVersion);

    const trace = await waitFor(
      async () => {
        const t = (
          await h.api<K8sTrace>(
            'GET',
            `/api/v1/k8s/trace?${q({ cluster: 'dev', resource: 'deployments', namespace: 'shop', name: 'web' })}`,
          )
        ).body;
        const root = t.spans?.find((s) => s.parentSpanId === null);
        return root?.events.some((e) => e.attributes['k8s.event.reason'] === 'ScalingReplicaSet') &&
          t.objects.length === 4
          ? t
          : undefined;
      },
      { timeoutMs: 20_000, what: 'the Deployment trace with its Event and owned objects' },
    );
    const root = trace.spans.find((s) => s.parentSpanId === null)!;
    const rs = trace.spans.find((s) => s.parentSpanId === root.spanId)!;
    expect(rs.name).toBe('replicaset shop/web-5d9c');
    expect(
      trace.spans
        .filter((s) => s.parentSpanId === rs.spanId)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['pod shop/web-5d9c-a', 'pod shop/web-5d9c-b']);
    const event = root.events.find((e) => e.attributes['k8s.event.reason'] === 'ScalingReplicaSet')!;
    expect(event.attributes['k8s.message']).toBe('Scaled up replica set web-5d9c to 3');
    const diffs = root.events.filter((e) => e.attributes['k8s.entry'] === 'diff');
    expect(diffs.map((e) => e.attributes['k8s.diff.source'])).toEqual(['watch', 'watch']);
  });

  it('resumes from its checkpoints after a restart and diffs what changed while it was down', async () => {
    const before = await waitFor(
      async () => {
        const w = await watchersOf(hub!);
        const d = w.get('deployments.apps');
        // The checkpoint has caught up with the last Deployment change.
        return d?.lastResourceVersion !== null && Number(d?.lastResourceVersion) >= Number(api.resourceVersion) - 1
          ? w
          : undefined;
      },
      { timeoutMs: 20_000, what: 'the Deployment watch checkpointed' },
    );
    expect(before.get('deployments.apps')).toBeDefined();
    await hub!.close();
    hub = undefined;
    const checkpoint = Number(api.resourceVersion);

    // While no hub runs: a scale down and a deleted pod.
    api.apply(DEPLOYMENTS, deployment(1, 'shop/web:2'));
    api.delete(PODS, 'shop', 'web-5d9c-b');
    const requestsBefore = api.requests.length;

    hub = await createHub({ databaseUrl, env });
    await allWatching(hub);
    const after = api.requests.slice(requestsBefore);
    // No list: every watch starts from the version the last run stored.
    expect(after.filter((r) => !r.watch)).toEqual([]);
    const deployWatch = after.find((r) => r.collection === DEPLOYMENTS && r.watch)!;
    expect(Number(deployWatch.query.resourceVersion)).toBeLessThanOrEqual(checkpoint);
    expect(Number(deployWatch.query.resourceVersion)).toBeGreaterThan(100);

    const diff = await waitFor(
      async () => {
        const d = await diffOf(hub!);
        return d.items?.length === 3 ? d : undefined;
      },
      { timeoutMs: 20_000, what: 'the scale-down made while the hub was down diffed' },
    );
    expect(diff.items[2]!.lines).toEqual([{ path: 'spec.replicas', old: '3', new: '1' }]);
    expect(diff.items[2]!.oldResourceVersion).toBe(diff.items[1]!.resourceVersion);
    const pods = await waitFor(
      async () => {
        const res = await hub!.api<{ items: { name: string; deleted: boolean }[] }>(
          'GET',
          `/api/v1/k8s/objects?${q({ cluster: 'dev', resource: 'pods', namespace: 'shop' })}`,
        );
        const b = res.body.items?.find((o) => o.name === 'web-5d9c-b');
        return b?.deleted === true ? res.body.items : undefined;
      },
      { timeoutMs: 20_000, what: 'the pod deleted while the hub was down marked deleted' },
    );
    expect(pods.find((o) => o.name === 'web-5d9c-a')?.deleted).toBe(false);
  });
});

describe('a recorded rollout seen by the watchers and the audit webhook at once', () => {
  let api: FakeApiServer;
  let dir: string;
  let hub: TestHub;
  let r: Rollout;

  beforeAll(async () => {
    api = await FakeApiServer.start();
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-watch-rollout-'));
    const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
    const configFile = path.join(dir, 'spyglass.yaml');
    writeFileSync(
      configFile,
      `k8s:\n  clusters:\n    - name: dev\n      kubeconfig: ${kubeconfig}\n      resources: [deployments, replicasets, pods]\n`,
    );
    hub = await createHub({ env: { SPYGLASS_CONFIG: configFile }, listen: true });
    await waitFor(() => api.openWatches() === 5, { what: 'five watches open', timeoutMs: 20_000 });
    r = rollout(3, Date.now() - 60_000);
  });
  afterAll(async () => {
    await hub?.close();
    await api?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('stores each version once, whichever of the two saw it first, with the owner tree and the audit entries', async () => {
    // The API server serves the objects the rollout's responses carry, with their recorded versions, in order.
    const served = r.events.filter(
      (e) => e.stage === 'ResponseComplete' && e.responseStatus.code < 300 && isObject(e.responseObject),
    );
    for (const e of served) {
      const o = e.responseObject as { kind: string; metadata: { name: string; resourceVersion?: string } };
      const collection = { Deployment: DEPLOYMENTS, ReplicaSet: REPLICASETS, Pod: PODS }[o.kind];
      if (collection !== undefined) api.apply(collection, o, { keepVersion: true });
    }
    const pool = await hub.createPool('rollout');
    const res = await fetch(`${hub.url}/api/v1/k8s/audit/dev`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(eventList(r.events)),
    });
    expect(res.status).toBe(200);

    const diff = await waitFor(
      async () => {
        const d = await diffOfRollout(hub);
        return d.items?.some((i) => i.lines.some((l) => l.path === 'spec.replicas')) ? d : undefined;
      },
      { timeoutMs: 20_000, what: 'the scale diffed' },
    );
    // One diff for the scale, not one per source; keyed by the version both carried.
    const scale = diff.items.filter((i) => i.lines.some((l) => l.path === 'spec.replicas'));
    expect(scale).toHaveLength(1);
    expect(scale[0]!.lines).toContainEqual({ path: 'spec.replicas', old: '2', new: '3' });
    expect(new Set(diff.items.map((i) => i.resourceVersion)).size).toBe(diff.items.length);

    const trace = await waitFor(
      async () => {
        const t = (
          await hub.api<K8sTrace>(
            'GET',
            `/api/v1/k8s/trace?${q({ cluster: 'dev', resource: 'deploy', namespace: 'shop', name: 'web' })}`,
          )
        ).body;
        return t.objects?.length === 5 ? t : undefined;
      },
      { timeoutMs: 20_000, what: 'the Deployment, its ReplicaSet and three pods in one trace' },
    );
    const root = trace.spans.find((s) => s.parentSpanId === null)!;
    const rs = trace.spans.find((s) => s.parentSpanId === root.spanId)!;
    expect(rs.name).toBe(`replicaset shop/${RS_NAME}`);
    expect(
      trace.spans
        .filter((s) => s.parentSpanId === rs.spanId)
        .map((s) => s.name)
        .sort(),
    ).toEqual(r.pods.map((p) => `pod shop/${p}`).sort());
    // The watched version is joined to the audit entry whose response carried it: who scaled, and what changed.
    const patch = root.events.find((e) => e.name === 'audit: alice patch')!;
    expect(patch.attributes['k8s.diff']).toContain('spec.replicas 2 -> 3');
    expect(root.events.filter((e) => e.attributes['k8s.entry'] === 'diff')).toEqual([]);
    expect(root.events.map((e) => e.name)).toEqual([
      'audit: alice create',
      'audit: alice patch',
      'audit: deployer update (Conflict)',
    ]);
  });
});

const isObject = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind !== 'Status';
const diffOfRollout = async (h: TestHub) =>
  (
    await h.api<K8sDiffResult>(
      'GET',
      `/api/v1/k8s/diff?${q({ cluster: 'dev', resource: 'deployments', namespace: 'shop', name: 'web' })}`,
    )
  ).body;
