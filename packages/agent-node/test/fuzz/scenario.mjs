// The fuzzed app: `probe` holds hostile values in its locals (proxies whose traps throw, throwing and slow getters, a
// cycle, a huge array, poisoned conversions, a revoked proxy, a null prototype, a BigInt, a symbol). `drive N` calls
// it N times and answers `done drive N heap=H max=M lag=L`: the heap after a collection, the longest single call (ms)
// and the longest stall of the event loop since the last answer (ms).
import { createInterface } from 'node:readline';

const throwing = new Proxy(
  {},
  {
    get() {
      throw new Error('trap get');
    },
    has() {
      throw new Error('trap has');
    },
    ownKeys() {
      throw new Error('trap ownKeys');
    },
    getPrototypeOf() {
      throw new Error('trap getPrototypeOf');
    },
    getOwnPropertyDescriptor() {
      throw new Error('trap descriptor');
    },
  },
);
const selfish = new Proxy({}, { get: (_t, _k, r) => r });
const { proxy: revoked, revoke } = Proxy.revocable({}, {});
revoke();
const getters = {
  get boom() {
    throw new Error('getter');
  },
  get slow() {
    const end = performance.now() + 2;
    while (performance.now() < end);
    return 'slow';
  },
};
const cyclic = { name: 'loop' };
cyclic.self = cyclic;
cyclic.list = [cyclic, [cyclic]];
const poisoned = {
  toString() {
    throw new Error('toString');
  },
  valueOf() {
    throw new Error('valueOf');
  },
  [Symbol.toPrimitive]() {
    throw new Error('toPrimitive');
  },
  toJSON() {
    throw new Error('toJSON');
  },
};
const bare = Object.create(null);
bare.x = 1;
const huge = Array.from({ length: 100_000 }, (_, i) => i);
const text = 'é\u202e\u200d😀'.repeat(5000);

export function probe(i) {
  const n = i;
  const big = 2n ** 64n;
  const sym = Symbol('s');
  const fn = () => i;
  const values = { throwing, selfish, revoked, getters, cyclic, poisoned, bare, huge, text, n, big, sym, fn };
  return values.n + 1; // @probe
}

function heap() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

// How late a 10 ms timer ran at worst since the last answer: the stalls of placing and removing actions.
let lag = 0;
let last = performance.now();
const keepAlive = setInterval(() => {
  const t = performance.now();
  lag = Math.max(lag, t - last - 10);
  last = t;
}, 10);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  const total = Number(count);
  let max = 0;
  if (cmd === 'drive') {
    for (let i = 0; i < total; i++) {
      const t0 = performance.now();
      try {
        probe(i);
      } catch (err) {
        process.stdout.write(`probe threw: ${err}\n`);
      }
      max = Math.max(max, performance.now() - t0);
    }
  }
  process.stdout.write(`done ${cmd} ${count} heap=${heap()} max=${Math.round(max)} lag=${Math.round(lag)}\n`);
  lag = 0;
});
rl.on('close', () => clearInterval(keepAlive));
process.on('uncaughtException', (err) => process.stdout.write(`uncaught: ${err}\n`));
process.on('unhandledRejection', (err) => process.stdout.write(`unhandled: ${err}\n`));
process.stdout.write('started\n');
