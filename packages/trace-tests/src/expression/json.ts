/**
 * A small JSON parser that keeps each number's source text (so `38` stays an integer and big integers keep their
 * digits), the renderings the filters need, and the subset match behind `contains` on JSON.
 */
import { goFloatString } from './numbers.js';

export type JsonNode =
  | { readonly t: 'object'; readonly members: ReadonlyMap<string, JsonNode> }
  | { readonly t: 'array'; readonly items: readonly JsonNode[] }
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'number'; readonly text: string }
  | { readonly t: 'boolean'; readonly value: boolean }
  | { readonly t: 'null' };

export class JsonSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WS = /[ \t\n\r]*/y;

class JsonParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  private skip(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.pos);
  }

  document(): JsonNode {
    this.skip();
    const node = this.value();
    this.skip();
    if (this.pos < this.text.length) this.fail('unexpected trailing text');
    return node;
  }

  private value(): JsonNode {
    const c = this.text[this.pos];
    if (c === undefined) this.fail('unexpected end of JSON');
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return { t: 'string', value: this.string() };
      case 't':
        return this.word('true', { t: 'boolean', value: true });
      case 'f':
        return this.word('false', { t: 'boolean', value: false });
      case 'n':
        return this.word('null', { t: 'null' });
      default: {
        NUMBER.lastIndex = this.pos;
        const m = NUMBER.exec(this.text);
        if (m === null) this.fail(`unexpected character ${JSON.stringify(c)}`);
        this.pos += m[0].length;
        return { t: 'number', text: m[0] };
      }
    }
  }

  private word(word: string, node: JsonNode): JsonNode {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return node;
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') break;
      if (c === '\\') this.pos++;
      else if (c < ' ') this.fail('control character in string');
      this.pos++;
    }
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail('invalid string escape');
    }
  }

  private object(): JsonNode {
    const members = new Map<string, JsonNode>();
    this.pos++;
    this.skip();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { t: 'object', members };
    }
    for (;;) {
      this.skip();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const key = this.string();
      this.skip();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      this.skip();
      members.set(key, this.value());
      this.skip();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return { t: 'object', members };
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  private array(): JsonNode {
    const items: JsonNode[] = [];
    this.pos++;
    this.skip();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { t: 'array', items };
    }
    for (;;) {
      this.skip();
      items.push(this.value());
      this.skip();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return { t: 'array', items };
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }
}

/** Parses a JSON document; throws `JsonSyntaxError`. */
export function parseJson(text: string): JsonNode {
  return new JsonParser(text).document();
}

/** The document, or undefined when `text` is not JSON. */
export function tryParseJson(text: string): JsonNode | undefined {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

function isIntegerText(text: string): boolean {
  return !/[.eE]/.test(text);
}

/** Compact JSON, members in document order, numbers as written. */
export function renderJson(node: JsonNode): string {
  switch (node.t) {
    case 'object':
      return `{${[...node.members].map(([k, v]) => `${JSON.stringify(k)}:${renderJson(v)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(renderJson).join(',')}]`;
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
      return node.text;
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
  }
}

/**
 * A JSONPath result as a plain string, as Tracetest prints it with Go's `%v`: strings bare, integers as integers,
 * other numbers in Go's shortest `%v` form (`1.5`, `1e+06`). Deliberate difference: objects and arrays render as
 * compact JSON (Tracetest prints Go's `map[k:v]` / `[a b]`, which nothing can parse back) and null as `null`.
 */
export function plainString(node: JsonNode): string {
  switch (node.t) {
    case 'string':
      return node.value;
    case 'number':
      return isIntegerText(node.text) ? BigInt(node.text).toString() : goFloatString(Number(node.text));
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'object':
    case 'array':
      return renderJson(node);
  }
}

/** Canonical text for equality: object keys sorted, numbers by value. */
function canonical(node: JsonNode): string {
  switch (node.t) {
    case 'object':
      return `{${[...node.members]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
        .join(',')}}`;
    case 'array':
      return `[${node.items.map(canonical).join(',')}]`;
    case 'number':
      return String(Number(node.text));
    case 'string':
    case 'boolean':
    case 'null':
      return renderJson(node);
  }
}

/** `expected` is a subset of `actual`: objects recurse member by member, anything else must be equal as JSON. */
function matches(actual: JsonNode, expected: JsonNode): boolean {
  if (expected.t === 'object') {
    if (actual.t !== 'object') return false;
    for (const [key, value] of expected.members) {
      const other = actual.members.get(key);
      if (other === undefined || !matches(other, value)) return false;
    }
    return true;
  }
  return canonical(actual) === canonical(expected);
}

/**
 * `contains` between two JSON documents (like Jest's toMatchObject): an object must hold the expected members; for
 * arrays at the top, every expected item must match some actual item. Nested arrays must be equal (same items, same
 * order), as in Tracetest. An expected object against an actual array matches when some item matches.
 */
export function jsonContains(actual: JsonNode, expected: JsonNode): boolean {
  if (expected.t === 'array') {
    if (actual.t !== 'array') return false;
    return expected.items.every((item) => actual.items.some((candidate) => matches(candidate, item)));
  }
  if (actual.t === 'array') return actual.items.some((candidate) => matches(candidate, expected));
  return matches(actual, expected);
}
