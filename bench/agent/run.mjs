// npm run bench:agent — the agent's overhead against the same code without it, measured in one run.
// Prints progress, then one JSON line (the last line of output).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { request, Agent as HttpAgent } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub } from './bench-hub.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// `--node-flag F` (repeatable) gives both processes of every idle pair the Node or V8 flag F, for instance
// `--no-allocation-site-pretenuring` (docs/agent.md says why that one matters to the shop).
const nodeFlags = process.argv.flatMap((a, i, all) => (all[i - 1] === '--node-flag' ? [a] : []));
if (process.argv.at(-1) === '--node-flag') {
  console.error(
    '--node-flag takes a Node or V8 flag after it, for instance --node-flag --no-allocation-site-pretenuring',
  );
  process.exit(2);
}
/**
 * `--pin` (Linux, `taskset`): for the idle measurement, this process (the load generator, every thread of it) on the first CPU and every
 * measured service on the last, so that both services of a pair run where the other ran and not wherever the
 * scheduler put them. It narrows the spread of the pairs; the CPU of a request is what it measures either way. The
 * hub and the in-process runs stay unpinned.
 */
const pin = process.argv.includes('--pin') ? pinnedCpu() : undefined;
function pinnedCpu() {
  const cpus = availableParallelism();
  if (cpus < 2) {
    console.error('--pin needs two CPUs or more (one for the load, one for the services)');
    process.exit(2);
  }
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    console.error(`--pin needs util-linux's taskset: ${err.message}`);
    process.exit(2);
  }
  return String(cpus - 1);
}
/** Pin this process to the first CPU (children started from here on inherit it, so only after the unpinned runs). */
const pinLoad = () => pin && execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
const register = here('../../packages/agent-node/dist/register.js');

/**
 * `--shuffle`: every measured service (both of a pair) preloads `shuffle.mjs` first, with a seed of its own, and gets
 * an environment variable of random length. That moves where the code and data loaded after it land (old generation,
 * code space, the stack), so that a pair's difference is not one fixed layout's luck: across pairs, layouts are
 * drawn at random on both sides, and the median difference is what the agent costs over layouts. The seeds come
 * from a fixed sequence (`--shuffle-seed N`, 1 by default): the same run draws the same layouts again.
 */
const shuffle = process.argv.includes('--shuffle');
const seedAt = process.argv.indexOf('--shuffle-seed');
let shuffleSeed = seedAt < 0 ? 1 : Number(process.argv[seedAt + 1]);
if (seedAt >= 0 && (!shuffle || !Number.isInteger(shuffleSeed) || shuffleSeed < 1)) {
  console.error('--shuffle-seed takes a whole number from 1 up, and needs --shuffle');
  process.exit(2);
}
const nextShuffle = () => (shuffleSeed = (Math.imul(shuffleSeed, 1664525) + 1013904223) >>> 0);
/** What one service gets from `--shuffle`: its preload flags and environment. */
const shuffled = () =>
  shuffle
    ? {
        flags: ['--import', here('./shuffle.mjs')],
        env: { SPYGLASS_BENCH_SHUFFLE: String(nextShuffle()), SPYGLASS_BENCH_PAD: 'x'.repeat(nextShuffle() % 4096) },
      }
    : { flags: [], env: {} };

// `--against FILE`: the side without the agent preloads FILE (an earlier build of the agent, say) instead of nothing.
const againstAt = process.argv.indexOf('--against');
const againstArg = againstAt > 0 && process.argv[againstAt + 1] ? resolve(process.argv[againstAt + 1]) : undefined;
if (againstAt > 0 && (!againstArg || !existsSync(againstArg))) {
  console.error(`--against needs the file to preload on the side without the agent: ${againstArg ?? 'none given'}`);
  process.exit(2);
}
const hub = process.argv.includes('--no-hub') ? undefined : await startHub();

function runNode(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop()) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

const SHOP = here('../../examples/shop/dist/server.js');

