import { SpyglassError, roleAtLeast, type Role, type UserRole } from '@spyglass/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Access, RequestAudit } from '../http/context.js';
import { bestRole, scopeOf } from '../pools/scope.js';
import { checkOwnOrigin } from './origin.js';
import type { AuthService } from './service.js';

export interface RouteEntry {
  method: string;
  url: string;
  access: Access;
  websocket: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every registered route with its access rule (the RBAC test walks it). */
    routeTable: RouteEntry[];
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? '';
}

export function accessAllows(access: Access, role: string | undefined): boolean {
  switch (access) {
    case 'public':
    case 'self':
      return true;
    case 'user':
      return role !== undefined;
    case 'viewer':
    case 'developer':
    case 'admin':
      return role !== undefined && roleAtLeast(role as UserRole, access);
  }
}

/**
 * Authentication (session cookie or `Authorization: Bearer` API token) and authorisation (the route's
 * `config.access`) for every request, before its body is parsed. A request carried by the cookie that changes state,
 * or upgrades to a WebSocket, must name the hub's own origin (`publicUrl`, or the scheme and host it was sent to).
 */
export function installAuth(
  app: FastifyInstance,
  auth: AuthService,
  cookieName: string,
  publicUrl?: string,
  /** Loads the caller's roles per pool (pool id → role) with the principal. */
  poolRoles?: (userId: string) => Promise<ReadonlyMap<string, Role>>,
): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', null as unknown as RequestAudit);

  app.decorate('routeTable', [] as RouteEntry[]);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/docs')) route.config = { ...(route.config ?? {}), access: 'public' };
    const access = route.config?.access;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no config.access`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      app.routeTable.push({ method, url: route.url, access, websocket: route.websocket === true });
    }
    const unsafe = methods.some((m) => !SAFE_METHODS.has(m));
    if (unsafe && route.config?.audit === undefined && route.config?.auditSelf !== true) {
      throw new Error(`state-changing route ${String(route.method)} ${route.url} declares no config.audit`);
    }
  });

  app.addHook('onRequest', async (request) => {
    request.principal = null;
    request.audit = {};
    const access = request.routeOptions.config.access;
    if (access === undefined) return; // unmatched: the not-found handler answers

    const token = bearer(request);
    if (token !== undefined && access !== 'self') {
      const found = token.startsWith('sgt_') ? await auth.userForToken(token) : null;
      if (found === null) {
        if (access === 'public') return;
        throw new SpyglassError('UNAUTHENTICATED', 'the API token is invalid, expired or revoked');
      }
      request.principal = { user: found.user, via: 'token', credentialId: found.tokenId };
    } else if (token === undefined) {
      const cookie = request.cookies[cookieName];
      if (cookie !== undefined && cookie !== '') {
        const found = await auth.userForSession(cookie);
        if (found !== null) {
          request.principal = { user: found.user, via: 'session', credentialId: found.idHash };
          // SameSite=Lax keeps the cookie off cross-site POSTs, but a sibling port or subdomain is the same site, and
          // a WebSocket upgrade is a GET it lets through. Browsers send Origin on both (fetch POSTs from our own
          // pages included); a missing one is refused too. Programs use API tokens.
          const unsafe = !SAFE_METHODS.has(request.method);
          const upgrade = request.headers.upgrade?.toLowerCase() === 'websocket';
          if (unsafe || upgrade) {
            const check = checkOwnOrigin(
              request,
              publicUrl,
              upgrade ? 'a WebSocket upgrade' : 'a state-changing request',
            );
            if (!check.ok) throw new SpyglassError('FORBIDDEN', check.message);
          }
        }
      }
    }

    if (request.principal !== null && poolRoles !== undefined)
      request.principal.pools = await poolRoles(request.principal.user.id);
    if (access === 'public' || access === 'self') return;
    if (request.principal === null) throw new SpyglassError('UNAUTHENTICATED', 'sign in or send an API token');
    // A pool-scoped route admits the caller's best role in any pool; its handler checks the pool it touches.
    const role =
      request.routeOptions.config.poolScoped === true
        ? bestRole(scopeOf(request.principal))
        : request.principal.user.role;
    if (!accessAllows(access, role)) {
      throw new SpyglassError('FORBIDDEN', `this needs the ${access === 'user' ? 'viewer' : access} role or higher`);
    }
  });
}
