import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROTOCOL_VERSION, WIRE_LIMITS, sourceResponseFrameSchema } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { ScriptRegistry } from './locate.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES, Redactor } from './redact.js';
import { SourceCatalog, appRoot, cutToBytes, isUnder, redactSource } from './sources.js';

const redactor = new Redactor({ names: DEFAULT_REDACT_NAMES, values: DEFAULT_REDACT_VALUES });
const map = (sources: string[], sourcesContent?: string[]): string =>
  JSON.stringify({
    version: 3,
    sources,
    names: [],
    mappings: 'AAEA;AAEA',
    ...(sourcesContent ? { sourcesContent } : {}),
  });

/** `slices`: one map read per slice, by a clock that stands still (whatever the machine's speed). */
function fixture(slices?: 'one map each') {
  const dir = mkdtempSync(join(tmpdir(), 'sg-sources-'));
  for (const d of ['dist', 'src', 'src/secret', 'node_modules/lib']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'src', 'app.ts'), 'const password = "hunter2";\nexport const total = 1 + 2;\n');
  writeFileSync(join(dir, 'dist', 'app.js'), 'export const total = 3;\n//# sourceMappingURL=app.js.map\n');
  writeFileSync(join(dir, 'dist', 'app.js.map'), map(['../src/app.ts']));
  writeFileSync(join(dir, 'dist', 'bundle.js'), 'x();\n');
  writeFileSync(
    join(dir, 'dist', 'bundle.js.map'),
    map(['../src/embedded.ts', '../src/secret/keys.ts'], ['// from the map\n', 'k']),
  );
  writeFileSync(join(dir, 'dist', 'big.js'), 'a'.repeat(3000));
  writeFileSync(join(dir, 'node_modules', 'lib', 'index.js'), 'module.exports = 1;\n');
  const reg = new ScriptRegistry(() => false, slices ? { mapSliceMs: 0, now: () => 0 } : {});
  const url = (p: string): string => pathToFileURL(join(dir, p)).href;
  reg.add({ scriptId: '1', url: url('dist/app.js'), sourceMapURL: 'app.js.map' });
  reg.add({ scriptId: '2', url: url('dist/bundle.js'), sourceMapURL: 'bundle.js.map' });
  reg.add({ scriptId: '3', url: url('node_modules/lib/index.js') });
  reg.add({ scriptId: '4', url: url('dist/big.js') });
  reg.add({ scriptId: '5', url: 'node:fs' });
  const catalog = new SourceCatalog(reg, redactor, {
    blocked: (p) => p.includes('/secret/'),
    maxTextBytes: 1000,
    roots: [dir],
  });
  return { dir, catalog, reg };
}

