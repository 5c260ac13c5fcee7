import { randomBytes } from 'node:crypto';

/** A span for `otlpJsonRequest`: times in ms since the epoch, attributes as plain values. */
export interface TestSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name: string;
  service?: string;
  kind?: number;
  startMs: number;
  durationMs: number;
  status?: { code: number; message?: string };
  attributes?: Record<string, string | number | boolean>;
  events?: { name: string; atMs: number; attributes?: Record<string, string | number | boolean> }[];
}

export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

const anyValue = (v: string | number | boolean) =>
  typeof v === 'string'
    ? { stringValue: v }
    : typeof v === 'boolean'
      ? { boolValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v };

const attrs = (a: Record<string, string | number | boolean> = {}) =>
  Object.entries(a).map(([key, v]) => ({ key, value: anyValue(v) }));

const nanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** An OTLP/JSON `ExportTraceServiceRequest` (the shape SDKs send), one resource per service. */
export function otlpJsonRequest(spans: readonly TestSpan[]): Record<string, unknown> {
  const byService = new Map<string, TestSpan[]>();
  for (const s of spans) {
    const service = s.service ?? 'test-service';
    byService.set(service, [...(byService.get(service) ?? []), s]);
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service }) },
      scopeSpans: [
        {
          scope: { name: 'test', version: '1' },
          spans: list.map((s) => ({
            traceId: s.traceId ?? newTraceId(),
            spanId: s.spanId ?? newSpanId(),
            ...(s.parentSpanId === undefined ? {} : { parentSpanId: s.parentSpanId }),
            name: s.name,
            kind: s.kind ?? 1,
            startTimeUnixNano: nanos(s.startMs),
            endTimeUnixNano: nanos(s.startMs + s.durationMs),
            attributes: attrs(s.attributes),
            events: (s.events ?? []).map((e) => ({
              name: e.name,
              timeUnixNano: nanos(e.atMs),
              attributes: attrs(e.attributes),
            })),
            status: s.status ?? { code: 0 },
          })),
        },
      ],
    })),
  };
}
