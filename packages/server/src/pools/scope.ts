import { ROLE_RANK, SpyglassError, maxRole, type Role, type UserRole } from '@spyglass/protocol';
import type { Principal } from '../http/context.js';

/**
 * What a caller may do per pool: their global role, and their memberships (pool id → role). The effective role in a
 * pool is the higher of the two (docs/adr/0013-roles-per-pool.md).
 */
export interface PoolScope {
  readonly global: UserRole;
  readonly pools: ReadonlyMap<string, Role>;
}

const NO_POOLS: ReadonlyMap<string, Role> = new Map();

/** The scope of a principal (no principal: nothing). Memberships are loaded with the principal (auth plugin). */
export function scopeOf(principal: Principal | null | undefined): PoolScope {
  if (principal === null || principal === undefined || principal.user.disabled)
    return { global: 'none', pools: NO_POOLS };
  return { global: principal.user.role, pools: principal.pools ?? NO_POOLS };
}

/** The caller's role in one pool: the higher of the global role and their membership there. */
export function roleInPool(scope: PoolScope, poolId: string): UserRole {
  return maxRole(scope.global, scope.pools.get(poolId));
}

/** The caller's highest role anywhere (what a pool-scoped operation's least role is checked against). */
export function bestRole(scope: PoolScope): UserRole {
  let best = scope.global;
  for (const r of scope.pools.values()) best = maxRole(best, r);
  return best;
}

/**
 * The pools whose agents, actions and hits the caller may see: `null` for every pool (a global role of viewer or
 * higher), otherwise the ids of their memberships (possibly none). Lists filter on it in the query.
 */
export function visiblePools(scope: PoolScope): readonly string[] | null {
  if (ROLE_RANK[scope.global] >= ROLE_RANK.viewer) return null;
  return [...scope.pools.keys()];
}

/**
 * Checks the caller's role in the pool of something they named by id. A pool they may not see at all answers
 * NOT_FOUND (`what`, as an unknown id would), so ids of other teams' agents and actions reveal nothing; a pool they
 * see with too low a role answers FORBIDDEN.
 */
export function requirePoolRole(
  scope: PoolScope,
  pool: { id: string; name: string },
  needed: Role,
  what: string,
): void {
  const role = roleInPool(scope, pool.id);
  if (ROLE_RANK[role] < ROLE_RANK.viewer) throw new SpyglassError('NOT_FOUND', `${what} not found`);
  if (ROLE_RANK[role] < ROLE_RANK[needed])
    throw new SpyglassError('FORBIDDEN', `this needs the ${needed} role in pool ${pool.name} (you are ${role} there)`);
}

/** Checks the role in a pool the caller named themselves (creating an action there): FORBIDDEN when it is too low. */
export function requireRoleInNamedPool(scope: PoolScope, pool: { id: string; name: string }, needed: Role): void {
  const role = roleInPool(scope, pool.id);
  if (ROLE_RANK[role] < ROLE_RANK[needed])
    throw new SpyglassError('FORBIDDEN', `this needs the ${needed} role in pool ${pool.name} (you are ${role} there)`);
}
