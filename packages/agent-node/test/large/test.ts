import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestHub, action } from '../support/hub.js';
import { RUNTIMES, hubEnv, runScenario, scenarioCommand as run, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.cjs', import.meta.url));

/** A CommonJS module of `functions` small functions, then `target(n)` whose body starts at the returned line. */
function write(dir: string, name: string, functions: number): { file: string; line: number } {
  const lines: string[] = ["'use strict';"];
  for (let i = 0; i < functions; i++) {
    lines.push(`function f${i}(a) { const b = a * ${i}; return [a, b].map((x) => x + 1).length; }`);
  }
  lines.push('exports.target = function target(n) {');
  const line = lines.length + 1;
  lines.push('  const doubled = n * 2;', '  return doubled;', '};');
  const file = join(dir, `${name}.cjs`);
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, line };
}

describe.each(RUNTIMES)('scripts too large to patch on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  let dir: string;
  let big: { file: string; line: number };
  let dense: { file: string; line: number };
  let many: { file: string; line: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-large-'));
    // Over 512 KB: not even parsed by the agent. 120 functions (240 with the arrows): over the limit set below.
    big = write(dir, 'big', 7000);
    dense = write(dir, 'dense', 120);
    many = write(dir, 'many', 30);
    hub = await TestHub.start();
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_AGENT_DEBUG: '1', SPYGLASS_PATCH_MAX_FUNCTIONS: '200' }),
      { cjs: true, scriptArgs: [big.file, dense.file, many.file] },
    );
    await app.waitForOutput('started');
    await hub.waitFor('agent connected', () => hub.hellos.length === 1);
  });

  afterAll(async () => {
    app?.kill();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places logs as breakpoints instead of patches, says why, and refuses a duration with the reason', async () => {
    const bigLog = action({ kind: 'log', file: big.file, line: big.line + 1, template: 'big {doubled}' });
    const denseLog = action({ kind: 'log', file: dense.file, line: dense.line + 1, template: 'dense {doubled}' });
    const duration = action({
      kind: 'metric',
      metric: 'duration',
      name: 'big.target',
      file: big.file,
      line: big.line - 1,
    });
    hub.setActions([bigLog, denseLog, duration]);
    for (const a of [bigLog, denseLog]) {
      expect(await hub.waitForStatus(a.id, (s) => s.state === 'active')).toMatchObject({ method: 'breakpoint' });
    }
    const refused = await hub.waitForStatus(duration.id, (s) => s.state === 'error');
    expect(refused.reason).toMatch(
      /^duration needs a patch, but the script is too large to patch without stopping the app \(\d+ KB\)$/,
    );
    await hub.waitFor(
      'reasons in the debug log',
      () =>
        app.stderr().includes(`action ${bigLog.id}: breakpoint because the script is too large to patch`) &&
        new RegExp(
          `action ${denseLog.id}: breakpoint because the script has 2\\d\\d functions: a patch would stop the app`,
        ).test(app.stderr()),
    );

    await run(app, 'call big 2');
    await run(app, 'call dense 2');
    const lines = await hub.waitFor('lines', () => {
      const l = [...hub.logsOf(bigLog.id), ...hub.logsOf(denseLog.id)];
      return l.length === 4 ? l : undefined;
    });
    expect(lines.map((l) => l.message)).toEqual(['big 0', 'big 2', 'dense 0', 'dense 2']);
    expect(hub.invalid).toEqual([]);
  });

  it('places many actions in one script with one LiveEdit, and removes them with one', async () => {
    const edits = () => app.stderr().split(`setScriptSource ${pathToFileURL(many.file).href}: Ok`).length - 1;
    // Lines 2…31 hold f0…f29; the last log is in target().
    const logs = Array.from({ length: 30 }, (_, i) =>
      action({ kind: 'log', file: many.file, line: i + 2, template: `f${i} {a}` }),
    );
    logs.push(action({ kind: 'log', file: many.file, line: many.line + 1, template: 'target {doubled}' }));
    hub.setActions(logs);
    for (const l of logs)
      expect(await hub.waitForStatus(l.id, (s) => s.state === 'active')).toMatchObject({ method: 'patch' });
    expect(edits()).toBe(1);
    await run(app, 'call many 1');
    await hub.waitFor('target line', () => hub.logsOf(logs[30]!.id).length === 1);

    hub.setActions([]);
    await hub.waitFor('one edit to remove them all', () => edits() === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(edits()).toBe(2);
  });
});
