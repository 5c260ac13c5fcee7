import type { FastifyInstance } from 'fastify';
import type { Storage } from '../storage/db.js';
import type { HubMetrics } from '../metrics/metrics.js';

export function healthRoutes(
  app: FastifyInstance,
  storage: Storage,
  metrics: HubMetrics,
  isShuttingDown: () => boolean,
): void {
  app.get('/healthz', { config: { access: 'public' }, logLevel: 'warn' }, () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' }, logLevel: 'warn' }, async (_request, reply) => {
    if (isShuttingDown()) return reply.code(503).send({ status: 'shutting down' });
    const ready = await storage.isReady();
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'database unreachable or not migrated', database: storage.dialect });
  });

  app.get('/metrics', { config: { access: 'public' }, logLevel: 'warn' }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
