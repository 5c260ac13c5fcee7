import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, threadId } from 'node:worker_threads';
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  WIRE_LIMITS,
  type ActionStatus,
  type AgentAction,
  type AgentSettings,
  type HelloFrame,
  type HubFrame,
  type MetricSample,
  type WirePolicy,
  matchesBlocklist,
} from '@spyglass/protocol/agent-base';
import { loadConfig, localSettings, type AgentConfig, type AgentOptions } from './config.js';
import {
  clampAction,
  mergePolicy,
  policyCachePath,
  sameLimits,
  writePolicyCache,
  type MergedPolicy,
} from './policy.js';
import { startControl, type ControlPlane } from './control.js';
import { createDebugLog, type DebugLog } from './debug-log.js';
import { createNotices, type Notices } from './notice.js';
import { ENGINE_FILE, loadEngine, type Engine, type EngineExports } from './engine-load.js';
import { chargedMs, cpuTimeMs } from './budget.js';
import { Outbox } from './outbox.js';
import { createPipe, type PipedLog } from './pipe.js';
import { Redactor } from './redact.js';
import { Uplink } from './uplink.js';
import { INERT_HOOKS } from './hooks.js';
import { HOOK } from './names.js';
import type { ActionRuntime } from './action-runtime.js';

export const AGENT_VERSION = '0.1.0';

const DEFAULT_SETTINGS: AgentSettings = {
  heartbeatIntervalMs: 15_000,
  flushIntervalMs: 1000,
  metricIntervalMs: 10_000,
  maxFrameBytes: WIRE_LIMITS.maxFrameBytes,
  maxBatchItems: WIRE_LIMITS.maxBatchItems,
};

const AGENT_DIR = fileURLToPath(new URL('.', import.meta.url));

export interface AgentStats {
  scripts: number;
  actions: number;
  hits: number;
  hookErrors: number;
  throttles: number;
  cpuMs: number;
  dropped: number;
  connects: number;
  snapshots: number;
}

/** One running agent. Everything it does is guarded: no error leaves it for the host. */
export class Agent {
  readonly config: AgentConfig;
  private instance = randomBytes(12).toString('hex');
  /** The session credential of the last welcome, presented by every reconnect; kept in memory only. */
  private session: string | undefined;
  private readonly log: DebugLog;
  private readonly redactor: Redactor;
  /**
   * The action engine (inspector session, scripts, probes, snapshots, sources): loaded with the first action or source
   * request (`engine()`), never by an agent at rest.
   */
  private eng: Engine | undefined;
  /** The engine's import, where it cannot be loaded at once (see `engine-load.ts`). */
  private engineImport: Promise<void> | undefined;
  /** Why the engine could not be loaded (then every action reports it). */
  private engineProblem: string | undefined;
  private readonly outbox: Outbox;
  private connection: ControlPlane | undefined;
  private readonly actions = new Map<string, ActionRuntime>();
  private revision = -1;
  private settings: AgentSettings = DEFAULT_SETTINGS;
  /** The heartbeat: the one timer of an agent at rest. */
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The 1 s tick, the flush and the metric interval: running only while the agent has work (see `atRest`). */
  private workTimers: NodeJS.Timeout[] = [];
  private retryScheduled = false;
  private mapRetryScheduled = false;
  private breakpointSync = false;
  /** Finished actions whose probes are taken out at the next turn (see `uninstallSoon`). */
  private readonly finishedActions = new Set<ActionRuntime>();
  private snapshots = 0;
  private stopped = false;
  private sourceRequests = 0;
  private readonly pipeOut: (entry: PipedLog) => void;
  /** `beforeExit`: the event loop of the host is empty and the process is about to end. */
  private readonly onBeforeExit = (): void =>
    this.guard('beforeExit', () => {
      if (!this.stopped) this.uplink.drainBeforeExit(() => this.takeMetrics());
    });
  /** `exit`: the process ends now (`process.exit()`, or after the drain); only synchronous work runs. */
  private readonly onExit = (): void =>
    this.guard('exit', () => {
      if (this.stopped || !this.connection) return;
      const { sent, unsent } = this.uplink.flushAtExit(() => this.takeMetrics());
      this.log(`process exiting: ${sent} hits sent at exit, ${unsent} not`);
      if (unsent > 0) this.notices.exitLoss(unsent);
    });
  private readonly uplink: Uplink;
  /** The lines the agent writes on its own (connected, refused key, unreachable hub). */
  private readonly notices: Notices;
  /** The current socket was welcomed by the hub. */
  private welcomedSession = false;
  /** The settings given locally, before defaults: a pool policy refuses those looser than its own. */
  private readonly local: Readonly<Record<string, unknown>>;
  /** The settings in force: the local ones tightened by the pool policy. */
  private merged: MergedPolicy;
  /** The pool policy in force and where it came from. */
  private policy: { wire: WirePolicy; source: 'hub' | 'cache'; savedAt?: number } | undefined;
  /** Highest policy revision this socket delivered (a push may overtake the welcome's). */
  private socketPolicyRevision = -1;
  private readonly policyCache: string | undefined;
  /** The action set as the hub sent it, before the policy's capture ceilings: reapplied when the policy changes. */
  private actionItems: readonly AgentAction[] = [];
  private welcomedOnce = false;
  /** The policy cache writes, chained. */
  private cacheWrites: Promise<void> = Promise.resolve();

