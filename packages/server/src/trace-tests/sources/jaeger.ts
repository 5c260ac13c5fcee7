import protobuf from 'protobufjs';
import { SpyglassError, type Span } from '@spyglass/protocol';
import type { DataStoreSpec } from '@spyglass/trace-tests';
import type { SpanRow } from '../../traces/span-store.js';
import {
  grpcServerStream,
  GrpcCallError,
  grpcStatus,
  grpcStatusName,
  parseGrpcEndpoint,
  type GrpcEndpoint,
} from './grpc-call.js';
import { policedGet, shownUrl, splitCredentials, type GetAnswer } from './http-get.js';
import {
  checkedTraceId,
  excerpt,
  resolveOptions,
  rowsFromOtlpJson,
  rowsFromOtlpProto,
  sourceError,
  spansFromRows,
  type ResolvedSourceOptions,
  type SourceOptions,
  type TraceSource,
} from './source.js';

/**
 * Jaeger's trace model as its query service answers `GET /api/traces/{id}` (the UI's JSON API), turned into OTLP/JSON
 * the way Jaeger's own OTLP translator reads it back: `span.kind`, `otel.status_code`, `error`, `otel.scope.*` and
 * `w3c.tracestate` tags become the span's kind, status, scope and trace state; the process becomes the resource;
 * logs become events (the `event` field their name); the parent is the first CHILD_OF reference into the same trace
 * (else the first FOLLOWS_FROM one) and the other references become links.
 */

interface JaegerKv {
  key?: unknown;
  type?: unknown;
  value?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** Jaeger writes 64-bit trace ids in 16 digits and may drop leading zeros of span ids. */
function padId(v: unknown, digits: number): string {
  const s = text(v).toLowerCase();
  return s.length > 0 && s.length < digits && /^[0-9a-f]+$/.test(s) ? s.padStart(digits, '0') : s;
}

/** A tag's value as an OTLP AnyValue (JSON mapping). */
function anyValue(kv: JaegerKv): Obj {
  const v = kv.value;
  const type = typeof kv.type === 'string' ? kv.type.toLowerCase() : '';
  switch (type) {
    case 'bool':
      return { boolValue: v === true || v === 'true' };
    case 'int64':
      return intValue(v);
    case 'float64':
      return { doubleValue: typeof v === 'number' ? v : Number(v) };
    case 'binary':
      return { bytesValue: text(v) };
    case 'string':
      return { stringValue: typeof v === 'string' ? v : JSON.stringify(v ?? null) };
    default:
      if (typeof v === 'boolean') return { boolValue: v };
      if (typeof v === 'number') return Number.isInteger(v) ? intValue(v) : { doubleValue: v };
      return { stringValue: typeof v === 'string' ? v : JSON.stringify(v ?? null) };
  }
}

function intValue(v: unknown): Obj {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return { intValue: v };
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) return { intValue: BigInt(v).toString() };
    return { doubleValue: v };
  }
  if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) return { intValue: v };
  return { stringValue: text(v) };
}

/** Tags by key (the last one wins, as in an attribute map), in their order. */
class Tags {
  readonly #map = new Map<string, JaegerKv>();

  constructor(list: unknown) {
    for (const kv of objs(list)) {
      const key = text(kv.key);
      if (key === '') continue;
      this.#map.delete(key);
      this.#map.set(key, kv);
    }
  }

  get(key: string): JaegerKv | undefined {
    return this.#map.get(key);
  }

  str(key: string): string | undefined {
    const kv = this.#map.get(key);
    return kv === undefined ? undefined : text(kv.value);
  }

  take(key: string): JaegerKv | undefined {
    const kv = this.#map.get(key);
    this.#map.delete(key);
    return kv;
  }

