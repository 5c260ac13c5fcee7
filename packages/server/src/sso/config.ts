import { roleSchema, ssoProviderIdSchema } from '@spyglass/protocol';
import { z } from 'zod';

/**
 * How the values of a claim (e.g. `groups`) give a global role: every value the user has that is a key here gives its
 * role, and the highest one wins. `defaultRole` is for users none of whose values match (`none`: refused, unless
 * `poolMapping` gives them a role in a pool — then their global role is `none`).
 */
const mapping = {
  /** The claim whose values are looked up (OIDC: a claim of the ID token or userinfo; GitHub: see `docs/sso.md`). */
  roleClaim: z.string().min(1).max(200).default('groups'),
  /** Claim value → global role, e.g. `{ spyglass-admins: admin, spyglass-developers: developer }`. */
  roleMapping: z.record(z.string().min(1).max(500), roleSchema).default({}),
  /** Role of a user none of whose claim values is in `roleMapping`; `none` refuses the sign-in. */
  defaultRole: z.union([roleSchema, z.literal('none')]).default('viewer'),
  /**
   * Claim value → pool memberships (`{ payments-devs: { payments: developer } }`), passed to the hub's pool
   * membership hook at each sign-in.
   */
  poolMapping: z.record(z.string().min(1).max(500), z.record(z.string().min(1).max(100), roleSchema)).default({}),
  /** `jit`: the first sign-in creates the user; `existing`: only users an admin created (same email) may sign in. */
  userCreation: z.enum(['jit', 'existing']).default('jit'),
};

const secret = {
  /** The OAuth client secret (prefer `clientSecretFile`, e.g. a mounted Kubernetes Secret). */
  clientSecret: z.string().min(1).max(4096).optional(),
  /** File holding the client secret (surrounding space trimmed), read at start. */
  clientSecretFile: z.string().min(1).optional(),
};

const common = {
  id: ssoProviderIdSchema,
  /** The button's text on the sign-in page ("Sign in with …"). */
  displayName: z.string().min(1).max(100),
  clientId: z.string().min(1).max(500),
  ...secret,
  ...mapping,
};

export const oidcProviderSchema = z
  .object({
    ...common,
    type: z.literal('oidc').default('oidc'),
    /** The issuer; its `/.well-known/openid-configuration` is read at start (and again at sign-in until it answers). */
    issuer: z.url({ protocol: /^https?$/ }),
    scopes: z.array(z.string().regex(/^[!#-[\]-~]+$/)).default(['openid', 'email', 'profile']),
    /** How long one request to the provider may take. */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict();

export const githubProviderSchema = z
  .object({
    ...common,
    type: z.literal('github'),
    /** Where users authorize (GitHub Enterprise Server: `https://HOST`). */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://github.com'),
    /** The REST API (GitHub Enterprise Server: `https://HOST/api/v3`). */
    apiUrl: z.url({ protocol: /^https?$/ }).default('https://api.github.com'),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict();

export const ssoProviderSchema = z.discriminatedUnion('type', [oidcProviderSchema, githubProviderSchema]);

export const ssoConfigSchema = z
  .object({
    /** Password sign-in for everyone. `false` (SSO-only): only `breakGlassEmails` may still use a password. */
    localLogin: z.boolean().default(true),
    /** Accounts that may sign in with a password while `localLogin` is off (default: the first-run admin's email). */
    breakGlassEmails: z.array(z.string().min(3).max(320)).optional(),
    /** How long a started sign-in (browser at the provider, CLI waiting) stays valid. */
    loginTtlMs: z
      .number()
      .int()
      .min(10_000)
      .max(3_600_000)
      .default(10 * 60 * 1000),
    providers: z.array(z.preprocess(withOidcDefault, ssoProviderSchema)).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.providers.forEach((p, i) => {
      const urls: Record<string, string> =
        p.type === 'oidc' ? { issuer: p.issuer } : { baseUrl: p.baseUrl, apiUrl: p.apiUrl };
      for (const [key, value] of Object.entries(urls)) {
        const u = new URL(value);
        if (u.protocol === 'http:' && !LOOPBACK.has(u.hostname))
          ctx.addIssue({
            code: 'custom',
            path: ['providers', i, key],
            message: 'must be https:// (plain http is accepted only on the loopback interface)',
          });
      }
      if (seen.has(p.id))
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `duplicate id ${p.id}` });
      seen.add(p.id);
      if (p.clientSecret !== undefined && p.clientSecretFile !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'clientSecret'],
          message: 'give clientSecret or clientSecretFile, not both',
        });
      if (p.clientSecret === undefined && p.clientSecretFile === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'clientSecret'],
          message: 'give clientSecret or clientSecretFile',
        });
    });
  });

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a provider URL is on this machine (plain http is allowed there: development and tests). */
export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

/** A provider without `type` is OpenID Connect. */
function withOidcDefault(raw: unknown): unknown {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && !('type' in raw))
    return { ...raw, type: 'oidc' };
  return raw;
}

export type SsoConfig = z.infer<typeof ssoConfigSchema>;
export type SsoProviderConfig = z.infer<typeof ssoProviderSchema>;
export type OidcProviderConfig = z.infer<typeof oidcProviderSchema>;
export type GithubProviderConfig = z.infer<typeof githubProviderSchema>;
