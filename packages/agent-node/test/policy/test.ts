import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, freePort, waitFor, type TestHub, type TestPool } from '../../../server/test/kit/index.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

// Pool policy through the real path: REST on a real hub → the agent WebSocket → an agent in a child process.
const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const PAY = lineOf(scenario, 'pay');

interface StoredLog {
  at: number;
  message: string;
}

describe('pool policy from the hub', () => {
  let hub: TestHub;
  let pool: TestPool;
  let dir: string;
  const apps: Scenario[] = [];
  const start = (env: Record<string, string>): Scenario => {
    const app = runScenario(RUNTIMES[0]!, scenario, env);
    apps.push(app);
    return app;
  };
  const lines = (app: Scenario): string[] =>
    app
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('spyglass'));
  const line = (app: Scenario, pattern: RegExp, what: string): Promise<string> =>
    waitFor(() => lines(app).find((l) => pattern.test(l)), {
      what,
      timeoutMs: 20_000,
      stopIf: () => app.child.exitCode !== null && `the app exited (${app.child.exitCode})`,
      detail: () => `stderr: ${app.stderr().slice(-2000)}`,
    });
  const setPolicy = (body: unknown) => hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, body);
  const logAction = async (service: string): Promise<string> => {
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: 'test/policy/scenario.mjs',
      line: PAY,
      template: 'paid {order.ref} id {order.id}',
      maxHits: 1_000_000,
      target: { pool: pool.name, service },
    });
    expect(created.status).toBe(201);
    return created.body.id;
  };
  const logs = async (id: string, since?: number): Promise<StoredLog[]> =>
    (
      await hub.api<{ items: StoredLog[] }>(
        'GET',
        `/api/v1/actions/${id}/logs?limit=500${since === undefined ? '' : `&since=${since}`}`,
      )
    ).body.items;
  const connected = (service: string) =>
    waitFor(
      async () =>
        (await hub.api<{ items: { status: string }[] }>('GET', `/api/v1/agents?service=${service}`)).body.items.some(
          (a) => a.status === 'connected',
        ),
      { what: `${service} to connect`, timeoutMs: 20_000 },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spyglass-policy-'));
    hub = await createHub({ listen: true });
    pool = await hub.createPool('payments');
  });
  afterAll(async () => {
    for (const app of apps) app.kill();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a redaction rule set in the hub to a running agent at once, and caches it', async () => {
    const cache = join(dir, 'shop.json');
    const app = start(hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'pay-shop', SPYGLASS_POLICY_CACHE: cache }));
    await app.waitForOutput('started');
    await connected('pay-shop');
    const id = await logAction('pay-shop');
    const before = await waitFor(async () => ((await logs(id)).length >= 3 ? logs(id) : undefined), {
      what: 'log lines before the policy',
      timeoutMs: 20_000,
    });
    for (const l of before) expect(l.message).toMatch(/^paid ACME-\d{4} id \d+$/);

    const set = await setPolicy({ redaction: { values: ['ACME-\\d{4}'] } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ pool: 'payments', revision: 1 });
    const setAt = Date.now();
    const first = await waitFor(
      async () => (await logs(id, setAt - 5000)).reverse().find((l) => l.message.includes('[REDACTED]')),
      { what: 'a redacted log line', timeoutMs: 20_000 },
    );
    expect(first.message).toMatch(/^paid \[REDACTED\] id \d+$/);
    // From the first redacted line on, every line is redacted: the rule stays in force.
    await waitFor(async () => ((await logs(id, first.at)).length >= 10 ? true : undefined), {
      what: 'more lines after the policy',
      timeoutMs: 20_000,
    });
    const after = await logs(id, first.at);
    for (const l of after) expect(l.message).toMatch(/^paid \[REDACTED\] id \d+$/);
    console.info(`[policy] first redacted line ${first.at - setAt} ms after the PUT answered`);

    // The agent wrote the policy to its cache file (atomically: a complete JSON document or nothing).
    const cached = await waitFor(
      () => {
        if (!existsSync(cache)) return undefined;
        const c = JSON.parse(readFileSync(cache, 'utf8')) as { revision: number; policy: unknown };
        return c.revision === 1 ? c : undefined;
      },
      { what: 'the policy cache file', timeoutMs: 10_000 },
    );
    expect(cached.policy).toMatchObject({ redaction: { values: ['ACME-\\d{4}'], defaults: true } });
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('refuses a local setting looser than the pool policy with one line each, and applies the stricter one', async () => {
    expect(
      (await setPolicy({ redaction: { values: ['ACME-\\d{4}'] }, quotas: { cpuBudgetPct: 2, maxLogsPerSecond: 200 } }))
        .status,
    ).toBe(200);
    const app = start(
      hubEnv(hub.url, pool.key, {
        SPYGLASS_SERVICE: 'loose-shop',
        SPYGLASS_POLICY_CACHE: join(dir, 'loose.json'),
        SPYGLASS_CPU_BUDGET_PCT: '50',
        // Tighter than the pool's: taken without a word.
        SPYGLASS_MAX_LOGS_PER_SECOND: '100',
        SPYGLASS_REDACT_DEFAULTS: 'false',
      }),
    );
    await app.waitForOutput('started');
    const cpu = await line(app, /SPYGLASS_CPU_BUDGET_PCT/, 'the refused CPU budget');
    expect(cpu).toBe(
      'spyglass: SPYGLASS_CPU_BUDGET_PCT=50 is looser than the policy of pool payments (at most 2): refused, 2 applies',
    );
    const defaults = await line(app, /SPYGLASS_REDACT_DEFAULTS/, 'the refused redaction switch');
    expect(defaults).toBe(
      'spyglass: SPYGLASS_REDACT_DEFAULTS=false is looser than the policy of pool payments ' +
        '(its built-in redaction rules stay on): refused',
    );
    // The built-in rules stay on despite the local switch: a password is redacted by its name.
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: 'test/policy/scenario.mjs',
      line: PAY,
      template: 'pw {order.password}',
      target: { pool: pool.name, service: 'loose-shop' },
    });
    const pw = await waitFor(async () => (await logs(created.body.id))[0], {
      what: 'a password line',
      timeoutMs: 20_000,
    });
    expect(pw.message).toBe('pw [REDACTED]');
    expect(lines(app).filter((l) => l.includes('looser'))).toHaveLength(2);
    expect(lines(app).some((l) => l.includes('SPYGLASS_MAX_LOGS_PER_SECOND'))).toBe(false);
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('refuses a catastrophic pattern with a clear error; the hub and the agents carry on under the old policy', async () => {
    const app = start(
      hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'safe-shop', SPYGLASS_POLICY_CACHE: join(dir, 'safe.json') }),
    );
    await app.waitForOutput('started');
    await connected('safe-shop');
    const revision = (await hub.api<{ revision: number }>('GET', `/api/v1/pools/${pool.name}/policy`)).body.revision;
    const bad = await setPolicy({ redaction: { values: ['ACME-\\d{4}', '(a+)+$'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    expect(bad.body.error.message).toMatch(/redaction\.values\.1.*nested quantifiers can backtrack catastrophically/);
    const still = await hub.api<{ revision: number }>('GET', `/api/v1/pools/${pool.name}/policy`);
    expect(still.body.revision).toBe(revision);
    // The agent still works, under the policy in force: its lines arrive, redacted.
    const id = await logAction('safe-shop');
    const got = await waitFor(async () => ((await logs(id)).length >= 3 ? logs(id) : undefined), {
      what: 'lines after the refused policy',
      timeoutMs: 20_000,
    });
    for (const l of got) expect(l.message).toMatch(/^paid \[REDACTED\] id \d+$/);
    expect((await hub.api('GET', '/readyz', undefined, 'anonymous')).status).toBe(200);
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('gives a starting agent the policy before its actions: not one line leaks', async () => {
    expect((await setPolicy({ redaction: { values: ['ACME-\\d{4}'] } })).status).toBe(200);
    const id = await logAction('early-shop');
    const app = start(
      hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'early-shop', SPYGLASS_POLICY_CACHE: join(dir, 'early.json') }),
    );
    await app.waitForOutput('started');
    const got = await waitFor(async () => ((await logs(id)).length >= 5 ? logs(id) : undefined), {
      what: 'the first lines of a new agent',
      timeoutMs: 20_000,
    });
    for (const l of got) expect(l.message).toMatch(/^paid \[REDACTED\] id \d+$/);
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('puts a running action off limits when the pool blocklists its file, and lowers capture limits', async () => {
    expect((await setPolicy({ redaction: { values: ['ACME-\\d{4}'] } })).status).toBe(200);
    const app = start(
      hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'block-shop', SPYGLASS_POLICY_CACHE: join(dir, 'block.json') }),
    );
    await app.waitForOutput('started');
    await connected('block-shop');
    const snap = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'snapshot',
      file: 'test/policy/scenario.mjs',
      line: PAY,
      maxHits: 1000,
      limits: { maxStringLength: 200 },
      target: { pool: pool.name, service: 'block-shop' },
    });
    expect(snap.status).toBe(201);
    expect((await setPolicy({ capture: { maxStringLength: 4 } })).status).toBe(200);
    const since = Date.now();
    // A snapshot taken under the new ceiling: strings cut at 4 characters.
    const shot = await waitFor(
      async () => {
        const list = await hub.api<{ items: { id: string; at: number }[] }>(
          'GET',
          `/api/v1/actions/${snap.body.id}/snapshots?since=${since}`,
        );
        const item = list.body.items[0];
        if (item === undefined) return undefined;
        const full = await hub.api<{
          frames: { locals?: { name?: string; children?: { name?: string; value?: string }[] }[] }[];
        }>('GET', `/api/v1/actions/${snap.body.id}/snapshots/${item.id}`);
        const order = full.body.frames[0]?.locals?.find((v) => v.name === 'order');
        // Taken before the push arrived: still under the previous policy (the reference redacted).
        const ref = order?.children?.find((c) => c.name === 'ref');
        return ref?.value?.includes('REDACTED') === false ? ref : undefined;
      },
      { what: 'a snapshot under the capture ceiling', timeoutMs: 20_000 },
    );
    expect(shot.value!.replace(/^"|"$/g, '').replace(/…$/, '')).toBe('ACME');

    expect((await setPolicy({ blocklist: ['**/policy/*.mjs'] })).status).toBe(200);
    const state = await waitFor(
      async () => {
        const r = await hub.api<{ items: { state: string; reason: string | null }[] }>(
          'GET',
          `/api/v1/actions/${snap.body.id}/agents`,
        );
        return r.body.items.find((s) => s.state === 'error');
      },
      { what: 'the action refused by the blocklist', timeoutMs: 20_000 },
    );
    expect(state.reason).toMatch(/scenario\.mjs is on the agent's file blocklist/);
    app.finish();
    expect(await app.exited).toBe(0);
  });

  it('applies its cached policy when it starts while the hub is unreachable', async () => {
    const cache = join(dir, 'offline.json');
    expect((await setPolicy({ redaction: { values: ['ACME-\\d{4}'] }, quotas: { cpuBudgetPct: 3 } })).status).toBe(200);
    const online = start(hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'offline-shop', SPYGLASS_POLICY_CACHE: cache }));
    await online.waitForOutput('started');
    const revision = (await hub.api<{ revision: number }>('GET', `/api/v1/pools/${pool.name}/policy`)).body.revision;
    await waitFor(
      () =>
        existsSync(cache) && (JSON.parse(readFileSync(cache, 'utf8')) as { revision: number }).revision === revision,
      { what: 'the cached policy', timeoutMs: 20_000 },
    );
    online.finish();
    expect(await online.exited).toBe(0);

    // Same service and cache, no hub at its address: the cached policy is in force from the start.
    const down = `http://127.0.0.1:${await freePort()}`;
    const offline = start(
      hubEnv(down, pool.key, {
        SPYGLASS_SERVICE: 'offline-shop',
        SPYGLASS_POLICY_CACHE: cache,
        SPYGLASS_CPU_BUDGET_PCT: '40',
        SPYGLASS_AGENT_DEBUG: '1',
      }),
    );
    await offline.waitForOutput('started');
    await line(offline, /cannot reach the hub/, 'the unreachable line');
    expect(await line(offline, /cached policy/, 'the cached-policy line')).toMatch(
      new RegExp(
        `^spyglass: the hub has not answered yet: the cached policy of pool payments is in force \\(revision ${revision}, saved \\S+, from ${cache.replace(/[.]/g, '\\.')}\\)$`,
      ),
    );
    // Its rules are the ones in force: the cached quota refuses the looser local budget, with the hub away.
    expect(await line(offline, /SPYGLASS_CPU_BUDGET_PCT/, 'the refused budget')).toBe(
      'spyglass: SPYGLASS_CPU_BUDGET_PCT=40 is looser than the policy of pool payments (at most 3): refused, 3 applies',
    );
    expect(offline.stderr()).toMatch(
      new RegExp(
        `pool policy of payments revision ${revision} \\(cache\\) in force: \\d+ redacted names, 3 value patterns`,
      ),
    );
    offline.finish();
    expect(await offline.exited).toBe(0);
  });
});