  attributes(): Obj[] {
    return [...this.#map].map(([key, kv]) => ({ key, value: anyValue(kv) }));
  }
}

const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function isTrue(kv: JaegerKv | undefined): boolean {
  return kv !== undefined && (kv.value === true || kv.value === 'true');
}

function numberOf(kv: JaegerKv | undefined): number | undefined {
  if (kv === undefined) return undefined;
  const n = typeof kv.value === 'number' ? kv.value : Number(text(kv.value));
  return Number.isFinite(n) ? n : undefined;
}

/** Status from the tags Jaeger's translators write, removing the ones it consumes. */
function statusOf(tags: Tags, kind: number): { code: number; message: string } {
  let code = 0;
  let message = '';
  let decided = false;
  if (isTrue(tags.get('error'))) {
    tags.take('error');
    code = 2;
    decided = true;
    message = text(tags.take('otel.status_description')?.value) || (tags.str('http.status_message') ?? '');
  }
  const otelCode = tags.take('otel.status_code');
  if (otelCode !== undefined && !decided) {
    decided = true;
    const c = text(otelCode.value).toUpperCase();
    code = c === 'OK' ? 1 : c === 'ERROR' ? 2 : 0;
    message = text(tags.take('otel.status_description')?.value);
  }
  if (!decided) {
    // No explicit status: a failed HTTP exchange (4xx is a server's answer to a bad request, not its own failure).
    const http = numberOf(tags.get('http.status_code')) ?? numberOf(tags.get('http.response.status_code'));
    if (http !== undefined && (http < 100 || http >= 400) && !(http < 500 && http >= 400 && kind === 2)) {
      code = 2;
      message = tags.str('http.status_message') ?? '';
    }
  }
  return { code, message };
}

function nanos(us: unknown): string {
  const n = typeof us === 'number' ? us : Number(text(us));
  if (!Number.isFinite(n) || n < 0) return '0';
  return (BigInt(Math.round(n)) * 1000n).toString();
}

/** One span of the Jaeger model as an OTLP/JSON span, with its scope. */
function otlpSpan(span: Obj): { span: Obj; scope: { name: string; version: string } } {
  const traceId = padId(span.traceID, 32);
  const tags = new Tags(span.tags);
  const kindTag = tags.take('span.kind');
  const kind = KINDS[text(kindTag?.value).toLowerCase()] ?? 0;
  const status = statusOf(tags, kind);
  const scopeName = tags.take('otel.scope.name') ?? tags.take('otel.library.name');
  const scopeVersion = tags.take('otel.scope.version') ?? tags.take('otel.library.version');
  tags.take('otel.library.name');
  tags.take('otel.library.version');
  const traceState = text(tags.take('w3c.tracestate')?.value);

  const refs = objs(span.references).map((r) => ({
    type: text(r.refType).toUpperCase(),
    traceId: padId(r.traceID, 32),
    spanId: padId(r.spanID, 16),
  }));
  let parent = refs.findIndex((r) => r.type === 'CHILD_OF' && r.traceId === traceId);
  if (parent < 0) parent = refs.findIndex((r) => r.type === 'FOLLOWS_FROM' && r.traceId === traceId);
  const links = refs
    .filter((_, i) => i !== parent)
    .map((r) => ({
      traceId: r.traceId,
      spanId: r.spanId,
      attributes: [
        {
          key: 'opentracing.ref_type',
          value: { stringValue: r.type === 'FOLLOWS_FROM' ? 'follows_from' : 'child_of' },
        },
      ],
    }));

  const events = objs(span.logs).map((log) => {
    const fields = new Tags(log.fields);
    const event = fields.get('event');
    const name = event !== undefined && typeof event.value === 'string' ? event.value : '';
    if (name !== '') fields.take('event');
    return { timeUnixNano: nanos(log.timestamp), name, attributes: fields.attributes() };
  });

  const startNs = nanos(span.startTime);
  const endNs = (BigInt(startNs) + BigInt(nanos(span.duration))).toString();
  return {
    span: {
      traceId,
      spanId: padId(span.spanID, 16),
      parentSpanId: parent < 0 ? '' : refs[parent]!.spanId,
      traceState,
      name: text(span.operationName),
      kind,
      startTimeUnixNano: startNs,
      endTimeUnixNano: endNs,
      attributes: tags.attributes(),
      events,
      links,
      status,
    },
    scope: { name: text(scopeName?.value), version: text(scopeVersion?.value) },
  };
}

/** One trace of Jaeger's JSON model as OTLP/JSON resource spans (one resource per process, one scope per library). */
export function jaegerTraceToOtlp(trace: unknown): Obj[] {
  if (!isObj(trace)) return [];
  const processes = isObj(trace.processes) ? trace.processes : {};
  const resources = new Map<string, { resource: Obj; scopes: Map<string, { scope: Obj; spans: Obj[] }> }>();
  const spans = objs(trace.spans);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    const processId = text(s.processID);
    const shared = processes[processId];
    const process: Obj = isObj(shared) ? shared : isObj(s.process) ? s.process : {};
    // Spans that carry their process inline (older answers) have a resource each.
    const key = isObj(shared) ? `p:${processId}` : `s:${i}`;
    let r = resources.get(key);
    if (r === undefined) {
      const tags = new Tags(process.tags);
      const service = text(process.serviceName);
      const attributes = tags.attributes().filter((a) => a.key !== 'service.name');
      if (service !== '') attributes.unshift({ key: 'service.name', value: { stringValue: service } });
      r = { resource: { attributes }, scopes: new Map() };
      resources.set(key, r);
    }
    const { span, scope } = otlpSpan(s);
    const scopeKey = `${scope.name}\u0000${scope.version}`;
    let sc = r.scopes.get(scopeKey);
    if (sc === undefined) r.scopes.set(scopeKey, (sc = { scope, spans: [] }));
    sc.spans.push(span);
  }
  return [...resources.values()].map((r) => ({
    resource: r.resource,
    scopeSpans: [...r.scopes.values()].map((s) => ({ scope: s.scope, spans: s.spans })),
  }));
}

