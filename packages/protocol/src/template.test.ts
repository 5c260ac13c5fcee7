import { describe, expect, it } from 'vitest';
import { parseTemplate } from './template.js';

describe('parseTemplate', () => {
  it('splits text and expressions, each with the column where it starts', () => {
    expect(parseTemplate('user {user.id} paid { amount }')).toEqual([
      { text: 'user ' },
      { expression: 'user.id', column: 7 },
      { text: ' paid ' },
      { expression: 'amount', column: 23 },
    ]);
  });
  it('keeps literal braces and braces inside expressions and strings', () => {
    expect(parseTemplate('{{x}} {({a: 1}).a} {"}"}')).toEqual([
      { text: '{x} ' },
      { expression: '({a: 1}).a', column: 8 },
      { text: ' ' },
      { expression: '"}"', column: 21 },
    ]);
  });
  it('rejects unbalanced and empty parts, with the column of the brace', () => {
    expect(() => parseTemplate('a {b')).toThrow(/unclosed/);
    expect(() => parseTemplate('a } b')).toThrow(/unmatched/);
    expect(() => parseTemplate('a {} b')).toThrow(/empty/);
    expect(() => parseTemplate('order {order.id')).toThrow('unclosed "{" at column 7');
    try {
      parseTemplate('a } b');
    } catch (err) {
      expect(err).toMatchObject({ name: 'TemplateError', column: 3 });
    }
  });
});
