import { PROTOCOL_VERSION, WIRE_LIMITS, type AgentSettings, type MetricSample } from '@spyglass/protocol/agent-base';
import type { ControlPlane } from './control.js';
import type { DebugLog } from './debug-log.js';
import { hitsFrameText, type Outbox } from './outbox.js';

/** Longest an ending process is kept alive to send the hits, metrics and statuses the agent still holds. */
const EXIT_FLUSH_MS = 1000;

/** Longest a `process.exit()` waits, in all, for the control thread to write what the exit hands it. */
const EXIT_SETTLE_MS = 200;

/**
 * The way out to the hub: what the outbox holds goes out in frames while the connection is open (when asked, soon
 * after a change, on the flush interval), and once more before a process that ends on its own exits.
 */
export class Uplink {
  private flushTimer: NodeJS.Timeout | undefined;
  private exitDrain: 'idle' | 'draining' | 'gave up' = 'idle';

  constructor(
    private readonly outbox: Outbox,
    private readonly connection: () => ControlPlane | undefined,
    /** The hub's settings of the session (frame and batch sizes). */
    private readonly settings: () => AgentSettings,
    private readonly log: DebugLog,
    /** Runs a callback of a timer so that nothing it throws leaves the agent. */
    private readonly guard: (what: string, fn: () => void) => void,
  ) {}

  /** Send statuses and hits while the hub is connected; otherwise they wait in the bounded buffers. */
  flush(): void {
    const c = this.connection();
    if (!c?.isOpen) return;
    this.sendStatuses(c);
    const { maxItems, maxBytes } = this.frameLimits();
    for (let i = 0; i < 100 && c.buffered < 8 * maxBytes; i++) {
      const frame = this.outbox.takeFrame(maxItems, maxBytes);
      if (!frame) break;
      c.send(hitsFrameText(frame));
    }
  }

  private sendStatuses(c: ControlPlane): void {
    for (;;) {
      const statuses = this.outbox.takeStatuses(WIRE_LIMITS.maxStatuses);
      if (statuses.length === 0) break;
      c.send({ type: 'action_status', v: PROTOCOL_VERSION, statuses });
    }
  }

  /** Items and bytes of a frame: the hub's settings within the wire's limits. */
  private frameLimits(): { maxItems: number; maxBytes: number } {
    const settings = this.settings();
    return {
      maxItems: Math.min(settings.maxBatchItems, WIRE_LIMITS.maxBatchItems),
      maxBytes: Math.min(settings.maxFrameBytes, WIRE_LIMITS.maxFrameBytes),
    };
  }

  /** A flush in a moment, gathering what the next few milliseconds add. */
  flushSoon(): void {
    if (this.flushTimer || !this.connection()?.isOpen) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.guard('flush', () => this.flush());
    }, 20);
    this.flushTimer.unref();
  }

  /**
   * A process that ends on its own (its event loop ran empty) would lose what is still buffered: the agent's timers
   * and socket are unref'd. While the hub is connected, send it all first (with the metrics `takeMetrics` gives),
   * keeping the process alive with a referenced timer for at most {@link EXIT_FLUSH_MS}. An explicit
   * `process.exit()` cannot wait: see {@link flushAtExit}.
   */
  drainBeforeExit(takeMetrics: () => readonly MetricSample[]): void {
    const c = this.connection();
    if (this.exitDrain !== 'idle' || !c?.isOpen) return;
    for (const sample of takeMetrics()) this.outbox.metric(sample);
    this.flush();
    const drained = (): boolean => this.outbox.size === 0 && !this.outbox.hasStatuses && c.buffered === 0;
    if (drained()) return;
    this.exitDrain = 'draining';
    const deadline = performance.now() + EXIT_FLUSH_MS;
    const timer = setInterval(() => {
      this.guard('exit flush', () => this.flush());
      const late = performance.now() >= deadline;
      if (!drained() && c.isOpen && !late) return;
      clearInterval(timer);
      // Drained: a later beforeExit (the host did more work) may drain again; given up: never block an exit twice.
      this.exitDrain = late || !c.isOpen ? 'gave up' : 'idle';
      if (this.exitDrain === 'gave up') this.log('process ending: could not send everything before exit');
    }, 5);
  }

  /**
   * The process is exiting now (`process.exit()`, or the end of a drain): nothing asynchronous runs any more. Write
   * what the socket takes at once — a write to a TCP socket goes to the kernel synchronously while its buffer has
   * room, and the kernel delivers it after the process is gone — and count the hits that stay behind: those never
   * written, and those of a frame the socket could only queue.
   */
  flushAtExit(takeMetrics: () => readonly MetricSample[]): { sent: number; unsent: number } {
    const c = this.connection();
    for (const sample of takeMetrics()) this.outbox.metric(sample);
    if (!c?.isOpen) return { sent: 0, unsent: this.outbox.size };
    // The socket is on the control thread: each frame waits until that thread has written it (bounded in all).
    const deadline = performance.now() + EXIT_SETTLE_MS;
    const settle = (): void => c.settle(Math.max(0, deadline - performance.now()));
    this.sendStatuses(c);
    settle();
    const { maxItems, maxBytes } = this.frameLimits();
    let sent = 0;
    let unsent = 0;
    // Already queued in user space (a slow hub): a frame written now would only queue behind it.
    while (c.buffered === 0) {
      const frame = this.outbox.takeFrame(maxItems, maxBytes);
      if (!frame) break;
      const items = frame.logs.length + frame.snapshots.length + frame.metrics.length;
      const queued = c.send(hitsFrameText(frame));
      if (queued) settle();
      if (queued && c.buffered === 0) sent += items;
      else unsent += items;
    }
    return { sent, unsent: unsent + this.outbox.size };
  }
}
