import type { SpanRow } from '../traces/span-store.js';
import { MAX_NAME_LENGTH, MAX_VALUE_DEPTH, type SpanLimits } from '../traces/span-data.js';

/**
 * OTLP trace requests as plain objects (the OTLP/JSON mapping: lowerCamelCase keys, hex ids, 64-bit integers as
 * decimal strings or numbers, enums as integers) turned into span rows. This is the ingest path of OTLP/JSON and the
 * reference the fast protobuf decoder (`decode-proto.ts`) is proved equal to.
 */

/** A request the hub cannot read at all (HTTP 400 / gRPC INVALID_ARGUMENT); the message says where. */
export class OtlpInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpInputError';
  }
}

/** What a request yielded: rows to store and spans refused (partial success). */
export interface DecodedSpans {
  rows: SpanRow[];
  rejected: number;
  /** The first reasons spans were refused, for the partial-success message. */
  reasons: string[];
  /** Spans the hub cut by its limits (stored, with the cut counted in their dropped counts). */
  truncated: number;
}

export const UNKNOWN_SERVICE = 'unknown_service';
const MAX_REASONS = 5;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, what: string): never {
  throw new OtlpInputError(`${path}: ${what}`);
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'must be an array');
  return v;
}

function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(path, 'must be an object');
  return v;
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(path, 'must be a string');
  return v;
}

function uint(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  fail(path, 'must be a non-negative integer');
}

function enumInt(v: unknown, path: string, names: readonly string[]): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
    if (/^\d+$/.test(v)) return Number(v);
  }
  fail(path, `must be an integer or one of ${names.join(', ')}`);
}

const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** A fixed64 nanosecond time as a BigInt (decimal string or safe integer). */
function nanos(v: unknown, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  fail(path, 'must be a decimal string or integer of nanoseconds');
}

/** Epoch nanoseconds → whole microseconds (floor). */
export const nanosToUs = (ns: bigint): number => Number(ns / 1000n);

/** A 64-bit integer as JSON: a number when it is exact, else a decimal string. */
export function int64Json(v: bigint): string {
  return v >= -9007199254740991n && v <= 9007199254740991n ? String(Number(v)) : JSON.stringify(v.toString());
}

function int64(v: unknown, path: string): bigint {
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
    const b = BigInt(v);
    if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  fail(path, 'must be a 64-bit integer (decimal string or number)');
}

/** Hex id check: `bytes` is the id's length in bytes; returns the lowercase id, '' for an empty one, or null. */
function hexId(v: unknown, bytes: number): string | null {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v)) return null;
  return v.toLowerCase();
}

class Cut {
  truncated = false;
}

