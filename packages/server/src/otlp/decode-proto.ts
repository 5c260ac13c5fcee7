import type { SpanRow } from '../traces/span-store.js';
import { MAX_NAME_LENGTH, MAX_VALUE_DEPTH, type SpanLimits } from '../traces/span-data.js';
import { OtlpInputError, UNKNOWN_SERVICE, type DecodedSpans } from './convert.js';

/**
 * The fast path of OTLP/protobuf: `ExportTraceServiceRequest` bytes straight to span rows. It walks the wire format
 * once and writes each span's JSON text by concatenation, building no object per attribute. Its output is proved
 * equal to the reference path (protobufjs + `convertExportRequest`) on a corpus (`decode-proto.test.ts`); the field
 * numbers are opentelemetry-proto's (trace/v1, common/v1, resource/v1, collector/trace/v1).
 */

const MAX_REASONS = 5;
const TWO_32 = 4294967296;

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}

  fail(what: string): never {
    throw new OtlpInputError(`invalid protobuf at byte ${this.pos}: ${what}`);
  }

  /** A varint up to 2^53 (larger values fail: no field read this way carries them). */
  varint(): number {
    const b = this.buf;
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A 64-bit varint as two's complement halves. */
  varint64(): [lo: number, hi: number] {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = b[this.pos++]!;
      lo = (lo | ((byte & 0x7f) << (i * 7))) >>> 0;
      if (byte < 0x80) return [lo, 0];
    }
    if (this.pos >= this.end) this.fail('truncated varint');
    let byte = b[this.pos++]!;
    lo = (lo | ((byte & 0x7f) << 28)) >>> 0;
    hi = (byte & 0x7f) >> 4;
    if (byte < 0x80) return [lo, hi];
    for (i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      byte = b[this.pos++]!;
      hi = (hi | ((byte & 0x7f) << (i * 7 + 3))) >>> 0;
      if (byte < 0x80) return [lo, hi];
    }
    this.fail('varint longer than 10 bytes');
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Length-delimited field: returns its end; `pos` is at its start. */
  len(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end) this.fail(`length ${n} runs past the end of the message`);
    return end;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint64();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case 2:
        this.pos = this.len();
        return;
      case 5:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
  }

  string(end: number): string {
    // Buffer's own slice decoder, without `toString`'s argument checks (the bounds were checked by `len`).
    return (this.buf as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(this.pos, end);
  }
}

/** fixed64 nanoseconds at `pos` → [floor µs, lo, hi]. */
function fixed64(r: Reader): [lo: number, hi: number] {
  if (r.pos + 8 > r.end) r.fail('truncated fixed64');
  const lo = r.buf.readUInt32LE(r.pos);
  const hi = r.buf.readUInt32LE(r.pos + 4);
  r.pos += 8;
  return [lo, hi];
}

/** floor((hi·2^32 + lo) / 1000), exact while the result is below 2^53 (epoch nanoseconds until the 23rd century). */
function nanosToUs(lo: number, hi: number): number {
  return hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
}

