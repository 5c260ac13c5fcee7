import {
  evaluateExpression,
  evaluateStatement,
  parseExpression,
  parseStatement,
  type AssertionOutcome,
  type Statement,
} from './expression/index.js';
import type { TestSpan, TestTrace } from './model.js';
import type { TestOutput, TestSpecItem } from './resources/schema.js';
import { parseSelector, selectSpans } from './selector/index.js';

export interface AssertionSpanResult {
  /** null when the selector matched no span (the assertion ran once, span-less). */
  readonly spanId: string | null;
  readonly observed: string;
  readonly passed: boolean;
  readonly error?: string;
}
export interface AssertionResult {
  readonly assertion: string;
  readonly passed: boolean;
  readonly spans: readonly AssertionSpanResult[];
}
export interface SpecResult {
  readonly index: number;
  readonly selector: string;
  readonly name?: string;
  readonly spanIds: readonly string[];
  readonly passed: boolean;
  readonly assertions: readonly AssertionResult[];
  /** The selector did not parse (checked at load, so only for definitions that skipped the check). */
  readonly error?: string;
}
export interface OutputResult {
  readonly name: string;
  readonly value: string;
  readonly spanId: string | null;
  readonly error?: string;
}

/** The spans a selector text selects, or the parse problem's message. */
function select(text: string, trace: TestTrace): { spans: TestSpan[]; error?: undefined } | { error: string } {
  try {
    return { spans: selectSpans(parseSelector(text), trace) };
  } catch (err) {
    return { error: `invalid selector "${text}": ${messageOf(err)}` };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Outputs, run before the specs (Tracetest's order): each takes its value from the FIRST span its selector matches
 * in pre-order (Tracetest's docs promise an array for several spans; its code takes the first). With no match the
 * value comes from a span-less evaluation (a literal or `var:` still resolves) and `error` says that nothing matched.
 * Every output sees the same `variables`: outputs do not see each other.
 */
export function runOutputs(
  outputs: readonly TestOutput[],
  trace: TestTrace,
  variables: ReadonlyMap<string, string>,
): OutputResult[] {
  return outputs.map((output): OutputResult => {
    const selected = select(output.selector, trace);
    if (selected.error !== undefined) return { name: output.name, value: '', spanId: null, error: selected.error };
    let expression;
    try {
      expression = parseExpression(output.value);
    } catch (err) {
      return { name: output.name, value: '', spanId: null, error: messageOf(err) };
    }
    const span = selected.spans[0];
    const result = evaluateExpression(expression, { span, selectedCount: selected.spans.length, variables });
    if (span === undefined) {
      const none = `no span matched the selector "${output.selector}"`;
      const error = result.error === undefined ? none : `${none}; ${result.error}`;
      return { name: output.name, value: result.value, spanId: null, error };
    }
    return result.error === undefined
      ? { name: output.name, value: result.value, spanId: span.id }
      : { name: output.name, value: result.value, spanId: span.id, error: result.error };
  });
}

/**
 * Specs: each assertion runs on each selected span and passes iff it passes on all of them; with no span it runs
 * once span-less (`spanId: null`), so only assertions on `attr:tracetest.selected_spans.count`, variables or
 * literals can pass. A spec passes iff all its assertions pass. Results are per spec index (Tracetest keys them by
 * selector text, so two specs with one selector overwrite each other there). Call after merging the outputs into
 * `variables`.
 */
export function runSpecs(
  specs: readonly TestSpecItem[],
  trace: TestTrace,
  variables: ReadonlyMap<string, string>,
): SpecResult[] {
  return specs.map((spec, index): SpecResult => {
    const base = { index, selector: spec.selector, ...(spec.name === undefined ? {} : { name: spec.name }) };
    const selected = select(spec.selector, trace);
    if (selected.error !== undefined) {
      const failed = (assertion: string): AssertionResult => ({
        assertion,
        passed: false,
        spans: [{ spanId: null, observed: '', passed: false, error: selected.error }],
      });
      return { ...base, spanIds: [], passed: false, assertions: spec.assertions.map(failed), error: selected.error };
    }
    const spans = selected.spans;
    const assertions = spec.assertions.map((assertion) => runAssertion(assertion, spans, variables));
    return {
      ...base,
      spanIds: spans.map((span) => span.id),
      passed: assertions.every((result) => result.passed),
      assertions,
    };
  });
}

function runAssertion(
  assertion: string,
  spans: readonly TestSpan[],
  variables: ReadonlyMap<string, string>,
): AssertionResult {
  let statement: Statement | undefined;
  let parseError: string | undefined;
  try {
    statement = parseStatement(assertion);
  } catch (err) {
    parseError = messageOf(err);
  }
  const targets: readonly (TestSpan | undefined)[] = spans.length === 0 ? [undefined] : spans;
  const results = targets.map((span): AssertionSpanResult => {
    const spanId = span?.id ?? null;
    if (statement === undefined) return { spanId, observed: '', passed: false, error: parseError };
    const outcome: AssertionOutcome = evaluateStatement(statement, {
      span,
      selectedCount: spans.length,
      variables,
    });
    const passed = outcome.passed && outcome.error === undefined;
    return outcome.error === undefined
      ? { spanId, observed: outcome.observed, passed }
      : { spanId, observed: outcome.observed, passed, error: outcome.error };
  });
  return { assertion, passed: results.every((result) => result.passed), spans: results };
}