function valueJson(v: unknown, path: string, limits: SpanLimits, cut: Cut, depth: number): string {
  const o = obj(v, path);
  if (o === undefined) return 'null';
  if ('stringValue' in o && o.stringValue !== undefined && o.stringValue !== null) {
    let s = str(o.stringValue, `${path}.stringValue`);
    if (s.length > limits.maxAttributeValueLength) {
      s = s.slice(0, limits.maxAttributeValueLength);
      cut.truncated = true;
    }
    return JSON.stringify(s);
  }
  if ('boolValue' in o && o.boolValue !== undefined && o.boolValue !== null) {
    if (typeof o.boolValue !== 'boolean') fail(`${path}.boolValue`, 'must be a boolean');
    return o.boolValue ? 'true' : 'false';
  }
  if ('intValue' in o && o.intValue !== undefined && o.intValue !== null) {
    return int64Json(int64(o.intValue, `${path}.intValue`));
  }
  if ('doubleValue' in o && o.doubleValue !== undefined && o.doubleValue !== null) {
    const d = o.doubleValue;
    if (typeof d === 'number') return JSON.stringify(d);
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return 'null';
    fail(`${path}.doubleValue`, 'must be a number');
  }
  if ('bytesValue' in o && o.bytesValue !== undefined && o.bytesValue !== null) {
    return JSON.stringify(str(o.bytesValue, `${path}.bytesValue`));
  }
  if ('arrayValue' in o && o.arrayValue !== undefined && o.arrayValue !== null) {
    if (depth >= MAX_VALUE_DEPTH) {
      cut.truncated = true;
      return 'null';
    }
    const values = list(obj(o.arrayValue, `${path}.arrayValue`)?.values, `${path}.arrayValue.values`);
    const parts: string[] = [];
    for (let i = 0; i < values.length; i++) {
      if (parts.length >= limits.maxAttributes) {
        cut.truncated = true;
        break;
      }
      parts.push(valueJson(values[i], `${path}.arrayValue.values[${i}]`, limits, cut, depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  if ('kvlistValue' in o && o.kvlistValue !== undefined && o.kvlistValue !== null) {
    if (depth >= MAX_VALUE_DEPTH) {
      cut.truncated = true;
      return 'null';
    }
    const values = list(obj(o.kvlistValue, `${path}.kvlistValue`)?.values, `${path}.kvlistValue.values`);
    const { json, dropped } = attributesJson(values, `${path}.kvlistValue.values`, limits, cut, depth + 1);
    if (dropped > 0) cut.truncated = true;
    return json;
  }
  return 'null';
}

/** Key/value list → JSON object text; counts what the attribute limit dropped. */
function attributesJson(
  kvs: readonly unknown[],
  path: string,
  limits: SpanLimits,
  cut: Cut,
  depth = 0,
): { json: string; dropped: number; service?: string } {
  let json = '{';
  let n = 0;
  let dropped = 0;
  for (let i = 0; i < kvs.length; i++) {
    if (n >= limits.maxAttributes) {
      dropped = kvs.length - i;
      cut.truncated = true;
      break;
    }
    const kv = obj(kvs[i], `${path}[${i}]`) ?? {};
    const key = str(kv.key, `${path}[${i}].key`);
    json += `${n === 0 ? '' : ','}${JSON.stringify(key)}:${valueJson(kv.value, `${path}[${i}].value`, limits, cut, depth)}`;
    n++;
  }
  return { json: json + '}', dropped };
}

function serviceOf(kvs: readonly unknown[]): string {
  let service: string | undefined;
  for (const kv of kvs) {
    if (isObj(kv) && kv.key === 'service.name' && isObj(kv.value) && typeof kv.value.stringValue === 'string')
      service = kv.value.stringValue;
  }
  if (service === undefined || service === '') return UNKNOWN_SERVICE;
  return service.length > MAX_NAME_LENGTH ? service.slice(0, MAX_NAME_LENGTH) : service;
}

/** Converts a request object (OTLP/JSON mapping) into rows; throws OtlpInputError where its shape is wrong. */
export function convertExportRequest(request: unknown, limits: SpanLimits, poolId: string | null): DecodedSpans {
  const out: DecodedSpans = { rows: [], rejected: 0, reasons: [] as string[], truncated: 0 };
  const req = obj(request, 'request');
  if (req === undefined) fail('request', 'must be an object');
  const refuse = (reason: string): void => {
    out.rejected++;
    if (out.reasons.length < MAX_REASONS && !out.reasons.includes(reason)) out.reasons.push(reason);
  };
  const resourceSpans = list(req.resourceSpans, 'resourceSpans');
  for (let ri = 0; ri < resourceSpans.length; ri++) {
    const rp = `resourceSpans[${ri}]`;
    const rs = obj(resourceSpans[ri], rp) ?? {};
    const resource = obj(rs.resource, `${rp}.resource`) ?? {};
    const resourceAttrs = list(resource.attributes, `${rp}.resource.attributes`);
    const resourceCut = new Cut();
    const r = attributesJson(resourceAttrs, `${rp}.resource.attributes`, limits, resourceCut);
    const service = serviceOf(resourceAttrs);
    const scopeKey = rs.scopeSpans !== undefined ? 'scopeSpans' : 'instrumentationLibrarySpans';
    const scopeSpans = list(rs[scopeKey], `${rp}.${scopeKey}`);
    for (let si = 0; si < scopeSpans.length; si++) {
      const sp = `${rp}.${scopeKey}[${si}]`;
      const ss = obj(scopeSpans[si], sp) ?? {};
      const scopeField = scopeKey === 'scopeSpans' ? 'scope' : 'instrumentationLibrary';
      const scope = obj(ss[scopeField], `${sp}.${scopeField}`) ?? {};
      const scopeJson = `[${JSON.stringify(str(scope.name, `${sp}.${scopeField}.name`))},${JSON.stringify(str(scope.version, `${sp}.${scopeField}.version`))}]`;
      const spans = list(ss.spans, `${sp}.spans`);
      for (let i = 0; i < spans.length; i++) {
        const p = `${sp}.spans[${i}]`;
        const s = obj(spans[i], p) ?? {};
        const row = convertSpan(s, p, limits, poolId, service, r.json, scopeJson, resourceCut.truncated, refuse);
        if (row === null) continue;
        if (row.cut) out.truncated++;
        out.rows.push(row.row);
      }
    }
  }
  return out;
}

function convertSpan(
  s: Obj,
  p: string,
  limits: SpanLimits,
  poolId: string | null,
  service: string,
  resourceJson: string,
  scopeJson: string,
  resourceCut: boolean,
  refuse: (reason: string) => void,
): { row: SpanRow; cut: boolean } | null {
  // Shape errors anywhere fail the request; invalid ids refuse only the span.
  const cut = new Cut();
  cut.truncated = resourceCut;
  const traceId = hexId(s.traceId, 16);
  const spanId = hexId(s.spanId, 8);
  const parent = hexId(s.parentSpanId, 8);
  const traceState = str(s.traceState, `${p}.traceState`);
  let name = str(s.name, `${p}.name`);
  const kind = enumInt(s.kind, `${p}.kind`, KIND_NAMES);
  const start = nanos(s.startTimeUnixNano, `${p}.startTimeUnixNano`);
  const end = nanos(s.endTimeUnixNano, `${p}.endTimeUnixNano`);
  const attrs = attributesJson(list(s.attributes, `${p}.attributes`), `${p}.attributes`, limits, cut);
  const droppedAttributes = uint(s.droppedAttributesCount, `${p}.droppedAttributesCount`) + attrs.dropped;
  const events = list(s.events, `${p}.events`);
  const eventParts: string[] = [];
  let droppedEvents = uint(s.droppedEventsCount, `${p}.droppedEventsCount`);
  for (let i = 0; i < events.length; i++) {
    const ep = `${p}.events[${i}]`;
    const e = obj(events[i], ep) ?? {};
    const time = nanos(e.timeUnixNano, `${ep}.timeUnixNano`);
    const ename = str(e.name, `${ep}.name`);
    const ea = attributesJson(list(e.attributes, `${ep}.attributes`), `${ep}.attributes`, limits, cut);
    uint(e.droppedAttributesCount, `${ep}.droppedAttributesCount`);
    if (eventParts.length >= limits.maxEvents) {
      droppedEvents++;
      cut.truncated = true;
      continue;
    }
    eventParts.push(`[${nanosToUs(time)},${JSON.stringify(ename)},${ea.json}]`);
  }
  const links = list(s.links, `${p}.links`);
  const linkParts: string[] = [];
  let droppedLinks = uint(s.droppedLinksCount, `${p}.droppedLinksCount`);
  for (let i = 0; i < links.length; i++) {
    const lp = `${p}.links[${i}]`;
    const l = obj(links[i], lp) ?? {};
    const lt = hexId(l.traceId, 16);
    const ls = hexId(l.spanId, 8);
    const lts = str(l.traceState, `${lp}.traceState`);
    const la = attributesJson(list(l.attributes, `${lp}.attributes`), `${lp}.attributes`, limits, cut);
    uint(l.droppedAttributesCount, `${lp}.droppedAttributesCount`);
    uint(l.flags, `${lp}.flags`);
    if (lt === null || ls === null || lt === '' || ls === '') {
      droppedLinks++;
      continue;
    }
    if (linkParts.length >= limits.maxLinks) {
      droppedLinks++;
      cut.truncated = true;
      continue;
    }
    linkParts.push(
      `[${JSON.stringify(lt)},${JSON.stringify(ls)},${lts === '' ? 'null' : JSON.stringify(lts)},${la.json}]`,
    );
  }
  const status = obj(s.status, `${p}.status`) ?? {};
  const statusMessage = str(status.message, `${p}.status.message`);
  const statusCode = enumInt(status.code, `${p}.status.code`, STATUS_NAMES);
  uint(s.flags, `${p}.flags`);

  if (traceId === null || traceId === '' || /^0+$/.test(traceId)) {
    refuse('traceId must be 16 bytes (32 hex digits), not all zero');
    return null;
  }
  if (spanId === null || spanId === '' || /^0+$/.test(spanId)) {
    refuse('spanId must be 8 bytes (16 hex digits), not all zero');
    return null;
  }
  if (parent === null) {
    refuse('parentSpanId must be empty or 8 bytes (16 hex digits)');
    return null;
  }
  if (name.length > MAX_NAME_LENGTH) {
    name = name.slice(0, MAX_NAME_LENGTH);
    cut.truncated = true;
  }
  const startUs = nanosToUs(start);
  const durationUs = end > start ? Number((end - start) / 1000n) : 0;
  const data =
    `{"a":${attrs.json},"r":${resourceJson},"s":${scopeJson},"e":[${eventParts.join(',')}],"l":[${linkParts.join(',')}]` +
    `,"ts":${traceState === '' ? 'null' : JSON.stringify(traceState)},"m":${JSON.stringify(statusMessage)}` +
    `,"d":[${droppedAttributes},${droppedEvents},${droppedLinks}],"t":${cut.truncated ? 1 : 0}}`;
  return {
    row: {
      traceId,
      spanId,
      parentSpanId: parent === '' || /^0+$/.test(parent) ? null : parent,
      service,
      name,
      kind: kind >= 0 && kind <= 5 ? kind : 0,
      status: statusCode >= 0 && statusCode <= 2 ? statusCode : 0,
      startUs,
      durationUs,
      data,
      poolId,
    },
    cut: cut.truncated,
  };
}
