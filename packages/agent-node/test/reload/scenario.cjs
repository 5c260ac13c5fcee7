// A module loaded twice: `reload` deletes it from require.cache and requires it again; `hot N` calls the current copy.
const { createInterface } = require('node:readline');

const path = require.resolve('./counter.cjs');
let mod = require(path);
let loads = 1;

const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  if (cmd === 'reload') {
    delete require.cache[path];
    mod = require(path);
    loads++;
  } else if (cmd === 'hot') for (let i = 0; i < Number(count); i++) mod.hot(i);
  process.stdout.write(`done ${line.trim()} heap=${loads}\n`);
});
rl.on('close', () => clearInterval(keepAlive));
process.stdout.write('started\n');
