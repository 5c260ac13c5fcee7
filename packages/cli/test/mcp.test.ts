import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHub,
  freePort,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
} from '../../server/test/kit/index.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

type Result = { content: { type: string; text?: string }[]; isError?: boolean };
const textOf = (r: unknown) => (r as Result).content.map((c) => c.text ?? '').join('\n');

/**
 * `spyglass mcp` as the process an MCP client launches: the official SDK client over stdio, through the CLI, to a
 * real hub and the example shop with the agent inside — find the service, log a line, make the request, read the
 * line, remove the action. A wrong token and an unreachable hub are answers the client can show, not a dead server.
 */
describe('spyglass mcp (stdio)', () => {
  let hub: TestHub;
  let shop: ExampleShop;
  let home: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    const pool = await hub.createPool();
    shop = await startExampleShop(hub.url, pool.key);
    await waitFor(async () => (await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents')).body.items.length === 1, {
      what: 'the shop agent to connect',
      timeoutMs: 30_000,
      detail: () => shop.output(),
    });
    home = mkdtempSync(path.join(tmpdir(), 'spyglass-mcp-'));
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    shop?.stop();
    await hub?.close();
  });

  async function launch(
    env: Record<string, string>,
    args: string[] = [],
  ): Promise<{ client: Client; stderr: () => string }> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', ...args],
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...env },
      stderr: 'pipe',
    });
    let err = '';
    transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const client = new Client({ name: 'spyglass-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, stderr: () => err };
  }

  it('drives a log line from discovery to removal through the CLI', { timeout: 90_000 }, async () => {
    const { client, stderr } = await launch({ SPYGLASS_URL: hub.url, SPYGLASS_TOKEN: hub.tokens.developer });
    expect(client.getInstructions()).toContain(hub.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_agents', 'add_log', 'get_logs']));

    const agents = textOf(await client.callTool({ name: 'list_agents', arguments: {} }));
    expect(agents).toMatch(/· shop · pool /);
    const created = textOf(
      await client.callTool({
        name: 'add_log',
        arguments: { service: 'shop', file: 'src/services/checkout.ts', line: 52, template: 'placed {order.id}' },
      }),
    );
    const actionId = /^actionId (\S+)/m.exec(created)?.[1];
    expect(actionId, created).toBeDefined();
    await waitFor(
      async () => /: active · /.test(textOf(await client.callTool({ name: 'get_action', arguments: { actionId } }))),
      { what: 'the log action to be active', timeoutMs: 30_000, detail: stderr },
    );
    const res = await fetch(`${shop.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c1', email: 'a@example.com' }, items: [{ sku: 'mug', quantity: 1 }] }),
    });
    expect(res.status).toBe(201);
    const lines = await waitFor(
      async () => {
        const t = textOf(await client.callTool({ name: 'get_logs', arguments: { actionId } }));
        return /placed ord-\d+/.test(t) ? t : undefined;
      },
      { what: 'the logged line', timeoutMs: 30_000 },
    );
    expect(lines).toMatch(/ info agent \S+: placed ord-\d+/);
    expect(textOf(await client.callTool({ name: 'remove_action', arguments: { actionId } }))).toContain('Removed');
    expect(stderr()).toContain(`serving the tools of ${hub.url} over stdio`);
  });

  it('narrows toolsets with --toolsets, and keeps serving when the token is wrong or the hub is down', async () => {
    const narrowed = await launch({ SPYGLASS_URL: hub.url, SPYGLASS_TOKEN: hub.tokens.viewer }, ['--toolsets', 'live']);
    const { tools } = await narrowed.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);

    const wrong = await launch({ SPYGLASS_URL: hub.url, SPYGLASS_TOKEN: 'sgt_not_a_token' });
    const refused = (await wrong.client.callTool({ name: 'list_agents', arguments: {} })) as Result;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/refused the stored token .*run `spyglass login` again/);

    const down = `http://127.0.0.1:${await freePort()}`;
    const offline = await launch({ SPYGLASS_URL: down, SPYGLASS_TOKEN: hub.tokens.viewer });
    const unreachable = (await offline.client.callTool({ name: 'list_agents', arguments: {} })) as Result;
    expect(unreachable.isError).toBe(true);
    expect(textOf(unreachable)).toContain(`cannot reach the hub at ${down}`);
  });
});
