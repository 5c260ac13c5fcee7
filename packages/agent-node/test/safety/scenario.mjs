// Safety scenario: a hot function driven in bursts from stdin commands, for budgets and memory over many hits.
import { createInterface } from 'node:readline';

export function hot(i) {
  const v = i % 7; // @hot
  return v;
}

export function snap(i) {
  const obj = { i, list: [1, 2, 3], nested: { a: { b: { c: 'deep' } } }, text: 'y'.repeat(1000) };
  return obj.i; // @snap
}

function burst(fn, total, done) {
  let n = 0;
  const step = () => {
    const end = Math.min(total, n + 10_000);
    for (; n < end; n++) fn(n);
    if (n < total) setImmediate(step);
    else done();
  };
  step();
}

function spaced(fn, total, done) {
  let n = 0;
  const step = () => {
    fn(n++);
    if (n < total) setImmediate(step);
    else done();
  };
  step();
}

function heap() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  const report = () => process.stdout.write(`done ${cmd} ${total} heap=${heap()} rss=${process.memoryUsage().rss}\n`);
  if (cmd === 'hot') burst(hot, total, report);
  else if (cmd === 'snap') spaced(snap, total, report);
});
rl.on('close', () => clearInterval(keepAlive));
process.stdout.write('started\n');
