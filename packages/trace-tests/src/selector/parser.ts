import { formatFixed } from '../render.js';
import { problem, tokenize, type Token } from './lexer.js';

/**
 * Tracetest's selector grammar (research §4):
 *
 *   Selector     := [ SpanSelector { "," SpanSelector } ]
 *   SpanSelector := "span" "[" [ Filter { [","] Filter } ] "]" [ Pseudo ] [ SpanSelector ]
 *   Filter       := Property ("=" | "contains") Value
 *   Property     := Ident { "." Ident }
 *   Value        := String | Int | Float | "true" | "false"
 *   Pseudo       := ":" ( "first" | "last" | "nth_child" "(" Int ")" )
 *
 * Stricter than Tracetest where it accepts nonsense and then crashes or ignores it: a filter without a value, a
 * leading comma in `span[, …]`, `:first(2)`, two pseudo-classes, `:nth_child` without an integer are errors here.
 */

export type SelectorValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean };

export interface SpanFilter {
  /** `name` (the span name), `kind` (the span kind) or an attribute key. */
  readonly property: string;
  readonly operator: '=' | 'contains';
  readonly value: SelectorValue;
  /** The value as the comparison sees it: strings decoded, int `%d`, float `%.2f` (`0.5` → "0.50"), bool. */
  readonly expected: string;
  readonly offset: number;
}

export type PseudoClass =
  | { readonly type: 'first' }
  | { readonly type: 'last' }
  /** 1-based; out of range selects nothing. */
  | { readonly type: 'nth_child'; readonly n: number };

export interface SpanSelectorNode {
  /** ANDed; none (`span[]`) matches every span. */
  readonly filters: readonly SpanFilter[];
  readonly pseudo: PseudoClass | null;
  /** `span[A] span[B]`: B among the descendants of each span matching A. */
  readonly child: SpanSelectorNode | null;
  readonly offset: number;
}

export function parseSelectorParts(text: string): SpanSelectorNode[] {
  return new Parser(tokenize(text)).selector();
}

