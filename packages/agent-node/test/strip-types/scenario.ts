// A TypeScript app run directly by Node (type stripping: Node 22 with --experimental-strip-types, Node 24 as is).
import { createInterface } from 'node:readline';

interface Order {
  id: number;
  items: readonly string[];
  total: number;
}

type Priced = Order & { cents: number };

export class Cashier {
  private readonly rate: number = 1.2;

  price(order: Order): Priced {
    const cents: number = Math.round(order.total * this.rate * 100);
    return { ...order, cents }; // @price
  }
}

const cashier = new Cashier();
const keepAlive = setInterval(() => {}, 1000);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line: string) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  for (let i = 0; i < total; i++) cashier.price({ id: i, items: ['tea'], total: i + 1 });
  process.stdout.write(`done ${cmd} ${total} heap=0\n`);
});
rl.on('close', () => clearInterval(keepAlive));
process.stdout.write('started\n');
