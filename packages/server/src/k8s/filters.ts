import type { K8sConfig, ObjectRule } from './config.js';
import type { ObjectKey } from './model.js';

/** Label that marks an object's diffs as redacted (paths kept, values hidden). */
export const REDACT_LABEL = 'spyglass.dev/diff-redacted';

/** Resources whose audit entries are never stored: Events are recorded from the Event watchers; leases churn. */
const NEVER_RECORDED = new Set(['/events', 'events.k8s.io/events', 'coordination.k8s.io/leases']);

interface CompiledRule {
  resource?: RegExp;
  namespace?: RegExp;
  name?: RegExp;
  userAgent?: RegExp;
  user?: RegExp;
}

function compile(rule: ObjectRule): CompiledRule {
  const c: CompiledRule = {};
  for (const k of ['resource', 'namespace', 'name', 'userAgent', 'user'] as const) {
    const text = rule[k];
    if (text !== undefined) c[k] = new RegExp(text);
  }
  return c;
}

function matches(rule: CompiledRule, key: ObjectKey, userAgent: string | undefined, user: string | undefined): boolean {
  if (rule.resource !== undefined && !rule.resource.test(`${key.group}/${key.resource}`)) return false;
  if (rule.namespace !== undefined && !rule.namespace.test(key.namespace)) return false;
  if (rule.name !== undefined && !rule.name.test(key.name)) return false;
  // A rule on the user agent or user applies to audit entries only.
  if (rule.userAgent !== undefined && (userAgent === undefined || !rule.userAgent.test(userAgent))) return false;
  if (rule.user !== undefined && (user === undefined || !rule.user.test(user))) return false;
  return true;
}

/** The exclusion and redaction rules of every cluster (global rules plus the cluster's own), compiled once. */
export class K8sFilters {
  readonly #global: CompiledRule[];
  readonly #exclude = new Map<string, CompiledRule[]>();
  readonly #redact = new Map<string, CompiledRule[]>();

  constructor(config: K8sConfig) {
    this.#global = config.exclude.map(compile);
    for (const c of config.clusters) {
      this.#exclude.set(c.name, c.exclude.map(compile));
      this.#redact.set(c.name, c.redact.map(compile));
    }
  }

  /** True when nothing about this object (or this audit entry, with its user agent and user) is to be stored. */
  excluded(key: ObjectKey, userAgent?: string, user?: string): boolean {
    if (NEVER_RECORDED.has(`${key.group}/${key.resource}`)) return true;
    for (const r of this.#global) if (matches(r, key, userAgent, user)) return true;
    for (const r of this.#exclude.get(key.cluster) ?? []) if (matches(r, key, userAgent, user)) return true;
    return false;
  }

  /** True when diffs of this object keep paths but not values. */
  redacted(key: ObjectKey, labels: Record<string, string> | undefined): boolean {
    if (labels?.[REDACT_LABEL] === 'true') return true;
    for (const r of this.#redact.get(key.cluster) ?? []) if (matches(r, key, undefined, undefined)) return true;
    return false;
  }
}
