import { hostname } from 'node:os';
import {
  SpyglassError,
  ssoCliExchangeBodySchema,
  ssoDevicePollBodySchema,
  ssoDevicePollSchema,
  ssoDeviceStartBodySchema,
  ssoDeviceStartSchema,
  ssoProviderIdSchema,
  ssoProvidersSchema,
  ssoTokenResultSchema,
} from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditService } from '../audit/service.js';
import type { Config } from '../config/config.js';
import type { AuthService } from '../auth/service.js';
import type { SsoService } from './service.js';

const STATE_COOKIE = 'spyglass_sso_state';
const STATE_PATH = '/api/v1/auth/sso';

function secureCookie(config: Config, request: FastifyRequest): boolean {
  const setting = config.session.secureCookie;
  if (setting !== 'auto') return setting;
  return request.protocol === 'https' || (config.publicUrl?.startsWith('https:') ?? false);
}

/** Only paths inside the console are followed after signing in. */
function safeReturn(to: string | undefined): string {
  if (to === undefined || !to.startsWith('/') || to.startsWith('//') || to.startsWith('/login')) return '/agents';
  return to;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page a failed browser sign-in lands on: what went wrong, and the way back. */
function errorPage(reply: FastifyReply, err: unknown, requestId: string): FastifyReply {
  const known = err instanceof SpyglassError;
  const code = known ? err.code : 'INTERNAL';
  // Our own coded errors say what went wrong; anything else is not shown (its details are in the log).
  const message = known ? err.message : 'the sign-in failed unexpectedly';
  const status = known ? err.status : 500;
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · Spyglass</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}` +
        `p.error{background:#fdecea;border:1px solid #f5c2c0;padding:.75rem;border-radius:4px}</style></head><body>` +
        `<h1>Sign-in failed</h1><p class="error" role="alert" id="sso-error">${escapeHtml(message)}</p>` +
        `<p><small>${escapeHtml(code)} · request ${escapeHtml(requestId)}</small></p>` +
        `<p><a href="/login">Back to sign-in</a></p></body></html>`,
    );
}

/** The redirect URI of a provider, on the hub's public URL (or the address the browser used). */
function callbackUrl(config: Config, request: FastifyRequest, provider: string): string {
  const base = config.publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
  return `${base}/api/v1/auth/sso/${provider}/callback`;
}

/**
 * Single sign-on routes: the public provider list, the browser's start and callback, and the CLI's two ways in (the
 * loopback redirect's code exchange and the device-code flow). Sign-ins are audited as `auth.sso.login`.
 */
