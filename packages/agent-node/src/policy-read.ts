import { readFileSync } from 'node:fs';
import { wirePolicySchema } from '@spyglass/protocol/agent';
import type { WirePolicy } from '@spyglass/protocol/agent-base';

/**
 * Reading the cached pool policy, checked against the wire's schema. It runs on the control thread
 * (control-thread.ts), so that the schema library is not loaded on the app's thread; see policy.ts for the rest.
 */

export interface CachedPolicy extends WirePolicy {
  savedAt: number;
}

/** The cached policy, or `undefined` (none, unreadable, not a policy). Small and read once at start. */
export function readPolicyCache(path: string): CachedPolicy | undefined {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as { savedAt?: unknown };
    const parsed = wirePolicySchema.safeParse(raw);
    if (!parsed.success) return undefined;
    return { ...parsed.data, savedAt: typeof raw.savedAt === 'number' ? raw.savedAt : 0 };
  } catch {
    return undefined;
  }
}
