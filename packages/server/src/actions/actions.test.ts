import { MAX_EXPRESSION_LENGTH } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, logAction, testDatabases, type TestHub, type TestPool } from '../../test/kit/index.js';

type ErrorBody = {
  error: { code: string; message: string; requestId: string; issues?: { path: string; message: string }[] };
};

describe.each(testDatabases())('actions API on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;
  beforeAll(async () => {
    hub = await createHub({ database });
    pool = await hub.createPool();
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('validates bodies with clear, coded errors', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [logAction(pool.name, { file: '' }), 'body.file', /must name a file/],
      [logAction(pool.name, { line: 0 }), 'body.line', /1 or more/],
      [logAction(pool.name, { template: '' }), 'body.template', /must not be empty/],
      [logAction(pool.name, { condition: 'x'.repeat(MAX_EXPRESSION_LENGTH + 1) }), 'body.condition', /at most 500/],
      [logAction('no-such-pool'), 'body.target.pool', /unknown pool no-such-pool/],
      [
        logAction(pool.name, { target: { pool: pool.name, agentIds: ['ghost'] } }),
        'body.target.agentIds.0',
        /unknown agent ghost/,
      ],
      [logAction(pool.name, { expiresAt: Date.now() + 8 * 24 * 3600_000 }), 'body.expiresAt', /7 days/],
      [logAction(pool.name, { expiresAt: Date.now() - 1000 }), 'body.expiresAt', /future/],
      [
        { kind: 'metric', metric: 'tictoc', name: 'm', file: 'a.ts', line: 5, target: { pool: pool.name } },
        'body.endLine',
        /needs endLine/,
      ],
      [
        { kind: 'metric', metric: 'gauge', name: 'm', file: 'a.ts', line: 5, target: { pool: pool.name } },
        'body.expression',
        /needs expression/,
      ],
      [
        { kind: 'trace', file: 'a.ts', line: 5, target: { pool: pool.name } },
        'body.kind',
        /^Invalid discriminator value\. Expected 'log' \| 'snapshot' \| 'metric'$/,
      ],
    ];
    for (const [body, path, message] of cases) {
      const res = await hub.api<ErrorBody>('POST', '/api/v1/actions', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.requestId).toEqual(expect.any(String));
      const issue = res.body.error.issues?.find((i) => i.path.startsWith(path));
      expect(issue, `${path} in ${JSON.stringify(res.body.error.issues)}`).toBeDefined();
      expect(issue!.message).toMatch(message);
    }
  });

  it('refuses a template, condition, watch or gauge the agent could not compile, naming the field and column', async () => {
    const before = await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500');
    const cases: [Record<string, unknown>, string, string][] = [
      [logAction(pool.name, { template: 'order {order.id' }), 'body.template', 'unclosed "{" at column 7'],
      [
        logAction(pool.name, { template: 'total {order.totalCents +* 2}' }),
        'body.template',
        '{order.totalCents +* 2} at column 26: Unexpected token',
      ],
      [
        logAction(pool.name, { condition: 'user.role = "admin"' }),
        'body.condition',
        'column 1: assignment is not allowed',
      ],
      [
        {
          kind: 'snapshot',
          file: 'a.ts',
          line: 5,
          expressions: ['ok', 'process.exit(1)'],
          target: { pool: pool.name },
        },
        'body.expressions.1',
        'column 9: calling exit() is not allowed',
      ],
      [
        {
          kind: 'metric',
          metric: 'gauge',
          name: 'm',
          file: 'a.ts',
          line: 5,
          expression: 'items.length +',
          target: { pool: pool.name },
        },
        'body.expression',
        'column 15: Unexpected token',
      ],
    ];
    for (const [body, path, message] of cases) {
      const res = await hub.api<ErrorBody>('POST', '/api/v1/actions', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.message).toContain(`${path}: ${message}`);
      expect(res.body.error.issues).toEqual([{ path, message: expect.stringContaining(message) }]);
    }
    const after = await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500');
    expect(after.body.items).toHaveLength(before.body.items.length);
  });

  it('applies documented defaults and lets developers, not viewers, create and delete; both are audited', async () => {
    expect((await hub.api<ErrorBody>('POST', '/api/v1/actions', logAction(pool.name), 'viewer')).status).toBe(403);
    const before = Date.now();
    const created = await hub.api<{
      id: string;
      maxHits: number;
      expiresAt: number;
      level: string;
      state: string;
      createdBy: string;
    }>('POST', '/api/v1/actions', logAction(pool.name), 'developer');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ maxHits: 100, level: 'info', state: 'active' });
    expect(created.body.expiresAt - before).toBeGreaterThanOrEqual(3600_000 - 1000);
    const snap = await hub.api<{ maxHits: number }>(
      'POST',
      '/api/v1/actions',
      { kind: 'snapshot', file: 'a.ts', line: 1, target: { pool: pool.name } },
      'developer',
    );
    expect(snap.body.maxHits).toBe(1);
    expect((await hub.api('GET', `/api/v1/actions/${created.body.id}`, undefined, 'viewer')).status).toBe(200);
    expect((await hub.api('DELETE', `/api/v1/actions/${created.body.id}`, undefined, 'viewer')).status).toBe(403);
    expect((await hub.api('DELETE', `/api/v1/actions/${created.body.id}`, undefined, 'developer')).status).toBe(204);
    expect((await hub.api('GET', `/api/v1/actions/${created.body.id}`)).status).toBe(404);

    const audit = await hub.api<{ items: { action: string; outcome: string; targetId: string | null }[] }>(
      'GET',
      `/api/v1/audit?targetId=${created.body.id}`,
    );
    expect(audit.body.items.map((e) => [e.action, e.outcome])).toEqual(
      expect.arrayContaining([
        ['action.create', 'success'],
        ['action.delete', 'success'],
      ]),
    );
    expect((await hub.api('DELETE', `/api/v1/agents/whatever`, undefined, 'developer')).status).toBe(403);
    expect((await hub.api('GET', '/api/v1/agents', undefined, 'anonymous')).status).toBe(401);
  });

  it('lists newest first with cursor pagination and filters', async () => {
    const p = await hub.createPool();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(p.name, { line: i + 1 }))).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/v1/actions?pool=${p.name}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await hub.api<{ items: { id: string }[]; nextCursor: string | null }>('GET', q);
      seen.push(...page.body.items.map((a) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
    const none = await hub.api<{ items: unknown[] }>('GET', `/api/v1/actions?pool=${p.name}&state=completed`);
    expect(none.body.items).toEqual([]);
  });

  it('describes the live-debugging API in the OpenAPI document', async () => {
    const doc = await hub.api<{ paths: Record<string, unknown> }>('GET', '/api/docs/json');
    expect(doc.status).toBe(200);
    for (const path of [
      '/api/v1/actions',
      '/api/v1/actions/{id}',
      '/api/v1/actions/{id}/agents',
      '/api/v1/actions/{id}/logs',
      '/api/v1/actions/{id}/snapshots',
      '/api/v1/actions/{id}/snapshots/{hitId}',
      '/api/v1/actions/{id}/metrics',
      '/api/v1/agents',
      '/api/v1/agents/{id}',
    ]) {
      expect(doc.body.paths, path).toHaveProperty([path]);
    }
  });
});