/** A two's complement 64-bit integer as JSON: a number when exact, else a decimal string. */
function int64Json(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  if (hi >= 0xffe00000 && !(hi === 0xffe00000 && lo === 0)) return String(-((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1));
  const v = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  return JSON.stringify(v.toString());
}

interface Cut {
  truncated: boolean;
}

function anyValueJson(r: Reader, end: number, limits: SpanLimits, cut: Cut, depth: number): string {
  let out = 'null';
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const e = r.len();
      let s = r.string(e);
      r.pos = e;
      if (s.length > limits.maxAttributeValueLength) {
        s = s.slice(0, limits.maxAttributeValueLength);
        cut.truncated = true;
      }
      out = JSON.stringify(s);
    } else if (field === 2 && wire === 0) {
      out = r.varint64()[0] !== 0 ? 'true' : 'false';
    } else if (field === 3 && wire === 0) {
      const [lo, hi] = r.varint64();
      out = int64Json(lo, hi);
    } else if (field === 4 && wire === 1) {
      if (r.pos + 8 > r.end) r.fail('truncated double');
      const d = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
      out = Number.isFinite(d) ? JSON.stringify(d) : 'null';
    } else if (field === 5 && wire === 2) {
      const e = r.len();
      if (depth >= MAX_VALUE_DEPTH) {
        cut.truncated = true;
        r.pos = e;
        out = 'null';
        continue;
      }
      const parts: string[] = [];
      while (r.pos < e) {
        const t = r.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) {
          const ve = r.len();
          if (parts.length >= limits.maxAttributes) {
            cut.truncated = true;
            r.pos = ve;
            continue;
          }
          parts.push(anyValueJson(r, ve, limits, cut, depth + 1));
          r.pos = ve;
        } else r.skip(t & 7);
      }
      out = `[${parts.join(',')}]`;
    } else if (field === 6 && wire === 2) {
      const e = r.len();
      if (depth >= MAX_VALUE_DEPTH) {
        cut.truncated = true;
        r.pos = e;
        out = 'null';
        continue;
      }
      const kv = keyValuesJson(r, e, 1, limits, cut, depth + 1);
      if (kv.dropped > 0) cut.truncated = true;
      out = kv.json;
    } else if (field === 7 && wire === 2) {
      const e = r.len();
      out = JSON.stringify(r.buf.toString('base64', r.pos, e));
      r.pos = e;
    } else r.skip(wire);
  }
  return out;
}

/** Attribute keys repeat across spans: their JSON spelling (`"key":`) is kept rather than escaped each time. */
const quotedKeys = new Map<string, string>();
function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = `${JSON.stringify(key)}:`;
    if (quotedKeys.size >= 10_000) quotedKeys.clear();
    quotedKeys.set(key, q);
  }
  return q;
}

/** One KeyValue message → `"key":value`. */
function keyValueJson(r: Reader, end: number, limits: SpanLimits, cut: Cut, depth: number): string {
  let key = '';
  let value = 'null';
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const e = r.len();
      key = r.string(e);
      r.pos = e;
    } else if (field === 2 && wire === 2) {
      const e = r.len();
      value = anyValueJson(r, e, limits, cut, depth);
      r.pos = e;
    } else r.skip(wire);
  }
  return quotedKey(key) + value;
}

/**
 * Every KeyValue in field `field` of the message up to `end` as one JSON object text (other fields skipped); entries
 * past the attribute limit are counted, not decoded.
 */
function keyValuesJson(
  r: Reader,
  end: number,
  field: number,
  limits: SpanLimits,
  cut: Cut,
  depth: number,
): { json: string; dropped: number } {
  let json = '{';
  let n = 0;
  let dropped = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag >>> 3 === field && (tag & 7) === 2) {
      const e = r.len();
      if (n >= limits.maxAttributes) {
        dropped++;
        cut.truncated = true;
      } else {
        json += (n === 0 ? '' : ',') + keyValueJson(r, e, limits, cut, depth);
        n++;
      }
      r.pos = e;
    } else r.skip(tag & 7);
  }
  return { json: json + '}', dropped };
}

function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The `service.name` string of a Resource's attributes (the last one wins, as in a key/value map). */
function resourceService(r: Reader, end: number): string {
  let service: string | undefined;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const kvEnd = r.len();
      let key: string | undefined;
      let value: string | undefined;
      let isString = false;
      while (r.pos < kvEnd) {
        const t = r.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) {
          const e = r.len();
          key = r.string(e);
          r.pos = e;
        } else if (t >>> 3 === 2 && (t & 7) === 2) {
          const ve = r.len();
          isString = false;
          while (r.pos < ve) {
            const vt = r.varint();
            if (vt >>> 3 === 1 && (vt & 7) === 2) {
              const e = r.len();
              value = r.string(e);
              isString = true;
              r.pos = e;
            } else {
              isString = false;
              r.skip(vt & 7);
            }
          }
        } else r.skip(t & 7);
      }
      if (key === 'service.name' && isString) service = value;
      r.pos = kvEnd;
    } else r.skip(tag & 7);
  }
  if (service === undefined || service === '') return UNKNOWN_SERVICE;
  return service.length > MAX_NAME_LENGTH ? service.slice(0, MAX_NAME_LENGTH) : service;
}

