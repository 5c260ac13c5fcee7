// npm run bench:k8s [-- --events N] [--connections N] [--traces N] [--burner]
//
// The hub (SQLite, in its own process) takes audit.k8s.io/v1 EventList batches of 400 events (the API server's
// default webhook batch) on POST /api/v1/k8s/audit/<cluster> until N events (default 200,000) are stored: writes by
// controllers, kubelets and users over 5,000 objects, one in five at RequestResponse level with the object in the
// response (so diffs are computed), the rest at Metadata level. A 200 means stored, so the rate is the stored rate.
// Then it records a Deployment with 50 pods over 24 hours (status patches every 30 minutes, scale and image changes,
// Events) and times GET /api/v1/k8s/trace of the Deployment with its ReplicaSets and pods over those 24 hours.
// `--burner` runs a CPU burner beside it. The last line printed is one JSON object.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    connections: { type: 'string', default: '4' },
    traces: { type: 'string', default: '200' },
    burner: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.events);
const BATCH = 400;
const PASSWORD = 'bench-admin-password';
const GOAL_EVENTS_PER_S = 10_000;
const GOAL_TRACE_P99_MS = 300;
const say = (...args) => process.stderr.write(`[bench:k8s] ${args.join(' ')}\n`);
const loadavg = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

const burner = values.burner ? spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }) : null;
const loadAtStart = loadavg();

// The hub process of bench:traces: the real app with every module, on a file SQLite database.
const hub = spawn(
  process.execPath,
  [
    ...(process.env.BENCH_HUB_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROF}`] : []),
    new URL('../traces/hub.mjs', import.meta.url).pathname,
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
const base = await new Promise((resolve, reject) => {
  let out = '';
  hub.stdout.on('data', (d) => {
    out += d;
    const m = /READY (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  hub.once('exit', (code) => reject(new Error(`hub exited early (${code})`)));
});
let maxRssMb = 0;
const sampler = setInterval(() => {
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${hub.pid}/status`, 'utf8'))[1]);
    maxRssMb = Math.max(maxRssMb, kb / 1024);
  } catch {
    // the hub is gone
  }
}, 200);

let token;
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
const poolKey = await fetch(`${base}/api/v1/pools`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ name: 'bench-k8s' }),
})
  .then((r) => r.json())
  .then((p) => p.key);

