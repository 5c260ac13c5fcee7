/**
 * Evaluation of parsed expressions and statements, as Tracetest's executor does it (server/expression/executor.go,
 * comparison.go, operation.go).
 */
import type { TestSpan } from '../model.js';
import { formatNanoseconds, roundNanoseconds, toNanoseconds } from './durations.js';
import { FilterError, lookupFilter } from './filters.js';
import { FunctionError, lookupFunction, type FunctionContext } from './functions.js';
import { jsonContains, tryParseJson } from './json.js';
import { goFixed, goInt, parseInt64 } from './numbers.js';
import type { Comparator, Expr, Operator, StatementAst, StringPart, Term } from './parser.js';
import { arrayOf, first, fromString, render, single, typed, typeOf, type Typed, type Value } from './values.js';

export interface Scope extends FunctionContext {
  readonly span?: TestSpan;
  readonly selectedCount?: number;
  readonly variables: ReadonlyMap<string, string>;
}

/**
 * An evaluation failure. Failures to resolve something (an attribute, a variable, a filter or function name) carry
 * `inner` and read `resolution error: <inner>`; an array item's failure nests as `at index N of array: <inner>`.
 */
export class EvalError extends Error {
  constructor(
    message: string,
    readonly inner?: string,
  ) {
    super(message);
    this.name = 'EvalError';
  }
}

function resolution(inner: string): EvalError {
  return new EvalError(`resolution error: ${inner}`, inner);
}

const META_PREFIX = 'tracetest.selected_spans.';
const ATTRIBUTE_ALIASES: Readonly<Record<string, string>> = { name: 'tracetest.span.name' };

function resolveAttribute(name: string, scope: Scope): Value {
  if (name.length > META_PREFIX.length && name.startsWith(META_PREFIX)) {
    const meta = name.slice(META_PREFIX.length);
    if (meta !== 'count') throw resolution(`unknown meta attribute "${name}"`);
    return fromString(scope.selectedCount === undefined ? '' : String(scope.selectedCount));
  }
  const span = scope.span;
  if (span === undefined) {
    throw resolution(
      `there are no matching spans to retrieve the attribute "${name}" from. To fix this error, create a selector matching at least one span.`,
    );
  }
  // A missing attribute and an empty one are the same to Tracetest.
  let value = span.attributes[name];
  if (value === undefined || value === '') {
    const alias = ATTRIBUTE_ALIASES[name];
    if (alias !== undefined) value = span.attributes[alias] || (name === 'name' ? span.name : '');
  }
  if (value === undefined || value === '') throw resolution(`attribute "${name}" not found`);
  return fromString(value);
}

function resolveVariable(name: string, scope: Scope): Value {
  const value = scope.variables.get(name);
  if (value === undefined) throw resolution(`variable "${name}" not found`);
  return fromString(value);
}

function innerOf(e: unknown): string {
  if (e instanceof EvalError) return e.inner ?? e.message;
  throw e;
}

/** `+ - * /` on two numbers or two durations (ns); `%.2f` when either operand has a decimal point, else an integer. */
function operate(operator: Operator, left: Typed, right: Value): Value {
  const rightItem = first(right);
  if (left.type !== typeOf(right)) throw new EvalError('types mismatch');
  if (left.type !== 'number' && left.type !== 'duration') {
    throw new EvalError('operation is only allowed on numbers and duration fields');
  }
  const asText = (item: Typed): string =>
    item.type === 'duration' ? String(toNanoseconds(item.value) ?? 0) : item.value;
  const a = asText(left);
  const b = asText(rightItem);
  const x = Number(a);
  const y = Number(b);
  let result: number;
  switch (operator) {
    case '+':
      result = x + y;
      break;
    case '-':
      result = x - y;
      break;
    case '*':
      result = x * y;
      break;
    case '/':
      // Deliberate difference: Tracetest turns ±Inf into a garbage integer.
      if (y === 0) throw new EvalError('division by zero');
      result = x / y;
      break;
  }
  const text = a.includes('.') || b.includes('.') ? goFixed(result, 2) : goInt(result);
  return single(typed(text, left.type));
}

export class Evaluator {
  constructor(private readonly scope: Scope) {}

  expr(expr: Expr): Value {
    let current = this.term(expr.left);
    for (const { operator, term } of expr.ops) current = operate(operator, first(current), this.term(term));
    for (const filter of expr.filters) {
      const args = filter.args.map((arg) => first(this.term(arg)).value);
      const fn = lookupFilter(filter.name);
      if (fn === undefined) throw resolution(`filter "${filter.name}" not found`);
      try {
        current = fn(current, args);
      } catch (e) {
        if (e instanceof FilterError) throw new EvalError(`${filter.name}: ${e.message}`);
        throw e;
      }
    }
    return current;
  }