interface Context {
  out: DecodedSpans;
  limits: SpanLimits;
  poolId: string | null;
}

function refuse(ctx: Context, reason: string): void {
  ctx.out.rejected++;
  if (ctx.out.reasons.length < MAX_REASONS && !ctx.out.reasons.includes(reason)) ctx.out.reasons.push(reason);
}

/** Decodes an `ExportTraceServiceRequest`; throws OtlpInputError when the bytes are not one. */
export function decodeExportRequest(buf: Buffer, limits: SpanLimits, poolId: string | null): DecodedSpans {
  const ctx: Context = { out: { rows: [], rejected: 0, reasons: [], truncated: 0 }, limits, poolId };
  const r = new Reader(buf, buf.length);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const e = r.len();
      resourceSpans(r, e, ctx);
      r.pos = e;
    } else r.skip(tag & 7);
  }
  return ctx.out;
}

function resourceSpans(r: Reader, end: number, ctx: Context): void {
  // The resource may follow its scope spans on the wire: find both first.
  let resourceStart = -1;
  let resourceEnd = -1;
  const scopes: number[] = [];
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      resourceEnd = r.len();
      resourceStart = r.pos;
      r.pos = resourceEnd;
    } else if (field === 2 && (tag & 7) === 2) {
      const e = r.len();
      scopes.push(r.pos, e);
      r.pos = e;
    } else r.skip(tag & 7);
  }
  const resourceCut: Cut = { truncated: false };
  let resourceJson = '{}';
  let service = UNKNOWN_SERVICE;
  if (resourceStart >= 0) {
    r.pos = resourceStart;
    resourceJson = keyValuesJson(r, resourceEnd, 1, ctx.limits, resourceCut, 0).json;
    r.pos = resourceStart;
    service = resourceService(r, resourceEnd);
  }
  for (let i = 0; i < scopes.length; i += 2) {
    r.pos = scopes[i]!;
    scopeSpans(r, scopes[i + 1]!, ctx, service, resourceJson, resourceCut.truncated);
  }
}

function scopeSpans(r: Reader, end: number, ctx: Context, service: string, resourceJson: string, resourceCut: boolean) {
  let name = '';
  let version = '';
  const spans: number[] = [];
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const e = r.len();
      while (r.pos < e) {
        const t = r.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) {
          const se = r.len();
          name = r.string(se);
          r.pos = se;
        } else if (t >>> 3 === 2 && (t & 7) === 2) {
          const se = r.len();
          version = r.string(se);
          r.pos = se;
        } else r.skip(t & 7);
      }
    } else if (field === 2 && (tag & 7) === 2) {
      const e = r.len();
      spans.push(r.pos, e);
      r.pos = e;
    } else r.skip(tag & 7);
  }
  const scopeJson = `[${JSON.stringify(name)},${JSON.stringify(version)}]`;
  for (let i = 0; i < spans.length; i += 2) {
    r.pos = spans[i]!;
    const row = span(r, spans[i + 1]!, ctx, service, resourceJson, scopeJson, resourceCut);
    if (row !== null) ctx.out.rows.push(row);
  }
}

