import { asyncCallers, type AsyncCaller } from './async-callers.js';
import type { AgentAction, AgentActionState, LogHit, MetricSample } from '@spyglass/protocol/agent-base';
import { MAX_MESSAGE, compileAction, type ActionRuntime } from './action-runtime.js';
import { LeakyBucket } from './budget.js';
import type { AgentConfig } from './config.js';
import { callMethod, callPure } from './expression.js';
import { grabSlot, type Hooks } from './hooks.js';
import type { PipedLog } from './pipe.js';
import type { Redactor } from './redact.js';
import { thrownText } from './safe.js';

export interface RuntimeSink {
  log(hit: LogHit): void;
  status(rt: ActionRuntime): void;
  /** The action reached a terminal state: remove its probes. */
  finished(rt: ActionRuntime): void;
  /** Optional trace context for hits. */
  traceIds(): { traceId?: string; spanId?: string } | undefined;
  pipe(entry: PipedLog): void;
  /**
   * Whether a `debugger` statement pauses into the agent now (its session has V8's Debugger domain on). A patched
   * snapshot asks for a pause only then: a request no pause takes would be taken by the next, elsewhere.
   */
  pausable?(): boolean;
}

const now = (): number => performance.now();

/**
 * How often a hit's CPU cost is measured, from the running average of what a hit costs: a clock read costs 30–80 ns
 * here (two per measured hit), so a cheap hit (a patched log: ≈ 20 ns of the agent's own work) is measured one time in
 * 64 and charged the average the other times, a hit of some microseconds one time in 8, and a hit of 20 µs or more
 * every time. The clock then stays under ≈ 1 % of what the action costs. The first hit of every action is measured.
 * The value is a mask: a hit is measured when its counter, incremented and masked, wraps to 0.
 */
export function sampleMask(avgCostMs: number): number {
  return avgCostMs >= 0.02 ? 0 : avgCostMs >= 0.002 ? 7 : 63;
}

/** No snapshot asked for a pause. */
const NO_PAUSE: readonly ActionRuntime[] = Object.freeze([]);

/**
 * The hook object instrumented code calls (`globalThis.__spyglass`). Every entry point runs inside a guard:
 * nothing thrown here reaches the host, time spent is charged to the CPU budgets, and a misbehaving action is
 * switched off with a reported reason.
 */
export class Runtime {
  readonly byIndex: (ActionRuntime | undefined)[] = [];

  global!: LeakyBucket;
  private logLines!: LeakyBucket;
  private logBytes!: LeakyBucket;
  /** Lines and bytes already charged to `logLines` and `logBytes` and not yet written (see `LeakyBucket.take`). */
  private lineCredit = 0;
  private byteCredit = 0;
  private globalThrottled = false;
  /** Snapshot actions whose clause asked to pause in the breakpoint condition being evaluated. */
  private pauseRequests: ActionRuntime[] = [];
  /** What the last condition that answered true asked for: read by the pause handler. */
  private pauseFor: readonly ActionRuntime[] = NO_PAUSE;
  /** The async callers of the code the current pause is in, read while it ran (see `asyncCallers`). */
  private pauseCallers: AsyncCaller[] = [];
  /** Clock for the buckets (ms); refreshed by every log hit and every tick. */
  private clock = Date.now();
  /** Counters reported in heartbeats. */
  readonly stats = { hookErrors: 0, throttles: 0, hits: 0, cpuMs: 0 };

  constructor(
    private config: AgentConfig,
    private readonly redactor: Redactor,
    private readonly sink: RuntimeSink,
  ) {
    this.budgets(config);
  }

  /**
   * The settings in force changed (a pool policy arrived): new agent-wide budgets now; actions created from now on
   * get the new per-action ones (the agent recreates its actions when those change).
   */
  reconfigure(config: AgentConfig): void {
    this.config = config;
    this.budgets(config);
  }

  private budgets(config: AgentConfig): void {
    // Budgets in ms of CPU per second; bursts up to five seconds' allowance (a cold first snapshot can take tens of ms).
    const clock = (): number => this.clock;
    this.global = new LeakyBucket(config.cpuBudgetPct * 10, config.cpuBudgetPct * 50, clock);
    this.logLines = new LeakyBucket(config.maxLogsPerSecond, config.maxLogsPerSecond, clock);
    this.logBytes = new LeakyBucket(config.maxLogBytesPerSecond, config.maxLogBytesPerSecond, clock);
    this.lineCredit = 0;
    this.byteCredit = 0;
  }

