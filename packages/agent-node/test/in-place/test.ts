import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.ts', import.meta.url));
/** How the agent names the file: relative to the app's root (packages/agent-node). */
const NAME = 'test/in-place/scenario.ts';
const loader = fileURLToPath(new URL('./register.mjs', import.meta.url));
const TOTAL = lineOf(scenario, 'total');

describe.each(RUNTIMES)('TypeScript compiled in place by a loader (tsx, ts-node) on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  beforeAll(async () => {
    hub = await TestHub.start();
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key), { args: ['--import', loader] });
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  });

  afterAll(async () => {
    app?.kill();
    await hub?.stop();
  });

  it('places actions by the lines of the .ts file, not of the code V8 runs under its URL', async () => {
    const log = action({
      kind: 'log',
      file: 'in-place/scenario.ts',
      line: TOTAL,
      template: 'basket {basket.id}: {sum}',
    });
    const snap = action({ kind: 'snapshot', file: 'in-place/scenario.ts', line: TOTAL }, { maxHits: 1 });
    hub.setActions([log, snap]);
    const status = await hub.waitForStatus(log.id, (s) => s.state === 'active');
    expect(status).toMatchObject({ method: 'patch', location: { file: NAME, line: TOTAL } });
    await run(app, 'total 2');
    const lines = await hub.waitFor('lines', () => {
      const l = hub.logsOf(log.id);
      return l.length === 2 ? l : undefined;
    });
    expect(lines.map((l) => l.message)).toEqual(['basket 0: 250', 'basket 1: 350']);
    // The snapshot's top frame is reported in the .ts file's terms too.
    const shot = await hub.waitFor('snapshot', () => hub.snapshots.find((s) => s.actionId === snap.id));
    expect(shot.frames[0]).toMatchObject({ functionName: 'total', file: NAME, line: TOTAL });
    expect(hub.invalid).toEqual([]);
  });

  it('refuses, with the reason, a log reading a const on its own declaration line; a line later it works', async () => {
    const early = action({ kind: 'log', file: 'in-place/scenario.ts', line: TOTAL, template: 'total {summary.total}' });
    const late = action({
      kind: 'log',
      file: 'in-place/scenario.ts',
      line: TOTAL + 1,
      template: 'total {summary.total}',
    });
    hub.setActions([early, late]);
    const refused = await hub.waitForStatus(early.id, (s) => s.state === 'error');
    expect(refused.reason).toMatch(/^"summary" has no value yet where this action runs/);
    await hub.waitForStatus(late.id, (s) => s.state === 'active');
    await run(app, 'total 1');
    await hub.waitFor('late line', () => hub.logsOf(late.id).length === 1);
    expect(hub.logsOf(late.id)[0]!.message).toBe('total 250');
    expect(hub.logsOf(early.id)).toEqual([]);
  });
});
