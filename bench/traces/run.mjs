// npm run bench:traces [-- --spans N] [--connections N] [--burner]
//
// The hub (SQLite, in its own process) takes OTLP/HTTP protobuf exports from a separate sender process: spans of 20
// attributes, 10 spans per trace, 512 spans per request, until N spans (default 1,000,000) are stored. A 200 from the
// hub means the spans are written, so the sender's rate is the stored rate; the bench checks it by fetching sampled
// traces and reading the hub's stored-span count. Then, with everything stored, it times `GET /api/v1/traces/{id}` of
// 1,000-span traces and service + attribute searches. It samples the hub's RSS throughout. `--burner` runs a CPU
// burner process beside it. The last line printed is one JSON object.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '4' },
    searches: { type: 'string', default: '100' },
    gets: { type: 'string', default: '200' },
    burner: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.spans);
const PASSWORD = 'bench-admin-password';
const say = (...args) => process.stderr.write(`[bench:traces] ${args.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const here = (f) => new URL(f, import.meta.url).pathname;

const burner = values.burner ? spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }) : null;
const loadAtStart = loadavg();

// ---- hub ------------------------------------------------------------------------------------------------------------
const hub = spawn(
  process.execPath,
  [
    ...(process.env.BENCH_HUB_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROF}`] : []),
    here('./hub.mjs'),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_ADMIN_PASSWORD: PASSWORD },
  },
);
process.on('exit', () => {
  hub.kill('SIGKILL');
  burner?.kill('SIGKILL');
});
const [base, otlpUrl] = await new Promise((resolve, reject) => {
  let out = '';
  hub.stdout.on('data', (d) => {
    out += d;
    const m = /READY (\S+) (\S+)/.exec(out);
    if (m) resolve([m[1], m[2]]);
  });
  hub.once('exit', (code) => reject(new Error(`hub exited early (${code})`)));
});
let maxRssMb = 0;
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${hub.pid}/status`, 'utf8'))[1]) / 1024;
const sampler = setInterval(() => {
  try {
    maxRssMb = Math.max(maxRssMb, rssMb());
  } catch {
    // the hub is gone
  }
}, 200);

let token;
async function api(path) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
  return res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
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
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'bench' }),
  });
  token = (await created.json()).token;
}
const poolRes = await fetch(`${base}/api/v1/pools`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ name: 'bench' }),
});
const poolKey = (await poolRes.json()).key;

/** Runs the sender process and resolves to its JSON report. */
function send(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./sender.mjs'), '--url', otlpUrl, '--key', poolKey, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`sender exited ${code}`)),
    );
  });
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
async function timed(path) {
  const t0 = performance.now();
  const body = await api(path);
  return { ms: performance.now() - t0, body };
}

// ---- ingest -----------------------------------------------------------------------------------------------------------
say(`warming up`);
await send(['--requests', '20', '--connections', values.connections]);
const hubCpuSeconds = () => {
  const f = readFileSync(`/proc/${hub.pid}/stat`, 'utf8')
    .slice(readFileSync(`/proc/${hub.pid}/stat`, 'utf8').lastIndexOf(')') + 2)
    .split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const requests = Math.ceil(TOTAL / 512);
const hubCpuBefore = hubCpuSeconds();
say(`sending ${requests} requests of 512 spans over ${values.connections} connections`);
const ingest = await send(['--requests', String(requests), '--connections', values.connections]);
const spansPerS = ingest.spans / ingest.seconds;
const hubCpuIngest = hubCpuSeconds() - hubCpuBefore;
say(
  `hub CPU ${hubCpuIngest.toFixed(1)} s, sender CPU ${ingest.cpuSeconds.toFixed(1)} s over ${ingest.seconds.toFixed(1)} s of ingest`,
);
say(
  `${ingest.spans} spans in ${ingest.seconds.toFixed(1)} s: ${Math.round(spansPerS)} spans/s (503 answers: ${ingest.busy})`,
);
const big = await send([
  '--requests',
  '5',
  '--connections',
  '1',
  '--spans-per-request',
  '1000',
  '--spans-per-trace',
  '1000',
  '--services',
  '1',
]);

// ---- check: every sampled trace is complete, the hub counts what was sent --------------------------------------------
let incomplete = 0;
for (const id of ingest.sampleIds) {
  const t = await api(`/api/v1/traces/${id}`);
  if (t.spanCount !== 10) incomplete++;
}
const expected = 20 * 512 + ingest.spans + big.spans;
let stored = 0;
for (let i = 0; i < 30; i++) {
  const metrics = await api('/metrics');
  stored = Number(/^spyglass_traces_stored_spans (\d+)/m.exec(metrics)?.[1] ?? 0);
  if (stored >= expected) break;
  await sleep(1000);
}
say(`stored ${stored} of ${expected} sent; ${incomplete} of ${ingest.sampleIds.length} sampled traces incomplete`);

// ---- reads with everything stored -------------------------------------------------------------------------------------
const gets = [];
for (let i = 0; i < Number(values.gets); i++) {
  const id = big.sampleIds[i % big.sampleIds.length];
  const r = await timed(`/api/v1/traces/${id}`);
  if (r.body.spanCount !== 1000) throw new Error(`trace ${id} has ${r.body.spanCount} spans, not 1000`);
  gets.push(r.ms);
}
const searches = [];
let found = 0;
for (let i = 0; i < Number(values.searches); i++) {
  const r = await timed(`/api/v1/traces?service=svc-${i % 4}&attr=tenant=t-${(i * 7) % 50}&limit=20`);
  found += r.body.items.length;
  searches.push(r.ms);
}
const rare = [];
for (let i = 0; i < Math.min(20, Number(values.searches)); i++) {
  const r = await timed(`/api/v1/traces?service=svc-${i % 4}&attr=http.status_code=500&minDuration=0ms&limit=20`);
  rare.push(r.ms);
}
clearInterval(sampler);
const rssEnd = rssMb();
const hubExited = new Promise((r) => hub.once('exit', r));
hub.kill('SIGTERM');
await Promise.race([hubExited, sleep(15_000)]);
burner?.kill('SIGKILL');

const result = {
  spans_per_s: Math.round(spansPerS),
  hub_rss_mb: Math.round(Math.max(maxRssMb, rssEnd)),
  trace_get_p99_ms: Number(percentile(gets, 99).toFixed(1)),
  search_p99_ms: searches.length === 0 ? null : Number(percentile(searches, 99).toFixed(1)),
  stored_spans: stored,
  sent_spans: expected,
  sampled_traces_incomplete: incomplete,
  retry_later_answers: ingest.busy,
  failed_requests: ingest.failed,
  trace_get_p50_ms: Number(percentile(gets, 50).toFixed(1)),
  search_p50_ms: searches.length === 0 ? null : Number(percentile(searches, 50).toFixed(1)),
  search_avg_items: searches.length === 0 ? null : Number((found / searches.length).toFixed(1)),
  search_status500_p99_ms: rare.length === 0 ? null : Number(percentile(rare, 99).toFixed(1)),
  request_bytes: ingest.requestBytes,
  hub_cpu_s_per_100k_spans: Number(((hubCpuIngest / ingest.spans) * 100_000).toFixed(2)),
  sender_cpu_s_per_100k_spans: Number(((ingest.cpuSeconds / ingest.spans) * 100_000).toFixed(2)),
  load_start: loadAtStart,
  load_end: loadavg(),
  burner: values.burner,
  node: process.version,
};
console.log(JSON.stringify(result));
process.exit(0);
