// One benchmark process: measures the hot function with and without the agent. Prints one JSON line.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hot, hotHand, snap } from './target.mjs';

const targetFile = fileURLToPath(new URL('./target.mjs', import.meta.url));
const lineOf = (m) =>
  readFileSync(targetFile, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(`// @${m}`)) + 1;
const mode = process.argv[2];

// Each measurement gets its own loop function, so one call site never sees two different callees (a call site that
// has seen several becomes polymorphic and slower, which would bias whatever is measured after it).
function makeLoop() {
  return new Function(
    'fn',
    'n',
    'hr',
    `let sink = 0;
     for (let i = 0; i < Math.min(n, 50000); i++) sink += fn(i);
     const t0 = hr();
     for (let i = 0; i < n; i++) sink += fn(i);
     const t1 = hr();
     return [Number(t1 - t0) / n, sink];`,
  );
}
/**
 * Waits while the agent still reads source maps for the action (it does so in slices of the event loop: on a busy
 * machine the first answer can be `pending`), then returns its status.
 */
async function placed(agent) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const st = agent.statuses()[0];
    if (st?.state !== 'pending' || Date.now() > deadline) return st;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const best = (fn, n, runs = 5) => {
  const loop = makeLoop();
  return Math.min(...Array.from({ length: runs }, () => loop(fn, n, process.hrtime.bigint)[0]));
};

const N = 2_000_000;
const limits = {
  cpuBudgetPct: 100,
  actionCpuBudgetPct: 100,
  maxLogsPerSecond: 1e9,
  maxLogsPerSecondPerAction: 1e9,
  maxLogBytesPerSecond: 1e12,
  maxBufferedLogs: 1000,
};
const far = Date.now() + 3_600_000;
const logAction = {
  id: 'bench-log',
  kind: 'log',
  file: 'bench/agent/target.mjs',
  line: lineOf('probe'),
  template: 'x is {i}',
  level: 'info',
  pipe: false,
  maxHits: 1e9,
  expiresAt: far,
};

