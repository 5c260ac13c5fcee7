import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const worker = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const TALLY = lineOf(scenario, 'tally');
const PRICE = lineOf(worker, 'price');

describe.each(RUNTIMES)('worker threads on $name', (runtime) => {
  let hub: TestHub | undefined;
  let app: Scenario | undefined;

  afterEach(async () => {
    app?.kill();
    await hub?.stop();
  });

  it('starts no agent in a worker thread by default (the preload is inherited), and the worker runs as usual', async () => {
    hub = await TestHub.start();
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }));
    await app.waitForOutput('started');
    await hub.waitFor('main agent', () => hub!.hellos.length === 1);
    await run(app, 'work 100');
    expect(app.stderr()).toMatch(/worker thread \d+: not started \(SPYGLASS_WORKER_THREADS is off\)/);
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.hellos).toHaveLength(1);
    expect(hub.hellos[0]!.threadId).toBeUndefined();
    app.finish();
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toContain('worker exited 0');
  });

  it('with SPYGLASS_WORKER_THREADS, one agent per thread: each instruments the code its thread runs', async () => {
    hub = await TestHub.start();
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_WORKER_THREADS: 'true' }));
    await app.waitForOutput('started');
    await hub.waitFor('two agents', () => hub!.hellos.length === 2);
    const [main, inWorker] = [...hub.hellos].sort((a, b) => (a.threadId ?? 0) - (b.threadId ?? 0));
    expect(main!.threadId).toBeUndefined();
    expect(inWorker!.threadId).toBeGreaterThan(0);
    expect(inWorker!.pid).toBe(main!.pid);
    expect(inWorker!.instanceId).not.toBe(main!.instanceId);

    const priceLog = action({ kind: 'log', file: 'workers/worker.mjs', line: PRICE, template: 'price of {i}' });
    const tallyLog = action({ kind: 'log', file: 'workers/scenario.mjs', line: TALLY, template: 'tally of {n}' });
    hub.setActions([priceLog, tallyLog]);
    const state = (who: string, id: string) => hub!.statusFrom(who, id)?.state;
    await hub.waitFor(
      'statuses',
      () => state(inWorker!.instanceId, priceLog.id) === 'active' && state(main!.instanceId, tallyLog.id) === 'active',
    );
    // Each file is loaded in one thread only: the other agent waits for it.
    await hub.waitFor(
      'pending elsewhere',
      () =>
        state(main!.instanceId, priceLog.id) === 'pending' && state(inWorker!.instanceId, tallyLog.id) === 'pending',
    );
    expect(hub.statusFrom(inWorker!.instanceId, priceLog.id)!.method).toBe('patch');

    await run(app, 'work 3');
    await run(app, 'main 2');
    const prices = await hub.waitFor('price lines', () => {
      const l = hub!.logsOf(priceLog.id);
      return l.length === 3 ? l : undefined;
    });
    expect(prices.map((l) => l.message)).toEqual(['price of 0', 'price of 1', 'price of 2']);
    const tallies = await hub.waitFor('tally lines', () => {
      const l = hub!.logsOf(tallyLog.id);
      return l.length === 2 ? l : undefined;
    });
    expect(tallies.map((l) => l.message)).toEqual(['tally of 0', 'tally of 1']);
    expect(hub.invalid).toEqual([]);

    // A worker that finishes its work ends: its agent holds nothing open, and its connection goes with it.
    app.finish();
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toContain('worker exited 0');
  });
});
