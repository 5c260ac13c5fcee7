/**
 * A JSONPath evaluator for the syntax Tracetest's `json_path` filter accepts (github.com/ohler55/ojg/jp), enough of
 * it for test assertions: `$` (optional: `.id` and `id.x` start at the root), `.name`, `.*`, `..` (recursive descent,
 * the node itself first), `[n]` and `[-n]`, `['k']` / `["k"]` (any characters, `\'` escapes), unions `['a','b']` and
 * `[0,2]`, slices `[start:end:step]`, `[*]` and filters `[?(@.age >= 18 && @.name != 'x')]` with == != < <= > >=,
 * `!`, `&&`, `||`, parentheses, existence tests (`[?(@.id)]`), and number, string, true, false, null literals.
 */
import type { JsonNode } from './json.js';

type Selector =
  | { readonly kind: 'child'; readonly names: readonly string[] }
  | { readonly kind: 'index'; readonly indexes: readonly number[] }
  | { readonly kind: 'slice'; readonly start?: number; readonly end?: number; readonly step: number }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'filter'; readonly expr: FilterExpr };

interface Step {
  readonly descend: boolean;
  readonly selector: Selector;
}

interface Path {
  readonly root: '$' | '@';
  readonly steps: readonly Step[];
}

type Operand =
  { readonly kind: 'path'; readonly path: Path } | { readonly kind: 'literal'; readonly node: JsonNode | undefined };

type FilterExpr =
  | { readonly kind: 'or' | 'and'; readonly left: FilterExpr; readonly right: FilterExpr }
  | { readonly kind: 'not'; readonly operand: FilterExpr }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'exists'; readonly operand: Operand };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export class JsonPathError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonPathError';
  }
}