describe('SourceCatalog', () => {
  it('lists loaded scripts and the originals of their source maps, never node_modules or blocked files', () => {
    const { dir, catalog } = fixture();
    expect(catalog.list()).toEqual([
      { path: `${dir}/dist/app.js`, original: false },
      { path: `${dir}/dist/big.js`, original: false },
      { path: `${dir}/dist/bundle.js`, original: false },
      { path: `${dir}/src/app.ts`, original: true },
      { path: `${dir}/src/embedded.ts`, original: true },
    ]);
  });

  it('reads an original from disk, redacted', async () => {
    const { dir, catalog } = fixture();
    const r = await catalog.read(`${dir}/src/app.ts`);
    expect(r).toEqual({
      path: `${dir}/src/app.ts`,
      text: 'const password = "[REDACTED]";\nexport const total = 1 + 2;\n',
      truncated: false,
    });
  });

  it('reads an original embedded in its source map', async () => {
    const { dir, catalog } = fixture();
    expect(await catalog.read(`${dir}/src/embedded.ts`)).toMatchObject({ text: '// from the map\n', truncated: false });
  });

  it('cuts long files at the size limit', async () => {
    const { dir, catalog } = fixture();
    const r = await catalog.read(`${dir}/dist/big.js`);
    expect(r.text).toHaveLength(1000);
    expect(r.truncated).toBe(true);
  });

  it('refuses blocked files and files it did not list', async () => {
    const { dir, catalog } = fixture();
    expect((await catalog.read(`${dir}/src/secret/keys.ts`)).error?.code).toBe('FORBIDDEN');
    expect((await catalog.read(`${dir}/node_modules/lib/index.js`)).error?.code).toBe('NOT_FOUND');
    expect((await catalog.read('/etc/passwd')).error?.code).toBe('NOT_FOUND');
    expect((await catalog.read(`${dir}/src/../../../etc/passwd`)).error?.code).toBe('NOT_FOUND');
  });

  it('answers request frames with valid response frames that fit the wire limit', async () => {
    const { dir, catalog } = fixture();
    const list = await catalog.answer({ type: 'source_request', v: PROTOCOL_VERSION, requestId: 'r1', op: 'list' });
    expect(sourceResponseFrameSchema.parse(list).files).toHaveLength(5);
    const read = await catalog.answer({
      type: 'source_request',
      v: PROTOCOL_VERSION,
      requestId: 'r2',
      op: 'read',
      path: `${dir}/src/app.ts`,
    });
    expect(sourceResponseFrameSchema.parse(read)).toMatchObject({ requestId: 'r2', truncated: false });
    const bad = await catalog.answer({ type: 'source_request', v: PROTOCOL_VERSION, requestId: 'r3', op: 'read' });
    expect(bad.error?.code).toBe('INVALID_INPUT');

    // A text made of characters JSON escapes doubles in size: the frame is cut to fit.
    writeFileSync(join(dir, 'src', 'app.ts'), '"\n'.repeat(300_000));
    const wide = new SourceCatalog((catalog as unknown as { scripts: ScriptRegistry }).scripts, redactor, {
      blocked: () => false,
      roots: [dir],
    });
    const big = await wide.answer({
      type: 'source_request',
      v: PROTOCOL_VERSION,
      requestId: 'r4',
      op: 'read',
      path: `${dir}/src/app.ts`,
    });
    expect(big.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThanOrEqual(WIRE_LIMITS.maxFrameBytes);
  });

  it('reads the source maps a slice at a time before it answers, with the event loop running in between', async () => {
    const { dir, catalog, reg } = fixture('one map each');
    expect(reg.mapProgress()).toEqual({ read: 0, total: 2 });
    const answer = catalog.answer({ type: 'source_request', v: PROTOCOL_VERSION, requestId: 'r1', op: 'list' });
    await new Promise((r) => setImmediate(r));
    expect(reg.mapProgress()).toEqual({ read: 1, total: 2 });
    const files = (await answer).files ?? [];
    expect(reg.mapProgress()).toEqual({ read: 2, total: 2 });
    expect(files.filter((f) => f.original)).toEqual([
      { path: `${dir}/src/app.ts`, original: true },
      { path: `${dir}/src/embedded.ts`, original: true },
    ]);
  });
});

describe("the app's root", () => {
  it('reads from disk only files under the roots; embedded text shows wherever its name points', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-root-'));
    const outside = mkdtempSync(join(tmpdir(), 'sg-outside-'));
    mkdirSync(join(dir, 'dist'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'app.ts'), 'export const a = 1;\n');
    writeFileSync(join(outside, 'secret.txt'), 'secret\n');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'src', 'link.ts'));
    writeFileSync(join(dir, 'dist', 'app.js'), 'a();\n//# sourceMappingURL=app.js.map\n');
    writeFileSync(
      join(dir, 'dist', 'app.js.map'),
      map(['../src/app.ts', '/etc/passwd', join(outside, 'secret.txt'), '../src/link.ts', '/elsewhere/e.ts'], [
        null,
        null,
        null,
        null,
        'embedded',
      ] as unknown as string[]),
    );
    const reg = new ScriptRegistry(() => false);
    reg.add({ scriptId: '1', url: pathToFileURL(join(dir, 'dist', 'app.js')).href, sourceMapURL: 'app.js.map' });
    await reg.readMaps();
    const catalog = new SourceCatalog(reg, redactor, { blocked: () => false, roots: [dir] });
    expect(
      catalog
        .list()
        .filter((f) => f.original)
        .map((f) => f.path),
    ).toEqual(['/elsewhere/e.ts', `${dir}/src/app.ts`, `${dir}/src/link.ts`]);
    expect((await catalog.read('/etc/passwd')).error?.code).toBe('NOT_FOUND');
    expect((await catalog.read(join(outside, 'secret.txt'))).error?.code).toBe('NOT_FOUND');
    expect((await catalog.read(`${dir}/src/link.ts`)).error).toMatchObject({ code: 'FORBIDDEN' });
    expect((await catalog.read('/elsewhere/e.ts')).text).toBe('embedded');
    expect((await catalog.read(`${dir}/src/app.ts`)).text).toBe('export const a = 1;\n');
    // Without a root (the default one could not be found), nothing is read from disk for a map.
    const none = new SourceCatalog(reg, redactor, { blocked: () => false, roots: [] });
    expect((await none.read(`${dir}/src/app.ts`)).error?.code).toBe('NOT_FOUND');
  });

  it('is the package.json directory above the main script, else the working directory, never /', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-root-'));
    mkdirSync(join(dir, 'dist', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "name": "app" }');
    // A module-type marker in the build directory is not the app's root.
    writeFileSync(join(dir, 'dist', 'package.json'), '{ "type": "commonjs" }');
    writeFileSync(join(dir, 'dist', 'deep', 'main.js'), '');
    expect(await appRoot(join(dir, 'dist', 'deep', 'main.js'), '/')).toBe(dir);
    expect(await appRoot(undefined, join(dir, 'dist'))).toBe(`${dir}/dist`);
    expect(await appRoot(undefined, '/')).toBeNull();
    expect(await appRoot(join(dir, 'missing.js'), '/')).toBeNull();
    expect(await appRoot(join(dir, 'missing.js'), dir)).toBe(dir);
    expect(isUnder(`${dir}/src/a.ts`, dir)).toBe(true);
    expect(isUnder(`${dir}-other/a.ts`, dir)).toBe(false);
  });
});

