import { parseExpressionAt, type Node } from 'acorn';
import { PURE_FUNCTION_NAMES, PURE_METHOD_NAMES } from './pure-names.js';

/**
 * The language of conditions, log template parts, snapshot watches and gauge expressions: JavaScript expressions in
 * side-effect-free forms only. No assignment, update, delete, new, await, yield, import, functions or classes, and
 * calls only to a short allowlist of pure built-ins. The agent compiles accepted expressions into code (every call
 * routed through its hook, so a call can never reach a user function even if a name is shadowed); the hub, the CLI,
 * the console and MCP tools check the same syntax before an action exists, with the column of what is wrong.
 */

/** Longest accepted expression, condition or template part (characters). */
export const MAX_EXPRESSION_LENGTH = 500;

export { PURE_FUNCTION_NAMES, PURE_METHOD_NAMES, type PureFunctionName } from './pure-names.js';
const PURE_FUNCTION_SET: ReadonlySet<string> = new Set(PURE_FUNCTION_NAMES);

/** Why an expression is refused. `message` is what an action's error status says. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
  /** The reason without the position. */
  readonly reason: string;
  /** 1-based column in the (trimmed) expression of what is wrong, when there is one place. */
  readonly column: number | undefined;

  constructor(message: string, column?: number, reason?: string) {
    super(message);
    this.column = column;
    this.reason = reason ?? message;
  }
}

export interface CompiledExpression {
  /** The original text. */
  source: string;
  /** JavaScript text to evaluate in the frame (calls routed through the target's hook). */
  code: string;
  /** Free identifiers the expression reads (for the patch scope rule). */
  identifiers: ReadonlySet<string>;
  /** The expression uses `this`. */
  usesThis: boolean;
  /** The last name of an identifier or member expression (`user.password` → `password`), for redaction by name. */
  name?: string | undefined;
  /** The checked syntax tree (evaluated by the agent's `evaluateSafely` at a snapshot). */
  ast: unknown;
}

/** What the compiled code calls: the agent's hook object, and the names it keeps for itself. */
export interface ExpressionTarget {
  /** The text of a call of hook function `f` (static pure function) or `m` (pure method). */
  call(fn: 'f' | 'm', args: readonly string[]): string;
  /** Names an expression may not use (the agent's own globals and variables). */
  reserved?(name: string): boolean;
}

/** The target of a syntax check alone (the code is thrown away). */
const CHECK_TARGET: ExpressionTarget = { call: (fn, args) => `__spyglass.${fn}(${args.join(',')})` };

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
 * Parse and check one expression; throws ExpressionError with a message fit for an action's error status and, where
 * there is one, the column of what is wrong. Without a target, it checks only (the code calls a placeholder hook).
 */
