import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPTURE_LIMITS } from '@spyglass/protocol';
import { Capturer } from './capture.js';
import { evaluateSafely } from './evaluate.js';
import { compileExpression } from './expression.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES, Redactor } from './redact.js';
import { DEFAULT_RENDER_LIMITS, renderValue } from './render.js';

/**
 * Nothing of the app may run while the agent reads its values: every hook below records a call, and each test
 * expects none.
 */
const redactor = new Redactor({ names: DEFAULT_REDACT_NAMES, values: DEFAULT_REDACT_VALUES });
let ran: string[] = [];
/** Records the call (an app's hook may do anything; throwing here would hide calls behind error handling). */
const trap =
  (what: string) =>
  (..._args: unknown[]): undefined => {
    ran.push(what);
    return undefined;
  };

function hostile(): Record<string, unknown> {
  const allTraps: ProxyHandler<object> = {};
  for (const t of [
    'get',
    'set',
    'has',
    'ownKeys',
    'getOwnPropertyDescriptor',
    'getPrototypeOf',
    'defineProperty',
    'deleteProperty',
    'apply',
    'construct',
    'isExtensible',
    'preventExtensions',
    'setPrototypeOf',
  ] as const)
    (allTraps as Record<string, unknown>)[t] = trap(`proxy ${t}`);
  const proxy = new Proxy({}, allTraps);
  const proxyFn = new Proxy(function f() {}, allTraps);

  const getter: Record<string, unknown> = { plain: 1 };
  Object.defineProperty(getter, 'g', { enumerable: true, get: trap('getter') });
  const conv = {
    toString: trap('toString'),
    valueOf: trap('valueOf'),
    [Symbol.toPrimitive]: trap('toPrimitive'),
    toJSON: trap('toJSON'),
  };
  class Tagged {
    x = 1;
    get [Symbol.toStringTag](): string {
      trap('toStringTag')();
      return 'Tagged';
    }
  }
  const ctorGetterProto = {};
  Object.defineProperty(ctorGetterProto, 'constructor', { get: trap('constructor getter') });
  const protoIsProxy = Object.create(new Proxy({}, allTraps)) as object;
  const map = new Map<unknown, unknown>([
    ['a', 1],
    [conv, 2],
  ]);
  Object.defineProperty(map, Symbol.iterator, { value: trap('map iterator') });
  Object.defineProperty(map, 'entries', { value: trap('map entries') });
  Object.defineProperty(map, 'size', { get: trap('map size') });
  const set = new Set([1, conv]);
  Object.defineProperty(set, Symbol.iterator, { value: trap('set iterator') });
  Object.defineProperty(set, 'values', { value: trap('set values') });
  const date = new Date(0);
  Object.defineProperty(date, 'getTime', { value: trap('date getTime') });
  Object.defineProperty(date, 'toISOString', { value: trap('date toISOString') });
  const err = new TypeError('bad');
  Object.defineProperty(err, 'message', { get: trap('error message') });
  Object.defineProperty(err, 'constructor', { get: trap('error constructor') });
  const re = /x+/g;
  Object.defineProperty(re, 'source', { get: trap('regexp source') });
  Object.defineProperty(re, 'global', { get: trap('regexp global') });
  Object.defineProperty(re, 'flags', { get: trap('regexp flags') });
  Object.defineProperty(re, 'toString', { value: trap('regexp toString') });
  const arr: unknown[] = [1, 2, 3];
  Object.defineProperty(arr, 1, { enumerable: true, get: trap('array index getter') });
  Object.defineProperty(arr, Symbol.iterator, { value: trap('array iterator') });
  const fn = function named(): void {};
  Object.defineProperty(fn, 'name', { get: trap('function name') });
  const sym = Symbol('s');
  const typed = new Uint8Array([1, 2]);
  Object.defineProperty(typed, 'length', { get: trap('typed length') });
  return {
    proxy,
    proxyFn,
    getter,
    conv,
    tagged: new Tagged(),
    ctorGetter: Object.create(ctorGetterProto) as object,
    protoIsProxy,
    map,
    set,
    date,
    err,
    re,
    arr,
    fn,
    sym,
    typed,
    nested: { deeper: { conv, proxy } },
  };
}

