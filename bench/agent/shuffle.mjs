// Layout shuffle for the idle measurement (`run.mjs idle --shuffle`): preloaded into BOTH services of a pair, before
// anything else, with its own random seed each (SPYGLASS_BENCH_SHUFFLE). It moves where the code and data loaded
// after it land: a random amount of compiled bytecode and closures in the old generation, a random amount of native
// regular-expression code in code space. It does no work afterwards. See bench/agent/README.md, "Layout".
import { runInThisContext } from 'node:vm';

let seed = Number(process.env.SPYGLASS_BENCH_SHUFFLE) >>> 0 || 1;
const rand = (n) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};

// Bytecode, shared function infos and feedback in the old generation: 0–255 small functions, each called once.
const fns = rand(256);
const src = Array.from({ length: fns }, (_, i) => `function f${i}(a){return a+${i}*${rand(1000)};}`).join('');
const keep = runInThisContext(`(()=>{${src}return [${Array.from({ length: fns }, (_, i) => `f${i}`).join(',')}];})()`);
for (const f of keep) f(1);
// Native regexp code of random size in code space (executed twice so V8 compiles it from bytecode).
const re = new RegExp(Array.from({ length: 1 + rand(64) }, (_, i) => `k${i}x`).join('|'));
re.test('zz');
re.test('zz');
globalThis[Symbol.for('spyglass.bench.shuffle')] = { keep, re };
