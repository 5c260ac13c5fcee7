import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const CONSUME = lineOf(scenario, 'consume');
const file = 'blocked/scenario.mjs';

describe.each(RUNTIMES)('a function that never stops running on $name', (runtime) => {
  const track = endAfterEach();

  it('keeps working while the refused patch is retried less and less often, one attempt per script', async () => {
    const hub = track(await TestHub.start());
    const log = action({ kind: 'log', file, line: CONSUME, template: 'item {item}' });
    const timed = action({ kind: 'metric', metric: 'duration', name: 'consume.time', file, line: CONSUME });
    hub.setActions([log, timed]);
    const app = track(
      runScenario(
        runtime,
        scenario,
        hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1', SPYGLASS_PATCH_RETRY_MS: '500' }),
      ),
    );
    await app.waitForOutput('started');
    // V8 refuses to patch it (Node 22's accepts the log's small edit, never the duration's wrap of the whole body).
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    const pending = await hub.waitForStatus(timed.id, (s) => s.state === 'pending');
    expect(pending.reason).toMatch(/the function is running \(BlockedByActiveGenerator\)/);
    const since = Date.now();
    app.child.stdin!.write('push 3\n');
    await app.waitForOutput('pushed');
    await hub.waitFor('lines by breakpoint', () => hub.logsOf(log.id).length === 3);
    expect(hub.logsOf(log.id).map((l) => l.message)).toEqual(['item 0', 'item 1', 'item 2']);

    // Every attempt is a LiveEdit that stops the app; one a second would be 6 or more by now.
    await new Promise((r) => setTimeout(r, 6000 - (Date.now() - since)));
    const attempts = app.stderr().split(': BlockedByActiveGenerator').length - 1;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(hub.status(log.id)?.state).toBe('active');
    // The hub hears the method the log really runs by (placed as a patch in the batch, then moved to a breakpoint
    // when V8 refused the edit).
    if (app.stderr().includes(`action ${log.id}: breakpoint because`))
      expect(hub.status(log.id)?.method).toBe('breakpoint');
    expect(hub.status(timed.id)?.state).toBe('pending');
    expect(hub.invalid).toEqual([]);
  }, 30_000);
});