/** Built-ins an app could replace after the agent loaded. */
const MAP_ITERATOR = Object.getPrototypeOf(new Map().entries()) as object;
const SET_ITERATOR = Object.getPrototypeOf(new Set().values()) as object;
const saved: [object, PropertyKey, PropertyDescriptor][] = [];
const getDescriptor = Object.getOwnPropertyDescriptor;
const define = Object.defineProperty;
function restoreBuiltins(): void {
  for (let k = saved.length - 1; k >= 0; k--) {
    const [obj, key, d] = saved[k]!;
    define(obj, key, d);
  }
  saved.length = 0;
}
function replaceBuiltins(): void {
  const replace = (obj: object, key: PropertyKey, what: string): void => {
    const d = getDescriptor(obj, key);
    if (!d) return;
    saved.push([obj, key, d]);
    const next: PropertyDescriptor = { configurable: true, enumerable: d.enumerable ?? false };
    if ('value' in d) {
      next.value = trap(what);
      next.writable = true;
    } else next.get = trap(what);
    define(obj, key, next);
  };
  replace(Object, 'keys', 'Object.keys');
  replace(Object, 'getOwnPropertyDescriptor', 'Object.getOwnPropertyDescriptor');
  replace(Object, 'getPrototypeOf', 'Object.getPrototypeOf');
  replace(Reflect, 'ownKeys', 'Reflect.ownKeys');
  replace(Map.prototype, 'entries', 'Map.prototype.entries');
  replace(Set.prototype, 'values', 'Set.prototype.values');
  replace(MAP_ITERATOR, 'next', 'MapIterator.next');
  replace(SET_ITERATOR, 'next', 'SetIterator.next');
  replace(Date.prototype, 'toISOString', 'Date.prototype.toISOString');
  replace(Date.prototype, 'getTime', 'Date.prototype.getTime');
  replace(Symbol.prototype, 'toString', 'Symbol.prototype.toString');
  replace(Symbol.prototype, 'description', 'Symbol.prototype.description');
  replace(RegExp.prototype, 'toString', 'RegExp.prototype.toString');
  replace(RegExp.prototype, 'flags', 'RegExp.prototype.flags');
  replace(String.prototype, 'slice', 'String.prototype.slice');
  replace(JSON, 'stringify', 'JSON.stringify');
}

