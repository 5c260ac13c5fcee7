import { parseExpressionAt, type Node } from 'acorn';
import { types } from 'node:util';
import { MAX_EXPRESSION_LENGTH } from '@spyglass/protocol';
import { hookCall } from './hooks.js';
import { isAgentName } from './names.js';

/**
 * Expressions and conditions are parsed with acorn and accepted only in side-effect-free forms: no assignment,
 * update, delete, new, await, yield, import, functions or classes, and calls only to a short allowlist of pure
 * built-ins. Accepted expressions are re-printed with every call routed through the agent hook (`H.f` for static
 * built-ins, `H.m` for methods), so a call can never reach a user function even if a name is shadowed.
 */

/** Static pure functions an expression may call, by their dotted name. */
export const PURE_FUNCTIONS: Readonly<Record<string, (...args: never[]) => unknown>> = Object.freeze({
  String,
  Number,
  Boolean,
  parseInt,
  parseFloat,
  isNaN,
  isFinite,
  'Math.abs': Math.abs,
  'Math.min': Math.min,
  'Math.max': Math.max,
  'Math.round': Math.round,
  'Math.floor': Math.floor,
  'Math.ceil': Math.ceil,
  'Math.trunc': Math.trunc,
  'Math.sign': Math.sign,
  'Math.sqrt': Math.sqrt,
  'Math.pow': Math.pow,
  'Math.log': Math.log,
  'Math.log10': Math.log10,
  'JSON.stringify': (value: unknown) => {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  },
  'Array.isArray': Array.isArray,
  'Object.keys': Object.keys,
  'Number.isInteger': Number.isInteger,
  'Number.isFinite': Number.isFinite,
  'Number.isNaN': Number.isNaN,
  'Date.now': Date.now,
});

/** Methods an expression may call on a value; checked at run time to be the built-in of a standard prototype. */
export const PURE_METHOD_NAMES: ReadonlySet<string> = new Set([
  'toString',
  'toFixed',
  'toISOString',
  'getTime',
  'slice',
  'substring',
  'includes',
  'startsWith',
  'endsWith',
  'indexOf',
  'lastIndexOf',
  'at',
  'trim',
  'toUpperCase',
  'toLowerCase',
  'padStart',
  'padEnd',
  'charAt',
  'join',
  'has',
  'get',
]);

const PROTOTYPES: readonly object[] = [
  String.prototype,
  Number.prototype,
  Boolean.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  Object.prototype,
  Object.getPrototypeOf(Uint8Array.prototype) as object,
];

/** The built-in functions `H.m` will call: every allowlisted name found on a standard prototype. */
export const PURE_METHODS: ReadonlySet<unknown> = new Set(
  PROTOTYPES.flatMap((proto) =>
    [...PURE_METHOD_NAMES].flatMap((name) => {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      return d && typeof d.value === 'function' ? [d.value as unknown] : [];
    }),
  ),
);

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

export interface CompiledExpression {
  /** The original text. */
  source: string;
  /** JavaScript text to evaluate in the frame (calls routed through `hook`). */
  code: string;
  /** Free identifiers the expression reads (for the patch scope rule). */
  identifiers: ReadonlySet<string>;
  /** The expression uses `this`. */
  usesThis: boolean;
  /** The last name of an identifier or member expression (`user.password` → `password`), for redaction by name. */
  name?: string | undefined;
  /** The checked syntax tree (evaluated by `evaluateSafely` at a snapshot). */
  ast: unknown;
}

type AnyNode = Node & Record<string, unknown>;

/** A syntax node as the compiler and the evaluator read it. */
type SyntaxNode = { type: string } & Record<string, unknown>;

/**
 * The dotted name of an identifier or a chain of non-computed member accesses (`Math.max`, `a.b.c`); undefined for
 * anything else. The compiler and the evaluator name calls of pure functions by it.
 */
export function dotted(node: SyntaxNode): string | undefined {
  if (node.type === 'Identifier') return node.name as string;
  if (node.type === 'MemberExpression' && !node.computed && (node.property as SyntaxNode).type === 'Identifier') {
    const left = dotted(node.object as SyntaxNode);
    return left === undefined ? undefined : `${left}.${(node.property as SyntaxNode).name as string}`;
  }
  return undefined;
}

const BINARY = new Set([
  '==',
  '!=',
  '===',
  '!==',
  '<',
  '<=',
  '>',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
  '|',
  '^',
  '&',
  '<<',
  '>>',
  '>>>',
]);
const UNARY = new Set(['!', '-', '+', '~', 'typeof', 'void']);

/**
 * Parse and check one expression; throws ExpressionError with a message fit for an action's error status.
 * `hook` is the global name of the agent hook object the generated code calls.
 */
