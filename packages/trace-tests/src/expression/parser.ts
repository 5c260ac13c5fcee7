/**
 * Parser for Tracetest's expression language:
 *
 *   Statement    := Expr Comparator Expr
 *   Expr         := Term { Operator Term } { Filter }
 *   Filter       := "|" Ident { Term }
 *   Term         := FunctionCall | Array | Duration | Number | Attribute | Environment | Variable | String
 *   FunctionCall := Ident "(" [ Term { "," Term } ] ")"
 *   Array        := "[" [ Term { "," Term } ] "]"
 *
 * A string literal may hold `${Expr}` parts, parsed here too (a bad part is a syntax error of the whole text).
 */
import { lex, ParseFailure, type Token } from './lexer.js';

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'not-contains';
export type Operator = '+' | '-' | '*' | '/';

export type Term =
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Term[] }
  | { readonly kind: 'array'; readonly items: readonly Term[] }
  | { readonly kind: 'duration'; readonly text: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'attribute'; readonly name: string }
  /** `env:X` and `var:X` read the same variable set. */
  | { readonly kind: 'variable'; readonly prefix: 'env' | 'var'; readonly name: string }
  | { readonly kind: 'string'; readonly parts: readonly StringPart[] };

/** A literal piece of a string, or an interpolated `${Expr}`. */
export type StringPart = string | Expr;

export interface Filter {
  readonly name: string;
  readonly args: readonly Term[];
}

export interface Expr {
  readonly left: Term;
  readonly ops: readonly { readonly operator: Operator; readonly term: Term }[];
  readonly filters: readonly Filter[];
}

export interface StatementAst {
  readonly left: Expr;
  readonly comparator: Comparator;
  readonly right: Expr;
}

const INTERPOLATION = /\$\{[^}]+\}/g;

function describe(token: Token | undefined): string {
  return token === undefined ? 'unexpected end of input' : `unexpected token ${JSON.stringify(token.text)}`;
}

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly length: number,
  ) {}

  private peek(ahead = 0): Token | undefined {
    return this.tokens[this.pos + ahead];
  }

  private fail(expected: string): never {
    const token = this.peek();
    throw new ParseFailure(`${describe(token)} (expected ${expected})`, token?.offset ?? this.length);
  }

  private isPunc(token: Token | undefined, text: string): boolean {
    return token !== undefined && token.kind === 'Punc' && token.text === text;
  }

  private expectPunc(text: string): void {
    if (!this.isPunc(this.peek(), text)) this.fail(`"${text}"`);
    this.pos++;
  }

  expectEnd(): void {
    if (this.peek() !== undefined) this.fail('end of input');
  }

  statement(): StatementAst {
    const left = this.expr();
    const token = this.peek();
    if (token?.kind !== 'Comparator') this.fail('a comparator');
    this.pos++;
    const right = this.expr();
    this.expectEnd();
    return { left, comparator: token.text as Comparator, right };
  }

  expr(): Expr {
    const left = this.term();
    const ops: { operator: Operator; term: Term }[] = [];
    for (let token = this.peek(); token?.kind === 'Operator'; token = this.peek()) {
      this.pos++;
      ops.push({ operator: token.text as Operator, term: this.term() });
    }
    const filters: Filter[] = [];
    while (this.isPunc(this.peek(), '|')) {
      this.pos++;
      const name = this.peek();
      if (name?.kind !== 'Ident') this.fail('a filter name');
      this.pos++;
      const args: Term[] = [];
      while (this.startsTerm()) args.push(this.term());
      filters.push({ name: name.text, args });
    }
    return { left, ops, filters };
  }

  private startsTerm(): boolean {
    const token = this.peek();
    if (token === undefined) return false;
    switch (token.kind) {
      case 'Duration':
      case 'Number':
      case 'Attribute':
      case 'Environment':
      case 'Variable':
      case 'QuotedString':
      case 'SingleQuotedString':
        return true;
      case 'Punc':
        return token.text === '[';
      case 'Ident':
        return this.isPunc(this.peek(1), '(');
      case 'Comparator':
      case 'Operator':
        return false;
    }
  }

  private term(): Term {
    const token = this.peek();
    if (token === undefined) this.fail('a value');
    switch (token.kind) {
      case 'Duration':
        this.pos++;
        return { kind: 'duration', text: token.text };
      case 'Number':
        this.pos++;
        return { kind: 'number', text: token.text };
      case 'Attribute':
        this.pos++;
        return { kind: 'attribute', name: token.text.slice('attr:'.length) };
      case 'Environment':
        this.pos++;
        return { kind: 'variable', prefix: 'env', name: token.text.slice('env:'.length) };
      case 'Variable':
        this.pos++;
        return { kind: 'variable', prefix: 'var', name: token.text.slice('var:'.length) };
      case 'QuotedString':
      case 'SingleQuotedString':
        this.pos++;
        return { kind: 'string', parts: parseStringLiteral(token) };
      case 'Punc':
        if (token.text !== '[') break;
        this.pos++;
        return { kind: 'array', items: this.termList(']') };
      case 'Ident':
        if (!this.isPunc(this.peek(1), '(')) break;
        this.pos += 2;
        return { kind: 'call', name: token.text, args: this.termList(')') };
      case 'Comparator':
      case 'Operator':
        break;
    }
    this.fail('a value');
  }

  /** `[ Term { "," Term } ] close`, after the opening punctuation. */
  private termList(close: string): Term[] {
    const items: Term[] = [];
    if (this.isPunc(this.peek(), close)) {
      this.pos++;
      return items;
    }
    items.push(this.term());
    while (this.isPunc(this.peek(), ',')) {
      this.pos++;
      items.push(this.term());
    }
    this.expectPunc(close);
    return items;
  }
}

