import { z } from 'zod';

export const ROLES = ['admin', 'developer', 'viewer'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/**
 * A user's global role: one of the roles, or `none` — the user sees and does only what their pool memberships grant
 * (see docs/adr/0013-roles-per-pool.md).
 */
export const USER_ROLES = ['admin', 'developer', 'viewer', 'none'] as const;
export const userRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof userRoleSchema>;

/** Role rank: a route that needs `developer` admits `developer` and `admin`; `none` admits nothing. */
export const ROLE_RANK: Record<UserRole, number> = { none: 0, viewer: 1, developer: 2, admin: 3 };

export function roleAtLeast(role: UserRole, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The higher of two roles (the effective role in a pool is the higher of the global role and the membership). */
export function maxRole(a: UserRole, b: UserRole | undefined): UserRole {
  return b !== undefined && ROLE_RANK[b] > ROLE_RANK[a] ? b : a;
}

/** Epoch milliseconds. */
export const epochMsSchema = z.number().int().nonnegative();

export const idSchema = z.string().min(1).max(64);

/** Cursor pagination shared by every list endpoint. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
