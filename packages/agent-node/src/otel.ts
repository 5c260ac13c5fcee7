/**
 * The active OpenTelemetry span, read through the API's global registry when `@opentelemetry/api` is loaded in
 * the app (no import: the agent does not depend on it). Never throws.
 */
const API_KEY = Symbol.for('opentelemetry.js.api.1');
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');

interface OtelGlobal {
  context?: { active(): { getValue(key: symbol): unknown } };
}

/** Whether the API's global registry exists; refreshed by the agent's one-second timer, so a hit in an app that
 *  does not use OpenTelemetry costs one comparison. */
let apiSeen = false;

export function refreshOtelApi(): void {
  try {
    apiSeen = Object.getOwnPropertyDescriptor(globalThis, API_KEY) !== undefined;
  } catch {
    apiSeen = false;
  }
}

export function activeTraceIds(): { traceId?: string; spanId?: string } | undefined {
  if (!apiSeen) return undefined;
  try {
    const api = (globalThis as Record<symbol, OtelGlobal | undefined>)[API_KEY];
    const ctx = api?.context?.active();
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
