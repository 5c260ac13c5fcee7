import { WIRE_LIMITS } from '@spyglass/protocol/agent-base';
import type { AgentConfig, AgentOptions } from './config-schema.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES, checkLinearPattern } from './redact.js';

/**
 * Agent settings: defaults < environment (`SPYGLASS_*`) < `start()` options, validated once and frozen. The rules are
 * those of `agentOptionsSchema` (config-schema.ts), checked here by hand so that the agent loads no schema library
 * into the app it runs in (a schema library's objects enlarge the app's heap, and every garbage collection walks them).
 * config.property.test.ts holds the two to the same answers.
 */
export type { AgentConfig, AgentOptions };

/**
 * Longest stretch the agent spends reading source maps in one go. Reading every map of a large app at once (first
 * action on a TypeScript path, or a source listing) would stall the host's event loop for as long as that takes.
 */
export const MAP_SLICE_MS = 8;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Problems found so far, each `path: message`. */
type Problems = string[];

/** Checks one value: returns it (normalised where the rule says so) or adds what is wrong with it to `problems`. */
type Check = (value: unknown, at: string, problems: Problems) => unknown;

/** A setting's rule and, for settings that have one, its default (a fresh copy each time). */
interface Setting {
  check: Check;
  fallback?: () => unknown;
}

const problem = (problems: Problems, at: string, message: string): undefined => {
  problems.push(`${at}: ${message}`);
  return undefined;
};

/** Length in Unicode code points (a surrogate pair counts once, as in the schema's length rules). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

const lengthWithin = (s: string, min: number, max: number): boolean => {
  // A code point is one or two UTF-16 units, so most strings are decided by their unit count alone.
  if (s.length < min || s.length > 2 * max) return false;
  if (s.length >= 2 * min && s.length <= max) return true;
  const n = codePoints(s);
  return n >= min && n <= max;
};

function text(rule: { min?: number; max?: number; trim?: boolean }, message: string): Check {
  return (value, at, problems) => {
    if (typeof value !== 'string') return problem(problems, at, message);
    const v = rule.trim ? value.trim() : value;
    if (!lengthWithin(v, rule.min ?? 0, rule.max ?? Infinity)) return problem(problems, at, message);
    return v;
  };
}

/** A URL the WHATWG parser accepts once trimmed; the value kept is trimmed and without tabs and line breaks. */
const url: Check = (value, at, problems) => {
  const v = typeof value === 'string' ? value.trim() : undefined;
  if (v === undefined || !URL.canParse(v)) return problem(problems, at, 'must be a URL such as http://hub:8080');
  return v.replace(/[\t\n\r]/g, '');
};

/** A finite number; `integer` means a safe integer. `above` is exclusive, `min` and `max` inclusive. */
function number(rule: { integer?: boolean; above?: number; min?: number; max?: number }): Check {
  const bounds = [
    rule.above !== undefined ? `> ${rule.above}` : undefined,
    rule.min !== undefined ? `≥ ${rule.min}` : undefined,
    rule.max !== undefined ? `≤ ${rule.max}` : undefined,
  ].filter((b) => b !== undefined);
  const kind = rule.integer ? 'whole number' : 'number';
  const message = `must be a ${kind}${bounds.length > 0 ? ' ' + bounds.join(' and ') : ''}`;
  return (value, at, problems) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return problem(problems, at, message);
    if (rule.integer && !Number.isInteger(value)) return problem(problems, at, message);
    if (rule.integer && !Number.isSafeInteger(value)) {
      return problem(problems, at, `${message} (at most ${Number.MAX_SAFE_INTEGER})`);
    }
    if (rule.above !== undefined && !(value > rule.above)) return problem(problems, at, message);
    if (rule.min !== undefined && !(value >= rule.min)) return problem(problems, at, message);
    if (rule.max !== undefined && !(value <= rule.max)) return problem(problems, at, message);
    return value;
  };
}

const count = number({ integer: true, above: 0 });

