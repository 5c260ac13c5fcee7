// A consumer that is always suspended at its await: V8 refuses every patch of it (BlockedByActiveGenerator).
// `push N` hands it N items, one per turn of the event loop.
import { createInterface } from 'node:readline';

let wake;
export async function consume() {
  for (;;) {
    const item = await new Promise((resolve) => (wake = resolve));
    const total = item * 2; // @consume
    process.stdout.write(`consumed ${total}\n`);
  }
}
void consume();

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, n] = line.trim().split(/\s+/);
  if (cmd !== 'push') return;
  let i = 0;
  const next = () => {
    if (i >= Number(n)) return process.stdout.write('pushed\n');
    wake(i++);
    setImmediate(next);
  };
  next();
});
process.stdout.write('started\n');