const NAME_CHAR = /[^.[\]\s()=!<>&|,'"]/;

class PathParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new JsonPathError(message, this.pos);
  }

  private get char(): string | undefined {
    return this.text[this.pos];
  }

  private skipSpaces(): void {
    while (this.char === ' ' || this.char === '\t') this.pos++;
  }

  private eat(text: string): boolean {
    if (!this.text.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  whole(): Path {
    const path = this.path(true);
    this.skipSpaces();
    if (this.pos < this.text.length) this.fail(`unexpected ${JSON.stringify(this.char)}`);
    return path;
  }

  /** A path; at the top `$` may be left out (`.a`, `a.b`, `[0]`). */
  private path(top: boolean): Path {
    let root: '$' | '@' = '$';
    if (this.eat('$')) root = '$';
    else if (this.eat('@')) root = '@';
    else if (!top) this.fail('expected "@" or "$"');
    const steps: Step[] = [];
    if (top && root === '$' && this.pos === 0 && this.char !== undefined && NAME_CHAR.test(this.char)) {
      steps.push({ descend: false, selector: { kind: 'child', names: [this.name()] } });
    }
    for (;;) {
      if (this.eat('..')) {
        if (this.char === '[') steps.push({ descend: true, selector: this.bracket() });
        else steps.push({ descend: true, selector: this.dotSelector() });
      } else if (this.eat('.')) {
        steps.push({ descend: false, selector: this.dotSelector() });
      } else if (this.char === '[') {
        steps.push({ descend: false, selector: this.bracket() });
      } else {
        return { root, steps };
      }
    }
  }

  private dotSelector(): Selector {
    if (this.eat('*')) return { kind: 'wildcard' };
    return { kind: 'child', names: [this.name()] };
  }

  private name(): string {
    const start = this.pos;
    while (this.char !== undefined && NAME_CHAR.test(this.char)) this.pos++;
    if (this.pos === start) this.fail('expected a name');
    return this.text.slice(start, this.pos);
  }

  private quoted(): string {
    const quote = this.char;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.char;
      if (c === undefined) this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      if (c === '\\') {
        const next = this.char;
        if (next === undefined) this.fail('unterminated string');
        this.pos++;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      } else {
        out += c;
      }
    }
  }

  private integer(): number | undefined {
    const m = /-?[0-9]+/y;
    m.lastIndex = this.pos;
    const found = m.exec(this.text);
    if (found === null) return undefined;
    this.pos += found[0].length;
    return Number(found[0]);
  }

  private bracket(): Selector {
    this.pos++; // [
    this.skipSpaces();
    let selector: Selector;
    if (this.eat('*')) {
      selector = { kind: 'wildcard' };
    } else if (this.eat('?')) {
      this.skipSpaces();
      if (!this.eat('(')) this.fail('expected "(" after "?"');
      const expr = this.orExpr();
      this.skipSpaces();
      if (!this.eat(')')) this.fail('expected ")"');
      selector = { kind: 'filter', expr };
    } else if (this.char === "'" || this.char === '"') {
      const names = [this.quoted()];
      for (this.skipSpaces(); this.eat(','); this.skipSpaces()) {
        this.skipSpaces();
        if (this.char !== "'" && this.char !== '"') this.fail('expected a quoted name');
        names.push(this.quoted());
      }
      selector = { kind: 'child', names };
    } else {
      selector = this.indexOrSlice();
    }
    this.skipSpaces();
    if (!this.eat(']')) this.fail('expected "]"');
    return selector;
  }

  private indexOrSlice(): Selector {
    const start = this.integer();
    this.skipSpaces();
    if (this.char === ':') {
      this.pos++;
      this.skipSpaces();
      const end = this.integer();
      let step = 1;
      this.skipSpaces();
      if (this.eat(':')) {
        this.skipSpaces();
        step = this.integer() ?? 1;
        if (step === 0) this.fail('slice step cannot be 0');
      }
      return {
        kind: 'slice',
        step,
        ...(start === undefined ? {} : { start }),
        ...(end === undefined ? {} : { end }),
      };
    }
    if (start === undefined) this.fail('expected an index, a name or a filter');
    const indexes = [start];
    for (this.skipSpaces(); this.eat(','); this.skipSpaces()) {
      this.skipSpaces();
      const next = this.integer();
      if (next === undefined) this.fail('expected an index');
      indexes.push(next);
    }
    return { kind: 'index', indexes };
  }

  private orExpr(): FilterExpr {
    let left = this.andExpr();
    for (this.skipSpaces(); this.eat('||'); this.skipSpaces()) left = { kind: 'or', left, right: this.andExpr() };
    return left;
  }

  private andExpr(): FilterExpr {
    let left = this.unary();
    for (this.skipSpaces(); this.eat('&&'); this.skipSpaces()) left = { kind: 'and', left, right: this.unary() };
    return left;
  }

  private unary(): FilterExpr {
    this.skipSpaces();
    if (this.char === '!' && this.text[this.pos + 1] !== '=') {
      this.pos++;
      return { kind: 'not', operand: this.unary() };
    }
    if (this.eat('(')) {
      const inner = this.orExpr();
      this.skipSpaces();
      if (!this.eat(')')) this.fail('expected ")"');
      return inner;
    }
    const left = this.operand();
    this.skipSpaces();
    const op = (['==', '!=', '<=', '>=', '<', '>'] as const).find((candidate) => this.eat(candidate));
    if (op === undefined) return { kind: 'exists', operand: left };
    this.skipSpaces();
    return { kind: 'compare', op, left, right: this.operand() };
  }

  private operand(): Operand {
    const c = this.char;
    if (c === '@' || c === '$') return { kind: 'path', path: this.path(false) };
    if (c === "'" || c === '"') return { kind: 'literal', node: { t: 'string', value: this.quoted() } };
    const number = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    number.lastIndex = this.pos;
    const m = number.exec(this.text);
    if (m !== null) {
      this.pos += m[0].length;
      return { kind: 'literal', node: { t: 'number', text: m[0] } };
    }
    for (const [word, node] of [
      ['true', { t: 'boolean', value: true }],
      ['false', { t: 'boolean', value: false }],
      ['null', { t: 'null' }],
    ] as const) {
      if (this.eat(word)) return { kind: 'literal', node };
    }
    this.fail('expected a value in the filter');
  }
}

function children(node: JsonNode): readonly JsonNode[] {
  if (node.t === 'object') return [...node.members.values()];
  if (node.t === 'array') return node.items;
  return [];
}

/** The node, then its descendants depth first. */
function descendants(node: JsonNode, out: JsonNode[] = []): JsonNode[] {
  out.push(node);
  for (const child of children(node)) descendants(child, out);
  return out;
}

