import type { CapturedValue } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { capturedToJson, localsToJson, preview } from './captured.js';

const order: CapturedValue = {
  name: 'order',
  type: 'object',
  className: 'Order',
  children: [
    { name: 'id', type: 'string', value: 'ord-1' },
    { name: 'total', type: 'number', value: '1250' },
    { name: 'paid', type: 'boolean', value: 'false' },
    { name: 'coupon', type: 'undefined' },
    { name: 'token', type: 'string', redacted: true, value: '[REDACTED]' },
    {
      name: 'items',
      type: 'object',
      className: 'Array',
      size: 3,
      truncated: true,
      children: [
        { name: '0', type: 'object', className: 'Object', children: [{ name: 'sku', type: 'string', value: 'mug' }] },
        { name: '1', type: 'object', className: 'Object', circular: true },
      ],
    },
  ],
};

describe('captured values', () => {
  it('turn into plain JSON with redaction, cycles and truncation marked', () => {
    expect(capturedToJson(order)).toEqual({
      id: 'ord-1',
      total: 1250,
      paid: false,
      coupon: null,
      token: '[REDACTED]',
      items: [{ sku: 'mug' }, '[Circular]', '…'],
    });
    expect(localsToJson([order, { name: 'n', type: 'number', value: 'NaN' }])).toMatchObject({ n: 'NaN' });
  });

  it('preview in one line', () => {
    expect(preview(order)).toBe('Order {…}');
    // A plain object, a class instance cut by the depth limit, built-ins carrying their text: never `Object object`.
    expect(
      preview({ type: 'object', className: 'Object', children: [{ name: 'a', type: 'number', value: '1' }] }),
    ).toBe('{…}');
    expect(preview({ type: 'object', className: 'Object', children: [] })).toBe('{}');
    expect(preview({ type: 'object', className: 'Order', truncated: true })).toBe('Order');
    expect(preview({ type: 'object', className: 'Map', size: 3, value: 'Map(3)', children: [] })).toBe('Map(3)');
    expect(preview({ type: 'object', className: 'Date', value: '2026-12-04T10:00:00.000Z' })).toBe(
      'Date 2026-12-04T10:00:00.000Z',
    );
    expect(preview({ type: 'object', className: 'TypeError', value: 'TypeError: boom' })).toBe('TypeError: boom');
    expect(preview({ type: 'object', className: 'CheckoutService', circular: true })).toBe(
      '[Circular CheckoutService]',
    );
    expect(preview({ type: 'object', className: 'Array', size: 3 })).toBe('Array(3)');
    expect(preview({ type: 'string', value: 'a"b' })).toBe('"a\\"b"');
    expect(preview({ type: 'number', value: '4' })).toBe('4');
    expect(preview({ type: 'object', error: 'getter' })).toBe('⚠ getter');
  });
});
