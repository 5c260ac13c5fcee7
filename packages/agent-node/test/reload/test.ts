import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.cjs', import.meta.url));
const HOT = lineOf(fileURLToPath(new URL('./counter.cjs', import.meta.url)), 'hot');
const file = 'reload/counter.cjs';

describe.each(RUNTIMES)('a module loaded again on $name', (runtime) => {
  let hub: TestHub | undefined;
  let app: Scenario | undefined;
  afterEach(async () => {
    app?.kill();
    await hub?.stop();
  });

  it.each(['breakpoint', 'patch'])(
    'keeps %s-mode actions on one line apart from those placed before it was loaded again',
    async (method) => {
      hub = await TestHub.start();
      app = runScenario(
        runtime,
        scenario,
        hubEnv(hub.url, hub.key, { SPYGLASS_PROBE_METHOD: method, SPYGLASS_AGENT_DEBUG: '1' }),
        { cjs: true },
      );
      await app.waitForOutput('started');
      const before = action({ kind: 'log', file, line: HOT, template: 'before {i}' });
      hub.setActions([before]);
      await hub.waitForStatus(before.id, (s) => s.state === 'active');
      await run(app, 'hot 2');
      await hub.waitFor('the first lines', () => hub!.logsOf(before.id).length === 2);

      await run(app, 'reload');
      const after = action({ kind: 'log', file, line: HOT, template: 'after {i}' });
      const snap = action({ kind: 'snapshot', file, line: HOT, expressions: ['v'] });
      hub.setActions([before, after, snap]);
      for (const a of [after, snap]) await hub.waitForStatus(a.id, (s) => s.state !== 'pending');
      expect(hub.status(after.id)).toMatchObject({ state: 'active' });
      expect(hub.status(snap.id)).toMatchObject({ state: 'active' });
      expect(hub.status(before.id)).toMatchObject({ state: 'active' });
      await run(app, 'hot 3');
      await hub.waitFor('the later lines', () => hub!.logsOf(after.id).length === 3);
      expect(hub.logsOf(after.id).map((l) => l.message)).toEqual(['after 0', 'after 1', 'after 2']);
      // A breakpoint is set by URL, so the earlier action runs in the new copy too; a patch stays in the copy it
      // edited.
      if (method === 'breakpoint') await hub.waitFor('the earlier action', () => hub!.logsOf(before.id).length === 5);
      else expect(hub.logsOf(before.id)).toHaveLength(2);
      await hub.waitFor('snapshots', () => hub!.snapshots.filter((s) => s.actionId === snap.id).length === 3);
      expect(hub.invalid).toEqual([]);
    },
    60_000,
  );
});
