import { SpyglassClient, SpyglassClientError } from '@spyglass/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SimAgent, createHub, waitFor, type TestHub } from '../../server/test/kit/index.js';

let hub: TestHub;
let client: SpyglassClient;

beforeAll(async () => {
  hub = await createHub({ listen: true });
  client = new SpyglassClient({ baseUrl: hub.url, token: hub.tokens.admin });
});
afterAll(async () => {
  await hub?.close();
});

describe('SpyglassClient', () => {
  it('checks health and signs in with a session cookie outside the browser', async () => {
    expect(await client.health.live()).toEqual({ status: 'ok' });
    expect((await client.health.ready()).status).toBe('ready');
    expect(await client.health.metrics()).toContain('spyglass_gateway_agents_connected');
    const session = new SpyglassClient({ baseUrl: hub.url });
    await expect(session.auth.me()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    const me = await session.auth.login({ ...ADMIN });
    expect(me.user.email).toBe(ADMIN.email);
    expect((await session.auth.me()).via).toBe('session');
    await session.auth.logout();
    await expect(session.auth.me()).rejects.toBeInstanceOf(SpyglassClientError);
  });

  it('manages users, tokens, pools and reads the audit log', async () => {
    const user = await client.users.create({
      email: 'dev@example.test',
      name: 'Dev',
      role: 'developer',
      password: 'a long enough password',
    });
    expect((await client.users.get(user.id)).role).toBe('developer');
    expect((await client.users.update(user.id, { name: 'Developer' })).name).toBe('Developer');
    expect((await client.users.list({ limit: 500 })).items.map((u) => u.id)).toContain(user.id);

    const token = await client.tokens.create({ name: 'ci' });
    expect(token.token).toMatch(/^sgt_/);
    expect((await client.tokens.list()).items.map((t) => t.id)).toContain(token.id);
    await client.tokens.delete(token.id);

    const pool = await client.pools.create({ name: 'client-pool' });
    expect(pool.key).toMatch(/^sgp_/);
    expect((await client.pools.get('client-pool')).id).toBe(pool.id);
    const rotated = await client.pools.rotateKey(pool.id);
    expect(rotated.key).not.toBe(pool.key);
    expect((await client.pools.list()).items.map((p) => p.name)).toContain('client-pool');
    await client.pools.delete(pool.id);
    await client.users.delete(user.id);

    const audit = await client.audit.list({ action: 'pool.rotate_key' });
    expect(audit.items[0]).toMatchObject({ action: 'pool.rotate_key', targetId: pool.id, outcome: 'success' });
  });

  it('surfaces hub errors with code, message, requestId, status and issues', async () => {
    const err = await client.actions
      .create({ kind: 'log', file: 'a.ts', line: 0, template: '', target: { pool: 'nope' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpyglassClientError);
    const e = err as SpyglassClientError;
    expect(e).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    expect(e.requestId).toEqual(expect.any(String));
    expect(e.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['body.line']));
    await expect(client.actions.get('missing')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const offline = new SpyglassClient({ baseUrl: 'http://127.0.0.1:1' });
    await expect(offline.health.live()).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 0, requestId: null });
  });

  it('drives live debugging end to end: agents, actions, hits, metrics and the stream', async () => {
    const pool = await client.pools.create({ name: 'live' });
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'eu', tier: 'web' } });
    const agents = await client.agents.list({ pool: 'live', tag: ['region=eu', 'tier=web'], status: 'connected' });
    expect(agents.items.map((a) => a.id)).toEqual([welcome.agentId]);
    expect((await client.agents.list({ pool: 'live', tag: 'region=us' })).items).toEqual([]);
    expect((await client.agents.get(welcome.agentId)).service.name).toBe('checkout');

    const stream = await client.stream();
    const log = await client.actions.create({
      kind: 'log',
      file: 'src/a.ts',
      line: 3,
      template: 'x={x}',
      target: { pool: 'live' },
    });
    const metric = await client.actions.create({
      kind: 'metric',
      metric: 'duration',
      name: 'checkout.duration',
      file: 'src/a.ts',
      line: 9,
      target: { pool: 'live', service: 'checkout' },
    });
    const snap = await client.actions.create({ kind: 'snapshot', file: 'src/a.ts', line: 5, target: { pool: 'live' } });
    await stream.subscribe({ actionIds: [log.id, snap.id], services: [{ pool: 'live', service: 'checkout' }] });
    await agent.next('actions', (f) => f.items.length === 3);
    agent.status(log.id, 'active', { method: 'patch' });
    const now = Date.now();
    const nextLog = stream.next('log');
    const nextMetric = stream.next('metric');
    agent.send({
      type: 'hits',
      v: 1,
      logs: [{ actionId: log.id, at: now, level: 'info', message: 'x=1' }],
      snapshots: [{ actionId: snap.id, at: now, frames: [{ functionName: 'f', file: 'src/a.ts', line: 5 }] }],
      metrics: [
        {
          actionId: metric.id,
          start: now,
          end: now + 1000,
          count: 2,
          sum: 30,
          min: 10,
          max: 20,
          histogram: { bounds: [10, 100], counts: [1, 1, 0] },
        },
      ],
    });
    expect((await nextLog).log.message).toBe('x=1');
    expect((await nextMetric).sample).toMatchObject({ count: 2, sum: 30 });
    // A second agent's sample lands in the same bucket and is merged.
    const other = await SimAgent.connect(hub.wsUrl, pool.key);
    other.agent.send({
      type: 'hits',
      v: 1,
      metrics: [
        {
          actionId: metric.id,
          start: now,
          end: now + 1000,
          count: 1,
          sum: 5,
          min: 5,
          max: 5,
          histogram: { bounds: [10, 100], counts: [1, 0, 0] },
        },
      ],
    });

    expect((await client.actions.logs(log.id)).items[0]!.message).toBe('x=1');
    const snaps = await waitFor(
      async () => ((await client.actions.snapshots(snap.id)).items[0] ? client.actions.snapshots(snap.id) : undefined),
      { what: 'the snapshot to be stored' },
    );
    expect((await client.actions.snapshot(snap.id, snaps.items[0]!.id)).frames[0]!.functionName).toBe('f');
    const points = await waitFor(
      async () => {
        const p = await client.actions.metrics(metric.id);
        return p.items[0]?.count === 3 ? p : undefined;
      },
      { what: "the two agents' samples merged in one bucket" },
    );
    expect(points.items[0]).toMatchObject({
      count: 3,
      sum: 35,
      min: 5,
      max: 20,
      histogram: { bounds: [10, 100], counts: [2, 1, 0] },
    });

    await waitFor(async () => (await client.actions.get(log.id)).statusCounts.active === 1, {
      what: "the log action's active status",
    });
    const statuses = await client.actions.agents(log.id);
    expect(statuses.items[0]).toMatchObject({ agentId: welcome.agentId, state: 'active', method: 'patch' });
    const listed = await client.actions.list({ pool: 'live', state: 'active' });
    expect(listed.items.map((a) => a.id)).toEqual(expect.arrayContaining([log.id, metric.id]));
    const all: string[] = [];
    for await (const a of client.paginate((cursor) => client.actions.list({ pool: 'live', limit: 1, cursor })))
      all.push(a.id);
    expect(all).toHaveLength(3);

    const deleted = stream.next('action', (m) => m.actionId === log.id && m.event === 'deleted');
    await client.actions.delete(log.id);
    await deleted;
    await client.agents.delete(other.welcome.agentId);
    await other.agent.closed;
    await stream.close();
    await agent.close();
  });

  it('follows another channel of the stream: traces announced as their spans arrive over OTLP', async () => {
    const pool = await client.pools.create({ name: 'client-traces' });
    const stream = await client.stream();
    await expect(stream.subscribeChannel('traces', { services: [] })).rejects.toThrow(/INVALID_INPUT/);
    await stream.subscribeChannel('traces', { services: ['client-svc'] });
    const traceId = 'c'.repeat(31) + '1';
    const announced = new Promise<unknown>((resolve) =>
      stream.on((m) => {
        if ((m as { type: string }).type === 'trace') resolve(m);
      }),
    );
    const startNs = BigInt(Date.now()) * 1_000_000n;
    const res = await fetch(`${hub.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'client-svc' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId,
                    spanId: 'd'.repeat(16),
                    name: 'GET /health',
                    kind: 2,
                    startTimeUnixNano: String(startNs),
                    endTimeUnixNano: String(startNs + 3_000_000n),
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    await expect(announced).resolves.toMatchObject({
      type: 'trace',
      channel: 'traces',
      traceId,
      service: 'client-svc',
      name: 'GET /health',
      durationUs: 3000,
      error: false,
    });
    await stream.unsubscribeChannel('traces', { services: ['client-svc'] });
    await stream.close();
    await client.pools.delete(pool.id);
  });

  it('rejects a subscription on a closed stream with a coded error instead of waiting forever', async () => {
    const stream = await client.stream();
    await stream.close();
    await expect(stream.subscribe({ actionIds: ['x'] })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(
        /^the live stream closed \(1000 client closed\) before the hub confirmed the subscription$/,
      ),
    });
  });
});

describe('calls by contract', () => {
  it('rejects (never throws) with a coded client error when a path parameter is missing, before any request', async () => {
    let requests = 0;
    const client = new SpyglassClient({
      baseUrl: 'http://127.0.0.1:9',
      fetch: () => {
        requests++;
        return Promise.reject(new Error('no request should be made'));
      },
    });
    const pending = client.actions.get('');
    await expect(pending).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('path parameter id'),
    });
    expect(requests).toBe(0);
  });
});
