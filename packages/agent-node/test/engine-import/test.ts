import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Runtime } from '../support/run.js';

/**
 * Where Node cannot `require()` an ES module (releases before 20.19 and 22.12, or `--no-experimental-require-module`),
 * the agent imports its action engine when the first action or source request needs it, and what asked waits for the
 * import (ADR 0018). The flag makes every runtime here take that path.
 */
const scenario = fileURLToPath(new URL('../safety/scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');
const NO_REQUIRE_ESM = ['--no-experimental-require-module'];

const track = endAfterEach();

async function start(runtime: Runtime, hub: TestHub): Promise<ReturnType<typeof runScenario>> {
  const app = track(
    runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), { args: NO_REQUIRE_ESM }),
  );
  await app.waitForOutput('started');
  return app;
}

describe.each(RUNTIMES)('the action engine imported on first need on $name', (runtime) => {
  it('places the actions of the welcome once the import is done, and they run', async () => {
    const hub = track(await TestHub.start());
    const log = action({ kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'hot {i}' });
    const snap = action({ kind: 'snapshot', file: 'safety/scenario.mjs', line: HOT, condition: 'i === 2' });
    // The first frame the agent reads already holds them.
    hub.setActions([log, snap]);
    const app = await start(runtime, hub);
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    await hub.waitForStatus(snap.id, (s) => s.state === 'active');
    await run(app, 'hot 4');
    const lines = await hub.waitFor('lines', () => (hub.logsOf(log.id).length === 4 ? hub.logsOf(log.id) : undefined));
    expect(lines.map((l) => l.message)).toEqual(['hot 0', 'hot 1', 'hot 2', 'hot 3']);
    const shot = await hub.waitFor('snapshot', () => hub.snapshots.find((s) => s.actionId === snap.id));
    expect(shot.frames[0]!.locals?.find((v) => v.name === 'i')).toMatchObject({ value: '2' });
    const stderr = app.stderr();
    expect(stderr).toContain('importing the action engine');
    expect(stderr.split('action engine loaded').length - 1).toBe(1);
    expect(hub.invalid).toEqual([]);
  }, 60_000);

  it('answers a source request that comes first once the import is done', async () => {
    const hub = track(await TestHub.start());
    const app = await start(runtime, hub);
    await hub.waitFor('agent connected', () => hub.connected > 0);
    expect(app.stderr()).not.toContain('importing the action engine');
    hub.requestSource('list-1', 'list');
    const list = await hub.waitFor('source list', () => hub.sourceResponses.find((r) => r.requestId === 'list-1'));
    expect(list.error).toBeUndefined();
    expect(list.files).toEqual(expect.arrayContaining([{ path: 'test/safety/scenario.mjs', original: false }]));
    expect(app.stderr()).toContain('importing the action engine');
    // The app ran on meanwhile.
    await run(app, 'hot 10');
  }, 60_000);
});
