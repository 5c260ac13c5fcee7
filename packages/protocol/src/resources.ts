import { z } from 'zod';
import { epochMsSchema, idSchema, roleSchema, userRoleSchema } from './common.js';

// ---- auth ---------------------------------------------------------------------------------------------------------

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3)
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(256);

export const loginBodySchema = z.object({
  email: emailSchema,
  password: z.string().min(1).max(256),
});
export type LoginBody = z.infer<typeof loginBodySchema>;

export const userSchema = z.object({
  id: idSchema,
  email: z.string(),
  name: z.string(),
  /** Global role; `none`: only what the user's pool memberships grant. */
  role: userRoleSchema,
  disabled: z.boolean(),
  createdAt: epochMsSchema,
  updatedAt: epochMsSchema,
});
export type User = z.infer<typeof userSchema>;

// ---- pool memberships ---------------------------------------------------------------------------------------------

/** Who keeps a membership: `manual` (granted by an admin) or the name of the sign-in provider it was mapped from. */
export const membershipSourceSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.:-]*$/, 'lower-case letters, digits and _ . : -');

/** A user's role in one pool. */
export const membershipSchema = z.object({
  userId: idSchema,
  poolId: idSchema,
  poolName: z.string(),
  role: roleSchema,
  source: z.string(),
  createdAt: epochMsSchema,
  updatedAt: epochMsSchema,
});
export type Membership = z.infer<typeof membershipSchema>;

export const membershipParamsSchema = z.object({ id: idSchema, pool: z.string().min(1).max(64) });
export const grantMembershipBodySchema = z.object({ role: roleSchema });
export type GrantMembershipBody = z.infer<typeof grantMembershipBodySchema>;

/** A user in the admins' list, with the state of their sign-ins (failed attempts in the current window). */
export const listedUserSchema = userSchema.extend({
  signIn: z.object({
    /** Failed sign-ins in the account's current window. */
    failures: z.number().int().nonnegative(),
    /** Past the free attempts: each further attempt waits, doubling (an admin's unlock clears it). */
    delayed: z.boolean(),
    /** When the next attempt is allowed, if that is later than now. */
    retryAt: epochMsSchema.nullable(),
  }),
});
export type ListedUser = z.infer<typeof listedUserSchema>;

export const meSchema = z.object({
  user: userSchema,
  /** How the caller authenticated. */
  via: z.enum(['session', 'token']),
  /** The caller's roles per pool (each one the higher of the global role and the membership). */
  memberships: z.array(membershipSchema).optional(),
});
export type Me = z.infer<typeof meSchema>;

/**
 * `GET /api/v1/auth/session`: whether the caller is signed in, always a 200 (the console's start-up probe, which
 * leaves nothing in the audit log when nobody is signed in; `GET /api/v1/me` keeps answering 401 to API clients).
 */
export const sessionStateSchema = z.union([
  z.object({ signedIn: z.literal(false) }),
  meSchema.extend({ signedIn: z.literal(true) }),
]);
export type SessionState = z.infer<typeof sessionStateSchema>;

// ---- users --------------------------------------------------------------------------------------------------------

export const createUserBodySchema = z.object({
  email: emailSchema,
  name: z.string().trim().min(1).max(200),
  role: userRoleSchema,
  password: passwordSchema,
});
export type CreateUserBody = z.infer<typeof createUserBodySchema>;

export const updateUserBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    role: userRoleSchema.optional(),
    password: passwordSchema.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'at least one field must be given' });
export type UpdateUserBody = z.infer<typeof updateUserBodySchema>;

/** What an admin's unlock cleared: the failed sign-ins the account's current window held. */
export const unlockedUserSchema = z.object({
  user: userSchema,
  failuresCleared: z.number().int().nonnegative(),
});
export type UnlockedUser = z.infer<typeof unlockedUserSchema>;

// ---- API tokens ---------------------------------------------------------------------------------------------------

export const tokenSchema = z.object({
  id: idSchema,
  name: z.string(),
  /** First characters of the token, safe to show, to tell tokens apart. */
  prefix: z.string(),
  userId: idSchema,
  createdAt: epochMsSchema,
  expiresAt: epochMsSchema.nullable(),
  lastUsedAt: epochMsSchema.nullable(),
});
export type ApiToken = z.infer<typeof tokenSchema>;

export const createTokenBodySchema = z.object({
  name: z.string().trim().min(1).max(100),
  /** Absolute expiry (epoch ms). Omit for a token that never expires. */
  expiresAt: epochMsSchema.optional(),
});
export type CreateTokenBody = z.infer<typeof createTokenBodySchema>;

/** The only response that ever carries the secret token. */
export const createdTokenSchema = tokenSchema.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

// ---- agent pools --------------------------------------------------------------------------------------------------

export const poolNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, 'must be lower-case letters, digits, ".", "_" or "-"');

export const poolSchema = z.object({
  id: idSchema,
  name: z.string(),
  keyPrefix: z.string(),
  createdAt: epochMsSchema,
  keyRotatedAt: epochMsSchema,
});
export type Pool = z.infer<typeof poolSchema>;

export const createPoolBodySchema = z.object({ name: poolNameSchema });
export type CreatePoolBody = z.infer<typeof createPoolBodySchema>;

/** Returned by create and rotate: the only time the registration key is shown. */
export const poolWithKeySchema = poolSchema.extend({ key: z.string() });
export type PoolWithKey = z.infer<typeof poolWithKeySchema>;

// ---- audit --------------------------------------------------------------------------------------------------------

export const auditOutcomeSchema = z.enum(['success', 'failure', 'denied']);
export type AuditOutcome = z.infer<typeof auditOutcomeSchema>;

export const auditEventSchema = z.object({
  id: z.string(),
  at: epochMsSchema,
  actorType: z.enum(['user', 'token', 'agent', 'anonymous', 'system']),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  outcome: auditOutcomeSchema,
  status: z.number().int().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  actorId: z.string().max(64).optional(),
  action: z.string().max(100).optional(),
  targetType: z.string().max(50).optional(),
  targetId: z.string().max(64).optional(),
  outcome: auditOutcomeSchema.optional(),
  /** Epoch ms, inclusive. */
  since: z.coerce.number().int().nonnegative().optional(),
  /** Epoch ms, exclusive. */
  until: z.coerce.number().int().nonnegative().optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;