// ---- audit events as the API server writes them ---------------------------------------------------------------------
const micro = (ms) => `${new Date(ms).toISOString().slice(0, 23)}123Z`;
const seconds = (ms) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const USERS = [
  [
    'system:serviceaccount:kube-system:replicaset-controller',
    'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:replicaset-controller',
  ],
  ['system:node:worker-1', 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350'],
  ['alice', 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350'],
  ['system:serviceaccount:argocd:argocd-application-controller', 'argocd-application-controller/v2.11.0'],
];
function podObject(ns, name, rv, atMs, phase) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace: ns,
      uid: randomUUID(),
      resourceVersion: String(rv),
      creationTimestamp: seconds(atMs),
      labels: { app: name.slice(0, 20), 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${name.slice(0, -6)}`,
          uid: randomUUID(),
          controller: true,
        },
      ],
      managedFields: [
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: seconds(atMs),
          fieldsType: 'FieldsV1',
          fieldsV1: {},
        },
      ],
    },
    spec: { nodeName: 'worker-1', containers: [{ name: 'app', image: `registry.example.com/app:${rv % 7}` }] },
    status: {
      phase,
      conditions: [
        { type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: seconds(atMs) },
      ],
    },
  };
}
let rv = 10_000;
function auditEvent(i, atMs) {
  const obj = i % 5000;
  const ns = `ns-${obj % 40}`;
  const name = `app-${obj}-abcde`;
  const [user, ua] = USERS[i % USERS.length];
  const full = i % 5 === 0;
  const ev = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: full ? 'RequestResponse' : 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/${ns}/pods/${name}/status`,
    verb: 'patch',
    user: { username: user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.15'],
    userAgent: ua,
    objectRef: { resource: 'pods', namespace: ns, name, apiVersion: 'v1', subresource: 'status' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: micro(atMs),
    stageTimestamp: micro(atMs + 4),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  };
  if (full) ev.responseObject = podObject(ns, name, ++rv, atMs, i % 10 === 0 ? 'Pending' : 'Running');
  return ev;
}

async function post(cluster, body) {
  for (;;) {
    const res = await fetch(`${base}/api/v1/k8s/audit/${cluster}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${poolKey}` },
      body,
    });
    const text = await res.text();
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (res.status !== 200) throw new Error(`webhook: ${res.status} ${text}`);
    return JSON.parse(text);
  }
}

// ---- 1. ingest rate -------------------------------------------------------------------------------------------------
say(`building ${TOTAL} audit events in batches of ${BATCH}`);
const start = Date.now() - 3600_000;
const bodies = [];
for (let i = 0; i < TOTAL; i += BATCH) {
  const items = [];
  for (let j = i; j < Math.min(TOTAL, i + BATCH); j++) items.push(auditEvent(j, start + j));
  bodies.push(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items }));
}
say(`posting over ${values.connections} connections`);
let next = 0;
let accepted = 0;
const t0 = performance.now();
const tenth = Math.max(BATCH, Math.floor(TOTAL / 10));
let [shown, lastAt, lastCount] = [0, t0, 0];
await Promise.all(
  Array.from({ length: Number(values.connections) }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const r = await post('bench', body);
      accepted += r.accepted;
      if (Math.floor(accepted / tenth) > shown) {
        shown = Math.floor(accepted / tenth);
        const t = performance.now();
        say(`${accepted} stored: ${Math.round((accepted - lastCount) / ((t - lastAt) / 1000))}/s over the last tenth`);
        [lastAt, lastCount] = [t, accepted];
      }
      if (r.accepted !== BATCH && process.env.BENCH_DEBUG) say(JSON.stringify({ ...r, errors: r.errors.slice(0, 2) }));
    }
  }),
);
const ingestS = (performance.now() - t0) / 1000;
const eventsPerS = accepted / ingestS;
say(`${accepted} events stored in ${ingestS.toFixed(1)} s: ${Math.round(eventsPerS)}/s`);

// ---- 2. a Deployment with 50 pods over 24 hours ---------------------------------------------------------------------
const DAY = 24 * 3600_000;
const now = Date.now();
const dayStart = now - DAY;
const trace = [];
const deploy = (rv2, replicas, image) => ({
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'd0000000-0000-4000-8000-000000000001',
    resourceVersion: String(rv2),
    creationTimestamp: seconds(dayStart),
    labels: { app: 'web' },
  },
  spec: { replicas, template: { spec: { containers: [{ name: 'web', image }] } } },
  status: { observedGeneration: rv2 },
});
const ev = (verb, ref, at, user, response, code = 200) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: response === undefined ? 'Metadata' : 'RequestResponse',
  auditID: randomUUID(),
  stage: 'ResponseComplete',
  requestURI: '/',
  verb,
  user: { username: user, groups: [] },
  sourceIPs: ['10.0.0.1'],
  userAgent: 'bench',
  objectRef: ref,
  responseStatus: { metadata: {}, code },
  ...(response === undefined ? {} : { responseObject: response }),
  requestReceivedTimestamp: micro(at),
  stageTimestamp: micro(at + 5),
});
const dref = { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'shop', name: 'web' };
for (let h = 0; h < 48; h++)
  trace.push(ev('patch', dref, dayStart + h * 1800_000, 'alice', deploy(100_000 + h, 50 + (h % 3), `web:${h % 4}`)));
