import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('../safety/scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');

const count = (text: string, needle: string): number => text.split(needle).length - 1;
const LINGER_MS = 1500;

describe.each(RUNTIMES)('an idle agent on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  beforeAll(async () => {
    hub = await TestHub.start();
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1', SPYGLASS_DEBUGGER_LINGER_MS: String(LINGER_MS) }),
    );
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.connected > 0);
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('opens no inspector session until an action arrives, closes it a while after the last goes, and finds code again', async () => {
    await run(app, 'hot 1000');
    expect(app.stderr()).toContain('idle: no inspector session');
    expect(app.stderr()).not.toContain('debugger on');

    const first = action({ kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'first {i}' });
    hub.setActions([first]);
    await hub.waitForStatus(first.id, (s) => s.state === 'active');
    await run(app, 'hot 5');
    await hub.waitFor('first lines', () => hub.logsOf(first.id).length === 5);

    // The debugger lingers after the last action goes (turning it on again costs a replay of every script).
    const removedAt = Date.now();
    hub.setActions([]);
    await new Promise((r) => setTimeout(r, LINGER_MS / 3));
    expect(app.stderr()).not.toContain('debugger off');
    await hub.waitFor('debugger off', () => app.stderr().includes('debugger off'));
    expect(Date.now() - removedAt).toBeGreaterThanOrEqual(LINGER_MS);
    // The probe is gone with the session: calls leave no lines.
    await run(app, 'hot 50');
    await new Promise((r) => setTimeout(r, 1500));
    expect(hub.logsOf(first.id)).toHaveLength(5);

    // A new session replays the scripts V8 still has, including the versions the patches replaced (same URL, new
    // ids): the probe must land in the live one.
    const second = action({ kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'second {i}' });
    hub.setActions([second]);
    await hub.waitForStatus(second.id, (s) => s.state === 'active');
    await run(app, 'hot 3');
    const lines = await hub.waitFor('second lines', () => {
      const l = hub.logsOf(second.id);
      return l.length === 3 ? l : undefined;
    });
    expect(lines.map((l) => l.message)).toEqual(['second 0', 'second 1', 'second 2']);
    expect(count(app.stderr(), 'debugger on')).toBe(2);

    // An action that cannot be placed holds nothing in V8: it does not keep the debugger on.
    const broken = action({ kind: 'log', file: 'safety/scenario.mjs', line: 99_999, template: 'never' });
    hub.setActions([broken]);
    await hub.waitForStatus(broken.id, (s) => s.state === 'error');
    await hub.waitFor('debugger off again', () => count(app.stderr(), 'debugger off') === 2);
    expect(hub.invalid).toEqual([]);
    app.finish();
    expect(await app.exited).toBe(0);
  }, 60_000);
});
