// npm run bench:tests [-- --tests N] [--concurrency N] [--poll-ms N] [--retry-delay-ms N]
//
// Trace-based test runs against the example shop. The hub (SQLite, OTLP/HTTP receiver, in its own process) and the
// shop (examples/shop, traced with the OpenTelemetry SDK, batches exported every 50 ms) run as child processes. The
// bench applies a polling profile and N tests (default 100) of 5 specs each over four requests of the shop, runs every
// test once one after another and once more with `--concurrency` runs (default 10) in flight, and measures each run:
// wall time, trigger time, settle time (trigger end → the trace's last span stored + one retryDelay, read from the
// stored spans' arrival times) and what the hub adds beyond those two. The last line printed is one JSON object.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const { values } = parseArgs({
  options: {
    tests: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '10' },
    'poll-ms': { type: 'string', default: '10' },
    'retry-delay-ms': { type: 'string', default: '200' },
    'bsp-delay-ms': { type: 'string', default: '50' },
  },
});
const TESTS = Number(values.tests);
const CONCURRENCY = Number(values.concurrency);
const POLL_MS = Number(values['poll-ms']);
const RETRY_DELAY_MS = Number(values['retry-delay-ms']);
const BSP_DELAY_MS = Number(values['bsp-delay-ms']);
const GOAL_ADDED_MS = 100;
const SPECS_PER_TEST = 5;
const PASSWORD = 'bench-admin-password';
const say = (...args) => process.stderr.write(`[bench:tests] ${args.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const here = (f) => new URL(f, import.meta.url).pathname;
const round1 = (x) => Math.round(x * 10) / 10;
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const loadAtStart = loadavg();

// ---- hub and shop -----------------------------------------------------------------------------------------------------
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
/** Spawns a process and resolves to the first match of `ready` in its stdout. */
function start(args, options, ready, what) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited early (${code}): ${out}`)));
  });
}
/** The hub's event-loop delay since the last call. */
const eventLoopDelay = () =>
  new Promise((resolve) => {
    hub.once('message', resolve);
    hub.send('event-loop-delay');
  });
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const {
  child: hub,
  match: [, base, otlpUrl, dataDir],
} = await start(
  [
    ...(process.env.BENCH_HUB_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROF}`] : []),
    here('./hub.mjs'),
  ],
  { env: { ...process.env, BENCH_ADMIN_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  /READY (\S+) (\S+) (\S+)/,
  'the hub',
);

let token;
async function api(method, urlPath, body) {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return JSON.parse(text);
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
const poolKey = (await api('POST', '/api/v1/pools', { name: 'bench' })).key;

// The shop without the live-debugging agent: only its OpenTelemetry SDK, exporting to the hub with the pool key.
const {
  child: shop,
  match: [, shopUrl],
} = await start(
  ['--enable-source-maps', 'dist/server.js'],
  {
    cwd: here('../../examples/shop/'),
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      SPYGLASS_KEY: poolKey,
      OTEL_SERVICE_NAME: 'shop',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_BSP_SCHEDULE_DELAY: String(BSP_DELAY_MS),
    },
  },
  /listening on (http:\/\/\S+)/,
  'the shop',
);
say(`hub ${base}, OTLP ${otlpUrl}, shop ${shopUrl}`);

// ---- the tests ----------------------------------------------------------------------------------------------------------
const json = [{ key: 'content-type', value: 'application/json' }];
const order = (customer, items, coupon) =>
  JSON.stringify({ customer: { id: customer, email: `${customer}@example.test` }, items, coupon });

/** Test i: one of four requests, five specs each (trigger answer, server span, descendants, durations, a count). */
function testResource(i) {
  const id = `bench-${String(i).padStart(3, '0')}`;
  const customer = `c-${i}`;
  const kind = i % 4;
  let trigger;
  let specs;
  if (kind === 0) {
    trigger = { type: 'http', httpRequest: { method: 'GET', url: `${shopUrl}/products`, headers: [] } };
    specs = [
      {
        selector: 'span[tracetest.span.type="general" name="Tracetest trigger"]',
        assertions: [
          'attr:tracetest.response.status = 200',
          'attr:tracetest.response.body | json_path \'$[0].sku\' = "mug"',
          'attr:tracetest.response.body | json_path \'$[*].sku\' contains "sticker"',
        ],
      },
      {
        selector: 'span[tracetest.span.type="http" name="GET /products" kind="server"]',
        assertions: ['attr:http.status_code = 200', 'attr:http.method = "GET"', 'attr:http.route = "/products"'],
      },
      {
        selector: 'span[name="Tracetest trigger"] span[kind="server"]',
        assertions: ['attr:tracetest.selected_spans.count = 1', 'attr:http.target = "/products"'],
      },
      {
        selector: 'span[name="GET /products"]',
        assertions: ['attr:tracetest.span.duration < 2s', 'attr:tracetest.span.status_code = "STATUS_CODE_UNSET"'],
      },
      { selector: 'span[]', assertions: ['attr:tracetest.selected_spans.count = 2'] },
    ];
  } else if (kind === 1) {
    const quantity = 1 + (i % 3);
    trigger = {
      type: 'http',
      httpRequest: {
        method: 'POST',
        url: `${shopUrl}/orders`,
        headers: json,
        body: order(customer, [{ sku: 'sticker', quantity }]),
      },
    };
    specs = [
      {
        selector: 'span[name="Tracetest trigger"]',
        assertions: [
          'attr:tracetest.response.status = 201',
          'attr:tracetest.response.body | json_path \'$.items[0].sku\' = "sticker"',
          `attr:tracetest.response.body | json_path '$.totalCents' = ${300 * quantity}`,
        ],
      },
      {
        selector: 'span[tracetest.span.type="http" name="POST /orders" kind="server"]',
        assertions: [
          'attr:http.status_code = 201',
          'attr:http.method = "POST"',
          'attr:http.request_content_length_uncompressed > 10',
        ],
      },
      {
        selector: 'span[name="POST /orders"] span[name="inventory.reserve"]',
        assertions: ['attr:inventory.reserved = "true"', `attr:product.quantity = ${quantity}`],
      },
      {
        selector: 'span[name="checkout.place_order"]',
        assertions: [
          'attr:tracetest.span.duration < 1s',
          'attr:tracetest.span.duration >= 2ms',
          `attr:customer.id = "${customer}"`,
        ],
      },
      { selector: 'span[name="checkout.place_order"] span[]', assertions: ['attr:tracetest.selected_spans.count = 2'] },
    ];
  } else if (kind === 2) {
    trigger = {
      type: 'http',
      httpRequest: {
        method: 'POST',
        url: `${shopUrl}/orders`,
        headers: json,
        body: order(customer, [{ sku: `no-such-sku-${i}`, quantity: 1 }]),
      },
    };
    specs = [
      {
        selector: 'span[name="Tracetest trigger"]',
        assertions: [
          'attr:tracetest.response.status = 404',
          `attr:tracetest.response.body | json_path '$.error' = "unknown product no-such-sku-${i}"`,
        ],
      },
      {
        selector: 'span[tracetest.span.type="http" name="POST /orders"]',
        assertions: ['attr:http.status_code = 404', 'attr:http.status_text = "NOT FOUND"'],
      },
      {
        selector: 'span[name="checkout.place_order"]',
        assertions: [
          'attr:tracetest.span.status_code = "STATUS_CODE_ERROR"',
          'attr:checkout.refused_status = 404',
          'attr:tracetest.span.status_description contains "unknown product"',
        ],
      },
      {
        selector: 'span[name="checkout.place_order"] span[name="inventory.find"]',
        assertions: ['attr:inventory.found = "false"', 'attr:tracetest.span.duration < 500ms'],
      },
      { selector: 'span[kind="internal"]', assertions: ['attr:tracetest.selected_spans.count = 3'] },
    ];
  } else {
    trigger = {
      type: 'http',
      httpRequest: {
        method: 'POST',
        url: `${shopUrl}/orders`,
        headers: json,
        body: order(
          customer,
          [
            { sku: 'mug', quantity: 1 },
            { sku: 'sticker', quantity: 2 },
          ],
          'WELCOME5',
        ),
      },
    };
    specs = [
      {
        selector: 'span[name="Tracetest trigger"]',
        assertions: [
          'attr:tracetest.response.status = 201',
          "attr:tracetest.response.body | json_path '$.discountCents' = 90",
          'attr:tracetest.response.body | json_path \'$.items[*].sku\' contains "mug"',
        ],
      },
      {
        selector: 'span[tracetest.span.type="http" kind="server"]',
        assertions: ['attr:http.status_code = 201', 'attr:http.route = "/orders"'],
      },
      {
        selector: 'span[name="checkout.place_order"]',
        assertions: ['attr:order.coupon = "WELCOME5"', 'attr:order.total_cents = 1710', 'attr:order.item_count = 2'],
      },
      {
        selector: 'span[name="checkout.place_order"] span[name="inventory.find"]',
        assertions: ['attr:tracetest.selected_spans.count = 2', 'attr:inventory.found = "true"'],
      },
      {
        selector: 'span[name="POST /orders"] span[]',
        assertions: ['attr:tracetest.span.duration < 1s', 'attr:tracetest.selected_spans.count = 5'],
      },
    ];
  }
  return {
    type: 'Test',
    spec: { id, name: `bench ${i} (${['products', 'order', 'refused', 'coupon'][kind]})`, trigger, specs },
  };
}

const resources = Array.from({ length: TESTS }, (_, i) => testResource(i));
await api('POST', '/api/v1/test-resources', {
  resources: [
    {
      type: 'PollingProfile',
      spec: {
        id: 'bench',
        name: 'bench',
        default: true,
        strategy: 'periodic',
        periodic: { retryDelay: `${RETRY_DELAY_MS}ms`, timeout: '30s', selectorMatchRetries: 3 },
      },
    },
    ...resources,
  ],
});
say(`applied ${TESTS} tests of ${SPECS_PER_TEST} specs`);

// ---- running --------------------------------------------------------------------------------------------------------
let polls = 0;
/** Starts a run and polls it every POLL_MS until it has ended; the client wall time is POST sent → end seen. */
async function runOnce(testId) {
  const t0 = performance.now();
  const sentAt = Date.now();
  const started = await api('POST', `/api/v1/tests/${testId}/run`, {});
  const postMs = performance.now() - t0;
  for (;;) {
    await sleep(POLL_MS);
    polls++;
    const run = await api('GET', `/api/v1/tests/${testId}/runs/${started.runNumber}`);
    if (run.finishedAt !== null)
      return { run, clientWallMs: performance.now() - t0, postMs, sentAt, seenAt: Date.now() };
  }
}

async function phase(name, concurrency) {
  const ids = resources.map((r) => r.spec.id);
  const out = [];
  let next = 0;
  const cpuHub = cpuSeconds(hub.pid);
  const cpuShop = cpuSeconds(shop.pid);
  const cpuBench = process.cpuUsage();
  polls = 0;
  await eventLoopDelay();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) out.push(await runOnce(ids[next++]));
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const hubEventLoopDelayMs = await eventLoopDelay();
  const bench = process.cpuUsage(cpuBench);
  const cpu = {
    hub_s: round1(cpuSeconds(hub.pid) - cpuHub),
    shop_s: round1(cpuSeconds(shop.pid) - cpuShop),
    bench_s: round1((bench.user + bench.system) / 1e6),
  };
  say(
    `${name}: ${out.length} runs in ${wallS.toFixed(1)} s, ${polls} polls; CPU ${JSON.stringify(cpu)}; hub event-loop delay ${JSON.stringify(hubEventLoopDelayMs)}`,
  );
  return { name, concurrency, runs: out, wallS, cpu, polls, hubEventLoopDelayMs };
}

// One run of each kind first: the first request of each route warms the shop, the hub and the SDK's exporter.
say('warming up');
for (let i = 0; i < Math.min(4, TESTS); i++) await runOnce(resources[i].spec.id);
const sequential = await phase('sequential', 1);
const concurrent = await phase(`concurrency ${CONCURRENCY}`, CONCURRENCY);

// What the hub costs doing nothing, and what one poll of a run costs it, to tell those apart from the runs' own work.
const idleCpu = cpuSeconds(hub.pid);
await sleep(3000);
const hubIdleCpuPct = round1(((cpuSeconds(hub.pid) - idleCpu) / 3) * 100);
const last = sequential.runs[0].run;
const pollCpu = cpuSeconds(hub.pid);
const pollLatencies = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  await api('GET', `/api/v1/tests/${last.testId}/runs/${last.runNumber}`);
  pollLatencies.push(performance.now() - t);
}
const pollCost = {
  hub_cpu_ms: round1(((cpuSeconds(hub.pid) - pollCpu) * 1000) / pollLatencies.length),
  p50_ms: round1(percentile(pollLatencies, 50)),
  p99_ms: round1(percentile(pollLatencies, 99)),
};
say(`hub idle CPU ${hubIdleCpuPct} % of a core; one poll: ${JSON.stringify(pollCost)}`);

// ---- measuring ----------------------------------------------------------------------------------------------------------
// Arrival times from the hub's database (WAL: a reader beside the hub's writer), read once every run has ended.
const db = new Database(path.join(dataDir, 'spyglass.db'), { readonly: true, fileMustExist: true });
const spansOf = db.prepare('select span_id, start_us, duration_us, ingested_ms from spans where trace_id = ?');

const stats = (xs) => ({
  p50: round1(percentile(xs, 50)),
  p95: round1(percentile(xs, 95)),
  p99: round1(percentile(xs, 99)),
  mean: round1(xs.reduce((a, b) => a + b, 0) / xs.length),
  max: round1(Math.max(...xs)),
});

function measure({ run, clientWallMs, postMs, sentAt, seenAt }) {
  const rows = spansOf.all(run.traceId);
  const trig = rows.find((r) => r.span_id === run.triggerSpanId);
  const app = rows.filter((r) => r.span_id !== run.triggerSpanId);
  if (trig === undefined || app.length === 0) return { run, clientWallMs, broken: true };
  // All on the hub's clock: the trigger span's start and end (µs), the runs' timestamps and arrivals (ms).
  const triggerStartMs = Number(trig.start_us) / 1000;
  const triggerMs = Number(trig.duration_us) / 1000;
  const triggerEndMs = triggerStartMs + triggerMs;
  const lastArrivalMs = Math.max(...app.map((r) => Number(r.ingested_ms)));
  const exportMs = Math.max(0, lastArrivalMs - triggerEndMs);
  const settleMs = exportMs + RETRY_DELAY_MS;
  const hubWallMs = run.finishedAt - run.createdAt;
  return {
    run,
    clientWallMs,
    hubWallMs,
    triggerMs,
    exportMs,
    settleMs,
    addedMs: clientWallMs - triggerMs - settleMs,
    hubAddedMs: hubWallMs - triggerMs - settleMs,
    beforeTriggerMs: triggerStartMs - run.createdAt,
    afterSettleMs: run.finishedAt - (triggerEndMs + settleMs),
    clientOverheadMs: clientWallMs - hubWallMs,
    postMs,
    // The machine's clock on both sides (one host): request sent → run created, run ended → end seen by a poll.
    toCreatedMs: run.createdAt - sentAt,
    seenLagMs: seenAt - run.finishedAt,
  };
}

const failed = [];
function report(p) {
  const m = p.runs.map(measure);
  for (const x of m) {
    const bad = x.run.state !== 'FINISHED' || x.run.passed !== true || x.broken;
    if (!bad) continue;
    const lines = [];
    for (const spec of x.run.results ?? [])
      for (const a of spec.assertions)
        for (const s of a.spans)
          if (!s.passed) lines.push(`${spec.selector} → ${a.assertion} on ${s.spanId}: ${s.observed} ${s.error ?? ''}`);
    failed.push({ phase: p.name, test: x.run.testId, state: x.run.state, lastError: x.run.lastError, failures: lines });
  }
  const ok = m.filter((x) => !x.broken);
  const specs = p.runs.reduce((n, { run }) => n + (run.results?.length ?? 0), 0);
  const specsPassed = p.runs.reduce((n, { run }) => n + (run.results?.filter((r) => r.passed).length ?? 0), 0);
  const pick = (k) => stats(ok.map((x) => x[k]));
  return {
    concurrency: p.concurrency,
    tests: p.runs.length,
    specs,
    specs_passed: specsPassed,
    passed: p.runs.filter(({ run }) => run.state === 'FINISHED' && run.passed === true).length,
    wall_s: round1(p.wallS),
    tests_per_s: round1(p.runs.length / p.wallS),
    per_test_ms: pick('clientWallMs'),
    hub_wall_ms: pick('hubWallMs'),
    trigger_ms: pick('triggerMs'),
    export_ms: pick('exportMs'),
    settle_ms: pick('settleMs'),
    added_latency_ms: pick('addedMs'),
    hub_added_latency_ms: pick('hubAddedMs'),
    before_trigger_ms: pick('beforeTriggerMs'),
    after_settle_ms: pick('afterSettleMs'),
    client_overhead_ms: pick('clientOverheadMs'),
    post_ms: pick('postMs'),
    sent_to_created_ms: pick('toCreatedMs'),
    end_seen_lag_ms: pick('seenLagMs'),
    trace_wait_ms: stats(p.runs.map(({ run }) => run.timings.traceMs)),
    assert_ms: stats(p.runs.map(({ run }) => run.timings.assertMs)),
    polls: p.polls,
    cpu: p.cpu,
    hub_cpu_ms_per_test: Math.round((p.cpu.hub_s * 1000) / p.runs.length),
    // Without the bench's polls and the hub's idle work: what a run itself costs the hub (request, trigger, ingest of
    // its spans, the wait loop, assertions, saves).
    hub_cpu_ms_per_test_without_polls: Math.round(
      (p.cpu.hub_s * 1000 - p.polls * pollCost.hub_cpu_ms - (hubIdleCpuPct / 100) * p.wallS * 1000) / p.runs.length,
    ),
    hub_event_loop_delay_ms: p.hubEventLoopDelayMs,
  };
}
const seq = report(sequential);
const conc = report(concurrent);
db.close();
for (const f of failed)
  say(`FAILED ${f.phase} ${f.test}: ${f.state} ${f.lastError ?? ''}\n  ${f.failures.join('\n  ')}`);
for (const [name, r] of [
  ['sequential', seq],
  [`concurrency ${CONCURRENCY}`, conc],
]) {
  say(
    `${name}: per test p50 ${r.per_test_ms.p50} ms (trigger ${r.trigger_ms.p50} + settle ${r.settle_ms.p50} + added ${r.added_latency_ms.p50}); added p95 ${r.added_latency_ms.p95} p99 ${r.added_latency_ms.p99} mean ${r.added_latency_ms.mean}; hub-side added p50 ${r.hub_added_latency_ms.p50} p99 ${r.hub_added_latency_ms.p99}`,
  );
}

const hubExited = new Promise((r) => hub.once('exit', r));
shop.kill('SIGTERM');
hub.kill('SIGTERM');
await Promise.race([hubExited, sleep(15_000)]);

// The goal is per test: the sequential runs, where nothing else competes for the hub. The concurrent phase reports its
// own verdict (on two cores, ten runs in flight also wait for CPU).
const met = seq.added_latency_ms.p99 < GOAL_ADDED_MS;
const result = {
  tests: TESTS,
  specs: TESTS * SPECS_PER_TEST,
  passed: seq.passed,
  specs_passed: seq.specs_passed,
  wall_s: seq.wall_s,
  per_test_ms: { p50: seq.per_test_ms.p50, p95: seq.per_test_ms.p95, p99: seq.per_test_ms.p99 },
  added_latency_ms: {
    p50: seq.added_latency_ms.p50,
    p95: seq.added_latency_ms.p95,
    p99: seq.added_latency_ms.p99,
    mean: seq.added_latency_ms.mean,
  },
  goal_added_ms: GOAL_ADDED_MS,
  met,
  concurrent: {
    concurrency: CONCURRENCY,
    passed: conc.passed,
    specs_passed: conc.specs_passed,
    wall_s: conc.wall_s,
    per_test_ms: { p50: conc.per_test_ms.p50, p95: conc.per_test_ms.p95, p99: conc.per_test_ms.p99 },
    added_latency_ms: {
      p50: conc.added_latency_ms.p50,
      p95: conc.added_latency_ms.p95,
      p99: conc.added_latency_ms.p99,
      mean: conc.added_latency_ms.mean,
    },
    met: conc.added_latency_ms.p99 < GOAL_ADDED_MS,
  },
  failed_runs: failed.length,
  sequential_detail: seq,
  concurrent_detail: conc,
  retry_delay_ms: RETRY_DELAY_MS,
  bsp_schedule_delay_ms: BSP_DELAY_MS,
  poll_ms: POLL_MS,
  poll_cost: pollCost,
  hub_idle_cpu_pct: hubIdleCpuPct,
  load_start: loadAtStart,
  load_end: loadavg(),
  node: process.version,
};
console.log(JSON.stringify(result));
process.exit(failed.length === 0 ? 0 : 1);