  /** Compile an action's expressions; throws a message fit for an error status. */
  create(action: AgentAction): ActionRuntime {
    const rt = compileAction(action, this.config, this.redactor, () => this.clock);
    // Only once it compiled: an action that fails here is reported and never held.
    this.byIndex[rt.index] = rt;
    return rt;
  }

  delete(rt: ActionRuntime): void {
    rt.enabled = false;
    this.byIndex[rt.index] = undefined;
  }

  /** Send the action's status again (e.g. its method changed). */
  report(rt: ActionRuntime): void {
    rt.reportedMethod = rt.method;
    this.sink.status(rt);
  }

  setState(rt: ActionRuntime, state: AgentActionState, reason?: string): void {
    if (rt.state === state && rt.reason === reason && rt.method === rt.reportedMethod) return;
    rt.state = state;
    rt.reason = reason;
    rt.enabled = state === 'active' && !this.globalThrottled;
    rt.reportedMethod = rt.method;
    this.sink.status(rt);
  }

  // ---- accounting ------------------------------------------------------------------------------------------------

  /**
   * A LiveEdit took `ms` of the app's thread: counted in the agent's CPU time (heartbeats), not charged to a bucket
   * that throttles hooks. One edit takes 50–100 ms in a large app on a busy machine: charged to the actions it placed
   * it used up their burst before their first hit, and charged to the agent's budget a file of twenty scripts placed
   * at once throttled every action. Edits are bounded by how they are made instead: one per script per batch, halved
   * when refused, retries of a blocked patch backing off.
   */
  countEdit(ms: number): void {
    this.stats.cpuMs += ms;
  }

  private charge(rt: ActionRuntime, ms: number): void {
    this.stats.cpuMs += ms;
    const okAction = rt.cpu.charge(ms, this.clock);
    if (!okAction && rt.state === 'active') {
      rt.throttledBy = 'cpu';
      this.stats.throttles++;
      this.setState(rt, 'throttled', this.actionCpuReason());
    }
    this.chargeGlobal(ms);
  }

  private actionCpuReason(): string {
    return `CPU budget: this action used more than ${this.config.actionCpuBudgetPct}% of a CPU`;
  }

  private chargeGlobal(ms: number): void {
    const okGlobal = this.global.charge(ms, this.clock);
    if (!okGlobal && !this.globalThrottled) {
      this.globalThrottled = true;
      this.stats.throttles++;
      for (const a of this.byIndex) {
        if (a && a.state === 'active') {
          a.throttledBy = 'global';
          this.setState(
            a,
            'throttled',
            `global CPU budget: the agent used more than ${this.config.cpuBudgetPct}% of a CPU`,
          );
        }
      }
    }
  }

  /** Count a hit after the condition passed; false when the hit must not be recorded. Expiry is checked with `at`
   *  when the caller read the time (logs, snapshots), and by the one-second tick otherwise. */
  private hit(rt: ActionRuntime, at?: number): boolean {
    if (!rt.enabled) return false;
    // An action bound to one trace skips every other hit before anything is counted or captured.
    if (rt.action.traceId !== undefined && this.sink.traceIds()?.traceId !== rt.action.traceId) return false;
    if (at !== undefined && at >= rt.action.expiresAt) {
      this.finish(rt, 'expired');
      return false;
    }
    rt.hits++;
    this.stats.hits++;
    if (rt.hits >= rt.action.maxHits)
      this.finish(rt, 'completed', `reached ${rt.action.maxHits} ${rt.action.maxHits === 1 ? 'hit' : 'hits'}`);
    return true;
  }

  finish(rt: ActionRuntime, state: 'completed' | 'expired', reason?: string): void {
    rt.enabled = false;
    this.setState(rt, state, reason);
    this.sink.finished(rt);
  }

