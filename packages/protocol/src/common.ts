import { z } from 'zod';

export const ROLES = ['admin', 'developer', 'viewer'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** Role rank: a route that needs `developer` admits `developer` and `admin`. */
export const ROLE_RANK: Record<Role, number> = { viewer: 1, developer: 2, admin: 3 };

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
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
