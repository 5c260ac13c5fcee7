import {
  actionQuerySchema,
  actionSchema,
  agentActionStatusSchema,
  createActionBodySchema,
  idSchema,
  pageQuerySchema,
  pageSchema,
} from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AgentGateway } from '../gateway/gateway.js';
import { toAction, type ActionService } from './service.js';

const idParams = z.object({ id: idSchema });

export function actionRoutes(app: FastifyInstance, actions: ActionService, gateway: AgentGateway): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['actions'];

  r.post(
    '/api/v1/actions',
    {
      config: { access: 'developer', audit: 'action.create' },
      schema: {
        tags,
        summary: 'Add a log, snapshot or metric to running code; matching agents receive it at once',
        body: createActionBodySchema,
        response: { 201: actionSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      request.audit.targetType = 'action';
      request.audit.details = { kind: body.kind, file: body.file, line: body.line, target: body.target };
      const action = await actions.create(body, request.principal?.user.id ?? null, Date.now());
      request.audit.targetId = action.id;
      await gateway.publishChange(action, 'created');
      return reply.code(201).send(toAction(action, {}));
    },
  );

  r.get(
    '/api/v1/actions',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Actions, newest first',
        querystring: actionQuerySchema,
        response: { 200: pageSchema(actionSchema) },
      },
    },
    (request) => actions.list(request.query),
  );

  r.get(
    '/api/v1/actions/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'An action with its per-agent status counts and first agents',
        params: idParams,
        response: { 200: actionSchema },
      },
    },
    (request) => actions.get(request.params.id),
  );

  r.get(
    '/api/v1/actions/:id/agents',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Every agent that reported a status for the action (state, method, reason, hits)',
        params: idParams,
        querystring: pageQuerySchema,
        response: { 200: pageSchema(agentActionStatusSchema) },
      },
    },
    async (request) => {
      await actions.record(request.params.id);
      return actions.agentStatuses(request.params.id, request.query.limit, request.query.cursor);
    },
  );

  r.delete(
    '/api/v1/actions/:id',
    {
      config: { access: 'developer', audit: 'action.delete' },
      schema: {
        tags,
        summary: 'Remove an action from every agent, with its stored hits',
        params: idParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      request.audit.targetType = 'action';
      request.audit.targetId = request.params.id;
      const action = await actions.delete(request.params.id);
      request.audit.details = {
        kind: action.kind,
        file: action.spec.file,
        line: action.spec.line,
        state: action.state,
      };
      await gateway.publishChange(action, 'deleted');
      return reply.code(204).send(null);
    },
  );
}
