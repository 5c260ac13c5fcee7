import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Runtime, type Scenario } from '../support/run.js';

// The control plane (the hub's socket and the checks of its frames) in a thread of its own, and on the app's thread
// when no worker may start (docs/adr/0017).
const scenario = fileURLToPath(new URL('../pipe/scenario.mjs', import.meta.url));
const WORK = lineOf(scenario, 'work');
const track = endAfterEach();

async function connected(runtime: Runtime, args: string[] = []) {
  const hub = track(await TestHub.start());
  const app = track(
    runScenario(runtime, scenario, hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1' }), {
      args,
      scriptArgs: ['preload'],
    }),
  );
  await app.waitForOutput('started');
  await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  return { hub, app };
}

/** Log hits through the connection, from an action the hub set. */
async function logsFlow(hub: TestHub, app: Scenario): Promise<void> {
  const log = action({ kind: 'log', file: 'pipe/scenario.mjs', line: WORK, template: 'order {order.id}' });
  hub.setActions([log]);
  await hub.waitForStatus(log.id, (s) => s.state === 'active');
  app.child.stdin!.write('work 3\n');
  await hub.waitFor('three lines', () => hub.logsOf(log.id).length === 3);
  expect(hub.logsOf(log.id).map((l) => l.message)).toEqual(['order 0', 'order 1', 'order 2']);
  expect(hub.invalid).toEqual([]);
}

describe.each(RUNTIMES)('the control thread on $name', (runtime) => {
  it("connects from its own thread: the app's thread loads no schema library, and hits reach the hub", async () => {
    const { hub, app } = await connected(runtime);
    await logsFlow(hub, app);
    app.child.stdin!.write('schemas\n');
    await app.waitForOutput('schemas ');
    expect(app.stdout()).toContain('schemas absent');
    expect(app.stderr()).not.toContain("runs on the app's thread");
  });
});

const node24 = RUNTIMES.find((r) => r.name === 'node24')!;
describe('without worker threads (the permission model without --allow-worker)', () => {
  it("connects from the app's thread instead, says so in the debug log, and works as usual", async () => {
    const { hub, app } = await connected(node24, ['--permission', '--allow-fs-read=*', '--allow-inspector']);
    expect(app.stderr()).toMatch(/no worker thread could be started: the hub connection runs on the app's thread/);
    await logsFlow(hub, app);
    app.child.stdin!.write('schemas\n');
    await app.waitForOutput('schemas ');
    expect(app.stdout()).toContain('schemas here');
  });
});