  private term(term: Term): Value {
    switch (term.kind) {
      case 'attribute':
        return resolveAttribute(term.name, this.scope);
      case 'variable':
        return resolveVariable(term.name, this.scope);
      case 'duration':
        return single(typed(String(toNanoseconds(term.text) ?? 0), 'duration'));
      case 'number':
        return single(typed(term.text, 'number'));
      case 'string':
        return fromString(this.interpolate(term.parts));
      case 'array':
        return arrayOf(
          term.items.map((item, index) => {
            try {
              return first(this.term(item));
            } catch (e) {
              throw resolution(`at index ${index} of array: ${innerOf(e)}`);
            }
          }),
        );
      case 'call': {
        const args = term.args.map((arg, index) => {
          try {
            return first(this.term(arg));
          } catch (e) {
            throw resolution(`invalid argument on index ${index} of function "${term.name}": ${innerOf(e)}`);
          }
        });
        const fn = lookupFunction(term.name);
        if (fn === undefined) throw resolution(`function "${term.name}" not found`);
        try {
          return fromString(fn(args, this.scope));
        } catch (e) {
          if (e instanceof FunctionError) throw new EvalError(`${term.name}: ${e.message}`);
          throw e;
        }
      }
    }
  }

  /** Literal pieces and the rendered values of the `${…}` parts, joined (a `%` stays a `%`). */
  interpolate(parts: readonly StringPart[]): string {
    return parts.map((part) => (typeof part === 'string' ? part : render(this.expr(part)))).join('');
  }
}

/** Outcome of a comparison: pass, no match, or an error (which is not a pass either). */
type Comparison = { readonly passed: boolean; readonly error?: string };

function compare(comparator: Comparator, left: Value, right: Value): Comparison {
  const actual = render(left);
  const expected = render(right);
  switch (comparator) {
    case '=':
      return { passed: actual === expected };
    case '!=':
      return { passed: actual !== expected };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      // Integers only, as strconv.ParseInt; the expected (right) side is parsed first.
      const b = parseInt64(expected);
      if (b === undefined) return { passed: false, error: `cannot parse "${expected}" as integer` };
      const a = parseInt64(actual);
      if (a === undefined) return { passed: false, error: `cannot parse "${actual}" as integer` };
      const passed = comparator === '<' ? a < b : comparator === '<=' ? a <= b : comparator === '>' ? a > b : a >= b;
      return { passed };
    }
    case 'contains': {
      if (left.kind === 'array') return { passed: left.items.some((item) => item.value === expected) };
      const leftType = typeOf(left);
      if (typeOf(right) === 'json' && (leftType === 'json' || leftType === 'array')) {
        const a = tryParseJson(actual);
        const b = tryParseJson(expected);
        if (a !== undefined && b !== undefined) return { passed: jsonContains(a, b) };
      }
      return { passed: actual.includes(expected) };
    }
    case 'not-contains':
      return { passed: !actual.includes(expected) };
  }
}

/**
 * A side of a comparison that involves a duration, rounded to display precision (issue #1203: `= 42ms` matches
 * 42.3 ms). Deliberate difference: Tracetest reads each side with Atoi, so a duration text such as `42ms` (an
 * attribute or a string) and anything else that is not an integer become 0; we read duration texts as durations and
 * leave other text as it is, so `=` fails and ordering reports `cannot parse`.
 */
function roundedDuration(value: Value): Value {
  const ns = value.kind === 'array' ? undefined : toDurationNs(render(value));
  return ns === undefined ? value : single(typed(String(roundNanoseconds(ns)), 'duration'));
}

function toDurationNs(text: string): number | undefined {
  const ns = toNanoseconds(text);
  if (ns !== undefined) return ns;
  return /^[0-9]+\.[0-9]+$/.test(text) ? Math.trunc(Number(text)) : undefined;
}

export interface StatementOutcome {
  readonly passed: boolean;
  readonly observed: string;
  readonly error?: string;
}

export function evaluateStatementAst(statement: StatementAst, scope: Scope): StatementOutcome {
  const evaluator = new Evaluator(scope);
  let left: Value;
  let right: Value;
  try {
    left = evaluator.expr(statement.left);
    right = evaluator.expr(statement.right);
  } catch (e) {
    if (e instanceof EvalError) return { passed: false, observed: '', error: e.message };
    throw e;
  }
  const durations = typeOf(left) === 'duration' || typeOf(right) === 'duration';
  if (durations) {
    left = roundedDuration(left);
    right = roundedDuration(right);
  }
  const result = compare(statement.comparator, left, right);
  const observed = durations && typeOf(left) === 'duration' ? formatNanoseconds(Number(render(left))) : render(left);
  return result.error === undefined
    ? { passed: result.passed, observed }
    : { passed: false, observed, error: result.error };
}
