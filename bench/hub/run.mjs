// npm run bench:hub [-- --agents N] [--hits N] [--rounds N]
//
// Starts the hub in a child process, connects N simulated agents over loopback from this process (raw `ws`,
// protocol level), then measures: hub RSS with every agent connected, hub CPU while idle, time from an action
// create until every matching agent has it (each agent acknowledges with action_status at once), and hit ingestion
// rate. The last line printed is one JSON object.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    hits: { type: 'string', default: '500000' },
    rounds: { type: 'string', default: '5' },
    'idle-seconds': { type: 'string', default: '10' },
    /** Write a CPU profile of the hub process into this directory. */
    'hub-cpu-prof': { type: 'string' },
  },
});
const N = Number(values.agents);
const TOTAL_HITS = Number(values.hits);
const ROUNDS = Number(values.rounds);
const IDLE_S = Number(values['idle-seconds']);
const PASSWORD = 'bench-admin-password';
const say = (...args) => process.stderr.write(`[bench:hub] ${args.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- hub process ------------------------------------------------------------------------------------------------
const profile = values['hub-cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['hub-cpu-prof']}`];
const hub = spawn(
  process.execPath,
  [...profile, process.env.BENCH_HUB_SCRIPT ?? new URL('./hub.mjs', import.meta.url).pathname],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_ADMIN_PASSWORD: PASSWORD },
  },
);
const base = await new Promise((resolve, reject) => {
  let out = '';
  hub.stdout.on('data', (d) => {
    out += d;
    const m = /READY (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  hub.once('exit', (code) => reject(new Error(`hub exited early (${code})`)));
});
const wsBase = base.replace(/^http/, 'ws');
const stopHub = () => new Promise((r) => (hub.exitCode !== null ? r() : (hub.once('exit', r), hub.kill('SIGTERM'))));
process.on('exit', () => hub.kill('SIGKILL'));

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpuTicks: Number(fields[11]) + Number(fields[12]) };
}
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

// ---- REST --------------------------------------------------------------------------------------------------------
let token;
async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
{
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.test', password: PASSWORD }),
  });
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const created = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: base },
    body: JSON.stringify({ name: 'bench' }),
  });
  token = (await created.json()).token;
}
const pool = await api('POST', '/api/v1/pools', { name: 'bench' });

// ---- simulated agents ---------------------------------------------------------------------------------------------
/** action id → performance.now() of its arrival at each agent. */
const arrivals = new Map();

class Agent {
  constructor(i) {
    this.i = i;
    this.known = new Set();
  }
  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}/api/v1/agents/connect`, {
        headers: { authorization: `Bearer ${pool.key}` },
        perMessageDeflate: false,
      });
      this.ws = ws;
      ws.once('error', reject);
      ws.on('open', () =>
        ws.send(
          JSON.stringify({
            type: 'hello',
            v: 1,
            instanceId: `bench-agent-${String(this.i).padStart(6, '0')}`,
            service: { name: `svc-${this.i % 20}` },
            tags: { shard: String(this.i % 10) },
            hostname: `host-${this.i}`,
            pid: 1000 + this.i,
            runtime: { name: 'node', version: process.versions.node },
            agentVersion: 'bench',
          }),
        ),
      );
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'welcome') {
          this.agentId = f.agentId;
          resolve();
        } else if (f.type === 'actions') this.onActions(f.items);
        else if (f.type === 'policy') {
          let list = policyArrivals.get(f.revision);
          if (list === undefined) policyArrivals.set(f.revision, (list = []));
          list.push(performance.now());
        }
      });
    });
  }
  onActions(items) {
    const now = performance.now();
    const fresh = items.filter((a) => !this.known.has(a.id));
    this.known = new Set(items.map((a) => a.id));
    if (fresh.length === 0) return;
    for (const a of fresh) {
      let list = arrivals.get(a.id);
      if (list === undefined) arrivals.set(a.id, (list = []));
      list.push(now);
    }
    // Acknowledge right after this turn of the event loop, so one simulated agent's ack does not delay the
    // arrival of the next agent's frame (in reality every agent is its own process).
    setImmediate(() => {
      const at = Date.now();
      const statuses = fresh.map((a) => ({ actionId: a.id, state: 'active', method: 'patch', at }));
      this.ws.send(JSON.stringify({ type: 'action_status', v: 1, statuses }));
    });
  }
}

/** Pool policy revision → when each agent received its `policy` frame. */
const policyArrivals = new Map();
const agents = Array.from({ length: N }, (_, i) => new Agent(i));
const t0 = performance.now();
for (let i = 0; i < N; i += 250) await Promise.all(agents.slice(i, i + 250).map((a) => a.connect()));
say(`${N} agents connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// ---- memory and idle CPU ------------------------------------------------------------------------------------------
await sleep(3000);
const hubRss = rssMb(hub.pid);
const c0 = procStat(hub.pid).cpuTicks;
const w0 = performance.now();
await sleep(IDLE_S * 1000);
const idleCpu = ((procStat(hub.pid).cpuTicks - c0) / 100 / ((performance.now() - w0) / 1000)) * 100;
say(`hub RSS ${hubRss.toFixed(0)} MB, idle CPU ${idleCpu.toFixed(2)} % over ${IDLE_S} s`);