export function compileExpression(source: string, target: ExpressionTarget = CHECK_TARGET): CompiledExpression {
  const text = source.trim();
  if (text.length === 0) throw new ExpressionError('empty expression');
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let ast: AnyNode;
  try {
    // Parsed as module code, the strictest place an expression can be compiled into: `await`, `yield`, `let`,
    // `static`, `implements`… are reserved words there and legacy octals are errors, which V8 would otherwise
    // report only when the patch is compiled (refusing, with it, every other patch of the same edit).
    ast = parseExpressionAt(text, 0, { ecmaVersion: 'latest', sourceType: 'module', preserveParens: true }) as AnyNode;
  } catch (err) {
    const e = err as Error & { pos?: unknown };
    const column = typeof e.pos === 'number' ? e.pos + 1 : undefined;
    throw new ExpressionError(
      `cannot parse ${JSON.stringify(text)}: ${e.message}`,
      column,
      e.message.replace(/ \(\d+:\d+\)$/, ''),
    );
  }
  if (ast.end !== text.length) {
    const after = text.slice(ast.end);
    throw new ExpressionError(
      `unexpected text after the expression at column ${ast.end + 1}: ${JSON.stringify(after)}`,
      ast.end + 1 + after.length - after.trimStart().length,
      `unexpected text after the expression: ${JSON.stringify(after.trimStart())}`,
    );
  }
  /** A refusal pointing at a node of the tree (its column in the expression). */
  const refuse = (node: AnyNode, message: string): ExpressionError => new ExpressionError(message, node.start + 1);
  const identifiers = new Set<string>();
  let usesThis = false;

  /** A name as printed into code, if the JavaScript engine running this check reads it as one. */
  const nameOf = (node: AnyNode): string => {
    const name = node.name as string;
    if (!IDENTIFIER.test(name))
      throw refuse(node, `${JSON.stringify(name)} is not a name this JavaScript engine knows (its Unicode is older)`);
    return name;
  };

  const print = (node: AnyNode): string => {
    switch (node.type) {
      case 'Literal': {
        if (node.regex) throw refuse(node, 'regular expression literals are not allowed');
        const raw = node.raw as string;
        // A patch must not add a line (every later line would move): a string written over several lines (`\` at a
        // line end, U+2028) is printed with escapes instead.
        return typeof node.value === 'string' && LINE_BREAK.test(raw)
          ? escapeLineBreaks(JSON.stringify(node.value))
          : raw;
      }
      case 'Identifier': {
        const name = nameOf(node);
        if (target.reserved?.(name) === true) throw refuse(node, `${name} is reserved for the agent`);
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
                throw refuse(p, 'only plain `key: value` properties are allowed in object literals');
              }
              const key = p.key as AnyNode;
              const keyText = p.computed
                ? '[' + print(key) + ']'
                : key.type === 'Identifier'
                  ? nameOf(key)
                  : print(key);
              return keyText + ':' + print(p.value as AnyNode);
            })
            .join(',') +
          '})'
        );
      case 'MemberExpression': {
        const object = print(node.object as AnyNode);
        const property = node.property as AnyNode;
        if (property.type === 'PrivateIdentifier') throw refuse(property, 'private fields are not allowed');
        const q = node.optional ? '?.' : '';
        return node.computed ? `(${object})${q}[${print(property)}]` : `(${object})${q || '.'}${nameOf(property)}`;
      }
      case 'ParenthesizedExpression':
        return '(' + print(node.expression as AnyNode) + ')';
      case 'ChainExpression':
        return '(' + print(node.expression as AnyNode) + ')';
      case 'BinaryExpression':
        if (!BINARY.has(node.operator as string))
          throw refuse(node, `operator ${node.operator as string} is not allowed`);
        return `(${print(node.left as AnyNode)})${node.operator as string}(${print(node.right as AnyNode)})`;
      case 'LogicalExpression':
        return `(${print(node.left as AnyNode)})${node.operator as string}(${print(node.right as AnyNode)})`;
      case 'UnaryExpression':
        if (!UNARY.has(node.operator as string))
          throw refuse(node, `operator ${node.operator as string} is not allowed`);
        return `${node.operator as string} (${print(node.argument as AnyNode)})`;
      case 'ConditionalExpression':
        return `(${print(node.test as AnyNode)})?(${print(node.consequent as AnyNode)}):(${print(node.alternate as AnyNode)})`;
      case 'SequenceExpression':
        return '(' + (node.expressions as AnyNode[]).map(print).join(',') + ')';
      case 'CallExpression':
        return printCall(node);
      case 'AssignmentExpression':
        throw refuse(node, 'assignment is not allowed');
      case 'UpdateExpression':
        throw refuse(node, `${node.operator as string} is not allowed`);
      case 'NewExpression':
        throw refuse(node, 'new is not allowed');
      case 'AwaitExpression':
      case 'YieldExpression':
        throw refuse(node, `${node.type === 'AwaitExpression' ? 'await' : 'yield'} is not allowed`);
      case 'ImportExpression':
      case 'MetaProperty':
        throw refuse(node, 'import is not allowed');
      case 'ArrowFunctionExpression':
      case 'FunctionExpression':
      case 'ClassExpression':
        throw refuse(node, 'functions and classes are not allowed');
      case 'TaggedTemplateExpression':
        throw refuse(node, 'tagged templates are not allowed');
      default:
        throw refuse(node, `${node.type} is not allowed`);
    }
  };

  const printArgs = (args: AnyNode[]): string =>
    '[' +
    args
      .map((a) => {
        if (a.type === 'SpreadElement') throw refuse(a, 'spread arguments are not allowed');
        return print(a);
      })
      .join(',') +
    ']';

  const printCall = (node: AnyNode): string => {
    if (node.optional) throw refuse(node, 'optional calls are not allowed');
    const callee = node.callee as AnyNode;
    const args = node.arguments as AnyNode[];
    const name = dotted(callee);
    if (name !== undefined && PURE_FUNCTION_SET.has(name)) {
      return target.call('f', [JSON.stringify(name), printArgs(args)]);
    }
    if (callee.type === 'MemberExpression' && !callee.computed && !callee.optional) {
      const method = (callee.property as AnyNode).name as string;
      if (PURE_METHOD_NAMES.has(method)) {
        return target.call('m', [print(callee.object as AnyNode), JSON.stringify(method), printArgs(args)]);
      }
      throw refuse(
        callee.property as AnyNode,
        `calling ${method}() is not allowed (allowed methods: ${[...PURE_METHOD_NAMES].join(', ')})`,
      );
    }
    throw refuse(
      callee,
      `calling ${name ?? 'this function'} is not allowed (allowed: ${PURE_FUNCTION_NAMES.join(', ')} and methods ${[...PURE_METHOD_NAMES].join(', ')})`,
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

const LINE_BREAK = /[\n\r\u2028\u2029]/;
/**
 * An identifier by the Unicode tables of the engine this runs in. The parser's tables can be newer than the
 * engine's (a letter added in a later Unicode version): such a name parses here and would not compile in the app,
 * where a patch that does not compile is refused with every other patch of its edit. The agent checks in the app's
 * own engine.
 */
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

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