  /** Periodic: expiry, and lifting throttles whose buckets drained. */
  tick(): void {
    const t = Date.now();
    this.clock = t;
    // Log credits go back to their buckets every second: what the buckets hold is then what was written.
    this.logLines.refund(this.lineCredit);
    this.logBytes.refund(this.byteCredit);
    this.lineCredit = 0;
    this.byteCredit = 0;
    for (const rt of this.byIndex) {
      if (!rt) continue;
      rt.logs.refund(rt.logCredit);
      rt.logCredit = 0;
    }
    if (this.globalThrottled && this.global.allows()) {
      this.globalThrottled = false;
      for (const rt of this.byIndex) if (rt?.state === 'active') rt.enabled = true;
    }
    for (const rt of this.byIndex) {
      if (!rt) continue;
      if (rt.owedMs > 0) {
        const owed = rt.owedMs;
        rt.owedMs = 0;
        this.charge(rt, owed);
      }
      if (t >= rt.action.expiresAt && rt.state !== 'expired' && rt.state !== 'completed' && rt.state !== 'error') {
        this.finish(rt, 'expired');
        continue;
      }
      if (
        rt.state === 'throttled' &&
        !this.globalThrottled &&
        rt.cpu.allows() &&
        rt.logs.allows() &&
        this.logLines.allows() &&
        this.logBytes.allows()
      ) {
        rt.throttledBy = undefined;
        this.setState(rt, 'active');
      } else if (rt.state === 'throttled' && rt.throttledBy === 'global' && !this.globalThrottled && !rt.cpu.allows()) {
        // The agent's budget is back and this action's own is not (its breakpoint could not leave V8 at once, and the
        // evaluations until then were charged to it): it is held by its own budget now, and its status says so.
        rt.throttledBy = 'cpu';
        this.setState(rt, 'throttled', this.actionCpuReason());
      }
    }
  }

  error(rt: ActionRuntime, err: unknown): void {
    this.stats.hookErrors++;
    const message = thrownText(err);
    rt.enabled = false;
    this.setState(rt, 'error', `evaluation failed: ${message}`.slice(0, 2000));
    this.sink.finished(rt);
  }

  takeMetrics(t: number): MetricSample[] {
    const out: MetricSample[] = [];
    for (const rt of this.byIndex) {
      const s = rt?.metric?.take(t);
      if (s) out.push(s);
    }
    return out;
  }

  // ---- outputs -----------------------------------------------------------------------------------------------------

  private emitLog(rt: ActionRuntime, values: readonly unknown[], at: number): void {
    if (rt.action.kind !== 'log') return;
    let message = rt.format(values);
    if (message.length > MAX_MESSAGE) message = message.slice(0, MAX_MESSAGE) + '…';
    // The three log budgets (lines of this action, lines and bytes of the agent) are counted down from credits
    // charged to them in advance; the buckets themselves are consulted only when a credit runs out.
    const len = message.length;
    if (rt.logCredit >= 1 && this.lineCredit >= 1 && this.byteCredit >= len) {
      rt.logCredit--;
      this.lineCredit--;
      this.byteCredit -= len;
    } else if (!this.admitLog(rt, len, at)) return;
    const hit: LogHit = { actionId: rt.action.id, at, level: rt.action.level, message };
    const ids = this.sink.traceIds();
    if (ids?.traceId) hit.traceId = ids.traceId;
    if (ids?.spanId) hit.spanId = ids.spanId;
    this.sink.log(hit);
    if (rt.action.pipe) this.sink.pipe({ ...hit, file: rt.action.file, line: rt.action.line });
  }

  /** A log line whose credits ran out: the buckets are charged (and topped up), or the action is throttled. */
  private admitLog(rt: ActionRuntime, len: number, at: number): boolean {
    const rate = rt.logs.take(rt.logCredit, 1, at);
    const lines = this.logLines.take(this.lineCredit, 1, at);
    const bytes = this.logBytes.take(this.byteCredit, len, at);
    rt.logCredit = Math.max(0, rate);
    this.lineCredit = Math.max(0, lines);
    this.byteCredit = Math.max(0, bytes);
    const okRate = rate >= 0;
    const okLines = lines >= 0;
    const okBytes = bytes >= 0;
    if (!okRate || !okLines || !okBytes) {
      this.stats.throttles++;
      rt.throttledBy = 'logs';
      this.setState(
        rt,
        'throttled',
        !okRate
          ? `log rate: more than ${this.config.maxLogsPerSecondPerAction} lines per second for this action`
          : !okLines
            ? `log rate: more than ${this.config.maxLogsPerSecond} lines per second for the agent`
            : `log bytes: more than ${this.config.maxLogBytesPerSecond} bytes per second for the agent`,
      );
      return false;
    }
    return true;
  }