const bool: Check = (value, at, problems) =>
  typeof value === 'boolean' ? value : problem(problems, at, 'must be true or false');

function oneOf(values: readonly string[]): Check {
  return (value, at, problems) =>
    values.includes(value as string) ? value : problem(problems, at, `must be one of ${values.join(', ')}`);
}

/** A list; each element is checked at `<path>.<index>`. */
function listOf(element: Check): Check {
  return (value, at, problems) => {
    if (!Array.isArray(value)) return problem(problems, at, 'must be a list of strings');
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = element(value[i], `${at}.${i}`, problems);
    return out;
  };
}

const nonEmpty = text({ min: 1 }, 'must be a non-empty string');

/** A redaction pattern: a regular expression that runs in linear time. */
const pattern: Check = (value, at, problems) => {
  if (typeof value !== 'string') return problem(problems, at, 'must be a string (a regular expression)');
  try {
    checkLinearPattern(value);
    new RegExp(value);
  } catch (err) {
    return problem(problems, at, (err as Error).message);
  }
  return value;
};

/** A plain object, as records of the schema require: `{}` or `Object.create(null)`, not an array or a date. */
function isPlainObject(o: unknown): o is Record<PropertyKey, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  const ctor: unknown = (o as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto: unknown = (ctor as { prototype?: unknown }).prototype;
  if (typeof proto !== 'object' || proto === null || Array.isArray(proto)) return false;
  return Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf');
}

/**
 * Tags: names of 1 to 63 characters, values of at most 255, at most `WIRE_LIMITS.maxTagsPerAgent` of them (counted
 * when every name is valid and every value a string). Own enumerable keys are read; `__proto__` is skipped.
 */
const tags: Check = (value, at, problems) => {
  if (!isPlainObject(value)) return problem(problems, at, 'must be an object of tag names to string values');
  const out: Record<string, string> = {};
  const before = problems.length;
  let counted = true;
  for (const name of Reflect.ownKeys(value)) {
    if (name === '__proto__' || !Object.prototype.propertyIsEnumerable.call(value, name)) continue;
    const where = `${at}.${String(name)}`;
    if (typeof name !== 'string' || !lengthWithin(name, 1, 63)) {
      problem(problems, where, 'tag names must be strings of 1 to 63 characters');
      counted = false;
      continue;
    }
    const v = value[name];
    if (typeof v !== 'string') counted = false;
    if (typeof v !== 'string' || !lengthWithin(v, 0, 255)) {
      problem(problems, where, 'tag values must be strings of at most 255 characters');
      continue;
    }
    out[name] = v;
  }
  if (counted && Object.keys(out).length > WIRE_LIMITS.maxTagsPerAgent) {
    problem(problems, at, `at most ${WIRE_LIMITS.maxTagsPerAgent} tags (SPYGLASS_TAGS)`);
  }
  return problems.length === before ? out : undefined;
};

const fn: Check = (value, at, problems) =>
  typeof value === 'function' ? value : problem(problems, at, 'must be a function (entry) => void');

const optional = (check: Check): Setting => ({ check });
const defaulted = (check: Check, fallback: () => unknown): Setting => ({ check, fallback });

