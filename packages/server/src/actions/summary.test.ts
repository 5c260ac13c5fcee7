import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, logAction, waitFor, type TestHub, type TestPool } from '../../test/kit/index.js';

type Summary = { state: string; agents: number; errors: number };

describe("an action's summary: the state its agents make it", () => {
  let hub: TestHub;
  let pool: TestPool;
  const agents: SimAgent[] = [];

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    pool = await hub.createPool();
    for (const name of ['one', 'two', 'three'])
      agents.push((await SimAgent.connect(hub.wsUrl, pool.key, { service: { name: 'shop' }, hostname: name })).agent);
  });
  afterAll(async () => {
    for (const a of agents) await a.close();
    await hub?.close();
  });

  /** Creates an action for the three agents; each reports the state given for it. */
  async function reported(
    states: string[],
    overrides: Record<string, unknown> = {},
  ): Promise<{ id: string; summary: Summary }> {
    const created = await hub.api<{ id: string; summary: Summary }>(
      'POST',
      '/api/v1/actions',
      logAction(pool.name, { target: { pool: pool.name, service: 'shop' }, ...overrides }),
    );
    expect(created.status).toBe(201);
    expect(created.body.summary).toEqual({ state: 'pending', agents: 0, errors: 0 });
    const id = created.body.id;
    await Promise.all(agents.map((a) => a.next('actions', (f) => f.items.some((x) => x.id === id))));
    states.forEach((state, i) =>
      agents[i]!.status(id, state, state === 'error' ? { reason: 'no code at or after line 9999' } : {}),
    );
    return waitFor(
      async () => {
        const got = await hub.api<{ id: string; summary: Summary }>('GET', `/api/v1/actions/${id}`);
        return got.body.summary.agents === states.length ? got.body : undefined;
      },
      { what: 'every status to be stored' },
    );
  }

  it('is error when every agent failed, partial with a count when some did, pending or active otherwise', async () => {
    expect((await reported(['error', 'error', 'error'])).summary).toEqual({ state: 'error', agents: 3, errors: 3 });
    const partial = await reported(['active', 'error', 'pending']);
    expect(partial.summary).toEqual({ state: 'partial', agents: 3, errors: 1 });
    expect((await reported(['pending', 'pending', 'pending'])).summary).toEqual({
      state: 'pending',
      agents: 3,
      errors: 0,
    });
    expect((await reported(['pending', 'active', 'throttled'])).summary).toEqual({
      state: 'active',
      agents: 3,
      errors: 0,
    });
    // The list says the same.
    const list = await hub.api<{ items: { id: string; summary: Summary }[] }>('GET', '/api/v1/actions?limit=500');
    expect(list.body.items.find((a) => a.id === partial.id)?.summary).toEqual(partial.summary);
  });

  it('is the hub-side state once the action ended', async () => {
    const { id } = await reported(['error', 'active', 'active'], { expiresAt: Date.now() + 4000 });
    const ended = await waitFor(
      async () => {
        const got = await hub.api<{ state: string; summary: Summary }>('GET', `/api/v1/actions/${id}`);
        return got.body.state === 'expired' ? got.body : undefined;
      },
      { what: 'the action to expire' },
    );
    expect(ended.summary.state).toBe('expired');
  });
});
