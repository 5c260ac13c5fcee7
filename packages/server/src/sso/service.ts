import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SpyglassError, roleAtLeast, type Role, type SsoProviders, type User, type UserRole } from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { AuthService } from '../auth/service.js';
import { hashSecret, newId, newSecret } from '../auth/secrets.js';
import type { Database } from '../storage/schema.js';
import { isUniqueViolation, toUser, type UserService } from '../users/service.js';
import { isLoopbackUrl, type OidcProviderConfig, type SsoConfig, type SsoProviderConfig } from './config.js';
import { githubAuthorizeUrl, githubIdentity } from './github.js';

/** A pool membership a provider's claims map to (`poolMapping`). */
export interface PoolMembership {
  pool: string;
  role: Role;
}

/**
 * Called at every SSO sign-in with the pool memberships the user's claims map to (possibly none), after the user and
 * their global role are stored. Whoever keeps pool roles replaces the user's memberships from `provider` with these.
 */
export type PoolMembershipHook = (
  user: User,
  memberships: readonly PoolMembership[],
  provider: string,
) => Promise<void>;

/** Who the provider says signed in. */
export interface ProviderIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean | undefined;
  name: string | undefined;
  /** The values of the role claim (OIDC) or the orgs and `org/team` slugs (GitHub). */
  values: string[];
}

/** What the browser's sign-in carries from start to callback. */
interface LoginData {
  verifier: string;
  nonce: string;
  redirectUri: string;
  returnTo: string;
  cli?: { port: number; challenge: string; tokenName: string };
}

interface HandoffData {
  userId: string;
  challenge: string;
  tokenName: string;
}

interface DeviceData {
  deviceCode: string;
  intervalSec: number;
  tokenName: string;
}

export interface CallbackResult {
  user: User;
  /** Where the browser goes next: a console path, or the CLI's loopback listener with its one-time code. */
  location: string;
  /** Set when a console session is to be made (not for the CLI, which gets a token). */
  session: boolean;
}

