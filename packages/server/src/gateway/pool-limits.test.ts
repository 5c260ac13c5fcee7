import { CLOSE_CODES } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, testDatabases, waitFor, type TestHub } from '../../test/kit/index.js';

const MAX_AGENTS = 5;
const MAX_CONNECTIONS = 12;
/** Hellos of the flood: over the agent limit, under the connection limit. */
const FLOOD = 10;
/** Sockets of the connection flood. */
const SOCKETS = 20;

type Outcome = { welcomed: string; session: string } | { code: number; reason: string };

/** Says hello as a new instance and answers how the hub took it. */
async function hello(hub: TestHub, key: string, options: { instanceId?: string; session?: string } = {}) {
  const agent = new SimAgent(hub.wsUrl, key, options);
  await agent.opened;
  agent.hello(options.session === undefined ? {} : { session: options.session });
  const outcome: Outcome = await Promise.race([
    agent.closed,
    agent.next('welcome').then((w) => ({ welcomed: w.agentId, session: w.session! })),
  ]);
  return { agent, outcome };
}

// One pool key in hostile hands: it may not grow the database or the hub's sockets without bound.
describe.each(testDatabases())('pool limits on $dialect', (database) => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await createHub({
      database,
      listen: true,
      env: {
        SPYGLASS_LIVE_MAX_AGENTS_PER_POOL: String(MAX_AGENTS),
        SPYGLASS_LIVE_MAX_CONNECTIONS_PER_POOL: String(MAX_CONNECTIONS),
      },
      // Sockets that never say hello stay open for the test.
      live: { gateway: { helloTimeoutMs: 60_000 } },
    });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('a flood of hellos from one pool key registers no more than maxAgentsPerPool agents', async () => {
    const pool = await hub.createPool();
    const other = await hub.createPool();
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => hello(hub, pool.key)));
    const welcomed = flood.filter((f) => 'welcomed' in f.outcome);
    const refused = flood.map((f) => f.outcome).filter((o) => 'code' in o);
    expect(welcomed).toHaveLength(MAX_AGENTS);
    expect(refused).toHaveLength(FLOOD - MAX_AGENTS);
    for (const r of refused) {
      expect(r).toMatchObject({ code: CLOSE_CODES.LIMIT_REACHED, reason: expect.stringContaining('limit reached') });
    }
    expect(refused.some((r) => r.reason.includes(`has ${MAX_AGENTS} agents`))).toBe(true);
    const listed = await hub.api<{ items: unknown[] }>('GET', `/api/v1/agents?pool=${pool.name}&limit=100`);
    expect(listed.body.items).toHaveLength(MAX_AGENTS);

    // A registered agent still reconnects to a full pool, and other pools are not affected.
    const first = welcomed[0]!;
    const welcome = first.outcome as { welcomed: string; session: string };
    await first.agent.close();
    const back = await hello(hub, pool.key, { instanceId: first.agent.instanceId, session: welcome.session });
    expect(back.outcome).toMatchObject({ welcomed: welcome.welcomed });
    const elsewhere = await hello(hub, other.key);
    expect(elsewhere.outcome).toHaveProperty('welcomed');

    // Refusals are audited as counted denials, not a row each.
    const rows = await waitFor(
      async () => {
        const r = await hub.api<{ items: { status: number; details: { reason: string; count: number } }[] }>(
          'GET',
          '/api/v1/audit?action=agent.connect&outcome=denied',
        );
        const full = r.body.items.filter((e) => e.status === 429 && e.details.reason === 'pool agent limit');
        return full.reduce((n, e) => n + e.details.count, 0) === FLOOD - MAX_AGENTS ? full : undefined;
      },
      { what: 'the counted refusals', timeoutMs: 20_000 },
    );
    expect(rows.length).toBeLessThanOrEqual(2); // one a minute (two if the minute turned)
    await Promise.all([...welcomed.slice(1), back, elsewhere].map((f) => f.agent.close()));
  });

  it('at most maxConnectionsPerPool connections of one pool are open at once', async () => {
    const pool = await hub.createPool();
    // Sockets that never say hello hold a connection until the hello deadline: they count.
    const sockets = Array.from({ length: SOCKETS }, () => new SimAgent(hub.wsUrl, pool.key));
    const closed: { code: number; reason: string }[] = [];
    for (const s of sockets) void s.closed.then((c) => closed.push(c));
    await Promise.all(sockets.map((s) => s.opened));
    await waitFor(() => closed.length >= SOCKETS - MAX_CONNECTIONS, {
      what: 'the connections past the limit to be closed',
    });
    for (const c of closed) {
      expect(c).toMatchObject({ code: CLOSE_CODES.LIMIT_REACHED, reason: expect.stringContaining('connections') });
    }
    // Once some close, others may connect.
    const open = sockets.filter((s) => s.ws.readyState === s.ws.OPEN);
    expect(closed).toHaveLength(SOCKETS - MAX_CONNECTIONS);
    expect(open).toHaveLength(MAX_CONNECTIONS);
    await open[0]!.close();
    await waitFor(
      async () => {
        const next = await hello(hub, pool.key);
        const ok = 'welcomed' in next.outcome;
        if (ok) await next.agent.close();
        return ok;
      },
      { what: 'a connection once one closed' },
    );
    await Promise.all(open.slice(1).map((s) => s.close()));
  });
});

describe('agent retention', () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await createHub({
      listen: true,
      env: { SPYGLASS_LIVE_AGENT_RETENTION_MS: '3000' },
      live: { agentRetentionIntervalMs: 200 },
    });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('deletes agents disconnected longer than live.agentRetentionMs and keeps connected ones', async () => {
    const pool = await hub.createPool();
    const gone = await SimAgent.connect(hub.wsUrl, pool.key);
    const stays = await SimAgent.connect(hub.wsUrl, pool.key);
    await gone.agent.close();
    await waitFor(async () => (await hub.api('GET', `/api/v1/agents/${gone.welcome.agentId}`)).status === 404, {
      what: 'the disconnected agent to be pruned',
      timeoutMs: 20_000,
    });
    // Well past the retention, the connected one (seen every heartbeat) is still there and still connected.
    await new Promise((r) => setTimeout(r, 3500));
    const kept = await hub.api<{ status: string }>('GET', `/api/v1/agents/${stays.welcome.agentId}`);
    expect(kept.body.status).toBe('connected');
    expect(stays.agent.ws.readyState).toBe(stays.agent.ws.OPEN);
    await stays.agent.close();
  });
});
