import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  LogCapture,
  TestRedisServer,
  redisServerBinary,
  scratchDatabase,
  testDatabases,
  type ScratchDatabase,
} from '../../test/kit/index.js';
import { createStorage, type Storage } from '../storage/db.js';
import { RedisLeaseStore, SqlLeaseStore, type LeaseStore } from './lease.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
const REDIS_BIN = redisServerBinary();
if (!REDIS_URL) console.warn('[spyglass tests] TEST_REDIS_URL not set: RedisLeaseStore tests are SKIPPED');
if (!REDIS_BIN) console.warn('[spyglass tests] redis-server not installed: the Redis lease outage test is SKIPPED');

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Fires `perStore` acquires of `name` from each store at once; returns which holders got true. */
async function race(stores: [LeaseStore, string][], name: string, perStore: number): Promise<Map<string, boolean[]>> {
  const calls = stores.flatMap(([store, holder]) =>
    Array.from({ length: perStore }, () => store.acquire(name, holder, 60_000).then((won) => [holder, won] as const)),
  );
  const results = new Map<string, boolean[]>();
  for (const [holder, won] of await Promise.all(calls)) results.set(holder, [...(results.get(holder) ?? []), won]);
  return results;
}

/** Exactly one holder won, and every one of its calls did; every call of the others lost. */
function expectOneWinner(results: Map<string, boolean[]>): string {
  const winners = [...results].filter(([, wins]) => wins.some(Boolean));
  expect(winners, JSON.stringify([...results])).toHaveLength(1);
  const [winner, wins] = winners[0]!;
  expect(wins.every(Boolean)).toBe(true);
  return winner;
}