// ---- the source -------------------------------------------------------------------------------------------------

type JaegerApi =
  | { kind: 'http'; base: URL; headers: Record<string, string>; verifyTls: boolean }
  | { kind: 'http-v3'; base: URL; headers: Record<string, string>; verifyTls: boolean }
  | { kind: 'grpc'; endpoint: GrpcEndpoint; tls: NonNullable<DataStoreSpec['jaeger']>['tls'] };

function parseHttpUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SpyglassError('INVALID_INPUT', `${what} ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SpyglassError('INVALID_INPUT', `${what} ${JSON.stringify(raw)}: only http and https URLs are polled`);
  return url;
}

/**
 * How a Jaeger endpoint is written: `http(s)://host:16686[/base]` → the HTTP JSON API (with `/api/v3` at the end:
 * the api_v3 HTTP API); `host:16685` (Tracetest's form) → api_v3 over gRPC.
 */
function jaegerApi(spec: NonNullable<DataStoreSpec['jaeger']>): JaegerApi {
  const endpoint = spec.endpoint.trim();
  if (/^https?:\/\//i.test(endpoint)) {
    const { url, headers } = splitCredentials(parseHttpUrl(endpoint, 'jaeger endpoint'));
    url.pathname = url.pathname.replace(/\/+$/, '');
    url.search = '';
    url.hash = '';
    const verifyTls = spec.tls?.insecure !== true && spec.tls?.insecureSkipVerify !== true;
    if (/\/api\/v3$/.test(url.pathname)) return { kind: 'http-v3', base: url, headers, verifyTls };
    return { kind: 'http', base: url, headers, verifyTls };
  }
  const grpcEndpoint = parseGrpcEndpoint(endpoint);
  if (grpcEndpoint === null)
    throw new SpyglassError(
      'INVALID_INPUT',
      `jaeger endpoint ${JSON.stringify(spec.endpoint)} is neither host:port (gRPC query API, usually port 16685) nor an http(s) URL of the HTTP query API (usually http://jaeger:16686)`,
    );
  return { kind: 'grpc', endpoint: grpcEndpoint, tls: spec.tls };
}

function parseJson(answer: GetAnswer, label: string): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  } catch {
    throw sourceError(label, `answered ${answer.status} with a body that is not JSON: ${excerpt(answer.body)}`);
  }
}

/** Jaeger's error envelope: `{"errors":[{"code":404,"msg":"trace not found"}]}`. */
function jaegerErrors(body: unknown): string {
  if (!isObj(body)) return '';
  const errors = objs(body.errors)
    .map((e) => text(e.msg))
    .filter((m) => m !== '');
  const v3 = isObj(body.error) ? text(body.error.message) : '';
  return [...errors, v3].filter((m) => m !== '').join('; ');
}

function looksLikeHtml(answer: GetAnswer): boolean {
  return answer.contentType.includes('html') || /^\s*<(!doctype|html)/i.test(answer.body.subarray(0, 64).toString());
}

