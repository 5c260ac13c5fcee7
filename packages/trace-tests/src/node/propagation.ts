/**
 * Headers that put a triggered request into the run's trace, in every format an instrumented app may read: W3C
 * `traceparent`/`tracestate` and `baggage`, B3 (single and multi header), Jaeger `uber-trace-id`, OpenTracing
 * `ot-tracer-*` and AWS X-Ray — as Tracetest injects them. The parent is the run's trigger span, so the app's root
 * span hangs under it.
 */
export function propagationHeaders(traceId: string, parentSpanId: string): Record<string, string> {
  const xrayTrace = `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
  return {
    traceparent: `00-${traceId}-${parentSpanId}-01`,
    tracestate: 'tracetest=true',
    baggage: 'tracetest=true',
    b3: `${traceId}-${parentSpanId}-1`,
    'x-b3-traceid': traceId,
    'x-b3-spanid': parentSpanId,
    'x-b3-sampled': '1',
    'uber-trace-id': `${traceId}:${parentSpanId}:0:1`,
    'ot-tracer-traceid': traceId,
    'ot-tracer-spanid': parentSpanId,
    'ot-tracer-sampled': 'true',
    'x-amzn-trace-id': `Root=${xrayTrace};Parent=${parentSpanId};Sampled=1`,
  };
}
