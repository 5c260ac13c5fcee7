// An app that does nothing between commands: its thread sleeps until a line arrives on stdin (which keeps it alive).
// `sleep MS` reports how often the thread woke meanwhile (the kernel's count of the times it gave up the CPU to wait).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export function hot(i) {
  const v = i % 7; // @hot
  return v;
}

const wakes = () =>
  Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'))[1]);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  const n = Number(arg);
  if (cmd === 'hot') {
    for (let i = 0; i < n; i++) hot(i);
    process.stdout.write(`done hot ${n}\n`);
  } else if (cmd === 'sleep') {
    const before = wakes();
    setTimeout(() => process.stdout.write(`done sleep ${n} wakes=${wakes() - before}\n`), n);
  }
});
process.stdout.write('started\n');
