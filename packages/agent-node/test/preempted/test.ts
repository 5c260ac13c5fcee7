import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, scenarioAnswer, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
/** How long the test leaves the app stopped. */
const STOP_MS = 1500;

/** Whether the process is stopped (state `T` in /proc/<pid>/stat, after the parenthesised name). */
const stopped = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'T';
  } catch {
    return false;
  }
};

describe.each(RUNTIMES)('a snapshot whose pause the OS preempts, on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  let watcher: NodeJS.Timeout;
  let resume: NodeJS.Timeout | undefined;
  let stops = 0;

  beforeAll(async () => {
    hub = await TestHub.start();
    // The action's budget at 10 % (500 ms of burst): the snapshots' own CPU stays well within it on a loaded machine;
    // the stop's 1.5 s of wall time, charged as CPU, would not.
    app = runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_ACTION_CPU_BUDGET_PCT: '10' }));
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
    // The app stops itself; the test continues it STOP_MS later.
    let continuing = false;
    watcher = setInterval(() => {
      const pid = app.child.pid!;
      if (continuing || !stopped(pid)) return;
      continuing = true;
      stops++;
      resume = setTimeout(() => {
        continuing = false;
        if (app.child.exitCode === null && app.child.signalCode === null) process.kill(pid, 'SIGCONT');
      }, STOP_MS);
    }, 10);
  });

  afterAll(async () => {
    clearInterval(watcher);
    clearTimeout(resume);
    app.kill();
    await hub.stop();
  });

  /** Sends a command; resolves with how long the app's call took (its snapshot's pause in it). */
  const call = async (cmd: string): Promise<number> => Number(/took=([\d.]+)/.exec(await scenarioAnswer(app, cmd))![1]);

  it('is charged the CPU it used, not the wall time: the action is not throttled and snapshots go on', async () => {
    const snap = action(
      { kind: 'snapshot', file: 'preempted/scenario.mjs', line: lineOf(scenario, 'inspected') },
      { maxHits: 20 },
    );
    hub.setActions([snap]);
    expect((await hub.waitForStatus(snap.id, (s) => s.state === 'active')).method).toBe('patch');
    // Three calls, their snapshots' pauses the most of each: how long a pause lasts here and now.
    const plain: number[] = [];
    for (let k = 0; k < 3; k++) plain.push(await call('plain'));
    // The worker is woken just before the call and stops the process a third of a pause later, while the capture
    // runs (what the call does before the pause takes microseconds). Should it be late (the call over before the
    // stop), the call is made again.
    const delayUs = Math.round((Math.min(...plain) * 1000) / 3);
    const took: number[] = [];
    for (let k = 0; k < 10 && !(took.at(-1)! >= STOP_MS - 100); k++) {
      took.push(await call(`stopped ${delayUs}`));
      await hub.waitFor('the app continued', () => stops > k && !stopped(app.child.pid!));
    }
    console.info(
      `[preempted] ${runtime.name}: calls ${plain.join(', ')} ms; stopped ${delayUs} µs into the call: ${took.join(', ')} ms`,
    );
    expect(took.at(-1)).toBeGreaterThanOrEqual(STOP_MS - 100);
    await hub.waitFor(
      'the stopped call’s snapshot',
      () => hub.snapshots.filter((s) => s.actionId === snap.id).length >= took.length + 3,
    );
    // Charged its wall time, the stopped pause would have throttled the action (1.5 s against a 0.5 s burst).
    for (let k = 0; k < 2; k++) await call('plain');
    await hub.waitFor(
      'snapshots after the stop',
      () => hub.snapshots.filter((s) => s.actionId === snap.id).length >= took.length + 5,
    );
    expect(hub.statusLog.filter((s) => s.actionId === snap.id).map((s) => s.state)).not.toContain('throttled');
    expect(hub.status(snap.id)?.state).toBe('active');
    expect(hub.invalid).toEqual([]);
  });
});
