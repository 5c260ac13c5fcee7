import { PROTOCOL_VERSION, type SourceRequestFrame } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/bus.js';
import {
  SimAgent,
  createHub,
  scratchDatabase,
  testDatabases,
  waitFor,
  type TestHub,
  type TestPool,
} from '../../test/kit/index.js';

interface AuditItem {
  action: string;
  outcome: string;
  status: number;
  targetId: string;
  details: Record<string, unknown>;
}

/** Answers source requests like the Node.js agent would. */
function serveSources(agent: SimAgent, files: Record<string, string>, options: { silent?: boolean } = {}): void {
  agent.ws.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString('utf8')) as { type: string } & Partial<SourceRequestFrame>;
    if (frame.type !== 'source_request' || options.silent) return;
    const base = { type: 'source_response', v: PROTOCOL_VERSION, requestId: frame.requestId };
    if (frame.op === 'list') {
      agent.send({ ...base, files: Object.keys(files).map((path) => ({ path, original: path.endsWith('.ts') })) });
    } else if (frame.path === '/srv/shop/src/secret.ts') {
      agent.send({ ...base, error: { code: 'FORBIDDEN', message: 'on the blocklist' } });
    } else if (frame.path !== undefined && frame.path in files) {
      agent.send({ ...base, path: frame.path, text: files[frame.path], truncated: false });
    } else {
      agent.send({ ...base, error: { code: 'NOT_FOUND', message: 'not loaded' } });
    }
  });
}

const FILES = {
  '/srv/shop/src/pricing.ts': 'export const rate = 0.1;\n',
  '/srv/shop/dist/pricing.js': 'export const rate = 0.1;\n//# sourceMappingURL=pricing.js.map\n',
};

describe.each(testDatabases())('source browsing on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;
  let agent: SimAgent;
  let agentId: string;

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    pool = await hub.createPool();
    const c = await SimAgent.connect(hub.wsUrl, pool.key);
    agent = c.agent;
    agentId = c.welcome.agentId;
    serveSources(agent, FILES);
  });
  afterAll(async () => {
    await agent?.close();
    await hub?.close();
  });

  it('lists the files a connected agent has loaded, for viewers too', async () => {
    const res = await hub.api<{ files: { path: string; original: boolean }[] }>(
      'GET',
      `/api/v1/agents/${agentId}/sources`,
      undefined,
      'viewer',
    );
    expect(res.status).toBe(200);
    expect(res.body.files).toEqual([
      { path: '/srv/shop/src/pricing.ts', original: true },
      { path: '/srv/shop/dist/pricing.js', original: false },
    ]);
  });

  it('returns one file and audits the read', async () => {
    const file = '/srv/shop/src/pricing.ts';
    const res = await hub.api(
      'GET',
      `/api/v1/agents/${agentId}/sources/content?path=${encodeURIComponent(file)}`,
      undefined,
      'viewer',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ path: file, text: FILES[file], truncated: false });
    const audit = await hub.api<{ items: AuditItem[] }>('GET', '/api/v1/audit?action=source.read');
    expect(audit.body.items[0]).toMatchObject({
      action: 'source.read',
      outcome: 'success',
      status: 200,
      targetId: agentId,
      details: { path: file, service: 'checkout', pool: pool.name, bytes: FILES[file].length, truncated: false },
    });
  });

  it('passes the agent refusals on as coded errors, audited', async () => {
    const blocked = await hub.api<{ error: { code: string; message: string } }>(
      'GET',
      `/api/v1/agents/${agentId}/sources/content?path=${encodeURIComponent('/srv/shop/src/secret.ts')}`,
    );
    expect(blocked.status).toBe(403);
    expect(blocked.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('blocklist') });
    const missing = await hub.api<{ error: { code: string } }>(
      'GET',
      `/api/v1/agents/${agentId}/sources/content?path=%2Fetc%2Fpasswd`,
    );
    expect(missing.status).toBe(404);
    const audit = await hub.api<{ items: AuditItem[] }>('GET', '/api/v1/audit?limit=20');
    const reads = audit.body.items.filter(
      (e) => e.details?.path === '/srv/shop/src/secret.ts' || e.details?.path === '/etc/passwd',
    );
    expect(reads.map((e) => [e.outcome, e.status]).sort()).toEqual([
      ['denied', 403],
      ['failure', 404],
    ]);
  });

  it('checks the query and the agent', async () => {
    const noPath = await hub.api<{ error: { issues: { path: string }[] } }>(
      'GET',
      `/api/v1/agents/${agentId}/sources/content`,
    );
    expect(noPath.status).toBe(400);
    expect(noPath.body.error.issues[0]?.path).toBe('query.path');
    expect((await hub.api('GET', '/api/v1/agents/00000000-0000-4000-8000-000000000000/sources')).status).toBe(404);
    expect((await hub.api('GET', `/api/v1/agents/${agentId}/sources`, undefined, 'anonymous')).status).toBe(401);
  });

  it('answers 409 for a disconnected agent and 503 when the agent stays silent', async () => {
    const quiet = await SimAgent.connect(hub.wsUrl, pool.key, { service: { name: 'quiet' } });
    serveSources(quiet.agent, {}, { silent: true });
    hub.app.sources.timeoutMs = 1000;
    const started = Date.now();
    const silent = await hub.api<{ error: { code: string } }>('GET', `/api/v1/agents/${quiet.welcome.agentId}/sources`);
    expect(silent.status).toBe(503);
    expect(silent.body.error.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await quiet.agent.close();
    await waitFor(
      async () =>
        (await hub.api<{ status: string }>('GET', `/api/v1/agents/${quiet.welcome.agentId}`)).body.status ===
        'disconnected',
      { what: 'the quiet agent to be marked disconnected' },
    );
    const gone = await hub.api<{ error: { code: string } }>('GET', `/api/v1/agents/${quiet.welcome.agentId}/sources`);
    expect(gone.status).toBe(409);
    expect(hub.app.sources.pendingCount).toBe(0);
  });
});

describe.each(testDatabases())('source browsing across replicas on $dialect', (database) => {
  it('reaches an agent connected to another replica through the bus', async () => {
    const bus = new MemoryBus();
    const db = await scratchDatabase(database, { shareable: true });
    const a = await createHub({ databaseUrl: db.url, deps: { bus } });
    const b = await createHub({ databaseUrl: db.url, deps: { bus }, listen: true });
    try {
      const pool = await a.createPool();
      const { agent, welcome } = await SimAgent.connect(b.wsUrl, pool.key);
      serveSources(agent, FILES);
      const res = await a.api<{ files: unknown[] }>('GET', `/api/v1/agents/${welcome.agentId}/sources`);
      expect(res.status).toBe(200);
      expect(res.body.files).toHaveLength(2);
      const text = await a.api<{ text: string }>(
        'GET',
        `/api/v1/agents/${welcome.agentId}/sources/content?path=${encodeURIComponent('/srv/shop/src/pricing.ts')}`,
      );
      expect(text.body.text).toBe(FILES['/srv/shop/src/pricing.ts']);
      await agent.close();
    } finally {
      await b.close();
      await a.close();
      await db.drop();
    }
  });
});
