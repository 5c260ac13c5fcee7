import type { Role } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { Client as McpClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { WebSocket } from 'ws';
import {
  ADMIN,
  SimAgent,
  USER_PASSWORD,
  createHub,
  logAction,
  testDatabases,
  waitFor,
  type TestHub,
} from '../test/kit/index.js';
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
  // Single sign-on: the sign-in page's list, the browser's way through the provider, the CLI's code exchange and device
  // flow (test/sso/sso.test.ts, packages/web/test/sso.test.ts)
  'GET /api/v1/auth/providers': 'public',
  'GET /api/v1/auth/sso/:provider/start': 'public',
  'GET /api/v1/auth/sso/:provider/callback': 'public',
  'POST /api/v1/auth/sso/cli/exchange': 'public',
  'POST /api/v1/auth/sso/:provider/device': 'public',
  'POST /api/v1/auth/sso/device/poll': 'public',
  'GET /api/v1/me': 'viewer',
  'GET /api/v1/auth/session': 'public',
  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/:id': 'admin',
  'PATCH /api/v1/users/:id': 'admin',
  'POST /api/v1/users/:id/unlock': 'admin',
  'DELETE /api/v1/users/:id': 'admin',
  'GET /api/v1/users/:id/memberships': 'admin',
  'PUT /api/v1/users/:id/memberships/:pool': 'admin',
  'DELETE /api/v1/users/:id/memberships/:pool': 'admin',
  'GET /api/v1/tokens': 'viewer',
  'POST /api/v1/tokens': 'viewer',
  'DELETE /api/v1/tokens/:id': 'viewer',
  'GET /api/v1/pools': 'admin',
  'POST /api/v1/pools': 'admin',
  'GET /api/v1/pools/:pool': 'admin',
  'POST /api/v1/pools/:pool/rotate-key': 'admin',
  'DELETE /api/v1/pools/:pool': 'admin',
  'GET /api/v1/pools/:pool/policy': 'viewer',
  'PUT /api/v1/pools/:pool/policy': 'admin',
  'GET /api/v1/audit': 'admin',
  'GET /api/v1/audit/sinks': 'admin',
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
  // Traces
  'POST /v1/traces': 'self', // OTLP export: pool key, checked by the receiver (test/traces/otlp-sdk.test.ts)
  'GET /api/v1/traces': 'viewer',
  'GET /api/v1/traces/:traceId': 'viewer',
  'GET /api/v1/traces/services': 'viewer',
  'GET /api/v1/traces/operations': 'viewer',
  'GET /api/jaeger/api/services': 'viewer',
  'GET /api/jaeger/api/services/:service/operations': 'viewer',
  'GET /api/jaeger/api/operations': 'viewer',
  'GET /api/jaeger/api/traces': 'viewer',
  'GET /api/jaeger/api/traces/:traceId': 'viewer',
  'GET /api/jaeger/api/dependencies': 'viewer',
  // Trace-based tests: reading is for everyone signed in; applying and running (a run sends requests) is not
  'POST /api/v1/test-resources': 'developer',
  'GET /api/v1/test-resources/:type': 'viewer',
  'GET /api/v1/test-resources/:type/:id': 'viewer',
  'DELETE /api/v1/test-resources/:type/:id': 'developer',
  'GET /api/v1/tests': 'viewer',
  'POST /api/v1/tests/:id/run': 'developer',
  'GET /api/v1/tests/:id/runs': 'viewer',
  'GET /api/v1/tests/:id/runs/:runNumber': 'viewer',
  'GET /api/v1/tests/:id/runs/:runNumber/trace': 'viewer',
  'POST /api/v1/tests/:id/runs/:runNumber/stop': 'developer',
  'POST /api/v1/test-suites/:id/run': 'developer',
  'GET /api/v1/test-suites/:id/runs/:runNumber': 'viewer',
  'GET /api/v1/tests/runners': 'viewer',
  'GET /api/v1/tests/runners/connect': 'self', // pool key, checked by the runner registry (test/trace-tests/runner.test.ts)
  'POST /api/v1/k8s/audit': 'self', // refused with how to name the cluster (test/k8s/audit-ingest.test.ts)
  'POST /api/v1/k8s/audit/:cluster': 'self', // audit webhook: pool key, checked by the route (test/k8s/audit-ingest.test.ts)
  'GET /mcp': 'self', // MCP: API token as bearer, checked by the route; tools check roles (test/mcp/mcp.test.ts)
  'POST /mcp': 'self',
  'DELETE /mcp': 'self',
  'GET /.well-known/oauth-protected-resource/mcp': 'public', // RFC 9728 metadata of /mcp
  'GET /.well-known/oauth-protected-resource': 'public',
  'GET /api/v1/assistant': 'viewer',
  'GET /api/v1/assistant/chat': 'viewer', // WebSocket; tools run as the user (test/assistant/assistant.test.ts)
  'GET /api/v1/assistant/sessions': 'viewer', // each user sees only their own conversations
  'GET /api/v1/assistant/sessions/:id': 'viewer',
  'DELETE /api/v1/assistant/sessions/:id': 'viewer',
  'GET /api/v1/assistant/memory': 'viewer',
  'DELETE /api/v1/assistant/memory/:id': 'viewer',
  'GET /api/v1/k8s/clusters': 'viewer',
  'GET /api/v1/k8s/objects': 'viewer',
  'GET /api/v1/k8s/trace': 'viewer',
  'GET /api/v1/k8s/diff': 'viewer',
  'GET /api/v1/k8s/diagnostics': 'viewer',
  'POST /api/v1/k8s/import/:cluster': 'developer',
};

