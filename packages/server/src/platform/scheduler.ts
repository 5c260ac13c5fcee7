import { performance } from 'node:perf_hooks';
import { SpyglassError } from '@spyglass/protocol';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MAX_LEASE_NAME_LENGTH, type LeaseStore } from './lease.js';

export interface JobSpec {
  /** Unique, dotted: `live.expiry`, `auth.session-sweep`. Also the lease name of a singleton job. */
  name: string;
  everyMs: number;
  /** Runs on exactly one replica at a time (under a lease). Default false: every replica runs it. */
  singleton?: boolean;
  /** First run at the first tick after `add()` instead of one period later (a sweep a short-lived process must do). */
  runAtStart?: boolean;
  run(now: number): Promise<void> | void;
}

export interface SchedulerOptions {
  leases: LeaseStore;
  /** This replica's id, the holder of its leases: unique per scheduler (two schedulers with one id share leases). */
  holderId: string;
  log: Logger;
  /** The one timer's period (default 1000); jobs run when due, single-flight per job; a failing job is logged. */
  tickMs?: number;
  /** Lease lifetime (default 15000); renewed every third of it by the holder; on expiry another replica takes over. */
  leaseTtlMs?: number;
  /** prom-client: spyglass_scheduler_job_duration_seconds{job}, spyglass_scheduler_job_failures_total{job}, spyglass_scheduler_leader{job} */
  registry?: Registry;
  /** Epoch-ms clock for due times and lease bookkeeping (tests); defaults to `Date.now`. */
  clock?: () => number;
}

const JOB_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

interface Job {
  readonly spec: JobSpec;
  readonly singleton: boolean;
  /** First run: one period after `add()`, as with `setInterval`. */
  nextDueAt: number;
  running: Promise<void> | null;
  /** The timer's pass over this job (lease check, then maybe a run), so a slow pass is not stacked up. */
  servicing: Promise<void> | null;
  /** Singleton jobs: this replica runs the job while `leader` and `clock() < heldUntil`. */
  leader: boolean;
  heldUntil: number;
  nextLeaseCheckAt: number;
  leaseCheck: Promise<void> | null;
  /** Set while the lease store fails, so an outage is logged once per job. */
  storeFailing: boolean;
  removed: boolean;
}

interface SchedulerMetrics {
  duration: Histogram<'job'>;
  failures: Counter<'job'>;
  leader: Gauge<'job'>;
}

/** Registers the scheduler's metrics, or reuses them when another scheduler already did so on this registry. */
function schedulerMetrics(registry: Registry | undefined): SchedulerMetrics {
  const registers = registry === undefined ? [] : [registry];
  const existing = <T>(name: string): T | undefined => registry?.getSingleMetric(name) as T | undefined;
  return {
    duration:
      existing<Histogram<'job'>>('spyglass_scheduler_job_duration_seconds') ??
      new Histogram({
        name: 'spyglass_scheduler_job_duration_seconds',
        help: 'Duration of periodic job runs, failed ones included',
        labelNames: ['job'] as const,
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
        registers,
      }),
    failures:
      existing<Counter<'job'>>('spyglass_scheduler_job_failures_total') ??
      new Counter({
        name: 'spyglass_scheduler_job_failures_total',
        help: 'Periodic job runs that threw',
        labelNames: ['job'] as const,
        registers,
      }),
    leader:
      existing<Gauge<'job'>>('spyglass_scheduler_leader') ??
      new Gauge({
        name: 'spyglass_scheduler_leader',
        help: '1 while this replica holds the lease of a singleton job and runs it, else 0',
        labelNames: ['job'] as const,
        registers,
      }),
  };
}

/** Resolves once the job's pass, lease check and run that are in progress have ended. */
function inFlight(job: Job): Promise<unknown> {
  return Promise.all([job.servicing, job.leaseCheck, job.running].filter((p) => p !== null));
}

/**
 * One timer for every periodic job of the hub.
 *
 * - Each job runs when due (`everyMs` after its previous start, checked every `tickMs`), single-flight: a run that
 *   lasts longer than the period is never overlapped by the next one, which starts at the first tick after it ends.
 * - A job that throws is logged and counted (`spyglass_scheduler_job_failures_total`); the timer goes on.
 * - A singleton job runs only on the replica holding the lease named after it. Every replica tries to acquire the
 *   lease every third of `leaseTtlMs` (the holder thereby renews it); when the holder dies its lease expires and the
 *   next replica to try takes over, within `leaseTtlMs` plus a third of it plus a tick. `stop()` releases held leases,
 *   so a replica stopping cleanly hands over at the others' next try.
 * - A holder that fails to renew (the lease went to another replica after a pause, or the store is unreachable)
 *   stops being leader at that renewal, or at the latest when its last lease is about to expire by its own clock: it
 *   steps down a sixth of the TTL early, which covers clock skew between replicas up to that much. A run already in
 *   progress is not interrupted; no new run starts.
 */