describe('redactSource', () => {
  it('hides string literals assigned to sensitive names and token-like values', () => {
    const text = [
      'const apiKey = "abc123";',
      "login({ password: 'pw', user: 'ann' });",
      'const header = "Bearer abcdefghijklmnop";',
      "if (token === 'x') return;",
      'const name = "plain";',
    ].join('\n');
    expect(redactSource(text, redactor).split('\n')).toEqual([
      'const apiKey = "[REDACTED]";',
      "login({ password: '[REDACTED]', user: 'ann' });",
      'const header = "[REDACTED]";',
      "if (token === 'x') return;",
      'const name = "plain";',
    ]);
  });

  it('cuts to a byte budget without splitting a character', () => {
    expect(cutToBytes('ééé', 5)).toEqual({ text: 'éé', truncated: true });
    expect(cutToBytes('abc', 5)).toEqual({ text: 'abc', truncated: false });
  });
});

describe("the agent's own files", () => {
  it('are not listed as sources of the app: the agent and the protocol package it brings', () => {
    const { dir, catalog, reg } = fixture();
    reg.add({ scriptId: 'own-1', url: new URL('../dist/agent.js', import.meta.url).href });
    reg.add({ scriptId: 'own-2', url: import.meta.resolve('@spyglass/protocol') });
    const listed = catalog.list().map((f) => f.path);
    expect(listed).toContain(`${dir}/src/app.ts`);
    expect(listed.filter((p) => p.includes('/agent-node/') || p.includes('/protocol/'))).toEqual([]);
  });

  it("leaves an app's files beside the agent's code alone (an app in the same repository as the agent)", () => {
    const { catalog, reg } = fixture();
    const beside = new URL('../test/fixture-app/server.js', import.meta.url);
    reg.add({ scriptId: 'beside-1', url: beside.href });
    expect(catalog.list().map((f) => f.path)).toContain(fileURLToPath(beside));
  });
});
