/**
 * Two hub processes on one PostgreSQL database and one Redis, as in a Kubernetes deployment with two replicas:
 * an agent connected to replica A receives an action created through replica B, its hits reach a live-stream client
 * on B, and a Redis crash and restart loses no action (the database is the source of truth; the bus only signals).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StreamServerMessage } from '@spyglass/protocol';
import { LiveStream, SpyglassClient } from '@spyglass/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SimAgent,
  TestRedisServer,
  redisServerBinary,
  scratchDatabase,
  startHubProcess,
  waitFor,
  type HubProcess,
  type ScratchDatabase,
} from './kit/index.js';

const PG_URL = process.env.TEST_POSTGRES_URL;
const REDIS_BIN = redisServerBinary();
if (!PG_URL) console.warn('[spyglass tests] TEST_POSTGRES_URL not set: the two-replica test is SKIPPED');
if (!REDIS_BIN) console.warn('[spyglass tests] redis-server not installed: the two-replica test is SKIPPED');

const ADMIN = { email: 'admin@replicas.test', password: 'replica-test-admin-password' };
/** The promise: an action created on one replica reaches an agent on another within a second. */
const DISPATCH_BUDGET_MS = 1000;

function startReplica(name: string, env: Record<string, string>): Promise<HubProcess> {
  return startHubProcess(
    {
      SPYGLASS_DATA_DIR: mkdtempSync(path.join(tmpdir(), `sg-replica-${name}-`)),
      SPYGLASS_ADMIN_EMAIL: ADMIN.email,
      SPYGLASS_ADMIN_PASSWORD: ADMIN.password,
      ...env,
    },
    { name: `replica ${name}` },
  );
}

/** `spyglass_bus_connected` of a replica, read from its /metrics. */
async function busConnected(replica: HubProcess): Promise<boolean> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return /^spyglass_bus_connected 1$/m.test(text);
}

const logAction = (pool: string, line: number) => ({
  kind: 'log' as const,
  file: 'src/checkout.ts',
  line,
  template: `reached line ${line}`,
  target: { pool, service: 'checkout' },
});

