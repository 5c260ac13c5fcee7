// One benchmark process: measures the hot function with and without the agent. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  out.baseline_ns = best(hot, N);
  out.handwritten_ns = best((i) => hotHand(i, handLog), N);
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  const agent = new Agent(limits, {}).start();
  out.idle_ns = best(hot, N);
  agent.setActions([logAction]);
  const st = agent.statuses()[0];
  if (st?.method !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(st)}`);
  out.log_patch_ns = best(hot, N);
  agent.stop();
} else if (mode === 'breakpoint') {
  const { Agent } = await import('../../packages/agent-node/dist/index.js');
  const agent = new Agent({ ...limits, probeMethod: 'breakpoint' }, {}).start();
  out.bp_baseline_ns = best(hot, 20_000, 3);
  agent.setActions([
    logAction,
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
  for (const s of agent.statuses())
    if (s.method !== 'breakpoint') throw new Error(`expected a breakpoint, got ${JSON.stringify(s)}`);
  out.log_breakpoint_ns = best(hot, 20_000, 3);
  const times = [];
  for (let i = 0; i < 1000; i++) {
    const t0 = process.hrtime.bigint();
    snap(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  times.sort((a, b) => a - b);
  out.snapshot_p50_ms = times[Math.floor(times.length * 0.5)];
  out.snapshot_p99_ms = times[Math.floor(times.length * 0.99)];
  out.snapshots = agent.stats().snapshots;
  agent.stop();
}
process.stdout.write(JSON.stringify(out) + '\n');
