// Large source map scenario: loads the small plain module argv[3] at once, and on stdin commands: `load 0` requires the
// esbuild bundle argv[2] (a ~20 MB map); `reset 0` forgets the longest stall so far; `stall 0` answers with it (ms);
// `call N` calls target() of the bundle's module m5 N times. A 1 ms timer notes how late each turn of the loop is.
'use strict';
const { createInterface } = require('node:readline');

const plain = require(process.argv[3]);
let bundle;
let longest = 0;
let last = performance.now();
const tick = setInterval(() => {
  const now = performance.now();
  longest = Math.max(longest, now - last);
  last = now;
}, 1);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  let answer = 0;
  if (cmd === 'load') bundle = require(process.argv[2]);
  else if (cmd === 'reset') longest = 0;
  else if (cmd === 'stall') answer = Math.round(longest);
  else if (cmd === 'plain') for (let i = 0; i < total; i++) plain.plain(i);
  else if (cmd === 'call') for (let i = 0; i < total; i++) bundle.modules[5].target(i);
  process.stdout.write(`done ${cmd} ${count} heap=${answer}\n`);
});
rl.on('close', () => clearInterval(tick));
process.stdout.write('started\n');
