// How long the app's event loop stalls while the agent places the first action on a TypeScript file of an app with
// many source-mapped modules: source maps read in slices (the default) against all at once; then the same for one
// esbuild bundle with a ~20 MB map, indexed in a worker thread (the default) against on the app's thread.
// Prints one JSON line.
//   node bench/agent/maps.mjs [modules] [bundle modules]
//   (child modes: --child DIR SLICE_MS N, --bundle-child DIR MAP_WORKER)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMappedModule } from '../../packages/agent-node/test/support/mapped.mjs';
import { TARGET_LINE, writeBundle } from '../../packages/agent-node/test/support/bundle.mjs';

const LINES = 120;

/** `n` compiled-looking modules with a separate map each (one segment per line, as tsc writes for simple code). */
function generate(n) {
  const root = mkdtempSync(join(tmpdir(), 'sg-bench-maps-'));
  mkdirSync(join(root, 'dist'));
  for (let i = 0; i < n; i++) {
    const body = Array.from({ length: LINES }, (_, j) => `  const v${j} = n * ${j} + ${i};`);
    const js = ['"use strict";', 'exports.f = function f(n) {', ...body, '  return n;', '};'];
    writeMappedModule(
      root,
      `m${i}`,
      js,
      js.join('\n').replace(/const (v\d+)/g, 'const $1: number'),
      'AACA,EAAE,IAAI,GAAG',
    );
  }
  return root;
}

async function child(root, sliceMs, n) {
  const require = createRequire(import.meta.url);
  for (let i = 0; i < n; i++) require(join(root, 'dist', `m${i}.js`));
  await measure({ mapSliceMs: sliceMs }, `src/m${n - 1}.ts`, 3);
}

/** One bundle with one large map; `mapWorker` on (the default) or off. */
async function bundleChild(root, mapWorker) {
  createRequire(import.meta.url)(join(root, 'dist', 'app.js'));
  await measure({ mapWorker }, 'src/m5.ts', TARGET_LINE + 1);
}

async function measure(options, file, line) {
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  const agent = new Agent(options, {}).start();
  await new Promise((r) => setTimeout(r, 200));
  // The longest gap between two turns of the event loop: a chain of 1 ms timers, each noting how late it ran.
  let maxStallMs = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 50));
  maxStallMs = 0;
  const t0 = performance.now();
  agent.setActions([
    {
      id: 'first',
      kind: 'log',
      file,
      line,
      template: 'v {n}',
      level: 'info',
      pipe: false,
      maxHits: 10,
      expiresAt: Date.now() + 60_000,
    },
  ]);
  for (;;) {
    const s = agent.statuses()[0];
    if (s?.state === 'active') break;
    if (s?.state === 'error' || performance.now() - t0 > 60_000) throw new Error(`not placed: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const activeMs = performance.now() - t0;
  // Let the timer run once more: a stall that ended just now is only seen on its next turn.
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(tick);
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  agent.stop();
  process.stdout.write(JSON.stringify({ activeMs, maxStallMs, heapMb }) + '\n');
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[2] === '--bundle-child') {
  await bundleChild(process.argv[3], process.argv[4] === 'on');
} else {
  const n = Number(process.argv[2] ?? 2000);
  const bundleModules = Number(process.argv[3] ?? 700);
  const root = generate(n);
  const self = fileURLToPath(import.meta.url);
  const spawnChild = (args) => {
    const r = spawnSync(process.execPath, [self, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const run = (sliceMs) => spawnChild(['--child', root, String(sliceMs), String(n)]);
  const rounds = 5;
  const sliced = [];
  const oneGo = [];
  for (let i = 0; i < rounds; i++) {
    oneGo.push(run(1000));
    sliced.push(run(8));
    process.stderr.write(
      `round ${i + 1}/${rounds}: one go ${JSON.stringify(oneGo.at(-1))}, sliced ${JSON.stringify(sliced.at(-1))}\n`,
    );
  }
  rmSync(root, { recursive: true, force: true });
  const bundle = writeBundle(bundleModules);
  const inThread = [];
  const worker = [];
  for (let i = 0; i < rounds; i++) {
    inThread.push(spawnChild(['--bundle-child', bundle.root, 'off']));
    worker.push(spawnChild(['--bundle-child', bundle.root, 'on']));
    process.stderr.write(
      `bundle round ${i + 1}/${rounds}: app thread ${JSON.stringify(inThread.at(-1))}, worker ${JSON.stringify(worker.at(-1))}\n`,
    );
  }
  rmSync(bundle.root, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const out = {
    maps: n,
    one_go_stall_ms: r3(median(oneGo.map((x) => x.maxStallMs))),
    sliced_stall_ms: r3(median(sliced.map((x) => x.maxStallMs))),
    one_go_active_ms: r3(median(oneGo.map((x) => x.activeMs))),
    sliced_active_ms: r3(median(sliced.map((x) => x.activeMs))),
  };
  out.stall_ratio = r3(out.one_go_stall_ms / out.sliced_stall_ms);
  Object.assign(out, {
    big_map_mb: r3(bundle.mapBytes / 2 ** 20),
    big_map_thread_stall_ms: r3(median(inThread.map((x) => x.maxStallMs))),
    big_map_worker_stall_ms: r3(median(worker.map((x) => x.maxStallMs))),
    big_map_thread_active_ms: r3(median(inThread.map((x) => x.activeMs))),
    big_map_worker_active_ms: r3(median(worker.map((x) => x.activeMs))),
    big_map_thread_heap_mb: r3(median(inThread.map((x) => x.heapMb))),
    big_map_worker_heap_mb: r3(median(worker.map((x) => x.heapMb))),
  });
  process.stdout.write(JSON.stringify(out) + '\n');
}