export function compileExpression(source: string, hook: string): CompiledExpression {
  const text = source.trim();
  if (text.length === 0) throw new ExpressionError('empty expression');
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let ast: AnyNode;
  try {
    ast = parseExpressionAt(text, 0, { ecmaVersion: 'latest', sourceType: 'script', preserveParens: true }) as AnyNode;
  } catch (err) {
    throw new ExpressionError(`cannot parse ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
  if (ast.end !== text.length) {
    throw new ExpressionError(
      `unexpected text after the expression at column ${ast.end + 1}: ${JSON.stringify(text.slice(ast.end))}`,
    );
  }
  const identifiers = new Set<string>();
  let usesThis = false;

  const print = (node: AnyNode): string => {
    switch (node.type) {
      case 'Literal': {
        if (node.regex) throw new ExpressionError('regular expression literals are not allowed');
        const raw = node.raw as string;
        // A patch must not add a line (every later line would move): a string written over several lines (`\` at a
        // line end, U+2028) is printed with escapes instead.
        return typeof node.value === 'string' && LINE_BREAK.test(raw)
          ? escapeLineBreaks(JSON.stringify(node.value))
          : raw;
      }
      case 'Identifier': {
        const name = node.name as string;
        if (name === hook || isAgentName(name)) throw new ExpressionError(`${name} is reserved for the agent`);
        identifiers.add(name);
        return name;
      }
      case 'ThisExpression':
        usesThis = true;
        return 'this';
      case 'TemplateLiteral': {
        const quasis = node.quasis as AnyNode[];
        const exprs = node.expressions as AnyNode[];
        let out = '`';
        quasis.forEach((q, i) => {
          const { raw, cooked } = q.value as { raw: string; cooked: string | null };
          out += LINE_BREAK.test(raw) && cooked !== null ? templateText(cooked) : raw;
          const e = exprs[i];
          if (e) out += '${' + print(e) + '}';
        });
        return out + '`';
      }
      case 'ArrayExpression':
        return '[' + (node.elements as (AnyNode | null)[]).map((e) => (e === null ? '' : print(e))).join(',') + ']';
      case 'ObjectExpression':
        return (
          '({' +
          (node.properties as AnyNode[])
            .map((p) => {
              if (p.type !== 'Property' || p.kind !== 'init' || p.method) {
                throw new ExpressionError('only plain `key: value` properties are allowed in object literals');
              }
              const key = p.key as AnyNode;
              const keyText = p.computed
                ? '[' + print(key) + ']'
                : key.type === 'Identifier'
                  ? (key.name as string)
                  : print(key);
              return keyText + ':' + print(p.value as AnyNode);
            })
            .join(',') +
          '})'
        );
      case 'MemberExpression': {
        const object = print(node.object as AnyNode);
        const property = node.property as AnyNode;
        if (property.type === 'PrivateIdentifier') throw new ExpressionError('private fields are not allowed');
        const q = node.optional ? '?.' : '';
        return node.computed
          ? `(${object})${q}[${print(property)}]`
          : `(${object})${q || '.'}${property.name as string}`;
      }
      case 'ParenthesizedExpression':
        return '(' + print(node.expression as AnyNode) + ')';
      case 'ChainExpression':
        return '(' + print(node.expression as AnyNode) + ')';
      case 'BinaryExpression':
        if (!BINARY.has(node.operator as string))
          throw new ExpressionError(`operator ${node.operator as string} is not allowed`);
        return `(${print(node.left as AnyNode)})${node.operator as string}(${print(node.right as AnyNode)})`;
      case 'LogicalExpression':
        return `(${print(node.left as AnyNode)})${node.operator as string}(${print(node.right as AnyNode)})`;
      case 'UnaryExpression':
        if (!UNARY.has(node.operator as string))
          throw new ExpressionError(`operator ${node.operator as string} is not allowed`);
        return `${node.operator as string} (${print(node.argument as AnyNode)})`;
      case 'ConditionalExpression':
        return `(${print(node.test as AnyNode)})?(${print(node.consequent as AnyNode)}):(${print(node.alternate as AnyNode)})`;
      case 'SequenceExpression':
        return '(' + (node.expressions as AnyNode[]).map(print).join(',') + ')';
      case 'CallExpression':
        return printCall(node);
      case 'AssignmentExpression':
        throw new ExpressionError('assignment is not allowed');
      case 'UpdateExpression':
        throw new ExpressionError(`${node.operator as string} is not allowed`);
      case 'NewExpression':
        throw new ExpressionError('new is not allowed');
      case 'AwaitExpression':
      case 'YieldExpression':
        throw new ExpressionError(`${node.type === 'AwaitExpression' ? 'await' : 'yield'} is not allowed`);
      case 'ImportExpression':
      case 'MetaProperty':
        throw new ExpressionError('import is not allowed');
      case 'ArrowFunctionExpression':
      case 'FunctionExpression':
      case 'ClassExpression':
        throw new ExpressionError('functions and classes are not allowed');
      case 'TaggedTemplateExpression':
        throw new ExpressionError('tagged templates are not allowed');
      default:
        throw new ExpressionError(`${node.type} is not allowed`);
    }
  };

  const printArgs = (args: AnyNode[]): string =>
    '[' +
    args
      .map((a) => {
        if (a.type === 'SpreadElement') throw new ExpressionError('spread arguments are not allowed');
        return print(a);
      })
      .join(',') +
    ']';

  const printCall = (node: AnyNode): string => {
    if (node.optional) throw new ExpressionError('optional calls are not allowed');
    const callee = node.callee as AnyNode;
    const args = node.arguments as AnyNode[];
    const name = dotted(callee);
    if (name !== undefined && Object.hasOwn(PURE_FUNCTIONS, name)) {
      return hookCall('f', [JSON.stringify(name), printArgs(args)], hook);
    }
    if (callee.type === 'MemberExpression' && !callee.computed && !callee.optional) {
      const method = (callee.property as AnyNode).name as string;
      if (PURE_METHOD_NAMES.has(method)) {
        return hookCall('m', [print(callee.object as AnyNode), JSON.stringify(method), printArgs(args)], hook);
      }
      throw new ExpressionError(
        `calling ${method}() is not allowed (allowed methods: ${[...PURE_METHOD_NAMES].join(', ')})`,
      );
    }
    throw new ExpressionError(
      `calling ${name ?? 'this function'} is not allowed (allowed: ${Object.keys(PURE_FUNCTIONS).join(', ')} and methods ${[...PURE_METHOD_NAMES].join(', ')})`,
    );
  };

  const code = print(ast);
  const root = ast;
  while (ast.type === 'ParenthesizedExpression') ast = ast.expression as AnyNode;
  let name: string | undefined;
  if (ast.type === 'Identifier') name = ast.name as string;
  else if (ast.type === 'MemberExpression' && !ast.computed) name = (ast.property as AnyNode).name as string;
  else if (ast.type === 'MemberExpression' && (ast.property as AnyNode).type === 'Literal')
    name = String((ast.property as AnyNode).value);
  return { source: text, code, identifiers, usesThis, name, ast: root };
}