function span(
  r: Reader,
  end: number,
  ctx: Context,
  service: string,
  resourceJson: string,
  scopeJson: string,
  resourceCut: boolean,
): SpanRow | null {
  const { limits } = ctx;
  const buf = r.buf;
  const cut: Cut = { truncated: resourceCut };
  let traceStart = -1;
  let traceLen = 0;
  let spanStart = -1;
  let spanLen = 0;
  let parentStart = -1;
  let parentLen = 0;
  let traceState = '';
  let name = '';
  let kind = 0;
  let sLo = 0;
  let sHi = 0;
  let eLo = 0;
  let eHi = 0;
  let attrs = '{';
  let attrCount = 0;
  let droppedAttributes = 0;
  let droppedEvents = 0;
  let droppedLinks = 0;
  let events = '';
  let eventCount = 0;
  let links = '';
  let linkCount = 0;
  let statusMessage = '';
  let statusCode = 0;
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
      case 2:
      case 4: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        if (field === 1) [traceStart, traceLen] = [r.pos, e - r.pos];
        else if (field === 2) [spanStart, spanLen] = [r.pos, e - r.pos];
        else [parentStart, parentLen] = [r.pos, e - r.pos];
        r.pos = e;
        break;
      }
      case 3:
      case 5: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        if (field === 3) traceState = r.string(e);
        else name = r.string(e);
        r.pos = e;
        break;
      }
      case 6:
        if (wire === 0) {
          const [lo, hi] = r.varint64();
          kind = hi === 0 && lo <= 5 ? lo : 0;
        } else r.skip(wire);
        break;
      case 7:
      case 8:
        if (wire === 1) {
          const [lo, hi] = fixed64(r);
          if (field === 7) [sLo, sHi] = [lo, hi];
          else [eLo, eHi] = [lo, hi];
        } else r.skip(wire);
        break;
      case 9: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        if (attrCount >= limits.maxAttributes) {
          droppedAttributes++;
          cut.truncated = true;
        } else {
          attrs += (attrCount === 0 ? '' : ',') + keyValueJson(r, e, limits, cut, 0);
          attrCount++;
        }
        r.pos = e;
        break;
      }
      case 10:
      case 12:
      case 14:
        if (wire === 0) {
          const n = r.varint64()[0];
          if (field === 10) droppedAttributes += n;
          else if (field === 12) droppedEvents += n;
          else droppedLinks += n;
        } else r.skip(wire);
        break;
      case 11: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        if (eventCount >= limits.maxEvents) {
          droppedEvents++;
          cut.truncated = true;
        } else {
          events += (eventCount === 0 ? '' : ',') + event(r, e, limits, cut);
          eventCount++;
        }
        r.pos = e;
        break;
      }
      case 13: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        const l = link(r, e, limits, cut, linkCount >= limits.maxLinks);
        if (l === null) droppedLinks++;
        else if (l === '') {
          droppedLinks++;
          cut.truncated = true;
        } else {
          links += (linkCount === 0 ? '' : ',') + l;
          linkCount++;
        }
        r.pos = e;
        break;
      }
      case 15: {
        if (wire !== 2) {
          r.skip(wire);
          break;
        }
        const e = r.len();
        while (r.pos < e) {
          const t = r.varint();
          if (t >>> 3 === 2 && (t & 7) === 2) {
            const se = r.len();
            statusMessage = r.string(se);
            r.pos = se;
          } else if (t >>> 3 === 3 && (t & 7) === 0) {
            const [lo, hi] = r.varint64();
            statusCode = hi === 0 && lo <= 2 ? lo : 0;
          } else r.skip(t & 7);
        }
        break;
      }
      default:
        r.skip(wire);
    }
  }

  if (traceLen !== 16 || isZero(buf, traceStart, traceStart + 16)) {
    refuse(ctx, 'traceId must be 16 bytes (32 hex digits), not all zero');
    return null;
  }
  if (spanLen !== 8 || isZero(buf, spanStart, spanStart + 8)) {
    refuse(ctx, 'spanId must be 8 bytes (16 hex digits), not all zero');
    return null;
  }
  if (parentLen !== 0 && parentLen !== 8) {
    refuse(ctx, 'parentSpanId must be empty or 8 bytes (16 hex digits)');
    return null;
  }
  if (name.length > MAX_NAME_LENGTH) {
    name = name.slice(0, MAX_NAME_LENGTH);
    cut.truncated = true;
  }
  const startUs = nanosToUs(sLo, sHi);
  const later = eHi > sHi || (eHi === sHi && eLo > sLo);
  const durationUs = later ? Math.floor(((eHi - sHi) * TWO_32 + (eLo - sLo)) / 1000) : 0;
  if (cut.truncated) ctx.out.truncated++;
  return {
    traceId: buf.toString('hex', traceStart, traceStart + 16),
    spanId: buf.toString('hex', spanStart, spanStart + 8),
    parentSpanId:
      parentLen === 0 || isZero(buf, parentStart, parentStart + 8)
        ? null
        : buf.toString('hex', parentStart, parentStart + 8),
    service,
    name,
    kind,
    status: statusCode,
    startUs,
    durationUs,
    data:
      `{"a":${attrs}},"r":${resourceJson},"s":${scopeJson},"e":[${events}],"l":[${links}]` +
      `,"ts":${traceState === '' ? 'null' : JSON.stringify(traceState)},"m":${JSON.stringify(statusMessage)}` +
      `,"d":[${droppedAttributes},${droppedEvents},${droppedLinks}],"t":${cut.truncated ? 1 : 0}}`,
    poolId: ctx.poolId,
  };
}