describe.skipIf(!PG_URL || !REDIS_BIN)('two hub replicas on PostgreSQL + Redis', () => {
  let db: ScratchDatabase;
  let redis: TestRedisServer;
  let a: HubProcess;
  let b: HubProcess;
  let clientB: SpyglassClient;
  let stream: LiveStream;
  let agent: SimAgent;
  let pool: { name: string; key: string };
  const streamed: StreamServerMessage[] = [];
  const latenciesMs: number[] = [];

  beforeAll(async () => {
    db = await scratchDatabase({ dialect: 'postgres', serverUrl: PG_URL! });
    redis = await TestRedisServer.start(REDIS_BIN!);
    const env = { SPYGLASS_DATABASE_URL: db.url, SPYGLASS_REDIS_URL: redis.url };
    // Both start at once, as pods of a new Deployment do: migrations and the first admin must not collide.
    [a, b] = await Promise.all([startReplica('a', env), startReplica('b', env)]);
    await waitFor(async () => (await busConnected(a)) && (await busConnected(b)), {
      what: 'both buses connected',
      timeoutMs: 20_000,
    });

    clientB = new SpyglassClient({ baseUrl: b.url });
    await clientB.auth.login(ADMIN);
    clientB.setToken((await clientB.tokens.create({ name: 'replicas-test' })).token);
    const created = await clientB.pools.create({ name: `replicas-${randomUUID().slice(0, 8)}` });
    pool = { name: created.name, key: created.key };

    ({ agent } = await SimAgent.connect(a.url.replace(/^http/, 'ws'), pool.key, {
      tags: {},
      hostname: 'replica-test',
    }));
    stream = await clientB.stream();
    stream.on((m) => streamed.push(m));
    await stream.subscribe({ services: [{ pool: pool.name, service: 'checkout' }] });
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    await stream?.close().catch(() => undefined);
    a?.kill();
    b?.kill();
    await redis?.kill();
    await db?.drop();
  });

  /** Creates an action through B; resolves with its id and when B answered. */
  async function createOnB(line: number): Promise<{ id: string; createdAt: number }> {
    const action = await clientB.actions.create(logAction(pool.name, line));
    return { id: action.id, createdAt: Date.now() };
  }

  it('runs both replicas on the Redis bus', async () => {
    expect(a.output()).toMatch(/"msg":"Redis bus connected"/);
    expect(b.output()).toMatch(/"msg":"Redis bus connected"/);
    // One admin for two replicas that started together.
    const users = await clientB.users.list();
    expect(users.items.filter((u) => u.email === ADMIN.email)).toHaveLength(1);
  });

  it('an agent on replica A receives an action created through replica B within a second', async () => {
    const { id, createdAt } = await createOnB(10);
    const at = await waitFor(() => agent.receivedAt(id), { what: 'the action on the agent', timeoutMs: 10_000 });
    latenciesMs.push(at - createdAt);
    expect(at - createdAt).toBeLessThan(DISPATCH_BUDGET_MS);
    expect(agent.currentIds()).toEqual([id]);
  });

  it("the agent's hits on A reach a live-stream client on B", async () => {
    const [id] = agent.currentIds();
    agent.status(id!, 'active', { method: 'patch' });
    agent.log(id!, 'order 42 total 99.5');
    const log = await waitFor(
      () => streamed.find((m) => m.type === 'log' && m.actionId === id && m.log.message === 'order 42 total 99.5'),
      { what: 'the log on the stream', timeoutMs: 20_000 },
    );
    expect(log).toMatchObject({ type: 'log', actionId: id });
    await waitFor(() => streamed.some((m) => m.type === 'status' && m.actionId === id), {
      what: 'the status on the stream',
      timeoutMs: 20_000,
    });
    // Stored through A, readable through B.
    const stored = await waitFor(
      async () => {
        const page = await clientB.actions.logs(id!);
        return page.items.length === 1 ? page.items : undefined;
      },
      { what: 'the stored log', timeoutMs: 20_000 },
    );
    expect(stored[0]!.message).toBe('order 42 total 99.5');
  });

  it('survives a Redis crash and restart: no action is lost, and both replicas recover', async () => {
    const before = agent.currentIds();
    expect(before).toHaveLength(1);

    await redis.kill();
    await waitFor(async () => !(await busConnected(a)) && !(await busConnected(b)), {
      what: 'both replicas to see Redis gone',
      timeoutMs: 20_000,
    });

    // While Redis is down the API keeps working: the action is committed to the database on B.
    const during = await createOnB(20);
    // B cannot signal A now; A learns about it when the bus is back.
    expect((await clientB.actions.get(during.id)).state).toBe('active');

    await redis.restart();
    await waitFor(async () => (await busConnected(a)) && (await busConnected(b)), {
      what: 'both replicas to reconnect',
      timeoutMs: 30_000,
    });
    const delivered = await waitFor(() => agent.receivedAt(during.id), {
      what: 'the action created during the outage on the agent',
      timeoutMs: 15_000,
    });
    expect(delivered).toBeGreaterThan(during.createdAt);
    expect(new Set(agent.currentIds())).toEqual(new Set([...before, during.id]));
    expect(a.output()).toMatch(/Redis bus unavailable/);
    expect(a.output()).toMatch(/Redis bus reconnected/);
    expect(b.output()).toMatch(/Redis bus reconnected/);

    // Back to normal: a new action crosses replicas within a second, and hits cross back to the stream.
    const after = await createOnB(30);
    const at = await waitFor(() => agent.receivedAt(after.id), {
      what: 'the post-restart action on the agent',
      timeoutMs: 10_000,
    });
    latenciesMs.push(at - after.createdAt);
    expect(at - after.createdAt).toBeLessThan(DISPATCH_BUDGET_MS);
    agent.log(after.id, 'after the restart');
    await waitFor(
      () => streamed.some((m) => m.type === 'log' && m.actionId === after.id && m.log.message === 'after the restart'),
      { what: 'a post-restart log on the stream', timeoutMs: 20_000 },
    );

    // Nothing lost: the agent's set is exactly the active actions in the database.
    const active = await clientB.actions.list({ state: 'active' });
    expect(new Set(agent.currentIds())).toEqual(new Set(active.items.map((x) => x.id)));
    expect(active.items).toHaveLength(3);
    console.info(`[replicas] cross-replica dispatch latencies (ms): ${latenciesMs.join(', ')}`);
  });

  it('both replicas stop cleanly on SIGTERM', async () => {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });
});
