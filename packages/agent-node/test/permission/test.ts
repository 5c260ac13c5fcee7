import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Runtime, type Scenario } from '../support/run.js';

// Node's permission model denies node:inspector unless allowed (--allow-inspector exists from Node 24 on).
const scenario = fileURLToPath(new URL('../pipe/scenario.mjs', import.meta.url));
const WORK = lineOf(scenario, 'work');
const permissionFlags = (rt: Runtime): string[] => [
  rt.name === 'node20' ? '--experimental-permission' : '--permission',
  '--allow-fs-read=*',
];

const track = endAfterEach();

async function start(runtime: Runtime, extraArgs: string[] = []): Promise<{ hub: TestHub; app: Scenario }> {
  const h = track(await TestHub.start());
  const a = track(
    runScenario(runtime, scenario, hubEnv(h.url, h.key), {
      args: [...permissionFlags(runtime), ...extraArgs],
      scriptArgs: ['preload'],
    }),
  );
  await a.waitForOutput('started');
  await h.waitFor('agent connected', () => h.hellos.length === 1);
  return { hub: h, app: a };
}

describe.each(RUNTIMES)("under Node's permission model on $name", (runtime) => {
  it('reports why no action can be placed, answers source requests with the reason, and the app runs on', async () => {
    const { hub, app } = await start(runtime);
    const log = action({ kind: 'log', file: 'pipe/scenario.mjs', line: WORK, template: 'order {order.id}' });
    hub.setActions([log]);
    const status = await hub.waitForStatus(log.id, (s) => s.state === 'error');
    expect(status.reason).toMatch(
      /^Node's permission model blocks node:inspector, which the agent needs \(.+\); allow it with --allow-inspector/,
    );
    hub.requestSource('list-1', 'list');
    const answer = await hub.waitFor('source answer', () => hub.sourceResponses.find((r) => r.requestId === 'list-1'));
    expect(answer.error).toEqual({ code: 'UNAVAILABLE', message: status.reason });
    app.child.stdin!.write('work 3\n');
    await app.waitForOutput('worked 30');
    expect(hub.invalid).toEqual([]);
  });
});

const node24 = RUNTIMES.find((r) => r.name === 'node24')!;
describe("under Node's permission model on node24", () => {
  it('works as usual with --allow-inspector', async () => {
    const { hub, app } = await start(node24, ['--allow-inspector']);
    const log = action({ kind: 'log', file: 'pipe/scenario.mjs', line: WORK, template: 'order {order.id}' });
    hub.setActions([log]);
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    app.child.stdin!.write('work 2\n');
    await hub.waitFor('lines', () => hub.logsOf(log.id).length === 2);
  });
});
