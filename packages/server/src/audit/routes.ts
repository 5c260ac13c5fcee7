import { auditEventSchema, auditQuerySchema, pageSchema } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AuditService } from './service.js';

export function auditRoutes(app: FastifyInstance, audit: AuditService): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: { tags: ['audit'], summary: 'Audit events, newest first', querystring: auditQuerySchema, response: { 200: pageSchema(auditEventSchema) } },
    },
    (request) => audit.list(request.query),
  );
}
