import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { DIST, RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Runtime } from '../support/run.js';

/**
 * An install that lost the action engine's file (a partial copy, a bundler that dropped a lazily loaded module): the
 * agent starts, connects and stays idle as usual; the first action finds the engine missing. Every action then says
 * why it cannot run, source requests are answered with the same reason, and the app runs on, whether the engine is
 * required (Node with require(esm)) or imported (`--no-experimental-require-module`). ADR 0018.
 */
const scenario = fileURLToPath(new URL('../safety/scenario.mjs', import.meta.url));
const HOT = lineOf(scenario, 'hot');
const ENGINE = 'engine.js';

const track = endAfterEach();

// A copy of the built agent without engine.js, inside the repository so that its packages resolve as the original's do
// (test-artifacts/ is ignored by git).
const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));
let partial: string;
beforeAll(() => {
  mkdirSync(ARTIFACTS, { recursive: true });
  partial = mkdtempSync(path.join(ARTIFACTS, 'agent-without-engine-'));
  for (const f of readdirSync(DIST))
    if (/\.c?js$/.test(f) && f !== ENGINE) copyFileSync(path.join(DIST, f), path.join(partial, f));
});
afterAll(() => rmSync(partial, { recursive: true, force: true }));

const MODES = [
  { name: 'required', args: [] as string[] },
  { name: 'imported', args: ['--no-experimental-require-module'] },
];

describe.each(RUNTIMES)('an agent whose action engine is missing, on $name', (runtime: Runtime) => {
  it.each(MODES)(
    '($name) reports why no action runs, answers source requests with it, and the app runs on',
    async (mode) => {
      const hub = track(await TestHub.start());
      const app = track(
        runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), {
          args: [...mode.args, '--import', path.join(partial, 'register.js')],
          preload: false,
        }),
      );
      await app.waitForOutput('started');
      await hub.waitFor('agent connected', () => hub.hellos.length === 1);
      // Idle, nothing has asked for the engine yet.
      await run(app, 'hot 3');
      expect(app.stderr()).not.toContain('did not load');
      expect(app.stderr()).not.toContain('importing the action engine');

      const log = action({ kind: 'log', file: 'safety/scenario.mjs', line: HOT, template: 'hot {i}' });
      hub.setActions([log]);
      const status = await hub.waitForStatus(log.id, (s) => s.state === 'error');
      // Where the engine was looked for and why it did not load, on one line.
      expect(status.reason).toMatch(/^the agent's action engine \(.+\) did not load: .*Cannot find module/);
      expect(status.reason!.startsWith(`the agent's action engine (${path.join(partial, ENGINE)}) `)).toBe(true);
      expect(status.reason).not.toContain('\n');

      hub.requestSource('list-1', 'list');
      const answer = await hub.waitFor('source answer', () =>
        hub.sourceResponses.find((r) => r.requestId === 'list-1'),
      );
      expect(answer.error).toEqual({ code: 'UNAVAILABLE', message: status.reason });

      // A later action set is refused with the same reason, without a second attempt to load.
      const snap = action({ kind: 'snapshot', file: 'safety/scenario.mjs', line: HOT, condition: 'i === 1' });
      hub.setActions([log, snap]);
      const second = await hub.waitForStatus(snap.id, (s) => s.state === 'error');
      expect(second.reason).toBe(status.reason);

      await run(app, 'hot 5');
      expect(hub.logsOf(log.id)).toEqual([]);
      expect(hub.snapshots).toEqual([]);
      const stderr = app.stderr();
      expect(stderr.split('did not load: ').length - 1).toBe(1);
      expect(stderr).not.toContain('action engine loaded');
      if (mode.args.length > 0) expect(stderr).toContain('importing the action engine');
      expect(hub.invalid).toEqual([]);
    },
    60_000,
  );
});
