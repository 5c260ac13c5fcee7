// Worker-thread scenario: the main thread runs `tally` and drives a worker (worker.mjs) through stdin commands.
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';

export function tally(n) {
  const total = n * 2; // @tally
  return total;
}

const worker = new Worker(new URL('./worker.mjs', import.meta.url));
worker.on('message', (m) => process.stdout.write(m.ready ? 'started\n' : `done work ${m.count} heap=0\n`));
worker.on('error', (err) => {
  process.stderr.write(`worker failed: ${err.stack}\n`);
  process.exitCode = 1;
});
worker.on('exit', (code) => process.stdout.write(`worker exited ${code}\n`));

const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  if (cmd === 'work') worker.postMessage({ count: total });
  else if (cmd === 'main') {
    for (let i = 0; i < total; i++) tally(i);
    process.stdout.write(`done main ${total} heap=0\n`);
  }
});
// On end of input the worker is asked to stop; the process then ends only if nothing (an agent included) holds the
// worker open.
rl.on('close', () => {
  clearInterval(keepAlive);
  worker.postMessage({ stop: true });
});
