// Compiles sandboxed.js in a vm context of its own and calls its function; `call N` calls it N times and reports
// whether any call threw.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const file = fileURLToPath(new URL('./sandboxed.js', import.meta.url));
const context = vm.createContext({});
new vm.Script(readFileSync(file, 'utf8'), { filename: file }).runInContext(context);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, n] = line.trim().split(/\s+/);
  if (cmd !== 'call') return;
  let out = '';
  try {
    for (let i = 0; i < Number(n); i++) out = context.middleware({ path: `/p${i}` });
    process.stdout.write(`called ${out}\n`);
  } catch (err) {
    process.stdout.write(`threw ${err}\n`);
  }
});
process.stdout.write('started\n');
