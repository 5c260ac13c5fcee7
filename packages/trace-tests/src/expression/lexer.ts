/**
 * The expression language's lexer: Tracetest's stateful rule list, tried in this order at each position, the first
 * rule that matches wins (not the longest), whitespace is skipped. Consequences kept on purpose: `-1` is an operator
 * and a number, `attr:a-1` is one attribute name, `containsX` is the comparator `contains` then `X`, `5 m` is a
 * duration.
 */

export type TokenKind =
  | 'Punc'
  | 'Comparator'
  | 'Operator'
  | 'Duration'
  | 'Number'
  | 'Attribute'
  | 'Environment'
  | 'Variable'
  | 'QuotedString'
  | 'SingleQuotedString'
  | 'Ident';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 0-based offset of the first character in the lexed text. */
  readonly offset: number;
}

/** A lexing or parsing problem; `offset` is within the text handed to the lexer or parser. */
export class ParseFailure extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
    this.name = 'ParseFailure';
  }
}

// Sticky regexes evaluated with backtracking (leftmost-first) semantics, which is what Go's regexp gives for these
// patterns too. `\s` is spelled out because Go's `\s` is ASCII-only.
const WHITESPACE = /[\t\n\f\r ]+/y;
const RULES: readonly (readonly [TokenKind, RegExp])[] = [
  ['Punc', /[(),|[\]]/y],
  ['Comparator', /!=|<=|>=|=|<|>|contains|not-contains/y],
  ['Operator', /[+\-*/]/y],
  ['Duration', /[0-9]+(?:\.[0-9]+)? ?(?:ns|us|ms|s|m|h)/y],
  ['Number', /[0-9]+(?:\.[0-9]+)?/y],
  ['Attribute', /attr:[a-zA-Z_0-9][a-zA-Z_0-9.-]*/y],
  ['Environment', /env:[a-zA-Z_0-9][a-zA-Z_0-9.]*/y],
  ['Variable', /var:[a-zA-Z_0-9][a-zA-Z_0-9.]*/y],
  ['QuotedString', /"(?:\\"|[^"])*"/y],
  ['SingleQuotedString', /'(?:\\'|[^'])*'/y],
  ['Ident', /[a-zA-Z][a-zA-Z0-9_]*/y],
];

function matchAt(re: RegExp, text: string, pos: number): string | undefined {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m?.[0];
}

/** Splits `text` into tokens; throws `ParseFailure` at the first character no rule accepts. */
export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  outer: while (pos < text.length) {
    const space = matchAt(WHITESPACE, text, pos);
    if (space !== undefined) {
      pos += space.length;
      continue;
    }
    for (const [kind, re] of RULES) {
      const m = matchAt(re, text, pos);
      if (m !== undefined && m.length > 0) {
        tokens.push({ kind, text: m, offset: pos });
        pos += m.length;
        continue outer;
      }
    }
    const snippet = text.slice(pos, pos + 12);
    throw new ParseFailure(`invalid input text ${JSON.stringify(snippet)}`, pos);
  }
  return tokens;
}