/** Every setting, in the order of the schema (problems are listed in this order). */
const SETTINGS: { readonly [K in keyof AgentOptions]-?: Setting } = {
  url: optional(url),
  key: optional(nonEmpty),
  service: defaulted(
    text(
      { min: 1, max: 255, trim: true },
      'must be a non-empty string of at most 255 characters (spaces around it not counted)',
    ),
    () => 'node-service',
  ),
  serviceVersion: optional(text({ max: 255 }, 'must be a string of at most 255 characters')),
  environment: optional(text({ max: 255 }, 'must be a string of at most 255 characters')),
  tags: defaulted(tags, () => ({})),
  debug: defaulted(bool, () => false),
  quiet: defaulted(bool, () => false),
  workerThreads: defaulted(bool, () => false),
  cpuBudgetPct: defaulted(number({ above: 0, max: 100 }), () => 5),
  actionCpuBudgetPct: defaulted(number({ above: 0, max: 100 }), () => 2),
  maxLogsPerSecondPerAction: defaulted(count, () => 100),
  maxLogsPerSecond: defaulted(count, () => 1000),
  maxLogBytesPerSecond: defaulted(count, () => 1024 * 1024),
  maxBufferedLogs: defaulted(count, () => 10_000),
  maxBufferedSnapshots: defaulted(count, () => 100),
  maxBufferedMetrics: defaulted(count, () => 10_000),
  maxBufferedBytes: defaulted(count, () => 16 * 1024 * 1024),
  redactNames: defaulted(listOf(nonEmpty), () => [...DEFAULT_REDACT_NAMES]),
  redactValues: defaulted(listOf(pattern), () => [...DEFAULT_REDACT_VALUES]),
  pipeFormat: defaulted(oneOf(['text', 'json']), () => 'text'),
  logger: optional(fn),
  blocklist: defaulted(listOf(nonEmpty), () => []),
  sourceRoots: optional(listOf(nonEmpty)),
  asyncStackDepth: defaulted(number({ integer: true, min: 0, max: 32 }), () => 8),
  asyncStackRecording: defaulted(bool, () => false),
  probeMethod: defaulted(oneOf(['auto', 'patch', 'breakpoint']), () => 'auto'),
  mapSliceMs: defaulted(number({ min: 0, max: 1000 }), () => MAP_SLICE_MS),
  mapWorker: defaulted(bool, () => true),
  debuggerLingerMs: defaulted(number({ integer: true, min: 0 }), () => 60_000),
  patchMaxFunctions: defaulted(number({ integer: true, min: 0 }), () => 2000),
  patchRetryMs: defaulted(count, () => 1000),
  policyCache: optional(nonEmpty),
  reconnectMinMs: defaulted(count, () => 1000),
  reconnectMaxMs: defaulted(count, () => 60_000),
};

