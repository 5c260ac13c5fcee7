// Loads every module of the directory given as argument (see test.ts); `heap` answers the heap in use after a full
// collection (run with --expose-gc).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
for (const f of readdirSync(dir).sort()) await import(pathToFileURL(join(dir, f)).href);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'heap') return;
  for (let i = 0; i < 3; i++) globalThis.gc();
  process.stdout.write(`heap ${process.memoryUsage().heapUsed}\n`);
});
process.stdout.write('started\n');