export class Scheduler {
  readonly #leases: LeaseStore;
  readonly #holderId: string;
  readonly #log: Logger;
  readonly #tickMs: number;
  readonly #leaseTtlMs: number;
  readonly #leaseCheckMs: number;
  readonly #skewMarginMs: number;
  readonly #clock: () => number;
  readonly #metrics: SchedulerMetrics;
  readonly #jobs = new Map<string, Job>();
  /** Lease releases of removed jobs, awaited by `stop()`. */
  readonly #releases = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: SchedulerOptions) {
    this.#leases = options.leases;
    this.#holderId = options.holderId;
    this.#log = options.log;
    this.#tickMs = options.tickMs ?? 1000;
    this.#leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.#clock = options.clock ?? Date.now;
    if (!(this.#tickMs > 0 && Number.isFinite(this.#tickMs))) {
      throw new SpyglassError('INVALID_INPUT', `tickMs must be a positive number of ms, not ${this.#tickMs}`);
    }
    if (!(Number.isSafeInteger(this.#leaseTtlMs) && this.#leaseTtlMs >= 3 * this.#tickMs)) {
      throw new SpyglassError(
        'INVALID_INPUT',
        `leaseTtlMs (${this.#leaseTtlMs}) must be a whole number of ms and at least three ticks (${3 * this.#tickMs}), so the holder renews in time`,
      );
    }
    if (this.#holderId === '' || this.#holderId.length > MAX_LEASE_NAME_LENGTH) {
      throw new SpyglassError('INVALID_INPUT', `holderId has 1 to ${MAX_LEASE_NAME_LENGTH} characters`);
    }
    this.#leaseCheckMs = Math.floor(this.#leaseTtlMs / 3);
    this.#skewMarginMs = Math.floor(this.#leaseTtlMs / 6);
    this.#metrics = schedulerMetrics(options.registry);
  }

  /** Adds a job; the returned function removes it (a running run finishes; a held lease is released). */
  add(job: JobSpec): () => void {
    if (!JOB_NAME.test(job.name) || job.name.length > MAX_LEASE_NAME_LENGTH) {
      throw new SpyglassError(
        'INVALID_INPUT',
        `a job name is dotted lower-case words such as "live.expiry", not ${JSON.stringify(job.name)}`,
      );
    }
    if (!(job.everyMs > 0 && Number.isFinite(job.everyMs))) {
      throw new SpyglassError('INVALID_INPUT', `job ${job.name}: everyMs must be a positive number of ms`);
    }
    if (this.#jobs.has(job.name)) throw new SpyglassError('CONFLICT', `a job named ${job.name} is already scheduled`);
    const state: Job = {
      spec: job,
      singleton: job.singleton === true,
      nextDueAt: this.#clock() + (job.runAtStart === true ? 0 : job.everyMs),
      running: null,
      servicing: null,
      leader: false,
      heldUntil: 0,
      nextLeaseCheckAt: 0,
      leaseCheck: null,
      storeFailing: false,
      removed: false,
    };
    this.#jobs.set(job.name, state);
    if (state.singleton) this.#metrics.leader.set({ job: job.name }, 0);
    return () => this.#remove(state);
  }

  /** Starts the one timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#stopping !== null) throw new SpyglassError('CONFLICT', 'the scheduler was stopped');
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#onTimer(), this.#tickMs);
    this.#timer.unref();
  }

  /** Runs every due job now and waits for them (tests, and a manual pass). */
  async tick(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((job) => this.#service(job, true)));
  }

  /** Runs one job now regardless of its due time (still under its lease when singleton), waits for it. */
  async run(name: string): Promise<void> {
    const job = this.#jobs.get(name);
    if (job === undefined) throw new SpyglassError('NOT_FOUND', `no job named ${name}`);
    // Single-flight: a run in progress started before this call, so wait for it and run once more.
    while (job.running !== null) await job.running;
    if (job.singleton) await this.#checkLease(job, true);
    if (!this.#mayStart(job)) return;
    // Another caller may have started a run while the lease was checked; it started after this call, so it counts.
    await (job.running ?? this.#start(job));
  }

  /** True while this replica holds the lease of singleton job `name` and runs it; false for any other job. */
  isLeader(name: string): boolean {
    const job = this.#jobs.get(name);
    return job !== undefined && job.singleton && this.#leading(job);
  }

  /** Which replica holds the lease of singleton job `name` now (null when none does), as the lease store says. */
  leaseHolder(name: string): Promise<string | null> {
    return this.#leases.current(name).then((l) => l?.holder ?? null);
  }

  /** Stops the timer, waits for running jobs, releases held leases. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const jobs = [...this.#jobs.values()];
    await Promise.all(jobs.map(inFlight));
    await Promise.all([...this.#releases, ...jobs.filter((job) => job.singleton).map((job) => this.#release(job))]);
  }

  #onTimer(): void {
    for (const job of this.#jobs.values()) {
      if (job.servicing !== null) continue;
      job.servicing = this.#service(job, false).finally(() => (job.servicing = null));
    }
  }

  /** Checks the lease when due (singleton jobs), then starts the job when due and allowed. Never rejects. */
  async #service(job: Job, wait: boolean): Promise<void> {
    if (job.singleton) await this.#checkLease(job, false);
    if (job.running === null && this.#clock() >= job.nextDueAt && this.#mayStart(job)) void this.#start(job);
    if (wait && job.running !== null) await job.running;
  }

  #mayStart(job: Job): boolean {
    if (job.removed || this.#stopping !== null) return false;
    return !job.singleton || this.#leading(job);
  }

  /** Whether the job's lease is still surely held; steps down (once) when it is not. */
  #leading(job: Job): boolean {
    if (job.leader && this.#clock() >= job.heldUntil) {
      this.#stepDown(job, 'its lease could not be renewed in time');
    }
    return job.leader;
  }

  /** Acquires or renews the job's lease when a check is due (or `force`), single-flight per job. Never rejects. */
  #checkLease(job: Job, force: boolean): Promise<void> {
    if (job.leaseCheck !== null) return job.leaseCheck;
    if (job.removed || this.#stopping !== null || (!force && this.#clock() < job.nextLeaseCheckAt)) {
      return Promise.resolve();
    }
    job.leaseCheck = this.#acquire(job).finally(() => {
      job.nextLeaseCheckAt = this.#clock() + this.#leaseCheckMs;
      job.leaseCheck = null;
    });
    return job.leaseCheck;
  }

  async #acquire(job: Job): Promise<void> {
    const name = job.spec.name;
    const startedAt = this.#clock();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A store that does not answer within a check period counts as failed, so a hung connection cannot keep a
      // replica leader (or keep it from ever becoming one).
      const held = await Promise.race([
        this.#leases.acquire(name, this.#holderId, this.#leaseTtlMs),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the lease store did not answer within ${this.#leaseCheckMs} ms`)),
            this.#leaseCheckMs,
          );
        }),
      ]);
      if (job.storeFailing) {
        job.storeFailing = false;
        this.#log.info({ job: name }, 'lease store answers again');
      }
      if (!held) {
        if (job.leader) this.#stepDown(job, 'another replica holds its lease');
        return;
      }
      // Counted from before the call, minus a margin for clock skew: never later than any replica sees it expire.
      job.heldUntil = startedAt + this.#leaseTtlMs - this.#skewMarginMs;
      if (!job.leader && this.#clock() < job.heldUntil && !job.removed) {
        job.leader = true;
        this.#metrics.leader.set({ job: name }, 1);
        this.#log.info({ job: name, holder: this.#holderId }, 'took the lease of a singleton job; running it here');
      }
    } catch (err) {
      if (!job.storeFailing) {
        job.storeFailing = true;
        this.#log.warn({ err, job: name }, 'could not acquire or renew the lease of a singleton job');
      } else {
        this.#log.debug({ err, job: name }, 'lease store still failing');
      }
      this.#leading(job);
    } finally {
      clearTimeout(timer);
    }
  }

  #stepDown(job: Job, why: string): void {
    job.leader = false;
    job.heldUntil = 0;
    if (!job.removed) this.#metrics.leader.set({ job: job.spec.name }, 0);
    this.#log.warn({ job: job.spec.name, holder: this.#holderId }, `no longer runs a singleton job: ${why}`);
  }

  #start(job: Job): Promise<void> {
    const now = this.#clock();
    job.nextDueAt = now + job.spec.everyMs;
    const name = job.spec.name;
    const run = async (): Promise<void> => {
      const startedAt = performance.now();
      try {
        await job.spec.run(now);
      } catch (err) {
        this.#metrics.failures.inc({ job: name });
        this.#log.error({ err, job: name }, 'periodic job failed');
      } finally {
        this.#metrics.duration.observe({ job: name }, (performance.now() - startedAt) / 1000);
      }
    };
    const running = run().finally(() => {
      if (job.running === running) job.running = null;
    });
    job.running = running;
    return running;
  }

  #remove(job: Job): void {
    if (job.removed) return;
    job.removed = true;
    if (this.#jobs.get(job.spec.name) === job) this.#jobs.delete(job.spec.name);
    if (!job.singleton) return;
    this.#metrics.leader.remove({ job: job.spec.name });
    const release = (async () => {
      await inFlight(job);
      await this.#release(job);
    })().finally(() => this.#releases.delete(release));
    this.#releases.add(release);
  }

  /** Gives the job's lease up if this replica may hold it. Never rejects. */
  async #release(job: Job): Promise<void> {
    const wasLeader = job.leader;
    job.leader = false;
    job.heldUntil = 0;
    if (!job.removed) this.#metrics.leader.set({ job: job.spec.name }, 0);
    try {
      // Also when not leader: an acquire that answered too late may have taken the lease.
      await this.#leases.release(job.spec.name, this.#holderId);
      if (wasLeader) this.#log.info({ job: job.spec.name }, 'released the lease of a singleton job');
    } catch (err) {
      this.#log.warn(
        { err, job: job.spec.name },
        'could not release a lease; another replica takes over when it expires',
      );
    }
  }
}