/** Checks merged settings against {@link SETTINGS}: unknown keys are dropped, absent ones take their default. */
function checkSettings(input: Record<string, unknown>): { config: Record<string, unknown>; problems: Problems } {
  const config: Record<string, unknown> = {};
  const problems: Problems = [];
  for (const [key, setting] of Object.entries<Setting>(SETTINGS)) {
    const value = input[key];
    if (value === undefined) {
      if (setting.fallback) config[key] = setting.fallback();
      continue;
    }
    const before = problems.length;
    const checked = setting.check(value, key, problems);
    if (problems.length === before) config[key] = checked;
  }
  return { config, problems };
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** A switch set in the environment: anything but empty, `0` and `false`. */
export function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** Options read from `SPYGLASS_*` environment variables. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): AgentOptions {
  const o: Record<string, unknown> = {};
  const str = (name: string, key: string): void => {
    const v = env[name];
    if (v !== undefined && v !== '') o[key] = v;
  };
  const num = (name: string, key: string): void => {
    const v = env[name];
    if (v !== undefined && v !== '') o[key] = Number(v);
  };
  str('SPYGLASS_URL', 'url');
  str('SPYGLASS_KEY', 'key');
  str('SPYGLASS_SERVICE', 'service');
  str('SPYGLASS_SERVICE_VERSION', 'serviceVersion');
  str('SPYGLASS_ENVIRONMENT', 'environment');
  str('SPYGLASS_PROBE_METHOD', 'probeMethod');
  str('SPYGLASS_PIPE_FORMAT', 'pipeFormat');
  str('SPYGLASS_POLICY_CACHE', 'policyCache');
  num('SPYGLASS_CPU_BUDGET_PCT', 'cpuBudgetPct');
  num('SPYGLASS_ACTION_CPU_BUDGET_PCT', 'actionCpuBudgetPct');
  num('SPYGLASS_MAX_LOGS_PER_SECOND', 'maxLogsPerSecond');
  num('SPYGLASS_MAX_LOGS_PER_SECOND_PER_ACTION', 'maxLogsPerSecondPerAction');
  num('SPYGLASS_MAX_LOG_BYTES_PER_SECOND', 'maxLogBytesPerSecond');
  num('SPYGLASS_RECONNECT_MIN_MS', 'reconnectMinMs');
  num('SPYGLASS_RECONNECT_MAX_MS', 'reconnectMaxMs');
  num('SPYGLASS_PATCH_RETRY_MS', 'patchRetryMs');
  num('SPYGLASS_MAP_SLICE_MS', 'mapSliceMs');
  num('SPYGLASS_DEBUGGER_LINGER_MS', 'debuggerLingerMs');
  num('SPYGLASS_PATCH_MAX_FUNCTIONS', 'patchMaxFunctions');
  num('SPYGLASS_MAX_BUFFERED_BYTES', 'maxBufferedBytes');
  num('SPYGLASS_ASYNC_STACK_DEPTH', 'asyncStackDepth');
  if (truthy(env.SPYGLASS_AGENT_DEBUG)) o.debug = true;
  if (truthy(env.SPYGLASS_AGENT_QUIET)) o.quiet = true;
  if (truthy(env.SPYGLASS_WORKER_THREADS)) o.workerThreads = true;
  if (truthy(env.SPYGLASS_ASYNC_STACK_RECORDING)) o.asyncStackRecording = true;
  if (env.SPYGLASS_MAP_WORKER !== undefined && env.SPYGLASS_MAP_WORKER !== '')
    o.mapWorker = truthy(env.SPYGLASS_MAP_WORKER);
  if (env.SPYGLASS_TAGS) {
    const tags: Record<string, string> = {};
    for (const pair of list(env.SPYGLASS_TAGS)) {
      const eq = pair.indexOf('=');
      if (eq > 0) tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      else tags[pair] = '';
    }
    o.tags = tags;
  }
  // Extra redaction rules add to the defaults; SPYGLASS_REDACT_DEFAULTS=false drops the defaults.
  const keepDefaults = env.SPYGLASS_REDACT_DEFAULTS !== 'false';
  if (env.SPYGLASS_REDACT_NAMES || !keepDefaults) {
    o.redactNames = [...(keepDefaults ? DEFAULT_REDACT_NAMES : []), ...list(env.SPYGLASS_REDACT_NAMES ?? '')];
  }
  if (env.SPYGLASS_REDACT_VALUES || !keepDefaults) {
    // Patterns may contain commas: separate them with newlines or ";;".
    const extra = (env.SPYGLASS_REDACT_VALUES ?? '')
      .split(/\n|;;/)
      .map((s) => s.trim())
      .filter(Boolean);
    o.redactValues = [...(keepDefaults ? DEFAULT_REDACT_VALUES : []), ...extra];
  }
  if (env.SPYGLASS_BLOCKLIST) o.blocklist = list(env.SPYGLASS_BLOCKLIST);
  if (env.SPYGLASS_SOURCE_ROOTS) o.sourceRoots = list(env.SPYGLASS_SOURCE_ROOTS);
  return o;
}

/** Merge and validate; every problem is reported at once. */
export function loadConfig(env: NodeJS.ProcessEnv, options: AgentOptions = {}): AgentConfig {
  const merged = { ...optionsFromEnv(env), ...stripUndefined(options) };
  const { config, problems } = checkSettings(merged);
  if (problems.length > 0) throw new ConfigError('invalid agent settings: ' + problems.join('; '));
  return Object.freeze(config) as AgentConfig;
}

/** The settings given locally (environment and `start()` options), before defaults: what a pool policy checks. */
export function localSettings(env: NodeJS.ProcessEnv, options: AgentOptions = {}): Record<string, unknown> {
  return { ...optionsFromEnv(env), ...stripUndefined(options) };
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