/** A test that sends nothing (it adopts a trace) and waits for it: safe to run in the RBAC hub. */
const adoptingTest = (id: string) => ({
  type: 'Test',
  spec: {
    id,
    name: id,
    trigger: { type: 'traceid', traceid: { id: 'ab'.repeat(16) } },
    specs: [{ selector: 'span[name="x"]', assertions: ['attr:name = "x"'] }],
  },
});
const applyTests = async (hub: TestHub, ...resources: unknown[]): Promise<void> => {
  const res = await hub.api('POST', '/api/v1/test-resources', { resources });
  if (res.status !== 200) throw new Error(`apply: ${res.status} ${JSON.stringify(res.body)}`);
};

/** A request as `app.inject` takes it. */
interface Call {
  url: string;
  payload?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Sent without the admin's API token (sign-in and sign-out carry their own credentials). */
  anonymous?: boolean;
}

/**
 * The audit name of every state-changing route and how to call it successfully (after the setup it needs). A
 * state-changing route missing here fails the test, so a new one cannot ship without its audit event being checked.
 */
/**
 * State-changing routes that audit themselves instead of once per request (`config.auditSelf`): ingest endpoints
 * that record refusals once per source and minute (their own tests check that).
 */
const SELF_AUDITED = new Set([
  'POST /v1/traces',
  'POST /api/v1/k8s/audit',
  'POST /api/v1/k8s/audit/:cluster',
  'POST /mcp', // every tool call is audited as mcp.tool.call (test/mcp/mcp.test.ts)
  'DELETE /mcp',
  // The CLI's single sign-on: audited as auth.sso.login with the outcome only the handler knows (test/sso, web/test/sso)
  'POST /api/v1/auth/sso/cli/exchange',
  'POST /api/v1/auth/sso/:provider/device',
  'POST /api/v1/auth/sso/device/poll',
]);