for (let r = 0; r < 2; r++) {
  const rs = `web-rs${r}`;
  const rsRef = { resource: 'replicasets', apiGroup: 'apps', apiVersion: 'v1', namespace: 'shop', name: rs };
  const rsObj = (rv2) => ({
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    metadata: {
      name: rs,
      namespace: 'shop',
      uid: `r000000${r}-0000-4000-8000-000000000001`,
      resourceVersion: String(rv2),
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'web',
          uid: 'd0000000-0000-4000-8000-000000000001',
          controller: true,
        },
      ],
    },
    spec: { replicas: 25 },
  });
  for (let h = 0; h < 48; h++)
    trace.push(
      ev(
        'update',
        rsRef,
        dayStart + h * 1800_000 + 10,
        'system:serviceaccount:kube-system:deployment-controller',
        rsObj(200_000 + r * 100 + h),
      ),
    );
  for (let p = 0; p < 25; p++) {
    const pod = `${rs}-p${p}`;
    const podRef = { resource: 'pods', apiVersion: 'v1', namespace: 'shop', name: pod };
    const podObj = (rv2, at) => ({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name: pod,
        namespace: 'shop',
        uid: randomUUID(),
        resourceVersion: String(rv2),
        creationTimestamp: seconds(dayStart),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs,
            uid: `r000000${r}-0000-4000-8000-000000000001`,
            controller: true,
          },
        ],
      },
      spec: { nodeName: `worker-${p % 5}` },
      status: { phase: 'Running', startTime: seconds(at) },
    });
    trace.push(
      ev(
        'create',
        { ...podRef, name: undefined },
        dayStart + p * 1000,
        'system:serviceaccount:kube-system:replicaset-controller',
        podObj(300_000 + r * 10_000 + p * 100, dayStart),
      ),
    );
    for (let h = 0; h < 48; h++)
      trace.push(
        ev(
          'patch',
          { ...podRef, subresource: 'status' },
          dayStart + h * 1800_000 + 100 + p,
          'system:node:worker-1',
          h % 4 === 0 ? podObj(300_000 + r * 10_000 + p * 100 + h + 1, dayStart + h * 1800_000) : undefined,
        ),
      );
  }
}
for (let i = 0; i < trace.length; i += BATCH)
  await post(
    'bench',
    JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: trace.slice(i, i + BATCH),
    }),
  );
say(`a Deployment with 2 ReplicaSets and 50 pods: ${trace.length} entries over 24 h`);

const url = `${base}/api/v1/k8s/trace?cluster=bench&resource=deployments&namespace=shop&name=web&from=${dayStart - 60_000}&to=${now}`;
const times = [];
let spans = 0;
let events = 0;
for (let i = 0; i < Number(values.traces); i++) {
  const t = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  times.push(performance.now() - t);
  if (res.status !== 200) throw new Error(`trace: ${res.status} ${JSON.stringify(body)}`);
  spans = body.spans.length;
  events = body.spans.reduce((n, s) => n + s.events.length, 0);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
say(`trace of ${spans} objects and ${events} entries: p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms`);
if (spans !== 53)
  throw new Error(`the trace has ${spans} object spans, expected 53 (1 Deployment, 2 ReplicaSets, 50 pods)`);

clearInterval(sampler);
const result = {
  bench: 'k8s',
  events: accepted,
  batch: BATCH,
  connections: Number(values.connections),
  ingest_events_per_s: Math.round(eventsPerS),
  ingest_goal_events_per_s: GOAL_EVENTS_PER_S,
  trace_objects: spans,
  trace_entries: events,
  trace_p50_ms: Number(q(0.5).toFixed(1)),
  trace_p99_ms: Number(q(0.99).toFixed(1)),
  trace_goal_p99_ms: GOAL_TRACE_P99_MS,
  hub_max_rss_mb: Math.round(maxRssMb),
  burner: values.burner,
  load_at_start: loadAtStart,
  goals_met: eventsPerS >= GOAL_EVENTS_PER_S && q(0.99) < GOAL_TRACE_P99_MS,
};
hub.kill('SIGTERM');
burner?.kill('SIGKILL');
await Promise.race([new Promise((r) => hub.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
console.log(JSON.stringify(result));
process.exit(0);
