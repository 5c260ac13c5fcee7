import { describe, expect, it } from 'vitest';
import { lex, ParseFailure } from './lexer.js';

const tokens = (text: string): string[] => lex(text).map((t) => `${t.kind}:${t.text}`);

describe('lexer', () => {
  it.each([
    ['attr:http.status_code = 200', ['Attribute:attr:http.status_code', 'Comparator:=', 'Number:200']],
    // The attribute rule allows `-`, so this is one name, not a subtraction.
    ['attr:a-1', ['Attribute:attr:a-1']],
    ['attr:a - 1', ['Attribute:attr:a', 'Operator:-', 'Number:1']],
    ['attr:dapr-app-id', ['Attribute:attr:dapr-app-id']],
    // No negative literals: the operator rule comes before the number rule.
    ['-1', ['Operator:-', 'Number:1']],
    ['5-3', ['Number:5', 'Operator:-', 'Number:3']],
    ['1 + 2 * 3', ['Number:1', 'Operator:+', 'Number:2', 'Operator:*', 'Number:3']],
    ['8 / 2', ['Number:8', 'Operator:/', 'Number:2']],
    ['1.5', ['Number:1.5']],
    ['100ms', ['Duration:100ms']],
    ['200 ms', ['Duration:200 ms']],
    ['1.5s 2m 3h 4us 5ns', ['Duration:1.5s', 'Duration:2m', 'Duration:3h', 'Duration:4us', 'Duration:5ns']],
    // First matching alternative wins, not the longest token.
    ['2 minutes', ['Duration:2 m', 'Ident:inutes']],
    ['1mss', ['Duration:1ms', 'Ident:s']],
    ['containsX', ['Comparator:contains', 'Ident:X']],
    ['a not-contains b', ['Ident:a', 'Comparator:not-contains', 'Ident:b']],
    [
      '!= <= >= = < >',
      ['Comparator:!=', 'Comparator:<=', 'Comparator:>=', 'Comparator:=', 'Comparator:<', 'Comparator:>'],
    ],
    ['env:HOST var:my.var', ['Environment:env:HOST', 'Variable:var:my.var']],
    ['"a \\"b\\" c"', ['QuotedString:"a \\"b\\" c"']],
    ["'it\\'s'", ["SingleQuotedString:'it\\'s'"]],
    [`'a "b" c'`, [`SingleQuotedString:'a "b" c'`]],
    ['"${attr:x}"', ['QuotedString:"${attr:x}"']],
    ['randomInt(0,10)', ['Ident:randomInt', 'Punc:(', 'Number:0', 'Punc:,', 'Number:10', 'Punc:)']],
    [
      '[1, "x"] | get_index 1',
      ['Punc:[', 'Number:1', 'Punc:,', 'QuotedString:"x"', 'Punc:]', 'Punc:|', 'Ident:get_index', 'Number:1'],
    ],
    ['  \t\n1\r\n', ['Number:1']],
  ])('%s', (text, expected) => {
    expect(tokens(text)).toEqual(expected);
  });

  it('records offsets', () => {
    expect(lex('attr:a  = 10ms').map((t) => t.offset)).toEqual([0, 8, 10]);
  });

  it.each([
    ['http.status_code = 200', 4],
    ['attr:x = @', 9],
    ['attr:', 4],
    ['"unterminated', 0],
    ['1 ; 2', 2],
  ])('rejects %s at offset %i', (text, offset) => {
    let failure: unknown;
    try {
      lex(text);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(ParseFailure);
    expect((failure as ParseFailure).offset).toBe(offset);
    expect((failure as ParseFailure).reason).toMatch(/^invalid input text "/);
  });
});
