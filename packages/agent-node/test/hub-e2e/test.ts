import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, waitFor, type TestHub, type TestPool } from '../../../server/test/kit/index.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

// End to end through the real hub (buildApp, SQLite in memory): REST → actions → agent gateway → this agent → hits.
const scenario = fileURLToPath(new URL('../esm/scenario.mjs', import.meta.url));

describe('through the real hub', () => {
  let hub: TestHub;
  let app: Scenario;
  let pool: TestPool;

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    pool = await hub.createPool();
    app = runScenario(RUNTIMES[0]!, scenario, hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'e2e-shop' }));
    await app.waitForOutput('started');
  });

  afterAll(async () => {
    app?.kill();
    await hub?.close();
  });

  it('places a log created over REST and the hub stores its lines', async () => {
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: 'test/esm/scenario.mjs',
      line: lineOf(scenario, 'handle-total'),
      template: 'order {order.id} costs {order.qty * order.price}',
      target: { pool: pool.name },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // The agent's status carries the method; until it arrives, a row the hub made for the first hits says only
    // `active` (hits and statuses travel in separate frames).
    const status = await waitFor(
      async () => {
        const r = await hub.api<{ items: { state: string; method: string | null }[] }>(
          'GET',
          `/api/v1/actions/${id}/agents`,
        );
        return r.body.items.find((s) => s.state === 'active' && s.method !== null);
      },
      { what: 'agent status' },
    );
    expect(status.method).toBe('patch');
    const logs = await waitFor(
      async () => {
        const r = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${id}/logs`);
        return r.body.items.length >= 2 ? r.body.items : undefined;
      },
      { what: 'stored logs' },
    );
    for (const l of logs) expect(l.message).toMatch(/^order \d+ costs 10$/);
    app.finish();
    expect(await app.exited).toBe(0);
  });
});