/**
 * Start an HTTP service (with a preload such as the idle agent, or without) and a keep-alive client for it. `mini` is
 * `server.mjs` (a handler of about 16 µs, reporting its CPU time on `GET /__cpu`); `shop` is the example shop
 * (TypeScript with source maps, OpenTelemetry's SDK and HTTP instrumentation, JSON routes), asked for `GET /products`,
 * which reports its CPU time through `cpu-probe.mjs` on stdin.
 */
async function startServer(preload, concurrency, service = 'mini') {
  const shop = service === 'shop';
  const layout = shuffled();
  const pre = [...nodeFlags, ...layout.flags, ...(preload ? ['--import', preload] : [])];
  const args = shop
    ? ['--enable-source-maps', '--import', here('./cpu-probe.mjs'), ...pre, SHOP]
    : [...pre, here('./server.mjs')];
  // Idle: connected to the hub (unless `--no-hub`), no actions; both processes get the same environment. The shop's
  // spans go to a port nothing listens on (dropped quietly), the same for both services.
  const env = shop
    ? {
        PATH: process.env.PATH,
        PORT: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_BSP_SCHEDULE_DELAY: '1000',
        ...hub?.env,
        ...layout.env,
      }
    : { PATH: process.env.PATH, ...hub?.env, ...layout.env };
  const child = pin
    ? spawn('taskset', ['-c', pin, process.execPath, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const cpuWaiters = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^cpu (\d+)/.exec(line);
      if (m) cpuWaiters.shift()?.(Number(m[1]));
      else child.emit('line', line);
    }
  });
  const port = await new Promise((resolve) => {
    child.on('line', (line) => {
      const m = /port (\d+)|127\.0\.0\.1:(\d+)/.exec(line);
      if (m) resolve(Number(m[1] ?? m[2]));
    });
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  // A kept-alive socket the server closes as the request goes out fails with ECONNRESET: the request never reached
  // the handler, so it is sent again on a new socket (the shop keeps Node's 5 s keep-alive timeout, which a round of
  // the other service can outlast on a loaded machine).
  const get = (path, retry = true) =>
    new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path, agent }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', (err) => {
        if (retry && req.reusedSocket && err.code === 'ECONNRESET') get(path, false).then(resolve, reject);
        else reject(err);
      });
      req.end();
    });
  const cpu = shop
    ? () =>
        new Promise((resolve) => {
          cpuWaiters.push(resolve);
          child.stdin.write('cpu\n');
        })
    : async () => JSON.parse(await get('/__cpu')).cpuUs;
  const path = shop ? '/products' : '/x';
  /** One round: `n` requests at `concurrency`; the server's CPU µs per request and the wall-clock rate. */
  const round = async (n) => {
    let left = n;
    const c0 = await cpu();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) await get(path);
      }),
    );
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = await cpu();
    // The two CPU readings are charged too; they are the same for both services.
    return { cpuUsPerReq: (c1 - c0) / n, rps: n / wallS };
  };
  const stop = async () => {
    agent.destroy();
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));
  };
  return { round, stop };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** 95 % bootstrap interval of the median of per-pair medians, resampling whole pairs: rounds of one pair of
 *  processes share that pair's luck (code layout, JIT decisions), so they are not independent samples. */
function bootstrapPairsCI(perPair, iterations = 4000) {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const meds = [];
  for (let k = 0; k < iterations; k++)
    meds.push(median(perPair.map(() => perPair[Math.floor(rand() * perPair.length)])));
  meds.sort((a, b) => a - b);
  return [meds[Math.floor(iterations * 0.025)], meds[Math.floor(iterations * 0.975)]];
}

/**
 * Idle overhead, A/B interleaved: many pairs of fresh processes (one without the agent, one with it idle); for
 * each pair, short rounds alternate between them (the order flips every round) after a warm-up. Each round gives
 * the server's own CPU time per request (process.cpuUsage, immune to the machine's scheduling noise) and the
 * wall-clock request rate. Each pair's result is the median of its paired round differences; the overhead is the
 * median over pairs, with a bootstrap interval over pairs. `control` replaces the agent by a preload that does
 * nothing: the A/A result shows the method's resolution on this machine. `against` gives the side without the agent a
 * preload of its own (another build of the agent, say), so the result reads one against the other.
 */
