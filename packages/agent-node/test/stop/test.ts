import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const SLOW = lineOf(scenario, 'slow');

describe.each(RUNTIMES)('stop() while patched code is running on $name', (runtime) => {
  const track = endAfterEach();

  it("leaves the app's functions working when V8 cannot take a patch out yet, and a new agent starts clean", async () => {
    const hub = track(await TestHub.start());
    const log = action({ kind: 'log', file: 'stop/scenario.mjs', line: SLOW, template: 'slow {item.n}' });
    hub.setActions([log]);
    const app = track(
      runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), { preload: false }),
    );
    await app.waitForOutput('started');
    await hub.waitForStatus(log.id, (s) => s.state === 'active' && s.method === 'patch');
    app.child.stdin!.write('run\n');
    await app.waitForOutput('after stop:');
    // The removal was refused (the call was suspended at its await), and the patched code still ran without the agent.
    expect(app.stderr()).toMatch(/setScriptSource \S+: BlockedByActive/);
    expect(app.stdout()).toContain('after stop: 2 4');

    app.child.stdin!.write('start\n');
    await hub.waitFor('the new agent', () => hub.hellos.length === 2);
    const again = action({ kind: 'log', file: 'stop/scenario.mjs', line: SLOW, template: 'again {item.n}' });
    hub.setActions([again]);
    await hub.waitForStatus(again.id, (s) => s.state === 'active');
    app.child.stdin!.write('run\n');
    await hub.waitFor('the second run', () => app.stdout().split('after stop:').length === 3);
    expect(app.stdout()).not.toContain('threw');
    expect(app.stdout().split('after stop: 2 4').length).toBe(3);
    expect(hub.invalid).toEqual([]);
  });
});
