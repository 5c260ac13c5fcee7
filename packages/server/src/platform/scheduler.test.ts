import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/kit/index.js';
import { createStorage, type Storage } from '../storage/db.js';
import { SqlLeaseStore, type Lease, type LeaseStore } from './lease.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
/** Every gate a test opened, released after it so that a failed test cannot hold `stop()` forever. */
const gates: Deferred[] = [];
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const gate = { promise, resolve };
  gates.push(gate);
  return gate;
}

async function metric(registry: Registry, name: string, job: string): Promise<number | undefined> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => v.labels.job === job)?.value;
}

/** A real lease store that can be made to fail, as a database outage would. */
class FlakyLeases implements LeaseStore {
  failing = false;
  constructor(private readonly inner: LeaseStore) {}
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.failing ? Promise.reject(new Error('database unreachable')) : this.inner.acquire(name, holder, ttlMs);
  }
  release(name: string, holder: string): Promise<void> {
    return this.failing ? Promise.reject(new Error('database unreachable')) : this.inner.release(name, holder);
  }
  current(name: string): Promise<Lease | null> {
    return this.inner.current(name);
  }
}

let storage: Storage;
beforeAll(async () => {
  storage = createStorage('sqlite::memory:');
  await storage.migrate();
});
afterAll(async () => {
  await storage.close();
});

/** One fake clock shared by the schedulers and the lease store of a test. */
let now = 0;
const clock = (): number => now;
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const gate of gates.splice(0)) gate.resolve();
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  await storage.db.deleteFrom('leases').execute();
});

const TTL_MS = 3000;
function makeScheduler(
  holderId: string,
  extra: Partial<SchedulerOptions> = {},
  wrap: (leases: SqlLeaseStore) => LeaseStore = (leases) => leases,
): { scheduler: Scheduler; logs: LogCapture; registry: Registry; leases: LeaseStore } {
  const logs = new LogCapture();
  const registry = new Registry();
  const leases = wrap(new SqlLeaseStore(storage.db, storage.dialect, { clock }));
  const scheduler = new Scheduler({
    leases,
    holderId,
    log: pino({ level: 'debug' }, logs),
    tickMs: 1000,
    leaseTtlMs: TTL_MS,
    registry,
    clock,
    ...extra,
  });
  schedulers.push(scheduler);
  return { scheduler, logs, registry, leases };
}

