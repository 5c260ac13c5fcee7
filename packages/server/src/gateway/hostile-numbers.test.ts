import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, waitFor, type TestHub, type TestPool } from '../../test/kit/index.js';

/**
 * One agent's numbers must not break reads for everyone: huge (finite) values in a heartbeat or in metric samples are
 * clamped to what can be stored and answered.
 */
describe('hostile numbers from an agent', () => {
  let hub: TestHub;
  let pool: TestPool;
  beforeAll(async () => {
    hub = await createHub({ listen: true });
    pool = await hub.createPool();
  });
  afterAll(() => hub?.close());

  it('a heartbeat with stats.hits 1e300 leaves the agents list answering', async () => {
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    agent.send({ type: 'heartbeat', v: 1, at: Date.now(), stats: { hits: 1e300, cpuMs: 1e300, dropped: 5e20 } });
    const health = await waitFor(
      async () => {
        await hub.app.live.tick();
        const r = await hub.api<{ health: { hits: number; cpuMs: number; dropped: number } | null }>(
          'GET',
          `/api/v1/agents/${welcome.agentId}`,
        );
        expect(r.status).toBe(200);
        return r.body.health ?? undefined;
      },
      { what: 'the heartbeat to be stored' },
    );
    expect(health.hits).toBe(Number.MAX_SAFE_INTEGER);
    expect(health.dropped).toBe(Number.MAX_SAFE_INTEGER);
    expect(Number.isFinite(health.cpuMs)).toBe(true);
    const list = await hub.api('GET', '/api/v1/agents');
    expect(list.status).toBe(200);
    await agent.close();
  });

  it('metric samples summing past the largest double leave the action’s metrics answering', async () => {
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'metric',
      metric: 'gauge',
      name: 'huge',
      expression: 'x',
      file: 'a.js',
      line: 1,
      target: { pool: pool.name },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor(() => agent.currentIds().includes(created.body.id), { what: 'the agent to hold the action' });
    const now = Date.now();
    for (let i = 0; i < 3; i++)
      agent.send({
        type: 'hits',
        v: 1,
        logs: [],
        snapshots: [],
        metrics: [
          {
            actionId: created.body.id,
            start: now - 1000,
            end: now,
            count: 1,
            sum: 1.7e308,
            min: 1.7e308,
            max: 1.7e308,
          },
        ],
      });
    let last = '';
    const points = await waitFor(
      async () => {
        try {
          await hub.app.live.tick();
        } catch (err) {
          last = `tick: ${String(err)}`;
          throw err;
        }
        const r = await hub.api<{ items: { sum: number; count: number }[] }>(
          'GET',
          `/api/v1/actions/${created.body.id}/metrics`,
        );
        last = `${r.status} ${JSON.stringify(r.body)}`;
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r.body.items.length > 0 && r.body.items.reduce((n, p) => n + p.count, 0) === 3
          ? r.body.items
          : undefined;
      },
      { what: 'the metric samples to be stored', detail: () => last },
    );
    for (const p of points) expect(Number.isFinite(p.sum)).toBe(true);
    expect((await hub.api('GET', `/api/v1/actions/${created.body.id}`)).status).toBe(200);
    await agent.close();
  });
});

describe('tags from an agent', () => {
  it('an agent with more than 32 tags is refused at hello, with the reason', async () => {
    const hub = await createHub({ listen: true });
    try {
      const pool = await hub.createPool();
      const tags = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, 'x'.repeat(200)]));
      const agent = new SimAgent(hub.wsUrl, pool.key);
      await agent.opened;
      agent.hello({ tags });
      const closed = await agent.closed;
      expect(closed.reason).toMatch(/tags: at most 32 tags/);
      const list = await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents');
      expect(list.body.items).toEqual([]);
      // 32 are fine.
      const ok = await SimAgent.connect(hub.wsUrl, pool.key, {
        tags: Object.fromEntries(Object.entries(tags).slice(0, 32)),
      });
      expect(ok.welcome.agentId).toBeTruthy();
      await ok.agent.close();
    } finally {
      await hub.close();
    }
  });
});
