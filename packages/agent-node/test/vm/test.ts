import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const LINE = lineOf(fileURLToPath(new URL('./sandboxed.js', import.meta.url)), 'middleware');

describe.each(RUNTIMES)('code in a vm context of its own on $name', (runtime) => {
  const track = endAfterEach();

  it('is refused with the reason, and its calls never meet the agent', async () => {
    const hub = track(await TestHub.start());
    const log = action({ kind: 'log', file: 'vm/sandboxed.js', line: LINE, template: 'path {path}' });
    const counter = action({
      kind: 'metric',
      metric: 'counter',
      name: 'mw.calls',
      file: 'vm/sandboxed.js',
      line: LINE,
    });
    hub.setActions([log, counter]);
    const app = track(runScenario(runtime, scenario, hubEnv(hub.url, hub.key)));
    await app.waitForOutput('started');
    for (const a of [log, counter]) {
      const s = await hub.waitForStatus(a.id, (x) => x.state === 'error');
      expect(s.reason).toMatch(/runs only in a vm context of its own .*cannot instrument/);
    }
    app.child.stdin!.write('call 3\n');
    await app.waitForOutput('called /P2');
    expect(app.stdout()).not.toContain('threw');
    expect(hub.invalid).toEqual([]);
  });
});