const out = {};
if (mode === 'patch') {
  // Hand-written equivalent of the dynamic log: format the message and keep it in a bounded buffer.
  const buf = [];
  const handLog = (i) => {
    buf.push({ actionId: 'bench-log', at: Date.now(), level: 'info', message: 'x is ' + String(i) });
    if (buf.length > 1000) buf.shift();
  };
  // The hand-written loop first: whichever loop of `hot` runs first in the process ends up faster than the ones after
  // it (≈ 0.6 against ≈ 3.3 ns here, agent or not), which would read as a cost of the idle agent.
  out.handwritten_ns = best((i) => hotHand(i, handLog), N);
  out.baseline_ns = best(hot, N);
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  const agent = new Agent(limits, {}).start();
  out.idle_ns = best(hot, N);
  // Each run places the log afresh and counts only if it stayed active to the end: on a loaded machine a descheduled
  // sampled hit can make the CPU budget (here 100 % of a CPU) trip, and a throttled hook costs almost nothing.
  const runs = [];
  const loop = makeLoop();
  for (let r = 0; r < 5; r++) {
    agent.setActions([{ ...logAction, id: `bench-log-${r}` }]);
    const st = await placed(agent);
    if (st?.method !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(st)}`);
    const ns = loop(hot, N, process.hrtime.bigint)[0];
    if (agent.statuses()[0]?.state === 'active') runs.push(ns);
    agent.setActions([]);
  }
  out.log_patch_ns = runs.length > 0 ? Math.min(...runs) : null;
  out.log_patch_runs_kept = runs.length;
  agent.stop();
} else if (mode === 'breakpoint') {
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  const agent = new Agent({ ...limits, probeMethod: 'breakpoint' }, {}).start();
  out.bp_baseline_ns = best(hot, 20_000, 3);
  agent.setActions([logAction]);
  await placed(agent);
  for (const s of agent.statuses())
    if (s.method !== 'breakpoint') throw new Error(`expected a breakpoint, got ${JSON.stringify(s)}`);
  out.log_breakpoint_ns = best(hot, 20_000, 3);
  agent.stop();
} else if (mode === 'snapshot') {
  // Its own process, so what other measurements leave behind (garbage, optimisation state) does not count here.
  const pauses = 1000;
  // Whether the OS took the CPU from this thread during a call: Linux counts every involuntary context switch of a
  // thread exactly (`nonvoluntary_ctxt_switches`). Reading it around each call slows the calls a little (about 15 %
  // here), so it is done in a second pass of its own: the first gives the percentiles, the second how many calls the
  // OS preempted and the p99 of the ones it did not, which is what a snapshot costs the app when nothing else
  // competes for its core.
  const preemptions = existsSync('/proc/thread-self/status')
    ? () => Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync('/proc/thread-self/status', 'latin1'))[1])
    : undefined;
  const pct = (xs, q) => (xs.length > 0 ? xs[Math.min(xs.length - 1, Math.floor(xs.length * q))] : null);
  const pass = async (counted, calls = pauses) => {
    const times = [];
    const calm = [];
    for (let i = 0; i < calls; i++) {
      const before = counted ? preemptions() : 0;
      const t0 = process.hrtime.bigint();
      snap(i);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(ms);
      if (counted && preemptions() === before) calm.push(ms);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    const first = times[0];
    return { first, times: times.sort((a, b) => a - b), calm: calm.sort((a, b) => a - b) };
  };
  // The first calls of a new action are slower: V8 compiles the capture's code and still sizes the young generation
  // (measured 2026-12-07: the p99 of a fresh action's first 1000 snapshots 0.7–1.1 ms, of the next 2000 0.46–0.70).
  // They are timed apart, as a warm-up of their own, and reported (`*_warmup_*`); the percentiles are of the calls
  // after them.
  const WARMUP = 200;
  const timeSnaps = async () => {
    const warm = await pass(false, WARMUP);
    const { times } = await pass(false);
    const counted = preemptions ? await pass(true) : undefined;
    return {
      firstMs: warm.first,
      warmupP99: pct(warm.times, 0.99),
      p50: pct(times, 0.5),
      p99: pct(times, 0.99),
      preempted: counted ? counted.times.length - counted.calm.length : null,
      calmP99: counted ? pct(counted.calm, 0.99) : null,
    };
  };
  // Reference: a bare pause and resume on the same line (no condition, no capture), measured in this run.
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => {
    let result;
    session.post(method, params, (err, res) => {
      if (err) throw err;
      result = res;
    });
    return result;
  };
  session.on('Debugger.paused', () => post('Debugger.resume'));
  post('Debugger.enable');
  post('Debugger.setBreakpointByUrl', { url: pathToFileURL(targetFile).href, lineNumber: lineOf('snap') - 1 });
  const bare = await timeSnaps();
  out.pause_p50_ms = bare.p50;
  out.pause_p99_ms = bare.p99;
  out.pause_preempted = bare.preempted;
  out.pause_p99_unpreempted_ms = bare.calmP99;
  out.pause_first_ms = bare.firstMs;
  out.pause_warmup_p99_ms = bare.warmupP99;
  session.disconnect();
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  // The default placement (a patch: the pause is a `debugger` statement the hook reaches), then the breakpoint whose
  // condition asks for the pause (where a script cannot be patched), each with its own agent.
  for (const method of ['auto', 'breakpoint']) {
    const agent = new Agent({ ...limits, probeMethod: method }, {}).start();
    agent.setActions([
      {
        id: 'bench-snap',
        kind: 'snapshot',
        file: 'bench/agent/target.mjs',
        line: lineOf('snap'),
        expressions: ['order.customer.name'],
        maxHits: 1e9,
        expiresAt: far,
      },
    ]);
    await placed(agent);
    const placedBy = agent.statuses()[0]?.method;
    if (placedBy !== (method === 'auto' ? 'patch' : 'breakpoint'))
      throw new Error(`snapshot placed by ${placedBy}, expected ${method === 'auto' ? 'a patch' : 'a breakpoint'}`);
    const snapTimes = await timeSnaps();
    const key = method === 'auto' ? 'snapshot' : 'snapshot_breakpoint';
    out[`${key}_p50_ms`] = snapTimes.p50;
    out[`${key}_p99_ms`] = snapTimes.p99;
    out[`${key}_preempted`] = snapTimes.preempted;
    out[`${key}_p99_unpreempted_ms`] = snapTimes.calmP99;
    out[`${key}_first_ms`] = snapTimes.firstMs;
    out[`${key}_warmup_p99_ms`] = snapTimes.warmupP99;
    out[`${key}s`] = agent.stats().snapshots;
    // What a snapshot whose condition is false costs each pass over its line (the common case: waiting for the one
    // request that matches). A patch tests the condition in the function; a breakpoint has V8 evaluate it.
    const { file, line, maxHits, expiresAt } = logAction;
    agent.setActions([
      { id: 'bench-snap-when', kind: 'snapshot', file, line, expressions: [], condition: 'i < 0', maxHits, expiresAt },
    ]);
    const when = await placed(agent);
    if (when?.state !== 'active') throw new Error(`the conditional snapshot is not active: ${JSON.stringify(when)}`);
    out[`${key}_false_condition_ns`] = best(hot, method === 'auto' ? N : 2000, 3);
    agent.stop();
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
