import {
  SpyglassError,
  friendlyZodMessage,
  mutates,
  zodIssues,
  type ErrorIssue,
  type OperationCallInput,
  type OperationContract,
  type OperationInput,
  type OperationOutput,
  type Role,
} from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AuditService } from '../audit/service.js';
import { accessAllows } from '../auth/plugin.js';
import { auditActor } from '../http/audit-hook.js';
import type { Principal, RequestAudit } from '../http/context.js';
import { bestRole, scopeOf } from '../pools/scope.js';

/** How a call reached the hub; recorded in the audit log of calls that did not come over REST. */
export type Transport = 'http' | 'mcp' | 'assistant' | 'internal';

/** Who calls an operation and from where. */
export interface OperationCaller {
  principal: Principal | null;
  transport: Transport;
  requestId: string;
  ip?: string | null;
  userAgent?: string | null;
}

/** What a handler gets besides its input: the caller, the audit record it fills in, and the time of the call. */
export interface OperationContext extends OperationCaller {
  /** The handler names the target and details of what it did; the operation layer writes the event. */
  audit: RequestAudit;
  now: number;
}

export type OperationHandler<C extends OperationContract> = (
  input: OperationInput<C>,
  ctx: OperationContext,
) => Promise<OperationOutput<C>> | OperationOutput<C>;

/** A contract with the handler a module bound to it. */
export interface BoundOperation<C extends OperationContract = OperationContract> {
  readonly contract: C;
  readonly handler: OperationHandler<C>;
  /** The module that bound it. */
  readonly module: string;
}

function parsePart(schema: z.ZodType | undefined, value: unknown, part: string, issues: ErrorIssue[]): unknown {
  if (schema === undefined) return part === 'body' ? undefined : {};
  const r = schema.safeParse(value ?? (part === 'body' ? undefined : {}), { error: friendlyZodMessage });
  if (r.success) return r.data;
  issues.push(...zodIssues(r.error, part));
  return undefined;
}

/**
 * Every operation of the hub, each bound once to its handler. REST routes are generated from it (`mountRest`) and
 * other transports (MCP tools, the assistant, internal callers) go through `invoke`, which applies the same access
 * rule, validation and audit as the REST route, so the two cannot differ.
 */
export class OperationRegistry {
  readonly #ops = new Map<string, BoundOperation>();
  readonly #audit: AuditService;
  readonly #poolRoles: ((userId: string) => Promise<ReadonlyMap<string, Role>>) | undefined;
  #mounted = false;

  constructor(audit: AuditService, poolRoles?: (userId: string) => Promise<ReadonlyMap<string, Role>>) {
    this.#audit = audit;
    this.#poolRoles = poolRoles;
  }

