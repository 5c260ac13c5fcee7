import { describe, expect, it } from 'vitest';
import { highlightLines, isHighlightable, tokenize } from './highlight.js';

const kinds = (text: string): string[] =>
  tokenize(text)
    .filter((t) => t.kind !== 'plain' || t.text.trim() !== '')
    .map((t) => `${t.kind}:${t.text}`);

describe('highlight', () => {
  it('tells keywords, types, functions, strings, numbers and comments apart', () => {
    expect(kinds('const total = quote(items, 0x1f) // sum')).toEqual([
      'keyword:const',
      'plain:total',
      'punct:=',
      'function:quote',
      'punct:(',
      'plain:items',
      'punct:,',
      'number:0x1f',
      'punct:)',
      'comment:// sum',
    ]);
    expect(kinds("new Map<string, Order>('a\\'b')")).toEqual([
      'keyword:new',
      'type:Map',
      'punct:<',
      'keyword:string',
      'punct:,',
      'type:Order',
      'punct:>(',
      "string:'a\\'b'",
      'punct:)',
    ]);
  });

  it('does not treat a property named like a keyword as a keyword', () => {
    expect(kinds('order.new = x.default')).toContain('plain:new');
    expect(kinds('order.new = x.default')).toContain('plain:default');
  });

  it('keeps one line per source line, with multi-line comments and templates split across them', () => {
    const text = 'a /* one\ntwo */ b\nconst s = `x\ny`;\n';
    const lines = highlightLines(text);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toEqual([
      { kind: 'plain', text: 'a' },
      { kind: 'plain', text: ' ' },
      { kind: 'comment', text: '/* one' },
    ]);
    expect(lines[1]?.[0]).toEqual({ kind: 'comment', text: 'two */' });
    expect(lines[3]?.[0]).toEqual({ kind: 'string', text: 'y`' });
    expect(lines[4]).toEqual([]);
    expect(lines.map((l) => l.map((t) => t.text).join('')).join('\n')).toBe(text);
  });

  it('reads regular expressions after operators and division after values', () => {
    expect(kinds('x = /a\\/[/]b/g.test(s)')).toContain('string:/a\\/[/]b/g');
    expect(kinds('y = a / b / c')).toEqual([
      'plain:y',
      'punct:=',
      'plain:a',
      'punct:/',
      'plain:b',
      'punct:/',
      'plain:c',
    ]);
  });

  it('never loses text, even on unterminated input', () => {
    for (const text of ['"open', '/* open', '`open\n', "x = '\n", '/unterminated regex', '']) {
      expect(
        highlightLines(text)
          .map((l) => l.map((t) => t.text).join(''))
          .join('\n'),
      ).toBe(text);
    }
  });

  it('highlights only script files', () => {
    expect(isHighlightable('src/a.ts')).toBe(true);
    expect(isHighlightable('dist/a.mjs')).toBe(true);
    expect(isHighlightable('x.tsx')).toBe(true);
    expect(isHighlightable('README.md')).toBe(false);
  });
});
