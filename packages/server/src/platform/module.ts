import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { HubContext } from '../http/context.js';
import type { OperationContract } from '@spyglass/protocol';
import type { OperationHandler, OperationRegistry } from './operations.js';
import type { FrameRouter } from './frames.js';
import type { StreamHub } from '../stream/stream.js';
import type { Scheduler } from './scheduler.js';
import type { ToolDefinition, ToolRegistry } from './tools.js';

/** How a config section's environment variable is read. */
export type EnvParse = 'int' | 'bool' | 'string';

/**
 * A module's part of the hub configuration: a key of the config file (`live:`), its zod schema (with defaults), and
 * the `SPYGLASS_*` variables that set its keys. The hub's config schema is composed from every module's section.
 */
export interface ConfigSection<S extends z.ZodType = z.ZodType> {
  readonly key: string;
  readonly schema: S;
  readonly env: readonly { env: string; key: string; parse: EnvParse }[];
}

/** What the hub hands a module while it registers. Everything is shared; nothing in it is global. */
export interface ModuleContext<C = unknown> {
  readonly app: FastifyInstance;
  readonly hub: HubContext;
  /** This module's config section, validated (defaults applied), frozen. */
  readonly config: C;
  /** Tuning passed to `buildApp` for this module by name (`deps.modules[name]`; tests shorten timers with it). */
  readonly options: unknown;
  /** This replica's id (stable for the process's life). */
  readonly replicaId: string;
  readonly log: Logger;
  /** Binds a handler to an operation contract; REST routes (and MCP tools) are generated from the bindings. */
  operation<K extends OperationContract>(contract: K, handler: OperationHandler<K>): void;
  readonly operations: OperationRegistry;
  /**
   * Adds a tool for MCP clients and the assistant (its toolset, effect, arguments and the operations it calls); the
   * MCP server lists it to callers whose role allows those operations.
   */
  tool<S extends z.ZodObject>(tool: ToolDefinition<S>): void;
  readonly tools: ToolRegistry;
  /** Agent WebSocket frames: `frames.on(type, parse, handler)`; any number of modules may listen to one type. */
  readonly frames: FrameRouter;
  /** The client live stream (`/api/v1/stream`): modules add channels that clients subscribe to with a filter. */
  readonly stream: StreamHub;
  /**
   * Periodic jobs on one shared timer: `jobs.add({ name, everyMs, run })`, single-flight per job, failures logged and
   * counted; `singleton: true` runs a job on exactly one replica at a time, under a lease.
   */
  readonly jobs: Scheduler;
  /** Runs `fn` when the hub closes, before the database and bus close (in reverse order of registration). */
  onClose(fn: () => Promise<void> | void): void;
}

/**
 * A feature of the hub (live debugging, traces, trace-based tests, Kubernetes tracing, the assistant): one folder that
 * registers its operations, frame handlers, bus topics, stream channels, jobs and config section here. Adding a module
 * is adding it to `src/modules.ts`; nothing else outside its folder changes.
 */
export interface HubModule<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly config?: ConfigSection<S>;
  register(ctx: ModuleContext<z.output<S>>): Promise<void> | void;
}

/** Declares a module (types its config from its section's schema). */
export function defineModule<S extends z.ZodType>(module: HubModule<S>): HubModule<S> {
  return module;
}
