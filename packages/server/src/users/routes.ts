import { createUserBodySchema, idSchema, pageQuerySchema, pageSchema, updateUserBodySchema, userSchema } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserService } from './service.js';

const idParams = z.object({ id: idSchema });

export function userRoutes(app: FastifyInstance, users: UserService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['users'];

  r.get(
    '/api/v1/users',
    { config: { access: 'admin' }, schema: { tags, querystring: pageQuerySchema, response: { 200: pageSchema(userSchema) } } },
    (request) => users.list(request.query.limit, request.query.cursor),
  );

  r.post(
    '/api/v1/users',
    { config: { access: 'admin', audit: 'user.create' }, schema: { tags, body: createUserBodySchema, response: { 201: userSchema } } },
    async (request, reply) => {
      const user = await users.create(request.body);
      request.audit = { ...request.audit, targetType: 'user', targetId: user.id, details: { email: user.email, role: user.role } };
      return reply.code(201).send(user);
    },
  );

  r.get(
    '/api/v1/users/:id',
    { config: { access: 'admin' }, schema: { tags, params: idParams, response: { 200: userSchema } } },
    (request) => users.get(request.params.id),
  );

  r.patch(
    '/api/v1/users/:id',
    {
      config: { access: 'admin', audit: 'user.update' },
      schema: { tags, params: idParams, body: updateUserBodySchema, response: { 200: userSchema } },
    },
    async (request) => {
      request.audit.targetType = 'user';
      request.audit.targetId = request.params.id;
      const { password, ...rest } = request.body;
      request.audit.details = { ...rest, ...(password === undefined ? {} : { passwordChanged: true }) };
      return users.update(request.principal!.user.id, request.params.id, request.body);
    },
  );

  r.delete(
    '/api/v1/users/:id',
    { config: { access: 'admin', audit: 'user.delete' }, schema: { tags, params: idParams, response: { 204: z.null() } } },
    async (request, reply) => {
      request.audit.targetType = 'user';
      request.audit.targetId = request.params.id;
      await users.delete(request.principal!.user.id, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
