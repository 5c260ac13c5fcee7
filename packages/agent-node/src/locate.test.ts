import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScriptRegistry, loadSourceMap, normalisePath, pathMatches } from './locate.js';

// A tiny hand-made map: generated line 1 ← src/app.ts line 3, generated line 2 ← line 5.
const map = (sources: string[], sourceRoot?: string): string =>
  JSON.stringify({ version: 3, sources, ...(sourceRoot ? { sourceRoot } : {}), names: [], mappings: 'AAEA;AAEA' });

/**
 * Clocks for the slices of map reading, so that what a test sees does not depend on how busy the machine is.
 * `standing`: no time passes, every map fits in the first slice. `stepping(ms)`: each look at the clock finds `ms`
 * more gone (the registry looks once when a slice starts and once after each map it reads).
 */
const standing = (): (() => number) => () => 0;
const stepping = (ms: number): (() => number) => {
  let t = 0;
  return () => (t += ms);
};

describe('paths', () => {
  it('normalises URLs, separators, dots and bundler schemes', () => {
    expect(normalisePath('file:///srv/app/./src/../src/a.ts')).toBe('/srv/app/src/a.ts');
    expect(normalisePath('src\\a.ts')).toBe('src/a.ts');
    expect(normalisePath('webpack://shop/./src/a.ts')).toBe('shop/src/a.ts');
    expect(normalisePath('./src/a.ts')).toBe('src/a.ts');
  });
  it('matches by suffix on segment boundaries', () => {
    expect(pathMatches('/srv/app/src/a.ts', 'src/a.ts')).toBe(true);
    expect(pathMatches('/srv/app/src/xa.ts', 'a.ts')).toBe(false);
    expect(pathMatches('/srv/app/src/a.ts', '/srv/app/src/a.ts')).toBe(true);
    expect(pathMatches('/srv/app/src/a.ts', '/other/src/a.ts')).toBe(false);
  });
});

describe('ScriptRegistry.resolve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-locate-'));
  writeFileSync(join(dir, 'app.js.map'), map(['../src/app.ts']));
  // Every map is read in the first slice (reading in slices is tested below).
  const reg = new ScriptRegistry(() => false, { now: standing() });
  reg.add({ scriptId: '1', url: pathToFileURL(join(dir, 'app.js')).href, sourceMapURL: 'app.js.map' });
  const inline =
    'data:application/json;base64,' + Buffer.from(map(['b.ts'], 'webpack://bundle/./lib/')).toString('base64');
  reg.add({ scriptId: '2', url: pathToFileURL(join(dir, 'bundle.js')).href, sourceMapURL: inline });
  reg.add({ scriptId: '3', url: join(dir, 'x', 'util.js') });
  reg.add({ scriptId: '4', url: join(dir, 'y', 'util.js') });
  reg.add({ scriptId: '5', url: 'node:internal/x' });

  it('resolves a generated file directly', () => {
    expect(reg.resolve('x/util.js', 4)).toMatchObject({ kind: 'found', line: 4, source: undefined });
  });
  it('resolves through a map file and moves to the next mapped line', () => {
    const r = reg.resolve('src/app.ts', 3);
    expect(r).toMatchObject({ kind: 'found', line: 1, column: 0 });
    expect(reg.resolve('src/app.ts', 4)).toMatchObject({ kind: 'found', line: 2 });
  });
  it('resolves through an inline data: map with a webpack:// sourceRoot', () => {
    expect(reg.resolve('lib/b.ts', 5)).toMatchObject({ kind: 'found', line: 2, source: 'bundle/lib/b.ts' });
  });
  it('follows the map of a file transformed in place (same URL, map naming the file itself)', () => {
    const own = join(dir, 'inplace.ts');
    const data = 'data:application/json;base64,' + Buffer.from(map([own])).toString('base64');
    reg.add({ scriptId: '6', url: pathToFileURL(own).href, sourceMapURL: data });
    // Original line 3 runs on generated line 1: the script's own lines are not the file's.
    expect(reg.resolve('inplace.ts', 3)).toMatchObject({ kind: 'found', line: 1, source: own });
    expect(reg.resolve('inplace.ts', 4)).toMatchObject({ kind: 'found', line: 2, source: own });
  });
  it('reports ambiguity with candidates, and pending for unknown files', () => {
    const amb = reg.resolve('util.js', 1);
    expect(amb.kind).toBe('error');
    expect(amb.kind === 'error' && amb.reason).toMatch(/x\/util\.js.*y\/util\.js/);
    expect(reg.resolve('nope.ts', 1).kind).toBe('pending');
    expect(reg.resolve('src/app.ts', 99)).toMatchObject({ kind: 'error' });
  });
});