/** Behaviour every lease store shares; `clock` moves time for stores that read one (SQL), `expire` waits it out. */
function sharedBehaviour(make: () => { a: LeaseStore; b: LeaseStore; expire: (name: string) => Promise<void> }): void {
  const unique = (): string => `test.lease-${randomBytes(4).toString('hex')}`;

  it('takes a free lease, renews it for its holder and refuses it to another while it lasts', async () => {
    const { a, b } = make();
    const name = unique();
    expect(await a.current(name)).toBeNull();
    const before = Date.now();
    expect(await a.acquire(name, 'replica-a', 60_000)).toBe(true);
    expect(await b.acquire(name, 'replica-b', 60_000)).toBe(false);
    expect(await a.acquire(name, 'replica-a', 60_000)).toBe(true);
    const lease = await b.current(name);
    expect(lease?.holder).toBe('replica-a');
    expect(lease?.name).toBe(name);
    expect(lease!.expiresAt).toBeGreaterThan(before + 50_000);
  });

  it('gives an expired lease to the next acquirer, and its old holder cannot renew it', async () => {
    const { a, b, expire } = make();
    const name = unique();
    expect(await a.acquire(name, 'replica-a', 1000)).toBe(true);
    await expire(name);
    expect(await a.current(name)).toBeNull();
    expect(await b.acquire(name, 'replica-b', 60_000)).toBe(true);
    expect(await a.acquire(name, 'replica-a', 60_000)).toBe(false);
    expect((await a.current(name))?.holder).toBe('replica-b');
  });

  it('hands over at once on release; a release by someone else changes nothing', async () => {
    const { a, b } = make();
    const name = unique();
    expect(await a.acquire(name, 'replica-a', 60_000)).toBe(true);
    await b.release(name, 'replica-b');
    expect((await b.current(name))?.holder).toBe('replica-a');
    expect(await b.acquire(name, 'replica-b', 60_000)).toBe(false);
    await a.release(name, 'replica-a');
    expect(await a.current(name)).toBeNull();
    expect(await b.acquire(name, 'replica-b', 60_000)).toBe(true);
    await a.release(name, 'replica-a');
    expect((await a.current(name))?.holder).toBe('replica-b');
  });

  it('lets exactly one of many racing acquirers from two stores win a free lease', async () => {
    const { a, b } = make();
    for (let round = 0; round < 5; round++) {
      const name = unique();
      const winner = expectOneWinner(
        await race(
          [
            [a, 'replica-a'],
            [b, 'replica-b'],
          ],
          name,
          8,
        ),
      );
      expect((await a.current(name))?.holder).toBe(winner);
    }
  });

  it('lets exactly one of many racing acquirers take over an expired lease', async () => {
    const { a, b, expire } = make();
    for (let round = 0; round < 5; round++) {
      const name = unique();
      expect(await a.acquire(name, 'replica-old', 300)).toBe(true);
      await expire(name);
      const winner = expectOneWinner(
        await race(
          [
            [a, 'replica-a'],
            [b, 'replica-b'],
          ],
          name,
          8,
        ),
      );
      expect((await b.current(name))?.holder).toBe(winner);
    }
  });

  it('refuses an empty name or holder and a lifetime that is not a positive whole number of ms', async () => {
    const { a } = make();
    await expect(a.acquire('', 'replica-a', 1000)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(a.acquire(unique(), '', 1000)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(a.acquire(unique(), 'replica-a', 0)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(a.acquire(unique(), 'replica-a', 1.5)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(a.acquire('x'.repeat(201), 'replica-a', 1000)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
}

describe.each(testDatabases())('SqlLeaseStore on $dialect', (database) => {
  let scratch: ScratchDatabase;
  let dir: string;
  let url: string;
  const storages: Storage[] = [];
  /** Both stores read this clock, offset so each test can move time forward. */
  let offsetMs = 0;
  const clock = (): number => Date.now() + offsetMs;

  beforeAll(async () => {
    scratch = await scratchDatabase(database);
    dir = mkdtempSync(path.join(tmpdir(), 'sg-leases-'));
    // Two connections to one database: on SQLite that takes a file (each in-memory database is private).
    url = database.dialect === 'sqlite' ? `sqlite:${path.join(dir, 'leases.db')}` : scratch.url;
    const first = createStorage(url);
    storages.push(first, createStorage(url));
    await first.migrate();
  });
  afterAll(async () => {
    for (const s of storages) await s.close();
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  sharedBehaviour(() => ({
    a: new SqlLeaseStore(storages[0]!.db, storages[0]!.dialect, { clock }),
    b: new SqlLeaseStore(storages[1]!.db, storages[1]!.dialect, { clock }),
    expire: () => {
      offsetMs += 1000;
      return Promise.resolve();
    },
  }));

  it('treats a lease as expired from its expiry time on, by the acquiring replica’s clock', async () => {
    let now = 1_000_000;
    const a = new SqlLeaseStore(storages[0]!.db, storages[0]!.dialect, { clock: () => now });
    const b = new SqlLeaseStore(storages[1]!.db, storages[1]!.dialect, { clock: () => now });
    expect(await a.acquire('test.expiry-edge', 'replica-a', 1000)).toBe(true);
    now = 1_000_999;
    expect(await b.acquire('test.expiry-edge', 'replica-b', 1000)).toBe(false);
    expect((await b.current('test.expiry-edge'))?.expiresAt).toBe(1_001_000);
    now = 1_001_000;
    expect(await b.current('test.expiry-edge')).toBeNull();
    expect(await b.acquire('test.expiry-edge', 'replica-b', 1000)).toBe(true);
    expect(await b.current('test.expiry-edge')).toEqual({
      name: 'test.expiry-edge',
      holder: 'replica-b',
      expiresAt: 1_002_000,
    });
  });
});

describe.skipIf(!REDIS_URL)('RedisLeaseStore', () => {
  const prefix = `sg-test-${randomBytes(4).toString('hex')}`;
  let a: RedisLeaseStore;
  let b: RedisLeaseStore;
  beforeAll(() => {
    const log = pino({ level: 'silent' });
    a = new RedisLeaseStore({ url: REDIS_URL!, keyPrefix: prefix, log });
    b = new RedisLeaseStore({ url: REDIS_URL!, keyPrefix: prefix, log });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  sharedBehaviour(() => ({
    a,
    b,
    // Redis expires keys on its own clock: wait until the lease is gone.
    expire: (name) => until(async () => (await a.current(name)) === null, `lease ${name} to expire`),
  }));
});

describe.skipIf(!REDIS_BIN)('RedisLeaseStore while Redis is down', () => {
  let server: TestRedisServer;
  const stores: RedisLeaseStore[] = [];
  beforeAll(async () => {
    server = await TestRedisServer.start(REDIS_BIN);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await server.kill();
  });

  it('fails lease calls within the command timeout, logs the outage once, and works again after a restart', async () => {
    const logs = new LogCapture();
    const store = new RedisLeaseStore({
      url: server.url,
      keyPrefix: 'sg-outage',
      log: pino({ level: 'info' }, logs),
      commandTimeoutMs: 500,
    });
    stores.push(store);
    expect(await store.acquire('test.outage', 'replica-a', 60_000)).toBe(true);
    await server.kill();
    const startedAt = Date.now();
    await expect(store.acquire('test.outage', 'replica-a', 60_000)).rejects.toThrow();
    // Bounded by the command timeout (plus a generous allowance for a busy machine), not hanging.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    await expect(store.current('test.outage')).rejects.toThrow();
    expect(logs.lines.filter((l) => l.includes('Redis lease store unavailable'))).toHaveLength(1);
    await server.restart();
    // The server restarted empty: the lease is free again once the store has reconnected.
    await until(() => store.acquire('test.outage', 'replica-b', 60_000).catch(() => false), 'the store to reconnect');
    expect((await store.current('test.outage'))?.holder).toBe('replica-b');
    await until(() => logs.text().includes('Redis lease store reconnected'), 'the reconnection log line');
  });
});