async function fetchHttp(
  api: Extract<JaegerApi, { kind: 'http' | 'http-v3' }>,
  traceId: string,
  o: ResolvedSourceOptions,
  signal: AbortSignal,
): Promise<SpanRow[]> {
  const url = new URL(api.base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${api.kind === 'http' ? '/api/traces/' : '/traces/'}${traceId}`;
  const label = `jaeger at ${shownUrl(url)}`;
  const answer = await policedGet({
    url,
    headers: { accept: 'application/json', ...api.headers },
    verifyTls: api.verifyTls,
    policy: o.policy,
    timeoutMs: o.timeoutMs,
    maxBytes: o.maxAnswerBytes,
    signal,
    label,
  });
  if (answer.status === 404 && !looksLikeHtml(answer)) return [];
  if (answer.status !== 200) {
    let detail = excerpt(answer.body);
    if (!looksLikeHtml(answer)) {
      try {
        detail = jaegerErrors(JSON.parse(answer.body.toString('utf8'))) || detail;
      } catch {
        // not JSON: the excerpt says what came
      }
    }
    throw sourceError(label, `answered ${answer.status}: ${detail}`);
  }
  if (api.kind === 'http-v3') return rowsFromV3Http(answer, label, o);
  const body = parseJson(answer, label);
  if (!isObj(body) || !('data' in body))
    throw sourceError(label, `answered JSON that is not Jaeger's trace answer ({"data":[…]}): ${excerpt(answer.body)}`);
  const rows: SpanRow[] = [];
  for (const trace of objs(body.data)) rows.push(...rowsFromOtlpJson(jaegerTraceToOtlp(trace), o.limits, label));
  return rows;
}

/** api_v3 over HTTP: `{"result":{"resourceSpans":[…]}}`, or one such object per line when streamed in chunks. */
function rowsFromV3Http(answer: GetAnswer, label: string, o: ResolvedSourceOptions): SpanRow[] {
  const bodyText = answer.body.toString('utf8');
  let chunks: unknown[];
  try {
    chunks = [JSON.parse(bodyText)];
  } catch {
    try {
      chunks = bodyText
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown);
    } catch {
      throw sourceError(label, `answered ${answer.status} with a body that is not JSON: ${excerpt(answer.body)}`);
    }
  }
  const rows: SpanRow[] = [];
  for (const chunk of chunks) {
    if (!isObj(chunk)) continue;
    if (isObj(chunk.error)) {
      const e = chunk.error;
      if (e.httpCode === 404 || e.grpcCode === 5) continue;
      throw sourceError(label, `answered an error: ${text(e.message) || excerpt(JSON.stringify(e))}`);
    }
    const result = isObj(chunk.result) ? chunk.result : chunk;
    rows.push(...rowsFromOtlpJson(result.resourceSpans, o.limits, label));
  }
  return rows;
}

const GetTraceRequest = new protobuf.Type('GetTraceRequest').add(new protobuf.Field('traceId', 1, 'string'));

async function fetchGrpc(
  api: Extract<JaegerApi, { kind: 'grpc' }>,
  traceId: string,
  o: ResolvedSourceOptions,
  signal: AbortSignal,
): Promise<SpanRow[]> {
  const label = `jaeger at ${api.endpoint.authority} (gRPC api_v3)`;
  let messages: Buffer[];
  try {
    messages = await grpcServerStream({
      endpoint: api.endpoint,
      tls: api.tls,
      path: '/jaeger.api_v3.QueryService/GetTrace',
      request: Buffer.from(GetTraceRequest.encode({ traceId }).finish()),
      policy: o.policy,
      timeoutMs: o.timeoutMs,
      maxBytes: o.maxAnswerBytes,
      signal,
      label,
    });
  } catch (err) {
    if (!(err instanceof GrpcCallError)) throw err;
    if (err.code === grpcStatus.NOT_FOUND || /trace not found/i.test(err.details)) return [];
    if (err.code === grpcStatus.UNIMPLEMENTED)
      throw sourceError(
        label,
        `does not serve jaeger.api_v3.QueryService (${err.details}); Jaeger serves it on its gRPC query port (16685) since 1.35 — or write the HTTP query API as the endpoint: http://${api.endpoint.host}:16686`,
      );
    throw sourceError(label, `answered gRPC status ${grpcStatusName(err.code)}: ${err.details}`);
  }
  // Each message is a TracesData: its field 1, the resource spans, reads as an export request's.
  const rows: SpanRow[] = [];
  for (const m of messages) rows.push(...rowsFromOtlpProto(m, o.limits, label));
  return rows;
}

/** Polls Jaeger's query service for a trace (HTTP JSON API, its api_v3 over HTTP, or api_v3 over gRPC). */
export function jaegerSource(spec: NonNullable<DataStoreSpec['jaeger']>, options: SourceOptions): TraceSource {
  const api = jaegerApi(spec);
  const o = resolveOptions(options);
  const label =
    api.kind === 'grpc' ? `jaeger at ${api.endpoint.authority} (gRPC api_v3)` : `jaeger at ${shownUrl(api.base)}`;
  return {
    label,
    async fetch(asked: string, signal: AbortSignal): Promise<Span[]> {
      const traceId = checkedTraceId(asked);
      const rows =
        api.kind === 'grpc' ? await fetchGrpc(api, traceId, o, signal) : await fetchHttp(api, traceId, o, signal);
      return spansFromRows(rows, traceId, o.maxSpans);
    },
  };
}
