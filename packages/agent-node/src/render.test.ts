import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPTURE_LIMITS } from '@spyglass/protocol';
import { Capturer } from './capture.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES, Redactor } from './redact.js';
import { DEFAULT_RENDER_LIMITS, renderValue } from './render.js';

const redactor = new Redactor({ names: DEFAULT_REDACT_NAMES, values: DEFAULT_REDACT_VALUES });

class Order {
  id = 7;
  get total(): number {
    throw new Error('getter ran');
  }
}

describe('renderValue (log text)', () => {
  const r = (v: unknown, name?: string): string => renderValue(v, DEFAULT_RENDER_LIMITS, redactor, name);
  it('renders primitives, objects, collections and special objects', () => {
    expect(r('hi')).toBe('hi');
    expect(r(12n)).toBe('12n');
    expect(r({ a: 1, b: 'x' })).toBe('{ a: 1, b: "x" }');
    expect(r(new Order())).toBe('Order { id: 7 }');
    expect(r([1, 2])).toBe('[1, 2]');
    expect(r(new Map([['k', 1]]))).toBe('Map(1) {"k" => 1}');
    expect(r(new Set([1]))).toBe('Set(1) {1}');
    expect(r(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(r(new TypeError('bad'))).toBe('TypeError: bad');
    expect(r(Buffer.from('hi'))).toBe('Buffer(2) [104, 105]');
  });
  it('never runs getters or proxy traps and marks cycles', () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    Object.defineProperty(o, 'g', {
      enumerable: true,
      get: () => {
        throw new Error('ran');
      },
    });
    expect(r(o)).toBe('{ a: 1, self: [Circular], g: [Getter] }');
    const p = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    );
    expect(r(p)).toBe('[Proxy]');
  });
  it('redacts by name and value and bounds size', () => {
    expect(r('secret', 'password')).toBe('[REDACTED]');
    expect(r({ user: 'a', apiKey: 'k' })).toBe('{ user: "a", apiKey: [REDACTED] }');
    expect(r('x'.repeat(10_000)).length).toBeLessThan(300);
    expect(r(Array.from({ length: 100 }, (_, i) => i))).toContain('… 80 more');
  });
});

describe('Capturer (snapshot values)', () => {
  it('builds a bounded tree and records truncation', () => {
    const c = new Capturer({ ...DEFAULT_CAPTURE_LIMITS, maxDepth: 1, maxArrayItems: 2, maxStringLength: 4 }, redactor);
    const v = c.value({ list: [1, 2, 3], s: 'abcdefgh', nested: { deep: { x: 1 } }, token: 't' }, 0);
    expect(v.children?.find((x) => x.name === 'list')).toMatchObject({ size: 3, truncated: true });
    expect(v.children?.find((x) => x.name === 's')).toMatchObject({ value: 'abcd', size: 8, truncated: true });
    expect(v.children?.find((x) => x.name === 'token')).toMatchObject({ redacted: true });
    expect(c.truncated).toBe(true);
  });
  it('stops at the byte budget', () => {
    const c = new Capturer({ ...DEFAULT_CAPTURE_LIMITS, maxBytes: 1024, maxProperties: 1000 }, redactor);
    const big = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'.repeat(50)]));
    const v = c.value(big, 0);
    expect(JSON.stringify(v).length).toBeLessThan(4096);
    expect(c.truncated).toBe(true);
  });
  it('shows class names, getters unrun, and Map entries', () => {
    const c = new Capturer(DEFAULT_CAPTURE_LIMITS, redactor);
    const o = new Order();
    expect(c.value(o, 0)).toMatchObject({ className: 'Order', children: [{ name: 'id', value: '7' }] });
    const m = c.value(
      new Map<unknown, unknown>([
        [1, 'a'],
        [{}, 'b'],
      ]),
      0,
    );
    expect(m.children?.map((x) => x.name)).toEqual(['1', '[Object]']);
  });
});
