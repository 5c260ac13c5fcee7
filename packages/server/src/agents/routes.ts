import { agentQuerySchema, agentSchema, idSchema, pageSchema } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Bus } from '../bus/bus.js';
import { TOPICS, type AgentControlMessage } from '../gateway/topics.js';
import type { AgentStore } from './store.js';

const idParams = z.object({ id: idSchema });

export function agentRoutes(app: FastifyInstance, agents: AgentStore, bus: Bus): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['agents'];

  r.get(
    '/api/v1/agents',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          'Registered agents, by service then id; filter by pool, service, tags (`tag=k=v`, repeatable) and status',
        querystring: agentQuerySchema,
        response: { 200: pageSchema(agentSchema) },
      },
    },
    (request) => agents.list(request.query, Date.now()),
  );

  r.get(
    '/api/v1/agents/:id',
    { config: { access: 'viewer' }, schema: { tags, params: idParams, response: { 200: agentSchema } } },
    (request) => agents.get(request.params.id, Date.now()),
  );

  r.delete(
    '/api/v1/agents/:id',
    {
      config: { access: 'admin', audit: 'agent.delete' },
      schema: {
        tags,
        summary: 'Forget an agent; a connected one is disconnected (4005) and registers anew if it reconnects',
        params: idParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      request.audit.targetType = 'agent';
      request.audit.targetId = request.params.id;
      const agent = await agents.delete(request.params.id, Date.now());
      request.audit.details = { pool: agent.poolName, service: agent.service.name, instanceId: agent.instanceId };
      await bus.publish(TOPICS.agents, { type: 'revoked', agentId: agent.id } satisfies AgentControlMessage);
      return reply.code(204).send(null);
    },
  );
}
