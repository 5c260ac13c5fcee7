import { describe, expect, it } from 'vitest';
import { httpAnswer } from '../otlp/http.js';
import type { SpanRow, SpanStore } from './span-store.js';
import { SpanWriter } from './span-writer.js';

const row = (i: number): SpanRow => ({
  traceId: 'a'.repeat(32),
  spanId: i.toString(16).padStart(16, '0'),
  parentSpanId: null,
  service: 's',
  name: 'n',
  kind: 1,
  status: 0,
  startUs: 1,
  durationUs: 1,
  data: '{}',
  poolId: null,
});
const rows = (n: number, from = 0): SpanRow[] => Array.from({ length: n }, (_, i) => row(from + i));

/** A store whose writes wait until the test lets them finish, recording each batch. */
function gatedStore() {
  const batches: number[] = [];
  let release: (() => void)[] = [];
  let fail: Error | null = null;
  const store = {
    insert(r: readonly SpanRow[]) {
      batches.push(r.length);
      return new Promise<void>((resolve, reject) => release.push(() => (fail === null ? resolve() : reject(fail))));
    },
  } as unknown as SpanStore;
  return {
    store,
    batches,
    pending: () => release.length,
    finish() {
      const r = release;
      release = [];
      for (const f of r) f();
    },
    failNext(err: Error) {
      fail = err;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('span writer', () => {
  it('writes what queued while a write ran as one batch (group commit), settling each request when stored', async () => {
    const g = gatedStore();
    const w = new SpanWriter(g.store, { maxQueuedSpans: 10_000, maxBatchSpans: 1000 });
    const first = w.offer(rows(10)) as Promise<void>;
    await tick();
    const later = [w.offer(rows(100, 10)), w.offer(rows(200, 110)), w.offer(rows(300, 310))] as Promise<void>[];
    expect(w.queuedSpans).toBe(610);
    let settled = 0;
    for (const p of [first, ...later]) void p.then(() => settled++);
    g.finish();
    await first;
    await tick();
    expect(settled).toBe(1);
    expect(g.batches).toEqual([10, 600]);
    g.finish();
    await Promise.all(later);
    expect(w.queuedSpans).toBe(0);
  });

  it('answers busy instead of queueing past its bound, and takes spans again once written', async () => {
    const g = gatedStore();
    const w = new SpanWriter(g.store, { maxQueuedSpans: 500, maxBatchSpans: 1000 });
    const a = w.offer(rows(400)) as Promise<void>;
    expect(w.offer(rows(200))).toBe('busy');
    expect(w.queuedSpans).toBe(400);
    g.finish();
    await a;
    const b = w.offer(rows(200));
    expect(b).not.toBe('busy');
    g.finish();
    await b;
  });

  it('a failed write rejects its requests (the sender retries) and the writer goes on', async () => {
    const g = gatedStore();
    const w = new SpanWriter(g.store, { maxQueuedSpans: 1000, maxBatchSpans: 1000 });
    const failures: number[] = [];
    w.onFailure((_err, n) => failures.push(n));
    g.failNext(new Error('disk full'));
    const a = w.offer(rows(5)) as Promise<void>;
    g.finish();
    await expect(a).rejects.toThrow('disk full');
    expect(failures).toEqual([5]);
    expect(w.queuedSpans).toBe(0);
  });

  it('busy and failed writes are OTLP/HTTP 503 with Retry-After', () => {
    const a = httpAnswer('json', { kind: 'busy', message: 'the span store is behind; retry later', retryAfterS: 1 });
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('1');
    expect(JSON.parse(a.body.toString())).toEqual({ code: 14, message: 'the span store is behind; retry later' });
  });

  it('refuses new spans once closed and waits for queued ones', async () => {
    const g = gatedStore();
    const w = new SpanWriter(g.store, { maxQueuedSpans: 1000, maxBatchSpans: 1000 });
    const a = w.offer(rows(3)) as Promise<void>;
    const closing = w.close();
    await expect(w.offer(rows(1)) as Promise<void>).rejects.toThrow(/shutting down/);
    g.finish();
    await a;
    await closing;
    expect(g.pending()).toBe(0);
  });
});