describe('Scheduler: periodic jobs', () => {
  it('runs a job once per period, first one period after it was added, with the tick time', async () => {
    now = 10_000;
    const { scheduler } = makeScheduler('replica-a');
    const runs: number[] = [];
    scheduler.add({ name: 'test.every-second', everyMs: 1000, run: (at) => void runs.push(at) });
    await scheduler.tick();
    now = 10_999;
    await scheduler.tick();
    expect(runs).toEqual([]);
    now = 11_000;
    await scheduler.tick();
    now = 11_500;
    await scheduler.tick();
    expect(runs).toEqual([11_000]);
    now = 12_000;
    await scheduler.tick();
    // A late tick runs it once, not once per missed period.
    now = 15_500;
    await scheduler.tick();
    await scheduler.tick();
    expect(runs).toEqual([11_000, 12_000, 15_500]);
    // The next period counts from the last start.
    now = 16_000;
    await scheduler.tick();
    now = 16_500;
    await scheduler.tick();
    expect(runs).toEqual([11_000, 12_000, 15_500, 16_500]);
  });

  it('run() runs a job at once regardless of its due time, and refuses an unknown name', async () => {
    now = 0;
    const { scheduler } = makeScheduler('replica-a');
    let runs = 0;
    scheduler.add({ name: 'test.manual', everyMs: 60_000, run: () => void runs++ });
    await scheduler.run('test.manual');
    await scheduler.run('test.manual');
    expect(runs).toBe(2);
    await expect(scheduler.run('test.missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never overlaps a run with itself: a run longer than the period delays the next', async () => {
    now = 0;
    const { scheduler } = makeScheduler('replica-a');
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let gate = deferred();
    scheduler.add({
      name: 'test.slow',
      everyMs: 1000,
      run: async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        await gate.promise;
        active--;
      },
    });
    now = 1000;
    const first = scheduler.tick();
    await until(() => runs === 1, 'the first run to start');
    now = 2000;
    const second = scheduler.tick();
    now = 3000;
    const third = scheduler.tick();
    const manual = scheduler.run('test.slow');
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(1);
    gate.resolve();
    gate = deferred();
    await Promise.all([first, second, third]);
    // run() waited for the run in progress, then ran once more.
    await until(() => runs === 2, 'the manual run');
    gate.resolve();
    await manual;
    expect(maxActive).toBe(1);
    // The manual run started at 3000: the next is due at 4000.
    await scheduler.tick();
    expect(runs).toBe(2);
    now = 4000;
    await scheduler.tick();
    expect(runs).toBe(3);
  });

  it('never overlaps on its own timer either', async () => {
    const scheduler = new Scheduler({
      leases: new SqlLeaseStore(storage.db, storage.dialect),
      holderId: 'replica-a',
      log: pino({ level: 'silent' }),
      tickMs: 5,
      leaseTtlMs: 15,
    });
    schedulers.push(scheduler);
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    scheduler.add({
      name: 'test.slow-timer',
      everyMs: 5,
      run: async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 40));
        active--;
      },
    });
    scheduler.start();
    await until(() => runs >= 4, 'four runs');
    expect(maxActive).toBe(1);
  });

  it('logs and counts a failing job, runs the others, and keeps running it on later ticks', async () => {
    now = 0;
    const { scheduler, logs, registry } = makeScheduler('replica-a');
    const ran: string[] = [];
    scheduler.add({
      name: 'test.throws',
      everyMs: 1000,
      run: () => {
        ran.push('throws');
        throw new Error('sync failure');
      },
    });
    scheduler.add({
      name: 'test.rejects',
      everyMs: 1000,
      run: () => {
        ran.push('rejects');
        return Promise.reject(new Error('async failure'));
      },
    });
    scheduler.add({ name: 'test.works', everyMs: 1000, run: () => void ran.push('works') });
    now = 1000;
    await scheduler.tick();
    expect(ran.sort()).toEqual(['rejects', 'throws', 'works']);
    now = 2000;
    await scheduler.tick();
    expect(ran).toHaveLength(6);
    expect(await metric(registry, 'spyglass_scheduler_job_failures_total', 'test.throws')).toBe(2);
    expect(await metric(registry, 'spyglass_scheduler_job_failures_total', 'test.rejects')).toBe(2);
    expect(await metric(registry, 'spyglass_scheduler_job_failures_total', 'test.works')).toBeUndefined();
    const failures = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'periodic job failed');
    expect(failures.map((l) => `${l.job}: ${l.err.message}`).sort()).toEqual([
      'test.rejects: async failure',
      'test.rejects: async failure',
      'test.throws: sync failure',
      'test.throws: sync failure',
    ]);
    const durations = (await registry.getSingleMetric('spyglass_scheduler_job_duration_seconds')?.get())?.values;
    const count = durations?.find((v) => v.metricName?.endsWith('_count') && v.labels.job === 'test.works');
    expect(count?.value).toBe(2);
  });

  it('keeps its timer going after failures', async () => {
    const registry = new Registry();
    const scheduler = new Scheduler({
      leases: new SqlLeaseStore(storage.db, storage.dialect),
      holderId: 'replica-a',
      log: pino({ level: 'silent' }),
      tickMs: 5,
      leaseTtlMs: 15,
      registry,
    });
    schedulers.push(scheduler);
    scheduler.add({
      name: 'test.always-fails',
      everyMs: 5,
      run: () => {
        throw new Error('boom');
      },
    });
    scheduler.start();
    await until(
      async () => ((await metric(registry, 'spyglass_scheduler_job_failures_total', 'test.always-fails')) ?? 0) >= 3,
      'three failures',
    );
  });

  it('refuses a duplicate name, a name that is not dotted and a period that is not positive', () => {
    const { scheduler } = makeScheduler('replica-a');
    const remove = scheduler.add({ name: 'auth.session-sweep', everyMs: 1000, run: () => {} });
    expect(() => scheduler.add({ name: 'auth.session-sweep', everyMs: 1000, run: () => {} })).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
    for (const name of ['sweep', 'Auth.Sweep', 'auth..sweep', 'auth.sweep.', '']) {
      expect(() => scheduler.add({ name, everyMs: 1000, run: () => {} })).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT' }),
      );
    }
    expect(() => scheduler.add({ name: 'test.zero', everyMs: 0, run: () => {} })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    // Removed, the name is free again.
    remove();
    expect(() => scheduler.add({ name: 'auth.session-sweep', everyMs: 1000, run: () => {} })).not.toThrow();
  });

  it('refuses a lease lifetime shorter than three ticks', () => {
    expect(() => makeScheduler('replica-a', { tickMs: 1000, leaseTtlMs: 2000 })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
  });

  it('stops running a removed job', async () => {
    now = 0;
    const { scheduler } = makeScheduler('replica-a');
    let runs = 0;
    const remove = scheduler.add({ name: 'test.removed', everyMs: 1000, run: () => void runs++ });
    now = 1000;
    await scheduler.tick();
    remove();
    now = 2000;
    await scheduler.tick();
    expect(runs).toBe(1);
  });

  it('stop() waits for running jobs, and the timer runs nothing afterwards', async () => {
    now = 0;
    const { scheduler } = makeScheduler('replica-a');
    const gate = deferred();
    let finished = false;
    let runs = 0;
    scheduler.add({
      name: 'test.long',
      everyMs: 1000,
      run: async () => {
        runs++;
        await gate.promise;
        finished = true;
      },
    });
    now = 1000;
    void scheduler.tick();
    await until(() => runs === 1, 'the run to start');
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    now = 5000;
    await scheduler.tick();
    expect(runs).toBe(1);
    expect(() => scheduler.start()).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });
});

