// A short-lived process: waits for `go N` on stdin, calls `work` N times, then lets its event loop run empty and ends
// on its own, the way a batch job or a CLI does; `exit N` ends it with `process.exit()` right after the work instead.
import { createInterface } from 'node:readline';

export function work(i) {
  const order = { id: i, total: i * 10 };
  return order.total; // @work
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  if (cmd !== 'go' && cmd !== 'exit') return;
  let sum = 0;
  for (let i = 0; i < Number(count); i++) sum += work(i);
  process.stdout.write(`worked ${sum}\n`);
  if (cmd === 'exit') process.exit(0);
  rl.close();
  process.stdin.destroy();
});
process.stdout.write('started\n');