async function idleOverhead({
  pairs = 40,
  rounds = 12,
  requests = 4000,
  concurrency = 8,
  control = false,
  preload = control ? here('./noop.mjs') : register,
  service = 'mini',
  against = undefined,
} = {}) {
  const cpuPairs = [];
  const wallPairs = [];
  const cpuPerReq = { without: [], with: [] };
  for (let p = 0; p < pairs; p++) {
    const a = await startServer(against, concurrency, service);
    const b = await startServer(preload, concurrency, service);
    await a.round(requests);
    await b.round(requests);
    const cpuDiffs = [];
    const rpsDiffs = [];
    for (let r = 0; r < rounds; r++) {
      const order = (r + p) % 2 === 0 ? [a, b] : [b, a];
      const first = await order[0].round(requests);
      const second = await order[1].round(requests);
      const [without, withAgent] = order[0] === a ? [first, second] : [second, first];
      cpuPerReq.without.push(without.cpuUsPerReq);
      cpuPerReq.with.push(withAgent.cpuUsPerReq);
      cpuDiffs.push(((withAgent.cpuUsPerReq - without.cpuUsPerReq) / without.cpuUsPerReq) * 100);
      rpsDiffs.push(((without.rps - withAgent.rps) / without.rps) * 100);
    }
    cpuPairs.push(median(cpuDiffs));
    wallPairs.push(median(rpsDiffs));
    console.error(`  ${service} pair ${p + 1}/${pairs}: CPU per request ${median(cpuDiffs).toFixed(2)} %`);
    await a.stop();
    await b.stop();
  }
  return {
    cpuPct: median(cpuPairs),
    cpuCI: bootstrapPairsCI(cpuPairs),
    wallPct: median(wallPairs),
    wallCI: bootstrapPairsCI(wallPairs),
    cpuUsPerReqWithout: median(cpuPerReq.without),
    cpuUsPerReqWith: median(cpuPerReq.with),
    pairs,
    rounds: pairs * rounds,
  };
}

// `node bench/agent/run.mjs idle` runs only the HTTP measurement; `idle --control` runs it against a preload that
// does nothing instead of the agent (an A/A run: what the method reads when there is nothing to find).
const onlyIdle = process.argv[2] === 'idle';
const control = onlyIdle && process.argv.includes('--control');
const argAfter = (flag) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const patch = onlyIdle ? {} : JSON.parse(await runNode([here('./inproc.mjs'), 'patch']));
console.error(`hot function: ${JSON.stringify(patch)}`);
const bp = onlyIdle ? {} : JSON.parse(await runNode([here('./inproc.mjs'), 'breakpoint']));
console.error(`breakpoint mode: ${JSON.stringify(bp)}`);
const snap = onlyIdle ? {} : JSON.parse(await runNode([here('./inproc.mjs'), 'snapshot']));
console.error(`snapshots: ${JSON.stringify(snap)}`);

const pairsArg = argAfter('--pairs') ? Number(argAfter('--pairs')) : undefined;
// A path as given on the command line (`--import` would read `bench/…` as a package name).
const preloadArg = argAfter('--preload') && resolve(argAfter('--preload'));
const report = (what, r) =>
  console.error(
    `${what}, ${control ? 'do-nothing preload' : preloadArg ? preloadArg : 'idle agent'} vs ${againstArg ?? 'none'} (${r.pairs} process pairs, ${r.rounds} paired rounds): CPU per request ${r.cpuUsPerReqWithout.toFixed(1)} µs → ` +
      `${r.cpuUsPerReqWith.toFixed(1)} µs, overhead ${r.cpuPct.toFixed(2)} % (95 % CI ${r.cpuCI.map((x) => x.toFixed(2)).join(' … ')}); ` +
      `wall-clock throughput ${r.wallPct.toFixed(2)} % (95 % CI ${r.wallCI.map((x) => x.toFixed(2)).join(' … ')})`,
  );
