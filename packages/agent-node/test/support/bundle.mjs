// Writes a realistic bundled TypeScript app: `modules` TypeScript files under src/, bundled by esbuild into one
// CommonJS file dist/app.js with a separate source map (originals embedded). Module `m0` exports `target(n)`, whose
// body starts at line TARGET_LINE of src/m0.ts. Shared by test/big-map and bench/agent/maps.mjs.
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

export const TARGET_LINE = 3;

function moduleText(i, functions) {
  const lines = [`export function target(n: number): number {`, `  // module ${i}`, `  const doubled: number = n * 2;`];
  lines.push('  return doubled;', '}', '');
  lines.push(`export interface Row${i} { id: number; name: string; tags: readonly string[]; score?: number }`, '');
  for (let f = 0; f < functions; f++) {
    lines.push(
      `export function f${i}_${f}(rows: Row${i}[], limit: number): { total: number; names: string[] } {`,
      `  let total = 0;`,
      `  const names: string[] = [];`,
      `  for (const row of rows) {`,
      `    if (row.score !== undefined && row.score > limit * ${f + 1}) total += row.score;`,
      `    else names.push(\`\${row.name}:\${row.tags.join(',')}:${i}.${f}\`);`,
      `  }`,
      `  return { total: total + ${i * 31 + f}, names: names.filter((n) => n.length > ${f % 7}) };`,
      `}`,
      '',
    );
  }
  return lines.join('\n');
}

/** Returns the root directory and the size of the map in bytes. */
export function writeBundle(modules, functions = 40) {
  const root = mkdtempSync(join(tmpdir(), 'sg-bundle-'));
  mkdirSync(join(root, 'src'));
  const imports = [];
  for (let i = 0; i < modules; i++) {
    writeFileSync(join(root, 'src', `m${i}.ts`), moduleText(i, functions));
    imports.push(`import * as m${i} from './m${i}';`);
  }
  const all = Array.from({ length: modules }, (_, i) => `m${i}`).join(', ');
  writeFileSync(join(root, 'src', 'index.ts'), `${imports.join('\n')}\nexport const modules = [${all}];\n`);
  buildSync({
    entryPoints: [join(root, 'src', 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'external',
    outfile: join(root, 'dist', 'app.js'),
    logLevel: 'silent',
  });
  // esbuild writes the file without the comment when the map is external: name it.
  const js = join(root, 'dist', 'app.js');
  writeFileSync(js, `${readFileSync(js, 'utf8')}\n//# sourceMappingURL=app.js.map\n`);
  return { root, mapBytes: statSync(join(root, 'dist', 'app.js.map')).size };
}
