import protobuf from 'protobufjs';
import { SpyglassError, type Span } from '@spyglass/protocol';
import type { DataStoreSpec } from '@spyglass/trace-tests';
import type { SpanRow } from '../../traces/span-store.js';
import {
  GrpcCallError,
  grpcStatus,
  grpcStatusName,
  grpcUnary,
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

type TempoSpec = NonNullable<DataStoreSpec['tempo']>;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Scheme-less URLs are http, as Tracetest reads them (`tempo:3200`). */
function tempoUrl(raw: string): URL {
  const t = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new SpyglassError('INVALID_INPUT', `tempo http.url ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SpyglassError(
      'INVALID_INPUT',
      `tempo http.url ${JSON.stringify(raw)}: only http and https URLs are polled`,
    );
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * The resource spans of Tempo's trace-by-id answer in any of its JSON shapes: `{"batches":[…]}` (Tempo 1.x and 2.x
 * before OTLP 1.0 naming), `{"resourceSpans":[…]}` (later 2.x) and `{"trace":{"resourceSpans":[…]}}` (the v2 API).
 * Ids are base64 there (protobuf's JSON mapping); the converter's input is rewritten to hex.
 */
export function tempoResourceSpans(body: unknown): unknown[] | null {
  if (!isObj(body)) return null;
  const holder = isObj(body.trace) ? body.trace : body;
  for (const key of ['resourceSpans', 'batches'] as const) {
    if (Array.isArray(holder[key])) return holder[key] as unknown[];
  }
  // Tempo answers `{}` for a trace it holds no spans of.
  return Object.keys(body).length === 0 || (isObj(body.trace) && Object.keys(body.trace).length === 0) ? [] : null;
}

function isProtobuf(answer: GetAnswer): boolean {
  return /application\/(x-)?protobuf/.test(answer.contentType);
}

async function fetchHttp(
  base: URL,
  headers: Record<string, string>,
  verifyTls: boolean,
  traceId: string,
  o: ResolvedSourceOptions,
  signal: AbortSignal,
): Promise<SpanRow[]> {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/traces/${traceId}`;
  const label = `tempo at ${shownUrl(url)}`;
  const answer = await policedGet({
    url,
    headers: { accept: 'application/json', ...headers },
    verifyTls,
    policy: o.policy,
    timeoutMs: o.timeoutMs,
    maxBytes: o.maxAnswerBytes,
    signal,
    label,
  });
  // Tempo answers 404 (text body) until some block or ingester holds the trace.
  if (answer.status === 404 && !answer.contentType.includes('html')) return [];
  if (answer.status !== 200) throw sourceError(label, `answered ${answer.status}: ${excerpt(answer.body)}`);
  if (isProtobuf(answer)) return rowsFromOtlpProto(answer.body, o.limits, label);
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw sourceError(label, `answered 200 with a body that is not JSON: ${excerpt(answer.body)}`);
  }
  const resourceSpans = tempoResourceSpans(body);
  if (resourceSpans === null)
    throw sourceError(
      label,
      `answered JSON that is not Tempo's trace answer ({"batches":[…]} or {"resourceSpans":[…]}): ${excerpt(answer.body)}`,
    );
  return rowsFromOtlpJson(resourceSpans, o.limits, label);
}

const TraceByIdRequest = new protobuf.Type('TraceByIDRequest').add(new protobuf.Field('traceID', 1, 'bytes'));

/** The `trace` (field 1) of a TraceByIDResponse: a Trace, whose field 1 holds the resource spans. */
function traceOf(answer: Buffer): Buffer[] {
  const r = protobuf.Reader.create(answer);
  const out: Buffer[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) out.push(Buffer.from(r.bytes()));
    else r.skipType(tag & 7);
  }
  return out;
}

async function fetchGrpc(
  endpoint: GrpcEndpoint,
  tls: NonNullable<TempoSpec['grpc']>['tls'],
  traceId: string,
  o: ResolvedSourceOptions,
  signal: AbortSignal,
): Promise<SpanRow[]> {
  const label = `tempo at ${endpoint.authority} (gRPC)`;
  let answer: Buffer;
  try {
    answer = await grpcUnary({
      endpoint,
      tls,
      path: '/tempopb.Querier/FindTraceByID',
      request: Buffer.from(TraceByIdRequest.encode({ traceID: Buffer.from(traceId, 'hex') }).finish()),
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
        `does not serve tempopb.Querier (${err.details}); poll Tempo's HTTP API instead (type: http, http.url: http://${endpoint.host}:3200)`,
      );
    throw sourceError(label, `answered gRPC status ${grpcStatusName(err.code)}: ${err.details}`);
  }
  let traces: Buffer[];
  try {
    traces = traceOf(answer);
  } catch (err) {
    throw sourceError(label, `answered bytes that are not a TraceByIDResponse: ${(err as Error).message}`);
  }
  const rows: SpanRow[] = [];
  for (const t of traces) rows.push(...rowsFromOtlpProto(t, o.limits, label));
  return rows;
}

/** Polls Grafana Tempo for a trace: `GET /api/traces/{id}` over HTTP, or `Querier/FindTraceByID` over gRPC. */
export function tempoSource(spec: TempoSpec, options: SourceOptions): TraceSource {
  const o = resolveOptions(options);
  if (spec.type === 'grpc') {
    const grpc = spec.grpc;
    if (grpc === undefined) throw new SpyglassError('INVALID_INPUT', 'tempo type grpc needs grpc.endpoint');
    const endpoint = parseGrpcEndpoint(grpc.endpoint);
    if (endpoint === null)
      throw new SpyglassError(
        'INVALID_INPUT',
        `tempo grpc.endpoint ${JSON.stringify(grpc.endpoint)} must be host:port (Tempo's gRPC port is usually 9095)`,
      );
    return {
      label: `tempo at ${endpoint.authority} (gRPC)`,
      async fetch(asked: string, signal: AbortSignal): Promise<Span[]> {
        const traceId = checkedTraceId(asked);
        return spansFromRows(await fetchGrpc(endpoint, grpc.tls, traceId, o, signal), traceId, o.maxSpans);
      },
    };
  }
  const http = spec.http;
  if (http === undefined) throw new SpyglassError('INVALID_INPUT', 'tempo type http needs http.url');
  const { url: base, headers: fromUrl } = splitCredentials(tempoUrl(http.url));
  const headers: Record<string, string> = { ...fromUrl };
  for (const [k, v] of Object.entries(http.headers ?? {})) headers[k.toLowerCase()] = v;
  const verifyTls = http.tls?.insecure !== true && http.tls?.insecureSkipVerify !== true;
  return {
    label: `tempo at ${shownUrl(base)}`,
    async fetch(asked: string, signal: AbortSignal): Promise<Span[]> {
      const traceId = checkedTraceId(asked);
      return spansFromRows(await fetchHttp(base, headers, verifyTls, traceId, o, signal), traceId, o.maxSpans);
    },
  };
}