pinLoad();
// `--no-mini` skips the small service (only the shop is measured).
const idle = process.argv.includes('--no-mini')
  ? undefined
  : await idleOverhead({
      control,
      ...(pairsArg ? { pairs: pairsArg } : {}),
      ...(preloadArg ? { preload: preloadArg } : {}),
      ...(againstArg ? { against: againstArg } : {}),
    });
if (idle) report('http (server.mjs)', idle);
// The example shop: a realistic service (≈ 5× the CPU per request), fewer and shorter rounds. `--no-shop` skips it.
const shop = process.argv.includes('--no-shop')
  ? undefined
  : await idleOverhead({
      control,
      service: 'shop',
      pairs: pairsArg ?? 16,
      rounds: 10,
      requests: 1500,
      ...(preloadArg ? { preload: preloadArg } : {}),
      ...(againstArg ? { against: againstArg } : {}),
    });
if (shop) report('http (example shop)', shop);
const r3 = (x) => Math.round(x * 1000) / 1000;
const r3OrNull = (x) => (x == null ? null : r3(x));

const result = {
  baseline_ns: r3(patch.baseline_ns),
  handwritten_ns: r3(patch.handwritten_ns),
  idle_ns: r3(patch.idle_ns),
  log_patch_ns: r3(patch.log_patch_ns),
  log_breakpoint_ns: r3(bp.log_breakpoint_ns),
  log_patch_ratio: r3((patch.log_patch_ns - patch.baseline_ns) / (patch.handwritten_ns - patch.baseline_ns)),
  idle_overhead_pct: idle ? r3(idle.cpuPct) : null,
  idle_overhead_ci95_pct: idle ? idle.cpuCI.map(r3) : null,
  shop_idle_overhead_pct: shop ? r3(shop.cpuPct) : null,
  shop_idle_overhead_ci95_pct: shop ? shop.cpuCI.map(r3) : null,
  // The verdict reads the upper bounds of the 95 % intervals: the goal is met only if both are under 1 %.
  idle_goal_met: (idle === undefined || idle.cpuCI[1] < 1) && (shop === undefined || shop.cpuCI[1] < 1),
  snapshot_p50_ms: r3(snap.snapshot_p50_ms),
  snapshot_p99_ms: r3(snap.snapshot_p99_ms),
  snapshot_false_condition_ns: r3OrNull(snap.snapshot_false_condition_ns),
  snapshot_breakpoint_p50_ms: r3OrNull(snap.snapshot_breakpoint_p50_ms),
  snapshot_breakpoint_p99_ms: r3OrNull(snap.snapshot_breakpoint_p99_ms),
  snapshot_breakpoint_false_condition_ns: r3OrNull(snap.snapshot_breakpoint_false_condition_ns),
  pause_p50_ms: r3(snap.pause_p50_ms),
  pause_p99_ms: r3(snap.pause_p99_ms),
  // In a second pass of 1000 calls: how many the OS preempted (Linux), and the p99 of the others.
  snapshot_preempted: snap.snapshot_preempted ?? null,
  snapshot_p99_unpreempted_ms: r3OrNull(snap.snapshot_p99_unpreempted_ms),
  pause_preempted: snap.pause_preempted ?? null,
  pause_p99_unpreempted_ms: r3OrNull(snap.pause_p99_unpreempted_ms),
  // The first snapshot of a new action, and the p99 of the first 200 (timed before the percentiles above).
  snapshot_first_ms: r3OrNull(snap.snapshot_first_ms),
  snapshot_warmup_p99_ms: r3OrNull(snap.snapshot_warmup_p99_ms),
  snapshot_breakpoint_first_ms: r3OrNull(snap.snapshot_breakpoint_first_ms),
  snapshot_breakpoint_warmup_p99_ms: r3OrNull(snap.snapshot_breakpoint_warmup_p99_ms),
  ...(nodeFlags.length > 0 ? { node_flags: nodeFlags } : {}),
  idle_agent_hub: hub ? 'connected' : 'none',
  ...(pin ? { pinned_cpu: Number(pin) } : {}),
  ...(shuffle ? { layout_shuffled: true } : {}),
};
hub?.stop();
process.stdout.write(JSON.stringify(result) + '\n');
