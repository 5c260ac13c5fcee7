import { Server } from '@modelcontextprotocol/server';
import { SpyglassError, friendlyZodMessage } from '@spyglass/protocol';
import { z } from 'zod';
import type { AuditService } from '../audit/service.js';
import { auditActor } from '../http/audit-hook.js';
import type { ModuleContext } from '../platform/module.js';
import type { Principal } from '../http/context.js';
import type { OperationCaller, OperationRegistry } from '../platform/operations.js';
import {
  clip,
  toolAllowed,
  toolContext,
  toolRole,
  type BoundTool,
  type ToolDefinition,
  type ToolRegistry,
} from '../platform/tools.js';

/** What the MCP server needs of the hub. */
export interface McpDeps {
  tools: ToolRegistry;
  operations: OperationRegistry;
  audit: AuditService;
  version: string;
  publicUrl: string | undefined;
  maxOutputChars: number;
  /** Toolsets the hub offers (empty: all). */
  toolsets: readonly string[];
  log: { warn(obj: object, msg: string): void };
}

/** The MCP server's dependencies from a module's context (the MCP module and the assistant both serve the tools). */
export function mcpDepsOf(
  ctx: Pick<ModuleContext, 'tools' | 'operations' | 'hub' | 'log'>,
  limits: { maxOutputChars: number; toolsets: readonly string[] },
): McpDeps {
  return {
    tools: ctx.tools,
    operations: ctx.operations,
    audit: ctx.hub.audit,
    version: '0.1.0',
    publicUrl: ctx.hub.config.publicUrl,
    maxOutputChars: limits.maxOutputChars,
    toolsets: limits.toolsets,
    log: ctx.log,
  };
}

const INSTRUCTIONS =
  'Spyglass: live debugging of running Node.js services (logs, snapshots and metrics without a redeploy), traces, ' +
  'trace-based tests and Kubernetes object traces. Find the service first (list_agents), read the code ' +
  '(list_sources, read_source), then add an action: every action has an expiry and a hit cap, and its answer names ' +
  'its actionId. Make the code run, read the results (get_logs, get_snapshots, get_metrics), and remove_action ' +
  'when done. Never poll in a tight loop: ask again after the code has had time to run.';

/** The JSON Schema MCP clients see for a tool's arguments (the zod schema's input side). */
export function inputSchema(tool: ToolDefinition): { type: 'object'; [k: string]: unknown } {
  const schema = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete schema.$schema;
  return { ...schema, type: 'object' };
}

function annotations(tool: ToolDefinition) {
  return {
    title: tool.title,
    readOnlyHint: tool.effect === 'read',
    destructiveHint: tool.effect === 'destructive',
    idempotentHint: tool.effect !== 'write',
    openWorldHint: false,
  };
}

const text = (t: string, isError = false) => ({ content: [{ type: 'text' as const, text: t }], isError });

/** The tools a caller sees: enabled toolsets, and only those its role allows. */
export function visibleTools(
  deps: Pick<McpDeps, 'tools' | 'toolsets'>,
  principal: Principal | null | undefined,
  requested: readonly string[] | null,
): BoundTool[] {
  return deps.tools.list().filter(({ tool }) => {
    if (deps.toolsets.length > 0 && !deps.toolsets.includes(tool.toolset)) return false;
    if (requested !== null && !requested.includes(tool.toolset)) return false;
    return toolAllowed(tool, principal);
  });
}

/**
 * Runs one tool as the caller, the way MCP and the assistant both call them: unknown names, a role too low, invalid
 * arguments and failures all come back as text the model can act on (`isError`), and every call is audited with its
 * caller, arguments and outcome (the operations it calls write their own events too, as over REST).
 */