function describe(token: Token): string {
  return token.kind === 'eof' ? 'the end of the selector' : JSON.stringify(token.text);
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private cur(): Token {
    return this.tokens[this.i]!;
  }

  private peek(ahead = 1): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private isPunct(text: string, token = this.cur()): boolean {
    return token.kind === 'punct' && token.text === text;
  }

  private isWord(text: string, token = this.cur()): boolean {
    return token.kind === 'ident' && token.text === text;
  }

  selector(): SpanSelectorNode[] {
    if (this.cur().kind === 'eof') return [];
    const parts = [this.spanSelector()];
    while (this.isPunct(',')) {
      this.i++;
      parts.push(this.spanSelector());
    }
    if (this.cur().kind !== 'eof') {
      throw problem(`unexpected ${describe(this.cur())}`, this.cur().offset, 'expected "span[", "," or the end');
    }
    return parts;
  }

  private spanSelector(): SpanSelectorNode {
    const start = this.cur();
    if (!this.isWord('span')) {
      const hint =
        start.kind === 'ident' && start.text.toLowerCase() === 'span' ? 'write "span" in lowercase' : undefined;
      throw problem('expected "span"', start.offset, hint);
    }
    this.i++;
    if (!this.isPunct('[')) throw problem('expected "[" after "span"', this.cur().offset);
    this.i++;
    const filters: SpanFilter[] = [];
    for (;;) {
      if (this.isPunct(']')) break;
      if (filters.length > 0 && this.isPunct(',')) {
        this.i++;
        filters.push(this.filter());
        continue;
      }
      if (filters.length > 0 && this.cur().kind !== 'ident') throw problem('expected "]"', this.cur().offset);
      filters.push(this.filter());
    }
    this.i++;
    let pseudo: PseudoClass | null = null;
    if (this.isPunct(':')) {
      pseudo = this.pseudo();
      if (this.isPunct(':')) throw problem('only one pseudo-class is allowed per span[…]', this.cur().offset);
    }
    const child = this.isWord('span') ? this.spanSelector() : null;
    return { filters, pseudo, child, offset: start.offset };
  }

  private filter(): SpanFilter {
    const start = this.cur();
    if (start.kind !== 'ident') {
      if (start.kind === 'eof') throw problem('expected "]"', start.offset);
      throw problem('expected an attribute name', start.offset, describeNameStart(start));
    }
    let property = start.text;
    this.i++;
    for (;;) {
      if (this.isPunct('.')) {
        const dot = this.cur();
        this.i++;
        if (this.cur().kind !== 'ident') throw problem('expected a name after "."', dot.offset + 1);
        property += `.${this.cur().text}`;
        this.i++;
      } else if (this.cur().kind === 'float' && this.cur().text.startsWith('.')) {
        // `a.5`: Go's scanner reads ".5" as a number.
        throw problem('expected a name after "."', this.cur().offset + 1, 'name parts start with a letter or "_"');
      } else break;
    }
    if (this.isPunct('-')) {
      const rest = this.restOfName();
      throw problem(
        '"-" is not allowed in an attribute name',
        this.cur().offset,
        `selectors cannot name "${property}${rest}": select its span by other attributes and check it with attr:${property}${rest} in an assertion`,
      );
    }
    const operator = this.operator();
    const value = this.value();
    return { property, operator, value, expected: renderValue(value), offset: start.offset };
  }

  /** The rest of a dashed name (`-agent` in `http.user-agent`), for the message only. */
  private restOfName(): string {
    let rest = '';
    for (let k = this.i; ; k++) {
      const t = this.tokens[k]!;
      const prev = this.tokens[k - 1]!;
      const adjacent = prev.offset + prev.text.length === t.offset;
      if (!adjacent && k !== this.i) break;
      if (t.kind === 'ident' || t.kind === 'int' || (t.kind === 'punct' && (t.text === '-' || t.text === '.'))) {
        rest += t.text;
      } else break;
    }
    return rest;
  }

  private operator(): '=' | 'contains' {
    const t = this.cur();
    if (this.isPunct('=')) {
      this.i++;
      return '=';
    }
    if (this.isWord('contains')) {
      this.i++;
      return 'contains';
    }
    const next = this.peek();
    const adjacent = next.offset === t.offset + t.text.length;
    if (t.kind === 'punct' && ['!', '<', '>', '~', '^', '$', '*'].includes(t.text)) {
      const shown = adjacent && this.isPunct('=', next) ? `${t.text}=` : t.text;
      throw problem(`operator "${shown}" is not supported`, t.offset, 'selectors compare with "=" or "contains"');
    }
    if (this.isWord('not')) {
      const shown =
        adjacent && this.isPunct('-', next) && this.isWord('contains', this.peek(2)) ? 'not-contains' : 'not';
      throw problem(`operator "${shown}" is not supported`, t.offset, 'selectors compare with "=" or "contains"');
    }
    throw problem('expected "=" or "contains"', t.offset);
  }

  private value(): SelectorValue {
    const t = this.cur();
    switch (t.kind) {
      case 'string':
        this.i++;
        return { type: 'string', value: t.value! };
      case 'int':
        this.i++;
        return { type: 'int', value: t.int! };
      case 'float':
        this.i++;
        return { type: 'float', value: t.float! };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') {
          this.i++;
          return { type: 'bool', value: t.text === 'true' };
        }
        throw problem('expected a value', t.offset, `quote text: "${t.text}"`);
      case 'char':
        throw problem('single-quoted strings are not allowed', t.offset, 'use double quotes');
      case 'raw':
        throw problem('backquoted strings are not allowed', t.offset, 'use double quotes');
      case 'punct':
        if (t.text === '-' && ['int', 'float'].includes(this.peek().kind)) {
          throw problem('negative numbers are not supported', t.offset, `quote the value: "-${this.peek().text}"`);
        }
        break;
      case 'eof':
        break;
    }
    throw problem('expected a value (a "string", a number, true or false)', t.offset);
  }

  private pseudo(): PseudoClass {
    const colon = this.cur();
    this.i++;
    const name = this.cur();
    if (name.kind !== 'ident') {
      throw problem('expected a pseudo-class after ":"', colon.offset, 'use :first, :last or :nth_child(n)');
    }
    this.i++;
    if (name.text === 'first' || name.text === 'last') {
      if (this.isPunct('(')) throw problem(`":${name.text}" takes no argument`, this.cur().offset);
      return { type: name.text };
    }
    if (name.text !== 'nth_child') {
      throw problem(`unknown pseudo-class ":${name.text}"`, colon.offset, 'use :first, :last or :nth_child(n)');
    }
    if (!this.isPunct('(')) throw problem('expected "(" after ":nth_child"', this.cur().offset);
    this.i++;
    const n = this.cur();
    if (n.kind !== 'int') throw problem('expected an integer in :nth_child(…)', n.offset);
    this.i++;
    if (!this.isPunct(')')) throw problem('expected ")"', this.cur().offset);
    this.i++;
    // Beyond 2^53 no trace has that many spans: any such n selects nothing, as does 0.
    const index = n.int! > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n.int!);
    return { type: 'nth_child', n: index };
  }
}

function describeNameStart(token: Token): string | undefined {
  if (token.kind === 'string') return 'attribute names are not quoted';
  if (token.kind === 'int' || token.kind === 'float') return 'names start with a letter or "_"';
  return undefined;
}

function renderValue(value: SelectorValue): string {
  switch (value.type) {
    case 'string':
      return value.value;
    case 'int':
      return value.value.toString();
    case 'float':
      return formatFixed(value.value, 2);
    case 'bool':
      return value.value ? 'true' : 'false';
  }
}
