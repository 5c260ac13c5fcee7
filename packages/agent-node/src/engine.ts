/**
 * The action engine: everything that places probes and captures what they see (the inspector session, the script
 * registry and its source maps, the probes, the snapshot capture, the source catalogue). An idle agent never loads
 * this module; the agent loads it with its first action or source request (see `engine-load.ts`, ADR 0018).
 */
import type { LogHit, SnapshotHit } from '@spyglass/protocol/agent-base';
import type { ActionRuntime } from './action-runtime.js';
import type { AgentConfig } from './config.js';
import type { DebugLog } from './debug-log.js';
import { InspectorSession } from './inspector.js';
import { ScriptRegistry } from './locate.js';
import { MapIndexer } from './map-indexer.js';
import { activeTraceIds } from './otel.js';
import { SourcePaths, appRootSync } from './paths.js';
import type { PipedLog } from './pipe.js';
import { Probes } from './probes.js';
import type { Redactor } from './redact.js';
import { Runtime } from './runtime.js';
import { captureSnapshot, type AsyncStackTrace } from './snapshot.js';
import { SourceCatalog } from './sources.js';
import { V8Debugger } from './v8-debugger.js';

/** What the engine needs of the agent that loads it. */
export interface EngineHost {
  config: AgentConfig;
  redactor: Redactor;
  log: DebugLog;
  /** The agent's own directory: its files are never instrumented. */
  agentDir: string;
  /** The blocklist in force. */
  isBlocked(path: string): boolean;
  /** Function-valued (not methods): handed to the runtime as they are, no wrapper on the hit path. */
  readonly pipe: (entry: PipedLog) => void;
  readonly logHit: (hit: LogHit) => void;
  status(rt: ActionRuntime): void;
  finished(rt: ActionRuntime): void;
  /** Pending actions wait for source maps to be read, then retry. */
  readMapsThenRetry(nodeModules: boolean): void;
  stopped(): boolean;
}

export class Engine {
  readonly inspector = new InspectorSession();
  readonly paths: SourcePaths;
  /** Indexes large source maps in a worker thread (started only when one is read). */
  readonly mapIndexer: MapIndexer;
  readonly scripts: ScriptRegistry;
  readonly runtime: Runtime;
  readonly probes: Probes;
  /** On only while actions (or source requests) need it. */
  readonly v8: V8Debugger;
  readonly sources: SourceCatalog;
  private readonly host: EngineHost;

  constructor(host: EngineHost) {
    this.host = host;
    const { config, log } = host;
    const mainScript = process.argv[1];
    // One name per source file in everything reported: relative to the app's root (or the first source root).
    this.paths = new SourcePaths(() => config.sourceRoots?.[0] ?? appRootSync(mainScript, process.cwd()));
    this.mapIndexer = new MapIndexer((msg, err) => log(msg, err));
    this.scripts = new ScriptRegistry((path) => path.startsWith(host.agentDir) || host.isBlocked(path), {
      mapSliceMs: config.mapSliceMs,
      ...(config.mapWorker ? { indexer: this.mapIndexer } : {}),
      name: (file) => this.paths.name(file),
    });
    this.runtime = new Runtime(config, host.redactor, {
      log: host.logHit,
      status: (rt) => host.status(rt),
      finished: (rt) => host.finished(rt),
      traceIds: activeTraceIds,
      pipe: host.pipe,
      pausable: () => this.v8.isOn,
    });
    this.probes = new Probes(this.inspector, this.scripts, this.runtime, config, log, (nodeModules) =>
      host.readMapsThenRetry(nodeModules),
    );
    this.v8 = new V8Debugger(
      this.inspector,
      this.scripts,
      log,
      config.debuggerLingerMs,
      (ids) => this.probes.forget(ids),
      () => host.stopped(),
    );
    this.sources = new SourceCatalog(this.scripts, host.redactor, {
      blocked: (path) => host.isBlocked(path),
      ...(config.sourceRoots === undefined ? {} : { roots: config.sourceRoots }),
      main: mainScript,
      paths: this.paths,
    });
  }

  /** The settings in force changed (a pool policy): budgets, limits and the blocklist of what runs and is placed. */
  reconfigure(config: AgentConfig): void {
    this.runtime.reconfigure(config);
    this.probes.reconfigure(config);
  }

  /** One snapshot of the paused frames for `owner` (the trace it runs in attached). */
  snapshot(
    pause: Record<string, unknown>,
    owner: ActionRuntime,
    callers: ReturnType<Runtime['takePauseCallers']>,
  ): SnapshotHit {
    const hit = captureSnapshot(
      this.inspector,
      pause.callFrames as Parameters<typeof captureSnapshot>[1],
      owner,
      this.scripts,
      this.host.redactor,
      {
        asyncStackTrace: pause.asyncStackTrace as AsyncStackTrace | undefined,
        asyncDepth: this.host.config.asyncStackDepth,
        callers,
        originalColumn: (id, line, column) => this.probes.originalColumn(id, line, column),
      },
    );
    const ids = activeTraceIds();
    if (ids?.traceId) hit.traceId = ids.traceId;
    if (ids?.spanId) hit.spanId = ids.spanId;
    return hit;
  }
}
