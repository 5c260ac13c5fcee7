import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, freePort, waitFor, type TestHub, type TestPool } from '../../../server/test/kit/index.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

// The lines the agent writes on its own, without debug mode: what whoever starts the app sees on its stderr.
const scenario = fileURLToPath(new URL('../esm/scenario.mjs', import.meta.url));
const lines = (app: Scenario): string[] =>
  app
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('spyglass'));

describe("the agent's own lines on stderr", () => {
  let hub: TestHub;
  let pool: TestPool;
  const apps: Scenario[] = [];
  const start = (env: Record<string, string>): Scenario => {
    const app = runScenario(RUNTIMES[0]!, scenario, env);
    apps.push(app);
    return app;
  };
  /** Waits for a line the agent wrote on stderr; a bound on a hang, not a speed check. */
  const line = (app: Scenario, pattern: RegExp, what: string): Promise<string> =>
    waitFor(() => lines(app).find((l) => pattern.test(l)), {
      what,
      timeoutMs: 20_000,
      stopIf: () => app.child.exitCode !== null && `the app exited (${app.child.exitCode})`,
      detail: () => `stderr: ${app.stderr().slice(-2000)}`,
    });

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    pool = await hub.createPool('dev');
  });
  afterAll(async () => {
    for (const app of apps) app.kill();
    await hub?.close();
  });

  it('says once that it connected, with the hub, the service and the pool', async () => {
    const app = start(hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'shop' }));
    await app.waitForOutput('started');
    expect(await line(app, /connected/, 'the connected line')).toBe(
      `spyglass: connected to ${hub.url} as shop (pool dev)`,
    );
    // A reconnect after a welcomed session is no news: still one line.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(lines(app)).toEqual([`spyglass: connected to ${hub.url} as shop (pool dev)`]);
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('says at once that the hub refused a wrong key, then not again for a minute, and the app runs on', async () => {
    const started = Date.now();
    const app = start(hubEnv(hub.url, 'sgp_not-the-key', { SPYGLASS_SERVICE: 'shop' }));
    const refused = await line(app, /refused/, 'the refusal line');
    const tookMs = Date.now() - started;
    expect(refused).toMatch(
      new RegExp(
        `^spyglass: the hub at ${hub.url.replace(/[.]/g, '\\.')} refused the agent's key \\(4001 unauthenticated: invalid pool key.*\\): check SPYGLASS_KEY \\(a pool registration key, sgp_…\\); the app runs on without live debugging; the agent keeps retrying$`,
      ),
    );
    // The agent retries every 100–400 ms here: each refusal would be a line without the bound.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(lines(app).filter((l) => l.includes('refused'))).toHaveLength(1);
    await app.waitForOutput('started');
    app.finish();
    expect(await app.exited).toBe(0);
    console.info(`[notices] refusal line ${tookMs} ms after the app started`);
  });

  it('says that it cannot reach the hub, with the reason', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const app = start(hubEnv(url, pool.key, { SPYGLASS_SERVICE: 'shop' }));
    const unreachable = await line(app, /cannot reach/, 'the unreachable line');
    expect(unreachable).toMatch(
      new RegExp(
        `^spyglass: cannot reach the hub at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\); the app runs on`,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(lines(app).filter((l) => l.includes('cannot reach'))).toHaveLength(1);
    await app.waitForOutput('started');
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('writes nothing of its own with SPYGLASS_AGENT_QUIET=1', async () => {
    const app = start(hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'quiet-shop', SPYGLASS_AGENT_QUIET: '1' }));
    await app.waitForOutput('started');
    await waitFor(
      async () =>
        (await hub.api<{ items: { status: string }[] }>('GET', '/api/v1/agents?service=quiet-shop')).body.items.some(
          (a) => a.status === 'connected',
        ),
      { what: 'the quiet agent to connect', timeoutMs: 20_000 },
    );
    const wrong = start(hubEnv(hub.url, 'sgp_wrong', { SPYGLASS_SERVICE: 'quiet-shop', SPYGLASS_AGENT_QUIET: '1' }));
    await wrong.waitForOutput('started');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(lines(app)).toEqual([]);
    expect(lines(wrong)).toEqual([]);
    app.finish();
    wrong.finish();
    expect(await app.exited).toBe(0);
    expect(await wrong.exited).toBe(0);
  });
});