// ---- dispatch latency ---------------------------------------------------------------------------------------------
const latencies = [];
for (let r = 0; r < ROUNDS; r++) {
  const body = {
    kind: 'log',
    file: 'src/bench.ts',
    line: 10 + r,
    template: `round ${r} {x}`,
    target: { pool: 'bench' },
  };
  const started = performance.now();
  const action = await api('POST', '/api/v1/actions', body);
  const deadline = performance.now() + 30_000;
  while ((arrivals.get(action.id)?.length ?? 0) < N && performance.now() < deadline) await sleep(5);
  const got = (arrivals.get(action.id) ?? []).map((t) => t - started);
  latencies.push(...got);
  say(
    `round ${r + 1}: ${got.length}/${N} agents have the action; first ${Math.min(...got).toFixed(0)} ms, max ${Math.max(...got).toFixed(0)} ms`,
  );
  // wait until the hub recorded every acknowledgement, then clean up
  const ackDeadline = performance.now() + 30_000;
  for (;;) {
    const a = await api('GET', `/api/v1/actions/${action.id}`);
    if ((a.statusCounts.active ?? 0) >= N || performance.now() > ackDeadline) {
      say(
        `round ${r + 1}: hub recorded ${a.statusCounts.active ?? 0} acknowledgements after ${(performance.now() - started).toFixed(0)} ms`,
      );
      break;
    }
    await sleep(50);
  }
  await api('DELETE', `/api/v1/actions/${action.id}`);
  await sleep(500);
}
latencies.sort((a, b) => a - b);
{
  // Hub-side view of the same rounds: how long each pass of computing and writing every agent's frame took.
  const text = await (await fetch(`${base}/metrics`)).text();
  const sum = Number(/^spyglass_gateway_dispatch_duration_seconds_sum (\S+)/m.exec(text)?.[1]);
  const count = Number(/^spyglass_gateway_dispatch_duration_seconds_count (\S+)/m.exec(text)?.[1]);
  say(`hub dispatch passes: ${count}, mean ${((sum / count) * 1000).toFixed(0)} ms to compute and write the frames`);
}
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;

// ---- pool policy push ---------------------------------------------------------------------------------------------
// Time from sending `PUT /api/v1/pools/bench/policy` until each agent has the `policy` frame in hand.
const policyLatencies = [];
for (let r = 0; r < ROUNDS; r++) {
  const started = performance.now();
  const record = await api('PUT', '/api/v1/pools/bench/policy', { redaction: { values: [`BENCH-${r}-\\d{4}`] } });
  const deadline = performance.now() + 30_000;
  while ((policyArrivals.get(record.revision)?.length ?? 0) < N && performance.now() < deadline) await sleep(5);
  const got = (policyArrivals.get(record.revision) ?? []).map((t) => t - started);
  policyLatencies.push(...got);
  say(
    `policy round ${r + 1}: ${got.length}/${N} agents have revision ${record.revision}; max ${Math.max(...got).toFixed(0)} ms`,
  );
  await sleep(200);
}
policyLatencies.sort((a, b) => a - b);
const policyPct = (p) =>
  policyLatencies[Math.min(policyLatencies.length - 1, Math.floor((p / 100) * policyLatencies.length))] ?? NaN;

// ---- hit ingestion ------------------------------------------------------------------------------------------------
const logAction = await api('POST', '/api/v1/actions', {
  kind: 'log',
  file: 'src/bench.ts',
  line: 99,
  template: 'order {id}',
  maxHits: 10_000_000,
  target: { pool: 'bench' },
});
const senders = agents.slice(0, Math.min(N, 100));
await (async () => {
  const deadline = performance.now() + 30_000;
  while (senders.some((a) => !a.known.has(logAction.id)) && performance.now() < deadline) await sleep(10);
})();
const BATCH = 500;
const framesPerSender = Math.max(1, Math.round(TOTAL_HITS / BATCH / senders.length));
const totalHits = framesPerSender * BATCH * senders.length;
const message = 'order 12345 paid 99.95 EUR by customer 6789 via card ending 4242 (bench payload)';
const hitStart = performance.now();
for (let f = 0; f < framesPerSender; f++) {
  const at = Date.now();
  for (const a of senders) {
    const logs = Array.from({ length: BATCH }, () => ({ actionId: logAction.id, at, level: 'info', message }));
    a.ws.send(JSON.stringify({ type: 'hits', v: 1, logs }));
  }
  await sleep(0);
}
let hitCount = 0;
const hitDeadline = performance.now() + 120_000;
while (hitCount < totalHits && performance.now() < hitDeadline) {
  await sleep(100);
  hitCount = (await api('GET', `/api/v1/actions/${logAction.id}`)).hitCount;
}
const hitSeconds = (performance.now() - hitStart) / 1000;
const hitsPerS = hitCount / hitSeconds;
say(`${hitCount}/${totalHits} hits stored in ${hitSeconds.toFixed(2)} s`);

for (const a of agents) a.ws.terminate();
await stopHub();

const round = (x, d = 1) => Number(x.toFixed(d));
const result = {
  agents: N,
  hub_rss_mb: round(hubRss),
  idle_cpu_pct: round(idleCpu, 2),
  dispatch_p50_ms: round(pct(50)),
  dispatch_p99_ms: round(pct(99)),
  policy_push_p50_ms: round(policyPct(50)),
  policy_push_p99_ms: round(policyPct(99)),
  hits_per_s: Math.round(hitsPerS),
};
say(
  `goals: rss ${round(hubRss / 1024, 2)}x of 1 GB, dispatch p99 ${round(result.dispatch_p99_ms / 1000, 2)}x of 1 s, policy push p99 ${round(result.policy_push_p99_ms / 1000, 2)}x of 1 s, ingestion ${round(hitsPerS / 50_000, 2)}x of 50k/s`,
);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
