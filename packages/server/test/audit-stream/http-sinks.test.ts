/**
 * Audit streaming to HTTP receivers (JSON batches and Splunk's HTTP Event Collector) through the real path: audit
 * events written by API calls, the singleton job, the cursor in the database, a receiver that goes away while the hub
 * restarts. Every event must arrive, in order, with duplicates only from a batch that was retried.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditSinks } from '@spyglass/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHub,
  freePort,
  scratchDatabase,
  testDatabases,
  waitFor,
  type ScratchDatabase,
  type TestHub,
} from '../kit/index.js';
import { TestReceiver, configFile } from './receivers.js';

const BATCH = 10;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Ids of the events in each request, in the order they came: JSON batches or Splunk's concatenated objects. */
function batchesOf(receiver: TestReceiver, kind: 'http' | 'splunk'): string[][] {
  return receiver.requests.map((r) => {
    if (kind === 'http') return (JSON.parse(r.body) as { events: { id: string }[] }).events.map((e) => e.id);
    return r.body
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { event: { id: string } }).event.id);
  });
}

/** Every stored `pool.*` event id, in id order: what a sink filtering on `pool.` must receive. */
async function storedPoolEvents(hub: TestHub): Promise<string[]> {
  const rows = await hub.storage.db
    .selectFrom('audit_events')
    .select(['id', 'action'])
    .where('action', 'like', 'pool.%')
    .orderBy('id')
    .execute();
  return rows.map((r) => String(r.id));
}

/**
 * The received ids in first-arrival order equal `expected`, and every id that came twice came again in a batch
 * that re-sent from an earlier point (a retry), never more than one batch's worth.
 */
function expectDelivered(batches: string[][], expected: string[]): void {
  const flat = batches.flat();
  const seen = new Set<string>();
  const firsts: string[] = [];
  let dups = 0;
  for (const id of flat) {
    if (seen.has(id)) dups++;
    else {
      seen.add(id);
      firsts.push(id);
    }
  }
  expect(firsts).toEqual(expected);
  expect(dups).toBeLessThanOrEqual(BATCH);
  for (const b of batches) {
    expect(b.length).toBeLessThanOrEqual(BATCH);
    expect([...b].map(Number)).toEqual([...b].map(Number).sort((x, y) => x - y));
  }
}

async function sinksOf(hub: TestHub): Promise<AuditSinks> {
  const res = await hub.api<AuditSinks>('GET', '/api/v1/audit/sinks');
  expect(res.status).toBe(200);
  return res.body;
}

