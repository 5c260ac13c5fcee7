import { ExpressionError, compileExpression } from './expression.js';
import { TemplateError, parseTemplate } from './template.js';

/** One syntax problem of an action: the field (`['template']`, `['expressions', 1]`) and what is wrong where. */
export interface ActionSyntaxProblem {
  path: (string | number)[];
  message: string;
}

/** The fields of an action that hold expressions; any of them may be absent. */
export interface ActionSyntaxFields {
  kind: string;
  condition?: string | undefined;
  template?: string | undefined;
  expressions?: readonly string[] | undefined;
  expression?: string | undefined;
}

/**
 * Checks the template, condition, watch and gauge expressions of an action with the parser the agent compiles them
 * with, so a mistake is refused before the action exists instead of turning up later as an agent's error status.
 * Messages name the column: `unclosed "{" at column 7 …`, `{order.totalCents +* 2} at column 26: Unexpected token`,
 * `column 1: assignment is not allowed`.
 */
export function actionSyntaxProblems(spec: ActionSyntaxFields): ActionSyntaxProblem[] {
  const problems: ActionSyntaxProblem[] = [];
  const check = (path: (string | number)[], source: string, label: string | undefined, offset: number): void => {
    try {
      compileExpression(source);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      problems.push({ path, message: describe(err, label, offset) });
    }
  };
  if (spec.condition !== undefined) check(['condition'], spec.condition, undefined, 1);
  if (spec.kind === 'log' && spec.template !== undefined) {
    try {
      for (const part of parseTemplate(spec.template)) {
        if ('expression' in part) check(['template'], part.expression, `{${part.expression}}`, part.column);
      }
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push({ path: ['template'], message: err.message });
    }
  }
  if (spec.kind === 'snapshot') spec.expressions?.forEach((e, i) => check(['expressions', i], e, undefined, 1));
  if (spec.kind === 'metric' && spec.expression !== undefined) check(['expression'], spec.expression, undefined, 1);
  return problems;
}

/**
 * `column N: reason`, or `{part} at column N: reason` for a template part; the column is counted in the field
 * (`offset` is the column of the expression's first character there).
 */
function describe(err: ExpressionError, label: string | undefined, offset: number): string {
  const at = err.column === undefined ? undefined : `column ${offset + err.column - 1}`;
  if (label === undefined) return at === undefined ? err.reason : `${at}: ${err.reason}`;
  return at === undefined ? `${label}: ${err.reason}` : `${label} at ${at}: ${err.reason}`;
}
