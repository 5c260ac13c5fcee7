// Preempted scenario: a function with a snapshot line, called on command. `stopped <µs>` has the whole process
// stopped (SIGSTOP, sent by a worker thread woken just before the call, that many µs later) while the call, the
// snapshot's pause in it, runs: the app's thread spends wall time and no CPU, as when the OS gives the CPU to another
// process. The test sends SIGCONT.
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';

// [0]: 1 asks the worker to stop the process; [1]: 1 tells it to end; [2]: how many µs after waking it stops it.
const flags = new Int32Array(new SharedArrayBuffer(12));
const stopper = new Worker(
  `const { workerData: flags } = require('node:worker_threads');
   while (Atomics.load(flags, 1) === 0) {
     if (Atomics.wait(flags, 0, 0, 1000) === 'timed-out' || Atomics.load(flags, 1) !== 0) continue;
     Atomics.store(flags, 0, 0);
     const until = performance.now() + Atomics.load(flags, 2) / 1000;
     while (performance.now() < until);
     process.kill(process.pid, 'SIGSTOP');
   }`,
  { eval: true, workerData: flags },
);

// Enough values that the capture takes a while (it reads each object through the inspector).
export function inspected(n) {
  const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, name: `row ${i}`, tags: ['a', 'b'], more: { i, n } }));
  const index = new Map(rows.map((r) => [r.name, r]));
  const totals = { count: rows.length, sum: rows.reduce((s, r) => s + r.id, 0), first: rows[0], last: rows[39] };
  return rows.length + index.size + totals.count + n; // @inspected
}

const rl = createInterface({ input: process.stdin });
let calls = 0;
rl.on('line', (line) => {
  const cmd = line.trim();
  const [verb, delayUs] = cmd.split(' ');
  if (verb === 'stopped') {
    Atomics.store(flags, 2, Number(delayUs));
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
  }
  const t0 = performance.now();
  inspected(++calls);
  const ms = performance.now() - t0;
  process.stdout.write(`done ${cmd} heap=${process.memoryUsage().heapUsed} took=${ms.toFixed(1)}\n`);
});
rl.on('close', () => {
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 0);
  stopper.unref();
});
process.stdout.write('started\n');
