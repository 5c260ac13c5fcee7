// Large scripts: requires the generated modules named in argv (each exports `target(n)`), then on `call NAME COUNT`
// calls the target of module NAME COUNT times.
'use strict';
const { basename } = require('node:path');
const { createInterface } = require('node:readline');

const modules = new Map(process.argv.slice(2).map((f) => [basename(f, '.cjs'), require(f)]));
const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, name, count] = line.trim().split(/\s+/);
  const total = Number(count);
  if (cmd === 'call') for (let i = 0; i < total; i++) modules.get(name).target(i);
  process.stdout.write(`done ${cmd} ${name} ${total} heap=0\n`);
});
rl.on('close', () => clearInterval(keepAlive));
process.stdout.write('started\n');
