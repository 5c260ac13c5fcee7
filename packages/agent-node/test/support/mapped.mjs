// Writes a compiled-looking CommonJS module `dir/dist/NAME.js` with a separate map to `../src/NAME.ts` (the original
// embedded): generated line N ↔ original line N, `segments` per line (tsc writes several for longer lines).
// Shared by the source-map tests and bench/agent/maps.mjs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeMappedModule(dir, name, js, ts, segments = 'AACA') {
  writeFileSync(join(dir, 'dist', `${name}.js`), `${js.join('\n')}\n//# sourceMappingURL=${name}.js.map\n`);
  writeFileSync(
    join(dir, 'dist', `${name}.js.map`),
    JSON.stringify({
      version: 3,
      file: `${name}.js`,
      sources: [`../src/${name}.ts`],
      sourcesContent: [ts],
      names: [],
      mappings: ['AAAA', ...js.slice(1).map(() => segments)].join(';'),
    }),
  );
}
