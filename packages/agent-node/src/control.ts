import { Worker } from 'node:worker_threads';
import type { HubFrame } from '@spyglass/protocol/agent-base';
import type { ConnectionOptions, ConnectionStats } from './connection.js';
import type { CachedPolicy } from './policy-read.js';
import { frameText } from './frame-text.js';

/**
 * The agent's control plane: its one WebSocket to the hub, the checks of every frame the hub sends against the
 * protocol's schemas, and the read of the cached pool policy. It runs in a worker thread of its own (control-thread.ts)
 * so that none of it (`ws`, the schema library, the schemas: about 6 MB) sits on the app's heap, where its size alone
 * changes how V8 collects the app's own objects (docs/adr/0017). The app's thread keeps a mirror of the socket's state
 * in shared memory and exchanges frames with the worker: checked frames in, serialised frames out.
 *
 * When no worker can be started (Node's permission model without `--allow-worker`, a sandbox refusing threads) or
 * the worker fails, the same connection runs on the app's thread, loaded then and only then.
 */
export interface ControlPlane {
  /** The socket is open and the hub welcomed this session. */
  readonly isOpen: boolean;
  /** Bytes sent but not yet written to the network: back-pressure for the flusher. */
  readonly buffered: number;
  readonly stats: Readonly<ConnectionStats>;
  start(): void;
  stop(): void;
  /** Mark the session usable (after `welcome`). */
  welcome(): void;
  /** Queue a frame (an object, or its JSON text); false when the socket is not open or the frame is too large. */
  send(frame: unknown): boolean;
  /**
   * Wait (blocking, at most `timeoutMs`) until everything sent so far has reached the socket: only at process exit,
   * when no event loop turns any more to carry it over.
   */
  settle(timeoutMs: number): void;
}

export interface ControlOptions extends Omit<ConnectionOptions, 'stats'> {
  /** Where the pool policy is cached (`undefined`: off). */
  policyCache: string | undefined;
  /** The cached policy, before any frame: for as long as the hub does not answer. */
  onCachedPolicy(policy: CachedPolicy): void;
}

/** What the app's thread gives the control thread at its start. */
export interface ControlData {
  url: string;
  key: string | undefined;
  minDelayMs: number;
  maxDelayMs: number;
  maxFrameBytes: number;
  debug: boolean;
  policyCache: string | undefined;
  shared: SharedArrayBuffer;
}

/** Messages from the control thread. `gen` numbers the sockets: what the app's thread sends goes to one socket only. */
export type ControlMessage =
  | { t: 'policy'; policy: CachedPolicy }
  | { t: 'open'; gen: number }
  | { t: 'frame'; frame: HubFrame }
  | { t: 'close'; code: number; reason: string }
  | { t: 'error'; message: string }
  | { t: 'log'; message: string };

/** Messages to the control thread. `n` is the frame's length, added to `TAKEN` once the socket has it. */
export type ControlCommand =
  { t: 'send'; gen: number; text: string; n: number } | { t: 'welcome'; gen: number } | { t: 'stop' };

/** Slots of the shared Int32Array. */
export const SLOT = {
  /** 1 while the socket is open. */
  OPEN: 0,
  /** Characters of frames the control thread has handed to the socket (or dropped), wrapping at 2^32. */
  TAKEN: 1,
  /** The socket's `bufferedAmount` after its last write. */
  BUFFERED: 2,
  CONNECTS: 3,
  DISCONNECTS: 4,
  FRAMES_IN: 5,
  FRAMES_OUT: 6,
  BAD_FRAMES: 7,
} as const;
const SLOTS = 8;

/** The control thread's heap ceiling: frames are at most 1 MB and action sets 1,000 actions. */
const WORKER_HEAP_MB = 128;
/**
 * Its young generation: small, so that the garbage of the frames it passes on is collected early rather than growing
 * the process's memory up to V8's default ceiling; a frame larger than this is allocated outside it anyway.
 */
const WORKER_YOUNG_MB = 4;

/** Start the control plane: in its worker thread, else on the app's thread. Never throws. */
export function startControl(opts: ControlOptions): ControlPlane {
  const control = new WorkerControl(opts);
  control.start();
  return control;
}

class WorkerControl implements ControlPlane {
  private readonly shared = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private worker: Worker | undefined;
  /** The in-thread connection, when no worker could run. */
  private inThread: ControlPlane | undefined;
  private stopped = false;
  private fellBack = false;
  /** The socket the last `open` named, and whether the hub has welcomed it. */
  private gen = 0;
  private opened = false;
  private welcomed = false;
  /** Characters posted to the control thread, wrapping at 2^32 as `TAKEN` does. */
  private posted = 0;

  constructor(private readonly opts: ControlOptions) {}

  get isOpen(): boolean {
    if (this.inThread) return this.inThread.isOpen;
    return this.opened && this.welcomed && Atomics.load(this.shared, SLOT.OPEN) === 1;
  }

  get buffered(): number {
    if (this.inThread) return this.inThread.buffered;
    return this.pending() + Atomics.load(this.shared, SLOT.BUFFERED);
  }

