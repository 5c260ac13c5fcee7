/* eslint-disable @typescript-eslint/unbound-method -- built-ins are taken once and always called with an explicit receiver */
import { types } from 'node:util';
import { PURE_FUNCTIONS, PURE_METHODS, checkMethodCost, dotted } from './expression.js';
import { applyFn, className, defineProperty, isArray, isProxy, ownDescriptor, ownKeys, protoOf } from './safe.js';

/**
 * Evaluates a checked expression (see `compileExpression`) at a snapshot, in the agent, against the paused frame's
 * scope objects — without running any code of the app. Where V8's `throwOnSideEffect` would let side-effect-free
 * app code run (and deoptimises the whole isolate to check it), this evaluator runs none at all:
 * - variables and properties are read through own property descriptors; a getter is an error ("getter not run"),
 *   except the built-in getters of Map/Set `size`, typed array and ArrayBuffer lengths, which read internal state;
 * - proxies are never opened;
 * - operators other than `===`, `!==`, `!`, `typeof`, `void`, `&&`, `||`, `??` and `?:` accept primitives only
 *   (on an object they would call its `valueOf`/`toString`/`Symbol.toPrimitive`), and so do template literals;
 * - calls are the allowlist's: static functions with primitive arguments (and `Array.isArray`, `Object.keys` of a
 *   non-proxy, `Boolean` on anything); methods of primitives, of real Maps and Sets (`has`, `get`), of real Dates,
 *   and of arrays through a copy of their data elements.
 */

export interface EvalEnv {
  /** Scope objects, innermost first (local, block, closure, script, module, global). */
  scopes: readonly object[];
  thisValue: unknown;
}

type AnyNode = { type: string } & Record<string, unknown>;

const SHORT = Symbol('optional chain short-circuit');
const setHas = Set.prototype.has;
const inSet = (set: ReadonlySet<unknown>, v: unknown): boolean => applyFn(setHas as never, set, [v]) === true;

const SAFE_GETTERS: ReadonlySet<unknown> = new Set(
  (
    [
      [Map.prototype, 'size'],
      [Set.prototype, 'size'],
      [Object.getPrototypeOf(Uint8Array.prototype) as object, 'length'],
      [Object.getPrototypeOf(Uint8Array.prototype) as object, 'byteLength'],
      [ArrayBuffer.prototype, 'byteLength'],
      [Symbol.prototype, 'description'],
    ] as [object, string][]
  ).map(([proto, key]) => Object.getOwnPropertyDescriptor(proto, key)?.get),
);
const OBJECT_ARG_FUNCTIONS = new Set(['Array.isArray', 'Boolean', 'Object.keys']);
const ARRAY_METHODS = new Set(['includes', 'indexOf', 'lastIndexOf', 'at', 'slice', 'join']);
const MAX_ARRAY_COPY = 100_000;

const isObject = (v: unknown): v is object => (typeof v === 'object' && v !== null) || typeof v === 'function';

function noCode(what: string): TypeError {
  return new TypeError(`${what} could run code of the app; not evaluated`);
}

/** Own-or-inherited property of a value, read without getters or traps. */
function getProperty(target: unknown, key: PropertyKey): unknown {
  if (target === null || target === undefined) {
    throw new TypeError(`Cannot read properties of ${String(target)} (reading '${describeKey(key)}')`);
  }
  if (typeof target === 'string') {
    if (key === 'length') return target.length;
    if (typeof key === 'string' || typeof key === 'number') {
      const i = Number(key);
      if (Number.isInteger(i) && i >= 0 && `${i}` === `${key}`) return target[i];
    }
  }
  let obj: unknown = isObject(target) ? target : protoOfPrimitive(target);
  for (let depth = 0; obj !== null && obj !== undefined && depth < 64; depth++) {
    if (isProxy(obj)) throw new TypeError(`a Proxy is not opened (reading '${describeKey(key)}')`);
    const d = ownDescriptor(obj, key);
    if (d) {
      if ('value' in d) return d.value;
      if (d.get && inSet(SAFE_GETTERS, d.get)) return applyFn(d.get as never, target, []);
      throw new TypeError(`${describeKey(key)} is a getter (not run)`);
    }
    obj = protoOf(obj);
  }
  return undefined;
}

function protoOfPrimitive(v: unknown): object | null {
  switch (typeof v) {
    case 'string':
      return String.prototype;
    case 'number':
      return Number.prototype;
    case 'boolean':
      return Boolean.prototype;
    case 'bigint':
      return BigInt.prototype;
    case 'symbol':
      return Symbol.prototype;
    case 'undefined':
    case 'object':
    case 'function':
      return null;
  }
}

function describeKey(key: PropertyKey): string {
  return typeof key === 'symbol' ? 'a symbol' : `${key}`;
}

