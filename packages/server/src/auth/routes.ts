import { SpyglassError, loginBodySchema, meSchema, sessionStateSchema } from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import type { MembershipService } from '../pools/memberships.js';
import { roleInPool, scopeOf } from '../pools/scope.js';
import type { SsoService } from '../sso/service.js';
import type { AuthService } from './service.js';

function secureCookie(config: Config, request: FastifyRequest): boolean {
  const setting = config.session.secureCookie;
  if (setting !== 'auto') return setting;
  return request.protocol === 'https' || (config.publicUrl?.startsWith('https:') ?? false);
}

export function authRoutes(
  app: FastifyInstance,
  auth: AuthService,
  config: Config,
  memberships: MembershipService,
  sso: SsoService,
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const cookieName = config.session.cookieName;

  const clearCookie = (request: FastifyRequest, reply: FastifyReply): void => {
    void reply.clearCookie(cookieName, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookie(config, request),
    });
  };

  r.post(
    '/api/v1/auth/login',
    {
      config: { access: 'public', audit: 'auth.login' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the session cookie',
        body: loginBodySchema,
        response: { 200: meSchema },
      },
    },
    async (request, reply) => {
      request.audit.actorEmail = request.body.email;
      if (!sso.passwordAllowed(request.body.email))
        throw new SpyglassError('FORBIDDEN', 'password sign-in is turned off here; sign in with single sign-on');
      const user = await auth.login(request.body.email, request.body.password, request.ip);
      const session = await auth.createSession(user.id, {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      request.principal = { user, via: 'session', credentialId: session.idHash };
      request.audit.targetType = 'user';
      request.audit.targetId = user.id;
      void reply.setCookie(cookieName, session.cookie, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: secureCookie(config, request),
        expires: new Date(session.expiresAt),
      });
      return { user, via: 'session' as const };
    },
  );

  r.post(
    '/api/v1/auth/logout',
    {
      config: { access: 'public', audit: 'auth.logout' },
      schema: { tags: ['auth'], summary: 'End the current session', response: { 204: z.null() } },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p?.via === 'session') await auth.deleteSession(p.credentialId);
      clearCookie(request, reply);
      return reply.code(204).send(null);
    },
  );

  // The console's probe at start-up: a 200 either way, so a browser that is not signed in leaves no audit row.
  r.get(
    '/api/v1/auth/session',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Whether the caller is signed in (always 200), and as whom',
        response: { 200: sessionStateSchema },
      },
    },
    (request) => {
      const p = request.principal;
      return p === null ? { signedIn: false as const } : { signedIn: true as const, user: p.user, via: p.via };
    },
  );

  r.get(
    '/api/v1/me',
    {
      config: { access: 'user' },
      schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: meSchema } },
    },
    async (request) => {
      const p = request.principal;
      if (p === null) throw new SpyglassError('UNAUTHENTICATED', 'not signed in');
      const scope = scopeOf(p);
      const own = await memberships.list(p.user.id);
      // Each membership with the role that applies there (the higher of it and the global role).
      const effective = own.map((m) => ({ ...m, role: roleInPool(scope, m.poolId) as typeof m.role }));
      return { user: p.user, via: p.via, memberships: effective };
    },
  );
}
