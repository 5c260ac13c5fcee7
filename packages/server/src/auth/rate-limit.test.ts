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

  it('counts the failures of every replica against one budget, with Retry-After until the window ends', async () => {
    const [a, b] = await replicas();
    let now = 1_000_000;
    const clock = { now: () => now };
    const onA = new FailureLimiter(a.db, a.dialect, 4, 60_000, clock);
    const onB = new FailureLimiter(b.db, b.dialect, 4, 60_000, clock);
    await onA.fail('ip:10.0.0.1');
    await onB.fail('ip:10.0.0.1');
    await onA.fail('ip:10.0.0.1');
    expect(await onB.retryAfterSec('ip:10.0.0.1')).toBe(0);
    await onB.fail('ip:10.0.0.1');
    expect(await onA.retryAfterSec('ip:10.0.0.1')).toBe(60);
    expect(await onB.retryAfterSec('ip:10.0.0.2')).toBe(0);
    now += 45_500;
    expect(await onB.retryAfterSec('ip:10.0.0.1')).toBe(15);
    // The window ends: allowed again, and the next failure starts a new window of one.
    now += 14_500;
    expect(await onA.retryAfterSec('ip:10.0.0.1')).toBe(0);
    await onB.fail('ip:10.0.0.1');
    for (let i = 0; i < 2; i++) await onA.fail('ip:10.0.0.1');
    expect(await onA.retryAfterSec('ip:10.0.0.1')).toBe(0);
    await onA.fail('ip:10.0.0.1');
    expect(await onB.retryAfterSec('ip:10.0.0.1')).toBe(60);
    // A reset (a successful sign-in) clears the key for every replica.
    await onA.reset('ip:10.0.0.1');
    expect(await onB.retryAfterSec('ip:10.0.0.1')).toBe(0);
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
