import { afterAll, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase } from '../../test/kit/index.js';
import { createStorage, type Storage } from '../storage/db.js';
import { FailureLimiter } from './rate-limit.js';

describe.each(testDatabases())('sign-in failure limits on $dialect', (database) => {
  const scratches: ScratchDatabase[] = [];
  const storages: Storage[] = [];
  afterAll(async () => {
    for (const s of storages) await s.close();
    for (const s of scratches) await s.drop();
  });

  /** Two hub replicas on one database (on in-memory SQLite, two limiters on the one connection). */
  async function replicas(): Promise<[Storage, Storage]> {
    const scratch = await scratchDatabase(database);
    scratches.push(scratch);
    const a = createStorage(scratch.url);
    storages.push(a);
    await a.migrate();
    if (database.dialect === 'sqlite') return [a, a];
    const b = createStorage(scratch.url);
    storages.push(b);
    return [a, b];
  }

  it('past the free attempts of every replica, slows a key down with a doubling wait instead of locking it out', async () => {
    const [a, b] = await replicas();
    let now = 1_000_000;
    const options = { now: () => now, delayMs: 1000, maxDelayMs: 8000 };
    const onA = new FailureLimiter(a.db, a.dialect, 4, 60_000, options);
    const onB = new FailureLimiter(b.db, b.dialect, 4, 60_000, options);
    const key = 'ip:10.0.0.1';
    // Four free attempts, shared by both replicas.
    for (const limiter of [onA, onB, onA, onB]) expect(await limiter.reserve(key)).toBe(true);
    expect(await onB.retryAfterSec('ip:10.0.0.2')).toBe(0);
    // Then a wait before each attempt: 1 s, 2 s, 4 s, then 8 s at most.
    for (const wait of [1, 2, 4, 8, 8]) {
      expect(await onA.retryAfterSec(key)).toBe(wait);
      // Early attempts are refused and not counted: they do not lengthen the wait.
      for (let i = 0; i < 5; i++) expect(await (i % 2 ? onA : onB).reserve(key)).toBe(false);
      now += wait * 1000 - 500;
      expect(await onB.retryAfterSec(key)).toBe(1);
      expect(await onB.reserve(key)).toBe(false);
      now += 500;
      expect(await onB.retryAfterSec(key)).toBe(0);
      expect(await onA.reserve(key)).toBe(true);
    }
    // The window (from the first failure) ends: free attempts again, in a window of its own.
    now = 1_000_000 + 60_000;
    expect(await onA.retryAfterSec(key)).toBe(0);
    for (let i = 0; i < 4; i++) expect(await onB.reserve(key)).toBe(true);
    expect(await onA.retryAfterSec(key)).toBe(1);
    // A reset (a successful sign-in, an admin's unlock) clears the key for every replica and says what it cleared.
    expect(await onA.reset(key)).toBe(4);
    expect(await onB.retryAfterSec(key)).toBe(0);
    expect(await onB.reserve(key)).toBe(true);
  });

  it('gives each turn after the wait to one of many concurrent attempts', async () => {
    const [a, b] = await replicas();
    let now = 5_000_000;
    const options = { now: () => now, delayMs: 1000, maxDelayMs: 60_000 };
    const onA = new FailureLimiter(a.db, a.dialect, 3, 600_000, options);
    const onB = new FailureLimiter(b.db, b.dialect, 3, 600_000, options);
    const key = 'account:burst@example.test';
    for (let i = 0; i < 3; i++) expect(await onA.reserve(key)).toBe(true);
    for (const wait of [1000, 2000, 4000]) {
      now += wait;
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).reserve(key)));
      expect(burst.filter(Boolean)).toHaveLength(1);
    }
  });

  it('loses no failure when replicas count the same key at once', async () => {
    const [a, b] = await replicas();
    const onA = new FailureLimiter(a.db, a.dialect, 40, 60_000);
    const onB = new FailureLimiter(b.db, b.dialect, 40, 60_000);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? onA : onB).fail('account:x@example.test')));
    expect(await onA.retryAfterSec('account:x@example.test')).toBeGreaterThan(0);
    const row = await a.db
      .selectFrom('login_failures')
      .select('failures')
      .where('limit_key', '=', 'account:x@example.test')
      .executeTakeFirstOrThrow();
    expect(Number(row.failures)).toBe(40);
  });
});
