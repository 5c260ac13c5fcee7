import type { Role } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { createHub, type TestHub } from '../test/kit/index.js';
import { installAuth } from './auth/plugin.js';
import type { AuthService } from './auth/service.js';

type Who = 'anonymous' | Role;
const WHO: Who[] = ['anonymous', 'viewer', 'developer', 'admin'];

/**
 * The expected access of every route. A route missing here fails the test, so a new route cannot ship without a
 * decision about who may call it.
 */
const EXPECTED: Record<string, 'public' | 'self' | Role> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/logout': 'public',
  'GET /api/v1/me': 'viewer',
  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/:id': 'admin',
  'PATCH /api/v1/users/:id': 'admin',
  'DELETE /api/v1/users/:id': 'admin',
  'GET /api/v1/tokens': 'viewer',
  'POST /api/v1/tokens': 'viewer',
  'DELETE /api/v1/tokens/:id': 'viewer',
  'GET /api/v1/pools': 'admin',
  'POST /api/v1/pools': 'admin',
  'GET /api/v1/pools/:pool': 'admin',
  'POST /api/v1/pools/:pool/rotate-key': 'admin',
  'DELETE /api/v1/pools/:pool': 'admin',
  'GET /api/v1/audit': 'admin',
  'GET /': 'public',
  'GET /*': 'public',
  // Live debugging
  'GET /api/v1/agents/connect': 'self', // pool key, checked by the gateway (gateway tests)
  'GET /api/v1/stream': 'viewer',
  'GET /api/v1/agents': 'viewer',
  'GET /api/v1/agents/:id': 'viewer',
  'DELETE /api/v1/agents/:id': 'admin',
  'GET /api/v1/agents/:id/sources': 'viewer',
  'GET /api/v1/agents/:id/sources/content': 'viewer',
  'POST /api/v1/actions': 'developer',
  'GET /api/v1/actions': 'viewer',
  'GET /api/v1/actions/:id': 'viewer',
  'GET /api/v1/actions/:id/agents': 'viewer',
  'DELETE /api/v1/actions/:id': 'developer',
  'GET /api/v1/actions/:id/logs': 'viewer',
  'GET /api/v1/actions/:id/snapshots': 'viewer',
  'GET /api/v1/actions/:id/snapshots/:hitId': 'viewer',
  'GET /api/v1/actions/:id/metrics': 'viewer',
  'GET /api/v1/metrics/prometheus': 'viewer',
};

const RANK: Record<Who, number> = { anonymous: 0, viewer: 1, developer: 2, admin: 3 };

function allowed(rule: 'public' | 'self' | Role, who: Who): boolean {
  if (rule === 'public' || rule === 'self') return true;
  return RANK[who] >= RANK[rule];
}

describe('RBAC: every route × every role', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub();
  });
  afterAll(async () => {
    await hub?.close();
  });

  const routes = (): Array<{ key: string; method: string; url: string }> =>
    hub.app.routeTable
      .filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/api/docs'))
      .map((r) => ({ key: `${r.method} ${r.url}`, method: r.method, url: r.url }));

  it('has an expectation for every registered route, and every expectation names a real route', () => {
    const keys = routes().map((r) => r.key);
    expect(
      keys.filter((k) => !(k in EXPECTED)),
      'routes without an RBAC expectation',
    ).toEqual([]);
    expect(
      Object.keys(EXPECTED).filter((k) => !keys.includes(k)),
      'expectations for missing routes',
    ).toEqual([]);
  });

  it('allows and denies exactly as expected, and audits every denial', async () => {
    const deniedRequestIds: string[] = [];
    const mismatches: string[] = [];
    for (const route of routes()) {
      const rule = EXPECTED[route.key];
      if (rule === undefined || rule === 'self') continue;
      const url = route.url.replace(/:[a-zA-Z]+/g, '00000000-0000-4000-8000-000000000000');
      for (const who of WHO) {
        const res = await hub.app.inject({
          method: route.method as 'GET',
          url,
          headers: who === 'anonymous' ? {} : hub.auth(who),
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
        });
        const denied = res.statusCode === 401 || res.statusCode === 403;
        const expectDenied = !allowed(rule, who);
        if (denied !== expectDenied) mismatches.push(`${route.key} as ${who}: got ${res.statusCode}`);
        if (expectDenied) {
          const code = JSON.parse(res.body).error?.code;
          if (code !== (who === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN'))
            mismatches.push(`${route.key} as ${who}: code ${code}`);
          deniedRequestIds.push(String(res.headers['x-request-id']));
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(deniedRequestIds.length).toBeGreaterThan(20);
    const audited = await hub.storage.db
      .selectFrom('audit_events')
      .select(['request_id', 'outcome'])
      .where('request_id', 'in', deniedRequestIds)
      .execute();
    const deniedAudited = new Set(audited.filter((a) => a.outcome === 'denied').map((a) => a.request_id));
    expect(
      deniedRequestIds.filter((id) => !deniedAudited.has(id)),
      'denials without an audit event',
    ).toEqual([]);
  });

  it('every state-changing route is audited', () => {
    const unsafe = hub.app.routeTable.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method));
    expect(unsafe.length).toBeGreaterThan(5);
  });

  it('refuses to register a route without an access rule, or a state-changing route without an audit name', async () => {
    const bare = Fastify();
    installAuth(bare, {} as AuthService, 'c');
    expect(() => bare.get('/x', () => 'x')).toThrow(/declares no config.access/);
    expect(() => bare.post('/y', { config: { access: 'admin' } }, () => 'y')).toThrow(/declares no config.audit/);
    expect(() => bare.post('/z', { config: { access: 'admin', audit: 'z.create' } }, () => 'z')).not.toThrow();
    await bare.close();
  });
});