function event(r: Reader, end: number, limits: SpanLimits, cut: Cut): string {
  let lo = 0;
  let hi = 0;
  let name = '';
  let attrs = '{';
  let n = 0;
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 1) [lo, hi] = fixed64(r);
    else if (field === 2 && wire === 2) {
      const e = r.len();
      name = r.string(e);
      r.pos = e;
    } else if (field === 3 && wire === 2) {
      const e = r.len();
      if (n >= limits.maxAttributes) cut.truncated = true;
      else {
        attrs += (n === 0 ? '' : ',') + keyValueJson(r, e, limits, cut, 0);
        n++;
      }
      r.pos = e;
    } else r.skip(wire);
  }
  return `[${nanosToUs(lo, hi)},${JSON.stringify(name)},${attrs}}]`;
}

/** A Link as JSON text; null when its ids are invalid, '' when valid but over the limit (`over`). */
function link(r: Reader, end: number, limits: SpanLimits, cut: Cut, over: boolean): string | null {
  let traceStart = -1;
  let traceLen = 0;
  let spanStart = -1;
  let spanLen = 0;
  let traceState = '';
  let attrs = '{';
  let n = 0;
  const scratch: Cut = { truncated: false };
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if ((field === 1 || field === 2) && wire === 2) {
      const e = r.len();
      if (field === 1) [traceStart, traceLen] = [r.pos, e - r.pos];
      else [spanStart, spanLen] = [r.pos, e - r.pos];
      r.pos = e;
    } else if (field === 3 && wire === 2) {
      const e = r.len();
      traceState = r.string(e);
      r.pos = e;
    } else if (field === 4 && wire === 2) {
      const e = r.len();
      if (n >= limits.maxAttributes) scratch.truncated = true;
      else {
        attrs += (n === 0 ? '' : ',') + keyValueJson(r, e, limits, scratch, 0);
        n++;
      }
      r.pos = e;
    } else r.skip(wire);
  }
  // A link's attributes are cut like any (the reference path decodes them even for links it then drops).
  if (scratch.truncated) cut.truncated = true;
  if (traceLen !== 16 || spanLen !== 8) return null;
  if (over) return '';
  const buf = r.buf;
  return (
    `[${JSON.stringify(buf.toString('hex', traceStart, traceStart + 16))},` +
    `${JSON.stringify(buf.toString('hex', spanStart, spanStart + 8))},` +
    `${traceState === '' ? 'null' : JSON.stringify(traceState)},${attrs}}]`
  );
}
