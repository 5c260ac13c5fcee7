import { createTokenBodySchema, createdTokenSchema, idSchema, pageQuerySchema, pageSchema, tokenSchema } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuthService } from '../auth/service.js';

export function tokenRoutes(app: FastifyInstance, auth: AuthService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['tokens'];

  r.get(
    '/api/v1/tokens',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: "The caller's API tokens (admins: `all=true` lists everyone's)",
        querystring: pageQuerySchema.extend({ all: z.enum(['true', 'false']).optional() }),
        response: { 200: pageSchema(tokenSchema) },
      },
    },
    (request) => {
      const me = request.principal!.user;
      const all = request.query.all === 'true' && me.role === 'admin';
      return auth.listTokens(all ? undefined : me.id, request.query.limit, request.query.cursor);
    },
  );

  r.post(
    '/api/v1/tokens',
    {
      config: { access: 'user', audit: 'token.create' },
      schema: { tags, summary: 'Create an API token; the secret is in this response only', body: createTokenBodySchema, response: { 201: createdTokenSchema } },
    },
    async (request, reply) => {
      const created = await auth.createToken(request.principal!.user.id, request.body);
      request.audit = { ...request.audit, targetType: 'token', targetId: created.id, details: { name: created.name, prefix: created.prefix } };
      return reply.code(201).send(created);
    },
  );

  r.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: 'user', audit: 'token.delete' },
      schema: { tags, params: z.object({ id: idSchema }), response: { 204: z.null() } },
    },
    async (request, reply) => {
      request.audit.targetType = 'token';
      request.audit.targetId = request.params.id;
      await auth.deleteToken(request.principal!.user, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
