import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  PROTOCOL_VERSION,
  WIRE_LIMITS,
  type ActionStatus,
  type AgentAction,
  type AgentSettings,
  type HelloFrame,
  type HubFrame,
} from '@spyglass/protocol';
import { loadConfig, type AgentConfig, type AgentOptions } from './config.js';
import { Connection } from './connection.js';
import { createDebugLog, type DebugLog } from './debug-log.js';
import { InspectorSession } from './inspector.js';
import { ScriptRegistry } from './locate.js';
import { Outbox } from './outbox.js';
import { Probes } from './probes.js';
import { Redactor } from './redact.js';
import { SourceCatalog } from './sources.js';
import { HOOK, Runtime, type ActionRuntime, type Hooks } from './runtime.js';
import { captureSnapshot, grabSlot } from './snapshot.js';
import { activeTraceIds, refreshOtelApi } from './otel.js';

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
  readonly instanceId = randomBytes(12).toString('hex');
  private readonly log: DebugLog;
  private readonly inspector = new InspectorSession();
  private readonly scripts: ScriptRegistry;
  private readonly redactor: Redactor;
  private readonly runtime: Runtime;
  private readonly probes: Probes;
  private readonly outbox: Outbox;
  private readonly sources: SourceCatalog;
  private connection: Connection | undefined;
  private readonly actions = new Map<string, ActionRuntime>();
  private revision = -1;
  private settings: AgentSettings = DEFAULT_SETTINGS;
  private timers: NodeJS.Timeout[] = [];
  private retryScheduled = false;
  private snapshots = 0;
  private stopped = false;
  /** The Debugger domain costs the host measurable CPU while enabled, so it is on only while actions need it. */
  private debuggerOn = false;
  private readonly pipeOut: (line: string) => void;

  constructor(options: AgentOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.config = loadConfig(env, options);
    this.log = createDebugLog(this.config.debug);
    this.redactor = new Redactor({ names: this.config.redactNames, values: this.config.redactValues });
    this.scripts = new ScriptRegistry(
      (path) => path.startsWith(AGENT_DIR) || this.config.blocklist.some((b) => path.includes(b)),
    );
    this.outbox = new Outbox({
      maxLogs: this.config.maxBufferedLogs,
      maxSnapshots: this.config.maxBufferedSnapshots,
      maxMetrics: this.config.maxBufferedMetrics,
    });
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    this.pipeOut = (line) => {
      try {
        stdoutWrite(line);
      } catch {
        // Piping is best effort.
      }
    };
    this.runtime = new Runtime(this.config, this.redactor, {
      log: (hit) => this.outbox.log(hit),
      status: (rt) => this.queueStatus(rt),
      finished: (rt) => this.defer(() => this.probes.uninstall(rt)),
      traceIds: activeTraceIds,
      pipe: this.pipeOut,
    });
    this.probes = new Probes(this.inspector, this.scripts, this.runtime, this.config, this.log);
    this.sources = new SourceCatalog(this.scripts, this.redactor, {
      blocked: (path) => this.config.blocklist.some((b) => path.includes(b)),
    });
  }

  /** Attach the inspector, install the hook global, connect to the hub. */
  start(): this {
    const hooks: Hooks & { g(v: unknown): void } = Object.freeze({
      ...this.runtime.hooks(),
      g: (v: unknown) => {
        grabSlot.value = v;
      },
    });
    Object.defineProperty(globalThis, HOOK, { value: hooks, configurable: true, enumerable: false, writable: false });
    this.inspector.connect();
    this.inspector.on('Debugger.scriptParsed', (p) => this.guard('scriptParsed', () => this.onScriptParsed(p)));
    this.inspector.on('Debugger.paused', (p) => this.onPaused(p));
    this.log('inspector attached; debugger off until an action arrives');
    refreshOtelApi();
    this.every(1000, () => {
      refreshOtelApi();
      this.runtime.tick();
      if (this.probes.hasRetries()) this.probes.retry(this.pendingActions());
    });
    this.restartTimers();
    if (this.config.url) {
      this.connection = new Connection({
        url: this.config.url,
        key: this.config.key,
        minDelayMs: this.config.reconnectMinMs,
        maxDelayMs: this.config.reconnectMaxMs,
        maxFrameBytes: WIRE_LIMITS.maxFrameBytes,
        log: this.log,
        hello: () => this.hello(),
        onFrame: (f) => this.guard('frame', () => this.onFrame(f)),
        onOpen: () => undefined,
        onClose: () => undefined,
      });
      this.connection.start();
    } else this.log('no SPYGLASS_URL: running without a hub');
    return this;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.guard('stop', () => {
      for (const rt of this.actions.values()) {
        this.probes.uninstall(rt);
        this.runtime.delete(rt);
      }
      this.actions.clear();
      this.flush();
    });
    this.connection?.stop();
    this.inspector.disconnect();
    Reflect.deleteProperty(globalThis, HOOK);
  }

  /** Apply an action set directly (what a `welcome`/`actions` frame does). */
  setActions(items: readonly AgentAction[], revision?: number): void {
    if (revision !== undefined) {
      if (revision <= this.revision) return;
      this.revision = revision;
    }
    const wanted = new Map(items.map((a) => [a.id, a]));
    // Enabling replays Debugger.scriptParsed for every loaded script, so locating works as if it had always been on.
    if (wanted.size > 0) this.setDebugger(true);
    for (const [id, rt] of this.actions) {
      if (!wanted.has(id) || JSON.stringify(wanted.get(id)) !== JSON.stringify(rt.action)) {
        this.probes.uninstall(rt);
        this.runtime.delete(rt);
        this.actions.delete(id);
      }
    }
    for (const action of wanted.values()) {
      if (this.actions.has(action.id)) continue;
      let rt: ActionRuntime;
      try {
        rt = this.runtime.create(action);
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
        this.runtime.setState(rt, 'expired');
        continue;
      }
      try {
        this.probes.install(rt);
      } catch (err) {
        this.runtime.setState(rt, 'error', `cannot install: ${(err as Error).message}`);
      }
    }
    if (this.actions.size === 0) this.setDebugger(false);
    this.flushSoon();
  }

  /** Turns V8's Debugger domain on or off (off: no probes can exist, and the host runs at full speed). */
  private setDebugger(on: boolean): void {
    if (on === this.debuggerOn || this.stopped) return;
    try {
      this.inspector.post(on ? 'Debugger.enable' : 'Debugger.disable', on ? { maxScriptsCacheSize: 0 } : {});
      this.debuggerOn = on;
      this.log(`debugger ${on ? 'on' : 'off'}; ${this.scripts.size} scripts known`);
    } catch (err) {
      this.log(`cannot turn the debugger ${on ? 'on' : 'off'}`, err);
    }
  }

  stats(): AgentStats {
    return {
      scripts: this.scripts.size,
      actions: this.actions.size,
      hits: this.runtime.stats.hits,
      hookErrors: this.runtime.stats.hookErrors,
      throttles: this.runtime.stats.throttles,
      cpuMs: Math.round(this.runtime.stats.cpuMs * 1000) / 1000,
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
      runtime: { name: 'node', version: process.version },
      agentVersion: AGENT_VERSION,
    };
  }

  private onFrame(frame: HubFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.log(
          `welcome: agent ${frame.agentId}, ${frame.actions.items.length} actions (revision ${frame.actions.revision})`,
        );
        this.settings = frame.settings;
        this.connection?.welcome();
        this.restartTimers();
        // A new session: the hub's revision counter may have restarted; resend every status.
        this.revision = -1;
        this.setActions(frame.actions.items, frame.actions.revision);
        for (const rt of this.actions.values()) this.queueStatus(rt);
        this.flush();
        break;
      case 'actions':
        this.setActions(frame.items, frame.revision);
        break;
      case 'error':
        this.log(`hub error ${frame.code}: ${frame.message}`);
        break;
      case 'source_request':
        // The catalogue comes from the scripts V8 reports, which needs the debugger on for a moment.
        this.setDebugger(true);
        this.sources
          .answer(frame)
          .then((response) => this.connection?.send(response))
          .catch((err: unknown) => this.log('source request failed', err))
          .finally(() => {
            if (this.actions.size === 0) this.setDebugger(false);
          });
        break;
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
  }

  private pendingActions(): ActionRuntime[] {
    return [...this.actions.values()].filter((rt) => rt.state === 'pending');
  }

  private onScriptParsed(p: Record<string, unknown>): void {
    const info = this.scripts.add(p as { scriptId: string; url: string; isModule?: boolean; sourceMapURL?: string });
    if (!info || this.retryScheduled) return;
    if (![...this.actions.values()].some((rt) => rt.state === 'pending')) return;
    // Scripts are reported while they compile: place probes once the current work is done.
    this.retryScheduled = true;
    this.defer(() => {
      this.retryScheduled = false;
      this.probes.retry(this.pendingActions());
    });
  }

  private onPaused(p: Record<string, unknown>): void {
    const t0 = performance.now();
    let owner: ActionRuntime | undefined;
    try {
      const ids = (p.hitBreakpoints as string[] | undefined) ?? [];
      for (const id of ids) {
        const rt = this.probes.ownerOf(id);
        if (rt?.action.kind === 'snapshot' && rt.enabled) {
          owner = rt;
          break;
        }
      }
      if (owner && this.runtime.snapshotHit(owner)) {
        const hit = captureSnapshot(
          this.inspector,
          p.callFrames as Parameters<typeof captureSnapshot>[1],
          owner,
          this.scripts,
          this.redactor,
        );
        const ids2 = activeTraceIds();
        if (ids2?.traceId) hit.traceId = ids2.traceId;
        if (ids2?.spanId) hit.spanId = ids2.spanId;
        this.outbox.snapshot(hit);
        this.snapshots++;
      }
    } catch (err) {
      this.log('snapshot failed', err);
      if (owner) this.runtime.error(owner, err);
    } finally {
      // The capture creates no remote objects of its own (one callFunctionOn with an undefined result); the pause's
      // own objects are released by V8 on resume.
      try {
        this.inspector.post('Debugger.resume');
      } catch (err) {
        this.log('resume failed', err);
      }
      if (owner) this.runtime.chargeSnapshot(owner, performance.now() - t0);
    }
    this.flushSoon();
  }

  private restartTimers(): void {
    for (const t of this.timers.splice(1)) clearInterval(t);
    this.every(this.settings.flushIntervalMs, () => this.flush());
    this.every(this.settings.metricIntervalMs, () => {
      for (const s of this.runtime.takeMetrics(Date.now())) this.outbox.metric(s);
      this.flush();
    });
    this.every(this.settings.heartbeatIntervalMs, () => {
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
    });
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => this.guard('timer', fn), ms);
    t.unref();
    this.timers.push(t);
  }

  private flushTimer: NodeJS.Timeout | undefined;
  private flushSoon(): void {
    if (this.flushTimer || !this.connection?.isOpen) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.guard('flush', () => this.flush());
    }, 20);
    this.flushTimer.unref();
  }

  /** Send statuses and hits while the hub is connected; otherwise they wait in the bounded buffers. */
  flush(): void {
    const c = this.connection;
    if (!c?.isOpen) return;
    for (;;) {
      const statuses = this.outbox.takeStatuses(WIRE_LIMITS.maxStatuses);
      if (statuses.length === 0) break;
      c.send({ type: 'action_status', v: PROTOCOL_VERSION, statuses });
    }
    const maxItems = Math.min(this.settings.maxBatchItems, WIRE_LIMITS.maxBatchItems);
    const maxBytes = Math.min(this.settings.maxFrameBytes, WIRE_LIMITS.maxFrameBytes);
    for (let i = 0; i < 100 && c.buffered < 8 * maxBytes; i++) {
      const frame = this.outbox.takeFrame(maxItems, maxBytes);
      if (!frame) break;
      c.send(frame);
    }
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

/** Start the agent once per process (later calls return the running one). Never throws. */
export function start(options: AgentOptions = {}): Agent | undefined {
  if (current) return current;
  try {
    current = new Agent(options).start();
    return current;
  } catch (err) {
    const debug = process.env.SPYGLASS_AGENT_DEBUG;
    if (debug && debug !== '0' && debug !== 'false')
      process.stderr.write(`[spyglass-agent] not started: ${(err as Error).message}\n`);
    current = undefined;
    return undefined;
  }
}

/** Stop the running agent, remove every probe and restore every patched script. */
export function stop(): void {
  current?.stop();
  current = undefined;
}
