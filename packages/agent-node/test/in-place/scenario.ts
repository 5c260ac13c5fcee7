// Run through register.mjs: the interfaces and types below vanish when transpiled, so generated lines move up.
import { createInterface } from 'node:readline';

interface Item {
  sku: string;
  cents: number;
}

interface Basket {
  id: number;
  items: Item[];
}

type Summary = { id: number; total: number };

export function total(basket: Basket): Summary {
  let sum = 0;
  for (const item of basket.items) sum += item.cents;
  const summary: Summary = { id: basket.id, total: sum }; // @total
  return summary;
}

const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line: string) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const n = Number(count);
  for (let i = 0; i < n; i++)
    total({
      id: i,
      items: [
        { sku: 'tea', cents: 250 },
        { sku: 'cake', cents: 100 * i },
      ],
    });
  process.stdout.write(`done ${cmd} ${n} heap=0\n`);
});
rl.on('close', () => clearInterval(keepAlive));
process.stdout.write('started\n');
