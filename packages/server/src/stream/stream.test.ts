import { MemoryBus } from '@spyglass/server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { StreamServerMessage } from '@spyglass/protocol';
import { SimAgent, eventually, logAction, startHub, type Hub } from '../gateway/__tests__/kit.js';

class StreamReader {
  readonly ws: WebSocket;
  readonly messages: StreamServerMessage[] = [];
  readonly opened: Promise<void>;
  constructor(hub: Hub, token = hub.token) {
    this.ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
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
    await eventually(() => this.messages.slice(before).some((x) => x.type === 'subscribed'));
  }
  of<T extends StreamServerMessage['type']>(type: T): Extract<StreamServerMessage, { type: T }>[] {
    return this.messages.filter((m) => m.type === type) as Extract<StreamServerMessage, { type: T }>[];
  }
}

describe('live stream', () => {
  let hub: Hub;
  let pool: { id: string; name: string; key: string };
  beforeAll(async () => {
    hub = await startHub();
    pool = await hub.createPool();
  });
  afterAll(() => hub.close());

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
    const viewer = await hub.userToken('viewer');
    const byAction = new StreamReader(hub, viewer);
    const byService = new StreamReader(hub, viewer);
    const other = new StreamReader(hub, viewer);
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
      await eventually(() => reader.of('log').length === 1 && reader.of('status').length === 1);
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
    await eventually(() => byAction.of('action').some((m) => m.event === 'deleted'));
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
    await eventually(() => byService.of('log').length === 2);
    expect(byAction.of('log')).toHaveLength(1);

    byAction.send({ type: 'ping', v: 1, id: 'p1' });
    byAction.ws.send('not json');
    await eventually(() => byAction.of('pong').length === 1 && byAction.of('error').length === 1);
    expect(byAction.of('error')[0]!.message).toMatch(/invalid JSON/);
    await hub.api('DELETE', `/api/v1/actions/${b.body.id}`);
    for (const r of [byAction, byService, other]) r.ws.close();
    await agent.close();
  });

  it('drops the oldest messages of a slow client and says how many', async () => {
    const slowHub = await startHub({
      live: { gateway: { heartbeatIntervalMs: 10_000 }, stream: { maxQueuedMessages: 10, maxBufferedBytes: 1024 } },
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
      await eventually(async () => {
        const r = await slowHub.api<{ hitCount: number }>('GET', `/api/v1/actions/${a.body.id}`);
        return r.body.hitCount === 400;
      }, 10_000);
      socket.resume();
      const dropped = await eventually(() => {
        const d = reader.of('dropped');
        return d.length > 0 ? d : undefined;
      }, 10_000);
      const logs = await eventually(() => {
        const l = reader.of('log');
        return l.length + dropped.reduce((n, d) => n + d.count, 0) === 400 ? l : undefined;
      }, 10_000);
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

describe('two hub replicas sharing a database and a bus', () => {
  let dir: string;
  let a: Hub;
  let b: Hub;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-replicas-'));
    const bus = new MemoryBus();
    const databaseUrl = `sqlite:${path.join(dir, 'hub.db')}`;
    a = await startHub({ databaseUrl, deps: { bus } });
    b = await startHub({ databaseUrl, deps: { bus }, token: a.token });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
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
    await eventually(() => reader.of('log').some((m) => m.log.message === 'across replicas'));
    expect(reader.of('action').some((m) => m.actionId === created.body.id && m.event === 'created')).toBe(true);
    const stored = await b.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${created.body.id}/logs`);
    expect(stored.body.items[0]!.message).toBe('across replicas');
    await b.api('DELETE', `/api/v1/actions/${created.body.id}`);
    await agent.next('actions', (f) => f.items.length === 0);
    reader.ws.close();
    await agent.close();
  });
});