describe('Scheduler: singleton jobs', () => {
  /** Two replicas with the same singleton job; counts runs per replica. */
  function twoReplicas(wrap?: (leases: SqlLeaseStore) => LeaseStore) {
    const runs = { a: 0, b: 0 };
    const make = (id: 'a' | 'b') => {
      const replica = makeScheduler(`replica-${id}`, {}, wrap);
      replica.scheduler.add({ name: 'test.singleton', everyMs: 1000, singleton: true, run: () => void runs[id]++ });
      return replica;
    };
    return { a: make('a'), b: make('b'), runs };
  }

  it('runs on exactly one of two replicas, which reports itself leader', async () => {
    now = 0;
    const { a, b, runs } = twoReplicas();
    await a.scheduler.tick();
    await b.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    expect(b.scheduler.isLeader('test.singleton')).toBe(false);
    for (let t = 1000; t <= 5000; t += 1000) {
      now = t;
      await Promise.all([a.scheduler.tick(), b.scheduler.tick()]);
    }
    expect(runs).toEqual({ a: 5, b: 0 });
    // The holder renewed its lease on the way: it lasts beyond the first TTL.
    expect((await a.leases.current('test.singleton'))?.holder).toBe('replica-a');
    expect(await metric(a.registry, 'spyglass_scheduler_leader', 'test.singleton')).toBe(1);
    expect(await metric(b.registry, 'spyglass_scheduler_leader', 'test.singleton')).toBe(0);
    // run() on the follower does not run it either.
    await b.scheduler.run('test.singleton');
    expect(runs.b).toBe(0);
    expect(a.logs.text()).toContain('took the lease of a singleton job');
  });

  it('isLeader is false for a job that is not a singleton and for an unknown one', async () => {
    now = 0;
    const { scheduler } = makeScheduler('replica-a');
    scheduler.add({ name: 'test.everywhere', everyMs: 1000, run: () => {} });
    await scheduler.tick();
    expect(scheduler.isLeader('test.everywhere')).toBe(false);
    expect(scheduler.isLeader('test.unknown')).toBe(false);
  });

  it('hands over on stop(): the leader releases its lease and the other replica takes the job at its next try', async () => {
    now = 0;
    const { a, b, runs } = twoReplicas();
    await a.scheduler.tick();
    await b.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    await a.scheduler.stop();
    expect(await a.leases.current('test.singleton')).toBeNull();
    expect(a.scheduler.isLeader('test.singleton')).toBe(false);
    // Well before the old lease would have expired (TTL 3000): the follower's next lease check (every TTL/3).
    now = 1000;
    await b.scheduler.tick();
    expect(b.scheduler.isLeader('test.singleton')).toBe(true);
    expect(runs).toEqual({ a: 0, b: 1 });
  });

  it('takes over when the holder stops renewing, once its lease has expired', async () => {
    now = 0;
    const { a, b, runs } = twoReplicas();
    await a.scheduler.tick();
    await b.scheduler.tick();
    // Replica a freezes (no more ticks); b keeps trying and waits for the lease to expire.
    for (let t = 1000; t < TTL_MS; t += 500) {
      now = t;
      await b.scheduler.tick();
      expect(b.scheduler.isLeader('test.singleton')).toBe(false);
    }
    now = TTL_MS;
    await b.scheduler.tick();
    expect(b.scheduler.isLeader('test.singleton')).toBe(true);
    expect(runs.b).toBe(1);
    // a wakes up: its lease is gone, it steps down at its next renewal and does not run the job.
    expect(a.scheduler.isLeader('test.singleton')).toBe(false);
    await a.scheduler.tick();
    expect(runs.a).toBe(0);
    expect(a.scheduler.isLeader('test.singleton')).toBe(false);
  });

  it('a holder that lost its lease mid-run notices at its next renewal and runs the job no more', async () => {
    now = 0;
    const { a, b, runs } = twoReplicas();
    const gate = deferred();
    let longRuns = 0;
    a.scheduler.add({
      name: 'test.long-singleton',
      everyMs: 1000,
      singleton: true,
      run: async () => {
        longRuns++;
        await gate.promise;
      },
    });
    await a.scheduler.tick();
    await b.scheduler.tick();
    now = 1000;
    const inRun = a.scheduler.tick();
    await until(() => longRuns === 1, 'the long run to start');
    // Another replica takes the lease meanwhile (e.g. replica a was paused past its expiry by b's clock).
    const thief = new SqlLeaseStore(storage.db, storage.dialect, { clock: () => now + TTL_MS });
    expect(await thief.acquire('test.long-singleton', 'replica-c', TTL_MS)).toBe(true);
    // a's next renewal (a third of the TTL later) fails, while the run is still going.
    now = 1000 + TTL_MS / 3;
    expect(a.scheduler.isLeader('test.long-singleton')).toBe(true);
    const renewal = a.scheduler.tick();
    await until(() => !a.scheduler.isLeader('test.long-singleton'), 'a to step down');
    expect(a.logs.text()).toContain('another replica holds its lease');
    expect(await metric(a.registry, 'spyglass_scheduler_leader', 'test.long-singleton')).toBe(0);
    gate.resolve();
    await Promise.all([inRun, renewal]);
    now = 5000;
    await a.scheduler.tick();
    expect(longRuns).toBe(1);
    // The other job's lease was unaffected.
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    expect(runs.b).toBe(0);
  });

  it('keeps leading while the store fails only until its lease may have expired, then steps down', async () => {
    now = 0;
    let flaky: FlakyLeases | undefined;
    const { a, runs } = twoReplicas((inner) => (flaky ??= new FlakyLeases(inner)));
    await a.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    flaky!.failing = true;
    now = 1000;
    await a.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    expect(runs.a).toBe(1);
    // The last lease was taken at 0 for 3000 ms; the holder steps down a sixth of the TTL early.
    now = 2000;
    await a.scheduler.tick();
    expect(runs.a).toBe(2);
    now = 2500;
    await a.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(false);
    now = 3000;
    await a.scheduler.tick();
    expect(runs.a).toBe(2);
    expect(a.logs.lines.filter((l) => l.includes('could not acquire or renew the lease'))).toHaveLength(1);
    // The store is back: the next lease check takes it again.
    flaky!.failing = false;
    now = 4000;
    await a.scheduler.tick();
    expect(a.scheduler.isLeader('test.singleton')).toBe(true);
    expect(a.logs.text()).toContain('lease store answers again');
  });

  it('removing a singleton job releases its lease', async () => {
    now = 0;
    const { scheduler, leases } = makeScheduler('replica-a');
    const remove = scheduler.add({ name: 'test.removable', everyMs: 1000, singleton: true, run: () => {} });
    await scheduler.tick();
    expect((await leases.current('test.removable'))?.holder).toBe('replica-a');
    remove();
    await until(async () => (await leases.current('test.removable')) === null, 'the lease to be released');
    expect(scheduler.isLeader('test.removable')).toBe(false);
  });
});
