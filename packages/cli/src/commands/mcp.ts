import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { UsageError } from '../parse.js';
import { effectiveSettings } from '../settings.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

interface McpOptions {
  toolsets?: string;
}

/**
 * The hub's MCP server over stdio, for desktop clients and IDEs that launch MCP servers as processes: every request is
 * passed to the hub's `/mcp` with the stored login's API token, so tools, roles and audit are the hub's own. stdout
 * carries only JSON-RPC; everything else goes to stderr. An unreachable hub is an answer, not an exit: the client sees
 * the error on the call and the next call tries again.
 */
async function serveMcp(ctx: Context, opts: McpOptions): Promise<void> {
  const settings = effectiveSettings(ctx.io.env);
  const hubUrl = ctx.hubUrl;
  if (settings.token === undefined)
    throw new UsageError('not signed in: run `spyglass login` or set SPYGLASS_TOKEN (an API token) for `spyglass mcp`');
  const token = settings.token;
  const url = new URL(`${hubUrl}/mcp`);
  if (opts.toolsets !== undefined) url.searchParams.set('toolsets', opts.toolsets);
  const log = (line: string) => ctx.io.stderr.write(`spyglass mcp: ${line}\n`);

  let upstream: Promise<Client> | null = null;
  const hub = (): Promise<Client> => {
    upstream ??= (async () => {
      const client = new Client({ name: 'spyglass-cli', version: '0.1.0' });
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { authorization: `Bearer ${token}`, 'user-agent': 'spyglass-cli-mcp' } },
      });
      try {
        await client.connect(transport);
      } catch (err) {
        upstream = null;
        const msg = err instanceof Error ? err.message : String(err);
        throw new ProtocolError(
          ProtocolErrorCode.InternalError,
          /401|invalid_token|Unauthorized/i.test(msg)
            ? `the hub at ${hubUrl} refused the stored token (${msg}); run \`spyglass login\` again`
            : `cannot reach the hub at ${hubUrl}: ${msg}`,
        );
      }
      client.onclose = () => (upstream = null);
      return client;
    })();
    return upstream;
  };

  const factory = () => {
    const server = new Server(
      { name: 'spyglass', title: 'Spyglass', version: '0.1.0' },
      {
        capabilities: { tools: { listChanged: false } },
        instructions: `Spyglass hub at ${hubUrl}${settings.email === undefined ? '' : `, signed in as ${settings.email}`}. Find the service with list_agents first; every action has an expiry and a hit cap; remove_action when done.`,
      },
    );
    server.setRequestHandler('tools/list', async (request) => {
      const client = await hub();
      return client.listTools(request.params?.cursor === undefined ? {} : { cursor: request.params.cursor });
    });
    server.setRequestHandler('tools/call', async (request) => {
      let client: Client;
      try {
        client = await hub();
      } catch (err) {
        return { content: [{ type: 'text', text: (err as Error).message }], isError: true };
      }
      try {
        return await client.callTool({ name: request.params.name, arguments: request.params.arguments ?? {} });
      } catch (err) {
        upstream = null;
        const message = err instanceof Error ? err.message : String(err);
        return { content: [{ type: 'text', text: `the hub at ${hubUrl} did not answer: ${message}` }], isError: true };
      }
    });
    return server;
  };

  log(`serving the tools of ${hubUrl} over stdio`);
  const handle = serveStdio(factory, { onerror: (err) => log(err.message) });
  await new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await handle.close().catch(() => undefined);
  const pending = upstream as Promise<Client> | null; // set by the handlers above
  const client = await pending?.catch(() => null);
  await client?.close().catch(() => undefined);
}

export function mcpCommands(program: Command, run: Run): void {
  run(
    program
      .command('mcp')
      .description(
        "serve the hub's MCP tools over stdio (for MCP clients that launch a command), with the stored login",
      )
      .option('--toolsets <list>', 'only these toolsets, comma-separated (live, traces, tests, k8s)'),
    (ctx, opts: McpOptions) => serveMcp(ctx, opts),
  );
}
