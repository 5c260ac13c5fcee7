import { SpyglassError, roleAtLeast } from '@spyglass/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Access, RequestAudit } from '../http/context.js';
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

/** An unsafe request carried by a cookie must come from our own origin (SameSite=Lax is the first line). */
function crossOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    const o = new URL(origin);
    // Normalise the Host header the same way (default ports dropped) before comparing.
    return o.host !== new URL(`${o.protocol}//${request.headers.host ?? ''}`).host;
  } catch {
    return true;
  }
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
      return role !== undefined && roleAtLeast(role as 'viewer', access);
  }
}

/**
 * Authentication (session cookie or `Authorization: Bearer` API token) and authorisation (the route's
 * `config.access`) for every request, before its body is parsed.
 */
export function installAuth(app: FastifyInstance, auth: AuthService, cookieName: string): void {
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
          if (!SAFE_METHODS.has(request.method) && crossOrigin(request)) {
            throw new SpyglassError('FORBIDDEN', 'cross-origin request refused');
          }
          // A WebSocket upgrade is a GET that SameSite=Lax lets through from a sibling site (another port, a
          // subdomain): with the cookie, it must name our own origin. Browsers always send Origin on upgrades;
          // programs use API tokens.
          if (request.headers.upgrade?.toLowerCase() === 'websocket') {
            const origin = request.headers.origin;
            if (origin === undefined || crossOrigin(request))
              throw new SpyglassError(
                'FORBIDDEN',
                origin === undefined
                  ? 'a WebSocket upgrade with the session cookie must carry an Origin header'
                  : 'cross-origin WebSocket upgrade refused',
              );
          }
        }
      }
    }

    if (access === 'public' || access === 'self') return;
    if (request.principal === null) throw new SpyglassError('UNAUTHENTICATED', 'sign in or send an API token');
    if (!accessAllows(access, request.principal.user.role)) {
      throw new SpyglassError('FORBIDDEN', `this needs the ${access === 'user' ? 'viewer' : access} role or higher`);
    }
  });
}
