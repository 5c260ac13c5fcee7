import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('../safety/scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');
const MB = 1024 * 1024;

describe.each(RUNTIMES)('a breakpoint condition in a tight loop on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  beforeAll(async () => {
    hub = await TestHub.start();
    // No --expose-gc: the heap and RSS are what the process really holds, garbage included.
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_PROBE_METHOD: 'breakpoint', SPYGLASS_AGENT_DEBUG: '1' }),
    );
    await app.waitForOutput('started');
    // Connected before anything is measured: the control thread's start is the agent's fixed cost, not this one.
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  const rss = (): number => Number(/rss=(\d+)\n$/.exec(app.stdout())![1]);

  it('is charged what V8 spends on it: throttled, taken out of V8, and back once the budget allows', async () => {
    await run(app, 'hot 1000');
    const before = rss();
    // True once per burst: V8 compiles the condition at each of the 20,000 calls of every burst.
    const log = action(
      { kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'one {i}', condition: 'i === 1' },
      { maxHits: 1e6 },
    );
    hub.setActions([log]);
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    for (let k = 0; k < 6; k++) await run(app, 'hot 20000');
    // 120,000 evaluations at 50–250 µs each would take seconds of CPU: the 2 % action budget stops them early.
    expect(hub.status(log.id)).toMatchObject({ state: 'throttled', reason: expect.stringMatching(/^CPU budget/) });
    await hub.waitFor('the breakpoint out of V8', () => /every action of it is throttled/.test(app.stderr()));
    // Each evaluation leaves a compiled script until a GC: 120,000 of them held tens of MB more.
    console.info(
      `[breakpoint-cost] RSS ${(before / MB).toFixed(1)} MB before the bursts, ${(rss() / MB).toFixed(1)} after`,
    );
    expect(rss() - before).toBeLessThan(40 * MB);
    expect(hub.logsOf(log.id).length).toBeGreaterThanOrEqual(1);

    // The budget drains (2 % of a CPU per second): the action comes back, its breakpoint with it.
    await hub.waitForStatus(log.id, (s) => s.state === 'active', 30_000);
    const logged = hub.logsOf(log.id).length;
    await run(app, 'hot 2');
    await hub.waitFor('a line after the throttle', () => hub.logsOf(log.id).length === logged + 1);
    expect(hub.logsOf(log.id).at(-1)?.message).toBe('one 1');
    expect(hub.invalid).toEqual([]);
  }, 90_000);
});

describe.each(RUNTIMES)('a snapshot waiting on a hot line on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  beforeAll(async () => {
    hub = await TestHub.start();
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key));
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('is a patch: its false condition costs the budget nothing, and it captures the pass it waits for', async () => {
    // A condition true only after the bursts: every pass over the line before it tests the condition and moves on.
    const wait = action(
      { kind: 'snapshot', file: 'safety/scenario.mjs', line: HOT, condition: 'i === 123456' },
      { maxHits: 1 },
    );
    hub.setActions([wait]);
    expect((await hub.waitForStatus(wait.id, (s) => s.state === 'active')).method).toBe('patch');
    // 120,000 passes: on a breakpoint, V8 would evaluate the condition at each (the test above: throttled in a burst).
    for (let k = 0; k < 6; k++) await run(app, 'hot 20000');
    expect(hub.status(wait.id)).toMatchObject({ state: 'active', method: 'patch' });
    expect(hub.snapshots.filter((s) => s.actionId === wait.id)).toEqual([]);
    await run(app, 'hot 123457');
    const shot = await hub.waitFor('the snapshot', () => hub.snapshots.find((s) => s.actionId === wait.id));
    expect(shot.frames[0]).toMatchObject({ functionName: 'hot', line: HOT });
    expect(shot.frames[0]!.locals?.find((v) => v.name === 'i')).toMatchObject({ value: '123456' });
    await hub.waitForStatus(wait.id, (s) => s.state === 'completed');
    expect(hub.invalid).toEqual([]);
  }, 90_000);
});
