import { PURE_METHOD_NAMES } from '@spyglass/protocol/agent-base';
import { compileExpression as compileWith, type CompiledExpression } from '@spyglass/protocol/agent-core';
import { types } from 'node:util';
import { PURE_FUNCTIONS } from './pure.js';
import { hookCall } from './hooks.js';
import { isAgentName } from './names.js';

/**
 * Expressions and conditions are parsed and checked by `@spyglass/protocol`'s `compileExpression` (the hub checks
 * the same syntax before an action exists) and accepted only in side-effect-free forms; accepted expressions are
 * re-printed with every call routed through the agent hook (`H.f` for static built-ins, `H.m` for methods), so a call
 * can never reach a user function even if a name is shadowed. This module holds what runs: the pure functions and
 * methods an expression may call.
 */

export { ExpressionError, dotted, type CompiledExpression } from '@spyglass/protocol/agent-core';
export { PURE_METHOD_NAMES } from '@spyglass/protocol/agent-base';
export { PURE_FUNCTIONS } from './pure.js';

/** The built-in functions `H.m` will call: every allowlisted name found on a standard prototype. */
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

export const PURE_METHODS: ReadonlySet<unknown> = new Set(
  PROTOTYPES.flatMap((proto) =>
    [...PURE_METHOD_NAMES].flatMap((name) => {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      return d && typeof d.value === 'function' ? [d.value as unknown] : [];
    }),
  ),
);

/**
 * Parse and check one expression; throws ExpressionError with a message fit for an action's error status.
 * `hook` is the global name of the agent hook object the generated code calls.
 */
export function compileExpression(source: string, hook: string): CompiledExpression {
  return compileWith(source, {
    call: (fn, args) => hookCall(fn, args, hook),
    reserved: (name) => name === hook || isAgentName(name),
  });
}

/** Run an allowlisted static function (`H.f`). */
export function callPure(name: string, args: unknown[]): unknown {
  const fn = PURE_FUNCTIONS[name] as ((...a: unknown[]) => unknown) | undefined;
  if (!fn) throw new TypeError(`${name} is not allowed`);
  return fn(...args);
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
