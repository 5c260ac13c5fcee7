import { z } from 'zod';
import { meSchema } from './resources.js';

/** A provider id: the `:provider` of the sign-in URLs. */
export const ssoProviderIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a provider id has 1–63 lower-case letters, digits, "_" or "-"');

/** The sign-in page's list: what buttons to show and whether the password form is offered. */
export const ssoProvidersSchema = z.object({
  /** Password sign-in is open to everyone (false: only the break-glass accounts may use it). */
  localLogin: z.boolean(),
  providers: z.array(
    z.object({
      id: ssoProviderIdSchema,
      type: z.enum(['oidc', 'github']),
      displayName: z.string(),
      /** The provider offers the device-code flow (`spyglass login --sso --device`); known once discovered. */
      device: z.boolean(),
    }),
  ),
});
export type SsoProviders = z.infer<typeof ssoProvidersSchema>;

/** The CLI trades the one-time code its loopback redirect received, with the PKCE verifier only it knows. */
export const ssoCliExchangeBodySchema = z.object({
  code: z.string().min(1).max(200),
  verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, 'a PKCE code verifier (RFC 7636)'),
  /** Name of the API token made for this machine. */
  tokenName: z.string().trim().min(1).max(100),
});
export type SsoCliExchangeBody = z.infer<typeof ssoCliExchangeBodySchema>;

export const ssoTokenResultSchema = meSchema.extend({ token: z.string() });
export type SsoTokenResult = z.infer<typeof ssoTokenResultSchema>;

export const ssoDeviceStartBodySchema = z.object({ tokenName: z.string().trim().min(1).max(100) });

export const ssoDeviceStartSchema = z.object({
  /** What the CLI polls with; a secret of this sign-in. */
  handle: z.string(),
  userCode: z.string(),
  verificationUri: z.string(),
  verificationUriComplete: z.string().optional(),
  intervalSec: z.number().int().positive(),
  expiresAt: z.number().int(),
});
export type SsoDeviceStart = z.infer<typeof ssoDeviceStartSchema>;

export const ssoDevicePollBodySchema = z.object({ handle: z.string().min(1).max(200) });

export const ssoDevicePollSchema = z.union([
  z.object({ status: z.literal('pending'), intervalSec: z.number().int().positive() }),
  ssoTokenResultSchema.extend({ status: z.literal('done') }),
]);
export type SsoDevicePoll = z.infer<typeof ssoDevicePollSchema>;
