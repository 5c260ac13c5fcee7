import { describe, expect, it } from 'vitest';
import { actionSyntaxProblems } from './action-syntax.js';
import { createActionBodySchema } from './actions.js';
import { ExpressionError, compileExpression } from './expression.js';

const target = { pool: 'dev' };

describe('actionSyntaxProblems', () => {
  it('accepts what the agent accepts', () => {
    expect(
      actionSyntaxProblems({
        kind: 'log',
        template: 'order {order.id} total {Math.round(order.totalCents / 100)} {{literal}}',
        condition: 'order.items.length > 1 && user?.email.endsWith("@example.com")',
      }),
    ).toEqual([]);
    expect(actionSyntaxProblems({ kind: 'snapshot', expressions: ['a.b', '`${x}`'] })).toEqual([]);
    expect(actionSyntaxProblems({ kind: 'metric', expression: 'items.length' })).toEqual([]);
  });

  it('names the field and the column in the field', () => {
    expect(actionSyntaxProblems({ kind: 'log', template: 'order {order.id' })).toEqual([
      { path: ['template'], message: 'unclosed "{" at column 7 (write "{{" for a literal brace)' },
    ]);
    expect(actionSyntaxProblems({ kind: 'log', template: 'total {order.totalCents +* 2}' })).toEqual([
      { path: ['template'], message: '{order.totalCents +* 2} at column 26: Unexpected token' },
    ]);
    expect(actionSyntaxProblems({ kind: 'log', template: 'x {  a = 1 }', condition: 'user.delete()' })).toEqual([
      { path: ['condition'], message: expect.stringMatching(/^column 6: calling delete\(\) is not allowed/) },
      { path: ['template'], message: '{a = 1} at column 6: assignment is not allowed' },
    ]);
    expect(actionSyntaxProblems({ kind: 'snapshot', expressions: ['ok', 'a b'] })).toEqual([
      { path: ['expressions', 1], message: 'column 3: unexpected text after the expression: "b"' },
    ]);
    expect(actionSyntaxProblems({ kind: 'metric', expression: 'new Date()' })).toEqual([
      { path: ['expression'], message: 'column 1: new is not allowed' },
    ]);
  });

  it('keeps the message the agent reports, with the column beside it', () => {
    try {
      compileExpression('a +* 2');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ExpressionError);
      expect((err as ExpressionError).message).toBe('cannot parse "a +* 2": Unexpected token (1:3)');
      expect((err as ExpressionError).column).toBe(4);
    }
  });

  it('makes a create body with a bad template fail validation at body.template', () => {
    const bad = createActionBodySchema.safeParse({ kind: 'log', file: 'a.ts', line: 1, template: '{x', target });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['template', 'unclosed "{" at column 1 (write "{{" for a literal brace)'],
    ]);
    expect(
      createActionBodySchema.safeParse({ kind: 'log', file: 'a.ts', line: 1, template: '{x}', target }).success,
    ).toBe(true);
  });
});
