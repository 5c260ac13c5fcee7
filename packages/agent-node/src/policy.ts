import { createHash } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  DEFAULT_CAPTURE_LIMITS,
  checkLinearPattern,
  type AgentAction,
  type CaptureLimits,
  type PolicyCapture,
  type PolicyQuotas,
  type WirePolicy,
} from '@spyglass/protocol/agent-base';
import type { AgentConfig } from './config.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES } from './redact.js';

/**
 * The pool policy on the agent: merged with the agent's own settings so that the local side can only tighten it
 * (rules add up, limits take the smaller value, a local setting looser than the pool's is refused with a line), and
 * cached on disk for starts while the hub is unreachable.
 */

/** The environment variable of each quota, for the refusal line. */
const QUOTA_ENV: Record<keyof PolicyQuotas, string> = {
  cpuBudgetPct: 'SPYGLASS_CPU_BUDGET_PCT',
  actionCpuBudgetPct: 'SPYGLASS_ACTION_CPU_BUDGET_PCT',
  maxLogsPerSecond: 'SPYGLASS_MAX_LOGS_PER_SECOND',
  maxLogsPerSecondPerAction: 'SPYGLASS_MAX_LOGS_PER_SECOND_PER_ACTION',
  maxLogBytesPerSecond: 'SPYGLASS_MAX_LOG_BYTES_PER_SECOND',
};

export interface MergedPolicy {
  /** The settings in force. */
  config: AgentConfig;
  /** Ceilings on every snapshot's capture limits. */
  capture: PolicyCapture;
  /** One line per local setting looser than the pool's, refused. */
  refused: string[];
  /** Value patterns of the policy this agent could not use (never expected: the hub checks them). */
  skipped: string[];
}

/**
 * The settings in force under a pool policy. `local` holds the settings given locally (environment, `start()`
 * options) before defaults: only those can be "looser than the pool's" — a default is not a choice.
 */
export function mergePolicy(
  config: AgentConfig,
  local: Readonly<Record<string, unknown>>,
  wire: WirePolicy | undefined,
): MergedPolicy {
  if (wire === undefined) return { config, capture: {}, refused: [], skipped: [] };
  const { policy, pool } = wire;
  const refused: string[] = [];
  const skipped: string[] = [];
  const of = `the policy of pool ${pool}`;
  const out: Record<string, unknown> = { ...config };

  for (const [key, env] of Object.entries(QUOTA_ENV) as [keyof PolicyQuotas, string][]) {
    const max = policy.quotas[key];
    if (max === undefined) continue;
    const mine = config[key];
    if (mine <= max) continue;
    out[key] = max;
    if (key in local) refused.push(`${env}=${mine} is looser than ${of} (at most ${max}): refused, ${max} applies`);
  }

  const names = [...config.redactNames, ...policy.redaction.names];
  const values = [...config.redactValues];
  for (const p of policy.redaction.values) {
    try {
      checkLinearPattern(p);
      values.push(p);
    } catch (err) {
      skipped.push(`${p}: ${(err as Error).message}`);
    }
  }
  if (policy.redaction.defaults) {
    const droppedNames = DEFAULT_REDACT_NAMES.filter((n) => !config.redactNames.includes(n));
    const droppedValues = DEFAULT_REDACT_VALUES.filter((v) => !config.redactValues.includes(v));
    if (droppedNames.length + droppedValues.length > 0) {
      names.push(...droppedNames);
      values.push(...droppedValues);
      refused.push(
        `SPYGLASS_REDACT_DEFAULTS=false is looser than ${of} (its built-in redaction rules stay on): refused`,
      );
    }
  }
  out.redactNames = [...new Set(names)];
  out.redactValues = [...new Set(values)];
  out.blocklist = [...new Set([...config.blocklist, ...policy.blocklist])];
  return { config: Object.freeze(out) as AgentConfig, capture: policy.capture, refused, skipped };
}

/** The action with its snapshot limits lowered to the policy's ceilings (other kinds capture nothing). */
export function clampAction(action: AgentAction, capture: PolicyCapture): AgentAction {
  if (action.kind !== 'snapshot') return action;
  const keys = Object.keys(capture) as (keyof CaptureLimits)[];
  if (keys.length === 0) return action;
  const limits: Partial<CaptureLimits> = { ...action.limits };
  for (const k of keys) {
    const max = capture[k];
    if (max === undefined) continue;
    limits[k] = Math.min(limits[k] ?? DEFAULT_CAPTURE_LIMITS[k], max);
  }
  return { ...action, limits };
}

/** Same enforced settings (the parts that need actions recreated: budgets, blocklist, capture ceilings)? */
export function sameLimits(a: MergedPolicy, b: MergedPolicy): boolean {
  const pick = (m: MergedPolicy) =>
    JSON.stringify([
      m.config.cpuBudgetPct,
      m.config.actionCpuBudgetPct,
      m.config.maxLogsPerSecond,
      m.config.maxLogsPerSecondPerAction,
      m.config.maxLogBytesPerSecond,
      m.config.blocklist,
      m.capture,
    ]);
  return pick(a) === pick(b);
}

// ---- the cache --------------------------------------------------------------------------------------------------

/** Where the policy is cached: the setting, `undefined` for `off`, or a file per service and pool key. */
export function policyCachePath(config: AgentConfig): string | undefined {
  if (config.policyCache === 'off') return undefined;
  if (config.policyCache !== undefined) return config.policyCache;
  // The key itself never appears in a file name: a digest tells pools apart.
  const pool = createHash('sha256')
    .update(config.key ?? '')
    .digest('hex')
    .slice(0, 16);
  const service = config.service.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return join(tmpdir(), 'spyglass', `policy-${service}-${pool}.json`);
}

export type { CachedPolicy } from './policy-read.js';

/** Numbers the temporary files of this thread's writes (with the process and thread id in their names). */
let cacheWriteCount = 0;

/**
 * Writes the policy atomically (a temporary file in the same directory, then a rename), readable by the owner only.
 * Never throws: resolves with the error message when the path cannot be written.
 */
export async function writePolicyCache(path: string, wire: WirePolicy): Promise<string | undefined> {
  const tmp = `${path}.${process.pid}.${threadId}.${++cacheWriteCount}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tmp, JSON.stringify({ ...wire, savedAt: Date.now() }), { mode: 0o600 });
    await rename(tmp, path);
    return undefined;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    return (err as Error).message;
  }
}
