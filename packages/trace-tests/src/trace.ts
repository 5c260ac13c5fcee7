import type { Span } from '@spyglass/protocol';
import type { TestTrace } from './model.js';

/**
 * Builds the test view of a stored trace (Tracetest's rules, research §3): attributes rendered as strings, the
 * `tracetest.span.*` metadata, one root (a synthetic "Tracetest trigger" above a trace whose root is not the trigger
 * span, `triggerSpanId` naming the span the run's trigger wrote), children by start time.
 */
export function buildTestTrace(traceId: string, spans: readonly Span[]): TestTrace {
  void spans;
  throw new Error(`not implemented: ${traceId}`);
}