describe('ScriptRegistry source maps read in slices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-slices-'));
  const scripts = 6;
  const fill = (reg: ScriptRegistry): void => {
    for (let i = 0; i < scripts; i++) {
      writeFileSync(join(dir, `m${i}.js.map`), map([`../src/m${i}.ts`]));
      reg.add({ scriptId: String(i), url: pathToFileURL(join(dir, `m${i}.js`)).href, sourceMapURL: `m${i}.js.map` });
    }
    // A dependency's map is read only for a path that names node_modules.
    writeFileSync(join(dir, 'dep.js.map'), map(['../src/dep.ts']));
    reg.add({
      scriptId: 'nm',
      url: `file:///srv/node_modules/dep/dep.js`,
      sourceMapURL: pathToFileURL(join(dir, 'dep.js.map')).href,
    });
  };

  it('answers pending while maps are unread, reads the rest with the event loop running in between, then resolves', async () => {
    // A zero budget reads one map per slice.
    const reg = new ScriptRegistry(() => false, { mapSliceMs: 0, now: standing() });
    fill(reg);
    const first = reg.resolve('src/m5.ts', 3);
    expect(first).toEqual({
      kind: 'pending',
      reason: `reading source maps (1 of ${scripts})`,
      readMaps: { nodeModules: false },
    });
    const pass = reg.readMaps(false);
    // While the pass runs, other resolutions wait for it instead of reading a slice each.
    expect(reg.resolve('src/m4.ts', 3)).toMatchObject({
      kind: 'pending',
      reason: `reading source maps (1 of ${scripts})`,
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const partway = reg.mapProgress().read;
    expect(partway).toBeGreaterThan(1);
    expect(partway).toBeLessThan(scripts);
    await pass;
    expect(reg.mapProgress()).toEqual({ read: scripts, total: scripts });
    expect(reg.resolve('src/m5.ts', 3)).toMatchObject({
      kind: 'found',
      line: 1,
      source: expect.stringContaining('src/m5.ts'),
    });
    // node_modules maps were left alone until asked for.
    expect(reg.mapProgress(true)).toEqual({ read: scripts, total: scripts + 1 });
    expect(reg.resolve('node_modules/dep/other.ts', 3)).toMatchObject({
      reason: 'no loaded script matches node_modules/dep/other.ts yet',
    });
    expect(reg.mapProgress(true)).toEqual({ read: scripts + 1, total: scripts + 1 });
  });

  it('resolves at once when the maps fit in one slice', () => {
    // Six maps at 1 ms each fit in the default slice of 8 ms.
    const reg = new ScriptRegistry(() => false, { now: stepping(1) });
    fill(reg);
    expect(reg.resolve('src/m2.ts', 5)).toMatchObject({ kind: 'found', line: 2 });
    expect(reg.mapProgress()).toEqual({ read: scripts, total: scripts });
  });

  it('reads as many maps in a slice as its budget allows by the clock it is given', async () => {
    // 4 ms a map, 8 ms a slice: two maps a slice.
    const reg = new ScriptRegistry(() => false, { mapSliceMs: 8, now: stepping(4) });
    fill(reg);
    expect(reg.readMapsFor(8)).toBe(false);
    expect(reg.mapProgress()).toEqual({ read: 2, total: scripts });
    // resolve() spends one slice of its own before it answers.
    expect(reg.resolve('src/m1.ts', 3)).toEqual({
      kind: 'pending',
      reason: `reading source maps (4 of ${scripts})`,
      readMaps: { nodeModules: false },
    });
    await reg.readMaps(false);
    expect(reg.mapProgress()).toEqual({ read: scripts, total: scripts });
    expect(reg.resolve('src/m1.ts', 3)).toMatchObject({ kind: 'found', line: 1 });
  });
});

