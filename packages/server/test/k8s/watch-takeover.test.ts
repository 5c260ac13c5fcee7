/**
 * Two hub processes on one database with a cluster in their config file: the watchers run on exactly one (the lease
 * holder), and when it is killed (SIGKILL, no hand-over) the other takes them over once the lease expires, resumes
 * every watch from the stored checkpoint instead of listing again, and loses none of the changes made meanwhile.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpyglassClient } from '@spyglass/client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  scratchDatabase,
  startHubProcess,
  testDatabases,
  waitFor,
  type HubProcess,
  type ScratchDatabase,
} from '../kit/index.js';
import { FakeApiServer } from './apiserver.js';

const LEASE_TTL_MS = 3000;
const ADMIN = { email: 'admin@k8s-takeover.test', password: 'a password for the takeover test' };
const DEPLOYMENTS = '/apis/apps/v1/deployments';

const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-deploy-web' },
  spec: { replicas },
});

/** Whether a replica says it holds the watcher lease (`spyglass_scheduler_leader{job="k8s.watchers"}`). */
async function leadsWatchers(replica: HubProcess): Promise<boolean | null> {
  try {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    return /^spyglass_scheduler_leader\{job="k8s\.watchers"\} 1$/m.test(text);
  } catch {
    return null;
  }
}

const running: HubProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) r.kill();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each(testDatabases())('Kubernetes watchers across two hub replicas on $dialect', (db) => {
  it(
    'run on the lease holder; the other resumes them from the checkpoint when it is killed',
    { timeout: 120_000 },
    async () => {
      const api = await FakeApiServer.start();
      cleanups.push(() => api.close());
      const dir = mkdtempSync(path.join(tmpdir(), 'spyglass-k8s-takeover-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const scratch: ScratchDatabase = await scratchDatabase(db, { shareable: true });
      cleanups.push(() => scratch.drop());
      const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
      const configFile = path.join(dir, 'spyglass.yaml');
      writeFileSync(
        configFile,
        `k8s:\n  clusters:\n    - name: dev\n      kubeconfig: ${kubeconfig}\n      events: false\n      resources: [deployments]\n`,
      );
      api.apply(DEPLOYMENTS, deployment(1));
      const env: Record<string, string> = {
        SPYGLASS_DATABASE_URL: scratch.url,
        SPYGLASS_CONFIG: configFile,
        SPYGLASS_ADMIN_EMAIL: ADMIN.email,
        SPYGLASS_ADMIN_PASSWORD: ADMIN.password,
        SPYGLASS_LEASE_TTL_MS: String(LEASE_TTL_MS),
        SPYGLASS_LOG_LEVEL: 'warn',
      };
      const dataDir = (name: string) => ({ SPYGLASS_DATA_DIR: mkdtempSync(path.join(dir, `replica-${name}-`)) });
      const a = await startHubProcess({ ...env, ...dataDir('a') }, { name: 'replica a' });
      running.push(a);
      const b = await startHubProcess({ ...env, ...dataDir('b') }, { name: 'replica b' });
      running.push(b);
      const client = new SpyglassClient({ baseUrl: b.url });
      await client.auth.login(ADMIN);
      client.setToken((await client.tokens.create({ name: 'k8s-takeover' })).token);
      const diffs = async (base: SpyglassClient) =>
        (
          await base.k8s
            .diff({ cluster: 'dev', resource: 'deployments', namespace: 'shop', name: 'web' })
            .catch(() => null)
        )?.items ?? [];

      // Exactly one replica leads the watchers, and only one watch is open on the API server.
      const [holder, survivor] = await waitFor(
        async () => {
          const [la, lb] = await Promise.all([leadsWatchers(a), leadsWatchers(b)]);
          if (la === null || lb === null || la === lb || api.openWatches(DEPLOYMENTS) !== 1) return null;
          return la ? [a, b] : [b, a];
        },
        { what: 'one replica to run the watchers', timeoutMs: 30_000 },
      );
      api.apply(DEPLOYMENTS, deployment(2));
      await waitFor(async () => ((await diffs(client)).length === 1 ? true : null), {
        what: 'the first change diffed',
        timeoutMs: 20_000,
      });
      // The checkpoint covers that change before the holder dies (it is stored every 2 s or 500 changes).
      await waitFor(
        async () => {
          const w = (await client.k8s.diagnostics()).clusters.find((c) => c.name === 'dev')?.watchers[0];
          if (w?.lastResourceVersion !== api.resourceVersion) throw new Error(JSON.stringify(w));
          return true;
        },
        { what: 'the checkpoint stored', timeoutMs: 20_000, detail: () => `API server at ${api.resourceVersion}` },
      );
      const lists = api.requests.filter((r) => !r.watch).length;

      holder.kill();
      await holder.exited;
      const killedAt = Date.now();
      // Changes while nobody watches.
      api.apply(DEPLOYMENTS, deployment(3));
      api.apply(DEPLOYMENTS, deployment(4));

      const survivorClient = new SpyglassClient({ baseUrl: survivor.url });
      await survivorClient.auth.login(ADMIN);
      survivorClient.setToken((await survivorClient.tokens.create({ name: 'k8s-takeover-2' })).token);
      await waitFor(async () => ((await leadsWatchers(survivor)) === true ? true : null), {
        what: 'the surviving replica to take the watchers over',
        timeoutMs: LEASE_TTL_MS + 20_000,
      });
      const takenMs = Date.now() - killedAt;
      const items = await waitFor(
        async () => {
          const d = await diffs(survivorClient);
          return d.length === 3 ? d : null;
        },
        { what: 'the changes made during the takeover diffed', timeoutMs: 20_000 },
      );
      expect(items.map((i) => i.lines.find((l) => l.path === 'spec.replicas'))).toEqual([
        { path: 'spec.replicas', old: '1', new: '2' },
        { path: 'spec.replicas', old: '2', new: '3' },
        { path: 'spec.replicas', old: '3', new: '4' },
      ]);
      // Resumed from the checkpoint: no second list.
      expect(api.requests.filter((r) => !r.watch)).toHaveLength(lists);
      expect(api.openWatches(DEPLOYMENTS)).toBe(1);
      const diag = await survivorClient.k8s.diagnostics();
      expect(diag.clusters.find((c) => c.name === 'dev')?.watcherReplica).toBe(diag.replicaId);
      expect(takenMs).toBeLessThan(LEASE_TTL_MS + 20_000);
    },
  );
});
