import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Role, StreamServerMessage } from '@spyglass/protocol';
import {
  SimAgent,
  createHub,
  logAction,
  scratchDatabase,
  testDatabases,
  waitFor,
  type ScratchDatabase,
  type TestHub,
  type TestPool,
} from '../../test/kit/index.js';
import { MemoryBus } from '../bus/bus.js';

class StreamReader {
  readonly ws: WebSocket;
  readonly messages: StreamServerMessage[] = [];
  readonly opened: Promise<void>;
  #pings = 0;
  constructor(hub: TestHub, as: Role = 'admin') {
    this.ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: hub.auth(as) });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (d) => this.messages.push(JSON.parse((d as Buffer).toString('utf8')) as StreamServerMessage));
  }
  send(m: unknown): void {
    this.ws.send(JSON.stringify(m));
  }
  async subscribe(m: { actionIds?: string[]; services?: { pool: string; service: string }[] }): Promise<void> {
    const before = this.messages.length;
    this.send({ type: 'subscribe', v: 1, ...m });
    await waitFor(() => this.messages.slice(before).some((x) => x.type === 'subscribed'), {
      what: 'the hub to confirm the subscription',
    });
  }
  /**
   * Pings and waits for the pong: the hub answers after everything it queued for this client before, so whatever it
   * sent until now has arrived (the positive signal before checking that something did not come).
   */
  async settled(): Promise<void> {
    const id = `settle-${++this.#pings}`;
    this.send({ type: 'ping', v: 1, id });
    await waitFor(() => this.messages.some((m) => m.type === 'pong' && m.id === id), { what: `the pong ${id}` });
  }

  of<T extends StreamServerMessage['type']>(type: T): Extract<StreamServerMessage, { type: T }>[] {
    return this.messages.filter((m) => m.type === type) as Extract<StreamServerMessage, { type: T }>[];
  }
}

