import { CLOSE_CODES, PROTOCOL_VERSION, WIRE_LIMITS } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, eventually, logAction, startHub, type Hub } from './__tests__/kit.js';

let hub: Hub;
let pool: { id: string; name: string; key: string };

beforeAll(async () => {
  hub = await startHub();
  pool = await hub.createPool();
});
afterAll(async () => {
  await hub.close();
});

describe('agent gateway: authentication', () => {
  it('welcomes an agent with a good pool key and registers it as connected', async () => {
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    expect(welcome).toMatchObject({ type: 'welcome', v: PROTOCOL_VERSION, actions: { items: [] } });
    expect(welcome.settings.maxFrameBytes).toBe(WIRE_LIMITS.maxFrameBytes);
    const got = await hub.api<{
      status: string;
      service: { name: string };
      poolName: string;
      tags: Record<string, string>;
    }>('GET', `/api/v1/agents/${welcome.agentId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      status: 'connected',
      service: { name: 'checkout' },
      poolName: pool.name,
      tags: { region: 'eu' },
    });
    await agent.close();
    await eventually(
      async () =>
        (await hub.api<{ status: string }>('GET', `/api/v1/agents/${welcome.agentId}`)).body.status === 'disconnected',
    );
  });

  it('closes with 4001 on a wrong or missing key and audits it', async () => {
    const wrong = new SimAgent(hub.wsUrl, 'sgp_not-a-real-key');
    expect(await wrong.closed).toMatchObject({
      code: CLOSE_CODES.UNAUTHENTICATED,
      reason: expect.stringContaining('invalid pool key'),
    });
    const missing = new SimAgent(hub.wsUrl, undefined);
    expect(await missing.closed).toMatchObject({
      code: CLOSE_CODES.UNAUTHENTICATED,
      reason: expect.stringContaining('missing pool key'),
    });
    const audit = await hub.api<{ items: { action: string; outcome: string; details: { reason: string } }[] }>(
      'GET',
      '/api/v1/audit?action=agent.connect',
    );
    expect(audit.body.items.map((e) => [e.outcome, e.details.reason])).toEqual(
      expect.arrayContaining([
        ['denied', 'invalid pool key'],
        ['denied', 'missing pool key'],
      ]),
    );
  });
});

describe('agent gateway: dispatch', () => {
  it('sends created actions to matching agents only, takes statuses and removes deleted actions', async () => {
    const { agent: eu, welcome: euWelcome } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'eu' } });
    const { agent: us } = await SimAgent.connect(hub.wsUrl, pool.key, { tags: { region: 'us' } });
    const created = await hub.api<{ id: string; state: string }>(
      'POST',
      '/api/v1/actions',
      logAction(pool.name, { target: { pool: pool.name, tags: { region: 'eu' } } }),
    );
    expect(created.status).toBe(201);
    const frame = await eu.next('actions', (f) => f.items.some((a) => a.id === created.body.id));
    expect(frame.items[0]).toMatchObject({
      id: created.body.id,
      kind: 'log',
      file: 'src/checkout.ts',
      line: 42,
      maxHits: 100,
    });
    eu.status(created.body.id, 'active', { method: 'patch', location: { file: 'src/checkout.ts', line: 42 } });
    await eventually(async () => {
      const a = await hub.api<{ statusCounts: Record<string, number>; agents: { agentId: string; method: string }[] }>(
        'GET',
        `/api/v1/actions/${created.body.id}`,
      );
      return (
        a.body.statusCounts.active === 1 &&
        a.body.agents[0]?.agentId === euWelcome.agentId &&
        a.body.agents[0]?.method === 'patch'
      );
    });
    expect(us.currentIds()).not.toContain(created.body.id);

    expect((await hub.api('DELETE', `/api/v1/actions/${created.body.id}`)).status).toBe(204);
    const after = await eu.next('actions', (f) => !f.items.some((a) => a.id === created.body.id));
    expect(after.revision).toBeGreaterThan(frame.revision);
    await Promise.all([eu.close(), us.close()]);
  });
});