  /** Who this agent is to the hub: random per process (and per worker thread), sent in every hello. */
  get instanceId(): string {
    return this.instance;
  }

  constructor(options: AgentOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.config = loadConfig(env, options);
    this.local = localSettings(env, options);
    this.merged = mergePolicy(this.config, this.local, undefined);
    this.policyCache = policyCachePath(this.config);
    this.log = createDebugLog(this.config.debug, threadId);
    this.notices = createNotices({ url: this.config.url ?? '', quiet: this.config.quiet, thread: threadId });
    this.redactor = new Redactor({ names: this.config.redactNames, values: this.config.redactValues });
    this.outbox = new Outbox({
      maxLogs: this.config.maxBufferedLogs,
      maxSnapshots: this.config.maxBufferedSnapshots,
      maxMetrics: this.config.maxBufferedMetrics,
      maxBytes: this.config.maxBufferedBytes,
    });
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    this.pipeOut = createPipe({ format: this.config.pipeFormat, logger: this.config.logger }, stdoutWrite, this.log);
    this.uplink = new Uplink(
      this.outbox,
      () => this.connection,
      () => this.settings,
      this.log,
      (what, fn) => this.guard(what, fn),
    );
  }

  /**
   * The action engine, loaded on first use. `undefined` while it is being imported (what asked for it is done again
   * when it arrives), after it failed to load (`engineProblem`), or once the agent is stopped.
   */
  private engine(): Engine | undefined {
    if (this.eng || this.stopped || this.engineProblem !== undefined || this.engineImport) return this.eng;
    const t0 = performance.now();
    try {
      const loaded = loadEngine();
      if (!(loaded instanceof Promise)) return this.build(loaded, t0);
      this.log('importing the action engine (this Node cannot require ES modules): actions wait for it');
      this.engineImport = loaded.then(
        (m) =>
          this.guard('engine', () => {
            if (this.stopped) return;
            this.build(m, t0);
            this.engineArrived();
          }),
        (err: unknown) => this.guard('engine', () => this.engineFailed(err)),
      );
    } catch (err) {
      this.engineFailed(err);
    }
    return this.eng;
  }

  /** `t0`: when loading it began (the debug log says how long it took). */
  private build(m: EngineExports, t0: number): Engine {
    const e = new m.Engine({
      config: this.config,
      redactor: this.redactor,
      log: this.log,
      agentDir: AGENT_DIR,
      isBlocked: (path) => this.isBlocked(path),
      pipe: this.pipeOut,
      logHit: (hit) => this.outbox.log(hit),
      status: (rt) => this.queueStatus(rt),
      finished: (rt) => this.uninstallSoon(rt),
      readMapsThenRetry: (nodeModules) => this.readMapsThenRetry(nodeModules),
      stopped: () => this.stopped,
    });
    // Settings a pool policy tightened before the engine existed.
    if (this.policy !== undefined) e.reconfigure(this.merged.config);
    e.inspector.on('Debugger.scriptParsed', (p) => this.guard('scriptParsed', () => this.onScriptParsed(p)));
    e.inspector.on('Debugger.paused', (p) => this.onPaused(p));
    // Patched code calls the hooks through this global: the engine's from now on (until then nothing calls it).
    Object.defineProperty(globalThis, HOOK, {
      value: e.runtime.hooks(),
      configurable: true,
      enumerable: false,
      writable: false,
    });
    this.eng = e;
    this.log(`action engine loaded in ${(performance.now() - t0).toFixed(1)} ms`);
    return e;
  }