describe.each(testDatabases())('live stream on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;
  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    pool = await hub.createPool();
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('refuses anonymous clients', async () => {
    const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`);
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      }),
    );
    expect(status).toBe(401);
  });

  it('delivers logs, statuses and action changes of followed actions and services, not others', async () => {
    const byAction = new StreamReader(hub, 'viewer');
    const byService = new StreamReader(hub, 'viewer');
    const other = new StreamReader(hub, 'viewer');
    await Promise.all([byAction.opened, byService.opened, other.opened]);
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    const a = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
    await byAction.subscribe({ actionIds: [a.body.id] });
    await byService.subscribe({ services: [{ pool: pool.name, service: 'checkout' }] });
    await other.subscribe({ services: [{ pool: pool.name, service: 'billing' }] });
    await agent.next('actions', (f) => f.items.some((i) => i.id === a.body.id));
    agent.status(a.body.id, 'active', { method: 'breakpoint' });
    agent.send({
      type: 'hits',
      v: 1,
      logs: [{ actionId: a.body.id, at: Date.now(), level: 'warn', message: 'live line' }],
    });
    for (const reader of [byAction, byService]) {
      await waitFor(() => reader.of('log').length === 1 && reader.of('status').length === 1, {
        what: 'the line and the status on both followers',
      });
      expect(reader.of('log')[0]).toMatchObject({
        actionId: a.body.id,
        agentId: welcome.agentId,
        log: { level: 'warn', message: 'live line' },
      });
      expect(reader.of('status')[0]).toMatchObject({
        actionId: a.body.id,
        status: { state: 'active', method: 'breakpoint' },
      });
    }
    await hub.api('DELETE', `/api/v1/actions/${a.body.id}`);
    await waitFor(() => byAction.of('action').some((m) => m.event === 'deleted'), { what: 'the deleted event' });
    await other.settled();
    expect(other.of('log')).toHaveLength(0);
    expect(other.of('status')).toHaveLength(0);

    // unsubscribe stops delivery
    const b = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
    byAction.send({ type: 'unsubscribe', v: 1, actionIds: [a.body.id] });
    await byAction.subscribe({ actionIds: [] });
    await agent.next('actions', (f) => f.items.some((i) => i.id === b.body.id));
    agent.send({
      type: 'hits',
      v: 1,
      logs: [{ actionId: b.body.id, at: Date.now(), level: 'info', message: 'second' }],
    });
    await waitFor(() => byService.of('log').length === 2, { what: 'the second line on the service stream' });
    await byAction.settled();
    expect(byAction.of('log')).toHaveLength(1);

    byAction.send({ type: 'ping', v: 1, id: 'p1' });
    byAction.ws.send('not json');
    await waitFor(() => byAction.of('pong').some((m) => m.id === 'p1') && byAction.of('error').length === 1, {
      what: 'the pong p1 and the error for invalid JSON',
    });
    expect(byAction.of('error')[0]!.message).toMatch(/invalid JSON/);
    await hub.api('DELETE', `/api/v1/actions/${b.body.id}`);
    for (const r of [byAction, byService, other]) r.ws.close();
    await agent.close();
  });

  it('drops the oldest messages of a slow client and says how many', async () => {
    const slowHub = await createHub({
      database,
      listen: true,
      // Long heartbeats: the client below stops reading on purpose, and must not be timed out for it (a stream client
      // is dropped after two unanswered pings) while a slower database stores the 400 lines.
      live: {
        gateway: { heartbeatIntervalMs: 10_000 },
        stream: { maxQueuedMessages: 10, maxBufferedBytes: 1024, heartbeatIntervalMs: 60_000 },
      },
    });
    try {
      const p = await slowHub.createPool();
      const reader = new StreamReader(slowHub);
      await reader.opened;
      const { agent } = await SimAgent.connect(slowHub.wsUrl, p.key);
      const a = await slowHub.api<{ id: string }>('POST', '/api/v1/actions', logAction(p.name, { maxHits: 100_000 }));
      await reader.subscribe({ actionIds: [a.body.id] });
      await agent.next('actions', (f) => f.items.some((i) => i.id === a.body.id));
      // Stop reading: the kernel buffers fill, the hub's socket backs up, its queue overflows.
      const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const big = 'y'.repeat(60_000);
      for (let i = 0; i < 40; i++) {
        agent.send({
          type: 'hits',
          v: 1,
          logs: Array.from({ length: 10 }, (_, j) => ({
            actionId: a.body.id,
            at: Date.now(),
            level: 'info',
            message: `${i}-${j} ${big}`,
          })),
        });
      }
      await waitFor(
        async () => {
          const r = await slowHub.api<{ hitCount: number }>('GET', `/api/v1/actions/${a.body.id}`);
          return r.body.hitCount === 400;
        },
        { what: 'the 400 hits to be stored', timeoutMs: 30_000 },
      );
      socket.resume();
      const dropped = await waitFor(
        () => {
          const d = reader.of('dropped');
          return d.length > 0 ? d : undefined;
        },
        {
          what: 'a dropped notice',
          timeoutMs: 20_000,
          stopIf: () => reader.ws.readyState !== reader.ws.OPEN && 'the hub closed the stream',
        },
      );
      const logs = await waitFor(
        () => {
          const l = reader.of('log');
          return l.length + dropped.reduce((n, d) => n + d.count, 0) === 400 ? l : undefined;
        },
        { what: 'every line delivered or counted as dropped', timeoutMs: 20_000 },
      );
      // The newest message always arrives; the ones lost were older.
      expect(logs[logs.length - 1]!.log.message.startsWith('39-9 ')).toBe(true);
      expect(dropped.reduce((n, d) => n + d.count, 0)).toBeGreaterThan(0);
      reader.ws.close();
      await agent.close();
    } finally {
      await slowHub.close();
    }
  });
});

describe.each(testDatabases())('two hub replicas sharing a database and a bus on $dialect', (database) => {
  let db: ScratchDatabase;
  let a: TestHub;
  let b: TestHub;
  beforeAll(async () => {
    db = await scratchDatabase(database, { shareable: true });
    const bus = new MemoryBus();
    a = await createHub({ databaseUrl: db.url, deps: { bus }, listen: true });
    b = await createHub({ databaseUrl: db.url, deps: { bus }, listen: true });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('dispatches an action created on B to an agent on A, and streams its hits to a client on B', async () => {
    const pool = await b.createPool();
    const { agent } = await SimAgent.connect(a.wsUrl, pool.key);
    const reader = new StreamReader(b);
    await reader.opened;
    await reader.subscribe({ services: [{ pool: pool.name, service: 'checkout' }] });
    const created = await b.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
    await agent.next('actions', (f) => f.items.some((i) => i.id === created.body.id));
    agent.send({
      type: 'hits',
      v: 1,
      logs: [{ actionId: created.body.id, at: Date.now(), level: 'info', message: 'across replicas' }],
    });
    await waitFor(() => reader.of('log').some((m) => m.log.message === 'across replicas'), {
      what: 'the line from the other replica',
    });
    expect(reader.of('action').some((m) => m.actionId === created.body.id && m.event === 'created')).toBe(true);
    const stored = await b.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${created.body.id}/logs`);
    expect(stored.body.items[0]!.message).toBe('across replicas');
    await b.api('DELETE', `/api/v1/actions/${created.body.id}`);
    await agent.next('actions', (f) => f.items.length === 0);
    reader.ws.close();
    await agent.close();
  });
});
