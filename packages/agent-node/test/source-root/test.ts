import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, waitFor, type TestHub, type TestPool } from '../../../server/test/kit/index.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

/**
 * A viewer reads sources through the agent. A source map is only a list of names: one naming /etc/passwd, or a file
 * next to the app, let any viewer read that file from the host. The agent now reads from disk only files under the
 * app's root (the package.json directory above the main script), following links to where they really are; text a
 * map embeds is shown wherever its name points.
 */
describe('source files a source map names', () => {
  let hub: TestHub;
  let pool: TestPool;
  let app: Scenario;
  let dir: string;
  let outside: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-app-'));
    outside = mkdtempSync(join(tmpdir(), 'sg-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET: a file outside the app\n');
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'package.json'), '{ "name": "rooted-app", "type": "module" }\n');
    writeFileSync(join(dir, 'src', 'app.ts'), 'export const answer: number = 42; // the app source\n');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'src', 'link.ts'));
    writeFileSync(
      join(dir, 'dist', 'app.js'),
      [
        'const timer = setInterval(() => {}, 50);',
        "process.stdout.write('started\\n');",
        'process.stdin.resume();',
        "process.stdin.on('end', () => clearInterval(timer));",
        '//# sourceMappingURL=app.js.map',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'dist', 'app.js.map'),
      JSON.stringify({
        version: 3,
        sources: [
          '../src/app.ts',
          join(outside, 'secret.txt'),
          '/etc/passwd',
          '../src/link.ts',
          '/opt/lib/embedded.ts',
        ],
        sourcesContent: [null, null, null, null, 'export const fromTheMap = true;\n'],
        names: [],
        mappings: 'AAAA;AACA;AACA;AACA',
      }),
    );
    hub = await createHub({ listen: true, timers: 'default' });
    pool = await hub.createPool();
    app = runScenario(
      RUNTIMES[0]!,
      join(dir, 'dist', 'app.js'),
      hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'rooted' }),
    );
    await app.waitForOutput('started');
  });

  afterAll(async () => {
    app?.kill();
    await hub?.close();
    for (const d of [dir, outside]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("lists and reads only the app's own files and embedded text; a viewer cannot read /etc/passwd", async () => {
    const agent = await waitFor(
      async () =>
        (await hub.api<{ items: { id: string }[] }>('GET', '/api/v1/agents?service=rooted&status=connected')).body
          .items[0],
      { what: 'the agent connected' },
    );
    const base = `/api/v1/agents/${agent.id}/sources`;
    const listed = await hub.api<{ files: { path: string; original: boolean }[] }>('GET', base, undefined, 'viewer');
    expect(listed.status).toBe(200);
    const originals = listed.body.files.filter((f) => f.original).map((f) => f.path);
    // Files under the app's root are listed relative to it; others by their absolute path.
    expect(originals).toEqual(expect.arrayContaining(['src/app.ts', '/opt/lib/embedded.ts']));
    expect(originals).not.toContain('/etc/passwd');
    expect(originals).not.toContain(`${outside}/secret.txt`);

    const read = (path: string) =>
      hub.api<{ text?: string; error?: { code: string; message: string } }>(
        'GET',
        `${base}/content?path=${encodeURIComponent(path)}`,
        undefined,
        'viewer',
      );
    expect((await read('src/app.ts')).body).toMatchObject({
      path: 'src/app.ts',
      text: expect.stringContaining('the app source'),
    });
    // The absolute path still reads the same file.
    expect((await read(`${dir}/src/app.ts`)).body.text).toContain('the app source');
    expect((await read('/opt/lib/embedded.ts')).body.text).toBe('export const fromTheMap = true;\n');
    for (const path of ['/etc/passwd', `${outside}/secret.txt`]) {
      const r = await read(path);
      expect(r.status, path).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('root:');
      expect(JSON.stringify(r.body)).not.toContain('TOP SECRET');
    }
    // A link under the root that leads outside it is refused, not followed.
    const link = await read(`${dir}/src/link.ts`);
    expect(link.status).toBe(403);
    expect(link.body.error?.message).toContain("outside the app's root");
    expect(JSON.stringify(link.body)).not.toContain('TOP SECRET');

    app.finish();
    expect(await app.exited).toBe(0);
  });
});
