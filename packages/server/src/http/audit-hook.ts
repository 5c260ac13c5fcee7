import type { FastifyInstance } from 'fastify';
import type { AuditService } from '../audit/service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Writes one audit event for every state-changing request (route `config.audit`) and every denied request
 * (401, 403, 429), before the response leaves, so a client that sees the answer can also see its audit trail.
 */
export function installAuditHook(app: FastifyInstance, audit: AuditService): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    const status = reply.statusCode;
    const denied = status === 401 || status === 403 || status === 429;
    const unsafe = !SAFE_METHODS.has(request.method);
    if (!denied && !(unsafe && config.audit !== undefined)) return payload;
    const p = request.principal;
    const a = request.audit ?? {};
    await audit.record({
      actorType: p === null ? 'anonymous' : p.via === 'token' ? 'token' : 'user',
      actorId: p?.user.id ?? null,
      actorEmail: p?.user.email ?? a.actorEmail ?? null,
      action: config.audit ?? `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
      targetType: a.targetType ?? null,
      targetId: a.targetId ?? null,
      outcome: denied ? 'denied' : status < 400 ? 'success' : 'failure',
      status,
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      requestId: request.id,
      details: {
        method: request.method,
        route: request.routeOptions.url ?? null,
        ...(p?.via === 'token' ? { tokenId: p.credentialId } : {}),
        ...(a.details ?? {}),
      },
    });
    return payload;
  });
}