describe('ScriptRegistry replays (the debugger turned on again)', () => {
  const url = 'file:///srv/app/hot.js';
  const scriptOf = (reg: ScriptRegistry): string | undefined => {
    const r = reg.resolve('hot.js', 1);
    return r.kind === 'found' ? r.script.scriptId : undefined;
  };

  it('keeps the live script of a URL over the versions LiveEdit replaced, whatever order V8 reports them in', () => {
    const reg = new ScriptRegistry(() => false);
    reg.add({ scriptId: '10', url });
    reg.add({ scriptId: '11', url: 'file:///srv/app/other.js' });
    reg.beginReplay();
    reg.add({ scriptId: '40', url });
    reg.add({ scriptId: '10', url });
    reg.add({ scriptId: '41', url });
    expect(reg.endReplay().sort()).toEqual(['11', '40', '41']);
    expect(scriptOf(reg)).toBe('10');
    expect([...reg.all()].map((s) => s.scriptId)).toEqual(['10']);
  });

  it('takes the newest script of a URL whose known script is gone, and adds scripts loaded meanwhile', () => {
    const reg = new ScriptRegistry(() => false);
    reg.add({ scriptId: '10', url });
    reg.beginReplay();
    reg.add({ scriptId: '50', url });
    reg.add({ scriptId: '51', url: 'file:///srv/app/late.js' });
    expect(reg.endReplay()).toEqual(['10']);
    expect(scriptOf(reg)).toBe('50');
    expect(reg.resolve('late.js', 1).kind).toBe('found');
  });

  it('outside a replay, a new script of a known URL (a module loaded again) wins', () => {
    const reg = new ScriptRegistry(() => false);
    reg.add({ scriptId: '10', url });
    reg.add({ scriptId: '60', url });
    expect(scriptOf(reg)).toBe('60');
    expect(reg.endReplay()).toEqual([]);
  });
});

describe('scripts in vm contexts and scripts without a file', () => {
  it('never picks a script of another vm context, and says why when that is the only match', () => {
    const reg = new ScriptRegistry(() => false);
    const sandbox = { isDefault: false };
    reg.add({ scriptId: '1', url: 'file:///srv/app/mw.js', executionContextAuxData: sandbox });
    expect(reg.resolve('mw.js', 1)).toEqual({
      kind: 'error',
      reason: expect.stringMatching(/^mw\.js runs only in a vm context of its own .* cannot instrument$/),
    });
    reg.add({ scriptId: '2', url: 'file:///srv/app/mw.js', executionContextAuxData: { isDefault: true } });
    reg.add({ scriptId: '3', url: 'file:///srv/app/mw.js', executionContextAuxData: sandbox });
    expect(reg.resolve('mw.js', 1)).toMatchObject({ kind: 'found', script: { scriptId: '2' } });
  });

  it('keeps at most 5000 scripts that have no file path or their own context', () => {
    const reg = new ScriptRegistry(() => false);
    for (let i = 0; i < 6000; i++) reg.add({ scriptId: String(i), url: `lodash.templateSources[${i}]` });
    expect(reg.size).toBe(5000);
    reg.add({ scriptId: 'file', url: '/srv/app/a.js' });
    expect(reg.size).toBe(5001);
  });
});

describe('source maps that cannot be used', () => {
  it('does not read a map file over 50 MB, and reports a malformed map instead of throwing', () => {
    let read = false;
    const huge = loadSourceMap(
      { url: 'file:///srv/app/a.js', path: '/srv/app/a.js', sourceMapURL: 'a.js.map' },
      () => {
        read = true;
        return '{}';
      },
      () => 60 * 1024 * 1024,
    );
    expect(huge).toBeNull();
    expect(read).toBe(false);

    // A mapping that names source 5 of a map listing one source.
    const bad = JSON.stringify({ version: 3, sources: ['src/a.ts'], names: [], mappings: 'AKAA' });
    const reg = new ScriptRegistry(() => false);
    reg.add({
      scriptId: '1',
      url: '/srv/app/a.js',
      sourceMapURL: 'data:application/json;base64,' + Buffer.from(bad).toString('base64'),
    });
    const r = reg.resolve('src/a.ts', 1);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.reason).toMatch(/^the source map for .*src\/a\.ts cannot be used: /);
  });
});
