/**
 * Tracetest's assertion/expression language: parse (`parseStatement`, `parseExpression`, `parseTemplate`), evaluate
 * against a span and a variable set, interpolate templates, and list the variables a text needs.
 *
 * Verdicts match Tracetest's. Where Tracetest produces text nobody can use, we differ on purpose (each is noted where
 * it is implemented): `json_path` renders objects and arrays as JSON and null as `null`; a `%` in an interpolated
 * string stays a `%`; `x / 0` is an error; in a duration comparison a side that is not a number keeps its text, and
 * zero and negative durations have a display form; the array type is detected on the whole text; date formats keep
 * the text between tokens; RE2 constructs JS cannot run the same way are rejected; templates keep `\'` as written.
 */
import { SyntaxProblem, type TestSpan } from '../model.js';
import { EvalError, Evaluator, evaluateStatementAst, type Scope } from './evaluate.js';
import { ParseFailure } from './lexer.js';
import {
  parseExprText,
  parseStatementText,
  parseTemplateText,
  type Expr,
  type StatementAst,
  type StringPart,
  type Term,
} from './parser.js';
import { render } from './values.js';

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
  /** `attr:tracetest.selected_spans.count` (empty text when not given, as in Tracetest without a selection). */
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

// The syntax trees stay internal: the public objects carry only the text.
const statements = new WeakMap<Statement, StatementAst>();
const expressions = new WeakMap<Expression, Expr>();

function syntax<T>(text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof ParseFailure) throw new SyntaxProblem(`invalid syntax "${text}": ${e.reason}`, e.offset);
    throw e;
  }
}

function scopeOf(ctx: EvalContext): Scope {
  return {
    variables: ctx.variables,
    random: ctx.random ?? Math.random,
    now: ctx.now ?? (() => new Date()),
    ...(ctx.span === undefined ? {} : { span: ctx.span }),
    ...(ctx.selectedCount === undefined ? {} : { selectedCount: ctx.selectedCount }),
  };
}

/** Throws `SyntaxProblem` (`invalid syntax "<text>": …`) with the offset. */
export function parseStatement(text: string): Statement {
  const ast = syntax(text, parseStatementText);
  const statement: Statement = { text };
  statements.set(statement, ast);
  return statement;
}
export function parseExpression(text: string): Expression {
  const ast = syntax(text, parseExprText);
  const expression: Expression = { text };
  expressions.set(expression, ast);
  return expression;
}
/** Checks a template (a string with `${expr}` parts, as trigger fields are); throws `SyntaxProblem`. */
export function parseTemplate(text: string): void {
  syntax(text, parseTemplateText);
}

export function evaluateStatement(statement: Statement, ctx: EvalContext): AssertionOutcome {
  let ast = statements.get(statement);
  if (ast === undefined) {
    try {
      ast = syntax(statement.text, parseStatementText);
    } catch (e) {
      if (e instanceof SyntaxProblem) return { passed: false, observed: '', error: e.message };
      throw e;
    }
  }
  return evaluateStatementAst(ast, scopeOf(ctx));
}

export function evaluateExpression(expression: Expression, ctx: EvalContext): { value: string; error?: string } {
  try {
    const ast = expressions.get(expression) ?? syntax(expression.text, parseExprText);
    return { value: render(new Evaluator(scopeOf(ctx)).expr(ast)) };
  } catch (e) {
    if (e instanceof EvalError || e instanceof SyntaxProblem) return { value: '', error: e.message };
    throw e;
  }
}

/**
 * Interpolates `${expr}` parts; throws an Error (`resolution error: variable "X" not found`) when one fails, and
 * `SyntaxProblem` for a bad part. The rest of the text is kept exactly: `%` included, and `\'` (Tracetest evaluates
 * the field as a quoted string, which turns `\'` into `'` and runs `%` through Sprintf once a part is present).
 */
export function renderTemplate(text: string, ctx: EvalContext): string {
  const parts = syntax(text, parseTemplateText);
  try {
    return new Evaluator(scopeOf(ctx)).interpolate(parts);
  } catch (e) {
    if (e instanceof EvalError) throw new Error(e.message);
    throw e;
  }
}

function collectTerm(term: Term, out: Set<string>): void {
  switch (term.kind) {
    case 'variable':
      out.add(term.name);
      return;
    case 'array':
      for (const item of term.items) collectTerm(item, out);
      return;
    case 'call':
      for (const arg of term.args) collectTerm(arg, out);
      return;
    case 'string':
      collectParts(term.parts, out);
      return;
    case 'attribute':
    case 'duration':
    case 'number':
      return;
  }
}

function collectExpr(expr: Expr, out: Set<string>): void {
  collectTerm(expr.left, out);
  for (const { term } of expr.ops) collectTerm(term, out);
  for (const filter of expr.filters) for (const arg of filter.args) collectTerm(arg, out);
}

function collectParts(parts: readonly StringPart[], out: Set<string>): void {
  for (const part of parts) if (typeof part !== 'string') collectExpr(part, out);
}

/**
 * Names of the variables (`var:`/`env:`) a statement, expression or template text refers to, in order of first use.
 * With no `kind` the text is read as a statement, else an expression, else a template; text that parses as none
 * yields the variables of the template parts that do parse.
 */
export function variablesOf(text: string, kind?: 'statement' | 'expression' | 'template'): string[] {
  const out = new Set<string>();
  const attempt = (parse: () => void): boolean => {
    try {
      parse();
      return true;
    } catch (e) {
      if (e instanceof ParseFailure) return false;
      throw e;
    }
  };
  const asStatement = (): void => {
    const ast = parseStatementText(text);
    collectExpr(ast.left, out);
    collectExpr(ast.right, out);
  };
  const asExpression = (): void => collectExpr(parseExprText(text), out);
  const asTemplate = (): void => {
    for (const m of text.matchAll(/\$\{[^}]+\}/g)) {
      attempt(() => collectExpr(parseExprText(m[0].slice(2, -1)), out));
    }
  };
  if (kind === 'statement') attempt(asStatement);
  else if (kind === 'expression') attempt(asExpression);
  else if (kind === 'template') asTemplate();
  else if (!attempt(asStatement) && !attempt(asExpression)) asTemplate();
  return [...out];
}