function propertyKey(v: unknown): PropertyKey {
  if (isObject(v)) throw noCode('an object used as a property key (toString)');
  return typeof v === 'symbol' ? v : `${v as string}`;
}

function readVariable(env: EvalEnv, name: string): unknown {
  const scopes = env.scopes;
  for (let k = 0; k < scopes.length; k++) {
    const scope = scopes[k] as object;
    if (isProxy(scope)) continue;
    const d = ownDescriptor(scope, name);
    if (!d) continue;
    if ('value' in d) return d.value;
    throw new TypeError(`${name} is a getter (not run)`);
  }
  throw new ReferenceError(`${name} is not defined`);
}

function binary(op: string, l: unknown, r: unknown): unknown {
  if (op === '===') return l === r;
  if (op === '!==') return l !== r;
  if (isObject(l) || isObject(r)) {
    if (op === '==' || op === '!=') {
      // Object with object, or with null/undefined: identity, no conversion.
      const lo = isObject(l);
      const ro = isObject(r);
      if ((lo && ro) || (lo ? r === null || r === undefined : l === null || l === undefined))
        return op === '==' ? l === r : l !== r;
    }
    throw noCode(`the operator ${op} on an object (valueOf/toString)`);
  }
  // Primitives only: JavaScript's own operator semantics (typed as numbers for the compiler's sake).
  const a = l as number;
  const b = r as number;
  switch (op) {
    case '==':
      return a == b;
    case '!=':
      return a != b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '**':
      return a ** b;
    case '|':
      return a | b;
    case '^':
      return a ^ b;
    case '&':
      return a & b;
    case '<<':
      return a << b;
    case '>>':
      return a >> b;
    case '>>>':
      return a >>> b;
    default:
      throw new TypeError(`operator ${op} is not allowed`);
  }
}

/** A copy of an array's data elements (holes are undefined); an accessor element or a proxy stops it. */
function arrayCopy(arr: unknown[]): unknown[] {
  const len = arr.length;
  if (len > MAX_ARRAY_COPY) throw new TypeError(`array of ${len} items is too long to evaluate on`);
  const out: unknown[] = [];
  for (let i = 0; i < len; i++) {
    const d = ownDescriptor(arr, i);
    if (d && !('value' in d)) throw new TypeError(`item ${i} is a getter (not run)`);
    out[i] = d ? d.value : undefined;
  }
  return out;
}

function findMethod(receiver: unknown, name: string): (...a: unknown[]) => unknown {
  let obj: unknown = isObject(receiver) ? receiver : protoOfPrimitive(receiver);
  for (let depth = 0; obj !== null && obj !== undefined && depth < 64; depth++) {
    if (isProxy(obj)) throw new TypeError(`cannot call ${name} on a Proxy`);
    const d = ownDescriptor(obj, name);
    if (d) {
      if (!('value' in d) || !inSet(PURE_METHODS, d.value))
        throw new TypeError(`${name} is not a built-in method here`);
      return d.value as (...a: unknown[]) => unknown;
    }
    obj = protoOf(obj);
  }
  throw new TypeError(`${name} is not a method of this value`);
}

function callMethodSafely(receiver: unknown, name: string, args: unknown[]): unknown {
  if (receiver === null || receiver === undefined) throw new TypeError(`cannot call ${name} on ${String(receiver)}`);
  const fn = findMethod(receiver, name);
  const objectArgsOk = isObject(receiver) && (types.isMap(receiver) || types.isSet(receiver));
  if (!objectArgsOk)
    for (let k = 0; k < args.length; k++) if (isObject(args[k])) throw noCode(`${name} with an object`);
  if (!objectArgsOk) checkMethodCost(receiver, name, args);
  if (!isObject(receiver)) return applyFn(fn, receiver, args);
  if (types.isMap(receiver) || types.isSet(receiver)) {
    if (name !== 'has' && name !== 'get') throw noCode(`${name} on a ${className(receiver)}`);
    return applyFn(fn, receiver, args);
  }
  if (types.isDate(receiver)) {
    if (name !== 'getTime' && name !== 'toISOString' && name !== 'toString') throw noCode(`${name} on a Date`);
    return applyFn(fn, receiver, args);
  }
  if (isArray(receiver) && inSet(ARRAY_METHODS, name)) {
    const copy = arrayCopy(receiver);
    if (name === 'join') for (let i = 0; i < copy.length; i++) if (isObject(copy[i])) throw noCode('join of objects');
    return applyFn(fn, copy, args);
  }
  throw noCode(`${name} on a ${className(receiver)}`);
}

