import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, logAction, testDatabases, waitFor, type TestHub } from '../../test/kit/index.js';

type PageOf<T> = { items: T[]; nextCursor: string | null };

describe.each(testDatabases())('live debugging storage on $dialect', (database) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({
      database,
      listen: true,
      live: { retention: { logsPerAction: 5, snapshotsPerAction: 2, metricBucketMs: 60_000 } },
    });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('stores, bounds, pages and merges hits; counts per agent; completes and deletes actions', async () => {
    const pool = await hub.createPool();
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'eu', zone: 'a' } });
    const log = (await hub.api<{ id: string }>('POST', '/api/v1/actions', logAction(pool.name, { maxHits: 1000 })))
      .body;
    const snap = (
      await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: 'a.ts',
        line: 1,
        maxHits: 3,
        target: { pool: pool.name },
      })
    ).body;
    const metric = (
      await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'metric',
        metric: 'gauge',
        name: 'queue.depth',
        expression: 'queue.length',
        file: 'a.ts',
        line: 2,
        target: { pool: pool.name, agentIds: [welcome.agentId] },
      })
    ).body;
    await agent.next('actions', (f) => f.items.length === 3);

    const at = Date.now();
    const logs = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        actionId: log.id,
        at: at + from + i,
        level: 'info',
        message: `line ${from + i}`,
      }));
    agent.send({ type: 'hits', v: 1, logs: logs(0, 6) });
    agent.send({ type: 'hits', v: 1, logs: logs(6, 6), dropped: 4 });
    const frame = {
      functionName: 'handler',
      file: 'a.ts',
      line: 1,
      locals: [{ name: 'big', type: 'string', value: 'z'.repeat(60_000) }],
    };
    agent.send({
      type: 'hits',
      v: 1,
      snapshots: [1, 2, 3, 4].map((i) => ({ actionId: snap.id, at: at + i, frames: [frame], truncated: i === 4 })),
    });
    const sample = (sum: number) => ({
      actionId: metric.id,
      start: at,
      end: at + 1000,
      count: 2,
      sum,
      min: 1,
      max: sum - 1,
    });
    agent.send({ type: 'hits', v: 1, metrics: [sample(10)] });
    await hub.app.live.tick();
    agent.send({ type: 'hits', v: 1, metrics: [sample(20)] });
    agent.status(log.id, 'active', { method: 'patch', location: { file: 'a.ts', line: 1, column: 4 } });
    agent.status(snap.id, 'error', { reason: 'file not loaded' });

    // Logs: the newest five survive pruning, paged newest first with a cursor.
    const kept = await waitFor(
      async () => {
        await hub.app.live.tick();
        const r = await hub.api<PageOf<{ message: string }>>('GET', `/api/v1/actions/${log.id}/logs?limit=500`);
        // Wait for the second frame too: the first alone may already be trimmed to five lines.
        return r.body.items.length === 5 && r.body.items[0]?.message === 'line 11'
          ? r.body.items.map((l) => l.message)
          : undefined;
      },
      { what: 'the newest five log lines' },
    );
    expect(kept).toEqual(['line 11', 'line 10', 'line 9', 'line 8', 'line 7']);
    const first = await hub.api<PageOf<{ message: string }>>('GET', `/api/v1/actions/${log.id}/logs?limit=2`);
    const second = await hub.api<PageOf<{ message: string }>>(
      'GET',
      `/api/v1/actions/${log.id}/logs?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.items.map((l) => l.message)).toEqual(['line 9', 'line 8']);
    expect((await hub.api('GET', `/api/v1/actions/${log.id}/logs?cursor=garbage`)).status).toBe(400);
    // The time window (since inclusive, until exclusive) and the agent filter.
    const window = await hub.api<PageOf<{ message: string }>>(
      'GET',
      `/api/v1/actions/${log.id}/logs?since=${at + 8}&until=${at + 10}&agentId=${welcome.agentId}`,
    );
    expect(window.body.items.map((l) => l.message)).toEqual(['line 9', 'line 8']);
    const otherAgent = await hub.api<PageOf<unknown>>('GET', `/api/v1/actions/${log.id}/logs?agentId=agent-none`);
    expect(otherAgent.body.items).toEqual([]);

    // Snapshots: maxHits 3 stores three, retention keeps two; the action completed.
    const snaps = await waitFor(
      async () => {
        await hub.app.live.tick();
        const r = await hub.api<PageOf<{ id: string; truncated: boolean }>>(
          'GET',
          `/api/v1/actions/${snap.id}/snapshots`,
        );
        return r.body.items.length === 2 ? r.body.items : undefined;
      },
      { what: 'the two snapshots retention keeps' },
    );
    const full = await hub.api<{ frames: { locals: { value: string }[] }[] }>(
      'GET',
      `/api/v1/actions/${snap.id}/snapshots/${snaps[0]!.id}`,
    );
    expect(full.body.frames[0]!.locals[0]!.value).toHaveLength(60_000);
    const newest = await hub.api<PageOf<{ at: number }>>(
      'GET',
      `/api/v1/actions/${snap.id}/snapshots?since=${at + 3}&agentId=${welcome.agentId}`,
    );
    expect(newest.body.items.map((x) => x.at)).toEqual([at + 3]);
    expect(
      (await hub.api<PageOf<unknown>>('GET', `/api/v1/actions/${snap.id}/snapshots?until=${at + 1}`)).body.items,
    ).toEqual([]);
    expect(
      (await hub.api<{ state: string; hitCount: number }>('GET', `/api/v1/actions/${snap.id}`)).body,
    ).toMatchObject({ state: 'completed', hitCount: 3 });

    // Metrics: two flushes of the same bucket add up.
    const points = await waitFor(
      async () => {
        await hub.app.live.tick();
        const r = await hub.api<PageOf<{ count: number; sum: number; min: number; max: number }>>(
          'GET',
          `/api/v1/actions/${metric.id}/metrics`,
        );
        return r.body.items[0]?.count === 4 ? r.body.items : undefined;
      },
      { what: 'the merged metric bucket' },
    );
    expect(points[0]).toMatchObject({ count: 4, sum: 30, min: 1, max: 19 });

    // Statuses and per-agent counts.
    await waitFor(
      async () => {
        const r = await hub.api<PageOf<{ agentId: string; state: string; reason: string | null; hits: number }>>(
          'GET',
          `/api/v1/actions/${snap.id}/agents`,
        );
        return (
          r.body.items[0]?.state === 'error' &&
          r.body.items[0].reason === 'file not loaded' &&
          r.body.items[0].hits === 3
        );
      },
      { what: "the snapshot action's status and hits on its agent" },
    );
    let seen: unknown;
    const a = await waitFor(
      async () => {
        const r = await hub.api<{ hits: { logs: number; snapshots: number; metrics: number; dropped: number } }>(
          'GET',
          `/api/v1/agents/${welcome.agentId}`,
        );
        seen = r.body.hits;
        // The counts of one batch are added by separate statements: wait until all of them are in.
        const h = r.body.hits;
        return h.logs === 12 && h.snapshots === 3 && h.metrics === 4 && h.dropped === 4 ? r.body : undefined;
      },
      {
        what: "the agent's hit counts (12 logs, 3 snapshots, 4 metrics, 4 dropped)",
        detail: () => `last seen ${JSON.stringify(seen)}`,
      },
    );
    expect(a.hits).toEqual({ logs: 12, snapshots: 3, metrics: 4, dropped: 4 });

    // Health: no heartbeat yet, then the counters of the latest one (unknown keys ignored, bad values read as 0).
    expect((await hub.api<{ health: unknown }>('GET', `/api/v1/agents/${welcome.agentId}`)).body.health).toBeNull();
    const beforeBeat = Date.now();
    agent.send({ type: 'heartbeat', v: 1, at: 1, stats: { hits: 5, hookErrors: 1, throttles: 0, cpuMs: 2.5 } });
    agent.send({
      type: 'heartbeat',
      v: 1,
      at: 2,
      stats: { hits: 9, hookErrors: 2, throttles: -1, cpuMs: 3.25, dropped: 4, actions: 3, other: 7 },
    });
    const health = await waitFor(
      async () => {
        await hub.app.live.tick();
        const r = await hub.api<{ health: Record<string, number> | null }>('GET', `/api/v1/agents/${welcome.agentId}`);
        return r.body.health?.hits === 9 ? r.body.health : undefined;
      },
      { what: "the latest heartbeat's counters" },
    );
    expect(health).toEqual({
      at: health.at,
      cpuMs: 3.25,
      hits: 9,
      hookErrors: 2,
      throttles: 0,
      dropped: 4,
      actions: 3,
    });
    expect(health.at).toBeGreaterThanOrEqual(beforeBeat);
    const byTag = await hub.api<PageOf<{ id: string }>>(
      'GET',
      `/api/v1/agents?pool=${pool.name}&tag=region%3Deu&tag=zone%3Da&status=connected`,
    );
    expect(byTag.body.items.map((x) => x.id)).toEqual([welcome.agentId]);
    expect((await hub.api<PageOf<unknown>>('GET', `/api/v1/agents?pool=${pool.name}&tag=zone%3Db`)).body.items).toEqual(
      [],
    );

    // An agent in a worker thread of the same process is told apart by its thread id (0: the main thread).
    const threaded = await SimAgent.connect(hub.wsUrl, pool.key, { threadId: 3 });
    const threadOf = async (id: string) =>
      (await hub.api<{ pid: number; threadId: number }>('GET', `/api/v1/agents/${id}`)).body;
    expect(await threadOf(threaded.welcome.agentId)).toMatchObject({ pid: 4242, threadId: 3 });
    expect(await threadOf(welcome.agentId)).toMatchObject({ pid: 4242, threadId: 0 });
    await threaded.agent.close();

    // Deleting an action removes its hits with it.
    expect((await hub.api('DELETE', `/api/v1/actions/${log.id}`)).status).toBe(204);
    expect((await hub.api('GET', `/api/v1/actions/${log.id}/logs`)).status).toBe(404);
    await agent.close();
    await waitFor(
      async () =>
        (await hub.api<{ status: string }>('GET', `/api/v1/agents/${welcome.agentId}`)).body.status === 'disconnected',
      { what: 'the agent to be marked disconnected' },
    );
  });
});
