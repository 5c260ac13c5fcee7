// start() and stop() from the app's own code. `run` calls the async function `slow` (suspended at its await), stops
// the agent while it waits, then reports what that call and a later one returned; `start` starts the agent again.
import { createInterface } from 'node:readline';

const { start, stop } = await import(new URL('../../dist/index.js', import.meta.url).href);
start();

export async function slow(n) {
  const item = { n };
  await new Promise((resolve) => setTimeout(resolve, 200));
  return item.n * 2; // @slow
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'start') {
    start();
    process.stdout.write('started again\n');
  }
  if (cmd !== 'run') return;
  const pending = slow(1);
  stop();
  pending
    .then(async (first) => {
      const second = await slow(2);
      process.stdout.write(`after stop: ${first} ${second}\n`);
    })
    .catch((err) => process.stdout.write(`after stop: threw ${err}\n`));
});
process.stdout.write('started\n');
