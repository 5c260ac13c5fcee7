import type { FastifyInstance } from 'fastify';
import type { AuditRecord, AuditService } from '../audit/service.js';
import type { Principal, RequestAudit } from './context.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who did it, for an audit event: the caller's user (by session or token), or anonymous with the email it named. */
export function auditActor(
  p: Principal | null,
  a: RequestAudit,
): Pick<AuditRecord, 'actorType' | 'actorId' | 'actorEmail'> {
  return {
    actorType: p === null ? 'anonymous' : p.via === 'token' ? 'token' : 'user',
    actorId: p?.user.id ?? null,
    actorEmail: p?.user.email ?? a.actorEmail ?? null,
  };
}

/**
 * Writes one audit event for every state-changing request (route `config.audit`), every audited read
 * (`config.auditReads`) and every denied request (401, 403, 429), before the response leaves, so a client that sees
 * the answer can also see its audit trail. Denials of anonymous callers are counted into one event per source address,
 * action and status a minute (`AuditService.recordAnonymousDenial`).
 */
export function installAuditHook(app: FastifyInstance, audit: AuditService): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    if (config.auditSelf === true) return payload;
    const status = reply.statusCode;
    const denied = status === 401 || status === 403 || status === 429;
    const recorded = !SAFE_METHODS.has(request.method) || config.auditReads === true;
    if (!denied && !(recorded && config.audit !== undefined)) return payload;
    const p = request.principal;
    const a = request.audit ?? {};
    // Anonymous denials are counted per source address, action and minute (one client cannot flood the log).
    const rec: AuditRecord = {
      ...auditActor(p, a),
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
        ...(config.operation === undefined ? {} : { operation: config.operation }),
        ...(p?.via === 'token' ? { tokenId: p.credentialId } : {}),
        ...(a.details ?? {}),
      },
    };
    await (denied && p === null ? audit.recordAnonymousDenial(rec) : audit.record(rec));
    return payload;
  });
}
