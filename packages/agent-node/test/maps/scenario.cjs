// Source-map scenario: loads every generated module of the directory given as argv[2] (each with its own .map file
// naming ../src/mN.ts), then calls one on stdin commands `call N`.
'use strict';
const { readdirSync } = require('node:fs');
const { join } = require('node:path');
const { createInterface } = require('node:readline');

const dir = process.argv[2];
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => require(join(dir, f)));
process.stdout.write(`started ${modules.length}\n`);

const target = require(join(dir, `m${process.argv[3]}.js`));
const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  if (cmd === 'call') for (let i = 0; i < total; i++) target.f(i);
  process.stdout.write(`done ${cmd} ${total} heap=0\n`);
});
rl.on('close', () => clearInterval(keepAlive));
