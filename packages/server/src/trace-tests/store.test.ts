import type { ApplyResult, StoredResource, TestRun, TestSummary } from '@spyglass/trace-tests';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, newSpanId, otlpJsonRequest, testDatabases, waitFor, type TestHub } from '../../test/kit/index.js';

type PageOf<T> = { items: T[]; nextCursor: string | null };

const test = (id: string, name = id, selector = 'span[name="work"]') => ({
  type: 'Test',
  spec: {
    id,
    name,
    trigger: { type: 'traceid', traceid: { id: '${var:TRACE_ID}' } },
    specs: [{ selector, assertions: ['attr:tracetest.span.duration < 1s'] }],
  },
});

/** Resources (versions, all-or-nothing apply, secrets) and runs on every database, through the REST operations. */
describe.each(testDatabases())('trace-test storage on $dialect', (database) => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await createHub({ database });
  });
  afterAll(() => hub?.close());

  const apply = (resources: unknown[], as: 'developer' | 'admin' = 'developer') =>
    hub.api<ApplyResult>('POST', '/api/v1/test-resources', { resources }, as);

  it('keeps every version; the same definition again changes nothing', async () => {
    expect((await apply([test('versions', 'First')])).body.items).toEqual([
      { type: 'Test', id: 'versions', name: 'First', version: 1, outcome: 'created' },
    ]);
    expect((await apply([test('versions', 'First')])).body.items[0]).toMatchObject({
      version: 1,
      outcome: 'unchanged',
    });
    expect((await apply([test('versions', 'Second')])).body.items[0]).toMatchObject({ version: 2, outcome: 'updated' });
    const latest = await hub.api<StoredResource>('GET', '/api/v1/test-resources/Test/versions', undefined, 'viewer');
    expect(latest.body).toMatchObject({ version: 2, name: 'Second', updatedBy: hub.userIds.developer });
    const first = await hub.api<StoredResource>(
      'GET',
      '/api/v1/test-resources/Test/versions?version=1',
      undefined,
      'viewer',
    );
    expect(first.body).toMatchObject({ version: 1, name: 'First' });
    const none = await hub.api<{ error: { message: string } }>('GET', '/api/v1/test-resources/Test/versions?version=7');
    expect([none.status, none.body.error.message]).toEqual([404, 'Test "versions" has no version 7']);
  });

  it('applies all or nothing: one bad resource in a batch stores none, and says where it is bad', async () => {
    const res = await hub.api<{
      error: { code: string; message: string; issues: { path: string; message: string }[] };
    }>(
      'POST',
      '/api/v1/test-resources',
      { resources: [test('batch-good'), test('batch-bad', 'bad', 'span[name="x"')] },
      'developer',
    );
    expect(res.status).toBe(400);
    expect(res.body.error.issues[0]!.path).toBe('resources.1.spec.specs.0.selector');
    const got = await hub.api('GET', '/api/v1/test-resources/Test/batch-good', undefined, 'viewer');
    expect(got.status).toBe(404);
    // The schema's own checks name the field too.
    const unknownType = await hub.api<{ error: { message: string } }>('POST', '/api/v1/test-resources', {
      resources: [{ type: 'Analyzer', spec: { id: 'a', name: 'a' } }],
    });
    expect(unknownType.status).toBe(400);
  });

  it('never answers a secret, and keeps it when the set comes back with the secret blank', async () => {
    const set = (values: unknown[]) => ({ type: 'VariableSet', spec: { id: 'env', name: 'env', values } });
    await apply([
      set([
        { key: 'TOKEN', value: 'hunter2-secret', type: 'secret' },
        { key: 'HOST', value: 'a' },
      ]),
    ]);
    const read = await hub.api<StoredResource>('GET', '/api/v1/test-resources/VariableSet/env', undefined, 'viewer');
    expect(JSON.stringify(read.body)).not.toContain('hunter2');
    // Edited in the console: the secret comes back blank and must survive.
    const edited = read.body.resource.type === 'VariableSet' ? read.body.resource.spec.values : [];
    await apply([set(edited.map((v) => (v.key === 'HOST' ? { ...v, value: 'b' } : v)))]);
    const stored = await hub.app.traceTests.store.definition('VariableSet', 'env');
    expect(stored?.resource).toMatchObject({
      spec: {
        values: [
          { key: 'TOKEN', value: 'hunter2-secret', type: 'secret' },
          { key: 'HOST', value: 'b' },
        ],
      },
    });
  });

  it('numbers runs per test, lists tests with their last run, and removes a test with its runs', async () => {
    await apply([test('numbered'), test('other')]);
    const traceId = 'cd'.repeat(16);
    // The trace already exists: the run adopts it and finishes.
    const now = Date.now();
    await hub.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${(await hub.createPool()).key}` },
      payload: JSON.stringify(
        otlpJsonRequest([
          { traceId, spanId: newSpanId(), name: 'work', startMs: now - 50, durationMs: 20 },
          { traceId, spanId: newSpanId(), name: 'work', startMs: now - 40, durationMs: 20 },
        ]),
      ),
    });
    await apply([
      {
        type: 'PollingProfile',
        spec: { id: 'quick', name: 'quick', default: true, periodic: { retryDelay: '50ms', timeout: '5s' } },
      },
    ]);
    const runs: TestRun[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await hub.api<TestRun>(
        'POST',
        '/api/v1/tests/numbered/run',
        { variables: [{ key: 'TRACE_ID', value: traceId }] },
        'developer',
      );
      expect(r.status).toBe(201);
      runs.push(r.body);
    }
    expect(runs.map((r) => r.runNumber)).toEqual([1, 2, 3]);
    const done = await waitFor(
      async () => {
        const r = await hub.api<TestRun>('GET', '/api/v1/tests/numbered/runs/3', undefined, 'viewer');
        return r.body.finishedAt !== null ? r.body : undefined;
      },
      { what: 'run 3 to finish' },
    );
    expect(done).toMatchObject({ state: 'FINISHED', passed: true, spanCount: 2 });
    expect(done.results![0]!.spanIds).toHaveLength(2);
    const list = await hub.api<PageOf<TestSummary>>('GET', '/api/v1/tests?limit=500', undefined, 'viewer');
    const numbered = list.body.items.find((t) => t.id === 'numbered')!;
    expect(numbered).toMatchObject({ triggerType: 'traceid', specCount: 1, lastRun: { runNumber: 3, traceId } });
    expect(list.body.items.find((t) => t.id === 'other')?.lastRun).toBeNull();
    await waitFor(
      async () =>
        (await hub.api<PageOf<TestRun>>('GET', '/api/v1/tests/numbered/runs', undefined, 'viewer')).body.items.every(
          (r) => r.finishedAt !== null,
        ),
      { what: 'every run to finish' },
    );

    expect((await hub.api('DELETE', '/api/v1/test-resources/Test/numbered', undefined, 'developer')).status).toBe(204);
    expect((await hub.api('GET', '/api/v1/tests/numbered/runs/1', undefined, 'viewer')).status).toBe(404);
    expect((await hub.api('DELETE', '/api/v1/test-resources/Test/numbered', undefined, 'developer')).status).toBe(404);
  });
});