describe('reading values runs no code of the app', () => {
  it('snapshot capture: getters, proxies, conversions, tags, iterators, replaced built-ins', () => {
    const values = hostile();
    ran = [];
    let tree;
    try {
      replaceBuiltins();
      const c = new Capturer({ ...DEFAULT_CAPTURE_LIMITS, maxDepth: 4 }, redactor);
      tree = c.entries(values);
    } finally {
      restoreBuiltins();
    }
    expect(ran).toEqual([]);
    const find = (name: string) => tree.find((v) => v.name === name);
    expect(find('proxy')).toMatchObject({ className: 'Proxy' });
    expect(find('proxyFn')).toMatchObject({ value: 'Proxy' });
    expect(find('getter')?.children?.find((v) => v.name === 'g')).toMatchObject({ error: 'getter not run' });
    expect(find('tagged')).toMatchObject({ className: 'Tagged' });
    expect(find('ctorGetter')).toMatchObject({ className: 'Object' });
    expect(find('protoIsProxy')).toMatchObject({ className: 'Object' });
    expect(find('map')).toMatchObject({ className: 'Map', size: 2 });
    expect(find('map')?.children?.[0]).toMatchObject({ name: 'a', value: '1' });
    expect(find('set')).toMatchObject({ className: 'Set', size: 2 });
    expect(find('date')).toMatchObject({ value: '1970-01-01T00:00:00.000Z' });
    expect(find('err')).toMatchObject({ value: 'TypeError: ' });
    expect(find('re')).toMatchObject({ value: '/x+/g' });
    expect(find('arr')?.children?.[1]).toMatchObject({ error: 'getter not run' });
    expect(find('fn')).toMatchObject({ className: 'Function', value: 'anonymous' });
    expect(find('sym')).toMatchObject({ value: 'Symbol(s)' });
    expect(find('typed')).toMatchObject({ size: 2 });
  });

  it('log rendering: the same hostile values', () => {
    const values = hostile();
    ran = [];
    const out: string[] = [];
    try {
      replaceBuiltins();
      for (const v of Object.values(values))
        out.push(renderValue(v, { ...DEFAULT_RENDER_LIMITS, maxDepth: 4 }, redactor));
    } finally {
      restoreBuiltins();
    }
    expect(ran).toEqual([]);
    expect(out).toContain('[Proxy]');
    expect(out).toContain('1970-01-01T00:00:00.000Z');
    expect(out).toContain('/x+/g');
    expect(out.find((o) => o.startsWith('Map(2) {"a" => 1, '))).toBeDefined();
    expect(out).toContain('TypeError: ');
    expect(out).toContain('[1, [Getter], 3]');
  });

  it('watch expressions: evaluated without getters, traps, conversions or user methods', () => {
    const values = hostile();
    const scope = { ...values, n: 4, s: 'abc', list: [1, 2, 3], m: new Map([['k', 'v']]), user: { name: 'ann' } };
    const sources = [
      'getter.g',
      'proxy.x',
      'proxy?.x',
      'conv + 1',
      '`${conv}`',
      'conv == 1',
      '-conv',
      'String(conv)',
      'JSON.stringify(conv)',
      'conv.toString()',
      'tagged.toString()',
      'arr.includes(2)',
      'arr.join()',
      'map.size',
      'date.getTime()',
      'fn.name',
      'list[conv]',
      's.includes(conv)',
      'Object.keys(proxy)',
    ];
    // Compiled before the built-ins are replaced: compiling is not part of a capture.
    const compiled = sources.map((src) => compileExpression(src, '__spyglass').ast);
    ran = [];
    const results: Record<string, { value?: unknown; error?: string }> = {};
    try {
      replaceBuiltins();
      sources.forEach((src, k) => {
        try {
          results[src] = { value: evaluateSafely(compiled[k], { scopes: [scope, globalThis], thisValue: undefined }) };
        } catch (err) {
          results[src] = { error: `${(err as Error).name}: ${(err as Error).message}` };
        }
      });
    } finally {
      restoreBuiltins();
    }
    expect(ran).toEqual([]);
    for (const [src, r] of Object.entries(results)) expect(r.error, src).toBeDefined();
    expect(results['getter.g']?.error).toMatch(/getter \(not run\)/);
    expect(results['proxy.x']?.error).toMatch(/Proxy is not opened/);
    expect(results['conv + 1']?.error).toMatch(/could run code of the app/);
  });

  it('watch expressions: the usual forms still work', () => {
    const scope = { n: 4, s: 'abc', list: [1, 2, 3], m: new Map([['k', 'v']]), user: { name: 'ann', tags: ['x'] } };
    const ev = (src: string, thisValue?: unknown): unknown =>
      evaluateSafely(compileExpression(src, '__spyglass').ast, { scopes: [scope, globalThis], thisValue });
    expect(ev('n * 2 + 1')).toBe(9);
    expect(ev('user.name')).toBe('ann');
    expect(ev('user["name"].toUpperCase()')).toBe('ANN');
    expect(ev('user.missing?.deep')).toBeUndefined();
    expect(() => ev('user.missing.deep')).toThrow("Cannot read properties of undefined (reading 'deep')");
    expect(() => ev('nope')).toThrow('nope is not defined');
    expect(ev('list.length > 2 && list.includes(2)')).toBe(true);
    expect(ev('list.slice(1)')).toEqual([2, 3]);
    expect(ev('list.join("-")')).toBe('1-2-3');
    expect(ev('m.size')).toBe(1);
    expect(ev('m.get("k")')).toBe('v');
    expect(ev('`${s}:${n}`')).toBe('abc:4');
    expect(ev('typeof user')).toBe('object');
    expect(ev('Math.max(n, 10)')).toBe(10);
    expect(ev('Object.keys(user)')).toEqual(['name', 'tags']);
    expect(ev('Array.isArray(user.tags)')).toBe(true);
    expect(ev('s.length')).toBe(3);
    expect(ev('s[1]')).toBe('b');
    expect(ev('({ a: n, b: [s] })')).toEqual({ a: 4, b: ['abc'] });
    expect(ev('this.x', { x: 5 })).toBe(5);
    expect(ev('n > 3 ? "big" : "small"')).toBe('big');
    expect(ev('undefined ?? n')).toBe(4);
  });
});
