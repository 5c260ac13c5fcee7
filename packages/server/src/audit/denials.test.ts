import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditEvent } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/config.js';
import { SimAgent, createHub, testDatabases, waitFor, type TestHub } from '../../test/kit/index.js';
import { CLOSE_CODES } from '@spyglass/protocol';

interface Row {
  id: number;
  at: number;
  ip: string | null;
  status: number | null;
  actor_id: string | null;
  details: Record<string, unknown>;
}

/** `n` requests, `parallel` at a time. */
async function flood(n: number, parallel: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, n - i) }, async (_, j) => {
        const res = await send(i + j);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    statuses.push(...batch);
  }
  return statuses;
}

/**
 * Audit log flooding: every anonymous 401/403/429 was a row of its own (~1000 rows/s from one client) and nothing was
 * ever removed. Anonymous denials are counted per source address, action and status a minute, and a retention sweep
 * deletes old events. Requests go over a real socket.
 */
describe('anonymous denials in the audit log', () => {
  let hub: TestHub;
  const streamed: AuditEvent[] = [];

  beforeAll(async () => {
    hub = await createHub({ listen: true, env: { SPYGLASS_TRUST_PROXY: 'true' } });
    hub.app.hub.audit.addSink((e) => streamed.push(e));
  });
  afterAll(() => hub?.close());

  const rows = async (action: string): Promise<Row[]> =>
    (
      await hub.storage.db
        .selectFrom('audit_events')
        .select(['id', 'at', 'ip', 'status', 'actor_id', 'details'])
        .where('action', '=', action)
        .where('outcome', '=', 'denied')
        .orderBy('id')
        .execute()
    ).map((r) => ({ ...r, id: Number(r.id), at: Number(r.at), details: JSON.parse(r.details ?? '{}') }));
  const total = (rs: Row[]): number => rs.reduce((n, r) => n + Number(r.details.count ?? 1), 0);

  it('a flood from one address is one counted row a minute, and the stream still gets every event', async () => {
    const n = 300;
    const statuses = await flood(n, 20, () => fetch(`${hub.url}/api/v1/agents`));
    expect(statuses.every((s) => s === 401)).toBe(true);
    const counted = await waitFor(
      async () => {
        const rs = await rows('GET /api/v1/agents');
        return total(rs) === n ? rs : null;
      },
      { what: `the counts of ${n} denials to be written`, timeoutMs: 30_000 },
    );
    // One row, or two when the minute turned during the flood.
    expect(counted.length).toBeGreaterThanOrEqual(1);
    expect(counted.length).toBeLessThanOrEqual(2);
    for (const r of counted) {
      expect(r).toMatchObject({ ip: '127.0.0.1', status: 401, actor_id: null });
      expect(r.details).toMatchObject({ method: 'GET', route: '/api/v1/agents' });
      expect(Number(r.details.lastAt)).toBeGreaterThanOrEqual(r.at);
    }
    expect(streamed.filter((e) => e.action === 'GET /api/v1/agents')).toHaveLength(n);
  });

  it('agent sockets refused for a wrong pool key are counted per source address a minute', async () => {
    const n = 60;
    const closes: number[] = [];
    for (let i = 0; i < n; i += 10) {
      const batch = await Promise.all(
        Array.from(
          { length: 10 },
          async (_, j) => (await new SimAgent(hub.wsUrl, `sgp_wrong-key-${i + j}`).closed).code,
        ),
      );
      closes.push(...batch);
    }
    expect(closes.every((c) => c === CLOSE_CODES.UNAUTHENTICATED)).toBe(true);
    const counted = await waitFor(
      async () => {
        const rs = (await rows('agent.connect')).filter((r) => r.details.reason === 'invalid pool key');
        return total(rs) === n ? rs : null;
      },
      { what: `the counts of ${n} wrong-key agent sockets to be written`, timeoutMs: 30_000 },
    );
    expect(counted.length).toBeGreaterThanOrEqual(1);
    expect(counted.length).toBeLessThanOrEqual(2);
    for (const r of counted) expect(r).toMatchObject({ ip: '127.0.0.1', status: 401, actor_id: null });
    // A socket without any key is a denial of another kind: a row of its own.
    expect((await new SimAgent(hub.wsUrl, undefined).closed).code).toBe(CLOSE_CODES.UNAUTHENTICATED);
    await waitFor(async () => (await rows('agent.connect')).some((r) => r.details.reason === 'missing pool key'), {
      what: 'the missing-key denial',
    });
    // The stream still gets every event.
    expect(
      streamed.filter((e) => e.action === 'agent.connect' && e.details.reason === 'invalid pool key'),
    ).toHaveLength(n);
  });

  it('other addresses, actions and statuses get rows of their own', async () => {
    // The hub trusts the proxy here, so X-Forwarded-For is the source address.
    await flood(40, 10, (i) =>
      fetch(`${hub.url}/api/v1/actions`, { headers: { 'x-forwarded-for': `192.0.2.${i % 4}` } }),
    );
    const byIp = await waitFor(
      async () => {
        const rs = await rows('GET /api/v1/actions');
        return total(rs) === 40 ? rs : null;
      },
      { what: 'the counts per address', timeoutMs: 30_000 },
    );
    const perIp = new Map<string, number>();
    for (const r of byIp) perIp.set(r.ip!, (perIp.get(r.ip!) ?? 0) + Number(r.details.count));
    expect(Object.fromEntries(perIp)).toEqual({ '192.0.2.0': 10, '192.0.2.1': 10, '192.0.2.2': 10, '192.0.2.3': 10 });
    expect(byIp.length).toBeLessThanOrEqual(8); // at most two minutes each
  });

  it('wrong sign-ins from one address are counted with the accounts they tried', async () => {
    const ip = '198.51.100.7';
    const statuses = await flood(12, 4, (i) =>
      fetch(`${hub.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ email: `guess${i % 3}@example.test`, password: 'not the password' }),
      }),
    );
    expect(statuses.every((s) => s === 401)).toBe(true);
    const counted = await waitFor(
      async () => {
        const rs = (await rows('auth.login')).filter((r) => r.ip === ip);
        return total(rs) === 12 ? rs : null;
      },
      { what: 'the sign-in denials to be counted', timeoutMs: 30_000 },
    );
    expect(counted.length).toBeLessThanOrEqual(2);
    const emails = new Set(counted.flatMap((r) => (r.details.emails as string[] | undefined) ?? []));
    expect([...emails].sort()).toEqual(['guess0@example.test', 'guess1@example.test', 'guess2@example.test']);
  });

  it('denials of a signed-in caller stay one row each (they name who)', async () => {
    const before = (await rows('pool.create')).length;
    const statuses = await flood(5, 5, () =>
      fetch(`${hub.url}/api/v1/pools`, {
        method: 'POST',
        headers: { ...hub.auth('viewer'), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'not-allowed' }),
      }),
    );
    expect(statuses).toEqual([403, 403, 403, 403, 403]);
    const after = await rows('pool.create');
    expect(after.length - before).toBe(5);
    expect(after.slice(before).every((r) => r.actor_id === hub.userIds.viewer)).toBe(true);
  });
});

describe.each(testDatabases())('audit counts and retention on $dialect', (database) => {
  it('the counts are written when the hub stops', async () => {
    const own = await createHub({ database, listen: true });
    const n = 25;
    await flood(n, 5, () => fetch(`${own.url}/api/v1/tokens`));
    const db = own.storage.db;
    const read = () =>
      db
        .selectFrom('audit_events')
        .select('details')
        .where('action', '=', 'GET /api/v1/tokens')
        .where('outcome', '=', 'denied')
        .execute();
    // Stop before the periodic write can run.
    await own.app.close();
    const rs = await read();
    expect(rs.reduce((s, r) => s + Number(JSON.parse(r.details ?? '{}').count ?? 1), 0)).toBe(n);
    await own.close();
  });

  it('a sweep on one replica deletes events older than audit.retentionMs and keeps the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-audit-'));
    const file = path.join(dir, 'hub.yaml');
    writeFileSync(file, 'audit:\n  retentionMs: 3600000\n  sweepIntervalMs: 200\n');
    const hub = await createHub({ database, env: { SPYGLASS_CONFIG: file } });
    try {
      const now = Date.now();
      const event = (at: number, action: string) => ({
        at,
        actor_type: 'system',
        actor_id: null,
        actor_email: null,
        action,
        target_type: null,
        target_id: null,
        outcome: 'success',
        status: null,
        ip: null,
        user_agent: null,
        request_id: null,
        details: null,
      });
      await hub.storage.db
        .insertInto('audit_events')
        .values([
          ...Array.from({ length: 30 }, (_, i) => event(now - 2 * 3600_000 - i * 1000, 'test.old')),
          event(now - 3600_000 + 120_000, 'test.recent'),
        ])
        .execute();
      const left = await waitFor(
        async () => {
          const rs = await hub.storage.db
            .selectFrom('audit_events')
            .select('action')
            .where('action', 'like', 'test.%')
            .execute();
          return rs.some((r) => r.action === 'test.old') ? null : rs;
        },
        { what: 'the sweep to delete the old events', timeoutMs: 20_000 },
      );
      expect(left.map((r) => r.action)).toEqual(['test.recent']);
      // Read back through the API: what is left is listed as before.
      const listed = await hub.api<{ items: AuditEvent[] }>('GET', '/api/v1/audit?action=test.recent');
      expect(listed.body.items).toHaveLength(1);
    } finally {
      await hub.close();
    }
  });
});

describe('audit retention setting', () => {
  it('defaults to 90 days; 0 keeps everything; less than a minute is refused', () => {
    expect(loadConfig({ env: {} }).audit.retentionMs).toBe(90 * 24 * 3600_000);
    expect(loadConfig({ env: { SPYGLASS_AUDIT_RETENTION_MS: '0' } }).audit.retentionMs).toBe(0);
    expect(() => loadConfig({ env: { SPYGLASS_AUDIT_RETENTION_MS: '1000' } })).toThrow(ConfigError);
  });
});
