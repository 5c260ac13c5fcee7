import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentAction } from '@spyglass/protocol';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const file = 'pipe/scenario.mjs';
const WORK = lineOf(scenario, 'work');
const LOGGER = lineOf(scenario, 'logger');

describe.each(RUNTIMES)('log piping on $name', (runtime) => {
  const track = endAfterEach();
  /** The hub of the running test (set by `startWith`). */
  let hub: TestHub;

  async function startWith(actions: AgentAction[], mode: string, env: Record<string, string> = {}): Promise<Scenario> {
    hub = track(await TestHub.start());
    hub.setActions(actions);
    const app = track(
      runScenario(runtime, scenario, hubEnv(hub.url, hub.key, env), {
        preload: mode === 'preload',
        scriptArgs: [mode],
      }),
    );
    await app.waitForOutput('started');
    for (const a of actions) await hub.waitForStatus(a.id, (s) => s.state === 'active');
    return app;
  }

  const work = async (s: Scenario, n: number, sum: number): Promise<void> => {
    s.child.stdin!.write(`work ${n}\n`);
    await s.waitForOutput(`worked ${sum}`);
  };

  it('writes piped lines to stdout as text, and only those of actions that ask for it', async () => {
    const piped = action({
      kind: 'log',
      file,
      line: WORK,
      template: 'order {order.id} total {order.total}',
      pipe: true,
    });
    const quiet = action({ kind: 'log', file, line: WORK, template: 'quiet {order.id}' });
    const s = await startWith([piped, quiet], 'preload');
    await work(s, 3, 30);
    await hub.waitFor('hub lines', () => hub.logsOf(piped.id).length === 3 && hub.logsOf(quiet.id).length === 3);
    const lines = s
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('[spyglass]'));
    expect(lines).toEqual([
      '[spyglass] INFO order 0 total 0',
      '[spyglass] INFO order 1 total 10',
      '[spyglass] INFO order 2 total 20',
    ]);
    expect(s.stdout()).not.toContain('quiet');
  });

  it('writes one JSON object a line with SPYGLASS_PIPE_FORMAT=json', async () => {
    const piped = action({ kind: 'log', file, line: WORK, template: 'order {order.id}', level: 'warn', pipe: true });
    const s = await startWith([piped], 'preload', { SPYGLASS_PIPE_FORMAT: 'json' });
    const before = Date.now();
    await work(s, 2, 10);
    const json = s
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toHaveLength(2);
    expect(json[1]).toEqual({
      time: expect.any(String),
      level: 'warn',
      msg: 'order 1',
      spyglass: { actionId: piped.id, file, line: WORK },
    });
    expect(Date.parse(json[1]!.time as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(s.stdout()).not.toContain('[spyglass]');
  });

  it("hands piped lines to the app's logger; a logger that throws or hits a probe itself harms nothing", async () => {
    const piped = action({ kind: 'log', file, line: WORK, template: 'order {order.id}', level: 'error', pipe: true });
    const boom = action({
      kind: 'log',
      file,
      line: WORK,
      template: 'boom {order.id}',
      pipe: true,
      condition: 'order.id === 1',
    });
    // A piped log inside the logger function: the hub gets it, the logger is not called again for it.
    const inside = action({ kind: 'log', file, line: LOGGER, template: 'logging {entry.message}', pipe: true });
    const s = await startWith([piped, boom, inside], 'logger', { SPYGLASS_AGENT_DEBUG: '1' });
    expect(s.stdout()).toContain('agent on');
    await work(s, 3, 30);
    const received = s
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('LOGGER '))
      .map((l) => JSON.parse(l.slice('LOGGER '.length)) as Record<string, unknown>);
    expect(received.map((e) => e.message)).toEqual(['order 0', 'order 1', 'order 2']);
    expect(received[0]).toEqual({
      at: expect.any(Number),
      level: 'error',
      message: 'order 0',
      actionId: piped.id,
      file,
      line: WORK,
    });
    expect(s.stdout()).not.toContain('[spyglass]');
    await hub.waitFor('boom at the hub', () => hub.logsOf(boom.id).length === 1);
    // The logger ran for 'order 0..2' and 'boom 1'; each run hit the probe inside it.
    await hub.waitFor('inside lines', () => hub.logsOf(inside.id).length === 4);
    expect(
      hub
        .logsOf(inside.id)
        .map((l) => l.message)
        .sort(),
    ).toEqual(['logging boom 1', 'logging order 0', 'logging order 1', 'logging order 2']);
    expect(s.stderr()).toMatch(/log pipe failed Error: the app logger failed/);
    for (const a of [piped, boom, inside]) expect(hub.status(a.id)?.state).toBe('active');
    await work(s, 1, 0);
    expect(hub.invalid).toEqual([]);
  });

  it('says on stderr why it did not start when start() gets invalid settings, and the app runs on', async () => {
    const app = track(runScenario(runtime, scenario, {}, { preload: false, scriptArgs: ['invalid'] }));
    await app.waitForOutput('started');
    expect(app.stdout()).toContain('agent off');
    expect(app.stderr()).toMatch(
      /^\[spyglass-agent\] not started: invalid agent settings: cpuBudgetPct: .*; logger: must be a function \(entry\) => void\n$/,
    );
    await work(app, 4, 60);
  });
});
