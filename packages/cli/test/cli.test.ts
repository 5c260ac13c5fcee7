import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  SimAgent,
  createHub,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
} from '../../server/test/kit/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let configHome: string;
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function json<T = any>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** The id of the action an `add` printed: its first line is `log <id> added at FILE:LINE (target)`. */
function addedId(r: Result): string {
  const m = /^(?:log|snapshot|metric) ([0-9a-f-]{36}) added at /.exec(r.stdout);
  expect(m, `${r.stdout}${r.stderr}`).not.toBeNull();
  return m![1]!;
}

/** Each check of a CLI command's outcome starts a process: not too often. */
const CLI_POLL = { intervalMs: 200 };

describe('spyglass CLI against a real hub and the example service under the agent', () => {
  let hub: TestHub;
  let url: string;
  let shop: ExampleShop | undefined;
  let shopUrl: string;
  let poolKey: string;

  const order = (email: string) =>
    fetch(`${shopUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c1', email }, items: [{ sku: 'mug', quantity: 2 }] }),
    }).then((r) => r.json());

  beforeAll(async () => {
    configHome = mkdtempSync(path.join(tmpdir(), 'sg-cli-'));
    // The hub's own timers: a real agent under load must not be timed out by test-short heartbeats.
    hub = await createHub({ listen: true, timers: 'default' });
    url = hub.url;
    const login = await cli(['login', '--url', url, '--email', 'admin@localhost', '--password', ADMIN_PASSWORD]);
    expect(login.code, login.stderr).toBe(0);
    poolKey = (await json<{ key: string }>(['pools', 'create', 'dev'])).key;
    shop = await startExampleShop(url, poolKey);
    shopUrl = shop.url;
    await waitFor(async () => (await json<unknown[]>(['agents', 'ls', '--service', 'shop'])).length > 0, {
      what: 'the agent to connect',
      ...CLI_POLL,
    });
  });

  afterAll(async () => {
    shop?.stop();
    await hub?.close();
  });

  it('stores the hub URL and a token in a file only its owner can read', () => {
    const file = path.join(configHome, 'spyglass', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.url).toBe(url);
    expect(saved.token).toMatch(/^sgt_/);
    expect(JSON.stringify(saved)).not.toContain(ADMIN_PASSWORD);
  });

  it('logs in with an existing token, and refuses a bad one with exit 1', async () => {
    const ok = await cli(['login', '--url', url, '--token', hub.tokens.viewer, '--json'], {
      XDG_CONFIG_HOME: mkdtempSync(path.join(tmpdir(), 'sg-cli-')),
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).user.role).toBe('viewer');
    const bad = await cli(['login', '--url', url, '--token', 'sgt_nope'], {
      XDG_CONFIG_HOME: mkdtempSync(path.join(tmpdir(), 'sg-cli-')),
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^UNAUTHENTICATED: /m);
  });

  it('refuses a wrong password with exit 1 and says how to recover a lost one', async () => {
    const bad = await cli(['login', '--url', url, '--email', 'admin@localhost', '--password', 'not-the-password'], {
      XDG_CONFIG_HOME: mkdtempSync(path.join(tmpdir(), 'sg-cli-')),
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^UNAUTHENTICATED: wrong email or password, or the account is disabled\. Lost the password\?/m,
    );
    expect(bad.stderr).toContain('npm run reset-password');
  });

  it('manages pools: ls, create (key once), rotate-key', async () => {
    const created = await cli(['pools', 'create', 'staging']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/registration key \(shown only now\): sgp_/);
    const list = await cli(['pools', 'ls']);
    expect(list.stdout).toMatch(/^staging\s/m);
    expect(list.stdout).not.toMatch(/sgp_\S{20,}/);
    expect((await json<Array<{ name: string }>>(['pools', 'ls'])).map((p) => p.name)).toEqual(['dev', 'staging']);
    const rotated = await json<{ key: string }>(['pools', 'rotate-key', 'staging']);
    expect(rotated.key).toMatch(/^sgp_/);
    const dup = await cli(['pools', 'create', 'staging']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^CONFLICT: /m);
  });

  it('unlocks an account past its sign-in limit (admins): its failures are cleared', async () => {
    const email = 'viewer@example.test';
    for (let i = 0; i < 3; i++)
      await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: `wrong-${i}` } });
    const r = await cli(['users', 'unlock', email.toUpperCase()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`unlocked ${email}: cleared 3 failed sign-ins`);
    const row = await hub.storage.db
      .selectFrom('login_failures')
      .selectAll()
      .where('limit_key', '=', `account:${email}`)
      .executeTakeFirst();
    expect(row).toBeUndefined();
    const unknown = await cli(['users', 'unlock', 'nobody@example.test']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user with the email nobody@example.test');
  });

  it('grants, lists and revokes roles per pool (admins)', async () => {
    const email = 'viewer@example.test';
    const granted = await cli(['users', 'grant', email, '--pool', 'staging', '--role', 'developer']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toContain(`${email} is now developer in pool staging`);
    const listed = await cli(['users', 'memberships', email]);
    expect(listed.stdout).toMatch(/viewer in every pool/);
    expect(listed.stdout).toMatch(/staging\s+developer\s+manual/);
    const data = await json<{ memberships: { poolName: string; role: string }[] }>(['users', 'memberships', email]);
    expect(data.memberships).toMatchObject([{ poolName: 'staging', role: 'developer' }]);
    const badRole = await cli(['users', 'grant', email, '--pool', 'staging', '--role', 'owner']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of admin, developer, viewer, not "owner"');
    const badPool = await cli(['users', 'grant', email, '--pool', 'no-such-pool', '--role', 'viewer']);
    expect(badPool.code).toBe(1);
    expect(badPool.stderr).toMatch(/^NOT_FOUND: pool no-such-pool not found/m);
    const revoked = await cli(['users', 'revoke', email, '--pool', 'staging']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await json<{ memberships: unknown[] }>(['users', 'memberships', email])).memberships).toEqual([]);
    const again = await cli(['users', 'revoke', email, '--pool', 'staging']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^NOT_FOUND: the user has no role in pool staging/m);
  });

  it('lists agents with service and tag filters', async () => {
    const table = await cli(['agents', 'ls', '--service', 'shop']);
    expect(table.stdout).toMatch(/shop\s+dev\s+connected/);
    expect(await json<unknown[]>(['agents', 'ls', '--tag', 'region=eu'])).toHaveLength(1);
    expect(await json<unknown[]>(['agents', 'ls', '--tag', 'region=us'])).toHaveLength(0);
    expect((await cli(['agents', 'ls', '--tag', 'nonsense'])).code).toBe(2);
  });

  it('shows one agent with its health counters (sent by the agent when welcomed and every heartbeat)', async () => {
    const [listed] = await json<Array<{ id: string }>>(['agents', 'ls', '--service', 'shop']);
    const agent = await waitFor(
      async () => {
        const a = await json<{ health: { hookErrors: number; at: number } | null }>(['agents', 'show', listed!.id]);
        return a.health === null ? undefined : a;
      },
      { what: 'the first heartbeat to be stored', ...CLI_POLL },
    );
    expect(agent.health).toMatchObject({ hookErrors: 0 });
    const text = await cli(['agents', 'show', listed!.id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /health\s+\d+ actions, \d+ hits, 0 hook errors, \d+ throttles, \d+ dropped, [\d.]+ ms CPU/,
    );
    expect(text.stdout).toContain(' pid ');
    const missing = await cli(['agents', 'show', 'no-such-agent']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
  });

  it('tells an agent in a worker thread by its thread, in the list and in show', async () => {
    const { agent, welcome } = await SimAgent.connect(url.replace(/^http/, 'ws'), poolKey, {
      service: { name: 'threaded' },
      threadId: 3,
    });
    try {
      const table = await cli(['agents', 'ls', '--service', 'threaded']);
      expect(table.stdout).toMatch(/threaded\s+dev\s+connected\s+host-1\s+4242 thread 3/);
      expect((await cli(['agents', 'show', welcome.agentId])).stdout).toMatch(
        /process\s+host-1 pid 4242 thread 3, node/,
      );
      // The main thread's agent shows no thread.
      expect((await cli(['agents', 'ls', '--service', 'shop'])).stdout).not.toContain('thread');
    } finally {
      await agent.close();
    }
  });

  it('adds a log to a .ts line, shows per-agent status and method, and prints the lines', async () => {
    const add = await cli([
      'log',
      'add',
      'src/services/checkout.ts:52',
      'order {order.id} for {request.customer.email}',
      '--service',
      'shop',
      '--wait',
      '30s',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const id = addedId(add);
    // It waited for the agent: one line per agent with its state, method and where the probe landed.
    expect(add.stdout).toMatch(
      new RegExp(
        `^log ${id} added at src/services/checkout\\.ts:52 \\(pool dev, service shop\\)\\n {2}shop \\S+ pid \\d+: active · (patch|breakpoint) at services/checkout\\.ts:52\\n$`,
      ),
    );
    const status = await waitFor(
      async () => {
        const a = await json<{ agents: Array<{ state: string; method: string | null }> }>(['actions', 'show', id]);
        return a.agents.find((s) => s.state === 'active');
      },
      { what: 'the agent to install the log', ...CLI_POLL },
    );
    expect(['patch', 'breakpoint']).toContain(status.method);
    const shown = await cli(['actions', 'show', id]);
    expect(shown.stdout).toMatch(/active \((patch|breakpoint)\)/);

    await order('ann@example.com');
    await order('bob@example.com');
    const lines = await waitFor(
      async () => {
        const r = await cli(['logs', id]);
        return (r.stdout.match(/ INFO /g) ?? []).length >= 2 ? r.stdout : undefined;
      },
      { what: 'two log lines', ...CLI_POLL },
    );
    expect(lines).toMatch(/order ord-\d+ for ann@example\.com/);
    expect(lines).toMatch(/order ord-\d+ for bob@example\.com/);
    const asJson = await json<Array<{ message: string }>>(['logs', id]);
    expect(asJson.map((l) => l.message)).toEqual(expect.arrayContaining([expect.stringMatching(/bob@example\.com/)]));

    const ls = await cli(['actions', 'ls']);
    expect(ls.stdout).toContain(id);
    expect(ls.stdout).toMatch(/src\/services\/checkout\.ts:52/);
  });

  it('follows new log lines live until interrupted', async () => {
    const id = addedId(
      await cli(['log', 'add', 'src/services/checkout.ts:52', 'live {request.customer.email}', '--pool', 'dev']),
    );
    await waitFor(
      async () =>
        (await json<{ agents: Array<{ state: string }> }>(['actions', 'show', id])).agents.some(
          (s) => s.state === 'active',
        ),
      { what: 'the log to be active', ...CLI_POLL },
    );
    const follow = spawn(process.execPath, [BIN, 'logs', id, '--follow'], {
      env: { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: configHome },
    });
    let out = '';
    let note = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    follow.stderr.on('data', (d: Buffer) => (note += d.toString()));
    const exited = new Promise<number | null>((resolve) => follow.on('exit', resolve));
    await waitFor(() => note.includes('(following new lines; Ctrl-C to stop)'), {
      what: 'the stream to follow',
    });
    await order('carol@example.com');
    await waitFor(() => out.includes('live carol@example.com'), {
      what: 'the streamed line',
    });
    follow.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('ends --follow with exit 1 and a clear message when the hub goes away', async () => {
    const other = await createHub({ listen: true });
    const otherUrl = other.url;
    const env = { SPYGLASS_URL: otherUrl, SPYGLASS_TOKEN: other.tokens.developer };
    await other.app.services.pools.create('gone');
    const id = addedId(await cli(['log', 'add', 'src/a.ts:1', 'x', '--pool', 'gone', '--no-wait'], env));
    const follow = spawn(process.execPath, [BIN, 'logs', id, '--follow'], {
      env: { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: configHome, ...env },
    });
    let err = '';
    follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => follow.on('exit', resolve));
    await waitFor(() => err.includes('(following new lines; Ctrl-C to stop)'), {
      what: 'the stream to follow',
    });
    await other.close();
    expect(await exited).toBe(1);
    expect(err).toMatch(/the live stream closed/);
  });

  it('adds a snapshot and prints the stack with a variables tree and watch values', async () => {
    const id = addedId(
      await cli(['snapshot', 'add', 'src/services/checkout.ts:52', '--expr', 'order.totalCents', '--service', 'shop']),
    );
    await waitFor(
      async () =>
        (await json<{ agents: Array<{ state: string }> }>(['actions', 'show', id])).agents.some(
          (s) => s.state === 'active',
        ),
      { what: 'the snapshot to be installed', ...CLI_POLL },
    );
    await order('dave@example.com');
    const text = await waitFor(
      async () => {
        const r = await cli(['snapshots', id]);
        return r.stdout.includes('stack') ? r.stdout : undefined;
      },
      { what: 'a snapshot', ...CLI_POLL },
    );
    expect(text).toMatch(/#0 placeOrder\s+\S*checkout\.ts:\d+/);
    // The file by the shop's own path, the method's receiver by its class, and the async callers that led here.
    expect(text).toMatch(/#0 placeOrder\s+src\/services\/checkout\.ts:52$/m);
    expect(text).toMatch(/^\s+this: CheckoutService$/m);
    expect(text).toMatch(/#\d+ async \(await\) handleOrders\s+src\/routes\/orders\.ts:\d+$/m);
    expect(text).toMatch(/order\.totalCents: 2400/);
    expect(text).toMatch(/email: "dave@example\.com"/);
    const [snap] = await json<Array<{ frames: Array<{ functionName: string }> }>>(['snapshots', id]);
    expect(snap!.frames[0]!.functionName).toBe('placeOrder');
  });

  it('adds counter and tictoc metrics and prints their aggregates', async () => {
    const counter = addedId(await cli(['metric', 'add', 'counter', 'src/services/pricing.ts:18', '--name', 'quotes']));
    const tictoc = addedId(await cli(['metric', 'add', 'tictoc', 'src/services/checkout.ts:34-43']));
    for (const id of [counter, tictoc]) {
      await waitFor(
        async () =>
          (await json<{ agents: Array<{ state: string }> }>(['actions', 'show', id])).agents.some(
            (s) => s.state === 'active',
          ),
        { what: 'the metric to be active', ...CLI_POLL },
      );
    }
    await order('erin@example.com');
    await order('erin@example.com');
    await order('erin@example.com');
    const points = await waitFor(
      async () => {
        const p = await json<Array<{ count: number }>>(['metrics', counter]);
        return p.reduce((n, x) => n + x.count, 0) >= 3 ? p : undefined;
      },
      { what: 'metric samples', timeoutMs: 30_000, ...CLI_POLL },
    );
    expect(points.reduce((n, x) => n + x.count, 0)).toBe(3);
    const table = await cli(['metrics', counter]);
    expect(table.stdout).toMatch(/^FROM\s+COUNT\n/m);
    const timed = await waitFor(
      async () => {
        const p = await json<Array<{ count: number; min: number; max: number; p50: number; p99: number }>>([
          'metrics',
          tictoc,
        ]);
        return p.length > 0 ? p : undefined;
      },
      { what: 'tictoc samples', timeoutMs: 30_000, ...CLI_POLL },
    );
    expect(timed[0]!.min).toBeGreaterThan(0);
    // Percentiles estimated from the agent's histogram, never outside the exact extremes.
    expect(timed[0]!.p50).toBeGreaterThanOrEqual(timed[0]!.min);
    expect(timed[0]!.p99).toBeGreaterThanOrEqual(timed[0]!.p50);
    expect(timed[0]!.p99).toBeLessThanOrEqual(timed[0]!.max);
    const timedTable = (await cli(['metrics', tictoc])).stdout;
    expect(timedTable).toMatch(/^FROM\s+COUNT\s+MIN ms\s+AVG ms\s+P50 ms\s+P99 ms\s+MAX ms$/m);
    expect(timedTable.split('\n')[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d+(\s+\d+(\.\d+)?){5}$/);
    expect((await cli(['metric', 'add', 'tictoc', 'src/services/checkout.ts:34'])).code).toBe(2);
    expect((await cli(['metric', 'add', 'gauge', 'src/services/checkout.ts:34'])).code).toBe(2);
    expect((await cli(['metric', 'add', 'histogram', 'a.ts:1'])).code).toBe(2);
  });

  it("tells the truth about an action's state, and why it has no output: errored, pending, no agent", async () => {
    // A line past the end of the file: the agent refuses it, and the add says so with exit 1.
    const refused = await cli([
      'log',
      'add',
      'src/services/checkout.ts:9999',
      'never {order.id}',
      '--service',
      'shop',
      '--wait',
      '30s',
    ]);
    expect(refused.code).toBe(1);
    const past = addedId(refused);
    expect(refused.stdout).toMatch(/^ {2}shop \S+ pid \d+: error · no code at or after line 9999/m);
    expect(refused.stderr).toContain(
      `every matching agent failed to install the action; it stays listed as error until removed: spyglass actions rm ${past}`,
    );
    await waitFor(
      async () => (await json<{ summary: { state: string } }>(['actions', 'show', past])).summary.state === 'error',
      { what: 'the agent to refuse the line', ...CLI_POLL },
    );
    expect((await cli(['actions', 'show', past])).stdout).toMatch(/^ {2}state {5}error \(its agent failed\) /m);
    const row = (await cli(['actions', 'ls'])).stdout.split('\n').find((l) => l.startsWith(past));
    expect(row).toMatch(/error \(its agent failed\)/);
    const errored = await cli(['logs', past]);
    expect(errored.code).toBe(0);
    expect(errored.stdout).toBe('');
    expect(errored.stderr).toMatch(/^\(no log line: every agent failed to install the action\)$/m);
    expect(errored.stderr).toMatch(/^ {2}shop \S+ pid \d+: error · no code at or after line 9999/m);

    // An unknown file: pending (it may load later), exit 0, and the reason is printed.
    const later = await cli(['snapshot', 'add', 'nope.ts:10', '--service', 'shop', '--wait', '30s']);
    expect(later.code, later.stderr).toBe(0);
    const unknown = addedId(later);
    expect(later.stdout).toMatch(/^ {2}shop \S+ pid \d+: pending · .*no loaded script matches/m);
    await waitFor(
      async () =>
        (await json<{ agents: Array<{ state: string }> }>(['actions', 'show', unknown])).agents.some(
          (a) => a.state === 'pending',
        ),
      { what: 'the agent to report the snapshot pending', ...CLI_POLL },
    );
    const pending = await cli(['snapshots', unknown]);
    expect(pending.stderr).toMatch(/^\(no snapshot yet: the action is pending on every agent that has it\)$/m);
    expect(pending.stderr).toMatch(/^ {2}shop \S+ pid \d+: pending · .*no loaded script matches/m);

    // No agent matches the target: said at once, without waiting.
    const started = Date.now();
    const alone = await cli(['log', 'add', 'src/a.ts:1', 'x', '--pool', 'dev', '--service', 'nosuch', '--wait', '1m']);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(alone.code).toBe(0);
    const nobody = addedId(alone);
    expect(alone.stderr).toContain(
      `no connected agent matches pool dev, service nosuch: the action waits for one to connect (remove it with spyglass actions rm ${nobody})`,
    );
    expect((await cli(['actions', 'show', nobody])).stdout).toContain(
      '(no connected agent matches pool dev, service nosuch: the action waits for one to connect)',
    );
    const none = await cli(['logs', nobody]);
    expect(none.stderr).toMatch(
      /^\(no log line: no connected agent matches pool dev, service nosuch; the action waits for one to connect\)$/m,
    );
    // --no-wait prints the action and returns; --json after a wait carries the agents' statuses.
    const quick = await cli(['log', 'add', 'src/services/checkout.ts:52', 'quick', '--service', 'shop', '--no-wait']);
    expect(quick.code).toBe(0);
    expect(quick.stdout).toMatch(
      /^log [0-9a-f-]{36} added at src\/services\/checkout\.ts:52 \(pool dev, service shop\)\n$/,
    );
    const waited = await cli([
      'log',
      'add',
      'src/services/checkout.ts:52',
      'json',
      '--service',
      'shop',
      '--json',
      '--wait',
      '30s',
    ]);
    expect(waited.code).toBe(0);
    const body = JSON.parse(waited.stdout) as { id: string; agents: Array<{ state: string }> };
    expect(body.agents.map((a) => a.state)).toEqual(['active']);
    expect((await cli(['log', 'add', 'a.ts:1', 'x', '--pool', 'dev', '--wait', 'soon'])).code).toBe(2);
    for (const id of [past, unknown, nobody, addedId(quick), body.id])
      expect((await cli(['actions', 'rm', id])).code).toBe(0);
  });

  it('removes an action', async () => {
    const id = addedId(await cli(['log', 'add', 'src/services/pricing.ts:18', 'x', '--ttl', '10m']));
    const rm = await cli(['actions', 'rm', id]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`removed ${id}`);
    const gone = await cli(['actions', 'show', id]);
    expect(gone.code).toBe(1);
  });

  it('shows the audit log to admins', async () => {
    const events = await json<Array<{ action: string }>>(['audit', 'ls', '--limit', '200']);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['action.create', 'action.delete', 'pool.create']),
    );
    const table = await cli(['audit', 'ls', '--action', 'pool.create']);
    expect(table.stdout).toMatch(/pool\.create\s+pool\//);
  });

  it('reports errors clearly with the documented exit codes', async () => {
    const unknown = await cli(['actions', 'show', '00000000-0000-4000-8000-000000000000']);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/^NOT_FOUND: /m)]);
    const malformed = await cli(['log', 'add', 'checkout.ts', 'x']);
    expect([malformed.code, malformed.stderr]).toEqual([2, expect.stringMatching(/not FILE:LINE/)]);
    const zero = await cli(['snapshot', 'add', 'checkout.ts:0']);
    expect(zero.code).toBe(2);
    const invalid = await cli(['log', 'add', 'src/a.ts:1', '', '--pool', 'dev']);
    expect([invalid.code, invalid.stderr]).toEqual([1, expect.stringMatching(/^INVALID_INPUT: body\.template/m)]);
    const unclosed = await cli(['log', 'add', 'src/a.ts:1', 'order {order.id', '--pool', 'dev']);
    expect([unclosed.code, unclosed.stderr]).toEqual([
      1,
      expect.stringMatching(/^INVALID_INPUT: body\.template: unclosed "\{" at column 7 /m),
    ]);
    const badExpr = await cli(['log', 'add', 'src/a.ts:1', 'total {order.totalCents +* 2}', '--pool', 'dev']);
    expect([badExpr.code, badExpr.stderr]).toEqual([
      1,
      expect.stringMatching(
        /^INVALID_INPUT: body\.template: \{order\.totalCents \+\* 2\} at column 26: Unexpected token$/m,
      ),
    ]);
    const badIf = await cli(['snapshot', 'add', 'src/a.ts:1', '--if', 'user.role = "admin"', '--pool', 'dev']);
    expect([badIf.code, badIf.stderr]).toEqual([
      1,
      expect.stringMatching(/^INVALID_INPUT: body\.condition: column 1: assignment is not allowed$/m),
    ]);
    const badGauge = await cli(['metric', 'add', 'gauge', 'src/a.ts:1', '--expr', 'items.length +', '--pool', 'dev']);
    expect([badGauge.code, badGauge.stderr]).toEqual([
      1,
      expect.stringMatching(/^INVALID_INPUT: body\.expression: column 15: Unexpected token$/m),
    ]);
    expect(
      (await json<Array<{ template?: string }>>(['actions', 'ls'])).filter((a) => a.template === 'order {order.id'),
    ).toEqual([]);
    const badTtl = await cli(['log', 'add', 'src/a.ts:1', 'x', '--ttl', 'soon']);
    expect(badTtl.code).toBe(2);
    const down = await cli(['actions', 'ls'], { SPYGLASS_URL: 'http://127.0.0.1:9' });
    expect([down.code, down.stderr]).toEqual([1, expect.stringMatching(/^UNAVAILABLE: cannot reach the hub/m)]);
    const badToken = await cli(['actions', 'ls'], { SPYGLASS_TOKEN: 'sgt_revoked' });
    expect([badToken.code, badToken.stderr]).toEqual([1, expect.stringMatching(/^UNAUTHENTICATED: /m)]);
    const viewer = await cli(['log', 'add', 'src/a.ts:1', 'x', '--pool', 'dev'], { SPYGLASS_TOKEN: hub.tokens.viewer });
    expect([viewer.code, viewer.stderr]).toEqual([1, expect.stringMatching(/^FORBIDDEN: /m)]);
    const noLogin = await cli(['actions', 'ls'], { XDG_CONFIG_HOME: mkdtempSync(path.join(tmpdir(), 'sg-cli-')) });
    expect([noLogin.code, noLogin.stderr]).toEqual([2, expect.stringMatching(/no hub configured/)]);
    expect((await cli(['frobnicate'])).code).toBe(2);
    const help = await cli(['log', 'add', '--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringMatching(/Usage: spyglass log add/)]);
    // No colour codes when stdout is not a terminal.
    expect((await cli(['pools', 'ls'])).stdout).not.toContain('\u001b[');
  });
});
