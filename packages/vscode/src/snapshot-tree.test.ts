import type { StoredSnapshot } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { snapshotRoots, topLocalsText, valueDescription, valueToJson } from './snapshot-tree.js';

const snapshot = {
  id: 'h1',
  watches: [
    { expression: 'order.id', value: { type: 'string', value: 'ord-1' } },
    { expression: 'nope.x', error: 'nope is not defined' },
  ],
  frames: [
    {
      functionName: 'placeOrder',
      file: '/app/src/services/checkout.ts',
      line: 45,
      locals: [
        {
          name: 'request',
          type: 'object',
          className: 'Object',
          children: [
            { name: 'coupon', type: 'undefined' },
            {
              name: 'items',
              type: 'object',
              className: 'Array',
              size: 1,
              children: [
                {
                  name: '0',
                  type: 'object',
                  className: 'Object',
                  children: [
                    { name: 'sku', type: 'string', value: 'mug' },
                    { name: 'quantity', type: 'number', value: '2' },
                  ],
                },
              ],
            },
          ],
        },
        { name: 'token', type: 'string', redacted: true },
        { name: 'ok', type: 'boolean', value: 'true' },
      ],
    },
    { functionName: '', file: '/app/src/server.ts', line: 10 },
  ],
} as unknown as StoredSnapshot;

describe('snapshot tree', () => {
  it('lists watches, then frames with their locations', () => {
    const roots = snapshotRoots(snapshot);
    expect(roots.map((r) => [r.kind, r.label, r.description])).toEqual([
      ['watches', 'Watches', '2'],
      ['frame', 'placeOrder', 'checkout.ts:45'],
      ['frame', '(anonymous)', 'server.ts:10'],
    ]);
    expect(roots[1]!.location).toEqual({ file: '/app/src/services/checkout.ts', line: 45 });
    expect(roots[2]!.expandable).toBe(false);
    expect(roots[0]!.children().map((c) => [c.label, c.description])).toEqual([
      ['order.id', '"ord-1"'],
      ['nope.x', '<error: nope is not defined>'],
    ]);
  });

  it('expands values level by level, and copies values and JSON', () => {
    const frame = snapshotRoots(snapshot)[1]!;
    const locals = frame.children();
    expect(locals.map((l) => [l.label, l.description, l.expandable])).toEqual([
      ['request', 'Object {…}', true],
      ['token', '[redacted]', false],
      ['ok', 'true', false],
    ]);
    const items = locals[0]!.children()[1]!;
    expect([items.label, items.description]).toEqual(['items', 'Array(1)']);
    expect(
      items
        .children()[0]!
        .children()
        .map((c) => `${c.label}=${c.description}`),
    ).toEqual(['sku="mug"', 'quantity=2']);
    expect(JSON.parse(locals[0]!.copyText!)).toEqual({ coupon: null, items: [{ sku: 'mug', quantity: 2 }] });
    expect(locals[2]!.copyText).toBe('true');
    expect(valueToJson({ type: 'number', value: '3.5' })).toBe(3.5);
    expect(valueDescription({ type: 'string', value: 'abc', truncated: true })).toBe('"abc"…');
  });

  it('gives the top values for a hover', () => {
    expect(topLocalsText(snapshot)).toEqual([
      'order.id = "ord-1"',
      'nope.x = <error: nope is not defined>',
      'request = Object {…}',
      'token = [redacted]',
      'ok = true',
    ]);
  });
});
