import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { K8sTrace } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type TestHub } from '../../server/test/kit/index.js';
import { eventList, rollout, RS_NAME } from '../../server/test/k8s/audit-rollout.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The shape of a trace that must not depend on how its entries arrived. */
const shape = (t: K8sTrace) =>
  t.spans.map((s) => ({
    name: s.name,
    parent: t.spans.find((p) => p.spanId === s.parentSpanId)?.name ?? null,
    events: s.events.map((e) => [e.name, e.timeUs, e.attributes['k8s.diff'] ?? null]),
  }));

/**
 * `spyglass k8s …` as a child process: an audit log file imported by the CLI gives the same trace as the same entries
 * posted to the webhook; trace, objects and doctor read it back.
 */
describe('spyglass k8s', () => {
  let viaWebhook: TestHub;
  let viaCli: TestHub;
  let env: Record<string, string>;
  let dir: string;
  const r = rollout(3, Date.now() - 10 * 60_000);

  const cli = (args: string[], token = viaCli.tokens.developer, url = viaCli.url): Promise<Result> =>
    new Promise((resolve) => {
      const e = { ...env, SPYGLASS_TOKEN: token, SPYGLASS_URL: url };
      execFile(process.execPath, [BIN, ...args], { env: e, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });

  beforeAll(async () => {
    viaWebhook = await createHub({ listen: true });
    viaCli = await createHub({ listen: true });
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-k8s-'));
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: dir, SPYGLASS_URL: viaCli.url };
    const pool = await viaWebhook.createPool();
    const res = await fetch(`${viaWebhook.url}/api/v1/k8s/audit/prod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(eventList(r.events)),
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await viaWebhook?.close();
    await viaCli?.close();
  });

  it('imports an audit log file (one event per line) with progress and a summary, giving the same trace as the webhook', async () => {
    const file = path.join(dir, 'audit.log');
    writeFileSync(file, `${r.events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const res = await cli(['k8s', 'import', '--cluster', 'prod', file]);
    expect(res.stderr).toMatch(/entries sent/);
    expect(res.stdout).toContain(
      `cluster prod: ${r.events.length - r.skipped} entries kept, ${r.skipped} skipped (1 read, 1 stage), 0 refused`,
    );
    expect(res.code).toBe(0);
    const q = `/api/v1/k8s/trace?cluster=prod&resource=deployments&namespace=shop&name=web&from=${r.startMs - 1000}&to=${r.endMs}`;
    const a = (await viaWebhook.api<K8sTrace>('GET', q)).body;
    const b = (await viaCli.api<K8sTrace>('GET', q)).body;
    expect(b.spans.length).toBe(5);
    expect(shape(b)).toEqual(shape(a));
  });

  it('splits a file larger than a request body into several requests', async () => {
    const big = rollout(100, Date.now() - 5 * 60_000);
    const filler = 'x'.repeat(8 * 1024);
    const file = path.join(dir, 'big.log');
    writeFileSync(
      file,
      `${big.events.map((e) => JSON.stringify({ ...e, annotations: { ...e.annotations, filler } })).join('\n')}\n`,
    );
    const res = await cli(['k8s', 'import', '--cluster', 'big', file]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`cluster big: ${big.events.length - big.skipped} entries kept`);
    expect(res.stderr.match(/entries sent/g)!.length).toBeGreaterThan(2);
  });

  it('prints the trace as a tree with entries and diffs; --json gives the API answer', async () => {
    const res = await cli(
      ['k8s', 'trace', 'deploy/web', '-n', 'shop', '--cluster', 'prod', '--since', '1h'],
      viaCli.tokens.viewer,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Deployment shop\/web in cluster prod {2}· {2}mode tracing/m);
    expect(res.stdout).toMatch(/^deployment shop\/web !$/m);
    expect(res.stdout).toMatch(/^ {2}replicaset shop\/web-7d9f8c6b5$/m);
    expect(res.stdout).toMatch(/^ {6}spec\.replicas 2 -> 3$/m);
    expect(res.stdout).toMatch(/audit: deployer update \(Conflict\)\n +Operation cannot be fulfilled/);
    const json = await cli(
      ['k8s', 'trace', `pod/${r.pods[1]}`, '-n', 'shop', '--cluster', 'prod', '--mode', 'tree', '--json'],
      viaCli.tokens.viewer,
    );
    expect(json.code).toBe(0);
    const t = JSON.parse(json.stdout) as K8sTrace;
    expect(t.mode).toBe('tree');
    expect(t.objects.map((o) => o.name)).toEqual([r.pods[1], RS_NAME, 'web']);
  });

  it('lists objects and reports diagnostics', async () => {
    const objects = await cli(['k8s', 'objects', '--cluster', 'prod', '--resource', 'pods'], viaCli.tokens.viewer);
    expect(objects.code).toBe(0);
    for (const p of r.pods) expect(objects.stdout).toContain(p);
    expect(objects.stdout).toContain(`replicaset/${RS_NAME}`);
    const doctor = await cli(['k8s', 'doctor'], viaWebhook.tokens.viewer, viaWebhook.url);
    expect(doctor.stdout).toMatch(/cluster prod \(webhook only\): 5 objects/);
    expect(doctor.stdout).toContain(
      `webhook: 1 requests, ${r.events.length} entries (${r.events.length - r.skipped} kept, ${r.skipped} skipped, 0 refused)`,
    );
    expect(doctor.stdout).toContain('ok: nothing looks wrong');
    expect(doctor.code).toBe(0);
  });

  it('says what is wrong with the command line and the file', async () => {
    const noCluster = await cli(['k8s', 'trace', 'deploy/web']);
    expect(noCluster.code).not.toBe(0);
    expect(noCluster.stderr).toMatch(/--cluster/);
    const badRef = await cli(['k8s', 'trace', 'web', '--cluster', 'prod']);
    expect(badRef.code).not.toBe(0);
    expect(badRef.stderr).toMatch(/kind\/name/);
    const badMode = await cli(['k8s', 'trace', 'deploy/web', '--cluster', 'prod', '--mode', 'jaeger']);
    expect(badMode.stderr).toMatch(/--mode must be tracing, tree, timeline/);
    const missing = await cli(['k8s', 'trace', 'deploy/nope', '-n', 'shop', '--cluster', 'prod']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nothing is recorded about deployments\.apps shop\/nope/);
    const file = path.join(dir, 'bad.log');
    writeFileSync(
      file,
      `${JSON.stringify(r.events[0])}\n{"kind":"Event",\n${JSON.stringify({ ...r.events[1], requestReceivedTimestamp: 'x' })}\n`,
    );
    const bad = await cli(['k8s', 'import', '--cluster', 'staging', file]);
    expect(bad.stdout).toContain('cluster staging: 1 entries kept, 0 skipped, 2 refused');
    expect(bad.stderr).toMatch(/line 2: not JSON/);
    expect(bad.stderr).toMatch(/line 3: requestReceivedTimestamp/);
    const viewer = await cli(['k8s', 'import', '--cluster', 'staging', file], viaCli.tokens.viewer);
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toMatch(/FORBIDDEN|developer/i);
  });
});
