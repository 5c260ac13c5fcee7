import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const WORK = lineOf(scenario, 'work');

describe.each(RUNTIMES)('a process that ends on its own on $name', (runtime) => {
  it.each([
    { how: 'when its event loop runs empty', command: 'go' },
    { how: 'when it calls process.exit()', command: 'exit' },
  ])('sends the hits it still holds before it exits $how', async ({ command }) => {
    const hub = await TestHub.start();
    try {
      const app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key));
      await app.waitForOutput('started');
      await hub.waitFor('agent connected', () => hub.hellos.length === 1);
      const log = action({ kind: 'log', file: 'exit/scenario.mjs', line: WORK, template: 'order {order.id}' });
      const counter = action({
        kind: 'metric',
        metric: 'counter',
        name: 'work.calls',
        file: 'exit/scenario.mjs',
        line: WORK,
      });
      const snap = action({ kind: 'snapshot', file: 'exit/scenario.mjs', line: WORK }, { maxHits: 1 });
      hub.setActions([log, counter, snap]);
      for (const a of [log, counter, snap]) await hub.waitForStatus(a.id, (s) => s.state === 'active');
      // The flush interval is 100 ms: without the drain (or, for process.exit(), the synchronous send in the 'exit'
      // event), everything hit just before the end would be lost.
      app.child.stdin!.write(`${command} 40\n`);
      expect(await app.exited).toBe(0);
      expect(app.stdout()).toContain('worked 7800');
      // Sent before the exit; read here once the test's own event loop has taken the socket's data.
      const lines = await hub.waitFor('lines', () =>
        hub.logsOf(log.id).length >= 40 ? hub.logsOf(log.id) : undefined,
      );
      expect(lines.map((l) => l.message)).toEqual(Array.from({ length: 40 }, (_, i) => `order ${i}`));
      const counted = () => hub.metrics.filter((m) => m.actionId === counter.id).reduce((n, m) => n + m.count, 0);
      await hub.waitFor('counter', () => counted() === 40);
      await hub.waitFor('snapshot', () => hub.snapshots.some((s) => s.actionId === snap.id));
      expect(hub.snapshots.filter((s) => s.actionId === snap.id)).toHaveLength(1);
      await hub.waitForStatus(snap.id, (s) => s.state === 'completed');
      expect(hub.invalid).toEqual([]);
      expect(app.stderr()).not.toMatch(/could not be sent/);
    } finally {
      await hub.stop();
    }
  });

  it('does not wait at exit when no hub is connected', async () => {
    const app = runScenario(runtime, scenario, hubEnv('http://127.0.0.1:9', 'no-key'));
    await app.waitForOutput('started');
    app.child.stdin!.write('go 5\n');
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toContain('worked 100');
  });
});
