import { SyntaxProblem, type TestSpan, type TestTrace } from '../model.js';

/** A parsed selector (Tracetest's grammar). The AST is internal; `text` is what was parsed. */
export interface Selector {
  readonly text: string;
}

/** Parses a selector; throws `SyntaxProblem` with the offset of the problem. `""` selects every span. */
export function parseSelector(text: string): Selector {
  void SyntaxProblem;
  return { text };
}

/** The spans a selector selects, in the trace's pre-order (a union of comma parts is not de-duplicated). */
export function selectSpans(selector: Selector, trace: TestTrace): TestSpan[] {
  void selector;
  return [...trace.spans];
}