  /**
   * Charges one hook run to its action: the measured time on sampled runs (which also update the running average),
   * the average on the others, so most hits read no clock.
   */
  private settle(rt: ActionRuntime, sampled: boolean, t0: number): void {
    if (!sampled) {
      rt.owedMs += rt.avgCostMs;
      return;
    }
    const cost = now() - t0;
    // The very first hit is charged what it cost but does not set the average: it pays for compiling and warming
    // up, which would then be charged to the next hits too.
    if (rt.measured) {
      rt.avgCostMs = rt.avgCostMs === 0 ? cost : rt.avgCostMs * 0.9 + cost * 0.1;
      rt.sampleMask = sampleMask(rt.avgCostMs);
    }
    rt.measured = true;
    const owed = rt.owedMs;
    rt.owedMs = 0;
    this.charge(rt, cost + owed);
  }

  /** Build the object installed as `globalThis.__spyglass`. */
  hooks(): Hooks {
    const byIndex = this.byIndex;
    const guard = <T>(i: number, fallback: T, body: (rt: ActionRuntime) => T, measure = false): T => {
      const rt = byIndex[i];
      if (!rt) return fallback;
      const sampled = measure || rt.sampleTick === 0;
      rt.sampleTick = (rt.sampleTick + 1) & rt.sampleMask;
      const t0 = sampled ? now() : 0;
      try {
        return body(rt);
      } catch (err) {
        this.error(rt, err);
        return fallback;
      } finally {
        this.settle(rt, sampled, t0);
      }
    };
    // The last hook of a breakpoint condition: closes the evaluation (see `be`), does the work measured, answers false.
    const closing = (i: number, body: (rt: ActionRuntime) => void): false => {
      const rt = byIndex[i];
      if (rt) rt.evaluating = false;
      guard(i, undefined, body, true);
      return false;
    };
    const hooks: Hooks = {
      on: (i) => byIndex[i]?.enabled === true,
      err: (i, e) => {
        const rt = byIndex[i];
        if (rt) this.error(rt, e);
      },
      f: callPure,
      m: callMethod,
      // The hot path of a patched log, written out (no closure per call); same guard and accounting as `guard`.
      log: (i, values) => {
        const rt = byIndex[i];
        if (rt === undefined) return;
        const sampled = rt.sampleTick === 0;
        rt.sampleTick = (rt.sampleTick + 1) & rt.sampleMask;
        const t0 = sampled ? now() : 0;
        try {
          const at = (this.clock = Date.now());
          if (this.hit(rt, at)) this.emitLog(rt, values, at);
        } catch (err) {
          this.error(rt, err);
        } finally {
          this.settle(rt, sampled, t0);
        }
      },
      count: (i) =>
        guard(i, undefined, (rt) => {
          if (this.hit(rt)) rt.metric?.record(1);
        }),
      gauge: (i, v) =>
        guard(i, undefined, (rt) => {
          if (this.hit(rt)) rt.metric?.record(typeof v === 'number' ? v : Number(v));
        }),
      tic: (i) => (byIndex[i]?.enabled ? now() : undefined),
      toc: (i, t) =>
        guard(i, undefined, (rt) => {
          if (typeof t === 'number' && this.hit(rt)) rt.metric?.record(now() - t);
        }),
      ret: (i, t, v) => {
        if (t !== undefined) hooks.toc(i, t);
        return v;
      },
      // Breakpoint conditions. V8 swallows exceptions thrown by a condition, so each evaluation is bracketed:
      // `be` opens it, the last hook closes it; an evaluation still open at the next hit threw.
      be: (i) => {
        const rt = byIndex[i];
        if (!rt) return false;
        if (rt.evaluating) {
          rt.evaluating = false;
          this.error(rt, new Error('the condition or an expression threw while evaluated at the breakpoint'));
          return false;
        }
        // What V8 spent before this clause ran (see breakpoints.ts): without it, a condition that is false in a tight
        // loop would cost the host unchecked. A throttled action is charged too: V8 compiles the condition until its
        // breakpoint leaves V8 (when the app's code yields), and a loop that went on for seconds after the throttle
        // must not come back to the action as drained budget.
        if (rt.breakpointShareMs > 0) {
          if (rt.enabled) this.charge(rt, rt.breakpointShareMs);
          else {
            this.stats.cpuMs += rt.breakpointShareMs;
            rt.cpu.chargeResting(rt.breakpointShareMs, this.clock);
          }
        }
        if (!rt.enabled) return false;
        rt.evaluating = true;
        return true;
      },
      // A breakpoint condition threw: record the real error (the condition then answers false).
      berr: (i, e) => {
        const rt = byIndex[i];
        if (rt) {
          rt.evaluating = false;
          this.error(rt, e);
        }
        return false;
      },
      bif: (i, c) => {
        const rt = byIndex[i];
        if (!rt) return false;
        rt.evaluating = Boolean(c);
        return rt.evaluating;
      },
      bl: (i, values) =>
        closing(i, (r) => {
          const at = (this.clock = Date.now());
          if (this.hit(r, at)) this.emitLog(r, values, at);
        }),
      bn: (i) =>
        closing(i, (r) => {
          if (this.hit(r)) r.metric?.record(1);
        }),
      bg: (i, v) =>
        closing(i, (r) => {
          if (this.hit(r)) r.metric?.record(typeof v === 'number' ? v : Number(v));
        }),
      btic: (i) => {
        const rt = byIndex[i];
        if (rt) {
          rt.evaluating = false;
          if (rt.tics.length >= 1000) rt.tics.shift();
          rt.tics.push(now());
        }
        return false;
      },
      btoc: (i) =>
        closing(i, (r) => {
          const t = r.tics.pop();
          if (t !== undefined && this.hit(r)) r.metric?.record(now() - t);
        }),
      // Snapshot: asks the breakpoint to pause; the hit is counted by the capture.
      bs: (i) => {
        const rt = byIndex[i];
        if (!rt) return false;
        rt.evaluating = false;
        if (rt.enabled) this.pauseRequests.push(rt);
        return rt.enabled;
      },
      // Patched snapshot: the `debugger` statement after it pauses at once, for this action alone (no condition for
      // V8 to compile and evaluate first: see docs/agent.md, "Snapshots are patched").
      sp: (i) => {
        const rt = byIndex[i];
        if (!rt?.enabled || this.sink.pausable?.() === false) return false;
        this.pauseFor = [rt];
        this.pauseCallers = asyncCallers(this.config.asyncStackDepth);
        return true;
      },
      // The first statement of every breakpoint condition: requests left by an evaluation V8 cut short are dropped.
      b0: () => {
        this.pauseRequests.length = 0;
      },
      // The last statement of every breakpoint condition: pause when a snapshot clause asked for it.
      bp: () => {
        if (this.pauseRequests.length === 0) {
          this.pauseFor = NO_PAUSE;
          return false;
        }
        this.pauseFor = this.pauseRequests;
        this.pauseRequests = [];
        // Read here, in the paused code's own stack: V8's debugger knows only the async callers it recorded.
        this.pauseCallers = asyncCallers(this.config.asyncStackDepth);
        return true;
      },
      // The snapshot capture's hand-over of live objects (see snapshot.ts).
      g: (v) => {
        grabSlot.value = v;
      },
    };
    return Object.freeze(hooks);
  }

  /** The snapshot actions the current pause is for (once: a later pause of another debugger finds none). */
  takePauseRequests(): readonly ActionRuntime[] {
    const owners = this.pauseFor;
    this.pauseFor = NO_PAUSE;
    return owners;
  }

  /** The async callers read when the current pause was asked for (once). */
  takePauseCallers(): AsyncCaller[] {
    const callers = this.pauseCallers;
    this.pauseCallers = [];
    return callers;
  }

  /** Called by the snapshot capture: count the hit and charge its time. */
  snapshotHit(rt: ActionRuntime): boolean {
    this.clock = Date.now();
    return this.hit(rt, this.clock);
  }

  chargeSnapshot(rt: ActionRuntime, ms: number): void {
    this.charge(rt, ms);
  }
}
