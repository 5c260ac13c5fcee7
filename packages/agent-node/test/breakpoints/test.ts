import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAction } from '@spyglass/protocol';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('../safety/scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');

describe.each(RUNTIMES)('several breakpoint-mode actions on one line on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  const a: Record<string, AgentAction> = {};
  const file = 'safety/scenario.mjs';

  beforeAll(async () => {
    hub = await TestHub.start();
    a.log = action({ kind: 'log', file, line: HOT, template: 'all {i}' });
    a.evenLog = action({ kind: 'log', file, line: HOT, template: 'even {i}', condition: 'i % 2 === 0' });
    a.counter = action({ kind: 'metric', metric: 'counter', name: 'hot.calls', file, line: HOT });
    a.snap = action({ kind: 'snapshot', file, line: HOT, expressions: ['i'] });
    a.oneSnap = action({ kind: 'snapshot', file, line: HOT, expressions: ['i * 10'], condition: 'i === 1' });
    hub.setActions(Object.values(a));
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_PROBE_METHOD: 'breakpoint', SPYGLASS_AGENT_DEBUG: '1' }),
    );
    await app.waitForOutput('started');
    for (const x of Object.values(a)) await hub.waitForStatus(x.id, (s) => s.state === 'active');
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  const watchesOf = (id: string, index = 0): (string | undefined)[] =>
    hub.snapshots.filter((s) => s.actionId === id).map((s) => s.watches[index]?.value?.value);

  it('runs every action of the line at each hit, and keeps the others when some go', async () => {
    for (const x of Object.values(a)) expect(hub.status(x.id)).toMatchObject({ state: 'active', method: 'breakpoint' });
    await run(app, 'hot 4');
    await hub.waitFor('all lines', () => hub.logsOf(a.log!.id).length === 4 && hub.logsOf(a.evenLog!.id).length === 2);
    expect(hub.logsOf(a.log!.id).map((l) => l.message)).toEqual(['all 0', 'all 1', 'all 2', 'all 3']);
    expect(hub.logsOf(a.evenLog!.id).map((l) => l.message)).toEqual(['even 0', 'even 2']);
    await hub.waitFor('snapshots', () => watchesOf(a.snap!.id).length === 4 && watchesOf(a.oneSnap!.id).length === 1);
    expect(watchesOf(a.snap!.id)).toEqual(['0', '1', '2', '3']);
    expect(watchesOf(a.oneSnap!.id)).toEqual(['10']);
    const counted = (): number =>
      hub.metrics.filter((m) => m.actionId === a.counter!.id).reduce((n, m) => n + m.count, 0);
    await hub.waitFor('4 counted', () => counted() === 4);

    // Two leave the line; the breakpoint stays for the other three.
    hub.setActions([a.evenLog!, a.counter!, a.oneSnap!]);
    await hub.waitFor('the new set', () => /applied: 3 actions, 2 removed, 0 added/.test(app.stderr()));
    await run(app, 'hot 3');
    await hub.waitFor('later lines', () => hub.logsOf(a.evenLog!.id).length === 4);
    await hub.waitFor('later snapshot', () => watchesOf(a.oneSnap!.id).length === 2);
    await hub.waitFor('7 counted', () => counted() === 7);
    expect(hub.logsOf(a.log!.id)).toHaveLength(4);
    expect(watchesOf(a.snap!.id)).toHaveLength(4);
    for (const x of [a.evenLog!, a.counter!, a.oneSnap!]) expect(hub.status(x.id)?.state).toBe('active');
    expect(hub.invalid).toEqual([]);
    app.finish();
    expect(await app.exited).toBe(0);
  }, 60_000);
});