const AUDITED: Record<string, { audit: string; call: (hub: TestHub) => Promise<Call> }> = {
  'POST /api/v1/auth/login': {
    audit: 'auth.login',
    call: () => Promise.resolve({ url: '/api/v1/auth/login', payload: { ...ADMIN }, anonymous: true }),
  },
  'POST /api/v1/auth/logout': {
    audit: 'auth.logout',
    call: async (hub) => {
      const login = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN } });
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      return { url: '/api/v1/auth/logout', headers: { cookie, origin: 'http://localhost' }, anonymous: true };
    },
  },
  'POST /api/v1/users': {
    audit: 'user.create',
    call: () =>
      Promise.resolve({
        url: '/api/v1/users',
        payload: { email: 'audited-new@example.test', name: 'New', role: 'viewer', password: USER_PASSWORD },
      }),
  },
  'PATCH /api/v1/users/:id': {
    audit: 'user.update',
    call: async (hub) => {
      const user = await hub.app.services.users.create({
        email: 'audited-patch@example.test',
        name: 'Patch',
        role: 'viewer',
        password: USER_PASSWORD,
      });
      return { url: `/api/v1/users/${user.id}`, payload: { name: 'Patched' } };
    },
  },
  'POST /api/v1/users/:id/unlock': {
    audit: 'user.unlock',
    call: (hub) => Promise.resolve({ url: `/api/v1/users/${hub.userIds.viewer}/unlock` }),
  },
  'DELETE /api/v1/users/:id': {
    audit: 'user.delete',
    call: async (hub) => {
      const user = await hub.app.services.users.create({
        email: 'audited-delete@example.test',
        name: 'Delete',
        role: 'viewer',
        password: USER_PASSWORD,
      });
      return { url: `/api/v1/users/${user.id}` };
    },
  },
  'PUT /api/v1/users/:id/memberships/:pool': {
    audit: 'membership.grant',
    call: async (hub) => ({
      url: `/api/v1/users/${hub.userIds.viewer}/memberships/${(await hub.createPool('audited-grant')).name}`,
      payload: { role: 'developer' },
    }),
  },
  'DELETE /api/v1/users/:id/memberships/:pool': {
    audit: 'membership.revoke',
    call: async (hub) => {
      const pool = await hub.createPool('audited-revoke');
      await hub.app.services.memberships.grant(hub.userIds.viewer, pool.name, 'developer');
      return { url: `/api/v1/users/${hub.userIds.viewer}/memberships/${pool.name}` };
    },
  },
  'POST /api/v1/tokens': {
    audit: 'token.create',
    call: () => Promise.resolve({ url: '/api/v1/tokens', payload: { name: 'audited' } }),
  },
  'DELETE /api/v1/tokens/:id': {
    audit: 'token.delete',
    call: async (hub) => {
      const token = await hub.app.services.auth.createToken(hub.userIds.admin, { name: 'audited-delete' });
      return { url: `/api/v1/tokens/${token.id}` };
    },
  },
  'DELETE /api/v1/assistant/sessions/:id': {
    audit: 'assistant.session.delete',
    call: async (hub) => {
      const id = '6c1d2a8e-0000-4000-8000-00000000a551';
      const now = Date.now();
      await hub.storage.db
        .insertInto('assistant_sessions')
        .values({ id, user_id: hub.userIds.admin, title: 'x', message_count: 0, created_at: now, updated_at: now })
        .execute();
      return { url: `/api/v1/assistant/sessions/${id}` };
    },
  },
  'DELETE /api/v1/assistant/memory/:id': {
    audit: 'assistant.memory.delete',
    call: async (hub) => {
      const id = '6c1d2a8e-0000-4000-8000-00000000fac7';
      await hub.storage.db
        .insertInto('assistant_facts')
        .values({ id, user_id: hub.userIds.admin, content: 'x', keywords: '', created_at: Date.now() })
        .execute();
      return { url: `/api/v1/assistant/memory/${id}` };
    },
  },
  'POST /api/v1/pools': {
    audit: 'pool.create',
    call: () => Promise.resolve({ url: '/api/v1/pools', payload: { name: 'audited-create' } }),
  },
  'POST /api/v1/pools/:pool/rotate-key': {
    audit: 'pool.rotate_key',
    call: async (hub) => ({ url: `/api/v1/pools/${(await hub.createPool('audited-rotate')).id}/rotate-key` }),
  },
  'PUT /api/v1/pools/:pool/policy': {
    audit: 'pool.policy.set',
    call: async (hub) => ({
      url: `/api/v1/pools/${(await hub.createPool('audited-policy')).name}/policy`,
      payload: { redaction: { names: ['iban'] } },
    }),
  },
  'DELETE /api/v1/pools/:pool': {
    audit: 'pool.delete',
    call: async (hub) => ({ url: `/api/v1/pools/${(await hub.createPool('audited-delete')).id}` }),
  },
  'DELETE /api/v1/agents/:id': {
    audit: 'agent.delete',
    call: async (hub) => {
      const pool = await hub.createPool('audited-agent');
      const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
      void agent.closed; // the delete disconnects it
      return { url: `/api/v1/agents/${welcome.agentId}` };
    },
  },
  'POST /api/v1/test-resources': {
    audit: 'test.apply',
    call: () =>
      Promise.resolve({ url: '/api/v1/test-resources', payload: { resources: [adoptingTest('rbac-apply')] } }),
  },
  'POST /api/v1/k8s/import/:cluster': {
    audit: 'k8s.import',
    call: () =>
      Promise.resolve({
        url: '/api/v1/k8s/import/rbac',
        payload: {
          events: [
            {
              kind: 'Event',
              apiVersion: 'audit.k8s.io/v1',
              auditID: 'rbac-import',
              stage: 'ResponseComplete',
              verb: 'delete',
              user: { username: 'alice' },
              objectRef: { resource: 'configmaps', namespace: 'default', name: 'x', apiVersion: 'v1' },
              responseStatus: { code: 200 },
              requestReceivedTimestamp: '2026-12-03T10:00:00.000000Z',
              stageTimestamp: '2026-12-03T10:00:00.010000Z',
            },
          ],
        },
      }),
  },
  'DELETE /api/v1/test-resources/:type/:id': {
    audit: 'test.delete',
    call: async (hub) => {
      await applyTests(hub, adoptingTest('rbac-delete'));
      return { url: '/api/v1/test-resources/Test/rbac-delete' };
    },
  },
  'POST /api/v1/tests/:id/run': {
    audit: 'test.run',
    call: async (hub) => {
      await applyTests(hub, adoptingTest('rbac-run'));
      return { url: '/api/v1/tests/rbac-run/run', payload: {} };
    },
  },
  'POST /api/v1/tests/:id/runs/:runNumber/stop': {
    audit: 'test.stop',
    call: async (hub) => {
      await applyTests(hub, adoptingTest('rbac-stop'));
      const run = await hub.api<{ runNumber: number }>('POST', '/api/v1/tests/rbac-stop/run', {});
      return { url: `/api/v1/tests/rbac-stop/runs/${run.body.runNumber}/stop` };
    },
  },
  'POST /api/v1/test-suites/:id/run': {
    audit: 'test.suite.run',
    call: async (hub) => {
      await applyTests(hub, adoptingTest('rbac-step'), {
        type: 'TestSuite',
        spec: { id: 'rbac-suite', name: 'rbac-suite', steps: ['rbac-step'] },
      });
      return { url: '/api/v1/test-suites/rbac-suite/run', payload: {} };
    },
  },
  'POST /api/v1/actions': {
    audit: 'action.create',
    call: async (hub) => ({
      url: '/api/v1/actions',
      payload: logAction((await hub.createPool('audited-action')).name),
    }),
  },
  'DELETE /api/v1/actions/:id': {
    audit: 'action.delete',
    call: async (hub) => {
      const pool = await hub.createPool('audited-action-delete');
      const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name));
      return { url: `/api/v1/actions/${created.body.id}` };
    },
  },
};

