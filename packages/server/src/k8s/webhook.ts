import { CLUSTER_NAME, SpyglassError, type K8sIngestResult, type Pool } from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { AuditService } from '../audit/service.js';
import type { PoolService } from '../pools/service.js';
import { parseEventList } from './audit.js';
import type { K8sConfig } from './config.js';
import type { K8sFilters } from './filters.js';
import type { K8sWriter } from './writer.js';

/** Counts per cluster of what its webhook sent (this replica's view since it started). */
export interface WebhookCounts {
  requests: number;
  events: number;
  accepted: number;
  skipped: number;
  rejected: number;
  throttled: number;
  lastRequestAt: number | null;
  /** The last refused request's reason, for diagnostics. */
  lastError: string | null;
}

const KEY_CACHE_MS = 5000;
const AUDIT_EVERY_MS = 60_000;
const KEY_HINT =
  'send a pool key as "Authorization: Bearer sgp_…" (in the webhook kubeconfig: users[].user.token: sgp_…)';
const CLUSTER_HINT =
  'name the cluster in the path: POST /api/v1/k8s/audit/<cluster>, e.g. server: https://spyglass.example.com/api/v1/k8s/audit/prod in the webhook kubeconfig (a cluster name is a DNS label)';

export interface WebhookDeps {
  config: K8sConfig;
  filters: K8sFilters;
  writer: K8sWriter;
  pools: PoolService;
  audit: AuditService;
  log: Logger;
  counts: (cluster: string) => WebhookCounts;
}

/**
 * `POST /api/v1/k8s/audit/:cluster`: the API server's webhook audit backend (`--audit-webhook-config-file`). Answers
 * once the batch is stored, so a 200 means kept; 429 with Retry-After when the queue is full (the API server's
 * batching backend retries); 4xx with the reason for anything it must not retry unchanged.
 */
export function mountWebhook(app: FastifyInstance, deps: WebhookDeps): void {
  const keys = new Map<string, { pool: Pool | null; at: number }>();
  const audited = new Map<string, number>();
  const poolFor = async (authorization: string | undefined): Promise<Pool | null> => {
    const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const key = m?.[1];
    if (key === undefined) return null;
    const now = Date.now();
    const cached = keys.get(key);
    if (cached !== undefined && now - cached.at < KEY_CACHE_MS) return cached.pool;
    const pool = await deps.pools.poolForKey(key);
    if (keys.size >= 10_000) keys.clear();
    keys.set(key, { pool, at: now });
    return pool;
  };
  const auditRefusal = (ip: string, userAgent: string | undefined, cluster: string | null, reason: string): void => {
    const now = Date.now();
    const source = `${ip}\u0000${cluster ?? ''}`;
    if (now - (audited.get(source) ?? 0) < AUDIT_EVERY_MS) return;
    if (audited.size >= 10_000) audited.clear();
    audited.set(source, now);
    void deps.audit
      .record({
        actorType: 'anonymous',
        actorId: null,
        actorEmail: null,
        action: 'k8s.audit',
        targetType: 'cluster',
        targetId: cluster,
        outcome: 'denied',
        status: 401,
        ip,
        userAgent: userAgent ?? null,
        requestId: null,
        details: { reason },
      })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not audit a refused audit webhook request'));
  };

  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.config.maxBodyBytes }, (_req, body, next) =>
      next(null, body),
    );
    const route = { bodyLimit: deps.config.maxBodyBytes, config: { access: 'self' as const, auditSelf: true } };
    scope.post('/api/v1/k8s/audit', route, () => {
      throw new SpyglassError('INVALID_INPUT', `no cluster name in the path: ${CLUSTER_HINT}`);
    });
    scope.post<{ Params: { cluster: string } }>('/api/v1/k8s/audit/:cluster', route, async (request, reply) => {
      const cluster = request.params.cluster;
      if (!CLUSTER_NAME.test(cluster))
        throw new SpyglassError(
          'INVALID_INPUT',
          `${JSON.stringify(cluster.slice(0, 80))} is not a cluster name: ${CLUSTER_HINT}`,
        );
      const pool = await poolFor(request.headers.authorization);
      if (pool === null) {
        auditRefusal(
          request.ip,
          request.headers['user-agent'],
          cluster,
          request.headers.authorization === undefined ? 'missing pool key' : 'invalid pool key',
        );
        void reply.header('www-authenticate', 'Bearer realm="spyglass-k8s-audit"');
        throw new SpyglassError('UNAUTHENTICATED', `no valid pool key: ${KEY_HINT}`);
      }
      if (deps.config.requireKnownClusters && !deps.config.clusters.some((c) => c.name === cluster))
        throw new SpyglassError(
          'NOT_FOUND',
          `cluster ${cluster} is not in this hub's k8s.clusters (k8s.requireKnownClusters is on): add it, or fix the name in the webhook kubeconfig`,
        );
      const counts = deps.counts(cluster);
      counts.requests++;
      counts.lastRequestAt = Date.now();
      const fail = (message: string): never => {
        counts.lastError = message;
        throw new SpyglassError('INVALID_INPUT', message);
      };
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (err) {
        fail(
          `the body is not JSON (${err instanceof Error ? err.message : String(err)}); the audit webhook sends an audit.k8s.io/v1 EventList`,
        );
      }
      let batch;
      try {
        batch = parseEventList(parsed, {
          cluster,
          filters: deps.filters,
          maxObjectBytes: deps.config.limits.maxObjectBytes,
        });
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err));
      }
      const r = batch.result;
      counts.events += r.accepted + r.skipped + r.rejected;
      const offered = deps.writer.offer(batch.items);
      if (offered === 'busy') {
        counts.throttled++;
        counts.events -= r.accepted + r.skipped + r.rejected;
        void reply.header('retry-after', '1');
        throw new SpyglassError(
          'RATE_LIMITED',
          `the hub's Kubernetes queue is full (${deps.writer.capacity} entries); retry shortly`,
          {
            retryAfterSec: 1,
          },
        );
      }
      try {
        await offered;
      } catch (err) {
        deps.log.warn({ err, cluster }, 'audit entries could not be stored');
        throw new SpyglassError('UNAVAILABLE', 'the entries could not be stored; retry later', { retryAfterSec: 2 });
      }
      counts.accepted += r.accepted;
      counts.skipped += r.skipped;
      counts.rejected += r.rejected;
      if (r.rejected > 0) counts.lastError = r.errors[0]?.message ?? null;
      return answer(reply, r);
    });
    done();
  });
}

function answer(reply: FastifyReply, r: K8sIngestResult): FastifyReply {
  return reply.code(200).type('application/json; charset=utf-8').send(r);
}
