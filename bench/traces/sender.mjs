// The load generator, in its own process: OTLP/HTTP protobuf export requests made by the OpenTelemetry serializer
// from real SDK spans (20 attributes each, 10 spans per trace, 512 spans per request), encoded once; every request
// is the template with fresh trace ids written over the template's. Sends `--requests` of them over `--connections`
// keep-alive connections, backing off on 503 (the hub's "retry later"), and prints one JSON line when done.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    requests: { type: 'string', default: '100' },
    connections: { type: 'string', default: '4' },
    'spans-per-request': { type: 'string', default: '512' },
    'spans-per-trace': { type: 'string', default: '10' },
    services: { type: 'string', default: '4' },
  },
});
const REQUESTS = Number(values.requests);
const CONNECTIONS = Number(values.connections);
const PER_REQUEST = Number(values['spans-per-request']);
const PER_TRACE = Number(values['spans-per-trace']);
const SERVICES = Number(values.services);

/** One template request: `SERVICES` resources, traces of `PER_TRACE` spans (a root and its children). */
function template(variant) {
  const spans = [];
  const perService = Math.ceil(PER_REQUEST / SERVICES);
  let made = 0;
  let traceNo = 0;
  for (let s = 0; s < SERVICES && made < PER_REQUEST; s++) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': `svc-${s}`,
        'service.version': '1.0.0',
        'host.name': `host-${s}`,
      }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('bench', '1.0.0');
    for (let i = 0; i < perService && made < PER_REQUEST;) {
      const tenant = `t-${(traceNo + variant * 5) % 50}`;
      const root = tracer.startSpan(`GET /api/items/${traceNo % 20}`, { attributes: attrs(traceNo, 0, tenant) });
      const ctx = trace.setSpan(ROOT_CONTEXT, root);
      for (let c = 1; c < PER_TRACE && i + c < perService && made + c < PER_REQUEST; c++)
        tracer.startSpan(`step-${c}`, { attributes: attrs(traceNo, c, tenant) }, ctx).end();
      root.end();
      const n = Math.min(PER_TRACE, perService - i, PER_REQUEST - made);
      i += n;
      made += n;
      traceNo++;
    }
    spans.push(...exporter.getFinishedSpans());
  }
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans));
}

/** 20 attributes: strings, integers, a double and booleans, like an instrumented HTTP service's. */
function attrs(t, c, tenant) {
  return {
    'http.method': 'GET',
    'http.route': `/api/items/${t % 20}`,
    'http.status_code': t % 100 === 0 ? 500 : 200,
    'http.target': `/api/items/${t % 20}?page=${c}`,
    'http.scheme': 'http',
    'http.user_agent': 'Mozilla/5.0 (X11; Linux x86_64) bench/1.0',
    'net.host.name': 'shop.internal',
    'net.host.port': 8080,
    'net.peer.ip': '10.0.0.12',
    tenant,
    'user.id': `user-${(t * 7) % 1000}`,
    'order.id': `order-${t}-${c}`,
    'db.system': 'postgresql',
    'db.rows': (t + c) % 37,
    'cache.hit': c % 2 === 0,
    retry: false,
    'payload.bytes': 1024 + c,
    ratio: 0.25 + c / 100,
    region: 'eu-west-1',
    'build.sha': 'a1b2c3d4e5f6',
  };
}

/** Ten templates whose traces carry different tenants, so every service sees every tenant over a run. */
const VARIANTS = 10;
const templates = Array.from({ length: VARIANTS }, (_, v) => {
  const buf = template(v);
  // Where the template's trace ids sit: field 1 (0x0a, length 16) of each span, followed by its span id (field 2,
  // 0x12, length 8), which tells ids from look-alike bytes. Every occurrence is overwritten per request.
  const byId = new Map();
  for (let i = 0; i + 20 <= buf.length; i++) {
    if (buf[i] === 0x0a && buf[i + 1] === 16 && buf[i + 18] === 0x12 && buf[i + 19] === 8) {
      const id = buf.subarray(i + 2, i + 18).toString('hex');
      if (!byId.has(id)) byId.set(id, []);
      byId.get(id).push(i + 2);
    }
  }
  return { buf, offsets: [...byId.values()] };
});
const base = templates[0].buf;
const traceCount = templates[0].offsets.length;
const spansInTemplate = templates[0].offsets.reduce((n, o) => n + o.length, 0);
for (const t of templates) {
  const spans = t.offsets.reduce((n, o) => n + o.length, 0);
  if (spans !== spansInTemplate) throw new Error(`a template has ${spans} spans, not ${spansInTemplate}`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const url = new URL(`${values.url}/v1/traces`);
function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-protobuf',
          'content-length': body.length,
          authorization: `Bearer ${values.key}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let next = 0;
let ok = 0;
let busy = 0;
let failed = 0;
const sampleIds = [];
const started = performance.now();
let firstOkAt = 0;
let lastOkAt = 0;
async function worker() {
  for (;;) {
    const n = next++;
    if (n >= REQUESTS) return;
    const t = templates[n % VARIANTS];
    const body = Buffer.from(t.buf);
    const ids = [];
    for (const list of t.offsets) {
      const id = randomBytes(16);
      for (const at of list) id.copy(body, at);
      ids.push(id.toString('hex'));
    }
    for (let attempt = 0; ; attempt++) {
      const res = await post(body);
      if (res.status === 200) {
        ok++;
        lastOkAt = performance.now();
        if (firstOkAt === 0) firstOkAt = lastOkAt;
        if (n % Math.max(1, Math.floor(REQUESTS / 20)) === 0) sampleIds.push(ids[0]);
        break;
      }
      if (res.status === 503) {
        busy++;
        await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
        continue;
      }
      failed++;
      process.stderr.write(`[sender] answer ${res.status}: ${res.body.toString().slice(0, 200)}\n`);
      break;
    }
    if (n % 200 === 0 && n > 0) process.stderr.write(`[sender] ${n}/${REQUESTS} requests\n`);
  }
}
await Promise.all(Array.from({ length: CONNECTIONS }, () => worker()));
const seconds = (performance.now() - started) / 1000;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    requests: REQUESTS,
    ok,
    busy,
    failed,
    spans: ok * spansInTemplate,
    spansPerRequest: spansInTemplate,
    tracesPerRequest: traceCount,
    requestBytes: base.length,
    seconds,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    sampleIds,
  })}\n`,
);
