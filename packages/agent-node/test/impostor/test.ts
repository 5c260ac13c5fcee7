import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CLOSE_CODES } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, waitFor, type TestHub, type TestPool } from '../../../server/test/kit/index.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('../esm/scenario.mjs', import.meta.url));

/** A TCP relay to the hub whose connections the test can cut, as a network blip would. */
async function relay(port: number): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface AgentView {
  id: string;
  instanceId: string;
  status: string;
  connectedAt: number;
  hostname: string;
}

// A holder of the pool key says hello with a connected agent's instance id (every viewer sees it in the agents list).
describe('an impostor with the pool key', () => {
  let hub: TestHub;
  let pool: TestPool;
  let app: Scenario;
  let relayed: Awaited<ReturnType<typeof relay>>;

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    pool = await hub.createPool();
    relayed = await relay(Number(new URL(hub.url).port));
    app = runScenario(RUNTIMES[0]!, scenario, hubEnv(relayed.url, pool.key, { SPYGLASS_SERVICE: 'impersonated' }));
    await app.waitForOutput('started');
  });

  afterAll(async () => {
    app?.kill();
    await relayed?.close();
    await hub?.close();
  });

  it('is refused and audited, and the real agent keeps its identity across a reconnect', async () => {
    const agentOf = async (): Promise<AgentView | undefined> =>
      (await hub.api<{ items: AgentView[] }>('GET', `/api/v1/agents?pool=${pool.name}&status=connected`)).body.items[0];
    const real = await waitFor(agentOf, { what: 'the real agent connected' });

    for (const hello of [{}, { session: 'sga_a-guess' }]) {
      const impostor = new SimAgent(hub.wsUrl, pool.key, { instanceId: real.instanceId });
      await impostor.opened;
      impostor.hello({ service: { name: 'impersonated' }, hostname: 'impostor', ...hello });
      const outcome = await Promise.race([impostor.closed, impostor.next('welcome').then(() => 'welcomed')]);
      expect(outcome).toEqual({
        code: CLOSE_CODES.IDENTITY_REFUSED,
        reason: expect.stringContaining('identity refused'),
      });
    }
    // Audited as counted denials (a row per source address a minute): both attempts, the first one's details.
    const refusals = async (): Promise<{ count: number; first?: Record<string, unknown> }> => {
      const r = await hub.api<{ items: { status: number; targetId: string; details: Record<string, unknown> }[] }>(
        'GET',
        '/api/v1/audit?action=agent.connect&outcome=denied',
      );
      const rows = r.body.items.filter((e) => e.status === 403);
      return { count: rows.reduce((n, e) => n + Number(e.details.count), 0), first: rows.at(-1) };
    };
    const audited = await waitFor(async () => ((await refusals()).count === 2 ? refusals() : undefined), {
      what: 'two counted refusals',
      timeoutMs: 20_000,
    });
    expect(audited.first).toMatchObject({
      targetId: real.id,
      details: { reason: 'missing session credential', hostname: 'impostor', instanceId: real.instanceId },
    });
    expect(await agentOf()).toMatchObject({ id: real.id, connectedAt: real.connectedAt, hostname: real.hostname });

    // The network drops the real agent's connection: it reconnects with its credential, as the same agent.
    relayed.cut();
    const back = await waitFor(
      async () => {
        const a = await agentOf();
        return a !== undefined && a.connectedAt > real.connectedAt ? a : undefined;
      },
      { what: 'the real agent reconnected', timeoutMs: 30_000 },
    );
    expect(back).toMatchObject({ id: real.id, instanceId: real.instanceId, hostname: real.hostname });
    expect((await refusals()).count).toBe(2);

    // It is the real agent that answers: a log placed now runs in its code.
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: 'test/esm/scenario.mjs',
      line: lineOf(scenario, 'handle-total'),
      template: 'order {order.id} costs {order.qty * order.price}',
      target: { pool: pool.name },
    });
    expect(created.status).toBe(201);
    const logs = await waitFor(
      async () => {
        const r = await hub.api<{ items: { message: string; agentId: string }[] }>(
          'GET',
          `/api/v1/actions/${created.body.id}/logs`,
        );
        return r.body.items.length > 0 ? r.body.items : undefined;
      },
      { what: 'a line from the real agent', timeoutMs: 30_000 },
    );
    expect(logs[0]).toMatchObject({ agentId: real.id, message: expect.stringMatching(/^order \d+ costs 10$/) });
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('a real agent whose credential the hub no longer takes carries on as a new instance', async () => {
    const other = runScenario(RUNTIMES[0]!, scenario, hubEnv(relayed.url, pool.key, { SPYGLASS_SERVICE: 'reset' }));
    try {
      await other.waitForOutput('started');
      const agentOf = async (): Promise<AgentView[]> =>
        (await hub.api<{ items: AgentView[] }>('GET', `/api/v1/agents?service=reset&status=connected`)).body.items;
      const [first] = await waitFor(async () => ((await agentOf()).length === 1 ? agentOf() : undefined), {
        what: 'the agent connected',
      });
      // Its record now holds another credential (restored from a backup, say): its reconnect is refused (4008), and it
      // registers again under a new instance id instead of retrying the refused one forever.
      await hub.storage.db
        .updateTable('agents')
        .set({ session_hash: '0'.repeat(64) })
        .where('id', '=', first!.id)
        .execute();
      relayed.cut();
      const next = await waitFor(async () => (await agentOf()).find((a) => a.id !== first!.id), {
        what: 'the agent registered anew',
        timeoutMs: 30_000,
      });
      expect(next.instanceId).not.toBe(first!.instanceId);
      other.finish();
      expect(await other.exited).toBe(0);
    } finally {
      other.kill();
    }
  });
});