  bind<C extends OperationContract>(module: string, contract: C, handler: OperationHandler<C>): void {
    if (this.#mounted) throw new Error(`operation ${contract.name} bound after the REST routes were mounted`);
    if (this.#ops.has(contract.name)) throw new Error(`operation ${contract.name} is bound twice`);
    this.#ops.set(contract.name, { contract, handler: handler, module });
  }

  get(name: string): BoundOperation | undefined {
    return this.#ops.get(name);
  }

  list(): BoundOperation[] {
    return [...this.#ops.values()];
  }

  /**
   * Calls an operation outside HTTP, as `caller`: access is checked against the contract's least role, every input
   * part is validated by its schema (INVALID_INPUT with issues otherwise), and a state-changing or audited call
   * writes one audit event with its outcome — denials included — exactly as its REST route does.
   */
  async invoke<C extends OperationContract>(
    contract: C,
    caller: OperationCaller,
    input: OperationCallInput<C>,
  ): Promise<OperationOutput<C>> {
    const op = this.#ops.get(contract.name);
    if (op === undefined)
      throw new SpyglassError('NOT_FOUND', `operation ${contract.name} is not available on this hub`);
    const c = op.contract;
    const audited = c.audit !== undefined && (mutates(c) || c.auditReads === true);
    const ctx: OperationContext = { ...caller, audit: {}, now: Date.now() };
    const write = (outcome: 'success' | 'failure' | 'denied', status: number): Promise<void> =>
      this.#record(c, ctx, outcome, status);

    if (c.access !== 'public') {
      if (caller.principal === null || caller.principal.user.disabled) {
        await write('denied', 401);
        throw new SpyglassError('UNAUTHENTICATED', 'sign in or send an API token');
      }
      // Pool-scoped operations admit the caller's best role in any pool; the handler checks the pool it touches.
      if (c.scope === 'pool' && caller.principal.pools === undefined && this.#poolRoles !== undefined)
        caller.principal.pools = await this.#poolRoles(caller.principal.user.id);
      const role = c.scope === 'pool' ? bestRole(scopeOf(caller.principal)) : caller.principal.user.role;
      if (!accessAllows(c.access, role)) {
        await write('denied', 403);
        throw new SpyglassError(
          'FORBIDDEN',
          `this needs the ${c.access === 'user' ? 'viewer' : c.access} role or higher`,
        );
      }
    }
    const issues: ErrorIssue[] = [];
    const parsed = {
      params: parsePart(c.input.params, input.params, 'params', issues),
      query: parsePart(c.input.query, input.query, 'query', issues),
      body: parsePart(c.input.body, input.body, 'body', issues),
    } as OperationInput<OperationContract>;
    if (issues.length > 0) {
      if (audited) await write('failure', 400);
      throw new SpyglassError('INVALID_INPUT', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    }
    try {
      const result: unknown = await op.handler(parsed, ctx);
      // Shaped by the output schema, as REST's serializer does: nothing a record carries beyond it leaves the hub.
      const out = c.produces === undefined ? c.output.parse(result) : result;
      if (audited) await write('success', c.status ?? 200);
      return out as OperationOutput<C>;
    } catch (err) {
      if (audited) await write('failure', err instanceof SpyglassError ? err.status : 500);
      throw err;
    }
  }

  async #record(
    c: OperationContract,
    ctx: OperationContext,
    outcome: 'success' | 'failure' | 'denied',
    status: number,
  ): Promise<void> {
    const p = ctx.principal;
    await this.#audit.record({
      ...auditActor(p, ctx.audit),
      // Named as the audit hook names a REST call: its audit name, or method and route for reads without one.
      action: c.audit ?? `${c.method} ${c.path}`,
      targetType: ctx.audit.targetType ?? null,
      targetId: ctx.audit.targetId ?? null,
      outcome,
      status,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent ?? null,
      requestId: ctx.requestId,
      details: {
        operation: c.name,
        via: ctx.transport,
        ...(p?.via === 'token' ? { tokenId: p.credentialId } : {}),
        ...(ctx.audit.details ?? {}),
      },
    });
  }

  /**
   * Registers one Fastify route per bound operation: its method and path, `config.access` from the least role,
   * `config.audit` from the audit name (the audit hook writes the event), and the contract's schemas for validation
   * and the OpenAPI document.
   */
  mountRest(app: FastifyInstance): void {
    this.#mounted = true;
    for (const op of this.#ops.values()) {
      const c = op.contract;
      const status = c.status ?? 200;
      app.route({
        method: c.method,
        url: c.path,
        config: {
          access: c.access,
          ...(c.audit === undefined ? {} : { audit: c.audit }),
          ...(c.auditReads === true ? { auditReads: true } : {}),
          ...(c.scope === 'pool' ? { poolScoped: true } : {}),
          operation: c.name,
        },
        schema: {
          tags: [...c.tags],
          operationId: c.name,
          summary: c.summary,
          ...(c.description === undefined ? {} : { description: c.description }),
          ...(c.input.params === undefined ? {} : { params: c.input.params }),
          ...(c.input.query === undefined ? {} : { querystring: c.input.query }),
          ...(c.input.body === undefined ? {} : { body: c.input.body }),
          ...(c.produces === undefined ? { response: { [status]: c.output } } : { produces: [c.produces] }),
        },
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const ctx: OperationContext = {
            principal: request.principal,
            transport: 'http',
            requestId: request.id,
            ip: request.ip,
            userAgent: request.headers['user-agent'] ?? null,
            audit: request.audit,
            now: Date.now(),
          };
          const input = {
            params: request.params ?? {},
            query: request.query ?? {},
            body: request.body,
          } as OperationInput<OperationContract>;
          const out = await op.handler(input, ctx);
          if (status === 204) return reply.code(204).send(null);
          if (c.produces !== undefined) return reply.type(c.produces).send(out);
          return reply.code(status).send(out);
        },
      });
    }
  }
}