describe.each(testDatabases())('audit streaming to HTTP receivers on $dialect', (db) => {
  it('delivers every event in order across a receiver outage and a hub restart', { timeout: 120_000 }, async () => {
    const scratch: ScratchDatabase = await scratchDatabase(db, { shareable: true });
    cleanups.push(() => scratch.drop());
    const json = new TestReceiver(await freePort());
    const splunk = new TestReceiver(await freePort());
    cleanups.push(
      () => json.stop(),
      () => splunk.stop(),
    );
    const file = configFile({});
    cleanups.push(() => file.remove());
    const tokenFile = path.join(file.dir, 'token');
    writeFileSync(tokenFile, 'json-token\n');
    writeFileSync(
      file.path,
      JSON.stringify({
        auditStream: {
          intervalMs: 100,
          gapSettleMs: 500,
          sinks: [
            {
              name: 'json',
              type: 'http',
              url: `${json.url}/ingest`,
              tokenFile,
              batchSize: BATCH,
              minBackoffMs: 100,
              maxBackoffMs: 400,
              timeoutMs: 5000,
              filters: { actions: ['pool.'] },
            },
            {
              name: 'splunk',
              type: 'splunk',
              url: splunk.url,
              token: 'hec-token',
              index: 'audit',
              batchSize: BATCH,
              minBackoffMs: 100,
              maxBackoffMs: 400,
              filters: { actions: ['pool.*'], outcomes: ['success'] },
            },
          ],
        },
      }),
    );
    const env = { SPYGLASS_CONFIG: file.path };
    await json.start();
    await splunk.start();

    let hub = await createHub({ databaseUrl: scratch.url, env });
    let open = true;
    cleanups.push(() => (open ? hub.close() : undefined));
    for (let i = 0; i < 3; i++)
      expect((await hub.api('POST', '/api/v1/pools', { name: `before-${i}` })).status).toBe(201);
    await waitFor(() => batchesOf(json, 'http').flat().length >= 3 && batchesOf(splunk, 'splunk').flat().length >= 3, {
      what: 'the first three events at both receivers',
      timeoutMs: 30_000,
    });

    // The receivers go away; events keep being written, then the hub stops.
    await json.stop();
    await splunk.stop();
    for (let i = 0; i < 25; i++)
      expect((await hub.api('POST', '/api/v1/pools', { name: `during-${i}` })).status).toBe(201);
    const down = await waitFor(
      async () => {
        const s = await sinksOf(hub);
        return s.sinks.every((k) => k.failures > 0 && k.lag > 0) ? s : null;
      },
      { what: 'both sinks to report failures and lag', timeoutMs: 30_000 },
    );
    expect(down.sinks.find((s) => s.name === 'json')!.lastError).toMatch(/ECONNREFUSED/);
    expect(down.sender).not.toBeNull();
    await hub.close();
    open = false;

    // Receivers back, a new hub on the same database: everything arrives.
    await json.start();
    await splunk.start();
    hub = await createHub({ databaseUrl: scratch.url, env });
    open = true;
    for (let i = 0; i < 2; i++)
      expect((await hub.api('POST', '/api/v1/pools', { name: `after-${i}` })).status).toBe(201);
    const expected = await storedPoolEvents(hub);
    expect(expected.length).toBe(30);
    await waitFor(
      () =>
        new Set(batchesOf(json, 'http').flat()).size === expected.length &&
        new Set(batchesOf(splunk, 'splunk').flat()).size === expected.length,
      {
        what: 'all 30 pool events at both receivers',
        timeoutMs: 60_000,
        detail: () =>
          `json ${JSON.stringify(batchesOf(json, 'http'))} splunk ${JSON.stringify(batchesOf(splunk, 'splunk'))}`,
      },
    );
    expectDelivered(batchesOf(json, 'http'), expected);
    expectDelivered(batchesOf(splunk, 'splunk'), expected);

    // What each receiver saw on the wire.
    for (const r of json.requests) {
      expect(r.path).toBe('/ingest');
      expect(r.authorization).toBe('Bearer json-token');
      expect(r.contentType).toBe('application/json');
    }
    const first = JSON.parse(json.requests[0]!.body) as { events: Record<string, unknown>[] };
    expect(first.events[0]).toMatchObject({ action: 'pool.create', outcome: 'success', actorType: 'token' });
    for (const r of splunk.requests) {
      expect(r.path).toBe('/services/collector/event');
      expect(r.authorization).toBe('Splunk hec-token');
    }
    const hec = JSON.parse(splunk.requests[0]!.body.split('\n')[0]!) as Record<string, unknown>;
    expect(hec).toMatchObject({ source: 'spyglass', sourcetype: 'spyglass:audit', index: 'audit' });
    expect(typeof hec.time).toBe('number');

    const status = await waitFor(
      async () => {
        const s = await sinksOf(hub);
        return s.sinks.every((k) => k.lag === 0 && k.failures === 0) ? s : null;
      },
      { what: 'both sinks caught up', timeoutMs: 30_000 },
    );
    for (const s of status.sinks) {
      expect(s.sent).toBeGreaterThanOrEqual(30);
      expect(s.lastSuccessAt).not.toBeNull();
      expect(s.skipped).toBe(0);
    }
    const metrics = await hub.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/spyglass_audit_stream_sent_total\{sink="json"\} \d+/);
    expect(metrics.body).toMatch(/spyglass_audit_stream_lag_events\{sink="splunk"\} 0/);
    expect(metrics.body).toMatch(/spyglass_audit_stream_last_success_timestamp_seconds\{sink="json"\} \d/);
  });

  it('sends once from one of two replicas writing at the same time, in id order', { timeout: 120_000 }, async () => {
    const scratch = await scratchDatabase(db, { shareable: true });
    cleanups.push(() => scratch.drop());
    const receiver = new TestReceiver(await freePort());
    cleanups.push(() => receiver.stop());
    await receiver.start();
    const file = configFile({
      intervalMs: 100,
      gapSettleMs: 2000,
      sinks: [{ name: 'json', type: 'http', url: receiver.url, batchSize: BATCH, filters: { actions: ['pool.'] } }],
    });
    cleanups.push(() => file.remove());
    const env = { SPYGLASS_CONFIG: file.path };
    const a = await createHub({ databaseUrl: scratch.url, env });
    cleanups.push(() => a.close());
    const b = await createHub({ databaseUrl: scratch.url, env });
    cleanups.push(() => b.close());
    // Both replicas write at once (their inserts interleave; on PostgreSQL and MySQL ids may commit out of order).
    await Promise.all(
      [a, b].map(async (hub, r) => {
        for (let i = 0; i < 20; i++) {
          expect((await hub.api('POST', '/api/v1/pools', { name: `r${r}-${i}` })).status).toBe(201);
        }
      }),
    );
    const expected = await storedPoolEvents(a);
    expect(expected).toHaveLength(40);
    await waitFor(() => new Set(batchesOf(receiver, 'http').flat()).size === 40, {
      what: 'the 40 events of both replicas at the receiver',
      timeoutMs: 60_000,
      detail: () => JSON.stringify(batchesOf(receiver, 'http')),
    });
    expectDelivered(batchesOf(receiver, 'http'), expected);
    expect(batchesOf(receiver, 'http').flat()).toEqual(expected); // one sender: nothing twice
    const [sa, sb] = [await sinksOf(a), await sinksOf(b)];
    expect(sa.sender).not.toBeNull();
    expect(sb.sender).toBe(sa.sender);
    expect(sb.sinks[0]).toMatchObject({ cursor: sa.sinks[0]!.cursor, failures: 0 });
  });
});
