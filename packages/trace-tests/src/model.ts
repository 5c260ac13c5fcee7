/**
 * The trace as tests see it (Tracetest's model): every span with its attributes rendered as strings, the metadata
 * attributes `tracetest.span.*`, a tree under one root, and the spans in pre-order (children by start time).
 */

/** Span kinds as selectors name them (`unespecified` is Tracetest's spelling and stays). */
export type TestSpanKind = 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unespecified';

export interface TestSpan {
  /** 16 lowercase hex digits. */
  readonly id: string;
  readonly parentId: string | null;
  readonly name: string;
  readonly kind: TestSpanKind;
  /** Epoch microseconds (the store's precision); ordering of siblings. */
  readonly startUs: number;
  readonly durationUs: number;
  /**
   * Span attributes, then scope, then resource attributes (later wins), `service.name`, the `tracetest.span.*`
   * metadata and `span.events` (JSON), every value rendered as Tracetest renders it (see `render.ts`).
   */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly TestSpan[];
}

/** A trace ready for selectors: the root and every span in pre-order (depth first, children by start time). */
export interface TestTrace {
  readonly traceId: string;
  readonly root: TestSpan;
  readonly spans: readonly TestSpan[];
  readonly byId: ReadonlyMap<string, TestSpan>;
}

/** Name of the span a run's trigger makes (and of the synthetic root put above a trace that lacks it). */
export const TRIGGER_SPAN_NAME = 'Tracetest trigger';
/** Name of the synthetic root when a trace has several roots and no trigger span. */
export const TEMPORARY_ROOT_NAME = 'Temporary Tracetest root span';

/**
 * A problem in a definition or an expression: `offset` is 0-based within the text that was parsed (a selector, an
 * assertion); the resource parser turns it into a file line and column.
 */
export interface TextProblem {
  readonly message: string;
  readonly offset: number;
}

/** Thrown by the parsers of both languages. */
export class SyntaxProblem extends Error implements TextProblem {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SyntaxProblem';
  }
}
