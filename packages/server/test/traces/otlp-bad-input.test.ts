import { gzipSync } from 'node:zlib';
import type { Trace } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../src/otlp/testing/reference.js';
import { createHub, newSpanId, newTraceId, otlpJsonRequest, type TestHub, type TestPool } from '../kit/index.js';

/** Hostile and broken exports at the OTLP/HTTP receiver: each gets a clear OTLP answer, and the hub keeps serving. */
describe('OTLP/HTTP receiver and bad input', () => {
  let hub: TestHub;
  let pool: TestPool;

  beforeAll(async () => {
    hub = await createHub({ otlp: true });
    pool = await hub.createPool();
  });
  afterAll(() => hub?.close());

  const post = (body: Buffer | string, type = 'application/x-protobuf', extra: Record<string, string> = {}) =>
    fetch(`${hub.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${pool.key}`, ...extra },
      body,
    });

  /** A google.rpc.Status protobuf body: field 1 code, field 2 message. */
  function status(buf: Buffer): { code: number; message: string } {
    expect(buf[0]).toBe(0x08);
    const code = buf[1]!;
    let pos = 2;
    expect(buf[pos]).toBe(0x12);
    pos++;
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++]!;
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    return { code, message: buf.subarray(pos, pos + len).toString() };
  }

  async function stillServing(): Promise<void> {
    const traceId = newTraceId();
    const res = await post(
      JSON.stringify(otlpJsonRequest([{ traceId, name: 'ok', startMs: Date.now(), durationMs: 1 }])),
      'application/json',
    );
    expect(res.status).toBe(200);
    expect((await hub.api('GET', `/api/v1/traces/${traceId}`)).status).toBe(200);
  }

  it('garbage protobuf: 400 with a google.rpc.Status saying where', async () => {
    const res = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const s = status(Buffer.from(await res.arrayBuffer()));
    expect(s.code).toBe(3);
    expect(s.message).toMatch(/invalid protobuf at byte \d+: length \d+ runs past the end/);
    await stillServing();
  });

  it('JSON with wrong types: 400 naming the field', async () => {
    const res = await post(
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: ['x'] }] }] }] }),
      'application/json',
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 3,
      message: 'could not read the export request: resourceSpans[0].scopeSpans[0].spans[0].name: must be a string',
    });
    const notJson = await post('{"resourceSpans": [', 'application/json');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/body is not JSON/);
  });

  it('ids of the wrong length: partial success, the rest stored', async () => {
    const traceId = newTraceId();
    const good = { traceId, spanId: newSpanId(), name: 'good', startMs: Date.now(), durationMs: 1 };
    const body = otlpJsonRequest([good, { ...good, spanId: 'abc', name: 'short id' }]) as {
      resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
    };
    body.resourceSpans[0]!.scopeSpans[0]!.spans.push({
      ...body.resourceSpans[0]!.scopeSpans[0]!.spans[0],
      traceId: 'ff',
    });
    const res = await post(JSON.stringify(body), 'application/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedSpans: '2',
        errorMessage:
          '2 spans rejected: spanId must be 8 bytes (16 hex digits), not all zero; traceId must be 16 bytes (32 hex digits), not all zero',
      },
    });
    const stored = await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`);
    expect(stored.body.spans.map((s) => s.name)).toEqual(['good']);
  });

  it('the same partial success in protobuf', async () => {
    const req = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), name: 'a' },
                { traceId: Buffer.alloc(3, 1), spanId: Buffer.alloc(8, 2), name: 'b' },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(encodeRequest(req));
    expect(res.status).toBe(200);
    const answer = Buffer.from(await res.arrayBuffer());
    // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 1, error_message (2) } }
    expect(answer[0]).toBe(0x0a);
    expect(answer[2]).toBe(0x08);
    expect(answer[3]).toBe(1);
    expect(answer.subarray(4).toString()).toMatch(/1 spans rejected: traceId must be 16 bytes/);
  });

  it('a 50 MB body: 413 before it is read, and the hub keeps serving', async () => {
    const res = await post(Buffer.alloc(50 * 1024 * 1024, 0x0a)).catch((err: unknown) => err);
    if (res instanceof Response) {
      expect(res.status).toBe(413);
      expect(((await res.json()) as { message: string }).message).toMatch(/larger than 16777216 bytes/);
    }
    // (The hub may close the socket while the client still writes; either way nothing is stored and it serves on.)
    await stillServing();
  });

  it('a gzip bomb: 413 once the decompressed size passes the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const res = await post(bomb, 'application/x-protobuf', { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(status(Buffer.from(await res.arrayBuffer())).message).toMatch(/decompressed body is larger/);
    await stillServing();
  });

  it('gzip-compressed JSON is read', async () => {
    const traceId = newTraceId();
    const body = gzipSync(
      JSON.stringify(otlpJsonRequest([{ traceId, name: 'zipped', startMs: Date.now(), durationMs: 2 }])),
    );
    const res = await post(body, 'application/json', { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect((await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`)).body.spans[0]!.name).toBe('zipped');
  });

  it('100,000 attributes on a span: stored cut to the limit, the cut counted and reported', async () => {
    const traceId = newTraceId();
    const attributes = Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
    const req = {
      resourceSpans: [
        {
          scopeSpans: [
            { spans: [{ traceId: Buffer.from(traceId, 'hex'), spanId: Buffer.alloc(8, 7), name: 'wide', attributes }] },
          ],
        },
      ],
    };
    const res = await post(encodeRequest(req));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toMatch(/1 spans stored cut to the hub's limits/);
    const span = (await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`)).body.spans[0]!;
    expect(Object.keys(span.attributes)).toHaveLength(128);
    expect(span.dropped.attributes).toBe(100_000 - 128);
    expect(span.truncated).toBe(true);
    const metrics = await hub.api<string>('GET', '/metrics');
    expect(metrics.body).toMatch(/spyglass_traces_spans_truncated_total [1-9]/);
  });

  it('unknown fields are ignored; unsupported types and encodings are refused', async () => {
    const traceId = newTraceId();
    const body = otlpJsonRequest([{ traceId, name: 'extra', startMs: Date.now(), durationMs: 1 }]);
    const res = await post(JSON.stringify({ ...body, futureField: { a: 1 } }), 'application/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const text = await post('hello', 'text/plain');
    expect(text.status).toBe(415);
    expect(((await text.json()) as { message: string }).message).toMatch(
      /application\/x-protobuf or application\/json/,
    );
    const br = await post('x', 'application/json', { 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    const other = await fetch(`${hub.otlpHttpUrl}/v1/metrics`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { message: string }).message).toMatch(/POST \/v1\/traces/);
  });

  it('a missing key: 401 saying how to send one', async () => {
    const res = await fetch(`${hub.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/^no pool key: send the pool key as/);
  });

  it('answers CORS preflights so browser SDKs can export', async () => {
    const res = await fetch(`${hub.otlpHttpUrl}/v1/traces`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.localhost', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });
});
