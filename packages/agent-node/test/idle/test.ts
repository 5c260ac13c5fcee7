import { existsSync } from 'node:fs';
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
    // Nor the action engine: probes, snapshots and source maps are loaded with the first action (ADR 0018).
    expect(app.stderr()).not.toContain('action engine loaded');

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
    // Loaded once, synchronously (this Node can require ES modules), and kept.
    expect(count(app.stderr(), 'action engine loaded')).toBe(1);
    expect(app.stderr()).not.toContain('importing the action engine');

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

const wakesScenario = fileURLToPath(new URL('./wakes.mjs', import.meta.url));
const WAKES_HOT = lineOf(wakesScenario, 'hot');
// Linux counts the times a thread gave up the CPU to wait; elsewhere the test has nothing to read.
const threadStatus = existsSync('/proc/thread-self/status');

describe.each(RUNTIMES)('an agent at rest on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;

  /** How many times the app's thread woke while it waited `ms` with nothing of its own to do. */
  const wakesDuring = async (ms: number): Promise<number> => {
    const marker = `done sleep ${ms} wakes=`;
    const seen = app.stdout().split(marker).length - 1;
    app.child.stdin!.write(`sleep ${ms}\n`);
    await hub.waitFor('the sleep to end', () => app.stdout().split(marker).length - 1 > seen);
    return Number(/^(\d+)/.exec(app.stdout().split(marker).pop()!)![1]);
  };
  const restCount = (): number => count(app.stderr(), 'at rest: no timer but the heartbeat');

  beforeAll(async () => {
    hub = await TestHub.start();
    // The hub asks for a flush every 100 ms; the heartbeat is out of the way of the measured windows.
    hub.settings.heartbeatIntervalMs = 60_000;
    app = runScenario(
      runtime,
      wakesScenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1', SPYGLASS_DEBUGGER_LINGER_MS: '300' }),
      // V8's memory reducer collects in many small steps, each a wake, for a while after the app's last allocation.
      { args: ['--no-memory-reducer'] },
    );
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.connected > 0);
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it.skipIf(!threadStatus)(
    "does not wake the app's thread, runs its timers while it has work, and stops them once it has none",
    async () => {
      // The welcome gives it work for a moment (statuses, a flush); then it rests.
      await hub.waitFor('the agent at rest', () => restCount() >= 1);
      // The sleep's own timer is one wake (2–3 in all here); the heartbeat falls outside the window. Timers of 100 ms
      // would be 30.
      expect(await wakesDuring(3000)).toBeLessThanOrEqual(6);

      const a = action({ kind: 'log', file: 'idle/wakes.mjs', line: WAKES_HOT, template: 'hot {i}' });
      hub.setActions([a]);
      await hub.waitForStatus(a.id, (s) => s.state === 'active');
      // At work the flush runs every 100 ms, as the hub asked: the count above would have seen it.
      expect(await wakesDuring(1000)).toBeGreaterThanOrEqual(5);
      app.child.stdin!.write('hot 4\n');
      await hub.waitFor('the lines', () => hub.logsOf(a.id).length === 4);

      const rests = restCount();
      hub.setActions([]);
      await hub.waitFor('the agent at rest again', () => restCount() > rests, 10_000);
      expect(app.stderr()).toContain('debugger off');
      expect(await wakesDuring(3000)).toBeLessThanOrEqual(6);
      expect(hub.invalid).toEqual([]);
      app.finish();
      expect(await app.exited).toBe(0);
    },
    60_000,
  );
});
