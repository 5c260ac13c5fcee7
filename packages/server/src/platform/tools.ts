import { mutates, type OperationCallInput, type OperationContract, type OperationOutput } from '@spyglass/protocol';
import type { z } from 'zod';
import { accessAllows } from '../auth/plugin.js';
import type { Principal } from '../http/context.js';
import { bestRole, scopeOf } from '../pools/scope.js';
import type { OperationCaller, OperationRegistry } from './operations.js';

/**
 * What a tool does to the platform, for the hints MCP clients show (`readOnlyHint`, `destructiveHint`) and for the
 * assistant's confirmation before anything that writes.
 */
export type ToolEffect = 'read' | 'write' | 'destructive';

/** What a running tool gets: the caller, and the operations it may call as that caller. */
export interface ToolContext {
  readonly caller: OperationCaller;
  /** Calls an operation as the caller: the same role check, validation and audit as its REST route. */
  invoke<C extends OperationContract>(contract: C, input: OperationCallInput<C>): Promise<OperationOutput<C>>;
  /** The hub's public URL, when configured, for links into the console. */
  readonly publicUrl: string | undefined;
  /** Characters the tool's text may take (the transport's budget); `Budget` keeps a list within it. */
  readonly maxChars: number;
  readonly now: number;
}

/**
 * A tool over the platform's operations, for MCP clients and the assistant. Names and arguments are a stable,
 * documented interface (docs/mcp.md). A tool's answer is compact text for a model to read, within a size budget.
 */
export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  /** snake_case, unique across modules. */
  readonly name: string;
  readonly title: string;
  /** Opens with what the tool is for; names its arguments' meaning where the schema cannot. */
  readonly description: string;
  /** The toolset it belongs to (`live`, `traces`, `tests`, `k8s`); toolsets are enabled per hub and per connection. */
  readonly toolset: string;
  readonly effect: ToolEffect;
  readonly input: S;
  /**
   * The operations it calls. Its least role is the highest of theirs: it is listed only to callers who hold it, and a
   * caller without it is refused before it runs.
   */
  readonly uses: readonly OperationContract[];
  run(args: z.output<S>, ctx: ToolContext): Promise<string>;
  /**
   * The question the assistant asks before it runs a tool that writes ("Add a snapshot at checkout.ts:52 in shop?").
   * Without it the question names the tool's title and arguments.
   */
  confirm?(args: z.output<S>): string;
}

/** A tool with the module that added it. */
export interface BoundTool {
  readonly tool: ToolDefinition;
  readonly module: string;
}

const ROLE_ORDER = ['viewer', 'developer', 'admin'] as const;
type Role = (typeof ROLE_ORDER)[number];

/** The least role a tool needs: the highest least role among the operations it calls. */
export function toolRole(tool: ToolDefinition): Role {
  let least: Role = 'viewer';
  for (const c of tool.uses) {
    const role: Role = c.access === 'admin' ? 'admin' : c.access === 'developer' ? 'developer' : 'viewer';
    if (ROLE_ORDER.indexOf(role) > ROLE_ORDER.indexOf(least)) least = role;
  }
  return least;
}

/** Whether the tool only reads, judged by the operations it calls (a write tool must say so). */
function callsOnlyReads(tool: ToolDefinition): boolean {
  return tool.uses.every((c) => !mutates(c));
}

/** Every tool of the hub, added by the modules as they register. */
export class ToolRegistry {
  readonly #tools = new Map<string, BoundTool>();

  add<S extends z.ZodObject>(module: string, tool: ToolDefinition<S>): void {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(tool.name)) throw new Error(`tool name ${tool.name} is not snake_case`);
    if (this.#tools.has(tool.name)) throw new Error(`tool ${tool.name} is added twice`);
    if (tool.uses.length === 0) throw new Error(`tool ${tool.name} names no operation it calls`);
    if (tool.effect === 'read' && !callsOnlyReads(tool))
      throw new Error(`tool ${tool.name} is marked read-only but calls a state-changing operation`);
    this.#tools.set(tool.name, { tool: tool, module });
  }

  get(name: string): BoundTool | undefined {
    return this.#tools.get(name);
  }

  list(): BoundTool[] {
    return [...this.#tools.values()];
  }

  /** The toolsets of the registered tools, in the order they were first added. */
  toolsets(): string[] {
    return [...new Set(this.list().map((t) => t.tool.toolset))];
  }
}

/**
 * Whether the caller may call the tool (and so sees it listed): every operation it calls admits them — a pool-scoped
 * one by their best role in any pool (the operation checks the pool it touches), any other by their global role.
 */
export function toolAllowed(tool: ToolDefinition, principal: Principal | null | undefined): boolean {
  if (principal === null || principal === undefined) return false;
  const scope = scopeOf(principal);
  const best = bestRole(scope);
  return tool.uses.every((c) => accessAllows(c.access, c.scope === 'pool' ? best : scope.global));
}

/** A context for running tools as `caller`, over `operations`. */
export function toolContext(
  operations: OperationRegistry,
  caller: OperationCaller,
  opts: { publicUrl: string | undefined; maxChars: number },
): ToolContext {
  return {
    caller,
    invoke: (contract, input) => operations.invoke(contract, caller, input),
    publicUrl: opts.publicUrl,
    maxChars: opts.maxChars,
    now: Date.now(),
  };
}

/**
 * Lines of a tool's answer within a character budget: `add` refuses a line once the budget is spent and counts it, so
 * the answer can end with "N more" and a cursor instead of being cut mid-line.
 */
export class Budget {
  readonly #lines: string[] = [];
  #used = 0;
  #left = 0;
  readonly #max: number;

  constructor(maxChars: number) {
    this.#max = Math.max(200, maxChars - 200); // room for the closing line
  }

  /** Adds a line; false (and counted as left out) when it does not fit. */
  add(line: string): boolean {
    if (this.#left > 0 || this.#used + line.length + 1 > this.#max) {
      this.#left++;
      return false;
    }
    this.#lines.push(line);
    this.#used += line.length + 1;
    return true;
  }

  /** Lines left out for lack of room. */
  get leftOut(): number {
    return this.#left;
  }

  /** The text, with a closing line naming what was left out and how to get it. */
  text(more?: string): string {
    const out = [...this.#lines];
    if (more !== undefined) out.push(more);
    return out.join('\n');
  }
}

/** `value` cut to `max` characters, with an ellipsis and the full length when cut. */
export function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} chars)`;
}
