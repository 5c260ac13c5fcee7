/**
 * The cluster watchers against a stand-in API server (HTTPS, bearer token, list/watch, bookmarks, 410 Gone, 403):
 * what they hand to their sink, in what order, how they resume, relist, back off and stop.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '../../src/k8s/config.js';
import type { ClusterWatchers, GroupVersionResource, K8sSink, KubeObject } from '../../src/k8s/sink.js';
import { createClusterWatchers } from '../../src/k8s/watch/cluster-watchers.js';
import { waitFor } from '../kit/index.js';
import { FakeApiServer } from './apiserver.js';

const DEPLOYMENTS = '/apis/apps/v1/deployments';
const PODS = '/api/v1/pods';
const CORE_EVENTS = '/api/v1/events';
const EVENTS = '/apis/events.k8s.io/v1/events';

type Offered =
  | { type: 'version'; watch: string; change: string; name: string; rv: string; replicas?: unknown }
  | { type: 'event'; api: string; name: string; rv: string }
  | { type: 'checkpoint'; watch: string; rv: string };

/** A sink that records what it takes; `refuse` makes it answer false (queue full) to that many offers. */
class RecordingSink implements K8sSink {
  readonly taken: Offered[] = [];
  readonly checkpoints = new Map<string, string>();
  readonly present = new Map<string, { namespace: string; name: string }[]>();
  refuse = 0;
  refused = 0;
  #waiting: (() => void)[] = [];
  constructor(readonly resume: Record<string, string> = {}) {}

  #take(items: Offered[]): boolean {
    if (this.refuse > 0) {
      this.refuse--;
      this.refused++;
      // Room comes back a little later, as a write finishing does.
      setTimeout(() => this.#waiting.splice(0).forEach((r) => r()), 20);
      return false;
    }
    this.taken.push(...items);
    return true;
  }
  versions(
    _cluster: string,
    gvr: GroupVersionResource,
    items: readonly { change: 'added' | 'modified' | 'deleted'; object: KubeObject }[],
  ): boolean {
    const watch = gvr.group === '' ? gvr.resource : `${gvr.resource}.${gvr.group}`;
    return this.#take(
      items.map((i) => ({
        type: 'version',
        watch,
        change: i.change,
        name: i.object.metadata?.name ?? '',
        rv: i.object.metadata?.resourceVersion ?? '',
        replicas: (i.object.spec as { replicas?: unknown } | undefined)?.replicas,
      })),
    );
  }
  events(_cluster: string, api: 'v1' | 'events.k8s.io/v1', items: readonly KubeObject[]): boolean {
    return this.#take(
      items.map((o) => ({ type: 'event', api, name: o.metadata?.name ?? '', rv: o.metadata?.resourceVersion ?? '' })),
    );
  }
  checkpoint(_cluster: string, watch: string, resourceVersion: string): boolean {
    if (!this.#take([{ type: 'checkpoint', watch, rv: resourceVersion }])) return false;
    this.checkpoints.set(watch, resourceVersion);
    return true;
  }
  drained(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  resumeVersion(_cluster: string, watch: string): Promise<string | null> {
    return Promise.resolve(this.resume[watch] ?? null);
  }
  tracked(_cluster: string, gvr: GroupVersionResource): Promise<{ namespace: string; name: string }[]> {
    return Promise.resolve(this.present.get(gvr.resource) ?? []);
  }
  versionsOf(watch: string) {
    return this.taken.filter(
      (t): t is Extract<Offered, { type: 'version' }> => t.type === 'version' && t.watch === watch,
    );
  }
}

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, creationTimestamp: new Date().toISOString() },
  spec: { replicas },
});
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  spec: { containers: [{ name: 'web', image: 'shop/web:1.0' }] },
});
const coreEvent = (name: string, reason: string) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  involvedObject: { kind: 'Deployment', namespace: 'shop', name: 'web', apiVersion: 'apps/v1' },
  reason,
  message: 'Scaled up replica set web-1 to 3',
  source: { component: 'deployment-controller' },
  count: 1,
  lastTimestamp: new Date().toISOString(),
});

