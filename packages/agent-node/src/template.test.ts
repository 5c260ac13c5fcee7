import { describe, expect, it } from 'vitest';
import { parseTemplate } from './template.js';

describe('parseTemplate', () => {
  it('splits text and expressions', () => {
    expect(parseTemplate('user {user.id} paid {amount}')).toEqual([
      { text: 'user ' },
      { expression: 'user.id' },
      { text: ' paid ' },
      { expression: 'amount' },
    ]);
  });
  it('keeps literal braces and braces inside expressions and strings', () => {
    expect(parseTemplate('{{x}} {({a: 1}).a} {"}"}')).toEqual([
      { text: '{x} ' },
      { expression: '({a: 1}).a' },
      { text: ' ' },
      { expression: '"}"' },
    ]);
  });
  it('rejects unbalanced and empty parts', () => {
    expect(() => parseTemplate('a {b')).toThrow(/unclosed/);
    expect(() => parseTemplate('a } b')).toThrow(/unmatched/);
    expect(() => parseTemplate('a {} b')).toThrow(/empty/);
  });
});
