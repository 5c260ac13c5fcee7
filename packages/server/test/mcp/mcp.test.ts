import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, startExampleShop, waitFor, type ExampleShop, type TestHub, type TestPool } from '../kit/index.js';

type Era = 'legacy' | 'modern';

interface ToolText {
  text: string;
  isError: boolean;
}

/**
 * The MCP server at /mcp, driven by the official MCP SDK client over Streamable HTTP against a real hub and the
 * example shop with the agent inside: find the service, read its code, snapshot a line, make the request, read the
 * captured variables, remove the action — in both protocol eras. Then role checks, audit, and bad input per the spec.
 */
describe('MCP server over Streamable HTTP', () => {
  let hub: TestHub;
  let pool: TestPool;
  let shop: ExampleShop;
  const clients: Client[] = [];

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    pool = await hub.createPool();
    shop = await startExampleShop(hub.url, pool.key);
    await waitFor(async () => (await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents')).body.items.length === 1, {
      what: 'the shop agent to connect',
      timeoutMs: 30_000,
      detail: () => shop.output(),
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    shop?.stop();
    await hub?.close();
  });

  async function connect(role: 'viewer' | 'developer' | 'admin', era: Era = 'legacy', query = ''): Promise<Client> {
    const client = new Client(
      { name: 'spyglass-test', version: '1.0.0' },
      era === 'modern' ? { versionNegotiation: { mode: 'auto' } } : {},
    );
    const transport = new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp${query}`), {
      requestInit: { headers: hub.auth(role) },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolText> {
    const r = (await client.callTool({ name, arguments: args })) as {
      content: { type: string; text?: string }[];
      isError?: boolean;
    };
    return { text: r.content.map((c) => c.text ?? '').join('\n'), isError: r.isError === true };
  }

  const order = () =>
    fetch(`${shop.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c7', email: 'eve@example.com' }, items: [{ sku: 'mug', quantity: 2 }] }),
    });

  for (const era of ['legacy', 'modern'] as const) {
    it(`drives a snapshot from discovery to removal (${era} era)`, { timeout: 90_000 }, async () => {
      const client = await connect('developer', era);
      expect(client.getProtocolEra()).toBe(era);
      expect(client.getInstructions()).toMatch(/list_agents/);

      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const n of ['list_agents', 'read_source', 'add_snapshot', 'get_snapshots', 'remove_action'])
        expect(names).toContain(n);
      const add = tools.find((t) => t.name === 'add_snapshot')!;
      expect(add.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
      expect(tools.find((t) => t.name === 'remove_action')!.annotations?.destructiveHint).toBe(true);
      expect(tools.find((t) => t.name === 'list_agents')!.annotations?.readOnlyHint).toBe(true);
      expect(add.inputSchema.required).toEqual(expect.arrayContaining(['service', 'file', 'line']));

      const agents = await call(client, 'list_agents', { service: 'shop' });
      expect(agents.isError).toBe(false);
      expect(agents.text).toMatch(new RegExp(`· shop.* · pool ${pool.name} · .* · connected`));

      const sources = await call(client, 'list_sources', { service: 'shop', filter: 'checkout' });
      expect(sources.text).toContain('src/services/checkout.ts');
      const code = await call(client, 'read_source', {
        service: 'shop',
        path: sources.text.split('\n').find((l) => l.endsWith('src/services/checkout.ts'))!,
        fromLine: 50,
        toLine: 54,
      });
      expect(code.isError, code.text).toBe(false);
      expect(code.text).toMatch(/^\s+52 {2}/m);

      const wrong = await call(client, 'add_snapshot', { service: 'shop', file: 'src/services/chekout.ts', line: 52 });
      expect(wrong.isError).toBe(true);
      expect(wrong.text).toMatch(/no file of service "shop" matches src\/services\/chekout\.ts/);

      const created = await call(client, 'add_snapshot', {
        service: 'shop',
        file: 'src/services/checkout.ts',
        line: 52,
        expressions: ['order.totalCents'],
      });
      expect(created.isError, created.text).toBe(false);
      const actionId = /^actionId (\S+)/m.exec(created.text)![1]!;
      await waitFor(async () => /: active · /.test((await call(client, 'get_action', { actionId })).text), {
        what: 'the snapshot to be active',
        timeoutMs: 30_000,
        detail: () => shop.output(),
      });

      expect((await order()).status).toBe(201);
      const list = await waitFor(
        async () => {
          const r = await call(client, 'get_snapshots', { actionId });
          return /snapshotId (\S+)/.exec(r.text)?.[1];
        },
        { what: 'a snapshot', timeoutMs: 30_000 },
      );
      const detail = await call(client, 'get_snapshots', { actionId, snapshotId: list });
      expect(detail.isError, detail.text).toBe(false);
      expect(detail.text).toMatch(/watch order\.totalCents: number = \d+/);
      expect(detail.text).toMatch(/locals of frame 0:/);
      expect(detail.text).toMatch(/^ {2}order: object/m);
      const drilled = await call(client, 'get_snapshots', { actionId, snapshotId: list, path: 'order' });
      expect(drilled.text).toMatch(/^order in frame 0/m);
      expect(drilled.text).toMatch(/^ {2}totalCents: number = \d+/m);
      const missing = await call(client, 'get_snapshots', { actionId, snapshotId: list, path: 'order.nope' });
      expect(missing.isError).toBe(true);
      expect(missing.text).toMatch(/no nope under order; there: .*totalCents/);

      const removed = await call(client, 'remove_action', { actionId });
      expect(removed.text).toContain(`Removed action ${actionId}`);
      expect((await hub.api('GET', `/api/v1/actions/${actionId}`)).status).toBe(404);
    });
  }

  it('refuses a template with a syntax error before the action exists, naming the field and column', async () => {
    const client = await connect('developer');
    const before = (await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500')).body.items.length;
    const r = await call(client, 'add_log', {
      service: 'shop',
      file: 'src/services/checkout.ts',
      line: 52,
      template: 'order {order.id',
    });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('template: unclosed "{" at column 7');
    const cond = await call(client, 'add_snapshot', {
      service: 'shop',
      file: 'src/services/checkout.ts',
      line: 52,
      condition: 'order.id = 1',
    });
    expect(cond.isError).toBe(true);
    expect(cond.text).toContain('condition: column 1: assignment is not allowed');
    expect((await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500')).body.items).toHaveLength(before);
  });

  it('tells a model what runs when it names a service that does not', async () => {
    const client = await connect('developer');
    const r = await call(client, 'add_log', { service: 'checkout', file: 'src/a.ts', line: 3, template: 'x' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/no connected agent runs service "checkout"; services running: shop \(pool .*, 1 agent\)/);
  });

  it('lists only read tools to a viewer, refuses its writes clearly, and audits every call with the user', async () => {
    const client = await connect('viewer');
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(3);
    for (const t of tools) expect(t.annotations?.readOnlyHint, t.name).toBe(true);
    expect(tools.map((t) => t.name)).not.toContain('add_log');

    const r = await call(client, 'add_log', {
      service: 'shop',
      file: 'src/services/checkout.ts',
      line: 52,
      template: 'hi',
    });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/add_log needs the developer role; .* is a viewer/);
    expect((await call(client, 'list_agents')).isError).toBe(false);

    const audit = await hub.api<{ items: { action: string; actorEmail: string; outcome: string; details: any }[] }>(
      'GET',
      '/api/v1/audit?limit=100',
    );
    const calls = audit.body.items.filter((e) => e.action === 'mcp.tool.call' && e.actorEmail.startsWith('viewer'));
    expect(calls.find((e) => e.details.tool === 'add_log')).toMatchObject({ outcome: 'denied' });
    expect(calls.find((e) => e.details.tool === 'list_agents')).toMatchObject({ outcome: 'success' });
    expect(calls.every((e) => e.details.via === 'mcp')).toBe(true);
  });

  it('narrows toolsets per connection and answers unknown tools and bad arguments as tool errors', async () => {
    const client = await connect('developer', 'legacy', '?toolsets=live');
    const { tools } = await client.listTools();
    expect(new Set(tools.map((t) => (t._meta as Record<string, unknown>)['spyglass/toolset']))).toEqual(
      new Set(['live']),
    );
    const unknown = await call(client, 'drop_database');
    expect(unknown).toMatchObject({ isError: true });
    expect(unknown.text).toMatch(/Unknown tool "drop_database"\. Tools available: .*list_agents/);
    const bad = await call(client, 'get_logs', { actionId: 'a1', limit: 100_000 });
    expect(bad.isError).toBe(true);
    expect(bad.text).toMatch(/Invalid arguments for get_logs: limit: must be at most \d+/);
    const res = await fetch(`${hub.url}/mcp?toolsets=nope`, {
      method: 'POST',
      headers: {
        ...hub.auth('viewer'),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /unknown toolset "nope" in toolsets; this hub has: live/,
    );
  });

  describe('bad input on /mcp', () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${hub.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          ...hub.auth('viewer'),
          ...headers,
        },
        body,
      });

    it('answers a missing or wrong token with 401 and the challenge naming the protected-resource metadata', async () => {
      for (const authorization of [undefined, 'Bearer sgt_wrong', 'Bearer sgp_poolkey']) {
        const res = await fetch(`${hub.url}/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(res.status, String(authorization)).toBe(401);
        const challenge = res.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer /);
        expect(challenge).toContain('error="invalid_token"');
        expect(challenge).toContain(`resource_metadata="${hub.url}/.well-known/oauth-protected-resource/mcp"`);
      }
      const prm = await fetch(`${hub.url}/.well-known/oauth-protected-resource/mcp`);
      expect(prm.status).toBe(200);
      expect(await prm.json()).toMatchObject({ resource: `${hub.url}/mcp`, bearer_methods_supported: ['header'] });
    });

    it('answers a body that is not JSON with a JSON-RPC parse error', async () => {
      const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    });

    it('answers JSON that is not JSON-RPC, and an unknown method, per the spec', async () => {
      const notRpc = await post(JSON.stringify({ hello: 'world' }));
      expect(notRpc.status).toBe(400);
      expect(((await notRpc.json()) as { error: { code: number } }).error.code).toBe(-32600);

      const get = await fetch(`${hub.url}/mcp`, { headers: { ...hub.auth('viewer'), accept: 'text/event-stream' } });
      expect(get.status).toBe(405); // stateless: no session stream to open

      const client = await connect('viewer');
      await expect(client.request({ method: 'prompts/list' } as never, {} as never)).rejects.toThrow(
        /-32601|not found/i,
      );
    });

    it('refuses an oversized request with 413 and a foreign Origin with 403', async () => {
      const big = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { pad: 'x'.repeat(1_100_000) },
      });
      expect((await post(big)).status).toBe(413);
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
        origin: 'http://evil.example',
      });
      expect(res.status).toBe(403);
    });
  });
});
