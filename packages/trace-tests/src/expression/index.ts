import type { TestSpan } from '../model.js';

/** A parsed assertion (`Expr Comparator Expr`). */
export interface Statement {
  readonly text: string;
}
/** A parsed bare expression (an output's value). */
export interface Expression {
  readonly text: string;
}

/** What an expression is evaluated against. */
export interface EvalContext {
  /** The span `attr:` reads (absent: a span-less evaluation, e.g. a selector that matched nothing). */
  readonly span?: TestSpan;
  /** `attr:tracetest.selected_spans.count`. */
  readonly selectedCount?: number;
  /** `var:X` and `env:X` (one namespace, as in Tracetest). */
  readonly variables: ReadonlyMap<string, string>;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** One assertion on one span. `error` is set when it could not be evaluated (that is not a pass). */
export interface AssertionOutcome {
  readonly passed: boolean;
  /** The rendered left side (durations formatted, e.g. `157ms`). */
  readonly observed: string;
  readonly error?: string;
}

/** Throws `SyntaxProblem` (`invalid syntax "<text>": …`) with the offset. */
export function parseStatement(text: string): Statement {
  return { text };
}
export function parseExpression(text: string): Expression {
  return { text };
}
/** Checks a template (a string with `${expr}` parts, as trigger fields are); throws `SyntaxProblem`. */
export function parseTemplate(text: string): void {
  void text;
}
export function evaluateStatement(statement: Statement, ctx: EvalContext): AssertionOutcome {
  void ctx;
  return { passed: false, observed: '', error: `not implemented: ${statement.text}` };
}
export function evaluateExpression(expression: Expression, ctx: EvalContext): { value: string; error?: string } {
  void ctx;
  return { value: expression.text };
}
/** Interpolates `${expr}` parts; throws an Error (`resolution error: variable "X" not found`) when one fails. */
export function renderTemplate(text: string, ctx: EvalContext): string {
  void ctx;
  return text;
}
/** Names of the variables (`var:`/`env:`) a statement, expression or template text refers to. */
export function variablesOf(text: string): string[] {
  void text;
  return [];
}
