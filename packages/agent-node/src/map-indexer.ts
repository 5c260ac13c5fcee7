import { Worker } from 'node:worker_threads';
import type { MapIndex, MapRef } from './map-index.js';

/** Maps at least this large are indexed in a worker thread; smaller ones cost less than a slice on the app's. */
export const MAP_WORKER_MIN_BYTES = 512 * 1024;

/** How long an idle worker is kept for the next map before it is stopped. */
const IDLE_MS = 1000;

/** Heap ceiling of the worker: a map too large for it fails alone, the app's heap is not touched. */
const WORKER_HEAP_MB = 1536;

interface Job {
  resolve: (index: MapIndex | null) => void;
  reject: (err: Error) => void;
}

/**
 * Indexes large source maps in a worker thread, so that a 20 MB map does not stall the app's event loop for the
 * seconds decoding it takes. The worker is started on the first large map only (never while the agent is idle),
 * never keeps the process alive (unref'd), is stopped a second after its last map and when the agent stops, and
 * loads nothing but the indexer: no preload of the app (`execArgv` empty) and so no agent of its own. When a worker
 * cannot be started at all (Node's permission model without `--allow-worker`), {@link available} turns false and
 * maps are read on the app's thread in slices, as small ones are. Never throws.
 */
export class MapIndexer {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  private unavailable = false;
  private stopped = false;
  /** Workers started so far (tests and the debug log). */
  started = 0;

  constructor(private readonly log: (msg: string, err?: unknown) => void = () => {}) {}

  get available(): boolean {
    return !this.unavailable && !this.stopped;
  }

  /** The index of one map (`null`: too large to read); rejects with the reason when the worker fails. */
  index(ref: MapRef): Promise<MapIndex | null> {
    return new Promise((resolve, reject) => {
      const worker = this.ensure();
      if (worker === undefined) {
        reject(new Error(this.stopped ? 'the agent stopped' : 'no worker thread could be started'));
        return;
      }
      if (this.idle) clearTimeout(this.idle);
      this.idle = undefined;
      const id = this.nextId++;
      this.jobs.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, ref });
      } catch (err) {
        this.jobs.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private ensure(): Worker | undefined {
    if (this.worker || !this.available) return this.worker;
    let worker: Worker;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.SPYGLASS_WORKER_THREADS;
      worker = new Worker(new URL('./map-thread.js', import.meta.url), {
        execArgv: [],
        env,
        stdout: false,
        stderr: false,
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      });
    } catch (err) {
      this.unavailable = true;
      this.log('no worker thread for source maps: they are read on the app thread', err);
      return undefined;
    }
    worker.unref();
    this.started++;
    this.worker = worker;
    worker.on('message', (msg: { id: number; index?: MapIndex | null; error?: string }) => {
      const job = this.jobs.get(msg.id);
      if (!job) return;
      this.jobs.delete(msg.id);
      if (msg.error !== undefined) job.reject(new Error(msg.error));
      else job.resolve(msg.index ?? null);
      if (this.jobs.size === 0) this.idleSoon(worker);
    });
    const fail = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.log('source map worker failed', err);
      for (const job of this.jobs.values()) job.reject(err);
      this.jobs.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`the source map worker exited (${code})`)));
    return worker;
  }

  private idleSoon(worker: Worker): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idle = undefined;
      if (this.worker === worker && this.jobs.size === 0) this.terminate();
    }, IDLE_MS);
    this.idle.unref();
  }

  private terminate(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    worker.removeAllListeners('exit');
    worker.terminate().catch(() => {});
  }

  /** Stops the worker; maps still being indexed fail with the reason. */
  stop(): void {
    this.stopped = true;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    this.terminate();
    const err = new Error('the agent stopped');
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** Whether a worker is running now. */
  get running(): boolean {
    return this.worker !== undefined;
  }
}
