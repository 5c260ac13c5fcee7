import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The hub's Prometheus registry. One per app instance, so several hubs in one test process never collide. */
export interface HubMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly auditWriteFailures: Counter;
}

export function createMetrics(): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'spyglass_hub_' });
  const httpRequestDuration = new Histogram({
    name: 'spyglass_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const auditWriteFailures = new Counter({
    name: 'spyglass_audit_write_failures_total',
    help: 'Audit events that could not be written',
    registers: [registry],
  });
  return { registry, httpRequestDuration, auditWriteFailures };
}