export async function callTool(
  deps: McpDeps,
  caller: OperationCaller,
  name: string,
  args: unknown,
  requested: readonly string[] | null,
): Promise<{ text: string; isError: boolean }> {
  const role = caller.principal?.user.role;
  const offered = visibleTools(deps, caller.principal, requested);
  const bound = deps.tools.get(name);
  const audit = (outcome: 'success' | 'failure' | 'denied', status: number, extra: Record<string, unknown> = {}) =>
    deps.audit
      .record({
        ...auditActor(caller.principal, {}),
        action: 'mcp.tool.call',
        targetType: 'tool',
        targetId: name.slice(0, 64),
        outcome,
        status,
        ip: caller.ip ?? null,
        userAgent: caller.userAgent ?? null,
        requestId: caller.requestId,
        details: {
          tool: name.slice(0, 64),
          via: caller.transport,
          arguments: clip(JSON.stringify(args ?? {}), 2000),
          ...(caller.principal?.via === 'token' ? { tokenId: caller.principal.credentialId } : {}),
          ...extra,
        },
      })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not audit a tool call'));

  if (bound === undefined || (deps.toolsets.length > 0 && !deps.toolsets.includes(bound.tool.toolset))) {
    await audit('failure', 404, { error: 'unknown tool' });
    return {
      text: `Unknown tool ${JSON.stringify(name.slice(0, 64))}. Tools available: ${offered.map((t) => t.tool.name).join(', ')}.`,
      isError: true,
    };
  }
  const tool = bound.tool;
  if (requested !== null && !requested.includes(tool.toolset)) {
    await audit('failure', 404, { error: 'toolset not enabled on this connection' });
    return {
      text: `${name} is in toolset ${tool.toolset}, which this connection did not enable (toolsets=${requested.join(',')}).`,
      isError: true,
    };
  }
  if (!toolAllowed(tool, caller.principal)) {
    await audit('denied', 403, { needs: toolRole(tool) });
    return {
      text:
        `${name} needs the ${toolRole(tool)} role; ${caller.principal?.user.email ?? 'this caller'} is a ${role ?? 'guest'}. ` +
        'Ask an admin for the role, or use the read-only tools.',
      isError: true,
    };
  }
  const parsed = tool.input.safeParse(args ?? {}, { error: friendlyZodMessage });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
    await audit('failure', 400, { error: clip(issues, 500) });
    return { text: `Invalid arguments for ${name}: ${issues}`, isError: true };
  }
  try {
    const ctx = toolContext(deps.operations, caller, {
      publicUrl: deps.publicUrl,
      maxChars: deps.maxOutputChars,
    });
    const out = await tool.run(parsed.data, ctx);
    await audit('success', 200, { chars: out.length });
    return { text: out.length > deps.maxOutputChars ? clip(out, deps.maxOutputChars) : out, isError: false };
  } catch (err) {
    if (err instanceof SpyglassError) {
      await audit(err.code === 'FORBIDDEN' ? 'denied' : 'failure', err.status, { error: clip(err.message, 500) });
      return { text: `${err.code}: ${err.message}`, isError: true };
    }
    deps.log.warn({ err, tool: name }, 'a tool failed');
    await audit('failure', 500, { error: 'internal error' });
    return { text: `${name} failed with an internal error; the hub's log has the details.`, isError: true };
  }
}

/** A fresh MCP server instance for one request (or one stdio connection) as `caller`. */
export function createMcpServer(deps: McpDeps, caller: OperationCaller, requested: readonly string[] | null): Server {
  const server = new Server(
    { name: 'spyglass', title: 'Spyglass', version: deps.version },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler('tools/list', () => ({
    tools: visibleTools(deps, caller.principal, requested).map(({ tool }) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: inputSchema(tool),
      annotations: annotations(tool),
      _meta: { 'spyglass/toolset': tool.toolset, 'spyglass/role': toolRole(tool) },
    })),
  }));
  server.setRequestHandler('tools/call', async (request) => {
    const r = await callTool(deps, caller, request.params.name, request.params.arguments, requested);
    return text(r.text, r.isError);
  });
  return server;
}
