import type { AuditEvent } from '@spyglass/protocol';
import { Registry } from 'prom-client';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configFile } from '../../test/audit-stream/receivers.js';
import { createHub, waitFor, type TestHub } from '../../test/kit/index.js';
import { auditStreamConfigSchema, sinkFilter, type SinkConfig } from './config.js';
import { octetCounted, rfc5424 } from './format.js';
import { AuditStreamer } from './streamer.js';
import { loadConfig, type ConfigError } from '../config/config.js';
import type { Transport } from './transports.js';

const hubs: TestHub[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
  for (const c of cleanups.splice(0)) c();
});

/** A transport that records what it was given and fails while `failing` is set. */
class Recorder implements Transport {
  readonly target = 'test://recorder';
  readonly batches: string[][] = [];
  failing: string | null = null;
  send(events: readonly AuditEvent[]): Promise<void> {
    if (this.failing !== null) return Promise.reject(new Error(this.failing));
    this.batches.push(events.map((e) => e.id));
    return Promise.resolve();
  }
  close(): void {}
}

const sink = (extra: Record<string, unknown> = {}): SinkConfig =>
  auditStreamConfigSchema.parse({
    sinks: [{ name: 's', type: 'http', url: 'http://127.0.0.1:9/', minBackoffMs: 10, maxBackoffMs: 10, ...extra }],
  }).sinks[0]!;

async function insertAudit(hub: TestHub, id: number, at = Date.now(), action = 'pool.create'): Promise<void> {
  await hub.storage.db
    .insertInto('audit_events')
    .values({
      id,
      at,
      actor_type: 'user',
      actor_id: null,
      actor_email: null,
      action,
      target_type: null,
      target_id: null,
      outcome: 'success',
      status: 201,
      ip: null,
      user_agent: null,
      request_id: null,
      details: null,
    })
    .execute();
}

async function maxId(hub: TestHub): Promise<number> {
  const r = await hub.storage.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('id').as('m'))
    .executeTakeFirst();
  return Number(r?.m ?? 0);
}

describe('the audit streamer', () => {
  it('waits gapSettleMs at a missing id (an insert not yet committed), sends it in order if it comes, and otherwise passes it over', async () => {
    const hub = await createHub();
    hubs.push(hub);
    const recorder = new Recorder();
    const streamer = new AuditStreamer({
      db: hub.storage.db,
      sinks: [sink({ start: 'now' })],
      log: pino({ level: 'silent' }),
      registry: new Registry(),
      gapSettleMs: 400,
      createTransport: () => recorder,
    });
    await streamer.run(Date.now()); // the cursor starts after what is stored
    const base = await maxId(hub);
    await insertAudit(hub, base + 1);
    await insertAudit(hub, base + 3); // base + 2 has its id but is not committed yet
    await streamer.run(Date.now());
    expect(recorder.batches.flat()).toEqual([String(base + 1)]);
    await insertAudit(hub, base + 2); // committed within the settle time
    await streamer.run(Date.now());
    expect(recorder.batches.flat()).toEqual([base + 1, base + 2, base + 3].map(String));

    // A gap that stays (a rolled-back insert) holds the sink back for gapSettleMs, not for ever.
    await insertAudit(hub, base + 5);
    await streamer.run(Date.now());
    expect(recorder.batches.flat()).toHaveLength(3);
    await waitFor(
      async () => {
        await streamer.run(Date.now());
        return recorder.batches.flat().includes(String(base + 5));
      },
      { what: 'the event after a permanent gap to be sent', timeoutMs: 10_000 },
    );
    expect(recorder.batches.flat()).toEqual([base + 1, base + 2, base + 3, base + 5].map(String));
  });

  it('keeps the cursor while the sink fails and sends the same events, in order, when it is back', async () => {
    const hub = await createHub();
    hubs.push(hub);
    const recorder = new Recorder();
    const streamer = new AuditStreamer({
      db: hub.storage.db,
      sinks: [sink({ start: 'now', batchSize: 3 })],
      log: pino({ level: 'silent' }),
      registry: new Registry(),
      gapSettleMs: 0,
      createTransport: () => recorder,
    });
    await streamer.run(Date.now());
    const base = await maxId(hub);
    for (let i = 1; i <= 8; i++) await insertAudit(hub, base + i);
    recorder.failing = 'connect ECONNREFUSED 127.0.0.1:9';
    await streamer.run(Date.now());
    const [down] = await streamer.status();
    expect(down).toMatchObject({
      cursor: String(base),
      lag: 8,
      lagSince: expect.any(Number),
      failures: 1,
      lastError: recorder.failing,
    });
    recorder.failing = null;
    await waitFor(
      async () => {
        await streamer.run(Date.now());
        return recorder.batches.flat().length === 8;
      },
      { what: 'all 8 events once the sink is back', timeoutMs: 10_000 },
    );
    expect(recorder.batches).toEqual([
      [1, 2, 3].map((i) => String(base + i)),
      [4, 5, 6].map((i) => String(base + i)),
      [7, 8].map((i) => String(base + i)),
    ]);
    const [up] = await streamer.status();
    expect(up).toMatchObject({ cursor: String(base + 8), lag: 0, lagSince: null, failures: 0, sent: 8 });
  });

  it('says loudly, in the log, the metrics and the status, when the retention deletes events a sink has not sent', async () => {
    const file = configFile({
      intervalMs: 100,
      sinks: [{ name: 'siem', type: 'http', url: 'http://127.0.0.1:9/', filters: { actions: ['old.'] } }],
    });
    cleanups.push(() => file.remove());
    const hub = await createHub({
      deps: {
        modules: {
          auditStream: {
            createTransport: () => {
              const r = new Recorder();
              r.failing = 'connect ECONNREFUSED 127.0.0.1:9';
              return r;
            },
          },
        },
      },
      env: { SPYGLASS_AUDIT_RETENTION_MS: '60000', SPYGLASS_CONFIG: file.path },
    });
    hubs.push(hub);
    const old = Date.now() - 3_600_000;
    const base = await maxId(hub);
    await insertAudit(hub, base + 1, old, 'old.one');
    await insertAudit(hub, base + 2, old, 'old.two');
    await insertAudit(hub, base + 3, old, 'other.thing'); // not for this sink: not counted
    await waitFor(
      async () => {
        const s = (await hub.api('GET', '/api/v1/audit/sinks')).body as { sinks: { failures: number }[] };
        return s.sinks[0]!.failures > 0;
      },
      { what: 'the sink to have tried and failed', timeoutMs: 20_000 },
    );
    expect(await hub.app.hub.audit.sweep(60_000)).toBeGreaterThanOrEqual(3);
    const warn = hub.logs.entries().find((e) => e.sink === 'siem' && e.skipped !== undefined);
    expect(warn).toMatchObject({ level: 40, skipped: 2, firstId: base + 1, lastId: base + 2 });
    expect(String(warn!.msg)).toContain('will never reach it');
    expect((await hub.app.inject({ url: '/metrics' })).body).toMatch(
      /spyglass_audit_stream_skipped_total\{sink="siem"\} 2/,
    );
    const s = (await hub.api('GET', '/api/v1/audit/sinks')).body as { sinks: { skipped: number }[] };
    expect(s.sinks[0]!.skipped).toBe(2);
  });
});

