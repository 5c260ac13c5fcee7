import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-edit-cost-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The milliseconds of every `setScriptSource …: Ok (N ms)` line of the debug log. */
const editMs = (stderr: string): number[] =>
  [...stderr.matchAll(/setScriptSource \S+: \w+ \((\d+(?:\.\d+)?) ms\)/g)].map((m) => Number(m[1]));

describe.each(RUNTIMES)('the time of a LiveEdit on $name', (runtime) => {
  it("is counted in the agent's CPU time, though no hook ran", async () => {
    const hub = await TestHub.start();
    const app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), {
      scriptArgs: [dir],
    });
    try {
      await app.waitForOutput('started');
      const a = action({ kind: 'log', file: 'big.mjs', line: 1003, template: 'b {b}' });
      hub.setActions([a]);
      await hub.waitForStatus(a.id, (s) => s.state === 'active' && s.method === 'patch');
      hub.setActions([]);
      await hub.waitFor('the patch taken out', () => editMs(app.stderr()).length === 2);
      const spent = editMs(app.stderr()).reduce((x, y) => x + y, 0);
      expect(spent).toBeGreaterThan(0);
      // Heartbeats come every second; the next one carries both edits.
      const seen = hub.heartbeats;
      await hub.waitFor('a later heartbeat', () => hub.heartbeats > seen + 1);
      expect(hub.lastStats?.hits).toBe(0);
      // Rounded to the µs in the heartbeat, to a tenth of a ms in the log.
      expect(hub.lastStats!.cpuMs).toBeGreaterThanOrEqual(spent - 0.1);
      expect(hub.invalid).toEqual([]);
    } finally {
      app.kill();
      await hub.stop();
    }
  });
});
