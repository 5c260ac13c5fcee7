import type { TestSpan, TestTrace } from '../model.js';
import { parseSelectorParts, type SpanSelectorNode } from './parser.js';
import { selectByParts } from './select.js';

export type { PseudoClass, SelectorValue, SpanFilter, SpanSelectorNode } from './parser.js';

/** A parsed selector (Tracetest's grammar). `text` is what was parsed; `parts` are its comma-separated parts. */
export interface Selector {
  readonly text: string;
  /** Empty for `""` (every span). */
  readonly parts: readonly SpanSelectorNode[];
}

/**
 * Parses a selector; throws `SyntaxProblem` with the 0-based offset of the problem (the message names the 1-based
 * column: `expected "]" at column 17`). `""` selects every span. Tracetest silently selects every span when a
 * selector does not parse; here that is an error, reported when the test is loaded.
 */
export function parseSelector(text: string): Selector {
  return { text, parts: parseSelectorParts(text) };
}

/**
 * The spans a selector selects, in the trace's pre-order within each comma part (parts are concatenated, not
 * de-duplicated, as in Tracetest).
 */
export function selectSpans(selector: Selector, trace: TestTrace): TestSpan[] {
  return selectByParts(selector.parts, trace);
}
