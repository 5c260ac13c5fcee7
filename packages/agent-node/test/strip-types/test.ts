import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.ts', import.meta.url));
/** How the agent names the file: relative to the app's root (packages/agent-node). */
const NAME = 'test/strip-types/scenario.ts';
const PRICE = lineOf(scenario, 'price');

// Node 20 cannot run TypeScript files; Node 22 needs a flag, Node 24 strips types by default.
const runtimes = RUNTIMES.filter((r) => r.name !== 'node20').map((r) => ({
  ...r,
  flags: r.name === 'node22' ? ['--experimental-strip-types', '--no-warnings'] : [],
}));

describe.each(runtimes)('a .ts file run directly by $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  beforeAll(async () => {
    hub = await TestHub.start();
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key), { args: runtime.flags });
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  });

  afterAll(async () => {
    app?.kill();
    await hub?.stop();
  });

  it('places logs and snapshots by the .ts line, and shows the TypeScript source', async () => {
    const log = action({
      kind: 'log',
      file: 'strip-types/scenario.ts',
      line: PRICE,
      template: 'order {order.id}: {cents} cents at {this.rate}',
    });
    const snap = action({ kind: 'snapshot', file: 'strip-types/scenario.ts', line: PRICE }, { maxHits: 1 });
    hub.setActions([log, snap]);
    const status = await hub.waitForStatus(log.id, (s) => s.state === 'active');
    // Stripping keeps every line and column, so the probe lands where the .ts file says, by patch.
    expect(status).toMatchObject({ method: 'patch', location: { file: NAME, line: PRICE } });
    await run(app, 'price 2');
    const lines = await hub.waitFor('lines', () => {
      const l = hub.logsOf(log.id);
      return l.length === 2 ? l : undefined;
    });
    expect(lines.map((l) => l.message)).toEqual(['order 0: 120 cents at 1.2', 'order 1: 240 cents at 1.2']);
    const shot = await hub.waitFor('snapshot', () => hub.snapshots.find((s) => s.actionId === snap.id));
    expect(shot.frames[0]).toMatchObject({ functionName: 'price', file: NAME, line: PRICE });
    expect(shot.frames[0]!.locals.find((v) => v.name === 'cents')).toMatchObject({ type: 'number', value: '120' });

    hub.requestSource('read-ts', 'read', scenario);
    const source = await hub.waitFor('source', () => hub.sourceResponses.find((r) => r.requestId === 'read-ts'));
    expect(source.error).toBeUndefined();
    expect(source.text).toBe(readFileSync(scenario, 'utf8'));
    expect(hub.invalid).toEqual([]);
  });
});
