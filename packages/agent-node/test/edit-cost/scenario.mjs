// A module of some hundred functions written to argv[2] and imported: its LiveEdit takes V8 some milliseconds. The
// scenario only waits: the functions are never called, so no hook runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let text = '';
for (let f = 0; f < 600; f++) text += `export function f${f}(a) {\n  const b = a + ${f};\n  return b * 2;\n}\n`;
const file = join(process.argv[2], 'big.mjs');
writeFileSync(file, text);
await import(pathToFileURL(file).href);
const keepAlive = setInterval(() => {}, 1000);
process.stdin.on('end', () => clearInterval(keepAlive));
process.stdin.resume();
process.stdout.write('started\n');
