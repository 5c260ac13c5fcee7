import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScriptRegistry, normalisePath, pathMatches } from './locate.js';

// A tiny hand-made map: generated line 1 ← src/app.ts line 3, generated line 2 ← line 5.
const map = (sources: string[], sourceRoot?: string): string =>
  JSON.stringify({ version: 3, sources, ...(sourceRoot ? { sourceRoot } : {}), names: [], mappings: 'AAEA;AAEA' });

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
  const reg = new ScriptRegistry(() => false);
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
  it('reports ambiguity with candidates, and pending for unknown files', () => {
    const amb = reg.resolve('util.js', 1);
    expect(amb.kind).toBe('error');
    expect(amb.kind === 'error' && amb.reason).toMatch(/x\/util\.js.*y\/util\.js/);
    expect(reg.resolve('nope.ts', 1).kind).toBe('pending');
    expect(reg.resolve('src/app.ts', 99)).toMatchObject({ kind: 'error' });
  });
});
