import { z } from 'zod';
import type { Role } from './common.js';

/**
 * Operations: each thing the hub does for a caller (create an action, list agents, read logs…) is described once, here,
 * by a contract — its name, who may call it, how it is audited, its input and output schemas and its HTTP binding.
 * The hub binds a handler to each contract and serves it over REST and MCP from that one definition; the typed client
 * calls the same contracts. See docs/adr/0004-feature-modules-and-operations.md.
 */

/** Who may call an operation: anyone, any signed-in user, at least a role, or the route authenticates itself. */
export type OperationAccess = 'public' | 'user' | Role | 'self';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The three parts of an operation's input, as HTTP carries them: path parameters, query string and JSON body. */
export interface OperationInputSchemas {
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
}

export interface OperationContract<
  S extends OperationInputSchemas = OperationInputSchemas,
  O extends z.ZodType = z.ZodType,
> {
  /** Stable dotted name, `<module>.<resource>.<verb>` (e.g. `live.actions.create`). */
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  /** Least role allowed to call it. */
  readonly access: OperationAccess;
  /**
   * `pool`: the operation touches one pool's agents, actions, hits or spans. Its least role is then met by the caller's role
   * in any pool (global or a membership), and the handler checks the role in the pool it touches (lists are filtered
   * to the pools the caller may see). Without it the least role is checked against the global role alone.
   * See docs/adr/0013-roles-per-pool.md.
   */
  readonly scope?: 'pool';
  /** Audit action name (e.g. `action.create`): required when the operation changes state, optional on reads. */
  readonly audit?: string;
  /** Reads that are audited too (reading a source file). */
  readonly auditReads?: boolean;
  readonly method: HttpMethod;
  /** Fastify-style path with `:param` segments, under `/api/v1`. */
  readonly path: string;
  /** HTTP status of a success (200 by default; 201 for creations, 204 when nothing is returned). */
  readonly status?: 200 | 201 | 204;
  /** Group in the OpenAPI document. */
  readonly tags: readonly string[];
  readonly input: S;
  readonly output: O;
  /** When the output is text rather than JSON (e.g. the Prometheus exposition format). */
  readonly produces?: string;
}

/** The parsed input of an operation: what each part's schema outputs (absent parts are empty objects). */
export type OperationInput<C extends OperationContract> = {
  params: C['input']['params'] extends z.ZodType ? z.output<C['input']['params']> : Record<string, never>;
  query: C['input']['query'] extends z.ZodType ? z.output<C['input']['query']> : Record<string, never>;
  body: C['input']['body'] extends z.ZodType ? z.output<C['input']['body']> : undefined;
};

type CallPart<S, K extends string> = S extends z.ZodType ? { [k in K]: z.input<S> } : { [k in K]?: undefined };

/** What a caller passes (before defaults and coercion): each part's schema input; parts without a schema may be left out. */
export type OperationCallInput<C extends OperationContract> = CallPart<C['input']['params'], 'params'> & {
  query?: C['input']['query'] extends z.ZodType ? z.input<C['input']['query']> : undefined;
} & CallPart<C['input']['body'], 'body'>;

export type OperationOutput<C extends OperationContract> = z.output<C['output']>;

const SAFE: ReadonlySet<HttpMethod> = new Set(['GET']);
const PATH_PARAM = /:([A-Za-z][A-Za-z0-9_]*)/g;

/** True when the operation changes state (its HTTP method is not a safe one). */
export function mutates(contract: OperationContract): boolean {
  return !SAFE.has(contract.method);
}

/**
 * Declares an operation. Checks the contract's own consistency at definition time, so a mistake fails at start-up
 * rather than on the first call: state-changing operations name their audit action, path parameters have a schema
 * field each, GET and DELETE carry no body.
 */
export function defineOperation<const S extends OperationInputSchemas, O extends z.ZodType>(
  contract: OperationContract<S, O>,
): OperationContract<S, O> {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(contract.name)) problems.push('name must be dotted lower-case');
  if (!contract.path.startsWith('/api/v1/')) problems.push('path must be under /api/v1/');
  if (mutates(contract) && contract.audit === undefined) problems.push('a state-changing operation needs audit');
  if (contract.access === 'self')
    problems.push("access 'self' is for routes that authenticate themselves, not operations");
  if ((contract.method === 'GET' || contract.method === 'DELETE') && contract.input.body !== undefined)
    problems.push(`${contract.method} carries no body`);
  const names = [...contract.path.matchAll(PATH_PARAM)].map((m) => m[1]!);
  const shape = contract.input.params?.shape ?? {};
  for (const n of names) if (!(n in shape)) problems.push(`path parameter :${n} has no schema`);
  for (const n of Object.keys(shape)) if (!names.includes(n)) problems.push(`params.${n} is not in the path`);
  if (problems.length > 0) throw new Error(`operation ${contract.name}: ${problems.join('; ')}`);
  return Object.freeze(contract);
}

/** The request path of an operation with its parameters filled in (each one URI-encoded). */
export function operationPath(contract: OperationContract, params: Record<string, unknown> | undefined): string {
  return contract.path.replace(PATH_PARAM, (_m, name: string) => {
    const value = params?.[name];
    if ((typeof value !== 'string' && typeof value !== 'number') || value === '')
      throw new Error(`operation ${contract.name}: missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/** `204 No Content` answers. */
export const noContentSchema = z.null();