const HANDOFF_TTL_MS = 2 * 60 * 1000;
/** Sign-ins in flight at most (anyone may start one): a flood of starts cannot grow the table without bound. */
export const MAX_PENDING = 10_000;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A readable reason out of an error of fetch, openid-client or oauth4webapi. */
export function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const parts = [err.message];
  const body = err as { error?: unknown; error_description?: unknown };
  if (typeof body.error === 'string' && !err.message.includes(body.error)) parts.push(body.error);
  if (typeof body.error_description === 'string') parts.push(body.error_description);
  // fetch and openid-client put the underlying reason (ECONNREFUSED, a JSON syntax error) in `cause`, maybe nested.
  let cause = (err as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    const text = cause.message !== '' ? cause.message : (code ?? '');
    if (text !== '' && !parts.includes(text))
      parts.push(code !== undefined && !text.includes(code) ? `${text} (${code})` : text);
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * The global role and pool memberships the claim values map to; `null` when the user gets no role at all. A user whose
 * values give roles in pools only has the global role `none` (they see those pools and nothing else).
 */
export function mapRoles(
  p: Pick<SsoProviderConfig, 'roleMapping' | 'defaultRole' | 'poolMapping'>,
  values: readonly string[],
): { role: UserRole | null; pools: PoolMembership[] } {
  let role: Role | null = null;
  const pools = new Map<string, Role>();
  for (const v of values) {
    const mapped = p.roleMapping[v];
    if (mapped !== undefined && (role === null || roleAtLeast(mapped, role))) role = mapped;
    for (const [pool, r] of Object.entries(p.poolMapping[v] ?? {})) {
      const had = pools.get(pool);
      if (had === undefined || roleAtLeast(r, had)) pools.set(pool, r);
    }
  }
  const global: UserRole | null = role ?? (p.defaultRole !== 'none' ? p.defaultRole : pools.size > 0 ? 'none' : null);
  return { role: global, pools: [...pools].map(([pool, r]) => ({ pool, role: r })) };
}

interface Discovered {
  config?: oidc.Configuration;
  error?: string;
  pending?: Promise<oidc.Configuration>;
}

/**
 * Single sign-on: OpenID Connect (authorization code + PKCE, discovery, state/nonce/iss checks, device-code flow) and
 * GitHub's plain OAuth. Sign-ins in flight live in the database, so any replica can finish one another started.
 */
export class SsoService {
  readonly #db: Kysely<Database>;
  readonly #config: SsoConfig;
  readonly #log: Logger;
  readonly #users: UserService;
  readonly #auth: AuthService;
  readonly #secrets = new Map<string, string>();
  readonly #discovered = new Map<string, Discovered>();
  readonly #breakGlass: Set<string>;
  #poolHook: PoolMembershipHook | undefined;
  readonly #maxPending: number;

  constructor(
    db: Kysely<Database>,
    config: SsoConfig,
    adminEmail: string,
    deps: { log: Logger; users: UserService; auth: AuthService; maxPending?: number },
  ) {
    this.#maxPending = deps.maxPending ?? MAX_PENDING;
    this.#db = db;
    this.#config = config;
    this.#log = deps.log;
    this.#users = deps.users;
    this.#auth = deps.auth;
    this.#breakGlass = new Set((config.breakGlassEmails ?? [adminEmail]).map((e) => e.trim().toLowerCase()));
    for (const p of config.providers) {
      if (p.clientSecret !== undefined) this.#secrets.set(p.id, p.clientSecret);
      else if (p.clientSecretFile !== undefined) {
        try {
          this.#secrets.set(p.id, readFileSync(p.clientSecretFile, 'utf8').trim());
        } catch (err) {
          throw new Error(
            `sso.providers ${p.id}: clientSecretFile ${p.clientSecretFile} cannot be read: ${(err as Error).message}`,
          );
        }
      }
    }
  }

  /**
   * The hook that receives the pool memberships a sign-in's claims map to (see `PoolMembershipHook`). Without one,
   * `poolMapping` is computed and logged at debug level only.
   */
  setPoolMembershipHook(hook: PoolMembershipHook | undefined): void {
    this.#poolHook = hook;
  }

  /** The hook set now, if any (the hub sets one that keeps the memberships as roles per pool). */
  get poolMembershipHook(): PoolMembershipHook | undefined {
    return this.#poolHook;
  }

  /** Whether this email may sign in with a password. */
  passwordAllowed(email: string): boolean {
    return this.#config.localLogin || this.#breakGlass.has(email.trim().toLowerCase());
  }

  list(): SsoProviders {
    return {
      localLogin: this.#config.localLogin,
      providers: this.#config.providers.map((p) => ({
        id: p.id,
        type: p.type,
        displayName: p.displayName,
        device:
          p.type === 'oidc' &&
          this.#discovered.get(p.id)?.config?.serverMetadata().device_authorization_endpoint !== undefined,
      })),
    };
  }

  /** Discovers every OpenID provider once at start; a failure is logged and retried at the next sign-in. */
  async discoverAll(): Promise<void> {
    await Promise.all(
      this.#config.providers.map(async (p) => {
        if (p.type !== 'oidc') return;
        try {
          await this.#discover(p);
          this.#log.info({ provider: p.id, issuer: p.issuer }, 'single sign-on provider discovered');
        } catch (err) {
          this.#log.error(
            { provider: p.id, issuer: p.issuer, reason: (err as Error).message },
            `single sign-on provider ${p.id} is unavailable (its sign-in is retried when someone uses it): ${(err as Error).message}`,
          );
        }
      }),
    );
  }

  #provider(id: string): SsoProviderConfig {
    const p = this.#config.providers.find((x) => x.id === id);
    if (p === undefined) throw new SpyglassError('NOT_FOUND', `no single sign-on provider "${id}" is configured`);
    return p;
  }

  async #discover(p: OidcProviderConfig): Promise<oidc.Configuration> {
    const state = this.#discovered.get(p.id) ?? {};
    this.#discovered.set(p.id, state);
    if (state.config !== undefined) return state.config;
    state.pending ??= (async () => {
      try {
        const insecure = isLoopbackUrl(p.issuer) && p.issuer.startsWith('http:');
        const config = await oidc.discovery(
          new URL(p.issuer),
          p.clientId,
          this.#secrets.get(p.id),
          oidc.ClientSecretBasic(this.#secrets.get(p.id)),
          { timeout: Math.ceil(p.timeoutMs / 1000), ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) },
        );
        const meta = config.serverMetadata();
        if (meta.authorization_endpoint === undefined || meta.token_endpoint === undefined)
          throw new Error('the metadata names no authorization_endpoint or token_endpoint');
        state.config = config;
        delete state.error;
        return config;
      } catch (err) {
        state.error = reasonOf(err);
        throw new SpyglassError(
          'UNAVAILABLE',
          `sign-in with ${p.displayName} is unavailable: the discovery of ${p.issuer} failed: ${state.error}`,
        );
      } finally {
        delete state.pending;
      }
    })();
    return state.pending;
  }

  async #putPending(
    kind: 'login' | 'handoff' | 'device',
    provider: string,
    secret: string,
    data: object,
    ttlMs: number,
  ): Promise<void> {
    const now = Date.now();
    if (kind !== 'handoff') {
      const r = await this.#db
        .selectFrom('sso_pending')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow();
      if (Number(r.n) >= this.#maxPending)
        throw new SpyglassError('RATE_LIMITED', 'too many sign-ins are in progress; try again in a few minutes', {
          retryAfterSec: 60,
        });
    }
    await this.#db
      .insertInto('sso_pending')
      .values({
        id_hash: hashSecret(secret),
        kind,
        provider,
        data: JSON.stringify(data),
        created_at: now,
        expires_at: now + ttlMs,
      })
      .execute();
  }

  /** Takes a pending sign-in out (once: a second use of the same secret finds nothing). */
  async #takePending<T>(kind: 'login' | 'handoff' | 'device', secret: string): Promise<{ provider: string; data: T }> {
    const idHash = hashSecret(secret);
    const row = await this.#db
      .selectFrom('sso_pending')
      .selectAll()
      .where('id_hash', '=', idHash)
      .where('kind', '=', kind)
      .executeTakeFirst();
    const r = await this.#db.deleteFrom('sso_pending').where('id_hash', '=', idHash).executeTakeFirst();
    if (row === undefined || Number(r.numDeletedRows) !== 1 || Number(row.expires_at) <= Date.now())
      throw new SpyglassError('INVALID_INPUT', 'this sign-in is unknown, already used or expired; start again');
    return { provider: row.provider, data: JSON.parse(row.data) as T };
  }

  /** Starts a browser sign-in: returns the provider's authorization URL and the `state` to bind to the browser. */
  async start(
    providerId: string,
    opts: { redirectUri: string; returnTo: string; cli?: { port: number; challenge: string; tokenName: string } },
  ): Promise<{ url: string; state: string }> {
    const p = this.#provider(providerId);
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    let url: string;
    if (p.type === 'oidc') {
      const config = await this.#discover(p);
      url = oidc
        .buildAuthorizationUrl(config, {
          redirect_uri: opts.redirectUri,
          scope: p.scopes.join(' '),
          code_challenge: challenge,
          code_challenge_method: 'S256',
          state,
          nonce,
        })
        .toString();
    } else {
      url = githubAuthorizeUrl(p, { redirectUri: opts.redirectUri, state, challenge });
    }
    const data: LoginData = { verifier, nonce, redirectUri: opts.redirectUri, returnTo: opts.returnTo };
    if (opts.cli !== undefined) data.cli = opts.cli;
    await this.#putPending('login', p.id, state, data, this.#config.loginTtlMs);
    return { url, state };
  }

  /**
   * Finishes a browser sign-in. `query` is the callback's query string; `boundState` the state cookie set at start
   * (a callback whose state is not the one this browser started is refused: login CSRF).
   */
  async callback(providerId: string, query: URLSearchParams, boundState: string | undefined): Promise<CallbackResult> {
    const p = this.#provider(providerId);
    const state = query.get('state') ?? '';
    if (state === '') throw new SpyglassError('INVALID_INPUT', 'the provider answered without a state parameter');
    if (boundState === undefined || boundState !== state)
      throw new SpyglassError(
        'INVALID_INPUT',
        'the sign-in state does not match the one this browser started (tampered, or from another browser); start again',
      );
    const pending = await this.#takePending<LoginData>('login', state);
    if (pending.provider !== p.id)
      throw new SpyglassError('INVALID_INPUT', 'this sign-in was started with another provider; start again');
    const data = pending.data;
    const providerError = query.get('error');
    let identity: ProviderIdentity;
    if (p.type === 'oidc') {
      const config = await this.#discover(p);
      const current = new URL(data.redirectUri);
      current.search = query.toString();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: data.verifier,
          expectedState: state,
          expectedNonce: data.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw new SpyglassError(
          providerError === null ? 'UNAUTHENTICATED' : 'FORBIDDEN',
          `${p.displayName} sign-in refused: ${reasonOf(err)}`,
        );
      }
      identity = await this.#oidcIdentity(p, config, tokens);
    } else {
      if (providerError !== null)
        throw new SpyglassError(
          'FORBIDDEN',
          `${p.displayName} sign-in refused: ${providerError}${query.has('error_description') ? `: ${query.get('error_description')}` : ''}`,
        );
      const code = query.get('code');
      if (code === null) throw new SpyglassError('INVALID_INPUT', `${p.displayName} answered without a code`);
      try {
        identity = await githubIdentity(p, this.#secrets.get(p.id) ?? '', {
          code,
          redirectUri: data.redirectUri,
          verifier: data.verifier,
        });
      } catch (err) {
        throw new SpyglassError('UNAUTHENTICATED', `${p.displayName} sign-in refused: ${reasonOf(err)}`);
      }
    }
    const user = await this.#signIn(p, identity);
    if (data.cli !== undefined) {
      const code = newSecret('sgs').replace(/^sgs_/, 'sgh_');
      const handoff: HandoffData = { userId: user.id, challenge: data.cli.challenge, tokenName: data.cli.tokenName };
      await this.#putPending('handoff', p.id, code, handoff, HANDOFF_TTL_MS);
      return { user, session: false, location: `http://127.0.0.1:${data.cli.port}/callback?code=${code}` };
    }
    return { user, session: true, location: data.returnTo };
  }

  async #oidcIdentity(
    p: OidcProviderConfig,
    config: oidc.Configuration,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  ): Promise<ProviderIdentity> {
    const claims = tokens.claims();
    if (claims === undefined) throw new SpyglassError('UNAUTHENTICATED', `${p.displayName} returned no ID token`);
    let merged: Record<string, unknown> = { ...claims };
    if (config.serverMetadata().userinfo_endpoint !== undefined) {
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        merged = { ...info, ...claims }; // the ID token's claims win; userinfo adds what it left out
      } catch (err) {
        throw new SpyglassError('UNAUTHENTICATED', `${p.displayName}'s userinfo was refused: ${reasonOf(err)}`);
      }
    }
    return {
      subject: claims.sub,
      email: typeof merged.email === 'string' ? merged.email : undefined,
      emailVerified: typeof merged.email_verified === 'boolean' ? merged.email_verified : undefined,
      name: typeof merged.name === 'string' ? merged.name : undefined,
      values: stringValues(merged[p.roleClaim]),
    };
  }

  /** Finds or creates the user behind a provider identity, re-maps their global role and applies pool memberships. */
  async #signIn(p: SsoProviderConfig, id: ProviderIdentity): Promise<User> {
    const now = Date.now();
    const mapped = mapRoles(p, id.values);
    const linked = await this.#db
      .selectFrom('sso_identities')
      .innerJoin('users', 'users.id', 'sso_identities.user_id')
      .selectAll('users')
      .where('sso_identities.provider', '=', p.id)
      .where('sso_identities.subject', '=', id.subject)
      .executeTakeFirst();
    let row = linked;
    if (row === undefined) {
      if (id.email === undefined)
        throw new SpyglassError(
          'FORBIDDEN',
          `${p.displayName} sent no email address for this account (request the email scope)`,
        );
      if (id.emailVerified === false)
        throw new SpyglassError('FORBIDDEN', `${p.displayName} says the email address ${id.email} is not verified`);
      const email = id.email.trim().toLowerCase();
      row = await this.#users.findByEmail(email);
      if (row === undefined) {
        if (p.userCreation === 'existing')
          throw new SpyglassError(
            'FORBIDDEN',
            `no Spyglass account for ${email}: an admin must create it before it can sign in with ${p.displayName}`,
          );
        if (mapped.role === null)
          throw new SpyglassError('FORBIDDEN', `${email} is in no group that gives a Spyglass role`);
        const created = await this.#createUser(email, id.name ?? email, mapped.role);
        row = (await this.#users.findByEmail(created.email))!;
      }
      try {
        await this.#db
          .insertInto('sso_identities')
          .values({ provider: p.id, subject: id.subject, user_id: row.id, created_at: now, last_login_at: now })
          .execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err; // a parallel first sign-in linked it already
      }
    }
    if (Number(row.disabled) === 1) throw new SpyglassError('FORBIDDEN', `the account ${row.email} is disabled`);
    if (mapped.role === null)
      throw new SpyglassError('FORBIDDEN', `${row.email} is in no group that gives a Spyglass role`);
    if (mapped.role !== row.role) {
      await this.#db
        .updateTable('users')
        .set({ role: mapped.role, updated_at: now })
        .where('id', '=', row.id)
        .execute();
      this.#log.info({ user: row.email, from: row.role, to: mapped.role, provider: p.id }, 'role re-mapped at sign-in');
      row = { ...row, role: mapped.role, updated_at: now };
    }
    await this.#db
      .updateTable('sso_identities')
      .set({ last_login_at: now })
      .where('provider', '=', p.id)
      .where('subject', '=', id.subject)
      .execute();
    const user = toUser(row);
    if (this.#poolHook !== undefined) await this.#poolHook(user, mapped.pools, p.id);
    else if (mapped.pools.length > 0)
      this.#log.debug({ user: user.email, pools: mapped.pools }, 'pool memberships mapped (no pool role store)');
    return user;
  }

  async #createUser(email: string, name: string, role: UserRole): Promise<User> {
    try {
      // No password: '!' never verifies (an admin can set one later).
      const now = Date.now();
      const row = { id: newId(), email, name: name.slice(0, 200), role, disabled: 0 };
      await this.#db
        .insertInto('users')
        .values({ ...row, password_hash: '!', created_at: now, updated_at: now })
        .execute();
      this.#log.info({ user: email, role }, 'user created at first single sign-on');
      return await this.#users.get(row.id);
    } catch (err) {
      if (isUniqueViolation(err)) {
        const found = await this.#users.findByEmail(email);
        if (found !== undefined) return toUser(found);
      }
      throw err;
    }
  }

  /** The CLI's loopback flow: trades the one-time code (and the verifier behind its challenge) for an API token. */
  async exchange(code: string, verifier: string): Promise<{ user: User; token: string }> {
    const { data } = await this.#takePending<HandoffData>('handoff', code);
    if (s256(verifier) !== data.challenge)
      throw new SpyglassError('UNAUTHENTICATED', 'the code verifier does not match the sign-in it was started with');
    const user = await this.#users.get(data.userId);
    if (user.disabled) throw new SpyglassError('FORBIDDEN', `the account ${user.email} is disabled`);
    const token = await this.#auth.createToken(user.id, { name: data.tokenName });
    return { user, token: token.token };
  }

  /** Starts a device-code sign-in at an OpenID provider that offers it. */
  async deviceStart(providerId: string, tokenName: string) {
    const p = this.#provider(providerId);
    if (p.type !== 'oidc')
      throw new SpyglassError('INVALID_INPUT', `${p.displayName} has no device-code flow; sign in through the browser`);
    const config = await this.#discover(p);
    if (config.serverMetadata().device_authorization_endpoint === undefined)
      throw new SpyglassError(
        'INVALID_INPUT',
        `${p.displayName} offers no device-code flow (no device_authorization_endpoint); sign in through the browser`,
      );
    let res: Awaited<ReturnType<typeof oidc.initiateDeviceAuthorization>>;
    try {
      res = await oidc.initiateDeviceAuthorization(config, { scope: p.scopes.join(' ') });
    } catch (err) {
      throw new SpyglassError('UNAVAILABLE', `${p.displayName} refused the device sign-in: ${reasonOf(err)}`);
    }
    const handle = newSecret('sgs').replace(/^sgs_/, 'sgd_');
    const intervalSec = res.interval ?? 5;
    const ttlMs = Math.min(res.expires_in * 1000, this.#config.loginTtlMs);
    await this.#putPending('device', p.id, handle, { deviceCode: res.device_code, intervalSec, tokenName }, ttlMs);
    return {
      handle,
      userCode: res.user_code,
      verificationUri: res.verification_uri,
      ...(res.verification_uri_complete === undefined
        ? {}
        : { verificationUriComplete: res.verification_uri_complete }),
      intervalSec,
      expiresAt: Date.now() + ttlMs,
    };
  }

  /** One poll of a device-code sign-in: pending, or done with an API token. */
  async devicePoll(
    handle: string,
  ): Promise<
    | { status: 'pending'; intervalSec: number }
    | { status: 'done'; user: User; token: string; provider: SsoProviderConfig }
  > {
    const idHash = hashSecret(handle);
    const row = await this.#db
      .selectFrom('sso_pending')
      .selectAll()
      .where('id_hash', '=', idHash)
      .where('kind', '=', 'device')
      .executeTakeFirst();
    if (row === undefined || Number(row.expires_at) <= Date.now())
      throw new SpyglassError('INVALID_INPUT', 'this device sign-in is unknown, finished or expired; start again');
    const p = this.#provider(row.provider) as OidcProviderConfig;
    const data = JSON.parse(row.data) as DeviceData;
    const config = await this.#discover(p);
    let tokens: Awaited<ReturnType<typeof oidc.genericGrantRequest>>;
    try {
      tokens = await oidc.genericGrantRequest(config, DEVICE_GRANT, { device_code: data.deviceCode });
    } catch (err) {
      const code = (err as { error?: unknown }).error;
      if (code === 'authorization_pending') return { status: 'pending', intervalSec: data.intervalSec };
      if (code === 'slow_down') {
        data.intervalSec += 5;
        await this.#db
          .updateTable('sso_pending')
          .set({ data: JSON.stringify(data) })
          .where('id_hash', '=', idHash)
          .execute();
        return { status: 'pending', intervalSec: data.intervalSec };
      }
      await this.#db.deleteFrom('sso_pending').where('id_hash', '=', idHash).execute();
      throw new SpyglassError('UNAUTHENTICATED', `${p.displayName} device sign-in refused: ${reasonOf(err)}`);
    }
    const r = await this.#db.deleteFrom('sso_pending').where('id_hash', '=', idHash).executeTakeFirst();
    if (Number(r.numDeletedRows) !== 1) throw new SpyglassError('CONFLICT', 'this device sign-in was already finished');
    const user = await this.#signIn(p, await this.#oidcIdentity(p, config, tokens));
    const token = await this.#auth.createToken(user.id, { name: data.tokenName });
    return { status: 'done', user, token: token.token, provider: p };
  }

  /** Removes sign-ins that expired unfinished. */
  async sweep(): Promise<number> {
    const r = await this.#db.deleteFrom('sso_pending').where('expires_at', '<=', Date.now()).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
