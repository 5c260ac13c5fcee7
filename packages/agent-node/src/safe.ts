/* eslint-disable @typescript-eslint/unbound-method -- built-ins are taken once and always called with an explicit receiver */
import { types } from 'node:util';

/**
 * Reading the host's values without running any of its code. Every built-in used here is taken when the agent
 * loads (before the app), so an app that later replaces `Object.keys`, `Map.prototype.entries`, the iterator
 * protocol or `Date.prototype.toISOString` cannot be called through the agent. Values are read through own property
 * descriptors (getters are never called), proxies are recognised and never opened (no trap runs), and nothing
 * calls `toString`, `valueOf`, `Symbol.toStringTag` or `Symbol.iterator` of a value.
 */

type AnyFn = (...args: unknown[]) => unknown;
const uncurry =
  (fn: AnyFn) =>
  (self: unknown, ...args: unknown[]): unknown =>
    REFLECT_APPLY(fn, self, args);

const REFLECT_APPLY = Reflect.apply as (fn: AnyFn, self: unknown, args: unknown[]) => unknown;
export const ownDescriptor = Object.getOwnPropertyDescriptor as (
  o: object,
  key: PropertyKey,
) => PropertyDescriptor | undefined;
export const ownKeys = Object.keys;
export const ownPropertyKeys = Reflect.ownKeys as (o: object) => PropertyKey[];
const getPrototypeOf = Object.getPrototypeOf as (o: object) => unknown;
export const defineProperty = Object.defineProperty;
export const isArray = Array.isArray;
export const applyFn = REFLECT_APPLY;
const isProxyType = types.isProxy;
const numberIsNaN = Number.isNaN;
const StringCtor = String;

const getterOf = (proto: object, key: PropertyKey): AnyFn => {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get as AnyFn | undefined;
  return get ? uncurry(get) : () => undefined;
};
const methodOf = (proto: object, key: PropertyKey): AnyFn => uncurry(Reflect.get(proto, key) as AnyFn);

const TYPED_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as object;
export const mapSize = getterOf(Map.prototype, 'size') as (m: unknown) => number;
export const setSize = getterOf(Set.prototype, 'size') as (s: unknown) => number;
export const typedLength = getterOf(TYPED_PROTO, 'length') as (t: unknown) => number;
const mapEntriesOf = methodOf(Map.prototype, 'entries');
const setValuesOf = methodOf(Set.prototype, 'values');
const mapIterNext = methodOf(Object.getPrototypeOf(new Map().entries()) as object, 'next');
const setIterNext = methodOf(Object.getPrototypeOf(new Set().values()) as object, 'next');
const dateGetTime = methodOf(Date.prototype, 'getTime') as (d: unknown) => number;
const dateToISO = methodOf(Date.prototype, 'toISOString') as (d: unknown) => string;
const regexpSource = getterOf(RegExp.prototype, 'source') as (r: unknown) => string;
const REGEXP_FLAGS: [string, AnyFn][] = (
  [
    ['d', 'hasIndices'],
    ['g', 'global'],
    ['i', 'ignoreCase'],
    ['m', 'multiline'],
    ['s', 'dotAll'],
    ['u', 'unicode'],
    ['v', 'unicodeSets'],
    ['y', 'sticky'],
  ] as const
)
  .filter(([, key]) => Object.getOwnPropertyDescriptor(RegExp.prototype, key)?.get)
  .map(([flag, key]) => [flag, getterOf(RegExp.prototype, key)]);
const symbolToString = methodOf(Symbol.prototype, 'toString') as (s: unknown) => string;
export const stringSlice = methodOf(String.prototype, 'slice') as (s: string, a: number, b?: number) => string;
export const jsonStringify = JSON.stringify;

export const isProxy = (v: unknown): boolean => isProxyType(v);

/** The prototype of a non-proxy object (a proxy's prototype is not asked: that is a trap). */
export function protoOf(obj: object): unknown {
  if (isProxyType(obj)) return null;
  try {
    return getPrototypeOf(obj);
  } catch {
    return null;
  }
}

/** Own data value or undefined; never a getter, never a trap. */
export function dataValue(obj: object, key: PropertyKey): unknown {
  if (isProxyType(obj)) return undefined;
  let d: PropertyDescriptor | undefined;
  try {
    d = ownDescriptor(obj, key);
  } catch {
    return undefined;
  }
  return d && 'value' in d ? d.value : undefined;
}

/** A function's own `name` when it is a data property. */
export function functionName(fn: unknown): string {
  if (typeof fn !== 'function') return 'Object';
  const n = dataValue(fn, 'name');
  return typeof n === 'string' && n ? n : 'anonymous';
}

/** Class name from the prototype's `constructor` data property: no getter, no proxy trap, no `Symbol.toStringTag`. */
export function className(obj: object): string {
  const proto = protoOf(obj);
  if (proto === null || typeof proto !== 'object') return 'Object';
  if (isProxyType(proto)) return 'Object';
  const ctor = dataValue(proto, 'constructor');
  return ctor === undefined ? 'Object' : functionName(ctor);
}

export const symbolText = (s: symbol): string => symbolToString(s);

export function dateText(d: object): string {
  const t = dateGetTime(d);
  return numberIsNaN(t) ? 'Invalid Date' : dateToISO(d);
}

export function regexpText(r: object): string {
  let flags = '';
  for (let k = 0; k < REGEXP_FLAGS.length; k++) {
    const f = REGEXP_FLAGS[k];
    if (f && f[1](r) === true) flags += f[0];
  }
  return `/${regexpSource(r)}/${flags}`;
}

/** Up to `max` entries of a real Map (`[key, value]`) through the built-in iterator taken at load. */
export function mapEntries(m: object, max: number): [unknown, unknown][] {
  const out: [unknown, unknown][] = [];
  const it = mapEntriesOf(m);
  while (out.length < max) {
    const step = mapIterNext(it) as { done: boolean; value: [unknown, unknown] };
    if (step.done) break;
    out[out.length] = step.value;
  }
  return out;
}

/** Up to `max` values of a real Set. */
export function setValues(s: object, max: number): unknown[] {
  const out: unknown[] = [];
  const it = setValuesOf(s);
  while (out.length < max) {
    const step = setIterNext(it) as { done: boolean; value: unknown };
    if (step.done) break;
    out[out.length] = step.value;
  }
  return out;
}

/** Text of a primitive without calling anything of the app (symbols through the built-in taken at load). */
export function primitiveText(v: unknown): string {
  return typeof v === 'symbol' ? symbolToString(v) : StringCtor(v);
}

/** `Name: message` of a thrown value, read without getters (an app can throw anything). */
export function thrownText(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    if (isProxyType(err)) return 'a Proxy was thrown';
    const message = types.isNativeError(err) ? dataValue(err, 'message') : undefined;
    let name = dataValue(err, 'name');
    for (let p = protoOf(err), k = 0; name === undefined && p !== null && typeof p === 'object' && k < 8; k++) {
      name = dataValue(p, 'name');
      p = protoOf(p);
    }
    const n = typeof name === 'string' ? name : className(err);
    return typeof message === 'string' ? `${n}: ${message}` : `${n} thrown`;
  }
  return primitiveText(err);
}
