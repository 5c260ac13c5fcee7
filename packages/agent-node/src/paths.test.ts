import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScriptRegistry } from './locate.js';
import { SourcePaths, appRootSync } from './paths.js';

describe('one name per source file', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-paths-')));
  mkdirSync(join(dir, 'dist'));
  mkdirSync(join(dir, 'node_modules', 'lib', 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "app" }\n');
  // A module-type marker in the build directory does not make it the root.
  writeFileSync(join(dir, 'dist', 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'dist', 'main.js'), '');
  const paths = new SourcePaths(() => appRootSync(join(dir, 'dist', 'main.js'), '/'));

  it("names files under the app's root relative to it, others as they are", () => {
    expect(paths.root).toBe(dir);
    expect(paths.name(join(dir, 'src', 'a.ts'))).toBe('src/a.ts');
    expect(paths.name(pathToFileURL(join(dir, 'src', 'a.ts')).href)).toBe('src/a.ts');
    expect(paths.name(`${dir}-other/src/a.ts`)).toBe(`${dir}-other/src/a.ts`);
    expect(paths.name('/elsewhere/b.ts')).toBe('/elsewhere/b.ts');
    expect(paths.name('node:events')).toBe('node:events');
    expect(paths.name('src/typed.ts')).toBe('src/typed.ts');
    expect(paths.name(dir)).toBe(dir);
    expect(new SourcePaths(() => null).name(join(dir, 'src', 'a.ts'))).toBe(join(dir, 'src', 'a.ts'));
    expect(new SourcePaths(() => '/').root).toBeNull();
    expect(
      new SourcePaths(() => {
        throw new Error('no');
      }).name('/x/a.ts'),
    ).toBe('/x/a.ts');
  });

  it('names a file the same way however often it is asked, past the size of its memory of names', () => {
    const named = new SourcePaths(() => dir);
    const files = Array.from({ length: 2500 }, (_, i) => join(dir, 'src', `m${i}.ts`));
    for (let round = 0; round < 2; round++)
      for (const [i, f] of files.entries()) {
        expect(named.name(f)).toBe(`src/m${i}.ts`);
        expect(named.name(pathToFileURL(f).href)).toBe(`src/m${i}.ts`);
      }
    expect(named.name('./src/../src/m7.ts')).toBe('src/m7.ts');
  });

  it('resolves by suffix as before, and the exact name wins over files that only end in it', () => {
    const reg = new ScriptRegistry(() => false, { now: () => 0, name: (f) => paths.name(f) });
    reg.add({ scriptId: '1', url: pathToFileURL(join(dir, 'src', 'app.js')).href });
    reg.add({ scriptId: '2', url: pathToFileURL(join(dir, 'node_modules', 'lib', 'src', 'app.js')).href });
    reg.add({ scriptId: '3', url: pathToFileURL(join(dir, 'a', 'util.js')).href });
    reg.add({ scriptId: '4', url: pathToFileURL(join(dir, 'b', 'util.js')).href });
    const found = (file: string): string | undefined => {
      const r = reg.resolve(file, 1);
      return r.kind === 'found' ? r.script.scriptId : r.reason;
    };
    expect(found('src/app.js')).toBe('1');
    expect(found(join(dir, 'src', 'app.js'))).toBe('1');
    expect(found('node_modules/lib/src/app.js')).toBe('2');
    expect(found('app.js')).toBe('app.js is ambiguous; it matches 2 files: src/app.js, node_modules/lib/src/app.js');
    expect(found('a/util.js')).toBe('3');
    expect(found('util.js')).toBe('util.js is ambiguous; it matches 2 files: a/util.js, b/util.js');
  });
});