describe('cluster watchers against a stand-in API server', () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  let watchers: ClusterWatchers | undefined;
  const log = pino({ level: 'silent' });

  beforeEach(async () => {
    api = await FakeApiServer.start();
    kubeconfig = api.writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'sg-kube-')), 'config'));
  });
  afterEach(async () => {
    await watchers?.stop();
    watchers = undefined;
    await api.close();
  });

  const start = (sink: K8sSink, cluster: Record<string, unknown> = {}) => {
    watchers = createClusterWatchers({
      cluster: clusterConfigSchema.parse({ name: 'dev', kubeconfig, resources: ['deployments', 'pods'], ...cluster }),
      sink,
      log,
      backoff: { initialMs: 50, maxMs: 200 },
      forbiddenRetryMs: 200,
      checkpointIntervalMs: 0,
    });
    watchers.start();
    return watchers;
  };
  const watching = (w: ClusterWatchers, n: number) =>
    waitFor(() => w.status().filter((s) => s.state === 'watching').length === n && api.openWatches() === n, {
      what: `${n} watches open`,
      timeoutMs: 20_000,
      detail: () => JSON.stringify(w.status()),
    });

  it('lists each resource, then watches it: creations, updates and deletions in order, Events from both APIs', async () => {
    api.apply(DEPLOYMENTS, deployment('web', 2));
    api.apply(PODS, pod('web-1'));
    const sink = new RecordingSink();
    const w = start(sink);
    await watching(w, 4);
    expect(sink.versionsOf('deployments.apps')).toEqual([
      expect.objectContaining({ change: 'added', name: 'web', replicas: 2 }),
    ]);
    expect(sink.versionsOf('pods')).toEqual([expect.objectContaining({ change: 'added', name: 'web-1' })]);
    // The list's version is the first checkpoint of every watch.
    expect(sink.checkpoints.get('pods')).toBe(sink.checkpoints.get('deployments.apps'));

    api.apply(DEPLOYMENTS, deployment('web', 3));
    api.apply(PODS, pod('web-2'));
    api.delete(PODS, 'shop', 'web-1');
    api.apply(CORE_EVENTS, coreEvent('web.1', 'ScalingReplicaSet'));
    api.apply(EVENTS, { ...coreEvent('web.1', 'ScalingReplicaSet'), apiVersion: 'events.k8s.io/v1' });
    await waitFor(
      () => sink.versionsOf('pods').length === 3 && sink.taken.filter((t) => t.type === 'event').length === 2,
      {
        what: 'the changes to arrive',
        detail: () => JSON.stringify(sink.taken),
      },
    );
    expect(sink.versionsOf('deployments.apps').map((v) => [v.change, v.replicas])).toEqual([
      ['added', 2],
      ['modified', 3],
    ]);
    expect(sink.versionsOf('pods').map((v) => [v.change, v.name])).toEqual([
      ['added', 'web-1'],
      ['added', 'web-2'],
      ['deleted', 'web-1'],
    ]);
    expect(
      sink.taken
        .filter((t) => t.type === 'event')
        .map((t) => (t as { api: string }).api)
        .sort(),
    ).toEqual(['events.k8s.io/v1', 'v1']);
    await waitFor(() => sink.checkpoints.get('pods') === sink.versionsOf('pods').at(-1)!.rv, {
      what: 'pods checkpoint',
    });
    const s = w.status().find((x) => x.resource === 'pods')!;
    expect(s).toMatchObject({ state: 'watching', events: 2, relists: 0, errors: 0 });
    // Every list and watch asked for pages and bookmarks.
    expect(api.requests.filter((r) => !r.watch).every((r) => r.query.limit === '500')).toBe(true);
    expect(api.requests.filter((r) => r.watch).every((r) => r.query.allowWatchBookmarks === 'true')).toBe(true);
  });

  it('resumes from the stored checkpoint without listing, and gets what changed meanwhile', async () => {
    api.apply(DEPLOYMENTS, deployment('web', 1));
    const since = api.resourceVersion;
    api.apply(DEPLOYMENTS, deployment('web', 2));
    api.apply(DEPLOYMENTS, deployment('web', 3));
    const sink = new RecordingSink({
      'deployments.apps': since,
      pods: since,
      events: since,
      'events.events.k8s.io': since,
    });
    const w = start(sink);
    await watching(w, 4);
    await waitFor(() => sink.versionsOf('deployments.apps').length === 2, { what: 'the two updates' });
    expect(sink.versionsOf('deployments.apps').map((v) => [v.change, v.replicas])).toEqual([
      ['modified', 2],
      ['modified', 3],
    ]);
    expect(api.requests.filter((r) => !r.watch)).toEqual([]);
    expect(api.requests.find((r) => r.collection === DEPLOYMENTS)!.query.resourceVersion).toBe(since);
  });

  it('lists again on 410 Gone, and marks objects the list no longer has as deleted', async () => {
    api.apply(DEPLOYMENTS, deployment('web', 1));
    const old = api.resourceVersion;
    api.apply(DEPLOYMENTS, deployment('api', 1));
    api.compact();
    const sink = new RecordingSink({ 'deployments.apps': old });
    // The store still has "gone", deleted while nobody watched.
    sink.present.set('deployments', [
      { namespace: 'shop', name: 'web' },
      { namespace: 'shop', name: 'gone' },
    ]);
    const w = start(sink, { events: false, resources: ['deployments'] });
    await watching(w, 1);
    expect(w.status()[0]).toMatchObject({ resource: 'deployments.apps', relists: 1, state: 'watching' });
    expect(sink.versionsOf('deployments.apps').map((v) => [v.change, v.name])).toEqual([
      ['added', 'api'],
      ['added', 'web'],
      ['deleted', 'gone'],
    ]);
    expect(sink.checkpoints.get('deployments.apps')).toBe(api.resourceVersion);
  });

  it('reads a list in pages as one snapshot, and starts over when the continue token expires', async () => {
    for (let i = 0; i < 7; i++) api.apply(PODS, pod(`p-${i}`));
    const sink = new RecordingSink();
    watchers = createClusterWatchers({
      cluster: clusterConfigSchema.parse({ name: 'dev', kubeconfig, events: false, resources: ['pods'] }),
      sink,
      log,
      pageSize: 3,
    });
    watchers.start();
    await watching(watchers, 1);
    expect(sink.versionsOf('pods').map((v) => v.name)).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
    expect(api.requests.filter((r) => !r.watch).map((r) => r.query.continue !== undefined)).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('moves the checkpoint on bookmarks, and reopens a dropped watch from where it was', async () => {
    const sink = new RecordingSink();
    const w = start(sink, { events: false, resources: ['pods'] });
    await watching(w, 1);
    api.apply(DEPLOYMENTS, deployment('elsewhere', 1)); // another collection moves the shared version
    api.bookmark();
    await waitFor(() => sink.checkpoints.get('pods') === api.resourceVersion, { what: 'the bookmark checkpoint' });
    api.dropWatches();
    api.apply(PODS, pod('after-drop'));
    await waitFor(() => sink.versionsOf('pods').some((v) => v.name === 'after-drop'), {
      what: 'the change after the drop',
    });
    const watches = api.requests.filter((r) => r.watch);
    expect(Number(watches.at(-1)!.query.resourceVersion)).toBeGreaterThan(Number(watches[0]!.query.resourceVersion));
    expect(api.requests.filter((r) => !r.watch)).toHaveLength(1);
  });

  it('stores the checkpoint of a quiet watch a while after its last change, without waiting for a bookmark', async () => {
    const sink = new RecordingSink();
    watchers = createClusterWatchers({
      cluster: clusterConfigSchema.parse({ name: 'dev', kubeconfig, events: false, resources: ['pods'] }),
      sink,
      log,
      checkpointIntervalMs: 300,
      checkpointEveryChanges: 1000,
    });
    watchers.start();
    await watching(watchers, 1);
    const listed = sink.checkpoints.get('pods');
    const created = api.apply(PODS, pod('lonely'));
    await waitFor(() => sink.checkpoints.get('pods') === created.metadata.resourceVersion, {
      what: 'the checkpoint at the one change',
      detail: () => `checkpoint ${sink.checkpoints.get('pods')}, listed at ${listed}`,
    });
    // After the change it covers, never before.
    const order = sink.taken.map((o) => (o.type === 'checkpoint' ? `cp ${o.rv}` : `${o.type} ${o.rv}`));
    expect(order.indexOf(`cp ${created.metadata.resourceVersion}`)).toBeGreaterThan(
      order.indexOf(`version ${created.metadata.resourceVersion}`),
    );
  });

  it('reports a forbidden resource and retries it, while the other watches go on', async () => {
    api.forbid(PODS);
    const sink = new RecordingSink();
    const w = start(sink, { events: false });
    await waitFor(() => w.status().find((s) => s.resource === 'pods')?.state === 'forbidden', {
      what: 'pods forbidden',
    });
    await watching(w, 1);
    const pods = w.status().find((s) => s.resource === 'pods')!;
    expect(pods.lastError).toMatch(/cannot list resource "pods"/);
    api.forbid(PODS, false);
    await watching(w, 2);
    api.apply(PODS, pod('allowed'));
    await waitFor(() => sink.versionsOf('pods').some((v) => v.name === 'allowed'), { what: 'pods after RBAC fixed' });
  });

  it('waits for room when the sink is full: nothing lost, nothing twice, in order', async () => {
    const sink = new RecordingSink();
    const w = start(sink, { events: false, resources: ['deployments'] });
    await watching(w, 1);
    sink.refuse = 25;
    for (let i = 1; i <= 40; i++) api.apply(DEPLOYMENTS, deployment('web', i));
    await waitFor(() => sink.versionsOf('deployments.apps').length === 40, {
      what: 'all 40 versions',
      detail: () => `${sink.versionsOf('deployments.apps').length} taken, ${sink.refused} refused`,
    });
    expect(sink.refused).toBe(25);
    expect(sink.versionsOf('deployments.apps').map((v) => v.replicas)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });

  it('stops every watch when asked', async () => {
    const sink = new RecordingSink();
    const w = start(sink);
    await watching(w, 4);
    await w.stop();
    expect(w.status().every((s) => s.state === 'stopped')).toBe(true);
    await waitFor(() => api.openWatches() === 0, { what: 'the watches closed on the server' });
  });

  it('says what is wrong with a kubeconfig it cannot use', () => {
    const w = createClusterWatchers({
      cluster: clusterConfigSchema.parse({ name: 'dev', kubeconfig: path.join(tmpdir(), 'no-such-kubeconfig') }),
      sink: new RecordingSink(),
      log,
    });
    w.start();
    expect(w.status()).toEqual([
      expect.objectContaining({ state: 'unavailable', lastError: expect.stringMatching(/ENOENT|no such file/) }),
    ]);
  });
});