const RANK: Record<Who, number> = { anonymous: 0, viewer: 1, developer: 2, admin: 3 };

function allowed(rule: 'public' | 'self' | Role, who: Who): boolean {
  if (rule === 'public' || rule === 'self') return true;
  return RANK[who] >= RANK[rule];
}

describe.each(testDatabases())('RBAC: every route × every role on $dialect', (database) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
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

  it('every state-changing route writes one audit event with its audit name when called', async () => {
    const unsafe = hub.app.routeTable
      .filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method))
      .map((r) => `${r.method} ${r.url}`)
      .filter((k) => !SELF_AUDITED.has(k));
    expect(
      unsafe.filter((k) => !(k in AUDITED)),
      'state-changing routes without an audit expectation',
    ).toEqual([]);
    expect(
      Object.keys(AUDITED).filter((k) => !unsafe.includes(k)),
      'audit expectations for missing routes',
    ).toEqual([]);

    const wrong: string[] = [];
    for (const [i, key] of unsafe.entries()) {
      const { audit, call } = AUDITED[key]!;
      const { url, payload, headers, anonymous } = await call(hub);
      const requestId = `audit-check-${i}`;
      const res = await hub.app.inject({
        method: key.split(' ')[0] as 'POST',
        url,
        headers: { ...(anonymous === true ? {} : hub.auth('admin')), ...headers, 'x-request-id': requestId },
        ...(payload === undefined ? {} : { payload }),
      });
      if (res.statusCode >= 300) {
        wrong.push(`${key}: answered ${res.statusCode} ${res.body}`);
        continue;
      }
      const events = await hub.storage.db
        .selectFrom('audit_events')
        .select(['action', 'outcome', 'status'])
        .where('request_id', '=', requestId)
        .execute();
      const seen = JSON.stringify(events);
      if (events.length !== 1) wrong.push(`${key}: ${events.length} audit events ${seen}`);
      else if (events[0]!.action !== audit || events[0]!.outcome !== 'success' || events[0]!.status !== res.statusCode)
        wrong.push(`${key}: expected ${audit} success ${res.statusCode}, got ${seen}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('route registration', () => {
  it('refuses to register a route without an access rule, or a state-changing route without an audit name', async () => {
    const bare = Fastify();
    installAuth(bare, {} as AuthService, 'c');
    expect(() => bare.get('/x', () => 'x')).toThrow(/declares no config.access/);
    expect(() => bare.post('/y', { config: { access: 'admin' } }, () => 'y')).toThrow(/declares no config.audit/);
    expect(() => bare.post('/z', { config: { access: 'admin', audit: 'z.create' } }, () => 'z')).not.toThrow();
    await bare.close();
  });
});

/**
 * The pool dimension (docs/adr/0013-roles-per-pool.md): the same hub, two pools with an agent and an action each,
 * and users whose roles differ per pool. Every row is a real HTTP request; the stream and MCP rows go over a real
 * WebSocket and MCP's Streamable HTTP.
 */
describe.each(testDatabases())('RBAC: roles per pool on $dialect', (database) => {
  type PoolWho = 'devA' | 'viewerDevA' | 'viewerA' | 'adminA';
  let hub: TestHub;
  const tokens = {} as Record<PoolWho, string>;
  const ids = {} as Record<PoolWho, string>;
  const agents: SimAgent[] = [];
  const mcpClients: McpClient[] = [];
  let poolA: { id: string; name: string; key: string };
  let poolB: { id: string; name: string; key: string };
  let agentA: string;
  let agentB: string;
  let actionA: string;
  let actionB: string;

  const send = async (who: PoolWho | 'admin', method: string, path: string, body?: unknown) => {
    const token = who === 'admin' ? hub.tokens.admin : tokens[who];
    const res = await fetch(`${hub.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  };

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    // B's service sorts first: a filter applied after paging would leave devA's first page of one empty.
    poolA = await hub.createPool('team-a');
    poolB = await hub.createPool('team-b');
    const a = await SimAgent.connect(hub.wsUrl, poolA.key, {
      service: { name: 'zz-payments', version: '1', environment: 'test' },
    });
    const b = await SimAgent.connect(hub.wsUrl, poolB.key, {
      service: { name: 'aa-search', version: '1', environment: 'test' },
    });
    agents.push(a.agent, b.agent);
    agentA = a.welcome.agentId;
    agentB = b.welcome.agentId;
    const users = hub.app.services.users;
    const setup: Record<PoolWho, { global: 'none' | 'viewer'; inA: 'admin' | 'developer' | 'viewer' }> = {
      devA: { global: 'none', inA: 'developer' },
      viewerDevA: { global: 'viewer', inA: 'developer' },
      viewerA: { global: 'none', inA: 'viewer' },
      adminA: { global: 'none', inA: 'admin' },
    };
    for (const [who, { global, inA }] of Object.entries(setup) as [PoolWho, (typeof setup)[PoolWho]][]) {
      const user = await users.create({
        email: `${who.toLowerCase()}@example.test`,
        name: who,
        role: global,
        password: USER_PASSWORD,
      });
      ids[who] = user.id;
      tokens[who] = (await hub.app.services.auth.createToken(user.id, { name: who })).token;
      const granted = await send('admin', 'PUT', `/api/v1/users/${user.id}/memberships/${poolA.name}`, { role: inA });
      if (granted.status !== 200) throw new Error(`grant: ${granted.status} ${JSON.stringify(granted.body)}`);
    }
    actionA = (await send('admin', 'POST', '/api/v1/actions', logAction(poolA.name))).body.id;
    actionB = (await send('admin', 'POST', '/api/v1/actions', logAction(poolB.name))).body.id;
  });
  afterAll(async () => {
    for (const c of mcpClients) await c.close().catch(() => undefined);
    for (const a of agents) await a.close().catch(() => undefined);
    await hub?.close();
  });

  it('lists, grants and revokes memberships through the admin API, with the effective role on /me', async () => {
    const list = await send('admin', 'GET', `/api/v1/users/${ids.viewerDevA}/memberships`);
    expect(list.status).toBe(200);
    expect(list.body.items).toMatchObject([
      { poolId: poolA.id, poolName: 'team-a', role: 'developer', source: 'manual' },
    ]);
    const me = await send('viewerA', 'GET', '/api/v1/me');
    expect(me.body).toMatchObject({ user: { role: 'none' }, memberships: [{ poolName: 'team-a', role: 'viewer' }] });

    const unknownPool = await send('admin', 'PUT', `/api/v1/users/${ids.viewerA}/memberships/nope`, { role: 'viewer' });
    expect(unknownPool.status).toBe(404);
    const badRole = await send('admin', 'PUT', `/api/v1/users/${ids.viewerA}/memberships/team-b`, { role: 'owner' });
    expect(badRole.status).toBe(400);
    expect(JSON.stringify(badRole.body.error.issues)).toMatch(/body\.role/);
    // A pool member is not an admin of memberships.
    expect((await send('devA', 'GET', `/api/v1/users/${ids.devA}/memberships`)).status).toBe(403);

    // Granted, viewerA sees B at once (memberships are read per request); revoked, B is gone again.
    expect(
      (await send('admin', 'PUT', `/api/v1/users/${ids.viewerA}/memberships/team-b`, { role: 'viewer' })).status,
    ).toBe(200);
    expect((await send('viewerA', 'GET', `/api/v1/agents/${agentB}`)).status).toBe(200);
    expect((await send('admin', 'DELETE', `/api/v1/users/${ids.viewerA}/memberships/team-b`)).status).toBe(204);
    expect((await send('viewerA', 'GET', `/api/v1/agents/${agentB}`)).status).toBe(404);
    expect((await send('admin', 'DELETE', `/api/v1/users/${ids.viewerA}/memberships/team-b`)).status).toBe(404);
  });

  it('allows and denies per pool exactly as expected over REST', async () => {
    // [who, method, path, body, expected status]
    const table: [PoolWho, string, () => string, (() => unknown) | null, number][] = [
      // a developer of A (no global role): A fully, B not at all (unknown, as an id that does not exist)
      ['devA', 'GET', () => `/api/v1/agents/${agentA}`, null, 200],
      ['devA', 'GET', () => `/api/v1/agents/${agentB}`, null, 404],
      ['devA', 'GET', () => `/api/v1/agents/${agentB}/sources`, null, 404],
      ['devA', 'GET', () => `/api/v1/agents/${agentB}/sources/content?path=src/x.ts`, null, 404],
      // deleting agents needs admin: no role of devA's anywhere admits it, whatever the pool
      ['devA', 'DELETE', () => `/api/v1/agents/${agentA}`, null, 403],
      ['devA', 'DELETE', () => `/api/v1/agents/${agentB}`, null, 403],
      ['devA', 'GET', () => `/api/v1/actions/${actionA}`, null, 200],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}`, null, 404],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}/agents`, null, 404],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}/logs`, null, 404],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}/snapshots`, null, 404],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}/snapshots/1`, null, 404],
      ['devA', 'GET', () => `/api/v1/actions/${actionB}/metrics`, null, 404],
      ['devA', 'DELETE', () => `/api/v1/actions/${actionB}`, null, 404],
      ['devA', 'POST', () => '/api/v1/actions', () => logAction(poolA.name), 201],
      ['devA', 'POST', () => '/api/v1/actions', () => logAction(poolB.name), 403],
      // trace reads are pool-scoped: admitted, filtered to A's spans (test/traces/pool-scope.test.ts)
      ['devA', 'GET', () => '/api/v1/traces', null, 200],
      ['devA', 'GET', () => '/api/v1/traces/services', null, 200],
      ['devA', 'GET', () => '/api/jaeger/api/services', null, 200],
      // not pool-scoped: need a global role
      ['devA', 'GET', () => '/api/v1/metrics/prometheus', null, 403],
      ['devA', 'GET', () => '/api/v1/tests', null, 403],
      ['devA', 'GET', () => '/api/v1/k8s/clusters', null, 403],
      ['devA', 'GET', () => '/api/v1/pools', null, 403],
      // a viewer of A only: reads A, changes nothing
      ['viewerA', 'GET', () => `/api/v1/actions/${actionA}/logs`, null, 200],
      ['viewerA', 'POST', () => '/api/v1/actions', () => logAction(poolA.name), 403],
      ['viewerA', 'DELETE', () => `/api/v1/actions/${actionA}`, null, 403],
      // a global viewer and developer of A: sees both, changes only A
      ['viewerDevA', 'GET', () => `/api/v1/agents/${agentB}`, null, 200],
      ['viewerDevA', 'GET', () => `/api/v1/actions/${actionB}/logs`, null, 200],
      ['viewerDevA', 'POST', () => '/api/v1/actions', () => logAction(poolA.name), 201],
      ['viewerDevA', 'POST', () => '/api/v1/actions', () => logAction(poolB.name), 403],
      ['viewerDevA', 'DELETE', () => `/api/v1/actions/${actionB}`, null, 403],
      ['viewerDevA', 'GET', () => '/api/v1/traces', null, 200],
      // a pool's agent policy: read by whoever sees the pool, set by an admin of that pool
      ['devA', 'GET', () => `/api/v1/pools/${poolA.name}/policy`, null, 200],
      ['devA', 'GET', () => `/api/v1/pools/${poolB.name}/policy`, null, 404],
      ['devA', 'PUT', () => `/api/v1/pools/${poolA.name}/policy`, () => ({}), 403],
      ['viewerDevA', 'GET', () => `/api/v1/pools/${poolB.name}/policy`, null, 200],
      ['viewerDevA', 'PUT', () => `/api/v1/pools/${poolB.name}/policy`, () => ({}), 403],
      ['adminA', 'PUT', () => `/api/v1/pools/${poolA.name}/policy`, () => ({ blocklist: ['secrets/'] }), 200],
      ['adminA', 'PUT', () => `/api/v1/pools/${poolB.name}/policy`, () => ({ blocklist: ['secrets/'] }), 404],
      ['adminA', 'DELETE', () => `/api/v1/agents/${agentB}`, null, 404],
      ['adminA', 'GET', () => '/api/v1/pools', null, 403],
    ];
    const wrong: string[] = [];
    for (const [who, method, path, body, expected] of table) {
      const res = await send(who, method, path(), body?.());
      if (res.status !== expected) wrong.push(`${who} ${method} ${path()}: ${res.status} ${JSON.stringify(res.body)}`);
      if (expected === 403 && res.body?.error?.code !== 'FORBIDDEN') wrong.push(`${who} ${method} ${path()}: code`);
    }
    expect(wrong).toEqual([]);
    // The refusal says which pool and role.
    const refused = await send('viewerDevA', 'POST', '/api/v1/actions', logAction(poolB.name));
    expect(refused.body.error.message).toMatch(/developer role in pool team-b \(you are viewer there\)/);
    // B still has its action and agent.
    expect((await send('admin', 'GET', `/api/v1/actions/${actionB}`)).status).toBe(200);
    expect((await send('admin', 'GET', `/api/v1/agents/${agentB}`)).status).toBe(200);
  });

  it('filters lists in the query: pages hold only visible pools, and stay full', async () => {
    const agentsOf = async (who: PoolWho, q = '') =>
      (await send(who, 'GET', `/api/v1/agents${q}`)).body as { items: { id: string }[]; nextCursor: string | null };
    const devA = await agentsOf('devA', '?limit=1');
    expect(devA.items.map((i) => i.id)).toEqual([agentA]);
    expect(devA.nextCursor).toBeNull();
    expect((await agentsOf('devA', `?pool=${poolB.name}`)).items).toEqual([]);
    expect((await agentsOf('viewerDevA')).items.map((i) => i.id).sort()).toEqual([agentA, agentB].sort());

    const actions = (await send('devA', 'GET', '/api/v1/actions?limit=500')).body as {
      items: { id: string; target: { pool: string } }[];
    };
    expect(actions.items.map((a) => a.target.pool)).not.toContain(poolB.name);
    expect(actions.items.map((a) => a.id)).toContain(actionA);
    const all = (await send('viewerDevA', 'GET', '/api/v1/actions?limit=500')).body as { items: { id: string }[] };
    expect(all.items.map((a) => a.id)).toContain(actionB);
  });

  it('delivers only events of visible pools on the live stream', async () => {
    const open = (token: string) => {
      const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
      const messages: Record<string, unknown>[] = [];
      ws.on('message', (d) => messages.push(JSON.parse((d as Buffer).toString('utf8')) as Record<string, unknown>));
      const opened = new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return { ws, messages, opened };
    };
    const scoped = open(tokens.devA);
    const admin = open(hub.tokens.admin);
    await Promise.all([scoped.opened, admin.opened]);
    const subscribe = async (c: ReturnType<typeof open>, m: Record<string, unknown>) => {
      const before = c.messages.length;
      c.ws.send(JSON.stringify({ type: 'subscribe', v: 1, ...m }));
      await waitFor(() => c.messages.slice(before).some((x) => x.type === 'subscribed' || x.type === 'error'), {
        what: 'the answer to a subscription',
      });
      return c.messages.slice(before).find((x) => x.type === 'subscribed' || x.type === 'error')!;
    };
    // A service of pool B is unknown to devA, as a pool that does not exist; traces are followed (their pools only).
    const refused = await subscribe(scoped, { services: [{ pool: poolB.name, service: 'aa-search' }] });
    expect(refused).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
    const traces = await subscribe(scoped, { channel: 'traces', services: ['*'] });
    expect(traces).toMatchObject({ type: 'subscribed', channel: 'traces' });
    // Following B's action by id is accepted but delivers nothing of it.
    for (const c of [scoped, admin]) {
      expect(await subscribe(c, { actionIds: [actionA, actionB] })).toMatchObject({ type: 'subscribed' });
    }
    const [a, b] = agents as [SimAgent, SimAgent];
    await a.next('actions', (f) => f.items.some((i) => i.id === actionA));
    await b.next('actions', (f) => f.items.some((i) => i.id === actionB));
    a.send({ type: 'hits', v: 1, logs: [{ actionId: actionA, at: Date.now(), level: 'info', message: 'line of A' }] });
    b.send({ type: 'hits', v: 1, logs: [{ actionId: actionB, at: Date.now(), level: 'info', message: 'line of B' }] });
    b.status(actionB, 'active', { method: 'breakpoint' });
    const logs = (c: ReturnType<typeof open>) => c.messages.filter((m) => m.type === 'log').map((m) => m.actionId);
    const statuses = (c: ReturnType<typeof open>) =>
      c.messages.filter((m) => m.type === 'status').map((m) => m.actionId);
    await waitFor(
      () => logs(admin).includes(actionA) && logs(admin).includes(actionB) && statuses(admin).includes(actionB),
      {
        what: 'both lines and B’s status on the admin stream',
      },
    );
    await waitFor(() => logs(scoped).includes(actionA), { what: 'A’s line on devA’s stream' });
    // Settle devA's stream (the pong comes after everything queued before it), then B's events must be absent.
    scoped.ws.send(JSON.stringify({ type: 'ping', v: 1, id: 'settle' }));
    await waitFor(() => scoped.messages.some((m) => m.type === 'pong' && m.id === 'settle'), { what: 'the pong' });
    expect(logs(scoped)).not.toContain(actionB);
    expect(statuses(scoped)).not.toContain(actionB);
    // Deleting B's action is announced to the admin, not to devA.
    await send('admin', 'DELETE', `/api/v1/actions/${actionB}`);
    await waitFor(() => admin.messages.some((m) => m.type === 'action' && m.actionId === actionB), {
      what: 'the deleted event on the admin stream',
    });
    scoped.ws.send(JSON.stringify({ type: 'ping', v: 1, id: 'settle-2' }));
    await waitFor(() => scoped.messages.some((m) => m.type === 'pong' && m.id === 'settle-2'), { what: 'the pong' });
    expect(scoped.messages.filter((m) => m.type === 'action' && m.actionId === actionB)).toEqual([]);
    actionB = (await send('admin', 'POST', '/api/v1/actions', logAction(poolB.name))).body.id;

    // A grant reaches the open stream: lines of B arrive once devA is a viewer there; after the revocation they stop.
    for (const c of [scoped, admin]) {
      expect(await subscribe(c, { actionIds: [actionB] })).toMatchObject({ type: 'subscribed' });
    }
    await b.next('actions', (f) => f.items.some((i) => i.id === actionB));
    const line = (message: string): void =>
      b.send({ type: 'hits', v: 1, logs: [{ actionId: actionB, at: Date.now(), level: 'info', message }] });
    const got = (c: ReturnType<typeof open>, message: string): boolean =>
      c.messages.some((m) => m.type === 'log' && (m.log as { message: string }).message === message);
    const viewerOfB = await send('admin', 'PUT', `/api/v1/users/${ids.devA}/memberships/${poolB.name}`, {
      role: 'viewer',
    });
    expect(viewerOfB.status).toBe(200);
    let n = 0;
    await waitFor(
      () => {
        line(`granted-${++n}`);
        return scoped.messages.some(
          (m) => m.type === 'log' && (m.log as { message: string }).message.startsWith('granted-'),
        );
      },
      { what: 'a line of B on devA’s stream after the grant', intervalMs: 100 },
    );
    expect((await send('admin', 'DELETE', `/api/v1/users/${ids.devA}/memberships/${poolB.name}`)).status).toBe(204);
    let k = 0;
    await waitFor(
      async () => {
        const message = `revoked-${++k}`;
        line(message);
        await waitFor(() => got(admin, message), { what: `${message} on the admin stream` });
        const id = `settle-revoked-${k}`;
        scoped.ws.send(JSON.stringify({ type: 'ping', v: 1, id }));
        await waitFor(() => scoped.messages.some((m) => m.type === 'pong' && m.id === id), { what: 'the pong' });
        return !got(scoped, message);
      },
      { what: 'lines of B to stop reaching devA’s stream after the revocation', intervalMs: 100 },
    );
    scoped.ws.close();
    admin.ws.close();
  });

  it('scopes MCP tools through the operations, over Streamable HTTP', { timeout: 60_000 }, async () => {
    const connect = async (token: string): Promise<McpClient> => {
      const client = new McpClient({ name: 'spyglass-rbac', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      mcpClients.push(client);
      return client;
    };
    const call = async (client: McpClient, name: string, args: Record<string, unknown> = {}) => {
      const r = (await client.callTool({ name, arguments: args })) as {
        content: { type: string; text?: string }[];
        isError?: boolean;
      };
      return { text: r.content.map((c) => c.text ?? '').join('\n'), isError: r.isError === true };
    };

    const devA = await connect(tokens.devA);
    // A pool-only developer is offered the live and trace tools (their role in A admits them), not the Kubernetes ones.
    const names = (await devA.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['list_agents', 'add_log', 'get_logs', 'remove_action', 'search_traces', 'get_trace']),
    );
    expect(names).not.toContain('trace_k8s_object');
    expect(await call(devA, 'search_traces')).toMatchObject({ isError: false });

    const listed = await call(devA, 'list_agents');
    expect(listed.isError).toBe(false);
    expect(listed.text).toContain(agentA);
    expect(listed.text).not.toContain(agentB);
    const actionsText = await call(devA, 'list_actions', { limit: 100 });
    expect(actionsText.text).toContain(actionA);
    expect(actionsText.text).not.toContain(actionB);
    const logsB = await call(devA, 'get_logs', { actionId: actionB });
    expect(logsB).toMatchObject({ isError: true });
    expect(logsB.text).toMatch(/not found/i);
    const removeB = await call(devA, 'remove_action', { actionId: actionB });
    expect(removeB).toMatchObject({ isError: true });
    const addB = await call(devA, 'add_log', {
      service: 'aa-search',
      pool: poolB.name,
      file: 'src/x.ts',
      line: 1,
      template: 'x',
    });
    expect(addB.isError).toBe(true);

    // A global viewer and developer of A sees B, but cannot remove B's action.
    const viewerDevA = await connect(tokens.viewerDevA);
    expect((await call(viewerDevA, 'list_agents')).text).toContain(agentB);
    const refused = await call(viewerDevA, 'remove_action', { actionId: actionB });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/developer role in pool team-b/);
    expect((await send('admin', 'GET', `/api/v1/actions/${actionB}`)).status).toBe(200);
  });
});
