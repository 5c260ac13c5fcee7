// node bench/agent/at-rest.mjs [--settle S] [--seconds N] [--runs R] — what an agent at rest costs a process that does
// nothing: the small service (`server.mjs`) with no requests, alone, with the agent and no hub, and with the agent
// connected to the bench's hub. After S seconds of settling (20 by default: start-up, the first heartbeat, V8's memory
// reducer), it reads every thread's CPU time (`/proc/<pid>/task/<tid>/schedstat`) and the app's thread's voluntary
// context switches (each one a wake-up) at the start and the end of an N-second window (20 by default). Linux only.
// Prints progress on stderr and one JSON line on stdout: medians over R runs (3 by default) of each configuration.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startHub } from './bench-hub.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const arg = (flag, dflt) => {
  const i = process.argv.indexOf(flag);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${flag} takes a positive number, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return n;
};
const settleS = arg('--settle', 20);
const windowS = arg('--seconds', 20);
const runs = Math.round(arg('--runs', 3));
if (!existsSync('/proc/self/task')) {
  console.error('at-rest.mjs reads /proc/<pid>/task: Linux only');
  process.exit(2);
}

const register = here('../../packages/agent-node/dist/register.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Every thread of the process: its name, CPU time so far (ns) and voluntary context switches. */
function threads(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${tid}`;
      const cpuNs = Number(readFileSync(`${dir}/schedstat`, 'latin1').split(' ')[0]);
      const name = readFileSync(`${dir}/comm`, 'latin1').trim();
      const wakes = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`${dir}/status`, 'latin1'))[1]);
      out.set(tid, { name, cpuNs, wakes });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** One process at rest: CPU ms per second of all its threads, of the app's thread, and the app's thread's wake-ups. */
async function atRest(preload, env) {
  const child = spawn(process.execPath, [...(preload ? ['--import', preload] : []), here('./server.mjs')], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`server.mjs exited (${code}) before it listened`)));
    child.stdout.on('data', (d) => /port \d+/.test(String(d)) && resolve());
  });
  await sleep(settleS * 1000);
  const a = threads(child.pid);
  const t0 = process.hrtime.bigint();
  await sleep(windowS * 1000);
  const b = threads(child.pid);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  const main = String(child.pid);
  let all = 0;
  // Threads by name (V8's and libuv's name themselves; a worker thread, such as the agent's control thread, is
  // `node` as the app's own thread is, which is named `app` here).
  const byName = {};
  for (const [tid, end] of b) {
    const ms = (end.cpuNs - (a.get(tid)?.cpuNs ?? 0)) / 1e6 / s;
    all += ms;
    const name = tid === main ? 'app' : end.name;
    byName[name] = (byName[name] ?? 0) + ms;
  }
  const mainEnd = b.get(main);
  const mainStart = a.get(main);
  return {
    cpuMsPerS: all,
    mainCpuMsPerS: mainEnd && mainStart ? (mainEnd.cpuNs - mainStart.cpuNs) / 1e6 / s : null,
    mainWakesPerS: mainEnd && mainStart ? (mainEnd.wakes - mainStart.wakes) / s : null,
    byName,
  };
}

const hub = await startHub();
const configs = [
  ['none', undefined, {}],
  ['agent_no_hub', register, {}],
  ['agent_connected', register, hub.env],
];
const results = Object.fromEntries(configs.map(([name]) => [name, []]));
try {
  for (let r = 0; r < runs; r++) {
    for (const [name, preload, env] of configs) {
      const m = await atRest(preload, env);
      results[name].push(m);
      console.error(
        `run ${r + 1}/${runs} ${name}: ${m.cpuMsPerS.toFixed(3)} ms of CPU a second (app's thread ` +
          `${m.mainCpuMsPerS?.toFixed(3)}, ${m.mainWakesPerS?.toFixed(2)} wake-ups a second); ` +
          Object.entries(m.byName)
            .filter(([, ms]) => ms >= 0.005)
            .map(([n, ms]) => `${n} ${ms.toFixed(3)}`)
            .join(', '),
      );
    }
  }
} finally {
  hub.stop();
}
const r3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);
const summary = (list) => ({
  cpu_ms_per_s: r3(median(list.map((m) => m.cpuMsPerS))),
  app_thread_cpu_ms_per_s: r3(median(list.map((m) => m.mainCpuMsPerS ?? 0))),
  app_thread_wakeups_per_s: r3(median(list.map((m) => m.mainWakesPerS ?? 0))),
});
process.stdout.write(
  JSON.stringify({
    settle_s: settleS,
    window_s: windowS,
    runs,
    ...Object.fromEntries(Object.entries(results).map(([name, list]) => [name, summary(list)])),
  }) + '\n',
);
