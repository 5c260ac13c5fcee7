import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const MODULES = 20;
/** Line 3 of every module: `return b * m` in its first function. */
const LINE = 3;
/** Placing and removing twenty patches in large scripts takes seconds on a busy machine: waits are generous. */
const WAIT_MS = 60_000;

// Twenty modules of about 46 KB each (a few hundred small functions).
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-memory-'));
  for (let m = 0; m < MODULES; m++) {
    let text = '';
    for (let f = 0; f < 400; f++) text += `export function f${f}(a) {\n  const b = a + ${f};\n  return b * ${m};\n}\n`;
    writeFileSync(join(dir, `mod${String(m).padStart(2, '0')}.mjs`), text);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(RUNTIMES)('memory once actions are gone on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  afterAll(async () => {
    app?.kill();
    await hub?.stop();
  });

  const heap = async (): Promise<number> => {
    const seen = app.stdout().split('heap ').length;
    app.child.stdin!.write('heap\n');
    await hub.waitFor('heap', () => app.stdout().split('heap ').length > seen, WAIT_MS);
    return Number(/heap (\d+)\n$/.exec(app.stdout())![1]);
  };

  it(
    'keeps no copy of a script or its syntax tree after its last action is removed',
    async () => {
      hub = await TestHub.start();
      app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), {
        args: ['--expose-gc'],
        scriptArgs: [dir],
      });
      await app.waitForOutput('started', WAIT_MS);
      await hub.waitFor('agent connected', () => hub.hellos.length === 1, WAIT_MS);
      const before = await heap();
      const actions = Array.from({ length: MODULES }, (_, m) =>
        action({ kind: 'log', file: `mod${String(m).padStart(2, '0')}.mjs`, line: LINE, template: 'b {b}' }),
      );
      hub.setActions(actions);
      for (const a of actions) await hub.waitForStatus(a.id, (s) => s.state === 'active', WAIT_MS);
      const held = await heap();
      hub.setActions([]);
      await hub.waitFor('removed', () => app.stderr().includes(`0 actions, ${MODULES} removed`), WAIT_MS);
      const after = await heap();
      // While the actions are placed the agent keeps each script's text and syntax tree (tens of MB here).
      expect(held - before).toBeGreaterThan(20 * 1024 * 1024);
      expect(after - before).toBeLessThan(8 * 1024 * 1024);
    },
    4 * WAIT_MS,
  );
});