/**
 * Strips the quotes, turns `\"` and `\'` into the bare quote (both styles, as Tracetest does; no other escapes), then
 * splits out the `${Expr}` parts. Offsets of problems inside a part are mapped back to the token's text.
 */
function parseStringLiteral(token: Token): StringPart[] {
  const raw = token.text.slice(1, -1);
  let content = '';
  const origin: number[] = []; // origin[i] = index in `raw` of content[i]
  for (let i = 0; i < raw.length; i++) {
    const next = raw[i + 1];
    if (raw[i] === '\\' && (next === '"' || next === "'")) {
      origin.push(i);
      content += next;
      i++;
    } else {
      origin.push(i);
      content += raw[i];
    }
  }
  origin.push(raw.length);
  const at = (contentIndex: number): number => token.offset + 1 + (origin[contentIndex] ?? raw.length);
  return splitInterpolations(content, at);
}

/** Literal pieces and parsed `${…}` parts of `text`; `at` maps an index of `text` to an offset of the outer text. */
function splitInterpolations(text: string, at: (index: number) => number): StringPart[] {
  const parts: StringPart[] = [];
  let last = 0;
  for (const m of text.matchAll(INTERPOLATION)) {
    const start = m.index;
    if (start > last) parts.push(text.slice(last, start));
    const inner = m[0].slice(2, -1);
    try {
      parts.push(parseExprText(inner));
    } catch (e) {
      if (e instanceof ParseFailure) throw new ParseFailure(e.reason, at(start + 2 + e.offset));
      throw e;
    }
    last = start + m[0].length;
  }
  if (last < text.length || parts.length === 0) parts.push(text.slice(last));
  return parts;
}

/** Parses a statement; throws `ParseFailure` with an offset into `text`. */
export function parseStatementText(text: string): StatementAst {
  return new Parser(lex(text), text.length).statement();
}

/** Parses a bare expression (an output's value, the inside of `${…}`); throws `ParseFailure`. */
export function parseExprText(text: string): Expr {
  const parser = new Parser(lex(text), text.length);
  const expr = parser.expr();
  parser.expectEnd();
  return expr;
}

/** Parses a plain string with `${Expr}` parts (a trigger field); throws `ParseFailure`. */
export function parseTemplateText(text: string): StringPart[] {
  return splitInterpolations(text, (index) => index);
}
