/**
 * The active OpenTelemetry span, read through the API's global registry when `@opentelemetry/api` is loaded in
 * the app (no import: the agent does not depend on it). Never throws.
 */
const API_KEY = Symbol.for('opentelemetry.js.api.1');
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

interface OtelGlobal {
  context?: { active(): { getValue(key: symbol): unknown } };
}

/**
 * The trace and span id active where a hit was taken. In an app that does not use OpenTelemetry this costs one
 * property read of a symbol that is not there; an app that sets up OpenTelemetry after the agent started is seen from
 * its next hit on.
 */
export function activeTraceIds(): { traceId?: string; spanId?: string } | undefined {
  try {
    const api = (globalThis as Record<symbol, OtelGlobal | undefined>)[API_KEY];
    if (api === undefined) return undefined;
    const ctx = api.context?.active();
    const span = ctx?.getValue(SPAN_KEY) as { spanContext?: () => { traceId?: string; spanId?: string } } | undefined;
    const sc = span?.spanContext?.();
    if (!sc?.traceId || !/^[0-9a-f]{32}$/.test(sc.traceId) || sc.traceId === '0'.repeat(32)) return undefined;
    const out: { traceId?: string; spanId?: string } = { traceId: sc.traceId };
    if (sc.spanId && /^[0-9a-f]{16}$/.test(sc.spanId)) out.spanId = sc.spanId;
    return out;
  } catch {
    return undefined;
  }
}