  get stats(): Readonly<ConnectionStats> {
    if (this.inThread) return this.inThread.stats;
    const s = this.shared;
    return {
      connects: Atomics.load(s, SLOT.CONNECTS),
      disconnects: Atomics.load(s, SLOT.DISCONNECTS),
      framesIn: Atomics.load(s, SLOT.FRAMES_IN),
      framesOut: Atomics.load(s, SLOT.FRAMES_OUT),
      badFrames: Atomics.load(s, SLOT.BAD_FRAMES),
    };
  }

  start(): void {
    const o = this.opts;
    const data: ControlData = {
      url: o.url,
      key: o.key,
      minDelayMs: o.minDelayMs,
      maxDelayMs: o.maxDelayMs,
      maxFrameBytes: o.maxFrameBytes,
      debug: o.log.enabled,
      policyCache: o.policyCache,
      shared: this.shared.buffer,
    };
    let worker: Worker;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env };
      // The app's preloads (and with them an agent of its own) stay out of the worker.
      delete env.SPYGLASS_WORKER_THREADS;
      worker = new Worker(new URL('./control-thread.js', import.meta.url), {
        execArgv: [],
        env,
        workerData: data,
        stdout: false,
        stderr: false,
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
      });
    } catch (err) {
      this.fallBack('no worker thread could be started', err);
      return;
    }
    this.worker = worker;
    worker.on('message', (msg: ControlMessage) => this.onMessage(msg));
    worker.on('error', (err) => this.fallBack('the control thread failed', err));
    worker.on('exit', (code) => {
      if (!this.stopped) this.fallBack(`the control thread ended (exit code ${code})`);
    });
    // After the listeners: a 'message' listener refs the worker's port again.
    worker.unref();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.inThread?.stop();
    const worker = this.worker;
    if (!worker) return;
    try {
      worker.postMessage({ t: 'stop' } satisfies ControlCommand);
    } catch {
      // The worker is gone already.
    }
    // It closes the socket and ends; should it not, it is ended a moment later (never keeping the app alive).
    setTimeout(() => void worker.terminate().catch(() => {}), 2000).unref();
  }

  welcome(): void {
    if (this.inThread) return this.inThread.welcome();
    this.welcomed = true;
    this.post({ t: 'welcome', gen: this.gen });
  }

  send(frame: unknown): boolean {
    if (this.inThread) return this.inThread.send(frame);
    if (!this.worker || !this.opened || Atomics.load(this.shared, SLOT.OPEN) !== 1) return false;
    const text = frameText(frame, this.opts.maxFrameBytes, this.opts.log);
    if (text === undefined) return false;
    const n = text.length;
    if (!this.post({ t: 'send', gen: this.gen, text, n })) return false;
    this.posted = (this.posted + n) | 0;
    return true;
  }

  settle(timeoutMs: number): void {
    if (this.inThread || !this.worker) return;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const taken = Atomics.load(this.shared, SLOT.TAKEN);
      if (((this.posted - taken) | 0) <= 0) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      Atomics.wait(this.shared, SLOT.TAKEN, taken, left);
    }
  }

  /** Characters posted that the control thread has not handed to the socket yet. */
  private pending(): number {
    return Math.max(0, (this.posted - Atomics.load(this.shared, SLOT.TAKEN)) | 0);
  }

  private post(cmd: ControlCommand): boolean {
    try {
      this.worker?.postMessage(cmd);
      return this.worker !== undefined;
    } catch (err) {
      this.opts.log('cannot reach the control thread', err);
      return false;
    }
  }

  private onMessage(msg: ControlMessage): void {
    const o = this.opts;
    try {
      switch (msg.t) {
        case 'policy':
          o.onCachedPolicy(msg.policy);
          break;
        case 'open': {
          this.gen = msg.gen;
          this.opened = true;
          this.welcomed = false;
          const hello = o.hello();
          if (hello !== undefined) this.send(hello);
          o.onOpen();
          break;
        }
        case 'frame':
          o.onFrame(msg.frame);
          break;
        case 'close':
          this.opened = false;
          this.welcomed = false;
          o.onClose(msg.code, msg.reason);
          break;
        case 'error':
          o.onError?.(msg.message);
          break;
        case 'log':
          o.log(msg.message);
          break;
      }
    } catch (err) {
      o.log(`handling a control-thread message (${msg.t}) failed`, err);
    }
  }

  /** The connection on the app's thread instead, once: what a sandbox without threads still allows. */
  private fallBack(why: string, err?: unknown): void {
    if (this.fellBack || this.stopped) return;
    this.fellBack = true;
    this.opts.log(`${why}: the hub connection runs on the app's thread`, err);
    const worker = this.worker;
    this.worker = undefined;
    if (this.opened) {
      this.opened = false;
      this.welcomed = false;
      this.guarded('onClose', () => this.opts.onClose(1006, 'control thread ended'));
    }
    void worker?.terminate().catch(() => {});
    void Promise.all([import('./connection.js'), import('./policy-read.js')])
      .then(([{ Connection }, { readPolicyCache }]) => {
        if (this.stopped) return;
        const { policyCache } = this.opts;
        const cached = policyCache === undefined ? undefined : readPolicyCache(policyCache);
        if (cached !== undefined) this.guarded('cached policy', () => this.opts.onCachedPolicy(cached));
        const connection = new Connection(this.opts);
        this.inThread = connection;
        connection.start();
      })
      .catch((e: unknown) => this.opts.log('the hub connection could not be loaded', e));
  }

  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log(`${what} failed`, err);
    }
  }
}
