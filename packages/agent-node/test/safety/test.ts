import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAction } from '@spyglass/protocol';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as command, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');
const SNAP = lineOf(scenario, 'snap');

/**
 * One budget per process, so each throttle has one possible reason: with both in one process, a hit descheduled on a
 * busy machine could put the log action over the CPU budget before it reached the log rate.
 */
describe.each(RUNTIMES)('CPU budget on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  const a: Record<string, AgentAction> = {};

  beforeAll(async () => {
    hub = await TestHub.start();
    a.counter = action(
      { kind: 'metric', metric: 'counter', name: 'hot.calls', file: 'safety/scenario.mjs', line: HOT },
      { maxHits: 10_000_000 },
    );
    hub.setActions(Object.values(a));
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_ACTION_CPU_BUDGET_PCT: '0.05' }));
    await app.waitForOutput('started');
    await hub.waitForStatus(a.counter.id, (s) => s.state === 'active');
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('throttles an action over its CPU budget, then lifts it', async () => {
    await command(app, 'hot 300000');
    const cpu = await hub.waitForStatus(a.counter!.id, (s) => s.state === 'throttled');
    expect(cpu.reason).toMatch(/CPU budget/);
    // Far fewer hits than calls were recorded: the probe stopped working once over budget.
    const counted = await hub.waitFor('counter sample', () => {
      const samples = hub.metrics.filter((m) => m.actionId === a.counter!.id);
      return samples.length > 0 ? samples.reduce((n, m) => n + m.count, 0) : undefined;
    });
    expect(counted).toBeLessThan(300_000);
    // Idle again: the bucket drains and it comes back.
    await hub.waitForStatus(a.counter!.id, (s) => s.state === 'active', 15_000);
    expect(hub.invalid).toEqual([]);
  });
});

describe.each(RUNTIMES)('log rate on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  const a: Record<string, AgentAction> = {};

  beforeAll(async () => {
    hub = await TestHub.start();
    a.log = action({ kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'i={i}' }, { maxHits: 1_000_000 });
    hub.setActions(Object.values(a));
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, {
        SPYGLASS_ACTION_CPU_BUDGET_PCT: '100',
        SPYGLASS_CPU_BUDGET_PCT: '100',
        SPYGLASS_MAX_LOGS_PER_SECOND_PER_ACTION: '20',
      }),
    );
    await app.waitForOutput('started');
    await hub.waitForStatus(a.log.id, (s) => s.state === 'active');
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('throttles an action over the log rate, then lifts it', async () => {
    await command(app, 'hot 300000');
    const logs = await hub.waitForStatus(a.log!.id, (s) => s.state === 'throttled');
    expect(logs.reason).toMatch(/log rate/);
    expect(hub.logsOf(a.log!.id).length).toBeLessThanOrEqual(40);
    await hub.waitForStatus(a.log!.id, (s) => s.state === 'active', 15_000);
    expect(hub.invalid).toEqual([]);
  });
});

describe.each(RUNTIMES)('memory over a million hits on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  const a: Record<string, AgentAction> = {};

  beforeAll(async () => {
    hub = await TestHub.start();
    a.counter = action(
      { kind: 'metric', metric: 'counter', name: 'hot.calls', file: 'safety/scenario.mjs', line: HOT },
      { maxHits: 10_000_000 },
    );
    a.snap = action({ kind: 'snapshot', file: 'safety/scenario.mjs', line: SNAP }, { maxHits: 100_000 });
    hub.setActions(Object.values(a));
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_ACTION_CPU_BUDGET_PCT: '100', SPYGLASS_CPU_BUDGET_PCT: '100' }),
      { args: ['--expose-gc'] },
    );
    await app.waitForOutput('started');
    await hub.waitForStatus(a.counter.id, (s) => s.state === 'active');
    await hub.waitForStatus(a.snap.id, (s) => s.state === 'active');
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('keeps the heap flat while a million patched hits and hundreds of snapshots run', async () => {
    await command(app, 'hot 200000');
    await command(app, 'snap 100');
    const before = await command(app, 'hot 100');
    await command(app, 'hot 1000000');
    await command(app, 'snap 400');
    await new Promise((r) => setTimeout(r, 500));
    const after = await command(app, 'hot 100');
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
    const counted = await hub.waitFor('all counted', () => {
      const n = hub.metrics.filter((m) => m.actionId === a.counter!.id).reduce((x, m) => x + m.count, 0);
      return n >= 1_200_200 ? n : undefined;
    });
    expect(counted).toBe(1_200_200);
    await hub.waitFor(
      'snapshots',
      () => hub.snapshots.filter((s) => s.actionId === a.snap!.id).length + hub.dropped >= 500,
    );
    expect(hub.status(a.snap!.id)?.state).toBe('active');
    expect(hub.invalid).toEqual([]);
    app.finish();
    expect(await app.exited).toBe(0);
  }, 90_000);
});