describe('audit sink formats and filters', () => {
  const event: AuditEvent = {
    id: '42',
    at: Date.UTC(2026, 11, 4, 18, 0, 0, 123),
    actorType: 'user',
    actorId: 'u1',
    actorEmail: 'zoë@example.test',
    action: 'pool.create',
    targetType: 'pool',
    targetId: 'p"]\\x',
    outcome: 'denied',
    status: 403,
    ip: '127.0.0.1',
    userAgent: 'ua',
    requestId: 'r1',
    details: { a: 1 },
  };

  it('writes RFC 5424 with escaped structured data and the event as JSON', () => {
    const m = rfc5424(event, { facility: 10, hostname: 'hub-0', appName: 'spyglass', procId: '7' });
    expect(m.startsWith('<84>1 2026-12-04T18:00:00.123Z hub-0 spyglass 7 pool.create [spyglass@32473 id="42" ')).toBe(
      true,
    );
    expect(m).toContain('targetId="p\\"\\]\\\\x"');
    expect(JSON.parse(m.slice(m.indexOf('] ') + 2))).toEqual(event);
  });

  it('frames by octet count in bytes, not characters', () => {
    const framed = octetCounted('zoë');
    expect(framed.toString('utf8')).toBe('4 zoë');
  });

  it('matches actions exactly, by prefix or glob, and outcomes', () => {
    const f = sinkFilter({ actions: ['user.create', 'pool.', 'token.*', '*.delete'], outcomes: ['success', 'denied'] });
    const ok = (action: string, outcome = 'success') => f({ action, outcome });
    expect([ok('user.create'), ok('user.created'), ok('pool.rotate_key'), ok('token.create')]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    expect([
      ok('agent.delete'),
      ok('agent.deleted'),
      ok('pool.create', 'failure'),
      ok('pool.create', 'denied'),
    ]).toEqual([true, false, false, true]);
    expect(sinkFilter({})({ action: 'anything', outcome: 'failure' })).toBe(true);
  });
});

describe('auditStream config', () => {
  it('names each bad sink setting with its position', () => {
    const file = configFile({
      sinks: [
        { name: 'a', type: 'syslog', host: '127.0.0.1', protocol: 'tcp' },
        { name: 'a', type: 'http', url: 'ftp://x', token: 't' },
        { name: 'c', type: 'splunk', url: 'https://splunk:8088', token: 't', tokenFile: '/x' },
      ],
    });
    cleanups.push(() => file.remove());
    let problems: string[] = [];
    try {
      loadConfig({ env: { SPYGLASS_CONFIG: file.path } });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.some((p) => p.startsWith('auditStream.sinks.0.port'))).toBe(true);
    expect(problems.some((p) => p.startsWith('auditStream.sinks.1.url'))).toBe(true);
    expect(problems.some((p) => p.includes('give token or tokenFile, not both'))).toBe(true);
  });
});