export function ssoRoutes(
  app: FastifyInstance,
  deps: { sso: SsoService; auth: AuthService; audit: AuditService; config: Config },
): void {
  const { sso, auth, audit, config } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const providerParams = z.object({ provider: z.string().max(100) });

  r.get(
    '/api/v1/auth/providers',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Single sign-on providers for the sign-in page, and whether password sign-in is open',
        response: { 200: ssoProvidersSchema },
      },
    },
    () => sso.list(),
  );

  r.get(
    '/api/v1/auth/sso/:provider/start',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sends the browser to the provider (authorization code + PKCE)',
        params: providerParams,
        querystring: z.object({
          returnTo: z.string().max(2000).optional(),
          /** The CLI's loopback listener (`http://127.0.0.1:PORT/callback`) and its PKCE challenge. */
          cliPort: z.coerce.number().int().min(1024).max(65535).optional(),
          cliChallenge: z
            .string()
            .regex(/^[A-Za-z0-9_-]{43}$/)
            .optional(),
          tokenName: z.string().trim().min(1).max(100).optional(),
        }),
      },
    },
    async (request, reply) => {
      try {
        const q = request.query;
        if ((q.cliPort === undefined) !== (q.cliChallenge === undefined))
          throw new SpyglassError('INVALID_INPUT', 'cliPort and cliChallenge go together');
        const { url, state } = await sso.start(request.params.provider, {
          redirectUri: callbackUrl(config, request, request.params.provider),
          returnTo: safeReturn(q.returnTo),
          ...(q.cliPort === undefined
            ? {}
            : {
                cli: {
                  port: q.cliPort,
                  challenge: q.cliChallenge!,
                  tokenName: q.tokenName ?? `cli@${hostname()}`.slice(0, 100),
                },
              }),
        });
        void reply.setCookie(STATE_COOKIE, state, {
          path: STATE_PATH,
          httpOnly: true,
          sameSite: 'lax',
          secure: secureCookie(config, request),
          maxAge: Math.floor(config.sso.loginTtlMs / 1000),
        });
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      } catch (err) {
        request.log.warn({ reason: (err as Error).message, provider: request.params.provider }, 'sso start failed');
        return errorPage(reply, err, request.id);
      }
    },
  );

  r.get(
    '/api/v1/auth/sso/:provider/callback',
    {
      config: { access: 'public', audit: 'auth.sso.login', auditReads: true },
      schema: {
        tags: ['auth'],
        summary: "The provider's redirect back: checks state, nonce and issuer, signs the user in",
        params: providerParams,
      },
    },
    async (request, reply) => {
      const provider = request.params.provider;
      request.audit.details = { provider };
      const query = new URLSearchParams(request.url.split('?')[1] ?? '');
      void reply.clearCookie(STATE_COOKIE, { path: STATE_PATH });
      try {
        const result = await sso.callback(provider, query, request.cookies[STATE_COOKIE]);
        request.audit.actorEmail = result.user.email;
        request.audit.targetType = 'user';
        request.audit.targetId = result.user.id;
        if (result.session) {
          const session = await auth.createSession(result.user.id, {
            ip: request.ip,
            userAgent: request.headers['user-agent'] ?? null,
          });
          request.principal = { user: result.user, via: 'session', credentialId: session.idHash };
          void reply.setCookie(config.session.cookieName, session.cookie, {
            path: '/',
            httpOnly: true,
            sameSite: 'lax',
            secure: secureCookie(config, request),
            expires: new Date(session.expiresAt),
          });
        } else {
          request.audit.details = { provider, cli: true };
        }
        return reply.header('cache-control', 'no-store').redirect(result.location, 302);
      } catch (err) {
        request.audit.details = { provider, reason: (err as Error).message };
        request.log.warn({ provider, reason: (err as Error).message }, 'single sign-on refused');
        return errorPage(reply, err, request.id);
      }
    },
  );

  /** Writes the audit event of a CLI sign-in (these routes audit themselves: the outcome is known only here). */
  const record = async (
    request: FastifyRequest,
    outcome: 'success' | 'failure',
    status: number,
    details: Record<string, unknown>,
    user?: { id: string; email: string },
  ): Promise<void> => {
    await audit.record({
      actorType: user === undefined ? 'anonymous' : 'user',
      actorId: user?.id ?? null,
      actorEmail: user?.email ?? null,
      action: 'auth.sso.login',
      targetType: user === undefined ? null : 'user',
      targetId: user?.id ?? null,
      outcome,
      status,
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      requestId: request.id,
      details: { method: request.method, route: request.routeOptions.url ?? null, ...details },
    });
  };
  const failed = async (request: FastifyRequest, err: unknown, details: Record<string, unknown>): Promise<never> => {
    const status = err instanceof SpyglassError ? err.status : 500;
    await record(request, 'failure', status, { ...details, reason: (err as Error).message });
    throw err;
  };

  r.post(
    '/api/v1/auth/sso/cli/exchange',
    {
      config: { access: 'public', auditSelf: true },
      schema: {
        tags: ['auth'],
        summary: "The CLI trades its loopback redirect's one-time code and PKCE verifier for an API token",
        body: ssoCliExchangeBodySchema,
        response: { 200: ssoTokenResultSchema },
      },
    },
    async (request) => {
      try {
        const { user, token } = await sso.exchange(request.body.code, request.body.verifier);
        await record(request, 'success', 200, { flow: 'cli-browser' }, user);
        return { user, via: 'token' as const, token };
      } catch (err) {
        return failed(request, err, { flow: 'cli-browser' });
      }
    },
  );

  r.post(
    '/api/v1/auth/sso/:provider/device',
    {
      config: { access: 'public', auditSelf: true },
      schema: {
        tags: ['auth'],
        summary: 'Starts a device-code sign-in (the CLI shows the code and the page to enter it on)',
        params: z.object({ provider: ssoProviderIdSchema }),
        body: ssoDeviceStartBodySchema,
        response: { 200: ssoDeviceStartSchema },
      },
    },
    async (request) => {
      try {
        return await sso.deviceStart(request.params.provider, request.body.tokenName);
      } catch (err) {
        return failed(request, err, { flow: 'device', provider: request.params.provider });
      }
    },
  );

  r.post(
    '/api/v1/auth/sso/device/poll',
    {
      config: { access: 'public', auditSelf: true },
      schema: {
        tags: ['auth'],
        summary: 'Polls a device-code sign-in: pending, or done with an API token',
        body: ssoDevicePollBodySchema,
        response: { 200: ssoDevicePollSchema },
      },
    },
    async (request) => {
      try {
        const res = await sso.devicePoll(request.body.handle);
        if (res.status === 'pending') return res;
        await record(request, 'success', 200, { flow: 'device', provider: res.provider.id }, res.user);
        return { status: 'done' as const, user: res.user, via: 'token' as const, token: res.token };
      } catch (err) {
        return failed(request, err, { flow: 'device' });
      }
    },
  );
}