  /** The imported engine is here: place the action set that waited for it. */
  private engineArrived(): void {
    if (this.actionItems.length > 0) this.placeActions();
  }

  private engineFailed(err: unknown): void {
    // The first line: require() adds its require stack below (the debug log keeps the whole error).
    const why = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0];
    this.engineProblem = `the agent's action engine (${ENGINE_FILE}) did not load: ${why}`;
    this.log(this.engineProblem, err);
    this.engineUnavailable(this.engineProblem);
  }

  /** Without the engine no action runs: each says why. */
  private engineUnavailable(problem: string): void {
    for (const action of this.wantedActions().values())
      this.outbox.status({ actionId: action.id, state: 'error', reason: problem.slice(0, 2048), at: Date.now() });
    this.flushSoon();
  }

  private takeMetrics(): readonly MetricSample[] {
    return this.eng?.runtime.takeMetrics(Date.now()) ?? [];
  }

  /** The blocklist in force (the agent's own entries and the pool policy's). */
  private isBlocked(path: string): boolean {
    return this.merged.config.blocklist.some((b) => matchesBlocklist(path, b));
  }

  /** The pool policy in force (`undefined`: none yet, only the agent's own settings). */
  get poolPolicy(): (WirePolicy & { source: 'hub' | 'cache' }) | undefined {
    return this.policy === undefined ? undefined : { ...this.policy.wire, source: this.policy.source };
  }

  /** The settings in force: the agent's own, tightened by the pool policy. */
  get effectiveConfig(): AgentConfig {
    return this.merged.config;
  }

  /**
   * Put a pool policy in force: redaction at once for everything captured from now on; when budgets, the blocklist
   * or capture ceilings change, every action is placed again under them. A policy from the hub is cached on disk.
   */
  applyPolicy(wire: WirePolicy, source: 'hub' | 'cache', savedAt?: number): void {
    const merged = mergePolicy(this.config, this.local, wire);
    for (const line of merged.refused) this.guard('notice', () => this.notices.policy(line));
    for (const s of merged.skipped) this.log(`policy value pattern not used: ${s}`);
    try {
      this.redactor.configure(merged.config.redactNames, merged.config.redactValues);
    } catch (err) {
      // Every pattern was checked above; should one still fail, the rules in force stay as they were.
      this.log('policy redaction rules not applied', err);
    }
    const before = this.merged;
    this.merged = merged;
    this.policy = { wire, source, ...(savedAt === undefined ? {} : { savedAt }) };
    this.eng?.reconfigure(merged.config);
    this.log(
      `pool policy of ${wire.pool} revision ${wire.revision} (${source}) in force: ` +
        `${merged.config.redactNames.length} redacted names, ${merged.config.redactValues.length} value patterns, ` +
        `${merged.config.blocklist.length} blocklist entries`,
    );
    if (!sameLimits(before, merged) && this.actions.size > 0) this.replaceAllActions();
    const path = this.policyCache;
    // One write at a time, in order: the file ends with the newest policy.
    if (source === 'hub' && path !== undefined)
      this.cacheWrites = this.cacheWrites
        .then(() => writePolicyCache(path, wire))
        .then((problem) => {
          if (problem !== undefined) this.log(`policy cache ${path} not written: ${problem}`);
        });
  }

  /** Every action removed and placed again under the settings in force. */
  private replaceAllActions(): void {
    const e = this.eng;
    if (!e) return;
    e.probes.batched(() => {
      for (const rt of this.actions.values()) {
        e.probes.uninstall(rt);
        e.runtime.delete(rt);
      }
      this.actions.clear();
      this.applyActionSet(e, this.wantedActions());
    });
    this.debuggerIfNeeded();
    this.flushSoon();
  }

  private wantedActions(): Map<string, AgentAction> {
    return new Map(this.actionItems.map((a) => [a.id, clampAction(a, this.merged.capture)]));
  }

  /** A policy from the hub: the welcome's, or a later push with a higher revision than this socket gave. */
  private onPolicy(wire: WirePolicy, fromWelcome: boolean): void {
    if (wire.revision < this.socketPolicyRevision || (!fromWelcome && wire.revision === this.socketPolicyRevision))
      return;
    this.socketPolicyRevision = wire.revision;
    this.applyPolicy(wire, 'hub');
  }

  /** Install the (inert) hook global and the exit handlers, connect to the hub; the engine waits for an action. */
  start(): this {
    // Until the engine is loaded nothing calls the hooks but code an earlier agent of this thread left patched.
    Object.defineProperty(globalThis, HOOK, {
      value: INERT_HOOKS,
      configurable: true,
      enumerable: false,
      writable: false,
    });
    // No engine, no inspector session while idle: both come with the first action (or source request).
    this.log('idle: no inspector session and no action engine until an action arrives');
    this.restartTimers();
    process.on('beforeExit', this.onBeforeExit);
    process.on('exit', this.onExit);
    if (this.config.url) {
      // The control thread reads the last policy the hub gave before it connects: in force until the hub answers.
      this.connection = startControl({
        policyCache: this.policyCache,
        onCachedPolicy: (cached) =>
          this.guard('cached policy', () => this.applyPolicy(cached, 'cache', cached.savedAt)),
        url: this.config.url,
        key: this.config.key,
        minDelayMs: this.config.reconnectMinMs,
        maxDelayMs: this.config.reconnectMaxMs,
        maxFrameBytes: WIRE_LIMITS.maxFrameBytes,
        log: this.log,
        hello: () => this.hello(),
        onFrame: (f) => this.guard('frame', () => this.onFrame(f)),
        onOpen: () => {
          this.welcomedSession = false;
          this.socketPolicyRevision = -1;
        },
        onClose: (code, reason) => {
          this.guard('close', () => this.onClose(code));
          this.guard('notice', () => this.cachedPolicyNotice());
          this.guard('notice', () => {
            this.notices.closed(code, reason, this.welcomedSession);
            this.welcomedSession = false;
          });
        },
        onError: (message) => this.guard('notice', () => this.notices.error(message)),
      });
    } else this.log('no SPYGLASS_URL: running without a hub');
    return this;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('beforeExit', this.onBeforeExit);
    process.off('exit', this.onExit);
    clearInterval(this.heartbeatTimer);
    this.rest();
    const e = this.eng;
    this.guard('stop', () => {
      e?.probes.batched(() => {
        for (const rt of this.actions.values()) {
          e.probes.uninstall(rt);
          e.runtime.delete(rt);
        }
      });
      this.actions.clear();
      this.flush();
    });
    this.connection?.stop();
    this.guard('stop', () => e?.mapIndexer.stop());
    let patched = true;
    this.guard('stop', () => {
      patched = strandedPatches || (e?.probes.leftInV8() ?? false);
    });
    // A later agent in this thread reads the stranded code as the script's own text and never removes it.
    strandedPatches = patched;
    e?.inspector.disconnect();
    // Patched code still in V8 calls the hook: leave an inert one (deleting it would throw in the app's functions).
    if (patched)
      Object.defineProperty(globalThis, HOOK, {
        value: INERT_HOOKS,
        configurable: true,
        enumerable: false,
        writable: false,
      });
    else Reflect.deleteProperty(globalThis, HOOK);
  }

  /** Apply an action set directly (what a `welcome`/`actions` frame does). */
  setActions(items: readonly AgentAction[], revision?: number): void {
    if (revision !== undefined) {
      if (revision <= this.revision) return;
      this.revision = revision;
    }
    this.actionItems = items;
    this.placeActions(revision);
  }

  /** Place the action set last given (`actionItems`), loading the engine if an action needs it. */
  private placeActions(revision?: number): void {
    const wanted = this.wantedActions();
    const e = wanted.size > 0 ? this.engine() : this.eng;
    if (!e) {
      // Nothing to place, or the engine is on its way (it places them when it arrives) or did not load.
      if (wanted.size > 0 && this.engineProblem !== undefined) this.engineUnavailable(this.engineProblem);
      return;
    }
    // Enabling replays Debugger.scriptParsed for every loaded script, so locating works as if it had always been on.
    if (wanted.size > 0) e.v8.set(true);
    // One LiveEdit per script for all the removals and installs below.
    const before = this.actions.size;
    let kept = 0;
    e.probes.batched(() => {
      kept = this.applyActionSet(e, wanted);
    });
    if (this.log.enabled)
      this.log(
        `action set${revision === undefined ? '' : ` revision ${revision}`} applied: ${this.actions.size} actions, ` +
          `${before - kept} removed, ${this.actions.size - kept} added`,
      );
    this.debuggerIfNeeded();
    this.flushSoon();
  }

  /** Returns how many of the actions already running stay as they are. */
  private applyActionSet(e: Engine, wanted: ReadonlyMap<string, AgentAction>): number {
    for (const [id, rt] of this.actions) {
      if (!wanted.has(id) || JSON.stringify(wanted.get(id)) !== JSON.stringify(rt.action)) {
        e.probes.uninstall(rt);
        e.runtime.delete(rt);
        this.actions.delete(id);
      }
    }
    const kept = this.actions.size;
    for (const action of wanted.values()) {
      if (this.actions.has(action.id)) continue;
      let rt: ActionRuntime;
      try {
        rt = e.runtime.create(action);
      } catch (err) {
        this.outbox.status({
          actionId: action.id,
          state: 'error',
          reason: (err as Error).message.slice(0, 2048),
          at: Date.now(),
        });
        continue;
      }
      this.actions.set(action.id, rt);
      if (Date.now() >= action.expiresAt) {
        e.runtime.setState(rt, 'expired');
        continue;
      }
      if (!e.v8.isOn) {
        // Without V8's inspector no probe can be placed: say why instead of waiting for a script forever.
        e.runtime.setState(rt, 'error', e.v8.problem ?? 'the V8 inspector is not available');
        continue;
      }
      try {
        e.probes.install(rt);
      } catch (err) {
        e.runtime.setState(rt, 'error', `cannot install: ${(err as Error).message}`);
      }
    }
    return kept;
  }

  /**
   * Off once nothing has needed V8 for `debuggerLingerMs`: no action, no source request being answered, no patch
   * left to take out. Called on every action change and on the 1 s tick.
   */
  private debuggerIfNeeded(): void {
    const e = this.eng;
    if (!e) return;
    e.v8.offWhenUnneeded(() => this.actionNeedsV8() || this.sourceRequests !== 0 || e.probes.hasRetries());
    // Async stacks are recorded (when asked for) only while some snapshot may be taken; without recording, snapshots
    // still show the awaiting callers (see async-callers.ts).
    e.v8.asyncDepth(this.config.asyncStackRecording && this.snapshotMayPause() ? this.config.asyncStackDepth : 0);
  }

  private snapshotMayPause(): boolean {
    for (const rt of this.actions.values())
      if (
        rt.action.kind === 'snapshot' &&
        (rt.state === 'pending' || rt.state === 'active' || rt.state === 'throttled')
      )
        return true;
    return false;
  }

  /** An action waiting for its script or holding a probe; one in `error` (or ended) has nothing in V8. */
  private actionNeedsV8(): boolean {
    for (const rt of this.actions.values())
      if (rt.state === 'pending' || rt.state === 'active' || rt.state === 'throttled') return true;
    return false;
  }

  stats(): AgentStats {
    const runtime = this.eng?.runtime.stats;
    return {
      scripts: this.eng?.scripts.size ?? 0,
      actions: this.actions.size,
      hits: runtime?.hits ?? 0,
      hookErrors: runtime?.hookErrors ?? 0,
      throttles: runtime?.throttles ?? 0,
      cpuMs: Math.round((runtime?.cpuMs ?? 0) * 1000) / 1000,
      dropped: this.outbox.droppedTotal,
      connects: this.connection?.stats.connects ?? 0,
      snapshots: this.snapshots,
    };
  }

  /** Status of every action (what was last reported). */
  statuses(): ActionStatus[] {
    return [...this.actions.values()].map((rt) => this.statusOf(rt));
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  private hello(): HelloFrame {
    const c = this.config;
    return {
      type: 'hello',
      v: PROTOCOL_VERSION,
      instanceId: this.instanceId,
      service: {
        name: c.service,
        ...(c.serviceVersion ? { version: c.serviceVersion } : {}),
        ...(c.environment ? { environment: c.environment } : {}),
      },
      tags: c.tags,
      hostname: hostname().slice(0, 255),
      pid: process.pid,
      ...(isMainThread ? {} : { threadId }),
      runtime: { name: 'node', version: process.version },
      agentVersion: AGENT_VERSION,
      ...(this.session === undefined ? {} : { session: this.session }),
    };
  }

  /** The hub has not answered since the start and the cached policy is in force: say so, once. */
  private cachedPolicyNotice(): void {
    if (this.welcomedOnce || this.policy?.source !== 'cache') return;
    const { wire, savedAt } = this.policy;
    const saved = savedAt ? `, saved ${new Date(savedAt).toISOString()}` : '';
    this.notices.policy(
      `the hub has not answered yet: the cached policy of pool ${wire.pool} is in force ` +
        `(revision ${wire.revision}${saved}, from ${this.policyCache ?? ''})`,
    );
  }

  private onClose(code: number): void {
    if (code !== CLOSE_CODES.IDENTITY_REFUSED) return;
    // The hub does not take this agent for the instance it registered (its record was reset and claimed by another
    // connection): carry on as a new instance, which the next hello registers.
    this.instance = randomBytes(12).toString('hex');
    this.session = undefined;
    this.log(`the hub refused this agent's identity; reconnecting as instance ${this.instance}`);
  }

  private onFrame(frame: HubFrame): void {
    this.wake();
    switch (frame.type) {
      case 'welcome':
        this.log(
          `welcome: agent ${frame.agentId}, ${frame.actions.items.length} actions (revision ${frame.actions.revision})`,
        );
        this.settings = frame.settings;
        if (frame.session !== undefined) this.session = frame.session;
        this.welcomedOnce = true;
        // Before the actions of this frame: none of them runs a moment without the pool's rules.
        if (frame.policy !== undefined) this.onPolicy(frame.policy, true);
        this.connection?.welcome();
        this.welcomedSession = true;
        this.guard('notice', () => this.notices.welcomed(this.config.service, frame.pool));
        this.restartTimers();
        // A new session: the hub's revision counter may have restarted; resend every status.
        this.revision = -1;
        this.setActions(frame.actions.items, frame.actions.revision);
        for (const rt of this.actions.values()) this.queueStatus(rt);
        this.flush();
        this.heartbeat();
        break;
      case 'actions':
        this.setActions(frame.items, frame.revision);
        break;
      case 'policy':
        this.onPolicy({ pool: frame.pool, revision: frame.revision, policy: frame.policy }, false);
        break;
      case 'error':
        this.log(`hub error ${frame.code}: ${frame.message}`);
        break;
      case 'source_request': {
        const e = this.engine();
        if (!e && this.engineImport && this.engineProblem === undefined) {
          // Answered once the engine's import is done.
          void this.engineImport.then(() => this.guard('frame', () => this.onFrame(frame)));
          break;
        }
        // The catalogue comes from the scripts V8 reports, which needs the debugger on for a moment.
        e?.v8.set(true);
        if (!e?.v8.isOn) {
          this.connection?.send({
            type: 'source_response',
            v: PROTOCOL_VERSION,
            requestId: frame.requestId,
            error: {
              code: 'UNAVAILABLE',
              message: (e ? e.v8.problem : this.engineProblem) ?? 'the V8 inspector is not available',
            },
          });
          break;
        }
        this.sourceRequests++;
        e.sources
          .answer(frame)
          .then((response) => this.connection?.send(response))
          .catch((err: unknown) => this.log('source request failed', err))
          .finally(() => {
            this.sourceRequests--;
            this.guard('debugger', () => this.debuggerIfNeeded());
          });
        break;
      }
    }
  }

  private statusOf(rt: ActionRuntime): ActionStatus {
    const s: ActionStatus = { actionId: rt.action.id, state: rt.state, at: Date.now() };
    if (rt.method) s.method = rt.method;
    if (rt.reason) s.reason = rt.reason.slice(0, 2048);
    if (rt.location) s.location = rt.location;
    return s;
  }

  private queueStatus(rt: ActionRuntime): void {
    this.log(
      `action ${rt.action.id}: ${rt.state}${rt.method ? ` (${rt.method})` : ''}${rt.reason ? `: ${rt.reason}` : ''}`,
    );
    this.outbox.status(this.statusOf(rt));
    this.flushSoon();
    // Throttled or back: its breakpoint leaves V8 or comes back, out of the condition that may be running now.
    if (rt.method === 'breakpoint' && !this.breakpointSync) {
      this.breakpointSync = true;
      this.defer(() => {
        this.breakpointSync = false;
        this.eng?.probes.syncBreakpoints();
      });
    }
  }

  private pendingActions(): ActionRuntime[] {
    return [...this.actions.values()].filter((rt) => rt.state === 'pending');
  }

  /** Source maps are read a slice at a time so the host's event loop keeps running; pending actions then retry. */
  private readMapsThenRetry(nodeModules: boolean): void {
    const e = this.eng;
    if (this.mapRetryScheduled || !e) return;
    this.mapRetryScheduled = true;
    void e.scripts
      .readMaps(nodeModules)
      .catch((err: unknown) => this.log('reading source maps failed', err))
      .finally(() => {
        this.mapRetryScheduled = false;
        if (!this.stopped) this.guard('retry after source maps', () => e.probes.retry(this.pendingActions()));
      });
  }

  private onScriptParsed(p: Record<string, unknown>): void {
    const e = this.eng;
    if (!e) return;
    const info = e.scripts.add(p as Parameters<Engine['scripts']['add']>[0]);
    if (!info || this.retryScheduled) return;
    if (![...this.actions.values()].some((rt) => rt.state === 'pending')) return;
    // Scripts are reported while they compile: place probes once the current work is done.
    this.retryScheduled = true;
    this.defer(() => {
      this.retryScheduled = false;
      e.probes.retry(this.pendingActions());
    });
  }

  private onPaused(p: Record<string, unknown>): void {
    const e = this.eng;
    if (!e) return;
    const t0 = performance.now();
    const c0 = cpuTimeMs();
    // The snapshot actions whose clause asked for this pause (several may share the breakpoint of one line).
    const owners = e.runtime.takePauseRequests();
    const callers = e.runtime.takePauseCallers();
    try {
      for (const owner of owners) {
        if (!owner.enabled || !e.runtime.snapshotHit(owner)) continue;
        try {
          this.outbox.snapshot(e.snapshot(p, owner, callers));
          this.snapshots++;
        } catch (err) {
          this.log('snapshot failed', err);
          e.runtime.error(owner, err);
        }
      }
    } catch (err) {
      this.log('pause handler failed', err);
    } finally {
      // The capture creates no remote objects of its own (one callFunctionOn with an undefined result); the pause's
      // own objects are released by V8 on resume.
      try {
        e.inspector.post('Debugger.resume');
      } catch (err) {
        this.log('resume failed', err);
      }
      const spent = chargedMs(performance.now() - t0, cpuTimeMs() - c0);
      const share = spent / Math.max(1, owners.length);
      for (const owner of owners) e.runtime.chargeSnapshot(owner, share);
    }
    this.flushSoon();
  }

  /** The hub's intervals (at each welcome): the heartbeat always; the work timers if they run. */
  private restartTimers(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = this.every(this.settings.heartbeatIntervalMs, () => this.heartbeat());
    if (this.workTimers.length === 0) return;
    this.rest();
    this.wake();
  }

  /**
   * Start the work timers if they are not running: whatever gives the agent work (an action set, a frame of the hub,
   * a status to send) calls this; the tick stops them again once the agent is at rest. An idle agent so wakes its
   * host's thread only for the heartbeat, not twice a second (docs/agent.md, "At rest": what those wake-ups cost).
   */
  private wake(): void {
    if (this.stopped || this.workTimers.length > 0) return;
    this.log('at work: the tick and flush timers run');
    this.workTimers.push(
      this.every(1000, () => this.tick()),
      this.every(this.settings.flushIntervalMs, () => this.flush()),
      this.every(this.settings.metricIntervalMs, () => {
        for (const s of this.takeMetrics()) this.outbox.metric(s);
        this.flush();
      }),
    );
  }

  private rest(): void {
    for (const t of this.workTimers) clearInterval(t);
    this.workTimers = [];
  }

  /** Every second while at work: budgets, expiry, breakpoints of throttled actions, retries, V8 off when unneeded. */
  private tick(): void {
    const e = this.eng;
    if (e) {
      e.runtime.tick();
      e.probes.syncBreakpoints();
      if (e.probes.hasRetries()) e.probes.retry(this.pendingActions());
      this.debuggerIfNeeded();
    }
    if (!this.atRest()) return;
    this.rest();
    this.log('at rest: no timer but the heartbeat');
  }

  /**
   * Nothing for the work timers to do: no action (in any state), V8's Debugger domain off (it stays on for a linger
   * after the last action), no source request or patch retry under way, nothing waiting to be sent.
   */
  private atRest(): boolean {
    return (
      this.actions.size === 0 &&
      !(this.eng?.v8.isOn ?? false) &&
      this.sourceRequests === 0 &&
      !(this.eng?.probes.hasRetries() ?? false) &&
      this.outbox.size === 0 &&
      !this.outbox.hasStatuses
    );
  }

  /** The agent's health counters, for the hub to show (sent at each welcome and every heartbeat interval). */
  private heartbeat(): void {
    const s = this.stats();
    this.connection?.send({
      type: 'heartbeat',
      v: PROTOCOL_VERSION,
      at: Date.now(),
      stats: {
        hits: s.hits,
        hookErrors: s.hookErrors,
        throttles: s.throttles,
        cpuMs: s.cpuMs,
        dropped: s.dropped,
        actions: s.actions,
      },
    });
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(() => this.guard('timer', fn), ms);
    t.unref();
    return t;
  }

  /** Send statuses and hits while the hub is connected; otherwise they wait in the bounded buffers. */
  flush(): void {
    this.uplink.flush();
  }

  private flushSoon(): void {
    this.wake();
    this.uplink.flushSoon();
  }

  /**
   * Take out the probes of actions that finished (completed, expired, failed) once the current work is done, all in
   * one LiveEdit per script: a burst of actions failing at their first hit would otherwise stop the app once each.
   */
  private uninstallSoon(rt: ActionRuntime): void {
    this.finishedActions.add(rt);
    if (this.finishedActions.size > 1) return;
    this.defer(() => {
      const done = [...this.finishedActions];
      this.finishedActions.clear();
      const e = this.eng;
      e?.probes.batched(() => {
        for (const r of done) e.probes.uninstall(r);
      });
    });
  }

  private defer(fn: () => void): void {
    setImmediate(() => this.guard('deferred', fn)).unref();
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`${what} failed`, err);
    }
  }
}

let current: Agent | undefined;
/** A stopped agent left patched code in V8 (see `stop()`): the hook global must stay callable from then on. */
let strandedPatches = false;

/**
 * Start the agent once per thread (later calls return the running one). In a worker thread only when `workerThreads`
 * is on. Never throws.
 */
export function start(options: AgentOptions = {}): Agent | undefined {
  if (current) return current;
  try {
    const agent = new Agent(options);
    if (!isMainThread && !agent.config.workerThreads) {
      if (agent.config.debug)
        process.stderr.write(
          `[spyglass-agent] worker thread ${threadId}: not started (SPYGLASS_WORKER_THREADS is off)\n`,
        );
      return undefined;
    }
    current = agent.start();
    return current;
  } catch (err) {
    // Said even without the debug log: a misconfigured agent must not leave its user guessing why nothing shows up.
    try {
      process.stderr.write(`[spyglass-agent] not started: ${(err as Error).message}\n`);
    } catch {
      // stderr itself is unusable: the app runs on regardless.
    }
    current = undefined;
    return undefined;
  }
}

/** Stop the running agent, remove every probe and restore every patched script. */
export function stop(): void {
  current?.stop();
  current = undefined;
}
