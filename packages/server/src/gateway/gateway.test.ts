import { CLOSE_CODES, PROTOCOL_VERSION, WIRE_LIMITS } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SimAgent,
  createHub,
  logAction,
  testDatabases,
  waitFor,
  type TestHub,
  type TestPool,
} from '../../test/kit/index.js';

interface AuditRow {
  status: number;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

describe.each(testDatabases())('agent gateway on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    pool = await hub.createPool();
  });
  afterAll(async () => {
    await hub?.close();
  });

  describe('authentication', () => {
    it('welcomes an agent with a good pool key and registers it as connected', async () => {
      const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
      expect(welcome).toMatchObject({ type: 'welcome', v: PROTOCOL_VERSION, actions: { items: [] } });
      expect(welcome.settings.maxFrameBytes).toBe(WIRE_LIMITS.maxFrameBytes);
      const got = await hub.api<{
        status: string;
        service: { name: string };
        poolName: string;
        tags: Record<string, string>;
      }>('GET', `/api/v1/agents/${welcome.agentId}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        status: 'connected',
        service: { name: 'checkout' },
        poolName: pool.name,
        tags: { region: 'eu' },
      });
      await agent.close();
      await waitFor(
        async () =>
          (await hub.api<{ status: string }>('GET', `/api/v1/agents/${welcome.agentId}`)).body.status ===
          'disconnected',
        { what: 'the agent to be marked disconnected' },
      );
    });

    it('closes with 4001 on a wrong or missing key and audits it', async () => {
      const wrong = new SimAgent(hub.wsUrl, 'sgp_not-a-real-key');
      expect(await wrong.closed).toMatchObject({
        code: CLOSE_CODES.UNAUTHENTICATED,
        reason: expect.stringContaining('invalid pool key'),
      });
      const missing = new SimAgent(hub.wsUrl, undefined);
      expect(await missing.closed).toMatchObject({
        code: CLOSE_CODES.UNAUTHENTICATED,
        reason: expect.stringContaining('missing pool key'),
      });
      const audit = await hub.api<{ items: { action: string; outcome: string; details: { reason: string } }[] }>(
        'GET',
        '/api/v1/audit?action=agent.connect',
      );
      expect(audit.body.items.map((e) => [e.outcome, e.details.reason])).toEqual(
        expect.arrayContaining([
          ['denied', 'invalid pool key'],
          ['denied', 'missing pool key'],
        ]),
      );
    });
  });

  describe('dispatch', () => {
    it('sends created actions to matching agents only, takes statuses and removes deleted actions', async () => {
      const { agent: eu, welcome: euWelcome } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'eu' } });
      const { agent: us } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'us' } });
      const created = await hub.api<{ id: string; state: string }>(
        'POST',
        '/api/v1/actions',
        logAction(pool.name, { target: { pool: pool.name, tags: { region: 'eu' } } }),
      );
      expect(created.status).toBe(201);
      const frame = await eu.next('actions', (f) => f.items.some((a) => a.id === created.body.id));
      expect(frame.items[0]).toMatchObject({
        id: created.body.id,
        kind: 'log',
        file: 'src/checkout.ts',
        line: 42,
        maxHits: 100,
      });
      eu.status(created.body.id, 'active', { method: 'patch', location: { file: 'src/checkout.ts', line: 42 } });
      await waitFor(
        async () => {
          const a = await hub.api<{
            statusCounts: Record<string, number>;
            agents: { agentId: string; method: string }[];
          }>('GET', `/api/v1/actions/${created.body.id}`);
          return (
            a.body.statusCounts.active === 1 &&
            a.body.agents[0]?.agentId === euWelcome.agentId &&
            a.body.agents[0]?.method === 'patch'
          );
        },
        { what: "the eu agent's status on the action" },
      );
      // A later action for every region proves the us agent's set was recomputed after the first action existed: each
      // set is the agent's whole desired set, so the first action would be in it if it matched.
      const later = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name, { line: 43 }));
      const usSet = await us.next('actions', (f) => f.items.some((a) => a.id === later.body.id));
      expect(usSet.items.map((a) => a.id)).not.toContain(created.body.id);
      expect(us.sets().flat()).not.toContain(created.body.id);
      expect((await hub.api('DELETE', `/api/v1/actions/${later.body.id}`)).status).toBe(204);

      expect((await hub.api('DELETE', `/api/v1/actions/${created.body.id}`)).status).toBe(204);
      const after = await eu.next(
        'actions',
        (f) => !f.items.some((a) => a.id === created.body.id || a.id === later.body.id),
      );
      expect(after.revision).toBeGreaterThan(frame.revision);
      await Promise.all([eu.close(), us.close()]);
    });
  });

  describe('hits and lifecycle', () => {
    it('stores hits the agent sends and shows them through the REST API', async () => {
      const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
      const log = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
      const snap = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: 'src/checkout.ts',
        line: 50,
        expressions: ['order.total'],
        target: { pool: pool.name },
      });
      await agent.next('actions', (f) => f.items.length === 2);
      const at = Date.now();
      agent.send({
        type: 'hits',
        v: 1,
        logs: [
          { actionId: log.body.id, at, level: 'info', message: 'order 1 total 10' },
          {
            actionId: log.body.id,
            at: at + 1,
            level: 'info',
            message: 'order 2 total 20',
            traceId: 'a'.repeat(32),
            spanId: 'b'.repeat(16),
          },
        ],
        snapshots: [
          {
            actionId: snap.body.id,
            at,
            frames: [
              {
                functionName: 'checkout',
                file: 'src/checkout.ts',
                line: 50,
                locals: [{ name: 'total', type: 'number', value: '10' }],
              },
            ],
            watches: [{ expression: 'order.total', value: { type: 'number', value: '10' } }],
          },
        ],
      });
      const logs = await waitFor(
        async () => {
          const r = await hub.api<{ items: { message: string; agentId: string; traceId: string | null }[] }>(
            'GET',
            `/api/v1/actions/${log.body.id}/logs`,
          );
          return r.body.items.length === 2 ? r.body.items : undefined;
        },
        { what: 'the two stored log lines' },
      );
      expect(logs.map((l) => l.message)).toEqual(['order 2 total 20', 'order 1 total 10']);
      expect(logs[0]).toMatchObject({ agentId: welcome.agentId, traceId: 'a'.repeat(32) });

      const snaps = await hub.api<{ items: { id: string; top: { functionName: string } }[] }>(
        'GET',
        `/api/v1/actions/${snap.body.id}/snapshots`,
      );
      expect(snaps.body.items).toHaveLength(1);
      expect(snaps.body.items[0]!.top.functionName).toBe('checkout');
      const full = await hub.api<{ frames: { locals: { name: string }[] }[]; watches: { expression: string }[] }>(
        'GET',
        `/api/v1/actions/${snap.body.id}/snapshots/${snaps.body.items[0]!.id}`,
      );
      expect(full.body.frames[0]!.locals[0]!.name).toBe('total');
      expect(full.body.watches[0]!.expression).toBe('order.total');

      // maxHits of a snapshot defaults to 1: it completed and left the agent.
      const done = await agent.next('actions', (f) => !f.items.some((a) => a.id === snap.body.id));
      expect(done.items.map((a) => a.id)).toEqual([log.body.id]);
      expect(
        (await hub.api<{ state: string; hitCount: number }>('GET', `/api/v1/actions/${snap.body.id}`)).body,
      ).toMatchObject({
        state: 'completed',
        hitCount: 1,
      });
      await waitFor(
        async () => {
          const a = await hub.api<{ hits: { logs: number; snapshots: number } }>(
            'GET',
            `/api/v1/agents/${welcome.agentId}`,
          );
          return a.body.hits.logs === 2 && a.body.hits.snapshots === 1;
        },
        { what: "the agent's hit counts" },
      );
      await hub.api('DELETE', `/api/v1/actions/${log.body.id}`);
      await agent.close();
    });

    it('enforces maxHits on the hub: extra hits are dropped and the completed action leaves the agent', async () => {
      const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
      const a = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name, { maxHits: 3 }));
      await agent.next('actions', (f) => f.items.some((i) => i.id === a.body.id));
      const logs = Array.from({ length: 5 }, (_, i) => ({
        actionId: a.body.id,
        at: Date.now(),
        level: 'info',
        message: `hit ${i}`,
      }));
      agent.send({ type: 'hits', v: 1, logs });
      await agent.next('actions', (f) => !f.items.some((i) => i.id === a.body.id));
      const got = await hub.api<{ state: string; hitCount: number; endedAt: number }>(
        'GET',
        `/api/v1/actions/${a.body.id}`,
      );
      expect(got.body).toMatchObject({ state: 'completed', hitCount: 3 });
      const stored = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${a.body.id}/logs`);
      expect(stored.body.items.map((l) => l.message)).toEqual(['hit 2', 'hit 1', 'hit 0']);
      // Late hits for the completed action are dropped quietly. A connection's frames are handled in order, so once a
      // line sent after the late one is stored, the late one was handled too.
      const other = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name, { line: 44 }));
      await agent.next('actions', (f) => f.items.some((i) => i.id === other.body.id));
      agent.log(a.body.id, 'late');
      agent.log(other.body.id, 'after the late one');
      await waitFor(
        async () =>
          (await hub.api<{ items: unknown[] }>('GET', `/api/v1/actions/${other.body.id}/logs`)).body.items.length === 1,
        { what: 'the line sent after the late one' },
      );
      const final = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${a.body.id}/logs`);
      expect(final.body.items.map((l) => l.message)).toEqual(['hit 2', 'hit 1', 'hit 0']);
      expect((await hub.api<{ hitCount: number }>('GET', `/api/v1/actions/${a.body.id}`)).body.hitCount).toBe(3);
      await hub.api('DELETE', `/api/v1/actions/${other.body.id}`);
      await agent.close();
    });

    it('expires actions on the hub and removes them from agents', async () => {
      const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
      const a = await hub.api<{ id: string }>(
        'POST',
        '/api/v1/actions',
        // Long enough that the action reaches the agent before it expires even on a loaded machine.
        logAction(pool.name, { expiresAt: Date.now() + 2000 }),
      );
      await agent.next('actions', (f) => f.items.some((i) => i.id === a.body.id), 15_000);
      await agent.next('actions', (f) => !f.items.some((i) => i.id === a.body.id), 15_000);
      expect((await hub.api<{ state: string }>('GET', `/api/v1/actions/${a.body.id}`)).body.state).toBe('expired');
      await agent.close();
    });

    it('heals the desired set on reconnect: the same agent gets actions created while it was away', async () => {
      const first = await SimAgent.connect(hub.wsUrl, pool.key);
      await first.agent.close();
      const a = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
      const again = await SimAgent.connect(
        hub.wsUrl,
        pool.key,
        { session: first.welcome.session },
        { instanceId: first.agent.instanceId },
      );
      expect(again.welcome.agentId).toBe(first.welcome.agentId);
      expect(again.welcome.actions.items.map((i) => i.id)).toContain(a.body.id);
      expect(again.welcome.actions.revision).toBeGreaterThan(first.welcome.actions.revision);
      await hub.api('DELETE', `/api/v1/actions/${a.body.id}`);
      await again.agent.close();
    });

    it('closes an older connection of the same agent with 4006 when a new one says hello', async () => {
      const first = await SimAgent.connect(hub.wsUrl, pool.key);
      const second = await SimAgent.connect(
        hub.wsUrl,
        pool.key,
        { session: first.welcome.session },
        { instanceId: first.agent.instanceId },
      );
      expect(await first.agent.closed).toMatchObject({ code: CLOSE_CODES.REPLACED });
      expect(second.welcome.agentId).toBe(first.welcome.agentId);
      expect(second.welcome.session).toBe(first.welcome.session);
      const got = await hub.api<{ status: string }>('GET', `/api/v1/agents/${first.welcome.agentId}`);
      expect(got.body.status).toBe('connected');
      await second.agent.close();
    });

    it('refuses (4008) and audits a hello for a registered instance id without its session credential', async () => {
      const real = await SimAgent.connect(hub.wsUrl, pool.key);
      expect(real.welcome.session).toMatch(/^sga_/);
      const before = await hub.api<{ connectedAt: number; hostname: string }>(
        'GET',
        `/api/v1/agents/${real.welcome.agentId}`,
      );
      const other = await SimAgent.connect(hub.wsUrl, pool.key);
      const attempts: [string, Record<string, unknown>][] = [
        ['missing session credential', { hostname: 'impostor' }],
        ['wrong session credential', { hostname: 'impostor', session: 'sga_forged-credential' }],
        // Another agent's credential is not this one's.
        ['wrong session credential', { hostname: 'impostor', session: other.welcome.session }],
      ];
      for (const [reason, hello] of attempts) {
        const impostor = new SimAgent(hub.wsUrl, pool.key, { instanceId: real.agent.instanceId });
        await impostor.opened;
        impostor.hello(hello);
        const outcome = await Promise.race([impostor.closed, impostor.next('welcome').then(() => 'welcomed')]);
        expect(outcome).toEqual({
          code: CLOSE_CODES.IDENTITY_REFUSED,
          reason: expect.stringContaining(`identity refused: ${reason}`),
        });
      }
      // The real agent kept its socket and its record; the impostor wrote nothing.
      expect(real.agent.ws.readyState).toBe(real.agent.ws.OPEN);
      const after = await hub.api<{ status: string; connectedAt: number; hostname: string }>(
        'GET',
        `/api/v1/agents/${real.welcome.agentId}`,
      );
      expect(after.body).toMatchObject({
        status: 'connected',
        connectedAt: before.body.connectedAt,
        hostname: 'host-1',
      });
      // Audited as counted denials: a row per source address a minute, counting the attempts.
      const rows = await waitFor(
        async () => {
          const r = await hub.api<{ items: AuditRow[] }>('GET', '/api/v1/audit?action=agent.connect&outcome=denied');
          const refused = r.body.items.filter((e) => e.status === 403);
          return refused.reduce((n, e) => n + Number(e.details.count), 0) === 3 ? refused : undefined;
        },
        { what: 'three counted identity refusals', timeoutMs: 20_000 },
      );
      expect(rows.at(-1)).toMatchObject({
        targetType: 'agent',
        targetId: real.welcome.agentId,
        details: { reason: 'missing session credential', instanceId: real.agent.instanceId, hostname: 'impostor' },
      });
      // With its credential the real agent reconnects as itself.
      await real.agent.close();
      const again = await SimAgent.connect(
        hub.wsUrl,
        pool.key,
        { session: real.welcome.session },
        { instanceId: real.agent.instanceId },
      );
      expect(again.welcome).toMatchObject({ agentId: real.welcome.agentId, session: real.welcome.session });
      await Promise.all([again.agent.close(), other.agent.close()]);
    });

    it('registers a new instance id with a fresh credential, and again once its record is gone', async () => {
      const first = await SimAgent.connect(hub.wsUrl, pool.key);
      await first.agent.close();
      expect((await hub.api('DELETE', `/api/v1/agents/${first.welcome.agentId}`)).status).toBe(204);
      // The record was deleted (or pruned): the old credential proves nothing and is not needed.
      const again = await SimAgent.connect(
        hub.wsUrl,
        pool.key,
        { session: first.welcome.session },
        { instanceId: first.agent.instanceId },
      );
      expect(again.welcome.agentId).not.toBe(first.welcome.agentId);
      expect(again.welcome.session).toMatch(/^sga_/);
      expect(again.welcome.session).not.toBe(first.welcome.session);
      await again.agent.close();

      // An agent registered before credentials existed is given one at its next hello, and needs it from then on.
      await hub.storage.db
        .updateTable('agents')
        .set({ session_hash: null })
        .where('id', '=', again.welcome.agentId)
        .execute();
      const legacy = await SimAgent.connect(hub.wsUrl, pool.key, {}, { instanceId: first.agent.instanceId });
      expect(legacy.welcome.agentId).toBe(again.welcome.agentId);
      expect(legacy.welcome.session).toMatch(/^sga_/);
      await legacy.agent.close();
      const late = new SimAgent(hub.wsUrl, pool.key, { instanceId: first.agent.instanceId });
      await late.opened;
      late.hello();
      expect(await late.closed).toMatchObject({ code: CLOSE_CODES.IDENTITY_REFUSED });
    });

    it('notices a dead connection by its missing pongs (4004) and marks the agent disconnected', async () => {
      const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
      agent.ws.pong = () => undefined;
      (agent.ws as unknown as { _receiver: { removeAllListeners(e: string): void } })._receiver.removeAllListeners(
        'ping',
      );
      const closed = await agent.closed;
      expect(closed.code).toBe(CLOSE_CODES.HEARTBEAT_TIMEOUT);
      // The hub gives up after 1.5 heartbeat intervals (FAST_LIVE: 400 ms) of silence, by its own clock.
      const silentMs = Number(/no heartbeat or pong for (\d+) ms/.exec(closed.reason)?.[1]);
      expect(silentMs).toBeGreaterThan(1.5 * 400);
      await waitFor(
        async () =>
          (await hub.api<{ status: string }>('GET', `/api/v1/agents/${welcome.agentId}`)).body.status ===
          'disconnected',
        { what: 'the agent to be marked disconnected' },
      );
    });

    it('disconnects a deleted agent with 4005', async () => {
      const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
      expect((await hub.api('DELETE', `/api/v1/agents/${welcome.agentId}`)).status).toBe(204);
      expect(await agent.closed).toMatchObject({ code: CLOSE_CODES.REVOKED });
      expect((await hub.api('GET', `/api/v1/agents/${welcome.agentId}`)).status).toBe(404);
    });
  });

  describe('bad frames', () => {
    it('closes with 4003 when the first frame is not hello, and with 4002 on another protocol version', async () => {
      const early = new SimAgent(hub.wsUrl, pool.key);
      await early.opened;
      early.send({ type: 'heartbeat', v: 1, at: Date.now() });
      expect(await early.closed).toMatchObject({
        code: CLOSE_CODES.INVALID_FRAME,
        reason: expect.stringContaining('first frame must be hello'),
      });

      const future = new SimAgent(hub.wsUrl, pool.key);
      await future.opened;
      future.hello({ v: 2 });
      expect(await future.closed).toMatchObject({
        code: CLOSE_CODES.UNSUPPORTED_VERSION,
        reason: expect.stringContaining('version 2'),
      });

      const badHello = new SimAgent(hub.wsUrl, pool.key);
      await badHello.opened;
      badHello.hello({ instanceId: 'x' });
      expect(await badHello.closed).toMatchObject({
        code: CLOSE_CODES.INVALID_FRAME,
        reason: expect.stringContaining('instanceId'),
      });
    });

    it('answers invalid JSON, unknown types and invalid hits with error frames and loses nothing stored', async () => {
      const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
      const a = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
      await agent.next('actions', (f) => f.items.some((i) => i.id === a.body.id));
      const hit = (message: string) => ({ actionId: a.body.id, at: Date.now(), level: 'info', message });
      agent.send({ type: 'hits', v: 1, logs: [hit('before')] });

      agent.send('{"type": "hits", "v": 1, "logs": [');
      expect((await agent.next('error')).message).toMatch(/invalid JSON/);
      agent.send({ type: 'telemetry', v: 1 });
      expect((await agent.next('error')).message).toMatch(/unknown frame type "telemetry"/);
      agent.send({ type: 'hits', v: 1, logs: [hit('valid'), { ...hit('bad level'), level: 'loud' }] });
      expect((await agent.next('error')).message).toMatch(/invalid hits \(nothing of it was stored\).*level/);
      agent.send({
        type: 'hits',
        v: 1,
        logs: Array.from({ length: WIRE_LIMITS.maxBatchItems + 1 }, () => hit('too many')),
      });
      expect((await agent.next('error')).message).toMatch(/at most 500 items/);
      agent.send({ type: 'hits', v: 1, logs: [{ ...hit('stranger'), actionId: 'not-given' }] });
      expect((await agent.next('error')).message).toMatch(/not given/);
      agent.send({ type: 'hits', v: 1, logs: [hit('after')] });

      const messages = await waitFor(
        async () => {
          const r = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${a.body.id}/logs`);
          return r.body.items.length >= 2 ? r.body.items.map((i) => i.message) : undefined;
        },
        { what: 'the lines before and after the bad frames' },
      );
      expect(messages).toEqual(['after', 'before']);
      expect(agent.ws.readyState).toBe(agent.ws.OPEN);

      // An oversize frame closes the socket (1009); what was stored stays.
      agent.send(JSON.stringify({ type: 'hits', v: 1, logs: [hit('x'.repeat(WIRE_LIMITS.maxFrameBytes))] }));
      expect((await agent.closed).code).toBe(CLOSE_CODES.TOO_LARGE);
      const after = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${a.body.id}/logs`);
      expect(after.body.items.map((i) => i.message)).toEqual(['after', 'before']);
      await hub.api('DELETE', `/api/v1/actions/${a.body.id}`);
    });
  });
});