function select(node: JsonNode, selector: Selector, root: JsonNode): JsonNode[] {
  switch (selector.kind) {
    case 'child': {
      if (node.t !== 'object') return [];
      const out: JsonNode[] = [];
      for (const name of selector.names) {
        const child = node.members.get(name);
        if (child !== undefined) out.push(child);
      }
      return out;
    }
    case 'index': {
      if (node.t !== 'array') return [];
      const out: JsonNode[] = [];
      for (const index of selector.indexes) {
        const item = node.items[index < 0 ? node.items.length + index : index];
        if (item !== undefined) out.push(item);
      }
      return out;
    }
    case 'slice': {
      if (node.t !== 'array') return [];
      const n = node.items.length;
      const clamp = (i: number): number => Math.min(Math.max(i < 0 ? n + i : i, -1), n);
      const out: JsonNode[] = [];
      if (selector.step > 0) {
        const from = Math.max(clamp(selector.start ?? 0), 0);
        const to = clamp(selector.end ?? n);
        for (let i = from; i < to; i += selector.step) out.push(node.items[i] as JsonNode);
      } else {
        const from = Math.min(clamp(selector.start ?? n - 1), n - 1);
        const to = selector.end === undefined ? -1 : clamp(selector.end);
        for (let i = from; i > to; i += selector.step) out.push(node.items[i] as JsonNode);
      }
      return out;
    }
    case 'wildcard':
      return [...children(node)];
    case 'filter':
      return children(node).filter((candidate) => truthy(selector.expr, candidate, root));
  }
}

function evaluate(path: Path, current: JsonNode, root: JsonNode): JsonNode[] {
  let nodes = [path.root === '@' ? current : root];
  for (const step of path.steps) {
    const next: JsonNode[] = [];
    for (const node of nodes) {
      for (const target of step.descend ? descendants(node) : [node]) next.push(...select(target, step.selector, root));
    }
    nodes = next;
  }
  return nodes;
}

function operandValue(operand: Operand, current: JsonNode, root: JsonNode): JsonNode | undefined {
  if (operand.kind === 'literal') return operand.node;
  return evaluate(operand.path, current, root)[0];
}

function equal(a: JsonNode | undefined, b: JsonNode | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.t === 'number' && b.t === 'number') return Number(a.text) === Number(b.text);
  if (a.t === 'string' && b.t === 'string') return a.value === b.value;
  if (a.t === 'boolean' && b.t === 'boolean') return a.value === b.value;
  return a.t === 'null' && b.t === 'null';
}

function ordered(op: '<' | '<=' | '>' | '>=', a: JsonNode | undefined, b: JsonNode | undefined): boolean {
  let x: number | string;
  let y: number | string;
  if (a?.t === 'number' && b?.t === 'number') {
    x = Number(a.text);
    y = Number(b.text);
  } else if (a?.t === 'string' && b?.t === 'string') {
    x = a.value;
    y = b.value;
  } else {
    return false;
  }
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

function truthy(expr: FilterExpr, current: JsonNode, root: JsonNode): boolean {
  switch (expr.kind) {
    case 'or':
      return truthy(expr.left, current, root) || truthy(expr.right, current, root);
    case 'and':
      return truthy(expr.left, current, root) && truthy(expr.right, current, root);
    case 'not':
      return !truthy(expr.operand, current, root);
    case 'exists': {
      const value = operandValue(expr.operand, current, root);
      return value !== undefined && value.t !== 'null' && !(value.t === 'boolean' && !value.value);
    }
    case 'compare': {
      const left = operandValue(expr.left, current, root);
      const right = operandValue(expr.right, current, root);
      switch (expr.op) {
        case '==':
          return equal(left, right);
        case '!=':
          return !equal(left, right);
        case '<':
        case '<=':
        case '>':
        case '>=':
          return ordered(expr.op, left, right);
      }
    }
  }
}

/** A compiled JSONPath; throws `JsonPathError` for a bad path. */
export function compileJsonPath(text: string): (document: JsonNode) => JsonNode[] {
  const path = new PathParser(text.trim()).whole();
  return (document) => evaluate(path, document, document);
}
