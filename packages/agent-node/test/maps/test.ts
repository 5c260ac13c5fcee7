import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { writeMappedModule } from '../support/mapped.mjs';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.cjs', import.meta.url));
const MODULES = 300;
const TARGET = 250;

/** MODULES compiled-looking CommonJS files under dist/, each with a map to ../src/mN.ts (line N ↔ line N). */
function generate(): string {
  const root = mkdtempSync(join(tmpdir(), 'sg-maps-'));
  mkdirSync(join(root, 'dist'));
  for (let i = 0; i < MODULES; i++) {
    const js = ["'use strict';", 'exports.f = function f(n) {', `  const v = n + ${i};`, '  return v;', '};'];
    const ts = ['export {};', 'export function f(n: number): number {', `  const v = n + ${i};`, '  return v;', '}'];
    writeMappedModule(root, `m${i}`, js, ts.join('\n'));
  }
  return root;
}

describe.each(RUNTIMES)('source maps read in slices on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  let root: string;

  beforeAll(async () => {
    root = generate();
    hub = await TestHub.start();
    // One map per slice: the sliced path runs whatever the machine's speed.
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_MAP_SLICE_MS: '0', SPYGLASS_AGENT_DEBUG: '1' }),
      { cjs: true, scriptArgs: [join(root, 'dist'), String(TARGET)] },
    );
    await app.waitForOutput(`started ${MODULES}`);
    await hub.waitFor('agent connected', () => hub.connected > 0);
  });

  afterAll(async () => {
    app?.kill();
    await hub?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('an action on an original file waits while the maps are read a slice at a time, then lands and logs', async () => {
    const log = action({ kind: 'log', file: `src/m${TARGET}.ts`, line: 3, template: 'v of {n}' });
    hub.setActions([log]);
    const active = await hub.waitForStatus(log.id, (s) => s.state === 'active');
    expect(active.location).toMatchObject({ file: join(root, 'src', `m${TARGET}.ts`), line: 3 });
    // It was pending with progress first (one map per slice: they cannot all fit in the first). The agent's debug log
    // has every state it went through; the hub may only see the last one of a flush interval.
    const said = new RegExp(`action ${log.id}: pending: reading source maps \\((\\d+) of (\\d+)\\)`);
    const pending = await hub.waitFor('pending in the debug log', () => said.exec(app.stderr()) ?? undefined);
    expect(Number(pending[1])).toBeLessThan(Number(pending[2]));
    // (The total also counts other source-mapped scripts the process loaded: the agent's protocol package.)
    expect(Number(pending[2])).toBeGreaterThanOrEqual(MODULES);
    await run(app, 'call 3');
    const lines = await hub.waitFor('lines', () => {
      const l = hub.logsOf(log.id);
      return l.length === 3 ? l : undefined;
    });
    expect(lines.map((l) => l.message)).toEqual(['v of 0', 'v of 1', 'v of 2']);

    // A source listing also reads in slices and lists every original.
    hub.requestSource('list-1', 'list');
    const listing = await hub.waitFor('listing', () => hub.sourceResponses.find((r) => r.requestId === 'list-1'));
    const originals = (listing.files ?? []).filter((f) => f.original && f.path.startsWith(join(root, 'src')));
    expect(originals).toHaveLength(MODULES);
    expect(hub.invalid).toEqual([]);
    app.finish();
    expect(await app.exited).toBe(0);
  });
});