/** Run an allowlisted static function (`H.f`). */
export function callPure(name: string, args: unknown[]): unknown {
  const fn = PURE_FUNCTIONS[name] as ((...a: unknown[]) => unknown) | undefined;
  if (!fn) throw new TypeError(`${name} is not allowed`);
  return fn(...args);
}

const LINE_BREAK = /[\n\r\u2028\u2029]/;

function escapeLineBreaks(text: string): string {
  return text
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A template literal's text written back on one line, with the same value. */
function templateText(cooked: string): string {
  return escapeLineBreaks(cooked.replace(/[\\`]/g, '\\$&').replace(/\$\{/g, '\\${'));
}

/** Longest string `padStart`/`padEnd` may build, and longest text `join` may build from its separators. */
export const MAX_BUILT_LENGTH = 10_000;

/**
 * Refuses calls whose result would be huge from a small expression (`''.padStart(5e8)` is 500 MB): the agent runs
 * inside the app's memory limit.
 */
export function checkMethodCost(receiver: unknown, name: string, args: readonly unknown[]): void {
  if (name === 'padStart' || name === 'padEnd') {
    const length = Number(args[0]);
    if (length > MAX_BUILT_LENGTH) throw new RangeError(`${name}: a length over ${MAX_BUILT_LENGTH} is not allowed`);
  } else if (name === 'join' && Array.isArray(receiver)) {
    const separator = args[0] === undefined ? 1 : typeof args[0] === 'string' ? args[0].length : 0;
    if (receiver.length * separator > MAX_BUILT_LENGTH * 100)
      throw new RangeError(`join: ${receiver.length} items with a ${separator}-character separator is too long`);
  }
}

/**
 * Run an allowlisted method (`H.m`) only if the receiver's method is the standard built-in: found by walking the
 * prototype chain through data properties only, so no getter or proxy trap runs. Arguments must be primitives (an
 * object argument would have its `toString` run), except for a Map's or Set's `has` and `get`.
 */
export function callMethod(receiver: unknown, name: string, args: unknown[]): unknown {
  if (receiver === null || receiver === undefined) throw new TypeError(`cannot call ${name} on ${String(receiver)}`);
  let obj: unknown = typeof receiver === 'object' || typeof receiver === 'function' ? receiver : Object(receiver);
  for (let depth = 0; obj !== null && depth < 32; depth++) {
    if (isProxy(obj)) throw new TypeError(`cannot call ${name} on a Proxy`);
    const d = Object.getOwnPropertyDescriptor(obj, name);
    if (d) {
      if (!('value' in d) || !PURE_METHODS.has(d.value)) throw new TypeError(`${name} is not a built-in method here`);
      if (name !== 'has' && name !== 'get')
        for (const arg of args)
          if (arg !== null && (typeof arg === 'object' || typeof arg === 'function'))
            throw new TypeError(`${name} takes primitive arguments only (an object would run its own toString)`);
      checkMethodCost(receiver, name, args);
      return (d.value as (...a: unknown[]) => unknown).apply(receiver, args);
    }
    obj = Object.getPrototypeOf(obj);
  }
  throw new TypeError(`${name} is not a method of this value`);
}

function isProxy(v: unknown): boolean {
  return types.isProxy(v);
}
