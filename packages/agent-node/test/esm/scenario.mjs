// ESM scenario: a small service loop with plain functions, a class, closures, tricky objects and secrets.
import { helper as helperA } from './a/util.mjs';
import { helper as helperB } from './b/util.mjs';
import { hidden } from './c/blocked.mjs';

export function handle(order) {
  const total = order.qty * order.price; // @handle-total
  const label = `order ${order.id}`;
  return { total, label };
}

export class Cart {
  constructor(owner) {
    this.owner = owner;
    this.items = [];
  }
  add(item) {
    this.items.push(item); // @cart-add
    return this.items.length;
  }
}

const serviceName = 'esm-scenario';
const tails = [];
export function makeGreeter(greeting, punctuation) {
  tails.push(() => punctuation);
  return function greet(name) {
    const text = greeting + ', ' + name; // @greet
    const shout = text.toUpperCase(); // @greet-shout
    return shout.length > 0 ? text : ''; // @greet-return
  };
}

export function inspectMe(user) {
  const tricky = { name: 'tricky' };
  tricky.self = tricky;
  Object.defineProperty(tricky, 'boom', {
    enumerable: true,
    get() {
      throw new Error('getter ran');
    },
  });
  const huge = 'x'.repeat(100_000);
  const many = Array.from({ length: 5000 }, (_, i) => i);
  const map = new Map([
    ['a', 1],
    ['password', 'hunter2'],
  ]);
  const when = new Date(0);
  const buf = Buffer.from('hi');
  const err = new TypeError('bad thing');
  const card = 'paid with 4111 1111 1111 1111 today';

  return [tricky, huge, many, map, when, buf, err, card, user].length; // @inspect
}

export function spacer(n) {
  // no code on this line @spacer-blank

  return n + 1; // @spacer-return
}

// Timed by a tictoc and a duration patch (which declare variables of their own) and snapshotted in between.
export function timed(n) {
  const start = n * 3; // @timed-start
  const mid = start + 1; // @timed-snap
  return mid; // @timed-end
}

// Timed by a duration metric and counted at its first statement: every third call rejects after an await.
export async function risky(n) {
  await null; // @risky
  if (n % 3 === 0) throw new Error('risky ' + n);
  return n * 2;
}

// The closing brace right after the last statement: wrapped naively (`…;}finally{…}}`), V8 would refuse the edit
// in an ES module. Odd calls throw. It returns a comma expression, whose value is its last part.
const compacted = [];
// prettier-ignore
export function compact(n) { if (n % 2) throw new Error('odd'); return compacted.push(n) > 100 && (compacted.length = 0), n;} // @compact

let ticks = 0;
const greet = makeGreeter('hello', '!');
const cart = new Cart('ann');
const timer = setInterval(() => {
  ticks++;
  handle({ id: ticks, qty: 2, price: 5 });
  cart.add({ sku: 'sku-' + ticks });
  if (cart.items.length > 100) cart.items.length = 0;
  greet('bob');
  inspectMe({ name: 'ann', password: 'hunter2', token: 'abc' });
  spacer(ticks);
  timed(ticks);
  risky(ticks).catch(() => undefined);
  try {
    const back = compact(ticks);
    if (back !== ticks) process.stdout.write(`compact returned ${back} for ${ticks}\n`);
  } catch {
    // Odd ticks throw.
  }
  helperA(ticks);
  helperB(ticks);
  hidden(ticks);
  if (ticks === 20)
    import('./lazy.mjs').then((m) => {
      lazy = m;
    });
  if (lazy) lazy.later(ticks);
  if (ticks % 10 === 0) process.stdout.write(`tick ${ticks}\n`);
}, 20);
let lazy;
process.stdout.write(`started ${serviceName}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  process.stdout.write('finishing\n');
});
