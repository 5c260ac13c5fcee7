import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAction } from '@spyglass/protocol';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';
import { compile } from '../support/typescript.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const scenario = here('./scenario.cjs');
const pricingTs = here('./src/pricing.ts');
const taxTs = here('./src/tax.ts');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(() => {
  compile([pricingTs], here('./build'), here('./src'), 'file');
  compile([taxTs], here('./build'), here('./src'), 'inline', 'webpack://scenario/./src/');
  // The workspace is "type": "module"; the compiled output is CommonJS.
  mkdirSync(here('./build'), { recursive: true });
  writeFileSync(here('./build/package.json'), '{ "type": "commonjs" }\n');
});

describe.each(RUNTIMES)('CommonJS + TypeScript app on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  let port: number;
  const a: Record<string, AgentAction> = {};

  beforeAll(async () => {
    port = await freePort();
    a.ts = action({
      kind: 'log',
      file: 'src/pricing.ts',
      line: lineOf(pricingTs, 'ts-sum'),
      template: '{line.sku} x{line.qty} sum={sum}',
    });
    a.inline = action({
      kind: 'log',
      file: 'src/tax.ts',
      line: lineOf(taxTs, 'tax-due'),
      template: '{region} rate {rate}',
    });
    a.snap = action({ kind: 'snapshot', file: 'src/tax.ts', line: lineOf(taxTs, 'tax-due') }, { maxHits: 1 });
    a.async = action({
      kind: 'log',
      file: 'scenario.cjs',
      line: lineOf(scenario, 'job'),
      template: 'job {n} waited {waitMs}',
    });
    // The hub is not there when the app starts.
    app = runScenario(runtime, scenario, hubEnv(`http://127.0.0.1:${port}`, 'test-pool-key', { LONG_JOB_MS: '2500' }), {
      cjs: true,
    });
    await app.waitForOutput('tick 10');
  });

  afterAll(async () => {
    app.kill();
    await hub?.stop();
  });

  it('runs normally while the hub is absent, then connects when it appears', async () => {
    await app.waitForOutput('tick 20');
    hub = await TestHub.start(port);
    hub.setActions(Object.values(a));
    await hub.waitFor('hello', () => hub.hellos.length > 0);
  });

  it('places a log in TypeScript through a map file and reports the .ts location', async () => {
    const st = await hub.waitForStatus(a.ts!.id, (s) => s.state === 'active');
    expect(st.method).toBe('patch');
    expect(st.location).toMatchObject({ line: lineOf(pricingTs, 'ts-sum') });
    expect(st.location?.file).toMatch(/cjs-typescript\/src\/pricing\.ts$/);
    const l = await hub.waitFor('ts log', () => hub.logsOf(a.ts!.id)[0]);
    expect(l.message).toMatch(/^a x\d+ sum=0$/);
  });

  it('places a log through an inline map with a webpack:// sourceRoot', async () => {
    const st = await hub.waitForStatus(a.inline!.id, (s) => s.state === 'active');
    expect(st.location).toMatchObject({ line: lineOf(taxTs, 'tax-due') });
    // The map's sources are `webpack://scenario/./src/…`: the location names the file as the map does.
    expect(st.location?.file).toBe('scenario/src/tax.ts');
    const l = await hub.waitFor('inline log', () => hub.logsOf(a.inline!.id)[0]);
    expect(l.message).toMatch(/^(eu rate 0\.2|us rate 0\.07)$/);
  });

  it('maps snapshot frames back to TypeScript', async () => {
    const snap = await hub.waitFor('snapshot', () => hub.snapshots.find((s) => s.actionId === a.snap!.id));
    expect(snap.frames[0]).toMatchObject({ functionName: 'tax', line: lineOf(taxTs, 'tax-due') });
    expect(snap.frames[0]!.file).toMatch(/src\/tax\.ts$/);
    expect(snap.frames[0]!.locals?.map((v) => v.name)).toEqual(expect.arrayContaining(['amount', 'region', 'rate']));
  });

  it('falls back to a breakpoint while an async function is suspended, then switches to patch', async () => {
    await hub.waitForStatus(a.async!.id, (s) => s.state === 'active');
    const first = hub.statusLog.find((s) => s.actionId === a.async!.id && s.state === 'active');
    expect(first?.method).toBe('breakpoint');
    const viaBreakpoint = await hub.waitFor('long job log', () =>
      hub.logsOf(a.async!.id).find((l) => l.message === 'job -1 waited 2500'),
    );
    expect(viaBreakpoint).toBeDefined();
    await hub.waitForStatus(a.async!.id, (s) => s.method === 'patch', 15_000);
    const n = hub.logsOf(a.async!.id).length;
    await hub.waitFor('logs after patch', () => hub.logsOf(a.async!.id).length > n + 2);
    expect(
      hub
        .logsOf(a.async!.id)
        .slice(n)
        .every((l) => /^job \d+ waited 2$/.test(l.message)),
    ).toBe(true);
  });

  it('lists and reads sources, originals included, with redaction', async () => {
    hub.requestSource('list-1', 'list');
    const list = await hub.waitFor('source list', () => hub.sourceResponses.find((r) => r.requestId === 'list-1'));
    const files = list.files ?? [];
    // Named relative to the app's root (packages/agent-node), as in statuses and snapshot frames.
    expect(files).toEqual(
      expect.arrayContaining([
        { path: 'test/cjs-typescript/src/pricing.ts', original: true },
        { path: 'test/cjs-typescript/scenario.cjs', original: false },
      ]),
    );
    expect(files.some((f) => f.path.includes('node_modules'))).toBe(false);
    hub.requestSource('read-1', 'read', 'test/cjs-typescript/src/pricing.ts');
    const read = await hub.waitFor('source text', () => hub.sourceResponses.find((r) => r.requestId === 'read-1'));
    expect(read.text).toContain('export class PriceList');
    expect(read.path).toBe('test/cjs-typescript/src/pricing.ts');
    // The absolute path still reads the file.
    hub.requestSource('read-abs', 'read', pricingTs);
    const abs = await hub.waitFor('source text', () => hub.sourceResponses.find((r) => r.requestId === 'read-abs'));
    expect(abs.text).toContain('export class PriceList');
    hub.requestSource('read-2', 'read', '/etc/passwd');
    const refused = await hub.waitFor('refusal', () => hub.sourceResponses.find((r) => r.requestId === 'read-2'));
    expect(refused.error?.code).toBe('NOT_FOUND');
  });

  it('survives a hub restart: reconnects and the actions come back', async () => {
    const before = hub.logsOf(a.ts!.id).length;
    expect(before).toBeGreaterThan(0);
    const actions = Object.values(a);
    await hub.stop();
    await app.waitForOutput('long job done');
    const ticks = (app.stdout().match(/tick \d+/g) ?? []).length;
    await new Promise((r) => setTimeout(r, 600));
    expect((app.stdout().match(/tick \d+/g) ?? []).length).toBeGreaterThan(ticks);
    const invalid = hub.invalid;
    hub = await TestHub.start(port);
    hub.setActions(actions);
    await hub.waitFor('hello again', () => hub.hellos.length > 0);
    await hub.waitForStatus(a.ts!.id, (s) => s.state === 'active');
    await hub.waitFor('logs after restart', () => hub.logsOf(a.ts!.id).length > 0);
    expect(invalid).toEqual([]);
    expect(hub.invalid).toEqual([]);
    app.finish();
    expect(await app.exited).toBe(0);
  });
});
