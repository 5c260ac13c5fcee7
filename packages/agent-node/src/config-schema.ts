/**
 * The agent's settings as a zod schema: the reference for their rules, and the source of the `AgentOptions` and
 * `AgentConfig` types. The agent itself validates with the zod-free checker in config.ts, so that starting it loads no
 * schema library into the app; this module is for types, tools and tests.
 */
import { z } from 'zod';
import { WIRE_LIMITS } from '@spyglass/protocol/agent-base';
import { MAP_SLICE_MS } from './config.js';
import type { PipeLogger } from './pipe.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES, checkLinearPattern } from './redact.js';

/** Agent settings: defaults < environment (`SPYGLASS_*`) < `start()` options, validated once and frozen. */
export const agentOptionsSchema = z.object({
  /** Hub base URL (`http://…` or `ws://…`); the agent connects to `<url>/api/v1/agents/connect`. */
  url: z.string().url().optional(),
  /** Pool registration key. */
  key: z.string().min(1).optional(),
  service: z.string().trim().min(1).max(255).default('node-service'),
  serviceVersion: z.string().max(255).optional(),
  environment: z.string().max(255).optional(),
  tags: z
    .record(z.string().min(1).max(63), z.string().max(255))
    .refine((t) => Object.keys(t).length <= WIRE_LIMITS.maxTagsPerAgent, {
      message: `at most ${WIRE_LIMITS.maxTagsPerAgent} tags (SPYGLASS_TAGS)`,
    })
    .default({}),
  debug: z.boolean().default(false),
  /** No line of the agent's own on stderr (`spyglass: connected to …`, a refused key, an unreachable hub). */
  quiet: z.boolean().default(false),
  /**
   * Start an agent in worker threads too. Off by default: a preload (`--import`/`-r`) is inherited by every worker,
   * and a pool of short-lived workers would each open a hub connection.
   */
  workerThreads: z.boolean().default(false),
  /** Share of one CPU the agent may use over all actions (percent), and per action. */
  cpuBudgetPct: z.number().positive().max(100).default(5),
  actionCpuBudgetPct: z.number().positive().max(100).default(2),
  /** Log lines per second per action and for the whole agent; bytes per second of log text. */
  maxLogsPerSecondPerAction: z.number().int().positive().default(100),
  maxLogsPerSecond: z.number().int().positive().default(1000),
  maxLogBytesPerSecond: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Buffered hits kept while the hub is away (oldest dropped first). */
  maxBufferedLogs: z.number().int().positive().default(10_000),
  maxBufferedSnapshots: z.number().int().positive().default(100),
  maxBufferedMetrics: z.number().int().positive().default(10_000),
  /** Bytes of log text and snapshots kept while the hub is away (oldest logs, then snapshots, dropped first). */
  maxBufferedBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Redaction: name fragments and value patterns (linear-time regular expressions only). */
  redactNames: z.array(z.string().min(1)).default([...DEFAULT_REDACT_NAMES]),
  redactValues: z
    .array(
      z.string().superRefine((p, ctx) => {
        try {
          checkLinearPattern(p);
          new RegExp(p);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    )
    .default([...DEFAULT_REDACT_VALUES]),
  /** How log actions with `pipe: true` are written to stdout: `[spyglass] INFO message`, or one JSON object a line. */
  pipeFormat: z.enum(['text', 'json']).default('text'),
  /** Receives piped log lines instead of stdout (`start()` only): route them into the app's own logger. */
  logger: z.custom<PipeLogger>((v) => typeof v === 'function', 'must be a function (entry) => void').optional(),
  /** Files the agent never instruments (path fragments, e.g. `/secrets/`, `auth.ts`). */
  blocklist: z.array(z.string().min(1)).default([]),
  /**
   * Directories source browsing may read original sources from (files a source map names without embedding their
   * text). Default: the app's root, the nearest directory with a package.json above the main script (else the
   * working directory). A map naming a file elsewhere (`/etc/passwd`) shows nothing.
   */
  sourceRoots: z.array(z.string().min(1)).optional(),
  /**
   * Async callers a snapshot shows (levels of V8's async stack trace: each `await` that led to the line, and with
   * `asyncStackRecording` also `.then` callbacks, timers and events); 0 shows none.
   */
  asyncStackDepth: z.number().int().min(0).max(32).default(8),
  /**
   * Have V8 record async stacks while a snapshot action exists (`Debugger.setAsyncCallStackDepth`): callbacks and
   * timers join the awaits. Off by default: recording made each `await` of the app about ten times slower (measured).
   */
  asyncStackRecording: z.boolean().default(false),
  /** Force one probe method (for benchmarks and diagnosis); default chooses per action. */
  probeMethod: z.enum(['auto', 'patch', 'breakpoint']).default('auto'),
  /**
   * Longest stretch (ms) spent reading source maps in one go; the rest is read in later slices so the app's event loop
   * keeps running (a large app can have thousands of maps). At least one map is read per slice.
   */
  mapSliceMs: z.number().nonnegative().max(1000).default(MAP_SLICE_MS),
  /**
   * Source maps of 512 KB or more are read and indexed in a worker thread (started for them only, stopped a second
   * after), not on the app's: a 20 MB map takes about a second to decode. Off: every map is read on the app's thread
   * in slices (a single large map is still one stall).
   */
  mapWorker: z.boolean().default(true),
  /**
   * How long V8's Debugger domain stays on after the last action goes. Turning it on again makes V8 report every
   * script (about 110 ms of the app's thread at 2,000 modules), so quick remove/add cycles should not pay it each time.
   */
  debuggerLingerMs: z.number().int().nonnegative().default(60_000),
  /**
   * Scripts with more functions (arrows and methods included) than this get breakpoints instead of patches: V8's
   * LiveEdit stops the app for a time that grows with the square of the function count (about 55 ms at 2,000).
   */
  patchMaxFunctions: z.number().int().nonnegative().default(2000),
  /** First wait before a blocked patch is retried (doubling up to 5 min, given up after 10 tries). */
  patchRetryMs: z.number().int().positive().default(1000),
  /**
   * Where the last pool policy from the hub is kept, for starts while the hub is unreachable: a file path, or `off`.
   * Default: `<OS temp dir>/spyglass/policy-<service>-<key digest>.json`. Written atomically; a path that cannot be
   * written only costs the cache.
   */
  policyCache: z.string().min(1).optional(),
  /** Reconnect backoff bounds. */
  reconnectMinMs: z.number().int().positive().default(1000),
  reconnectMaxMs: z.number().int().positive().default(60_000),
});
export type AgentOptions = z.input<typeof agentOptionsSchema>;
export type AgentConfig = Readonly<z.output<typeof agentOptionsSchema>>;