/** Evaluate a tree made by `compileExpression`; throws the reason as an Error. */
export function evaluateSafely(ast: unknown, env: EvalEnv): unknown {
  const ev = (node: AnyNode): unknown => {
    switch (node.type) {
      case 'Literal':
        return node.value;
      case 'Identifier':
        return readVariable(env, node.name as string);
      case 'ThisExpression':
        return env.thisValue;
      case 'ParenthesizedExpression':
        return ev(node.expression as AnyNode);
      case 'ChainExpression': {
        const r = ev(node.expression as AnyNode);
        return r === SHORT ? undefined : r;
      }
      case 'TemplateLiteral': {
        const quasis = node.quasis as AnyNode[];
        const exprs = node.expressions as AnyNode[];
        let out = '';
        for (let k = 0; k < quasis.length; k++) {
          out += (quasis[k]?.value as { cooked: string | null }).cooked ?? '';
          const e = exprs[k];
          if (e) {
            const v = ev(e);
            if (isObject(v)) throw noCode('an object in a template literal (toString)');
            if (typeof v === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
            out += `${v as string}`;
          }
        }
        return out;
      }
      case 'ArrayExpression': {
        const out: unknown[] = [];
        const els = node.elements as (AnyNode | null)[];
        for (let k = 0; k < els.length; k++) {
          const e = els[k];
          out[k] = e ? ev(e) : undefined;
        }
        return out;
      }
      case 'ObjectExpression': {
        const out: Record<PropertyKey, unknown> = {};
        const props = node.properties as AnyNode[];
        for (let k = 0; k < props.length; k++) {
          const p = props[k] as AnyNode;
          const key = p.key as AnyNode;
          const name: PropertyKey = p.computed
            ? propertyKey(ev(key))
            : key.type === 'Identifier'
              ? (key.name as string)
              : propertyKey(key.value);
          defineProperty(out, name, {
            value: ev(p.value as AnyNode),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
      case 'MemberExpression': {
        const object = ev(node.object as AnyNode);
        if (object === SHORT) return SHORT;
        if (node.optional && (object === null || object === undefined)) return SHORT;
        const property = node.property as AnyNode;
        const key = node.computed ? propertyKey(ev(property)) : (property.name as string);
        return getProperty(object, key);
      }
      case 'BinaryExpression':
        return binary(node.operator as string, ev(node.left as AnyNode), ev(node.right as AnyNode));
      case 'LogicalExpression': {
        const l = ev(node.left as AnyNode);
        switch (node.operator) {
          case '&&':
            return l ? ev(node.right as AnyNode) : l;
          case '||':
            return l ? l : ev(node.right as AnyNode);
          default:
            return l ?? ev(node.right as AnyNode);
        }
      }
      case 'UnaryExpression': {
        const v = ev(node.argument as AnyNode);
        switch (node.operator) {
          case 'typeof':
            return typeof v;
          case 'void':
            return undefined;
          case '!':
            return !v;
        }
        if (isObject(v)) throw noCode(`the operator ${node.operator as string} on an object (valueOf)`);
        const a = v as number; // a primitive
        switch (node.operator) {
          case '-':
            return -a;
          case '+':
            return +a;
          case '~':
            return ~a;
        }
        throw new TypeError(`operator ${node.operator as string} is not allowed`);
      }
      case 'ConditionalExpression':
        return ev(node.test as AnyNode) ? ev(node.consequent as AnyNode) : ev(node.alternate as AnyNode);
      case 'SequenceExpression': {
        const list = node.expressions as AnyNode[];
        let last: unknown;
        for (let k = 0; k < list.length; k++) last = ev(list[k] as AnyNode);
        return last;
      }
      case 'CallExpression': {
        const callee = node.callee as AnyNode;
        const argNodes = node.arguments as AnyNode[];
        const args: unknown[] = [];
        const name = dotted(callee);
        if (name !== undefined && Object.hasOwn(PURE_FUNCTIONS, name)) {
          for (let k = 0; k < argNodes.length; k++) args[k] = ev(argNodes[k] as AnyNode);
          const fn = PURE_FUNCTIONS[name] as (...a: unknown[]) => unknown;
          for (let k = 0; k < args.length; k++) {
            const a = args[k];
            if (!isObject(a)) continue;
            if (!inSet(OBJECT_ARG_FUNCTIONS, name) || isProxy(a)) throw noCode(`${name} of an object`);
          }
          if (name === 'Object.keys') return isObject(args[0]) ? ownKeys(args[0]) : applyFn(fn, undefined, args);
          return applyFn(fn, undefined, args);
        }
        if (callee.type !== 'MemberExpression' || callee.computed) throw new TypeError('this call is not allowed');
        const receiver = ev(callee.object as AnyNode);
        if (receiver === SHORT) return SHORT;
        for (let k = 0; k < argNodes.length; k++) args[k] = ev(argNodes[k] as AnyNode);
        return callMethodSafely(receiver, (callee.property as AnyNode).name as string, args);
      }
      default:
        throw new TypeError(`${node.type} is not allowed`);
    }
  };
  const r = ev(ast as AnyNode);
  return r === SHORT ? undefined : r;
}
